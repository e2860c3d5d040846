/*
 * test_prometheus.c — the Prometheus scaler and the shared HTTP client.
 *
 * Parser cases call prometheus_parse_instant/_range on canned bodies.
 * Transport cases run the scaler (through its descriptor, with parameters
 * loaded by the real params_load) or http_request against the canned HTTP
 * server of tests/unit/scaler_testkit.h: canned answers, silence, endless
 * bodies, redirects, echoes of the request.
 *
 * With arguments the binary is a small driver for
 * tests/integration/test_prometheus.sh (see tool_main at the end); it prints
 * one sorted line per sample, or "error (source|answer): message":
 *   test_prometheus query CONFIG_JSON PROMQL TIME_S
 *   test_prometheus range CONFIG_JSON PROMQL START_S END_S STEP_S
 *   test_prometheus poll  CONFIG_JSON PROMQL TIME_S   (one fetch per stdin line)
 *   test_prometheus freeport
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "scaler_testkit.h"

#include "jsonhttp.h"
#include "prometheus.h"

static const struct sw_scaler_type *T = &scaler_prometheus;

/* ======================================================================== */
/* parser callbacks                                                         */

struct collected {
	size_t n;
	double v[16];
	int64_t ts[16];
	char labels[16][256];
	size_t refuse_at; /* 1-based; 0 = never */
};

static int collect_cb(void *ctx, double value, int64_t ts_ms, const struct sw_label *labels, size_t nlabels)
{
	struct collected *c = ctx;
	if (c->refuse_at && c->n + 1 == c->refuse_at)
		return -1;
	if (c->n < 16) {
		c->v[c->n] = value;
		c->ts[c->n] = ts_ms;
		kit_format_labels(labels, nlabels, c->labels[c->n], sizeof c->labels[c->n]);
	}
	c->n++;
	return 0;
}

static int parse(const char *body, long status, struct collected *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	err[0] = 0;
	return prometheus_parse_instant(body, strlen(body), status, collect_cb, c, err, errlen);
}

#define assert_parse_error(body, status, needle)                                           \
	do {                                                                               \
		struct collected c_;                                                       \
		char e_[1024];                                                             \
		assert_true(parse((body), (status), &c_, e_, sizeof e_) < 0);              \
		assert_int_equal(c_.n, 0);                                                 \
		assert_contains(e_, (needle));                                             \
	} while (0)

/* ======================================================================== */
/* parser cases                                                             */

static void test_parse_vector(void **st)
{
	const char *b = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
			"{\"metric\":{\"__name__\":\"up\",\"job\":\"api\",\"instance\":\"a:1\"},"
			"\"value\":[1714564800.123,\"0.1\"]},"
			"{\"metric\":{\"job\":\"api\",\"instance\":\"b:1\"},\"value\":[1714564801,\"-2.5e3\"]}]}}";
	struct collected c;
	char err[512];
	assert_int_equal(parse(b, 200, &c, err, sizeof err), 2);
	assert_int_equal(c.n, 2);
	assert_true(c.v[0] == 0.1);
	assert_int_equal(c.ts[0], INT64_C(1714564800123));
	assert_string_equal(c.labels[0], "{instance=\"a:1\",job=\"api\"}");
	assert_true(c.v[1] == -2500.0);
	assert_int_equal(c.ts[1], INT64_C(1714564801000));
	assert_string_equal(c.labels[1], "{instance=\"b:1\",job=\"api\"}");
}

static void test_parse_scalar(void **st)
{
	struct collected c;
	char err[512];
	const char *b = "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1714564800.5,\"42\"]}}";
	assert_int_equal(parse(b, 200, &c, err, sizeof err), 1);
	assert_true(c.v[0] == 42.0);
	assert_int_equal(c.ts[0], INT64_C(1714564800500));
	assert_string_equal(c.labels[0], "{}");
}

/* NaN and ±Inf pass through as such: the pipeline fails that series alone. */
static void test_parse_nan_inf(void **st)
{
	struct collected c;
	char err[512];
	const char *b = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
			"{\"metric\":{\"k\":\"a\"},\"value\":[1,\"NaN\"]},"
			"{\"metric\":{\"k\":\"b\"},\"value\":[1,\"+Inf\"]},"
			"{\"metric\":{\"k\":\"c\"},\"value\":[1,\"-Inf\"]}]}}";
	assert_int_equal(parse(b, 200, &c, err, sizeof err), 3);
	assert_true(isnan(c.v[0]));
	assert_true(isinf(c.v[1]) && c.v[1] > 0);
	assert_true(isinf(c.v[2]) && c.v[2] < 0);
}

/* Every millisecond of a second survives the seconds-with-decimals form, and
 * values formatted with 17 digits come back bit for bit. */
static void test_parse_exact_numbers(void **st)
{
	char body[512], err[512];
	struct collected c;
	for (int ms = 0; ms < 1000; ms++) {
		snprintf(body, sizeof body,
			 "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1714564800.%03d,\"1\"]}}",
			 ms);
		assert_int_equal(parse(body, 200, &c, err, sizeof err), 1);
		assert_int_equal(c.ts[0], INT64_C(1714564800000) + ms);
	}
	const double vals[] = { 0.1, 1.0 / 3.0, 123456789.123456789, 5e-324, 1.7976931348623157e308, -0.0, 1e21 };
	for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
		snprintf(body, sizeof body,
			 "{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"%.17g\"]}}", vals[i]);
		assert_int_equal(parse(body, 200, &c, err, sizeof err), 1);
		assert_memory_equal(&c.v[0], &vals[i], sizeof(double));
	}
}

