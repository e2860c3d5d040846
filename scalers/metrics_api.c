/*
 * metrics_api.c — the metrics-api scaler: GET a JSON document, read the
 * number at `valueLocation` (see metrics_api.h).
 */
#include "metrics_api.h"

#include "http.h"
#include "jsonhttp.h"
#include "valuepath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_ANSWER SW_FETCH_ANSWER_ERROR

struct mapi_source {
	struct http_source_params http;
};

struct mapi_metric {
	char *url;
	char *value_location;
	char *format;
};

/* The URL a metric reads: its own full URL, or its path joined to the
 * source's base. A malloc'd string, or NULL with a message. */
static char *metric_url(const char *base, const struct mapi_metric *m, char *err, size_t errlen)
{
	const char *u = m->url && *m->url ? m->url : NULL;
	char *out = NULL;
	if (u && strstr(u, "://")) {
		if (http_url_check(u, "url", err, errlen))
			return NULL;
		out = strdup(u);
	} else if (!base && u) {
		snprintf(err, errlen, "url '%.200s' is a path, but the source has no url to join it to", u);
		return NULL;
	} else if (!base) {
		snprintf(err, errlen, "url is required: give it in the metric's params or in the source");
		return NULL;
	} else if (!u) {
		out = strdup(base);
	} else {
		size_t n = strlen(base) + strlen(u) + 2;
		out = malloc(n);
		if (out && http_url_join(base, u, out, n)) {
			free(out);
			out = NULL;
		}
	}
	if (!out)
		snprintf(err, errlen, "out of memory");
	return out;
}

static int mapi_open(void *state, const void *source_params, const struct sw_host *host, char *err, size_t errlen)
{
	const struct mapi_source *p = source_params;
	return jsonhttp_open(state, &p->http, true, host, err, errlen);
}

/* The source's own settings; a metric's url is checked with the metric. */
static int mapi_check_source(const void *source_params, char *err, size_t errlen)
{
	const struct mapi_source *p = source_params;
	return jsonhttp_check(&p->http, true, err, errlen);
}

static int mapi_check_metric(const void *source_params, const struct sw_request *req, char *err, size_t errlen)
{
	const struct mapi_source *p = source_params;
	const struct mapi_metric *m = req->params;
	if (!m) {
		snprintf(err, errlen, "params.valueLocation is required");
		return -1;
	}
	struct valuepath vp;
	if (valuepath_compile(&vp, m->value_location, err, errlen))
		return -1;
	valuepath_release(&vp);
	const char *base = p && p->http.url && *p->http.url ? p->http.url : NULL;
	char *url = metric_url(base, m, err, errlen);
	if (!url)
		return -1;
	int rc = http_url_check(url, "url", err, errlen);
	free(url);
	return rc;
}

static int mapi_fetch(void *state, const void *source_params, const struct sw_request *req, struct sw_batch *out,
		      char *err, size_t errlen)
{
	struct jsonhttp_state *st = state;
	const struct mapi_metric *m = req->params;
	char msg[1024];
	struct valuepath vp;
	if (!m || valuepath_compile(&vp, m ? m->value_location : NULL, msg, sizeof msg)) {
		snprintf(err, errlen, "%s", m ? msg : "params.valueLocation is required");
		return ERR_ANSWER;
	}
	char *url = metric_url(st->base, m, err, errlen);
	if (!url) {
		valuepath_release(&vp);
		return ERR_ANSWER;
	}
	long status;
	cJSON *root;
	int rc = jsonhttp_get(st->http, url, req->deadline_ms, METRICS_API_BODY_MAX, &status, &root, err, errlen);
	if (rc == 0) {
		double v;
		if (valuepath_number(&vp, root, &v, msg, sizeof msg)) {
			char shown[512];
			http_url_redact(url, shown, sizeof shown);
			http_client_redact(st->http, msg);
			snprintf(err, errlen, "'%s': %s", shown, msg);
			rc = ERR_ANSWER;
		} else {
			rc = jsonhttp_emit(st, req, v, out, err, errlen);
		}
		cJSON_Delete(root);
	}
	free(url);
	valuepath_release(&vp);
	return rc;
}

static void mapi_close(void *state)
{
	jsonhttp_close(state);
}

/* ------------------------------------------------------------------------ */
/* the descriptor                                                           */

static const char *const format_choices[] = { "json", NULL };

static const struct sw_param mapi_source_params[] = {
	HTTP_SOURCE_PARAMS(struct mapi_source, http, 0, "2s"),
};

static const struct sw_param mapi_metric_params[] = {
	{ .key = "url", .type = SW_PARAM_STRING, .offset = offsetof(struct mapi_metric, url), .min = 1, .max = 0,
	  .help = "full http(s) URL of the JSON document, or a path joined to the source's url" },
	{ .key = "valueLocation", .type = SW_PARAM_STRING, .offset = offsetof(struct mapi_metric, value_location),
	  .required = 1, .min = 1, .max = 0,
	  .help = "dotted path to the number (GJSON subset): components.worker.tasks, items.0.count, items.#" },
	{ .key = "format", .type = SW_PARAM_STRING, .offset = offsetof(struct mapi_metric, format), .def = "json",
	  .min = 1, .max = 0, .help = "format of the document; only json", .choices = format_choices },
};

const struct sw_scaler_type scaler_metrics_api = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_scaler_type),
	.name = "metrics-api",
	.flags = SW_SCALER_CONCURRENT,
	.query = SW_QUERY_NONE,
	.state_size = sizeof(struct jsonhttp_state),
	.source_params_size = sizeof(struct mapi_source),
	.source_params = mapi_source_params,
	.n_source_params = sizeof mapi_source_params / sizeof mapi_source_params[0],
	.metric_params_size = sizeof(struct mapi_metric),
	.metric_params = mapi_metric_params,
	.n_metric_params = sizeof mapi_metric_params / sizeof mapi_metric_params[0],
	.open = mapi_open,
	.check_metric = mapi_check_metric,
	.fetch = mapi_fetch,
	.close = mapi_close,
	.check_source = mapi_check_source,
};
