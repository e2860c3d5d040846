/*
 * test_names.c — api/names: DNS names, label keys and values, path
 * segments, and the exact Kubernetes messages for bad ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "names.h"

#define S(lit) (lit), (sizeof(lit) - 1)

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);
	assert_non_null(s);
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

#define NAME_RE "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define NAME_PART_REGEX "name part must consist of alphanumeric characters, '-', '_' or '.', " \
	"and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  " \
	"or '123-abc', regex used for validation is '" NAME_RE "')"
#define SUBDOMAIN_REGEX "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric " \
	"characters, '-' or '.', and must start and end with an alphanumeric character (e.g. " \
	"'example.com', regex used for validation is " \
	"'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
#define VALUE_REGEX "a valid label must be an empty string or consist of alphanumeric characters, " \
	"'-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  " \
	"or 'my_value',  or '12345', regex used for validation is '(" NAME_RE ")?')"

/* ------------------------------------------------------------------ */

static void test_dns1123_label(void **state)
{
	(void)state;
	assert_true(name_is_dns1123_label(S("a")));
	assert_true(name_is_dns1123_label(S("0")));
	assert_true(name_is_dns1123_label(S("a-1")));
	assert_true(name_is_dns1123_label(S("a--b")));
	assert_false(name_is_dns1123_label(S("")));
	assert_false(name_is_dns1123_label(S("-a")));
	assert_false(name_is_dns1123_label(S("a-")));
	assert_false(name_is_dns1123_label(S("aBc")));
	assert_false(name_is_dns1123_label(S("a_b")));
	assert_false(name_is_dns1123_label(S("a.b")));
	assert_false(name_is_dns1123_label(S("a\n")));   /* Go's $ is end of text only */
	assert_false(name_is_dns1123_label(S("a\0b")));  /* a NUL is just a bad byte */
	assert_false(name_is_dns1123_label(S("\xc3\xa9")));

	char *s = repeat('a', 64);
	assert_true(name_is_dns1123_label(s, 63));
	assert_false(name_is_dns1123_label(s, 64));
	free(s);
}

