/*
 * test_rabbitmq.c — the RabbitMQ scaler through its descriptor, its params
 * loaded by the real params_load, against a canned management API on
 * 127.0.0.1 (tests/unit/scaler_testkit.h): one queue, pages of queues
 * matched by a POSIX regex, statistics not yet emitted, and broken answers.
 *
 * With arguments the binary is the driver of
 * tests/integration/test_rabbitmq.sh (see scaler_testkit.h):
 *   test_rabbitmq fetch|poll SOURCE_JSON PARAMS_JSON | freeport
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "scaler_testkit.h"

#include "registry.h"

#include "rabbitmq.h"

static const struct sw_scaler_type *T = &scaler_rabbitmq;

#define COLS "columns=name,messages,messages_ready,message_stats.publish_details.rate," \
	     "message_stats.deliver_get_details.rate"

static void load_fails(int source, const char *json, const char *want)
{
	kit_load_fails(T, source, source ? "sources.rabbit" : "metrics[0].params", json, want);
}

static void test_descriptor(void **st)
{
	assert_int_equal(T->abi_version, SW_SCALER_ABI_VERSION);
	assert_int_equal(T->struct_size, sizeof(struct sw_scaler_type));
	assert_string_equal(T->name, "rabbitmq");
	assert_int_equal(T->query, SW_QUERY_NONE);
	assert_true(T->flags & SW_SCALER_CONCURRENT);
	char rerr[512] = "";
	if (registry_check_type(T, rerr, sizeof rerr))
		fail_msg("the core refuses the descriptor: %s", rerr);
	assert_non_null(T->check_metric);
}

static void test_params_rejected(void **st)
{
	load_fails(1, "{}", "sources.rabbit.url: required");
	load_fails(1, "{\"url\": \"http://h\", \"host\": \"amqp://h\"}", "sources.rabbit.host: unknown key");
	load_fails(0, "{}", "metrics[0].params.queueName: required");
	load_fails(0, "{\"queueName\": [\"a\"]}", "metrics[0].params.queueName: must be a string");
	load_fails(0, "{\"queueName\": \"q\", \"mode\": \"queuelength\"}",
		   "metrics[0].params.mode: 'queuelength' is not one of QueueLength, MessageRate, DeliverGetRate; did "
		   "you mean \"QueueLength\"?");
	load_fails(0, "{\"queueName\": \"q\", \"mode\": \"Depth\"}",
		   "metrics[0].params.mode: 'Depth' is not one of QueueLength, MessageRate, DeliverGetRate");
	load_fails(0, "{\"queueName\": \"q\", \"operation\": \"min\"}",
		   "metrics[0].params.operation: 'min' is not one of sum, avg, max; did you mean \"max\"?");
	load_fails(0, "{\"queueName\": \"q\", \"pageSize\": 0}", "metrics[0].params.pageSize: 0 is out of range [1, 500]");
	load_fails(0, "{\"queueName\": \"q\", \"pageSize\": 501}",
		   "metrics[0].params.pageSize: 501 is out of range [1, 500]");
	load_fails(0, "{\"queueName\": \"q\", \"pageSize\": 2.5}", "metrics[0].params.pageSize: must be a whole number");
	load_fails(0, "{\"queueName\": \"q\", \"pageSize\": \"lots\"}",
		   "metrics[0].params.pageSize: 'lots' is not a number or a quantity: quantities must match the regular "
		   "expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'");
	load_fails(0, "{\"queueName\": \"q\", \"useRegex\": \"yes\"}", "metrics[0].params.useRegex: must be true or false");
	load_fails(0, "{\"queueName\": \"q\", \"excludeUnacknowledged\": 1}",
		   "metrics[0].params.excludeUnacknowledged: must be true or false");
	load_fails(0, "{\"queueName\": \"q\", \"vhost\": \"/\"}", "metrics[0].params.vhost: unknown key");
	load_fails(0, "{\"queueName\": \"q\", \"vhostname\": \"/\"}",
		   "metrics[0].params.vhostname: unknown key; did you mean \"vhostName\"?");
	load_fails(0, "{\"queueName\": \"q\", \"queueLength\": 20}", "metrics[0].params.queueLength: unknown key");
}

static void test_check_metric(void **st)
{
	char err[1024];
	const char *src = "{\"url\": \"http://h:15672\"}";
	assert_int_equal(kit_check(T, src, "{\"queueName\": \"orders\"}", err, sizeof err), 0);
	assert_int_equal(kit_check(T, src, "{\"queueName\": \"^orders-[0-9]+$\", \"useRegex\": true}", err, sizeof err), 0);
	assert_int_equal(kit_check(T, src, "{\"queueName\": \"orders-(\", \"useRegex\": true}", err, sizeof err), -1);
	assert_contains(err, "queueName 'orders-(' is not a POSIX extended regular expression: ");
	/* not a regex without useRegex: any name goes */
	assert_int_equal(kit_check(T, src, "{\"queueName\": \"orders-(\"}", err, sizeof err), 0);
	assert_int_equal(kit_check(T, src, "{\"queueName\": \"q\", \"mode\": \"MessageRate\", \"excludeUnacknowledged\": true}",
				   err, sizeof err),
			 -1);
	assert_string_equal(err, "excludeUnacknowledged applies to mode QueueLength only, not MessageRate");
}

