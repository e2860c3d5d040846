/*
 * registry.c — built-in scaler table and lookups.
 */
#include "registry.h"

#include "prometheus.h"

#include <string.h>

/* Built-in scalers, in the order `scalewise check --explain` lists them. */
static const struct sw_scaler_type *const builtins[] = {
	&scaler_prometheus,
	NULL,
};

const char *const registry_planned[] = {
	"redis", "rabbitmq", "nats-jetstream", "postgresql", "metrics-api", "cron", "replay", NULL,
};

const struct sw_scaler_type *registry_find(const char *name)
{
	for (size_t i = 0; builtins[i]; i++)
		if (!strcmp(builtins[i]->name, name))
			return builtins[i];
	return NULL;
}

size_t registry_names(const char **out, size_t max)
{
	size_t n = 0;
	if (n < max)
		out[n++] = "static";
	for (size_t i = 0; builtins[i] && n < max; i++)
		out[n++] = builtins[i]->name;
	for (size_t i = 0; registry_planned[i] && n < max; i++)
		if (!registry_find(registry_planned[i]))
			out[n++] = registry_planned[i];
	return n;
}
