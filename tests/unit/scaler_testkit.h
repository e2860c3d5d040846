/*
 * scaler_testkit.h — what the unit tests of the scalers share; included by
 * each (test_prometheus, test_redis, test_postgresql, test_metrics_api,
 * test_rabbitmq, test_nats_jetstream), after <cmocka.h>. Everything is
 * static: each test binary gets its own copy.
 *
 *   - a host table whose batch records samples with their label sets
 *     (struct sw_batch), reads files as the adapter does;
 *   - kit_load/kit_open/kit_fetch...: a scaler driven through its
 *     descriptor, with its source and metric params loaded by the real
 *     params_load; kit_fetch_value and kit_want_* for the scalers that give
 *     one number;
 *   - a TCP server on 127.0.0.1 (struct kit_tcp): the listener, a thread
 *     that accepts, one thread a connection running the protocol of the
 *     server built on it; a mode, a log, dropped requests and killed
 *     connections for that protocol to use;
 *   - on it, a canned HTTP server (struct srv) answering as the test says:
 *     canned answers (one, or one per path), silence, endless bodies,
 *     redirects, closing without a word; it records the last request;
 *     the redis and postgresql tests build their own protocols on kit_tcp;
 *   - temporary folders and files (struct kit_dir);
 *   - kit_driver_main: the "driver mode" the integration scripts use:
 *       BIN fetch SOURCE_JSON PARAMS       one fetch: the value, or
 *                                          "error (source|answer): message"
 *       BIN poll  SOURCE_JSON PARAMS       one fetch per line read on stdin
 *                                          ("fetch [MS]": MS for that fetch),
 *                                          the value or the error line
 *       BIN bench SOURCE_JSON PARAMS SECS  fetches for SECS on one source:
 *                                          the rate and the CPU per fetch
 *       BIN freeport                       a free TCP port on 127.0.0.1
 *     A bad config prints "error (config): message". What stands before
 *     a value, and whether PARAMS is JSON or one param's text, is the
 *     test's (struct kit_driver_form).
 */
#ifndef SW_SCALER_TESTKIT_H
#define SW_SCALER_TESTKIT_H

#include <arpa/inet.h>
#include <stdarg.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "errlist.h"
#include "host.h"
#include "http.h"
#include "params.h"
#include "scaler.h"

#define KIT_UNUSED __attribute__((unused))

/* ======================================================================== */
/* the host's batch                                                         */

#define TB_MAX 64

struct sw_batch {
	double v[TB_MAX];
	int64_t ts[TB_MAX];
	size_t nlabels[TB_MAX];
	char labels[TB_MAX][512]; /* {a="1",b="2"} in the order given */
	size_t n;
	size_t cap; /* refuse beyond this many; 0 = TB_MAX */
	pthread_mutex_t mu;
};

/* A label set as {a="1",b="2"}, in the order given. */
static void kit_format_labels(const struct sw_label *l, size_t n, char *out, size_t len)
{
	size_t o = (size_t)snprintf(out, len, "{");
	for (size_t i = 0; i < n && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s%s=\"%s\"", i ? "," : "", l[i].name, l[i].value);
	if (o < len)
		snprintf(out + o, len - o, "}");
}

static int tb_add(struct sw_batch *b, double value, int64_t ts, const struct sw_label *labels, size_t n)
{
	pthread_mutex_lock(&b->mu);
	size_t cap = b->cap ? b->cap : TB_MAX;
	int rc = -1;
	if (b->n < cap) {
		b->v[b->n] = value;
		b->ts[b->n] = ts;
		b->nlabels[b->n] = n;
		kit_format_labels(labels, n, b->labels[b->n], sizeof b->labels[b->n]);
		b->n++;
		rc = 0;
	}
	pthread_mutex_unlock(&b->mu);
	return rc;
}

static int64_t t_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct sw_host kit_host = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_host),
	.now_ms = t_now,
	.batch_add = tb_add,
	.read_file = host_read_file,
	.http_get = http_host_get,
};

#define assert_contains(hay, needle)                                                       \
	do {                                                                               \
		const char *h_ = (hay), *n_ = (needle);                                    \
		if (!strstr(h_, n_))                                                       \
			fail_msg("'%s' does not contain '%s'", h_, n_);                    \
	} while (0)

#define assert_lacks(hay, needle)                                                          \
	do {                                                                               \
		const char *h_ = (hay), *n_ = (needle);                                    \
		if (strstr(h_, n_))                                                        \
			fail_msg("'%s' contains '%s'", h_, n_);                            \
	} while (0)

