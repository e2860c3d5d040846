/*
 * authn.c — request-header, TokenReview and anonymous authentication, and
 * the requestheader configuration kept current from the ConfigMap or file.
 */
#include "authn.h"

#include "jsonw.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "dl_crypto.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define CONFIGMAP_PATH "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication"
#define CONFIGMAP_NAME "kube-system/extension-apiserver-authentication"
#define TOKENREVIEW_PATH "/apis/authentication.k8s.io/v1/tokenreviews"

#define MAX_LIST_ITEMS 64        /* allowed names, header names */
#define MAX_LIST_ITEM 256
#define MAX_CA_BYTES (1u << 20)
#define MAX_CA_CERTS 1000
#define MAX_PEER_CERTS 10
#define MAX_HEADER_LINES 4096
#define MAX_GROUPS 1024
#define MAX_EXTRA_VALUES 1024
#define MAX_IDENTITY 4096        /* bytes of one user name, group, uid, extra key or value */
#define MAX_TOKEN 16384
#define CHAIN_TTL_MS 10000       /* a verified chain is re-verified at least this often */

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

static char *xstrndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ------------------------------------------------------------------------ */
/* string lists                                                             */

struct strlist {
	char **v;
	size_t n;
};

static void strlist_release(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int strlist_set(struct strlist *l, const char *const *items, size_t n)
{
	l->v = calloc(n ? n : 1, sizeof *l->v);
	l->n = 0;
	if (!l->v)
		return -1;
	for (size_t i = 0; i < n; i++) {
		l->v[i] = xstrdup(items[i]);
		if (!l->v[i])
			return -1;
		l->n++;
	}
	return 0;
}

static bool strlist_equal(const struct strlist *a, const struct strlist *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->v[i], b->v[i]))
			return false;
	return true;
}

int authn_parse_string_list(const char *s, char ***items, size_t *n)
{
	*items = NULL;
	*n = 0;
	if (!s || !*s)
		return 0;
	cJSON *j = cJSON_Parse(s);
	if (!j)
		return -1;
	if (cJSON_IsNull(j)) {
		cJSON_Delete(j);
		return 0;
	}
	int cnt = cJSON_IsArray(j) ? cJSON_GetArraySize(j) : -1;
	if (cnt < 0 || cnt > MAX_LIST_ITEMS) {
		cJSON_Delete(j);
		return -1;
	}
	char **v = calloc((size_t)cnt + 1, sizeof *v);
	if (!v) {
		cJSON_Delete(j);
		return -1;
	}
	size_t k = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, j) {
		if (!cJSON_IsString(it) || strlen(it->valuestring) > MAX_LIST_ITEM) {
			for (size_t i = 0; i < k; i++)
				free(v[i]);
			free(v);
			cJSON_Delete(j);
			return -1;
		}
		v[k] = xstrdup(it->valuestring);
		if (!v[k]) {
			for (size_t i = 0; i < k; i++)
				free(v[i]);
			free(v);
			cJSON_Delete(j);
			return -1;
		}
		k++;
	}
	cJSON_Delete(j);
	*items = v;
	*n = k;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* one generation of the requestheader configuration                        */

struct rh_config {
	X509_STORE *store;        /* NULL: request-header authentication is off */
	char *ca_pem;             /* "" when off */
	struct strlist allowed;   /* empty = any CN the CA signed */
	struct strlist user_hdrs, group_hdrs, extra_prefixes, uid_hdrs;
	uint64_t gen;
};

static void rh_free(struct rh_config *c)
{
	if (!c)
		return;
	X509_STORE_free(c->store);
	free(c->ca_pem);
	strlist_release(&c->allowed);
	strlist_release(&c->user_hdrs);
	strlist_release(&c->group_hdrs);
	strlist_release(&c->extra_prefixes);
	strlist_release(&c->uid_hdrs);
	free(c);
}

static bool rh_equal(const struct rh_config *a, const struct rh_config *b)
{
	return !strcmp(a->ca_pem, b->ca_pem) && strlist_equal(&a->allowed, &b->allowed) &&
	       strlist_equal(&a->user_hdrs, &b->user_hdrs) && strlist_equal(&a->group_hdrs, &b->group_hdrs) &&
	       strlist_equal(&a->extra_prefixes, &b->extra_prefixes) && strlist_equal(&a->uid_hdrs, &b->uid_hdrs);
}

