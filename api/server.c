/*
 * server.c — libmicrohttpd glue: TLS credentials, request parsing, replies.
 */
#include "server.h"

#include "log.h"
#include "routes.h"
#include "runtime.h"
#include "selfmetrics.h"

#include <errno.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* TLS 1.3 and TLS 1.2 with ECDHE and AEAD ciphers only. */
static const char TLS_PRIORITIES[] =
	"SECURE256:+SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+AES-256-GCM:+AES-128-GCM:"
	"+CHACHA20-POLY1305:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE";

#define MAX_CHAIN 8
#define MAX_GENERATIONS 64

/* One loaded certificate chain and key. Never freed while the server runs
 * (a handshake may still point at it); reloads are rare. */
struct creds {
	gnutls_pcert_st pcert[MAX_CHAIN];
	unsigned int npcert;
	gnutls_privkey_t key;
};

struct server {
	struct MHD_Daemon *d;
	int port;
	char cert_file[4096], key_file[4096];
	struct stat cert_st, key_st;
	_Atomic(struct creds *) cur;
	struct creds *gens[MAX_GENERATIONS];
	int ngens;
	pthread_mutex_t mu;
	atomic_int open_conns;
	atomic_int handling;        /* requests whose handler runs (auth, a first fetch) */
	struct authz *auth;
	char *trust;                /* MHD_OPTION_HTTPS_MEM_TRUST: makes MHD request client certificates */
};

static struct server *the_server; /* the cert callback has no closure argument */

static void creds_free(struct creds *c)
{
	if (!c)
		return;
	for (unsigned i = 0; i < c->npcert; i++)
		gnutls_pcert_deinit(&c->pcert[i]);
	if (c->key)
		gnutls_privkey_deinit(c->key);
	free(c);
}

static struct creds *creds_load(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	gnutls_datum_t cd = { 0 }, kd = { 0 };
	struct creds *c = calloc(1, sizeof *c);
	int rc;
	if (!c)
		return NULL;
	rc = gnutls_load_file(cert_file, &cd);
	if (rc < 0) {
		snprintf(err, errlen, "cannot read '%s': %s", cert_file, gnutls_strerror(rc));
		goto fail;
	}
	rc = gnutls_load_file(key_file, &kd);
	if (rc < 0) {
		snprintf(err, errlen, "cannot read '%s': %s", key_file, gnutls_strerror(rc));
		goto fail;
	}
	c->npcert = MAX_CHAIN;
	rc = gnutls_pcert_list_import_x509_raw(c->pcert, &c->npcert, &cd, GNUTLS_X509_FMT_PEM, 0);
	if (rc < 0 || c->npcert == 0) {
		c->npcert = 0;
		snprintf(err, errlen, "'%s': no usable certificate: %s", cert_file, gnutls_strerror(rc));
		goto fail;
	}
	gnutls_privkey_init(&c->key);
	rc = gnutls_privkey_import_x509_raw(c->key, &kd, GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc < 0) {
		snprintf(err, errlen, "'%s': no usable private key: %s", key_file, gnutls_strerror(rc));
		goto fail;
	}
	/* the key must belong to the leaf */
	gnutls_pubkey_t pub;
	gnutls_pubkey_init(&pub);
	rc = gnutls_pubkey_import_privkey(pub, c->key, 0, 0);
	gnutls_datum_t a = { 0 }, b = { 0 };
	int same = 0;
	if (rc >= 0 && gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &a) >= 0 &&
	    gnutls_pubkey_export2(c->pcert[0].pubkey, GNUTLS_X509_FMT_DER, &b) >= 0)
		same = a.size == b.size && !memcmp(a.data, b.data, a.size);
	gnutls_free(a.data);
	gnutls_free(b.data);
	gnutls_pubkey_deinit(pub);
	if (!same) {
		snprintf(err, errlen, "'%s' does not match the certificate in '%s'", key_file, cert_file);
		goto fail;
	}
	gnutls_free(cd.data);
	gnutls_free(kd.data);
	return c;
