/*
 * redis.c — the Redis scaler (see redis.h).
 *
 * hiredis formats the commands and parses the answers (RESP); the socket is
 * ours and non-blocking, so every wait ends at the fetch deadline, a write
 * to a dead peer never raises SIGPIPE, and the bytes of an answer and the
 * elements of its arrays are capped before hiredis allocates them.
 */
#include "redis.h"

#include "fdwait.h"

#include "dl_hiredis.h"
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define ERR_SOURCE SW_FETCH_SOURCE_ERROR
#define ERR_ANSWER SW_FETCH_ANSWER_ERROR
#define ERR_LOST (-3) /* the connection died before any answer: worth one reconnect */

struct redis_params {
	char *address;
	char *host;
	int64_t port;
	char *username;
	char *password_file;
	int64_t database_index;
	int64_t connect_timeout_ms;
	int enable_tls;
	int unsafe_ssl;
	char *tls_ca_file;
	char *tls_cert_file;
	char *tls_key_file;
	int tls_insecure;
};

struct redis_metric {
	char *list_name;
	char *type;
	char *stream;
	char *consumer_group;
	char *mode;
};

struct redis_state {
	const struct sw_host *host;
	char hostname[256];
	int port;
	int db;
	char shown[300];      /* 'host:port' or 'host:port/db' as messages show it */
	int connected;
	int fd;
	int broken;           /* the connection is unusable: drop it after this fetch */
	redisReader *reader;
	redisReplyObjectFunctions fns; /* hiredis' own, with createArray capped */
	void *(*create_array)(const redisReadTask *, int);
	long refused_elements;
	size_t got;           /* bytes received in the current exchange */
	int64_t budget_ms;    /* the current fetch's time, for messages */
};

/* What a metric measures. */
enum rmode { RM_AUTO, RM_LIST, RM_SET, RM_ZSET, RM_HASH, RM_XLEN, RM_XPENDING, RM_XLAG };

static const struct {
	const char *type; /* as TYPE answers */
	const char *cmd;
} kinds[] = {
	[RM_AUTO] = { NULL, NULL },
	[RM_LIST] = { "list", "LLEN" },
	[RM_SET] = { "set", "SCARD" },
	[RM_ZSET] = { "zset", "ZCARD" },
	[RM_HASH] = { "hash", "HLEN" },
	[RM_XLEN] = { "stream", "XLEN" },
	[RM_XPENDING] = { "stream", "XPENDING" },
	[RM_XLAG] = { "stream", "XINFO GROUPS" },
};

/* ------------------------------------------------------------------------ */
/* messages                                                                 */

/* Copies up to 200 bytes of s into out with anything unprintable as '?',
 * for quoting what a server said. */
static void printable(const char *s, size_t len, char *out, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < len && o + 4 < n && o < 200; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (o < len && o + 4 <= n && len > 200) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	if (n)
		out[o < n ? o : n - 1] = 0;
}

/* ------------------------------------------------------------------------ */
/* parameters                                                               */

int redis_address_parse(const char *address, char *host, size_t hostlen, int *port, char *err, size_t errlen)
{
	const char *colon, *h = address;
	size_t hl;
	if (!address || !*address) {
		snprintf(err, errlen, "address is empty");
		return -1;
	}
	if (address[0] == '[') {
		const char *close = strchr(address, ']');
		if (!close || close[1] != ':') {
			snprintf(err, errlen, "address '%.200s' must be [ipv6]:port", address);
			return -1;
		}
		h = address + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(address, ':');
		if (!colon) {
			snprintf(err, errlen, "address '%.200s' must be host:port", address);
			return -1;
		}
		if (memchr(address, ':', (size_t)(colon - address))) {
			snprintf(err, errlen, "address '%.200s': write an IPv6 address as [addr]:port", address);
			return -1;
		}
		hl = (size_t)(colon - address);
	}
	if (!hl || hl >= hostlen) {
		snprintf(err, errlen, "address '%.200s' has %s host", address, hl ? "too long a" : "no");
		return -1;
	}
	const char *ps = colon + 1;
	size_t pl = strlen(ps);
	long v = 0;
	if (!pl || pl > 5 || strspn(ps, "0123456789") != pl) {
		snprintf(err, errlen, "address '%.200s' has no port number after ':'", address);
		return -1;
	}
	for (size_t i = 0; i < pl; i++)
		v = v * 10 + (ps[i] - '0');
	if (v < 1 || v > 65535) {
		snprintf(err, errlen, "address '%.200s': port %ld is out of range [1, 65535]", address, v);
		return -1;
	}
	memcpy(host, h, hl);
	host[hl] = 0;
	*port = (int)v;
	return 0;
}

/* Checks what the table cannot: where Redis is, and no TLS. Fills host,
 * *port. 0, or -1 with a message naming the key. */
