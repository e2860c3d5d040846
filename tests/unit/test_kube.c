/* Unit tests: the kube client (kubeconfig and in-cluster configuration, the
 * bearer token re-read from its file, retries, deadline, body cap, threads)
 * against a small in-process HTTP(S) server, and the review cache. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "certs.h"
#include "kube.h"

#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------------ */
/* a scriptable server                                                      */

struct fake {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t mu;
	int nreq;
	char auth[256];          /* Authorization of the last request */
	char accept[128];
	char ctype[128];
	char method[8];
	char path[256];
	char body[4096];
	int fail_first;          /* answer fail_code to the first fail_first requests */
	int fail_code;
	char want_auth[128];     /* when set: 401 unless Authorization equals it */
	int delay_ms;
	size_t big;              /* when set: answer this many bytes */
	unsigned peers;          /* client certificates seen on the last request */
};

static struct fake F;

struct upload {
	char data[4096];
	size_t len;
};

static enum MHD_Result on_req(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *up, size_t *uplen, void **cc)
{
	struct upload *u = *cc;
	if (!u) {
		u = calloc(1, sizeof *u);
		*cc = u;
		return MHD_YES;
	}
	if (*uplen) {
		size_t n = *uplen < sizeof u->data - 1 - u->len ? *uplen : sizeof u->data - 1 - u->len;
		memcpy(u->data + u->len, up, n);
		u->len += n;
		*uplen = 0;
		return MHD_YES;
	}
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	const char *acc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept");
	const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	unsigned npeers = 0;
	if (ci && ci->tls_session)
		gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &npeers);
	pthread_mutex_lock(&F.mu);
	int n = ++F.nreq;
	snprintf(F.auth, sizeof F.auth, "%s", auth ? auth : "");
	snprintf(F.accept, sizeof F.accept, "%s", acc ? acc : "");
	snprintf(F.ctype, sizeof F.ctype, "%s", ct ? ct : "");
	snprintf(F.method, sizeof F.method, "%s", method);
	snprintf(F.path, sizeof F.path, "%s", url);
	snprintf(F.body, sizeof F.body, "%s", u->data);
	F.peers = npeers;
	int code = 200;
	if (F.want_auth[0] && (!auth || strcmp(auth, F.want_auth)))
		code = 401;
	else if (n <= F.fail_first)
		code = F.fail_code;
	int delay = F.delay_ms;
	size_t big = F.big;
	pthread_mutex_unlock(&F.mu);
	if (delay) {
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };
		nanosleep(&ts, NULL);
	}
	char small[256];
	char *body = small;
	size_t blen;
	if (big) {
		body = malloc(big);
		memset(body, ' ', big);
		body[0] = '{';
		body[big - 1] = '}';
		blen = big;
	} else {
		blen = (size_t)snprintf(small, sizeof small, "{\"kind\":\"Status\",\"message\":\"m%d\",\"code\":%d,\"n\":%d}",
					code, code, n);
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(blen, body, MHD_RESPMEM_MUST_COPY);
	MHD_add_response_header(r, "Content-Type", "application/json");
	enum MHD_Result res = MHD_queue_response(c, (unsigned)code, r);
	MHD_destroy_response(r);
	if (body != small)
		free(body);
	return res;
}

static void on_done(void *cls, struct MHD_Connection *c, void **cc, enum MHD_RequestTerminationCode t)
{
	free(*cc);
	*cc = NULL;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *b = calloc(1, 1 << 16);
	size_t n = fread(b, 1, (1 << 16) - 1, f);
	b[n] = 0;
	fclose(f);
	return b;
}

static char *tls_cert, *tls_key, *tls_trust;

/* Starts the fake; with tls, HTTPS with the cert/key made in setup, and
 * client certificates requested. */
static void fake_start(bool tls)
{
	pthread_mutex_destroy(&F.mu);
	memset(&F, 0, sizeof F);
	pthread_mutex_init(&F.mu, NULL);
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION;
	if (tls)
		F.d = MHD_start_daemon(flags | MHD_USE_TLS, 0, NULL, NULL, on_req, NULL, MHD_OPTION_NOTIFY_COMPLETED,
				       on_done, NULL, MHD_OPTION_HTTPS_MEM_CERT, tls_cert, MHD_OPTION_HTTPS_MEM_KEY,
				       tls_key, MHD_OPTION_HTTPS_MEM_TRUST, tls_trust, MHD_OPTION_END);
	else
		F.d = MHD_start_daemon(flags, 0, NULL, NULL, on_req, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL,
				       MHD_OPTION_END);
	assert_non_null(F.d);
	F.port = MHD_get_daemon_info(F.d, MHD_DAEMON_INFO_BIND_PORT)->port;
}

