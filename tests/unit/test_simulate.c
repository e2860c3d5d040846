/*
 * test_simulate.c — the simulator's bookkeeping on small traces whose every
 * step is worked out by hand in the comments (HPA.md's arithmetic), the
 * exact under-provisioning integral, readiness with --startup, trace gaps,
 * the JSON summary's keys, determinism, and a run over a public trace.
 *
 * Conventions below: t in seconds from the trace's start; "k" is the sync
 * index (t = 15 k); target T per replica, capacity C per ready replica.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "simulate.h"

#define T0 INT64_C(1714564800)   /* 2024-05-01T12:00:00Z */

static char err[600];

/* A trace from (seconds after T0, value) pairs. */
static void mk_trace(struct trace *t, const double (*pts)[2], size_t n)
{
	char text[8192];
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(text + k, sizeof text - k, "%.3f,%.17g\n", (double)T0 + pts[i][0], pts[i][1]);
	if (trace_parse(text, k, "test", NULL, 0, t, err, sizeof err))
		fail_msg("%s", err);
}

/* An HPA with one External AverageValue (or Value) metric, no behavior. */
static void mk_spec(struct hpa_spec *s, enum hpa_target type, int64_t target_milli, int32_t min, int32_t max)
{
	hpa_spec_init(s);
	s->min_replicas = min;
	s->max_replicas = max;
	s->nmetrics = 1;
	s->metrics[0].source = HPA_SOURCE_EXTERNAL;
	s->metrics[0].target = type;
	s->metrics[0].target_milli = target_milli;
	snprintf(s->metrics[0].name, sizeof s->metrics[0].name, "m");
	char e[200];
	if (hpa_spec_validate(s, e, sizeof e))
		fail_msg("spec: %s", e);
}

static struct pipeline_cfg raw_pipe(void)
{
	struct pipeline_cfg c;
	pipeline_cfg_init(&c);
	return c;
}

/* Runs and returns the steps (caller frees). */
static struct sim_step *run(const struct trace *t, const struct pipeline_cfg *p, const struct sim_setup *s,
			    struct sim_summary *sum)
{
	size_t n = sim_step_count(t, 0);
	struct sim_step *steps = calloc(n ? n : 1, sizeof *steps);
	assert_non_null(steps);
	if (sim_run(t, p, s, steps, sum, err, sizeof err))
		fail_msg("sim_run: %s", err);
	assert_int_equal(sum->steps, n);
	return steps;
}

static void expect_replicas(const struct sim_step *st, const int32_t *want, size_t n)
{
	for (size_t k = 0; k < n; k++)
		if (st[k].replicas != want[k])
			fail_msg("step %zu (t=%llds): replicas %d, expected %d", k,
				 (long long)(st[k].t_ms / 1000 - T0), st[k].replicas, want[k]);
}

/*
 * Demand 0 for a minute, then 10 x target. T = C = 10, min 1, max 100, legacy rules.
 * k0-3 (t 0..45): usage 0 -> ceil(0/10) = 0, held at 1 by the seeded recommendation.
 * k4 (t 60): ratio 100/(10x1) = 10 -> 10, scale-up limit max(2x1, 4) = 4 -> 4.
 * k5: 100/(10x4) = 2.5 -> 10, limit 8 -> 8.  k6: 100/80 = 1.25 > 1.1 -> 10 (limit 16).
 * k7..: ratio 1, within tolerance -> 10. The trace ends at t=300: N = 21 syncs.
 * Capacity (startup 0): [60,75) 40 -> 60 short; [75,90) 80 -> 20 short; then 100 = demand.
 * under-provisioned 30 s, 60x15 + 20x15 = 1200 unit-seconds.
 */