static int source_check(const struct redis_params *p, char *host, size_t hostlen, int *port, char *err,
			size_t errlen)
{
	const char *tls_key = p->enable_tls ? "enableTLS"
			    : p->unsafe_ssl ? "unsafeSsl"
			    : p->tls_ca_file ? "tls.caFile"
			    : p->tls_cert_file ? "tls.certFile"
			    : p->tls_key_file ? "tls.keyFile"
			    : p->tls_insecure ? "tls.insecureSkipVerify"
					      : NULL;
	if (tls_key) {
		snprintf(err, errlen,
			 "%s: TLS is not supported by this build: Debian's hiredis 0.14 has no TLS; reach Redis "
			 "through a TLS tunnel (e.g. stunnel) on loopback instead",
			 tls_key);
		return -1;
	}
	if (p->address && p->host) {
		snprintf(err, errlen, "address and host exclude each other; give address (host:port) or host and port");
		return -1;
	}
	if (p->address) {
		if (p->port) {
			snprintf(err, errlen, "port goes with host; address already has its port");
			return -1;
		}
		if (redis_address_parse(p->address, host, hostlen, port, err, errlen))
			return -1;
	} else if (p->host) {
		if (!*p->host || strlen(p->host) >= hostlen) {
			snprintf(err, errlen, "host '%.200s' is %s", p->host, *p->host ? "too long" : "empty");
			return -1;
		}
		snprintf(host, hostlen, "%s", p->host);
		*port = p->port ? (int)p->port : 6379;
	} else {
		snprintf(err, errlen, "address is required (host:port), or host and port");
		return -1;
	}
	if (p->username && !p->password_file) {
		snprintf(err, errlen, "username needs passwordFile");
		return -1;
	}
	return 0;
}

/* Decides what a metric measures; -1 with a message when its params do
 * not say one thing. */
