/*
 * main.c — `scalewise COMMAND [flags]`: dispatch to the subcommands.
 */
#include "certs.h"
#include "cli.h"
#include "config.h"
#include "hpa_cli.h"
#include "http.h"
#include "query.h"
#include "record.h"
#include "simulate.h"
#include "serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: scalewise COMMAND [flags]\n"
		"\n"
		"commands:\n"
		"  serve     serve external.metrics.k8s.io/v1beta1 from a config\n"
		"  check     validate a config: every problem with its key path, exit 2 when any\n"
		"  query     fetch one metric once: what its source returns, what would be served\n"
		"  hpa       evaluate one HPA decision (vector format) and explain it\n"
		"  simulate  replay a recorded metric through a pipeline and the HPA model\n"
		"  record    save a Prometheus range query as a trace for simulate\n"
		"  certs     write a CA, a serving certificate and a front-proxy client certificate\n"
		"  version   print the version\n"
		"\n"
		"`scalewise COMMAND --help` describes each command.\n");
}

static int check_main(int argc, char **argv)
{
	const char *path = NULL;
	for (int i = 0; i < argc; i++) {
		const char *v = NULL;
		bool missing = false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: scalewise check --config FILE\n\n"
			       "Validates FILE (YAML or JSON) with the environment overrides applied. Prints\n"
			       "every problem, one a line, starting with its key path, and exits 2; prints a\n"
			       "summary and exits 0 when the config is valid.\n");
			return 0;
		}
		if (cli_flag(argc, argv, &i, "--config", &v, &missing) && !missing) {
			path = v;
			continue;
		}
		if (!path && argv[i][0] != '-') {
			path = argv[i];
			continue;
		}
		fprintf(stderr, "scalewise check: unexpected argument '%s' (see --help)\n", argv[i]);
		return 2;
	}
	if (!path) {
		fprintf(stderr, "scalewise check: --config FILE is required\n");
		return 2;
	}
	struct config cfg;
	int rc = cli_load_config(path, NULL, 0, &cfg);
	if (rc == 0)
		printf("%s: ok: %zu sources, %zu metrics\n", path, cfg.nsources, cfg.nmetrics);
	config_release(&cfg);
	return rc ? 2 : 0;
}

static int certs_main(int argc, char **argv)
{
	const char *service = "scalewise", *ns = "scalewise", *out = NULL, *sans = NULL, *days = "365";
	for (int i = 0; i < argc; i++) {
		const char *v = NULL;
		bool missing = false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			printf("usage: scalewise certs --out DIR [--service NAME] [--namespace NS] [--sans A,B] [--days N]\n\n"
			       "Writes into DIR: ca.crt/ca.key, tls.crt/tls.key (a serving certificate for NAME,\n"
			       "NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local and the extra SANs, signed by\n"
			       "the CA), front-proxy-ca.crt/.key and front-proxy-client.crt/.key (CN\n"
			       "front-proxy-client, for tests and kind-style clusters). Prints the APIService\n"
			       "caBundle (base64 of ca.crt) on stdout.\n");
			return 0;
		}
		if (cli_flag(argc, argv, &i, "--service", &v, &missing))
			service = v;
		else if (cli_flag(argc, argv, &i, "--namespace", &v, &missing))
			ns = v;
		else if (cli_flag(argc, argv, &i, "--out", &v, &missing))
			out = v;
		else if (cli_flag(argc, argv, &i, "--sans", &v, &missing))
			sans = v;
		else if (cli_flag(argc, argv, &i, "--days", &v, &missing))
			days = v;
		else {
			fprintf(stderr, "scalewise certs: unknown flag '%s' (see --help)\n", argv[i]);
			return 2;
		}
		if (missing || !v) {
			fprintf(stderr, "scalewise certs: %s needs a value\n", argv[i]);
			return 2;
		}
	}
	if (!out) {
		fprintf(stderr, "scalewise certs: --out DIR is required\n");
		return 2;
	}
	char *end;
	long d = strtol(days, &end, 10);
	if (*end || d < 1 || d > 3650) {
		fprintf(stderr, "scalewise certs: --days: '%s' must be a whole number from 1 to 3650\n", days);
		return 2;
	}
	const char *list[64];
	size_t n = 0;
	char *copy = sans ? strdup(sans) : NULL;
	for (char *save = NULL, *t = copy ? strtok_r(copy, ",", &save) : NULL; t && n < 64; t = strtok_r(NULL, ",", &save))
		list[n++] = t;
	char err[512];
	int rc = certs_make_cluster_set(out, service, ns, list, n, (int)d, err, sizeof err);
	free(copy);
	if (rc) {
		fprintf(stderr, "scalewise certs: %s\n", err);
		return 1;
	}
	/* the caBundle, base64 of the PEM */
	char path[4200];
	snprintf(path, sizeof path, "%s/ca.crt", out);
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "scalewise certs: cannot read '%s'\n", path);
		return 1;
	}
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char in[3];
	size_t r;
	while ((r = fread(in, 1, 3, f)) > 0) {
		unsigned v = (unsigned)in[0] << 16 | (r > 1 ? (unsigned)in[1] << 8 : 0) | (r > 2 ? in[2] : 0);
		putchar(b64[v >> 18 & 63]);
		putchar(b64[v >> 12 & 63]);
		putchar(r > 1 ? b64[v >> 6 & 63] : '=');
		putchar(r > 2 ? b64[v & 63] : '=');
		if (r < 3)
			break;
	}
	putchar('\n');
	fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		if (argc > 2 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
			printf("usage: scalewise version\n\nPrints the version this binary was built from.\n");
			return 0;
		}
		printf("scalewise %s\n", SW_VERSION);
		return 0;
	}
	if (!strcmp(cmd, "serve"))
		return serve_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "check"))
		return check_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "query"))
		return query_main(argc - 2, argv + 2);
	if (!strcmp(cmd, "hpa"))
		return hpa_cli_main(argc - 1, argv + 1); /* argv[0] is "hpa" */
	if (!strcmp(cmd, "simulate"))
		return simulate_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "record"))
		return record_main(argc - 1, argv + 1);
	if (!strcmp(cmd, "certs"))
		return certs_main(argc - 2, argv + 2);
	fprintf(stderr, "scalewise: unknown command '%s'\n", cmd);
	usage(stderr);
	return 2;
}
