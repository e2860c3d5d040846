/*
 * query.h — `scalewise query --config FILE NAME [--namespace NS] [--selector SEL]`:
 * fetches one metric once, the way the poller would, and reports what the
 * source returned and what the HPA would be served, for users debugging a
 * config. No server, no poller threads, no state file: one open, one fetch,
 * one close.
 */
#ifndef SW_QUERY_H
#define SW_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "config.h"

struct query_opts {
	const char *metric;     /* the metric's name (matched as the server does) */
	const char *ns;         /* --namespace, or NULL */
	const char *selector;   /* --selector, or NULL */
};

/* Exit codes of `scalewise query` (and of query_report's *rc). */
#define QUERY_OK 0      /* the fetch worked and the request would be answered 200 */
#define QUERY_FAILED 1  /* the fetch failed, a value is NaN/±Inf, the request would fail, or it
			   would be answered with no items (the HPA's "no metrics returned") */
#define QUERY_USAGE 2   /* unknown metric, bad --namespace or --selector */

/*
 * Runs the query o against cfg and returns a report (a JSON object the
 * caller frees with cJSON_Delete; `--output json` prints it as is):
 *   metric, source {name, type}, query (as configured), renderedQuery (what
 *   was sent; null for static sources and for sources without a query),
 *   namespace (null for an untemplated query without --namespace),
 *   selector (canonical, or null), selectorAppliedBy ("source"
 *   when rendered into a templated query, "memory" when matched against the
 *   returned series, null without one), deadlineMs,
 *   fetch {ok, error, kind (source|answer|timeout|no_samples|too_many_series,
 *   null when ok), durationMs, series [{labels, value (a number, or "NaN",
 *   "+Inf", "-Inf"), timestamp, matchesSelector}]} (for a static source
 *   fetch.static is true and series are the configured values),
 *   served {code (200 or 503; 500 for a value with no Quantity), message,
 *   items [{labels, value (the Quantity string), timestamp, raw, smoothed,
 *   clamped (null, "min" or "max"), fallback, reason}]},
 *   onError {maxAge, fallback (Quantity or null), outcome},
 *   notes [strings], exitCode.
 * On a usage problem returns NULL with *rc = QUERY_USAGE and a message in err
 * that names the flag ("--selector: ..."); otherwise *rc is the report's
 * exitCode. Sources are opened through their scaler type and closed before
 * it returns. One thread; does network I/O up to the metric's deadline.
 */
cJSON *query_report(const struct config *cfg, const struct query_opts *o, int *rc, char *err, size_t errlen);

/* Writes the report as text, for people. */
void query_print_text(const cJSON *report, FILE *out);

/* `scalewise query ARGS...` (argv after the command name); the exit code. */
int query_main(int argc, char **argv);

#endif
