/*
 * http.h — the HTTP client every HTTP-based scaler uses (prometheus,
 * metrics-api, rabbitmq, nats-jetstream), on libcurl.
 *
 * A struct http_client belongs to one source. It holds a copy of the source's
 * connection settings (URL, timeout, extra headers, bearer token or basic auth,
 * TLS files) and a small pool of libcurl easy handles behind a mutex, so
 * connections are kept alive between fetches and several threads may run
 * requests on one client at once (a thread takes an idle handle from the pool,
 * or makes one, and gives it back when done).
 *
 * Secrets: the bearer token and the basic-auth password are read from their
 * files, cached, and read again when the file changes (another inode, size,
 * mtime or ctime: Kubernetes rotates a projected token by swapping a symlink).
 * They are never written into an error message; URLs in messages lose their
 * user-info and query string.
 *
 * Deadlines are absolute wall-clock milliseconds (CLOCK_REALTIME, as
 * struct sw_request.deadline_ms); a request never runs past its deadline nor
 * past the source's timeout, whichever is sooner.
 */
#ifndef SW_HTTP_H
#define SW_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "scaler.h"

#define HTTP_BODY_MAX_DEFAULT ((size_t)10 * 1024 * 1024)
#define HTTP_MAX_REDIRECTS 3
#define HTTP_SECRET_MAX (64 * 1024)   /* a token or password file larger than this is refused */
#define HTTP_FORM_MAX (1024 * 1024)   /* a form body larger than this is refused */

/* The connection settings every HTTP source shares, as the generic parameter
 * loader (adapter/params.c) fills them. Embed one in a scaler's params struct
 * and put HTTP_SOURCE_PARAMS (or HTTP_URL_PARAM + HTTP_CONN_PARAMS) in its
 * sw_param table. */
struct http_source_params {
	char *url;                 /* base URL, http:// or https:// */
	int64_t timeout_ms;        /* per request; 0 = the deadline alone */
	struct sw_kv headers;      /* extra request headers */
	char *bearer_token_file;   /* Authorization: Bearer <file content> */
	char *basic_username;      /* basicAuth.username */
	char *basic_password_file; /* basicAuth.passwordFile */
	char *tls_ca_file;
	char *tls_cert_file;
	char *tls_key_file;
	int tls_insecure;          /* tls.insecureSkipVerify */
};

/* sw_param entries for a struct http_source_params at member m of type T.
 * HTTP_URL_PARAM is separate because some scalers take the URL per metric
 * (metrics-api) and only the connection settings per source. */
#define HTTP_URL_PARAM(T, m, req)                                                                          \
	{ .key = "url", .type = SW_PARAM_STRING, .offset = offsetof(T, m.url), .required = (req),          \
	  .min = 1, .max = 0, .help = "base URL of the server, http:// or https://" }

#define HTTP_CONN_PARAMS(T, m, timeout_def)                                                                \
	{ .key = "timeout", .type = SW_PARAM_DURATION, .offset = offsetof(T, m.timeout_ms),               \
	  .def = (timeout_def), .min = 1, .max = 300000, .help = "time allowed for one request" },         \
	{ .key = "headers", .type = SW_PARAM_MAP, .offset = offsetof(T, m.headers), .min = 1, .max = 0,   \
	  .help = "extra request headers, e.g. {X-Scope-OrgID: team-a}" },                                 \
	{ .key = "bearerTokenFile", .type = SW_PARAM_FILE, .offset = offsetof(T, m.bearer_token_file),    \
	  .min = 1, .max = 0, .help = "file holding a bearer token; re-read when it changes" },            \
	{ .key = "basicAuth.username", .type = SW_PARAM_STRING, .offset = offsetof(T, m.basic_username),  \
	  .min = 1, .max = 0, .help = "basic auth user name" },                                            \
	{ .key = "basicAuth.passwordFile", .type = SW_PARAM_FILE,                                          \
	  .offset = offsetof(T, m.basic_password_file), .min = 1, .max = 0,                                \
	  .help = "file holding the basic auth password; re-read when it changes" },                       \
	{ .key = "tls.caFile", .type = SW_PARAM_FILE, .offset = offsetof(T, m.tls_ca_file), .min = 1,     \
	  .max = 0, .help = "CA bundle (PEM) that signs the server's certificate" },                       \
	{ .key = "tls.certFile", .type = SW_PARAM_FILE, .offset = offsetof(T, m.tls_cert_file), .min = 1, \
	  .max = 0, .help = "client certificate (PEM)" },                                                  \
	{ .key = "tls.keyFile", .type = SW_PARAM_FILE, .offset = offsetof(T, m.tls_key_file), .min = 1,   \
	  .max = 0, .help = "client private key (PEM)" },                                                  \
	{ .key = "tls.insecureSkipVerify", .type = SW_PARAM_BOOL, .offset = offsetof(T, m.tls_insecure),  \
	  .def = "false", .min = 1, .max = 0, .help = "do not verify the server's certificate" }

/* The whole set, url required or not, with a default timeout such as "2s". */
#define HTTP_SOURCE_PARAMS(T, m, url_required, timeout_def) \
	HTTP_URL_PARAM(T, m, url_required), HTTP_CONN_PARAMS(T, m, timeout_def)

struct http_client; /* opaque */

enum http_method { HTTP_GET, HTTP_POST };

