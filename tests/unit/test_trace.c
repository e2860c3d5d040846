/*
 * test_trace.c — the trace reader: CSV and Prometheus range-query JSON,
 * series selection and summing, times, every refusal with its line, the
 * caps, and the public traces in $SW_TESTDATA/traces (CSV and JSON of each
 * must give the same points, with the counts SOURCES.md states).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace.h"

static char err[700];

/* Parses text; expects success. */
static void ok(const char *text, const char *series, struct trace *t)
{
	err[0] = 0;
	int rc = trace_parse(text, strlen(text), "t.csv", series, 0, t, err, sizeof err);
	if (rc != 0)
		fail_msg("refused: %s", err);
}

/* Parses text; expects a refusal whose message contains every needle. */
static void bad(const char *text, const char *series, size_t max_points, const char *n1, const char *n2)
{
	struct trace t;
	err[0] = 0;
	int rc = trace_parse(text, strlen(text), "t.csv", series, max_points, &t, err, sizeof err);
	if (rc == 0)
		fail_msg("accepted: %s", text);
	assert_null(t.ts_ms);
	assert_int_equal(t.n, 0);
	if (strchr(err, '\n'))
		fail_msg("not one line: %s", err);
	if (n1 && !strstr(err, n1))
		fail_msg("'%s' not in '%s'", n1, err);
	if (n2 && !strstr(err, n2))
		fail_msg("'%s' not in '%s'", n2, err);
}

/* ---- times ----------------------------------------------------------------- */

