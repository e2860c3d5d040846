/*
 * test_pipeline.c — the metric pipeline: smoothing, stabilisation,
 * hysteresis, bounds, onError, persistence and config validation.
 * Expected values are worked out by hand in the comments, or (for the long
 * runs) by a brute-force reference written independently of the pipeline.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline.h"
#include "hash.h"

#define SEC(x) ((int64_t)(x) * 1000)
/* 2024-05-01T12:00:00Z */
static const int64_t T0 = INT64_C(1714564800000);

#define assert_near(a, b, eps)                                                              \
	do {                                                                                \
		double got_ = (a), want_ = (b);                                             \
		if (!(fabs(got_ - want_) <= (eps)))                                         \
			fail_msg("%s = %.17g, expected %.17g (eps %g)", #a, got_, want_,    \
			         (double)(eps));                                            \
	} while (0)

#define assert_same(a, b)                                                                   \
	do {                                                                                \
		double got_ = (a), want_ = (b);                                             \
		if (memcmp(&got_, &want_, sizeof got_) != 0)                                \
			fail_msg("%s = %.17g, expected exactly %.17g", #a, got_, want_);    \
	} while (0)

static struct pipeline_cfg cfg_of(enum smooth_method m)
{
	struct pipeline_cfg c;
	pipeline_cfg_init(&c);
	c.method = m;
	if (m == SMOOTH_EMA)
		c.half_life_ms = SEC(60);
	if (m >= SMOOTH_MEAN)
		c.window_ms = SEC(60);
	return c;
}

static struct pipeline_state *state_of(const struct pipeline_cfg *c)
{
	char err[256] = "";
	int rc = pipeline_cfg_validate(c, err, sizeof err);
	if (rc != 0)
		fail_msg("cfg rejected: %s", err);
	struct pipeline_state *st = pipeline_state_new(c);
	assert_non_null(st);
	return st;
}

/* Feeds one sample at ts (now = ts) and returns what is served then; asserts it is ok. */
static struct pipeline_out feed(const struct pipeline_cfg *c, struct pipeline_state *st, double v,
                                int64_t ts)
{
	struct pipeline_out o;
	pipeline_step(c, st, v, ts, ts);
	pipeline_served(c, st, ts, &o);
	if (!o.ok)
		fail_msg("not ok after sample %g at %lld: %s", v, (long long)ts, o.reason);
	return o;
}

static double fed(const struct pipeline_cfg *c, struct pipeline_state *st, double v, int64_t ts)
{
	return feed(c, st, v, ts).value;
}

static double fed_smoothed(const struct pipeline_cfg *c, struct pipeline_state *st, double v,
                           int64_t ts)
{
	return feed(c, st, v, ts).smoothed;
}

/* ------------------------------------------------------------------------ */
/* Config                                                                    */

static void test_cfg_defaults(void **unused)
{
	struct pipeline_cfg c;
	memset(&c, 0x5a, sizeof c);
	pipeline_cfg_init(&c);
	assert_int_equal(c.method, SMOOTH_NONE);
	assert_int_equal(c.interval_ms, 15000);
	assert_int_equal(c.up_ms, 0);
	assert_int_equal(c.down_ms, 0);
	assert_int_equal(c.max_age_ms, 0);
	assert_false(c.has_fallback);
	assert_false(c.has_min);
	assert_false(c.has_max);
	assert_true(c.hysteresis == 0);
	assert_int_equal(pipeline_cfg_validate(&c, NULL, 0), 0);
}

static void test_method_names(void **unused)
{
	for (int m = SMOOTH_NONE; m <= SMOOTH_QUANTILE; m++) {
		enum smooth_method out = SMOOTH_NONE;
		const char *name = smooth_method_name((enum smooth_method)m);
		assert_int_equal(smooth_method_parse(name, &out), 0);
		assert_int_equal(out, m);
	}
	assert_string_equal(smooth_method_name(SMOOTH_QUANTILE), "quantile");
	assert_string_equal(smooth_method_name(SMOOTH_EMA), "ema");
	assert_string_equal(smooth_method_name((enum smooth_method)42), "unknown");
	enum smooth_method out = SMOOTH_MAX;
	assert_int_equal(smooth_method_parse("EMA", &out), -1);
	assert_int_equal(smooth_method_parse("", &out), -1);
	assert_int_equal(smooth_method_parse("mean ", &out), -1);
	assert_int_equal(smooth_method_parse("average", &out), -1);
	assert_int_equal(smooth_method_parse(NULL, &out), -1);
	assert_int_equal(out, SMOOTH_MAX); /* untouched on failure */
}

struct bad_cfg {
	const char *what;
	void (*mutate)(struct pipeline_cfg *c);
	const char *want; /* the whole message */
};

static void m_method(struct pipeline_cfg *c) { c->method = (enum smooth_method)42; }
static void m_halflife(struct pipeline_cfg *c) { c->method = SMOOTH_EMA; c->half_life_ms = 0; }
static void m_halflife_neg(struct pipeline_cfg *c) { c->method = SMOOTH_EMA; c->half_life_ms = -5; }
static void m_window(struct pipeline_cfg *c) { c->method = SMOOTH_MEDIAN; c->window_ms = 0; }
static void m_q_low(struct pipeline_cfg *c) { c->method = SMOOTH_QUANTILE; c->window_ms = SEC(60); c->q = -0.01; }
static void m_q_high(struct pipeline_cfg *c) { c->method = SMOOTH_QUANTILE; c->window_ms = SEC(60); c->q = 1.01; }
static void m_q_nan(struct pipeline_cfg *c) { c->method = SMOOTH_QUANTILE; c->window_ms = SEC(60); c->q = NAN; }
static void m_up(struct pipeline_cfg *c) { c->up_ms = -1; }
static void m_down(struct pipeline_cfg *c) { c->down_ms = -1; }
static void m_hyst_neg(struct pipeline_cfg *c) { c->hysteresis = -0.1; }
static void m_hyst_nan(struct pipeline_cfg *c) { c->hysteresis = NAN; }
static void m_hyst_inf(struct pipeline_cfg *c) { c->hysteresis = INFINITY; }
static void m_min_inf(struct pipeline_cfg *c) { c->has_min = true; c->min = -INFINITY; }
static void m_max_nan(struct pipeline_cfg *c) { c->has_max = true; c->max = NAN; }
static void m_minmax(struct pipeline_cfg *c) { c->has_min = c->has_max = true; c->min = 5; c->max = 1; }
static void m_maxage(struct pipeline_cfg *c) { c->max_age_ms = -1; }
static void m_fb_nan(struct pipeline_cfg *c) { c->has_fallback = true; c->fallback = NAN; }
static void m_fb_low(struct pipeline_cfg *c) { c->has_fallback = c->has_min = true; c->min = 1; c->fallback = 0.5; }
static void m_fb_high(struct pipeline_cfg *c) { c->has_fallback = c->has_max = true; c->max = 10; c->fallback = 11; }
static void m_interval(struct pipeline_cfg *c) { c->interval_ms = 0; }
static void m_interval_neg(struct pipeline_cfg *c) { c->interval_ms = -15000; }
static void m_ring_window(struct pipeline_cfg *c)
{
	c->method = SMOOTH_MEAN;
	c->interval_ms = 1000;
	c->window_ms = SEC(65536) + 1; /* 65,537 samples */
}
static void m_ring_down(struct pipeline_cfg *c)
{
	c->method = SMOOTH_MAX;
	c->window_ms = SEC(60);
	c->interval_ms = 1000;
	c->up_ms = SEC(3600);
	c->down_ms = SEC(30 * 86400);
}

static void test_validate_messages(void **unused)
{
	static const struct bad_cfg cases[] = {
		{"method", m_method, "smoothing.method: unknown method (42)"},
		{"halfLife 0", m_halflife, "smoothing.halfLife: must be > 0 for method \"ema\""},
		{"halfLife < 0", m_halflife_neg, "smoothing.halfLife: must be > 0 for method \"ema\""},
		{"window 0", m_window, "smoothing.window: must be > 0 for method \"median\""},
		{"q < 0", m_q_low, "smoothing.q: must be in [0, 1]"},
		{"q > 1", m_q_high, "smoothing.q: must be in [0, 1]"},
		{"q NaN", m_q_nan, "smoothing.q: must be in [0, 1]"},
		{"up", m_up, "stabilization.up: must not be negative"},
		{"down", m_down, "stabilization.down: must not be negative"},
		{"hysteresis < 0", m_hyst_neg, "hysteresis: must be a finite number >= 0"},
		{"hysteresis NaN", m_hyst_nan, "hysteresis: must be a finite number >= 0"},
		{"hysteresis Inf", m_hyst_inf, "hysteresis: must be a finite number >= 0"},
		{"min -Inf", m_min_inf, "bounds.min: must be a finite number"},
		{"max NaN", m_max_nan, "bounds.max: must be a finite number"},
		{"min > max", m_minmax, "bounds.min: 5 is greater than bounds.max (1)"},
		{"maxAge", m_maxage, "onError.maxAge: must not be negative"},
		{"fallback NaN", m_fb_nan, "onError.fallback: must be a finite number"},
		{"fallback < min", m_fb_low, "onError.fallback: 0.5 is below bounds.min (1)"},
		{"fallback > max", m_fb_high, "onError.fallback: 11 is above bounds.max (10)"},
		{"interval 0", m_interval, "interval: must be > 0"},
		{"interval < 0", m_interval_neg, "interval: must be > 0"},
		{"ring window", m_ring_window,
		 "smoothing.window: 65536001ms at interval 1s needs 65537 samples; the limit is 65536"},
		{"ring down", m_ring_down,
		 "stabilization.down: 720h at interval 1s needs 2592000 samples; the limit is 65536"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pipeline_cfg c;
		char err[256];
		pipeline_cfg_init(&c);
		cases[i].mutate(&c);
		memset(err, 'x', sizeof err);
		if (pipeline_cfg_validate(&c, err, sizeof err) != -1)
			fail_msg("case '%s' accepted", cases[i].what);
		if (strcmp(err, cases[i].want) != 0)
			fail_msg("case '%s': got \"%s\", want \"%s\"", cases[i].what, err, cases[i].want);
		assert_null(pipeline_state_new(&c));
		/* a NULL buffer is allowed when n is 0, and a short one is truncated */
		assert_int_equal(pipeline_cfg_validate(&c, NULL, 0), -1);
		char small[8];
		assert_int_equal(pipeline_cfg_validate(&c, small, sizeof small), -1);
		assert_int_equal(strlen(small), 7);
		assert_memory_equal(small, cases[i].want, 7);
	}
}

static void test_validate_accepts_edges(void **unused)
{
	struct pipeline_cfg c;
	char err[256] = "";

	/* exactly at the ring cap: 65,536 samples of 1 s */
	pipeline_cfg_init(&c);
	c.method = SMOOTH_MEAN;
	c.interval_ms = 1000;
	c.window_ms = SEC(65536);
	c.up_ms = SEC(65536);
	assert_int_equal(pipeline_cfg_validate(&c, err, sizeof err), 0);
	struct pipeline_state *st = pipeline_state_new(&c);
	assert_non_null(st);
	pipeline_state_free(st);

	/* q at both ends, min == max, fallback on a bound */
	pipeline_cfg_init(&c);
	c.method = SMOOTH_QUANTILE;
	c.window_ms = SEC(60);
	c.q = 0;
	assert_int_equal(pipeline_cfg_validate(&c, err, sizeof err), 0);
	c.q = 1;
	c.has_min = c.has_max = c.has_fallback = true;
	c.min = c.max = c.fallback = 3;
	assert_int_equal(pipeline_cfg_validate(&c, err, sizeof err), 0);

	/* settings a method does not use are not checked */
	pipeline_cfg_init(&c);
	c.half_life_ms = -1;
	c.window_ms = -1;
	c.q = 7;
	assert_int_equal(pipeline_cfg_validate(&c, err, sizeof err), 0);
	c.method = SMOOTH_EMA;
	c.half_life_ms = 1;
	assert_int_equal(pipeline_cfg_validate(&c, err, sizeof err), 0);

	pipeline_state_free(NULL);
}

static void test_same_shape(void **unused)
{
	struct pipeline_cfg a = cfg_of(SMOOTH_QUANTILE), b;
	a.q = 0.9;
	a.down_ms = SEC(300);
	b = a;
	b.hysteresis = 0.1;
	b.has_min = true;
	b.max_age_ms = SEC(60);
	b.has_fallback = true;
	b.half_life_ms = SEC(5); /* unused by quantile */
	assert_true(pipeline_cfg_same_shape(&a, &b));
	b = a;
	b.q = 0.5;
	assert_false(pipeline_cfg_same_shape(&a, &b));
	b = a;
	b.window_ms++;
	assert_false(pipeline_cfg_same_shape(&a, &b));
	b = a;
	b.down_ms = 0;
	assert_false(pipeline_cfg_same_shape(&a, &b));
	b = a;
	b.interval_ms = SEC(30);
	assert_false(pipeline_cfg_same_shape(&a, &b));
	b = a;
	b.method = SMOOTH_MEDIAN;
	assert_false(pipeline_cfg_same_shape(&a, &b));
}

/* ------------------------------------------------------------------------ */
/* Smoothing                                                                 */

static void test_none(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	struct pipeline_state *st = state_of(&c);
	struct pipeline_out o = feed(&c, st, 3.5, T0);
	assert_same(o.value, 3.5);
	assert_same(o.raw, 3.5);
	assert_same(o.smoothed, 3.5);
	assert_int_equal(o.ts_ms, T0);
	assert_false(o.stale);
	assert_string_equal(o.reason, "");
	o = feed(&c, st, -7, T0 + SEC(15));
	assert_same(o.value, -7);
	assert_int_equal(o.ts_ms, T0 + SEC(15));
	/* -0 is served as 0 */
	o = feed(&c, st, -0.0, T0 + SEC(30));
	assert_true(o.value == 0 && !signbit(o.value));
	pipeline_state_free(st);
}

static void test_ema_hand(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_EMA); /* halfLife 60 s */
	struct pipeline_state *st = state_of(&c);
	/* the first sample initialises */
	assert_same(fed_smoothed(&c, st, 10, T0), 10);
	/* dt = halfLife: alpha 1/2 -> 10 + (20-10)/2 */
	assert_near(fed_smoothed(&c, st, 20, T0 + SEC(60)), 15, 1e-12);
	/* dt = 2 halfLives: alpha 3/4 -> 15 + 0.75*(35-15) */
	assert_near(fed_smoothed(&c, st, 35, T0 + SEC(180)), 30, 1e-12);
	/* dt = 10 s: alpha = 1 - 2^(-1/6) = 0.10910128185966073 */
	assert_near(fed_smoothed(&c, st, 130, T0 + SEC(190)), 30 + 0.10910128185966073 * 100, 1e-12);
	pipeline_state_free(st);
}

/*
 * For a constant input the time-aware EMA depends only on elapsed time, not
 * on how the gaps fall: after a step from 0 to 100 at t0 it is
 * 100 (1 - 2^(-(t - t0)/halfLife)) whatever the sampling.
 */
static void test_ema_irregular_gaps(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_EMA);
	c.half_life_ms = SEC(30);
	struct pipeline_state *st = state_of(&c);
	static const int64_t gaps_ms[] = {1, 999, 7000, 30000, 120000, 3, 15000, 45500, 1};
	int64_t t = T0;
	fed_smoothed(&c, st, 0, t);
	int64_t t0 = t;
	for (size_t i = 0; i < sizeof gaps_ms / sizeof gaps_ms[0]; i++) {
		t += gaps_ms[i];
		double want = 100 * (1 - exp2(-(double)(t - t0) / 30000.0));
		assert_near(fed_smoothed(&c, st, 100, t), want, 1e-9);
	}
	pipeline_state_free(st);
}

