/*
 * test_metrics_api.c — the metrics-api scaler through its descriptor, its
 * params loaded by the real params_load, against a canned HTTP server on
 * 127.0.0.1 (tests/unit/scaler_testkit.h).
 *
 * With arguments the binary is the driver of
 * tests/integration/test_metrics_api.sh (see scaler_testkit.h):
 *   test_metrics_api fetch|poll SOURCE_JSON PARAMS_JSON | freeport
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "scaler_testkit.h"

#include "registry.h"

#include "metrics_api.h"

#include <sys/stat.h>

static const struct sw_scaler_type *T = &scaler_metrics_api;

static void load_fails(int source, const char *json, const char *want)
{
	kit_load_fails(T, source, source ? "sources.api" : "metrics[2].params", json, want);
}

static void test_descriptor(void **st)
{
	assert_int_equal(T->abi_version, SW_SCALER_ABI_VERSION);
	assert_int_equal(T->struct_size, sizeof(struct sw_scaler_type));
	assert_string_equal(T->name, "metrics-api");
	assert_int_equal(T->query, SW_QUERY_NONE);
	assert_true(T->flags & SW_SCALER_CONCURRENT);
	char rerr[512] = "";
	if (registry_check_type(T, rerr, sizeof rerr))
		fail_msg("the core refuses the descriptor: %s", rerr);
	assert_non_null(T->check_metric);
	assert_null(T->fetch_range);
}

/* Missing, mistyped, unknown and out-of-range parameters, with their paths. */
static void test_params_rejected(void **st)
{
	load_fails(0, "{}", "metrics[2].params.valueLocation: required");
	load_fails(0, "{\"valueLocation\": {\"a\": 1}}", "metrics[2].params.valueLocation: must be a string");
	load_fails(0, "{\"valueLocation\": \"a\", \"url\": [\"x\"]}", "metrics[2].params.url: must be a string");
	load_fails(0, "{\"valueLocation\": \"a\", \"format\": \"xml\"}", "metrics[2].params.format: 'xml' is not one of json");
	load_fails(0, "{\"valueLocation\": \"a\", \"format\": \"JSON\"}",
		   "metrics[2].params.format: 'JSON' is not one of json; did you mean \"json\"?");
	load_fails(0, "{\"valueLocaton\": \"a\"}",
		   "metrics[2].params.valueLocation: required\n"
		   "metrics[2].params.valueLocaton: unknown key; did you mean \"valueLocation\"?");
	load_fails(0, "[1]", "metrics[2].params: must be a map");
	load_fails(1, "{\"timeout\": \"0s\"}", "sources.api.timeout: 0s is out of range [1ms, 5m0s]");
	load_fails(1, "{\"timeout\": \"10m\"}", "sources.api.timeout: 10m is out of range [1ms, 5m0s]");
	load_fails(1, "{\"timeout\": 5}", "sources.api.timeout: must be a duration string such as \"15s\"");
	load_fails(1, "{\"timeout\": \"soon\"}", "sources.api.timeout: invalid duration 'soon'");
	load_fails(1, "{\"tls\": {\"insecureSkipVerify\": \"yes\"}}",
		   "sources.api.tls.insecureSkipVerify: must be true or false");
	load_fails(1, "{\"headers\": [\"a\"]}", "sources.api.headers: must be a map of strings");
	load_fails(1, "{\"basicAuth\": \"u:p\"}", "sources.api.basicAuth: must be a map");
	load_fails(1, "{\"bearerTokenFiel\": \"/t\"}", "sources.api.bearerTokenFiel: unknown key; did you mean \"bearerTokenFile\"?");
}

