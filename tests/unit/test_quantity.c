/*
 * test_quantity.c — api/quantity beyond the Kubernetes vectors: the
 * quantity_from_double and quantity_format_milli contracts, bad input, Go's
 * quirks that the vectors do not show, limits, JSON and buffer handling.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quantity.h"

#define ERR_FORMAT "quantities must match the regular expression " \
	"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
#define ERR_SUFFIX "unable to parse quantity's suffix"
#define ERR_NUMERIC "unable to parse numeric part of quantity"

/* Parses s (must succeed) and returns its String() in a static buffer. */
static const char *str_of(const char *s)
{
	static char out[QUANTITY_STRING_MAX];
	struct quantity q;
	char err[256];
	int rc = quantity_parse(&q, s, strlen(s), err, sizeof err);
	if (rc != 0)
		fail_msg("'%s' rejected: %s", s, err);
	size_t n = quantity_string(&q, out, sizeof out);
	assert_int_equal(n, strlen(out));
	return out;
}

static void must_parse(struct quantity *q, const char *s)
{
	char err[256];
	if (quantity_parse(q, s, strlen(s), err, sizeof err))
		fail_msg("'%s' rejected: %s", s, err);
}

/* Parses s expecting failure; returns the message in a static buffer. */
static const char *parse_error(const char *s, size_t len)
{
	static char err[256];
	struct quantity q;
	err[0] = '\0';
	if (quantity_parse(&q, s, len, err, sizeof err) == 0)
		fail_msg("'%.*s' accepted, want an error", (int)len, s);
	/* a failed parse leaves the quantity zero */
	assert_int_equal(quantity_milli_value(&q), 0);
	char z[8];
	quantity_string(&q, z, sizeof z);
	assert_string_equal(z, "0");
	return err;
}

static const char *milli_str(int64_t milli)
{
	static char out[32];
	size_t n = quantity_format_milli(milli, out, sizeof out);
	assert_int_equal(n, strlen(out));
	return out;
}

static const char *double_str(double v)
{
	static char out[QUANTITY_STRING_MAX];
	struct quantity q;
	assert_int_equal(quantity_from_double(&q, v), 0);
	quantity_string(&q, out, sizeof out);
	return out;
}

/* Tiny deterministic generator for table-free sweeps. */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* ------------------------------------------------------------------ */
/* quantity_format_milli                                                */

static void test_format_milli_examples(void **state)
{
	(void)state;
	assert_string_equal(milli_str(1500), "1500m");
	assert_string_equal(milli_str(2000), "2");
	assert_string_equal(milli_str(1000000), "1k");
	assert_string_equal(milli_str(-2500), "-2500m");
	assert_string_equal(milli_str(0), "0");
	assert_string_equal(milli_str(1), "1m");
	assert_string_equal(milli_str(-1), "-1m");
	assert_string_equal(milli_str(999), "999m");
	assert_string_equal(milli_str(1000), "1");
	assert_string_equal(milli_str(120000), "120");
	assert_string_equal(milli_str(1234000), "1234");
	assert_string_equal(milli_str(1001000), "1001");
	assert_string_equal(milli_str(10), "10m");
	assert_string_equal(milli_str(1000000000), "1M");
	assert_string_equal(milli_str(1000000000000000), "1T");
	assert_string_equal(milli_str(1000000000000000000), "1P");
	assert_string_equal(milli_str(-1000000000000000000), "-1P");
	assert_string_equal(milli_str(INT64_MIN), "-9223372036854775808m");
	assert_string_equal(milli_str(INT64_MAX), "9223372036854775807m");
	assert_string_equal(milli_str(9223372036854775000), "9223372036854775");
}

static void test_format_milli_truncates_like_snprintf(void **state)
{
	(void)state;
	char buf[4];
	assert_int_equal(quantity_format_milli(-2500, NULL, 0), 6);
	memset(buf, 'x', sizeof buf);
	assert_int_equal(quantity_format_milli(-2500, buf, 3), 6);
	assert_string_equal(buf, "-2");
	assert_int_equal(buf[3], 'x');
	assert_int_equal(quantity_format_milli(1500, buf, 1), 5);
	assert_string_equal(buf, "");
	char exact[6];
	assert_int_equal(quantity_format_milli(1500, exact, sizeof exact), 5);
	assert_string_equal(exact, "1500m");
}

