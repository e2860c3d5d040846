/*
 * test_postgresql.c — the PostgreSQL scaler.
 *
 * Parameter cases load JSON through the real params_load and check the exact
 * messages. Value cases call postgresql_parse_value. Transport cases run the
 * scaler through its descriptor against a small server on 127.0.0.1 port 0
 * (a thread of this test) that speaks enough of the PostgreSQL protocol v3
 * for libpq: startup, cleartext password, simple and extended queries with
 * the rows, columns, NULLs and errors each test asks for; or that answers
 * garbage, closes the connection, or hangs.
 *
 * With arguments the binary is a driver for tests/integration/test_postgresql.sh:
 *   test_postgresql fetch SOURCE_JSON QUERY   one fetch: "value N" or "error (source|answer): ..."
 *   test_postgresql poll  SOURCE_JSON QUERY   one fetch per line of stdin ("fetch [MS]"), one open source
 *   test_postgresql bench SOURCE_JSON QUERY SECONDS   fetches for SECONDS on one source: rate and CPU
 *   test_postgresql freeport                  a free TCP port on 127.0.0.1
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "errlist.h"
#include "host.h"
#include "params.h"
#include "postgresql.h"

/* ======================================================================== */
/* test doubles: the host                                                   */

struct sw_batch {
	double v[8];
	size_t nlabels[8];
	size_t n;
};

static int tb_add(struct sw_batch *b, double value, int64_t ts, const struct sw_label *labels, size_t n)
{
	if (b->n >= 8)
		return -1;
	b->v[b->n] = value;
	b->nlabels[b->n] = n;
	b->n++;
	return 0;
}

static int64_t t_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const struct sw_host test_host = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_host),
	.now_ms = t_now,
	.batch_add = tb_add,
	.read_file = host_read_file,
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
/* a fake PostgreSQL on 127.0.0.1                                           */

enum fake_mode {
	F_NORMAL,
	F_STARTUP_GARBAGE, /* an HTTP page instead of the startup answer */
	F_STARTUP_CLOSE,   /* closes at startup */
	F_STARTUP_HANG,    /* never answers the startup */
	F_QUERY_GARBAGE,   /* garbage instead of the query's answer */
	F_QUERY_CLOSE,     /* closes when the query arrives */
	F_QUERY_HANG,      /* never answers the query */
};

#define FK_CONNS 32
#define FK_COLS 4

struct fake {
	int lfd, port;
	pthread_t acceptor;
	pthread_mutex_t mu;
	enum fake_mode mode;
	/* the answer to the extended query */
	int ncols;
	unsigned int oids[FK_COLS];
	int nrows;
	const char *cells[FK_COLS]; /* the same cells in every row; NULL = SQL NULL */
	const char *error_state;    /* answer with this SQLSTATE ... */
	const char *error_msg;      /* ... and message instead */
	const char *command_tag;    /* answer as a command without rows (e.g. "UPDATE 0") */
	const char *password;       /* cleartext password required when set */
	int drop_next;              /* the next N simple queries close their connection */
	int fatal_on_kill;          /* fake_kill_conns sends FATAL 57P01 first, as a shutdown does */
	int accepted;
	char last_password[256];
	char log[8192];             /* simple and parsed queries, one a line */
	int fds[FK_CONNS];
	pthread_t threads[FK_CONNS];
	int nconns;
};

struct fconn {
	struct fake *f;
	int fd;
};

static int send_all(int fd, const void *buf, size_t n)
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

static int recv_all(int fd, void *buf, size_t n)
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

/* An outgoing message: type, length filled in by msg_send. */
struct msg {
	char *b;
	size_t n, cap;
};