static void fake_stop(void)
{
	MHD_stop_daemon(F.d);
	F.d = NULL;
}

static char dir[256];

static void write_file(const char *name, const char *text)
{
	char p[512];
	snprintf(p, sizeof p, "%s/%s", dir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static char *path_of(const char *name)
{
	static char p[8][512];
	static int i;
	i = (i + 1) % 8;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

static void write_kubeconfig(const char *server, const char *cluster_extra, const char *user)
{
	char kc[16384];
	snprintf(kc, sizeof kc,
		 "apiVersion: v1\nkind: Config\ncurrent-context: c\ncontexts:\n- name: other\n  context: {cluster: x, user: "
		 "y}\n- name: c\n  context:\n    cluster: k\n    user: u\nclusters:\n- name: k\n  cluster:\n    server: "
		 "%s\n%susers:\n- name: u\n  user:\n%s",
		 server, cluster_extra, user);
	write_file("kubeconfig", kc);
}

static struct kube *kube_from_kubeconfig(char *err, size_t errlen)
{
	struct kube_opts o = { .kubeconfig = path_of("kubeconfig"), .backoff_ms = 10, .timeout_ms = 3000 };
	return kube_new(&o, err, errlen);
}

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *o = malloc(n * 2 + 8);
	EVP_EncodeBlock((unsigned char *)o, (const unsigned char *)s, (int)n);
	return o;
}

static int setup(void **st)
{
	snprintf(dir, sizeof dir, "%s/sw-kube-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	char err[512], cert[512], key[512];
	const char *sans[] = { "127.0.0.1" };
	assert_int_equal(certs_ensure_self_signed(path_of("serving"), sans, 1, cert, key, sizeof cert, err, sizeof err), 0);
	tls_cert = slurp(cert);
	tls_key = slurp(key);
	assert_int_equal(certs_make_cluster_set(path_of("pki"), "svc", "ns", NULL, 0, 30, err, sizeof err), 0);
	tls_trust = slurp(path_of("pki/front-proxy-ca.crt"));
	pthread_mutex_init(&F.mu, NULL);
	return 0;
}

static int teardown(void **st)
{
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	free(tls_cert);
	free(tls_key);
	free(tls_trust);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* configuration                                                            */

static void test_kubeconfig_token(void **st)
{
	char err[512], url[64];
	fake_start(false);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", F.port);
	write_kubeconfig(url, "", "    token: sekret\n");
	struct kube *k = kube_from_kubeconfig(err, sizeof err);
	assert_non_null(k);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", F.port);
	assert_string_equal(kube_server(k), url); /* trailing slash dropped */
	cJSON *j = NULL;
	assert_int_equal(kube_get_json(k, "/api/v1/x", &j, err, sizeof err), 200);
	assert_non_null(j);
	assert_string_equal(kube_status_message(j), "m200");
	cJSON_Delete(j);
	assert_string_equal(F.auth, "Bearer sekret");
	assert_string_equal(F.accept, "application/json");
	assert_string_equal(F.method, "GET");
	assert_string_equal(F.path, "/api/v1/x");

	assert_int_equal(kube_post_json(k, "/apis/a/v1/b", "{\"spec\":{}}", &j, err, sizeof err), 200);
	cJSON_Delete(j);
	assert_string_equal(F.method, "POST");
	assert_string_equal(F.body, "{\"spec\":{}}");
	assert_string_equal(F.ctype, "application/json");
	kube_free(k);
	fake_stop();
}

static void expect_error(const char *cluster_extra, const char *user, const char *needle)
{
	char err[512] = "";
	write_kubeconfig("https://127.0.0.1:1", cluster_extra, user);
	struct kube *k = kube_from_kubeconfig(err, sizeof err);
	assert_null(k);
	if (!strstr(err, needle))
		fail_msg("error [%s] does not contain [%s]", err, needle);
}

static void test_kubeconfig_errors(void **st)
{
	char err[512];
	expect_error("", "    exec: {command: aws}\n", "exec is not supported");
	expect_error("", "    client-certificate-data: QUJD\n", "a client certificate needs its key");
	expect_error("", "    tokenFile: nope\n", "cannot read");
	expect_error("    certificate-authority: missing.crt\n", "    token: t\n", "missing.crt");
	expect_error("    certificate-authority-data: '!!!'\n", "    token: t\n", "not base64");
	expect_error("    tls-server-name: kubernetes\n", "    token: t\n", "tls-server-name is not supported");

	write_file("kubeconfig", "apiVersion: v1\nkind: Config\nclusters: []\n");
	struct kube_opts o = { .kubeconfig = path_of("kubeconfig") };
	assert_null(kube_new(&o, err, sizeof err));
	assert_non_null(strstr(err, "no current-context"));
	write_file("kubeconfig", "current-context: nope\ncontexts: []\n");
	assert_null(kube_new(&o, err, sizeof err));
	assert_non_null(strstr(err, "context \"nope\" not found"));
	write_file("kubeconfig", "current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
				 "clusters: [{name: k, cluster: {server: ftp://x}}]\n");
	assert_null(kube_new(&o, err, sizeof err));
	assert_non_null(strstr(err, "https://"));
	o.kubeconfig = path_of("does-not-exist");
	assert_null(kube_new(&o, err, sizeof err));
	assert_non_null(strstr(err, "does-not-exist"));
}

/* tokenFile is relative to the kubeconfig, re-read after a 401 and when old */
static void test_token_file(void **st)
{
	char err[512], url[64];
	fake_start(false);
	write_file("token", "old\n");
	snprintf(url, sizeof url, "http://127.0.0.1:%d", F.port);
	write_kubeconfig(url, "", "    tokenFile: token\n");
	struct kube_opts o = { .kubeconfig = path_of("kubeconfig"), .backoff_ms = 10, .token_refresh_ms = 60000 };
	struct kube *k = kube_new(&o, err, sizeof err);
	assert_non_null(k);
	cJSON *j = NULL;
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), 200);
	cJSON_Delete(j);
	assert_string_equal(F.auth, "Bearer old");

	/* rotated: the server wants the new token; one 401, a re-read, then 200 */
	write_file("token", "  new \n");
	snprintf(F.want_auth, sizeof F.want_auth, "Bearer new");
	F.nreq = 0;
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), 200);
	cJSON_Delete(j);
	assert_int_equal(F.nreq, 2);
	assert_string_equal(F.auth, "Bearer new");

	/* a wrong token stays a 401 after one re-read (no loop) */
	snprintf(F.want_auth, sizeof F.want_auth, "Bearer other");
	F.nreq = 0;
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), 401);
	cJSON_Delete(j);
	assert_int_equal(F.nreq, 2);
	kube_free(k);

	/* re-read by age, without a 401 */
	o.token_refresh_ms = 1;
	F.want_auth[0] = 0;
	write_file("token", "first");
	k = kube_new(&o, err, sizeof err);
	assert_non_null(k);
	write_file("token", "second");
	struct timespec ts = { 0, 5 * 1000000L }; /* let the 1 ms refresh period pass */
	nanosleep(&ts, NULL);
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), 200);
	cJSON_Delete(j);
	assert_string_equal(F.auth, "Bearer second");
	/* an empty file keeps the old token */
	write_file("token", "");
	nanosleep(&ts, NULL);
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), 200);
	cJSON_Delete(j);
	assert_string_equal(F.auth, "Bearer second");
	kube_free(k);
	fake_stop();
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_retries(void **st)
{
	char err[512], url[64];
	fake_start(false);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", F.port);
	write_kubeconfig(url, "", "    token: t\n");
	struct kube_opts o = { .kubeconfig = path_of("kubeconfig"), .backoff_ms = 20, .attempts = 5 };
	struct kube *k = kube_new(&o, err, sizeof err);
	assert_non_null(k);
	cJSON *j = NULL;

	F.fail_first = 2;
	F.fail_code = 500;
	int64_t t0 = now_ms();
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), 200);
	cJSON_Delete(j);
	assert_int_equal(F.nreq, 3);
	assert_true(now_ms() - t0 >= 20 + 30); /* 20 ms, then 30 ms (× 1.5) */

	F.nreq = 0;
	F.fail_first = 100;
	F.fail_code = 503;
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), 503);
	assert_string_equal(kube_status_message(j), "m503");
	cJSON_Delete(j);
	assert_int_equal(F.nreq, 5);

	F.nreq = 0;
	F.fail_first = 1;
	F.fail_code = 429;
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), 200);
	cJSON_Delete(j);
	assert_int_equal(F.nreq, 2);

	int codes[] = { 403, 404, 409, 400 };
	for (int i = 0; i < 4; i++) {
		F.nreq = 0;
		F.fail_first = 100;
		F.fail_code = codes[i];
		assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), codes[i]);
		cJSON_Delete(j);
		assert_int_equal(F.nreq, 1);
	}
	kube_free(k);
	fake_stop();

	/* nobody listens: connection errors are retried, then -1 with a message */
	write_kubeconfig(url, "", "    token: t\n");
	k = kube_new(&o, err, sizeof err);
	assert_non_null(k);
	t0 = now_ms();
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), -1);
	assert_null(j);
	assert_true(err[0] != 0);
	assert_true(now_ms() - t0 >= 20 + 30 + 45 + 67);
	kube_free(k);
}