/* ======================================================================== */
/* a scaler through its descriptor                                          */

/* The wall clock of kit_fetch's requests: a fixed time, so samples have a
 * known timestamp. */
#define KIT_NOW INT64_C(1714564800123)

/* Loads json into a new params struct with the real loader (json NULL: the
 * params absent); NULL with every problem, one a line, in err. */
static KIT_UNUSED void *kit_load(const struct sw_param *table, size_t n, size_t size, const char *json,
				 const char *path, char *err, size_t errlen)
{
	cJSON *obj = json ? cJSON_Parse(json) : NULL;
	if (json && !obj) {
		snprintf(err, errlen, "test bug: not JSON: %s", json);
		return NULL;
	}
	struct errlist e;
	errlist_init(&e);
	void *p = calloc(1, size ? size : 1);
	int bad = params_load(table, n, obj, path, NULL, p, &e);
	cJSON_Delete(obj);
	err[0] = 0;
	if (bad) {
		size_t o = 0;
		for (size_t i = 0; i < e.n && o < errlen; i++)
			o += (size_t)snprintf(err + o, errlen - o, "%s%s", i ? "\n" : "", e.items[i]);
		params_release(table, n, p);
		free(p);
		p = NULL;
	}
	errlist_release(&e);
	return p;
}

static KIT_UNUSED void *kit_load_source(const struct sw_scaler_type *t, const char *json, const char *path, char *err,
					size_t errlen)
{
	return kit_load(t->source_params, t->n_source_params, t->source_params_size, json, path, err, errlen);
}

static KIT_UNUSED void *kit_load_metric(const struct sw_scaler_type *t, const char *json, const char *path, char *err,
					size_t errlen)
{
	return kit_load(t->metric_params, t->n_metric_params, t->metric_params_size, json, path, err, errlen);
}

static KIT_UNUSED void kit_free_source(const struct sw_scaler_type *t, void *p)
{
	if (p)
		params_release(t->source_params, t->n_source_params, p);
	free(p);
}

static KIT_UNUSED void kit_free_metric(const struct sw_scaler_type *t, void *p)
{
	if (p)
		params_release(t->metric_params, t->n_metric_params, p);
	free(p);
}

/* Expects json not to load as source (source != 0) or metric params at
 * path, with exactly the message want. */
static KIT_UNUSED void kit_load_fails(const struct sw_scaler_type *t, int source, const char *path, const char *json,
				      const char *want)
{
	char err[2048] = "";
	void *p = source ? kit_load_source(t, json, path, err, sizeof err) : kit_load_metric(t, json, path, err, sizeof err);
	if (p) {
		if (source)
			kit_free_source(t, p);
		else
			kit_free_metric(t, p);
		fail_msg("'%s' loaded; expected: %s", json ? json : "(none)", want);
	}
	assert_string_equal(err, want);
}

/* {"key": "value"} as JSON (free it). */
static KIT_UNUSED char *kit_json_member(const char *key, const char *value)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, key, value);
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return json;
}

struct kit {
	const struct sw_scaler_type *t;
	void *src;    /* source params */
	void *metric; /* metric params */
	void *state;
	struct sw_batch batch;
};

static KIT_UNUSED void kit_close(struct kit *k)
{
	if (k->state) {
		k->t->close(k->state);
		free(k->state);
	}
	if (k->src)
		kit_free_source(k->t, k->src);
	if (k->metric)
		kit_free_metric(k->t, k->metric);
	pthread_mutex_destroy(&k->batch.mu);
	memset(k, 0, sizeof *k);
}

/* Loads the source params (and the metric params, unless metric_json is
 * NULL) and opens the source; 0, or -1 with a message (k must be closed
 * either way). */
static KIT_UNUSED int kit_open(struct kit *k, const struct sw_scaler_type *t, const char *src_json,
			       const char *metric_json, char *err, size_t errlen)
{
	memset(k, 0, sizeof *k);
	pthread_mutex_init(&k->batch.mu, NULL);
	k->t = t;
	k->src = kit_load_source(t, src_json, "sources.s", err, errlen);
	if (!k->src)
		return -1;
	if (metric_json) {
		k->metric = kit_load_metric(t, metric_json, "metrics[0].params", err, errlen);
		if (!k->metric)
			return -1;
	}
	k->state = calloc(1, t->state_size);
	if (t->open(k->state, k->src, &kit_host, err, errlen)) {
		free(k->state);
		k->state = NULL;
		return -1;
	}
	return 0;
}

