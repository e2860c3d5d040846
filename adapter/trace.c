/*
 * trace.c — reading recorded series (trace.h says what is accepted).
 *
 * The JSON reader is a small recursive-descent parser that knows the shape
 * of a range-query answer and keeps only timestamps, values and labels, so a
 * large answer costs 16 bytes a point instead of a cJSON tree of ~250, and
 * every error can name its line.
 */
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "quantity.h"

/* 9999-12-31T23:59:59.999Z + 1 ms, in ms */
#define TIME_END_MS INT64_C(253402300800000)
#define STR_MAX 4096      /* longest JSON string kept (label names and values) */
#define JSON_DEPTH 64     /* nesting skipped values may have */

void trace_init(struct trace *t)
{
	memset(t, 0, sizeof *t);
}

void trace_release(struct trace *t)
{
	free(t->ts_ms);
	free(t->v);
	trace_init(t);
}

size_t trace_index_at(const struct trace *t, int64_t t_ms)
{
	if (t->n == 0 || t_ms < t->ts_ms[0])
		return (size_t)-1;
	size_t lo = 0, hi = t->n;   /* answer in [lo, hi) */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->ts_ms[mid] <= t_ms)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* ======================================================================== */
/* Times                                                                    */
/* ======================================================================== */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Reads exactly n digits at s into *out. */
static bool digits(const char *s, size_t n, int64_t *out)
{
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int parse_rfc3339(const char *s, size_t n, int64_t *ms)
{
	int64_t y, mo, d, h, mi, sec, frac = 0, off = 0;
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

	if (n < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
	    !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
	    !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
		return -1;
	if (d > mdays[mo - 1] + (mo == 2 && is_leap(y)))
		return -1;
	size_t i = 19;
	if (i < n && s[i] == '.') {
		size_t nd = 0;
		i++;
		int round_digit = 0;
		while (i < n && s[i] >= '0' && s[i] <= '9') {
			if (nd < 3)
				frac = frac * 10 + (s[i] - '0');
			else if (nd == 3)
				round_digit = s[i] - '0';
			nd++;
			i++;
		}
		if (nd == 0)
			return -1;
		for (size_t k = nd; k < 3; k++)
			frac *= 10;
		if (round_digit >= 5)
			frac++;
	}
	if (i >= n)
		return -1;
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
		off = 0;
	} else if ((s[i] == '+' || s[i] == '-') && i + 6 == n && s[i + 3] == ':') {
		int64_t oh, om;
		if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		off = (oh * 60 + om) * 60;
		if (s[i] == '-')
			off = -off;
	} else {
		return -1;
	}
	int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
	int64_t v = secs * 1000 + frac;
	if (v < 0 || v >= TIME_END_MS)
		return -1;
	*ms = v;
	return 0;
}

int trace_parse_time(const char *s, size_t n, int64_t *ms)
{
	char tmp[64];

	if (n == 0)
		return -1;
	if (n >= 10 && s[4] == '-')
		return parse_rfc3339(s, n, ms);
	if (n >= sizeof tmp)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'))
			return -1;
	}
	memcpy(tmp, s, n);
	tmp[n] = 0;
	char *end;
	errno = 0;
	double x = strtod(tmp, &end);
	if (end != tmp + n || errno || !isfinite(x) || x < 0)
		return -1;
	double v = round(x * 1000.0);
	if (v >= (double)TIME_END_MS)
		return -1;
	*ms = (int64_t)v;
	return 0;
}

size_t trace_format_time(int64_t t_ms, char *buf, size_t n)
{
	int64_t s = t_ms >= 0 ? t_ms / 1000 : -((-t_ms + 999) / 1000);
	int ms = (int)(t_ms - s * 1000);
	time_t tt = (time_t)s;
	struct tm tm;
	int r;

	if (!gmtime_r(&tt, &tm))
		r = snprintf(buf, n, "@%lldms", (long long)t_ms);
	else if (ms)
		r = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
	else
		r = snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
			     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	return r < 0 ? 0 : (size_t)r;
}

/* ======================================================================== */
/* Shared parsing helpers                                                   */
/* ======================================================================== */