static void test_check_metric(void **st)
{
	char err[1024];
	assert_int_equal(kit_check(T, "{\"url\": \"http://h\"}", "{\"valueLocation\": \"a.b\"}", err, sizeof err), 0);
	assert_int_equal(kit_check(T, "{}", "{\"valueLocation\": \"a\", \"url\": \"https://h/x\"}", err, sizeof err), 0);
	assert_int_equal(kit_check(T, "{\"url\": \"http://h\"}", "{\"valueLocation\": \"a.*\"}", err, sizeof err), -1);
	assert_string_equal(err, "value path 'a.*' uses a wildcard ('*' or '?'), which is not supported; escape it as "
				 "'\\*' for a literal");
	assert_int_equal(kit_check(T, "{}", "{\"valueLocation\": \"a\", \"url\": \"/stats\"}", err, sizeof err), -1);
	assert_string_equal(err, "url '/stats' is a path, but the source has no url to join it to");
	assert_int_equal(kit_check(T, "{}", "{\"valueLocation\": \"a\"}", err, sizeof err), -1);
	assert_string_equal(err, "url is required: give it in the metric's params or in the source");
	assert_int_equal(kit_check(T, "{}", "{\"valueLocation\": \"a\", \"url\": \"http://u:pw@h/x\"}", err, sizeof err),
			 -1);
	assert_string_equal(err, "url 'http://h/x' must not hold credentials; use basicAuth.username and "
				 "basicAuth.passwordFile");
	assert_int_equal(kit_check(T, "{}", "{\"valueLocation\": \"a\", \"url\": \"ftp://h/x\"}", err, sizeof err), -1);
	assert_string_equal(err, "url 'ftp://h/x' must start with http:// or https://");
}

static void test_open_errors(void **st)
{
	struct kit k;
	char err[512];
	assert_int_equal(kit_open(&k, T, "{\"url\": \"ftp://h\"}", "{\"valueLocation\": \"a\"}", err, sizeof err), -1);
	assert_string_equal(err, "url 'ftp://h' must start with http:// or https://");
	kit_close(&k);
	assert_int_equal(kit_open(&k, T, "{\"url\": \"http://a:b@h\"}", "{\"valueLocation\": \"a\"}", err, sizeof err), -1);
	assert_string_equal(err, "url 'http://h' must not hold credentials; use basicAuth.username and "
				 "basicAuth.passwordFile");
	kit_close(&k);
	assert_int_equal(kit_open(&k, T, "{\"basicAuth\": {\"username\": \"u\"}}", "{\"valueLocation\": \"a\"}", err,
				  sizeof err),
			 -1);
	assert_string_equal(err, "basicAuth.username needs basicAuth.passwordFile");
	kit_close(&k);
	/* check_source refuses the same at load; a source without url is fine */
	assert_int_equal(kit_check_source(T, "{\"url\": \"http://a:s3cret@h\"}", err, sizeof err), -1);
	assert_string_equal(err, "url 'http://h' must not hold credentials; use basicAuth.username and "
				 "basicAuth.passwordFile");
	assert_int_equal(kit_check_source(T, "{\"url\": \"ftp://h\"}", err, sizeof err), -1);
	assert_string_equal(err, "url 'ftp://h' must start with http:// or https://");
	assert_int_equal(kit_check_source(T, "{\"basicAuth\": {\"username\": \"u\"}}", err, sizeof err), -1);
	assert_string_equal(err, "basicAuth.username needs basicAuth.passwordFile");
	assert_int_equal(kit_check_source(T, "{}", err, sizeof err), 0);
}

/* Opens a source on the server with source extra members and metric params. */
static void open_on(struct kit *k, struct srv *v, const char *src_extra, const char *metric)
{
	char src[1024], err[1024];
	snprintf(src, sizeof src, "{\"url\": \"http://127.0.0.1:%d/base/\"%s%s}", v->tcp.port, src_extra ? ", " : "",
		 src_extra ? src_extra : "");
	if (kit_open(k, T, src, metric, err, sizeof err))
		fail_msg("open: %s", err);
}

static const char *STATS = "{\"components\": {\"worker\": {\"tasks\": 37, \"load\": \"1.5k\", \"busy\": true, "
			   "\"note\": \"n/a\"}}, \"items\": [{\"count\": 3}, {\"count\": 4}]}";

