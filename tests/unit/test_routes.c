/* Unit tests: the router without HTTP — served values as Quantities, and a
 * value that is not a number never reaching the HPA as one. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "config.h"
#include "routes.h"
#include "runtime.h"
#include "yamldoc.h"

static struct runtime *load(const char *text)
{
	char err[256];
	cJSON *root = yamldoc_parse(text, strlen(text), err, sizeof err);
	assert_non_null(root);
	struct config cfg;
	struct errlist errs;
	errlist_init(&errs);
	assert_int_equal(config_from_tree(root, NULL, &cfg, &errs), 0);
	cJSON_Delete(root);
	errlist_release(&errs);
	struct runtime *rt = runtime_new(&cfg);
	assert_non_null(rt);
	runtime_ref(rt);
	runtime_swap(rt);
	return rt;
}

static void get(const char *path, struct reply *rp)
{
	struct request rq = { .method = "GET", .path = path, .url_len = strlen(path), .now_ms = 1714975689000LL };
	routes_handle(&rq, rp);
}

static void test_values_as_quantities(void **st)
{
	struct runtime *rt = load("auth: {mode: anonymous}\nsources: {fixed: {type: static}}\nmetrics:\n"
				  "  - {name: a, source: fixed, value: 2.5}\n"
				  "  - {name: b, source: fixed, value: 1e20}\n"
				  "  - {name: c, source: fixed, value: -0.0004}\n"
				  "  - {name: d, source: fixed, value: \"1500m\"}\n");
	static const struct {
		const char *metric, *want;
	} cases[] = { { "a", "\"value\":\"2500m\"" }, { "b", "\"value\":\"100E\"" }, { "c", "\"value\":\"0\"" },
		      { "d", "\"value\":\"1500m\"" } };
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char path[128];
		snprintf(path, sizeof path, "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/%s", cases[i].metric);
		struct reply rp;
		get(path, &rp);
		assert_int_equal(rp.code, 200);
		if (!strstr(rp.body.data, cases[i].want))
			fail_msg("%s: %s not in %s", cases[i].metric, cases[i].want, rp.body.data);
		assert_non_null(strstr(rp.body.data, "\"timestamp\":\"2024-05-06T06:08:09Z\""));
		buf_release(&rp.body);
	}
	runtime_unref(rt);
	runtime_swap(NULL);
}

static void test_not_a_number_is_500(void **st)
{
	struct runtime *rt = load("auth: {mode: anonymous}\nsources: {fixed: {type: static}}\nmetrics:\n"
				  "  - {name: a, source: fixed, value: 1}\n");
	struct snapshot *s = snapshot_new(1);
	s->items[0].ok = true;
	s->items[0].value = NAN;
	slot_publish(runtime_slot(rt, &rt->cfg.metrics[0]), s);
	struct reply rp;
	get("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/a", &rp);
	assert_int_equal(rp.code, 500);
	assert_non_null(strstr(rp.body.data, "\"reason\":\"InternalError\""));
	assert_null(strstr(rp.body.data, "\"value\""));
	buf_release(&rp.body);
	runtime_unref(rt);
	runtime_swap(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_as_quantities),
		cmocka_unit_test(test_not_a_number_is_500),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