static void test_open_errors(void **st)
{
	struct kit k;
	char err[512];
	assert_int_equal(kit_open(&k, T, "{\"url\": \"http://guest:guest@rabbit:15672/\"}", "{\"queueName\": \"q\"}", err,
				  sizeof err),
			 -1);
	assert_string_equal(err, "url 'http://rabbit:15672/' must not hold credentials; use basicAuth.username and "
				 "basicAuth.passwordFile");
	kit_close(&k);
	assert_int_equal(kit_open(&k, T, "{\"url\": \"amqp://rabbit:5672/\"}", "{\"queueName\": \"q\"}", err, sizeof err),
			 -1);
	assert_string_equal(err, "url 'amqp://rabbit:5672/' must start with http:// or https://");
	kit_close(&k);
	/* check_source refuses the same at load, without the password */
	assert_int_equal(kit_check_source(T, "{\"url\": \"http://guest:s3cret@rabbit:15672/\"}", err, sizeof err), -1);
	assert_string_equal(err, "url 'http://rabbit:15672/' must not hold credentials; use basicAuth.username and "
				 "basicAuth.passwordFile");
	assert_int_equal(kit_check_source(T, "{\"url\": \"amqp://rabbit:5672/\"}", err, sizeof err), -1);
	assert_string_equal(err, "url 'amqp://rabbit:5672/' must start with http:// or https://");
	assert_int_equal(kit_check_source(T, "{\"url\": \"http://rabbit:15672/\", \"basicAuth\": {\"username\": \"u\"}}",
					  err, sizeof err),
			 -1);
	assert_string_equal(err, "basicAuth.username needs basicAuth.passwordFile");
	assert_int_equal(kit_check_source(T, "{\"url\": \"http://rabbit:15672/\"}", err, sizeof err), 0);
}

static void open_on(struct kit *k, struct srv *v, const char *metric)
{
	char src[256], err[1024];
	snprintf(src, sizeof src, "{\"url\": \"http://127.0.0.1:%d/\"}", v->tcp.port);
	if (kit_open(k, T, src, metric, err, sizeof err))
		fail_msg("open: %s", err);
}

static const char *QUEUE = "{\"name\": \"orders\", \"messages\": 37, \"messages_ready\": 30, "
			   "\"message_stats\": {\"publish_details\": {\"rate\": 2.5}, "
			   "\"deliver_get_details\": {\"rate\": 1.25}}}";

/* Reads metric's value from body; fails the test on an error. */
static double value_of(struct srv *v, const char *metric, const char *body)
{
	struct kit k;
	char err[1024];
	srv_set(v, 200, "application/json", body);
	open_on(&k, v, metric);
	if (kit_fetch(&k, 0, err, sizeof err))
		fail_msg("%s: %s", metric, err);
	assert_int_equal(k.batch.n, 1);
	assert_int_equal(k.batch.nlabels[0], 0);
	assert_int_equal(k.batch.ts[0], INT64_C(1714564800123));
	double d = k.batch.v[0];
	kit_close(&k);
	return d;
}

