/*
 * test_selector.c — api/selector: parsing (Go's texts for bad input),
 * canonical String(), Matches, NewRequirement/Add, PromQL rendering,
 * limits and speed on hostile input.
 *
 * Expected error texts were produced by running the Go code paths on the
 * same input (labels.Parse / NewRequirement with Go's fmt and encoding/json).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "selector.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static char err[1 << 16];
static char out[1 << 17];

static const char *str_of(const struct selector *sel)
{
	size_t n = selector_string(sel, out, sizeof out);
	assert_true(n < sizeof out);
	return out;
}

/* Parses, expects success and the canonical String(). */
static void parses_to(const char *in, size_t len, const char *want)
{
	struct selector *sel = selector_parse(in, len, err, sizeof err);
	if (!sel)
		fail_msg("'%s': unexpected error: %s", in, err);
	assert_string_equal(str_of(sel), want);
	selector_free(sel);
}

#define PARSES(lit, want) parses_to(lit, sizeof(lit) - 1, want)

/* Parses, expects exactly this error. */
static void fails_with(const char *in, size_t len, const char *want)
{
	memset(err, 'X', 64);
	struct selector *sel = selector_parse(in, len, err, sizeof err);
	if (sel) {
		selector_free(sel);
		fail_msg("'%s' parsed, want error '%s'", in, want);
	}
	assert_string_equal(err, want);
}

#define FAILS(lit, want) fails_with(lit, sizeof(lit) - 1, want)

#define KEY_REGEX "must consist of alphanumeric characters, '-', '_' or '.', and must start " \
	"and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', " \
	"regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
#define VALUE_REGEX "a valid label must be an empty string or consist of alphanumeric " \
	"characters, '-', '_' or '.', and must start and end with an alphanumeric character " \
	"(e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is " \
	"'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ------------------------------------------------------------------ */
/* Parsing and String()                                                */

static void test_parse_canonical(void **state)
{
	(void)state;
	PARSES("", "");
	PARSES("x=a,y=b,z=c", "x=a,y=b,z=c");
	PARSES("x=a,a=x", "a=x,x=a");
	PARSES("x==a", "x==a");
	PARSES("x!=a", "x!=a");
	PARSES("x>1,z<5", "x>1,z<5");
	PARSES("!x", "!x");
	PARSES("x", "x");
	PARSES("a,!a", "a,!a");   /* ties keep their order (≤12 items) */
	PARSES("!a,a", "!a,a");
	PARSES("x notin (abc,,def),bar,z in (),w", "bar,w,x notin (,abc,def),z in ()");
	PARSES("x in (b,a,b)", "x in (a,b)");
	PARSES("x in (a,,)", "x in (,a)");
	PARSES("x in (a,,,,,,)", "x in (,a)");
	PARSES("x in (a,,a,,a,,a,,)", "x in (,a)");
	PARSES("x in (,)", "x in ()");
	PARSES("x notin (, a)", "x notin (,a)");
	PARSES("this-is-another-dns.domain.com/key-with-dash in (so,what)",
	       "this-is-another-dns.domain.com/key-with-dash in (so,what)");
	PARSES("0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
	       "0.1.2.domain/99 notin (10.10.100.1,tick.tack.clock)");
	/* in and notin are keywords only where an operator goes */
	PARSES("notin=in", "notin=in");
	PARSES("in in (in,notin)", "in in (in,notin)");
	PARSES("x>9223372036854775807", "x>9223372036854775807");
}

static void test_parse_whitespace_and_empty_values(void **state)
{
	(void)state;
	PARSES("x=", "x=");
	PARSES("x= ", "x=");
	PARSES("x= ,z= ", "x=,z=");
	PARSES("x=,y", "x=,y");
	PARSES("\rx", "x");
	PARSES(" \t\r\n x \n", "x");
	PARSES("x notin\n (abc)", "x notin (abc)");
	PARSES("x  notin\t\t(abc,def)", "x notin (abc,def)");
	PARSES("foo  in\t (abc)", "foo in (abc)");
	PARSES("x = a , y != b", "x=a,y!=b");
	PARSES("x in ( a , b )", "x in (a,b)");
	/* a vertical tab or form feed is not whitespace to Go: part of the key */
	FAILS("\vx", "unable to parse requirement: <nil>: Invalid value: \"\\vx\": name part "
	      KEY_REGEX);
}