/* A store of every certificate in a PEM bundle. */
static X509_STORE *store_from_pem(const char *pem, const char *what, char *err, size_t errlen)
{
	size_t len = strlen(pem);
	if (len > MAX_CA_BYTES) {
		snprintf(err, errlen, "%s is larger than %u bytes", what, MAX_CA_BYTES);
		return NULL;
	}
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	X509_STORE *st = X509_STORE_new();
	if (!bio || !st) {
		BIO_free(bio);
		X509_STORE_free(st);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	int n = 0;
	for (;;) {
		X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (!x)
			break;
		if (n == MAX_CA_CERTS || X509_STORE_add_cert(st, x) != 1) {
			X509_free(x);
			snprintf(err, errlen, n == MAX_CA_CERTS ? "%s holds more than 1000 certificates"
								: "%s: cannot use certificate %d",
				 what, n + 1);
			BIO_free(bio);
			X509_STORE_free(st);
			ERR_clear_error();
			return NULL;
		}
		X509_free(x);
		n++;
	}
	ERR_clear_error();
	BIO_free(bio);
	if (n == 0) {
		snprintf(err, errlen, "%s holds no PEM certificate", what);
		X509_STORE_free(st);
		return NULL;
	}
	/* like Go's x509.Verify: any certificate of the bundle is a trust anchor */
	X509_STORE_set_flags(st, X509_V_FLAG_PARTIAL_CHAIN);
	return st;
}

static const char *const default_user_hdrs[] = { "X-Remote-User" };
static const char *const default_group_hdrs[] = { "X-Remote-Group" };
static const char *const default_extra_prefixes[] = { "X-Remote-Extra-" };
static const char *const default_uid_hdrs[] = { "X-Remote-Uid" };

/* From the CA file and the configured allowed names; the header names are
 * the aggregator's fixed ones. */
static struct rh_config *rh_from_file(const char *path, const struct strlist *allowed, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	char *pem = malloc(MAX_CA_BYTES + 1);
	size_t n = pem ? fread(pem, 1, MAX_CA_BYTES + 1, f) : 0;
	fclose(f);
	if (!pem || n > MAX_CA_BYTES) {
		snprintf(err, errlen, "'%s' is larger than %u bytes", path, MAX_CA_BYTES);
		free(pem);
		return NULL;
	}
	pem[n] = 0;
	struct rh_config *c = calloc(1, sizeof *c);
	char what[300];
	snprintf(what, sizeof what, "'%.280s'", path);
	if (c)
		c->store = store_from_pem(pem, what, err, errlen);
	if (!c || !c->store) {
		if (!c)
			snprintf(err, errlen, "out of memory");
		free(pem);
		rh_free(c);
		return NULL;
	}
	c->ca_pem = pem;
	if (strlist_set(&c->allowed, (const char *const *)allowed->v, allowed->n) ||
	    strlist_set(&c->user_hdrs, default_user_hdrs, 1) || strlist_set(&c->group_hdrs, default_group_hdrs, 1) ||
	    strlist_set(&c->extra_prefixes, default_extra_prefixes, 1) || strlist_set(&c->uid_hdrs, default_uid_hdrs, 1)) {
		snprintf(err, errlen, "out of memory");
		rh_free(c);
		return NULL;
	}
	return c;
}

/* A list key of the ConfigMap: absent takes the default, present is taken as
 * it is (even "[]"). */
static int cm_list(const cJSON *data, const char *key, const char *const *def, size_t ndef, struct strlist *out,
		   char *err, size_t errlen)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(data, key);
	if (!v)
		return strlist_set(out, def, ndef);
	if (!cJSON_IsString(v) || authn_parse_string_list(v->valuestring, &out->v, &out->n)) {
		snprintf(err, errlen, "configmap '" CONFIGMAP_NAME "': %s is not a JSON array of strings", key);
		return -1;
	}
	if (!out->v)
		out->v = calloc(1, sizeof *out->v);
	return out->v ? 0 : -1;
}

static struct rh_config *rh_from_configmap(const cJSON *cm, char *err, size_t errlen)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(cm, "data");
	struct rh_config *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	const cJSON *ca = cJSON_GetObjectItemCaseSensitive(data, "requestheader-client-ca-file");
	if (ca && !cJSON_IsString(ca)) {
		snprintf(err, errlen, "configmap '" CONFIGMAP_NAME "': requestheader-client-ca-file is not a string");
		goto fail;
	}
	c->ca_pem = xstrdup(ca ? ca->valuestring : "");
	if (!c->ca_pem)
		goto fail;
	if (*c->ca_pem) {
		c->store = store_from_pem(c->ca_pem, "configmap '" CONFIGMAP_NAME "' requestheader-client-ca-file", err,
					  errlen);
		if (!c->store)
			goto fail;
	}
	if (cm_list(data, "requestheader-allowed-names", NULL, 0, &c->allowed, err, errlen) ||
	    cm_list(data, "requestheader-username-headers", default_user_hdrs, 1, &c->user_hdrs, err, errlen) ||
	    cm_list(data, "requestheader-group-headers", default_group_hdrs, 1, &c->group_hdrs, err, errlen) ||
	    cm_list(data, "requestheader-extra-headers-prefix", default_extra_prefixes, 1, &c->extra_prefixes, err,
		    errlen) ||
	    cm_list(data, "requestheader-uid-headers", NULL, 0, &c->uid_hdrs, err, errlen))
		goto fail;
	return c;
fail:
	if (!*err)
		snprintf(err, errlen, "out of memory");
	rh_free(c);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* the authenticator                                                        */

struct authn {
	struct kube *kube;
	char *ca_file;                 /* NULL: from the ConfigMap */
	struct stat ca_st;
	struct strlist static_allowed;

	pthread_rwlock_t lock;         /* guards rh; readers never block on I/O */
	struct rh_config *rh;          /* never NULL */
	atomic_uint_least64_t swaps;
	pthread_mutex_t refresh_mu;

	struct kube_cache *tokens;     /* HMAC(token) -> "Y"+user JSON | "N" | "E"+error */
	struct kube_cache *chains;     /* generation + SHA-256(chain) -> "Y" | "E"+error */
	unsigned char hmac_key[32];
	EVP_MAC_CTX *hmac_proto;       /* HMAC-SHA256 keyed with hmac_key, duplicated per request */
	long token_ttl_ms;
	long poll_ms;
	int64_t (*clock)(void);

	pthread_t poller;
	bool poller_running;
	pthread_mutex_t stop_mu;
	pthread_cond_t stop_cv;
	bool stop;
};

static bool same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Installs c when it differs from the current configuration (c is consumed).
 * 1 when swapped, 0 when the same. */