/* A short printable rendering of s for messages: at most 40 bytes, others as '?'. */
static void shown(const char *s, size_t n, char *out, size_t outn)
{
	size_t k = 0, lim = n > 40 ? 40 : n;
	for (size_t i = 0; i < lim && k + 4 < outn; i++) {
		unsigned char c = (unsigned char)s[i];
		out[k++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (n > lim && k + 4 < outn) {
		memcpy(out + k, "...", 3);
		k += 3;
	}
	out[k] = 0;
}

/*
 * A value: a plain number (strtod, whole field) or a Kubernetes quantity.
 * Returns 0, or -1 with why filled ("is not a number", "value is NaN").
 */
static int parse_value(const char *s, size_t n, double *out, char *why, size_t whyn)
{
	char tmp[QUANTITY_MAX_LEN + 1], sh[64];

	shown(s, n, sh, sizeof sh);
	if (n == 0) {
		snprintf(why, whyn, "empty value");
		return -1;
	}
	if (n >= sizeof tmp) {
		snprintf(why, whyn, "'%s' is not a number", sh);
		return -1;
	}
	memcpy(tmp, s, n);
	tmp[n] = 0;
	char *end;
	double x = strtod(tmp, &end);
	if (end == tmp + n && memchr(tmp, 'x', n) == NULL && memchr(tmp, 'X', n) == NULL) {
		if (isnan(x)) {
			snprintf(why, whyn, "value is NaN");
			return -1;
		}
		if (isinf(x)) {
			snprintf(why, whyn, "value '%s' is not finite", sh);
			return -1;
		}
		*out = x;
		return 0;
	}
	struct quantity q;
	if (quantity_parse(&q, tmp, n, NULL, 0) == 0) {
		x = quantity_to_double(&q);
		if (isfinite(x)) {
			*out = x;
			return 0;
		}
	}
	snprintf(why, whyn, "'%s' is not a number", sh);
	return -1;
}

/* Growable point arrays with a cap. */
struct pts {
	int64_t *ts;
	double *v;
	size_t n, cap, max;
};

static int pts_push(struct pts *p, int64_t ts, double v)
{
	if (p->n >= p->max)
		return -1;
	if (p->n == p->cap) {
		size_t nc = p->cap ? p->cap * 2 : 1024;
		if (nc > p->max)
			nc = p->max;
		int64_t *nt = realloc(p->ts, nc * sizeof *nt);
		if (!nt)
			return -2;
		p->ts = nt;
		double *nv = realloc(p->v, nc * sizeof *nv);
		if (!nv)
			return -2;
		p->v = nv;
		p->cap = nc;
	}
	p->ts[p->n] = ts;
	p->v[p->n] = v;
	p->n++;
	return 0;
}

static void pts_release(struct pts *p)
{
	free(p->ts);
	free(p->v);
	memset(p, 0, sizeof *p);
}

static void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void time_shown(int64_t ms, char *buf, size_t n)
{
	trace_format_time(ms, buf, n);
}

/* ======================================================================== */
/* CSV                                                                      */
/* ======================================================================== */

/* Strips spaces and tabs around s; with quotes also one pair of double quotes. */
static void trim(const char **s, size_t *n, bool quotes)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
	if (quotes && *n >= 2 && (*s)[0] == '"' && (*s)[*n - 1] == '"') {
		(*s)++;
		*n -= 2;
	}
}

static int parse_csv(const char *text, size_t len, const char *name, const char *series,
		     struct pts *out, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	size_t line = 0, prev_line = 0;
	bool header_allowed = true;
	char why[160], sh[64], t1[40], t2[40];

	if (series && *series && strcmp(series, "0")) {
		errf(err, errlen, "'%s': a CSV file holds one series; series '%s' cannot be chosen", name, series);
		return -1;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *s = p;
		size_t n = (size_t)(le - p);
		p = nl ? nl + 1 : end;
		line++;
		if (n && s[n - 1] == '\r')
			n--;
		if (n > TRACE_MAX_LINE) {
			errf(err, errlen, "'%s' line %zu: longer than %u bytes", name, line, TRACE_MAX_LINE);
			return -1;
		}
		trim(&s, &n, false);
		if (n == 0 || s[0] == '#')
			continue;
		const char *comma = memchr(s, ',', n);
		size_t fields = 1;
		for (size_t i = 0; i < n; i++)
			fields += s[i] == ',';
		const char *f1 = s, *f2 = comma ? comma + 1 : s + n;
		size_t n1 = comma ? (size_t)(comma - s) : n, n2 = comma ? (size_t)(s + n - f2) : 0;
		trim(&f1, &n1, true);
		trim(&f2, &n2, true);
		int64_t ts;
		if (trace_parse_time(f1, n1, &ts)) {
			if (header_allowed) {
				header_allowed = false;
				continue;
			}
			shown(f1, n1, sh, sizeof sh);
			errf(err, errlen, "'%s' line %zu: '%s' is not a time (Unix seconds or RFC 3339)", name, line,
			     sh);
			return -1;
		}
		header_allowed = false;
		if (fields != 2) {
			errf(err, errlen, "'%s' line %zu: expected 2 fields (timestamp,value), found %zu", name, line,
			     fields);
			return -1;
		}
		double v;
		if (parse_value(f2, n2, &v, why, sizeof why)) {
			errf(err, errlen, "'%s' line %zu: %s", name, line, why);
			return -1;
		}
		if (out->n && ts <= out->ts[out->n - 1]) {
			time_shown(ts, t1, sizeof t1);
			if (ts == out->ts[out->n - 1]) {
				errf(err, errlen, "'%s' line %zu: duplicate timestamp %s (also on line %zu)", name, line, t1,
				     prev_line);
			} else {
				time_shown(out->ts[out->n - 1], t2, sizeof t2);
				errf(err, errlen,
				     "'%s' line %zu: timestamp %s is before %s on line %zu: the file must be sorted by time",
				     name, line, t1, t2, prev_line);
			}
			return -1;
		}
		int rc = pts_push(out, ts, v);
		if (rc == -1) {
			errf(err, errlen, "'%s' line %zu: more than %zu points", name, line, out->max);
			return -1;
		}
		if (rc) {
			errf(err, errlen, "'%s': out of memory", name);
			return -1;
		}
		prev_line = line;
	}
	if (out->n == 0) {
		errf(err, errlen, "'%s': no points (expected lines of timestamp,value)", name);
		return -1;
	}
	return 0;
}

/* ======================================================================== */
/* Prometheus range-query JSON                                              */
/* ======================================================================== */

struct slabel {
	char *name, *value;
};

struct pseries {
	size_t first, count;       /* points in the shared arrays */
	size_t line;               /* where the series object starts */
	size_t nlabels;
	struct slabel *labels;     /* sorted by name after parsing */
};

struct jp {
	const char *p, *end;
	size_t line;
	const char *name;
	char *err;
	size_t errlen;
	bool failed;
	struct pts *pts;
	struct pseries *series;
	size_t nseries, capseries;
	char status[32], error_type[64], error[512];
	bool has_status, has_data, has_result_type, has_result;
	char result_type[32];
};

static int jfail(struct jp *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int jfail(struct jp *j, const char *fmt, ...)
{
	char msg[600];
	va_list ap;
	if (j->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	errf(j->err, j->errlen, "'%s' line %zu: %s", j->name, j->line, msg);
	j->failed = true;
	return -1;
}

static void jws(struct jp *j)
{
	while (j->p < j->end) {
		char c = *j->p;
		if (c == '\n')
			j->line++;
		else if (c != ' ' && c != '\t' && c != '\r')
			return;
		j->p++;
	}
}

/* Consumes c after white space, or fails naming what was expected. */
static int jexpect(struct jp *j, char c, const char *what)
{
	jws(j);
	if (j->p >= j->end)
		return jfail(j, "unexpected end of file, expected %s", what);
	if (*j->p != c) {
		char sh[64];
		shown(j->p, (size_t)(j->end - j->p) > 12 ? 12 : (size_t)(j->end - j->p), sh, sizeof sh);
		return jfail(j, "expected %s, found '%s'", what, sh);
	}
	j->p++;
	return 0;
}

/* True (and consumed) when the next non-blank byte is c. */
static bool jpeek(struct jp *j, char c)
{
	jws(j);
	if (j->p < j->end && *j->p == c) {
		j->p++;
		return true;
	}
	return false;
}

static void put_utf8(char *out, size_t *k, size_t cap, unsigned cp)
{
	unsigned char b[4];
	size_t n;
	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | cp >> 6);
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | cp >> 12);
		b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | cp >> 18);
		b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	for (size_t i = 0; i < n && *k + 1 < cap; i++)
		out[(*k)++] = (char)b[i];
}

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/*
 * A JSON string, decoded into out (cap bytes with the NUL; out NULL: skipped).
 * *n gets the decoded length. Strings longer than STR_MAX are refused.
 */
