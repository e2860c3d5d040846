/*
 * hpa_cli.c — `scalewise hpa FILE`: load one HPA test-vector case, run it through
 * the model (hpa.h) and explain the decision. Also the case loader and runner the
 * conformance checker uses.
 */
#include "hpa_cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define CLI_FILE_MAX   (64u << 20)     /* refuse vector files larger than this */
#define CASE_VALUES_MAX (1u << 20)     /* metric values per list */

/* ======================================================================== */
/* JSON field readers                                                       */
/* ======================================================================== */

struct ld {
	char *err;
	size_t errlen;
};

static int lfail(struct ld *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int lfail(struct ld *l, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->err, l->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static const cJSON *jget(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

static bool jnull(const cJSON *it)
{
	return !it || cJSON_IsNull(it);
}

/* An int64 from a JSON string ("9223372036854775807") or an exactly representable integer. */
static int json_i64(const cJSON *it, int64_t *out)
{
	if (cJSON_IsString(it)) {
		const char *s = it->valuestring;
		char *end;
		if (!s || !*s || (*s != '-' && *s != '+' && (*s < '0' || *s > '9')))
			return -1;
		errno = 0;
		long long v = strtoll(s, &end, 10);
		if (errno || end == s || *end)
			return -1;
		*out = v;
		return 0;
	}
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;
		if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) || floor(d) != d)
			return -1;
		*out = (int64_t)d;
		return 0;
	}
	return -1;
}

static int get_i64(const cJSON *o, const char *path, const char *key, bool required, int64_t *out,
		   bool *present, struct ld *l)
{
	const cJSON *it = jget(o, key);
	if (present)
		*present = false;
	if (jnull(it)) {
		if (required)
			return lfail(l, "%s.%s: missing", path, key);
		return 0;
	}
	if (json_i64(it, out))
		return lfail(l, "%s.%s: must be an integer", path, key);
	if (present)
		*present = true;
	return 0;
}

static int get_i32(const cJSON *o, const char *path, const char *key, bool required, int32_t *out,
		   bool *present, struct ld *l)
{
	int64_t v = 0;
	bool here = false;
	if (get_i64(o, path, key, required, &v, &here, l))
		return -1;
	if (present)
		*present = here;
	if (!here)
		return 0;
	if (v < INT32_MIN || v > INT32_MAX)
		return lfail(l, "%s.%s: %lld is out of the int32 range", path, key, (long long)v);
	*out = (int32_t)v;
	return 0;
}

static int get_f64(const cJSON *o, const char *path, const char *key, bool required, double *out,
		   bool *present, struct ld *l)
{
	const cJSON *it = jget(o, key);
	if (present)
		*present = false;
	if (jnull(it)) {
		if (required)
			return lfail(l, "%s.%s: missing", path, key);
		return 0;
	}
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
		return lfail(l, "%s.%s: must be a number", path, key);
	*out = it->valuedouble;
	if (present)
		*present = true;
	return 0;
}

static int get_bool(const cJSON *o, const char *path, const char *key, bool *out, struct ld *l)
{
	const cJSON *it = jget(o, key);
	if (jnull(it))
		return 0;
	if (!cJSON_IsBool(it))
		return lfail(l, "%s.%s: must be true or false", path, key);
	*out = cJSON_IsTrue(it);
	return 0;
}

static int get_object(const cJSON *o, const char *path, const char *key, const cJSON **out, struct ld *l)
{
	const cJSON *it = jget(o, key);
	if (!cJSON_IsObject(it))
		return lfail(l, "%s.%s: %s", path, key, it ? "must be an object" : "missing");
	*out = it;
	return 0;
}

/* An array that may be null/absent (then *out is NULL) unless required. */
static int get_array(const cJSON *o, const char *path, const char *key, bool required,
		     const cJSON **out, struct ld *l)
{
	const cJSON *it = jget(o, key);
	*out = NULL;
	if (jnull(it)) {
		if (required)
			return lfail(l, "%s.%s: missing", path, key);
		return 0;
	}
	if (!cJSON_IsArray(it))
		return lfail(l, "%s.%s: must be an array", path, key);
	*out = it;
	return 0;
}

/* Tolerance: a number (both sides) or {"scale_down": d, "scale_up": u}. */
static int get_tolerance(const cJSON *o, const char *path, const char *key, bool required,
			 struct hpa_tolerance *out, struct ld *l)
{
	const cJSON *it = jget(o, key);
	char sub[128];

	if (jnull(it)) {
		if (required)
			return lfail(l, "%s.%s: missing", path, key);
		return 0;
	}
	if (cJSON_IsNumber(it) && isfinite(it->valuedouble)) {
		out->scale_down = out->scale_up = it->valuedouble;
		return 0;
	}
	if (!cJSON_IsObject(it))
		return lfail(l, "%s.%s: must be a number or {\"scale_down\", \"scale_up\"}", path, key);
	snprintf(sub, sizeof sub, "%s.%s", path, key);
	if (get_f64(it, sub, "scale_down", true, &out->scale_down, NULL, l) ||
	    get_f64(it, sub, "scale_up", true, &out->scale_up, NULL, l))
		return -1;
	return 0;
}

/* age_seconds → at_ms (epsilon rule: the age is what counts). */
static int get_age(const cJSON *o, const char *path, int64_t now_ms, int64_t *at_ms, struct ld *l)
{
	double age;
	if (get_f64(o, path, "age_seconds", true, &age, NULL, l))
		return -1;
	if (age < 0 || age > 1e9)
		return lfail(l, "%s.age_seconds: must be in 0..1e9", path);
	*at_ms = now_ms - (int64_t)llround(age * 1000.0);
	return 0;
}

static int load_values(const cJSON *arr, const char *path, int64_t **out, size_t *n, struct ld *l)
{
	int count = cJSON_GetArraySize(arr);
	const cJSON *it;
	size_t i = 0;

	if (count < 0 || (unsigned)count > CASE_VALUES_MAX)
		return lfail(l, "%s: more than %u values", path, CASE_VALUES_MAX);
	*out = calloc(count ? (size_t)count : 1, sizeof **out);
	if (!*out)
		return lfail(l, "%s: out of memory", path);
	cJSON_ArrayForEach(it, arr) {
		if (json_i64(it, &(*out)[i]))
			return lfail(l, "%s[%zu]: must be an int64 (a JSON integer or a decimal string)", path, i);
		i++;
	}
	*n = i;
	return 0;
}

static int load_events(const cJSON *arr, const char *path, int64_t now_ms, struct hpa_events *ev,
		       struct ld *l)
{
	const cJSON *it;
	size_t i = 0;
	char p[160];

	cJSON_ArrayForEach(it, arr) {
		int32_t change;
		int64_t at;
		bool outdated = false;
		snprintf(p, sizeof p, "%s[%zu]", path, i);
		if (!cJSON_IsObject(it))
			return lfail(l, "%s: must be an object", p);
		if (get_i32(it, p, "replica_change", true, &change, NULL, l) || get_age(it, p, now_ms, &at, l) ||
		    get_bool(it, p, "outdated", &outdated, l))
			return -1;
		if (hpa_events_push(ev, change, at, outdated))
			return lfail(l, "%s: more than %d events", path, HPA_HISTORY_MAX);
		i++;
	}
	return 0;
}

