/*
 * config.c — loading and checking the configuration (CONFIG.md).
 *
 * The file is parsed into a cJSON tree (yamldoc.c), environment overrides are
 * written into that tree, and then every section is read through sw_param
 * tables (params.c) so that all keys, defaults, bounds and "did you mean"
 * errors come from one loader.
 */
#include "config.h"

#include "duration.h"
#include "names.h"
#include "params.h"
#include "plugin.h"
#include "quantity.h"
#include "registry.h"
#include "yamldoc.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define OFF(type, field) offsetof(type, field)
#define UNBOUNDED 1, 0
#define MAX_SOURCES 1000
#define MAX_METRICS 100000
#define MAX_STATIC_SERIES 10000

static const char *const auth_modes[] = { "delegated", "anonymous", NULL };

static const struct sw_param server_table[] = {
	{ "securePort", SW_PARAM_INT, OFF(struct server_cfg, secure_port), "6443", 0, 0, 65535,
	  "HTTPS port (--secure-port); 0 picks a free port", NULL },
	{ "bindAddress", SW_PARAM_STRING, OFF(struct server_cfg, bind_address), "0.0.0.0", 0, UNBOUNDED,
	  "address to listen on (--bind-address)", NULL },
	{ "certDir", SW_PARAM_STRING, OFF(struct server_cfg, cert_dir), "/var/run/scalewise/certs", 0, UNBOUNDED,
	  "where a self-signed certificate is made when none is given (--cert-dir)", NULL },
	{ "tlsCertFile", SW_PARAM_STRING, OFF(struct server_cfg, tls_cert_file), "", 0, UNBOUNDED,
	  "serving certificate (--tls-cert-file)", NULL },
	{ "tlsPrivateKeyFile", SW_PARAM_STRING, OFF(struct server_cfg, tls_private_key_file), "", 0, UNBOUNDED,
	  "serving key (--tls-private-key-file)", NULL },
	{ "stateFile", SW_PARAM_STRING, OFF(struct server_cfg, state_file), "", 0, UNBOUNDED,
	  "where windows are saved; empty = not saved (--state-file)", NULL },
	{ "tlsSans", SW_PARAM_LIST, OFF(struct server_cfg, tls_sans), NULL, 0, UNBOUNDED,
	  "extra SANs for the self-signed certificate (--tls-sans)", NULL },
	{ "drainDelay", SW_PARAM_DURATION, OFF(struct server_cfg, drain_delay_ms), "0s", 0, 0, 60000,
	  "on SIGTERM, how long /readyz is 503 before the listener closes", NULL },
	{ "shutdownGrace", SW_PARAM_DURATION, OFF(struct server_cfg, shutdown_grace_ms), "10s", 0, 100, 600000,
	  "on SIGTERM, how long in-flight requests may take", NULL },
	{ "threads", SW_PARAM_INT, OFF(struct server_cfg, threads), "0", 0, 0, 64,
	  "HTTPS worker threads; 0 = one per core", NULL },
	{ "fetchWorkers", SW_PARAM_INT, OFF(struct server_cfg, fetch_workers), "4", 0, 1, 32,
	  "most polls in flight at once: one worker while the polls keep up, another while a poll waits 50 ms",
	  NULL },
	{ "subscriptionIdle", SW_PARAM_DURATION, OFF(struct server_cfg, subscription_idle_ms), "10m", 0, 1000,
	  86400000.0, "templated-query subscriptions are dropped after this long without a request", NULL },
};

static const struct sw_param auth_table[] = {
	{ "mode", SW_PARAM_STRING, OFF(struct auth_cfg, mode_text), "delegated", 0, UNBOUNDED,
	  "delegated | anonymous", auth_modes },
	{ "requestheader.clientCAFile", SW_PARAM_STRING, OFF(struct auth_cfg, rh_client_ca_file), "", 0, UNBOUNDED,
	  "front-proxy CA (--requestheader-client-ca-file)", NULL },
	{ "requestheader.allowedNames", SW_PARAM_LIST, OFF(struct auth_cfg, rh_allowed_names), NULL, 0, UNBOUNDED,
	  "allowed front-proxy CNs (--requestheader-allowed-names)", NULL },
	{ "requestheader.pollInterval", SW_PARAM_DURATION, OFF(struct auth_cfg, rh_poll_ms), "30s", 0, 100, 3600000,
	  "how often the requestheader client CA (ConfigMap or file) is re-read", NULL },
	{ "kubeconfig", SW_PARAM_STRING, OFF(struct auth_cfg, kubeconfig), "", 0, UNBOUNDED,
	  "kubeconfig for TokenReview/SubjectAccessReview; empty = in-cluster (--kubeconfig)", NULL },
};