static void test_step_up_legacy(void **state)
{
	(void)state;
	const double pts[][2] = { { 0, 0 }, { 60, 100 }, { 300, 100 } };
	struct trace t;
	struct hpa_spec spec;
	struct sim_summary sum;
	mk_trace(&t, pts, 3);
	mk_spec(&spec, HPA_TARGET_AVERAGE_VALUE, 10000, 1, 100);
	struct pipeline_cfg p = raw_pipe();
	struct sim_setup s = { .spec = &spec, .initial = 1, .has_capacity = true, .capacity = 10 };
	struct sim_step *st = run(&t, &p, &s, &sum);

	static const int32_t want[21] = { 1, 1, 1, 1, 4, 8, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10 };
	expect_replicas(st, want, 21);
	assert_int_equal(st[3].desired, 0);    /* 0 proposed; the seeded recommendation and min hold 1 */
	assert_int_equal(st[4].desired, 10);   /* the proposal before the scale-up limit */
	assert_int_equal(st[4].change, 1);
	assert_true(st[4].raw == 100 && st[4].served == 100);
	assert_true(st[4].under && st[5].under && !st[6].under);
	assert_int_equal(sum.steps, 21);
	assert_int_equal(sum.scale_events, 3);
	assert_int_equal(sum.scale_ups, 3);
	assert_int_equal(sum.scale_downs, 0);
	assert_int_equal(sum.max_replicas, 10);
	/* 4x1 + 4 + 8 + 15x10 = 166 replica-steps of 15 s */
	assert_true(sum.replica_seconds == 166 * 15);
	assert_true(sum.mean_replicas == 166.0 / 21);
	assert_true(sum.underprovisioned_seconds == 30);
	assert_true(sum.underprovisioned_unit_seconds == 1200);
	assert_true(sum.start_ms == T0 * 1000 && sum.end_ms == (T0 + 315) * 1000);
	assert_int_equal(sum.unavailable_syncs, 0);
	free(st);
	trace_release(&t);
}

/*
 * The same with --startup 30s. AverageValue divides by status.replicas (all pods, ready
 * or not), so the replica counts are the same; capacity counts ready pods only:
 * k4 (t 60): 1 -> 4, three ready at 90.  k5 (t 75): 4 -> 8, four ready at 105.
 * k6 (t 90): ready 4; 8 -> 10, two ready at 120.  ready: 1,1,4,8,10 over [60..135).
 * short: [60,75) 100-10, [75,90) 100-10, [90,105) 100-40, [105,120) 100-80 -> 60 s,
 * (90+90+60+20) x 15 = 3900 unit-seconds.
 */
static void test_startup(void **state)
{
	(void)state;
	const double pts[][2] = { { 0, 0 }, { 60, 100 }, { 300, 100 } };
	struct trace t;
	struct hpa_spec spec;
	struct sim_summary sum;
	mk_trace(&t, pts, 3);
	mk_spec(&spec, HPA_TARGET_AVERAGE_VALUE, 10000, 1, 100);
	struct pipeline_cfg p = raw_pipe();
	struct sim_setup s = { .spec = &spec, .initial = 1, .has_capacity = true, .capacity = 10, .startup_ms = 30000 };
	struct sim_step *st = run(&t, &p, &s, &sum);

	static const int32_t want[9] = { 1, 1, 1, 1, 4, 8, 10, 10, 10 };
	static const int32_t ready[9] = { 1, 1, 1, 1, 1, 1, 4, 8, 10 };
	expect_replicas(st, want, 9);
	for (size_t k = 0; k < 9; k++)
		if (st[k].ready != ready[k])
			fail_msg("step %zu: ready %d, expected %d", k, st[k].ready, ready[k]);
	assert_true(sum.underprovisioned_seconds == 60);
	assert_true(sum.underprovisioned_unit_seconds == 3900);
	assert_true(sum.replica_seconds == 166 * 15);
	free(st);

	/* A readiness time inside a step is integrated exactly: startup 20 s.
	 * Pods of t=60 ready at 80, of t=75 at 95, of t=90 at 110.
	 * short: [60,80) 90 x 20, [80,95) 100-40 x 15, [95,110) 100-80 x 15 -> 50 s, 3000. */
	s.startup_ms = 20000;
	st = run(&t, &p, &s, &sum);
	expect_replicas(st, want, 9);
	assert_int_equal(st[5].ready, 1);   /* at t=75 the first three are not ready yet */
	assert_int_equal(st[6].ready, 4);   /* at t=90 they are (since 80); the next four at 95 */
	assert_true(sum.underprovisioned_seconds == 50);
	assert_true(sum.underprovisioned_unit_seconds == 3000);
	free(st);
	trace_release(&t);
}