static int load_recs(const cJSON *arr, const char *path, int64_t now_ms, struct hpa_recs *h, struct ld *l)
{
	const cJSON *it;
	size_t i = 0;
	char p[160];

	cJSON_ArrayForEach(it, arr) {
		int32_t replicas;
		int64_t at;
		snprintf(p, sizeof p, "%s[%zu]", path, i);
		if (!cJSON_IsObject(it))
			return lfail(l, "%s: must be an object", p);
		if (get_i32(it, p, "replicas", true, &replicas, NULL, l) || get_age(it, p, now_ms, &at, l))
			return -1;
		if (hpa_recs_push(h, replicas, at))
			return lfail(l, "%s: more than %d recommendations", path, HPA_HISTORY_MAX);
		i++;
	}
	return 0;
}

/* A rules object (HPAScalingRules) or null (*given = false). */
static int load_rules(const cJSON *it, const char *path, bool *given, struct hpa_rules *r, struct ld *l)
{
	const cJSON *pol, *p;
	char sub[160];
	size_t i = 0;

	hpa_rules_init(r);
	*given = false;
	if (jnull(it))
		return 0;
	if (!cJSON_IsObject(it))
		return lfail(l, "%s: must be a rules object or null", path);
	*given = true;
	if (get_i32(it, path, "stabilization_window_seconds", false, &r->stabilization_window_seconds,
		    &r->has_window, l))
		return -1;
	const cJSON *sel = jget(it, "select_policy");
	if (!jnull(sel)) {
		const char *s = cJSON_IsString(sel) ? sel->valuestring : NULL;
		r->has_select = true;
		if (s && !strcmp(s, "Max"))
			r->select = HPA_SELECT_MAX;
		else if (s && !strcmp(s, "Min"))
			r->select = HPA_SELECT_MIN;
		else if (s && !strcmp(s, "Disabled"))
			r->select = HPA_SELECT_DISABLED;
		else
			return lfail(l, "%s.select_policy: must be \"Max\", \"Min\" or \"Disabled\"", path);
	}
	if (get_f64(it, path, "tolerance", false, &r->tolerance, &r->has_tolerance, l))
		return -1;
	if (get_array(it, path, "policies", false, &pol, l))
		return -1;
	if (!pol)
		return 0;
	r->has_policies = true;
	cJSON_ArrayForEach(p, pol) {
		struct hpa_policy *hp;
		const char *type;
		snprintf(sub, sizeof sub, "%s.policies[%zu]", path, i);
		if (i >= HPA_MAX_POLICIES)
			return lfail(l, "%s: more than %d policies", path, HPA_MAX_POLICIES);
		if (!cJSON_IsObject(p))
			return lfail(l, "%s: must be an object", sub);
		hp = &r->policies[i];
		type = cJSON_IsString(jget(p, "type")) ? jget(p, "type")->valuestring : NULL;
		if (type && !strcmp(type, "Pods"))
			hp->type = HPA_POLICY_PODS;
		else if (type && !strcmp(type, "Percent"))
			hp->type = HPA_POLICY_PERCENT;
		else
			return lfail(l, "%s.type: must be \"Pods\" or \"Percent\"", sub);
		if (get_i32(p, sub, "value", true, &hp->value, NULL, l) ||
		    get_i32(p, sub, "period_seconds", true, &hp->period_seconds, NULL, l))
			return -1;
		i++;
	}
	r->npolicies = i;
	return 0;
}

/* ======================================================================== */
/* Loading a case                                                           */
/* ======================================================================== */

static const char *const kind_names[] = {
	[HPA_CASE_EXTERNAL_VALUE] = "external_value",
	[HPA_CASE_EXTERNAL_AVERAGE_VALUE] = "external_average_value",
	[HPA_CASE_LEGACY_NORMALIZE] = "legacy_normalize",
	[HPA_CASE_LEGACY_STABILIZE] = "legacy_stabilize",
	[HPA_CASE_STABILIZE] = "stabilize",
	[HPA_CASE_BEHAVIOR_RATE] = "behavior_rate",
	[HPA_CASE_SCALE_UP_LIMIT] = "scale_up_limit",
	[HPA_CASE_SCALE_DOWN_LIMIT] = "scale_down_limit",
	[HPA_CASE_STORE_SCALE_EVENT] = "store_scale_event",
	[HPA_CASE_RECONCILE] = "reconcile",
};
#define KIND_COUNT (sizeof kind_names / sizeof kind_names[0])

const char *hpa_case_kind_name(enum hpa_case_kind k)
{
	return (unsigned)k < KIND_COUNT ? kind_names[k] : "?";
}

static int load_controller(const cJSON *o, const char *path, struct hpa_controller *c, struct ld *l)
{
	if (!cJSON_IsObject(o))
		return 0;
	if (get_tolerance(o, path, "tolerance", false, &c->tolerance, l) ||
	    get_i32(o, path, "downscale_stabilization_window_seconds", false, &c->downscale_window_seconds,
		    NULL, l) ||
	    get_f64(o, path, "scale_up_limit_factor", false, &c->scale_up_limit_factor, NULL, l) ||
	    get_f64(o, path, "scale_up_limit_minimum", false, &c->scale_up_limit_minimum, NULL, l) ||
	    get_i32(o, path, "sync_period_seconds", false, &c->sync_period_seconds, NULL, l))
		return -1;
	return 0;
}

static int parse_source(const char *s, enum hpa_source *out)
{
	static const struct {
		const char *name;
		enum hpa_source src;
	} tab[] = {
		{ "External", HPA_SOURCE_EXTERNAL },
		{ "Object", HPA_SOURCE_OBJECT },
		{ "Pods", HPA_SOURCE_PODS },
		{ "Resource", HPA_SOURCE_RESOURCE },
		{ "ContainerResource", HPA_SOURCE_CONTAINER_RESOURCE },
	};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		if (!strcmp(s, tab[i].name)) {
			*out = tab[i].src;
			return 0;
		}
	}
	*out = HPA_SOURCE_UNKNOWN;
	return -1;
}

