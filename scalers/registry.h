/*
 * registry.h — the scaler types the daemon knows: the built-ins (one const
 * array in registry.c) and plugins loaded with dlopen (scalers/plugin.h).
 * Lookups are by the source `type:` name.
 *
 * Threads: registering happens at start-up and at config reload, on one
 * thread at a time (a mutex serialises writers). The plugin table only ever
 * grows and an entry never changes once published, so lookups may run on any
 * thread at any time without a lock.
 */
#ifndef SW_REGISTRY_H
#define SW_REGISTRY_H

#include <stddef.h>

#include "scaler.h"

#define REGISTRY_MAX_PLUGINS 64

/* The scaler named name (built-ins first, then plugins), or NULL. The
 * pointer stays valid for the life of the process. */
const struct sw_scaler_type *registry_find(const char *name);

/* Writes up to max known type names into out ("static", built-ins, then
 * plugins); returns the count. */
size_t registry_names(const char **out, size_t max);

/*
 * Checks a descriptor as the core will use it, and says what is wrong:
 * an ABI version other than SW_SCALER_ABI_VERSION; a struct_size too small
 * to hold the fields up to `close`; a missing or invalid name (lower-case
 * letters, digits, '-', '_', '.', at most 63 bytes); no open, fetch or
 * close; a `query` other than SW_QUERY_*; a parameter table that is missing,
 * has a key-less entry, an unknown type, or an offset that does not fit its
 * params struct; sizes beyond sanity. 0, or -1 with the reason in err.
 * Pure; any thread.
 */
int registry_check_type(const struct sw_scaler_type *t, char *err, size_t errlen);

/*
 * Registers a plugin's descriptor after registry_check_type, under the name
 * it carries, with origin (the plugin's path) kept for messages. A name
 * that is "static", a built-in's, or an earlier plugin's is refused ("a
 * scaler named 'x' is already built in" / "... already loaded from 'p'").
 * The registry keeps its own copy of the descriptor, zero-filled past the
 * plugin's struct_size, so fields a plugin built against an older scaler.h
 * does not have read as NULL. t's tables and functions must stay valid for
 * the life of the process (the plugin is never unloaded). 0, or -1 with the
 * reason in err (without the origin: the caller names the file). At most
 * REGISTRY_MAX_PLUGINS. Start-up/reload thread only.
 */
int registry_add(const struct sw_scaler_type *t, const char *origin, char *err, size_t errlen);

/* The origin given to registry_add for the plugin scaler named name, or NULL
 * (a built-in, or unknown). */
const char *registry_origin(const char *name);

#endif