static int metric_mode(const struct redis_metric *m, enum rmode *mode, char *err, size_t errlen)
{
	if (!m || (!m->list_name && !m->stream)) {
		snprintf(err, errlen, "params: listName or stream is required");
		return -1;
	}
	if (m->list_name && m->stream) {
		snprintf(err, errlen, "params: listName and stream exclude each other; a metric reads one key");
		return -1;
	}
	if (m->list_name) {
		if (!*m->list_name) {
			snprintf(err, errlen, "params.listName: must not be empty");
			return -1;
		}
		if (m->consumer_group || m->mode) {
			snprintf(err, errlen, "params.%s: only for a stream; with listName use type",
				 m->consumer_group ? "consumerGroup" : "mode");
			return -1;
		}
		const char *t = m->type ? m->type : "auto";
		*mode = !strcmp(t, "list") ? RM_LIST
		      : !strcmp(t, "set")  ? RM_SET
		      : !strcmp(t, "zset") ? RM_ZSET
		      : !strcmp(t, "hash") ? RM_HASH
					   : RM_AUTO;
		return 0;
	}
	if (!*m->stream) {
		snprintf(err, errlen, "params.stream: must not be empty");
		return -1;
	}
	if (m->type) {
		snprintf(err, errlen, "params.type: only for listName; with stream use mode");
		return -1;
	}
	if (m->consumer_group && !*m->consumer_group) {
		snprintf(err, errlen, "params.consumerGroup: must not be empty");
		return -1;
	}
	const char *md = m->mode ? m->mode : m->consumer_group ? "pending" : "length";
	if (!strcmp(md, "length")) {
		*mode = RM_XLEN;
		return 0;
	}
	if (!m->consumer_group) {
		snprintf(err, errlen, "params.mode: '%s' needs consumerGroup", md);
		return -1;
	}
	*mode = !strcmp(md, "lag") ? RM_XLAG : RM_XPENDING;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* the connection                                                           */

static int64_t clock_ms(const struct redis_state *st)
{
	return st->host->now_ms();
}


static void conn_drop(struct redis_state *st)
{
	if (st->connected)
		close(st->fd);
	if (st->reader)
		redisReaderFree(st->reader);
	st->reader = NULL;
	st->connected = 0;
	st->fd = -1;
	st->broken = 0;
}

/* Finds the state a reader task belongs to: the root task carries it. */
static struct redis_state *task_state(const redisReadTask *task)
{
	while (task && !task->privdata && task->parent)
		task = task->parent;
	return task ? task->privdata : NULL;
}

/* hiredis allocates an array as soon as it reads its header: refuse a
 * count no honest answer has before that happens. */
static void *capped_array(const redisReadTask *task, int elements)
{
	struct redis_state *st = task_state(task);
	if (!st)
		return NULL;
	if (elements < 0 || elements > REDIS_ARRAY_MAX) {
		st->refused_elements = elements;
		return NULL;
	}
	return st->create_array(task, elements);
}

/* A TCP connection to one of the addresses of the host, done by
 * connect_end (allowed_ms after the start, for the message). 0, or
 * ERR_SOURCE with a message. */
static int tcp_connect(struct redis_state *st, int64_t connect_end, int64_t allowed_ms, char *err, size_t errlen)
{
	char portstr[8];
	snprintf(portstr, sizeof portstr, "%d", st->port);
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(st->hostname, portstr, &hints, &res);
	if (gai) {
		snprintf(err, errlen, "cannot resolve '%s': %s", st->hostname,
			 gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return ERR_SOURCE;
	}
	char why[160] = "no address";
	int fd = -1;
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		int s = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (s < 0) {
			snprintf(why, sizeof why, "%s", strerror(errno));
			continue;
		}
		int rc = connect(s, ai->ai_addr, ai->ai_addrlen);
		if (rc < 0 && errno == EINPROGRESS) {
			int w = fd_wait(st->host, s, POLLOUT, connect_end);
			if (w == 0) {
				snprintf(why, sizeof why, "no connection within %lld ms", (long long)allowed_ms);
				close(s);
				continue;
			}
			int soerr = 0;
			socklen_t sl = sizeof soerr;
			if (w < 0 || getsockopt(s, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
				soerr = errno;
			rc = soerr ? -1 : 0;
			errno = soerr;
		}
		if (rc < 0) {
			snprintf(why, sizeof why, "%s", strerror(errno));
			close(s);
			continue;
		}
		fd = s;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "cannot reach %s: %s", st->shown, why);
		return ERR_SOURCE;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	st->fd = fd;
	st->connected = 1;
	return 0;
}

/* Sends all of buf by the deadline. 0, ERR_LOST or ERR_SOURCE. */
static int send_all(struct redis_state *st, const char *buf, size_t len, int64_t deadline, char *err, size_t errlen)
{
	size_t off = 0;
	while (off < len) {
		ssize_t w = send(st->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int r = fd_wait(st->host, st->fd, POLLOUT, deadline);
			if (r > 0)
				continue;
			st->broken = 1;
			snprintf(err, errlen, "%s: no answer within %lld ms (the request could not be sent)", st->shown,
				 (long long)st->budget_ms);
			return ERR_SOURCE;
		}
		st->broken = 1;
		snprintf(err, errlen, "%s: connection lost: %s", st->shown, w < 0 ? strerror(errno) : "nothing sent");
		return off == 0 ? ERR_LOST : ERR_SOURCE;
	}
	return 0;
}

/* Reads one answer by the deadline. 0 with *out (free with
 * freeReplyObject), ERR_LOST (closed before any byte), ERR_SOURCE or
 * ERR_ANSWER (over a cap). */
static int read_reply(struct redis_state *st, redisReply **out, int64_t deadline, char *err, size_t errlen)
{
	*out = NULL;
	for (;;) {
		void *r = NULL;
		st->refused_elements = 0;
		if (redisReaderGetReply(st->reader, &r) != REDIS_OK) {
			st->broken = 1;
			if (st->refused_elements) {
				snprintf(err, errlen, "%s: answer has an array of %ld elements, more than the limit of %d",
					 st->shown, st->refused_elements, REDIS_ARRAY_MAX);
				return ERR_ANSWER;
			}
			char said[160];
			printable(st->reader->errstr, strlen(st->reader->errstr), said, sizeof said);
			snprintf(err, errlen, "%s: not a Redis answer: %s", st->shown, said);
			return ERR_SOURCE;
		}
		if (r) {
			*out = r;
			return 0;
		}
		int w = fd_wait(st->host, st->fd, POLLIN, deadline);
		if (w == 0) {
			st->broken = 1;
			snprintf(err, errlen, "%s: no answer within %lld ms", st->shown, (long long)st->budget_ms);
			return ERR_SOURCE;
		}
		char buf[16384];
		ssize_t n = w < 0 ? -1 : recv(st->fd, buf, sizeof buf, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n <= 0) {
			int lost = st->got == 0;
			st->broken = 1;
			if (n == 0)
				snprintf(err, errlen, "%s: server closed the connection%s", st->shown,
					 lost ? "" : " in the middle of an answer");
			else
				snprintf(err, errlen, "%s: connection lost: %s", st->shown, strerror(errno));
			return lost ? ERR_LOST : ERR_SOURCE;
		}
		st->got += (size_t)n;
		if (st->got > REDIS_ANSWER_MAX) {
			st->broken = 1;
			snprintf(err, errlen, "%s: answer larger than %zu bytes", st->shown, REDIS_ANSWER_MAX);
			return ERR_ANSWER;
		}
		if (redisReaderFeed(st->reader, buf, (size_t)n) != REDIS_OK) {
			st->broken = 1;
			snprintf(err, errlen, "%s: out of memory reading the answer", st->shown);
			return ERR_SOURCE;
		}
	}
}

struct rcmd {
	int argc;
	const char *argv[4];
};

/* Sends n commands at once and reads their n answers into replies (each
 * freed by the caller on success; none left on failure). secret: the
 * commands hold a password, wiped from memory once sent. */
static int exchange(struct redis_state *st, const struct rcmd *cmds, size_t n, redisReply **replies, int secret,
		    int64_t deadline, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rc = 0;
	for (size_t i = 0; i < n && !rc; i++) {
		char *one = NULL;
		const char *argv[4];
		memcpy(argv, cmds[i].argv, sizeof argv);
		int l = redisFormatCommandArgv(&one, cmds[i].argc, argv, NULL);
		char *grown = l > 0 ? realloc(buf, len + (size_t)l) : NULL;
		if (!grown) {
			snprintf(err, errlen, "out of memory");
			rc = ERR_SOURCE;
		} else {
			buf = grown;
			memcpy(buf + len, one, (size_t)l);
			len += (size_t)l;
		}
		if (one && secret && l > 0)
			explicit_bzero(one, (size_t)l);
		if (one)
			redisFreeCommand(one);
	}
	st->got = 0;
	if (!rc)
		rc = send_all(st, buf, len, deadline, err, errlen);
	if (buf && secret)
		explicit_bzero(buf, len);
	free(buf);
	size_t got = 0;
	while (!rc && got < n) {
		rc = read_reply(st, &replies[got], deadline, err, errlen);
		if (!rc)
			got++;
	}
	if (rc) {
		for (size_t i = 0; i < got; i++)
			freeReplyObject(replies[i]);
		return rc;
	}
	return 0;
}

/* Redis' own errors that say the server cannot serve now, not that the
 * command is wrong. */
static int blame_error(const char *msg)
{
	static const char *const busy[] = { "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN" };
	for (size_t i = 0; i < sizeof busy / sizeof busy[0]; i++) {
		size_t l = strlen(busy[i]);
		if (!strncmp(msg, busy[i], l) && (msg[l] == ' ' || !msg[l]))
			return ERR_SOURCE;
	}
	return ERR_ANSWER;
}

/* Connects, authenticates and selects the database, by the deadline. */
static int conn_open(struct redis_state *st, const struct redis_params *p, int64_t deadline, char *err,
		     size_t errlen)
{
	char password[REDIS_PASSWORD_MAX + 1];
	struct rcmd cmds[2];
	size_t n = 0;
	char dbtext[24];
	password[0] = 0;
	if (p->password_file) {
		char why[512];
		long pl = st->host->read_file(p->password_file, password, sizeof password, why, sizeof why);
		if (pl <= 0) {
			explicit_bzero(password, sizeof password);
			if (pl < 0)
				snprintf(err, errlen, "passwordFile: %s", why);
			else
				snprintf(err, errlen, "passwordFile: '%s' is empty", p->password_file);
			return ERR_ANSWER;
		}
		if (p->username)
			cmds[n++] = (struct rcmd){ 3, { "AUTH", p->username, password } };
		else
			cmds[n++] = (struct rcmd){ 2, { "AUTH", password } };
	}

	int64_t now = clock_ms(st);
	int by_timeout = now + p->connect_timeout_ms < deadline;
	int64_t connect_end = by_timeout ? now + p->connect_timeout_ms : deadline;
	int rc = tcp_connect(st, connect_end, by_timeout ? p->connect_timeout_ms : st->budget_ms, err, errlen);
	if (rc) {
		explicit_bzero(password, sizeof password);
		return rc;
	}
	st->reader = redisReaderCreate();
	if (!st->reader) {
		explicit_bzero(password, sizeof password);
		conn_drop(st);
		snprintf(err, errlen, "out of memory");
		return ERR_SOURCE;
	}
	st->create_array = st->reader->fn->createArray;
	st->fns = *st->reader->fn;
	st->fns.createArray = capped_array;
	st->reader->fn = &st->fns;
	st->reader->privdata = st;

	if (st->db) {
		snprintf(dbtext, sizeof dbtext, "%d", st->db);
		cmds[n++] = (struct rcmd){ 2, { "SELECT", dbtext } };
	}
	if (!n)
		return 0;
	redisReply *r[2] = { NULL, NULL };
	rc = exchange(st, cmds, n, r, 1, deadline, err, errlen);
	if (rc) {
		http_redact(err, password);
		explicit_bzero(password, sizeof password);
		conn_drop(st);
		return rc == ERR_LOST ? ERR_SOURCE : rc;
	}
	for (size_t i = 0; i < n && !rc; i++) {
		int is_auth = p->password_file && i == 0;
		char said[256];
		if (r[i]->type == REDIS_REPLY_STATUS && !strcasecmp(r[i]->str, "OK"))
			continue;
		if (r[i]->type == REDIS_REPLY_ERROR || r[i]->type == REDIS_REPLY_STATUS || r[i]->type == REDIS_REPLY_STRING)
			printable(r[i]->str, r[i]->len, said, sizeof said);
		else
			snprintf(said, sizeof said, "an answer of type %d", r[i]->type);
		http_redact(said, password);
		if (is_auth)
			snprintf(err, errlen, "%s: authentication%s%s failed: %s", st->shown, p->username ? " as " : "",
				 p->username ? p->username : "", said);
		else
			snprintf(err, errlen, "%s: SELECT %d failed: %s", st->shown, st->db, said);
		rc = r[i]->type == REDIS_REPLY_ERROR ? blame_error(r[i]->str) : ERR_SOURCE;
	}
	explicit_bzero(password, sizeof password);
	for (size_t i = 0; i < n; i++)
		freeReplyObject(r[i]);
	if (rc)
		conn_drop(st);
	return rc;
}

/* Whether a kept connection has been closed by the server (or has
 * unasked-for bytes waiting: then it is out of step): 1 when it must go. */
static int conn_stale(const struct redis_state *st)
{
	char c;
	ssize_t r = recv(st->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return 0;
	return 1;
}

/* ------------------------------------------------------------------------ */
/* measuring                                                                */

static const char *reply_kind(int type)
{
	switch (type) {
	case REDIS_REPLY_STRING:
		return "a string";
	case REDIS_REPLY_ARRAY:
		return "an array";
	case REDIS_REPLY_INTEGER:
		return "an integer";
	case REDIS_REPLY_NIL:
		return "nil";
	case REDIS_REPLY_STATUS:
		return "a status";
	case REDIS_REPLY_ERROR:
		return "an error";
	}
	return "an unknown answer";
}

/* The message and blame for an error answer to `what`. */
static int error_answer(struct redis_state *st, const char *what, const redisReply *r, char *err, size_t errlen)
{
	char said[256];
	printable(r->str, r->len, said, sizeof said);
	if (!strncmp(r->str, "NOAUTH", 6)) {
		snprintf(err, errlen, "%s: %s: the server wants a password (%s): set passwordFile", st->shown, what, said);
		return ERR_ANSWER;
	}
	if (!strncmp(r->str, "MOVED ", 6) || !strncmp(r->str, "ASK ", 4)) {
		snprintf(err, errlen, "%s: %s: the server is part of a Redis Cluster, which this scaler does not follow (%s)",
			 st->shown, what, said);
		return ERR_ANSWER;
	}
	snprintf(err, errlen, "%s: %s: %s", st->shown, what, said);
	return blame_error(r->str);
}

/* A count answer: an integer >= 0. */
static int count_answer(struct redis_state *st, const char *what, const redisReply *r, long long *value, char *err,
			size_t errlen)
{
	if (r->type == REDIS_REPLY_ERROR)
		return error_answer(st, what, r, err, errlen);
	if (r->type != REDIS_REPLY_INTEGER) {
		char said[256] = "";
		if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) {
			char q[220];
			printable(r->str, r->len, q, sizeof q);
			snprintf(said, sizeof said, " '%s'", q);
		}
		snprintf(err, errlen, "%s: %s answered %s%s, not a count", st->shown, what, reply_kind(r->type), said);
		return ERR_ANSWER;
	}
	if (r->integer < 0) {
		snprintf(err, errlen, "%s: %s answered %lld, not a count", st->shown, what, r->integer);
		return ERR_ANSWER;
	}
	*value = r->integer;
	return 0;
}

/* After WRONGTYPE: asks TYPE so the message can name the key's real type. */
static int wrong_type(struct redis_state *st, const char *what_key, const char *key, const char *wanted,
		      int64_t deadline, char *err, size_t errlen)
{
	struct rcmd c = { 2, { "TYPE", key } };
	redisReply *r = NULL;
	char real[64] = "another type";
	int rc = exchange(st, &c, 1, &r, 0, deadline, err, errlen);
	if (rc)
		return rc == ERR_LOST ? ERR_SOURCE : rc;
	if (r->type == REDIS_REPLY_STATUS)
		printable(r->str, r->len, real, sizeof real);
	freeReplyObject(r);
	char k[220];
	printable(key, strlen(key), k, sizeof k);
	snprintf(err, errlen, "%s: %s '%s' holds a %s, not a %s", st->shown, what_key, k, real, wanted);
	return ERR_ANSWER;
}

static int is_wrongtype(const redisReply *r)
{
	return r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "WRONGTYPE", 9);
}

/* One command that answers a count, for a key that must be of kind. */
static int measure_simple(struct redis_state *st, enum rmode kind, const char *key, const char *what_key,
			  int64_t deadline, long long *value, char *err, size_t errlen)
{
	struct rcmd c = { 2, { kinds[kind].cmd, key } };
	redisReply *r = NULL;
	int rc = exchange(st, &c, 1, &r, 0, deadline, err, errlen);
	if (rc)
		return rc;
	if (is_wrongtype(r)) {
		freeReplyObject(r);
		return wrong_type(st, what_key, key, kinds[kind].type, deadline, err, errlen);
	}
	char what[300];
	char k[220];
	printable(key, strlen(key), k, sizeof k);
	snprintf(what, sizeof what, "%s '%s'", kinds[kind].cmd, k);
	rc = count_answer(st, what, r, value, err, errlen);
	freeReplyObject(r);
	return rc;
}

/* TYPE and LLEN in one round trip; for another type its own command. */
static int measure_auto(struct redis_state *st, const char *key, int64_t deadline, long long *value, char *err,
			size_t errlen)
{
	struct rcmd c[2] = { { 2, { "TYPE", key } }, { 2, { "LLEN", key } } };
	redisReply *r[2];
	int rc = exchange(st, c, 2, r, 0, deadline, err, errlen);
	if (rc)
		return rc;
	char k[220];
	printable(key, strlen(key), k, sizeof k);
	char what[300];
	enum rmode kind = RM_AUTO;
	if (r[0]->type == REDIS_REPLY_ERROR) {
		snprintf(what, sizeof what, "TYPE '%s'", k);
		rc = error_answer(st, what, r[0], err, errlen);
	} else if (r[0]->type != REDIS_REPLY_STATUS) {
		snprintf(err, errlen, "%s: TYPE '%s' answered %s, not a type name", st->shown, k, reply_kind(r[0]->type));
		rc = ERR_ANSWER;
	} else if (!strcmp(r[0]->str, "list") || !strcmp(r[0]->str, "none")) {
		snprintf(what, sizeof what, "LLEN '%s'", k);
		rc = count_answer(st, what, r[1], value, err, errlen);
	} else if (!strcmp(r[0]->str, "set")) {
		kind = RM_SET;
	} else if (!strcmp(r[0]->str, "zset")) {
		kind = RM_ZSET;
	} else if (!strcmp(r[0]->str, "hash")) {
		kind = RM_HASH;
	} else if (!strcmp(r[0]->str, "stream")) {
		snprintf(err, errlen, "%s: listName '%s' holds a stream; read it with params.stream (and consumerGroup "
				      "for pending entries or lag)",
			 st->shown, k);
		rc = ERR_ANSWER;
	} else {
		char t[64];
		printable(r[0]->str, r[0]->len, t, sizeof t);
		snprintf(err, errlen, "%s: listName '%s' holds a %s; it must be a list, set, zset or hash", st->shown, k, t);
		rc = ERR_ANSWER;
	}
	freeReplyObject(r[0]);
	freeReplyObject(r[1]);
	if (rc || kind == RM_AUTO)
		return rc;
	rc = measure_simple(st, kind, key, "listName", deadline, value, err, errlen);
	return rc == ERR_LOST ? ERR_SOURCE : rc;
}

/* XPENDING stream group: [count, first-id, last-id, consumers]. */
static int measure_pending(struct redis_state *st, const char *stream, const char *group, int64_t deadline,
			   long long *value, char *err, size_t errlen)
{
	struct rcmd c = { 3, { "XPENDING", stream, group } };
	redisReply *r = NULL;
	int rc = exchange(st, &c, 1, &r, 0, deadline, err, errlen);
	if (rc)
		return rc;
	char s[220], g[220], what[460];
	printable(stream, strlen(stream), s, sizeof s);
	printable(group, strlen(group), g, sizeof g);
	snprintf(what, sizeof what, "XPENDING '%s' '%s'", s, g);
	if (is_wrongtype(r)) {
		freeReplyObject(r);
		return wrong_type(st, "stream", stream, "stream", deadline, err, errlen);
	}
	if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "NOGROUP", 7)) {
		snprintf(err, errlen, "%s: stream '%s' or its consumer group '%s' does not exist", st->shown, s, g);
		rc = ERR_ANSWER;
	} else if (r->type == REDIS_REPLY_ERROR) {
		rc = error_answer(st, what, r, err, errlen);
	} else if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) {
		snprintf(err, errlen, "%s: %s answered %s%s, not the summary [count, first, last, consumers]", st->shown,
			 what, reply_kind(r->type), r->type == REDIS_REPLY_ARRAY ? " of another length" : "");
		rc = ERR_ANSWER;
	} else {
		char w[480];
		snprintf(w, sizeof w, "%s count", what);
		rc = count_answer(st, w, r->element[0], value, err, errlen);
	}
	freeReplyObject(r);
	return rc;
}

