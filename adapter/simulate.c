/*
 * simulate.c — the offline replay (the model is described in simulate.h)
 * and the `scalewise simulate` command: flags, table, JSON, CSV and SVG.
 */
#include "simulate.h"

#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "duration.h"
#include "quantity.h"
#include "svg.h"
#include "yamldoc.h"

static void errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ======================================================================== */
/* The model                                                                */
/* ======================================================================== */

size_t sim_step_count(const struct trace *tr, int64_t sync_ms)
{
	if (!tr || tr->n == 0)
		return 0;
	if (sync_ms <= 0)
		sync_ms = SIM_SYNC_MS;
	return (size_t)((tr->ts_ms[tr->n - 1] - tr->ts_ms[0]) / sync_ms) + 1;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int64_t sim_default_lookback(const struct trace *tr)
{
	if (!tr || tr->n < 2)
		return SIM_DEFAULT_LOOKBACK;
	int64_t *gaps = malloc((tr->n - 1) * sizeof *gaps);
	if (!gaps)
		return SIM_DEFAULT_LOOKBACK;
	for (size_t i = 1; i < tr->n; i++)
		gaps[i - 1] = tr->ts_ms[i] - tr->ts_ms[i - 1];
	qsort(gaps, tr->n - 1, sizeof *gaps, cmp_i64);
	int64_t median = gaps[(tr->n - 1) / 2];
	free(gaps);
	return median > SIM_DEFAULT_LOOKBACK / 2 ? 2 * median : SIM_DEFAULT_LOOKBACK;
}

/* Pods waiting to become ready: a ring of (ready time, count), oldest first. */
struct pending {
	int64_t at;
	int32_t count;
};

struct pqueue {
	struct pending *v;
	size_t cap, head, n;
};

static struct pending *pq_front(struct pqueue *q)
{
	return &q->v[q->head];
}

static struct pending *pq_back(struct pqueue *q)
{
	return &q->v[(q->head + q->n - 1) % q->cap];
}

/* The HPA reads the served value as the API serves it: a Quantity, then MilliValue(). */
static int64_t served_milli(double v)
{
	struct quantity q;
	if (quantity_from_double(&q, v))
		return 0;
	return quantity_milli_value(&q);
}

int sim_run(const struct trace *tr, const struct pipeline_cfg *pipe, const struct sim_setup *setup,
	    struct sim_step *steps, struct sim_summary *out, char *err, size_t errlen)
{
	char why[300];
	memset(out, 0, sizeof *out);

	const int64_t sync = setup->sync_ms > 0 ? setup->sync_ms : SIM_SYNC_MS;
	const struct hpa_spec *spec = setup->spec;
	if (!tr || tr->n == 0) {
		errf(err, errlen, "the trace is empty");
		return -1;
	}
	if (!spec || spec->nmetrics != 1 || spec->metrics[0].source != HPA_SOURCE_EXTERNAL) {
		errf(err, errlen, "the HPA must have exactly one External metric");
		return -1;
	}
	if (setup->initial < 0 || setup->initial > SIM_MAX_REPLICAS) {
		errf(err, errlen, "initial replicas %d out of range 0..%d", setup->initial, SIM_MAX_REPLICAS);
		return -1;
	}
	if (setup->startup_ms < 0 || setup->startup_ms > SIM_MAX_STARTUP_MS) {
		errf(err, errlen, "startup out of range 0s..24h");
		return -1;
	}
	if (setup->has_capacity && !(isfinite(setup->capacity) && setup->capacity > 0)) {
		errf(err, errlen, "capacity must be a positive number");
		return -1;
	}
	if (pipeline_cfg_validate(pipe, why, sizeof why)) {
		errf(err, errlen, "%s", why);
		return -1;
	}
	const size_t n = sim_step_count(tr, sync);
	if (n > SIM_MAX_STEPS) {
		errf(err, errlen, "the trace spans %zu HPA syncs, more than the %zu allowed", n, SIM_MAX_STEPS);
		return -1;
	}
	const int64_t lookback = setup->lookback_ms > 0 ? setup->lookback_ms : sim_default_lookback(tr);
	const int64_t interval = pipe->interval_ms;
	const bool has_cap = setup->has_capacity;
	const double cap_per = setup->capacity;

	struct pipeline_state *ps = pipeline_state_new(pipe);
	struct pqueue pq = { .cap = (size_t)(setup->startup_ms / sync) + 3 };
	pq.v = calloc(pq.cap, sizeof *pq.v);
	struct hpa_result *res = malloc(sizeof *res);
	struct hpa_state hs;
	hpa_state_init(&hs);
	int rc = -1;
	if (!ps || !pq.v || !res) {
		errf(err, errlen, "out of memory");
		goto done;
	}

	char gap_msg[128], lb[32];
	duration_format(lookback, lb, sizeof lb);
	snprintf(gap_msg, sizeof gap_msg, "no sample in the trace within the lookback of %s", lb);

	const int64_t t0 = tr->ts_ms[0];
	int32_t replicas = setup->initial, ready = setup->initial;
	int64_t next_poll = t0;
	size_t pc = 0, cur = 0;
	int64_t sum_replicas = 0, under_ms = 0;
	double unit_ms = 0;   /* integral of (demand - capacity)+ in units x ms */
	struct pipeline_out po;
	int64_t milli;
	struct hpa_metric_input mi;
	struct hpa_inputs in;
	memset(&in, 0, sizeof in);
	in.metrics = &mi;
	in.nmetrics = 1;

	out->has_capacity = has_cap;
	out->start_ms = t0;
	out->lookback_ms = lookback;
	for (size_t k = 0; k < n; k++) {
		const int64_t t = t0 + (int64_t)k * sync;

		/* pods that became ready at or before t */
		while (pq.n && pq_front(&pq)->at <= t) {
			ready += pq_front(&pq)->count;
			pq.head = (pq.head + 1) % pq.cap;
			pq.n--;
		}
		/* the poller's fetches up to t */
		while (next_poll <= t) {
			while (pc + 1 < tr->n && tr->ts_ms[pc + 1] <= next_poll)
				pc++;
			out->polls++;
			if (next_poll - tr->ts_ms[pc] >= lookback) {
				pipeline_fail(pipe, ps, gap_msg, next_poll);
				out->failed_polls++;
			} else {
				pipeline_step(pipe, ps, tr->v[pc], next_poll, next_poll);
			}
			next_poll += interval;
		}
		while (cur + 1 < tr->n && tr->ts_ms[cur + 1] <= t)
			cur++;

		/* one HPA sync */
		pipeline_served(pipe, ps, t, &po);
		memset(&mi, 0, sizeof mi);
		if (po.ok) {
			milli = served_milli(po.value);
			mi.values_milli = &milli;
			mi.nvalues = 1;
		} else {
			mi.fetch_error = true;
			out->unavailable_syncs++;
		}
		in.spec_replicas = replicas;
		in.status_replicas = replicas;
		in.ready_pods = ready;
		if (hpa_reconcile(spec, &hs, t, &in, res)) {
			errf(err, errlen, "the HPA model ran out of history room or memory at step %zu", k);
			goto done;
		}
		int32_t next = res->rescaled ? res->desired : replicas;
		int8_t change = 0;
		if (next > replicas) {
			int32_t add = next - replicas;
			change = 1;
			out->scale_ups++;
			if (setup->startup_ms == 0) {
				ready += add;
			} else if (pq.n && pq_back(&pq)->at == t + setup->startup_ms) {
				pq_back(&pq)->count += add;
			} else {
				/* entries live at most startup / sync + 1 syncs */
				assert(pq.n < pq.cap);
				pq.v[(pq.head + pq.n) % pq.cap] = (struct pending){ t + setup->startup_ms, add };
				pq.n++;
			}
		} else if (next < replicas) {
			int32_t rem = replicas - next;
			change = -1;
			out->scale_downs++;
			while (rem > 0 && pq.n) {
				struct pending *b = pq_back(&pq);
				int32_t take = b->count < rem ? b->count : rem;
				b->count -= take;
				rem -= take;
				if (b->count == 0)
					pq.n--;
			}
			ready -= rem;
		}
		replicas = next;
		sum_replicas += replicas;
		if (replicas > out->max_replicas)
			out->max_replicas = replicas;

		if (steps) {
			struct sim_step *s = &steps[k];
			s->t_ms = t;
			s->raw = tr->v[cur];
			s->served = po.ok ? po.value : NAN;
			if (res->path == HPA_PATH_METRICS)
				s->desired = res->prenormalized;
			else if (res->path == HPA_PATH_ABOVE_MAX || res->path == HPA_PATH_BELOW_MIN)
				s->desired = res->desired;
			else
				s->desired = -1;
			s->replicas = replicas;
			s->ready = ready;
			s->change = change;
			s->under = has_cap && tr->v[cur] > (double)ready * cap_per;
		}

		/* integrate over [t, t + sync): demand and capacity are step functions */
		int64_t seg = t, stop = t + sync;
		size_t c = cur;
		double capv = (double)ready * cap_per;
		for (;;) {
			int64_t nt = c + 1 < tr->n ? tr->ts_ms[c + 1] : INT64_MAX;
			int64_t nr = pq.n ? pq_front(&pq)->at : INT64_MAX;
			int64_t nx = nt < nr ? nt : nr;
			if (nx > stop)
				nx = stop;
			if (has_cap) {
				double gap = tr->v[c] - capv;
				if (gap > 0) {
					under_ms += nx - seg;
					unit_ms += gap * (double)(nx - seg);
				}
			}
			if (nx == stop)
				break;
			if (nx == nt)
				c++;
			while (pq.n && pq_front(&pq)->at <= nx) {
				ready += pq_front(&pq)->count;
				pq.head = (pq.head + 1) % pq.cap;
				pq.n--;
				capv = (double)ready * cap_per;
			}
			seg = nx;
		}

		if (change)
			out->scale_events++;
		if (setup->progress && (k & 8191) == 8191)
			setup->progress(setup->progress_ctx, k + 1, n);
	}
	if (setup->progress)
		setup->progress(setup->progress_ctx, n, n);

	out->steps = n;
	out->end_ms = t0 + (int64_t)n * sync;
	out->replica_seconds = (double)sum_replicas * (double)sync / 1000.0;
	out->mean_replicas = (double)sum_replicas / (double)n;
	if (has_cap) {
		out->underprovisioned_seconds = (double)under_ms / 1000.0;
		out->underprovisioned_unit_seconds = unit_ms / 1000.0;
	}
	rc = 0;
done:
	hpa_state_release(&hs);
	pipeline_state_free(ps);
	free(pq.v);
	free(res);
	return rc;
}

/* ======================================================================== */
/* Output helpers                                                           */
/* ======================================================================== */

/* The shortest decimal that reads back as v; integers below 1e15 plainly. */
static void num_text(double v, char *buf, size_t n)
{
	if (!isfinite(v)) {
		snprintf(buf, n, "null");
		return;
	}
	if (v == floor(v) && fabs(v) < 1e15) {
		snprintf(buf, n, "%.0f", v == 0 ? 0.0 : v);
		return;
	}
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, n, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			return;
	}
}

