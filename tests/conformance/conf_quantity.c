/*
 * conf_quantity.c — checks api/quantity against the resource.Quantity vectors
 * (shared/testdata/README.md): ops parse, construct, construct_scaled_value,
 * scaled_value, json_unmarshal and json_marshal.
 *
 * expect_decimal is compared as an exact decimal (our value written out in
 * full by quantity_decimal_string, both sides normalised here), never through
 * a double. A case flagged milli_overflows_int64 has every field checked but
 * its MilliValue, which Go leaves undefined.
 */
#include "conformance.h"
#include "quantity.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A plain decimal split into sign, significant digits and an exponent. */
struct plain {
	bool neg;
	const char *d;   /* points into the text; digits only between d and d+len, '.' skipped */
	char buf[1200];
	size_t len;
	long long exp;
};

/* Normalises "[-]digits[.digits]"; returns -1 when s is not of that shape. */
static int plain_parse(const char *s, struct plain *p)
{
	size_t n = 0, i = 0;
	long long frac = 0;
	bool point = false, any = false;

	p->neg = false;
	if (s[0] == '-' || s[0] == '+') {
		p->neg = s[0] == '-';
		i++;
	}
	for (; s[i]; i++) {
		if (s[i] == '.' && !point) {
			point = true;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || n >= sizeof p->buf)
			return -1;
		any = true;
		if (n == 0 && s[i] == '0') {
			if (point)
				frac++;
			continue;
		}
		p->buf[n++] = s[i];
		if (point)
			frac++;
	}
	if (!any)
		return -1;
	p->exp = -frac;
	while (n > 0 && p->buf[n - 1] == '0') {
		n--;
		p->exp++;
	}
	p->len = n;
	p->d = p->buf;
	if (n == 0) {
		p->neg = false;
		p->exp = 0;
	}
	return 0;
}

static bool plain_equal(const struct plain *a, const struct plain *b)
{
	return a->neg == b->neg && a->len == b->len && a->exp == b->exp &&
	       memcmp(a->d, b->d, a->len) == 0;
}

static const char *format_name(enum quantity_format f)
{
	switch (f) {
	case QF_DECIMAL_SI:
		return "DecimalSI";
	case QF_BINARY_SI:
		return "BinarySI";
	case QF_DECIMAL_EXPONENT:
		return "DecimalExponent";
	}
	return "?";
}

/* A format name from a vector; any other name must act as DecimalExponent. */
static enum quantity_format format_of(const char *name)
{
	if (name && !strcmp(name, "DecimalSI"))
		return QF_DECIMAL_SI;
	if (name && !strcmp(name, "BinarySI"))
		return QF_BINARY_SI;
	if (name && !strcmp(name, "DecimalExponent"))
		return QF_DECIMAL_EXPONENT;
	return (enum quantity_format)99;  /* exercises quantity_from_int's fallback */
}

static bool flag(const cJSON *c, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, key));
}

/* A JSON number, or a string such as "+Inf", "-Infinity" or "NaN" for what JSON cannot hold. */
static int read_double(const cJSON *item, double *out)
{
	if (cJSON_IsNumber(item)) {
		*out = item->valuedouble;
		return 0;
	}
	if (!cJSON_IsString(item) || !item->valuestring[0])
		return -1;
	char *end;
	*out = strtod(item->valuestring, &end);
	return *end ? -1 : 0;
}

static enum conf_result check_string(const cJSON *c, const struct quantity *q, char *why, size_t n)
{
	const char *want = conf_str(c, "expect_string");
	char got[QUANTITY_STRING_MAX];
	if (!want)
		return CONF_PASS;
	size_t len = quantity_string(q, got, sizeof got);
	if (len >= sizeof got || strcmp(got, want)) {
		snprintf(why, n, "String() = '%s', want '%s'", got, want);
		return CONF_FAIL;
	}
	return CONF_PASS;
}

/* Everything a case may say about a quantity value, each field optional. */
static enum conf_result check_value(const cJSON *c, const struct quantity *q, char *why, size_t n)
{
	enum conf_result r = check_string(c, q, why, n);
	if (r != CONF_PASS)
		return r;

	const char *fmt = conf_str(c, "expect_format");
	if (fmt && strcmp(fmt, format_name(quantity_get_format(q)))) {
		snprintf(why, n, "format %s, want %s", format_name(quantity_get_format(q)), fmt);
		return CONF_FAIL;
	}

	const char *dec = conf_str(c, "expect_decimal");
	if (dec) {
		struct plain want, got;
		char text[1100];
		if (plain_parse(dec, &want)) {
			snprintf(why, n, "bad expect_decimal '%s'", dec);
			return CONF_FAIL;
		}
		if (quantity_decimal_string(q, text, sizeof text) >= sizeof text || plain_parse(text, &got)) {
			snprintf(why, n, "value not comparable: '%.200s'", text);
			return CONF_FAIL;
		}
		if (!plain_equal(&want, &got)) {
			snprintf(why, n, "value %s, want %s", text, dec);
			return CONF_FAIL;
		}
	}

