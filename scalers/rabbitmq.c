/*
 * rabbitmq.c — the RabbitMQ scaler: reads queue statistics from the
 * management HTTP API (see rabbitmq.h).
 */
#include "rabbitmq.h"

#include "http.h"
#include "jsonhttp.h"

#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_SOURCE SW_FETCH_SOURCE_ERROR
#define ERR_ANSWER SW_FETCH_ANSWER_ERROR

#define COLUMNS "columns=name,messages,messages_ready,message_stats.publish_details.rate," \
		"message_stats.deliver_get_details.rate"
#define NAME_MAX_BYTES 1024 /* queue names and vhosts are at most 255 bytes in RabbitMQ */

struct rmq_source {
	struct http_source_params http;
};

struct rmq_metric {
	char *queue;
	char *vhost;
	char *mode;
	char *operation;
	int exclude_unacked;
	int use_regex;
	int64_t page_size;
};


enum rmq_mode { MODE_LENGTH, MODE_PUBLISH_RATE, MODE_DELIVER_RATE };
enum rmq_op { OP_SUM, OP_AVG, OP_MAX };

/* A metric's params, checked and decoded. */
struct rmq_plan {
	enum rmq_mode mode;
	enum rmq_op op;
	const char *field;   /* what a message names: "messages", "publish rate", ... */
	regex_t re;
	int have_re;
};

/* ------------------------------------------------------------------------ */
/* params                                                                   */

static void plan_release(struct rmq_plan *pl)
{
	if (pl->have_re)
		regfree(&pl->re);
	pl->have_re = 0;
}

static int plan_make(const struct rmq_metric *m, struct rmq_plan *pl, char *err, size_t errlen)
{
	memset(pl, 0, sizeof *pl);
	if (!m || !m->queue || !*m->queue) {
		snprintf(err, errlen, "queueName is required");
		return -1;
	}
	if (strlen(m->queue) > NAME_MAX_BYTES || (m->vhost && strlen(m->vhost) > NAME_MAX_BYTES)) {
		snprintf(err, errlen, "queueName and vhostName must be at most %d bytes", NAME_MAX_BYTES);
		return -1;
	}
	const char *mode = m->mode ? m->mode : "QueueLength";
	if (!strcmp(mode, "QueueLength")) {
		pl->mode = MODE_LENGTH;
		pl->field = m->exclude_unacked ? "messages_ready" : "messages";
	} else if (!strcmp(mode, "MessageRate")) {
		pl->mode = MODE_PUBLISH_RATE;
		pl->field = "message_stats.publish_details.rate";
	} else if (!strcmp(mode, "DeliverGetRate")) {
		pl->mode = MODE_DELIVER_RATE;
		pl->field = "message_stats.deliver_get_details.rate";
	} else {
		snprintf(err, errlen, "mode '%s' is not one of QueueLength, MessageRate, DeliverGetRate", mode);
		return -1;
	}
	if (m->exclude_unacked && pl->mode != MODE_LENGTH) {
		snprintf(err, errlen, "excludeUnacknowledged applies to mode QueueLength only, not %s", mode);
		return -1;
	}
	const char *op = m->operation ? m->operation : "sum";
	if (!strcmp(op, "sum")) {
		pl->op = OP_SUM;
	} else if (!strcmp(op, "avg")) {
		pl->op = OP_AVG;
	} else if (!strcmp(op, "max")) {
		pl->op = OP_MAX;
	} else {
		snprintf(err, errlen, "operation '%s' is not one of sum, avg, max", op);
		return -1;
	}
	if (m->use_regex) {
		int rc = regcomp(&pl->re, m->queue, REG_EXTENDED | REG_NOSUB);
		if (rc) {
			char why[200];
			regerror(rc, &pl->re, why, sizeof why);
			snprintf(err, errlen, "queueName '%.200s' is not a POSIX extended regular expression: %s",
				 m->queue, why);
			return -1;
		}
		pl->have_re = 1;
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* reading one queue object                                                 */

enum { Q_OK, Q_NO_STATS, Q_BAD };

/* The value of queue object q for the plan: Q_OK with *v, Q_NO_STATS when
 * RabbitMQ has not emitted its statistics yet (no "messages"), Q_BAD with a
 * message when a field is not a number. */
static int queue_value(const cJSON *q, const struct rmq_plan *pl, const char *name, double *v, char *err,
		       size_t errlen)
{
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(q, "messages");
	if (!msgs)
		return Q_NO_STATS;
	if (!cJSON_IsNumber(msgs) || !isfinite(msgs->valuedouble) || msgs->valuedouble < 0) {
		snprintf(err, errlen, "queue '%.200s' has a \"messages\" that is not a count", name);
		return Q_BAD;
	}
	const cJSON *it = NULL;
	if (pl->mode == MODE_LENGTH) {
		it = cJSON_GetObjectItemCaseSensitive(q, pl->field);
		if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble < 0) {
			snprintf(err, errlen, "queue '%.200s' has %s \"%s\"", name, it ? "a non-numeric" : "no",
				 pl->field);
			return Q_BAD;
		}
		*v = it->valuedouble;
		return Q_OK;
	}
	/* message_stats and its *_details appear once the queue has seen that traffic */
	const cJSON *stats = cJSON_GetObjectItemCaseSensitive(q, "message_stats");
	const char *detail = pl->mode == MODE_PUBLISH_RATE ? "publish_details" : "deliver_get_details";
	if (stats && !cJSON_IsObject(stats)) {
		snprintf(err, errlen, "queue '%.200s' has a \"message_stats\" that is not an object", name);
		return Q_BAD;
	}
	const cJSON *d = stats ? cJSON_GetObjectItemCaseSensitive(stats, detail) : NULL;
	if (!d) {
		*v = 0;
		return Q_OK;
	}
	it = cJSON_IsObject(d) ? cJSON_GetObjectItemCaseSensitive(d, "rate") : NULL;
	if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble)) {
		snprintf(err, errlen, "queue '%.200s' has no numeric \"%s\"", name, pl->field);
		return Q_BAD;
	}
	*v = it->valuedouble;
	return Q_OK;
}

