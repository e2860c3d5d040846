/* Unit tests: delegated authentication — front-proxy certificate
 * verification (chain, validity, clientAuth, allowed names), identity
 * headers, TokenReview with its cache, anonymous, the requestheader
 * configuration from a file and from the ConfigMap (served by an in-process
 * stand-in for the API server), and its rotation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "authn.h"
#include "kube.h"

#include <microhttpd.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

static void write_file(const char *name, const char *text)
{
	FILE *f = fopen(path_of(name), "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* ------------------------------------------------------------------------ */
/* certificates                                                             */

struct cert {
	X509 *x;
	EVP_PKEY *key;
	unsigned char *der;
	int len;
};

enum eku { EKU_CLIENT, EKU_SERVER, EKU_NONE };

/* Issues a certificate: a CA when issuer is NULL or ca is set; days_from and
 * days_to are offsets from now. */
static struct cert issue(const char *cn, const struct cert *issuer, bool ca, enum eku eku, long days_from,
			 long days_to)
{
	static long serial = 1;
	struct cert c = { 0 };
	c.key = EVP_EC_gen("P-256");
	c.x = X509_new();
	X509_set_version(c.x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c.x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(c.x), days_from * 86400L);
	X509_gmtime_adj(X509_getm_notAfter(c.x), days_to * 86400L);
	X509_set_pubkey(c.x, c.key);
	X509_NAME *nm = X509_get_subject_name(c.x);
	X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c.x, issuer ? X509_get_subject_name(issuer->x) : nm);
	X509V3_CTX v3;
	X509V3_set_ctx(&v3, issuer ? issuer->x : c.x, c.x, NULL, NULL, 0);
	X509_EXTENSION *e;
	if (ca) {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints, "critical,CA:TRUE");
		X509_add_ext(c.x, e, -1);
		X509_EXTENSION_free(e);
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
		X509_add_ext(c.x, e, -1);
		X509_EXTENSION_free(e);
	} else {
		e = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage, "critical,digitalSignature");
		X509_add_ext(c.x, e, -1);
		X509_EXTENSION_free(e);
		if (eku != EKU_NONE) {
			e = X509V3_EXT_conf_nid(NULL, &v3, NID_ext_key_usage, eku == EKU_CLIENT ? "clientAuth" : "serverAuth");
			X509_add_ext(c.x, e, -1);
			X509_EXTENSION_free(e);
		}
	}
	assert_true(X509_sign(c.x, issuer ? issuer->key : c.key, EVP_sha256()) > 0);
	c.len = i2d_X509(c.x, &c.der);
	assert_true(c.len > 0);
	return c;
}

static void cert_free(struct cert *c)
{
	X509_free(c->x);
	EVP_PKEY_free(c->key);
	OPENSSL_free(c->der);
	memset(c, 0, sizeof *c);
}

static char *cert_pem(const struct cert *c)
{
	BIO *b = BIO_new(BIO_s_mem());
	PEM_write_bio_X509(b, c->x);
	char *data;
	long n = BIO_get_mem_data(b, &data);
	char *s = strndup(data, (size_t)n);
	BIO_free(b);
	return s;
}

static void write_cert(const char *name, const struct cert *c)
{
	char *p = cert_pem(c);
	write_file(name, p);
	free(p);
}

/* ------------------------------------------------------------------------ */
/* requests                                                                 */

struct req {
	const char *h[16][2];
	int nh;
	struct auth_der der[4];
	size_t nder;
};

static void visit_headers(void *ctx, auth_visit_fn visit, void *vctx)
{
	struct req *r = ctx;
	for (int i = 0; i < r->nh; i++)
		visit(vctx, r->h[i][0], r->h[i][1]);
}

static void req_header(struct req *r, const char *name, const char *value)
{
	r->h[r->nh][0] = name;
	r->h[r->nh][1] = value;
	r->nh++;
}

static void req_cert(struct req *r, const struct cert *c)
{
	r->der[r->nder].data = c->der;
	r->der[r->nder].len = (size_t)c->len;
	r->nder++;
}

