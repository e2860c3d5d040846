/*
 * tzfile.c — TZif reader and POSIX TZ rules (see tzfile.h for why this is
 * not localtime_r). Follows RFC 8536: 64-bit data of version 2+ files,
 * time type 0 before the first transition, the footer's TZ string after
 * the last one.
 */
#include "tzfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Rule computations stay within ±300,000 years: no overflow anywhere. */
#define T_LIMIT ((int64_t)10000000000000)

struct rule_date {
	char kind;      /* 'J' (1..365, no Feb 29), 'N' (0..365), 'M' (month.week.day) */
	int n, m, w, d;
	int32_t secs;   /* local time of day of the change; may be < 0 or > 24 h */
};

struct posix_tz {
	int has_dst;
	int32_t std_off, dst_off; /* seconds east of UTC */
	struct rule_date start, end;
};

struct tzfile {
	char name[TZFILE_NAME_MAX + 1];
	size_t n;            /* transitions */
	int64_t *trans;      /* ascending */
	uint8_t *idx;        /* the time type from each transition on */
	size_t ntypes;
	int32_t *type_off;
	uint8_t *type_dst;
	int has_rule;        /* a non-empty footer */
	struct posix_tz rule;
};

/* ------------------------------------------------------------------------ */
/* civil dates (H. Hinnant's algorithms, proleptic Gregorian)               */

int64_t tzfile_floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;
	return (a % b != 0 && a < 0) ? q - 1 : q;
}

int64_t tzfile_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = tzfile_floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (int64_t)(m > 2 ? m - 3 : m + 9) + 2) / 5 + (int64_t)d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void tzfile_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = tzfile_floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, unsigned m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* 0 = Sunday; 1970-01-01 was a Thursday. */
static int weekday(int64_t days)
{
	return (int)(((days % 7) + 11) % 7);
}

/* ------------------------------------------------------------------------ */
/* POSIX TZ strings                                                         */

static const char *parse_tzname(const char *s)
{
	if (*s == '<') {
		const char *b = ++s;
		while (*s && *s != '>') {
			if (!isalnum((unsigned char)*s) && *s != '+' && *s != '-')
				return NULL;
			s++;
		}
		return *s == '>' && s - b >= 3 ? s + 1 : NULL;
	}
	const char *b = s;
	while (isalpha((unsigned char)*s))
		s++;
	return s - b >= 3 ? s : NULL;
}

static const char *parse_num(const char *s, int maxdigits, int *out)
{
	int v = 0, n = 0;
	while (isdigit((unsigned char)*s) && n < maxdigits) {
		v = v * 10 + (*s - '0');
		s++;
		n++;
	}
	if (!n || isdigit((unsigned char)*s))
		return NULL;
	*out = v;
	return s;
}

/* [+-]h[h[h]][:mm[:ss]] with hours up to max_h; the signed seconds. */
static const char *parse_hms(const char *s, int max_h, int32_t *out)
{
	int sign = 1, h, m = 0, sec = 0;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	s = parse_num(s, 3, &h);
	if (!s || h > max_h)
		return NULL;
	if (*s == ':') {
		s = parse_num(s + 1, 2, &m);
		if (!s || m > 59)
			return NULL;
		if (*s == ':') {
			s = parse_num(s + 1, 2, &sec);
			if (!s || sec > 59)
				return NULL;
		}
	}
	*out = sign * (h * 3600 + m * 60 + sec);
	return s;
}

static const char *parse_rule(const char *s, struct rule_date *r)
{
	memset(r, 0, sizeof *r);
	if (*s == 'J') {
		r->kind = 'J';
		s = parse_num(s + 1, 3, &r->n);
		if (!s || r->n < 1 || r->n > 365)
			return NULL;
	} else if (*s == 'M') {
		r->kind = 'M';
		s = parse_num(s + 1, 2, &r->m);
		if (!s || r->m < 1 || r->m > 12 || *s != '.')
			return NULL;
		s = parse_num(s + 1, 1, &r->w);
		if (!s || r->w < 1 || r->w > 5 || *s != '.')
			return NULL;
		s = parse_num(s + 1, 1, &r->d);
		if (!s || r->d > 6)
			return NULL;
	} else {
		r->kind = 'N';
		s = parse_num(s, 3, &r->n);
		if (!s || r->n > 365)
			return NULL;
	}
	r->secs = 7200;
	if (*s == '/')
		s = parse_hms(s + 1, 167, &r->secs);
	return s;
}

