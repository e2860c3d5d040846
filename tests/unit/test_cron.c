/* Unit tests: the cron scaler (scalers/cron.c): expressions, their instants in
 * a time zone across Europe/Berlin's DST changes, the window rule, and the
 * scaler's params, checks and fetch with a clock passed in. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "config.h"
#include "cron.h"
#include "host.h"
#include "registry.h"
#include "yamldoc.h"

static int64_t utc(int y, unsigned m, unsigned d, unsigned h, unsigned mi, unsigned s)
{
	return tzfile_days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + s;
}

static struct cron_expr expr(const char *text)
{
	struct cron_expr e;
	char err[300];
	if (cron_expr_parse(text, &e, err, sizeof err))
		fail_msg("'%s' refused: %s", text, err);
	return e;
}

static struct tzfile *zone(const char *name)
{
	char err[600];
	struct tzfile *z = tzfile_load(name, NULL, err, sizeof err);
	if (!z)
		fail_msg("cannot load time zone '%s' (is the tzdata package installed?): %s", name, err);
	return z;
}

/* ------------------------------------------------------------------------ */

static void test_parse_good(void **st)
{
	struct cron_expr e = expr("*/15 9-17 * * mon-fri");
	assert_true(e.minute == ((1ull << 0) | (1ull << 15) | (1ull << 30) | (1ull << 45)));
	assert_int_equal(e.hour, 0x3fe00);
	assert_int_equal(e.dow, 0x3e);
	assert_true(e.dom_star && !e.dow_star);

	e = expr("  0   8,12  1-31/10  JAN,jul-Sep  *  ");
	assert_int_equal(e.hour, (1u << 8) | (1u << 12));
	assert_int_equal(e.dom, (1u << 1) | (1u << 11) | (1u << 21) | (1u << 31));
	assert_int_equal(e.month, (1u << 1) | (1u << 7) | (1u << 8) | (1u << 9));

	e = expr("5/20 * ? * 7"); /* a/s runs to the field's end; dow 7 is Sunday; ? is * */
	assert_true(e.minute == ((1ull << 5) | (1ull << 25) | (1ull << 45)));
	assert_int_equal(e.dow, 1);
	assert_true(e.dom_star);
	e = expr("0 0 * * 5-7");
	assert_int_equal(e.dow, (1u << 5) | (1u << 6) | 1u);
	e = expr("0 0 */2 * *"); /* stepped: not a star (robfig/cron) */
	assert_false(e.dom_star);
	e = expr("0 0 */1 * *");
	assert_true(e.dom_star);

	struct cron_expr d = expr("@daily"), w = expr("@WEEKLY"), h = expr("@hourly"), y = expr("@annually");
	struct cron_expr d2 = expr("0 0 * * *");
	assert_memory_equal(&d, &d2, sizeof d);
	assert_int_equal(w.dow, 1);
	assert_int_equal(h.hour, 0xffffff);
	assert_int_equal(y.month, 2);
	assert_int_equal(y.dom, 2);
	expr("0 0 29 2 *"); /* Feb 29 exists */
	expr("0 0 30 2 1"); /* Feb 30 never, but Mondays do (either day field) */
}