static void test_parse_errors(void **state)
{
	(void)state;
	FAILS("x=a||y=b", "unable to parse requirement: values[0][x]: Invalid value: \"a||y\": "
	      VALUE_REGEX);
	FAILS("x<a", "unable to parse requirement: values[0]: Invalid value: \"a\": for 'Gt', "
	      "'Lt' operators, the value must be an integer");
	FAILS("x>a.", "unable to parse requirement: [values[0]: Invalid value: \"a.\": for 'Gt', "
	      "'Lt' operators, the value must be an integer, values[0][x]: Invalid value: \"a.\": "
	      VALUE_REGEX "]");
	FAILS("x>-1", "unable to parse requirement: values[0][x]: Invalid value: \"-1\": "
	      VALUE_REGEX);
	FAILS("x>9223372036854775808", "unable to parse requirement: values[0]: Invalid value: "
	      "\"9223372036854775808\": for 'Gt', 'Lt' operators, the value must be an integer");
	FAILS("x>", "unable to parse requirement: values[0]: Invalid value: \"\": for 'Gt', "
	      "'Lt' operators, the value must be an integer");
	FAILS("x nott in (y)", "unable to parse requirement: found 'nott', expected: in, notin, "
	      "=, ==, !=, gt, lt");
	FAILS("a in (xyz abc)", "unable to parse requirement: found 'abc', expected: ',' or ')'");
	FAILS("(", "found '(', expected: !, identifier, or 'end of string'");
	FAILS("!x=a", "found '=', expected: ',' or 'end of string'");
	FAILS("x==a==b", "found '==', expected: ',' or 'end of string'");
	FAILS("x=a b", "found 'b', expected: ',' or 'end of string'");
	FAILS("x=(", "unable to parse requirement: found '(', expected: identifier");
	FAILS("x!", "unable to parse requirement: found '!', expected: in, notin, =, ==, !=, gt, lt");
	FAILS("!", "unable to parse requirement: found '', expected: identifier");
	FAILS("!!x", "unable to parse requirement: found '!', expected: identifier");
	FAILS("x in", "unable to parse requirement: found '' expected: '('");
	FAILS("x in (", "unable to parse requirement: found '', expected: ',', ')' or identifier");
	FAILS("x in (a", "unable to parse requirement: found '', expected: ',' or ')'");
	FAILS("x in (a,", "unable to parse requirement: found '', expected: ',', or identifier");
	FAILS("x/y/z", "unable to parse requirement: <nil>: Invalid value: \"x/y/z\": a valid "
	      "label key " KEY_REGEX " with an optional DNS subdomain prefix and '/' (e.g. "
	      "'example.com/MyName')");
	FAILS("/x", "unable to parse requirement: <nil>: Invalid value: \"/x\": prefix part must "
	      "be non-empty");
	FAILS("example.com/", "unable to parse requirement: <nil>: Invalid value: \"example.com/\": "
	      "name part must be non-empty; name part " KEY_REGEX);
}

static void test_parse_empty_parts(void **state)
{
	(void)state;
	FAILS(",", "found ',', expected: !, identifier, or 'end of string'");
	FAILS("x,", "found '', expected: identifier after ','");
	FAILS("x,,y", "found ',', expected: identifier after ','");
	FAILS(",x", "found ',', expected: !, identifier, or 'end of string'");
	FAILS("x=a,", "found '', expected: identifier after ','");
	FAILS("()", "found '(', expected: !, identifier, or 'end of string'");
	FAILS("   ,  ", "found ',', expected: !, identifier, or 'end of string'");
	PARSES("   ", "");
}

static void test_parse_bad_bytes(void **state)
{
	(void)state;
	/* invalid UTF-8 is quoted the way Go's %q does it */
	FAILS("\xff", "unable to parse requirement: <nil>: Invalid value: \"\\xff\": name part "
	      KEY_REGEX);
	FAILS("x=\xc3", "unable to parse requirement: values[0][x]: Invalid value: \"\\xc3\": "
	      VALUE_REGEX);
	FAILS("x=\xc3\xa9", "unable to parse requirement: values[0][x]: Invalid value: "
	      "\"\xc3\xa9\": " VALUE_REGEX);
	FAILS("\xed\xa0\x80", "unable to parse requirement: <nil>: Invalid value: "
	      "\"\\xed\\xa0\\x80\": name part " KEY_REGEX);
	FAILS("\x01\x7f\"\\", "unable to parse requirement: <nil>: Invalid value: "
	      "\"\\x01\\x7f\\\"\\\\\": name part " KEY_REGEX);
	FAILS("\xe2\x80\xa8", "unable to parse requirement: <nil>: Invalid value: \"\\u2028\": "
	      "name part " KEY_REGEX);
	FAILS("\xf0\x9f\x98\x80", "unable to parse requirement: <nil>: Invalid value: "
	      "\"\xf0\x9f\x98\x80\": name part " KEY_REGEX);

	/* a NUL reads as Go's end-of-input byte */
	PARSES("\0x=y", "");
	PARSES("a \0b", "a");
	FAILS("a\0b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, "
	      "gt, lt");
	PARSES("x=\0", "x=");
	PARSES("a=b\0,c", "a=b,c");

	/* NULL text with length 0 is the empty selector; with a length it is refused */
	struct selector *sel = selector_parse(NULL, 0, err, sizeof err);
	assert_non_null(sel);
	assert_true(selector_empty(sel));
	selector_free(sel);
	assert_null(selector_parse(NULL, 3, err, sizeof err));
	/* no error buffer at all is fine */
	assert_null(selector_parse(S("("), NULL, 0));
}

