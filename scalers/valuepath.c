/*
 * valuepath.c — dotted value paths into JSON documents (see valuepath.h).
 */
#include "valuepath.h"

#include "quantity.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* compiling                                                                */

void valuepath_release(struct valuepath *vp)
{
	for (size_t i = 0; i < vp->n; i++)
		free(vp->segs[i].key);
	free(vp->segs);
	free(vp->text);
	memset(vp, 0, sizeof *vp);
}

static long digits_index(const char *key)
{
	size_t len = strlen(key);
	if (!len || len > 9 || strspn(key, "0123456789") != len)
		return -1;
	return strtol(key, NULL, 10);
}

/* Checks the unescaped characters of one raw segment for GJSON syntax we do
 * not implement. last: the segment ends the path. */
static int segment_ok(const char *path, const char *raw, size_t len, int last, char *err, size_t errlen)
{
	if (len == 1 && raw[0] == '#') {
		if (!last) {
			snprintf(err, errlen, "value path '%s' has '#' before its last segment; only a final '#' "
					      "(the length of an array) is supported", path);
			return -1;
		}
		return 0;
	}
	if (raw[0] == '@') {
		snprintf(err, errlen, "value path '%s' uses a modifier ('@...'), which is not supported; escape it "
				      "as '\\@' for a key that starts with '@'", path);
		return -1;
	}
	if (raw[0] == '#' && len > 1 && (raw[1] == '(' || raw[1] == '[')) {
		snprintf(err, errlen, "value path '%s' uses a query ('#(...)'), which is not supported", path);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (raw[i] == '\\') {
			i++;
			continue;
		}
		if (raw[i] == '*' || raw[i] == '?') {
			snprintf(err, errlen, "value path '%s' uses a wildcard ('*' or '?'), which is not supported; "
					      "escape it as '\\%c' for a literal", path, raw[i]);
			return -1;
		}
		if (raw[i] == '#') {
			snprintf(err, errlen, "value path '%s' has '#' inside a key; escape it as '\\#' for a literal, "
					      "or use '#' alone as the last segment", path);
			return -1;
		}
	}
	return 0;
}

