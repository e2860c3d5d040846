/*
 * authz.c — request attributes, the authorizer union (privileged group,
 * always-allowed paths, SubjectAccessReview with its cache) and the Status
 * bodies of a refusal.
 */
#include "authz.h"

#include "log.h"
#include "status.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SAR_PATH "/apis/authorization.k8s.io/v1/subjectaccessreviews"
#define MAX_SEGS 16
#define MAX_CACHED_ATTRS 10000   /* webhook.go does not cache larger attribute sets */

struct path_rule {
	char *p;        /* without the leading '/' (and without the '*' of a prefix) */
	bool prefix;
};

struct authz {
	struct kube *kube;
	struct authn *authn;
	struct kube_cache *cache;      /* spec JSON -> "A"+reason | "D"+reason | "E"+error */
	long allowed_ttl_ms, denied_ttl_ms;
	struct path_rule *paths;
	size_t npaths;
	int64_t (*clock)(void);
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *const default_paths[] = { "/healthz", "/readyz", "/livez" };

struct authz *authz_new(const struct authz_opts *o, struct kube *k, struct authn *a, char *err, size_t errlen)
{
	struct authz *z = calloc(1, sizeof *z);
	if (!z) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	z->kube = k;
	z->authn = a;
	z->allowed_ttl_ms = o && o->allowed_ttl_ms > 0 ? o->allowed_ttl_ms : 10000;
	z->denied_ttl_ms = o && o->denied_ttl_ms > 0 ? o->denied_ttl_ms : 10000;
	z->clock = o && o->clock_ms ? o->clock_ms : mono_ms;
	z->cache = kube_cache_new(8192);
	const char *const *paths = o && o->always_allow_paths ? o->always_allow_paths : default_paths;
	size_t np = o && o->always_allow_paths ? o->nalways_allow_paths : 3;
	z->paths = calloc(np ? np : 1, sizeof *z->paths);
	if (!z->cache || !z->paths) {
		snprintf(err, errlen, "out of memory");
		authz_free(z);
		return NULL;
	}
	for (size_t i = 0; i < np; i++) {
		const char *p = paths[i];
		if (*p == '/')
			p++;
		size_t n = strlen(p);
		const char *star = strchr(p, '*');
		if (star && star != p + n - 1) {
			snprintf(err, errlen, "always-allowed path '%s': only a trailing '*' is allowed", paths[i]);
			authz_free(z);
			return NULL;
		}
		z->paths[i].prefix = star != NULL;
		z->paths[i].p = strndup(p, star ? n - 1 : n);
		if (!z->paths[i].p) {
			snprintf(err, errlen, "out of memory");
			authz_free(z);
			return NULL;
		}
		z->npaths++;
	}
	return z;
}

void authz_free(struct authz *z)
{
	if (!z)
		return;
	kube_cache_free(z->cache);
	for (size_t i = 0; i < z->npaths; i++)
		free(z->paths[i].p);
	free(z->paths);
	free(z);
}

void authz_result_release(struct auth_result *r)
{
	buf_release(&r->body);
}

/* ------------------------------------------------------------------------ */
/* request attributes                                                       */

static bool span_is(struct authz_span s, const char *lit)
{
	return s.n == strlen(lit) && !memcmp(s.p, lit, s.n);
}

int authz_attributes(const char *method, const char *path, const char *(*arg)(void *ctx, const char *name),
		     void *ctx, struct authz_attrs *a)
{
	memset(a, 0, sizeof *a);
	size_t i;
	for (i = 0; method[i] && i + 1 < sizeof a->verb; i++)
		a->verb[i] = (char)tolower((unsigned char)method[i]);
	a->verb[i] = 0;

	/* strings.Trim(path, "/") then Split(path, "/"): inner empty segments stay */
	const char *p = path, *end = path + strlen(path);
	while (p < end && *p == '/')
		p++;
	while (end > p && end[-1] == '/')
		end--;
	struct authz_span seg[MAX_SEGS];
	size_t nseg = 0;
	if (p < end) {
		const char *s = p;
		for (;;) {
			const char *slash = memchr(s, '/', (size_t)(end - s));
			const char *e = slash ? slash : end;
			if (nseg < MAX_SEGS)
				seg[nseg] = (struct authz_span){ s, (size_t)(e - s) };
			nseg++;
			if (!slash)
				break;
			s = slash + 1;
		}
	}
	/* only the first segments decide; beyond MAX_SEGS they are not read */
	if (nseg < 3 || !(span_is(seg[0], "api") || span_is(seg[0], "apis")))
		return 0;
	size_t cur = 1;
	if (span_is(seg[0], "apis")) {
		if (nseg - 1 < 3)
			return 0;
		a->group = seg[1];
		cur = 2;
	}
	a->resource = true;
	a->version = seg[cur++];
	if (span_is(seg[cur], "proxy") || span_is(seg[cur], "watch")) {
		if (nseg - cur < 2)
			return -1;
		snprintf(a->verb, sizeof a->verb, "%.*s", (int)seg[cur].n, seg[cur].p);
		cur++;
	} else if (!strcmp(method, "POST")) {
		snprintf(a->verb, sizeof a->verb, "create");
	} else if (!strcmp(method, "GET") || !strcmp(method, "HEAD")) {
		snprintf(a->verb, sizeof a->verb, "get");
	} else if (!strcmp(method, "PUT")) {
		snprintf(a->verb, sizeof a->verb, "update");
	} else if (!strcmp(method, "PATCH")) {
		snprintf(a->verb, sizeof a->verb, "patch");
	} else if (!strcmp(method, "DELETE")) {
		snprintf(a->verb, sizeof a->verb, "delete");
	} else {
		a->verb[0] = 0;
	}
	if (span_is(seg[cur], "namespaces") && nseg - cur > 1) {
		a->ns = seg[cur + 1];
		if (nseg - cur > 2 && cur + 2 < MAX_SEGS && !span_is(seg[cur + 2], "status") &&
		    !span_is(seg[cur + 2], "finalize"))
			cur += 2;
	}
	size_t nparts = nseg - cur;
	if (nparts >= 3 && strcmp(a->verb, "proxy") && cur + 2 < MAX_SEGS)
		a->subresource = seg[cur + 2];
	if (nparts >= 2 && cur + 1 < MAX_SEGS)
		a->name = seg[cur + 1];
	if (nparts >= 1 && cur < MAX_SEGS)
		a->res = seg[cur];
	if (!a->name.n && !strcmp(a->verb, "get")) {
		/* ListOptions.Watch: any value but "0" and "false" means watch.
		 * A fieldSelector on metadata.name is not turned into a name: the
		 * review then covers every name, which is the stricter check. */
		const char *w = arg ? arg(ctx, "watch") : NULL;
		bool watch = w && strcmp(w, "0") && strcasecmp(w, "false");
		snprintf(a->verb, sizeof a->verb, watch ? "watch" : "list");
	}
	if (!a->name.n && !strcmp(a->verb, "delete"))
		snprintf(a->verb, sizeof a->verb, "deletecollection");
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Status bodies                                                            */

/* Appends s quoted as Go's %q (strconv.Quote) does, for ASCII and valid UTF-8. */
static void go_quote(struct buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	buf_addc(b, '"');
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			buf_addc(b, '\\');
			buf_addc(b, (char)c);
			i++;
			continue;
		}
		if (c >= 0x20 && c < 0x7f) {
			buf_addc(b, (char)c);
			i++;
			continue;
		}
		const char *esc = NULL;
		switch (c) {
		case '\a': esc = "\\a"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\v': esc = "\\v"; break;
		default: break;
		}
		if (esc) {
			buf_adds(b, esc);
			i++;
			continue;
		}
		/* a valid multi-byte UTF-8 sequence is printed as it is */
		size_t len = c >= 0xf0 && c < 0xf5 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
		bool ok = len && i + len <= n;
		for (size_t k = 1; ok && k < len; k++)
			ok = ((unsigned char)s[i + k] & 0xc0) == 0x80;
		if (ok) {
			buf_add(b, s + i, len);
			i += len;
			continue;
		}
		buf_adds(b, "\\x");
		buf_addc(b, hex[c >> 4]);
		buf_addc(b, hex[c & 15]);
		i++;
	}
	buf_addc(b, '"');
}