static int rh_install(struct authn *a, struct rh_config *c)
{
	pthread_rwlock_wrlock(&a->lock);
	if (a->rh && rh_equal(a->rh, c)) {
		pthread_rwlock_unlock(&a->lock);
		rh_free(c);
		return 0;
	}
	struct rh_config *old = a->rh;
	c->gen = (old ? old->gen : 0) + 1;
	a->rh = c;
	pthread_rwlock_unlock(&a->lock);
	rh_free(old);
	atomic_fetch_add(&a->swaps, 1);
	return 1;
}

/* Writes the 403 explanation: which RoleBinding is missing and how to make it. */
static void forbidden_hint(const cJSON *status, char *err, size_t errlen)
{
	const char *msg = kube_status_message(status);
	char who[300] = "";
	const char *u = strstr(msg, "User \"");
	if (u) {
		u += 6;
		const char *end = strchr(u, '"');
		if (end && (size_t)(end - u) < sizeof who) {
			memcpy(who, u, (size_t)(end - u));
			who[end - u] = 0;
		}
	}
	char subject[400];
	const char *sa = "system:serviceaccount:";
	if (!strncmp(who, sa, strlen(sa)) && strchr(who + strlen(sa), ':'))
		snprintf(subject, sizeof subject, "--serviceaccount=%s", who + strlen(sa));
	else if (*who)
		snprintf(subject, sizeof subject, "--user=%s", who);
	else
		snprintf(subject, sizeof subject, "--serviceaccount=NAMESPACE:SERVICEACCOUNT");
	snprintf(err, errlen,
		 "cannot read configmap '" CONFIGMAP_NAME "': forbidden (%.300s); the adapter's identity needs the Role "
		 "'extension-apiserver-authentication-reader' in namespace kube-system: kubectl create rolebinding -n "
		 "kube-system scalewise-auth-reader --role=extension-apiserver-authentication-reader %s "
		 "(manifests/ has it), or set auth.requestheader.clientCAFile",
		 *msg ? msg : "no message", subject);
}

/* Reads the ConfigMap: 0 with *out (NULL when it does not exist), -1 with a
 * message. */
static int read_configmap(struct authn *a, struct rh_config **out, char *err, size_t errlen)
{
	cJSON *j = NULL;
	char e[512];
	*out = NULL;
	int code = kube_get_json(a->kube, CONFIGMAP_PATH, &j, e, sizeof e);
	int rc = -1;
	if (code < 0)
		snprintf(err, errlen, "cannot read configmap '" CONFIGMAP_NAME "' from %s: %s", kube_server(a->kube), e);
	else if (code == 403)
		forbidden_hint(j, err, errlen);
	else if (code == 404)
		rc = 0;
	else if (code == 401)
		snprintf(err, errlen, "cannot read configmap '" CONFIGMAP_NAME "': %s refused the adapter's credentials "
				      "(401 Unauthorized)",
			 kube_server(a->kube));
	else if (code != 200 || !cJSON_IsObject(j))
		snprintf(err, errlen, "cannot read configmap '" CONFIGMAP_NAME "': HTTP %d: %.300s", code,
			 kube_status_message(j));
	else {
		err[0] = 0;
		*out = rh_from_configmap(j, err, errlen);
		rc = *out ? 0 : -1;
	}
	cJSON_Delete(j);
	return rc;
}

int authn_refresh(struct authn *a, char *err, size_t errlen)
{
	struct rh_config *c = NULL;
	int rc;
	err[0] = 0;
	pthread_mutex_lock(&a->refresh_mu);
	if (a->ca_file) {
		struct stat st;
		if (stat(a->ca_file, &st)) {
			snprintf(err, errlen, "cannot read '%s': %s", a->ca_file, strerror(errno));
			rc = -1;
			goto out;
		}
		if (same_stat(&st, &a->ca_st)) {
			rc = 0;
			goto out;
		}
		c = rh_from_file(a->ca_file, &a->static_allowed, err, errlen);
		if (!c) {
			rc = -1;
			goto out;
		}
		a->ca_st = st;
	} else {
		if (read_configmap(a, &c, err, errlen)) {
			rc = -1;
			goto out;
		}
		if (!c) {
			snprintf(err, errlen, "configmap '" CONFIGMAP_NAME "' not found; the last one read stays in use");
			rc = -1;
			goto out;
		}
	}
	rc = rh_install(a, c);
	if (rc > 0 && a->chains)
		kube_cache_clear(a->chains);
out:
	pthread_mutex_unlock(&a->refresh_mu);
	return rc;
}

static void *poller_main(void *arg)
{
	struct authn *a = arg;
	char err[1024];
	pthread_mutex_lock(&a->stop_mu);
	while (!a->stop) {
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += a->poll_ms / 1000;
		until.tv_nsec += (a->poll_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		int rc = 0;
		while (!a->stop && rc != ETIMEDOUT)
			rc = pthread_cond_timedwait(&a->stop_cv, &a->stop_mu, &until);
		if (a->stop)
			break;
		pthread_mutex_unlock(&a->stop_mu);
		int r = authn_refresh(a, err, sizeof err);
		if (r > 0)
			LOGI("requestheader client CA configuration changed; new requests use it",
			     LF_S("source", a->ca_file ? a->ca_file : CONFIGMAP_NAME), LF_I("generation", authn_generation(a)));
		else if (r < 0)
			LOGW("requestheader client CA not re-read; the previous one stays in use", LF_S("error", err));
		pthread_mutex_lock(&a->stop_mu);
	}
	pthread_mutex_unlock(&a->stop_mu);
	return NULL;
}

uint64_t authn_generation(struct authn *a)
{
	return atomic_load(&a->swaps);
}

/* The HMAC is keyed once: OpenSSL 3's one-shot HMAC() looks the algorithm up
 * on every call, which costs more than the rest of a cached token check. */
static int hmac_proto_init(struct authn *a)
{
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac)
		return -1;
	a->hmac_proto = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	char digest[] = "SHA256";
	OSSL_PARAM params[] = { OSSL_PARAM_construct_utf8_string("digest", digest, 0), OSSL_PARAM_construct_end() };
	if (!a->hmac_proto || !EVP_MAC_init(a->hmac_proto, a->hmac_key, sizeof a->hmac_key, params))
		return -1;
	return 0;
}

