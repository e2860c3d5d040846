/* Unit tests: `scalewise query` — template rendering, and query_report driven
 * through a fake scaler type registered like a plugin: what it is asked, what
 * is served from what it returns, errors, usage problems, the text report. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "query.h"
#include "registry.h"
#include "runtime.h"
#include "selector.h"
#include "template.h"
#include "yamldoc.h"

/* ------------------------------------------------------------------------ */
/* a fake scaler: answers what the test puts in `fake`                      */

#define FAKE_MAX 8

static struct {
	int open_rc;                 /* -1: open fails with "bad url" */
	int fetch_rc;                /* 0, SW_FETCH_SOURCE_ERROR, SW_FETCH_ANSWER_ERROR */
	const char *error;           /* the fetch's message when it fails */
	size_t n;                    /* samples to return */
	double v[FAKE_MAX];
	int64_t ts[FAKE_MAX];        /* 0: now */
	const char *label[FAKE_MAX]; /* one label "queue", or NULL for none */
	/* what the last fetch was asked */
	int fetches;
	int closes;
	char query[512];
	char ns[64];
	bool ns_null;
	int64_t deadline_in;         /* deadline_ms - now_ms */
	int64_t sleep_ms;            /* the fetch takes this long */
} fake;

static const struct sw_host *fake_host;

static int fake_open(void *state, const void *params, const struct sw_host *host, char *err, size_t errlen)
{
	fake_host = host;
	if (fake.open_rc) {
		snprintf(err, errlen, "bad url");
		return -1;
	}
	return 0;
}

static int fake_fetch(void *state, const void *params, const struct sw_request *req, struct sw_batch *out, char *err,
		      size_t errlen)
{
	fake.fetches++;
	snprintf(fake.query, sizeof fake.query, "%s", req->query ? req->query : "(null)");
	fake.ns_null = req->namespace_ == NULL;
	snprintf(fake.ns, sizeof fake.ns, "%s", req->namespace_ ? req->namespace_ : "");
	fake.deadline_in = req->deadline_ms - req->now_ms;
	if (fake.sleep_ms) {
		struct timespec ts = { fake.sleep_ms / 1000, (fake.sleep_ms % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	if (fake.fetch_rc) {
		snprintf(err, errlen, "%s", fake.error);
		return fake.fetch_rc;
	}
	for (size_t i = 0; i < fake.n; i++) {
		struct sw_label l = { "queue", fake.label[i] };
		fake_host->batch_add(out, fake.v[i], fake.ts[i] ? fake.ts[i] : req->now_ms, fake.label[i] ? &l : NULL,
				     fake.label[i] ? 1 : 0);
	}
	return 0;
}

static void fake_close(void *state)
{
	fake.closes++;
}

static const struct sw_scaler_type fake_type = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_scaler_type),
	.name = "qfake",
	.query = SW_QUERY_OPTIONAL,
	.state_size = 8,
	.open = fake_open,
	.fetch = fake_fetch,
	.close = fake_close,
};

static int setup(void **st)
{
	memset(&fake, 0, sizeof fake);
	return 0;
}

static const char *const CONFIG =
	"auth: {mode: anonymous}\n"
	"sources:\n"
	"  f: {type: qfake}\n"
	"  fixed: {type: static}\n"
	"metrics:\n"
	"  - {name: depth, source: f, query: queue_depth, interval: 1s}\n"
	"  - {name: by_queue, source: f, query: 'sum(d{ns=\"<<.Namespace>>\",<<.LabelMatchers>>})',\n"
	"     namespaces: [default, prod]}\n"
	"  - {name: bounded, source: f, query: q, bounds: {min: 1, max: 100}}\n"
	"  - {name: with_fallback, source: f, query: q, onError: {maxAge: 1m, fallback: 7}}\n"
	"  - {name: smooth, source: f, query: q, smoothing: {method: mean, window: 1m}, stabilization: {down: 5m}}\n"
	"  - name: fixed_depth\n"
	"    source: fixed\n"
	"    series: [{labels: {queue: a}, value: 1}, {labels: {queue: b}, value: '1500m'}]\n";

static void load(struct config *cfg)
{
	char err[300];
	cJSON *root = yamldoc_parse(CONFIG, strlen(CONFIG), err, sizeof err);
	assert_non_null(root);
	struct errlist errs;
	errlist_init(&errs);
	int rc = config_from_tree(root, NULL, cfg, &errs);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "config: %s\n", errs.items[i]);
	assert_int_equal(rc, 0);
	cJSON_Delete(root);
	errlist_release(&errs);
}

