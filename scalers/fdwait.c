/* fdwait.c — see fdwait.h. */
#include "fdwait.h"

#include <errno.h>
#include <poll.h>

int fd_wait(const struct sw_host *host, int fd, short events, int64_t deadline)
{
	if (fd < 0)
		return -1;
	for (;;) {
		int64_t left = deadline - host->now_ms();
		if (left <= 0)
			return 0;
		struct pollfd pfd = { .fd = fd, .events = events };
		int r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r > 0)
			return 1;
	}
}
