/*
 * http.c — the shared libcurl client of the HTTP scalers (see http.h).
 *
 * Connection reuse: each client keeps up to HTTP_POOL_IDLE idle easy handles
 * behind its mutex. A request pops one (or makes one), resets its options
 * (curl_easy_reset keeps the handle's live connections), runs, and pushes it
 * back. So a source polled by one worker at a time reuses one connection, and
 * concurrent fetches each get their own handle.
 */
#include "http.h"

#include "curlpool.h"

#include "dl_curl.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef SW_VERSION
#define SW_VERSION "dev"
#endif

#define HTTP_POOL_IDLE 4
#define HTTP_DEFAULT_TIMEOUT_MS 30000 /* when neither a deadline nor a timeout is given */
#define HTTP_MAX_HEADERS 64
#define HTTP_HEADER_MAX 8192
#define HTTP_URL_MAX 8192
/* A secret file changed less than this before we read it may change again
 * within the same timestamp tick; such a read is not trusted for caching. */
#define SECRET_RACY_NS (2 * INT64_C(1000000000))

/* ------------------------------------------------------------------------ */
/* process-wide set-up                                                      */

static pthread_once_t host_once = PTHREAD_ONCE_INIT;
static struct http_client *host_client;
static char host_err[256]; /* why host_client could not be made */

void http_global_init(void)
{
	sw_curl_load(NULL, 0); /* a failure is reported by http_client_new */
}

/* ------------------------------------------------------------------------ */
/* small helpers                                                            */

static char *dup_str(const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	char *d = malloc(n + 1);
	if (d)
		memcpy(d, s, n + 1);
	return d;
}

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * INT64_C(1000000000) + t->tv_nsec;
}

static const char *err_text(int e, char *buf, size_t n)
{
	return strerror_r(e, buf, n);
}

void http_redact(char *msg, const char *needle)
{
	size_t nl = needle ? strlen(needle) : 0;
	if (!nl || !msg)
		return;
	char *p = msg;
	char *hit = strstr(p, needle);
	while (hit) {
		if (nl < 3) {
			memset(hit, '*', nl);
			p = hit + nl;
		} else {
			memcpy(hit, "***", 3);
			memmove(hit + 3, hit + nl, strlen(hit + nl) + 1);
			p = hit + 3;
		}
		hit = strstr(p, needle);
	}
}

