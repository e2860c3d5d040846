/*
 * params.c — table-driven loading of scaler parameters (see params.h).
 */
#include "params.h"

#include "duration.h"
#include "errlist.h"
#include "quantity.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PARAM_STRING_MAX (64 * 1024)

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	size_t prev[65], cur[65];
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
		memcpy(prev, cur, sizeof prev);
	}
	return prev[lb];
}

const char *params_suggest(const char *word, const char *const *cands, size_t n)
{
	const char *best = NULL;
	size_t bestd = 3;
	for (size_t i = 0; i < n; i++) {
		if (!cands[i])
			continue;
		if (!strcasecmp(word, cands[i]))
			return cands[i];
		size_t d = edit_distance(word, cands[i]);
		if (d < bestd) {
			bestd = d;
			best = cands[i];
		}
	}
	return best;
}

int params_number(const cJSON *item, double *out, char *err, size_t errlen)
{
	if (cJSON_IsNumber(item)) {
		if (!isfinite(item->valuedouble)) {
			snprintf(err, errlen, "must be a finite number");
			return -1;
		}
		*out = item->valuedouble;
		return 0;
	}
	if (cJSON_IsString(item)) {
		struct quantity q;
		char qerr[200];
		if (quantity_parse(&q, item->valuestring, strlen(item->valuestring), qerr, sizeof qerr)) {
			snprintf(err, errlen, "'%.100s' is not a number or a quantity: %s", item->valuestring, qerr);
			return -1;
		}
		*out = quantity_to_double(&q);
		if (!isfinite(*out)) {
			snprintf(err, errlen, "'%.100s' is out of range", item->valuestring);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "must be a number or a quantity string");
	return -1;
}

/* Finds the item at a dotted key below obj, or NULL. */
static const cJSON *lookup(const cJSON *obj, const char *key)
{
	char part[128];
	const char *p = key;
	const cJSON *cur = obj;
	while (cur) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		if (len >= sizeof part)
			return NULL;
		memcpy(part, p, len);
		part[len] = 0;
		cur = cJSON_IsObject(cur) ? cJSON_GetObjectItemCaseSensitive(cur, part) : NULL;
		if (!dot)
			return cur;
		p = dot + 1;
	}
	return NULL;
}