/* Every byte value, alone and around operators: must not crash. */
static void test_parse_all_bytes(void **state)
{
	char in[8];
	(void)state;

	for (int a = 0; a < 256; a++) {
		for (int b = 0; b < 256; b += 17) {
			int n = snprintf(in, sizeof in, "%cx%c", a, b);
			assert_true(n == 3);
			struct selector *sel = selector_parse(in, 3, err, sizeof err);
			if (sel) {
				/* what parses must print and parse back to the same */
				char first[64];
				size_t fl = selector_string(sel, first, sizeof first);
				assert_true(fl < sizeof first);
				selector_free(sel);
				sel = selector_parse(first, strlen(first), err, sizeof err);
				assert_non_null(sel);
				assert_string_equal(str_of(sel), first);
				selector_free(sel);
			}
		}
	}
}

/* ------------------------------------------------------------------ */
/* Requirements                                                        */

static void test_requirements_walk(void **state)
{
	const char *key;
	enum selector_op op;
	const char *const *vals;
	size_t nvals;
	(void)state;

	struct selector *sel = selector_parse(S("z notin (b,a,b),!y,x>3,w,v==1,u=,t in ()"),
					      err, sizeof err);
	assert_non_null(sel);
	assert_int_equal(selector_count(sel), 7);
	assert_false(selector_empty(sel));

	selector_get(sel, 0, &key, &op, &vals, &nvals);
	assert_string_equal(key, "t");
	assert_int_equal(op, SEL_IN);
	assert_int_equal(nvals, 1);
	assert_string_equal(vals[0], "");
	selector_get(sel, 1, &key, &op, &vals, &nvals);
	assert_string_equal(key, "u");
	assert_int_equal(op, SEL_EQUALS);
	assert_string_equal(vals[0], "");
	selector_get(sel, 2, &key, &op, &vals, &nvals);
	assert_int_equal(op, SEL_DOUBLE_EQUALS);
	selector_get(sel, 3, &key, &op, &vals, &nvals);
	assert_string_equal(key, "w");
	assert_int_equal(op, SEL_EXISTS);
	assert_int_equal(nvals, 0);
	selector_get(sel, 4, &key, &op, &vals, &nvals);
	assert_int_equal(op, SEL_GT);
	assert_string_equal(vals[0], "3");
	selector_get(sel, 5, &key, &op, NULL, &nvals);
	assert_string_equal(key, "y");
	assert_int_equal(op, SEL_DOES_NOT_EXIST);
	assert_int_equal(nvals, 0);
	selector_get(sel, 6, &key, &op, &vals, &nvals);
	assert_int_equal(op, SEL_NOT_IN);
	assert_int_equal(nvals, 2);
	assert_string_equal(vals[0], "a");
	assert_string_equal(vals[1], "b");
	/* out of range gives nothing */
	selector_get(sel, 7, &key, &op, &vals, &nvals);
	assert_null(key);
	assert_int_equal(nvals, 0);
	selector_free(sel);

	assert_int_equal(selector_count(NULL), 0);
	assert_true(selector_empty(NULL));
	selector_free(NULL);
}

static void test_op_names(void **state)
{
	static const char *const names[] = { "=", "==", "!=", "in", "notin", "exists", "!", "gt", "lt" };
	enum selector_op op;
	(void)state;

	for (int i = 0; i < 9; i++) {
		assert_string_equal(selector_op_name((enum selector_op)i), names[i]);
		assert_int_equal(selector_op_parse(names[i], &op), 0);
		assert_int_equal(op, i);
	}
	assert_int_equal(selector_op_parse("Gt", &op), -1);
	assert_int_equal(selector_op_parse("", &op), -1);
	assert_int_equal(selector_op_parse(NULL, &op), -1);
}

/* ------------------------------------------------------------------ */
/* Builder: NewRequirement + Add                                       */

static void test_add_valid(void **state)
{
	const char *abc[] = { "abc", "def" }, *jkl[] = { "jkl" }, *dup[] = { "b", "a", "b" };
	const char *const *vals;
	size_t nvals;
	(void)state;

	struct selector *sel = selector_new();
	assert_non_null(sel);
	assert_int_equal(selector_add(sel, "z", SEL_EXISTS, NULL, 0, err, sizeof err), 0);
	assert_int_equal(selector_add(sel, "y", SEL_NOT_IN, jkl, 1, err, sizeof err), 0);
	assert_int_equal(selector_add(sel, "x", SEL_IN, abc, 2, err, sizeof err), 0);
	assert_string_equal(str_of(sel), "x in (abc,def),y notin (jkl),z");

	/* values are kept as given; String() shows them sorted */
	assert_int_equal(selector_add(sel, "w", SEL_IN, dup, 3, err, sizeof err), 0);
	assert_string_equal(str_of(sel), "w in (a,b,b),x in (abc,def),y notin (jkl),z");
	selector_get(sel, 0, NULL, NULL, &vals, &nvals);
	assert_int_equal(nvals, 3);
	assert_string_equal(vals[0], "b");
	assert_string_equal(vals[1], "a");
	selector_free(sel);

	const char *two[] = { "2" }, *eight[] = { "8" }, *a[] = { "a" };
	sel = selector_new();
	assert_int_equal(selector_add(sel, "x", SEL_GT, two, 1, err, sizeof err), 0);
	assert_int_equal(selector_add(sel, "y", SEL_LT, eight, 1, err, sizeof err), 0);
	assert_int_equal(selector_add(sel, "z", SEL_NOT_EQUALS, a, 1, err, sizeof err), 0);
	assert_int_equal(selector_add(sel, "z", SEL_DOES_NOT_EXIST, NULL, 0, err, sizeof err), 0);
	assert_string_equal(str_of(sel), "x>2,y<8,z!=a,!z");
	selector_free(sel);
}