static void base64_encode(const unsigned char *in, size_t n, char *out, size_t outlen)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 <= outlen; i += 3) {
		unsigned v = (unsigned)in[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = tab[(v >> 18) & 63];
		out[o++] = tab[(v >> 12) & 63];
		out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	if (outlen)
		out[o < outlen ? o : outlen - 1] = 0;
}

/* ------------------------------------------------------------------------ */
/* URLs and forms                                                           */

int http_url_join(const char *base, const char *path, char *out, size_t n)
{
	size_t bl = strlen(base);
	while (bl && base[bl - 1] == '/')
		bl--;
	while (*path == '/')
		path++;
	int w = snprintf(out, n, "%.*s/%s", (int)bl, base, path);
	if (w < 0 || (size_t)w >= n)
		return -1;
	return 0;
}

void http_url_redact(const char *url, char *out, size_t n)
{
	if (!n)
		return;
	out[0] = 0;
	if (!url)
		return;
	const char *scheme_end = strstr(url, "://");
	const char *auth = scheme_end ? scheme_end + 3 : url;
	size_t alen = strcspn(auth, "/?#");
	const char *at = NULL;
	for (size_t i = 0; i < alen; i++)
		if (auth[i] == '@')
			at = auth + i;
	const char *host = at ? at + 1 : auth;
	size_t rest = strcspn(host, "?#");
	int cut = host[rest] != 0;
	snprintf(out, n, "%.*s%.*s%s", (int)(auth - url), url, (int)rest, host, cut ? "?..." : "");
}

static int url_scheme_ok(const char *url)
{
	return !strncasecmp(url, "http://", 7) || !strncasecmp(url, "https://", 8);
}

int http_url_has_credentials(const char *url)
{
	const char *scheme_end = url ? strstr(url, "://") : NULL;
	if (!scheme_end)
		return 0;
	const char *rest = scheme_end + 3;
	return memchr(rest, '@', strcspn(rest, "/?#")) != NULL;
}

int http_url_check(const char *url, const char *what, char *err, size_t errlen)
{
	char shown[256];
	http_url_redact(url ? url : "", shown, sizeof shown);
	if (!url || !url_scheme_ok(url)) {
		snprintf(err, errlen, "%s '%s' must start with http:// or https://", what, shown);
		return -1;
	}
	const char *rest = strstr(url, "://") + 3;
	size_t alen = strcspn(rest, "/?#");
	if (http_url_has_credentials(url)) {
		snprintf(err, errlen, "%s '%s' must not hold credentials; use basicAuth.username and "
				      "basicAuth.passwordFile", what, shown);
		return -1;
	}
	if (alen == 0) {
		snprintf(err, errlen, "%s '%s' has no host", what, shown);
		return -1;
	}
	return 0;
}

static int form_grow(struct http_form *f, size_t need)
{
	if (f->overflow)
		return -1;
	if (f->len + need + 1 > HTTP_FORM_MAX) {
		f->overflow = 1;
		return -1;
	}
	if (f->len + need + 1 <= f->cap)
		return 0;
	size_t cap = f->cap ? f->cap : 256;
	while (cap < f->len + need + 1)
		cap *= 2;
	if (cap > HTTP_FORM_MAX)
		cap = HTTP_FORM_MAX;
	char *nb = realloc(f->buf, cap);
	if (!nb) {
		f->overflow = 1;
		return -1;
	}
	f->buf = nb;
	f->cap = cap;
	return 0;
}

static void form_encode(struct http_form *f, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char ch = *p;
		int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			    ch == '-' || ch == '.' || ch == '_' || ch == '~';
		if (plain) {
			f->buf[f->len++] = (char)ch;
		} else {
			f->buf[f->len++] = '%';
			f->buf[f->len++] = hex[ch >> 4];
			f->buf[f->len++] = hex[ch & 15];
		}
	}
	f->buf[f->len] = 0;
}

int http_form_add(struct http_form *f, const char *key, const char *value)
{
	size_t kl = strlen(key), vl = strlen(value);
	if (kl > HTTP_FORM_MAX || vl > HTTP_FORM_MAX || form_grow(f, 3 * (kl + vl) + 2))
		return -1;
	if (f->len)
		f->buf[f->len++] = '&';
	form_encode(f, key);
	f->buf[f->len++] = '=';
	form_encode(f, value);
	return 0;
}

void http_form_release(struct http_form *f)
{
	free(f->buf);
	memset(f, 0, sizeof *f);
}

/* ------------------------------------------------------------------------ */
/* secret files                                                             */

/* A secret read from a file and cached until the file changes. */
struct secret {
	char *path;      /* NULL: no such secret */
	char *value;     /* NUL-terminated, or NULL before the first good read */
	dev_t dev;
	ino_t ino;
	off_t size;
	int64_t mtime_ns, ctime_ns;
	int racy;        /* the cached read cannot be trusted by its stamps */
};

static void secret_clear_value(struct secret *s)
{
	if (s->value) {
		explicit_bzero(s->value, strlen(s->value));
		free(s->value);
		s->value = NULL;
	}
}

static void secret_release(struct secret *s)
{
	secret_clear_value(s);
	free(s->path);
	s->path = NULL;
}

static int secret_fresh(const struct secret *s)
{
	struct stat st;
	if (!s->value || s->racy || stat(s->path, &st))
		return 0;
	return st.st_dev == s->dev && st.st_ino == s->ino && st.st_size == s->size &&
	       ts_ns(&st.st_mtim) == s->mtime_ns && ts_ns(&st.st_ctim) == s->ctime_ns;
}

