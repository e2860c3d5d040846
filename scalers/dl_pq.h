/*
 * dl_pq.h — libpq, loaded on first use (scalers/dynlib.h says why).
 * Include this instead of <libpq-fe.h>; call sw_pq_load() before any PQ*
 * call (the postgresql scaler does, in open and check).
 */
#ifndef SW_DL_PQ_H
#define SW_DL_PQ_H

#include <libpq-fe.h>
#include <stddef.h>

#define SW_PQ_FUNCS(X) \
	X(PQclear) X(PQcmdStatus) X(PQconndefaults) X(PQconnectPoll) X(PQconnectStartParams) \
	X(PQconninfoFree) X(PQconninfoParse) X(PQconsumeInput) X(PQerrorMessage) X(PQfinish) \
	X(PQflush) X(PQfreemem) X(PQftype) X(PQgetResult) X(PQgetisnull) X(PQgetlength) \
	X(PQgetvalue) X(PQisBusy) X(PQnfields) X(PQresStatus) X(PQresultErrorField) \
	X(PQresultErrorMessage) X(PQresultStatus) X(PQsendQuery) X(PQsendQueryParams) \
	X(PQsetNoticeProcessor) X(PQsetSingleRowMode) X(PQsetnonblocking) X(PQsocket) \
	X(PQstatus) X(PQtransactionStatus)

struct sw_pq_api {
#define SW_X(f) __typeof__(f) *f;
	SW_PQ_FUNCS(SW_X)
#undef SW_X
};
extern struct sw_pq_api sw_pq;

/* dlopens libpq once; 0 or -1 with err. */
int sw_pq_load(char *err, size_t errlen);

#ifndef SW_DL_IMPL
#define PQclear sw_pq.PQclear
#define PQcmdStatus sw_pq.PQcmdStatus
#define PQconndefaults sw_pq.PQconndefaults
#define PQconnectPoll sw_pq.PQconnectPoll
#define PQconnectStartParams sw_pq.PQconnectStartParams
#define PQconninfoFree sw_pq.PQconninfoFree
#define PQconninfoParse sw_pq.PQconninfoParse
#define PQconsumeInput sw_pq.PQconsumeInput
#define PQerrorMessage sw_pq.PQerrorMessage
#define PQfinish sw_pq.PQfinish
#define PQflush sw_pq.PQflush
#define PQfreemem sw_pq.PQfreemem
#define PQftype sw_pq.PQftype
#define PQgetResult sw_pq.PQgetResult
#define PQgetisnull sw_pq.PQgetisnull
#define PQgetlength sw_pq.PQgetlength
#define PQgetvalue sw_pq.PQgetvalue
#define PQisBusy sw_pq.PQisBusy
#define PQnfields sw_pq.PQnfields
#define PQresStatus sw_pq.PQresStatus
#define PQresultErrorField sw_pq.PQresultErrorField
#define PQresultErrorMessage sw_pq.PQresultErrorMessage
#define PQresultStatus sw_pq.PQresultStatus
#define PQsendQuery sw_pq.PQsendQuery
#define PQsendQueryParams sw_pq.PQsendQueryParams
#define PQsetNoticeProcessor sw_pq.PQsetNoticeProcessor
#define PQsetSingleRowMode sw_pq.PQsetSingleRowMode
#define PQsetnonblocking sw_pq.PQsetnonblocking
#define PQsocket sw_pq.PQsocket
#define PQstatus sw_pq.PQstatus
#define PQtransactionStatus sw_pq.PQtransactionStatus
#endif

#endif