static void test_parse_bad(void **st)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "", "has 0 fields" },
		{ "* * * *", "has 4 fields; 5 are needed" },
		{ "0 * * * * *", "(no seconds field)" },
		{ "60 * * * *", "minute: 60 is out of range 0-59" },
		{ "* 24 * * *", "hour: 24 is out of range 0-23" },
		{ "* * 0 * *", "day-of-month: 0 is out of range 1-31" },
		{ "* * 32 * *", "day-of-month: 32 is out of range 1-31" },
		{ "* * * 13 *", "month: 13 is out of range 1-12" },
		{ "* * * * 8", "day-of-week: 8 is out of range 0-7" },
		{ "* * * foo *", "month: 'foo' is not a number or a name (jan..dec)" },
		{ "* * * * monday", "day-of-week: 'monday' is not a number or a name (sun..sat)" },
		{ "* * * jan *x", "day-of-week: '*x' is not a number" },
		{ "mon * * * *", "minute: 'mon' is not a number" },
		{ "*/0 * * * *", "minute: step 0 is not allowed" },
		{ "*/ * * * *", "minute: '*/' has no step after '/'" },
		{ "*/x * * * *", "minute: step 'x' is not a number" },
		{ "5-1 * * * *", "minute: '5-1' runs backwards" },
		{ "* * * * fri-mon", "day-of-week: 'fri-mon' runs backwards" },
		{ "0 0 * * 7/2", "day-of-week: '7/2' selects no value" },
		{ "1,,2 * * * *", "minute: '1,,2' has an empty list item" },
		{ "-5 * * * *", "minute: a value is missing" },
		{ "0 0 30 2 *", "matches no date (day-of-month '30' does not occur in month '2')" },
		{ "0 0 31 apr,jun *", "matches no date" },
		{ "@every 5m", "@every has no fixed times" },
		{ "@reboot", "is not one of @yearly" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct cron_expr e;
		char err[300] = "";
		if (!cron_expr_parse(bad[i].text, &e, err, sizeof err))
			fail_msg("'%s' accepted", bad[i].text);
		if (!strstr(err, bad[i].msg))
			fail_msg("'%s': expected [%s] in [%s]", bad[i].text, bad[i].msg, err);
	}
	char err[300];
	struct cron_expr e;
	char longx[400];
	memset(longx, '1', sizeof longx - 1);
	longx[sizeof longx - 1] = 0;
	assert_int_equal(cron_expr_parse(longx, &e, err, sizeof err), -1);
	assert_non_null(strstr(err, "longer than"));
	assert_int_equal(cron_expr_parse(NULL, &e, err, sizeof err), -1);
}

static void test_matches(void **st)
{
	/* both day fields restricted: either matches */
	struct cron_expr e = expr("0 12 13 * fri");
	assert_true(cron_expr_matches(&e, 2024, 9, 13, 12, 0));   /* Friday the 13th */
	assert_true(cron_expr_matches(&e, 2024, 9, 20, 12, 0));   /* a Friday */
	assert_true(cron_expr_matches(&e, 2024, 10, 13, 12, 0));  /* a Sunday the 13th */
	assert_false(cron_expr_matches(&e, 2024, 10, 14, 12, 0)); /* Monday the 14th */
	assert_false(cron_expr_matches(&e, 2024, 9, 13, 12, 1));
	/* one day field is *: both must match */
	e = expr("0 12 13 * *");
	assert_false(cron_expr_matches(&e, 2024, 9, 20, 12, 0));
	e = expr("0 12 */2 * fri"); /* stepped dom is restricted: either */
	assert_true(cron_expr_matches(&e, 2024, 9, 20, 12, 0));   /* Friday the 20th (even) */
	assert_true(cron_expr_matches(&e, 2024, 9, 1, 12, 0));    /* Sunday the 1st (odd) */
	assert_false(cron_expr_matches(&e, 2024, 9, 2, 12, 0));
	assert_false(cron_expr_matches(&e, 2024, 13, 1, 12, 0));
}

/* In UTC the searches are plain calendar walks. */
static void test_next_prev_utc(void **st)
{
	struct tzfile *z = zone("UTC");
	struct cron_expr e = expr("30 6 * * 1-5");
	int64_t fri = utc(2024, 5, 3, 6, 30, 0);
	assert_int_equal(cron_next(&e, z, utc(2024, 5, 3, 6, 29, 59)), fri);
	assert_int_equal(cron_next(&e, z, fri - 1), fri);
	assert_int_equal(cron_next(&e, z, fri), utc(2024, 5, 6, 6, 30, 0)); /* strictly after: Monday */
	assert_int_equal(cron_prev(&e, z, fri), fri);                        /* at or before */
	assert_int_equal(cron_prev(&e, z, fri - 1), utc(2024, 5, 2, 6, 30, 0));
	assert_int_equal(cron_prev(&e, z, utc(2024, 5, 5, 23, 0, 0)), fri);
	/* Feb 29 only: found across years, both ways */
	e = expr("0 0 29 2 *");
	assert_int_equal(cron_next(&e, z, utc(2024, 3, 1, 0, 0, 0)), utc(2028, 2, 29, 0, 0, 0));
	assert_int_equal(cron_prev(&e, z, utc(2027, 1, 1, 0, 0, 0)), utc(2024, 2, 29, 0, 0, 0));
	/* 2100 is not a leap year: 2096 -> 2104 */
	assert_int_equal(cron_next(&e, z, utc(2096, 3, 1, 0, 0, 0)), utc(2104, 2, 29, 0, 0, 0));
	tzfile_free(z);
}

