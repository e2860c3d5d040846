/*
 * kube.c — the API-server client: kubeconfig / in-cluster configuration, the
 * bearer token kept fresh from its file, calls with deadline and retries,
 * and the review cache.
 */
#include "kube.h"
#include "hash.h"

#include "curlpool.h"

#include "jsonw.h"
#include "log.h"
#include "yamldoc.h"

#include "dl_curl.h"
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include "dl_crypto.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_TOKEN (64u << 10)     /* a token file larger than this is refused */

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *xstrdup(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

/* ------------------------------------------------------------------------ */
/* small files and base64                                                   */

/* Reads at most max bytes of path into a NUL-terminated malloc'd buffer.
 * Opened by path each time (a Secret volume swaps a symlink). */
static char *read_small_file(const char *path, size_t max, size_t *len, char *err, size_t errlen)
{
	err[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	size_t cap = 4096, n = 0;
	char *b = malloc(cap + 1);
	while (b) {
		if (n == cap) {
			if (cap >= max) {
				snprintf(err, errlen, "'%s' is larger than %zu bytes", path, max);
				free(b);
				b = NULL;
				break;
			}
			cap = cap * 2 > max ? max : cap * 2;
			char *nb = realloc(b, cap + 1);
			if (!nb) {
				free(b);
				b = NULL;
				break;
			}
			b = nb;
		}
		ssize_t r = read(fd, b + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
			free(b);
			b = NULL;
			break;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!b) {
		if (!*err)
			snprintf(err, errlen, "cannot read '%s': out of memory", path);
		return NULL;
	}
	b[n] = 0;
	if (len)
		*len = n;
	return b;
}

/* Decodes standard base64 (whitespace allowed) into a malloc'd buffer. */
static unsigned char *base64_decode(const char *in, size_t *outlen)
{
	size_t n = strlen(in);
	unsigned char *out = malloc(n / 4 * 3 + 4);
	if (!out)
		return NULL;
	EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
	int a = 0, b = 0;
	if (!ctx || n > INT32_MAX || EVP_DecodeUpdate(ctx, out, &a, (const unsigned char *)in, (int)n) < 0 ||
	    EVP_DecodeFinal(ctx, out + a, &b) < 0) {
		EVP_ENCODE_CTX_free(ctx);
		free(out);
		return NULL;
	}
	EVP_ENCODE_CTX_free(ctx);
	*outlen = (size_t)a + (size_t)b;
	return out;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* ------------------------------------------------------------------------ */
/* the client                                                               */

struct kube {
	char *server;                 /* "https://host:port", no trailing slash */
	char *ca_file;                /* CURLOPT_CAINFO, or NULL */
	unsigned char *ca_data;       /* CURLOPT_CAINFO_BLOB, or NULL */
	size_t ca_len;
	bool insecure;
	char *cert_file, *key_file;   /* client certificate files, or NULL */
	unsigned char *cert_data, *key_data;
	size_t cert_len, key_len;

	/* bearer token: fixed (token_path NULL) or re-read from token_path */
	pthread_mutex_t tok_mu;
	char *token;
	char *token_path;
	int64_t token_read_ms;
	long token_refresh_ms;

	long timeout_ms, backoff_ms;
	int attempts;

	struct curl_pool pool;      /* idle handles kept for reuse */

	atomic_bool stopping;          /* kube_shutdown was called */
	pthread_mutex_t stop_mu;
	pthread_cond_t stop_cv;        /* wakes the backoff sleeps */
};

/* Re-reads the token file; keeps the old token when the file is unreadable
 * or empty (client-go does the same). Called with tok_mu held. */
static int token_reload(struct kube *k, char *err, size_t errlen)
{
	size_t n = 0;
	err[0] = 0;
	char *t = read_small_file(k->token_path, MAX_TOKEN, &n, err, errlen);
	k->token_read_ms = mono_ms();
	if (!t)
		return -1;
	while (n && (t[n - 1] == '\n' || t[n - 1] == '\r' || t[n - 1] == ' ' || t[n - 1] == '\t'))
		t[--n] = 0;
	size_t skip = strspn(t, " \t\r\n");
	if (skip)
		memmove(t, t + skip, n - skip + 1);
	if (!*t) {
		snprintf(err, errlen, "token file '%s' is empty", k->token_path);
		free(t);
		return -1;
	}
	wipe_free(k->token);
	k->token = t;
	return 0;
}

/* A copy of the current token (caller wipes and frees), or NULL when the
 * client sends none. force re-reads the file first (after a 401). */
static char *token_get(struct kube *k, bool force)
{
	char err[512];
	pthread_mutex_lock(&k->tok_mu);
	if (k->token_path && (force || mono_ms() - k->token_read_ms >= k->token_refresh_ms)) {
		if (token_reload(k, err, sizeof err))
			LOGW("bearer token not re-read; the old one is used", LF_S("error", err));
	}
	char *t = xstrdup(k->token);
	pthread_mutex_unlock(&k->tok_mu);
	return t;
}

/* Resolves a kubeconfig path relative to the kubeconfig's directory. */
static char *resolve_path(const char *dir, const char *p)
{
	if (p[0] == '/' || !dir)
		return xstrdup(p);
	size_t n = strlen(dir) + strlen(p) + 2;
	char *s = malloc(n);
	if (s)
		snprintf(s, n, "%s/%s", dir, p);
	return s;
}

static const cJSON *named(const cJSON *list, const char *name, const char *field)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, list) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(it, "name");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return cJSON_GetObjectItemCaseSensitive(it, field);
	}
	return NULL;
}

/* A string field: 1 with *out set, 0 when absent, -1 when not a string. */
static int str_field(const cJSON *obj, const char *key, const char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return -1;
	*out = v->valuestring;
	return **out ? 1 : 0;
}

static int load_kubeconfig(struct kube *k, const char *path, char *err, size_t errlen)
{
	char e[512];
	cJSON *root = yamldoc_load(path, e, sizeof e);
	if (!root) {
		snprintf(err, errlen, "kubeconfig '%s': %s", path, e);
		return -1;
	}
	int rc = -1;
	char *dir = xstrdup(path);
	char *slash = dir ? strrchr(dir, '/') : NULL;
	if (slash)
		*slash = 0;
	else if (dir)
		snprintf(dir, strlen(dir) + 1, ".");

	const char *ctx_name = NULL, *cluster_name = NULL, *user_name = NULL, *s = NULL;
	if (str_field(root, "current-context", &ctx_name) <= 0) {
		snprintf(err, errlen, "kubeconfig '%s': no current-context", path);
		goto out;
	}
	const cJSON *ctx = named(cJSON_GetObjectItemCaseSensitive(root, "contexts"), ctx_name, "context");
	if (!cJSON_IsObject(ctx)) {
		snprintf(err, errlen, "kubeconfig '%s': context \"%s\" not found", path, ctx_name);
		goto out;
	}
	if (str_field(ctx, "cluster", &cluster_name) <= 0) {
		snprintf(err, errlen, "kubeconfig '%s': context \"%s\" names no cluster", path, ctx_name);
		goto out;
	}
	str_field(ctx, "user", &user_name);
	const cJSON *cl = named(cJSON_GetObjectItemCaseSensitive(root, "clusters"), cluster_name, "cluster");
	if (!cJSON_IsObject(cl)) {
		snprintf(err, errlen, "kubeconfig '%s': cluster \"%s\" not found", path, cluster_name);
		goto out;
	}
	if (str_field(cl, "server", &s) <= 0 || (strncmp(s, "https://", 8) && strncmp(s, "http://", 7))) {
		snprintf(err, errlen, "kubeconfig '%s': cluster \"%s\": server must be an https:// (or http://) URL",
			 path, cluster_name);
		goto out;
	}
	k->server = xstrdup(s);
	if (k->server) {
		size_t n = strlen(k->server);
		while (n > 8 && k->server[n - 1] == '/')
			k->server[--n] = 0;
	}
	const cJSON *ins = cJSON_GetObjectItemCaseSensitive(cl, "insecure-skip-tls-verify");
	k->insecure = cJSON_IsTrue(ins) || (cJSON_IsString(ins) && !strcmp(ins->valuestring, "true"));
	if (str_field(cl, "tls-server-name", &s) > 0) {
		snprintf(err, errlen, "kubeconfig '%s': cluster \"%s\": tls-server-name is not supported", path,
			 cluster_name);
		goto out;
	}
	if (str_field(cl, "proxy-url", &s) > 0) {
		snprintf(err, errlen, "kubeconfig '%s': cluster \"%s\": proxy-url is not supported (use HTTPS_PROXY)",
			 path, cluster_name);
		goto out;
	}
	if (str_field(cl, "certificate-authority-data", &s) > 0) {
		k->ca_data = base64_decode(s, &k->ca_len);
		if (!k->ca_data) {
			snprintf(err, errlen, "kubeconfig '%s': cluster \"%s\": certificate-authority-data is not base64",
				 path, cluster_name);
			goto out;
		}
	} else if (str_field(cl, "certificate-authority", &s) > 0) {
		k->ca_file = resolve_path(dir, s);
		if (!k->ca_file || access(k->ca_file, R_OK)) {
			snprintf(err, errlen, "kubeconfig '%s': cluster \"%s\": cannot read '%s': %s", path, cluster_name,
				 k->ca_file ? k->ca_file : s, strerror(errno));
			goto out;
		}
	}

	const cJSON *u = user_name ? named(cJSON_GetObjectItemCaseSensitive(root, "users"), user_name, "user") : NULL;
	if (user_name && !u) {
		snprintf(err, errlen, "kubeconfig '%s': user \"%s\" not found", path, user_name);
		goto out;
	}
	if (u && !cJSON_IsObject(u) && !cJSON_IsNull(u)) {
		snprintf(err, errlen, "kubeconfig '%s': user \"%s\" is not a map", path, user_name);
		goto out;
	}
	static const char *const unsupported[] = { "exec", "auth-provider", "username", "password", "as", NULL };
	for (int i = 0; u && unsupported[i]; i++) {
		if (cJSON_GetObjectItemCaseSensitive(u, unsupported[i])) {
			snprintf(err, errlen, "kubeconfig '%s': user \"%s\": %s is not supported (use a token, a tokenFile "
					      "or a client certificate)",
				 path, user_name, unsupported[i]);
			goto out;
		}
	}
	if (str_field(u, "token", &s) > 0) {
		k->token = xstrdup(s);
	} else if (str_field(u, "tokenFile", &s) > 0) {
		k->token_path = resolve_path(dir, s);
		if (!k->token_path || token_reload(k, e, sizeof e)) {
			snprintf(err, errlen, "kubeconfig '%s': user \"%s\": %s", path, user_name, e);
			goto out;
		}
	}
	const char *cd = NULL, *kd = NULL, *cf = NULL, *kf = NULL;
	str_field(u, "client-certificate-data", &cd);
	str_field(u, "client-key-data", &kd);
	str_field(u, "client-certificate", &cf);
	str_field(u, "client-key", &kf);
	if ((cd || cf) != (kd || kf)) {
		snprintf(err, errlen, "kubeconfig '%s': user \"%s\": a client certificate needs its key, and a key its "
				      "certificate",
			 path, user_name);
		goto out;
	}
	if (cd) {
		k->cert_data = base64_decode(cd, &k->cert_len);
		if (!k->cert_data) {
			snprintf(err, errlen, "kubeconfig '%s': user \"%s\": client-certificate-data is not base64", path,
				 user_name);
			goto out;
		}
	} else if (cf) {
		k->cert_file = resolve_path(dir, cf);
	}
	if (kd) {
		k->key_data = base64_decode(kd, &k->key_len);
		if (!k->key_data) {
			snprintf(err, errlen, "kubeconfig '%s': user \"%s\": client-key-data is not base64", path, user_name);
			goto out;
		}
	} else if (kf) {
		k->key_file = resolve_path(dir, kf);
	}
	const char *files[] = { k->cert_file, k->key_file };
	for (int i = 0; i < 2; i++) {
		if (files[i] && access(files[i], R_OK)) {
			snprintf(err, errlen, "kubeconfig '%s': user \"%s\": cannot read '%s': %s", path, user_name, files[i],
				 strerror(errno));
			goto out;
		}
	}
	rc = 0;
out:
	free(dir);
	cJSON_Delete(root);
	return rc;
}

static int load_in_cluster(struct kube *k, const char *sa_dir, char *err, size_t errlen)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	if (!host || !*host || !port || !*port) {
		snprintf(err, errlen, "no kubeconfig given and not running in a cluster (KUBERNETES_SERVICE_HOST and "
				      "KUBERNETES_SERVICE_PORT are not set); set auth.kubeconfig (--kubeconfig)");
		return -1;
	}
	if (strlen(host) > 255 || strlen(port) > 5 || strspn(port, "0123456789") != strlen(port)) {
		snprintf(err, errlen, "KUBERNETES_SERVICE_HOST or KUBERNETES_SERVICE_PORT is malformed");
		return -1;
	}
	char url[300];
	snprintf(url, sizeof url, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	k->server = xstrdup(url);
	size_t n = strlen(sa_dir) + 16;
	k->token_path = malloc(n);
	k->ca_file = malloc(n);
	if (!k->server || !k->token_path || !k->ca_file) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(k->token_path, n, "%s/token", sa_dir);
	snprintf(k->ca_file, n, "%s/ca.crt", sa_dir);
	char e[512];
	if (token_reload(k, e, sizeof e)) {
		snprintf(err, errlen, "in-cluster service account: %s", e);
		return -1;
	}
	if (access(k->ca_file, R_OK)) {
		snprintf(err, errlen, "in-cluster service account: cannot read '%s': %s", k->ca_file, strerror(errno));
		return -1;
	}
	return 0;
}

struct kube *kube_new(const struct kube_opts *o, char *err, size_t errlen)
{
	if (sw_curl_load(err, errlen) || sw_crypto_load(err, errlen))
		return NULL;
	struct kube *k = calloc(1, sizeof *k);
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&k->tok_mu, NULL);
	curl_pool_init(&k->pool, CURL_POOL_MAX);
	pthread_mutex_init(&k->stop_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&k->stop_cv, &ca);
	pthread_condattr_destroy(&ca);
	k->timeout_ms = o && o->timeout_ms > 0 ? o->timeout_ms : 10000;
	k->backoff_ms = o && o->backoff_ms > 0 ? o->backoff_ms : 500;
	k->attempts = o && o->attempts > 0 ? o->attempts : 5;
	k->token_refresh_ms = o && o->token_refresh_ms > 0 ? o->token_refresh_ms : 60000;
	int rc;
	if (o && o->kubeconfig && *o->kubeconfig)
		rc = load_kubeconfig(k, o->kubeconfig, err, errlen);
	else
		rc = load_in_cluster(k, o && o->sa_dir ? o->sa_dir : KUBE_DEFAULT_SA_DIR, err, errlen);
	if (rc || !k->server) {
		if (!rc)
			snprintf(err, errlen, "out of memory");
		kube_free(k);
		return NULL;
	}
	return k;
}