static void test_parse_errors(void **st)
{
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", 200,
			   "query returned no series");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}", 200,
			   "range vector (matrix)");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"string\",\"result\":[1,\"x\"]}}", 200,
			   "returned a string");
	assert_parse_error("{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"query timed out\"}", 200,
			   "query failed (execution): query timed out");
	assert_parse_error("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:5: parse error: unclosed\"}",
			   400, "HTTP 400 (bad_data): 1:5: parse error: unclosed");
	assert_parse_error("<html><body>502 Bad Gateway</body></html>", 502, "HTTP 502: <html><body>502 Bad Gateway");
	assert_parse_error("", 503, "HTTP 503 with an empty body");
	assert_parse_error("", 200, "empty body");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"metric\":{}",
			   200, "invalid or truncated JSON");
	assert_parse_error("<html>hello</html>", 200, "body is not JSON: <html>hello</html>");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"2\"]}} x", 200,
			   "data after its JSON document");
	assert_parse_error("[1,2]", 200, "not an object");
	assert_parse_error("{\"data\":{}}", 200, "no \"status\"");
	assert_parse_error("{\"status\":\"success\"}", 200, "no \"data\"");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,2]}}", 200,
			   "value is not a string");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"12abc\"]}}", 200,
			   "'12abc' is not a number");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"0x10\"]}}", 200,
			   "'0x10' is not a number");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"\"]}}", 200,
			   "is not a number");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[1,\"1e999\"]}}", 200,
			   "out of range");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"scalar\",\"result\":[\"1\",\"1\"]}}", 200,
			   "time is not a number");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[{\"value\":[1,\"1\"]}]}}",
			   200, "no \"metric\"");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
			   "[{\"metric\":{\"a\":1},\"value\":[1,\"1\"]}]}}",
			   200, "label 'a' is not a string");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"weird\",\"result\":[]}}", 200,
			   "unknown resultType 'weird'");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":"
			   "[{\"metric\":{},\"histogram\":[1,{\"count\":\"2\",\"sum\":\"3\"}]}]}}",
			   200, "query returned a native histogram");
}

/* An empty or whitespace-only body is "empty body", as for the JSON scalers:
 * the status and the JSON are checked by jsonhttp_parse, with its messages
 * and blame, for instant and range answers alike. */
