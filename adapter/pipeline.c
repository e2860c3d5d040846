/*
 * pipeline.c — the per-series metric pipeline (see pipeline.h for the
 * behaviour; this file explains only how it is done).
 *
 * A state is one allocation: the struct followed by its arrays, sized at
 * creation from the cfg's shape. It holds no pointer into itself: an
 * array's place follows from the capacity and the bitmask of the arrays
 * present (arr_at), and the shape's settings come from the cfg every call
 * passes (the state keeps a hash of the shape for the asserts). The ring
 * holds, per sample, its time, its raw value (window methods only) and its
 * recommendation (only when a stabilisation window is set). Running
 * aggregates point into the ring by position (one byte when the ring holds
 * at most 256 samples, else two: it holds at most 65,536):
 * - the smoothing window is always the newest win_n ring entries;
 * - mean keeps a compensated running sum, rebuilt from the window after as
 *   many removals as the window holds (amortised O(1), no drift);
 * - median and quantile keep the window's values sorted (binary search and
 *   one memmove per insert and per removal);
 * - max, min and the two stabilisation windows keep monotonic deques.
 * Everything that is not stored (sorted array, deques, window length) is a
 * function of the ring, so a restored state rebuilds it and then behaves
 * bit for bit as the saved one would have.
 *
 * Samples faster than the ring was sized for evict entries still inside a
 * stabilisation window. When such an entry is its deque's front (the
 * window's max for down, min for up), it is kept in that window's carry:
 * up to two buckets in time order, each a value and the time of the newest
 * entry merged into it (`last`), plus the time of the first entry of the
 * newest bucket (`first`): 40 bytes right after the struct, present only
 * when the window is set. An eviction first drops the buckets that left
 * the window (last W or more old) and those the new entry dominates (down:
 * value not larger, up: not smaller; they end earlier). It then merges into
 * the newest bucket while that bucket spans less than W (first to the new
 * entry's time): the extreme of both values, last = the new time;
 * otherwise it opens a new bucket. A bucket thus holds entries less than W
 * apart and lives until its last one is W old: every value it serves is
 * less than 2W old, so a value is held at most W longer than exact, never
 * shorter (one (value, time) pair merged at the newer time held the first
 * maximum of a steady fall for as long as the ring overflowed). Exactness
 * would need a list as long as the overflow. The carry is state, not a
 * function of the ring: saved and restored as is (blob version 2). Its
 * times are int64, so the ts_base move does not touch them.
 *
 * Sample times are only ever compared with a window ending at the newest
 * one. When every window of the shape is at most TS_SPAN (2^31 ms, 24.8
 * days) long, the ring keeps them as 32-bit offsets from ts_base, which
 * trails the newest time by TS_SPAN + TS_LOW at most 2^32 ms: every entry
 * inside a window is exact. When a new time does not fit, the base moves up
 * (once per 24.8 days of samples, O(ring)); entries it leaves behind are
 * more than TS_SPAN old, outside every window, and are kept as offsets 0, 1,
 * 2... in their order (they are evicted as the ring fills; a saved state
 * shows those times, still older than every window). Longer windows keep
 * int64 times.
 */
#include "pipeline.h"
#include "hash.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ------------------------------------------------------------------------ */
/* Shape: the part of a cfg that decides what a state holds                  */

struct shape {
	enum smooth_method method;
	int64_t half_life_ms;   /* 0 unless ema */
	int64_t window_ms;      /* 0 unless a window method */
	double q;               /* 0 unless quantile */
	int64_t up_ms, down_ms, interval_ms;
};

/* A monotonic deque of ring positions; its array (cap entries of one or two
 * bytes) is one of the state's. */
struct mdeque {
	uint32_t head, n;
};

/* The arrays that may follow the struct, in this order (8-byte ones first). */
enum arr { A_TS64, A_RAW, A_REC, A_SORTED, A_TS32, A_EXT, A_UP, A_DOWN, A_COUNT };

/* Ring entries evicted while inside their stabilisation window: see the top.
 * b[0 .. n) are the live buckets, oldest first (n in pipeline_state.carries);
 * first belongs to the newest, b[n - 1]: the older one never merges again. */
struct carry_bucket {
	double v;     /* the extreme (down: max, up: min) of the entries merged in */
	int64_t last; /* the newest such entry's time: live while inside the window */
};
struct carry {
	struct carry_bucket b[2];
	int64_t first; /* the oldest entry's time of the newest bucket */
};

/* pipeline_state.carries: the up window's live bucket count in bits 0-1, the
 * down window's in bits 2-3 (0 .. 2 each; the saved blob keeps this byte). */
#define CARRY_MAX 2u

struct pipeline_state {
	uint32_t cap;           /* ring capacity, also each deque's */
	uint32_t head, n;       /* ring: n entries, the oldest at head */
	uint32_t win_n;         /* the newest win_n ring entries form the smoothing window */
	uint32_t since_rebuild; /* mean: removals since the sum was rebuilt */
	struct mdeque ext;      /* max / min: of raw over the smoothing window */
	struct mdeque up;       /* min of rec over the up window */
	struct mdeque down;     /* max of rec over the down window */
	uint32_t shape_hash;    /* of the cfg's shape, for asserts */
	uint8_t method;         /* enum smooth_method */
	uint8_t arrays;         /* 1 << enum arr for each array present */
	bool has_value;         /* a good sample has been taken */
	bool failing;
	uint8_t carries;        /* the carries' live bucket counts (carry_n) */

	int64_t ts_base;        /* A_TS32: times are offsets from this */
	double last_raw, last_smoothed;
	double held;            /* stabilised, after hysteresis, before bounds */
	union {
		struct {
			double sum, comp; /* mean: Neumaier sum of the window */
		};
		double ema;       /* ema */
	};

	int64_t fail_since;
	struct pipeline_msg *err;  /* the failure's message while failing; else NULL */
};

/* A failure's message, shared by the states one failed fetch feeds. */
struct pipeline_msg {
	atomic_uint refs;       /* 0: static, never freed */
	uint32_t len;           /* < PIPELINE_ERR_MAX */
	const char *text;       /* NUL-terminated; the bytes after the struct */
};

/* Used when there is no memory for a message: the failure is still recorded. */
static struct pipeline_msg oom_msg = {
	.refs = 0,
	.len = sizeof "unknown error (no memory for its message)" - 1,
	.text = "unknown error (no memory for its message)",
};

_Static_assert(sizeof(struct pipeline_state) % sizeof(int64_t) == 0,
               "arrays after the struct must stay 8-byte aligned");
_Static_assert(sizeof(struct carry) == 40, "a carry costs 40 bytes per window");

static bool is_window_method(enum smooth_method m)
{
	return m == SMOOTH_MEAN || m == SMOOTH_MEDIAN || m == SMOOTH_MAX ||
	       m == SMOOTH_MIN || m == SMOOTH_QUANTILE;
}

static struct shape shape_of(const struct pipeline_cfg *c)
{
	struct shape s = {
		.method = c->method,
		.up_ms = c->up_ms,
		.down_ms = c->down_ms,
		.interval_ms = c->interval_ms,
	};
	if (c->method == SMOOTH_EMA)
		s.half_life_ms = c->half_life_ms;
	if (is_window_method(c->method))
		s.window_ms = c->window_ms;
	if (c->method == SMOOTH_QUANTILE)
		s.q = c->q;
	return s;
}

static bool shape_eq(const struct shape *a, const struct shape *b)
{
	return a->method == b->method && a->half_life_ms == b->half_life_ms &&
	       a->window_ms == b->window_ms && a->q == b->q && a->up_ms == b->up_ms &&
	       a->down_ms == b->down_ms && a->interval_ms == b->interval_ms;
}

