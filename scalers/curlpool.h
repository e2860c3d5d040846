/*
 * curlpool.h — a small pool of idle libcurl easy handles, so that requests
 * reuse connections (a handle keeps its connection cache across
 * curl_easy_reset). Shared by the scalers' HTTP client and the kube client.
 * Any thread.
 */
#ifndef SW_CURLPOOL_H
#define SW_CURLPOOL_H

#include "dl_curl.h"
#include <pthread.h>
#include <stddef.h>

#define CURL_POOL_MAX 32

struct curl_pool {
	pthread_mutex_t mu;
	size_t n, max;
	CURL *idle[CURL_POOL_MAX];
};

/* Keeps at most max (≤ CURL_POOL_MAX) idle handles. */
void curl_pool_init(struct curl_pool *p, size_t max);
/* Cleans up the idle handles. */
void curl_pool_release(struct curl_pool *p);
/* An idle handle (reset, connections kept) or a new one; NULL on OOM. */
CURL *curl_pool_take(struct curl_pool *p);
/* Returns a handle to the pool, or cleans it up when the pool is full. */
void curl_pool_give(struct curl_pool *p, CURL *h);

#endif
