/*
 * nats_jetstream.h — the NATS JetStream scaler (source `type:
 * nats-jetstream`): a consumer's backlog from a nats-server's monitoring
 * endpoint, as KEDA's nats-jetstream trigger reads it.
 *
 * Source params: url (required: the monitoring endpoint's base, e.g.
 * http://nats:8222; KEDA's natsServerMonitoringEndpoint + useHttps), timeout
 * (default 2s), headers, bearerTokenFile, basicAuth {username, passwordFile},
 * tls {...} — the shared set of scalers/http.h.
 * Metric params (`params:`):
 *   account   the account holding the stream ("$G" on a server without
 *             accounts); optional: without it the stream is looked for in
 *             every account, and must be in exactly one
 *   stream    the stream (required)
 *   consumer  the consumer (required)
 * No `query:`. One sample without labels, stamped with the request's time:
 * num_pending + num_ack_pending of the consumer (KEDA's lag: messages not yet
 * delivered plus messages delivered but not acknowledged).
 *
 * Request: GET <url>/jsz?accounts=true&consumers=true[&acc=<account>].
 * Answer errors (never a 0): JetStream disabled on the server, an account,
 * stream or consumer that is not in the answer (named in the message), a
 * stream found in several accounts without `account`, a count that is not
 * a number. Left out: KEDA's search of a cluster for the consumer's leader;
 * point the source at a server that hosts the consumer.
 */
#ifndef SW_NATS_JETSTREAM_H
#define SW_NATS_JETSTREAM_H

#include <stddef.h>

#include "scaler.h"

#define NATS_JETSTREAM_BODY_MAX ((size_t)16 * 1024 * 1024) /* /jsz lists every stream and consumer */

/* The descriptor for the built-in registry; fetches may run concurrently on
 * one source (SW_SCALER_CONCURRENT). */
extern const struct sw_scaler_type scaler_nats_jetstream;

#endif