static void test_deadline_and_cap(void **st)
{
	char err[512], url[64];
	fake_start(false);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", F.port);
	write_kubeconfig(url, "", "    token: t\n");
	struct kube_opts o = { .kubeconfig = path_of("kubeconfig"), .timeout_ms = 200, .backoff_ms = 10 };
	struct kube *k = kube_new(&o, err, sizeof err);
	assert_non_null(k);
	cJSON *j = NULL;
	F.delay_ms = 1000;
	int64_t t0 = now_ms();
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), -1);
	assert_true(now_ms() - t0 < 900);
	assert_true(err[0] != 0);
	F.delay_ms = 0;
	kube_free(k);

	o.timeout_ms = 5000;
	k = kube_new(&o, err, sizeof err);
	F.big = KUBE_MAX_BODY + 1024;
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), -1);
	assert_non_null(strstr(err, "larger than"));
	F.big = 1000;
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), 200);
	assert_non_null(j);
	cJSON_Delete(j);
	F.big = 0;
	kube_free(k);
	fake_stop();
}

struct pending {
	struct kube *k;
	int code;
	int64_t took_ms;
};

static void *call_once(void *arg)
{
	struct pending *p = arg;
	char err[512];
	cJSON *j = NULL;
	int64_t t0 = now_ms();
	p->code = kube_get_json(p->k, "/x", &j, err, sizeof err);
	p->took_ms = now_ms() - t0;
	cJSON_Delete(j);
	return NULL;
}

