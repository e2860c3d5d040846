/*
 * test_redis.c — the Redis scaler.
 *
 * Parameter cases load JSON through the real params_load and check the exact
 * messages. Transport cases run the scaler through its descriptor against a
 * small RESP server on 127.0.0.1 port 0 (built on the TCP server of
 * tests/unit/scaler_testkit.h) that keeps a few keys of known types and
 * lengths, and can instead answer garbage, close the connection, hang, or
 * send answers over the caps.
 *
 * With arguments the binary is a driver for tests/integration/test_redis.sh
 * (see scaler_testkit.h):
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

#include "scaler_testkit.h"

#include "redis.h"

static const struct sw_scaler_type *T = &scaler_redis;

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

/* Logs each command, one a line; tcp.drop_next drops commands. */
struct fake {
	struct kit_tcp tcp;    /* its mode is an enum fake_mode; its mutex guards the rest */
	const char *password;  /* required by AUTH when set */
	const char *username;  /* with password: the ACL user */
	int echo_auth;         /* AUTH errors quote what they were sent */
	int commands, auths;
	char last_auth[256];
};

struct fconn {
	struct fake *f;
	int fd;
	int authed;
	int db;
};

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
		pthread_mutex_lock(&f->tcp.mu);
		f->auths++;
		snprintf(f->last_auth, sizeof f->last_auth, "%.100s%s%.100s", argc == 3 ? argv[1] : "", argc == 3 ? " " : "",
			 argv[argc - 1]);
		const char *pw = f->password, *user = f->username;
		int echo = f->echo_auth;
		pthread_mutex_unlock(&f->tcp.mu);
		int ok = pw && !strcmp(argv[argc - 1], pw) &&
			 (argc == 2 ? !user : user && !strcmp(argv[1], user));
		if (ok) {
			c->authed = 1;
			kit_send_str(c->fd, "+OK\r\n");
		} else if (echo) {
			snprintf(out, sizeof out, "-ERR wrong password '%.200s'\r\n", argv[argc - 1]);
			kit_send_str(c->fd, out);
		} else {
			kit_send_str(c->fd, "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
		}
		return;
	}
	pthread_mutex_lock(&f->tcp.mu);
	int need_auth = f->password != NULL;
	pthread_mutex_unlock(&f->tcp.mu);
	if (need_auth && !c->authed) {
		kit_send_str(c->fd, "-NOAUTH Authentication required.\r\n");
		return;
	}
	if (!strcmp(cmd, "SELECT")) {
		int db = (int)strtol(argv[1], NULL, 10);
		if (db > 7) {
			kit_send_str(c->fd, "-ERR DB index is out of range\r\n");
			return;
		}
		c->db = db;
		kit_send_str(c->fd, "+OK\r\n");
		return;
	}
	int k = argc > 1 ? key_find(!strcmp(cmd, "XINFO") && argc > 2 ? argv[2] : argv[1], c->db) : -1;
	const char *type = k >= 0 ? fake_keys[k].type : "none";
	int len = k >= 0 ? fake_keys[k].len : 0;
	if (!strcmp(cmd, "TYPE")) {
		snprintf(out, sizeof out, "+%s\r\n", type);
		kit_send_str(c->fd, out);
		return;
	}
	static const struct {
		const char *cmd, *type;
	} counts[] = { { "LLEN", "list" }, { "SCARD", "set" }, { "ZCARD", "zset" }, { "HLEN", "hash" }, { "XLEN", "stream" } };
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		if (strcmp(cmd, counts[i].cmd))
			continue;
		if (mode == F_BAD_INT) {
			kit_send_str(c->fd, ":12abc\r\n");
		} else if (mode == F_STATUS) {
			kit_send_str(c->fd, "+OK\r\n");
		} else if (k < 0) {
			kit_send_str(c->fd, ":0\r\n");
		} else if (strcmp(type, counts[i].type)) {
			kit_send_str(c->fd, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
		} else {
			snprintf(out, sizeof out, ":%d\r\n", len);
			kit_send_str(c->fd, out);
		}
		return;
	}
	if (!strcmp(cmd, "XPENDING")) {
		if (k >= 0 && strcmp(type, "stream"))
			kit_send_str(c->fd, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
		else if (k < 0 || strcmp(argv[2], "workers")) {
			snprintf(out, sizeof out, "-NOGROUP No such key '%.100s' or consumer group '%.100s' in XPENDING command\r\n",
				 argv[1], argv[2]);
			kit_send_str(c->fd, out);
		} else
			kit_send_str(c->fd, "*4\r\n:4\r\n$3\r\n1-0\r\n$3\r\n4-0\r\n*1\r\n*2\r\n$2\r\nc1\r\n$1\r\n4\r\n");
		return;
	}
	if (!strcmp(cmd, "XINFO")) {
		if (k < 0)
			kit_send_str(c->fd, "-ERR no such key\r\n");
		else if (strcmp(type, "stream"))
			kit_send_str(c->fd, "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n");
		else if (mode == F_OLD_REDIS)
			kit_send_str(c->fd, "*1\r\n*8\r\n$4\r\nname\r\n$7\r\nworkers\r\n$9\r\nconsumers\r\n:1\r\n"
					"$7\r\npending\r\n:4\r\n$17\r\nlast-delivered-id\r\n$3\r\n6-0\r\n");
		else
			kit_send_str(c->fd, "*2\r\n"
					"*12\r\n$4\r\nname\r\n$7\r\nworkers\r\n$9\r\nconsumers\r\n:1\r\n$7\r\npending\r\n:4\r\n"
					"$17\r\nlast-delivered-id\r\n$3\r\n6-0\r\n$12\r\nentries-read\r\n:6\r\n$3\r\nlag\r\n:3\r\n"
					"*12\r\n$4\r\nname\r\n$5\r\nnolag\r\n$9\r\nconsumers\r\n:0\r\n$7\r\npending\r\n:0\r\n"
					"$17\r\nlast-delivered-id\r\n$3\r\n2-0\r\n$12\r\nentries-read\r\n$-1\r\n$3\r\nlag\r\n$-1\r\n");
		return;
	}
	snprintf(out, sizeof out, "-ERR unknown command '%.100s'\r\n", cmd);
	kit_send_str(c->fd, out);
}

