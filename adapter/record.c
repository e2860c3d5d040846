/*
 * record.c — `scalewise record` (record.h): Prometheus query_range in
 * chunks, merged into one matrix answer on disk.
 */
#include "record.h"
#include "hash.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include "dl_curl.h"
#include "http.h"

#include "cli.h"
#include "duration.h"
#include "jsonw.h"
#include "trace.h"

#define MAX_HEADERS 32
#define SECRET_MAX  (64 * 1024)

struct opts {
	const char *url, *query, *start_s, *end_s, *step_s, *out;
	const char *headers[MAX_HEADERS];
	size_t nheaders;
	const char *token_file, *user, *password_file, *ca, *cert, *key;
	bool insecure, quiet;
	int64_t timeout_ms;
};

/* ---- one merged series -------------------------------------------------------- */

struct rseries {
	char *key;          /* canonical label set: sorted name=value pairs */
	char *metric;       /* the "metric" object as JSON text */
	struct buf values;  /* "[ts,\"v\"]" entries joined by ',' */
	size_t npoints;
	int64_t last_ms;
};

struct merged {
	struct rseries *v;
	size_t n, cap;
	size_t *slots;      /* open-addressing hash of v indexes + 1; 0 = empty */
	size_t nslots;
	size_t points;
};

static int merged_grow_slots(struct merged *m)
{
	size_t ns = m->nslots ? m->nslots * 2 : 64;
	size_t *slots = calloc(ns, sizeof *slots);
	if (!slots)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		size_t h = (size_t)sw_fnv1a64(m->v[i].key, strlen(m->v[i].key)) & (ns - 1);
		while (slots[h])
			h = (h + 1) & (ns - 1);
		slots[h] = i + 1;
	}
	free(m->slots);
	m->slots = slots;
	m->nslots = ns;
	return 0;
}

/* The series with this key, made when new (metric copied). NULL: out of memory or too many. */
static struct rseries *merged_get(struct merged *m, const char *key, const char *metric_json)
{
	if (m->n * 2 >= m->nslots && merged_grow_slots(m))
		return NULL;
	size_t h = (size_t)sw_fnv1a64(key, strlen(key)) & (m->nslots - 1);
	while (m->slots[h]) {
		struct rseries *s = &m->v[m->slots[h] - 1];
		if (!strcmp(s->key, key))
			return s;
		h = (h + 1) & (m->nslots - 1);
	}
	if (m->n >= TRACE_MAX_SERIES)
		return NULL;
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 16;
		struct rseries *nv = realloc(m->v, nc * sizeof *nv);
		if (!nv)
			return NULL;
		m->v = nv;
		m->cap = nc;
	}
	struct rseries *s = &m->v[m->n];
	memset(s, 0, sizeof *s);
	s->key = strdup(key);
	s->metric = strdup(metric_json);
	buf_init(&s->values, 0);
	s->last_ms = INT64_MIN;
	if (!s->key || !s->metric) {
		free(s->key);
		free(s->metric);
		return NULL;
	}
	m->slots[h] = ++m->n;
	return s;
}

static void merged_release(struct merged *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].metric);
		buf_release(&m->v[i].values);
	}
	free(m->v);
	free(m->slots);
	memset(m, 0, sizeof *m);
}

/* ---- HTTP ---------------------------------------------------------------------- */

struct body {
	char *data;
	size_t len, cap;
	bool too_big;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	struct body *b = ud;
	size_t n = size * nmemb;
	if (b->len + n > RECORD_MAX_BODY) {
		b->too_big = true;
		return 0;
	}
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 65536;
		while (nc < b->len + n + 1)
			nc *= 2;
		char *nd = realloc(b->data, nc);
		if (!nd)
			return 0;
		b->data = nd;
		b->cap = nc;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return n;
}

/* Reads a small secret file, trailing white space removed. NULL on error (err set). */
static char *read_secret(const char *flag, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot read '%s': %s", flag, path, strerror(errno));
		return NULL;
	}
	char *s = malloc(SECRET_MAX + 1);
	size_t n = s ? fread(s, 1, SECRET_MAX + 1, f) : 0;
	fclose(f);
	if (!s || n > SECRET_MAX) {
		free(s);
		snprintf(err, errlen, "%s: '%s' is larger than %d bytes", flag, path, SECRET_MAX);
		return NULL;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	s[n] = 0;
	return s;
}

