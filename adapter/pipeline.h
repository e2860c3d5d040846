/*
 * pipeline.h — the per-series metric pipeline: raw samples in, the value
 * served to the HPA out.
 *
 *   sample ─► ring ─► smoothing ─► stabilisation ─► hysteresis ─► bounds ─► served
 *                                                       onError ─┘
 *
 * The pipeline is pure: it never reads a clock (every time is an argument,
 * int64 milliseconds since the Unix epoch), never does I/O, never logs and
 * allocates after pipeline_state_new() only a failure's message, kept while
 * the source fails (pipeline_fail; a message given to pipeline_fail_msg is
 * shared, not copied). The poller and the offline
 * simulator drive the same code, so the same calls give the same results bit
 * for bit.
 *
 * Time rules (one rule everywhere, the HPA's: ../shared/testdata/README.md):
 * - A record of age a is inside a window W iff a < W; a record exactly W old
 *   is outside. Ages are measured from the newest sample's timestamp (sample
 *   time, not now_ms), for smoothing and for stabilisation alike. This is the
 *   left-open range (t-W, t] of a Prometheus 3 range selector.
 * - A sample whose timestamp is not newer than the newest one already taken
 *   is ignored (it still counts as a successful fetch: it ends a failure).
 * - onError.maxAge is measured from the newest good sample's timestamp to
 *   now_ms, with the same strict rule: stale values are served while
 *   now - ts < maxAge.
 *
 * Stages, in order, for each new sample:
 * 1. ring: the newest samples (value, time) sized from the longest window
 *    and the poll interval: ceil(W / interval) plus an eighth plus 2 for
 *    jitter, at most PIPELINE_MAX_SAMPLES. When samples arrive faster than
 *    that, the oldest are dropped even while inside a window: the smoothing
 *    window then holds the newest `capacity` samples. A stabilisation window
 *    keeps its extreme: a dropped recommendation that is the max of the down
 *    window (the min of the up window) while still inside it is carried and
 *    counts until it leaves the window. A window carries at most two
 *    buckets: later such values merge into the newest one as the larger
 *    (up: smaller) while it spans less than the window, else open a new
 *    one; a bucket counts until its newest value leaves the window. So
 *    downHigh (step 3) is never below the largest recommendation of the
 *    last `down`, upLow never above the smallest of the last `up`, whatever
 *    the timing; under such overflow a value may be held longer than its
 *    window, never shorter, and at most one window longer: downHigh is never
 *    above the largest recommendation of the last 2 * `down` (upLow never
 *    below the smallest of the last 2 * `up`). Exact would need a list as
 *    long as the overflow; a carry is 40 bytes per window set.
 * 2. smoothing (the "recommendation"):
 *    none     the raw value;
 *    ema      time-aware: alpha = 1 - 2^(-dt/halfLife), dt the gap to the
 *             previous sample; the first sample initialises it;
 *    mean, median, max, min, quantile over the samples inside `window` of
 *             the newest one. quantile (and median, q = 0.5) interpolates
 *             linearly between the closest ranks as Prometheus' quantile()
 *             (promql/quantile.go, used by quantile_over_time) does:
 *             rank = q(n-1), v[floor]*(1-w) + v[floor+1]*w, w = rank-floor.
 * 3. stabilisation, as the HPA's stabilizeRecommendationWithBehaviors:
 *    upLow = min of the recommendations inside `up` (the new one included),
 *    downHigh = max inside `down` (the new one included); s := previous;
 *    if s < upLow then s := upLow; if s > downHigh then s := downHigh. A
 *    zero window means that direction is not stabilised. The first value
 *    is taken as is.
 * 4. hysteresis h (0 = off): the value moves to s only when
 *    |s - previous| > h * |previous| (any change passes when previous is 0).
 *    "previous" in steps 3 and 4 is the value before bounds: the state keeps
 *    the unclamped value, so a clamp never feeds back into the windows.
 * 5. bounds: the final clamp, applied when the value is read.
 *
 * onError: pipeline_fail() marks the source failing (a failure never adds a
 * sample and never resets a window). While failing, pipeline_served() gives
 * the last good value (stale) while now - its sample time < maxAge
 * (maxAge 0: never), else `fallback` when configured, else an error whose
 * reason says since when the source fails and its last error. A NaN or
 * +-Inf sample is such a failure ("value is NaN", "value is +Inf").
 *
 * Threads: nothing here locks. A state must not be used by two threads at
 * once; pipeline_served() only reads it. A cfg is only read.
 */
