/*
 * poller.c — background polling: scheduler, workers, targets, series,
 * subscriptions, carry-over of state across reloads and restarts.
 */
#include "poller.h"

#include "batch.h"
#include "breaker.h"
#include "host.h"
#include "log.h"
#include "pipeline.h"
#include "selfmetrics.h"
#include "statefile.h"
#include "strmap.h"
#include "template.h"

#include <errno.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_WORKERS 32
#define SCHED_COALESCE_MS 20
#define WORKER_NICE 10
/* a job queued this long means the workers draining the queue cannot keep
 * up: the scheduler calls one more (see dispatch) */
#define WORKER_LATE_MS 50

enum fetch_reason { FR_SOURCE, FR_ANSWER, FR_TIMEOUT, FR_CIRCUIT_OPEN, FR_NO_SAMPLES, FR_TOO_MANY, FR_NOT_FINITE, FR_COUNT };
static const char *const reason_names[FR_COUNT] = { "source", "answer", "timeout", "circuit_open", "no_samples",
						      "too_many_series", "not_finite" };
static const double lat_bounds[] = { 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10 };
#define NLAT (sizeof lat_bounds / sizeof lat_bounds[0])
#define SUB_DEFAULT_WAIT_MS 2000
#define SERIES_GC_MS (10 * 60 * 1000)

/* ------------------------------------------------------------------------ */
/* series: one labelled stream of one consumer                              */

struct series {
	const char *key;        /* inside the labels' block */
	struct label *labels;   /* sorted; a label set (store.h), shared with the snapshots */
	struct pipeline_state *st;
	int64_t last_seen_ms;   /* last fetch that returned it */
	uint32_t nlabels;       /* at most BATCH_MAX_LABELS */
	bool present;           /* in the newest successful fetch */
};

/* One metric reading from a target: its own series and pipeline states.
 * The counters are 32 bits: at one fetch a second they wrap after 136 years. */
struct consumer {
	const struct metric_cfg *m;
	struct slot *slot;      /* the runtime's; a subscription's own (owns_slot) */
	struct series *series;  /* sorted by key */
	struct sub *sub;        /* a subscription's key and use; NULL for a metric */
	double lat_sum;
	uint32_t n, cap;        /* series: far fewer than BATCH_MAX_SAMPLES */
	uint32_t by_reason[FR_COUNT];
	uint32_t lat[NLAT + 1]; /* fetch latency histogram, not cumulative */
	bool owns_slot;         /* after the counters: fills their last padding */
};

/* What a subscription consumer adds: its selector (the namespace is its
 * target's), when a request last asked for it, and whether a fetch has fed
 * it yet (what a request creating or joining it waits for). */
struct sub {
	char *sel;
	_Atomic int64_t last_used_ms;
	atomic_bool fed;
};

struct source_rt {
	const struct source_cfg *cfg;
	const struct sw_scaler_type *st;
	void *state;
	bool opened;
	pthread_mutex_t mu;        /* breaker, opened */
	pthread_mutex_t fetch_mu;  /* serialises fetches unless the scaler is concurrent */
	struct breaker br;
	int64_t failing_since_ms;
	uint64_t fetches, failures;
	char last_error[256];      /* of the last failure of the source itself */
};

/* The flags are kept together: one padded word instead of four. */
struct target {
	size_t source;
	const char *query;         /* the metric's (its config outlives the poller); a
	                              subscription's own rendering (is_sub); or NULL */
	const void *params;
	int64_t interval_ms;
	int64_t next_due_ms;
	size_t heap_i;             /* position in the heap; SIZE_MAX when not in it */
	struct consumer *consumers;
	size_t nconsumers;
	/* subscriptions: consumers (metric, selector) of one namespace whose
	 * rendered queries are the same share the target and its fetches */
	char *sub_ns;
	size_t warm_from;          /* the consumers from this one on still need it */
	bool busy;                 /* a fetch is running or queued */
	bool dead;                 /* a dropped subscription, freed when not busy */
	bool is_sub;
	bool fetched_once;
	int pins;                  /* requests waiting on it: the sweep leaves it alone */
	bool warmed;               /* the warm start was tried */
	bool phased;               /* the poll phase was randomised (see reschedule) */
	pthread_mutex_t mu;        /* consumers and their series: run_target, save, render */
};

/* The subscription key of a consumer, "" for a metric's own (state file keys). */
static const char *sub_ns(const struct target *t)
{
	return t->is_sub ? t->sub_ns : "";
}

static const char *sub_sel(const struct consumer *c)
{
	return c->sub ? c->sub->sel : "";
}

struct poller {
	atomic_int refs;
	struct runtime *rt;
	struct source_rt *sources;
	size_t nsources;
	struct target **targets;
	size_t ntargets, cap;
	struct target **heap;
	size_t nheap;
	struct target **queue;     /* jobs for the workers: a ring */
	size_t qhead, qlen, qcap;
	pthread_mutex_t mu;
	pthread_cond_t sched_cv, work_cv;
	pthread_cond_t first_done; /* a target's first fetch finished (fetched_once) */
	pthread_t sched;
	pthread_t workers[MAX_WORKERS];
	int nworkers, max_workers; /* started on demand, up to max_workers */
	int nidle;                 /* workers waiting for a job */
	int calls;                 /* idle workers called by the scheduler, not yet running */
	bool stopping;
	char *state_file;
	int64_t save_every_ms, last_save_ms;
	struct statefile *restore;  /* states read at start, consumed as series appear */
	unsigned int rng;
	/* subscriptions, with p->mu: (metric, namespace, selector) -> its target,
	 * and (source, params, namespace, rendered query) -> the target to share */
	struct strmap *subs, *shared;
	/* a reload's new poller took the series (with p->mu): this one's saves
	 * would overwrite the state file with what is left, nothing */
	bool handed_over;
};

static pthread_mutex_t current_mu = PTHREAD_MUTEX_INITIALIZER;
static struct poller *current;

/* ------------------------------------------------------------------------ */
/* heap by next_due_ms                                                      */

static void heap_swap(struct poller *p, size_t a, size_t b)
{
	struct target *t = p->heap[a];
	p->heap[a] = p->heap[b];
	p->heap[b] = t;
	p->heap[a]->heap_i = a;
	p->heap[b]->heap_i = b;
}

static void heap_up(struct poller *p, size_t i)
{
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (p->heap[parent]->next_due_ms <= p->heap[i]->next_due_ms)
			break;
		heap_swap(p, i, parent);
		i = parent;
	}
}

static void heap_down(struct poller *p, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < p->nheap && p->heap[l]->next_due_ms < p->heap[m]->next_due_ms)
			m = l;
		if (r < p->nheap && p->heap[r]->next_due_ms < p->heap[m]->next_due_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(p, i, m);
		i = m;
	}
}

static void heap_push(struct poller *p, struct target *t)
{
	p->heap[p->nheap] = t;
	t->heap_i = p->nheap++;
	heap_up(p, t->heap_i);
}

static struct target *heap_pop(struct poller *p)
{
	struct target *t = p->heap[0];
	p->nheap--;
	if (p->nheap) {
		p->heap[0] = p->heap[p->nheap];
		p->heap[0]->heap_i = 0;
		heap_down(p, 0);
	}
	t->heap_i = SIZE_MAX;
	return t;
}

static void heap_remove(struct poller *p, struct target *t)
{
	size_t i = t->heap_i;
	if (i == SIZE_MAX)
		return;
	p->nheap--;
	if (i != p->nheap) {
		p->heap[i] = p->heap[p->nheap];
		p->heap[i]->heap_i = i;
		heap_down(p, i);
		heap_up(p, i);
	}
	t->heap_i = SIZE_MAX;
}