/* HMAC-SHA256 of the token under the per-process key: the cache key, so raw
 * tokens are never kept. Any thread. */
static int token_key(const struct authn *a, const char *tok, size_t tlen, unsigned char key[32])
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(a->hmac_proto);
	size_t out = 0;
	int ok = c && EVP_MAC_update(c, (const unsigned char *)tok, tlen) && EVP_MAC_final(c, key, &out, 32) &&
		 out == 32;
	EVP_MAC_CTX_free(c);
	return ok ? 0 : -1;
}

struct authn *authn_new(const struct authn_opts *o, struct kube *k, char *err, size_t errlen)
{
	if (sw_crypto_load(err, errlen))
		return NULL;
	struct authn *a = calloc(1, sizeof *a);
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	err[0] = 0;
	a->kube = k;
	a->token_ttl_ms = o->token_ttl_ms > 0 ? o->token_ttl_ms : 10000;
	a->poll_ms = o->poll_ms ? o->poll_ms : 30000;
	a->clock = o->clock_ms ? o->clock_ms : mono_ms;
	pthread_rwlock_init(&a->lock, NULL);
	pthread_mutex_init(&a->refresh_mu, NULL);
	pthread_mutex_init(&a->stop_mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&a->stop_cv, &ca);
	pthread_condattr_destroy(&ca);
	a->tokens = kube_cache_new(8192);
	a->chains = kube_cache_new(1024);
	if (!a->tokens || !a->chains || RAND_bytes(a->hmac_key, sizeof a->hmac_key) != 1 ||
	    strlist_set(&a->static_allowed, o->allowed_names, o->nallowed_names) || hmac_proto_init(a)) {
		snprintf(err, errlen, "out of memory or no random bytes for the token cache key");
		authn_free(a);
		return NULL;
	}
	struct rh_config *c = NULL;
	if (o->client_ca_file && *o->client_ca_file) {
		a->ca_file = xstrdup(o->client_ca_file);
		if (!a->ca_file || stat(a->ca_file, &a->ca_st)) {
			snprintf(err, errlen, "auth.requestheader.clientCAFile: cannot read '%s': %s", o->client_ca_file,
				 strerror(errno));
			authn_free(a);
			return NULL;
		}
		c = rh_from_file(a->ca_file, &a->static_allowed, err, errlen);
		if (!c) {
			char e[1024];
			snprintf(e, sizeof e, "auth.requestheader.clientCAFile: %s", err);
			snprintf(err, errlen, "%s", e);
			authn_free(a);
			return NULL;
		}
	} else {
		if (!k) {
			snprintf(err, errlen, "no requestheader client CA file and no API server to read configmap '"
					      CONFIGMAP_NAME "' from");
			authn_free(a);
			return NULL;
		}
		if (read_configmap(a, &c, err, errlen)) {
			authn_free(a);
			return NULL;
		}
		if (!c) {
			LOGW("configmap '" CONFIGMAP_NAME "' not found: front-proxy (aggregator) requests cannot be "
			     "authenticated until it exists",
			     LF_S("server", kube_server(k)));
			c = rh_from_configmap(NULL, err, errlen);
			if (!c) {
				authn_free(a);
				return NULL;
			}
		} else if (!c->store) {
			LOGW("configmap '" CONFIGMAP_NAME "' has no requestheader-client-ca-file: front-proxy "
			     "(aggregator) requests cannot be authenticated; is the aggregation layer enabled?",
			     LF_S("server", kube_server(k)));
		}
	}
	rh_install(a, c);
	atomic_store(&a->swaps, 0);
	if (a->poll_ms > 0) {
		if (pthread_create(&a->poller, NULL, poller_main, a)) {
			snprintf(err, errlen, "cannot start the requestheader poller thread");
			authn_free(a);
			return NULL;
		}
		a->poller_running = true;
	}
	return a;
}

void authn_free(struct authn *a)
{
	if (!a)
		return;
	if (a->poller_running) {
		pthread_mutex_lock(&a->stop_mu);
		a->stop = true;
		pthread_cond_broadcast(&a->stop_cv);
		pthread_mutex_unlock(&a->stop_mu);
		pthread_join(a->poller, NULL);
	}
	rh_free(a->rh);
	kube_cache_free(a->tokens);
	kube_cache_free(a->chains);
	strlist_release(&a->static_allowed);
	free(a->ca_file);
	OPENSSL_cleanse(a->hmac_key, sizeof a->hmac_key);
	EVP_MAC_CTX_free(a->hmac_proto);
	pthread_rwlock_destroy(&a->lock);
	pthread_mutex_destroy(&a->refresh_mu);
	pthread_mutex_destroy(&a->stop_mu);
	pthread_cond_destroy(&a->stop_cv);
	free(a);
}

char *authn_client_ca_pem(struct authn *a)
{
	pthread_rwlock_rdlock(&a->lock);
	char *p = a->rh->store ? xstrdup(a->rh->ca_pem) : NULL;
	pthread_rwlock_unlock(&a->lock);
	return p;
}

