/* Unit tests: the replay scaler (scalers/replay.c): the replay clock with
 * speed, loop and offset, and the scaler through its descriptor with a clock
 * passed in, on CSV and Prometheus JSON traces written by the test. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "config.h"
#include "host.h"
#include "registry.h"
#include "replay.h"
#include "yamldoc.h"

static char tmpdir[512];

static int setup(void **st)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/sw-test-replay.XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **st)
{
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *text)
{
	static char paths[8][700];
	static int k;
	char *p = paths[k++ % 8];
	snprintf(p, 700, "%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	return p;
}

/* points at 0, 10, 20, 30 s (ms below) with values 1..4: spacing 10 s, length 40 s */
static struct trace four(void)
{
	static int64_t ts[4] = { 1000000000000, 1000000010000, 1000000020000, 1000000030000 };
	static double v[4] = { 1, 2, 3, 4 };
	struct trace t = { .ts_ms = ts, .v = v, .n = 4, .nseries = 1, .nfile_series = 1 };
	return t;
}

#define T0 INT64_C(1700000000000) /* the replay's start, wall clock */

static void test_clock_plain(void **st)
{
	struct trace t = four();
	struct replay_pos p;
	replay_locate(&t, 1, false, 0, T0, T0, &p);
	assert_false(p.ended);
	assert_int_equal(p.index, 0);
	assert_int_equal(p.point_wall_ms, T0);
	assert_int_equal(p.end_wall_ms, T0 + 40000);
	replay_locate(&t, 1, false, 0, T0, T0 + 9999, &p);
	assert_int_equal(p.index, 0);
	replay_locate(&t, 1, false, 0, T0, T0 + 10000, &p);
	assert_int_equal(p.index, 1);
	assert_int_equal(p.point_wall_ms, T0 + 10000);
	replay_locate(&t, 1, false, 0, T0, T0 + 39999, &p);
	assert_false(p.ended);
	assert_int_equal(p.index, 3);
	assert_int_equal(p.point_wall_ms, T0 + 30000);
	replay_locate(&t, 1, false, 0, T0, T0 + 40000, &p);
	assert_true(p.ended);
	assert_int_equal(p.end_wall_ms, T0 + 40000);
	/* a clock before the start serves the first point */
	replay_locate(&t, 1, false, 0, T0, T0 - 5000, &p);
	assert_false(p.ended);
	assert_int_equal(p.index, 0);
}

static void test_clock_speed_loop_offset(void **st)
{
	struct trace t = four();
	struct replay_pos p;
	/* ten times faster: a point a second, the end after 4 s */
	replay_locate(&t, 10, false, 0, T0, T0 + 1000, &p);
	assert_int_equal(p.index, 1);
	assert_int_equal(p.point_wall_ms, T0 + 1000);
	replay_locate(&t, 10, false, 0, T0, T0 + 3999, &p);
	assert_int_equal(p.index, 3);
	replay_locate(&t, 10, false, 0, T0, T0 + 4000, &p);
	assert_true(p.ended);
	assert_int_equal(p.end_wall_ms, T0 + 4000);
	/* looping: round 1 starts at 4 s, round 2 at 8 s */
	replay_locate(&t, 10, true, 0, T0, T0 + 4000, &p);
	assert_false(p.ended);
	assert_int_equal(p.round, 1);
	assert_int_equal(p.index, 0);
	assert_int_equal(p.point_wall_ms, T0 + 4000);
	assert_int_equal(p.end_wall_ms, INT64_MAX);
	replay_locate(&t, 10, true, 0, T0, T0 + 7500, &p);
	assert_int_equal(p.round, 1);
	assert_int_equal(p.index, 3);
	assert_int_equal(p.point_wall_ms, T0 + 7000);
	replay_locate(&t, 10, true, 0, T0, T0 + 8000 * 1000 + 2500, &p);
	assert_int_equal(p.round, 2000);
	assert_int_equal(p.index, 2);
	/* slower than real time */
	replay_locate(&t, 0.5, false, 0, T0, T0 + 20000, &p);
	assert_int_equal(p.index, 1);
	assert_int_equal(p.end_wall_ms, T0 + 80000);
	/* offset: start 15 s into the trace, at point 1, replayed 5 s "before" the start */
	replay_locate(&t, 1, false, 15000, T0, T0, &p);
	assert_int_equal(p.index, 1);
	assert_int_equal(p.point_wall_ms, T0 - 5000);
	assert_int_equal(p.end_wall_ms, T0 + 25000);
	replay_locate(&t, 1, true, 15000, T0, T0 + 25000, &p); /* loops from the first point */
	assert_int_equal(p.round, 1);
	assert_int_equal(p.index, 0);
	assert_int_equal(p.point_wall_ms, T0 + 25000);
	replay_locate(&t, 1, false, 40000, T0, T0, &p); /* an offset past the end */
	assert_true(p.ended);
	assert_int_equal(p.end_wall_ms, T0);
}

