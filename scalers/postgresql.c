/*
 * postgresql.c — the PostgreSQL scaler (see postgresql.h).
 *
 * libpq is used asynchronously (PQconnectStartParams/PQconnectPoll,
 * PQsendQuery/PQgetResult in non-blocking mode) so every wait is a poll()
 * that ends at the fetch deadline. The query runs in single-row mode: a
 * query that returns a million rows is counted up to a cap, not buffered.
 */
#include "postgresql.h"

#include "fdwait.h"

#include "dl_pq.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_SOURCE SW_FETCH_SOURCE_ERROR
#define ERR_ANSWER SW_FETCH_ANSWER_ERROR
#define ERR_LOST (-3) /* the connection is gone: worth one reconnect */

struct pg_params {
	char *connection;
	char *connection_file;
	char *host;
	int64_t port;
	char *user_name;
	char *db_name;
	char *sslmode;
	char *password_file;
	char *sslrootcert;
	char *sslcert;
	char *sslkey;
	int64_t connect_timeout_ms;
	char *application_name;
};

struct pg_metric {
	char *query;
};

struct pg_state {
	const struct sw_host *host;
	PGconn *conn;
	int broken;        /* the connection is unusable: drop it after this fetch */
	char shown[300];   /* 'host:port/db' as messages show it */
	int64_t budget_ms; /* the current fetch's time, for messages */
};

/* ------------------------------------------------------------------------ */
/* messages                                                                 */

/* libpq's multi-line messages on one line: hint lines (starting with a
 * tab) dropped, lines joined with "; ", trailing blanks gone. */