static void test_mean_window_boundary(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEAN); /* window 60 s */
	struct pipeline_state *st = state_of(&c);
	assert_same(fed_smoothed(&c, st, 1, T0), 1);
	assert_same(fed_smoothed(&c, st, 2, T0 + SEC(15)), 1.5);
	assert_same(fed_smoothed(&c, st, 3, T0 + SEC(30)), 2);
	assert_same(fed_smoothed(&c, st, 4, T0 + SEC(45)), 2.5);
	/* the sample at T0 is now exactly 60 s old: outside */
	assert_same(fed_smoothed(&c, st, 5, T0 + SEC(60)), 3.5);
	/* irregular: 1 ms before T0+15 s is 60 s old, nothing more leaves */
	assert_same(fed_smoothed(&c, st, 100, T0 + SEC(74) + 999), (2 + 3 + 4 + 5 + 100) / 5.0);
	/* T0+15 s is 60 s old at T0+75 s */
	assert_same(fed_smoothed(&c, st, 6, T0 + SEC(75)), (3 + 4 + 5 + 100 + 6) / 5.0);
	/* a long gap empties the window but the new sample */
	assert_same(fed_smoothed(&c, st, 7, T0 + SEC(500)), 7);
	pipeline_state_free(st);
}

static void test_median_quantile(void **unused)
{
	struct pipeline_cfg med = cfg_of(SMOOTH_MEDIAN), qc = cfg_of(SMOOTH_QUANTILE);
	med.window_ms = qc.window_ms = SEC(100);
	qc.q = 0.9;
	struct pipeline_state *sm = state_of(&med), *sq = state_of(&qc);
	static const double v[] = {5, 1, 4, 2, 3};
	/* medians of 5 | 5 1 | 5 1 4 | 5 1 4 2 | 5 1 4 2 3 */
	static const double want_med[] = {5, 3, 4, 3, 3};
	/* q 0.9, rank 0.9(n-1): n=2 1+0.9*4=4.6; n=3 rank 1.8: 4+0.8*1=4.8; n=4 rank 2.7: 4+0.7=4.7; n=5 rank 3.6: 4.6 */
	static const double want_q[] = {5, 4.6, 4.8, 4.7, 4.6};
	for (int i = 0; i < 5; i++) {
		assert_near(fed_smoothed(&med, sm, v[i], T0 + SEC(10 * i)), want_med[i], 1e-12);
		assert_near(fed_smoothed(&qc, sq, v[i], T0 + SEC(10 * i)), want_q[i], 1e-12);
	}
	/* 1..6: median 3.5; q 0.9 rank 4.5: 5.5 */
	assert_near(fed_smoothed(&med, sm, 6, T0 + SEC(50)), 3.5, 1e-12);
	assert_near(fed_smoothed(&qc, sq, 6, T0 + SEC(50)), 5.5, 1e-12);
	/* at +100 s the 5 (t=0) leaves: 1 4 2 3 6 0 -> sorted 0 1 2 3 4 6: median 2.5 */
	assert_near(fed_smoothed(&med, sm, 0, T0 + SEC(100)), 2.5, 1e-12);
	/* q 0.9 of 0 1 2 3 4 6: rank 4.5 -> 4 + 0.5*2 = 5 */
	assert_near(fed_smoothed(&qc, sq, 0, T0 + SEC(100)), 5, 1e-12);
	pipeline_state_free(sm);
	pipeline_state_free(sq);

	/* q 0 is the min, q 1 the max, q 0.25 of 10 20 30 40 is 17.5 */
	static const double qs[] = {0, 1, 0.25};
	static const double want[] = {10, 40, 17.5};
	for (int k = 0; k < 3; k++) {
		qc.q = qs[k];
		sq = state_of(&qc);
		double got = 0;
		for (int i = 0; i < 4; i++)
			got = fed_smoothed(&qc, sq, 40 - 10 * i, T0 + SEC(i));
		assert_near(got, want[k], 1e-12);
		pipeline_state_free(sq);
	}
}

static void test_median_duplicates(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEDIAN); /* 60 s window, 15 s */
	struct pipeline_state *st = state_of(&c);
	static const double v[] = {2, 2, 9, 2, 9, 9, 9, 2, 2, 2};
	/* windows of 4: medians of the last up-to-4 values */
	static const double want[] = {2, 2, 2, 2, 5.5, 9, 9, 9, 5.5, 2};
	for (int i = 0; i < 10; i++)
		assert_near(fed_smoothed(&c, st, v[i], T0 + SEC(15 * i)), want[i], 0);
	pipeline_state_free(st);
}

static void test_max_min(void **unused)
{
	struct pipeline_cfg cmax = cfg_of(SMOOTH_MAX), cmin = cfg_of(SMOOTH_MIN);
	cmax.window_ms = cmin.window_ms = SEC(30);
	cmax.interval_ms = cmin.interval_ms = SEC(10);
	struct pipeline_state *smax = state_of(&cmax), *smin = state_of(&cmin);
	static const double v[] = {5, 1, 3, 2, 0, 4, 4, 4};
	/* window: ages < 30 s, i.e. the last 3 samples */
	static const double want_max[] = {5, 5, 5, 3, 3, 4, 4, 4};
	static const double want_min[] = {5, 1, 1, 1, 0, 0, 0, 4};
	for (int i = 0; i < 8; i++) {
		assert_same(fed_smoothed(&cmax, smax, v[i], T0 + SEC(10 * i)), want_max[i]);
		assert_same(fed_smoothed(&cmin, smin, v[i], T0 + SEC(10 * i)), want_min[i]);
	}
	pipeline_state_free(smax);
	pipeline_state_free(smin);
}

/* The ring holds ceil(W/interval) + an eighth + 2: faster samples shorten the window. */
static void test_ring_cap_with_fast_samples(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEAN); /* 60 s / 15 s: 4 + 0 + 2 = 6 */
	struct pipeline_state *st = state_of(&c);
	double got = 0;
	for (int i = 1; i <= 10; i++)
		got = fed_smoothed(&c, st, i, T0 + SEC(i));
	assert_same(got, (5 + 6 + 7 + 8 + 9 + 10) / 6.0);
	pipeline_state_free(st);

	/* 10 min / 15 s: 40 + 5 + 2 = 47 samples fit, the 48th pushes the first out */
	c.window_ms = SEC(600);
	st = state_of(&c);
	for (int i = 1; i <= 47; i++)
		got = fed_smoothed(&c, st, i, T0 + SEC(i));
	assert_same(got, 24); /* (1 + 47) / 2 */
	got = fed_smoothed(&c, st, 48, T0 + SEC(48));
	assert_same(got, 25); /* 2..48 */
	pipeline_state_free(st);
}

static void test_mean_overflow(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEAN);
	struct pipeline_state *st = state_of(&c);
	assert_same(fed_smoothed(&c, st, 1e308, T0), 1e308);
	assert_near(fed_smoothed(&c, st, 1e308, T0 + SEC(15)), 1e308, 1e293);
	assert_near(fed_smoothed(&c, st, -1e308, T0 + SEC(30)), 1e308 / 3, 1e293);
	/* once they have left the window the sum is exact again */
	assert_same(fed_smoothed(&c, st, 1, T0 + SEC(100)), 1);
	assert_same(fed_smoothed(&c, st, 2, T0 + SEC(115)), 1.5);
	pipeline_state_free(st);
}

/*
 * The running sum must not drift: after values spanning 2^-60..2^113 have
 * passed through the window, the mean of small integers is exact again.
 * (Without the periodic rebuild of the compensated sum this ends far off.)
 */
static void test_mean_no_drift(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEAN); /* 60 s, 4 samples */
	struct pipeline_state *st = state_of(&c);
	uint64_t s = 1;
	int64_t t = T0;
	for (int i = 0; i < 2000; i++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		double v = ldexp((double)(s >> 11), (int)((s >> 3) % 120) - 60) * ((s & 1) ? 1 : -1);
		t += SEC(15);
		pipeline_step(&c, st, v, t, t);
	}
	/* windows 1 | 1 2 | 1 2 3 | 1 2 3 4 | 2 3 4 5 | ... */
	static const double want[] = {1, 1.5, 2, 2.5, 3.5, 4.5, 5.5, 6.5};
	for (int i = 0; i < 8; i++) {
		t += SEC(15);
		if (i == 0)
			t += SEC(60); /* the big values leave all at once */
		assert_same(fed_smoothed(&c, st, i + 1, t), want[i]);
	}
	pipeline_state_free(st);
}

