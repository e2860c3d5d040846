/* Unit tests: the TZif reader and POSIX TZ rules (scalers/tzfile.c), checked
 * against glibc's localtime_r on the system's zoneinfo (this test is single-
 * threaded, so switching TZ here is safe), and against the zone tables. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tzfile.h"

static struct tzfile *load_or_fail(const char *name)
{
	char err[600];
	struct tzfile *z = tzfile_load(name, NULL, err, sizeof err);
	if (!z)
		fail_msg("cannot load time zone '%s' (is the tzdata package installed?): %s", name, err);
	return z;
}

/* UTC offset glibc gives for t in zone name. */
static long glibc_offset(const char *name, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!localtime_r(&tt, &tm))
		fail_msg("localtime_r failed for %s at %lld", name, (long long)t);
	return tm.tm_gmtoff;
}

static int64_t utc(int y, unsigned m, unsigned d, unsigned h, unsigned mi, unsigned s)
{
	return tzfile_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + s;
}

/* Every zone's offset agrees with glibc's from 1901 to 2150: on a grid, and
 * one second either side of every change the reader reports. */
static void test_offsets_match_glibc(void **st)
{
	static const char *const zones[] = {
		"Europe/Berlin",    "America/New_York", "Australia/Sydney", "Australia/Lord_Howe",
		"America/Sao_Paulo", "Africa/Casablanca", "Asia/Kolkata",	  "Pacific/Chatham",
		"America/St_Johns", "Europe/Dublin",	"Pacific/Apia",	  "Asia/Tehran",
		"America/Nuuk",	    "Etc/GMT+5",	"UTC",		  "America/Santiago",
		"Antarctica/Troll", "Europe/London",	"Asia/Gaza",	  "America/Scoresbysund",
	};
	char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	int64_t from = utc(1901, 12, 14, 0, 0, 0), to = utc(2150, 1, 1, 0, 0, 0);
	size_t checks = 0;
	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
		struct tzfile *z = load_or_fail(zones[i]);
		setenv("TZ", zones[i], 1);
		tzset();
		for (int64_t t = from; t < to; t += 86400 * 3 + 3607) {
			long want = glibc_offset(zones[i], t);
			long got = tzfile_offset(z, t, NULL);
			if (want != got)
				fail_msg("%s at %lld: glibc says %ld, tzfile %ld", zones[i], (long long)t, want, got);
			checks++;
		}
		size_t changes = 0;
		for (int64_t t = tzfile_next_change(z, from); t < to; t = tzfile_next_change(z, t)) {
			for (int64_t d = -1; d <= 1; d++) {
				long want = glibc_offset(zones[i], t + d), got = tzfile_offset(z, t + d, NULL);
				if (want != got)
					fail_msg("%s at change %lld%+lld: glibc says %ld, tzfile %ld", zones[i], (long long)t,
						 (long long)d, want, got);
			}
			assert_int_equal(tzfile_prev_change(z, t), t);
			assert_int_equal(tzfile_prev_change(z, t + 100), t);
			assert_true(tzfile_prev_change(z, t - 1) < t);
			changes++;
			checks += 3;
		}
		if (strcmp(zones[i], "UTC") && strcmp(zones[i], "Etc/GMT+5") && strcmp(zones[i], "Asia/Kolkata"))
			assert_true(changes > 10);
		tzfile_free(z);
	}
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
	assert_true(checks > 100000);
}

/* The footer's rule reproduces the table it continues: Berlin's transitions
 * 1997-2037 computed from "CET-1CEST,M3.5.0,M10.5.0/3" alone. */
