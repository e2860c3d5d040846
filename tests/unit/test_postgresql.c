/*
 * test_postgresql.c — the PostgreSQL scaler.
 *
 * Parameter cases load JSON through the real params_load and check the exact
 * messages. Value cases call postgresql_parse_value. Transport cases run the
 * scaler through its descriptor against a small server on 127.0.0.1 port 0
 * (built on the TCP server of tests/unit/scaler_testkit.h) that speaks
 * enough of the PostgreSQL protocol v3 for libpq: startup, cleartext
 * password, simple and extended queries with the rows, columns, NULLs and
 * errors each test asks for; or that answers garbage, closes the
 * connection, or hangs.
 *
 * With arguments the binary is a driver for tests/integration/test_postgresql.sh
 * (see scaler_testkit.h):
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

#include "scaler_testkit.h"

#include "postgresql.h"

static const struct sw_scaler_type *T = &scaler_postgresql;

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

/* Logs simple and parsed queries, one a line; tcp.drop_next drops simple
 * queries (closing their connection). */
struct fake {
	struct kit_tcp tcp; /* its mode is an enum fake_mode; its mutex guards the rest */
	/* the answer to the extended query */
	int ncols;
	unsigned int oids[FK_COLS];
	int nrows;
	const char *cells[FK_COLS]; /* the same cells in every row; NULL = SQL NULL */
	const char *error_state;    /* answer with this SQLSTATE ... */
	const char *error_msg;      /* ... and message instead */
	const char *command_tag;    /* answer as a command without rows (e.g. "UPDATE 0") */
	const char *password;       /* cleartext password required when set */
	int fatal_on_kill;          /* fake_kill_conns sends FATAL 57P01 first, as a shutdown does */
	char last_password[256];
};

struct fconn {
	struct fake *f;
	int fd;
};

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