static void test_times(void **state)
{
	int64_t ms;
	(void)state;
	assert_int_equal(trace_parse_time("1714564800", 10, &ms), 0);
	assert_true(ms == INT64_C(1714564800000));
	assert_int_equal(trace_parse_time("1714564800.25", 13, &ms), 0);
	assert_true(ms == INT64_C(1714564800250));
	assert_int_equal(trace_parse_time("1714564800.0004", 15, &ms), 0);
	assert_true(ms == INT64_C(1714564800000));
	assert_int_equal(trace_parse_time("1.7e9", 5, &ms), 0);
	assert_true(ms == INT64_C(1700000000000));
	assert_int_equal(trace_parse_time("0", 1, &ms), 0);
	assert_true(ms == 0);
	const char *s = "2024-05-01T12:00:00Z";
	assert_int_equal(trace_parse_time(s, strlen(s), &ms), 0);
	assert_true(ms == INT64_C(1714564800000));
	s = "2024-05-01T14:00:00.250+02:00";
	assert_int_equal(trace_parse_time(s, strlen(s), &ms), 0);
	assert_true(ms == INT64_C(1714564800250));
	s = "2024-05-01 09:30:00-02:30";
	assert_int_equal(trace_parse_time(s, strlen(s), &ms), 0);
	assert_true(ms == INT64_C(1714564800000));
	s = "2024-02-29t00:00:00.9996z";   /* rounds to the next second */
	assert_int_equal(trace_parse_time(s, strlen(s), &ms), 0);
	assert_true(ms == INT64_C(1709164801000));
	s = "1970-01-01T00:00:00Z";
	assert_int_equal(trace_parse_time(s, strlen(s), &ms), 0);
	assert_true(ms == 0);

	static const char *const refused[] = {
		"", "abc", "-5", "1e20", "nan", "inf", "0x10", "12 ", "2023-02-29T00:00:00Z",
		"2024-13-01T00:00:00Z", "2024-05-01T24:00:00Z", "2024-05-01T12:00:00", "2024-05-01T12:00:00+0200",
		"2024-05-01T12:00:00.Z", "1969-12-31T23:59:59Z", "10000-01-01T00:00:00Z", "2024-05-01",
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
		if (trace_parse_time(refused[i], strlen(refused[i]), &ms) == 0)
			fail_msg("accepted '%s'", refused[i]);

	char buf[40];
	trace_format_time(INT64_C(1714564800000), buf, sizeof buf);
	assert_string_equal(buf, "2024-05-01T12:00:00Z");
	trace_format_time(INT64_C(1714564800250), buf, sizeof buf);
	assert_string_equal(buf, "2024-05-01T12:00:00.250Z");
}

/* ---- CSV ------------------------------------------------------------------- */

static void test_csv(void **state)
{
	struct trace t;
	(void)state;
	ok("timestamp,value\r\n"
	   "# a comment\n"
	   "\n"
	   "1714564800,1\r\n"
	   " 1714564815.5 , 2.5 \n"
	   "\"2024-05-01T12:00:30Z\",\"1.5k\"\n"
	   "2024-05-01T14:00:45+02:00,250m\n"
	   "1714564860,-3e1",
	   NULL, &t);
	assert_int_equal(t.n, 5);
	assert_int_equal(t.nseries, 1);
	assert_string_equal(t.desc, "csv");
	assert_true(t.ts_ms[0] == INT64_C(1714564800000));
	assert_true(t.ts_ms[1] == INT64_C(1714564815500));
	assert_true(t.ts_ms[2] == INT64_C(1714564830000));
	assert_true(t.ts_ms[3] == INT64_C(1714564845000));
	assert_true(t.ts_ms[4] == INT64_C(1714564860000));
	assert_true(t.v[0] == 1 && t.v[1] == 2.5 && t.v[2] == 1500 && t.v[3] == 0.25 && t.v[4] == -30);
	assert_int_equal(trace_index_at(&t, INT64_C(1714564799999)), (size_t)-1);
	assert_int_equal(trace_index_at(&t, INT64_C(1714564800000)), 0);
	assert_int_equal(trace_index_at(&t, INT64_C(1714564829999)), 1);
	assert_int_equal(trace_index_at(&t, INT64_C(1714564830000)), 2);
	assert_int_equal(trace_index_at(&t, INT64_C(9999999999999)), 4);
	trace_release(&t);

	/* no header; index 0 is the only series */
	ok("10,1\n20,2\n", "0", &t);
	assert_int_equal(t.n, 2);
	trace_release(&t);
}

static void test_csv_refused(void **state)
{
	(void)state;
	bad("timestamp,value\n10,1\n20,abc\n", NULL, 0, "'t.csv' line 3:", "'abc' is not a number");
	bad("timestamp,value\n10,1\nyesterday,2\n", NULL, 0, "line 3:", "'yesterday' is not a time");
	bad("10,1\n20,2,3\n", NULL, 0, "line 2:", "expected 2 fields");
	bad("10,1\n20\n", NULL, 0, "line 2:", "expected 2 fields");
	bad("10,1\n20,NaN\n", NULL, 0, "line 2:", "NaN");
	bad("10,1\n20,+Inf\n", NULL, 0, "line 2:", "not finite");
	bad("10,1\n20,\n", NULL, 0, "line 2:", "empty value");
	bad("h,v\n10,1\n30,2\n20,3\n", NULL, 0, "line 4:", "must be sorted");
	bad("h,v\n10,1\n30,2\n30,3\n", NULL, 0, "line 4: duplicate timestamp 1970-01-01T00:00:30Z (also on line 3)", NULL);
	bad("", NULL, 0, "no points", NULL);
	bad("timestamp,value\n", NULL, 0, "no points", NULL);
	bad("10,1\n", "1", 0, "cannot be chosen", NULL);
	bad("10,1\n20,2\n30,3\n", NULL, 2, "line 3:", "more than 2 points");

	char *longline = malloc(TRACE_MAX_LINE + 20);
	assert_non_null(longline);
	memset(longline, ' ', TRACE_MAX_LINE + 10);
	memcpy(longline, "10,1\n20,", 8);
	longline[TRACE_MAX_LINE + 10] = 0;
	bad(longline, NULL, 0, "line 2:", "longer than 4096 bytes");
	free(longline);
}

/* ---- Prometheus JSON ---------------------------------------------------------------- */

static const char *const three =
	"{\"status\":\"success\",\n"
	" \"data\":{\"result\":[\n"
	"  {\"metric\":{\"job\":\"api\",\"instance\":\"a\",\"__name__\":\"rps\"},\n"
	"   \"values\":[[1714564800,\"1\"],[1714564815,\"2\"],[1714564830.5,\"3\"]]},\n"
	"  {\"values\":[[1714564800,\"10\"],[1714564830.5,\"30\"],[1714564845,\"40\"]],\n"
	"   \"metric\":{\"job\":\"api\",\"instance\":\"b\\\"q\\u00e9\"}},\n"
	"  {\"metric\":{\"job\":\"db\",\"instance\":\"c\"},\"values\":[[1714564815,\"1e2\"]]}\n"
	" ],\"resultType\":\"matrix\"},\n"
	" \"warnings\":[\"w\"],\"stats\":{\"timings\":{\"a\":[1,2,{\"b\":null}],\"c\":true,\"d\":-1.5e-3}}}\n";

static void test_prom(void **state)
{
	struct trace t;
	(void)state;

	/* all three, summed at equal timestamps */
	ok(three, NULL, &t);
	assert_int_equal(t.nseries, 3);
	assert_int_equal(t.nfile_series, 3);
	assert_string_equal(t.desc, "sum of 3 series");
	assert_int_equal(t.n, 4);
	assert_true(t.ts_ms[0] == INT64_C(1714564800000) && t.v[0] == 11);
	assert_true(t.ts_ms[1] == INT64_C(1714564815000) && t.v[1] == 102);
	assert_true(t.ts_ms[2] == INT64_C(1714564830500) && t.v[2] == 33);
	assert_true(t.ts_ms[3] == INT64_C(1714564845000) && t.v[3] == 40);
	trace_release(&t);

	/* one by labels; labels are sorted in the description */
	ok(three, "instance=\"a\"", &t);
	assert_int_equal(t.nseries, 1);
	assert_string_equal(t.desc, "{__name__=\"rps\",instance=\"a\",job=\"api\"}");
	assert_int_equal(t.n, 3);
	assert_true(t.v[2] == 3);
	trace_release(&t);

	/* an escaped value, braces, != and a missing label matching "" */
	ok(three, "{instance=\"b\\\"q\xc3\xa9\"}", &t);
	assert_int_equal(t.n, 3);
	assert_string_equal(t.desc, "{instance=\"b\\\"q\xc3\xa9\",job=\"api\"}");
	assert_true(t.v[2] == 40);
	trace_release(&t);
	ok(three, "job!=\"db\", __name__=\"\"", &t);
	assert_int_equal(t.nseries, 1);
	assert_true(t.v[0] == 10);
	trace_release(&t);
	ok(three, "job=\"api\"", &t);
	assert_int_equal(t.nseries, 2);
	assert_int_equal(t.n, 4);
	assert_true(t.v[0] == 11 && t.v[1] == 2 && t.v[2] == 33 && t.v[3] == 40);
	trace_release(&t);

	/* by index */
	ok(three, "2", &t);
	assert_int_equal(t.n, 1);
	assert_true(t.v[0] == 100);
	trace_release(&t);

	/* empty metric object, numbers as values, null result skipped keys */
	ok("{\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1,2],[2,\"3\"]]}]}}", NULL, &t);
	assert_string_equal(t.desc, "{}");
	assert_int_equal(t.n, 2);
	trace_release(&t);
}

static void test_prom_refused(void **state)
{
	(void)state;
	bad("{\"status\":\"error\",\"errorType\":\"bad_data\",\"error\":\"parse error at char 3\"}", NULL, 0,
	    "bad_data: parse error at char 3", NULL);
	bad("{\"status\":\"success\",\"data\":{\"resultType\":\"vector\",\"result\":[]}}", NULL, 0, "'vector'",
	    "matrix");
	bad("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":[]}}", NULL, 0,
	    "data.result is empty", NULL);
	bad("{\"status\":\"success\",\"data\":{\"resultType\":\"matrix\",\"result\":null}}", NULL, 0,
	    "data.result is empty", NULL);
	bad("{\"status\":\"success\"}", NULL, 0, "no 'data' object", NULL);
	bad("{\"data\":{\"result\":[]}}", NULL, 0, "resultType: missing", NULL);
	bad("{\"data\":{\"resultType\":\"matrix\",\"result\":[\n{\"metric\":{},\"values\":[[1,\"1\"],\n[2,\"NaN\"]]}]}}",
	    NULL, 0, "line 3: data.result[0].values[1]: value is NaN", NULL);
	bad("{\"data\":{\"resultType\":\"matrix\",\"result\":[\n{\"metric\":{},\"values\":[[1,\"1\"],\n[3,\"1\"],\n[2,\"1\"]]}]}}",
	    NULL, 0, "line 4: data.result[0].values[2]:", "must be sorted by time");
	bad("{\"data\":{\"resultType\":\"matrix\",\"result\":[\n{\"metric\":{},\"values\":[[1,\"1\"],\n[1,\"2\"]]}]}}",
	    NULL, 0, "line 3:", "duplicate timestamp");
	bad("{\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[\"1\",\"1\"]]}]}}", NULL, 0,
	    "the timestamp must be a number", NULL);
	bad("{\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1,\"x1\"]]}]}}", NULL, 0,
	    "'x1' is not a number", NULL);
	bad("{\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"value\":[1,\"1\"]}]}}", NULL, 0,
	    "instant vector", NULL);
	bad("{\n\"data\":{\n\"resultType\":\"matrix\",\n\"result\":[{\"metric\":{},\"values\":[[1,\"1\"]]}\n}}", NULL,
	    0, "line 5: expected ',' or ']'", NULL);
	bad("{\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{},\"values\":[[1,\"1\"]]}]}} x", NULL, 0,
	    "unexpected text", NULL);
	bad("{\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"a\":\"1\",\"a\":\"2\"},\"values\":[]}]}}", NULL,
	    0, "label 'a' given twice", NULL);
	bad("{\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"a\":\"1\"},\"values\":[]}]}}", NULL, 0,
	    "no points", NULL);
	bad("{\"data\":{\"resultType\":\"matrix\",\"result\":[{\"metric\":{\"a\":\"1\"},\"values\":[[1e300,\"1\"]]}]}}",
	    NULL, 0, "not a time", NULL);
	bad("{\"data\":", NULL, 0, "unexpected end of file", NULL);
	bad(three, "job=\"web\"", 0, "no series matches 'job=\"web\"' (3 series", NULL);
	bad(three, "3", 0, "series index 3 is out of range: the file has 3 series", NULL);
	bad(three, "job=~\"a.*\"", 0, "regular expressions are not supported", NULL);
	bad(three, "job=api", 0, "must be in double quotes", NULL);
	bad(three, NULL, 5, "more than 5 points", NULL);

	/* nesting in skipped values is bounded */
	char deep[300] = "{\"stats\":";
	size_t dl = strlen(deep);
	memset(deep + dl, '[', 100);
	deep[dl + 100] = 0;
	bad(deep, NULL, 0, "nested deeper than", NULL);
}

