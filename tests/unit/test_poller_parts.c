/* Unit tests: the poller's parts that hold no thread — circuit breaker, sample
 * batch (label sorting, duplicates, caps, identity keys), state file (round
 * trip, every kind of corruption), snapshots and slots. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch.h"
#include "breaker.h"
#include "statefile.h"
#include "store.h"

static void test_breaker_cycle(void **st)
{
	struct breaker b;
	breaker_init(&b);
	assert_true(breaker_allow(&b, 0));
	assert_false(breaker_record(&b, false, 0));
	assert_false(breaker_record(&b, false, 10));
	assert_int_equal(b.state, BREAKER_CLOSED);
	assert_true(breaker_record(&b, false, 20)); /* third failure opens */
	assert_int_equal(b.state, BREAKER_OPEN);
	assert_false(breaker_allow(&b, 500));
	assert_false(breaker_allow(&b, 1019));
	assert_true(breaker_allow(&b, 1020)); /* backoff 1 s over: one probe */
	assert_int_equal(b.state, BREAKER_HALF_OPEN);
	assert_false(breaker_allow(&b, 1021)); /* only one probe */
	assert_true(breaker_record(&b, false, 1030)); /* probe fails: open, backoff doubled */
	assert_int_equal(b.state, BREAKER_OPEN);
	assert_int_equal(b.backoff_ms, 2000);
	assert_false(breaker_allow(&b, 3029));
	assert_true(breaker_allow(&b, 3030));
	assert_true(breaker_record(&b, true, 3040)); /* probe succeeds: closed, reset */
	assert_int_equal(b.state, BREAKER_CLOSED);
	assert_int_equal(b.backoff_ms, 1000);
	assert_int_equal(b.failures, 0);
	assert_int_equal(b.transitions, 5);
	/* a success between failures resets the count */
	breaker_record(&b, false, 4000);
	breaker_record(&b, false, 4001);
	breaker_record(&b, true, 4002);
	breaker_record(&b, false, 4003);
	assert_int_equal(b.state, BREAKER_CLOSED);
	assert_string_equal(breaker_state_name(BREAKER_HALF_OPEN), "half-open");
}

static void test_breaker_backoff_cap(void **st)
{
	struct breaker b;
	breaker_init(&b);
	int64_t t = 0;
	for (int i = 0; i < 3; i++)
		breaker_record(&b, false, t);
	for (int i = 0; i < 20; i++) {
		t = b.open_until_ms;
		assert_true(breaker_allow(&b, t));
		breaker_record(&b, false, t);
	}
	assert_int_equal(b.backoff_ms, 60000);
}

static void test_batch(void **st)
{
	struct sw_batch b;
	batch_init(&b);
	struct sw_label l1[] = { { "z", "1" }, { "a", "2" }, { "m", "3" }, { "a", "4" } };
	assert_int_equal(batch_add(&b, 1.5, 100, l1, 4), 0);
	assert_int_equal(b.n, 1);
	assert_int_equal(b.items[0].nlabels, 3);
	assert_string_equal(b.items[0].labels[0].name, "a");
	assert_string_equal(b.items[0].labels[0].value, "4"); /* the last of a duplicate wins */
	assert_string_equal(b.items[0].labels[2].name, "z");
	struct sw_label l2[] = { { "m", "3" }, { "a", "4" }, { "z", "1" } };
	assert_int_equal(batch_add(&b, 2, 100, l2, 3), 0);
	assert_string_equal(b.items[0].key, b.items[1].key); /* same identity in any order */
	assert_int_equal(batch_add(&b, NAN, 100, NULL, 0), 0); /* NaN goes to the pipeline */
	assert_string_equal(b.items[2].key, "");
	struct sw_label many[BATCH_MAX_LABELS + 1];
	for (int i = 0; i <= BATCH_MAX_LABELS; i++)
		many[i] = (struct sw_label){ "k", "v" };
	assert_int_equal(batch_add(&b, 1, 1, many, BATCH_MAX_LABELS + 1), -1);
	assert_true(b.overflow);
	batch_release(&b);
	batch_init(&b);
	for (int i = 0; i < BATCH_MAX_SAMPLES; i++)
		assert_int_equal(batch_add(&b, i, i, NULL, 0), 0);
	assert_int_equal(batch_add(&b, 1, 1, NULL, 0), -1);
	assert_non_null(strstr(b.why, "more than 10000 series"));
	batch_release(&b);
}