void kube_free(struct kube *k)
{
	if (!k)
		return;
	curl_pool_release(&k->pool);
	free(k->server);
	free(k->ca_file);
	free(k->ca_data);
	free(k->cert_file);
	free(k->key_file);
	free(k->cert_data);
	if (k->key_data) {
		explicit_bzero(k->key_data, k->key_len);
		free(k->key_data);
	}
	wipe_free(k->token);
	free(k->token_path);
	pthread_mutex_destroy(&k->tok_mu);
	pthread_mutex_destroy(&k->stop_mu);
	pthread_cond_destroy(&k->stop_cv);
	free(k);
}

void kube_shutdown(struct kube *k)
{
	pthread_mutex_lock(&k->stop_mu);
	atomic_store(&k->stopping, true);
	pthread_cond_broadcast(&k->stop_cv);
	pthread_mutex_unlock(&k->stop_mu);
}

const char *kube_server(const struct kube *k)
{
	return k->server;
}

const char *kube_status_message(const cJSON *status)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(status, "message");
	return cJSON_IsString(m) ? m->valuestring : "";
}

/* ------------------------------------------------------------------------ */
/* calls                                                                    */


static size_t on_body(char *p, size_t size, size_t n, void *cls)
{
	struct buf *b = cls;
	buf_add(b, p, size * n);
	return b->failed ? 0 : size * n;
}