/*
 * Value target: the HPA multiplies the ratio by the READY pods and assumes the metric
 * falls as pods are added. Constant usage 100, target 50 (ratio 2), min 1, max 10:
 * k4: ceil(2 x 1) = 2.  k5: ceil(2 x 2) = 4.  k6: 8.  k7: 16 -> max 10.
 */
static void test_value_target(void **state)
{
	(void)state;
	const double pts[][2] = { { 0, 50 }, { 60, 100 }, { 150, 100 } };
	struct trace t;
	struct hpa_spec spec;
	struct sim_summary sum;
	mk_trace(&t, pts, 3);
	mk_spec(&spec, HPA_TARGET_VALUE, 50000, 1, 10);
	struct pipeline_cfg p = raw_pipe();
	struct sim_setup s = { .spec = &spec, .initial = 1 };
	struct sim_step *st = run(&t, &p, &s, &sum);
	static const int32_t want[11] = { 1, 1, 1, 1, 2, 4, 8, 10, 10, 10, 10 };
	expect_replicas(st, want, 11);
	assert_int_equal(sum.scale_ups, 4);
	assert_false(sum.has_capacity);
	assert_true(sum.underprovisioned_seconds == 0);
	free(st);

	/* with startup 30 s the ready count lags and so does the Value rule:
	 * k4: ready 1 -> 2 (ready at 90). k5: ready 1 -> ceil(2x1) = 2, no change.
	 * k6 (t 90): ready 2 -> 4 (ready at 120). k7: ready 2 -> 4. k8 (t 120): ready 4 -> 8.
	 * k9: ready 4 -> 8. k10 (t 150): ready 8 -> 16 -> 10. */
	s.startup_ms = 30000;
	st = run(&t, &p, &s, &sum);
	static const int32_t want2[11] = { 1, 1, 1, 1, 2, 2, 4, 4, 8, 8, 10 };
	expect_replicas(st, want2, 11);
	free(st);
	trace_release(&t);
}

/*
 * Scale-down under the legacy 5-minute window: demand 100 (T = 10, start at 10) until
 * t=600, then 10. The last recommendation of 10 is stored at t=585; it leaves the window
 * when it is 300 s old (inside iff age < 300), at t=885 = k59: 10 -> 1 there.
 * The trace ends at 1200: N = 81; 59 x 10 + 22 x 1 = 612 replica-steps.
 */
static void test_scale_down_window(void **state)
{
	(void)state;
	const double pts[][2] = { { 0, 100 }, { 600, 10 }, { 1200, 10 } };
	struct trace t;
	struct hpa_spec spec;
	struct sim_summary sum;
	mk_trace(&t, pts, 3);
	mk_spec(&spec, HPA_TARGET_AVERAGE_VALUE, 10000, 1, 20);
	struct pipeline_cfg p = raw_pipe();
	struct sim_setup s = { .spec = &spec, .initial = 10, .has_capacity = true, .capacity = 10 };
	struct sim_step *st = run(&t, &p, &s, &sum);
	assert_int_equal(sum.steps, 81);
	assert_int_equal(st[58].replicas, 10);
	assert_int_equal(st[58].desired, 1);
	assert_int_equal(st[59].replicas, 1);
	assert_int_equal(st[59].change, -1);
	assert_int_equal(sum.scale_events, 1);
	assert_int_equal(sum.scale_downs, 1);
	assert_true(sum.replica_seconds == 612 * 15);
	assert_true(sum.underprovisioned_seconds == 0);
	free(st);
	trace_release(&t);
}

/*
 * behavior.scaleUp: one policy, Pods 2 per 60 s (stabilisation 0). From 1 toward 10:
 * t60: start 1 -> limit 3 -> 3 (event +2).  t75..105: the event is younger than 60 s:
 * start 3-2 = 1, limit 3: held.  t120: the event is 60 s old (outside) -> 5. Then 7 at
 * 180, 9 at 240, and 10 at 300 (11 allowed). Trace to 400 s: N = 27.
 * 4x1 + 4x3 + 4x5 + 4x7 + 4x9 + 7x10 = 170 replica-steps.
 */