static cJSON *run(const struct config *cfg, const char *metric, const char *ns, const char *sel, int want_rc)
{
	struct query_opts o = { .metric = metric, .ns = ns, .selector = sel };
	char err[600] = "";
	int rc = -1;
	cJSON *r = query_report(cfg, &o, &rc, err, sizeof err);
	if (rc != want_rc)
		fail_msg("query %s: exit %d, want %d (%s)", metric, rc, want_rc, err);
	assert_non_null(r);
	assert_int_equal((int)cJSON_GetObjectItemCaseSensitive(r, "exitCode")->valuedouble, want_rc);
	return r;
}

/* the text of report key path a.b.c, or NULL */
static const char *s_at(const cJSON *r, const char *a, const char *b)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(r, a);
	if (b)
		it = cJSON_GetObjectItemCaseSensitive(it, b);
	return cJSON_IsString(it) ? it->valuestring : NULL;
}

static const cJSON *item(const cJSON *r, const char *part, const char *list, int i)
{
	const cJSON *it = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, part), list), i);
	assert_non_null(it);
	return it;
}

static int count(const cJSON *r, const char *part, const char *list)
{
	return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, part), list));
}

static int code(const cJSON *r)
{
	return (int)cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "served"), "code")->valuedouble;
}

static char *text_of(const cJSON *r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	query_print_text(r, f);
	fclose(f);
	return buf;
}

/* ------------------------------------------------------------------------ */

static void test_template_render(void **st)
{
	char err[300];
	struct selector *sel = selector_parse("queue in (a,b),env!=dev", 23, err, sizeof err);
	assert_non_null(sel);
	char *q = template_render("x{ns=\"<<.Namespace>>\",<<.LabelMatchers>>} + <<.Namespace>>", "prod", sel, err,
				  sizeof err);
	assert_non_null(q);
	assert_string_equal(q, "x{ns=\"prod\",env!=\"dev\",queue=~\"a|b\"} + prod");
	free(q);
	q = template_render("y{<<.LabelMatchers>>}", "default", NULL, err, sizeof err);
	assert_string_equal(q, "y{}");
	free(q);
	selector_free(sel);
	sel = selector_parse("n>3", 3, err, sizeof err);
	assert_non_null(sel);
	assert_null(template_render("y{<<.LabelMatchers>>}", "default", sel, err, sizeof err));
	assert_non_null(strstr(err, "promql"));
	selector_free(sel);
}

/* untemplated: the query is sent as written, without a namespace; the selector
 * is matched against the returned series; the deadline is the poller's */
static void test_untemplated_selector_in_memory(void **st)
{
	struct config cfg;
	load(&cfg);
	fake.n = 2;
	fake.v[0] = 37;
	fake.label[0] = "orders";
	fake.v[1] = 5;
	fake.label[1] = "invoices";
	cJSON *r = run(&cfg, "DEPTH", NULL, "queue=orders", QUERY_OK);
	assert_string_equal(fake.query, "queue_depth");
	assert_true(fake.ns_null);
	assert_int_equal(fake.deadline_in, 800);
	assert_int_equal(fake.fetches, 1);
	assert_int_equal(fake.closes, 1);
	assert_string_equal(s_at(r, "selectorAppliedBy", NULL), "memory");
	assert_true(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(r, "namespace")));
	assert_int_equal(count(r, "fetch", "series"), 2);
	assert_true(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(item(r, "fetch", "series", 1), "matchesSelector")));
	assert_int_equal(code(r), 200);
	assert_int_equal(count(r, "served", "items"), 1);
	const cJSON *it = item(r, "served", "items", 0);
	assert_string_equal(s_at(it, "value", NULL), "37");
	assert_string_equal(s_at(it, "labels", "queue"), "orders");

	char *t = text_of(r);
	assert_non_null(strstr(t, "query:     queue_depth\n"));
	assert_non_null(strstr(t, "the source returned 2 series:"));
	assert_non_null(strstr(t, "{queue=\"invoices\"} 5 at "));
	assert_non_null(strstr(t, "(does not match the selector: not served)"));
	assert_non_null(strstr(t, "would be served: 200, 1 item\n  {queue=\"orders\"} value \"37\""));
	free(t);
	cJSON_Delete(r);

	/* a namespace only decides visibility for an untemplated query */
	r = run(&cfg, "depth", "prod", NULL, QUERY_OK);
	assert_true(fake.ns_null);
	t = text_of(r);
	assert_non_null(strstr(t, "namespace: prod (not in the query: it only decides where the metric is visible)\n"));
	free(t);
	cJSON_Delete(r);

	/* nothing matches: 200 with no items, said plainly, and an exit 1 */
	r = run(&cfg, "depth", NULL, "queue=none", QUERY_FAILED);
	assert_int_equal(code(r), 200);
	assert_int_equal(count(r, "served", "items"), 0);
	t = text_of(r);
	assert_non_null(strstr(t, "no series matches the selector"));
	free(t);
	cJSON_Delete(r);
	config_release(&cfg);
}

