/*
 * routes.h — what each path answers, independent of the HTTP library: the
 * server (server.c) turns a libmicrohttpd request into a struct request, calls
 * routes_handle, and sends the struct reply. Pure apart from reading the
 * runtime in service; any thread.
 */
#ifndef SW_ROUTES_H
#define SW_ROUTES_H

#include <stdbool.h>
#include <stdint.h>

#include "jsonw.h"
#include "selfmetrics.h"

#define ROUTES_MAX_URL 16384       /* longer paths+queries are 414 */
#define ROUTES_MAX_SELECTOR 16384  /* longer labelSelectors are 400 */
#define ROUTES_MAX_HEADERS 32768   /* larger header sections are 431 */
#define ROUTES_SUBSCRIBE_WAIT_MS 2000 /* first fetch of a new templated subscription */

struct request {
	const char *method;
	const char *path;            /* decoded path, no query */
	size_t url_len;              /* raw length of path and query, for the 414 check */
	const char *label_selector;  /* decoded, or NULL when absent */
	const char *bad_param;       /* the first query parameter we do not take, or NULL */
	bool bad_param_dup;          /* bad_param is a repeated labelSelector */
	size_t header_bytes;         /* size of all request headers */
	int64_t now_ms;
};

struct reply {
	int code;
	const char *content_type;    /* static string */
	struct buf body;             /* caller releases */
	enum path_class pc;
};

/* Answers one request into rp (rp->body initialised here). */
void routes_handle(const struct request *rq, struct reply *rp);

/* host:port written into serverAddressByClientCIDRs of /apis. */
void routes_set_server_address(const char *addr);
/* /readyz answers 200 only while ready. */
void routes_set_ready(bool ready, const char *why);

#endif
