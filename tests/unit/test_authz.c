/* Unit tests: delegated authorization and the request gate — request
 * attributes as k8s.io/apiserver derives them, privileged group and
 * always-allowed paths, SubjectAccessReview bodies, the 10 s cache with
 * single flight, and the exact 401/403/500 Status bodies. An in-process
 * stand-in answers the reviews. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "authz.h"
#include "certs.h"
#include "kube.h"

#include <microhttpd.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char dir[256];

static char *path_of(const char *name)
{
	static char p[8][512];
	static int i;
	i = (i + 1) % 8;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

/* ------------------------------------------------------------------------ */
/* the SubjectAccessReview stand-in                                         */

static struct {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t mu;
	char mode;            /* 'A' allow, 'D' deny, 'N' no opinion, 'B' both, 'F' fail with 500 */
	char reason[128];
	int delay_ms;
	int n;
	char body[8192];
} S;

struct upload {
	char data[8192];
	size_t len;
};

static enum MHD_Result serve(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			     const char *version, const char *up, size_t *uplen, void **cc)
{
	struct upload *u = *cc;
	if (!u) {
		*cc = calloc(1, sizeof *u);
		return MHD_YES;
	}
	if (*uplen) {
		size_t n = *uplen < sizeof u->data - 1 - u->len ? *uplen : sizeof u->data - 1 - u->len;
		memcpy(u->data + u->len, up, n);
		u->len += n;
		*uplen = 0;
		return MHD_YES;
	}
	char body[1024];
	int code = 201;
	pthread_mutex_lock(&S.mu);
	S.n++;
	snprintf(S.body, sizeof S.body, "%s", u->data);
	char mode = S.mode;
	int delay = S.delay_ms;
	if (strcmp(url, "/apis/authorization.k8s.io/v1/subjectaccessreviews")) {
		code = 404;
		snprintf(body, sizeof body, "{}");
	} else if (mode == 'F') {
		code = 500;
		snprintf(body, sizeof body, "{\"kind\":\"Status\",\"message\":\"etcd is down\",\"code\":500}");
	} else {
		snprintf(body, sizeof body, "{\"kind\":\"SubjectAccessReview\",\"status\":{\"allowed\":%s,\"denied\":%s%s%s%s}}",
			 mode == 'A' || mode == 'B' ? "true" : "false", mode == 'D' || mode == 'B' ? "true" : "false",
			 S.reason[0] ? ",\"reason\":\"" : "", S.reason, S.reason[0] ? "\"" : "");
	}
	pthread_mutex_unlock(&S.mu);
	if (delay) {
		struct timespec ts = { 0, delay * 1000000L };
		nanosleep(&ts, NULL);
	}
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result res = MHD_queue_response(c, (unsigned)code, r);
	MHD_destroy_response(r);
	return res;
}

static void served(void *cls, struct MHD_Connection *c, void **cc, enum MHD_RequestTerminationCode t)
{
	free(*cc);
	*cc = NULL;
}

static void stand_in(char mode, const char *reason)
{
	pthread_mutex_lock(&S.mu);
	S.mode = mode;
	snprintf(S.reason, sizeof S.reason, "%s", reason ? reason : "");
	S.n = 0;
	S.body[0] = 0;
	pthread_mutex_unlock(&S.mu);
}

static int reviews(void)
{
	pthread_mutex_lock(&S.mu);
	int n = S.n;
	pthread_mutex_unlock(&S.mu);
	return n;
}

/* ------------------------------------------------------------------------ */
/* requests                                                                 */

static unsigned char *proxy_der, *other_der;
static int proxy_len, other_len;

struct req {
	const char *method, *path, *watch;
	const char *h[8][2];
	int nh;
	bool cert;
	bool bad_cert;
};

static void visit_headers(void *ctx, auth_visit_fn visit, void *vctx)
{
	struct req *r = ctx;
	for (int i = 0; i < r->nh; i++)
		visit(vctx, r->h[i][0], r->h[i][1]);
}

static const char *arg(void *ctx, const char *name)
{
	struct req *r = ctx;
	return !strcmp(name, "watch") ? r->watch : NULL;
}

static struct authz *Z;
static struct authn *A;
static struct kube *K;
static int64_t fake_now = 5000000;
static int64_t fake_clock(void)
{
	return fake_now;
}

static void gate(struct req *r, struct auth_result *out)
{
	struct auth_der d = { r->bad_cert ? other_der : proxy_der, (size_t)(r->bad_cert ? other_len : proxy_len) };
	struct auth_input in = {
		.method = r->method ? r->method : "GET",
		.path = r->path,
		.peer_certs = &d,
		.npeer_certs = r->cert || r->bad_cert ? 1 : 0,
		.ctx = r,
		.headers = visit_headers,
		.arg = arg,
	};
	authz_request(Z, &in, out);
}

