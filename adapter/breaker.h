/*
 * breaker.h — a per-source circuit breaker, pure (time is an argument):
 * closed → (after `threshold` consecutive failures) open for a backoff that
 * doubles each time it reopens, up to max → half-open: one probe is let
 * through; its success closes the breaker and resets the backoff, its failure
 * opens it again. Not thread-safe: the poller guards it with the source lock.
 */
#ifndef SW_BREAKER_H
#define SW_BREAKER_H

#include <stdbool.h>
#include <stdint.h>

enum breaker_state { BREAKER_CLOSED, BREAKER_OPEN, BREAKER_HALF_OPEN };

struct breaker {
	enum breaker_state state;
	int failures;            /* consecutive */
	int threshold;           /* failures that open it (default 3) */
	int64_t backoff_ms;      /* current open period */
	int64_t min_backoff_ms;  /* default 1 s */
	int64_t max_backoff_ms;  /* default 60 s */
	int64_t open_until_ms;
	bool probing;            /* half-open: the probe is out */
	uint64_t transitions;
};

void breaker_init(struct breaker *b);
/* May a fetch go out now? Moves open → half-open when the backoff is over and
 * then lets exactly one probe through. */
bool breaker_allow(struct breaker *b, int64_t now_ms);
/* Reports a fetch's outcome. Returns true when the state changed. */
bool breaker_record(struct breaker *b, bool ok, int64_t now_ms);
const char *breaker_state_name(enum breaker_state s);

#endif