static void adds_with(enum selector_op op, const char *key, const char *const *vals,
		      size_t n, const char *want)
{
	struct selector *sel = selector_new();
	assert_non_null(sel);
	assert_int_equal(selector_add(sel, key, op, vals, n, err, sizeof err), -1);
	assert_string_equal(err, want);
	assert_int_equal(selector_count(sel), 0);   /* nothing added on error */
	selector_free(sel);
}

static void test_add_errors(void **state)
{
	const char *foo[] = { "foo" }, *bar[] = { "bar" }, *ab[] = { "a b" };
	const char *two[] = { "<", "\xe2\x80\xa8" };
	const char *gt2[] = { "x", "1" };
	(void)state;

	adds_with(SEL_IN, "x1", NULL, 0, "values: Invalid value: []: for 'in', 'notin' operators, "
		  "values set can't be empty");
	adds_with(SEL_EXISTS, "x8", foo, 1, "values: Invalid value: [\"foo\"]: values set must be "
		  "empty for exists and does not exist");
	adds_with(SEL_LT, "x15", bar, 1, "values[0]: Invalid value: \"bar\": for 'Gt', 'Lt' "
		  "operators, the value must be an integer");
	adds_with(SEL_EQUALS, "x17", ab, 1, "values[0][x17]: Invalid value: \"a b\": " VALUE_REGEX);
	adds_with(SEL_EQUALS, "k", NULL, 0, "values: Invalid value: []: exact-match compatibility "
		  "requires one single value");
	/* several errors aggregate as [a, b, ...]; slices print as JSON */
	adds_with(SEL_NOT_EQUALS, "k", two, 2, "[values: Invalid value: [\"\\u003c\",\"\\u2028\"]: "
		  "exact-match compatibility requires one single value, values[0][k]: Invalid value: "
		  "\"<\": " VALUE_REGEX ", values[1][k]: Invalid value: \"\\u2028\": " VALUE_REGEX "]");
	adds_with(SEL_GT, "k", gt2, 2, "[values: Invalid value: [\"x\",\"1\"]: for 'Gt', 'Lt' "
		  "operators, exactly one value is required, values[0]: Invalid value: \"x\": for "
		  "'Gt', 'Lt' operators, the value must be an integer]");
	adds_with(SEL_EXISTS, "a/b/c", NULL, 0, "key: Invalid value: \"a/b/c\": a valid label key "
		  KEY_REGEX " with an optional DNS subdomain prefix and '/' (e.g. "
		  "'example.com/MyName')");
	adds_with((enum selector_op)42, "k", NULL, 0, "operator: Unsupported value: \"42\": "
		  "supported values: \"in\", \"notin\", \"=\", \"==\", \"!=\", \"gt\", \"lt\", "
		  "\"exists\", \"!\"");

	/* a 254-byte key breaks the DNS rule for the whole key */
	char key[255];
	memset(key, 'a', 254);
	key[254] = '\0';
	struct selector *sel = selector_new();
	assert_int_equal(selector_add(sel, key, SEL_EXISTS, NULL, 0, err, sizeof err), -1);
	assert_non_null(strstr(err, "key: Invalid value: \"aaaa"));
	assert_non_null(strstr(err, "name part must be no more than 63 bytes"));

	/* bad arguments */
	assert_int_equal(selector_add(sel, NULL, SEL_EXISTS, NULL, 0, err, sizeof err), -1);
	assert_int_equal(selector_add(NULL, "k", SEL_EXISTS, NULL, 0, err, sizeof err), -1);
	assert_int_equal(selector_add(sel, "k", SEL_IN, NULL, 2, err, sizeof err), -1);
	const char *nulls[] = { "a", NULL };
	assert_int_equal(selector_add(sel, "k", SEL_IN, nulls, 2, err, sizeof err), -1);
	assert_int_equal(selector_count(sel), 0);
	selector_free(sel);
}

static void test_add_limit(void **state)
{
	char key[16];
	(void)state;

	struct selector *sel = selector_new();
	for (int i = 0; i < SELECTOR_MAX_REQUIREMENTS; i++) {
		snprintf(key, sizeof key, "k%d", i);
		assert_int_equal(selector_add(sel, key, SEL_EXISTS, NULL, 0, err, sizeof err), 0);
	}
	assert_int_equal(selector_add(sel, "one-more", SEL_EXISTS, NULL, 0, err, sizeof err), -1);
	assert_string_equal(err, "too many requirements: 1001 (max 1000)");
	assert_int_equal(selector_count(sel), SELECTOR_MAX_REQUIREMENTS);
	selector_free(sel);
}

/*
 * With more than 12 requirements Go's sort.Sort is not stable; the orders
 * below come from Go's pdqsort (Go 1.21+ xorshift) on the same input.
 */