/* A request from the aggregator on behalf of user, in groups (NULL-ended). */
static struct req proxied(const char *path, const char *user, const char *g1, const char *g2)
{
	struct req r = { .path = path, .cert = true };
	r.h[r.nh][0] = "X-Remote-User";
	r.h[r.nh++][1] = user;
	if (g1) {
		r.h[r.nh][0] = "X-Remote-Group";
		r.h[r.nh++][1] = g1;
	}
	if (g2) {
		r.h[r.nh][0] = "X-Remote-Group";
		r.h[r.nh++][1] = g2;
	}
	return r;
}

static unsigned char *der_of(const char *pem_path, int *len)
{
	FILE *f = fopen(pem_path, "r");
	assert_non_null(f);
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	unsigned char *d = NULL;
	*len = i2d_X509(x, &d);
	X509_free(x);
	return d;
}

static int setup(void **st)
{
	char err[1024];
	snprintf(dir, sizeof dir, "%s/sw-authz-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	assert_int_equal(certs_make_cluster_set(path_of("pki"), "svc", "ns", NULL, 0, 30, err, sizeof err), 0);
	assert_int_equal(certs_make_cluster_set(path_of("pki2"), "svc", "ns", NULL, 0, 30, err, sizeof err), 0);
	proxy_der = der_of(path_of("pki/front-proxy-client.crt"), &proxy_len);
	other_der = der_of(path_of("pki2/front-proxy-client.crt"), &other_len);

	pthread_mutex_init(&S.mu, NULL);
	S.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, serve,
			       NULL, MHD_OPTION_NOTIFY_COMPLETED, served, NULL, MHD_OPTION_END);
	assert_non_null(S.d);
	S.port = MHD_get_daemon_info(S.d, MHD_DAEMON_INFO_BIND_PORT)->port;
	char kc[1024];
	snprintf(kc, sizeof kc,
		 "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
		 "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:%d'}}]\nusers: [{name: u, user: {token: t}}]\n",
		 S.port);
	FILE *f = fopen(path_of("kubeconfig"), "w");
	fputs(kc, f);
	fclose(f);
	struct kube_opts ko = { .kubeconfig = path_of("kubeconfig"), .attempts = 1 };
	K = kube_new(&ko, err, sizeof err);
	assert_non_null(K);
	const char *const allowed[] = { "front-proxy-client" };
	struct authn_opts ao = { .client_ca_file = path_of("pki/front-proxy-ca.crt"), .allowed_names = allowed,
				 .nallowed_names = 1, .poll_ms = -1 };
	A = authn_new(&ao, K, err, sizeof err);
	assert_non_null(A);
	struct authz_opts zo = { .clock_ms = fake_clock };
	Z = authz_new(&zo, K, A, err, sizeof err);
	assert_non_null(Z);
	return 0;
}