static void test_one_queue(void **st)
{
	struct srv v;
	char line[512];
	srv_start(&v);
	assert_true(value_of(&v, "{\"queueName\": \"orders\"}", QUEUE) == 37);
	srv_last_line(&v, line, sizeof line);
	assert_string_equal(line, "GET /api/queues/%2F/orders?" COLS " HTTP/1.1");
	assert_true(value_of(&v, "{\"queueName\": \"orders\", \"excludeUnacknowledged\": true}", QUEUE) == 30);
	assert_true(value_of(&v, "{\"queueName\": \"orders\", \"mode\": \"MessageRate\"}", QUEUE) == 2.5);
	assert_true(value_of(&v, "{\"queueName\": \"orders\", \"mode\": \"DeliverGetRate\"}", QUEUE) == 1.25);
	/* names are encoded as path segments */
	assert_true(value_of(&v, "{\"queueName\": \"a b/c\", \"vhostName\": \"prod/eu\"}", QUEUE) == 37);
	srv_last_line(&v, line, sizeof line);
	assert_string_equal(line, "GET /api/queues/prod%2Feu/a%20b%2Fc?" COLS " HTTP/1.1");
	/* a queue that never saw traffic has statistics but no message_stats: rate 0 */
	const char *idle = "{\"name\": \"orders\", \"messages\": 0, \"messages_ready\": 0}";
	assert_true(value_of(&v, "{\"queueName\": \"orders\", \"mode\": \"MessageRate\"}", idle) == 0);
	const char *pub_only = "{\"name\": \"orders\", \"messages\": 3, \"message_stats\": {\"publish_details\": {\"rate\": 0.2}}}";
	assert_true(value_of(&v, "{\"queueName\": \"orders\", \"mode\": \"DeliverGetRate\"}", pub_only) == 0);
	srv_stop(&v);
}

