/* Unit tests: adapter/strmap.c — put, get, replace, delete, keys with NULs
 * inside, growth across many keys, against a plain array as the oracle. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "strmap.h"

static void test_basics(void **st)
{
	struct strmap *m = strmap_new();
	assert_non_null(m);
	int a = 1, b = 2;
	assert_null(strmap_get(m, "x", 1));
	assert_int_equal(strmap_put(m, "x", 1, &a), 0);
	assert_ptr_equal(strmap_get(m, "x", 1), &a);
	assert_int_equal(strmap_put(m, "x", 1, &b), 0); /* replaces */
	assert_ptr_equal(strmap_get(m, "x", 1), &b);
	assert_int_equal(strmap_count(m), 1);
	assert_null(strmap_get(m, "xy", 2));
	assert_null(strmap_get(m, "", 0));
	assert_int_equal(strmap_put(m, "", 0, &a), 0); /* the empty key is a key */
	assert_ptr_equal(strmap_get(m, "", 0), &a);
	assert_ptr_equal(strmap_del(m, "x", 1), &b);
	assert_null(strmap_del(m, "x", 1));
	assert_null(strmap_get(m, "x", 1));
	assert_int_equal(strmap_count(m), 1);
	strmap_free(m);
}

static void test_keys_with_nul(void **st)
{
	struct strmap *m = strmap_new();
	int a, b;
	/* "m\0ns\0sel" and "m\0n\0ssel" differ only in where the NULs are */
	assert_int_equal(strmap_put(m, "m\0ns\0sel", 9, &a), 0);
	assert_int_equal(strmap_put(m, "m\0n\0ssel", 9, &b), 0);
	assert_ptr_equal(strmap_get(m, "m\0ns\0sel", 9), &a);
	assert_ptr_equal(strmap_get(m, "m\0n\0ssel", 9), &b);
	assert_null(strmap_get(m, "m", 1));
	strmap_free(m);
}

static void test_many(void **st)
{
	enum { N = 20000 };
	static int vals[N];
	struct strmap *m = strmap_new();
	char k[32];
	for (int i = 0; i < N; i++) {
		int n = snprintf(k, sizeof k, "key-%d", i);
		assert_int_equal(strmap_put(m, k, (size_t)n, &vals[i]), 0);
	}
	assert_int_equal(strmap_count(m), N);
	for (int i = 0; i < N; i += 2) {
		int n = snprintf(k, sizeof k, "key-%d", i);
		assert_ptr_equal(strmap_del(m, k, (size_t)n), &vals[i]);
	}
	for (int i = 0; i < N; i++) {
		int n = snprintf(k, sizeof k, "key-%d", i);
		if (i % 2)
			assert_ptr_equal(strmap_get(m, k, (size_t)n), &vals[i]);
		else
			assert_null(strmap_get(m, k, (size_t)n));
	}
	assert_int_equal(strmap_count(m), N / 2);
	strmap_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basics),
		cmocka_unit_test(test_keys_with_nul),
		cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