/* ------------------------------------------------------------------------ */
/* users                                                                    */

void auth_user_release(struct auth_user *u)
{
	if (!u)
		return;
	free(u->name);
	free(u->uid);
	for (size_t i = 0; i < u->ngroups; i++)
		free(u->groups[i]);
	free(u->groups);
	for (size_t i = 0; i < u->nextra; i++) {
		free(u->extra[i].key);
		for (size_t j = 0; j < u->extra[i].nvalues; j++)
			free(u->extra[i].values[j]);
		free(u->extra[i].values);
	}
	free(u->extra);
	memset(u, 0, sizeof *u);
}

bool auth_user_in_group(const struct auth_user *u, const char *g)
{
	for (size_t i = 0; i < u->ngroups; i++)
		if (!strcmp(u->groups[i], g))
			return true;
	return false;
}

static int user_add_group(struct auth_user *u, const char *g, size_t n)
{
	if (u->ngroups >= MAX_GROUPS || n > MAX_IDENTITY)
		return -1;
	char **ng = realloc(u->groups, (u->ngroups + 1) * sizeof *ng);
	if (!ng)
		return -1;
	u->groups = ng;
	u->groups[u->ngroups] = xstrndup(g, n);
	if (!u->groups[u->ngroups])
		return -1;
	u->ngroups++;
	return 0;
}

static int user_add_extra(struct auth_user *u, const char *key, size_t klen, const char *val, size_t vlen,
			  size_t *total)
{
	if (++*total > MAX_EXTRA_VALUES || klen > MAX_IDENTITY || vlen > MAX_IDENTITY)
		return -1;
	struct auth_extra *e = NULL;
	for (size_t i = 0; i < u->nextra; i++)
		if (strlen(u->extra[i].key) == klen && !memcmp(u->extra[i].key, key, klen))
			e = &u->extra[i];
	if (!e) {
		struct auth_extra *ne = realloc(u->extra, (u->nextra + 1) * sizeof *ne);
		if (!ne)
			return -1;
		u->extra = ne;
		e = &u->extra[u->nextra];
		memset(e, 0, sizeof *e);
		e->key = xstrndup(key, klen);
		if (!e->key)
			return -1;
		u->nextra++;
	}
	char **nv = realloc(e->values, (e->nvalues + 1) * sizeof *nv);
	if (!nv)
		return -1;
	e->values = nv;
	e->values[e->nvalues] = xstrndup(val, vlen);
	if (!e->values[e->nvalues])
		return -1;
	e->nvalues++;
	return 0;
}

static int extra_cmp(const void *x, const void *y)
{
	return strcmp(((const struct auth_extra *)x)->key, ((const struct auth_extra *)y)->key);
}

/* Adds system:authenticated unless the user is anonymous or already in
 * system:authenticated or system:unauthenticated (authenticated_group_adder.go). */
static int add_authenticated_group(struct auth_user *u)
{
	if (!strcmp(u->name, "system:anonymous") || auth_user_in_group(u, "system:authenticated") ||
	    auth_user_in_group(u, "system:unauthenticated"))
		return 0;
	return user_add_group(u, "system:authenticated", strlen("system:authenticated"));
}

static int set_anonymous(struct auth_user *u)
{
	memset(u, 0, sizeof *u);
	u->name = xstrdup("system:anonymous");
	u->uid = xstrdup("");
	if (!u->name || !u->uid || user_add_group(u, "system:unauthenticated", strlen("system:unauthenticated"))) {
		auth_user_release(u);
		return -1;
	}
	return 0;
}

/* A TokenReview status.user object into u. */
static int user_from_json(const cJSON *j, struct auth_user *u)
{
	memset(u, 0, sizeof *u);
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "username");
	const cJSON *uid = cJSON_GetObjectItemCaseSensitive(j, "uid");
	if (!cJSON_IsString(name) || !*name->valuestring || strlen(name->valuestring) > MAX_IDENTITY)
		return -1;
	u->name = xstrdup(name->valuestring);
	u->uid = xstrdup(cJSON_IsString(uid) && strlen(uid->valuestring) <= MAX_IDENTITY ? uid->valuestring : "");
	if (!u->name || !u->uid)
		goto fail;
	const cJSON *it;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(j, "groups")) {
		if (!cJSON_IsString(it) || user_add_group(u, it->valuestring, strlen(it->valuestring)))
			goto fail;
	}
	size_t total = 0;
	const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "extra");
	if (!cJSON_IsObject(ex))
		ex = NULL;
	cJSON_ArrayForEach(it, ex) {
		const cJSON *v;
		cJSON_ArrayForEach(v, it) {
			if (!cJSON_IsString(v) || user_add_extra(u, it->string, strlen(it->string), v->valuestring,
								 strlen(v->valuestring), &total))
				goto fail;
		}
	}
	if (u->nextra > 1)
		qsort(u->extra, u->nextra, sizeof *u->extra, extra_cmp);
	return 0;
fail:
	auth_user_release(u);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* request headers                                                          */

struct hdr {
	const char *name;
	const char *value;
};

struct hdrs {
	struct hdr small[48];
	struct hdr *v;
	size_t n, cap;
	bool over;
};

static void hdrs_visit(void *vctx, const char *name, const char *value)
{
	struct hdrs *h = vctx;
	if (h->over || !name)
		return;
	if (h->n == h->cap) {
		if (h->cap >= MAX_HEADER_LINES) {
			h->over = true;
			return;
		}
		size_t nc = h->cap * 2;
		struct hdr *nv = malloc(nc * sizeof *nv);
		if (!nv) {
			h->over = true;
			return;
		}
		memcpy(nv, h->v, h->n * sizeof *nv);
		if (h->v != h->small)
			free(h->v);
		h->v = nv;
		h->cap = nc;
	}
	h->v[h->n].name = name;
	h->v[h->n].value = value ? value : "";
	h->n++;
}

