/*
 * fuzz_tzfile.c — libFuzzer target for the TZif reader (scalers/tzfile.c):
 * zone files are outside input (a mounted zoneinfo, $TZDIR). Arbitrary bytes
 * must be refused with a message or give a zone whose answers are
 * consistent: every instant lies between its previous and next change, and
 * the offset does not change in between.
 */
#include <stdint.h>
#include <stdlib.h>

#include "tzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[600] = "";
	struct tzfile *z = tzfile_parse(data, size, "fuzz", err, sizeof err);
	if (!z) {
		if (!err[0])
			abort();
		return 0;
	}
	static const int64_t ts[] = { INT64_MIN, -4000000000000, -2208988800, -1, 0, 1711846800, 2147483648,
				      4102444800, 253402300799, 4000000000000, INT64_MAX };
	for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
		int64_t t = ts[i];
		int64_t n = tzfile_next_change(z, t), p = tzfile_prev_change(z, t);
		if (!(p <= t && (t < n || (t == INT64_MAX && n == INT64_MAX))))
			abort();
		int32_t off = tzfile_offset(z, t, NULL);
		if (p != INT64_MIN && tzfile_offset(z, p, NULL) != off)
			abort();
		if (n != INT64_MAX && n - 1 > t && tzfile_offset(z, n - 1, NULL) != off)
			abort();
	}
	tzfile_free(z);
	return 0;
}
