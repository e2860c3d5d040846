/*
 * simulate.h — `scalewise simulate`: replays a recorded series (trace.h)
 * through a metric's pipeline (pipeline.h, the code `serve` runs) and the
 * HPA model (hpa.h), on a virtual clock, and measures how the workload
 * would have scaled.
 *
 * The model, precisely (all times in ms on the trace's clock):
 *
 * Clock. t0 is the trace's first timestamp. The HPA syncs at
 *   t_k = t0 + k x sync (sync = 15 s, the controller's default period) for
 *   k = 0 .. N-1, N = floor((last - t0) / sync) + 1: every sync at or before
 *   the last sample. Step k is the interval [t_k, t_k + sync); the run
 *   lasts N x sync.
 *
 * Polls. The metric is polled at p_j = t0 + j x interval (the metric's
 *   `interval`). A poll reads the last trace point at or before p_j and
 *   feeds it to pipeline_step() stamped with p_j (as an instant query
 *   stamps its answer with the evaluation time; a source is read when it is
 *   polled). When that point is `lookback` or more older than p_j (a gap in
 *   the trace; default the larger of 5 min, Prometheus' lookback delta, and
 *   twice the trace's median step) the poll fails instead: pipeline_fail(),
 *   and the metric's onError policy decides what is served.
 *   Polls at p_j <= t_k run before the sync at t_k.
 *
 * What the HPA sees. At t_k the HPA reads pipeline_served(t_k) as the one
 *   series of its External metric: the value goes through the API's
 *   Quantity (quantity_from_double, nearest milli-unit) and MilliValue().
 *   A metric the pipeline cannot serve (no value, onError: error) is a
 *   failed fetch (FailedGetExternalMetric: the HPA keeps its count). Then
 *   hpa_reconcile(t_k) runs with spec.replicas = status.replicas = the
 *   current replica count and ready pods = the ready count at t_k.
 *
 * Workload and readiness. It starts at `initial` replicas (default the
 *   HPA's minReplicas), all ready. A scale-up from r to r' at t_k adds
 *   r' - r pods that become ready at t_k + startup (at once for startup 0).
 *   A scale-down removes not-yet-ready pods first, newest first, then ready
 *   ones (as a ReplicaSet picks pods to delete). A pod is ready at time t
 *   iff its ready time is <= t.
 *
 * Capacity and demand. Demand at time t is the raw trace value at t (the
 *   last point at or before t). Capacity at t = ready pods at t x the
 *   per-replica capacity (--capacity; default the AverageValue target; no
 *   capacity model for a Value target without --capacity).
 *   underprovisioned_seconds = the time during the run where demand >
 *   capacity, and underprovisioned_unit_seconds = the integral over the run
 *   of max(0, demand - capacity) dt in metric units x seconds. Both are
 *   exact for the step functions demand and capacity (which change at trace
 *   points, syncs and readiness times); for a trace on the sync grid or
 *   coarser they equal the sum over sync steps where demand > capacity.
 *
 * Summary (one per simulated metric): steps N; scale_events, the syncs at
 *   which the replica count changed (scale_ups + scale_downs);
 *   replica_seconds = sum over steps of replicas after the sync x sync
 *   (pods cost from the moment they are created, ready or not);
 *   mean_replicas = replica_seconds / (N x sync); max_replicas.
 *
 * Everything is deterministic: the same inputs give the same numbers bit
 * for bit. Nothing here reads a clock or does I/O except simulate_main and
 * the progress callback.
 */
#ifndef SW_SIMULATE_H
#define SW_SIMULATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hpa.h"
#include "jsonw.h"
#include "pipeline.h"
#include "trace.h"

#define SIM_SYNC_MS          15000
#define SIM_DEFAULT_LOOKBACK INT64_C(300000)
#define SIM_MAX_STARTUP_MS   INT64_C(86400000)   /* --startup at most 24h */
#define SIM_MAX_REPLICAS     1000000             /* --initial, --max at most */
#define SIM_MAX_STEPS        ((size_t)20000000)  /* about 9.5 years of 15 s syncs */
#define SIM_MAX_METRICS      16