static enum authn_result run(struct authn *a, struct req *r, struct auth_user *u, char *why)
{
	struct auth_input in = {
		.method = "GET",
		.path = "/apis/external.metrics.k8s.io/v1beta1",
		.peer_certs = r->der,
		.npeer_certs = r->nder,
		.ctx = r,
		.headers = visit_headers,
	};
	return authn_authenticate(a, &in, u, why, 512);
}

static void assert_groups(const struct auth_user *u, const char *const *want, size_t n)
{
	if (u->ngroups != n) {
		for (size_t i = 0; i < u->ngroups; i++)
			print_message("group %zu: %s\n", i, u->groups[i]);
		fail_msg("%zu groups, want %zu", u->ngroups, n);
	}
	for (size_t i = 0; i < n; i++)
		assert_string_equal(u->groups[i], want[i]);
}

/* ------------------------------------------------------------------------ */
/* an in-process stand-in for the API server: ConfigMap and TokenReview     */

static struct {
	struct MHD_Daemon *d;
	int port;
	pthread_mutex_t mu;
	int cm_code;
	char cm_body[16384];
	int tr_fail;        /* HTTP code to fail TokenReviews with, 0 = answer */
	int n_cm, n_tr;
	char tr_body[1024];
} S;

struct upload {
	char data[16384];
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
	char body[20000];
	int code = 404;
	snprintf(body, sizeof body, "{\"kind\":\"Status\",\"code\":404}");
	pthread_mutex_lock(&S.mu);
	if (!strcmp(url, "/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication")) {
		S.n_cm++;
		code = S.cm_code;
		snprintf(body, sizeof body, "%s", S.cm_body);
	} else if (!strcmp(url, "/apis/authentication.k8s.io/v1/tokenreviews")) {
		S.n_tr++;
		snprintf(S.tr_body, sizeof S.tr_body, "%.1000s", u->data);
		cJSON *j = cJSON_Parse(u->data);
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "spec"), "token");
		const char *tok = cJSON_IsString(t) ? t->valuestring : "";
		code = 201;
		if (S.tr_fail) {
			code = S.tr_fail;
			snprintf(body, sizeof body, "{\"kind\":\"Status\",\"message\":\"down\"}");
		} else if (!strcmp(tok, "good")) {
			snprintf(body, sizeof body,
				 "{\"kind\":\"TokenReview\",\"status\":{\"authenticated\":true,\"user\":{\"username\":"
				 "\"system:serviceaccount:monitoring:prometheus\",\"uid\":\"u-1\",\"groups\":[\"system:"
				 "serviceaccounts\",\"system:authenticated\"],\"extra\":{\"b\":[\"2\"],\"a\":[\"1\",\"x\"]}}}}");
		} else if (!strcmp(tok, "errored")) {
			snprintf(body, sizeof body, "{\"kind\":\"TokenReview\",\"status\":{\"error\":\"token expired\"}}");
		} else {
			snprintf(body, sizeof body, "{\"kind\":\"TokenReview\",\"status\":{\"user\":{}}}");
		}
		cJSON_Delete(j);
	}
	pthread_mutex_unlock(&S.mu);
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

/* Sets the ConfigMap the stand-in serves; ca may be NULL (no requestheader CA). */
static void set_configmap(int code, const char *ca_pem, const char *allowed, const char *user_hdrs)
{
	cJSON *cm = cJSON_CreateObject();
	cJSON_AddStringToObject(cm, "kind", code == 200 ? "ConfigMap" : "Status");
	if (code == 403)
		cJSON_AddStringToObject(cm, "message",
					"configmaps \"extension-apiserver-authentication\" is forbidden: User "
					"\"system:serviceaccount:metrics:scalewise\" cannot get resource \"configmaps\"");
	cJSON *data = cJSON_AddObjectToObject(cm, "data");
	cJSON_AddStringToObject(data, "client-ca-file", "ignored");
	if (ca_pem)
		cJSON_AddStringToObject(data, "requestheader-client-ca-file", ca_pem);
	if (allowed)
		cJSON_AddStringToObject(data, "requestheader-allowed-names", allowed);
	if (user_hdrs)
		cJSON_AddStringToObject(data, "requestheader-username-headers", user_hdrs);
	cJSON_AddStringToObject(data, "requestheader-group-headers", "[\"X-Remote-Group\"]");
	cJSON_AddStringToObject(data, "requestheader-extra-headers-prefix", "[\"X-Remote-Extra-\"]");
	char *s = cJSON_PrintUnformatted(cm);
	pthread_mutex_lock(&S.mu);
	S.cm_code = code;
	snprintf(S.cm_body, sizeof S.cm_body, "%s", s);
	pthread_mutex_unlock(&S.mu);
	free(s);
	cJSON_Delete(cm);
}