static int load_metric(struct hpa_case *c, size_t i, const cJSON *m, const char *path, struct ld *l)
{
	struct hpa_metric_spec *ms = &c->spec.metrics[i];
	struct hpa_metric_input *mi = &c->minputs[i];
	const cJSON *type = jget(m, "type");
	const cJSON *tt = jget(m, "target_type");
	const cJSON *arr;
	bool has_prop = false;

	if (!cJSON_IsObject(m))
		return lfail(l, "%s: must be an object", path);
	if (!cJSON_IsString(type))
		return lfail(l, "%s.type: missing", path);
	parse_source(type->valuestring, &ms->source);
	ms->target = HPA_TARGET_NONE;
	if (cJSON_IsString(tt) && !strcmp(tt->valuestring, "Value"))
		ms->target = HPA_TARGET_VALUE;
	else if (cJSON_IsString(tt) && !strcmp(tt->valuestring, "AverageValue"))
		ms->target = HPA_TARGET_AVERAGE_VALUE;
	if (ms->target == HPA_TARGET_VALUE &&
	    get_i64(m, path, "target_value_milli", true, &ms->target_milli, NULL, l))
		return -1;
	if (ms->target == HPA_TARGET_AVERAGE_VALUE &&
	    get_i64(m, path, "target_average_value_milli", true, &ms->target_milli, NULL, l))
		return -1;
	const cJSON *name = jget(m, "name");
	if (cJSON_IsString(name))
		snprintf(ms->name, sizeof ms->name, "%s", name->valuestring);
	if (get_bool(m, path, "fetch_error", &mi->fetch_error, l) ||
	    get_i32(m, path, "derived_replica_proposal", false, &mi->proposal, &has_prop, l))
		return -1;
	mi->has_proposal = has_prop;
	if (mi->fetch_error || mi->has_proposal || ms->source == HPA_SOURCE_UNKNOWN)
		return 0;
	if (ms->source == HPA_SOURCE_EXTERNAL) {
		char sub[160];
		snprintf(sub, sizeof sub, "%s.values_milli", path);
		if (get_array(m, path, "values_milli", true, &arr, l) ||
		    load_values(arr, sub, &c->mvalues[i], &mi->nvalues, l))
			return -1;
		mi->values_milli = c->mvalues[i];
		return 0;
	}
	if (ms->source == HPA_SOURCE_OBJECT) {
		c->mvalues[i] = calloc(1, sizeof *c->mvalues[i]);
		if (!c->mvalues[i])
			return lfail(l, "%s: out of memory", path);
		if (get_i64(m, path, "value_milli", true, c->mvalues[i], NULL, l))
			return -1;
		mi->values_milli = c->mvalues[i];
		mi->nvalues = 1;
		return 0;
	}
	return lfail(l, "%s: a %s metric needs \"derived_replica_proposal\" or \"fetch_error\" (only External and Object metrics are computed)",
		     path, type->valuestring);
}

static int load_reconcile(struct hpa_case *c, const cJSON *in, const cJSON *defaults, struct ld *l)
{
	const char *P = "input";
	const cJSON *arr, *it;
	char sub[64];
	size_t i = 0;

	hpa_spec_init(&c->spec);
	hpa_state_init(&c->state);
	if (load_controller(defaults, "controller_defaults", &c->spec.controller, l) ||
	    load_controller(jget(in, "controller"), "input.controller", &c->spec.controller, l))
		return -1;
	if (get_i32(in, P, "min_replicas", false, &c->spec.min_replicas, NULL, l) ||
	    get_i32(in, P, "max_replicas", true, &c->spec.max_replicas, NULL, l) ||
	    get_i32(in, P, "spec_replicas", true, &c->in.spec_replicas, NULL, l))
		return -1;
	c->in.status_replicas = c->in.spec_replicas;
	c->in.ready_pods = c->in.spec_replicas;
	if (get_i32(in, P, "status_replicas", false, &c->in.status_replicas, NULL, l) ||
	    get_i32(in, P, "ready_pods", false, &c->in.ready_pods, NULL, l))
		return -1;

	const cJSON *b = jget(in, "behavior");
	if (!jnull(b)) {
		if (!cJSON_IsObject(b))
			return lfail(l, "input.behavior: must be an object or null");
		c->spec.has_behavior = true;
		if (load_rules(jget(b, "scale_up"), "input.behavior.scale_up", &c->spec.has_scale_up,
			       &c->spec.scale_up, l) ||
		    load_rules(jget(b, "scale_down"), "input.behavior.scale_down", &c->spec.has_scale_down,
			       &c->spec.scale_down, l))
			return -1;
	}

	if (get_array(in, P, "recommendations", false, &arr, l))
		return -1;
	if (arr) {
		c->state.seeded = true;
		if (load_recs(arr, "input.recommendations", c->now_ms, &c->state.recs, l))
			return -1;
	}
	if (get_array(in, P, "scale_up_events", false, &arr, l) ||
	    (arr && load_events(arr, "input.scale_up_events", c->now_ms, &c->state.up, l)) ||
	    get_array(in, P, "scale_down_events", false, &arr, l) ||
	    (arr && load_events(arr, "input.scale_down_events", c->now_ms, &c->state.down, l)))
		return -1;
	/* The Go tests set the status' previous desiredReplicas to the current count. */
	c->state.desired_replicas = c->in.spec_replicas;

	if (get_array(in, P, "metrics", true, &arr, l))
		return -1;
	cJSON_ArrayForEach(it, arr) {
		if (i >= HPA_MAX_METRICS)
			return lfail(l, "input.metrics: more than %d metrics", HPA_MAX_METRICS);
		snprintf(sub, sizeof sub, "input.metrics[%zu]", i);
		if (load_metric(c, i, it, sub, l))
			return -1;
		i++;
	}
	c->spec.nmetrics = i;
	c->in.metrics = c->minputs;
	c->in.nmetrics = i;
	return 0;
}

static int load_kind(struct hpa_case *c, const cJSON *in, const cJSON *defaults, struct ld *l)
{
	const char *P = "input";
	const cJSON *arr;

	switch (c->kind) {
	case HPA_CASE_EXTERNAL_VALUE:
	case HPA_CASE_EXTERNAL_AVERAGE_VALUE: {
		bool value = c->kind == HPA_CASE_EXTERNAL_VALUE;
		bool has_ready = false;
		if ((value ? get_i32(in, P, "current_replicas", true, &c->current, NULL, l) ||
				     get_i32(in, P, "ready_pods", false, &c->ready, &has_ready, l) ||
				     get_i64(in, P, "target_value_milli", true, &c->target_milli, NULL, l)
			   : get_i32(in, P, "status_replicas", true, &c->status_replicas, NULL, l) ||
				     get_i64(in, P, "target_average_value_milli", true, &c->target_milli, NULL, l)) ||
		    get_tolerance(in, P, "tolerance", false, &c->tol, l) ||
		    get_array(in, P, "metric_values_milli", true, &arr, l) ||
		    load_values(arr, "input.metric_values_milli", &c->values, &c->nvalues, l))
			return -1;
		if (value && !has_ready)
			c->ready = c->current;   /* not given: every pod ready */
		return 0;
	}
	case HPA_CASE_LEGACY_NORMALIZE:
		if (get_i32(in, P, "current_replicas", true, &c->current, NULL, l) ||
		    get_i32(in, P, "desired_replicas", true, &c->desired, NULL, l) ||
		    get_i32(in, P, "min_replicas", true, &c->min, NULL, l) ||
		    get_i32(in, P, "max_replicas", true, &c->max, NULL, l) ||
		    get_f64(in, P, "scale_up_limit_factor", false, &c->factor, NULL, l) ||
		    get_f64(in, P, "scale_up_limit_minimum", false, &c->minimum, NULL, l))
			return -1;
		return 0;
	case HPA_CASE_LEGACY_STABILIZE:
		if (get_i32(in, P, "window_seconds", true, &c->window_s, NULL, l) ||
		    get_i32(in, P, "desired_replicas", true, &c->desired, NULL, l) ||
		    get_array(in, P, "recommendations", false, &arr, l) ||
		    (arr && load_recs(arr, "input.recommendations", c->now_ms, &c->recs, l)))
			return -1;
		return 0;
	case HPA_CASE_STABILIZE:
		if (get_i32(in, P, "current_replicas", true, &c->current, NULL, l) ||
		    get_i32(in, P, "desired_replicas", true, &c->desired, NULL, l) ||
		    get_i32(in, P, "scale_up_stabilization_window_seconds", true, &c->up_window_s, NULL, l) ||
		    get_i32(in, P, "scale_down_stabilization_window_seconds", true, &c->down_window_s, NULL, l) ||
		    get_array(in, P, "recommendations", false, &arr, l) ||
		    (arr && load_recs(arr, "input.recommendations", c->now_ms, &c->recs, l)))
			return -1;
		return 0;
	case HPA_CASE_BEHAVIOR_RATE:
		if (get_i32(in, P, "current_replicas", true, &c->current, NULL, l) ||
		    get_i32(in, P, "desired_replicas", true, &c->desired, NULL, l) ||
		    get_i32(in, P, "min_replicas", true, &c->min, NULL, l) ||
		    get_i32(in, P, "max_replicas", true, &c->max, NULL, l) ||
		    load_rules(jget(in, "scale_up"), "input.scale_up", &c->up_given, &c->up_rules, l) ||
		    load_rules(jget(in, "scale_down"), "input.scale_down", &c->down_given, &c->down_rules, l))
			return -1;
		break;
	case HPA_CASE_SCALE_UP_LIMIT:
	case HPA_CASE_SCALE_DOWN_LIMIT:
		if (get_i32(in, P, "current_replicas", true, &c->current, NULL, l) ||
		    load_rules(jget(in, "rules"), "input.rules", &c->rules_given, &c->rules, l))
			return -1;
		break;
	case HPA_CASE_STORE_SCALE_EVENT:
		if (load_rules(jget(in, "rules"), "input.rules", &c->rules_given, &c->rules, l) ||
		    get_i32(in, P, "replica_change", true, &c->replica_change, NULL, l) ||
		    get_i32(in, P, "sum_period_seconds", true, &c->sum_period_s, NULL, l) ||
		    get_array(in, P, "previous_events", false, &arr, l) ||
		    (arr && load_events(arr, "input.previous_events", c->now_ms, &c->prev_events, l)))
			return -1;
		if (c->replica_change <= 0 || c->replica_change > 1000000)
			return lfail(l, "input.replica_change: must be in 1..1000000");
		return 0;
	case HPA_CASE_RECONCILE:
		return load_reconcile(c, in, defaults, l);
	}
	/* behavior_rate and the limits: events of both directions */
	if (get_array(in, P, "scale_up_events", false, &arr, l) ||
	    (arr && load_events(arr, "input.scale_up_events", c->now_ms, &c->up_events, l)) ||
	    get_array(in, P, "scale_down_events", false, &arr, l) ||
	    (arr && load_events(arr, "input.scale_down_events", c->now_ms, &c->down_events, l)))
		return -1;
	return 0;
}