/* responsewriters.forbiddenMessage, then the sanitizer (& < > as entities). */
static void forbidden_message(struct buf *out, const struct authz_attrs *a, const struct auth_user *u, const char *path)
{
	struct buf m;
	buf_init(&m, 1 << 20);
	buf_adds(&m, "User ");
	go_quote(&m, u->name, strlen(u->name));
	if (!a->resource) {
		buf_addf(&m, " cannot %s path ", a->verb);
		go_quote(&m, path, strlen(path));
	} else {
		buf_addf(&m, " cannot %s resource ", a->verb);
		struct buf r;
		buf_init(&r, 1 << 20);
		buf_add(&r, a->res.p, a->res.n);
		if (a->subresource.n) {
			buf_addc(&r, '/');
			buf_add(&r, a->subresource.p, a->subresource.n);
		}
		go_quote(&m, r.data ? r.data : "", r.len);
		buf_release(&r);
		buf_adds(&m, " in API group ");
		go_quote(&m, a->group.p ? a->group.p : "", a->group.n);
		if (a->ns.n) {
			buf_adds(&m, " in the namespace ");
			go_quote(&m, a->ns.p, a->ns.n);
		} else {
			buf_adds(&m, " at the cluster scope");
		}
	}
	for (size_t i = 0; i < m.len; i++) {
		char c = m.data[i];
		if (c == '&')
			buf_adds(out, "&amp;");
		else if (c == '<')
			buf_adds(out, "&lt;");
		else if (c == '>')
			buf_adds(out, "&gt;");
		else
			buf_addc(out, c);
	}
	buf_release(&m);
}

