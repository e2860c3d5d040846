/*
 * names.c — Kubernetes name and label validation (see names.h).
 *
 * The Go code matches regular expressions; the shapes below are the same
 * languages written out by hand (each regex is anchored with ^...$ and Go's
 * `$` matches only at the very end, so a trailing newline is invalid).
 * Message texts and their order follow pkg/api/validate/content (kube.go,
 * dns.go, path.go, errors.go) and pkg/util/validation (DNS-1035).
 */
#include "names.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Regex sources, quoted verbatim in Kubernetes' messages              */

#define LABEL_KEY_FMT     "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
#define LABEL_VALUE_FMT   "(" LABEL_KEY_FMT ")?"
#define DNS1123_LABEL_FMT "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
#define DNS1123_SUBDOMAIN_FMT DNS1123_LABEL_FMT "(\\." DNS1123_LABEL_FMT ")*"
#define DNS1035_LABEL_FMT "[a-z]([-a-z0-9]*[a-z0-9])?"

#define LABEL_KEY_ERR_MSG "must consist of alphanumeric characters, '-', '_' or '.', " \
	"and must start and end with an alphanumeric character"
#define LABEL_VALUE_ERR_MSG "a valid label must be an empty string or consist of " \
	"alphanumeric characters, '-', '_' or '.', and must start and end with an " \
	"alphanumeric character"
#define DNS1123_LABEL_ERR_MSG "a lowercase RFC 1123 label must consist of lower case " \
	"alphanumeric characters or '-', and must start and end with an alphanumeric character"
#define DNS1123_SUBDOMAIN_ERR_MSG "a lowercase RFC 1123 subdomain must consist of lower " \
	"case alphanumeric characters, '-' or '.', and must start and end with an " \
	"alphanumeric character"
#define DNS1035_LABEL_ERR_MSG "a DNS-1035 label must consist of lower case alphanumeric " \
	"characters or '-', start with an alphabetic character, and end with an " \
	"alphanumeric character"

/* ------------------------------------------------------------------ */
/* Message list: "; "-joined, snprintf-style into a caller's buffer     */

struct msgs {
	char *buf;
	size_t cap;
	size_t len;    /* full length, may exceed cap */
	int count;
};

static void msgs_init(struct msgs *m, char *buf, size_t cap)
{
	m->buf = buf;
	m->cap = buf ? cap : 0;
	m->len = 0;
	m->count = 0;
	if (m->cap > 0)
		m->buf[0] = '\0';
}

static void msgs_put(struct msgs *m, const char *s, size_t n)
{
	if (m->len + 1 < m->cap) {
		size_t room = m->cap - 1 - m->len;
		size_t k = n < room ? n : room;
		memcpy(m->buf + m->len, s, k);
		m->buf[m->len + k] = '\0';
	}
	m->len += n;
}

static void msgs_puts(struct msgs *m, const char *s)
{
	msgs_put(m, s, strlen(s));
}

/* Starts a new message: the separator when one came before. */
static void msgs_next(struct msgs *m)
{
	if (m->count++ > 0)
		msgs_puts(m, "; ");
}

/* content.RegexError: msg (e.g. 'a',  or 'b', regex used for validation is 're') */
static void msgs_regex(struct msgs *m, const char *msg, const char *re,
		       const char *const *examples, size_t nexamples)
{
	msgs_puts(m, msg);
	if (nexamples == 0) {
		msgs_puts(m, " (regex used for validation is '");
	} else {
		msgs_puts(m, " (e.g. ");
		for (size_t i = 0; i < nexamples; i++) {
			if (i > 0)
				msgs_puts(m, " or ");
			msgs_puts(m, "'");
			msgs_puts(m, examples[i]);
			msgs_puts(m, "', ");
		}
		msgs_puts(m, "regex used for validation is '");
	}
	msgs_puts(m, re);
	msgs_puts(m, "')");
}