/*
 * The fast path must equal the general one and read back to the same value.
 * The milli value reads back too, except for negatives of 19 digits: Go
 * parses those on its inf.Dec path, whose MilliValue wraps (so does ours).
 */
static void test_format_milli_matches_quantity(void **state)
{
	(void)state;
	for (int i = 0; i < 20000; i++) {
		int64_t m;
		uint64_t r = rng();
		switch (i % 4) {
		case 0:
			m = (int64_t)r;
			break;
		case 1:
			m = (int64_t)(r % 2001) - 1000;
			break;
		default: {
			int64_t p = 1;
			for (int k = (int)(r % 16); k > 0; k--)  /* 999 * 10^15 fits */
				p *= 10;
			m = ((int64_t)(r >> 40) % 1000) * p * ((r & 1) ? -1 : 1);
			break;
		}
		}
		char fast[32], slow[QUANTITY_STRING_MAX];
		struct quantity q, back;
		quantity_format_milli(m, fast, sizeof fast);
		quantity_from_milli(&q, m);
		quantity_string(&q, slow, sizeof slow);
		assert_string_equal(fast, slow);
		must_parse(&back, fast);
		assert_int_equal(quantity_cmp(&back, &q), 0);
		if (m > -1000000000000000000)
			assert_int_equal(quantity_milli_value(&back), m);
	}
	struct quantity back;
	must_parse(&back, "-2581451624785213011m");
	assert_int_not_equal(quantity_milli_value(&back), -2581451624785213011);
	must_parse(&back, "9223372036854775807m");
	assert_int_equal(quantity_milli_value(&back), INT64_MAX);
}

/* ------------------------------------------------------------------ */
/* quantity_from_double                                                 */

static void test_from_double_milli_range(void **state)
{
	(void)state;
	assert_string_equal(double_str(1.5), "1500m");
	assert_string_equal(double_str(2.0), "2");
	assert_string_equal(double_str(42), "42");
	assert_string_equal(double_str(123.456), "123456m");
	assert_string_equal(double_str(1e6), "1M");
	assert_string_equal(double_str(0.0015), "2m");     /* 0.00150000000000000003 */
	assert_string_equal(double_str(-0.0015), "-2m");
	assert_string_equal(double_str(0.0005), "1m");     /* 0.000500000000000000010 */
	assert_string_equal(double_str(0.0004999), "0");
	assert_string_equal(double_str(1e-4), "0");
	assert_string_equal(double_str(-1e-4), "0");        /* never "-0" */
	assert_string_equal(double_str(-0.0), "0");
	assert_string_equal(double_str(DBL_MIN), "0");
	assert_string_equal(double_str(-DBL_TRUE_MIN), "0");
	assert_string_equal(double_str(0.0625), "63m");    /* an exact tie: away from zero */
	assert_string_equal(double_str(-0.0625), "-63m");
	assert_string_equal(double_str(1.0005), "1");      /* 1.000499999999999989: not 1001m */
	assert_string_equal(double_str(1.0015), "1002m");  /* 1.001500000000000057 */
	/* the largest doubles whose milli value fits an int64 (spacing is 2 here) */
	assert_string_equal(double_str(9223372036854774.0), "9223372036854774");
	assert_string_equal(double_str(-9223372036854774.0), "-9223372036854774");

	struct quantity q;
	assert_int_equal(quantity_from_double(&q, 0.25), 0);
	assert_int_equal(quantity_get_format(&q), QF_DECIMAL_SI);
	assert_int_equal(quantity_milli_value(&q), 250);
}

static void test_from_double_large(void **state)
{
	(void)state;
	assert_string_equal(double_str(9223372036854776.0), "9223372036854776");
	assert_string_equal(double_str(9223372036854775808.0), "9223372036854776k");
	assert_string_equal(double_str(-9223372036854775808.0), "-9223372036854776k");
	assert_string_equal(double_str(1e20), "100E");
	assert_string_equal(double_str(1e300), "1e300");
	assert_string_equal(double_str(-1e300), "-1e300");
	assert_string_equal(double_str(1.5e25), "15e24");
	assert_string_equal(double_str(DBL_MAX), "179769313486231570e291");
	assert_string_equal(double_str(-DBL_MAX), "-179769313486231570e291");
}

