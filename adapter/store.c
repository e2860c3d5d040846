/*
 * store.c — published snapshots.
 */
#include "store.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------ */
/* label sets                                                               */

struct labelset_hdr {
	atomic_int refs;
	const char *key;
};

_Static_assert(sizeof(struct labelset_hdr) % _Alignof(struct label) == 0, "the array follows the header");

static struct labelset_hdr *hdr_of(const struct label *set)
{
	return (struct labelset_hdr *)(void *)((char *)(uintptr_t)set - sizeof(struct labelset_hdr));
}

struct label *labelset_new(const struct label *labels, size_t n, const char *key)
{
	if (!key)
		key = "";
	size_t klen = strlen(key) + 1, bytes = klen;
	for (size_t j = 0; j < n; j++)
		bytes += strlen(labels[j].name) + strlen(labels[j].value) + 2;
	struct labelset_hdr *h = malloc(sizeof *h + n * sizeof(struct label) + bytes);
	if (!h)
		return NULL;
	struct label *arr = (struct label *)(void *)(h + 1);
	char *p = (char *)(arr + n);
	for (size_t j = 0; j < n; j++) {
		size_t ln = strlen(labels[j].name) + 1, lv = strlen(labels[j].value) + 1;
		memcpy(p, labels[j].name, ln);
		arr[j].name = p;
		p += ln;
		memcpy(p, labels[j].value, lv);
		arr[j].value = p;
		p += lv;
	}
	memcpy(p, key, klen);
	h->key = p;
	atomic_init(&h->refs, 1);
	return arr;
}

struct label *labelset_ref(struct label *set)
{
	atomic_fetch_add_explicit(&hdr_of(set)->refs, 1, memory_order_relaxed);
	return set;
}

void labelset_unref(struct label *set)
{
	if (!set)
		return;
	struct labelset_hdr *h = hdr_of(set);
	if (atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) == 1)
		free(h);
}

const char *labelset_key(const struct label *set)
{
	return hdr_of(set)->key;
}

/* ------------------------------------------------------------------------ */
/* snapshots                                                                */

struct snapshot *snapshot_new(size_t n)
{
	/* one allocation: the struct, then the items */
	struct snapshot *s = calloc(1, sizeof *s + n * sizeof *s->items);
	if (!s)
		return NULL;
	s->items = (struct served_series *)(void *)(s + 1);
	s->n = n;
	atomic_init(&s->refs, 1);
	return s;
}

int snapshot_set_labels(struct snapshot *s, size_t i, const struct label *labels, size_t n)
{
	struct label *set = labelset_new(labels, n, NULL);
	if (!set)
		return -1;
	labelset_unref(s->items[i].labels);
	s->items[i].labels = set;
	s->items[i].nlabels = n;
	return 0;
}

void snapshot_share_labels(struct snapshot *s, size_t i, struct label *set, size_t n)
{
	labelset_ref(set);
	labelset_unref(s->items[i].labels);
	s->items[i].labels = set;
	s->items[i].nlabels = n;
}

int snapshot_set_reason(struct snapshot *s, size_t i, const char *reason)
{
	if (i > 0 && s->items[i - 1].reason && !strcmp(s->items[i - 1].reason, reason)) {
		s->items[i].reason = s->items[i - 1].reason;
		return 0;
	}
	s->items[i].reason = strdup(reason);
	return s->items[i].reason ? 0 : -1;
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
		labelset_unref(s->items[i].labels);
		if (i == 0 || s->items[i].reason != s->items[i - 1].reason)
			free(s->items[i].reason);
	}
	free(s->error);
	free(s);
}

/* The slot locks: a power of two, more than the threads that could contend. */
#define SLOT_LOCKS 64
static pthread_mutex_t slot_locks[SLOT_LOCKS] = {
	[0 ... SLOT_LOCKS - 1] = PTHREAD_MUTEX_INITIALIZER,
};

static pthread_mutex_t *slot_lock(const struct slot *sl)
{
	uintptr_t a = (uintptr_t)sl;
	return &slot_locks[(a >> 3 ^ a >> 9) & (SLOT_LOCKS - 1)];
}

void slot_init(struct slot *sl)
{
	sl->snap = NULL;
}

void slot_release(struct slot *sl)
{
	snapshot_unref(sl->snap);
	sl->snap = NULL;
}

void slot_publish(struct slot *sl, struct snapshot *s)
{
	pthread_mutex_t *mu = slot_lock(sl);
	pthread_mutex_lock(mu);
	struct snapshot *old = sl->snap;
	sl->snap = s;
	pthread_mutex_unlock(mu);
	snapshot_unref(old);
}

struct snapshot *slot_get(struct slot *sl)
{
	pthread_mutex_t *mu = slot_lock(sl);
	pthread_mutex_lock(mu);
	struct snapshot *s = sl->snap;
	if (s)
		snapshot_ref(s);
	pthread_mutex_unlock(mu);
	return s;
}