/* Europe/Berlin, 2024: spring forward on 31 March at 01:00 UTC (02:00 CET ->
 * 03:00 CEST: 02:00-02:59 do not exist), fall back on 27 October at 01:00
 * UTC (03:00 CEST -> 02:00 CET: 02:00-02:59 happen twice). */
static void test_berlin_instants(void **st)
{
	struct tzfile *z = zone("Europe/Berlin");
	struct cron_expr e = expr("30 2 * * *");
	/* the day before: 02:30 CET = 01:30 UTC; the day after: 02:30 CEST = 00:30 UTC */
	assert_int_equal(cron_next(&e, z, utc(2024, 3, 29, 12, 0, 0)), utc(2024, 3, 30, 1, 30, 0));
	/* a time that does not exist does not fire: 30 March -> 1 April */
	assert_int_equal(cron_next(&e, z, utc(2024, 3, 30, 1, 30, 0)), utc(2024, 4, 1, 0, 30, 0));
	assert_int_equal(cron_prev(&e, z, utc(2024, 4, 1, 0, 29, 0)), utc(2024, 3, 30, 1, 30, 0));
	/* a time that exists twice fires twice: 00:30 UTC (CEST) and 01:30 UTC (CET) */
	assert_int_equal(cron_next(&e, z, utc(2024, 10, 26, 12, 0, 0)), utc(2024, 10, 27, 0, 30, 0));
	assert_int_equal(cron_next(&e, z, utc(2024, 10, 27, 0, 30, 0)), utc(2024, 10, 27, 1, 30, 0));
	assert_int_equal(cron_next(&e, z, utc(2024, 10, 27, 1, 30, 0)), utc(2024, 10, 28, 1, 30, 0));
	assert_int_equal(cron_prev(&e, z, utc(2024, 10, 27, 1, 29, 59)), utc(2024, 10, 27, 0, 30, 0));
	assert_int_equal(cron_prev(&e, z, utc(2024, 10, 27, 1, 30, 0)), utc(2024, 10, 27, 1, 30, 0));
	/* times next to the change: 01:59 CET and 03:00 CEST on the spring day */
	e = expr("59 1 * * *");
	assert_int_equal(cron_next(&e, z, utc(2024, 3, 30, 23, 0, 0)), utc(2024, 3, 31, 0, 59, 0));
	e = expr("0 3 * * *");
	assert_int_equal(cron_next(&e, z, utc(2024, 3, 30, 23, 0, 0)), utc(2024, 3, 31, 1, 0, 0));
	/* every 15 minutes through the fall-back night: 12 firings between 00:00 and 03:00 UTC */
	e = expr("*/15 * * * *");
	int n = 0;
	for (int64_t t = cron_next(&e, z, utc(2024, 10, 26, 23, 59, 59)); t < utc(2024, 10, 27, 3, 0, 0);
	     t = cron_next(&e, z, t))
		n++;
	assert_int_equal(n, 12);
	tzfile_free(z);
}

static bool open_at(const char *start, const char *end, const struct tzfile *z, int64_t t)
{
	struct cron_expr s = expr(start), e = expr(end);
	return cron_window_open(&s, &e, z, t * 1000);
}

