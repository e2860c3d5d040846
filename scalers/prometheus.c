/*
 * prometheus.c — the Prometheus scaler: POSTs `query` (and `time`) to
 * <url>/api/v1/query, turns the vector or scalar it answers into samples, and
 * reads /api/v1/query_range for the warm start. Every answer that is not a
 * clean number becomes an error with a precise message, never a zero.
 */
#include "prometheus.h"

#include "jsonhttp.h"

#include "http.h"

#include <cJSON.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_SOURCE SW_FETCH_SOURCE_ERROR
#define ERR_ANSWER SW_FETCH_ANSWER_ERROR

struct prom_params {
	struct http_source_params http;
};

struct prom_state {
	const struct sw_host *host;
	struct http_client *http;
	char *query_url; /* <url>/api/v1/query */
	char shown[512]; /* query_url as messages show it */
};

/* ------------------------------------------------------------------------ */
/* parsing the answer                                                       */

static const char *string_of(const cJSON *obj, const char *key)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

/* Reads a Prometheus sample value: a decimal number, "NaN", "+Inf", "-Inf".
 * Parsed exactly with strtod; NaN and ±Inf are given on as they are (the
 * pipeline turns them into a failure of that series under its onError
 * policy, so one bad series does not fail its healthy siblings). */
static int parse_number(const char *s, double *out, char *err, size_t errlen)
{
	if (!strcmp(s, "NaN")) {
		*out = NAN;
		return 0;
	}
	if (!strcmp(s, "+Inf") || !strcmp(s, "Inf")) {
		*out = INFINITY;
		return 0;
	}
	if (!strcmp(s, "-Inf")) {
		*out = -INFINITY;
		return 0;
	}
	size_t len = strlen(s);
	if (!len || len > 64 || strspn(s, "0123456789+-.eE") != len) {
		snprintf(err, errlen, "sample value '%.64s' is not a number", s);
		return -1;
	}
	char *end = NULL;
	errno = 0;
	double v = strtod(s, &end);
	if (end != s + len) {
		snprintf(err, errlen, "sample value '%s' is not a number", s);
		return -1;
	}
	if (errno == ERANGE && isinf(v)) {
		snprintf(err, errlen, "sample value '%s' is out of range", s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Reads [<seconds>, "<value>"]. Timestamps are seconds with up to three
 * decimals: ts * 1000 rounded is the exact millisecond for any |ts| below
 * 4e12 s (the double's error is far under half a millisecond there). */
static int parse_point(const cJSON *pair, int64_t *ts_ms, double *v, char *err, size_t errlen)
{
	if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2) {
		snprintf(err, errlen, "a sample is not a [time, \"value\"] pair");
		return -1;
	}
	const cJSON *t = cJSON_GetArrayItem(pair, 0), *s = cJSON_GetArrayItem(pair, 1);
	if (!cJSON_IsNumber(t) || !isfinite(t->valuedouble) || fabs(t->valuedouble) > 4e12) {
		snprintf(err, errlen, "a sample's time is not a number of seconds");
		return -1;
	}
	if (!cJSON_IsString(s)) {
		snprintf(err, errlen, "a sample's value is not a string");
		return -1;
	}
	if (parse_number(s->valuestring, v, err, errlen))
		return -1;
	*ts_ms = llround(t->valuedouble * 1000.0);
	return 0;
}

struct pseries {
	struct sw_label *labels;
	size_t nlabels;
	const cJSON *points; /* matrix: the values array; instant: the value pair */
	int64_t ts;          /* instant only */
	double v;
};

static int label_cmp(const void *a, const void *b)
{
	const struct sw_label *x = a, *y = b;
	return strcmp(x->name, y->name);
}

static int labelset_cmp(const void *a, const void *b)
{
	const struct pseries *x = *(struct pseries *const *)a, *y = *(struct pseries *const *)b;
	size_t n = x->nlabels < y->nlabels ? x->nlabels : y->nlabels;
	for (size_t i = 0; i < n; i++) {
		int c = strcmp(x->labels[i].name, y->labels[i].name);
		if (c)
			return c;
		c = strcmp(x->labels[i].value, y->labels[i].value);
		if (c)
			return c;
	}
	return x->nlabels < y->nlabels ? -1 : x->nlabels > y->nlabels;
}

static void format_labels(const struct pseries *s, char *out, size_t n)
{
	size_t o = 0;
	o += (size_t)snprintf(out, n, "{");
	for (size_t i = 0; i < s->nlabels && o < n; i++)
		o += (size_t)snprintf(out + o, n - o, "%s%s=\"%.60s\"", i ? "," : "", s->labels[i].name,
				      s->labels[i].value);
	if (o < n)
		snprintf(out + o, n - o, "}");
}

/* The series of a vector or matrix: labels (sorted, without __name__)
 * checked, and for a vector the sample parsed. On success *out holds n
 * series and *labels the one block their labels point into. */
static int collect(const cJSON *result, int matrix, struct pseries **out, struct sw_label **labels, size_t *n,
		   char *err, size_t errlen)
{
	*out = NULL;
	*labels = NULL;
	*n = 0;
	if (!cJSON_IsArray(result)) {
		snprintf(err, errlen, "\"result\" is not a list");
		return -1;
	}
	int count = cJSON_GetArraySize(result);
	if (count > PROMETHEUS_MAX_SERIES) {
		snprintf(err, errlen, "query returned %d series, more than the limit of %d", count,
			 PROMETHEUS_MAX_SERIES);
		return -1;
	}
	if (count == 0)
		return 0;
	size_t total = 0;
	const cJSON *el;
	cJSON_ArrayForEach(el, result) {
		const cJSON *metric = cJSON_GetObjectItemCaseSensitive(el, "metric");
		if (!cJSON_IsObject(el) || !cJSON_IsObject(metric)) {
			snprintf(err, errlen, "a series has no \"metric\" object");
			return -1;
		}
		int nl = cJSON_GetArraySize(metric);
		if (nl > PROMETHEUS_MAX_LABELS + 1) {
			snprintf(err, errlen, "a series has more than %d labels", PROMETHEUS_MAX_LABELS);
			return -1;
		}
		total += (size_t)nl;
	}
	struct pseries *ser = calloc((size_t)count, sizeof *ser);
	struct sw_label *lab = calloc(total ? total : 1, sizeof *lab);
	struct pseries **order = calloc((size_t)count, sizeof *order);
	if (!ser || !lab || !order) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	size_t used = 0, i = 0;
	cJSON_ArrayForEach(el, result) {
		struct pseries *s = &ser[i];
		order[i++] = s;
		s->labels = lab + used;
		const cJSON *l;
		cJSON_ArrayForEach(l, cJSON_GetObjectItemCaseSensitive(el, "metric")) {
			if (!cJSON_IsString(l)) {
				snprintf(err, errlen, "label '%.100s' is not a string", l->string);
				goto fail;
			}
			if (!strcmp(l->string, "__name__"))
				continue;
			s->labels[s->nlabels].name = l->string;
			s->labels[s->nlabels].value = l->valuestring;
			s->nlabels++;
		}
		if (s->nlabels > PROMETHEUS_MAX_LABELS) {
			snprintf(err, errlen, "a series has more than %d labels", PROMETHEUS_MAX_LABELS);
			goto fail;
		}
		used += s->nlabels;
		qsort(s->labels, s->nlabels, sizeof *s->labels, label_cmp);
		for (size_t k = 1; k < s->nlabels; k++) {
			if (!strcmp(s->labels[k - 1].name, s->labels[k].name)) {
				snprintf(err, errlen, "a series has label '%.100s' twice", s->labels[k].name);
				goto fail;
			}
		}
		if (matrix) {
			s->points = cJSON_GetObjectItemCaseSensitive(el, "values");
			if (!s->points && cJSON_GetObjectItemCaseSensitive(el, "histograms")) {
				snprintf(err, errlen, "query returned native histograms; wrap them in a function that "
						      "gives a number, e.g. histogram_quantile or histogram_count");
				goto fail;
			}
			if (!cJSON_IsArray(s->points)) {
				snprintf(err, errlen, "a series has no \"values\" list");
				goto fail;
			}
			if (cJSON_GetArraySize(s->points) > PROMETHEUS_RANGE_MAX_POINTS) {
				snprintf(err, errlen, "a series has more than %d points", PROMETHEUS_RANGE_MAX_POINTS);
				goto fail;
			}
			const cJSON *p;
			cJSON_ArrayForEach(p, s->points) {
				if (parse_point(p, &s->ts, &s->v, err, errlen))
					goto fail;
			}
		} else {
			s->points = cJSON_GetObjectItemCaseSensitive(el, "value");
			if (!s->points && cJSON_GetObjectItemCaseSensitive(el, "histogram")) {
				snprintf(err, errlen, "query returned a native histogram; wrap it in a function that "
						      "gives a number, e.g. histogram_quantile or histogram_count");
				goto fail;
			}
			if (parse_point(s->points, &s->ts, &s->v, err, errlen))
				goto fail;
		}
	}
	qsort(order, (size_t)count, sizeof *order, labelset_cmp);
	for (int k = 1; k < count; k++) {
		if (!labelset_cmp(&order[k - 1], &order[k])) {
			char shown[256];
			format_labels(order[k], shown, sizeof shown);
			snprintf(err, errlen, "query returned more than one series with the labels %s once __name__ is dropped",
				 shown);
			goto fail;
		}
	}
	free(order);
	*out = ser;
	*labels = lab;
	*n = (size_t)count;
	return 0;
fail:
	free(order);
	free(ser);
	free(lab);
	return -1;
}

/* Whom Prometheus' errorType in a 2xx answer blames (a proxy may send one),
 * as jsonhttp_blame does for a status. */
static int blame_type(const char *etype)
{
	static const char *const source_side[] = { "timeout", "canceled", "internal", "unavailable" };
	for (size_t i = 0; etype && i < sizeof source_side / sizeof source_side[0]; i++)
		if (!strcmp(etype, source_side[i]))
			return ERR_SOURCE;
	return ERR_ANSWER;
}

/* Checks the status, the JSON and "status" of an answer and finds "data".
 * The status and the JSON are jsonhttp_parse's, with its messages, but for a
 * refusal that Prometheus explains in a JSON body: its errorType and error
 * are quoted instead of an excerpt.
 * 0 (*root then to be freed by the caller), ERR_SOURCE or ERR_ANSWER. */
static int envelope(const char *body, size_t len, long status, cJSON **root, const cJSON **data, char *err,
		    size_t errlen)
{
	*root = NULL;
	cJSON *doc = NULL;
	int rc = jsonhttp_parse(body, len, status, &doc, err, errlen);
	if (rc && (status < 200 || status > 299)) {
		cJSON *e = len ? cJSON_ParseWithLength(body, len) : NULL;
		const char *etype = e ? string_of(e, "errorType") : NULL;
		const char *emsg = e ? string_of(e, "error") : NULL;
		if (emsg)
			snprintf(err, errlen, "HTTP %ld (%s): %s", status, etype ? etype : "no errorType", emsg);
		cJSON_Delete(e);
		return rc;
	}
	if (rc)
		return rc;
	if (!cJSON_IsObject(doc)) {
		snprintf(err, errlen, "body is JSON but not an object");
		cJSON_Delete(doc);
		return ERR_ANSWER;
	}
	const char *st = string_of(doc, "status");
	if (st && !strcmp(st, "error")) {
		const char *etype = string_of(doc, "errorType");
		const char *emsg = string_of(doc, "error");
		snprintf(err, errlen, "query failed (%s): %s", etype ? etype : "no errorType",
			 emsg ? emsg : "no message");
		int kind = blame_type(etype);
		cJSON_Delete(doc);
		return kind;
	}
	if (!st || strcmp(st, "success")) {
		snprintf(err, errlen, "answer has no \"status\": \"success\"");
		cJSON_Delete(doc);
		return ERR_ANSWER;
	}
	const cJSON *d = cJSON_GetObjectItemCaseSensitive(doc, "data");
	if (!cJSON_IsObject(d) || !string_of(d, "resultType")) {
		snprintf(err, errlen, "answer has no \"data\" with a \"resultType\"");
		cJSON_Delete(doc);
		return ERR_ANSWER;
	}
	*root = doc;
	*data = d;
	return 0;
}

int prometheus_parse_instant(const char *body, size_t len, long status, prometheus_sample_fn *fn, void *ctx,
			     char *err, size_t errlen)
{
	cJSON *root;
	const cJSON *data;
	int rc = envelope(body, len, status, &root, &data, err, errlen);
	if (rc)
		return rc;
	const char *rt = string_of(data, "resultType");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(data, "result");
	rc = ERR_ANSWER;
	if (!strcmp(rt, "scalar")) {
		int64_t ts;
		double v;
		if (parse_point(result, &ts, &v, err, errlen) == 0) {
			if (fn(ctx, v, ts, NULL, 0))
				snprintf(err, errlen, "the sample was refused");
			else
				rc = 1;
		}
	} else if (!strcmp(rt, "vector")) {
		struct pseries *ser;
		struct sw_label *lab;
		size_t n;
		if (collect(result, 0, &ser, &lab, &n, err, errlen) == 0) {
			if (n == 0)
				snprintf(err, errlen, "query returned no series");
			size_t i = 0;
			while (i < n && fn(ctx, ser[i].v, ser[i].ts, ser[i].labels, ser[i].nlabels) == 0)
				i++;
			if (n && i < n)
				snprintf(err, errlen, "sample %zu of %zu was refused", i + 1, n);
			else if (n)
				rc = (int)n;
			free(ser);
			free(lab);
		}
	} else if (!strcmp(rt, "matrix")) {
		snprintf(err, errlen, "query returned a range vector (matrix); an instant vector or a scalar is needed");
	} else if (!strcmp(rt, "string")) {
		snprintf(err, errlen, "query returned a string; an instant vector or a scalar is needed");
	} else {
		snprintf(err, errlen, "unknown resultType '%.40s'", rt);
	}
	cJSON_Delete(root);
	return rc;
}

int prometheus_parse_range(const char *body, size_t len, long status, prometheus_series_fn *fn, void *ctx,
			   char *err, size_t errlen)
{
	cJSON *root;
	const cJSON *data;
	int rc = envelope(body, len, status, &root, &data, err, errlen);
	if (rc)
		return rc;
	const char *rt = string_of(data, "resultType");
	if (strcmp(rt, "matrix")) {
		snprintf(err, errlen, "range query returned a %.40s, not a matrix", rt);
		cJSON_Delete(root);
		return ERR_ANSWER;
	}
	struct pseries *ser;
	struct sw_label *lab;
	size_t n;
	if (collect(cJSON_GetObjectItemCaseSensitive(data, "result"), 1, &ser, &lab, &n, err, errlen)) {
		cJSON_Delete(root);
		return ERR_ANSWER;
	}
	rc = (int)n;
	int64_t *ts = NULL;
	double *vs = NULL;
	for (size_t i = 0; i < n && rc >= 0; i++) {
		size_t np = (size_t)cJSON_GetArraySize(ser[i].points);
		int64_t *nts = realloc(ts, (np ? np : 1) * sizeof *ts);
		if (nts)
			ts = nts;
		double *nvs = realloc(vs, (np ? np : 1) * sizeof *vs);
		if (nvs)
			vs = nvs;
		if (!nts || !nvs) {
			snprintf(err, errlen, "out of memory");
			rc = ERR_ANSWER;
			break;
		}
		size_t k = 0;
		const cJSON *p;
		cJSON_ArrayForEach(p, ser[i].points) {
			parse_point(p, &ts[k], &vs[k], err, errlen); /* checked by collect */
			k++;
		}
		struct prometheus_series s = {
			.labels = ser[i].labels, .nlabels = ser[i].nlabels, .ts_ms = ts, .values = vs, .n = k,
		};
		if (fn(ctx, &s)) {
			snprintf(err, errlen, "series %zu of %zu was refused", i + 1, n);
			rc = ERR_ANSWER;
		}
	}
	free(ts);
	free(vs);
	free(ser);
	free(lab);
	cJSON_Delete(root);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* requests                                                                 */

/* Seconds with milliseconds, as Prometheus' time parameters take them. */
static void format_secs(int64_t ms, char *out, size_t n)
{
	const char *sign = ms < 0 ? "-" : "";
	uint64_t a = ms < 0 ? (uint64_t)0 - (uint64_t)ms : (uint64_t)ms;
	snprintf(out, n, "%s%llu.%03llu", sign, (unsigned long long)(a / 1000), (unsigned long long)(a % 1000));
}

static int query_ok(const char *q, char *err, size_t errlen)
{
	if (!q || !q[strspn(q, " \t\r\n")]) {
		snprintf(err, errlen, "query is empty");
		return -1;
	}
	if (strlen(q) > PROMETHEUS_QUERY_MAX) {
		snprintf(err, errlen, "query is longer than %d bytes", PROMETHEUS_QUERY_MAX);
		return -1;
	}
	return 0;
}

static struct sw_label accept_json_items[] = { { "Accept", "application/json" } };
static const struct sw_kv accept_json = { 1, accept_json_items };

struct batch_ctx {
	const struct sw_host *host;
	struct sw_batch *out;
};

static int add_to_batch(void *ctx, double value, int64_t ts_ms, const struct sw_label *labels, size_t nlabels)
{
	struct batch_ctx *b = ctx;
	return b->host->batch_add(b->out, value, ts_ms, labels, nlabels) ? -1 : 0;
}

/* What open refuses, checked at load without contacting anything. */
static int prom_check_source(const void *source_params, char *err, size_t errlen)
{
	const struct prom_params *p = source_params;
	return jsonhttp_check(&p->http, false, err, errlen);
}

static int prom_open(void *state, const void *source_params, const struct sw_host *host, char *err, size_t errlen)
{
	struct prom_state *st = state;
	const struct prom_params *p = source_params;
	if (prom_check_source(p, err, errlen))
		return -1;
	st->http = http_client_new(&p->http, err, errlen);
	if (!st->http)
		return -1;
	size_t n = strlen(p->http.url) + sizeof "/api/v1/query" + 1;
	st->query_url = malloc(n);
	if (!st->query_url || http_url_join(p->http.url, "/api/v1/query", st->query_url, n)) {
		snprintf(err, errlen, "out of memory");
		free(st->query_url);
		http_client_free(st->http);
		memset(st, 0, sizeof *st);
		return -1;
	}
	http_url_redact(st->query_url, st->shown, sizeof st->shown);
	st->host = host;
	return 0;
}

static int prom_check_metric(const void *source_params, const struct sw_request *req, char *err, size_t errlen)
{
	return query_ok(req->query, err, errlen);
}

static int prom_fetch(void *state, const void *source_params, const struct sw_request *req, struct sw_batch *out,
		      char *err, size_t errlen)
{
	struct prom_state *st = state;
	char msg[1024];
	if (query_ok(req->query, msg, sizeof msg)) {
		snprintf(err, errlen, "'%s': %s", st->shown, msg);
		return ERR_ANSWER;
	}
	struct http_form form = { 0 };
	char when[32];
	format_secs(req->now_ms, when, sizeof when);
	if (http_form_add(&form, "query", req->query) || (req->now_ms > 0 && http_form_add(&form, "time", when))) {
		http_form_release(&form);
		snprintf(err, errlen, "'%s': query does not fit in a request", st->shown);
		return ERR_ANSWER;
	}
	struct http_req r = {
		.method = HTTP_POST,
		.url = st->query_url,
		.headers = &accept_json,
		.form = form.buf,
		.deadline_ms = req->deadline_ms,
		.max_bytes = HTTP_BODY_MAX_DEFAULT,
	};
	struct http_resp resp;
	int rc = http_request(st->http, &r, &resp, err, errlen);
	http_form_release(&form);
	if (rc)
		return rc == HTTP_ERR_SOURCE ? ERR_SOURCE : ERR_ANSWER;
	struct batch_ctx b = { .host = st->host, .out = out };
	rc = prometheus_parse_instant(resp.body, resp.len, resp.status, add_to_batch, &b, msg, sizeof msg);
	http_resp_release(&resp);
	if (rc < 0) {
		http_client_redact(st->http, msg);
		snprintf(err, errlen, "'%s': %s", st->shown, msg);
		return rc;
	}
	return 0;
}

static void prom_close(void *state)
{
	struct prom_state *st = state;
	http_client_free(st->http);
	free(st->query_url);
	memset(st, 0, sizeof *st);
}

int prometheus_query_range(const void *source_params, const char *query, int64_t start_ms, int64_t end_ms,
			   int64_t step_ms, int64_t deadline_ms, prometheus_series_fn *fn, void *ctx, char *err,
			   size_t errlen)
{
	const struct prom_params *p = source_params;
	if (query_ok(query, err, errlen))
		return ERR_ANSWER;
	if (step_ms <= 0 || end_ms < start_ms) {
		snprintf(err, errlen, "range needs start <= end and a positive step");
		return ERR_ANSWER;
	}
	if ((end_ms - start_ms) / step_ms + 1 > PROMETHEUS_RANGE_MAX_POINTS) {
		snprintf(err, errlen, "range of %lld steps is more than %d; use a larger step",
			 (long long)((end_ms - start_ms) / step_ms + 1), PROMETHEUS_RANGE_MAX_POINTS);
		return ERR_ANSWER;
	}
	if (!p->http.url || !*p->http.url) {
		snprintf(err, errlen, "url is required");
		return ERR_ANSWER;
	}
	struct http_client *c = http_client_new(&p->http, err, errlen);
	if (!c)
		return ERR_ANSWER;
	size_t n = strlen(p->http.url) + sizeof "/api/v1/query_range" + 1;
	char *url = malloc(n);
	char shown[512] = "";
	struct http_form form = { 0 };
	char a[32], b[32], s[32];
	format_secs(start_ms, a, sizeof a);
	format_secs(end_ms, b, sizeof b);
	format_secs(step_ms, s, sizeof s);
	int rc = ERR_ANSWER;
	if (!url || http_url_join(p->http.url, "/api/v1/query_range", url, n)) {
		snprintf(err, errlen, "out of memory");
	} else if (http_form_add(&form, "query", query) || http_form_add(&form, "start", a) ||
		   http_form_add(&form, "end", b) || http_form_add(&form, "step", s)) {
		snprintf(err, errlen, "query does not fit in a request");
	} else {
		http_url_redact(url, shown, sizeof shown);
		struct http_req r = {
			.method = HTTP_POST,
			.url = url,
			.headers = &accept_json,
			.form = form.buf,
			.deadline_ms = deadline_ms,
			.max_bytes = PROMETHEUS_RANGE_MAX_BYTES,
		};
		struct http_resp resp;
		rc = http_request(c, &r, &resp, err, errlen);
		if (rc) {
			rc = rc == HTTP_ERR_SOURCE ? ERR_SOURCE : ERR_ANSWER;
		} else {
			char msg[1024];
			rc = prometheus_parse_range(resp.body, resp.len, resp.status, fn, ctx, msg, sizeof msg);
			http_resp_release(&resp);
			if (rc < 0) {
				http_client_redact(c, msg);
				snprintf(err, errlen, "'%s': %s", shown, msg);
			}
		}
	}
	http_form_release(&form);
	free(url);
	http_client_free(c);
	return rc;
}

/* ------------------------------------------------------------------------ */
/* the descriptor                                                           */

static const struct sw_param prom_source_params[] = {
	HTTP_SOURCE_PARAMS(struct prom_params, http, 1, "2s"),
};

/* fetch_range for the warm start: every point of every series into the batch. */
struct range_ctx {
	const struct sw_host *host;
	struct sw_batch *out;
};

static int range_to_batch(void *ctx, const struct prometheus_series *s)
{
	struct range_ctx *rc = ctx;
	for (size_t i = 0; i < s->n; i++)
		if (rc->host->batch_add(rc->out, s->values[i], s->ts_ms[i], s->labels, s->nlabels))
			return -1;
	return 0;
}

static int prom_fetch_range(void *state, const void *source_params, const struct sw_request *req, int64_t start_ms,
			    int64_t end_ms, int64_t step_ms, struct sw_batch *out, char *err, size_t errlen)
{
	const struct prom_state *st = state;
	struct range_ctx ctx = { .host = st->host, .out = out };
	int rc = prometheus_query_range(source_params, req->query, start_ms, end_ms, step_ms, req->deadline_ms,
					range_to_batch, &ctx, err, errlen);
	return rc < 0 ? rc : 0;
}

const struct sw_scaler_type scaler_prometheus = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_scaler_type),
	.name = "prometheus",
	.flags = SW_SCALER_CONCURRENT,
	.query = SW_QUERY_REQUIRED,
	.state_size = sizeof(struct prom_state),
	.source_params_size = sizeof(struct prom_params),
	.source_params = prom_source_params,
	.n_source_params = sizeof prom_source_params / sizeof prom_source_params[0],
	.metric_params_size = 0,
	.metric_params = NULL,
	.n_metric_params = 0,
	.open = prom_open,
	.check_metric = prom_check_metric,
	.fetch = prom_fetch,
	.close = prom_close,
	.fetch_range = prom_fetch_range,
	.check_source = prom_check_source,
};
