/*
 * conf_selector.c — checks api/selector against Kubernetes' label-selector
 * vectors (op: parse, match, requirements, set_string, set_validate, lex;
 * see testdata/README.md).
 */
#include "conformance.h"
#include "selector.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERRLEN 8192
#define STRLEN 65536

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

/* A JSON object of string values → a label array sorted by name (free it). */
static struct label *labels_of(const cJSON *obj, size_t *n, char *why, size_t wn)
{
	const cJSON *it;
	size_t count = 0, i = 0;

	*n = 0;
	if (!cJSON_IsObject(obj)) {
		snprintf(why, wn, "'labels' is not an object");
		return NULL;
	}
	cJSON_ArrayForEach(it, obj)
		count++;
	struct label *ls = calloc(count ? count : 1, sizeof *ls);
	if (!ls) {
		snprintf(why, wn, "out of memory");
		return NULL;
	}
	cJSON_ArrayForEach(it, obj) {
		if (!cJSON_IsString(it) || !it->string) {
			snprintf(why, wn, "label value is not a string");
			free(ls);
			return NULL;
		}
		ls[i].name = it->string;
		ls[i].value = it->valuestring;
		i++;
	}
	qsort(ls, count, sizeof *ls, label_cmp);
	*n = count;
	return ls;
}

/* Does Go's error text name this field path (alone or inside "[a, b]")? */
static bool names_field(const char *err, const char *field)
{
	char pat[512];

	snprintf(pat, sizeof pat, "%s: ", field);
	size_t k = strlen(pat);
	if (strncmp(err, pat, k) == 0 || (err[0] == '[' && strncmp(err + 1, pat, k) == 0))
		return true;
	snprintf(pat, sizeof pat, ", %s: ", field);
	return err[0] == '[' && strstr(err, pat) != NULL;
}

static enum conf_result check_string(const struct selector *sel, const cJSON *c,
				     char *why, size_t n)
{
	const char *want = conf_str(c, "expect_string");
	if (!want)
		return CONF_PASS;
	static char got[STRLEN];
	size_t len = selector_string(sel, got, sizeof got);
	if (len >= sizeof got || strcmp(got, want) != 0) {
		snprintf(why, n, "String() = '%.200s', want '%.200s'", got, want);
		return CONF_FAIL;
	}
	return CONF_PASS;
}

static enum conf_result check_match(const struct selector *sel, const cJSON *c,
				    char *why, size_t n)
{
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "expect_match");
	if (!cJSON_IsBool(want))
		return CONF_PASS;
	size_t nl;
	struct label *ls = labels_of(cJSON_GetObjectItemCaseSensitive(c, "labels"), &nl, why, n);
	if (!ls)
		return CONF_FAIL;
	bool got = selector_matches(sel, ls, nl);
	free(ls);
	if (got != cJSON_IsTrue(want)) {
		snprintf(why, n, "Matches() = %s, want %s", got ? "true" : "false",
			 got ? "false" : "true");
		return CONF_FAIL;
	}
	return CONF_PASS;
}

static enum conf_result check_requirements(const struct selector *sel, const cJSON *c,
					   char *why, size_t n)
{
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "expect_requirements");
	const cJSON *r;
	size_t i = 0;

	if (!want)
		return CONF_PASS;
	if (!cJSON_IsArray(want)) {
		snprintf(why, n, "'expect_requirements' is not an array");
		return CONF_FAIL;
	}
	if ((size_t)cJSON_GetArraySize(want) != selector_count(sel)) {
		snprintf(why, n, "%zu requirements, want %d", selector_count(sel),
			 cJSON_GetArraySize(want));
		return CONF_FAIL;
	}
	cJSON_ArrayForEach(r, want) {
		const char *key, *wkey = conf_str(r, "key"), *wop = conf_str(r, "operator");
		const cJSON *wvals = cJSON_GetObjectItemCaseSensitive(r, "values");
		const char *const *vals;
		enum selector_op op;
		size_t nvals;

		selector_get(sel, i, &key, &op, &vals, &nvals);
		if (!wkey || !wop || strcmp(key, wkey) != 0 || strcmp(selector_op_name(op), wop) != 0) {
			snprintf(why, n, "requirement %zu is '%s' %s, want '%s' %s", i, key,
				 selector_op_name(op), wkey ? wkey : "?", wop ? wop : "?");
			return CONF_FAIL;
		}
		if (!cJSON_IsArray(wvals) || (size_t)cJSON_GetArraySize(wvals) != nvals) {
			snprintf(why, n, "requirement %zu ('%s') has %zu values", i, key, nvals);
			return CONF_FAIL;
		}
		size_t k = 0;
		const cJSON *v;
		cJSON_ArrayForEach(v, wvals) {
			if (!cJSON_IsString(v) || strcmp(v->valuestring, vals[k]) != 0) {
				snprintf(why, n, "requirement %zu ('%s') value %zu is '%s'", i, key, k,
					 vals[k]);
				return CONF_FAIL;
			}
			k++;
		}
		i++;
	}
	return CONF_PASS;
}