/* Answers one command; 1 when the connection is to be closed. */
static int answer(struct fconn *c, char argv[8][256], int argc)
{
	struct fake *f = c->f;
	char line[8 * 256];
	size_t used = 0;
	for (int i = 0; i < argc; i++)
		used += (size_t)snprintf(line + used, sizeof line - used, "%s%.250s", i ? " " : "", argv[i]);
	kit_tcp_logf(&f->tcp, "%s", line);
	pthread_mutex_lock(&f->tcp.mu);
	f->commands++;
	enum fake_mode mode = (enum fake_mode)f->tcp.mode;
	pthread_mutex_unlock(&f->tcp.mu);
	if (kit_tcp_drop(&f->tcp))
		return 1;
	int is_auth = !strcmp(argv[0], "AUTH") || !strcmp(argv[0], "SELECT");
	switch (mode) {
	case F_GARBAGE:
		kit_send_str(c->fd, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
		return 1;
	case F_CLOSE:
		return 1;
	case F_HANG:
		kit_sink(c->fd);
		return 1;
	case F_HUGE_BULK: {
		if (is_auth)
			break;
		char head[64];
		size_t total = REDIS_ANSWER_MAX * 2;
		snprintf(head, sizeof head, "$%zu\r\n", total);
		kit_send_str(c->fd, head);
		char *chunk = malloc(65536);
		memset(chunk, 'x', 65536);
		for (size_t sent = 0; sent < total; sent += 65536)
			if (kit_send_all(c->fd, chunk, 65536))
				break;
		free(chunk);
		return 1;
	}
	case F_HUGE_ARRAY:
		if (is_auth)
			break;
		kit_send_str(c->fd, "*1000000000\r\n");
		return 0;
	case F_NEG_ARRAY:
		if (is_auth)
			break;
		kit_send_str(c->fd, "*-5\r\n");
		return 0;
	case F_LOADING:
		kit_send_str(c->fd, "-LOADING Redis is loading the dataset in memory\r\n");
		return 0;
	case F_MOVED:
		kit_send_str(c->fd, "-MOVED 3999 127.0.0.1:6381\r\n");
		return 0;
	default:
		break;
	}
	answer_normal(c, argv, argc, mode);
	return 0;
}

static void fake_serve(struct kit_tcp *t, int fd)
{
	struct fconn conn = { .f = (struct fake *)t, .fd = fd };
	struct fconn *c = &conn;
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
				kit_send_str(c->fd, "-ERR Protocol error\r\n");
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
}

static void fake_start(struct fake *f)
{
	memset(f, 0, sizeof *f);
	kit_tcp_start(&f->tcp, 0, fake_serve);
}

/* ======================================================================== */
/* the scaler through its descriptor                                        */

static void open_at(struct kit *k, struct fake *f, const char *extra)
{
	char json[2048], err[1024];
	snprintf(json, sizeof json, "{\"address\": \"127.0.0.1:%d\"%s%s}", f->tcp.port, extra ? ", " : "",
		 extra ? extra : "");
	if (kit_open(k, T, json, NULL, err, sizeof err))
		fail_msg("open failed: %s", err);
}

/* Expects fetch of params to fail with rc and exactly the message want
 * (where the address is written as ADDR). */
static void want_error(struct kit *k, struct fake *f, const char *params, int rc_want, const char *want)
{
	char addr[64];
	snprintf(addr, sizeof addr, "'127.0.0.1:%d'", f->tcp.port);
	kit_want_error(k, params, rc_want, addr, want);
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
	kit_load_fails(T, 1, "sources.queue", json, want);
}

static void expect_metric_error(const char *json, const char *want)
{
	kit_load_fails(T, 0, "metrics[0].params", json, want);
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
		struct kit s;
		char err[1024];
		if (kit_open(&s, T, bad_sources[i].json, NULL, err, sizeof err) == 0)
			fail_msg("'%s' opened", bad_sources[i].json);
		assert_string_equal(err, bad_sources[i].want);
		kit_close(&s);
		/* check_source says the same at load (-2: it did not load) */
		assert_int_equal(kit_check_source(T, bad_sources[i].json, err, sizeof err), -1);
		assert_string_equal(err, bad_sources[i].want);
	}
	/* the good forms */
	static const char *const good[] = {
		"{\"address\": \"127.0.0.1:6379\"}", "{\"address\": \"[::1]:6379\"}", "{\"host\": \"redis.default.svc\"}",
		"{\"host\": \"r\", \"port\": 6380, \"databaseIndex\": 15}",
		"{\"address\": \"r:1\", \"enableTLS\": false, \"unsafeSsl\": \"false\"}",
		"{\"address\": \"r:1\", \"username\": \"u\", \"passwordFile\": \"/p\"}",
	};
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		struct kit s;
		char err[1024];
		if (kit_open(&s, T, good[i], NULL, err, sizeof err))
			fail_msg("'%s' did not open: %s", good[i], err);
		kit_close(&s);
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
		assert_int_equal(kit_check(T, NULL, bad_metrics[i].json, err, sizeof err), -1); /* -2: it did not load */
		assert_string_equal(err, bad_metrics[i].want);
	}
	char err[1024];
	void *m = kit_load_metric(T, "{\"listName\": \"q\"}", "metrics[0].params", err, sizeof err);
	struct sw_request req = { .params = m, .query = "LLEN q" };
	assert_int_equal(T->check_metric(NULL, &req, err, sizeof err), -1);
	assert_string_equal(err, "query: a redis source takes params, not a query");
	req.query = NULL;
	assert_int_equal(T->check_metric(NULL, &req, err, sizeof err), 0);
	kit_free_metric(T, m);
	static const char *const good_metrics[] = {
		"{\"listName\": \"q\", \"type\": \"zset\"}", "{\"stream\": \"s\"}", "{\"stream\": \"s\", \"mode\": \"length\"}",
		"{\"stream\": \"s\", \"consumerGroup\": \"g\"}", "{\"stream\": \"s\", \"consumerGroup\": \"g\", \"mode\": \"lag\"}",
	};
	for (size_t i = 0; i < sizeof good_metrics / sizeof good_metrics[0]; i++)
		if (kit_check(T, NULL, good_metrics[i], err, sizeof err))
			fail_msg("%s: %s", good_metrics[i], err);
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
	struct kit s;
	char log[8192];
	fake_start(&f);
	open_at(&s, &f, NULL);
	kit_want_value(&s, "{\"listName\": \"orders\"}", 37);
	kit_tcp_log(&f.tcp, log, sizeof log, 1);
	assert_string_equal(log, "TYPE orders\nLLEN orders\n"); /* one round trip for a list */
	kit_want_value(&s, "{\"listName\": \"users\"}", 5);
	kit_tcp_log(&f.tcp, log, sizeof log, 1);
	assert_string_equal(log, "TYPE users\nLLEN users\nSCARD users\n");
	kit_want_value(&s, "{\"listName\": \"board\"}", 3);
	kit_want_value(&s, "{\"listName\": \"fields\"}", 2);
	kit_want_value(&s, "{\"listName\": \"nothing-here\"}", 0);
	kit_tcp_log(&f.tcp, log, sizeof log, 1);
	assert_string_equal(log, "TYPE board\nLLEN board\nZCARD board\nTYPE fields\nLLEN fields\nHLEN fields\n"
				 "TYPE nothing-here\nLLEN nothing-here\n");
	kit_want_value(&s, "{\"listName\": \"orders\", \"type\": \"list\"}", 37);
	kit_want_value(&s, "{\"listName\": \"users\", \"type\": \"set\"}", 5);
	kit_want_value(&s, "{\"listName\": \"board\", \"type\": \"zset\"}", 3);
	kit_want_value(&s, "{\"listName\": \"fields\", \"type\": \"hash\"}", 2);
	kit_want_value(&s, "{\"listName\": \"nothing-here\", \"type\": \"set\"}", 0);
	kit_tcp_log(&f.tcp, log, sizeof log, 1);
	assert_string_equal(log, "LLEN orders\nSCARD users\nZCARD board\nHLEN fields\nSCARD nothing-here\n");
	assert_int_equal(kit_tcp_accepted(&f.tcp), 1); /* one connection for all of them */
	kit_close(&s);
	kit_tcp_stop(&f.tcp);
}