static void check_tie_order(const char *const *keys, size_t n, const char *want)
{
	char in[4096], got[4096];
	size_t o = 0, g = 0;

	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(in + o, sizeof in - o, "%s%s=%zu", i ? "," : "", keys[i], i);
	struct selector *sel = selector_parse(in, o, err, sizeof err);
	assert_non_null(sel);
	for (size_t i = 0; i < selector_count(sel); i++) {
		const char *const *vals;
		selector_get(sel, i, NULL, NULL, &vals, NULL);
		g += (size_t)snprintf(got + g, sizeof got - g, "%s%s", i ? " " : "", vals[0]);
	}
	assert_string_equal(got, want);
	selector_free(sel);
}

static void test_sort_ties_like_go(void **state)
{
	const char *keys[64];
	(void)state;

	for (size_t i = 0; i < 20; i++)
		keys[i] = (i * 7) % 3 == 0 ? "b" : "a";
	check_tie_order(keys, 20, "10 1 2 19 4 5 17 7 16 8 14 11 13 0 12 15 9 6 18 3");
	for (size_t i = 0; i < 20; i++)
		keys[i] = i % 2 ? "b" : "a";
	check_tie_order(keys, 20, "10 18 2 16 4 0 6 14 8 12 5 11 9 13 7 15 3 17 1 19");
	static const char *const abc[] = { "a", "b", "c" };
	for (size_t i = 0; i < 51; i++)
		keys[i] = abc[i % 3];
	check_tie_order(keys, 51, "18 48 45 3 42 39 6 36 33 9 30 27 12 0 24 15 21 25 4 19 49 16 "
			"22 1 46 13 43 40 28 37 10 31 7 34 17 26 32 29 38 5 11 41 35 44 8 2 14 47 23 "
			"20 50");
	/* twelve ties: plain insertion sort, input order kept */
	for (size_t i = 0; i < 12; i++)
		keys[i] = "a";
	check_tie_order(keys, 12, "0 1 2 3 4 5 6 7 8 9 10 11");
}

static void test_from_labels(void **state)
{
	const struct label ls[] = { { "Key", "axahm2EJ8Phiephe2eixohbee9eGeiyees1thuozi1xoh0GiuH3diewi8iem7Nui" },
				    { "key", "val" } };
	const struct label odd[] = { { "a", "x,y" }, { "b", "" } };
	(void)state;

	struct selector *sel = selector_from_labels(ls + 1, 1, true, err, sizeof err);
	assert_non_null(sel);
	assert_string_equal(str_of(sel), "key=val");
	selector_free(sel);

	assert_null(selector_from_labels(ls, 2, true, err, sizeof err));
	assert_true(strncmp(err, "values[0][Key]: Invalid value: \"axahm", 37) == 0);

	/* without validation anything goes through as given */
	sel = selector_from_labels(odd, 2, false, err, sizeof err);
	assert_non_null(sel);
	assert_string_equal(str_of(sel), "a=x,y,b=");
	selector_free(sel);

	sel = selector_from_labels(NULL, 0, true, err, sizeof err);
	assert_non_null(sel);
	assert_true(selector_empty(sel));
	assert_string_equal(str_of(sel), "");
	selector_free(sel);
}

/* ------------------------------------------------------------------ */
/* Matches                                                             */

static bool matches(const char *sel_text, const struct label *ls, size_t n)
{
	struct selector *sel = selector_parse(sel_text, strlen(sel_text), err, sizeof err);
	if (!sel)
		fail_msg("'%s': %s", sel_text, err);
	bool m = selector_matches(sel, ls, n);
	selector_free(sel);
	return m;
}

static void test_matches_absent_keys(void **state)
{
	const struct label ls[] = { { "baz", "blah" }, { "foo", "bar" } };
	(void)state;

	assert_true(matches("", NULL, 0));
	assert_true(matches("", ls, 2));
	assert_true(matches("foo=bar,baz=blah", ls, 2));
	assert_false(matches("foo=bar,foobar=bar,baz=blah", ls, 2));
	/* each operator with the key absent */
	assert_false(matches("x=a", ls, 2));
	assert_false(matches("x==a", ls, 2));
	assert_false(matches("x in (a,)", ls, 2));   /* even with "" in the set */
	assert_false(matches("x=", ls, 2));
	assert_true(matches("x!=a", ls, 2));
	assert_true(matches("x notin (a)", ls, 2));
	assert_false(matches("x", ls, 2));
	assert_true(matches("!x", ls, 2));
	assert_false(matches("x>0", ls, 2));
	assert_false(matches("x<0", ls, 2));
	/* present */
	assert_true(matches("foo in (bar,baz)", ls, 2));
	assert_false(matches("foo notin (bar,baz)", ls, 2));
	assert_true(matches("foo", ls, 2));
	assert_false(matches("!foo", ls, 2));
	assert_false(matches("foo!=bar", ls, 2));

	const struct label empty[] = { { "y", "" } };
	assert_true(matches("y", empty, 1));
	assert_true(matches("y=", empty, 1));
	assert_true(matches("y in ()", empty, 1));
	assert_false(matches("y notin ()", empty, 1));
	assert_true(matches("x notin (),y", empty, 1));
	assert_false(matches("x notin (),!y", empty, 1));
}