static void put(struct msg *m, const void *p, size_t n)
{
	if (m->n + n > m->cap) {
		m->cap = (m->n + n) * 2 + 64;
		m->b = realloc(m->b, m->cap);
	}
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put8(struct msg *m, char c)
{
	put(m, &c, 1);
}

static void put16(struct msg *m, int v)
{
	uint16_t x = htons((uint16_t)v);
	put(m, &x, 2);
}

static void put32(struct msg *m, int32_t v)
{
	uint32_t x = htonl((uint32_t)v);
	put(m, &x, 4);
}

static void puts0(struct msg *m, const char *s)
{
	put(m, s, strlen(s) + 1);
}

static size_t msg_begin(struct msg *m, char type)
{
	put8(m, type);
	size_t at = m->n;
	put32(m, 0);
	return at;
}

static void msg_end(struct msg *m, size_t at)
{
	uint32_t len = htonl((uint32_t)(m->n - at));
	memcpy(m->b + at, &len, 4);
}

static void add_simple(struct msg *m, char type, const char *s)
{
	size_t at = msg_begin(m, type);
	if (s)
		puts0(m, s);
	msg_end(m, at);
}

static void add_error(struct msg *m, const char *severity, const char *state, const char *text)
{
	size_t at = msg_begin(m, 'E');
	put8(m, 'S');
	puts0(m, severity);
	put8(m, 'V');
	puts0(m, severity);
	put8(m, 'C');
	puts0(m, state);
	put8(m, 'M');
	puts0(m, text);
	put8(m, 0);
	msg_end(m, at);
}

static void add_ready(struct msg *m, char status)
{
	size_t at = msg_begin(m, 'Z');
	put8(m, status);
	msg_end(m, at);
}

static void fake_logf(struct fake *f, const char *what, const char *text)
{
	pthread_mutex_lock(&f->mu);
	size_t used = strlen(f->log);
	if (used + strlen(text) + 16 < sizeof f->log)
		snprintf(f->log + used, sizeof f->log - used, "%s%s\n", what, text);
	pthread_mutex_unlock(&f->mu);
}

/* Startup; 0 when the connection is ready for queries. */
static int serve_startup(struct fconn *c, enum fake_mode mode)
{
	struct fake *f = c->f;
	char body[4096];
	for (;;) {
		uint32_t len;
		if (recv_all(c->fd, &len, 4))
			return -1;
		len = ntohl(len);
		if (len < 8 || len - 4 > sizeof body || recv_all(c->fd, body, len - 4))
			return -1;
		uint32_t code;
		memcpy(&code, body, 4);
		code = ntohl(code);
		if (code == 80877103 || code == 80877104) { /* SSLRequest, GSSENCRequest */
			if (send_all(c->fd, "N", 1))
				return -1;
			continue;
		}
		break;
	}
	if (mode == F_STARTUP_GARBAGE) {
		const char *g = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
		send_all(c->fd, g, strlen(g));
		return -1;
	}
	if (mode == F_STARTUP_CLOSE)
		return -1;
	if (mode == F_STARTUP_HANG) {
		char sink[256];
		while (recv(c->fd, sink, sizeof sink, 0) > 0)
			;
		return -1;
	}
	struct msg m = { 0 };
	pthread_mutex_lock(&f->mu);
	const char *pw = f->password;
	pthread_mutex_unlock(&f->mu);
	if (pw) {
		size_t at = msg_begin(&m, 'R');
		put32(&m, 3); /* cleartext password */
		msg_end(&m, at);
		send_all(c->fd, m.b, m.n);
		m.n = 0;
		char type;
		uint32_t len;
		if (recv_all(c->fd, &type, 1) || recv_all(c->fd, &len, 4)) {
			free(m.b);
			return -1;
		}
		len = ntohl(len);
		if (type != 'p' || len < 5 || len - 4 > sizeof body || recv_all(c->fd, body, len - 4)) {
			free(m.b);
			return -1;
		}
		body[len - 4] = 0;
		pthread_mutex_lock(&f->mu);
		snprintf(f->last_password, sizeof f->last_password, "%.200s", body);
		int good = f->password && !strcmp(body, f->password);
		pthread_mutex_unlock(&f->mu);
		if (!good) {
			add_error(&m, "FATAL", "28P01", "password authentication failed for user \"scaler\"");
			send_all(c->fd, m.b, m.n);
			free(m.b);
			return -1;
		}
	}
	size_t at = msg_begin(&m, 'R');
	put32(&m, 0);
	msg_end(&m, at);
	static const char *const ps[][2] = { { "server_version", "15.0" }, { "client_encoding", "UTF8" },
					     { "standard_conforming_strings", "on" }, { "integer_datetimes", "on" },
					     { "DateStyle", "ISO, MDY" } };
	for (size_t i = 0; i < sizeof ps / sizeof ps[0]; i++) {
		at = msg_begin(&m, 'S');
		puts0(&m, ps[i][0]);
		puts0(&m, ps[i][1]);
		msg_end(&m, at);
	}
	at = msg_begin(&m, 'K');
	put32(&m, 4242);
	put32(&m, 99);
	msg_end(&m, at);
	add_ready(&m, 'I');
	int rc = send_all(c->fd, m.b, m.n);
	free(m.b);
	return rc;
}

/* The answer at Sync to the extended query that came before it. */
static void answer_extended(struct fconn *c)
{
	struct fake *f = c->f;
	struct msg m = { 0 };
	add_simple(&m, '1', NULL);
	add_simple(&m, '2', NULL);
	pthread_mutex_lock(&f->mu);
	if (f->error_state) {
		add_error(&m, "ERROR", f->error_state, f->error_msg ? f->error_msg : "error");
		add_ready(&m, 'E');
	} else if (f->command_tag) {
		add_simple(&m, 'n', NULL);
		add_simple(&m, 'C', f->command_tag);
		add_ready(&m, 'T');
	} else {
		size_t at = msg_begin(&m, 'T');
		put16(&m, f->ncols);
		for (int i = 0; i < f->ncols; i++) {
			char name[16];
			snprintf(name, sizeof name, "c%d", i + 1);
			puts0(&m, name);
			put32(&m, 0);
			put16(&m, 0);
			put32(&m, (int32_t)f->oids[i]);
			put16(&m, -1);
			put32(&m, -1);
			put16(&m, 0);
		}
		msg_end(&m, at);
		for (int r = 0; r < f->nrows; r++) {
			at = msg_begin(&m, 'D');
			put16(&m, f->ncols);
			for (int i = 0; i < f->ncols; i++) {
				if (!f->cells[i]) {
					put32(&m, -1);
				} else {
					put32(&m, (int32_t)strlen(f->cells[i]));
					put(&m, f->cells[i], strlen(f->cells[i]));
				}
			}
			msg_end(&m, at);
		}
		char tag[32];
		snprintf(tag, sizeof tag, "SELECT %d", f->nrows);
		add_simple(&m, 'C', tag);
		add_ready(&m, 'T');
	}
	pthread_mutex_unlock(&f->mu);
	send_all(c->fd, m.b, m.n);
	free(m.b);
}

/* Serves queries until the connection is to be closed. */
static void serve_queries(struct fconn *c)
{
	struct fake *f = c->f;
	char *body = malloc(65536);
	for (;;) {
		char type;
		uint32_t len;
		if (recv_all(c->fd, &type, 1) || recv_all(c->fd, &len, 4))
			break;
		len = ntohl(len);
		if (len < 4 || len - 4 >= 65536 || recv_all(c->fd, body, len - 4))
			break;
		body[len - 4] = 0;
		pthread_mutex_lock(&f->mu);
		enum fake_mode mode = f->mode;
		pthread_mutex_unlock(&f->mu);
		if (type == 'X')
			break;
		if (type == 'Q') {
			fake_logf(f, "Q ", body);
			pthread_mutex_lock(&f->mu);
			int drop = f->drop_next > 0;
			if (drop)
				f->drop_next--;
			pthread_mutex_unlock(&f->mu);
			if (drop)
				break;
			struct msg m = { 0 };
			if (!strncmp(body, "BEGIN", 5)) {
				add_simple(&m, 'C', "BEGIN");
				add_simple(&m, 'C', "SET");
				add_ready(&m, 'T');
			} else {
				add_simple(&m, 'C', "ROLLBACK");
				add_ready(&m, 'I');
			}
			send_all(c->fd, m.b, m.n);
			free(m.b);
			continue;
		}
		if (type == 'P') {
			fake_logf(f, "P ", body + strlen(body) + 1); /* after the statement name */
			continue;
		}
		if (type != 'S')
			continue; /* Bind, Describe, Execute: answered at Sync */
		if (mode == F_QUERY_GARBAGE) {
			send_all(c->fd, "garbage garbage garbage", 23);
			break;
		}
		if (mode == F_QUERY_CLOSE)
			break;
		if (mode == F_QUERY_HANG) {
			while (recv(c->fd, body, 65536, 0) > 0)
				;
			break;
		}
		answer_extended(c);
	}
	free(body);
}

static void *fconn_main(void *arg)
{
	struct fconn *c = arg;
	pthread_mutex_lock(&c->f->mu);
	enum fake_mode mode = c->f->mode;
	pthread_mutex_unlock(&c->f->mu);
	if (serve_startup(c, mode) == 0)
		serve_queries(c);
	shutdown(c->fd, SHUT_RDWR);
	free(c);
	return NULL;
}

static void *acceptor_main(void *arg)
{
	struct fake *f = arg;
	for (;;) {
		int fd = accept(f->lfd, NULL, NULL);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			break;
		pthread_mutex_lock(&f->mu);
		f->accepted++;
		if (f->nconns == FK_CONNS) {
			pthread_mutex_unlock(&f->mu);
			close(fd);
			continue;
		}
		struct fconn *c = calloc(1, sizeof *c);
		c->f = f;
		c->fd = fd;
		f->fds[f->nconns] = fd;
		pthread_create(&f->threads[f->nconns], NULL, fconn_main, c);
		f->nconns++;
		pthread_mutex_unlock(&f->mu);
	}
	return NULL;
}

/* Answers the extended query with one column of type oid and n rows of v. */
static void fake_answer(struct fake *f, unsigned int oid, int nrows, const char *v)
{
	pthread_mutex_lock(&f->mu);
	f->ncols = 1;
	f->oids[0] = oid;
	f->nrows = nrows;
	f->cells[0] = v;
	f->error_state = NULL;
	f->command_tag = NULL;
	pthread_mutex_unlock(&f->mu);
}

static void fake_start(struct fake *f)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t al = sizeof a;
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
	f->port = ntohs(a.sin_port);
	assert_int_equal(listen(f->lfd, 64), 0); /* connections queue from here on: no wait needed */
	fake_answer(f, 20, 1, "37");
	assert_int_equal(pthread_create(&f->acceptor, NULL, acceptor_main, f), 0);
}

