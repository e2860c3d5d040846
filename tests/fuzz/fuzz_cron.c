/*
 * fuzz_cron.c — libFuzzer target for the cron scaler's parsers: cron
 * expressions (config input) and POSIX TZ strings (the footer of a zone file).
 *
 * The input is split at its first newline: the part before is parsed as a
 * cron expression, the part after as a TZ string. Whatever parses is then
 * searched: every instant cron_next finds must be after the start, fire on a
 * matching wall-clock minute, and be found again by cron_prev; the zone's
 * changes must bracket the instants they are asked about.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "tzfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_zone(const struct tzfile *z, int64_t t)
{
	int64_t n = tzfile_next_change(z, t), p = tzfile_prev_change(z, t);
	if (!(p <= t && t < n))
		abort();
	int32_t off = tzfile_offset(z, t, NULL);
	if (off < -30 * 3600 || off > 30 * 3600)
		abort();
	if (p != INT64_MIN && p < t && tzfile_offset(z, p, NULL) != off)
		abort(); /* constant on [prev, next) */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	char *tz = strchr(text, '\n');
	if (tz)
		*tz++ = 0;
	char err[600];
	struct tzfile *z = tz ? tzfile_from_posix(tz, err, sizeof err) : NULL;
	if (tz && !z && !err[0])
		abort();
	if (!z)
		z = tzfile_load("UTC", NULL, err, sizeof err);
	if (!z)
		abort();
	static const int64_t starts[] = { 0, 1711846800, 1729990800, 4102444800, -2208988800 };
	for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++)
		check_zone(z, starts[i]);

	struct cron_expr e;
	err[0] = 0;
	if (cron_expr_parse(text, &e, err, sizeof err)) {
		if (!err[0])
			abort(); /* every refusal says why */
	} else {
		for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
			int64_t t = starts[i];
			int64_t nx = cron_next(&e, z, t);
			if (nx == INT64_MAX)
				continue;
			if (nx <= t || cron_prev(&e, z, nx) != nx || cron_prev(&e, z, nx - 1) >= nx)
				abort();
			int64_t local = nx + tzfile_offset(z, nx, NULL), y;
			unsigned m, d;
			tzfile_civil_from_days(tzfile_floor_div(local, 86400), &y, &m, &d);
			int64_t sod = local - tzfile_floor_div(local, 86400) * 86400;
			if (sod % 60 || !cron_expr_matches(&e, y, m, d, (unsigned)(sod / 3600), (unsigned)(sod % 3600 / 60)))
				abort();
		}
		(void)cron_window_open(&e, &e, z, 1711846800000);
	}
	tzfile_free(z);
	free(text);
	return 0;
}