/* The 403 of responsewriters.Forbidden + apierrors.NewForbidden. */
static void write_forbidden(struct auth_result *out, const struct authz_attrs *a, const struct auth_user *u,
			    const char *path, const char *reason)
{
	struct buf msg, det;
	buf_init(&msg, 1 << 20);
	buf_init(&det, 1 << 20);
	bool qualified = a->resource && (a->res.n || a->group.n);
	if (!qualified) {
		buf_adds(&msg, "forbidden: ");
	} else {
		buf_add(&msg, a->res.p, a->res.n);
		if (a->group.n) {
			buf_addc(&msg, '.');
			buf_add(&msg, a->group.p, a->group.n);
		}
		if (a->name.n) {
			buf_addc(&msg, ' ');
			go_quote(&msg, a->name.p, a->name.n);
		}
		buf_adds(&msg, " is forbidden: ");
	}
	forbidden_message(&msg, a, u, path);
	if (reason && *reason) {
		buf_adds(&msg, ": ");
		buf_adds(&msg, reason);
	}
	/* StatusDetails: name, group, kind (= the resource), all omitempty */
	buf_addc(&det, '{');
	bool comma = false;
	if (qualified && a->name.n) {
		buf_adds(&det, "\"name\":");
		json_put_string(&det, a->name.p, a->name.n);
		comma = true;
	}
	if (qualified && a->group.n) {
		buf_adds(&det, comma ? ",\"group\":" : "\"group\":");
		json_put_string(&det, a->group.p, a->group.n);
		comma = true;
	}
	if (qualified && a->res.n) {
		buf_adds(&det, comma ? ",\"kind\":" : "\"kind\":");
		json_put_string(&det, a->res.p, a->res.n);
	}
	buf_addc(&det, '}');
	out->code = 403;
	status_write(&out->body, 403, "Forbidden", msg.data ? msg.data : "forbidden", det.data);
	snprintf(out->why, sizeof out->why, "%.500s", msg.data ? msg.data : "forbidden");
	buf_release(&msg);
	buf_release(&det);
}

