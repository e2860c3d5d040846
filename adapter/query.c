/*
 * query.c — `scalewise query`: one fetch of one metric, what the source
 * returned and what the HPA would be served.
 *
 * Everything the command says is computed by the code the server runs: the
 * config loader, the scaler's open/fetch/close, template_render for templated
 * queries, selector_matches for the others, a fresh pipeline per series and
 * quantity_from_double for the served value. What it cannot know — the
 * history a running server has — it says it does not know.
 */
#include "query.h"

#include "poller.h"

#include "batch.h"
#include "cli.h"
#include "duration.h"
#include "host.h"
#include "names.h"
#include "pipeline.h"
#include "quantity.h"
#include "routes.h"
#include "runtime.h"
#include "selector.h"
#include "template.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* small formatters                                                         */

/* RFC 3339 UTC; with milliseconds when ms is true ("2024-05-01T12:00:00.250Z"). */
static void fmt_time(int64_t unix_ms, bool ms, char *buf, size_t n)
{
	time_t secs = (time_t)(unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000);
	int frac = (int)(unix_ms - (int64_t)secs * 1000);
	struct tm tm;
	if (!gmtime_r(&secs, &tm)) {
		snprintf(buf, n, "(time %lld ms)", (long long)unix_ms);
		return;
	}
	if (ms)
		snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
	else
		snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* The shortest text that reads back as v; "NaN", "+Inf", "-Inf" for the others. */
static void fmt_double(double v, char *buf, size_t n)
{
	if (isnan(v)) {
		snprintf(buf, n, "NaN");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, n, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	/* whole numbers as written ("500", not "5e+02") while they are exact */
	if (v == trunc(v) && fabs(v) < 1e15) {
		snprintf(buf, n, "%.0f", v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

/* The Quantity the HPA would receive for v, or -1 for NaN/±Inf. */
static int fmt_quantity(double v, char *buf, size_t n)
{
	struct quantity q;
	if (quantity_from_double(&q, v))
		return -1;
	quantity_string(&q, buf, n);
	return 0;
}

static void fmt_duration(int64_t ms, char *buf, size_t n)
{
	duration_format(ms, buf, n);
}

/* A raw value for the JSON report: a number when finite, else its name. */
static cJSON *json_value(double v)
{
	if (isfinite(v))
		return cJSON_CreateNumber(v);
	char t[8];
	fmt_double(v, t, sizeof t);
	return cJSON_CreateString(t);
}

static cJSON *json_labels(const struct label *labels, size_t n)
{
	cJSON *o = cJSON_CreateObject();
	for (size_t i = 0; o && i < n; i++)
		cJSON_AddStringToObject(o, labels[i].name, labels[i].value);
	return o;
}

static cJSON *json_time(int64_t unix_ms, bool ms)
{
	char t[64];
	fmt_time(unix_ms, ms, t, sizeof t);
	return cJSON_CreateString(t);
}

static void add_note(cJSON *report, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_note(cJSON *report, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(report, "notes"), cJSON_CreateString(msg));
}

/* ------------------------------------------------------------------------ */
/* the report                                                               */

/* What onError does when the source fails, for series the server already has. */
static void add_on_error(cJSON *report, const struct metric_cfg *m, const char *err)
{
	const struct pipeline_cfg *pc = &m->pipe;
	cJSON *oe = cJSON_AddObjectToObject(report, "onError");
	char age[32], q[QUANTITY_STRING_MAX] = "", text[1400];
	fmt_duration(pc->max_age_ms, age, sizeof age);
	cJSON_AddStringToObject(oe, "maxAge", age);
	if (pc->has_fallback && fmt_quantity(pc->fallback, q, sizeof q) == 0)
		cJSON_AddStringToObject(oe, "fallback", q);
	else
		cJSON_AddNullToObject(oe, "fallback");
	size_t len = 0;
	if (pc->max_age_ms > 0)
		len = (size_t)snprintf(text, sizeof text,
				       "a series the server already has keeps its last good value while it is younger than %s, then ",
				       age);
	else
		len = (size_t)snprintf(text, sizeof text, "a series the server already has gets ");
	if (len < sizeof text) {
		if (pc->has_fallback)
			snprintf(text + len, sizeof text - len, "the fallback \"%s\"", q);
		else
			snprintf(text + len, sizeof text - len, "no value: the request gets 503 (%s)", err);
	}
	cJSON_AddStringToObject(oe, "outcome", text);
}

/* The index order of a batch's samples by series key, then by arrival
 * (qsort's comparison gets the batch through a static: the CLI has one thread). */
static const struct sw_batch *sort_batch;

static int by_key(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int d = strcmp(sort_batch->items[i].key, sort_batch->items[j].key);
	return d ? d : (i > j) - (i < j);
}

/* One served item of the report; -1 when v has no Quantity. */
static int add_served_item(cJSON *items, const struct label *labels, size_t nlabels, const struct pipeline_out *out,
			   const struct pipeline_cfg *pc, bool through_pipeline)
{
	char q[QUANTITY_STRING_MAX];
	cJSON *it = cJSON_CreateObject();
	cJSON_AddItemToArray(items, it);
	cJSON_AddItemToObject(it, "labels", json_labels(labels, nlabels));
	if (!out->ok) {
		cJSON_AddNullToObject(it, "value");
		cJSON_AddStringToObject(it, "reason", out->reason);
		return 0;
	}
	int bad = fmt_quantity(out->value, q, sizeof q);
	if (bad)
		cJSON_AddNullToObject(it, "value");
	else
		cJSON_AddStringToObject(it, "value", q);
	cJSON_AddItemToObject(it, "timestamp", json_time(out->ts_ms, false));
	if (!through_pipeline)
		return bad;
	cJSON_AddItemToObject(it, "raw", json_value(out->raw));
	cJSON_AddItemToObject(it, "smoothed", json_value(out->smoothed));
	/* the fallback stands in only for a series with no good sample (here: a NaN or ±Inf) */
	bool fallback = out->stale && pc->has_fallback && isnan(out->raw);
	const char *clamped = NULL;
	if (!fallback && pc->has_min && out->smoothed < pc->min)
		clamped = "min";
	else if (!fallback && pc->has_max && out->smoothed > pc->max)
		clamped = "max";
	if (clamped)
		cJSON_AddStringToObject(it, "clamped", clamped);
	else
		cJSON_AddNullToObject(it, "clamped");
	cJSON_AddBoolToObject(it, "fallback", fallback);
	if (out->reason[0])
		cJSON_AddStringToObject(it, "reason", out->reason);
	return bad;
}

/* Sets served.code/message for a failed answer. */
static void served_error(cJSON *served, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void served_error(cJSON *served, int code, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cJSON_ReplaceItemInObjectCaseSensitive(served, "code", cJSON_CreateNumber(code));
	cJSON_ReplaceItemInObjectCaseSensitive(served, "message", cJSON_CreateString(msg));
}

/* True, with a note, when a 200 answer would have no items: the server
 * answers so, but the HPA takes it as "no metrics returned", an error. */
static bool note_if_empty(cJSON *report, const cJSON *items)
{
	if (cJSON_GetArraySize(items) > 0)
		return false;
	add_note(report, "no series matches the selector: the answer is 200 with no items, which the HPA "
			 "treats as an error (no metrics returned)");
	return true;
}

/* A static metric: its configured series, served as written. */
static int report_static(cJSON *report, const struct metric_cfg *m, const struct selector *sel, int64_t now)
{
	cJSON *fetch = cJSON_AddObjectToObject(report, "fetch");
	cJSON_AddTrueToObject(fetch, "ok");
	cJSON_AddTrueToObject(fetch, "static");
	cJSON_AddNullToObject(fetch, "error");
	cJSON_AddNullToObject(fetch, "kind");
	cJSON_AddNumberToObject(fetch, "durationMs", 0);
	cJSON *series = cJSON_AddArrayToObject(fetch, "series");
	cJSON *served = cJSON_AddObjectToObject(report, "served");
	cJSON_AddNumberToObject(served, "code", 200);
	cJSON_AddNullToObject(served, "message");
	cJSON *items = cJSON_AddArrayToObject(served, "items");
	int rc = QUERY_OK;
	for (size_t i = 0; i < m->nseries; i++) {
		const struct static_series *s = &m->series[i];
		bool match = !sel || selector_matches(sel, s->labels, s->nlabels);
		cJSON *it = cJSON_CreateObject();
		cJSON_AddItemToArray(series, it);
		cJSON_AddItemToObject(it, "labels", json_labels(s->labels, s->nlabels));
		cJSON_AddItemToObject(it, "value", json_value(s->value));
		cJSON_AddItemToObject(it, "timestamp", json_time(now, true));
		cJSON_AddBoolToObject(it, "matchesSelector", match);
		if (!match)
			continue;
		struct pipeline_out out = { .ok = true, .value = s->value, .ts_ms = now };
		if (add_served_item(items, s->labels, s->nlabels, &out, &m->pipe, false)) {
			served_error(served, 500, "Internal error occurred: metric %s has a value that is not a number",
				     m->name);
			rc = QUERY_FAILED;
		}
	}
	add_note(report, "a static source is not fetched: its values are served as written in the config, "
			 "stamped with the request's time, without smoothing, stabilisation or bounds");
	if (rc == QUERY_OK && note_if_empty(report, items))
		rc = QUERY_FAILED;
	return rc;
}

/* Fetches a polled metric once and runs what it returned through fresh pipelines. */
static int report_fetch(cJSON *report, const struct config *cfg, const struct metric_cfg *m, const char *query,
			const char *ns, const struct selector *match_sel)
{
	const struct source_cfg *src = &cfg->sources[m->source];
	const struct sw_scaler_type *st = src->scaler;
	int64_t deadline = poller_fetch_budget_ms(m->interval_ms);
	cJSON_AddNumberToObject(report, "deadlineMs", (double)deadline);

	char err[512] = "";
	const char *kind = NULL;
	struct sw_batch batch;
	batch_init(&batch);
	int64_t start = now_ms();
	void *state = calloc(1, st->state_size ? st->state_size : 1);
	if (!state) {
		snprintf(err, sizeof err, "out of memory");
		kind = "source";
	} else if (st->open(state, src->params, host_table(), err, sizeof err)) {
		if (!err[0])
			snprintf(err, sizeof err, "open failed without a message");
		kind = "source";
	} else {
		struct sw_request req = {
			.metric = m->name,
			.query = query,
			.params = m->params,
			.namespace_ = m->templated ? ns : NULL,
			.now_ms = start,
			.deadline_ms = start + deadline,
		};
		int frc = st->fetch(state, src->params, &req, &batch, err, sizeof err);
		int64_t done = now_ms();
		if (st->close)
			st->close(state);
		if (frc == 0 && batch.overflow) {
			kind = "too_many_series";
			snprintf(err, sizeof err, "answer refused: %s", batch.why);
		} else if (frc == 0 && batch.n == 0) {
			kind = "no_samples";
			snprintf(err, sizeof err, "the source returned no samples");
		} else if (frc == 0 && done > start + deadline) {
			kind = "timeout";
			snprintf(err, sizeof err, "the fetch finished after its deadline");
		} else if (frc) {
			kind = frc == SW_FETCH_ANSWER_ERROR ? "answer" : "source";
			if (!err[0])
				snprintf(err, sizeof err, "fetch failed without a message");
		}
	}
	free(state);
	int64_t end = now_ms();

	cJSON *fetch = cJSON_AddObjectToObject(report, "fetch");
	cJSON_AddBoolToObject(fetch, "ok", kind == NULL);
	if (kind) {
		cJSON_AddStringToObject(fetch, "error", err);
		cJSON_AddStringToObject(fetch, "kind", kind);
	} else {
		cJSON_AddNullToObject(fetch, "error");
		cJSON_AddNullToObject(fetch, "kind");
	}
	cJSON_AddNumberToObject(fetch, "durationMs", (double)(end - start));
	if (m->templated && end - start > ROUTES_SUBSCRIBE_WAIT_MS)
		add_note(report, "this fetch took %lld ms: the first request for a new (namespace, selector) waits "
				 "at most %d ms for its fetch and would get a 503; later polls have the deadline above",
			 (long long)(end - start), ROUTES_SUBSCRIBE_WAIT_MS);
	cJSON *series = cJSON_AddArrayToObject(fetch, "series");
	cJSON *served = cJSON_AddObjectToObject(report, "served");
	cJSON_AddNumberToObject(served, "code", 200);
	cJSON_AddNullToObject(served, "message");
	cJSON *items = cJSON_AddArrayToObject(served, "items");
	add_on_error(report, m, kind ? err : "the source's error");
	int rc = QUERY_OK;

	if (kind) {
		/* the server makes a series when a sample arrives: a fetch that fails
		 * before any did leaves nothing for onError to serve */
		served_error(served, 503, "metric %s has no value: no value yet: %s", m->name, err);
		if (m->pipe.has_fallback || m->pipe.max_age_ms > 0)
			add_note(report, "onError applies to series the server has already seen; a series it has "
					 "never seen (as in one fetch, or a server just started) has no value yet: 503");
		batch_release(&batch);
		return QUERY_FAILED;
	}

	bool any_bad = false;
	for (size_t k = 0; k < batch.n; k++) {
		const struct sample *s = &batch.items[k];
		bool match = !match_sel || selector_matches(match_sel, s->labels, s->nlabels);
		cJSON *it = cJSON_CreateObject();
		cJSON_AddItemToArray(series, it);
		cJSON_AddItemToObject(it, "labels", json_labels(s->labels, s->nlabels));
		cJSON_AddItemToObject(it, "value", json_value(s->value));
		cJSON_AddItemToObject(it, "timestamp", json_time(s->ts_ms, true));
		cJSON_AddBoolToObject(it, "matchesSelector", match);
		if (!isfinite(s->value))
			any_bad = true;
	}

	/* one pipeline per series, in the server's order (by key), fed every sample of it */
	size_t *order = malloc(batch.n * sizeof *order);
	struct pipeline_state *ps = NULL;
	if (!order) {
		served_error(served, 500, "out of memory");
		batch_release(&batch);
		return QUERY_FAILED;
	}
	for (size_t k = 0; k < batch.n; k++)
		order[k] = k;
	sort_batch = &batch;
	qsort(order, batch.n, sizeof *order, by_key);
	sort_batch = NULL;
	bool failed = false;
	for (size_t g = 0; g < batch.n;) {
		const struct sample *first = &batch.items[order[g]];
		size_t h = g;
		ps = pipeline_state_new(&m->pipe);
		if (!ps) {
			served_error(served, 500, "out of memory");
			failed = true;
			break;
		}
		while (h < batch.n && !strcmp(batch.items[order[h]].key, first->key)) {
			const struct sample *s = &batch.items[order[h]];
			pipeline_step(&m->pipe, ps, s->value, s->ts_ms, end);
			h++;
		}
		g = h;
		if (match_sel && !selector_matches(match_sel, first->labels, first->nlabels)) {
			pipeline_state_free(ps);
			continue;
		}
		struct pipeline_out out;
		pipeline_served(&m->pipe, ps, end, &out);
		pipeline_state_free(ps);
		ps = NULL;
		if (add_served_item(items, first->labels, first->nlabels, &out, &m->pipe, true)) {
			served_error(served, 500,
				     "Internal error occurred: metric %s has a value that is not a number", m->name);
			failed = true;
		} else if (!out.ok && !failed) {
			/* every matching series must have a value: one without fails the request */
			served_error(served, 503, "metric %s has no value: %s", m->name, out.reason);
			failed = true;
		}
	}
	free(order);
	if (failed || any_bad)
		rc = QUERY_FAILED;
	if (any_bad)
		add_note(report, "a NaN or infinite value is an error, never a number: the server counts it as a "
				 "not_finite fetch error and its series serves onError's answer");
	if (!failed && note_if_empty(report, items))
		rc = QUERY_FAILED;
	batch_release(&batch);
	return rc;
}

/* Notes on what one fetch cannot show: the history a running server has. */
static void add_history_notes(cJSON *report, const struct metric_cfg *m)
{
	const struct pipeline_cfg *pc = &m->pipe;
	char a[32], b[32];
	if (pc->method != SMOOTH_NONE) {
		if (pc->method == SMOOTH_EMA)
			fmt_duration(pc->half_life_ms, a, sizeof a);
		else
			fmt_duration(pc->window_ms, a, sizeof a);
		add_note(report,
			 "smoothing %s (%s %s) starts with an empty window here: one sample is its own average, so "
			 "the smoothed value is the raw one; a running server's also weighs its history",
			 smooth_method_name(pc->method), pc->method == SMOOTH_EMA ? "halfLife" : "window", a);
	}
	if (pc->up_ms > 0 || pc->down_ms > 0) {
		fmt_duration(pc->up_ms, a, sizeof a);
		fmt_duration(pc->down_ms, b, sizeof b);
		char w[80];
		if (pc->up_ms > 0 && pc->down_ms > 0)
			snprintf(w, sizeof w, "up %s, down %s", a, b);
		else
			snprintf(w, sizeof w, "%s %s", pc->up_ms > 0 ? "up" : "down", pc->up_ms > 0 ? a : b);
		add_note(report,
			 "stabilization (%s) has no history here: the first value is taken as is; a running server "
			 "holds rises and falls inside that window",
			 w);
	}
	if (pc->hysteresis > 0)
		add_note(report,
			 "hysteresis %g compares with the previous served value, which one fetch does not have",
			 pc->hysteresis);
}

cJSON *query_report(const struct config *cfg, const struct query_opts *o, int *rc, char *err, size_t errlen)
{
	*rc = QUERY_USAGE;
	const struct metric_cfg *m = o->metric ? config_find_metric(cfg, o->metric) : NULL;
	if (!m) {
		snprintf(err, errlen, "no metric named '%s' in the config", o->metric ? o->metric : "");
		return NULL;
	}
	if (o->ns && !name_is_dns1123_label(o->ns, strlen(o->ns))) {
		char why[400];
		name_dns1123_label_errors(o->ns, strlen(o->ns), why, sizeof why);
		snprintf(err, errlen, "--namespace: invalid namespace '%s': %s", o->ns, why);
		return NULL;
	}
	struct selector *sel = NULL;
	if (o->selector && *o->selector) {
		size_t len = strlen(o->selector);
		char why[512];
		if (len > ROUTES_MAX_SELECTOR) {
			snprintf(err, errlen, "--selector: longer than %d bytes (the server answers 400)",
				 ROUTES_MAX_SELECTOR);
			return NULL;
		}
		sel = selector_parse(o->selector, len, why, sizeof why);
		if (!sel) {
			snprintf(err, errlen, "--selector: %s", why);
			return NULL;
		}
	}
	const struct source_cfg *src = &cfg->sources[m->source];
	const char *ns = o->ns ? o->ns : "default";
	/* a metric's own namespaces decide where the server shows it at all */
	if ((o->ns || m->templated) && !metric_visible_in(m, ns)) {
		snprintf(err, errlen, "--namespace: metric '%s' is not visible in namespace '%s' (see its namespaces; "
				      "the server answers 404)%s",
			 m->name, ns, o->ns ? "" : "; give --namespace");
		selector_free(sel);
		return NULL;
	}
	char *rendered = NULL;
	if (m->templated) {
		char why[512] = "";
		rendered = template_render(m->query, ns, sel, why, sizeof why);
		if (!rendered) {
			snprintf(err, errlen, "--selector: cannot be rendered into the query of '%s': %s", m->name, why);
			selector_free(sel);
			return NULL;
		}
	}

	cJSON *report = cJSON_CreateObject();
	if (!report) {
		snprintf(err, errlen, "out of memory");
		selector_free(sel);
		free(rendered);
		return NULL;
	}
	cJSON_AddStringToObject(report, "metric", m->name);
	cJSON *so = cJSON_AddObjectToObject(report, "source");
	cJSON_AddStringToObject(so, "name", src->name);
	cJSON_AddStringToObject(so, "type", src->type);
	if (m->query)
		cJSON_AddStringToObject(report, "query", m->query);
	else
		cJSON_AddNullToObject(report, "query");
	const char *sent = m->templated ? rendered : m->query;
	if (sent && src->scaler)
		cJSON_AddStringToObject(report, "renderedQuery", sent);
	else
		cJSON_AddNullToObject(report, "renderedQuery");
	/* an untemplated query does not contain the namespace: it only decides visibility */
	if (o->ns || m->templated)
		cJSON_AddStringToObject(report, "namespace", ns);
	else
		cJSON_AddNullToObject(report, "namespace");
	if (sel) {
		char s[ROUTES_MAX_SELECTOR + 1];
		selector_string(sel, s, sizeof s);
		cJSON_AddStringToObject(report, "selector", s);
		cJSON_AddStringToObject(report, "selectorAppliedBy", m->templated ? "source" : "memory");
	} else {
		cJSON_AddNullToObject(report, "selector");
		cJSON_AddNullToObject(report, "selectorAppliedBy");
	}
	cJSON_AddArrayToObject(report, "notes");

	int r;
	if (!src->scaler) {
		r = report_static(report, m, sel, now_ms());
	} else {
		/* a templated query carries the selector to the source; an untemplated
		 * one is fetched whole and its series matched here, as the server does */
		r = report_fetch(report, cfg, m, sent, ns, m->templated ? NULL : sel);
		add_history_notes(report, m);
	}
	cJSON_AddNumberToObject(report, "exitCode", r);
	*rc = r;
	selector_free(sel);
	free(rendered);
	return report;
}

/* ------------------------------------------------------------------------ */
/* text                                                                     */

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsNumber(it) ? it->valuedouble : 0;
}

static bool jtrue(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

/* {k="v",...} with \ and " escaped; {} without labels. */
static void put_labels(FILE *out, const cJSON *labels)
{
	fputc('{', out);
	const cJSON *l;
	bool first = true;
	cJSON_ArrayForEach(l, labels) {
		fprintf(out, "%s%s=\"", first ? "" : ",", l->string);
		for (const char *p = l->valuestring; p && *p; p++) {
			if (*p == '"' || *p == '\\')
				fputc('\\', out);
			fputc(*p, out);
		}
		fputc('"', out);
		first = false;
	}
	fputc('}', out);
}

static void put_value(FILE *out, const cJSON *v)
{
	char t[40];
	if (cJSON_IsNumber(v)) {
		fmt_double(v->valuedouble, t, sizeof t);
		fputs(t, out);
	} else if (cJSON_IsString(v)) {
		fputs(v->valuestring, out);
	} else {
		fputs("-", out);
	}
}

void query_print_text(const cJSON *r, FILE *out)
{
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(r, "source");
	const cJSON *fetch = cJSON_GetObjectItemCaseSensitive(r, "fetch");
	const cJSON *served = cJSON_GetObjectItemCaseSensitive(r, "served");
	const cJSON *it;
	bool is_static = jtrue(fetch, "static");

	fprintf(out, "metric:    %s\n", jstr(r, "metric"));
	fprintf(out, "source:    %s (%s)\n", jstr(src, "name"), jstr(src, "type"));
	if (jstr(r, "query") && jstr(r, "renderedQuery") && strcmp(jstr(r, "query"), jstr(r, "renderedQuery"))) {
		fprintf(out, "query:     %s\n", jstr(r, "query"));
		fprintf(out, "rendered:  %s\n", jstr(r, "renderedQuery"));
	} else if (jstr(r, "renderedQuery")) {
		fprintf(out, "query:     %s\n", jstr(r, "renderedQuery"));
	}
	if (jstr(r, "namespace") && jstr(r, "renderedQuery") && strstr(jstr(r, "query"), "<<.Namespace>>"))
		fprintf(out, "namespace: %s\n", jstr(r, "namespace"));
	else if (jstr(r, "namespace"))
		fprintf(out, "namespace: %s (not in the query: it only decides where the metric is visible)\n",
			jstr(r, "namespace"));
	if (jstr(r, "selector"))
		fprintf(out, "selector:  %s (%s)\n", jstr(r, "selector"),
			!strcmp(jstr(r, "selectorAppliedBy"), "source") ? "rendered into the query: the source applies it"
									 : "matched against the returned series");
	if (is_static) {
		fprintf(out, "\nconfigured values (static source, not fetched):\n");
	} else {
		char d[32];
		fmt_duration((int64_t)jnum(r, "deadlineMs"), d, sizeof d);
		if (jtrue(fetch, "ok"))
			fprintf(out, "\nfetched in %.0f ms (deadline %s); the source returned %d series:\n",
				jnum(fetch, "durationMs"), d, cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(fetch, "series")));
		else
			fprintf(out, "\nfetch failed after %.0f ms (deadline %s), %s error: %s\n", jnum(fetch, "durationMs"), d,
				jstr(fetch, "kind"), jstr(fetch, "error"));
	}
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(fetch, "series")) {
		fputs("  ", out);
		put_labels(out, cJSON_GetObjectItemCaseSensitive(it, "labels"));
		fputs(" ", out);
		put_value(out, cJSON_GetObjectItemCaseSensitive(it, "value"));
		if (!is_static)
			fprintf(out, " at %s", jstr(it, "timestamp"));
		if (!jtrue(it, "matchesSelector"))
			fputs("  (does not match the selector: not served)", out);
		fputc('\n', out);
	}

	int code = (int)jnum(served, "code");
	const cJSON *items = cJSON_GetObjectItemCaseSensitive(served, "items");
	if (code == 200)
		fprintf(out, "\nwould be served: 200, %d item%s\n", cJSON_GetArraySize(items),
			cJSON_GetArraySize(items) == 1 ? "" : "s");
	else
		fprintf(out, "\nwould be served: %d: %s\n", code, jstr(served, "message"));
	{
		cJSON_ArrayForEach(it, items) {
			fputs("  ", out);
			put_labels(out, cJSON_GetObjectItemCaseSensitive(it, "labels"));
			const char *v = jstr(it, "value");
			if (!v) {
				fprintf(out, " no value: %s\n", jstr(it, "reason") ? jstr(it, "reason") : "?");
				continue;
			}
			fprintf(out, " value \"%s\" timestamp %s", v, jstr(it, "timestamp"));
			if (cJSON_GetObjectItemCaseSensitive(it, "raw")) {
				fputs(" (raw ", out);
				put_value(out, cJSON_GetObjectItemCaseSensitive(it, "raw"));
				fputs(", smoothed ", out);
				put_value(out, cJSON_GetObjectItemCaseSensitive(it, "smoothed"));
				if (jstr(it, "clamped"))
					fprintf(out, ", clamped to bounds.%s", jstr(it, "clamped"));
				else
					fputs(", within bounds", out);
				if (jtrue(it, "fallback"))
					fprintf(out, "; onError.fallback stands in: %s", jstr(it, "reason") ? jstr(it, "reason") : "");
				else if (jstr(it, "reason"))
					fprintf(out, "; %s", jstr(it, "reason"));
				fputc(')', out);
			}
			fputc('\n', out);
		}
	}
	const cJSON *oe = cJSON_GetObjectItemCaseSensitive(r, "onError");
	if (oe && !jtrue(fetch, "ok"))
		fprintf(out, "onError (maxAge %s, fallback %s): %s\n", jstr(oe, "maxAge"),
			jstr(oe, "fallback") ? jstr(oe, "fallback") : "none", jstr(oe, "outcome"));
	const cJSON *notes = cJSON_GetObjectItemCaseSensitive(r, "notes");
	if (cJSON_GetArraySize(notes)) {
		fputs("\nnotes:\n", out);
		cJSON_ArrayForEach(it, notes)
			fprintf(out, "  - %s\n", it->valuestring);
	}
}

/* ------------------------------------------------------------------------ */
/* command line                                                             */

static const char usage_text[] =
	"usage: scalewise query --config FILE NAME [--namespace NS] [--selector SEL] [--output text|json]\n"
	"\n"
	"Fetches metric NAME of FILE once, as the server would poll it, and prints what\n"
	"the source returned (each series with its labels, raw value and timestamp, or\n"
	"the fetch's precise error) and what a request for it would be served: the\n"
	"value of each series as the Quantity the HPA receives, after the metric's\n"
	"pipeline, whether bounds clamped it or onError's fallback stood in, or the\n"
	"503 and its message. One fetch has no history: smoothing and stabilisation\n"
	"windows start empty, so a running server may serve a different value.\n"
	"The config is loaded as `check` loads it (environment overrides applied).\n"
	"\n"
	"  --config FILE        the config (YAML or JSON)\n"
	"  --namespace NS       the request's namespace; rendered into <<.Namespace>>\n"
	"                       (default \"default\"); must be a DNS-1123 label\n"
	"  --selector SEL       the request's labelSelector (Kubernetes grammar); rendered\n"
	"                       into <<.LabelMatchers>>, or matched against the series\n"
	"                       of an untemplated query as the server does\n"
	"  --output text|json   text for people (default), or the report as JSON\n"
	"  -h, --help           show this help\n"
	"\n"
	"Exit status: 0 when the request would be answered with values, 1 when the\n"
	"fetch failed, a value is NaN or infinite, the request would fail or no series\n"
	"matches, 2 for a bad command line or config, an unknown metric, a bad\n"
	"namespace or selector.\n";

int query_main(int argc, char **argv)
{
	const char *path = NULL, *output = "text";
	struct query_opts o = { 0 };
	for (int i = 0; i < argc; i++) {
		const char *v = NULL;
		bool missing = false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage_text, stdout);
			return 0;
		}
		const char *arg = argv[i];
		if (cli_flag(argc, argv, &i, "--config", &v, &missing))
			path = v;
		else if (cli_flag(argc, argv, &i, "--namespace", &v, &missing))
			o.ns = v;
		else if (cli_flag(argc, argv, &i, "--selector", &v, &missing))
			o.selector = v;
		else if (cli_flag(argc, argv, &i, "--output", &v, &missing))
			output = v;
		else
			arg = NULL;
		if (arg) {
			if (missing) {
				fprintf(stderr, "scalewise query: %s needs a value\n", arg);
				return QUERY_USAGE;
			}
			continue;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "scalewise query: unknown flag '%s' (see --help)\n", argv[i]);
			return QUERY_USAGE;
		}
		if (o.metric) {
			fprintf(stderr, "scalewise query: unexpected argument '%s': one metric NAME (see --help)\n", argv[i]);
			return QUERY_USAGE;
		}
		o.metric = argv[i];
	}
	if (!path) {
		fprintf(stderr, "scalewise query: --config FILE is required\n");
		return QUERY_USAGE;
	}
	if (!o.metric) {
		fprintf(stderr, "scalewise query: a metric NAME is required\n");
		return QUERY_USAGE;
	}
	if (strcmp(output, "text") && strcmp(output, "json")) {
		fprintf(stderr, "scalewise query: --output: '%s' must be text or json\n", output);
		return QUERY_USAGE;
	}
	struct config cfg;
	if (cli_load_config(path, NULL, 0, &cfg)) {
		config_release(&cfg);
		return QUERY_USAGE;
	}
	char err[1200] = "";
	int rc;
	cJSON *report = query_report(&cfg, &o, &rc, err, sizeof err);
	if (!report) {
		fprintf(stderr, "scalewise query: %s\n", err);
		config_release(&cfg);
		return rc;
	}
	if (!strcmp(output, "json")) {
		char *s = cJSON_Print(report);
		if (s)
			printf("%s\n", s);
		free(s);
	} else {
		query_print_text(report, stdout);
	}
	cJSON_Delete(report);
	config_release(&cfg);
	return rc;
}
