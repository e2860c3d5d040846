/*
 * poller.h — polls every non-static metric in the background and publishes
 * what its pipeline serves into the metric's slot (store.h), so that no
 * request ever waits on a source.
 *
 * - A scheduler thread keeps a min-heap of targets by due time; a small pool
 *   of worker threads runs fetches; no thread per metric.
 * - A target is one (source, rendered query) fetch; metrics that render the
 *   same query against the same source share it (each keeps its own series
 *   and pipeline state).
 * - Interval with a small jitter, a deadline per fetch, a circuit breaker per
 *   source (breaker.h), never two fetches at once on a source whose scaler
 *   does not say SW_SCALER_CONCURRENT.
 * - Templated metrics: the first request for a (namespace, selector) creates a
 *   subscription answered by one synchronous fetch with a short deadline, kept
 *   warm afterwards and dropped after server.subscriptionIdle without a
 *   request.
 * - Series state carries over a config reload when the metric's pipeline
 *   keeps its shape, and over a restart through the state file.
 */
#ifndef SW_POLLER_H
#define SW_POLLER_H

#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"
#include "runtime.h"
#include "selector.h"
#include "store.h"

struct poller;

struct poller_opts {
	int workers;               /* most fetch threads (server.fetchWorkers); 0 = 4 */
	const char *state_file;    /* NULL or "": no persistence */
	int64_t save_every_ms;     /* 0 = 60 s */
	struct poller *previous;   /* on reload: the poller whose series states to carry over */
};

/* Opens every source of rt (a source that fails to open is retried at each
 * poll, its metrics serve the error) and starts polling. Takes a reference on
 * rt. NULL on OOM or thread failure. */
/* How long one fetch of a metric polled every interval_ms may take: 80 % of
 * the interval, 200 ms to 30 s (also what `scalewise query` allows). */
int64_t poller_fetch_budget_ms(int64_t interval_ms);

struct poller *poller_start(struct runtime *rt, const struct poller_opts *o);
/* Stops the threads, saves the state file when configured, closes sources. */
void poller_stop(struct poller *p);

/* For a templated metric: the snapshot of its (ns, selector) subscription,
 * creating the subscription and fetching synchronously (deadline wait_ms)
 * when new. A reference the caller drops, or NULL with a reason in err. */
struct snapshot *poller_subscription(struct poller *p, const struct metric_cfg *m, const char *ns,
				     const struct selector *sel, int64_t wait_ms, char *err, size_t errlen);

/* The poller serving the runtime in service (set by serve.c), or NULL. */
void poller_set_current(struct poller *p);
struct poller *poller_current_ref(void);
void poller_unref(struct poller *p);

/* A selfmetrics renderer (selfmetrics_add_renderer): circuit breakers, fetch
 * errors by reason and latency per metric, raw/smoothed/served value and
 * sample age per series, of the poller in service. */
void poller_render_metrics(struct buf *b, void *arg);

/* Saves every series' pipeline state to path now (temp file, fsync, rename). */
int poller_save(struct poller *p, const char *path, char *err, size_t errlen);

#endif
