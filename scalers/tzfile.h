/*
 * tzfile.h — IANA time zones read from the system's zoneinfo (TZif files,
 * RFC 8536, versions 1 to 4) for the cron scaler: the UTC offset in force at
 * an instant, and the instants at which it changes.
 *
 * Why a reader of our own: glibc has no per-call time zone. localtime_r
 * reads the process-wide TZ, and switching it (setenv("TZ") + tzset) races
 * with every getenv() and localtime_r() on the other threads (libcurl,
 * GnuTLS, our own workers), which no mutex of ours can cover. A zone here is
 * plain immutable data, so any thread may use it without locks.
 *
 * Times past the file's table follow the POSIX TZ string of its footer
 * ("CET-1CEST,M3.5.0,M10.5.0/3"), as glibc and zic do; a version-1 file
 * without a footer keeps its last offset. Files with leap-second records
 * ("right/" zones) are refused: their times are not POSIX times.
 *
 * All times are Unix seconds (int64); offsets are seconds east of UTC.
 */
#ifndef SW_TZFILE_H
#define SW_TZFILE_H

#include <stddef.h>
#include <stdint.h>

#define TZFILE_MAX_BYTES (256 * 1024)  /* larger zone files are refused */
#define TZFILE_NAME_MAX 255
#define TZFILE_DEFAULT_DIR "/usr/share/zoneinfo"

struct tzfile; /* opaque, immutable once loaded */

/*
 * Loads the zone called name: an IANA name ("Europe/Berlin", "UTC",
 * "Etc/GMT+5") read from dir/name, where dir is the argument, else $TZDIR,
 * else TZFILE_DEFAULT_DIR. "UTC" needs no file. A name that is absolute,
 * has a "." or ".." component, or characters other than letters, digits and
 * "/_+-." is refused before any file is opened. Returns the zone (free it
 * with tzfile_free), or NULL with one line in err, e.g. "unknown time zone
 * 'Europe/Berlim' (no file '/usr/share/zoneinfo/Europe/Berlim')". Any thread.
 */
struct tzfile *tzfile_load(const char *name, const char *dir, char *err, size_t errlen);

/* Parses len bytes of a TZif file; name is kept for messages. As tzfile_load. */
struct tzfile *tzfile_parse(const unsigned char *data, size_t len, const char *name, char *err, size_t errlen);

/* A zone from a POSIX TZ string alone ("EST5EDT,M3.2.0,M11.1.0"), as a TZif
 * footer writes it. For tests and for zone files that have only a footer. */
struct tzfile *tzfile_from_posix(const char *tz, char *err, size_t errlen);

/* Frees z; NULL is a no-op. */
void tzfile_free(struct tzfile *z);

/* The name given to tzfile_load/tzfile_parse (or the POSIX string). */
const char *tzfile_name(const struct tzfile *z);

/* The UTC offset (seconds east) in force at instant t; *is_dst may be NULL. */
int32_t tzfile_offset(const struct tzfile *z, int64_t t, int *is_dst);

/* The first instant after t at which the offset may change (INT64_MAX when
 * it never does), and the last instant at or before t at which it may have
 * changed (INT64_MIN when none). The offset is constant on
 * [tzfile_prev_change(t), tzfile_next_change(t)). A "change" may leave the
 * offset as it was (e.g. a rename of the abbreviation): callers must not
 * assume it moves. */
int64_t tzfile_next_change(const struct tzfile *z, int64_t t);
int64_t tzfile_prev_change(const struct tzfile *z, int64_t t);

/* Civil-date helpers shared with the cron scaler (proleptic Gregorian, UTC,
 * no time zone): days since 1970-01-01 of y-m-d (m 1..12), and back. */
int64_t tzfile_days_from_civil(int64_t y, unsigned m, unsigned d);
void tzfile_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);
/* floor(a / b) for b > 0 */
int64_t tzfile_floor_div(int64_t a, int64_t b);

#endif
