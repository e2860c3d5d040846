/*
 * registry.c — the built-in scaler table, the table of plugin scalers, and
 * the checks every descriptor passes before the core uses it.
 */
#include "registry.h"

#include "cron.h"
#include "metrics_api.h"
#include "nats_jetstream.h"
#include "postgresql.h"
#include "prometheus.h"
#include "rabbitmq.h"
#include "redis.h"
#include "replay.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Built-in scalers. To add one: include its header above and add its
 * descriptor here. */
static const struct sw_scaler_type *const builtins[] = {
	&scaler_prometheus,
	&scaler_cron,
	&scaler_replay,
	&scaler_metrics_api,
	&scaler_rabbitmq,
	&scaler_nats_jetstream,
	&scaler_redis,
	&scaler_postgresql,
	NULL,
};


/* ------------------------------------------------------------------------ */
/* plugin table: append-only, published with a release store of the count  */

struct plugin_entry {
	struct sw_scaler_type type; /* our copy, zero-filled past the plugin's struct_size */
	char *origin;
};

static struct plugin_entry plugins[REGISTRY_MAX_PLUGINS];
static atomic_size_t nplugins;
static pthread_mutex_t write_mu = PTHREAD_MUTEX_INITIALIZER;

#define END_OF(field) (offsetof(struct sw_scaler_type, field) + sizeof(((struct sw_scaler_type *)0)->field))
/* Everything up to close is required; fetch_range (after it) is optional. */
#define MIN_TYPE_SIZE END_OF(close)

#define MAX_STATE_SIZE ((size_t)64 << 20)
#define MAX_PARAMS_SIZE ((size_t)1 << 20)
#define MAX_PARAMS 256
#define MAX_NAME 63

static const struct sw_scaler_type *find_builtin(const char *name)
{
	for (size_t i = 0; builtins[i]; i++)
		if (!strcmp(builtins[i]->name, name))
			return builtins[i];
	return NULL;
}

const struct sw_scaler_type *registry_find(const char *name)
{
	if (!name)
		return NULL;
	const struct sw_scaler_type *t = find_builtin(name);
	if (t)
		return t;
	size_t n = atomic_load_explicit(&nplugins, memory_order_acquire);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(plugins[i].type.name, name))
			return &plugins[i].type;
	return NULL;
}

const char *registry_origin(const char *name)
{
	size_t n = atomic_load_explicit(&nplugins, memory_order_acquire);
	for (size_t i = 0; name && i < n; i++)
		if (!strcmp(plugins[i].type.name, name))
			return plugins[i].origin;
	return NULL;
}

size_t registry_names(const char **out, size_t max)
{
	size_t n = 0;
	if (n < max)
		out[n++] = "static";
	for (size_t i = 0; builtins[i] && n < max; i++)
		out[n++] = builtins[i]->name;
	size_t np = atomic_load_explicit(&nplugins, memory_order_acquire);
	for (size_t i = 0; i < np && n < max; i++)
		out[n++] = plugins[i].type.name;
	return n;
}

/* ------------------------------------------------------------------------ */
/* checks                                                                   */

static int param_size(enum sw_param_type type, size_t *size, size_t *align)
{
	switch (type) {
	case SW_PARAM_STRING:
	case SW_PARAM_FILE:
		*size = sizeof(char *);
		*align = _Alignof(char *);
		return 0;
	case SW_PARAM_INT:
	case SW_PARAM_DURATION:
		*size = sizeof(int64_t);
		*align = _Alignof(int64_t);
		return 0;
	case SW_PARAM_DOUBLE:
		*size = sizeof(double);
		*align = _Alignof(double);
		return 0;
	case SW_PARAM_BOOL:
		*size = sizeof(int);
		*align = _Alignof(int);
		return 0;
	case SW_PARAM_MAP:
		*size = sizeof(struct sw_kv);
		*align = _Alignof(struct sw_kv);
		return 0;
	case SW_PARAM_LIST:
		*size = sizeof(struct sw_strlist);
		*align = _Alignof(struct sw_strlist);
		return 0;
	}
	return -1;
}

/* A parameter table the generic loader can fill without writing outside
 * the params struct. which: "source" or "metric", for messages. */
static int check_params(const struct sw_param *table, size_t n, size_t size, const char *which, char *err,
			size_t errlen)
{
	if (n > MAX_PARAMS) {
		snprintf(err, errlen, "%s parameter table has %zu entries (more than %d)", which, n, MAX_PARAMS);
		return -1;
	}
	if (size > MAX_PARAMS_SIZE) {
		snprintf(err, errlen, "%s params struct of %zu bytes is larger than %zu", which, size, MAX_PARAMS_SIZE);
		return -1;
	}
	if (n && !table) {
		snprintf(err, errlen, "%s parameter table is NULL but has %zu entries", which, n);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct sw_param *p = &table[i];
		size_t psize, palign;
		if (!p->key || !*p->key || strlen(p->key) > 100) {
			snprintf(err, errlen, "%s parameter %zu has no key (or one longer than 100 bytes)", which, i);
			return -1;
		}
		if (param_size(p->type, &psize, &palign)) {
			snprintf(err, errlen, "%s parameter '%.100s' has an unknown type %d", which, p->key, (int)p->type);
			return -1;
		}
		if (p->offset > size || size - p->offset < psize || p->offset % palign) {
			snprintf(err, errlen,
				 "%s parameter '%.100s' at offset %zu does not fit the %zu-byte params struct (needs %zu "
				 "bytes aligned to %zu)",
				 which, p->key, p->offset, size, psize, palign);
			return -1;
		}
	}
	return 0;
}

