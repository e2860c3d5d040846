/*
 * cli.c — shared CLI helpers.
 */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

bool cli_flag(int argc, char **argv, int *i, const char *name, const char **value, bool *missing)
{
	const char *a = argv[*i];
	size_t n = strlen(name);
	if (strncmp(a, name, n))
		return false;
	if (a[n] == '=') {
		*value = a + n + 1;
		return true;
	}
	if (a[n])
		return false;
	if (*i + 1 >= argc) {
		*missing = true;
		return true;
	}
	*value = argv[++*i];
	return true;
}

int cli_load_config(const char *path, char *const *extra, int nextra, struct config *out)
{
	size_t nenv = 0;
	while (environ && environ[nenv])
		nenv++;
	char **env = calloc(nenv + (size_t)nextra + 1, sizeof *env);
	if (!env)
		return -1;
	for (size_t i = 0; i < nenv; i++)
		env[i] = environ[i];
	for (int i = 0; i < nextra; i++)
		env[nenv + (size_t)i] = extra[i];
	struct errlist errs;
	errlist_init(&errs);
	int rc = config_load(path, env, out, &errs);
	free(env);
	for (size_t i = 0; i < errs.n; i++)
		fprintf(stderr, "%s: %s\n", path, errs.items[i]);
	if (errs.dropped)
		fprintf(stderr, "%s: ... and %zu more problems\n", path, errs.dropped);
	errlist_release(&errs);
	return rc;
}