static void test_dns1123_label_messages(void **state)
{
	char buf[1024];
	(void)state;

	assert_int_equal(name_dns1123_label_errors(S("ok"), buf, sizeof buf), 0);
	assert_string_equal(buf, "");
	assert_true(name_dns1123_label_errors(S("a.b"), buf, sizeof buf) > 0);
	assert_string_equal(buf, "must not contain dots");
	name_dns1123_label_errors(S("A"), buf, sizeof buf);
	assert_string_equal(buf, "a lowercase RFC 1123 label must consist of lower case alphanumeric "
			    "characters or '-', and must start and end with an alphanumeric character "
			    "(e.g. 'my-name',  or '123-abc', regex used for validation is "
			    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')");
	char *s = repeat('a', 64);
	name_dns1123_label_errors(s, 64, buf, sizeof buf);
	assert_string_equal(buf, "must be no more than 63 bytes");
	free(s);
}

static void test_dns1123_subdomain(void **state)
{
	(void)state;
	assert_true(name_is_dns1123_subdomain(S("a")));
	assert_true(name_is_dns1123_subdomain(S("a.b-c.d")));
	assert_true(name_is_dns1123_subdomain(S("01.1")));
	assert_false(name_is_dns1123_subdomain(S("")));
	assert_false(name_is_dns1123_subdomain(S(".a")));
	assert_false(name_is_dns1123_subdomain(S("a.")));
	assert_false(name_is_dns1123_subdomain(S("a..b")));
	assert_false(name_is_dns1123_subdomain(S("a.-b")));
	assert_false(name_is_dns1123_subdomain(S("A.b")));

	/* no per-label limit, 253 in all */
	char *s = repeat('a', 254);
	assert_true(name_is_dns1123_subdomain(s, 253));
	assert_false(name_is_dns1123_subdomain(s, 254));

	char buf[1024];
	name_dns1123_subdomain_errors(s, 254, buf, sizeof buf);
	assert_string_equal(buf, "must be no more than 253 bytes");
	s[10] = '_';
	name_dns1123_subdomain_errors(s, 254, buf, sizeof buf);
	assert_string_equal(buf, "must be no more than 253 bytes; " SUBDOMAIN_REGEX);
	free(s);
}

static void test_dns1035_label(void **state)
{
	char buf[1024];
	(void)state;

	assert_true(name_is_dns1035_label(S("a")));
	assert_true(name_is_dns1035_label(S("a-0")));
	assert_false(name_is_dns1035_label(S("0")));
	assert_false(name_is_dns1035_label(S("0a")));
	assert_false(name_is_dns1035_label(S("a-")));
	assert_false(name_is_dns1035_label(S("")));
	name_dns1035_label_errors(S("1a"), buf, sizeof buf);
	assert_string_equal(buf, "a DNS-1035 label must consist of lower case alphanumeric characters "
			    "or '-', start with an alphabetic character, and end with an alphanumeric "
			    "character (e.g. 'my-name',  or 'abc-123', regex used for validation is "
			    "'[a-z]([-a-z0-9]*[a-z0-9])?')");
}

static void test_label_key(void **state)
{
	(void)state;
	assert_true(name_is_label_key(S("simple")));
	assert_true(name_is_label_key(S("Uppercase_Is_OK_123")));
	assert_true(name_is_label_key(S("example.com/a.b-c_d")));
	assert_true(name_is_label_key(S("1-num.2-num/3-num")));
	assert_false(name_is_label_key(S("")));
	assert_false(name_is_label_key(S("/a")));
	assert_false(name_is_label_key(S("a/")));
	assert_false(name_is_label_key(S("a/b/c")));
	assert_false(name_is_label_key(S("Example.com/a")));  /* prefix is lowercase */
	assert_false(name_is_label_key(S("-a")));
	assert_false(name_is_label_key(S("a b")));
	assert_false(name_is_label_key(S("\xff")));

	char *s = repeat('a', 400);
	assert_true(name_is_label_key(s, 63));
	assert_false(name_is_label_key(s, 64));
	s[253] = '/';
	assert_true(name_is_label_key(s, 253 + 1 + 63));   /* 253-byte prefix + 63-byte name */
	assert_false(name_is_label_key(s, 253 + 1 + 64));
	s[253] = 'a';
	s[254] = '/';
	assert_false(name_is_label_key(s, 254 + 1 + 1));   /* 254-byte prefix */
	free(s);
}

static void test_label_key_messages(void **state)
{
	char buf[2048];
	(void)state;

	name_label_key_errors(S("a/b/c"), buf, sizeof buf);
	assert_string_equal(buf, "a valid label key must consist of alphanumeric characters, '-', '_' "
			    "or '.', and must start and end with an alphanumeric character (e.g. "
			    "'MyName',  or 'my.name',  or '123-abc', regex used for validation is '"
			    NAME_RE "') with an optional DNS subdomain prefix and '/' (e.g. "
			    "'example.com/MyName')");
	name_label_key_errors(S("/x"), buf, sizeof buf);
	assert_string_equal(buf, "prefix part must be non-empty");
	name_label_key_errors(S("example.com/"), buf, sizeof buf);
	assert_string_equal(buf, "name part must be non-empty; " NAME_PART_REGEX);
	name_label_key_errors(S("Ex/-"), buf, sizeof buf);
	assert_string_equal(buf, "prefix part " SUBDOMAIN_REGEX "; " NAME_PART_REGEX);

	char *s = repeat('a', 64);
	name_label_key_errors(s, 64, buf, sizeof buf);
	assert_string_equal(buf, "name part must be no more than 63 bytes");
	s[63] = '-';
	name_label_key_errors(s, 64, buf, sizeof buf);
	assert_string_equal(buf, "name part must be no more than 63 bytes; " NAME_PART_REGEX);
	free(s);
}

static void test_label_value(void **state)
{
	char buf[2048];
	(void)state;

	assert_true(name_is_label_value(S("")));
	assert_true(name_is_label_value(S("a")));
	assert_true(name_is_label_value(S("My_value-1.2")));
	assert_false(name_is_label_value(S("-a")));
	assert_false(name_is_label_value(S("a.")));
	assert_false(name_is_label_value(S("a/b")));
	assert_false(name_is_label_value(S(" ")));
	assert_false(name_is_label_value(S("\xc3")));

	char *s = repeat('v', 64);
	assert_true(name_is_label_value(s, 63));
	assert_false(name_is_label_value(s, 64));
	assert_int_equal(name_label_value_errors(s, 63, buf, sizeof buf), 0);
	name_label_value_errors(s, 64, buf, sizeof buf);
	assert_string_equal(buf, "must be no more than 63 bytes");
	s[0] = '.';
	name_label_value_errors(s, 64, buf, sizeof buf);
	assert_string_equal(buf, "must be no more than 63 bytes; " VALUE_REGEX);
	free(s);
}

static void test_path_segment(void **state)
{
	char buf[256];
	(void)state;

	assert_true(name_is_path_segment(S(""), buf, sizeof buf));
	assert_string_equal(buf, "");
	assert_true(name_is_path_segment(S("..."), buf, sizeof buf));
	assert_true(name_is_path_segment(S("..test"), buf, sizeof buf));
	assert_true(name_is_path_segment(S("sha256:ABC@DEF"), buf, sizeof buf));
	assert_true(name_is_path_segment(S("Ünïcode queue"), buf, sizeof buf));
	assert_false(name_is_path_segment(S("."), buf, sizeof buf));
	assert_string_equal(buf, "may not be '.'");
	assert_false(name_is_path_segment(S(".."), buf, sizeof buf));
	assert_string_equal(buf, "may not be '..'");
	assert_false(name_is_path_segment(S("a/b"), buf, sizeof buf));
	assert_string_equal(buf, "may not contain '/'");
	assert_false(name_is_path_segment(S("foo%bar"), buf, sizeof buf));
	assert_string_equal(buf, "may not contain '%'");
	assert_false(name_is_path_segment(S("%2F/"), buf, sizeof buf));
	assert_string_equal(buf, "may not contain '/'; may not contain '%'");
	/* a NUL inside does not hide what follows it */
	assert_false(name_is_path_segment(S("a\0/"), NULL, 0));
}

/* snprintf-style: truncated but terminated, and the full length returned */
static void test_truncation(void **state)
{
	char small[8];
	char full[1024];
	(void)state;

	size_t want = name_label_value_errors(S("-"), full, sizeof full);
	assert_int_equal(want, strlen(full));
	memset(small, 'X', sizeof small);
	assert_int_equal(name_label_value_errors(S("-"), small, sizeof small), want);
	assert_int_equal(strlen(small), sizeof small - 1);
	assert_memory_equal(small, full, sizeof small - 1);
	assert_int_equal(name_label_value_errors(S("-"), NULL, 0), want);

	memset(small, 'X', sizeof small);
	assert_int_equal(name_label_value_errors(S("-"), small, 1), want);
	assert_int_equal(small[0], '\0');
	assert_int_equal(small[1], 'X');

	assert_false(name_is_path_segment(S("a%/"), small, 4));
	assert_string_equal(small, "may");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns1123_label),
		cmocka_unit_test(test_dns1123_label_messages),
		cmocka_unit_test(test_dns1123_subdomain),
		cmocka_unit_test(test_dns1035_label),
		cmocka_unit_test(test_label_key),
		cmocka_unit_test(test_label_key_messages),
		cmocka_unit_test(test_label_value),
		cmocka_unit_test(test_path_segment),
		cmocka_unit_test(test_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
