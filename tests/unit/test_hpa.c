/*
 * test_hpa.c — the HPA model (adapter/hpa.h) beyond the public vectors: ties at
 * the tolerance, int64/int32 saturation, Go's wrap-around and amd64 conversions,
 * Disabled selectPolicy, scale from zero, records exactly at a window or period
 * boundary, the stateful reconcile over several passes, the manifest reader, and
 * the `scalewise hpa` command.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hpa.h"
#include "hpa_cli.h"

#define NOW INT64_C(1000000000)
#define S(x) ((int64_t)(x) * 1000)   /* seconds → ms */

static const struct hpa_tolerance TOL10 = { 0.1, 0.1 };

/* ======================================================================== */
/* Names                                                                    */
/* ======================================================================== */

static void test_names_round_trip(void **state)
{
	(void)state;
	for (int r = 1; r < HPA_REASON_COUNT; r++) {
		enum hpa_reason back;
		const char *name = hpa_reason_name((enum hpa_reason)r);
		assert_true(strlen(name) > 0);
		assert_int_equal(hpa_reason_parse(name, &back), 0);
		assert_int_equal(back, r);
	}
	for (int t = 0; t < HPA_COND_COUNT; t++) {
		enum hpa_cond_type back;
		assert_int_equal(hpa_cond_type_parse(hpa_cond_type_name((enum hpa_cond_type)t), &back), 0);
		assert_int_equal(back, t);
	}
	enum hpa_reason r;
	assert_int_equal(hpa_reason_parse("scaleuplimit", &r), -1);
	assert_int_equal(hpa_reason_parse("", &r), -1);
	assert_int_equal(hpa_reason_parse(NULL, &r), -1);
	assert_string_equal(hpa_reason_name(HPA_REASON_SCALE_UP_LIMIT), "ScaleUpLimit");
	assert_string_equal(hpa_reason_name((enum hpa_reason)999), "?");
	assert_string_equal(hpa_cond_type_name(HPA_COND_SCALING_LIMITED), "ScalingLimited");
}

/* ======================================================================== */
/* Metric rules                                                             */
/* ======================================================================== */

static void test_tolerance_ties_are_within(void **state)
{
	struct hpa_metric_eval e;
	int64_t up[] = { 11000 }, down[] = { 9000 }, above[] = { 11001 }, below[] = { 8999 };
	(void)state;

	assert_true(hpa_tolerance_within(TOL10, 1.1));
	assert_true(hpa_tolerance_within(TOL10, 0.9));
	assert_false(hpa_tolerance_within(TOL10, NAN));
	assert_false(hpa_tolerance_within(TOL10, INFINITY));

	/* ratio 11000/10000 == 1 + 0.1 exactly in doubles: kept */
	assert_int_equal(hpa_external_value(10, 10, 10, up, 1, 10000, TOL10, &e), 0);
	assert_true(e.within);
	assert_int_equal(e.rule, HPA_RULE_WITHIN_TOLERANCE);
	assert_int_equal(e.replicas, 10);
	assert_int_equal(hpa_external_value(10, 10, 10, down, 1, 10000, TOL10, &e), 0);
	assert_true(e.within);
	assert_int_equal(e.replicas, 10);
	/* just outside on both sides */
	assert_int_equal(hpa_external_value(10, 10, 10, above, 1, 10000, TOL10, &e), 0);
	assert_false(e.within);
	assert_int_equal(e.replicas, 12);   /* ceil(1.1001 * 10) */
	assert_int_equal(hpa_external_value(10, 10, 10, below, 1, 10000, TOL10, &e), 0);
	assert_int_equal(e.replicas, 9);    /* ceil(0.8999 * 10) */

	/* AverageValue: 3 pods, ratio 33000/(10000*3) = 1.1 */
	int64_t avg[] = { 33000 };
	assert_int_equal(hpa_external_average_value(3, avg, 1, 10000, TOL10, &e), 0);
	assert_true(e.within);
	assert_int_equal(e.replicas, 3);
	assert_int_equal(e.usage_milli, 11000);
}

static void test_tolerance_asymmetric(void **state)
{
	struct hpa_tolerance t = { 0.2, 0.01 };
	struct hpa_metric_eval e;
	int64_t v1[] = { 10200 }, v2[] = { 8100 };
	(void)state;

	assert_int_equal(hpa_external_value(4, 4, 4, v1, 1, 10000, t, &e), 0);
	assert_int_equal(e.replicas, 5);    /* 1.02 > 1.01: ceil(4.08) */
	assert_int_equal(hpa_external_value(4, 4, 4, v2, 1, 10000, t, &e), 0);
	assert_int_equal(e.replicas, 4);    /* 0.81 >= 0.8: within */
}

static void test_value_sum_saturates_at_int64_max(void **state)
{
	struct hpa_metric_eval e;
	int64_t a[] = { INT64_MAX, 1 }, b[] = { 1, INT64_MAX }, c[] = { INT64_MAX - 5, 10, -100 };
	int64_t d[] = { -5, 3 }, e2[] = { INT64_MIN, -1 };
	(void)state;

	assert_int_equal(hpa_external_value(1, 1, 1, a, 2, 1000, TOL10, &e), 0);
	assert_true(e.usage_milli == INT64_MAX);
	assert_int_equal(hpa_external_value(1, 1, 1, b, 2, 1000, TOL10, &e), 0);
	assert_true(e.usage_milli == INT64_MAX);
	/* the sum stops at the saturation: the later -100 is not added */
	assert_int_equal(hpa_external_value(1, 1, 1, c, 3, 1000, TOL10, &e), 0);
	assert_true(e.usage_milli == INT64_MAX);
	assert_int_equal(e.replicas, INT32_MAX);
	assert_true(e.capped);
	/* negatives are summed as Go sums them */
	assert_int_equal(hpa_external_value(1, 1, 1, d, 2, 1000, TOL10, &e), 0);
	assert_true(e.usage_milli == -2);
	assert_int_equal(e.replicas, 0);    /* ceil(-0.002) */
	/* and wrap like Go's int64 */
	assert_int_equal(hpa_external_value(1, 1, 1, e2, 2, 1000, TOL10, &e), 0);
	assert_true(e.usage_milli == INT64_MAX);
}

static void test_value_replicas_saturate_at_int32_max(void **state)
{
	struct hpa_metric_eval e;
	int64_t v[] = { INT64_C(2147483647000) }, w[] = { INT64_C(2147483648000) };
	(void)state;

	/* exactly MaxInt32: not above it, so int32(ceil) */
	assert_int_equal(hpa_external_value(1, 1, 1, v, 1, 1000, TOL10, &e), 0);
	assert_int_equal(e.replicas, INT32_MAX);
	assert_false(e.capped);
	assert_int_equal(hpa_external_value(1, 1, 1, w, 1, 1000, TOL10, &e), 0);
	assert_int_equal(e.replicas, INT32_MAX);
	assert_true(e.capped);
	/* scale from zero has no cap: Go's int32() of an out-of-range float (amd64) */
	assert_int_equal(hpa_external_value(0, 0, 0, w, 1, 1000, TOL10, &e), 0);
	assert_int_equal(e.rule, HPA_RULE_FROM_ZERO);
	assert_int_equal(e.replicas, INT32_MIN);
}

static void test_value_scale_from_zero(void **state)
{
	struct hpa_metric_eval e;
	int64_t one[] = { 1 }, zero[] = { 0 }, exact[] = { 1000 }, five[] = { 4001 };
	(void)state;

	assert_int_equal(hpa_external_value(0, 0, 0, one, 1, 1000, TOL10, &e), 0);
	assert_int_equal(e.replicas, 1);
	assert_false(e.tolerance_tested);
	assert_int_equal(hpa_external_value(0, 0, 0, zero, 1, 1000, TOL10, &e), 0);
	assert_int_equal(e.replicas, 0);
	/* ratio 1 with 0 replicas: no tolerance, gives 1 (not "keep 0") */
	assert_int_equal(hpa_external_value(0, 0, 0, exact, 1, 1000, TOL10, &e), 0);
	assert_int_equal(e.replicas, 1);
	/* ready pods do not matter */
	assert_int_equal(hpa_external_value(0, 7, 3, five, 1, 1000, TOL10, &e), 0);
	assert_int_equal(e.replicas, 5);
}

static void test_value_errors_and_readiness(void **state)
{
	struct hpa_metric_eval e;
	int64_t v[] = { 50000 }, within[] = { 10000 };
	(void)state;

	assert_int_equal(hpa_external_value(3, 3, 3, v, 0, 1000, TOL10, &e), -1);
	assert_non_null(e.error);
	assert_int_equal(hpa_external_value(3, 3, 3, v, 1, 0, TOL10, &e), -1);
	assert_int_equal(hpa_external_value(3, 3, 3, v, 1, -5, TOL10, &e), -1);
	/* no pods listed: an error only when pods are needed (outside tolerance) */
	assert_int_equal(hpa_external_value(10, 0, 0, v, 1, 10000, TOL10, &e), -1);
	assert_int_equal(hpa_external_value(10, 0, 0, within, 1, 10000, TOL10, &e), 0);
	assert_int_equal(e.replicas, 10);
	/* pods listed, none ready: 0 */
	assert_int_equal(hpa_external_value(10, 10, 0, v, 1, 10000, TOL10, &e), 0);
	assert_int_equal(e.replicas, 0);
	/* Value multiplies by ready pods, not by current */
	assert_int_equal(hpa_external_value(10, 10, 2, v, 1, 10000, TOL10, &e), 0);
	assert_int_equal(e.replicas, 10);   /* ceil(5 * 2) */
	assert_int_equal(e.basis, 2);
}

