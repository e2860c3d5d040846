/*
 * routes.c — discovery documents, the external metrics handler, health and
 * own metrics. Documents are byte-compatible with k8s.io/apiserver-based
 * adapters (K8S-WIRE.md §1–§3).
 */
#include "routes.h"

#include "names.h"
#include "poller.h"
#include "quantity.h"
#include "runtime.h"
#include "selector.h"
#include "status.h"

#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GROUP "external.metrics.k8s.io"
#define VERSION "v1beta1"
#define GV GROUP "/" VERSION
#define PREFIX "/apis/" GROUP "/" VERSION

static const char *const JSON_TYPE = "application/json";
static const char *const TEXT_TYPE = "text/plain; charset=utf-8";
static char server_address[300] = "127.0.0.1:6443";
static atomic_int ready;
static char not_ready_why[128] = "config not loaded";
static pthread_mutex_t ready_mu = PTHREAD_MUTEX_INITIALIZER;

void routes_set_server_address(const char *addr)
{
	snprintf(server_address, sizeof server_address, "%s", addr);
}

void routes_set_ready(bool r, const char *why)
{
	pthread_mutex_lock(&ready_mu);
	snprintf(not_ready_why, sizeof not_ready_why, "%s", why ? why : "");
	pthread_mutex_unlock(&ready_mu);
	atomic_store(&ready, r ? 1 : 0);
}

