/*
 * certs.c — certificate generation with OpenSSL.
 */
#include "certs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include "dl_crypto.h"
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void ossl_err(char *err, size_t errlen, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[256] = "";
	if (e)
		ERR_error_string_n(e, buf, sizeof buf);
	snprintf(err, errlen, "%s%s%s", what, e ? ": " : "", buf);
}

static EVP_PKEY *new_key(void)
{
	return EVP_EC_gen("P-256");
}

static int add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
	X509_EXTENSION *ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!ex)
		return -1;
	int ok = X509_add_ext(cert, ex, -1);
	X509_EXTENSION_free(ex);
	return ok ? 0 : -1;
}

struct cert_spec {
	const char *cn;
	const char *const *orgs;
	size_t norgs;
	const char *const *dns;
	size_t ndns;
	const char *const *ips;
	size_t nips;
	bool ca, server, client;
	int days;
};

/* Issues a certificate for key, signed by issuer/issuer_key (self-signed when NULL). */
static X509 *issue(const struct cert_spec *sp, EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key)
{
	X509 *c = X509_new();
	if (!c)
		return NULL;
	unsigned char serial[16];
	RAND_bytes(serial, sizeof serial);
	serial[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(serial, sizeof serial, NULL);
	ASN1_INTEGER *ai = bn ? BN_to_ASN1_INTEGER(bn, NULL) : NULL;
	BN_free(bn);
	if (!ai)
		goto fail;
	X509_set_serialNumber(c, ai);
	ASN1_INTEGER_free(ai);
	X509_set_version(c, 2);
	X509_gmtime_adj(X509_getm_notBefore(c), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c), (long)sp->days * 86400L);
	X509_set_pubkey(c, key);
	X509_NAME *name = X509_get_subject_name(c);
	for (size_t i = 0; i < sp->norgs; i++)
		X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)sp->orgs[i], -1, -1, 0);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)sp->cn, -1, -1, 0);
	X509_set_issuer_name(c, issuer ? X509_get_subject_name(issuer) : name);
	X509 *iss = issuer ? issuer : c;
	if (sp->ca) {
		if (add_ext(c, iss, NID_basic_constraints, "critical,CA:TRUE") ||
		    add_ext(c, iss, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"))
			goto fail;
	} else {
		if (add_ext(c, iss, NID_basic_constraints, "critical,CA:FALSE") ||
		    add_ext(c, iss, NID_key_usage, "critical,digitalSignature,keyEncipherment"))
			goto fail;
		const char *eku = sp->server && sp->client ? "serverAuth,clientAuth" : sp->server ? "serverAuth" : "clientAuth";
		if (add_ext(c, iss, NID_ext_key_usage, eku))
			goto fail;
	}
	add_ext(c, iss, NID_subject_key_identifier, "hash");
	if (issuer)
		add_ext(c, iss, NID_authority_key_identifier, "keyid:always");
	if (sp->ndns || sp->nips) {
		char san[8192];
		size_t used = 0;
		for (size_t i = 0; i < sp->ndns; i++)
			used += (size_t)snprintf(san + used, used < sizeof san ? sizeof san - used : 0, "%sDNS:%s",
						 used ? "," : "", sp->dns[i]);
		for (size_t i = 0; i < sp->nips; i++)
			used += (size_t)snprintf(san + used, used < sizeof san ? sizeof san - used : 0, "%sIP:%s",
						 used ? "," : "", sp->ips[i]);
		if (used >= sizeof san || add_ext(c, iss, NID_subject_alt_name, san))
			goto fail;
	}
	if (!X509_sign(c, issuer_key ? issuer_key : key, EVP_sha256()))
		goto fail;
	return c;
fail:
	X509_free(c);
	return NULL;
}

static int write_pem(const char *path, X509 *const *certs, size_t ncerts, EVP_PKEY *key, char *err, size_t errlen)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, key ? 0600 : 0644);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		snprintf(err, errlen, "cannot write '%s': %s", path, strerror(errno));
		return -1;
	}
	int ok = 1;
	for (size_t i = 0; i < ncerts; i++)
		ok &= PEM_write_X509(f, certs[i]);
	if (key)
		ok &= PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	if (fclose(f) || !ok) {
		snprintf(err, errlen, "cannot write '%s'", path);
		return -1;
	}
	return 0;
}