static void test_behavior_policy(void **state)
{
	(void)state;
	const char *manifest =
		"{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"spec\":{"
		"\"minReplicas\":1,\"maxReplicas\":50,"
		"\"metrics\":[{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"m\"},"
		"\"target\":{\"type\":\"AverageValue\",\"averageValue\":\"10\"}}}],"
		"\"behavior\":{\"scaleUp\":{\"stabilizationWindowSeconds\":0,"
		"\"policies\":[{\"type\":\"Pods\",\"value\":2,\"periodSeconds\":60}]}}}}";
	cJSON *obj = cJSON_Parse(manifest);
	assert_non_null(obj);
	struct hpa_spec spec;
	if (hpa_spec_from_manifest(obj, NULL, &spec, err, sizeof err))
		fail_msg("%s", err);
	cJSON_Delete(obj);

	const double pts[][2] = { { 0, 0 }, { 60, 100 }, { 400, 100 } };
	struct trace t;
	struct sim_summary sum;
	mk_trace(&t, pts, 3);
	struct pipeline_cfg p = raw_pipe();
	struct sim_setup s = { .spec = &spec, .initial = 1, .has_capacity = true, .capacity = 10 };
	struct sim_step *st = run(&t, &p, &s, &sum);
	static const int32_t want[27] = { 1, 1, 1, 1, 3, 3, 3, 3, 5, 5, 5, 5, 7, 7, 7, 7, 9, 9, 9, 9,
					  10, 10, 10, 10, 10, 10, 10 };
	expect_replicas(st, want, 27);
	assert_int_equal(sum.scale_ups, 5);
	assert_true(sum.replica_seconds == 170 * 15);
	free(st);
	trace_release(&t);
}

/*
 * The pipeline runs between trace and HPA: mean over 60 s, polled every 15 s. A poll's
 * sample is stamped with the poll time, so at t=60 the window holds the polls at
 * 15, 30, 45, 60 (the one at 0 is 60 s old: outside): (0+0+0+100)/4 = 25; then 50, 75, 100.
 * HPA (T 10, 1..100): t60 ratio 25/10 -> 3; t75 50/30 -> 5; t90 75/50 = 1.5 -> 8;
 * t105 100/80 = 1.25 -> 10.
 */
static void test_pipeline_between(void **state)
{
	(void)state;
	const double pts[][2] = { { 0, 0 }, { 60, 100 }, { 180, 100 } };
	struct trace t;
	struct hpa_spec spec;
	struct sim_summary sum;
	mk_trace(&t, pts, 3);
	mk_spec(&spec, HPA_TARGET_AVERAGE_VALUE, 10000, 1, 100);
	struct pipeline_cfg p = raw_pipe();
	p.method = SMOOTH_MEAN;
	p.window_ms = 60000;
	struct sim_setup s = { .spec = &spec, .initial = 1, .has_capacity = true, .capacity = 10 };
	struct sim_step *st = run(&t, &p, &s, &sum);
	assert_true(st[3].served == 0);
	assert_true(st[4].served == 25);
	assert_true(st[5].served == 50);
	assert_true(st[6].served == 75);
	assert_true(st[7].served == 100);
	assert_true(st[7].raw == 100);
	static const int32_t want[10] = { 1, 1, 1, 1, 3, 5, 8, 10, 10, 10 };
	expect_replicas(st, want, 10);
	free(st);

	/* a poll interval of 30 s: the syncs at odd multiples of 15 s see the last poll */
	p.interval_ms = 30000;
	st = run(&t, &p, &s, &sum);
	/* polls at 0,30,60,90: at t=60 the window has 30 (0) and 60 (100): 50 */
	assert_true(st[4].served == 50);
	assert_true(st[5].served == 50);
	assert_true(st[6].served == 100);
	free(st);
	trace_release(&t);
}

/*
 * Demand between syncs counts: a 1 s trace with 20 on [3, 8) and capacity 10 (max 1
 * replica) is short for 5 s, 50 unit-seconds, though no sync sees it.
 */