static void test_rule_matches_table(void **st)
{
	struct tzfile *z = load_or_fail("Europe/Berlin");
	char err[300];
	struct tzfile *r = tzfile_from_posix("CET-1CEST,M3.5.0,M10.5.0/3", err, sizeof err);
	assert_non_null(r);
	int64_t a = tzfile_next_change(z, utc(1997, 1, 1, 0, 0, 0));
	int64_t b = tzfile_next_change(r, utc(1997, 1, 1, 0, 0, 0));
	int n = 0;
	while (a < utc(2037, 12, 31, 0, 0, 0)) {
		assert_int_equal(a, b);
		assert_int_equal(tzfile_offset(z, a, NULL), tzfile_offset(r, a, NULL));
		assert_int_equal(tzfile_offset(z, a - 1, NULL), tzfile_offset(r, a - 1, NULL));
		a = tzfile_next_change(z, a);
		b = tzfile_next_change(r, b);
		n++;
	}
	assert_int_equal(n, 82);
	/* 2024: spring forward 31 March 01:00 UTC, fall back 27 October 01:00 UTC */
	int dst = -1;
	assert_int_equal(tzfile_next_change(r, utc(2024, 1, 1, 0, 0, 0)), utc(2024, 3, 31, 1, 0, 0));
	assert_int_equal(tzfile_next_change(r, utc(2024, 3, 31, 1, 0, 0)), utc(2024, 10, 27, 1, 0, 0));
	assert_int_equal(tzfile_offset(r, utc(2024, 3, 31, 0, 59, 59), &dst), 3600);
	assert_int_equal(dst, 0);
	assert_int_equal(tzfile_offset(r, utc(2024, 3, 31, 1, 0, 0), &dst), 7200);
	assert_int_equal(dst, 1);
	tzfile_free(z);
	tzfile_free(r);
}

/* Far past the tables (2400, 9999) the footer still applies. */
static void test_far_future(void **st)
{
	struct tzfile *z = load_or_fail("Australia/Sydney");
	assert_int_equal(tzfile_offset(z, utc(2400, 1, 15, 0, 0, 0), NULL), 11 * 3600);
	assert_int_equal(tzfile_offset(z, utc(2400, 7, 15, 0, 0, 0), NULL), 10 * 3600);
	assert_int_equal(tzfile_offset(z, utc(9999, 7, 15, 0, 0, 0), NULL), 10 * 3600);
	int64_t t = utc(2400, 5, 1, 0, 0, 0);
	int64_t n = tzfile_next_change(z, t);
	/* first Sunday of October 2400 is the 1st: 02:00 AEST = 16:00 UTC on 30 September;
	 * first Sunday of April is the 2nd: 03:00 AEDT = 16:00 UTC on the 1st */
	assert_int_equal(n, utc(2400, 9, 30, 16, 0, 0));
	assert_int_equal(tzfile_prev_change(z, t), utc(2400, 4, 1, 16, 0, 0));
	tzfile_free(z);
}

static void test_posix_strings(void **st)
{
	char err[300];
	static const char *const good[] = {
		"UTC0", "EST5EDT", "EST5EDT,M3.2.0,M11.1.0", "<+0330>-3:30", "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1",
		"IST-1GMT0,M10.5.0,M3.5.0/1", "EST5EDT,0/0,J365/25", "AAA3BBB,J60/167,300",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct tzfile *z = tzfile_from_posix(good[i], err, sizeof err);
		if (!z)
			fail_msg("'%s' refused: %s", good[i], err);
		tzfile_free(z);
	}
	static const char *const bad[] = {
		"", "U", "UTC", "UTC+", "EST5EDT,M3.2.0", "EST5EDT,M13.1.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
		"EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J365", "EST5EDT,366,1", "EST25", "EST5EDT,M3.2.0/168,M11.1.0",
		"<AB>5", "EST5EDT,M3.2.0,M11.1.0x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct tzfile *z = tzfile_from_posix(bad[i], err, sizeof err);
		if (z)
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(strstr(err, "is not a POSIX TZ string"));
	}
	/* DST all year: never standard time */
	struct tzfile *z = tzfile_from_posix("EST5EDT,0/0,J365/25", err, sizeof err);
	assert_non_null(z);
	for (int64_t t = utc(2020, 1, 1, 0, 0, 0); t < utc(2030, 1, 1, 0, 0, 0); t += 86400 / 3)
		assert_int_equal(tzfile_offset(z, t, NULL), -4 * 3600);
	tzfile_free(z);
	/* half-hour offset with the default rule time */
	z = tzfile_from_posix("<+0330>-3:30", err, sizeof err);
	assert_int_equal(tzfile_offset(z, 0, NULL), 3 * 3600 + 1800);
	assert_int_equal(tzfile_next_change(z, 0), INT64_MAX);
	assert_int_equal(tzfile_prev_change(z, 0), INT64_MIN);
	tzfile_free(z);
}

