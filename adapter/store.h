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

/*
 * A label set: labels (sorted by name) in one reference-counted block, the
 * array followed by its strings and an optional key string, so that a series
 * and every snapshot published from it share one copy. Immutable once made;
 * references may be taken and dropped from any thread.
 *
 * labelset_new copies n labels and key (NULL: "") and returns the array, with
 * one reference, or NULL on OOM. labelset_ref adds a reference and returns
 * set; labelset_unref drops one (NULL is a no-op) and frees the block with
 * the last. labelset_key is the key given to labelset_new.
 */
struct label *labelset_new(const struct label *labels, size_t n, const char *key);
struct label *labelset_ref(struct label *set);
void labelset_unref(struct label *set);
const char *labelset_key(const struct label *set);

struct served_series {
	struct label *labels;  /* sorted by name; a label set (a reference of the snapshot's), or NULL */
	uint32_t nlabels;      /* at most BATCH_MAX_LABELS */
	bool ok;               /* false: no servable value (reason says why) */
	double value;
	int64_t ts_ms;         /* time of the sample behind the value */
	char *reason;          /* when !ok; owned, or the same pointer as the previous item's */
};

struct snapshot {
	atomic_int refs;
	bool stamp_now;        /* static values: stamped with the request's time */
	size_t n;
	struct served_series *items; /* n of them, in the same allocation */
	char *error;           /* a metric-level problem when n == 0 ("no value yet: ...") */
};

/* A new snapshot with room for n series (zeroed) and one reference. NULL on OOM. */
struct snapshot *snapshot_new(size_t n);
/* Copies labels (sorted by the caller) into item i, as a new label set. 0 or -1 on OOM. */
int snapshot_set_labels(struct snapshot *s, size_t i, const struct label *labels, size_t n);
/* Item i takes a reference on the label set set (n labels) instead of a copy. */
void snapshot_share_labels(struct snapshot *s, size_t i, struct label *set, size_t n);
/* Item i's reason: a copy of reason, or, when it equals item i-1's, that
 * item's (a metric's failing series usually all say the same). 0 or -1 on OOM. */
int snapshot_set_reason(struct snapshot *s, size_t i, const char *reason);
/* Sets the metric-level error text (copied). */
void snapshot_set_error(struct snapshot *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void snapshot_ref(struct snapshot *s);
/* Drops one reference; frees the snapshot with the last one. NULL is fine. */
void snapshot_unref(struct snapshot *s);

/* Where one metric's current snapshot lives. Any thread. The locks are a
 * small table shared by all slots (picked by the slot's address): a mutex
 * per slot cost 40 bytes per metric for critical sections of a few loads. */
struct slot {
	struct snapshot *snap;
};

void slot_init(struct slot *sl);
void slot_release(struct slot *sl);
/* Replaces the snapshot (takes over the caller's reference). */
void slot_publish(struct slot *sl, struct snapshot *s);
/* The current snapshot with a reference the caller drops, or NULL. */
struct snapshot *slot_get(struct slot *sl);

#endif
