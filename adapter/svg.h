/*
 * svg.h — the picture of a `scalewise simulate` run: one self-contained SVG
 * (no scripts, no external fonts or images) with one panel per simulated
 * metric. Each panel has two charts on a shared UTC time axis:
 *   - the metric: raw demand (grey), the served value (blue), the capacity
 *     of the ready replicas (green, dashed) and the spans where demand
 *     exceeded capacity (red shading);
 *   - replicas: the replica count (orange), ready replicas when they differ
 *     (dashed), scale-ups (green marks above) and scale-downs (red below).
 * Long runs are drawn per pixel column (first, min, max, last of each
 * column), so a month of 15 s steps stays a few hundred KB and keeps every
 * spike visible.
 */
#ifndef SW_SVG_H
#define SW_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jsonw.h"
#include "simulate.h"
#include "trace.h"

struct svg_panel {
	const char *name;                /* the metric's name */
	const char *pipeline;            /* sim_describe_pipeline() text */
	const struct sim_step *steps;    /* sum->steps entries */
	const struct sim_summary *sum;
};

struct svg_doc {
	const char *title;               /* first heading line */
	const char *subtitle;            /* second line, after the time range (the HPA); may be NULL */
	const char *subtitle2;           /* third line (the workload); may be NULL */
	const struct trace *trace;       /* the raw demand, drawn from its points */
	bool has_capacity;
	double capacity;                 /* per ready replica */
	int64_t sync_ms;
	const struct svg_panel *panels;
	size_t npanels;
};

/*
 * Appends the whole SVG document to b (which should have a cap of at least
 * a few MB; b->failed tells when it was hit). Text is XML-escaped. Pure:
 * no I/O, no clock.
 */
void svg_render(struct buf *b, const struct svg_doc *d);

#endif