/* A sample not newer than the newest is ignored; it still ends a failure. */
static void test_not_newer_sample(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEAN);
	struct pipeline_state *st = state_of(&c);
	feed(&c, st, 5, T0 + SEC(10));
	struct pipeline_out o = feed(&c, st, 99, T0 + SEC(10));
	assert_same(o.value, 5);
	o = feed(&c, st, 99, T0 + SEC(5));
	assert_same(o.value, 5);
	assert_int_equal(o.ts_ms, T0 + SEC(10));
	pipeline_fail(&c, st, "boom", T0 + SEC(20));
	pipeline_served(&c, st, T0 + SEC(20), &o);
	assert_false(o.ok);
	pipeline_step(&c, st, 1, T0 + SEC(10), T0 + SEC(21));
	pipeline_served(&c, st, T0 + SEC(21), &o);
	assert_true(o.ok);
	assert_false(o.stale);
	assert_same(o.value, 5);
	pipeline_state_free(st);
}

/* ------------------------------------------------------------------------ */
/* Stabilisation, hysteresis, bounds                                         */

static void test_stab_up(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.up_ms = SEC(60);
	struct pipeline_state *st = state_of(&c);
	/* t (s):      0   15   30  45  60  75  90 105 */
	static const double v[] = {10, 100, 10, 50, 50, 50, 50, 20};
	/*
	 * the 1-sample spike at 15 s is not served; the rise to 50 is served at
	 * 90 s, when every value inside the up window (45..90; 30 s is exactly
	 * 60 s old) is 50; a fall is served at once (no down window).
	 */
	static const double want[] = {10, 10, 10, 10, 10, 10, 50, 20};
	for (int i = 0; i < 8; i++)
		assert_same(fed(&c, st, v[i], T0 + SEC(15 * i)), want[i]);
	pipeline_state_free(st);
}

static void test_stab_up_partial_rise(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.up_ms = SEC(30);
	struct pipeline_state *st = state_of(&c);
	/* a staircase: the served value follows the lowest value of the last 30 s */
	static const double v[] = {10, 20, 30, 40, 40, 40};
	static const double want[] = {10, 10, 20, 30, 40, 40};
	for (int i = 0; i < 6; i++)
		assert_same(fed(&c, st, v[i], T0 + SEC(15 * i)), want[i]);
	pipeline_state_free(st);
}

static void test_stab_down(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.down_ms = SEC(60);
	struct pipeline_state *st = state_of(&c);
	/* t (s):      0   15  30  45  60  75  90 105 120 135 */
	static const double v[] = {100, 50, 10, 10, 10, 10, 100, 20, 100, 300};
	/*
	 * the fall is served at the highest value of the down window: 100 until
	 * the 100 at 0 s is 60 s old, then 50, then 10; a rise is served at once;
	 * a one-sample dip (20 at 105 s) is not served.
	 */
	static const double want[] = {100, 100, 100, 100, 50, 10, 100, 100, 100, 300};
	for (int i = 0; i < 10; i++)
		assert_same(fed(&c, st, v[i], T0 + SEC(15 * i)), want[i]);
	pipeline_state_free(st);
}

static void test_stab_both_windows(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.up_ms = SEC(30);
	c.down_ms = SEC(45);
	struct pipeline_state *st = state_of(&c);
	/* t (s):      0   15  30  45  60  75  90 105 */
	static const double v[] = {50, 80, 80, 20, 20, 20, 20, 90};
	/*
	 * 15: upLow min(50,80)=50 -> 50; 30: upLow 80 (50 is 30 s old) -> 80;
	 * 45: downHigh 80 -> 80; 60: downHigh max(80,20,20)=80 (15 s is 45 s old);
	 * 75: downHigh max(20,20,20) -> 20; 105: upLow min(20,90) -> 20.
	 */
	static const double want[] = {50, 50, 80, 80, 80, 20, 20, 20};
	for (int i = 0; i < 8; i++)
		assert_same(fed(&c, st, v[i], T0 + SEC(15 * i)), want[i]);
	pipeline_state_free(st);
}

static void test_stab_after_smoothing(void **unused)
{
	/* stabilisation works on the smoothed values, not the raw ones */
	struct pipeline_cfg c = cfg_of(SMOOTH_MAX);
	c.window_ms = SEC(30);
	c.down_ms = SEC(30);
	struct pipeline_state *st = state_of(&c);
	/* raw 10 90 10 10 10 10 -> max over 30 s: 10 90 90 10 10 10 -> down 30 s: 10 90 90 90 10 10 */
	static const double v[] = {10, 90, 10, 10, 10, 10};
	static const double want[] = {10, 90, 90, 90, 10, 10};
	for (int i = 0; i < 6; i++)
		assert_same(fed(&c, st, v[i], T0 + SEC(15 * i)), want[i]);
	pipeline_state_free(st);
}

static void test_hysteresis(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.hysteresis = 0.2;
	struct pipeline_state *st = state_of(&c);
	int64_t t = T0;
	assert_same(fed(&c, st, 100, t += 1000), 100);
	assert_same(fed(&c, st, 110, t += 1000), 100); /* 10 <= 20 */
	assert_same(fed(&c, st, 120, t += 1000), 100); /* 20 is not > 20 */
	assert_same(fed(&c, st, 80, t += 1000), 100);
	assert_same(fed(&c, st, 120.5, t += 1000), 120.5);
	assert_same(fed(&c, st, 100, t += 1000), 120.5); /* 20.5 <= 24.1 */
	assert_same(fed(&c, st, 96, t += 1000), 96);     /* 24.5 > 24.1 */
	assert_same(fed(&c, st, 0, t += 1000), 0);
	/* from 0 any change passes */
	assert_same(fed(&c, st, 0.001, t += 1000), 0.001);
	/* negative values: relative to |served| */
	assert_same(fed(&c, st, -100, t += 1000), -100);
	assert_same(fed(&c, st, -115, t += 1000), -100);
	assert_same(fed(&c, st, -125, t += 1000), -125);
	/* smoothed and raw still show the input */
	struct pipeline_out o = feed(&c, st, -126, t += 1000);
	assert_same(o.value, -125);
	assert_same(o.raw, -126);
	assert_same(o.smoothed, -126);
	pipeline_state_free(st);
}

static void test_bounds(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.has_min = c.has_max = true;
	c.min = 5;
	c.max = 50;
	struct pipeline_state *st = state_of(&c);
	struct pipeline_out o = feed(&c, st, 1, T0);
	assert_same(o.value, 5);
	assert_same(o.raw, 1);
	assert_same(o.smoothed, 1);
	assert_same(fed(&c, st, 100, T0 + SEC(15)), 50);
	assert_same(fed(&c, st, 20, T0 + SEC(30)), 20);
	assert_same(fed(&c, st, 5, T0 + SEC(45)), 5);
	pipeline_state_free(st);

	/* only one bound */
	c.has_max = false;
	st = state_of(&c);
	assert_same(fed(&c, st, 1e9, T0), 1e9);
	assert_same(fed(&c, st, -3, T0 + 1), 5);
	pipeline_state_free(st);
}

/* The clamp is on the output: the stabilisation windows see unclamped values. */
static void test_bounds_do_not_feed_back(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.has_max = true;
	c.max = 50;
	c.down_ms = SEC(30);
	c.hysteresis = 0.5;
	struct pipeline_state *st = state_of(&c);
	assert_same(fed(&c, st, 100, T0), 50);
	/* held at 100 by the down window: 60 is not served even though it is above max */
	assert_same(fed(&c, st, 60, T0 + SEC(15)), 50);
	/* 100 left the window: downHigh 60, |60-100| = 40 <= 0.5*100 -> still 100, clamped */
	assert_same(fed(&c, st, 60, T0 + SEC(30)), 50);
	/* 40: |40-100| = 60 > 50 -> 40 */
	assert_same(fed(&c, st, 40, T0 + SEC(60)), 40);
	pipeline_state_free(st);
}

/* Hot reload: hysteresis, bounds and onError apply from the cfg given at each call. */
static void test_reload_non_shape_settings(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEAN), c2;
	struct pipeline_state *st = state_of(&c);
	feed(&c, st, 100, T0);
	c2 = c;
	c2.has_max = true;
	c2.max = 10;
	assert_true(pipeline_cfg_same_shape(&c, &c2));
	struct pipeline_out o;
	pipeline_served(&c2, st, T0, &o);
	assert_true(o.ok);
	assert_same(o.value, 10);
	pipeline_served(&c, st, T0, &o);
	assert_same(o.value, 100);
	pipeline_state_free(st);
}

/* ------------------------------------------------------------------------ */
/* onError                                                                   */

static void test_no_value_yet(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEDIAN);
	struct pipeline_state *st = state_of(&c);
	struct pipeline_out o;
	pipeline_served(&c, st, T0, &o);
	assert_false(o.ok);
	assert_string_equal(o.reason, "no value yet");
	assert_true(isnan(o.raw) && isnan(o.smoothed));

	pipeline_fail(&c, st, "connection refused", T0 + SEC(1));
	pipeline_served(&c, st, T0 + SEC(91), &o);
	assert_false(o.ok);
	assert_string_equal(o.reason, "no value yet: source failing since 2024-05-01T12:00:01Z "
	                              "(for 1m30s): connection refused");

	/* with a fallback, the fallback is served */
	c.has_fallback = true;
	c.fallback = 4;
	pipeline_served(&c, st, T0 + SEC(91), &o);
	assert_true(o.ok);
	assert_true(o.stale);
	assert_same(o.value, 4);
	assert_int_equal(o.ts_ms, T0 + SEC(91));
	pipeline_state_free(st);
}

static void test_stale_then_fallback(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.max_age_ms = SEC(60);
	c.has_fallback = true;
	c.fallback = 7;
	struct pipeline_state *st = state_of(&c);
	feed(&c, st, 42, T0);
	pipeline_fail(&c, st, "connection refused", T0 + SEC(10));

	struct pipeline_out o;
	pipeline_served(&c, st, T0 + SEC(10), &o);
	assert_true(o.ok);
	assert_true(o.stale);
	assert_same(o.value, 42);
	assert_int_equal(o.ts_ms, T0);
	assert_string_equal(o.reason, "source failing since 2024-05-01T12:00:10Z (for 0s), "
	                              "last good sample at 2024-05-01T12:00:00Z: connection refused");
	/* 1 ms before maxAge: still the last good value */
	pipeline_served(&c, st, T0 + SEC(60) - 1, &o);
	assert_true(o.ok && o.stale);
	assert_same(o.value, 42);
	/* exactly maxAge old: the fallback */
	pipeline_served(&c, st, T0 + SEC(60), &o);
	assert_true(o.ok && o.stale);
	assert_same(o.value, 7);
	assert_int_equal(o.ts_ms, T0 + SEC(60));
	assert_non_null(strstr(o.reason, "connection refused"));
	assert_same(o.raw, 42);

	/* a source clock ahead of ours: a sample "from the future" is not stale */
	pipeline_step(&c, st, 44, T0 + SEC(40), T0 + SEC(30));
	pipeline_fail(&c, st, "connection refused", T0 + SEC(31));
	pipeline_served(&c, st, T0 + SEC(35), &o);
	assert_true(o.ok && o.stale);
	assert_same(o.value, 44);
	assert_int_equal(o.ts_ms, T0 + SEC(40));

	/* recovery: fresh again, reason cleared */
	o = feed(&c, st, 43, T0 + SEC(70));
	assert_false(o.stale);
	assert_same(o.value, 43);
	assert_string_equal(o.reason, "");
	pipeline_state_free(st);
}