static void test_clock_one_point_and_gaps(void **st)
{
	int64_t ts1[1] = { 5000 };
	double v1[1] = { 7 };
	struct trace one = { .ts_ms = ts1, .v = v1, .n = 1 };
	struct replay_pos p;
	replay_locate(&one, 1, false, 0, T0, T0 + 86400000, &p);
	assert_false(p.ended);
	assert_int_equal(p.index, 0);
	assert_int_equal(p.point_wall_ms, T0);
	assert_int_equal(p.end_wall_ms, INT64_MAX);
	/* irregular spacing: 0, 1, 100 s; mean spacing 50 s, length 150 s */
	int64_t ts[3] = { 0, 1000, 100000 };
	double v[3] = { 1, 2, 3 };
	struct trace g = { .ts_ms = ts, .v = v, .n = 3 };
	replay_locate(&g, 1, false, 0, T0, T0 + 99999, &p);
	assert_int_equal(p.index, 1);
	assert_int_equal(p.point_wall_ms, T0 + 1000);
	replay_locate(&g, 1, false, 0, T0, T0 + 149999, &p);
	assert_int_equal(p.index, 2);
	replay_locate(&g, 1, false, 0, T0, T0 + 150000, &p);
	assert_true(p.ended);
}

/* ------------------------------------------------------------------------ */
/* the scaler                                                               */

struct src_params {
	char *path;
	char *series;
	double speed;
	int loop;
	int64_t offset_ms;
};
struct met_params {
	char *series;
};

struct fetched {
	int rc;
	double v;
	int64_t ts;
	char err[700];
};

static struct fetched fetch_at(const struct sw_scaler_type *t, void *state, const struct src_params *sp,
			       const struct met_params *mp, int64_t now)
{
	struct fetched f = { 0 };
	struct sw_batch b;
	batch_init(&b);
	struct sw_request req = { .metric = "m", .params = mp, .now_ms = now, .deadline_ms = now + 1000 };
	f.rc = t->fetch(state, sp, &req, &b, f.err, sizeof f.err);
	if (f.rc == 0) {
		assert_int_equal(b.n, 1);
		assert_int_equal(b.items[0].nlabels, 0);
		f.v = b.items[0].value;
		f.ts = b.items[0].ts_ms;
	}
	batch_release(&b);
	return f;
}

