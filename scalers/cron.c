/*
 * cron.c — the cron scaler: cron expressions, their instants in a time zone
 * (tzfile.c), and the window rule of cron.h.
 *
 * Searches walk the zone's stretches of constant UTC offset: within one, a
 * wall-clock time L is the instant L - offset, so the search is a plain
 * calendar walk over that stretch. A wall-clock time that falls in no
 * stretch (skipped by a spring-forward) is never found; one that falls in
 * two (repeated by a fall-back) is found in both.
 */
#include "cron.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define DAY 86400
/* how far cron_prev/cron_next look: 8 years and a bit covers every Feb 29 */
#define SEARCH_SECS ((int64_t)(8 * 366 + 2) * DAY)
#define T_MAX ((int64_t)1000000000000) /* searches beyond ±31,000 years find nothing */
#define CRON_MAX_ZONES 16
#define CRON_EXPR_MAX 256

/* ------------------------------------------------------------------------ */
/* parsing                                                                  */

struct field {
	const char *name;
	int min, max;
	const char *const *names; /* names[i] is the value min + i, or NULL */
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun",
					   "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const dow_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static const struct field fields[5] = {
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },
	{ "month", 1, 12, month_names },
	{ "day-of-week", 0, 7, dow_names },
};

/* A number or a name of field f at s[0..len). 0 or -1 with a message. */
static int parse_value(const struct field *f, const char *s, size_t len, int *out, char *err, size_t errlen)
{
	if (!len) {
		snprintf(err, errlen, "%s: a value is missing", f->name);
		return -1;
	}
	if (isdigit((unsigned char)s[0])) {
		int v = 0;
		for (size_t i = 0; i < len; i++) {
			if (!isdigit((unsigned char)s[i]) || v > 1000) {
				snprintf(err, errlen, "%s: '%.*s' is not a number", f->name, (int)len, s);
				return -1;
			}
			v = v * 10 + (s[i] - '0');
		}
		if (v < f->min || v > f->max) {
			snprintf(err, errlen, "%s: %d is out of range %d-%d", f->name, v, f->min, f->max);
			return -1;
		}
		*out = v;
		return 0;
	}
	for (size_t i = 0; f->names && f->names[i]; i++) {
		if (len == 3 && !strncasecmp(s, f->names[i], 3)) {
			*out = f->min + (int)i;
			return 0;
		}
	}
	if (f->names)
		snprintf(err, errlen, "%s: '%.*s' is not a number or a name (%s..%s)", f->name, (int)len, s, f->names[0],
			 f == &fields[3] ? "dec" : "sat");
	else
		snprintf(err, errlen, "%s: '%.*s' is not a number", f->name, (int)len, s);
	return -1;
}

/* One comma-separated part: '*', '?', 'a', 'a-b', each with an optional '/s'. */
static int parse_part(const struct field *f, const char *s, size_t len, uint64_t *bits, bool *star, char *err,
		      size_t errlen)
{
	const char *slash = memchr(s, '/', len);
	size_t rlen = slash ? (size_t)(slash - s) : len;
	int lo, hi, step = 1;
	bool any = false;
	if (slash) {
		const char *st = slash + 1;
		size_t sl = len - rlen - 1;
		int v = 0;
		if (!sl) {
			snprintf(err, errlen, "%s: '%.*s' has no step after '/'", f->name, (int)len, s);
			return -1;
		}
		for (size_t i = 0; i < sl; i++) {
			if (!isdigit((unsigned char)st[i]) || v > 1000) {
				snprintf(err, errlen, "%s: step '%.*s' is not a number", f->name, (int)sl, st);
				return -1;
			}
			v = v * 10 + (st[i] - '0');
		}
		if (v < 1) {
			snprintf(err, errlen, "%s: step 0 is not allowed", f->name);
			return -1;
		}
		step = v;
	}
	if (rlen == 1 && (s[0] == '*' || s[0] == '?')) {
		lo = f->min;
		hi = f->max == 7 ? 6 : f->max;
		any = true;
	} else {
		const char *dash = memchr(s, '-', rlen);
		if (parse_value(f, s, dash ? (size_t)(dash - s) : rlen, &lo, err, errlen))
			return -1;
		if (dash) {
			if (parse_value(f, dash + 1, rlen - (size_t)(dash - s) - 1, &hi, err, errlen))
				return -1;
			if (hi < lo) {
				snprintf(err, errlen, "%s: '%.*s' runs backwards; split it into two ranges", f->name,
					 (int)rlen, s);
				return -1;
			}
		} else {
			hi = slash ? (f->max == 7 ? 6 : f->max) : lo;
		}
	}
	if (lo > hi) { /* "7/2" in day-of-week: 7 is past the range a step runs to */
		snprintf(err, errlen, "%s: '%.*s' selects no value", f->name, (int)len, s);
		return -1;
	}
	for (int v = lo; v <= hi; v += step)
		*bits |= (uint64_t)1 << v;
	if (any && step == 1)
		*star = true;
	return 0;
}