/* Replaces the kit's metric params with json's; a test failure when they
 * do not load. */
static KIT_UNUSED void kit_set_metric(struct kit *k, const char *json)
{
	char err[1024];
	void *m = kit_load_metric(k->t, json, "metrics[0].params", err, sizeof err);
	if (!m)
		fail_msg("metric params '%s' do not load: %s", json, err);
	kit_free_metric(k->t, k->metric);
	k->metric = m;
}

/* One fetch with query (NULL: none) at now_ms; the scaler's return code,
 * err filled on an error. deadline_ms 0: 5 s from now. */
static KIT_UNUSED int kit_fetch_at(struct kit *k, const char *query, int64_t now_ms, int64_t deadline_ms, char *err,
				   size_t errlen)
{
	struct sw_request req = {
		.metric = "m",
		.params = k->metric,
		.query = query,
		.now_ms = now_ms,
		.deadline_ms = deadline_ms ? deadline_ms : t_now() + 5000,
	};
	k->batch.n = 0;
	err[0] = 0;
	int rc = k->t->fetch(k->state, k->src, &req, &k->batch, err, errlen);
	if (rc && getenv("SW_TEST_VERBOSE"))
		fprintf(stderr, "  fetch error: %s\n", err);
	return rc;
}

/* One fetch at KIT_NOW. */
static KIT_UNUSED int kit_fetch(struct kit *k, int64_t deadline_ms, char *err, size_t errlen)
{
	return kit_fetch_at(k, NULL, KIT_NOW, deadline_ms, err, errlen);
}

/* One fetch of a scaler that gives one number, with the metric params in
 * metric_json, at the wall clock, budget_ms from now (0: 5 s; negative: a
 * deadline already passed). 0 with the value in *v, or the error code with
 * its message. Either way the batch must be right: one unlabelled sample,
 * or none and a message. */
static KIT_UNUSED int kit_fetch_value(struct kit *k, const char *metric_json, int64_t budget_ms, double *v, char *err,
				      size_t errlen)
{
	kit_set_metric(k, metric_json);
	int64_t now = t_now();
	int rc = kit_fetch_at(k, NULL, now, now + (budget_ms ? budget_ms : 5000), err, errlen);
	if (rc == 0) {
		assert_int_equal(k->batch.n, 1);
		assert_int_equal(k->batch.nlabels[0], 0);
		*v = k->batch.v[0];
	} else {
		assert_int_equal(k->batch.n, 0);
		assert_true(err[0] != 0);
	}
	return rc;
}

/* Expects a fetch of metric_json to give exactly want. */
static KIT_UNUSED void kit_want_value(struct kit *k, const char *metric_json, double want)
{
	char err[1024];
	double v = -1;
	int rc = kit_fetch_value(k, metric_json, 0, &v, err, sizeof err);
	if (rc)
		fail_msg("fetch %s: %d %s", metric_json, rc, err);
	if (v != want)
		fail_msg("fetch %s: %.17g, expected %.17g", metric_json, v, want);
}

/* Expects a fetch of metric_json to fail with rc_want and exactly the
 * message want, in which ADDR stands for addr (the source as messages name
 * it). */
static KIT_UNUSED void kit_want_error(struct kit *k, const char *metric_json, int rc_want, const char *addr,
				      const char *want)
{
	char err[1024], full[1024];
	double v;
	const char *at = strstr(want, "ADDR");
	if (at)
		snprintf(full, sizeof full, "%.*s%s%s", (int)(at - want), want, addr, at + 4);
	else
		snprintf(full, sizeof full, "%s", want);
	int rc = kit_fetch_value(k, metric_json, 0, &v, err, sizeof err);
	if (rc != rc_want)
		fail_msg("fetch %s: rc %d (%s), expected %d", metric_json, rc, err, rc_want);
	assert_string_equal(err, full);
}

/* check_metric on a metric params JSON, with the source params of src_json
 * (NULL: no source); 0 or -1 with the message. A load problem is returned
 * as -2 with the loader's message. */
static KIT_UNUSED int kit_check(const struct sw_scaler_type *t, const char *src_json, const char *metric_json,
				char *err, size_t errlen)
{
	void *src = NULL;
	if (src_json && !(src = kit_load_source(t, src_json, "sources.s", err, errlen)))
		return -2;
	void *m = kit_load_metric(t, metric_json, "metrics[0].params", err, errlen);
	int rc = -2;
	if (m) {
		struct sw_request req = { .metric = "m", .params = m };
		rc = t->check_metric(src, &req, err, errlen);
		kit_free_metric(t, m);
	}
	kit_free_source(t, src);
	return rc;
}