static int jstring(struct jp *j, char *out, size_t cap, size_t *n)
{
	size_t k = 0, raw = 0;
	if (jexpect(j, '"', "a string"))
		return -1;
	while (j->p < j->end) {
		unsigned char c = (unsigned char)*j->p++;
		if (++raw > STR_MAX)
			return jfail(j, "string longer than %d bytes", STR_MAX);
		if (c == '"') {
			if (out)
				out[k < cap ? k : cap - 1] = 0;
			if (n)
				*n = k;
			return 0;
		}
		if (c < 0x20)
			return jfail(j, "control character in a string");
		if (c != '\\') {
			if (out && k + 1 < cap)
				out[k] = (char)c;
			k++;
			continue;
		}
		if (j->p >= j->end)
			break;
		char e = *j->p++;
		unsigned cp;
		switch (e) {
		case '"': case '\\': case '/': cp = (unsigned char)e; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (j->end - j->p < 4 || hex4(j->p, &cp))
				return jfail(j, "bad \\u escape in a string");
			j->p += 4;
			if (cp >= 0xd800 && cp < 0xdc00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u') {
				unsigned lo;
				if (hex4(j->p + 2, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
					j->p += 6;
				}
			}
			if (cp >= 0xd800 && cp < 0xe000)
				cp = 0xfffd;
			break;
		default:
			return jfail(j, "bad escape '\\%c' in a string", e >= 0x20 && e < 0x7f ? e : '?');
		}
		if (out) {
			size_t before = k;
			put_utf8(out, &k, cap, cp);
			if (k == before)
				k++;
		} else {
			k += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
		}
	}
	return jfail(j, "unterminated string");
}

/* The span of a JSON number (validated against the grammar). */
static int jnumber_span(struct jp *j, const char **s, size_t *n)
{
	jws(j);
	const char *p = j->p, *e = j->end;
	const char *start = p;
	if (p < e && *p == '-')
		p++;
	if (p >= e || *p < '0' || *p > '9')
		return jfail(j, "expected a number");
	if (*p == '0')
		p++;
	else
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	if (p < e && *p == '.') {
		p++;
		if (p >= e || *p < '0' || *p > '9')
			return jfail(j, "bad number");
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < e && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < e && (*p == '+' || *p == '-'))
			p++;
		if (p >= e || *p < '0' || *p > '9')
			return jfail(j, "bad number");
		while (p < e && *p >= '0' && *p <= '9')
			p++;
	}
	*s = start;
	*n = (size_t)(p - start);
	j->p = p;
	return 0;
}