int hpa_case_load(const cJSON *c, const cJSON *controller_defaults, struct hpa_case *out,
		  char *err, size_t errlen)
{
	struct ld l = { err, errlen };
	const cJSON *in = NULL;
	const char *kind;
	size_t k;

	memset(out, 0, sizeof *out);
	out->now_ms = HPA_CASE_NOW_MS;
	out->tol.scale_down = out->tol.scale_up = 0.1;
	out->factor = 2.0;
	out->minimum = 4.0;
	hpa_spec_init(&out->spec);
	hpa_state_init(&out->state);
	if (!cJSON_IsObject(c))
		return lfail(&l, "a case must be a JSON object");
	out->name = cJSON_IsString(jget(c, "name")) ? jget(c, "name")->valuestring : "";
	kind = cJSON_IsString(jget(c, "kind")) ? jget(c, "kind")->valuestring : NULL;
	if (!kind)
		return lfail(&l, "kind: missing");
	for (k = 0; k < KIND_COUNT; k++)
		if (!strcmp(kind, kind_names[k]))
			break;
	if (k == KIND_COUNT)
		return lfail(&l, "kind: unknown kind '%s'", kind);
	out->kind = (enum hpa_case_kind)k;
	if (get_object(c, "case", "input", &in, &l))
		return -1;
	return load_kind(out, in, controller_defaults, &l);
}

void hpa_case_release(struct hpa_case *c)
{
	free(c->values);
	hpa_recs_release(&c->recs);
	hpa_events_release(&c->up_events);
	hpa_events_release(&c->down_events);
	hpa_events_release(&c->prev_events);
	hpa_events_release(&c->after_up);
	hpa_events_release(&c->after_down);
	hpa_state_release(&c->state);
	for (size_t i = 0; i < HPA_MAX_METRICS; i++)
		free(c->mvalues[i]);
	memset(c, 0, sizeof *c);
}

/* ======================================================================== */
/* Running a case                                                           */
/* ======================================================================== */

static int copy_events(struct hpa_events *dst, const struct hpa_events *src)
{
	for (size_t i = 0; i < src->n; i++)
		if (hpa_events_push(dst, src->v[i].change, src->v[i].at_ms, src->v[i].outdated))
			return -1;
	return 0;
}

/* store_scale_event: the scale-up variant (10 → 10+change), then the scale-down one. */
static int run_store(struct hpa_case *c)
{
	const struct hpa_rules *up = c->rules_given ? &c->up_resolved : NULL;
	const struct hpa_rules *down = c->rules_given ? &c->down_resolved : NULL;
	struct hpa_events none;

	hpa_events_init(&none);
	c->change_before = hpa_replicas_change_in_period(&c->prev_events, c->sum_period_s, c->now_ms);
	if (copy_events(&c->after_up, &c->prev_events) || copy_events(&c->after_down, &c->prev_events))
		return -1;
	if (hpa_store_scale_event(&c->after_up, &none, up, down, 10, 10 + c->replica_change, c->now_ms) ||
	    hpa_store_scale_event(&none, &c->after_down, up, down, 10, 10 - c->replica_change, c->now_ms)) {
		hpa_events_release(&none);
		return -1;
	}
	hpa_events_release(&none);
	return 0;
}