static enum conf_result op_parse(const cJSON *c, char *why, size_t n)
{
	const char *input = conf_str(c, "input");
	const cJSON *valid = cJSON_GetObjectItemCaseSensitive(c, "valid");
	const char *want_err = conf_str(c, "expect_error");
	static char err[ERRLEN];
	enum conf_result res;

	if (!input || !cJSON_IsBool(valid)) {
		snprintf(why, n, "case lacks 'input' or 'valid'");
		return CONF_FAIL;
	}
	struct selector *sel = selector_parse(input, strlen(input), err, sizeof err);
	if (!sel) {
		if (cJSON_IsTrue(valid)) {
			snprintf(why, n, "'%.100s': unexpected error: %.300s", input, err);
			return CONF_FAIL;
		}
		if (want_err && strcmp(err, want_err) != 0) {
			snprintf(why, n, "error '%.200s', want '%.200s'", err, want_err);
			return CONF_FAIL;
		}
		return CONF_PASS;
	}
	if (!cJSON_IsTrue(valid)) {
		snprintf(why, n, "'%.200s' parsed, want an error", input);
		selector_free(sel);
		return CONF_FAIL;
	}
	res = check_string(sel, c, why, n);
	if (res == CONF_PASS)
		res = check_requirements(sel, c, why, n);
	if (res == CONF_PASS)
		res = check_match(sel, c, why, n);
	selector_free(sel);
	return res;
}

static enum conf_result op_match(const cJSON *c, char *why, size_t n)
{
	const char *input = conf_str(c, "input");
	static char err[ERRLEN];

	if (!input) {
		snprintf(why, n, "case lacks 'input'");
		return CONF_FAIL;
	}
	struct selector *sel = selector_parse(input, strlen(input), err, sizeof err);
	if (!sel) {
		snprintf(why, n, "'%.100s': %.300s", input, err);
		return CONF_FAIL;
	}
	enum conf_result res = check_match(sel, c, why, n);
	selector_free(sel);
	return res;
}

/* A failed build: valid must be false, and the error must name the field. */
static enum conf_result check_failure(const cJSON *c, const char *err, char *why, size_t n)
{
	const cJSON *valid = cJSON_GetObjectItemCaseSensitive(c, "valid");
	const char *field = conf_str(c, "expect_error_field");

	if (!cJSON_IsFalse(valid)) {
		snprintf(why, n, "unexpected error: %.400s", err);
		return CONF_FAIL;
	}
	if (field && !names_field(err, field)) {
		snprintf(why, n, "error '%.300s' does not name field '%s'", err, field);
		return CONF_FAIL;
	}
	return CONF_PASS;
}

static enum conf_result check_success(const struct selector *sel, const cJSON *c,
				      char *why, size_t n)
{
	const cJSON *valid = cJSON_GetObjectItemCaseSensitive(c, "valid");
	enum conf_result res;

	if (cJSON_IsFalse(valid)) {
		snprintf(why, n, "no error, want one");
		return CONF_FAIL;
	}
	res = check_string(sel, c, why, n);
	if (res == CONF_PASS)
		res = check_match(sel, c, why, n);
	return res;
}

static enum conf_result op_requirements(const cJSON *c, char *why, size_t n)
{
	const cJSON *reqs = cJSON_GetObjectItemCaseSensitive(c, "requirements");
	const cJSON *r;
	static char err[ERRLEN];
	enum conf_result res;