struct agg {
	double sum, max;
	size_t n, no_stats;
};

static void agg_add(struct agg *a, double v)
{
	a->sum += v;
	if (a->n == 0 || v > a->max)
		a->max = v;
	a->n++;
}

static double agg_value(const struct agg *a, enum rmq_op op)
{
	if (op == OP_MAX)
		return a->max;
	if (op == OP_AVG)
		return a->sum / (double)a->n;
	return a->sum;
}

/* ------------------------------------------------------------------------ */
/* requests                                                                 */

/* <base>/api/queues/<vhost>[/<queue>] with both encoded; NULL when too long. */
static char *queues_url(const char *base, const char *vhost, const char *queue, const char *query)
{
	size_t n = strlen(base) + 3 * strlen(vhost) + (queue ? 3 * strlen(queue) : 0) + strlen(query) + 32;
	char *path = malloc(n), *url = malloc(n + 2);
	if (!path || !url) {
		free(path);
		free(url);
		return NULL;
	}
	snprintf(path, n, "api/queues/");
	int bad = jsonhttp_encode(vhost, path, n);
	if (!bad && queue) {
		size_t l = strlen(path);
		snprintf(path + l, n - l, "/");
		bad = jsonhttp_encode(queue, path, n);
	}
	if (!bad) {
		size_t l = strlen(path);
		snprintf(path + l, n - l, "?%s", query);
		bad = http_url_join(base, path, url, n + 2);
	}
	free(path);
	if (bad) {
		free(url);
		return NULL;
	}
	return url;
}

/* Reads one queue by name. */
static int fetch_one(struct jsonhttp_state *st, const struct rmq_metric *m, const char *vhost, const struct rmq_plan *pl,
		     int64_t deadline_ms, double *v, char *err, size_t errlen)
{
	char *url = queues_url(st->base, vhost, m->queue, COLUMNS);
	if (!url) {
		snprintf(err, errlen, "queue URL is too long");
		return ERR_ANSWER;
	}
	char shown[512], msg[1024];
	http_url_redact(url, shown, sizeof shown);
	long status;
	cJSON *root;
	int rc = jsonhttp_get(st->http, url, deadline_ms, RABBITMQ_BODY_MAX, &status, &root, err, errlen);
	free(url);
	if (rc) {
		if (status == 404)
			snprintf(err, errlen, "'%s': queue '%.200s' not found in vhost '%.200s' (HTTP 404)", shown, m->queue,
				 vhost);
		return rc;
	}
	rc = 0;
	if (!cJSON_IsObject(root)) {
		snprintf(err, errlen, "'%s': answer is not a queue object", shown);
		rc = ERR_ANSWER;
	} else {
		switch (queue_value(root, pl, m->queue, v, msg, sizeof msg)) {
		case Q_OK:
			break;
		case Q_NO_STATS:
			snprintf(err, errlen, "'%s': queue '%.200s' has no statistics yet (RabbitMQ emits them every "
					      "collect_statistics_interval, 5 s by default, after the queue is declared)",
				 shown, m->queue);
			rc = ERR_ANSWER;
			break;
		default:
			snprintf(err, errlen, "'%s': %s", shown, msg);
			rc = ERR_ANSWER;
			break;
		}
	}
	cJSON_Delete(root);
	return rc;
}