#ifndef SW_PIPELINE_H
#define SW_PIPELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Hard cap on the samples a ring holds (and so on window / interval). */
#define PIPELINE_MAX_SAMPLES 65536
/* Bytes kept of a failure's message, NUL included (cut at a UTF-8 boundary). */
#define PIPELINE_ERR_MAX 256

enum smooth_method {
	SMOOTH_NONE,
	SMOOTH_EMA,
	SMOOTH_MEAN,
	SMOOTH_MEDIAN,
	SMOOTH_MAX,
	SMOOTH_MIN,
	SMOOTH_QUANTILE,
};

/*
 * One metric's pipeline settings, as the config loader fills them. Fields a
 * method does not use are ignored (half_life_ms unless ema, window_ms unless
 * mean..quantile, q unless quantile).
 */
struct pipeline_cfg {
	enum smooth_method method;   /* smoothing.method */
	bool has_min, has_max;       /* bounds.min / bounds.max given */
	bool has_fallback;           /* onError.fallback given (else `error`) */
	int64_t half_life_ms;        /* smoothing.halfLife (ema) */
	int64_t window_ms;           /* smoothing.window (mean, median, max, min, quantile) */
	double q;                    /* smoothing.q (quantile), in [0, 1] */
	int64_t up_ms, down_ms;      /* stabilization.up / .down; 0 = none */
	double hysteresis;           /* hysteresis; 0 = off */
	double min, max;             /* bounds (has_min, has_max) */
	int64_t max_age_ms;          /* onError.maxAge; 0 = never serve a stale value */
	double fallback;             /* onError.fallback (has_fallback) */
	int64_t interval_ms;         /* interval: the poll interval, sizes the ring */
};

/*
 * Sets *cfg to the defaults of CONFIG.md: smoothing none, no stabilisation
 * windows, no hysteresis, no bounds, onError `error` with maxAge 0 (a failed
 * poll is reported at once, never hidden behind an old value), interval
 * 15 s. q is 0.5 (the loader should require q when the method is quantile).
 */
void pipeline_cfg_init(struct pipeline_cfg *cfg);

/*
 * Checks cfg. Returns 0 when it is usable, else -1 with a message in err
 * (NUL-terminated, truncated to n bytes; err may be NULL when n is 0) that
 * starts with the config key at fault, e.g. "smoothing.q: must be in [0, 1]".
 * Rejected: an unknown method, a missing or negative duration a method
 * needs, q outside [0, 1], negative windows or maxAge, a hysteresis that is
 * negative or not finite, non-finite bounds or min > max, a fallback that is
 * not finite or outside the bounds, interval <= 0, and a window that needs
 * more than PIPELINE_MAX_SAMPLES samples at the interval.
 */
int pipeline_cfg_validate(const struct pipeline_cfg *cfg, char *err, size_t n);

/*
 * True when a state made with cfg a can be driven with cfg b: the same
 * method, the same settings that method uses, the same stabilisation windows
 * and interval. hysteresis, bounds and onError may differ (hot reload keeps
 * the state); anything else needs a new state.
 */
bool pipeline_cfg_same_shape(const struct pipeline_cfg *a, const struct pipeline_cfg *b);

/* The config spelling of m ("none", "ema", ...); "unknown" for a value out of range. */
const char *smooth_method_name(enum smooth_method m);

/* Parses a config spelling (exact, lower-case). Returns 0 and sets *out, or -1 (out untouched). */
int smooth_method_parse(const char *s, enum smooth_method *out);

struct pipeline_state;

/*
 * Allocates a state for cfg (which must pass pipeline_cfg_validate; NULL
 * otherwise). Its size is fixed here: nothing is allocated afterwards.
 * Returns NULL when out of memory. Free with pipeline_state_free().
 * Every later call must pass a cfg of the same shape
 * (pipeline_cfg_same_shape); a different shape is a programming error
 * (assert).
 */
struct pipeline_state *pipeline_state_new(const struct pipeline_cfg *cfg);

/* Frees st; NULL is a no-op. */
void pipeline_state_free(struct pipeline_state *st);

