/*
 * test_valuepath.c — the JSON value paths (scalers/valuepath.h) and the
 * answer checks shared by the JSON-over-HTTP scalers (scalers/jsonhttp.h).
 * Pure functions on canned text: no server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cJSON.h>

#include "jsonhttp.h"
#include "valuepath.h"

static void compile_fails(const char *path, const char *want)
{
	struct valuepath vp;
	char err[512] = "";
	if (valuepath_compile(&vp, path, err, sizeof err) != -1)
		fail_msg("'%s' compiled", path ? path : "(null)");
	assert_string_equal(err, want);
	assert_null(vp.segs);
	assert_null(vp.text);
}

static void test_compile_errors(void **st)
{
	compile_fails(NULL, "value path is empty");
	compile_fails("", "value path is empty");
	compile_fails("a..b", "value path 'a..b' has an empty segment");
	compile_fails(".a", "value path '.a' has an empty segment");
	compile_fails("a.", "value path 'a.' has an empty segment");
	compile_fails("items.*.n", "value path 'items.*.n' uses a wildcard ('*' or '?'), which is not supported; "
				   "escape it as '\\*' for a literal");
	compile_fails("ite?s", "value path 'ite?s' uses a wildcard ('*' or '?'), which is not supported; "
			       "escape it as '\\?' for a literal");
	compile_fails("a|b", "value path 'a|b' uses a pipe ('|'), which is not supported; use '.'");
	compile_fails("a.@reverse", "value path 'a.@reverse' uses a modifier ('@...'), which is not supported; escape "
				    "it as '\\@' for a key that starts with '@'");
	compile_fails("items.#(n>1).x", "value path 'items.#(n>1).x' uses a query ('#(...)'), which is not supported");
	compile_fails("items.#.count", "value path 'items.#.count' has '#' before its last segment; only a final '#' "
				       "(the length of an array) is supported");
	compile_fails("a#b", "value path 'a#b' has '#' inside a key; escape it as '\\#' for a literal, or use '#' "
			     "alone as the last segment");
	compile_fails("a\\", "value path 'a\\' ends with a lone '\\'");
	compile_fails("a\tb", "value path holds a control character");
	char long_path[VALUEPATH_MAX_LEN + 2];
	memset(long_path, 'a', sizeof long_path - 1);
	long_path[sizeof long_path - 1] = 0;
	struct valuepath vp;
	char err[512];
	assert_int_equal(valuepath_compile(&vp, long_path, err, sizeof err), -1);
	assert_true(strstr(err, "is longer than 1024 bytes") != NULL);
	char many[400] = "a";
	for (size_t i = 0, o = 1; i < VALUEPATH_MAX_SEGMENTS; i++, o += 2)
		snprintf(many + o, sizeof many - o, ".a");
	assert_int_equal(valuepath_compile(&vp, many, err, sizeof err), -1);
	assert_true(strstr(err, "has more than 64 segments") != NULL);
}

static void test_compile_segments(void **st)
{
	struct valuepath vp;
	char err[256];
	assert_int_equal(valuepath_compile(&vp, "a\\.b.0.c\\*d.007.1234567890.#", err, sizeof err), 0);
	assert_int_equal(vp.n, 6);
	assert_string_equal(vp.segs[0].key, "a.b");
	assert_int_equal(vp.segs[0].index, -1);
	assert_string_equal(vp.segs[1].key, "0");
	assert_int_equal(vp.segs[1].index, 0);
	assert_string_equal(vp.segs[2].key, "c*d");
	assert_int_equal(vp.segs[3].index, 7);
	assert_int_equal(vp.segs[4].index, -1); /* ten digits: only a key */
	assert_int_equal(vp.segs[5].kind, VALUEPATH_COUNT);
	assert_string_equal(vp.text, "a\\.b.0.c\\*d.007.1234567890.#");
	valuepath_release(&vp);
	assert_int_equal(vp.n, 0);
}

static const char *DOC = "{\"components\":{\"worker\":{\"tasks\":12,\"rate\":\"1.5k\",\"ok\":true,\"none\":null,"
			 "\"milli\":\"250m\",\"big\":\"2Gi\",\"word\":\"many\",\"neg\":-3.25}},"
			 "\"items\":[{\"count\":4},{\"count\":\"7\"},[10,20]],"
			 "\"a.b\":{\"c\":1},\"0\":{\"x\":9},\"empty\":[],\"huge\":1e999,\"hugeq\":\"1e400\"}";

