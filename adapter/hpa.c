/*
 * hpa.c — the HPA controller's arithmetic and a one-HPA model of its reconcile
 * loop. The behaviour is described in HPA.md; the contract of every function is
 * in hpa.h. No I/O, no clock: time comes in as now_ms.
 */
#include "hpa.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantity.h"

/* ======================================================================== */
/* Names                                                                    */
/* ======================================================================== */

static const char *const cond_type_names[HPA_COND_COUNT] = {
	[HPA_COND_ABLE_TO_SCALE] = "AbleToScale",
	[HPA_COND_SCALING_ACTIVE] = "ScalingActive",
	[HPA_COND_SCALING_LIMITED] = "ScalingLimited",
};

static const char *const reason_names[HPA_REASON_COUNT] = {
	[HPA_REASON_NONE] = "",
	[HPA_REASON_SUCCEEDED_GET_SCALE] = "SucceededGetScale",
	[HPA_REASON_FAILED_GET_SCALE] = "FailedGetScale",
	[HPA_REASON_READY_FOR_NEW_SCALE] = "ReadyForNewScale",
	[HPA_REASON_SCALE_DOWN_STABILIZED] = "ScaleDownStabilized",
	[HPA_REASON_SCALE_UP_STABILIZED] = "ScaleUpStabilized",
	[HPA_REASON_SUCCEEDED_RESCALE] = "SucceededRescale",
	[HPA_REASON_FAILED_UPDATE_SCALE] = "FailedUpdateScale",
	[HPA_REASON_VALID_METRIC_FOUND] = "ValidMetricFound",
	[HPA_REASON_SCALING_DISABLED] = "ScalingDisabled",
	[HPA_REASON_INVALID_SELECTOR] = "InvalidSelector",
	[HPA_REASON_AMBIGUOUS_SELECTOR] = "AmbiguousSelector",
	[HPA_REASON_FAILED_GET_EXTERNAL_METRIC] = "FailedGetExternalMetric",
	[HPA_REASON_FAILED_GET_OBJECT_METRIC] = "FailedGetObjectMetric",
	[HPA_REASON_FAILED_GET_PODS_METRIC] = "FailedGetPodsMetric",
	[HPA_REASON_FAILED_GET_RESOURCE_METRIC] = "FailedGetResourceMetric",
	[HPA_REASON_FAILED_GET_CONTAINER_RESOURCE_METRIC] = "FailedGetContainerResourceMetric",
	[HPA_REASON_INVALID_METRIC_SOURCE_TYPE] = "InvalidMetricSourceType",
	[HPA_REASON_DESIRED_WITHIN_RANGE] = "DesiredWithinRange",
	[HPA_REASON_TOO_MANY_REPLICAS] = "TooManyReplicas",
	[HPA_REASON_TOO_FEW_REPLICAS] = "TooFewReplicas",
	[HPA_REASON_SCALE_UP_LIMIT] = "ScaleUpLimit",
	[HPA_REASON_SCALE_DOWN_LIMIT] = "ScaleDownLimit",
};

const char *hpa_cond_type_name(enum hpa_cond_type t)
{
	if ((unsigned)t >= HPA_COND_COUNT)
		return "?";
	return cond_type_names[t];
}

const char *hpa_reason_name(enum hpa_reason r)
{
	if ((unsigned)r >= HPA_REASON_COUNT)
		return "?";
	return reason_names[r];
}

int hpa_cond_type_parse(const char *s, enum hpa_cond_type *out)
{
	for (int i = 0; s && i < HPA_COND_COUNT; i++) {
		if (!strcmp(s, cond_type_names[i])) {
			*out = (enum hpa_cond_type)i;
			return 0;
		}
	}
	return -1;
}

int hpa_reason_parse(const char *s, enum hpa_reason *out)
{
	for (int i = 1; s && i < HPA_REASON_COUNT; i++) {
		if (!strcmp(s, reason_names[i])) {
			*out = (enum hpa_reason)i;
			return 0;
		}
	}
	return -1;
}

const char *hpa_policy_type_name(enum hpa_policy_type t)
{
	return t == HPA_POLICY_PODS ? "Pods" : t == HPA_POLICY_PERCENT ? "Percent" : "?";
}

const char *hpa_select_name(enum hpa_select s)
{
	switch (s) {
	case HPA_SELECT_MAX:
		return "Max";
	case HPA_SELECT_MIN:
		return "Min";
	case HPA_SELECT_DISABLED:
		return "Disabled";
	}
	return "?";
}

const char *hpa_source_name(enum hpa_source s)
{
	switch (s) {
	case HPA_SOURCE_EXTERNAL:
		return "External";
	case HPA_SOURCE_OBJECT:
		return "Object";
	case HPA_SOURCE_PODS:
		return "Pods";
	case HPA_SOURCE_RESOURCE:
		return "Resource";
	case HPA_SOURCE_CONTAINER_RESOURCE:
		return "ContainerResource";
	case HPA_SOURCE_UNKNOWN:
		break;
	}
	return "?";
}

const char *hpa_target_name(enum hpa_target t)
{
	return t == HPA_TARGET_VALUE ? "Value" : t == HPA_TARGET_AVERAGE_VALUE ? "AverageValue" : "";
}

/* ======================================================================== */
/* Go numerics                                                              */
/* ======================================================================== */

/* int32(x) for a float64 on amd64: truncation; NaN and out of range give INT32_MIN. */
static int32_t go_int32(double x)
{
	if (!(x > -2147483649.0 && x < 2147483648.0))
		return INT32_MIN;
	return (int32_t)x;
}

/* int64(x) for a float64 on amd64: truncation; NaN and out of range give INT64_MIN. */
static int64_t go_int64(double x)
{
	if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
		return INT64_MIN;
	return (int64_t)x;
}

/* Go's + and - on int32 and int64 wrap around. */
static int32_t add32(int32_t a, int32_t b)
{
	return (int32_t)((uint32_t)a + (uint32_t)b);
}

static int32_t sub32(int32_t a, int32_t b)
{
	return (int32_t)((uint32_t)a - (uint32_t)b);
}

static int64_t add64(int64_t a, int64_t b)
{
	return (int64_t)((uint64_t)a + (uint64_t)b);
}

/* math.Max: NaN wins, unlike C's fmax. */
static double go_fmax(double a, double b)
{
	if (isnan(a) || isnan(b))
		return NAN;
	return a > b ? a : b;
}

static int32_t min32(int32_t a, int32_t b)
{
	return a <= b ? a : b;
}

static int32_t max32(int32_t a, int32_t b)
{
	return a >= b ? a : b;
}

/* now - at, saturated (records far in the past or future must not overflow). */
static int64_t age_of(int64_t at_ms, int64_t now_ms)
{
	int64_t age;
	if (__builtin_sub_overflow(now_ms, at_ms, &age))
		return at_ms > now_ms ? INT64_MIN : INT64_MAX;
	return age;
}

/* Epsilon rule (hpa.h): inside a window of w seconds iff age < w s. */
static bool younger_than(int64_t at_ms, int64_t now_ms, int32_t seconds)
{
	return age_of(at_ms, now_ms) < (int64_t)seconds * 1000;
}