/* The metric keys that are plain values; params/value/series are read by hand. */
struct metric_raw {
	char *name, *source, *query;
	struct sw_strlist namespaces;
	int64_t interval, half_life, window, up, down, max_age;
	char *method, *fallback;
	double q, hysteresis, min, max;
};

static const char *const smoothing_methods[] = { "none", "ema", "mean", "median", "max", "min", "quantile", NULL };

static const struct sw_param metric_table[] = {
	{ "name", SW_PARAM_STRING, OFF(struct metric_raw, name), NULL, 1, UNBOUNDED, "the name the HPA asks for", NULL },
	{ "source", SW_PARAM_STRING, OFF(struct metric_raw, source), NULL, 1, UNBOUNDED, "a key of sources", NULL },
	{ "query", SW_PARAM_STRING, OFF(struct metric_raw, query), NULL, 0, UNBOUNDED, "what to ask the source", NULL },
	{ "namespaces", SW_PARAM_LIST, OFF(struct metric_raw, namespaces), NULL, 0, UNBOUNDED,
	  "where the metric is visible; default all", NULL },
	{ "interval", SW_PARAM_DURATION, OFF(struct metric_raw, interval), "15s", 0, 100, 86400000.0,
	  "how often the source is polled", NULL },
	{ "smoothing.method", SW_PARAM_STRING, OFF(struct metric_raw, method), "none", 0, UNBOUNDED,
	  "none | ema | mean | median | max | min | quantile", smoothing_methods },
	{ "smoothing.halfLife", SW_PARAM_DURATION, OFF(struct metric_raw, half_life), NULL, 0, 1, 86400000.0,
	  "ema half-life", NULL },
	{ "smoothing.window", SW_PARAM_DURATION, OFF(struct metric_raw, window), NULL, 0, 1, 86400000.0,
	  "window of mean, median, max, min, quantile", NULL },
	{ "smoothing.q", SW_PARAM_DOUBLE, OFF(struct metric_raw, q), NULL, 0, 0, 1, "quantile in [0, 1]", NULL },
	{ "stabilization.up", SW_PARAM_DURATION, OFF(struct metric_raw, up), "0s", 0, 0, 86400000.0,
	  "a rise is served only once it has held this long", NULL },
	{ "stabilization.down", SW_PARAM_DURATION, OFF(struct metric_raw, down), "0s", 0, 0, 86400000.0,
	  "a fall is served only once it has held this long", NULL },
	{ "hysteresis", SW_PARAM_DOUBLE, OFF(struct metric_raw, hysteresis), "0", 0, 0, 100,
	  "relative deadband of the served value", NULL },
	{ "bounds.min", SW_PARAM_DOUBLE, OFF(struct metric_raw, min), NULL, 0, UNBOUNDED, "lowest served value", NULL },
	{ "bounds.max", SW_PARAM_DOUBLE, OFF(struct metric_raw, max), NULL, 0, UNBOUNDED, "highest served value", NULL },
	{ "onError.maxAge", SW_PARAM_DURATION, OFF(struct metric_raw, max_age), "0s", 0, 0, 604800000.0,
	  "serve the last good value while younger than this", NULL },
	{ "onError.fallback", SW_PARAM_STRING, OFF(struct metric_raw, fallback), "error", 0, UNBOUNDED,
	  "a value to serve after maxAge, or error", NULL },
};

#define N(t) (sizeof(t) / sizeof((t)[0]))

static char *xstrdup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

/* ------------------------------------------------------------------------ */
/* environment overrides                                                    */

/* "requestheader.clientCAFile" under "auth" → "SCALEWISE_AUTH_REQUESTHEADER_CLIENT_CA_FILE" */
static void env_name(const char *section, const char *key, char *out, size_t n)
{
	size_t o = 0;
	int w = snprintf(out, n, "SCALEWISE_%s_", section);
	o = w > 0 ? (size_t)w : 0;
	for (size_t i = 0; key[i] && o + 2 < n; i++) {
		char c = key[i];
		if (c == '.') {
			out[o++] = '_';
			continue;
		}
		if (isupper((unsigned char)c) && i > 0 && key[i - 1] != '.') {
			char p = key[i - 1], nx = key[i + 1];
			if (islower((unsigned char)p) || isdigit((unsigned char)p) ||
			    (isupper((unsigned char)p) && nx && islower((unsigned char)nx)))
				out[o++] = '_';
		}
		out[o++] = (char)toupper((unsigned char)c);
	}
	out[o] = 0;
	for (char *p = out + strlen("SCALEWISE_"); *p && p < out + strlen("SCALEWISE_") + strlen(section); p++)
		*p = (char)toupper((unsigned char)*p);
}

