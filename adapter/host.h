/*
 * host.h — the table of host functions given to every scaler (scaler.h
 * struct sw_host): logging, the clock, adding samples, reading secret files,
 * a bounded HTTP GET. The same table serves built-ins and plugins.
 */
#ifndef SW_HOST_H
#define SW_HOST_H

#include "scaler.h"

const struct sw_host *host_table(void);

/* host->read_file: the whole file, trailing newlines stripped; at most n-1 bytes. */
long host_read_file(const char *path, char *buf, size_t n, char *err, size_t errlen);

#endif