/* Startup; 0 when the connection is ready for queries. */
static int serve_startup(struct fconn *c, enum fake_mode mode)
{
	struct fake *f = c->f;
	char body[4096];
	for (;;) {
		uint32_t len;
		if (kit_recv_all(c->fd, &len, 4))
			return -1;
		len = ntohl(len);
		if (len < 8 || len - 4 > sizeof body || kit_recv_all(c->fd, body, len - 4))
			return -1;
		uint32_t code;
		memcpy(&code, body, 4);
		code = ntohl(code);
		if (code == 80877103 || code == 80877104) { /* SSLRequest, GSSENCRequest */
			if (kit_send_all(c->fd, "N", 1))
				return -1;
			continue;
		}
		break;
	}
	if (mode == F_STARTUP_GARBAGE) {
		const char *g = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
		kit_send_all(c->fd, g, strlen(g));
		return -1;
	}
	if (mode == F_STARTUP_CLOSE)
		return -1;
	if (mode == F_STARTUP_HANG) {
		kit_sink(c->fd);
		return -1;
	}
	struct msg m = { 0 };
	pthread_mutex_lock(&f->tcp.mu);
	const char *pw = f->password;
	pthread_mutex_unlock(&f->tcp.mu);
	if (pw) {
		size_t at = msg_begin(&m, 'R');
		put32(&m, 3); /* cleartext password */
		msg_end(&m, at);
		kit_send_all(c->fd, m.b, m.n);
		m.n = 0;
		char type;
		uint32_t len;
		if (kit_recv_all(c->fd, &type, 1) || kit_recv_all(c->fd, &len, 4)) {
			free(m.b);
			return -1;
		}
		len = ntohl(len);
		if (type != 'p' || len < 5 || len - 4 > sizeof body || kit_recv_all(c->fd, body, len - 4)) {
			free(m.b);
			return -1;
		}
		body[len - 4] = 0;
		pthread_mutex_lock(&f->tcp.mu);
		snprintf(f->last_password, sizeof f->last_password, "%.200s", body);
		int good = f->password && !strcmp(body, f->password);
		pthread_mutex_unlock(&f->tcp.mu);
		if (!good) {
			add_error(&m, "FATAL", "28P01", "password authentication failed for user \"scaler\"");
			kit_send_all(c->fd, m.b, m.n);
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
	int rc = kit_send_all(c->fd, m.b, m.n);
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
	pthread_mutex_lock(&f->tcp.mu);
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
	pthread_mutex_unlock(&f->tcp.mu);
	kit_send_all(c->fd, m.b, m.n);
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
		if (kit_recv_all(c->fd, &type, 1) || kit_recv_all(c->fd, &len, 4))
			break;
		len = ntohl(len);
		if (len < 4 || len - 4 >= 65536 || kit_recv_all(c->fd, body, len - 4))
			break;
		body[len - 4] = 0;
		enum fake_mode mode = (enum fake_mode)kit_tcp_mode(&f->tcp);
		if (type == 'X')
			break;
		if (type == 'Q') {
			kit_tcp_logf(&f->tcp, "Q %s", body);
			if (kit_tcp_drop(&f->tcp))
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
			kit_send_all(c->fd, m.b, m.n);
			free(m.b);
			continue;
		}
		if (type == 'P') {
			kit_tcp_logf(&f->tcp, "P %s", body + strlen(body) + 1); /* after the statement name */
			continue;
		}
		if (type != 'S')
			continue; /* Bind, Describe, Execute: answered at Sync */
		if (mode == F_QUERY_GARBAGE) {
			kit_send_all(c->fd, "garbage garbage garbage", 23);
			break;
		}
		if (mode == F_QUERY_CLOSE)
			break;
		if (mode == F_QUERY_HANG) {
			kit_sink(c->fd);
			break;
		}
		answer_extended(c);
	}
	free(body);
}

static void fake_serve(struct kit_tcp *t, int fd)
{
	struct fconn c = { .f = (struct fake *)t, .fd = fd };
	if (serve_startup(&c, (enum fake_mode)kit_tcp_mode(t)) == 0)
		serve_queries(&c);
}

/* Answers the extended query with one column of type oid and n rows of v. */
static void fake_answer(struct fake *f, unsigned int oid, int nrows, const char *v)
{
	pthread_mutex_lock(&f->tcp.mu);
	f->ncols = 1;
	f->oids[0] = oid;
	f->nrows = nrows;
	f->cells[0] = v;
	f->error_state = NULL;
	f->command_tag = NULL;
	pthread_mutex_unlock(&f->tcp.mu);
}

static void fake_start(struct fake *f)
{
	memset(f, 0, sizeof *f);
	kit_tcp_start(&f->tcp, 0, fake_serve);
	fake_answer(f, 20, 1, "37");
}

/* Closes every open connection as a restarted server would (with its
 * FATAL 57P01 first when fatal_on_kill); the listener stays. */
static void fake_kill_conns(struct fake *f)
{
	pthread_mutex_lock(&f->tcp.mu);
	if (f->fatal_on_kill) {
		struct msg m = { 0 };
		add_error(&m, "FATAL", "57P01", "terminating connection due to administrator command");
		for (int i = 0; i < f->tcp.nconns; i++)
			kit_send_all(f->tcp.fds[i], m.b, m.n);
		free(m.b);
	}
	pthread_mutex_unlock(&f->tcp.mu);
	kit_tcp_kill_conns(&f->tcp);
}

/* ======================================================================== */
/* the scaler through its descriptor                                        */

static const char *const JOBS = "{\"query\": \"SELECT count(*) FROM jobs\"}";

/* One fetch of query. */
static int source_fetch(struct kit *k, const char *query, int64_t budget_ms, double *v, char *err, size_t errlen)
{
	char *json = kit_json_member("query", query);
	int rc = kit_fetch_value(k, json, budget_ms, v, err, errlen);
	free(json);
	return rc;
}

static void open_at(struct kit *k, struct fake *f, const char *extra)
{
	char json[2048], err[1024];
	snprintf(json, sizeof json,
		 "{\"host\": \"127.0.0.1\", \"port\": %d, \"userName\": \"scaler\", \"dbName\": \"app\", "
		 "\"sslmode\": \"disable\"%s%s}",
		 f->tcp.port, extra ? ", " : "", extra ? extra : "");
	if (kit_open(k, T, json, NULL, err, sizeof err))
		fail_msg("open failed: %s", err);
}

static void want_value(struct kit *k, double want)
{
	kit_want_value(k, JOBS, want);
}

/* Expects a fetch to fail with rc and exactly want, where ADDR stands for
 * the source as messages show it. */
static void want_error(struct kit *k, struct fake *f, int rc_want, const char *want)
{
	char addr[64];
	snprintf(addr, sizeof addr, "'127.0.0.1:%d/app'", f->tcp.port);
	kit_want_error(k, JOBS, rc_want, addr, want);
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
	kit_load_fails(T, 1, "sources.db", json, want);
}

static void expect_metric_error(const char *json, const char *want)
{
	kit_load_fails(T, 0, "metrics[0].params", json, want);
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
		struct kit s;
		char err[1024];
		if (kit_open(&s, T, bad_sources[i].json, NULL, err, sizeof err) == 0)
			fail_msg("'%s' opened", bad_sources[i].json);
		assert_string_equal(err, bad_sources[i].want);
		assert_lacks(err, "hunter2");
		kit_close(&s);
		/* check_source says the same at load (-2: it did not load) */
		assert_int_equal(kit_check_source(T, bad_sources[i].json, err, sizeof err), -1);
		assert_string_equal(err, bad_sources[i].want);
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
		struct kit s;
		char err[1024];
		if (kit_open(&s, T, good[i], NULL, err, sizeof err))
			fail_msg("'%s' did not open: %s", good[i], err);
		kit_close(&s);
	}
	char err[1024];
	assert_int_equal(kit_check(T, NULL, "{\"query\": \" \\n\\t \"}", err, sizeof err), -1);
	assert_string_equal(err, "params.query: must not be empty");
	void *m = kit_load_metric(T, "{\"query\": \"SELECT 1\"}", "metrics[0].params", err, sizeof err);
	assert_non_null(m);
	struct sw_request req = { .params = m, .query = "SELECT 2" };
	assert_int_equal(T->check_metric(NULL, &req, err, sizeof err), -1);
	assert_string_equal(err, "query: a postgresql source takes its SQL in params.query");
	req.query = NULL;
	assert_int_equal(T->check_metric(NULL, &req, err, sizeof err), 0);
	kit_free_metric(T, m);
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
	struct kit s;
	char log[8192], err[1024];
	double v;
	fake_start(&f);
	open_at(&s, &f, NULL);
	assert_int_equal(source_fetch(&s, "SELECT count(*) FROM jobs WHERE state = 'queued'", 5000, &v, err,
				      sizeof err),
			 0);
	assert_true(v == 37);
	kit_tcp_log(&f.tcp, log, sizeof log, 1);
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
	assert_int_equal(kit_tcp_accepted(&f.tcp), 1); /* one connection for all */
	kit_close(&s);
	kit_tcp_stop(&f.tcp);
}