/* XINFO GROUPS stream, then the "lag" of the group (Redis >= 7). */
static int measure_lag(struct redis_state *st, const char *stream, const char *group, int64_t deadline,
		       long long *value, char *err, size_t errlen)
{
	struct rcmd c = { 3, { "XINFO", "GROUPS", stream } };
	redisReply *r = NULL;
	int rc = exchange(st, &c, 1, &r, 0, deadline, err, errlen);
	if (rc)
		return rc;
	char s[220], g[220], what[300];
	printable(stream, strlen(stream), s, sizeof s);
	printable(group, strlen(group), g, sizeof g);
	snprintf(what, sizeof what, "XINFO GROUPS '%s'", s);
	if (is_wrongtype(r)) {
		freeReplyObject(r);
		return wrong_type(st, "stream", stream, "stream", deadline, err, errlen);
	}
	if (r->type == REDIS_REPLY_ERROR && strstr(r->str, "no such key")) {
		snprintf(err, errlen, "%s: stream '%s' does not exist", st->shown, s);
		freeReplyObject(r);
		return ERR_ANSWER;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		rc = error_answer(st, what, r, err, errlen);
		freeReplyObject(r);
		return rc;
	}
	if (r->type != REDIS_REPLY_ARRAY) {
		snprintf(err, errlen, "%s: %s answered %s, not a list of groups", st->shown, what, reply_kind(r->type));
		freeReplyObject(r);
		return ERR_ANSWER;
	}
	const redisReply *found = NULL;
	for (size_t i = 0; i < r->elements && !found; i++) {
		const redisReply *gr = r->element[i];
		if (gr->type != REDIS_REPLY_ARRAY || gr->elements % 2) {
			snprintf(err, errlen, "%s: %s: group %zu is not a list of fields and values", st->shown, what, i + 1);
			freeReplyObject(r);
			return ERR_ANSWER;
		}
		for (size_t k = 0; k + 1 < gr->elements; k += 2) {
			const redisReply *f = gr->element[k], *v = gr->element[k + 1];
			if ((f->type == REDIS_REPLY_STRING || f->type == REDIS_REPLY_STATUS) && !strcmp(f->str, "name") &&
			    (v->type == REDIS_REPLY_STRING || v->type == REDIS_REPLY_STATUS) && v->len == strlen(group) &&
			    !memcmp(v->str, group, v->len))
				found = gr;
		}
	}
	if (!found) {
		snprintf(err, errlen, "%s: stream '%s' has no consumer group '%s'", st->shown, s, g);
		freeReplyObject(r);
		return ERR_ANSWER;
	}
	const redisReply *lag = NULL;
	for (size_t k = 0; k + 1 < found->elements; k += 2) {
		const redisReply *f = found->element[k];
		if ((f->type == REDIS_REPLY_STRING || f->type == REDIS_REPLY_STATUS) && !strcmp(f->str, "lag"))
			lag = found->element[k + 1];
	}
	if (!lag) {
		snprintf(err, errlen, "%s: %s has no \"lag\" for group '%s': consumer-group lag needs Redis 7 or later",
			 st->shown, what, g);
		rc = ERR_ANSWER;
	} else if (lag->type == REDIS_REPLY_NIL) {
		snprintf(err, errlen,
			 "%s: Redis cannot tell the lag of group '%s' on stream '%s' (entries were deleted, or the group "
			 "starts at an arbitrary ID); use mode pending or length",
			 st->shown, g, s);
		rc = ERR_ANSWER;
	} else {
		char w[560];
		snprintf(w, sizeof w, "%s lag of group '%s'", what, g);
		rc = count_answer(st, w, lag, value, err, errlen);
	}
	freeReplyObject(r);
	return rc;
}