static void test_from_double_rejects_non_finite(void **state)
{
	(void)state;
	struct quantity q;
	char s[16];
	assert_int_equal(quantity_from_double(&q, NAN), -1);
	quantity_string(&q, s, sizeof s);
	assert_string_equal(s, "0");
	assert_int_equal(quantity_from_double(&q, INFINITY), -1);
	assert_int_equal(quantity_from_double(&q, -INFINITY), -1);
	assert_int_equal(quantity_from_double(&q, -NAN), -1);
}

/* A sweep over magnitudes: right sign, no "-0", reads back as itself, close to v. */
static void test_from_double_sweep(void **state)
{
	(void)state;
	for (int i = 0; i < 20000; i++) {
		uint64_t r = rng();
		double mant = (double)(r >> 11) / 9007199254740992.0;  /* [0,1) */
		int e = (int)(r % 700) - 350;
		double v = ldexp(mant, e) * ((r & 1) ? -1 : 1);
		if (i % 7 == 0)
			v = (double)(int64_t)(r % 2000001) / 1000.0 - 1000.0;
		struct quantity q, back;
		char s[QUANTITY_STRING_MAX];
		assert_int_equal(quantity_from_double(&q, v), 0);
		size_t n = quantity_string(&q, s, sizeof s);
		assert_true(n < 64);
		assert_false(s[0] == '-' && s[1] == '0');
		if (s[0] == '-')
			assert_true(v < 0);
		if (v < 0 && fabs(v) >= 0.0005000000001)
			assert_true(s[0] == '-');
		if (v > 0 && v >= 0.0005000000001)
			assert_true(s[0] != '-' && strcmp(s, "0") != 0);
		must_parse(&back, s);
		assert_int_equal(quantity_cmp(&q, &back), 0);
		if (fabs(v) >= 9223372036854776.0) {
			/* the shortest round-trip digits: exact to the double */
			char t[512];
			quantity_decimal_string(&q, t, sizeof t);
			assert_true(strtod(t, NULL) == v);
		} else {
			double err = fabs(quantity_to_double(&q) - v);
			assert_true(err <= 0.0005 + fabs(v) * 1e-15);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Bad input                                                            */

static void test_parse_rejects_bad_input(void **state)
{
	(void)state;
	static const char *const bad[] = {
		" ", " 1", "1 ", "\t1", "1\n", "1i", "0.1mi", "1.1.M", "1+1.0M", "0.1am", "aoeu",
		".5i", "-3.01i", "-3.01e-", "1e", "1E+", "1ee3", "1e3e", "Non-Numeric", "invalid",
		"1Ki5", "--1", "+-1", "1,5", "1_000", "0x10", "1e3.5", "1.5.", "١", "1\xc2\xa0",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		parse_error(bad[i], strlen(bad[i]));

	assert_string_equal(parse_error("", 0), ERR_FORMAT);
	assert_string_equal(parse_error("1.1.M", 5), ERR_FORMAT);
	assert_string_equal(parse_error(" 1", 2), ERR_FORMAT);
	assert_string_equal(parse_error("1i", 2), ERR_SUFFIX);
	assert_string_equal(parse_error("0.1mi", 5), ERR_SUFFIX);
	assert_string_equal(parse_error("-3.01e-", 7), ERR_SUFFIX);
	assert_string_equal(parse_error("1e9223372036854775808", 21), ERR_SUFFIX);
	assert_string_equal(parse_error(".e-20", 5), ERR_NUMERIC);
	assert_string_equal(parse_error("-.e-20", 6), ERR_NUMERIC);
}

static void test_parse_rejects_embedded_nul(void **state)
{
	(void)state;
	assert_string_equal(parse_error("1\0", 2), ERR_FORMAT);
	assert_string_equal(parse_error("\0" "1", 2), ERR_FORMAT);
	assert_string_equal(parse_error("1\0k", 3), ERR_FORMAT);
	assert_string_equal(parse_error("1k\0", 3), ERR_FORMAT);
	/* the length is what counts, not a terminating NUL */
	struct quantity q;
	assert_int_equal(quantity_parse(&q, "15xyz", 2, NULL, 0), 0);
	assert_int_equal(quantity_milli_value(&q), 15000);
}

static void test_parse_length_limit(void **state)
{
	(void)state;
	char s[QUANTITY_MAX_LEN + 2];
	struct quantity q;
	char out[QUANTITY_STRING_MAX];

	memset(s, '1', sizeof s);
	assert_string_equal(parse_error(s, QUANTITY_MAX_LEN + 1), "quantity is longer than 256 bytes");
	assert_int_equal(quantity_parse(&q, s, QUANTITY_MAX_LEN, NULL, 0), 0);
	assert_int_equal(quantity_string(&q, out, sizeof out), QUANTITY_MAX_LEN);
	assert_memory_equal(out, s, QUANTITY_MAX_LEN);

	/* 254 digits ".5" reads fine but is 258 bytes canonically ("...500m"): refused */
	memset(s, '1', 254);
	memcpy(s + 254, ".5", 2);
	assert_string_equal(parse_error(s, 256), "quantity has too many digits");
	/* with 252 digits it fits exactly */
	memcpy(s + 252, ".5", 2);
	assert_int_equal(quantity_parse(&q, s, 254, NULL, 0), 0);
	assert_int_equal(quantity_string(&q, out, sizeof out), 256);
	assert_string_equal(out + 252, "500m");

	/* a long mantissa times 2^60 is capped, as BinarySI always is */
	memset(s, '9', 250);
	memcpy(s + 250, ".99Ei", 5);
	assert_int_equal(quantity_parse(&q, s, 255, NULL, 0), 0);
	quantity_string(&q, out, sizeof out);
	assert_string_equal(out, "9223372036854775807");
}

static void test_parse_exponent_limit(void **state)
{
	(void)state;
	struct quantity q;
	must_parse(&q, "1e1000000000");
	assert_true(isinf(quantity_to_double(&q)));
	assert_string_equal(parse_error("1e1000000001", 12), "quantity's exponent is out of range");
	assert_string_equal(parse_error("100e999999999", 13), "quantity's exponent is out of range");
	must_parse(&q, "10e999999999");
	assert_string_equal(parse_error("1e-5000000000", 13), "quantity's exponent is out of range");
	/* far below 1n a value is still rounded up to 1n */
	assert_string_equal(str_of("1.0000000000000000001e-999999999"), "1e-9");
	assert_string_equal(str_of("-1e-1000000500"), "-1e-9");
	/* and zero stays zero whatever its exponent */
	assert_string_equal(str_of("0e1000000500"), "0");
}

/* ------------------------------------------------------------------ */
/* Go's behaviour beyond the vectors                                    */

static void test_parse_go_quirks(void **state)
{
	(void)state;
	struct quantity q;
	/* parseQuantityString accepts these as zero */
	assert_string_equal(str_of("+"), "0");
	assert_string_equal(str_of("-"), "0");
	assert_string_equal(str_of("."), "0");
	assert_string_equal(str_of("-0"), "0");
	assert_string_equal(str_of("m"), "0");
	must_parse(&q, "Ki");
	assert_int_equal(quantity_get_format(&q), QF_BINARY_SI);
	assert_int_equal(quantity_milli_value(&q), 0);
	/* input reuse */
	assert_string_equal(str_of("+1"), "+1");
	assert_string_equal(str_of("007"), "007");
	assert_string_equal(str_of("1.G"), "1.G");
	assert_string_equal(str_of("1.Ki"), "1.Ki");
	assert_string_equal(str_of("+1e3"), "+1e3");
	assert_string_equal(str_of("1E6"), "1E6");
	assert_string_equal(str_of("0.5"), "500m");
	assert_string_equal(str_of("0"), "0");
	assert_string_equal(str_of("100m"), "100m");
	assert_string_equal(str_of("1000m"), "1");
	assert_string_equal(str_of("8Ki"), "8Ki");
	assert_string_equal(str_of("+8Ki"), "8Ki");
	assert_string_equal(str_of("+4Pi"), "4Pi");  /* Pi never takes the fast path */
	/* "1E" is exa, "1E3" an exponent */
	must_parse(&q, "1E");
	assert_int_equal(quantity_get_format(&q), QF_DECIMAL_SI);
	must_parse(&q, "1E3");
	assert_int_equal(quantity_get_format(&q), QF_DECIMAL_EXPONENT);
	assert_int_equal(quantity_scaled_value(&q, 0), 1000);
}

static void test_canonical_strings(void **state)
{
	(void)state;
	struct quantity q;
	char s[QUANTITY_STRING_MAX];

	assert_string_equal(str_of("1.5"), "1500m");
	assert_string_equal(str_of("1.08"), "1080m");
	assert_string_equal(str_of("1000M"), "1G");
	assert_string_equal(str_of("300e6"), "300e6");
	assert_string_equal(str_of("1.5Gi"), "1536Mi");
	assert_string_equal(str_of("1024Mi"), "1Gi");
	assert_string_equal(str_of("1536Ki"), "1536Ki");
	assert_string_equal(str_of("0.5Ki"), "512");
	assert_string_equal(str_of("9Ei"), "9223372036854775807");
	assert_string_equal(str_of("-9Ei"), "-9223372036854775807");
	assert_string_equal(str_of("3.001n"), "4n");
	assert_string_equal(str_of("-0.0000000001"), "-1n");
	assert_string_equal(str_of("0.000000000001Ki"), "2n");
	assert_string_equal(str_of("10E"), "10E");
	/* no DecimalSI suffix beyond E or below n: 'e' notation, never a dropped exponent */
	assert_string_equal(str_of("1000E"), "1e21");
	assert_string_equal(str_of("-5000E"), "-5e21");
	assert_string_equal(str_of("1000000000000000000000"), "1e21");
	quantity_from_int(&q, 1, -10, QF_DECIMAL_SI);
	quantity_string(&q, s, sizeof s);
	assert_string_equal(s, "100e-12");
	/* BinarySI */
	quantity_from_int(&q, 1536, 0, QF_BINARY_SI);
	quantity_string(&q, s, sizeof s);
	assert_string_equal(s, "1536");
	quantity_from_int(&q, -1024, 0, QF_BINARY_SI);
	quantity_string(&q, s, sizeof s);
	assert_string_equal(s, "-1Ki");
	quantity_from_int(&q, 1023, 0, QF_BINARY_SI);
	quantity_string(&q, s, sizeof s);
	assert_string_equal(s, "1023");
	quantity_from_int(&q, 15, -1, QF_BINARY_SI);   /* not an integer */
	quantity_string(&q, s, sizeof s);
	assert_string_equal(s, "1500m");
	quantity_from_int(&q, 10245, -1, QF_BINARY_SI);
	quantity_string(&q, s, sizeof s);
	assert_string_equal(s, "1024500m");
	quantity_from_int(&q, 1, 19, QF_BINARY_SI);    /* 10^19 = 2^19 * 5^19 */
	quantity_string(&q, s, sizeof s);
	assert_string_equal(s, "9765625000000000Ki");
	quantity_from_int(&q, INT64_MIN, 18, QF_BINARY_SI);  /* 2^81 * 5^18: past Ei keeps Ei */
	quantity_string(&q, s, sizeof s);
	assert_string_equal(s, "-8000000000000000000Ei");
	/* format fallback */
	quantity_from_int(&q, 1000000, 0, (enum quantity_format)42);
	assert_int_equal(quantity_get_format(&q), QF_DECIMAL_EXPONENT);
	quantity_string(&q, s, sizeof s);
	assert_string_equal(s, "1e6");
	/* zero never has a sign or a suffix */
	quantity_from_int(&q, 0, 5, QF_BINARY_SI);
	quantity_string(&q, s, sizeof s);
	assert_string_equal(s, "0");
	assert_string_equal(str_of("-0.0Ki"), "0");
	assert_string_equal(str_of("-0e7"), "0");
}

static void test_milli_and_scaled_rounding(void **state)
{
	(void)state;
	struct quantity q;

	must_parse(&q, "-0.0005");        /* int64 form: away from zero */
	assert_int_equal(quantity_milli_value(&q), -1);
	must_parse(&q, "0.0005");
	assert_int_equal(quantity_milli_value(&q), 1);
	must_parse(&q, "1.5");
	assert_int_equal(quantity_scaled_value(&q, 0), 2);
	must_parse(&q, "-1.5");
	assert_int_equal(quantity_scaled_value(&q, 0), -2);
	must_parse(&q, "-3.001n");        /* decimal form: negatives round up */
	assert_int_equal(quantity_milli_value(&q), 1);
	must_parse(&q, "-0.0000000001");
	assert_int_equal(quantity_milli_value(&q), 1);
	must_parse(&q, "-1.5Ki");         /* decimal form, exact */
	assert_int_equal(quantity_milli_value(&q), -1536000);
	must_parse(&q, "-0.025Ti");       /* Go's wrapped int64 of the nano count */
	assert_int_equal(quantity_milli_value(&q), -9041046620689);
	must_parse(&q, "0.025Ti");
	assert_int_equal(quantity_milli_value(&q), 27487790694400);
	quantity_from_int(&q, -1080, -6, QF_DECIMAL_SI);
	assert_int_equal(quantity_milli_value(&q), 0);
	quantity_from_int(&q, -80, -6, QF_DECIMAL_SI);
	assert_int_equal(quantity_milli_value(&q), 1);
	quantity_from_milli(&q, -1);
	assert_int_equal(quantity_scaled_value(&q, 0), -1);
	assert_int_equal(quantity_scaled_value(&q, -9), -1000000);
	quantity_from_int(&q, 1, -9, QF_DECIMAL_SI);
	assert_int_equal(quantity_scaled_value(&q, 0), 1);
	assert_int_equal(quantity_scaled_value(&q, -9), 1);
	must_parse(&q, "1k");
	assert_int_equal(quantity_scaled_value(&q, 3), 1);
	assert_int_equal(quantity_scaled_value(&q, 2), 10);
	must_parse(&q, "999999999999999999");
	assert_int_equal(quantity_scaled_value(&q, 0), 999999999999999999);
	must_parse(&q, "9223372036854775807.0");   /* decimal form, beyond MaxInt64 nano */
	assert_int_equal(quantity_scaled_value(&q, 0), INT64_MAX);
	/* decimal form, 19+ powers of ten apart: Euclidean division, then +1 if inexact */
	must_parse(&q, "123456789012345678901");
	assert_int_equal(quantity_scaled_value(&q, 10), 12345678902);
	assert_int_equal(quantity_scaled_value(&q, 21), 1);
	must_parse(&q, "-123456789012345678901");
	assert_int_equal(quantity_scaled_value(&q, 10), -12345678901);
	assert_int_equal(quantity_scaled_value(&q, 21), 0);
	must_parse(&q, "-1230000000000000000000");
	assert_int_equal(quantity_scaled_value(&q, 20), -12);
	must_parse(&q, "1E");
	assert_int_equal(quantity_scaled_value(&q, 0), 1000000000000000000);
	must_parse(&q, "-1E");
	assert_int_equal(quantity_scaled_value(&q, 0), -1000000000000000000);
	/* a zeroed struct is zero */
	struct quantity z;
	memset(&z, 0, sizeof z);
	assert_int_equal(quantity_milli_value(&z), 0);
	assert_int_equal(quantity_get_format(&z), QF_DECIMAL_SI);
}

static void test_to_double(void **state)
{
	(void)state;
	struct quantity q;
	must_parse(&q, "2Ki");
	assert_true(quantity_to_double(&q) == 2048.0);
	must_parse(&q, "1.1Ki");
	assert_true(quantity_to_double(&q) == 1126.4);
	must_parse(&q, "1500m");
	assert_true(quantity_to_double(&q) == 1.5);
	must_parse(&q, "-9Ei");
	assert_true(quantity_to_double(&q) == -9223372036854775807.0);
	must_parse(&q, "1e400");
	assert_true(isinf(quantity_to_double(&q)) && quantity_to_double(&q) > 0);
	must_parse(&q, "-1e400");
	assert_true(isinf(quantity_to_double(&q)) && quantity_to_double(&q) < 0);
	must_parse(&q, "1e-400");
	assert_true(quantity_to_double(&q) == 1e-9);
	must_parse(&q, "0e400");          /* Go: 0 * Pow10(400) = 0 * Inf */
	assert_true(isnan(quantity_to_double(&q)));
	quantity_from_int(&q, 7340032, -1, QF_DECIMAL_EXPONENT);
	assert_true(quantity_to_double(&q) == 734003.2000000001);
}

static void test_cmp(void **state)
{
	(void)state;
	struct quantity a, b;
	must_parse(&a, "1");
	must_parse(&b, "1000m");
	assert_int_equal(quantity_cmp(&a, &b), 0);
	must_parse(&a, "1Ki");
	must_parse(&b, "1024");
	assert_int_equal(quantity_cmp(&a, &b), 0);
	must_parse(&a, "10000T");
	must_parse(&b, "100Gi");
	assert_int_equal(quantity_cmp(&a, &b), 1);
	assert_int_equal(quantity_cmp(&b, &a), -1);
	must_parse(&a, "-1");
	must_parse(&b, "0");
	assert_int_equal(quantity_cmp(&a, &b), -1);
	must_parse(&a, "-2");
	must_parse(&b, "-1");
	assert_int_equal(quantity_cmp(&a, &b), -1);
	must_parse(&a, "1000000000000000000.1");
	must_parse(&b, "1E");
	assert_int_equal(quantity_cmp(&a, &b), 1);
	quantity_from_int(&a, -901, -2, QF_DECIMAL_SI);
	must_parse(&b, "-9.01");
	assert_int_equal(quantity_cmp(&a, &b), 0);
	must_parse(&a, "0");
	must_parse(&b, "-0.0e5");
	assert_int_equal(quantity_cmp(&a, &b), 0);
}

static void test_decimal_string(void **state)
{
	(void)state;
	struct quantity q;
	char s[64];
	must_parse(&q, "-3.001n");
	quantity_decimal_string(&q, s, sizeof s);
	assert_string_equal(s, "-0.000000004");
	must_parse(&q, "1Gi");
	quantity_decimal_string(&q, s, sizeof s);
	assert_string_equal(s, "1073741824");
	must_parse(&q, "-100.035Ki");
	quantity_decimal_string(&q, s, sizeof s);
	assert_string_equal(s, "-102435.84");
	must_parse(&q, "0");
	quantity_decimal_string(&q, s, sizeof s);
	assert_string_equal(s, "0");
	must_parse(&q, "1e30");
	assert_int_equal(quantity_decimal_string(&q, s, sizeof s), 31);
	assert_string_equal(s, "1000000000000000000000000000000");
	must_parse(&q, "1e100");
	assert_int_equal(quantity_decimal_string(&q, s, 8), 101);
	assert_string_equal(s, "1000000");
}

static void test_string_buffers(void **state)
{
	(void)state;
	struct quantity q, copy;
	char s[8];
	must_parse(&q, "1500000000m");
	assert_int_equal(quantity_string(&q, NULL, 0), 5);
	memset(s, 'x', sizeof s);
	assert_int_equal(quantity_string(&q, s, 4), 5);
	assert_string_equal(s, "150");
	assert_int_equal(s[4], 'x');
	/* a quantity is a plain value */
	copy = q;
	must_parse(&q, "2");
	assert_int_equal(quantity_string(&copy, s, sizeof s), 5);
	assert_string_equal(s, "1500k");
}

/* ------------------------------------------------------------------ */
/* JSON                                                                 */

static const char *json_str(const char *json)
{
	static char out[QUANTITY_STRING_MAX];
	struct quantity q;
	char err[256];
	if (quantity_unmarshal_json(&q, json, strlen(json), err, sizeof err))
		fail_msg("JSON '%s' rejected: %s", json, err);
	quantity_string(&q, out, sizeof out);
	return out;
}

static const char *json_error(const char *json, size_t len)
{
	static char err[256];
	struct quantity q;
	err[0] = '\0';
	if (quantity_unmarshal_json(&q, json, len, err, sizeof err) == 0)
		fail_msg("JSON '%.*s' accepted, want an error", (int)len, json);
	assert_true(err[0] != '\0');
	return err;
}

static void test_json_unmarshal(void **state)
{
	(void)state;
	struct quantity q;
	/* TestJSONWhitespace */
	assert_string_equal(json_str("\" 1\""), "1");
	assert_string_equal(json_str("\"1 \""), "1");
	assert_string_equal(json_str("1"), "1");
	assert_string_equal(json_str(" 1"), "1");
	assert_string_equal(json_str("1 "), "1");
	assert_string_equal(json_str("10"), "10");
	assert_string_equal(json_str("-1"), "-1");
	assert_string_equal(json_str(" -1"), "-1");
	/* strings keep their spelling, numbers are read as written */
	assert_string_equal(json_str("\"1Mi\""), "1Mi");
	assert_string_equal(json_str("\"+1.G\""), "+1.G");
	assert_string_equal(json_str("1.5"), "1500m");
	assert_string_equal(json_str("1e3"), "1e3");
	assert_string_equal(json_str("\r\n\t\"2Gi\"\n"), "2Gi");
	assert_string_equal(json_str("\"\xc2\xa0" "5\xe3\x80\x80\""), "5");  /* Unicode spaces */
	assert_string_equal(json_str("null"), "0");
	assert_int_equal(quantity_unmarshal_json(&q, " null ", 6, NULL, 0), 0);
	assert_int_equal(quantity_get_format(&q), QF_DECIMAL_SI);
	assert_int_equal(quantity_milli_value(&q), 0);
	must_parse(&q, "1e3");
	assert_int_equal(quantity_unmarshal_json(&q, "-2", 2, NULL, 0), 0);
	assert_int_equal(quantity_get_format(&q), QF_DECIMAL_SI);
	assert_int_equal(quantity_milli_value(&q), -2000);
}

static void test_json_unmarshal_rejects(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"", " ", "\"\"", "\"", "\"1", "1\"", "'1'", "01", "+1", ".5", "1.", "1e", "-",
		"1Mi", "\"1\" x", "\"1\" \"2\"", "\"\t1\"", "\"1\\\"\"", "\"\\u0031\"", "\"1\\\"",
		"true", "false", "nul", "{}", "[1]", "\"1 1\"", "\x0b" "1", "\"1i\"",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		json_error(bad[i], strlen(bad[i]));
	assert_string_equal(json_error("1Mi", 3), "invalid JSON for a quantity");
	assert_string_equal(json_error("\"1i\"", 4), ERR_SUFFIX);
	assert_string_equal(json_error("true", 4), ERR_FORMAT);
	assert_string_equal(json_error("\"\"", 2), ERR_FORMAT);
	assert_string_equal(json_error("\"1\0\"", 4), "invalid JSON for a quantity");
}

static void test_json_marshal(void **state)
{
	(void)state;
	struct quantity q;
	char s[QUANTITY_STRING_MAX + 2];
	must_parse(&q, "1Mi");
	assert_int_equal(quantity_marshal_json(&q, s, sizeof s), 5);
	assert_string_equal(s, "\"1Mi\"");
	must_parse(&q, "+1.5");
	quantity_marshal_json(&q, s, sizeof s);
	assert_string_equal(s, "\"1500m\"");
	quantity_from_milli(&q, 0);
	quantity_marshal_json(&q, s, sizeof s);
	assert_string_equal(s, "\"0\"");
	quantity_from_milli(&q, -2500);
	assert_int_equal(quantity_marshal_json(&q, s, 4), 8);
	assert_string_equal(s, "\"-2");
	/* marshal then unmarshal gives the same value */
	must_parse(&q, "-100.035Ki");
	quantity_marshal_json(&q, s, sizeof s);
	struct quantity back;
	assert_int_equal(quantity_unmarshal_json(&back, s, strlen(s), NULL, 0), 0);
	assert_int_equal(quantity_cmp(&q, &back), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_milli_examples),
		cmocka_unit_test(test_format_milli_truncates_like_snprintf),
		cmocka_unit_test(test_format_milli_matches_quantity),
		cmocka_unit_test(test_from_double_milli_range),
		cmocka_unit_test(test_from_double_large),
		cmocka_unit_test(test_from_double_rejects_non_finite),
		cmocka_unit_test(test_from_double_sweep),
		cmocka_unit_test(test_parse_rejects_bad_input),
		cmocka_unit_test(test_parse_rejects_embedded_nul),
		cmocka_unit_test(test_parse_length_limit),
		cmocka_unit_test(test_parse_exponent_limit),
		cmocka_unit_test(test_parse_go_quirks),
		cmocka_unit_test(test_canonical_strings),
		cmocka_unit_test(test_milli_and_scaled_rounding),
		cmocka_unit_test(test_to_double),
		cmocka_unit_test(test_cmp),
		cmocka_unit_test(test_decimal_string),
		cmocka_unit_test(test_string_buffers),
		cmocka_unit_test(test_json_unmarshal),
		cmocka_unit_test(test_json_unmarshal_rejects),
		cmocka_unit_test(test_json_marshal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