static void test_parse_body_as_jsonhttp(void **st)
{
	struct collected c;
	char err[512], want[512];
	assert_int_equal(parse(" \n\t\r ", 200, &c, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_string_equal(err, "empty body");
	assert_int_equal(parse("", 200, &c, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_string_equal(err, "empty body");
	assert_int_equal(prometheus_parse_range("  \n", 3, 200, NULL, NULL, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_string_equal(err, "empty body");

	static const struct {
		const char *body;
		size_t len;
		long status;
	} cases[] = {
		{ "", 0, 200 },          { " \n\t\r ", 5, 200 },       { "  \n", 3, 503 },   { "", 0, 404 },
		{ "<html>x</html>", 14, 200 }, { "{\"status\":", 10, 200 }, { "[1,", 3, 200 },  { "{} x", 4, 200 },
		{ "{}\0", 3, 200 },       { "oops", 4, 502 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cJSON *doc = NULL;
		int want_rc = jsonhttp_parse(cases[i].body, cases[i].len, cases[i].status, &doc, want, sizeof want);
		assert_null(doc);
		memset(&c, 0, sizeof c);
		int rc = prometheus_parse_instant(cases[i].body, cases[i].len, cases[i].status, collect_cb, &c, err,
						  sizeof err);
		if (rc != want_rc || strcmp(err, want))
			fail_msg("case %zu: instant %d '%s', jsonhttp %d '%s'", i, rc, err, want_rc, want);
		rc = prometheus_parse_range(cases[i].body, cases[i].len, cases[i].status, NULL, NULL, err, sizeof err);
		if (rc != want_rc || strcmp(err, want))
			fail_msg("case %zu: range %d '%s', jsonhttp %d '%s'", i, rc, err, want_rc, want);
	}
}

/* Whom an error blames decides whether it counts against the source's
 * circuit breaker: the server's failures do, unusable answers do not. */
static void test_parse_error_kinds(void **st)
{
	static const struct {
		long status;
		const char *body;
		int want;
	} cases[] = {
		{ 503, "{\"status\":\"error\",\"errorType\":\"timeout\",\"error\":\"query timed out\"}", SW_FETCH_SOURCE_ERROR },
		{ 500, "", SW_FETCH_SOURCE_ERROR },
		{ 502, "<html>bad gateway</html>", SW_FETCH_SOURCE_ERROR },
		{ 429, "slow down", SW_FETCH_SOURCE_ERROR },
		{ 408, "", SW_FETCH_SOURCE_ERROR },
		{ 200, "{\"status\":\"error\",\"errorType\":\"unavailable\",\"error\":\"x\"}", SW_FETCH_SOURCE_ERROR },
		{ 400, "{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"x\"}", SW_FETCH_ANSWER_ERROR },
		{ 422, "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"x\"}", SW_FETCH_ANSWER_ERROR },
		{ 401, "Unauthorized", SW_FETCH_ANSWER_ERROR },
		{ 404, "404 page not found", SW_FETCH_ANSWER_ERROR },
		{ 200, "{\"status\":\"error\",\"errorType\":\"execution\",\"error\":\"x\"}", SW_FETCH_ANSWER_ERROR },
		{ 200, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", SW_FETCH_ANSWER_ERROR },
		{ 200, "not json", SW_FETCH_ANSWER_ERROR },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct collected c;
		char err[512];
		int rc = parse(cases[i].body, cases[i].status, &c, err, sizeof err);
		if (rc != cases[i].want)
			fail_msg("case %zu (HTTP %ld %s): %d, expected %d (%s)", i, cases[i].status, cases[i].body, rc,
				 cases[i].want, err);
	}
}

/* Dropping __name__ may make two series alike: that is an error, not a
 * silent pick of one. A malformed later series means no sample at all. */
static void test_parse_whole_answer_checked(void **st)
{
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
			   "{\"metric\":{\"__name__\":\"a\",\"job\":\"x\"},\"value\":[1,\"1\"]},"
			   "{\"metric\":{\"__name__\":\"b\",\"job\":\"x\"},\"value\":[1,\"2\"]}]}}",
			   200, "more than one series with the labels {job=\"x\"}");
	assert_parse_error("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
			   "{\"metric\":{\"job\":\"x\"},\"value\":[1,\"1\"]},"
			   "{\"metric\":{\"job\":\"y\"},\"value\":[1,\"oops\"]}]}}",
			   200, "'oops' is not a number");
	struct collected c;
	char err[512];
	memset(&c, 0, sizeof c);
	c.refuse_at = 2;
	const char *b = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
			"{\"metric\":{\"job\":\"x\"},\"value\":[1,\"1\"]},{\"metric\":{\"job\":\"y\"},\"value\":[1,\"2\"]}]}}";
	assert_int_equal(prometheus_parse_instant(b, strlen(b), 200, collect_cb, &c, err, sizeof err),
			 SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "sample 2 of 2 was refused");
}

static char *many_series(int n)
{
	size_t cap = (size_t)n * 64 + 128;
	char *b = malloc(cap);
	size_t o = (size_t)snprintf(b, cap, "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[");
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(b + o, cap - o, "%s{\"metric\":{\"i\":\"%d\"},\"value\":[1,\"%d\"]}", i ? "," : "",
				      i, i);
	snprintf(b + o, cap - o, "]}}");
	return b;
}

static void test_parse_series_cap(void **st)
{
	struct collected c;
	char err[512];
	char *b = many_series(PROMETHEUS_MAX_SERIES);
	assert_int_equal(parse(b, 200, &c, err, sizeof err), PROMETHEUS_MAX_SERIES);
	assert_int_equal(c.n, PROMETHEUS_MAX_SERIES);
	free(b);
	b = many_series(PROMETHEUS_MAX_SERIES + 1);
	assert_int_equal(parse(b, 200, &c, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_int_equal(c.n, 0);
	assert_contains(err, "query returned 10001 series, more than the limit of 10000");
	free(b);
}

struct range_seen {
	size_t n;
	char labels[4][256];
	size_t npoints[4];
	int64_t ts[4][8];
	double v[4][8];
};

static int range_cb(void *ctx, const struct prometheus_series *s)
{
	struct range_seen *r = ctx;
	if (r->n < 4) {
		kit_format_labels(s->labels, s->nlabels, r->labels[r->n], sizeof r->labels[r->n]);
		r->npoints[r->n] = s->n;
		for (size_t i = 0; i < s->n && i < 8; i++) {
			r->ts[r->n][i] = s->ts_ms[i];
			r->v[r->n][i] = s->values[i];
		}
	}
	r->n++;
	return 0;
}

static void test_parse_range(void **st)
{
	const char *b = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
			"{\"metric\":{\"__name__\":\"m\",\"s\":\"1\"},\"values\":[[100,\"1\"],[115,\"2.5\"],[130,\"NaN\"]]},"
			"{\"metric\":{\"s\":\"2\"},\"values\":[[100.001,\"7\"]]}]}}";
	struct range_seen r;
	char err[512];
	memset(&r, 0, sizeof r);
	assert_int_equal(prometheus_parse_range(b, strlen(b), 200, range_cb, &r, err, sizeof err), 2);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.labels[0], "{s=\"1\"}");
	assert_int_equal(r.npoints[0], 3);
	assert_int_equal(r.ts[0][1], 115000);
	assert_true(r.v[0][1] == 2.5);
	assert_true(isnan(r.v[0][2]));
	assert_string_equal(r.labels[1], "{s=\"2\"}");
	assert_int_equal(r.ts[1][0], 100001);

	const char *empty = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}";
	memset(&r, 0, sizeof r);
	assert_int_equal(prometheus_parse_range(empty, strlen(empty), 200, range_cb, &r, err, sizeof err), 0);
	assert_int_equal(r.n, 0);

	const char *vec = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}";
	assert_int_equal(prometheus_parse_range(vec, strlen(vec), 200, range_cb, &r, err, sizeof err),
			 SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "range query returned a vector, not a matrix");

	const char *bad = "{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
			  "{\"metric\":{\"s\":\"1\"},\"values\":[[100,\"1\"]]},"
			  "{\"metric\":{\"s\":\"2\"},\"values\":[[100,\"x\"]]}]}}";
	memset(&r, 0, sizeof r);
	assert_int_equal(prometheus_parse_range(bad, strlen(bad), 200, range_cb, &r, err, sizeof err),
			 SW_FETCH_ANSWER_ERROR);
	assert_int_equal(r.n, 0);
	assert_contains(err, "'x' is not a number");
}

/* ======================================================================== */
/* URL and form helpers                                                     */

static void test_url_helpers(void **st)
{
	char out[256];
	assert_int_equal(http_url_join("http://h:9090/", "/api/v1/query", out, sizeof out), 0);
	assert_string_equal(out, "http://h:9090/api/v1/query");
	assert_int_equal(http_url_join("http://h/prom", "api/v1/query", out, sizeof out), 0);
	assert_string_equal(out, "http://h/prom/api/v1/query");
	assert_int_equal(http_url_join("http://h", "/x", out, 8), -1);

	http_url_redact("http://user:pw@h:1/p/q?token=abc#f", out, sizeof out);
	assert_string_equal(out, "http://h:1/p/q?...");
	http_url_redact("https://h/p", out, sizeof out);
	assert_string_equal(out, "https://h/p");
	http_url_redact("http://h/a@b", out, sizeof out);
	assert_string_equal(out, "http://h/a@b");

	struct http_form f = { 0 };
	assert_int_equal(http_form_add(&f, "query", "sum(rate(x{a=\"b c\"}[5m])) & 1+1"), 0);
	assert_int_equal(http_form_add(&f, "time", "1714564800.123"), 0);
	assert_string_equal(f.buf, "query=sum%28rate%28x%7Ba%3D%22b%20c%22%7D%5B5m%5D%29%29%20%26%201%2B1"
				   "&time=1714564800.123");
	char *huge = malloc(HTTP_FORM_MAX);
	memset(huge, 'a', HTTP_FORM_MAX - 1);
	huge[HTTP_FORM_MAX - 1] = 0;
	assert_int_equal(http_form_add(&f, "q", huge), -1);
	assert_true(f.overflow);
	free(huge);
	http_form_release(&f);
}

/* A source's url: http or https, a host, and no credentials (they belong
 * in basicAuth, and a URL may reach a log). */
static void test_url_check(void **st)
{
	char err[512];
	assert_int_equal(http_url_check("http://h:1/x", "url", err, sizeof err), 0);
	assert_int_equal(http_url_check("HTTPS://h", "url", err, sizeof err), 0);
	assert_int_equal(http_url_check("http://h/a@b", "url", err, sizeof err), 0);
	assert_int_equal(http_url_check("ftp://h", "url", err, sizeof err), -1);
	assert_string_equal(err, "url 'ftp://h' must start with http:// or https://");
	assert_int_equal(http_url_check(NULL, "url", err, sizeof err), -1);
	assert_string_equal(err, "url '' must start with http:// or https://");
	assert_int_equal(http_url_check("http://guest:s3cret@rabbit:15672/", "url", err, sizeof err), -1);
	assert_string_equal(err, "url 'http://rabbit:15672/' must not hold credentials; use basicAuth.username and "
				 "basicAuth.passwordFile");
	assert_true(strstr(err, "s3cret") == NULL);
	assert_int_equal(http_url_check("http:///x", "params.url", err, sizeof err), -1);
	assert_string_equal(err, "params.url 'http:///x' has no host");
	assert_int_equal(http_url_has_credentials("http://guest:s3cret@rabbit:15672/"), 1);
	assert_int_equal(http_url_has_credentials("https://token@h"), 1);
	assert_int_equal(http_url_has_credentials("http://h/a@b"), 0);
	assert_int_equal(http_url_has_credentials("http://h?x=a@b"), 0);
	assert_int_equal(http_url_has_credentials("h@x"), 0);
	assert_int_equal(http_url_has_credentials(NULL), 0);
}

/* ======================================================================== */
/* the scaler through its descriptor                                        */

/* Loads json as the params of a source named prom; NULL with the problems in err. */
static void *load_params(const char *json, char *err, size_t errlen)
{
	return kit_load_source(T, json, "sources.prom", err, errlen);
}

static int source_fetch(struct kit *k, const char *query, int64_t deadline_ms, char *err, size_t errlen)
{
	return kit_fetch_at(k, query, KIT_NOW, deadline_ms, err, errlen);
}

static void open_at(struct kit *k, struct srv *v, const char *extra)
{
	char json[2048], err[512];
	snprintf(json, sizeof json, "{\"url\": \"http://127.0.0.1:%d\"%s%s}", v->tcp.port, extra ? ", " : "",
		 extra ? extra : "");
	if (kit_open(k, T, json, NULL, err, sizeof err))
		fail_msg("open failed: %s", err);
}

static const char *VEC1 = "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":["
			  "{\"metric\":{\"__name__\":\"q\",\"service\":\"web\"},\"value\":[1714564800.123,\"12.5\"]}]}}";

/* ======================================================================== */
/* transport cases                                                          */

static void test_descriptor(void **st)
{
	const struct sw_scaler_type *t = T;
	assert_int_equal(t->abi_version, SW_SCALER_ABI_VERSION);
	assert_int_equal(t->struct_size, sizeof(struct sw_scaler_type));
	assert_string_equal(t->name, "prometheus");
	assert_int_equal(t->query, SW_QUERY_REQUIRED);
	assert_true(t->flags & SW_SCALER_CONCURRENT);
	char err[512];
	assert_null(load_params("{}", err, sizeof err));
	assert_contains(err, "sources.prom.url: required");
	assert_null(load_params("{\"url\":\"http://x\",\"tls\":{\"insecureSkipVerfy\":true}}", err, sizeof err));
	assert_contains(err, "sources.prom.tls.insecureSkipVerfy: unknown key; did you mean \"insecureSkipVerify\"?");
	assert_null(load_params("{\"url\":\"http://x\",\"timeout\":\"0s\"}", err, sizeof err));
	assert_contains(err, "sources.prom.timeout");

	struct sw_request req = { .query = "  " };
	assert_int_equal(t->check_metric(NULL, &req, err, sizeof err), -1);
	assert_contains(err, "query is empty");
	req.query = "up";
	assert_int_equal(t->check_metric(NULL, &req, err, sizeof err), 0);

	/* `scalewise check` runs check_source, not open: it refuses what open would */
	void *p = load_params("{\"url\":\"http://alice:s3cret@prom:9090\"}", err, sizeof err);
	assert_non_null(p);
	assert_int_equal(t->check_source(p, err, sizeof err), -1);
	assert_string_equal(err, "url 'http://prom:9090' must not hold credentials; use basicAuth.username and "
				 "basicAuth.passwordFile");
	kit_free_source(T, p);
	assert_int_equal(kit_check_source(T, "{\"url\":\"http:///x\"}", err, sizeof err), -1);
	assert_string_equal(err, "url 'http:///x' has no host");
	assert_int_equal(kit_check_source(T, "{\"url\":\"http://h\",\"tls\":{\"certFile\":\"/c\"}}", err, sizeof err),
			 -1);
	assert_string_equal(err, "tls.certFile and tls.keyFile go together");
	assert_int_equal(kit_check_source(T, "{\"url\":\"http://h\",\"headers\":{\"X-A\":\"a\\r\\nb\"}}", err,
					  sizeof err),
			 -1);
	assert_string_equal(err, "header 'X-A' has a line break in its value");
	p = load_params("{\"url\":\"http://prom:9090\"}", err, sizeof err);
	assert_non_null(p);
	assert_int_equal(t->check_source(p, err, sizeof err), 0);
	assert_int_equal(t->check_metric(p, &req, err, sizeof err), 0);
	kit_free_source(T, p);
}

static void test_open_errors(void **st)
{
	struct kit k;
	char err[512];
	assert_int_equal(kit_open(&k, T, "{\"url\":\"ftp://h\"}", NULL, err, sizeof err), -1);
	assert_contains(err, "url 'ftp://h' must start with http:// or https://");
	kit_close(&k);
	assert_int_equal(kit_open(&k, T, "{\"url\":\"http://h\",\"basicAuth\":{\"username\":\"u\"}}", NULL, err, sizeof err),
			 -1);
	assert_contains(err, "basicAuth.username needs basicAuth.passwordFile");
	kit_close(&k);
	assert_int_equal(kit_open(&k, T,
				  "{\"url\":\"http://h\",\"bearerTokenFile\":\"t\","
				  "\"basicAuth\":{\"username\":\"u\",\"passwordFile\":\"p\"}}",
				  NULL, err, sizeof err),
			 -1);
	assert_contains(err, "either bearerTokenFile or basicAuth");
	kit_close(&k);
	assert_int_equal(kit_open(&k, T, "{\"url\":\"http://h\",\"headers\":{\"X-A\":\"a\\r\\nEvil: 1\"}}", NULL, err,
				  sizeof err),
			 -1);
	assert_contains(err, "header 'X-A' has a line break");
	kit_close(&k);
	assert_int_equal(kit_open(&k, T, "{\"url\":\"http://h\",\"tls\":{\"certFile\":\"c\"}}", NULL, err, sizeof err), -1);
	assert_contains(err, "tls.certFile and tls.keyFile go together");
	kit_close(&k);
	/* credentials belong in basicAuth, never in a URL that could reach a log */
	assert_int_equal(kit_open(&k, T, "{\"url\":\"http://alice:s3cret@h:9090/prom\"}", NULL, err, sizeof err), -1);
	assert_string_equal(err, "url 'http://h:9090/prom' must not hold credentials; use basicAuth.username and "
				 "basicAuth.passwordFile");
	kit_close(&k);
	assert_int_equal(kit_open(&k, T, "{\"url\":\"http://alice@h\"}", NULL, err, sizeof err), -1);
	assert_contains(err, "must not hold credentials");
	kit_close(&k);
}

/* The request on the wire: POST, form body with query and time, the
 * configured headers, no Expect; the answer becomes labelled samples. */
static void test_fetch_request_and_headers(void **st)
{
	struct srv v;
	struct kit k;
	char err[512], last[65536];
	srv_start(&v);
	srv_set(&v, 200, "application/json", VEC1);
	open_at(&k, &v, "\"headers\": {\"X-Scope-OrgID\": \"team-a\"}");
	assert_int_equal(source_fetch(&k, "sum(rate(x[2m]))", 0, err, sizeof err), 0);
	assert_int_equal(k.batch.n, 1);
	assert_true(k.batch.v[0] == 12.5);
	assert_int_equal(k.batch.ts[0], INT64_C(1714564800123));
	assert_string_equal(k.batch.labels[0], "{service=\"web\"}");
	srv_last(&v, last, sizeof last);
	assert_true(!strncmp(last, "POST /api/v1/query HTTP/1.1\r\n", 29));
	assert_contains(last, "\r\nX-Scope-OrgID: team-a\r\n");
	assert_contains(last, "\r\nContent-Type: application/x-www-form-urlencoded\r\n");
	assert_contains(last, "\r\nAccept: application/json\r\n");
	assert_lacks(last, "Expect:");
	assert_lacks(last, "Authorization");
	assert_contains(last, "\r\n\r\nquery=sum%28rate%28x%5B2m%5D%29%29&time=1714564800.123");
	kit_close(&k);
	srv_stop(&v);
}

/* Two fetches, one TCP connection. */
static void test_connection_reused(void **st)
{
	struct srv v;
	struct kit k;
	char err[512];
	srv_start(&v);
	srv_set(&v, 200, "application/json", VEC1);
	open_at(&k, &v, NULL);
	for (int i = 0; i < 3; i++)
		assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), 0);
	assert_int_equal(srv_accepted(&v), 1);
	kit_close(&k);
	srv_stop(&v);
}

struct conc {
	struct kit *k;
	int ok;
};

static void *conc_main(void *arg)
{
	struct conc *c = arg;
	char err[512];
	struct sw_request req = { .metric = "m", .query = "q", .now_ms = 1, .deadline_ms = t_now() + 5000 };
	for (int i = 0; i < 5; i++)
		if (T->fetch(c->k->state, c->k->src, &req, &c->k->batch, err, sizeof err) == 0)
			c->ok++;
	return NULL;
}

/* SW_SCALER_CONCURRENT: several workers fetch on one source at once. */
static void test_concurrent_fetches(void **st)
{
	struct srv v;
	struct kit k;
	srv_start(&v);
	srv_set(&v, 200, "application/json", VEC1);
	open_at(&k, &v, NULL);
	k.batch.cap = TB_MAX;
	struct conc c[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		c[i].k = &k;
		c[i].ok = 0;
		assert_int_equal(pthread_create(&t[i], NULL, conc_main, &c[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(c[i].ok, 5);
	}
	assert_int_equal(k.batch.n, 20);
	assert_true(srv_accepted(&v) <= 4);
	kit_close(&k);
	srv_stop(&v);
}

static void test_fetch_answers_become_errors(void **st)
{
	struct srv v;
	struct kit k;
	char err[512], want[256];
	srv_start(&v);
	open_at(&k, &v, NULL);

	srv_set(&v, 200, "application/json", "{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}");
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "'http://127.0.0.1:%d/api/v1/query': query returned no series", v.tcp.port);
	assert_string_equal(err, want);
	assert_int_equal(k.batch.n, 0);

	srv_set(&v, 400, "application/json",
		"{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"1:4: parse error: unclosed left parenthesis\"}");
	assert_int_equal(source_fetch(&k, "sum(", 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "HTTP 400 (bad_data): 1:4: parse error: unclosed left parenthesis");

	srv_set(&v, 503, "text/html", "<html>upstream down</html>");
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "HTTP 503: <html>upstream down</html>");

	srv_set(&v, 204, "application/json", "");
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "empty body");

	srv_set(&v, 200, "text/plain", "all good");
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "body is not JSON: all good");

	/* a body cut short: Content-Length promises more, then the server closes */
	srv_set_raw(&v, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"status\":\"succ", M_CANNED_CLOSE);
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "cannot read 'http://127.0.0.1:");
	assert_contains(err, "transfer closed with 485 bytes remaining to read");

	srv_mode(&v, M_CLOSE);
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "Empty reply from server");

	srv_set(&v, 200, "application/json", VEC1);
	k.batch.cap = 0;
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), 0);
	assert_int_equal(k.batch.n, 1);
	kit_close(&k);
	srv_stop(&v);
}

static int64_t elapsed_since(int64_t t0)
{
	return t_now() - t0;
}

static void test_deadline(void **st)
{
	struct srv v;
	struct kit k;
	char err[512];
	srv_start(&v);
	srv_mode(&v, M_HANG);
	open_at(&k, &v, NULL); /* timeout 2s by default: the deadline is sooner */
	int64_t t0 = t_now();
	assert_int_equal(source_fetch(&k, "q", t0 + 300, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	int64_t took = elapsed_since(t0);
	assert_contains(err, "no complete answer within");
	assert_true(took >= 250);
	assert_true(took < 1900);

	/* the source's timeout when it is sooner than the deadline */
	kit_close(&k);
	open_at(&k, &v, "\"timeout\": \"200ms\"");
	t0 = t_now();
	assert_int_equal(source_fetch(&k, "q", t0 + 60000, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	took = elapsed_since(t0);
	assert_contains(err, "no complete answer within 200 ms");
	assert_true(took >= 150 && took < 1900);

	/* an expired deadline fails at once, without a connection */
	int before = srv_accepted(&v);
	assert_int_equal(source_fetch(&k, "q", t_now() - 1, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "deadline passed before the request started");
	assert_int_equal(srv_accepted(&v), before);
	kit_close(&k);
	srv_stop(&v);
}

static void test_refused(void **st)
{
	int port, fd = kit_refusing_port(&port);
	char json[256], err[512], want[256];
	struct kit k;
	snprintf(json, sizeof json, "{\"url\":\"http://127.0.0.1:%d/\"}", port);
	assert_int_equal(kit_open(&k, T, json, NULL, err, sizeof err), 0);
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want, "cannot reach 'http://127.0.0.1:%d/api/v1/query': Connection refused", port);
	assert_string_equal(err, want);
	kit_close(&k);

	/* the scaler refuses a url with credentials at open; a request's own URL
	 * holding them still never shows them in a message */
	struct http_source_params hp = { .timeout_ms = 5000 };
	struct http_client *c = http_client_new(&hp, err, sizeof err);
	assert_non_null(c);
	char url[128];
	snprintf(url, sizeof url, "http://scaler:hunter2@127.0.0.1:%d/api/v1/query", port);
	struct http_req r = { .method = HTTP_GET, .url = url };
	struct http_resp resp;
	assert_int_equal(http_request(c, &r, &resp, err, sizeof err), HTTP_ERR_SOURCE);
	assert_string_equal(err, want);
	http_client_free(c);
	close(fd);
}

static void test_body_cap(void **st)
{
	struct srv v;
	struct kit k;
	char err[512];
	srv_start(&v);
	open_at(&k, &v, NULL);
	srv_stream(&v, HTTP_BODY_MAX_DEFAULT + 1, 1);
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "body larger than 10485760 bytes");
	srv_stream(&v, HTTP_BODY_MAX_DEFAULT + 1, 0); /* no length: the cap is met while reading */
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "body larger than 10485760 bytes");
	kit_close(&k);

	/* exactly at the cap is fine for the transport (here: not JSON) */
	struct http_source_params hp = { .timeout_ms = 5000 };
	struct http_client *c = http_client_new(&hp, err, sizeof err);
	assert_non_null(c);
	char url[128];
	snprintf(url, sizeof url, "http://127.0.0.1:%d/x", v.tcp.port);
	srv_stream(&v, 1000, 1);
	struct http_req r = { .method = HTTP_GET, .url = url, .max_bytes = 1000 };
	struct http_resp resp;
	assert_int_equal(http_request(c, &r, &resp, err, sizeof err), 0);
	assert_int_equal(resp.len, 1000);
	assert_int_equal(resp.status, 200);
	http_resp_release(&resp);
	r.max_bytes = 999;
	assert_int_equal(http_request(c, &r, &resp, err, sizeof err), HTTP_ERR_LOCAL);
	assert_contains(err, "body larger than 999 bytes");
	assert_null(resp.body);
	http_client_free(c);
	srv_stop(&v);
}

static void test_redirects(void **st)
{
	struct srv v;
	char err[512], url[128];
	srv_start(&v);
	srv_set(&v, 200, "text/plain", "landed");
	struct http_source_params hp = { .timeout_ms = 5000 };
	struct http_client *c = http_client_new(&hp, err, sizeof err);
	assert_non_null(c);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/r0", v.tcp.port);
	struct http_req r = { .method = HTTP_GET, .url = url };
	struct http_resp resp;
	srv_hops(&v, 3);
	assert_int_equal(http_request(c, &r, &resp, err, sizeof err), 0);
	assert_int_equal(resp.status, 200);
	assert_string_equal(resp.body, "landed");
	http_resp_release(&resp);
	srv_hops(&v, 4);
	assert_int_equal(http_request(c, &r, &resp, err, sizeof err), HTTP_ERR_LOCAL);
	assert_contains(err, "more than 3 redirects");
	http_client_free(c);
	srv_stop(&v);
}

/* A temporary folder laid out as Kubernetes projects a token: token ->
 * ..data/token, ..data -> ..<version>; rotation swaps ..data. */
struct tokdir {
	struct kit_dir tmp;
	char path[320];
	int version;
};

static void tokdir_put(struct tokdir *d, const char *token)
{
	char vdir[320], file[400], tmp[320], data[320];
	d->version++;
	snprintf(vdir, sizeof vdir, "%s/..v%d", d->tmp.path, d->version);
	assert_int_equal(mkdir(vdir, 0700), 0);
	snprintf(file, sizeof file, "%s/token", vdir);
	kit_write_file(file, token);
	kit_dir_file(&d->tmp, "..data_tmp", tmp, sizeof tmp);
	kit_dir_file(&d->tmp, "..data", data, sizeof data);
	snprintf(vdir, sizeof vdir, "..v%d", d->version);
	assert_int_equal(symlink(vdir, tmp), 0);
	assert_int_equal(rename(tmp, data), 0);
}

static void tokdir_init(struct tokdir *d, const char *token)
{
	memset(d, 0, sizeof *d);
	kit_dir_make(&d->tmp);
	tokdir_put(d, token);
	kit_dir_file(&d->tmp, "token", d->path, sizeof d->path);
	assert_int_equal(symlink("..data/token", d->path), 0);
}

static void test_bearer_token_rotation(void **st)
{
	struct srv v;
	struct kit k;
	struct tokdir d;
	char err[512], last[65536], extra[512];
	srv_start(&v);
	srv_set(&v, 200, "application/json", VEC1);
	tokdir_init(&d, "tok-one\n");
	snprintf(extra, sizeof extra, "\"bearerTokenFile\": \"%s\"", d.path);
	open_at(&k, &v, extra);
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), 0);
	srv_last(&v, last, sizeof last);
	assert_contains(last, "\r\nAuthorization: Bearer tok-one\r\n");

	tokdir_put(&d, "tok-two");
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), 0);
	srv_last(&v, last, sizeof last);
	assert_contains(last, "\r\nAuthorization: Bearer tok-two\r\n");

	/* rewritten in place, another length */
	char file[400];
	snprintf(file, sizeof file, "%s/..v2/token", d.tmp.path);
	kit_write_file(file, "tok-three-longer\n");
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), 0);
	srv_last(&v, last, sizeof last);
	assert_contains(last, "\r\nAuthorization: Bearer tok-three-longer\r\n");

	/* a server that echoes the token back: the message never shows it */
	srv_mode(&v, M_ECHO_AUTH);
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "HTTP 401: Authorization: Bearer ***");
	assert_lacks(err, "tok-three-longer");

	/* the token file gone: a clear error naming the file, not the token */
	unlink(file);
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "cannot read bearer token file '");
	assert_contains(err, "No such file or directory");
	kit_close(&k);
	kit_dir_remove(&d.tmp);
	srv_stop(&v);
}