static void test_fetch_values(void **st)
{
	struct srv v;
	struct kit k;
	char err[1024], line[256], last[8192];
	srv_start(&v);
	srv_set(&v, 200, "application/json", STATS);

	open_on(&k, &v, "\"headers\": {\"X-Team\": \"a\"}", "{\"url\": \"/stats?verbose=1\", \"valueLocation\": "
							       "\"components.worker.tasks\"}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_int_equal(k.batch.n, 1);
	assert_true(k.batch.v[0] == 37);
	assert_int_equal(k.batch.ts[0], INT64_C(1714564800123));
	assert_int_equal(k.batch.nlabels[0], 0);
	srv_last_line(&v, line, sizeof line);
	assert_string_equal(line, "GET /base/stats?verbose=1 HTTP/1.1");
	srv_last(&v, last, sizeof last);
	assert_contains(last, "\r\nAccept: application/json\r\n");
	assert_contains(last, "\r\nX-Team: a\r\n");
	kit_close(&k);

	/* a quantity string; the source's url alone */
	open_on(&k, &v, NULL, "{\"valueLocation\": \"components.worker.load\"}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_true(k.batch.v[0] == 1500);
	srv_last_line(&v, line, sizeof line);
	assert_string_equal(line, "GET /base/ HTTP/1.1");
	kit_close(&k);

	/* a full URL in the metric wins over the source's */
	char metric[512];
	snprintf(metric, sizeof metric, "{\"url\": \"http://127.0.0.1:%d/other\", \"valueLocation\": \"items.1.count\"}",
		 v.tcp.port);
	open_on(&k, &v, NULL, metric);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_true(k.batch.v[0] == 4);
	srv_last_line(&v, line, sizeof line);
	assert_string_equal(line, "GET /other HTTP/1.1");
	kit_close(&k);

	open_on(&k, &v, NULL, "{\"valueLocation\": \"items.#\"}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_true(k.batch.v[0] == 2);
	kit_close(&k);
	srv_stop(&v);
}

/* Every unusable answer is an error naming the URL and the path; none is a 0. */
static void test_fetch_answer_errors(void **st)
{
	struct srv v;
	struct kit k;
	char err[1024], want[1024], url[128];
	srv_start(&v);
	snprintf(url, sizeof url, "'http://127.0.0.1:%d/base/stats'", v.tcp.port);
	static const struct {
		const char *location;
		long status;
		const char *body;
		int rc;
		const char *msg;
	} cases[] = {
		{ "components.worker.busy", 200, NULL, SW_FETCH_ANSWER_ERROR,
		  "value at 'components.worker.busy' is a boolean (true), not a number" },
		{ "components.worker.note", 200, NULL, SW_FETCH_ANSWER_ERROR,
		  "value at 'components.worker.note' is the string 'n/a', not a number or a quantity: quantities must "
		  "match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'" },
		{ "components.worker.queued", 200, NULL, SW_FETCH_ANSWER_ERROR,
		  "no value at 'components.worker.queued': 'components.worker' has no key 'queued'" },
		{ "items.9.count", 200, NULL, SW_FETCH_ANSWER_ERROR, "no value at 'items.9.count': 'items' has 2 elements" },
		{ "a", 200, "not json at all", SW_FETCH_ANSWER_ERROR, "body is not JSON: not json at all" },
		{ "a", 200, "{\"a\": [1, 2", SW_FETCH_ANSWER_ERROR, "body is invalid or truncated JSON (error at byte 10 of 11)" },
		{ "a", 200, "", SW_FETCH_ANSWER_ERROR, "empty body" },
		{ "a", 200, "{\"a\": null}", SW_FETCH_ANSWER_ERROR, "value at 'a' is null, not a number" },
		{ "a", 404, "404 page not found", SW_FETCH_ANSWER_ERROR, "HTTP 404: 404 page not found" },
		{ "a", 401, "{\"error\": \"unauthorized\"}", SW_FETCH_ANSWER_ERROR, "HTTP 401: {\"error\": \"unauthorized\"}" },
		{ "a", 503, "<html>down</html>", SW_FETCH_SOURCE_ERROR, "HTTP 503: <html>down</html>" },
		{ "a", 500, "", SW_FETCH_SOURCE_ERROR, "HTTP 500 with an empty body" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char metric[256];
		snprintf(metric, sizeof metric, "{\"url\": \"stats\", \"valueLocation\": \"%s\"}", cases[i].location);
		srv_set(&v, cases[i].status, "application/json", cases[i].body ? cases[i].body : STATS);
		open_on(&k, &v, NULL, metric);
		int rc = kit_fetch(&k, 0, err, sizeof err);
		snprintf(want, sizeof want, "%s: %s", url, cases[i].msg);
		if (rc != cases[i].rc || strcmp(err, want))
			fail_msg("case %zu: rc %d (want %d), '%s' (want '%s')", i, rc, cases[i].rc, err, want);
		assert_int_equal(k.batch.n, 0);
		kit_close(&k);
	}
	srv_stop(&v);
}

/* Bodies over the cap, cut short, or never sent; a server that hangs. */
static void test_fetch_transport_errors(void **st)
{
	struct srv v;
	struct kit k;
	char err[1024];
	srv_start(&v);
	open_on(&k, &v, NULL, "{\"valueLocation\": \"a\"}");

	srv_stream(&v, METRICS_API_BODY_MAX + 1, 1);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "body larger than 4194304 bytes");
	srv_stream(&v, 64 * 1024 * 1024, 0); /* no length: the cap is met while reading */
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "body larger than 4194304 bytes");
	srv_stream(&v, METRICS_API_BODY_MAX, 1); /* at the cap: read, then refused as JSON */
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "body is invalid or truncated JSON");

	srv_set_raw(&v, "HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n{\"a\": 1", M_CANNED_CLOSE);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "transfer closed with 493 bytes remaining to read");

	srv_mode(&v, M_CLOSE);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "Empty reply from server");

	srv_set_raw(&v, "garbage\r\n\r\n", M_CANNED_CLOSE);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "cannot ");

	srv_mode(&v, M_HANG);
	int64_t t0 = t_now();
	assert_int_equal(kit_fetch(&k, t0 + 300, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	int64_t took = t_now() - t0;
	assert_contains(err, "no complete answer within");
	assert_true(took >= 250 && took < 1900);
	assert_int_equal(kit_fetch(&k, t_now() - 1, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "deadline passed before the request started");
	assert_int_equal(k.batch.n, 0);
	kit_close(&k);
	srv_stop(&v);
}

/* Polls reuse one connection; a server gone is a source error naming the
 * URL; the same open source recovers when a server is back on the port. */
static void test_reuse_and_restart(void **st)
{
	struct srv v;
	struct kit k;
	char err[1024], want[256];
	srv_start(&v);
	srv_set(&v, 200, "application/json", "{\"n\": 1}");
	int port = v.tcp.port;
	open_on(&k, &v, NULL, "{\"url\": \"n\", \"valueLocation\": \"n\"}");
	for (int i = 0; i < 3; i++)
		assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_int_equal(srv_accepted(&v), 1);
	assert_int_equal(srv_requests(&v), 3);
	srv_stop(&v);

	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want, "cannot reach 'http://127.0.0.1:%d/base/n': Connection refused", port);
	assert_string_equal(err, want);

	srv_start_at(&v, port);
	srv_set(&v, 200, "application/json", "{\"n\": 2}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_true(k.batch.v[0] == 2);
	kit_close(&k);
	srv_stop(&v);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* The password comes from its file; a server echoing the credentials back
 * never gets them into a message. */
static void test_basic_auth_secret(void **st)
{
	struct srv v;
	struct kit k;
	char err[1024], last[8192], dir[256], pw[300], extra[512];
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof dir, "%s/swmapi.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(pw, sizeof pw, "%s/password", dir);
	write_file(pw, "s3cret\n");
	srv_start(&v);
	srv_set(&v, 200, "application/json", "{\"n\": 5}");
	snprintf(extra, sizeof extra, "\"basicAuth\": {\"username\": \"alice\", \"passwordFile\": \"%s\"}", pw);
	open_on(&k, &v, extra, "{\"valueLocation\": \"n\"}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	srv_last(&v, last, sizeof last);
	assert_contains(last, "\r\nAuthorization: Basic YWxpY2U6czNjcmV0\r\n"); /* alice:s3cret */
	srv_mode(&v, M_ECHO_AUTH);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "HTTP 401: Authorization: Basic ***");
	assert_lacks(err, "YWxpY2U6czNjcmV0");
	assert_lacks(err, "s3cret");
	unlink(pw);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "cannot read basic auth password file '");
	kit_close(&k);
	rmdir(dir);
	srv_stop(&v);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return kit_driver_main(T, argc, argv);
	http_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test(test_params_rejected),
		cmocka_unit_test(test_check_metric),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_fetch_values),
		cmocka_unit_test(test_fetch_answer_errors),
		cmocka_unit_test(test_fetch_transport_errors),
		cmocka_unit_test(test_reuse_and_restart),
		cmocka_unit_test(test_basic_auth_secret),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	http_global_release();
	return failed;
}
