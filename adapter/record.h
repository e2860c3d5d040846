/*
 * record.h — `scalewise record`: fetches a range of a PromQL query from a
 * Prometheus server and writes it in the format `scalewise simulate --input`
 * reads (a query_range answer: {"status":"success","data":{"resultType":
 * "matrix","result":[...]}}), so production load can be recorded and
 * replayed.
 *
 * The range is fetched with POST /api/v1/query_range (form-encoded query,
 * start, end, step) in chunks of at most RECORD_CHUNK_POINTS evaluation
 * steps, below Prometheus' limit of 11,000 points per series and query.
 * Chunks are aligned on start + k x step, so the evaluation times are those
 * of one big query; the series of all chunks are merged by their label set
 * (in the order they first appear) and written once.
 *
 * Limits: each answer at most RECORD_MAX_BODY bytes, at most
 * RECORD_MAX_POINTS points over all series, TRACE_MAX_SERIES series, a
 * per-request timeout (--timeout, default 30s). An answer with
 * "status":"error" is reported with Prometheus' errorType and message.
 */
#ifndef SW_RECORD_H
#define SW_RECORD_H

#define RECORD_CHUNK_POINTS 10000
#define RECORD_MAX_BODY     (64u << 20)
#define RECORD_MAX_POINTS   20000000u

/*
 * The command; argv[0] is its name. Flags: --prometheus URL, --query Q,
 * --start T, --end T (RFC 3339, Unix seconds, "now", or relative to now:
 * "-24h", "now-90m"; --end defaults to now), --step DURATION (default 15s),
 * --out FILE / -o FILE ("-" for stdout), the auth options of a prometheus
 * source (--header 'Name: value' repeatable, --bearer-token-file,
 * --basic-auth-user with --basic-auth-password-file, --ca-file, --cert-file,
 * --key-file, --insecure-skip-verify), --timeout DURATION, --quiet.
 * The file is written to a temporary name next to FILE and renamed, so it
 * never holds half an answer. Returns 0; 2 after one line on stderr for bad
 * flags; 1 when Prometheus cannot be reached, answers with an error, or the
 * file cannot be written. Not thread-safe (curl_global_init, stdio).
 */
int record_main(int argc, char **argv);

#endif