/* check_source on the source params of src_json: 0 (also when the scaler has
 * no check_source), -1 with the message, or -2 with the loader's message. */
static KIT_UNUSED int kit_check_source(const struct sw_scaler_type *t, const char *src_json, char *err, size_t errlen)
{
	void *src = kit_load_source(t, src_json, "sources.s", err, errlen);
	if (!src)
		return -2;
	int rc = t->check_source ? t->check_source(src, err, errlen) : 0;
	kit_free_source(t, src);
	return rc;
}

/* ======================================================================== */
/* a TCP server on 127.0.0.1                                                */

#define KIT_CONNS 64

struct kit_tcp;
/* Serves one connection; returns when it is to be closed. */
typedef void (*kit_serve_fn)(struct kit_tcp *s, int fd);

/* The first member of the struct of each server built on it, so that its
 * serve function can cast back. */
struct kit_tcp {
	int lfd, port;
	pthread_t acceptor;
	pthread_mutex_t mu; /* guards these fields and those of the server built on it */
	kit_serve_fn serve;
	int mode;           /* the server's: how it is to answer */
	int drop_next;      /* the next N requests close their connection unanswered */
	int accepted;
	char log[8192];     /* what the server logs, one a line */
	int fds[KIT_CONNS];
	pthread_t threads[KIT_CONNS];
	int nconns;
};

struct kit_conn {
	struct kit_tcp *s;
	int fd;
};

static KIT_UNUSED int kit_send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static KIT_UNUSED int kit_send_str(int fd, const char *s)
{
	return kit_send_all(fd, s, strlen(s));
}

static KIT_UNUSED int kit_recv_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n) {
		ssize_t r = recv(fd, p, n, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads and drops what comes, never answering, until the peer goes away. */
static KIT_UNUSED void kit_sink(int fd)
{
	char sink[256];
	while (recv(fd, sink, sizeof sink, 0) > 0)
		;
}

static void *kit_tcp_conn_main(void *arg)
{
	struct kit_conn c = *(struct kit_conn *)arg;
	free(arg);
	c.s->serve(c.s, c.fd);
	shutdown(c.fd, SHUT_RDWR);
	return NULL;
}

static void *kit_tcp_acceptor_main(void *arg)
{
	struct kit_tcp *s = arg;
	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			break;
		pthread_mutex_lock(&s->mu);
		s->accepted++;
		if (s->nconns == KIT_CONNS) {
			pthread_mutex_unlock(&s->mu);
			close(fd);
			continue;
		}
		struct kit_conn *c = malloc(sizeof *c);
		c->s = s;
		c->fd = fd;
		s->fds[s->nconns] = fd;
		pthread_create(&s->threads[s->nconns], NULL, kit_tcp_conn_main, c);
		s->nconns++;
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

/* Starts serving with serve on port (0: any free port; another: to stand
 * in for a server that restarts on its port). Connections queue from here
 * on: no wait needed. */
static KIT_UNUSED void kit_tcp_start(struct kit_tcp *s, int port, kit_serve_fn serve)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
	s->serve = serve;
	s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s->lfd >= 0);
	int one = 1;
	setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
				 .sin_port = htons((uint16_t)port) };
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t al = sizeof a;
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &al), 0);
	s->port = ntohs(a.sin_port);
	assert_int_equal(listen(s->lfd, 64), 0);
	assert_int_equal(pthread_create(&s->acceptor, NULL, kit_tcp_acceptor_main, s), 0);
}

/* Closes every open connection, as a restarted server would; the listener
 * stays. Returns once their threads are gone. */
static KIT_UNUSED void kit_tcp_kill_conns(struct kit_tcp *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->nconns;
	for (int i = 0; i < n; i++)
		shutdown(s->fds[i], SHUT_RDWR);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < n; i++) {
		pthread_join(s->threads[i], NULL);
		close(s->fds[i]);
	}
	pthread_mutex_lock(&s->mu);
	memmove(s->fds, s->fds + n, (size_t)(s->nconns - n) * sizeof s->fds[0]);
	memmove(s->threads, s->threads + n, (size_t)(s->nconns - n) * sizeof s->threads[0]);
	s->nconns -= n;
	pthread_mutex_unlock(&s->mu);
}

static KIT_UNUSED void kit_tcp_stop(struct kit_tcp *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->acceptor, NULL);
	close(s->lfd);
	kit_tcp_kill_conns(s);
	pthread_mutex_destroy(&s->mu);
}

