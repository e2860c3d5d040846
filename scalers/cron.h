/*
 * cron.h — the cron scaler (source `type: cron`): a value inside time
 * windows given by cron expressions in an IANA time zone, 0 outside, as
 * KEDA's cron trigger.
 *
 * Parameters (both levels may give `timezone`; the metric's wins):
 *   source: timezone
 *   metric params: timezone, start, end (5-field cron expressions, required),
 *                  desiredReplicas (the value inside the window, required)
 * No `query:`. One sample without labels, stamped with the fetch time.
 * 0 outside the window is the intended value here, not a silent error:
 * with an AverageValue target of 1 the HPA then falls back to minReplicas.
 *
 * Expressions: minute hour day-of-month month day-of-week, each field `*`,
 * `?` (as `*`), a number, a range `a-b`, either of those followed by a step
 * `/s`, `a/s` (from a to the field's end every s), or a comma-separated list
 * of those; names jan..dec and sun..sat (any case); day-of-week 7 is
 * Sunday. As in cron, when both day fields are
 * restricted a day matches either; when one is `*` (or `?`, unstepped) both
 * must match. Descriptors @yearly, @annually, @monthly, @weekly, @daily,
 * @midnight and @hourly are accepted. No seconds field.
 *
 * Time zones and daylight saving time (robfig/cron, which KEDA uses, behaves
 * the same): an expression fires at every instant whose wall-clock reading
 * in the zone matches it. So a time that does not exist (Europe/Berlin's
 * 02:30 on the spring-forward day) does not fire that day, and a time that
 * exists twice (02:30 on the fall-back day) fires twice, once in summer and
 * once in winter time. For windows: a start in the skipped hour does not
 * open the window that day; an end in the skipped hour does not close it
 * (it stays open until the next end); a start repeated by the fall-back
 * changes nothing (the window is already open). A window across the change
 * (01:00-04:00) is an hour shorter or longer in real time. As with any
 * cron, keep boundaries out of 02:00-03:00 local time where that matters.
 *
 * The window: it opens at every start and closes at every end; at an
 * instant it is open when the latest start at or before that instant is
 * later than the latest end at or before it (a start and an end at the same
 * minute: closed). So a window is [start, end) to the second, and a
 * repeated start (fall back) inside an open window changes nothing. KEDA
 * instead compares the next start with the next end, which agrees whenever
 * starts and ends alternate; where they do not (an end every day but a start
 * on weekdays only; a start skipped or repeated by a DST change) KEDA
 * reports a window open that never opened (the whole weekend; the day
 * before a skipped 02:30 start) or closes one for a while (between the two
 * 02:30s of the fall-back night), and this scaler does not. Start and end
 * must differ; an expression that matches no date at
 * all ("0 0 30 2 *") is refused.
 */
#ifndef SW_CRON_H
#define SW_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scaler.h"
#include "tzfile.h"

extern const struct sw_scaler_type scaler_cron;

struct cron_expr {
	uint64_t minute;  /* bit 0..59 */
	uint32_t hour;    /* bit 0..23 */
	uint32_t dom;     /* bit 1..31 */
	uint16_t month;   /* bit 1..12 */
	uint8_t dow;      /* bit 0..6, 0 = Sunday */
	bool dom_star, dow_star;
};

/* Parses a 5-field expression or a descriptor. 0, or -1 with a message
 * that says which field is wrong and why ("hour: 24 is out of range 0-23").
 * An expression that can never match is refused here. Pure; any thread. */
int cron_expr_parse(const char *text, struct cron_expr *out, char *err, size_t errlen);

/* True when the wall-clock minute y-m-d h:mi matches (m 1..12, dow 0..6). */
bool cron_expr_matches(const struct cron_expr *e, int64_t y, unsigned m, unsigned d, unsigned h, unsigned mi);

/* The latest instant (Unix seconds) at or before t at which e fires in zone
 * z, or INT64_MIN when it did not fire in the 8 years before t. */
int64_t cron_prev(const struct cron_expr *e, const struct tzfile *z, int64_t t);
/* The first instant after t at which e fires, or INT64_MAX within 8 years. */
int64_t cron_next(const struct cron_expr *e, const struct tzfile *z, int64_t t);

/* Whether the window [start, end) is open at now_ms (see above). */
bool cron_window_open(const struct cron_expr *start, const struct cron_expr *end, const struct tzfile *z,
		      int64_t now_ms);

#endif
