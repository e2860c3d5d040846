/*
 * test_nats_jetstream.c — the NATS JetStream scaler through its descriptor,
 * its params loaded by the real params_load, against a canned monitoring
 * endpoint on 127.0.0.1 (tests/unit/scaler_testkit.h).
 *
 * With arguments the binary is the driver of tests/integration/test_nats.sh
 * (see scaler_testkit.h):
 *   test_nats_jetstream fetch|poll SOURCE_JSON PARAMS_JSON | freeport
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "scaler_testkit.h"

#include "registry.h"

#include "nats_jetstream.h"

static const struct sw_scaler_type *T = &scaler_nats_jetstream;

static void load_fails(int source, const char *json, const char *want)
{
	kit_load_fails(T, source, source ? "sources.nats" : "metrics[1].params", json, want);
}

static void test_descriptor(void **st)
{
	assert_int_equal(T->abi_version, SW_SCALER_ABI_VERSION);
	assert_int_equal(T->struct_size, sizeof(struct sw_scaler_type));
	assert_string_equal(T->name, "nats-jetstream");
	assert_int_equal(T->query, SW_QUERY_NONE);
	assert_true(T->flags & SW_SCALER_CONCURRENT);
	char rerr[512] = "";
	if (registry_check_type(T, rerr, sizeof rerr))
		fail_msg("the core refuses the descriptor: %s", rerr);
}

static void test_params_rejected(void **st)
{
	load_fails(1, "{}", "sources.nats.url: required");
	load_fails(1, "{\"natsServerMonitoringEndpoint\": \"nats:8222\"}",
		   "sources.nats.url: required\nsources.nats.natsServerMonitoringEndpoint: unknown key");
	load_fails(1, "{\"url\": \"http://h\", \"timeout\": \"-1s\"}", "sources.nats.timeout: invalid duration '-1s': must not be negative");
	load_fails(0, "{}", "metrics[1].params.stream: required\nmetrics[1].params.consumer: required");
	load_fails(0, "{\"stream\": \"S\"}", "metrics[1].params.consumer: required");
	load_fails(0, "{\"stream\": \"S\", \"consumer\": {\"name\": \"c\"}}", "metrics[1].params.consumer: must be a string");
	load_fails(0, "{\"stream\": \"S\", \"consumer\": \"c\", \"acount\": \"A\"}",
		   "metrics[1].params.acount: unknown key; did you mean \"account\"?");
	load_fails(0, "{\"stream\": \"S\", \"consumer\": \"c\", \"lagThreshold\": 10}",
		   "metrics[1].params.lagThreshold: unknown key");
	char err[512];
	assert_int_equal(kit_check(T, "{\"url\": \"http://h\"}", "{\"stream\": \"S\", \"consumer\": \"c\"}", err, sizeof err),
			 0);
	assert_int_equal(kit_check(T, "{\"url\": \"http://h\"}", "{\"stream\": \"\", \"consumer\": \"c\"}", err, sizeof err),
			 -1);
	assert_string_equal(err, "stream is required");
	struct kit k;
	assert_int_equal(kit_open(&k, T, "{\"url\": \"nats:8222\"}", "{\"stream\": \"S\", \"consumer\": \"c\"}", err,
				  sizeof err),
			 -1);
	assert_string_equal(err, "url 'nats:8222' must start with http:// or https://");
	kit_close(&k);
	/* check_source refuses the same at load, without the password */
	assert_int_equal(kit_check_source(T, "{\"url\": \"nats:8222\"}", err, sizeof err), -1);
	assert_string_equal(err, "url 'nats:8222' must start with http:// or https://");
	assert_int_equal(kit_check_source(T, "{\"url\": \"http://a:s3cret@nats:8222\"}", err, sizeof err), -1);
	assert_string_equal(err, "url 'http://nats:8222' must not hold credentials; use basicAuth.username and "
				 "basicAuth.passwordFile");
	assert_int_equal(kit_check_source(T, "{\"url\": \"http://nats:8222\"}", err, sizeof err), 0);
}

static void open_on(struct kit *k, struct srv *v, const char *metric)
{
	char src[256], err[1024];
	snprintf(src, sizeof src, "{\"url\": \"http://127.0.0.1:%d\"}", v->tcp.port);
	if (kit_open(k, T, src, metric, err, sizeof err))
		fail_msg("open: %s", err);
}