bool pipeline_cfg_same_shape(const struct pipeline_cfg *a, const struct pipeline_cfg *b)
{
	struct shape sa = shape_of(a), sb = shape_of(b);
	return shape_eq(&sa, &sb);
}

static uint32_t fnv_u64(uint32_t h, uint64_t v)
{
	for (int i = 0; i < 8; i++) {
		h ^= (uint32_t)(v >> (8 * i)) & 0xFFu;
		h *= 16777619u;
	}
	return h;
}

/* A state keeps a hash of its shape, not the shape: every call passes the cfg. */
static uint32_t shape_hash(const struct shape *s)
{
	uint64_t q;
	memcpy(&q, &s->q, sizeof q);
	uint32_t h = 2166136261u;
	h = fnv_u64(h, (uint64_t)s->method);
	h = fnv_u64(h, (uint64_t)s->half_life_ms);
	h = fnv_u64(h, (uint64_t)s->window_ms);
	h = fnv_u64(h, q);
	h = fnv_u64(h, (uint64_t)s->up_ms);
	h = fnv_u64(h, (uint64_t)s->down_ms);
	return fnv_u64(h, (uint64_t)s->interval_ms);
}

/* For asserts only (inline: no unused-function warning under NDEBUG). */
static inline bool state_fits(const struct pipeline_state *st, const struct pipeline_cfg *cfg)
{
	struct shape s = shape_of(cfg);
	return st->method == (uint8_t)cfg->method && st->shape_hash == shape_hash(&s);
}

/* ------------------------------------------------------------------------ */
/* Names, formatting, messages                                               */

static const char *const method_names[] = {
	[SMOOTH_NONE] = "none",     [SMOOTH_EMA] = "ema", [SMOOTH_MEAN] = "mean",
	[SMOOTH_MEDIAN] = "median", [SMOOTH_MAX] = "max", [SMOOTH_MIN] = "min",
	[SMOOTH_QUANTILE] = "quantile",
};
#define METHOD_COUNT (sizeof method_names / sizeof method_names[0])

const char *smooth_method_name(enum smooth_method m)
{
	if ((unsigned)m >= METHOD_COUNT)
		return "unknown";
	return method_names[m];
}

int smooth_method_parse(const char *s, enum smooth_method *out)
{
	if (!s)
		return -1;
	for (size_t i = 0; i < METHOD_COUNT; i++) {
		if (strcmp(s, method_names[i]) == 0) {
			*out = (enum smooth_method)i;
			return 0;
		}
	}
	return -1;
}

__attribute__((format(printf, 3, 4)))
static int fail_msg(char *err, size_t n, const char *fmt, ...)
{
	if (err && n > 0) {
		va_list ap;
		va_start(ap, fmt);
		int r = vsnprintf(err, n, fmt, ap);
		va_end(ap);
		if (r < 0)
			err[0] = '\0';
	}
	return -1;
}

/* A duration the way the config writes it: "1h30m", "15s", "1500ms", "0s". */
static void fmt_duration(char *buf, size_t n, int64_t ms)
{
	if (ms == 0) {
		snprintf(buf, n, "0s");
		return;
	}
	if (ms < 0 || ms % 1000 != 0) {
		snprintf(buf, n, "%lldms", (long long)ms);
		return;
	}
	long long s = ms / 1000;
	long long h = s / 3600, m = s / 60 % 60, sec = s % 60;
	size_t off = 0;
	int r;
	buf[0] = '\0';
	if (h) {
		r = snprintf(buf + off, n - off, "%lldh", h);
		if (r < 0 || (size_t)r >= n - off)
			return;
		off += (size_t)r;
	}
	if (m) {
		r = snprintf(buf + off, n - off, "%lldm", m);
		if (r < 0 || (size_t)r >= n - off)
			return;
		off += (size_t)r;
	}
	if (sec)
		snprintf(buf + off, n - off, "%llds", sec);
}

/* RFC 3339 UTC to the second; "@<ms>ms" for a time gmtime_r cannot show. */
static void fmt_time(char *buf, size_t n, int64_t ms)
{
	int64_t s = ms / 1000;
	if (ms % 1000 < 0)
		s--;
	time_t t = (time_t)s;
	struct tm tm;
	if (!gmtime_r(&t, &tm) || tm.tm_year < -1900 || tm.tm_year > 9999 - 1900) {
		snprintf(buf, n, "@%lldms", (long long)ms);
		return;
	}
	snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* How many bytes of src a message keeps: at most PIPELINE_ERR_MAX - 1, never cutting a UTF-8 sequence. */
static size_t msg_len(const char *src)
{
	size_t len = strnlen(src, PIPELINE_ERR_MAX - 1);
	if (src[len] != '\0') {
		while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80)
			len--;
	}
	return len;
}

/* A message of the len bytes at p (len < PIPELINE_ERR_MAX); NULL when out of memory. */
static struct pipeline_msg *msg_make(const char *p, size_t len)
{
	struct pipeline_msg *m = malloc(sizeof *m + len + 1);
	if (!m)
		return NULL;
	char *text = (char *)(m + 1);
	memcpy(text, p, len);
	text[len] = '\0';
	atomic_init(&m->refs, 1);
	m->len = (uint32_t)len;
	m->text = text;
	return m;
}

struct pipeline_msg *pipeline_msg_new(const char *text)
{
	if (!text)
		text = "unknown error";
	return msg_make(text, msg_len(text));
}

const char *pipeline_msg_text(const struct pipeline_msg *m)
{
	return m ? m->text : "";
}

static struct pipeline_msg *msg_ref(struct pipeline_msg *m)
{
	if (m->refs)
		atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
	return m;
}

void pipeline_msg_unref(struct pipeline_msg *m)
{
	if (!m || m == &oom_msg)
		return;
	if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1)
		free(m);
}

/* ------------------------------------------------------------------------ */
/* Config                                                                    */

void pipeline_cfg_init(struct pipeline_cfg *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->method = SMOOTH_NONE;
	cfg->q = 0.5;
	cfg->interval_ms = 15000;
}

static uint64_t samples_for(int64_t window_ms, int64_t interval_ms)
{
	if (window_ms <= 0)
		return 0;
	return (uint64_t)(window_ms / interval_ms) + (window_ms % interval_ms != 0);
}

/* The ring capacity for a valid shape: the longest window's samples plus slack for jitter. */
static uint32_t ring_cap(const struct shape *sh)
{
	uint64_t need = samples_for(sh->window_ms, sh->interval_ms);
	uint64_t u = samples_for(sh->up_ms, sh->interval_ms);
	uint64_t d = samples_for(sh->down_ms, sh->interval_ms);
	if (u > need)
		need = u;
	if (d > need)
		need = d;
	if (need == 0)
		return 1;
	uint64_t cap = need + need / 8 + 2;
	return cap > PIPELINE_MAX_SAMPLES ? PIPELINE_MAX_SAMPLES : (uint32_t)cap;
}

