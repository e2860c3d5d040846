/*
 * log.c — JSON-lines (or text) logging to stderr.
 */
#include "log.h"

#include "jsonw.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static int text_format;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_setup(enum log_level min, int text)
{
	min_level = min;
	text_format = text;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_enabled(enum log_level lvl)
{
	return lvl >= min_level;
}

static void put_ts(struct buf *b)
{
	struct timespec ts;
	struct tm tm;
	char out[48];
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, sizeof out - n, ".%03ldZ", ts.tv_nsec / 1000000);
	buf_adds(b, out);
}

void log_at(enum log_level lvl, const char *msg, const struct log_field *fields, size_t n)
{
	if (lvl < min_level)
		return;
	struct buf b;
	buf_init(&b, 64 * 1024);
	if (text_format) {
		put_ts(&b);
		buf_addf(&b, " %-5s %s", level_names[lvl], msg);
		for (size_t i = 0; i < n; i++) {
			buf_addf(&b, " %s=", fields[i].key);
			switch (fields[i].type) {
			case LF_STRING:
				if (fields[i].s && !strpbrk(fields[i].s, " \"=\n"))
					buf_adds(&b, fields[i].s);
				else
					json_put_string(&b, fields[i].s ? fields[i].s : "", fields[i].s ? strlen(fields[i].s) : 0);
				break;
			case LF_INT: buf_addf(&b, "%lld", fields[i].i); break;
			case LF_DOUBLE: buf_addf(&b, "%.17g", fields[i].d); break;
			}
		}
	} else {
		buf_adds(&b, "{\"ts\":\"");
		put_ts(&b);
		buf_addf(&b, "\",\"level\":\"%s\",\"msg\":", level_names[lvl]);
		json_put_string(&b, msg, strlen(msg));
		for (size_t i = 0; i < n; i++) {
			buf_addc(&b, ',');
			json_put_string(&b, fields[i].key, strlen(fields[i].key));
			buf_addc(&b, ':');
			switch (fields[i].type) {
			case LF_STRING:
				if (fields[i].s)
					json_put_string(&b, fields[i].s, strlen(fields[i].s));
				else
					buf_adds(&b, "null");
				break;
			case LF_INT: buf_addf(&b, "%lld", fields[i].i); break;
			case LF_DOUBLE:
				if (fields[i].d != fields[i].d || fields[i].d - fields[i].d != 0)
					buf_addf(&b, "\"%g\"", fields[i].d);
				else
					buf_addf(&b, "%.17g", fields[i].d);
				break;
			}
		}
		buf_addc(&b, '}');
	}
	buf_addc(&b, '\n');
	if (b.data) {
		ssize_t w = write(STDERR_FILENO, b.data, b.len);
		(void)w;
	}
	buf_release(&b);
}