/* Closes every open connection as a restarted server would (with its
 * FATAL 57P01 first when fatal_on_kill); the listener stays. */
static void fake_kill_conns(struct fake *f)
{
	pthread_mutex_lock(&f->mu);
	int n = f->nconns;
	if (f->fatal_on_kill) {
		struct msg m = { 0 };
		add_error(&m, "FATAL", "57P01", "terminating connection due to administrator command");
		for (int i = 0; i < n; i++)
			send_all(f->fds[i], m.b, m.n);
		free(m.b);
	}
	for (int i = 0; i < n; i++)
		shutdown(f->fds[i], SHUT_RDWR);
	pthread_mutex_unlock(&f->mu);
	for (int i = 0; i < n; i++) {
		pthread_join(f->threads[i], NULL);
		close(f->fds[i]);
	}
	pthread_mutex_lock(&f->mu);
	memmove(f->fds, f->fds + n, (size_t)(f->nconns - n) * sizeof f->fds[0]);
	memmove(f->threads, f->threads + n, (size_t)(f->nconns - n) * sizeof f->threads[0]);
	f->nconns -= n;
	pthread_mutex_unlock(&f->mu);
}

static void fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->acceptor, NULL);
	close(f->lfd);
	fake_kill_conns(f);
	pthread_mutex_destroy(&f->mu);
}

static void fake_set(struct fake *f, enum fake_mode m)
{
	pthread_mutex_lock(&f->mu);
	f->mode = m;
	pthread_mutex_unlock(&f->mu);
}

static int fake_accepted(struct fake *f)
{
	pthread_mutex_lock(&f->mu);
	int n = f->accepted;
	pthread_mutex_unlock(&f->mu);
	return n;
}

static void fake_log(struct fake *f, char *out, size_t n, int clear)
{
	pthread_mutex_lock(&f->mu);
	snprintf(out, n, "%s", f->log);
	if (clear)
		f->log[0] = 0;
	pthread_mutex_unlock(&f->mu);
}

/* ======================================================================== */
/* the scaler through its descriptor                                        */

struct source {
	void *params;
	void *state;
	struct sw_batch batch;
};

/* Loads json with table through params_load; NULL with every problem,
 * one a line, in err. */
static void *load_with(const struct sw_param *table, size_t n, size_t size, const char *path, const char *json,
		       char *err, size_t errlen)
{
	cJSON *obj = json ? cJSON_Parse(json) : NULL;
	if (json)
		assert_non_null(obj);
	struct errlist e;
	errlist_init(&e);
	void *p = calloc(1, size);
	int bad = params_load(table, n, obj, path, NULL, p, &e);
	cJSON_Delete(obj);
	err[0] = 0;
	if (bad) {
		size_t used = 0;
		for (size_t i = 0; i < e.n; i++)
			used += (size_t)snprintf(err + used, used < errlen ? errlen - used : 0, "%s%s", i ? "\n" : "",
						 e.items[i]);
		params_release(table, n, p);
		free(p);
		p = NULL;
	}
	errlist_release(&e);
	return p;
}

static void *load_source(const char *json, char *err, size_t errlen)
{
	const struct sw_scaler_type *t = &scaler_postgresql;
	return load_with(t->source_params, t->n_source_params, t->source_params_size, "sources.db", json, err, errlen);
}

static void *load_metric(const char *json, char *err, size_t errlen)
{
	const struct sw_scaler_type *t = &scaler_postgresql;
	return load_with(t->metric_params, t->n_metric_params, t->metric_params_size, "metrics[0].params", json, err,
			 errlen);
}

static void free_source_params(void *p)
{
	if (!p)
		return;
	params_release(scaler_postgresql.source_params, scaler_postgresql.n_source_params, p);
	free(p);
}

static void free_metric(void *m)
{
	if (!m)
		return;
	params_release(scaler_postgresql.metric_params, scaler_postgresql.n_metric_params, m);
	free(m);
}