static void test_average_value_extremes(void **state)
{
	struct hpa_metric_eval e;
	int64_t wrap[] = { INT64_MAX, 1 }, neg[] = { -1 }, big[] = { INT64_MAX };
	int64_t many[] = { 1000, 2000, 3000 }, some[] = { 7000 };
	(void)state;

	/* a sum that goes negative becomes MaxInt64; so does a negative value */
	assert_int_equal(hpa_external_average_value(2, wrap, 2, 1000, TOL10, &e), 0);
	assert_true(e.sum_milli == INT64_MAX);
	assert_true(e.usage_milli == INT64_MAX);
	assert_int_equal(e.replicas, INT32_MAX);
	assert_true(e.capped);
	assert_int_equal(hpa_external_average_value(2, neg, 1, 1000, TOL10, &e), 0);
	assert_true(e.sum_milli == INT64_MAX);
	assert_int_equal(hpa_external_average_value(2, big, 1, INT64_MAX, TOL10, &e), 0);
	assert_int_equal(e.replicas, 1);
	/* sums every series; per-pod usage rounds up */
	assert_int_equal(hpa_external_average_value(4, many, 3, 1000, TOL10, &e), 0);
	assert_true(e.sum_milli == 6000);
	assert_int_equal(e.replicas, 6);
	assert_true(e.usage_milli == 1500);
	/* status replicas 0: ratio +Inf, never within; the status value is amd64's int64(+Inf) */
	assert_int_equal(hpa_external_average_value(0, some, 1, 1000, TOL10, &e), 0);
	assert_int_equal(e.replicas, 7);
	assert_true(e.usage_milli == INT64_MIN);
	assert_int_equal(hpa_external_average_value(3, some, 0, 1000, TOL10, &e), -1);
	assert_int_equal(hpa_external_average_value(3, some, 1, 0, TOL10, &e), -1);
	/* Object per-pod: no cap */
	assert_int_equal(hpa_object_average_value(1, INT64_C(5000000000000), 1, TOL10, &e), 0);
	assert_int_equal(e.replicas, INT32_MIN);
	assert_false(e.capped);
}

/* ======================================================================== */
/* Legacy normalisation                                                     */
/* ======================================================================== */

static void test_legacy_normalize(void **state)
{
	enum hpa_reason r;
	int32_t lim;
	(void)state;

	assert_int_equal(hpa_legacy_normalize(3, 1, 2, 8, 2.0, 4.0, &r, &lim), 2);
	assert_int_equal(r, HPA_REASON_TOO_FEW_REPLICAS);
	assert_int_equal(hpa_legacy_normalize(3, 100, 1, 8, 2.0, 4.0, &r, &lim), 6);
	assert_int_equal(r, HPA_REASON_SCALE_UP_LIMIT);
	assert_int_equal(lim, 6);
	assert_int_equal(hpa_legacy_normalize(3, 100, 1, 5, 2.0, 4.0, &r, &lim), 5);
	assert_int_equal(r, HPA_REASON_TOO_MANY_REPLICAS);
	/* the limit equals max: TooManyReplicas (max is not greater than the limit) */
	assert_int_equal(hpa_legacy_normalize(3, 100, 1, 6, 2.0, 4.0, &r, &lim), 6);
	assert_int_equal(r, HPA_REASON_TOO_MANY_REPLICAS);
	/* from zero: max(0, 4) */
	assert_int_equal(hpa_legacy_normalize(0, 10, 0, 100, 2.0, 4.0, &r, &lim), 4);
	assert_int_equal(r, HPA_REASON_SCALE_UP_LIMIT);
	assert_int_equal(hpa_legacy_normalize(4, 4, 1, 10, 2.0, 4.0, &r, NULL), 4);
	assert_int_equal(r, HPA_REASON_DESIRED_WITHIN_RANGE);
	/* int32(2 * 1.5e9) is out of range: amd64 gives MinInt32 and Go then caps at it */
	assert_int_equal(hpa_legacy_normalize(1500000000, 1600000000, 1, 2000000000, 2.0, 4.0, &r, &lim),
			 INT32_MIN);
	assert_int_equal(lim, INT32_MIN);
	assert_int_equal(r, HPA_REASON_SCALE_UP_LIMIT);
}

static void test_legacy_stabilize_window_boundary(void **state)
{
	struct hpa_recs h;
	struct hpa_stabilization d;
	int32_t s;
	(void)state;

	hpa_recs_init(&h);
	assert_int_equal(hpa_recs_push(&h, 9, NOW - S(300)), 0);        /* exactly W old: outside */
	assert_int_equal(hpa_recs_push(&h, 7, NOW - S(300) + 1), 0);    /* 1 ms younger: inside */
	assert_int_equal(hpa_legacy_stabilize(&h, 300, 3, NOW, &s, &d), 0);
	assert_int_equal(s, 7);
	assert_int_equal(d.held_by, HPA_WINDOW_LEGACY);
	assert_int_equal(d.held_at, 7);
	assert_true(d.held_age_ms == S(300) - 1);
	assert_true(d.replaced);
	assert_int_equal(d.slot, 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.v[0].replicas, 3);
	assert_true(h.v[0].at_ms == NOW);

	/* higher desired wins; nothing old (the 7 is 299.999 s old): appended */
	assert_int_equal(hpa_legacy_stabilize(&h, 300, 8, NOW, &s, &d), 0);
	assert_int_equal(s, 8);
	assert_int_equal(d.held_by, HPA_WINDOW_NONE);
	assert_false(d.replaced);
	assert_int_equal(h.n, 3);
	hpa_recs_release(&h);
}

/* ======================================================================== */
/* Behavior stabilisation                                                   */
/* ======================================================================== */

static void test_stabilize_windows(void **state)
{
	struct hpa_recs h;
	struct hpa_stabilization d;
	enum hpa_reason why;
	int32_t s;
	(void)state;

	hpa_recs_init(&h);
	/* a record of age 0 is outside a 0 s window: window 0 never holds */
	hpa_recs_push(&h, 1, NOW);
	assert_int_equal(hpa_stabilize(&h, 1, 7, 0, 0, NOW, &s, &why, &d), 0);
	assert_int_equal(s, 7);
	assert_int_equal(d.held_by, HPA_WINDOW_NONE);
	assert_true(d.replaced);   /* older than both (0 s) windows */
	assert_int_equal(h.n, 1);
	hpa_recs_release(&h);

	/* scale-up held by the lowest recommendation of the up window */
	hpa_recs_init(&h);
	hpa_recs_push(&h, 4, NOW - S(120));
	hpa_recs_push(&h, 5, NOW - S(60));
	assert_int_equal(hpa_stabilize(&h, 1, 7, 300, 0, NOW, &s, &why, &d), 0);
	assert_int_equal(s, 4);
	assert_int_equal(why, HPA_REASON_SCALE_UP_STABILIZED);
	assert_int_equal(d.held_by, HPA_WINDOW_UP);
	assert_true(d.held_age_ms == S(120));
	assert_int_equal(d.up_low, 4);
	assert_int_equal(h.n, 3);
	assert_int_equal(h.v[2].replicas, 7);   /* the unstabilised value is stored */

	/* the 120 s record is exactly at a 120 s boundary: outside, so 5 holds */
	assert_int_equal(hpa_stabilize(&h, 1, 7, 120, 0, NOW, &s, &why, &d), 0);
	assert_int_equal(s, 5);
	hpa_recs_release(&h);

	/* up_low below current: held at current */
	hpa_recs_init(&h);
	hpa_recs_push(&h, 2, NOW - S(10));
	assert_int_equal(hpa_stabilize(&h, 5, 9, 60, 60, NOW, &s, &why, &d), 0);
	assert_int_equal(s, 5);
	assert_int_equal(d.held_by, HPA_WINDOW_UP);
	assert_int_equal(d.held_at, 5);
	/* scale down held by the highest of the down window */
	hpa_recs_push(&h, 8, NOW - S(10));
	assert_int_equal(hpa_stabilize(&h, 10, 3, 0, 60, NOW, &s, &why, &d), 0);
	assert_int_equal(s, 9);     /* the 9 stored just before (age 0 < 60) */
	assert_int_equal(why, HPA_REASON_SCALE_DOWN_STABILIZED);
	assert_int_equal(d.held_by, HPA_WINDOW_DOWN);
	hpa_recs_release(&h);
}

static void test_stabilize_reuses_last_old_slot(void **state)
{
	struct hpa_recs h;
	struct hpa_stabilization d;
	int32_t s;
	(void)state;

	hpa_recs_init(&h);
	hpa_recs_push(&h, 10, NOW - S(600));
	hpa_recs_push(&h, 4, NOW - S(60));
	hpa_recs_push(&h, 11, NOW - S(700));
	hpa_recs_push(&h, 5, NOW - S(120));
	/* old in both windows (up 0, down 180): slots 0 and 2; the last (2) is reused */
	assert_int_equal(hpa_stabilize(&h, 100, 3, 0, 180, NOW, &s, NULL, &d), 0);
	assert_int_equal(s, 5);
	assert_int_equal(d.slot, 2);
	assert_int_equal(h.n, 4);
	assert_int_equal(h.v[2].replicas, 3);
	assert_int_equal(h.v[0].replicas, 10);
	hpa_recs_release(&h);
}

/* ======================================================================== */
/* Rules, limits and events                                                 */
/* ======================================================================== */