/* Copies the plugin's descriptor into out (zero-filled past its
 * struct_size) after checking the two fields that say how to read it. */
static int copy_type(const struct sw_scaler_type *t, struct sw_scaler_type *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (!t) {
		snprintf(err, errlen, "no descriptor");
		return -1;
	}
	if (t->abi_version != SW_SCALER_ABI_VERSION) {
		snprintf(err, errlen,
			 "ABI version %u, but this scalewise speaks version %u: rebuild the plugin against this "
			 "scalewise's scalers/scaler.h",
			 t->abi_version, SW_SCALER_ABI_VERSION);
		return -1;
	}
	if (t->struct_size < MIN_TYPE_SIZE) {
		snprintf(err, errlen,
			 "descriptor is %u bytes, shorter than the %zu bytes (up to 'close') this scalewise reads: "
			 "rebuild the plugin against this scalewise's scalers/scaler.h",
			 t->struct_size, (size_t)MIN_TYPE_SIZE);
		return -1;
	}
	memcpy(out, t, t->struct_size < sizeof *out ? t->struct_size : sizeof *out);
	out->struct_size = (uint32_t)sizeof *out;
	return 0;
}

static int check_copy(const struct sw_scaler_type *t, char *err, size_t errlen)
{
	if (!t->name || !*t->name) {
		snprintf(err, errlen, "descriptor has no name");
		return -1;
	}
	size_t len = strnlen(t->name, MAX_NAME + 1);
	if (len > MAX_NAME || strspn(t->name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != len) {
		snprintf(err, errlen,
			 "name '%.64s' is not a valid source type (lower-case letters, digits, '-', '_' and '.', at most "
			 "%d bytes)",
			 t->name, MAX_NAME);
		return -1;
	}
	if (!t->open || !t->fetch || !t->close) {
		snprintf(err, errlen, "scaler '%s' has no %s function", t->name,
			 !t->open ? "open" : !t->fetch ? "fetch" : "close");
		return -1;
	}
	if (t->query != SW_QUERY_NONE && t->query != SW_QUERY_OPTIONAL && t->query != SW_QUERY_REQUIRED) {
		snprintf(err, errlen, "scaler '%s' has query = %d, not one of SW_QUERY_NONE, _OPTIONAL, _REQUIRED", t->name,
			 t->query);
		return -1;
	}
	if (t->state_size > MAX_STATE_SIZE) {
		snprintf(err, errlen, "scaler '%s' asks for %zu bytes of state (more than %zu)", t->name, t->state_size,
			 MAX_STATE_SIZE);
		return -1;
	}
	char why[400];
	if (check_params(t->source_params, t->n_source_params, t->source_params_size, "source", why, sizeof why) ||
	    check_params(t->metric_params, t->n_metric_params, t->metric_params_size, "metric", why, sizeof why)) {
		snprintf(err, errlen, "scaler '%s': %s", t->name, why);
		return -1;
	}
	return 0;
}

int registry_check_type(const struct sw_scaler_type *t, char *err, size_t errlen)
{
	struct sw_scaler_type copy;
	if (copy_type(t, &copy, err, errlen))
		return -1;
	return check_copy(&copy, err, errlen);
}

int registry_add(const struct sw_scaler_type *t, const char *origin, char *err, size_t errlen)
{
	struct sw_scaler_type copy;
	if (copy_type(t, &copy, err, errlen) || check_copy(&copy, err, errlen))
		return -1;
	pthread_mutex_lock(&write_mu);
	int rc = -1;
	size_t n = atomic_load_explicit(&nplugins, memory_order_relaxed);
	const char *other = registry_origin(copy.name);
	if (!strcmp(copy.name, "static") || find_builtin(copy.name)) {
		snprintf(err, errlen, "a scaler named '%s' is already built in", copy.name);
	} else if (other) {
		snprintf(err, errlen, "a scaler named '%s' is already loaded from '%s'", copy.name, other);
	} else if (n == REGISTRY_MAX_PLUGINS) {
		snprintf(err, errlen, "more than %d plugin scalers", REGISTRY_MAX_PLUGINS);
	} else {
		char *o = strdup(origin ? origin : "");
		if (!o) {
			snprintf(err, errlen, "out of memory");
		} else {
			plugins[n].type = copy;
			plugins[n].origin = o;
			atomic_store_explicit(&nplugins, n + 1, memory_order_release);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&write_mu);
	return rc;
}