static void test_answers_become_errors(void **st)
{
	struct fake f;
	struct kit s;
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
	pthread_mutex_lock(&f.tcp.mu);
	f.ncols = 2;
	f.oids[1] = 20;
	f.cells[1] = "2";
	pthread_mutex_unlock(&f.tcp.mu);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query returned 2 columns; exactly one is needed");
	pthread_mutex_lock(&f.tcp.mu);
	f.nrows = 0; /* the columns count even without rows */
	pthread_mutex_unlock(&f.tcp.mu);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query returned no rows; exactly one row is needed");
	pthread_mutex_lock(&f.tcp.mu);
	f.ncols = 0;
	f.nrows = 1;
	pthread_mutex_unlock(&f.tcp.mu);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query returned 0 columns; exactly one is needed");
	pthread_mutex_lock(&f.tcp.mu);
	f.command_tag = "UPDATE 0";
	pthread_mutex_unlock(&f.tcp.mu);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR,
		   "ADDR: query returned no result set (UPDATE 0); a SELECT returning one number is needed");
	pthread_mutex_lock(&f.tcp.mu);
	f.command_tag = NULL;
	f.error_state = "42P01";
	f.error_msg = "relation \"jobs\" does not exist";
	pthread_mutex_unlock(&f.tcp.mu);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, "ADDR: query failed (42P01): relation \"jobs\" does not exist");
	pthread_mutex_lock(&f.tcp.mu);
	f.error_state = "57014";
	f.error_msg = "canceling statement due to statement timeout";
	pthread_mutex_unlock(&f.tcp.mu);
	want_error(&s, &f, SW_FETCH_SOURCE_ERROR,
		   "ADDR: query canceled after its statement_timeout (canceling statement due to statement timeout)");
	pthread_mutex_lock(&f.tcp.mu);
	f.error_state = "53300";
	f.error_msg = "sorry, too many clients already";
	pthread_mutex_unlock(&f.tcp.mu);
	want_error(&s, &f, SW_FETCH_SOURCE_ERROR, "ADDR: query failed (53300): sorry, too many clients already");
	/* all of these on the one connection, which is still fine */
	fake_answer(&f, 20, 1, "37");
	want_value(&s, 37);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 1);

	/* more rows than are worth reading: the connection goes */
	fake_answer(&f, 20, POSTGRESQL_MAX_ROWS + 500, "1");
	char want[128];
	snprintf(want, sizeof want, "ADDR: query returned more than %d rows; exactly one row is needed", POSTGRESQL_MAX_ROWS);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, want);
	fake_answer(&f, 20, POSTGRESQL_MAX_ROWS, "1");
	snprintf(want, sizeof want, "ADDR: query returned %d rows; exactly one row is needed", POSTGRESQL_MAX_ROWS);
	want_error(&s, &f, SW_FETCH_ANSWER_ERROR, want);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 2);
	kit_close(&s);
	kit_tcp_stop(&f.tcp);
}