static void hdrs_collect(struct hdrs *h, const struct auth_input *in)
{
	h->v = h->small;
	h->n = 0;
	h->cap = sizeof h->small / sizeof h->small[0];
	h->over = false;
	if (in->headers)
		in->headers(in->ctx, hdrs_visit, h);
}

static void hdrs_release(struct hdrs *h)
{
	if (h->v != h->small)
		free(h->v);
}

/* The first line of header name (Go's Header.Get), or NULL. */
static const char *hdr_first(const struct hdrs *h, const char *name)
{
	for (size_t i = 0; i < h->n; i++)
		if (!strcasecmp(h->v[i].name, name))
			return h->v[i].value;
	return NULL;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Lower-cases then percent-decodes an extra key like Go's url.PathUnescape
 * (key ≤ MAX_IDENTITY bytes); on a malformed escape, or an escaped NUL, the
 * lower-cased key is kept as it is. */
static size_t extra_key(const char *raw, char *out)
{
	size_t n = strlen(raw), o = 0;
	char low[MAX_IDENTITY + 1];
	for (size_t i = 0; i < n; i++)
		low[i] = (char)tolower((unsigned char)raw[i]);
	low[n] = 0;
	for (size_t i = 0; i < n; i++) {
		if (low[i] != '%') {
			out[o++] = low[i];
			continue;
		}
		if (i + 2 >= n)
			goto keep;
		int hi = hexval((unsigned char)low[i + 1]), lo = hexval((unsigned char)low[i + 2]);
		if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
			goto keep;
		out[o++] = (char)(hi * 16 + lo);
		i += 2;
	}
	out[o] = 0;
	return o;
keep:
	memcpy(out, low, n + 1);
	return n;
}

/* Builds the user from the identity headers of a verified front proxy.
 * 1 with *u, 0 when no username header is set (not authenticated by this
 * method), -1 when over the caps. */
static int rh_user(const struct rh_config *c, const struct hdrs *h, struct auth_user *u)
{
	memset(u, 0, sizeof *u);
	const char *name = NULL, *uid = NULL;
	for (size_t i = 0; i < c->user_hdrs.n && !name; i++) {
		const char *v = hdr_first(h, c->user_hdrs.v[i]);
		if (v && *v)
			name = v;
	}
	if (!name)
		return 0;
	for (size_t i = 0; i < c->uid_hdrs.n && !uid; i++) {
		const char *v = hdr_first(h, c->uid_hdrs.v[i]);
		if (v && *v)
			uid = v;
	}
	if (strlen(name) > MAX_IDENTITY || (uid && strlen(uid) > MAX_IDENTITY))
		return -1;
	u->name = xstrdup(name);
	u->uid = xstrdup(uid ? uid : "");
	if (!u->name || !u->uid)
		goto fail;
	for (size_t g = 0; g < c->group_hdrs.n; g++)
		for (size_t i = 0; i < h->n; i++)
			if (!strcasecmp(h->v[i].name, c->group_hdrs.v[g]) && *h->v[i].value &&
			    user_add_group(u, h->v[i].value, strlen(h->v[i].value)))
				goto fail;
	size_t total = 0;
	char key[MAX_IDENTITY + 1];
	for (size_t p = 0; p < c->extra_prefixes.n; p++) {
		const char *pre = c->extra_prefixes.v[p];
		size_t pl = strlen(pre);
		for (size_t i = 0; i < h->n; i++) {
			if (strncasecmp(h->v[i].name, pre, pl))
				continue;
			if (strlen(h->v[i].name + pl) > MAX_IDENTITY)
				goto fail;
			size_t kl = extra_key(h->v[i].name + pl, key);
			if (user_add_extra(u, key, kl, h->v[i].value, strlen(h->v[i].value), &total))
				goto fail;
		}
	}
	if (u->nextra > 1)
		qsort(u->extra, u->nextra, sizeof *u->extra, extra_cmp);
	return 1;
fail:
	auth_user_release(u);
	return -1;
}

/* ------------------------------------------------------------------------ */
/* client certificate verification                                          */

static void subject_cn(X509 *x, char *out, size_t outlen)
{
	out[0] = 0;
	X509_NAME *nm = X509_get_subject_name(x);
	int last = -1;
	for (int idx = X509_NAME_get_index_by_NID(nm, NID_commonName, -1); idx >= 0;
	     idx = X509_NAME_get_index_by_NID(nm, NID_commonName, idx))
		last = idx;
	if (last < 0)
		return;
	unsigned char *utf8 = NULL;
	int n = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(nm, last)));
	if (n >= 0 && !memchr(utf8, 0, (size_t)n))
		snprintf(out, outlen, "%.*s", n, (const char *)utf8);
	OPENSSL_free(utf8);
}

/* Verifies the peer chain against c: 0 with *valid_ms (how long the result
 * may be reused), or -1 with why. */