	const cJSON *milli = cJSON_GetObjectItemCaseSensitive(c, "expect_milli");
	if (milli && !flag(c, "milli_overflows_int64")) {
		long long want;
		if (conf_int64(milli, &want)) {
			snprintf(why, n, "bad expect_milli");
			return CONF_FAIL;
		}
		int64_t got = quantity_milli_value(q);
		if (got != want) {
			snprintf(why, n, "MilliValue() = %lld, want %lld", (long long)got, want);
			return CONF_FAIL;
		}
	}

	const cJSON *fl = cJSON_GetObjectItemCaseSensitive(c, "expect_float");
	if (fl) {
		double want;
		if (read_double(fl, &want)) {
			snprintf(why, n, "bad expect_float");
			return CONF_FAIL;
		}
		double got = quantity_to_double(q);
		if (got != want && !(isnan(got) && isnan(want))) {
			snprintf(why, n, "AsApproximateFloat64() = %.17g, want %.17g", got, want);
			return CONF_FAIL;
		}
	}
	return CONF_PASS;
}

/* valid: true/false against what our parse said. */
static enum conf_result check_validity(const cJSON *c, int rc, const char *err, char *why, size_t n)
{
	const cJSON *valid = cJSON_GetObjectItemCaseSensitive(c, "valid");
	if (!cJSON_IsBool(valid)) {
		snprintf(why, n, "case has no 'valid'");
		return CONF_FAIL;
	}
	if (cJSON_IsTrue(valid) && rc != 0) {
		snprintf(why, n, "rejected: %s", err);
		return CONF_FAIL;
	}
	if (cJSON_IsFalse(valid)) {
		if (rc == 0) {
			snprintf(why, n, "accepted, want an error");
			return CONF_FAIL;
		}
		if (!err[0]) {
			snprintf(why, n, "rejected without a message");
			return CONF_FAIL;
		}
	}
	return CONF_PASS;
}

static int read_int32(const cJSON *c, const char *key, int32_t *out)
{
	long long v;
	if (conf_int64(cJSON_GetObjectItemCaseSensitive(c, key), &v) || v < INT32_MIN || v > INT32_MAX)
		return -1;
	*out = (int32_t)v;
	return 0;
}

/* Builds the quantity of a construct case. */
static int construct(const cJSON *c, struct quantity *q, char *why, size_t n)
{
	long long value;
	int32_t scale;
	if (conf_int64(cJSON_GetObjectItemCaseSensitive(c, "value"), &value) || read_int32(c, "scale", &scale)) {
		snprintf(why, n, "construct case without value/scale");
		return -1;
	}
	quantity_from_int(q, value, scale, format_of(conf_str(c, "format")));
	return 0;
}

static enum conf_result check_scaled(const cJSON *c, const struct quantity *q, char *why, size_t n)
{
	int32_t to;
	long long want;
	if (read_int32(c, "to_scale", &to) ||
	    conf_int64(cJSON_GetObjectItemCaseSensitive(c, "expect_scaled"), &want)) {
		snprintf(why, n, "case without to_scale/expect_scaled");
		return CONF_FAIL;
	}
	int64_t got = quantity_scaled_value(q, to);
	if (got != want) {
		snprintf(why, n, "ScaledValue(%d) = %lld, want %lld", (int)to, (long long)got, want);
		return CONF_FAIL;
	}
	return CONF_PASS;
}

enum conf_result conf_quantity(const cJSON *c, char *why, size_t n)
{
	const char *op = conf_str(c, "op");
	const char *input = conf_str(c, "input");
	struct quantity q;
	char err[256] = "";
	enum conf_result r;
	int rc;

	if (!op) {
		snprintf(why, n, "case has no 'op'");
		return CONF_FAIL;
	}
	if (!strcmp(op, "construct") || !strcmp(op, "construct_scaled_value")) {
		if (construct(c, &q, why, n))
			return CONF_FAIL;
		if (!strcmp(op, "construct"))
			return check_value(c, &q, why, n);
		return check_scaled(c, &q, why, n);
	}
	if (!input) {
		snprintf(why, n, "op '%s' without 'input'", op);
		return CONF_FAIL;
	}
	if (!strcmp(op, "parse") || !strcmp(op, "json_unmarshal")) {
		if (!strcmp(op, "parse"))
			rc = quantity_parse(&q, input, strlen(input), err, sizeof err);
		else
			rc = quantity_unmarshal_json(&q, input, strlen(input), err, sizeof err);
		r = check_validity(c, rc, err, why, n);
		if (r != CONF_PASS || rc != 0)
			return r;
		return check_value(c, &q, why, n);
	}
	if (!strcmp(op, "scaled_value") || !strcmp(op, "json_marshal")) {
		if (quantity_parse(&q, input, strlen(input), err, sizeof err)) {
			snprintf(why, n, "cannot parse '%s': %s", input, err);
			return CONF_FAIL;
		}
		if (!strcmp(op, "scaled_value"))
			return check_scaled(c, &q, why, n);
		const char *want = conf_str(c, "expect_json");
		char got[QUANTITY_STRING_MAX + 2];
		if (!want) {
			snprintf(why, n, "json_marshal case without expect_json");
			return CONF_FAIL;
		}
		quantity_marshal_json(&q, got, sizeof got);
		if (strcmp(got, want)) {
			snprintf(why, n, "MarshalJSON() = %s, want %s", got, want);
			return CONF_FAIL;
		}
		return CONF_PASS;
	}
	snprintf(why, n, "unknown op '%s'", op);
	return CONF_FAIL;
}
