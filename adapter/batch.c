/*
 * batch.c — samples collected by one fetch.
 */
#include "batch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void batch_init(struct sw_batch *b)
{
	memset(b, 0, sizeof *b);
}

void batch_release(struct sw_batch *b)
{
	for (size_t i = 0; i < b->n; i++) {
		free(b->items[i].labels);
		free(b->items[i].key);
	}
	free(b->items);
	memset(b, 0, sizeof *b);
}

static int cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

char *labels_key(const struct label *labels, size_t n)
{
	size_t len = 1;
	for (size_t i = 0; i < n; i++)
		len += strlen(labels[i].name) + strlen(labels[i].value) + 2;
	char *k = malloc(len), *p = k;
	if (!k)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t a = strlen(labels[i].name), v = strlen(labels[i].value);
		memcpy(p, labels[i].name, a);
		p += a;
		*p++ = '\x1f';
		memcpy(p, labels[i].value, v);
		p += v;
		*p++ = '\x1e';
	}
	*p = 0;
	return k;
}

int batch_add(struct sw_batch *b, double value, int64_t ts_ms, const struct sw_label *in, size_t nlabels)
{
	if (b->n >= BATCH_MAX_SAMPLES || nlabels > BATCH_MAX_LABELS) {
		b->overflow = 1;
		snprintf(b->why, sizeof b->why, nlabels > BATCH_MAX_LABELS ? "a series has more than %d labels"
									   : "more than %d series",
			 nlabels > BATCH_MAX_LABELS ? BATCH_MAX_LABELS : BATCH_MAX_SAMPLES);
		return -1;
	}
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 8;
		struct sample *items = realloc(b->items, cap * sizeof *items);
		if (!items)
			return -1;
		b->items = items;
		b->cap = cap;
	}
	struct label tmp[BATCH_MAX_LABELS];
	size_t n = 0, bytes = 0;
	for (size_t i = 0; i < nlabels; i++) {
		if (!in[i].name || !in[i].value)
			continue;
		tmp[n].name = in[i].name;
		tmp[n].value = in[i].value;
		n++;
	}
	qsort(tmp, n, sizeof tmp[0], cmp_label);
	/* duplicates: keep the last given (qsort is not stable, so resolve by input order) */
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (w && !strcmp(tmp[w - 1].name, tmp[i].name)) {
			for (size_t j = nlabels; j-- > 0;) {
				if (in[j].name && !strcmp(in[j].name, tmp[i].name)) {
					tmp[w - 1].value = in[j].value;
					break;
				}
			}
			continue;
		}
		tmp[w++] = tmp[i];
	}
	n = w;
	for (size_t i = 0; i < n; i++)
		bytes += strlen(tmp[i].name) + strlen(tmp[i].value) + 2;
	char *block = malloc(n * sizeof(struct label) + bytes + 1);
	if (!block)
		return -1;
	struct label *arr = (struct label *)(void *)block;
	char *p = block + n * sizeof(struct label);
	for (size_t i = 0; i < n; i++) {
		size_t a = strlen(tmp[i].name) + 1, v = strlen(tmp[i].value) + 1;
		memcpy(p, tmp[i].name, a);
		arr[i].name = p;
		p += a;
		memcpy(p, tmp[i].value, v);
		arr[i].value = p;
		p += v;
	}
	char *key = labels_key(arr, n);
	if (!key) {
		free(block);
		return -1;
	}
	struct sample *s = &b->items[b->n++];
	s->value = value;
	s->ts_ms = ts_ms;
	s->labels = arr;
	s->nlabels = n;
	s->key = key;
	return 0;
}