static void test_wrong_types(void **st)
{
	struct fake f;
	struct kit s;
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
	kit_want_value(&s, "{\"listName\": \"orders\"}", 37);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 1);
	kit_close(&s);
	kit_tcp_stop(&f.tcp);
}

static void test_streams(void **st)
{
	struct fake f;
	struct kit s;
	char log[8192];
	fake_start(&f);
	open_at(&s, &f, NULL);
	kit_want_value(&s, "{\"stream\": \"events\"}", 10);
	kit_want_value(&s, "{\"stream\": \"events\", \"mode\": \"length\", \"consumerGroup\": \"workers\"}", 10);
	kit_want_value(&s, "{\"stream\": \"missing\"}", 0);
	kit_want_value(&s, "{\"stream\": \"events\", \"consumerGroup\": \"workers\"}", 4);
	kit_want_value(&s, "{\"stream\": \"events\", \"consumerGroup\": \"workers\", \"mode\": \"pending\"}", 4);
	kit_want_value(&s, "{\"stream\": \"events\", \"consumerGroup\": \"workers\", \"mode\": \"lag\"}", 3);
	kit_tcp_log(&f.tcp, log, sizeof log, 1);
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
	kit_tcp_set_mode(&f.tcp, F_OLD_REDIS);
	want_error(&s, &f, "{\"stream\": \"events\", \"consumerGroup\": \"workers\", \"mode\": \"lag\"}",
		     SW_FETCH_ANSWER_ERROR,
		     "ADDR: XINFO GROUPS 'events' has no \"lag\" for group 'workers': consumer-group lag needs Redis 7 or later");
	kit_close(&s);
	kit_tcp_stop(&f.tcp);
}

