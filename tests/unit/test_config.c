/* Unit tests: config loading (yamldoc, params tables, env overrides, errors with key paths). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "yamldoc.h"

/* Parses text and builds a config; returns the error count, fills *out_errs. */
static int load(const char *text, char *const *env, struct config *cfg, struct errlist *errs)
{
	char err[400];
	errlist_init(errs);
	cJSON *root = yamldoc_parse(text, strlen(text), err, sizeof err);
	if (!root) {
		errlist_add(errs, NULL, "%s", err);
		memset(cfg, 0, sizeof *cfg);
		return 1;
	}
	config_from_tree(root, env, cfg, errs);
	cJSON_Delete(root);
	return (int)errs->n;
}

static bool has_error(const struct errlist *e, const char *needle)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->items[i], needle))
			return true;
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "  have: %s\n", e->items[i]);
	return false;
}

static void test_defaults(void **st)
{
	struct config c;
	struct errlist e;
	assert_int_equal(load("auth: {mode: anonymous}\n", NULL, &c, &e), 0);
	assert_int_equal(c.server.secure_port, 6443);
	assert_string_equal(c.server.bind_address, "0.0.0.0");
	assert_string_equal(c.server.cert_dir, "/var/run/scalewise/certs");
	assert_int_equal(c.server.subscription_idle_ms, 600000);
	assert_int_equal(c.server.fetch_workers, 4);
	assert_int_equal(c.auth.mode, AUTH_ANONYMOUS);
	config_release(&c);
	errlist_release(&e);
	assert_int_equal(load("{}", NULL, &c, &e), 0);
	assert_int_equal(c.auth.mode, AUTH_DELEGATED);
	config_release(&c);
	errlist_release(&e);
}

static void test_static_and_pipeline(void **st)
{
	struct config c;
	struct errlist e;
	const char *y = "sources:\n  fixed: {type: static}\n"
			"metrics:\n"
			"  - name: a\n    source: fixed\n    value: \"1.5k\"\n"
			"    smoothing: {method: ema, halfLife: 1m}\n"
			"    stabilization: {down: 5m}\n    hysteresis: 0.2\n    bounds: {min: 0, max: 1e9}\n"
			"    onError: {maxAge: 2m, fallback: 100}\n    interval: 30s\n"
			"  - name: b\n    source: fixed\n    namespaces: [default, \"*\"]\n"
			"    series: [{labels: {shard: a}, value: 1}, {labels: {shard: b}, value: \"1500m\"}]\n";
	assert_int_equal(load(y, NULL, &c, &e), 0);
	assert_int_equal(c.nmetrics, 2);
	const struct metric_cfg *a = &c.metrics[0];
	assert_int_equal(a->nseries, 1);
	assert_true(a->series[0].value == 1500.0);
	assert_int_equal(a->pipe.method, SMOOTH_EMA);
	assert_int_equal(a->pipe.half_life_ms, 60000);
	assert_int_equal(a->pipe.down_ms, 300000);
	assert_int_equal(a->pipe.up_ms, 0);
	assert_true(a->pipe.hysteresis == 0.2);
	assert_true(a->pipe.has_min && a->pipe.has_max && a->pipe.max == 1e9);
	assert_true(a->pipe.has_fallback && a->pipe.fallback == 100);
	assert_int_equal(a->pipe.max_age_ms, 120000);
	assert_int_equal(a->interval_ms, 30000);
	const struct metric_cfg *b = &c.metrics[1];
	assert_int_equal(b->nseries, 2);
	assert_string_equal(b->series[1].labels[0].name, "shard");
	assert_true(b->series[1].value == 1.5);
	assert_true(metric_visible_in(b, "anything"));
	assert_true(metric_visible_in(a, "anything"));
	assert_ptr_equal(config_find_metric(&c, "A"), a);
	assert_null(config_find_metric(&c, "c"));
	config_release(&c);
	errlist_release(&e);
}

