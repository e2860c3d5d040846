/* Unit tests: the scaler registry and the plugin loader (scalers/registry.c,
 * scalers/plugin.c) with the test plugins of scalers/plugins/ built as shared
 * objects: example (good), badabi (wrong ABI), nosym (no entry symbol).
 * They are looked up in $SW_PLUGIN_DIR, default build/plugins (run from the
 * top of the checkout, as `make unit` does). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "batch.h"
#include "config.h"
#include "host.h"
#include "plugin.h"
#include "registry.h"
#include "yamldoc.h"

static char tmpdir[512];

static const char *plugin_path(const char *name)
{
	static char paths[4][600];
	static int k;
	const char *dir = getenv("SW_PLUGIN_DIR");
	char *p = paths[k++ % 4];
	snprintf(p, 600, "%s/%s.so", dir && *dir ? dir : "build/plugins", name);
	if (access(p, R_OK))
		fail_msg("%s is missing: build it first with `make build/plugins/example.so build/plugins/badabi.so "
			 "build/plugins/nosym.so` (run the test from the top of the checkout, or set SW_PLUGIN_DIR)",
			 p);
	return p;
}

static const char *tmpfile_with(const char *name, const void *data, size_t len)
{
	static char path[4][700];
	static int k;
	char *p = path[k++ % 4];
	snprintf(p, 700, "%s/%s", tmpdir, name);
	FILE *f = fopen(p, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return p;
}

static int setup(void **st)
{
	const char *t = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/sw-test-plugin.XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **st)
{
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ------------------------------------------------------------------------ */

static void test_builtins(void **st)
{
	static const char *const names[] = { "prometheus", "cron", "replay" };
	char err[400];
	for (size_t i = 0; i < 3; i++) {
		const struct sw_scaler_type *t = registry_find(names[i]);
		assert_non_null(t);
		if (registry_check_type(t, err, sizeof err))
			fail_msg("built-in '%s' fails the descriptor checks: %s", names[i], err);
		assert_null(registry_origin(names[i]));
	}
	assert_null(registry_find("static")); /* the core's own, not a scaler */
	assert_null(registry_find("nope"));
	assert_null(registry_find(NULL));
	const char *all[64];
	size_t n = registry_names(all, 64);
	assert_true(n >= 4);
	assert_string_equal(all[0], "static");
	int cron = 0, redis = 0;
	for (size_t i = 0; i < n; i++) {
		cron += !strcmp(all[i], "cron");
		redis += !strcmp(all[i], "redis");
	}
	assert_int_equal(cron, 1);
	assert_int_equal(redis, 1);
	assert_int_equal(registry_names(all, 2), 2);
}

static int fetch_example(const struct sw_scaler_type *t, const char *file, const char *mode, double *v, char *err,
			 size_t errlen)
{
	char *path = strdup(file), *m = strdup(mode);
	struct {
		char *path;
	} sp = { path };
	struct {
		char *mode;
	} mp = { m };
	assert_int_equal(t->source_params_size, sizeof sp);
	assert_int_equal(t->metric_params_size, sizeof mp);
	void *state = calloc(1, t->state_size);
	assert_int_equal(t->open(state, &sp, host_table(), err, errlen), 0);
	struct sw_batch b;
	batch_init(&b);
	struct sw_request req = { .metric = "m", .params = &mp, .now_ms = 1000, .deadline_ms = INT64_MAX };
	int rc = t->fetch(state, &sp, &req, &b, err, errlen);
	if (rc == 0) {
		assert_int_equal(b.n, 1);
		*v = b.items[0].value;
	}
	batch_release(&b);
	t->close(state);
	free(state);
	free(path);
	free(m);
	return rc;
}