static struct kube *kube_for_standin(void)
{
	char kc[1024], err[512];
	snprintf(kc, sizeof kc,
		 "current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
		 "clusters: [{name: k, cluster: {server: 'http://127.0.0.1:%d'}}]\nusers: [{name: u, user: {token: t}}]\n",
		 S.port);
	write_file("kubeconfig", kc);
	struct kube_opts o = { .kubeconfig = path_of("kubeconfig"), .attempts = 1 };
	struct kube *k = kube_new(&o, err, sizeof err);
	assert_non_null(k);
	return k;
}

static int64_t fake_now;
static int64_t fake_clock(void)
{
	return fake_now;
}

/* ------------------------------------------------------------------------ */

static struct cert ca, other_ca, inter, proxy, proxy_any, other_proxy, expired, future, no_eku, server_eku,
	via_inter;

static int setup(void **st)
{
	snprintf(dir, sizeof dir, "%s/sw-authn-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(dir));
	ca = issue("front-proxy-ca", NULL, true, EKU_NONE, -1, 3650);
	other_ca = issue("front-proxy-ca", NULL, true, EKU_NONE, -1, 3650); /* same name, other key */
	inter = issue("intermediate", &ca, true, EKU_NONE, -1, 3650);
	proxy = issue("front-proxy-client", &ca, false, EKU_CLIENT, -1, 365);
	proxy_any = issue("someone-else", &ca, false, EKU_CLIENT, -1, 365);
	other_proxy = issue("front-proxy-client", &other_ca, false, EKU_CLIENT, -1, 365);
	expired = issue("front-proxy-client", &ca, false, EKU_CLIENT, -30, -1);
	future = issue("front-proxy-client", &ca, false, EKU_CLIENT, 2, 30);
	no_eku = issue("front-proxy-client", &ca, false, EKU_NONE, -1, 365);
	server_eku = issue("front-proxy-client", &ca, false, EKU_SERVER, -1, 365);
	via_inter = issue("front-proxy-client", &inter, false, EKU_CLIENT, -1, 365);
	write_cert("ca.crt", &ca);
	write_cert("other-ca.crt", &other_ca);

	pthread_mutex_init(&S.mu, NULL);
	S.d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL, NULL, serve,
			       NULL, MHD_OPTION_NOTIFY_COMPLETED, served, NULL, MHD_OPTION_END);
	assert_non_null(S.d);
	S.port = MHD_get_daemon_info(S.d, MHD_DAEMON_INFO_BIND_PORT)->port;
	return 0;
}

