/*
 * breaker.c — circuit breaker.
 */
#include "breaker.h"

void breaker_init(struct breaker *b)
{
	*b = (struct breaker){
		.state = BREAKER_CLOSED,
		.threshold = 3,
		.min_backoff_ms = 1000,
		.max_backoff_ms = 60000,
	};
	b->backoff_ms = b->min_backoff_ms;
}

bool breaker_allow(struct breaker *b, int64_t now_ms)
{
	switch (b->state) {
	case BREAKER_CLOSED:
		return true;
	case BREAKER_OPEN:
		if (now_ms < b->open_until_ms)
			return false;
		b->state = BREAKER_HALF_OPEN;
		b->transitions++;
		b->probing = true;
		return true;
	case BREAKER_HALF_OPEN:
		if (b->probing)
			return false;
		b->probing = true;
		return true;
	}
	return true;
}

static void open_it(struct breaker *b, int64_t now_ms)
{
	b->state = BREAKER_OPEN;
	b->open_until_ms = now_ms + b->backoff_ms;
	b->probing = false;
	b->transitions++;
}

bool breaker_record(struct breaker *b, bool ok, int64_t now_ms)
{
	enum breaker_state before = b->state;
	if (ok) {
		b->failures = 0;
		b->backoff_ms = b->min_backoff_ms;
		b->probing = false;
		if (b->state != BREAKER_CLOSED) {
			b->state = BREAKER_CLOSED;
			b->transitions++;
		}
		return before != b->state;
	}
	b->failures++;
	if (b->state == BREAKER_HALF_OPEN) {
		b->backoff_ms = b->backoff_ms * 2 > b->max_backoff_ms ? b->max_backoff_ms : b->backoff_ms * 2;
		open_it(b, now_ms);
	} else if (b->state == BREAKER_CLOSED && b->failures >= b->threshold) {
		open_it(b, now_ms);
	}
	return before != b->state;
}

const char *breaker_state_name(enum breaker_state s)
{
	switch (s) {
	case BREAKER_CLOSED: return "closed";
	case BREAKER_OPEN: return "open";
	case BREAKER_HALF_OPEN: return "half-open";
	}
	return "?";
}
