/*
 * replay.c — the replay scaler (replay.h says what it serves and when).
 */
#include "replay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct replay_source {
	char *path;
	char *series;
	double speed;
	int loop;
	int64_t offset_ms;
};

struct replay_metric {
	char *series;
};

struct replay_trace {
	char *series; /* the selection it was loaded with ("" for all) */
	struct trace tr;
};

struct replay_state {
	const struct sw_host *host;
	bool started;
	int64_t start_ms;
	struct replay_trace traces[REPLAY_MAX_TRACES];
	size_t n;
};

/* ------------------------------------------------------------------------ */
/* the clock                                                                */

/* x * k rounded, kept within ±4e18 so it always fits an int64. */
static int64_t scale(int64_t x, double k)
{
	double v = (double)x * k;
	if (v > 4e18)
		return INT64_C(4000000000000000000);
	if (v < -4e18)
		return -INT64_C(4000000000000000000);
	return llround(v);
}

void replay_locate(const struct trace *tr, double speed, bool loop, int64_t offset_ms, int64_t start_ms,
		   int64_t now_ms, struct replay_pos *out)
{
	memset(out, 0, sizeof *out);
	int64_t first = tr->ts_ms[0];
	out->end_wall_ms = INT64_MAX;
	if (tr->n == 1) {
		out->point_wall_ms = start_ms - scale(offset_ms, 1.0 / speed);
		return;
	}
	int64_t last = tr->ts_ms[tr->n - 1];
	int64_t spacing = (last - first) / (int64_t)(tr->n - 1);
	if (spacing < 1)
		spacing = 1;
	int64_t period = last - first + spacing; /* the trace's length, its last point included */
	int64_t elapsed = now_ms > start_ms ? now_ms - start_ms : 0;
	int64_t at = offset_ms + scale(elapsed, speed); /* trace time since the first point */
	if (!loop)
		out->end_wall_ms = start_ms + (offset_ms >= period ? 0 : (int64_t)ceil((double)(period - offset_ms) / speed));
	if (at >= period && !loop) {
		out->ended = true;
		return;
	}
	out->round = (uint64_t)(at / period);
	int64_t into = at % period;
	out->index = trace_index_at(tr, first + into);
	/* the wall time of that point in this round */
	int64_t point_at = (int64_t)out->round * period + (tr->ts_ms[out->index] - first);
	out->point_wall_ms = start_ms + scale(point_at - offset_ms, 1.0 / speed);
}

/* ------------------------------------------------------------------------ */
/* the scaler                                                               */

static const char *effective_series(const struct replay_source *src, const struct replay_metric *m)
{
	if (m && m->series && *m->series)
		return m->series;
	return src->series ? src->series : "";
}

/* Where a load error comes from, for messages naming the key. */
static const char *series_key(const struct replay_metric *m)
{
	return m && m->series && *m->series ? "params.series" : "the source's trace";
}

static int params_ok(const struct replay_source *src, char *err, size_t errlen)
{
	if (!src || !src->path || !*src->path) {
		snprintf(err, errlen, "path: required on the source (a trace file: CSV or a Prometheus range-query answer)");
		return -1;
	}
	if (!(src->speed > 0) || !isfinite(src->speed)) {
		snprintf(err, errlen, "speed: must be a positive number");
		return -1;
	}
	if (src->offset_ms < 0) {
		snprintf(err, errlen, "offset: must not be negative");
		return -1;
	}
	return 0;
}

/* The trace for selection series, loaded on first use. */
static const struct trace *trace_get(struct replay_state *st, const struct replay_source *src, const char *series,
				     char *err, size_t errlen)
{
	for (size_t i = 0; i < st->n; i++)
		if (!strcmp(st->traces[i].series, series))
			return &st->traces[i].tr;
	if (st->n == REPLAY_MAX_TRACES) {
		snprintf(err, errlen, "more than %d different series selections on one replay source; use another source",
			 REPLAY_MAX_TRACES);
		return NULL;
	}
	struct replay_trace *rt = &st->traces[st->n];
	rt->series = strdup(series);
	if (!rt->series) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (trace_load(src->path, *series ? series : NULL, &rt->tr, err, errlen)) {
		free(rt->series);
		rt->series = NULL;
		return NULL;
	}
	st->n++;
	return &rt->tr;
}

static int replay_open(void *state, const void *source_params, const struct sw_host *host, char *err, size_t errlen)
{
	struct replay_state *st = state;
	if (params_ok(source_params, err, errlen))
		return -1;
	st->host = host;
	return 0;
}

static int replay_check_source(const void *source_params, char *err, size_t errlen)
{
	return params_ok(source_params, err, errlen);
}