/* grows targets/heap arrays to hold cap targets (cap > p->cap) */
static int grow_to(struct poller *p, size_t cap)
{
	struct target **t = realloc(p->targets, cap * sizeof *t);
	if (!t)
		return -1;
	p->targets = t;
	struct target **h = realloc(p->heap, cap * sizeof *h);
	if (!h)
		return -1;
	p->heap = h;
	struct target **q = malloc(cap * sizeof *q);
	if (!q)
		return -1;
	for (size_t i = 0; i < p->qlen; i++)
		q[i] = p->queue[(p->qhead + i) % p->qcap];
	free(p->queue);
	p->queue = q;
	p->qhead = 0;
	p->qcap = cap;
	p->cap = cap;
	return 0;
}

/* grows targets/heap arrays to hold one more */
static int reserve(struct poller *p)
{
	if (p->ntargets < p->cap)
		return 0;
	return grow_to(p, p->cap ? p->cap * 2 : 64);
}

/* ------------------------------------------------------------------------ */
/* series sets                                                              */

static struct series *series_find(struct consumer *c, const char *key, size_t *pos)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int d = strcmp(c->series[mid].key, key);
		if (!d) {
			*pos = mid;
			return &c->series[mid];
		}
		if (d < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return NULL;
}

static struct series *series_add(struct poller *p, struct target *t, struct consumer *c, const struct sample *s,
				 size_t pos)
{
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1; /* most metrics have one series */
		struct series *ns = realloc(c->series, cap * sizeof *ns);
		if (!ns)
			return NULL;
		c->series = ns;
		c->cap = cap;
	}
	struct pipeline_state *st = pipeline_state_new(&c->m->pipe);
	if (!st)
		return NULL;
	struct label *arr = labelset_new(s->labels, s->nlabels, s->key);
	if (!arr) {
		pipeline_state_free(st);
		return NULL;
	}
	memmove(&c->series[pos + 1], &c->series[pos], (c->n - pos) * sizeof *c->series);
	c->n++;
	struct series *se = &c->series[pos];
	*se = (struct series){ .key = labelset_key(arr), .labels = arr, .nlabels = s->nlabels, .st = st };
	/* a state saved before a restart continues where it was */
	if (p->restore) {
		size_t blen;
		const unsigned char *blob =
			statefile_find(p->restore, c->m->name, sub_ns(t), sub_sel(c),
				       se->key, &blen);
		if (blob) {
			char err[300];
			if (pipeline_state_load(st, &c->m->pipe, blob, blen, err, sizeof err))
				LOGW("saved state not restored", LF_S("metric", c->m->name), LF_S("error", err));
			else
				LOGD("state restored", LF_S("metric", c->m->name));
		}
	}
	return se;
}

static void series_release(struct series *s)
{
	labelset_unref(s->labels);
	pipeline_state_free(s->st);
}

/* Builds and publishes the consumer's snapshot from its present series. */
static void publish(struct consumer *c, int64_t now, const char *no_series_error)
{
	size_t n = 0;
	for (size_t i = 0; i < c->n; i++)
		n += c->series[i].present;
	struct snapshot *snap = snapshot_new(n);
	if (!snap)
		return;
	size_t k = 0;
	for (size_t i = 0; i < c->n && k < n; i++) {
		struct series *s = &c->series[i];
		if (!s->present)
			continue;
		struct pipeline_out out;
		pipeline_served(&c->m->pipe, s->st, now, &out);
		snapshot_share_labels(snap, k, s->labels, s->nlabels);
		snap->items[k].ok = out.ok;
		snap->items[k].value = out.value;
		snap->items[k].ts_ms = out.ts_ms;
		if (!out.ok && snapshot_set_reason(snap, k, out.reason)) {
			snapshot_unref(snap);
			return;
		}
		k++;
	}
	if (n == 0)
		snapshot_set_error(snap, "%s", no_series_error ? no_series_error : "no value yet");
	slot_publish(c->slot, snap);
}

/* ------------------------------------------------------------------------ */
/* one fetch                                                                */

int64_t poller_fetch_budget_ms(int64_t interval_ms)
{
	int64_t d = interval_ms * 4 / 5;
	if (d > 30000)
		d = 30000;
	if (d < 200)
		d = 200;
	return d;
}

static int64_t deadline_for(const struct target *t, int64_t now)
{
	return now + poller_fetch_budget_ms(t->interval_ms);
}

/* The fetch request of a target. */
static struct sw_request target_request(const struct target *t, int64_t now, int64_t deadline)
{
	return (struct sw_request){
		.metric = t->consumers[0].m->name,
		.query = t->query,
		.params = t->params,
		.namespace_ = t->is_sub ? t->sub_ns : NULL,
		.now_ms = now,
		.deadline_ms = deadline,
	};
}

/* The series of consumer c that sample s belongs to, created (and restored
 * from the state file) when new; NULL on OOM. Caller holds t->mu. */
static struct series *series_get(struct poller *p, struct target *t, struct consumer *c, const struct sample *s)
{
	size_t pos;
	struct series *se = series_find(c, s->key, &pos);
	return se ? se : series_add(p, t, c, s, pos);
}

/* How far back a consumer's pipeline looks: its longest window. */
static int64_t lookback_ms(const struct metric_cfg *m)
{
	const struct pipeline_cfg *c = &m->pipe;
	int64_t w = 0;
	if (c->method >= SMOOTH_MEAN)
		w = c->window_ms;
	else if (c->method == SMOOTH_EMA)
		w = 4 * c->half_life_ms; /* the weight of older samples is below 1/16 */
	if (c->up_ms > w)
		w = c->up_ms;
	if (c->down_ms > w)
		w = c->down_ms;
	return w;
}

/*
 * Warm start: before a target's first poll, a source that keeps history
 * (fetch_range) fills the windows of every consumer that has none restored
 * from the state file, so a restart never serves a cold, unstabilised value.
 * Runs once per target; failures only cost the warm start.
 */
static void warm_start(struct poller *p, struct target *t, int64_t deadline)
{
	struct source_rt *src = &p->sources[t->source];
	t->warmed = true;
	size_t from = t->warm_from;
	if (!src->st->fetch_range || !t->query || !src->opened)
		return;
	int64_t longest = 0;
	for (size_t ci = from; ci < t->nconsumers; ci++) {
		const struct consumer *c = &t->consumers[ci];
		if (statefile_has(p->restore, c->m->name, sub_ns(t), sub_sel(c)))
			continue;
		int64_t w = lookback_ms(c->m);
		if (w > longest)
			longest = w;
	}
	if (longest <= 0)
		return;
	int64_t now = now_ms();
	int64_t step = t->interval_ms;
	struct sw_request req = target_request(t, now, deadline);
	struct sw_batch batch;
	batch_init(&batch);
	char err[512] = "";
	int rc = src->st->fetch_range(src->state, src->cfg->params, &req, now - longest, now - step, step, &batch, err,
				      sizeof err);
	if (rc || batch.overflow) {
		LOGW("warm start skipped", LF_S("metric", t->consumers[0].m->name),
		     LF_S("error", rc ? err : batch.why));
		batch_release(&batch);
		return;
	}
	pthread_mutex_lock(&t->mu);
	for (size_t ci = from; ci < t->nconsumers; ci++) {
		struct consumer *c = &t->consumers[ci];
		if (statefile_has(p->restore, c->m->name, sub_ns(t), sub_sel(c)))
			continue;
		int64_t since = now - lookback_ms(c->m);
		for (size_t k = 0; k < batch.n; k++) {
			const struct sample *s = &batch.items[k];
			if (s->ts_ms < since || !isfinite(s->value))
				continue;
			struct series *se = series_get(p, t, c, s);
			if (se)
				pipeline_step(&c->m->pipe, se->st, s->value, s->ts_ms, s->ts_ms);
		}
	}
	pthread_mutex_unlock(&t->mu);
	LOGI("warm start", LF_S("query", t->query), LF_I("metrics", t->nconsumers - from), LF_I("samples", batch.n),
	     LF_I("seconds", longest / 1000));
	batch_release(&batch);
}