static int teardown(void **st)
{
	MHD_stop_daemon(S.d);
	struct cert *all[] = { &ca, &other_ca, &inter, &proxy, &proxy_any, &other_proxy, &expired, &future, &no_eku,
			       &server_eku, &via_inter };
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		cert_free(all[i]);
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

static struct authn *file_authn(const char *const *allowed, size_t nallowed, struct kube *k)
{
	char err[1024];
	struct authn_opts o = { .client_ca_file = path_of("ca.crt"), .allowed_names = allowed,
				.nallowed_names = nallowed, .poll_ms = -1 };
	struct authn *a = authn_new(&o, k, err, sizeof err);
	if (!a)
		fail_msg("authn_new: %s", err);
	return a;
}

static const char *const front_proxy_client[] = { "front-proxy-client" };

/* ------------------------------------------------------------------------ */
/* request-header                                                           */

static void test_front_proxy_identity(void **st)
{
	struct authn *a = file_authn(front_proxy_client, 1, NULL);
	struct req r = { 0 };
	struct auth_user u;
	char why[512];
	req_cert(&r, &proxy);
	req_header(&r, "X-Remote-User", "system:serviceaccount:kube-system:horizontal-pod-autoscaler");
	req_header(&r, "X-Remote-Group", "system:serviceaccounts");
	req_header(&r, "x-remote-group", "system:serviceaccounts:kube-system"); /* names are case-insensitive */
	req_header(&r, "X-Remote-Group", "");                                   /* empty lines are skipped */
	req_header(&r, "X-Remote-Group", "a,b");                                /* one line is one group */
	req_header(&r, "X-Remote-Uid", "uid-7");
	req_header(&r, "X-Remote-Extra-Authentication.kubernetes.io%2fcredential-Id", "JTI=abc");
	req_header(&r, "X-Remote-Extra-Scopes", "view");
	req_header(&r, "X-Remote-Extra-Scopes", "edit");
	req_header(&r, "X-Remote-Extra-Bad%zzKey", "v");
	req_header(&r, "X-Remote-User", "second-line-is-ignored");
	assert_int_equal(run(a, &r, &u, why), AUTHN_OK);
	assert_string_equal(u.name, "system:serviceaccount:kube-system:horizontal-pod-autoscaler");
	assert_string_equal(u.uid, "uid-7");
	const char *const groups[] = { "system:serviceaccounts", "system:serviceaccounts:kube-system", "a,b",
				       "system:authenticated" };
	assert_groups(&u, groups, 4);
	assert_int_equal(u.nextra, 3);
	assert_string_equal(u.extra[0].key, "authentication.kubernetes.io/credential-id");
	assert_string_equal(u.extra[0].values[0], "JTI=abc");
	assert_string_equal(u.extra[1].key, "bad%zzkey"); /* malformed escape: kept as is */
	assert_string_equal(u.extra[2].key, "scopes");
	assert_int_equal(u.extra[2].nvalues, 2);
	assert_string_equal(u.extra[2].values[0], "view");
	assert_string_equal(u.extra[2].values[1], "edit");
	auth_user_release(&u);

	/* the aggregator's availability check */
	struct req m = { 0 };
	req_cert(&m, &proxy);
	req_header(&m, "X-Remote-User", "system:kube-aggregator");
	req_header(&m, "X-Remote-Group", "system:masters");
	assert_int_equal(run(a, &m, &u, why), AUTHN_OK);
	const char *const mg[] = { "system:masters", "system:authenticated" };
	assert_groups(&u, mg, 2);
	auth_user_release(&u);

	/* system:authenticated is not added twice, nor to the unauthenticated */
	struct req g = { 0 };
	req_cert(&g, &proxy);
	req_header(&g, "X-Remote-User", "x");
	req_header(&g, "X-Remote-Group", "system:unauthenticated");
	assert_int_equal(run(a, &g, &u, why), AUTHN_OK);
	const char *const ug[] = { "system:unauthenticated" };
	assert_groups(&u, ug, 1);
	auth_user_release(&u);
	authn_free(a);
}

static void test_headers_without_certificate(void **st)
{
	struct authn *a = file_authn(front_proxy_client, 1, NULL);
	struct req r = { 0 };
	struct auth_user u;
	char why[512];
	req_header(&r, "X-Remote-User", "admin");
	req_header(&r, "X-Remote-Group", "system:masters");
	assert_int_equal(run(a, &r, &u, why), AUTHN_ANONYMOUS);
	assert_string_equal(u.name, "system:anonymous");
	const char *const g[] = { "system:unauthenticated" };
	assert_groups(&u, g, 1);
	auth_user_release(&u);

	/* a verified proxy that names nobody: not authenticated by it, anonymous */
	struct req n = { 0 };
	req_cert(&n, &proxy);
	req_header(&n, "X-Remote-Group", "system:masters");
	assert_int_equal(run(a, &n, &u, why), AUTHN_ANONYMOUS);
	assert_string_equal(u.name, "system:anonymous");
	auth_user_release(&u);
	authn_free(a);
}

static void expect_refused(struct authn *a, const struct cert *leaf, const struct cert *extra, const char *needle)
{
	struct req r = { 0 };
	struct auth_user u;
	char why[512];
	req_cert(&r, leaf);
	if (extra)
		req_cert(&r, extra);
	req_header(&r, "X-Remote-User", "admin");
	req_header(&r, "X-Remote-Group", "system:masters");
	assert_int_equal(run(a, &r, &u, why), AUTHN_FAILED);
	assert_null(u.name);
	if (!strstr(why, needle))
		fail_msg("why [%s] does not contain [%s]", why, needle);
}

static void test_bad_certificates(void **st)
{
	struct authn *a = file_authn(front_proxy_client, 1, NULL);
	expect_refused(a, &other_proxy, NULL, "unknown authority");
	expect_refused(a, &proxy_any, NULL, "subject with cn=someone-else is not in the allowed list");
	expect_refused(a, &expired, NULL, "expired");
	expect_refused(a, &future, NULL, "not yet valid");
	expect_refused(a, &no_eku, NULL, "client authentication");
	expect_refused(a, &server_eku, NULL, "unsuitable certificate purpose");
	expect_refused(a, &via_inter, NULL, "unknown authority"); /* intermediate not sent */
	expect_refused(a, &ca, NULL, "");                        /* the CA itself is no client */
	/* a refused certificate is refused again (no cached success) */
	expect_refused(a, &other_proxy, NULL, "unknown authority");

	struct req r = { 0 };
	struct auth_user u;
	char why[512];
	req_cert(&r, &via_inter);
	req_cert(&r, &inter);
	req_header(&r, "X-Remote-User", "viaintermediate");
	assert_int_equal(run(a, &r, &u, why), AUTHN_OK);
	assert_string_equal(u.name, "viaintermediate");
	auth_user_release(&u);

	/* garbage DER */
	struct req gb = { 0 };
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01 };
	gb.der[0] = (struct auth_der){ junk, sizeof junk };
	gb.nder = 1;
	req_header(&gb, "X-Remote-User", "admin");
	assert_int_equal(run(a, &gb, &u, why), AUTHN_FAILED);
	assert_non_null(strstr(why, "cannot be parsed"));
	authn_free(a);

	/* no allowed names: any CN the CA signed */
	a = file_authn(NULL, 0, NULL);
	struct req any = { 0 };
	req_cert(&any, &proxy_any);
	req_header(&any, "X-Remote-User", "bob");
	assert_int_equal(run(a, &any, &u, why), AUTHN_OK);
	auth_user_release(&u);
	authn_free(a);
}