/* A metric params object holding query (JSON-escaped here). */
static void *metric_for(const char *query)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "query", query);
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	char err[1024];
	void *m = load_metric(json, err, sizeof err);
	free(json);
	if (!m)
		fail_msg("query '%s' does not load: %s", query, err);
	return m;
}

static int source_open(struct source *s, const char *json, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->params = load_source(json, err, errlen);
	if (!s->params)
		return -1;
	s->state = calloc(1, scaler_postgresql.state_size);
	if (scaler_postgresql.open(s->state, s->params, &test_host, err, errlen)) {
		free(s->state);
		s->state = NULL;
		return -1;
	}
	return 0;
}

static void source_close(struct source *s)
{
	if (s->state) {
		scaler_postgresql.close(s->state);
		free(s->state);
	}
	free_source_params(s->params);
	memset(s, 0, sizeof *s);
}

static int source_fetch(struct source *s, const char *query, int64_t budget_ms, double *v, char *err, size_t errlen)
{
	void *m = metric_for(query);
	struct sw_request req = {
		.metric = "m",
		.params = m,
		.now_ms = t_now(),
	};
	req.deadline_ms = req.now_ms + (budget_ms ? budget_ms : 5000);
	memset(&s->batch, 0, sizeof s->batch);
	err[0] = 0;
	int rc = scaler_postgresql.fetch(s->state, s->params, &req, &s->batch, err, errlen);
	free_metric(m);
	if (rc == 0) {
		assert_int_equal(s->batch.n, 1);
		assert_int_equal(s->batch.nlabels[0], 0);
		*v = s->batch.v[0];
	} else {
		assert_int_equal(s->batch.n, 0);
		assert_true(err[0] != 0);
	}
	if (rc && getenv("SW_TEST_VERBOSE"))
		fprintf(stderr, "  fetch error: %s\n", err);
	return rc;
}

static void open_at(struct source *s, struct fake *f, const char *extra)
{
	char json[2048], err[1024];
	snprintf(json, sizeof json,
		 "{\"host\": \"127.0.0.1\", \"port\": %d, \"userName\": \"scaler\", \"dbName\": \"app\", "
		 "\"sslmode\": \"disable\"%s%s}",
		 f->port, extra ? ", " : "", extra ? extra : "");
	if (source_open(s, json, err, sizeof err))
		fail_msg("open failed: %s", err);
}

static void want_value(struct source *s, double want)
{
	char err[1024];
	double v = -1;
	int rc = source_fetch(s, "SELECT count(*) FROM jobs", 0, &v, err, sizeof err);
	if (rc)
		fail_msg("fetch: %d %s", rc, err);
	if (v != want)
		fail_msg("fetch: %.17g, expected %.17g", v, want);
}

/* Expects a fetch to fail with rc and exactly want, where ADDR stands for
 * the source as messages show it. */
static void want_error(struct source *s, struct fake *f, int rc_want, const char *want)
{
	char err[1024], full[1024], addr[64];
	double v;
	snprintf(addr, sizeof addr, "'127.0.0.1:%d/app'", f->port);
	const char *at = strstr(want, "ADDR");
	if (at)
		snprintf(full, sizeof full, "%.*s%s%s", (int)(at - want), want, addr, at + 4);
	else
		snprintf(full, sizeof full, "%s", want);
	int rc = source_fetch(s, "SELECT count(*) FROM jobs", 0, &v, err, sizeof err);
	if (rc != rc_want)
		fail_msg("fetch: rc %d (%s), expected %d", rc, err, rc_want);
	assert_string_equal(err, full);
}

/* ======================================================================== */
/* parameter cases                                                          */

static void test_descriptor(void **st)
{
	const struct sw_scaler_type *t = &scaler_postgresql;
	assert_int_equal(t->abi_version, SW_SCALER_ABI_VERSION);
	assert_int_equal(t->struct_size, sizeof(struct sw_scaler_type));
	assert_string_equal(t->name, "postgresql");
	assert_int_equal(t->query, SW_QUERY_NONE);
	assert_false(t->flags & SW_SCALER_CONCURRENT);
	assert_non_null(t->open);
	assert_non_null(t->check_metric);
	assert_non_null(t->fetch);
	assert_non_null(t->close);
	assert_null(t->fetch_range);
}

static void expect_source_error(const char *json, const char *want)
{
	char err[2048];
	void *p = load_source(json, err, sizeof err);
	if (p) {
		free_source_params(p);
		fail_msg("'%s' loaded; expected: %s", json, want);
	}
	assert_string_equal(err, want);
}

static void expect_metric_error(const char *json, const char *want)
{
	char err[2048];
	void *p = load_metric(json, err, sizeof err);
	if (p) {
		free_metric(p);
		fail_msg("'%s' loaded; expected: %s", json, want);
	}
	assert_string_equal(err, want);
}