static void test_integral_between_syncs(void **state)
{
	(void)state;
	const double pts[][2] = { { 0, 0 }, { 3, 20 }, { 8, 0 }, { 30, 0 } };
	struct trace t;
	struct hpa_spec spec;
	struct sim_summary sum;
	mk_trace(&t, pts, 4);
	mk_spec(&spec, HPA_TARGET_AVERAGE_VALUE, 10000, 1, 1);
	struct pipeline_cfg p = raw_pipe();
	struct sim_setup s = { .spec = &spec, .initial = 1, .has_capacity = true, .capacity = 10 };
	struct sim_step *st = run(&t, &p, &s, &sum);
	assert_int_equal(sum.steps, 3);
	assert_false(st[0].under || st[1].under || st[2].under);
	assert_true(sum.underprovisioned_seconds == 5);
	assert_true(sum.underprovisioned_unit_seconds == 50);
	free(st);
	trace_release(&t);
}

/*
 * A gap: points every 60 s to t=300, then t=1200. The default lookback is 5 min (the
 * median step is 60 s), so polls from t=600 to 1185 find no sample: 40 failed polls;
 * with onError `error` the HPA's fetch fails at those 40 syncs and it keeps its count.
 * With onError.maxAge 10m the stale value is served instead.
 */
static void test_gap(void **state)
{
	(void)state;
	double pts[7][2];
	for (int i = 0; i < 6; i++) {
		pts[i][0] = 60.0 * i;
		pts[i][1] = 30;
	}
	pts[6][0] = 1200;
	pts[6][1] = 5;
	struct trace t;
	struct hpa_spec spec;
	struct sim_summary sum;
	mk_trace(&t, (const double (*)[2])pts, 7);
	assert_true(sim_default_lookback(&t) == 300000);
	mk_spec(&spec, HPA_TARGET_AVERAGE_VALUE, 10000, 1, 10);
	struct pipeline_cfg p = raw_pipe();
	struct sim_setup s = { .spec = &spec, .initial = 3, .has_capacity = true, .capacity = 10 };
	struct sim_step *st = run(&t, &p, &s, &sum);
	assert_int_equal(sum.steps, 81);
	assert_int_equal(sum.failed_polls, 40);
	assert_int_equal(sum.unavailable_syncs, 40);
	assert_int_equal(sum.polls, 81);
	assert_true(sum.lookback_ms == 300000);
	assert_true(isnan(st[40].served));
	assert_int_equal(st[40].desired, -1);
	assert_int_equal(st[40].replicas, 3);
	assert_true(st[39].served == 30);
	assert_true(st[80].served == 5);
	/* 30 / 3 = T: within tolerance; at t=1200 usage 5 -> 1, and no recommendation was
	 * stored while the fetch failed, so the last (3, t=585) is out of the window: 3 -> 1 */
	assert_int_equal(st[79].replicas, 3);
	assert_int_equal(st[80].replicas, 1);
	assert_int_equal(sum.scale_events, 1);
	assert_int_equal(sum.scale_downs, 1);
	free(st);

	p.max_age_ms = 660000;   /* 10m would expire at t=1185: 1185 - 585 is not < 600 */
	st = run(&t, &p, &s, &sum);
	assert_int_equal(sum.failed_polls, 40);
	assert_int_equal(sum.unavailable_syncs, 0);
	assert_true(st[40].served == 30);
	free(st);

	/* an explicit lookback of 20 min bridges the gap */
	p.max_age_ms = 0;
	s.lookback_ms = 1200000;
	st = run(&t, &p, &s, &sum);
	assert_int_equal(sum.failed_polls, 0);
	free(st);
	trace_release(&t);
}

