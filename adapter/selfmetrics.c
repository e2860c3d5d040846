/*
 * selfmetrics.c — own metrics.
 */
#include "selfmetrics.h"

#include <stdatomic.h>
#include <stdint.h>

static const char *const class_names[PC_COUNT] = { "metric", "discovery", "health", "metrics", "openapi", "other" };
static const int codes[] = { 200, 400, 401, 403, 404, 405, 406, 413, 414, 429, 431, 500, 503 };
#define NCODES (sizeof codes / sizeof codes[0])
/* the last slot counts every other code */
static atomic_ullong requests[PC_COUNT][NCODES + 1];

static const double bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1, 5 };
#define NB (sizeof bounds / sizeof bounds[0])
static atomic_ullong hist[PC_COUNT][NB + 1];
static atomic_ullong hist_sum_ns[PC_COUNT];

static atomic_ullong loads_ok, loads_failed;
static atomic_int last_ok = 0;
static _Atomic double last_success;
static atomic_int anonymous;

static selfmetrics_renderer *renderers[16];
static void *renderer_args[16];
static int nrenderers;

void selfmetrics_request(enum path_class pc, int code, double seconds)
{
	size_t ci = NCODES;
	for (size_t i = 0; i < NCODES; i++)
		if (codes[i] == code)
			ci = i;
	atomic_fetch_add_explicit(&requests[pc][ci], 1, memory_order_relaxed);
	size_t bi = NB;
	for (size_t i = 0; i < NB; i++) {
		if (seconds <= bounds[i]) {
			bi = i;
			break;
		}
	}
	atomic_fetch_add_explicit(&hist[pc][bi], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&hist_sum_ns[pc], (unsigned long long)(seconds * 1e9), memory_order_relaxed);
}

void selfmetrics_config_load(bool ok, double unix_seconds)
{
	if (ok) {
		atomic_fetch_add(&loads_ok, 1);
		atomic_store(&last_success, unix_seconds);
	} else {
		atomic_fetch_add(&loads_failed, 1);
	}
	atomic_store(&last_ok, ok ? 1 : 0);
}

void selfmetrics_set_anonymous(bool on)
{
	atomic_store(&anonymous, on ? 1 : 0);
}

void selfmetrics_add_renderer(selfmetrics_renderer *fn, void *arg)
{
	if (nrenderers < 16) {
		renderers[nrenderers] = fn;
		renderer_args[nrenderers] = arg;
		nrenderers++;
	}
}

void selfmetrics_render(struct buf *b)
{
	buf_adds(b, "# HELP scalewise_build_info Build information.\n# TYPE scalewise_build_info gauge\n");
	buf_addf(b, "scalewise_build_info{version=\"%s\"} 1\n", SW_VERSION);

	buf_adds(b, "# HELP scalewise_http_requests_total HTTP requests by path class and status code.\n"
		    "# TYPE scalewise_http_requests_total counter\n");
	for (int pc = 0; pc < PC_COUNT; pc++) {
		for (size_t ci = 0; ci <= NCODES; ci++) {
			unsigned long long v = atomic_load_explicit(&requests[pc][ci], memory_order_relaxed);
			if (!v)
				continue;
			if (ci < NCODES)
				buf_addf(b, "scalewise_http_requests_total{class=\"%s\",code=\"%d\"} %llu\n", class_names[pc],
					 codes[ci], v);
			else
				buf_addf(b, "scalewise_http_requests_total{class=\"%s\",code=\"other\"} %llu\n",
					 class_names[pc], v);
		}
	}
	buf_adds(b, "# HELP scalewise_http_request_duration_seconds Time to answer a request, by path class.\n"
		    "# TYPE scalewise_http_request_duration_seconds histogram\n");
	for (int pc = 0; pc < PC_COUNT; pc++) {
		unsigned long long cum = 0;
		for (size_t i = 0; i <= NB; i++) {
			cum += atomic_load_explicit(&hist[pc][i], memory_order_relaxed);
			if (i < NB)
				buf_addf(b, "scalewise_http_request_duration_seconds_bucket{class=\"%s\",le=\"%g\"} %llu\n",
					 class_names[pc], bounds[i], cum);
			else
				buf_addf(b, "scalewise_http_request_duration_seconds_bucket{class=\"%s\",le=\"+Inf\"} %llu\n",
					 class_names[pc], cum);
		}
		buf_addf(b, "scalewise_http_request_duration_seconds_sum{class=\"%s\"} %.9f\n", class_names[pc],
			 (double)atomic_load(&hist_sum_ns[pc]) / 1e9);
		buf_addf(b, "scalewise_http_request_duration_seconds_count{class=\"%s\"} %llu\n", class_names[pc], cum);
	}
	buf_adds(b, "# HELP scalewise_config_loads_total Config loads and reloads by result.\n"
		    "# TYPE scalewise_config_loads_total counter\n");
	buf_addf(b, "scalewise_config_loads_total{result=\"success\"} %llu\n", atomic_load(&loads_ok));
	buf_addf(b, "scalewise_config_loads_total{result=\"failure\"} %llu\n", atomic_load(&loads_failed));
	buf_adds(b, "# HELP scalewise_config_last_load_success Whether the last config load or reload succeeded.\n"
		    "# TYPE scalewise_config_last_load_success gauge\n");
	buf_addf(b, "scalewise_config_last_load_success %d\n", atomic_load(&last_ok));
	buf_adds(b, "# HELP scalewise_config_last_success_timestamp_seconds When the serving config was loaded.\n"
		    "# TYPE scalewise_config_last_success_timestamp_seconds gauge\n");
	buf_addf(b, "scalewise_config_last_success_timestamp_seconds %.3f\n", atomic_load(&last_success));
	buf_adds(b, "# HELP scalewise_auth_anonymous 1 when auth.mode is anonymous (every request allowed).\n"
		    "# TYPE scalewise_auth_anonymous gauge\n");
	buf_addf(b, "scalewise_auth_anonymous %d\n", atomic_load(&anonymous));
	for (int i = 0; i < nrenderers; i++)
		renderers[i](b, renderer_args[i]);
}