static void write_internal(struct auth_result *out, const char *err)
{
	struct buf msg, det;
	buf_init(&msg, 1 << 20);
	buf_init(&det, 1 << 20);
	buf_addf(&msg, "Internal error occurred: %s", err);
	buf_adds(&det, "{\"causes\":[{\"message\":");
	json_put_string(&det, err, strlen(err));
	buf_adds(&det, "}]}");
	out->code = 500;
	status_write(&out->body, 500, "InternalError", msg.data, det.data);
	snprintf(out->why, sizeof out->why, "%.500s", err);
	buf_release(&msg);
	buf_release(&det);
}

/* ------------------------------------------------------------------------ */
/* SubjectAccessReview                                                      */

static void put_span_field(struct buf *b, bool *comma, const char *key, struct authz_span s)
{
	if (!s.n)
		return;
	buf_adds(b, *comma ? ",\"" : "\"");
	buf_adds(b, key);
	buf_adds(b, "\":");
	json_put_string(b, s.p, s.n);
	*comma = true;
}

/* The review's spec as Go marshals SubjectAccessReviewSpec: attributes,
 * user, groups, extra, uid, each omitted when empty. */
static void sar_spec(struct buf *b, const struct authz_attrs *a, const struct auth_user *u, const char *path)
{
	bool comma = false;
	buf_addc(b, '{');
	if (a->resource) {
		buf_adds(b, "\"resourceAttributes\":{");
		put_span_field(b, &comma, "namespace", a->ns);
		put_span_field(b, &comma, "verb", (struct authz_span){ a->verb, strlen(a->verb) });
		put_span_field(b, &comma, "group", a->group);
		put_span_field(b, &comma, "version", a->version);
		put_span_field(b, &comma, "resource", a->res);
		put_span_field(b, &comma, "subresource", a->subresource);
		put_span_field(b, &comma, "name", a->name);
		buf_addc(b, '}');
	} else {
		buf_adds(b, "\"nonResourceAttributes\":{");
		put_span_field(b, &comma, "path", (struct authz_span){ path, strlen(path) });
		put_span_field(b, &comma, "verb", (struct authz_span){ a->verb, strlen(a->verb) });
		buf_addc(b, '}');
	}
	if (*u->name) {
		buf_adds(b, ",\"user\":");
		json_put_string(b, u->name, strlen(u->name));
	}
	if (u->ngroups) {
		buf_adds(b, ",\"groups\":[");
		for (size_t i = 0; i < u->ngroups; i++) {
			if (i)
				buf_addc(b, ',');
			json_put_string(b, u->groups[i], strlen(u->groups[i]));
		}
		buf_addc(b, ']');
	}
	if (u->nextra) {
		buf_adds(b, ",\"extra\":{");
		for (size_t i = 0; i < u->nextra; i++) {
			if (i)
				buf_addc(b, ',');
			json_put_string(b, u->extra[i].key, strlen(u->extra[i].key));
			buf_adds(b, ":[");
			for (size_t j = 0; j < u->extra[i].nvalues; j++) {
				if (j)
					buf_addc(b, ',');
				json_put_string(b, u->extra[i].values[j], strlen(u->extra[i].values[j]));
			}
			buf_addc(b, ']');
		}
		buf_addc(b, '}');
	}
	if (u->uid && *u->uid) {
		buf_adds(b, ",\"uid\":");
		json_put_string(b, u->uid, strlen(u->uid));
	}
	buf_addc(b, '}');
}

/* Asks the API server; the answer as the cache stores it ("A"/"D"/"E"...),
 * malloc'd, and whether to keep it. */
