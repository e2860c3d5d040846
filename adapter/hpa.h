/*
 * hpa.h — a faithful model of the Kubernetes autoscaling/v2 HorizontalPodAutoscaler
 * controller's arithmetic (HPA.md; kubernetes/kubernetes pkg/controller/podautoscaler
 * horizontal.go and replica_calculator.go, read and re-expressed, not copied).
 *
 * Two layers:
 *   - pure functions, one per step of the controller (metric rules, legacy and
 *     behavior normalisation, stabilisation, rate limits, scale events), usable on
 *     their own and by the test vectors;
 *   - a stateful model (struct hpa_spec + struct hpa_state + hpa_reconcile) that runs
 *     one reconcile exactly as the controller does, for the simulator and `scalewise hpa`.
 *
 * Numbers behave as in Go: usage sums are int64 (saturating where the controller
 * saturates, wrapping where Go wraps), ratios are IEEE doubles, replica counts are
 * int32 with Go's wrap-around on + and -, and int32(x) / int64(x) conversions of a
 * double truncate toward zero. Go leaves out-of-range conversions to the platform; we
 * give what the controller gives on amd64 (CVTTSD2SL/SQ): the minimum integer
 * (INT32_MIN / INT64_MIN) for NaN and out-of-range values.
 *
 * Time is never read from a clock: every function that needs it takes now_ms
 * (milliseconds on any monotonic virtual scale). Records carry the time they were
 * stored (at_ms). A record of age a = now_ms - at_ms is inside a window or period of
 * W seconds iff a < W*1000, and "older than the cutoff" iff a >= W*1000 (the epsilon
 * rule of testdata/README.md: Go stamps a record before it later reads the clock).
 *
 * Thread-safety: nothing here has global state; all functions are reentrant. A
 * struct hpa_state (and the history lists) must not be used by two threads at once.
 */
#ifndef SW_HPA_H
#define SW_HPA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#define HPA_MAX_METRICS   16    /* metrics per HPA we model (Kubernetes sets no limit) */
#define HPA_MAX_POLICIES  32    /* policies per direction */
#define HPA_NAME_MAX      253   /* longest metric name kept (bytes, without the NUL) */
#define HPA_HISTORY_MAX   8192  /* hard cap on recommendations and on events per direction */
#define HPA_MAX_WINDOW_S  3600  /* stabilizationWindowSeconds upper bound (validation) */
#define HPA_MAX_PERIOD_S  1800  /* policy periodSeconds upper bound (validation) */

/* ---- names ---------------------------------------------------------------- */

enum hpa_cond_type {
	HPA_COND_ABLE_TO_SCALE,
	HPA_COND_SCALING_ACTIVE,
	HPA_COND_SCALING_LIMITED,
};
#define HPA_COND_COUNT 3

enum hpa_reason {
	HPA_REASON_NONE,
	/* AbleToScale */
	HPA_REASON_SUCCEEDED_GET_SCALE,
	HPA_REASON_FAILED_GET_SCALE,
	HPA_REASON_READY_FOR_NEW_SCALE,
	HPA_REASON_SCALE_DOWN_STABILIZED,
	HPA_REASON_SCALE_UP_STABILIZED,
	HPA_REASON_SUCCEEDED_RESCALE,
	HPA_REASON_FAILED_UPDATE_SCALE,
	/* ScalingActive */
	HPA_REASON_VALID_METRIC_FOUND,
	HPA_REASON_SCALING_DISABLED,
	HPA_REASON_INVALID_SELECTOR,
	HPA_REASON_AMBIGUOUS_SELECTOR,
	HPA_REASON_FAILED_GET_EXTERNAL_METRIC,
	HPA_REASON_FAILED_GET_OBJECT_METRIC,
	HPA_REASON_FAILED_GET_PODS_METRIC,
	HPA_REASON_FAILED_GET_RESOURCE_METRIC,
	HPA_REASON_FAILED_GET_CONTAINER_RESOURCE_METRIC,
	HPA_REASON_INVALID_METRIC_SOURCE_TYPE,
	/* ScalingLimited */
	HPA_REASON_DESIRED_WITHIN_RANGE,
	HPA_REASON_TOO_MANY_REPLICAS,
	HPA_REASON_TOO_FEW_REPLICAS,
	HPA_REASON_SCALE_UP_LIMIT,
	HPA_REASON_SCALE_DOWN_LIMIT,
};
#define HPA_REASON_COUNT (HPA_REASON_SCALE_DOWN_LIMIT + 1)