/* "1714564800.250" */
static void secs_text(int64_t ms, char *buf, size_t n)
{
	snprintf(buf, n, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
}

/* The timestamp of a point as JSON text: seconds with up to 3 decimals. */
static void ts_text(double ts, char *buf, size_t n)
{
	int64_t ms = (int64_t)llround(ts * 1000.0);
	if (ms % 1000 == 0)
		snprintf(buf, n, "%lld", (long long)(ms / 1000));
	else {
		snprintf(buf, n, "%lld.%03lld", (long long)(ms / 1000), (long long)(ms % 1000));
		size_t l = strlen(buf);
		while (l && buf[l - 1] == '0')
			buf[--l] = 0;
	}
}

static int label_pair_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Canonical key of a metric object: "name\x01value\x02" pairs sorted by name. */
static char *series_key(const cJSON *metric)
{
	size_t n = 0, total = 1;
	const cJSON *it;
	cJSON_ArrayForEach(it, metric) {
		n++;
		total += strlen(it->string) + (cJSON_IsString(it) ? strlen(it->valuestring) : 0) + 2;
	}
	char **pairs = calloc(n ? n : 1, sizeof *pairs);
	char *key = malloc(total);
	if (!pairs || !key) {
		free(pairs);
		free(key);
		return NULL;
	}
	size_t i = 0;
	cJSON_ArrayForEach(it, metric) pairs[i++] = it->string;
	qsort(pairs, n, sizeof *pairs, label_pair_cmp);
	size_t k = 0;
	for (i = 0; i < n; i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(metric, pairs[i]);
		const char *vs = cJSON_IsString(v) ? v->valuestring : "";
		size_t l1 = strlen(pairs[i]), l2 = strlen(vs);
		memcpy(key + k, pairs[i], l1);
		k += l1;
		key[k++] = 1;
		memcpy(key + k, vs, l2);
		k += l2;
		key[k++] = 2;
	}
	key[k] = 0;
	free(pairs);
	return key;
}

/* Takes one chunk's answer into m. 0, or -1 with err. */
static int take_answer(struct merged *m, const char *body, size_t len, long http, const char *where, char *err,
		       size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(body, len);
	if (!root) {
		char sh[160];
		size_t k = 0;
		for (size_t i = 0; i < len && k + 1 < sizeof sh && k < 120; i++)
			sh[k++] = (body[i] >= 0x20 && body[i] < 0x7f) ? body[i] : ' ';
		sh[k] = 0;
		if (http >= 200 && http < 300)
			snprintf(err, errlen, "prometheus '%s': the answer is not JSON: '%s'", where, sh);
		else
			snprintf(err, errlen, "prometheus '%s': HTTP %ld: %s", where, http, k ? sh : "(empty body)");
		return -1;
	}
	int rc = -1;
	const cJSON *status = cJSON_GetObjectItemCaseSensitive(root, "status");
	if (!cJSON_IsString(status) || strcmp(status->valuestring, "success")) {
		const cJSON *et = cJSON_GetObjectItemCaseSensitive(root, "errorType");
		const cJSON *em = cJSON_GetObjectItemCaseSensitive(root, "error");
		snprintf(err, errlen, "prometheus '%s': HTTP %ld: %s: %s", where, http,
			 cJSON_IsString(et) ? et->valuestring : "error",
			 cJSON_IsString(em) ? em->valuestring : "(no message)");
		goto done;
	}
	const cJSON *warnings = cJSON_GetObjectItemCaseSensitive(root, "warnings"), *w;
	cJSON_ArrayForEach(w, warnings)
		if (cJSON_IsString(w))
			fprintf(stderr, "scalewise record: warning from prometheus: %s\n", w->valuestring);
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "data");
	const cJSON *rt = cJSON_GetObjectItemCaseSensitive(data, "resultType");
	const cJSON *result = cJSON_GetObjectItemCaseSensitive(data, "result");
	if (!cJSON_IsString(rt) || strcmp(rt->valuestring, "matrix") || !(cJSON_IsArray(result) || cJSON_IsNull(result))) {
		snprintf(err, errlen, "prometheus '%s': the answer is not a matrix (resultType '%s')", where,
			 cJSON_IsString(rt) ? rt->valuestring : "?");
		goto done;
	}
	const cJSON *s;
	cJSON_ArrayForEach(s, result) {
		const cJSON *metric = cJSON_GetObjectItemCaseSensitive(s, "metric");
		const cJSON *values = cJSON_GetObjectItemCaseSensitive(s, "values");
		if (!cJSON_IsObject(metric)) {
			snprintf(err, errlen, "prometheus '%s': a series without a 'metric' object", where);
			goto done;
		}
		if (!values)
			continue;   /* native histograms only: not a trace */
		char *key = series_key(metric);
		char *mtext = cJSON_PrintUnformatted(metric);
		struct rseries *rs = key && mtext ? merged_get(m, key, mtext) : NULL;
		free(key);
		cJSON_free(mtext);
		if (!rs) {
			snprintf(err, errlen, "prometheus '%s': more than %u series, or out of memory", where,
				 TRACE_MAX_SERIES);
			goto done;
		}
		const cJSON *p;
		cJSON_ArrayForEach(p, values) {
			const cJSON *t = cJSON_GetArrayItem(p, 0), *v = cJSON_GetArrayItem(p, 1);
			if (!cJSON_IsNumber(t) || !cJSON_IsString(v)) {
				snprintf(err, errlen, "prometheus '%s': a point is not [timestamp, \"value\"]", where);
				goto done;
			}
			int64_t ms = (int64_t)llround(t->valuedouble * 1000.0);
			if (ms <= rs->last_ms)
				continue;   /* a chunk boundary seen twice */
			if (m->points >= RECORD_MAX_POINTS) {
				snprintf(err, errlen, "prometheus '%s': more than %u points in all", where, RECORD_MAX_POINTS);
				goto done;
			}
			char ts[48];
			ts_text(t->valuedouble, ts, sizeof ts);
			if (rs->npoints)
				buf_addc(&rs->values, ',');
			buf_addf(&rs->values, "[%s,", ts);
			json_put_string(&rs->values, v->valuestring, strlen(v->valuestring));
			buf_addc(&rs->values, ']');
			if (rs->values.failed) {
				snprintf(err, errlen, "prometheus '%s': series too large to keep", where);
				goto done;
			}
			rs->npoints++;
			rs->last_ms = ms;
			m->points++;
		}
	}
	rc = 0;
done:
	cJSON_Delete(root);
	return rc;
}