int valuepath_compile(struct valuepath *vp, const char *text, char *err, size_t errlen)
{
	memset(vp, 0, sizeof *vp);
	size_t tl = text ? strlen(text) : 0;
	if (!tl) {
		snprintf(err, errlen, "value path is empty");
		return -1;
	}
	if (tl > VALUEPATH_MAX_LEN) {
		snprintf(err, errlen, "value path '%.60s...' is longer than %d bytes", text, VALUEPATH_MAX_LEN);
		return -1;
	}
	for (size_t i = 0; i < tl; i++) {
		unsigned char ch = (unsigned char)text[i];
		if (ch < 0x20 || ch == 0x7f) {
			snprintf(err, errlen, "value path holds a control character");
			return -1;
		}
		if (text[i] == '|') {
			snprintf(err, errlen, "value path '%s' uses a pipe ('|'), which is not supported; use '.'", text);
			return -1;
		}
		if (text[i] == '\\') {
			if (i + 1 == tl) {
				snprintf(err, errlen, "value path '%s' ends with a lone '\\'", text);
				return -1;
			}
			i++;
		}
	}

	struct valuepath_seg segs[VALUEPATH_MAX_SEGMENTS];
	size_t n = 0;
	const char *p = text;
	int rc = 0;
	for (;;) {
		/* the raw segment: up to the next unescaped '.' */
		size_t len = 0;
		while (p[len] && p[len] != '.') {
			if (p[len] == '\\')
				len++;
			len++;
		}
		int last = p[len] == 0;
		if (len == 0) {
			snprintf(err, errlen, "value path '%s' has an empty segment", text);
			rc = -1;
			break;
		}
		if (n == VALUEPATH_MAX_SEGMENTS) {
			snprintf(err, errlen, "value path '%.60s...' has more than %d segments", text, VALUEPATH_MAX_SEGMENTS);
			rc = -1;
			break;
		}
		if (segment_ok(text, p, len, last, err, errlen)) {
			rc = -1;
			break;
		}
		char *key = malloc(len + 1);
		if (!key) {
			snprintf(err, errlen, "out of memory");
			rc = -1;
			break;
		}
		size_t k = 0;
		for (size_t i = 0; i < len; i++) {
			if (p[i] == '\\')
				i++;
			key[k++] = p[i];
		}
		key[k] = 0;
		int count = len == 1 && p[0] == '#';
		segs[n].kind = count ? VALUEPATH_COUNT : VALUEPATH_KEY;
		segs[n].key = key;
		segs[n].index = count ? -1 : digits_index(key);
		n++;
		if (last)
			break;
		p += len + 1;
	}
	if (rc == 0) {
		vp->segs = malloc(n * sizeof *vp->segs);
		vp->text = malloc(tl + 1);
		if (!vp->segs || !vp->text) {
			snprintf(err, errlen, "out of memory");
			free(vp->segs);
			free(vp->text);
			vp->segs = NULL;
			vp->text = NULL;
			rc = -1;
		}
	}
	if (rc) {
		for (size_t i = 0; i < n; i++)
			free(segs[i].key);
		return -1;
	}
	memcpy(vp->segs, segs, n * sizeof *segs);
	memcpy(vp->text, text, tl + 1);
	vp->n = n;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* walking                                                                  */

static const char *type_name(const cJSON *it)
{
	if (cJSON_IsObject(it))
		return "an object";
	if (cJSON_IsArray(it))
		return "an array";
	if (cJSON_IsString(it))
		return "a string";
	if (cJSON_IsNumber(it))
		return "a number";
	if (cJSON_IsBool(it))
		return "a boolean";
	if (cJSON_IsNull(it))
		return "null";
	return "an invalid value";
}

/* The first k segments of the path as written, for messages ("the document"
 * when k is 0): re-escaped so the text reads back as the same path. */
static void prefix_text(const struct valuepath *vp, size_t k, char *out, size_t n)
{
	if (k == 0) {
		snprintf(out, n, "the document");
		return;
	}
	size_t o = 0;
	out[0] = '\'';
	o = 1;
	for (size_t i = 0; i < k && o + 2 < n; i++) {
		if (i)
			out[o++] = '.';
		for (const char *c = vp->segs[i].key; *c && o + 3 < n; c++) {
			if (strchr(".\\*?#|@", *c))
				out[o++] = '\\';
			out[o++] = *c;
		}
	}
	if (o + 2 <= n) {
		out[o++] = '\'';
		out[o] = 0;
	} else {
		out[n - 1] = 0;
	}
}

/* Walks the first upto segments; 0 with *item, or -1 with a message. */
static int walk(const struct valuepath *vp, size_t upto, const cJSON *root, const cJSON **item, char *err,
		size_t errlen)
{
	const cJSON *cur = root;
	char where[300];
	for (size_t i = 0; i < upto; i++) {
		const struct valuepath_seg *s = &vp->segs[i];
		const cJSON *next = NULL;
		if (cJSON_IsObject(cur)) {
			next = cJSON_GetObjectItemCaseSensitive(cur, s->key);
			if (!next) {
				prefix_text(vp, i, where, sizeof where);
				snprintf(err, errlen, "no value at '%s': %s has no key '%s'", vp->text, where, s->key);
				return -1;
			}
		} else if (cJSON_IsArray(cur)) {
			int size = cJSON_GetArraySize(cur);
			prefix_text(vp, i, where, sizeof where);
			if (s->index < 0) {
				snprintf(err, errlen, "no value at '%s': %s is an array; '%s' is not an index", vp->text,
					 where, s->key);
				return -1;
			}
			if (s->index >= size) {
				snprintf(err, errlen, "no value at '%s': %s has %d element%s", vp->text, where, size,
					 size == 1 ? "" : "s");
				return -1;
			}
			next = cJSON_GetArrayItem(cur, (int)s->index);
		} else {
			prefix_text(vp, i, where, sizeof where);
			snprintf(err, errlen, "no value at '%s': %s is %s, not an object or an array", vp->text, where,
				 type_name(cur));
			return -1;
		}
		cur = next;
	}
	*item = cur;
	return 0;
}

int valuepath_get(const struct valuepath *vp, const cJSON *root, const cJSON **item, char *err, size_t errlen)
{
	if (!vp->n || vp->segs[vp->n - 1].kind == VALUEPATH_COUNT) {
		snprintf(err, errlen, "value path '%s' counts elements; it names no single value",
			 vp->text ? vp->text : "");
		return -1;
	}
	return walk(vp, vp->n, root, item, err, errlen);
}

int valuepath_to_number(const cJSON *item, const char *shown, double *out, char *err, size_t errlen)
{
	if (cJSON_IsNumber(item)) {
		if (!isfinite(item->valuedouble)) {
			snprintf(err, errlen, "value at '%s' is a number out of range", shown);
			return -1;
		}
		*out = item->valuedouble;
		return 0;
	}
	if (cJSON_IsString(item)) {
		const char *s = item->valuestring;
		struct quantity q;
		char qerr[200];
		if (quantity_parse(&q, s, strlen(s), qerr, sizeof qerr)) {
			snprintf(err, errlen, "value at '%s' is the string '%.80s%s', not a number or a quantity: %s", shown,
				 s, strlen(s) > 80 ? "..." : "", qerr);
			return -1;
		}
		double v = quantity_to_double(&q);
		if (!isfinite(v)) {
			snprintf(err, errlen, "value at '%s' is the quantity '%.80s', out of range", shown, s);
			return -1;
		}
		*out = v;
		return 0;
	}
	if (cJSON_IsBool(item)) {
		snprintf(err, errlen, "value at '%s' is a boolean (%s), not a number", shown,
			 cJSON_IsTrue(item) ? "true" : "false");
		return -1;
	}
	snprintf(err, errlen, "value at '%s' is %s, not a number", shown, type_name(item));
	return -1;
}

int valuepath_number(const struct valuepath *vp, const cJSON *root, double *out, char *err, size_t errlen)
{
	if (!vp->n) {
		snprintf(err, errlen, "value path is empty");
		return -1;
	}
	const cJSON *it;
	if (vp->segs[vp->n - 1].kind == VALUEPATH_COUNT) {
		if (walk(vp, vp->n - 1, root, &it, err, errlen))
			return -1;
		if (!cJSON_IsArray(it)) {
			char where[300];
			prefix_text(vp, vp->n - 1, where, sizeof where);
			snprintf(err, errlen, "no value at '%s': %s is %s, not an array ('#' counts the elements of "
					      "an array)", vp->text, where, type_name(it));
			return -1;
		}
		*out = (double)cJSON_GetArraySize(it);
		return 0;
	}
	if (walk(vp, vp->n, root, &it, err, errlen))
		return -1;
	return valuepath_to_number(it, vp->text, out, err, errlen);
}
