/*
 * dynlib.h — client libraries loaded when a source first needs them.
 *
 * libcurl, libpq and hiredis (with their chains: OpenSSL's TLS half,
 * Kerberos, LDAP, SASL, ssh2, nghttp2, ...) cost ~2 MiB of resident pages
 * merely by being mapped and relocated, and a config with only static,
 * replay or cron metrics never calls them. So the binary does not link
 * them: the first source (or kube client) that needs one calls its
 * sw_*_load(), which dlopens the library by the SONAME it was built
 * against and fills a table of function pointers; scalers/dl_*.h map the
 * library's own function names onto that table, so the code that uses
 * them reads as plain libcurl/libpq/hiredis code. A missing library is a
 * clear error from the source's open, never a crash.
 */
#ifndef SW_DYNLIB_H
#define SW_DYNLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct dynlib_sym {
	const char *name;
	void **slot;
};

struct dynlib {
	const char *soname;
	const struct dynlib_sym *syms;
	size_t nsyms;
	/* filled by dynlib_load */
	pthread_mutex_t mu;
	bool tried, loaded;
	char err[256];
};

#define DYNLIB_INIT(so, table) \
	{ .soname = (so), .syms = (table), .nsyms = sizeof(table) / sizeof((table)[0]), \
	  .mu = PTHREAD_MUTEX_INITIALIZER }

/* Loads lib once (any thread); 0, or -1 with the reason (the same reason on
 * every later call). */
int dynlib_load(struct dynlib *lib, char *err, size_t errlen);

/* Whether lib has been loaded (for tests and the idle-memory check). */
bool dynlib_loaded(struct dynlib *lib);

#endif