static void test_matches_gt_lt(void **state)
{
	struct label l = { "z", NULL };
	static const struct { const char *v; bool gt1, lt1; } cases[] = {
		{ "2", true, false }, { "0", false, true }, { "1", false, false },
		{ "+3", true, false },               /* ParseInt takes a sign */
		{ "-0", false, true }, { "007", true, false },
		{ "v2", false, false }, { "", false, false }, { "1.5", false, false },
		{ " 2", false, false }, { "2 ", false, false }, { "0x10", false, false },
		{ "1_000", false, false }, { "+", false, false }, { "-", false, false },
		{ "9223372036854775807", true, false },
		{ "9223372036854775808", false, false },   /* overflow: not an int64 */
		{ "-9223372036854775808", false, true },
		{ "-9223372036854775809", false, false },
	};
	(void)state;

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		l.value = cases[i].v;
		if (matches("z>1", &l, 1) != cases[i].gt1)
			fail_msg("'%s' > 1 should be %d", cases[i].v, cases[i].gt1);
		if (matches("z<1", &l, 1) != cases[i].lt1)
			fail_msg("'%s' < 1 should be %d", cases[i].v, cases[i].lt1);
	}
	l.value = "-5";
	assert_true(matches("z<9223372036854775807", &l, 1));
	assert_false(matches("z>0", &l, 1));
}

static void test_matches_many_labels(void **state)
{
	static struct label ls[500];
	static char names[500][16];
	(void)state;

	for (int i = 0; i < 500; i++) {
		snprintf(names[i], sizeof names[i], "k%03d", i);
		ls[i].name = names[i];
		ls[i].value = i % 2 ? "odd" : "even";
	}
	assert_true(matches("k000=even,k499=odd,k250 in (even),k251", ls, 500));
	assert_false(matches("k000=even,k499=odd,k250 in (odd)", ls, 500));
	assert_true(matches("!k500,!k,!k0000", ls, 500));
	assert_false(matches("k123=even", ls, 500));
}

/* ------------------------------------------------------------------ */
/* PromQL                                                              */

static void promql_is(const char *sel_text, const char *want)
{
	char buf[4096];
	size_t len;
	struct selector *sel = selector_parse(sel_text, strlen(sel_text), err, sizeof err);
	assert_non_null(sel);
	if (selector_promql(sel, buf, sizeof buf, &len, err, sizeof err) != 0)
		fail_msg("'%s': %s", sel_text, err);
	assert_string_equal(buf, want);
	assert_int_equal(len, strlen(want));
	selector_free(sel);
}

static void test_promql(void **state)
{
	(void)state;
	promql_is("", "");
	promql_is("env=prod", "env=\"prod\"");
	promql_is("env==prod", "env=\"prod\"");
	promql_is("env!=prod", "env!=\"prod\"");
	promql_is("env=", "env=\"\"");
	promql_is("queue in (b,a)", "queue=~\"a|b\"");
	promql_is("queue notin (a)", "queue!~\"a\"");
	promql_is("queue in (,a)", "queue=~\"|a\"");
	promql_is("tier", "tier!=\"\"");
	promql_is("!tier", "tier=\"\"");
	/* regex metacharacters in set values match literally: \. in the regex */
	promql_is("host in (a.b,c-d_e)", "host=~\"a\\\\.b|c-d_e\"");
	promql_is("host notin (1.2.3.4)", "host!~\"1\\\\.2\\\\.3\\\\.4\"");
	promql_is("b=2,a in (x,y),!c,d", "a=~\"x|y\",b=\"2\",c=\"\",d!=\"\"");
	promql_is("x_1=1,X9=2", "X9=\"2\",x_1=\"1\"");
}

static void test_promql_escaping(void **state)
{
	const struct label ls[] = { { "a", "q\"b\\s" }, { "b", "line\nfeed\t\x01" },
				    { "c", "\xff\xc3\xa9\xe2\x80\xa8" } };
	const char *dup[] = { "x.y", "a", "x.y" };
	char buf[512];
	size_t len;
	(void)state;

	/* from_labels without validation lets any byte through: %q quoting */
	struct selector *sel = selector_from_labels(ls, 3, false, err, sizeof err);
	assert_non_null(sel);
	assert_int_equal(selector_promql(sel, buf, sizeof buf, &len, err, sizeof err), 0);
	assert_string_equal(buf, "a=\"q\\\"b\\\\s\",b=\"line\\nfeed\\t\\x01\","
			    "c=\"\\xff\xc3\xa9\\u2028\"");
	selector_free(sel);

	/* set values render once each, sorted, dots escaped */
	sel = selector_new();
	assert_int_equal(selector_add(sel, "k", SEL_IN, dup, 3, err, sizeof err), 0);
	assert_int_equal(selector_add(sel, "j", SEL_NOT_IN, dup + 1, 1, err, sizeof err), 0);
	assert_int_equal(selector_promql(sel, buf, sizeof buf, &len, err, sizeof err), 0);
	assert_string_equal(buf, "j!~\"a\",k=~\"a|x\\\\.y\"");
	selector_free(sel);

	/* truncation: snprintf-style with the full length */
	sel = selector_parse(S("env=production,zone in (a,b)"), err, sizeof err);
	assert_non_null(sel);
	char small[10];
	assert_int_equal(selector_promql(sel, small, sizeof small, &len, err, sizeof err), 0);
	assert_int_equal(len, strlen("env=\"production\",zone=~\"a|b\""));
	assert_string_equal(small, "env=\"prod");
	assert_int_equal(selector_promql(sel, NULL, 0, &len, err, sizeof err), 0);
	assert_int_equal(len, strlen("env=\"production\",zone=~\"a|b\""));
	selector_free(sel);
}