static void test_param_table_errors(void **st)
{
	expect_source_error("{\"host\": \"h\", \"port\": 70000}", "sources.db.port: 70000 is out of range [1, 65535]");
	expect_source_error("{\"host\": \"h\", \"port\": \"five\"}",
			    "sources.db.port: 'five' is not a number or a quantity: quantities must match the regular "
			    "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
	expect_source_error("{\"host\": \"h\", \"port\": 54.32}", "sources.db.port: must be a whole number");
	expect_source_error("{\"host\": [\"h\"]}", "sources.db.host: must be a string");
	expect_source_error("{\"host\": \"h\", \"sslmode\": \"required\"}",
			    "sources.db.sslmode: 'required' is not one of disable, allow, prefer, require, verify-ca, "
			    "verify-full; did you mean \"require\"?");
	expect_source_error("{\"host\": \"h\", \"connectTimeout\": \"2m\"}",
			    "sources.db.connectTimeout: 2m is out of range [1ms, 1m0s]");
	expect_source_error("{\"host\": \"h\", \"connectTimeout\": \"soon\"}",
			    "sources.db.connectTimeout: invalid duration 'soon'");
	expect_source_error("{\"host\": \"h\", \"dbname\": \"app\"}", "sources.db.dbname: unknown key; did you mean \"dbName\"?");
	expect_source_error("{\"host\": \"h\", \"username\": \"u\"}",
			    "sources.db.username: unknown key; did you mean \"userName\"?");
	expect_source_error("{\"host\": \"h\", \"password\": \"x\"}", "sources.db.password: unknown key");
	expect_source_error("{\"connectionFromEnv\": \"PG\"}", "sources.db.connectionFromEnv: unknown key");

	expect_metric_error("{}", "metrics[0].params.query: required");
	expect_metric_error(NULL, "metrics[0].params.query: required");
	expect_metric_error("{\"query\": [\"SELECT 1\"]}", "metrics[0].params.query: must be a string");
	expect_metric_error("{\"query\": \"SELECT 1\", \"targetQueryValue\": 5}",
			    "metrics[0].params.targetQueryValue: unknown key");
	expect_metric_error("{\"qeury\": \"SELECT 1\"}",
			    "metrics[0].params.query: required\nmetrics[0].params.qeury: unknown key; did you mean \"query\"?");
}

static void test_source_and_metric_checks(void **st)
{
	static const struct {
		const char *json, *want;
	} bad_sources[] = {
		{ "{}", "connection, connectionFile or host is required" },
		{ "{\"port\": 5432, \"dbName\": \"app\"}", "connection, connectionFile or host is required" },
		{ "{\"host\": \"h\", \"dbName\": \"app\"}", "userName is required with host" },
		{ "{\"host\": \"h\", \"userName\": \"u\"}", "dbName is required with host" },
		{ "{\"connection\": \"host=h\", \"connectionFile\": \"/f\"}", "connection and connectionFile exclude each other" },
		{ "{\"connection\": \"host=h\", \"host\": \"h\"}", "host: not with connection; put it in the connection string" },
		{ "{\"connectionFile\": \"/f\", \"sslmode\": \"require\"}",
		  "sslmode: not with connectionFile; put it in the connection string" },
		{ "{\"connection\": \"host=h password=hunter2 bogus\"}",
		  "connection: not a libpq connection string: missing \"=\" after \"***\" in connection info string" },
		{ "{\"connection\": \"host=h passwort=hunter2\"}",
		  "connection: not a libpq connection string: invalid connection option \"***\"" },
		{ "{\"connection\": \"postgresql://u:hunter2@[::1/db\"}",
		  "connection: not a libpq connection string: end of string reached when looking for matching \"]\" in "
		  "IPv6 host address in URI: \"***\"" },
	};
	for (size_t i = 0; i < sizeof bad_sources / sizeof bad_sources[0]; i++) {
		struct source s;
		char err[1024];
		if (source_open(&s, bad_sources[i].json, err, sizeof err) == 0)
			fail_msg("'%s' opened", bad_sources[i].json);
		assert_string_equal(err, bad_sources[i].want);
		assert_lacks(err, "hunter2");
		char perr[1024];
		void *p = load_source(bad_sources[i].json, perr, sizeof perr);
		assert_non_null(p);
		void *m = metric_for("SELECT 1");
		struct sw_request req = { .params = m };
		assert_int_equal(scaler_postgresql.check_metric(p, &req, err, sizeof err), -1);
		assert_string_equal(err, bad_sources[i].want);
		free_metric(m);
		free_source_params(p);
		source_close(&s);
	}
	static const char *const good[] = {
		"{\"host\": \"db\", \"userName\": \"u\", \"dbName\": \"app\"}",
		"{\"host\": \"db\", \"port\": 6432, \"userName\": \"u\", \"dbName\": \"app\", \"sslmode\": \"verify-full\", "
		"\"sslrootcert\": \"/ca.pem\", \"passwordFile\": \"/pw\"}",
		"{\"connection\": \"host=db dbname=app user=u\"}",
		"{\"connection\": \"postgresql://u@db:5432/app?sslmode=require\", \"passwordFile\": \"/pw\"}",
		"{\"connectionFile\": \"/conn\"}",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct source s;
		char err[1024];
		if (source_open(&s, good[i], err, sizeof err))
			fail_msg("'%s' did not open: %s", good[i], err);
		source_close(&s);
	}
	char err[1024];
	void *m = metric_for(" \n\t ");
	struct sw_request req = { .params = m };
	assert_int_equal(scaler_postgresql.check_metric(NULL, &req, err, sizeof err), -1);
	assert_string_equal(err, "params.query: must not be empty");
	free_metric(m);
	m = metric_for("SELECT 1");
	req.params = m;
	req.query = "SELECT 2";
	assert_int_equal(scaler_postgresql.check_metric(NULL, &req, err, sizeof err), -1);
	assert_string_equal(err, "query: a postgresql source takes its SQL in params.query");
	req.query = NULL;
	assert_int_equal(scaler_postgresql.check_metric(NULL, &req, err, sizeof err), 0);
	free_metric(m);
}

static void want_parse(const char *text, unsigned int oid, double want)
{
	char err[512];
	double v = -1;
	if (postgresql_parse_value(text, strlen(text), oid, &v, err, sizeof err))
		fail_msg("'%s': %s", text, err);
	if (v != want)
		fail_msg("'%s': %.17g, expected %.17g", text, v, want);
}

static void want_parse_error(const char *text, unsigned int oid, const char *want)
{
	char err[512];
	double v;
	if (postgresql_parse_value(text, strlen(text), oid, &v, err, sizeof err) == 0)
		fail_msg("'%s' parsed as %.17g", text, v);
	assert_string_equal(err, want);
}

static void test_parse_value(void **st)
{
	want_parse("37", 20, 37);
	want_parse("-5", 23, -5);
	want_parse("0", 21, 0);
	want_parse("3.25", 1700, 3.25);
	want_parse("0.1", 701, 0.1);
	want_parse("1e+21", 701, 1e21);
	want_parse("1.5E-3", 700, 0.0015);
	want_parse("9223372036854775807", 20, 9223372036854775807.0);
	want_parse("42", 25, 42); /* text that reads as a number */
	want_parse(".5", 1700, 0.5);
	want_parse_error("abc", 25, "query returned 'abc' (text), not a number");
	want_parse_error("t", 16, "query returned 't' (boolean), not a number");
	want_parse_error("$1.00", 790, "query returned '$1.00' (money), not a number");
	want_parse_error("2024-01-01 00:00:00", 1114, "query returned '2024-01-01 00:00:00' (timestamp), not a number");
	want_parse_error("00:01:00", 1186, "query returned '00:01:00' (interval), not a number");
	want_parse_error("NaN", 1700, "query returned NaN (numeric), not a finite number");
	want_parse_error("Infinity", 701, "query returned Infinity (double precision), not a finite number");
	want_parse_error("-Infinity", 700, "query returned -Infinity (real), not a finite number");
	want_parse_error("", 25, "query returned '' (text), not a number");
	want_parse_error(" 42", 25, "query returned ' 42' (text), not a number");
	want_parse_error("42 ", 25, "query returned '42 ' (text), not a number");
	want_parse_error("0x10", 25, "query returned '0x10' (text), not a number");
	want_parse_error("1e", 25, "query returned '1e' (text), not a number");
	want_parse_error("-", 25, "query returned '-' (text), not a number");
	want_parse_error(".", 25, "query returned '.' (text), not a number");
	want_parse_error("1e999", 701, "query returned 1e999 (double precision), out of the range of a number");
	want_parse_error("{\"a\":1}", 3802, "query returned '{\"a\":1}' (jsonb), not a number");
	want_parse("7", 99999, 7); /* any type whose text is a number */
	want_parse_error("x", 99999, "query returned 'x' (type oid 99999), not a number");
	char big[POSTGRESQL_VALUE_MAX + 2];
	memset(big, '9', sizeof big - 1);
	big[sizeof big - 1] = 0;
	want_parse_error(big, 1700, "query returned a value of 1001 bytes (numeric), not a number");
	/* embedded NUL: the length rules */
	char err[512];
	double v;
	assert_int_equal(postgresql_parse_value("4\0002", 3, 25, &v, err, sizeof err), -1);
	assert_string_equal(err, "query returned '4?2' (text), not a number");
}

/* ======================================================================== */
/* transport cases                                                          */

static void test_fetch_and_transaction(void **st)
{
	struct fake f;
	struct source s;
	char log[8192], err[1024];
	double v;
	fake_start(&f);
	open_at(&s, &f, NULL);
	assert_int_equal(source_fetch(&s, "SELECT count(*) FROM jobs WHERE state = 'queued'", 5000, &v, err,
				      sizeof err),
			 0);
	assert_true(v == 37);
	fake_log(&f, log, sizeof log, 1);
	/* BEGIN READ ONLY with a statement_timeout from the deadline, the query, ROLLBACK */
	long long timeout = 0;
	char q[512];
	assert_int_equal(sscanf(log, "Q BEGIN READ ONLY; SET LOCAL statement_timeout = %lld\n", &timeout), 1);
	assert_true(timeout > 3500 && timeout <= 4500);
	snprintf(q, sizeof q, "Q BEGIN READ ONLY; SET LOCAL statement_timeout = %lld\n"
			      "P SELECT count(*) FROM jobs WHERE state = 'queued'\nQ ROLLBACK\n",
		 timeout);
	assert_string_equal(log, q);
	fake_answer(&f, 1700, 1, "12.5");
	want_value(&s, 12.5);
	fake_answer(&f, 701, 1, "-0.25");
	want_value(&s, -0.25);
	assert_int_equal(fake_accepted(&f), 1); /* one connection for all */
	source_close(&s);
	fake_stop(&f);
}

static void test_answers_become_errors(void **st)
{
	struct fake f;
	struct source s;
	fake_start(&f);
	open_at(&s, &f, NULL);
	fake_answer(&f, 20, 0, "1");
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query returned no rows; exactly one row is needed");
	fake_answer(&f, 20, 3, "1");
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query returned 3 rows; exactly one row is needed");
	fake_answer(&f, 20, 1, NULL);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query returned NULL; a number is needed");
	fake_answer(&f, 25, 1, "lots");
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query returned 'lots' (text), not a number");
	fake_answer(&f, 1700, 1, "NaN");
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query returned NaN (numeric), not a finite number");
	pthread_mutex_lock(&f.mu);
	f.ncols = 2;
	f.oids[1] = 20;
	f.cells[1] = "2";
	pthread_mutex_unlock(&f.mu);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query returned 2 columns; exactly one is needed");
	pthread_mutex_lock(&f.mu);
	f.nrows = 0; /* the columns count even without rows */
	pthread_mutex_unlock(&f.mu);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query returned no rows; exactly one row is needed");
	pthread_mutex_lock(&f.mu);
	f.ncols = 0;
	f.nrows = 1;
	pthread_mutex_unlock(&f.mu);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query returned 0 columns; exactly one is needed");
	pthread_mutex_lock(&f.mu);
	f.command_tag = "UPDATE 0";
	pthread_mutex_unlock(&f.mu);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR,
		   "ADDR: query returned no result set (UPDATE 0); a SELECT returning one number is needed");
	pthread_mutex_lock(&f.mu);
	f.command_tag = NULL;
	f.error_state = "42P01";
	f.error_msg = "relation \"jobs\" does not exist";
	pthread_mutex_unlock(&f.mu);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query failed (42P01): relation \"jobs\" does not exist");
	pthread_mutex_lock(&f.mu);
	f.error_state = "57014";
	f.error_msg = "canceling statement due to statement timeout";
	pthread_mutex_unlock(&f.mu);
	want_error(&s, &f, SW_FETCH_SOURCE_ERROR,
		   "ADDR: query canceled after its statement_timeout (canceling statement due to statement timeout)");
	pthread_mutex_lock(&f.mu);
	f.error_state = "53300";
	f.error_msg = "sorry, too many clients already";
	pthread_mutex_unlock(&f.mu);
	want_error(&s, &f, SW_FETCH_SOURCE_ERROR, "ADDR: query failed (53300): sorry, too many clients already");
	/* all of these on the one connection, which is still fine */
	fake_answer(&f, 20, 1, "37");
	want_value(&s, 37);
	assert_int_equal(fake_accepted(&f), 1);

	/* more rows than are worth reading: the connection goes */
	fake_answer(&f, 20, POSTGRESQL_MAX_ROWS + 500, "1");
	char want[128];
	snprintf(want, sizeof want, "ADDR: query returned more than %d rows; exactly one row is needed", POSTGRESQL_MAX_ROWS);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, want);
	fake_answer(&f, 20, POSTGRESQL_MAX_ROWS, "1");
	snprintf(want, sizeof want, "ADDR: query returned %d rows; exactly one row is needed", POSTGRESQL_MAX_ROWS);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, want);
	assert_int_equal(fake_accepted(&f), 2);
	source_close(&s);
	fake_stop(&f);
}