/* Kubernetes spellings ("AbleToScale", "ScaleUpLimit"); "" for HPA_REASON_NONE,
 * "?" for a value out of range. Static strings. */
const char *hpa_cond_type_name(enum hpa_cond_type t);
const char *hpa_reason_name(enum hpa_reason r);
/* The reverse lookups (exact, case-sensitive). 0, or -1 when s is no known name. */
int hpa_cond_type_parse(const char *s, enum hpa_cond_type *out);
int hpa_reason_parse(const char *s, enum hpa_reason *out);

/* ---- scaling rules (spec.behavior.scaleUp / scaleDown) ------------------- */

enum hpa_direction { HPA_DIR_NONE, HPA_DIR_UP, HPA_DIR_DOWN };
enum hpa_policy_type { HPA_POLICY_PODS, HPA_POLICY_PERCENT };
enum hpa_select { HPA_SELECT_MAX, HPA_SELECT_MIN, HPA_SELECT_DISABLED };

const char *hpa_policy_type_name(enum hpa_policy_type t);   /* "Pods", "Percent" */
const char *hpa_select_name(enum hpa_select s);             /* "Max", "Min", "Disabled" */

struct hpa_policy {
	enum hpa_policy_type type;
	int32_t value;
	int32_t period_seconds;
};

/*
 * HPAScalingRules. Each field has a has_ flag: false means "not given", and
 * hpa_rules_resolve() fills it from the defaults. Functions that evaluate rules
 * (limits, stabilisation, store) expect resolved rules and read the fields only.
 */
struct hpa_rules {
	bool has_window;
	int32_t stabilization_window_seconds;
	bool has_select;
	enum hpa_select select;
	bool has_policies;          /* a given list replaces the default list as a whole */
	size_t npolicies;
	struct hpa_policy policies[HPA_MAX_POLICIES];
	bool has_tolerance;         /* behavior.*.tolerance (HPAConfigurableTolerance) */
	double tolerance;
};

/* Clears r: nothing given. */
void hpa_rules_init(struct hpa_rules *r);
/*
 * Completes rules field by field as pkg/apis/autoscaling/v2/defaults.go does when
 * spec.behavior is set, then as the controller does for a missing scale-down window:
 *   up:   window 0,                        select Max, policies [Pods 4/15s, Percent 100/15s]
 *   down: window downscale_window_seconds, select Max, policies [Percent 100/15s]
 * given may be NULL (the direction is not given at all). Tolerance is never defaulted.
 */
void hpa_rules_resolve(const struct hpa_rules *given, enum hpa_direction dir,
		       int32_t downscale_window_seconds, struct hpa_rules *out);

/* ---- history: recommendations and scale events ---------------------------- */

struct hpa_recommendation {
	int32_t replicas;
	int64_t at_ms;
};

struct hpa_event {
	int32_t change;             /* magnitude of the rescale (positive) */
	int64_t at_ms;
	bool outdated;              /* set by hpa_store_scale_event; only marks a slot for reuse */
};

/* Growable lists, capped at HPA_HISTORY_MAX entries. Zero-initialise (or _init),
 * _release frees. Owned by whoever holds them. */
struct hpa_recs {
	struct hpa_recommendation *v;
	size_t n, cap;
};
struct hpa_events {
	struct hpa_event *v;
	size_t n, cap;
};

void hpa_recs_init(struct hpa_recs *h);
void hpa_recs_release(struct hpa_recs *h);
/* Appends. 0, or -1 when the cap is reached or memory runs out (h unchanged). */
int hpa_recs_push(struct hpa_recs *h, int32_t replicas, int64_t at_ms);
void hpa_events_init(struct hpa_events *e);
void hpa_events_release(struct hpa_events *e);
int hpa_events_push(struct hpa_events *e, int32_t change, int64_t at_ms, bool outdated);

/* ---- one metric ----------------------------------------------------------- */

struct hpa_tolerance {
	double scale_down;          /* within iff 1 - scale_down <= ratio <= 1 + scale_up */
	double scale_up;
};

/* isWithin: both ends inclusive; NaN is never within. */
bool hpa_tolerance_within(struct hpa_tolerance t, double ratio);

enum hpa_rule {
	HPA_RULE_WITHIN_TOLERANCE,  /* ratio within tolerance: keep the current count */
	HPA_RULE_READY_PODS,        /* Value: ceil(ratio x ready pods) */
	HPA_RULE_FROM_ZERO,         /* Value with 0 current replicas: ceil(ratio), no tolerance */
	HPA_RULE_PER_POD,           /* AverageValue: ceil(usage / target) */
};