/* Reads every page of the vhost's queues and aggregates those whose name
 * matches. */
static int fetch_regex(struct jsonhttp_state *st, const struct rmq_metric *m, const char *vhost,
		       const struct rmq_plan *pl, int64_t deadline_ms, double *v, char *err, size_t errlen)
{
	struct agg a = { 0 };
	long pages = 1, listed = 0;
	char query[256], shown[512], msg[1024];
	for (long page = 1; page <= pages; page++) {
		snprintf(query, sizeof query, "page=%ld&page_size=%lld&%s", page, (long long)m->page_size, COLUMNS);
		char *url = queues_url(st->base, vhost, NULL, query);
		if (!url) {
			snprintf(err, errlen, "queue list URL is too long");
			return ERR_ANSWER;
		}
		http_url_redact(url, shown, sizeof shown);
		long status;
		cJSON *root;
		int rc = jsonhttp_get(st->http, url, deadline_ms, RABBITMQ_BODY_MAX, &status, &root, err, errlen);
		free(url);
		if (rc && page > 1 && status == 400) {
			/* queues went away while we paged: page_out_of_range ends the list */
			break;
		}
		if (rc) {
			if (status == 404)
				snprintf(err, errlen, "'%s': vhost '%.200s' not found (HTTP 404)", shown, vhost);
			return rc;
		}
		const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
		const cJSON *pc = cJSON_GetObjectItemCaseSensitive(root, "page_count");
		if (!cJSON_IsArray(items) || !cJSON_IsNumber(pc) || pc->valuedouble < 0 ||
		    pc->valuedouble > RABBITMQ_MAX_QUEUES) {
			snprintf(err, errlen, "'%s': answer is not a page of queues (no \"items\" list and "
					      "\"page_count\")", shown);
			cJSON_Delete(root);
			return ERR_ANSWER;
		}
		if (page == 1)
			pages = (long)pc->valuedouble;
		listed += cJSON_GetArraySize(items);
		if (listed > RABBITMQ_MAX_QUEUES) {
			snprintf(err, errlen, "'%s': vhost '%.200s' has more than %d queues to match", shown, vhost,
				 RABBITMQ_MAX_QUEUES);
			cJSON_Delete(root);
			return ERR_ANSWER;
		}
		const cJSON *q;
		cJSON_ArrayForEach(q, items) {
			const cJSON *name = cJSON_GetObjectItemCaseSensitive(q, "name");
			if (!cJSON_IsString(name)) {
				snprintf(err, errlen, "'%s': a queue has no \"name\"", shown);
				cJSON_Delete(root);
				return ERR_ANSWER;
			}
			if (regexec(&pl->re, name->valuestring, 0, NULL, 0))
				continue;
			double qv = 0;
			int kind = queue_value(q, pl, name->valuestring, &qv, msg, sizeof msg);
			if (kind == Q_BAD) {
				snprintf(err, errlen, "'%s': %s", shown, msg);
				cJSON_Delete(root);
				return ERR_ANSWER;
			}
			if (kind == Q_NO_STATS)
				a.no_stats++;
			else
				agg_add(&a, qv);
		}
		cJSON_Delete(root);
	}
	if (a.n == 0 && a.no_stats) {
		snprintf(err, errlen, "'%s': the %zu queue%s matching '%.200s' in vhost '%.200s' %s no statistics yet",
			 shown, a.no_stats, a.no_stats == 1 ? "" : "s", m->queue, vhost, a.no_stats == 1 ? "has" : "have");
		return ERR_ANSWER;
	}
	if (a.n == 0) {
		snprintf(err, errlen, "'%s': no queue in vhost '%.200s' matches '%.200s' (%ld listed)", shown, vhost,
			 m->queue, listed);
		return ERR_ANSWER;
	}
	*v = agg_value(&a, pl->op);
	return 0;
}

static int rmq_open(void *state, const void *source_params, const struct sw_host *host, char *err, size_t errlen)
{
	const struct rmq_source *p = source_params;
	return jsonhttp_open(state, &p->http, false, host, err, errlen);
}

