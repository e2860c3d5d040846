/*
 * status.h — Kubernetes `Status` error bodies (K8S-WIRE.md §3), byte for byte
 * as k8s.io/apiserver writes them: kind, apiVersion, metadata {}, status,
 * message, reason, details, code; one trailing newline.
 */
#ifndef SW_STATUS_H
#define SW_STATUS_H

#include "jsonw.h"

/* Appends a Failure Status with the given HTTP code, reason (may be "" for
 * none) and message. details_json, when not NULL, is a ready JSON object. */
void status_write(struct buf *b, int code, const char *reason, const char *message, const char *details_json);

/* The reason Kubernetes uses for an HTTP code ("NotFound", "BadRequest", ...),
 * or "" when it has none. */
const char *status_reason(int code);

#endif