static char *tmpname(void)
{
	char *p = strdup("/tmp/sw-statefile-XXXXXX");
	int fd = mkstemp(p);
	assert_true(fd >= 0);
	close(fd);
	return p;
}

static void write_bytes(const char *path, const unsigned char *d, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(d, 1, n, f), n);
	fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	unsigned char *d = malloc(1 << 20);
	*n = fread(d, 1, 1 << 20, f);
	fclose(f);
	return d;
}

static void test_statefile_round_trip(void **st)
{
	char *path = tmpname();
	char err[300];
	struct statefile_writer *w = statefile_begin(path, err, sizeof err);
	assert_non_null(w);
	const unsigned char b1[] = { 1, 2, 3 }, b2[] = { 9 };
	statefile_add(w, "m", "", "", "k\x1fv\x1e", b1, 3);
	statefile_add(w, "m", "ns", "a=b", "", b2, 1);
	assert_int_equal(statefile_commit(w, err, sizeof err), 0);
	struct statefile *sf = statefile_read(path, err, sizeof err);
	assert_non_null(sf);
	assert_int_equal(statefile_count(sf), 2);
	size_t len;
	const unsigned char *got = statefile_find(sf, "m", "", "", "k\x1fv\x1e", &len);
	assert_non_null(got);
	assert_int_equal(len, 3);
	assert_memory_equal(got, b1, 3);
	got = statefile_find(sf, "m", "ns", "a=b", "", &len);
	assert_non_null(got);
	assert_int_equal(got[0], 9);
	assert_null(statefile_find(sf, "m", "ns", "a=c", "", &len));
	assert_null(statefile_find(sf, "x", "", "", "k\x1fv\x1e", &len));
	assert_true(statefile_has(sf, "m", "ns", "a=b"));
	assert_false(statefile_has(sf, "m", "ns", "a"));
	statefile_free(sf);

	/* every single-byte corruption and every truncation is refused, never a crash */
	size_t n;
	unsigned char *good = read_bytes(path, &n);
	for (size_t i = 0; i < n; i++) {
		unsigned char *bad = malloc(n);
		memcpy(bad, good, n);
		bad[i] ^= 0x5a;
		write_bytes(path, bad, n);
		sf = statefile_read(path, err, sizeof err);
		assert_null(sf);
		assert_true(err[0] != 0);
		free(bad);
	}
	for (size_t cut = 0; cut < n; cut++) {
		write_bytes(path, good, cut);
		sf = statefile_read(path, err, sizeof err);
		assert_null(sf);
		assert_true(err[0] != 0);
	}
	/* another version */
	unsigned char *v2 = malloc(n);
	memcpy(v2, good, n);
	v2[8] = 2;
	write_bytes(path, v2, n);
	assert_null(statefile_read(path, err, sizeof err));
	assert_non_null(strstr(err, "version 2"));
	free(v2);
	free(good);
	unlink(path);
	/* a missing file is no error */
	assert_null(statefile_read(path, err, sizeof err));
	assert_string_equal(err, "");
	free(path);
}