static struct hpa_rules rules_of(enum hpa_select sel, size_t n, const struct hpa_policy *p)
{
	struct hpa_rules r;
	hpa_rules_init(&r);
	r.has_window = r.has_select = r.has_policies = true;
	r.select = sel;
	r.npolicies = n;
	for (size_t i = 0; i < n; i++)
		r.policies[i] = p[i];
	return r;
}

static void test_rules_defaults_field_by_field(void **state)
{
	struct hpa_rules given, out;
	(void)state;

	hpa_rules_resolve(NULL, HPA_DIR_UP, 300, &out);
	assert_int_equal(out.stabilization_window_seconds, 0);
	assert_int_equal(out.select, HPA_SELECT_MAX);
	assert_int_equal(out.npolicies, 2);
	assert_int_equal(out.policies[0].type, HPA_POLICY_PODS);
	assert_int_equal(out.policies[0].value, 4);
	assert_int_equal(out.policies[0].period_seconds, 15);
	assert_int_equal(out.policies[1].type, HPA_POLICY_PERCENT);
	assert_int_equal(out.policies[1].value, 100);

	hpa_rules_resolve(NULL, HPA_DIR_DOWN, 120, &out);
	assert_int_equal(out.stabilization_window_seconds, 120);
	assert_int_equal(out.npolicies, 1);
	assert_int_equal(out.policies[0].type, HPA_POLICY_PERCENT);

	/* only the window given: select and policies are defaulted */
	hpa_rules_init(&given);
	given.has_window = true;
	given.stabilization_window_seconds = 60;
	hpa_rules_resolve(&given, HPA_DIR_DOWN, 300, &out);
	assert_int_equal(out.stabilization_window_seconds, 60);
	assert_int_equal(out.select, HPA_SELECT_MAX);
	assert_int_equal(out.npolicies, 1);
	/* a given list replaces the default list as a whole */
	hpa_rules_init(&given);
	given.has_policies = true;
	given.npolicies = 1;
	given.policies[0] = (struct hpa_policy){ HPA_POLICY_PERCENT, 10, 60 };
	given.has_select = true;
	given.select = HPA_SELECT_MIN;
	hpa_rules_resolve(&given, HPA_DIR_UP, 300, &out);
	assert_int_equal(out.npolicies, 1);
	assert_int_equal(out.policies[0].value, 10);
	assert_int_equal(out.select, HPA_SELECT_MIN);
	assert_int_equal(out.stabilization_window_seconds, 0);
	/* resolving in place works */
	hpa_rules_resolve(&given, HPA_DIR_DOWN, 77, &given);
	assert_int_equal(given.stabilization_window_seconds, 77);
}

static void test_disabled_select_policy(void **state)
{
	struct hpa_policy p[] = { { HPA_POLICY_PODS, 100, 15 } };
	struct hpa_rules off = rules_of(HPA_SELECT_DISABLED, 1, p), on = rules_of(HPA_SELECT_MAX, 1, p);
	struct hpa_events none;
	struct hpa_limit_detail d;
	enum hpa_reason r;
	(void)state;

	hpa_events_init(&none);
	assert_int_equal(hpa_scale_up_limit(10, &none, &none, &off, NOW, &d), 10);
	assert_int_equal(d.chosen, -1);
	assert_int_equal(hpa_scale_down_limit(10, &none, &none, &off, NOW, NULL), 10);
	/* up disabled: stays at current with ScaleUpLimit; down still works */
	assert_int_equal(hpa_behavior_rate(10, 50, 1, 100, &off, &on, &none, &none, NOW, &r, &d), 10);
	assert_int_equal(r, HPA_REASON_SCALE_UP_LIMIT);
	assert_int_equal(hpa_behavior_rate(10, 2, 1, 100, &off, &on, &none, &none, NOW, &r, &d), 2);
	assert_int_equal(r, HPA_REASON_DESIRED_WITHIN_RANGE);
	/* down disabled */
	assert_int_equal(hpa_behavior_rate(10, 2, 1, 100, &on, &off, &none, &none, NOW, &r, &d), 10);
	assert_int_equal(r, HPA_REASON_SCALE_DOWN_LIMIT);
	/* disabled and already at max: TooManyReplicas wins the tie (max is not above the limit) */
	assert_int_equal(hpa_behavior_rate(10, 50, 1, 10, &off, &on, &none, &none, NOW, &r, &d), 10);
	assert_int_equal(r, HPA_REASON_TOO_MANY_REPLICAS);
}

static void test_events_at_period_boundary(void **state)
{
	struct hpa_policy p[] = { { HPA_POLICY_PODS, 5, 60 } };
	struct hpa_rules r = rules_of(HPA_SELECT_MAX, 1, p);
	struct hpa_events up, down;
	struct hpa_limit_detail d;
	(void)state;

	hpa_events_init(&up);
	hpa_events_init(&down);
	hpa_events_push(&up, 4, NOW - S(60), false);      /* exactly 60 s: outside */
	hpa_events_push(&up, 3, NOW - S(60) + 1, true);   /* just inside; "outdated" does not matter */
	hpa_events_push(&down, 2, NOW - S(59), false);
	assert_int_equal(hpa_replicas_change_in_period(&up, 60, NOW), 3);
	assert_int_equal(hpa_replicas_change_in_period(&down, 60, NOW), 2);
	/* start = 20 - 3 + 2 = 19, + 5 */
	assert_int_equal(hpa_scale_up_limit(20, &up, &down, &r, NOW, &d), 24);
	assert_int_equal(d.policies[0].period_start, 19);
	assert_int_equal(d.policies[0].added, 3);
	assert_int_equal(d.policies[0].deleted, 2);
	assert_int_equal(d.chosen, 0);
	/* down: 19 - 5 */
	assert_int_equal(hpa_scale_down_limit(20, &up, &down, &r, NOW, NULL), 14);
	hpa_events_release(&up);
	hpa_events_release(&down);
}

static void test_percent_rounding_and_select(void **state)
{
	struct hpa_policy p[] = { { HPA_POLICY_PERCENT, 33, 60 }, { HPA_POLICY_PODS, 2, 60 } };
	struct hpa_rules max = rules_of(HPA_SELECT_MAX, 2, p), min = rules_of(HPA_SELECT_MIN, 2, p);
	struct hpa_events none;
	struct hpa_limit_detail d;
	(void)state;

	hpa_events_init(&none);
	/* up: ceil(10 * 1.33) = 14, pods 12; Max 14 (policy 0), Min 12 (policy 1) */
	assert_int_equal(hpa_scale_up_limit(10, &none, &none, &max, NOW, &d), 14);
	assert_int_equal(d.chosen, 0);
	assert_int_equal(hpa_scale_up_limit(10, &none, &none, &min, NOW, &d), 12);
	assert_int_equal(d.chosen, 1);
	/* down: int32(10 * 0.67) = 6 (truncation), pods 8; Max change → 6, Min change → 8 */
	assert_int_equal(hpa_scale_down_limit(10, &none, &none, &max, NOW, NULL), 6);
	assert_int_equal(hpa_scale_down_limit(10, &none, &none, &min, NOW, NULL), 8);
	/* a large percent goes negative; min clamps later */
	struct hpa_policy big[] = { { HPA_POLICY_PERCENT, 250, 60 } };
	struct hpa_rules b = rules_of(HPA_SELECT_MAX, 1, big);
	enum hpa_reason r;
	assert_int_equal(hpa_scale_down_limit(10, &none, &none, &b, NOW, NULL), -15);
	assert_int_equal(hpa_behavior_rate(10, 0, 2, 100, &b, &b, &none, &none, NOW, &r, &d), 2);
	assert_int_equal(r, HPA_REASON_TOO_FEW_REPLICAS);
	/* no policies at all: the neutral element, clamped to current */
	struct hpa_rules empty = rules_of(HPA_SELECT_MAX, 0, NULL);
	assert_int_equal(hpa_scale_up_limit(10, &none, &none, &empty, NOW, &d), INT32_MIN);
	assert_int_equal(d.chosen, -1);
	assert_int_equal(hpa_behavior_rate(10, 20, 1, 100, &empty, &empty, &none, &none, NOW, &r, &d), 10);
	assert_int_equal(r, HPA_REASON_SCALE_UP_LIMIT);
}

static void test_int32_wrap_in_limits(void **state)
{
	struct hpa_policy p[] = { { HPA_POLICY_PODS, 10, 60 } }, pc[] = { { HPA_POLICY_PERCENT, 100, 60 } };
	struct hpa_rules r = rules_of(HPA_SELECT_MAX, 1, p), rp = rules_of(HPA_SELECT_MAX, 1, pc);
	struct hpa_events up, none;
	(void)state;

	hpa_events_init(&up);
	hpa_events_init(&none);
	hpa_events_push(&up, INT32_MAX, NOW - S(1), false);
	hpa_events_push(&up, 1, NOW - S(1), false);
	assert_int_equal(hpa_replicas_change_in_period(&up, 60, NOW), INT32_MIN);
	/* start = 5 - MinInt32 wraps to MinInt32 + 5; + 10 */
	assert_int_equal(hpa_scale_up_limit(5, &up, &none, &r, NOW, NULL), INT32_MIN + 15);
	/* Pods from MaxInt32 wraps */
	assert_int_equal(hpa_scale_up_limit(INT32_MAX, &none, &none, &r, NOW, NULL), INT32_MIN + 9);
	/* percent beyond int32: amd64 conversion */
	assert_int_equal(hpa_scale_up_limit(2000000000, &none, &none, &rp, NOW, NULL), INT32_MIN);
	hpa_events_release(&up);
}