/* Makes s->value the file's current content (trailing white space removed).
 * what names the secret in messages ("bearer token file"). Caller holds the
 * client's lock. */
static int secret_load(struct secret *s, const char *what, char *err, size_t errlen)
{
	if (secret_fresh(s))
		return 0;
	char ebuf[128];
	int fd = open(s->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot read %s '%s': %s", what, s->path, err_text(errno, ebuf, sizeof ebuf));
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st)) {
		snprintf(err, errlen, "cannot read %s '%s': %s", what, s->path, err_text(errno, ebuf, sizeof ebuf));
		close(fd);
		return -1;
	}
	char *buf = malloc(HTTP_SECRET_MAX + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errlen, "cannot read %s '%s': out of memory", what, s->path);
		return -1;
	}
	size_t len = 0;
	int rc = 0;
	for (;;) {
		ssize_t r = read(fd, buf + len, HTTP_SECRET_MAX + 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read %s '%s': %s", what, s->path, err_text(errno, ebuf, sizeof ebuf));
			rc = -1;
			break;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > HTTP_SECRET_MAX) {
			snprintf(err, errlen, "%s '%s' is larger than %d bytes", what, s->path, HTTP_SECRET_MAX);
			rc = -1;
			break;
		}
	}
	close(fd);
	while (rc == 0 && len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ' ||
				  buf[len - 1] == '\t'))
		len--;
	if (rc == 0 && len == 0) {
		snprintf(err, errlen, "%s '%s' is empty", what, s->path);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < len; i++) {
		unsigned char ch = (unsigned char)buf[i];
		if (ch < 0x20 || ch == 0x7f) {
			snprintf(err, errlen, "%s '%s' holds a control character", what, s->path);
			rc = -1;
		}
	}
	if (rc) {
		explicit_bzero(buf, len < HTTP_SECRET_MAX + 1 ? len : HTTP_SECRET_MAX + 1);
		free(buf);
		return -1;
	}
	buf[len] = 0;
	secret_clear_value(s);
	s->value = buf;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->size = st.st_size;
	s->mtime_ns = ts_ns(&st.st_mtim);
	s->ctime_ns = ts_ns(&st.st_ctim);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t newest = s->mtime_ns > s->ctime_ns ? s->mtime_ns : s->ctime_ns;
	s->racy = ts_ns(&now) - newest < SECRET_RACY_NS;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* the client                                                               */

struct http_client {
	char *base_url;
	int64_t timeout_ms;
	char **header_lines;   /* "Name: value" */
	size_t nheaders;
	char *username;
	char *ca_file, *cert_file, *key_file;
	int insecure;

	pthread_mutex_t mu;    /* guards the pool and the secrets */
	struct secret token, password;
	struct curl_pool pool;     /* idle handles: connections reused across requests */
};

static int header_name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch <= 0x20 || ch >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", ch))
			return 0;
	}
	return 1;
}

static int header_value_ok(const char *s)
{
	for (; *s; s++)
		if (*s == '\r' || *s == '\n')
			return 0;
	return 1;
}

/* 0 when name: value can be sent as one header line, else -1 with a message. */
static int header_check(const char *name, const char *value, char *err, size_t errlen)
{
	if (!header_name_ok(name)) {
		snprintf(err, errlen, "header name '%.100s' is not a valid HTTP token", name);
		return -1;
	}
	if (!header_value_ok(value)) {
		snprintf(err, errlen, "header '%.100s' has a line break in its value", name);
		return -1;
	}
	if (strlen(name) + strlen(value) + 3 > HTTP_HEADER_MAX) {
		snprintf(err, errlen, "header '%.100s' is longer than %d bytes", name, HTTP_HEADER_MAX);
		return -1;
	}
	return 0;
}

