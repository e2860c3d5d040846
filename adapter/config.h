/*
 * config.h — the scalewise configuration (../shared/CONFIG.md is the contract):
 * loading from YAML or JSON, environment overrides, validation that reports
 * every problem with its key path. A loaded config is immutable and owned by
 * whoever called config_load; config_release frees it.
 */
#ifndef SW_CONFIG_H
#define SW_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cJSON.h>

#include "errlist.h"
#include "labels.h"
#include "pipeline.h"
#include "scaler.h"

struct server_cfg {
	int64_t secure_port;
	char *bind_address;
	char *cert_dir;
	char *tls_cert_file;
	char *tls_private_key_file;
	char *state_file;
	struct sw_strlist tls_sans;
	int64_t drain_delay_ms;      /* how long /readyz is 503 before new connections stop */
	int64_t shutdown_grace_ms;   /* in-flight requests get this long, then exit */
	int64_t threads;             /* HTTPS worker threads; 0 = one per core */
	int64_t subscription_idle_ms;/* templated subscriptions dropped after this long unused */
	int64_t fetch_workers;       /* most polls in flight at once (the poller's workers) */
};

enum auth_mode { AUTH_DELEGATED, AUTH_ANONYMOUS };

struct auth_cfg {
	enum auth_mode mode;
	char *mode_text;
	char *rh_client_ca_file;
	struct sw_strlist rh_allowed_names;
	int64_t rh_poll_ms;          /* how often the requestheader CA is re-read */
	char *kubeconfig;
};

struct source_cfg {
	char *name;
	char *type;
	const struct sw_scaler_type *scaler; /* NULL for type static */
	void *params;                        /* the scaler's source params struct */
};

struct static_series {
	struct label *labels;  /* sorted by name; strings owned */
	size_t nlabels;
	double value;
};

struct metric_cfg {
	char *name;
	size_t source;                /* index into config.sources */
	char *query;                  /* NULL when none */
	bool templated;               /* query uses <<.Namespace>> or <<.LabelMatchers>> */
	bool query_in_name;           /* query is in name's block (freed with it) */
	struct sw_strlist namespaces; /* empty = all ("*") */
	int64_t interval_ms;
	struct pipeline_cfg pipe;
	void *params;                 /* the scaler's metric params struct, or NULL */
	struct static_series *series; /* static sources: fixed values */
	size_t nseries;
};

struct config {
	struct server_cfg server;
	struct auth_cfg auth;
	struct source_cfg *sources;
	size_t nsources;
	struct metric_cfg *metrics;
	size_t nmetrics;
	size_t *by_name;              /* indexes of the named metrics, sorted case-insensitively */
	size_t nnamed;
	struct sw_strlist plugins;
	char *path;                   /* the file it came from, or NULL */
};

/* Builds a config from a parsed tree. env (NULL-terminated "K=V" strings, may be
 * NULL) overrides scalar values under server and auth (SCALEWISE_SERVER_SECURE_PORT).
 * Every problem goes to errs; returns 0 when there was none. On error the
 * partially built config must still be released. */
int config_from_tree(cJSON *root, char *const *env, struct config *out, struct errlist *errs);
/* Reads and builds a config from a YAML or JSON file. */
int config_load(const char *path, char *const *env, struct config *out, struct errlist *errs);
void config_release(struct config *c);

/* The metric named name, compared without case (client-go lowercases metric
 * names; names that differ only in case are refused at load), or NULL.
 * O(log n): it runs on the request path. */
const struct metric_cfg *config_find_metric(const struct config *c, const char *name);
/* True when the metric is visible in namespace ns. */
bool metric_visible_in(const struct metric_cfg *m, const char *ns);

/* Every environment variable name that overrides a key, one per line, for --help. */
void config_env_help(FILE *out);

#endif