/* The summary JSON: an array, one object per metric, exactly the keys in order. */
static void test_summary_json(void **state)
{
	(void)state;
	static const char *const keys[] = { "metric", "steps", "scale_events", "scale_ups", "scale_downs",
					    "replica_seconds", "mean_replicas", "max_replicas",
					    "underprovisioned_seconds", "underprovisioned_unit_seconds" };
	struct sim_summary s[2];
	memset(s, 0, sizeof s);
	s[0] = (struct sim_summary){ .steps = 21, .scale_events = 3, .scale_ups = 3, .replica_seconds = 2490,
				     .mean_replicas = 166.0 / 21, .max_replicas = 10, .has_capacity = true,
				     .underprovisioned_seconds = 30, .underprovisioned_unit_seconds = 1200.5 };
	s[1] = (struct sim_summary){ .steps = 21, .scale_events = 1, .scale_downs = 1, .replica_seconds = 15,
				     .mean_replicas = 0.1, .max_replicas = 1 };
	const char *names[2] = { "raw", "with \"quotes\" <&>" };
	struct buf b;
	buf_init(&b, 0);
	sim_summary_json(&b, names, s, 2);
	assert_false(b.failed);
	cJSON *root = cJSON_ParseWithLength(b.data, b.len);
	assert_non_null(root);
	assert_true(cJSON_IsArray(root));
	assert_int_equal(cJSON_GetArraySize(root), 2);
	for (int i = 0; i < 2; i++) {
		const cJSON *o = cJSON_GetArrayItem(root, i), *it;
		size_t k = 0;
		cJSON_ArrayForEach(it, o) {
			assert_true(k < 10);
			assert_string_equal(it->string, keys[k]);
			k++;
		}
		assert_int_equal(k, 10);
	}
	const cJSON *a = cJSON_GetArrayItem(root, 0), *z = cJSON_GetArrayItem(root, 1);
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(a, "metric")->valuestring, "raw");
	assert_string_equal(cJSON_GetObjectItemCaseSensitive(z, "metric")->valuestring, "with \"quotes\" <&>");
	assert_true(cJSON_GetObjectItemCaseSensitive(a, "mean_replicas")->valuedouble == 166.0 / 21);
	assert_true(cJSON_GetObjectItemCaseSensitive(a, "underprovisioned_unit_seconds")->valuedouble == 1200.5);
	assert_true(cJSON_GetObjectItemCaseSensitive(a, "replica_seconds")->valuedouble == 2490);
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(z, "underprovisioned_seconds")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(z, "underprovisioned_unit_seconds")));
	assert_non_null(strstr(b.data, "\"replica_seconds\":2490,"));
	assert_non_null(strstr(b.data, "\"mean_replicas\":0.1,"));
	cJSON_Delete(root);
	buf_release(&b);
}

/* Refusals, and the helpers. */
static void test_setup_checks(void **state)
{
	(void)state;
	const double pts[][2] = { { 0, 1 }, { 15, 1 } };
	struct trace t, empty;
	struct hpa_spec spec;
	struct sim_summary sum;
	mk_trace(&t, pts, 2);
	trace_init(&empty);
	mk_spec(&spec, HPA_TARGET_AVERAGE_VALUE, 1000, 1, 5);
	struct pipeline_cfg p = raw_pipe();
	struct sim_setup s = { .spec = &spec, .initial = 1 };

	assert_int_equal(sim_run(&empty, &p, &s, NULL, &sum, err, sizeof err), -1);
	assert_non_null(strstr(err, "empty"));
	s.initial = -1;
	assert_int_equal(sim_run(&t, &p, &s, NULL, &sum, err, sizeof err), -1);
	s.initial = 1;
	s.has_capacity = true;
	s.capacity = 0;
	assert_int_equal(sim_run(&t, &p, &s, NULL, &sum, err, sizeof err), -1);
	s.has_capacity = false;
	p.method = SMOOTH_EMA;   /* no halfLife */
	assert_int_equal(sim_run(&t, &p, &s, NULL, &sum, err, sizeof err), -1);
	assert_non_null(strstr(err, "halfLife"));
	p = raw_pipe();
	spec.nmetrics = 2;
	spec.metrics[1] = spec.metrics[0];
	assert_int_equal(sim_run(&t, &p, &s, NULL, &sum, err, sizeof err), -1);
	assert_non_null(strstr(err, "exactly one External metric"));
	spec.nmetrics = 1;
	assert_int_equal(sim_run(&t, &p, &s, NULL, &sum, err, sizeof err), 0);
	assert_int_equal(sum.steps, 2);

	assert_int_equal(sim_step_count(&empty, 0), 0);
	assert_int_equal(sim_step_count(&t, 0), 2);
	assert_int_equal(sim_step_count(&t, 16000), 1);
	trace_release(&t);

	char d[256];
	struct pipeline_cfg c = raw_pipe();
	c.method = SMOOTH_QUANTILE;
	c.q = 0.9;
	c.window_ms = 300000;
	c.down_ms = 300000;
	c.hysteresis = 0.1;
	sim_describe_pipeline(&c, d, sizeof d);
	assert_string_equal(d, "quantile 0.9 over 5m0s; stabilization up 0s down 5m0s; hysteresis 0.1; every 15s");
}

