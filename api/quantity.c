/*
 * quantity.c — Kubernetes resource.Quantity (see quantity.h).
 *
 * Go keeps a Quantity either as an int64 mantissa with a base-10 scale
 * (int64Amount) or as an inf.Dec (a big.Int "unscaled" and an int32 scale,
 * value = unscaled * 10^-scale). Which one a value uses decides how
 * MilliValue rounds and overflows, so we keep the same two forms.
 *
 * Our decimal form never materialises Go's unscaled big integer: it holds
 * the significant digits (no leading or trailing zeros), the exponent of the
 * last one and Go's scale beside them, so unscaled = digits * 10^(d_exp +
 * d_scale). A parsed "1.0000000000000000001e900000000" costs 20 digits here
 * where Go would build a 900-million-digit integer; everything Go derives
 * from the unscaled value (its low 64 bits, a comparison with MaxInt64, a
 * quotient by a power of ten) is computed from the digits instead.
 *
 * String() depends only on the value, the format and the reused input, so
 * it is computed on a normalised decimal whatever the form.
 */
#include "quantity.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_FORMAT "quantities must match the regular expression " \
	"'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
#define ERR_NUMERIC "unable to parse numeric part of quantity"
#define ERR_SUFFIX "unable to parse quantity's suffix"
#define ERR_TOO_LONG "quantity is longer than 256 bytes"
#define ERR_RANGE "quantity's exponent is out of range"
#define ERR_DIGITS "quantity has too many digits"
#define ERR_JSON "invalid JSON for a quantity"

/*
 * Room for the digits of a parse in progress: at most 255 input digits,
 * times 2^60 (19 more) for a binary suffix, plus a carry from rounding.
 */
#define WORK_DIGITS 320

/* An 'e' suffix beyond this is refused before any arithmetic on it. */
#define SUFFIX_EXPONENT_MAX ((int64_t)QUANTITY_MAX_EXPONENT + 1000)

/* Go's inf.Dec scale of a rounded parse result (Nano.infScale()). */
#define NANO_SCALE 9

static const char max_int64_digits[] = "9223372036854775807";

/* ------------------------------------------------------------------ */
/* Bounded output, snprintf-style                                       */

struct out {
	char *buf;
	size_t cap;
	size_t len;    /* full length, may exceed cap */
};

static void out_init(struct out *o, char *buf, size_t n)
{
	o->buf = buf;
	o->cap = buf ? n : 0;
	o->len = 0;
}

static void out_put(struct out *o, const char *s, size_t n)
{
	if (o->len + 1 < o->cap) {
		size_t room = o->cap - 1 - o->len;
		memcpy(o->buf + o->len, s, n < room ? n : room);
	}
	o->len += n;
}

static void out_puts(struct out *o, const char *s)
{
	out_put(o, s, strlen(s));
}

static void out_rep(struct out *o, char c, uint64_t count)
{
	if (o->len + 1 < o->cap) {
		size_t room = o->cap - 1 - o->len;
		memset(o->buf + o->len, c, count < room ? (size_t)count : room);
	}
	o->len += (size_t)count;
}

static size_t out_end(struct out *o)
{
	if (o->cap > 0)
		o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
	return o->len;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen > 0)
		snprintf(err, errlen, "%s", msg);
}

/* ------------------------------------------------------------------ */
/* Normalised decimals: |value| = d * 10^exp                            */

struct dec {
	bool neg;
	int len;          /* 0 means zero */
	int64_t exp;
	char d[WORK_DIGITS];
};

/* Strips leading zeros, and trailing zeros into exp. */
static void dec_normalize(struct dec *x)
{
	int lead = 0;
	while (lead < x->len && x->d[lead] == '0')
		lead++;
	if (lead > 0) {
		memmove(x->d, x->d + lead, (size_t)(x->len - lead));
		x->len -= lead;
	}
	while (x->len > 0 && x->d[x->len - 1] == '0') {
		x->len--;
		x->exp++;
	}
	if (x->len == 0) {
		x->neg = false;
		x->exp = 0;
	}
}

static void dec_set_u64(struct dec *x, uint64_t mag, int64_t exp, bool neg)
{
	char tmp[24];
	int n = 0;
	while (mag > 0) {
		tmp[n++] = (char)('0' + mag % 10);
		mag /= 10;
	}
	for (int i = 0; i < n; i++)
		x->d[i] = tmp[n - 1 - i];
	x->len = n;
	x->exp = exp;
	x->neg = neg;
	dec_normalize(x);
}

/* x *= m. Returns -1 when the result would not fit WORK_DIGITS. */
static int dec_mul_small(struct dec *x, uint32_t m)
{
	uint64_t carry = 0;
	for (int i = x->len - 1; i >= 0; i--) {
		uint64_t v = (uint64_t)(x->d[i] - '0') * m + carry;
		x->d[i] = (char)('0' + v % 10);
		carry = v / 10;
	}
	char pre[24];
	int np = 0;
	while (carry > 0) {
		pre[np++] = (char)('0' + carry % 10);
		carry /= 10;
	}
	if (x->len + np > WORK_DIGITS)
		return -1;
	memmove(x->d + np, x->d, (size_t)x->len);
	for (int i = 0; i < np; i++)
		x->d[i] = pre[np - 1 - i];
	x->len += np;
	dec_normalize(x);
	return 0;
}