static void test_ca_file_rotation(void **st)
{
	struct authn *a = file_authn(front_proxy_client, 1, NULL);
	char err[512], *pem = authn_client_ca_pem(a);
	char *want = cert_pem(&ca);
	assert_string_equal(pem, want);
	free(pem);
	free(want);
	struct req r = { 0 };
	struct auth_user u;
	char why[512];
	req_cert(&r, &proxy);
	req_header(&r, "X-Remote-User", "bob");
	assert_int_equal(run(a, &r, &u, why), AUTHN_OK); /* now cached */
	auth_user_release(&u);
	assert_int_equal(authn_refresh(a, err, sizeof err), 0);

	/* rotate: a new file (rename, as a Secret volume does) with the other CA */
	write_cert("ca.crt.new", &other_ca);
	assert_int_equal(rename(path_of("ca.crt.new"), path_of("ca.crt")), 0);
	assert_int_equal(authn_refresh(a, err, sizeof err), 1);
	assert_int_equal(authn_generation(a), 1);
	assert_int_equal(run(a, &r, &u, why), AUTHN_FAILED);
	struct req o = { 0 };
	req_cert(&o, &other_proxy);
	req_header(&o, "X-Remote-User", "bob");
	assert_int_equal(run(a, &o, &u, why), AUTHN_OK);
	auth_user_release(&u);

	/* a broken file keeps the last good configuration */
	write_file("ca.crt.new", "not a certificate\n");
	assert_int_equal(rename(path_of("ca.crt.new"), path_of("ca.crt")), 0);
	assert_int_equal(authn_refresh(a, err, sizeof err), -1);
	assert_non_null(strstr(err, "no PEM certificate"));
	assert_int_equal(run(a, &o, &u, why), AUTHN_OK);
	auth_user_release(&u);
	write_cert("ca.crt", &ca);
	authn_free(a);

	struct authn_opts bad = { .client_ca_file = path_of("missing.crt"), .poll_ms = -1 };
	assert_null(authn_new(&bad, NULL, err, sizeof err));
	assert_non_null(strstr(err, "missing.crt"));
}