static void test_errors_name_paths(void **st)
{
	struct config c;
	struct errlist e;
	const char *y = "sever: {}\n"
			"server: {securePort: 70000, bogus: 1, fetchWorkers: 0}\n"
			"auth: {mode: nobody}\n"
			"sources:\n  fixed: {type: static}\n  q: {type: redis}\n  w: {type: promethus}\n  n: {}\n"
			"metrics:\n"
			"  - name: x\n    source: fixed\n    smothing: {method: ema}\n"
			"  - name: x\n    source: fixd\n"
			"  - name: y\n    source: fixed\n    value: abc\n    smoothing: {method: quantile, window: 1m}\n"
			"  - name: z\n    source: fixed\n    value: 1\n    interval: 15\n    namespaces: [Bad_NS]\n"
			"  - source: fixed\n    value: 1\n"
			"  - name: a/b\n    source: fixed\n    value: 1\n"
			"  - name: t\n    source: fixed\n    query: 'x{ns=\"<<.Namespace>>\"}'\n"
			"  - name: s\n    source: fixed\n    series: [{labels: {\"bad key!\": v}, value: 1}, {vaule: 2}]\n";
	assert_true(load(y, NULL, &c, &e) > 0);
	assert_true(has_error(&e, "sever: unknown key; did you mean \"server\"?"));
	assert_true(has_error(&e, "server.securePort: 70000 is out of range [0, 65535]"));
	assert_true(has_error(&e, "server.bogus: unknown key"));
	assert_true(has_error(&e, "server.fetchWorkers: 0 is out of range [1, 32]"));
	assert_true(has_error(&e, "auth.mode: 'nobody' is not one of delegated, anonymous"));
	assert_true(has_error(&e, "sources.w.type: unknown source type 'promethus'; did you mean \"prometheus\"?"));
	assert_true(has_error(&e, "sources.n: type: required"));
	assert_true(has_error(&e, "metrics[0].smothing: unknown key; did you mean \"smoothing\"?"));
	assert_true(has_error(&e, "metrics[0]: value: required for a static source"));
	assert_true(has_error(&e, "metrics[1].name: 'x' is already the name of metrics[0]"));
	assert_true(has_error(&e, "metrics[1]: source: no source named 'fixd'; did you mean \"fixed\"?"));
	assert_true(has_error(&e, "metrics[2]: value: 'abc' is not a number or a quantity"));
	assert_true(has_error(&e, "metrics[2]: smoothing.q: required for method quantile"));
	assert_true(has_error(&e, "metrics[3].interval: must be a duration string such as \"15s\""));
	assert_true(has_error(&e, "metrics[3]: namespaces[0]: 'Bad_NS' is not a valid namespace name"));
	assert_true(has_error(&e, "metrics[4].name: required"));
	for (size_t i = 0; i < e.n; i++) /* a bad interval is reported once, not again by the pipeline */
		assert_null(strstr(e.items[i], "interval: must be > 0"));
	assert_true(has_error(&e, "metrics[5]: name: 'a/b'"));
	assert_true(has_error(&e, "metrics[6]: query: a static source takes value or series"));
	assert_true(has_error(&e, "metrics[7].series[0]: labels: 'bad key!' is not a valid label name"));
	assert_true(has_error(&e, "metrics[7].series[1]: vaule: unknown key; did you mean \"value\"?"));
	config_release(&c);
	errlist_release(&e);
}

/* a source url holding credentials, or one that is not a url, fails the load
 * (`scalewise check` exits 2) for every scaler with a url, not only the first
 * fetch; once, under the source, used by a metric or not; the password is
 * not repeated */
static void test_url_credentials_refused(void **st)
{
	static const struct {
		const char *type, *metric;
	} scalers[] = {
		{ "prometheus", "query: up" },
		{ "rabbitmq", "params: {queueName: q}" },
		{ "nats-jetstream", "params: {stream: S, consumer: c}" },
		{ "metrics-api", "params: {valueLocation: a}" },
	};
	for (size_t i = 0; i < sizeof scalers / sizeof scalers[0]; i++) {
		struct config c;
		struct errlist e;
		char y[1024];
		snprintf(y, sizeof y,
			 "sources:\n  s: {type: %s, url: 'http://alice:s3cret@h:9090'}\n"
			 "  unused: {type: %s, url: 'h:9090'}\n"
			 "  good: {type: %s, url: 'http://h:9090'}\n"
			 "metrics:\n  - name: m\n    source: s\n    %s\n  - name: n\n    source: good\n    %s\n",
			 scalers[i].type, scalers[i].type, scalers[i].type, scalers[i].metric, scalers[i].metric);
		if (load(y, NULL, &c, &e) != 2) {
			for (size_t j = 0; j < e.n; j++)
				print_message("%s\n", e.items[j]);
			fail_msg("%s: %zu errors, expected 2", scalers[i].type, e.n);
		}
		assert_true(has_error(&e, "sources.s: url 'http://h:9090' must not hold credentials; use "
					  "basicAuth.username and basicAuth.passwordFile"));
		assert_true(has_error(&e, "sources.unused: url 'h:9090' must start with http:// or https://"));
		for (size_t j = 0; j < e.n; j++)
			assert_null(strstr(e.items[j], "s3cret"));
		config_release(&c);
		errlist_release(&e);
	}
}