/* Skips any JSON value. */
static int jskip(struct jp *j, int depth)
{
	if (depth > JSON_DEPTH)
		return jfail(j, "nested deeper than %d levels", JSON_DEPTH);
	jws(j);
	if (j->p >= j->end)
		return jfail(j, "unexpected end of file");
	char c = *j->p;
	if (c == '"')
		return jstring(j, NULL, 0, NULL);
	if (c == '{') {
		j->p++;
		if (jpeek(j, '}'))
			return 0;
		do {
			if (jstring(j, NULL, 0, NULL) || jexpect(j, ':', "':'") || jskip(j, depth + 1))
				return -1;
		} while (jpeek(j, ','));
		return jexpect(j, '}', "',' or '}'");
	}
	if (c == '[') {
		j->p++;
		if (jpeek(j, ']'))
			return 0;
		do {
			if (jskip(j, depth + 1))
				return -1;
		} while (jpeek(j, ','));
		return jexpect(j, ']', "',' or ']'");
	}
	static const char *const lits[] = { "true", "false", "null" };
	for (size_t i = 0; i < 3; i++) {
		size_t l = strlen(lits[i]);
		if ((size_t)(j->end - j->p) >= l && !memcmp(j->p, lits[i], l)) {
			j->p += l;
			return 0;
		}
	}
	const char *s;
	size_t n;
	return jnumber_span(j, &s, &n);
}

static void series_free(struct pseries *s)
{
	for (size_t i = 0; i < s->nlabels; i++) {
		free(s->labels[i].name);
		free(s->labels[i].value);
	}
	free(s->labels);
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct slabel *)a)->name, ((const struct slabel *)b)->name);
}

/* "metric": {"k": "v", ...} */
static int jmetric(struct jp *j, struct pseries *s)
{
	char name[STR_MAX + 1], value[STR_MAX + 1];
	if (s->labels)
		return jfail(j, "series has two 'metric' objects");
	if (jexpect(j, '{', "'{' (the series' labels)"))
		return -1;
	s->labels = calloc(TRACE_MAX_LABELS, sizeof *s->labels);
	if (!s->labels)
		return jfail(j, "out of memory");
	if (jpeek(j, '}'))
		return 0;
	do {
		if (jstring(j, name, sizeof name, NULL) || jexpect(j, ':', "':'") ||
		    jstring(j, value, sizeof value, NULL))
			return -1;
		if (s->nlabels >= TRACE_MAX_LABELS)
			return jfail(j, "series has more than %u labels", TRACE_MAX_LABELS);
		for (size_t i = 0; i < s->nlabels; i++)
			if (!strcmp(s->labels[i].name, name))
				return jfail(j, "label '%s' given twice", name);
		struct slabel *l = &s->labels[s->nlabels];
		l->name = strdup(name);
		l->value = strdup(value);
		s->nlabels++;
		if (!l->name || !l->value)
			return jfail(j, "out of memory");
	} while (jpeek(j, ','));
	if (jexpect(j, '}', "',' or '}'"))
		return -1;
	qsort(s->labels, s->nlabels, sizeof *s->labels, label_cmp);
	return 0;
}