static void test_scaler_csv(void **st)
{
	const struct sw_scaler_type *t = registry_find("replay");
	assert_ptr_equal(t, &scaler_replay);
	assert_int_equal(t->source_params_size, sizeof(struct src_params));
	assert_int_equal(t->metric_params_size, sizeof(struct met_params));
	const char *path = write_file("load.csv", "timestamp,value\n"
						  "2014-04-10T00:00:00Z,10\n"
						  "2014-04-10T00:05:00Z,20\n"
						  "2014-04-10T00:10:00Z,\"1.5k\"\n");
	struct src_params sp = { .path = (char *)path, .series = "", .speed = 60, .loop = 0 };
	struct met_params mp = { 0 };
	void *state = calloc(1, t->state_size);
	char err[600];
	assert_int_equal(t->open(state, &sp, host_table(), err, sizeof err), 0);
	/* five minutes of trace are five seconds of wall time at speed 60 */
	struct fetched f = fetch_at(t, state, &sp, &mp, T0);
	assert_int_equal(f.rc, 0);
	assert_true(f.v == 10);
	assert_int_equal(f.ts, T0);
	f = fetch_at(t, state, &sp, &mp, T0 + 4999);
	assert_true(f.v == 10);
	f = fetch_at(t, state, &sp, &mp, T0 + 5000);
	assert_true(f.v == 20);
	assert_int_equal(f.ts, T0 + 5000);
	f = fetch_at(t, state, &sp, &mp, T0 + 14999);
	assert_true(f.v == 1500);
	assert_int_equal(f.ts, T0 + 10000);
	/* the end: an answer error that names when */
	f = fetch_at(t, state, &sp, &mp, T0 + 15000);
	assert_int_equal(f.rc, SW_FETCH_ANSWER_ERROR);
	char want[900];
	snprintf(want, sizeof want,
		 "trace ended at 2023-11-14T22:13:35Z: '%s' (recorded 2014-04-10T00:00:00Z to 2014-04-10T00:10:00Z) was "
		 "replayed from 2023-11-14T22:13:20Z at speed 60; set loop: true to start over",
		 path);
	assert_string_equal(f.err, want);
	t->close(state);

	/* with loop it goes on, stamps still increasing */
	sp.loop = 1;
	memset(state, 0, t->state_size);
	assert_int_equal(t->open(state, &sp, host_table(), err, sizeof err), 0);
	assert_int_equal(fetch_at(t, state, &sp, &mp, T0 + 100).rc, 0); /* the first poll starts the clock */
	f = fetch_at(t, state, &sp, &mp, T0 + 100 + 15000);
	assert_int_equal(f.rc, 0);
	assert_true(f.v == 10);
	assert_int_equal(f.ts, T0 + 100 + 15000);
	f = fetch_at(t, state, &sp, &mp, T0 + 100 + 3 * 15000 + 6000);
	assert_true(f.v == 20);
	assert_int_equal(f.ts, T0 + 100 + 3 * 15000 + 5000);
	t->close(state);
	free(state);
}

static void test_scaler_json_series(void **st)
{
	const struct sw_scaler_type *t = &scaler_replay;
	const char *path = write_file("rec.json",
				      "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
				      "{\"metric\":{\"__name__\":\"rps\",\"pod\":\"a\"},\"values\":[[100,\"1\"],[110,\"2\"]]},"
				      "{\"metric\":{\"__name__\":\"rps\",\"pod\":\"b\"},\"values\":[[100,\"10\"],[110,\"20\"]]}"
				      "]}}");
	struct src_params sp = { .path = (char *)path, .series = "", .speed = 1 };
	struct met_params all = { 0 }, b = { .series = "pod=\"b\"" }, bad = { .series = "pod=b" };
	void *state = calloc(1, t->state_size);
	char err[600];
	assert_int_equal(t->open(state, &sp, host_table(), err, sizeof err), 0);
	struct fetched f = fetch_at(t, state, &sp, &all, T0);
	assert_true(f.v == 11); /* summed */
	f = fetch_at(t, state, &sp, &b, T0 + 10000);
	assert_true(f.v == 20); /* one series, on the same clock */
	f = fetch_at(t, state, &sp, &bad, T0);
	assert_int_equal(f.rc, SW_FETCH_ANSWER_ERROR);
	assert_non_null(strstr(f.err, "params.series: "));
	/* the source's selection, when the metric gives none */
	sp.series = "0";
	t->close(state);
	memset(state, 0, t->state_size);
	assert_int_equal(t->open(state, &sp, host_table(), err, sizeof err), 0);
	f = fetch_at(t, state, &sp, &all, T0);
	assert_true(f.v == 1);
	t->close(state);

	/* check_metric reads the file at load: errors name where they come from */
	struct sw_request req = { .metric = "m", .params = &b };
	assert_int_equal(t->check_metric(&sp, &req, err, sizeof err), 0);
	req.params = &bad;
	assert_int_equal(t->check_metric(&sp, &req, err, sizeof err), -1);
	assert_non_null(strstr(err, "params.series: "));
	char missing[700];
	snprintf(missing, sizeof missing, "%s/none.csv", tmpdir);
	sp.path = missing;
	req.params = &all;
	assert_int_equal(t->check_metric(&sp, &req, err, sizeof err), -1);
	char want[900];
	snprintf(want, sizeof want, "the source's trace: cannot read '%s': No such file or directory", missing);
	assert_string_equal(err, want);
	/* and a fetch says the same, as an answer error */
	memset(state, 0, t->state_size);
	assert_int_equal(t->open(state, &sp, host_table(), err, sizeof err), 0);
	f = fetch_at(t, state, &sp, &all, T0);
	assert_int_equal(f.rc, SW_FETCH_ANSWER_ERROR);
	assert_string_equal(f.err, want);
	t->close(state);
	sp.path = NULL;
	assert_int_equal(t->open(state, &sp, host_table(), err, sizeof err), -1);
	assert_non_null(strstr(err, "path: required"));
	free(state);
}

