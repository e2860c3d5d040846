/*
 * plugin.c — loading scaler plugins (plugin.h).
 */
#include "plugin.h"

#include "host.h"
#include "log.h"
#include "registry.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Real paths of the plugins loaded so far. */
static char *loaded[REGISTRY_MAX_PLUGINS];
static size_t nloaded;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

static bool is_loaded(const char *real)
{
	for (size_t i = 0; i < nloaded; i++)
		if (!strcmp(loaded[i], real))
			return true;
	return false;
}

/* dlopen, dlsym, the entry, the registry; mu held. */
static int load_locked(const char *real, char *err, size_t errlen)
{
	if (nloaded == REGISTRY_MAX_PLUGINS) {
		snprintf(err, errlen, "more than %d plugins", REGISTRY_MAX_PLUGINS);
		return -1;
	}
	dlerror();
	void *h = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *why = dlerror();
		snprintf(err, errlen, "not a loadable shared object: %s", why ? why : "dlopen failed");
		return -1;
	}
	dlerror();
	void *sym = dlsym(h, SW_SCALER_ENTRY);
	if (!sym) {
		snprintf(err, errlen, "no '%s' symbol: not a scalewise scaler plugin (see scalers/plugins/example)",
			 SW_SCALER_ENTRY);
		dlclose(h);
		return -1;
	}
	sw_scaler_entry_fn *entry;
	memcpy(&entry, &sym, sizeof entry); /* POSIX: a dlsym'd object pointer is a function pointer */
	const struct sw_scaler_type *t = entry(host_table());
	if (!t) {
		snprintf(err, errlen, "its '%s' returned no descriptor (it may have refused this scalewise's host table)",
			 SW_SCALER_ENTRY);
		dlclose(h);
		return -1;
	}
	char *copy = strdup(real);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		dlclose(h);
		return -1;
	}
	if (registry_add(t, real, err, errlen)) {
		free(copy);
		dlclose(h);
		return -1;
	}
	loaded[nloaded++] = copy;
	LOGI("plugin loaded", LF_S("path", real), LF_S("scaler", t->name));
	return 0;
}

int plugin_load(const char *path, char *err, size_t errlen)
{
	if (!path || !*path) {
		snprintf(err, errlen, "no file named");
		return -1;
	}
	char real[PATH_MAX];
	if (!realpath(path, real)) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	struct stat st;
	if (stat(real, &st)) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		return -1;
	}
	pthread_mutex_lock(&mu);
	int rc = is_loaded(real) ? 0 : load_locked(real, err, errlen);
	pthread_mutex_unlock(&mu);
	return rc;
}