/* "values": [[ts, "v"], ...] */
static int jvalues(struct jp *j, struct pseries *s, size_t sidx)
{
	char why[160], t1[40], t2[40];
	size_t prev_line = 0;
	if (s->count)
		return jfail(j, "series has two 'values' arrays");
	s->first = j->pts->n;
	if (jexpect(j, '[', "'[' (the series' values)"))
		return -1;
	if (jpeek(j, ']'))
		return 0;
	do {
		const char *ns, *vs;
		size_t nn, vn;
		char vbuf[STR_MAX + 1];
		size_t idx = s->count;
		if (jexpect(j, '[', "'[' (a [timestamp, \"value\"] pair)"))
			return -1;
		jws(j);
		if (j->p < j->end && *j->p == '"')
			return jfail(j, "data.result[%zu].values[%zu]: the timestamp must be a number", sidx, idx);
		if (jnumber_span(j, &ns, &nn))
			return -1;
		int64_t ts;
		if (trace_parse_time(ns, nn, &ts)) {
			char sh[64];
			shown(ns, nn, sh, sizeof sh);
			return jfail(j, "data.result[%zu].values[%zu]: timestamp '%s' is not a time in 1970..9999",
				     sidx, idx, sh);
		}
		if (jexpect(j, ',', "','"))
			return -1;
		jws(j);
		if (j->p < j->end && *j->p == '"') {
			if (jstring(j, vbuf, sizeof vbuf, &vn))
				return -1;
			vs = vbuf;
		} else if (jnumber_span(j, &vs, &vn)) {
			return -1;
		}
		if (jexpect(j, ']', "']' (a pair has two elements)"))
			return -1;
		double v;
		if (parse_value(vs, vn, &v, why, sizeof why))
			return jfail(j, "data.result[%zu].values[%zu]: %s", sidx, idx, why);
		if (s->count) {
			int64_t prev = j->pts->ts[j->pts->n - 1];
			if (ts <= prev) {
				time_shown(ts, t1, sizeof t1);
				if (ts == prev)
					return jfail(j, "data.result[%zu].values[%zu]: duplicate timestamp %s (also on line %zu)",
						     sidx, idx, t1, prev_line);
				time_shown(prev, t2, sizeof t2);
				return jfail(j, "data.result[%zu].values[%zu]: timestamp %s is before %s (line %zu): values must be sorted by time",
					     sidx, idx, t1, t2, prev_line);
			}
		}
		int rc = pts_push(j->pts, ts, v);
		if (rc == -1)
			return jfail(j, "more than %zu points", j->pts->max);
		if (rc)
			return jfail(j, "out of memory");
		s->count++;
		prev_line = j->line;
	} while (jpeek(j, ','));
	return jexpect(j, ']', "',' or ']'");
}

static int jseries(struct jp *j)
{
	size_t sidx = j->nseries;
	if (j->nseries >= TRACE_MAX_SERIES)
		return jfail(j, "more than %u series", TRACE_MAX_SERIES);
	if (j->nseries == j->capseries) {
		size_t nc = j->capseries ? j->capseries * 2 : 8;
		struct pseries *ns = realloc(j->series, nc * sizeof *ns);
		if (!ns)
			return jfail(j, "out of memory");
		j->series = ns;
		j->capseries = nc;
	}
	struct pseries *s = &j->series[j->nseries++];
	memset(s, 0, sizeof *s);
	s->first = j->pts->n;
	jws(j);
	s->line = j->line;
	if (jexpect(j, '{', "'{' (a series object)"))
		return -1;
	if (jpeek(j, '}'))
		return 0;
	do {
		char key[64];
		if (jstring(j, key, sizeof key, NULL) || jexpect(j, ':', "':'"))
			return -1;
		int rc;
		if (!strcmp(key, "metric"))
			rc = jmetric(j, s);
		else if (!strcmp(key, "values"))
			rc = jvalues(j, s, sidx);
		else if (!strcmp(key, "value"))
			return jfail(j, "data.result[%zu] has a single 'value': an instant vector, not a range; record with query_range",
				     sidx);
		else if (!strcmp(key, "histograms"))
			return jfail(j, "data.result[%zu] holds native histograms, which a trace cannot replay", sidx);
		else
			rc = jskip(j, 1);
		if (rc)
			return -1;
	} while (jpeek(j, ','));
	return jexpect(j, '}', "',' or '}'");
}

static int jdata(struct jp *j)
{
	if (jexpect(j, '{', "'{' (the data object)"))
		return -1;
	j->has_data = true;
	if (jpeek(j, '}'))
		return 0;
	do {
		char key[64];
		if (jstring(j, key, sizeof key, NULL) || jexpect(j, ':', "':'"))
			return -1;
		if (!strcmp(key, "resultType")) {
			if (jstring(j, j->result_type, sizeof j->result_type, NULL))
				return -1;
			j->has_result_type = true;
			if (strcmp(j->result_type, "matrix"))
				return jfail(j, "data.resultType is '%s', expected 'matrix' (a query_range answer)",
					     j->result_type);
		} else if (!strcmp(key, "result")) {
			if (j->has_result)
				return jfail(j, "data.result given twice");
			j->has_result = true;
			jws(j);
			if (j->p < j->end && *j->p == 'n' && (size_t)(j->end - j->p) >= 4 && !memcmp(j->p, "null", 4)) {
				j->p += 4;
				continue;
			}
			if (jexpect(j, '[', "'[' (data.result)"))
				return -1;
			if (jpeek(j, ']'))
				continue;
			do {
				if (jseries(j))
					return -1;
			} while (jpeek(j, ','));
			if (jexpect(j, ']', "',' or ']'"))
				return -1;
		} else if (jskip(j, 1)) {
			return -1;
		}
	} while (jpeek(j, ','));
	return jexpect(j, '}', "',' or '}'");
}