/* A window 02:30-03:30 on the change days, and windows spanning the change. */
static void test_berlin_windows(void **st)
{
	struct tzfile *z = zone("Europe/Berlin");
	const char *s = "30 2 * * *", *e = "30 3 * * *";

	/* an ordinary day (30 March, CET): [01:30, 02:30) UTC, to the millisecond */
	assert_false(open_at(s, e, z, utc(2024, 3, 30, 1, 29, 59)));
	{
		struct cron_expr cs = expr(s), ce = expr(e);
		assert_false(cron_window_open(&cs, &ce, z, utc(2024, 3, 30, 1, 30, 0) * 1000 - 1));
		assert_true(cron_window_open(&cs, &ce, z, utc(2024, 3, 30, 1, 30, 0) * 1000));
		assert_true(cron_window_open(&cs, &ce, z, utc(2024, 3, 30, 2, 30, 0) * 1000 - 1));
		assert_false(cron_window_open(&cs, &ce, z, utc(2024, 3, 30, 2, 30, 0) * 1000));
	}
	/* spring forward: 02:30 does not exist, so the window does not open that day
	 * (03:30 CEST = 01:30 UTC still closes nothing) */
	for (int64_t t = utc(2024, 3, 30, 23, 0, 0); t < utc(2024, 3, 31, 23, 0, 0); t += 300)
		if (open_at(s, e, z, t))
			fail_msg("window open on the spring-forward day at %lld", (long long)t);
	/* and opens again the next day at 02:30 CEST = 00:30 UTC */
	assert_true(open_at(s, e, z, utc(2024, 4, 1, 0, 30, 0)));
	assert_false(open_at(s, e, z, utc(2024, 4, 1, 1, 30, 0)));

	/* fall back: 02:30 CEST (00:30 UTC) opens, 02:30 CET (01:30 UTC) opens
	 * again (no change: already open), 03:30 CET (02:30 UTC) closes: two hours */
	assert_false(open_at(s, e, z, utc(2024, 10, 27, 0, 29, 59)));
	for (int64_t t = utc(2024, 10, 27, 0, 30, 0); t < utc(2024, 10, 27, 2, 30, 0); t += 60)
		if (!open_at(s, e, z, t))
			fail_msg("window closed on the fall-back night at %lld", (long long)t);
	assert_false(open_at(s, e, z, utc(2024, 10, 27, 2, 30, 0)));

	/* a window spanning the change, 01:00-04:00 local: two real hours in
	 * spring (00:00-02:00 UTC), four in autumn (23:00-03:00 UTC) */
	s = "0 1 * * *";
	e = "0 4 * * *";
	assert_false(open_at(s, e, z, utc(2024, 3, 30, 23, 59, 59)));
	assert_true(open_at(s, e, z, utc(2024, 3, 31, 0, 0, 0)));
	assert_true(open_at(s, e, z, utc(2024, 3, 31, 1, 59, 59)));
	assert_false(open_at(s, e, z, utc(2024, 3, 31, 2, 0, 0)));
	assert_false(open_at(s, e, z, utc(2024, 10, 26, 22, 59, 59)));
	assert_true(open_at(s, e, z, utc(2024, 10, 26, 23, 0, 0)));
	assert_true(open_at(s, e, z, utc(2024, 10, 27, 2, 59, 59)));
	assert_false(open_at(s, e, z, utc(2024, 10, 27, 3, 0, 0)));

	/* an end that does not exist (02:30 on the spring day) does not close:
	 * the window opened at 01:00 CET stays open until 02:30 CEST next day */
	s = "0 1 * * *";
	e = "30 2 * * *";
	assert_true(open_at(s, e, z, utc(2024, 3, 31, 0, 0, 0)));
	assert_true(open_at(s, e, z, utc(2024, 3, 31, 12, 0, 0)));
	assert_true(open_at(s, e, z, utc(2024, 4, 1, 0, 29, 59)));
	assert_false(open_at(s, e, z, utc(2024, 4, 1, 0, 30, 0)));
	tzfile_free(z);
}

/* Starts and ends that do not alternate: a start on weekdays, an end every
 * day. The weekend is closed (KEDA's next-start/next-end rule says open). */
static void test_window_rule(void **st)
{
	struct tzfile *z = zone("UTC");
	const char *s = "0 9 * * mon-fri", *e = "0 17 * * *";
	assert_true(open_at(s, e, z, utc(2024, 5, 3, 12, 0, 0)));   /* Friday */
	assert_false(open_at(s, e, z, utc(2024, 5, 4, 12, 0, 0)));  /* Saturday */
	assert_false(open_at(s, e, z, utc(2024, 5, 5, 12, 0, 0)));  /* Sunday */
	assert_true(open_at(s, e, z, utc(2024, 5, 6, 9, 0, 0)));    /* Monday */
	/* a window across midnight */
	assert_true(open_at("0 22 * * *", "0 6 * * *", z, utc(2024, 5, 6, 3, 0, 0)));
	assert_false(open_at("0 22 * * *", "0 6 * * *", z, utc(2024, 5, 6, 12, 0, 0)));
	/* a start and an end at the same minute: closed */
	assert_false(open_at("0 6 * * *", "0 6,20 * * *", z, utc(2024, 5, 6, 12, 0, 0)));
	/* rare boundaries are found years back */
	assert_true(open_at("0 0 29 2 *", "0 1 29 2 *", z, utc(2024, 2, 29, 0, 30, 0)));
	assert_false(open_at("0 0 29 2 *", "0 1 29 2 *", z, utc(2027, 1, 1, 0, 0, 0)));
	assert_true(open_at("0 0 29 2 *", "0 0 1 3 *", z, utc(2024, 2, 29, 23, 0, 0)));
	tzfile_free(z);
}