	if (!cJSON_IsArray(reqs)) {
		snprintf(why, n, "case lacks 'requirements'");
		return CONF_FAIL;
	}
	struct selector *sel = selector_new();
	if (!sel) {
		snprintf(why, n, "out of memory");
		return CONF_FAIL;
	}
	cJSON_ArrayForEach(r, reqs) {
		const char *key = conf_str(r, "key"), *opname = conf_str(r, "operator");
		const cJSON *vals = cJSON_GetObjectItemCaseSensitive(r, "values");
		const char *vs[64];
		size_t nv = 0;
		enum selector_op op;
		const cJSON *v;

		if (!key || !opname || (vals && !cJSON_IsArray(vals)) || cJSON_GetArraySize(vals) > 64) {
			snprintf(why, n, "malformed requirement entry");
			selector_free(sel);
			return CONF_FAIL;
		}
		/* an operator Go does not know reaches NewRequirement's NotSupported */
		if (selector_op_parse(opname, &op) < 0)
			op = (enum selector_op)99;
		cJSON_ArrayForEach(v, vals) {
			if (!cJSON_IsString(v)) {
				snprintf(why, n, "value is not a string");
				selector_free(sel);
				return CONF_FAIL;
			}
			vs[nv++] = v->valuestring;
		}
		if (selector_add(sel, key, op, vs, nv, err, sizeof err) < 0) {
			selector_free(sel);
			return check_failure(c, err, why, n);
		}
	}
	res = check_success(sel, c, why, n);
	selector_free(sel);
	return res;
}

static enum conf_result op_set(const cJSON *c, bool validate, char *why, size_t n)
{
	static char err[ERRLEN];
	size_t nl;
	struct label *ls = labels_of(cJSON_GetObjectItemCaseSensitive(c, "labels"), &nl, why, n);
	enum conf_result res;

	if (!ls)
		return CONF_FAIL;
	struct selector *sel = selector_from_labels(ls, nl, validate, err, sizeof err);
	free(ls);
	if (!sel)
		return check_failure(c, err, why, n);
	res = check_success(sel, c, why, n);
	selector_free(sel);
	return res;
}

static enum conf_result op_lex(const cJSON *c, char *why, size_t n)
{
	const char *input = conf_str(c, "input");
	const cJSON *want = cJSON_GetObjectItemCaseSensitive(c, "expect_tokens");
	const char *note = conf_str(c, "note");
	bool first_only = note && strstr(note, "first token only");
	int toks[256];
	size_t ntoks;

	if (!input || !cJSON_IsArray(want)) {
		snprintf(why, n, "case lacks 'input' or 'expect_tokens'");
		return CONF_FAIL;
	}
	if (selector_lex(input, strlen(input), toks, 256, &ntoks) < 0 || ntoks > 256) {
		snprintf(why, n, "lexing failed");
		return CONF_FAIL;
	}
	size_t nwant = (size_t)cJSON_GetArraySize(want);
	if (first_only) {
		if (nwant == 0 || ntoks == 0) {
			if (nwant != ntoks) {
				snprintf(why, n, "%zu tokens, want %zu", ntoks, nwant);
				return CONF_FAIL;
			}
			return CONF_PASS;
		}
		nwant = 1;
		ntoks = 1;
	}
	if (ntoks != nwant) {
		snprintf(why, n, "%zu tokens, want %zu", ntoks, nwant);
		return CONF_FAIL;
	}
	for (size_t i = 0; i < nwant; i++) {
		const cJSON *w = cJSON_GetArrayItem(want, (int)i);
		const char *got = selector_token_name(toks[i]);
		if (!cJSON_IsString(w) || strcmp(w->valuestring, got) != 0) {
			snprintf(why, n, "token %zu is %s, want %s", i, got,
				 cJSON_IsString(w) ? w->valuestring : "?");
			return CONF_FAIL;
		}
	}
	return CONF_PASS;
}

enum conf_result conf_selector(const cJSON *c, char *why, size_t n)
{
	const char *op = conf_str(c, "op");

	if (!op) {
		snprintf(why, n, "case has no 'op'");
		return CONF_FAIL;
	}
	if (strcmp(op, "parse") == 0)
		return op_parse(c, why, n);
	if (strcmp(op, "match") == 0)
		return op_match(c, why, n);
	if (strcmp(op, "requirements") == 0)
		return op_requirements(c, why, n);
	if (strcmp(op, "set_string") == 0)
		return op_set(c, false, why, n);
	if (strcmp(op, "set_validate") == 0)
		return op_set(c, true, why, n);
	if (strcmp(op, "lex") == 0)
		return op_lex(c, why, n);
	snprintf(why, n, "unknown op '%s'", op);
	return CONF_FAIL;
}
