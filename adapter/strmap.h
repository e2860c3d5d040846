/*
 * strmap.h — a hash map from byte-string keys (NUL allowed inside, so a key
 * can join several fields) to pointers. Keys are copied; values are not
 * owned. Not thread-safe: the owner locks. Written here because glibc's
 * hsearch has one table per process (or fixed-size, delete-less _r tables)
 * and the poller needs deletes and growth; it is ~100 lines.
 */
#ifndef SW_STRMAP_H
#define SW_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_new(void);
void strmap_free(struct strmap *m);
/* The value under key, or NULL. */
void *strmap_get(const struct strmap *m, const void *key, size_t len);
/* Sets key to val (replacing any value). 0, or -1 when out of memory. */
int strmap_put(struct strmap *m, const void *key, size_t len, void *val);
/* Removes key; its value, or NULL when it was not there. */
void *strmap_del(struct strmap *m, const void *key, size_t len);
size_t strmap_count(const struct strmap *m);

#endif
