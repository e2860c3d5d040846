/*
 * metrics_api.h — the metrics-api scaler (source `type: metrics-api`): an
 * HTTP GET of any JSON endpoint and one number read from it, as KEDA's
 * metrics-api trigger does.
 *
 * Source params: url (optional: a base that metric paths are joined to),
 * timeout (default 2s), headers, bearerTokenFile, basicAuth {username,
 * passwordFile}, tls {caFile, certFile, keyFile, insecureSkipVerify} — the
 * shared set of scalers/http.h.
 * Metric params (`params:`):
 *   url            a full http(s) URL, or a path joined to the source's url;
 *                  one of the two must give a URL
 *   valueLocation  where the number is (required), in the GJSON subset of
 *                  scalers/valuepath.h: `components.worker.tasks`,
 *                  `items.0.count`, `items.#`
 *   format         "json" (the default and the only format; KEDA's xml, yaml
 *                  and prometheus formats are refused)
 * No `query:`. One sample without labels, stamped with the request's time.
 * The value is a JSON number or a quantity string ("1.5k"); a boolean, null,
 * an object, another string or a missing path is an answer error naming the
 * path, never a 0. Bodies are capped at METRICS_API_BODY_MAX.
 */
#ifndef SW_METRICS_API_H
#define SW_METRICS_API_H

#include <stddef.h>

#include "scaler.h"

#define METRICS_API_BODY_MAX ((size_t)4 * 1024 * 1024)

/* The descriptor for the built-in registry; fetches may run concurrently on
 * one source (SW_SCALER_CONCURRENT). */
extern const struct sw_scaler_type scaler_metrics_api;

#endif
