/*
 * log.h — structured logs: one JSON object a line on stderr
 * ({"ts":…,"level":…,"msg":…, fields…}), or `ts level msg k=v …` with
 * --log-format=text. Thread-safe: a line is formatted into a local buffer and
 * written with one write(2). Secrets never go into fields.
 */
#ifndef SW_LOG_H
#define SW_LOG_H

#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

enum log_field_type { LF_STRING, LF_INT, LF_DOUBLE };

struct log_field {
	const char *key;
	enum log_field_type type;
	const char *s;
	long long i;
	double d;
};

#define LF_S(k, v) ((struct log_field){ .key = (k), .type = LF_STRING, .s = (v) })
#define LF_I(k, v) ((struct log_field){ .key = (k), .type = LF_INT, .i = (long long)(v) })
#define LF_D(k, v) ((struct log_field){ .key = (k), .type = LF_DOUBLE, .d = (double)(v) })

/* Sets the lowest level written (default info) and the format (0 json, 1 text). */
void log_setup(enum log_level min, int text);
/* Parses "debug|info|warn|error" into *out; -1 on anything else. */
int log_level_parse(const char *s, enum log_level *out);
/* True when lvl would be written (to skip building costly fields). */
int log_enabled(enum log_level lvl);
/* Writes one line. fields may be NULL when n is 0. */
void log_at(enum log_level lvl, const char *msg, const struct log_field *fields, size_t n);

#define LOG_FIELDS_(...) ((const struct log_field[]){ __VA_ARGS__ })
#define LOG_NFIELDS_(...) (sizeof LOG_FIELDS_(__VA_ARGS__) / sizeof(struct log_field))
/* LOGI("msg", LF_S("k", v), LF_I("n", 3)) — at least one field; use log_at(…, NULL, 0) for none. */
#define LOGD(msg, ...) log_at(LOG_DEBUG, msg, LOG_FIELDS_(__VA_ARGS__), LOG_NFIELDS_(__VA_ARGS__))
#define LOGI(msg, ...) log_at(LOG_INFO, msg, LOG_FIELDS_(__VA_ARGS__), LOG_NFIELDS_(__VA_ARGS__))
#define LOGW(msg, ...) log_at(LOG_WARN, msg, LOG_FIELDS_(__VA_ARGS__), LOG_NFIELDS_(__VA_ARGS__))
#define LOGE(msg, ...) log_at(LOG_ERROR, msg, LOG_FIELDS_(__VA_ARGS__), LOG_NFIELDS_(__VA_ARGS__))

#endif
