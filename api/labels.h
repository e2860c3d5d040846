/*
 * labels.h — a series' labels: an array of name/value pairs, sorted by name
 * (bytewise, as Go sorts map keys), names unique. Owned by whoever built the
 * array; the selector and the JSON writer only read it.
 */
#ifndef SW_LABELS_H
#define SW_LABELS_H

#include <stddef.h>

struct label {
	const char *name;
	const char *value;
};

#endif