/* ------------------------------------------------------------------------ */
/* bearer tokens                                                            */

static void test_tokens(void **st)
{
	struct kube *k = kube_for_standin();
	char err[512], why[512];
	struct authn_opts o = { .client_ca_file = path_of("ca.crt"), .allowed_names = front_proxy_client,
				.nallowed_names = 1, .poll_ms = -1, .clock_ms = fake_clock };
	fake_now = 1000000;
	struct authn *a = authn_new(&o, k, err, sizeof err);
	assert_non_null(a);
	struct auth_user u;
	S.n_tr = 0;

	struct req r = { 0 };
	req_header(&r, "Authorization", "Bearer good");
	assert_int_equal(run(a, &r, &u, why), AUTHN_OK);
	assert_string_equal(u.name, "system:serviceaccount:monitoring:prometheus");
	assert_string_equal(u.uid, "u-1");
	const char *const g[] = { "system:serviceaccounts", "system:authenticated" };
	assert_groups(&u, g, 2);
	assert_int_equal(u.nextra, 2);
	assert_string_equal(u.extra[0].key, "a");
	assert_int_equal(u.extra[0].nvalues, 2);
	auth_user_release(&u);
	assert_int_equal(S.n_tr, 1);
	assert_string_equal(S.tr_body,
			    "{\"apiVersion\":\"authentication.k8s.io/v1\",\"kind\":\"TokenReview\",\"spec\":{\"token\":\"good\"}}");
	/* cached for 10 s */
	fake_now += 9999;
	assert_int_equal(run(a, &r, &u, why), AUTHN_OK);
	auth_user_release(&u);
	assert_int_equal(S.n_tr, 1);
	fake_now += 1;
	assert_int_equal(run(a, &r, &u, why), AUTHN_OK);
	auth_user_release(&u);
	assert_int_equal(S.n_tr, 2);

	/* lower-case scheme; extra words after the token are ignored */
	struct req lc = { 0 };
	req_header(&lc, "authorization", "bearer good trailing");
	assert_int_equal(run(a, &lc, &u, why), AUTHN_OK);
	auth_user_release(&u);
	assert_int_equal(S.n_tr, 2);

	/* an invalid token is 401, and cached too */
	struct req bad = { 0 };
	req_header(&bad, "Authorization", "Bearer nope");
	assert_int_equal(run(a, &bad, &u, why), AUTHN_FAILED);
	assert_string_equal(why, "invalid bearer token");
	assert_int_equal(run(a, &bad, &u, why), AUTHN_FAILED);
	assert_int_equal(S.n_tr, 3);

	/* status.error is an error: 401, not cached */
	struct req er = { 0 };
	req_header(&er, "Authorization", "Bearer errored");
	assert_int_equal(run(a, &er, &u, why), AUTHN_FAILED);
	assert_non_null(strstr(why, "token expired"));
	assert_int_equal(run(a, &er, &u, why), AUTHN_FAILED);
	assert_int_equal(S.n_tr, 5);

	/* the API server failing: 401, not cached */
	S.tr_fail = 500;
	struct req down = { 0 };
	req_header(&down, "Authorization", "Bearer fresh");
	assert_int_equal(run(a, &down, &u, why), AUTHN_FAILED);
	assert_non_null(strstr(why, "HTTP 500"));
	assert_int_equal(run(a, &down, &u, why), AUTHN_FAILED);
	assert_int_equal(S.n_tr, 7);
	S.tr_fail = 0;

	/* not a bearer token: not applicable, anonymous */
	const char *notbearer[] = { "Basic dTpw", "Bearer", "Bearer ", "Bearertoken" };
	for (int i = 0; i < 4; i++) {
		struct req nb = { 0 };
		req_header(&nb, "Authorization", notbearer[i]);
		assert_int_equal(run(a, &nb, &u, why), AUTHN_ANONYMOUS);
		auth_user_release(&u);
	}
	assert_int_equal(S.n_tr, 7);

	/* a bad client certificate and a good token: the token wins */
	struct req both = { 0 };
	req_cert(&both, &other_proxy);
	req_header(&both, "Authorization", "Bearer good");
	assert_int_equal(run(a, &both, &u, why), AUTHN_OK);
	assert_string_equal(u.name, "system:serviceaccount:monitoring:prometheus");
	auth_user_release(&u);
	/* a bad certificate and a bad token: both reasons */
	struct req worse = { 0 };
	req_cert(&worse, &other_proxy);
	req_header(&worse, "Authorization", "Bearer nope");
	assert_int_equal(run(a, &worse, &u, why), AUTHN_FAILED);
	assert_non_null(strstr(why, "unknown authority"));
	assert_non_null(strstr(why, "invalid bearer token"));
	authn_free(a);

	/* no API server: a token cannot be reviewed */
	a = file_authn(front_proxy_client, 1, NULL);
	assert_int_equal(run(a, &r, &u, why), AUTHN_FAILED);
	authn_free(a);
	kube_free(k);
}