static KIT_UNUSED void kit_tcp_set_mode(struct kit_tcp *s, int mode)
{
	pthread_mutex_lock(&s->mu);
	s->mode = mode;
	pthread_mutex_unlock(&s->mu);
}

static KIT_UNUSED int kit_tcp_mode(struct kit_tcp *s)
{
	pthread_mutex_lock(&s->mu);
	int m = s->mode;
	pthread_mutex_unlock(&s->mu);
	return m;
}

/* The next n requests close their connection unanswered. */
static KIT_UNUSED void kit_tcp_set_drop(struct kit_tcp *s, int n)
{
	pthread_mutex_lock(&s->mu);
	s->drop_next = n;
	pthread_mutex_unlock(&s->mu);
}

/* For the serve function at a request: 1 when it is one to drop. */
static KIT_UNUSED int kit_tcp_drop(struct kit_tcp *s)
{
	pthread_mutex_lock(&s->mu);
	int drop = s->drop_next > 0;
	if (drop)
		s->drop_next--;
	pthread_mutex_unlock(&s->mu);
	return drop;
}

static KIT_UNUSED int kit_tcp_accepted(struct kit_tcp *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->accepted;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* Adds a line to the log (dropped when it is full). */
static KIT_UNUSED __attribute__((format(printf, 2, 3))) void kit_tcp_logf(struct kit_tcp *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&s->mu);
	size_t used = strlen(s->log);
	if (used + strlen(line) + 2 < sizeof s->log)
		snprintf(s->log + used, sizeof s->log - used, "%s\n", line);
	pthread_mutex_unlock(&s->mu);
}

/* The log so far; cleared when clear is set. */
static KIT_UNUSED void kit_tcp_log(struct kit_tcp *s, char *out, size_t n, int clear)
{
	pthread_mutex_lock(&s->mu);
	snprintf(out, n, "%s", s->log);
	if (clear)
		s->log[0] = 0;
	pthread_mutex_unlock(&s->mu);
}

/* A loopback port that is bound but does not listen: connecting is refused.
 * Returns the socket (close it after) and the port in *port. */
static KIT_UNUSED int kit_refusing_port(int *port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t al = sizeof a;
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* ======================================================================== */
/* a canned HTTP server on kit_tcp                                          */

enum srv_mode {
	M_CANNED,       /* answer by route (or the default answer), keep the connection */
	M_HANG,         /* read, never answer, until the client goes away */
	M_CANNED_CLOSE, /* answer the default raw bytes, then close */
	M_CLOSE,        /* close without answering */
	M_STREAM,       /* 200 with stream_bytes of body (with or without Content-Length) */
	M_ECHO_AUTH,    /* 401 whose body is the request's Authorization line */
	M_REDIRECT,     /* /rK answers 302 to /r(K+1) while K < hops, then the default answer */
};

#define SRV_REQ_MAX (1024 * 1024)
#define SRV_ROUTES 8

struct srv_route {
	char needle[256]; /* answered when the request line contains it */
	char *resp;
	size_t len;
};

struct srv {
	struct kit_tcp tcp; /* its mutex guards the rest */
	char *resp;
	size_t resp_len;
	struct srv_route routes[SRV_ROUTES];
	int nroutes;
	size_t stream_bytes;
	int stream_with_length;
	int hops;
	int nreq;
	char last[65536];
};

/* Reads one request (head and Content-Length body) into buf; its length, or -1. */
static long srv_read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0, want = 0;
	char *end = NULL;
	while (!end || len < want) {
		if (len + 1 >= cap)
			return -1;
		ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		len += (size_t)r;
		buf[len] = 0;
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			size_t body = 0;
			for (char *l = buf; l && l < end; l = strstr(l, "\r\n"), l = l ? l + 2 : NULL)
				if (!strncasecmp(l, "Content-Length:", 15))
					body = strtoul(l + 15, NULL, 10);
			want = (size_t)(end - buf) + 4 + body;
		}
	}
	return (long)len;
}

static char *srv_format(long status, const char *ctype, const char *body, size_t *len)
{
	size_t cap = strlen(body) + 256;
	char *r = malloc(cap);
	int n = snprintf(r, cap, "HTTP/1.1 %ld X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s", status, ctype,
			 strlen(body), body);
	*len = (size_t)n;
	return r;
}

