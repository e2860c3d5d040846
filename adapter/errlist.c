/*
 * errlist.c — collected config problems.
 */
#include "errlist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void errlist_init(struct errlist *e)
{
	memset(e, 0, sizeof *e);
}

void errlist_release(struct errlist *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->items[i]);
	e->n = 0;
	e->dropped = 0;
}

void errlist_add(struct errlist *e, const char *path, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (e->n >= ERRLIST_MAX) {
		e->dropped++;
		return;
	}
	size_t need = (path ? strlen(path) : 0) + strlen(msg) + 3;
	char *s = malloc(need);
	if (!s) {
		e->dropped++;
		return;
	}
	if (path && *path)
		snprintf(s, need, "%s: %s", path, msg);
	else
		snprintf(s, need, "%s", msg);
	e->items[e->n++] = s;
}