/* More than TRACE_MAX_SERIES series are refused. */
static void test_series_cap(void **state)
{
	(void)state;
	size_t n = TRACE_MAX_SERIES + 1, cap = n * 40 + 100, k = 0;
	char *s = malloc(cap);
	assert_non_null(s);
	k += (size_t)snprintf(s + k, cap - k, "{\"data\":{\"resultType\":\"matrix\",\"result\":[");
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(s + k, cap - k, "%s{\"metric\":{},\"values\":[[1,\"1\"]]}", i ? "," : "");
	snprintf(s + k, cap - k, "]}}");
	bad(s, NULL, 0, "more than 10000 series", NULL);
	free(s);
}

/* A file over TRACE_MAX_BYTES is refused before it is read; a missing one names the file. */
static void test_file_caps(void **state)
{
	(void)state;
	char dir[] = "/tmp/sw-trace-XXXXXX", path[64];
	struct trace t;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/big.csv", dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)TRACE_MAX_BYTES + 1), 0);
	close(fd);
	assert_int_equal(trace_load(path, NULL, &t, err, sizeof err), -1);
	assert_non_null(strstr(err, "big.csv': file is larger than 64 MiB"));
	unlink(path);

	snprintf(path, sizeof path, "%s/none.csv", dir);
	assert_int_equal(trace_load(path, NULL, &t, err, sizeof err), -1);
	assert_non_null(strstr(err, "cannot read '"));
	assert_non_null(strstr(err, "none.csv': No such file"));

	assert_int_equal(trace_load(dir, NULL, &t, err, sizeof err), -1);
	assert_non_null(strstr(err, "is a directory"));

	snprintf(path, sizeof path, "%s/ok.csv", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("timestamp,value\n1,1\n2,2\n", f);
	fclose(f);
	assert_int_equal(trace_load(path, NULL, &t, err, sizeof err), 0);
	assert_int_equal(t.n, 2);
	trace_release(&t);
	unlink(path);
	rmdir(dir);
}

/* ---- the public traces ------------------------------------------------------------ */

static const char *testdata(void)
{
	const char *d = getenv("SW_TESTDATA");
	if (!d || !*d)
		fail_msg("SW_TESTDATA is not set: run through make, or point it at ../shared/testdata");
	return d;
}

static void test_public_traces(void **state)
{
	static const struct {
		const char *name;
		size_t points;
		int64_t first, last;
	} traces[] = {
		{ "nasa_http_1995_jul_1m", 39692, 804571200, 806952660 },
		{ "azure_llm_code_2023_1s", 3437, 1700158623, 1700162059 },
		{ "nab_aws_elb_requests_2014_5m", 4032, 1397088240, 1398299940 },
		{ "nab_twitter_aapl_2015_5m", 15902, 1424986973, 1429757273 },
		{ "nasa_ipsc860_1993_busyprocs_5m", 26497, 749458800, 757407600 },
	};
	const char *dir = testdata();
	char path[1024];
	(void)state;
	for (size_t i = 0; i < sizeof traces / sizeof traces[0]; i++) {
		struct trace c, j;
		snprintf(path, sizeof path, "%s/traces/%s.csv", dir, traces[i].name);
		if (trace_load(path, NULL, &c, err, sizeof err))
			fail_msg("%s", err);
		snprintf(path, sizeof path, "%s/traces/%s.prom.json", dir, traces[i].name);
		if (trace_load(path, NULL, &j, err, sizeof err))
			fail_msg("%s", err);
		assert_int_equal(c.n, traces[i].points);
		assert_int_equal(j.n, traces[i].points);
		assert_int_equal(j.nseries, 1);
		assert_non_null(strstr(j.desc, "job=\""));
		assert_true(c.ts_ms[0] == traces[i].first * 1000);
		assert_true(c.ts_ms[c.n - 1] == traces[i].last * 1000);
		for (size_t k = 0; k < c.n; k++) {
			if (c.ts_ms[k] != j.ts_ms[k] || c.v[k] != j.v[k])
				fail_msg("%s point %zu: csv (%lld, %.17g) json (%lld, %.17g)", traces[i].name, k,
					 (long long)c.ts_ms[k], c.v[k], (long long)j.ts_ms[k], j.v[k]);
			if (k && c.ts_ms[k] <= c.ts_ms[k - 1])
				fail_msg("%s point %zu: not increasing", traces[i].name, k);
		}
		/* the json selects its one series by label and by index alike */
		struct trace s;
		if (trace_load(path, "0", &s, err, sizeof err))
			fail_msg("%s", err);
		assert_int_equal(s.n, j.n);
		trace_release(&s);
		trace_release(&c);
		trace_release(&j);
	}
	/* one spot value per format, as the files write them */
	snprintf(path, sizeof path, "%s/traces/nasa_ipsc860_1993_busyprocs_5m.csv", dir);
	struct trace t;
	if (trace_load(path, NULL, &t, err, sizeof err))
		fail_msg("%s", err);
	assert_true(t.v[0] == 126.72);
	assert_true(t.v[t.n - 1] == 64.8533);
	trace_release(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_csv_refused),
		cmocka_unit_test(test_prom),
		cmocka_unit_test(test_prom_refused),
		cmocka_unit_test(test_series_cap),
		cmocka_unit_test(test_file_caps),
		cmocka_unit_test(test_public_traces),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