static void test_behavior_scale_from_zero(void **state)
{
	struct hpa_rules up, down;
	struct hpa_events ups, downs;
	struct hpa_limit_detail d;
	enum hpa_reason r;
	struct hpa_policy pct[] = { { HPA_POLICY_PERCENT, 100, 60 } };
	struct hpa_rules only_pct = rules_of(HPA_SELECT_MAX, 1, pct);
	(void)state;

	hpa_rules_resolve(NULL, HPA_DIR_UP, 300, &up);
	hpa_rules_resolve(NULL, HPA_DIR_DOWN, 300, &down);
	hpa_events_init(&ups);
	hpa_events_init(&downs);
	/* default rules: Pods 4 lifts 0 to 4, Percent gives 0 */
	assert_int_equal(hpa_behavior_rate(0, 10, 0, 100, &up, &down, &ups, &downs, NOW, &r, &d), 4);
	assert_int_equal(r, HPA_REASON_SCALE_UP_LIMIT);
	assert_int_equal(d.chosen, 0);
	/* only a Percent policy: stuck at 0 */
	assert_int_equal(hpa_behavior_rate(0, 10, 0, 100, &only_pct, &down, &ups, &downs, NOW, &r, &d), 0);
	assert_int_equal(r, HPA_REASON_SCALE_UP_LIMIT);
	/* a recent scale-down raises the period start: ceil(3 * 2) = 6 */
	hpa_events_push(&downs, 3, NOW - S(30), false);
	assert_int_equal(hpa_behavior_rate(0, 10, 0, 100, &only_pct, &down, &ups, &downs, NOW, &r, &d), 6);
	hpa_events_release(&ups);
	hpa_events_release(&downs);
}

static void test_store_scale_event(void **state)
{
	struct hpa_policy p[] = { { HPA_POLICY_PODS, 4, 15 }, { HPA_POLICY_PERCENT, 100, 60 } };
	struct hpa_rules r = rules_of(HPA_SELECT_MAX, 2, p);
	struct hpa_events up, down;
	(void)state;

	hpa_events_init(&up);
	hpa_events_init(&down);
	/* no behavior: nothing stored */
	assert_int_equal(hpa_store_scale_event(&up, &down, NULL, NULL, 1, 5, NOW), 0);
	assert_int_equal(up.n, 0);

	hpa_events_push(&up, 7, NOW - S(60), false);      /* exactly the longest period: outdated */
	hpa_events_push(&up, 6, NOW - S(60) + 1, false);  /* inside */
	hpa_events_push(&up, 5, NOW - S(100), false);     /* outdated, the last such */
	hpa_events_push(&down, 9, NOW - S(1000), false);  /* the other direction is not touched */
	assert_int_equal(hpa_store_scale_event(&up, &down, &r, &r, 10, 13, NOW), 0);
	assert_int_equal(up.n, 3);
	assert_true(up.v[0].outdated);
	assert_int_equal(up.v[0].change, 7);
	assert_false(up.v[1].outdated);
	assert_int_equal(up.v[2].change, 3);
	assert_false(up.v[2].outdated);
	assert_true(up.v[2].at_ms == NOW);
	assert_false(down.v[0].outdated);

	/* next scale-up: slot 0 is still outdated and gets reused */
	assert_int_equal(hpa_store_scale_event(&up, &down, &r, &r, 13, 14, NOW), 0);
	assert_int_equal(up.n, 3);
	assert_int_equal(up.v[0].change, 1);
	/* nothing outdated: appended */
	assert_int_equal(hpa_store_scale_event(&up, &down, &r, &r, 14, 15, NOW), 0);
	assert_int_equal(up.n, 4);
	/* 1 ms later the 6 is exactly 60 s old: outdated, and the last such slot */
	assert_int_equal(hpa_store_scale_event(&up, &down, &r, &r, 15, 17, NOW + 1), 0);
	assert_int_equal(up.n, 4);
	assert_int_equal(up.v[1].change, 2);
	assert_true(up.v[1].at_ms == NOW + 1);
	/* a scale-down (same call shape) goes to the down list */
	assert_int_equal(hpa_store_scale_event(&up, &down, &r, &r, 15, 11, NOW + 3), 0);
	assert_int_equal(down.n, 1);
	assert_int_equal(down.v[0].change, 4);
	hpa_events_release(&up);
	hpa_events_release(&down);
}

static void test_history_cap(void **state)
{
	struct hpa_recs h;
	struct hpa_events e;
	int32_t s;
	(void)state;

	hpa_recs_init(&h);
	hpa_events_init(&e);
	for (int i = 0; i < HPA_HISTORY_MAX; i++) {
		assert_int_equal(hpa_recs_push(&h, i, NOW), 0);
		assert_int_equal(hpa_events_push(&e, 1, NOW, false), 0);
	}
	assert_int_equal(hpa_recs_push(&h, 1, NOW), -1);
	assert_int_equal(hpa_events_push(&e, 1, NOW, false), -1);
	assert_int_equal(h.n, HPA_HISTORY_MAX);
	/* no old slot and no room: refused, nothing changed */
	assert_int_equal(hpa_legacy_stabilize(&h, 300, 1, NOW, &s, NULL), -1);
	assert_int_equal(h.n, HPA_HISTORY_MAX);
	/* with an old slot it still works */
	h.v[5].at_ms = NOW - S(301);
	assert_int_equal(hpa_legacy_stabilize(&h, 300, 1, NOW, &s, NULL), 0);
	assert_int_equal(h.v[5].replicas, 1);
	hpa_recs_release(&h);
	hpa_events_release(&e);
}

/* ======================================================================== */
/* Reconcile                                                                */
/* ======================================================================== */

struct rig {
	struct hpa_spec spec;
	struct hpa_state st;
	struct hpa_inputs in;
	struct hpa_metric_input mi[4];
	int64_t vals[4][2];
	struct hpa_result out;
};

/* An HPA with one External Value metric (target 1), legacy path. */
static void rig_init(struct rig *r, int32_t min, int32_t max, int32_t current)
{
	memset(r, 0, sizeof *r);
	hpa_spec_init(&r->spec);
	r->spec.min_replicas = min;
	r->spec.max_replicas = max;
	r->spec.nmetrics = 1;
	r->spec.metrics[0] = (struct hpa_metric_spec){ HPA_SOURCE_EXTERNAL, HPA_TARGET_VALUE, 1000, "m" };
	hpa_state_init(&r->st);
	r->in.spec_replicas = r->in.status_replicas = r->in.ready_pods = current;
	r->in.metrics = r->mi;
	r->in.nmetrics = 1;
}

/* Sets metric i to one value (target 1000 milli): the Value proposal is ceil(value/1000 x ready pods). */
static void rig_value(struct rig *r, size_t i, int64_t milli)
{
	r->vals[i][0] = milli;
	r->mi[i].values_milli = r->vals[i];
	r->mi[i].nvalues = 1;
}

static void rig_current(struct rig *r, int32_t current)
{
	r->in.spec_replicas = r->in.status_replicas = r->in.ready_pods = current;
}

static void assert_conds(const struct hpa_result *o, size_t n, ...)
{
	va_list ap;
	assert_int_equal(o->nconditions, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		enum hpa_cond_type t = va_arg(ap, enum hpa_cond_type);
		int status = va_arg(ap, int);
		enum hpa_reason reason = va_arg(ap, enum hpa_reason);
		assert_int_equal(o->conditions[i].type, t);
		assert_int_equal(o->conditions[i].status, status);
		assert_string_equal(hpa_reason_name(o->conditions[i].reason), hpa_reason_name(reason));
	}
	va_end(ap);
}

static void test_reconcile_legacy_scale_down_waits_for_window(void **state)
{
	struct rig r;
	int64_t t0 = NOW;
	(void)state;

	rig_init(&r, 1, 10, 5);
	/* 5 ready pods, ratio 0.6 → proposal 3 */
	rig_value(&r, 0, 600);
	for (int64_t t = t0; t < t0 + S(300); t += S(15)) {
		assert_int_equal(hpa_reconcile(&r.spec, &r.st, t, &r.in, &r.out), 0);
		assert_int_equal(r.out.path, HPA_PATH_METRICS);
		assert_int_equal(r.out.prenormalized, 3);
		assert_int_equal(r.out.desired, 5);
		assert_false(r.out.rescaled);
		assert_int_equal(r.out.stab.held_by, HPA_WINDOW_LEGACY);
		assert_conds(&r.out, 3, HPA_COND_ABLE_TO_SCALE, 1, HPA_REASON_SCALE_DOWN_STABILIZED,
			     HPA_COND_SCALING_ACTIVE, 1, HPA_REASON_VALID_METRIC_FOUND, HPA_COND_SCALING_LIMITED, 0,
			     HPA_REASON_DESIRED_WITHIN_RANGE);
	}
	/* the seed (5 at t0) is exactly 300 s old: outside the window */
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, t0 + S(300), &r.in, &r.out), 0);
	assert_int_equal(r.out.desired, 3);
	assert_true(r.out.rescaled);
	assert_conds(&r.out, 3, HPA_COND_ABLE_TO_SCALE, 1, HPA_REASON_SUCCEEDED_RESCALE, HPA_COND_SCALING_ACTIVE, 1,
		     HPA_REASON_VALID_METRIC_FOUND, HPA_COND_SCALING_LIMITED, 0, HPA_REASON_DESIRED_WITHIN_RANGE);
	assert_true(r.st.has_last_scale);
	assert_true(r.st.last_scale_ms == t0 + S(300));
	/* legacy path stores no events */
	assert_int_equal(r.st.up.n + r.st.down.n, 0);
	/* the history stays bounded by the window (20 reconciles of 15 s) */
	assert_true(r.st.recs.n <= 21);
	hpa_state_release(&r.st);
}