/* "Name: value", or "Name;" for an empty value (curl's way to send one). */
static char *header_line(const char *name, const char *value, char *err, size_t errlen)
{
	if (header_check(name, value, err, errlen))
		return NULL;
	size_t nl = strlen(name), vl = strlen(value);
	char *line = malloc(nl + vl + 3);
	if (!line) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	memcpy(line, name, nl);
	if (vl) {
		memcpy(line + nl, ": ", 2);
		memcpy(line + nl + 2, value, vl + 1);
	} else {
		memcpy(line + nl, ";", 2);
	}
	return line;
}

static int copy_opt(char **dst, const char *src)
{
	if (!src || !*src)
		return 0;
	*dst = dup_str(src);
	return *dst ? 0 : -1;
}

int http_source_check(const struct http_source_params *p, char *err, size_t errlen)
{
	if (p->url && *p->url && http_url_check(p->url, "url", err, errlen))
		return -1;
	if (p->basic_username && *p->basic_username && !(p->basic_password_file && *p->basic_password_file)) {
		snprintf(err, errlen, "basicAuth.username needs basicAuth.passwordFile");
		return -1;
	}
	if (p->basic_password_file && *p->basic_password_file && !(p->basic_username && *p->basic_username)) {
		snprintf(err, errlen, "basicAuth.passwordFile needs basicAuth.username");
		return -1;
	}
	if (p->basic_password_file && *p->basic_password_file && p->bearer_token_file && *p->bearer_token_file) {
		snprintf(err, errlen, "set either bearerTokenFile or basicAuth, not both");
		return -1;
	}
	if ((p->tls_cert_file && *p->tls_cert_file) != (p->tls_key_file && *p->tls_key_file)) {
		snprintf(err, errlen, "tls.certFile and tls.keyFile go together");
		return -1;
	}
	if (p->headers.n > HTTP_MAX_HEADERS) {
		snprintf(err, errlen, "more than %d headers", HTTP_MAX_HEADERS);
		return -1;
	}
	for (size_t i = 0; i < p->headers.n; i++)
		if (header_check(p->headers.items[i].name, p->headers.items[i].value, err, errlen))
			return -1;
	return 0;
}

struct http_client *http_client_new(const struct http_source_params *p, char *err, size_t errlen)
{
	if (sw_curl_load(err, errlen))
		return NULL;
	static const struct http_source_params none;
	if (!p)
		p = &none;
	if (http_source_check(p, err, errlen))
		return NULL;

	struct http_client *c = calloc(1, sizeof *c);
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->mu, NULL);
	curl_pool_init(&c->pool, HTTP_POOL_IDLE);
	c->timeout_ms = p->timeout_ms > 0 ? p->timeout_ms : 0;
	c->insecure = p->tls_insecure != 0;
	int bad = copy_opt(&c->base_url, p->url) || copy_opt(&c->username, p->basic_username) ||
		  copy_opt(&c->ca_file, p->tls_ca_file) || copy_opt(&c->cert_file, p->tls_cert_file) ||
		  copy_opt(&c->key_file, p->tls_key_file) || copy_opt(&c->token.path, p->bearer_token_file) ||
		  copy_opt(&c->password.path, p->basic_password_file);
	if (bad) {
		snprintf(err, errlen, "out of memory");
		http_client_free(c);
		return NULL;
	}
	if (p->headers.n) {
		c->header_lines = calloc(p->headers.n, sizeof *c->header_lines);
		if (!c->header_lines) {
			snprintf(err, errlen, "out of memory");
			http_client_free(c);
			return NULL;
		}
	}
	for (size_t i = 0; i < p->headers.n; i++) {
		char *line = header_line(p->headers.items[i].name, p->headers.items[i].value, err, errlen);
		if (!line) {
			http_client_free(c);
			return NULL;
		}
		c->header_lines[c->nheaders++] = line;
	}
	return c;
}