static void test_error_after_max_age(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.max_age_ms = SEC(30);
	struct pipeline_state *st = state_of(&c);
	feed(&c, st, 5, T0);
	pipeline_fail(&c, st, "timeout", T0 + SEC(15));
	pipeline_fail(&c, st, "dns error", T0 + SEC(20)); /* since stays, message is replaced */
	struct pipeline_out o;
	pipeline_served(&c, st, T0 + SEC(29), &o);
	assert_true(o.ok && o.stale);
	pipeline_served(&c, st, T0 + SEC(135) + 999, &o);
	assert_false(o.ok);
	assert_int_equal(o.ts_ms, T0);
	assert_string_equal(o.reason, "source failing since 2024-05-01T12:00:15Z (for 2m),"
	                              " last good sample at 2024-05-01T12:00:00Z: dns error");
	pipeline_state_free(st);

	/* maxAge 0: a failure is an error at once */
	c.max_age_ms = 0;
	st = state_of(&c);
	feed(&c, st, 5, T0);
	pipeline_fail(&c, st, NULL, T0);
	pipeline_served(&c, st, T0, &o);
	assert_false(o.ok);
	assert_non_null(strstr(o.reason, ": unknown error"));
	pipeline_state_free(st);
}

/* A failure adds no sample and resets no window. */
static void test_failure_keeps_windows(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEAN);
	c.window_ms = SEC(120);
	c.down_ms = SEC(120);
	struct pipeline_state *st = state_of(&c);
	feed(&c, st, 10, T0);
	feed(&c, st, 20, T0 + SEC(15));
	for (int i = 2; i < 5; i++)
		pipeline_fail(&c, st, "boom", T0 + SEC(15 * i));
	struct pipeline_out o = feed(&c, st, 30, T0 + SEC(75));
	assert_same(o.smoothed, 20); /* (10 + 20 + 30) / 3 */
	assert_same(o.value, 20);    /* held: mean 15 at 15 s, down window max(10,15,20) */
	pipeline_state_free(st);

	/* ema: the outage is one long gap, not a reset */
	c = cfg_of(SMOOTH_EMA);
	st = state_of(&c);
	feed(&c, st, 0, T0);
	pipeline_fail(&c, st, "boom", T0 + SEC(30));
	o = feed(&c, st, 100, T0 + SEC(60));
	assert_near(o.smoothed, 50, 1e-12);
	pipeline_state_free(st);
}

static void test_nan_inf_samples(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEAN);
	struct pipeline_state *st = state_of(&c);
	struct pipeline_out o;
	feed(&c, st, 4, T0);
	static const struct {
		double v;
		const char *why;
	} bad[] = {{NAN, ": value is NaN"}, {INFINITY, ": value is +Inf"}, {-INFINITY, ": value is -Inf"}};
	for (int i = 0; i < 3; i++) {
		pipeline_step(&c, st, bad[i].v, T0 + SEC(1 + i), T0 + SEC(1 + i));
		pipeline_served(&c, st, T0 + SEC(1 + i), &o);
		assert_false(o.ok);
		const char *tail = o.reason + strlen(o.reason) - strlen(bad[i].why);
		assert_string_equal(tail, bad[i].why);
		assert_non_null(strstr(o.reason, "since 2024-05-01T12:00:01Z"));
		assert_same(o.raw, 4);
	}
	o = feed(&c, st, 8, T0 + SEC(15));
	assert_same(o.smoothed, 6); /* (4 + 8) / 2: the bad samples were not taken */
	assert_same(o.raw, 8);
	pipeline_state_free(st);
}

/*
 * The failure message is kept as a bounded copy (255 bytes), cut at a UTF-8
 * boundary. The reason buffer is smaller than prefix + 255, so the copy is
 * checked where it is stored whole: in the saved blob, whose error length
 * sits at offset 130 (12 header + 49 shape + 1 flags + 40 values + 16 sum
 * + 4 count + 8 since) and whose text follows.
 */
static void test_error_text_bounded(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	struct pipeline_state *st = state_of(&c);
	struct pipeline_out o;
	unsigned char *blob = NULL;
	size_t len = 0;
	char big[1000];
	memset(big, 'e', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	pipeline_fail(&c, st, big, T0);
	pipeline_served(&c, st, T0, &o);
	assert_false(o.ok);
	assert_true(strlen(o.reason) == sizeof o.reason - 1); /* truncated, terminated */
	assert_non_null(strstr(o.reason, "(for 0s): eee"));
	assert_int_equal(pipeline_state_save(st, &c, &blob, &len), 0);
	assert_int_equal(blob[130] | blob[131] << 8, 255);
	assert_memory_equal(blob + 132, big, 255);
	free(blob);

	/* 254 'a' then "é" (2 bytes): the cut at 255 would split it, so 254 are kept */
	char u[300];
	memset(u, 'a', 254);
	memcpy(u + 254, "\xc3\xa9tail", 7);
	pipeline_fail(&c, st, u, T0);
	assert_int_equal(pipeline_state_save(st, &c, &blob, &len), 0);
	assert_int_equal(blob[130] | blob[131] << 8, 254);
	assert_memory_equal(blob + 132, u, 254);
	assert_int_equal(len, 132 + 254 + 4 + 1 + 4); /* then the count (0), no carries, the CRC */
	free(blob);

	/* a short message is kept whole */
	pipeline_fail(&c, st, "é", T0);
	pipeline_served(&c, st, T0, &o);
	assert_non_null(strstr(o.reason, "(for 0s): \xc3\xa9"));
	pipeline_state_free(st);
}

/* The error length of a NONE state's blob sits at offset 130 (see above). */
static size_t blob_err_len(const struct pipeline_cfg *c, const struct pipeline_state *st)
{
	unsigned char *blob = NULL;
	size_t len = 0;
	assert_int_equal(pipeline_state_save(st, c, &blob, &len), 0);
	size_t n = (size_t)(blob[130] | blob[131] << 8);
	free(blob);
	return n;
}

/*
 * One message shared by many states (what one failed fetch does): each state
 * serves it, keeps it after the caller and the other states let go of it
 * (ASan sees a use after free or a leak when the counting is wrong), and a
 * good sample drops it.
 */
static void test_shared_error_message(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	struct pipeline_state *a = state_of(&c), *b = state_of(&c);
	struct pipeline_out o;
	feed(&c, a, 1, T0);
	feed(&c, b, 2, T0);

	struct pipeline_msg *m = pipeline_msg_new("connection refused");
	assert_non_null(m);
	assert_string_equal(pipeline_msg_text(m), "connection refused");
	pipeline_fail_msg(&c, a, m, T0 + SEC(15));
	pipeline_fail_msg(&c, b, m, T0 + SEC(15));
	pipeline_fail_msg(&c, b, m, T0 + SEC(30)); /* the same again: since stays */
	pipeline_msg_unref(m);

	pipeline_served(&c, b, T0 + SEC(31), &o);
	assert_false(o.ok);
	assert_string_equal(o.reason, "source failing since 2024-05-01T12:00:15Z (for 16s), last good "
	                              "sample at 2024-05-01T12:00:00Z: connection refused");
	/* a recovers: its message goes, b's stays */
	feed(&c, a, 3, T0 + SEC(45));
	assert_int_equal(blob_err_len(&c, a), 0);
	assert_int_equal(blob_err_len(&c, b), strlen("connection refused"));
	pipeline_state_free(a);
	pipeline_served(&c, b, T0 + SEC(31), &o);
	assert_non_null(strstr(o.reason, "12:00:00Z: connection refused"));

	/* a state failing on its own later replaces the shared message */
	pipeline_fail(&c, b, "timeout", T0 + SEC(60));
	pipeline_served(&c, b, T0 + SEC(60), &o);
	assert_non_null(strstr(o.reason, "(for 45s), last good sample at 2024-05-01T12:00:00Z: timeout"));

	/* no memory for a message: the failure still counts, with a generic text */
	feed(&c, b, 4, T0 + SEC(75));
	pipeline_fail_msg(&c, b, NULL, T0 + SEC(90));
	pipeline_served(&c, b, T0 + SEC(90), &o);
	assert_false(o.ok);
	assert_non_null(strstr(o.reason, "(for 0s), last good sample at 2024-05-01T12:01:15Z: "
	                                 "unknown error (no memory for its message)"));
	pipeline_msg_unref(NULL);
	pipeline_state_free(b);
}

/* pipeline_msg_new keeps the same bounded copy as pipeline_fail. */
static void test_shared_message_bounded(void **unused)
{
	char big[1000];
	memset(big, 'e', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	struct pipeline_msg *m = pipeline_msg_new(big);
	assert_non_null(m);
	assert_int_equal(strlen(pipeline_msg_text(m)), PIPELINE_ERR_MAX - 1);
	pipeline_msg_unref(m);

	char u[300];
	memset(u, 'a', 254);
	memcpy(u + 254, "\xc3\xa9tail", 7);
	m = pipeline_msg_new(u);
	assert_int_equal(strlen(pipeline_msg_text(m)), 254);
	pipeline_msg_unref(m);

	m = pipeline_msg_new(NULL);
	assert_string_equal(pipeline_msg_text(m), "unknown error");
	pipeline_msg_unref(m);
	assert_string_equal(pipeline_msg_text(NULL), "");
}

/* A restored failing state has its own message: the saved state may go. */
static void test_shared_message_restored(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	struct pipeline_state *a = state_of(&c), *b = state_of(&c);
	struct pipeline_out o;
	unsigned char *blob = NULL;
	size_t len = 0;
	char err[256] = "";
	feed(&c, a, 1, T0);
	pipeline_fail(&c, b, "old failure", T0); /* b's own message is replaced by the load */
	struct pipeline_msg *m = pipeline_msg_new("broken pipe");
	pipeline_fail_msg(&c, a, m, T0 + SEC(5));
	pipeline_msg_unref(m);
	assert_int_equal(pipeline_state_save(a, &c, &blob, &len), 0);
	pipeline_state_free(a);
	assert_int_equal(pipeline_state_load(b, &c, blob, len, err, sizeof err), 0);
	free(blob);
	pipeline_served(&c, b, T0 + SEC(6), &o);
	assert_string_equal(o.reason, "source failing since 2024-05-01T12:00:05Z (for 1s), last good "
	                              "sample at 2024-05-01T12:00:00Z: broken pipe");
	pipeline_state_free(b);
}

/* ------------------------------------------------------------------------ */
/* Sample times kept as 32-bit offsets (windows up to 2^31 ms)                */

/* The times of a saved state's ring, oldest first; entries are esize bytes
 * (time first) and end before the carries' byte (none here) and the CRC.
 * Returns the count. */
static uint32_t blob_times(const struct pipeline_cfg *c, const struct pipeline_state *st, size_t esize,
                           int64_t *out, uint32_t max)
{
	unsigned char *blob = NULL;
	size_t len = 0;
	assert_int_equal(pipeline_state_save(st, c, &blob, &len), 0);
	assert_int_equal(blob[len - 5], 0); /* no carries */
	uint32_t count = 0;
	/* the entries are the last bytes before the carries' byte, the count just
	 * before them: the largest n whose preceding u32 says n */
	for (uint32_t n = 0; n <= max; n++) {
		size_t at = len - 5 - (size_t)n * esize;
		if (at < 4)
			break;
		uint32_t cn = (uint32_t)blob[at - 4] | (uint32_t)blob[at - 3] << 8 |
		              (uint32_t)blob[at - 2] << 16 | (uint32_t)blob[at - 1] << 24;
		if (cn == n) {
			count = n;
			for (uint32_t e = 0; e < n; e++) {
				uint64_t u = 0;
				for (int b = 7; b >= 0; b--)
					u = u << 8 | blob[at + (size_t)e * esize + (size_t)b];
				memcpy(&out[e], &u, sizeof u);
			}
		}
	}
	free(blob);
	return count;
}

static void assert_outs_equal(const struct pipeline_out *a, const struct pipeline_out *b, int n);

static struct pipeline_cfg short_windows_cfg(void)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEAN); /* window 60 s at 15 s: 4 samples */
	c.down_ms = SEC(120);                        /* ring of 8 + 1 + 2 = 11 */
	return c;
}

/*
 * 61 days of samples at 15 s: the base of the 32-bit times moves twice and
 * every smoothed value stays exact, and so do the times a save shows.
 */
