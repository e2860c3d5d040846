/*
 * scaler.h — the one contract between the scalewise core and an event source.
 *
 * A scaler is a `const struct sw_scaler_type` descriptor: its ABI version and
 * struct size (checked at load; the struct only ever grows at its end), its
 * name (the `type:` of a source), the size of its private state (the core
 * allocates it, zeroed), two parameter tables read by the core's generic
 * loader (one for the source object, one for a metric's `params:`), and ops.
 *
 * Built-in scalers sit in one const array (scalers/registry.c). A plugin is a
 * shared object that exports SW_SCALER_ENTRY, a function that receives the
 * host's function table and returns its descriptor; a plugin links against
 * nothing in the daemon.
 *
 * Threads: open and close run on the core's housekeeping path; fetch runs on a
 * poller worker. Unless the descriptor sets SW_SCALER_CONCURRENT, the core
 * never runs two fetches on one source at the same time.
 * Secrets: parameters of type SW_PARAM_FILE name a file the scaler reads with
 * host->read_file when it needs the value (so rotation works); a scaler never
 * logs a secret and never puts one in an error message.
 */
#ifndef SW_SCALER_H
#define SW_SCALER_H

#include <stddef.h>
#include <stdint.h>

#define SW_SCALER_ABI_VERSION 1u
#define SW_SCALER_ENTRY "sw_scaler_entry"

struct sw_label {
	const char *name;
	const char *value;
};

/* A string→string map as parsed from a config object (e.g. headers). */
struct sw_kv {
	size_t n;
	struct sw_label *items;
};

struct sw_strlist {
	size_t n;
	char **items;
};

/* Parameter types and the C type the loader writes at `offset`. */
enum sw_param_type {
	SW_PARAM_STRING,   /* char * (owned by the core, NULL when absent without default) */
	SW_PARAM_FILE,     /* char * path of a secret or data file, read when used (it may be mounted
			      later and rotated); "" is the same as absent (NULL) */
	SW_PARAM_INT,      /* int64_t */
	SW_PARAM_DOUBLE,   /* double; accepts numbers and Kubernetes quantities ("1.5k") */
	SW_PARAM_BOOL,     /* int (0/1) */
	SW_PARAM_DURATION, /* int64_t milliseconds; "500ms", "2s", "1m" */
	SW_PARAM_MAP,      /* struct sw_kv: an object of strings */
	SW_PARAM_LIST,     /* struct sw_strlist: a list of strings */
};

struct sw_param {
	const char *key;         /* dotted for nesting: "tls.caFile" reads tls: {caFile: …} */
	enum sw_param_type type;
	size_t offset;           /* where the value goes in the params struct */
	const char *def;         /* default written as config text, or NULL */
	int required;
	double min, max;         /* inclusive bounds for INT, DOUBLE, DURATION (ms); ignored when min > max */
	const char *help;        /* one line for `scalewise check --explain` and the README */
	const char *const *choices; /* NULL-terminated allowed values for STRING, or NULL */
};

/* One fetch: what to read and by when. */
struct sw_request {
	const char *metric;        /* the metric's name */
	const char *query;         /* the metric's `query:` with templates rendered, or NULL */
	const void *params;        /* the metric's parsed `params:` (metric_params_size bytes) */
	const char *namespace_;    /* the request's namespace for templated queries, else NULL */
	int64_t now_ms;            /* wall clock at the start of the fetch */
	int64_t deadline_ms;       /* wall-clock ms after which the result is discarded */
};

struct sw_batch; /* opaque: where fetch puts its samples (host->batch_add) */

enum sw_log_level { SW_LOG_DEBUG, SW_LOG_INFO, SW_LOG_WARN, SW_LOG_ERROR };