fail:
	gnutls_free(cd.data);
	if (kd.data) {
		memset(kd.data, 0, kd.size);
		gnutls_free(kd.data);
	}
	creds_free(c);
	return NULL;
}

static int cert_callback(gnutls_session_t session, const gnutls_datum_t *req_ca_dn, int nreqs,
			 const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length, gnutls_pcert_st **pcert,
			 unsigned int *pcert_length, gnutls_privkey_t *pkey)
{
	struct creds *c = atomic_load(&the_server->cur);
	*pcert = c->pcert;
	*pcert_length = c->npcert;
	*pkey = c->key;
	return 0;
}

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int server_reload_cert(struct server *s, char *err, size_t errlen)
{
	struct stat cs, ks;
	if (stat(s->cert_file, &cs) || stat(s->key_file, &ks)) {
		snprintf(err, errlen, "cannot stat the serving certificate: %s", strerror(errno));
		return -1;
	}
	if (same_file(&cs, &s->cert_st) && same_file(&ks, &s->key_st))
		return 0;
	struct creds *c = creds_load(s->cert_file, s->key_file, err, errlen);
	if (!c)
		return -1;
	pthread_mutex_lock(&s->mu);
	if (s->ngens == MAX_GENERATIONS) {
		/* the oldest generation is long out of any handshake */
		creds_free(s->gens[0]);
		memmove(s->gens, s->gens + 1, sizeof s->gens[0] * (MAX_GENERATIONS - 1));
		s->ngens--;
	}
	s->gens[s->ngens++] = c;
	atomic_store(&s->cur, c);
	s->cert_st = cs;
	s->key_st = ks;
	pthread_mutex_unlock(&s->mu);
	return 1;
}

/* ------------------------------------------------------------------------ */
/* requests                                                                 */

struct arg_scan {
	const char *selector;
	const char *bad;
	bool dup;
};

static const char *const allowed_params[] = {
	"labelSelector", "timeout", "resourceVersion", "resourceVersionMatch", "limit", "continue",
	"fieldSelector", "allowWatchBookmarks", "timeoutSeconds", "pretty", NULL,
};

static enum MHD_Result sum_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	size_t *total = cls;
	*total += strlen(key) + (value ? strlen(value) : 0) + 4;
	return MHD_YES;
}

static enum MHD_Result scan_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct arg_scan *a = cls;
	if (!strcmp(key, "labelSelector")) {
		if (a->selector && !a->bad) {
			a->bad = key;
			a->dup = true;
		}
		a->selector = value ? value : "";
		return MHD_YES;
	}
	for (size_t i = 0; allowed_params[i]; i++)
		if (!strcmp(key, allowed_params[i]))
			return MHD_YES;
	if (!a->bad)
		a->bad = key;
	return MHD_YES;
}

/* auth_input callbacks over a libmicrohttpd connection */
struct header_walk {
	auth_visit_fn visit;
	void *vctx;
};

static enum MHD_Result walk_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_walk *w = cls;
	w->visit(w->vctx, key, value ? value : "");
	return MHD_YES;
}

static void auth_headers(void *ctx, auth_visit_fn visit, void *vctx)
{
	struct header_walk w = { visit, vctx };
	MHD_get_connection_values(ctx, MHD_HEADER_KIND, walk_header, &w);
}

static const char *auth_arg(void *ctx, const char *name)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

/* Runs the delegated-auth gate; the peer's certificates come from the TLS
 * session (verified per request by authn, never by the handshake). */