static void test_times_across_rebase(void **unused)
{
	struct pipeline_cfg c = short_windows_cfg();
	struct pipeline_state *st = state_of(&c);
	struct pipeline_out o;
	const uint32_t n = 61u * 24 * 3600 / 15;
	for (uint32_t i = 0; i < n; i++) {
		int64_t ts = T0 + SEC(15) * (int64_t)i;
		pipeline_step(&c, st, (double)(i % 7), ts, ts);
		if (i < 3)
			continue;
		pipeline_served(&c, st, ts, &o);
		double want = (double)((i % 7) + ((i - 1) % 7) + ((i - 2) % 7) + ((i - 3) % 7)) / 4;
		if (o.smoothed != want)
			fail_msg("sample %u: smoothed %.17g, want %.17g", i, o.smoothed, want);
	}
	int64_t t[16];
	assert_int_equal(blob_times(&c, st, 24, t, 16), 11);
	for (uint32_t e = 0; e < 11; e++)
		assert_int_equal(t[e], T0 + SEC(15) * (int64_t)(n - 11 + e));
	pipeline_state_free(st);
}

/*
 * A gap of 60 days (more than the 49.7 a 32-bit offset spans): the samples
 * before it are outside every window, the values after it are those of the
 * new samples alone, and a saved state restores to the same behaviour.
 */
static void test_times_after_long_gap(void **unused)
{
	struct pipeline_cfg c = short_windows_cfg();
	struct pipeline_state *a = state_of(&c), *b = state_of(&c);
	struct pipeline_out o;
	for (int i = 0; i < 20; i++)
		feed(&c, a, 3, T0 + SEC(15 * i));
	const int64_t g = T0 + SEC(60LL * 24 * 3600);
	assert_same(feed(&c, a, 100, g).value, 100);
	assert_same(feed(&c, a, 200, g + SEC(15)).smoothed, 150);
	o = feed(&c, a, 300, g + SEC(30));
	assert_same(o.smoothed, 200);
	assert_same(o.value, 200);

	/* the old entries still in the ring (8 of them) are older than any window */
	int64_t t[16];
	assert_int_equal(blob_times(&c, a, 24, t, 16), 11);
	for (int e = 0; e < 8; e++) {
		assert_true(g + SEC(30) - t[e] >= (INT64_C(1) << 31));
		if (e > 0)
			assert_true(t[e] > t[e - 1]);
	}
	for (int e = 8; e < 11; e++)
		assert_int_equal(t[e], g + SEC(15) * (e - 8));

	unsigned char *blob = NULL;
	size_t len = 0;
	char err[256] = "";
	assert_int_equal(pipeline_state_save(a, &c, &blob, &len), 0);
	assert_int_equal(pipeline_state_load(b, &c, blob, len, err, sizeof err), 0);
	free(blob);
	for (int i = 3; i < 30; i++) {
		struct pipeline_out oa = feed(&c, a, (double)(i * i % 11), g + SEC(15 * i));
		struct pipeline_out ob = feed(&c, b, (double)(i * i % 11), g + SEC(15 * i));
		assert_outs_equal(&oa, &ob, 1);
	}
	unsigned char *ba = NULL, *bb = NULL;
	size_t la = 0, lb = 0;
	assert_int_equal(pipeline_state_save(a, &c, &ba, &la), 0);
	assert_int_equal(pipeline_state_save(b, &c, &bb, &lb), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, la);
	free(ba);
	free(bb);
	pipeline_state_free(a);
	pipeline_state_free(b);
}

/* A window longer than 2^31 ms keeps 64-bit times: a 60-day gap leaves every
 * time exact, and the 30-day window still sees what is inside it. */
static void test_times_long_window(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.interval_ms = SEC(3600);
	c.down_ms = SEC(30LL * 24 * 3600);
	struct pipeline_state *st = state_of(&c);
	for (int i = 0; i < 5; i++)
		feed(&c, st, 50, T0 + SEC(3600 * i));
	const int64_t g = T0 + SEC(60LL * 24 * 3600);
	assert_same(feed(&c, st, 10, g).value, 10); /* the 50s are out of the down window */
	assert_same(feed(&c, st, 5, g + SEC(3600)).value, 10); /* 10 is inside it: held */
	int64_t t[8];
	assert_int_equal(blob_times(&c, st, 16, t, 8), 7);
	for (int e = 0; e < 5; e++)
		assert_int_equal(t[e], T0 + SEC(3600 * e));
	assert_int_equal(t[5], g);
	assert_int_equal(t[6], g + SEC(3600));
	pipeline_state_free(st);
}

/* ------------------------------------------------------------------------ */
/* Persistence                                                               */

static void reseal(unsigned char *b, size_t len)
{
	uint32_t crc = sw_crc32(b, len - 4);
	for (int i = 0; i < 4; i++)
		b[len - 4 + i] = (unsigned char)(crc >> (8 * i));
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

/* Drives st with a noisy signal and the odd failure, from step i0 to i1. */
static void drive(const struct pipeline_cfg *c, struct pipeline_state *st, int i0, int i1,
                  struct pipeline_out *outs)
{
	uint64_t saved = rng_state;
	rng_state = 0x9E3779B97F4A7C15ull ^ (uint64_t)i0;
	for (int i = i0; i < i1; i++) {
		int64_t ts = T0 + SEC(15) * i + (int64_t)(rng() % 2000);
		double v = (double)(rng() % 1000) / 7.0;
		if (i % 37 == 5)
			pipeline_fail(c, st, "scrape failed", ts);
		else if (i % 53 == 7)
			pipeline_step(c, st, NAN, ts, ts);
		else
			pipeline_step(c, st, v, ts, ts);
		pipeline_served(c, st, ts + 500, &outs[i - i0]);
	}
	rng_state = saved;
}

static void assert_outs_equal(const struct pipeline_out *a, const struct pipeline_out *b, int n)
{
	for (int i = 0; i < n; i++) {
		if (a[i].ok != b[i].ok || a[i].stale != b[i].stale || a[i].ts_ms != b[i].ts_ms ||
		    memcmp(&a[i].value, &b[i].value, sizeof(double)) != 0 ||
		    memcmp(&a[i].raw, &b[i].raw, sizeof(double)) != 0 ||
		    memcmp(&a[i].smoothed, &b[i].smoothed, sizeof(double)) != 0 ||
		    strcmp(a[i].reason, b[i].reason) != 0)
			fail_msg("step %d differs: %.17g/%.17g ok %d/%d '%s'/'%s'", i, a[i].value,
			         b[i].value, a[i].ok, b[i].ok, a[i].reason, b[i].reason);
	}
}

static struct pipeline_cfg rich_cfg(enum smooth_method m)
{
	struct pipeline_cfg c = cfg_of(m);
	c.window_ms = m >= SMOOTH_MEAN ? SEC(120) : 0;
	c.half_life_ms = m == SMOOTH_EMA ? SEC(45) : 0;
	c.q = 0.75;
	c.up_ms = SEC(45);
	c.down_ms = SEC(90);
	c.hysteresis = 0.02;
	c.max_age_ms = SEC(20);
	return c;
}

/* A restored state continues bit for bit as the saved one, for every method. */
static void test_save_load_roundtrip(void **unused)
{
	enum { PRE = 150, POST = 250 };
	static struct pipeline_out a[POST], b[POST], pre[PRE];
	for (int m = SMOOTH_NONE; m <= SMOOTH_QUANTILE; m++) {
		struct pipeline_cfg c = rich_cfg((enum smooth_method)m);
		struct pipeline_state *sa = state_of(&c), *sb = state_of(&c);
		drive(&c, sa, 0, PRE, pre);
		unsigned char *blob = NULL;
		size_t len = 0;
		assert_int_equal(pipeline_state_save(sa, &c, &blob, &len), 0);
		char err[256] = "";
		if (pipeline_state_load(sb, &c, blob, len, err, sizeof err) != 0)
			fail_msg("%s: load failed: %s", smooth_method_name((enum smooth_method)m), err);
		struct pipeline_out oa, ob;
		pipeline_served(&c, sa, T0 + SEC(15) * PRE, &oa);
		pipeline_served(&c, sb, T0 + SEC(15) * PRE, &ob);
		assert_outs_equal(&oa, &ob, 1);
		drive(&c, sa, PRE, PRE + POST, a);
		drive(&c, sb, PRE, PRE + POST, b);
		assert_outs_equal(a, b, POST);

		/* and their blobs agree again */
		unsigned char *ba = NULL, *bb = NULL;
		size_t la = 0, lb = 0;
		assert_int_equal(pipeline_state_save(sa, &c, &ba, &la), 0);
		assert_int_equal(pipeline_state_save(sb, &c, &bb, &lb), 0);
		assert_int_equal(la, lb);
		assert_memory_equal(ba, bb, la);
		free(ba);
		free(bb);
		free(blob);
		pipeline_state_free(sa);
		pipeline_state_free(sb);
	}
}

static void test_save_load_empty_and_failing(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEDIAN);
	struct pipeline_state *sa = state_of(&c), *sb = state_of(&c);
	unsigned char *blob = NULL;
	size_t len = 0;
	char err[256] = "";
	struct pipeline_out o;

	assert_int_equal(pipeline_state_save(sa, &c, &blob, &len), 0);
	feed(&c, sb, 1, T0);
	assert_int_equal(pipeline_state_load(sb, &c, blob, len, err, sizeof err), 0);
	pipeline_served(&c, sb, T0, &o);
	assert_false(o.ok);
	assert_string_equal(o.reason, "no value yet");
	free(blob);

	feed(&c, sa, 3, T0);
	pipeline_fail(&c, sa, "broken pipe", T0 + SEC(5));
	assert_int_equal(pipeline_state_save(sa, &c, &blob, &len), 0);
	assert_int_equal(pipeline_state_load(sb, &c, blob, len, err, sizeof err), 0);
	pipeline_served(&c, sb, T0 + SEC(6), &o);
	assert_false(o.ok);
	assert_string_equal(o.reason, "source failing since 2024-05-01T12:00:05Z (for 1s), last good "
	                              "sample at 2024-05-01T12:00:00Z: broken pipe");
	free(blob);
	pipeline_state_free(sa);
	pipeline_state_free(sb);
}

/* Loads buf into st expecting a rejection naming want; st must not change. */
static void expect_rejected(const struct pipeline_cfg *c, struct pipeline_state *st,
                            const unsigned char *buf, size_t len, const char *want)
{
	unsigned char *before = NULL, *after = NULL;
	size_t lb = 0, la = 0;
	struct pipeline_out ob, oa;
	assert_int_equal(pipeline_state_save(st, c, &before, &lb), 0);
	pipeline_served(c, st, T0 + SEC(1000), &ob);

	char err[256] = "";
	if (pipeline_state_load(st, c, buf, len, err, sizeof err) != -1)
		fail_msg("blob of %zu bytes accepted (want '%s')", len, want);
	if (want && !strstr(err, want))
		fail_msg("error \"%s\" does not say \"%s\"", err, want);
	if (!want && err[0] == '\0')
		fail_msg("empty error for a %zu-byte blob", len);

	assert_int_equal(pipeline_state_save(st, c, &after, &la), 0);
	pipeline_served(c, st, T0 + SEC(1000), &oa);
	assert_int_equal(lb, la);
	assert_memory_equal(before, after, lb);
	assert_outs_equal(&ob, &oa, 1);
	free(before);
	free(after);
}

static void test_load_rejects_bad_blobs(void **unused)
{
	struct pipeline_cfg c = rich_cfg(SMOOTH_QUANTILE);
	struct pipeline_state *src = state_of(&c), *dst = state_of(&c);
	static struct pipeline_out outs[80];
	drive(&c, src, 0, 80, outs);
	drive(&c, dst, 1000, 1040, outs); /* dst has its own, different history */
	unsigned char *blob = NULL;
	size_t len = 0;
	assert_int_equal(pipeline_state_save(src, &c, &blob, &len), 0);
	unsigned char *b = malloc(len + 1);
	assert_non_null(b);

	/* every truncation */
	for (size_t n = 0; n < len; n++)
		expect_rejected(&c, dst, blob, n, "truncated");
	/* a byte more */
	memcpy(b, blob, len);
	b[len] = 0;
	expect_rejected(&c, dst, b, len + 1, "corrupt");
	/* every single-byte corruption */
	for (size_t i = 0; i < len; i++) {
		memcpy(b, blob, len);
		b[i] ^= 0x20;
		expect_rejected(&c, dst, b, len, NULL);
	}
	/* other magic, other version */
	memcpy(b, blob, len);
	b[0] = 'X';
	expect_rejected(&c, dst, b, len, "not a pipeline state");
	memcpy(b, blob, len);
	b[4] = 3;
	expect_rejected(&c, dst, b, len, "version 3 is not supported (this build reads 1 and 2)");
	free(b);
	free(blob);
	pipeline_state_free(src);
	pipeline_state_free(dst);
}