/* Garbage, nothing, or silence from the server: errors, never a 0. */
static void test_garbage_and_silence(void **st)
{
	struct fake f;
	struct source s;
	char err[1024], pre[128];
	double v;
	fake_start(&f);
	open_at(&s, &f, NULL);
	snprintf(pre, sizeof pre, "cannot connect to '127.0.0.1:%d/app': connection to server at \"127.0.0.1\", port %d failed: ",
		 f.port, f.port);

	fake_set(&f, F_STARTUP_GARBAGE);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, pre);
	assert_contains(err, "expected authentication request from server, but received H");

	fake_set(&f, F_STARTUP_CLOSE);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, pre);
	assert_contains(err, "server closed the connection unexpectedly");

	fake_set(&f, F_STARTUP_HANG);
	int64_t t0 = t_now();
	assert_int_equal(source_fetch(&s, "SELECT 1", 300, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	int64_t took = t_now() - t0;
	char want[256];
	snprintf(want, sizeof want, "cannot connect to '127.0.0.1:%d/app': no connection within 300 ms", f.port);
	assert_string_equal(err, want);
	assert_true(took >= 250 && took < 1900);

	fake_set(&f, F_QUERY_GARBAGE);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want, "'127.0.0.1:%d/app': connection lost: ", f.port);
	assert_contains(err, want);

	fake_set(&f, F_QUERY_CLOSE);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, want);
	assert_contains(err, "server closed the connection unexpectedly");

	fake_set(&f, F_QUERY_HANG);
	t0 = t_now();
	assert_int_equal(source_fetch(&s, "SELECT 1", 300, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	took = t_now() - t0;
	snprintf(want, sizeof want, "'127.0.0.1:%d/app': no answer within 300 ms", f.port);
	assert_string_equal(err, want);
	assert_true(took >= 250 && took < 1900);

	/* an expired deadline fails at once, without a connection */
	int before = fake_accepted(&f);
	assert_int_equal(source_fetch(&s, "SELECT 1", -1, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "'127.0.0.1:%d/app': deadline passed before the request started", f.port);
	assert_string_equal(err, want);
	assert_int_equal(fake_accepted(&f), before);

	fake_set(&f, F_NORMAL);
	want_value(&s, 37);
	source_close(&s);
	fake_stop(&f);
}

static void test_refused(void **st)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0); /* bound, not listening: refused */
	socklen_t al = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &al);
	int port = ntohs(a.sin_port);
	char json[256], err[1024], want[512];
	double v;
	struct source s;
	snprintf(json, sizeof json, "{\"connection\": \"host=127.0.0.1 port=%d dbname=app user=u password=hunter2\"}", port);
	assert_int_equal(source_open(&s, json, err, sizeof err), 0);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want,
		 "cannot connect to '127.0.0.1:%d/app': connection to server at \"127.0.0.1\", port %d failed: "
		 "Connection refused",
		 port, port);
	assert_string_equal(err, want);
	source_close(&s);
	close(fd);
}

