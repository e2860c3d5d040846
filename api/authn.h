/*
 * authn.h — delegated authentication, as a k8s.io/apiserver-based extension
 * server does it (AGGREGATION.md §1.4, §2, §3):
 *
 *   1. request-header: when the TLS peer presented a certificate, it is
 *      verified on every request against the requestheader client CA (chain,
 *      validity, clientAuth extended key usage) and, when allowedNames is not
 *      empty, its Subject CN must be one of them exactly. Only then are the
 *      identity headers (X-Remote-User, X-Remote-Group — one line per group —,
 *      X-Remote-Extra-*, and the UID headers when configured) trusted. Without
 *      a certificate they are ignored.
 *   2. bearer token: `Authorization: Bearer T` is checked with a TokenReview;
 *      answers are cached 10 s under HMAC-SHA256(T) with a per-process key
 *      (errors are not cached). The token never reaches a log.
 *   3. otherwise anonymous: system:anonymous in system:unauthenticated.
 *   Any method that failed (bad certificate, bad token) and none succeeded:
 *   the request is refused (401), not made anonymous. Authenticated users get
 *   the group system:authenticated.
 *
 * The CA bundle, allowed names and header names come from the
 * kube-system/extension-apiserver-authentication ConfigMap unless a CA file
 * is configured; either source is re-read every poll period (30 s) and a
 * change is swapped in atomically, without a restart.
 */
#ifndef SW_AUTHN_H
#define SW_AUTHN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kube.h"

/* One certificate of the TLS peer's chain, DER. */
struct auth_der {
	const unsigned char *data;
	size_t len;
};

/* Called once per request header line by auth_input.headers. */
typedef void (*auth_visit_fn)(void *vctx, const char *name, const char *value);

/* What the authenticator and authorizer need from a request. Pointers need
 * to stay valid only during the call. */
struct auth_input {
	const char *method;                /* "GET", ... */
	const char *path;                  /* decoded path, without the query */
	const struct auth_der *peer_certs; /* the TLS peer's chain, leaf first */
	size_t npeer_certs;                /* 0 = no client certificate */
	void *ctx;                         /* handed to headers and arg */
	/* Calls visit(vctx, name, value) for every header line in order,
	 * repeated names included (MHD_get_connection_values does this). */
	void (*headers)(void *ctx, auth_visit_fn visit, void *vctx);
	/* The first query argument named name, or NULL. May be NULL itself. */
	const char *(*arg)(void *ctx, const char *name);
};

/* extra: one key and its values. */
struct auth_extra {
	char *key;
	char **values;
	size_t nvalues;
};

/* An authenticated (or anonymous) user. All strings owned; release with
 * auth_user_release. extra is sorted by key. */
struct auth_user {
	char *name;
	char *uid;                 /* "" when none */
	char **groups;
	size_t ngroups;
	struct auth_extra *extra;
	size_t nextra;
};

void auth_user_release(struct auth_user *u);
/* True when u is in group g. */
bool auth_user_in_group(const struct auth_user *u, const char *g);

struct authn_opts {
	/* auth.requestheader.clientCAFile: when set, the CA comes from this
	 * file (re-read when it changes) and the ConfigMap is not read. */
	const char *client_ca_file;
	/* auth.requestheader.allowedNames, used with client_ca_file. */
	const char *const *allowed_names;
	size_t nallowed_names;
	long poll_ms;          /* how often the ConfigMap / CA file is re-read; 0 = 30000, < 0 = never */
	long token_ttl_ms;     /* TokenReview cache TTL; 0 = 10000 */
	/* Monotonic clock in ms for the caches; NULL = CLOCK_MONOTONIC (tests inject one). */
	int64_t (*clock_ms)(void);
};

struct authn;

/* Sets up the authenticator. Reads the CA file, or the ConfigMap through k
 * (a 403 is an error naming the missing RoleBinding and the kubectl command
 * that creates it; a 404 or a ConfigMap without a requestheader CA leaves
 * request-header authentication off, with a warning), and starts the poller
 * thread. k may be NULL only with client_ca_file (then bearer tokens fail).
 * NULL with a message on failure: a fatal start-up error. k must outlive
 * the authenticator. */
struct authn *authn_new(const struct authn_opts *o, struct kube *k, char *err, size_t errlen);
/* Stops the poller and frees; no request may be in flight. Call
 * kube_shutdown first so that a poll waiting on the API server ends at once.
 * NULL is a no-op. */
void authn_free(struct authn *a);

enum authn_result {
	AUTHN_OK,         /* *u is the authenticated user */
	AUTHN_ANONYMOUS,  /* *u is system:anonymous */
	AUTHN_FAILED,     /* 401; why says what failed (for the log, never a secret) */
};

/* Authenticates one request. On AUTHN_OK and AUTHN_ANONYMOUS *u is filled
 * (release it); on AUTHN_FAILED it is empty. May block on a TokenReview (up
 * to the kube client's deadline) on a cache miss. Any thread. */
enum authn_result authn_authenticate(struct authn *a, const struct auth_input *in, struct auth_user *u, char *why,
				     size_t whylen);

/* The requestheader CA bundle (PEM) in use, malloc'd, or NULL when there is
 * none. server.c passes it to MHD_OPTION_HTTPS_MEM_TRUST so that the TLS
 * handshake requests a client certificate (and names the CA as a hint). */
char *authn_client_ca_pem(struct authn *a);

/* Re-reads the ConfigMap or CA file now (what the poller does every
 * period). 1 when a new configuration was swapped in, 0 when unchanged, -1
 * with a message (the old configuration stays). Any thread. */
int authn_refresh(struct authn *a, char *err, size_t errlen);

/* How many times a new requestheader configuration was swapped in. */
uint64_t authn_generation(struct authn *a);

/* Parses a ConfigMap value that holds a JSON array of strings serialised as
 * a string (`["X-Remote-User"]`); "" is an empty list. 0, or -1 when it is
 * malformed or over the caps (64 items of 256 bytes). Exposed for tests. */
int authn_parse_string_list(const char *s, char ***items, size_t *n);

#endif