static int srv_send_stream(int fd, size_t bytes, int with_length)
{
	char out[512];
	int w;
	if (with_length)
		w = snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					       "Content-Length: %zu\r\n\r\n", bytes);
	else
		w = snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
					       "Connection: close\r\n\r\n");
	if (kit_send_all(fd, out, (size_t)w))
		return -1;
	size_t csize = 65536;
	char *chunk = malloc(csize);
	memset(chunk, '[', csize);
	for (size_t sent = 0; sent < bytes;) {
		size_t k = bytes - sent < csize ? bytes - sent : csize;
		if (kit_send_all(fd, chunk, k))
			break;
		sent += k;
	}
	free(chunk);
	return 0;
}

/* Answers one request; 1 when the connection is to be closed. Holds no lock:
 * works on a snapshot. */
static int srv_answer(struct srv *s, int fd, const char *req)
{
	pthread_mutex_lock(&s->tcp.mu);
	enum srv_mode mode = (enum srv_mode)s->tcp.mode;
	size_t stream_bytes = s->stream_bytes;
	int with_length = s->stream_with_length, hops = s->hops;
	const char *src = s->resp;
	size_t len = s->resp_len;
	size_t line = strcspn(req, "\r\n");
	for (int i = 0; i < s->nroutes; i++) {
		const char *hit = strstr(req, s->routes[i].needle);
		if (hit && (size_t)(hit - req) < line) {
			src = s->routes[i].resp;
			len = s->routes[i].len;
			break;
		}
	}
	char *resp = malloc(len + 1);
	memcpy(resp, src, len);
	pthread_mutex_unlock(&s->tcp.mu);

	int stop = 1;
	char out[512];
	switch (mode) {
	case M_CANNED:
		stop = kit_send_all(fd, resp, len) ? 1 : 0;
		break;
	case M_CANNED_CLOSE:
		kit_send_all(fd, resp, len);
		break;
	case M_CLOSE:
		break;
	case M_HANG:
		kit_sink(fd);
		break;
	case M_STREAM:
		srv_send_stream(fd, stream_bytes, with_length);
		break;
	case M_ECHO_AUTH: {
		char auth[256] = "no Authorization";
		const char *a = strcasestr(req, "\r\nAuthorization:");
		if (a)
			snprintf(auth, sizeof auth, "%.*s", (int)strcspn(a + 2, "\r\n"), a + 2);
		int w = snprintf(out, sizeof out,
				 "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
				 strlen(auth), auth);
		stop = kit_send_all(fd, out, (size_t)w) ? 1 : 0;
		break;
	}
	case M_REDIRECT: {
		const char *p = strstr(req, " /r");
		long k = p ? strtol(p + 3, NULL, 10) : -1;
		if (k < 0 || k >= hops) {
			stop = kit_send_all(fd, resp, len) ? 1 : 0;
			break;
		}
		int w = snprintf(out, sizeof out, "HTTP/1.1 302 Found\r\nLocation: /r%ld\r\nContent-Length: 0\r\n\r\n",
				 k + 1);
		stop = kit_send_all(fd, out, (size_t)w) ? 1 : 0;
		break;
	}
	}
	free(resp);
	return stop;
}

static void srv_serve(struct kit_tcp *t, int fd)
{
	struct srv *s = (struct srv *)t;
	char *req = malloc(SRV_REQ_MAX);
	for (;;) {
		req[0] = 0;
		if (srv_read_request(fd, req, SRV_REQ_MAX) < 0)
			break;
		pthread_mutex_lock(&t->mu);
		s->nreq++;
		snprintf(s->last, sizeof s->last, "%s", req);
		pthread_mutex_unlock(&t->mu);
		if (srv_answer(s, fd, req))
			break;
	}
	free(req);
}

/* The default answer (any path without a route). */
static KIT_UNUSED void srv_set(struct srv *s, long status, const char *ctype, const char *body)
{
	size_t len;
	char *r = srv_format(status, ctype, body, &len);
	pthread_mutex_lock(&s->tcp.mu);
	free(s->resp);
	s->resp = r;
	s->resp_len = len;
	s->tcp.mode = M_CANNED;
	pthread_mutex_unlock(&s->tcp.mu);
}

/* The default answer as raw bytes (a broken one, for M_CANNED_CLOSE). */
static KIT_UNUSED void srv_set_raw(struct srv *s, const char *raw, enum srv_mode mode)
{
	pthread_mutex_lock(&s->tcp.mu);
	free(s->resp);
	s->resp = strdup(raw);
	s->resp_len = strlen(raw);
	s->tcp.mode = mode;
	pthread_mutex_unlock(&s->tcp.mu);
}