void sim_summary_json(struct buf *b, const char *const *names, const struct sim_summary *s, size_t n)
{
	char t[64];
	buf_addc(b, '[');
	for (size_t i = 0; i < n; i++) {
		const struct sim_summary *x = &s[i];
		buf_adds(b, i ? ",\n {\"metric\":" : "\n {\"metric\":");
		json_put_string(b, names[i], strlen(names[i]));
		buf_addf(b, ",\"steps\":%zu,\"scale_events\":%zu,\"scale_ups\":%zu,\"scale_downs\":%zu", x->steps,
			 x->scale_events, x->scale_ups, x->scale_downs);
		num_text(x->replica_seconds, t, sizeof t);
		buf_addf(b, ",\"replica_seconds\":%s", t);
		num_text(x->mean_replicas, t, sizeof t);
		buf_addf(b, ",\"mean_replicas\":%s,\"max_replicas\":%d", t, x->max_replicas);
		num_text(x->has_capacity ? x->underprovisioned_seconds : NAN, t, sizeof t);
		buf_addf(b, ",\"underprovisioned_seconds\":%s", t);
		num_text(x->has_capacity ? x->underprovisioned_unit_seconds : NAN, t, sizeof t);
		buf_addf(b, ",\"underprovisioned_unit_seconds\":%s}", t);
	}
	buf_adds(b, n ? "\n]\n" : "]\n");
}