static int rmq_check_source(const void *source_params, char *err, size_t errlen)
{
	const struct rmq_source *p = source_params;
	return jsonhttp_check(&p->http, false, err, errlen);
}

static int rmq_check_metric(const void *source_params, const struct sw_request *req, char *err, size_t errlen)
{
	struct rmq_plan pl;
	if (plan_make(req->params, &pl, err, errlen))
		return -1;
	plan_release(&pl);
	return 0;
}

static int rmq_fetch(void *state, const void *source_params, const struct sw_request *req, struct sw_batch *out,
		     char *err, size_t errlen)
{
	struct jsonhttp_state *st = state;
	const struct rmq_metric *m = req->params;
	struct rmq_plan pl;
	if (plan_make(m, &pl, err, errlen))
		return ERR_ANSWER;
	const char *vhost = m->vhost && *m->vhost ? m->vhost : "/";
	double v = 0;
	int rc = m->use_regex ? fetch_regex(st, m, vhost, &pl, req->deadline_ms, &v, err, errlen)
			      : fetch_one(st, m, vhost, &pl, req->deadline_ms, &v, err, errlen);
	plan_release(&pl);
	if (rc)
		return rc;
	return jsonhttp_emit(st, req, v, out, err, errlen);
}

static void rmq_close(void *state)
{
	jsonhttp_close(state);
}

/* ------------------------------------------------------------------------ */
/* the descriptor                                                           */

static const char *const mode_choices[] = { "QueueLength", "MessageRate", "DeliverGetRate", NULL };
static const char *const op_choices[] = { "sum", "avg", "max", NULL };

static const struct sw_param rmq_source_params[] = {
	HTTP_SOURCE_PARAMS(struct rmq_source, http, 1, "2s"),
};

static const struct sw_param rmq_metric_params[] = {
	{ .key = "queueName", .type = SW_PARAM_STRING, .offset = offsetof(struct rmq_metric, queue), .required = 1,
	  .min = 1, .max = 0, .help = "the queue, or with useRegex a POSIX extended regular expression over queue names" },
	{ .key = "vhostName", .type = SW_PARAM_STRING, .offset = offsetof(struct rmq_metric, vhost), .def = "/",
	  .min = 1, .max = 0, .help = "the virtual host" },
	{ .key = "mode", .type = SW_PARAM_STRING, .offset = offsetof(struct rmq_metric, mode), .def = "QueueLength",
	  .min = 1, .max = 0, .help = "QueueLength, MessageRate (publish rate) or DeliverGetRate",
	  .choices = mode_choices },
	{ .key = "excludeUnacknowledged", .type = SW_PARAM_BOOL,
	  .offset = offsetof(struct rmq_metric, exclude_unacked), .def = "false", .min = 1, .max = 0,
	  .help = "QueueLength counts ready messages only (messages_ready)" },
	{ .key = "useRegex", .type = SW_PARAM_BOOL, .offset = offsetof(struct rmq_metric, use_regex), .def = "false",
	  .min = 1, .max = 0, .help = "queueName is a POSIX extended regular expression" },
	{ .key = "operation", .type = SW_PARAM_STRING, .offset = offsetof(struct rmq_metric, operation), .def = "sum",
	  .min = 1, .max = 0, .help = "how the queues matched by a regex combine: sum, avg or max",
	  .choices = op_choices },
	{ .key = "pageSize", .type = SW_PARAM_INT, .offset = offsetof(struct rmq_metric, page_size), .def = "100",
	  .min = 1, .max = RABBITMQ_PAGE_MAX, .help = "queues per page when listing for useRegex" },
};

const struct sw_scaler_type scaler_rabbitmq = {
	.abi_version = SW_SCALER_ABI_VERSION,
	.struct_size = sizeof(struct sw_scaler_type),
	.name = "rabbitmq",
	.flags = SW_SCALER_CONCURRENT,
	.query = SW_QUERY_NONE,
	.state_size = sizeof(struct jsonhttp_state),
	.source_params_size = sizeof(struct rmq_source),
	.source_params = rmq_source_params,
	.n_source_params = sizeof rmq_source_params / sizeof rmq_source_params[0],
	.metric_params_size = sizeof(struct rmq_metric),
	.metric_params = rmq_metric_params,
	.n_metric_params = sizeof rmq_metric_params / sizeof rmq_metric_params[0],
	.open = rmq_open,
	.check_metric = rmq_check_metric,
	.fetch = rmq_fetch,
	.close = rmq_close,
	.check_source = rmq_check_source,
};