int hpa_case_run(struct hpa_case *c, char *err, size_t errlen)
{
	int rc = 0;

	c->ran = true;
	hpa_rules_resolve(c->up_given ? &c->up_rules : NULL, HPA_DIR_UP, 300, &c->up_resolved);
	hpa_rules_resolve(c->down_given ? &c->down_rules : NULL, HPA_DIR_DOWN, 300, &c->down_resolved);
	switch (c->kind) {
	case HPA_CASE_EXTERNAL_VALUE:
		/* The vectors give no pod count: the pods listed are the current replicas. */
		c->rc = hpa_external_value(c->current, c->current > c->ready ? c->current : c->ready, c->ready,
					   c->values, c->nvalues, c->target_milli, c->tol, &c->eval);
		c->replicas = c->eval.replicas;
		break;
	case HPA_CASE_EXTERNAL_AVERAGE_VALUE:
		c->rc = hpa_external_average_value(c->status_replicas, c->values, c->nvalues, c->target_milli,
						   c->tol, &c->eval);
		c->replicas = c->eval.replicas;
		break;
	case HPA_CASE_LEGACY_NORMALIZE:
		c->replicas = hpa_legacy_normalize(c->current, c->desired, c->min, c->max, c->factor,
						   c->minimum, &c->reason, &c->up_limit);
		break;
	case HPA_CASE_LEGACY_STABILIZE:
		rc = hpa_legacy_stabilize(&c->recs, c->window_s, c->desired, c->now_ms, &c->replicas, &c->stab);
		break;
	case HPA_CASE_STABILIZE:
		rc = hpa_stabilize(&c->recs, c->current, c->desired, c->up_window_s, c->down_window_s,
				   c->now_ms, &c->replicas, &c->reason, &c->stab);
		break;
	case HPA_CASE_BEHAVIOR_RATE:
		c->replicas = hpa_behavior_rate(c->current, c->desired, c->min, c->max, &c->up_resolved,
						&c->down_resolved, &c->up_events, &c->down_events, c->now_ms,
						&c->reason, &c->limit);
		break;
	case HPA_CASE_SCALE_UP_LIMIT:
		hpa_rules_resolve(c->rules_given ? &c->rules : NULL, HPA_DIR_UP, 300, &c->up_resolved);
		c->replicas = hpa_scale_up_limit(c->current, &c->up_events, &c->down_events, &c->up_resolved,
						 c->now_ms, &c->limit);
		break;
	case HPA_CASE_SCALE_DOWN_LIMIT:
		hpa_rules_resolve(c->rules_given ? &c->rules : NULL, HPA_DIR_DOWN, 300, &c->down_resolved);
		c->replicas = hpa_scale_down_limit(c->current, &c->up_events, &c->down_events,
						   &c->down_resolved, c->now_ms, &c->limit);
		break;
	case HPA_CASE_STORE_SCALE_EVENT:
		hpa_rules_resolve(c->rules_given ? &c->rules : NULL, HPA_DIR_UP, 300, &c->up_resolved);
		hpa_rules_resolve(c->rules_given ? &c->rules : NULL, HPA_DIR_DOWN, 300, &c->down_resolved);
		rc = run_store(c);
		break;
	case HPA_CASE_RECONCILE:
		rc = hpa_reconcile(&c->spec, &c->state, c->now_ms, &c->in, &c->result);
		break;
	}
	if (rc) {
		snprintf(err, errlen, "the model refused the case: history longer than %d entries or out of memory",
			 HPA_HISTORY_MAX);
		return -1;
	}
	return 0;
}

/* ======================================================================== */
/* Explaining                                                               */
/* ======================================================================== */

/* A milli-value as a decimal: 8600 → "8.6", -1 → "-0.001". */
static const char *milli(int64_t v, char *buf, size_t n)
{
	uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
	unsigned long long ip = mag / 1000, fp = mag % 1000;
	char frac[8];

	if (fp == 0) {
		snprintf(buf, n, "%s%llu", v < 0 ? "-" : "", ip);
		return buf;
	}
	snprintf(frac, sizeof frac, "%03llu", fp);
	for (int i = 2; i > 0 && frac[i] == '0'; i--)
		frac[i] = 0;
	snprintf(buf, n, "%s%llu.%s", v < 0 ? "-" : "", ip, frac);
	return buf;
}

/* An age in ms as "60s" or "59.5s". */
static const char *age_str(int64_t ms, char *buf, size_t n)
{
	if (ms % 1000 == 0)
		snprintf(buf, n, "%llds", (long long)(ms / 1000));
	else
		snprintf(buf, n, "%.3gs", (double)ms / 1000.0);
	return buf;
}

static void explain_tolerance(FILE *f, struct hpa_tolerance t)
{
	fprintf(f, "tolerance: within when %.6g <= ratio <= %.6g (scale down %.6g, scale up %.6g)\n",
		1.0 - t.scale_down, 1.0 + t.scale_up, t.scale_down, t.scale_up);
}

static void explain_eval(FILE *f, const char *indent, const struct hpa_metric_eval *e, int32_t target_kind_value,
			 int64_t target, size_t nvalues, int32_t current)
{
	char a[48], b[48], cbuf[48];

	if (e->error) {
		fprintf(f, "%sfailed: %s\n", indent, e->error);
		return;
	}
	if (target_kind_value) {
		fprintf(f, "%susage %s (sum of %zu value%s), target %s: ratio %.6g\n", indent,
			milli(e->sum_milli, a, sizeof a), nvalues, nvalues == 1 ? "" : "s",
			milli(target, b, sizeof b), e->ratio);
	} else {
		fprintf(f, "%susage %s (sum of %zu value%s), target %s per pod over %d status replicas: ratio %.6g; status averageValue %s\n",
			indent, milli(e->sum_milli, a, sizeof a), nvalues, nvalues == 1 ? "" : "s",
			milli(target, b, sizeof b), (int)e->basis, e->ratio, milli(e->usage_milli, cbuf, sizeof cbuf));
	}
	switch (e->rule) {
	case HPA_RULE_WITHIN_TOLERANCE:
		fprintf(f, "%sthe ratio is within tolerance: keep %d replicas\n", indent, (int)e->replicas);
		break;
	case HPA_RULE_FROM_ZERO:
		fprintf(f, "%scurrent replicas are 0 (scale from zero: no tolerance, no pods): ceil(%.6g) = %d\n",
			indent, e->ratio, (int)e->replicas);
		break;
	case HPA_RULE_READY_PODS:
		if (e->capped)
			fprintf(f, "%soutside tolerance: %.6g x %d ready pods is above 2147483647: capped at %d\n",
				indent, e->ratio, (int)e->basis, (int)e->replicas);
		else
			fprintf(f, "%soutside tolerance: ceil(%.6g x %d ready pods) = %d (current %d)\n", indent,
				e->ratio, (int)e->basis, (int)e->replicas, (int)current);
		break;
	case HPA_RULE_PER_POD:
		fprintf(f, "%soutside tolerance: ceil(%s / %s) = %d%s\n", indent, milli(e->sum_milli, a, sizeof a),
			milli(target, b, sizeof b), (int)e->replicas, e->capped ? " (capped at 2147483647)" : "");
		break;
	}
}

static void explain_history(FILE *f, const struct hpa_recs *h, int64_t now_ms)
{
	char a[32];
	fprintf(f, "  history after: [");
	for (size_t i = 0; i < h->n; i++)
		fprintf(f, "%s%d@%s", i ? ", " : "", (int)h->v[i].replicas, age_str(now_ms - h->v[i].at_ms, a, sizeof a));
	fprintf(f, "] (replicas@age)\n");
}

static void explain_stab(FILE *f, const struct hpa_stabilization *s, bool legacy, int32_t current,
			 int32_t up_w, int32_t down_w)
{
	char a[32];

	if (legacy) {
		fprintf(f, "stabilisation (no behavior: downscale window %ds):\n", (int)s->window_seconds);
		if (s->held_by == HPA_WINDOW_NONE)
			fprintf(f, "  no recommendation younger than %ds is above %d: kept %d\n",
				(int)s->window_seconds, (int)s->desired, (int)s->stabilized);
		else
			fprintf(f, "  held at %d, the highest recommendation of the last %ds (recorded %s ago), instead of %d\n",
				(int)s->held_at, (int)s->window_seconds, age_str(s->held_age_ms, a, sizeof a),
				(int)s->desired);
	} else {
		fprintf(f, "stabilisation (behavior: scale-up window %ds, scale-down window %ds):\n", (int)up_w,
			(int)down_w);
		fprintf(f, "  lowest recommendation in the scale-up window %d, highest in the scale-down window %d;"
			   " current %d moves within [%d, %d] to %d\n",
			(int)s->up_low, (int)s->down_high, (int)current, (int)s->up_low, (int)s->down_high,
			(int)s->stabilized);
		if (s->held_by == HPA_WINDOW_NONE)
			fprintf(f, "  not held: %d passes\n", (int)s->stabilized);
		else if (s->held_age_ms >= 0)
			fprintf(f, "  held by the %s window (%ds) at %d (recommendation recorded %s ago) instead of %d\n",
				s->held_by == HPA_WINDOW_UP ? "scale-up" : "scale-down", (int)s->window_seconds,
				(int)s->held_at, age_str(s->held_age_ms, a, sizeof a), (int)s->desired);
		else
			fprintf(f, "  held by the %s window (%ds) at the current count %d instead of %d\n",
				s->held_by == HPA_WINDOW_UP ? "scale-up" : "scale-down", (int)s->window_seconds,
				(int)s->held_at, (int)s->desired);
	}
	fprintf(f, "  stored the unstabilised %d %s slot %zu (history length %zu)\n", (int)s->desired,
		s->replaced ? "over the outdated" : "in new", s->slot, s->history_len);
}