void sim_describe_pipeline(const struct pipeline_cfg *c, char *buf, size_t n)
{
	char a[32], d[32];
	size_t k = 0;
	int r;
#define ADD(...)                                                         \
	do {                                                             \
		r = snprintf(buf + k, k < n ? n - k : 0, __VA_ARGS__);   \
		if (r > 0)                                               \
			k += (size_t)r;                                  \
		if (k >= n)                                              \
			k = n - 1;                                       \
	} while (0)
	if (!n)
		return;
	buf[0] = 0;
	switch (c->method) {
	case SMOOTH_NONE:
		ADD("no smoothing");
		break;
	case SMOOTH_EMA:
		duration_format(c->half_life_ms, a, sizeof a);
		ADD("ema halfLife %s", a);
		break;
	case SMOOTH_QUANTILE:
		duration_format(c->window_ms, a, sizeof a);
		ADD("quantile %g over %s", c->q, a);
		break;
	default:
		duration_format(c->window_ms, a, sizeof a);
		ADD("%s over %s", smooth_method_name(c->method), a);
		break;
	}
	if (c->up_ms || c->down_ms) {
		duration_format(c->up_ms, a, sizeof a);
		duration_format(c->down_ms, d, sizeof d);
		ADD("; stabilization up %s down %s", a, d);
	}
	if (c->hysteresis > 0)
		ADD("; hysteresis %g", c->hysteresis);
	if (c->has_min || c->has_max) {
		if (c->has_min && c->has_max)
			ADD("; bounds %g..%g", c->min, c->max);
		else if (c->has_min)
			ADD("; min %g", c->min);
		else
			ADD("; max %g", c->max);
	}
	duration_format(c->interval_ms, a, sizeof a);
	ADD("; every %s", a);
#undef ADD
}

/* 1234567 -> "1,234,567" */
static void grouped(unsigned long long v, char *buf, size_t n)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof tmp, "%llu", v);
	size_t k = 0;
	for (int i = 0; i < len && k + 1 < n; i++) {
		if (i && (len - i) % 3 == 0 && k + 2 < n)
			buf[k++] = ',';
		buf[k++] = tmp[i];
	}
	buf[k < n ? k : n - 1] = 0;
}

/* ======================================================================== */
/* The command                                                              */
/* ======================================================================== */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: scalewise simulate --input FILE [--series SEL]\n"
		"         [--config FILE [--metric NAME]...]\n"
		"         (--hpa FILE [--hpa-metric NAME] | --target Q [--target-type Value|AverageValue] --max N [--min N])\n"
		"         [--initial N] [--startup DURATION] [--capacity Q] [--lookback DURATION]\n"
		"         [--json FILE] [--csv FILE] [--svg FILE] [--quiet]\n"
		"\n"
		"Replays a recorded series through a metric's pipeline (the code `serve` runs, on a\n"
		"virtual clock) and a model of the Kubernetes HPA (autoscaling/v2, 15 s syncs), and\n"
		"reports how the workload would have scaled.\n"
		"\n"
		"input\n"
		"  --input FILE         a Prometheus query_range answer (JSON, as `scalewise record`\n"
		"                       writes it) or CSV lines timestamp,value (Unix seconds or RFC 3339)\n"
		"  --series SEL         JSON only: the series to use, an index (0, 1, ...) or label\n"
		"                       matchers ('instance=\"a\",job!=\"b\"'); the chosen series are summed.\n"
		"                       Default: all series, summed at equal timestamps\n"
		"pipeline\n"
		"  --config FILE        a scalewise config; each metric's smoothing, stabilization,\n"
		"                       hysteresis, bounds, onError and interval are used (its source\n"
		"                       is replaced by the trace)\n"
		"  --metric NAME        a metric of --config; repeat to compare pipelines side by side\n"
		"                       (default: every metric of --config). Without --config: one\n"
		"                       metric 'raw', no smoothing, polled every 15s\n"
		"HPA\n"
		"  --hpa FILE           an autoscaling/v2 HorizontalPodAutoscaler manifest (YAML or\n"
		"                       JSON): min/maxReplicas, the External metric's target, behavior\n"
		"  --hpa-metric NAME    the manifest's External metric the trace stands for (needed\n"
		"                       when it has several)\n"
		"  --target Q           without --hpa: the target (a quantity: 50, 500m, 1.5k)\n"
		"  --target-type T      Value or AverageValue (default AverageValue)\n"
		"  --min N, --max N     replica bounds (--min default 1); no behavior (legacy rules)\n"
		"workload\n"
		"  --initial N          replicas at the start, all ready (default: minReplicas)\n"
		"  --startup DURATION   pods become ready this long after a scale-up (default 0s)\n"
		"  --capacity Q         demand one ready replica absorbs (default: the AverageValue\n"
		"                       target; without it a Value target has no capacity model)\n"
		"  --lookback DURATION  a poll finds no sample when the newest is this old (default:\n"
		"                       the larger of 5m and twice the trace's median step)\n"
		"output\n"
		"  stdout               a table, one column per metric\n"
		"  --json FILE          the summary: one object per metric with metric, steps,\n"
		"                       scale_events, scale_ups, scale_downs, replica_seconds,\n"
		"                       mean_replicas, max_replicas, underprovisioned_seconds,\n"
		"                       underprovisioned_unit_seconds\n"
		"  --csv FILE           every sync: [metric,]time,raw,served,desired,replicas,ready,capacity\n"
		"  --svg FILE           a picture: metric, capacity, replicas and scale events over time\n"
		"  --quiet              no progress on stderr (shown when a run takes over a second)\n"
		"\n"
		"Definitions (see adapter/simulate.h): the HPA sees the served value at each sync;\n"
		"demand is the raw trace value; capacity = ready replicas x --capacity; a second is\n"
		"under-provisioned when demand > capacity; unit-seconds integrate demand - capacity.\n"
		"Exit status: 0, 2 for bad input (one line on stderr), 1 when an output cannot be written.\n");
}

