/*
 * rabbitmq.h — the RabbitMQ scaler (source `type: rabbitmq`): queue depth
 * and message rates from the management plugin's HTTP API, with KEDA's
 * rabbitmq trigger parameters where they mean the same.
 *
 * Source params: url (required: the management API's base, e.g.
 * http://rabbitmq:15672; credentials never in it: basicAuth {username,
 * passwordFile}), timeout (default 2s), headers, bearerTokenFile, tls {...}
 * — the shared set of scalers/http.h.
 * Metric params (`params:`):
 *   queueName              the queue; with useRegex, a POSIX extended
 *                          regular expression (regcomp REG_EXTENDED, not
 *                          Go's RE2 nor RabbitMQ's PCRE), unanchored
 *   vhostName              default "/"
 *   mode                   QueueLength (default) | MessageRate (publish
 *                          rate, message_stats.publish_details.rate) |
 *                          DeliverGetRate (message_stats.deliver_get_details.rate)
 *   excludeUnacknowledged  QueueLength counts messages_ready instead of
 *                          messages (ready + unacknowledged); default false
 *   useRegex               default false
 *   operation              sum (default) | avg | max over the matched queues
 *   pageSize               queues per page when listing for useRegex,
 *                          1..500, default 100
 * No `query:`. One sample without labels, stamped with the request's time.
 *
 * Requests: GET <url>/api/queues/<vhost>/<queue>?columns=..., or with
 * useRegex GET <url>/api/queues/<vhost>?page=N&page_size=P&columns=... for
 * every page, matched here. Answer errors (never a 0): a missing queue or
 * vhost (404), a queue whose statistics RabbitMQ has not emitted yet (no
 * "messages" field, for up to collect_statistics_interval after it is
 * declared), a regex that matches no queue, more than RABBITMQ_MAX_QUEUES
 * queues, a non-number field. With useRegex, matched queues without
 * statistics yet are left out of the aggregate as long as one matched queue
 * has them. A queue that has statistics but no message_stats (no message
 * ever published or delivered) has a rate of 0. avg is the mean as a
 * fraction (KEDA rounds counts down).
 */
#ifndef SW_RABBITMQ_H
#define SW_RABBITMQ_H

#include <stddef.h>

#include "scaler.h"

#define RABBITMQ_BODY_MAX ((size_t)4 * 1024 * 1024) /* per answer (one page) */
#define RABBITMQ_MAX_QUEUES 10000                   /* listed for one regex fetch */
#define RABBITMQ_PAGE_MAX 500                       /* RabbitMQ's own page size limit */

/* The descriptor for the built-in registry; fetches may run concurrently on
 * one source (SW_SCALER_CONCURRENT). */
extern const struct sw_scaler_type scaler_rabbitmq;

#endif