static void one_line(const char *msg, char *out, size_t n)
{
	size_t o = 0;
	const char *p = msg ? msg : "";
	if (!n)
		return;
	out[0] = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\r'))
			len--;
		if (len && p[0] != '\t') {
			if (o && o + 2 < n) {
				memcpy(out + o, "; ", 2);
				o += 2;
			}
			for (size_t i = 0; i < len && o + 1 < n; i++) {
				unsigned char ch = (unsigned char)p[i];
				out[o++] = ch < 0x20 ? ' ' : (char)ch;
			}
			out[o] = 0;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
}

/* Whether a part libpq quoted is its own text (a connection keyword, or
 * one punctuation mark such as "=" or "]") rather than the user's. */
static int safe_quote(const char *q, size_t len)
{
	if (len == 1 && strchr("=]@:/?&", q[0]))
		return 1;
	PQconninfoOption *all = PQconndefaults();
	int safe = 0;
	for (PQconninfoOption *o = all; o && o->keyword && !safe; o++)
		safe = strlen(o->keyword) == len && !memcmp(o->keyword, q, len);
	PQconninfoFree(all);
	return safe;
}

/* Copies a libpq message about a connection string with every quoted
 * part starred unless it is a keyword or "=": PQconninfoParse quotes what
 * it could not read, which may be a password. */
static void starred_quotes(const char *msg, char *out, size_t n)
{
	char line[512];
	one_line(msg, line, sizeof line);
	size_t o = 0;
	for (const char *p = line; *p && o + 4 < n;) {
		const char *close = *p == '"' ? strchr(p + 1, '"') : NULL;
		if (!close) {
			out[o++] = *p++;
			continue;
		}
		size_t len = (size_t)(close - p - 1);
		int keep = safe_quote(p + 1, len);
		const char *text = keep ? p + 1 : "***";
		size_t tl = keep ? len : 3;
		if (o + tl + 2 >= n)
			break;
		out[o++] = '"';
		memcpy(out + o, text, tl);
		o += tl;
		out[o++] = '"';
		p = close + 1;
	}
	if (n)
		out[o < n ? o : n - 1] = 0;
}

static const char *type_name(unsigned int oid)
{
	switch (oid) {
	case 16:
		return "boolean";
	case 17:
		return "bytea";
	case 18:
		return "char";
	case 19:
		return "name";
	case 20:
		return "bigint";
	case 21:
		return "smallint";
	case 23:
		return "integer";
	case 25:
		return "text";
	case 26:
		return "oid";
	case 114:
		return "json";
	case 700:
		return "real";
	case 701:
		return "double precision";
	case 790:
		return "money";
	case 1042:
		return "character";
	case 1043:
		return "character varying";
	case 1082:
		return "date";
	case 1083:
		return "time";
	case 1114:
		return "timestamp";
	case 1184:
		return "timestamp with time zone";
	case 1186:
		return "interval";
	case 1700:
		return "numeric";
	case 2950:
		return "uuid";
	case 3802:
		return "jsonb";
	}
	return NULL;
}

int postgresql_parse_value(const char *text, size_t len, unsigned int oid, double *out, char *err, size_t errlen)
{
	char tn[32];
	const char *t = type_name(oid);
	if (!t) {
		snprintf(tn, sizeof tn, "type oid %u", oid);
		t = tn;
	}
	if (len > POSTGRESQL_VALUE_MAX) {
		snprintf(err, errlen, "query returned a value of %zu bytes (%s), not a number", len, t);
		return -1;
	}
	char buf[POSTGRESQL_VALUE_MAX + 1];
	memcpy(buf, text, len);
	buf[len] = 0;
	char shown[120];
	size_t o = 0;
	for (size_t i = 0; i < len && o + 4 < sizeof shown; i++)
		shown[o++] = ((unsigned char)buf[i] >= 0x20 && (unsigned char)buf[i] < 0x7f) ? buf[i] : '?';
	if (o < len) {
		memcpy(shown + o, "...", 3);
		o += 3;
	}
	shown[o] = 0;
	if (!strcmp(buf, "NaN") || !strcmp(buf, "Infinity") || !strcmp(buf, "-Infinity")) {
		snprintf(err, errlen, "query returned %s (%s), not a finite number", buf, t);
		return -1;
	}
	/* PostgreSQL writes numbers as [-]digits[.digits][e[+-]digits] */
	size_t i = 0;
	if (buf[i] == '-' || buf[i] == '+')
		i++;
	size_t digits = strspn(buf + i, "0123456789");
	i += digits;
	if (buf[i] == '.') {
		size_t frac = strspn(buf + i + 1, "0123456789");
		digits += frac;
		i += 1 + frac;
	}
	if (digits && (buf[i] == 'e' || buf[i] == 'E')) {
		size_t j = i + 1;
		if (buf[j] == '-' || buf[j] == '+')
			j++;
		size_t ed = strspn(buf + j, "0123456789");
		if (ed)
			i = j + ed;
	}
	if (!len || !digits || i != len) {
		snprintf(err, errlen, "query returned '%s' (%s), not a number", shown, t);
		return -1;
	}
	errno = 0;
	char *end = NULL;
	double v = strtod(buf, &end);
	if (end != buf + len || !isfinite(v)) {
		snprintf(err, errlen, "query returned %s (%s), out of the range of a number", shown, t);
		return -1;
	}
	*out = v;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* parameters                                                               */

/* The first connection field given along with a connection string, or NULL. */
static const char *field_given(const struct pg_params *p)
{
	return p->host ? "host"
	     : p->port ? "port"
	     : p->user_name ? "userName"
	     : p->db_name ? "dbName"
	     : p->sslmode ? "sslmode"
			  : NULL;
}

/* Checks what the table cannot say; with a connection string, also that
 * libpq can read it. 0, or -1 with a message naming the key. */
static int source_check(const struct pg_params *p, char *err, size_t errlen)
{
	if (sw_pq_load(err, errlen))
		return -1;
	if (p->connection && p->connection_file) {
		snprintf(err, errlen, "connection and connectionFile exclude each other");
		return -1;
	}
	const char *with = p->connection ? "connection" : p->connection_file ? "connectionFile" : NULL;
	const char *field = field_given(p);
	if (with && field) {
		snprintf(err, errlen, "%s: not with %s; put it in the connection string", field, with);
		return -1;
	}
	if (!with) {
		if (!p->host || !*p->host) {
			snprintf(err, errlen, "connection, connectionFile or host is required");
			return -1;
		}
		if (!p->user_name || !*p->user_name) {
			snprintf(err, errlen, "userName is required with host");
			return -1;
		}
		if (!p->db_name || !*p->db_name) {
			snprintf(err, errlen, "dbName is required with host");
			return -1;
		}
		return 0;
	}
	if (p->connection) {
		char *perr = NULL;
		PQconninfoOption *opts = PQconninfoParse(p->connection, &perr);
		if (!opts) {
			char msg[512];
			starred_quotes(perr ? perr : "out of memory", msg, sizeof msg);
			snprintf(err, errlen, "connection: not a libpq connection string: %s", msg);
			PQfreemem(perr);
			return -1;
		}
		PQconninfoFree(opts);
	}
	return 0;
}

/* 'host:port/db' from a connection string (no password in it). */
static void shown_from_conninfo(const char *conninfo, char *out, size_t n)
{
	const char *host = NULL, *port = NULL, *db = NULL, *addr = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	for (PQconninfoOption *o = opts; o && o->keyword; o++) {
		if (!o->val || !*o->val)
			continue;
		if (!strcmp(o->keyword, "host"))
			host = o->val;
		else if (!strcmp(o->keyword, "hostaddr"))
			addr = o->val;
		else if (!strcmp(o->keyword, "port"))
			port = o->val;
		else if (!strcmp(o->keyword, "dbname"))
			db = o->val;
	}
	snprintf(out, n, "'%.100s:%.40s/%.100s'", host ? host : addr ? addr : "(default host)", port ? port : "5432",
		 db ? db : "(default database)");
	PQconninfoFree(opts);
}

/* ------------------------------------------------------------------------ */
/* the connection                                                           */

static int64_t clock_ms(const struct pg_state *st)
{
	return st->host->now_ms();
}


static void conn_drop(struct pg_state *st)
{
	if (st->conn)
		PQfinish(st->conn);
	st->conn = NULL;
	st->broken = 0;
}

static void ignore_notice(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* Reads a secret file into buf; 0, or ERR_ANSWER with a message naming key. */
static int read_secret(const struct pg_state *st, const char *key, const char *path, char *buf, size_t n, char *err,
		       size_t errlen)
{
	char why[512];
	long l = st->host->read_file(path, buf, n, why, sizeof why);
	if (l < 0) {
		snprintf(err, errlen, "%s: %s", key, why);
		return ERR_ANSWER;
	}
	if (l == 0) {
		snprintf(err, errlen, "%s: '%s' is empty", key, path);
		return ERR_ANSWER;
	}
	return 0;
}

/* Connects by the deadline. 0, or ERR_SOURCE / ERR_ANSWER with a message. */
static int conn_open(struct pg_state *st, const struct pg_params *p, int64_t deadline, char *err, size_t errlen)
{
	char password[POSTGRESQL_SECRET_MAX + 1];
	char conninfo[POSTGRESQL_SECRET_MAX + 1];
	char portstr[8];
	const char *kw[16], *val[16];
	size_t k = 0;
	int rc = 0;
	password[0] = 0;
	conninfo[0] = 0;
	if (p->password_file) {
		rc = read_secret(st, "passwordFile", p->password_file, password, sizeof password, err, errlen);
		if (rc)
			goto out;
	}
	if (p->connection_file) {
		rc = read_secret(st, "connectionFile", p->connection_file, conninfo, sizeof conninfo, err, errlen);
		if (rc)
			goto out;
		char *perr = NULL;
		PQconninfoOption *opts = PQconninfoParse(conninfo, &perr);
		if (!opts) {
			char msg[512];
			starred_quotes(perr ? perr : "out of memory", msg, sizeof msg);
			snprintf(err, errlen, "connectionFile: '%s' is not a libpq connection string: %s", p->connection_file,
				 msg);
			PQfreemem(perr);
			rc = ERR_ANSWER;
			goto out;
		}
		PQconninfoFree(opts);
		shown_from_conninfo(conninfo, st->shown, sizeof st->shown);
	}

	/* earlier keywords are overridden by the connection string, later ones override it */
	kw[k] = "application_name";
	val[k++] = p->application_name ? p->application_name : "scalewise";
	if (p->connection || p->connection_file) {
		kw[k] = "dbname";
		val[k++] = p->connection ? p->connection : conninfo;
	} else {
		snprintf(portstr, sizeof portstr, "%d", p->port ? (int)p->port : 5432);
		kw[k] = "host";
		val[k++] = p->host;
		kw[k] = "port";
		val[k++] = portstr;
		kw[k] = "user";
		val[k++] = p->user_name;
		kw[k] = "dbname";
		val[k++] = p->db_name;
		if (p->sslmode) {
			kw[k] = "sslmode";
			val[k++] = p->sslmode;
		}
	}
	if (password[0]) {
		kw[k] = "password";
		val[k++] = password;
	}
	if (p->sslrootcert) {
		kw[k] = "sslrootcert";
		val[k++] = p->sslrootcert;
	}
	if (p->sslcert) {
		kw[k] = "sslcert";
		val[k++] = p->sslcert;
	}
	if (p->sslkey) {
		kw[k] = "sslkey";
		val[k++] = p->sslkey;
	}
	kw[k] = NULL;
	val[k] = NULL;

	int64_t start = clock_ms(st);
	int by_timeout = start + p->connect_timeout_ms < deadline;
	int64_t end = by_timeout ? start + p->connect_timeout_ms : deadline;
	long long allowed = by_timeout ? (long long)p->connect_timeout_ms : (long long)st->budget_ms;
	/* only a connection string is expanded: a dbName holding "=" stays a name */
	st->conn = PQconnectStartParams(kw, val, p->connection || p->connection_file);
	if (!st->conn) {
		snprintf(err, errlen, "out of memory");
		rc = ERR_SOURCE;
		goto out;
	}
	PQsetNoticeProcessor(st->conn, ignore_notice, NULL);
	PostgresPollingStatusType ps = PQstatus(st->conn) == CONNECTION_BAD ? PGRES_POLLING_FAILED : PGRES_POLLING_WRITING;
	while (ps != PGRES_POLLING_OK && ps != PGRES_POLLING_FAILED) {
		int w = fd_wait(st->host, PQsocket(st->conn), ps == PGRES_POLLING_READING ? POLLIN : POLLOUT, end);
		if (w == 0) {
			snprintf(err, errlen, "cannot connect to %s: no connection within %lld ms", st->shown, allowed);
			rc = ERR_SOURCE;
			break;
		}
		ps = PQconnectPoll(st->conn);
	}
	if (!rc && ps == PGRES_POLLING_FAILED) {
		char msg[768];
		one_line(PQerrorMessage(st->conn), msg, sizeof msg);
		snprintf(err, errlen, "cannot connect to %s: %.500s", st->shown, msg[0] ? msg : "connection failed");
		rc = ERR_SOURCE;
	}
	if (!rc && PQsetnonblocking(st->conn, 1)) {
		snprintf(err, errlen, "%s: cannot make the connection non-blocking", st->shown);
		rc = ERR_SOURCE;
	}
	if (rc)
		conn_drop(st);
out:
	explicit_bzero(password, sizeof password);
	explicit_bzero(conninfo, sizeof conninfo);
	return rc;
}

/* Whether a kept connection is still usable: takes and parses what the
 * server may have sent meanwhile (the FATAL of a shutdown goes to the
 * notice processor), and reads on while more is waiting, so a close
 * behind it is seen too. */
static int conn_alive(struct pg_state *st)
{
	for (int i = 0; i < 8; i++) {
		if (PQstatus(st->conn) != CONNECTION_OK || !PQconsumeInput(st->conn))
			return 0;
		(void)PQisBusy(st->conn);
		if (PQstatus(st->conn) != CONNECTION_OK)
			return 0;
		struct pollfd pfd = { .fd = PQsocket(st->conn), .events = POLLIN };
		if (poll(&pfd, 1, 0) <= 0)
			break;
	}
	return PQtransactionStatus(st->conn) == PQTRANS_IDLE;
}

/* The message and code for a connection that failed during an exchange. */
static int lost(struct pg_state *st, char *err, size_t errlen)
{
	char msg[768];
	one_line(PQerrorMessage(st->conn), msg, sizeof msg);
	snprintf(err, errlen, "%s: connection lost: %.500s", st->shown, msg[0] ? msg : "no message from libpq");
	st->broken = 1;
	return ERR_LOST;
}

/* Sends what libpq has queued, by the deadline. */
static int flush_out(struct pg_state *st, int64_t deadline, char *err, size_t errlen)
{
	for (;;) {
		int f = PQflush(st->conn);
		if (f == 0)
			return 0;
		if (f < 0)
			return lost(st, err, errlen);
		int w = fd_wait(st->host, PQsocket(st->conn), POLLOUT | POLLIN, deadline);
		if (w == 0) {
			st->broken = 1;
			snprintf(err, errlen, "%s: no answer within %lld ms (the query could not be sent)", st->shown,
				 (long long)st->budget_ms);
			return ERR_SOURCE;
		}
		if (w < 0 || !PQconsumeInput(st->conn))
			return lost(st, err, errlen);
	}
}

/* The next result by the deadline: 0 with *res (NULL at the end of a
 * command's results), ERR_LOST or ERR_SOURCE. */
static int next_result(struct pg_state *st, PGresult **res, int64_t deadline, char *err, size_t errlen)
{
	*res = NULL;
	while (PQisBusy(st->conn)) {
		int w = fd_wait(st->host, PQsocket(st->conn), POLLIN, deadline);
		if (w == 0) {
			st->broken = 1;
			snprintf(err, errlen, "%s: no answer within %lld ms", st->shown, (long long)st->budget_ms);
			return ERR_SOURCE;
		}
		if (w < 0 || !PQconsumeInput(st->conn))
			return lost(st, err, errlen);
	}
	*res = PQgetResult(st->conn);
	if (!*res && PQstatus(st->conn) != CONNECTION_OK)
		return lost(st, err, errlen);
	return 0;
}

/* Reads the rest of a command's results after an error, so the
 * connection stays in step (a failure here shows at the next use). */
static void drain(struct pg_state *st, int64_t deadline)
{
	char scratch[256];
	PGresult *r = NULL;
	while (next_result(st, &r, deadline, scratch, sizeof scratch) == 0 && r)
		PQclear(r);
}

/* Whom a failed statement blames, by its SQLSTATE class: the server's
 * condition (connection, resources, shutdown, timeout, internal,
 * transient conflicts) or the query. */
static int blame_sqlstate(const char *state)
{
	static const char *const source_classes[] = { "08", "40", "53", "57", "58", "XX" };
	for (size_t i = 0; state && i < sizeof source_classes / sizeof source_classes[0]; i++)
		if (!strncmp(state, source_classes[i], 2))
			return ERR_SOURCE;
	return ERR_ANSWER;
}

/* The message and code of a failed result; what says which statement. */
static int failed_result(struct pg_state *st, const PGresult *r, const char *what, char *err, size_t errlen)
{
	const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
	const char *primary = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
	const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
	const char *severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);
	char msg[600];
	one_line(primary ? primary : PQresultErrorMessage(r), msg, sizeof msg);
	/* FATAL or PANIC: the server is closing this connection */
	if (PQstatus(st->conn) != CONNECTION_OK || (severity && (!strcmp(severity, "FATAL") || !strcmp(severity, "PANIC")))) {
		st->broken = 1;
		snprintf(err, errlen, "%s: connection lost: %.500s", st->shown, msg[0] ? msg : "no message from libpq");
		return ERR_LOST;
	}
	if (state && !strcmp(state, "57014")) {
		snprintf(err, errlen, "%s: %s canceled after its statement_timeout (%.400s)", st->shown, what, msg);
		return ERR_SOURCE;
	}
	snprintf(err, errlen, "%s: %s failed (%.5s): %.400s%s%.10s", st->shown, what, state ? state : "none", msg,
		 pos ? " at character " : "", pos ? pos : "");
	return blame_sqlstate(state);
}

/* Runs a command of ours (no rows) and reads all its results. */
static int run_command(struct pg_state *st, const char *sql, const char *what, int64_t deadline, char *err,
		       size_t errlen)
{
	if (!PQsendQuery(st->conn, sql))
		return lost(st, err, errlen);
	int rc = flush_out(st, deadline, err, errlen);
	PGresult *r = NULL;
	while (!rc) {
		rc = next_result(st, &r, deadline, err, errlen);
		if (rc || !r)
			break;
		ExecStatusType s = PQresultStatus(r);
		if (s != PGRES_COMMAND_OK && !rc) {
			if (s == PGRES_FATAL_ERROR || s == PGRES_NONFATAL_ERROR)
				rc = failed_result(st, r, what, err, errlen);
			else {
				snprintf(err, errlen, "%s: %s answered %s", st->shown, what, PQresStatus(s));
				st->broken = 1;
				rc = ERR_SOURCE;
			}
			PQclear(r);
			drain(st, deadline);
			break;
		}
		PQclear(r);
	}
	return rc;
}

/* What one run of the query gave. */
struct answer {
	long rows;
	int cols;      /* -1 until known */
	int null;
	unsigned int oid;
	size_t len;
	char text[POSTGRESQL_VALUE_MAX + 1];
	int too_long;
};

static void answer_row(struct answer *a, const PGresult *r)
{
	a->cols = PQnfields(r);
	a->rows++;
	if (a->rows != 1 || a->cols < 1)
		return;
	a->null = PQgetisnull(r, 0, 0);
	a->oid = (unsigned int)PQftype(r, 0);
	size_t len = (size_t)PQgetlength(r, 0, 0);
	a->len = len;
	a->too_long = len > POSTGRESQL_VALUE_MAX;
	if (!a->too_long && !a->null)
		memcpy(a->text, PQgetvalue(r, 0, 0), len);
}

/* Runs the user's query in single-row mode and fills a. */
static int run_query(struct pg_state *st, const char *query, struct answer *a, int64_t deadline, char *err,
		     size_t errlen)
{
	memset(a, 0, sizeof *a);
	a->cols = -1;
	if (!PQsendQueryParams(st->conn, query, 0, NULL, NULL, NULL, NULL, 0))
		return lost(st, err, errlen);
	PQsetSingleRowMode(st->conn);
	int rc = flush_out(st, deadline, err, errlen);
	PGresult *r = NULL;
	while (!rc) {
		rc = next_result(st, &r, deadline, err, errlen);
		if (rc || !r)
			break;
		switch (PQresultStatus(r)) {
		case PGRES_SINGLE_TUPLE:
			answer_row(a, r);
			if (a->rows > POSTGRESQL_MAX_ROWS) {
				/* the rest is not worth reading: the connection goes */
				snprintf(err, errlen, "%s: query returned more than %d rows; exactly one row is needed",
					 st->shown, POSTGRESQL_MAX_ROWS);
				st->broken = 1;
				rc = ERR_ANSWER;
			}
			break;
		case PGRES_TUPLES_OK:
			a->cols = PQnfields(r);
			break;
		case PGRES_COMMAND_OK:
			snprintf(err, errlen, "%s: query returned no result set (%s); a SELECT returning one number is needed",
				 st->shown, PQcmdStatus(r));
			rc = ERR_ANSWER;
			break;
		case PGRES_FATAL_ERROR:
		case PGRES_NONFATAL_ERROR:
			rc = failed_result(st, r, "query", err, errlen);
			break;
		default:
			snprintf(err, errlen, "%s: query answered %s; a SELECT returning one number is needed", st->shown,
				 PQresStatus(PQresultStatus(r)));
			st->broken = 1;
			rc = ERR_ANSWER;
			break;
		}
		PQclear(r);
	}
	if (rc && !st->broken && rc != ERR_LOST)
		drain(st, deadline);
	return rc;
}

/* Turns the answer into a value, or a message saying what is wrong. */
static int judge(const struct pg_state *st, const struct answer *a, double *value, char *err, size_t errlen)
{
	char msg[512];
	if (a->rows != 1) {
		if (a->rows == 0)
			snprintf(err, errlen, "%s: query returned no rows; exactly one row is needed", st->shown);
		else
			snprintf(err, errlen, "%s: query returned %ld rows; exactly one row is needed", st->shown, a->rows);
		return ERR_ANSWER;
	}
	if (a->cols != 1) {
		snprintf(err, errlen, "%s: query returned %d columns; exactly one is needed", st->shown, a->cols);
		return ERR_ANSWER;
	}
	if (a->null) {
		snprintf(err, errlen, "%s: query returned NULL; a number is needed", st->shown);
		return ERR_ANSWER;
	}
	if (a->too_long) {
		const char *t = type_name(a->oid);
		snprintf(err, errlen, "%s: query returned a value of %zu bytes (%s), not a number", st->shown, a->len,
			 t ? t : "another type");
		return ERR_ANSWER;
	}
	if (postgresql_parse_value(a->text, a->len, a->oid, value, msg, sizeof msg)) {
		snprintf(err, errlen, "%s: %s", st->shown, msg);
		return ERR_ANSWER;
	}
	return 0;
}

/* One read-only transaction around the query. */
static int transact(struct pg_state *st, const char *query, int64_t deadline, double *value, char *err,
		    size_t errlen)
{
	int64_t left = deadline - clock_ms(st);
	/* the server gives up first, so a slow query ends with its own error
	 * and the connection stays */
	long long stmt_ms = left * 9 / 10;
	char begin[96];
	snprintf(begin, sizeof begin, "BEGIN READ ONLY; SET LOCAL statement_timeout = %lld", stmt_ms > 0 ? stmt_ms : 1);
	int rc = run_command(st, begin, "BEGIN READ ONLY", deadline, err, errlen);
	if (rc)
		return rc;
	struct answer a;
	rc = run_query(st, query, &a, deadline, err, errlen);
	if (rc == ERR_LOST || st->broken)
		return rc;
	char rb_err[1024];
	int rb = run_command(st, "ROLLBACK", "ROLLBACK", deadline, rb_err, sizeof rb_err);
	if (rb) {
		st->broken = 1;
		if (!rc) {
			snprintf(err, errlen, "%s", rb_err);
			return rb == ERR_LOST ? ERR_SOURCE : rb;
		}
	}
	if (rc)
		return rc;
	return judge(st, &a, value, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* ops                                                                      */

static void shown_from_fields(const struct pg_params *p, char *out, size_t n)
{
	snprintf(out, n, "'%.100s:%d/%.100s'", p->host, p->port ? (int)p->port : 5432, p->db_name);
}

static int pg_open(void *state, const void *source_params, const struct sw_host *host, char *err, size_t errlen)
{
	struct pg_state *st = state;
	const struct pg_params *p = source_params;
	memset(st, 0, sizeof *st);
	if (source_check(p, err, errlen))
		return -1;
	st->host = host;
	if (p->connection)
		shown_from_conninfo(p->connection, st->shown, sizeof st->shown);
	else if (p->connection_file)
		snprintf(st->shown, sizeof st->shown, "connectionFile '%.200s'", p->connection_file);
	else
		shown_from_fields(p, st->shown, sizeof st->shown);
	return 0;
}

static int pg_check_source(const void *source_params, char *err, size_t errlen)
{
	return source_check(source_params, err, errlen);
}

static int pg_check_metric(const void *source_params, const struct sw_request *req, char *err, size_t errlen)
{
	if (req->query) {
		snprintf(err, errlen, "query: a postgresql source takes its SQL in params.query");
		return -1;
	}
	const struct pg_metric *m = req->params;
	if (!m || !m->query || !m->query[strspn(m->query, " \t\r\n")]) {
		snprintf(err, errlen, "params.query: must not be empty");
		return -1;
	}
	return 0;
}

static int pg_fetch(void *state, const void *source_params, const struct sw_request *req, struct sw_batch *out,
		    char *err, size_t errlen)
{
	struct pg_state *st = state;
	const struct pg_params *p = source_params;
	const struct pg_metric *m = req->params;
	char msg[1024];
	if (pg_check_metric(NULL, req, msg, sizeof msg)) {
		snprintf(err, errlen, "%s: %s", st->shown, msg);
		return ERR_ANSWER;
	}
	int64_t start = clock_ms(st);
	if (req->deadline_ms <= start) {
		snprintf(err, errlen, "%s: deadline passed before the request started", st->shown);
		return ERR_ANSWER;
	}
	/* the time this fetch was given, counted from when the core started it */
	st->budget_ms = req->deadline_ms - (req->now_ms > 0 && req->now_ms <= start ? req->now_ms : start);
	double value = 0;
	int rc = 0;
	for (int attempt = 0;; attempt++) {
		int fresh = 0;
		if (st->conn && !conn_alive(st))
			conn_drop(st);
		if (!st->conn) {
			rc = conn_open(st, p, req->deadline_ms, err, errlen);
			if (rc)
				return rc;
			fresh = 1;
		}
		rc = transact(st, m->query, req->deadline_ms, &value, msg, sizeof msg);
		if (rc == ERR_LOST) {
			conn_drop(st);
			if (fresh || attempt || clock_ms(st) >= req->deadline_ms) {
				snprintf(err, errlen, "%s", msg);
				return ERR_SOURCE;
			}
			continue; /* a kept connection died: one reconnect within the deadline */
		}
		break;
	}
	if (st->broken)
		conn_drop(st);
	if (rc) {
		snprintf(err, errlen, "%s", msg);
		return rc;
	}
	if (st->host->batch_add(out, value, clock_ms(st), NULL, 0)) {
		snprintf(err, errlen, "%s: the sample was refused", st->shown);
		return ERR_ANSWER;
	}
	return 0;
}

static void pg_close(void *state)
{
	struct pg_state *st = state;
	conn_drop(st);
	memset(st, 0, sizeof *st);
}

/* ------------------------------------------------------------------------ */
/* the descriptor                                                           */

#define SP(field) offsetof(struct pg_params, field)
#define NOBOUNDS 1, 0

static const char *const sslmodes[] = { "disable", "allow", "prefer", "require", "verify-ca", "verify-full", NULL };

static const struct sw_param pg_source_params[] = {
	{ "connection", SW_PARAM_STRING, SP(connection), NULL, 0, NOBOUNDS,
	  "libpq connection string or URI (instead of the fields)", NULL },
	{ "connectionFile", SW_PARAM_FILE, SP(connection_file), NULL, 0, NOBOUNDS,
	  "file holding a libpq connection string, re-read at each connection", NULL },
	{ "host", SW_PARAM_STRING, SP(host), NULL, 0, NOBOUNDS, "server host name, address or socket folder", NULL },
	{ "port", SW_PARAM_INT, SP(port), NULL, 0, 1, 65535, "server port (default 5432)", NULL },
	{ "userName", SW_PARAM_STRING, SP(user_name), NULL, 0, NOBOUNDS, "user to log in as", NULL },
	{ "dbName", SW_PARAM_STRING, SP(db_name), NULL, 0, NOBOUNDS, "database", NULL },
	{ "sslmode", SW_PARAM_STRING, SP(sslmode), NULL, 0, NOBOUNDS, "libpq sslmode (default prefer)", sslmodes },
	{ "passwordFile", SW_PARAM_FILE, SP(password_file), NULL, 0, NOBOUNDS,
	  "file holding the password, re-read at each connection", NULL },
	{ "sslrootcert", SW_PARAM_FILE, SP(sslrootcert), NULL, 0, NOBOUNDS, "CA certificates to verify the server", NULL },
	{ "sslcert", SW_PARAM_FILE, SP(sslcert), NULL, 0, NOBOUNDS, "client certificate", NULL },
	{ "sslkey", SW_PARAM_FILE, SP(sslkey), NULL, 0, NOBOUNDS, "client key", NULL },
	{ "connectTimeout", SW_PARAM_DURATION, SP(connect_timeout_ms), "5s", 0, 1, 60000,
	  "time to establish the connection (the fetch deadline applies when sooner)", NULL },
	{ "applicationName", SW_PARAM_STRING, SP(application_name), "scalewise", 0, NOBOUNDS,
	  "application_name shown in pg_stat_activity", NULL },
};

static const struct sw_param pg_metric_params[] = {
	{ "query", SW_PARAM_STRING, offsetof(struct pg_metric, query), NULL, 1, NOBOUNDS,
	  "SQL returning exactly one row with one numeric column", NULL },
};

const struct sw_scaler_type scaler_postgresql = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_scaler_type),
	.name = "postgresql",
	.flags = 0,
	.query = SW_QUERY_NONE,
	.state_size = sizeof(struct pg_state),
	.source_params_size = sizeof(struct pg_params),
	.source_params = pg_source_params,
	.n_source_params = sizeof pg_source_params / sizeof pg_source_params[0],
	.metric_params_size = sizeof(struct pg_metric),
	.metric_params = pg_metric_params,
	.n_metric_params = sizeof pg_metric_params / sizeof pg_metric_params[0],
	.open = pg_open,
	.check_metric = pg_check_metric,
	.fetch = pg_fetch,
	.close = pg_close,
	.check_source = pg_check_source,
};