/* A /jsz answer as nats-server 2.9 gives it: ORDERS in $G and in TEAM. */
static const char *JSZ = "{\"server_id\": \"N1\", \"accounts\": 2, \"streams\": 3, \"account_details\": ["
			 "{\"name\": \"$G\", \"id\": \"$G\", \"stream_detail\": ["
			 "  {\"name\": \"ORDERS\", \"state\": {\"messages\": 40, \"last_seq\": 40}, \"consumer_detail\": ["
			 "    {\"stream_name\": \"ORDERS\", \"name\": \"worker\", \"num_ack_pending\": 5, \"num_pending\": 32,"
			 "     \"num_redelivered\": 0, \"num_waiting\": 0},"
			 "    {\"stream_name\": \"ORDERS\", \"name\": \"audit\", \"num_ack_pending\": 0, \"num_pending\": 0}]},"
			 "  {\"name\": \"EVENTS\", \"state\": {\"messages\": 0}, \"consumer_detail\": ["
			 "    {\"name\": \"bad\", \"num_ack_pending\": 1, \"num_pending\": \"7\"},"
			 "    {\"name\": \"half\", \"num_pending\": 7}]}]},"
			 "{\"name\": \"TEAM\", \"id\": \"TEAM\", \"stream_detail\": ["
			 "  {\"name\": \"ORDERS\", \"consumer_detail\": ["
			 "    {\"name\": \"worker\", \"num_ack_pending\": 0, \"num_pending\": 18446744073709551615}]},"
			 "  {\"name\": \"BILLING\", \"consumer_detail\": [{\"name\": \"w\", \"num_ack_pending\": 2, \"num_pending\": 1}]}]}"
			 "]}";

