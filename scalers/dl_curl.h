/*
 * dl_curl.h — libcurl, loaded on first use (scalers/dynlib.h says why).
 * Include this instead of <curl/curl.h>; call sw_curl_load() before any
 * curl_* call (scalers/http.c and api/kube.c do, in their set-up).
 */
#ifndef SW_DL_CURL_H
#define SW_DL_CURL_H

#include <curl/curl.h>
#include <stddef.h>

#define SW_CURL_FUNCS(X) \
	X(curl_global_init) X(curl_global_cleanup) X(curl_easy_init) X(curl_easy_cleanup) \
	X(curl_easy_reset) X(curl_easy_setopt) X(curl_easy_getinfo) X(curl_easy_perform) \
	X(curl_easy_strerror) X(curl_easy_escape) X(curl_free) X(curl_slist_append) \
	X(curl_slist_free_all)

struct sw_curl_api {
#define SW_X(f) __typeof__(f) *f;
	SW_CURL_FUNCS(SW_X)
#undef SW_X
};
extern struct sw_curl_api sw_curl;

/* dlopens libcurl once and runs curl_global_init; 0 or -1 with err. */
int sw_curl_load(char *err, size_t errlen);
/* Whether libcurl has been loaded into this process. */
int sw_curl_loaded(void);

#ifndef SW_DL_IMPL
#undef curl_easy_setopt /* curl's gcc type-checking wrappers */
#undef curl_easy_getinfo
#define curl_global_init sw_curl.curl_global_init
#define curl_global_cleanup sw_curl.curl_global_cleanup
#define curl_easy_init sw_curl.curl_easy_init
#define curl_easy_cleanup sw_curl.curl_easy_cleanup
#define curl_easy_reset sw_curl.curl_easy_reset
#define curl_easy_setopt sw_curl.curl_easy_setopt
#define curl_easy_getinfo sw_curl.curl_easy_getinfo
#define curl_easy_perform sw_curl.curl_easy_perform
#define curl_easy_strerror sw_curl.curl_easy_strerror
#define curl_easy_escape sw_curl.curl_easy_escape
#define curl_free sw_curl.curl_free
#define curl_slist_append sw_curl.curl_slist_append
#define curl_slist_free_all sw_curl.curl_slist_free_all
#endif

#endif
