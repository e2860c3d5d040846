/*
 * curlpool.c — idle curl handles for reuse.
 */
#include "curlpool.h"

void curl_pool_init(struct curl_pool *p, size_t max)
{
	pthread_mutex_init(&p->mu, NULL);
	p->n = 0;
	p->max = max < CURL_POOL_MAX ? max : CURL_POOL_MAX;
}

void curl_pool_release(struct curl_pool *p)
{
	for (size_t i = 0; i < p->n; i++)
		curl_easy_cleanup(p->idle[i]);
	p->n = 0;
	pthread_mutex_destroy(&p->mu);
}

CURL *curl_pool_take(struct curl_pool *p)
{
	CURL *h = NULL;
	pthread_mutex_lock(&p->mu);
	if (p->n)
		h = p->idle[--p->n];
	pthread_mutex_unlock(&p->mu);
	if (h)
		curl_easy_reset(h);
	else
		h = curl_easy_init();
	return h;
}

void curl_pool_give(struct curl_pool *p, CURL *h)
{
	pthread_mutex_lock(&p->mu);
	if (p->n < p->max) {
		p->idle[p->n++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&p->mu);
	if (h)
		curl_easy_cleanup(h);
}