/* the other settings open checks are refused at load too */
static void test_source_checked_at_load(void **st)
{
	struct config c;
	struct errlist e;
	const char *y = "sources:\n"
			"  prom: {type: prometheus, url: 'http://h', tls: {certFile: /c}}\n"
			"  rmq: {type: rabbitmq}\n"
			"  pg: {type: postgresql, connection: 'host=h', connectionFile: /f}\n"
			"  rd: {type: redis, address: ':6379'}\n"
			"  cr: {type: cron, timezone: Mars/Olympus}\n"
			"metrics: []\n";
	assert_true(load(y, NULL, &c, &e) > 0);
	assert_true(has_error(&e, "sources.prom: tls.certFile and tls.keyFile go together"));
	assert_true(has_error(&e, "sources.rmq.url: required"));
	assert_true(has_error(&e, "sources.pg: connection and connectionFile exclude each other"));
	assert_true(has_error(&e, "sources.rd: address ':6379' has no host"));
	assert_true(has_error(&e, "sources.cr: timezone: "));
	config_release(&c);
	errlist_release(&e);
}

/* a name no request path can carry is refused at load, not served as 404s */
static void test_name_longer_than_a_path_segment(void **st)
{
	char name[300], y[600];
	struct config c;
	struct errlist e;
	memset(name, 'a', 256);
	name[256] = 0;
	snprintf(y, sizeof y, "sources: {fixed: {type: static}}\nmetrics:\n  - {name: %s, source: fixed, value: 1}\n", name);
	assert_true(load(y, NULL, &c, &e) > 0);
	assert_true(has_error(&e, "metrics[0]: name: longer than 255 characters"));
	config_release(&c);
	errlist_release(&e);
	name[255] = 0; /* 255 is a path segment the server routes */
	snprintf(y, sizeof y, "sources: {fixed: {type: static}}\nmetrics:\n  - {name: %s, source: fixed, value: 1}\n", name);
	assert_int_equal(load(y, NULL, &c, &e), 0);
	config_release(&c);
	errlist_release(&e);
}

static void test_env_overrides(void **st)
{
	struct config c;
	struct errlist e;
	char *env[] = { "SCALEWISE_SERVER_SECURE_PORT=7443", "SCALEWISE_AUTH_MODE=anonymous",
			"SCALEWISE_AUTH_REQUESTHEADER_ALLOWED_NAMES=front-proxy-client,other",
			"SCALEWISE_AUTH_REQUESTHEADER_CLIENT_CA_FILE=/ca.crt", "SCALEWISE_NOT_A_KEY=1", "PATH=/bin", NULL };
	assert_int_equal(load("server: {securePort: 6443}\n", env, &c, &e), 0);
	assert_int_equal(c.server.secure_port, 7443);
	assert_int_equal(c.auth.mode, AUTH_ANONYMOUS);
	assert_int_equal(c.auth.rh_allowed_names.n, 2);
	assert_string_equal(c.auth.rh_allowed_names.items[1], "other");
	assert_string_equal(c.auth.rh_client_ca_file, "/ca.crt");
	config_release(&c);
	errlist_release(&e);
	char *bad[] = { "SCALEWISE_SERVER_SECURE_PORT=http", NULL };
	assert_int_equal(load("{}", bad, &c, &e), 1);
	assert_true(has_error(&e, "server.securePort:"));
	config_release(&c);
	errlist_release(&e);
}

static void test_yaml_edges(void **st)
{
	char err[300];
	cJSON *r = yamldoc_parse("a: 1\na: 2\n", 10, err, sizeof err);
	assert_null(r);
	assert_non_null(strstr(err, "duplicate key 'a'"));
	r = yamldoc_parse("a: [1, 2\n", 9, err, sizeof err);
	assert_null(r);
	assert_non_null(strstr(err, "line"));
	r = yamldoc_parse("a: 1\n---\nb: 2\n", 14, err, sizeof err);
	assert_null(r);
	assert_non_null(strstr(err, "more than one document"));
	r = yamldoc_parse("", 0, err, sizeof err);
	assert_null(r);
	const char *js = "{\"a\": \"1\", \"b\": 2, \"c\": null, \"d\": true}";
	r = yamldoc_parse(js, strlen(js), err, sizeof err);
	assert_non_null(r);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(r, "a")));
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(r, "b")));
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(r, "c")));
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r, "d")));
	cJSON_Delete(r);
	r = yamldoc_parse("x: &a {k: v}\ny: *a\n", 19, err, sizeof err);
	assert_non_null(r);
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "y"), "k")->valuestring, "v");
	cJSON_Delete(r);
	/* a nesting bomb is refused, not a crash */
	char deep[400];
	memset(deep, '[', 300);
	deep[300] = 0;
	assert_null(yamldoc_parse(deep, 300, err, sizeof err));
	/* not a map at the top */
	struct config c;
	struct errlist e;
	assert_int_equal(load("- 1\n", NULL, &c, &e), 1);
	config_release(&c);
	errlist_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_static_and_pipeline),
		cmocka_unit_test(test_errors_name_paths),
		cmocka_unit_test(test_url_credentials_refused),
		cmocka_unit_test(test_source_checked_at_load),
		cmocka_unit_test(test_name_longer_than_a_path_segment),
		cmocka_unit_test(test_env_overrides),
		cmocka_unit_test(test_yaml_edges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