static int requests_seen(void)
{
	pthread_mutex_lock(&F.mu);
	int n = F.nreq;
	pthread_mutex_unlock(&F.mu);
	return n;
}

/* kube_shutdown ends a call waiting for an answer, and one sleeping between
 * retries, at once */
static void test_shutdown(void **st)
{
	char err[512], url[64];
	fake_start(false);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", F.port);
	write_kubeconfig(url, "", "    token: t\n");
	struct kube_opts o = { .kubeconfig = path_of("kubeconfig"), .timeout_ms = 20000, .backoff_ms = 10000 };
	struct kube *k = kube_new(&o, err, sizeof err);
	assert_non_null(k);
	pthread_t t;

	F.delay_ms = 3000; /* the answer comes late */
	struct pending p = { k, 0, 0 };
	pthread_create(&t, NULL, call_once, &p);
	while (requests_seen() < 1)
		sched_yield();
	kube_shutdown(k);
	pthread_join(t, NULL);
	assert_int_equal(p.code, -1);
	assert_true(p.took_ms < 2500); /* curl looks at the flag about once a second */
	kube_free(k);

	F.delay_ms = 0; /* failing answers, 10 s between attempts */
	F.nreq = 0;
	F.fail_first = 100;
	F.fail_code = 503;
	k = kube_new(&o, err, sizeof err);
	p = (struct pending){ k, 0, 0 };
	pthread_create(&t, NULL, call_once, &p);
	while (requests_seen() < 1)
		sched_yield();
	kube_shutdown(k);
	pthread_join(t, NULL);
	assert_int_equal(p.code, -1);
	assert_true(p.took_ms < 2000);
	assert_int_equal(kube_get_json(k, "/x", &(cJSON *){ NULL }, err, sizeof err), -1);
	assert_non_null(strstr(err, "shutting down"));
	assert_int_equal(requests_seen(), 1);
	kube_free(k);
	fake_stop();
}

struct worker {
	struct kube *k;
	int ok;
};

static void *hammer(void *arg)
{
	struct worker *w = arg;
	char err[512];
	for (int i = 0; i < 25; i++) {
		cJSON *j = NULL;
		if (kube_post_json(w->k, "/x", "{}", &j, err, sizeof err) == 200 && j)
			w->ok++;
		cJSON_Delete(j);
	}
	return NULL;
}