static int jtop(struct jp *j)
{
	if (jexpect(j, '{', "'{'"))
		return -1;
	if (!jpeek(j, '}')) {
		do {
			char key[64];
			if (jstring(j, key, sizeof key, NULL) || jexpect(j, ':', "':'"))
				return -1;
			int rc;
			if (!strcmp(key, "status")) {
				rc = jstring(j, j->status, sizeof j->status, NULL);
				j->has_status = true;
			} else if (!strcmp(key, "errorType")) {
				rc = jstring(j, j->error_type, sizeof j->error_type, NULL);
			} else if (!strcmp(key, "error")) {
				rc = jstring(j, j->error, sizeof j->error, NULL);
			} else if (!strcmp(key, "data")) {
				rc = jdata(j);
			} else {
				rc = jskip(j, 1);
			}
			if (rc)
				return -1;
		} while (jpeek(j, ','));
		if (jexpect(j, '}', "',' or '}'"))
			return -1;
	}
	jws(j);
	if (j->p != j->end)
		return jfail(j, "unexpected text after the JSON object");
	if (j->has_status && strcmp(j->status, "success"))
		return jfail(j, "the answer has status '%s': %s%s%s", j->status, j->error_type,
			     j->error_type[0] ? ": " : "", j->error[0] ? j->error : "(no message)");
	if (!j->has_data)
		return jfail(j, "no 'data' object: not a Prometheus query_range answer");
	if (!j->has_result_type)
		return jfail(j, "data.resultType: missing (expected 'matrix')");
	if (!j->has_result)
		return jfail(j, "data.result: missing");
	return 0;
}

/* ---- series selection ---------------------------------------------------- */

struct matcher {
	char name[128];
	char value[STR_MAX + 1];
	bool neq;
};

#define MAX_MATCHERS 16

/* Parses 'k="v",k2!="w"' (optionally in braces). 0, or -1 with why. */
static int selector_parse_simple(const char *sel, struct matcher *m, size_t *nm, char *why, size_t whyn)
{
	const char *p = sel;
	bool brace = false;
	*nm = 0;
	while (*p == ' ')
		p++;
	if (*p == '{') {
		brace = true;
		p++;
	}
	for (;;) {
		while (*p == ' ')
			p++;
		if (brace && *p == '}' && p[1] == 0 && *nm > 0)
			return 0;
		if (*nm >= MAX_MATCHERS) {
			snprintf(why, whyn, "more than %d matchers", MAX_MATCHERS);
			return -1;
		}
		struct matcher *x = &m[*nm];
		size_t k = 0;
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_')) {
			snprintf(why, whyn, "expected a label name at offset %zu", (size_t)(p - sel));
			return -1;
		}
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		       *p == '_') {
			if (k + 1 >= sizeof x->name) {
				snprintf(why, whyn, "label name too long");
				return -1;
			}
			x->name[k++] = *p++;
		}
		x->name[k] = 0;
		while (*p == ' ')
			p++;
		if (p[0] == '!' && p[1] == '=') {
			x->neq = true;
			p += 2;
		} else if (p[0] == '=' && p[1] != '~') {
			x->neq = false;
			p += 1;
		} else {
			snprintf(why, whyn, "expected '=' or '!=' after '%s' (regular expressions are not supported)",
				 x->name);
			return -1;
		}
		while (*p == ' ')
			p++;
		if (*p != '"') {
			snprintf(why, whyn, "the value of '%s' must be in double quotes", x->name);
			return -1;
		}
		p++;
		k = 0;
		while (*p && *p != '"') {
			char c = *p++;
			if (c == '\\' && (*p == '"' || *p == '\\'))
				c = *p++;
			if (k + 1 >= sizeof x->value) {
				snprintf(why, whyn, "value too long");
				return -1;
			}
			x->value[k++] = c;
		}
		if (*p != '"') {
			snprintf(why, whyn, "unterminated value of '%s'", x->name);
			return -1;
		}
		x->value[k] = 0;
		p++;
		(*nm)++;
		while (*p == ' ')
			p++;
		if (*p == ',') {
			p++;
			continue;
		}
		if (brace && *p == '}') {
			p++;
			while (*p == ' ')
				p++;
		} else if (brace) {
			snprintf(why, whyn, "expected ',' or '}' at offset %zu", (size_t)(p - sel));
			return -1;
		}
		if (*p) {
			snprintf(why, whyn, "expected ',' at offset %zu", (size_t)(p - sel));
			return -1;
		}
		return 0;
	}
}

static bool series_matches(const struct pseries *s, const struct matcher *m, size_t nm)
{
	for (size_t i = 0; i < nm; i++) {
		const char *have = "";
		for (size_t k = 0; k < s->nlabels; k++)
			if (!strcmp(s->labels[k].name, m[i].name))
				have = s->labels[k].value;
		if ((strcmp(have, m[i].value) == 0) == m[i].neq)
			return false;
	}
	return true;
}