static void test_lag(void **st)
{
	struct srv v;
	struct kit k;
	char err[1024], line[512];
	srv_start(&v);
	srv_set(&v, 200, "application/json", JSZ);

	open_on(&k, &v, "{\"account\": \"$G\", \"stream\": \"ORDERS\", \"consumer\": \"worker\"}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_int_equal(k.batch.n, 1);
	assert_true(k.batch.v[0] == 37); /* 32 pending + 5 delivered, not acknowledged */
	assert_int_equal(k.batch.ts[0], INT64_C(1714564800123));
	srv_last_line(&v, line, sizeof line);
	assert_string_equal(line, "GET /jsz?accounts=true&consumers=true&acc=%24G HTTP/1.1");
	kit_close(&k);

	open_on(&k, &v, "{\"stream\": \"BILLING\", \"consumer\": \"w\"}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_true(k.batch.v[0] == 3);
	srv_last_line(&v, line, sizeof line);
	assert_string_equal(line, "GET /jsz?accounts=true&consumers=true HTTP/1.1");
	kit_close(&k);

	open_on(&k, &v, "{\"account\": \"$G\", \"stream\": \"ORDERS\", \"consumer\": \"audit\"}");
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_true(k.batch.v[0] == 0); /* a real, reported zero */
	kit_close(&k);
	srv_stop(&v);
}

static void test_lag_errors(void **st)
{
	struct srv v;
	struct kit k;
	char err[1024], want[1024], url[128];
	srv_start(&v);
	static const struct {
		const char *metric;
		const char *body; /* NULL: JSZ */
		long status;
		int rc;
		const char *msg;
	} cases[] = {
		{ "{\"stream\": \"ORDERS\", \"consumer\": \"worker\"}", NULL, 200, SW_FETCH_ANSWER_ERROR,
		  "stream 'ORDERS' is in accounts '$G' and 'TEAM'; set account" },
		{ "{\"stream\": \"NOPE\", \"consumer\": \"worker\"}", NULL, 200, SW_FETCH_ANSWER_ERROR,
		  "stream 'NOPE' not found in any account" },
		{ "{\"account\": \"TEAM\", \"stream\": \"EVENTS\", \"consumer\": \"x\"}", NULL, 200, SW_FETCH_ANSWER_ERROR,
		  "stream 'EVENTS' not found in account 'TEAM'" },
		{ "{\"account\": \"OTHER\", \"stream\": \"EVENTS\", \"consumer\": \"x\"}", NULL, 200, SW_FETCH_ANSWER_ERROR,
		  "account 'OTHER' not found (or it has no JetStream)" },
		{ "{\"account\": \"$G\", \"stream\": \"ORDERS\", \"consumer\": \"gone\"}", NULL, 200, SW_FETCH_ANSWER_ERROR,
		  "consumer 'gone' not found in stream 'ORDERS'" },
		{ "{\"account\": \"$G\", \"stream\": \"EVENTS\", \"consumer\": \"bad\"}", NULL, 200, SW_FETCH_ANSWER_ERROR,
		  "consumer 'bad' has a non-count \"num_pending\"" },
		{ "{\"account\": \"$G\", \"stream\": \"EVENTS\", \"consumer\": \"half\"}", NULL, 200, SW_FETCH_ANSWER_ERROR,
		  "consumer 'half' has no \"num_ack_pending\"" },
		{ "{\"stream\": \"S\", \"consumer\": \"c\"}", "{\"server_id\": \"N\", \"disabled\": true, \"streams\": 0}", 200,
		  SW_FETCH_ANSWER_ERROR, "JetStream is not enabled on this server" },
		{ "{\"stream\": \"S\", \"consumer\": \"c\"}", "{\"server_id\": \"N\", \"account_details\": 5}", 200,
		  SW_FETCH_ANSWER_ERROR, "\"account_details\" is not a list" },
		{ "{\"stream\": \"S\", \"consumer\": \"c\"}", "{\"server_id\": \"N\", \"streams\": 0}", 200,
		  SW_FETCH_ANSWER_ERROR, "stream 'S' not found in any account" },
		{ "{\"stream\": \"S\", \"consumer\": \"c\"}", "\"jsz\"", 200, SW_FETCH_ANSWER_ERROR,
		  "answer is not a /jsz object" },
		{ "{\"stream\": \"S\", \"consumer\": \"c\"}", "{\"account_details\": [{\"name\": \"$G\", \"stream_detail\": [{",
		  200, SW_FETCH_ANSWER_ERROR, "body is invalid or truncated JSON (error at byte 54 of 55)" },
		{ "{\"stream\": \"S\", \"consumer\": \"c\"}",
		  "Error decoding boolean for 'consumers': strconv.ParseBool: parsing \"x\": invalid syntax", 400,
		  SW_FETCH_ANSWER_ERROR,
		  "HTTP 400: Error decoding boolean for 'consumers': strconv.ParseBool: parsing \"x\": invalid syntax" },
		{ "{\"stream\": \"S\", \"consumer\": \"c\"}", "", 502, SW_FETCH_SOURCE_ERROR, "HTTP 502 with an empty body" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		srv_set(&v, cases[i].status, "application/json", cases[i].body ? cases[i].body : JSZ);
		open_on(&k, &v, cases[i].metric);
		int rc = kit_fetch(&k, 0, err, sizeof err);
		snprintf(url, sizeof url, "'http://127.0.0.1:%d/jsz?...'", v.tcp.port);
		snprintf(want, sizeof want, "%s: %s", url, cases[i].msg);
		if (rc != cases[i].rc || strcmp(err, want))
			fail_msg("case %zu: rc %d (want %d), '%s' (want '%s')", i, rc, cases[i].rc, err, want);
		assert_int_equal(k.batch.n, 0);
		kit_close(&k);
	}
	srv_stop(&v);
}

static void test_transport(void **st)
{
	struct srv v;
	struct kit k;
	char err[1024], want[512];
	srv_start(&v);
	int port = v.tcp.port;
	srv_set(&v, 200, "application/json", JSZ);
	open_on(&k, &v, "{\"account\": \"$G\", \"stream\": \"ORDERS\", \"consumer\": \"worker\"}");
	for (int i = 0; i < 3; i++)
		assert_int_equal(kit_fetch(&k, 0, err, sizeof err), 0);
	assert_int_equal(srv_accepted(&v), 1);

	srv_stream(&v, NATS_JETSTREAM_BODY_MAX + 1, 0);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_ANSWER_ERROR);
	assert_contains(err, "body larger than 16777216 bytes");
	srv_set_raw(&v, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"server_id\"", M_CANNED_CLOSE);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "transfer closed with 88 bytes remaining to read");
	srv_mode(&v, M_CLOSE);
	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "Empty reply from server");
	srv_mode(&v, M_HANG);
	assert_int_equal(kit_fetch(&k, t_now() + 200, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	assert_contains(err, "no complete answer within");
	srv_stop(&v);

	assert_int_equal(kit_fetch(&k, 0, err, sizeof err), SW_FETCH_SOURCE_ERROR);
	snprintf(want, sizeof want, "cannot reach 'http://127.0.0.1:%d/jsz?...': Connection refused", port);
	assert_string_equal(err, want);
	srv_start_at(&v, port);
	srv_set(&v, 200, "application/json", JSZ);
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
		cmocka_unit_test(test_lag),
		cmocka_unit_test(test_lag_errors),
		cmocka_unit_test(test_transport),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	http_global_release();
	return failed;
}
