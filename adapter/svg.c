/*
 * svg.c — draws a simulation run (svg.h says what the picture shows).
 *
 * Every series is a step function drawn per pixel column: a column that
 * holds points gets a vertical stroke through the value it starts with,
 * its maximum, its minimum and the value it ends with; the stroke then runs
 * horizontally to the next such column. With fewer points than columns this
 * is the exact step shape; with more it is the min/max envelope.
 */
#include "svg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duration.h"

#define W         1200
#define ML        72     /* left margin: y labels */
#define MR        28
#define PW        (W - ML - MR)
#define HEAD      108    /* title, two subtitle lines, legend */
#define PHEAD     42     /* panel title and summary */
#define MH        210    /* metric chart */
#define GAP       22     /* between the charts: the scale-event marks */
#define RH        110    /* replicas chart */
#define AXIS      36     /* time labels */
#define PANEL     (PHEAD + MH + GAP + RH + AXIS)
#define PSPACE    18

#define C_RAW     "#8c96a0"
#define C_SERVED  "#1f6fd1"
#define C_CAP     "#2a9d3a"
#define C_UNDER   "#d62728"
#define C_REP     "#f07c12"
#define C_READY   "#b05a00"
#define C_GRID    "#e3e6ea"
#define C_AXIS    "#555b61"
#define C_TEXT    "#1d2125"
#define FONT      "DejaVu Sans, Helvetica, Arial, sans-serif"

static void esc(struct buf *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&': buf_adds(b, "&amp;"); break;
		case '<': buf_adds(b, "&lt;"); break;
		case '>': buf_adds(b, "&gt;"); break;
		case '"': buf_adds(b, "&quot;"); break;
		case '\'': buf_adds(b, "&#39;"); break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				buf_addc(b, *s);
		}
	}
}

/* ---- scales --------------------------------------------------------------- */

struct frame {
	int64_t t0, t1;        /* time range of the x axis */
	double top, h;         /* chart box */
	double ymax;
};

static double xof(const struct frame *f, int64_t t)
{
	if (f->t1 <= f->t0)
		return ML;
	return ML + (double)(t - f->t0) * PW / (double)(f->t1 - f->t0);
}

static int colof(const struct frame *f, int64_t t)
{
	int c = (int)floor((xof(f, t) - ML));
	return c < 0 ? 0 : c >= PW ? PW - 1 : c;
}

static double yof(const struct frame *f, double v)
{
	double y = f->top + f->h - (f->ymax > 0 ? v / f->ymax : 0) * f->h;
	if (y < f->top - 3)
		y = f->top - 3;
	if (y > f->top + f->h + 3)
		y = f->top + f->h + 3;
	return y;
}

/* A "nice" tick step (1, 2, 2.5, 5 x 10^k) giving about `want` ticks up to max. */
static double nice_step(double max, int want)
{
	if (!(max > 0))
		return 1;
	double raw = max / want, p = pow(10, floor(log10(raw)));
	double m = raw / p;
	double s = m <= 1 ? 1 : m <= 2 ? 2 : m <= 2.5 ? 2.5 : m <= 5 ? 5 : 10;
	return s * p;
}

/* As nice_step for whole numbers: 1, 2, 5 x 10^k, at least 1. */
static double int_step(double max, int want)
{
	double s = nice_step(max, want);
	if (s < 1)
		return 1;
	if (s != floor(s))
		s = floor(s) * 2 >= 2 ? floor(s) * 2 : 1;
	return s;
}

static double nice_max(double max, int want)
{
	if (!(max > 0))
		return 1;
	double s = nice_step(max, want);
	return ceil(max / s - 1e-9) * s;
}

/* 12500 -> "12.5k", 0.25 -> "0.25" */
static void short_num(double v, char *buf, size_t n)
{
	double a = fabs(v);
	if (a >= 1e9)
		snprintf(buf, n, "%gG", v / 1e9);
	else if (a >= 1e6)
		snprintf(buf, n, "%gM", v / 1e6);
	else if (a >= 1e4)
		snprintf(buf, n, "%gk", v / 1e3);
	else
		snprintf(buf, n, "%g", v);
}

