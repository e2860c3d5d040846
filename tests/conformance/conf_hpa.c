/*
 * conf_hpa.c — checks HPA vector cases (testdata/README.md, "HPA vector file")
 * against the model in adapter/hpa.h. Cases are loaded and run by the shared
 * loader (hpa_cli.h: reconcile cases go through hpa_reconcile itself); every
 * expectation is compared here. An expectation key we do not know fails the case,
 * so a format change cannot pass unnoticed.
 */
#include "conformance.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hpa.h"
#include "hpa_cli.h"

struct chk {
	char *why;
	size_t n;
	int checked;
	bool failed;
};

static void mismatch(struct chk *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void mismatch(struct chk *k, const char *fmt, ...)
{
	va_list ap;
	if (k->failed)
		return;
	k->failed = true;
	va_start(ap, fmt);
	vsnprintf(k->why, k->n, fmt, ap);
	va_end(ap);
}

static void want_int(struct chk *k, const cJSON *exp, const char *key, long long got)
{
	long long want;
	k->checked++;
	if (conf_int64(cJSON_GetObjectItemCaseSensitive(exp, key), &want)) {
		mismatch(k, "expect.%s: not an integer", key);
		return;
	}
	if (want != got)
		mismatch(k, "%s: got %lld, want %lld", key, got, want);
}

static void want_bool(struct chk *k, const cJSON *exp, const char *key, bool got)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(exp, key);
	k->checked++;
	if (!cJSON_IsBool(it)) {
		mismatch(k, "expect.%s: not a boolean", key);
		return;
	}
	if (cJSON_IsTrue(it) != got)
		mismatch(k, "%s: got %s, want %s", key, got ? "true" : "false", got ? "false" : "true");
}

static void want_reason(struct chk *k, const cJSON *exp, const char *key, enum hpa_reason got)
{
	const char *want = conf_str(exp, key);
	k->checked++;
	if (!want) {
		mismatch(k, "expect.%s: not a string", key);
		return;
	}
	if (strcmp(want, hpa_reason_name(got)))
		mismatch(k, "%s: got %s, want %s", key, hpa_reason_name(got), want);
}

static void want_recs(struct chk *k, const cJSON *exp, const char *key, const struct hpa_recs *h)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(exp, key), *it;
	size_t i = 0;
	k->checked++;
	if (!cJSON_IsArray(arr)) {
		mismatch(k, "expect.%s: not an array", key);
		return;
	}
	if ((size_t)cJSON_GetArraySize(arr) != h->n) {
		mismatch(k, "%s: got %zu recommendations, want %d", key, h->n, cJSON_GetArraySize(arr));
		return;
	}
	cJSON_ArrayForEach(it, arr) {
		long long want;
		if (conf_int64(it, &want) || want != h->v[i].replicas) {
			mismatch(k, "%s[%zu]: got %d", key, i, (int)h->v[i].replicas);
			return;
		}
		i++;
	}
}

static void want_events(struct chk *k, const cJSON *exp, const char *key, const char *variant,
			const struct hpa_events *ev, int64_t now_ms)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(exp, key), *it;
	size_t i = 0;
	k->checked++;
	if (!cJSON_IsArray(arr)) {
		mismatch(k, "expect.%s: not an array", key);
		return;
	}
	if ((size_t)cJSON_GetArraySize(arr) != ev->n) {
		mismatch(k, "%s (%s): got %zu events, want %d", key, variant, ev->n, cJSON_GetArraySize(arr));
		return;
	}
	cJSON_ArrayForEach(it, arr) {
		long long change;
		const cJSON *out = cJSON_GetObjectItemCaseSensitive(it, "outdated");
		if (conf_int64(cJSON_GetObjectItemCaseSensitive(it, "replica_change"), &change)) {
			mismatch(k, "expect.%s[%zu].replica_change: not an integer", key, i);
			return;
		}
		if (change != ev->v[i].change) {
			mismatch(k, "%s[%zu] (%s): change %d, want %lld", key, i, variant, (int)ev->v[i].change, change);
			return;
		}
		if (out && (!cJSON_IsBool(out) || cJSON_IsTrue(out) != ev->v[i].outdated)) {
			mismatch(k, "%s[%zu] (%s): outdated %s, want the opposite", key, i, variant,
				 ev->v[i].outdated ? "true" : "false");
			return;
		}
		const cJSON *age = cJSON_GetObjectItemCaseSensitive(it, "age_seconds");
		if (cJSON_IsNumber(age) && (double)(now_ms - ev->v[i].at_ms) != age->valuedouble * 1000.0) {
			mismatch(k, "%s[%zu] (%s): age %.3fs, want %gs", key, i, variant,
				 (double)(now_ms - ev->v[i].at_ms) / 1000.0, age->valuedouble);
			return;
		}
		i++;
	}
}

