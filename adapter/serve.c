/*
 * serve.c — the daemon's main loop.
 */
#include "serve.h"

#include "authn.h"
#include "authz.h"
#include "certs.h"
#include "cli.h"
#include "config.h"
#include "kube.h"
#include "log.h"
#include "plugin.h"
#include "poller.h"
#include "routes.h"
#include "runtime.h"
#include "selfmetrics.h"
#include "server.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const struct {
	const char *flag;
	const char *env;
} flag_env[] = {
	{ "--secure-port", "SCALEWISE_SERVER_SECURE_PORT" },
	{ "--bind-address", "SCALEWISE_SERVER_BIND_ADDRESS" },
	{ "--cert-dir", "SCALEWISE_SERVER_CERT_DIR" },
	{ "--tls-cert-file", "SCALEWISE_SERVER_TLS_CERT_FILE" },
	{ "--tls-private-key-file", "SCALEWISE_SERVER_TLS_PRIVATE_KEY_FILE" },
	{ "--tls-sans", "SCALEWISE_SERVER_TLS_SANS" },
	{ "--state-file", "SCALEWISE_SERVER_STATE_FILE" },
	{ "--threads", "SCALEWISE_SERVER_THREADS" },
	{ "--auth-mode", "SCALEWISE_AUTH_MODE" },
	{ "--requestheader-client-ca-file", "SCALEWISE_AUTH_REQUESTHEADER_CLIENT_CA_FILE" },
	{ "--requestheader-allowed-names", "SCALEWISE_AUTH_REQUESTHEADER_ALLOWED_NAMES" },
	{ "--kubeconfig", "SCALEWISE_AUTH_KUBECONFIG" },
};
#define NFLAGS (sizeof flag_env / sizeof flag_env[0])

static void usage(FILE *out)
{
	fprintf(out,
		"usage: scalewise serve --config FILE [flags]\n"
		"\n"
		"Serves external.metrics.k8s.io/v1beta1 over HTTPS from the metrics in FILE.\n"
		"\n"
		"flags (each overrides the config key and its environment variable):\n"
		"  --config FILE                      the configuration (YAML or JSON); required\n"
		"  --secure-port N                    server.securePort (default 6443; 0 = any free port)\n"
		"  --bind-address IP                  server.bindAddress (default 0.0.0.0)\n"
		"  --cert-dir DIR                     server.certDir: a self-signed cert is made here when none is given\n"
		"  --tls-cert-file FILE               server.tlsCertFile (reloaded when it changes)\n"
		"  --tls-private-key-file FILE        server.tlsPrivateKeyFile\n"
		"  --tls-sans A,B                     extra SANs for the self-signed certificate\n"
		"  --state-file FILE                  server.stateFile\n"
		"  --threads N                        HTTPS worker threads (0 = one per core)\n"
		"  --auth-mode delegated|anonymous    auth.mode\n"
		"  --requestheader-client-ca-file F   auth.requestheader.clientCAFile\n"
		"  --requestheader-allowed-names A,B  auth.requestheader.allowedNames\n"
		"  --kubeconfig FILE                  auth.kubeconfig\n"
		"  --plugin FILE                      load a scaler plugin before the config (repeatable; as plugins:)\n"
		"  --port-file FILE                   write the bound port here once serving (for scripts)\n"
		"  --log-level debug|info|warn|error  (default info)\n"
		"  --log-format json|text             (default json)\n"
		"\n"
		"signals: SIGHUP reloads the config (a bad one is rejected, the old one keeps serving);\n"
		"SIGTERM/SIGINT: /readyz turns 503, in-flight requests finish, exit 0.\n"
		"\n"
		"environment overrides:\n");
	config_env_help(out);
}

struct serve_state {
	const char *config_path;
	char **overrides;
	int noverrides;
	struct stat config_st;
	struct server *srv;
	struct poller *poller;
};

static double unix_now(void)
{
	return (double)now_ms() / 1000.0;
}