static int verify_chain(const struct rh_config *c, const struct auth_input *in, int64_t *valid_ms, char *why,
			size_t whylen)
{
	size_t n = in->npeer_certs < MAX_PEER_CERTS ? in->npeer_certs : MAX_PEER_CERTS;
	X509 *leaf = NULL;
	STACK_OF(X509) *inter = sk_X509_new_null();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rc = -1;
	char cn[256] = "";
	if (!inter || !ctx) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = in->peer_certs[i].data;
		if (in->peer_certs[i].len > 65536) {
			snprintf(why, whylen, "client certificate %zu is too large", i + 1);
			goto out;
		}
		X509 *x = d2i_X509(NULL, &p, (long)in->peer_certs[i].len);
		if (!x || p != in->peer_certs[i].data + in->peer_certs[i].len) {
			X509_free(x);
			snprintf(why, whylen, "client certificate %zu cannot be parsed", i + 1);
			goto out;
		}
		if (i == 0)
			leaf = x;
		else if (!sk_X509_push(inter, x)) {
			X509_free(x);
			snprintf(why, whylen, "out of memory");
			goto out;
		}
	}
	subject_cn(leaf, cn, sizeof cn);
	if (X509_STORE_CTX_init(ctx, c->store, leaf, inter) != 1 ||
	    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT) != 1) {
		snprintf(why, whylen, "cannot set up certificate verification");
		goto out;
	}
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		bool unknown = e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY || e == X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT ||
			       e == X509_V_ERR_CERT_SIGNATURE_FAILURE || e == X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE ||
			       e == X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT || e == X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN;
		snprintf(why, whylen,
			 "client certificate \"CN=%s\": verifying against the requestheader client CA: %s%s%s%s", cn,
			 unknown ? "certificate signed by unknown authority" : "", unknown ? " (" : "",
			 X509_verify_cert_error_string(e), unknown ? ")" : "");
		goto out;
	}
	/* stricter than Go, which takes a certificate without extended key usage
	 * as good for any use: a front-proxy certificate must say clientAuth */
	if (!(X509_get_extension_flags(leaf) & EXFLAG_XKUSAGE) || !(X509_get_extended_key_usage(leaf) & XKU_SSL_CLIENT)) {
		snprintf(why, whylen, "client certificate \"CN=%s\" is not for client authentication (extended key usage)",
			 cn);
		goto out;
	}
	if (c->allowed.n) {
		bool ok = false;
		for (size_t i = 0; i < c->allowed.n && !ok; i++)
			ok = !strcmp(c->allowed.v[i], cn);
		if (!ok) {
			snprintf(why, whylen, "client certificate: subject with cn=%s is not in the allowed list", cn);
			goto out;
		}
	}
	/* the result holds until the first certificate of the chain expires */
	int64_t left_s = INT64_MAX;
	STACK_OF(X509) *chain = X509_STORE_CTX_get0_chain(ctx);
	for (int i = 0; chain && i < sk_X509_num(chain); i++) {
		int days = 0, secs = 0;
		if (ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(sk_X509_value(chain, i)))) {
			int64_t s = (int64_t)days * 86400 + secs;
			if (s < left_s)
				left_s = s;
		}
	}
	*valid_ms = left_s < CHAIN_TTL_MS / 1000 ? left_s * 1000 : CHAIN_TTL_MS;
	rc = 0;
out:
	X509_STORE_CTX_free(ctx);
	X509_free(leaf);
	sk_X509_pop_free(inter, X509_free);
	ERR_clear_error();
	return rc;
}

/* The cache key of a chain under configuration generation gen; -1 when the
 * digest cannot be made (then the chain is verified without the cache). */
static int chain_key(uint64_t gen, const struct auth_input *in, unsigned char key[8 + 32])
{
	memcpy(key, &gen, 8);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int n = 0;
	int ok = md && EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1;
	for (size_t i = 0; ok && i < in->npeer_certs && i < MAX_PEER_CERTS; i++) {
		uint64_t l = in->peer_certs[i].len;
		ok = EVP_DigestUpdate(md, &l, sizeof l) == 1 &&
		     EVP_DigestUpdate(md, in->peer_certs[i].data, in->peer_certs[i].len) == 1;
	}
	ok = ok && EVP_DigestFinal_ex(md, key + 8, &n) == 1 && n == 32;
	EVP_MD_CTX_free(md);
	return ok ? 0 : -1;
}

/* Request-header authentication: 1 with *u, 0 not applicable, -1 error. */
static int auth_request_header(struct authn *a, const struct auth_input *in, const struct hdrs *h,
			       struct auth_user *u, char *why, size_t whylen)
{
	if (!in->npeer_certs || !in->peer_certs || !in->peer_certs[0].data)
		return 0;
	pthread_rwlock_rdlock(&a->lock);
	const struct rh_config *c = a->rh;
	int rc = 0;
	if (!c->store)
		goto out;
	unsigned char key[40];
	bool cached = !chain_key(c->gen, in, key);
	char *val = NULL;
	size_t vlen = 0;
	int64_t now = a->clock();
	if (cached && kube_cache_get(a->chains, key, sizeof key, now, &val, &vlen) == KUBE_CACHE_HIT) {
		if (val[0] != 'Y') {
			snprintf(why, whylen, "%s", val + 1);
			rc = -1;
		}
		free(val);
	} else {
		int64_t valid = 0;
		char e[512] = "";
		if (verify_chain(c, in, &valid, e, sizeof e)) {
			char v[520];
			snprintf(v, sizeof v, "E%s", e);
			if (cached)
				kube_cache_put(a->chains, key, sizeof key, v, strlen(v), now, now);
			snprintf(why, whylen, "%s", e);
			rc = -1;
		} else if (cached) {
			kube_cache_put(a->chains, key, sizeof key, "Y", 1, now, now + valid);
		}
	}
	if (rc == 0) {
		rc = rh_user(c, h, u);
		if (rc < 0)
			snprintf(why, whylen, "front-proxy identity headers exceed the limits");
	}
out:
	pthread_rwlock_unlock(&a->lock);
	return rc;
}

