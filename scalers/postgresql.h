/*
 * postgresql.h — the PostgreSQL scaler (source `type: postgresql`): a SQL
 * query that returns one number, run through libpq in a read-only
 * transaction whose statement_timeout comes from the fetch deadline:
 *   BEGIN READ ONLY; SET LOCAL statement_timeout = <ms>
 *   <query>            (extended protocol: one statement, no parameters)
 *   ROLLBACK
 * One sample per fetch, without labels.
 *
 * Source params (KEDA's names where the meaning is the same):
 *   connection      a libpq connection string or URI ("host=db port=5432
 *                   dbname=app user=scaler sslmode=require"); never shown
 *                   in a message, since it may hold a password
 *   connectionFile  a file holding such a string, read at every (re)connect
 *   host, port, userName, dbName, sslmode
 *                   fields instead of a connection string; host, userName
 *                   and dbName are then required, port defaults to 5432
 *   passwordFile    file holding the password, read at every (re)connect;
 *                   goes with the fields or with a connection string
 *   sslrootcert, sslcert, sslkey
 *                   files for TLS, as libpq names them
 *   connectTimeout  default 5s; the fetch deadline applies when sooner
 *   applicationName default "scalewise" (pg_stat_activity)
 * Metric params (`params:`; no `query:`):
 *   query           required: SQL returning exactly one row of one column
 *                   that reads as a finite number
 *
 * Errors: SW_FETCH_SOURCE_ERROR when the server cannot be reached, refuses
 * the connection (a wrong password included: libpq reports a failed
 * connection), does not answer by the deadline, closes the connection, or
 * fails with a server-side condition (SQLSTATE classes 08, 40, 53, 57
 * including the statement timeout, 58, XX); SW_FETCH_ANSWER_ERROR when the
 * query failed for its own reasons (syntax, missing table, permission, a
 * write in the read-only transaction) or its answer is not one number: no
 * row or more than one, not one column, NULL, not a number, NaN/Infinity.
 * A password or connection file that cannot be read is an answer error.
 *
 * Connections: one per source, opened at the first fetch, reused, checked
 * before each fetch, and re-opened once within the deadline when found
 * dead. Fetches of one source are serialised by the core. Host names are
 * resolved by libpq without a time limit.
 */
#ifndef SW_POSTGRESQL_H
#define SW_POSTGRESQL_H

#include <stddef.h>

#include "scaler.h"

#define POSTGRESQL_MAX_ROWS 1000        /* rows read to count them; beyond, the connection is dropped */
#define POSTGRESQL_VALUE_MAX 1000       /* bytes of the value's text */
#define POSTGRESQL_SECRET_MAX 8192      /* bytes of a password or connection file */

extern const struct sw_scaler_type scaler_postgresql;

/* Reads the text of one result field as a finite number. oid is the
 * column's type (for the message); len its length. 0, or -1 with a message
 * such as "query returned 'abc' (text), not a number". Pure; any thread. */
int postgresql_parse_value(const char *text, size_t len, unsigned int oid, double *out, char *err, size_t errlen);

#endif