static void gate(struct server *s, struct MHD_Connection *conn, const char *url, const char *method,
		 struct auth_result *ar)
{
	struct auth_der der[8];
	size_t nder = 0;
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
	if (ci && ci->tls_session) {
		unsigned int n = 0;
		const gnutls_datum_t *peers = gnutls_certificate_get_peers((gnutls_session_t)ci->tls_session, &n);
		for (unsigned int i = 0; peers && i < n && i < 8; i++)
			der[nder++] = (struct auth_der){ peers[i].data, peers[i].size };
	}
	struct auth_input in = {
		.method = method,
		.path = url,
		.peer_certs = der,
		.npeer_certs = nder,
		.ctx = conn,
		.headers = auth_headers,
		.arg = auth_arg,
	};
	authz_request(s->auth, &in, ar);
}

static double mono_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size, void **con_cls)
{
	static int marker;
	/* The first call only has the headers: answering then makes libmicrohttpd
	 * close the connection (it cannot know the body was read), so the answer
	 * waits for the final call. A body, which no route takes, is discarded
	 * (libmicrohttpd caps it by the connection's memory limit). */
	if (*con_cls == NULL) {
		*con_cls = &marker;
		return MHD_YES;
	}
	if (*upload_data_size) {
		*upload_data_size = 0;
		return MHD_YES;
	}
	double t0 = mono_seconds();
	atomic_fetch_add(&((struct server *)cls)->handling, 1);

	struct arg_scan args = { 0 };
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, scan_arg, &args);
	size_t header_bytes = 0;
	MHD_get_connection_values(conn, MHD_HEADER_KIND, sum_header, &header_bytes);
	struct request rq = {
		.method = method,
		.path = url,
		.url_len = strlen(url),
		.label_selector = args.selector,
		.bad_param = args.bad,
		.bad_param_dup = args.dup,
		.header_bytes = header_bytes,
		.now_ms = now_ms(),
	};
	if (args.selector)
		rq.url_len += strlen(args.selector);
	struct reply rp;
	struct server *s = cls;
	struct auth_result ar = { 0 };
	if (s->auth)
		gate(s, conn, url, method, &ar);
	if (ar.code) {
		rp = (struct reply){ .code = ar.code, .content_type = "application/json", .body = ar.body, .pc = PC_OTHER };
		buf_init(&ar.body, 0); /* moved into rp */
		if (ar.code != 403 || log_enabled(LOG_DEBUG))
			LOGW("request refused", LF_S("method", method), LF_S("path", url), LF_I("code", ar.code),
			     LF_S("user", ar.user), LF_S("why", ar.why));
	} else {
		routes_handle(&rq, &rp);
	}
	authz_result_release(&ar);
	atomic_fetch_sub(&s->handling, 1);

	size_t len;
	char *body = buf_detach(&rp.body, &len);
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(len, body ? body : (void *)"", body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rp.content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache, private");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (rp.code == 405)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET");
	enum MHD_Result r = MHD_queue_response(conn, (unsigned)rp.code, resp);
	MHD_destroy_response(resp);
	double dt = mono_seconds() - t0;
	selfmetrics_request(rp.pc, rp.code, dt);
	if (log_enabled(LOG_DEBUG)) {
		const char *audit = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Audit-ID");
		LOGD("request", LF_S("method", method), LF_S("path", url), LF_I("code", rp.code),
		     LF_D("seconds", dt), LF_S("auditID", audit ? audit : ""));
	}
	return r;
}

static void on_conn(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	struct server *s = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		atomic_fetch_add(&s->open_conns, 1);
		/* the answer goes out as several TLS records: without NODELAY, Nagle's
		 * algorithm holds the last one back until the client's delayed ACK */
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci) {
			int one = 1;
			setsockopt(ci->connect_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		}
	}
	else
		atomic_fetch_sub(&s->open_conns, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = 0;
	LOGD("libmicrohttpd", LF_S("detail", msg));
}