static void explain_policies(FILE *f, const struct hpa_limit_detail *d, const struct hpa_rules *r, int32_t current)
{
	bool up = d->dir == HPA_DIR_UP;

	if (d->select == HPA_SELECT_DISABLED) {
		fprintf(f, "  selectPolicy Disabled: the %s limit is the current count %d\n",
			up ? "scale-up" : "scale-down", (int)current);
		return;
	}
	for (size_t i = 0; i < d->npolicies && i < r->npolicies && i < HPA_MAX_POLICIES; i++) {
		const struct hpa_policy *p = &r->policies[i];
		const struct hpa_policy_eval *e = &d->policies[i];
		fprintf(f, "  policy [%zu] %s %d per %ds: period start %d (current %d - %d added + %d removed in the last %ds)",
			i, hpa_policy_type_name(p->type), (int)p->value, (int)p->period_seconds, (int)e->period_start,
			(int)current, (int)e->added, (int)e->deleted, (int)p->period_seconds);
		if (p->type == HPA_POLICY_PODS)
			fprintf(f, " %c %d = %d\n", up ? '+' : '-', (int)p->value, (int)e->proposed);
		else if (up)
			fprintf(f, ": ceil(%d x %.6g) = %d\n", (int)e->period_start, 1 + (double)p->value / 100,
				(int)e->proposed);
		else
			fprintf(f, ": int32(%d x %.6g) = %d\n", (int)e->period_start, 1 - (double)p->value / 100,
				(int)e->proposed);
	}
	if (d->chosen >= 0)
		fprintf(f, "  selectPolicy %s picks %d (policy [%d])\n", hpa_select_name(d->select), (int)d->raw,
			d->chosen);
	else
		fprintf(f, "  no policies: selectPolicy %s leaves %d\n", hpa_select_name(d->select), (int)d->raw);
}

static void explain_rate(FILE *f, const struct hpa_limit_detail *d, const struct hpa_rules *up_r,
			 const struct hpa_rules *down_r, int32_t current, int32_t desired, int32_t min, int32_t max,
			 int32_t result, enum hpa_reason reason)
{
	if (d->dir == HPA_DIR_NONE) {
		fprintf(f, "rate limits: %d equals the current count: no limit applies\n", (int)desired);
	} else if (d->dir == HPA_DIR_UP) {
		fprintf(f, "scale-up rate (%d -> %d):\n", (int)current, (int)desired);
		explain_policies(f, d, up_r, current);
		fprintf(f, "  limit %d (never below current %d); allowed maximum %d: %s\n", (int)d->limit, (int)current,
			(int)d->bound,
			d->bound_reason == HPA_REASON_SCALE_UP_LIMIT ? "the rate limit, lower than maxReplicas"
								     : "maxReplicas, not above the rate limit");
	} else {
		fprintf(f, "scale-down rate (%d -> %d):\n", (int)current, (int)desired);
		explain_policies(f, d, down_r, current);
		fprintf(f, "  limit %d (never above current %d); allowed minimum %d: %s\n", (int)d->limit, (int)current,
			(int)d->bound,
			d->bound_reason == HPA_REASON_SCALE_DOWN_LIMIT ? "the rate limit, higher than minReplicas"
								       : "minReplicas, not below the rate limit");
	}
	(void)min;
	(void)max;
	if (result != desired)
		fprintf(f, "  %d is limited to %d (%s)\n", (int)desired, (int)result, hpa_reason_name(reason));
	else
		fprintf(f, "  %d stays (%s)\n", (int)result, hpa_reason_name(reason));
}

static void explain_legacy_limits(FILE *f, int32_t current, int32_t desired, int32_t min, int32_t max,
				  double factor, double minimum, int32_t up_limit, int32_t result,
				  enum hpa_reason reason)
{
	fprintf(f, "limits (no behavior): scale-up limit int32(max(%g x %d, %g)) = %d; allowed maximum %d (%s)\n",
		factor, (int)current, minimum, (int)up_limit, (int)(max > up_limit ? up_limit : max),
		max > up_limit ? "the scale-up limit, lower than maxReplicas" : "maxReplicas");
	if (desired < min)
		fprintf(f, "  %d is below minReplicas %d: %d (%s)\n", (int)desired, (int)min, (int)result,
			hpa_reason_name(reason));
	else if (result != desired)
		fprintf(f, "  %d is above the allowed maximum: %d (%s)\n", (int)desired, (int)result,
			hpa_reason_name(reason));
	else
		fprintf(f, "  %d is within [%d, %d] (%s)\n", (int)desired, (int)min,
			(int)(max > up_limit ? up_limit : max), hpa_reason_name(reason));
}

static void explain_conditions(FILE *f, const struct hpa_condition *c, size_t n)
{
	fprintf(f, "conditions:\n");
	if (n == 0)
		fprintf(f, "  (none)\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "  %-15s %-6s %s\n", hpa_cond_type_name(c[i].type), c[i].status ? "True" : "False",
			hpa_reason_name(c[i].reason));
}

static void explain_events(FILE *f, const char *label, const struct hpa_events *ev, int64_t now_ms)
{
	char a[32];
	fprintf(f, "%s[", label);
	for (size_t i = 0; i < ev->n; i++)
		fprintf(f, "%s%d@%s%s", i ? ", " : "", (int)ev->v[i].change, age_str(now_ms - ev->v[i].at_ms, a, sizeof a),
			ev->v[i].outdated ? " outdated" : "");
	fprintf(f, "] (change@age)\n");
}

