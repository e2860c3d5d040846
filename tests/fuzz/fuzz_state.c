/*
 * fuzz_state.c — libFuzzer target for saved state (adapter/pipeline.c
 * pipeline_state_load, adapter/statefile.c statefile_read): a --state-file is
 * outside input, and a blob in it may be truncated, corrupt, of another
 * version or shape, or crafted.
 *
 * data[0] picks one of five pipeline shapes (none; mean + down; max + up +
 * down; median; ema) and how the rest is used:
 *   0  the bytes as a blob, as they are (mostly refused at the magic or CRC);
 *   1  the bytes after a valid version 2 header of the shape, with the
 *      length and the CRC made right, so the parser's body is reached;
 *   2  the same under a version 1 header (no carries);
 *   3  a valid blob of the shape after data[1] samples, with the rest read as
 *      (u16 offset, byte) edits, the CRC made right: near-misses of real ones;
 *   4  the bytes as the records of a state file, magic, version and checksum
 *      made right, read back by statefile_read from a temporary file.
 * A blob that is refused must leave the state exactly as it was and say why;
 * one that loads must be served, stepped, saved and loaded again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pipeline.h"
#include "statefile.h"
#include "hash.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER 61 /* "SWPL", version, length, then the shape: u8 + 6 x 8 bytes */

static void shape_cfg(unsigned k, struct pipeline_cfg *c)
{
	pipeline_cfg_init(c);
	c->interval_ms = 1000;
	switch (k) {
	case 1:
		c->method = SMOOTH_MEAN;
		c->window_ms = 10000;
		c->down_ms = 30000;
		break;
	case 2:
		c->method = SMOOTH_MAX;
		c->window_ms = 10000;
		c->up_ms = 5000;
		c->down_ms = 20000;
		break;
	case 3:
		c->method = SMOOTH_MEDIAN;
		c->window_ms = 10000;
		break;
	case 4:
		c->method = SMOOTH_EMA;
		c->half_life_ms = 5000;
		break;
	default:
		break;
	}
}

static void put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

/* Sets the length field and the trailing CRC of a blob of n bytes. */
static void blob_seal(unsigned char *b, size_t n)
{
	put32(b + 8, (uint32_t)n);
	put32(b + n - 4, sw_crc32(b, n - 4));
}

/* A state of cfg after k samples (a failure on every seventh), saved. */
static struct pipeline_state *state_after(const struct pipeline_cfg *c, unsigned k)
{
	struct pipeline_state *st = pipeline_state_new(c);
	if (!st)
		abort();
	for (unsigned i = 0; i < k; i++) {
		int64_t t = 1714521600000 + (int64_t)i * 1000;
		if (i % 7 == 6)
			pipeline_fail(c, st, "connection refused", t);
		else
			pipeline_step(c, st, (double)((i * 37) % 101), t, t);
	}
	return st;
}

static unsigned char *saved(const struct pipeline_state *st, const struct pipeline_cfg *c, size_t *len)
{
	unsigned char *b = NULL;
	if (pipeline_state_save(st, c, &b, len))
		abort();
	return b;
}

/* Loads blob into a state that already holds samples; checks what the
 * contract promises on either outcome. */
static void try_blob(const struct pipeline_cfg *c, const unsigned char *blob, size_t len)
{
	struct pipeline_state *st = state_after(c, 5);
	size_t before_len, after_len;
	unsigned char *before = saved(st, c, &before_len);
	char err[400] = "";
	if (pipeline_state_load(st, c, blob, len, err, sizeof err)) {
		unsigned char *after = saved(st, c, &after_len);
		if (!err[0] || after_len != before_len || memcmp(before, after, before_len))
			abort(); /* refused without a message, or st was changed */
		free(after);
	} else {
		struct pipeline_out out;
		pipeline_served(c, st, 1714521700000, &out);
		unsigned char *again = saved(st, c, &after_len);
		struct pipeline_state *st2 = pipeline_state_new(c);
		if (!st2 || pipeline_state_load(st2, c, again, after_len, err, sizeof err))
			abort(); /* what load accepted, saved, must load */
		pipeline_step(c, st2, 42, 1714521700000, 1714521700000);
		pipeline_served(c, st2, 1714521700000, &out);
		pipeline_state_free(st2);
		free(again);
	}
	free(before);
	pipeline_state_free(st);
}

/* A valid header of cfg's shape in version v, taken from a real save. */
static void header_of(const struct pipeline_cfg *c, unsigned v, unsigned char *h)
{
	struct pipeline_state *st = pipeline_state_new(c);
	size_t len;
	unsigned char *b = saved(st, c, &len);
	if (len < HEADER)
		abort();
	memcpy(h, b, HEADER);
	put32(h + 4, v);
	free(b);
	pipeline_state_free(st);
}

/* The bytes as a state file's records, read back from a temporary file. */
static void try_statefile(const struct pipeline_cfg *c, const uint8_t *d, size_t n)
{
	static char path[512];
	if (!path[0]) {
		const char *dir = getenv("TMPDIR");
		snprintf(path, sizeof path, "%s/fuzz_state.%ld", dir && *dir ? dir : "/tmp", (long)getpid());
	}
	size_t len = 12 + n + 8;
	unsigned char *f = malloc(len);
	if (!f)
		abort();
	memcpy(f, "SWSTATE1", 8);
	put32(f + 8, 1);
	if (n)
		memcpy(f + 12, d, n);
	uint64_t h = sw_fnv1a64(f, len - 8);
	put32(f + len - 8, (uint32_t)h);
	put32(f + len - 4, (uint32_t)(h >> 32));
	FILE *fp = fopen(path, "wb");
	if (!fp || fwrite(f, 1, len, fp) != len || fclose(fp))
		abort();
	free(f);
	char err[400] = "";
	struct statefile *sf = statefile_read(path, err, sizeof err);
	unlink(path);
	if (!sf) {
		if (!err[0])
			abort();
		return;
	}
	statefile_count(sf);
	statefile_has(sf, "m", "", "");
	size_t blen = 0;
	const unsigned char *blob = statefile_find(sf, "m", "", "", "", &blen);
	if (blob)
		try_blob(c, blob, blen);
	statefile_free(sf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct pipeline_cfg c;
	shape_cfg(data[0] % 5, &c);
	char why[200];
	if (pipeline_cfg_validate(&c, why, sizeof why))
		abort();
	unsigned mode = (data[0] / 5) % 5;
	const uint8_t *d = data + 1;
	size_t n = size - 1;

	if (mode == 0) {
		try_blob(&c, d, n);
	} else if (mode == 1 || mode == 2) {
		unsigned char *b = malloc(HEADER + n + 4);
		if (!b)
			abort();
		header_of(&c, mode == 1 ? 2 : 1, b);
		if (n)
			memcpy(b + HEADER, d, n);
		blob_seal(b, HEADER + n + 4);
		try_blob(&c, b, HEADER + n + 4);
		free(b);
	} else if (mode == 3) {
		if (n < 1)
			return 0;
		struct pipeline_state *st = state_after(&c, d[0]);
		size_t len;
		unsigned char *b = saved(st, &c, &len);
		pipeline_state_free(st);
		for (size_t i = 1; i + 3 <= n; i += 3) {
			size_t at = ((size_t)d[i] | (size_t)d[i + 1] << 8) % (len - 4);
			b[at] = d[i + 2];
		}
		put32(b + len - 4, sw_crc32(b, len - 4));
		try_blob(&c, b, len);
		free(b);
	} else {
		try_statefile(&c, d, n);
	}
	return 0;
}