static int measure(struct redis_state *st, const struct redis_metric *m, enum rmode mode, int64_t deadline,
		   long long *value, char *err, size_t errlen)
{
	switch (mode) {
	case RM_AUTO:
		return measure_auto(st, m->list_name, deadline, value, err, errlen);
	case RM_LIST:
	case RM_SET:
	case RM_ZSET:
	case RM_HASH:
		return measure_simple(st, mode, m->list_name, "listName", deadline, value, err, errlen);
	case RM_XLEN:
		return measure_simple(st, mode, m->stream, "stream", deadline, value, err, errlen);
	case RM_XPENDING:
		return measure_pending(st, m->stream, m->consumer_group, deadline, value, err, errlen);
	case RM_XLAG:
		return measure_lag(st, m->stream, m->consumer_group, deadline, value, err, errlen);
	}
	return ERR_ANSWER;
}

/* ------------------------------------------------------------------------ */
/* ops                                                                      */

static int rd_open(void *state, const void *source_params, const struct sw_host *host, char *err, size_t errlen)
{
	struct redis_state *st = state;
	const struct redis_params *p = source_params;
	memset(st, 0, sizeof *st);
	st->fd = -1;
	if (sw_hiredis_load(err, errlen))
		return -1;
	if (source_check(p, st->hostname, sizeof st->hostname, &st->port, err, errlen))
		return -1;
	st->db = (int)p->database_index;
	st->host = host;
	int v6 = strchr(st->hostname, ':') != NULL;
	if (st->db)
		snprintf(st->shown, sizeof st->shown, "'%s%s%s:%d/%d'", v6 ? "[" : "", st->hostname, v6 ? "]" : "",
			 st->port, st->db);
	else
		snprintf(st->shown, sizeof st->shown, "'%s%s%s:%d'", v6 ? "[" : "", st->hostname, v6 ? "]" : "", st->port);
	return 0;
}