/* Garbage, nothing, or silence from the server: errors, never a 0. */
static void test_garbage_and_silence(void **st)
{
	struct fake f;
	struct kit s;
	char err[1024], pre[128];
	double v;
	fake_start(&f);
	open_at(&s, &f, NULL);
	snprintf(pre, sizeof pre, "cannot connect to '127.0.0.1:%d/app': connection to server at \"127.0.0.1\", port %d failed: ",
		 f.tcp.port, f.tcp.port);

	kit_tcp_set_mode(&f.tcp, F_STARTUP_GARBAGE);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, pre);
	assert_contains(err, "expected authentication request from server, but received H");

	kit_tcp_set_mode(&f.tcp, F_STARTUP_CLOSE);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, pre);
	assert_contains(err, "server closed the connection unexpectedly");

	kit_tcp_set_mode(&f.tcp, F_STARTUP_HANG);
	int64_t t0 = t_now();
	assert_int_equal(source_fetch(&s, "SELECT 1", 300, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	int64_t took = t_now() - t0;
	char want[256];
	snprintf(want, sizeof want, "cannot connect to '127.0.0.1:%d/app': no connection within 300 ms", f.tcp.port);
	assert_string_equal(err, want);
	assert_true(took >= 250 && took < 1900);

	kit_tcp_set_mode(&f.tcp, F_QUERY_GARBAGE);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want, "'127.0.0.1:%d/app': connection lost: ", f.tcp.port);
	assert_contains(err, want);

	kit_tcp_set_mode(&f.tcp, F_QUERY_CLOSE);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, want);
	assert_contains(err, "server closed the connection unexpectedly");

	kit_tcp_set_mode(&f.tcp, F_QUERY_HANG);
	t0 = t_now();
	assert_int_equal(source_fetch(&s, "SELECT 1", 300, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	took = t_now() - t0;
	snprintf(want, sizeof want, "'127.0.0.1:%d/app': no answer within 300 ms", f.tcp.port);
	assert_string_equal(err, want);
	assert_true(took >= 250 && took < 1900);

	/* an expired deadline fails at once, without a connection */
	int before = kit_tcp_accepted(&f.tcp);
	assert_int_equal(source_fetch(&s, "SELECT 1", -1, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "'127.0.0.1:%d/app': deadline passed before the request started", f.tcp.port);
	assert_string_equal(err, want);
	assert_int_equal(kit_tcp_accepted(&f.tcp), before);

	kit_tcp_set_mode(&f.tcp, F_NORMAL);
	want_value(&s, 37);
	kit_close(&s);
	kit_tcp_stop(&f.tcp);
}

static void test_refused(void **st)
{
	int port, fd = kit_refusing_port(&port);
	char json[256], err[1024], want[512];
	double v;
	struct kit s;
	snprintf(json, sizeof json, "{\"connection\": \"host=127.0.0.1 port=%d dbname=app user=u password=hunter2\"}", port);
	assert_int_equal(kit_open(&s, T, json, NULL, err, sizeof err), 0);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want,
		 "cannot connect to '127.0.0.1:%d/app': connection to server at \"127.0.0.1\", port %d failed: "
		 "Connection refused",
		 port, port);
	assert_string_equal(err, want);
	kit_close(&s);
	close(fd);
}

/* A kept connection that the server closed is noticed before use (with
 * and without the FATAL a shutdown sends); one that dies during the
 * exchange is re-opened once within the deadline. */
static void test_reconnect(void **st)
{
	struct fake f;
	struct kit s;
	fake_start(&f);
	open_at(&s, &f, NULL);
	want_value(&s, 37);
	fake_kill_conns(&f);
	want_value(&s, 37);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 2);
	pthread_mutex_lock(&f.tcp.mu);
	f.fatal_on_kill = 1;
	pthread_mutex_unlock(&f.tcp.mu);
	fake_kill_conns(&f);
	want_value(&s, 37);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 3);

	kit_tcp_set_drop(&f.tcp, 1);
	want_value(&s, 37);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 4);

	kit_tcp_set_drop(&f.tcp, 2);
	char err[1024], want[256];
	double v;
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want, "'127.0.0.1:%d/app': connection lost: server closed the connection unexpectedly",
		 f.tcp.port);
	assert_contains(err, want);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 5);
	want_value(&s, 37);
	assert_int_equal(kit_tcp_accepted(&f.tcp), 6);
	kit_close(&s);
	kit_tcp_stop(&f.tcp);
}