/* What one metric rule computed, for the caller and for explanations. */
struct hpa_metric_eval {
	int32_t replicas;           /* the proposal */
	int64_t usage_milli;        /* Value: the (saturated) sum; AverageValue: per pod, as the status shows it */
	int64_t sum_milli;          /* the sum the ratio was computed from */
	double ratio;               /* usage ratio compared with the tolerance */
	bool within;                /* the ratio was within tolerance (false when not tested) */
	bool tolerance_tested;      /* false for scale from zero */
	enum hpa_rule rule;
	int32_t basis;              /* ready pods (Value) or status replicas (AverageValue) */
	bool capped;                /* the proposal saturated at INT32_MAX */
	const char *error;          /* static text when the rule failed, else NULL */
};

/*
 * GetExternalMetricReplicas (also GetObjectMetricReplicas with one value): target
 * type Value. current is scale.spec.replicas; listed_pods the pods the target's
 * selector lists (any phase), ready_pods those Running and Ready. Sums values with
 * saturation at INT64_MAX, ratio = sum/target; with current != 0 keeps current when
 * within tolerance, else ceil(ratio x ready) (INT32_MAX when above it); with current
 * == 0 gives ceil(ratio). Returns 0, or -1 with out->error set: no values, target
 * <= 0, or no pods listed when they are needed.
 */
int hpa_external_value(int32_t current, int32_t listed_pods, int32_t ready_pods,
		       const int64_t *values, size_t nvalues, int64_t target_milli,
		       struct hpa_tolerance tol, struct hpa_metric_eval *out);
/*
 * GetExternalPerPodMetricReplicas: target type AverageValue, per pod. Sums values
 * (a sum that goes negative becomes INT64_MAX), ratio = sum/(target x status_replicas);
 * keeps status_replicas when within tolerance, else ceil(sum/target) capped at
 * INT32_MAX. out->usage_milli is the status' averageValue: INT64_MAX when the sum
 * is that large, else ceil(sum/status_replicas) (INT64_MIN when status_replicas is 0,
 * as on amd64). Returns 0, or -1 with out->error: no values or target <= 0.
 */
int hpa_external_average_value(int32_t status_replicas, const int64_t *values, size_t nvalues,
			       int64_t target_milli, struct hpa_tolerance tol,
			       struct hpa_metric_eval *out);
/* GetObjectPerPodMetricReplicas: as above for one value, without the saturations. */
int hpa_object_average_value(int32_t status_replicas, int64_t value_milli, int64_t target_milli,
			     struct hpa_tolerance tol, struct hpa_metric_eval *out);

/* ---- normalisation -------------------------------------------------------- */

/* Explains a stabilisation step. */
enum hpa_window { HPA_WINDOW_NONE, HPA_WINDOW_LEGACY, HPA_WINDOW_UP, HPA_WINDOW_DOWN };

struct hpa_stabilization {
	int32_t desired;            /* the recommendation that came in */
	int32_t stabilized;         /* what came out */
	enum hpa_window held_by;    /* the window that moved it, NONE when out == in */
	int32_t window_seconds;     /* the length of that window */
	int32_t held_at;            /* the recommendation value it was held at */
	int64_t held_age_ms;        /* age of the record holding it (-1: it is `current`) */
	int32_t up_low, down_high;  /* behavior path: min of the up window, max of the down window */
	bool replaced;              /* the new record reused an old slot */
	size_t slot;                /* index written */
	size_t history_len;         /* length after the call */
};

/*
 * stabilizeRecommendation (legacy path, behavior == nil): *stabilized gets the highest
 * of desired and every recommendation younger than window_seconds; (desired, now) is
 * stored in the last slot older than the window, else appended. detail may be NULL.
 * Returns 0, or -1 only when an append would pass HPA_HISTORY_MAX or memory ran out
 * (nothing changed then; hpa_reconcile reserves room first and cannot hit it).
 */
int hpa_legacy_stabilize(struct hpa_recs *h, int32_t window_seconds, int32_t desired,
			 int64_t now_ms, int32_t *stabilized, struct hpa_stabilization *detail);
/*
 * convertDesiredReplicasWithRules (legacy): scale-up limit int32(max(factor x current,
 * minimum)); below min -> min/TooFewReplicas; above the allowed maximum -> that
 * maximum with ScaleUpLimit (limit < max) or TooManyReplicas; else DesiredWithinRange.
 * reason and up_limit may be NULL.
 */