#define FAIL(...)                                             \
	do {                                                  \
		fprintf(stderr, "scalewise simulate: " __VA_ARGS__); \
		fputc('\n', stderr);                          \
		goto out;                                     \
	} while (0)

struct progress {
	struct timespec start, last;
	const char *name;
	size_t idx, nmetrics;
	bool quiet, shown;
};

static double since(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

static void on_progress(void *ctx, size_t done, size_t total)
{
	struct progress *p = ctx;
	struct timespec now;
	char a[32], b[32];
	if (p->quiet)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (since(&p->start, &now) < 1.0 || (p->shown && since(&p->last, &now) < 1.0 && done < total))
		return;
	p->last = now;
	p->shown = true;
	grouped(done, a, sizeof a);
	grouped(total, b, sizeof b);
	fprintf(stderr, "scalewise simulate: metric %zu of %zu '%s': %s of %s syncs (%.0f%%), %.1f s\n", p->idx + 1,
		p->nmetrics, p->name, a, b, total ? 100.0 * (double)done / (double)total : 100.0,
		since(&p->start, &now));
}

/* Parses a whole number in [lo, hi]. */
static int parse_count(const char *s, long lo, long hi, int32_t *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < lo || v > hi)
		return -1;
	*out = (int32_t)v;
	return 0;
}

/* A positive quantity (or plain number) as a double and as milli-units. */
static int parse_positive(const char *s, double *v, int64_t *milli)
{
	struct quantity q, zero, top;
	if (quantity_parse(&q, s, strlen(s), NULL, 0))
		return -1;
	quantity_from_milli(&zero, 0);
	quantity_from_milli(&top, INT64_MAX);
	if (quantity_cmp(&q, &zero) <= 0 || quantity_cmp(&q, &top) > 0)
		return -1;
	*v = quantity_to_double(&q);
	if (milli)
		*milli = quantity_milli_value(&q);
	return isfinite(*v) ? 0 : -1;
}

/* The names of the External metrics in a manifest's spec.metrics. */
static size_t external_names(const cJSON *root, const char **names, size_t max)
{
	size_t n = 0;
	const cJSON *spec = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "spec") : NULL;
	const cJSON *ms = cJSON_IsObject(spec) ? cJSON_GetObjectItemCaseSensitive(spec, "metrics") : NULL;
	const cJSON *it;
	if (!cJSON_IsArray(ms))
		return 0;
	cJSON_ArrayForEach(it, ms) {
		const cJSON *type = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "type") : NULL;
		if (!cJSON_IsString(type) || strcmp(type->valuestring, "External"))
			continue;
		const cJSON *ext = cJSON_GetObjectItemCaseSensitive(it, "external");
		const cJSON *m = cJSON_IsObject(ext) ? cJSON_GetObjectItemCaseSensitive(ext, "metric") : NULL;
		const cJSON *nm = cJSON_IsObject(m) ? cJSON_GetObjectItemCaseSensitive(m, "name") : NULL;
		if (n < max)
			names[n] = cJSON_IsString(nm) ? nm->valuestring : "";
		n++;
	}
	return n;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* "27d13h31m" for long spans, duration_format's text otherwise. */
static void span_text(int64_t ms, char *buf, size_t n)
{
	if (ms >= INT64_C(86400000)) {
		char rest[20];
		duration_format(ms % INT64_C(86400000), rest, sizeof rest);
		snprintf(buf, n, "%lldd%s", (long long)(ms / INT64_C(86400000)), strcmp(rest, "0s") ? rest : "");
	} else {
		duration_format(ms, buf, n);
	}
}

/* " (-81%)" relative to base, or "" */
static void rel_text(double v, double base, char *buf, size_t n)
{
	if (base == 0 || !isfinite(base) || !isfinite(v)) {
		if (n)
			buf[0] = 0;
		return;
	}
	double r = (v - base) / base * 100.0;
	snprintf(buf, n, " (%+.0f%%)", r);
}

struct run {
	const char *name;
	struct pipeline_cfg pipe;
	char desc[256];
	struct sim_step *steps;
	struct sim_summary sum;
};

typedef void (*cell_fn)(const struct run *r, const struct run *base, char *buf, size_t n);

static void print_row(const char *label, struct run *runs, size_t nr, int width, cell_fn cell)
{
	char c[96];
	printf("  %-30s", label);
	for (size_t i = 0; i < nr; i++) {
		cell(&runs[i], i ? &runs[0] : NULL, c, sizeof c);
		printf("  %*s", width, c);
	}
	putchar('\n');
}