static void explain_reconcile(const struct hpa_case *c, FILE *f)
{
	const struct hpa_result *r = &c->result;
	const struct hpa_spec *s = &c->spec;
	const struct hpa_controller *ctl = &s->controller;
	struct hpa_rules up, down;
	char a[48];

	hpa_rules_resolve(s->has_scale_up ? &s->scale_up : NULL, HPA_DIR_UP, ctl->downscale_window_seconds, &up);
	hpa_rules_resolve(s->has_scale_down ? &s->scale_down : NULL, HPA_DIR_DOWN, ctl->downscale_window_seconds,
			  &down);
	fprintf(f, "replicas: spec %d, status %d, ready %d; minReplicas %d, maxReplicas %d; %s\n", (int)c->in.spec_replicas,
		(int)c->in.status_replicas, (int)c->in.ready_pods, (int)s->min_replicas, (int)s->max_replicas,
		s->has_behavior ? "behavior set" : "no behavior (legacy normalisation)");
	explain_tolerance(f, r->tolerance);

	switch (r->path) {
	case HPA_PATH_GET_SCALE_FAILED:
		fprintf(f, "the scale subresource could not be read: nothing changes\n");
		break;
	case HPA_PATH_DISABLED:
		fprintf(f, "the target has 0 replicas and minReplicas is %d: autoscaling is disabled, nothing changes\n",
			(int)s->min_replicas);
		break;
	case HPA_PATH_ABOVE_MAX:
		fprintf(f, "current %d is above maxReplicas %d: scale to %d without reading metrics or stabilising\n",
			(int)r->current, (int)r->max, (int)r->max);
		break;
	case HPA_PATH_BELOW_MIN:
		fprintf(f, "current %d is below minReplicas %d: scale to %d without reading metrics or stabilising\n",
			(int)r->current, (int)r->min, (int)r->min);
		break;
	case HPA_PATH_METRICS_FAILED:
	case HPA_PATH_METRICS:
		fprintf(f, "metrics:\n");
		for (size_t i = 0; i < r->nmetrics; i++) {
			const struct hpa_metric_result *m = &r->metrics[i];
			fprintf(f, "  [%zu] %s%s%s", i, hpa_source_name(m->source), m->target ? " " : "",
				hpa_target_name(m->target));
			if (m->precomputed) {
				fprintf(f, ": proposal %d (computed outside this model)\n", (int)m->eval.replicas);
				continue;
			}
			if (!m->ok) {
				fprintf(f, ": failed (%s): %s\n", hpa_reason_name(m->fail_reason),
					m->eval.error ? m->eval.error : "error");
				continue;
			}
			fprintf(f, ":\n");
			explain_eval(f, "      ", &m->eval, m->target == HPA_TARGET_VALUE, m->target_milli,
				     c->minputs[i].nvalues, r->current);
		}
		if (r->path == HPA_PATH_METRICS_FAILED) {
			if (r->invalid_metrics == 0)
				fprintf(f, "no usable proposal (selector problem or no metrics): nothing changes\n");
			else if ((size_t)r->invalid_metrics >= r->nmetrics)
				fprintf(f, "every metric failed: nothing changes, status.desiredReplicas stays %d\n",
					(int)r->desired);
			else
				fprintf(f, "%d of %zu metrics failed and the others propose %d < current %d: a failing metric blocks a scale-down; nothing changes\n",
					r->invalid_metrics, r->nmetrics, (int)r->proposal, (int)r->current);
			break;
		}
		fprintf(f, "proposal: %d (highest valid metric [%d])%s\n", (int)r->prenormalized, r->best_metric,
			r->invalid_metrics ? "; some metric failed but the others do not scale down, so the reconcile goes on and reports an error" : "");
		explain_stab(f, &r->stab, r->legacy, r->current, up.stabilization_window_seconds,
			     down.stabilization_window_seconds);
		if (r->legacy)
			explain_legacy_limits(f, r->current, r->stab.stabilized, r->min, r->max, ctl->scale_up_limit_factor,
					      ctl->scale_up_limit_minimum, r->limit.raw, r->normalized, r->limited_reason);
		else
			explain_rate(f, &r->limit, &up, &down, r->current, r->stab.stabilized, r->min, r->max,
				     r->normalized, r->limited_reason);
		break;
	}
	if (r->rescaled)
		fprintf(f, "decision: rescale %d -> %d\n", (int)r->current, (int)r->desired);
	else
		fprintf(f, "decision: no rescale (status.desiredReplicas %d)%s\n", (int)r->desired,
			r->error ? "; the reconcile reports an error" : "");
	if (r->rescaled && s->has_behavior) {
		explain_events(f, "scale-up events after: ", &c->state.up, c->now_ms);
		explain_events(f, "scale-down events after: ", &c->state.down, c->now_ms);
	}
	(void)a;
	explain_conditions(f, r->conditions, r->nconditions);
}

void hpa_case_explain(const struct hpa_case *c, FILE *f)
{
	char a[48];

	fprintf(f, "case \"%s\" (%s)\n", c->name ? c->name : "", hpa_case_kind_name(c->kind));
	switch (c->kind) {
	case HPA_CASE_EXTERNAL_VALUE:
	case HPA_CASE_EXTERNAL_AVERAGE_VALUE: {
		bool value = c->kind == HPA_CASE_EXTERNAL_VALUE;
		explain_tolerance(f, c->tol);
		if (value)
			fprintf(f, "External Value target: current (spec) replicas %d, ready pods %d\n", (int)c->current,
				(int)c->ready);
		else
			fprintf(f, "External AverageValue target: status replicas %d\n", (int)c->status_replicas);
		explain_eval(f, "  ", &c->eval, value, c->target_milli, c->nvalues, c->current);
		if (c->rc == 0)
			fprintf(f, "result: %d replicas, usage %s\n", (int)c->replicas, milli(c->eval.usage_milli, a, sizeof a));
		break;
	}
	case HPA_CASE_LEGACY_NORMALIZE:
		explain_legacy_limits(f, c->current, c->desired, c->min, c->max, c->factor, c->minimum, c->up_limit,
				      c->replicas, c->reason);
		fprintf(f, "result: %d (%s)\n", (int)c->replicas, hpa_reason_name(c->reason));
		break;
	case HPA_CASE_LEGACY_STABILIZE:
		explain_stab(f, &c->stab, true, 0, 0, 0);
		explain_history(f, &c->recs, c->now_ms);
		fprintf(f, "result: %d, %zu recommendations\n", (int)c->replicas, c->recs.n);
		break;
	case HPA_CASE_STABILIZE:
		explain_stab(f, &c->stab, false, c->current, c->up_window_s, c->down_window_s);
		explain_history(f, &c->recs, c->now_ms);
		fprintf(f, "result: %d%s%s\n", (int)c->replicas, c->replicas != c->desired ? " " : "",
			c->replicas != c->desired ? hpa_reason_name(c->reason) : "");
		break;
	case HPA_CASE_BEHAVIOR_RATE:
		fprintf(f, "current %d, stabilised desired %d, minReplicas %d, maxReplicas %d\n", (int)c->current,
			(int)c->desired, (int)c->min, (int)c->max);
		explain_rate(f, &c->limit, &c->up_resolved, &c->down_resolved, c->current, c->desired, c->min, c->max,
			     c->replicas, c->reason);
		fprintf(f, "result: %d (%s)\n", (int)c->replicas, hpa_reason_name(c->reason));
		break;
	case HPA_CASE_SCALE_UP_LIMIT:
	case HPA_CASE_SCALE_DOWN_LIMIT: {
		bool up = c->kind == HPA_CASE_SCALE_UP_LIMIT;
		fprintf(f, "%s limit from current %d:\n", up ? "scale-up" : "scale-down", (int)c->current);
		explain_policies(f, &c->limit, up ? &c->up_resolved : &c->down_resolved, c->current);
		fprintf(f, "result: limit %d\n", (int)c->replicas);
		break;
	}
	case HPA_CASE_STORE_SCALE_EVENT:
		if (!c->rules_given) {
			fprintf(f, "no behavior: scale events are not stored\n");
		} else {
			const struct hpa_rules *r = &c->up_resolved;
			int32_t longest = 0;
			for (size_t i = 0; i < r->npolicies; i++)
				if (r->policies[i].period_seconds > longest)
					longest = r->policies[i].period_seconds;
			fprintf(f, "longest policy period %ds: events at least that old are outdated; the last outdated slot is reused\n",
				(int)longest);
		}
		fprintf(f, "replicas changed in the last %ds before storing: %d\n", (int)c->sum_period_s,
			(int)c->change_before);
		explain_events(f, "after a scale-up by the change:   ", &c->after_up, c->now_ms);
		explain_events(f, "after a scale-down by the change: ", &c->after_down, c->now_ms);
		break;
	case HPA_CASE_RECONCILE:
		explain_reconcile(c, f);
		break;
	}
}