static int posix_parse(const char *s, struct posix_tz *p)
{
	int32_t off;
	memset(p, 0, sizeof *p);
	s = parse_tzname(s);
	if (!s)
		return -1;
	s = parse_hms(s, 24, &off);
	if (!s)
		return -1;
	p->std_off = -off;
	if (!*s)
		return 0;
	s = parse_tzname(s);
	if (!s)
		return -1;
	p->has_dst = 1;
	p->dst_off = p->std_off + 3600;
	if (*s && *s != ',') {
		s = parse_hms(s, 24, &off);
		if (!s)
			return -1;
		p->dst_off = -off;
	}
	if (!*s) {
		/* no rule: the POSIX default of glibc and tzcode, US rules since 2007 */
		parse_rule("M3.2.0", &p->start);
		parse_rule("M11.1.0", &p->end);
		return 0;
	}
	if (*s != ',')
		return -1;
	s = parse_rule(s + 1, &p->start);
	if (!s || *s != ',')
		return -1;
	s = parse_rule(s + 1, &p->end);
	return s && !*s ? 0 : -1;
}

/* The local wall time (seconds since the epoch, as if UTC) of rule r in year y. */
static int64_t rule_local(const struct rule_date *r, int64_t y)
{
	int64_t jan1 = tzfile_days_from_civil(y, 1, 1), day;
	if (r->kind == 'J') {
		day = jan1 + r->n - 1 + (is_leap(y) && r->n >= 60);
	} else if (r->kind == 'N') {
		day = jan1 + r->n;
	} else {
		int64_t first = tzfile_days_from_civil(y, (unsigned)r->m, 1);
		day = first + (r->d - weekday(first) + 7) % 7 + (int64_t)(r->w - 1) * 7;
		while (day >= first + month_days(y, (unsigned)r->m))
			day -= 7;
	}
	return day * 86400 + r->secs;
}

struct rule_event {
	int64_t t;
	int dst; /* the state from t on */
};

/* The rule's changes in the years around t (local standard time), sorted;
 * at equal instants the end of DST sorts first, so DST all year stays on. */
static size_t rule_events(const struct posix_tz *p, int64_t t, struct rule_event ev[6])
{
	int64_t y;
	unsigned m, d;
	tzfile_civil_from_days(tzfile_floor_div(t + p->std_off, 86400), &y, &m, &d);
	size_t n = 0;
	for (int64_t yy = y - 1; yy <= y + 1; yy++) {
		ev[n++] = (struct rule_event){ rule_local(&p->start, yy) - p->std_off, 1 };
		ev[n++] = (struct rule_event){ rule_local(&p->end, yy) - p->dst_off, 0 };
	}
	for (size_t i = 1; i < n; i++) {
		struct rule_event e = ev[i];
		size_t j = i;
		while (j > 0 && (ev[j - 1].t > e.t || (ev[j - 1].t == e.t && ev[j - 1].dst > e.dst))) {
			ev[j] = ev[j - 1];
			j--;
		}
		ev[j] = e;
	}
	return n;
}

static int64_t clamp_t(int64_t t)
{
	return t > T_LIMIT ? T_LIMIT : t < -T_LIMIT ? -T_LIMIT : t;
}

/* ------------------------------------------------------------------------ */
/* lookups                                                                  */