/* ---- a public trace ------------------------------------------------------------------ */

/*
 * The NASA trace (1 min steps, 1995-07-01 04:00 to 07-28 17:31 UTC) with a smoothed
 * pipeline: 158,765 syncs; the bookkeeping must add up, and two runs must agree bit
 * for bit.
 */
static void test_public_trace(void **state)
{
	(void)state;
	const char *dir = getenv("SW_TESTDATA");
	if (!dir || !*dir)
		fail_msg("SW_TESTDATA is not set: run through make, or point it at ../shared/testdata");
	char path[1024];
	snprintf(path, sizeof path, "%s/traces/nasa_http_1995_jul_1m.csv", dir);
	struct trace t;
	if (trace_load(path, NULL, &t, err, sizeof err))
		fail_msg("%s", err);
	struct hpa_spec spec;
	mk_spec(&spec, HPA_TARGET_AVERAGE_VALUE, 40000, 1, 20);
	struct pipeline_cfg p = raw_pipe();
	p.method = SMOOTH_MEDIAN;
	p.window_ms = 300000;
	p.down_ms = 300000;
	struct sim_setup s = { .spec = &spec, .initial = 1, .has_capacity = true, .capacity = 40, .startup_ms = 45000 };
	struct sim_summary a, b;
	struct sim_step *sa = run(&t, &p, &s, &a);
	struct sim_step *sb = run(&t, &p, &s, &b);
	assert_int_equal(a.steps, 158765);
	assert_memory_equal(&a, &b, sizeof a);
	assert_memory_equal(sa, sb, a.steps * sizeof *sa);

	int64_t sum = 0;
	size_t ups = 0, downs = 0;
	int32_t prev = 1, mx = 0;
	double under = 0;
	for (size_t k = 0; k < a.steps; k++) {
		sum += sa[k].replicas;
		ups += sa[k].replicas > prev;
		downs += sa[k].replicas < prev;
		assert_int_equal(sa[k].change, (sa[k].replicas > prev) - (sa[k].replicas < prev));
		assert_true(sa[k].replicas >= 1 && sa[k].replicas <= 20);
		assert_true(sa[k].ready <= sa[k].replicas);
		if (sa[k].replicas > mx)
			mx = sa[k].replicas;
		if (sa[k].under)
			under += 15;
		prev = sa[k].replicas;
	}
	assert_int_equal(ups, a.scale_ups);
	assert_int_equal(downs, a.scale_downs);
	assert_int_equal(a.scale_events, ups + downs);
	assert_int_equal(mx, a.max_replicas);
	assert_true(a.replica_seconds == (double)sum * 15);
	assert_true(fabs(a.mean_replicas * (double)a.steps * 15 - a.replica_seconds) < 1e-6 * a.replica_seconds);
	/* a 1 min trace changes only on the sync grid: the exact measure is the sum over steps */
	assert_true(a.underprovisioned_seconds == under);
	assert_true(a.scale_events > 0 && a.underprovisioned_seconds > 0);
	free(sa);
	free(sb);
	trace_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_up_legacy),
		cmocka_unit_test(test_startup),
		cmocka_unit_test(test_value_target),
		cmocka_unit_test(test_scale_down_window),
		cmocka_unit_test(test_behavior_policy),
		cmocka_unit_test(test_pipeline_between),
		cmocka_unit_test(test_integral_between_syncs),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_summary_json),
		cmocka_unit_test(test_setup_checks),
		cmocka_unit_test(test_public_trace),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
