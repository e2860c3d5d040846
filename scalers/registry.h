/*
 * registry.h — the scaler types the daemon knows: the built-ins (one const
 * array in registry.c) and plugins loaded with dlopen. Lookups are by the
 * source `type:` name. Loading happens at start-up and config reload on one
 * thread; lookups may run on any thread once loading is done.
 */
#ifndef SW_REGISTRY_H
#define SW_REGISTRY_H

#include <stddef.h>

#include "scaler.h"

/* The scaler named name, or NULL. */
const struct sw_scaler_type *registry_find(const char *name);
/* Source types that are part of the design but not built into this binary yet
 * (a config naming one fails `check` with "not built yet"); NULL-terminated. */
extern const char *const registry_planned[];
/* Writes up to max known type names into out (built-ins, plugins, "static"); returns the count. */
size_t registry_names(const char **out, size_t max);

#endif