void http_client_free(struct http_client *c)
{
	if (!c)
		return;
	curl_pool_release(&c->pool);
	for (size_t i = 0; i < c->nheaders; i++)
		free(c->header_lines[i]);
	free(c->header_lines);
	secret_release(&c->token);
	secret_release(&c->password);
	free(c->base_url);
	free(c->username);
	free(c->ca_file);
	free(c->cert_file);
	free(c->key_file);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void http_client_redact(struct http_client *c, char *msg)
{
	if (!c || !msg)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->token.value)
		http_redact(msg, c->token.value);
	if (c->password.value) {
		size_t ul = c->username ? strlen(c->username) : 0, pl = strlen(c->password.value);
		char *cred = malloc(ul + pl + 2);
		char *b64 = malloc(((ul + pl + 1) / 3 + 1) * 4 + 1);
		if (cred && b64) {
			snprintf(cred, ul + pl + 2, "%s:%s", c->username ? c->username : "", c->password.value);
			base64_encode((const unsigned char *)cred, ul + pl + 1, b64, ((ul + pl + 1) / 3 + 1) * 4 + 1);
			http_redact(msg, b64);
			explicit_bzero(cred, ul + pl + 1);
		}
		free(cred);
		free(b64);
		http_redact(msg, c->password.value);
	}
	pthread_mutex_unlock(&c->mu);
}

/* ------------------------------------------------------------------------ */
/* one request                                                              */

struct sink {
	char *buf;
	size_t len, cap, max;
	int over;
};

static size_t sink_write(char *data, size_t size, size_t nmemb, void *user)
{
	struct sink *s = user;
	size_t n = size * nmemb;
	if (n > s->max - s->len) {
		s->over = 1;
		return 0;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 16384;
		while (cap < s->len + n + 1)
			cap *= 2;
		if (cap > s->max + 1)
			cap = s->max + 1;
		char *nb = realloc(s->buf, cap);
		if (!nb)
			return 0;
		s->buf = nb;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, data, n);
	s->len += n;
	s->buf[s->len] = 0;
	return n;
}

/* Copies the current token and password (read again when their files
 * changed) into malloc'd strings the caller wipes and frees. */
static int secrets_get(struct http_client *c, char **token, char **password, char *err, size_t errlen)
{
	int rc = 0;
	*token = *password = NULL;
	if (!c->token.path && !c->password.path)
		return 0;
	pthread_mutex_lock(&c->mu);
	if (c->token.path) {
		rc = secret_load(&c->token, "bearer token file", err, errlen);
		if (rc == 0) {
			*token = dup_str(c->token.value);
			rc = *token ? 0 : -1;
		}
	}
	if (rc == 0 && c->password.path) {
		rc = secret_load(&c->password, "basic auth password file", err, errlen);
		if (rc == 0) {
			*password = dup_str(c->password.value);
			rc = *password ? 0 : -1;
		}
	}
	pthread_mutex_unlock(&c->mu);
	if (rc && !*err)
		snprintf(err, errlen, "out of memory");
	return rc;
}

static void wipe_free(char *s)
{
	if (s) {
		explicit_bzero(s, strlen(s));
		free(s);
	}
}

/* Turns a failed transfer into a message that names the URL; returns whom
 * it blames (HTTP_ERR_*). */
static int describe_failure(CURL *h, CURLcode rc, const struct sink *sink, const char *errbuf,
			     const char *shown, int64_t timeout_ms, char *err, size_t errlen)
{
	char ebuf[128];
	if (rc == CURLE_FILESIZE_EXCEEDED || (rc == CURLE_WRITE_ERROR && sink->over)) {
		snprintf(err, errlen, "cannot read '%s': body larger than %zu bytes", shown, sink->max);
		return HTTP_ERR_LOCAL;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(err, errlen, "cannot reach '%s': no complete answer within %lld ms", shown,
			 (long long)timeout_ms);
		return HTTP_ERR_SOURCE;
	}
	if (rc == CURLE_TOO_MANY_REDIRECTS) {
		snprintf(err, errlen, "cannot read '%s': more than %d redirects", shown, HTTP_MAX_REDIRECTS);
		return HTTP_ERR_LOCAL;
	}
	if (rc == CURLE_COULDNT_CONNECT) {
		long os = 0;
		curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os);
		if (os) {
			snprintf(err, errlen, "cannot reach '%s': %s", shown, err_text((int)os, ebuf, sizeof ebuf));
			return HTTP_ERR_SOURCE;
		}
	}
	int reading = rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
		      rc == CURLE_BAD_CONTENT_ENCODING || rc == CURLE_WEIRD_SERVER_REPLY;
	snprintf(err, errlen, "cannot %s '%s': %s", reading ? "read" : "reach", shown,
		 *errbuf ? errbuf : curl_easy_strerror(rc));
	return HTTP_ERR_SOURCE;
}