/* What a series serves, for the API and for the own-metrics gauges. */
struct pipeline_out {
	bool ok;          /* false: answer the HPA with an error carrying reason */
	double value;     /* the served value (ok only) */
	int64_t ts_ms;    /* time of the newest sample behind value; for a stale
	                     value the last good sample's; for the fallback now_ms */
	bool stale;       /* ok, but from the last good sample or the fallback */
	double raw;       /* newest good raw sample; NaN before the first */
	double smoothed;  /* newest smoothed value; NaN before the first */
	char reason[320]; /* why not ok, or why stale; "" when fresh */
};

/*
 * Feeds one fetched sample taken at sample_ts_ms; now_ms is the time of the
 * fetch. A NaN or infinite value is handled as pipeline_fail() with the
 * reason "value is NaN" / "value is +Inf" / "value is -Inf". A finite value
 * ends a failure, even when its timestamp is not newer than the newest
 * sample (such a sample is otherwise ignored). O(log n) plus a memmove for
 * median/quantile, amortised O(1) for the other methods.
 */
void pipeline_step(const struct pipeline_cfg *cfg, struct pipeline_state *st,
                   double value, int64_t sample_ts_ms, int64_t now_ms);

/*
 * Records a failed fetch at now_ms with its message (NULL: "unknown error";
 * a bounded copy is kept, PIPELINE_ERR_MAX - 1 bytes at most, cut at a
 * UTF-8 boundary; the same text as the one kept is not copied again). The
 * first failure of a run sets "failing since"; later ones only replace the
 * message. Samples and windows are untouched. A state keeps its message only
 * while failing: a good sample drops it.
 */
void pipeline_fail(const struct pipeline_cfg *cfg, struct pipeline_state *st,
                   const char *reason, int64_t now_ms);

/*
 * A failure message that many states share: one failed fetch feeds every
 * series it serves with one message instead of one copy per series.
 * Immutable; reference counted (atomically: any thread may drop a reference).
 * pipeline_msg_new() keeps the same bounded copy as pipeline_fail() (NULL
 * text: "unknown error"); it returns NULL when out of memory, and
 * pipeline_fail_msg() accepts NULL as "unknown error (no memory for its
 * message)". pipeline_fail_msg() is pipeline_fail() with the state taking a
 * reference on msg; the caller keeps its own and drops it with
 * pipeline_msg_unref() (NULL is a no-op).
 */
struct pipeline_msg;
struct pipeline_msg *pipeline_msg_new(const char *text);
void pipeline_msg_unref(struct pipeline_msg *msg);
/* The message's text; "" for NULL. Valid while a reference is held. */
const char *pipeline_msg_text(const struct pipeline_msg *msg);
void pipeline_fail_msg(const struct pipeline_cfg *cfg, struct pipeline_state *st,
                       struct pipeline_msg *msg, int64_t now_ms);

/*
 * Fills *out with what to serve at now_ms. Before the first sample:
 * ok = false, reason "no value yet" (with the failure appended when the
 * source is failing, or the fallback when configured). See onError above.
 * Reasons name the failure's start as RFC 3339 UTC, its duration and the
 * last error: "source failing since 2024-05-01T12:00:00Z (for 2m30s), last
 * good sample at 2024-05-01T11:59:45Z: connection refused".
 */
void pipeline_served(const struct pipeline_cfg *cfg, const struct pipeline_state *st,
                     int64_t now_ms, struct pipeline_out *out);

/*
 * Persistence for --state-file. Save writes a self-describing little-endian
 * blob: magic, format version, the cfg's shape (method and its settings,
 * stabilisation windows, interval), the ring, the ema and running-sum state,
 * the served value and the failure (since, message), the stabilisation
 * windows' carries, and a CRC-32. *buf is malloc'd (caller frees); returns
 * 0, or -1 when out of memory (*buf NULL).
 *
 * Save writes version 2; load reads 2 and 1 (saved before the carries: it
 * loads as a state without carries). Load checks everything before it
 * changes anything: a blob that is not ours, of another version,
 * truncated, corrupt, or saved under a different
 * shape (the message names the key that changed, e.g. "smoothing.window
 * changed since the state was saved (5m then, 10m now)") returns -1 with a
 * message in err and leaves st exactly as it was. On success st continues
 * exactly as the saved state would have. hysteresis, bounds and onError are
 * not part of the shape: they apply from the current cfg.
 */
int pipeline_state_save(const struct pipeline_state *st, const struct pipeline_cfg *cfg,
                        unsigned char **buf, size_t *len);
int pipeline_state_load(struct pipeline_state *st, const struct pipeline_cfg *cfg,
                        const unsigned char *buf, size_t len, char *err, size_t n);

#endif
