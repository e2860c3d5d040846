/*
 * fuzz_quantity.c — libFuzzer target for api/quantity.
 *
 * Parses the input as a quantity and as JSON; whatever is accepted must
 * format without overflowing, and its String() must parse again to the same
 * value and format to the same text (canonical output is a fixed point).
 * The first 8 bytes are also tried as a double and as a milli value.
 *
 * Build (not part of make):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Iapi tests/fuzz/fuzz_quantity.c api/quantity.c -lm -o build/fuzz_quantity
 *   build/fuzz_quantity -max_len=300 CORPUS_DIR
 */
#include "quantity.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* s must parse back to a value equal to q and print as s again. */
static void check_round_trip(const struct quantity *q)
{
	char s[QUANTITY_STRING_MAX], s2[QUANTITY_STRING_MAX], json[QUANTITY_STRING_MAX + 2];
	struct quantity back;

	size_t n = quantity_string(q, s, sizeof s);
	if (n >= sizeof s || strlen(s) != n)
		abort();
	if (quantity_parse(&back, s, n, NULL, 0) != 0)
		abort();
	if (quantity_cmp(q, &back) != 0 || quantity_cmp(&back, q) != 0)
		abort();
	quantity_string(&back, s2, sizeof s2);
	if (strcmp(s, s2) != 0)
		abort();

	n = quantity_marshal_json(q, json, sizeof json);
	if (n >= sizeof json)
		abort();
	if (quantity_unmarshal_json(&back, json, n, NULL, 0) != 0 || quantity_cmp(q, &back) != 0)
		abort();

	/* everything else must not crash; results are Go's and may wrap */
	(void)quantity_milli_value(q);
	(void)quantity_scaled_value(q, 0);
	(void)quantity_scaled_value(q, INT32_MIN);
	(void)quantity_scaled_value(q, INT32_MAX);
	(void)quantity_to_double(q);
	(void)quantity_decimal_string(q, s, sizeof s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct quantity q;
	char err[256];

	if (quantity_parse(&q, (const char *)data, size, err, sizeof err) == 0) {
		if (size > QUANTITY_MAX_LEN)
			abort();
		check_round_trip(&q);
	} else if (err[0] == '\0') {
		abort();
	}

	if (quantity_unmarshal_json(&q, (const char *)data, size, err, sizeof err) == 0)
		check_round_trip(&q);
	else if (err[0] == '\0')
		abort();

	if (size >= 8) {
		double v;
		int64_t m;
		char a[32], b[QUANTITY_STRING_MAX];
		memcpy(&v, data, sizeof v);
		memcpy(&m, data, sizeof m);
		if (quantity_from_double(&q, v) == 0) {
			if (!isfinite(v))
				abort();
			check_round_trip(&q);
		} else if (isfinite(v)) {
			abort();
		}
		quantity_format_milli(m, a, sizeof a);
		quantity_from_milli(&q, m);
		quantity_string(&q, b, sizeof b);
		if (strcmp(a, b) != 0)
			abort();
		check_round_trip(&q);
	}
	return 0;
}
