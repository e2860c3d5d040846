/*
 * dl_hiredis.h — hiredis (its reply reader and command formatter), loaded
 * on first use (scalers/dynlib.h says why). Include this instead of
 * <hiredis/hiredis.h>; call sw_hiredis_load() before any call (the redis
 * scaler does, in open).
 */
#ifndef SW_DL_HIREDIS_H
#define SW_DL_HIREDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#define SW_HIREDIS_FUNCS(X) \
	X(redisReaderCreate) X(redisReaderFree) X(redisReaderFeed) X(redisReaderGetReply) \
	X(freeReplyObject) X(redisFormatCommandArgv) X(redisFreeCommand)

struct sw_hiredis_api {
#define SW_X(f) __typeof__(f) *f;
	SW_HIREDIS_FUNCS(SW_X)
#undef SW_X
};
extern struct sw_hiredis_api sw_hiredis;

/* dlopens hiredis once; 0 or -1 with err. */
int sw_hiredis_load(char *err, size_t errlen);

#ifndef SW_DL_IMPL
#define redisReaderCreate sw_hiredis.redisReaderCreate
#define redisReaderFree sw_hiredis.redisReaderFree
#define redisReaderFeed sw_hiredis.redisReaderFeed
#define redisReaderGetReply sw_hiredis.redisReaderGetReply
#define freeReplyObject sw_hiredis.freeReplyObject
#define redisFormatCommandArgv sw_hiredis.redisFormatCommandArgv
#define redisFreeCommand sw_hiredis.redisFreeCommand
#endif

#endif
