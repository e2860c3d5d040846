/*
 * test_redis.c — the Redis scaler.
 *
 * Parameter cases load JSON through the real params_load and check the exact
 * messages. Transport cases run the scaler through its descriptor against a
 * small RESP server on 127.0.0.1 port 0 (a thread of this test) that keeps a
 * few keys of known types and lengths, and can instead answer garbage, close
 * the connection, hang, or send answers over the caps.
 *
 * With arguments the binary is a driver for tests/integration/test_redis.sh:
 *   test_redis fetch SOURCE_JSON PARAMS_JSON   one fetch: "value N" or "error (source|answer): ..."
 *   test_redis poll  SOURCE_JSON PARAMS_JSON   one fetch per line of stdin, one open source
 *   test_redis bench SOURCE_JSON PARAMS_JSON SECONDS   fetches for SECONDS on one source: rate and CPU
 *   test_redis freeport                        a free TCP port on 127.0.0.1
 * Each fetch has 10 s; in poll mode a line "fetch MS" gives that fetch MS
 * milliseconds instead.
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
#include <signal.h>
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
#include "redis.h"

/* ======================================================================== */
/* test doubles: the host                                                   */

struct sw_batch {
	double v[8];
	int64_t ts[8];
	size_t nlabels[8];
	size_t n;
};

