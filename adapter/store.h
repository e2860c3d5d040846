/*
 * store.h — the values the HPA is served, published per metric as immutable,
 * reference-counted snapshots. The poller builds a new snapshot and swaps it
 * in; a request takes a reference under a short lock, renders from it without
 * any lock, and drops the reference. Nothing on the request path waits on I/O.
 */
#ifndef SW_STORE_H
#define SW_STORE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "labels.h"

struct served_series {
	struct label *labels;  /* sorted by name; owned by the snapshot */
	size_t nlabels;
	bool ok;               /* false: no servable value (reason says why) */
	double value;
	int64_t ts_ms;         /* time of the sample behind the value */
	char *reason;          /* when !ok; owned */
};

struct snapshot {
	atomic_int refs;
	size_t n;
	struct served_series *items;
	char *error;           /* a metric-level problem when n == 0 ("no value yet: ...") */
	bool stamp_now;        /* static values: stamped with the request's time */
};

/* A new snapshot with room for n series (zeroed) and one reference. NULL on OOM. */
struct snapshot *snapshot_new(size_t n);
/* Copies labels (sorted by the caller) into item i. 0 or -1 on OOM. */
int snapshot_set_labels(struct snapshot *s, size_t i, const struct label *labels, size_t n);
/* Sets the metric-level error text (copied). */
void snapshot_set_error(struct snapshot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void snapshot_ref(struct snapshot *s);
/* Drops one reference; frees the snapshot with the last one. NULL is fine. */
void snapshot_unref(struct snapshot *s);

/* Where one metric's current snapshot lives. Any thread. */
struct slot {
	pthread_mutex_t mu;
	struct snapshot *snap;
};

void slot_init(struct slot *sl);
void slot_release(struct slot *sl);
/* Replaces the snapshot (takes over the caller's reference). */
void slot_publish(struct slot *sl, struct snapshot *s);
/* The current snapshot with a reference the caller drops, or NULL. */
struct snapshot *slot_get(struct slot *sl);

#endif