static char *sar_ask(struct authz *z, const char *spec, bool *keep, long *ttl)
{
	struct buf body, v;
	buf_init(&body, 0);
	buf_init(&v, 0);
	buf_adds(&body, "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SubjectAccessReview\",\"spec\":");
	buf_adds(&body, spec);
	buf_addc(&body, '}');
	cJSON *j = NULL;
	char e[512];
	int code = body.failed ? -1 : kube_post_json(z->kube, SAR_PATH, body.data, &j, e, sizeof e);
	buf_release(&body);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(st, "reason");
	const char *r = cJSON_IsString(reason) ? reason->valuestring : "";
	bool allowed = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "allowed"));
	bool denied = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "denied"));
	*keep = false;
	if (code < 0) {
		buf_addf(&v, "Esubjectaccessreview failed: %s", e);
	} else if (code < 200 || code > 299 || !cJSON_IsObject(st)) {
		buf_addf(&v, "Esubjectaccessreview failed: HTTP %d: %.300s", code, kube_status_message(j));
	} else if (allowed && denied) {
		buf_adds(&v, "Ewebhook subject access review returned both allow and deny response");
	} else {
		buf_addc(&v, allowed ? 'A' : 'D');
		buf_add(&v, r, strnlen(r, 1000));
		*keep = true;
		*ttl = allowed ? z->allowed_ttl_ms : z->denied_ttl_ms;
	}
	cJSON_Delete(j);
	if (v.failed || !v.data) {
		buf_release(&v);
		*keep = false;
		return strdup("Eout of memory");
	}
	if (v.data[0] == 'E')
		LOGW("subjectaccessreview failed: the request gets a 500", LF_S("error", v.data + 1));
	size_t n;
	return buf_detach(&v, &n);
}

/* ------------------------------------------------------------------------ */
/* the gate                                                                 */

static bool always_allowed_path(const struct authz *z, const char *path)
{
	if (*path == '/')
		path++;
	for (size_t i = 0; i < z->npaths; i++) {
		const struct path_rule *r = &z->paths[i];
		if (r->prefix ? !strncmp(path, r->p, strlen(r->p)) : !strcmp(path, r->p))
			return true;
	}
	return false;
}

void authz_request(struct authz *z, const struct auth_input *in, struct auth_result *out)
{
	struct auth_user u;
	out->code = 0;
	out->user[0] = 0;
	out->why[0] = 0;
	buf_init(&out->body, 0);

	enum authn_result ar = authn_authenticate(z->authn, in, &u, out->why, sizeof out->why);
	if (ar == AUTHN_FAILED) {
		out->code = 401;
		status_write(&out->body, 401, "Unauthorized", "Unauthorized", NULL);
		return;
	}
	snprintf(out->user, sizeof out->user, "%s", u.name);

	struct authz_attrs a;
	if (authz_attributes(in->method, in->path, in->arg, in->ctx, &a)) {
		write_internal(out, "unable to determine kind and namespace from url");
		goto done;
	}
	if (auth_user_in_group(&u, "system:masters"))
		goto done;
	if (!a.resource && always_allowed_path(z, in->path))
		goto done;

	struct buf spec;
	buf_init(&spec, 1 << 20);
	sar_spec(&spec, &a, &u, in->path);
	if (spec.failed || !spec.data) {
		buf_release(&spec);
		write_internal(out, "the access review is too large");
		goto done;
	}
	size_t attrs = strlen(a.verb) + a.ns.n + a.group.n + a.version.n + a.res.n + a.subresource.n + a.name.n +
		       (a.resource ? 0 : strlen(in->path));
	bool cacheable = attrs < MAX_CACHED_ATTRS;
	int64_t now = z->clock();
	char *val = NULL;
	size_t vlen = 0;
	if (!cacheable || kube_cache_get(z->cache, spec.data, spec.len, now, &val, &vlen) != KUBE_CACHE_HIT) {
		bool keep = false;
		long ttl = 0;
		val = sar_ask(z, spec.data, &keep, &ttl);
		if (cacheable)
			kube_cache_put(z->cache, spec.data, spec.len, val ? val : "Eout of memory",
				       val ? strlen(val) : 14, now, keep ? now + ttl : now);
	}
	buf_release(&spec);
	if (!val)
		write_internal(out, "out of memory");
	else if (val[0] == 'A')
		; /* allowed */
	else if (val[0] == 'D')
		write_forbidden(out, &a, &u, in->path, val + 1);
	else
		write_internal(out, val + 1);
	free(val);
done:
	auth_user_release(&u);
}