static void test_promql_refusals(void **state)
{
	char buf[256];
	size_t len = 99;
	(void)state;

	struct selector *sel = selector_parse(S("a=1,x>5"), err, sizeof err);
	assert_non_null(sel);
	assert_int_equal(selector_promql(sel, buf, sizeof buf, &len, err, sizeof err), -1);
	assert_string_equal(err, "cannot express 'x>5' in promql: label values cannot be "
			    "compared as numbers");
	assert_string_equal(buf, "");
	selector_free(sel);

	sel = selector_parse(S("x<5"), err, sizeof err);
	assert_int_equal(selector_promql(sel, buf, sizeof buf, NULL, err, sizeof err), -1);
	assert_string_equal(err, "cannot express 'x<5' in promql: label values cannot be "
			    "compared as numbers");
	selector_free(sel);

	static const char *const bad_keys[] = { "app.kubernetes.io/name", "1abc", "a-b", "a.b" };
	for (size_t i = 0; i < 4; i++) {
		char text[64];
		snprintf(text, sizeof text, "%s=x", bad_keys[i]);
		sel = selector_parse(text, strlen(text), err, sizeof err);
		assert_non_null(sel);
		assert_int_equal(selector_promql(sel, buf, sizeof buf, &len, err, sizeof err), -1);
		char want[160];
		snprintf(want, sizeof want, "cannot use label key \"%s\" in promql: not a "
			 "prometheus label name", bad_keys[i]);
		assert_string_equal(err, want);
		selector_free(sel);
	}
}

/* ------------------------------------------------------------------ */
/* Lexer                                                               */

static void lexes_to(const char *in, size_t len, const char *want)
{
	int toks[64];
	size_t n;
	char got[1024] = "";
	size_t o = 0;

	assert_int_equal(selector_lex(in, len, toks, 64, &n), 0);
	assert_true(n <= 64);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(got + o, sizeof got - o, "%s%s", i ? " " : "",
				      selector_token_name(toks[i]));
	assert_string_equal(got, want);
}

#define LEXES(lit, want) lexes_to(lit, sizeof(lit) - 1, want)

static void test_lexer(void **state)
{
	int toks[2];
	size_t n;
	(void)state;

	LEXES("", "");
	LEXES("key in ( value )", "Identifier In OpenPar Identifier ClosedPar");
	LEXES("== != (), = notin", "DoubleEquals NotEquals OpenPar ClosedPar Comma Equals NotIn");
	LEXES("key>2", "Identifier GreaterThan Identifier");
	LEXES("!key", "DoesNotExist Identifier");
	LEXES("!==", "NotEquals Equals");
	LEXES("===", "DoubleEquals Equals");
	LEXES("!!", "DoesNotExist DoesNotExist");
	LEXES("<>", "LessThan GreaterThan");
	LEXES("~", "Identifier");
	LEXES("||", "Identifier");
	LEXES("inn notinx IN", "Identifier Identifier Identifier");
	LEXES("a\0b", "Identifier Identifier");
	LEXES("=\0=", "Equals Equals");
	LEXES("a \0b", "Identifier");
	LEXES("\0", "");

	/* the count is the whole count even when max is smaller */
	assert_int_equal(selector_lex(S("a,b,c"), toks, 2, &n), 0);
	assert_int_equal(n, 5);
	assert_string_equal(selector_token_name(toks[1]), "Comma");
	assert_string_equal(selector_token_name(SEL_TOK_END_OF_STRING), "EndOfString");
	assert_string_equal(selector_token_name(-1), "Error");
	assert_string_equal(selector_token_name(99), "Error");
}

/* ------------------------------------------------------------------ */
/* Limits and speed                                                    */

static void test_too_many_requirements(void **state)
{
	(void)state;
	char *buf = malloc(80000);
	size_t o = 0;
	assert_non_null(buf);
	for (int i = 0; i < 10000; i++)
		o += (size_t)snprintf(buf + o, 80000 - o, "%sk%d", i ? "," : "", i);
	fails_with(buf, o, "too many requirements: 10000 (max 1000)");

	/* exactly 1000 is fine, 1001 is not */
	o = 0;
	for (int i = 0; i < 1000; i++)
		o += (size_t)snprintf(buf + o, 80000 - o, "%sk%d in (a,b)", i ? "," : "", i);
	struct selector *sel = selector_parse(buf, o, err, sizeof err);
	assert_non_null(sel);
	assert_int_equal(selector_count(sel), 1000);
	selector_free(sel);
	o += (size_t)snprintf(buf + o, 80000 - o, ",extra");
	fails_with(buf, o, "too many requirements: 1001 (max 1000)");
	free(buf);
}

