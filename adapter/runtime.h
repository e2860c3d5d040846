/*
 * runtime.h — one loaded configuration in service: the config, and a slot per
 * metric where its served values are published. A reload builds a new runtime
 * and swaps it in; requests hold a reference to the one they started with, so
 * a reload never pulls memory from under a request.
 */
#ifndef SW_RUNTIME_H
#define SW_RUNTIME_H

#include <stdatomic.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

struct runtime {
	atomic_int refs;
	struct config cfg;
	struct slot *slots;     /* cfg.nmetrics of them, same order */
	int64_t loaded_ms;
};

/* Takes over cfg (the caller's struct is zeroed). Static metrics are published
 * at once. One reference. NULL on OOM (cfg released). */
struct runtime *runtime_new(struct config *cfg);
void runtime_ref(struct runtime *rt);
void runtime_unref(struct runtime *rt);

/* The runtime in service, with a reference, or NULL before the first load. */
struct runtime *runtime_current(void);
/* Puts rt in service (takes over the caller's reference); the old one is dropped. */
void runtime_swap(struct runtime *rt);

/* The slot of metric m (a pointer into rt->cfg.metrics). */
struct slot *runtime_slot(struct runtime *rt, const struct metric_cfg *m);

int64_t now_ms(void);

#endif
