/*
 * duration.h — Go-style durations ("500ms", "15s", "1h30m", "1.5s", "0"),
 * as CONFIG.md writes them, in int64 milliseconds.
 */
#ifndef SW_DURATION_H
#define SW_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Parses s into *ms. Units: ms s m h (and us/ns, rounded up to whole ms when
 * non-zero). Negative durations are refused. 0 or -1 with a message in err. */
int duration_parse(const char *s, int64_t *ms, char *err, size_t errlen);
/* Writes ms as the shortest Go-style string ("1m30s", "500ms", "0s"). */
size_t duration_format(int64_t ms, char *buf, size_t n);

#endif