/* Garbage, nothing, too much: errors with precise messages, never a 0. */
static void test_garbage_answers(void **st)
{
	struct fake f;
	struct kit s;
	fake_start(&f);
	open_at(&s, &f, NULL);
	kit_tcp_set_mode(&f.tcp, F_GARBAGE);
	want_error(&s, &f, "{\"listName\": \"orders\"}", SW_FETCH_SOURCE_ERROR,
		     "ADDR: not a Redis answer: Protocol error, got \"H\" as reply type byte");
	kit_tcp_set_mode(&f.tcp, F_CLOSE);
	want_error(&s, &f, "{\"listName\": \"orders\"}", SW_FETCH_SOURCE_ERROR, "ADDR: server closed the connection");
	kit_tcp_set_mode(&f.tcp, F_BAD_INT);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_SOURCE_ERROR,
		     "ADDR: not a Redis answer: Bad integer value");
	kit_tcp_set_mode(&f.tcp, F_STATUS);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: LLEN 'orders' answered a status 'OK', not a count");
	kit_tcp_set_mode(&f.tcp, F_NEG_ARRAY);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_SOURCE_ERROR,
		     "ADDR: not a Redis answer: Multi-bulk length out of range");
	kit_tcp_set_mode(&f.tcp, F_HUGE_ARRAY);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: answer has an array of 1000000000 elements, more than the limit of 100000");
	kit_tcp_set_mode(&f.tcp, F_HUGE_BULK);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: answer larger than 1048576 bytes");
	kit_tcp_set_mode(&f.tcp, F_LOADING);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_SOURCE_ERROR,
		     "ADDR: LLEN 'orders': LOADING Redis is loading the dataset in memory");
	kit_tcp_set_mode(&f.tcp, F_MOVED);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: LLEN 'orders': the server is part of a Redis Cluster, which this scaler does not follow "
		     "(MOVED 3999 127.0.0.1:6381)");
	/* after all that the same source is fine again */
	kit_tcp_set_mode(&f.tcp, F_NORMAL);
	kit_want_value(&s, "{\"listName\": \"orders\"}", 37);
	kit_close(&s);
	kit_tcp_stop(&f.tcp);
}