/* ======================================================================== */
/* Scaling rules                                                            */
/* ======================================================================== */

void hpa_rules_init(struct hpa_rules *r)
{
	memset(r, 0, sizeof *r);
}

void hpa_rules_resolve(const struct hpa_rules *given, enum hpa_direction dir,
		       int32_t downscale_window_seconds, struct hpa_rules *out)
{
	struct hpa_rules r;

	if (given)
		r = *given;
	else
		hpa_rules_init(&r);
	if (!r.has_window) {
		r.has_window = true;
		r.stabilization_window_seconds = dir == HPA_DIR_UP ? 0 : downscale_window_seconds;
	}
	if (!r.has_select) {
		r.has_select = true;
		r.select = HPA_SELECT_MAX;
	}
	if (!r.has_policies) {
		r.has_policies = true;
		if (dir == HPA_DIR_UP) {
			r.npolicies = 2;
			r.policies[0] = (struct hpa_policy){ HPA_POLICY_PODS, 4, 15 };
			r.policies[1] = (struct hpa_policy){ HPA_POLICY_PERCENT, 100, 15 };
		} else {
			r.npolicies = 1;
			r.policies[0] = (struct hpa_policy){ HPA_POLICY_PERCENT, 100, 15 };
		}
	}
	*out = r;
}

/* ======================================================================== */
/* History lists                                                            */
/* ======================================================================== */

