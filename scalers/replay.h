/*
 * replay.h — the replay scaler (source `type: replay`): serves a recorded
 * trace (adapter/trace.h: a Prometheus range-query answer or CSV) as a live
 * metric, shifted in time so that the trace starts when the source starts.
 *
 * Source params:
 *   path     the trace file (required; relative paths are relative to the
 *            working directory, as every path in the config)
 *   series   which series of a JSON trace (trace.h: "", "N" or 'k="v",...');
 *            default: all, summed
 *   speed    trace time per wall time (10: ten times faster); default 1
 *   loop     start over after the end; default false
 *   offset   trace time skipped at the start (start 2h into the recording);
 *            default 0s
 * Metric params:
 *   series   overrides the source's, so metrics can share one recording
 * No `query:`. One sample without labels.
 *
 * The clock: the replay starts at the source's first successful poll after
 * it is opened (every config load opens sources anew, so a reload restarts
 * the replay). At wall time t the trace position is
 *     first + offset + (t - start) * speed
 * and the value served is the last trace point at or before that position,
 * stamped with the wall time at which that point was replayed. Every point
 * holds until the next; the last one holds for the trace's mean spacing
 * ((last - first) / (n - 1)), and that is where the trace ends. Then, with
 * loop, it starts over from its first point (offset applies only once, at
 * the start); without loop every poll fails with an answer error "trace
 * ended at <wall time> ...", so the metric's onError policy applies. A trace
 * of one point serves that point for ever.
 *
 * The file is read on the first poll that needs it (not re-read while the
 * source lives), and by `scalewise check` to report a bad file at load.
 */
#ifndef SW_REPLAY_H
#define SW_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "scaler.h"
#include "trace.h"

#define REPLAY_MAX_TRACES 16 /* distinct series selections per source */

extern const struct sw_scaler_type scaler_replay;

/* Where a replay stands at a wall time; pure, for the scaler and tests. */
struct replay_pos {
	bool ended;          /* past the end without loop */
	size_t index;        /* the trace point served (when !ended) */
	int64_t point_wall_ms; /* the wall time at which that point was replayed */
	int64_t end_wall_ms; /* when the replay ends (or ended); INT64_MAX if never */
	uint64_t round;      /* completed loops */
};

/* The position of a replay of tr started at start_ms, at now_ms. tr has
 * at least one point; speed > 0; offset_ms >= 0. */
void replay_locate(const struct trace *tr, double speed, bool loop, int64_t offset_ms, int64_t start_ms,
		   int64_t now_ms, struct replay_pos *out);

#endif