/* ------------------------------------------------------------------------ */
/* the ConfigMap                                                            */

static void test_configmap(void **st)
{
	struct kube *k = kube_for_standin();
	char err[1024], why[512];
	struct authn_opts o = { .poll_ms = -1 };
	struct auth_user u;

	set_configmap(403, NULL, NULL, NULL);
	assert_null(authn_new(&o, k, err, sizeof err));
	assert_non_null(strstr(err, "forbidden"));
	assert_non_null(strstr(err, "kubectl create rolebinding -n kube-system"));
	assert_non_null(strstr(err, "--role=extension-apiserver-authentication-reader"));
	assert_non_null(strstr(err, "--serviceaccount=metrics:scalewise"));

	set_configmap(500, NULL, NULL, NULL);
	assert_null(authn_new(&o, k, err, sizeof err));
	assert_non_null(strstr(err, "HTTP 500"));

	/* not found: request-header off (headers ignored), then it appears */
	set_configmap(404, NULL, NULL, NULL);
	struct authn *a = authn_new(&o, k, err, sizeof err);
	assert_non_null(a);
	assert_null(authn_client_ca_pem(a));
	struct req r = { 0 };
	req_cert(&r, &proxy);
	req_header(&r, "X-Custom-User", "custom");
	req_header(&r, "X-Remote-User", "standard");
	assert_int_equal(run(a, &r, &u, why), AUTHN_ANONYMOUS);
	auth_user_release(&u);
	assert_int_equal(authn_refresh(a, err, sizeof err), -1);
	assert_non_null(strstr(err, "not found"));

	char *pem = cert_pem(&ca);
	set_configmap(200, pem, "[\"front-proxy-client\"]", "[\"X-Custom-User\",\"X-Remote-User\"]");
	assert_int_equal(authn_refresh(a, err, sizeof err), 1);
	assert_int_equal(authn_refresh(a, err, sizeof err), 0); /* same content: no swap */
	assert_int_equal(run(a, &r, &u, why), AUTHN_OK);
	assert_string_equal(u.name, "custom"); /* header names from the ConfigMap, in order */
	assert_string_equal(u.uid, "");        /* no uid headers in the ConfigMap */
	auth_user_release(&u);
	char *inuse = authn_client_ca_pem(a);
	assert_string_equal(inuse, pem);
	free(inuse);

	/* allowed names from the ConfigMap */
	struct req other = { 0 };
	req_cert(&other, &proxy_any);
	req_header(&other, "X-Remote-User", "x");
	assert_int_equal(run(a, &other, &u, why), AUTHN_FAILED);

	/* a malformed list is refused and the old configuration stays */
	set_configmap(200, pem, "front-proxy-client", NULL);
	assert_int_equal(authn_refresh(a, err, sizeof err), -1);
	assert_non_null(strstr(err, "requestheader-allowed-names is not a JSON array of strings"));
	assert_int_equal(run(a, &r, &u, why), AUTHN_OK);
	auth_user_release(&u);
	authn_free(a);

	/* at start a malformed ConfigMap is fatal */
	assert_null(authn_new(&o, k, err, sizeof err));
	free(pem);
	kube_free(k);
}