static void test_deadline(void **st)
{
	struct fake f;
	struct kit s;
	char err[1024], want[256];
	double v;
	fake_start(&f);
	kit_tcp_set_mode(&f.tcp, F_HANG);
	open_at(&s, &f, NULL);
	int64_t t0 = t_now();
	assert_int_equal(kit_fetch_value(&s, "{\"listName\": \"orders\"}", 300, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	int64_t took = t_now() - t0;
	snprintf(want, sizeof want, "'127.0.0.1:%d': no answer within 300 ms", f.tcp.port);
	assert_string_equal(err, want);
	assert_true(took >= 250);
	assert_true(took < 1900);
	/* an expired deadline fails at once, without a connection */
	int before = kit_tcp_accepted(&f.tcp);
	assert_int_equal(kit_fetch_value(&s, "{\"listName\": \"orders\"}", -1, &v, err, sizeof err),
			 SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "'127.0.0.1:%d': deadline passed before the request started", f.tcp.port);
	assert_string_equal(err, want);
	assert_int_equal(kit_tcp_accepted(&f.tcp), before);
	kit_close(&s);
	kit_tcp_stop(&f.tcp);
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
	struct kit s;
	snprintf(json, sizeof json, "{\"address\": \"127.0.0.1:%d\", \"connectTimeout\": \"200ms\"}", ntohs(a.sin_port));
	assert_int_equal(kit_open(&s, T, json, NULL, err, sizeof err), 0);
	int64_t t0 = t_now();
	assert_int_equal(kit_fetch_value(&s, "{\"listName\": \"q\"}", 5000, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	int64_t took = t_now() - t0;
	snprintf(want, sizeof want, "cannot reach '127.0.0.1:%d': no connection within 200 ms", ntohs(a.sin_port));
	assert_string_equal(err, want);
	assert_true(took >= 150 && took < 1900);
	kit_close(&s);
	for (int i = 0; i < 4; i++)
		close(fill[i]);
	close(lfd);
}

static void test_refused(void **st)
{
	int port, fd = kit_refusing_port(&port);
	char json[128], err[1024], want[256];
	double v;
	struct kit s;
	snprintf(json, sizeof json, "{\"host\": \"127.0.0.1\", \"port\": %d, \"databaseIndex\": 2}", port);
	assert_int_equal(kit_open(&s, T, json, NULL, err, sizeof err), 0);
	assert_int_equal(kit_fetch_value(&s, "{\"listName\": \"q\"}", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want, "cannot reach '127.0.0.1:%d/2': Connection refused", port);
	assert_string_equal(err, want);
	kit_close(&s);
	close(fd);
	assert_int_equal(kit_open(&s, T, "{\"address\": \"no-such-host.invalid:6379\"}", NULL, err, sizeof err), 0);
	assert_int_equal(kit_fetch_value(&s, "{\"listName\": \"q\"}", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "cannot resolve 'no-such-host.invalid': ");
	kit_close(&s);
}

/* A kept connection closed by the server is noticed before use; one that
 * dies during the exchange is re-opened once within the deadline. */
static void test_reconnect(void **st)
{
	struct fake f;
	struct kit s;
	fake_start(&f);
	open_at(&s, &f, NULL);
	kit_want_value(&s, "{\"listName\": \"orders\"}", 37);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 1);
	kit_tcp_kill_conns(&f.tcp); /* the server restarts */
	kit_want_value(&s, "{\"listName\": \"orders\"}", 37);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 2);

	kit_tcp_set_drop(&f.tcp, 1); /* the kept connection dies when the command arrives */
	kit_want_value(&s, "{\"listName\": \"orders\", \"type\": \"list\"}", 37);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 3);

	kit_tcp_set_drop(&f.tcp, 2); /* and so does the new one: only one reconnect */
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_SOURCE_ERROR,
		     "ADDR: server closed the connection");
	assert_int_equal(kit_tcp_accepted(&f.tcp), 4);
	kit_want_value(&s, "{\"listName\": \"orders\"}", 37);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 5);
	kit_close(&s);
	kit_tcp_stop(&f.tcp);
}

struct pwdir {
	struct kit_dir tmp;
	char path[320];
};

static void pwdir_init(struct pwdir *d, const char *pw)
{
	kit_dir_make(&d->tmp);
	kit_dir_file(&d->tmp, "password", d->path, sizeof d->path);
	kit_write_file(d->path, pw);
}

static void test_auth_and_rotation(void **st)
{
	struct fake f;
	struct kit s;
	struct pwdir d;
	char extra[512], log[8192], err[1024];
	fake_start(&f);
	f.password = "s3cret-one";
	pwdir_init(&d, "s3cret-one\n");

	/* no passwordFile: the server's NOAUTH, with what to do */
	open_at(&s, &f, NULL);
	want_error(&s, &f, "{\"listName\": \"orders\", \"type\": \"list\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: LLEN 'orders': the server wants a password (NOAUTH Authentication required.): set passwordFile");
	kit_close(&s);

	snprintf(extra, sizeof extra, "\"passwordFile\": \"%s\"", d.path);
	open_at(&s, &f, extra);
	kit_want_value(&s, "{\"listName\": \"orders\"}", 37);
	pthread_mutex_lock(&f.tcp.mu);
	assert_string_equal(f.last_auth, "s3cret-one");
	pthread_mutex_unlock(&f.tcp.mu);

	/* rotation: the server and the file change; the next connection uses the new one */
	pthread_mutex_lock(&f.tcp.mu);
	f.password = "s3cret-two";
	pthread_mutex_unlock(&f.tcp.mu);
	kit_write_file(d.path, "s3cret-two");
	kit_want_value(&s, "{\"listName\": \"orders\"}", 37); /* the kept connection stays authenticated */
	kit_tcp_kill_conns(&f.tcp);
	kit_want_value(&s, "{\"listName\": \"orders\"}", 37);
	pthread_mutex_lock(&f.tcp.mu);
	assert_string_equal(f.last_auth, "s3cret-two");
	pthread_mutex_unlock(&f.tcp.mu);

	/* a wrong password: the server's message, never the password */
	kit_write_file(d.path, "wrong-pw");
	kit_tcp_kill_conns(&f.tcp);
	want_error(&s, &f, "{\"listName\": \"orders\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: authentication failed: WRONGPASS invalid username-password pair or user is disabled.");
	pthread_mutex_lock(&f.tcp.mu);
	f.echo_auth = 1;
	pthread_mutex_unlock(&f.tcp.mu);
	want_error(&s, &f, "{\"listName\": \"orders\"}", SW_FETCH_ANSWER_ERROR,
		     "ADDR: authentication failed: ERR wrong password '***'");

	(void)err;
	kit_close(&s);
	kit_dir_remove(&d.tmp);

	/* an ACL user and a database */
	pwdir_init(&d, "acl-pw");
	pthread_mutex_lock(&f.tcp.mu);
	f.password = "acl-pw";
	f.username = "scaler";
	f.echo_auth = 0;
	f.tcp.log[0] = 0;
	pthread_mutex_unlock(&f.tcp.mu);
	snprintf(extra, sizeof extra, "\"username\": \"scaler\", \"passwordFile\": \"%s\", \"databaseIndex\": 3", d.path);
	open_at(&s, &f, extra);
	kit_want_value(&s, "{\"listName\": \"jobs\"}", 7);
	kit_tcp_log(&f.tcp, log, sizeof log, 1);
	assert_string_equal(log, "AUTH scaler acl-pw\nSELECT 3\nTYPE jobs\nLLEN jobs\n");
	kit_close(&s);
	kit_dir_remove(&d.tmp);
	kit_tcp_stop(&f.tcp);
}

static void test_password_file_errors(void **st)
{
	struct fake f;
	struct kit s;
	struct pwdir d;
	char extra[512], want[1024], err[1024];
	double v;
	fake_start(&f);
	f.password = "x";
	pwdir_init(&d, "\n");
	snprintf(extra, sizeof extra, "\"passwordFile\": \"%s\"", d.path);
	open_at(&s, &f, extra);
	assert_int_equal(kit_fetch_value(&s, "{\"listName\": \"orders\"}", 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "passwordFile: '%s' is empty", d.path);
	assert_string_equal(err, want);
	unlink(d.path);
	assert_int_equal(kit_fetch_value(&s, "{\"listName\": \"orders\"}", 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "passwordFile: cannot read '%s': No such file or directory", d.path);
	assert_string_equal(err, want);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 0); /* the password is read before connecting */
	kit_close(&s);
	kit_dir_remove(&d.tmp);
	kit_tcp_stop(&f.tcp);
}

/* databaseIndex 15 passes the table; a server with fewer databases
 * (here 8) refuses SELECT: an answer error, the connection dropped. */
static void test_select_refused(void **st)
{
	struct fake f;
	struct kit s;
	fake_start(&f);
	open_at(&s, &f, "\"databaseIndex\": 15");
	char err[1024], want[256];
	double v;
	assert_int_equal(kit_fetch_value(&s, "{\"listName\": \"orders\"}", 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "'127.0.0.1:%d/15': SELECT 15 failed: ERR DB index is out of range", f.tcp.port);
	assert_string_equal(err, want);
	kit_close(&s);
	open_at(&s, &f, "\"databaseIndex\": 7");
	assert_int_equal(kit_fetch_value(&s, "{\"listName\": \"orders\"}", 0, &v, err, sizeof err), 0);
	assert_true(v == 0); /* database 7 of the fake is empty */
	kit_close(&s);
	kit_tcp_stop(&f.tcp);
}

int main(int argc, char **argv)
{
	/* SIGPIPE keeps its default: a write of the scaler to a dead peer that
	 * raised it would kill this test (the fake sends with MSG_NOSIGNAL) */
	static const struct kit_driver_form form = { "value ", "value ", NULL };
	if (argc > 1)
		return kit_driver_run(T, &form, argc, argv);
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