/* The token of `Authorization: Bearer T` as bearertoken.go finds it, or NULL. */
static const char *bearer(const struct hdrs *h, size_t *len)
{
	const char *v = hdr_first(h, "Authorization");
	if (!v)
		return NULL;
	while (*v == ' ' || *v == '\t')
		v++;
	const char *sp = strchr(v, ' ');
	if (!sp || sp - v != 6 || strncasecmp(v, "bearer", 6))
		return NULL;
	const char *t = sp + 1;
	size_t n = strcspn(t, " ");
	while (n && (t[n - 1] == '\t' || t[n - 1] == '\r' || t[n - 1] == '\n'))
		n--;
	if (!n)
		return NULL;
	*len = n;
	return t;
}

/* TokenReview with the cache: 1 with *u, -1 with why. */
static int auth_token(struct authn *a, const char *tok, size_t tlen, struct auth_user *u, char *why, size_t whylen)
{
	if (tlen > MAX_TOKEN) {
		snprintf(why, whylen, "bearer token longer than %d bytes", MAX_TOKEN);
		return -1;
	}
	if (!a->kube) {
		snprintf(why, whylen, "bearer tokens cannot be reviewed: no API server configured");
		return -1;
	}
	unsigned char key[32];
	if (token_key(a, tok, tlen, key)) {
		snprintf(why, whylen, "cannot hash the bearer token");
		return -1;
	}
	char *val = NULL;
	size_t vlen = 0;
	int64_t now = a->clock();
	if (kube_cache_get(a->tokens, key, sizeof key, now, &val, &vlen) != KUBE_CACHE_HIT) {
		struct buf body;
		buf_init(&body, 0);
		buf_adds(&body, "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{\"token\":");
		json_put_string(&body, tok, tlen);
		buf_adds(&body, "}}");
		cJSON *j = NULL;
		char e[512];
		int code = body.failed ? -1 : kube_post_json(a->kube, TOKENREVIEW_PATH, body.data, &j, e, sizeof e);
		if (body.data)
			OPENSSL_cleanse(body.data, body.len);
		buf_release(&body);
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
		const cJSON *error = cJSON_GetObjectItemCaseSensitive(st, "error");
		struct buf v;
		buf_init(&v, 0);
		bool keep = false;
		if (code < 0) {
			buf_addf(&v, "Etokenreview failed: %s", e);
		} else if (code < 200 || code > 299) {
			buf_addf(&v, "Etokenreview failed: HTTP %d: %.300s", code, kube_status_message(j));
		} else if (cJSON_IsString(error) && *error->valuestring) {
			buf_addf(&v, "Etoken review: %.300s", error->valuestring);
		} else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "authenticated"))) {
			char *uj = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(st, "user"));
			buf_adds(&v, "Y");
			buf_adds(&v, uj ? uj : "{}");
			free(uj);
			keep = true;
		} else {
			buf_adds(&v, "N");
			keep = true;
		}
		cJSON_Delete(j);
		if (v.failed || !v.data) {
			buf_release(&v);
			buf_init(&v, 0);
			buf_adds(&v, "Eout of memory");
			keep = false;
		}
		kube_cache_put(a->tokens, key, sizeof key, v.data, v.len, now, keep ? now + a->token_ttl_ms : now);
		val = buf_detach(&v, &vlen);
		if (!val) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		if (val[0] == 'E')
			LOGW("bearer token not reviewed", LF_S("error", val + 1));
	}
	int rc = -1;
	if (val[0] == 'Y') {
		cJSON *uj = cJSON_Parse(val + 1);
		if (uj && !user_from_json(uj, u))
			rc = 1;
		else
			snprintf(why, whylen, "tokenreview returned an unusable user");
		cJSON_Delete(uj);
	} else if (val[0] == 'N') {
		snprintf(why, whylen, "invalid bearer token");
	} else {
		snprintf(why, whylen, "%s", val + 1);
	}
	free(val);
	return rc;
}

enum authn_result authn_authenticate(struct authn *a, const struct auth_input *in, struct auth_user *u, char *why,
				     size_t whylen)
{
	struct hdrs h;
	char e1[512] = "", e2[512] = "";
	bool failed = false;
	int rc;
	memset(u, 0, sizeof *u);
	why[0] = 0;
	hdrs_collect(&h, in);
	if (h.over) {
		snprintf(why, whylen, "more than %d header lines", MAX_HEADER_LINES);
		hdrs_release(&h);
		return AUTHN_FAILED;
	}
	rc = auth_request_header(a, in, &h, u, e1, sizeof e1);
	if (rc > 0)
		goto ok;
	failed = rc < 0;
	size_t tlen = 0;
	const char *tok = bearer(&h, &tlen);
	if (tok) {
		rc = auth_token(a, tok, tlen, u, e2, sizeof e2);
		if (rc > 0)
			goto ok;
		failed = true;
	}
	hdrs_release(&h);
	if (failed) {
		snprintf(why, whylen, "%s%s%s", e1, *e1 && *e2 ? "; " : "", e2);
		return AUTHN_FAILED;
	}
	if (set_anonymous(u)) {
		snprintf(why, whylen, "out of memory");
		return AUTHN_FAILED;
	}
	return AUTHN_ANONYMOUS;
ok:
	hdrs_release(&h);
	if (add_authenticated_group(u)) {
		auth_user_release(u);
		snprintf(why, whylen, "too many groups");
		return AUTHN_FAILED;
	}
	return AUTHN_OK;
}