/* Blobs with a valid checksum but impossible content are still refused. */
static void test_load_rejects_sealed_nonsense(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_MEAN); /* entries: ts, raw */
	struct pipeline_state *src = state_of(&c), *dst = state_of(&c);
	feed(&c, src, 1, T0);
	feed(&c, src, 2, T0 + SEC(15));
	feed(&c, src, 3, T0 + SEC(30));
	feed(&c, dst, 9, T0);
	unsigned char *blob = NULL;
	size_t len = 0;
	assert_int_equal(pipeline_state_save(src, &c, &blob, &len), 0);
	unsigned char *b = malloc(len);
	assert_non_null(b);
	size_t entries = len - 4 - 1 - 3 * 16; /* 3 entries of (ts, raw), the carries' byte, the CRC */
	size_t count_at = entries - 4;
	assert_int_equal(blob[count_at], 3);

	/* count larger than the ring (4 + 0 + 2 = 6) */
	memcpy(b, blob, len);
	b[count_at] = 7;
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad sample count");
	/* count larger than the entries present */
	memcpy(b, blob, len);
	b[count_at] = 4;
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad sample count");
	/* second entry's time before the first's */
	memcpy(b, blob, len);
	memcpy(b + entries + 16, b + entries, 8);
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad sample 1");
	/* a NaN raw value */
	memcpy(b, blob, len);
	double bad = NAN;
	memcpy(b + entries + 8, &bad, 8);
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad sample 0");
	/* unknown flag bits (flags is right after the 61-byte header and shape) */
	memcpy(b, blob, len);
	assert_int_equal(b[61], 1);
	b[61] = 0x81;
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad header");
	/* "no value" with samples */
	memcpy(b, blob, len);
	b[61] = 0;
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad sample count");

	free(b);
	free(blob);
	pipeline_state_free(src);
	pipeline_state_free(dst);
}

static void test_load_rejects_changed_cfg(void **unused)
{
	struct pipeline_cfg c = rich_cfg(SMOOTH_MEAN);
	struct pipeline_state *src = state_of(&c);
	static struct pipeline_out outs[20];
	drive(&c, src, 0, 20, outs);
	unsigned char *blob = NULL;
	size_t len = 0;
	assert_int_equal(pipeline_state_save(src, &c, &blob, &len), 0);

	static const char *const cases[] = {
		"smoothing.window changed since the state was saved (2m then, 5m now)",
		"smoothing.method changed since the state was saved (\"mean\" then, \"max\" now)",
		"stabilization.down changed since the state was saved (1m30s then, 0s now)",
		"interval changed since the state was saved (15s then, 10s now)",
		"stabilization.up changed since the state was saved (45s then, 45001ms now)",
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pipeline_cfg d = c;
		switch (i) {
		case 0: d.window_ms = SEC(300); break;
		case 1: d.method = SMOOTH_MAX; break;
		case 2: d.down_ms = 0; break;
		case 3: d.interval_ms = SEC(10); break;
		case 4: d.up_ms = SEC(45) + 1; break;
		}
		struct pipeline_state *dst = state_of(&d);
		feed(&d, dst, 5, T0);
		expect_rejected(&d, dst, blob, len, cases[i]);
		pipeline_state_free(dst);
	}

	/* a quantile's q */
	struct pipeline_cfg q1 = rich_cfg(SMOOTH_QUANTILE), q2 = q1;
	q2.q = 0.5;
	struct pipeline_state *s1 = state_of(&q1), *s2 = state_of(&q2);
	free(blob);
	feed(&q1, s1, 1, T0);
	assert_int_equal(pipeline_state_save(s1, &q1, &blob, &len), 0);
	expect_rejected(&q2, s2, blob, len, "smoothing.q changed since the state was saved (0.75 then, 0.5 now)");

	/* settings outside the shape do not matter */
	struct pipeline_cfg q3 = q1;
	q3.hysteresis = 0.5;
	q3.has_fallback = true;
	q3.max_age_ms = SEC(600);
	struct pipeline_state *s3 = state_of(&q3);
	char err[256] = "";
	assert_int_equal(pipeline_state_load(s3, &q3, blob, len, err, sizeof err), 0);

	free(blob);
	pipeline_state_free(s1);
	pipeline_state_free(s2);
	pipeline_state_free(s3);
	pipeline_state_free(src);
}

/* ------------------------------------------------------------------------ */
/* 30 days at 15 s through each method, against a brute-force reference      */

enum { LONG_STEPS = 172800 };

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void long_run_down(enum smooth_method m, int64_t down_ms, int steps)
{
	struct pipeline_cfg c;
	pipeline_cfg_init(&c);
	c.method = m;
	c.window_ms = m >= SMOOTH_MEAN ? SEC(600) : 0;
	c.half_life_ms = m == SMOOTH_EMA ? SEC(120) : 0;
	c.q = 0.9;
	c.up_ms = SEC(60);
	c.down_ms = down_ms;
	struct pipeline_state *st = state_of(&c);

	int64_t *ts = malloc(LONG_STEPS * sizeof *ts);
	double *val = malloc(LONG_STEPS * sizeof *val);
	double *rec = malloc(LONG_STEPS * sizeof *rec);
	double win[64];
	assert_non_null(ts);
	assert_non_null(val);
	assert_non_null(rec);

	uint64_t seed = 12345;
	long double ema = 0;
	double served = 0;
	for (int k = 0; k < steps; k++) {
		/* a daily wave, noise, and a spike every ~3 hours; 15 s +- 1 s */
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		double noise = (double)(seed >> 40) / (double)(1ull << 24) * 100;
		double v = 1000 + 500 * sin(2 * M_PI * k / 5760.0) + noise + (k % 701 == 0 ? 4000 : 0);
		ts[k] = T0 + (int64_t)k * 15000 + (int64_t)((seed >> 20) % 2001) - 1000;
		val[k] = v;

		struct pipeline_out o;
		pipeline_step(&c, st, v, ts[k], ts[k]);
		pipeline_served(&c, st, ts[k], &o);
		if (!o.ok)
			fail_msg("step %d not ok: %s", k, o.reason);

		/* smoothing reference */
		int n = 0;
		for (int j = k; j >= 0 && ts[k] - ts[j] < c.window_ms; j--)
			win[n++] = val[j];
		double want;
		switch (m) {
		case SMOOTH_NONE:
			want = v;
			break;
		case SMOOTH_EMA:
			if (k == 0)
				ema = v;
			else
				ema += (1 - powl(2.0L, -(long double)(ts[k] - ts[k - 1]) / c.half_life_ms)) *
				       ((long double)v - ema);
			want = (double)ema;
			break;
		case SMOOTH_MEAN: {
			long double s = 0;
			for (int j = 0; j < n; j++)
				s += win[j];
			want = (double)(s / n);
			break;
		}
		case SMOOTH_MAX:
		case SMOOTH_MIN:
			want = win[0];
			for (int j = 1; j < n; j++)
				want = m == SMOOTH_MAX ? fmax(want, win[j]) : fmin(want, win[j]);
			break;
		default: {
			qsort(win, (size_t)n, sizeof win[0], cmp_double);
			double q = m == SMOOTH_MEDIAN ? 0.5 : c.q;
			double rank = q * (n - 1), lo = floor(rank);
			int hi = (int)lo + 1 < n ? (int)lo + 1 : n - 1;
			want = win[(int)lo] * (1 - (rank - lo)) + win[hi] * (rank - lo);
			break;
		}
		}
		if (m == SMOOTH_EMA || m == SMOOTH_MEAN)
			assert_near(o.smoothed, want, 1e-9 * fabs(want));
		else if (memcmp(&o.smoothed, &want, sizeof want) != 0)
			fail_msg("%s step %d: smoothed %.17g, want %.17g", smooth_method_name(m), k,
			         o.smoothed, want);

		/* stabilisation reference, the HPA's loop over the recommendations */
		rec[k] = o.smoothed;
		double up_low = rec[k], down_high = rec[k];
		for (int j = k - 1; j >= 0 && ts[k] - ts[j] < c.down_ms; j--) {
			if (ts[k] - ts[j] < c.up_ms)
				up_low = fmin(up_low, rec[j]);
			down_high = fmax(down_high, rec[j]);
		}
		if (k == 0) {
			served = rec[k];
		} else {
			if (served < up_low)
				served = up_low;
			if (served > down_high)
				served = down_high;
		}
		if (memcmp(&o.value, &served, sizeof served) != 0)
			fail_msg("%s step %d: served %.17g, want %.17g", smooth_method_name(m), k,
			         o.value, served);
	}
	free(ts);
	free(val);
	free(rec);
	pipeline_state_free(st);
}

static void long_run(enum smooth_method m)
{
	long_run_down(m, SEC(300), LONG_STEPS);
}

/* A down window of 2 h at 15 s: a ring of 538 samples, whose deques keep
 * two-byte positions (one byte up to 256). */
static void test_long_wide_positions(void **unused)
{
	long_run_down(SMOOTH_MAX, SEC(7200), 20000);
	long_run_down(SMOOTH_MEAN, SEC(7200), 20000);
}

/*
 * The windows' promise with irregular samples: with stabilization.down = W
 * (and no smoothing) the served value is never below the largest raw value
 * of the last W seconds; with stabilization.up = W never above the smallest.
 * fast = false: gaps mostly of 0.9 intervals, now and then up to 4, so a
 * 10-minute window at 15 s holds at most 45 samples and the ring's slack
 * (40 + 5 + 2 = 47) keeps every one: the served value is that extreme
 * exactly. fast = true: bursts of gaps down to 50 ms put far more samples in
 * a window than the ring holds; the extremes it evicts while inside their
 * window are carried, which may hold them longer, never shorter, and at
 * most W longer: the served value is never above the largest raw value of
 * the last 2W (up: never below the smallest).
 */
static void window_irregular(bool down, bool fast)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	if (down)
		c.down_ms = SEC(600);
	else
		c.up_ms = SEC(600);
	const int64_t w = down ? c.down_ms : c.up_ms;
	struct pipeline_state *st = state_of(&c);
	enum { N = 20000 };
	int64_t *ts = malloc(N * sizeof *ts);
	double *val = malloc(N * sizeof *val);
	assert_non_null(ts);
	assert_non_null(val);
	uint64_t seed = fast ? 4242 : 99;
	int64_t t = T0;
	int most = 0, held_longer = 0;
	for (int k = 0; k < N; k++) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		if (!fast) /* mostly 13.5 .. 14 s, now and then up to a minute */
			t += (seed >> 60) ? 13500 + (int64_t)((seed >> 33) % 501)
			                  : 14000 + (int64_t)((seed >> 33) % 46001);
		else if (k / 500 % 2) /* 500 samples 50 ms .. 2 s apart, 500 at 5 .. 60 s */
			t += 50 + (int64_t)((seed >> 33) % 1951);
		else
			t += 5000 + (int64_t)((seed >> 33) % 55001);
		ts[k] = t;
		val[k] = (double)((seed >> 13) % 1000);
		double served = fed(&c, st, val[k], t);
		double want = val[k], bound = val[k];
		int n = 1;
		for (int j = k - 1; j >= 0 && t - ts[j] < w; j--, n++)
			want = down ? fmax(want, val[j]) : fmin(want, val[j]);
		for (int j = k - 1; j >= 0 && t - ts[j] < 2 * w; j--)
			bound = down ? fmax(bound, val[j]) : fmin(bound, val[j]);
		if (n > most)
			most = n;
		if (down ? served < want : served > want)
			fail_msg("step %d: served %g, %s %g, the %s raw value of the last 10m", k, served,
			         down ? "below" : "above", want, down ? "largest" : "smallest");
		if (down ? served > bound : served < bound)
			fail_msg("step %d: served %g, %s %g, the %s raw value of the last 20m", k, served,
			         down ? "above" : "below", bound, down ? "largest" : "smallest");
		if (!fast)
			assert_same(served, want); /* no other window: it is that extreme */
		held_longer += served != want;
	}
	if (fast) {
		assert_true(most > 200); /* the ring (47) overflowed, by far */
		assert_true(held_longer < N / 50); /* conservative, not stuck (91 and 171 here) */
	} else {
		assert_true(most >= 44); /* more samples in a window than W / interval + 2 */
	}
	free(ts);
	free(val);
	pipeline_state_free(st);
}

