/*
 * errlist.h — a list of problems found while checking a config, each one line
 * that starts with the key path ("metrics[2].smoothing: unknown key ...").
 */
#ifndef SW_ERRLIST_H
#define SW_ERRLIST_H

#include <stddef.h>

#define ERRLIST_MAX 200

struct errlist {
	size_t n;
	char *items[ERRLIST_MAX];
	size_t dropped;
};

void errlist_init(struct errlist *e);
void errlist_release(struct errlist *e);
/* Adds "path: message" (path may be NULL or empty). */
void errlist_add(struct errlist *e, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
