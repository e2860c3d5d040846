/*
 * nats_jetstream.c — the NATS JetStream scaler: a consumer's pending and
 * unacknowledged messages from /jsz (see nats_jetstream.h).
 */
#include "nats_jetstream.h"

#include "http.h"
#include "jsonhttp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_ANSWER SW_FETCH_ANSWER_ERROR
#define NAME_MAX_BYTES 1024

struct njs_source {
	struct http_source_params http;
};

struct njs_metric {
	char *account;
	char *stream;
	char *consumer;
};


static int metric_ok(const struct njs_metric *m, char *err, size_t errlen)
{
	if (!m || !m->stream || !*m->stream) {
		snprintf(err, errlen, "stream is required");
		return -1;
	}
	if (!m->consumer || !*m->consumer) {
		snprintf(err, errlen, "consumer is required");
		return -1;
	}
	if (strlen(m->stream) > NAME_MAX_BYTES || strlen(m->consumer) > NAME_MAX_BYTES ||
	    (m->account && strlen(m->account) > NAME_MAX_BYTES)) {
		snprintf(err, errlen, "account, stream and consumer must be at most %d bytes", NAME_MAX_BYTES);
		return -1;
	}
	return 0;
}

/* The element of list whose "name" is name, or NULL. */
static const cJSON *find_named(const cJSON *list, const char *name)
{
	const cJSON *el;
	cJSON_ArrayForEach(el, list) {
		const cJSON *n = cJSON_GetObjectItemCaseSensitive(el, "name");
		if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
			return el;
	}
	return NULL;
}

static int count_of(const cJSON *obj, const char *key, const char *consumer, double *out, char *err, size_t errlen)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0 ||
	    it->valuedouble != floor(it->valuedouble)) {
		snprintf(err, errlen, "consumer '%.200s' has %s \"%s\"", consumer, it ? "a non-count" : "no", key);
		return -1;
	}
	*out = it->valuedouble;
	return 0;
}

/* Finds the consumer in a /jsz answer and computes its lag. 0 or -1. */
static int jsz_lag(const cJSON *root, const struct njs_metric *m, double *out, char *err, size_t errlen)
{
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "answer is not a /jsz object");
		return -1;
	}
	if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "disabled"))) {
		snprintf(err, errlen, "JetStream is not enabled on this server");
		return -1;
	}
	const cJSON *accounts = cJSON_GetObjectItemCaseSensitive(root, "account_details");
	if (accounts && !cJSON_IsArray(accounts)) {
		snprintf(err, errlen, "\"account_details\" is not a list");
		return -1;
	}
	const cJSON *stream = NULL, *acc;
	const char *found_in = NULL;
	if (m->account && *m->account) {
		acc = find_named(accounts, m->account);
		if (!acc) {
			snprintf(err, errlen, "account '%.200s' not found (or it has no JetStream)", m->account);
			return -1;
		}
		stream = find_named(cJSON_GetObjectItemCaseSensitive(acc, "stream_detail"), m->stream);
		if (!stream) {
			snprintf(err, errlen, "stream '%.200s' not found in account '%.200s'", m->stream, m->account);
			return -1;
		}
	} else {
		cJSON_ArrayForEach(acc, accounts) {
			const cJSON *s = find_named(cJSON_GetObjectItemCaseSensitive(acc, "stream_detail"), m->stream);
			if (!s)
				continue;
			const cJSON *an = cJSON_GetObjectItemCaseSensitive(acc, "name");
			const char *aname = cJSON_IsString(an) ? an->valuestring : "?";
			if (stream) {
				snprintf(err, errlen, "stream '%.200s' is in accounts '%.100s' and '%.100s'; set account",
					 m->stream, found_in, aname);
				return -1;
			}
			stream = s;
			found_in = aname;
		}
		if (!stream) {
			snprintf(err, errlen, "stream '%.200s' not found in any account", m->stream);
			return -1;
		}
	}
	const cJSON *consumer = find_named(cJSON_GetObjectItemCaseSensitive(stream, "consumer_detail"), m->consumer);
	if (!consumer) {
		snprintf(err, errlen, "consumer '%.200s' not found in stream '%.200s'", m->consumer, m->stream);
		return -1;
	}
	double pending, ack_pending;
	if (count_of(consumer, "num_pending", m->consumer, &pending, err, errlen) ||
	    count_of(consumer, "num_ack_pending", m->consumer, &ack_pending, err, errlen))
		return -1;
	*out = pending + ack_pending;
	return 0;
}