static int teardown(void **st)
{
	authz_free(Z);
	authn_free(A);
	kube_free(K);
	MHD_stop_daemon(S.d);
	OPENSSL_free(proxy_der);
	OPENSSL_free(other_der);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* ------------------------------------------------------------------------ */

static void expect_attrs(const char *method, const char *path, const char *watch, bool resource, const char *verb,
			 const char *ns, const char *group, const char *version, const char *res, const char *sub,
			 const char *name)
{
	struct authz_attrs a;
	struct req r = { .watch = watch };
	assert_int_equal(authz_attributes(method, path, arg, &r, &a), 0);
	char got[512], want[512];
	snprintf(got, sizeof got, "%d %s ns=%.*s g=%.*s v=%.*s r=%.*s s=%.*s n=%.*s", a.resource, a.verb, (int)a.ns.n,
		 a.ns.p ? a.ns.p : "", (int)a.group.n, a.group.p ? a.group.p : "", (int)a.version.n,
		 a.version.p ? a.version.p : "", (int)a.res.n, a.res.p ? a.res.p : "", (int)a.subresource.n,
		 a.subresource.p ? a.subresource.p : "", (int)a.name.n, a.name.p ? a.name.p : "");
	snprintf(want, sizeof want, "%d %s ns=%s g=%s v=%s r=%s s=%s n=%s", resource, verb, ns, group, version, res, sub,
		 name);
	if (strcmp(got, want))
		fail_msg("%s %s: got [%s] want [%s]", method, path, got, want);
}

static void test_attributes(void **st)
{
	const char *g = "external.metrics.k8s.io";
	expect_attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth", NULL, true, "list",
		     "default", g, "v1beta1", "queue_depth", "", "");
	expect_attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth/", NULL, true, "list",
		     "default", g, "v1beta1", "queue_depth", "", "");
	expect_attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth", "true", true,
		     "watch", "default", g, "v1beta1", "queue_depth", "", "");
	expect_attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth", "false", true,
		     "list", "default", g, "v1beta1", "queue_depth", "", "");
	expect_attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/m/name", NULL, true, "get", "ns", g,
		     "v1beta1", "m", "", "name");
	expect_attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/m/name/sub/more", NULL, true, "get",
		     "ns", g, "v1beta1", "m", "sub", "name");
	expect_attrs("HEAD", "/apis/external.metrics.k8s.io/v1beta1/queue_depth", NULL, true, "list", "", g, "v1beta1",
		     "queue_depth", "", "");
	expect_attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces", NULL, true, "list", "", g, "v1beta1",
		     "namespaces", "", "");
	expect_attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns", NULL, true, "get", "ns", g,
		     "v1beta1", "namespaces", "", "ns");
	expect_attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/status", NULL, true, "get", "ns", g,
		     "v1beta1", "namespaces", "status", "ns");
	expect_attrs("POST", "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/m", NULL, true, "create", "ns", g,
		     "v1beta1", "m", "", "");
	expect_attrs("DELETE", "/apis/external.metrics.k8s.io/v1beta1/namespaces/ns/m", NULL, true, "deletecollection",
		     "ns", g, "v1beta1", "m", "", "");
	expect_attrs("GET", "/apis/external.metrics.k8s.io/v1beta1/watch/namespaces/ns/m", NULL, true, "watch", "ns", g,
		     "v1beta1", "m", "", "");
	expect_attrs("GET", "/api/v1/namespaces/ns/pods", NULL, true, "list", "ns", "", "v1", "pods", "", "");
	/* non-resource */
	expect_attrs("GET", "/apis/external.metrics.k8s.io/v1beta1", NULL, false, "get", "", "", "", "", "", "");
	expect_attrs("GET", "/apis/external.metrics.k8s.io", NULL, false, "get", "", "", "", "", "", "");
	expect_attrs("GET", "/apis", NULL, false, "get", "", "", "", "", "", "");
	expect_attrs("GET", "/openapi/v2", NULL, false, "get", "", "", "", "", "", "");
	expect_attrs("GET", "/metrics", NULL, false, "get", "", "", "", "", "", "");
	expect_attrs("POST", "/healthz", NULL, false, "post", "", "", "", "", "", "");
	expect_attrs("GET", "/", NULL, false, "get", "", "", "", "", "", "");
	expect_attrs("GET", "/other/a/b/c", NULL, false, "get", "", "", "", "", "", "");
	struct authz_attrs a;
	assert_int_equal(authz_attributes("GET", "/apis/g/v1/watch", NULL, NULL, &a), -1);
}

static void test_review_and_cache(void **st)
{
	struct auth_result out;
	stand_in('A', NULL);
	struct req r = proxied("/apis/external.metrics.k8s.io/v1beta1/namespaces/default/queue_depth",
			       "system:serviceaccount:kube-system:horizontal-pod-autoscaler", "system:serviceaccounts",
			       "system:serviceaccounts:kube-system");
	r.h[r.nh][0] = "X-Remote-Extra-Authentication.kubernetes.io%2fcredential-Id";
	r.h[r.nh++][1] = "JTI=1";
	r.h[r.nh][0] = "X-Remote-Uid";
	r.h[r.nh++][1] = "u-9";
	gate(&r, &out);
	assert_int_equal(out.code, 0);
	assert_int_equal(out.body.len, 0);
	assert_string_equal(out.user, "system:serviceaccount:kube-system:horizontal-pod-autoscaler");
	authz_result_release(&out);
	assert_int_equal(reviews(), 1);
	assert_string_equal(
		S.body,
		"{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SubjectAccessReview\",\"spec\":{"
		"\"resourceAttributes\":{\"namespace\":\"default\",\"verb\":\"list\",\"group\":\"external.metrics.k8s.io\","
		"\"version\":\"v1beta1\",\"resource\":\"queue_depth\"},"
		"\"user\":\"system:serviceaccount:kube-system:horizontal-pod-autoscaler\","
		"\"groups\":[\"system:serviceaccounts\",\"system:serviceaccounts:kube-system\",\"system:authenticated\"],"
		"\"extra\":{\"authentication.kubernetes.io/credential-id\":[\"JTI=1\"]},\"uid\":\"u-9\"}}");

	/* 1,000 identical requests within 10 s: still one review */
	for (int i = 0; i < 1000; i++) {
		fake_now += 9;
		gate(&r, &out);
		assert_int_equal(out.code, 0);
		authz_result_release(&out);
	}
	assert_int_equal(reviews(), 1);
	fake_now += 10000;
	gate(&r, &out);
	authz_result_release(&out);
	assert_int_equal(reviews(), 2);

	/* another namespace is another review */
	struct req r2 = proxied("/apis/external.metrics.k8s.io/v1beta1/namespaces/other/queue_depth",
				"system:serviceaccount:kube-system:horizontal-pod-autoscaler", NULL, NULL);
	gate(&r2, &out);
	authz_result_release(&out);
	assert_int_equal(reviews(), 3);

	/* non-resource */
	struct req d = proxied("/apis/external.metrics.k8s.io/v1beta1", "system:kube-aggregator", NULL, NULL);
	gate(&d, &out);
	assert_int_equal(out.code, 0);
	authz_result_release(&out);
	assert_string_equal(S.body, "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":\"SubjectAccessReview\",\"spec\":{"
				    "\"nonResourceAttributes\":{\"path\":\"/apis/external.metrics.k8s.io/v1beta1\","
				    "\"verb\":\"get\"},\"user\":\"system:kube-aggregator\","
				    "\"groups\":[\"system:authenticated\"]}}");
}