/* 1234567 -> "1,234,567" */
static void grouped(double v, char *buf, size_t n)
{
	char tmp[32];
	int len = snprintf(tmp, sizeof tmp, "%.0f", v < 0 ? 0 : v);
	size_t k = 0;
	for (int i = 0; i < len && k + 2 < n; i++) {
		if (i && (len - i) % 3 == 0)
			buf[k++] = ',';
		buf[k++] = tmp[i];
	}
	buf[k] = 0;
}

/* "2d3h4m" style: days, then the Go duration of the rest without a trailing "0s". */
static void span(int64_t ms, char *buf, size_t n)
{
	char rest[20];
	int64_t days = ms / INT64_C(86400000);
	duration_format(ms % INT64_C(86400000), rest, sizeof rest);
	size_t l = strlen(rest);
	if (l > 2 && !strcmp(rest + l - 2, "0s") && (rest[l - 3] == 'm' || rest[l - 3] == 'h'))
		rest[l - 2] = 0;
	if (days)
		snprintf(buf, n, "%lldd%s", (long long)days, strcmp(rest, "0s") ? rest : "");
	else
		snprintf(buf, n, "%s", rest);
}

/* ---- step series per pixel column ---------------------------------------------- */

struct col {
	double first, min, max, last;
	double x;            /* x of the first point in the column */
	bool set;
};

struct series {
	struct col c[PW];
};

/* Scratch space of one render (kept off the stack: about 60 KB). */
struct work {
	struct series s;
	double ex[PW], lo[PW], hi[PW];
	unsigned char ev[PW];
};

static void col_reset(struct series *s)
{
	for (int i = 0; i < PW; i++)
		s->c[i].set = false;
}

static void col_add(struct series *s, const struct frame *f, int64_t t, double v)
{
	if (isnan(v))
		return;
	struct col *c = &s->c[colof(f, t)];
	if (!c->set) {
		c->set = true;
		c->first = c->min = c->max = c->last = v;
		c->x = xof(f, t);
		return;
	}
	if (v < c->min)
		c->min = v;
	if (v > c->max)
		c->max = v;
	c->last = v;
}

static void path_series(struct buf *b, const struct series *s, const struct frame *f, const char *stroke,
			double width, const char *extra)
{
	bool pen = false;
	buf_addf(b, "<path fill=\"none\" stroke=\"%s\" stroke-width=\"%.1f\" stroke-linejoin=\"round\"%s%s d=\"",
		 stroke, width, extra ? " " : "", extra ? extra : "");
	for (int i = 0; i < PW; i++) {
		const struct col *c = &s->c[i];
		if (!c->set)
			continue;
		if (!pen) {
			buf_addf(b, "M%.1f %.1f", c->x, yof(f, c->first));
			pen = true;
		} else {
			buf_addf(b, "H%.1f V%.1f", c->x, yof(f, c->first));
		}
		if (c->max != c->first || c->min != c->first || c->last != c->first)
			buf_addf(b, "V%.1f V%.1fV%.1f", yof(f, c->max), yof(f, c->min), yof(f, c->last));
	}
	if (pen)
		buf_addf(b, "H%.1f", (double)(ML + PW));
	buf_adds(b, "\"/>\n");
}

/* ---- axes ------------------------------------------------------------------- */

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static void utc(int64_t ms, struct tm *tm)
{
	time_t t = (time_t)(ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000));
	if (!gmtime_r(&t, tm))
		memset(tm, 0, sizeof *tm);
}

static int64_t time_step(int64_t span_ms)
{
	static const int64_t steps_s[] = { 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800,
					   21600, 43200, 86400, 172800, 345600, 604800, 1209600, 2419200,
					   4838400, 9676800, 31536000 };
	for (size_t i = 0; i < sizeof steps_s / sizeof steps_s[0]; i++)
		if (span_ms / (steps_s[i] * 1000) <= 9)
			return steps_s[i] * 1000;
	return INT64_C(31536000000);
}