/* Fetches target t and feeds its consumers from index `from` on (all of
 * them, but for the first fetch of a subscription that joined a shared
 * target: the others had theirs, and an extra sample in their windows would
 * only crowd their rings). Runs on a worker, or on a request thread for a
 * new subscription (deadline given). */
static void run_target(struct poller *p, struct target *t, int64_t deadline, size_t from)
{
	struct source_rt *src = &p->sources[t->source];
	int64_t start = now_ms();
	char err[512] = "";
	bool ok = false;
	enum fetch_reason why = FR_SOURCE;
	struct sw_batch batch;
	batch_init(&batch);

	pthread_mutex_lock(&src->mu);
	bool allowed = breaker_allow(&src->br, start);
	if (allowed && !src->opened) {
		memset(src->state, 0, src->st->state_size ? src->st->state_size : 1);
		if (src->st->open(src->state, src->cfg->params, host_table(), err, sizeof err) == 0)
			src->opened = true;
	}
	bool opened = src->opened;
	pthread_mutex_unlock(&src->mu);

	if (allowed && opened && !t->warmed)
		warm_start(p, t, deadline);
	if (!allowed) {
		why = FR_CIRCUIT_OPEN;
		pthread_mutex_lock(&src->mu);
		snprintf(err, sizeof err, "source '%s' is not contacted for now (circuit open after %d failures; last error: %s)",
			 src->cfg->name, src->br.failures, src->last_error);
		pthread_mutex_unlock(&src->mu);
	} else if (opened) {
		struct sw_request req = target_request(t, start, deadline);
		bool serial = !(src->st->flags & SW_SCALER_CONCURRENT);
		if (serial)
			pthread_mutex_lock(&src->fetch_mu);
		int rc = src->st->fetch(src->state, src->cfg->params, &req, &batch, err, sizeof err);
		if (serial)
			pthread_mutex_unlock(&src->fetch_mu);
		if (rc == 0 && batch.overflow) {
			why = FR_TOO_MANY;
			snprintf(err, sizeof err, "answer refused: %s", batch.why);
		} else if (rc == 0 && batch.n == 0) {
			why = FR_NO_SAMPLES;
			snprintf(err, sizeof err, "the source returned no samples");
		} else if (rc == 0) {
			ok = true;
		} else {
			why = rc == SW_FETCH_ANSWER_ERROR ? FR_ANSWER : FR_SOURCE;
			if (!err[0])
				snprintf(err, sizeof err, "fetch failed without a message");
		}
		if (now_ms() > deadline && ok) {
			ok = false;
			why = FR_TIMEOUT;
			snprintf(err, sizeof err, "the fetch finished after its deadline");
		}
	}
	int64_t end = now_ms();
	/* a source that answered, even unusably, is healthy */
	bool healthy = ok || why == FR_ANSWER || why == FR_NO_SAMPLES || why == FR_TOO_MANY;

	pthread_mutex_lock(&src->mu);
	if (allowed) {
		src->fetches++;
		if (!ok)
			src->failures++;
		enum breaker_state before = src->br.state;
		if (breaker_record(&src->br, healthy, end)) {
			LOGW("source circuit breaker", LF_S("source", src->cfg->name),
			     LF_S("from", breaker_state_name(before)), LF_S("to", breaker_state_name(src->br.state)),
			     LF_S("error", healthy ? "" : err));
		}
		if (healthy) {
			src->failing_since_ms = 0;
		} else {
			if (!src->failing_since_ms)
				src->failing_since_ms = end;
			memcpy(src->last_error, err, sizeof src->last_error - 1);
			src->last_error[sizeof src->last_error - 1] = 0;
		}
	}
	pthread_mutex_unlock(&src->mu);
	if (!ok && allowed)
		LOGD("fetch failed", LF_S("source", src->cfg->name), LF_S("metric", t->consumers[0].m->name),
		     LF_S("reason", reason_names[why]), LF_S("error", err));

	double seconds = (double)(end - start) / 1000.0;
	size_t bi = NLAT;
	for (size_t i = 0; i < NLAT; i++) {
		if (seconds <= lat_bounds[i]) {
			bi = i;
			break;
		}
	}
	/* one copy of the failure's message for every series this fetch feeds */
	struct pipeline_msg *fail_msg = ok ? NULL : pipeline_msg_new(err);
	pthread_mutex_lock(&t->mu);
	for (size_t ci = from; ci < t->nconsumers; ci++) {
		struct consumer *c = &t->consumers[ci];
		if (allowed) {
			c->lat[bi]++;
			c->lat_sum += seconds;
		}
		if (!ok) {
			c->by_reason[why]++;
			for (size_t i = 0; i < c->n; i++)
				pipeline_fail_msg(&c->m->pipe, c->series[i].st, fail_msg, end);
			char msg[600];
			snprintf(msg, sizeof msg, "no value yet: %s", err);
			publish(c, end, msg);
			if (c->sub)
				atomic_store(&c->sub->fed, true);
			continue;
		}
		for (size_t i = 0; i < c->n; i++)
			c->series[i].present = false;
		for (size_t k = 0; k < batch.n; k++) {
			const struct sample *s = &batch.items[k];
			struct series *se = series_get(p, t, c, s);
			if (!se)
				continue;
			se->present = true;
			se->last_seen_ms = end;
			if (!isfinite(s->value))
				c->by_reason[FR_NOT_FINITE]++;
			pipeline_step(&c->m->pipe, se->st, s->value, s->ts_ms, end);
		}
		/* series gone for long are forgotten */
		size_t w = 0;
		for (size_t i = 0; i < c->n; i++) {
			if (!c->series[i].present && end - c->series[i].last_seen_ms > SERIES_GC_MS) {
				series_release(&c->series[i]);
				continue;
			}
			c->series[w++] = c->series[i];
		}
		c->n = w;
		publish(c, end, NULL);
		if (c->sub)
			atomic_store(&c->sub->fed, true);
	}
	pthread_mutex_unlock(&t->mu);
	pipeline_msg_unref(fail_msg);
	size_t nsamples = batch.n;
	batch_release(&batch);
	/* a large answer leaves its parse and batch memory behind in the heap of
	 * this worker thread: hand it back so RSS follows the series kept, not
	 * the biggest answer seen */
	if (nsamples >= 1000)
		malloc_trim(0);
}

/* ------------------------------------------------------------------------ */
/* threads                                                                  */

static unsigned int rnd(struct poller *p)
{
	p->rng = p->rng * 1103515245u + 12345u;
	return p->rng >> 8;
}

static void reschedule(struct poller *p, struct target *t, int64_t now)
{
	int64_t jitter = t->interval_ms / 50; /* ±2 % */
	int64_t j = jitter ? (int64_t)(rnd(p) % (unsigned)(2 * jitter + 1)) - jitter : 0;
	if (!t->phased) {
		/* the first polls all run within a second of start, so values come
		 * fast; the second one lands at a random phase of the interval, so
		 * that from then on the polls of many metrics are spread evenly
		 * instead of arriving in one burst every interval */
		t->phased = true;
		j = (int64_t)(rnd(p) % (unsigned)(t->interval_ms > 1 ? t->interval_ms : 1)) - t->interval_ms / 2;
	}
	t->next_due_ms += t->interval_ms + j;
	if (t->next_due_ms < now)
		t->next_due_ms = now + t->interval_ms / 4;
	heap_push(p, t);
}

static void target_free(struct target *t);
static void consumer_release(struct consumer *c);