/* What the host gives every scaler. Only ever grows at its end. */
struct sw_host {
	uint32_t abi_version;
	uint32_t struct_size;
	void (*log)(enum sw_log_level level, const char *scaler, const char *msg);
	/* Wall clock in ms since the epoch. */
	int64_t (*now_ms)(void);
	/* Adds one sample: labels need not be sorted (the core sorts and copies them).
	 * NaN/Inf values are accepted here and become the pipeline's failure. 0 or -1 (over the cap). */
	int (*batch_add)(struct sw_batch *b, double value, int64_t ts_ms,
			 const struct sw_label *labels, size_t nlabels);
	/* Reads a whole small file (secret, token) into buf; trailing newlines are stripped.
	 * Returns the length, or -1 with a message. */
	long (*read_file)(const char *path, char *buf, size_t n, char *err, size_t errlen);
	/* Bounded HTTP GET: at most max_bytes of body, done by deadline_ms. *body is malloc'd
	 * (caller frees). headers may be NULL. 0 on a completed exchange (any status), -1 on a
	 * transport error with a message. */
	int (*http_get)(const char *url, const struct sw_kv *headers, int64_t deadline_ms,
			size_t max_bytes, char **body, size_t *len, long *status, char *err, size_t errlen);
};

#define SW_SCALER_CONCURRENT 0x1u  /* fetch may run concurrently on one state */
#define SW_FETCH_SOURCE_ERROR (-1)
#define SW_FETCH_ANSWER_ERROR (-2)
#define SW_QUERY_NONE      0       /* the metric must not have `query:` */
#define SW_QUERY_OPTIONAL  1
#define SW_QUERY_REQUIRED  2

struct sw_scaler_type {
	uint32_t abi_version;       /* SW_SCALER_ABI_VERSION */
	uint32_t struct_size;       /* sizeof(struct sw_scaler_type) as the scaler was built */
	const char *name;           /* the source `type:` */
	uint32_t flags;
	int query;                  /* SW_QUERY_* */
	size_t state_size;          /* private per-source state, zeroed by the core */

	size_t source_params_size;
	const struct sw_param *source_params;
	size_t n_source_params;

	size_t metric_params_size;
	const struct sw_param *metric_params;
	size_t n_metric_params;

	/* Sets up a source (no network I/O needed here; connect lazily in fetch).
	 * 0, or -1 with a message; close is not called after a failed open. */
	int (*open)(void *state, const void *source_params, const struct sw_host *host,
		    char *err, size_t errlen);
	/* Optional: checks a metric's params and query beyond the table (e.g. a regex).
	 * Called by `scalewise check` and at load. */
	int (*check_metric)(const void *source_params, const struct sw_request *req,
			    char *err, size_t errlen);
	/* Reads the current value(s) into out before req->deadline_ms. 0 on success (at
	 * least one sample added), or an error with a precise message, never a zero:
	 * SW_FETCH_SOURCE_ERROR (-1) when the source could not be reached or failed
	 * (connection, timeout, 5xx): it counts toward the source's circuit breaker;
	 * SW_FETCH_ANSWER_ERROR (-2) when the source answered but the answer is not
	 * usable (empty result, non-number, a rejected query, a 4xx, a body over the
	 * cap): the source is healthy, only this metric fails. */
	int (*fetch)(void *state, const void *source_params, const struct sw_request *req,
		     struct sw_batch *out, char *err, size_t errlen);
	/* Frees what open and fetch left in state (not state itself). */
	void (*close)(void *state);

	/* Optional (NULL when the source keeps no history): samples of the past for
	 * the warm start, every step_ms from start_ms to end_ms, each with its own
	 * timestamp, added to out like fetch's. 0 or -1 with a message. */
	int (*fetch_range)(void *state, const void *source_params, const struct sw_request *req,
			   int64_t start_ms, int64_t end_ms, int64_t step_ms, struct sw_batch *out,
			   char *err, size_t errlen);

	/* Optional (NULL when the table says it all): checks a source's params as
	 * open would, without contacting anything or reading a secret (a url's
	 * scheme, host and credentials; settings that must go together), so that
	 * `scalewise check` refuses what open would refuse at the first fetch.
	 * Called once per source at load, used by a metric or not; a source it
	 * refuses is reported as "sources.NAME: <message>" and its metrics are not
	 * checked against it. The message begins with the key at fault ("url
	 * 'http://h/' must not hold credentials; ...") and holds no secret.
	 * 0, or -1 with a message. */
	int (*check_source)(const void *source_params, char *err, size_t errlen);
};

/* What a plugin exports under the name SW_SCALER_ENTRY. */
typedef const struct sw_scaler_type *sw_scaler_entry_fn(const struct sw_host *host);

#endif