static void time_label(int64_t ms, int64_t step, int64_t span, char *buf, size_t n)
{
	struct tm tm;
	utc(ms, &tm);
	if (step >= INT64_C(86400000))
		snprintf(buf, n, "%s %d", months[tm.tm_mon % 12], tm.tm_mday);
	else if (span > INT64_C(86400000))
		snprintf(buf, n, "%s %d %02d:%02d", months[tm.tm_mon % 12], tm.tm_mday, tm.tm_hour, tm.tm_min);
	else if (step >= 60000)
		snprintf(buf, n, "%02d:%02d", tm.tm_hour, tm.tm_min);
	else
		snprintf(buf, n, "%02d:%02d:%02d", tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Vertical grid over [top, bottom], and labels under bottom when labels. */
static void time_axis(struct buf *b, const struct frame *f, double top, double bottom, bool labels)
{
	int64_t span = f->t1 - f->t0, step = time_step(span);
	int64_t first = f->t0 / step * step;
	if (first < f->t0)
		first += step;
	char lab[48];
	buf_addf(b, "<g font-size=\"11\" fill=\"%s\" text-anchor=\"middle\">\n", C_AXIS);
	for (int64_t t = first; t <= f->t1; t += step) {
		double x = xof(f, t);
		buf_addf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", x, top, x, bottom,
			 C_GRID);
		if (!labels)
			continue;
		buf_addf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>", x, bottom, x,
			 bottom + 4, C_AXIS);
		time_label(t, step, span, lab, sizeof lab);
		buf_addf(b, "<text x=\"%.1f\" y=\"%.1f\">", x, bottom + 16);
		esc(b, lab);
		buf_adds(b, "</text>\n");
	}
	if (labels)
		buf_addf(b, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" font-style=\"italic\">time (UTC)</text>\n",
			 ML + PW, bottom + 30);
	buf_adds(b, "</g>\n");
}

/* Horizontal grid and left labels for a chart; integer ticks when ints. */
static void y_axis(struct buf *b, const struct frame *f, bool ints, const char *caption)
{
	double step = ints ? int_step(f->ymax, 4) : nice_step(f->ymax, 4);
	char lab[32];
	buf_addf(b, "<g font-size=\"11\" fill=\"%s\" text-anchor=\"end\">\n", C_AXIS);
	for (double v = 0; v <= f->ymax * (1 + 1e-9); v += step) {
		double y = yof(f, v);
		buf_addf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"%s\"/>", ML, y, ML + PW, y,
			 C_GRID);
		short_num(v, lab, sizeof lab);
		buf_addf(b, "<text x=\"%d\" y=\"%.1f\">", ML - 6, y + 4);
		esc(b, lab);
		buf_adds(b, "</text>\n");
	}
	buf_addf(b, "<text transform=\"translate(%d %.1f) rotate(-90)\" text-anchor=\"middle\">", 14,
		 f->top + f->h / 2);
	esc(b, caption);
	buf_adds(b, "</text>\n</g>\n");
	buf_addf(b, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%.1f\" fill=\"none\" stroke=\"%s\"/>\n", ML,
		 f->top, PW, f->h, C_AXIS);
}

/* ---- legend ------------------------------------------------------------------- */

static double legend_item(struct buf *b, double x, double y, const char *kind, const char *color, const char *text)
{
	if (!strcmp(kind, "line"))
		buf_addf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>",
			 x, y - 4, x + 18, y - 4, color);
	else if (!strcmp(kind, "dash"))
		buf_addf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/>",
			 x, y - 4, x + 18, y - 4, color);
	else if (!strcmp(kind, "box"))
		buf_addf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"18\" height=\"9\" fill=\"%s\" fill-opacity=\"0.6\"/>", x,
			 y - 9, color);
	else if (!strcmp(kind, "up"))
		buf_addf(b, "<path d=\"M%.1f %.1fl5 -8l5 8z\" fill=\"%s\"/>", x + 4, y, color);
	else
		buf_addf(b, "<path d=\"M%.1f %.1fl5 8l5 -8z\" fill=\"%s\"/>", x + 4, y - 8, color);
	buf_addf(b, "<text x=\"%.1f\" y=\"%.1f\">", x + 24, y);
	esc(b, text);
	buf_adds(b, "</text>\n");
	return x + 24 + 6.6 * (double)strlen(text) + 22;
}

static void excess(double *ex, double *lo, double *hi, const struct frame *f, int64_t t, double demand,
		   double capv)
{
	int c = colof(f, t);
	if (demand - capv > ex[c]) {
		ex[c] = demand - capv;
		lo[c] = capv;
		hi[c] = demand;
	}
}

/* ---- one panel ----------------------------------------------------------------- */

