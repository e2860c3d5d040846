/*
 * example.c — a scalewise scaler plugin to copy. It serves the number written
 * in a file ("42", "1.5e3"), or the number of lines in the file.
 *
 *     sources:
 *       jobs: {type: example, path: /var/run/jobs/pending}
 *     metrics:
 *       - name: pending_jobs
 *         source: jobs
 *         params: {mode: lines}
 *
 * To write your own scaler, copy this directory and follow the numbered
 * steps below (README.md next to this file says the same at more length):
 *
 *     cp -r scalers/plugins/example scalers/plugins/myscaler
 *     make build/plugins/myscaler.so         # all *.c of the directory
 *     scalewise serve --config my.yaml       # with plugins: [build/plugins/myscaler.so]
 *
 * The rules of the game (scalers/scaler.h is the contract):
 *   - Include scaler.h and libc only. A plugin links against nothing in the
 *     daemon: what it needs from scalewise (logging, the clock, adding
 *     samples, reading a file, a bounded HTTP GET) comes through the host
 *     table its entry receives.
 *   - The core parses your parameters from tables (steps 1 and 7); you never
 *     see YAML. It allocates your per-source state (step 2), zeroed.
 *   - fetch returns 0 with at least one sample, or an error with a precise
 *     message: SW_FETCH_SOURCE_ERROR when the source could not be reached,
 *     SW_FETCH_ANSWER_ERROR when it answered something unusable. Never a
 *     made-up 0: the metric's onError policy decides what the HPA sees.
 *   - Unless the descriptor sets SW_SCALER_CONCURRENT, fetches on one source
 *     never run at the same time; different sources may run in parallel.
 *   - Never log a secret or put one in an error message.
 */
#include "scaler.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Step 0: the name of your source type, what `type:` says in the config.
 * Lower-case letters, digits, '-', '_', '.'; it must not be the name of a
 * built-in scaler or of another plugin. */
#define EXAMPLE_TYPE "example"

#define EXAMPLE_MAX_VALUE 256                     /* bytes of a value file */
#define EXAMPLE_MAX_LINES_BYTES ((long)64 << 20) /* bytes read when counting lines */

/* Step 1: your parameters, one struct for the source object and one for a
 * metric's `params:`. The core fills them from the tables of step 7: a
 * string is a char * (NULL when absent without default), an int or a
 * duration an int64_t (durations in ms), a double a double, a bool an int. */
struct example_source {
	char *path;
};

struct example_metric {
	char *mode; /* "value" or "lines" */
};

/* Step 2: what a source keeps between fetches (connections, caches). The
 * core allocates state_size bytes, zeroed, per source, and frees them. */
struct example_state {
	const struct sw_host *host;
	long fetches;
};

/* Step 3: open sets a source up. No network I/O is needed here: connect
 * lazily in fetch, so a source that is down at start-up is retried by the
 * poller. Return 0, or -1 with a message (close is then not called). */
static int example_open(void *state, const void *source_params, const struct sw_host *h, char *err, size_t errlen)
{
	struct example_state *st = state;
	const struct example_source *src = source_params;
	if (!src->path) {
		snprintf(err, errlen, "path: required");
		return -1;
	}
	st->host = h;
	return 0;
}

/* Step 4 (optional): check_metric checks a metric's params beyond what the
 * table can say. It runs when the config is loaded (`scalewise check`,
 * start-up, reload), so mistakes are reported with their key path before
 * anything runs. Name the key at the start of the message. */
static int example_check_metric(const void *source_params, const struct sw_request *req, char *err, size_t errlen)
{
	const struct example_metric *m = req->params;
	if (!m || !m->mode) {
		snprintf(err, errlen, "params.mode: required");
		return -1;
	}
	return 0;
}

/* Reads the number written in the file. */
static int read_value(const struct example_state *st, const char *path, double *out, char *err, size_t errlen)
{
	char buf[EXAMPLE_MAX_VALUE], why[300];
	if (st->host->read_file(path, buf, sizeof buf, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s", why);
		return SW_FETCH_SOURCE_ERROR;
	}
	char *end = NULL;
	errno = 0;
	double v = strtod(buf, &end);
	while (end && (*end == ' ' || *end == '\t'))
		end++;
	if (end == buf || !end || *end || errno == ERANGE || !isfinite(v)) {
		snprintf(err, errlen, "'%s' holds '%.40s', not a number", path, buf);
		return SW_FETCH_ANSWER_ERROR;
	}
	*out = v;
	return 0;
}

/* Counts the lines of the file (a last line without a newline counts),
 * giving up at the fetch's deadline. */
static int count_lines(const struct example_state *st, const char *path, int64_t deadline_ms, double *out,
		       char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return SW_FETCH_SOURCE_ERROR;
	}
	char buf[65536];
	long total = 0, lines = 0;
	int last = '\n';
	for (;;) {
		size_t n = fread(buf, 1, sizeof buf, f);
		if (!n)
			break;
		for (size_t i = 0; i < n; i++)
			lines += buf[i] == '\n';
		last = buf[n - 1];
		total += (long)n;
		if (total > EXAMPLE_MAX_LINES_BYTES || st->host->now_ms() > deadline_ms) {
			fclose(f);
			snprintf(err, errlen, "'%s' is %s", path,
				 total > EXAMPLE_MAX_LINES_BYTES ? "larger than 64 MiB" : "too slow to read before the deadline");
			return SW_FETCH_ANSWER_ERROR;
		}
	}
	int failed = ferror(f);
	fclose(f);
	if (failed) {
		snprintf(err, errlen, "cannot read '%s'", path);
		return SW_FETCH_SOURCE_ERROR;
	}
	*out = (double)(lines + (last != '\n'));
	return 0;
}