static void test_down_window_irregular(void **unused)
{
	window_irregular(true, false);
}

static void test_windows_overflowing_ring(void **unused)
{
	window_irregular(true, true);
	window_irregular(false, true);
}

/*
 * Down 60 s at 15 s: a ring of 4 + 0 + 2 = 6. A 100 at 0 s, then 10 every
 * second: the 100 leaves the ring at 6 s, 54 s before it leaves the window.
 * It is served until it is 60 s old (59 s: inside; 60 s: outside).
 */
static void test_down_carry_hand(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.down_ms = SEC(60);
	struct pipeline_state *st = state_of(&c);
	assert_same(fed(&c, st, 100, T0), 100);
	for (int i = 1; i <= 59; i++)
		assert_same(fed(&c, st, 10, T0 + SEC(i)), 100);
	assert_same(fed(&c, st, 10, T0 + SEC(60)), 10);
	assert_same(fed(&c, st, 10, T0 + SEC(61)), 10);
	pipeline_state_free(st);

	/*
	 * 100 at 0 s, 80 at 1 s, then 10s: both leave the ring inside the window
	 * (at 6 s and 7 s) and merge into one bucket (80 is not larger, 1 s
	 * after the bucket's first): 100, last 1 s. Exact would be 100 up to
	 * 59 s, 80 at 60 s, 10 from 61 s; the carry serves 100 at 60 s too (one
	 * second longer, never shorter), then 10.
	 */
	st = state_of(&c);
	fed(&c, st, 100, T0);
	assert_same(fed(&c, st, 80, T0 + SEC(1)), 100);
	for (int i = 2; i <= 60; i++)
		assert_same(fed(&c, st, 10, T0 + SEC(i)), 100);
	assert_same(fed(&c, st, 10, T0 + SEC(61)), 10);
	pipeline_state_free(st);

	/* a carry that left its window before the next eviction is not merged */
	st = state_of(&c);
	fed(&c, st, 100, T0);
	for (int i = 1; i <= 59; i++)
		fed(&c, st, 10, T0 + SEC(i));
	assert_same(fed(&c, st, 50, T0 + SEC(70)), 50);
	for (int i = 71; i <= 129; i++)
		assert_same(fed(&c, st, 10, T0 + SEC(i)), 50);
	assert_same(fed(&c, st, 10, T0 + SEC(130)), 10);
	pipeline_state_free(st);
}

/* The same for the up window's minimum: a 10 at 0 s, then 100 every second. */
static void test_up_carry_hand(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.up_ms = SEC(60);
	struct pipeline_state *st = state_of(&c);
	assert_same(fed(&c, st, 10, T0), 10);
	for (int i = 1; i <= 59; i++)
		assert_same(fed(&c, st, 100, T0 + SEC(i)), 10);
	assert_same(fed(&c, st, 100, T0 + SEC(60)), 100);
	pipeline_state_free(st);

	/* 10 at 0 s, 20 at 1 s, then 100s: one bucket, 10, last 1 s */
	st = state_of(&c);
	fed(&c, st, 10, T0);
	assert_same(fed(&c, st, 20, T0 + SEC(1)), 10);
	for (int i = 2; i <= 60; i++)
		assert_same(fed(&c, st, 100, T0 + SEC(i)), 10);
	assert_same(fed(&c, st, 100, T0 + SEC(61)), 100);
	pipeline_state_free(st);
}

/*
 * A steady fall sampled far faster than the ring was sized for: down 60 s at
 * 15 s (a ring of 6), 1000 at 0 s, then 999, 998, ... every second for 300 s.
 * Every evicted entry is the window's max (the values fall), so each goes
 * into the carry. Exact: the value of 59 s before, 1000 - (t - 59) from 59 s.
 * The carry: 1000 (0 s, evicted at 6 s) opens a bucket; the entries up to
 * 59 s merge into it (less than 60 s after its first); 940 (60 s, evicted
 * at 66 s) opens a second. The first is served until its last (59 s) is
 * 60 s old, at 119 s; then 940 (the bucket of 60 .. 119 s) up to 178 s,
 * 880 up to 238 s...: 1000 - 60k from 60k + 59 s to 60k + 118 s (k >= 1;
 * 1000 up to 118 s), 760 at 300 s. Never below the exact value, never above
 * the max of the last 120 s. A single (value, time) carry merged at the
 * newer time served 1000 throughout. The same for up with a steady rise.
 */
static void carry_steady(bool down)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	if (down)
		c.down_ms = SEC(60);
	else
		c.up_ms = SEC(60);
	struct pipeline_state *st = state_of(&c);
	const double d = down ? -1 : 1; /* the direction of the series */
	double served = 0;
	for (int t = 0; t <= 300; t++) {
		served = fed(&c, st, 1000 + d * t, T0 + SEC(t));
		double exact = 1000 + d * (t < 59 ? 0 : t - 59);  /* the last 60 s' extreme */
		double bound = 1000 + d * (t < 119 ? 0 : t - 119); /* the last 120 s' */
		if (down ? served < exact : served > exact)
			fail_msg("%s at %d s: served %g, %s the exact %g", down ? "down" : "up", t, served,
			         down ? "below" : "above", exact);
		if (down ? served > bound : served < bound)
			fail_msg("%s at %d s: served %g, %s %g, held more than a window too long",
			         down ? "down" : "up", t, served, down ? "above" : "below", bound);
		int k = (t + 1) / 60 - 1;
		assert_same(served, 1000 + d * 60 * (k < 0 ? 0 : k));
	}
	assert_same(served, down ? 760 : 1240);
	pipeline_state_free(st);
}

static void test_carry_bounded_hand(void **unused)
{
	carry_steady(true);
	carry_steady(false);
}

/*
 * Both windows carry (a 100 and a 10 evicted at 6 s and 7 s); a saved and
 * restored state keeps them and continues exactly as the original.
 */
static void test_carry_save_load(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.up_ms = SEC(60);
	c.down_ms = SEC(60);
	struct pipeline_state *sa = state_of(&c), *sb = state_of(&c);
	fed(&c, sa, 100, T0);
	fed(&c, sa, 10, T0 + SEC(1));
	for (int i = 2; i <= 20; i++)
		assert_same(fed(&c, sa, 50 + 10 * (i % 2), T0 + SEC(i)), 100);
	unsigned char *blob = NULL;
	size_t len = 0;
	char err[256] = "";
	assert_int_equal(pipeline_state_save(sa, &c, &blob, &len), 0);
	assert_int_equal(blob[4], 2);                /* version 2 */
	/* one bucket in each window (up in bits 0-1, down in bits 2-3), 24 bytes each */
	assert_int_equal(blob[len - 4 - 48 - 1], 1 | 1 << 2);
	feed(&c, sb, 1, T0 - SEC(5));
	assert_int_equal(pipeline_state_load(sb, &c, blob, len, err, sizeof err), 0);

	struct pipeline_out oa, ob;
	for (int i = 21; i < 140; i++) {
		/* 100 ms apart at first (the ring keeps overflowing), then 15 s */
		int64_t t = i < 100 ? T0 + SEC(20) + 100 * (i - 20) : T0 + SEC(28) + SEC(15) * (i - 99);
		double v = (double)(i * 37 % 101);
		oa = feed(&c, sa, v, t);
		ob = feed(&c, sb, v, t);
		assert_outs_equal(&oa, &ob, 1);
		if (i == 21)
			assert_same(oa.value, 100); /* the carried 100 of 0 s: the ring holds 50s and 60s */
	}
	unsigned char *ba = NULL, *bb = NULL;
	size_t la = 0, lb = 0;
	assert_int_equal(pipeline_state_save(sa, &c, &ba, &la), 0);
	assert_int_equal(pipeline_state_save(sb, &c, &bb, &lb), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, la);
	free(ba);
	free(bb);
	free(blob);
	pipeline_state_free(sa);
	pipeline_state_free(sb);
}

/*
 * Two live buckets (carry_steady at 80 s: 1000 until 59 s, 940 from 60 s to
 * 74 s), saved and restored: the restored state continues bit for bit, the
 * ring overflowing (300 ms apart) and then not (15 s apart).
 */
static void carry_two_buckets(bool down)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.up_ms = SEC(60);
	c.down_ms = SEC(60);
	struct pipeline_state *sa = state_of(&c), *sb = state_of(&c);
	const double d = down ? -1 : 1;
	for (int t = 0; t <= 80; t++)
		fed(&c, sa, 1000 + d * t, T0 + SEC(t));
	unsigned char *blob = NULL;
	size_t len = 0;
	char err[256] = "";
	assert_int_equal(pipeline_state_save(sa, &c, &blob, &len), 0);
	size_t flags = len - 4 - 40 - 1;
	assert_int_equal(blob[flags], down ? 2 << 2 : 2); /* two buckets, the other window none */
	double v0, v1;
	int64_t last0, last1, first;
	memcpy(&v0, blob + flags + 1, 8);
	memcpy(&last0, blob + flags + 9, 8);
	memcpy(&v1, blob + flags + 17, 8);
	memcpy(&last1, blob + flags + 25, 8);
	memcpy(&first, blob + flags + 33, 8);
	assert_same(v0, 1000);
	assert_int_equal(last0, T0 + SEC(59));
	assert_same(v1, 1000 + d * 60);
	assert_int_equal(last1, T0 + SEC(74));
	assert_int_equal(first, T0 + SEC(60));
	feed(&c, sb, 1, T0 - SEC(5));
	if (pipeline_state_load(sb, &c, blob, len, err, sizeof err) != 0)
		fail_msg("two buckets refused: %s", err);

	struct pipeline_out oa, ob;
	for (int i = 81; i < 600; i++) {
		int64_t t = i < 400 ? T0 + SEC(80) + 300 * (i - 80) : T0 + SEC(176) + SEC(15) * (i - 399);
		double v = (double)(i * 37 % 101) + (i < 120 ? 1000 : 0);
		oa = feed(&c, sa, v, t);
		ob = feed(&c, sb, v, t);
		assert_outs_equal(&oa, &ob, 1);
		if (i == 81) /* the first bucket's 1000 still counts: its last, 59 s, is 21.3 s old */
			assert_same(oa.value, 1000);
	}
	unsigned char *ba = NULL, *bb = NULL;
	size_t la = 0, lb = 0;
	assert_int_equal(pipeline_state_save(sa, &c, &ba, &la), 0);
	assert_int_equal(pipeline_state_save(sb, &c, &bb, &lb), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, la);
	free(ba);
	free(bb);
	free(blob);
	pipeline_state_free(sa);
	pipeline_state_free(sb);
}

static void test_carry_two_buckets_save_load(void **unused)
{
	carry_two_buckets(true);
	carry_two_buckets(false);
}

/* A down carry (100 at 0 s, evicted at 6 s: one bucket) in a blob. */
static void carry_blob(const struct pipeline_cfg *c, unsigned char **blob, size_t *len)
{
	struct pipeline_state *st = state_of(c);
	fed(c, st, 100, T0);
	for (int i = 1; i <= 10; i++)
		fed(c, st, 10, T0 + SEC(i));
	assert_int_equal(pipeline_state_save(st, c, blob, len), 0);
	pipeline_state_free(st);
}

/* Writes an int64 or a double at b + off. */
static void put8(unsigned char *b, size_t off, const void *x)
{
	memcpy(b + off, x, 8);
}