static bool is_ip(const char *s)
{
	unsigned char b[16];
	return inet_pton(AF_INET, s, b) == 1 || inet_pton(AF_INET6, s, b) == 1;
}

/* Splits sans into DNS names and IP addresses (pointers into sans). */
static void split_sans(const char *const *sans, size_t n, const char **dns, size_t *ndns, const char **ips,
		       size_t *nips, size_t max)
{
	for (size_t i = 0; i < n; i++) {
		if (is_ip(sans[i])) {
			if (*nips < max)
				ips[(*nips)++] = sans[i];
		} else if (*ndns < max) {
			dns[(*ndns)++] = sans[i];
		}
	}
}

static bool readable(const char *path)
{
	return access(path, R_OK) == 0;
}

static int mkdir_p(const char *dir, char *err, size_t errlen)
{
	char tmp[4096];
	size_t len = strlen(dir);
	if (len == 0 || len >= sizeof tmp) {
		snprintf(err, errlen, "bad directory '%s'", dir);
		return -1;
	}
	memcpy(tmp, dir, len + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) && errno != EEXIST) {
			snprintf(err, errlen, "cannot create '%s': %s", tmp, strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(tmp, 0755) && errno != EEXIST) {
		snprintf(err, errlen, "cannot create '%s': %s", tmp, strerror(errno));
		return -1;
	}
	return 0;
}

#define MAX_SANS 64

int certs_ensure_self_signed(const char *dir, const char *const *sans, size_t nsans, char *cert_path,
			     char *key_path, size_t pathlen, char *err, size_t errlen)
{
	if (sw_crypto_load(err, errlen))
		return -1;
	if ((size_t)snprintf(cert_path, pathlen, "%s/apiserver.crt", dir) >= pathlen ||
	    (size_t)snprintf(key_path, pathlen, "%s/apiserver.key", dir) >= pathlen) {
		snprintf(err, errlen, "cert dir path too long");
		return -1;
	}
	if (readable(cert_path) && readable(key_path))
		return 0;
	if (mkdir_p(dir, err, errlen))
		return -1;

	const char *dns[MAX_SANS + 1] = { "localhost" }, *ips[MAX_SANS + 1] = { "127.0.0.1" };
	size_t ndns = 1, nips = 1;
	split_sans(sans, nsans, dns, &ndns, ips, &nips, MAX_SANS);
	char ca_cn[64], leaf_cn[64];
	long now = (long)time(NULL);
	snprintf(ca_cn, sizeof ca_cn, "localhost-ca@%ld", now);
	snprintf(leaf_cn, sizeof leaf_cn, "localhost@%ld", now);
	struct cert_spec ca_spec = { .cn = ca_cn, .ca = true, .days = 365 };
	struct cert_spec leaf_spec = { .cn = leaf_cn, .dns = dns, .ndns = ndns, .ips = ips, .nips = nips,
				       .server = true, .days = 365 };
	int rc = -1;
	EVP_PKEY *ca_key = new_key(), *key = new_key();
	X509 *ca = NULL, *leaf = NULL;
	if (!ca_key || !key) {
		ossl_err(err, errlen, "cannot generate a key");
		goto out;
	}
	ca = issue(&ca_spec, ca_key, NULL, NULL);
	leaf = ca ? issue(&leaf_spec, key, ca, ca_key) : NULL;
	if (!leaf) {
		ossl_err(err, errlen, "cannot issue the self-signed certificate");
		goto out;
	}
	X509 *chain[2] = { leaf, ca };
	if (write_pem(key_path, NULL, 0, key, err, errlen) || write_pem(cert_path, chain, 2, NULL, err, errlen))
		goto out;
	rc = 0;
out:
	X509_free(ca);
	X509_free(leaf);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	return rc;
}

static int write_pair(const char *dir, const char *base, X509 *cert, EVP_PKEY *key, char *err, size_t errlen)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s.crt", dir, base);
	if (write_pem(path, &cert, 1, NULL, err, errlen))
		return -1;
	snprintf(path, sizeof path, "%s/%s.key", dir, base);
	return write_pem(path, NULL, 0, key, err, errlen);
}

