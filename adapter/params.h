/*
 * params.h — the generic loader of scaler parameter tables (scalers/scaler.h
 * struct sw_param) from a config object, with errors that name the key path.
 * It also serves the core's own "did you mean" for unknown keys.
 */
#ifndef SW_PARAMS_H
#define SW_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <cJSON.h>

#include "scaler.h"

struct errlist;

/* Fills the struct at out (size bytes, zeroed by the caller) from obj following
 * the table; every problem is added to errs with path as prefix (e.g.
 * "sources.queue"). skip lists keys of obj that belong to the caller (NULL-
 * terminated, may be NULL) and are not reported as unknown. Returns the number
 * of problems added. */
int params_load(const struct sw_param *table, size_t n, const cJSON *obj, const char *path,
		const char *const *skip, void *out, struct errlist *errs);
/* Frees the strings, maps and lists that params_load allocated in out. */
void params_release(const struct sw_param *table, size_t n, void *out);

/* The closest candidate to word (edit distance ≤ 2, or a case-only difference),
 * or NULL. */
const char *params_suggest(const char *word, const char *const *candidates, size_t n);

/* Parses a number or a Kubernetes quantity string into a double; 0 or -1. */
int params_number(const cJSON *item, double *out, char *err, size_t errlen);

#endif
