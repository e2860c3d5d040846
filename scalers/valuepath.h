/*
 * valuepath.h — a dotted path to one value inside a JSON document, and the
 * reading of that value as a number; shared by the JSON-over-HTTP scalers
 * (metrics-api's `valueLocation`).
 *
 * The syntax is the common subset of GJSON (github.com/tidwall/gjson), which
 * KEDA's metrics-api scaler uses, so a KEDA `valueLocation` carries over:
 *   components.worker.tasks   keys separated by '.'
 *   items.0.count             a segment of digits indexes an array (on an
 *                             object it is an ordinary key, as in GJSON)
 *   items.#                   '#' as the last segment: the array's length
 *   stats.rate\.1m            '\' makes the next character literal ('.', '*',
 *                             '?', '#', '|', '@', '\')
 * Refused with a message, because their GJSON meaning is not implemented:
 * wildcards ('*', '?'), pipes ('|'), modifiers ('@reverse'), queries
 * ('#(...)'), '#' before the last segment, empty segments ('a..b', '.a').
 *
 * A value reads as a number when it is a JSON number, or a string holding a
 * Kubernetes quantity ("1.5k", "250m", "2Gi", "12"). Booleans, null, objects,
 * arrays and other strings are errors: never a silent 0.
 *
 * Everything here is pure: any thread.
 */
#ifndef SW_VALUEPATH_H
#define SW_VALUEPATH_H

#include <stddef.h>

#include <cJSON.h>

#define VALUEPATH_MAX_LEN 1024      /* bytes of path text */
#define VALUEPATH_MAX_SEGMENTS 64

enum valuepath_kind {
	VALUEPATH_KEY,   /* an object key, or an array index when it is all digits */
	VALUEPATH_COUNT, /* '#': the length of an array; last segment only */
};

struct valuepath_seg {
	enum valuepath_kind kind;
	char *key;   /* unescaped; "" never occurs */
	long index;  /* >= 0 when key is all digits (at most 9 of them), else -1 */
};

struct valuepath {
	char *text;  /* the path as written, for messages */
	size_t n;
	struct valuepath_seg *segs;
};

/* Parses text into vp (which the caller then releases). 0, or -1 with a
 * message that quotes the path and says what is wrong, e.g.
 *   value path 'a..b' has an empty segment
 *   value path 'items.*.n' uses a wildcard ('*' or '?'), which is not supported
 * On failure vp holds nothing to release. */
int valuepath_compile(struct valuepath *vp, const char *text, char *err, size_t errlen);
void valuepath_release(struct valuepath *vp);

/* Finds the item at vp below root (vp must not end in '#'). 0 with *item
 * pointing into root, or -1 with a message naming the path and where it
 * broke:
 *   no value at 'components.worker.tasks': 'components' has no key 'worker'
 *   no value at 'items.5.count': 'items' has 3 elements
 *   no value at 'a.b': 'a' is a number, not an object */
int valuepath_get(const struct valuepath *vp, const cJSON *root, const cJSON **item, char *err, size_t errlen);

/* The number at vp below root: valuepath_get then valuepath_to_number, or
 * the array length when vp ends in '#'. 0 or -1 with a message. */
int valuepath_number(const struct valuepath *vp, const cJSON *root, double *out, char *err, size_t errlen);

/* Reads item as a number (see above); shown names it in messages, e.g.
 *   value at 'a.b' is a boolean (true), not a number
 *   value at 'a.b' is the string 'many', not a number or a quantity: <why>
 * A JSON number out of double range (1e999) is an error too. 0 or -1. */
int valuepath_to_number(const cJSON *item, const char *shown, double *out, char *err, size_t errlen);

#endif