static void test_good_plugin(void **st)
{
	char err[600];
	const char *p = plugin_path("example");
	if (plugin_load(p, err, sizeof err))
		fail_msg("example plugin refused: %s", err);
	assert_int_equal(plugin_load(p, err, sizeof err), 0); /* again: a no-op */
	const struct sw_scaler_type *t = registry_find("example");
	assert_non_null(t);
	assert_non_null(registry_origin("example"));
	assert_non_null(strstr(registry_origin("example"), "/example.so"));
	assert_int_equal(t->struct_size, sizeof(struct sw_scaler_type));
	assert_null(t->fetch_range);

	/* it serves what the file says, through the host table */
	double v = 0;
	const char *f = tmpfile_with("value", "42.5\n", 5);
	assert_int_equal(fetch_example(t, f, "value", &v, err, sizeof err), 0);
	assert_true(v == 42.5);
	f = tmpfile_with("lines", "a\nb\nc", 5);
	assert_int_equal(fetch_example(t, f, "lines", &v, err, sizeof err), 0);
	assert_true(v == 3.0);
	f = tmpfile_with("word", "many\n", 5);
	assert_int_equal(fetch_example(t, f, "value", &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_non_null(strstr(err, "holds 'many', not a number"));
	char missing[700];
	snprintf(missing, sizeof missing, "%s/none", tmpdir);
	assert_int_equal(fetch_example(t, missing, "value", &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_non_null(strstr(err, "No such file"));
}

static void test_wrong_abi(void **st)
{
	char err[600];
	assert_int_equal(plugin_load(plugin_path("badabi"), err, sizeof err), -1);
	assert_string_equal(err, "ABI version 1001, but this scalewise speaks version 1: rebuild the plugin against "
				 "this scalewise's scalers/scaler.h");
	assert_null(registry_find("badabi"));
}

static void test_missing_symbol(void **st)
{
	char err[600];
	assert_int_equal(plugin_load(plugin_path("nosym"), err, sizeof err), -1);
	assert_string_equal(err, "no 'sw_scaler_entry' symbol: not a scalewise scaler plugin (see scalers/plugins/example)");
}

static void test_not_a_shared_object(void **st)
{
	char err[600];
	const char *f = tmpfile_with("text.so", "this is not ELF\n", 16);
	assert_int_equal(plugin_load(f, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a loadable shared object: "));
	f = tmpfile_with("empty.so", "", 0);
	assert_int_equal(plugin_load(f, err, sizeof err), -1);
	assert_non_null(strstr(err, "not a loadable shared object: "));
	char p[700];
	snprintf(p, sizeof p, "%s/no-such.so", tmpdir);
	assert_int_equal(plugin_load(p, err, sizeof err), -1);
	assert_string_equal(err, "No such file or directory");
	assert_int_equal(plugin_load(tmpdir, err, sizeof err), -1);
	assert_string_equal(err, "not a regular file");
	assert_int_equal(plugin_load("", err, sizeof err), -1);
	assert_string_equal(err, "no file named");
	/* a name without a slash is a file here, never a library-path search */
	assert_int_equal(plugin_load("libm.so.6", err, sizeof err), -1);
	assert_string_equal(err, "No such file or directory");
}

static void test_duplicate_name(void **st)
{
	char err[600];
	const char *p = plugin_path("example");
	assert_int_equal(plugin_load(p, err, sizeof err), 0);
	/* the same plugin under another path: a second scaler named example */
	FILE *in = fopen(p, "rb");
	assert_non_null(in);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, in);
	fclose(in);
	assert_true(n > 0 && n < sizeof buf);
	const char *copy = tmpfile_with("copy.so", buf, n);
	assert_int_equal(plugin_load(copy, err, sizeof err), -1);
	assert_non_null(strstr(err, "a scaler named 'example' is already loaded from '"));
	assert_non_null(strstr(err, "/example.so'"));
	/* a built-in's name, and the core's own "static" */
	struct sw_scaler_type t = *registry_find("example");
	t.name = "prometheus";
	assert_int_equal(registry_add(&t, "x.so", err, sizeof err), -1);
	assert_string_equal(err, "a scaler named 'prometheus' is already built in");
	t.name = "static";
	assert_int_equal(registry_add(&t, "x.so", err, sizeof err), -1);
	assert_string_equal(err, "a scaler named 'static' is already built in");
}

/* Descriptors as an older or broken plugin may hand them over. */
static int fake_open(void *s, const void *p, const struct sw_host *h, char *e, size_t n)
{
	return 0;
}
static int fake_fetch(void *s, const void *p, const struct sw_request *r, struct sw_batch *b, char *e, size_t n)
{
	return SW_FETCH_SOURCE_ERROR;
}
static void fake_close(void *s)
{
}
static int fake_range(void *s, const void *p, const struct sw_request *r, int64_t a, int64_t b, int64_t c,
		      struct sw_batch *o, char *e, size_t n)
{
	return -1;
}

static struct sw_scaler_type fake(const char *name)
{
	return (struct sw_scaler_type){
		.abi_version = SW_SCALER_ABI_VERSION,
		.struct_size = sizeof(struct sw_scaler_type),
		.name = name,
		.open = fake_open,
		.fetch = fake_fetch,
		.close = fake_close,
	};
}

static void test_short_struct(void **st)
{
	char err[600];
	size_t upto_close = offsetof(struct sw_scaler_type, close) + sizeof(void (*)(void *));
	struct sw_scaler_type t = fake("short-one");
	t.struct_size = (uint32_t)upto_close - 1;
	assert_int_equal(registry_add(&t, "short.so", err, sizeof err), -1);
	char want[300];
	snprintf(want, sizeof want, "descriptor is %zu bytes, shorter than the %zu bytes (up to 'close')",
		 upto_close - 1, upto_close);
	assert_non_null(strstr(err, want));
	assert_null(registry_find("short-one"));
	t.struct_size = 8;
	assert_int_equal(registry_add(&t, "short.so", err, sizeof err), -1);

	/* a plugin from before fetch_range existed: what lies past its struct
	 * (here a pointer it never meant to give) reads as NULL */
	t = fake("older-one");
	t.fetch_range = fake_range;
	t.struct_size = (uint32_t)upto_close;
	assert_int_equal(registry_add(&t, "older.so", err, sizeof err), 0);
	const struct sw_scaler_type *r = registry_find("older-one");
	assert_non_null(r);
	assert_null(r->fetch_range);
	assert_ptr_equal(r->fetch, fake_fetch);
	assert_int_equal(r->struct_size, sizeof(struct sw_scaler_type));
	assert_string_equal(registry_origin("older-one"), "older.so");
}

static void test_bad_descriptors(void **st)
{
	char err[600];
	struct {
		char *s;
		double d;
	} p;
	static const struct sw_param offside[] = { { "x", SW_PARAM_DOUBLE, 16, NULL, 0, 1, 0, "", NULL } };
	static const struct sw_param crooked[] = { { "x", SW_PARAM_DOUBLE, 4, NULL, 0, 1, 0, "", NULL } };
	static const struct sw_param keyless[] = { { NULL, SW_PARAM_STRING, 0, NULL, 0, 1, 0, "", NULL } };
	static const struct sw_param oddtype[] = { { "x", (enum sw_param_type)99, 0, NULL, 0, 1, 0, "", NULL } };
	static const struct sw_param fine[] = { { "s", SW_PARAM_STRING, 0, NULL, 0, 1, 0, "", NULL },
						{ "d", SW_PARAM_DOUBLE, 8, NULL, 0, 1, 0, "", NULL } };
	struct sw_scaler_type t = fake(NULL);
	assert_int_equal(registry_check_type(&t, err, sizeof err), -1);
	assert_string_equal(err, "descriptor has no name");
	t = fake("");
	assert_int_equal(registry_check_type(&t, err, sizeof err), -1);
	t = fake("Bad Name");
	assert_int_equal(registry_check_type(&t, err, sizeof err), -1);
	assert_non_null(strstr(err, "name 'Bad Name' is not a valid source type"));
	t = fake("no-fetch");
	t.fetch = NULL;
	assert_int_equal(registry_check_type(&t, err, sizeof err), -1);
	assert_string_equal(err, "scaler 'no-fetch' has no fetch function");
	t = fake("no-open");
	t.open = NULL;
	assert_int_equal(registry_check_type(&t, err, sizeof err), -1);
	assert_string_equal(err, "scaler 'no-open' has no open function");
	t = fake("no-close");
	t.close = NULL;
	assert_int_equal(registry_add(&t, "x.so", err, sizeof err), -1);
	assert_string_equal(err, "scaler 'no-close' has no close function");
	assert_null(registry_find("no-close"));
	t = fake("odd-query");
	t.query = 7;
	assert_int_equal(registry_check_type(&t, err, sizeof err), -1);
	assert_non_null(strstr(err, "has query = 7"));
	assert_int_equal(registry_check_type(NULL, err, sizeof err), -1);
	assert_string_equal(err, "no descriptor");

	t = fake("params");
	t.source_params_size = sizeof p;
	t.source_params = fine;
	t.n_source_params = 2;
	assert_int_equal(registry_check_type(&t, err, sizeof err), 0);
	t.source_params = offside;
	t.n_source_params = 1;
	assert_int_equal(registry_check_type(&t, err, sizeof err), -1);
	assert_non_null(strstr(err, "scaler 'params': source parameter 'x' at offset 16 does not fit the 16-byte params struct"));
	t.source_params = crooked;
	assert_int_equal(registry_check_type(&t, err, sizeof err), -1);
	assert_non_null(strstr(err, "at offset 4 does not fit"));
	t.source_params = keyless;
	assert_int_equal(registry_check_type(&t, err, sizeof err), -1);
	assert_non_null(strstr(err, "source parameter 0 has no key"));
	t.source_params = oddtype;
	assert_int_equal(registry_check_type(&t, err, sizeof err), -1);
	assert_non_null(strstr(err, "has an unknown type 99"));
	t.source_params = NULL;
	assert_int_equal(registry_check_type(&t, err, sizeof err), -1);
	assert_non_null(strstr(err, "source parameter table is NULL but has 1 entries"));
	t = fake("params");
	t.metric_params = fine;
	t.n_metric_params = 2;
	t.metric_params_size = 4;
	assert_int_equal(registry_check_type(&t, err, sizeof err), -1);
	assert_non_null(strstr(err, "metric parameter 's' at offset 0 does not fit the 4-byte params struct"));
}

/* Through the config: plugins load before the sources that use them; a bad
 * one is one error naming the file and the reason. */
static int load_config(const char *yaml, struct config *c, struct errlist *errs)
{
	char err[300];
	errlist_init(errs);
	cJSON *root = yamldoc_parse(yaml, strlen(yaml), err, sizeof err);
	assert_non_null(root);
	int rc = config_from_tree(root, NULL, c, errs);
	cJSON_Delete(root);
	return rc;
}

static void test_config(void **st)
{
	char y[2000];
	struct config c;
	struct errlist e;
	snprintf(y, sizeof y,
		 "auth: {mode: anonymous}\nplugins: [%s]\n"
		 "sources:\n  jobs: {type: example, path: jobs.txt}\n"
		 "metrics:\n  - {name: jobs, source: jobs, params: {mode: lines}}\n",
		 plugin_path("example"));
	if (load_config(y, &c, &e)) {
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "  %s\n", e.items[i]);
		fail_msg("config with the example plugin refused");
	}
	assert_ptr_equal(c.sources[0].scaler, registry_find("example"));
	config_release(&c);
	errlist_release(&e);

	snprintf(y, sizeof y,
		 "auth: {mode: anonymous}\nplugins: [%s]\n"
		 "sources:\n  jobs: {type: example, path: x}\n"
		 "metrics:\n  - {name: jobs, source: jobs, params: {mode: words}}\n",
		 plugin_path("example"));
	assert_int_equal(load_config(y, &c, &e), -1);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.items[0], "metrics[0].params.mode: 'words' is not one of value, lines");
	config_release(&c);
	errlist_release(&e);

	snprintf(y, sizeof y,
		 "plugins: [%s]\nsources:\n  b: {type: badabi}\n"
		 "metrics:\n  - {name: b, source: b}\n",
		 plugin_path("badabi"));
	assert_int_equal(load_config(y, &c, &e), -1);
	assert_int_equal(e.n, 1);
	char want[800];
	snprintf(want, sizeof want, "plugins[0]: cannot load '%s': ABI version 1001, but this scalewise speaks version 1",
		 plugin_path("badabi"));
	assert_non_null(strstr(e.items[0], want));
	config_release(&c);
	errlist_release(&e);

	assert_int_equal(load_config("plugins: [no-such-plugin.so, 3]\n", &c, &e), -1);
	assert_int_equal(e.n, 2);
	assert_string_equal(e.items[0], "plugins[0]: cannot load 'no-such-plugin.so': No such file or directory");
	assert_string_equal(e.items[1], "plugins[1]: cannot load '3': No such file or directory");
	config_release(&c);
	errlist_release(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_builtins),
		cmocka_unit_test(test_good_plugin),
		cmocka_unit_test(test_wrong_abi),
		cmocka_unit_test(test_missing_symbol),
		cmocka_unit_test(test_not_a_shared_object),
		cmocka_unit_test(test_duplicate_name),
		cmocka_unit_test(test_short_struct),
		cmocka_unit_test(test_bad_descriptors),
		cmocka_unit_test(test_config),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