int certs_make_cluster_set(const char *out_dir, const char *service, const char *ns, const char *const *sans,
			   size_t nsans, int days, char *err, size_t errlen)
{
	if (sw_crypto_load(err, errlen))
		return -1;
	if (mkdir_p(out_dir, err, errlen))
		return -1;
	char n1[300], n2[300], n3[300], n4[300];
	snprintf(n1, sizeof n1, "%s", service);
	snprintf(n2, sizeof n2, "%s.%s", service, ns);
	snprintf(n3, sizeof n3, "%s.%s.svc", service, ns);
	snprintf(n4, sizeof n4, "%s.%s.svc.cluster.local", service, ns);
	const char *dns[MAX_SANS + 4] = { n1, n2, n3, n4 }, *ips[MAX_SANS];
	size_t ndns = 4, nips = 0;
	split_sans(sans, nsans, dns, &ndns, ips, &nips, MAX_SANS);

	int rc = -1;
	EVP_PKEY *ca_key = new_key(), *key = new_key(), *fp_ca_key = new_key(), *fp_key = new_key();
	X509 *ca = NULL, *leaf = NULL, *fp_ca = NULL, *fp = NULL;
	if (!ca_key || !key || !fp_ca_key || !fp_key) {
		ossl_err(err, errlen, "cannot generate a key");
		goto out;
	}
	struct cert_spec ca_spec = { .cn = "scalewise-ca", .ca = true, .days = days * 10 };
	struct cert_spec leaf_spec = { .cn = n3, .dns = dns, .ndns = ndns, .ips = ips, .nips = nips, .server = true,
				       .days = days };
	struct cert_spec fp_ca_spec = { .cn = "scalewise-front-proxy-ca", .ca = true, .days = days * 10 };
	struct cert_spec fp_spec = { .cn = "front-proxy-client", .client = true, .days = days };
	ca = issue(&ca_spec, ca_key, NULL, NULL);
	leaf = ca ? issue(&leaf_spec, key, ca, ca_key) : NULL;
	fp_ca = issue(&fp_ca_spec, fp_ca_key, NULL, NULL);
	fp = fp_ca ? issue(&fp_spec, fp_key, fp_ca, fp_ca_key) : NULL;
	if (!leaf || !fp) {
		ossl_err(err, errlen, "cannot issue certificates");
		goto out;
	}
	if (write_pair(out_dir, "ca", ca, ca_key, err, errlen) || write_pair(out_dir, "tls", leaf, key, err, errlen) ||
	    write_pair(out_dir, "front-proxy-ca", fp_ca, fp_ca_key, err, errlen) ||
	    write_pair(out_dir, "front-proxy-client", fp, fp_key, err, errlen))
		goto out;
	rc = 0;
out:
	X509_free(ca);
	X509_free(leaf);
	X509_free(fp_ca);
	X509_free(fp);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	EVP_PKEY_free(fp_ca_key);
	EVP_PKEY_free(fp_key);
	return rc;
}

static X509 *read_cert(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	X509 *c = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return c;
}

static EVP_PKEY *read_key(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	return k;
}

int certs_make_client(const char *ca_crt, const char *ca_key_path, const char *cn, const char *const *orgs,
		      size_t norgs, const char *out_crt, const char *out_key, char *err, size_t errlen)
{
	if (sw_crypto_load(err, errlen))
		return -1;
	int rc = -1;
	X509 *ca = read_cert(ca_crt), *c = NULL;
	EVP_PKEY *ca_key = read_key(ca_key_path), *key = new_key();
	if (!ca || !ca_key) {
		snprintf(err, errlen, "cannot read the CA '%s' / '%s'", ca_crt, ca_key_path);
		goto out;
	}
	struct cert_spec sp = { .cn = cn, .orgs = orgs, .norgs = norgs, .client = true, .days = 365 };
	c = key ? issue(&sp, key, ca, ca_key) : NULL;
	if (!c) {
		ossl_err(err, errlen, "cannot issue the client certificate");
		goto out;
	}
	if (write_pem(out_crt, &c, 1, NULL, err, errlen) || write_pem(out_key, NULL, 0, key, err, errlen))
		goto out;
	rc = 0;
out:
	X509_free(ca);
	X509_free(c);
	EVP_PKEY_free(ca_key);
	EVP_PKEY_free(key);
	return rc;
}