static void panel(struct buf *b, const struct svg_doc *d, const struct svg_panel *p, double top,
		  struct work *w, int idx)
{
	struct series *s = &w->s;
	double *ex = w->ex, *lo = w->lo, *hi = w->hi;
	unsigned char *ev = w->ev;
	const struct sim_summary *sum = p->sum;
	const struct sim_step *st = p->steps;
	const struct trace *tr = d->trace;
	char t1[48];

	/* heading */
	buf_addf(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"14\" font-weight=\"bold\" fill=\"%s\">", ML, top + 16,
		 C_TEXT);
	esc(b, p->name);
	buf_adds(b, "<tspan font-weight=\"normal\" font-size=\"12\" fill=\"#555b61\" dx=\"12\">");
	esc(b, p->pipeline);
	buf_adds(b, "</tspan></text>\n");
	{
		char line[400], g1[32], g2[32], g3[32], g4[32];
		double total = (double)(sum->end_ms - sum->start_ms) / 1000.0;
		grouped((double)sum->scale_events, g1, sizeof g1);
		grouped((double)sum->scale_ups, g2, sizeof g2);
		grouped((double)sum->scale_downs, g3, sizeof g3);
		if (sum->replica_seconds < 360000)
			snprintf(g4, sizeof g4, "%.1f", sum->replica_seconds / 3600.0);
		else
			grouped(sum->replica_seconds / 3600.0, g4, sizeof g4);
		int n = snprintf(line, sizeof line,
				 "%s scale events (%s up, %s down) \xc2\xb7 %s replica-hours \xc2\xb7 mean %.2f, max %d replicas",
				 g1, g2, g3, g4, sum->mean_replicas, sum->max_replicas);
		if (sum->has_capacity && n > 0 && (size_t)n < sizeof line) {
			span((int64_t)llround(sum->underprovisioned_seconds * 1000), t1, sizeof t1);
			grouped(sum->underprovisioned_unit_seconds, g1, sizeof g1);
			snprintf(line + n, sizeof line - (size_t)n,
				 " \xc2\xb7 under-provisioned %s (%.2f%%), %s unit-seconds", t1,
				 total > 0 ? 100.0 * sum->underprovisioned_seconds / total : 0.0, g1);
		}
		buf_addf(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"12\" fill=\"%s\">", ML, top + 33, C_TEXT);
		esc(b, line);
		buf_adds(b, "</text>\n");
	}

	struct frame fm = { sum->start_ms, sum->end_ms, top + PHEAD, MH, 0 };
	struct frame fr = { sum->start_ms, sum->end_ms, top + PHEAD + MH + GAP, RH, 0 };

	/* scales: the metric chart holds raw and served; capacity may be clipped */
	double vmax = 0, cmax = 0;
	for (size_t i = 0; i < tr->n; i++)
		if (tr->ts_ms[i] < sum->end_ms && tr->v[i] > vmax)
			vmax = tr->v[i];
	int32_t rmax = 1;
	bool ready_differs = false;
	for (size_t k = 0; k < sum->steps; k++) {
		if (!isnan(st[k].served) && st[k].served > vmax)
			vmax = st[k].served;
		if (d->has_capacity && st[k].ready * d->capacity > cmax)
			cmax = st[k].ready * d->capacity;
		if (st[k].replicas > rmax)
			rmax = st[k].replicas;
		ready_differs |= st[k].ready != st[k].replicas;
	}
	if (cmax > vmax)
		vmax = cmax < 1.25 * vmax ? cmax : 1.25 * vmax;
	fm.ymax = nice_max(vmax > 0 ? vmax * 1.04 : 1, 4);
	{
		double want = (double)rmax * 1.1 > rmax + 0.5 ? (double)rmax * 1.1 : rmax + 0.5;
		double rs = int_step(want, 4);
		fr.ymax = ceil(want / rs) * rs;
		if (fr.ymax < 2)
			fr.ymax = 2;
	}

	buf_addf(b, "<clipPath id=\"cm%d\"><rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\"/></clipPath>\n", idx,
		 ML, fm.top - 1, PW, MH + 2);
	buf_addf(b, "<clipPath id=\"cr%d\"><rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"%d\"/></clipPath>\n", idx,
		 ML, fr.top - 1, PW, RH + 2);
	time_axis(b, &fm, fm.top, fm.top + fm.h, false);
	time_axis(b, &fr, fr.top, fr.top + fr.h, true);
	y_axis(b, &fm, false, "metric");
	y_axis(b, &fr, true, "replicas");