static void test_one_queue_errors(void **st)
{
	struct srv v;
	struct kit k;
	char err[1024], want[1024], url[256];
	srv_start(&v);
	snprintf(url, sizeof url, "'http://127.0.0.1:%d/api/queues/%%2F/orders?...'", v.tcp.port);
	static const struct {
		const char *metric;
		long status;
		const char *body;
		int rc;
		const char *msg;
	} cases[] = {
		{ "{\"queueName\": \"orders\"}", 200, "{\"name\": \"orders\", \"durable\": true}", SW_FETCH_ANSWER_ERROR,
		  "queue 'orders' has no statistics yet (RabbitMQ emits them every collect_statistics_interval, 5 s by "
		  "default, after the queue is declared)" },
		{ "{\"queueName\": \"orders\"}", 200, "{\"name\": \"orders\", \"messages\": \"37\"}", SW_FETCH_ANSWER_ERROR,
		  "queue 'orders' has a \"messages\" that is not a count" },
		{ "{\"queueName\": \"orders\", \"excludeUnacknowledged\": true}", 200, "{\"messages\": 3}",
		  SW_FETCH_ANSWER_ERROR, "queue 'orders' has no \"messages_ready\"" },
		{ "{\"queueName\": \"orders\", \"mode\": \"MessageRate\"}", 200,
		  "{\"messages\": 3, \"message_stats\": {\"publish_details\": {\"rate\": \"fast\"}}}", SW_FETCH_ANSWER_ERROR,
		  "queue 'orders' has no numeric \"message_stats.publish_details.rate\"" },
		{ "{\"queueName\": \"orders\", \"mode\": \"MessageRate\"}", 200, "{\"messages\": 3, \"message_stats\": 7}",
		  SW_FETCH_ANSWER_ERROR, "queue 'orders' has a \"message_stats\" that is not an object" },
		{ "{\"queueName\": \"orders\"}", 200, "[]", SW_FETCH_ANSWER_ERROR, "answer is not a queue object" },
		{ "{\"queueName\": \"orders\"}", 200, "<html>", SW_FETCH_ANSWER_ERROR, "body is not JSON: <html>" },
		{ "{\"queueName\": \"orders\"}", 404, "{\"error\":\"Object Not Found\",\"reason\":\"Not Found\"}",
		  SW_FETCH_ANSWER_ERROR, "queue 'orders' not found in vhost '/' (HTTP 404)" },
		{ "{\"queueName\": \"orders\"}", 401, "{\"error\":\"not_authorized\",\"reason\":\"Login failed\"}",
		  SW_FETCH_ANSWER_ERROR, "HTTP 401: {\"error\":\"not_authorized\",\"reason\":\"Login failed\"}" },
		{ "{\"queueName\": \"orders\"}", 503, "", SW_FETCH_SOURCE_ERROR, "HTTP 503 with an empty body" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		srv_set(&v, cases[i].status, "application/json", cases[i].body);
		open_on(&k, &v, cases[i].metric);
		int rc = kit_fetch(&k, 0, err, sizeof err);
		snprintf(want, sizeof want, "%s: %s", url, cases[i].msg);
		if (rc != cases[i].rc || strcmp(err, want))
			fail_msg("case %zu: rc %d (want %d), '%s' (want '%s')", i, rc, cases[i].rc, err, want);
		assert_int_equal(k.batch.n, 0);
		kit_close(&k);
	}
	srv_stop(&v);
}

/* Two pages of queues; names matched here with a POSIX ERE. */
static void set_pages(struct srv *v)
{
	srv_clear_routes(v);
	srv_route(v, "page=1&", 200,
		  "{\"items\": [{\"name\": \"orders-1\", \"messages\": 10, \"messages_ready\": 1, "
		  "\"message_stats\": {\"publish_details\": {\"rate\": 1.5}}},"
		  "{\"name\": \"audit\", \"messages\": 1000},"
		  "{\"name\": \"orders-2\", \"messages\": 20, \"messages_ready\": 2}],"
		  "\"page\": 1, \"page_count\": 2, \"page_size\": 3, \"total_count\": 5}");
	srv_route(v, "page=2&", 200,
		  "{\"items\": [{\"name\": \"orders-3\", \"messages\": 3, \"messages_ready\": 3, "
		  "\"message_stats\": {\"publish_details\": {\"rate\": 4.5}}},"
		  "{\"name\": \"orders-new\"}],"
		  "\"page\": 2, \"page_count\": 2, \"page_size\": 3, \"total_count\": 5}");
}

static double regex_value(struct srv *v, const char *metric, int *requests)
{
	struct kit k;
	char err[1024];
	open_on(&k, v, metric);
	int before = srv_requests(v);
	if (kit_fetch(&k, 0, err, sizeof err))
		fail_msg("%s: %s", metric, err);
	*requests = srv_requests(v) - before;
	double d = k.batch.v[0];
	kit_close(&k);
	return d;
}

static void test_regex(void **st)
{
	struct srv v;
	char line[512];
	int nreq;
	srv_start(&v);
	set_pages(&v);
	assert_true(regex_value(&v, "{\"queueName\": \"^orders-[0-9]+$\", \"useRegex\": true, \"pageSize\": 3}", &nreq) ==
		    33);
	assert_int_equal(nreq, 2);
	srv_last_line(&v, line, sizeof line);
	assert_string_equal(line, "GET /api/queues/%2F?page=2&page_size=3&" COLS " HTTP/1.1");
	assert_true(regex_value(&v, "{\"queueName\": \"^orders-[0-9]+$\", \"useRegex\": true, \"operation\": \"avg\"}",
				&nreq) == 11);
	assert_true(regex_value(&v, "{\"queueName\": \"^orders-[0-9]+$\", \"useRegex\": true, \"operation\": \"max\"}",
				&nreq) == 20);
	assert_true(regex_value(&v, "{\"queueName\": \"orders\", \"useRegex\": true, \"excludeUnacknowledged\": true}",
				&nreq) == 6);
	assert_true(regex_value(&v, "{\"queueName\": \"orders\", \"useRegex\": true, \"mode\": \"MessageRate\"}", &nreq) ==
		    6.0);
	/* unanchored, as RabbitMQ's and KEDA's matching: "audit" alone by "di" */
	assert_true(regex_value(&v, "{\"queueName\": \"di\", \"useRegex\": true}", &nreq) == 1000);
	/* POSIX classes work; a queue without statistics yet is left out of the others */
	assert_true(regex_value(&v, "{\"queueName\": \"^orders-[[:alpha:]]+|^orders-3\", \"useRegex\": true}", &nreq) == 3);
	srv_stop(&v);
}

static void test_regex_errors(void **st)
{
	struct srv v;
	struct kit k;
	char err[1024], want[1024];
	srv_start(&v);
	set_pages(&v);
	open_on(&k, &v, "{\"queueName\": \"^payments\", \"useRegex\": true, \"pageSize\": 3}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	snprintf(want, sizeof want, "'http://127.0.0.1:%d/api/queues/%%2F?...': no queue in vhost '/' matches '^payments' "
				    "(5 listed)", v.tcp.port);
	assert_string_equal(err, want);
	kit_close(&k);

	open_on(&k, &v, "{\"queueName\": \"new$\", \"useRegex\": true}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "the 1 queue matching 'new$' in vhost '/' has no statistics yet");
	kit_close(&k);

	/* a page that vanished while paging ends the list */
	srv_route(&v, "page=2&", 400, "{\"error\":\"page_out_of_range\",\"reason\":\"Page out of range\"}");
	open_on(&k, &v, "{\"queueName\": \"orders\", \"useRegex\": true}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_true(k.batch.v[0] == 30);
	kit_close(&k);

	srv_clear_routes(&v);
	srv_set(&v, 404, "application/json", "{\"error\":\"Object Not Found\",\"reason\":\"Not Found\"}");
	open_on(&k, &v, "{\"queueName\": \"x\", \"useRegex\": true, \"vhostName\": \"nope\"}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "/api/queues/nope?...': vhost 'nope' not found (HTTP 404)");
	kit_close(&k);

	srv_set(&v, 200, "application/json", "{\"items\": {}}");
	open_on(&k, &v, "{\"queueName\": \"x\", \"useRegex\": true}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "answer is not a page of queues (no \"items\" list and \"page_count\")");
	kit_close(&k);

	srv_set(&v, 200, "application/json", "{\"items\": [{\"messages\": 1}], \"page_count\": 1}");
	open_on(&k, &v, "{\"queueName\": \"x\", \"useRegex\": true}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "a queue has no \"name\"");
	kit_close(&k);

	/* more queues than the cap */
	size_t cap = (size_t)(RABBITMQ_MAX_QUEUES + 1) * 40 + 64;
	char *big = malloc(cap);
	size_t o = (size_t)snprintf(big, cap, "{\"page_count\": 1, \"items\": [");
	for (int i = 0; i <= RABBITMQ_MAX_QUEUES; i++)
		o += (size_t)snprintf(big + o, cap - o, "%s{\"name\": \"q%d\", \"messages\": 1}", i ? "," : "", i);
	snprintf(big + o, cap - o, "]}");
	srv_set(&v, 200, "application/json", big);
	free(big);
	open_on(&k, &v, "{\"queueName\": \"q\", \"useRegex\": true}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "vhost '/' has more than 10000 queues to match");
	kit_close(&k);
	srv_stop(&v);
}

static void test_transport(void **st)
{
	struct srv v;
	struct kit k;
	char err[1024], want[512];
	srv_start(&v);
	int port = v.tcp.port;
	srv_set(&v, 200, "application/json", QUEUE);
	open_on(&k, &v, "{\"queueName\": \"orders\"}");
	for (int i = 0; i < 3; i++)
		assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_int_equal(srv_accepted(&v), 1);

	srv_stream(&v, RABBITMQ_BODY_MAX + 1, 1);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "body larger than 4194304 bytes");
	srv_mode(&v, M_CLOSE);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "Empty reply from server");
	srv_mode(&v, M_HANG);
	assert_int_equal(kit_fetch(&k, t_now() + 200, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "no complete answer within");
	srv_stop(&v);

	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want, "cannot reach 'http://127.0.0.1:%d/api/queues/%%2F/orders?...': Connection refused",
		 port);
	assert_string_equal(err, want);
	srv_start_at(&v, port);
	srv_set(&v, 200, "application/json", QUEUE);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_true(k.batch.v[0] == 37);
	kit_close(&k);
	srv_stop(&v);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		return kit_driver_main(T, argc, argv);
	http_global_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor),
		cmocka_unit_test(test_params_rejected),
		cmocka_unit_test(test_check_metric),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_one_queue),
		cmocka_unit_test(test_one_queue_errors),
		cmocka_unit_test(test_regex),
		cmocka_unit_test(test_regex_errors),
		cmocka_unit_test(test_transport),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	http_global_release();
	return failed;
}