static int tb_add(struct sw_batch *b, double value, int64_t ts, const struct sw_label *labels, size_t n)
{
	if (b->n >= 8)
		return -1;
	b->v[b->n] = value;
	b->ts[b->n] = ts;
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
/* a fake Redis on 127.0.0.1                                                */

enum fake_mode {
	F_NORMAL,      /* the keys below */
	F_GARBAGE,     /* answers an HTTP error page */
	F_CLOSE,       /* closes without answering */
	F_HANG,        /* reads, never answers */
	F_HUGE_BULK,   /* a bulk string longer than the cap */
	F_HUGE_ARRAY,  /* an array header with a billion elements */
	F_BAD_INT,     /* ":12abc" */
	F_STATUS,      /* "+OK" where a count belongs */
	F_NEG_ARRAY,   /* "*-5" */
	F_LOADING,     /* -LOADING ... */
	F_MOVED,       /* -MOVED ... */
	F_OLD_REDIS,   /* XINFO GROUPS without "lag" (Redis 6) */
};

#define FK_CONNS 32

struct fake {
	int lfd, port;
	pthread_t acceptor;
	pthread_mutex_t mu;
	enum fake_mode mode;
	const char *password;  /* required by AUTH when set */
	const char *username;  /* with password: the ACL user */
	int echo_auth;         /* AUTH errors quote what they were sent */
	int drop_next;         /* the next N commands close their connection unanswered */
	int accepted, commands, auths;
	char last_auth[256];
	char log[8192];        /* commands received, one a line */
	int fds[FK_CONNS];
	pthread_t threads[FK_CONNS];
	int nconns;
};

struct fconn {
	struct fake *f;
	int fd;
	int authed;
	int db;
};

static int send_all(int fd, const char *p, size_t n)
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

static int send_str(int fd, const char *s)
{
	return send_all(fd, s, strlen(s));
}

/* Parses one RESP command (an array of bulk strings) at buf; the bytes it
 * took, 0 when incomplete, -1 when it is not RESP. */
static long parse_command(const char *buf, size_t len, char argv[8][256], int *argc)
{
	const char *p = buf, *end = buf + len;
	if (p >= end)
		return 0;
	if (*p != '*')
		return -1;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (!nl)
		return 0;
	long n = strtol(p + 1, NULL, 10);
	p = nl + 1;
	if (n < 1 || n > 8)
		return -1;
	for (int i = 0; i < n; i++) {
		if (p >= end)
			return 0;
		if (*p != '$')
			return -1;
		nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return 0;
		long l = strtol(p + 1, NULL, 10);
		p = nl + 1;
		if (l < 0 || l > 255)
			return -1;
		if (end - p < l + 2)
			return 0;
		memcpy(argv[i], p, (size_t)l);
		argv[i][l] = 0;
		p += l + 2;
	}
	*argc = (int)n;
	return (long)(p - buf);
}

/* The keys of the fake: name, type, length. */
static const struct {
	const char *key;
	const char *type;
	int len;
	int db;
} fake_keys[] = {
	{ "orders", "list", 37, 0 },  { "users", "set", 5, 0 },    { "board", "zset", 3, 0 },
	{ "fields", "hash", 2, 0 },   { "greeting", "string", 1, 0 }, { "events", "stream", 10, 0 },
	{ "jobs", "list", 7, 3 },
};

static int key_find(const char *key, int db)
{
	for (size_t i = 0; i < sizeof fake_keys / sizeof fake_keys[0]; i++)
		if (!strcmp(fake_keys[i].key, key) && fake_keys[i].db == db)
			return (int)i;
	return -1;
}

/* Answers one command in the normal mode. */
static void answer_normal(struct fconn *c, char argv[8][256], int argc, enum fake_mode mode)
{
	struct fake *f = c->f;
	char out[1024];
	const char *cmd = argv[0];
	if (!strcmp(cmd, "AUTH")) {
		pthread_mutex_lock(&f->mu);
		f->auths++;
		snprintf(f->last_auth, sizeof f->last_auth, "%.100s%s%.100s", argc == 3 ? argv[1] : "", argc == 3 ? " " : "",
			 argv[argc - 1]);
		const char *pw = f->password, *user = f->username;
		int echo = f->echo_auth;
		pthread_mutex_unlock(&f->mu);
		int ok = pw && !strcmp(argv[argc - 1], pw) &&
			 (argc == 2 ? !user : user && !strcmp(argv[1], user));
		if (ok) {
			c->authed = 1;
			send_str(c->fd, "+OK\r\n");
		} else if (echo) {
			snprintf(out, sizeof out, "-ERR wrong password '%.200s'\r\n", argv[argc - 1]);
			send_str(c->fd, out);
		} else {
			send_str(c->fd, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
		}
		return;
	}
	pthread_mutex_lock(&f->mu);
	int need_auth = f->password != NULL;
	pthread_mutex_unlock(&f->mu);
	if (need_auth && !c->authed) {
		send_str(c->fd, "-NOAUTH Authentication required.\r\n");
		return;
	}
	if (!strcmp(cmd, "SELECT")) {
		int db = (int)strtol(argv[1], NULL, 10);
		if (db > 7) {
			send_str(c->fd, "-ERR DB index is out of range\r\n");
			return;
		}
		c->db = db;
		send_str(c->fd, "+OK\r\n");
		return;
	}
	int k = argc > 1 ? key_find(!strcmp(cmd, "XINFO") && argc > 2 ? argv[2] : argv[1], c->db) : -1;
	const char *type = k >= 0 ? fake_keys[k].type : "none";
	int len = k >= 0 ? fake_keys[k].len : 0;
	if (!strcmp(cmd, "TYPE")) {
		snprintf(out, sizeof out, "+%s\r\n", type);
		send_str(c->fd, out);
		return;
	}
	static const struct {
		const char *cmd, *type;
	} counts[] = { { "LLEN", "list" }, { "SCARD", "set" }, { "ZCARD", "zset" }, { "HLEN", "hash" }, { "XLEN", "stream" } };
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		if (strcmp(cmd, counts[i].cmd))
			continue;
		if (mode == F_BAD_INT) {
			send_str(c->fd, ":12abc\r\n");
		} else if (mode == F_STATUS) {
			send_str(c->fd, "+OK\r\n");
		} else if (k < 0) {
			send_str(c->fd, ":0\r\n");
		} else if (strcmp(type, counts[i].type)) {
			send_str(c->fd, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
		} else {
			snprintf(out, sizeof out, ":%d\r\n", len);
			send_str(c->fd, out);
		}
		return;
	}
	if (!strcmp(cmd, "XPENDING")) {
		if (k >= 0 && strcmp(type, "stream"))
			send_str(c->fd, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
		else if (k < 0 || strcmp(argv[2], "workers")) {
			snprintf(out, sizeof out, "-NOGROUP No such key '%.100s' or consumer group '%.100s' in XPENDING command\r\n",
				 argv[1], argv[2]);
			send_str(c->fd, out);
		} else
			send_str(c->fd, "*4\r\n:4\r\n$3\r\n1-0\r\n$3\r\n4-0\r\n*1\r\n*2\r\n$2\r\nc1\r\n$1\r\n4\r\n");
		return;
	}
	if (!strcmp(cmd, "XINFO")) {
		if (k < 0)
			send_str(c->fd, "-ERR no such key\r\n");
		else if (strcmp(type, "stream"))
			send_str(c->fd, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
		else if (mode == F_OLD_REDIS)
			send_str(c->fd, "*1\r\n*8\r\n$4\r\nname\r\n$7\r\nworkers\r\n$9\r\nconsumers\r\n:1\r\n"
					"$7\r\npending\r\n:4\r\n$17\r\nlast-delivered-id\r\n$3\r\n6-0\r\n");
		else
			send_str(c->fd, "*2\r\n"
					"*12\r\n$4\r\nname\r\n$7\r\nworkers\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:4\r\n"
					"$17\r\nlast-delivered-id\r\n$3\r\n6-0\r\n$12\r\nentries-read\r\n:6\r\n$3\r\nlag\r\n:3\r\n"
					"*12\r\n$4\r\nname\r\n$5\r\nnolag\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n"
					"$17\r\nlast-delivered-id\r\n$3\r\n2-0\r\n$12\r\nentries-read\r\n$-1\r\n$3\r\nlag\r\n$-1\r\n");
		return;
	}
	snprintf(out, sizeof out, "-ERR unknown command '%.100s'\r\n", cmd);
	send_str(c->fd, out);
}

/* Answers one command; 1 when the connection is to be closed. */
static int answer(struct fconn *c, char argv[8][256], int argc)
{
	struct fake *f = c->f;
	pthread_mutex_lock(&f->mu);
	f->commands++;
	size_t used = strlen(f->log);
	for (int i = 0; i < argc && used + 260 < sizeof f->log; i++)
		used += (size_t)snprintf(f->log + used, sizeof f->log - used, "%s%.250s", i ? " " : "", argv[i]);
	if (used + 2 < sizeof f->log)
		snprintf(f->log + used, sizeof f->log - used, "\n");
	enum fake_mode mode = f->mode;
	int drop = f->drop_next > 0;
	if (drop)
		f->drop_next--;
	pthread_mutex_unlock(&f->mu);
	if (drop)
		return 1;
	int is_auth = !strcmp(argv[0], "AUTH") || !strcmp(argv[0], "SELECT");
	switch (mode) {
	case F_GARBAGE:
		send_str(c->fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
		return 1;
	case F_CLOSE:
		return 1;
	case F_HANG: {
		char sink[256];
		while (recv(c->fd, sink, sizeof sink, 0) > 0)
			;
		return 1;
	}
	case F_HUGE_BULK: {
		if (is_auth)
			break;
		char head[64];
		size_t total = REDIS_ANSWER_MAX * 2;
		snprintf(head, sizeof head, "$%zu\r\n", total);
		send_str(c->fd, head);
		char *chunk = malloc(65536);
		memset(chunk, 'x', 65536);
		for (size_t sent = 0; sent < total; sent += 65536)
			if (send_all(c->fd, chunk, 65536))
				break;
		free(chunk);
		return 1;
	}
	case F_HUGE_ARRAY:
		if (is_auth)
			break;
		send_str(c->fd, "*1000000000\r\n");
		return 0;
	case F_NEG_ARRAY:
		if (is_auth)
			break;
		send_str(c->fd, "*-5\r\n");
		return 0;
	case F_LOADING:
		send_str(c->fd, "-LOADING Redis is loading the dataset in memory\r\n");
		return 0;
	case F_MOVED:
		send_str(c->fd, "-MOVED 3999 127.0.0.1:6381\r\n");
		return 0;
	default:
		break;
	}
	answer_normal(c, argv, argc, mode);
	return 0;
}

static void *fconn_main(void *arg)
{
	struct fconn *c = arg;
	char buf[65536];
	size_t len = 0;
	for (;;) {
		ssize_t r = recv(c->fd, buf + len, sizeof buf - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		int stop = 0;
		for (;;) {
			char argv[8][256];
			int argc = 0;
			long used = parse_command(buf, len, argv, &argc);
			if (used < 0) {
				send_str(c->fd, "-ERR Protocol error\r\n");
				stop = 1;
				break;
			}
			if (used == 0)
				break;
			memmove(buf, buf + used, len - (size_t)used);
			len -= (size_t)used;
			if (answer(c, argv, argc)) {
				stop = 1;
				break;
			}
		}
		if (stop || len == sizeof buf)
			break;
	}
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

static void fake_start(struct fake *f)
{
	memset(f, 0, sizeof *f);
	pthread_mutex_init(&f->mu, NULL);
	f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	int one = 1;
	setsockopt(f->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t al = sizeof a;
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
	f->port = ntohs(a.sin_port);
	assert_int_equal(listen(f->lfd, 64), 0); /* connections queue from here on: no wait needed */
	assert_int_equal(pthread_create(&f->acceptor, NULL, acceptor_main, f), 0);
}

/* Closes every open connection (as a restarted server would); the
 * listener stays. Returns once the connection threads are gone. */
static void fake_kill_conns(struct fake *f)
{
	pthread_mutex_lock(&f->mu);
	int n = f->nconns;
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

/* Loads json with table (source or metric) through params_load; NULL with
 * every problem, one a line, in err. */
static void *load_with(const struct sw_param *table, size_t n, size_t size, const char *path, const char *json,
		       char *err, size_t errlen)
{
	cJSON *obj = cJSON_Parse(json);
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
	const struct sw_scaler_type *t = &scaler_redis;
	return load_with(t->source_params, t->n_source_params, t->source_params_size, "sources.queue", json, err,
			 errlen);
}

static void *load_metric(const char *json, char *err, size_t errlen)
{
	const struct sw_scaler_type *t = &scaler_redis;
	return load_with(t->metric_params, t->n_metric_params, t->metric_params_size, "metrics[0].params", json, err,
			 errlen);
}

static void free_metric(void *m)
{
	if (!m)
		return;
	params_release(scaler_redis.metric_params, scaler_redis.n_metric_params, m);
	free(m);
}

static int source_open(struct source *s, const char *json, char *err, size_t errlen)
{
	memset(s, 0, sizeof *s);
	s->params = load_source(json, err, errlen);
	if (!s->params)
		return -1;
	s->state = calloc(1, scaler_redis.state_size);
	if (scaler_redis.open(s->state, s->params, &test_host, err, errlen)) {
		free(s->state);
		s->state = NULL;
		return -1;
	}
	return 0;
}

static void source_close(struct source *s)
{
	if (s->state) {
		scaler_redis.close(s->state);
		free(s->state);
	}
	if (s->params) {
		params_release(scaler_redis.source_params, scaler_redis.n_source_params, s->params);
		free(s->params);
	}
	memset(s, 0, sizeof *s);
}

/* One fetch with the metric params in json; the value in *v. */
static int source_fetch(struct source *s, const char *json, int64_t budget_ms, double *v, char *err, size_t errlen)
{
	char perr[1024];
	void *m = load_metric(json, perr, sizeof perr);
	if (!m)
		fail_msg("metric params '%s' do not load: %s", json, perr);
	struct sw_request req = {
		.metric = "m",
		.params = m,
		.now_ms = t_now(),
	};
	req.deadline_ms = req.now_ms + (budget_ms ? budget_ms : 5000);
	memset(&s->batch, 0, sizeof s->batch);
	err[0] = 0;
	int rc = scaler_redis.fetch(s->state, s->params, &req, &s->batch, err, errlen);
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
	snprintf(json, sizeof json, "{\"address\": \"127.0.0.1:%d\"%s%s}", f->port, extra ? ", " : "", extra ? extra : "");
	if (source_open(s, json, err, sizeof err))
		fail_msg("open failed: %s", err);
}

/* Expects fetch of params to give exactly want. */
static void want_value(struct source *s, const char *params, double want)
{
	char err[1024];
	double v = -1;
	int rc = source_fetch(s, params, 0, &v, err, sizeof err);
	if (rc)
		fail_msg("fetch %s: %d %s", params, rc, err);
	if (v != want)
		fail_msg("fetch %s: %.17g, expected %.17g", params, v, want);
}

/* Expects fetch of params to fail with rc and exactly the message want
 * (where the address is written as ADDR). */
static void want_error(struct source *s, struct fake *f, const char *params, int rc_want, const char *want)
{
	char err[1024], full[1024], addr[64];
	double v;
	snprintf(addr, sizeof addr, "'127.0.0.1:%d'", f->port);
	const char *at = strstr(want, "ADDR");
	if (at)
		snprintf(full, sizeof full, "%.*s%s%s", (int)(at - want), want, addr, at + 4);
	else
		snprintf(full, sizeof full, "%s", want);
	int rc = source_fetch(s, params, 0, &v, err, sizeof err);
	if (rc != rc_want)
		fail_msg("fetch %s: rc %d (%s), expected %d", params, rc, err, rc_want);
	assert_string_equal(err, full);
}

/* ======================================================================== */
/* parameter cases                                                          */

static void test_descriptor(void **st)
{
	const struct sw_scaler_type *t = &scaler_redis;
	assert_int_equal(t->abi_version, SW_SCALER_ABI_VERSION);
	assert_int_equal(t->struct_size, sizeof(struct sw_scaler_type));
	assert_string_equal(t->name, "redis");
	assert_int_equal(t->query, SW_QUERY_NONE);
	assert_false(t->flags & SW_SCALER_CONCURRENT); /* one connection per source */
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
		params_release(scaler_redis.source_params, scaler_redis.n_source_params, p);
		free(p);
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

/* Mistyped, out-of-range and unknown keys, each with its path. */
static void test_param_table_errors(void **st)
{
	expect_source_error("{\"address\": {\"host\": \"h\"}}", "sources.queue.address: must be a string");
	expect_source_error("{\"address\": [\"a:1\"]}", "sources.queue.address: must be a string");
	expect_source_error("{\"address\": \"h:1\", \"databaseIndex\": 16}",
			    "sources.queue.databaseIndex: 16 is out of range [0, 15]");
	expect_source_error("{\"address\": \"h:1\", \"databaseIndex\": -1}",
			    "sources.queue.databaseIndex: -1 is out of range [0, 15]");
	expect_source_error("{\"address\": \"h:1\", \"databaseIndex\": 1.5}",
			    "sources.queue.databaseIndex: must be a whole number");
	expect_source_error("{\"address\": \"h:1\", \"databaseIndex\": \"one\"}",
			    "sources.queue.databaseIndex: 'one' is not a number or a quantity: "
			    "quantities must match the regular expression "
			    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
	expect_source_error("{\"host\": \"h\", \"port\": 70000}", "sources.queue.port: 70000 is out of range [1, 65535]");
	expect_source_error("{\"host\": \"h\", \"port\": 0}", "sources.queue.port: 0 is out of range [1, 65535]");
	expect_source_error("{\"address\": \"h:1\", \"connectTimeout\": 5}",
			    "sources.queue.connectTimeout: must be a duration string such as \"15s\"");
	expect_source_error("{\"address\": \"h:1\", \"connectTimeout\": \"2m\"}",
			    "sources.queue.connectTimeout: 2m is out of range [1ms, 1m0s]");
	expect_source_error("{\"address\": \"h:1\", \"enableTLS\": \"yes\"}",
			    "sources.queue.enableTLS: must be true or false");
	/* no password in the config: only a file */
	expect_source_error("{\"address\": \"h:1\", \"password\": \"x\"}", "sources.queue.password: unknown key");
	expect_source_error("{\"address\": \"h:1\", \"passwordFle\": \"x\"}",
			    "sources.queue.passwordFle: unknown key; did you mean \"passwordFile\"?");
	expect_source_error("{\"address\": \"h:1\", \"tls\": {\"caFle\": \"x\"}}",
			    "sources.queue.tls.caFle: unknown key; did you mean \"caFile\"?");
	expect_source_error("{\"address\": \"h:1\", \"databaseIndex\": 99, \"port\": \"x\"}",
			    "sources.queue.port: 'x' is not a number or a quantity: quantities must match the regular expression "
			    "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'\n"
			    "sources.queue.databaseIndex: 99 is out of range [0, 15]");

	expect_metric_error("{\"listName\": [\"a\"]}", "metrics[0].params.listName: must be a string");
	expect_metric_error("{\"stream\": {\"name\": \"s\"}}", "metrics[0].params.stream: must be a string");
	expect_metric_error("{\"listName\": \"q\", \"type\": \"lists\"}",
			    "metrics[0].params.type: 'lists' is not one of auto, list, set, zset, hash; did you mean \"list\"?");
	expect_metric_error("{\"stream\": \"s\", \"mode\": \"pendng\"}",
			    "metrics[0].params.mode: 'pendng' is not one of pending, lag, length; did you mean \"pending\"?");
	expect_metric_error("{\"stream\": \"s\", \"consumerGrup\": \"g\"}",
			    "metrics[0].params.consumerGrup: unknown key; did you mean \"consumerGroup\"?");
	expect_metric_error("{\"listname\": \"q\"}", "metrics[0].params.listname: unknown key; did you mean \"listName\"?");
	expect_metric_error("{\"listName\": \"q\", \"listLength\": \"5\"}", "metrics[0].params.listLength: unknown key");
	expect_metric_error("[1]", "metrics[0].params: must be a map");
}

/* What the table cannot say: one of address or host, no TLS, which
 * metric params go together. open and check_metric say it. */
static void test_source_and_metric_checks(void **st)
{
	static const struct {
		const char *json, *want;
	} bad_sources[] = {
		{ "{}", "address is required (host:port), or host and port" },
		{ "{\"address\": \"redis\"}", "address 'redis' must be host:port" },
		{ "{\"address\": \"redis:\"}", "address 'redis:' has no port number after ':'" },
		{ "{\"address\": \"redis:abc\"}", "address 'redis:abc' has no port number after ':'" },
		{ "{\"address\": \"redis:0\"}", "address 'redis:0': port 0 is out of range [1, 65535]" },
		{ "{\"address\": \"redis:65536\"}", "address 'redis:65536': port 65536 is out of range [1, 65535]" },
		{ "{\"address\": \":6379\"}", "address ':6379' has no host" },
		{ "{\"address\": \"::1:6379\"}", "address '::1:6379': write an IPv6 address as [addr]:port" },
		{ "{\"address\": \"[::1]6379\"}", "address '[::1]6379' must be [ipv6]:port" },
		{ "{\"address\": \"a:1\", \"host\": \"b\"}",
		  "address and host exclude each other; give address (host:port) or host and port" },
		{ "{\"address\": \"a:1\", \"port\": 2}", "port goes with host; address already has its port" },
		{ "{\"host\": \"\"}", "host '' is empty" },
		{ "{\"address\": \"a:1\", \"username\": \"u\"}", "username needs passwordFile" },
		{ "{\"address\": \"a:1\", \"enableTLS\": true}",
		  "enableTLS: TLS is not supported by this build: Debian's hiredis 0.14 has no TLS; reach Redis through a "
		  "TLS tunnel (e.g. stunnel) on loopback instead" },
		{ "{\"address\": \"a:1\", \"tls\": {\"caFile\": \"/ca.pem\"}}",
		  "tls.caFile: TLS is not supported by this build: Debian's hiredis 0.14 has no TLS; reach Redis through a "
		  "TLS tunnel (e.g. stunnel) on loopback instead" },
		{ "{\"address\": \"a:1\", \"unsafeSsl\": \"true\"}",
		  "unsafeSsl: TLS is not supported by this build: Debian's hiredis 0.14 has no TLS; reach Redis through a "
		  "TLS tunnel (e.g. stunnel) on loopback instead" },
	};
	for (size_t i = 0; i < sizeof bad_sources / sizeof bad_sources[0]; i++) {
		struct source s;
		char err[1024];
		if (source_open(&s, bad_sources[i].json, err, sizeof err) == 0)
			fail_msg("'%s' opened", bad_sources[i].json);
		assert_string_equal(err, bad_sources[i].want);
		/* check_metric says the same about the source */
		char perr[1024];
		void *p = load_source(bad_sources[i].json, perr, sizeof perr);
		assert_non_null(p);
		void *m = load_metric("{\"listName\": \"q\"}", perr, sizeof perr);
		struct sw_request req = { .params = m };
		assert_int_equal(scaler_redis.check_metric(p, &req, err, sizeof err), -1);
		assert_string_equal(err, bad_sources[i].want);
		free_metric(m);
		params_release(scaler_redis.source_params, scaler_redis.n_source_params, p);
		free(p);
		source_close(&s);
	}
	/* the good forms */
	static const char *const good[] = {
		"{\"address\": \"127.0.0.1:6379\"}", "{\"address\": \"[::1]:6379\"}", "{\"host\": \"redis.default.svc\"}",
		"{\"host\": \"r\", \"port\": 6380, \"databaseIndex\": 15}",
		"{\"address\": \"r:1\", \"enableTLS\": false, \"unsafeSsl\": \"false\"}",
		"{\"address\": \"r:1\", \"username\": \"u\", \"passwordFile\": \"/p\"}",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct source s;
		char err[1024];
		if (source_open(&s, good[i], err, sizeof err))
			fail_msg("'%s' did not open: %s", good[i], err);
		source_close(&s);
	}

	static const struct {
		const char *json, *want;
	} bad_metrics[] = {
		{ "{}", "params: listName or stream is required" },
		{ "{\"listName\": \"a\", \"stream\": \"b\"}", "params: listName and stream exclude each other; a metric reads one key" },
		{ "{\"listName\": \"\"}", "params.listName: must not be empty" },
		{ "{\"listName\": \"a\", \"consumerGroup\": \"g\"}", "params.consumerGroup: only for a stream; with listName use type" },
		{ "{\"listName\": \"a\", \"mode\": \"lag\"}", "params.mode: only for a stream; with listName use type" },
		{ "{\"stream\": \"s\", \"type\": \"list\"}", "params.type: only for listName; with stream use mode" },
		{ "{\"stream\": \"\"}", "params.stream: must not be empty" },
		{ "{\"stream\": \"s\", \"mode\": \"pending\"}", "params.mode: 'pending' needs consumerGroup" },
		{ "{\"stream\": \"s\", \"mode\": \"lag\"}", "params.mode: 'lag' needs consumerGroup" },
		{ "{\"stream\": \"s\", \"consumerGroup\": \"\"}", "params.consumerGroup: must not be empty" },
	};
	for (size_t i = 0; i < sizeof bad_metrics / sizeof bad_metrics[0]; i++) {
		char err[1024];
		void *m = load_metric(bad_metrics[i].json, err, sizeof err);
		assert_non_null(m);
		struct sw_request req = { .params = m };
		assert_int_equal(scaler_redis.check_metric(NULL, &req, err, sizeof err), -1);
		assert_string_equal(err, bad_metrics[i].want);
		free_metric(m);
	}
	char err[1024];
	void *m = load_metric("{\"listName\": \"q\"}", err, sizeof err);
	struct sw_request req = { .params = m, .query = "LLEN q" };
	assert_int_equal(scaler_redis.check_metric(NULL, &req, err, sizeof err), -1);
	assert_string_equal(err, "query: a redis source takes params, not a query");
	req.query = NULL;
	assert_int_equal(scaler_redis.check_metric(NULL, &req, err, sizeof err), 0);
	free_metric(m);
	static const char *const good_metrics[] = {
		"{\"listName\": \"q\", \"type\": \"zset\"}", "{\"stream\": \"s\"}", "{\"stream\": \"s\", \"mode\": \"length\"}",
		"{\"stream\": \"s\", \"consumerGroup\": \"g\"}", "{\"stream\": \"s\", \"consumerGroup\": \"g\", \"mode\": \"lag\"}",
	};
	for (size_t i = 0; i < sizeof good_metrics / sizeof good_metrics[0]; i++) {
		m = load_metric(good_metrics[i], err, sizeof err);
		req.params = m;
		if (scaler_redis.check_metric(NULL, &req, err, sizeof err))
			fail_msg("%s: %s", good_metrics[i], err);
		free_metric(m);
	}
}

static void test_address_parse(void **st)
{
	char host[16], err[256];
	int port = 0;
	assert_int_equal(redis_address_parse("10.0.0.1:6380", host, sizeof host, &port, err, sizeof err), 0);
	assert_string_equal(host, "10.0.0.1");
	assert_int_equal(port, 6380);
	assert_int_equal(redis_address_parse("[fe80::1]:1", host, sizeof host, &port, err, sizeof err), 0);
	assert_string_equal(host, "fe80::1");
	assert_int_equal(port, 1);
	assert_int_equal(redis_address_parse("a-very-long-host-name:1", host, sizeof host, &port, err, sizeof err), -1);
	assert_string_equal(err, "address 'a-very-long-host-name:1' has too long a host");
	assert_int_equal(redis_address_parse("h:123456", host, sizeof host, &port, err, sizeof err), -1);
	assert_string_equal(err, "address 'h:123456' has no port number after ':'");
	assert_int_equal(redis_address_parse("", host, sizeof host, &port, err, sizeof err), -1);
	assert_string_equal(err, "address is empty");
}

/* ======================================================================== */
/* transport cases                                                          */

/* Every kind of key, by TYPE and by an explicit type; missing keys are 0. */
static void test_lengths(void **st)
{
	struct fake f;
	struct source s;
	char log[8192];
	fake_start(&f);
	open_at(&s, &f, NULL);
	want_value(&s, "{\"listName\": \"orders\"}", 37);
	fake_log(&f, log, sizeof log, 1);
	assert_string_equal(log, "TYPE orders\nLLEN orders\n"); /* one round trip for a list */
	want_value(&s, "{\"listName\": \"users\"}", 5);
	fake_log(&f, log, sizeof log, 1);
	assert_string_equal(log, "TYPE users\nLLEN users\nSCARD users\n");
	want_value(&s, "{\"listName\": \"board\"}", 3);
	want_value(&s, "{\"listName\": \"fields\"}", 2);
	want_value(&s, "{\"listName\": \"nothing-here\"}", 0);
	fake_log(&f, log, sizeof log, 1);
	assert_string_equal(log, "TYPE board\nLLEN board\nZCARD board\nTYPE fields\nLLEN fields\nHLEN fields\n"
				 "TYPE nothing-here\nLLEN nothing-here\n");
	want_value(&s, "{\"listName\": \"orders\", \"type\": \"list\"}", 37);
	want_value(&s, "{\"listName\": \"users\", \"type\": \"set\"}", 5);
	want_value(&s, "{\"listName\": \"board\", \"type\": \"zset\"}", 3);
	want_value(&s, "{\"listName\": \"fields\", \"type\": \"hash\"}", 2);
	want_value(&s, "{\"listName\": \"nothing-here\", \"type\": \"set\"}", 0);
	fake_log(&f, log, sizeof log, 1);
	assert_string_equal(log, "LLEN orders\nSCARD users\nZCARD board\nHLEN fields\nSCARD nothing-here\n");
	assert_int_equal(fake_accepted(&f), 1); /* one connection for all of them */
	source_close(&s);
	fake_stop(&f);
}

static void test_wrong_types(void **st)
{
	struct fake f;
	struct source s;
	fake_start(&f);
	open_at(&s, &f, NULL);
	want_error(&s, &f, "{\"listName\": \"users\", \"type\": \"list\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: listName 'users' holds a set, not a list");
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"hash\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: listName 'orders' holds a list, not a hash");
	want_error(&s, &f, "{\"listName\": \"greeting\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: listName 'greeting' holds a string; it must be a list, set, zset or hash");
	want_error(&s, &f, "{\"listName\": \"events\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: listName 'events' holds a stream; read it with params.stream (and consumerGroup for "
		     "pending entries or lag)");
	want_error(&s, &f, "{\"stream\": \"orders\"}", SW_FETCH_ANSWER_ERROR, "ADDR: stream 'orders' holds a list, not a stream");
	want_error(&s, &f, "{\"stream\": \"orders\", \"consumerGroup\": \"workers\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: stream 'orders' holds a list, not a stream");
	want_error(&s, &f, "{\"stream\": \"orders\", \"consumerGroup\": \"workers\", \"mode\": \"lag\"}",
		     SW_FETCH_ANSWER_ERROR, "ADDR: stream 'orders' holds a list, not a stream");
	/* the connection stays usable after answer errors */
	want_value(&s, "{\"listName\": \"orders\"}", 37);
	assert_int_equal(fake_accepted(&f), 1);
	source_close(&s);
	fake_stop(&f);
}

static void test_streams(void **st)
{
	struct fake f;
	struct source s;
	char log[8192];
	fake_start(&f);
	open_at(&s, &f, NULL);
	want_value(&s, "{\"stream\": \"events\"}", 10);
	want_value(&s, "{\"stream\": \"events\", \"mode\": \"length\", \"consumerGroup\": \"workers\"}", 10);
	want_value(&s, "{\"stream\": \"missing\"}", 0);
	want_value(&s, "{\"stream\": \"events\", \"consumerGroup\": \"workers\"}", 4);
	want_value(&s, "{\"stream\": \"events\", \"consumerGroup\": \"workers\", \"mode\": \"pending\"}", 4);
	want_value(&s, "{\"stream\": \"events\", \"consumerGroup\": \"workers\", \"mode\": \"lag\"}", 3);
	fake_log(&f, log, sizeof log, 1);
	assert_string_equal(log, "XLEN events\nXLEN events\nXLEN missing\nXPENDING events workers\n"
				 "XPENDING events workers\nXINFO GROUPS events\n");
	want_error(&s, &f, "{\"stream\": \"events\", \"consumerGroup\": \"sleepers\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: stream 'events' or its consumer group 'sleepers' does not exist");
	want_error(&s, &f, "{\"stream\": \"missing\", \"consumerGroup\": \"workers\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: stream 'missing' or its consumer group 'workers' does not exist");
	want_error(&s, &f, "{\"stream\": \"events\", \"consumerGroup\": \"sleepers\", \"mode\": \"lag\"}",
		     SW_FETCH_ANSWER_ERROR, "ADDR: stream 'events' has no consumer group 'sleepers'");
	want_error(&s, &f, "{\"stream\": \"missing\", \"consumerGroup\": \"workers\", \"mode\": \"lag\"}",
		     SW_FETCH_ANSWER_ERROR, "ADDR: stream 'missing' does not exist");
	want_error(&s, &f, "{\"stream\": \"events\", \"consumerGroup\": \"nolag\", \"mode\": \"lag\"}",
		     SW_FETCH_ANSWER_ERROR,
		     "ADDR: Redis cannot tell the lag of group 'nolag' on stream 'events' (entries were deleted, or the "
		     "group starts at an arbitrary ID); use mode pending or length");
	fake_set(&f, F_OLD_REDIS);
	want_error(&s, &f, "{\"stream\": \"events\", \"consumerGroup\": \"workers\", \"mode\": \"lag\"}",
		     SW_FETCH_ANSWER_ERROR,
		     "ADDR: XINFO GROUPS 'events' has no \"lag\" for group 'workers': consumer-group lag needs Redis 7 or later");
	source_close(&s);
	fake_stop(&f);
}

/* Garbage, nothing, too much: errors with precise messages, never a 0. */
static void test_garbage_answers(void **st)
{
	struct fake f;
	struct source s;
	fake_start(&f);
	open_at(&s, &f, NULL);
	fake_set(&f, F_GARBAGE);
	want_error(&s, &f, "{\"listName\": \"orders\"}", SW_FETCH_SOURCE_ERROR,
		     "ADDR: not a Redis answer: Protocol error, got \"H\" as reply type byte");
	fake_set(&f, F_CLOSE);
	want_error(&s, &f, "{\"listName\": \"orders\"}", SW_FETCH_SOURCE_ERROR, "ADDR: server closed the connection");
	fake_set(&f, F_BAD_INT);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_SOURCE_ERROR,
		     "ADDR: not a Redis answer: Bad integer value");
	fake_set(&f, F_STATUS);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: LLEN 'orders' answered a status 'OK', not a count");
	fake_set(&f, F_NEG_ARRAY);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_SOURCE_ERROR,
		     "ADDR: not a Redis answer: Multi-bulk length out of range");
	fake_set(&f, F_HUGE_ARRAY);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: answer has an array of 1000000000 elements, more than the limit of 100000");
	fake_set(&f, F_HUGE_BULK);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: answer larger than 1048576 bytes");
	fake_set(&f, F_LOADING);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_SOURCE_ERROR,
		     "ADDR: LLEN 'orders': LOADING Redis is loading the dataset in memory");
	fake_set(&f, F_MOVED);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: LLEN 'orders': the server is part of a Redis Cluster, which this scaler does not follow "
		     "(MOVED 3999 127.0.0.1:6381)");
	/* after all that the same source is fine again */
	fake_set(&f, F_NORMAL);
	want_value(&s, "{\"listName\": \"orders\"}", 37);
	source_close(&s);
	fake_stop(&f);
}

static void test_deadline(void **st)
{
	struct fake f;
	struct source s;
	char err[1024], want[256];
	double v;
	fake_start(&f);
	fake_set(&f, F_HANG);
	open_at(&s, &f, NULL);
	int64_t t0 = t_now();
	assert_int_equal(source_fetch(&s, "{\"listName\": \"orders\"}", 300, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	int64_t took = t_now() - t0;
	snprintf(want, sizeof want, "'127.0.0.1:%d': no answer within 300 ms", f.port);
	assert_string_equal(err, want);
	assert_true(took >= 250);
	assert_true(took < 1900);
	/* an expired deadline fails at once, without a connection */
	int before = fake_accepted(&f);
	assert_int_equal(source_fetch(&s, "{\"listName\": \"orders\"}", -1, &v, err, sizeof err),
			 SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "'127.0.0.1:%d': deadline passed before the request started", f.port);
	assert_string_equal(err, want);
	assert_int_equal(fake_accepted(&f), before);
	source_close(&s);
	fake_stop(&f);
}

/* A listener whose queue is full takes no more connections: connect
 * hangs until connectTimeout (sooner than the deadline here). */
static void test_connect_timeout(void **st)
{
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(lfd, (struct sockaddr *)&a, sizeof a), 0);
	socklen_t al = sizeof a;
	getsockname(lfd, (struct sockaddr *)&a, &al);
	assert_int_equal(listen(lfd, 0), 0);
	int fill[4];
	for (int i = 0; i < 4; i++) { /* never accepted: the queue fills */
		fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
		connect(fill[i], (struct sockaddr *)&a, sizeof a);
	}
	char json[128], err[1024], want[256];
	double v;
	struct source s;
	snprintf(json, sizeof json, "{\"address\": \"127.0.0.1:%d\", \"connectTimeout\": \"200ms\"}", ntohs(a.sin_port));
	assert_int_equal(source_open(&s, json, err, sizeof err), 0);
	int64_t t0 = t_now();
	assert_int_equal(source_fetch(&s, "{\"listName\": \"q\"}", 5000, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	int64_t took = t_now() - t0;
	snprintf(want, sizeof want, "cannot reach '127.0.0.1:%d': no connection within 200 ms", ntohs(a.sin_port));
	assert_string_equal(err, want);
	assert_true(took >= 150 && took < 1900);
	source_close(&s);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
}

static void test_refused(void **st)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0); /* bound, not listening: refused */
	socklen_t al = sizeof a;
	getsockname(fd, (struct sockaddr *)&a, &al);
	char json[128], err[1024], want[256];
	double v;
	struct source s;
	snprintf(json, sizeof json, "{\"host\": \"127.0.0.1\", \"port\": %d, \"databaseIndex\": 2}", ntohs(a.sin_port));
	assert_int_equal(source_open(&s, json, err, sizeof err), 0);
	assert_int_equal(source_fetch(&s, "{\"listName\": \"q\"}", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want, "cannot reach '127.0.0.1:%d/2': Connection refused", ntohs(a.sin_port));
	assert_string_equal(err, want);
	source_close(&s);
	close(fd);
	assert_int_equal(source_open(&s, "{\"address\": \"no-such-host.invalid:6379\"}", err, sizeof err), 0);
	assert_int_equal(source_fetch(&s, "{\"listName\": \"q\"}", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "cannot resolve 'no-such-host.invalid': ");
	source_close(&s);
}

/* A kept connection closed by the server is noticed before use; one that
 * dies during the exchange is re-opened once within the deadline. */
static void test_reconnect(void **st)
{
	struct fake f;
	struct source s;
	fake_start(&f);
	open_at(&s, &f, NULL);
	want_value(&s, "{\"listName\": \"orders\"}", 37);
	assert_int_equal(fake_accepted(&f), 1);
	fake_kill_conns(&f); /* the server restarts */
	want_value(&s, "{\"listName\": \"orders\"}", 37);
	assert_int_equal(fake_accepted(&f), 2);

	pthread_mutex_lock(&f.mu);
	f.drop_next = 1; /* the kept connection dies when the command arrives */
	pthread_mutex_unlock(&f.mu);
	want_value(&s, "{\"listName\": \"orders\", \"type\": \"list\"}", 37);
	assert_int_equal(fake_accepted(&f), 3);

	pthread_mutex_lock(&f.mu);
	f.drop_next = 2; /* and so does the new one: only one reconnect */
	pthread_mutex_unlock(&f.mu);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_SOURCE_ERROR,
		     "ADDR: server closed the connection");
	assert_int_equal(fake_accepted(&f), 4);
	want_value(&s, "{\"listName\": \"orders\"}", 37);
	assert_int_equal(fake_accepted(&f), 5);
	source_close(&s);
	fake_stop(&f);
}

struct pwdir {
	char dir[256];
	char path[320];
};

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void pwdir_init(struct pwdir *d, const char *pw)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(d->dir, sizeof d->dir, "%s/swredis.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof d->path, "%s/password", d->dir);
	write_file(d->path, pw);
}

static void pwdir_remove(struct pwdir *d)
{
	unlink(d->path);
	rmdir(d->dir);
}

static void test_auth_and_rotation(void **st)
{
	struct fake f;
	struct source s;
	struct pwdir d;
	char extra[512], log[8192], err[1024];
	fake_start(&f);
	f.password = "s3cret-one";
	pwdir_init(&d, "s3cret-one\n");

	/* no passwordFile: the server's NOAUTH, with what to do */
	open_at(&s, &f, NULL);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: LLEN 'orders': the server wants a password (NOAUTH Authentication required.): set passwordFile");
	source_close(&s);

	snprintf(extra, sizeof extra, "\"passwordFile\": \"%s\"", d.path);
	open_at(&s, &f, extra);
	want_value(&s, "{\"listName\": \"orders\"}", 37);
	pthread_mutex_lock(&f.mu);
	assert_string_equal(f.last_auth, "s3cret-one");
	pthread_mutex_unlock(&f.mu);

	/* rotation: the server and the file change; the next connection uses the new one */
	pthread_mutex_lock(&f.mu);
	f.password = "s3cret-two";
	pthread_mutex_unlock(&f.mu);
	write_file(d.path, "s3cret-two");
	want_value(&s, "{\"listName\": \"orders\"}", 37); /* the kept connection stays authenticated */
	fake_kill_conns(&f);
	want_value(&s, "{\"listName\": \"orders\"}", 37);
	pthread_mutex_lock(&f.mu);
	assert_string_equal(f.last_auth, "s3cret-two");
	pthread_mutex_unlock(&f.mu);

	/* a wrong password: the server's message, never the password */
	write_file(d.path, "wrong-pw");
	fake_kill_conns(&f);
	want_error(&s, &f, "{\"listName\": \"orders\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: authentication failed: WRONGPASS invalid username-password pair or user is disabled.");
	pthread_mutex_lock(&f.mu);
	f.echo_auth = 1;
	pthread_mutex_unlock(&f.mu);
	want_error(&s, &f, "{\"listName\": \"orders\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: authentication failed: ERR wrong password '***'");

	(void)err;
	source_close(&s);
	pwdir_remove(&d);

	/* an ACL user and a database */
	pwdir_init(&d, "acl-pw");
	pthread_mutex_lock(&f.mu);
	f.password = "acl-pw";
	f.username = "scaler";
	f.echo_auth = 0;
	f.log[0] = 0;
	pthread_mutex_unlock(&f.mu);
	snprintf(extra, sizeof extra, "\"username\": \"scaler\", \"passwordFile\": \"%s\", \"databaseIndex\": 3", d.path);
	open_at(&s, &f, extra);
	want_value(&s, "{\"listName\": \"jobs\"}", 7);
	fake_log(&f, log, sizeof log, 1);
	assert_string_equal(log, "AUTH scaler acl-pw\nSELECT 3\nTYPE jobs\nLLEN jobs\n");
	source_close(&s);
	pwdir_remove(&d);
	fake_stop(&f);
}

static void test_password_file_errors(void **st)
{
	struct fake f;
	struct source s;
	struct pwdir d;
	char extra[512], want[1024], err[1024];
	double v;
	fake_start(&f);
	f.password = "x";
	pwdir_init(&d, "\n");
	snprintf(extra, sizeof extra, "\"passwordFile\": \"%s\"", d.path);
	open_at(&s, &f, extra);
	assert_int_equal(source_fetch(&s, "{\"listName\": \"orders\"}", 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "passwordFile: '%s' is empty", d.path);
	assert_string_equal(err, want);
	unlink(d.path);
	assert_int_equal(source_fetch(&s, "{\"listName\": \"orders\"}", 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "passwordFile: cannot read '%s': No such file or directory", d.path);
	assert_string_equal(err, want);
	assert_int_equal(fake_accepted(&f), 0); /* the password is read before connecting */
	source_close(&s);
	rmdir(d.dir);
	fake_stop(&f);
}

/* databaseIndex 15 passes the table; a server with fewer databases
 * (here 8) refuses SELECT: an answer error, the connection dropped. */
static void test_select_refused(void **st)
{
	struct fake f;
	struct source s;
	fake_start(&f);
	open_at(&s, &f, "\"databaseIndex\": 15");
	char err[1024], want[256];
	double v;
	assert_int_equal(source_fetch(&s, "{\"listName\": \"orders\"}", 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "'127.0.0.1:%d/15': SELECT 15 failed: ERR DB index is out of range", f.port);
	assert_string_equal(err, want);
	source_close(&s);
	open_at(&s, &f, "\"databaseIndex\": 7");
	assert_int_equal(source_fetch(&s, "{\"listName\": \"orders\"}", 0, &v, err, sizeof err), 0);
	assert_true(v == 0); /* database 7 of the fake is empty */
	source_close(&s);
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
	int rc = scaler_redis.fetch(s->state, s->params, &req, &s->batch, err, sizeof err);
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
		if (scaler_redis.fetch(s->state, s->params, &req, &s->batch, err, sizeof err)) {
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
		fprintf(stderr, "usage: %s fetch|poll SOURCE_JSON PARAMS_JSON | bench SOURCE_JSON PARAMS_JSON SECONDS | "
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
	void *m = load_metric(argv[3], err, sizeof err);
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
	/* SIGPIPE keeps its default: a write of the scaler to a dead peer that
	 * raised it would kill this test (the fake sends with MSG_NOSIGNAL) */
	if (argc > 1)
		return tool_main(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test(test_param_table_errors),
		cmocka_unit_test(test_source_and_metric_checks),
		cmocka_unit_test(test_address_parse),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_streams),
		cmocka_unit_test(test_garbage_answers),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_connect_timeout),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_reconnect),
		cmocka_unit_test(test_auth_and_rotation),
		cmocka_unit_test(test_password_file_errors),
		cmocka_unit_test(test_select_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