static void want_conditions(struct chk *k, const cJSON *exp, const struct hpa_result *r)
{
	const cJSON *arr = cJSON_GetObjectItemCaseSensitive(exp, "conditions"), *it;
	char got[256] = "";
	size_t len = 0, i = 0;

	k->checked++;
	for (size_t j = 0; j < r->nconditions && len < sizeof got; j++) {
		int w = snprintf(got + len, sizeof got - len, "%s%s/%s/%s", j ? " " : "",
				 hpa_cond_type_name(r->conditions[j].type), r->conditions[j].status ? "True" : "False",
				 hpa_reason_name(r->conditions[j].reason));
		len += w > 0 ? (size_t)w : 0;
	}
	if (!cJSON_IsArray(arr)) {
		mismatch(k, "expect.conditions: not an array");
		return;
	}
	if ((size_t)cJSON_GetArraySize(arr) != r->nconditions) {
		mismatch(k, "conditions: got [%s], want %d entries", got, cJSON_GetArraySize(arr));
		return;
	}
	cJSON_ArrayForEach(it, arr) {
		const char *type = conf_str(it, "type"), *status = conf_str(it, "status"), *reason = conf_str(it, "reason");
		const struct hpa_condition *c = &r->conditions[i];
		if (!type || !status || !reason) {
			mismatch(k, "expect.conditions[%zu]: needs type, status and reason strings", i);
			return;
		}
		if (strcmp(type, hpa_cond_type_name(c->type)) || strcmp(status, c->status ? "True" : "False") ||
		    strcmp(reason, hpa_reason_name(c->reason))) {
			mismatch(k, "conditions[%zu]: got [%s], want %s/%s/%s", i, got, type, status, reason);
			return;
		}
		i++;
	}
}

/* Keys each kind may expect. */
static bool known_key(enum hpa_case_kind kind, const char *key)
{
	static const char *const common[] = { "note", NULL };
	static const char *const by_kind[][4] = {
		[HPA_CASE_EXTERNAL_VALUE] = { "replicas", "usage_milli", "error", NULL },
		[HPA_CASE_EXTERNAL_AVERAGE_VALUE] = { "replicas", "usage_milli", "error", NULL },
		[HPA_CASE_LEGACY_NORMALIZE] = { "replicas", "condition_reason", NULL },
		[HPA_CASE_LEGACY_STABILIZE] = { "replicas", "recommendation_count", NULL },
		[HPA_CASE_STABILIZE] = { "replicas", "stored_recommendations", NULL },
		[HPA_CASE_BEHAVIOR_RATE] = { "replicas", "condition_reason", NULL },
		[HPA_CASE_SCALE_UP_LIMIT] = { "limit", NULL },
		[HPA_CASE_SCALE_DOWN_LIMIT] = { "limit", NULL },
		[HPA_CASE_STORE_SCALE_EVENT] = { "replicas_change_in_period_before_store", "events_after_store", NULL },
		[HPA_CASE_RECONCILE] = { "desired_replicas", "rescaled", "conditions", NULL },
	};
	for (const char *const *p = common; *p; p++)
		if (!strcmp(key, *p))
			return true;
	for (const char *const *p = by_kind[kind]; *p; p++)
		if (!strcmp(key, *p))
			return true;
	return false;
}