/* the poller picks a CA change up without anyone asking */
static void test_configmap_poller(void **st)
{
	struct kube *k = kube_for_standin();
	char err[1024], why[512];
	char *pem = cert_pem(&ca), *other = cert_pem(&other_ca);
	set_configmap(200, pem, "[\"front-proxy-client\"]", NULL);
	struct authn_opts o = { .poll_ms = 20 };
	struct authn *a = authn_new(&o, k, err, sizeof err);
	assert_non_null(a);
	struct req r = { 0 }, r2 = { 0 };
	struct auth_user u;
	req_cert(&r, &proxy);
	req_header(&r, "X-Remote-User", "bob");
	req_cert(&r2, &other_proxy);
	req_header(&r2, "X-Remote-User", "bob");
	assert_int_equal(run(a, &r, &u, why), AUTHN_OK);
	auth_user_release(&u);
	assert_int_equal(run(a, &r2, &u, why), AUTHN_FAILED);

	set_configmap(200, other, "[\"front-proxy-client\"]", NULL);
	int64_t until = (int64_t)time(NULL) + 10;
	while (authn_generation(a) == 0 && time(NULL) < until) {
		struct timespec ts = { 0, 5 * 1000000L };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(authn_generation(a), 1);
	assert_int_equal(run(a, &r, &u, why), AUTHN_FAILED);
	assert_int_equal(run(a, &r2, &u, why), AUTHN_OK);
	auth_user_release(&u);
	authn_free(a);
	free(pem);
	free(other);
	kube_free(k);
}

static void test_string_lists(void **st)
{
	char **v;
	size_t n;
	assert_int_equal(authn_parse_string_list("[\"X-Remote-User\",\"b\"]", &v, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0], "X-Remote-User");
	assert_string_equal(v[1], "b");
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	assert_int_equal(authn_parse_string_list("", &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(authn_parse_string_list("[]", &v, &n), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(authn_parse_string_list("null", &v, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(authn_parse_string_list("[1]", &v, &n), -1);
	assert_int_equal(authn_parse_string_list("{\"a\":\"b\"}", &v, &n), -1);
	assert_int_equal(authn_parse_string_list("[\"a\"", &v, &n), -1);
	assert_int_equal(authn_parse_string_list("front-proxy-client", &v, &n), -1);
	char big[2000];
	size_t o = (size_t)snprintf(big, sizeof big, "[\"a\"");
	for (int i = 1; i < 65; i++)
		o += (size_t)snprintf(big + o, sizeof big - o, ",\"a\"");
	snprintf(big + o, sizeof big - o, "]");
	assert_int_equal(authn_parse_string_list(big, &v, &n), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_front_proxy_identity),
		cmocka_unit_test(test_headers_without_certificate),
		cmocka_unit_test(test_bad_certificates),
		cmocka_unit_test(test_ca_file_rotation),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_configmap),
		cmocka_unit_test(test_configmap_poller),
		cmocka_unit_test(test_string_lists),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
