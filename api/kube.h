/*
 * kube.h — a small client for the Kubernetes API server (libcurl), used for
 * the delegated authentication and authorization of AGGREGATION.md §2–§4:
 * reading the extension-apiserver-authentication ConfigMap, TokenReview and
 * SubjectAccessReview.
 *
 * The connection comes from a kubeconfig file (current-context; server,
 * certificate-authority(-data), insecure-skip-tls-verify, token, tokenFile,
 * client-certificate(-data), client-key(-data)) or from the pod's service
 * account (KUBERNETES_SERVICE_HOST/PORT, token and ca.crt in the
 * service-account directory; AGGREGATION.md §7). A bearer token read from a
 * file is re-read by path at least every minute and after a 401, so a rotated
 * projected token is picked up; it never reaches a log line or an error text.
 *
 * Every call has a deadline (10 s by default, retries included) and retries
 * connection errors, 429 and 5xx answers with backoff (500 ms × 1.5, jitter
 * 0.2, 5 attempts), as client-go's webhook client does.
 *
 * Thread-safe: any thread may call kube_get_json/kube_post_json at the same
 * time (requests arrive on the HTTPS server's worker threads); connections
 * are reused through a small pool of curl handles.
 *
 * kube_cache is the TTL cache with single flight that the authenticator and
 * the authorizer put in front of TokenReview and SubjectAccessReview.
 */
#ifndef SW_KUBE_H
#define SW_KUBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cJSON.h>

#define KUBE_DEFAULT_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBE_MAX_BODY (8u << 20)      /* larger answers are refused */

struct kube;

struct kube_opts {
	const char *kubeconfig;   /* kubeconfig path; NULL or "" = in-cluster */
	const char *sa_dir;       /* in-cluster service-account dir; NULL = KUBE_DEFAULT_SA_DIR */
	long timeout_ms;          /* deadline of one call, retries included; 0 = 10000 */
	long backoff_ms;          /* first delay between attempts; 0 = 500 (then × 1.5) */
	int attempts;             /* attempts per call; 0 = 5 */
	long token_refresh_ms;    /* a token file is re-read when older than this; 0 = 60000 */
};

/* Reads the kubeconfig (or the in-cluster environment and files) and sets up
 * the client; does not contact the server. NULL with a message naming what is
 * missing or wrong (`kubeconfig '/x': user "u": exec plugins are not
 * supported`). Call once, from the main thread, before other threads use it. */
struct kube *kube_new(const struct kube_opts *o, char *err, size_t errlen);
/* Makes every call in flight (within about a second) and every later call
 * fail with -1, for a prompt shutdown. Any thread. */
void kube_shutdown(struct kube *k);
/* Frees the client; no call may be in flight. NULL is a no-op. */
void kube_free(struct kube *k);

/* The server URL (for log lines; holds no secret). */
const char *kube_server(const struct kube *k);

/* GET path (e.g. "/api/v1/namespaces/kube-system/configmaps/x") with
 * Accept: application/json. Returns the final HTTP status (after retries and
 * one token re-read on 401) and, in *out, the parsed JSON body or NULL when
 * the body is not JSON; the caller frees *out with cJSON_Delete. Returns -1
 * with a message in err when no HTTP answer came (connection refused, TLS
 * failure, deadline, answer over KUBE_MAX_BODY); *out is then NULL. */
int kube_get_json(struct kube *k, const char *path, cJSON **out, char *err, size_t errlen);
/* POST body (JSON text) to path; as kube_get_json. */
int kube_post_json(struct kube *k, const char *path, const char *body, cJSON **out, char *err, size_t errlen);

/* The "message" of a Status body, or "" (never NULL). */
const char *kube_status_message(const cJSON *status);

/* ------------------------------------------------------------------------ */
/* kube_cache: a TTL cache with single flight, keyed by bytes               */

struct kube_cache;

/* max_entries bounds the number of entries (at least 16). NULL on ENOMEM. */
struct kube_cache *kube_cache_new(size_t max_entries);
/* Frees the cache; nobody may be using it. NULL is a no-op. */
void kube_cache_free(struct kube_cache *c);

enum kube_cache_result {
	KUBE_CACHE_HIT,    /* *val is a copy of the value (the caller frees it) */
	KUBE_CACHE_MISS,   /* the caller must compute the value and call kube_cache_put */
};

/* Looks key up at time now_ms (any monotonic clock in ms). On a miss the
 * caller becomes the one that fetches the value: it must call kube_cache_put
 * for the same key, also when the fetch failed. Callers asking for the same
 * key meanwhile wait (up to 15 s) and receive that value, so a burst of
 * identical requests costs one review. val is NUL-terminated after vlen bytes.
 * Thread-safe. */
enum kube_cache_result kube_cache_get(struct kube_cache *c, const void *key, size_t keylen, int64_t now_ms,
				      char **val, size_t *vlen);
/* Stores val for key until expires_ms and hands it to the waiters. With
 * expires_ms <= now (an error, say) the waiters get the value but it is not
 * kept. When the cache is full, expired entries are dropped first, then the
 * one closest to expiry. Thread-safe. */
void kube_cache_put(struct kube_cache *c, const void *key, size_t keylen, const char *val, size_t vlen,
		    int64_t now_ms, int64_t expires_ms);
/* Drops every entry (waiters are not disturbed). Thread-safe. */
void kube_cache_clear(struct kube_cache *c);
/* Entries currently kept, and callers waiting for a fetch (for tests). */
size_t kube_cache_size(struct kube_cache *c);
size_t kube_cache_waiting(struct kube_cache *c);

#endif
