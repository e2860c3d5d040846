/*
 * trace.h — a recorded metric series read from a file: the input of
 * `scalewise simulate` and of the `replay` scaler. Nothing here knows about
 * the simulator, the pipeline or the HPA.
 *
 * Two formats, told apart by the first byte that is not white space ('{' is
 * JSON, anything else CSV):
 *
 * - A Prometheus HTTP API range-query answer (what /api/v1/query_range and
 *   `scalewise record` write): {"status":"success","data":{"resultType":
 *   "matrix","result":[{"metric":{...},"values":[[ts,"v"],...]},...]}}.
 *   Timestamps are JSON numbers in Unix seconds, values strings ("42",
 *   "1.5e3"); other keys (warnings, infos, stats) are skipped. An answer with
 *   "status":"error" is refused with Prometheus' errorType and error.
 *   Series selection (the `series` argument):
 *     NULL or ""      every series;
 *     "N"             (digits only) the N-th series, counting from 0;
 *     'k="v",k2!="w"' the series whose labels match every matcher (= and !=
 *                     only; a missing label matches ="" as in PromQL; values
 *                     are double-quoted with \" and \\ escapes).
 *   The chosen series are summed at equal timestamps: the trace has one
 *   point at every timestamp any of them has, the sum of the series that
 *   have a point there (what PromQL's sum() gives).
 * - CSV: one `timestamp,value` a line. Timestamps are Unix seconds
 *   (fractional allowed, rounded to the millisecond) or RFC 3339
 *   ("2024-05-01T12:00:00Z", "...T12:00:00.250+02:00"); values plain numbers
 *   or Kubernetes quantities ("1.5k", "250m"). The first line may be a
 *   header (a line whose first field is not a time); blank lines, lines
 *   starting with '#', CR before LF, spaces around fields and double quotes
 *   around a field are allowed. `series` must be NULL, "" or "0".
 *
 * Refused, with an error naming the file and the line (for JSON also the
 * series and point index): a time or value that does not parse, NaN or
 * +-Inf values, timestamps that are not strictly increasing within a series
 * (unsorted or duplicate), an empty result, a file over TRACE_MAX_BYTES,
 * more than max_points points or TRACE_MAX_SERIES series, a CSV line over
 * TRACE_MAX_LINE bytes, times before 1970 or after 9999.
 *
 * Thread-safety: no shared state; a struct trace is plain data.
 */
#ifndef SW_TRACE_H
#define SW_TRACE_H

#include <stddef.h>
#include <stdint.h>

#define TRACE_MAX_BYTES   (64u << 20)   /* larger files are refused before reading */
#define TRACE_MAX_POINTS  4000000u      /* points kept, over all series, before summing */
#define TRACE_MAX_SERIES  10000u
#define TRACE_MAX_LINE    4096u         /* CSV line length, newline excluded */
#define TRACE_MAX_LABELS  64u           /* labels per series (more: refused) */
#define TRACE_DESC_MAX    256

struct trace {
	int64_t *ts_ms;       /* Unix milliseconds, strictly increasing */
	double *v;            /* finite */
	size_t n;             /* >= 1 after a successful load */
	size_t nseries;       /* series summed (CSV: 1) */
	size_t nfile_series;  /* series in the file (CSV: 1) */
	char desc[TRACE_DESC_MAX];  /* '{job="x",...}' for one series, "sum of N series", or "csv" */
};

/* Empties t without freeing (a zeroed struct is also fine). */
void trace_init(struct trace *t);
/* Frees what t holds; t can be reused after trace_init. */
void trace_release(struct trace *t);

/*
 * Reads path (at most TRACE_MAX_BYTES) and parses it with trace_parse and
 * TRACE_MAX_POINTS. Returns 0, or -1 with one line in err (NUL-terminated,
 * truncated to errlen) that starts with the file name in quotes:
 * "'load.csv' line 12: 'abc' is not a number". *out is filled only on
 * success (it is released and zeroed on error).
 */
int trace_load(const char *path, const char *series, struct trace *out, char *err, size_t errlen);

/*
 * Parses len bytes of text (need not be NUL-terminated) as trace_load does;
 * name is used in messages (NULL: "input"). max_points caps the points kept
 * over all series (0: TRACE_MAX_POINTS).
 */
int trace_parse(const char *text, size_t len, const char *name, const char *series,
		size_t max_points, struct trace *out, char *err, size_t errlen);

/* Index of the last point at or before t_ms (binary search), or (size_t)-1
 * when t_ms is before the first point. */
size_t trace_index_at(const struct trace *t, int64_t t_ms);

/*
 * Parses a time: Unix seconds ("1714564800", "1714564800.25", "1.7e9") or
 * RFC 3339 ("2024-05-01T12:00:00Z", fraction and offset allowed; 't', 'z'
 * and a space for 'T' accepted). n bytes of s are read, all must be used.
 * Rounds to the millisecond (half up). 0 and *ms, or -1 when it is not such
 * a time or outside 1970-01-01 .. 9999-12-31.
 */
int trace_parse_time(const char *s, size_t n, int64_t *ms);

/*
 * Writes t_ms as RFC 3339 UTC, "2024-05-01T12:00:00Z", with ".250" when the
 * milliseconds are not zero. snprintf-style (returns the full length).
 */
size_t trace_format_time(int64_t t_ms, char *buf, size_t n);

#endif