/* The widest cell of a row. */
static int row_width(struct run *runs, size_t nr, cell_fn cell)
{
	char c[96];
	int w = 0;
	for (size_t i = 0; i < nr; i++) {
		cell(&runs[i], i ? &runs[0] : NULL, c, sizeof c);
		if ((int)strlen(c) > w)
			w = (int)strlen(c);
	}
	return w;
}

static void cell_steps(const struct run *r, const struct run *b, char *buf, size_t n)
{
	grouped(r->sum.steps, buf, n);
}

static void cell_counted(size_t v, size_t base, bool has_base, char *buf, size_t n)
{
	char g[32], rel[32] = "";
	grouped(v, g, sizeof g);
	if (has_base)
		rel_text((double)v, (double)base, rel, sizeof rel);
	snprintf(buf, n, "%s%s", g, rel);
}

static void cell_events(const struct run *r, const struct run *b, char *buf, size_t n)
{
	cell_counted(r->sum.scale_events, b ? b->sum.scale_events : 0, b != NULL, buf, n);
}

static void cell_ups(const struct run *r, const struct run *b, char *buf, size_t n)
{
	grouped(r->sum.scale_ups, buf, n);
}

static void cell_downs(const struct run *r, const struct run *b, char *buf, size_t n)
{
	grouped(r->sum.scale_downs, buf, n);
}

static void cell_rhours(const struct run *r, const struct run *b, char *buf, size_t n)
{
	char g[32], rel[32] = "";
	double h = r->sum.replica_seconds / 3600.0;
	grouped((unsigned long long)floor(h), g, sizeof g);
	if (b)
		rel_text(r->sum.replica_seconds, b->sum.replica_seconds, rel, sizeof rel);
	snprintf(buf, n, "%s.%d%s", g, (int)floor((h - floor(h)) * 10), rel);
}

static void cell_mean(const struct run *r, const struct run *b, char *buf, size_t n)
{
	snprintf(buf, n, "%.2f", r->sum.mean_replicas);
}

static void cell_max(const struct run *r, const struct run *b, char *buf, size_t n)
{
	snprintf(buf, n, "%d", r->sum.max_replicas);
}

static void cell_under_time(const struct run *r, const struct run *b, char *buf, size_t n)
{
	char d[64], rel[32] = "";
	if (!r->sum.has_capacity) {
		snprintf(buf, n, "-");
		return;
	}
	double total = (double)(r->sum.end_ms - r->sum.start_ms) / 1000.0;
	span_text((int64_t)llround(r->sum.underprovisioned_seconds * 1000), d, sizeof d);
	if (b)
		rel_text(r->sum.underprovisioned_seconds, b->sum.underprovisioned_seconds, rel, sizeof rel);
	snprintf(buf, n, "%s (%.2f%%)%s", d, total > 0 ? 100.0 * r->sum.underprovisioned_seconds / total : 0.0, rel);
}

static void cell_under_units(const struct run *r, const struct run *b, char *buf, size_t n)
{
	char g[32], rel[32] = "";
	if (!r->sum.has_capacity) {
		snprintf(buf, n, "-");
		return;
	}
	grouped((unsigned long long)llround(r->sum.underprovisioned_unit_seconds), g, sizeof g);
	if (b)
		rel_text(r->sum.underprovisioned_unit_seconds, b->sum.underprovisioned_unit_seconds, rel, sizeof rel);
	snprintf(buf, n, "%s%s", g, rel);
}

static void cell_unavail(const struct run *r, const struct run *b, char *buf, size_t n)
{
	grouped(r->sum.unavailable_syncs, buf, n);
}

static void cell_gaps(const struct run *r, const struct run *b, char *buf, size_t n)
{
	char a[32], c[32];
	grouped(r->sum.failed_polls, a, sizeof a);
	grouped(r->sum.polls, c, sizeof c);
	snprintf(buf, n, "%s of %s", a, c);
}