struct sim_setup {
	const struct hpa_spec *spec;  /* exactly one External metric; validated */
	int32_t initial;              /* replicas at t0, all ready */
	int64_t startup_ms;           /* 0 .. SIM_MAX_STARTUP_MS */
	bool has_capacity;
	double capacity;              /* per ready replica, > 0, when has_capacity */
	int64_t sync_ms;              /* 0: SIM_SYNC_MS */
	int64_t lookback_ms;          /* 0: sim_default_lookback(trace) */
	/* Called every few thousand steps and at the end, from sim_run's thread. */
	void (*progress)(void *ctx, size_t done, size_t total);
	void *progress_ctx;
};

/* One HPA sync. */
struct sim_step {
	int64_t t_ms;
	double raw;          /* demand at t */
	double served;       /* what the HPA read; NaN when the metric could not be served */
	int32_t desired;     /* the HPA's recommendation from the metric before stabilisation
	                      * and rate limits (min/max clamps on the initial count when
	                      * the count was outside them); -1 when the metric failed */
	int32_t replicas;    /* after the sync */
	int32_t ready;       /* ready at t after the sync (capacity = ready x capacity) */
	int8_t change;       /* +1 scaled up at this sync, -1 down, 0 not */
	bool under;          /* demand > capacity at t (after the sync) */
};

struct sim_summary {
	size_t steps, scale_events, scale_ups, scale_downs;
	double replica_seconds, mean_replicas;
	int32_t max_replicas;
	bool has_capacity;                  /* false: the two below are not computed */
	double underprovisioned_seconds;
	double underprovisioned_unit_seconds;
	/* not in the JSON summary; for the table */
	size_t unavailable_syncs;           /* syncs at which the HPA's fetch failed */
	size_t polls, failed_polls;         /* polls, and those that hit a trace gap */
	int64_t start_ms, end_ms;           /* t0 and t0 + N x sync */
	int64_t lookback_ms;                /* the lookback used */
};

/* N for a trace (see above); 0 for an empty trace. */
size_t sim_step_count(const struct trace *tr, int64_t sync_ms);

/* The default lookback: max(5 min, 2 x the median gap between points). */
int64_t sim_default_lookback(const struct trace *tr);

/*
 * Runs one metric (its pipeline cfg, which must pass pipeline_cfg_validate)
 * over the trace. steps is NULL or holds sim_step_count() entries, filled in
 * order. Returns 0, or -1 with a message in err: a bad setup (spec without
 * exactly one External metric, negative initial, startup or capacity out of
 * range, more than SIM_MAX_STEPS), a pipeline cfg that does not validate,
 * or out of memory.
 */
int sim_run(const struct trace *tr, const struct pipeline_cfg *pipe, const struct sim_setup *setup,
	    struct sim_step *steps, struct sim_summary *out, char *err, size_t errlen);

/*
 * Appends the JSON summary: an array with one object per metric, exactly
 * these keys in this order: metric, steps, scale_events, scale_ups,
 * scale_downs, replica_seconds, mean_replicas, max_replicas,
 * underprovisioned_seconds, underprovisioned_unit_seconds (the last two null
 * without a capacity model). Numbers are written as the shortest decimal
 * that reads back as the same double. Ends with a newline.
 */
void sim_summary_json(struct buf *b, const char *const *names, const struct sim_summary *s, size_t n);

/* A one-line description of a pipeline cfg: "ema halfLife 1m; down 5m". */
void sim_describe_pipeline(const struct pipeline_cfg *c, char *buf, size_t n);

/*
 * `scalewise simulate`; argv[0] is the command name. Prints the table on
 * stdout and writes the files asked for. Returns 0; 2 after one line on
 * stderr for bad input (flag, file and line named); 1 when an output file
 * cannot be written. Not thread-safe (stdout, stderr).
 */
int simulate_main(int argc, char **argv);

#endif