/* ======================================================================== */
/* The command                                                              */
/* ======================================================================== */

static const char usage_text[] =
	"usage: scalewise hpa [--case NAME|INDEX] [--list] FILE\n"
	"\n"
	"Evaluates one HPA test-vector case with scalewise's model of the Kubernetes\n"
	"autoscaling/v2 HorizontalPodAutoscaler controller and explains the decision:\n"
	"the usage ratio and the tolerance, the stabilisation window that held it, the\n"
	"policy that limited it (with the period start it computed), the min/max clamp\n"
	"and the status conditions.\n"
	"\n"
	"FILE is a case object or a vector file ({\"cases\": [...]}, as in\n"
	"testdata/hpa_vectors_public.json); '-' reads standard input. Case kinds:\n"
	"external_value, external_average_value, legacy_normalize, legacy_stabilize,\n"
	"stabilize, behavior_rate, scale_up_limit, scale_down_limit, store_scale_event,\n"
	"reconcile (format: testdata/README.md, \"HPA vector file\").\n"
	"\n"
	"  --case NAME|INDEX  the case to evaluate in a vector file: its name, or its\n"
	"                     index counting from 0 (needed when the file has several)\n"
	"  --list             list the cases of a vector file and exit\n"
	"  -h, --help         show this help\n"
	"\n"
	"Exit status: 0 when the case was evaluated, 2 on bad input.\n";

static char *read_all(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	size_t cap = 1 << 16, n = 0;
	char *buf;

	if (!f) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(cap);
	while (buf) {
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
		if (n + 1 == cap) {
			if (cap >= CLI_FILE_MAX) {
				snprintf(err, errlen, "cannot read '%s': larger than %u MiB", path, CLI_FILE_MAX >> 20);
				free(buf);
				buf = NULL;
				break;
			}
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				snprintf(err, errlen, "cannot read '%s': out of memory", path);
				break;
			}
			buf = nb;
			cap *= 2;
		}
	}
	if (buf && ferror(f)) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		free(buf);
		buf = NULL;
	} else if (!buf && !err[0]) {
		snprintf(err, errlen, "cannot read '%s': out of memory", path);
	}
	if (f != stdin)
		fclose(f);
	if (buf)
		buf[n] = 0;
	*len = n;
	return buf;
}

/* Finds the case named `sel` (or at index `sel`) in cases. */
static const cJSON *pick_case(const cJSON *cases, const char *sel, const char *path, char *err, size_t errlen)
{
	const cJSON *it;
	int n = cJSON_GetArraySize(cases);

	if (!sel) {
		if (n == 1)
			return cases->child;
		snprintf(err, errlen, "'%s' holds %d cases: choose one with --case NAME or --case INDEX (see --list)",
			 path, n);
		return NULL;
	}
	cJSON_ArrayForEach(it, cases) {
		const cJSON *name = jget(it, "name");
		if (cJSON_IsString(name) && !strcmp(name->valuestring, sel))
			return it;
	}
	char *end;
	errno = 0;
	long idx = strtol(sel, &end, 10);
	if (!errno && end != sel && !*end && sel[0] >= '0' && sel[0] <= '9') {
		if (idx < n)
			return cJSON_GetArrayItem(cases, (int)idx);
		snprintf(err, errlen, "--case %ld: '%s' holds only %d cases (indexes 0..%d)", idx, path, n, n - 1);
		return NULL;
	}
	snprintf(err, errlen, "--case '%s': no case of that name in '%s'", sel, path);
	return NULL;
}

int hpa_cli_main(int argc, char **argv)
{
	const char *path = NULL, *sel = NULL;
	bool list = false;
	char err[512] = "";
	size_t len;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(a, "--list")) {
			list = true;
		} else if (!strcmp(a, "--case")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "scalewise hpa: --case needs a NAME or an INDEX\n");
				return 2;
			}
			sel = argv[++i];
		} else if (!strncmp(a, "--case=", 7)) {
			sel = a + 7;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "scalewise hpa: unknown option '%s' (see --help)\n", a);
			return 2;
		} else if (path) {
			fprintf(stderr, "scalewise hpa: one FILE only ('%s' and '%s' given)\n", path, a);
			return 2;
		} else {
			path = a;
		}
	}
	if (!path) {
		fprintf(stderr, "scalewise hpa: missing FILE (see --help)\n");
		return 2;
	}

	char *text = read_all(path, &len, err, sizeof err);
	if (!text) {
		fprintf(stderr, "scalewise hpa: %s\n", err);
		return 2;
	}
	const char *endp = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(text, len, &endp, 0);
	if (!root) {
		long off = endp ? (long)(endp - text) : -1;
		fprintf(stderr, "scalewise hpa: '%s' is not valid JSON (near byte %ld)\n", path, off);
		free(text);
		return 2;
	}
	free(text);

	const cJSON *cases = jget(root, "cases");
	const cJSON *one = root, *defaults = NULL;
	int rc = 2;

	if (cases) {
		if (!cJSON_IsArray(cases)) {
			fprintf(stderr, "scalewise hpa: '%s': \"cases\" must be an array\n", path);
			goto out;
		}
		defaults = jget(root, "controller_defaults");
		if (list) {
			int i = 0;
			const cJSON *it;
			cJSON_ArrayForEach(it, cases) {
				const cJSON *nm = jget(it, "name"), *kd = jget(it, "kind");
				printf("%d\t%s\t%s\n", i++, cJSON_IsString(kd) ? kd->valuestring : "?",
				       cJSON_IsString(nm) ? nm->valuestring : "");
			}
			rc = 0;
			goto out;
		}
		one = pick_case(cases, sel, path, err, sizeof err);
		if (!one) {
			fprintf(stderr, "scalewise hpa: %s\n", err);
			goto out;
		}
	} else if (list || sel) {
		fprintf(stderr, "scalewise hpa: '%s' is a single case, not a vector file: --%s does not apply\n", path,
			list ? "list" : "case");
		goto out;
	}

	struct hpa_case *c = calloc(1, sizeof *c);
	if (!c) {
		fprintf(stderr, "scalewise hpa: out of memory\n");
		goto out;
	}
	if (hpa_case_load(one, defaults, c, err, sizeof err) || hpa_case_run(c, err, sizeof err)) {
		const cJSON *nm = jget(one, "name");
		if (cJSON_IsString(nm))
			fprintf(stderr, "scalewise hpa: '%s': case '%s': %s\n", path, nm->valuestring, err);
		else
			fprintf(stderr, "scalewise hpa: '%s': %s\n", path, err);
	} else {
		hpa_case_explain(c, stdout);
		const cJSON *exp = jget(one, "expect");
		if (exp) {
			char *s = cJSON_PrintUnformatted(exp);
			if (s)
				printf("expected by the case: %s\n", s);
			free(s);
		}
		rc = 0;
	}
	hpa_case_release(c);
	free(c);
out:
	cJSON_Delete(root);
	return rc;
}