struct tmpdir {
	struct kit_dir tmp;
	char pw[320];
	char conn[320];
};

static void tmpdir_init(struct tmpdir *d)
{
	kit_dir_make(&d->tmp);
	kit_dir_file(&d->tmp, "password", d->pw, sizeof d->pw);
	kit_dir_file(&d->tmp, "connection", d->conn, sizeof d->conn);
}

static void test_password_file_and_rotation(void **st)
{
	struct fake f;
	struct kit s;
	struct tmpdir d;
	char extra[512], err[1024], want[512];
	double v;
	fake_start(&f);
	f.password = "pg-secret-1";
	tmpdir_init(&d);
	kit_write_file(d.pw, "pg-secret-1\n");
	snprintf(extra, sizeof extra, "\"passwordFile\": \"%s\"", d.pw);
	open_at(&s, &f, extra);
	want_value(&s, 37);
	pthread_mutex_lock(&f.tcp.mu);
	assert_string_equal(f.last_password, "pg-secret-1");
	f.password = "pg-secret-2";
	pthread_mutex_unlock(&f.tcp.mu);
	kit_write_file(d.pw, "pg-secret-2");
	want_value(&s, 37); /* the kept connection is still logged in */
	fake_kill_conns(&f);
	want_value(&s, 37);
	pthread_mutex_lock(&f.tcp.mu);
	assert_string_equal(f.last_password, "pg-secret-2");
	pthread_mutex_unlock(&f.tcp.mu);

	kit_write_file(d.pw, "wrong-password");
	fake_kill_conns(&f);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want,
		 "cannot connect to '127.0.0.1:%d/app': connection to server at \"127.0.0.1\", port %d failed: "
		 "FATAL:  password authentication failed for user \"scaler\"",
		 f.tcp.port, f.tcp.port);
	assert_string_equal(err, want);
	assert_lacks(err, "wrong-password");

	kit_write_file(d.pw, "\n");
	int before = kit_tcp_accepted(&f.tcp);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "passwordFile: '%s' is empty", d.pw);
	assert_string_equal(err, want);
	unlink(d.pw);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "passwordFile: cannot read '%s': No such file or directory", d.pw);
	assert_string_equal(err, want);
	assert_int_equal(kit_tcp_accepted(&f.tcp), before); /* the file is read before connecting */
	kit_close(&s);

	/* the password file with a connection string: the file wins */
	kit_write_file(d.pw, "pg-secret-2");
	char json[1024];
	snprintf(json, sizeof json,
		 "{\"connection\": \"postgresql://scaler:stale@127.0.0.1:%d/app?sslmode=disable\", \"passwordFile\": \"%s\"}",
		 f.tcp.port, d.pw);
	assert_int_equal(kit_open(&s, T, json, NULL, err, sizeof err), 0);
	want_value(&s, 37);
	kit_close(&s);
	kit_dir_remove(&d.tmp);
	kit_tcp_stop(&f.tcp);
}

