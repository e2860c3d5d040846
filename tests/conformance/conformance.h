/*
 * conformance.h — the contract between the vector-file driver (conformance.c)
 * and one checker per vector family (quantity, selector, validation, hpa).
 *
 * A checker gets one case (a cJSON object from a file's "cases" array) and
 * says whether our code gives what the case expects. On CONF_FAIL and
 * CONF_SKIP it writes a one-line reason into why (NUL-terminated, truncated
 * to n bytes). Checkers never print and never exit.
 */
#ifndef SW_CONFORMANCE_H
#define SW_CONFORMANCE_H

#include <stddef.h>
#include <cJSON.h>

enum conf_result { CONF_PASS, CONF_FAIL, CONF_SKIP };

typedef enum conf_result conf_check_fn(const cJSON *c, char *why, size_t n);

conf_check_fn conf_quantity;    /* conf_quantity.c   (op: parse, construct, ...) */
conf_check_fn conf_selector;    /* conf_selector.c   (op: parse, match, lex, ...) */
conf_check_fn conf_validation;  /* conf_validation.c (kind: dns1123_label, ...)  */
conf_check_fn conf_hpa;         /* conf_hpa.c        (kind: external_value, ...) */

/* Helpers shared by checkers. */
/* Reads an int64 exactly from a JSON string ("123") or an integral number. Returns 0 or -1. */
int conf_int64(const cJSON *item, long long *out);
/* The string value of key in obj, or NULL. */
const char *conf_str(const cJSON *obj, const char *key);

#endif