/* MaxLenError: content says "bytes", pkg/util/validation "characters". */
static void msgs_maxlen(struct msgs *m, int max, const char *unit)
{
	char tmp[64];
	int k = snprintf(tmp, sizeof tmp, "must be no more than %d %s", max, unit);
	if (k > 0)
		msgs_put(m, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

/* ------------------------------------------------------------------ */
/* Shapes                                                              */

static bool is_lower_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(unsigned char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* [a-z0-9]([-a-z0-9]*[a-z0-9])? */
static bool dns1123_label_shape(const char *s, size_t n)
{
	if (n == 0 || !is_lower_alnum((unsigned char)s[0]) ||
	    !is_lower_alnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_lower_alnum(c) && c != '-')
			return false;
	}
	return true;
}

/* label(\.label)* with the label shape above */
static bool dns1123_subdomain_shape(const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i == n || s[i] == '.') {
			if (!dns1123_label_shape(s + start, i - start))
				return false;
			start = i + 1;
		}
	}
	return true;
}

/* [a-z]([-a-z0-9]*[a-z0-9])? */
static bool dns1035_label_shape(const char *s, size_t n)
{
	if (n == 0 || s[0] < 'a' || s[0] > 'z')
		return false;
	return dns1123_label_shape(s, n);
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] */
static bool label_name_shape(const char *s, size_t n)
{
	if (n == 0 || !is_alnum((unsigned char)s[0]) || !is_alnum((unsigned char)s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!is_alnum(c) && c != '-' && c != '_' && c != '.')
			return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Validators with messages                                            */

static void subdomain_msgs(struct msgs *m, const char *s, size_t n, const char *prefix)
{
	static const char *const ex[] = { "example.com" };

	if (n > NAME_DNS1123_SUBDOMAIN_MAX) {
		msgs_next(m);
		msgs_puts(m, prefix);
		msgs_maxlen(m, NAME_DNS1123_SUBDOMAIN_MAX, "bytes");
	}
	if (!dns1123_subdomain_shape(s, n)) {
		msgs_next(m);
		msgs_puts(m, prefix);
		msgs_regex(m, DNS1123_SUBDOMAIN_ERR_MSG, DNS1123_SUBDOMAIN_FMT, ex, 1);
	}
}

size_t name_dns1123_subdomain_errors(const char *s, size_t n, char *buf, size_t len)
{
	struct msgs m;

	msgs_init(&m, buf, len);
	subdomain_msgs(&m, s, n, "");
	return m.len;
}

size_t name_dns1123_label_errors(const char *s, size_t n, char *buf, size_t len)
{
	static const char *const ex[] = { "my-name", "123-abc" };
	struct msgs m;

	msgs_init(&m, buf, len);
	if (n > NAME_DNS1123_LABEL_MAX) {
		msgs_next(&m);
		msgs_maxlen(&m, NAME_DNS1123_LABEL_MAX, "bytes");
	}
	if (!dns1123_label_shape(s, n)) {
		msgs_next(&m);
		if (dns1123_subdomain_shape(s, n))
			msgs_puts(&m, "must not contain dots");
		else
			msgs_regex(&m, DNS1123_LABEL_ERR_MSG, DNS1123_LABEL_FMT, ex, 2);
	}
	return m.len;
}

size_t name_dns1035_label_errors(const char *s, size_t n, char *buf, size_t len)
{
	static const char *const ex[] = { "my-name", "abc-123" };
	struct msgs m;

	msgs_init(&m, buf, len);
	if (n > NAME_DNS1035_LABEL_MAX) {
		msgs_next(&m);
		msgs_maxlen(&m, NAME_DNS1035_LABEL_MAX, "characters");
	}
	if (!dns1035_label_shape(s, n)) {
		msgs_next(&m);
		msgs_regex(&m, DNS1035_LABEL_ERR_MSG, DNS1035_LABEL_FMT, ex, 2);
	}
	return m.len;
}

/*
 * content.IsLabelKey. The prefix is what comes before the first "/"; a
 * second "/" gives one message about the whole key and nothing else.
 */
size_t name_label_key_errors(const char *s, size_t n, char *buf, size_t len)
{
	static const char *const ex[] = { "MyName", "my.name", "123-abc" };
	const char *name = s;
	size_t nname = n;
	struct msgs m;

	msgs_init(&m, buf, len);
	const char *slash = n ? memchr(s, '/', n) : NULL;
	if (slash) {
		size_t nprefix = (size_t)(slash - s);
		name = slash + 1;
		nname = n - nprefix - 1;
		if (nname && memchr(name, '/', nname)) {
			msgs_next(&m);
			msgs_puts(&m, "a valid label key ");
			msgs_regex(&m, LABEL_KEY_ERR_MSG, LABEL_KEY_FMT, ex, 3);
			msgs_puts(&m, " with an optional DNS subdomain prefix and '/' "
				  "(e.g. 'example.com/MyName')");
			return m.len;
		}
		if (nprefix == 0) {
			msgs_next(&m);
			msgs_puts(&m, "prefix part must be non-empty");
		} else {
			subdomain_msgs(&m, s, nprefix, "prefix part ");
		}
	}
	if (nname == 0) {
		msgs_next(&m);
		msgs_puts(&m, "name part must be non-empty");
	} else if (nname > NAME_LABEL_NAME_MAX) {
		msgs_next(&m);
		msgs_puts(&m, "name part ");
		msgs_maxlen(&m, NAME_LABEL_NAME_MAX, "bytes");
	}
	if (!label_name_shape(name, nname)) {
		msgs_next(&m);
		msgs_puts(&m, "name part ");
		msgs_regex(&m, LABEL_KEY_ERR_MSG, LABEL_KEY_FMT, ex, 3);
	}
	return m.len;
}

size_t name_label_value_errors(const char *s, size_t n, char *buf, size_t len)
{
	static const char *const ex[] = { "MyValue", "my_value", "12345" };
	struct msgs m;

	msgs_init(&m, buf, len);
	if (n > NAME_LABEL_VALUE_MAX) {
		msgs_next(&m);
		msgs_maxlen(&m, NAME_LABEL_VALUE_MAX, "bytes");
	}
	if (n > 0 && !label_name_shape(s, n)) {
		msgs_next(&m);
		msgs_regex(&m, LABEL_VALUE_ERR_MSG, LABEL_VALUE_FMT, ex, 3);
	}
	return m.len;
}

/* ------------------------------------------------------------------ */
/* Yes/no forms                                                        */

bool name_is_dns1123_label(const char *s, size_t n)
{
	return n <= NAME_DNS1123_LABEL_MAX && dns1123_label_shape(s, n);
}

bool name_is_dns1123_subdomain(const char *s, size_t n)
{
	return n <= NAME_DNS1123_SUBDOMAIN_MAX && dns1123_subdomain_shape(s, n);
}

bool name_is_dns1035_label(const char *s, size_t n)
{
	return n <= NAME_DNS1035_LABEL_MAX && dns1035_label_shape(s, n);
}

bool name_is_label_key(const char *s, size_t n)
{
	return name_label_key_errors(s, n, NULL, 0) == 0;
}

bool name_is_label_value(const char *s, size_t n)
{
	return n <= NAME_LABEL_VALUE_MAX && (n == 0 || label_name_shape(s, n));
}

bool name_is_path_segment(const char *s, size_t n, char *err, size_t errlen)
{
	struct msgs m;

	msgs_init(&m, err, errlen);
	if (n == 1 && s[0] == '.') {
		msgs_next(&m);
		msgs_puts(&m, "may not be '.'");
		return false;
	}
	if (n == 2 && s[0] == '.' && s[1] == '.') {
		msgs_next(&m);
		msgs_puts(&m, "may not be '..'");
		return false;
	}
	if (n && memchr(s, '/', n)) {
		msgs_next(&m);
		msgs_puts(&m, "may not contain '/'");
	}
	if (n && memchr(s, '%', n)) {
		msgs_next(&m);
		msgs_puts(&m, "may not contain '%'");
	}
	return m.count == 0;
}
