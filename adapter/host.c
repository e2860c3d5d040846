/*
 * host.c — the host function table.
 */
#include "host.h"

#include "batch.h"
#include "http.h"
#include "log.h"
#include "runtime.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void host_log(enum sw_log_level level, const char *scaler, const char *msg)
{
	enum log_level l = level == SW_LOG_DEBUG ? LOG_DEBUG
			 : level == SW_LOG_INFO	 ? LOG_INFO
			 : level == SW_LOG_WARN	 ? LOG_WARN
						 : LOG_ERROR;
	log_at(l, msg, (const struct log_field[]){ LF_S("scaler", scaler ? scaler : "?") }, 1);
}

static int64_t host_now(void)
{
	return now_ms();
}

long host_read_file(const char *path, char *buf, size_t n, char *err, size_t errlen)
{
	if (!path || !*path) {
		snprintf(err, errlen, "no file named");
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	size_t len = 0;
	for (;;) {
		if (len + 1 >= n) {
			char extra;
			ssize_t more = read(fd, &extra, 1);
			close(fd);
			if (more > 0) {
				snprintf(err, errlen, "'%s' is larger than %zu bytes", path, n - 1);
				return -1;
			}
			break;
		}
		ssize_t r = read(fd, buf + len, n - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		if (r == 0) {
			close(fd);
			break;
		}
		len += (size_t)r;
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
		len--;
	buf[len] = 0;
	return (long)len;
}

static const struct sw_host table = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_host),
	.log = host_log,
	.now_ms = host_now,
	.batch_add = batch_add,
	.read_file = host_read_file,
	.http_get = http_host_get,
};

const struct sw_host *host_table(void)
{
	return &table;
}