static void test_reconcile_behavior_rate_and_event_boundary(void **state)
{
	struct rig r;
	int64_t t0 = NOW;
	(void)state;

	rig_init(&r, 1, 100, 1);
	r.spec.has_behavior = true;   /* all defaults */
	rig_value(&r, 0, 100000);     /* ratio 100 */

	assert_int_equal(hpa_reconcile(&r.spec, &r.st, t0, &r.in, &r.out), 0);
	assert_int_equal(r.out.prenormalized, 100);
	assert_int_equal(r.out.desired, 5);  /* Pods 4 beats Percent 100 from 1 */
	assert_true(r.out.rescaled);
	assert_int_equal(r.out.limit.dir, HPA_DIR_UP);
	assert_int_equal(r.out.limit.chosen, 0);
	assert_int_equal(r.out.limit.policies[0].period_start, 1);
	assert_conds(&r.out, 3, HPA_COND_ABLE_TO_SCALE, 1, HPA_REASON_SUCCEEDED_RESCALE, HPA_COND_SCALING_ACTIVE, 1,
		     HPA_REASON_VALID_METRIC_FOUND, HPA_COND_SCALING_LIMITED, 1, HPA_REASON_SCALE_UP_LIMIT);
	assert_int_equal(r.st.up.n, 1);
	assert_int_equal(r.st.up.v[0].change, 4);

	/* 14.999 s later the event still counts: the period start is 1, no room to grow */
	rig_current(&r, 5);
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, t0 + S(15) - 1, &r.in, &r.out), 0);
	assert_int_equal(r.out.desired, 5);
	assert_false(r.out.rescaled);
	assert_int_equal(r.out.limit.policies[0].period_start, 1);
	assert_conds(&r.out, 3, HPA_COND_ABLE_TO_SCALE, 1, HPA_REASON_READY_FOR_NEW_SCALE, HPA_COND_SCALING_ACTIVE,
		     1, HPA_REASON_VALID_METRIC_FOUND, HPA_COND_SCALING_LIMITED, 1, HPA_REASON_SCALE_UP_LIMIT);

	/* at exactly 15 s it is outside the period: start 5, Percent doubles to 10 */
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, t0 + S(15), &r.in, &r.out), 0);
	assert_int_equal(r.out.desired, 10);
	assert_int_equal(r.out.limit.chosen, 1);
	assert_true(r.out.rescaled);
	/* the first event (15 s old) was outdated and its slot reused */
	assert_int_equal(r.st.up.n, 1);
	assert_int_equal(r.st.up.v[0].change, 5);
	hpa_state_release(&r.st);
}

static void test_reconcile_partial_metric_failure(void **state)
{
	struct rig r;
	(void)state;

	/* failing first metric, second scales up: proceeds, reports an error */
	rig_init(&r, 1, 10, 2);
	r.spec.nmetrics = 2;
	r.spec.metrics[1] = r.spec.metrics[0];
	r.in.nmetrics = 2;
	r.mi[0].fetch_error = true;
	rig_value(&r, 1, 4000);   /* 2 pods, ratio 4 → 8 */
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_int_equal(r.out.invalid_metrics, 1);
	assert_int_equal(r.out.first_invalid, 0);
	assert_int_equal(r.out.best_metric, 1);
	assert_true(r.out.error);
	assert_int_equal(r.out.desired, 4);   /* legacy limit max(2*2, 4) */
	assert_true(r.out.rescaled);
	assert_conds(&r.out, 3, HPA_COND_ABLE_TO_SCALE, 1, HPA_REASON_SUCCEEDED_RESCALE, HPA_COND_SCALING_ACTIVE, 1,
		     HPA_REASON_VALID_METRIC_FOUND, HPA_COND_SCALING_LIMITED, 1, HPA_REASON_SCALE_UP_LIMIT);
	hpa_state_release(&r.st);

	/* the valid one would scale down: blocked; status keeps its previous desired */
	rig_init(&r, 1, 10, 6);
	r.spec.nmetrics = 2;
	r.spec.metrics[1] = r.spec.metrics[0];
	r.in.nmetrics = 2;
	r.mi[1].fetch_error = true;
	rig_value(&r, 0, 100);
	r.st.desired_replicas = 6;
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_int_equal(r.out.path, HPA_PATH_METRICS_FAILED);
	assert_int_equal(r.out.desired, 6);
	assert_false(r.out.rescaled);
	assert_conds(&r.out, 2, HPA_COND_ABLE_TO_SCALE, 1, HPA_REASON_SUCCEEDED_GET_SCALE, HPA_COND_SCALING_ACTIVE, 0,
		     HPA_REASON_FAILED_GET_EXTERNAL_METRIC);
	/* the seed was recorded all the same */
	assert_true(r.st.seeded);
	assert_int_equal(r.st.recs.n, 1);
	hpa_state_release(&r.st);

	/* same proposal as current with a failure: not a scale-down, proceeds */
	rig_init(&r, 1, 10, 6);
	r.spec.nmetrics = 2;
	r.spec.metrics[1] = r.spec.metrics[0];
	r.spec.metrics[1].source = HPA_SOURCE_UNKNOWN;
	r.in.nmetrics = 2;
	rig_value(&r, 0, 1000);   /* ratio 1: within → 6 */
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_int_equal(r.out.path, HPA_PATH_METRICS);
	assert_int_equal(r.out.metrics[1].fail_reason, HPA_REASON_INVALID_METRIC_SOURCE_TYPE);
	assert_false(r.out.rescaled);
	hpa_state_release(&r.st);
}

static void test_reconcile_out_of_range_paths(void **state)
{
	struct rig r;
	(void)state;

	/* 0 replicas, min 1: disabled */
	rig_init(&r, 1, 10, 0);
	rig_value(&r, 0, 50000);
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_int_equal(r.out.path, HPA_PATH_DISABLED);
	assert_int_equal(r.out.desired, 0);
	assert_false(r.out.rescaled);
	assert_conds(&r.out, 2, HPA_COND_ABLE_TO_SCALE, 1, HPA_REASON_SUCCEEDED_GET_SCALE, HPA_COND_SCALING_ACTIVE, 0,
		     HPA_REASON_SCALING_DISABLED);
	hpa_state_release(&r.st);

	/* above max, with behavior: a scale-down event is stored; earlier conditions persist */
	rig_init(&r, 1, 10, 8);
	r.spec.has_behavior = true;
	rig_value(&r, 0, 1000);   /* ratio 1: within, nothing changes */
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_conds(&r.out, 3, HPA_COND_ABLE_TO_SCALE, 1, HPA_REASON_READY_FOR_NEW_SCALE, HPA_COND_SCALING_ACTIVE, 1,
		     HPA_REASON_VALID_METRIC_FOUND, HPA_COND_SCALING_LIMITED, 0, HPA_REASON_DESIRED_WITHIN_RANGE);
	rig_current(&r, 30);
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW + S(15), &r.in, &r.out), 0);
	assert_int_equal(r.out.path, HPA_PATH_ABOVE_MAX);
	assert_int_equal(r.out.desired, 10);
	assert_true(r.out.rescaled);
	assert_int_equal(r.st.down.n, 1);
	assert_int_equal(r.st.down.v[0].change, 20);
	assert_conds(&r.out, 3, HPA_COND_ABLE_TO_SCALE, 1, HPA_REASON_SUCCEEDED_RESCALE, HPA_COND_SCALING_ACTIVE, 1,
		     HPA_REASON_VALID_METRIC_FOUND, HPA_COND_SCALING_LIMITED, 0, HPA_REASON_DESIRED_WITHIN_RANGE);
	/* below min */
	rig_current(&r, 0);
	r.spec.min_replicas = 2;
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW + S(30), &r.in, &r.out), 0);
	assert_int_equal(r.out.path, HPA_PATH_DISABLED);
	rig_current(&r, 1);
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW + S(45), &r.in, &r.out), 0);
	assert_int_equal(r.out.path, HPA_PATH_BELOW_MIN);
	assert_int_equal(r.out.desired, 2);
	assert_int_equal(r.st.up.n, 1);
	hpa_state_release(&r.st);
}

static void test_reconcile_scale_from_zero(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, 0, 20, 0);
	rig_value(&r, 0, 7500);   /* ceil(7.5) = 8, no pods needed */
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_int_equal(r.out.metrics[0].eval.rule, HPA_RULE_FROM_ZERO);
	assert_int_equal(r.out.prenormalized, 8);
	assert_int_equal(r.out.desired, 4);   /* legacy: max(2*0, 4) */
	assert_int_equal(r.out.limited_reason, HPA_REASON_SCALE_UP_LIMIT);
	assert_true(r.out.rescaled);
	hpa_state_release(&r.st);

	/* usage 0 at 0 replicas stays at 0 */
	rig_init(&r, 0, 20, 0);
	rig_value(&r, 0, 0);
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_int_equal(r.out.desired, 0);
	assert_false(r.out.rescaled);
	hpa_state_release(&r.st);
}

