/* Unit tests: jsonw (Go-compatible JSON escaping, timestamps, buffer caps) and duration. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "duration.h"
#include "jsonw.h"

static void expect_json(const char *in, size_t n, const char *want)
{
	struct buf b;
	buf_init(&b, 0);
	json_put_string(&b, in, n);
	assert_non_null(b.data);
	assert_string_equal(b.data, want);
	buf_release(&b);
}

static void test_escaping(void **st)
{
	expect_json("plain", 5, "\"plain\"");
	expect_json("a\"b\\c", 5, "\"a\\\"b\\\\c\"");
	expect_json("\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\"");
	expect_json("\x01\x1f", 2, "\"\\u0001\\u001f\"");
	expect_json("<>&", 3, "\"\\u003c\\u003e\\u0026\"");
	expect_json("a/b", 3, "\"a/b\"");
	expect_json("\xe2\x80\xa8\xe2\x80\xa9", 6, "\"\\u2028\\u2029\"");
	expect_json("h\xc3\xa9llo", 6, "\"h\xc3\xa9llo\"");
	expect_json("\xff", 1, "\"\\ufffd\"");
	expect_json("a\xc3", 2, "\"a\\ufffd\"");           /* truncated sequence */
	expect_json("\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\""); /* surrogate */
	expect_json("\xc0\xaf", 2, "\"\\ufffd\\ufffd\"");  /* overlong */
	expect_json("\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"");
	expect_json("a\0b", 3, "\"a\\u0000b\"");
}

static void test_time(void **st)
{
	struct buf b;
	buf_init(&b, 0);
	json_put_time(&b, 1714975689123LL); /* 2024-05-06T06:08:09.123Z */
	assert_string_equal(b.data, "\"2024-05-06T06:08:09Z\"");
	buf_release(&b);
}

static void test_cap(void **st)
{
	struct buf b;
	buf_init(&b, 10);
	buf_adds(&b, "0123456789");
	assert_false(b.failed);
	buf_addc(&b, 'x');
	assert_true(b.failed);
	assert_int_equal(b.len, 10);
	buf_release(&b);
}

static void test_duration(void **st)
{
	int64_t ms;
	char err[200];
	assert_int_equal(duration_parse("500ms", &ms, err, sizeof err), 0);
	assert_int_equal(ms, 500);
	assert_int_equal(duration_parse("1h30m", &ms, err, sizeof err), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(duration_parse("1.5s", &ms, err, sizeof err), 0);
	assert_int_equal(ms, 1500);
	assert_int_equal(duration_parse("0", &ms, err, sizeof err), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(duration_parse("1us", &ms, err, sizeof err), 0);
	assert_int_equal(ms, 1);
	assert_int_equal(duration_parse("15", &ms, err, sizeof err), -1);
	assert_non_null(strstr(err, "unit"));
	assert_int_equal(duration_parse("-1s", &ms, err, sizeof err), -1);
	assert_int_equal(duration_parse("", &ms, err, sizeof err), -1);
	assert_int_equal(duration_parse("s", &ms, err, sizeof err), -1);
	assert_int_equal(duration_parse("1x", &ms, err, sizeof err), -1);
	assert_int_equal(duration_parse("99999999999999h", &ms, err, sizeof err), -1);
	char out[32];
	duration_format(90000, out, sizeof out);
	assert_string_equal(out, "1m30s");
	duration_format(500, out, sizeof out);
	assert_string_equal(out, "500ms");
	duration_format(3600000, out, sizeof out);
	assert_string_equal(out, "1h0m0s");
	duration_format(0, out, sizeof out);
	assert_string_equal(out, "0s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_duration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
