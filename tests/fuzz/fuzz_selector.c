/*
 * fuzz_selector.c — libFuzzer target for the label-selector parser.
 *
 * Parses arbitrary bytes. When they parse, String() must parse again to a
 * selector with the very same String(), and the other readers (count/get,
 * Matches against its own values, PromQL) must run cleanly. Build, e.g.:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iapi \
 *       tests/fuzz/fuzz_selector.c api/selector.c api/names.c -o fuzz_selector
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selector.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char err[4096];

/* String() into a fresh heap buffer of exactly the needed size. */
static char *string_of(const struct selector *sel, size_t *len)
{
	*len = selector_string(sel, NULL, 0);
	char *s = malloc(*len + 1);
	if (!s)
		abort();
	if (selector_string(sel, s, *len + 1) != *len || strlen(s) != *len)
		abort();
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct selector *sel = selector_parse((const char *)data, size, err, sizeof err);
	if (!sel) {
		if (err[0] == '\0')
			abort();   /* every failure says why */
		return 0;
	}

	size_t len1, len2;
	char *first = string_of(sel, &len1);
	struct selector *again = selector_parse(first, len1, err, sizeof err);
	if (!again) {
		fprintf(stderr, "String() '%s' does not parse: %s\n", first, err);
		abort();
	}
	char *second = string_of(again, &len2);
	if (len1 != len2 || memcmp(first, second, len1) != 0) {
		fprintf(stderr, "String() changed: '%s' -> '%s'\n", first, second);
		abort();
	}
	if (selector_count(sel) != selector_count(again))
		abort();

	/* labels made of each requirement's first value, sorted by key */
	size_t n = selector_count(sel);
	struct label *ls = calloc(n ? n : 1, sizeof *ls);
	size_t nl = 0;
	if (!ls)
		abort();
	for (size_t i = 0; i < n; i++) {
		const char *key;
		const char *const *vals;
		size_t nvals;
		selector_get(sel, i, &key, NULL, &vals, &nvals);
		if (!key)
			abort();
		if (nl > 0 && strcmp(ls[nl - 1].name, key) == 0)
			continue;
		ls[nl].name = key;
		ls[nl].value = nvals ? vals[0] : "";
		nl++;
	}
	(void)selector_matches(sel, ls, nl);
	(void)selector_matches(sel, NULL, 0);
	free(ls);

	char prom[256];
	size_t plen;
	(void)selector_promql(sel, prom, sizeof prom, &plen, err, sizeof err);

	free(first);
	free(second);
	selector_free(again);
	selector_free(sel);
	return 0;
}