int pipeline_cfg_validate(const struct pipeline_cfg *c, char *err, size_t n)
{
	if ((unsigned)c->method >= METHOD_COUNT)
		return fail_msg(err, n, "smoothing.method: unknown method (%d)", (int)c->method);
	const char *mname = method_names[c->method];
	if (c->method == SMOOTH_EMA && c->half_life_ms <= 0)
		return fail_msg(err, n, "smoothing.halfLife: must be > 0 for method \"ema\"");
	if (is_window_method(c->method) && c->window_ms <= 0)
		return fail_msg(err, n, "smoothing.window: must be > 0 for method \"%s\"", mname);
	if (c->method == SMOOTH_QUANTILE && !(c->q >= 0.0 && c->q <= 1.0))
		return fail_msg(err, n, "smoothing.q: must be in [0, 1]");
	if (c->up_ms < 0)
		return fail_msg(err, n, "stabilization.up: must not be negative");
	if (c->down_ms < 0)
		return fail_msg(err, n, "stabilization.down: must not be negative");
	if (!isfinite(c->hysteresis) || c->hysteresis < 0)
		return fail_msg(err, n, "hysteresis: must be a finite number >= 0");
	if (c->has_min && !isfinite(c->min))
		return fail_msg(err, n, "bounds.min: must be a finite number");
	if (c->has_max && !isfinite(c->max))
		return fail_msg(err, n, "bounds.max: must be a finite number");
	if (c->has_min && c->has_max && c->min > c->max)
		return fail_msg(err, n, "bounds.min: %g is greater than bounds.max (%g)", c->min, c->max);
	if (c->max_age_ms < 0)
		return fail_msg(err, n, "onError.maxAge: must not be negative");
	if (c->has_fallback && !isfinite(c->fallback))
		return fail_msg(err, n, "onError.fallback: must be a finite number");
	if (c->has_fallback && c->has_min && c->fallback < c->min)
		return fail_msg(err, n, "onError.fallback: %g is below bounds.min (%g)", c->fallback, c->min);
	if (c->has_fallback && c->has_max && c->fallback > c->max)
		return fail_msg(err, n, "onError.fallback: %g is above bounds.max (%g)", c->fallback, c->max);
	if (c->interval_ms <= 0)
		return fail_msg(err, n, "interval: must be > 0");

	const char *key = NULL;
	int64_t w = 0;
	if (is_window_method(c->method)) {
		key = "smoothing.window";
		w = c->window_ms;
	}
	if (c->up_ms > w) {
		key = "stabilization.up";
		w = c->up_ms;
	}
	if (c->down_ms > w) {
		key = "stabilization.down";
		w = c->down_ms;
	}
	uint64_t need = samples_for(w, c->interval_ms);
	if (need > PIPELINE_MAX_SAMPLES) {
		char wbuf[48], ibuf[48];
		fmt_duration(wbuf, sizeof wbuf, w);
		fmt_duration(ibuf, sizeof ibuf, c->interval_ms);
		return fail_msg(err, n, "%s: %s at interval %s needs %llu samples; the limit is %d",
		                key, wbuf, ibuf, (unsigned long long)need, PIPELINE_MAX_SAMPLES);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* State layout                                                              */

#define TS_SPAN ((int64_t)1 << 31) /* windows up to this long: 32-bit sample times */
#define TS_LOW 65536               /* offsets below this: entries left behind by the base */

static bool shape_compact_ts(const struct shape *sh)
{
	return sh->window_ms <= TS_SPAN && sh->up_ms <= TS_SPAN && sh->down_ms <= TS_SPAN;
}

/* Bytes of one entry of array k: deque positions are one byte when the
 * ring holds at most 256 samples, else two. */
static size_t arr_elem(const struct pipeline_state *st, enum arr k)
{
	switch (k) {
	case A_TS64:
	case A_RAW:
	case A_REC:
	case A_SORTED:
		return 8;
	case A_TS32:
		return 4;
	default:
		return st->cap <= 256 ? 1 : 2;
	}
}

/* Bytes of the carries between the struct and the arrays: one per window set. */
static size_t carry_bytes(const struct pipeline_state *st)
{
	return sizeof(struct carry) *
	       ((st->arrays >> A_UP & 1u) + (st->arrays >> A_DOWN & 1u));
}

/* Where array k starts; with k = A_COUNT, the allocation's size. The arrays
 * follow the struct and its carries in enum order: 8-byte ones, the 4-byte
 * one, positions. */
static size_t arr_offset(const struct pipeline_state *st, enum arr k)
{
	size_t off = sizeof *st + carry_bytes(st);
	for (int i = 0; i < (int)k; i++)
		if (st->arrays & 1u << i)
			off += st->cap * arr_elem(st, (enum arr)i);
	return off;
}

/* Array k of st, or NULL when the shape has none. */
static void *arr_at(const struct pipeline_state *st, enum arr k)
{
	if (!(st->arrays & 1u << k))
		return NULL;
	return (unsigned char *)(uintptr_t)st + arr_offset(st, k);
}

#define TS64(st) ((int64_t *)arr_at(st, A_TS64))
#define RAW(st) ((double *)arr_at(st, A_RAW))
#define REC(st) ((double *)arr_at(st, A_REC))
#define SORTED(st) ((double *)arr_at(st, A_SORTED))
#define TS32(st) ((uint32_t *)arr_at(st, A_TS32))

/* The arrays a shape needs. */
static uint8_t shape_arrays(const struct shape *sh)
{
	enum smooth_method m = sh->method;
	bool compact = shape_compact_ts(sh);
	unsigned a = 0;
	a |= (unsigned)!compact << A_TS64;
	a |= (unsigned)is_window_method(m) << A_RAW;
	a |= (unsigned)(sh->up_ms > 0 || sh->down_ms > 0) << A_REC;
	a |= (unsigned)(m == SMOOTH_MEDIAN || m == SMOOTH_QUANTILE) << A_SORTED;
	a |= (unsigned)compact << A_TS32;
	a |= (unsigned)(m == SMOOTH_MAX || m == SMOOTH_MIN) << A_EXT;
	a |= (unsigned)(sh->up_ms > 0) << A_UP;
	a |= (unsigned)(sh->down_ms > 0) << A_DOWN;
	return (uint8_t)a;
}

struct pipeline_state *pipeline_state_new(const struct pipeline_cfg *cfg)
{
	if (pipeline_cfg_validate(cfg, NULL, 0) != 0)
		return NULL;
	struct pipeline_state tmpl;
	memset(&tmpl, 0, sizeof tmpl);
	struct shape sh = shape_of(cfg);
	tmpl.cap = ring_cap(&sh);
	tmpl.shape_hash = shape_hash(&sh);
	tmpl.method = (uint8_t)sh.method;
	tmpl.arrays = shape_arrays(&sh);

	struct pipeline_state *st = calloc(1, arr_offset(&tmpl, A_COUNT));
	if (!st)
		return NULL;
	*st = tmpl;
	return st;
}

void pipeline_state_free(struct pipeline_state *st)
{
	if (!st)
		return;
	pipeline_msg_unref(st->err);
	free(st);
}

/* ------------------------------------------------------------------------ */
/* Ring and monotonic deques                                                 */

static uint32_t wrap(uint32_t i, uint32_t cap)
{
	return i >= cap ? i - cap : i;
}

/* The ring position of the i-th oldest entry. */
static uint32_t ring_pos(const struct pipeline_state *st, uint32_t i)
{
	return wrap(st->head + i, st->cap);
}

/* The time of the sample at ring position pos. */
static int64_t ts_at(const struct pipeline_state *st, uint32_t pos)
{
	const int64_t *ts = TS64(st);
	if (ts)
		return ts[pos];
	return (int64_t)((uint64_t)st->ts_base + TS32(st)[pos]);
}

/* The newest sample's time (has_value: the ring is never empty then). */
static int64_t newest_ts(const struct pipeline_state *st)
{
	return ts_at(st, ring_pos(st, st->n - 1));
}

/* The base that keeps newest and everything up to TS_SPAN before it exact. */
static int64_t ts_base_for(int64_t newest)
{
	return (int64_t)((uint64_t)newest - (uint64_t)TS_SPAN - TS_LOW);
}

/* The offset of ts from base; rank, when ts is too old for it (entries that
 * old are a prefix of the ring: rank is their index, < TS_LOW). */
static uint32_t ts_offset(int64_t base, int64_t ts, uint32_t rank)
{
	int64_t d = (int64_t)((uint64_t)ts - (uint64_t)base);
	return d < TS_LOW ? rank : (uint32_t)d;
}

/* Stores time ts (newer than every entry) at the new position p. */
static void ts_store(struct pipeline_state *st, uint32_t p, int64_t ts)
{
	int64_t *ts64 = TS64(st);
	if (ts64) {
		ts64[p] = ts;
		return;
	}
	uint32_t *ts32 = TS32(st);
	if (st->n == 0 || (uint64_t)ts - (uint64_t)st->ts_base > UINT32_MAX) {
		int64_t base = ts_base_for(ts);
		for (uint32_t i = 0; i < st->n; i++) {
			uint32_t q = ring_pos(st, i);
			ts32[q] = ts_offset(base, ts_at(st, q), i);
		}
		st->ts_base = base;
	}
	ts32[p] = (uint32_t)((uint64_t)ts - (uint64_t)st->ts_base);
}

/* True when a record stamped ts is outside a window of w ms ending at newest (ts <= newest). */
static bool aged_out(int64_t newest, int64_t ts, int64_t w)
{
	return (uint64_t)newest - (uint64_t)ts >= (uint64_t)w;
}

/* The deque over array k (A_EXT, A_UP or A_DOWN). */
static struct mdeque *dq_of(const struct pipeline_state *st, enum arr k)
{
	struct pipeline_state *s = (struct pipeline_state *)(uintptr_t)st;
	return k == A_EXT ? &s->ext : k == A_UP ? &s->up : &s->down;
}

/* The i-th slot of deque k's array: a ring position. */
static uint32_t dq_slot(const struct pipeline_state *st, enum arr k, uint32_t i)
{
	const void *a = arr_at(st, k);
	return st->cap <= 256 ? ((const uint8_t *)a)[i] : ((const uint16_t *)a)[i];
}

static void dq_set_slot(struct pipeline_state *st, enum arr k, uint32_t i, uint32_t p)
{
	void *a = arr_at(st, k);
	if (st->cap <= 256)
		((uint8_t *)a)[i] = (uint8_t)p;
	else
		((uint16_t *)a)[i] = (uint16_t)p;
}

static uint32_t dq_front(const struct pipeline_state *st, enum arr k)
{
	return dq_slot(st, k, dq_of(st, k)->head);
}

static void dq_pop_front(struct pipeline_state *st, enum arr k)
{
	struct mdeque *d = dq_of(st, k);
	d->head = wrap(d->head + 1, st->cap);
	d->n--;
}

/*
 * Appends ring position p to deque k, first dropping the entries it
 * dominates: for a max deque those not greater than v[p], for a min deque
 * those not less. The front is then the window's extreme.
 */
static void dq_push(struct pipeline_state *st, enum arr k, const double *v, uint32_t p, bool want_max)
{
	struct mdeque *d = dq_of(st, k);
	while (d->n > 0) {
		double back = v[dq_slot(st, k, wrap(d->head + d->n - 1, st->cap))];
		if (want_max ? back > v[p] : back < v[p])
			break;
		d->n--;
	}
	dq_set_slot(st, k, wrap(d->head + d->n, st->cap), p);
	d->n++;
}

/* Drops the front entries of deque k that are w or more older than newest. */
static void dq_expire(struct pipeline_state *st, enum arr k, int64_t newest, int64_t w)
{
	struct mdeque *d = dq_of(st, k);
	while (d->n > 0 && aged_out(newest, ts_at(st, dq_front(st, k)), w))
		dq_pop_front(st, k);
}

/* Ring position p is about to be reused: only the front can refer to it. */
static void dq_forget(struct pipeline_state *st, enum arr k, uint32_t p)
{
	if (st->arrays & 1u << k && dq_of(st, k)->n > 0 && dq_front(st, k) == p)
		dq_pop_front(st, k);
}

/* ------------------------------------------------------------------------ */
/* Carries: window extremes the ring had to evict                           */

/* Where window k's (A_UP or A_DOWN) bucket count sits in pipeline_state.carries. */
static unsigned carry_shift(enum arr k)
{
	return k == A_UP ? 0 : 2;
}

/* The number of live buckets of window k's carry. */
static uint32_t carry_n(const struct pipeline_state *st, enum arr k)
{
	return st->carries >> carry_shift(k) & 3u;
}

static void carry_set_n(struct pipeline_state *st, enum arr k, uint32_t n)
{
	st->carries = (uint8_t)((st->carries & ~(3u << carry_shift(k))) | n << carry_shift(k));
}

/* The carry of stabilisation window k (A_UP or A_DOWN, which must be set). */
static struct carry *carry_of(const struct pipeline_state *st, enum arr k)
{
	assert(st->arrays & 1u << k);
	size_t i = k == A_DOWN && st->arrays & 1u << A_UP;
	return (struct carry *)((unsigned char *)(uintptr_t)st + sizeof *st) + i;
}

/* Drops window k's buckets that are w or more older than newest: the oldest
 * ones (b[0].last < b[1].first), and first stays with the newest. */
static void carry_expire(struct pipeline_state *st, enum arr k, int64_t newest, int64_t w)
{
	uint32_t n = carry_n(st, k);
	struct carry *c = carry_of(st, k);
	uint32_t gone = 0;
	while (gone < n && aged_out(newest, c->b[gone].last, w))
		gone++;
	if (gone == 0)
		return;
	memmove(c->b, c->b + gone, (n - gone) * sizeof c->b[0]);
	carry_set_n(st, k, n - gone);
}

/* Window k's extreme over its recommendation x and its live buckets. */
static double carry_extreme(const struct pipeline_state *st, enum arr k, double x)
{
	const struct carry *c = carry_of(st, k);
	for (uint32_t i = 0; i < carry_n(st, k); i++)
		if (k == A_DOWN ? c->b[i].v > x : c->b[i].v < x)
			x = c->b[i].v;
	return x;
}

/*
 * Ring position p is about to be reused for a sample at newest. When it is
 * window k's extreme (the deque's front) and still inside the window, it
 * goes into the carry (see the top): evictions go oldest first, so p's time
 * is newer than every bucket's.
 *
 * Two buckets suffice: a bucket opens only when the newest one is gone
 * (dominated) or spans W or more up to p's time t (t - first >= W). In the
 * second case an older bucket ended before first, so newest - its last >
 * t - first >= W: it left the window and carry_expire dropped it. Either
 * way at most one other bucket is live when one opens. The merge of the two
 * older buckets below is therefore never reached (a loaded carry is checked
 * for the same order: b[0].last < first); it is kept so that the carry
 * stays within two buckets whatever happens, and it is conservative: the
 * extreme of both, live until the later last.
 */
static void carry_keep(struct pipeline_state *st, enum arr k, uint32_t p, int64_t newest, int64_t w)
{
	if (!(st->arrays & 1u << k) || dq_of(st, k)->n == 0 || dq_front(st, k) != p)
		return;
	int64_t ts = ts_at(st, p);
	if (aged_out(newest, ts, w))
		return;
	double v = REC(st)[p];
	bool down = k == A_DOWN;
	struct carry *c = carry_of(st, k);
	carry_expire(st, k, newest, w);
	uint32_t n = carry_n(st, k), kept = 0;
	bool newest_kept = false; /* the newest bucket survives: first is its own */
	for (uint32_t i = 0; i < n; i++) {
		if (down ? v >= c->b[i].v : v <= c->b[i].v)
			continue; /* dominated: ends earlier, not more extreme */
		c->b[kept++] = c->b[i];
		newest_kept = i == n - 1;
	}
	n = kept;
	if (n > 0 && newest_kept && !aged_out(ts, c->first, w)) {
		/* the newest bucket was not dominated, so it is more extreme than
		 * v: it only lives on to p's time */
		c->b[n - 1].last = ts;
	} else {
		if (n == CARRY_MAX) {
			double v0 = c->b[0].v, v1 = c->b[1].v;
			c->b[0].v = down ? fmax(v0, v1) : fmin(v0, v1);
			c->b[0].last = c->b[1].last;
			n = 1;
		}
		c->b[n].v = v;
		c->b[n].last = ts;
		c->first = ts;
		n++;
	}
	carry_set_n(st, k, n);
}

/* ------------------------------------------------------------------------ */
/* Smoothing window                                                          */

static void ksum_add(double *sum, double *comp, double x)
{
	double t = *sum + x;
	if (fabs(*sum) >= fabs(x))
		*comp += (*sum - t) + x;
	else
		*comp += (x - t) + *sum;
	*sum = t;
}

static void sum_rebuild(struct pipeline_state *st)
{
	const double *raw = RAW(st);
	st->sum = 0;
	st->comp = 0;
	for (uint32_t i = st->n - st->win_n; i < st->n; i++)
		ksum_add(&st->sum, &st->comp, raw[ring_pos(st, i)]);
	st->since_rebuild = 0;
}

/* The first index of a[0..n) whose value is > v (upper) or >= v (lower). */
static uint32_t sorted_find(const double *a, uint32_t n, double v, bool upper)
{
	uint32_t lo = 0, hi = n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (upper ? a[mid] <= v : a[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static void sorted_insert(double *a, uint32_t n, double v)
{
	uint32_t i = sorted_find(a, n, v, true);
	memmove(a + i + 1, a + i, (size_t)(n - i) * sizeof *a);
	a[i] = v;
}

static void sorted_remove(double *a, uint32_t n, double v)
{
	uint32_t i = sorted_find(a, n, v, false);
	assert(i < n && a[i] == v);
	memmove(a + i, a + i + 1, (size_t)(n - i - 1) * sizeof *a);
}

/* Prometheus' quantile(): linear interpolation between the closest ranks. */
static double quantile_sorted(const double *a, uint32_t n, double q)
{
	double rank = q * (double)(n - 1);
	double lo = floor(rank);
	uint32_t li = (uint32_t)lo;
	uint32_t ui = li + 1 < n ? li + 1 : n - 1;
	double w = rank - lo;
	return a[li] * (1 - w) + a[ui] * w;
}

/* The newest ring entry (at p) joins the window. */
static void window_add(struct pipeline_state *st, uint32_t p)
{
	double *raw = RAW(st);
	double v = raw[p];
	switch (st->method) {
	case SMOOTH_MEAN:
		ksum_add(&st->sum, &st->comp, v);
		st->win_n++;
		if (!isfinite(st->sum) || !isfinite(st->comp))
			sum_rebuild(st);
		return;
	case SMOOTH_MEDIAN:
	case SMOOTH_QUANTILE:
		sorted_insert(SORTED(st), st->win_n, v);
		break;
	case SMOOTH_MAX:
	case SMOOTH_MIN:
		dq_push(st, A_EXT, raw, p, st->method == SMOOTH_MAX);
		break;
	default:
		break;
	}
	st->win_n++;
}

/* The window's oldest entry leaves it. */
static void window_drop_oldest(struct pipeline_state *st)
{
	uint32_t p = ring_pos(st, st->n - st->win_n);
	double v = RAW(st)[p];
	st->win_n--;
	switch (st->method) {
	case SMOOTH_MEAN:
		ksum_add(&st->sum, &st->comp, -v);
		st->since_rebuild++;
		if (st->since_rebuild >= st->win_n || !isfinite(st->sum) || !isfinite(st->comp))
			sum_rebuild(st);
		break;
	case SMOOTH_MEDIAN:
	case SMOOTH_QUANTILE:
		sorted_remove(SORTED(st), st->win_n + 1, v);
		break;
	case SMOOTH_MAX:
	case SMOOTH_MIN:
		dq_forget(st, A_EXT, p);
		break;
	default:
		break;
	}
}

static double window_mean(const struct pipeline_state *st)
{
	double s = st->sum + st->comp;
	if (isfinite(s))
		return s / st->win_n;
	/* The sum overflows; the mean of finite values does not. */
	const double *raw = RAW(st);
	double sum = 0, comp = 0;
	for (uint32_t i = st->n - st->win_n; i < st->n; i++)
		ksum_add(&sum, &comp, raw[ring_pos(st, i)] / st->win_n);
	return sum + comp;
}

static double window_value(const struct pipeline_cfg *cfg, const struct pipeline_state *st)
{
	switch (st->method) {
	case SMOOTH_MEAN:
		return window_mean(st);
	case SMOOTH_MEDIAN:
		return quantile_sorted(SORTED(st), st->win_n, 0.5);
	case SMOOTH_QUANTILE:
		return quantile_sorted(SORTED(st), st->win_n, cfg->q);
	case SMOOTH_MAX:
	case SMOOTH_MIN:
		return RAW(st)[dq_front(st, A_EXT)];
	default:
		assert(!"not a window method");
		return 0;
	}
}

/* ------------------------------------------------------------------------ */
/* Step                                                                      */

/*
 * Stores a sample in the ring, evicting the oldest when full; returns its
 * position. An evicted stabilisation extreme still inside its window
 * becomes that window's carry.
 */
static uint32_t ring_push(const struct pipeline_cfg *cfg, struct pipeline_state *st, double value,
                          int64_t ts)
{
	if (st->n == st->cap) {
		uint32_t old = st->head;
		if (st->arrays & 1u << A_RAW && st->win_n == st->n)
			window_drop_oldest(st);
		carry_keep(st, A_UP, old, ts, cfg->up_ms);
		carry_keep(st, A_DOWN, old, ts, cfg->down_ms);
		dq_forget(st, A_UP, old);
		dq_forget(st, A_DOWN, old);
		st->head = wrap(st->head + 1, st->cap);
		st->n--;
	}
	uint32_t p = ring_pos(st, st->n);
	ts_store(st, p, ts);
	double *raw = RAW(st);
	if (raw)
		raw[p] = value;
	st->n++;
	return p;
}

/* Time-aware EMA: alpha = 1 - 2^(-dt/halfLife). */
static double ema_update(const struct pipeline_cfg *cfg, struct pipeline_state *st, double v, int64_t ts,
                         int64_t prev_ts)
{
	if (!st->has_value) {
		st->ema = v;
		return v;
	}
	double dt = (double)((uint64_t)ts - (uint64_t)prev_ts);
	double alpha = -expm1(-dt / (double)cfg->half_life_ms * M_LN2);
	double d = v - st->ema;
	if (isfinite(d))
		st->ema += alpha * d;
	else
		st->ema = st->ema * (1 - alpha) + v * alpha;
	return st->ema;
}

static double smooth(const struct pipeline_cfg *cfg, struct pipeline_state *st, uint32_t p, double v,
                     int64_t ts, int64_t prev_ts)
{
	switch (st->method) {
	case SMOOTH_NONE:
		return v;
	case SMOOTH_EMA:
		return ema_update(cfg, st, v, ts, prev_ts);
	default:
		window_add(st, p);
		while (st->win_n > 0 &&
		       aged_out(ts, ts_at(st, ring_pos(st, st->n - st->win_n)), cfg->window_ms))
			window_drop_oldest(st);
		return window_value(cfg, st);
	}
}

/* Takes recommendation p into stabilisation window k (A_UP: its minimum,
 * A_DOWN: its maximum, w long) and returns the window's extreme, carry
 * included. */
static double window_extreme(struct pipeline_state *st, enum arr k, const double *recs, uint32_t p, int64_t ts,
                             int64_t w)
{
	dq_push(st, k, recs, p, k == A_DOWN);
	dq_expire(st, k, ts, w);
	carry_expire(st, k, ts, w);
	return carry_extreme(st, k, recs[dq_front(st, k)]);
}

/* Stabilisation (the HPA's rule) and hysteresis; returns the new held value. */
static double stabilise(const struct pipeline_cfg *cfg, struct pipeline_state *st, uint32_t p,
                        double rec, int64_t ts)
{
	double up_low = rec, down_high = rec;
	double *recs = REC(st);
	if (recs)
		recs[p] = rec;
	if (cfg->up_ms > 0)
		up_low = window_extreme(st, A_UP, recs, p, ts, cfg->up_ms);
	if (cfg->down_ms > 0)
		down_high = window_extreme(st, A_DOWN, recs, p, ts, cfg->down_ms);
	if (!st->has_value)
		return rec;

	double prev = st->held, s = prev;
	if (s < up_low)
		s = up_low;
	if (s > down_high)
		s = down_high;
	if (!(fabs(s - prev) > cfg->hysteresis * fabs(prev)))
		return prev;
	return s;
}

void pipeline_step(const struct pipeline_cfg *cfg, struct pipeline_state *st, double value,
                   int64_t sample_ts_ms, int64_t now_ms)
{
	assert(state_fits(st, cfg));
	if (isnan(value)) {
		pipeline_fail(cfg, st, "value is NaN", now_ms);
		return;
	}
	if (isinf(value)) {
		pipeline_fail(cfg, st, value > 0 ? "value is +Inf" : "value is -Inf", now_ms);
		return;
	}
	st->failing = false;
	pipeline_msg_unref(st->err); /* kept only while failing */
	st->err = NULL;
	int64_t prev_ts = st->has_value ? newest_ts(st) : 0;
	if (st->has_value && sample_ts_ms <= prev_ts)
		return;
	if (value == 0)
		value = 0.0; /* -0 is 0: keeps sorted windows and saved states exact */

	uint32_t p = ring_push(cfg, st, value, sample_ts_ms);
	double sm = smooth(cfg, st, p, value, sample_ts_ms, prev_ts);
	st->held = stabilise(cfg, st, p, sm, sample_ts_ms);
	st->last_raw = value;
	st->last_smoothed = sm;
	st->has_value = true;
}

void pipeline_fail(const struct pipeline_cfg *cfg, struct pipeline_state *st, const char *reason,
                   int64_t now_ms)
{
	assert(state_fits(st, cfg));
	if (!reason)
		reason = "unknown error";
	size_t len = msg_len(reason);
	if (st->err && st->err->len == len && !memcmp(st->err->text, reason, len)) {
		/* the same message again (a source down for a while): nothing to copy */
		pipeline_fail_msg(cfg, st, st->err, now_ms);
		return;
	}
	struct pipeline_msg *m = msg_make(reason, len);
	pipeline_fail_msg(cfg, st, m ? m : &oom_msg, now_ms);
	pipeline_msg_unref(m);
}

void pipeline_fail_msg(const struct pipeline_cfg *cfg, struct pipeline_state *st, struct pipeline_msg *msg,
                       int64_t now_ms)
{
	assert(state_fits(st, cfg));
	if (!st->failing) {
		st->failing = true;
		st->fail_since = now_ms;
	}
	if (!msg)
		msg = &oom_msg;
	if (st->err != msg) {
		msg_ref(msg);
		pipeline_msg_unref(st->err);
		st->err = msg;
	}
}

/* ------------------------------------------------------------------------ */
/* Served value                                                              */

static double bounded(const struct pipeline_cfg *cfg, double v)
{
	if (cfg->has_min && v < cfg->min)
		v = cfg->min;
	if (cfg->has_max && v > cfg->max)
		v = cfg->max;
	return v;
}

/* "source failing since T (for D)[, last good sample at T2]: err" */
static void failure_text(const struct pipeline_state *st, int64_t now_ms, char *buf, size_t n)
{
	char since[48], dur[48], last[80] = "";
	fmt_time(since, sizeof since, st->fail_since);
	int64_t d = now_ms > st->fail_since ? now_ms - st->fail_since : 0;
	fmt_duration(dur, sizeof dur, d >= 1000 ? d - d % 1000 : d);
	if (st->has_value) {
		char t[48];
		fmt_time(t, sizeof t, newest_ts(st));
		snprintf(last, sizeof last, ", last good sample at %s", t);
	}
	int r = snprintf(buf, n, "%ssource failing since %s (for %s)%s: %s",
	                 st->has_value ? "" : "no value yet: ", since, dur, last,
	                 pipeline_msg_text(st->err));
	if (r < 0)
		buf[0] = '\0';
}

void pipeline_served(const struct pipeline_cfg *cfg, const struct pipeline_state *st,
                     int64_t now_ms, struct pipeline_out *out)
{
	assert(state_fits(st, cfg));
	out->ok = false;
	out->value = 0;
	int64_t newest = st->has_value ? newest_ts(st) : 0;
	out->ts_ms = newest;
	out->stale = false;
	out->raw = st->has_value ? st->last_raw : NAN;
	out->smoothed = st->has_value ? st->last_smoothed : NAN;
	out->reason[0] = '\0';

	if (!st->failing) {
		if (!st->has_value) {
			snprintf(out->reason, sizeof out->reason, "no value yet");
			return;
		}
		out->ok = true;
		out->value = bounded(cfg, st->held);
		return;
	}

	failure_text(st, now_ms, out->reason, sizeof out->reason);
	if (st->has_value && cfg->max_age_ms > 0 &&
	    (now_ms <= newest || !aged_out(now_ms, newest, cfg->max_age_ms))) {
		out->ok = true;
		out->stale = true;
		out->value = bounded(cfg, st->held);
		return;
	}
	if (cfg->has_fallback) {
		out->ok = true;
		out->stale = true;
		out->value = cfg->fallback;
		out->ts_ms = now_ms;
	}
}

/* ------------------------------------------------------------------------ */
/* Persistence                                                               */

/*
 * Blob, version 2, little-endian:
 *   "SWPL" u32 version, u32 total length
 *   shape: u8 method, i64 halfLife, i64 window, f64 q, i64 up, i64 down, i64 interval
 *   u8 flags (1 has_value, 2 failing)
 *   i64 newest_ts, f64 last_raw, f64 last_smoothed, f64 ema, f64 held
 *   f64 sum, f64 comp, u32 since_rebuild
 *   i64 fail_since, u16 err length, err bytes
 *   u32 count, then count entries oldest first: i64 ts [, f64 raw] [, f64 rec]
 *     (raw for window methods, rec when a stabilisation window is set)
 *   u8 carries: the up window's live bucket count in bits 0-1, the down
 *     window's in bits 2-3 (0 .. 2); then for each window with buckets, up
 *     first: per bucket, oldest first, f64 value, i64 last; then i64 first
 *     (of the newest bucket)
 *   u32 CRC-32 (IEEE) of everything before it
 * Version 1 is the same without the carries (not even their byte): it is
 * still read, as a state without carries, so an upgrade keeps the windows.
 */
#define BLOB_MAGIC "SWPL"
#define BLOB_VERSION 2u
#define BLOB_FLAG_VALUE 1u
#define BLOB_FLAG_FAILING 2u

struct wbuf {
	unsigned char *p;
	size_t off;
};

static void put_uint(struct wbuf *w, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		w->p[w->off++] = (unsigned char)(v >> (8 * i));
}

static void put_f64(struct wbuf *w, double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	put_uint(w, u, 8);
}

struct rbuf {
	const unsigned char *p;
	size_t len, off;
	bool bad;
};

static uint64_t get_uint(struct rbuf *r, int bytes)
{
	if (r->bad || r->len - r->off < (size_t)bytes) {
		r->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[r->off++] << (8 * i);
	return v;
}

static int64_t get_i64(struct rbuf *r)
{
	uint64_t u = get_uint(r, 8);
	int64_t v;
	memcpy(&v, &u, sizeof v);
	return v;
}

static double get_f64(struct rbuf *r)
{
	uint64_t u = get_uint(r, 8);
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

static size_t entry_size(const struct pipeline_state *st)
{
	return 8 + (st->arrays & 1u << A_RAW ? 8 : 0) + (st->arrays & 1u << A_REC ? 8 : 0);
}

#define BLOB_FIXED_V1 (4 + 4 + 4 + 49 + 1 + 5 * 8 + 2 * 8 + 4 + 8 + 2 + 4 + 4)
#define BLOB_FIXED (BLOB_FIXED_V1 + 1)

/* Bytes of the carries in a blob, after their byte. */
static size_t carry_blob_bytes(const struct pipeline_state *st)
{
	size_t b = 0;
	for (enum arr k = A_UP; k <= A_DOWN; k++)
		if (st->arrays & 1u << k && carry_n(st, k) > 0)
			b += carry_n(st, k) * 16 + 8;
	return b;
}

int pipeline_state_save(const struct pipeline_state *st, const struct pipeline_cfg *cfg,
                        unsigned char **buf, size_t *len)
{
	assert(state_fits(st, cfg));
	size_t elen = st->err ? st->err->len : 0;
	size_t total = BLOB_FIXED + elen + (size_t)st->n * entry_size(st) +
	               carry_blob_bytes(st);
	*buf = NULL;
	*len = 0;
	unsigned char *p = malloc(total);
	if (!p)
		return -1;

	struct wbuf w = {p, 0};
	memcpy(p, BLOB_MAGIC, 4);
	w.off = 4;
	put_uint(&w, BLOB_VERSION, 4);
	put_uint(&w, total, 4);
	struct shape sh = shape_of(cfg);
	put_uint(&w, (uint64_t)sh.method, 1);
	put_uint(&w, (uint64_t)sh.half_life_ms, 8);
	put_uint(&w, (uint64_t)sh.window_ms, 8);
	put_f64(&w, sh.q);
	put_uint(&w, (uint64_t)sh.up_ms, 8);
	put_uint(&w, (uint64_t)sh.down_ms, 8);
	put_uint(&w, (uint64_t)sh.interval_ms, 8);
	put_uint(&w, (st->has_value ? BLOB_FLAG_VALUE : 0) | (st->failing ? BLOB_FLAG_FAILING : 0), 1);
	put_uint(&w, (uint64_t)(st->has_value ? newest_ts(st) : 0), 8);
	put_f64(&w, st->last_raw);
	put_f64(&w, st->last_smoothed);
	bool ema = st->method == SMOOTH_EMA, mean = st->method == SMOOTH_MEAN;
	put_f64(&w, ema ? st->ema : 0); /* one of the two, the other is 0 */
	put_f64(&w, st->held);
	put_f64(&w, mean ? st->sum : 0);
	put_f64(&w, mean ? st->comp : 0);
	put_uint(&w, st->since_rebuild, 4);
	put_uint(&w, (uint64_t)st->fail_since, 8);
	put_uint(&w, elen, 2);
	if (elen)
		memcpy(p + w.off, st->err->text, elen);
	w.off += elen;
	put_uint(&w, st->n, 4);
	const double *raw = RAW(st), *rec = REC(st);
	for (uint32_t i = 0; i < st->n; i++) {
		uint32_t pos = ring_pos(st, i);
		put_uint(&w, (uint64_t)ts_at(st, pos), 8);
		if (raw)
			put_f64(&w, raw[pos]);
		if (rec)
			put_f64(&w, rec[pos]);
	}
	put_uint(&w, st->carries, 1);
	for (enum arr k = A_UP; k <= A_DOWN; k++) {
		if (!(st->arrays & 1u << k) || carry_n(st, k) == 0)
			continue;
		const struct carry *c = carry_of(st, k);
		for (uint32_t i = 0; i < carry_n(st, k); i++) {
			put_f64(&w, c->b[i].v);
			put_uint(&w, (uint64_t)c->b[i].last, 8);
		}
		put_uint(&w, (uint64_t)c->first, 8);
	}
	put_uint(&w, sw_crc32(p, w.off), 4);
	assert(w.off == total);
	*buf = p;
	*len = total;
	return 0;
}

/* Names the first shape setting that differs between the blob (then) and the cfg (now). */
static int shape_diff(const struct shape *then, const struct shape *now, char *err, size_t n)
{
	const char *key = NULL;
	char a[48], b[48];
	struct {
		const char *key;
		int64_t then, now;
	} d[] = {
		{"smoothing.halfLife", then->half_life_ms, now->half_life_ms},
		{"smoothing.window", then->window_ms, now->window_ms},
		{"stabilization.up", then->up_ms, now->up_ms},
		{"stabilization.down", then->down_ms, now->down_ms},
		{"interval", then->interval_ms, now->interval_ms},
	};
	if (then->method != now->method) {
		key = "smoothing.method";
		snprintf(a, sizeof a, "\"%s\"", smooth_method_name(then->method));
		snprintf(b, sizeof b, "\"%s\"", smooth_method_name(now->method));
	}
	for (size_t i = 0; !key && i < sizeof d / sizeof d[0]; i++) {
		if (d[i].then != d[i].now) {
			key = d[i].key;
			fmt_duration(a, sizeof a, d[i].then);
			fmt_duration(b, sizeof b, d[i].now);
		}
	}
	if (!key && then->q != now->q) {
		key = "smoothing.q";
		snprintf(a, sizeof a, "%g", then->q);
		snprintf(b, sizeof b, "%g", now->q);
	}
	if (!key)
		return 0;
	return fail_msg(err, n, "%s changed since the state was saved (%s then, %s now)", key, a, b);
}

/* Rebuilds what the ring implies: the window length, sorted values and deques. */
static void state_rebuild(const struct pipeline_cfg *cfg, struct pipeline_state *st)
{
	if (st->n == 0)
		return;
	int64_t newest = ts_at(st, ring_pos(st, st->n - 1));
	const double *raw = RAW(st), *rec = REC(st);
	double *sorted = SORTED(st);
	bool up = st->arrays & 1u << A_UP, down = st->arrays & 1u << A_DOWN;
	if (raw) {
		uint32_t k = 0;
		while (k < st->n && !aged_out(newest, ts_at(st, ring_pos(st, st->n - 1 - k)), cfg->window_ms))
			k++;
		for (uint32_t i = st->n - k; i < st->n; i++) {
			uint32_t p = ring_pos(st, i);
			if (sorted)
				sorted_insert(sorted, st->win_n, raw[p]);
			if (st->arrays & 1u << A_EXT)
				dq_push(st, A_EXT, raw, p, st->method == SMOOTH_MAX);
			st->win_n++;
		}
	}
	for (uint32_t i = 0; i < st->n; i++) {
		uint32_t p = ring_pos(st, i);
		if (up)
			dq_push(st, A_UP, rec, p, false);
		if (down)
			dq_push(st, A_DOWN, rec, p, true);
	}
	if (up)
		dq_expire(st, A_UP, newest, cfg->up_ms);
	if (down)
		dq_expire(st, A_DOWN, newest, cfg->down_ms);
}

/*
 * Reads a version 2 blob's carries into tmp, whose count ring entries are
 * read (newest: the newest one's time). Live buckets come from a full ring
 * and are what carry_keep leaves: at most two per window set, finite, in
 * time order (b[0].last < first <= b[1].last), the newest spanning less
 * than the window (last - first < W), each older than the ring's oldest
 * entry and still inside its window (a bucket is dropped when it leaves
 * it); anything else is refused (-1). The oldest entry's time is exact
 * here: it is newer than a bucket inside a window.
 */
static int blob_carries(const struct pipeline_cfg *cfg, struct pipeline_state *tmp, struct rbuf *r,
                        uint64_t count, int64_t newest)
{
	unsigned carries = (unsigned)get_uint(r, 1);
	if (r->bad || carries & ~0xFu || (carries && count != tmp->cap))
		return -1;
	tmp->carries = (uint8_t)carries;
	for (enum arr k = A_UP; k <= A_DOWN; k++) {
		uint32_t nb = carry_n(tmp, k);
		if (nb == 0)
			continue;
		if (nb > CARRY_MAX || !(tmp->arrays & 1u << k))
			return -1;
		struct carry *c = carry_of(tmp, k);
		int64_t w = k == A_UP ? cfg->up_ms : cfg->down_ms;
		for (uint32_t i = 0; i < nb; i++) {
			c->b[i].v = get_f64(r);
			c->b[i].last = get_i64(r);
			if (r->bad || !isfinite(c->b[i].v) || c->b[i].last >= ts_at(tmp, 0) ||
			    c->b[i].last > newest || aged_out(newest, c->b[i].last, w))
				return -1;
		}
		c->first = get_i64(r);
		int64_t last = c->b[nb - 1].last;
		if (r->bad || c->first > last || aged_out(last, c->first, w) ||
		    (nb == 2 && c->b[0].last >= c->first))
			return -1;
	}
	return 0;
}

/* Parses the blob into tmp (a fresh state of the cfg's shape); -1 with a message. */
static int blob_parse(const struct pipeline_cfg *cfg, struct pipeline_state *tmp, const unsigned char *buf,
                      size_t len, char *err, size_t n)
{
	if (len < 4 || memcmp(buf, BLOB_MAGIC, 4) != 0)
		return fail_msg(err, n, len < 4 ? "state blob truncated: %zu bytes"
		                                : "state blob: not a pipeline state (%zu bytes, bad magic)",
		                len);
	struct rbuf r = {buf, len, 4, false};
	uint64_t version = get_uint(&r, 4);
	if (r.bad)
		return fail_msg(err, n, "state blob truncated: %zu bytes", len);
	if (version != 1 && version != BLOB_VERSION)
		return fail_msg(err, n, "state blob: version %llu is not supported (this build reads 1 and %u)",
		                (unsigned long long)version, BLOB_VERSION);
	size_t fixed = version == 1 ? BLOB_FIXED_V1 : BLOB_FIXED;
	uint64_t total = get_uint(&r, 4);
	if (r.bad)
		return fail_msg(err, n, "state blob truncated: %zu bytes", len);
	if (total > len)
		return fail_msg(err, n, "state blob truncated: %zu of %llu bytes", len,
		                (unsigned long long)total);
	if (total != len || total < fixed)
		return fail_msg(err, n, "state blob corrupt: length %zu, header says %llu", len,
		                (unsigned long long)total);
	uint32_t crc = (uint32_t)buf[len - 4] | (uint32_t)buf[len - 3] << 8 |
	               (uint32_t)buf[len - 2] << 16 | (uint32_t)buf[len - 1] << 24;
	if (crc != sw_crc32(buf, len - 4))
		return fail_msg(err, n, "state blob corrupt: checksum mismatch");
	r.len = len - 4;

	struct shape then;
	memset(&then, 0, sizeof then);
	then.method = (enum smooth_method)get_uint(&r, 1);
	then.half_life_ms = get_i64(&r);
	then.window_ms = get_i64(&r);
	then.q = get_f64(&r);
	then.up_ms = get_i64(&r);
	then.down_ms = get_i64(&r);
	then.interval_ms = get_i64(&r);
	struct shape now = shape_of(cfg);
	if (shape_diff(&then, &now, err, n) != 0)
		return -1;

	unsigned flags = (unsigned)get_uint(&r, 1);
	tmp->has_value = flags & BLOB_FLAG_VALUE;
	tmp->failing = flags & BLOB_FLAG_FAILING;
	int64_t newest = get_i64(&r);
	tmp->last_raw = get_f64(&r);
	tmp->last_smoothed = get_f64(&r);
	double ema = get_f64(&r);
	tmp->held = get_f64(&r);
	double sum = get_f64(&r), comp = get_f64(&r);
	if (tmp->method == SMOOTH_EMA) {
		tmp->ema = ema;
	} else if (tmp->method == SMOOTH_MEAN) {
		tmp->sum = sum;
		tmp->comp = comp;
	}
	tmp->since_rebuild = (uint32_t)get_uint(&r, 4);
	tmp->fail_since = get_i64(&r);
	size_t elen = (size_t)get_uint(&r, 2);
	if (r.bad || flags & ~(BLOB_FLAG_VALUE | BLOB_FLAG_FAILING))
		return fail_msg(err, n, "state blob corrupt: bad header");
	if (elen >= PIPELINE_ERR_MAX || r.len - r.off < elen || memchr(buf + r.off, 0, elen))
		return fail_msg(err, n, "state blob corrupt: bad error message");
	if (elen) {
		tmp->err = msg_make((const char *)buf + r.off, elen);
		if (!tmp->err)
			return fail_msg(err, n, "state blob: out of memory");
	}
	r.off += elen;

	uint64_t count = get_uint(&r, 4);
	size_t tail = fixed - BLOB_FIXED_V1; /* the carries' byte, after the entries */
	if (r.bad || count > tmp->cap || (count > 0) != tmp->has_value || r.len - r.off < tail ||
	    (r.len - r.off - tail) / entry_size(tmp) < count)
		return fail_msg(err, n, "state blob corrupt: bad sample count %llu (ring holds %u)",
		                (unsigned long long)count, tmp->cap);
	if (tmp->has_value && (!isfinite(tmp->last_raw) || !isfinite(tmp->last_smoothed) ||
	                       !isfinite(tmp->held) || !isfinite(ema)))
		return fail_msg(err, n, "state blob corrupt: value is not finite");
	int64_t prev = 0;
	tmp->ts_base = ts_base_for(newest);
	int64_t *ts64 = TS64(tmp);
	uint32_t *ts32 = TS32(tmp);
	double *raw = RAW(tmp), *rec = REC(tmp);
	for (uint32_t i = 0; i < count; i++) {
		int64_t t = get_i64(&r);
		if (ts64)
			ts64[i] = t;
		else
			ts32[i] = ts_offset(tmp->ts_base, t, i);
		if (raw)
			raw[i] = get_f64(&r);
		if (rec)
			rec[i] = get_f64(&r);
		if ((i > 0 && t <= prev) || (raw && !isfinite(raw[i])) || (rec && !isfinite(rec[i])))
			return fail_msg(err, n, "state blob corrupt: bad sample %u", i);
		prev = t;
	}
	if (version > 1 && blob_carries(cfg, tmp, &r, count, newest) != 0)
		return fail_msg(err, n, "state blob corrupt: bad carry");
	if (r.bad || r.off != r.len)
		return fail_msg(err, n, "state blob corrupt: %zu bytes left over", r.len - r.off);
	if (count > 0 && prev != newest)
		return fail_msg(err, n, "state blob corrupt: newest sample time disagrees");
	tmp->head = 0;
	tmp->n = (uint32_t)count;
	state_rebuild(cfg, tmp);
	return 0;
}

int pipeline_state_load(struct pipeline_state *st, const struct pipeline_cfg *cfg,
                        const unsigned char *buf, size_t len, char *err, size_t n)
{
	assert(state_fits(st, cfg));
	struct pipeline_state *tmp = pipeline_state_new(cfg);
	if (!tmp)
		return fail_msg(err, n, "state blob: out of memory");
	size_t bytes = arr_offset(tmp, A_COUNT);
	assert(bytes == arr_offset(st, A_COUNT));
	if (blob_parse(cfg, tmp, buf, len, err, n) != 0) {
		pipeline_state_free(tmp);
		return -1;
	}
	pipeline_msg_unref(st->err);
	memcpy(st, tmp, bytes); /* no pointers inside: a plain copy */
	tmp->err = NULL; /* now st's */
	pipeline_state_free(tmp);
	return 0;
}