/* templated: rendered with the namespace (default "default") and the
 * selector; the source applies it, nothing is filtered again */
static void test_templated(void **st)
{
	struct config cfg;
	load(&cfg);
	fake.n = 1;
	fake.v[0] = 4;
	fake.label[0] = "other";
	cJSON *r = run(&cfg, "by_queue", NULL, NULL, QUERY_OK);
	assert_string_equal(fake.query, "sum(d{ns=\"default\",})");
	assert_string_equal(fake.ns, "default");
	cJSON_Delete(r);
	r = run(&cfg, "by_queue", "prod", "queue=orders", QUERY_OK);
	assert_string_equal(fake.query, "sum(d{ns=\"prod\",queue=\"orders\"})");
	assert_string_equal(fake.ns, "prod");
	assert_string_equal(s_at(r, "renderedQuery", NULL), fake.query);
	assert_string_equal(s_at(r, "selectorAppliedBy", NULL), "source");
	assert_int_equal(count(r, "served", "items"), 1);
	char *t = text_of(r);
	assert_non_null(strstr(t, "rendered:  sum(d{ns=\"prod\",queue=\"orders\"})\n"));
	free(t);
	cJSON_Delete(r);
	config_release(&cfg);
}

static void test_bounds_and_quantities(void **st)
{
	struct config cfg;
	load(&cfg);
	fake.n = 3;
	fake.v[0] = 500;
	fake.label[0] = "a";
	fake.v[1] = 0.25;
	fake.label[1] = "b";
	fake.v[2] = 42.0015;
	fake.label[2] = "c";
	cJSON *r = run(&cfg, "bounded", NULL, NULL, QUERY_OK);
	const cJSON *a = item(r, "served", "items", 0), *b = item(r, "served", "items", 1),
		    *c = item(r, "served", "items", 2);
	assert_string_equal(s_at(a, "value", NULL), "100");
	assert_string_equal(s_at(a, "clamped", NULL), "max");
	assert_true(cJSON_GetObjectItemCaseSensitive(a, "raw")->valuedouble == 500);
	assert_string_equal(s_at(b, "value", NULL), "1");
	assert_string_equal(s_at(b, "clamped", NULL), "min");
	assert_string_equal(s_at(c, "value", NULL), "42002m");
	assert_null(s_at(c, "clamped", NULL));
	char *t = text_of(r);
	assert_non_null(strstr(t, "{queue=\"a\"} value \"100\""));
	assert_non_null(strstr(t, "(raw 500, smoothed 500, clamped to bounds.max)"));
	free(t);
	cJSON_Delete(r);
	config_release(&cfg);
}

