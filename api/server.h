/*
 * server.h — the HTTPS server (libmicrohttpd, TLS by GnuTLS): TLS 1.2/1.3
 * with forward-secret AEAD suites only, a worker thread pool, keep-alive, the
 * serving certificate reloaded from its files without dropping connections,
 * and graceful shutdown. Requests go to routes.c.
 */
#ifndef SW_SERVER_H
#define SW_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "authz.h"

struct server;

struct server_opts {
	const char *bind_address;   /* "0.0.0.0", "127.0.0.1", "::" ... */
	int port;                   /* 0 = any free port (see server_port) */
	int threads;                /* worker threads; 0 = one per core */
	const char *cert_file;      /* PEM chain, leaf first */
	const char *key_file;       /* PEM key */
	struct authz *auth;         /* the gate every request passes; NULL = all allowed (auth.mode anonymous) */
	const char *client_ca_pem;  /* with auth: CA bundle named in the TLS CertificateRequest; NULL = the
	                             * serving chain. Client certificates are requested, never required. */
};

/* Starts serving. NULL with a message on failure (port taken, bad cert...). */
struct server *server_start(const struct server_opts *o, char *err, size_t errlen);
/* The port actually bound. */
int server_port(const struct server *s);
/* Re-reads the certificate and key when their files changed (checked by
 * content identity: inode, size, mtime). New handshakes use the new pair.
 * Returns 1 when reloaded, 0 when unchanged, -1 with a message when the new
 * files are unreadable or do not match (the old pair keeps serving). */
int server_reload_cert(struct server *s, char *err, size_t errlen);
/* Stops accepting new connections; in-flight requests go on. */
void server_quiesce(struct server *s);
/* Waits up to grace_ms for open connections to finish, then stops. */
void server_stop(struct server *s, long grace_ms);

#endif