static int njs_open(void *state, const void *source_params, const struct sw_host *host, char *err, size_t errlen)
{
	const struct njs_source *p = source_params;
	return jsonhttp_open(state, &p->http, false, host, err, errlen);
}

static int njs_check_source(const void *source_params, char *err, size_t errlen)
{
	const struct njs_source *p = source_params;
	return jsonhttp_check(&p->http, false, err, errlen);
}

static int njs_check_metric(const void *source_params, const struct sw_request *req, char *err, size_t errlen)
{
	return metric_ok(req->params, err, errlen);
}

static int njs_fetch(void *state, const void *source_params, const struct sw_request *req, struct sw_batch *out,
		     char *err, size_t errlen)
{
	struct jsonhttp_state *st = state;
	const struct njs_metric *m = req->params;
	if (metric_ok(m, err, errlen))
		return ERR_ANSWER;
	char path[3 * NAME_MAX_BYTES + 64] = "jsz?accounts=true&consumers=true";
	if (m->account && *m->account) {
		size_t l = strlen(path);
		snprintf(path + l, sizeof path - l, "&acc=");
		jsonhttp_encode(m->account, path, sizeof path); /* fits: 3 bytes a byte at most */
	}
	size_t n = strlen(st->base) + strlen(path) + 2;
	char *url = malloc(n);
	if (!url || http_url_join(st->base, path, url, n)) {
		free(url);
		snprintf(err, errlen, "out of memory");
		return ERR_ANSWER;
	}
	long status;
	cJSON *root;
	int rc = jsonhttp_get(st->http, url, req->deadline_ms, NATS_JETSTREAM_BODY_MAX, &status, &root, err, errlen);
	if (rc == 0) {
		double v;
		char msg[1024], shown[512];
		if (jsz_lag(root, m, &v, msg, sizeof msg)) {
			http_url_redact(url, shown, sizeof shown);
			snprintf(err, errlen, "'%s': %s", shown, msg);
			rc = ERR_ANSWER;
		} else {
			rc = jsonhttp_emit(st, req, v, out, err, errlen);
		}
		cJSON_Delete(root);
	}
	free(url);
	return rc;
}

static void njs_close(void *state)
{
	jsonhttp_close(state);
}

/* ------------------------------------------------------------------------ */
/* the descriptor                                                           */

static const struct sw_param njs_source_params[] = {
	HTTP_SOURCE_PARAMS(struct njs_source, http, 1, "2s"),
};

static const struct sw_param njs_metric_params[] = {
	{ .key = "account", .type = SW_PARAM_STRING, .offset = offsetof(struct njs_metric, account), .min = 1,
	  .max = 0, .help = "account of the stream ($G without accounts); default: the one account that has it" },
	{ .key = "stream", .type = SW_PARAM_STRING, .offset = offsetof(struct njs_metric, stream), .required = 1,
	  .min = 1, .max = 0, .help = "the stream" },
	{ .key = "consumer", .type = SW_PARAM_STRING, .offset = offsetof(struct njs_metric, consumer), .required = 1,
	  .min = 1, .max = 0, .help = "the consumer whose num_pending + num_ack_pending is the value" },
};

const struct sw_scaler_type scaler_nats_jetstream = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_scaler_type),
	.name = "nats-jetstream",
	.flags = SW_SCALER_CONCURRENT,
	.query = SW_QUERY_NONE,
	.state_size = sizeof(struct jsonhttp_state),
	.source_params_size = sizeof(struct njs_source),
	.source_params = njs_source_params,
	.n_source_params = sizeof njs_source_params / sizeof njs_source_params[0],
	.metric_params_size = sizeof(struct njs_metric),
	.metric_params = njs_metric_params,
	.n_metric_params = sizeof njs_metric_params / sizeof njs_metric_params[0],
	.open = njs_open,
	.check_metric = njs_check_metric,
	.fetch = njs_fetch,
	.close = njs_close,
	.check_source = njs_check_source,
};