/* a NaN is an error: 503 without a fallback, the fallback with one; exit 1 either way */
static void test_not_finite(void **st)
{
	struct config cfg;
	load(&cfg);
	fake.n = 2;
	fake.v[0] = NAN;
	fake.label[0] = "a";
	fake.v[1] = 3;
	fake.label[1] = "b";
	cJSON *r = run(&cfg, "depth", NULL, NULL, QUERY_FAILED);
	assert_int_equal(code(r), 503);
	assert_non_null(strstr(s_at(r, "served", "message"), "metric depth has no value: "));
	assert_non_null(strstr(s_at(r, "served", "message"), "value is NaN"));
	assert_string_equal(s_at(item(r, "fetch", "series", 0), "value", NULL), "NaN");
	char *t = text_of(r);
	assert_non_null(strstr(t, "{queue=\"a\"} NaN at "));
	assert_non_null(strstr(t, "would be served: 503: metric depth has no value:"));
	assert_null(strstr(t, "value \"0\""));
	free(t);
	cJSON_Delete(r);

	/* a selector that leaves the NaN series out still reports the NaN */
	r = run(&cfg, "depth", NULL, "queue=b", QUERY_FAILED);
	assert_int_equal(code(r), 200);
	cJSON_Delete(r);

	fake.v[0] = INFINITY;
	r = run(&cfg, "with_fallback", NULL, NULL, QUERY_FAILED);
	assert_int_equal(code(r), 200);
	const cJSON *a = item(r, "served", "items", 0);
	assert_string_equal(s_at(a, "value", NULL), "7");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(a, "fallback")));
	assert_non_null(strstr(s_at(a, "reason", NULL), "+Inf"));
	assert_string_equal(s_at(item(r, "served", "items", 1), "value", NULL), "3");
	cJSON_Delete(r);
	config_release(&cfg);
}

static void test_fetch_errors(void **st)
{
	struct config cfg;
	load(&cfg);
	fake.fetch_rc = SW_FETCH_SOURCE_ERROR;
	fake.error = "cannot reach 'http://x': Connection refused";
	cJSON *r = run(&cfg, "with_fallback", NULL, NULL, QUERY_FAILED);
	assert_string_equal(s_at(r, "fetch", "kind"), "source");
	assert_string_equal(s_at(r, "fetch", "error"), fake.error);
	assert_int_equal(code(r), 503);
	assert_string_equal(s_at(r, "served", "message"),
			    "metric with_fallback has no value: no value yet: cannot reach 'http://x': Connection refused");
	assert_string_equal(s_at(r, "onError", "fallback"), "7");
	assert_string_equal(s_at(r, "onError", "maxAge"), "1m0s");
	char *t = text_of(r);
	assert_non_null(strstr(t, "source error: cannot reach 'http://x': Connection refused"));
	assert_non_null(strstr(t, "onError (maxAge 1m0s, fallback 7): "));
	assert_non_null(strstr(t, "then the fallback \"7\""));
	free(t);
	cJSON_Delete(r);

	fake.fetch_rc = SW_FETCH_ANSWER_ERROR;
	fake.error = "bad_data: parse error";
	r = run(&cfg, "depth", NULL, NULL, QUERY_FAILED);
	assert_string_equal(s_at(r, "fetch", "kind"), "answer");
	assert_null(s_at(r, "onError", "fallback"));
	assert_non_null(strstr(s_at(r, "onError", "outcome"), "503"));
	cJSON_Delete(r);

	fake.fetch_rc = 0;
	fake.n = 0;
	r = run(&cfg, "depth", NULL, NULL, QUERY_FAILED);
	assert_string_equal(s_at(r, "fetch", "kind"), "no_samples");
	cJSON_Delete(r);

	fake.open_rc = -1;
	fake.fetches = 0;
	r = run(&cfg, "depth", NULL, NULL, QUERY_FAILED);
	assert_string_equal(s_at(r, "fetch", "error"), "bad url");
	assert_int_equal(fake.fetches, 0);
	cJSON_Delete(r);
	config_release(&cfg);
}

/* samples of one series in one answer go through one pipeline; smoothing
 * and stabilisation say that one fetch has no history */
static void test_one_pipeline_per_series_and_notes(void **st)
{
	struct config cfg;
	load(&cfg);
	int64_t now = now_ms();
	fake.n = 2;
	fake.v[0] = 10;
	fake.ts[0] = now - 20000;
	fake.label[0] = "a";
	fake.v[1] = 20;
	fake.ts[1] = now - 10000;
	fake.label[1] = "a";
	cJSON *r = run(&cfg, "smooth", NULL, NULL, QUERY_OK);
	assert_int_equal(count(r, "fetch", "series"), 2);
	assert_int_equal(count(r, "served", "items"), 1);
	const cJSON *a = item(r, "served", "items", 0);
	assert_string_equal(s_at(a, "value", NULL), "15"); /* the mean of both: a rise, not held by the down window */
	char *t = text_of(r);
	assert_non_null(strstr(t, "smoothing mean (window 1m0s) starts with an empty window here"));
	assert_non_null(strstr(t, "stabilization (down 5m0s) has no history here"));
	free(t);
	cJSON_Delete(r);
	config_release(&cfg);
}

