/*
 * scaler_testkit.h — what the unit tests of the JSON-over-HTTP scalers
 * (test_metrics_api, test_rabbitmq, test_nats_jetstream) share; included by
 * each, after <cmocka.h>. Everything is static: each test binary gets its
 * own copy.
 *
 *   - a host table whose batch records samples (struct sw_batch);
 *   - kit_load/kit_open/kit_fetch: a scaler driven through its descriptor,
 *     with its source and metric params loaded by the real params_load;
 *   - a canned HTTP server on 127.0.0.1, port 0, answering as the test says:
 *     canned answers (one, or one per path), silence, endless bodies,
 *     closing without a word; it records the last request;
 *   - kit_driver_main: the "driver mode" the integration scripts use:
 *       BIN fetch SOURCE_JSON PARAMS_JSON   one fetch: the value, or
 *                                           "error (source|answer): message"
 *       BIN poll  SOURCE_JSON PARAMS_JSON   one fetch per line read on stdin,
 *                                           "ok VALUE" or the error line
 *       BIN freeport                        a free TCP port on 127.0.0.1
 */
#ifndef SW_SCALER_TESTKIT_H
#define SW_SCALER_TESTKIT_H

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "errlist.h"
#include "http.h"
#include "params.h"
#include "scaler.h"

#define KIT_UNUSED __attribute__((unused))

/* ======================================================================== */
/* the host's batch                                                         */

#define TB_MAX 16

struct sw_batch {
	double v[TB_MAX];
	int64_t ts[TB_MAX];
	size_t nlabels[TB_MAX];
	size_t n;
	pthread_mutex_t mu;
};