static char *dup_string(const char *s)
{
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static int scalar_text(const cJSON *it, char *buf, size_t n)
{
	if (cJSON_IsString(it)) {
		snprintf(buf, n, "%s", it->valuestring);
		return 0;
	}
	if (cJSON_IsNumber(it)) {
		snprintf(buf, n, "%.17g", it->valuedouble);
		return 0;
	}
	if (cJSON_IsBool(it)) {
		snprintf(buf, n, "%s", cJSON_IsTrue(it) ? "true" : "false");
		return 0;
	}
	return -1;
}

static int load_one(const struct sw_param *p, const cJSON *it, const char *path, void *out,
		    struct errlist *errs)
{
	char *slot = (char *)out + p->offset;
	char err[300];
	char kpath[512];
	snprintf(kpath, sizeof kpath, "%s%s%s", path && *path ? path : "", path && *path ? "." : "", p->key);
	bool bounded = p->min <= p->max;

	switch (p->type) {
	case SW_PARAM_STRING:
	case SW_PARAM_FILE: {
		char text[PARAM_STRING_MAX];
		if (scalar_text(it, text, sizeof text) || (cJSON_IsString(it) && strlen(it->valuestring) >= sizeof text)) {
			errlist_add(errs, kpath, "must be a string");
			return 1;
		}
		if (p->choices) {
			const char *const *c = p->choices;
			size_t nc = 0;
			for (; c[nc]; nc++)
				if (!strcmp(c[nc], text))
					break;
			if (!c[nc]) {
				char list[400] = "";
				size_t used = 0;
				for (size_t i = 0; p->choices[i]; i++)
					used += (size_t)snprintf(list + used, used < sizeof list ? sizeof list - used : 0,
								 "%s%s", i ? ", " : "", p->choices[i]);
				const char *s = params_suggest(text, p->choices, nc);
				if (s)
					errlist_add(errs, kpath, "'%s' is not one of %s; did you mean \"%s\"?", text, list, s);
				else
					errlist_add(errs, kpath, "'%s' is not one of %s", text, list);
				return 1;
			}
		}
		char **dst = (char **)(void *)slot;
		free(*dst);
		*dst = p->type == SW_PARAM_FILE && !text[0] ? NULL : dup_string(text);
		return 0;
	}
	case SW_PARAM_INT: {
		double d;
		if (params_number(it, &d, err, sizeof err)) {
			errlist_add(errs, kpath, "%s", err);
			return 1;
		}
		if (d != floor(d) || d < -9.2e18 || d > 9.2e18) {
			errlist_add(errs, kpath, "must be a whole number");
			return 1;
		}
		if (bounded && (d < p->min || d > p->max)) {
			errlist_add(errs, kpath, "%.17g is out of range [%.17g, %.17g]", d, p->min, p->max);
			return 1;
		}
		int64_t v = (int64_t)d;
		memcpy(slot, &v, sizeof v);
		return 0;
	}
	case SW_PARAM_DOUBLE: {
		double d;
		if (params_number(it, &d, err, sizeof err)) {
			errlist_add(errs, kpath, "%s", err);
			return 1;
		}
		if (bounded && (d < p->min || d > p->max)) {
			errlist_add(errs, kpath, "%.17g is out of range [%.17g, %.17g]", d, p->min, p->max);
			return 1;
		}
		memcpy(slot, &d, sizeof d);
		return 0;
	}
	case SW_PARAM_BOOL: {
		int v;
		if (cJSON_IsBool(it))
			v = cJSON_IsTrue(it);
		else if (cJSON_IsString(it) && !strcmp(it->valuestring, "true"))
			v = 1;
		else if (cJSON_IsString(it) && !strcmp(it->valuestring, "false"))
			v = 0;
		else {
			errlist_add(errs, kpath, "must be true or false");
			return 1;
		}
		memcpy(slot, &v, sizeof v);
		return 0;
	}
	case SW_PARAM_DURATION: {
		int64_t ms;
		if (!cJSON_IsString(it)) {
			errlist_add(errs, kpath, "must be a duration string such as \"15s\"");
			return 1;
		}
		if (duration_parse(it->valuestring, &ms, err, sizeof err)) {
			errlist_add(errs, kpath, "%s", err);
			return 1;
		}
		if (bounded && ((double)ms < p->min || (double)ms > p->max)) {
			char lo[32], hi[32];
			duration_format((int64_t)p->min, lo, sizeof lo);
			duration_format((int64_t)p->max, hi, sizeof hi);
			errlist_add(errs, kpath, "%s is out of range [%s, %s]", it->valuestring, lo, hi);
			return 1;
		}
		memcpy(slot, &ms, sizeof ms);
		return 0;
	}
	case SW_PARAM_MAP: {
		if (!cJSON_IsObject(it)) {
			errlist_add(errs, kpath, "must be a map of strings");
			return 1;
		}
		struct sw_kv kv = { 0 };
		size_t cnt = (size_t)cJSON_GetArraySize(it);
		kv.items = calloc(cnt ? cnt : 1, sizeof *kv.items);
		const cJSON *c;
		int bad = 0;
		cJSON_ArrayForEach(c, it) {
			char text[4096];
			if (scalar_text(c, text, sizeof text)) {
				errlist_add(errs, kpath, "'%s' must be a string", c->string);
				bad++;
				continue;
			}
			if (!kv.items)
				break;
			kv.items[kv.n].name = dup_string(c->string);
			kv.items[kv.n].value = dup_string(text);
			kv.n++;
		}
		memcpy(slot, &kv, sizeof kv);
		return bad;
	}
	case SW_PARAM_LIST: {
		if (!cJSON_IsArray(it)) {
			errlist_add(errs, kpath, "must be a list of strings");
			return 1;
		}
		struct sw_strlist l = { 0 };
		size_t cnt = (size_t)cJSON_GetArraySize(it);
		l.items = calloc(cnt ? cnt : 1, sizeof *l.items);
		const cJSON *c;
		int bad = 0, i = 0;
		cJSON_ArrayForEach(c, it) {
			char text[4096];
			if (scalar_text(c, text, sizeof text)) {
				errlist_add(errs, kpath, "[%d] must be a string", i);
				bad++;
			} else if (l.items) {
				l.items[l.n++] = dup_string(text);
			}
			i++;
		}
		memcpy(slot, &l, sizeof l);
		return bad;
	}
	}
	return 0;
}

/* Reports keys of obj (at prefix within the table) that no table entry names. */
static int check_unknown(const struct sw_param *t, size_t n, const cJSON *obj, const char *prefix,
			 const char *path, const char *const *skip, struct errlist *errs)
{
	int bad = 0;
	size_t plen = strlen(prefix);
	const cJSON *c;
	cJSON_ArrayForEach(c, obj) {
		const char *k = c->string;
		bool skipped = false;
		for (const char *const *s = skip; s && *s && !*prefix; s++)
			if (!strcmp(*s, k))
				skipped = true;
		if (skipped)
			continue;
		bool leaf = false, branch = false;
		const char *cands[128];
		size_t nc = 0;
		for (size_t i = 0; i < n; i++) {
			const char *key = t[i].key;
			if (strncmp(key, prefix, plen))
				continue;
			const char *rest = key + plen;
			size_t kl = strlen(k);
			if (!strcmp(rest, k))
				leaf = true;
			else if (!strncmp(rest, k, kl) && rest[kl] == '.')
				branch = true;
			if (nc < 128)
				cands[nc++] = rest;
		}
		char kpath[512];
		snprintf(kpath, sizeof kpath, "%s%s%s", path, *path ? "." : "", k);
		if (leaf)
			continue;
		if (branch) {
			if (!cJSON_IsObject(c)) {
				errlist_add(errs, kpath, "must be a map");
				bad++;
				continue;
			}
			char sub[256];
			snprintf(sub, sizeof sub, "%s%s.", prefix, k);
			bad += check_unknown(t, n, c, sub, kpath, NULL, errs);
			continue;
		}
		/* suggest among the first segments of the candidates */
		const char *firsts[128];
		char segs[128][64];
		size_t nf = 0;
		for (size_t i = 0; i < nc; i++) {
			const char *dot = strchr(cands[i], '.');
			size_t l = dot ? (size_t)(dot - cands[i]) : strlen(cands[i]);
			if (l >= 64)
				continue;
			memcpy(segs[nf], cands[i], l);
			segs[nf][l] = 0;
			firsts[nf] = segs[nf];
			nf++;
		}
		const char *s = params_suggest(k, firsts, nf);
		if (s)
			errlist_add(errs, kpath, "unknown key; did you mean \"%s\"?", s);
		else
			errlist_add(errs, kpath, "unknown key");
		bad++;
	}
	return bad;
}

int params_load(const struct sw_param *table, size_t n, const cJSON *obj, const char *path,
		const char *const *skip, void *out, struct errlist *errs)
{
	int bad = 0;
	const char *p = path ? path : "";
	if (obj && !cJSON_IsObject(obj)) {
		errlist_add(errs, p, "must be a map");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		const cJSON *it = obj ? lookup(obj, table[i].key) : NULL;
		if (it && cJSON_IsNull(it))
			it = NULL;
		if (it) {
			bad += load_one(&table[i], it, p, out, errs);
			continue;
		}
		if (table[i].def) {
			cJSON *d = table[i].type == SW_PARAM_BOOL ? cJSON_CreateBool(!strcmp(table[i].def, "true"))
								 : cJSON_CreateString(table[i].def);
			bad += load_one(&table[i], d, p, out, errs);
			cJSON_Delete(d);
			continue;
		}
		if (table[i].required) {
			char kpath[512];
			snprintf(kpath, sizeof kpath, "%s%s%s", p, *p ? "." : "", table[i].key);
			errlist_add(errs, kpath, "required");
			bad++;
		}
	}
	if (obj)
		bad += check_unknown(table, n, obj, "", p, skip, errs);
	return bad;
}

void params_release(const struct sw_param *table, size_t n, void *out)
{
	for (size_t i = 0; i < n; i++) {
		char *slot = (char *)out + table[i].offset;
		switch (table[i].type) {
		case SW_PARAM_STRING:
		case SW_PARAM_FILE: {
			char **s = (char **)(void *)slot;
			free(*s);
			*s = NULL;
			break;
		}
		case SW_PARAM_MAP: {
			struct sw_kv *kv = (struct sw_kv *)(void *)slot;
			for (size_t j = 0; j < kv->n; j++) {
				free((char *)kv->items[j].name);
				free((char *)kv->items[j].value);
			}
			free(kv->items);
			memset(kv, 0, sizeof *kv);
			break;
		}
		case SW_PARAM_LIST: {
			struct sw_strlist *l = (struct sw_strlist *)(void *)slot;
			for (size_t j = 0; j < l->n; j++)
				free(l->items[j]);
			free(l->items);
			memset(l, 0, sizeof *l);
			break;
		}
		default:
			break;
		}
	}
}