/* slow fetches: past the deadline is a timeout, never a value; a templated
 * fetch slower than the first request's wait is said to be one */
static void test_slow_fetches(void **st)
{
	struct config cfg;
	load(&cfg);
	fake.n = 1;
	fake.v[0] = 3;
	fake.sleep_ms = 900; /* depth: interval 1s, deadline 800 ms */
	cJSON *r = run(&cfg, "depth", NULL, NULL, QUERY_FAILED);
	assert_string_equal(s_at(r, "fetch", "kind"), "timeout");
	assert_string_equal(s_at(r, "fetch", "error"), "the fetch finished after its deadline");
	assert_int_equal(count(r, "fetch", "series"), 0);
	assert_int_equal(code(r), 503);
	cJSON_Delete(r);
	fake.sleep_ms = 2100; /* by_queue: interval 15s, deadline 12 s; a first request waits 2 s */
	r = run(&cfg, "by_queue", NULL, NULL, QUERY_OK);
	char *t = text_of(r);
	assert_non_null(strstr(t, "the first request for a new (namespace, selector) waits at most 2000 ms"));
	free(t);
	cJSON_Delete(r);
	config_release(&cfg);
}

static void test_static(void **st)
{
	struct config cfg;
	load(&cfg);
	cJSON *r = run(&cfg, "fixed_depth", NULL, "queue=b", QUERY_OK);
	assert_int_equal(fake.fetches, 0);
	assert_true(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "fetch"), "static")));
	assert_null(s_at(r, "renderedQuery", NULL));
	assert_int_equal(count(r, "served", "items"), 1);
	assert_string_equal(s_at(item(r, "served", "items", 0), "value", NULL), "1500m");
	char *t = text_of(r);
	assert_non_null(strstr(t, "configured values (static source, not fetched):"));
	assert_non_null(strstr(t, "{queue=\"b\"} value \"1500m\""));
	free(t);
	cJSON_Delete(r);
	config_release(&cfg);
}

static void usage_error(const struct config *cfg, const char *metric, const char *ns, const char *sel,
			const char *want)
{
	struct query_opts o = { .metric = metric, .ns = ns, .selector = sel };
	char err[600] = "";
	int rc = -1;
	fake.fetches = 0;
	assert_null(query_report(cfg, &o, &rc, err, sizeof err));
	assert_int_equal(rc, QUERY_USAGE);
	if (!strstr(err, want))
		fail_msg("error [%s] lacks [%s]", err, want);
	assert_int_equal(fake.fetches, 0);
}

static void test_usage_errors(void **st)
{
	struct config cfg;
	load(&cfg);
	usage_error(&cfg, "nope", NULL, NULL, "no metric named 'nope'");
	usage_error(&cfg, "depth", "Bad_NS", NULL, "--namespace: invalid namespace 'Bad_NS': a lowercase RFC 1123 label");
	usage_error(&cfg, "depth", NULL, "queue in (", "--selector: unable to parse requirement");
	usage_error(&cfg, "by_queue", NULL, "app.kubernetes.io/name=x", "--selector: cannot be rendered into the query");
	usage_error(&cfg, "by_queue", "staging", NULL, "--namespace: metric 'by_queue' is not visible in namespace 'staging'");
	config_release(&cfg);
}

int main(void)
{
	char err[300];
	if (registry_add(&fake_type, "test_query", err, sizeof err)) {
		fprintf(stderr, "registry_add: %s\n", err);
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_render),
		cmocka_unit_test_setup(test_untemplated_selector_in_memory, setup),
		cmocka_unit_test_setup(test_templated, setup),
		cmocka_unit_test_setup(test_bounds_and_quantities, setup),
		cmocka_unit_test_setup(test_not_finite, setup),
		cmocka_unit_test_setup(test_fetch_errors, setup),
		cmocka_unit_test_setup(test_one_pipeline_per_series_and_notes, setup),
		cmocka_unit_test_setup(test_slow_fetches, setup),
		cmocka_unit_test_setup(test_static, setup),
		cmocka_unit_test_setup(test_usage_errors, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
