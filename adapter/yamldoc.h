/*
 * yamldoc.h — reads one YAML (or JSON, which is YAML) document into a cJSON
 * tree with libyaml. Plain scalars become numbers, booleans or null where YAML's
 * core schema says so; quoted scalars stay strings. Anchors and aliases are
 * expanded (bounded), duplicate keys and a second document are errors.
 */
#ifndef SW_YAMLDOC_H
#define SW_YAMLDOC_H

#include <stddef.h>
#include <cJSON.h>

#define YAMLDOC_MAX_BYTES (4u << 20)

/* Returns a tree the caller frees with cJSON_Delete, or NULL with a message
 * naming the line and column in err. */
cJSON *yamldoc_parse(const char *text, size_t len, char *err, size_t errlen);

/* Reads a whole file (at most YAMLDOC_MAX_BYTES) and parses it. */
cJSON *yamldoc_load(const char *path, char *err, size_t errlen);

#endif