static void test_names_and_errors(void **st)
{
	char err[600];
	static const char *const bad[] = { "", "/etc/passwd", "../etc/passwd", "Europe/../../etc/passwd", "Europe//Berlin",
					   "Europe/Berlin/", "Europe/Ber lin", "./UTC", "a\nb" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct tzfile *z = tzfile_load(bad[i], NULL, err, sizeof err);
		if (z)
			fail_msg("'%s' accepted", bad[i]);
		assert_non_null(strstr(err, "is not a time zone name"));
	}
	assert_null(tzfile_load(NULL, NULL, err, sizeof err));

	assert_null(tzfile_load("Europe/Berlim", NULL, err, sizeof err));
	assert_non_null(strstr(err, "unknown time zone 'Europe/Berlim' (no file '"));
	assert_null(tzfile_load("Europe", NULL, err, sizeof err));
	assert_non_null(strstr(err, "unknown time zone 'Europe'"));
	assert_null(tzfile_load("Europe/Berlin", "no-such-dir-for-tests", err, sizeof err));
	assert_non_null(strstr(err, "install the tzdata package"));

	/* UTC needs no file */
	struct tzfile *z = tzfile_load("UTC", "no-such-dir-for-tests", err, sizeof err);
	assert_non_null(z);
	assert_int_equal(tzfile_offset(z, 1700000000, NULL), 0);
	assert_int_equal(tzfile_next_change(z, 0), INT64_MAX);
	assert_string_equal(tzfile_name(z), "UTC");
	tzfile_free(z);

	/* not TZif, truncated, leap seconds */
	const unsigned char junk[] = "hello, this is not a zone file at all, not at all, really not";
	assert_null(tzfile_parse(junk, sizeof junk, "junk", err, sizeof err));
	assert_non_null(strstr(err, "'junk' is not a TZif zone file"));

	char path[600];
	snprintf(path, sizeof path, "%s/Europe/Berlin", getenv("TZDIR") ? getenv("TZDIR") : TZFILE_DEFAULT_DIR);
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	unsigned char buf[8192];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	assert_true(n > 100);
	z = tzfile_parse(buf, n, "Europe/Berlin", err, sizeof err);
	assert_non_null(z);
	tzfile_free(z);
	for (size_t cut = 0; cut < n - 1; cut += 7) {
		z = tzfile_parse(buf, cut, "cut", err, sizeof err);
		/* a cut inside the footer may still leave a valid file without one */
		if (z) {
			assert_true(cut > n - 40);
			tzfile_free(z);
		}
	}
	/* a leap-second count in the version-2 header */
	unsigned char leap[8192];
	memcpy(leap, buf, n);
	uint32_t c[6];
	for (int i = 0; i < 6; i++)
		c[i] = (uint32_t)buf[20 + 4 * i] << 24 | (uint32_t)buf[21 + 4 * i] << 16 | (uint32_t)buf[22 + 4 * i] << 8 |
		       buf[23 + 4 * i];
	size_t v1 = (size_t)c[3] * 5 + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * 8 + c[1] + c[0];
	assert_true(44 + v1 + 44 < n);
	leap[44 + v1 + 31] = 1;
	assert_null(tzfile_parse(leap, n, "right/X", err, sizeof err));
	assert_non_null(strstr(err, "leap seconds"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets_match_glibc),
		cmocka_unit_test(test_rule_matches_table),
		cmocka_unit_test(test_far_future),
		cmocka_unit_test(test_posix_strings),
		cmocka_unit_test(test_names_and_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