static void fail(struct reply *rp, int code, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fail(struct reply *rp, int code, const char *reason, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	rp->code = code;
	rp->content_type = JSON_TYPE;
	buf_release(&rp->body);
	buf_init(&rp->body, 0);
	status_write(&rp->body, code, reason ? reason : status_reason(code), msg, NULL);
}

static void not_found(struct reply *rp)
{
	rp->code = 404;
	rp->content_type = JSON_TYPE;
	status_write(&rp->body, 404, "NotFound", "the server could not find the requested resource", "{}");
}

/* ------------------------------------------------------------------------ */
/* discovery                                                                */

static void put_group_versions(struct buf *b)
{
	buf_adds(b, "\"versions\":[{\"groupVersion\":\"" GV "\",\"version\":\"" VERSION "\"}],"
		    "\"preferredVersion\":{\"groupVersion\":\"" GV "\",\"version\":\"" VERSION "\"}");
}

static void apis(struct reply *rp)
{
	struct buf *b = &rp->body;
	buf_adds(b, "{\"kind\":\"APIGroupList\",\"groups\":[{\"name\":\"" GROUP "\",");
	put_group_versions(b);
	buf_adds(b, ",\"serverAddressByClientCIDRs\":[{\"clientCIDR\":\"0.0.0.0/0\",\"serverAddress\":");
	json_put_string(b, server_address, strlen(server_address));
	buf_adds(b, "}]}]}\n");
}

static void api_group(struct reply *rp)
{
	buf_adds(&rp->body, "{\"kind\":\"APIGroup\",\"apiVersion\":\"v1\",\"name\":\"" GROUP "\",");
	put_group_versions(&rp->body);
	buf_adds(&rp->body, "}\n");
}

static void resource_list(struct reply *rp, const struct runtime *rt)
{
	struct buf *b = &rp->body;
	buf_adds(b, "{\"kind\":\"APIResourceList\",\"apiVersion\":\"v1\",\"groupVersion\":\"" GV "\",\"resources\":[");
	for (size_t i = 0; rt && i < rt->cfg.nmetrics; i++) {
		const char *name = rt->cfg.metrics[i].name;
		if (i)
			buf_addc(b, ',');
		buf_adds(b, "{\"name\":");
		json_put_string(b, name, strlen(name));
		buf_adds(b, ",\"singularName\":\"\",\"namespaced\":true,\"kind\":\"ExternalMetricValueList\","
			    "\"verbs\":[\"get\"]}");
	}
	buf_adds(b, "]}\n");
}

/* ------------------------------------------------------------------------ */
/* external metrics                                                         */

static int put_item(struct buf *b, const char *name, const struct served_series *s, int64_t ts_ms)
{
	char q[QUANTITY_STRING_MAX];
	buf_adds(b, "{\"metricName\":");
	json_put_string(b, name, strlen(name));
	buf_adds(b, ",\"metricLabels\":");
	if (!s->nlabels) {
		buf_adds(b, "null");
	} else {
		buf_addc(b, '{');
		for (size_t i = 0; i < s->nlabels; i++) {
			if (i)
				buf_addc(b, ',');
			json_put_string(b, s->labels[i].name, strlen(s->labels[i].name));
			buf_addc(b, ':');
			json_put_string(b, s->labels[i].value, strlen(s->labels[i].value));
		}
		buf_addc(b, '}');
	}
	buf_adds(b, ",\"timestamp\":");
	json_put_time(b, ts_ms);
	buf_adds(b, ",\"value\":\"");
	/* rounded to the nearest milli-unit from the exact binary value, so the
	 * same value always gives the same string (the HPA reads MilliValue) */
	struct quantity qq;
	if (quantity_from_double(&qq, s->value))
		return -1;
	quantity_string(&qq, q, sizeof q);
	buf_adds(b, q);
	buf_adds(b, "\"}");
	return 0;
}

static void external(const struct request *rq, struct reply *rp, const char *ns, const char *metric)
{
	char err[512];
	if (!name_is_dns1123_label(ns, strlen(ns))) {
		fail(rp, 400, "BadRequest",
		     "invalid namespace \"%.100s\": a lowercase RFC 1123 label must consist of lower case alphanumeric "
		     "characters or '-', and must start and end with an alphanumeric character",
		     ns);
		return;
	}
	struct runtime *rt = runtime_current();
	const struct metric_cfg *m = rt ? config_find_metric(&rt->cfg, metric) : NULL;
	if (!m || !metric_visible_in(m, ns)) {
		fail(rp, 404, "NotFound", "the server could not find the metric %.200s for namespace %s", metric, ns);
		runtime_unref(rt);
		return;
	}
	struct selector *sel = NULL;
	if (rq->label_selector && *rq->label_selector) {
		if (strlen(rq->label_selector) > ROUTES_MAX_SELECTOR) {
			fail(rp, 400, "BadRequest", "labelSelector is longer than %d bytes", ROUTES_MAX_SELECTOR);
			runtime_unref(rt);
			return;
		}
		sel = selector_parse(rq->label_selector, strlen(rq->label_selector), err, sizeof err);
		if (!sel) {
			fail(rp, 400, "BadRequest", "%s", err);
			runtime_unref(rt);
			return;
		}
	}
	/* a templated query renders the selector into the query: the source
	 * applies it, so the answer's series are not matched again here */
	struct snapshot *snap;
	if (m->templated) {
		struct poller *p = poller_current_ref();
		snap = p ? poller_subscription(p, m, ns, sel, ROUTES_SUBSCRIBE_WAIT_MS, err, sizeof err) : NULL;
		poller_unref(p);
		if (!snap) {
			fail(rp, 503, "ServiceUnavailable", "metric %s has no value: %s", m->name,
			     p ? err : "the poller is not running");
			goto out;
		}
		selector_free(sel);
		sel = NULL;
	} else {
		snap = slot_get(runtime_slot(rt, m));
	}
	if (!snap || (snap->n == 0 && snap->error)) {
		fail(rp, 503, "ServiceUnavailable", "metric %s has no value: %s", m->name,
		     snap && snap->error ? snap->error : "no value yet");
		goto out;
	}
	struct buf *b = &rp->body;
	buf_adds(b, "{\"kind\":\"ExternalMetricValueList\",\"apiVersion\":\"" GV "\",\"metadata\":{},\"items\":[");
	bool first = true;
	for (size_t i = 0; i < snap->n; i++) {
		const struct served_series *s = &snap->items[i];
		if (sel && !selector_matches(sel, s->labels, s->nlabels))
			continue;
		/* every matching series must have a value: a partial sum would
		 * under-state the load (fail drops what was written so far) */
		if (!s->ok) {
			fail(rp, 503, "ServiceUnavailable", "metric %s has no value: %s", m->name,
			     s->reason ? s->reason : "unknown error");
			goto out;
		}
		if (!first)
			buf_addc(b, ',');
		first = false;
		/* the pipeline never serves NaN or ±Inf: if one got here, fail loudly
		 * rather than hand the HPA a made-up number */
		if (put_item(b, m->name, s, snap->stamp_now ? rq->now_ms : s->ts_ms)) {
			fail(rp, 500, "InternalError", "Internal error occurred: metric %s has a value that is not a number",
			     m->name);
			goto out;
		}
	}
	buf_adds(b, "]}\n");
	if (b->failed) {
		fail(rp, 500, "InternalError", "Internal error occurred: response too large");
		goto out;
	}
	rp->code = 200;
	rp->content_type = JSON_TYPE;
out:
	snapshot_unref(snap);
	selector_free(sel);
	runtime_unref(rt);
}

/* ------------------------------------------------------------------------ */
/* dispatch                                                                 */

/* Splits path (after prefix) into at most max segments; returns the count, or
 * -1 when there are more, or an empty segment in the middle. */
static int split(const char *p, char segs[][PATH_SEGMENT_MAX + 1], int max)
{
	int n = 0;
	if (*p == '/')
		p++;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (n == max || len > PATH_SEGMENT_MAX)
			return -1;
		if (len == 0)
			return slash && slash[1] ? -1 : n;
		memcpy(segs[n], p, len);
		segs[n][len] = 0;
		n++;
		if (!slash)
			break;
		p = slash + 1;
	}
	return n;
}