/* Sets every option of one transfer on a freshly reset handle. */
static int setup_handle(struct http_client *c, CURL *h, const struct http_req *r, struct curl_slist *hdrs,
			const char *token, const char *password, struct sink *sink, char *errbuf,
			int64_t timeout_ms)
{
	int bad = 0;
	bad |= curl_easy_setopt(h, CURLOPT_URL, r->url) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)HTTP_MAX_REDIRECTS) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_USERAGENT, "scalewise/" SW_VERSION) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)sink->max) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink_write) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_WRITEDATA, sink) != CURLE_OK;
	bad |= curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK;
	if (r->method == HTTP_POST) {
		const char *form = r->form ? r->form : "";
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(form)) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_POSTFIELDS, form) != CURLE_OK;
	}
	if (token) {
		bad |= curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_XOAUTH2_BEARER, token) != CURLE_OK;
	}
	if (password) {
		bad |= curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_USERNAME, c->username) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_PASSWORD, password) != CURLE_OK;
	}
	if (c->ca_file)
		bad |= curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file) != CURLE_OK;
	if (c->cert_file) {
		bad |= curl_easy_setopt(h, CURLOPT_SSLCERT, c->cert_file) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_SSLKEY, c->key_file) != CURLE_OK;
	}
	if (c->insecure) {
		bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L) != CURLE_OK;
		bad |= curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L) != CURLE_OK;
	}
#if LIBCURL_VERSION_NUM >= 0x075700
	/* read the CA file again on each new connection, so a rotated CA is seen */
	curl_easy_setopt(h, CURLOPT_CA_CACHE_TIMEOUT, 0L);
#endif
	return bad ? -1 : 0;
}

/* The headers of one request: the client's, then the request's; no Expect. */
static struct curl_slist *build_headers(struct http_client *c, const struct http_req *r, char *err, size_t errlen)
{
	struct curl_slist *l = NULL, *t;
	t = curl_slist_append(l, "Expect:");
	if (!t)
		goto oom;
	l = t;
	for (size_t i = 0; i < c->nheaders; i++) {
		t = curl_slist_append(l, c->header_lines[i]);
		if (!t)
			goto oom;
		l = t;
	}
	size_t extra = r->headers ? r->headers->n : 0;
	if (extra > HTTP_MAX_HEADERS) {
		snprintf(err, errlen, "more than %d headers", HTTP_MAX_HEADERS);
		curl_slist_free_all(l);
		return NULL;
	}
	for (size_t i = 0; i < extra; i++) {
		char *line = header_line(r->headers->items[i].name, r->headers->items[i].value, err, errlen);
		if (!line) {
			curl_slist_free_all(l);
			return NULL;
		}
		t = curl_slist_append(l, line);
		free(line);
		if (!t)
			goto oom;
		l = t;
	}
	return l;
oom:
	curl_slist_free_all(l);
	snprintf(err, errlen, "out of memory");
	return NULL;
}