/* An answer for requests whose request line contains needle. */
static KIT_UNUSED void srv_route(struct srv *s, const char *needle, long status, const char *body)
{
	size_t len;
	char *r = srv_format(status, "application/json", body, &len);
	pthread_mutex_lock(&s->tcp.mu);
	int i = 0;
	while (i < s->nroutes && strcmp(s->routes[i].needle, needle))
		i++;
	if (i == s->nroutes && s->nroutes < SRV_ROUTES)
		s->nroutes++;
	if (i < SRV_ROUTES) {
		free(s->routes[i].resp);
		snprintf(s->routes[i].needle, sizeof s->routes[i].needle, "%s", needle);
		s->routes[i].resp = r;
		s->routes[i].len = len;
		r = NULL;
	}
	s->tcp.mode = M_CANNED;
	pthread_mutex_unlock(&s->tcp.mu);
	free(r);
}

static KIT_UNUSED void srv_clear_routes(struct srv *s)
{
	pthread_mutex_lock(&s->tcp.mu);
	for (int i = 0; i < s->nroutes; i++)
		free(s->routes[i].resp);
	memset(s->routes, 0, sizeof s->routes);
	s->nroutes = 0;
	pthread_mutex_unlock(&s->tcp.mu);
}

static KIT_UNUSED void srv_mode(struct srv *s, enum srv_mode m)
{
	kit_tcp_set_mode(&s->tcp, m);
}

static KIT_UNUSED void srv_stream(struct srv *s, size_t bytes, int with_length)
{
	pthread_mutex_lock(&s->tcp.mu);
	s->tcp.mode = M_STREAM;
	s->stream_bytes = bytes;
	s->stream_with_length = with_length;
	pthread_mutex_unlock(&s->tcp.mu);
}

/* M_REDIRECT: /r0 is redirected hops times before the default answer. */
static KIT_UNUSED void srv_hops(struct srv *s, int hops)
{
	pthread_mutex_lock(&s->tcp.mu);
	s->tcp.mode = M_REDIRECT;
	s->hops = hops;
	pthread_mutex_unlock(&s->tcp.mu);
}

/* Starts a server on port (0: any free port; another: to stand in for a
 * server that restarts on its port), answering 200 {} to begin with. */
static KIT_UNUSED void srv_start_at(struct srv *s, int port)
{
	memset(s, 0, sizeof *s);
	kit_tcp_start(&s->tcp, port, srv_serve);
	srv_set(s, 200, "application/json", "{}");
}

static KIT_UNUSED void srv_start(struct srv *s)
{
	srv_start_at(s, 0);
}

static KIT_UNUSED void srv_stop(struct srv *s)
{
	kit_tcp_stop(&s->tcp);
	for (int i = 0; i < s->nroutes; i++)
		free(s->routes[i].resp);
	free(s->resp);
}

static KIT_UNUSED int srv_accepted(struct srv *s)
{
	return kit_tcp_accepted(&s->tcp);
}

static KIT_UNUSED int srv_requests(struct srv *s)
{
	pthread_mutex_lock(&s->tcp.mu);
	int n = s->nreq;
	pthread_mutex_unlock(&s->tcp.mu);
	return n;
}

/* The request line of the last request ("GET /x HTTP/1.1"). */
static KIT_UNUSED void srv_last_line(struct srv *s, char *out, size_t n)
{
	pthread_mutex_lock(&s->tcp.mu);
	snprintf(out, n, "%.*s", (int)strcspn(s->last, "\r\n"), s->last);
	pthread_mutex_unlock(&s->tcp.mu);
}

/* The last request, cut to n - 1 bytes. */
static KIT_UNUSED void srv_last(struct srv *s, char *out, size_t n)
{
	pthread_mutex_lock(&s->tcp.mu);
	size_t len = strnlen(s->last, n - 1);
	memcpy(out, s->last, len);
	out[len] = 0;
	pthread_mutex_unlock(&s->tcp.mu);
}

/* ======================================================================== */
/* temporary folders and files                                              */

struct kit_dir {
	char path[256];
};

/* A new folder under $TMPDIR (or /tmp). */
static KIT_UNUSED void kit_dir_make(struct kit_dir *d)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(d->path, sizeof d->path, "%s/swtest.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(d->path));
}

/* The path of name in d. */
static KIT_UNUSED void kit_dir_file(const struct kit_dir *d, const char *name, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", d->path, name);
}

