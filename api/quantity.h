/*
 * quantity.h — Kubernetes resource.Quantity (kubernetes/apimachinery
 * pkg/api/resource; K8S-WIRE.md §4): parse, canonical String(), MilliValue,
 * ScaledValue, AsApproximateFloat64, Cmp and the JSON form.
 *
 * A struct quantity is a plain value: no function allocates, it may live on
 * the stack and be copied with `=`. A zeroed struct is the quantity 0
 * (DecimalSI). Like Go's Quantity it keeps one of two representations and
 * the results of MilliValue/ScaledValue/AsApproximateFloat64 depend on which,
 * exactly as in Go:
 *   - an int64 mantissa and a base-10 scale (Go's int64Amount): what the fast
 *     parse path and quantity_from_milli/quantity_from_double build;
 *   - a bounded big decimal (Go's inf.Dec): what the slow parse path (more
 *     than 18 digits, finer than 1n, binary fractions) and quantity_from_int
 *     build.
 * It also keeps the input of a parse when Go would reuse it as String().
 *
 * All functions are pure and re-entrant: any thread, no shared state.
 * Output functions are snprintf-style: they write at most n-1 bytes and a
 * NUL when n > 0 (buf may be NULL when n is 0) and return the length of the
 * whole text, so a return value >= n means it was truncated.
 */
#ifndef SW_QUANTITY_H
#define SW_QUANTITY_H

#include <stddef.h>
#include <stdint.h>

/* Longest input quantity_parse accepts, in bytes. */
#define QUANTITY_MAX_LEN 256
/* A buffer this size holds any quantity_string() result, NUL included. */
#define QUANTITY_STRING_MAX 288
/*
 * Largest exponent, in magnitude, of the last significant digit of a value
 * quantity_parse accepts ("1e1000000000" is accepted, "100e999999999" is
 * not). Go keeps exponents in an int32 and wraps (or hangs building huge
 * integers) near its limits; we refuse instead.
 */
#define QUANTITY_MAX_EXPONENT 1000000000

enum quantity_format {
	QF_DECIMAL_SI,       /* 12M  = 12 * 10^6 */
	QF_BINARY_SI,        /* 12Mi = 12 * 2^20 */
	QF_DECIMAL_EXPONENT, /* 12e6 */
};

/* Treat the members as private: read a quantity through the functions below. */
struct quantity {
	int64_t i_value;     /* int64 form: value = i_value * 10^i_scale */
	int64_t d_exp;       /* decimal form: |value| = digits * 10^d_exp */
	int64_t d_scale;     /* decimal form: Go's inf.Dec scale (unscaled = value * 10^d_scale) */
	int32_t i_scale;
	uint16_t d_len;      /* digit count; 0 means the value is zero */
	uint16_t s_len;      /* length of the reused input, 0 = none */
	uint8_t is_dec;      /* which form is in use */
	uint8_t d_neg;
	uint8_t format;      /* enum quantity_format */
	char digits[QUANTITY_MAX_LEN];  /* ASCII, no leading or trailing zeros */
	char s[QUANTITY_MAX_LEN];       /* reused input, not NUL-terminated */
};

/*
 * Parses s (len bytes; any bytes, a NUL is just an invalid character) as Go's
 * ParseQuantity does and fills q. Returns 0, or -1 with q set to zero and
 * Go's message in err (snprintf-style; err may be NULL when errlen is 0):
 *   "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
 *   "unable to parse quantity's suffix"
 *   "unable to parse numeric part of quantity"
 * plus our own limits: "quantity is longer than 256 bytes", "quantity's
 * exponent is out of range" (beyond QUANTITY_MAX_EXPONENT) and "quantity has
 * too many digits" (its canonical form would be longer than 256 bytes, so it
 * could not be read back). The message does not repeat the input; the caller
 * names the subject. Go's quirks are kept: "+", "-", "." and a bare suffix
 * such as "Ki" parse as 0; leading and trailing whitespace is an error.
 */
int quantity_parse(struct quantity *q, const char *s, size_t len, char *err, size_t errlen);

/*
 * The canonical String() of q (CanonicalizeBytes), or the parsed input when
 * Go would reuse it ("+1Ki", "1.G"). Zero is "0", never "-0". One departure
 * from Go at kubernetes/apimachinery@eed236ce: a DecimalSI value whose
 * exponent has no suffix (beyond E or below n) is written with an 'e'
 * exponent ("1e21") as newer apimachinery does, not with its suffix dropped.
 * Two more where Go prints a wrong value: a BinarySI value beyond Ei keeps
 * "Ei" with a larger mantissa, and one with more than 256 integer digits is
 * written as DecimalSI. Neither can come from quantity_parse.
 */