static void test_too_long(void **state)
{
	(void)state;
	size_t n = SELECTOR_MAX_LEN + 1;
	char *buf = malloc(n);
	assert_non_null(buf);
	memset(buf, 'a', n);
	fails_with(buf, n, "selector too long: 262145 bytes (max 262144)");
	int toks[1];
	size_t nt;
	assert_int_equal(selector_lex(buf, n, toks, 1, &nt), -1);
	free(buf);
}

/* Best of three runs, in milliseconds. */
static double time_parse(const char *s, size_t n, bool want_ok)
{
	double best = 1e9;
	for (int r = 0; r < 3; r++) {
		double t0 = now_ms();
		struct selector *sel = selector_parse(s, n, err, sizeof err);
		double t = now_ms() - t0;
		if ((sel != NULL) != want_ok)
			fail_msg("unexpected result (%s)", sel ? "parsed" : err);
		selector_free(sel);
		if (t < best)
			best = t;
	}
	return best;
}

static void test_64k_inputs_fast(void **state)
{
	const size_t n = 64 * 1024;
	char *buf = malloc(n + 64);
	size_t o;
	(void)state;
	assert_non_null(buf);

	/* one 64 KiB key: Go quotes it whole in the message, which fills err */
	memset(buf, 'k', n);
	assert_true(time_parse(buf, n, false) < 64.0);
	assert_true(strncmp(err, "unable to parse requirement: <nil>: Invalid value: \"kkkk", 55) == 0);
	assert_int_equal(strlen(err), sizeof err - 1);

	/* one set of ~9000 distinct values */
	o = (size_t)snprintf(buf, n, "k in (");
	for (int i = 0; o + 16 < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%sv%d", i ? "," : "", i);
	buf[o++] = ')';
	assert_true(time_parse(buf, o, true) < 64.0);

	/* a set of 64 Ki empty values */
	o = (size_t)snprintf(buf, n, "k in (");
	memset(buf + o, ',', n - o - 1);
	buf[n - 1] = ')';
	assert_true(time_parse(buf, n, true) < 64.0);

	/* 1000 requirements with long keys and values */
	o = 0;
	for (int i = 0; i < 1000; i++)
		o += (size_t)snprintf(buf + o, n + 64 - o, "%sexample.com/key-%04d=value-%034d",
				      i ? "," : "", i, i);
	assert_true(o > 60000 && o < n);
	assert_true(time_parse(buf, o, true) < 64.0);

	/* 32 Ki requirements: refused without parsing them all */
	for (size_t i = 0; i < n; i += 2) {
		buf[i] = 'a';
		buf[i + 1] = ',';
	}
	buf[n - 1] = 'a';
	assert_true(time_parse(buf, n, false) < 64.0);
	assert_string_equal(err, "too many requirements: 32768 (max 1000)");

	/* 64 KiB of operators and of whitespace */
	memset(buf, '!', n);
	assert_true(time_parse(buf, n, false) < 64.0);
	memset(buf, ' ', n);
	assert_true(time_parse(buf, n, true) < 64.0);
	free(buf);
}

/* String() into small buffers: truncated, terminated, full length back. */
static void test_string_truncation(void **state)
{
	char small[5];
	(void)state;

	struct selector *sel = selector_parse(S("b in (y,x),a"), err, sizeof err);
	assert_non_null(sel);
	assert_int_equal(selector_string(sel, NULL, 0), strlen("a,b in (x,y)"));
	memset(small, 'X', sizeof small);
	assert_int_equal(selector_string(sel, small, sizeof small), 12);
	assert_string_equal(small, "a,b ");
	assert_int_equal(selector_string(sel, small, 1), 12);
	assert_string_equal(small, "");
	selector_free(sel);
	assert_int_equal(selector_string(NULL, small, sizeof small), 0);
	assert_string_equal(small, "");

	/* the error buffer is truncated the same way */
	char e[8];
	assert_null(selector_parse(S("x nott in (y)"), e, sizeof e));
	assert_string_equal(e, "unable ");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_canonical),
		cmocka_unit_test(test_parse_whitespace_and_empty_values),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_empty_parts),
		cmocka_unit_test(test_parse_bad_bytes),
		cmocka_unit_test(test_parse_all_bytes),
		cmocka_unit_test(test_requirements_walk),
		cmocka_unit_test(test_op_names),
		cmocka_unit_test(test_add_valid),
		cmocka_unit_test(test_add_errors),
		cmocka_unit_test(test_add_limit),
		cmocka_unit_test(test_sort_ties_like_go),
		cmocka_unit_test(test_from_labels),
		cmocka_unit_test(test_matches_absent_keys),
		cmocka_unit_test(test_matches_gt_lt),
		cmocka_unit_test(test_matches_many_labels),
		cmocka_unit_test(test_promql),
		cmocka_unit_test(test_promql_escaping),
		cmocka_unit_test(test_promql_refusals),
		cmocka_unit_test(test_lexer),
		cmocka_unit_test(test_too_many_requirements),
		cmocka_unit_test(test_too_long),
		cmocka_unit_test(test_64k_inputs_fast),
		cmocka_unit_test(test_string_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