/* Carries that cannot be are refused, even under a valid checksum. */
static void test_load_rejects_bad_carry(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.down_ms = SEC(60);
	struct pipeline_state *dst = state_of(&c);
	feed(&c, dst, 7, T0);
	unsigned char *blob = NULL;
	size_t len = 0;
	carry_blob(&c, &blob, &len);
	/* the byte, then the bucket (value, last) and the newest bucket's first */
	size_t flags = len - 4 - 24 - 1, cv = flags + 1, clast = flags + 9, cfirst = flags + 17;
	assert_int_equal(blob[flags], 1 << 2); /* one down bucket */
	double v;
	int64_t t;
	memcpy(&v, blob + cv, 8);
	assert_same(v, 100);
	memcpy(&t, blob + clast, 8);
	assert_int_equal(t, T0);
	memcpy(&t, blob + cfirst, 8);
	assert_int_equal(t, T0);
	unsigned char *b = malloc(len);
	assert_non_null(b);

	/* an up bucket in a shape without an up window */
	memcpy(b, blob, len);
	b[flags] = 1 | 1 << 2;
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad carry");
	/* three buckets; bits that mean nothing */
	memcpy(b, blob, len);
	b[flags] = 3 << 2;
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad carry");
	memcpy(b, blob, len);
	b[flags] = 1 << 2 | 1 << 4;
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad carry");
	/* not finite */
	memcpy(b, blob, len);
	v = INFINITY;
	put8(b, cv, &v);
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad carry");
	/* outside its window (60 s before the newest, 10 s) */
	memcpy(b, blob, len);
	t = T0 + SEC(10) - SEC(60);
	put8(b, clast, &t);
	put8(b, cfirst, &t);
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad carry");
	/* not older than the ring's oldest entry (5 s) */
	memcpy(b, blob, len);
	t = T0 + SEC(5);
	put8(b, clast, &t);
	put8(b, cfirst, &t);
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad carry");
	/* first after last */
	memcpy(b, blob, len);
	t = T0 + 1;
	put8(b, cfirst, &t);
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad carry");
	/* spanning the window (60 s); 59.999 s loads */
	memcpy(b, blob, len);
	t = T0 - SEC(60);
	put8(b, cfirst, &t);
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad carry");
	t = T0 - SEC(60) + 1;
	put8(b, cfirst, &t);
	reseal(b, len);
	char err[256] = "";
	if (pipeline_state_load(dst, &c, b, len, err, sizeof err) != 0)
		fail_msg("a span under the window refused: %s", err);
	/* two buckets announced, one there; none announced, one there */
	memcpy(b, blob, len);
	b[flags] = 2 << 2;
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "bad carry");
	memcpy(b, blob, len);
	b[flags] = 0;
	reseal(b, len);
	expect_rejected(&c, dst, b, len, "corrupt");
	/* a bucket while the ring is not full */
	struct pipeline_state *part = state_of(&c);
	fed(&c, part, 100, T0);
	fed(&c, part, 10, T0 + SEC(1));
	unsigned char *pb = NULL;
	size_t pl = 0;
	assert_int_equal(pipeline_state_save(part, &c, &pb, &pl), 0);
	unsigned char *p2 = malloc(pl + 24);
	assert_non_null(p2);
	memcpy(p2, pb, pl - 5);
	p2[pl - 5] = 1 << 2;
	v = 100;
	t = T0 - SEC(1);
	put8(p2, pl - 4, &v);
	put8(p2, pl + 4, &t);
	put8(p2, pl + 12, &t);
	uint32_t total = (uint32_t)pl + 24;
	for (int i = 0; i < 4; i++)
		p2[8 + i] = (unsigned char)(total >> (8 * i));
	reseal(p2, pl + 24);
	expect_rejected(&c, dst, p2, pl + 24, "bad carry");

	/* two buckets: 1000 falling by 1 a second, at 80 s (1000 until 59 s, 940 from 60 s) */
	struct pipeline_state *two = state_of(&c);
	for (int i = 0; i <= 80; i++)
		fed(&c, two, 1000 - i, T0 + SEC(i));
	unsigned char *tb = NULL;
	size_t tl = 0;
	assert_int_equal(pipeline_state_save(two, &c, &tb, &tl), 0);
	size_t tflags = tl - 4 - 40 - 1, last0 = tflags + 9, tfirst = tflags + 33;
	assert_int_equal(tb[tflags], 2 << 2);
	/* out of order: the older bucket's last not before the newest's first */
	unsigned char *t2 = malloc(tl);
	assert_non_null(t2);
	memcpy(t2, tb, tl);
	t = T0 + SEC(60);
	put8(t2, last0, &t);
	reseal(t2, tl);
	expect_rejected(&c, dst, t2, tl, "bad carry");
	memcpy(t2, tb, tl);
	t = T0 + SEC(59);
	put8(t2, tfirst, &t);
	reseal(t2, tl);
	expect_rejected(&c, dst, t2, tl, "bad carry");
	/* as saved, it loads */
	if (pipeline_state_load(dst, &c, tb, tl, err, sizeof err) != 0)
		fail_msg("two buckets refused: %s", err);
	assert_same(fed(&c, dst, 0, T0 + SEC(118)), 1000);
	assert_same(fed(&c, dst, 0, T0 + SEC(119)), 940);

	/* the original, with the ring full, loads */
	assert_int_equal(pipeline_state_load(dst, &c, blob, len, err, sizeof err), 0);
	assert_same(fed(&c, dst, 10, T0 + SEC(59)), 100);
	assert_same(fed(&c, dst, 10, T0 + SEC(60)), 10);

	free(t2);
	free(tb);
	pipeline_state_free(two);
	free(p2);
	free(pb);
	pipeline_state_free(part);
	free(b);
	free(blob);
	pipeline_state_free(dst);
}

/*
 * A version 1 blob (no carries), as the build before carries saved it: none,
 * up 30 s, down 60 s, interval 15 s, samples 40, 90, 10, 20 at 0, 15, 30,
 * 45 s. It still loads, and the state then behaves as one fed those samples.
 */
static const unsigned char v1_blob[] = {
	0x53, 0x57, 0x50, 0x4c, 0x01, 0x00, 0x00, 0x00, 0xcc, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x30, 0x75, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x60, 0xea, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x98, 0x3a, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x01, 0xc8, 0x4d, 0x07, 0x34, 0x8f, 0x01, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x34, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x34, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x44, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x04, 0x00, 0x00, 0x00, 0x00, 0x9e, 0x06, 0x34, 0x8f, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x44, 0x40, 0x98, 0xd8, 0x06, 0x34,
	0x8f, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x56, 0x40,
	0x30, 0x13, 0x07, 0x34, 0x8f, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x24, 0x40, 0xc8, 0x4d, 0x07, 0x34, 0x8f, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x34, 0x40, 0x0f, 0x47, 0x6f, 0x7a,
};

static void test_load_version_1(void **unused)
{
	struct pipeline_cfg c = cfg_of(SMOOTH_NONE);
	c.up_ms = SEC(30);
	c.down_ms = SEC(60);
	struct pipeline_state *sa = state_of(&c), *sb = state_of(&c);
	static const double v[] = {40, 90, 10, 20};
	for (int i = 0; i < 4; i++)
		fed(&c, sa, v[i], T0 + SEC(15 * i));
	char err[256] = "";
	if (pipeline_state_load(sb, &c, v1_blob, sizeof v1_blob, err, sizeof err) != 0)
		fail_msg("version 1 blob refused: %s", err);

	struct pipeline_out oa, ob;
	pipeline_served(&c, sa, T0 + SEC(45), &oa);
	pipeline_served(&c, sb, T0 + SEC(45), &ob);
	assert_outs_equal(&oa, &ob, 1);
	for (int i = 4; i < 40; i++) {
		int64_t t = T0 + SEC(45) + SEC(i - 3) * (i % 3 ? 1 : 15);
		oa = feed(&c, sa, (double)(i * 13 % 29), t);
		ob = feed(&c, sb, (double)(i * 13 % 29), t);
		assert_outs_equal(&oa, &ob, 1);
	}
	/* saved again, it is a version 2 blob, the same as the original's */
	unsigned char *ba = NULL, *bb = NULL;
	size_t la = 0, lb = 0;
	assert_int_equal(pipeline_state_save(sa, &c, &ba, &la), 0);
	assert_int_equal(pipeline_state_save(sb, &c, &bb, &lb), 0);
	assert_int_equal(bb[4], 2);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, la);
	free(ba);
	free(bb);

	/* a version 1 blob whose length leaves no room for its own fields */
	unsigned char b[sizeof v1_blob];
	memcpy(b, v1_blob, sizeof b);
	b[8] = 60;
	expect_rejected(&c, sb, b, 60, "corrupt");
	pipeline_state_free(sa);
	pipeline_state_free(sb);
}

static void test_long_none(void **unused) { long_run(SMOOTH_NONE); }
static void test_long_ema(void **unused) { long_run(SMOOTH_EMA); }
static void test_long_mean(void **unused) { long_run(SMOOTH_MEAN); }
static void test_long_median(void **unused) { long_run(SMOOTH_MEDIAN); }
static void test_long_max(void **unused) { long_run(SMOOTH_MAX); }
static void test_long_min(void **unused) { long_run(SMOOTH_MIN); }
static void test_long_quantile(void **unused) { long_run(SMOOTH_QUANTILE); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cfg_defaults),
		cmocka_unit_test(test_method_names),
		cmocka_unit_test(test_validate_messages),
		cmocka_unit_test(test_validate_accepts_edges),
		cmocka_unit_test(test_same_shape),
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_ema_hand),
		cmocka_unit_test(test_ema_irregular_gaps),
		cmocka_unit_test(test_mean_window_boundary),
		cmocka_unit_test(test_median_quantile),
		cmocka_unit_test(test_median_duplicates),
		cmocka_unit_test(test_max_min),
		cmocka_unit_test(test_ring_cap_with_fast_samples),
		cmocka_unit_test(test_mean_overflow),
		cmocka_unit_test(test_mean_no_drift),
		cmocka_unit_test(test_not_newer_sample),
		cmocka_unit_test(test_stab_up),
		cmocka_unit_test(test_stab_up_partial_rise),
		cmocka_unit_test(test_stab_down),
		cmocka_unit_test(test_stab_both_windows),
		cmocka_unit_test(test_stab_after_smoothing),
		cmocka_unit_test(test_hysteresis),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_bounds_do_not_feed_back),
		cmocka_unit_test(test_reload_non_shape_settings),
		cmocka_unit_test(test_no_value_yet),
		cmocka_unit_test(test_stale_then_fallback),
		cmocka_unit_test(test_error_after_max_age),
		cmocka_unit_test(test_failure_keeps_windows),
		cmocka_unit_test(test_nan_inf_samples),
		cmocka_unit_test(test_error_text_bounded),
		cmocka_unit_test(test_shared_error_message),
		cmocka_unit_test(test_shared_message_bounded),
		cmocka_unit_test(test_shared_message_restored),
		cmocka_unit_test(test_times_across_rebase),
		cmocka_unit_test(test_times_after_long_gap),
		cmocka_unit_test(test_times_long_window),
		cmocka_unit_test(test_save_load_roundtrip),
		cmocka_unit_test(test_save_load_empty_and_failing),
		cmocka_unit_test(test_load_rejects_bad_blobs),
		cmocka_unit_test(test_load_rejects_sealed_nonsense),
		cmocka_unit_test(test_load_rejects_changed_cfg),
		cmocka_unit_test(test_long_none),
		cmocka_unit_test(test_long_ema),
		cmocka_unit_test(test_long_mean),
		cmocka_unit_test(test_long_median),
		cmocka_unit_test(test_long_max),
		cmocka_unit_test(test_long_min),
		cmocka_unit_test(test_long_quantile),
		cmocka_unit_test(test_long_wide_positions),
		cmocka_unit_test(test_down_window_irregular),
		cmocka_unit_test(test_windows_overflowing_ring),
		cmocka_unit_test(test_down_carry_hand),
		cmocka_unit_test(test_up_carry_hand),
		cmocka_unit_test(test_carry_bounded_hand),
		cmocka_unit_test(test_carry_save_load),
		cmocka_unit_test(test_carry_two_buckets_save_load),
		cmocka_unit_test(test_load_rejects_bad_carry),
		cmocka_unit_test(test_load_version_1),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