static void test_no_review_needed(void **st)
{
	struct auth_result out;
	stand_in('D', NULL);
	fake_now += 60000;
	/* the availability check: system:masters */
	struct req m = proxied("/apis/external.metrics.k8s.io/v1beta1", "system:kube-aggregator", "system:masters", NULL);
	gate(&m, &out);
	assert_int_equal(out.code, 0);
	authz_result_release(&out);
	struct req mr = proxied("/apis/external.metrics.k8s.io/v1beta1/namespaces/a/b", "x", "system:masters", NULL);
	gate(&mr, &out);
	assert_int_equal(out.code, 0);
	authz_result_release(&out);
	/* probes: anonymous on /healthz /livez /readyz, any verb */
	const char *paths[] = { "/healthz", "/livez", "/readyz", "/readyz/" };
	for (int i = 0; i < 3; i++) {
		struct req p = { .path = paths[i] };
		gate(&p, &out);
		assert_int_equal(out.code, 0);
		assert_string_equal(out.user, "system:anonymous");
		authz_result_release(&out);
	}
	struct req post = { .path = "/healthz", .method = "POST" };
	gate(&post, &out);
	assert_int_equal(out.code, 0);
	authz_result_release(&out);
	assert_int_equal(reviews(), 0);
	/* not exact: reviewed (and denied) */
	struct req ping = { .path = "/livez/ping" };
	gate(&ping, &out);
	assert_int_equal(out.code, 403);
	authz_result_release(&out);
	struct req slash = { .path = paths[3] };
	gate(&slash, &out);
	assert_int_equal(out.code, 403);
	authz_result_release(&out);
	assert_int_equal(reviews(), 2);
}

static void expect_body(struct auth_result *out, int code, const char *body)
{
	assert_int_equal(out->code, code);
	assert_non_null(out->body.data);
	assert_string_equal(out->body.data, body);
	authz_result_release(out);
}