/* Step 5: fetch reads the current value(s) and adds them to the batch
 * through host->batch_add, with labels if a source yields several series.
 * It must be done by req->deadline_ms (wall clock, host->now_ms()). */
static int example_fetch(void *state, const void *source_params, const struct sw_request *req, struct sw_batch *out,
			 char *err, size_t errlen)
{
	struct example_state *st = state;
	const struct example_source *src = source_params;
	const struct example_metric *m = req->params;
	double v = 0;
	int rc = m && m->mode && !strcmp(m->mode, "lines")
			 ? count_lines(st, src->path, req->deadline_ms, &v, err, errlen)
			 : read_value(st, src->path, &v, err, errlen);
	if (rc)
		return rc;
	st->fetches++;
	if (st->fetches == 1)
		st->host->log(SW_LOG_INFO, EXAMPLE_TYPE, "first value read");
	if (st->host->batch_add(out, v, req->now_ms, NULL, 0)) {
		snprintf(err, errlen, "the sample was refused");
		return SW_FETCH_ANSWER_ERROR;
	}
	return 0;
}

/* Step 6: close frees what open and fetch left in the state (not the state
 * itself). Called once per opened source, when a reload or shutdown drops it. */
static void example_close(void *state)
{
	struct example_state *st = state;
	memset(st, 0, sizeof *st);
}

/* Step 7: the parameter tables, read by the core's generic loader: key
 * (dotted for nesting: "tls.caFile"), type, offset in your struct, default
 * as config text (or NULL), required, bounds (min > max: unbounded), one
 * line of help, and allowed values for strings. Wrong keys, types and
 * values are reported with their path ("metrics[0].params.mode: 'word' is
 * not one of value, lines") before your code ever runs. SW_PARAM_FILE is a
 * path you read when you need it, so a rotated secret is picked up. */
static const char *const example_modes[] = { "value", "lines", NULL };

static const struct sw_param example_source_params[] = {
	{ "path", SW_PARAM_FILE, offsetof(struct example_source, path), NULL, 1, 1, 0,
	  "the file to read", NULL },
};

static const struct sw_param example_metric_params[] = {
	{ "mode", SW_PARAM_STRING, offsetof(struct example_metric, mode), "value", 0, 1, 0,
	  "value: the number in the file; lines: how many lines it has", example_modes },
};

/* Step 8: the descriptor. Keep abi_version and struct_size as they are:
 * the loader refuses a plugin built against another scaler.h. query says
 * whether a metric has a `query:` (SW_QUERY_NONE, _OPTIONAL, _REQUIRED). */
static const struct sw_scaler_type example_type = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_scaler_type),
	.name = EXAMPLE_TYPE,
	.flags = 0,
	.query = SW_QUERY_NONE,
	.state_size = sizeof(struct example_state),
	.source_params_size = sizeof(struct example_source),
	.source_params = example_source_params,
	.n_source_params = sizeof example_source_params / sizeof example_source_params[0],
	.metric_params_size = sizeof(struct example_metric),
	.metric_params = example_metric_params,
	.n_metric_params = sizeof example_metric_params / sizeof example_metric_params[0],
	.open = example_open,
	.check_metric = example_check_metric,
	.fetch = example_fetch,
	.close = example_close,
};

/* Step 9: the entry, the one symbol the loader looks up (SW_SCALER_ENTRY,
 * "sw_scaler_entry"). Check that the host gives you what you use (open
 * receives the same table to keep), and return your descriptor; return NULL to refuse a host (the loader then
 * reports that). Do nothing else here: no threads, no I/O. */
const struct sw_scaler_type *sw_scaler_entry(const struct sw_host *h)
{
	if (!h || h->abi_version != SW_SCALER_ABI_VERSION || h->struct_size < sizeof(struct sw_host))
		return NULL;
	return &example_type;
}

/* The entry's type is checked against the contract at compile time. */
static sw_scaler_entry_fn *const example_entry_check __attribute__((unused)) = sw_scaler_entry;