static int on_progress(void *cls, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct kube *k = cls;
	return atomic_load(&k->stopping) ? 1 : 0;
}

static bool retryable(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_SSL_CONNECT_ERROR:
		return true;
	default:
		return false;
	}
}

/* One exchange. Returns the HTTP status, or -1 with *cc set and err filled. */
static long attempt(struct kube *k, CURL *h, const char *url, const char *body, const char *token, long timeout_ms,
		    struct buf *resp, CURLcode *cc, char *err, size_t errlen)
{
	char cerr[CURL_ERROR_SIZE] = "";
	struct curl_slist *hdrs = NULL;
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (body)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	char *auth = NULL;
	if (token) {
		size_t n = strlen(token) + 32;
		auth = malloc(n);
		if (auth) {
			snprintf(auth, n, "Authorization: Bearer %s", token);
			hdrs = curl_slist_append(hdrs, auth);
			explicit_bzero(auth, n);
			free(auth);
		}
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "scalewise/" SW_VERSION);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 5000 ? timeout_ms : 5000L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, k);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	}
	if (k->insecure) {
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (k->ca_data) {
		struct curl_blob blob = { k->ca_data, k->ca_len, CURL_BLOB_COPY };
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	} else if (k->ca_file) {
		curl_easy_setopt(h, CURLOPT_CAINFO, k->ca_file);
	}
	if (k->cert_data) {
		struct curl_blob blob = { k->cert_data, k->cert_len, CURL_BLOB_COPY };
		curl_easy_setopt(h, CURLOPT_SSLCERT_BLOB, &blob);
		curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
	} else if (k->cert_file) {
		curl_easy_setopt(h, CURLOPT_SSLCERT, k->cert_file);
	}
	if (k->key_data) {
		struct curl_blob blob = { k->key_data, k->key_len, CURL_BLOB_COPY };
		curl_easy_setopt(h, CURLOPT_SSLKEY_BLOB, &blob);
		curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (k->key_file) {
		curl_easy_setopt(h, CURLOPT_SSLKEY, k->key_file);
	}
	*cc = curl_easy_perform(h);
	long code = -1;
	if (*cc == CURLE_OK) {
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	} else if (*cc == CURLE_WRITE_ERROR && resp->failed) {
		snprintf(err, errlen, "the answer is larger than %u bytes", KUBE_MAX_BODY);
	} else {
		snprintf(err, errlen, "%s", cerr[0] ? cerr : curl_easy_strerror(*cc));
	}
	/* the slist holds a copy of the Authorization line: wipe it */
	for (struct curl_slist *s = hdrs; s; s = s->next)
		explicit_bzero(s->data, strlen(s->data));
	curl_slist_free_all(hdrs);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	return code;
}

/* Sleeps ms unless kube_shutdown is called meanwhile; false when it was. */
static bool backoff_sleep(struct kube *k, long ms)
{
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	int rc = 0;
	pthread_mutex_lock(&k->stop_mu);
	while (!atomic_load(&k->stopping) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&k->stop_cv, &k->stop_mu, &until);
	pthread_mutex_unlock(&k->stop_mu);
	return !atomic_load(&k->stopping);
}

static _Thread_local unsigned jitter_seed;

static int call(struct kube *k, const char *path, const char *body, cJSON **out, char *err, size_t errlen)
{
	*out = NULL;
	err[0] = 0;
	if (!path || path[0] != '/') {
		snprintf(err, errlen, "path '%s' does not start with '/'", path ? path : "");
		return -1;
	}
	size_t ulen = strlen(k->server) + strlen(path) + 1;
	char *url = malloc(ulen);
	CURL *h = curl_pool_take(&k->pool);
	if (!url || !h) {
		free(url);
		if (h)
			curl_pool_give(&k->pool, h);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(url, ulen, "%s%s", k->server, path);
	if (!jitter_seed)
		jitter_seed = (unsigned)mono_ms() ^ (unsigned)(uintptr_t)&jitter_seed;

	int64_t deadline = mono_ms() + k->timeout_ms;
	double delay = (double)k->backoff_ms;
	bool reread = false;
	long code = -1;
	struct buf resp;
	buf_init(&resp, KUBE_MAX_BODY);
	for (int n = 1;; n++) {
		long left = (long)(deadline - mono_ms());
		if (atomic_load(&k->stopping)) {
			snprintf(err, errlen, "the API client is shutting down");
			code = -1;
			break;
		}
		if (left <= 0) {
			if (!err[0])
				snprintf(err, errlen, "no answer within %ld ms", k->timeout_ms);
			code = -1;
			break;
		}
		char *token = token_get(k, false);
		CURLcode cc = CURLE_OK;
		buf_release(&resp);
		buf_init(&resp, KUBE_MAX_BODY);
		code = attempt(k, h, url, body, token, left, &resp, &cc, err, errlen);
		wipe_free(token);
		if (code == 401 && k->token_path && !reread) {
			/* the token may have been rotated under us: re-read it and retry once */
			reread = true;
			char *t = token_get(k, true);
			wipe_free(t);
			n--;
			continue;
		}
		bool again = code < 0 ? retryable(cc) : (code == 429 || code >= 500);
		if (!again || n >= k->attempts)
			break;
		double jitter = 1.0 + 0.2 * ((double)rand_r(&jitter_seed) / (double)RAND_MAX);
		long wait = (long)(delay * jitter);
		left = (long)(deadline - mono_ms());
		if (wait >= left)
			break;
		if (!backoff_sleep(k, wait)) {
			snprintf(err, errlen, "the API client is shutting down");
			code = -1;
			break;
		}
		delay *= 1.5;
	}
	if (code >= 0 && resp.len)
		*out = cJSON_ParseWithLength(resp.data, resp.len);
	if (code >= 0)
		err[0] = 0;
	buf_release(&resp);
	free(url);
	curl_pool_give(&k->pool, h);
	return (int)code;
}

int kube_get_json(struct kube *k, const char *path, cJSON **out, char *err, size_t errlen)
{
	return call(k, path, NULL, out, err, errlen);
}

int kube_post_json(struct kube *k, const char *path, const char *body, cJSON **out, char *err, size_t errlen)
{
	return call(k, path, body ? body : "", out, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* the review cache                                                         */

#define SHARDS 16
#define BUCKETS 256
#define WAIT_MS 15000

struct centry {
	struct centry *next;
	uint64_t hash;
	int64_t expires_ms;
	char *val;
	size_t vlen;
	size_t keylen;
	unsigned char key[];
};

/* A fetch in progress: the first caller fetches, later ones wait for it. */
struct flight {
	struct flight *next;
	uint64_t hash;
	bool done;
	int waiters;
	char *val;
	size_t vlen;
	size_t keylen;
	unsigned char key[];
};

struct shard {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct centry *b[BUCKETS];
	struct flight *flights;
	size_t n;
};

struct kube_cache {
	size_t max_per_shard;
	struct shard s[SHARDS];
};

struct kube_cache *kube_cache_new(size_t max_entries)
{
	struct kube_cache *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	if (max_entries < SHARDS)
		max_entries = SHARDS;
	c->max_per_shard = max_entries / SHARDS;
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&c->s[i].mu, NULL);
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&c->s[i].cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	return c;
}

static void shard_clear(struct shard *s)
{
	for (int i = 0; i < BUCKETS; i++) {
		struct centry *e = s->b[i];
		while (e) {
			struct centry *nx = e->next;
			free(e->val);
			free(e);
			e = nx;
		}
		s->b[i] = NULL;
	}
	s->n = 0;
}

void kube_cache_free(struct kube_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < SHARDS; i++) {
		shard_clear(&c->s[i]);
		struct flight *f = c->s[i].flights;
		while (f) {
			struct flight *nx = f->next;
			free(f->val);
			free(f);
			f = nx;
		}
		pthread_mutex_destroy(&c->s[i].mu);
		pthread_cond_destroy(&c->s[i].cv);
	}
	free(c);
}

void kube_cache_clear(struct kube_cache *c)
{
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&c->s[i].mu);
		shard_clear(&c->s[i]);
		pthread_mutex_unlock(&c->s[i].mu);
	}
}

