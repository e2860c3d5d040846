/* dynlib.c — see dynlib.h. */
#include "dynlib.h"

#include <dlfcn.h>
#include <stdio.h>

int dynlib_load(struct dynlib *lib, char *err, size_t errlen)
{
	pthread_mutex_lock(&lib->mu);
	if (!lib->tried) {
		lib->tried = true;
		void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			const char *why = dlerror();
			snprintf(lib->err, sizeof lib->err, "cannot load %s: %s", lib->soname, why ? why : "unknown error");
		} else {
			size_t i;
			for (i = 0; i < lib->nsyms; i++) {
				void *f = dlsym(h, lib->syms[i].name);
				if (!f) {
					snprintf(lib->err, sizeof lib->err, "%s has no symbol %s (built against another version?)",
						 lib->soname, lib->syms[i].name);
					break;
				}
				*lib->syms[i].slot = f;
			}
			if (i == lib->nsyms)
				lib->loaded = true;
			else
				dlclose(h);
		}
	}
	bool ok = lib->loaded;
	if (!ok && err && errlen)
		snprintf(err, errlen, "%s", lib->err);
	pthread_mutex_unlock(&lib->mu);
	return ok ? 0 : -1;
}

bool dynlib_loaded(struct dynlib *lib)
{
	pthread_mutex_lock(&lib->mu);
	bool ok = lib->loaded;
	pthread_mutex_unlock(&lib->mu);
	return ok;
}
