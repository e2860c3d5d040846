/*
 * store.c — published snapshots.
 */
#include "store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct snapshot *snapshot_new(size_t n)
{
	struct snapshot *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->items = calloc(n ? n : 1, sizeof *s->items);
	if (!s->items) {
		free(s);
		return NULL;
	}
	s->n = n;
	atomic_init(&s->refs, 1);
	return s;
}

int snapshot_set_labels(struct snapshot *s, size_t i, const struct label *labels, size_t n)
{
	struct served_series *it = &s->items[i];
	size_t bytes = 0;
	for (size_t j = 0; j < n; j++)
		bytes += strlen(labels[j].name) + strlen(labels[j].value) + 2;
	/* one block: the label array followed by the strings */
	char *block = malloc(n * sizeof(struct label) + bytes + 1);
	if (!block)
		return -1;
	struct label *arr = (struct label *)(void *)block;
	char *p = block + n * sizeof(struct label);
	for (size_t j = 0; j < n; j++) {
		size_t ln = strlen(labels[j].name) + 1, lv = strlen(labels[j].value) + 1;
		memcpy(p, labels[j].name, ln);
		arr[j].name = p;
		p += ln;
		memcpy(p, labels[j].value, lv);
		arr[j].value = p;
		p += lv;
	}
	it->labels = arr;
	it->nlabels = n;
	return 0;
}

void snapshot_set_error(struct snapshot *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	free(s->error);
	s->error = strdup(msg);
}

void snapshot_ref(struct snapshot *s)
{
	atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
}

void snapshot_unref(struct snapshot *s)
{
	if (!s)
		return;
	if (atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel) != 1)
		return;
	for (size_t i = 0; i < s->n; i++) {
		free(s->items[i].labels);
		free(s->items[i].reason);
	}
	free(s->items);
	free(s->error);
	free(s);
}

void slot_init(struct slot *sl)
{
	pthread_mutex_init(&sl->mu, NULL);
	sl->snap = NULL;
}

void slot_release(struct slot *sl)
{
	snapshot_unref(sl->snap);
	sl->snap = NULL;
	pthread_mutex_destroy(&sl->mu);
}

void slot_publish(struct slot *sl, struct snapshot *s)
{
	pthread_mutex_lock(&sl->mu);
	struct snapshot *old = sl->snap;
	sl->snap = s;
	pthread_mutex_unlock(&sl->mu);
	snapshot_unref(old);
}

struct snapshot *slot_get(struct slot *sl)
{
	pthread_mutex_lock(&sl->mu);
	struct snapshot *s = sl->snap;
	if (s)
		snapshot_ref(s);
	pthread_mutex_unlock(&sl->mu);
	return s;
}