static void *worker_main(void *arg)
{
	struct poller *p = arg;
	/* fetches yield the CPU to the threads answering the HPA: a request must
	 * not wait behind a burst of polls (Linux nice values are per thread) */
	if (setpriority(PRIO_PROCESS, (id_t)gettid(), WORKER_NICE))
		LOGD("worker priority unchanged", LF_S("error", strerror(errno)));
	pthread_mutex_lock(&p->mu);
	bool active = false;
	for (;;) {
		/* an idle worker runs only when the scheduler calls it; a running
		 * one goes on while jobs wait (dispatch says why) */
		if (!active) {
			while (!p->stopping && p->calls == 0)
				pthread_cond_wait(&p->work_cv, &p->mu);
			if (p->stopping)
				break;
			p->calls--;
			p->nidle--;
			active = true;
		}
		if (p->stopping)
			break;
		if (p->qlen == 0) {
			p->nidle++;
			active = false;
			continue;
		}
		struct target *t = p->queue[p->qhead];
		p->qhead = (p->qhead + 1) % p->qcap;
		p->qlen--;
		pthread_mutex_unlock(&p->mu);
		int64_t now = now_ms();
		run_target(p, t, deadline_for(t, now), 0);
		pthread_mutex_lock(&p->mu);
		t->busy = false;
		t->fetched_once = true;
		pthread_cond_broadcast(&p->first_done);
		if (!t->dead) { /* a dead one is freed by the scheduler's sweep */
			reschedule(p, t, now_ms());
			/* the scheduler sleeps until the earliest due poll: it needs
			 * waking only when this one has become the earliest (waking
			 * it after every fetch was a context switch per poll) */
			if (p->heap[0] == t)
				pthread_cond_signal(&p->sched_cv);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Starts a worker, counted idle from its start; with p->mu held. */
static int start_worker(struct poller *p)
{
	if (p->nworkers >= p->max_workers || pthread_create(&p->workers[p->nworkers], NULL, worker_main, p))
		return -1;
	p->nworkers++;
	p->nidle++;
	return 0;
}

/* "metric\0namespace\0selector": a subscription's key in p->subs. */
static char *sub_key(const char *metric, const char *ns, const char *sel, size_t *len)
{
	size_t a = strlen(metric), b = strlen(ns), c = strlen(sel);
	char *k = malloc(a + b + c + 3);
	if (!k)
		return NULL;
	memcpy(k, metric, a + 1);
	memcpy(k + a + 1, ns, b + 1);
	memcpy(k + a + b + 2, sel, c + 1);
	*len = a + b + c + 2;
	return k;
}

/* What makes two metrics' or subscriptions' fetches one: the source, the
 * metric's params, the interval (a consumer fed faster than its own interval
 * would overflow the ring sized from it, and drop a maximum its down window
 * must keep), the namespace (a scaler may use it besides the query) and the
 * rendered query. Its key in p->shared (and while grouping at start). */
static char *shared_key_of(size_t source, const void *params, int64_t interval, const char *ns, const char *query,
			   size_t *len)
{
	size_t head = sizeof source + sizeof params + sizeof interval;
	size_t b = strlen(ns) + 1, q = strlen(query);
	char *k = malloc(head + b + q);
	if (!k)
		return NULL;
	memcpy(k, &source, sizeof source);
	memcpy(k + sizeof source, &params, sizeof params);
	memcpy(k + sizeof source + sizeof params, &interval, sizeof interval);
	memcpy(k + head, ns, b);
	memcpy(k + head + b, query, q);
	*len = head + b + q;
	return k;
}

static char *shared_key(const struct target *t, size_t *len)
{
	return shared_key_of(t->source, t->params, t->interval_ms, t->sub_ns, t->query, len);
}

/* t's consumer for (m, sel), or NULL. With p->mu or t->mu held: consumers
 * are added and removed under both. */
static struct consumer *sub_consumer(struct target *t, const struct metric_cfg *m, const char *sel)
{
	for (size_t i = 0; i < t->nconsumers; i++)
		if (t->consumers[i].m == m && !strcmp(t->consumers[i].sub->sel, sel))
			return &t->consumers[i];
	return NULL;
}

/* Drops the subscriptions nobody asked for within the idle time, and the
 * targets left without any. With p->mu held. */
static void sweep_subscriptions(struct poller *p, int64_t now)
{
	int64_t idle = p->rt->cfg.server.subscription_idle_ms;
	size_t w = 0;
	for (size_t i = 0; i < p->ntargets; i++) {
		struct target *t = p->targets[i];
		/* a busy target's consumers are being fed: next sweep */
		if (t->is_sub && !t->dead && !t->busy && !t->pins) {
			pthread_mutex_lock(&t->mu);
			size_t kept = 0;
			for (size_t ci = 0; ci < t->nconsumers; ci++) {
				struct consumer *c = &t->consumers[ci];
				if (now - atomic_load(&c->sub->last_used_ms) <= idle) {
					t->consumers[kept++] = *c;
					continue;
				}
				LOGI("subscription dropped after idle time", LF_S("metric", c->m->name),
				     LF_S("namespace", t->sub_ns), LF_S("selector", c->sub->sel));
				size_t klen;
				char *key = sub_key(c->m->name, t->sub_ns, c->sub->sel, &klen);
				if (key)
					strmap_del(p->subs, key, klen);
				free(key);
				consumer_release(c);
			}
			t->nconsumers = kept;
			pthread_mutex_unlock(&t->mu);
			if (!kept) {
				t->dead = true;
				heap_remove(p, t);
				size_t klen;
				char *key = shared_key(t, &klen);
				if (key && strmap_get(p->shared, key, klen) == t)
					strmap_del(p->shared, key, klen);
				free(key);
			}
		}
		if (t->dead && !t->busy && !t->pins) {
			target_free(t);
			continue;
		}
		p->targets[w++] = t;
	}
	p->ntargets = w;
}

/*
 * Calls a worker to the queue when none is draining it, and one more each
 * time the oldest job has waited WORKER_LATE_MS (a slow source holds the
 * running ones), up to max_workers; with p->mu held. Polls that keep up
 * (10,000 metrics at 15 s against a fast Prometheus take 3-5 % of a core)
 * thus run on one thread at a time, and the HPA's requests find the other
 * cores free; a worker woken for every job would spread a burst of polls
 * over every core at once.
 */
static void dispatch(struct poller *p, int64_t now)
{
	if (p->qlen == 0)
		return;
	int running = p->nworkers - p->nidle + p->calls;
	bool late = now - p->queue[p->qhead]->next_due_ms >= WORKER_LATE_MS;
	if (running > 0 && !late)
		return;
	if ((size_t)p->calls >= p->qlen)
		return; /* a worker is on its way to each job */
	if (p->nidle - p->calls == 0 && start_worker(p))
		return; /* at max_workers, or no thread */
	p->calls++;
	pthread_cond_signal(&p->work_cv);
}

static void *sched_main(void *arg)
{
	struct poller *p = arg;
	pthread_mutex_lock(&p->mu);
	int64_t last_sweep = now_ms();
	while (!p->stopping) {
		int64_t now = now_ms();
		/* targets due within the next few milliseconds go out with this
		 * wake-up: fewer wake-ups of the scheduler and the workers when
		 * thousands of polls are spread over an interval */
		while (p->nheap && p->heap[0]->next_due_ms <= now + SCHED_COALESCE_MS) {
			struct target *t = heap_pop(p);
			t->busy = true;
			p->queue[(p->qhead + p->qlen) % p->qcap] = t;
			p->qlen++;
		}
		dispatch(p, now);
		if (now - last_sweep >= 1000) {
			sweep_subscriptions(p, now);
			last_sweep = now;
		}
		if (p->state_file && !p->handed_over && now - p->last_save_ms >= p->save_every_ms) {
			p->last_save_ms = now;
			pthread_mutex_unlock(&p->mu);
			char err[300];
			if (poller_save(p, p->state_file, err, sizeof err))
				LOGE("state file not saved", LF_S("path", p->state_file), LF_S("error", err));
			pthread_mutex_lock(&p->mu);
			continue;
		}
		int64_t wait = p->nheap ? p->heap[0]->next_due_ms - now : 1000;
		if (wait > 1000)
			wait = 1000;
		if (p->qlen > 0 && wait > WORKER_LATE_MS)
			wait = WORKER_LATE_MS; /* to see whether the queue falls behind */
		if (wait < 1)
			wait = 1;
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += wait / 1000;
		ts.tv_nsec += (wait % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&p->sched_cv, &p->mu, &ts);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* ------------------------------------------------------------------------ */
/* targets                                                                  */

static void consumer_release(struct consumer *c)
{
	for (size_t j = 0; j < c->n; j++)
		series_release(&c->series[j]);
	free(c->series);
	if (c->owns_slot) {
		slot_release(c->slot);
		free(c->slot);
	}
	if (c->sub) {
		free(c->sub->sel);
		free(c->sub);
	}
}

static void target_free(struct target *t)
{
	for (size_t i = 0; i < t->nconsumers; i++)
		consumer_release(&t->consumers[i]);
	free(t->consumers);
	if (t->is_sub)
		free((char *)t->query);
	free(t->sub_ns);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

static struct target *target_new(size_t source, const char *query, const void *params, int64_t interval)
{
	struct target *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->source = source;
	t->query = query;
	t->params = params;
	t->interval_ms = interval;
	t->heap_i = SIZE_MAX;
	pthread_mutex_init(&t->mu, NULL);
	return t;
}

static int add_consumer(struct target *t, const struct metric_cfg *m, struct slot *slot)
{
	struct consumer *c = realloc(t->consumers, (t->nconsumers + 1) * sizeof *c);
	if (!c)
		return -1;
	t->consumers = c;
	struct consumer *nc = &t->consumers[t->nconsumers++];
	memset(nc, 0, sizeof *nc);
	nc->m = m;
	if (slot) {
		nc->slot = slot;
	} else {
		nc->slot = malloc(sizeof *nc->slot);
		if (!nc->slot) {
			t->nconsumers--;
			return -1;
		}
		slot_init(nc->slot);
		nc->owns_slot = true;
	}
	return 0; /* the consumers of a target share its interval (shared_key_of) */
}

/* Moves the series of matching consumers of the previous poller into p's:
 * same metric name, same query, same pipeline shape. */
static void carry_over(struct poller *p, struct poller *prev)
{
	if (!prev)
		return;
	struct strmap *by_name = strmap_new(); /* metric name -> its old target */
	if (!by_name) {
		LOGW("series not carried over to the new config: out of memory", LF_I("metrics", p->ntargets));
		return;
	}
	pthread_mutex_lock(&prev->mu);
	prev->handed_over = true;
	for (size_t j = 0; j < prev->ntargets; j++) {
		struct target *o = prev->targets[j];
		if (o->is_sub)
			continue;
		for (size_t oi = 0; oi < o->nconsumers; oi++)
			strmap_put(by_name, o->consumers[oi].m->name, strlen(o->consumers[oi].m->name), o);
	}
	for (size_t i = 0; i < p->ntargets; i++) {
		struct target *t = p->targets[i];
		for (size_t ci = 0; ci < t->nconsumers; ci++) {
			struct consumer *c = &t->consumers[ci];
			struct target *o = strmap_get(by_name, c->m->name, strlen(c->m->name));
			if (!o || (t->query == NULL) != (o->query == NULL) || (t->query && strcmp(t->query, o->query)))
				continue;
			pthread_mutex_lock(&o->mu);
			for (size_t oi = 0; oi < o->nconsumers; oi++) {
				struct consumer *oc = &o->consumers[oi];
				if (strcmp(oc->m->name, c->m->name) || oc->n == 0 ||
				    !pipeline_cfg_same_shape(&oc->m->pipe, &c->m->pipe))
					continue;
				c->series = oc->series;
				c->n = oc->n;
				c->cap = oc->cap;
				oc->series = NULL;
				oc->n = oc->cap = 0;
				publish(c, now_ms(), NULL);
			}
			pthread_mutex_unlock(&o->mu);
		}
	}
	pthread_mutex_unlock(&prev->mu);
	strmap_free(by_name);
}

/*
 * Publishes in slot the metric-level error snapshot *shared, made at its
 * first use: the metrics waiting for the same thing share one instead of
 * each having its own, whose two small blocks (snapshot and message) would
 * be left as holes between the targets once the first fetch replaces them.
 */
static void publish_shared(struct slot *slot, struct snapshot **shared, const char *error)
{
	if (!*shared) {
		*shared = snapshot_new(0);
		if (!*shared)
			return;
		snapshot_set_error(*shared, "%s", error);
	}
	snapshot_ref(*shared);
	slot_publish(slot, *shared);
}

struct poller *poller_start(struct runtime *rt, const struct poller_opts *o)
{
	struct strmap *by_query = NULL; /* (source, query) -> its first metric, while grouping */
	uintptr_t *lead = NULL;         /* metric -> its group's first metric, then that one's target */
	struct snapshot *first_poll = NULL, *by_requests = NULL; /* publish_shared's */
	struct poller *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	atomic_init(&p->refs, 1);
	runtime_ref(rt);
	p->rt = rt;
	p->rng = (unsigned)now_ms();
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->sched_cv, NULL);
	pthread_cond_init(&p->work_cv, NULL);
	pthread_cond_init(&p->first_done, NULL);
	p->subs = strmap_new();
	p->shared = strmap_new();
	if (!p->subs || !p->shared)
		goto fail;
	p->save_every_ms = o && o->save_every_ms ? o->save_every_ms : 60000;
	if (o && o->state_file && *o->state_file) {
		p->state_file = strdup(o->state_file);
		char err[300];
		p->restore = statefile_read(p->state_file, err, sizeof err);
		if (!p->restore && err[0])
			LOGW("state file ignored", LF_S("path", p->state_file), LF_S("error", err));
		else if (p->restore)
			LOGI("state file read", LF_S("path", p->state_file), LF_I("series", statefile_count(p->restore)));
		/* after a reload the series carried over are saved at once, by this
		 * poller: the previous one no longer saves */
		p->last_save_ms = o->previous ? 0 : now_ms();
	}

	const struct config *cfg = &rt->cfg;
	p->nsources = cfg->nsources;
	p->sources = calloc(cfg->nsources ? cfg->nsources : 1, sizeof *p->sources);
	if (!p->sources)
		goto fail;
	for (size_t i = 0; i < cfg->nsources; i++) {
		struct source_rt *s = &p->sources[i];
		s->cfg = &cfg->sources[i];
		s->st = cfg->sources[i].scaler;
		pthread_mutex_init(&s->mu, NULL);
		pthread_mutex_init(&s->fetch_mu, NULL);
		breaker_init(&s->br);
		if (s->st) {
			s->state = calloc(1, s->st->state_size ? s->st->state_size : 1);
			if (!s->state)
				goto fail;
		}
	}
	/* one target per (source, interval, query) for untemplated metrics, grouped
	 * first: the map is freed before the targets and consumers are made,
	 * so its entries leave no holes between those long-lived blocks */
	int64_t now = now_ms();
	if (!(by_query = strmap_new()) || !(lead = malloc((cfg->nmetrics ? cfg->nmetrics : 1) * sizeof *lead)))
		goto fail;
	for (size_t i = 0; i < cfg->nmetrics; i++) {
		const struct metric_cfg *m = &cfg->metrics[i];
		lead[i] = i;
		if (m->series || m->source >= cfg->nsources || !cfg->sources[m->source].scaler || m->templated ||
		    !m->query)
			continue;
		size_t klen = 0;
		char *key = shared_key_of(m->source, m->params, m->interval_ms, "", m->query, &klen);
		if (!key)
			goto fail;
		void *first = strmap_get(by_query, key, klen);
		if (first)
			lead[i] = (uintptr_t)first - 1;
		else if (strmap_put(by_query, key, klen, (void *)(uintptr_t)(i + 1))) {
			free(key);
			goto fail;
		}
		free(key);
	}
	strmap_free(by_query);
	by_query = NULL;
	/* the arrays at their size at once: doubling them leaves the smaller ones behind as holes */
	size_t ngroups = 0;
	for (size_t i = 0; i < cfg->nmetrics; i++)
		ngroups += lead[i] == i;
	if (ngroups + 64 > p->cap && grow_to(p, ngroups + 64))
		goto fail;
	for (size_t i = 0; i < cfg->nmetrics; i++) {
		const struct metric_cfg *m = &cfg->metrics[i];
		if (m->series || m->source >= cfg->nsources || !cfg->sources[m->source].scaler)
			continue;
		struct slot *slot = runtime_slot(rt, m);
		if (m->templated) {
			publish_shared(slot, &by_requests, "subscriptions are created by requests");
			continue;
		}
		struct target *t;
		if (lead[i] == i) {
			if (reserve(p) || !(t = target_new(m->source, m->query, m->params, m->interval_ms)))
				goto fail;
			p->targets[p->ntargets++] = t;
			lead[i] = (uintptr_t)t; /* for the metrics after it that share its query */
		} else {
			t = (struct target *)lead[lead[i]];
		}
		if (add_consumer(t, m, slot))
			goto fail;
		publish_shared(slot, &first_poll, "no value yet: the first poll has not finished");
	}
	free(lead);
	lead = NULL;
	snapshot_unref(first_poll);
	snapshot_unref(by_requests);
	first_poll = by_requests = NULL;
	carry_over(p, o ? o->previous : NULL);
	for (size_t i = 0; i < p->ntargets; i++) {
		struct target *t = p->targets[i];
		/* spread the first polls over a second so a large config does not stampede */
		t->next_due_ms = now + (int64_t)(rnd(p) % 1000u);
		heap_push(p, t);
	}
	p->max_workers = o && o->workers > 0 ? o->workers : 4;
	if (p->max_workers > MAX_WORKERS)
		p->max_workers = MAX_WORKERS;
	if (reserve(p))
		goto fail;
	if (start_worker(p))
		goto fail_threads;
	if (pthread_create(&p->sched, NULL, sched_main, p))
		goto fail_threads;
	return p;
fail_threads:
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	p->nworkers = 0;
fail:
	strmap_free(by_query);
	free(lead);
	snapshot_unref(first_poll);
	snapshot_unref(by_requests);
	p->sched = 0;
	poller_unref(p);
	return NULL;
}

static void poller_free(struct poller *p)
{
	for (size_t i = 0; i < p->ntargets; i++)
		target_free(p->targets[i]);
	free(p->targets);
	free(p->heap);
	free(p->queue);
	for (size_t i = 0; p->sources && i < p->nsources; i++) {
		struct source_rt *s = &p->sources[i];
		if (s->opened && s->st->close)
			s->st->close(s->state);
		free(s->state);
		pthread_mutex_destroy(&s->mu);
		pthread_mutex_destroy(&s->fetch_mu);
	}
	free(p->sources);
	statefile_free(p->restore);
	free(p->state_file);
	runtime_unref(p->rt);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->sched_cv);
	pthread_cond_destroy(&p->work_cv);
	pthread_cond_destroy(&p->first_done);
	strmap_free(p->subs);
	strmap_free(p->shared);
	free(p);
}

void poller_unref(struct poller *p)
{
	if (p && atomic_fetch_sub(&p->refs, 1) == 1)
		poller_free(p);
}

void poller_stop(struct poller *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	pthread_cond_broadcast(&p->work_cv);
	pthread_cond_broadcast(&p->sched_cv);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nworkers; i++)
		pthread_join(p->workers[i], NULL);
	if (p->sched)
		pthread_join(p->sched, NULL);
	p->nworkers = 0;
	p->sched = 0;
	pthread_mutex_lock(&p->mu);
	bool handed_over = p->handed_over;
	pthread_mutex_unlock(&p->mu);
	if (p->state_file && !handed_over) {
		char err[300];
		if (poller_save(p, p->state_file, err, sizeof err))
			LOGE("state file not saved", LF_S("path", p->state_file), LF_S("error", err));
		else
			LOGI("state saved", LF_S("path", p->state_file));
	}
	poller_unref(p);
}

void poller_set_current(struct poller *p)
{
	pthread_mutex_lock(&current_mu);
	struct poller *old = current;
	if (p)
		atomic_fetch_add(&p->refs, 1);
	current = p;
	pthread_mutex_unlock(&current_mu);
	poller_unref(old);
}

struct poller *poller_current_ref(void)
{
	pthread_mutex_lock(&current_mu);
	struct poller *p = current;
	if (p)
		atomic_fetch_add(&p->refs, 1);
	pthread_mutex_unlock(&current_mu);
	return p;
}

/* ------------------------------------------------------------------------ */
/* subscriptions                                                            */

/* Waits on p->first_done until deadline; with p->mu held. */
static void wait_first_done(struct poller *p, int64_t deadline)
{
	struct timespec ts = { deadline / 1000, (deadline % 1000) * 1000000 };
	pthread_cond_timedwait(&p->first_done, &p->mu, &ts);
}

/* Runs t's fetch on this (request) thread for its consumers from `from`
 * on; with p->mu held, t not busy. A target already scheduled keeps its
 * next poll: a subscription joining it does not move the others' polls. */
static void run_now(struct poller *p, struct target *t, int64_t deadline, size_t from)
{
	bool scheduled = t->heap_i != SIZE_MAX;
	int64_t due = t->next_due_ms;
	t->busy = true;
	heap_remove(p, t);
	pthread_mutex_unlock(&p->mu);
	run_target(p, t, deadline, from);
	pthread_mutex_lock(&p->mu);
	t->busy = false;
	t->fetched_once = true;
	pthread_cond_broadcast(&p->first_done);
	if (!p->stopping && !t->dead) {
		if (scheduled) {
			t->next_due_ms = due;
			heap_push(p, t);
		} else {
			t->next_due_ms = now_ms();
			reschedule(p, t, t->next_due_ms);
		}
		pthread_cond_signal(&p->sched_cv);
	}
}

/* A new subscription (m, ns, sel) on the target that fetches the same
 * rendered query in ns, or on a new one; with p->mu held. The target, or
 * NULL with err. */
static struct target *subscribe(struct poller *p, const struct metric_cfg *m, const char *ns,
				const struct selector *sel, const char *selstr, int64_t deadline, char *err,
				size_t errlen)
{
	char *query = template_render(m->query, ns, sel, err, errlen);
	if (!query)
		return NULL;
	size_t slen;
	char *skey = shared_key_of(m->source, m->params, m->interval_ms, ns, query, &slen);
	struct target *t = skey ? strmap_get(p->shared, skey, slen) : NULL;
	if (t) {
		/* join between two fetches: none is feeding the consumers then */
		t->pins++; /* while p->mu is let go, the sweep must not free it */
		while (t->busy && !t->dead && !p->stopping && now_ms() < deadline)
			wait_first_done(p, deadline);
		t->pins--;
		free(query);
		if (t->busy || t->dead || p->stopping) {
			free(skey);
			snprintf(err, errlen, "the shared fetch of this query did not finish in time");
			return NULL;
		}
	} else {
		t = skey && !reserve(p) ? target_new(m->source, query, m->params, m->interval_ms) : NULL;
		if (!t || strmap_put(p->shared, skey, slen, t)) {
			if (t)
				target_free(t);
			else
				free(query);
			free(skey);
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		t->is_sub = true;
		t->sub_ns = strdup(ns);
		p->targets[p->ntargets++] = t;
	}
	free(skey);
	struct sub *sb = calloc(1, sizeof *sb);
	char *sel_copy = strdup(selstr);
	pthread_mutex_lock(&t->mu);
	size_t idx = t->nconsumers;
	bool ok = t->sub_ns && sb && sel_copy && !add_consumer(t, m, NULL);
	if (ok) {
		sb->sel = sel_copy;
		atomic_store(&sb->last_used_ms, now_ms());
		t->consumers[idx].sub = sb;
		/* its windows are filled from history before its first fetch */
		if (t->warmed && t->warm_from <= idx) {
			t->warmed = false;
			t->warm_from = idx;
		}
	}
	pthread_mutex_unlock(&t->mu);
	if (!ok) {
		free(sb);
		free(sel_copy);
		snprintf(err, errlen, "out of memory");
		return NULL; /* a new target without consumers goes at the next sweep */
	}
	LOGI(idx ? "subscription created on a shared fetch" : "subscription created", LF_S("metric", m->name),
	     LF_S("namespace", ns), LF_S("selector", selstr), LF_I("sharing", idx));
	return t;
}

struct snapshot *poller_subscription(struct poller *p, const struct metric_cfg *m, const char *ns,
				     const struct selector *sel, int64_t wait_ms, char *err, size_t errlen)
{
	/* the request read the config and the poller one after the other, and a
	 * reload may have swapped them in between: the metric, its source index
	 * and params must be this poller's own */
	m = config_find_metric(&p->rt->cfg, m->name);
	if (!m || !m->templated) {
		snprintf(err, errlen, "the config is being reloaded");
		return NULL;
	}
	char selstr[16384] = "";
	if (sel)
		selector_string(sel, selstr, sizeof selstr);
	int64_t now = now_ms();
	int64_t deadline = now + (wait_ms > 0 ? wait_ms : SUB_DEFAULT_WAIT_MS);
	size_t klen;
	char *key = sub_key(m->name, ns, selstr, &klen);
	if (!key) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_lock(&p->mu);
	if (p->stopping) {
		pthread_mutex_unlock(&p->mu);
		free(key);
		snprintf(err, errlen, "the config is being reloaded");
		return NULL;
	}
	struct target *t = strmap_get(p->subs, key, klen);
	if (!t) {
		t = subscribe(p, m, ns, sel, selstr, deadline, err, errlen);
		if (!t || strmap_put(p->subs, key, klen, t)) {
			pthread_mutex_unlock(&p->mu);
			free(key);
			if (t)
				snprintf(err, errlen, "out of memory");
			return NULL;
		}
		/* the first fetch of a subscription runs here, within the request's
		 * budget; one that joined a shared target fetches again, for it alone
		 * (it is the target's last consumer) */
		if (!t->busy)
			run_now(p, t, deadline, t->nconsumers - 1);
	}
	free(key);
	struct consumer *c = sub_consumer(t, m, selstr);
	if (c)
		atomic_store(&c->sub->last_used_ms, now);
	/* a request that raced the creating one waits for its first fetch */
	t->pins++;
	while (c && !atomic_load(&c->sub->fed) && !p->stopping && now_ms() < deadline) {
		wait_first_done(p, deadline);
		c = sub_consumer(t, m, selstr); /* the consumers may have moved */
	}
	t->pins--;
	struct snapshot *s = c && atomic_load(&c->sub->fed) ? slot_get(c->slot) : NULL;
	pthread_mutex_unlock(&p->mu);
	if (!s)
		snprintf(err, errlen, "the first fetch of this subscription has not finished");
	return s;
}

/* ------------------------------------------------------------------------ */
/* persistence                                                              */

int poller_save(struct poller *p, const char *path, char *err, size_t errlen)
{
	struct statefile_writer *w = statefile_begin(path, err, errlen);
	if (!w)
		return -1;
	pthread_mutex_lock(&p->mu);
	for (size_t i = 0; i < p->ntargets; i++) {
		struct target *t = p->targets[i];
		if (t->dead)
			continue;
		pthread_mutex_lock(&t->mu);
		for (size_t ci = 0; ci < t->nconsumers; ci++) {
			struct consumer *c = &t->consumers[ci];
			for (size_t j = 0; j < c->n; j++) {
				unsigned char *blob = NULL;
				size_t len = 0;
				if (pipeline_state_save(c->series[j].st, &c->m->pipe, &blob, &len))
					continue;
				statefile_add(w, c->m->name, sub_ns(t), sub_sel(c),
					      c->series[j].key, blob, len);
				free(blob);
			}
		}
		pthread_mutex_unlock(&t->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return statefile_commit(w, err, errlen);
}

/* ------------------------------------------------------------------------ */
/* own metrics                                                              */

/* Appends s as a Prometheus label value (\\, \" and \n escaped). */
static void put_label_value(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_adds(b, "\\\\");
		else if (*s == '"')
			buf_adds(b, "\\\"");
		else if (*s == '\n')
			buf_adds(b, "\\n");
		else
			buf_addc(b, *s);
	}
}

/* metric="NAME", and for a subscription namespace="NS",selector="SEL": one
 * line per subscription, however many share a metric (or a fetch). */
static void put_consumer_labels(struct buf *b, const struct consumer *c, const struct target *t)
{
	buf_adds(b, "metric=\"");
	put_label_value(b, c->m->name);
	buf_addc(b, '"');
	if (c->sub) {
		buf_adds(b, ",namespace=\"");
		put_label_value(b, sub_ns(t));
		buf_adds(b, "\",selector=\"");
		put_label_value(b, c->sub->sel);
		buf_addc(b, '"');
	}
}

static void put_series_labels(struct buf *b, const struct consumer *c, const struct target *t, const struct series *s)
{
	buf_adds(b, "{metric=\"");
	put_label_value(b, c->m->name);
	buf_adds(b, "\",namespace=\"");
	put_label_value(b, sub_ns(t));
	if (c->sub) {
		buf_adds(b, "\",selector=\"");
		put_label_value(b, c->sub->sel);
	}
	buf_adds(b, "\",series=\"");
	for (size_t i = 0; i < s->nlabels; i++) {
		if (i)
			buf_addc(b, ',');
		put_label_value(b, s->labels[i].name);
		buf_addc(b, '=');
		put_label_value(b, s->labels[i].value);
	}
	buf_adds(b, "\"}");
}

static void put_double(struct buf *b, double v)
{
	if (isnan(v))
		buf_adds(b, " NaN\n");
	else if (isinf(v))
		buf_adds(b, v > 0 ? " +Inf\n" : " -Inf\n");
	else
		buf_addf(b, " %.17g\n", v);
}

enum family { FAM_ERRORS, FAM_LATENCY, FAM_RAW, FAM_SMOOTHED, FAM_SERVED, FAM_AGE, FAM_COUNT };
static const char *const family_heads[FAM_COUNT] = {
	"# HELP scalewise_metric_fetch_errors_total Failed polls of a metric by reason.\n"
	"# TYPE scalewise_metric_fetch_errors_total counter\n",
	"# HELP scalewise_metric_fetch_duration_seconds Time a poll of a metric took.\n"
	"# TYPE scalewise_metric_fetch_duration_seconds histogram\n",
	"# HELP scalewise_series_raw_value Newest raw sample of a series.\n"
	"# TYPE scalewise_series_raw_value gauge\n",
	"# HELP scalewise_series_smoothed_value Newest smoothed value of a series.\n"
	"# TYPE scalewise_series_smoothed_value gauge\n",
	"# HELP scalewise_series_served_value The value the HPA is served for a series.\n"
	"# TYPE scalewise_series_served_value gauge\n",
	"# HELP scalewise_series_sample_age_seconds Age of the sample behind the served value.\n"
	"# TYPE scalewise_series_sample_age_seconds gauge\n",
};

/* Appends consumer c's lines of family f. Caller holds t->mu. */
static void render_family(struct buf *b, enum family f, const struct target *t, const struct consumer *c, int64_t now)
{
	if (f == FAM_ERRORS) {
		for (int r = 0; r < FR_COUNT; r++) {
			if (!c->by_reason[r])
				continue;
			buf_adds(b, "scalewise_metric_fetch_errors_total{");
			put_consumer_labels(b, c, t);
			buf_addf(b, ",reason=\"%s\"} %lld\n", reason_names[r], (long long)c->by_reason[r]);
		}
		return;
	}
	if (f == FAM_LATENCY) {
		uint64_t cum = 0;
		for (size_t k = 0; k <= NLAT; k++) {
			cum += c->lat[k];
			buf_adds(b, "scalewise_metric_fetch_duration_seconds_bucket{");
			put_consumer_labels(b, c, t);
			if (k < NLAT)
				buf_addf(b, ",le=\"%g\"} %llu\n", lat_bounds[k], (unsigned long long)cum);
			else
				buf_addf(b, ",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
		}
		buf_adds(b, "scalewise_metric_fetch_duration_seconds_sum{");
		put_consumer_labels(b, c, t);
		buf_addf(b, "} %.6f\n", c->lat_sum);
		buf_adds(b, "scalewise_metric_fetch_duration_seconds_count{");
		put_consumer_labels(b, c, t);
		buf_addf(b, "} %llu\n", (unsigned long long)cum);
		return;
	}
	for (size_t j = 0; j < c->n; j++) {
		const struct series *s = &c->series[j];
		if (!s->present)
			continue;
		struct pipeline_out out;
		pipeline_served(&c->m->pipe, s->st, now, &out);
		switch (f) {
		case FAM_RAW:
			buf_adds(b, "scalewise_series_raw_value");
			put_series_labels(b, c, t, s);
			put_double(b, out.raw);
			break;
		case FAM_SMOOTHED:
			buf_adds(b, "scalewise_series_smoothed_value");
			put_series_labels(b, c, t, s);
			put_double(b, out.smoothed);
			break;
		case FAM_SERVED:
			if (!out.ok)
				break;
			buf_adds(b, "scalewise_series_served_value");
			put_series_labels(b, c, t, s);
			put_double(b, out.value);
			break;
		case FAM_AGE:
			if (!out.ok || (out.stale && out.ts_ms == now))
				break;
			buf_adds(b, "scalewise_series_sample_age_seconds");
			put_series_labels(b, c, t, s);
			buf_addf(b, " %.3f\n", (double)(now - out.ts_ms) / 1000.0);
			break;
		default:
			break;
		}
	}
}

void poller_render_metrics(struct buf *b, void *arg)
{
	struct poller *p = poller_current_ref();
	if (!p)
		return;
	int64_t now = now_ms();
	buf_adds(b, "# HELP scalewise_source_circuit_state Circuit breaker of a source: 0 closed, 1 open, 2 half-open.\n"
		    "# TYPE scalewise_source_circuit_state gauge\n");
	for (size_t i = 0; i < p->nsources; i++) {
		struct source_rt *s = &p->sources[i];
		if (!s->st)
			continue;
		pthread_mutex_lock(&s->mu);
		buf_adds(b, "scalewise_source_circuit_state{source=\"");
		put_label_value(b, s->cfg->name);
		buf_addf(b, "\"} %d\n", (int)s->br.state);
		pthread_mutex_unlock(&s->mu);
	}
	buf_adds(b, "# HELP scalewise_source_circuit_transitions_total Circuit breaker state changes of a source.\n"
		    "# TYPE scalewise_source_circuit_transitions_total counter\n");
	for (size_t i = 0; i < p->nsources; i++) {
		struct source_rt *s = &p->sources[i];
		if (!s->st)
			continue;
		pthread_mutex_lock(&s->mu);
		unsigned long long transitions = (unsigned long long)s->br.transitions;
		pthread_mutex_unlock(&s->mu);
		buf_adds(b, "scalewise_source_circuit_transitions_total{source=\"");
		put_label_value(b, s->cfg->name);
		buf_addf(b, "\"} %llu\n", transitions);
	}
	buf_adds(b, "# HELP scalewise_source_fetches_total Fetches sent to a source, and those that failed.\n"
		    "# TYPE scalewise_source_fetches_total counter\n");
	for (size_t i = 0; i < p->nsources; i++) {
		struct source_rt *s = &p->sources[i];
		if (!s->st)
			continue;
		pthread_mutex_lock(&s->mu);
		unsigned long long fetches = s->fetches, failures = s->failures;
		pthread_mutex_unlock(&s->mu);
		buf_adds(b, "scalewise_source_fetches_total{source=\"");
		put_label_value(b, s->cfg->name);
		buf_addf(b, "\",result=\"success\"} %llu\n", fetches - failures);
		buf_adds(b, "scalewise_source_fetches_total{source=\"");
		put_label_value(b, s->cfg->name);
		buf_addf(b, "\",result=\"failure\"} %llu\n", failures);
	}

	pthread_mutex_lock(&p->mu);
	size_t nsubs = strmap_count(p->subs), nshared = 0;
	for (size_t i = 0; i < p->ntargets; i++)
		nshared += p->targets[i]->is_sub && !p->targets[i]->dead;
	int nworkers = p->nworkers, running = p->nworkers - p->nidle;
	size_t queued = p->qlen;
	pthread_mutex_unlock(&p->mu);
	buf_addf(b, "# HELP scalewise_poller_workers Fetch threads started: one while the polls keep up, more "
		    "(up to server.fetchWorkers) while a poll waits 50 ms in the queue.\n"
		    "# TYPE scalewise_poller_workers gauge\nscalewise_poller_workers %d\n"
		    "# HELP scalewise_poller_workers_running Fetch threads running a poll now.\n"
		    "# TYPE scalewise_poller_workers_running gauge\nscalewise_poller_workers_running %d\n"
		    "# HELP scalewise_poller_queued Polls due and waiting for a worker.\n"
		    "# TYPE scalewise_poller_queued gauge\nscalewise_poller_queued %zu\n",
		 nworkers, running, queued);
	buf_addf(b, "# HELP scalewise_subscriptions Templated subscriptions (metric, namespace, selector) kept warm.\n"
		    "# TYPE scalewise_subscriptions gauge\nscalewise_subscriptions %zu\n"
		    "# HELP scalewise_subscription_fetches Distinct fetches serving them: subscriptions whose rendered "
		    "queries are the same (same source and namespace) share one.\n"
		    "# TYPE scalewise_subscription_fetches gauge\nscalewise_subscription_fetches %zu\n",
		 nsubs, nshared);

	/* one pass over the targets per family, each straight into b: a buffer
	 * per family, then copied into b, cost twice the answer (tens of MiB
	 * with 10,000 metrics) */
	for (int f = 0; f < FAM_COUNT; f++) {
		buf_adds(b, family_heads[f]);
		pthread_mutex_lock(&p->mu);
		for (size_t i = 0; i < p->ntargets; i++) {
			struct target *t = p->targets[i];
			if (t->dead)
				continue;
			pthread_mutex_lock(&t->mu);
			for (size_t ci = 0; ci < t->nconsumers; ci++)
				render_family(b, (enum family)f, t, &t->consumers[ci], now);
			pthread_mutex_unlock(&t->mu);
		}
		pthread_mutex_unlock(&p->mu);
	}
	poller_unref(p);
}
