/*
 * jsonhttp.c — GET, status and JSON checks shared by the JSON-over-HTTP
 * scalers (see jsonhttp.h).
 */
#include "jsonhttp.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ERR_SOURCE SW_FETCH_SOURCE_ERROR
#define ERR_ANSWER SW_FETCH_ANSWER_ERROR

int jsonhttp_emit(const struct jsonhttp_state *st, const struct sw_request *req, double v, struct sw_batch *out,
		  char *err, size_t errlen)
{
	int64_t ts = req->now_ms > 0 ? req->now_ms : st->host->now_ms();
	if (st->host->batch_add(out, v, ts, NULL, 0)) {
		snprintf(err, errlen, "the sample was refused");
		return ERR_ANSWER;
	}
	return 0;
}

int jsonhttp_blame(long status)
{
	return status >= 500 || status == 408 || status == 429 ? ERR_SOURCE : ERR_ANSWER;
}

static int is_space(char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

void jsonhttp_excerpt(const char *s, size_t len, char *out, size_t n)
{
	size_t o = 0, i = 0;
	if (!n)
		return;
	while (i < len && is_space(s[i]))
		i++;
	for (; i < len && o + 4 < n && o < 160; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : ' ';
	}
	while (o && out[o - 1] == ' ')
		o--;
	if (i < len && o + 4 <= n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o < n ? o : n - 1] = 0;
}

int jsonhttp_parse(const char *body, size_t len, long status, cJSON **root, char *err, size_t errlen)
{
	char ex[200];
	*root = NULL;
	if (status < 200 || status > 299) {
		if (len) {
			jsonhttp_excerpt(body, len, ex, sizeof ex);
			snprintf(err, errlen, "HTTP %ld: %s", status, ex);
		} else {
			snprintf(err, errlen, "HTTP %ld with an empty body", status);
		}
		return jsonhttp_blame(status);
	}
	size_t i = 0;
	while (i < len && is_space(body[i]))
		i++;
	if (i == len) {
		snprintf(err, errlen, "empty body");
		return ERR_ANSWER;
	}
	const char *end = NULL;
	cJSON *doc = cJSON_ParseWithLengthOpts(body, len, &end, 0);
	if (!doc) {
		size_t at = end && end >= body ? (size_t)(end - body) : 0;
		if (body[i] == '{' || body[i] == '[') {
			snprintf(err, errlen, "body is invalid or truncated JSON (error at byte %zu of %zu)", at, len);
		} else {
			jsonhttp_excerpt(body, len, ex, sizeof ex);
			snprintf(err, errlen, "body is not JSON: %s", ex);
		}
		return ERR_ANSWER;
	}
	size_t at = (size_t)(end - body);
	while (at < len && is_space(body[at]))
		at++;
	if (at < len) {
		snprintf(err, errlen, "body has data after its JSON document (at byte %zu of %zu)", at, len);
		cJSON_Delete(doc);
		return ERR_ANSWER;
	}
	*root = doc;
	return 0;
}

static struct sw_label accept_items[] = { { "Accept", "application/json" } };
static const struct sw_kv accept_json = { 1, accept_items };

int jsonhttp_get(struct http_client *c, const char *url, int64_t deadline_ms, size_t max_bytes, long *status,
		 cJSON **root, char *err, size_t errlen)
{
	*root = NULL;
	*status = 0;
	struct http_req r = {
		.method = HTTP_GET,
		.url = url,
		.headers = &accept_json,
		.deadline_ms = deadline_ms,
		.max_bytes = max_bytes,
	};
	struct http_resp resp;
	int rc = http_request(c, &r, &resp, err, errlen);
	if (rc)
		return rc == HTTP_ERR_SOURCE ? ERR_SOURCE : ERR_ANSWER;
	*status = resp.status;
	char msg[1024];
	rc = jsonhttp_parse(resp.body, resp.len, resp.status, root, msg, sizeof msg);
	http_resp_release(&resp);
	if (rc) {
		char shown[512];
		http_url_redact(url, shown, sizeof shown);
		http_client_redact(c, msg);
		snprintf(err, errlen, "'%s': %s", shown, msg);
	}
	return rc;
}

int jsonhttp_encode(const char *s, char *out, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = strlen(out);
	if (o >= n)
		return -1;
	/* "." and ".." would be dot segments that a URL parser removes */
	int dots = *s && strspn(s, ".") == strlen(s);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned char ch = *p;
		int plain = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			    ch == '-' || (ch == '.' && !dots) || ch == '_' || ch == '~';
		if (o + (plain ? 1 : 3) >= n) {
			out[o] = 0;
			return -1;
		}
		if (plain) {
			out[o++] = (char)ch;
		} else {
			out[o++] = '%';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		}
	}
	out[o] = 0;
	return 0;
}

int jsonhttp_check(const struct http_source_params *p, bool url_optional, char *err, size_t errlen)
{
	if (!(p->url && *p->url) && !url_optional) {
		snprintf(err, errlen, "url is required");
		return -1;
	}
	return http_source_check(p, err, errlen);
}

int jsonhttp_open(struct jsonhttp_state *st, const struct http_source_params *p, bool url_optional,
		  const struct sw_host *host, char *err, size_t errlen)
{
	const char *base = p->url && *p->url ? p->url : NULL;
	if (jsonhttp_check(p, url_optional, err, errlen))
		return -1;
	struct jsonhttp_state s = { .host = host };
	s.http = http_client_new(p, err, errlen);
	if (!s.http)
		return -1;
	if (base) {
		s.base = strdup(base);
		if (!s.base) {
			snprintf(err, errlen, "out of memory");
			http_client_free(s.http);
			return -1;
		}
	}
	*st = s;
	return 0;
}

void jsonhttp_close(struct jsonhttp_state *st)
{
	http_client_free(st->http);
	free(st->base);
	memset(st, 0, sizeof *st);
}