static int rd_check_source(const void *source_params, char *err, size_t errlen)
{
	char host[256];
	int port;
	return source_check(source_params, host, sizeof host, &port, err, errlen);
}

static int rd_check_metric(const void *source_params, const struct sw_request *req, char *err, size_t errlen)
{
	enum rmode mode;
	if (req->query) {
		snprintf(err, errlen, "query: a redis source takes params, not a query");
		return -1;
	}
	return metric_mode(req->params, &mode, err, errlen);
}

static int rd_fetch(void *state, const void *source_params, const struct sw_request *req, struct sw_batch *out,
		    char *err, size_t errlen)
{
	struct redis_state *st = state;
	const struct redis_params *p = source_params;
	const struct redis_metric *m = req->params;
	enum rmode mode;
	char msg[1024];
	if (metric_mode(m, &mode, msg, sizeof msg)) {
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
	long long value = 0;
	int rc = 0;
	for (int attempt = 0;; attempt++) {
		int fresh = 0;
		if (st->connected && conn_stale(st))
			conn_drop(st);
		if (!st->connected) {
			rc = conn_open(st, p, req->deadline_ms, err, errlen);
			if (rc)
				return rc;
			fresh = 1;
		}
		rc = measure(st, m, mode, req->deadline_ms, &value, msg, sizeof msg);
		if (rc == ERR_LOST) {
			conn_drop(st);
			if (fresh || attempt) {
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
	if (st->host->batch_add(out, (double)value, clock_ms(st), NULL, 0)) {
		snprintf(err, errlen, "%s: the sample was refused", st->shown);
		return ERR_ANSWER;
	}
	return 0;
}

static void rd_close(void *state)
{
	struct redis_state *st = state;
	conn_drop(st);
	memset(st, 0, sizeof *st);
}

/* ------------------------------------------------------------------------ */
/* the descriptor                                                           */

#define SP(field) offsetof(struct redis_params, field)
#define MP(field) offsetof(struct redis_metric, field)
#define NOBOUNDS 1, 0

static const struct sw_param redis_source_params[] = {
	{ "address", SW_PARAM_STRING, SP(address), NULL, 0, NOBOUNDS,
	  "host:port of the Redis server ([addr]:port for IPv6); or host and port", NULL },
	{ "host", SW_PARAM_STRING, SP(host), NULL, 0, NOBOUNDS, "host name or address of the Redis server", NULL },
	{ "port", SW_PARAM_INT, SP(port), NULL, 0, 1, 65535, "port with host (default 6379)", NULL },
	{ "username", SW_PARAM_STRING, SP(username), NULL, 0, NOBOUNDS, "ACL user name (Redis 6 or later)", NULL },
	{ "passwordFile", SW_PARAM_FILE, SP(password_file), NULL, 0, NOBOUNDS,
	  "file holding the password, re-read at each connection", NULL },
	{ "databaseIndex", SW_PARAM_INT, SP(database_index), "0", 0, 0, 15, "database number to SELECT", NULL },
	{ "connectTimeout", SW_PARAM_DURATION, SP(connect_timeout_ms), "5s", 0, 1, 60000,
	  "time to establish the connection (the fetch deadline applies when sooner)", NULL },
	{ "enableTLS", SW_PARAM_BOOL, SP(enable_tls), "false", 0, NOBOUNDS, "not supported by this build", NULL },
	{ "unsafeSsl", SW_PARAM_BOOL, SP(unsafe_ssl), "false", 0, NOBOUNDS, "not supported by this build", NULL },
	{ "tls.caFile", SW_PARAM_FILE, SP(tls_ca_file), NULL, 0, NOBOUNDS, "not supported by this build", NULL },
	{ "tls.certFile", SW_PARAM_FILE, SP(tls_cert_file), NULL, 0, NOBOUNDS, "not supported by this build", NULL },
	{ "tls.keyFile", SW_PARAM_FILE, SP(tls_key_file), NULL, 0, NOBOUNDS, "not supported by this build", NULL },
	{ "tls.insecureSkipVerify", SW_PARAM_BOOL, SP(tls_insecure), "false", 0, NOBOUNDS,
	  "not supported by this build", NULL },
};

static const char *const type_choices[] = { "auto", "list", "set", "zset", "hash", NULL };
static const char *const mode_choices[] = { "pending", "lag", "length", NULL };

static const struct sw_param redis_metric_params[] = {
	{ "listName", SW_PARAM_STRING, MP(list_name), NULL, 0, NOBOUNDS, "key whose length is read", NULL },
	{ "type", SW_PARAM_STRING, MP(type), NULL, 0, NOBOUNDS,
	  "type of listName: auto (asks TYPE; the default), list, set, zset, hash", type_choices },
	{ "stream", SW_PARAM_STRING, MP(stream), NULL, 0, NOBOUNDS, "stream key", NULL },
	{ "consumerGroup", SW_PARAM_STRING, MP(consumer_group), NULL, 0, NOBOUNDS,
	  "consumer group of the stream, for mode pending or lag", NULL },
	{ "mode", SW_PARAM_STRING, MP(mode), NULL, 0, NOBOUNDS,
	  "pending (default with consumerGroup), lag (Redis 7), length (default without)", mode_choices },
};

const struct sw_scaler_type scaler_redis = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_scaler_type),
	.name = "redis",
	.flags = 0,
	.query = SW_QUERY_NONE,
	.state_size = sizeof(struct redis_state),
	.source_params_size = sizeof(struct redis_params),
	.source_params = redis_source_params,
	.n_source_params = sizeof redis_source_params / sizeof redis_source_params[0],
	.metric_params_size = sizeof(struct redis_metric),
	.metric_params = redis_metric_params,
	.n_metric_params = sizeof redis_metric_params / sizeof redis_metric_params[0],
	.open = rd_open,
	.check_metric = rd_check_metric,
	.fetch = rd_fetch,
	.close = rd_close,
	.check_source = rd_check_source,
};