/* A CSV field and its comma, quoted (RFC 4180) when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fprintf(f, "%s,", s);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputs("\",", f);
}

static int write_csv(FILE *f, struct run *runs, size_t nr, bool has_cap, double cap)
{
	char t[40];
	bool multi = nr > 1;
	fprintf(f, "%stime,raw,served,desired,replicas,ready,capacity\n", multi ? "metric," : "");
	for (size_t i = 0; i < nr; i++) {
		for (size_t k = 0; k < runs[i].sum.steps; k++) {
			const struct sim_step *s = &runs[i].steps[k];
			trace_format_time(s->t_ms, t, sizeof t);
			if (multi)
				csv_field(f, runs[i].name);
			fprintf(f, "%s,%.10g,", t, s->raw);
			if (!isnan(s->served))
				fprintf(f, "%.10g", s->served);
			fputc(',', f);
			if (s->desired >= 0)
				fprintf(f, "%d", s->desired);
			fprintf(f, ",%d,%d,", s->replicas, s->ready);
			if (has_cap)
				fprintf(f, "%.10g", (double)s->ready * cap);
			fputc('\n', f);
		}
	}
	return ferror(f) ? -1 : 0;
}

static FILE *open_out(const char *flag, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "scalewise simulate: %s: cannot write '%s': %s\n", flag, path, strerror(errno));
	return f;
}

static int close_out(FILE *f, const char *flag, const char *path, int rc)
{
	if (fclose(f) || rc) {
		fprintf(stderr, "scalewise simulate: %s: cannot write '%s'\n", flag, path);
		return -1;
	}
	return 0;
}

int simulate_main(int argc, char **argv)
{
	const char *input = NULL, *series = NULL, *config_path = NULL, *hpa_path = NULL, *hpa_metric = NULL;
	const char *target = NULL, *target_type = NULL, *min_s = NULL, *max_s = NULL, *initial_s = NULL;
	const char *startup_s = NULL, *capacity_s = NULL, *lookback_s = NULL;
	const char *json_path = NULL, *csv_path = NULL, *svg_path = NULL;
	const char *metrics[SIM_MAX_METRICS];
	size_t nmetrics = 0;
	bool quiet = false;
	int ret = 2;
	char err[700];

	struct trace tr;
	struct config cfg;
	bool cfg_loaded = false;
	struct run runs[SIM_MAX_METRICS];
	size_t nruns = 0;
	struct hpa_spec spec;
	cJSON *manifest = NULL;
	FILE *fjson = NULL, *fcsv = NULL, *fsvg = NULL;
	char hpa_desc[800] = "", work_desc[300] = "";

	trace_init(&tr);
	memset(runs, 0, sizeof runs);
	memset(&cfg, 0, sizeof cfg);

	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		bool missing = false;
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		}
		if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
			quiet = true;
			continue;
		}
		static const char *const names[] = { "--input", "--series", "--config", "--metric", "--hpa",
						     "--hpa-metric", "--target", "--target-type", "--min", "--max",
						     "--initial", "--startup", "--capacity", "--lookback", "--json",
						     "--csv", "--svg", NULL };
		const char **slots[] = { &input, &series, &config_path, NULL, &hpa_path, &hpa_metric, &target,
					 &target_type, &min_s, &max_s, &initial_s, &startup_s, &capacity_s,
					 &lookback_s, &json_path, &csv_path, &svg_path };
		size_t k;
		for (k = 0; names[k]; k++)
			if (cli_flag(argc, argv, &i, names[k], &v, &missing))
				break;
		if (!names[k])
			FAIL("unknown argument '%s' (see --help)", a);
		if (missing || !v)
			FAIL("%s needs a value", names[k]);
		if (!slots[k]) {
			if (nmetrics >= SIM_MAX_METRICS)
				FAIL("--metric: at most %d metrics can be compared", SIM_MAX_METRICS);
			metrics[nmetrics++] = v;
		} else {
			*slots[k] = v;
		}
	}

	/* ---- flags that stand alone ---- */
	if (!input)
		FAIL("--input FILE is required (see --help)");
	if (nmetrics && !config_path)
		FAIL("--metric: needs --config FILE");
	if (hpa_path && (target || target_type || min_s || max_s))
		FAIL("%s: not with --hpa (the manifest gives the target and the bounds)",
		     target ? "--target" : target_type ? "--target-type" : min_s ? "--min" : "--max");
	if (!hpa_path && !target)
		FAIL("--hpa FILE or --target Q is required (see --help)");
	if (hpa_metric && !hpa_path)
		FAIL("--hpa-metric: needs --hpa FILE");
	int64_t startup_ms = 0, lookback_ms = 0;
	if (startup_s) {
		if (duration_parse(startup_s, &startup_ms, err, sizeof err))
			FAIL("--startup: '%s': %s", startup_s, err);
		if (startup_ms > SIM_MAX_STARTUP_MS)
			FAIL("--startup: '%s' is longer than 24h", startup_s);
	}
	if (lookback_s) {
		if (duration_parse(lookback_s, &lookback_ms, err, sizeof err))
			FAIL("--lookback: '%s': %s", lookback_s, err);
		if (lookback_ms <= 0)
			FAIL("--lookback: must be longer than 0s");
	}
	double capacity = 0;
	if (capacity_s && parse_positive(capacity_s, &capacity, NULL))
		FAIL("--capacity: '%s' is not a positive quantity", capacity_s);

	/* ---- the HPA ---- */
	if (hpa_path) {
		manifest = yamldoc_load(hpa_path, err, sizeof err);
		if (!manifest)
			FAIL("--hpa: %s", err);
		const char *ext[8];
		size_t next = external_names(manifest, ext, 8);
		const char *use = hpa_metric;
		if (!use) {
			if (next == 0) {
				if (hpa_spec_from_manifest(manifest, NULL, &spec, err, sizeof err))
					FAIL("--hpa: '%s': %s", hpa_path, err);
				FAIL("--hpa: '%s': spec.metrics has no External metric", hpa_path);
			}
			if (next > 1)
				FAIL("--hpa: '%s' has %zu External metrics ('%s', '%s'%s): choose one with --hpa-metric",
				     hpa_path, next, ext[0], ext[1], next > 2 ? ", ..." : "");
			use = ext[0];
		}
		if (hpa_spec_from_manifest(manifest, use, &spec, err, sizeof err))
			FAIL("--hpa: '%s': %s", hpa_path, err);
		if (hpa_spec_validate(&spec, err, sizeof err))
			FAIL("--hpa: '%s': %s", hpa_path, err);
	} else {
		hpa_spec_init(&spec);
		spec.nmetrics = 1;
		struct hpa_metric_spec *m = &spec.metrics[0];
		m->source = HPA_SOURCE_EXTERNAL;
		snprintf(m->name, sizeof m->name, "simulated");
		if (!target_type || !strcmp(target_type, "AverageValue"))
			m->target = HPA_TARGET_AVERAGE_VALUE;
		else if (!strcmp(target_type, "Value"))
			m->target = HPA_TARGET_VALUE;
		else
			FAIL("--target-type: '%s' must be Value or AverageValue", target_type);
		double tv;
		if (parse_positive(target, &tv, &m->target_milli) || m->target_milli <= 0)
			FAIL("--target: '%s' is not a positive quantity", target);
		if (!max_s)
			FAIL("--max N is required with --target");
		if (parse_count(max_s, 1, SIM_MAX_REPLICAS, &spec.max_replicas))
			FAIL("--max: '%s' must be a whole number from 1 to %d", max_s, SIM_MAX_REPLICAS);
		if (min_s && parse_count(min_s, 0, SIM_MAX_REPLICAS, &spec.min_replicas))
			FAIL("--min: '%s' must be a whole number from 0 to %d", min_s, SIM_MAX_REPLICAS);
		if (spec.min_replicas > spec.max_replicas)
			FAIL("--min: %d is greater than --max %d", spec.min_replicas, spec.max_replicas);
		if (hpa_spec_validate(&spec, err, sizeof err))
			FAIL("--target: %s", err);
	}
	const struct hpa_metric_spec *hm = &spec.metrics[0];
	bool has_cap = capacity_s != NULL;
	if (!has_cap && hm->target == HPA_TARGET_AVERAGE_VALUE) {
		has_cap = true;
		capacity = (double)hm->target_milli / 1000.0;
	}
	int32_t initial = spec.min_replicas;
	if (initial_s && parse_count(initial_s, 0, SIM_MAX_REPLICAS, &initial))
		FAIL("--initial: '%s' must be a whole number from 0 to %d", initial_s, SIM_MAX_REPLICAS);

	/* ---- the trace ---- */
	if (trace_load(input, series, &tr, err, sizeof err))
		FAIL("--input: %s", err);

	/* ---- the pipelines ---- */
	if (config_path) {
		if (cli_load_config(config_path, NULL, 0, &cfg)) {
			config_release(&cfg);
			FAIL("--config: '%s' is not a valid config (problems above)", config_path);
		}
		cfg_loaded = true;
		if (nmetrics == 0) {
			if (cfg.nmetrics == 0)
				FAIL("--config: '%s' defines no metrics", config_path);
			if (cfg.nmetrics > SIM_MAX_METRICS)
				FAIL("--config: '%s' has %zu metrics: choose at most %d with --metric", config_path,
				     cfg.nmetrics, SIM_MAX_METRICS);
			for (size_t i = 0; i < cfg.nmetrics; i++)
				metrics[nmetrics++] = cfg.metrics[i].name;
		}
		for (size_t i = 0; i < nmetrics; i++) {
			const struct metric_cfg *m = config_find_metric(&cfg, metrics[i]);
			if (!m) {
				char list[200] = "";
				size_t k = 0;
				for (size_t j = 0; j < cfg.nmetrics && k + 1 < sizeof list; j++) {
					int r = snprintf(list + k, sizeof list - k, "%s'%s'", j ? ", " : "", cfg.metrics[j].name);
					if (r > 0)
						k += (size_t)r;
				}
				FAIL("--metric: no metric '%s' in '%s' (it has %s)", metrics[i], config_path, list);
			}
			for (size_t j = 0; j < nruns; j++)
				if (!strcmp(runs[j].name, m->name))
					FAIL("--metric: '%s' is given twice", metrics[i]);
			runs[nruns].name = m->name;
			runs[nruns].pipe = m->pipe;
			nruns++;
		}
	} else {
		runs[0].name = "raw";
		pipeline_cfg_init(&runs[0].pipe);
		nruns = 1;
	}

	/* ---- outputs: opened before the run so that a bad path fails early ---- */
	fjson = json_path ? open_out("--json", json_path) : NULL;
	fcsv = csv_path ? open_out("--csv", csv_path) : NULL;
	fsvg = svg_path ? open_out("--svg", svg_path) : NULL;
	if ((json_path && !fjson) || (csv_path && !fcsv) || (svg_path && !fsvg)) {
		ret = 1;
		goto out;
	}

	/* ---- run ---- */
	struct sim_setup setup = {
		.spec = &spec,
		.initial = initial,
		.startup_ms = startup_ms,
		.has_capacity = has_cap,
		.capacity = capacity,
		.sync_ms = SIM_SYNC_MS,
		.lookback_ms = lookback_ms,
		.progress = on_progress,
	};
	struct progress prog = { .quiet = quiet, .nmetrics = nruns };
	clock_gettime(CLOCK_MONOTONIC, &prog.start);
	setup.progress_ctx = &prog;
	size_t nsteps = sim_step_count(&tr, SIM_SYNC_MS);
	if (nsteps > SIM_MAX_STEPS)
		FAIL("--input: '%s' spans %zu HPA syncs, more than %zu", input, nsteps, SIM_MAX_STEPS);
	for (size_t i = 0; i < nruns; i++) {
		struct run *r = &runs[i];
		sim_describe_pipeline(&r->pipe, r->desc, sizeof r->desc);
		if (fcsv || fsvg) {
			r->steps = malloc(nsteps * sizeof *r->steps);
			if (!r->steps)
				FAIL("out of memory for %zu steps", nsteps);
		}
		prog.idx = i;
		prog.name = r->name;
		if (sim_run(&tr, &r->pipe, &setup, r->steps, &r->sum, err, sizeof err))
			FAIL("metric '%s': %s", r->name, err);
	}
	if (prog.shown) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		fprintf(stderr, "scalewise simulate: done in %.1f s\n", since(&prog.start, &now));
	}

	/* ---- the table ---- */
	{
		char a[48], b[48], c[64], d[32], e[32], g[32];
		grouped(tr.n, g, sizeof g);
		trace_format_time(tr.ts_ms[0], a, sizeof a);
		trace_format_time(tr.ts_ms[tr.n - 1], b, sizeof b);
		span_text(tr.ts_ms[tr.n - 1] - tr.ts_ms[0], c, sizeof c);
		printf("scalewise simulate: %s\n", base_name(input));
		printf("  trace     %s points, %s .. %s (%s), %s\n", g, a, b, c, tr.desc);
		quantity_format_milli(hm->target_milli, d, sizeof d);
		struct hpa_tolerance tol = hpa_spec_tolerances(&spec);
		char tols[64];
		if (tol.scale_up == tol.scale_down)
			snprintf(tols, sizeof tols, "tolerance %g", tol.scale_up);
		else
			snprintf(tols, sizeof tols, "tolerance up %g down %g", tol.scale_up, tol.scale_down);
		snprintf(hpa_desc, sizeof hpa_desc, "%s%s%s%s%s%s%s %s %s, replicas %d..%d, %s, %s, sync 15s",
			 hpa_path ? "'" : "", hpa_path ? base_name(hpa_path) : "", hpa_path ? "' metric '" : "",
			 hpa_path ? hm->name : "", hpa_path ? "', " : "",
			 "", hpa_target_name(hm->target), d,
			 hm->target == HPA_TARGET_AVERAGE_VALUE ? "per replica" : "in total", spec.min_replicas,
			 spec.max_replicas, spec.has_behavior ? "behavior from the manifest" : "no behavior (legacy rules)",
			 tols);
		printf("  hpa       %s\n", hpa_desc);
		duration_format(startup_ms, e, sizeof e);
		if (has_cap) {
			char capq[40];
			num_text(capacity, capq, sizeof capq);
			snprintf(work_desc, sizeof work_desc, "starts at %d ready, startup %s, capacity %s per ready replica",
				 initial, e, capq);
		} else {
			snprintf(work_desc, sizeof work_desc,
				 "starts at %d ready, startup %s, no capacity model (a Value target: give --capacity)",
				 initial, e);
		}
		printf("  workload  %s\n", work_desc);
		duration_format(runs[0].sum.lookback_ms, d, sizeof d);
		printf("  polls     lookback %s%s\n", d, lookback_s ? "" : " (default)");
		printf("\n  metrics\n");
		size_t nw = 8;
		for (size_t i = 0; i < nruns; i++)
			if (strlen(runs[i].name) > nw)
				nw = strlen(runs[i].name);
		for (size_t i = 0; i < nruns; i++)
			printf("    %-*s  %s\n", (int)nw, runs[i].name, runs[i].desc);
		putchar('\n');
		static const struct {
			const char *label;
			cell_fn cell;
		} rows[] = {
			{ "HPA syncs (15s)", cell_steps },
			{ "scale events", cell_events },
			{ "  scale-ups", cell_ups },
			{ "  scale-downs", cell_downs },
			{ "replica-hours", cell_rhours },
			{ "mean replicas", cell_mean },
			{ "max replicas", cell_max },
			{ "under-provisioned time", cell_under_time },
			{ "under-provisioned unit-seconds", cell_under_units },
			{ "syncs without a metric value", cell_unavail },
			{ "polls that found a trace gap", cell_gaps },
		};
		int width = 10;
		for (size_t i = 0; i < nruns; i++)
			if ((int)strlen(runs[i].name) > width)
				width = (int)strlen(runs[i].name) > 60 ? 60 : (int)strlen(runs[i].name);
		for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
			if (row_width(runs, nruns, rows[i].cell) > width)
				width = row_width(runs, nruns, rows[i].cell);
		printf("  %-30s", "");
		for (size_t i = 0; i < nruns; i++)
			printf("  %*.*s", width, width, runs[i].name);
		putchar('\n');
		for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
			print_row(rows[i].label, runs, nruns, width, rows[i].cell);
		if (nruns > 1)
			printf("\n  (in parentheses: the change against '%s')\n", runs[0].name);
		fflush(stdout);
	}

	/* ---- files ---- */
	ret = 0;
	if (fjson) {
		struct buf b;
		const char *names[SIM_MAX_METRICS];
		struct sim_summary sums[SIM_MAX_METRICS];
		buf_init(&b, 0);
		for (size_t i = 0; i < nruns; i++) {
			names[i] = runs[i].name;
			sums[i] = runs[i].sum;
		}
		sim_summary_json(&b, names, sums, nruns);
		int wrc = b.failed || fwrite(b.data, 1, b.len, fjson) != b.len ? -1 : 0;
		buf_release(&b);
		if (close_out(fjson, "--json", json_path, wrc))
			ret = 1;
		fjson = NULL;
	}
	if (fcsv) {
		int wrc = write_csv(fcsv, runs, nruns, has_cap, capacity);
		if (close_out(fcsv, "--csv", csv_path, wrc))
			ret = 1;
		fcsv = NULL;
	}
	if (fsvg) {
		struct svg_panel panels[SIM_MAX_METRICS];
		char title[300];
		for (size_t i = 0; i < nruns; i++)
			panels[i] = (struct svg_panel){ runs[i].name, runs[i].desc, runs[i].steps, &runs[i].sum };
		snprintf(title, sizeof title, "scalewise simulate: %s (%s)", base_name(input), tr.desc);
		char sub[820], sub2[320];
		snprintf(sub, sizeof sub, "HPA %s", hpa_desc);
		snprintf(sub2, sizeof sub2, "workload %s", work_desc);
		struct svg_doc doc = {
			.title = title,
			.subtitle = sub,
			.subtitle2 = sub2,
			.trace = &tr,
			.has_capacity = has_cap,
			.capacity = capacity,
			.sync_ms = SIM_SYNC_MS,
			.panels = panels,
			.npanels = nruns,
		};
		struct buf b;
		buf_init(&b, 256u << 20);
		svg_render(&b, &doc);
		int wrc = b.failed || fwrite(b.data, 1, b.len, fsvg) != b.len ? -1 : 0;
		buf_release(&b);
		if (close_out(fsvg, "--svg", svg_path, wrc))
			ret = 1;
		fsvg = NULL;
	}

out:
	if (fjson)
		fclose(fjson);
	if (fcsv)
		fclose(fcsv);
	if (fsvg)
		fclose(fsvg);
	for (size_t i = 0; i < nruns; i++)
		free(runs[i].steps);
	if (cfg_loaded)
		config_release(&cfg);
	cJSON_Delete(manifest);
	trace_release(&tr);
	return ret;
}