/* ---- times ---------------------------------------------------------------------- */

/* RFC 3339, Unix seconds, "now", "-24h", "now-24h". */
static int parse_when(const char *s, int64_t now_ms, int64_t *out)
{
	char err[200];
	int64_t d;
	if (!strcmp(s, "now")) {
		*out = now_ms;
		return 0;
	}
	if (!strncmp(s, "now-", 4))
		s += 3;
	if (s[0] == '-') {
		if (duration_parse(s + 1, &d, err, sizeof err) || d > now_ms)
			return -1;
		*out = now_ms - d;
		return 0;
	}
	return trace_parse_time(s, strlen(s), out);
}

/* ---- the command ------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: scalewise record --prometheus URL --query Q --start T [--end T] [--step DURATION]\n"
		"         --out FILE [auth and TLS flags] [--timeout DURATION] [--quiet]\n"
		"\n"
		"Fetches Q over [start, end] from Prometheus (POST /api/v1/query_range, in chunks of\n"
		"%d steps, below its 11,000-point limit) and writes one query_range answer to FILE:\n"
		"the input `scalewise simulate --input` replays.\n"
		"\n"
		"  --prometheus URL           the server's base URL, http:// or https://, without\n"
		"                             user:password@ (use --basic-auth-user)\n"
		"  --query Q                  a PromQL expression\n"
		"  --start T, --end T         RFC 3339 (2024-05-01T12:00:00Z), Unix seconds, now, or\n"
		"                             relative to now (-24h, now-90m); --end defaults to now\n"
		"  --step DURATION            resolution (default 15s, the HPA's sync period)\n"
		"  --out FILE, -o FILE        where to write (\"-\": stdout); written to a temporary\n"
		"                             file and renamed\n"
		"  --header 'Name: value'     an extra request header (repeatable)\n"
		"  --bearer-token-file FILE   Authorization: Bearer <content of FILE>\n"
		"  --basic-auth-user U        basic auth, with --basic-auth-password-file FILE\n"
		"  --ca-file, --cert-file, --key-file FILE, --insecure-skip-verify   TLS\n"
		"  --timeout DURATION         per request (default 30s)\n"
		"  --quiet                    no progress on stderr\n"
		"\n"
		"Exit status: 0; 2 for bad flags; 1 when Prometheus fails or answers with an error\n"
		"(its errorType and message are printed) or FILE cannot be written.\n",
		RECORD_CHUNK_POINTS);
}

#define FAIL(code, ...)                                             \
	do {                                                        \
		fprintf(stderr, "scalewise record: " __VA_ARGS__);  \
		fputc('\n', stderr);                                \
		ret = (code);                                       \
		goto out;                                           \
	} while (0)

static int write_all(FILE *f, const struct merged *m)
{
	fputs("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[", f);
	for (size_t i = 0; i < m->n; i++) {
		const struct rseries *s = &m->v[i];
		fprintf(f, "%s\n{\"metric\":%s,\"values\":[", i ? "," : "", s->metric);
		if (s->values.len)
			fwrite(s->values.data, 1, s->values.len, f);
		fputs("]}", f);
	}
	fputs("\n]}}\n", f);
	return ferror(f) ? -1 : 0;
}

int record_main(int argc, char **argv)
{
	struct opts o = { .step_s = "15s", .end_s = "now", .timeout_ms = 30000 };
	const char *timeout_s = NULL;
	int ret = 2;
	char err[1200];
	CURL *curl = NULL;
	struct curl_slist *hdrs = NULL;
	char *token = NULL, *password = NULL, *form = NULL, *tmp_path = NULL;
	struct merged m;
	struct body body = { 0 };
	FILE *fout = NULL;

	memset(&m, 0, sizeof m);
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		bool missing = false;
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--insecure-skip-verify")) {
			o.insecure = true;
			continue;
		}
		if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			o.quiet = true;
			continue;
		}
		if (cli_flag(argc, argv, &i, "--prometheus", &v, &missing)) o.url = v;
		else if (cli_flag(argc, argv, &i, "--query", &v, &missing)) o.query = v;
		else if (cli_flag(argc, argv, &i, "--start", &v, &missing)) o.start_s = v;
		else if (cli_flag(argc, argv, &i, "--end", &v, &missing)) o.end_s = v;
		else if (cli_flag(argc, argv, &i, "--step", &v, &missing)) o.step_s = v;
		else if (cli_flag(argc, argv, &i, "--out", &v, &missing)) o.out = v;
		else if (cli_flag(argc, argv, &i, "-o", &v, &missing)) o.out = v;
		else if (cli_flag(argc, argv, &i, "--bearer-token-file", &v, &missing)) o.token_file = v;
		else if (cli_flag(argc, argv, &i, "--basic-auth-user", &v, &missing)) o.user = v;
		else if (cli_flag(argc, argv, &i, "--basic-auth-password-file", &v, &missing)) o.password_file = v;
		else if (cli_flag(argc, argv, &i, "--ca-file", &v, &missing)) o.ca = v;
		else if (cli_flag(argc, argv, &i, "--cert-file", &v, &missing)) o.cert = v;
		else if (cli_flag(argc, argv, &i, "--key-file", &v, &missing)) o.key = v;
		else if (cli_flag(argc, argv, &i, "--timeout", &v, &missing)) timeout_s = v;
		else if (cli_flag(argc, argv, &i, "--header", &v, &missing)) {
			if (v && o.nheaders >= MAX_HEADERS)
				FAIL(2, "--header: at most %d headers", MAX_HEADERS);
			if (v)
				o.headers[o.nheaders++] = v;
		} else
			FAIL(2, "unknown argument '%s' (see --help)", a);
		if (missing || !v)
			FAIL(2, "%s needs a value", a);
	}
	if (!o.url)
		FAIL(2, "--prometheus URL is required (see --help)");
	if (http_url_has_credentials(o.url)) {
		char shown[256];
		http_url_redact(o.url, shown, sizeof shown);
		FAIL(2, "--prometheus: '%s' must not hold credentials; use --basic-auth-user and "
			"--basic-auth-password-file", shown);
	}
	if (http_url_check(o.url, "--prometheus:", err, sizeof err))
		FAIL(2, "%s", err);
	if (!o.query || !*o.query)
		FAIL(2, "--query Q is required");
	if (strlen(o.query) > 64 * 1024)
		FAIL(2, "--query: longer than 64 KiB");
	if (!o.start_s)
		FAIL(2, "--start T is required (RFC 3339, Unix seconds or relative like -24h)");
	if (!o.out)
		FAIL(2, "--out FILE is required");
	if ((o.user != NULL) != (o.password_file != NULL))
		FAIL(2, "%s: needs %s too", o.user ? "--basic-auth-user" : "--basic-auth-password-file",
		     o.user ? "--basic-auth-password-file" : "--basic-auth-user");
	if ((o.cert != NULL) != (o.key != NULL))
		FAIL(2, "%s: needs %s too", o.cert ? "--cert-file" : "--key-file", o.cert ? "--key-file" : "--cert-file");
	for (size_t i = 0; i < o.nheaders; i++) {
		const char *c = strchr(o.headers[i], ':');
		if (!c || c == o.headers[i] || strpbrk(o.headers[i], "\r\n"))
			FAIL(2, "--header: '%s' must be 'Name: value'", o.headers[i]);
	}
	if (timeout_s) {
		if (duration_parse(timeout_s, &o.timeout_ms, err, sizeof err) || o.timeout_ms <= 0 ||
		    o.timeout_ms > 3600000)
			FAIL(2, "--timeout: '%s' must be a duration from 1ms to 1h", timeout_s);
	}
	int64_t step_ms, start_ms, end_ms;
	if (duration_parse(o.step_s, &step_ms, err, sizeof err) || step_ms <= 0)
		FAIL(2, "--step: '%s' must be a positive duration such as 15s", o.step_s);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
	if (parse_when(o.start_s, now_ms, &start_ms))
		FAIL(2, "--start: '%s' is not a time (RFC 3339, Unix seconds, now, or -DURATION)", o.start_s);
	if (parse_when(o.end_s, now_ms, &end_ms))
		FAIL(2, "--end: '%s' is not a time (RFC 3339, Unix seconds, now, or -DURATION)", o.end_s);
	if (end_ms < start_ms)
		FAIL(2, "--end: %s is before --start %s", o.end_s, o.start_s);
	uint64_t total_steps = (uint64_t)((end_ms - start_ms) / step_ms) + 1;
	if (total_steps > RECORD_MAX_POINTS)
		FAIL(2, "--step: %llu steps from --start to --end, more than %u", (unsigned long long)total_steps,
		     RECORD_MAX_POINTS);
	token = o.token_file ? read_secret("--bearer-token-file", o.token_file, err, sizeof err) : NULL;
	if (o.token_file && !token)
		FAIL(2, "%s", err);
	password = o.password_file ? read_secret("--basic-auth-password-file", o.password_file, err, sizeof err) : NULL;
	if (o.password_file && !password)
		FAIL(2, "%s", err);

	/* ---- curl ---- */
	if (sw_curl_load(err, sizeof err))
		FAIL(1, "%s", err);
	curl = curl_easy_init();
	if (!curl)
		FAIL(1, "cannot initialise libcurl");
	char where[300], endpoint[4200];
	http_url_redact(o.url, where, sizeof where);
	{
		size_t ul = strlen(o.url);
		while (ul && o.url[ul - 1] == '/')
			ul--;
		if (ul > 4000)
			FAIL(2, "--prometheus: URL longer than 4000 bytes");
		snprintf(endpoint, sizeof endpoint, "%.*s/api/v1/query_range", (int)ul, o.url);
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	for (size_t i = 0; i < o.nheaders; i++)
		hdrs = curl_slist_append(hdrs, o.headers[i]);
	if (token) {
		size_t tl = strlen(token) + 32;
		char *h = malloc(tl);
		if (h) {
			snprintf(h, tl, "Authorization: Bearer %s", token);
			hdrs = curl_slist_append(hdrs, h);
			free(h);
		}
	}
	curl_easy_setopt(curl, CURLOPT_URL, endpoint);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)o.timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(o.timeout_ms < 10000 ? o.timeout_ms : 10000));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "scalewise-record");
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	if (o.user) {
		curl_easy_setopt(curl, CURLOPT_USERNAME, o.user);
		curl_easy_setopt(curl, CURLOPT_PASSWORD, password);
	}
	if (o.ca)
		curl_easy_setopt(curl, CURLOPT_CAINFO, o.ca);
	if (o.cert) {
		curl_easy_setopt(curl, CURLOPT_SSLCERT, o.cert);
		curl_easy_setopt(curl, CURLOPT_SSLKEY, o.key);
	}
	if (o.insecure) {
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	char *eq = curl_easy_escape(curl, o.query, 0);
	if (!eq)
		FAIL(1, "out of memory");
	size_t flen = strlen(eq) + 200;
	form = malloc(flen);
	if (!form) {
		curl_free(eq);
		FAIL(1, "out of memory");
	}

	/* ---- chunks ---- */
	const int64_t chunk_span = (int64_t)(RECORD_CHUNK_POINTS - 1) * step_ms;
	const uint64_t nchunks = (total_steps + RECORD_CHUNK_POINTS - 1) / RECORD_CHUNK_POINTS;
	struct timespec t_start, t_now;
	clock_gettime(CLOCK_MONOTONIC, &t_start);
	uint64_t chunk = 0;
	for (int64_t cs = start_ms; cs <= end_ms; cs += chunk_span + step_ms, chunk++) {
		int64_t ce = cs + chunk_span;
		if (ce > end_ms)
			ce = end_ms;
		char s1[40], s2[40], st[40];
		secs_text(cs, s1, sizeof s1);
		secs_text(ce, s2, sizeof s2);
		secs_text(step_ms, st, sizeof st);
		snprintf(form, flen, "query=%s&start=%s&end=%s&step=%s", eq, s1, s2, st);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
		body.len = 0;
		body.too_big = false;
		CURLcode cc = curl_easy_perform(curl);
		if (cc != CURLE_OK) {
			curl_free(eq);
			if (body.too_big)
				FAIL(1, "prometheus '%s': the answer is larger than %u MiB; use a larger --step or a shorter range",
				     where, RECORD_MAX_BODY >> 20);
			FAIL(1, "prometheus '%s': %s", where, curl_easy_strerror(cc));
		}
		long http = 0;
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http);
		if (take_answer(&m, body.data ? body.data : "", body.len, http, where, err, sizeof err)) {
			curl_free(eq);
			FAIL(1, "%s", err);
		}
		clock_gettime(CLOCK_MONOTONIC, &t_now);
		double el = (double)(t_now.tv_sec - t_start.tv_sec) + (double)(t_now.tv_nsec - t_start.tv_nsec) / 1e9;
		if (!o.quiet && nchunks > 1 && el > 1.0)
			fprintf(stderr, "scalewise record: chunk %llu of %llu, %zu series, %zu points\n",
				(unsigned long long)chunk + 1, (unsigned long long)nchunks, m.n, m.points);
		if (ce == end_ms)
			break;
	}
	curl_free(eq);
	if (m.n == 0)
		FAIL(1, "prometheus '%s': the query returned no series between %s and %s", where, o.start_s, o.end_s);

	/* ---- write ---- */
	if (!strcmp(o.out, "-")) {
		if (write_all(stdout, &m) || fflush(stdout))
			FAIL(1, "--out: cannot write to stdout");
	} else {
		size_t pl = strlen(o.out) + 16;
		tmp_path = malloc(pl);
		if (!tmp_path)
			FAIL(1, "out of memory");
		snprintf(tmp_path, pl, "%s.XXXXXX", o.out);
		int fd = mkstemp(tmp_path);
		if (fd < 0)
			FAIL(1, "--out: cannot write '%s': %s", o.out, strerror(errno));
		fout = fdopen(fd, "w");
		if (!fout) {
			close(fd);
			unlink(tmp_path);
			FAIL(1, "--out: cannot write '%s': %s", o.out, strerror(errno));
		}
		int wrc = write_all(fout, &m);
		if (fclose(fout) || wrc) {
			fout = NULL;
			unlink(tmp_path);
			FAIL(1, "--out: cannot write '%s'", o.out);
		}
		fout = NULL;
		if (rename(tmp_path, o.out)) {
			int e = errno;
			unlink(tmp_path);
			FAIL(1, "--out: cannot write '%s': %s", o.out, strerror(e));
		}
	}
	if (!o.quiet)
		fprintf(stderr, "scalewise record: wrote %zu series, %zu points (%llu request%s) to %s\n", m.n, m.points,
			(unsigned long long)chunk + 1, chunk ? "s" : "", o.out);
	ret = 0;
out:
	if (fout)
		fclose(fout);
	free(tmp_path);
	free(form);
	free(body.data);
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	if (token) {
		memset(token, 0, strlen(token));
		free(token);
	}
	if (hdrs) /* libcurl is loaded only once the flags are good */
		curl_slist_free_all(hdrs);
	if (curl)
		curl_easy_cleanup(curl);
	merged_release(&m);
	return ret;
}