static double number_at(const char *path)
{
	cJSON *doc = cJSON_Parse(DOC);
	assert_non_null(doc);
	struct valuepath vp;
	char err[512];
	if (valuepath_compile(&vp, path, err, sizeof err))
		fail_msg("compile '%s': %s", path, err);
	double v = -12345;
	if (valuepath_number(&vp, doc, &v, err, sizeof err))
		fail_msg("'%s': %s", path, err);
	valuepath_release(&vp);
	cJSON_Delete(doc);
	return v;
}

static void number_fails(const char *path, const char *want)
{
	cJSON *doc = cJSON_Parse(DOC);
	assert_non_null(doc);
	struct valuepath vp;
	char err[512] = "";
	if (valuepath_compile(&vp, path, err, sizeof err))
		fail_msg("compile '%s': %s", path, err);
	double v = -12345;
	assert_int_equal(valuepath_number(&vp, doc, &v, err, sizeof err), -1);
	assert_true(v == -12345);
	assert_string_equal(err, want);
	valuepath_release(&vp);
	cJSON_Delete(doc);
}

static void test_numbers(void **st)
{
	assert_true(number_at("components.worker.tasks") == 12);
	assert_true(number_at("components.worker.neg") == -3.25);
	assert_true(number_at("components.worker.rate") == 1500);
	assert_true(number_at("components.worker.milli") == 0.25);
	assert_true(number_at("components.worker.big") == 2147483648.0);
	assert_true(number_at("items.0.count") == 4);
	assert_true(number_at("items.1.count") == 7);
	assert_true(number_at("items.2.1") == 20);
	assert_true(number_at("items.#") == 3);
	assert_true(number_at("items.2.#") == 2);
	assert_true(number_at("empty.#") == 0);
	assert_true(number_at("a\\.b.c") == 1);
	assert_true(number_at("0.x") == 9); /* digits on an object are a key, as in GJSON */
}