static void test_basic_auth(void **st)
{
	struct srv v;
	struct kit k;
	struct tokdir d;
	char err[512], last[65536], extra[512], pw[400];
	srv_start(&v);
	srv_set(&v, 200, "application/json", VEC1);
	tokdir_init(&d, "unused");
	kit_dir_file(&d.tmp, "password", pw, sizeof pw);
	kit_write_file(pw, "s3cret\n");
	snprintf(extra, sizeof extra, "\"basicAuth\": {\"username\": \"alice\", \"passwordFile\": \"%s\"}", pw);
	open_at(&k, &v, extra);
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), 0);
	srv_last(&v, last, sizeof last);
	assert_contains(last, "\r\nAuthorization: Basic YWxpY2U6czNjcmV0\r\n"); /* alice:s3cret */
	srv_mode(&v, M_ECHO_AUTH);
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "HTTP 401: Authorization: Basic ***");
	assert_lacks(err, "YWxpY2U6czNjcmV0");
	kit_write_file(pw, "");
	assert_int_equal(source_fetch(&k, "q", 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "basic auth password file '");
	assert_contains(err, "' is empty");
	kit_close(&k);
	kit_dir_remove(&d.tmp);
	srv_stop(&v);
}

static void test_host_get(void **st)
{
	struct srv v;
	char err[512], url[128], last[65536];
	srv_start(&v);
	srv_set(&v, 404, "text/plain", "nope");
	snprintf(url, sizeof url, "http://127.0.0.1:%d/stats", v.tcp.port);
	struct sw_label h[] = { { "X-Key", "k1" } };
	struct sw_kv kv = { 1, h };
	char *body;
	size_t len;
	long status;
	assert_int_equal(http_host_get(url, &kv, t_now() + 5000, 100, &body, &len, &status, err, sizeof err), 0);
	assert_int_equal(status, 404);
	assert_int_equal(len, 4);
	assert_string_equal(body, "nope");
	free(body);
	srv_last(&v, last, sizeof last);
	assert_true(!strncmp(last, "GET /stats HTTP/1.1\r\n", 21));
	assert_contains(last, "\r\nX-Key: k1\r\n");
	assert_contains(last, "\r\nAccept: */*\r\n");
	srv_set(&v, 200, "text/plain", "0123456789");
	assert_int_equal(http_host_get(url, NULL, t_now() + 5000, 5, &body, &len, &status, err, sizeof err), -1);
	assert_null(body);
	assert_contains(err, "body larger than 5 bytes");
	srv_stop(&v);
}

