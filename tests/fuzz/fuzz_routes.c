/* libFuzzer target: the request router with an arbitrary path and
 * labelSelector (the input is split at the first NUL) against a small static
 * config. Every answer must be a well-formed reply with a known code. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "routes.h"
#include "runtime.h"
#include "yamldoc.h"

static void setup(void)
{
	static int done;
	if (done)
		return;
	done = 1;
	static const char cfg_text[] = "auth: {mode: anonymous}\n"
				       "sources: {fixed: {type: static}}\n"
				       "metrics:\n"
				       "  - {name: q, source: fixed, series: [{labels: {a: b}, value: 1}, {value: 2}]}\n";
	char err[256];
	cJSON *root = yamldoc_parse(cfg_text, sizeof cfg_text - 1, err, sizeof err);
	struct config cfg;
	struct errlist errs;
	errlist_init(&errs);
	if (!root || config_from_tree(root, NULL, &cfg, &errs))
		abort();
	cJSON_Delete(root);
	errlist_release(&errs);
	runtime_swap(runtime_new(&cfg));
	routes_set_ready(true, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	char *copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = 0;
	size_t plen = strlen(copy);
	const char *sel = plen < size ? copy + plen + 1 : NULL;
	char path[512] = "/apis/external.metrics.k8s.io/v1beta1/namespaces/";
	size_t base = strlen(path);
	size_t take = plen < sizeof path - base - 1 ? plen : sizeof path - base - 1;
	memcpy(path + base, copy, take);
	path[base + take] = 0;
	struct request rq = { .method = "GET", .path = (data[0] & 1) ? path : copy, .url_len = plen,
			      .label_selector = sel, .now_ms = 1700000000000LL };
	struct reply rp;
	routes_handle(&rq, &rp);
	assert(rp.code >= 200 && rp.code < 600);
	assert(rp.body.data && rp.body.len > 0);
	buf_release(&rp.body);
	free(copy);
	return 0;
}