	/* demand above capacity: per column the largest excess, at the syncs and at the trace's points */
	if (d->has_capacity) {
		for (int i = 0; i < PW; i++)
			ex[i] = 0;
		for (size_t k = 0; k < sum->steps; k++)
			excess(ex, lo, hi, &fm, st[k].t_ms, st[k].raw, st[k].ready * d->capacity);
		size_t i0 = trace_index_at(tr, sum->start_ms);
		for (size_t i = i0 == (size_t)-1 ? 0 : i0 + 1; i < tr->n && tr->ts_ms[i] < sum->end_ms; i++) {
			size_t k = (size_t)((tr->ts_ms[i] - sum->start_ms) / d->sync_ms);
			if (k < sum->steps)
				excess(ex, lo, hi, &fm, tr->ts_ms[i], tr->v[i], st[k].ready * d->capacity);
		}
	}

	buf_addf(b, "<g clip-path=\"url(#cm%d)\">\n", idx);
	col_reset(s);
	{
		/* the raw trace from its own points; the value at t0 first */
		size_t i0 = trace_index_at(tr, sum->start_ms);
		if (i0 != (size_t)-1)
			col_add(s, &fm, sum->start_ms, tr->v[i0]);
		for (size_t i = i0 == (size_t)-1 ? 0 : i0 + 1; i < tr->n && tr->ts_ms[i] < sum->end_ms; i++)
			col_add(s, &fm, tr->ts_ms[i], tr->v[i]);
		path_series(b, s, &fm, C_RAW, 1.0, NULL);
	}
	if (d->has_capacity) {
		col_reset(s);
		for (size_t k = 0; k < sum->steps; k++)
			col_add(s, &fm, st[k].t_ms, st[k].ready * d->capacity);
		path_series(b, s, &fm, C_CAP, 1.6, "stroke-dasharray=\"6 3\"");
	}
	col_reset(s);
	for (size_t k = 0; k < sum->steps; k++)
		col_add(s, &fm, st[k].t_ms, st[k].served);
	path_series(b, s, &fm, C_SERVED, 1.6, NULL);
	buf_adds(b, "</g>\n");

	if (d->has_capacity) {
		buf_addf(b, "<g clip-path=\"url(#cm%d)\" fill=\"%s\" fill-opacity=\"0.7\">", idx, C_UNDER);
		for (int i = 0; i < PW; i++) {
			if (ex[i] <= 0)
				continue;
			double y1 = yof(&fm, hi[i]), y2 = yof(&fm, lo[i]);
			buf_addf(b, "<rect x=\"%d\" y=\"%.1f\" width=\"1\" height=\"%.1f\"/>", ML + i, y1,
				 y2 - y1 < 1 ? 1 : y2 - y1);
		}
		buf_adds(b, "</g>\n");
		/* a strip under the chart marks every column with any shortfall */
		buf_addf(b, "<g fill=\"%s\">", C_UNDER);
		for (int i = 0; i < PW; i++) {
			int j = i;
			while (j < PW && ex[j] > 0)
				j++;
			if (j > i)
				buf_addf(b, "<rect x=\"%d\" y=\"%.1f\" width=\"%d\" height=\"4\"/>", ML + i,
					 fm.top + fm.h - 4, j - i);
			i = j;
		}
		buf_adds(b, "</g>\n");
	}

	/* replicas */
	buf_addf(b, "<g clip-path=\"url(#cr%d)\">\n", idx);
	if (ready_differs) {
		col_reset(s);
		for (size_t k = 0; k < sum->steps; k++)
			col_add(s, &fr, st[k].t_ms, st[k].ready);
		path_series(b, s, &fr, C_READY, 1.2, "stroke-dasharray=\"4 2\"");
	}
	col_reset(s);
	for (size_t k = 0; k < sum->steps; k++)
		col_add(s, &fr, st[k].t_ms, st[k].replicas);
	path_series(b, s, &fr, C_REP, 1.8, NULL);
	buf_adds(b, "</g>\n");

