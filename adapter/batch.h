/*
 * batch.h — where a scaler's fetch puts its samples (struct sw_batch is
 * opaque to scalers; they add through the host table). The core owns it:
 * labels are copied and sorted, the count is capped.
 */
#ifndef SW_BATCH_H
#define SW_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "labels.h"
#include "scaler.h"

#define BATCH_MAX_SAMPLES 10000
#define BATCH_MAX_LABELS 64

struct sample {
	double value;
	int64_t ts_ms;
	struct label *labels;  /* sorted by name, unique; one malloc block with the strings */
	size_t nlabels;
	char *key;             /* the series identity: labels joined, owned */
};

struct sw_batch {
	struct sample *items;
	size_t n, cap;
	int overflow;          /* a sample was refused (cap, bad labels) */
	char why[160];
};

void batch_init(struct sw_batch *b);
void batch_release(struct sw_batch *b);
/* The host's batch_add (see scaler.h). Duplicate label names: the last wins. */
int batch_add(struct sw_batch *b, double value, int64_t ts_ms, const struct sw_label *labels, size_t nlabels);

/* Builds the identity key of a sorted label set: "k\x1fv\x1e..." (malloc'd). */
char *labels_key(const struct label *labels, size_t n);

#endif