/* ------------------------------------------------------------------------ */
/* the scaler through its descriptor, as the poller drives it               */

struct cron_src_params {
	char *timezone;
};
struct cron_met_params {
	char *timezone, *start, *end;
	double desired;
};

static int run_fetch(const struct sw_scaler_type *t, void *state, const void *sp, const void *mp, int64_t now_ms,
		     double *value, char *err, size_t errlen)
{
	struct sw_batch b;
	batch_init(&b);
	struct sw_request req = { .metric = "m", .params = mp, .now_ms = now_ms, .deadline_ms = now_ms + 1000 };
	err[0] = 0;
	int rc = t->fetch(state, sp, &req, &b, err, errlen);
	if (rc == 0) {
		assert_int_equal(b.n, 1);
		assert_int_equal(b.items[0].nlabels, 0);
		assert_int_equal(b.items[0].ts_ms, now_ms);
		*value = b.items[0].value;
	}
	batch_release(&b);
	return rc;
}

static void test_scaler(void **st)
{
	const struct sw_scaler_type *t = registry_find("cron");
	assert_ptr_equal(t, &scaler_cron);
	assert_int_equal(t->query, SW_QUERY_NONE);
	assert_int_equal(t->source_params_size, sizeof(struct cron_src_params));
	assert_int_equal(t->metric_params_size, sizeof(struct cron_met_params));
	void *state = calloc(1, t->state_size);
	struct cron_src_params sp = { .timezone = "Europe/Berlin" };
	struct cron_met_params mp = { .start = "30 2 * * *", .end = "30 3 * * *", .desired = 10 };
	char err[600];
	assert_int_equal(t->open(state, &sp, host_table(), err, sizeof err), 0);
	double v = -1;
	/* fall-back night: open from 00:30 to 02:30 UTC */
	assert_int_equal(run_fetch(t, state, &sp, &mp, utc(2024, 10, 27, 0, 29, 0) * 1000, &v, err, sizeof err), 0);
	assert_true(v == 0.0);
	assert_int_equal(run_fetch(t, state, &sp, &mp, utc(2024, 10, 27, 1, 0, 0) * 1000, &v, err, sizeof err), 0);
	assert_true(v == 10.0);
	/* the metric's timezone wins over the source's: 02:30 in UTC */
	mp.timezone = "UTC";
	assert_int_equal(run_fetch(t, state, &sp, &mp, utc(2024, 10, 27, 1, 0, 0) * 1000, &v, err, sizeof err), 0);
	assert_true(v == 0.0);
	assert_int_equal(run_fetch(t, state, &sp, &mp, utc(2024, 10, 27, 2, 45, 0) * 1000, &v, err, sizeof err), 0);
	assert_true(v == 10.0);

	/* errors are answer errors that name the key; never a silent 0 */
	mp.timezone = "Mars/Olympus";
	assert_int_equal(run_fetch(t, state, &sp, &mp, 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_non_null(strstr(err, "params.timezone: unknown time zone 'Mars/Olympus'"));
	mp.timezone = NULL;
	mp.start = "30 25 * * *";
	assert_int_equal(run_fetch(t, state, &sp, &mp, 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_string_equal(err, "params.start: '30 25 * * *' is not a cron expression: hour: 25 is out of range 0-23");
	mp.start = "30 3 * * *";
	assert_int_equal(run_fetch(t, state, &sp, &mp, 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_non_null(strstr(err, "params.start and params.end are the same schedule"));
	mp.start = "30 2 * * *";
	mp.end = "";
	assert_int_equal(run_fetch(t, state, &sp, &mp, 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_non_null(strstr(err, "params.end: required"));
	mp.end = "30 3 * * *";
	t->close(state);

	/* no time zone anywhere */
	struct cron_src_params none = { 0 };
	memset(state, 0, t->state_size);
	assert_int_equal(t->open(state, &none, host_table(), err, sizeof err), 0);
	assert_int_equal(run_fetch(t, state, &none, &mp, 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_non_null(strstr(err, "params.timezone: required"));
	t->close(state);

	/* a bad source timezone fails open */
	struct cron_src_params badsrc = { .timezone = "../../etc/passwd" };
	memset(state, 0, t->state_size);
	assert_int_equal(t->open(state, &badsrc, host_table(), err, sizeof err), -1);
	assert_non_null(strstr(err, "timezone: '../../etc/passwd' is not a time zone name"));

	/* check_metric says the same things at load */
	struct sw_request req = { .metric = "m", .params = &mp };
	assert_int_equal(t->check_metric(&sp, &req, err, sizeof err), 0);
	assert_int_equal(t->check_metric(&badsrc, &req, err, sizeof err), -1);
	assert_non_null(strstr(err, "timezone (of the source): '../../etc/passwd' is not a time zone name"));
	free(state);
}

/* Loaded through the config: bad params name their key path. */
static void test_config(void **st)
{
	const char *y = "auth: {mode: anonymous}\n"
			"sources:\n"
			"  office: {type: cron, timezone: Europe/Berlin}\n"
			"  bare: {type: cron}\n"
			"metrics:\n"
			"  - name: ok\n    source: office\n"
			"    params: {start: '0 8 * * mon-fri', end: '0 18 * * mon-fri', desiredReplicas: 5}\n"
			"  - name: badstart\n    source: office\n"
			"    params: {start: '0 8 * * funday', end: '0 18 * * *', desiredReplicas: 5}\n"
			"  - name: badzone\n    source: bare\n"
			"    params: {timezone: Europe/Berlim, start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: 5}\n"
			"  - name: nozone\n    source: bare\n"
			"    params: {start: '0 8 * * *', end: '0 18 * * *', desiredReplicas: 5}\n"
			"  - name: missing\n    source: office\n"
			"    params: {start: '0 8 * * *'}\n"
			"  - name: typo\n    source: office\n"
			"    params: {start: '0 8 * * *', end: '0 9 * * *', desiredReplica: 5}\n"
			"  - name: query\n    source: office\n    query: up\n"
			"    params: {start: '0 8 * * *', end: '0 9 * * *', desiredReplicas: 5}\n";
	char err[300];
	struct errlist errs;
	errlist_init(&errs);
	cJSON *root = yamldoc_parse(y, strlen(y), err, sizeof err);
	assert_non_null(root);
	struct config c;
	assert_int_equal(config_from_tree(root, NULL, &c, &errs), -1);
	cJSON_Delete(root);
	static const char *const want[] = {
		"metrics[1]: params.start: '0 8 * * funday' is not a cron expression: day-of-week: 'funday' is not a number",
		"metrics[2]: params.timezone: unknown time zone 'Europe/Berlim'",
		"metrics[3]: params.timezone: required, in the metric's params or on its source",
		"metrics[4].params.end: required",
		"metrics[4].params.desiredReplicas: required",
		"metrics[5].params.desiredReplica: unknown key; did you mean \"desiredReplicas\"?",
		"metrics[6]: query: a cron source takes params, not a query",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		bool found = false;
		for (size_t k = 0; k < errs.n; k++)
			if (strstr(errs.items[k], want[i]))
				found = true;
		if (!found) {
			for (size_t k = 0; k < errs.n; k++)
				fprintf(stderr, "  have: %s\n", errs.items[k]);
			fail_msg("missing error: %s", want[i]);
		}
	}
	for (size_t k = 0; k < errs.n; k++)
		if (strstr(errs.items[k], "metrics[0]"))
			fail_msg("unexpected error for the good metric: %s", errs.items[k]);
	config_release(&c);
	errlist_release(&errs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_next_prev_utc),
		cmocka_unit_test(test_berlin_instants),
		cmocka_unit_test(test_berlin_windows),
		cmocka_unit_test(test_window_rule),
		cmocka_unit_test(test_scaler),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