int32_t hpa_legacy_normalize(int32_t current, int32_t desired, int32_t min, int32_t max,
			     double factor, double minimum, enum hpa_reason *reason,
			     int32_t *up_limit);
/*
 * stabilizeRecommendationWithBehaviors: up_low = min(desired, records younger than the
 * up window), down_high = max(desired, records younger than the down window);
 * *stabilized is current moved to at least up_low and then at most down_high. Stores
 * the UNstabilised desired in the last slot older than both windows, else appends.
 * why (may be NULL) gets ScaleUpStabilized when desired >= current, else
 * ScaleDownStabilized. Returns 0, or -1 as hpa_legacy_stabilize does.
 */
int hpa_stabilize(struct hpa_recs *h, int32_t current, int32_t desired,
		  int32_t up_window_seconds, int32_t down_window_seconds, int64_t now_ms,
		  int32_t *stabilized, enum hpa_reason *why, struct hpa_stabilization *detail);

/* How a rate limit came about: one entry per policy. */
struct hpa_policy_eval {
	int32_t added;              /* scale-up changes younger than the period */
	int32_t deleted;            /* scale-down changes younger than the period */
	int32_t period_start;       /* current - added + deleted */
	int32_t proposed;           /* what this policy allows */
};

struct hpa_limit_detail {
	enum hpa_direction dir;     /* NONE: desired == current, no limit computed */
	bool legacy;
	enum hpa_select select;
	int32_t raw;                /* combined over the policies (legacy: the scale-up limit) */
	int32_t limit;              /* raw clamped so it never moves against the direction */
	int chosen;                 /* index of the policy that gave raw, -1 when none/Disabled */
	size_t npolicies;
	struct hpa_policy_eval policies[HPA_MAX_POLICIES];
	int32_t bound;              /* the allowed maximum (up) or minimum (down) */
	enum hpa_reason bound_reason;   /* ScaleUpLimit/TooManyReplicas or ScaleDownLimit/TooFewReplicas */
};

/* getReplicasChangePerPeriod: the int32 (wrapping) sum of changes younger than period. */
int32_t hpa_replicas_change_in_period(const struct hpa_events *ev, int32_t period_seconds,
				      int64_t now_ms);
/*
 * calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors.
 * rules must be resolved. Both use the events of both directions. Disabled gives
 * current. Pods: start +/- value; Percent up: int32(ceil(start x (1 + v/100)));
 * Percent down: int32(start x (1 - v/100)) (truncation). Max picks the largest
 * change, Min the smallest; no policies give the select's neutral element
 * (INT32_MIN/INT32_MAX). detail may be NULL.
 */
int32_t hpa_scale_up_limit(int32_t current, const struct hpa_events *up,
			   const struct hpa_events *down, const struct hpa_rules *rules,
			   int64_t now_ms, struct hpa_limit_detail *detail);
int32_t hpa_scale_down_limit(int32_t current, const struct hpa_events *up,
			     const struct hpa_events *down, const struct hpa_rules *rules,
			     int64_t now_ms, struct hpa_limit_detail *detail);
/*
 * convertDesiredReplicasWithBehaviorRate: desired is the stabilised value; up_rules
 * and down_rules resolved. Returns the bounded count and its ScalingLimited reason
 * (reason and detail may be NULL).
 */
int32_t hpa_behavior_rate(int32_t current, int32_t desired, int32_t min, int32_t max,
			  const struct hpa_rules *up_rules, const struct hpa_rules *down_rules,
			  const struct hpa_events *up, const struct hpa_events *down,
			  int64_t now_ms, enum hpa_reason *reason, struct hpa_limit_detail *detail);
/*
 * storeScaleEvent: does nothing when up_rules/down_rules are NULL (no behavior).
 * For next > prev (else the scale-down side): marks that direction's events at
 * least as old as its longest policy period outdated, then writes (|next - prev|,
 * now) over the last outdated one, or appends. 0, or -1 when an append would pass
 * the cap or memory ran out (nothing changed).
 */
int hpa_store_scale_event(struct hpa_events *up, struct hpa_events *down,
			  const struct hpa_rules *up_rules, const struct hpa_rules *down_rules,
			  int32_t prev, int32_t next, int64_t now_ms);

/* ---- the HPA object ------------------------------------------------------- */