struct server *server_start(const struct server_opts *o, char *err, size_t errlen)
{
	if (the_server) {
		snprintf(err, errlen, "a server is already running");
		return NULL;
	}
	struct server *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	pthread_mutex_init(&s->mu, NULL);
	snprintf(s->cert_file, sizeof s->cert_file, "%s", o->cert_file);
	snprintf(s->key_file, sizeof s->key_file, "%s", o->key_file);
	if (server_reload_cert(s, err, errlen) < 0)
		goto fail;
	s->auth = o->auth;
	if (o->auth) {
		gnutls_datum_t pem = { 0 };
		if (o->client_ca_pem)
			s->trust = strdup(o->client_ca_pem);
		else if (gnutls_load_file(o->cert_file, &pem) >= 0)
			s->trust = strndup((const char *)pem.data, pem.size);
		gnutls_free(pem.data);
		if (!s->trust) {
			snprintf(err, errlen, "cannot set up client certificate requests");
			goto fail;
		}
	}
	the_server = s;

	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof ss);
	struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_TLS | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (inet_pton(AF_INET, o->bind_address, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)o->port);
	} else if (inet_pton(AF_INET6, o->bind_address, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)o->port);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "bind address '%s' is not an IP address", o->bind_address);
		goto fail;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = o->threads > 0 ? (unsigned)o->threads : (unsigned)(ncpu > 0 ? ncpu : 1);
	/* With a trust list libmicrohttpd asks every handshake for a client
	 * certificate (GNUTLS_CERT_REQUEST: optional, and not verified by the TLS
	 * layer); authn verifies it per request. The list is only the CA hint. */
	struct MHD_OptionItem trust_opt[] = {
		{ s->trust ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, 0, s->trust },
		{ MHD_OPTION_END, 0, NULL },
	};
	s->d = MHD_start_daemon(flags, (uint16_t)o->port, NULL, NULL, on_request, s,
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
				MHD_OPTION_HTTPS_CERT_CALLBACK, cert_callback,
				MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES,
				MHD_OPTION_THREAD_POOL_SIZE, threads,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)90,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
				MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)0,
				/* headers up to about twice ROUTES_MAX_HEADERS still reach the handler,
				 * which answers them with a 431 Status; beyond that libmicrohttpd
				 * answers with its own 431 page or closes the connection */
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
				MHD_OPTION_NOTIFY_CONNECTION, on_conn, s,
				MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				MHD_OPTION_ARRAY, trust_opt,
				MHD_OPTION_END);
	if (!s->d) {
		snprintf(err, errlen, "cannot listen on %s:%d (port in use, or no permission)", o->bind_address, o->port);
		goto fail;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
	s->port = di ? di->port : o->port;
	return s;
fail:
	the_server = NULL;
	free(s->trust);
	for (int i = 0; i < s->ngens; i++)
		creds_free(s->gens[i]);
	pthread_mutex_destroy(&s->mu);
	free(s);
	return NULL;
}

int server_port(const struct server *s)
{
	return s->port;
}

void server_quiesce(struct server *s)
{
	MHD_socket fd = MHD_quiesce_daemon(s->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}

void server_stop(struct server *s, long grace_ms)
{
	if (!s)
		return;
	/* Requests being handled finish within the grace: most read memory, but
	 * a new subscription's first fetch or a TokenReview on a cache miss
	 * takes seconds. Idle keep-alive connections (an HPA client keeps one)
	 * then get a moment, at most 1 s, to finish their last exchange. */
	struct timespec step = { 0, 20 * 1000000 };
	long waited = 0;
	for (; waited < grace_ms && atomic_load(&s->handling) > 0; waited += 20)
		nanosleep(&step, NULL);
	long idle = grace_ms - waited < 1000 ? grace_ms - waited : 1000;
	for (long w = 0; w < idle && atomic_load(&s->open_conns) > 0; w += 20)
		nanosleep(&step, NULL);
	MHD_stop_daemon(s->d);
	free(s->trust);
	for (int i = 0; i < s->ngens; i++)
		creds_free(s->gens[i]);
	pthread_mutex_destroy(&s->mu);
	the_server = NULL;
	free(s);
}