static void test_refusals(void **st)
{
	struct auth_result out;
	fake_now += 60000;
	stand_in('N', NULL);
	struct req r = proxied("/apis/external.metrics.k8s.io/v1beta1/namespaces/prod/queue_depth",
			       "system:serviceaccount:kube-system:horizontal-pod-autoscaler", NULL, NULL);
	gate(&r, &out);
	expect_body(&out, 403,
		    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
		    "\"queue_depth.external.metrics.k8s.io is forbidden: User \\\"system:serviceaccount:kube-system:"
		    "horizontal-pod-autoscaler\\\" cannot list resource \\\"queue_depth\\\" in API group "
		    "\\\"external.metrics.k8s.io\\\" in the namespace \\\"prod\\\"\",\"reason\":\"Forbidden\",\"details\":"
		    "{\"group\":\"external.metrics.k8s.io\",\"kind\":\"queue_depth\"},\"code\":403}\n");
	/* a denial is cached too */
	gate(&r, &out);
	authz_result_release(&out);
	assert_int_equal(reviews(), 1);

	/* with the reviewer's reason, a name, and characters the sanitizer escapes */
	stand_in('D', "no RBAC policy matched");
	struct req n = proxied("/apis/external.metrics.k8s.io/v1beta1/namespaces/prod/m/obj", "a<b>&\"c", NULL, NULL);
	gate(&n, &out);
	expect_body(&out, 403,
		    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
		    "\"m.external.metrics.k8s.io \\\"obj\\\" is forbidden: User \\\"a\\u0026lt;b\\u0026gt;\\u0026amp;\\\\\\\"c\\\" "
		    "cannot get resource \\\"m\\\" in API group \\\"external.metrics.k8s.io\\\" in the namespace \\\"prod\\\": "
		    "no RBAC policy matched\",\"reason\":\"Forbidden\",\"details\":{\"name\":\"obj\",\"group\":"
		    "\"external.metrics.k8s.io\",\"kind\":\"m\"},\"code\":403}\n");

	/* anonymous, non-resource */
	struct req anon = { .path = "/apis/external.metrics.k8s.io/v1beta1" };
	anon.h[0][0] = "X-Remote-User"; /* ignored: no client certificate */
	anon.h[0][1] = "system:admin";
	anon.nh = 1;
	stand_in('N', NULL);
	gate(&anon, &out);
	assert_string_equal(out.user, "system:anonymous");
	expect_body(&out, 403,
		    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
		    "\"forbidden: User \\\"system:anonymous\\\" cannot get path \\\"/apis/external.metrics.k8s.io/v1beta1\\\"\","
		    "\"reason\":\"Forbidden\",\"details\":{},\"code\":403}\n");
	assert_non_null(strstr(S.body, "\"groups\":[\"system:unauthenticated\"]"));

	/* a client certificate from another CA: 401 */
	struct req bad = proxied("/apis/external.metrics.k8s.io/v1beta1", "system:kube-aggregator", "system:masters", NULL);
	bad.cert = false;
	bad.bad_cert = true;
	gate(&bad, &out);
	assert_non_null(strstr(out.why, "unknown authority"));
	expect_body(&out, 401,
		    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
		    "\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}\n");

	/* a special verb without a resource */
	struct req w = proxied("/apis/external.metrics.k8s.io/v1beta1/watch", "x", NULL, NULL);
	gate(&w, &out);
	assert_int_equal(out.code, 500);
	authz_result_release(&out);
}

static void test_review_failures(void **st)
{
	struct auth_result out;
	fake_now += 60000;
	stand_in('F', NULL);
	struct req r = proxied("/apis/external.metrics.k8s.io/v1beta1/namespaces/prod/queue_depth", "bob", NULL, NULL);
	gate(&r, &out);
	expect_body(&out, 500,
		    "{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":"
		    "\"Internal error occurred: subjectaccessreview failed: HTTP 500: etcd is down\",\"reason\":"
		    "\"InternalError\",\"details\":{\"causes\":[{\"message\":\"subjectaccessreview failed: HTTP 500: etcd is "
		    "down\"}]},\"code\":500}\n");
	/* not cached: asked again, and a recovery is seen at once */
	stand_in('A', NULL);
	gate(&r, &out);
	assert_int_equal(out.code, 0);
	authz_result_release(&out);
	assert_int_equal(reviews(), 1);

	fake_now += 60000;
	stand_in('B', NULL);
	gate(&r, &out);
	assert_int_equal(out.code, 500);
	assert_non_null(strstr(out.body.data, "both allow and deny"));
	authz_result_release(&out);
}

struct burst {
	int refused;
};

static void *burst(void *arg)
{
	struct burst *b = arg;
	for (int i = 0; i < 50; i++) {
		struct req r = proxied("/apis/external.metrics.k8s.io/v1beta1/namespaces/burst/queue_depth", "hpa", NULL,
				       NULL);
		struct auth_result out;
		gate(&r, &out);
		if (out.code)
			b->refused++;
		authz_result_release(&out);
	}
	return NULL;
}

/* concurrent identical requests on a cold cache share one review */
static void test_single_flight(void **st)
{
	fake_now += 60000;
	stand_in('A', NULL);
	S.delay_ms = 50;
	pthread_t t[16];
	struct burst b[16];
	for (int i = 0; i < 16; i++) {
		b[i].refused = 0;
		pthread_create(&t[i], NULL, burst, &b[i]);
	}
	for (int i = 0; i < 16; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(b[i].refused, 0);
	}
	S.delay_ms = 0;
	assert_int_equal(reviews(), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_review_and_cache),
		cmocka_unit_test(test_no_review_needed),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_review_failures),
		cmocka_unit_test(test_single_flight),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