enum hpa_source {
	HPA_SOURCE_EXTERNAL,
	HPA_SOURCE_OBJECT,
	HPA_SOURCE_PODS,                /* only with a precomputed proposal */
	HPA_SOURCE_RESOURCE,            /* idem */
	HPA_SOURCE_CONTAINER_RESOURCE,  /* idem */
	HPA_SOURCE_UNKNOWN,             /* always fails: InvalidMetricSourceType */
};
enum hpa_target { HPA_TARGET_NONE, HPA_TARGET_VALUE, HPA_TARGET_AVERAGE_VALUE };

const char *hpa_source_name(enum hpa_source s);   /* "External", ... */
const char *hpa_target_name(enum hpa_target t);   /* "Value", "AverageValue", "" */

struct hpa_metric_spec {
	enum hpa_source source;
	enum hpa_target target;
	int64_t target_milli;           /* target.value or target.averageValue, MilliValue() */
	char name[HPA_NAME_MAX + 1];    /* metric.name, "" if unknown */
};

/* kube-controller-manager settings (config/v1alpha1/defaults.go). */
struct hpa_controller {
	struct hpa_tolerance tolerance;         /* --horizontal-pod-autoscaler-tolerance, 0.1 */
	int32_t downscale_window_seconds;       /* --horizontal-pod-autoscaler-downscale-stabilization, 300 */
	double scale_up_limit_factor;           /* 2.0 (horizontal_test.go uses 8) */
	double scale_up_limit_minimum;          /* 4.0 */
	int32_t sync_period_seconds;            /* 15; for the driver, hpa_reconcile ignores it */
	bool configurable_tolerance;            /* feature gate HPAConfigurableTolerance, on (1.35 beta) */
};

struct hpa_spec {
	int32_t min_replicas;                   /* spec.minReplicas, default 1 */
	int32_t max_replicas;
	bool has_behavior;                      /* false: legacy path */
	bool has_scale_up, has_scale_down;      /* behavior.scaleUp / scaleDown given */
	struct hpa_rules scale_up, scale_down;  /* as given; resolved at each reconcile */
	size_t nmetrics;
	struct hpa_metric_spec metrics[HPA_MAX_METRICS];
	struct hpa_controller controller;
};

/* The controller defaults above. */
void hpa_controller_defaults(struct hpa_controller *c);
/* min 1, max 1, no behavior, no metrics, controller defaults. */
void hpa_spec_init(struct hpa_spec *s);
/* The tolerances the controller uses for this HPA (per-direction behavior
 * overrides apply when the gate is on and spec.behavior is set). */
struct hpa_tolerance hpa_spec_tolerances(const struct hpa_spec *s);
/*
 * Checks what the API server would refuse, naming the field in struct terms
 * ("spec.behavior.scaleUp.policies[0].periodSeconds: must be in 1..1800"):
 * 0 <= min <= max, max >= 1, 1..HPA_MAX_METRICS metrics, External/Object targets
 * set and > 0, rules within bounds. 0, or -1 with the first problem in err.
 */
int hpa_spec_validate(const struct hpa_spec *s, char *err, size_t errlen);
/*
 * Reads an autoscaling/v2 HorizontalPodAutoscaler (a cJSON tree of the manifest)
 * into *out (which it initialises; controller settings are the defaults).
 * spec.minReplicas defaults to 1, spec.maxReplicas is required; metrics must be
 * External with target type Value or AverageValue, the target a Quantity string or
 * a number. With metric_name non-NULL only the External metric of that name is
 * kept (other metrics, of any type, are skipped) and it must exist; with NULL every
 * metric is kept and all must be External. behavior.scaleUp/scaleDown are read as
 * given (hpa_rules_resolve fills the rest). On error: -1 and one line in err naming
 * the field path, e.g. "spec.behavior.scaleUp.policies[0].periodSeconds: must be
 * in 1..1800". Does not keep pointers into obj.
 */
int hpa_spec_from_manifest(const cJSON *obj, const char *metric_name, struct hpa_spec *out,
			   char *err, size_t errlen);

/* ---- the stateful model --------------------------------------------------- */

struct hpa_condition {
	enum hpa_cond_type type;
	bool status;
	enum hpa_reason reason;
};

/*
 * What the controller remembers about one HPA between reconciles (the in-memory
 * maps of horizontal.go) plus the parts of the HPA status a reconcile reads back.
 */