static void check_case(struct chk *k, const struct hpa_case *c, const cJSON *exp)
{
	const cJSON *it;
	bool has = false;

	cJSON_ArrayForEach(it, exp) {
		if (!known_key(c->kind, it->string))
			mismatch(k, "expect.%s: not an expectation this checker knows for kind %s", it->string,
				 hpa_case_kind_name(c->kind));
	}
	switch (c->kind) {
	case HPA_CASE_EXTERNAL_VALUE:
	case HPA_CASE_EXTERNAL_AVERAGE_VALUE: {
		const cJSON *e = cJSON_GetObjectItemCaseSensitive(exp, "error");
		bool want_err = cJSON_IsTrue(e);
		if (e) {
			want_bool(k, exp, "error", c->rc != 0);
		} else if (c->rc) {
			mismatch(k, "the rule failed: %s", c->eval.error ? c->eval.error : "?");
			return;
		}
		if (want_err)
			return;
		if (cJSON_GetObjectItemCaseSensitive(exp, "replicas"))
			want_int(k, exp, "replicas", c->replicas);
		if (cJSON_GetObjectItemCaseSensitive(exp, "usage_milli"))
			want_int(k, exp, "usage_milli", c->eval.usage_milli);
		break;
	}
	case HPA_CASE_LEGACY_NORMALIZE:
	case HPA_CASE_BEHAVIOR_RATE:
		if (cJSON_GetObjectItemCaseSensitive(exp, "replicas"))
			want_int(k, exp, "replicas", c->replicas);
		if (cJSON_GetObjectItemCaseSensitive(exp, "condition_reason"))
			want_reason(k, exp, "condition_reason", c->reason);
		break;
	case HPA_CASE_LEGACY_STABILIZE:
		if (cJSON_GetObjectItemCaseSensitive(exp, "replicas"))
			want_int(k, exp, "replicas", c->replicas);
		if (cJSON_GetObjectItemCaseSensitive(exp, "recommendation_count"))
			want_int(k, exp, "recommendation_count", (long long)c->recs.n);
		break;
	case HPA_CASE_STABILIZE:
		if (cJSON_GetObjectItemCaseSensitive(exp, "replicas"))
			want_int(k, exp, "replicas", c->replicas);
		if (cJSON_GetObjectItemCaseSensitive(exp, "stored_recommendations"))
			want_recs(k, exp, "stored_recommendations", &c->recs);
		break;
	case HPA_CASE_SCALE_UP_LIMIT:
	case HPA_CASE_SCALE_DOWN_LIMIT:
		if (cJSON_GetObjectItemCaseSensitive(exp, "limit"))
			want_int(k, exp, "limit", c->replicas);
		break;
	case HPA_CASE_STORE_SCALE_EVENT:
		if (cJSON_GetObjectItemCaseSensitive(exp, "replicas_change_in_period_before_store"))
			want_int(k, exp, "replicas_change_in_period_before_store", c->change_before);
		if (cJSON_GetObjectItemCaseSensitive(exp, "events_after_store")) {
			want_events(k, exp, "events_after_store", "scale-up variant", &c->after_up, c->now_ms);
			want_events(k, exp, "events_after_store", "scale-down variant", &c->after_down, c->now_ms);
		}
		break;
	case HPA_CASE_RECONCILE:
		if (cJSON_GetObjectItemCaseSensitive(exp, "desired_replicas"))
			want_int(k, exp, "desired_replicas", c->result.desired);
		if (cJSON_GetObjectItemCaseSensitive(exp, "rescaled"))
			want_bool(k, exp, "rescaled", c->result.rescaled);
		if (cJSON_GetObjectItemCaseSensitive(exp, "conditions"))
			want_conditions(k, exp, &c->result);
		break;
	}
	has = k->checked > 0;
	if (!has)
		mismatch(k, "the case expects nothing this checker can compare");
}

enum conf_result conf_hpa(const cJSON *c, char *why, size_t n)
{
	struct hpa_case *hc = calloc(1, sizeof *hc);
	struct chk k = { why, n, 0, false };
	char err[256];
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "expect");

	if (!hc) {
		snprintf(why, n, "out of memory");
		return CONF_FAIL;
	}
	if (hpa_case_load(c, NULL, hc, err, sizeof err)) {
		snprintf(why, n, "cannot load the case: %s", err);
		goto fail;
	}
	if (!cJSON_IsObject(exp)) {
		snprintf(why, n, "the case has no \"expect\" object");
		goto fail;
	}
	if (hpa_case_run(hc, err, sizeof err)) {
		snprintf(why, n, "%s", err);
		goto fail;
	}
	check_case(&k, hc, exp);
	if (k.failed)
		goto fail;
	hpa_case_release(hc);
	free(hc);
	return CONF_PASS;
fail:
	hpa_case_release(hc);
	free(hc);
	return CONF_FAIL;
}