static int kit_remove_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* Removes d and all in it (links are removed, not followed). */
static KIT_UNUSED void kit_dir_remove(struct kit_dir *d)
{
	nftw(d->path, kit_remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

static KIT_UNUSED void kit_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* ======================================================================== */
/* driver mode                                                              */

static KIT_UNUSED const char *kit_kind(int rc)
{
	return rc == SW_FETCH_SOURCE_ERROR ? "source" : rc == SW_FETCH_ANSWER_ERROR ? "answer" : "?";
}

/* Prints a TCP port on 127.0.0.1 that was free a moment ago. */
static KIT_UNUSED int kit_freeport(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || getsockname(fd, (struct sockaddr *)&a, &al)) {
		perror("freeport");
		return 1;
	}
	printf("%d\n", ntohs(a.sin_port));
	close(fd);
	return 0;
}

/* How a test binary's driver reads and prints. */
struct kit_driver_form {
	const char *fetch_prefix; /* before the value "fetch" prints */
	const char *poll_prefix;  /* before each value "poll" prints */
	const char *metric_key;   /* NULL: PARAMS is the metric params' JSON; else the text of this one param */
};

/* One fetch printed as the integration scripts read it; 0 or 1. */
static int kit_driver_fetch(struct kit *k, const char *prefix, int64_t budget_ms)
{
	char err[2048];
	int rc = kit_fetch_at(k, NULL, t_now(), t_now() + budget_ms, err, sizeof err);
	if (rc) {
		printf("error (%s): %s\n", kit_kind(rc), err);
	} else if (k->batch.n != 1 || k->batch.nlabels[0] != 0) {
		printf("error (test): %zu samples\n", k->batch.n);
		rc = 1;
	} else {
		printf("%s%.17g\n", prefix, k->batch.v[0]);
	}
	fflush(stdout);
	return rc ? 1 : 0;
}

/* Fetches for secs seconds on one open source; prints the rate and the CPU
 * time of this process per fetch (what a poller would spend). */
static int kit_driver_bench(struct kit *k, double secs)
{
	char err[2048];
	struct timespec c0, c1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	int64_t t0 = t_now(), end = t0 + (int64_t)(secs * 1000);
	long n = 0;
	while (t_now() < end) {
		if (kit_fetch_at(k, NULL, t_now(), t_now() + 10000, err, sizeof err)) {
			printf("error after %ld fetches: %s\n", n, err);
			return 1;
		}
		n++;
	}
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
	double wall = (double)(t_now() - t0) / 1000.0;
	double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
	printf("fetches %ld in %.2f s: %.0f fetches/s, %.1f us CPU per fetch\n", n, wall, (double)n / wall,
	       n ? cpu * 1e6 / (double)n : 0.0);
	return 0;
}

static KIT_UNUSED int kit_driver_run(const struct sw_scaler_type *t, const struct kit_driver_form *form, int argc,
				     char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "freeport"))
		return kit_freeport();
	int bench = argc == 5 && !strcmp(argv[1], "bench");
	if (!bench && (argc != 4 || (strcmp(argv[1], "fetch") && strcmp(argv[1], "poll")))) {
		fprintf(stderr, "usage: %s fetch|poll SOURCE_JSON PARAMS | bench SOURCE_JSON PARAMS SECONDS | freeport\n",
			argv[0]);
		return 2;
	}
	char err[2048];
	int rc = 0;
	http_global_init();
	char *metric = form->metric_key ? kit_json_member(form->metric_key, argv[3]) : strdup(argv[3]);
	struct kit k;
	if (kit_open(&k, t, argv[2], metric, err, sizeof err)) {
		printf("error (config): %s\n", err);
		rc = 1;
	} else if (bench) {
		rc = kit_driver_bench(&k, strtod(argv[4], NULL));
	} else if (!strcmp(argv[1], "fetch")) {
		rc = kit_driver_fetch(&k, form->fetch_prefix, 10000);
	} else {
		char line[256];
		while (fgets(line, sizeof line, stdin)) {
			const char *sp = strchr(line, ' ');
			long ms = sp ? strtol(sp + 1, NULL, 10) : 0;
			kit_driver_fetch(&k, form->poll_prefix, ms > 0 ? ms : 10000);
		}
	}
	kit_close(&k);
	free(metric);
	http_global_release();
	return rc;
}

/* The driver of the JSON-over-HTTP scalers: "fetch" prints the value,
 * "poll" "ok VALUE". */
static KIT_UNUSED int kit_driver_main(const struct sw_scaler_type *t, int argc, char **argv)
{
	static const struct kit_driver_form form = { "", "ok ", NULL };
	return kit_driver_run(t, &form, argc, argv);
}

#endif