	/* scale events: one mark per column and direction */
	{
		memset(ev, 0, PW);
		for (size_t k = 0; k < sum->steps; k++) {
			int c = colof(&fr, st[k].t_ms);
			if (st[k].change > 0)
				ev[c] |= 1;
			else if (st[k].change < 0)
				ev[c] |= 2;
		}
		double mid = fm.top + fm.h + GAP / 2.0;
		buf_addf(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" fill=\"%s\" text-anchor=\"end\">scaled</text>\n",
			 ML - 6, mid + 3, C_AXIS);
		buf_addf(b, "<g fill=\"%s\">", C_CAP);
		for (int i = 0; i < PW; i++)
			if (ev[i] & 1)
				buf_addf(b, "<path d=\"M%.1f %.1fl-3.5 7h7z\"/>", ML + i + 0.5, mid - 8);
		buf_addf(b, "</g>\n<g fill=\"%s\">", C_UNDER);
		for (int i = 0; i < PW; i++)
			if (ev[i] & 2)
				buf_addf(b, "<path d=\"M%.1f %.1fl-3.5 -7h7z\"/>", ML + i + 0.5, mid + 8);
		buf_adds(b, "</g>\n");
	}
}

void svg_render(struct buf *b, const struct svg_doc *d)
{
	const double height = HEAD + (double)d->npanels * (PANEL + PSPACE);
	struct work *s = malloc(sizeof *s);
	char a[48], z[48];

	if (!s) {
		b->failed = true;
		return;
	}
	buf_adds(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
	buf_addf(b,
		 "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" viewBox=\"0 0 %d %.0f\" font-family=\"%s\">\n",
		 W, height, W, height, FONT);
	buf_adds(b, "<title>");
	esc(b, d->title);
	buf_adds(b, "</title>\n");
	buf_addf(b, "<rect width=\"%d\" height=\"%.0f\" fill=\"#ffffff\"/>\n", W, height);
	buf_addf(b, "<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\" fill=\"%s\">", ML, C_TEXT);
	esc(b, d->title);
	buf_adds(b, "</text>\n");
	if (d->npanels && d->panels[0].sum) {
		trace_format_time(d->panels[0].sum->start_ms, a, sizeof a);
		trace_format_time(d->panels[0].sum->end_ms, z, sizeof z);
	} else {
		a[0] = z[0] = 0;
	}
	buf_addf(b, "<text x=\"%d\" y=\"43\" font-size=\"12\" fill=\"%s\">", ML, C_AXIS);
	esc(b, a);
	buf_adds(b, " .. ");
	esc(b, z);
	if (d->subtitle) {
		buf_adds(b, " \xc2\xb7 ");
		esc(b, d->subtitle);
	}
	buf_adds(b, "</text>\n");
	if (d->subtitle2) {
		buf_addf(b, "<text x=\"%d\" y=\"60\" font-size=\"12\" fill=\"%s\">", ML, C_AXIS);
		esc(b, d->subtitle2);
		buf_adds(b, "</text>\n");
	}
	bool any_unready = false;
	for (size_t i = 0; i < d->npanels; i++)
		for (size_t k = 0; k < d->panels[i].sum->steps && !any_unready; k++)
			any_unready = d->panels[i].steps[k].ready != d->panels[i].steps[k].replicas;

	buf_addf(b, "<g font-size=\"12\" fill=\"%s\">\n", C_TEXT);
	double x = ML;
	x = legend_item(b, x, 84, "line", C_RAW, "demand (raw trace)");
	x = legend_item(b, x, 84, "line", C_SERVED, "served to the HPA");
	if (d->has_capacity) {
		char cap[64], capn[32];
		short_num(d->capacity, capn, sizeof capn);
		snprintf(cap, sizeof cap, "capacity (ready \xc3\x97 %s)", capn);
		x = legend_item(b, x, 84, "dash", C_CAP, cap);
		x = legend_item(b, x, 84, "box", C_UNDER, "demand above capacity");
	}
	x = ML;
	x = legend_item(b, x, 101, "line", C_REP, "replicas");
	if (any_unready)
		x = legend_item(b, x, 101, "dash", C_READY, "ready replicas");
	x = legend_item(b, x, 101, "up", C_CAP, "scale-up");
	(void)legend_item(b, x, 101, "down", C_UNDER, "scale-down");
	buf_adds(b, "</g>\n");

	for (size_t i = 0; i < d->npanels; i++)
		panel(b, d, &d->panels[i], HEAD + (double)i * (PANEL + PSPACE) + 8, s, (int)i);
	buf_adds(b, "</svg>\n");
	free(s);
}