/* Appends c to out (k bytes used of n), escaped as in a PromQL string. */
static void desc_put(char *out, size_t n, size_t *k, const char *text, bool value)
{
	for (const char *p = text; *p && *k + 1 < n; p++) {
		unsigned char c = (unsigned char)*p;
		char e[8];
		if (value && (c == '"' || c == '\\'))
			snprintf(e, sizeof e, "\\%c", c);
		else if (c == '\n')
			snprintf(e, sizeof e, "\\n");
		else if (c < 0x20 || c == 0x7f)
			snprintf(e, sizeof e, "\\x%02x", c);
		else
			snprintf(e, sizeof e, "%c", c);
		for (const char *q = e; *q && *k + 1 < n; q++)
			out[(*k)++] = *q;
	}
	out[*k] = 0;
}

/* '{k="v",...}' into out (cut with "..." when too long). */
static void series_desc(const struct pseries *s, char *out, size_t n)
{
	size_t k = 0;
	if (n < 8)
		return;
	desc_put(out, n, &k, "{", false);
	for (size_t i = 0; i < s->nlabels; i++) {
		if (i)
			desc_put(out, n, &k, ",", false);
		desc_put(out, n, &k, s->labels[i].name, false);
		desc_put(out, n, &k, "=\"", false);
		desc_put(out, n, &k, s->labels[i].value, true);
		desc_put(out, n, &k, "\"", false);
	}
	desc_put(out, n, &k, "}", false);
	if (k + 1 >= n)
		memcpy(out + n - 4, "...", 4);
}

struct tagged {
	int64_t ts;
	size_t order;   /* series index, to sum in a fixed order */
	double v;
};