static void test_config(void **st)
{
	const char *path = write_file("c.csv", "0,1\n60,2\n");
	char y[2000];
	snprintf(y, sizeof y,
		 "auth: {mode: anonymous}\n"
		 "sources:\n"
		 "  good: {type: replay, path: '%s', speed: 10, loop: true, offset: 30s}\n"
		 "  nopath: {type: replay}\n"
		 "  slow: {type: replay, path: '%s', speed: 0}\n"
		 "  gone: {type: replay, path: '%s/gone.csv'}\n"
		 "metrics:\n"
		 "  - {name: a, source: good}\n"
		 "  - {name: b, source: gone}\n"
		 "  - {name: c, source: good, params: {series: '1'}}\n"
		 "  - {name: d, source: good, query: x}\n",
		 path, path, tmpdir);
	char err[300];
	struct errlist e;
	errlist_init(&e);
	cJSON *root = yamldoc_parse(y, strlen(y), err, sizeof err);
	assert_non_null(root);
	struct config c;
	assert_int_equal(config_from_tree(root, NULL, &c, &e), -1);
	cJSON_Delete(root);
	char gone[800];
	snprintf(gone, sizeof gone, "metrics[1]: the source's trace: cannot read '%s/gone.csv'", tmpdir);
	const char *want[] = {
		"sources.nopath.path: required",
		"sources.slow.speed: 0 is out of range [0.001, 1000000]",
		gone,
		"metrics[2]: params.series: ",
		"metrics[3]: query: a replay source takes params, not a query",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		bool found = false;
		for (size_t k = 0; k < e.n; k++)
			found = found || strstr(e.items[k], want[i]);
		if (!found) {
			for (size_t k = 0; k < e.n; k++)
				fprintf(stderr, "  have: %s\n", e.items[k]);
			fail_msg("missing error: %s", want[i]);
		}
	}
	for (size_t k = 0; k < e.n; k++)
		if (strstr(e.items[k], "metrics[0]") || strstr(e.items[k], "sources.good"))
			fail_msg("unexpected error: %s", e.items[k]);
	const struct src_params *g = c.sources[0].params;
	assert_true(g->speed == 10 && g->loop == 1 && g->offset_ms == 30000);
	config_release(&c);
	errlist_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clock_plain),
		cmocka_unit_test(test_clock_speed_loop_offset),
		cmocka_unit_test(test_clock_one_point_and_gaps),
		cmocka_unit_test(test_scaler_csv),
		cmocka_unit_test(test_scaler_json_series),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