static void test_threads(void **st)
{
	char err[512], url[64];
	fake_start(false);
	snprintf(url, sizeof url, "http://127.0.0.1:%d", F.port);
	write_kubeconfig(url, "", "    token: t\n");
	struct kube *k = kube_from_kubeconfig(err, sizeof err);
	assert_non_null(k);
	pthread_t t[8];
	struct worker w[8];
	for (int i = 0; i < 8; i++) {
		w[i] = (struct worker){ k, 0 };
		pthread_create(&t[i], NULL, hammer, &w[i]);
	}
	int ok = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		ok += w[i].ok;
	}
	assert_int_equal(ok, 200);
	assert_int_equal(F.nreq, 200);
	kube_free(k);
	fake_stop();
}

/* HTTPS with certificate-authority-data and client-certificate-data */
static void test_tls_kubeconfig(void **st)
{
	char err[512], url[64], cl[8192];
	fake_start(true);
	snprintf(url, sizeof url, "https://127.0.0.1:%d", F.port);
	char *ca = b64(tls_cert); /* the leaf followed by its CA */
	char *crt = slurp(path_of("pki/front-proxy-client.crt"));
	char *key = slurp(path_of("pki/front-proxy-client.key"));
	char *crt64 = b64(crt), *key64 = b64(key);
	char extra[4096];
	snprintf(extra, sizeof extra, "    certificate-authority-data: %s\n", ca);
	snprintf(cl, sizeof cl, "    client-certificate-data: %s\n    client-key-data: %s\n", crt64, key64);
	write_kubeconfig(url, extra, cl);
	struct kube *k = kube_from_kubeconfig(err, sizeof err);
	assert_non_null(k);
	cJSON *j = NULL;
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), 200);
	cJSON_Delete(j);
	assert_int_equal(F.peers, 1);
	assert_string_equal(F.auth, "");
	kube_free(k);

	/* the same by file names, relative to the kubeconfig */
	write_file("serving-ca.crt", tls_cert);
	write_kubeconfig(url, "    certificate-authority: serving-ca.crt\n",
			 "    client-certificate: pki/front-proxy-client.crt\n    client-key: pki/front-proxy-client.key\n");
	k = kube_from_kubeconfig(err, sizeof err);
	assert_non_null(k);
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), 200);
	cJSON_Delete(j);
	assert_int_equal(F.peers, 1);
	kube_free(k);

	/* an unknown CA fails (and a TLS failure is not an HTTP status) */
	write_kubeconfig(url, "    certificate-authority: pki/ca.crt\n", "    token: t\n");
	k = kube_from_kubeconfig(err, sizeof err);
	assert_non_null(k);
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), -1);
	kube_free(k);
	/* unless verification is off */
	write_kubeconfig(url, "    insecure-skip-tls-verify: true\n", "    token: t\n");
	k = kube_from_kubeconfig(err, sizeof err);
	assert_non_null(k);
	assert_int_equal(kube_get_json(k, "/x", &j, err, sizeof err), 200);
	cJSON_Delete(j);
	kube_free(k);
	free(ca);
	free(crt);
	free(key);
	free(crt64);
	free(key64);
	fake_stop();
}

static void test_in_cluster(void **st)
{
	char err[512], port[16];
	struct kube_opts o = { .sa_dir = path_of("sa"), .backoff_ms = 10 };
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	assert_null(kube_new(&o, err, sizeof err));
	assert_non_null(strstr(err, "KUBERNETES_SERVICE_HOST"));

	fake_start(true);
	snprintf(port, sizeof port, "%d", F.port);
	setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
	mkdir(path_of("sa"), 0700);
	assert_null(kube_new(&o, err, sizeof err)); /* no token yet */
	assert_non_null(strstr(err, "sa/token"));
	write_file("sa/token", "sa-token\n");
	assert_null(kube_new(&o, err, sizeof err)); /* no ca.crt yet */
	assert_non_null(strstr(err, "ca.crt"));
	write_file("sa/ca.crt", tls_cert);
	struct kube *k = kube_new(&o, err, sizeof err);
	assert_non_null(k);
	char url[64];
	snprintf(url, sizeof url, "https://127.0.0.1:%d", F.port);
	assert_string_equal(kube_server(k), url);
	cJSON *j = NULL;
	assert_int_equal(kube_get_json(k, "/api", &j, err, sizeof err), 200);
	cJSON_Delete(j);
	assert_string_equal(F.auth, "Bearer sa-token");
	kube_free(k);

	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	k = kube_new(&o, err, sizeof err);
	assert_non_null(k);
	snprintf(url, sizeof url, "https://[fd00::1]:%d", F.port);
	assert_string_equal(kube_server(k), url);
	kube_free(k);
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
	fake_stop();
}