size_t kube_cache_size(struct kube_cache *c)
{
	size_t n = 0;
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&c->s[i].mu);
		n += c->s[i].n;
		pthread_mutex_unlock(&c->s[i].mu);
	}
	return n;
}

size_t kube_cache_waiting(struct kube_cache *c)
{
	size_t n = 0;
	for (int i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&c->s[i].mu);
		for (struct flight *f = c->s[i].flights; f; f = f->next)
			n += (size_t)f->waiters;
		pthread_mutex_unlock(&c->s[i].mu);
	}
	return n;
}

static struct centry **centry_find(struct shard *s, uint64_t h, const void *key, size_t keylen)
{
	struct centry **pp = &s->b[(h >> 8) % BUCKETS];
	for (; *pp; pp = &(*pp)->next) {
		struct centry *e = *pp;
		if (e->hash == h && e->keylen == keylen && !memcmp(e->key, key, keylen))
			return pp;
	}
	return NULL;
}

static void centry_unlink(struct shard *s, struct centry **pp)
{
	struct centry *e = *pp;
	*pp = e->next;
	free(e->val);
	free(e);
	s->n--;
}

static char *copy_val(const char *v, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		if (n)
			memcpy(d, v, n);
		d[n] = 0;
	}
	return d;
}

enum kube_cache_result kube_cache_get(struct kube_cache *c, const void *key, size_t keylen, int64_t now_ms,
				      char **val, size_t *vlen)
{
	uint64_t h = sw_fnv1a64(key, keylen);
	struct shard *s = &c->s[h % SHARDS];
	*val = NULL;
	*vlen = 0;
	pthread_mutex_lock(&s->mu);
	struct centry **pp = centry_find(s, h, key, keylen);
	if (pp && (*pp)->expires_ms > now_ms) {
		*val = copy_val((*pp)->val, (*pp)->vlen);
		*vlen = (*pp)->vlen;
		pthread_mutex_unlock(&s->mu);
		return *val ? KUBE_CACHE_HIT : KUBE_CACHE_MISS;
	}
	if (pp)
		centry_unlink(s, pp);
	struct flight *f = s->flights;
	while (f && !(f->hash == h && f->keylen == keylen && !memcmp(f->key, key, keylen)))
		f = f->next;
	if (!f) {
		f = calloc(1, sizeof *f + keylen);
		if (f) {
			f->hash = h;
			f->keylen = keylen;
			memcpy(f->key, key, keylen);
			f->next = s->flights;
			s->flights = f;
		}
		pthread_mutex_unlock(&s->mu);
		return KUBE_CACHE_MISS;
	}
	struct timespec until;
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += WAIT_MS / 1000;
	f->waiters++;
	int rc = 0;
	while (!f->done && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&s->cv, &s->mu, &until);
	enum kube_cache_result r = KUBE_CACHE_MISS;
	if (f->done) {
		*val = copy_val(f->val, f->vlen);
		*vlen = f->vlen;
		r = *val ? KUBE_CACHE_HIT : KUBE_CACHE_MISS;
	}
	f->waiters--;
	if (f->done && f->waiters == 0) {
		/* done flights are already off the list; the last waiter frees it */
		free(f->val);
		free(f);
	}
	pthread_mutex_unlock(&s->mu);
	return r;
}