static void test_reconcile_faults_and_bad_calls(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, 1, 10, 3);
	rig_value(&r, 0, 9000);
	r.in.get_scale_fails = true;
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_int_equal(r.out.path, HPA_PATH_GET_SCALE_FAILED);
	assert_false(r.st.seeded);
	assert_conds(&r.out, 1, HPA_COND_ABLE_TO_SCALE, 0, HPA_REASON_FAILED_GET_SCALE);

	r.in.get_scale_fails = false;
	r.in.update_scale_fails = true;
	r.spec.has_behavior = true;
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_false(r.out.rescaled);
	assert_true(r.out.error);
	assert_int_equal(r.st.up.n, 0);
	assert_int_equal(r.out.conditions[0].reason, HPA_REASON_FAILED_UPDATE_SCALE);
	assert_false(r.out.conditions[0].status);

	r.in.update_scale_fails = false;
	r.in.selector = HPA_SELECTOR_AMBIGUOUS;
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_int_equal(r.out.path, HPA_PATH_METRICS_FAILED);
	assert_int_equal(r.out.conditions[1].reason, HPA_REASON_AMBIGUOUS_SELECTOR);

	/* malformed: metric counts differ → -1, state untouched */
	size_t n = r.st.recs.n;
	r.in.selector = HPA_SELECTOR_OK;
	r.in.nmetrics = 2;
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), -1);
	assert_int_equal(r.st.recs.n, n);
	hpa_state_release(&r.st);
}

static void test_reconcile_tolerance_override(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, 1, 100, 10);
	r.spec.has_behavior = true;
	r.spec.has_scale_up = true;
	hpa_rules_init(&r.spec.scale_up);
	r.spec.scale_up.has_tolerance = true;
	r.spec.scale_up.tolerance = 0.01;
	rig_value(&r, 0, 1050);   /* ratio 1.05 */
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_true(r.out.tolerance.scale_up == 0.01);
	assert_int_equal(r.out.prenormalized, 11);
	assert_int_equal(r.out.desired, 11);
	hpa_state_release(&r.st);

	/* with the feature gate off the controller-wide 0.1 applies */
	rig_init(&r, 1, 100, 10);
	r.spec.has_behavior = true;
	r.spec.has_scale_up = true;
	r.spec.scale_up.has_tolerance = true;
	r.spec.scale_up.tolerance = 0.01;
	r.spec.controller.configurable_tolerance = false;
	rig_value(&r, 0, 1050);
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_int_equal(r.out.desired, 10);
	hpa_state_release(&r.st);
}

static void test_reconcile_average_value_uses_status_replicas(void **state)
{
	struct rig r;
	(void)state;

	rig_init(&r, 1, 20, 4);
	r.spec.metrics[0].target = HPA_TARGET_AVERAGE_VALUE;
	r.in.status_replicas = 2;   /* the average is over 2 pods */
	r.in.ready_pods = 1;
	rig_value(&r, 0, 6000);     /* 6 / (1 * 2) = 3 → ceil(6 / 1) = 6 */
	assert_int_equal(hpa_reconcile(&r.spec, &r.st, NOW, &r.in, &r.out), 0);
	assert_int_equal(r.out.metrics[0].eval.rule, HPA_RULE_PER_POD);
	assert_int_equal(r.out.prenormalized, 6);
	assert_true(r.out.metrics[0].eval.usage_milli == 3000);
	hpa_state_release(&r.st);
}

/* ======================================================================== */
/* Manifests                                                                */
/* ======================================================================== */

static int manifest(const char *json, const char *name, struct hpa_spec *s, char *err, size_t n)
{
	cJSON *o = cJSON_Parse(json);
	assert_non_null(o);
	int rc = hpa_spec_from_manifest(o, name, s, err, n);
	cJSON_Delete(o);
	return rc;
}

static const char GOOD[] =
	"{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\","
	"\"metadata\":{\"name\":\"web\"},"
	"\"spec\":{\"scaleTargetRef\":{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"name\":\"web\"},"
	"\"maxReplicas\":20,"
	"\"metrics\":[{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"queue_depth\","
	"\"selector\":{\"matchLabels\":{\"queue\":\"jobs\"}}},\"target\":{\"type\":\"AverageValue\",\"averageValue\":\"30\"}}},"
	"{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"rps\"},\"target\":{\"type\":\"Value\",\"value\":\"1500m\"}}}],"
	"\"behavior\":{\"scaleDown\":{\"stabilizationWindowSeconds\":60,\"selectPolicy\":\"Min\","
	"\"policies\":[{\"type\":\"Pods\",\"value\":2,\"periodSeconds\":30},{\"type\":\"Percent\",\"value\":10,\"periodSeconds\":60}],"
	"\"tolerance\":\"50m\"}}}}";

static void test_manifest_good(void **state)
{
	struct hpa_spec s;
	char err[256] = "";
	(void)state;

	assert_int_equal(manifest(GOOD, NULL, &s, err, sizeof err), 0);
	assert_int_equal(s.min_replicas, 1);
	assert_int_equal(s.max_replicas, 20);
	assert_int_equal(s.nmetrics, 2);
	assert_string_equal(s.metrics[0].name, "queue_depth");
	assert_int_equal(s.metrics[0].source, HPA_SOURCE_EXTERNAL);
	assert_int_equal(s.metrics[0].target, HPA_TARGET_AVERAGE_VALUE);
	assert_true(s.metrics[0].target_milli == 30000);
	assert_int_equal(s.metrics[1].target, HPA_TARGET_VALUE);
	assert_true(s.metrics[1].target_milli == 1500);
	assert_true(s.has_behavior);
	assert_false(s.has_scale_up);
	assert_true(s.has_scale_down);
	assert_true(s.scale_down.has_window);
	assert_int_equal(s.scale_down.stabilization_window_seconds, 60);
	assert_int_equal(s.scale_down.select, HPA_SELECT_MIN);
	assert_int_equal(s.scale_down.npolicies, 2);
	assert_int_equal(s.scale_down.policies[1].type, HPA_POLICY_PERCENT);
	assert_int_equal(s.scale_down.policies[1].period_seconds, 60);
	assert_true(s.scale_down.has_tolerance);
	assert_true(fabs(s.scale_down.tolerance - 0.05) < 1e-12);
	assert_true(hpa_spec_tolerances(&s).scale_down == s.scale_down.tolerance);
	assert_true(hpa_spec_tolerances(&s).scale_up == 0.1);
	assert_int_equal(hpa_spec_validate(&s, err, sizeof err), 0);

	/* one metric picked by name; other types are skipped then */
	assert_int_equal(manifest(GOOD, "rps", &s, err, sizeof err), 0);
	assert_int_equal(s.nmetrics, 1);
	assert_string_equal(s.metrics[0].name, "rps");
	assert_int_equal(manifest("{\"spec\":{\"minReplicas\":0,\"maxReplicas\":3,\"metrics\":["
				  "{\"type\":\"Resource\",\"resource\":{\"name\":\"cpu\"}},"
				  "{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\"},"
				  "\"target\":{\"type\":\"Value\",\"value\":0.1}}}]}}",
				  "q", &s, err, sizeof err),
			 0);
	assert_int_equal(s.min_replicas, 0);
	assert_true(s.metrics[0].target_milli == 100);   /* the number 0.1, read as "0.1" */
	assert_false(s.has_behavior);
	/* an empty behavior object: the behavior path with every default */
	assert_int_equal(manifest("{\"spec\":{\"maxReplicas\":3,\"behavior\":{},\"metrics\":["
				  "{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\"},"
				  "\"target\":{\"type\":\"Value\",\"value\":\"2k\"}}}]}}",
				  NULL, &s, err, sizeof err),
			 0);
	assert_true(s.has_behavior);
	assert_true(s.metrics[0].target_milli == 2000000);
	/* MilliValue rounds a fraction of a milli-unit up */
	assert_int_equal(manifest("{\"spec\":{\"maxReplicas\":3,\"metrics\":["
				  "{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\"},"
				  "\"target\":{\"type\":\"AverageValue\",\"averageValue\":\"1n\"}}}]}}",
				  NULL, &s, err, sizeof err),
			 0);
	assert_true(s.metrics[0].target_milli == 1);
}

static void expect_manifest_error(const char *spec_body, const char *name, const char *want)
{
	char json[2048], err[256] = "";
	struct hpa_spec s;
	snprintf(json, sizeof json, "{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"spec\":%s}",
		 spec_body);
	assert_int_equal(manifest(json, name, &s, err, sizeof err), -1);
	if (!strstr(err, want))
		fail_msg("error '%s' does not contain '%s'", err, want);
}

#define EXT_Q "{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\"},\"target\":{\"type\":\"Value\",\"value\":\"1\"}}}"

