/* Unit tests: libraries loaded on first use (scalers/dynlib.c, dl_libs.c):
 * a missing library or symbol is a clear error, the same on every call and
 * never a crash; a present one fills its table; and libcurl, libpq and
 * hiredis are not in the process until something asks for them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "dl_curl.h"
#include "dl_hiredis.h"
#include "dl_pq.h"
#include "dynlib.h"

/* whether a library whose file name starts with prefix is mapped */
static int mapped(const char *prefix)
{
	FILE *f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	char line[1024];
	int found = 0;
	while (fgets(line, sizeof line, f)) {
		const char *slash = strrchr(line, '/');
		if (slash && !strncmp(slash + 1, prefix, strlen(prefix)))
			found = 1;
	}
	fclose(f);
	return found;
}

static void test_missing_library(void **st)
{
	static void *slot;
	static const struct dynlib_sym syms[] = { { "nothing", &slot } };
	static struct dynlib lib = DYNLIB_INIT("libscalewise-no-such-library.so.9", syms);
	char err[256] = "";
	assert_int_equal(dynlib_load(&lib, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot load libscalewise-no-such-library.so.9"));
	char again[256] = "";
	assert_int_equal(dynlib_load(&lib, again, sizeof again), -1);
	assert_string_equal(err, again);
	assert_false(dynlib_loaded(&lib));
	assert_null(slot);
}

static void test_missing_symbol(void **st)
{
	static void *a, *b;
	/* libm is in every process that links this test */
	static const struct dynlib_sym syms[] = { { "cos", &a }, { "sw_no_such_function", &b } };
	static struct dynlib lib = DYNLIB_INIT("libm.so.6", syms);
	char err[256] = "";
	assert_int_equal(dynlib_load(&lib, err, sizeof err), -1);
	assert_string_equal(err, "libm.so.6 has no symbol sw_no_such_function (built against another version?)");
	assert_false(dynlib_loaded(&lib));
}

static void test_present_library(void **st)
{
	static double (*cosine)(double);
	static const struct dynlib_sym syms[] = { { "cos", (void **)&cosine } };
	static struct dynlib lib = DYNLIB_INIT("libm.so.6", syms);
	assert_int_equal(dynlib_load(&lib, NULL, 0), 0);
	assert_true(dynlib_loaded(&lib));
	assert_non_null(cosine);
	assert_true(cosine(0.0) == 1.0);
}

/* runs first: nothing has asked for the client libraries yet */
static void test_not_loaded_until_asked(void **st)
{
	assert_false(mapped("libcurl"));
	assert_false(mapped("libpq"));
	assert_false(mapped("libhiredis"));
	assert_false(sw_curl_loaded());
}

static void test_client_libraries_load(void **st)
{
	char err[256] = "";
	assert_int_equal(sw_curl_load(err, sizeof err), 0);
	assert_true(sw_curl_loaded());
	assert_true(mapped("libcurl"));
	CURL *h = curl_easy_init(); /* through the table */
	assert_non_null(h);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_URL, "http://127.0.0.1:1/"), CURLE_OK);
	curl_easy_cleanup(h);
	assert_string_equal(curl_easy_strerror(CURLE_OK), "No error");

	assert_int_equal(sw_pq_load(err, sizeof err), 0);
	assert_true(mapped("libpq"));
	char *perr = NULL;
	PQconninfoOption *o = PQconninfoParse("host=localhost dbname=x", &perr);
	assert_non_null(o);
	PQconninfoFree(o);

	assert_int_equal(sw_hiredis_load(err, sizeof err), 0);
	assert_true(mapped("libhiredis"));
	redisReader *r = redisReaderCreate();
	assert_non_null(r);
	assert_int_equal(redisReaderFeed(r, ":42\r\n", 5), REDIS_OK);
	void *reply = NULL;
	assert_int_equal(redisReaderGetReply(r, &reply), REDIS_OK);
	assert_non_null(reply);
	assert_int_equal(((redisReply *)reply)->integer, 42);
	freeReplyObject(reply);
	redisReaderFree(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_not_loaded_until_asked),
		cmocka_unit_test(test_missing_library),
		cmocka_unit_test(test_missing_symbol),
		cmocka_unit_test(test_present_library),
		cmocka_unit_test(test_client_libraries_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