/* Index of the last transition at or before t; n when t is before the first. */
static size_t last_at_or_before(const struct tzfile *z, int64_t t)
{
	if (!z->n || t < z->trans[0])
		return z->n;
	size_t lo = 0, hi = z->n; /* trans[lo] <= t < trans[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int32_t tzfile_offset(const struct tzfile *z, int64_t t, int *is_dst)
{
	size_t type = 0;
	int dst;
	int32_t off;
	if (z->n && t < z->trans[0]) {
		type = 0;
	} else if (z->n && t < z->trans[z->n - 1]) {
		type = z->idx[last_at_or_before(z, t)];
	} else if (z->has_rule) {
		const struct posix_tz *p = &z->rule;
		int state = -1;
		if (p->has_dst) {
			struct rule_event ev[6];
			size_t n = rule_events(p, clamp_t(t), ev);
			for (size_t i = 0; i < n; i++)
				if (ev[i].t <= t && (!z->n || ev[i].t > z->trans[z->n - 1]))
					state = ev[i].dst;
			if (state < 0 && !z->n)
				state = !ev[0].dst;
		} else {
			state = 0;
		}
		if (state >= 0) {
			if (is_dst)
				*is_dst = state;
			return state ? p->dst_off : p->std_off;
		}
		type = z->idx[z->n - 1];
	} else if (z->n) {
		type = z->idx[z->n - 1];
	}
	dst = z->type_dst[type];
	off = z->type_off[type];
	if (is_dst)
		*is_dst = dst;
	return off;
}

int64_t tzfile_next_change(const struct tzfile *z, int64_t t)
{
	if (z->n && t < z->trans[z->n - 1]) {
		size_t i = last_at_or_before(z, t);
		return i == z->n ? z->trans[0] : z->trans[i + 1];
	}
	if (!z->has_rule || !z->rule.has_dst || t >= T_LIMIT)
		return INT64_MAX;
	struct rule_event ev[6];
	size_t n = rule_events(&z->rule, clamp_t(t), ev);
	for (size_t i = 0; i < n; i++)
		if (ev[i].t > t)
			return ev[i].t;
	return INT64_MAX;
}

int64_t tzfile_prev_change(const struct tzfile *z, int64_t t)
{
	if (z->n && t < z->trans[0])
		return INT64_MIN;
	if (z->n && t < z->trans[z->n - 1])
		return z->trans[last_at_or_before(z, t)];
	int64_t best = z->n ? z->trans[z->n - 1] : INT64_MIN;
	if (!z->has_rule || !z->rule.has_dst || t <= -T_LIMIT)
		return best;
	struct rule_event ev[6];
	size_t n = rule_events(&z->rule, clamp_t(t), ev);
	for (size_t i = 0; i < n; i++)
		if (ev[i].t <= t && ev[i].t > best)
			best = ev[i].t;
	return best;
}

const char *tzfile_name(const struct tzfile *z)
{
	return z->name;
}

void tzfile_free(struct tzfile *z)
{
	if (!z)
		return;
	free(z->trans);
	free(z->idx);
	free(z->type_off);
	free(z->type_dst);
	free(z);
}

/* ------------------------------------------------------------------------ */
/* reading TZif                                                             */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzhead {
	char version;
	uint32_t isut, isstd, leap, time, type, chars;
};

static int read_head(const unsigned char *p, size_t len, struct tzhead *h)
{
	if (len < 44 || memcmp(p, "TZif", 4))
		return -1;
	h->version = (char)p[4];
	h->isut = be32(p + 20);
	h->isstd = be32(p + 24);
	h->leap = be32(p + 28);
	h->time = be32(p + 32);
	h->type = be32(p + 36);
	h->chars = be32(p + 40);
	return 0;
}

static uint64_t block_size(const struct tzhead *h, unsigned tsize)
{
	return (uint64_t)h->time * tsize + h->time + (uint64_t)h->type * 6 + h->chars +
	       (uint64_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

static struct tzfile *zone_new(const char *name)
{
	struct tzfile *z = calloc(1, sizeof *z);
	if (z)
		snprintf(z->name, sizeof z->name, "%s", name ? name : "");
	return z;
}

struct tzfile *tzfile_parse(const unsigned char *data, size_t len, const char *name, char *err, size_t errlen)
{
	const char *nm = name ? name : "zone";
	struct tzhead h;
	if (read_head(data, len, &h)) {
		snprintf(err, errlen, "'%s' is not a TZif zone file", nm);
		return NULL;
	}
	const unsigned char *p = data + 44;
	size_t left = len - 44;
	unsigned tsize = 4;
	if (h.version >= '2') {
		uint64_t skip = block_size(&h, 4);
		if (skip > left || read_head(p + skip, left - (size_t)skip, &h)) {
			snprintf(err, errlen, "'%s' is a truncated TZif file", nm);
			return NULL;
		}
		p += skip + 44;
		left -= (size_t)skip + 44;
		tsize = 8;
	}
	if (h.leap) {
		snprintf(err, errlen, "'%s' counts leap seconds (a \"right/\" zone); use the zone without \"right/\"", nm);
		return NULL;
	}
	uint64_t need = block_size(&h, tsize);
	if (need > left) {
		snprintf(err, errlen, "'%s' is a truncated TZif file", nm);
		return NULL;
	}
	if (!h.type || h.type > 256 || !h.chars || (h.isstd && h.isstd != h.type) || (h.isut && h.isut != h.type)) {
		snprintf(err, errlen, "'%s' has an invalid TZif header", nm);
		return NULL;
	}
	struct tzfile *z = zone_new(nm);
	if (!z) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	z->n = h.time;
	z->ntypes = h.type;
	z->trans = calloc(z->n ? z->n : 1, sizeof *z->trans);
	z->idx = calloc(z->n ? z->n : 1, 1);
	z->type_off = calloc(z->ntypes, sizeof *z->type_off);
	z->type_dst = calloc(z->ntypes, 1);
	if (!z->trans || !z->idx || !z->type_off || !z->type_dst) {
		snprintf(err, errlen, "out of memory");
		tzfile_free(z);
		return NULL;
	}
	const unsigned char *q = p;
	for (size_t i = 0; i < z->n; i++, q += tsize) {
		z->trans[i] = tsize == 8 ? be64(q) : (int64_t)(int32_t)be32(q);
		if (i && z->trans[i] <= z->trans[i - 1]) {
			snprintf(err, errlen, "'%s' has transitions out of order", nm);
			tzfile_free(z);
			return NULL;
		}
	}
	for (size_t i = 0; i < z->n; i++, q++) {
		if (*q >= z->ntypes) {
			snprintf(err, errlen, "'%s' names a time type it does not have", nm);
			tzfile_free(z);
			return NULL;
		}
		z->idx[i] = *q;
	}
	for (size_t i = 0; i < z->ntypes; i++, q += 6) {
		int32_t off = (int32_t)be32(q);
		if (off < -26 * 3600 || off > 26 * 3600 || q[4] > 1 || q[5] >= h.chars) {
			snprintf(err, errlen, "'%s' has an invalid time type", nm);
			tzfile_free(z);
			return NULL;
		}
		z->type_off[i] = off;
		z->type_dst[i] = q[4];
	}
	p += need;
	left -= (size_t)need;
	if (tsize == 8 && left > 0) {
		/* the footer: "\n<TZ string>\n" */
		const unsigned char *nl = left > 1 ? memchr(p + 1, '\n', left - 1) : NULL;
		if (p[0] != '\n' || !nl) {
			snprintf(err, errlen, "'%s' has a malformed footer", nm);
			tzfile_free(z);
			return NULL;
		}
		size_t flen = (size_t)(nl - p - 1);
		if (flen) {
			char foot[256];
			if (flen >= sizeof foot) {
				snprintf(err, errlen, "'%s' has a footer longer than %zu bytes", nm, sizeof foot - 1);
				tzfile_free(z);
				return NULL;
			}
			memcpy(foot, p + 1, flen);
			foot[flen] = 0;
			if (posix_parse(foot, &z->rule)) {
				snprintf(err, errlen, "'%s' has a TZ string this reader does not understand: '%s'", nm, foot);
				tzfile_free(z);
				return NULL;
			}
			z->has_rule = 1;
		}
	}
	return z;
}

struct tzfile *tzfile_from_posix(const char *tz, char *err, size_t errlen)
{
	struct tzfile *z = zone_new(tz);
	if (!z) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	z->ntypes = 1;
	z->type_off = calloc(1, sizeof *z->type_off);
	z->type_dst = calloc(1, 1);
	if (!z->type_off || !z->type_dst) {
		snprintf(err, errlen, "out of memory");
		tzfile_free(z);
		return NULL;
	}
	if (!tz || posix_parse(tz, &z->rule)) {
		snprintf(err, errlen, "'%s' is not a POSIX TZ string such as \"CET-1CEST,M3.5.0,M10.5.0/3\"",
			 tz ? tz : "");
		tzfile_free(z);
		return NULL;
	}
	z->has_rule = 1;
	z->type_off[0] = z->rule.std_off;
	return z;
}

/* IANA names: letters, digits and "/_+-.", relative, no "." or ".." parts. */
static int name_ok(const char *name)
{
	size_t len = strlen(name);
	if (!len || len > TZFILE_NAME_MAX || name[0] == '/')
		return 0;
	const char *part = name;
	for (const char *s = name;; s++) {
		if (*s == '/' || !*s) {
			size_t pl = (size_t)(s - part);
			if (!pl || (pl == 1 && part[0] == '.') || (pl == 2 && part[0] == '.' && part[1] == '.'))
				return 0;
			if (!*s)
				return 1;
			part = s + 1;
			continue;
		}
		if (!isalnum((unsigned char)*s) && !strchr("_+-.", *s))
			return 0;
	}
}

struct tzfile *tzfile_load(const char *name, const char *dir, char *err, size_t errlen)
{
	if (!name || !name_ok(name)) {
		snprintf(err, errlen, "'%.100s' is not a time zone name (an IANA name such as \"Europe/Berlin\" or \"UTC\")",
			 name ? name : "");
		return NULL;
	}
	if (!strcmp(name, "UTC")) {
		struct tzfile *z = zone_new(name);
		if (z) {
			z->ntypes = 1;
			z->type_off = calloc(1, sizeof *z->type_off);
			z->type_dst = calloc(1, 1);
		}
		if (!z || !z->type_off || !z->type_dst) {
			tzfile_free(z);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		return z;
	}
	if (!dir || !*dir)
		dir = getenv("TZDIR");
	if (!dir || !*dir)
		dir = TZFILE_DEFAULT_DIR;
	char path[4096];
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path) {
		snprintf(err, errlen, "time zone directory name is too long");
		return NULL;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		struct stat ds;
		if (stat(dir, &ds))
			snprintf(err, errlen, "cannot read time zone '%s': no zoneinfo directory '%s' (install the tzdata package)",
				 name, dir);
		else if (e == ENOENT || e == ENOTDIR)
			snprintf(err, errlen, "unknown time zone '%s' (no file '%s')", name, path);
		else
			snprintf(err, errlen, "cannot read time zone '%s': '%s': %s", name, path, strerror(e));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(err, errlen, "unknown time zone '%s' ('%s' is not a zone file)", name, path);
		return NULL;
	}
	if (st.st_size > TZFILE_MAX_BYTES) {
		close(fd);
		snprintf(err, errlen, "time zone '%s': '%s' is larger than %d bytes", name, path, TZFILE_MAX_BYTES);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1, len = 0;
	unsigned char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read time zone '%s': '%s': %s", name, path, strerror(errno));
			close(fd);
			free(buf);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len == cap) {
			snprintf(err, errlen, "time zone '%s': '%s' changed while it was read", name, path);
			close(fd);
			free(buf);
			return NULL;
		}
	}
	close(fd);
	char perr[512];
	struct tzfile *z = tzfile_parse(buf, len, name, perr, sizeof perr);
	free(buf);
	if (!z)
		snprintf(err, errlen, "time zone '%s' cannot be used: %s", name, perr);
	return z;
}