static void test_number_errors(void **st)
{
	number_fails("components.worker.ok", "value at 'components.worker.ok' is a boolean (true), not a number");
	number_fails("components.worker.none", "value at 'components.worker.none' is null, not a number");
	number_fails("components.worker", "value at 'components.worker' is an object, not a number");
	number_fails("items", "value at 'items' is an array, not a number");
	number_fails("components.worker.word",
		     "value at 'components.worker.word' is the string 'many', not a number or a quantity: quantities must "
		     "match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
	number_fails("huge", "value at 'huge' is a number out of range");
	number_fails("hugeq", "value at 'hugeq' is the quantity '1e400', out of range");
	number_fails("components.workers.tasks",
		     "no value at 'components.workers.tasks': 'components' has no key 'workers'");
	number_fails("nothing", "no value at 'nothing': the document has no key 'nothing'");
	number_fails("items.5.count", "no value at 'items.5.count': 'items' has 3 elements");
	number_fails("items.2.7", "no value at 'items.2.7': 'items.2' has 2 elements");
	number_fails("items.first", "no value at 'items.first': 'items' is an array; 'first' is not an index");
	number_fails("components.worker.tasks.x",
		     "no value at 'components.worker.tasks.x': 'components.worker.tasks' is a number, not an object or "
		     "an array");
	number_fails("a\\.b.c.d", "no value at 'a\\.b.c.d': 'a\\.b.c' is a number, not an object or an array");
	number_fails("components.#", "no value at 'components.#': 'components' is an object, not an array ('#' "
				     "counts the elements of an array)");
	number_fails("empty.0", "no value at 'empty.0': 'empty' has 0 elements");
}

static void test_get(void **st)
{
	cJSON *doc = cJSON_Parse(DOC);
	struct valuepath vp;
	char err[256];
	const cJSON *it = NULL;
	assert_int_equal(valuepath_compile(&vp, "components.worker", err, sizeof err), 0);
	assert_int_equal(valuepath_get(&vp, doc, &it, err, sizeof err), 0);
	assert_true(cJSON_IsObject(it));
	valuepath_release(&vp);
	assert_int_equal(valuepath_compile(&vp, "items.#", err, sizeof err), 0);
	assert_int_equal(valuepath_get(&vp, doc, &it, err, sizeof err), -1);
	assert_string_equal(err, "value path 'items.#' counts elements; it names no single value");
	valuepath_release(&vp);
	/* the root itself may be an array */
	cJSON *arr = cJSON_Parse("[5,6]");
	double v;
	assert_int_equal(valuepath_compile(&vp, "1", err, sizeof err), 0);
	assert_int_equal(valuepath_number(&vp, arr, &v, err, sizeof err), 0);
	assert_true(v == 6);
	valuepath_release(&vp);
	cJSON_Delete(arr);
	cJSON_Delete(doc);
}

/* ======================================================================== */
/* jsonhttp                                                                 */

static int parse(const char *body, long status, char *err, size_t errlen)
{
	cJSON *root = NULL;
	err[0] = 0;
	int rc = jsonhttp_parse(body, strlen(body), status, &root, err, errlen);
	if (rc)
		assert_null(root);
	cJSON_Delete(root);
	return rc;
}

static void test_parse_answers(void **st)
{
	char err[512];
	assert_int_equal(parse("{\"a\":1}\n", 200, err, sizeof err), 0);
	assert_int_equal(parse("  [1]  ", 204, err, sizeof err), 0);
	assert_int_equal(parse("", 200, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_string_equal(err, "empty body");
	assert_int_equal(parse(" \n", 200, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_string_equal(err, "empty body");
	assert_int_equal(parse("<html>hi</html>", 200, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_string_equal(err, "body is not JSON: <html>hi</html>");
	assert_int_equal(parse("{\"a\":[1,2", 200, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_string_equal(err, "body is invalid or truncated JSON (error at byte 8 of 9)");
	assert_int_equal(parse("{\"a\":1} {\"b\":2}", 200, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_string_equal(err, "body has data after its JSON document (at byte 8 of 15)");
	assert_int_equal(parse("oops", 503, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_string_equal(err, "HTTP 503: oops");
	assert_int_equal(parse("", 502, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_string_equal(err, "HTTP 502 with an empty body");
	assert_int_equal(parse("slow down", 429, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_int_equal(parse("", 408, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_int_equal(parse("{\"error\":\"Object Not Found\",\"reason\":\"Not Found\"}", 404, err, sizeof err),
			 SW_FETCH_ANSWER_ERROR);
	assert_string_equal(err, "HTTP 404: {\"error\":\"Object Not Found\",\"reason\":\"Not Found\"}");
	assert_int_equal(parse("{}", 301, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	/* a NUL inside the body is not the end of it */
	cJSON *root = NULL;
	assert_int_equal(jsonhttp_parse("{}\0{}", 5, 200, &root, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_string_equal(err, "body has data after its JSON document (at byte 2 of 5)");
	/* nesting beyond cJSON's limit is refused, not a crash */
	size_t depth = 100000;
	char *deep = malloc(depth + 1);
	memset(deep, '[', depth);
	deep[depth] = 0;
	assert_int_equal(parse(deep, 200, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_true(strstr(err, "invalid or truncated JSON") != NULL);
	free(deep);
}

static void test_excerpt(void **st)
{
	char out[200];
	jsonhttp_excerpt("\n  a\x01" "b\xff", 7, out, sizeof out);
	assert_string_equal(out, "a b");
	char big[400];
	memset(big, 'x', sizeof big);
	jsonhttp_excerpt(big, sizeof big, out, sizeof out);
	assert_int_equal(strlen(out), 163);
	assert_string_equal(out + 160, "...");
	jsonhttp_excerpt(big, sizeof big, out, 10);
	assert_string_equal(out, "xxxxxx...");
}

static void test_encode(void **st)
{
	char out[64] = "api/";
	assert_int_equal(jsonhttp_encode("/", out, sizeof out), 0);
	assert_string_equal(out, "api/%2F");
	out[0] = 0;
	assert_int_equal(jsonhttp_encode("a b/c?d#e%f.g~h_i-j", out, sizeof out), 0);
	assert_string_equal(out, "a%20b%2Fc%3Fd%23e%25f.g~h_i-j");
	out[0] = 0;
	assert_int_equal(jsonhttp_encode("..", out, sizeof out), 0);
	assert_string_equal(out, "%2E%2E");
	out[0] = 0;
	assert_int_equal(jsonhttp_encode("$G", out, sizeof out), 0);
	assert_string_equal(out, "%24G");
	out[0] = 0;
	assert_int_equal(jsonhttp_encode("\xc3\xa9", out, sizeof out), 0);
	assert_string_equal(out, "%C3%A9");
	char small[6] = "ab";
	assert_int_equal(jsonhttp_encode("c/d", small, sizeof small), -1);
	assert_string_equal(small, "abc");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compile_errors),
		cmocka_unit_test(test_compile_segments),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_number_errors),
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_parse_answers),
		cmocka_unit_test(test_excerpt),
		cmocka_unit_test(test_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