/* Sets tree[section][dotted key] = value (a string; lists split on commas). */
static void tree_set(cJSON *root, const char *section, const struct sw_param *p, const char *value)
{
	cJSON *cur = cJSON_GetObjectItemCaseSensitive(root, section);
	if (!cJSON_IsObject(cur)) {
		cJSON_DeleteItemFromObjectCaseSensitive(root, section);
		cur = cJSON_AddObjectToObject(root, section);
	}
	char part[128];
	const char *k = p->key;
	for (;;) {
		const char *dot = strchr(k, '.');
		size_t len = dot ? (size_t)(dot - k) : strlen(k);
		if (len >= sizeof part)
			return;
		memcpy(part, k, len);
		part[len] = 0;
		if (!dot)
			break;
		cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, part);
		if (!cJSON_IsObject(next)) {
			cJSON_DeleteItemFromObjectCaseSensitive(cur, part);
			next = cJSON_AddObjectToObject(cur, part);
		}
		cur = next;
		k = dot + 1;
	}
	cJSON_DeleteItemFromObjectCaseSensitive(cur, part);
	if (p->type == SW_PARAM_LIST) {
		cJSON *arr = cJSON_AddArrayToObject(cur, part);
		const char *s = value;
		while (*s) {
			const char *comma = strchr(s, ',');
			size_t len = comma ? (size_t)(comma - s) : strlen(s);
			char *item = strndup(s, len);
			if (item && *item)
				cJSON_AddItemToArray(arr, cJSON_CreateString(item));
			free(item);
			if (!comma)
				break;
			s = comma + 1;
		}
	} else {
		cJSON_AddStringToObject(cur, part, value);
	}
}

static void apply_env(cJSON *root, char *const *env)
{
	static const struct {
		const char *section;
		const struct sw_param *t;
		size_t n;
	} secs[] = { { "server", server_table, N(server_table) }, { "auth", auth_table, N(auth_table) } };
	for (char *const *e = env; e && *e; e++) {
		if (strncmp(*e, "SCALEWISE_", 10))
			continue;
		const char *eq = strchr(*e, '=');
		if (!eq)
			continue;
		for (size_t s = 0; s < N(secs); s++) {
			for (size_t i = 0; i < secs[s].n; i++) {
				char name[160];
				env_name(secs[s].section, secs[s].t[i].key, name, sizeof name);
				if (strlen(name) == (size_t)(eq - *e) && !strncmp(name, *e, (size_t)(eq - *e)))
					tree_set(root, secs[s].section, &secs[s].t[i], eq + 1);
			}
		}
	}
}

void config_env_help(FILE *out)
{
	char name[160];
	for (size_t i = 0; i < N(server_table); i++) {
		env_name("server", server_table[i].key, name, sizeof name);
		fprintf(out, "  %-48s server.%s\n", name, server_table[i].key);
	}
	for (size_t i = 0; i < N(auth_table); i++) {
		env_name("auth", auth_table[i].key, name, sizeof name);
		fprintf(out, "  %-48s auth.%s\n", name, auth_table[i].key);
	}
}

/* ------------------------------------------------------------------------ */
/* sections                                                                 */

/* plugins_failed: a plugin did not load, so an unknown type is most likely
 * its own and is not reported a second time. */
/* A source with bad params has none. */
static void drop_params(struct source_cfg *src)
{
	params_release(src->scaler->source_params, src->scaler->n_source_params, src->params);
	free(src->params);
	src->params = NULL;
}

