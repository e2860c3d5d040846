/*
 * dl_libs.c — the function tables of the libraries loaded on first use
 * (libcurl, libpq, hiredis, libcrypto); scalers/dynlib.h says why. The SONAMEs come
 * from the Makefile, read off the libraries the headers belong to.
 */
#define SW_DL_IMPL
#include "dl_crypto.h"
#include "dl_curl.h"
#include "dl_hiredis.h"
#include "dl_pq.h"
#include "dynlib.h"

#include <stdio.h>

#ifndef SW_SONAME_CURL
#define SW_SONAME_CURL "libcurl.so.4"
#endif
#ifndef SW_SONAME_CRYPTO
#define SW_SONAME_CRYPTO "libcrypto.so.3"
#endif
#ifndef SW_SONAME_PQ
#define SW_SONAME_PQ "libpq.so.5"
#endif
#ifndef SW_SONAME_HIREDIS
#define SW_SONAME_HIREDIS "libhiredis.so.0.14"
#endif

#define SW_SYM(api, f) { #f, (void **)&api.f },

struct sw_curl_api sw_curl;
#define SW_CURL_SYM(f) SW_SYM(sw_curl, f)
static const struct dynlib_sym curl_syms[] = { SW_CURL_FUNCS(SW_CURL_SYM) };
static struct dynlib curl_lib = DYNLIB_INIT(SW_SONAME_CURL, curl_syms);

struct sw_pq_api sw_pq;
#define SW_PQ_SYM(f) SW_SYM(sw_pq, f)
static const struct dynlib_sym pq_syms[] = { SW_PQ_FUNCS(SW_PQ_SYM) };
static struct dynlib pq_lib = DYNLIB_INIT(SW_SONAME_PQ, pq_syms);

struct sw_hiredis_api sw_hiredis;
#define SW_HIREDIS_SYM(f) SW_SYM(sw_hiredis, f)
static const struct dynlib_sym hiredis_syms[] = { SW_HIREDIS_FUNCS(SW_HIREDIS_SYM) };
static struct dynlib hiredis_lib = DYNLIB_INIT(SW_SONAME_HIREDIS, hiredis_syms);

struct sw_crypto_api sw_crypto;
#define SW_CRYPTO_SYM(f) SW_SYM(sw_crypto, f)
static const struct dynlib_sym crypto_syms[] = { SW_CRYPTO_FUNCS(SW_CRYPTO_SYM) };
static struct dynlib crypto_lib = DYNLIB_INIT(SW_SONAME_CRYPTO, crypto_syms);

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_init_rc = -1;

static void curl_init(void)
{
	if (dynlib_load(&curl_lib, NULL, 0))
		return;
	curl_init_rc = sw_curl.curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
	if (curl_init_rc)
		snprintf(curl_lib.err, sizeof curl_lib.err, "curl_global_init failed");
}

int sw_curl_load(char *err, size_t errlen)
{
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc && err && errlen)
		snprintf(err, errlen, "%s", curl_lib.err);
	return curl_init_rc;
}

int sw_curl_loaded(void)
{
	return dynlib_loaded(&curl_lib);
}

int sw_pq_load(char *err, size_t errlen)
{
	return dynlib_load(&pq_lib, err, errlen);
}

int sw_crypto_load(char *err, size_t errlen)
{
	return dynlib_load(&crypto_lib, err, errlen);
}

int sw_hiredis_load(char *err, size_t errlen)
{
	return dynlib_load(&hiredis_lib, err, errlen);
}