struct hpa_state {
	bool seeded;                    /* a recommendation list exists (Go: key present) */
	struct hpa_recs recs;
	struct hpa_events up, down;     /* scaleUpEvents, scaleDownEvents */
	size_t nconditions;             /* status.conditions, in insertion order */
	struct hpa_condition conditions[HPA_COND_COUNT];
	int32_t desired_replicas;       /* status.desiredReplicas (kept when metrics fail) */
	bool has_last_scale;
	int64_t last_scale_ms;          /* status.lastScaleTime */
};

/* Empty state, as for a newly created HPA. Allocates nothing. */
void hpa_state_init(struct hpa_state *st);
/* Frees the lists; st can be reused after hpa_state_init. */
void hpa_state_release(struct hpa_state *st);

enum hpa_selector_fault { HPA_SELECTOR_OK, HPA_SELECTOR_INVALID, HPA_SELECTOR_AMBIGUOUS };

/* One metric as read at this reconcile. */
struct hpa_metric_input {
	bool fetch_error;               /* the metrics API failed or returned nothing */
	const int64_t *values_milli;    /* External: every matching series; Object: one value */
	size_t nvalues;
	bool has_proposal;              /* a proposal computed elsewhere (e.g. CPU): used as is */
	int32_t proposal;
};

struct hpa_inputs {
	int32_t spec_replicas;          /* scale.spec.replicas: the current count */
	int32_t status_replicas;        /* scale.status.replicas: AverageValue divides by it; also
					 * the pods the selector lists (the Value rule fails when
					 * this and ready_pods are both 0) */
	int32_t ready_pods;             /* Running and Ready: the Value rule multiplies by it */
	const struct hpa_metric_input *metrics;  /* spec->nmetrics entries */
	size_t nmetrics;
	bool get_scale_fails;           /* inject FailedGetScale */
	bool update_scale_fails;        /* inject FailedUpdateScale */
	enum hpa_selector_fault selector;   /* inject InvalidSelector / AmbiguousSelector */
};

enum hpa_path {
	HPA_PATH_GET_SCALE_FAILED,
	HPA_PATH_DISABLED,              /* current 0, min != 0: ScalingDisabled */
	HPA_PATH_ABOVE_MAX,             /* current > max: desired max, no metrics read */
	HPA_PATH_BELOW_MIN,             /* current < min: desired min, no metrics read */
	HPA_PATH_METRICS_FAILED,        /* no usable proposal: nothing changes */
	HPA_PATH_METRICS,               /* normal: metrics, stabilisation, limits */
};

struct hpa_metric_result {
	enum hpa_source source;
	enum hpa_target target;
	int64_t target_milli;
	bool ok;
	bool precomputed;
	enum hpa_reason fail_reason;    /* when !ok */
	struct hpa_metric_eval eval;
};

struct hpa_result {
	enum hpa_path path;
	int32_t current;                /* spec_replicas */
	int32_t min, max;
	int32_t desired;                /* status.desiredReplicas after the reconcile */
	bool rescaled;                  /* scale.spec.replicas was written */
	bool error;                     /* the reconcile returns an error (some metric failed, or a fault) */
	size_t nmetrics;
	struct hpa_metric_result metrics[HPA_MAX_METRICS];
	int invalid_metrics;
	int first_invalid;              /* index, -1 if none */
	int best_metric;                /* index of the metric giving the proposal, -1 if none */
	int32_t proposal;               /* max over the valid metrics */
	int32_t prenormalized;          /* max(0, proposal) */
	bool legacy;                    /* behavior == nil */
	struct hpa_tolerance tolerance;
	struct hpa_stabilization stab;
	struct hpa_limit_detail limit;
	int32_t normalized;             /* after stabilisation and limits */
	enum hpa_reason limited_reason; /* ScalingLimited reason of this pass */
	size_t nconditions;             /* the status conditions after the reconcile */
	struct hpa_condition conditions[HPA_COND_COUNT];
};

/*
 * One reconcile of one HPA at virtual time now_ms (reconcileAutoscaler, HPA.md §3).
 * Reads spec, updates st (history, events, conditions, desired, last scale) and fills
 * *out. in->nmetrics must equal spec->nmetrics. Returns 0 (also when the controller
 * itself would report an error: see out->error and out->path), or -1 when the call
 * is malformed (metric counts differ, more than HPA_MAX_METRICS) or the history cap
 * or memory would be exceeded — st is unchanged then and *out is zeroed.
 */
int hpa_reconcile(const struct hpa_spec *spec, struct hpa_state *st, int64_t now_ms,
		  const struct hpa_inputs *in, struct hpa_result *out);

#endif