static void load_sources(const cJSON *obj, struct config *c, bool plugins_failed, struct errlist *errs)
{
	if (!obj)
		return;
	if (!cJSON_IsObject(obj)) {
		errlist_add(errs, "sources", "must be a map of source names to sources");
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(obj);
	if (n > MAX_SOURCES) {
		errlist_add(errs, "sources", "too many sources: %zu (max %d)", n, MAX_SOURCES);
		return;
	}
	c->sources = calloc(n ? n : 1, sizeof *c->sources);
	if (!c->sources)
		return;
	const cJSON *s;
	cJSON_ArrayForEach(s, obj) {
		char path[300];
		snprintf(path, sizeof path, "sources.%s", s->string);
		struct source_cfg *src = &c->sources[c->nsources++];
		src->name = xstrdup(s->string);
		if (!cJSON_IsObject(s)) {
			errlist_add(errs, path, "must be a map with a type");
			continue;
		}
		const cJSON *type = cJSON_GetObjectItemCaseSensitive(s, "type");
		if (!cJSON_IsString(type)) {
			errlist_add(errs, path, "type: required (one of the source types)");
			continue;
		}
		src->type = xstrdup(type->valuestring);
		if (!strcmp(type->valuestring, "static")) {
			const cJSON *k;
			cJSON_ArrayForEach(k, s) {
				if (strcmp(k->string, "type"))
					errlist_add(errs, path, "%s: unknown key; a static source has only a type", k->string);
			}
			continue;
		}
		src->scaler = registry_find(type->valuestring);
		if (!src->scaler) {
			char tpath[320];
			snprintf(tpath, sizeof tpath, "%s.type", path);
			if (plugins_failed)
				continue;
			const char *names[64];
			size_t nn = registry_names(names, 64);
			const char *sug = params_suggest(type->valuestring, names, nn);
			if (sug)
				errlist_add(errs, tpath, "unknown source type '%s'; did you mean \"%s\"?", type->valuestring, sug);
			else
				errlist_add(errs, tpath, "unknown source type '%s'", type->valuestring);
			continue;
		}
		src->params = calloc(1, src->scaler->source_params_size ? src->scaler->source_params_size : 1);
		static const char *const skip[] = { "type", NULL };
		if (params_load(src->scaler->source_params, src->scaler->n_source_params, s, path, skip, src->params,
				errs) &&
		    src->params) {
			drop_params(src); /* its metrics are not checked against it */
			continue;
		}
		/* what open would refuse at the first fetch, refused now; every source,
		 * used by a metric or not: a password in a url is a mistake either way,
		 * and the metric added next week should not be what reveals it */
		char cerr[600] = "";
		if (src->params && src->scaler->check_source &&
		    src->scaler->check_source(src->params, cerr, sizeof cerr)) {
			errlist_add(errs, path, "%s", cerr[0] ? cerr : "refused by the scaler");
			drop_params(src);
		}
	}
}

static int find_source(const struct config *c, const char *name)
{
	for (size_t i = 0; i < c->nsources; i++)
		if (c->sources[i].name && !strcmp(c->sources[i].name, name))
			return (int)i;
	return -1;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

/* Reads a static metric's `value:` or `series:`. */
static void load_static(const cJSON *m, const char *path, struct metric_cfg *mc, struct errlist *errs)
{
	const cJSON *value = cJSON_GetObjectItemCaseSensitive(m, "value");
	const cJSON *series = cJSON_GetObjectItemCaseSensitive(m, "series");
	char err[300];
	if (value && series) {
		errlist_add(errs, path, "give either value or series, not both");
		return;
	}
	if (!value && !series) {
		errlist_add(errs, path, "value: required for a static source (or series)");
		return;
	}
	if (value) {
		double v;
		if (params_number(value, &v, err, sizeof err)) {
			errlist_add(errs, path, "value: %s", err);
			return;
		}
		mc->series = calloc(1, sizeof *mc->series);
		if (!mc->series)
			return;
		mc->series[0].value = v;
		mc->nseries = 1;
		return;
	}
	if (!cJSON_IsArray(series) || cJSON_GetArraySize(series) == 0) {
		errlist_add(errs, path, "series: must be a non-empty list of {labels, value}");
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(series);
	if (n > MAX_STATIC_SERIES) {
		errlist_add(errs, path, "series: too many entries: %zu (max %d)", n, MAX_STATIC_SERIES);
		return;
	}
	mc->series = calloc(n, sizeof *mc->series);
	if (!mc->series)
		return;
	const cJSON *e;
	size_t i = 0;
	cJSON_ArrayForEach(e, series) {
		char ep[400];
		snprintf(ep, sizeof ep, "%s.series[%zu]", path, i++);
		struct static_series *ss = &mc->series[mc->nseries++];
		if (!cJSON_IsObject(e)) {
			errlist_add(errs, ep, "must be a map with labels and value");
			continue;
		}
		const cJSON *k;
		cJSON_ArrayForEach(k, e) {
			if (strcmp(k->string, "labels") && strcmp(k->string, "value")) {
				static const char *const cands[] = { "labels", "value" };
				const char *sug = params_suggest(k->string, cands, 2);
				if (sug)
					errlist_add(errs, ep, "%s: unknown key; did you mean \"%s\"?", k->string, sug);
				else
					errlist_add(errs, ep, "%s: unknown key", k->string);
			}
		}
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "value");
		if (!v)
			errlist_add(errs, ep, "value: required");
		else if (params_number(v, &ss->value, err, sizeof err))
			errlist_add(errs, ep, "value: %s", err);
		const cJSON *labels = cJSON_GetObjectItemCaseSensitive(e, "labels");
		if (!labels)
			continue;
		if (!cJSON_IsObject(labels)) {
			errlist_add(errs, ep, "labels: must be a map of strings");
			continue;
		}
		size_t nl = (size_t)cJSON_GetArraySize(labels);
		ss->labels = calloc(nl ? nl : 1, sizeof *ss->labels);
		if (!ss->labels)
			continue;
		const cJSON *l;
		cJSON_ArrayForEach(l, labels) {
			char lerr[300];
			if (!cJSON_IsString(l)) {
				errlist_add(errs, ep, "labels.%s: must be a string", l->string);
				continue;
			}
			if (!name_is_label_key(l->string, strlen(l->string))) {
				errlist_add(errs, ep, "labels: '%s' is not a valid label name", l->string);
				continue;
			}
			if (!name_is_label_value(l->valuestring, strlen(l->valuestring))) {
				snprintf(lerr, sizeof lerr, "labels.%s: '%.100s' is not a valid label value", l->string,
					 l->valuestring);
				errlist_add(errs, ep, "%s", lerr);
				continue;
			}
			ss->labels[ss->nlabels].name = xstrdup(l->string);
			ss->labels[ss->nlabels].value = xstrdup(l->valuestring);
			ss->nlabels++;
		}
		qsort(ss->labels, ss->nlabels, sizeof *ss->labels, label_cmp);
	}
	/* two series with the same labels would be ambiguous */
	for (size_t a = 0; a < mc->nseries; a++) {
		for (size_t b = a + 1; b < mc->nseries; b++) {
			if (mc->series[a].nlabels != mc->series[b].nlabels)
				continue;
			bool same = true;
			for (size_t j = 0; j < mc->series[a].nlabels && same; j++)
				same = !strcmp(mc->series[a].labels[j].name, mc->series[b].labels[j].name) &&
				       !strcmp(mc->series[a].labels[j].value, mc->series[b].labels[j].value);
			if (same)
				errlist_add(errs, path, "series[%zu] and series[%zu] have the same labels", a, b);
		}
	}
}

/* Checks <<...>> templates; returns true when the query uses any. */
static bool check_templates(const char *q, const char *path, struct errlist *errs)
{
	bool any = false;
	const char *p = q;
	while ((p = strstr(p, "<<")) != NULL) {
		const char *end = strstr(p, ">>");
		if (!end) {
			errlist_add(errs, path, "query: unterminated template '<<'");
			return any;
		}
		size_t len = (size_t)(end - p - 2);
		if ((len == 10 && !strncmp(p + 2, ".Namespace", 10)) || (len == 14 && !strncmp(p + 2, ".LabelMatchers", 14)))
			any = true;
		else
			errlist_add(errs, path, "query: unknown template '%.*s'; use <<.Namespace>> or <<.LabelMatchers>>",
				    (int)(len + 4 > 80 ? 80 : len + 4), p);
		p = end + 2;
	}
	return any;
}

static void load_metric(const cJSON *m, size_t idx, struct config *c, struct errlist *errs)
{
	char path[64];
	snprintf(path, sizeof path, "metrics[%zu]", idx);
	struct metric_cfg *mc = &c->metrics[c->nmetrics++];
	pipeline_cfg_init(&mc->pipe);
	if (!cJSON_IsObject(m)) {
		errlist_add(errs, path, "must be a map");
		return;
	}
	/* defaults survive a bad value so that one mistake gives one message */
	struct metric_raw raw = { .q = NAN, .min = NAN, .max = NAN, .half_life = -1, .window = -1, .interval = 15000 };
	static const char *const skip[] = { "params", "value", "series", NULL };
	params_load(metric_table, N(metric_table), m, path, skip, &raw, errs);

	mc->name = raw.name;
	raw.name = NULL;
	mc->query = raw.query;
	raw.query = NULL;
	if (mc->name && mc->query) {
		/* one block for both: a metric is one small allocation less */
		size_t a = strlen(mc->name) + 1, b = strlen(mc->query) + 1;
		char *blk = malloc(a + b);
		if (blk) {
			memcpy(blk, mc->name, a);
			memcpy(blk + a, mc->query, b);
			free(mc->name);
			free(mc->query);
			mc->name = blk;
			mc->query = blk + a;
			mc->query_in_name = true;
		}
	}
	mc->namespaces = raw.namespaces;
	memset(&raw.namespaces, 0, sizeof raw.namespaces);
	mc->interval_ms = raw.interval;
	mc->source = (size_t)-1;

	if (mc->name) {
		char err[300];
		if (!*mc->name)
			errlist_add(errs, path, "name: must not be empty");
		else if (!name_is_path_segment(mc->name, strlen(mc->name), err, sizeof err))
			errlist_add(errs, path, "name: '%s' %s", mc->name, err);
		else if (strlen(mc->name) > PATH_SEGMENT_MAX)
			errlist_add(errs, path, "name: longer than %d characters: no request path could name it",
				    PATH_SEGMENT_MAX);
		else if (!strcmp(mc->name, "status") || !strcmp(mc->name, "finalize"))
			errlist_add(errs, path, "name: '%s' is reserved by the Kubernetes API machinery", mc->name);
	}
	for (size_t i = 0; i < mc->namespaces.n; i++) {
		const char *ns = mc->namespaces.items[i];
		if (strcmp(ns, "*") && !name_is_dns1123_label(ns, strlen(ns)))
			errlist_add(errs, path, "namespaces[%zu]: '%s' is not a valid namespace name (or \"*\")", i, ns);
	}

	/* pipeline */
	struct pipeline_cfg *pc = &mc->pipe;
	pc->interval_ms = raw.interval;
	if (raw.method && smooth_method_parse(raw.method, &pc->method))
		errlist_add(errs, path, "smoothing.method: unknown method '%s'", raw.method);
	if (raw.half_life >= 0)
		pc->half_life_ms = raw.half_life;
	if (raw.window >= 0)
		pc->window_ms = raw.window;
	if (!isnan(raw.q))
		pc->q = raw.q;
	pc->up_ms = raw.up;
	pc->down_ms = raw.down;
	pc->hysteresis = raw.hysteresis;
	pc->has_min = !isnan(raw.min);
	pc->min = pc->has_min ? raw.min : 0;
	pc->has_max = !isnan(raw.max);
	pc->max = pc->has_max ? raw.max : 0;
	pc->max_age_ms = raw.max_age;
	if (raw.fallback && strcmp(raw.fallback, "error")) {
		cJSON *fb = cJSON_CreateString(raw.fallback);
		char err[300];
		if (params_number(fb, &pc->fallback, err, sizeof err))
			errlist_add(errs, path, "onError.fallback: must be a number, a quantity or \"error\"");
		else
			pc->has_fallback = true;
		cJSON_Delete(fb);
	}
	if (pc->method == SMOOTH_EMA && raw.half_life < 0)
		errlist_add(errs, path, "smoothing.halfLife: required for method ema");
	if (pc->method >= SMOOTH_MEAN && raw.window < 0)
		errlist_add(errs, path, "smoothing.window: required for method %s", raw.method);
	if (pc->method == SMOOTH_QUANTILE && isnan(raw.q))
		errlist_add(errs, path, "smoothing.q: required for method quantile");
	/* keys of other methods are ignored, not refused: CONFIG.md's own example
	 * gives an ema metric a window and a q */
	{
		char err[300] = "";
		if (pipeline_cfg_validate(pc, err, sizeof err))
			errlist_add(errs, path, "%s", err);
	}

	/* source, query, params */
	int si = raw.source ? find_source(c, raw.source) : -1;
	if (raw.source && si < 0) {
		const char *names[MAX_SOURCES];
		size_t nn = 0;
		for (size_t i = 0; i < c->nsources && nn < MAX_SOURCES; i++)
			names[nn++] = c->sources[i].name;
		const char *sug = params_suggest(raw.source, names, nn);
		if (sug)
			errlist_add(errs, path, "source: no source named '%s'; did you mean \"%s\"?", raw.source, sug);
		else
			errlist_add(errs, path, "source: no source named '%s' under sources", raw.source);
	}
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(m, "params");
	if (si >= 0) {
		mc->source = (size_t)si;
		const struct source_cfg *src = &c->sources[si];
		if (src->type && !strcmp(src->type, "static")) {
			if (mc->query)
				errlist_add(errs, path, "query: a static source takes value or series, not a query");
			if (params)
				errlist_add(errs, path, "params: a static source has no params");
			load_static(m, path, mc, errs);
		} else {
			if (cJSON_GetObjectItemCaseSensitive(m, "value") || cJSON_GetObjectItemCaseSensitive(m, "series"))
				errlist_add(errs, path, "value/series: only for static sources");
			if (src->scaler) {
				const struct sw_scaler_type *st = src->scaler;
				if (st->query == SW_QUERY_REQUIRED && !mc->query)
					errlist_add(errs, path, "query: required for a %s source", st->name);
				if (st->query == SW_QUERY_NONE && mc->query)
					errlist_add(errs, path, "query: a %s source takes params, not a query", st->name);
				char ppath[80];
				snprintf(ppath, sizeof ppath, "%s.params", path);
				size_t before = errs->n + errs->dropped;
				if (st->metric_params_size) {
					mc->params = calloc(1, st->metric_params_size);
					params_load(st->metric_params, st->n_metric_params, params, ppath, NULL, mc->params, errs);
				} else if (params) {
					errlist_add(errs, ppath, "a %s source takes no params", st->name);
				}
				/* the scaler's own checks (an expression, a file), once the table's have passed */
				if (st->check_metric && src->params && errs->n + errs->dropped == before) {
					struct sw_request req = { .metric = mc->name, .query = mc->query, .params = mc->params };
					char cerr[600] = "";
					if (st->check_metric(src->params, &req, cerr, sizeof cerr))
						errlist_add(errs, path, "%s", cerr[0] ? cerr : "refused by the scaler");
				}
			}
		}
	}
	if (mc->query)
		mc->templated = check_templates(mc->query, path, errs);

	free(raw.source);
	free(raw.method);
	free(raw.fallback);
}

/* qsort context is not portable: the metrics array is passed through a static
 * for the duration of one sort (config loading is single-threaded). */
static const struct metric_cfg *sort_metrics;

static int by_name(const void *a, const void *b)
{
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	int d = strcasecmp(sort_metrics[i].name, sort_metrics[j].name);
	return d ? d : (i > j) - (i < j);
}

/* Builds c->by_name (the metrics sorted case-insensitively, for lookups on
 * the request path) and reports names that repeat, exactly or in case only. */
static void index_names(struct config *c, struct errlist *errs)
{
	c->by_name = calloc(c->nmetrics ? c->nmetrics : 1, sizeof *c->by_name);
	if (!c->by_name)
		return;
	for (size_t i = 0; i < c->nmetrics; i++)
		if (c->metrics[i].name)
			c->by_name[c->nnamed++] = i;
	sort_metrics = c->metrics;
	qsort(c->by_name, c->nnamed, sizeof *c->by_name, by_name);
	sort_metrics = NULL;
	for (size_t k = 1, first = 0; k < c->nnamed; k++) {
		const struct metric_cfg *a = &c->metrics[c->by_name[first]], *b = &c->metrics[c->by_name[k]];
		if (strcasecmp(a->name, b->name)) {
			first = k;
			continue;
		}
		size_t i = c->by_name[k], j = c->by_name[first];
		if (!strcmp(a->name, b->name))
			errlist_add(errs, NULL, "metrics[%zu].name: '%s' is already the name of metrics[%zu]", i, b->name, j);
		else
			errlist_add(errs, NULL,
				    "metrics[%zu].name: '%s' differs from metrics[%zu] only in case; the HPA's "
				    "client lowercases names, so both cannot be told apart",
				    i, b->name, j);
	}
}

int config_from_tree(cJSON *root, char *const *env, struct config *out, struct errlist *errs)
{
	size_t before = errs->n + errs->dropped;
	memset(out, 0, sizeof *out);
	if (!cJSON_IsObject(root)) {
		errlist_add(errs, NULL, "the config must be a map with server, auth, sources and metrics");
		return -1;
	}
	apply_env(root, env);

	static const char *const top[] = { "server", "auth", "sources", "metrics", "plugins", NULL };
	const cJSON *k;
	cJSON_ArrayForEach(k, root) {
		bool known = false;
		for (size_t i = 0; top[i]; i++)
			if (!strcmp(top[i], k->string))
				known = true;
		if (known)
			continue;
		const char *sug = params_suggest(k->string, top, 5);
		if (sug)
			errlist_add(errs, k->string, "unknown key; did you mean \"%s\"?", sug);
		else
			errlist_add(errs, k->string, "unknown key");
	}

	params_load(server_table, N(server_table), cJSON_GetObjectItemCaseSensitive(root, "server"), "server", NULL,
		    &out->server, errs);
	params_load(auth_table, N(auth_table), cJSON_GetObjectItemCaseSensitive(root, "auth"), "auth", NULL,
		    &out->auth, errs);
	out->auth.mode = out->auth.mode_text && !strcmp(out->auth.mode_text, "anonymous") ? AUTH_ANONYMOUS
											    : AUTH_DELEGATED;
	const cJSON *plugins = cJSON_GetObjectItemCaseSensitive(root, "plugins");
	if (plugins && !cJSON_IsNull(plugins)) {
		static const struct sw_param pt[] = {
			{ "plugins", SW_PARAM_LIST, OFF(struct config, plugins), NULL, 0, UNBOUNDED, "", NULL },
		};
		cJSON *wrap = cJSON_CreateObject();
		cJSON_AddItemReferenceToObject(wrap, "plugins", (cJSON *)plugins);
		params_load(pt, 1, wrap, "", NULL, out, errs);
		cJSON_Delete(wrap);
	}
	/* plugins first: they add the source types the sources below may name */
	bool plugins_failed = false;
	for (size_t i = 0; i < out->plugins.n; i++) {
		char perr[600], ppath[32];
		snprintf(ppath, sizeof ppath, "plugins[%zu]", i);
		if (plugin_load(out->plugins.items[i], perr, sizeof perr)) {
			errlist_add(errs, ppath, "cannot load '%s': %s", out->plugins.items[i], perr);
			plugins_failed = true;
		}
	}

	load_sources(cJSON_GetObjectItemCaseSensitive(root, "sources"), out, plugins_failed, errs);

	const cJSON *metrics = cJSON_GetObjectItemCaseSensitive(root, "metrics");
	if (metrics && !cJSON_IsArray(metrics)) {
		errlist_add(errs, "metrics", "must be a list");
	} else if (metrics) {
		size_t n = (size_t)cJSON_GetArraySize(metrics);
		if (n > MAX_METRICS) {
			errlist_add(errs, "metrics", "too many metrics: %zu (max %d)", n, MAX_METRICS);
		} else {
			out->metrics = calloc(n ? n : 1, sizeof *out->metrics);
			const cJSON *m;
			size_t i = 0;
			cJSON_ArrayForEach(m, metrics) {
				if (out->metrics)
					load_metric(m, i, out, errs);
				i++;
			}
		}
	}
	index_names(out, errs);
	return errs->n + errs->dropped > before ? -1 : 0;
}

int config_load(const char *path, char *const *env, struct config *out, struct errlist *errs)
{
	char err[600];
	memset(out, 0, sizeof *out);
	cJSON *root = yamldoc_load(path, err, sizeof err);
	if (!root) {
		errlist_add(errs, NULL, "%s", err);
		return -1;
	}
	int rc = config_from_tree(root, env, out, errs);
	cJSON_Delete(root);
	out->path = xstrdup(path);
	return rc;
}

void config_release(struct config *c)
{
	params_release(server_table, N(server_table), &c->server);
	params_release(auth_table, N(auth_table), &c->auth);
	for (size_t i = 0; i < c->nmetrics; i++) {
		struct metric_cfg *m = &c->metrics[i];
		free(m->name);
		if (!m->query_in_name)
			free(m->query);
		for (size_t j = 0; j < m->namespaces.n; j++)
			free(m->namespaces.items[j]);
		free(m->namespaces.items);
		if (m->params && m->source < c->nsources && c->sources[m->source].scaler) {
			const struct sw_scaler_type *st = c->sources[m->source].scaler;
			params_release(st->metric_params, st->n_metric_params, m->params);
		}
		free(m->params);
		for (size_t s = 0; s < m->nseries; s++) {
			for (size_t l = 0; l < m->series[s].nlabels; l++) {
				free((char *)m->series[s].labels[l].name);
				free((char *)m->series[s].labels[l].value);
			}
			free(m->series[s].labels);
		}
		free(m->series);
	}
	free(c->metrics);
	free(c->by_name);
	for (size_t i = 0; i < c->nsources; i++) {
		struct source_cfg *s = &c->sources[i];
		if (s->scaler && s->params)
			params_release(s->scaler->source_params, s->scaler->n_source_params, s->params);
		free(s->params);
		free(s->name);
		free(s->type);
	}
	free(c->sources);
	for (size_t i = 0; i < c->plugins.n; i++)
		free(c->plugins.items[i]);
	free(c->plugins.items);
	free(c->path);
	memset(c, 0, sizeof *c);
}

const struct metric_cfg *config_find_metric(const struct config *c, const char *name)
{
	/* names are unique ignoring case (index_names refuses the rest), so a
	 * case-insensitive search finds the exact match when there is one */
	size_t lo = 0, hi = c->nnamed;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct metric_cfg *m = &c->metrics[c->by_name[mid]];
		int d = strcasecmp(m->name, name);
		if (!d)
			return m;
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool metric_visible_in(const struct metric_cfg *m, const char *ns)
{
	if (m->namespaces.n == 0)
		return true;
	for (size_t i = 0; i < m->namespaces.n; i++)
		if (!strcmp(m->namespaces.items[i], "*") || !strcmp(m->namespaces.items[i], ns))
			return true;
	return false;
}