/* Compares magnitudes of two normalised decimals. */
static int dec_cmp_abs(const struct dec *a, const struct dec *b)
{
	if (a->len == 0 || b->len == 0)
		return (a->len != 0) - (b->len != 0);
	int64_t ma = a->len + a->exp, mb = b->len + b->exp;
	if (ma != mb)
		return ma < mb ? -1 : 1;
	int n = a->len > b->len ? a->len : b->len;
	for (int i = 0; i < n; i++) {
		char ca = i < a->len ? a->d[i] : '0';
		char cb = i < b->len ? b->d[i] : '0';
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	return 0;
}

/*
 * Rounds a non-zero x up in magnitude to a multiple of 10^-9, as Go's
 * amount.Round(amount, 9, inf.RoundUp) on a positive amount.
 */
static void dec_round_nano(struct dec *x)
{
	if (x->len == 0 || x->exp >= -9)
		return;
	int64_t keep = x->len + x->exp + 9;
	if (keep <= 0) {
		x->d[0] = '1';
		x->len = 1;
		x->exp = -9;
		return;
	}
	/* x has no trailing zeros, so the dropped part is non-zero: add one */
	x->len = (int)keep;
	x->exp = -9;
	int i = x->len - 1;
	while (i >= 0 && x->d[i] == '9') {
		x->d[i] = '0';
		i--;
	}
	if (i >= 0) {
		x->d[i]++;
	} else {
		memmove(x->d + 1, x->d, (size_t)x->len);
		x->d[0] = '1';
		x->len++;
	}
	dec_normalize(x);
}

/* The value of q as a normalised decimal, whatever its form. */
static void qty_to_dec(const struct quantity *q, struct dec *x)
{
	if (q->is_dec) {
		memcpy(x->d, q->digits, q->d_len);
		x->len = q->d_len;
		x->exp = q->d_exp;
		x->neg = q->d_neg && q->d_len > 0;
		return;
	}
	uint64_t mag = q->i_value < 0 ? 0 - (uint64_t)q->i_value : (uint64_t)q->i_value;
	dec_set_u64(x, mag, q->i_scale, q->i_value < 0);
}

/* ------------------------------------------------------------------ */
/* Quantity set-up                                                      */

static void qty_clear(struct quantity *q, enum quantity_format f)
{
	q->i_value = 0;
	q->i_scale = 0;
	q->d_exp = 0;
	q->d_scale = 0;
	q->d_len = 0;
	q->s_len = 0;
	q->is_dec = 0;
	q->d_neg = 0;
	q->format = (uint8_t)f;
}

static enum quantity_format valid_format(int f)
{
	switch (f) {
	case QF_DECIMAL_SI:
	case QF_BINARY_SI:
	case QF_DECIMAL_EXPONENT:
		return (enum quantity_format)f;
	default:
		return QF_DECIMAL_EXPONENT;
	}
}

static void qty_set_int64(struct quantity *q, int64_t value, int32_t scale, enum quantity_format f)
{
	qty_clear(q, f);
	q->i_value = value;
	q->i_scale = scale;
}

/* Stores x in the decimal form with Go's scale. Returns -1 if it has too many digits. */
static int qty_set_dec(struct quantity *q, const struct dec *x, int64_t go_scale, enum quantity_format f)
{
	if (x->len > QUANTITY_MAX_LEN)
		return -1;
	qty_clear(q, f);
	q->is_dec = 1;
	memcpy(q->digits, x->d, (size_t)x->len);
	q->d_len = (uint16_t)x->len;
	q->d_exp = x->exp;
	q->d_neg = x->neg && x->len > 0;
	q->d_scale = go_scale;
	return 0;
}

enum quantity_format quantity_get_format(const struct quantity *q)
{
	return valid_format(q->format);
}

void quantity_from_int(struct quantity *q, int64_t value, int32_t scale, enum quantity_format f)
{
	struct dec x;
	uint64_t mag = value < 0 ? 0 - (uint64_t)value : (uint64_t)value;
	dec_set_u64(&x, mag, scale, value < 0);
	qty_set_dec(q, &x, -(int64_t)scale, valid_format((int)f));
}

void quantity_from_milli(struct quantity *q, int64_t milli)
{
	qty_set_int64(q, milli, -3, QF_DECIMAL_SI);
}

/* ------------------------------------------------------------------ */
/* Canonical form (CanonicalizeBytes)                                   */

static const char *const decimal_si_suffix[] = {
	"n", "u", "m", "", "k", "M", "G", "T", "P", "E",
};
static const char *const binary_si_suffix[] = {
	"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei",
};

/*
 * DecimalSI / DecimalExponent: the digits, then zeros until the exponent is
 * a multiple of 3 (lowering it), then the suffix. A DecimalSI exponent with
 * no suffix falls back to 'e' notation, as newer apimachinery does.
 */
static void render_decimal(const struct dec *x, enum quantity_format f, struct out *o)
{
	int64_t e = x->exp;
	int r = (int)(((e % 3) + 3) % 3);
	if (x->neg)
		out_put(o, "-", 1);
	out_put(o, x->d, (size_t)x->len);
	out_rep(o, '0', (uint64_t)r);
	e -= r;
	if (f == QF_DECIMAL_SI && e >= -9 && e <= 18) {
		out_puts(o, decimal_si_suffix[(e + 9) / 3]);
	} else if (e != 0) {
		char t[32];
		int k = snprintf(t, sizeof t, "e%lld", (long long)e);
		out_put(o, t, (size_t)k);
	}
}

/* Divides the digit string d (n digits) by 1024 into out; returns the remainder. */
static unsigned div1024(const char *d, int n, char *quot, int *qn)
{
	unsigned rem = 0;
	int k = 0;
	for (int i = 0; i < n; i++) {
		unsigned v = rem * 10 + (unsigned)(d[i] - '0');
		char digit = (char)('0' + v / 1024);
		rem = v % 1024;
		if (k > 0 || digit != '0')
			quot[k++] = digit;
	}
	*qn = k;
	return rem;
}

/*
 * BinarySI (AsCanonicalBase1024Bytes): an integer of magnitude >= 1024 with
 * its factors of 1024 moved into the suffix. Returns false when the value must
 * be written as DecimalSI instead: below 1024, not an integer, or (our
 * bound) more than QUANTITY_MAX_LEN integer digits.
 */
static bool render_binary(const struct dec *x, struct out *o)
{
	struct dec k1024;
	dec_set_u64(&k1024, 1024, 0, false);
	if (dec_cmp_abs(x, &k1024) < 0 || x->exp < 0)
		return false;
	if ((int64_t)x->len + x->exp > QUANTITY_MAX_LEN)
		return false;
	char a[QUANTITY_MAX_LEN], b[QUANTITY_MAX_LEN];
	int n = x->len + (int)x->exp;
	memcpy(a, x->d, (size_t)x->len);
	memset(a + x->len, '0', (size_t)x->exp);
	int power = 0;
	while (power < 6) {
		int bn;
		if (div1024(a, n, b, &bn) != 0)
			break;
		memcpy(a, b, (size_t)bn);
		n = bn;
		power++;
	}
	if (x->neg)
		out_put(o, "-", 1);
	out_put(o, a, (size_t)n);
	out_puts(o, binary_si_suffix[power]);
	return true;
}

static void render(const struct quantity *q, struct out *o)
{
	if (q->s_len > 0) {
		out_put(o, q->s, q->s_len);
		return;
	}
	struct dec x;
	qty_to_dec(q, &x);
	if (x.len == 0) {
		out_put(o, "0", 1);
		return;
	}
	enum quantity_format f = valid_format(q->format);
	if (f == QF_BINARY_SI) {
		if (render_binary(&x, o))
			return;
		f = QF_DECIMAL_SI;
	}
	render_decimal(&x, f, o);
}

size_t quantity_string(const struct quantity *q, char *buf, size_t n)
{
	struct out o;
	out_init(&o, buf, n);
	render(q, &o);
	return out_end(&o);
}

size_t quantity_marshal_json(const struct quantity *q, char *buf, size_t n)
{
	struct out o;
	out_init(&o, buf, n);
	out_put(&o, "\"", 1);
	render(q, &o);
	out_put(&o, "\"", 1);
	return out_end(&o);
}

size_t quantity_decimal_string(const struct quantity *q, char *buf, size_t n)
{
	struct dec x;
	struct out o;
	out_init(&o, buf, n);
	qty_to_dec(q, &x);
	if (x.len == 0) {
		out_put(&o, "0", 1);
		return out_end(&o);
	}
	if (x.neg)
		out_put(&o, "-", 1);
	if (x.exp >= 0) {
		out_put(&o, x.d, (size_t)x.len);
		out_rep(&o, '0', (uint64_t)x.exp);
		return out_end(&o);
	}
	int64_t point = x.len + x.exp;  /* digits before the point */
	if (point > 0) {
		out_put(&o, x.d, (size_t)point);
		out_put(&o, ".", 1);
		out_put(&o, x.d + point, (size_t)(x.len - point));
	} else {
		out_put(&o, "0.", 2);
		out_rep(&o, '0', (uint64_t)-point);
		out_put(&o, x.d, (size_t)x.len);
	}
	return out_end(&o);
}

size_t quantity_format_milli(int64_t milli, char *buf, size_t n)
{
	static const char *const suffix[] = { "m", "", "k", "M", "G", "T", "P" };
	char tmp[32];
	char *p = tmp + sizeof tmp;
	uint64_t mag = milli < 0 ? 0 - (uint64_t)milli : (uint64_t)milli;
	size_t len;

	if (mag == 0) {
		*--p = '0';
	} else {
		int k = 0;
		while (k < 6 && mag % 1000 == 0) {
			mag /= 1000;
			k++;
		}
		const char *sfx = suffix[k];
		size_t sl = strlen(sfx);
		p -= sl;
		memcpy(p, sfx, sl);
		while (mag > 0) {
			*--p = (char)('0' + mag % 10);
			mag /= 10;
		}
		if (milli < 0)
			*--p = '-';
	}
	len = (size_t)(tmp + sizeof tmp - p);
	if (buf && n > 0) {
		size_t c = len < n ? len : n - 1;
		memcpy(buf, p, c);
		buf[c] = '\0';
	}
	return len;
}

/* ------------------------------------------------------------------ */
/* Parsing (ParseQuantity, parseQuantityString, suffixer.interpret)     */

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_suffix_letter(char c)
{
	return c != '\0' && strchr("eEinumkKMGTP", c) != NULL;
}

/* The pieces parseQuantityString finds; all point into the input or a literal. */
struct scan {
	bool positive;
	const char *value, *num, *denom, *suffix;
	size_t value_len, num_len, denom_len, suffix_len;
};

/* Go's parseQuantityString. Returns 0 or -1 (ErrFormatWrong). */
static int scan_quantity(const char *s, size_t end, struct scan *sc)
{
	size_t pos = 0, i;

	memset(sc, 0, sizeof *sc);
	sc->positive = true;
	sc->denom = sc->suffix = s + end;
	if (pos < end) {
		if (s[0] == '-') {
			sc->positive = false;
			pos++;
		} else if (s[0] == '+') {
			pos++;
		}
	}
	while (pos < end && s[pos] == '0')
		pos++;
	if (pos >= end) {
		sc->num = sc->value = "0";
		sc->num_len = sc->value_len = 1;
		return 0;
	}
	for (i = pos; i < end && is_digit(s[i]); i++)
		;
	if (i >= end) {
		sc->num = s + pos;
		sc->num_len = end - pos;
		sc->value = s;
		sc->value_len = end;
		return 0;
	}
	sc->num = s + pos;
	sc->num_len = i - pos;
	pos = i;
	if (sc->num_len == 0) {
		sc->num = "0";
		sc->num_len = 1;
	}
	if (s[pos] == '.') {
		pos++;
		for (i = pos; i < end && is_digit(s[i]); i++)
			;
		sc->denom = s + pos;
		sc->denom_len = i - pos;
		if (i >= end) {
			sc->value = s;
			sc->value_len = end;
			return 0;
		}
		pos = i;
	}
	sc->value = s;
	sc->value_len = pos;

	size_t suffix_start = pos;
	for (i = pos; i < end && is_suffix_letter(s[i]); i++)
		;
	if (i < end) {
		pos = i;
		if (s[pos] == '-' || s[pos] == '+')
			pos++;
		for (i = pos; i < end && is_digit(s[i]); i++)
			;
		if (i < end)
			return -1;
	}
	sc->suffix = s + suffix_start;
	sc->suffix_len = end - suffix_start;
	return 0;
}

/* strconv.ParseInt(s, 10, 64). Returns 0 or -1. */
static int go_parse_int64(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0, limit;

	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i++;
	}
	if (i >= n)
		return -1;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (limit - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

struct suffix_entry {
	const char *name;
	int base;
	int exponent;
	enum quantity_format format;
};

static const struct suffix_entry suffixes[] = {
	{ "", 10, 0, QF_DECIMAL_SI },
	{ "n", 10, -9, QF_DECIMAL_SI },
	{ "u", 10, -6, QF_DECIMAL_SI },
	{ "m", 10, -3, QF_DECIMAL_SI },
	{ "k", 10, 3, QF_DECIMAL_SI },
	{ "M", 10, 6, QF_DECIMAL_SI },
	{ "G", 10, 9, QF_DECIMAL_SI },
	{ "T", 10, 12, QF_DECIMAL_SI },
	{ "P", 10, 15, QF_DECIMAL_SI },
	{ "E", 10, 18, QF_DECIMAL_SI },
	{ "Ki", 2, 10, QF_BINARY_SI },
	{ "Mi", 2, 20, QF_BINARY_SI },
	{ "Gi", 2, 30, QF_BINARY_SI },
	{ "Ti", 2, 40, QF_BINARY_SI },
	{ "Pi", 2, 50, QF_BINARY_SI },
	{ "Ei", 2, 60, QF_BINARY_SI },
};

/* suffixHandler.interpret. Returns 0, or -1 with the message to report. */
static int suffix_interpret(const char *s, size_t n, int *base, int64_t *exponent,
			    enum quantity_format *f, const char **msg)
{
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		if (strlen(suffixes[i].name) == n && memcmp(suffixes[i].name, s, n) == 0) {
			*base = suffixes[i].base;
			*exponent = suffixes[i].exponent;
			*f = suffixes[i].format;
			return 0;
		}
	}
	*msg = ERR_SUFFIX;
	if (n < 2 || (s[0] != 'e' && s[0] != 'E'))
		return -1;
	if (go_parse_int64(s + 1, n - 1, exponent))
		return -1;
	if (*exponent > SUFFIX_EXPONENT_MAX || *exponent < -SUFFIX_EXPONENT_MAX) {
		*msg = ERR_RANGE;
		return -1;
	}
	*base = 10;
	*f = QF_DECIMAL_EXPONENT;
	return 0;
}

/*
 * The fast path of ParseQuantity: at most 18 digits, a scale of at least
 * -9 and no overflow give an int64 form, reusing the input when it is
 * already canonical enough. Returns 1 when it applied, 0 to take the slow path.
 */
static int parse_fast(struct quantity *q, const char *s, size_t len, const struct scan *sc,
		      int64_t exponent, enum quantity_format f)
{
	int64_t precision, scale = 0, mantissa = 1;
	size_t digits = sc->num_len + sc->denom_len;

	if (f == QF_BINARY_SI) {
		if (sc->denom_len != 0)
			return 0;
		mantissa = (int64_t)1 << exponent;
		/* int32(float32(exponent)*3/10) is exact for 10, 20, ... 60 */
		precision = 15 - (int64_t)sc->num_len - exponent * 3 / 10 - 1;
	} else {
		scale = exponent;
		precision = 18 - (int64_t)digits;
	}
	if (precision < 0)
		return 0;
	scale -= (int64_t)sc->denom_len;
	if (scale < -9)
		return 0;

	char shifted[20];
	memcpy(shifted, sc->num, sc->num_len);
	memcpy(shifted + sc->num_len, sc->denom, sc->denom_len);
	int64_t value = 0;
	for (size_t i = 0; i < digits; i++)
		value = value * 10 + (shifted[i] - '0');
	if (value != 0 && mantissa > INT64_MAX / value)
		return 0;
	int64_t result = value * mantissa;
	if (!sc->positive)
		result = -result;

	bool reuse;
	if (f == QF_BINARY_SI)
		reuse = exponent % 10 == 0 && (value & 7) != 0;
	else
		reuse = scale % 3 == 0 && shifted[0] != '0' &&
			!(digits >= 3 && memcmp(shifted + digits - 3, "000", 3) == 0);
	qty_set_int64(q, result, (int32_t)scale, f);
	if (reuse) {
		memcpy(q->s, s, len);
		q->s_len = (uint16_t)len;
	}
	return 1;
}

/*
 * The slow path: inf.Dec SetString of the numeric part, the suffix applied,
 * non-zero values rounded up in magnitude to 1n, BinarySI capped at
 * 2^63-1 and turned into DecimalSI strictly between 0 and 1.
 */
static int parse_slow(struct quantity *q, const struct scan *sc, int base, int64_t exponent,
		      enum quantity_format f, const char **msg)
{
	struct dec x;
	size_t i = 0;
	int64_t frac = 0;
	bool seen_point = false, any_digit = false;

	x.len = 0;
	x.neg = false;
	if (sc->value_len > 0 && (sc->value[0] == '-' || sc->value[0] == '+')) {
		x.neg = sc->value[0] == '-';
		i++;
	}
	for (; i < sc->value_len; i++) {
		char c = sc->value[i];
		if (c == '.') {
			seen_point = true;
			continue;
		}
		any_digit = true;
		if (x.len == 0 && c == '0') {
			if (seen_point)
				frac++;
			continue;
		}
		x.d[x.len++] = c;
		if (seen_point)
			frac++;
	}
	if (!any_digit) {
		*msg = ERR_NUMERIC;
		return -1;
	}
	x.exp = -frac;
	int64_t go_scale = frac;
	if (base == 10) {
		x.exp += exponent;
		go_scale -= exponent;
	}
	dec_normalize(&x);
	if (base == 2) {
		for (int64_t k = 0; k < exponent / 10; k++)
			dec_mul_small(&x, 1024);  /* cannot overflow WORK_DIGITS */
	}
	if (x.len > 0) {
		dec_round_nano(&x);
		go_scale = NANO_SCALE;
	}
	if (f == QF_BINARY_SI) {
		struct dec max, one;
		dec_set_u64(&max, INT64_MAX, 0, false);
		dec_set_u64(&one, 1, 0, false);
		if (dec_cmp_abs(&x, &max) > 0) {
			bool neg = x.neg;
			x = max;
			x.neg = neg;
			go_scale = 0;
		}
		if (x.len > 0 && dec_cmp_abs(&x, &one) < 0)
			f = QF_DECIMAL_SI;
	}
	if (qty_set_dec(q, &x, go_scale, f)) {
		*msg = ERR_DIGITS;
		return -1;
	}
	return 0;
}

/*
 * Our limits on a parsed value: its exponent within QUANTITY_MAX_EXPONENT and
 * its canonical form short enough to be parsed again.
 */
static int check_limits(const struct quantity *q, const char **msg)
{
	struct dec x;
	qty_to_dec(q, &x);
	if (x.len > 0 && (x.exp > QUANTITY_MAX_EXPONENT || x.exp < -QUANTITY_MAX_EXPONENT)) {
		*msg = ERR_RANGE;
		return -1;
	}
	if (q->s_len == 0 && quantity_string(q, NULL, 0) > QUANTITY_MAX_LEN) {
		*msg = ERR_DIGITS;
		return -1;
	}
	return 0;
}

int quantity_parse(struct quantity *q, const char *s, size_t len, char *err, size_t errlen)
{
	struct scan sc;
	const char *msg = ERR_FORMAT;
	int base;
	int64_t exponent;
	enum quantity_format f;

	qty_clear(q, QF_DECIMAL_SI);
	if (len > QUANTITY_MAX_LEN) {
		msg = ERR_TOO_LONG;
		goto fail;
	}
	if (len == 0 || !s)
		goto fail;
	if (len == 1 && s[0] == '0') {
		q->s[0] = '0';
		q->s_len = 1;
		return 0;
	}
	if (scan_quantity(s, len, &sc))
		goto fail;
	if (suffix_interpret(sc.suffix, sc.suffix_len, &base, &exponent, &f, &msg))
		goto fail;
	if (!parse_fast(q, s, len, &sc, exponent, f) && parse_slow(q, &sc, base, exponent, f, &msg))
		goto fail;
	if (check_limits(q, &msg))
		goto fail;
	return 0;
fail:
	qty_clear(q, QF_DECIMAL_SI);
	set_err(err, errlen, msg);
	return -1;
}

/* ------------------------------------------------------------------ */
/* ScaledValue / MilliValue                                             */

/* int64MultiplyScale: a*b for b > 1, wrapping, with Go's overflow test. */
static int64_t mul_scale(int64_t a, int64_t b, bool *ok)
{
	*ok = true;
	if (a == 0 || a == 1)
		return a * b;
	if (a == INT64_MIN) {
		*ok = false;
		return 0;
	}
	int64_t c = (int64_t)((uint64_t)a * (uint64_t)b);
	*ok = c / b == a;
	return c;
}

/*
 * positiveScaleInt64 as at apimachinery@eed236ce: the scales 1, 2, 3, 6 and
 * 9 return the wrapped product on overflow, the others 0.
 */
static int64_t positive_scale_int64(int64_t base, int32_t scale)
{
	bool ok;
	switch (scale) {
	case 0:
		return base;
	case 1:
		return mul_scale(base, 10, &ok);
	case 2:
		return mul_scale(base, 100, &ok);
	case 3:
		return mul_scale(base, 1000, &ok);
	case 6:
		return mul_scale(base, 1000000, &ok);
	case 9:
		return mul_scale(base, 1000000000, &ok);
	default:
		if (base == 0 || scale < 0)
			return base;
		for (int32_t i = 0; i < scale; i++) {
			base = mul_scale(base, 10, &ok);
			if (!ok)
				return 0;  /* overflow happens within 19 steps */
		}
		return base;
	}
}

/* negativeScaleInt64: base / 10^scale rounded away from zero. */
static int64_t negative_scale_int64(int64_t base, int32_t scale)
{
	int64_t value = base;
	bool fraction = false;
	for (int32_t i = 0; i < scale; i++) {
		if (!fraction && value % 10 != 0)
			fraction = true;
		value /= 10;
		if (value == 0) {
			if (fraction)
				return base > 0 ? 1 : -1;
			return 0;  /* reached within 19 steps */
		}
	}
	if (fraction)
		value += base > 0 ? 1 : -1;
	return value;
}

/* (digits * 10^z) mod 2^64: the low word big.Int.Int64 reads. */
static uint64_t low64(const char *d, int n, int64_t z)
{
	uint64_t v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (uint64_t)(d[i] - '0');
	for (int64_t k = 0; k < z && k < 64; k++)
		v *= 10;  /* 10^64 is a multiple of 2^64 */
	return v;
}

/* digits * 10^z < MaxInt64? */
static bool below_max_int64(const char *d, int n, int64_t z)
{
	int64_t total = n + z;
	if (total != 19)
		return total < 19;
	for (int i = 0; i < 19; i++) {
		char c = i < n ? d[i] : '0';
		if (c != max_int64_digits[i])
			return c < max_int64_digits[i];
	}
	return false;
}

/* int64(math.Pow10(n)) on amd64: exact up to 10^18, then 0x8000000000000000. */
static uint64_t go_pow10_to_int64(int64_t n)
{
	if (n > 18)
		return (uint64_t)INT64_MIN;
	uint64_t p = 1;
	while (n-- > 0)
		p *= 10;
	return p;
}

/*
 * Go's scaledValue(unscaled, scale, newScale) with unscaled = digits *
 * 10^(d_exp + d_scale): wrapping big.Int.Int64 conversions, truncating
 * division with +1 on a remainder for anything below MaxInt64 (so negatives
 * round up), Euclidean division otherwise.
 */
static int64_t dec_scaled_value(const struct quantity *q, int64_t new_scale)
{
	if (q->d_len == 0)
		return 0;
	int64_t z = q->d_exp + q->d_scale;
	int64_t dif = q->d_scale - new_scale;
	uint64_t low = low64(q->digits, q->d_len, z);
	uint64_t u = q->d_neg ? 0 - low : low;

	if (dif == 0)
		return (int64_t)u;
	if (dif < 0)
		return (int64_t)(u * go_pow10_to_int64(-dif));
	if ((q->d_neg || below_max_int64(q->digits, q->d_len, z)) && dif < 19) {
		int64_t v = (int64_t)u;
		int64_t p = (int64_t)go_pow10_to_int64(dif);
		int64_t r = v / p;
		return v % p != 0 ? r + 1 : r;
	}
	int64_t net = z - dif;
	uint64_t quot;
	bool rem;
	if (net >= 0) {
		quot = low64(q->digits, q->d_len, net);
		rem = false;
	} else {
		int64_t keep = q->d_len + net;
		quot = keep > 0 ? low64(q->digits, (int)keep, 0) : 0;
		rem = true;  /* the digits have no trailing zeros */
	}
	if (q->d_neg)
		return (int64_t)(0 - quot);  /* floor(-x) + 1 when inexact == -trunc(x) */
	return (int64_t)(quot + (rem ? 1 : 0));
}

int64_t quantity_scaled_value(const struct quantity *q, int32_t scale)
{
	if (q->is_dec) {
		int64_t new_scale = scale == INT32_MIN ? INT32_MIN : -(int64_t)scale;
		return dec_scaled_value(q, new_scale);
	}
	/* int64Amount.AsScaledInt64, with Go's int32 Scale arithmetic */
	if (q->i_scale < scale)
		return negative_scale_int64(q->i_value, (int32_t)((uint32_t)scale - (uint32_t)q->i_scale));
	return positive_scale_int64(q->i_value, (int32_t)((uint32_t)q->i_scale - (uint32_t)scale));
}

int64_t quantity_milli_value(const struct quantity *q)
{
	return quantity_scaled_value(q, -3);
}

/* ------------------------------------------------------------------ */
/* AsApproximateFloat64                                                 */

static const double pow10tab[32] = {
	1e00, 1e01, 1e02, 1e03, 1e04, 1e05, 1e06, 1e07, 1e08, 1e09,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
	1e20, 1e21, 1e22, 1e23, 1e24, 1e25, 1e26, 1e27, 1e28, 1e29,
	1e30, 1e31,
};
static const double pow10postab32[10] = {
	1e00, 1e32, 1e64, 1e96, 1e128, 1e160, 1e192, 1e224, 1e256, 1e288,
};
static const double pow10negtab32[11] = {
	1e-00, 1e-32, 1e-64, 1e-96, 1e-128, 1e-160, 1e-192, 1e-224, 1e-256, 1e-288, 1e-320,
};

/* Go's math.Pow10, with its tables, so products round the same way. */
static double go_pow10(int64_t n)
{
	if (n >= 0 && n <= 308)
		return pow10postab32[n / 32] * pow10tab[n % 32];
	if (n < 0 && n >= -323)
		return pow10negtab32[-n / 32] / pow10tab[-n % 32];
	return n > 0 ? INFINITY : 0;
}

double quantity_to_double(const struct quantity *q)
{
	double base;
	int64_t exponent;

	if (!q->is_dec) {
		base = (double)q->i_value;
		exponent = q->i_scale;
	} else {
		/* big.Float(unscaled).Float64(): nearest even, as strtod rounds */
		if (q->d_len == 0) {
			base = 0;
		} else {
			char t[QUANTITY_MAX_LEN + 32];
			snprintf(t, sizeof t, "%.*se%lld", (int)q->d_len, q->digits,
				 (long long)(q->d_exp + q->d_scale));
			base = strtod(t, NULL);
			if (q->d_neg)
				base = -base;
		}
		exponent = -q->d_scale;
	}
	if (exponent == 0)
		return base;
	return base * go_pow10(exponent);
}

/* ------------------------------------------------------------------ */
/* Comparison and construction from a double                           */

int quantity_cmp(const struct quantity *a, const struct quantity *b)
{
	struct dec x, y;
	qty_to_dec(a, &x);
	qty_to_dec(b, &y);
	int sx = x.len == 0 ? 0 : x.neg ? -1 : 1;
	int sy = y.len == 0 ? 0 : y.neg ? -1 : 1;
	if (sx != sy)
		return sx < sy ? -1 : 1;
	int c = dec_cmp_abs(&x, &y);
	return sx < 0 ? -c : c;
}

/* |v| * 1000 rounded half away from zero, exactly, for |v| < 2^63/1000. */
static uint64_t milli_round(double av)
{
	int e2;
	double f = frexp(av, &e2);              /* av = f * 2^e2, 0.5 <= f < 1 */
	uint64_t m = (uint64_t)ldexp(f, 53);    /* exact: av = m * 2^(e2-53) */
	uint64_t p = m * 1000;                  /* < 2^63 */
	int sh = 53 - e2;
	if (sh <= 0)
		return p << -sh;                /* av < 2^54, so sh >= -1 */
	if (sh >= 64)
		return 0;
	uint64_t quot = p >> sh;
	uint64_t rem = p & (((uint64_t)1 << sh) - 1);
	return quot + (rem >= (uint64_t)1 << (sh - 1) ? 1 : 0);
}

int quantity_from_double(struct quantity *q, double v)
{
	qty_clear(q, QF_DECIMAL_SI);
	if (!isfinite(v))
		return -1;
	double av = fabs(v);
	if (av < 9223372036854776.0) {
		uint64_t m = milli_round(av);
		quantity_from_milli(q, v < 0 ? -(int64_t)m : (int64_t)m);
		return 0;
	}
	/* an integer: keep its shortest round-trip decimal (at most 17 digits) */
	char t[64];
	int prec;
	for (prec = 1; prec < 17; prec++) {
		snprintf(t, sizeof t, "%.*e", prec - 1, av);
		if (strtod(t, NULL) == av)
			break;
	}
	snprintf(t, sizeof t, "%.*e", prec - 1, av);
	int64_t mant = 0;
	int ndig = 0;
	const char *p = t;
	for (; *p && *p != 'e'; p++) {
		if (is_digit(*p)) {
			mant = mant * 10 + (*p - '0');
			ndig++;
		}
	}
	long e10 = *p == 'e' ? strtol(p + 1, NULL, 10) : 0;
	qty_set_int64(q, v < 0 ? -mant : mant, (int32_t)(e10 - (ndig - 1)), QF_DECIMAL_SI);
	return 0;
}

/* ------------------------------------------------------------------ */
/* JSON                                                                 */

static bool json_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool json_number(const char *s, size_t n)
{
	size_t i = 0;
	if (i < n && s[i] == '-')
		i++;
	if (i >= n || !is_digit(s[i]))
		return false;
	if (s[i] == '0') {
		i++;
	} else {
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && s[i] == '.') {
		i++;
		if (i >= n || !is_digit(s[i]))
			return false;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !is_digit(s[i]))
			return false;
		while (i < n && is_digit(s[i]))
			i++;
	}
	return i == n;
}