/* Makes room for `extra` more entries (growth doubles, capped). 0 or -1. */
static int grow(void **v, size_t *cap, size_t n, size_t extra, size_t elem)
{
	if (n + extra > HPA_HISTORY_MAX)
		return -1;
	if (n + extra <= *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 16;
	while (ncap < n + extra)
		ncap *= 2;
	if (ncap > HPA_HISTORY_MAX)
		ncap = HPA_HISTORY_MAX;
	void *nv = realloc(*v, ncap * elem);
	if (!nv)
		return -1;
	*v = nv;
	*cap = ncap;
	return 0;
}

static int recs_reserve(struct hpa_recs *h, size_t extra)
{
	void *v = h->v;
	int rc = grow(&v, &h->cap, h->n, extra, sizeof *h->v);
	h->v = v;
	return rc;
}

static int events_reserve(struct hpa_events *e, size_t extra)
{
	void *v = e->v;
	int rc = grow(&v, &e->cap, e->n, extra, sizeof *e->v);
	e->v = v;
	return rc;
}

void hpa_recs_init(struct hpa_recs *h)
{
	memset(h, 0, sizeof *h);
}

void hpa_recs_release(struct hpa_recs *h)
{
	free(h->v);
	memset(h, 0, sizeof *h);
}

int hpa_recs_push(struct hpa_recs *h, int32_t replicas, int64_t at_ms)
{
	if (recs_reserve(h, 1))
		return -1;
	h->v[h->n++] = (struct hpa_recommendation){ replicas, at_ms };
	return 0;
}

void hpa_events_init(struct hpa_events *e)
{
	memset(e, 0, sizeof *e);
}

void hpa_events_release(struct hpa_events *e)
{
	free(e->v);
	memset(e, 0, sizeof *e);
}

int hpa_events_push(struct hpa_events *e, int32_t change, int64_t at_ms, bool outdated)
{
	if (events_reserve(e, 1))
		return -1;
	e->v[e->n++] = (struct hpa_event){ change, at_ms, outdated };
	return 0;
}

/* ======================================================================== */
/* Metric rules (replica_calculator.go)                                     */
/* ======================================================================== */

bool hpa_tolerance_within(struct hpa_tolerance t, double ratio)
{
	return (1.0 - t.scale_down) <= ratio && ratio <= (1.0 + t.scale_up);
}

static void eval_reset(struct hpa_metric_eval *out)
{
	memset(out, 0, sizeof *out);
}

static int eval_fail(struct hpa_metric_eval *out, const char *why)
{
	out->error = why;
	out->replicas = 0;
	return -1;
}

/*
 * getUsageRatioReplicaCount: the Value rule once the usage is known. Pods are
 * listed only when the ratio is outside the tolerance (Go lists them there).
 */
static int usage_ratio_rule(int32_t current, int32_t listed_pods, int32_t ready_pods,
			    int64_t usage, int64_t target, struct hpa_tolerance tol,
			    struct hpa_metric_eval *out)
{
	double ratio = (double)usage / (double)target;

	out->sum_milli = usage;
	out->usage_milli = usage;
	out->ratio = ratio;
	if (current == 0) {
		out->rule = HPA_RULE_FROM_ZERO;
		out->replicas = go_int32(ceil(ratio));
		return 0;
	}
	out->tolerance_tested = true;
	if (hpa_tolerance_within(tol, ratio)) {
		out->within = true;
		out->rule = HPA_RULE_WITHIN_TOLERANCE;
		out->replicas = current;
		return 0;
	}
	if (listed_pods <= 0)
		return eval_fail(out, "no pods returned by selector while calculating replica count");
	out->rule = HPA_RULE_READY_PODS;
	out->basis = ready_pods;
	double x = ratio * (double)ready_pods;
	if (x > (double)INT32_MAX) {
		out->replicas = INT32_MAX;
		out->capped = true;
	} else {
		out->replicas = go_int32(ceil(x));
	}
	return 0;
}

int hpa_external_value(int32_t current, int32_t listed_pods, int32_t ready_pods,
		       const int64_t *values, size_t nvalues, int64_t target_milli,
		       struct hpa_tolerance tol, struct hpa_metric_eval *out)
{
	int64_t usage = 0;

	eval_reset(out);
	if (nvalues == 0)
		return eval_fail(out, "no metrics returned from external metrics API");
	if (target_milli <= 0)
		return eval_fail(out, "target value must be positive");
	for (size_t i = 0; i < nvalues; i++) {
		int64_t v = values[i];
		if (v > 0 && usage > INT64_MAX - v) {
			usage = INT64_MAX;
			break;
		}
		usage = add64(usage, v);
	}
	return usage_ratio_rule(current, listed_pods, ready_pods, usage, target_milli, tol, out);
}

/* The per-pod rule shared by External and Object AverageValue targets. */
static int per_pod_rule(int32_t status_replicas, int64_t usage, int64_t target,
			struct hpa_tolerance tol, bool saturate, struct hpa_metric_eval *out)
{
	out->sum_milli = usage;
	out->basis = status_replicas;
	out->tolerance_tested = true;
	out->ratio = (double)usage / ((double)target * (double)status_replicas);
	out->replicas = status_replicas;
	out->rule = HPA_RULE_WITHIN_TOLERANCE;
	out->within = hpa_tolerance_within(tol, out->ratio);
	if (!out->within) {
		double r = ceil((double)usage / (double)target);
		out->rule = HPA_RULE_PER_POD;
		if (saturate && r > (double)INT32_MAX) {
			out->replicas = INT32_MAX;
			out->capped = true;
		} else {
			out->replicas = go_int32(r);
		}
	}
	if (saturate && (double)usage >= 9223372036854775807.0)
		out->usage_milli = INT64_MAX;
	else
		out->usage_milli = go_int64(ceil((double)usage / (double)status_replicas));
	return 0;
}

int hpa_external_average_value(int32_t status_replicas, const int64_t *values, size_t nvalues,
			       int64_t target_milli, struct hpa_tolerance tol,
			       struct hpa_metric_eval *out)
{
	int64_t usage = 0;

	eval_reset(out);
	if (nvalues == 0)
		return eval_fail(out, "no metrics returned from external metrics API");
	if (target_milli <= 0)
		return eval_fail(out, "target average value must be positive");
	for (size_t i = 0; i < nvalues; i++) {
		usage = add64(usage, values[i]);
		if (usage < 0) {
			usage = INT64_MAX;
			break;
		}
	}
	return per_pod_rule(status_replicas, usage, target_milli, tol, true, out);
}

int hpa_object_average_value(int32_t status_replicas, int64_t value_milli, int64_t target_milli,
			     struct hpa_tolerance tol, struct hpa_metric_eval *out)
{
	eval_reset(out);
	if (target_milli <= 0)
		return eval_fail(out, "target average value must be positive");
	return per_pod_rule(status_replicas, value_milli, target_milli, tol, false, out);
}

/* ======================================================================== */
/* Stabilisation                                                            */
/* ======================================================================== */

static void stab_reset(struct hpa_stabilization *d, int32_t desired)
{
	memset(d, 0, sizeof *d);
	d->desired = desired;
	d->held_age_ms = -1;
}

/* Writes rec over slot `old` when one was found, else appends (room was checked). */
static void recs_store(struct hpa_recs *h, bool found, size_t old, int32_t replicas,
		       int64_t now_ms, struct hpa_stabilization *d)
{
	if (found) {
		h->v[old] = (struct hpa_recommendation){ replicas, now_ms };
		d->replaced = true;
		d->slot = old;
	} else {
		h->v[h->n] = (struct hpa_recommendation){ replicas, now_ms };
		d->slot = h->n++;
	}
	d->history_len = h->n;
}

int hpa_legacy_stabilize(struct hpa_recs *h, int32_t window_seconds, int32_t desired,
			 int64_t now_ms, int32_t *stabilized, struct hpa_stabilization *detail)
{
	struct hpa_stabilization local;
	struct hpa_stabilization *d = detail ? detail : &local;
	int32_t best = desired;
	bool found = false;
	size_t old = 0;
	long best_idx = -1;

	stab_reset(d, desired);
	for (size_t i = 0; i < h->n; i++) {
		if (!younger_than(h->v[i].at_ms, now_ms, window_seconds)) {
			found = true;
			old = i;
		} else if (h->v[i].replicas > best) {
			best = h->v[i].replicas;
			best_idx = (long)i;
		}
	}
	if (!found && recs_reserve(h, 1))
		return -1;
	d->stabilized = best;
	d->window_seconds = window_seconds;
	if (best != desired) {
		d->held_by = HPA_WINDOW_LEGACY;
		d->held_at = best;
		d->held_age_ms = age_of(h->v[best_idx].at_ms, now_ms);
	}
	recs_store(h, found, old, desired, now_ms, d);
	*stabilized = best;
	return 0;
}

int32_t hpa_legacy_normalize(int32_t current, int32_t desired, int32_t min, int32_t max,
			     double factor, double minimum, enum hpa_reason *reason,
			     int32_t *up_limit)
{
	int32_t limit = go_int32(go_fmax(factor * (double)current, minimum));
	int32_t allowed = max;
	enum hpa_reason why = HPA_REASON_TOO_MANY_REPLICAS;
	enum hpa_reason dummy;

	if (!reason)
		reason = &dummy;
	if (up_limit)
		*up_limit = limit;
	if (max > limit) {
		allowed = limit;
		why = HPA_REASON_SCALE_UP_LIMIT;
	}
	if (desired < min) {
		*reason = HPA_REASON_TOO_FEW_REPLICAS;
		return min;
	}
	if (desired > allowed) {
		*reason = why;
		return allowed;
	}
	*reason = HPA_REASON_DESIRED_WITHIN_RANGE;
	return desired;
}

int hpa_stabilize(struct hpa_recs *h, int32_t current, int32_t desired,
		  int32_t up_window_seconds, int32_t down_window_seconds, int64_t now_ms,
		  int32_t *stabilized, enum hpa_reason *why, struct hpa_stabilization *detail)
{
	struct hpa_stabilization local;
	struct hpa_stabilization *d = detail ? detail : &local;
	int32_t up_low = desired, down_high = desired;
	long up_idx = -1, down_idx = -1;
	bool found = false;
	size_t old = 0;

	stab_reset(d, desired);
	for (size_t i = 0; i < h->n; i++) {
		const struct hpa_recommendation *rec = &h->v[i];
		bool in_up = younger_than(rec->at_ms, now_ms, up_window_seconds);
		bool in_down = younger_than(rec->at_ms, now_ms, down_window_seconds);
		if (in_up && rec->replicas < up_low) {
			up_low = rec->replicas;
			up_idx = (long)i;
		}
		if (in_down && rec->replicas > down_high) {
			down_high = rec->replicas;
			down_idx = (long)i;
		}
		if (!in_up && !in_down) {
			found = true;
			old = i;
		}
	}
	if (!found && recs_reserve(h, 1))
		return -1;

	int32_t s = current;
	if (s < up_low)
		s = up_low;
	if (s > down_high)
		s = down_high;

	d->stabilized = s;
	d->up_low = up_low;
	d->down_high = down_high;
	if (s != desired) {
		bool up = desired >= current;
		long idx = up ? up_idx : down_idx;
		d->held_by = up ? HPA_WINDOW_UP : HPA_WINDOW_DOWN;
		d->window_seconds = up ? up_window_seconds : down_window_seconds;
		d->held_at = s;
		d->held_age_ms = idx >= 0 ? age_of(h->v[idx].at_ms, now_ms) : -1;
	}
	if (why)
		*why = desired >= current ? HPA_REASON_SCALE_UP_STABILIZED : HPA_REASON_SCALE_DOWN_STABILIZED;
	recs_store(h, found, old, desired, now_ms, d);
	*stabilized = s;
	return 0;
}

/* ======================================================================== */
/* Rate limits (behavior policies)                                          */
/* ======================================================================== */

int32_t hpa_replicas_change_in_period(const struct hpa_events *ev, int32_t period_seconds,
				      int64_t now_ms)
{
	int32_t sum = 0;
	for (size_t i = 0; ev && i < ev->n; i++)
		if (younger_than(ev->v[i].at_ms, now_ms, period_seconds))
			sum = add32(sum, ev->v[i].change);
	return sum;
}

/*
 * Both limit functions: evaluate every policy from its period start and combine.
 * up: Max keeps the largest proposal, Min the smallest; down: the reverse.
 */
static int32_t policy_limit(enum hpa_direction dir, int32_t current, const struct hpa_events *up,
			    const struct hpa_events *down, const struct hpa_rules *rules,
			    int64_t now_ms, struct hpa_limit_detail *detail)
{
	struct hpa_limit_detail local;
	struct hpa_limit_detail *d = detail ? detail : &local;
	bool keep_max;
	int32_t result;

	memset(d, 0, sizeof *d);
	d->dir = dir;
	d->select = rules->select;
	d->chosen = -1;
	if (rules->select == HPA_SELECT_DISABLED) {
		d->raw = current;
		return current;
	}
	keep_max = (dir == HPA_DIR_UP) == (rules->select == HPA_SELECT_MAX);
	result = keep_max ? INT32_MIN : INT32_MAX;
	d->npolicies = rules->npolicies < HPA_MAX_POLICIES ? rules->npolicies : HPA_MAX_POLICIES;
	for (size_t i = 0; i < d->npolicies; i++) {
		const struct hpa_policy *p = &rules->policies[i];
		struct hpa_policy_eval *pe = &d->policies[i];
		int32_t proposed;

		pe->added = hpa_replicas_change_in_period(up, p->period_seconds, now_ms);
		pe->deleted = hpa_replicas_change_in_period(down, p->period_seconds, now_ms);
		pe->period_start = add32(sub32(current, pe->added), pe->deleted);
		if (p->type == HPA_POLICY_PODS) {
			proposed = dir == HPA_DIR_UP ? add32(pe->period_start, p->value)
						     : sub32(pe->period_start, p->value);
		} else if (dir == HPA_DIR_UP) {
			proposed = go_int32(ceil((double)pe->period_start * (1 + (double)p->value / 100)));
		} else {
			proposed = go_int32((double)pe->period_start * (1 - (double)p->value / 100));
		}
		pe->proposed = proposed;
		int32_t next = keep_max ? max32(result, proposed) : min32(result, proposed);
		if (i == 0 || next != result)
			d->chosen = (int)i;
		result = next;
	}
	d->raw = result;
	return result;
}

int32_t hpa_scale_up_limit(int32_t current, const struct hpa_events *up,
			   const struct hpa_events *down, const struct hpa_rules *rules,
			   int64_t now_ms, struct hpa_limit_detail *detail)
{
	return policy_limit(HPA_DIR_UP, current, up, down, rules, now_ms, detail);
}

int32_t hpa_scale_down_limit(int32_t current, const struct hpa_events *up,
			     const struct hpa_events *down, const struct hpa_rules *rules,
			     int64_t now_ms, struct hpa_limit_detail *detail)
{
	return policy_limit(HPA_DIR_DOWN, current, up, down, rules, now_ms, detail);
}

int32_t hpa_behavior_rate(int32_t current, int32_t desired, int32_t min, int32_t max,
			  const struct hpa_rules *up_rules, const struct hpa_rules *down_rules,
			  const struct hpa_events *up, const struct hpa_events *down,
			  int64_t now_ms, enum hpa_reason *reason, struct hpa_limit_detail *detail)
{
	struct hpa_limit_detail local;
	struct hpa_limit_detail *d = detail ? detail : &local;
	enum hpa_reason dummy;

	if (!reason)
		reason = &dummy;
	memset(d, 0, sizeof *d);
	d->chosen = -1;
	if (desired > current) {
		int32_t lim = hpa_scale_up_limit(current, up, down, up_rules, now_ms, d);
		lim = max32(lim, current);
		d->limit = lim;
		d->bound = max;
		d->bound_reason = HPA_REASON_TOO_MANY_REPLICAS;
		if (max > lim) {
			d->bound = lim;
			d->bound_reason = HPA_REASON_SCALE_UP_LIMIT;
		}
		if (desired > d->bound) {
			*reason = d->bound_reason;
			return d->bound;
		}
	} else if (desired < current) {
		int32_t lim = hpa_scale_down_limit(current, up, down, down_rules, now_ms, d);
		lim = min32(lim, current);
		d->limit = lim;
		d->bound = min;
		d->bound_reason = HPA_REASON_TOO_FEW_REPLICAS;
		if (min < lim) {
			d->bound = lim;
			d->bound_reason = HPA_REASON_SCALE_DOWN_LIMIT;
		}
		if (desired < d->bound) {
			*reason = d->bound_reason;
			return d->bound;
		}
	}
	*reason = HPA_REASON_DESIRED_WITHIN_RANGE;
	return desired;
}

/* ======================================================================== */
/* Scale events                                                             */
/* ======================================================================== */

static int32_t longest_period(const struct hpa_rules *r)
{
	int32_t longest = 0;
	for (size_t i = 0; i < r->npolicies && i < HPA_MAX_POLICIES; i++)
		if (r->policies[i].period_seconds > longest)
			longest = r->policies[i].period_seconds;
	return longest;
}

int hpa_store_scale_event(struct hpa_events *up, struct hpa_events *down,
			  const struct hpa_rules *up_rules, const struct hpa_rules *down_rules,
			  int32_t prev, int32_t next, int64_t now_ms)
{
	struct hpa_events *ev;
	const struct hpa_rules *rules;
	int32_t change;
	bool found = false;
	size_t old = 0;

	if (!up_rules || !down_rules)
		return 0;
	if (next > prev) {
		ev = up;
		rules = up_rules;
		change = sub32(next, prev);
	} else {
		ev = down;
		rules = down_rules;
		change = sub32(prev, next);
	}
	int32_t longest = longest_period(rules);
	for (size_t i = 0; i < ev->n; i++) {
		if (!younger_than(ev->v[i].at_ms, now_ms, longest))
			ev->v[i].outdated = true;
		if (ev->v[i].outdated) {
			found = true;
			old = i;
		}
	}
	if (found) {
		ev->v[old] = (struct hpa_event){ change, now_ms, false };
		return 0;
	}
	return hpa_events_push(ev, change, now_ms, false);
}

/* ======================================================================== */
/* Spec                                                                     */
/* ======================================================================== */

void hpa_controller_defaults(struct hpa_controller *c)
{
	memset(c, 0, sizeof *c);
	c->tolerance.scale_down = 0.1;
	c->tolerance.scale_up = 0.1;
	c->downscale_window_seconds = 300;
	c->scale_up_limit_factor = 2.0;
	c->scale_up_limit_minimum = 4.0;
	c->sync_period_seconds = 15;
	c->configurable_tolerance = true;
}

void hpa_spec_init(struct hpa_spec *s)
{
	memset(s, 0, sizeof *s);
	s->min_replicas = 1;
	s->max_replicas = 1;
	hpa_rules_init(&s->scale_up);
	hpa_rules_init(&s->scale_down);
	hpa_controller_defaults(&s->controller);
}

struct hpa_tolerance hpa_spec_tolerances(const struct hpa_spec *s)
{
	struct hpa_tolerance t = s->controller.tolerance;

	if (!s->controller.configurable_tolerance || !s->has_behavior)
		return t;
	if (s->has_scale_up && s->scale_up.has_tolerance)
		t.scale_up = s->scale_up.tolerance;
	if (s->has_scale_down && s->scale_down.has_tolerance)
		t.scale_down = s->scale_down.tolerance;
	return t;
}

/* The rules checks of validation.go (validateScalingRules), path-prefixed. */
static int rules_check(const struct hpa_rules *r, const char *path, char *err, size_t errlen)
{
	if (r->has_window && (r->stabilization_window_seconds < 0 ||
			      r->stabilization_window_seconds > HPA_MAX_WINDOW_S)) {
		snprintf(err, errlen, "%s.stabilizationWindowSeconds: must be in 0..%d", path,
			 HPA_MAX_WINDOW_S);
		return -1;
	}
	if (r->has_select && r->select != HPA_SELECT_MAX && r->select != HPA_SELECT_MIN &&
	    r->select != HPA_SELECT_DISABLED) {
		snprintf(err, errlen, "%s.selectPolicy: must be 'Max', 'Min' or 'Disabled'", path);
		return -1;
	}
	if (r->has_policies && r->npolicies == 0) {
		snprintf(err, errlen, "%s.policies: must specify at least one policy", path);
		return -1;
	}
	if (r->npolicies > HPA_MAX_POLICIES) {
		snprintf(err, errlen, "%s.policies: at most %d policies are supported", path,
			 HPA_MAX_POLICIES);
		return -1;
	}
	for (size_t i = 0; r->has_policies && i < r->npolicies; i++) {
		const struct hpa_policy *p = &r->policies[i];
		if (p->type != HPA_POLICY_PODS && p->type != HPA_POLICY_PERCENT) {
			snprintf(err, errlen, "%s.policies[%zu].type: must be 'Pods' or 'Percent'", path, i);
			return -1;
		}
		if (p->value <= 0) {
			snprintf(err, errlen, "%s.policies[%zu].value: must be greater than zero", path, i);
			return -1;
		}
		if (p->period_seconds < 1 || p->period_seconds > HPA_MAX_PERIOD_S) {
			snprintf(err, errlen, "%s.policies[%zu].periodSeconds: must be in 1..%d", path, i,
				 HPA_MAX_PERIOD_S);
			return -1;
		}
	}
	if (r->has_tolerance && !(r->tolerance >= 0 && r->tolerance < INFINITY)) {
		snprintf(err, errlen, "%s.tolerance: must be a finite number >= 0", path);
		return -1;
	}
	return 0;
}

static int bounds_check(int32_t min, int32_t max, char *err, size_t errlen)
{
	if (min < 0) {
		snprintf(err, errlen, "spec.minReplicas: must be greater than or equal to 0");
		return -1;
	}
	if (max < 1) {
		snprintf(err, errlen, "spec.maxReplicas: must be greater than or equal to 1");
		return -1;
	}
	if (max < min) {
		snprintf(err, errlen, "spec.maxReplicas: must be greater than or equal to 'minReplicas' (%d)",
			 (int)min);
		return -1;
	}
	return 0;
}

int hpa_spec_validate(const struct hpa_spec *s, char *err, size_t errlen)
{
	if (bounds_check(s->min_replicas, s->max_replicas, err, errlen))
		return -1;
	if (s->nmetrics == 0 || s->nmetrics > HPA_MAX_METRICS) {
		snprintf(err, errlen, "spec.metrics: must hold 1..%d metrics", HPA_MAX_METRICS);
		return -1;
	}
	for (size_t i = 0; i < s->nmetrics; i++) {
		const struct hpa_metric_spec *m = &s->metrics[i];
		if (m->source != HPA_SOURCE_EXTERNAL && m->source != HPA_SOURCE_OBJECT)
			continue;
		if (m->target != HPA_TARGET_VALUE && m->target != HPA_TARGET_AVERAGE_VALUE) {
			snprintf(err, errlen, "spec.metrics[%zu].target.type: must be 'Value' or 'AverageValue'", i);
			return -1;
		}
		if (m->target_milli <= 0) {
			snprintf(err, errlen, "spec.metrics[%zu].target: must be positive", i);
			return -1;
		}
	}
	if (s->has_behavior && s->has_scale_up && rules_check(&s->scale_up, "spec.behavior.scaleUp", err, errlen))
		return -1;
	if (s->has_behavior && s->has_scale_down &&
	    rules_check(&s->scale_down, "spec.behavior.scaleDown", err, errlen))
		return -1;
	if (s->controller.downscale_window_seconds < 0) {
		snprintf(err, errlen, "controller.downscaleStabilizationWindowSeconds: must not be negative");
		return -1;
	}
	return 0;
}

/* ======================================================================== */
/* Reconcile                                                                */
/* ======================================================================== */

void hpa_state_init(struct hpa_state *st)
{
	memset(st, 0, sizeof *st);
}

void hpa_state_release(struct hpa_state *st)
{
	hpa_recs_release(&st->recs);
	hpa_events_release(&st->up);
	hpa_events_release(&st->down);
	memset(st, 0, sizeof *st);
}

/* setCondition: replace by type in place, or append. */
static void cond_set(struct hpa_state *st, enum hpa_cond_type type, bool status, enum hpa_reason reason)
{
	for (size_t i = 0; i < st->nconditions; i++) {
		if (st->conditions[i].type == type) {
			st->conditions[i].status = status;
			st->conditions[i].reason = reason;
			return;
		}
	}
	if (st->nconditions < HPA_COND_COUNT)
		st->conditions[st->nconditions++] = (struct hpa_condition){ type, status, reason };
}

static enum hpa_reason source_fail_reason(enum hpa_source s)
{
	switch (s) {
	case HPA_SOURCE_EXTERNAL:
		return HPA_REASON_FAILED_GET_EXTERNAL_METRIC;
	case HPA_SOURCE_OBJECT:
		return HPA_REASON_FAILED_GET_OBJECT_METRIC;
	case HPA_SOURCE_PODS:
		return HPA_REASON_FAILED_GET_PODS_METRIC;
	case HPA_SOURCE_RESOURCE:
		return HPA_REASON_FAILED_GET_RESOURCE_METRIC;
	case HPA_SOURCE_CONTAINER_RESOURCE:
		return HPA_REASON_FAILED_GET_CONTAINER_RESOURCE_METRIC;
	case HPA_SOURCE_UNKNOWN:
		break;
	}
	return HPA_REASON_INVALID_METRIC_SOURCE_TYPE;
}

/* computeReplicasForMetric for one metric: 0 with a proposal, or -1. */
static int metric_compute(const struct hpa_metric_spec *m, const struct hpa_metric_input *mi,
			  const struct hpa_inputs *in, struct hpa_tolerance tol,
			  struct hpa_metric_result *r)
{
	int32_t listed = max32(in->status_replicas, in->ready_pods);

	r->source = m->source;
	r->target = m->target;
	r->target_milli = m->target_milli;
	r->fail_reason = source_fail_reason(m->source);
	memset(&r->eval, 0, sizeof r->eval);
	if (m->source == HPA_SOURCE_UNKNOWN) {
		r->eval.error = "unknown metric source type";
		return -1;
	}
	if (mi->fetch_error) {
		r->eval.error = "unable to fetch the metric";
		return -1;
	}
	if (mi->has_proposal) {
		r->precomputed = true;
		r->eval.replicas = mi->proposal;
		return 0;
	}
	switch (m->source) {
	case HPA_SOURCE_EXTERNAL:
		if (m->target == HPA_TARGET_VALUE)
			return hpa_external_value(in->spec_replicas, listed, in->ready_pods, mi->values_milli,
						  mi->nvalues, m->target_milli, tol, &r->eval);
		if (m->target == HPA_TARGET_AVERAGE_VALUE)
			return hpa_external_average_value(in->status_replicas, mi->values_milli, mi->nvalues,
							  m->target_milli, tol, &r->eval);
		r->eval.error = "invalid external metric source: neither a value target nor an average value target was set";
		return -1;
	case HPA_SOURCE_OBJECT:
		if (mi->nvalues != 1) {
			r->eval.error = "an object metric needs exactly one value";
			return -1;
		}
		if (m->target == HPA_TARGET_VALUE) {
			if (m->target_milli <= 0) {
				r->eval.error = "target value must be positive";
				return -1;
			}
			return usage_ratio_rule(in->spec_replicas, listed, in->ready_pods, mi->values_milli[0],
						m->target_milli, tol, &r->eval);
		}
		if (m->target == HPA_TARGET_AVERAGE_VALUE)
			return hpa_object_average_value(in->status_replicas, mi->values_milli[0],
							m->target_milli, tol, &r->eval);
		r->eval.error = "invalid object metric source: neither a value target nor an average value target was set";
		return -1;
	default:
		r->eval.error = "this metric type is only modelled with a precomputed proposal";
		return -1;
	}
}

/*
 * computeReplicasForMetrics: the maximum over the valid metrics. Returns -1 (the
 * Go -1 proposal) when every metric failed, or when some failed and the others
 * would scale down; the first failing metric's condition is set then.
 */
static int metrics_compute(const struct hpa_spec *spec, struct hpa_state *st,
			   const struct hpa_inputs *in, struct hpa_result *out)
{
	int32_t replicas = 0;

	out->first_invalid = -1;
	out->best_metric = -1;
	out->nmetrics = spec->nmetrics;
	for (size_t i = 0; i < spec->nmetrics; i++) {
		struct hpa_metric_result *r = &out->metrics[i];
		if (metric_compute(&spec->metrics[i], &in->metrics[i], in, out->tolerance, r)) {
			if (out->invalid_metrics == 0)
				out->first_invalid = (int)i;
			out->invalid_metrics++;
			continue;
		}
		r->ok = true;
		if (replicas == 0 || r->eval.replicas > replicas) {
			replicas = r->eval.replicas;
			out->best_metric = (int)i;
		}
	}
	out->proposal = replicas;
	if ((size_t)out->invalid_metrics >= spec->nmetrics ||
	    (out->invalid_metrics > 0 && replicas < in->spec_replicas)) {
		/* With no metrics at all Go sets an empty condition; we set none. */
		if (out->first_invalid >= 0)
			cond_set(st, HPA_COND_SCALING_ACTIVE, false, out->metrics[out->first_invalid].fail_reason);
		return -1;
	}
	cond_set(st, HPA_COND_SCALING_ACTIVE, true, HPA_REASON_VALID_METRIC_FOUND);
	return 0;
}

/* normalizeDesiredReplicas (legacy path). */
static int32_t normalize_legacy(const struct hpa_spec *spec, struct hpa_state *st, int32_t current,
				int32_t desired, int64_t now_ms, struct hpa_result *out)
{
	const struct hpa_controller *c = &spec->controller;
	enum hpa_reason reason;
	int32_t s = desired, up_limit;

	/* Cannot fail: hpa_reconcile reserved room. */
	(void)hpa_legacy_stabilize(&st->recs, c->downscale_window_seconds, desired, now_ms, &s, &out->stab);

	cond_set(st, HPA_COND_ABLE_TO_SCALE, true,
		 s != desired ? HPA_REASON_SCALE_DOWN_STABILIZED : HPA_REASON_READY_FOR_NEW_SCALE);
	int32_t r = hpa_legacy_normalize(current, s, out->min, out->max, c->scale_up_limit_factor,
					 c->scale_up_limit_minimum, &reason, &up_limit);
	out->limit.legacy = true;
	out->limit.dir = s > current ? HPA_DIR_UP : s < current ? HPA_DIR_DOWN : HPA_DIR_NONE;
	out->limit.chosen = -1;
	out->limit.raw = up_limit;
	out->limit.limit = up_limit;
	out->limit.bound = r;
	out->limit.bound_reason = reason;
	out->limited_reason = reason;
	cond_set(st, HPA_COND_SCALING_LIMITED, r != s, reason);
	return r;
}

/* normalizeDesiredReplicasWithBehaviors. */
static int32_t normalize_behavior(const struct hpa_spec *spec, struct hpa_state *st, int32_t current,
				  int32_t desired, int64_t now_ms, struct hpa_result *out)
{
	struct hpa_rules up, down;
	enum hpa_reason why, reason;

	hpa_rules_resolve(spec->has_scale_up ? &spec->scale_up : NULL, HPA_DIR_UP,
			  spec->controller.downscale_window_seconds, &up);
	hpa_rules_resolve(spec->has_scale_down ? &spec->scale_down : NULL, HPA_DIR_DOWN,
			  spec->controller.downscale_window_seconds, &down);
	int32_t s = desired;
	(void)hpa_stabilize(&st->recs, current, desired, up.stabilization_window_seconds,
			    down.stabilization_window_seconds, now_ms, &s, &why, &out->stab);
	cond_set(st, HPA_COND_ABLE_TO_SCALE, true, s != desired ? why : HPA_REASON_READY_FOR_NEW_SCALE);
	int32_t r = hpa_behavior_rate(current, s, out->min, out->max, &up, &down, &st->up, &st->down,
				      now_ms, &reason, &out->limit);
	out->limited_reason = reason;
	cond_set(st, HPA_COND_SCALING_LIMITED, r != s, reason);
	return r;
}

static void result_finish(struct hpa_state *st, struct hpa_result *out)
{
	out->nconditions = st->nconditions;
	memcpy(out->conditions, st->conditions, sizeof out->conditions);
}

int hpa_reconcile(const struct hpa_spec *spec, struct hpa_state *st, int64_t now_ms,
		  const struct hpa_inputs *in, struct hpa_result *out)
{
	memset(out, 0, sizeof *out);
	out->first_invalid = -1;
	out->best_metric = -1;
	out->limit.chosen = -1;
	if (spec->nmetrics > HPA_MAX_METRICS || in->nmetrics != spec->nmetrics ||
	    (spec->nmetrics && !in->metrics))
		return -1;
	/* Room for the seed and one new recommendation, and one event: nothing below can fail. */
	if (recs_reserve(&st->recs, 2) || events_reserve(&st->up, 1) || events_reserve(&st->down, 1))
		return -1;

	int32_t current = in->spec_replicas;
	int32_t min = spec->min_replicas, max = spec->max_replicas;
	int32_t desired = 0;
	bool rescale = true;

	out->current = current;
	out->min = min;
	out->max = max;
	out->legacy = !spec->has_behavior;
	out->tolerance = hpa_spec_tolerances(spec);

	if (in->get_scale_fails) {
		cond_set(st, HPA_COND_ABLE_TO_SCALE, false, HPA_REASON_FAILED_GET_SCALE);
		out->path = HPA_PATH_GET_SCALE_FAILED;
		out->desired = st->desired_replicas;
		out->error = true;
		result_finish(st, out);
		return 0;
	}
	cond_set(st, HPA_COND_ABLE_TO_SCALE, true, HPA_REASON_SUCCEEDED_GET_SCALE);
	if (!st->seeded) {
		st->recs.v[st->recs.n++] = (struct hpa_recommendation){ current, now_ms };
		st->seeded = true;
	}

	if (current == 0 && min != 0) {
		rescale = false;
		out->path = HPA_PATH_DISABLED;
		cond_set(st, HPA_COND_SCALING_ACTIVE, false, HPA_REASON_SCALING_DISABLED);
	} else if (current > max) {
		desired = max;
		out->path = HPA_PATH_ABOVE_MAX;
	} else if (current < min) {
		desired = min;
		out->path = HPA_PATH_BELOW_MIN;
	} else {
		out->path = HPA_PATH_METRICS;
		if (in->selector != HPA_SELECTOR_OK) {
			cond_set(st, HPA_COND_SCALING_ACTIVE, false,
				 in->selector == HPA_SELECTOR_INVALID ? HPA_REASON_INVALID_SELECTOR
								     : HPA_REASON_AMBIGUOUS_SELECTOR);
			out->path = HPA_PATH_METRICS_FAILED;
		} else if (metrics_compute(spec, st, in, out)) {
			out->path = HPA_PATH_METRICS_FAILED;
		}
		if (out->path == HPA_PATH_METRICS_FAILED) {
			out->desired = st->desired_replicas;
			out->error = true;
			result_finish(st, out);
			return 0;
		}
		out->error = out->invalid_metrics > 0;
		out->prenormalized = max32(0, out->proposal);
		if (spec->has_behavior)
			desired = normalize_behavior(spec, st, current, out->prenormalized, now_ms, out);
		else
			desired = normalize_legacy(spec, st, current, out->prenormalized, now_ms, out);
		out->normalized = desired;
		rescale = desired != current;
	}

	if (rescale) {
		if (in->update_scale_fails) {
			cond_set(st, HPA_COND_ABLE_TO_SCALE, false, HPA_REASON_FAILED_UPDATE_SCALE);
			out->desired = st->desired_replicas;
			out->error = true;
			result_finish(st, out);
			return 0;
		}
		cond_set(st, HPA_COND_ABLE_TO_SCALE, true, HPA_REASON_SUCCEEDED_RESCALE);
		if (spec->has_behavior) {
			struct hpa_rules up, down;
			hpa_rules_resolve(spec->has_scale_up ? &spec->scale_up : NULL, HPA_DIR_UP,
					  spec->controller.downscale_window_seconds, &up);
			hpa_rules_resolve(spec->has_scale_down ? &spec->scale_down : NULL, HPA_DIR_DOWN,
					  spec->controller.downscale_window_seconds, &down);
			/* Cannot fail: room was reserved above. */
			(void)hpa_store_scale_event(&st->up, &st->down, &up, &down, current, desired, now_ms);
		}
		st->has_last_scale = true;
		st->last_scale_ms = now_ms;
	} else {
		desired = current;
	}
	st->desired_replicas = desired;
	out->desired = desired;
	out->rescaled = rescale;
	result_finish(st, out);
	return 0;
}

/* ======================================================================== */
/* Reading an autoscaling/v2 manifest                                       */
/* ======================================================================== */

struct mctx {
	char *err;
	size_t errlen;
};

static int mfail(struct mctx *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int mfail(struct mctx *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m->err, m->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const cJSON *mget(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

/* An optional int32 field: *present says whether it was there (and not null). */
static int m_int32(const cJSON *o, const char *path, const char *key, int32_t *out, bool *present,
		   struct mctx *m)
{
	const cJSON *it = mget(o, key);
	*present = false;
	if (!it || cJSON_IsNull(it))
		return 0;
	if (!cJSON_IsNumber(it) || floor(it->valuedouble) != it->valuedouble ||
	    it->valuedouble < -2147483648.0 || it->valuedouble > 2147483647.0)
		return mfail(m, "%s.%s: must be a 32-bit integer", path, key);
	*out = (int32_t)it->valuedouble;
	*present = true;
	return 0;
}

/*
 * A Quantity given as a string ("500m", "1.5k") or a JSON number. cJSON keeps only
 * the double of a number, so a number is written back as the shortest decimal
 * that reads as the same double ("0.1", not "0.10000000000000001") and parsed.
 */
static int m_quantity(const cJSON *it, const char *path, struct quantity *q, struct mctx *m)
{
	char text[64], qerr[160];
	const char *s;

	if (cJSON_IsString(it)) {
		s = it->valuestring;
	} else if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
		for (int prec = 1; prec <= 17; prec++) {
			snprintf(text, sizeof text, "%.*g", prec, it->valuedouble);
			if (strtod(text, NULL) == it->valuedouble)
				break;
		}
		s = text;
	} else {
		return mfail(m, "%s: must be a quantity (a string such as \"500m\" or a number)", path);
	}
	if (quantity_parse(q, s, strlen(s), qerr, sizeof qerr))
		return mfail(m, "%s: invalid quantity '%s': %s", path, s, qerr);
	return 0;
}

/* A positive quantity's MilliValue(), refusing what would not fit an int64. */
static int m_target_milli(const cJSON *it, const char *path, int64_t *milli, struct mctx *m)
{
	struct quantity q, zero, top;

	if (m_quantity(it, path, &q, m))
		return -1;
	quantity_from_milli(&zero, 0);
	quantity_from_milli(&top, INT64_MAX);
	if (quantity_cmp(&q, &zero) <= 0)
		return mfail(m, "%s: must be positive", path);
	if (quantity_cmp(&q, &top) > 0)
		return mfail(m, "%s: too large (at most 9223372036854775807m)", path);
	*milli = quantity_milli_value(&q);
	return 0;
}

static int m_rules(const cJSON *it, const char *path, struct hpa_rules *r, struct mctx *m)
{
	const cJSON *pol, *p;
	char sub[128];
	size_t i = 0;

	hpa_rules_init(r);
	if (!cJSON_IsObject(it))
		return mfail(m, "%s: must be an object", path);
	if (m_int32(it, path, "stabilizationWindowSeconds", &r->stabilization_window_seconds, &r->has_window, m))
		return -1;
	const cJSON *sel = mget(it, "selectPolicy");
	if (sel && !cJSON_IsNull(sel)) {
		const char *s = cJSON_IsString(sel) ? sel->valuestring : "";
		r->has_select = true;
		if (!strcmp(s, "Max"))
			r->select = HPA_SELECT_MAX;
		else if (!strcmp(s, "Min"))
			r->select = HPA_SELECT_MIN;
		else if (!strcmp(s, "Disabled"))
			r->select = HPA_SELECT_DISABLED;
		else
			return mfail(m, "%s.selectPolicy: must be 'Max', 'Min' or 'Disabled'", path);
	}
	const cJSON *tol = mget(it, "tolerance");
	if (tol && !cJSON_IsNull(tol)) {
		struct quantity q;
		snprintf(sub, sizeof sub, "%s.tolerance", path);
		if (m_quantity(tol, sub, &q, m))
			return -1;
		r->has_tolerance = true;
		r->tolerance = quantity_to_double(&q);
	}
	pol = mget(it, "policies");
	if (pol && !cJSON_IsNull(pol)) {
		if (!cJSON_IsArray(pol))
			return mfail(m, "%s.policies: must be a list", path);
		r->has_policies = true;
		cJSON_ArrayForEach(p, pol) {
			struct hpa_policy *hp = &r->policies[i];
			bool here;
			snprintf(sub, sizeof sub, "%s.policies[%zu]", path, i);
			if (i >= HPA_MAX_POLICIES)
				return mfail(m, "%s.policies: at most %d policies are supported", path, HPA_MAX_POLICIES);
			if (!cJSON_IsObject(p))
				return mfail(m, "%s: must be an object", sub);
			const cJSON *type = mget(p, "type");
			const char *t = cJSON_IsString(type) ? type->valuestring : "";
			if (!strcmp(t, "Pods"))
				hp->type = HPA_POLICY_PODS;
			else if (!strcmp(t, "Percent"))
				hp->type = HPA_POLICY_PERCENT;
			else
				return mfail(m, "%s.type: must be 'Pods' or 'Percent'", sub);
			if (m_int32(p, sub, "value", &hp->value, &here, m))
				return -1;
			if (!here)
				return mfail(m, "%s.value: missing", sub);
			if (m_int32(p, sub, "periodSeconds", &hp->period_seconds, &here, m))
				return -1;
			if (!here)
				return mfail(m, "%s.periodSeconds: missing", sub);
			i++;
		}
		r->npolicies = i;
	}
	return rules_check(r, path, m->err, m->errlen);
}

/* One spec.metrics[i] of type External. */
static int m_external(const cJSON *ext, const char *path, struct hpa_metric_spec *ms, struct mctx *m)
{
	char sub[128];

	if (!cJSON_IsObject(ext))
		return mfail(m, "%s.external: missing", path);
	const cJSON *metric = mget(ext, "metric");
	const cJSON *name = mget(metric, "name");
	if (!cJSON_IsString(name) || !name->valuestring[0])
		return mfail(m, "%s.external.metric.name: missing", path);
	if (strlen(name->valuestring) > HPA_NAME_MAX)
		return mfail(m, "%s.external.metric.name: longer than %d bytes", path, HPA_NAME_MAX);
	snprintf(ms->name, sizeof ms->name, "%s", name->valuestring);
	ms->source = HPA_SOURCE_EXTERNAL;

	const cJSON *target = mget(ext, "target");
	if (!cJSON_IsObject(target))
		return mfail(m, "%s.external.target: missing", path);
	const cJSON *type = mget(target, "type");
	const char *t = cJSON_IsString(type) ? type->valuestring : NULL;
	const char *field;
	if (!t)
		return mfail(m, "%s.external.target.type: missing", path);
	if (!strcmp(t, "Value")) {
		ms->target = HPA_TARGET_VALUE;
		field = "value";
	} else if (!strcmp(t, "AverageValue")) {
		ms->target = HPA_TARGET_AVERAGE_VALUE;
		field = "averageValue";
	} else {
		return mfail(m, "%s.external.target.type: '%s' is not supported for an External metric (want 'Value' or 'AverageValue')",
			     path, t);
	}
	snprintf(sub, sizeof sub, "%s.external.target.%s", path, field);
	const cJSON *v = mget(target, field);
	if (!v || cJSON_IsNull(v))
		return mfail(m, "%s: must be set when target.type is '%s'", sub, t);
	return m_target_milli(v, sub, &ms->target_milli, m);
}

int hpa_spec_from_manifest(const cJSON *obj, const char *metric_name, struct hpa_spec *out,
			   char *err, size_t errlen)
{
	struct mctx m = { err, errlen };
	const cJSON *spec, *metrics, *it;
	bool here;
	size_t i = 0;
	char path[64];

	hpa_spec_init(out);
	if (!cJSON_IsObject(obj))
		return mfail(&m, "manifest: must be a JSON object");
	const cJSON *api = mget(obj, "apiVersion"), *kind = mget(obj, "kind");
	if (api && (!cJSON_IsString(api) || strcmp(api->valuestring, "autoscaling/v2")))
		return mfail(&m, "apiVersion: '%s' is not supported (want 'autoscaling/v2')",
			     cJSON_IsString(api) ? api->valuestring : "?");
	if (kind && (!cJSON_IsString(kind) || strcmp(kind->valuestring, "HorizontalPodAutoscaler")))
		return mfail(&m, "kind: '%s' is not a HorizontalPodAutoscaler",
			     cJSON_IsString(kind) ? kind->valuestring : "?");
	spec = mget(obj, "spec");
	if (!cJSON_IsObject(spec))
		return mfail(&m, "spec: missing");

	if (m_int32(spec, "spec", "minReplicas", &out->min_replicas, &here, &m))
		return -1;
	if (!here)
		out->min_replicas = 1;
	if (m_int32(spec, "spec", "maxReplicas", &out->max_replicas, &here, &m))
		return -1;
	if (!here)
		return mfail(&m, "spec.maxReplicas: missing");
	if (bounds_check(out->min_replicas, out->max_replicas, err, errlen))
		return -1;

	metrics = mget(spec, "metrics");
	if (!cJSON_IsArray(metrics) || !metrics->child)
		return mfail(&m, "spec.metrics: at least one External metric is required");
	cJSON_ArrayForEach(it, metrics) {
		const cJSON *type = mget(it, "type");
		const char *t = cJSON_IsString(type) ? type->valuestring : NULL;
		snprintf(path, sizeof path, "spec.metrics[%zu]", i++);
		if (!cJSON_IsObject(it))
			return mfail(&m, "%s: must be an object", path);
		if (!t)
			return mfail(&m, "%s.type: missing", path);
		if (metric_name) {
			const cJSON *nm = mget(mget(mget(it, "external"), "metric"), "name");
			if (strcmp(t, "External") || !cJSON_IsString(nm) || strcmp(nm->valuestring, metric_name))
				continue;
		} else if (strcmp(t, "External")) {
			return mfail(&m, "%s.type: '%s' is not supported (only 'External' metrics are modelled)", path, t);
		}
		if (out->nmetrics >= HPA_MAX_METRICS)
			return mfail(&m, "spec.metrics: at most %d metrics are supported", HPA_MAX_METRICS);
		if (m_external(mget(it, "external"), path, &out->metrics[out->nmetrics], &m))
			return -1;
		out->nmetrics++;
	}
	if (out->nmetrics == 0)
		return mfail(&m, "spec.metrics: no External metric named '%s'", metric_name ? metric_name : "");

	const cJSON *b = mget(spec, "behavior");
	if (b && !cJSON_IsNull(b)) {
		if (!cJSON_IsObject(b))
			return mfail(&m, "spec.behavior: must be an object");
		out->has_behavior = true;
		const cJSON *up = mget(b, "scaleUp"), *down = mget(b, "scaleDown");
		if (up && !cJSON_IsNull(up)) {
			out->has_scale_up = true;
			if (m_rules(up, "spec.behavior.scaleUp", &out->scale_up, &m))
				return -1;
		}
		if (down && !cJSON_IsNull(down)) {
			out->has_scale_down = true;
			if (m_rules(down, "spec.behavior.scaleDown", &out->scale_down, &m))
				return -1;
		}
	}
	return 0;
}