/* A kept connection that the server closed is noticed before use (with
 * and without the FATAL a shutdown sends); one that dies during the
 * exchange is re-opened once within the deadline. */
static void test_reconnect(void **st)
{
	struct fake f;
	struct source s;
	fake_start(&f);
	open_at(&s, &f, NULL);
	want_value(&s, 37);
	fake_kill_conns(&f);
	want_value(&s, 37);
	assert_int_equal(fake_accepted(&f), 2);
	pthread_mutex_lock(&f.mu);
	f.fatal_on_kill = 1;
	pthread_mutex_unlock(&f.mu);
	fake_kill_conns(&f);
	want_value(&s, 37);
	assert_int_equal(fake_accepted(&f), 3);

	pthread_mutex_lock(&f.mu);
	f.drop_next = 1;
	pthread_mutex_unlock(&f.mu);
	want_value(&s, 37);
	assert_int_equal(fake_accepted(&f), 4);

	pthread_mutex_lock(&f.mu);
	f.drop_next = 2;
	pthread_mutex_unlock(&f.mu);
	char err[1024], want[256];
	double v;
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want, "'127.0.0.1:%d/app': connection lost: server closed the connection unexpectedly",
		 f.port);
	assert_contains(err, want);
	assert_int_equal(fake_accepted(&f), 5);
	want_value(&s, 37);
	assert_int_equal(fake_accepted(&f), 6);
	source_close(&s);
	fake_stop(&f);
}

struct tmpdir {
	char dir[256];
	char pw[320];
	char conn[320];
};

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void tmpdir_init(struct tmpdir *d)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(d->dir, sizeof d->dir, "%s/swpg.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->pw, sizeof d->pw, "%s/password", d->dir);
	snprintf(d->conn, sizeof d->conn, "%s/connection", d->dir);
}

static void tmpdir_remove(struct tmpdir *d)
{
	unlink(d->pw);
	unlink(d->conn);
	rmdir(d->dir);
}

