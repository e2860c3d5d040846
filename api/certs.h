/*
 * certs.h — certificates with OpenSSL: the self-signed serving certificate
 * made into --cert-dir when none is given, and the CA / serving / front-proxy
 * set `scalewise certs` writes for a cluster install.
 */
#ifndef SW_CERTS_H
#define SW_CERTS_H

#include <stddef.h>

/* Makes sure dir holds apiserver.crt and apiserver.key: if both are readable
 * they are kept, otherwise a throw-away CA and a serving certificate for
 * "localhost", 127.0.0.1 and the extra sans are made (ECDSA P-256, one year),
 * and the leaf followed by the CA is written to apiserver.crt, the key (mode
 * 0600) to apiserver.key. The paths are written to cert_path/key_path.
 * 0, or -1 with a message. */
int certs_ensure_self_signed(const char *dir, const char *const *sans, size_t nsans,
			     char *cert_path, char *key_path, size_t pathlen, char *err, size_t errlen);

/* `scalewise certs`: writes into out_dir ca.crt/ca.key, tls.crt/tls.key (serving
 * cert for NAME, NAME.NS, NAME.NS.svc, NAME.NS.svc.cluster.local plus extra
 * sans), front-proxy-ca.crt/.key and front-proxy-client.crt/.key (CN
 * front-proxy-client, clientAuth). 0, or -1 with a message. */
int certs_make_cluster_set(const char *out_dir, const char *service, const char *ns,
			   const char *const *sans, size_t nsans, int days, char *err, size_t errlen);

/* Makes a client certificate signed by the CA in ca_crt/ca_key with the given
 * CN and organisations (groups), for tests and debugging. */
int certs_make_client(const char *ca_crt, const char *ca_key, const char *cn, const char *const *orgs,
		      size_t norgs, const char *out_crt, const char *out_key, char *err, size_t errlen);

#endif
