/*
 * prometheus.h — the Prometheus scaler (source `type: prometheus`): instant
 * queries for the poller, range queries for the warm start, and the parsers
 * of Prometheus' HTTP API answers (exposed for tests and fuzzing).
 *
 * Source params (CONFIG.md): url (required), timeout (default 2s), headers,
 * bearerTokenFile, basicAuth {username, passwordFile}, tls {caFile, certFile,
 * keyFile, insecureSkipVerify} — the shared set of scalers/http.h. No metric
 * params; `query:` is required.
 */
#ifndef SW_PROMETHEUS_H
#define SW_PROMETHEUS_H

#include <stddef.h>
#include <stdint.h>

#include "scaler.h"

#define PROMETHEUS_MAX_SERIES 10000                        /* more in one answer is an error */
#define PROMETHEUS_MAX_LABELS 128                          /* per series */
#define PROMETHEUS_RANGE_MAX_POINTS 11000                  /* per series, as Prometheus itself */
#define PROMETHEUS_RANGE_MAX_BYTES ((size_t)16 * 1024 * 1024) /* body cap of a range query */
#define PROMETHEUS_QUERY_MAX (64 * 1024)                   /* bytes of PromQL */

/* The descriptor for the built-in registry. Fetches may run concurrently on
 * one source (SW_SCALER_CONCURRENT). */
extern const struct sw_scaler_type scaler_prometheus;

/* One sample of an instant answer. labels are sorted by name, without
 * __name__, valid only during the call. value may be NaN or ±Inf: Prometheus
 * sent it so. Return 0 to go on, non-zero to stop (the parse then fails). */
typedef int prometheus_sample_fn(void *ctx, double value, int64_t ts_ms, const struct sw_label *labels,
				 size_t nlabels);

/* One series of a range answer; all pointers valid only during the call. */
struct prometheus_series {
	const struct sw_label *labels; /* sorted by name, without __name__ */
	size_t nlabels;
	const int64_t *ts_ms;          /* ascending, as Prometheus sent them */
	const double *values;          /* may hold NaN / ±Inf */
	size_t n;
};
typedef int prometheus_series_fn(void *ctx, const struct prometheus_series *s);

/* Parses the answer of /api/v1/query (body of len bytes, HTTP status).
 * A vector gives one sample per series, a scalar one sample without labels.
 * The whole answer is checked before fn is first called, so an error never
 * leaves half a result. Returns the number of samples (≥ 1), or a negative
 * SW_FETCH_*_ERROR (scaler.h) with a message:
 *   SW_FETCH_SOURCE_ERROR: HTTP 5xx, 408 or 429, or "status":"error" with an
 *     errorType of timeout, canceled, internal or unavailable;
 *   SW_FETCH_ANSWER_ERROR: any other non-2xx status or "status":"error",
 *     a body that is not JSON or is truncated, a matrix or string result, an
 *     empty vector ("query returned no series"), more than
 *     PROMETHEUS_MAX_SERIES series, two series with the same labels once
 *     __name__ is dropped, a native histogram, a malformed sample, or fn
 *     refusing one.
 * Messages quote Prometheus' errorType and error when the body has them.
 * Pure; any thread. */
int prometheus_parse_instant(const char *body, size_t len, long status, prometheus_sample_fn *fn, void *ctx,
			     char *err, size_t errlen);

/* Parses the answer of /api/v1/query_range (a matrix). Returns the number of
 * series given to fn (0 for an empty matrix: no history is not an error
 * here), or an error as for prometheus_parse_instant. The whole answer is
 * checked before fn is first called. Pure; any thread. */
int prometheus_parse_range(const char *body, size_t len, long status, prometheus_series_fn *fn, void *ctx,
			   char *err, size_t errlen);

/* Runs query over [start_ms, end_ms] every step_ms against the source whose
 * parsed params (as the core loaded them with scaler_prometheus.source_params)
 * are at source_params, for the warm start of windows, and gives each series
 * to fn. Opens its own connection, done by deadline_ms (wall clock). Returns
 * the number of series (0 when Prometheus has none), or with a message
 * SW_FETCH_SOURCE_ERROR (Prometheus unreachable, timed out, or failing as
 * above) or SW_FETCH_ANSWER_ERROR (a bad range, more than
 * PROMETHEUS_RANGE_MAX_POINTS steps, a bad query, an unusable answer). Any
 * thread. */
int prometheus_query_range(const void *source_params, const char *query, int64_t start_ms, int64_t end_ms,
			   int64_t step_ms, int64_t deadline_ms, prometheus_series_fn *fn, void *ctx, char *err,
			   size_t errlen);

#endif
