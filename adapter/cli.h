/*
 * cli.h — small helpers shared by the subcommands: flag matching in both
 * "--flag value" and "--flag=value" forms, and config loading with the
 * one-problem-a-line report.
 */
#ifndef SW_CLI_H
#define SW_CLI_H

#include <stdbool.h>

#include "config.h"

/* If argv[*i] is --name or --name=value, stores the value (the next argument
 * for the first form; *i is advanced) and returns true. A missing value sets
 * *missing. */
bool cli_flag(int argc, char **argv, int *i, const char *name, const char **value, bool *missing);

/* Loads path with the environment plus extra overrides ("SCALEWISE_X=v",
 * applied after the environment); on problems prints each on stderr prefixed
 * with the file name and returns -1. */
int cli_load_config(const char *path, char *const *extra, int nextra, struct config *out);

#endif