static bool str_equal(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* Authentication is set up once at start; a reload only warns about changes. */
static bool auth_cfg_equal(const struct auth_cfg *a, const struct auth_cfg *b)
{
	if (a->mode != b->mode || !str_equal(a->rh_client_ca_file, b->rh_client_ca_file) ||
	    !str_equal(a->kubeconfig, b->kubeconfig) || a->rh_allowed_names.n != b->rh_allowed_names.n ||
	    a->rh_poll_ms != b->rh_poll_ms)
		return false;
	for (size_t i = 0; i < a->rh_allowed_names.n; i++)
		if (!str_equal(a->rh_allowed_names.items[i], b->rh_allowed_names.items[i]))
			return false;
	return true;
}

/* Loads the config and, when it is valid, puts it in service. */
/* Reads and validates the config file into cfg; -1 (cfg released) when it
 * does not validate. */
static int load_config(struct serve_state *st, bool initial, struct config *cfg)
{
	stat(st->config_path, &st->config_st);
	if (cli_load_config(st->config_path, st->overrides, st->noverrides, cfg)) {
		config_release(cfg);
		selfmetrics_config_load(false, unix_now());
		if (!initial)
			LOGE("config reload rejected; the old config keeps serving", LF_S("path", st->config_path));
		return -1;
	}
	return 0;
}

/* Makes cfg (taken) the serving config with a new poller that takes over the
 * old one's series. */
static int swap_in(struct serve_state *st, bool initial, struct config cfg)
{
	size_t nm = cfg.nmetrics;
	struct runtime *old = initial ? NULL : runtime_current();
	if (old && !auth_cfg_equal(&old->cfg.auth, &cfg.auth))
		LOGW("the auth section changed: it takes effect at the next restart", LF_S("path", st->config_path));
	runtime_unref(old);
	struct runtime *rt = runtime_new(&cfg);
	if (!rt)
		return -1;
	/* the new poller takes over the series of the old one before it stops */
	struct poller_opts po = {
		.state_file = rt->cfg.server.state_file,
		.previous = st->poller,
		.workers = (int)rt->cfg.server.fetch_workers,
	};
	struct poller *p = poller_start(rt, &po);
	if (!p) {
		LOGE("cannot start the poller", LF_S("path", st->config_path));
		runtime_unref(rt);
		return -1;
	}
	runtime_swap(rt);
	poller_set_current(p);
	poller_stop(st->poller);
	st->poller = p;
	selfmetrics_config_load(true, unix_now());
	selfmetrics_set_anonymous(rt->cfg.auth.mode == AUTH_ANONYMOUS);
	LOGI(initial ? "config loaded" : "config reloaded", LF_S("path", st->config_path), LF_I("metrics", nm));
	return 0;
}

static int load_and_swap(struct serve_state *st, bool initial)
{
	struct config cfg;
	if (load_config(st, initial, &cfg))
		return -1;
	return swap_in(st, initial, cfg);
}

/* certs_ensure_self_signed, run in a child process. Reading or making the
 * certificate walks through a good part of libcrypto (PEM, X.509, EC key
 * generation, signing), and those pages would stay resident in the daemon
 * for nothing: 2.5 to 3 MiB of its idle RSS (docs/BENCHMARKS.md). Called
 * before any thread starts, so the child is a plain copy. */
static int ensure_cert_in_child(const char *dir, const char *const *sans, size_t nsans, char *cert, char *key,
				size_t pathlen, char *err, size_t errlen)
{
	struct result {
		int rc;
		char cert[4200], key[4200], err[512];
	} *r = mmap(NULL, sizeof *r, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED) {
		snprintf(err, errlen, "cannot map memory: %s", strerror(errno));
		return -1;
	}
	r->rc = -1;
	snprintf(r->err, sizeof r->err, "the certificate step ended without a result");
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot fork: %s", strerror(errno));
		munmap(r, sizeof *r);
		return -1;
	}
	if (pid == 0) {
		r->rc = certs_ensure_self_signed(dir, sans, nsans, r->cert, r->key, sizeof r->cert, r->err,
						 sizeof r->err);
		_exit(0);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	int rc = r->rc;
	if (WIFSIGNALED(status)) {
		snprintf(err, errlen, "the certificate step died of signal %d", WTERMSIG(status));
		rc = -1;
	} else if (rc) {
		snprintf(err, errlen, "%s", r->err);
	} else {
		snprintf(cert, pathlen, "%s", r->cert);
		snprintf(key, pathlen, "%s", r->key);
	}
	munmap(r, sizeof *r);
	return rc;
}

static bool config_changed(struct serve_state *st)
{
	struct stat s;
	if (stat(st->config_path, &s))
		return false;
	return s.st_ino != st->config_st.st_ino || s.st_size != st->config_st.st_size ||
	       s.st_mtim.tv_sec != st->config_st.st_mtim.tv_sec || s.st_mtim.tv_nsec != st->config_st.st_mtim.tv_nsec;
}

static int write_port_file(const char *path, int port)
{
	char tmp[4200];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", port);
	if (fclose(f))
		return -1;
	return rename(tmp, path);
}

static int serve_run(struct serve_state *stp, int argc, char **argv);

/* Stops and frees the delegated-auth objects (any may be NULL): calls to the
 * API server in flight end at once. */
static void auth_stop(struct kube *kube, struct authn *authn, struct authz *authz, char *client_ca)
{
	if (kube)
		kube_shutdown(kube);
	authz_free(authz);
	authn_free(authn);
	kube_free(kube);
	free(client_ca);
}

/*
 * glibc malloc settings for a long-running server with a few threads:
 * - a fixed mmap threshold: blocks from 128 KiB up (a /metrics answer, a
 *   large fetch) are mapped and unmapped, so their pages go back to the
 *   system when freed. The default threshold rises to the largest block
 *   freed (up to 32 MiB) and the trim threshold with it, after which such
 *   blocks are carved from a thread's heap and their pages stay resident.
 * - one arena instead of one per thread (8 per core): the poller's workers
 *   and the HTTPS threads then share free memory instead of each keeping
 *   its own; their mallocs are short, so the shared lock costs little. With
 *   two, 10,000 one-series metrics settled at 31 or 33 MiB from run to run
 *   (which arena the pipeline states landed in); with one, at 31 every time,
 *   for the same CPU per fetch and request latency within this machine's
 *   noise.
 * Measured with tests/bench/poller.sh (docs/BENCHMARKS.md).
 */
static void tune_malloc(void)
{
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	mallopt(M_ARENA_MAX, 1);
}

int serve_main(int argc, char **argv)
{
	tune_malloc();
	struct serve_state st = { 0 };
	char *overrides[NFLAGS];
	st.overrides = overrides;
	int rc = serve_run(&st, argc, argv);
	for (int i = 0; i < st.noverrides; i++)
		free(overrides[i]);
	return rc;
}

static int serve_run(struct serve_state *stp, int argc, char **argv)
{
	struct serve_state st = *stp;
	char **overrides = stp->overrides;
	const char *port_file = NULL, *log_level = "info", *log_format = "json";
	const char *plugins[64];
	int nplugins = 0;
	char err[1024];

	for (int i = 0; i < argc; i++) {
		const char *v = NULL;
		bool missing = false, known = false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		}
		if (cli_flag(argc, argv, &i, "--config", &v, &missing))
			st.config_path = v, known = true;
		else if (cli_flag(argc, argv, &i, "--port-file", &v, &missing))
			port_file = v, known = true;
		else if (cli_flag(argc, argv, &i, "--log-level", &v, &missing))
			log_level = v, known = true;
		else if (cli_flag(argc, argv, &i, "--log-format", &v, &missing))
			log_format = v, known = true;
		else if (cli_flag(argc, argv, &i, "--plugin", &v, &missing)) {
			known = true;
			if (!missing && nplugins == 64) {
				fprintf(stderr, "scalewise serve: --plugin: more than 64\n");
				return 2;
			}
			if (!missing)
				plugins[nplugins++] = v;
		}
		for (size_t f = 0; !known && f < NFLAGS; f++) {
			if (cli_flag(argc, argv, &i, flag_env[f].flag, &v, &missing)) {
				known = true;
				if (missing)
					break;
				size_t n = strlen(flag_env[f].env) + strlen(v) + 2;
				char *s = malloc(n);
				if (!s)
					return 1;
				snprintf(s, n, "%s=%s", flag_env[f].env, v);
				overrides[st.noverrides++] = s;
				stp->noverrides = st.noverrides;
			}
		}
		if (missing) {
			fprintf(stderr, "scalewise serve: %s needs a value\n", argv[i]);
			return 2;
		}
		if (!known) {
			fprintf(stderr, "scalewise serve: unknown flag '%s' (see --help)\n", argv[i]);
			return 2;
		}
	}
	enum log_level lvl;
	if (log_level_parse(log_level, &lvl)) {
		fprintf(stderr, "scalewise serve: --log-level: '%s' is not one of debug, info, warn, error\n", log_level);
		return 2;
	}
	if (strcmp(log_format, "json") && strcmp(log_format, "text")) {
		fprintf(stderr, "scalewise serve: --log-format: '%s' is not one of json, text\n", log_format);
		return 2;
	}
	log_setup(lvl, !strcmp(log_format, "text"));
	if (!st.config_path) {
		fprintf(stderr, "scalewise serve: --config FILE is required (see --help)\n");
		return 2;
	}
	for (int p = 0; p < nplugins; p++) {
		if (plugin_load(plugins[p], err, sizeof err)) {
			fprintf(stderr, "scalewise serve: --plugin: cannot load '%s': %s\n", plugins[p], err);
			return 2;
		}
	}

	/* signals become events on this thread */
	sigset_t mask;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
	if (sfd < 0) {
		fprintf(stderr, "scalewise serve: cannot create a signalfd: %s\n", strerror(errno));
		return 1;
	}

	routes_set_ready(false, "config not loaded");
	selfmetrics_add_renderer(poller_render_metrics, NULL);
	/* the serving certificate before the poller's threads start */
	struct config first;
	if (load_config(&st, true, &first))
		return 2;
	struct server_cfg sc = first.server;
	char cert[4200], key[4200];
	if (sc.tls_cert_file && *sc.tls_cert_file) {
		if (!sc.tls_private_key_file || !*sc.tls_private_key_file) {
			fprintf(stderr, "scalewise serve: server.tlsPrivateKeyFile is required with server.tlsCertFile\n");
			config_release(&first);
			return 2;
		}
		snprintf(cert, sizeof cert, "%s", sc.tls_cert_file);
		snprintf(key, sizeof key, "%s", sc.tls_private_key_file);
	} else if (ensure_cert_in_child(sc.cert_dir, (const char *const *)sc.tls_sans.items, sc.tls_sans.n, cert, key,
				       sizeof cert, err, sizeof err)) {
		fprintf(stderr, "scalewise serve: server.certDir: %s\n", err);
		config_release(&first);
		return 1;
	}
	if (swap_in(&st, true, first))
		return 2;
	struct runtime *rt = runtime_current();
	sc = rt->cfg.server;
	/* delegated authentication and authorization: set up once, at start */
	struct kube *kube = NULL;
	struct authn *authn = NULL;
	struct authz *authz = NULL;
	char *client_ca = NULL;
	bool anonymous = rt->cfg.auth.mode == AUTH_ANONYMOUS;
	if (!anonymous) {
		const struct auth_cfg *ac = &rt->cfg.auth;
		struct kube_opts ko = { .kubeconfig = ac->kubeconfig };
		kube = kube_new(&ko, err, sizeof err);
		struct authn_opts ao = {
			.client_ca_file = ac->rh_client_ca_file,
			.allowed_names = (const char *const *)ac->rh_allowed_names.items,
			.nallowed_names = ac->rh_allowed_names.n,
			.poll_ms = (long)ac->rh_poll_ms,
		};
		if (kube)
			authn = authn_new(&ao, kube, err, sizeof err);
		if (authn)
			authz = authz_new(NULL, kube, authn, err, sizeof err);
		if (!authz) {
			fprintf(stderr, "scalewise serve: auth.mode delegated: %s\n", err);
			auth_stop(kube, authn, NULL, NULL);
			runtime_unref(rt);
			return 1;
		}
		client_ca = authn_client_ca_pem(authn);
		LOGI("delegated authentication and authorization", LF_S("apiserver", kube_server(kube)),
		     LF_S("requestheader", ac->rh_client_ca_file && *ac->rh_client_ca_file
						   ? ac->rh_client_ca_file
						   : "configmap kube-system/extension-apiserver-authentication"));
	}
	struct server_opts so = {
		.auth = authz,
		.client_ca_pem = client_ca,
		.bind_address = sc.bind_address,
		.port = (int)sc.secure_port,
		.threads = (int)sc.threads,
		.cert_file = cert,
		.key_file = key,
	};
	long grace = (long)sc.shutdown_grace_ms, drain = (long)sc.drain_delay_ms;
	char addr[300];
	snprintf(addr, sizeof addr, "%s", sc.bind_address);
	runtime_unref(rt);

	st.srv = server_start(&so, err, sizeof err);
	if (!st.srv) {
		fprintf(stderr, "scalewise serve: %s\n", err);
		auth_stop(kube, authn, authz, client_ca);
		return 1;
	}
	int port = server_port(st.srv);
	if (!strcmp(addr, "0.0.0.0") || !strcmp(addr, "::")) {
		char host[256];
		if (gethostname(host, sizeof host))
			snprintf(host, sizeof host, "localhost");
		snprintf(addr, sizeof addr, "%s", host);
	}
	char sa[320];
	snprintf(sa, sizeof sa, strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, port);
	routes_set_server_address(sa);
	if (anonymous)
		LOGW("auth.mode is anonymous: every request is allowed; use delegated in a cluster", LF_S("mode", "anonymous"));
	if (port_file && write_port_file(port_file, port)) {
		fprintf(stderr, "scalewise serve: cannot write '%s': %s\n", port_file, strerror(errno));
		server_stop(st.srv, 0);
		auth_stop(kube, authn, authz, client_ca);
		return 1;
	}
	routes_set_ready(true, NULL);
	LOGI("serving", LF_I("port", port), LF_S("cert", cert), LF_S("version", SW_VERSION));
	/* what loading left free (the YAML tree, the parse) goes back to the system */
	malloc_trim(0);

	int code = 0;
	for (;;) {
		struct pollfd pfd = { .fd = sfd, .events = POLLIN };
		int r = poll(&pfd, 1, 1000);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof si) != (ssize_t)sizeof si)
				continue;
			if (si.ssi_signo == SIGHUP) {
				LOGI("SIGHUP: reloading the config", LF_S("path", st.config_path));
				load_and_swap(&st, false);
				continue;
			}
			LOGI("shutting down", LF_S("signal", si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT"));
			break;
		}
		/* housekeeping, about once a second */
		if (config_changed(&st)) {
			LOGI("config file changed: reloading", LF_S("path", st.config_path));
			load_and_swap(&st, false);
		}
		int rc = server_reload_cert(st.srv, err, sizeof err);
		if (rc > 0)
			LOGI("serving certificate reloaded", LF_S("cert", cert));
		else if (rc < 0)
			LOGE("serving certificate not reloaded; the old one keeps serving", LF_S("error", err));
	}

	routes_set_ready(false, "shutting down");
	if (drain > 0) {
		struct timespec ts = { drain / 1000, (drain % 1000) * 1000000 };
		nanosleep(&ts, NULL);
	}
	server_quiesce(st.srv);
	server_stop(st.srv, grace);
	auth_stop(kube, authn, authz, client_ca);
	poller_set_current(NULL);
	poller_stop(st.poller);
	runtime_swap(NULL);
	close(sfd);
	LOGI("stopped", LF_I("code", code));
	return code;
}
