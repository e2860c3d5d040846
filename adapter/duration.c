/*
 * duration.c — parsing and printing Go-style durations.
 */
#include "duration.h"

#include <stdio.h>
#include <string.h>

int duration_parse(const char *s, int64_t *ms, char *err, size_t errlen)
{
	const char *p = s;
	double total_ns = 0;

	if (!s || !*s) {
		snprintf(err, errlen, "empty duration");
		return -1;
	}
	if (!strcmp(s, "0")) {
		*ms = 0;
		return 0;
	}
	if (*p == '-') {
		snprintf(err, errlen, "invalid duration '%s': must not be negative", s);
		return -1;
	}
	if (*p == '+')
		p++;
	if (!*p)
		goto bad;
	while (*p) {
		double v = 0, frac = 0, scale = 1;
		int digits = 0;
		while (*p >= '0' && *p <= '9') {
			v = v * 10 + (*p++ - '0');
			digits++;
		}
		if (*p == '.') {
			p++;
			while (*p >= '0' && *p <= '9') {
				scale /= 10;
				frac += (*p++ - '0') * scale;
				digits++;
			}
		}
		if (!digits)
			goto bad;
		double unit;
		if (!strncmp(p, "ns", 2)) {
			unit = 1;
			p += 2;
		} else if (!strncmp(p, "us", 2) || !strncmp(p, "\xc2\xb5s", 3)) {
			unit = 1e3;
			p += (*p == 'u') ? 2 : 3;
		} else if (!strncmp(p, "ms", 2)) {
			unit = 1e6;
			p += 2;
		} else if (*p == 's') {
			unit = 1e9;
			p++;
		} else if (*p == 'm') {
			unit = 60e9;
			p++;
		} else if (*p == 'h') {
			unit = 3600e9;
			p++;
		} else {
			snprintf(err, errlen, "invalid duration '%s': missing or unknown unit (use ms, s, m or h)", s);
			return -1;
		}
		total_ns += (v + frac) * unit;
		if (total_ns > 9.2e18) {
			snprintf(err, errlen, "invalid duration '%s': too large", s);
			return -1;
		}
	}
	int64_t out = (int64_t)(total_ns / 1e6);
	if ((double)out * 1e6 < total_ns)
		out++;
	*ms = out;
	return 0;
bad:
	snprintf(err, errlen, "invalid duration '%s'", s);
	return -1;
}

size_t duration_format(int64_t ms, char *buf, size_t n)
{
	size_t len = 0;
	int w;
	if (ms == 0)
		return (size_t)snprintf(buf, n, "0s");
	if (ms < 1000)
		return (size_t)snprintf(buf, n, "%lldms", (long long)ms);
	int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, rest = ms % 1000;
	buf[0] = 0;
	if (h) {
		w = snprintf(buf + len, n - len, "%lldh", (long long)h);
		len += (size_t)w < n - len ? (size_t)w : 0;
	}
	if (h || m) {
		w = snprintf(buf + len, n - len, "%lldm", (long long)m);
		len += (size_t)w < n - len ? (size_t)w : 0;
	}
	if (rest)
		w = snprintf(buf + len, n - len, "%lld.%03llds", (long long)s, (long long)rest);
	else
		w = snprintf(buf + len, n - len, "%llds", (long long)s);
	len += (size_t)w < n - len ? (size_t)w : 0;
	return len;
}
