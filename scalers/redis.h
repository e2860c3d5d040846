/*
 * redis.h — the Redis scaler (source `type: redis`): the length of a list,
 * set, sorted set or hash (`listName`), and for streams the length, the
 * pending entries of a consumer group or its lag (`stream`, `consumerGroup`,
 * `mode`). One sample per fetch, without labels.
 *
 * Source params (KEDA's names where the meaning is the same):
 *   address         "host:port" ("[v6]:port" for IPv6); or host + port
 *   host, port      port defaults to 6379 when only host is given
 *   username        ACL user (Redis >= 6); needs passwordFile
 *   passwordFile    file holding the password, read at every (re)connect
 *   databaseIndex   0..15, default 0 (SELECT after AUTH)
 *   connectTimeout  default 5s; the fetch deadline applies when sooner
 *   enableTLS, unsafeSsl, tls.{caFile,certFile,keyFile,insecureSkipVerify}
 *                   accepted by the loader so a KEDA trigger loads, but TLS
 *                   is refused: Debian's hiredis 0.14 has no TLS support.
 * Metric params (`params:`; no `query:`):
 *   listName        the key; its length is LLEN/SCARD/ZCARD/HLEN by `type`
 *   type            auto (default: TYPE, then the matching command), list,
 *                   set, zset, hash. A missing key is 0, as Redis answers.
 *   stream          a stream key
 *   consumerGroup   the group, for mode pending and lag
 *   mode            pending (XPENDING count; the default with a group),
 *                   lag (XINFO GROUPS "lag", Redis >= 7), length (XLEN; the
 *                   default without a group)
 *
 * Errors: SW_FETCH_SOURCE_ERROR when Redis cannot be reached, does not answer
 * by the deadline, closes the connection, speaks something that is not RESP,
 * refuses the credentials, or says it is busy (LOADING, BUSY, MASTERDOWN,
 * TRYAGAIN, CLUSTERDOWN); SW_FETCH_ANSWER_ERROR when Redis answered but not
 * with a count: a key of the wrong type (the message names its real type),
 * a missing stream or group, a lag Redis cannot tell, an ACL refusal
 * (NOPERM), a cluster redirect, an answer over the caps below.
 *
 * Connections: one per source, opened at the first fetch, reused, checked
 * for a close by the server before each fetch, and re-opened once within the
 * deadline when found dead. Fetches of one source are serialised by the core.
 */
#ifndef SW_REDIS_H
#define SW_REDIS_H

#include <stddef.h>

#include "scaler.h"

#define REDIS_ANSWER_MAX ((size_t)1024 * 1024) /* bytes of one exchange's answers */
#define REDIS_ARRAY_MAX 100000                  /* elements of one array in an answer */
#define REDIS_PASSWORD_MAX 4096                 /* bytes of the password file */

extern const struct sw_scaler_type scaler_redis;

/* Splits "host:port" or "[v6addr]:port" into host (NUL-terminated, at most
 * hostlen-1 bytes) and *port (1..65535). 0, or -1 with a message naming the
 * address. Pure; any thread. */
int redis_address_parse(const char *address, char *host, size_t hostlen, int *port, char *err, size_t errlen);

#endif