static void test_query_range(void **st)
{
	struct srv v;
	char err[512], last[65536];
	srv_start(&v);
	srv_set(&v, 200, "application/json",
		"{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":["
		"{\"metric\":{\"s\":\"1\"},\"values\":[[1714564800,\"1\"],[1714564860,\"2\"]]}]}}");
	char json[256];
	snprintf(json, sizeof json, "{\"url\":\"http://127.0.0.1:%d/prom/\"}", v.tcp.port);
	void *p = load_params(json, err, sizeof err);
	assert_non_null(p);
	struct range_seen r;
	memset(&r, 0, sizeof r);
	int64_t t0 = INT64_C(1714564800000);
	assert_int_equal(prometheus_query_range(p, "rate(x[1m])", t0, t0 + 60000, 60000, t_now() + 5000, range_cb, &r,
						err, sizeof err),
			 1);
	assert_int_equal(r.npoints[0], 2);
	assert_true(r.v[0][1] == 2.0);
	assert_int_equal(r.ts[0][1], t0 + 60000);
	srv_last(&v, last, sizeof last);
	assert_true(!strncmp(last, "POST /prom/api/v1/query_range HTTP/1.1\r\n", 40));
	assert_contains(last, "\r\n\r\nquery=rate%28x%5B1m%5D%29&start=1714564800.000&end=1714564860.000&step=60.000");

	assert_int_equal(prometheus_query_range(p, "x", t0, t0 + 20000000, 1000, t_now() + 5000, range_cb, &r, err,
						sizeof err),
			 SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "more than 11000");
	assert_int_equal(prometheus_query_range(p, "x", t0, t0 - 1, 1000, t_now() + 5000, range_cb, &r, err, sizeof err),
			 SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "start <= end");
	kit_free_source(T, p);

	/* the warm start makes its own client: it refuses a url with credentials too, and sends nothing */
	snprintf(json, sizeof json, "{\"url\":\"http://alice:s3cret@127.0.0.1:%d/prom/\"}", v.tcp.port);
	p = load_params(json, err, sizeof err);
	assert_non_null(p);
	memset(&r, 0, sizeof r);
	int sent = srv_requests(&v);
	assert_int_equal(prometheus_query_range(p, "x", t0, t0 + 60000, 60000, t_now() + 5000, range_cb, &r, err,
						sizeof err),
			 SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "must not hold credentials; use basicAuth.username and basicAuth.passwordFile");
	assert_true(strstr(err, "s3cret") == NULL);
	assert_int_equal(r.n, 0);
	assert_int_equal(srv_requests(&v), sent);
	kit_free_source(T, p);
	srv_stop(&v);
}

/* ======================================================================== */
/* driver mode for the integration test                                     */

static void print_value(double v, char *out, size_t n)
{
	if (isnan(v))
		snprintf(out, n, "NaN");
	else if (isinf(v))
		snprintf(out, n, "%sInf", v > 0 ? "+" : "-");
	else
		snprintf(out, n, "%.17g", v);
}

static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct lines {
	char *l[4096];
	size_t n;
};

static void lines_add(struct lines *ls, const char *text)
{
	if (ls->n < 4096)
		ls->l[ls->n++] = strdup(text);
}

static void lines_flush(struct lines *ls, const char *prefix)
{
	qsort(ls->l, ls->n, sizeof ls->l[0], line_cmp);
	for (size_t i = 0; i < ls->n; i++) {
		printf("%s%s\n", prefix, ls->l[i]);
		free(ls->l[i]);
	}
	ls->n = 0;
	fflush(stdout);
}

static int tool_fetch(struct kit *k, const char *query, int64_t now_ms, int one_line)
{
	char err[1024];
	int rc = kit_fetch_at(k, query, now_ms, t_now() + 10000, err, sizeof err);
	if (rc) {
		printf("error (%s): %s\n", kit_kind(rc), err);
		fflush(stdout);
		return 1;
	}
	if (one_line) {
		printf("ok %zu\n", k->batch.n);
		fflush(stdout);
		return 0;
	}
	struct lines ls = { .n = 0 };
	for (size_t i = 0; i < k->batch.n; i++) {
		char v[64], line[700];
		print_value(k->batch.v[i], v, sizeof v);
		snprintf(line, sizeof line, "%s %s %lld", k->batch.labels[i], v, (long long)k->batch.ts[i]);
		lines_add(&ls, line);
	}
	lines_flush(&ls, "");
	return 0;
}

static int tool_range_cb(void *ctx, const struct prometheus_series *s)
{
	struct lines *ls = ctx;
	char labels[512], v[64], line[700];
	kit_format_labels(s->labels, s->nlabels, labels, sizeof labels);
	for (size_t i = 0; i < s->n; i++) {
		print_value(s->values[i], v, sizeof v);
		snprintf(line, sizeof line, "%s %lld %s", labels, (long long)s->ts_ms[i], v);
		lines_add(ls, line);
	}
	return 0;
}

static int64_t secs_to_ms(const char *s)
{
	char *end;
	double d = strtod(s, &end);
	if (*end || end == s) {
		fprintf(stderr, "'%s' is not a number of seconds\n", s);
		exit(2);
	}
	return llround(d * 1000.0);
}

static int tool_main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "freeport"))
		return kit_freeport();
	if (argc < 4) {
		fprintf(stderr, "usage: %s query|poll CONFIG_JSON PROMQL TIME_S | range CONFIG_JSON PROMQL START END STEP\n",
			argv[0]);
		return 2;
	}
	char err[1024];
	int rc = 0;
	http_global_init();
	if (!strcmp(argv[1], "range") && argc == 7) {
		void *p = load_params(argv[2], err, sizeof err);
		if (!p) {
			printf("error (config): %s\n", err);
			return 1;
		}
		struct lines ls = { .n = 0 };
		int n = prometheus_query_range(p, argv[3], secs_to_ms(argv[4]), secs_to_ms(argv[5]), secs_to_ms(argv[6]),
					       t_now() + 10000, tool_range_cb, &ls, err, sizeof err);
		if (n < 0) {
			printf("error (%s): %s\n", kit_kind(n), err);
			rc = 1;
		} else {
			printf("series %d\n", n);
			lines_flush(&ls, "");
		}
		kit_free_source(T, p);
	} else if ((!strcmp(argv[1], "query") || !strcmp(argv[1], "poll")) && argc == 5) {
		struct kit k;
		if (kit_open(&k, T, argv[2], NULL, err, sizeof err)) {
			printf("error (config): %s\n", err);
			kit_close(&k);
			return 1;
		}
		int64_t now = secs_to_ms(argv[4]);
		if (!strcmp(argv[1], "query")) {
			rc = tool_fetch(&k, argv[3], now, 0);
		} else {
			char line[256];
			while (fgets(line, sizeof line, stdin))
				tool_fetch(&k, argv[3], now, 1);
		}
		kit_close(&k);
	} else {
		fprintf(stderr, "%s: bad arguments\n", argv[0]);
		rc = 2;
	}
	http_global_release();
	return rc;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return tool_main(argc, argv);
	http_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_vector),
		cmocka_unit_test(test_parse_scalar),
		cmocka_unit_test(test_parse_nan_inf),
		cmocka_unit_test(test_parse_exact_numbers),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_error_kinds),
		cmocka_unit_test(test_parse_body_as_jsonhttp),
		cmocka_unit_test(test_parse_whole_answer_checked),
		cmocka_unit_test(test_parse_series_cap),
		cmocka_unit_test(test_parse_range),
		cmocka_unit_test(test_url_helpers),
		cmocka_unit_test(test_url_check),
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_fetch_request_and_headers),
		cmocka_unit_test(test_connection_reused),
		cmocka_unit_test(test_concurrent_fetches),
		cmocka_unit_test(test_fetch_answers_become_errors),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_body_cap),
		cmocka_unit_test(test_redirects),
		cmocka_unit_test(test_bearer_token_rotation),
		cmocka_unit_test(test_basic_auth),
		cmocka_unit_test(test_host_get),
		cmocka_unit_test(test_query_range),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	http_global_release();
	return failed;
}