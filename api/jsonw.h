/*
 * jsonw.h — a bounded, growable output buffer and a JSON string writer that
 * escapes exactly as Go's encoding/json does (K8S-WIRE.md §1): short forms for
 * \" \\ \n \r \t \b \f, \u00XX for other control bytes, \u003c \u003e \u0026
 * for < > &, \u2028 \u2029, invalid UTF-8 as \ufffd; '/' is not escaped.
 * Not thread-safe; one buffer per writer.
 */
#ifndef SW_JSONW_H
#define SW_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf {
	char *data;
	size_t len, cap;
	size_t max;   /* hard cap; 0 = 64 MiB */
	bool failed;  /* set when an append hit the cap or malloc failed */
};

/* Sets up an empty buffer with the given cap (0 = 64 MiB). Allocates nothing. */
void buf_init(struct buf *b, size_t max);
/* Frees what b holds; b can be reused after buf_init. */
void buf_release(struct buf *b);
/* Hands the bytes (NUL-terminated, or NULL) to the caller, who frees them; b is emptied. */
char *buf_detach(struct buf *b, size_t *len);
void buf_add(struct buf *b, const void *p, size_t n);
void buf_adds(struct buf *b, const char *s);
void buf_addc(struct buf *b, char c);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends s (n bytes) as a quoted JSON string with Go's escaping. */
void json_put_string(struct buf *b, const char *s, size_t n);
/* Appends t as "2006-01-02T15:04:05Z" (UTC, whole seconds, truncated), quoted. */
void json_put_time(struct buf *b, int64_t unix_ms);

#endif