static void test_connection_file(void **st)
{
	struct fake f;
	struct kit s;
	struct tmpdir d;
	char json[512], text[512], err[1024], want[512];
	double v;
	fake_start(&f);
	f.password = "in-the-file";
	tmpdir_init(&d);
	snprintf(text, sizeof text, "host=127.0.0.1 port=%d dbname=app user=scaler sslmode=disable password=in-the-file\n",
		 f.tcp.port);
	kit_write_file(d.conn, text);
	snprintf(json, sizeof json, "{\"connectionFile\": \"%s\"}", d.conn);
	assert_int_equal(kit_open(&s, T, json, NULL, err, sizeof err), 0);
	want_value(&s, 37);

	/* rotated: read again at the next connection */
	pthread_mutex_lock(&f.tcp.mu);
	f.password = "rotated";
	pthread_mutex_unlock(&f.tcp.mu);
	snprintf(text, sizeof text, "host=127.0.0.1 port=%d dbname=app user=scaler sslmode=disable password=rotated", f.tcp.port);
	kit_write_file(d.conn, text);
	fake_kill_conns(&f);
	want_value(&s, 37);

	kit_write_file(d.conn, "host=127.0.0.1 password=rotated oops");
	fake_kill_conns(&f);
	assert_int_equal(source_fetch(&s, "SELECT 1", 0, &v, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want,
		 "connectionFile: '%s' is not a libpq connection string: missing \"=\" after \"***\" in connection info string",
		 d.conn);
	assert_string_equal(err, want);
	assert_lacks(err, "rotated");
	kit_close(&s);
	kit_dir_remove(&d.tmp);
	kit_tcp_stop(&f.tcp);
}

int main(int argc, char **argv)
{
	static const struct kit_driver_form form = { "value ", "value ", "query" };
	if (argc > 1)
		return kit_driver_run(T, &form, argc, argv);
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