/* Makes room for one more entry: expired ones go first, then the one that
 * would expire soonest. */
static void shard_make_room(struct shard *s, size_t max, int64_t now_ms)
{
	if (s->n < max)
		return;
	struct centry **soonest = NULL;
	for (int i = 0; i < BUCKETS; i++) {
		struct centry **pp = &s->b[i];
		while (*pp) {
			if ((*pp)->expires_ms <= now_ms) {
				centry_unlink(s, pp);
				continue;
			}
			if (!soonest || (*pp)->expires_ms < (*soonest)->expires_ms)
				soonest = pp;
			pp = &(*pp)->next;
		}
	}
	if (s->n >= max && soonest)
		centry_unlink(s, soonest);
}

void kube_cache_put(struct kube_cache *c, const void *key, size_t keylen, const char *val, size_t vlen,
		    int64_t now_ms, int64_t expires_ms)
{
	uint64_t h = sw_fnv1a64(key, keylen);
	struct shard *s = &c->s[h % SHARDS];
	pthread_mutex_lock(&s->mu);
	struct flight **fp = &s->flights;
	while (*fp && !((*fp)->hash == h && (*fp)->keylen == keylen && !memcmp((*fp)->key, key, keylen)))
		fp = &(*fp)->next;
	if (*fp) {
		struct flight *f = *fp;
		*fp = f->next;
		f->next = NULL;
		f->val = copy_val(val, vlen);
		f->vlen = vlen;
		f->done = true;
		if (f->waiters == 0) {
			free(f->val);
			free(f);
		} else {
			pthread_cond_broadcast(&s->cv);
		}
	}
	if (expires_ms > now_ms) {
		struct centry **pp = centry_find(s, h, key, keylen);
		if (pp)
			centry_unlink(s, pp);
		shard_make_room(s, c->max_per_shard, now_ms);
		struct centry *e = malloc(sizeof *e + keylen);
		char *v = copy_val(val, vlen);
		if (e && v) {
			e->hash = h;
			e->expires_ms = expires_ms;
			e->val = v;
			e->vlen = vlen;
			e->keylen = keylen;
			memcpy(e->key, key, keylen);
			struct centry **head = &s->b[(h >> 8) % BUCKETS];
			e->next = *head;
			*head = e;
			s->n++;
		} else {
			free(e);
			free(v);
		}
	}
	pthread_mutex_unlock(&s->mu);
}