static void test_snapshots(void **st)
{
	struct slot sl;
	slot_init(&sl);
	assert_null(slot_get(&sl));
	struct snapshot *s = snapshot_new(1);
	struct label l[] = { { "a", "b" } };
	assert_int_equal(snapshot_set_labels(s, 0, l, 1), 0);
	s->items[0].ok = true;
	s->items[0].value = 3;
	slot_publish(&sl, s);
	struct snapshot *held = slot_get(&sl);
	assert_ptr_equal(held, s);
	struct snapshot *s2 = snapshot_new(0);
	snapshot_set_error(s2, "no value yet: %s", "down");
	slot_publish(&sl, s2); /* the reader's reference keeps s alive */
	assert_string_equal(held->items[0].labels[0].value, "b");
	snapshot_unref(held);
	struct snapshot *cur = slot_get(&sl);
	assert_string_equal(cur->error, "no value yet: down");
	snapshot_unref(cur);
	slot_release(&sl);
}

/* A label set is one copy shared by a series and its snapshots: it outlives
 * whichever lets go first (ASan reports a use after free or a leak). */
static void test_labelset_shared(void **st)
{
	char name[] = "pod", value[] = "web-1";
	struct label l[] = { { "app", "web" }, { name, value } };
	struct label *set = labelset_new(l, 2, "{app=web,pod=web-1}");
	assert_non_null(set);
	value[0] = 'X'; /* a copy, not the caller's strings */
	assert_string_equal(set[1].value, "web-1");
	assert_string_equal(set[0].name, "app");
	assert_string_equal(labelset_key(set), "{app=web,pod=web-1}");

	struct snapshot *a = snapshot_new(1), *b = snapshot_new(2);
	snapshot_share_labels(a, 0, set, 2);
	snapshot_share_labels(b, 1, set, 2);
	assert_ptr_equal(a->items[0].labels, set);
	assert_int_equal(b->items[1].nlabels, 2);
	labelset_unref(set);   /* the series goes */
	snapshot_unref(a);
	assert_string_equal(b->items[1].labels[1].value, "web-1");
	assert_null(b->items[0].labels);
	snapshot_unref(b);

	struct label *empty = labelset_new(NULL, 0, NULL);
	assert_non_null(empty);
	assert_string_equal(labelset_key(empty), "");
	labelset_unref(empty);
	labelset_unref(NULL);
}

/* Equal reasons of neighbouring items are one string, freed once. */
static void test_snapshot_reasons_shared(void **st)
{
	struct snapshot *s = snapshot_new(4);
	assert_int_equal(snapshot_set_reason(s, 0, "source failing: timeout"), 0);
	assert_int_equal(snapshot_set_reason(s, 1, "source failing: timeout"), 0);
	assert_int_equal(snapshot_set_reason(s, 2, "no value yet"), 0);
	/* item 3 is ok: no reason; item 2's is not shared backwards */
	assert_ptr_equal(s->items[0].reason, s->items[1].reason);
	assert_ptr_not_equal(s->items[1].reason, s->items[2].reason);
	assert_string_equal(s->items[2].reason, "no value yet");
	assert_null(s->items[3].reason);
	snapshot_unref(s);
}

/* Slots share a table of locks: many slots, each keeps its own snapshot. */
static void test_slots_many(void **st)
{
	enum { N = 300 };
	static struct slot sl[N];
	for (int i = 0; i < N; i++) {
		slot_init(&sl[i]);
		struct snapshot *s = snapshot_new(0);
		snapshot_set_error(s, "slot %d", i);
		slot_publish(&sl[i], s);
	}
	for (int i = 0; i < N; i++) {
		char want[32];
		snprintf(want, sizeof want, "slot %d", i);
		struct snapshot *s = slot_get(&sl[i]);
		assert_string_equal(s->error, want);
		snapshot_unref(s);
		slot_release(&sl[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_breaker_cycle),
		cmocka_unit_test(test_breaker_backoff_cap),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_statefile_round_trip),
		cmocka_unit_test(test_snapshots),
		cmocka_unit_test(test_labelset_shared),
		cmocka_unit_test(test_snapshot_reasons_shared),
		cmocka_unit_test(test_slots_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
