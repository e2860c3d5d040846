/*
 * hpa_cli.h — `scalewise hpa FILE`: evaluates one HPA test-vector case
 * (testdata/README.md, "HPA vector file") with the model in hpa.h and explains the
 * decision in words. The case loader and runner are shared with the conformance
 * checker (tests/conformance/conf_hpa.c), so both read the format the same way.
 */
#ifndef SW_HPA_CLI_H
#define SW_HPA_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cJSON.h>

#include "hpa.h"

/*
 * The `hpa` subcommand. argv[0] is the subcommand's own name ("hpa"); then
 * [--case NAME|INDEX] [--list] [--help] FILE (FILE "-" reads stdin). FILE holds a
 * bare case object or a vector file; a vector file with more than one case needs
 * --case (a case name, or an index counting from 0). Prints the explanation on
 * stdout; returns 0, or 2 after one line on stderr when the input is bad.
 * Not thread-safe (writes to stdout/stderr).
 */
int hpa_cli_main(int argc, char **argv);

/* ---- vector cases ----------------------------------------------------------- */

enum hpa_case_kind {
	HPA_CASE_EXTERNAL_VALUE,
	HPA_CASE_EXTERNAL_AVERAGE_VALUE,
	HPA_CASE_LEGACY_NORMALIZE,
	HPA_CASE_LEGACY_STABILIZE,
	HPA_CASE_STABILIZE,
	HPA_CASE_BEHAVIOR_RATE,
	HPA_CASE_SCALE_UP_LIMIT,
	HPA_CASE_SCALE_DOWN_LIMIT,
	HPA_CASE_STORE_SCALE_EVENT,
	HPA_CASE_RECONCILE,
};

/* The instant cases are evaluated at; ages become at_ms = now - age. */
#define HPA_CASE_NOW_MS INT64_C(1000000000000)

/*
 * One case: its inputs (filled by hpa_case_load, by kind) and what the model gave
 * (filled by hpa_case_run). Fields a kind does not use stay zero. Owns its arrays;
 * free with hpa_case_release. `name` points into the cJSON the case was loaded
 * from, which must outlive this struct.
 */
struct hpa_case {
	enum hpa_case_kind kind;
	const char *name;
	int64_t now_ms;

	/* inputs */
	int32_t current, desired, min, max, ready, status_replicas;
	int64_t target_milli;
	struct hpa_tolerance tol;
	int64_t *values;
	size_t nvalues;
	double factor, minimum;
	int32_t window_s, up_window_s, down_window_s;
	struct hpa_recs recs;                   /* (legacy_)stabilize history */
	struct hpa_events up_events, down_events, prev_events;
	bool rules_given, up_given, down_given; /* false: the JSON had null */
	struct hpa_rules rules, up_rules, down_rules;    /* as given */
	int32_t replica_change, sum_period_s;
	struct hpa_spec spec;                   /* reconcile */
	struct hpa_state state;
	struct hpa_inputs in;
	struct hpa_metric_input minputs[HPA_MAX_METRICS];
	int64_t *mvalues[HPA_MAX_METRICS];

	/* results */
	bool ran;
	int rc;                                 /* external_*: the rule's return (0 / -1) */
	struct hpa_metric_eval eval;
	int32_t replicas;                       /* replicas, or the limit for *_limit */
	enum hpa_reason reason;
	int32_t up_limit;                       /* legacy_normalize */
	struct hpa_stabilization stab;
	struct hpa_limit_detail limit;
	struct hpa_rules up_resolved, down_resolved;
	int32_t change_before;                  /* store_scale_event */
	struct hpa_events after_up, after_down; /* store_scale_event: both variants */
	struct hpa_result result;               /* reconcile */
};

const char *hpa_case_kind_name(enum hpa_case_kind k);
/*
 * Reads case c into *out (which it initialises). controller_defaults is the vector
 * file's "controller_defaults" object or NULL (then 0.1 / 300 s / 2 / 4); it fills
 * what a reconcile case's "controller" leaves out. 0, or -1 with one line in err
 * naming the field ("input.metrics[1].values_milli: must be an array"); *out must
 * still be released.
 */
int hpa_case_load(const cJSON *c, const cJSON *controller_defaults, struct hpa_case *out,
		  char *err, size_t errlen);
/* Evaluates the loaded case with hpa.h (reconcile through hpa_reconcile itself).
 * 0, or -1 with err (the model refused: history cap or memory). */
int hpa_case_run(struct hpa_case *c, char *err, size_t errlen);
/* Writes the explanation of a run case to f. */
void hpa_case_explain(const struct hpa_case *c, FILE *f);
void hpa_case_release(struct hpa_case *c);

#endif
