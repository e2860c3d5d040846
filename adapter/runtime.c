/*
 * runtime.c — the configuration in service.
 */
#include "runtime.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t current_mu = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *current;

int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A static metric's fixed values, stamped with the request's time when served. */
static struct snapshot *static_snapshot(const struct metric_cfg *m)
{
	struct snapshot *s = snapshot_new(m->nseries);
	if (!s)
		return NULL;
	s->stamp_now = true;
	for (size_t i = 0; i < m->nseries; i++) {
		if (snapshot_set_labels(s, i, m->series[i].labels, m->series[i].nlabels)) {
			snapshot_unref(s);
			return NULL;
		}
		s->items[i].ok = true;
		s->items[i].value = m->series[i].value;
	}
	return s;
}

struct runtime *runtime_new(struct config *cfg)
{
	struct runtime *rt = calloc(1, sizeof *rt);
	if (!rt) {
		config_release(cfg);
		return NULL;
	}
	rt->cfg = *cfg;
	memset(cfg, 0, sizeof *cfg);
	rt->slots = calloc(rt->cfg.nmetrics ? rt->cfg.nmetrics : 1, sizeof *rt->slots);
	if (!rt->slots) {
		config_release(&rt->cfg);
		free(rt);
		return NULL;
	}
	for (size_t i = 0; i < rt->cfg.nmetrics; i++) {
		slot_init(&rt->slots[i]);
		const struct metric_cfg *m = &rt->cfg.metrics[i];
		if (m->series)
			slot_publish(&rt->slots[i], static_snapshot(m));
	}
	atomic_init(&rt->refs, 1);
	rt->loaded_ms = now_ms();
	return rt;
}

void runtime_ref(struct runtime *rt)
{
	atomic_fetch_add_explicit(&rt->refs, 1, memory_order_relaxed);
}

void runtime_unref(struct runtime *rt)
{
	if (!rt || atomic_fetch_sub_explicit(&rt->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < rt->cfg.nmetrics; i++)
		slot_release(&rt->slots[i]);
	free(rt->slots);
	config_release(&rt->cfg);
	free(rt);
}

struct runtime *runtime_current(void)
{
	pthread_mutex_lock(&current_mu);
	struct runtime *rt = current;
	if (rt)
		runtime_ref(rt);
	pthread_mutex_unlock(&current_mu);
	return rt;
}

void runtime_swap(struct runtime *rt)
{
	pthread_mutex_lock(&current_mu);
	struct runtime *old = current;
	current = rt;
	pthread_mutex_unlock(&current_mu);
	runtime_unref(old);
}

struct slot *runtime_slot(struct runtime *rt, const struct metric_cfg *m)
{
	return &rt->slots[m - rt->cfg.metrics];
}