static void test_password_file_and_rotation(void **st)
{
	struct fake f;
	struct source s;
	struct tmpdir d;
	char extra[512], err[1024], want[512];
	double v;
	fake_start(&f);
	f.password = "pg-secret-1";
	tmpdir_init(&d);
	write_file(d.pw, "pg-secret-1\n");
	snprintf(extra, sizeof extra, "\"passwordFile\": \"%s\"", d.pw);
	open_at(&s, &f, extra);
	want_value(&s, 37);
	pthread_mutex_lock(&f.mu);
	assert_string_equal(f.last_password, "pg-secret-1");
	f.password = "pg-secret-2";
	pthread_mutex_unlock(&f.mu);
	write_file(d.pw, "pg-secret-2");
	want_value(&s, 37); /* the kept connection is still logged in */
	fake_kill_conns(&f);
	want_value(&s, 37);
	pthread_mutex_lock(&f.mu);
	assert_string_equal(f.last_password, "pg-secret-2");
	pthread_mutex_unlock(&f.mu);

	write_file(d.pw, "wrong-password");
	fake_kill_conns(&f);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want,
		 "cannot connect to '127.0.0.1:%d/app': connection to server at \"127.0.0.1\", port %d failed: "
		 "FATAL:  password authentication failed for user \"scaler\"",
		 f.port, f.port);
	assert_string_equal(err, want);
	assert_lacks(err, "wrong-password");

	write_file(d.pw, "\n");
	int before = fake_accepted(&f);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "passwordFile: '%s' is empty", d.pw);
	assert_string_equal(err, want);
	unlink(d.pw);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "passwordFile: cannot read '%s': No such file or directory", d.pw);
	assert_string_equal(err, want);
	assert_int_equal(fake_accepted(&f), before); /* the file is read before connecting */
	source_close(&s);

	/* the password file with a connection string: the file wins */
	write_file(d.pw, "pg-secret-2");
	char json[1024];
	snprintf(json, sizeof json,
		 "{\"connection\": \"postgresql://scaler:stale@127.0.0.1:%d/app?sslmode=disable\", \"passwordFile\": \"%s\"}",
		 f.port, d.pw);
	assert_int_equal(source_open(&s, json, err, sizeof err), 0);
	want_value(&s, 37);
	source_close(&s);
	tmpdir_remove(&d);
	fake_stop(&f);
}

static void test_connection_file(void **st)
{
	struct fake f;
	struct source s;
	struct tmpdir d;
	char json[512], text[512], err[1024], want[512];
	double v;
	fake_start(&f);
	f.password = "in-the-file";
	tmpdir_init(&d);
	snprintf(text, sizeof text, "host=127.0.0.1 port=%d dbname=app user=scaler sslmode=disable password=in-the-file\n",
		 f.port);
	write_file(d.conn, text);
	snprintf(json, sizeof json, "{\"connectionFile\": \"%s\"}", d.conn);
	assert_int_equal(source_open(&s, json, err, sizeof err), 0);
	want_value(&s, 37);

	/* rotated: read again at the next connection */
	pthread_mutex_lock(&f.mu);
	f.password = "rotated";
	pthread_mutex_unlock(&f.mu);
	snprintf(text, sizeof text, "host=127.0.0.1 port=%d dbname=app user=scaler sslmode=disable password=rotated", f.port);
	write_file(d.conn, text);
	fake_kill_conns(&f);
	want_value(&s, 37);

	write_file(d.conn, "host=127.0.0.1 password=rotated oops");
	fake_kill_conns(&f);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want,
		 "connectionFile: '%s' is not a libpq connection string: missing \"=\" after \"***\" in connection info string",
		 d.conn);
	assert_string_equal(err, want);
	assert_lacks(err, "rotated");
	source_close(&s);
	tmpdir_remove(&d);
	fake_stop(&f);
}

/* ======================================================================== */
/* driver mode for the integration test                                     */

static const char *kind_name(int rc)
{
	return rc == SW_FETCH_SOURCE_ERROR ? "source" : rc == SW_FETCH_ANSWER_ERROR ? "answer" : "?";
}

static int tool_fetch(struct source *s, void *m, long ms)
{
	char err[2048];
	struct sw_request req = { .metric = "m", .params = m, .now_ms = t_now(), .deadline_ms = t_now() + ms };
	memset(&s->batch, 0, sizeof s->batch);
	int rc = scaler_postgresql.fetch(s->state, s->params, &req, &s->batch, err, sizeof err);
	if (rc)
		printf("error (%s): %s\n", kind_name(rc), err);
	else
		printf("value %.17g\n", s->batch.v[0]);
	fflush(stdout);
	return rc ? 1 : 0;
}

/* Fetches for secs seconds on one open source; prints the rate and the
 * CPU time of this process per fetch (what a poller would spend). */
static int tool_bench(struct source *s, void *m, double secs)
{
	char err[2048];
	struct timespec c0, c1;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
	int64_t t0 = t_now(), end = t0 + (int64_t)(secs * 1000);
	long n = 0;
	while (t_now() < end) {
		struct sw_request req = { .metric = "m", .params = m, .now_ms = t_now(), .deadline_ms = t_now() + 10000 };
		memset(&s->batch, 0, sizeof s->batch);
		if (scaler_postgresql.fetch(s->state, s->params, &req, &s->batch, err, sizeof err)) {
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

static int tool_freeport(void)
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

static int tool_main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "freeport"))
		return tool_freeport();
	int bench = argc == 5 && !strcmp(argv[1], "bench");
	if (!bench && (argc != 4 || (strcmp(argv[1], "fetch") && strcmp(argv[1], "poll")))) {
		fprintf(stderr, "usage: %s fetch|poll SOURCE_JSON QUERY | bench SOURCE_JSON QUERY SECONDS | "
				"freeport\n",
			argv[0]);
		return 2;
	}
	char err[2048];
	struct source s;
	if (source_open(&s, argv[2], err, sizeof err)) {
		printf("error: %s\n", err);
		source_close(&s);
		return 1;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "query", argv[3]);
	char *json = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	void *m = load_metric(json, err, sizeof err);
	free(json);
	if (!m) {
		printf("error: %s\n", err);
		source_close(&s);
		return 1;
	}
	int rc = 0;
	if (bench) {
		rc = tool_bench(&s, m, strtod(argv[4], NULL));
	} else if (!strcmp(argv[1], "fetch")) {
		rc = tool_fetch(&s, m, 10000);
	} else {
		char line[256];
		while (fgets(line, sizeof line, stdin)) {
			const char *sp = strchr(line, ' ');
			long ms = sp ? strtol(sp + 1, NULL, 10) : 0;
			tool_fetch(&s, m, ms > 0 ? ms : 10000);
		}
	}
	free_metric(m);
	source_close(&s);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return tool_main(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test(test_param_table_errors),
		cmocka_unit_test(test_source_and_metric_checks),
		cmocka_unit_test(test_parse_value),
		cmocka_unit_test(test_fetch_and_transaction),
		cmocka_unit_test(test_answers_become_errors),
		cmocka_unit_test(test_garbage_and_silence),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_password_file_and_rotation),
		cmocka_unit_test(test_connection_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
