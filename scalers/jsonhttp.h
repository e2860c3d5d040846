/*
 * jsonhttp.h — the steps every JSON-over-HTTP scaler takes (metrics-api,
 * rabbitmq, nats-jetstream): check a URL, GET it through the source's
 * scalers/http.h client, and turn the answer into a cJSON document or into
 * an error with a precise message and the right blame (scaler.h
 * SW_FETCH_SOURCE_ERROR / SW_FETCH_ANSWER_ERROR).
 */
#ifndef SW_JSONHTTP_H
#define SW_JSONHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cJSON.h>

#include "http.h"

/* The per-source state of the JSON-over-HTTP scalers (metrics-api, rabbitmq,
 * nats-jetstream): the host table, a client for the source's connection
 * options, and the source's url (NULL when it has none). */
struct jsonhttp_state {
	const struct sw_host *host;
	struct http_client *http;
	char *base;
};

/* Adds v, unlabelled, at the request's time (the host's clock when it has
 * none) to out: 0, or SW_FETCH_ANSWER_ERROR with a message. */
int jsonhttp_emit(const struct jsonhttp_state *st, const struct sw_request *req, double v, struct sw_batch *out,
		  char *err, size_t errlen);

/* The shared check_source op: the url unless url_optional, and what
 * http_source_check refuses. 0, or -1 with a message. */
int jsonhttp_check(const struct http_source_params *p, bool url_optional, char *err, size_t errlen);
/* The shared open op: requires the source's url unless url_optional and
 * makes the client (which refuses a url http_url_check refuses). 0, or -1
 * with a message and st untouched. */
int jsonhttp_open(struct jsonhttp_state *st, const struct http_source_params *p, bool url_optional,
		  const struct sw_host *host, char *err, size_t errlen);
/* The shared close op. */
void jsonhttp_close(struct jsonhttp_state *st);

/* Whom an HTTP status blames: the server when it failed or is overloaded
 * (5xx, 408, 429), the request or the set-up otherwise. */
int jsonhttp_blame(long status);

/* Copies up to 160 printable bytes of s into out (others become ' ', "..."
 * marks a cut), for messages that quote a body. */
void jsonhttp_excerpt(const char *s, size_t len, char *out, size_t n);

/* Checks the status and parses body as exactly one JSON document. 0 with
 * *root (the caller frees it with cJSON_Delete), or with a message and
 * *root NULL:
 *   SW_FETCH_SOURCE_ERROR  HTTP 5xx, 408, 429 ("HTTP 503: <excerpt>")
 *   SW_FETCH_ANSWER_ERROR  any other non-2xx status, an empty body, a body
 *     that is not JSON ("body is not JSON: <excerpt>"), invalid or truncated
 *     JSON ("... (error at byte N of M)"), data after the document.
 * Pure; any thread. */
int jsonhttp_parse(const char *body, size_t len, long status, cJSON **root, char *err, size_t errlen);

/* GETs url (complete, see http_url_join) with "Accept: application/json" on
 * client c, at most max_bytes of body, by deadline_ms, and parses it as
 * jsonhttp_parse does. *status is the HTTP status (0 when no answer came).
 * Messages start with the URL as http_url_redact shows it and never hold a
 * secret of the client:
 *   cannot reach 'http://127.0.0.1:15672/api/queues/%2F/q': Connection refused
 *   'http://127.0.0.1:15672/api/queues/%2F/q': HTTP 404: {"error":"Object Not Found",...}
 * Returns 0 (*root to free), SW_FETCH_SOURCE_ERROR or SW_FETCH_ANSWER_ERROR.
 * Any thread, concurrently on one client. */
int jsonhttp_get(struct http_client *c, const char *url, int64_t deadline_ms, size_t max_bytes, long *status,
		 cJSON **root, char *err, size_t errlen);

/* Appends s to out percent-encoded as a URL path segment or query value
 * (everything but A-Z a-z 0-9 - . _ ~ is encoded, so "/" becomes "%2F";
 * a segment of dots alone, "." or "..", is encoded too: a URL parser would
 * remove it).
 * 0, or -1 when it does not fit in n bytes (out then holds a NUL-terminated
 * prefix). */
int jsonhttp_encode(const char *s, char *out, size_t n);

#endif