static void test_manifest_bad(void **state)
{
	char err[256];
	struct hpa_spec s;
	(void)state;

	assert_int_equal(manifest("[1]", NULL, &s, err, sizeof err), -1);
	assert_int_equal(manifest("{\"apiVersion\":\"autoscaling/v1\",\"spec\":{}}", NULL, &s, err, sizeof err), -1);
	assert_string_equal(err, "apiVersion: 'autoscaling/v1' is not supported (want 'autoscaling/v2')");
	assert_int_equal(manifest("{\"kind\":\"Deployment\",\"spec\":{}}", NULL, &s, err, sizeof err), -1);
	assert_int_equal(manifest("{\"apiVersion\":\"autoscaling/v2\"}", NULL, &s, err, sizeof err), -1);
	assert_string_equal(err, "spec: missing");

	expect_manifest_error("{\"metrics\":[" EXT_Q "]}", NULL, "spec.maxReplicas: missing");
	expect_manifest_error("{\"maxReplicas\":2.5,\"metrics\":[" EXT_Q "]}", NULL,
			      "spec.maxReplicas: must be a 32-bit integer");
	expect_manifest_error("{\"maxReplicas\":3000000000,\"metrics\":[" EXT_Q "]}", NULL,
			      "spec.maxReplicas: must be a 32-bit integer");
	expect_manifest_error("{\"minReplicas\":5,\"maxReplicas\":2,\"metrics\":[" EXT_Q "]}", NULL,
			      "spec.maxReplicas: must be greater than or equal to 'minReplicas'");
	expect_manifest_error("{\"minReplicas\":-1,\"maxReplicas\":2,\"metrics\":[" EXT_Q "]}", NULL,
			      "spec.minReplicas: must be greater than or equal to 0");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[]}", NULL, "spec.metrics: at least one External metric");
	expect_manifest_error("{\"maxReplicas\":2}", NULL, "spec.metrics: at least one External metric");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[{\"type\":\"Resource\",\"resource\":{}}]}", NULL,
			      "spec.metrics[0].type: 'Resource' is not supported");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q "]}", "other",
			      "spec.metrics: no External metric named 'other'");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q ",{}]}", NULL, "spec.metrics[1].type: missing");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[{\"type\":\"External\",\"external\":{\"metric\":{},"
			      "\"target\":{\"type\":\"Value\",\"value\":\"1\"}}}]}",
			      NULL, "spec.metrics[0].external.metric.name: missing");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\"},"
			      "\"target\":{\"type\":\"Utilization\",\"averageUtilization\":50}}}]}",
			      NULL, "spec.metrics[0].external.target.type: 'Utilization' is not supported");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\"},"
			      "\"target\":{\"type\":\"AverageValue\",\"value\":\"1\"}}}]}",
			      NULL, "spec.metrics[0].external.target.averageValue: must be set");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\"},"
			      "\"target\":{\"type\":\"Value\",\"value\":\"-1\"}}}]}",
			      NULL, "spec.metrics[0].external.target.value: must be positive");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\"},"
			      "\"target\":{\"type\":\"Value\",\"value\":\"0\"}}}]}",
			      NULL, "must be positive");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\"},"
			      "\"target\":{\"type\":\"Value\",\"value\":\"12abc\"}}}]}",
			      NULL, "spec.metrics[0].external.target.value: invalid quantity '12abc'");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\"},"
			      "\"target\":{\"type\":\"Value\",\"value\":\"10E\"}}}]}",
			      NULL, "spec.metrics[0].external.target.value: too large");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[{\"type\":\"External\",\"external\":{\"metric\":{\"name\":\"q\"},"
			      "\"target\":{\"type\":\"Value\",\"value\":true}}}]}",
			      NULL, "spec.metrics[0].external.target.value: must be a quantity");

	/* behavior */
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q "],\"behavior\":{\"scaleUp\":{\"policies\":"
			      "[{\"type\":\"Pods\",\"value\":1,\"periodSeconds\":0}]}}}",
			      NULL, "spec.behavior.scaleUp.policies[0].periodSeconds: must be in 1..1800");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q "],\"behavior\":{\"scaleUp\":{\"policies\":"
			      "[{\"type\":\"Pods\",\"value\":1,\"periodSeconds\":15},{\"type\":\"Pods\",\"value\":1,\"periodSeconds\":1801}]}}}",
			      NULL, "spec.behavior.scaleUp.policies[1].periodSeconds: must be in 1..1800");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q "],\"behavior\":{\"scaleDown\":{\"policies\":"
			      "[{\"type\":\"Percent\",\"value\":0,\"periodSeconds\":15}]}}}",
			      NULL, "spec.behavior.scaleDown.policies[0].value: must be greater than zero");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q "],\"behavior\":{\"scaleDown\":{\"policies\":"
			      "[{\"type\":\"Replicas\",\"value\":1,\"periodSeconds\":15}]}}}",
			      NULL, "spec.behavior.scaleDown.policies[0].type: must be 'Pods' or 'Percent'");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q "],\"behavior\":{\"scaleDown\":{\"policies\":"
			      "[{\"type\":\"Pods\",\"periodSeconds\":15}]}}}",
			      NULL, "spec.behavior.scaleDown.policies[0].value: missing");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q "],\"behavior\":{\"scaleDown\":{\"policies\":[]}}}",
			      NULL, "spec.behavior.scaleDown.policies: must specify at least one policy");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q "],\"behavior\":{\"scaleDown\":"
			      "{\"stabilizationWindowSeconds\":3601}}}",
			      NULL, "spec.behavior.scaleDown.stabilizationWindowSeconds: must be in 0..3600");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q "],\"behavior\":{\"scaleUp\":"
			      "{\"stabilizationWindowSeconds\":-1}}}",
			      NULL, "spec.behavior.scaleUp.stabilizationWindowSeconds: must be in 0..3600");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q "],\"behavior\":{\"scaleUp\":"
			      "{\"selectPolicy\":\"Fastest\"}}}",
			      NULL, "spec.behavior.scaleUp.selectPolicy: must be 'Max', 'Min' or 'Disabled'");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q "],\"behavior\":{\"scaleUp\":"
			      "{\"tolerance\":\"-0.1\"}}}",
			      NULL, "spec.behavior.scaleUp.tolerance: must be");
	expect_manifest_error("{\"maxReplicas\":2,\"metrics\":[" EXT_Q "],\"behavior\":{\"scaleUp\":[]}}", NULL,
			      "spec.behavior.scaleUp: must be an object");
}

static void test_spec_validate(void **state)
{
	struct hpa_spec s;
	char err[256];
	(void)state;

	hpa_spec_init(&s);
	assert_int_equal(hpa_spec_validate(&s, err, sizeof err), -1);   /* no metrics */
	s.nmetrics = 1;
	s.metrics[0] = (struct hpa_metric_spec){ HPA_SOURCE_EXTERNAL, HPA_TARGET_VALUE, 1000, "q" };
	assert_int_equal(hpa_spec_validate(&s, err, sizeof err), 0);
	s.metrics[0].target_milli = 0;
	assert_int_equal(hpa_spec_validate(&s, err, sizeof err), -1);
	assert_string_equal(err, "spec.metrics[0].target: must be positive");
	s.metrics[0].target_milli = 1;
	s.has_behavior = s.has_scale_up = true;
	s.scale_up.has_policies = true;
	s.scale_up.npolicies = 1;
	s.scale_up.policies[0] = (struct hpa_policy){ HPA_POLICY_PODS, 1, 1801 };
	assert_int_equal(hpa_spec_validate(&s, err, sizeof err), -1);
	assert_string_equal(err, "spec.behavior.scaleUp.policies[0].periodSeconds: must be in 1..1800");
}

/* ======================================================================== */
/* The command                                                              */
/* ======================================================================== */