/* Length of the Unicode white space (unicode.IsSpace) starting at s, or 0. */
static size_t space_at(const unsigned char *s, size_t n)
{
	if (n >= 1 && (s[0] == ' ' || (s[0] >= '\t' && s[0] <= '\r')))
		return 1;
	if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (n >= 3 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
		return 3;                                        /* U+1680 */
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 &&
	    (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
		return s[2] >= 0x80 ? 3 : 0;                    /* U+2000-200A, 2028, 2029, 202F */
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
		return 3;                                        /* U+205F */
	if (n >= 3 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
		return 3;                                        /* U+3000 */
	return 0;
}

/* strings.TrimSpace on [*start, *end). */
static void go_trim_space(const char *s, size_t *start, size_t *end)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t k;
	while (*start < *end) {
		k = space_at(u + *start, *end - *start);
		if (k == 0)
			break;
		*start += k;
	}
	while (*end > *start) {
		size_t back = *end - *start < 3 ? *end - *start : 3;
		size_t found = 0;
		for (size_t b = 1; b <= back && !found; b++) {
			if (space_at(u + *end - b, b) == b)
				found = b;
		}
		if (!found)
			break;
		*end -= found;
	}
}

int quantity_unmarshal_json(struct quantity *q, const char *json, size_t len, char *err, size_t errlen)
{
	size_t a = 0, b = len;

	qty_clear(q, QF_DECIMAL_SI);
	if (!json)
		b = 0;
	while (a < b && json_ws(json[a]))
		a++;
	while (b > a && json_ws(json[b - 1]))
		b--;
	if (a == b)
		goto invalid;
	const char *v = json + a;
	size_t n = b - a;
	if (n == 4 && memcmp(v, "null", 4) == 0)
		return 0;
	if (v[0] == '"') {
		if (n < 2 || v[n - 1] != '"')
			goto invalid;
		for (size_t i = 1; i < n - 1; i++) {
			unsigned char c = (unsigned char)v[i];
			if (c < 0x20 || c == '"')
				goto invalid;
			if (c == '\\')
				i++;  /* the escaped byte; a trailing one escapes the quote */
		}
		if (v[n - 2] == '\\') {
			size_t k = 0;
			for (size_t i = n - 2; i > 0 && v[i] == '\\'; i--)
				k++;
			if (k % 2 == 1)
				goto invalid;
		}
		size_t start = 1, end = n - 1;
		go_trim_space(v, &start, &end);
		return quantity_parse(q, v + start, end - start, err, errlen);
	}
	if (json_number(v, n))
		return quantity_parse(q, v, n, err, errlen);
	if ((n == 4 && memcmp(v, "true", 4) == 0) || (n == 5 && memcmp(v, "false", 5) == 0)) {
		set_err(err, errlen, ERR_FORMAT);
		return -1;
	}
invalid:
	set_err(err, errlen, ERR_JSON);
	return -1;
}
