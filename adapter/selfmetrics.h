/*
 * selfmetrics.h — scalewise's own metrics, rendered on /metrics in the
 * Prometheus text format: requests by code and path class with a latency
 * histogram, build info, config load status, and whatever other modules add
 * through a renderer callback. Counters are atomics: any thread may record.
 */
#ifndef SW_SELFMETRICS_H
#define SW_SELFMETRICS_H

#include <stdbool.h>

#include "jsonw.h"

enum path_class { PC_METRIC, PC_DISCOVERY, PC_HEALTH, PC_METRICS, PC_OPENAPI, PC_OTHER, PC_COUNT };

void selfmetrics_request(enum path_class pc, int code, double seconds);
/* Records a config load or reload attempt. */
void selfmetrics_config_load(bool ok, double unix_seconds);
/* Records whether anonymous auth is on (exported as a gauge, warned about). */
void selfmetrics_set_anonymous(bool on);

/* Other modules render their own families through a callback; at most 16. */
typedef void selfmetrics_renderer(struct buf *b, void *arg);
void selfmetrics_add_renderer(selfmetrics_renderer *fn, void *arg);

void selfmetrics_render(struct buf *b);

#endif