int http_request(struct http_client *c, const struct http_req *r, struct http_resp *out, char *err,
		 size_t errlen)
{
	memset(out, 0, sizeof *out);
	if (errlen)
		err[0] = 0;
	char shown[512];
	http_url_redact(r->url, shown, sizeof shown);
	if (!r->url || !url_scheme_ok(r->url)) {
		snprintf(err, errlen, "url '%s' must start with http:// or https://", shown);
		return HTTP_ERR_LOCAL;
	}
	if (strlen(r->url) > HTTP_URL_MAX) {
		snprintf(err, errlen, "url '%.100s...' is longer than %d bytes", shown, HTTP_URL_MAX);
		return HTTP_ERR_LOCAL;
	}
	int64_t timeout = c->timeout_ms;
	if (r->deadline_ms) {
		int64_t left = r->deadline_ms - wall_ms();
		if (left <= 0) {
			snprintf(err, errlen, "cannot reach '%s': deadline passed before the request started", shown);
			return HTTP_ERR_LOCAL;
		}
		if (!timeout || left < timeout)
			timeout = left;
	}
	if (!timeout)
		timeout = HTTP_DEFAULT_TIMEOUT_MS;

	char *token = NULL, *password = NULL;
	if (secrets_get(c, &token, &password, err, errlen))
		return HTTP_ERR_LOCAL;
	struct curl_slist *hdrs = build_headers(c, r, err, errlen);
	if (!hdrs) {
		wipe_free(token);
		wipe_free(password);
		return HTTP_ERR_LOCAL;
	}
	CURL *h = curl_pool_take(&c->pool);
	if (!h) {
		snprintf(err, errlen, "cannot reach '%s': out of memory", shown);
		curl_slist_free_all(hdrs);
		wipe_free(token);
		wipe_free(password);
		return HTTP_ERR_LOCAL;
	}

	char errbuf[CURL_ERROR_SIZE] = "";
	struct sink sink = { .max = r->max_bytes ? r->max_bytes : HTTP_BODY_MAX_DEFAULT };
	int rc = HTTP_ERR_LOCAL;
	if (setup_handle(c, h, r, hdrs, token, password, &sink, errbuf, timeout)) {
		snprintf(err, errlen, "cannot reach '%s': libcurl refused an option", shown);
	} else {
		CURLcode cc = curl_easy_perform(h);
		if (cc != CURLE_OK) {
			rc = describe_failure(h, cc, &sink, errbuf, shown, timeout, err, errlen);
		} else {
			const char *ct = NULL;
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
			curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
			snprintf(out->content_type, sizeof out->content_type, "%s", ct ? ct : "");
			if (!sink.buf)
				sink.buf = calloc(1, 1);
			if (!sink.buf) {
				snprintf(err, errlen, "cannot read '%s': out of memory", shown);
			} else {
				out->body = sink.buf;
				out->len = sink.len;
				sink.buf = NULL;
				rc = 0;
			}
		}
	}
	/* libcurl may report while it closes a pooled connection later: not into this frame */
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
	curl_pool_give(&c->pool, h);
	curl_slist_free_all(hdrs);
	free(sink.buf);
	wipe_free(token);
	wipe_free(password);
	if (rc)
		http_client_redact(c, err);
	return rc;
}

void http_resp_release(struct http_resp *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------------------ */
/* the host's bounded GET                                                   */

static void host_client_once(void)
{
	host_client = http_client_new(NULL, host_err, sizeof host_err);
}

void http_global_release(void)
{
	http_client_free(host_client);
	host_client = NULL;
}

int http_host_get(const char *url, const struct sw_kv *headers, int64_t deadline_ms, size_t max_bytes,
		  char **body, size_t *len, long *status, char *err, size_t errlen)
{
	*body = NULL;
	*len = 0;
	*status = 0;
	pthread_once(&host_once, host_client_once);
	if (!host_client) {
		snprintf(err, errlen, "http client unavailable: %s", host_err);
		return -1;
	}
	struct http_req r = {
		.method = HTTP_GET,
		.url = url,
		.headers = headers,
		.deadline_ms = deadline_ms,
		.max_bytes = max_bytes,
	};
	struct http_resp resp;
	if (http_request(host_client, &r, &resp, err, errlen))
		return -1; /* the host table knows one failure, whoever is to blame */
	*body = resp.body;
	*len = resp.len;
	*status = resp.status;
	return 0;
}