/* ------------------------------------------------------------------------ */
/* the cache                                                                */

static void test_cache_basics(void **st)
{
	struct kube_cache *c = kube_cache_new(64);
	char *v;
	size_t n;
	assert_int_equal(kube_cache_get(c, "k", 1, 1000, &v, &n), KUBE_CACHE_MISS);
	kube_cache_put(c, "k", 1, "value", 5, 1000, 2000);
	assert_int_equal(kube_cache_get(c, "k", 1, 1999, &v, &n), KUBE_CACHE_HIT);
	assert_int_equal(n, 5);
	assert_string_equal(v, "value");
	free(v);
	/* expired */
	assert_int_equal(kube_cache_get(c, "k", 1, 2000, &v, &n), KUBE_CACHE_MISS);
	/* an error is handed out but not kept */
	kube_cache_put(c, "k", 1, "E", 1, 2000, 2000);
	assert_int_equal(kube_cache_get(c, "k", 1, 2001, &v, &n), KUBE_CACHE_MISS);
	kube_cache_put(c, "k", 1, "x", 1, 2001, 3000);
	/* binary keys: a prefix is another key */
	assert_int_equal(kube_cache_get(c, "k\0", 2, 2002, &v, &n), KUBE_CACHE_MISS);
	kube_cache_put(c, "k\0", 2, "y", 1, 2002, 3000);
	assert_int_equal(kube_cache_size(c), 2);
	kube_cache_clear(c);
	assert_int_equal(kube_cache_size(c), 0);

	/* full: the entry closest to expiry goes */
	for (int i = 0; i < 1000; i++) {
		char key[16];
		snprintf(key, sizeof key, "key%d", i);
		assert_int_equal(kube_cache_get(c, key, strlen(key), 0, &v, &n), KUBE_CACHE_MISS);
		kube_cache_put(c, key, strlen(key), "v", 1, 0, 10000 + i);
	}
	assert_true(kube_cache_size(c) <= 64);
	assert_int_equal(kube_cache_get(c, "key999", 6, 1, &v, &n), KUBE_CACHE_HIT);
	free(v);
	kube_cache_free(c);
}

struct cache_waiter {
	struct kube_cache *c;
	enum kube_cache_result r;
	char *v;
};

static void *wait_for_value(void *arg)
{
	struct cache_waiter *w = arg;
	size_t n;
	w->r = kube_cache_get(w->c, "key", 3, 10, &w->v, &n);
	return NULL;
}

/* callers of a key being fetched wait and get the fetcher's value, even an
 * error that is not kept */
static void test_cache_single_flight(void **st)
{
	struct kube_cache *c = kube_cache_new(64);
	char *v;
	size_t n;
	assert_int_equal(kube_cache_get(c, "key", 3, 10, &v, &n), KUBE_CACHE_MISS);
	pthread_t t[4];
	struct cache_waiter w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct cache_waiter){ c, KUBE_CACHE_MISS, NULL };
		pthread_create(&t[i], NULL, wait_for_value, &w[i]);
	}
	while (kube_cache_waiting(c) < 4)
		sched_yield();
	kube_cache_put(c, "key", 3, "Eboom", 5, 10, 10);
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].r, KUBE_CACHE_HIT);
		assert_string_equal(w[i].v, "Eboom");
		free(w[i].v);
	}
	assert_int_equal(kube_cache_waiting(c), 0);
	/* not kept: the next caller fetches */
	assert_int_equal(kube_cache_get(c, "key", 3, 11, &v, &n), KUBE_CACHE_MISS);
	kube_cache_put(c, "key", 3, "ok", 2, 11, 100);
	assert_int_equal(kube_cache_get(c, "key", 3, 12, &v, &n), KUBE_CACHE_HIT);
	free(v);
	kube_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kubeconfig_token),
		cmocka_unit_test(test_kubeconfig_errors),
		cmocka_unit_test(test_token_file),
		cmocka_unit_test(test_retries),
		cmocka_unit_test(test_deadline_and_cap),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_shutdown),
		cmocka_unit_test(test_tls_kubeconfig),
		cmocka_unit_test(test_in_cluster),
		cmocka_unit_test(test_cache_basics),
		cmocka_unit_test(test_cache_single_flight),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