static int tb_add(struct sw_batch *b, double value, int64_t ts, const struct sw_label *labels, size_t n)
{
	pthread_mutex_lock(&b->mu);
	int rc = -1;
	if (b->n < TB_MAX) {
		b->v[b->n] = value;
		b->ts[b->n] = ts;
		b->nlabels[b->n] = n;
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

/* Loads json into a new params struct with the real loader; NULL with every
 * problem, one a line, in err. */
static KIT_UNUSED void *kit_load(const struct sw_param *table, size_t n, size_t size, const char *json,
				 const char *path, char *err, size_t errlen)
{
	cJSON *obj = cJSON_Parse(json);
	if (!obj) {
		snprintf(err, errlen, "test bug: not JSON: %s", json);
		return NULL;
	}
	struct errlist e;
	errlist_init(&e);
	void *p = calloc(1, size ? size : 1);
	int bad = params_load(table, n, obj, path, NULL, p, &e);
	cJSON_Delete(obj);
	if (bad) {
		size_t o = 0;
		err[0] = 0;
		for (size_t i = 0; i < e.n && o < errlen; i++)
			o += (size_t)snprintf(err + o, errlen - o, "%s%s", i ? "\n" : "", e.items[i]);
		params_release(table, n, p);
		free(p);
		p = NULL;
	}
	errlist_release(&e);
	return p;
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
	if (k->src) {
		params_release(k->t->source_params, k->t->n_source_params, k->src);
		free(k->src);
	}
	if (k->metric) {
		params_release(k->t->metric_params, k->t->n_metric_params, k->metric);
		free(k->metric);
	}
	pthread_mutex_destroy(&k->batch.mu);
	memset(k, 0, sizeof *k);
}

/* Loads both param sets and opens the source; 0, or -1 with a message
 * (k must be closed either way). */
static KIT_UNUSED int kit_open(struct kit *k, const struct sw_scaler_type *t, const char *src_json,
			       const char *metric_json, char *err, size_t errlen)
{
	memset(k, 0, sizeof *k);
	pthread_mutex_init(&k->batch.mu, NULL);
	k->t = t;
	k->src = kit_load(t->source_params, t->n_source_params, t->source_params_size, src_json, "sources.s", err,
			  errlen);
	if (!k->src)
		return -1;
	k->metric = kit_load(t->metric_params, t->n_metric_params, t->metric_params_size, metric_json,
			     "metrics[0].params", err, errlen);
	if (!k->metric)
		return -1;
	k->state = calloc(1, t->state_size);
	if (t->open(k->state, k->src, &kit_host, err, errlen)) {
		free(k->state);
		k->state = NULL;
		return -1;
	}
	return 0;
}

/* One fetch; the scaler's return code, err filled on an error. */
static KIT_UNUSED int kit_fetch(struct kit *k, int64_t deadline_ms, char *err, size_t errlen)
{
	struct sw_request req = {
		.metric = "m",
		.params = k->metric,
		.now_ms = INT64_C(1714564800123),
		.deadline_ms = deadline_ms ? deadline_ms : t_now() + 5000,
	};
	k->batch.n = 0;
	err[0] = 0;
	int rc = k->t->fetch(k->state, k->src, &req, &k->batch, err, errlen);
	if (rc && getenv("SW_TEST_VERBOSE"))
		fprintf(stderr, "  fetch error: %s\n", err);
	return rc;
}

/* check_metric on a metric params JSON; 0 or -1 with the message. A load
 * problem is returned as -2 with the loader's message. */
static KIT_UNUSED int kit_check(const struct sw_scaler_type *t, const char *src_json, const char *metric_json,
				char *err, size_t errlen)
{
	void *src = kit_load(t->source_params, t->n_source_params, t->source_params_size, src_json, "sources.s", err,
			     errlen);
	if (!src)
		return -2;
	void *m = kit_load(t->metric_params, t->n_metric_params, t->metric_params_size, metric_json,
			   "metrics[0].params", err, errlen);
	int rc = -2;
	if (m) {
		struct sw_request req = { .metric = "m", .params = m };
		rc = t->check_metric(src, &req, err, errlen);
		params_release(t->metric_params, t->n_metric_params, m);
		free(m);
	}
	params_release(t->source_params, t->n_source_params, src);
	free(src);
	return rc;
}

/* ======================================================================== */
/* a canned HTTP server on 127.0.0.1, port 0                                */

enum srv_mode {
	M_CANNED,       /* answer by route (or the default answer), keep the connection */
	M_HANG,         /* read, never answer, until the client goes away */
	M_CANNED_CLOSE, /* answer the default raw bytes, then close */
	M_CLOSE,        /* close without answering */
	M_STREAM,       /* 200 with stream_bytes of body (with or without Content-Length) */
	M_ECHO_AUTH,    /* 401 whose body is the request's Authorization line */
};

#define SRV_CONNS 64
#define SRV_REQ_MAX (64 * 1024)
#define SRV_ROUTES 8

struct srv;
struct srv_conn {
	struct srv *s;
	int fd;
	pthread_t t;
};

struct srv_route {
	char needle[256]; /* answered when the request line contains it */
	char *resp;
	size_t len;
};

struct srv {
	int lfd, port;
	pthread_t acceptor;
	pthread_mutex_t mu;
	enum srv_mode mode;
	char *resp;
	size_t resp_len;
	struct srv_route routes[SRV_ROUTES];
	int nroutes;
	size_t stream_bytes;
	int stream_with_length;
	int accepted, nreq;
	char last[8192];
	struct srv_conn conns[SRV_CONNS];
	int nconns;
};

static int srv_send_all(int fd, const char *p, size_t n)
{
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

/* Reads one request head (GETs have no body here); its length, or -1. */
static long srv_read_request(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	while (!strstr(buf, "\r\n\r\n")) {
		if (len + 1 >= cap)
			return -1;
		ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		len += (size_t)r;
		buf[len] = 0;
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

/* Answers one request; 1 when the connection is to be closed. Holds no lock:
 * works on a snapshot. */
static int srv_answer(struct srv *s, int fd, const char *req)
{
	pthread_mutex_lock(&s->mu);
	enum srv_mode mode = s->mode;
	size_t stream_bytes = s->stream_bytes;
	int with_length = s->stream_with_length;
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
	pthread_mutex_unlock(&s->mu);

	int stop = 1;
	char out[512];
	switch (mode) {
	case M_CANNED:
		stop = srv_send_all(fd, resp, len) ? 1 : 0;
		break;
	case M_CANNED_CLOSE:
		srv_send_all(fd, resp, len);
		break;
	case M_CLOSE:
		break;
	case M_HANG: {
		char sink[256];
		while (recv(fd, sink, sizeof sink, 0) > 0)
			;
		break;
	}
	case M_STREAM: {
		int w;
		if (with_length)
			w = snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
						       "Content-Length: %zu\r\n\r\n", stream_bytes);
		else
			w = snprintf(out, sizeof out, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
						       "Connection: close\r\n\r\n");
		if (srv_send_all(fd, out, (size_t)w))
			break;
		size_t csize = 65536;
		char *chunk = malloc(csize);
		memset(chunk, '[', csize);
		for (size_t sent = 0; sent < stream_bytes;) {
			size_t k = stream_bytes - sent < csize ? stream_bytes - sent : csize;
			if (srv_send_all(fd, chunk, k))
				break;
			sent += k;
		}
		free(chunk);
		break;
	}
	case M_ECHO_AUTH: {
		char auth[256] = "no Authorization";
		const char *a = strcasestr(req, "\r\nAuthorization:");
		if (a)
			snprintf(auth, sizeof auth, "%.*s", (int)strcspn(a + 2, "\r\n"), a + 2);
		int w = snprintf(out, sizeof out,
				 "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
				 strlen(auth), auth);
		stop = srv_send_all(fd, out, (size_t)w) ? 1 : 0;
		break;
	}
	}
	free(resp);
	return stop;
}

static void *srv_conn_main(void *arg)
{
	struct srv_conn *c = arg;
	struct srv *s = c->s;
	char *req = malloc(SRV_REQ_MAX);
	for (;;) {
		req[0] = 0;
		if (srv_read_request(c->fd, req, SRV_REQ_MAX) < 0)
			break;
		pthread_mutex_lock(&s->mu);
		s->nreq++;
		snprintf(s->last, sizeof s->last, "%s", req);
		pthread_mutex_unlock(&s->mu);
		if (srv_answer(s, c->fd, req))
			break;
	}
	free(req);
	shutdown(c->fd, SHUT_RDWR);
	return NULL;
}

static void *srv_acceptor_main(void *arg)
{
	struct srv *s = arg;
	for (;;) {
		int fd = accept(s->lfd, NULL, NULL);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			break;
		pthread_mutex_lock(&s->mu);
		s->accepted++;
		if (s->nconns == SRV_CONNS) {
			pthread_mutex_unlock(&s->mu);
			close(fd);
			continue;
		}
		struct srv_conn *c = &s->conns[s->nconns++];
		c->s = s;
		c->fd = fd;
		pthread_create(&c->t, NULL, srv_conn_main, c);
		pthread_mutex_unlock(&s->mu);
	}
	return NULL;
}

/* The default answer (any path without a route). */
static KIT_UNUSED void srv_set(struct srv *s, long status, const char *ctype, const char *body)
{
	size_t len;
	char *r = srv_format(status, ctype, body, &len);
	pthread_mutex_lock(&s->mu);
	free(s->resp);
	s->resp = r;
	s->resp_len = len;
	s->mode = M_CANNED;
	pthread_mutex_unlock(&s->mu);
}

/* The default answer as raw bytes (a broken one, for M_CANNED_CLOSE). */
static KIT_UNUSED void srv_set_raw(struct srv *s, const char *raw, enum srv_mode mode)
{
	pthread_mutex_lock(&s->mu);
	free(s->resp);
	s->resp = strdup(raw);
	s->resp_len = strlen(raw);
	s->mode = mode;
	pthread_mutex_unlock(&s->mu);
}

/* An answer for requests whose request line contains needle. */
static KIT_UNUSED void srv_route(struct srv *s, const char *needle, long status, const char *body)
{
	size_t len;
	char *r = srv_format(status, "application/json", body, &len);
	pthread_mutex_lock(&s->mu);
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
	s->mode = M_CANNED;
	pthread_mutex_unlock(&s->mu);
	free(r);
}

static KIT_UNUSED void srv_clear_routes(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->nroutes; i++)
		free(s->routes[i].resp);
	memset(s->routes, 0, sizeof s->routes);
	s->nroutes = 0;
	pthread_mutex_unlock(&s->mu);
}

static KIT_UNUSED void srv_mode(struct srv *s, enum srv_mode m)
{
	pthread_mutex_lock(&s->mu);
	s->mode = m;
	pthread_mutex_unlock(&s->mu);
}

static KIT_UNUSED void srv_stream(struct srv *s, size_t bytes, int with_length)
{
	pthread_mutex_lock(&s->mu);
	s->mode = M_STREAM;
	s->stream_bytes = bytes;
	s->stream_with_length = with_length;
	pthread_mutex_unlock(&s->mu);
}

/* Starts a server on port (0: any free port; another: to stand in for a
 * server that restarts on its port). */
static KIT_UNUSED void srv_start_at(struct srv *s, int port)
{
	memset(s, 0, sizeof *s);
	pthread_mutex_init(&s->mu, NULL);
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
	assert_int_equal(listen(s->lfd, 64), 0); /* connections queue from here on: no wait needed */
	srv_set(s, 200, "application/json", "{}");
	assert_int_equal(pthread_create(&s->acceptor, NULL, srv_acceptor_main, s), 0);
}

static KIT_UNUSED void srv_start(struct srv *s)
{
	srv_start_at(s, 0);
}

static KIT_UNUSED void srv_stop(struct srv *s)
{
	shutdown(s->lfd, SHUT_RDWR);
	pthread_join(s->acceptor, NULL);
	close(s->lfd);
	pthread_mutex_lock(&s->mu);
	int n = s->nconns;
	for (int i = 0; i < n; i++)
		shutdown(s->conns[i].fd, SHUT_RDWR);
	pthread_mutex_unlock(&s->mu);
	for (int i = 0; i < n; i++) {
		pthread_join(s->conns[i].t, NULL);
		close(s->conns[i].fd);
	}
	for (int i = 0; i < s->nroutes; i++)
		free(s->routes[i].resp);
	free(s->resp);
	pthread_mutex_destroy(&s->mu);
}

static KIT_UNUSED int srv_accepted(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->accepted;
	pthread_mutex_unlock(&s->mu);
	return n;
}

static KIT_UNUSED int srv_requests(struct srv *s)
{
	pthread_mutex_lock(&s->mu);
	int n = s->nreq;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* The request line of the last request ("GET /x HTTP/1.1"). */
static KIT_UNUSED void srv_last_line(struct srv *s, char *out, size_t n)
{
	pthread_mutex_lock(&s->mu);
	snprintf(out, n, "%.*s", (int)strcspn(s->last, "\r\n"), s->last);
	pthread_mutex_unlock(&s->mu);
}

static KIT_UNUSED void srv_last(struct srv *s, char *out, size_t n)
{
	pthread_mutex_lock(&s->mu);
	snprintf(out, n, "%s", s->last);
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
/* driver mode                                                              */

static const char *kit_kind(int rc)
{
	return rc == SW_FETCH_SOURCE_ERROR ? "source" : rc == SW_FETCH_ANSWER_ERROR ? "answer" : "?";
}

static int kit_freeport(void)
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

/* One fetch printed as the integration scripts read it; 0 or 1. */
static int kit_driver_fetch(struct kit *k, const char *ok_prefix)
{
	char err[2048];
	struct sw_request req = { .metric = "m", .params = k->metric, .now_ms = t_now(), .deadline_ms = t_now() + 10000 };
	k->batch.n = 0;
	int rc = k->t->fetch(k->state, k->src, &req, &k->batch, err, sizeof err);
	if (rc) {
		printf("error (%s): %s\n", kit_kind(rc), err);
	} else if (k->batch.n != 1 || k->batch.nlabels[0] != 0) {
		printf("error (test): %zu samples\n", k->batch.n);
		rc = 1;
	} else {
		printf("%s%.17g\n", ok_prefix, k->batch.v[0]);
	}
	fflush(stdout);
	return rc ? 1 : 0;
}

static KIT_UNUSED int kit_driver_main(const struct sw_scaler_type *t, int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "freeport"))
		return kit_freeport();
	if (argc != 4 || (strcmp(argv[1], "fetch") && strcmp(argv[1], "poll"))) {
		fprintf(stderr, "usage: %s fetch|poll SOURCE_JSON PARAMS_JSON | freeport\n", argv[0]);
		return 2;
	}
	char err[2048];
	int rc = 0;
	http_global_init();
	struct kit k;
	if (kit_open(&k, t, argv[2], argv[3], err, sizeof err)) {
		printf("error (config): %s\n", err);
		rc = 1;
	} else if (!strcmp(argv[1], "fetch")) {
		rc = kit_driver_fetch(&k, "");
	} else {
		char line[256];
		while (fgets(line, sizeof line, stdin))
			kit_driver_fetch(&k, "ok ");
	}
	kit_close(&k);
	http_global_release();
	return rc;
}

#endif