static int replay_check_metric(const void *source_params, const struct sw_request *req, char *err, size_t errlen)
{
	const struct replay_source *src = source_params;
	const struct replay_metric *m = req->params;
	if (params_ok(src, err, errlen))
		return -1;
	struct trace tr;
	char why[600];
	const char *sel = effective_series(src, m);
	if (trace_load(src->path, *sel ? sel : NULL, &tr, why, sizeof why)) {
		snprintf(err, errlen, "%s: %s", series_key(m), why);
		return -1;
	}
	trace_release(&tr);
	return 0;
}

static int replay_fetch(void *state, const void *source_params, const struct sw_request *req, struct sw_batch *out,
			char *err, size_t errlen)
{
	struct replay_state *st = state;
	const struct replay_source *src = source_params;
	const struct replay_metric *m = req->params;
	if (params_ok(src, err, errlen))
		return SW_FETCH_ANSWER_ERROR;
	char why[600];
	const struct trace *tr = trace_get(st, src, effective_series(src, m), why, sizeof why);
	if (!tr) {
		snprintf(err, errlen, "%s: %s", series_key(m), why);
		return SW_FETCH_ANSWER_ERROR;
	}
	if (!st->started) {
		st->started = true;
		st->start_ms = req->now_ms;
	}
	struct replay_pos pos;
	replay_locate(tr, src->speed, src->loop, src->offset_ms, st->start_ms, req->now_ms, &pos);
	if (pos.ended) {
		char end[40], from[40], rec0[40], rec1[40];
		trace_format_time(pos.end_wall_ms, end, sizeof end);
		trace_format_time(st->start_ms, from, sizeof from);
		trace_format_time(tr->ts_ms[0], rec0, sizeof rec0);
		trace_format_time(tr->ts_ms[tr->n - 1], rec1, sizeof rec1);
		snprintf(err, errlen,
			 "trace ended at %s: '%s' (recorded %s to %s) was replayed from %s at speed %g; set loop: true "
			 "to start over",
			 end, src->path, rec0, rec1, from, src->speed);
		return SW_FETCH_ANSWER_ERROR;
	}
	if (st->host->batch_add(out, tr->v[pos.index], pos.point_wall_ms, NULL, 0)) {
		snprintf(err, errlen, "the sample was refused");
		return SW_FETCH_ANSWER_ERROR;
	}
	return 0;
}

static void replay_close(void *state)
{
	struct replay_state *st = state;
	for (size_t i = 0; i < st->n; i++) {
		free(st->traces[i].series);
		trace_release(&st->traces[i].tr);
	}
	memset(st, 0, sizeof *st);
}

static const struct sw_param replay_source_params[] = {
	{ "path", SW_PARAM_FILE, offsetof(struct replay_source, path), NULL, 1, 1, 0,
	  "the trace: CSV timestamp,value or a Prometheus range-query answer (what `scalewise record` writes)", NULL },
	{ "series", SW_PARAM_STRING, offsetof(struct replay_source, series), "", 0, 1, 0,
	  "which series of a JSON trace: \"N\" or 'k=\"v\",...'; default all, summed", NULL },
	{ "speed", SW_PARAM_DOUBLE, offsetof(struct replay_source, speed), "1", 0, 0.001, 1e6,
	  "trace time per wall time: 10 replays ten times faster", NULL },
	{ "loop", SW_PARAM_BOOL, offsetof(struct replay_source, loop), "false", 0, 1, 0,
	  "start over after the end; without it the metric fails with \"trace ended at ...\"", NULL },
	{ "offset", SW_PARAM_DURATION, offsetof(struct replay_source, offset_ms), "0s", 0, 0, 3.2e12,
	  "trace time skipped at the start", NULL },
};

static const struct sw_param replay_metric_params[] = {
	{ "series", SW_PARAM_STRING, offsetof(struct replay_metric, series), NULL, 0, 1, 0,
	  "which series of the source's trace for this metric (overrides the source's series)", NULL },
};

const struct sw_scaler_type scaler_replay = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_scaler_type),
	.name = "replay",
	.flags = 0,
	.query = SW_QUERY_NONE,
	.state_size = sizeof(struct replay_state),
	.source_params_size = sizeof(struct replay_source),
	.source_params = replay_source_params,
	.n_source_params = sizeof replay_source_params / sizeof replay_source_params[0],
	.metric_params_size = sizeof(struct replay_metric),
	.metric_params = replay_metric_params,
	.n_metric_params = sizeof replay_metric_params / sizeof replay_metric_params[0],
	.open = replay_open,
	.check_metric = replay_check_metric,
	.fetch = replay_fetch,
	.close = replay_close,
	.check_source = replay_check_source,
};