static int tagged_cmp(const void *a, const void *b)
{
	const struct tagged *x = a, *y = b;
	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int select_and_sum(struct jp *j, const char *sel, struct trace *out)
{
	bool *pick = calloc(j->nseries ? j->nseries : 1, sizeof *pick);
	size_t npick = 0, total = 0;
	int rc = -1;
	char why[200];
	struct tagged *all = NULL;

	if (!pick) {
		errf(j->err, j->errlen, "'%s': out of memory", j->name);
		return -1;
	}
	if (j->nseries == 0) {
		errf(j->err, j->errlen, "'%s': data.result is empty: the query returned no series", j->name);
		goto done;
	}
	if (!sel || !*sel) {
		for (size_t i = 0; i < j->nseries; i++)
			pick[i] = true;
		npick = j->nseries;
	} else if (strspn(sel, "0123456789") == strlen(sel)) {
		errno = 0;
		unsigned long long idx = strtoull(sel, NULL, 10);
		if (errno || idx >= j->nseries) {
			errf(j->err, j->errlen, "'%s': series index %s is out of range: the file has %zu series (0..%zu)",
			     j->name, sel, j->nseries, j->nseries - 1);
			goto done;
		}
		pick[idx] = true;
		npick = 1;
	} else {
		struct matcher *m = calloc(MAX_MATCHERS, sizeof *m);
		size_t nm = 0;
		if (!m) {
			errf(j->err, j->errlen, "'%s': out of memory", j->name);
			goto done;
		}
		if (selector_parse_simple(sel, m, &nm, why, sizeof why)) {
			errf(j->err, j->errlen, "series selector '%s': %s", sel, why);
			free(m);
			goto done;
		}
		for (size_t i = 0; i < j->nseries; i++) {
			pick[i] = series_matches(&j->series[i], m, nm);
			npick += pick[i];
		}
		free(m);
		if (npick == 0) {
			char d[TRACE_DESC_MAX];
			series_desc(&j->series[0], d, sizeof d);
			errf(j->err, j->errlen, "'%s': no series matches '%s' (%zu series, the first is %s)", j->name,
			     sel, j->nseries, d);
			goto done;
		}
	}
	for (size_t i = 0; i < j->nseries; i++)
		if (pick[i])
			total += j->series[i].count;
	if (total == 0) {
		errf(j->err, j->errlen, "'%s': the chosen series have no points", j->name);
		goto done;
	}
	out->ts_ms = malloc(total * sizeof *out->ts_ms);
	out->v = malloc(total * sizeof *out->v);
	if (!out->ts_ms || !out->v) {
		errf(j->err, j->errlen, "'%s': out of memory", j->name);
		goto done;
	}
	if (npick == 1) {
		for (size_t i = 0; i < j->nseries; i++) {
			if (!pick[i])
				continue;
			const struct pseries *s = &j->series[i];
			memcpy(out->ts_ms, j->pts->ts + s->first, s->count * sizeof *out->ts_ms);
			memcpy(out->v, j->pts->v + s->first, s->count * sizeof *out->v);
			out->n = s->count;
			series_desc(s, out->desc, sizeof out->desc);
		}
	} else {
		all = malloc(total * sizeof *all);
		if (!all) {
			errf(j->err, j->errlen, "'%s': out of memory", j->name);
			goto done;
		}
		size_t k = 0;
		for (size_t i = 0; i < j->nseries; i++) {
			if (!pick[i])
				continue;
			const struct pseries *s = &j->series[i];
			for (size_t p = 0; p < s->count; p++)
				all[k++] = (struct tagged){ j->pts->ts[s->first + p], i, j->pts->v[s->first + p] };
		}
		qsort(all, total, sizeof *all, tagged_cmp);
		size_t n = 0;
		for (size_t i = 0; i < total; i++) {
			if (n && out->ts_ms[n - 1] == all[i].ts) {
				out->v[n - 1] += all[i].v;
			} else {
				out->ts_ms[n] = all[i].ts;
				out->v[n] = all[i].v;
				n++;
			}
		}
		out->n = n;
		for (size_t i = 0; i < n; i++) {
			if (!isfinite(out->v[i])) {
				char t1[40];
				time_shown(out->ts_ms[i], t1, sizeof t1);
				errf(j->err, j->errlen, "'%s': the sum of the series overflows at %s", j->name, t1);
				goto done;
			}
		}
		snprintf(out->desc, sizeof out->desc, "sum of %zu series", npick);
	}
	out->nseries = npick;
	out->nfile_series = j->nseries;
	rc = 0;
done:
	free(all);
	free(pick);
	return rc;
}

static int parse_prom(const char *text, size_t len, const char *name, const char *sel, struct pts *pts,
		      struct trace *out, char *err, size_t errlen)
{
	struct jp j;
	memset(&j, 0, sizeof j);
	j.p = text;
	j.end = text + len;
	j.line = 1;
	j.name = name;
	j.err = err;
	j.errlen = errlen;
	j.pts = pts;
	int rc = jtop(&j);
	if (rc == 0)
		rc = select_and_sum(&j, sel, out);
	for (size_t i = 0; i < j.nseries; i++)
		series_free(&j.series[i]);
	free(j.series);
	return rc;
}

/* ======================================================================== */
/* Entry points                                                             */
/* ======================================================================== */

int trace_parse(const char *text, size_t len, const char *name, const char *series, size_t max_points,
		struct trace *out, char *err, size_t errlen)
{
	struct pts pts = { .max = max_points ? max_points : TRACE_MAX_POINTS };
	const char *p = text;
	int rc;

	if (!name)
		name = "input";
	trace_init(out);
	while (p < text + len && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (p < text + len && *p == '{') {
		rc = parse_prom(text, len, name, series, &pts, out, err, errlen);
	} else {
		rc = parse_csv(text, len, name, series, &pts, err, errlen);
		if (rc == 0) {
			out->ts_ms = pts.ts;
			out->v = pts.v;
			out->n = pts.n;
			out->nseries = out->nfile_series = 1;
			snprintf(out->desc, sizeof out->desc, "csv");
			pts.ts = NULL;
			pts.v = NULL;
			if (out->n < pts.cap) {
				/* give back the slack of the doubling */
				int64_t *t = realloc(out->ts_ms, out->n * sizeof *t);
				double *v = realloc(out->v, out->n * sizeof *v);
				if (t)
					out->ts_ms = t;
				if (v)
					out->v = v;
			}
		}
	}
	pts_release(&pts);
	if (rc)
		trace_release(out);
	return rc;
}

int trace_load(const char *path, const char *series, struct trace *out, char *err, size_t errlen)
{
	trace_init(out);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		errf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	struct stat stt;
	bool have_stat = fstat(fd, &stt) == 0;
	if (have_stat && S_ISDIR(stt.st_mode)) {
		close(fd);
		errf(err, errlen, "cannot read '%s': is a directory", path);
		return -1;
	}
	if (have_stat && S_ISREG(stt.st_mode) && (uint64_t)stt.st_size > TRACE_MAX_BYTES) {
		close(fd);
		errf(err, errlen, "'%s': file is larger than %u MiB", path, TRACE_MAX_BYTES >> 20);
		return -1;
	}
	size_t cap = 1 << 16, len = 0;
	char *data = malloc(cap);
	if (!data) {
		close(fd);
		errf(err, errlen, "'%s': out of memory", path);
		return -1;
	}
	for (;;) {
		if (len == cap) {
			if (cap > TRACE_MAX_BYTES) {
				free(data);
				close(fd);
				errf(err, errlen, "'%s': file is larger than %u MiB", path, TRACE_MAX_BYTES >> 20);
				return -1;
			}
			char *nd = realloc(data, cap * 2);
			if (!nd) {
				free(data);
				close(fd);
				errf(err, errlen, "'%s': out of memory", path);
				return -1;
			}
			data = nd;
			cap *= 2;
		}
		ssize_t r = read(fd, data + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(data);
			close(fd);
			errf(err, errlen, "cannot read '%s': %s", path, strerror(e));
			return -1;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (len > TRACE_MAX_BYTES) {
		free(data);
		errf(err, errlen, "'%s': file is larger than %u MiB", path, TRACE_MAX_BYTES >> 20);
		return -1;
	}
	int rc = trace_parse(data, len, path, series, TRACE_MAX_POINTS, out, err, errlen);
	free(data);
	return rc;
}