/* One request. url is complete (see http_url_join). */
struct http_req {
	enum http_method method;
	const char *url;
	const char *form;            /* POST: application/x-www-form-urlencoded body, or NULL */
	const struct sw_kv *headers; /* added to the client's headers for this request, or NULL */
	int64_t deadline_ms;         /* wall-clock ms; 0 = none (the client's timeout alone) */
	size_t max_bytes;            /* body cap; 0 = HTTP_BODY_MAX_DEFAULT */
};

/* What came back from a completed exchange. */
struct http_resp {
	long status;              /* the final HTTP status */
	char *body;               /* malloc'd, NUL-terminated (the NUL is not counted in len) */
	size_t len;
	char content_type[128];   /* "" when the server sent none */
};

/* Loads and initialises libcurl once for the process (scalers/dl_curl.h);
 * http_client_new does it too and reports a failure. Any thread. */
void http_global_init(void);
/* Frees the handle pool of http_host_get; call at exit when no request runs. */
void http_global_release(void);

/* A client for the settings in p, which are copied (p may be freed after).
 * No network I/O; secret files are read at the first request. NULL with a
 * message when the settings are inconsistent (a url http_url_check refuses:
 * a scheme other than http/https, credentials, no host; CR/LF in a
 * header, basic auth without a password file, both bearer and basic auth,
 * a client certificate without its key) or on allocation failure. p->url may
 * be NULL when every request gives a full URL. Housekeeping thread. */
struct http_client *http_client_new(const struct http_source_params *p, char *err, size_t errlen);
/* The checks http_client_new makes on p, without loading libcurl or
 * contacting anything: for a scaler's check_source, so that `scalewise check`
 * refuses what open would. 0, or -1 with a message that begins with the key
 * at fault ("url 'http://h/' must not hold credentials; ...") and holds no
 * secret. A missing url is not an error here. Any thread. */
int http_source_check(const struct http_source_params *p, char *err, size_t errlen);
/* Closes the pooled connections and frees the client; no request may be
 * running on it. NULL is ignored. */
void http_client_free(struct http_client *c);

/* What a failed http_request blames (values as SW_FETCH_*_ERROR in scaler.h). */
#define HTTP_ERR_SOURCE (-1) /* the server: connection, DNS, TLS, timeout, a broken answer */
#define HTTP_ERR_LOCAL  (-2) /* not the server's health: a body over the cap, too many
				redirects, an unreadable secret file, a bad URL, a deadline
				that passed before the request started */

/* Runs one request. 0 on a completed exchange, whatever its status (out is
 * filled; free with http_resp_release); HTTP_ERR_SOURCE or HTTP_ERR_LOCAL
 * with a message otherwise, and out is then empty. A body over the cap is
 * "body larger than N bytes". Messages name the URL without credentials or
 * query and never contain a secret:
 *   cannot reach 'http://127.0.0.1:9/api/v1/query': Connection refused
 * Any thread, concurrently on one client. */
int http_request(struct http_client *c, const struct http_req *r, struct http_resp *out, char *err,
		 size_t errlen);
void http_resp_release(struct http_resp *r);

/* Replaces in msg (NUL-terminated, edited in place) every occurrence of the
 * client's current token, password, or basic credentials in base64 by "***",
 * for messages that quote a server's answer. Any thread. */
void http_client_redact(struct http_client *c, char *msg);

/* The host table's http_get (scalers/scaler.h struct sw_host): a GET without
 * auth or TLS settings of its own (headers may carry them), with a pool of
 * handles shared by all callers. Any thread. */
int http_host_get(const char *url, const struct sw_kv *headers, int64_t deadline_ms, size_t max_bytes,
		  char **body, size_t *len, long *status, char *err, size_t errlen);

/* base + path with exactly one '/' between them ("http://h:9090/" + "/api/v1/query").
 * 0, or -1 when it does not fit in n bytes. */
int http_url_join(const char *base, const char *path, char *out, size_t n);
/* 0 when url starts with http:// or https://, has a host and no user-info;
 * -1 with a message naming `what` (e.g. "url") otherwise. Credentials
 * belong in basicAuth.passwordFile, never in a URL that could reach a log;
 * the message does not repeat them:
 *   url 'http://rabbit:15672/' must not hold credentials; use basicAuth.username and basicAuth.passwordFile
 * http_client_new checks the source's url with it. */
int http_url_check(const char *url, const char *what, char *err, size_t errlen);
/* 1 when url (scheme://...) has user-info before its host, else 0; for a
 * caller that names its own credential options in the message. */
int http_url_has_credentials(const char *url);
/* Copies url into out without user-info and query string, for messages
 * ("http://u:p@h/x?token=1" → "http://h/x?..."); truncates to n. */
void http_url_redact(const char *url, char *out, size_t n);
/* Replaces every occurrence of needle (a secret) in msg by "***", or by as
 * many '*' as it has bytes when it is shorter than 3, in place: a server
 * that echoes what it was sent must not put a password in a log line. */
void http_redact(char *msg, const char *needle);

/* A form body under construction: key=value pairs percent-encoded. */
struct http_form {
	char *buf;
	size_t len, cap;
	int overflow;      /* a pair did not fit under HTTP_FORM_MAX */
};
/* Appends key=value (encoded); 0, or -1 when the form would exceed
 * HTTP_FORM_MAX or memory runs out (then overflow is set). */
int http_form_add(struct http_form *f, const char *key, const char *value);
void http_form_release(struct http_form *f);

#endif