static void text(struct reply *rp, int code, const char *body)
{
	rp->code = code;
	rp->content_type = TEXT_TYPE;
	buf_adds(&rp->body, body);
}

void routes_handle(const struct request *rq, struct reply *rp)
{
	const char *p = rq->path;
	buf_init(&rp->body, 0);
	rp->code = 200;
	rp->content_type = JSON_TYPE;
	rp->pc = PC_OTHER;

	if (!strcmp(p, "/healthz") || !strcmp(p, "/livez") || !strcmp(p, "/readyz"))
		rp->pc = PC_HEALTH;
	else if (!strcmp(p, "/metrics"))
		rp->pc = PC_METRICS;
	else if (!strncmp(p, "/openapi", 8))
		rp->pc = PC_OPENAPI;
	else if (!strncmp(p, PREFIX "/", sizeof PREFIX))
		rp->pc = PC_METRIC;
	else if (!strncmp(p, "/apis", 5))
		rp->pc = PC_DISCOVERY;

	if (rq->header_bytes > ROUTES_MAX_HEADERS) {
		fail(rp, 431, "RequestHeaderFieldsTooLarge", "the request headers are larger than %d bytes",
		     ROUTES_MAX_HEADERS);
		return;
	}
	if (rq->url_len > ROUTES_MAX_URL) {
		fail(rp, 414, "RequestURITooLong", "the request URI is longer than %d bytes", ROUTES_MAX_URL);
		return;
	}
	if (strcmp(rq->method, "GET")) {
		fail(rp, 405, "MethodNotAllowed", "%.20s is not supported: this API serves only GET", rq->method);
		return;
	}
	if (rq->bad_param) {
		if (rq->bad_param_dup)
			fail(rp, 400, "BadRequest", "labelSelector is given more than once");
		else
			fail(rp, 400, "BadRequest", "unknown query parameter \"%.100s\"", rq->bad_param);
		return;
	}
	switch (rp->pc) {
	case PC_HEALTH:
		if (!strcmp(p, "/readyz") && !atomic_load(&ready)) {
			char msg[200];
			pthread_mutex_lock(&ready_mu);
			snprintf(msg, sizeof msg, "not ready: %s\n", not_ready_why);
			pthread_mutex_unlock(&ready_mu);
			text(rp, 503, msg);
		} else {
			text(rp, 200, "ok");
		}
		return;
	case PC_METRICS:
		rp->content_type = "text/plain; version=0.0.4; charset=utf-8";
		selfmetrics_render(&rp->body);
		return;
	case PC_OPENAPI:
		not_found(rp);
		return;
	default:
		break;
	}
	if (!strcmp(p, "/apis") || !strcmp(p, "/apis/")) {
		apis(rp);
		return;
	}
	if (!strcmp(p, "/apis/" GROUP) || !strcmp(p, "/apis/" GROUP "/")) {
		api_group(rp);
		return;
	}
	if (!strcmp(p, PREFIX) || !strcmp(p, PREFIX "/")) {
		struct runtime *rt = runtime_current();
		resource_list(rp, rt);
		runtime_unref(rt);
		return;
	}
	if (rp->pc == PC_METRIC) {
		char segs[4][PATH_SEGMENT_MAX + 1];
		int n = split(p + sizeof PREFIX - 1, segs, 4);
		if (n == 3 && !strcmp(segs[0], "namespaces")) {
			external(rq, rp, segs[1], segs[2]);
			return;
		}
	}
	not_found(rp);
}
