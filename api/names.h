/*
 * names.h — Kubernetes name and label validation, as kubernetes/apimachinery
 * does it (pkg/api/validate/content, pkg/util/validation; K8S-WIRE.md §6).
 *
 * Every function takes a byte string with an explicit length (it may hold
 * any bytes, NUL included; a NUL is simply an invalid character), reads it
 * and nothing else. No function allocates or keeps a pointer; all are pure
 * and safe to call from any thread.
 *
 * The `_errors` variants write Kubernetes' own messages (the []string a Go
 * validator returns, joined with "; " as labels.Parse joins them) into buf,
 * snprintf-style: at most n-1 bytes and a NUL when n > 0, and return the
 * length the whole text has (0 when the input is valid). buf may be NULL
 * when n is 0.
 */
#ifndef SW_NAMES_H
#define SW_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Lengths Kubernetes enforces. */
#define NAME_DNS1123_LABEL_MAX     63
#define NAME_DNS1123_SUBDOMAIN_MAX 253
#define NAME_DNS1035_LABEL_MAX     63
#define NAME_LABEL_NAME_MAX        63  /* the name part of a label key */
#define NAME_LABEL_VALUE_MAX       63

/*
 * DNS-1123 label: 1..63 bytes of `[a-z0-9]([-a-z0-9]*[a-z0-9])?`
 * (content.IsDNS1123Label; the namespace rule).
 */
bool name_is_dns1123_label(const char *s, size_t n);

/*
 * DNS-1123 subdomain: 1..253 bytes, dot-separated DNS-1123 label shapes
 * (no per-label length limit), content.IsDNS1123Subdomain.
 */
bool name_is_dns1123_subdomain(const char *s, size_t n);

/*
 * DNS-1035 label: like a DNS-1123 label but starting with [a-z]
 * (validation.IsDNS1035Label).
 */
bool name_is_dns1035_label(const char *s, size_t n);

/*
 * Label key (content.IsLabelKey, alias IsQualifiedName): `[prefix "/"] name`,
 * prefix a non-empty DNS-1123 subdomain, name 1..63 bytes of
 * `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`; at most one "/".
 */
bool name_is_label_key(const char *s, size_t n);

/* Label value (content.IsLabelValue): empty, or a label-key name of ≤63 bytes. */
bool name_is_label_value(const char *s, size_t n);

/*
 * Path segment name (content.IsPathSegmentName): not "." or "..", and no
 * "/" or "%". Empty and non-ASCII names are allowed. On false, writes
 * Kubernetes' message(s) into err (snprintf-style, "; "-joined), e.g.
 * `may not be '.'`, `may not contain '%'`. err may be NULL when errlen is 0.
 */
bool name_is_path_segment(const char *s, size_t n, char *err, size_t errlen);
/* The longest path segment the server routes (a metric name, a namespace). */
#define PATH_SEGMENT_MAX 255

/*
 * Messages, as described at the top. Texts are the Go ones, e.g. for a
 * label key `name part must be no more than 63 bytes` or
 * `prefix part a lowercase RFC 1123 subdomain must consist of ...`.
 */
size_t name_dns1123_label_errors(const char *s, size_t n, char *buf, size_t len);
size_t name_dns1123_subdomain_errors(const char *s, size_t n, char *buf, size_t len);
size_t name_dns1035_label_errors(const char *s, size_t n, char *buf, size_t len);
size_t name_label_key_errors(const char *s, size_t n, char *buf, size_t len);
size_t name_label_value_errors(const char *s, size_t n, char *buf, size_t len);

#endif
