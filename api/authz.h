/*
 * authz.h — delegated authorization (AGGREGATION.md §4) and the per-request
 * gate the HTTPS server calls before routing: authenticate (authn.h), then
 *
 *   1. a user in system:masters is allowed (no review);
 *   2. the non-resource paths /healthz, /livez, /readyz are always allowed;
 *   3. everything else is asked with a SubjectAccessReview
 *      (authorization.k8s.io/v1): `GET /apis/external.metrics.k8s.io/v1beta1/
 *      namespaces/NS/NAME` is the resource request {namespace NS, verb list,
 *      group external.metrics.k8s.io, version v1beta1, resource NAME}; /apis…
 *      with fewer segments, /openapi/..., /metrics are non-resource {path,
 *      verb get}. Answers are cached 10 s (allowed and denied alike) under
 *      the JSON of the review's spec; identical concurrent requests share one
 *      review. A review that fails is a 500 InternalError Status; a denial a
 *      403 Forbidden Status worded as k8s.io/apiserver words it.
 */
#ifndef SW_AUTHZ_H
#define SW_AUTHZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "authn.h"
#include "jsonw.h"

struct authz_opts {
	long allowed_ttl_ms;   /* cache TTL of an allow; 0 = 10000 */
	long denied_ttl_ms;    /* cache TTL of a deny or no-opinion; 0 = 10000 */
	/* --authorization-always-allow-paths; NULL = /healthz, /readyz, /livez.
	 * An entry ending in '*' is a prefix. */
	const char *const *always_allow_paths;
	size_t nalways_allow_paths;
	/* Monotonic clock in ms for the cache; NULL = CLOCK_MONOTONIC. */
	int64_t (*clock_ms)(void);
};

struct authz;

/* Sets up the authorizer in front of authenticator a, asking k. Both must
 * outlive it. NULL with a message on a bad option. */
struct authz *authz_new(const struct authz_opts *o, struct kube *k, struct authn *a, char *err, size_t errlen);
void authz_free(struct authz *z);

/* The result of the gate for one request. */
struct auth_result {
	int code;            /* 0: allowed; else the HTTP code to answer (401, 403, 500) */
	struct buf body;     /* when code != 0: the Status to send (application/json) */
	char user[256];      /* who asked (for the request log), possibly truncated */
	char why[512];       /* when refused: why, for the log (never a secret) */
};

/* Runs authentication and authorization for one request. out->body is
 * initialised here; release it with authz_result_release. May block on a
 * TokenReview or SubjectAccessReview on a cache miss (bounded by the kube
 * client's deadline). Any thread. */
void authz_request(struct authz *z, const struct auth_input *in, struct auth_result *out);
void authz_result_release(struct auth_result *r);

/* Request attributes as k8s.io/apiserver's RequestInfoFactory derives them
 * (pkg/endpoints/request/requestinfo.go) for the prefixes /api and /apis.
 * Strings point into the path given (length-delimited) or are static. */
struct authz_span {
	const char *p;
	size_t n;
};
struct authz_attrs {
	bool resource;                 /* a resource request (else non-resource) */
	char verb[24];                 /* "list", "get", "watch", "create" ... or the lower-cased method */
	struct authz_span ns, group, version, res, subresource, name;
};

/* Fills a from method, path and the query argument lookup (may be NULL).
 * 0, or -1 when the path names a special verb without a resource (the Go
 * code answers 500 to that). */
int authz_attributes(const char *method, const char *path, const char *(*arg)(void *ctx, const char *name),
		     void *ctx, struct authz_attrs *a);

#endif
