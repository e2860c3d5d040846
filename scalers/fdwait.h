/*
 * fdwait.h — waiting on one socket against a fetch's deadline, on the host's
 * clock: shared by the scalers that speak their server's protocol themselves
 * (redis, postgresql).
 */
#ifndef SW_FDWAIT_H
#define SW_FDWAIT_H

#include "scaler.h"

#include <stdint.h>

/* Waits until fd is ready for events or host->now_ms() reaches deadline:
 * 1 ready, 0 time is up, -1 error (or fd < 0). EINTR is retried. */
int fd_wait(const struct sw_host *host, int fd, short events, int64_t deadline);

#endif