static int parse_field(const struct field *f, const char *s, size_t len, uint64_t *bits, bool *star, char *err,
		       size_t errlen)
{
	*bits = 0;
	*star = false;
	size_t i = 0;
	for (;;) {
		const char *comma = memchr(s + i, ',', len - i);
		size_t pl = comma ? (size_t)(comma - (s + i)) : len - i;
		if (!pl) {
			snprintf(err, errlen, "%s: '%.*s' has an empty list item", f->name, (int)len, s);
			return -1;
		}
		if (parse_part(f, s + i, pl, bits, star, err, errlen))
			return -1;
		if (!comma)
			return 0;
		i += pl + 1;
	}
}

/* True when some date matches the day fields (only a restricted
 * day-of-month under an unrestricted day-of-week can miss every date). */
static bool some_date(const struct cron_expr *e)
{
	static const int maxday[13] = { 0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (!e->dow_star || e->dom_star)
		return true;
	for (int m = 1; m <= 12; m++)
		for (int d = 1; d <= maxday[m]; d++)
			if ((e->month >> m & 1) && (e->dom >> d & 1))
				return true;
	return false;
}

int cron_expr_parse(const char *text, struct cron_expr *out, char *err, size_t errlen)
{
	static const struct {
		const char *name, *expr;
	} descriptors[] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
		{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },	  { "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
	};
	memset(out, 0, sizeof *out);
	if (!text) {
		snprintf(err, errlen, "no expression");
		return -1;
	}
	while (isspace((unsigned char)*text))
		text++;
	size_t len = strlen(text);
	while (len && isspace((unsigned char)text[len - 1]))
		len--;
	if (len > CRON_EXPR_MAX) {
		snprintf(err, errlen, "longer than %d bytes", CRON_EXPR_MAX);
		return -1;
	}
	if (len && text[0] == '@') {
		for (size_t i = 0; i < sizeof descriptors / sizeof descriptors[0]; i++)
			if (strlen(descriptors[i].name) == len && !strncasecmp(text, descriptors[i].name, len))
				return cron_expr_parse(descriptors[i].expr, out, err, errlen);
		snprintf(err, errlen, "'%.*s' is not one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, "
				      "@hourly (@every has no fixed times, so it cannot bound a window)",
			 (int)len, text);
		return -1;
	}
	const char *part[6];
	size_t plen[6], n = 0, i = 0;
	while (i < len) {
		while (i < len && isspace((unsigned char)text[i]))
			i++;
		if (i >= len)
			break;
		size_t b = i;
		while (i < len && !isspace((unsigned char)text[i]))
			i++;
		if (n < 6) {
			part[n] = text + b;
			plen[n] = i - b;
		}
		n++;
	}
	if (n != 5) {
		snprintf(err, errlen, "has %zu field%s; 5 are needed: minute hour day-of-month month day-of-week%s", n,
			 n == 1 ? "" : "s", n == 6 ? " (no seconds field)" : "");
		return -1;
	}
	uint64_t bits[5];
	bool star[5];
	for (size_t f = 0; f < 5; f++)
		if (parse_field(&fields[f], part[f], plen[f], &bits[f], &star[f], err, errlen))
			return -1;
	if (bits[4] >> 7 & 1)
		bits[4] = (bits[4] | 1) & 0x7f;
	out->minute = bits[0];
	out->hour = (uint32_t)bits[1];
	out->dom = (uint32_t)bits[2];
	out->month = (uint16_t)bits[3];
	out->dow = (uint8_t)bits[4];
	out->dom_star = star[2];
	out->dow_star = star[4];
	if (!some_date(out)) {
		snprintf(err, errlen, "matches no date (day-of-month '%.*s' does not occur in month '%.*s')", (int)plen[2],
			 part[2], (int)plen[3], part[3]);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* matching and searching                                                   */

static int weekday_of(int64_t days)
{
	return (int)(((days % 7) + 11) % 7);
}

static bool day_matches(const struct cron_expr *e, int64_t days, unsigned m, unsigned d)
{
	if (!(e->month >> m & 1))
		return false;
	bool dom = e->dom >> d & 1, dow = e->dow >> weekday_of(days) & 1;
	return (e->dom_star || e->dow_star) ? dom && dow : dom || dow;
}

bool cron_expr_matches(const struct cron_expr *e, int64_t y, unsigned m, unsigned d, unsigned h, unsigned mi)
{
	if (m < 1 || m > 12 || d < 1 || d > 31 || h > 23 || mi > 59)
		return false;
	return day_matches(e, tzfile_days_from_civil(y, m, d), m, d) && (e->hour >> h & 1) && (e->minute >> mi & 1);
}

/* The latest minute of wall-clock time (seconds, as if UTC) in [lo, hi]
 * that matches, or INT64_MIN. */
static int64_t local_prev(const struct cron_expr *e, int64_t lo, int64_t hi)
{
	if (hi < lo)
		return INT64_MIN;
	int64_t dhi = tzfile_floor_div(hi, DAY), dlo = tzfile_floor_div(lo, DAY);
	for (int64_t day = dhi; day >= dlo; day--) {
		int64_t y;
		unsigned m, d;
		tzfile_civil_from_days(day, &y, &m, &d);
		if (!day_matches(e, day, m, d))
			continue;
		int64_t base = day * DAY;
		int hcap = day == dhi ? (int)((hi - base) / 3600) : 23;
		for (int h = hcap; h >= 0; h--) {
			if (!(e->hour >> h & 1))
				continue;
			int mcap = day == dhi && h == hcap ? (int)((hi - base - h * 3600) / 60) : 59;
			for (int mi = mcap; mi >= 0; mi--) {
				if (!(e->minute >> mi & 1))
					continue;
				int64_t l = base + h * 3600 + mi * 60;
				return l >= lo ? l : INT64_MIN;
			}
		}
	}
	return INT64_MIN;
}

/* The first minute of wall-clock time in [lo, hi] that matches, or INT64_MAX. */
static int64_t local_next(const struct cron_expr *e, int64_t lo, int64_t hi)
{
	lo = tzfile_floor_div(lo + 59, 60) * 60;
	if (hi < lo)
		return INT64_MAX;
	int64_t dlo = tzfile_floor_div(lo, DAY), dhi = tzfile_floor_div(hi, DAY);
	for (int64_t day = dlo; day <= dhi; day++) {
		int64_t y;
		unsigned m, d;
		tzfile_civil_from_days(day, &y, &m, &d);
		if (!day_matches(e, day, m, d))
			continue;
		int64_t base = day * DAY;
		int hmin = day == dlo ? (int)((lo - base) / 3600) : 0;
		for (int h = hmin; h < 24; h++) {
			if (!(e->hour >> h & 1))
				continue;
			int mmin = day == dlo && h == hmin ? (int)((lo - base - h * 3600) / 60) : 0;
			for (int mi = mmin; mi < 60; mi++) {
				if (!(e->minute >> mi & 1))
					continue;
				int64_t l = base + h * 3600 + mi * 60;
				return l <= hi ? l : INT64_MAX;
			}
		}
	}
	return INT64_MAX;
}

int64_t cron_prev(const struct cron_expr *e, const struct tzfile *z, int64_t t)
{
	if (t > T_MAX || t < -T_MAX)
		return INT64_MIN;
	int64_t limit = t - SEARCH_SECS, hi = t;
	for (;;) {
		int32_t off = tzfile_offset(z, hi, NULL);
		int64_t seg = tzfile_prev_change(z, hi); /* the offset holds on [seg, hi] */
		int64_t lo = seg > limit ? seg : limit;
		int64_t l = local_prev(e, lo + off, hi + off);
		if (l != INT64_MIN)
			return l - off;
		if (seg <= limit)
			return INT64_MIN;
		hi = seg - 1;
	}
}

int64_t cron_next(const struct cron_expr *e, const struct tzfile *z, int64_t t)
{
	if (t > T_MAX || t < -T_MAX)
		return INT64_MAX;
	int64_t limit = t + SEARCH_SECS, lo = t + 1;
	for (;;) {
		int32_t off = tzfile_offset(z, lo, NULL);
		int64_t nx = tzfile_next_change(z, lo); /* the offset holds on [lo, nx) */
		int64_t hi = nx > limit ? limit : nx - 1;
		int64_t l = local_next(e, lo + off, hi + off);
		if (l != INT64_MAX)
			return l - off;
		if (nx > limit)
			return INT64_MAX;
		lo = nx;
	}
}

bool cron_window_open(const struct cron_expr *start, const struct cron_expr *end, const struct tzfile *z,
		      int64_t now_ms)
{
	int64_t t = tzfile_floor_div(now_ms, 1000);
	int64_t ps = cron_prev(start, z, t);
	if (ps == INT64_MIN)
		return false;
	int64_t pe = cron_prev(end, z, t);
	return pe == INT64_MIN || ps > pe;
}

/* ------------------------------------------------------------------------ */
/* the scaler                                                               */

struct cron_source {
	char *timezone;
};

struct cron_metric {
	char *timezone;
	char *start;
	char *end;
	double desired;
};

struct cron_state {
	const struct sw_host *host;
	struct tzfile *zones[CRON_MAX_ZONES]; /* loaded once per source opening */
	size_t nzones;
};

static bool expr_equal(const struct cron_expr *a, const struct cron_expr *b)
{
	return a->minute == b->minute && a->hour == b->hour && a->dom == b->dom && a->month == b->month &&
	       a->dow == b->dow && a->dom_star == b->dom_star && a->dow_star == b->dow_star;
}

/* Everything a metric's window needs, checked; messages name the key. */
static int cron_resolve(const struct cron_source *src, const struct cron_metric *m, const char **tzname,
			struct cron_expr *start, struct cron_expr *end, char *err, size_t errlen)
{
	char why[300];
	if (!m) {
		snprintf(err, errlen, "params: start, end and desiredReplicas are required");
		return -1;
	}
	const char *keys[2] = { "params.start", "params.end" };
	const char *texts[2] = { m->start, m->end };
	struct cron_expr *outs[2] = { start, end };
	for (int i = 0; i < 2; i++) {
		if (!texts[i] || !*texts[i]) {
			snprintf(err, errlen, "%s: required (a 5-field cron expression such as \"0 8 * * 1-5\")", keys[i]);
			return -1;
		}
		if (cron_expr_parse(texts[i], outs[i], why, sizeof why)) {
			snprintf(err, errlen, "%s: '%.100s' is not a cron expression: %s", keys[i], texts[i], why);
			return -1;
		}
	}
	if (expr_equal(start, end)) {
		snprintf(err, errlen, "params.start and params.end are the same schedule ('%.100s'): the window would never "
				      "open",
			 m->start);
		return -1;
	}
	*tzname = m->timezone && *m->timezone ? m->timezone : src && src->timezone && *src->timezone ? src->timezone : NULL;
	if (!*tzname) {
		snprintf(err, errlen, "params.timezone: required, in the metric's params or on its source (an IANA name such "
				      "as \"Europe/Berlin\", or \"UTC\")");
		return -1;
	}
	return 0;
}

static const char *tz_key(const struct cron_metric *m)
{
	return m && m->timezone && *m->timezone ? "params.timezone" : "timezone (of the source)";
}

/* The loaded zone called name, loading it on first use. */
static const struct tzfile *zone_get(struct cron_state *st, const char *name, char *err, size_t errlen)
{
	for (size_t i = 0; i < st->nzones; i++)
		if (!strcmp(tzfile_name(st->zones[i]), name))
			return st->zones[i];
	struct tzfile *z = tzfile_load(name, NULL, err, errlen);
	if (!z)
		return NULL;
	if (st->nzones == CRON_MAX_ZONES) {
		tzfile_free(st->zones[CRON_MAX_ZONES - 1]);
		st->nzones--;
	}
	st->zones[st->nzones++] = z;
	return z;
}

static int cron_open(void *state, const void *source_params, const struct sw_host *host, char *err, size_t errlen)
{
	struct cron_state *st = state;
	const struct cron_source *src = source_params;
	st->host = host;
	if (src && src->timezone && *src->timezone) {
		char why[400];
		if (!zone_get(st, src->timezone, why, sizeof why)) {
			snprintf(err, errlen, "timezone: %s", why);
			return -1;
		}
	}
	return 0;
}

/* The source's timezone, as open loads it. */
static int cron_check_source(const void *source_params, char *err, size_t errlen)
{
	const struct cron_source *src = source_params;
	if (!src || !src->timezone || !*src->timezone)
		return 0;
	char why[400];
	struct tzfile *z = tzfile_load(src->timezone, NULL, why, sizeof why);
	if (!z) {
		snprintf(err, errlen, "timezone: %s", why);
		return -1;
	}
	tzfile_free(z);
	return 0;
}

static int cron_check_metric(const void *source_params, const struct sw_request *req, char *err, size_t errlen)
{
	const struct cron_metric *m = req->params;
	const char *tzname;
	struct cron_expr s, e;
	if (cron_resolve(source_params, m, &tzname, &s, &e, err, errlen))
		return -1;
	char why[400];
	struct tzfile *z = tzfile_load(tzname, NULL, why, sizeof why);
	if (!z) {
		snprintf(err, errlen, "%s: %s", tz_key(m), why);
		return -1;
	}
	tzfile_free(z);
	return 0;
}

static int cron_fetch(void *state, const void *source_params, const struct sw_request *req, struct sw_batch *out,
		      char *err, size_t errlen)
{
	struct cron_state *st = state;
	const struct cron_metric *m = req->params;
	const char *tzname;
	struct cron_expr s, e;
	if (cron_resolve(source_params, m, &tzname, &s, &e, err, errlen))
		return SW_FETCH_ANSWER_ERROR;
	char why[400];
	const struct tzfile *z = zone_get(st, tzname, why, sizeof why);
	if (!z) {
		snprintf(err, errlen, "%s: %s", tz_key(m), why);
		return SW_FETCH_ANSWER_ERROR;
	}
	double v = cron_window_open(&s, &e, z, req->now_ms) ? m->desired : 0.0;
	if (st->host->batch_add(out, v, req->now_ms, NULL, 0)) {
		snprintf(err, errlen, "the sample was refused");
		return SW_FETCH_ANSWER_ERROR;
	}
	return 0;
}

static void cron_close(void *state)
{
	struct cron_state *st = state;
	for (size_t i = 0; i < st->nzones; i++)
		tzfile_free(st->zones[i]);
	memset(st, 0, sizeof *st);
}

static const struct sw_param cron_source_params[] = {
	{ "timezone", SW_PARAM_STRING, offsetof(struct cron_source, timezone), NULL, 0, 1, 0,
	  "IANA time zone of the windows (e.g. Europe/Berlin, UTC); a metric's params.timezone overrides it", NULL },
};

static const struct sw_param cron_metric_params[] = {
	{ "timezone", SW_PARAM_STRING, offsetof(struct cron_metric, timezone), NULL, 0, 1, 0,
	  "IANA time zone of the window; required here unless the source has one", NULL },
	{ "start", SW_PARAM_STRING, offsetof(struct cron_metric, start), NULL, 1, 1, 0,
	  "5-field cron expression: when the window opens", NULL },
	{ "end", SW_PARAM_STRING, offsetof(struct cron_metric, end), NULL, 1, 1, 0,
	  "5-field cron expression: when the window closes", NULL },
	{ "desiredReplicas", SW_PARAM_DOUBLE, offsetof(struct cron_metric, desired), NULL, 1, 0, 1e15,
	  "the value served inside the window (0 outside)", NULL },
};

const struct sw_scaler_type scaler_cron = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_scaler_type),
	.name = "cron",
	.flags = 0,
	.query = SW_QUERY_NONE,
	.state_size = sizeof(struct cron_state),
	.source_params_size = sizeof(struct cron_source),
	.source_params = cron_source_params,
	.n_source_params = sizeof cron_source_params / sizeof cron_source_params[0],
	.metric_params_size = sizeof(struct cron_metric),
	.metric_params = cron_metric_params,
	.n_metric_params = sizeof cron_metric_params / sizeof cron_metric_params[0],
	.open = cron_open,
	.check_metric = cron_check_metric,
	.fetch = cron_fetch,
	.close = cron_close,
	.check_source = cron_check_source,
};