/* Runs hpa_cli_main with stdout and stderr captured into *out / *err (caller frees). */
static int run_cli(int argc, char **argv, char **out, char **err)
{
	char opath[] = "/tmp/test_hpa_outXXXXXX", epath[] = "/tmp/test_hpa_errXXXXXX";
	int ofd = mkstemp(opath), efd = mkstemp(epath);
	assert_true(ofd >= 0 && efd >= 0);
	fflush(stdout);
	fflush(stderr);
	int so = dup(1), se = dup(2);
	dup2(ofd, 1);
	dup2(efd, 2);
	int rc = hpa_cli_main(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(so, 1);
	dup2(se, 2);
	close(so);
	close(se);
	char *bufs[2];
	int fds[2] = { ofd, efd };
	for (int i = 0; i < 2; i++) {
		off_t len = lseek(fds[i], 0, SEEK_END);
		bufs[i] = calloc((size_t)len + 1, 1);
		assert_non_null(bufs[i]);
		assert_int_equal(pread(fds[i], bufs[i], (size_t)len, 0), len);
		close(fds[i]);
	}
	unlink(opath);
	unlink(epath);
	*out = bufs[0];
	*err = bufs[1];
	return rc;
}

static char *write_temp(const char *text)
{
	char path[] = "/tmp/test_hpa_caseXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return strdup(path);
}

static const char BEHAVIOR_CASE[] =
	"{\"name\":\"demo\",\"kind\":\"behavior_rate\",\"input\":{\"current_replicas\":10,\"desired_replicas\":50,"
	"\"min_replicas\":1,\"max_replicas\":1000,\"scale_up\":null,\"scale_down\":null,"
	"\"scale_up_events\":[],\"scale_down_events\":[]},"
	"\"expect\":{\"replicas\":20,\"condition_reason\":\"ScaleUpLimit\"}}";

static void test_cli_explains_a_case(void **state)
{
	char *out, *err, *path = write_temp(BEHAVIOR_CASE);
	char *argv[] = { "hpa", path, NULL };
	(void)state;

	assert_int_equal(run_cli(2, argv, &out, &err), 0);
	assert_string_equal(err, "");
	assert_non_null(strstr(out, "policy [1] Percent 100 per 15s: period start 10"));
	assert_non_null(strstr(out, "selectPolicy Max picks 20 (policy [1])"));
	assert_non_null(strstr(out, "50 is limited to 20 (ScaleUpLimit)"));
	assert_non_null(strstr(out, "expected by the case:"));
	free(out);
	free(err);

	char *help[] = { "hpa", "--help", NULL };
	assert_int_equal(run_cli(2, help, &out, &err), 0);
	assert_non_null(strstr(out, "usage: scalewise hpa"));
	free(out);
	free(err);

	/* a bare case takes no --case */
	char *withcase[] = { "hpa", "--case", "x", path, NULL };
	assert_int_equal(run_cli(4, withcase, &out, &err), 2);
	assert_non_null(strstr(err, "single case"));
	free(out);
	free(err);
	unlink(path);
	free(path);
}

static void test_cli_bad_input(void **state)
{
	char *out, *err;
	(void)state;

	char *none[] = { "hpa", NULL };
	assert_int_equal(run_cli(1, none, &out, &err), 2);
	assert_non_null(strstr(err, "missing FILE"));
	free(out);
	free(err);

	char *missing[] = { "hpa", "/nonexistent/case.json", NULL };
	assert_int_equal(run_cli(2, missing, &out, &err), 2);
	assert_non_null(strstr(err, "cannot read '/nonexistent/case.json'"));
	assert_string_equal(out, "");
	free(out);
	free(err);

	char *opt[] = { "hpa", "--bogus", "x", NULL };
	assert_int_equal(run_cli(3, opt, &out, &err), 2);
	assert_non_null(strstr(err, "unknown option '--bogus'"));
	free(out);
	free(err);

	static const char *const bad[][2] = {
		{ "{not json", "not valid JSON" },
		{ "{\"kind\":\"warp\",\"input\":{}}", "kind: unknown kind 'warp'" },
		{ "{\"kind\":\"external_value\"}", "input: missing" },
		{ "{\"kind\":\"external_value\",\"input\":{\"current_replicas\":\"x\"}}", "input.current_replicas: must be an integer" },
		{ "{\"kind\":\"reconcile\",\"input\":{\"max_replicas\":3,\"spec_replicas\":1,\"metrics\":[{\"type\":\"External\","
		  "\"target_type\":\"Value\",\"target_value_milli\":1,\"values_milli\":\"x\"}]}}",
		  "input.metrics[0].values_milli: must be an array" },
		{ "{\"kind\":\"reconcile\",\"input\":{\"max_replicas\":3,\"spec_replicas\":1,\"metrics\":[{\"type\":\"Resource\"}]}}",
		  "needs \"derived_replica_proposal\"" },
		{ "{\"cases\":[{\"name\":\"a\",\"kind\":\"stabilize\"},{\"name\":\"b\",\"kind\":\"stabilize\"}]}",
		  "holds 2 cases" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char *path = write_temp(bad[i][0]);
		char *argv[] = { "hpa", path, NULL };
		assert_int_equal(run_cli(2, argv, &out, &err), 2);
		if (!strstr(err, bad[i][1]))
			fail_msg("case %zu: stderr '%s' lacks '%s'", i, err, bad[i][1]);
		/* exactly one line */
		size_t lines = 0;
		for (const char *p = err; *p; p++)
			lines += *p == '\n';
		assert_int_equal(lines, 1);
		free(out);
		free(err);
		unlink(path);
		free(path);
	}
}

/* The public vector file: the command must pick cases by name and by index. */
static void test_cli_vector_file(void **state)
{
	char path[1024], *out, *err;
	const char *dir = getenv("SW_TESTDATA");
	(void)state;

	snprintf(path, sizeof path, "%s/hpa_vectors_public.json", dir ? dir : "../shared/testdata");
	if (access(path, R_OK) != 0)
		fail_msg("cannot find '%s' (run from the checkout root or set SW_TESTDATA)", path);

	char *byname[] = { "hpa", "--case", "TestScaleUpCMExternal", path, NULL };
	assert_int_equal(run_cli(4, byname, &out, &err), 0);
	assert_non_null(strstr(out, "decision: rescale 3 -> 4"));
	assert_non_null(strstr(out, "ScalingLimited  False  DesiredWithinRange"));
	assert_non_null(strstr(out, "ratio 1.29013"));
	free(out);
	free(err);

	char *byindex[] = { "hpa", "--case=0", path, NULL };
	assert_int_equal(run_cli(3, byindex, &out, &err), 0);
	assert_non_null(strstr(out, "TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods"));
	assert_non_null(strstr(out, "ceil(1.95455 x 1 ready pods) = 2"));
	free(out);
	free(err);

	char *list[] = { "hpa", "--list", path, NULL };
	assert_int_equal(run_cli(3, list, &out, &err), 0);
	assert_non_null(strstr(out, "\treconcile\tTestUpscaleCap\n"));
	free(out);
	free(err);

	char *nosuch[] = { "hpa", "--case", "99999", path, NULL };
	assert_int_equal(run_cli(4, nosuch, &out, &err), 2);
	assert_non_null(strstr(err, "holds only"));
	free(out);
	free(err);

	/* every public case runs and explains without error */
	char num[16];
	for (int i = 0;; i++) {
		snprintf(num, sizeof num, "%d", i);
		char *each[] = { "hpa", "--case", num, path, NULL };
		int rc = run_cli(4, each, &out, &err);
		bool past_end = rc == 2 && strstr(err, "holds only");
		if (!past_end && rc != 0)
			fail_msg("case %d: exit %d: %s", i, rc, err);
		free(out);
		free(err);
		if (past_end) {
			assert_true(i >= 30);
			break;
		}
	}
}

/* The shared case loader: a reconcile case with an Object metric, a per-side
 * tolerance, events and history, run through hpa_reconcile. */
static void test_case_loader_reconcile(void **state)
{
	static const char json[] =
		"{\"name\":\"x\",\"kind\":\"reconcile\",\"input\":{\"min_replicas\":1,\"max_replicas\":50,"
		"\"spec_replicas\":10,\"status_replicas\":10,\"ready_pods\":10,"
		"\"behavior\":{\"scale_up\":{\"stabilization_window_seconds\":0,\"select_policy\":\"Max\","
		"\"policies\":[{\"type\":\"Pods\",\"value\":3,\"period_seconds\":60}]},\"scale_down\":null},"
		"\"controller\":{\"tolerance\":{\"scale_down\":0.1,\"scale_up\":0.5}},"
		"\"recommendations\":[{\"replicas\":10,\"age_seconds\":30}],"
		"\"scale_up_events\":[{\"replica_change\":2,\"age_seconds\":59.5},{\"replica_change\":9,\"age_seconds\":60}],"
		"\"scale_down_events\":[],"
		"\"metrics\":[{\"type\":\"Object\",\"target_type\":\"Value\",\"target_value_milli\":\"1000\","
		"\"value_milli\":1600}]}}";
	cJSON *c = cJSON_Parse(json);
	struct hpa_case *hc = calloc(1, sizeof *hc);
	char err[256] = "";
	(void)state;

	assert_non_null(c);
	assert_non_null(hc);
	assert_int_equal(hpa_case_load(c, NULL, hc, err, sizeof err), 0);
	assert_int_equal(hc->kind, HPA_CASE_RECONCILE);
	assert_true(hc->state.seeded);
	assert_int_equal(hc->state.up.n, 2);
	assert_true(hc->state.up.v[0].at_ms == HPA_CASE_NOW_MS - 59500);
	assert_int_equal(hpa_case_run(hc, err, sizeof err), 0);
	/* ratio 1.6 > 1.5: ceil(16) = 16; Pods 3 from start 10 - 2 = 8 → 11 */
	assert_int_equal(hc->result.prenormalized, 16);
	assert_int_equal(hc->result.desired, 11);
	assert_int_equal(hc->result.limited_reason, HPA_REASON_SCALE_UP_LIMIT);
	assert_int_equal(hc->result.limit.policies[0].added, 2);
	/* the 60 s event was outdated and its slot reused */
	assert_int_equal(hc->state.up.n, 2);
	assert_int_equal(hc->state.up.v[1].change, 1);
	hpa_case_release(hc);
	free(hc);
	cJSON_Delete(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_tolerance_ties_are_within),
		cmocka_unit_test(test_tolerance_asymmetric),
		cmocka_unit_test(test_value_sum_saturates_at_int64_max),
		cmocka_unit_test(test_value_replicas_saturate_at_int32_max),
		cmocka_unit_test(test_value_scale_from_zero),
		cmocka_unit_test(test_value_errors_and_readiness),
		cmocka_unit_test(test_average_value_extremes),
		cmocka_unit_test(test_legacy_normalize),
		cmocka_unit_test(test_legacy_stabilize_window_boundary),
		cmocka_unit_test(test_stabilize_windows),
		cmocka_unit_test(test_stabilize_reuses_last_old_slot),
		cmocka_unit_test(test_rules_defaults_field_by_field),
		cmocka_unit_test(test_disabled_select_policy),
		cmocka_unit_test(test_events_at_period_boundary),
		cmocka_unit_test(test_percent_rounding_and_select),
		cmocka_unit_test(test_int32_wrap_in_limits),
		cmocka_unit_test(test_behavior_scale_from_zero),
		cmocka_unit_test(test_store_scale_event),
		cmocka_unit_test(test_history_cap),
		cmocka_unit_test(test_reconcile_legacy_scale_down_waits_for_window),
		cmocka_unit_test(test_reconcile_behavior_rate_and_event_boundary),
		cmocka_unit_test(test_reconcile_partial_metric_failure),
		cmocka_unit_test(test_reconcile_out_of_range_paths),
		cmocka_unit_test(test_reconcile_scale_from_zero),
		cmocka_unit_test(test_reconcile_faults_and_bad_calls),
		cmocka_unit_test(test_reconcile_tolerance_override),
		cmocka_unit_test(test_reconcile_average_value_uses_status_replicas),
		cmocka_unit_test(test_manifest_good),
		cmocka_unit_test(test_manifest_bad),
		cmocka_unit_test(test_spec_validate),
		cmocka_unit_test(test_case_loader_reconcile),
		cmocka_unit_test(test_cli_explains_a_case),
		cmocka_unit_test(test_cli_bad_input),
		cmocka_unit_test(test_cli_vector_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