size_t quantity_string(const struct quantity *q, char *buf, size_t n);

/* The format q was parsed or built with. */
enum quantity_format quantity_get_format(const struct quantity *q);

/*
 * q = value * 10^scale in format f, held in the decimal form like Go's
 * NewDecimalQuantity(*inf.NewDec(value, -scale), f) (the test helper
 * decQuantity): MilliValue of a negative value rounds as Go's inf.Dec path
 * does (see quantity_milli_value). A format other than the three names
 * behaves, and reads back, as QF_DECIMAL_EXPONENT.
 */
void quantity_from_int(struct quantity *q, int64_t value, int32_t scale, enum quantity_format f);

/* q = milli / 1000, DecimalSI, int64 form (Go's NewMilliQuantity). */
void quantity_from_milli(struct quantity *q, int64_t milli);

/*
 * q = v, DecimalSI, for serving metric values. Returns -1 (q set to zero) for
 * NaN and ±Inf. When |v|*1000 rounded fits an int64, q holds v rounded to the
 * nearest milli-unit, half away from zero, computed on the exact binary value
 * of v (so 0.0015 -> "2m", 1e-4 -> "0", -1e-4 -> "0"). Otherwise v is an
 * integer and q holds the shortest decimal that reads back as the same double
 * (2^63 -> "9223372036854776k", 1e300 -> "1e300").
 */
int quantity_from_double(struct quantity *q, double v);

/*
 * The canonical DecimalSI string of milli/1000 without building a quantity:
 * 1500 -> "1500m", 2000 -> "2", 1000000 -> "1k", -2500 -> "-2500m", 0 -> "0",
 * INT64_MIN -> "-9223372036854775808m". Equal to quantity_from_milli +
 * quantity_string; at most 22 bytes with the NUL. For hot paths.
 */
size_t quantity_format_milli(int64_t milli, char *buf, size_t n);

/*
 * Go's MilliValue() = ScaledValue(-3): ceil(q*1000) with Go's rounding and
 * overflow. int64 form: fractions round away from zero ("-0.0005" -> -1).
 * Decimal form: truncation +1 when there is a remainder, so negatives round
 * up ("-3.001n" -> 1), and a negative value whose unscaled nano count does not
 * fit an int64 gives Go's wrapped result. Overflow wraps silently: check the
 * magnitude with quantity_cmp first when it matters.
 */
int64_t quantity_milli_value(const struct quantity *q);

/* Go's ScaledValue(scale): q / 10^scale rounded as quantity_milli_value says. */
int64_t quantity_scaled_value(const struct quantity *q, int32_t scale);

/*
 * Go's AsApproximateFloat64: mantissa as a double times math.Pow10(exponent),
 * with the same roundings; ±Inf beyond the double range (and NaN for a zero
 * with a huge exponent, as in Go).
 */
double quantity_to_double(const struct quantity *q);

/* -1, 0 or 1 as a < b, a == b, a > b, comparing exact values (format ignored). */
int quantity_cmp(const struct quantity *a, const struct quantity *b);

/*
 * The exact value as a plain decimal: optional '-', integer digits, and a '.'
 * with fraction digits only when there is a fraction ("-0.000000004",
 * "1073741824", "0"). No rounding, no suffix, so it may be very long for a
 * large exponent; snprintf-style.
 */
size_t quantity_decimal_string(const struct quantity *q, char *buf, size_t n);

/* Go's MarshalJSON: String() in double quotes, e.g. "\"1Mi\"". */
size_t quantity_marshal_json(const struct quantity *q, char *buf, size_t n);

/*
 * Decodes the JSON text json (len bytes) into q as encoding/json with
 * Quantity.UnmarshalJSON does: surrounding JSON whitespace is skipped; null
 * gives zero (DecimalSI); a string has its quotes stripped (no unescaping),
 * then Unicode whitespace trimmed (strings.TrimSpace) and is parsed; a bare
 * JSON number is parsed as written ("1e3" is DecimalExponent). Returns 0, or
 * -1 with q set to zero and a message in err: quantity_parse's, or
 * "invalid JSON for a quantity" for text encoding/json would refuse.
 */
int quantity_unmarshal_json(struct quantity *q, const char *json, size_t len, char *err, size_t errlen);

#endif
