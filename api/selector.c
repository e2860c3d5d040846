/*
 * selector.c — Kubernetes label selectors (see selector.h).
 *
 * The behaviour follows kubernetes/apimachinery pkg/labels/selector.go at
 * the ref named in K8S-WIRE.md, re-implemented here:
 *   - the lexer reads bytes and treats a NUL byte as Go's read() does (as
 *     end of input), matches the operators longest-first and makes
 *     identifiers of every other run of bytes;
 *   - the parser is Go's recursive descent over the scanned tokens, with
 *     its lookahead quirks and its error texts;
 *   - NewRequirement's checks produce field.ErrorList texts (paths, %q
 *     values, JSON for slices, "[a, b]" aggregates);
 *   - requirements are ordered by Go's sort.Sort (pdqsort), so that equal
 *     keys end up where Go puts them.
 */
#include "selector.h"
#include "names.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Output buffer: snprintf-style, the full length is always counted     */

struct ebuf {
	char *p;
	size_t cap;
	size_t len;
};

static void eb_init(struct ebuf *b, char *p, size_t cap)
{
	b->p = p;
	b->cap = p ? cap : 0;
	b->len = 0;
	if (b->cap > 0)
		b->p[0] = '\0';
}

static void eb_reset(struct ebuf *b)
{
	b->len = 0;
	if (b->cap > 0)
		b->p[0] = '\0';
}

static void eb_put(struct ebuf *b, const char *s, size_t n)
{
	if (b->len + 1 < b->cap) {
		size_t room = b->cap - 1 - b->len;
		size_t k = n < room ? n : room;
		memcpy(b->p + b->len, s, k);
		b->p[b->len + k] = '\0';
	}
	b->len += n;
}

static void eb_puts(struct ebuf *b, const char *s)
{
	eb_put(b, s, strlen(s));
}

static void eb_putc(struct ebuf *b, char c)
{
	eb_put(b, &c, 1);
}

static void eb_putzu(struct ebuf *b, size_t v)
{
	char tmp[32];
	int k = snprintf(tmp, sizeof tmp, "%zu", v);
	if (k > 0)
		eb_put(b, tmp, (size_t)k);
}

static void eb_hex(struct ebuf *b, const char *prefix, uint32_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";
	char tmp[8];

	eb_puts(b, prefix);
	for (int i = 0; i < digits; i++)
		tmp[i] = hex[(v >> (4 * (digits - 1 - i))) & 0xf];
	eb_put(b, tmp, (size_t)digits);
}

/* Appends one of names.h's message lists straight into the buffer. */
static void eb_name_errors(struct ebuf *b, size_t (*fn)(const char *, size_t, char *, size_t),
			   const char *s, size_t n)
{
	char *dst = NULL;
	size_t room = 0;

	if (b->len + 1 < b->cap) {
		dst = b->p + b->len;
		room = b->cap - b->len;
	}
	b->len += fn(s, n, dst, room);
}

/* ------------------------------------------------------------------ */
/* Go string formatting: UTF-8 decoding, %q, encoding/json strings      */

/*
 * Decodes the rune at s[0..n), n > 0, as Go's utf8.DecodeRune does:
 * returns its width, with *r = -1 for an invalid or incomplete sequence
 * (width 1 then).
 */
static size_t utf8_decode(const unsigned char *s, size_t n, int32_t *r)
{
	unsigned char c = s[0];
	unsigned char lo = 0x80, hi = 0xbf;
	size_t w;
	int32_t v;

	if (c < 0x80) {
		*r = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		w = 2;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		w = 3;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		w = 4;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		*r = -1;
		return 1;
	}
	if (n < w || s[1] < lo || s[1] > hi) {
		*r = -1;
		return 1;
	}
	v = (v << 6) | (s[1] & 0x3f);
	for (size_t i = 2; i < w; i++) {
		if (s[i] < 0x80 || s[i] > 0xbf) {
			*r = -1;
			return 1;
		}
		v = (v << 6) | (s[i] & 0x3f);
	}
	*r = v;
	return w;
}

/*
 * Code points ≥ U+0100 that Go's strconv.IsPrint accepts: the general
 * categories L, M, N, P and S of Unicode 15.0 (Go 1.21 and later), as
 * inclusive ranges. Generated from Debian's unicode-data 15.0.0
 * UnicodeData.txt.
 */
static const uint32_t print_ranges[][2] = {
	{0x00100, 0x00377}, {0x0037a, 0x0037f}, {0x00384, 0x0038a}, {0x0038c, 0x0038c},
	{0x0038e, 0x003a1}, {0x003a3, 0x0052f}, {0x00531, 0x00556}, {0x00559, 0x0058a},
	{0x0058d, 0x0058f}, {0x00591, 0x005c7}, {0x005d0, 0x005ea}, {0x005ef, 0x005f4},
	{0x00606, 0x0061b}, {0x0061d, 0x006dc}, {0x006de, 0x0070d}, {0x00710, 0x0074a},
	{0x0074d, 0x007b1}, {0x007c0, 0x007fa}, {0x007fd, 0x0082d}, {0x00830, 0x0083e},
	{0x00840, 0x0085b}, {0x0085e, 0x0085e}, {0x00860, 0x0086a}, {0x00870, 0x0088e},
	{0x00898, 0x008e1}, {0x008e3, 0x00983}, {0x00985, 0x0098c}, {0x0098f, 0x00990},
	{0x00993, 0x009a8}, {0x009aa, 0x009b0}, {0x009b2, 0x009b2}, {0x009b6, 0x009b9},
	{0x009bc, 0x009c4}, {0x009c7, 0x009c8}, {0x009cb, 0x009ce}, {0x009d7, 0x009d7},
	{0x009dc, 0x009dd}, {0x009df, 0x009e3}, {0x009e6, 0x009fe}, {0x00a01, 0x00a03},
	{0x00a05, 0x00a0a}, {0x00a0f, 0x00a10}, {0x00a13, 0x00a28}, {0x00a2a, 0x00a30},
	{0x00a32, 0x00a33}, {0x00a35, 0x00a36}, {0x00a38, 0x00a39}, {0x00a3c, 0x00a3c},
	{0x00a3e, 0x00a42}, {0x00a47, 0x00a48}, {0x00a4b, 0x00a4d}, {0x00a51, 0x00a51},
	{0x00a59, 0x00a5c}, {0x00a5e, 0x00a5e}, {0x00a66, 0x00a76}, {0x00a81, 0x00a83},
	{0x00a85, 0x00a8d}, {0x00a8f, 0x00a91}, {0x00a93, 0x00aa8}, {0x00aaa, 0x00ab0},
	{0x00ab2, 0x00ab3}, {0x00ab5, 0x00ab9}, {0x00abc, 0x00ac5}, {0x00ac7, 0x00ac9},
	{0x00acb, 0x00acd}, {0x00ad0, 0x00ad0}, {0x00ae0, 0x00ae3}, {0x00ae6, 0x00af1},
	{0x00af9, 0x00aff}, {0x00b01, 0x00b03}, {0x00b05, 0x00b0c}, {0x00b0f, 0x00b10},
	{0x00b13, 0x00b28}, {0x00b2a, 0x00b30}, {0x00b32, 0x00b33}, {0x00b35, 0x00b39},
	{0x00b3c, 0x00b44}, {0x00b47, 0x00b48}, {0x00b4b, 0x00b4d}, {0x00b55, 0x00b57},
	{0x00b5c, 0x00b5d}, {0x00b5f, 0x00b63}, {0x00b66, 0x00b77}, {0x00b82, 0x00b83},
	{0x00b85, 0x00b8a}, {0x00b8e, 0x00b90}, {0x00b92, 0x00b95}, {0x00b99, 0x00b9a},
	{0x00b9c, 0x00b9c}, {0x00b9e, 0x00b9f}, {0x00ba3, 0x00ba4}, {0x00ba8, 0x00baa},
	{0x00bae, 0x00bb9}, {0x00bbe, 0x00bc2}, {0x00bc6, 0x00bc8}, {0x00bca, 0x00bcd},
	{0x00bd0, 0x00bd0}, {0x00bd7, 0x00bd7}, {0x00be6, 0x00bfa}, {0x00c00, 0x00c0c},
	{0x00c0e, 0x00c10}, {0x00c12, 0x00c28}, {0x00c2a, 0x00c39}, {0x00c3c, 0x00c44},
	{0x00c46, 0x00c48}, {0x00c4a, 0x00c4d}, {0x00c55, 0x00c56}, {0x00c58, 0x00c5a},
	{0x00c5d, 0x00c5d}, {0x00c60, 0x00c63}, {0x00c66, 0x00c6f}, {0x00c77, 0x00c8c},
	{0x00c8e, 0x00c90}, {0x00c92, 0x00ca8}, {0x00caa, 0x00cb3}, {0x00cb5, 0x00cb9},
	{0x00cbc, 0x00cc4}, {0x00cc6, 0x00cc8}, {0x00cca, 0x00ccd}, {0x00cd5, 0x00cd6},
	{0x00cdd, 0x00cde}, {0x00ce0, 0x00ce3}, {0x00ce6, 0x00cef}, {0x00cf1, 0x00cf3},
	{0x00d00, 0x00d0c}, {0x00d0e, 0x00d10}, {0x00d12, 0x00d44}, {0x00d46, 0x00d48},
	{0x00d4a, 0x00d4f}, {0x00d54, 0x00d63}, {0x00d66, 0x00d7f}, {0x00d81, 0x00d83},
	{0x00d85, 0x00d96}, {0x00d9a, 0x00db1}, {0x00db3, 0x00dbb}, {0x00dbd, 0x00dbd},
	{0x00dc0, 0x00dc6}, {0x00dca, 0x00dca}, {0x00dcf, 0x00dd4}, {0x00dd6, 0x00dd6},
	{0x00dd8, 0x00ddf}, {0x00de6, 0x00def}, {0x00df2, 0x00df4}, {0x00e01, 0x00e3a},
	{0x00e3f, 0x00e5b}, {0x00e81, 0x00e82}, {0x00e84, 0x00e84}, {0x00e86, 0x00e8a},
	{0x00e8c, 0x00ea3}, {0x00ea5, 0x00ea5}, {0x00ea7, 0x00ebd}, {0x00ec0, 0x00ec4},
	{0x00ec6, 0x00ec6}, {0x00ec8, 0x00ece}, {0x00ed0, 0x00ed9}, {0x00edc, 0x00edf},
	{0x00f00, 0x00f47}, {0x00f49, 0x00f6c}, {0x00f71, 0x00f97}, {0x00f99, 0x00fbc},
	{0x00fbe, 0x00fcc}, {0x00fce, 0x00fda}, {0x01000, 0x010c5}, {0x010c7, 0x010c7},
	{0x010cd, 0x010cd}, {0x010d0, 0x01248}, {0x0124a, 0x0124d}, {0x01250, 0x01256},
	{0x01258, 0x01258}, {0x0125a, 0x0125d}, {0x01260, 0x01288}, {0x0128a, 0x0128d},
	{0x01290, 0x012b0}, {0x012b2, 0x012b5}, {0x012b8, 0x012be}, {0x012c0, 0x012c0},
	{0x012c2, 0x012c5}, {0x012c8, 0x012d6}, {0x012d8, 0x01310}, {0x01312, 0x01315},
	{0x01318, 0x0135a}, {0x0135d, 0x0137c}, {0x01380, 0x01399}, {0x013a0, 0x013f5},
	{0x013f8, 0x013fd}, {0x01400, 0x0167f}, {0x01681, 0x0169c}, {0x016a0, 0x016f8},
	{0x01700, 0x01715}, {0x0171f, 0x01736}, {0x01740, 0x01753}, {0x01760, 0x0176c},
	{0x0176e, 0x01770}, {0x01772, 0x01773}, {0x01780, 0x017dd}, {0x017e0, 0x017e9},
	{0x017f0, 0x017f9}, {0x01800, 0x0180d}, {0x0180f, 0x01819}, {0x01820, 0x01878},
	{0x01880, 0x018aa}, {0x018b0, 0x018f5}, {0x01900, 0x0191e}, {0x01920, 0x0192b},
	{0x01930, 0x0193b}, {0x01940, 0x01940}, {0x01944, 0x0196d}, {0x01970, 0x01974},
	{0x01980, 0x019ab}, {0x019b0, 0x019c9}, {0x019d0, 0x019da}, {0x019de, 0x01a1b},
	{0x01a1e, 0x01a5e}, {0x01a60, 0x01a7c}, {0x01a7f, 0x01a89}, {0x01a90, 0x01a99},
	{0x01aa0, 0x01aad}, {0x01ab0, 0x01ace}, {0x01b00, 0x01b4c}, {0x01b50, 0x01b7e},
	{0x01b80, 0x01bf3}, {0x01bfc, 0x01c37}, {0x01c3b, 0x01c49}, {0x01c4d, 0x01c88},
	{0x01c90, 0x01cba}, {0x01cbd, 0x01cc7}, {0x01cd0, 0x01cfa}, {0x01d00, 0x01f15},
	{0x01f18, 0x01f1d}, {0x01f20, 0x01f45}, {0x01f48, 0x01f4d}, {0x01f50, 0x01f57},
	{0x01f59, 0x01f59}, {0x01f5b, 0x01f5b}, {0x01f5d, 0x01f5d}, {0x01f5f, 0x01f7d},
	{0x01f80, 0x01fb4}, {0x01fb6, 0x01fc4}, {0x01fc6, 0x01fd3}, {0x01fd6, 0x01fdb},
	{0x01fdd, 0x01fef}, {0x01ff2, 0x01ff4}, {0x01ff6, 0x01ffe}, {0x02010, 0x02027},
	{0x02030, 0x0205e}, {0x02070, 0x02071}, {0x02074, 0x0208e}, {0x02090, 0x0209c},
	{0x020a0, 0x020c0}, {0x020d0, 0x020f0}, {0x02100, 0x0218b}, {0x02190, 0x02426},
	{0x02440, 0x0244a}, {0x02460, 0x02b73}, {0x02b76, 0x02b95}, {0x02b97, 0x02cf3},
	{0x02cf9, 0x02d25}, {0x02d27, 0x02d27}, {0x02d2d, 0x02d2d}, {0x02d30, 0x02d67},
	{0x02d6f, 0x02d70}, {0x02d7f, 0x02d96}, {0x02da0, 0x02da6}, {0x02da8, 0x02dae},
	{0x02db0, 0x02db6}, {0x02db8, 0x02dbe}, {0x02dc0, 0x02dc6}, {0x02dc8, 0x02dce},
	{0x02dd0, 0x02dd6}, {0x02dd8, 0x02dde}, {0x02de0, 0x02e5d}, {0x02e80, 0x02e99},
	{0x02e9b, 0x02ef3}, {0x02f00, 0x02fd5}, {0x02ff0, 0x02ffb}, {0x03001, 0x0303f},
	{0x03041, 0x03096}, {0x03099, 0x030ff}, {0x03105, 0x0312f}, {0x03131, 0x0318e},
	{0x03190, 0x031e3}, {0x031f0, 0x0321e}, {0x03220, 0x0a48c}, {0x0a490, 0x0a4c6},
	{0x0a4d0, 0x0a62b}, {0x0a640, 0x0a6f7}, {0x0a700, 0x0a7ca}, {0x0a7d0, 0x0a7d1},
	{0x0a7d3, 0x0a7d3}, {0x0a7d5, 0x0a7d9}, {0x0a7f2, 0x0a82c}, {0x0a830, 0x0a839},
	{0x0a840, 0x0a877}, {0x0a880, 0x0a8c5}, {0x0a8ce, 0x0a8d9}, {0x0a8e0, 0x0a953},
	{0x0a95f, 0x0a97c}, {0x0a980, 0x0a9cd}, {0x0a9cf, 0x0a9d9}, {0x0a9de, 0x0a9fe},
	{0x0aa00, 0x0aa36}, {0x0aa40, 0x0aa4d}, {0x0aa50, 0x0aa59}, {0x0aa5c, 0x0aac2},
	{0x0aadb, 0x0aaf6}, {0x0ab01, 0x0ab06}, {0x0ab09, 0x0ab0e}, {0x0ab11, 0x0ab16},
	{0x0ab20, 0x0ab26}, {0x0ab28, 0x0ab2e}, {0x0ab30, 0x0ab6b}, {0x0ab70, 0x0abed},
	{0x0abf0, 0x0abf9}, {0x0ac00, 0x0d7a3}, {0x0d7b0, 0x0d7c6}, {0x0d7cb, 0x0d7fb},
	{0x0f900, 0x0fa6d}, {0x0fa70, 0x0fad9}, {0x0fb00, 0x0fb06}, {0x0fb13, 0x0fb17},
	{0x0fb1d, 0x0fb36}, {0x0fb38, 0x0fb3c}, {0x0fb3e, 0x0fb3e}, {0x0fb40, 0x0fb41},
	{0x0fb43, 0x0fb44}, {0x0fb46, 0x0fbc2}, {0x0fbd3, 0x0fd8f}, {0x0fd92, 0x0fdc7},
	{0x0fdcf, 0x0fdcf}, {0x0fdf0, 0x0fe19}, {0x0fe20, 0x0fe52}, {0x0fe54, 0x0fe66},
	{0x0fe68, 0x0fe6b}, {0x0fe70, 0x0fe74}, {0x0fe76, 0x0fefc}, {0x0ff01, 0x0ffbe},
	{0x0ffc2, 0x0ffc7}, {0x0ffca, 0x0ffcf}, {0x0ffd2, 0x0ffd7}, {0x0ffda, 0x0ffdc},
	{0x0ffe0, 0x0ffe6}, {0x0ffe8, 0x0ffee}, {0x0fffc, 0x0fffd}, {0x10000, 0x1000b},
	{0x1000d, 0x10026}, {0x10028, 0x1003a}, {0x1003c, 0x1003d}, {0x1003f, 0x1004d},
	{0x10050, 0x1005d}, {0x10080, 0x100fa}, {0x10100, 0x10102}, {0x10107, 0x10133},
	{0x10137, 0x1018e}, {0x10190, 0x1019c}, {0x101a0, 0x101a0}, {0x101d0, 0x101fd},
	{0x10280, 0x1029c}, {0x102a0, 0x102d0}, {0x102e0, 0x102fb}, {0x10300, 0x10323},
	{0x1032d, 0x1034a}, {0x10350, 0x1037a}, {0x10380, 0x1039d}, {0x1039f, 0x103c3},
	{0x103c8, 0x103d5}, {0x10400, 0x1049d}, {0x104a0, 0x104a9}, {0x104b0, 0x104d3},
	{0x104d8, 0x104fb}, {0x10500, 0x10527}, {0x10530, 0x10563}, {0x1056f, 0x1057a},
	{0x1057c, 0x1058a}, {0x1058c, 0x10592}, {0x10594, 0x10595}, {0x10597, 0x105a1},
	{0x105a3, 0x105b1}, {0x105b3, 0x105b9}, {0x105bb, 0x105bc}, {0x10600, 0x10736},
	{0x10740, 0x10755}, {0x10760, 0x10767}, {0x10780, 0x10785}, {0x10787, 0x107b0},
	{0x107b2, 0x107ba}, {0x10800, 0x10805}, {0x10808, 0x10808}, {0x1080a, 0x10835},
	{0x10837, 0x10838}, {0x1083c, 0x1083c}, {0x1083f, 0x10855}, {0x10857, 0x1089e},
	{0x108a7, 0x108af}, {0x108e0, 0x108f2}, {0x108f4, 0x108f5}, {0x108fb, 0x1091b},
	{0x1091f, 0x10939}, {0x1093f, 0x1093f}, {0x10980, 0x109b7}, {0x109bc, 0x109cf},
	{0x109d2, 0x10a03}, {0x10a05, 0x10a06}, {0x10a0c, 0x10a13}, {0x10a15, 0x10a17},
	{0x10a19, 0x10a35}, {0x10a38, 0x10a3a}, {0x10a3f, 0x10a48}, {0x10a50, 0x10a58},
	{0x10a60, 0x10a9f}, {0x10ac0, 0x10ae6}, {0x10aeb, 0x10af6}, {0x10b00, 0x10b35},
	{0x10b39, 0x10b55}, {0x10b58, 0x10b72}, {0x10b78, 0x10b91}, {0x10b99, 0x10b9c},
	{0x10ba9, 0x10baf}, {0x10c00, 0x10c48}, {0x10c80, 0x10cb2}, {0x10cc0, 0x10cf2},
	{0x10cfa, 0x10d27}, {0x10d30, 0x10d39}, {0x10e60, 0x10e7e}, {0x10e80, 0x10ea9},
	{0x10eab, 0x10ead}, {0x10eb0, 0x10eb1}, {0x10efd, 0x10f27}, {0x10f30, 0x10f59},
	{0x10f70, 0x10f89}, {0x10fb0, 0x10fcb}, {0x10fe0, 0x10ff6}, {0x11000, 0x1104d},
	{0x11052, 0x11075}, {0x1107f, 0x110bc}, {0x110be, 0x110c2}, {0x110d0, 0x110e8},
	{0x110f0, 0x110f9}, {0x11100, 0x11134}, {0x11136, 0x11147}, {0x11150, 0x11176},
	{0x11180, 0x111df}, {0x111e1, 0x111f4}, {0x11200, 0x11211}, {0x11213, 0x11241},
	{0x11280, 0x11286}, {0x11288, 0x11288}, {0x1128a, 0x1128d}, {0x1128f, 0x1129d},
	{0x1129f, 0x112a9}, {0x112b0, 0x112ea}, {0x112f0, 0x112f9}, {0x11300, 0x11303},
	{0x11305, 0x1130c}, {0x1130f, 0x11310}, {0x11313, 0x11328}, {0x1132a, 0x11330},
	{0x11332, 0x11333}, {0x11335, 0x11339}, {0x1133b, 0x11344}, {0x11347, 0x11348},
	{0x1134b, 0x1134d}, {0x11350, 0x11350}, {0x11357, 0x11357}, {0x1135d, 0x11363},
	{0x11366, 0x1136c}, {0x11370, 0x11374}, {0x11400, 0x1145b}, {0x1145d, 0x11461},
	{0x11480, 0x114c7}, {0x114d0, 0x114d9}, {0x11580, 0x115b5}, {0x115b8, 0x115dd},
	{0x11600, 0x11644}, {0x11650, 0x11659}, {0x11660, 0x1166c}, {0x11680, 0x116b9},
	{0x116c0, 0x116c9}, {0x11700, 0x1171a}, {0x1171d, 0x1172b}, {0x11730, 0x11746},
	{0x11800, 0x1183b}, {0x118a0, 0x118f2}, {0x118ff, 0x11906}, {0x11909, 0x11909},
	{0x1190c, 0x11913}, {0x11915, 0x11916}, {0x11918, 0x11935}, {0x11937, 0x11938},
	{0x1193b, 0x11946}, {0x11950, 0x11959}, {0x119a0, 0x119a7}, {0x119aa, 0x119d7},
	{0x119da, 0x119e4}, {0x11a00, 0x11a47}, {0x11a50, 0x11aa2}, {0x11ab0, 0x11af8},
	{0x11b00, 0x11b09}, {0x11c00, 0x11c08}, {0x11c0a, 0x11c36}, {0x11c38, 0x11c45},
	{0x11c50, 0x11c6c}, {0x11c70, 0x11c8f}, {0x11c92, 0x11ca7}, {0x11ca9, 0x11cb6},
	{0x11d00, 0x11d06}, {0x11d08, 0x11d09}, {0x11d0b, 0x11d36}, {0x11d3a, 0x11d3a},
	{0x11d3c, 0x11d3d}, {0x11d3f, 0x11d47}, {0x11d50, 0x11d59}, {0x11d60, 0x11d65},
	{0x11d67, 0x11d68}, {0x11d6a, 0x11d8e}, {0x11d90, 0x11d91}, {0x11d93, 0x11d98},
	{0x11da0, 0x11da9}, {0x11ee0, 0x11ef8}, {0x11f00, 0x11f10}, {0x11f12, 0x11f3a},
	{0x11f3e, 0x11f59}, {0x11fb0, 0x11fb0}, {0x11fc0, 0x11ff1}, {0x11fff, 0x12399},
	{0x12400, 0x1246e}, {0x12470, 0x12474}, {0x12480, 0x12543}, {0x12f90, 0x12ff2},
	{0x13000, 0x1342f}, {0x13440, 0x13455}, {0x14400, 0x14646}, {0x16800, 0x16a38},
	{0x16a40, 0x16a5e}, {0x16a60, 0x16a69}, {0x16a6e, 0x16abe}, {0x16ac0, 0x16ac9},
	{0x16ad0, 0x16aed}, {0x16af0, 0x16af5}, {0x16b00, 0x16b45}, {0x16b50, 0x16b59},
	{0x16b5b, 0x16b61}, {0x16b63, 0x16b77}, {0x16b7d, 0x16b8f}, {0x16e40, 0x16e9a},
	{0x16f00, 0x16f4a}, {0x16f4f, 0x16f87}, {0x16f8f, 0x16f9f}, {0x16fe0, 0x16fe4},
	{0x16ff0, 0x16ff1}, {0x17000, 0x187f7}, {0x18800, 0x18cd5}, {0x18d00, 0x18d08},
	{0x1aff0, 0x1aff3}, {0x1aff5, 0x1affb}, {0x1affd, 0x1affe}, {0x1b000, 0x1b122},
	{0x1b132, 0x1b132}, {0x1b150, 0x1b152}, {0x1b155, 0x1b155}, {0x1b164, 0x1b167},
	{0x1b170, 0x1b2fb}, {0x1bc00, 0x1bc6a}, {0x1bc70, 0x1bc7c}, {0x1bc80, 0x1bc88},
	{0x1bc90, 0x1bc99}, {0x1bc9c, 0x1bc9f}, {0x1cf00, 0x1cf2d}, {0x1cf30, 0x1cf46},
	{0x1cf50, 0x1cfc3}, {0x1d000, 0x1d0f5}, {0x1d100, 0x1d126}, {0x1d129, 0x1d172},
	{0x1d17b, 0x1d1ea}, {0x1d200, 0x1d245}, {0x1d2c0, 0x1d2d3}, {0x1d2e0, 0x1d2f3},
	{0x1d300, 0x1d356}, {0x1d360, 0x1d378}, {0x1d400, 0x1d454}, {0x1d456, 0x1d49c},
	{0x1d49e, 0x1d49f}, {0x1d4a2, 0x1d4a2}, {0x1d4a5, 0x1d4a6}, {0x1d4a9, 0x1d4ac},
	{0x1d4ae, 0x1d4b9}, {0x1d4bb, 0x1d4bb}, {0x1d4bd, 0x1d4c3}, {0x1d4c5, 0x1d505},
	{0x1d507, 0x1d50a}, {0x1d50d, 0x1d514}, {0x1d516, 0x1d51c}, {0x1d51e, 0x1d539},
	{0x1d53b, 0x1d53e}, {0x1d540, 0x1d544}, {0x1d546, 0x1d546}, {0x1d54a, 0x1d550},
	{0x1d552, 0x1d6a5}, {0x1d6a8, 0x1d7cb}, {0x1d7ce, 0x1da8b}, {0x1da9b, 0x1da9f},
	{0x1daa1, 0x1daaf}, {0x1df00, 0x1df1e}, {0x1df25, 0x1df2a}, {0x1e000, 0x1e006},
	{0x1e008, 0x1e018}, {0x1e01b, 0x1e021}, {0x1e023, 0x1e024}, {0x1e026, 0x1e02a},
	{0x1e030, 0x1e06d}, {0x1e08f, 0x1e08f}, {0x1e100, 0x1e12c}, {0x1e130, 0x1e13d},
	{0x1e140, 0x1e149}, {0x1e14e, 0x1e14f}, {0x1e290, 0x1e2ae}, {0x1e2c0, 0x1e2f9},
	{0x1e2ff, 0x1e2ff}, {0x1e4d0, 0x1e4f9}, {0x1e7e0, 0x1e7e6}, {0x1e7e8, 0x1e7eb},
	{0x1e7ed, 0x1e7ee}, {0x1e7f0, 0x1e7fe}, {0x1e800, 0x1e8c4}, {0x1e8c7, 0x1e8d6},
	{0x1e900, 0x1e94b}, {0x1e950, 0x1e959}, {0x1e95e, 0x1e95f}, {0x1ec71, 0x1ecb4},
	{0x1ed01, 0x1ed3d}, {0x1ee00, 0x1ee03}, {0x1ee05, 0x1ee1f}, {0x1ee21, 0x1ee22},
	{0x1ee24, 0x1ee24}, {0x1ee27, 0x1ee27}, {0x1ee29, 0x1ee32}, {0x1ee34, 0x1ee37},
	{0x1ee39, 0x1ee39}, {0x1ee3b, 0x1ee3b}, {0x1ee42, 0x1ee42}, {0x1ee47, 0x1ee47},
	{0x1ee49, 0x1ee49}, {0x1ee4b, 0x1ee4b}, {0x1ee4d, 0x1ee4f}, {0x1ee51, 0x1ee52},
	{0x1ee54, 0x1ee54}, {0x1ee57, 0x1ee57}, {0x1ee59, 0x1ee59}, {0x1ee5b, 0x1ee5b},
	{0x1ee5d, 0x1ee5d}, {0x1ee5f, 0x1ee5f}, {0x1ee61, 0x1ee62}, {0x1ee64, 0x1ee64},
	{0x1ee67, 0x1ee6a}, {0x1ee6c, 0x1ee72}, {0x1ee74, 0x1ee77}, {0x1ee79, 0x1ee7c},
	{0x1ee7e, 0x1ee7e}, {0x1ee80, 0x1ee89}, {0x1ee8b, 0x1ee9b}, {0x1eea1, 0x1eea3},
	{0x1eea5, 0x1eea9}, {0x1eeab, 0x1eebb}, {0x1eef0, 0x1eef1}, {0x1f000, 0x1f02b},
	{0x1f030, 0x1f093}, {0x1f0a0, 0x1f0ae}, {0x1f0b1, 0x1f0bf}, {0x1f0c1, 0x1f0cf},
	{0x1f0d1, 0x1f0f5}, {0x1f100, 0x1f1ad}, {0x1f1e6, 0x1f202}, {0x1f210, 0x1f23b},
	{0x1f240, 0x1f248}, {0x1f250, 0x1f251}, {0x1f260, 0x1f265}, {0x1f300, 0x1f6d7},
	{0x1f6dc, 0x1f6ec}, {0x1f6f0, 0x1f6fc}, {0x1f700, 0x1f776}, {0x1f77b, 0x1f7d9},
	{0x1f7e0, 0x1f7eb}, {0x1f7f0, 0x1f7f0}, {0x1f800, 0x1f80b}, {0x1f810, 0x1f847},
	{0x1f850, 0x1f859}, {0x1f860, 0x1f887}, {0x1f890, 0x1f8ad}, {0x1f8b0, 0x1f8b1},
	{0x1f900, 0x1fa53}, {0x1fa60, 0x1fa6d}, {0x1fa70, 0x1fa7c}, {0x1fa80, 0x1fa88},
	{0x1fa90, 0x1fabd}, {0x1fabf, 0x1fac5}, {0x1face, 0x1fadb}, {0x1fae0, 0x1fae8},
	{0x1faf0, 0x1faf8}, {0x1fb00, 0x1fb92}, {0x1fb94, 0x1fbca}, {0x1fbf0, 0x1fbf9},
	{0x20000, 0x2a6df}, {0x2a700, 0x2b739}, {0x2b740, 0x2b81d}, {0x2b820, 0x2cea1},
	{0x2ceb0, 0x2ebe0}, {0x2f800, 0x2fa1d}, {0x30000, 0x3134a}, {0x31350, 0x323af},
	{0xe0100, 0xe01ef},
};

static bool go_is_print(int32_t r)
{
	if (r < 0x100) {
		if (r >= 0x20 && r <= 0x7e)
			return true;
		return r >= 0xa1 && r <= 0xff && r != 0xad;
	}
	size_t lo = 0, hi = sizeof print_ranges / sizeof print_ranges[0];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uint32_t)r < print_ranges[mid][0])
			hi = mid;
		else if ((uint32_t)r > print_ranges[mid][1])
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

/* The inside of strconv.Quote(s): Go's escapes, without the quotes. */
static void eb_quote_body(struct ebuf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	while (i < n) {
		int32_t r;
		size_t w = utf8_decode(u + i, n - i, &r);

		if (r < 0) {
			eb_hex(b, "\\x", u[i], 2);
			i++;
			continue;
		}
		if (r == '"' || r == '\\') {
			eb_putc(b, '\\');
			eb_putc(b, (char)r);
		} else if (go_is_print(r)) {
			eb_put(b, s + i, w);
		} else {
			switch (r) {
			case '\a': eb_puts(b, "\\a"); break;
			case '\b': eb_puts(b, "\\b"); break;
			case '\f': eb_puts(b, "\\f"); break;
			case '\n': eb_puts(b, "\\n"); break;
			case '\r': eb_puts(b, "\\r"); break;
			case '\t': eb_puts(b, "\\t"); break;
			case '\v': eb_puts(b, "\\v"); break;
			default:
				if (r < ' ' || r == 0x7f)
					eb_hex(b, "\\x", (uint32_t)r, 2);
				else if (r < 0x10000)
					eb_hex(b, "\\u", (uint32_t)r, 4);
				else
					eb_hex(b, "\\U", (uint32_t)r, 8);
			}
		}
		i += w;
	}
}

/* fmt's %q for a string. */
static void eb_quote(struct ebuf *b, const char *s, size_t n)
{
	eb_putc(b, '"');
	eb_quote_body(b, s, n);
	eb_putc(b, '"');
}

/* A JSON string as Go's json.Marshal writes it (HTML-safe, Go 1.22+). */
static void eb_json_string(struct ebuf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

	eb_putc(b, '"');
	while (i < n) {
		unsigned char c = u[i];
		if (c < 0x80) {
			if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') {
				eb_putc(b, (char)c);
			} else {
				switch (c) {
				case '"': eb_puts(b, "\\\""); break;
				case '\\': eb_puts(b, "\\\\"); break;
				case '\b': eb_puts(b, "\\b"); break;
				case '\f': eb_puts(b, "\\f"); break;
				case '\n': eb_puts(b, "\\n"); break;
				case '\r': eb_puts(b, "\\r"); break;
				case '\t': eb_puts(b, "\\t"); break;
				default: eb_hex(b, "\\u", c, 4);
				}
			}
			i++;
			continue;
		}
		int32_t r;
		size_t w = utf8_decode(u + i, n - i, &r);
		if (r < 0)
			eb_puts(b, "\\ufffd");
		else if (r == 0x2028 || r == 0x2029)
			eb_hex(b, "\\u", (uint32_t)r, 4);
		else
			eb_put(b, s + i, w);
		i += w;
	}
	eb_putc(b, '"');
}

/* ------------------------------------------------------------------ */
/* strconv.ParseInt(s, 10, 64)                                          */

static bool parse_int64(const char *s, size_t n, int64_t *out)
{
	size_t i = 0;
	bool neg = false;
	uint64_t v = 0;

	if (n > 0 && (s[0] == '+' || s[0] == '-')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == n)
		return false;
	uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (limit - d) / 10)
			return false;
		v = v * 10 + d;
	}
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return true;
}

/* ------------------------------------------------------------------ */
/* Lexer                                                               */

struct token {
	int type;
	size_t off;   /* literal: s[off .. off+len) */
	size_t len;
};

static bool is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(unsigned char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<';
}

/*
 * One Lex() step from *pos. Go's read() yields 0 both at the end and for a
 * NUL byte (which it consumes): a NUL where a token starts ends the input,
 * one right after a token ends that token and is swallowed.
 */
static void lex_next(const char *s, size_t len, size_t *pos, struct token *t)
{
	size_t p = *pos;
	unsigned char ch;

	for (;;) {
		if (p >= len) {
			t->type = SEL_TOK_END_OF_STRING;
			t->off = p;
			t->len = 0;
			*pos = p;
			return;
		}
		ch = (unsigned char)s[p++];
		if (ch == 0) {
			t->type = SEL_TOK_END_OF_STRING;
			t->off = p;
			t->len = 0;
			*pos = p;
			return;
		}
		if (!is_space(ch))
			break;
	}
	size_t start = p - 1;

	if (is_special(ch)) {
		switch (ch) {
		case '=': t->type = SEL_TOK_EQUALS; break;
		case '!': t->type = SEL_TOK_DOES_NOT_EXIST; break;
		case '(': t->type = SEL_TOK_OPEN_PAR; break;
		case ')': t->type = SEL_TOK_CLOSED_PAR; break;
		case ',': t->type = SEL_TOK_COMMA; break;
		case '>': t->type = SEL_TOK_GREATER_THAN; break;
		default: t->type = SEL_TOK_LESS_THAN; break;
		}
		/* longest match: "!=" and "==" are the only two-byte operators */
		if (p < len && s[p] == '=' && (ch == '!' || ch == '=')) {
			t->type = ch == '!' ? SEL_TOK_NOT_EQUALS : SEL_TOK_DOUBLE_EQUALS;
			p++;
		}
		t->off = start;
		t->len = p - start;
		if (p < len && s[p] == '\0')
			p++;
		*pos = p;
		return;
	}

	size_t end;
	for (;;) {
		if (p >= len) {
			end = p;
			break;
		}
		unsigned char c = (unsigned char)s[p];
		if (c == 0) {
			end = p;
			p++;
			break;
		}
		if (is_special(c) || is_space(c)) {
			end = p;
			break;
		}
		p++;
	}
	t->off = start;
	t->len = end - start;
	if (t->len == 2 && memcmp(s + start, "in", 2) == 0)
		t->type = SEL_TOK_IN;
	else if (t->len == 5 && memcmp(s + start, "notin", 5) == 0)
		t->type = SEL_TOK_NOT_IN;
	else
		t->type = SEL_TOK_IDENTIFIER;
	*pos = p;
}

int selector_lex(const char *s, size_t len, int *tokens, size_t max, size_t *ntokens)
{
	size_t pos = 0, count = 0;
	struct token t;

	if (ntokens)
		*ntokens = 0;
	if (len > SELECTOR_MAX_LEN || (!s && len))
		return -1;
	for (;;) {
		lex_next(s, len, &pos, &t);
		if (t.type == SEL_TOK_END_OF_STRING)
			break;
		if (count < max && tokens)
			tokens[count] = t.type;
		count++;
	}
	if (ntokens)
		*ntokens = count;
	return 0;
}

const char *selector_token_name(int tok)
{
	static const char *const names[] = {
		"Error", "EndOfString", "ClosedPar", "Comma", "DoesNotExist", "DoubleEquals",
		"Equals", "GreaterThan", "Identifier", "In", "LessThan", "NotEquals", "NotIn",
		"OpenPar",
	};
	if (tok < 0 || (size_t)tok >= sizeof names / sizeof names[0])
		return "Error";
	return names[tok];
}

/* ------------------------------------------------------------------ */
/* Operators                                                           */

static const char *const op_names[] = {
	[SEL_EQUALS] = "=", [SEL_DOUBLE_EQUALS] = "==", [SEL_NOT_EQUALS] = "!=",
	[SEL_IN] = "in", [SEL_NOT_IN] = "notin", [SEL_EXISTS] = "exists",
	[SEL_DOES_NOT_EXIST] = "!", [SEL_GT] = "gt", [SEL_LT] = "lt",
};

#define OP_COUNT (sizeof op_names / sizeof op_names[0])

const char *selector_op_name(enum selector_op op)
{
	if ((unsigned)op >= OP_COUNT)
		return "?";
	return op_names[op];
}

int selector_op_parse(const char *name, enum selector_op *op)
{
	if (!name)
		return -1;
	for (size_t i = 0; i < OP_COUNT; i++) {
		if (strcmp(name, op_names[i]) == 0) {
			if (op)
				*op = (enum selector_op)i;
			return 0;
		}
	}
	return -1;
}

/* ------------------------------------------------------------------ */
/* Requirements and their storage                                      */

/* A byte string that is not NUL-terminated (a slice of the input). */
struct span {
	const char *p;
	size_t n;
};

struct req {
	const char *key;
	enum selector_op op;
	const char **values;   /* as given (parse: sorted, unique) */
	const char **sorted;   /* the same strings, sorted bytewise */
	size_t nvalues;
	void *block;           /* one allocation holding all of the above */
};

struct selector {
	struct req *reqs;
	size_t n;
	size_t cap;
};

static int span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	size_t k = x->n < y->n ? x->n : y->n;
	int c = k ? memcmp(x->p, y->p, k) : 0;
	if (c)
		return c;
	return (x->n > y->n) - (x->n < y->n);
}

static int cstr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Fills r with copies of key and the values in one block. The strings
 * must hold no NUL. Returns 0, or -1 when out of memory.
 */
static int req_build(struct req *r, const char *key, size_t keylen, enum selector_op op,
		     const struct span *vals, size_t nvals)
{
	size_t ptrs, size, off;

	if (nvals > SIZE_MAX / (2 * sizeof(char *)))
		return -1;
	ptrs = 2 * nvals * sizeof(char *);
	size = ptrs;
	if (keylen > SIZE_MAX - size - 1)
		return -1;
	size += keylen + 1;
	for (size_t i = 0; i < nvals; i++) {
		if (vals[i].n > SIZE_MAX - size - 1)
			return -1;
		size += vals[i].n + 1;
	}
	char *block = malloc(size);
	if (!block)
		return -1;

	r->values = (const char **)(void *)block;
	r->sorted = r->values + nvals;
	off = ptrs;
	memcpy(block + off, key, keylen);
	block[off + keylen] = '\0';
	r->key = block + off;
	off += keylen + 1;
	for (size_t i = 0; i < nvals; i++) {
		if (vals[i].n)
			memcpy(block + off, vals[i].p, vals[i].n);
		block[off + vals[i].n] = '\0';
		r->values[i] = block + off;
		r->sorted[i] = block + off;
		off += vals[i].n + 1;
	}
	bool in_order = true;
	for (size_t i = 1; i < nvals && in_order; i++)
		in_order = strcmp(r->sorted[i - 1], r->sorted[i]) <= 0;
	if (!in_order)
		qsort(r->sorted, nvals, sizeof *r->sorted, cstr_cmp);
	r->op = op;
	r->nvalues = nvals;
	r->block = block;
	return 0;
}

static bool req_has_value(const struct req *r, const char *v)
{
	size_t lo = 0, hi = r->nvalues;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v, r->sorted[mid]);
		if (c == 0)
			return true;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return false;
}

static int sel_grow(struct selector *sel)
{
	if (sel->n < sel->cap)
		return 0;
	size_t ncap = sel->cap ? sel->cap * 2 : 8;
	if (ncap > SELECTOR_MAX_REQUIREMENTS)
		ncap = SELECTOR_MAX_REQUIREMENTS;
	if (ncap <= sel->n)
		return -1;
	struct req *nr = realloc(sel->reqs, ncap * sizeof *nr);
	if (!nr)
		return -1;
	sel->reqs = nr;
	sel->cap = ncap;
	return 0;
}

struct selector *selector_new(void)
{
	return calloc(1, sizeof(struct selector));
}

void selector_free(struct selector *sel)
{
	if (!sel)
		return;
	for (size_t i = 0; i < sel->n; i++)
		free(sel->reqs[i].block);
	free(sel->reqs);
	free(sel);
}

/* ------------------------------------------------------------------ */
/* Go's sort.Sort (pattern-defeating quicksort) on requirements by key  */

/*
 * sort.Sort is not stable: with more than 12 requirements, equal keys can
 * be reordered. String() shows that order, so it is reproduced step by
 * step (insertion sort, heapsort fallback, xorshift pattern breaking).
 */

enum { HINT_UNKNOWN, HINT_INCREASING, HINT_DECREASING };

static bool key_less(const struct req *d, long i, long j)
{
	return strcmp(d[i].key, d[j].key) < 0;
}

static void req_swap(struct req *d, long i, long j)
{
	struct req t = d[i];
	d[i] = d[j];
	d[j] = t;
}

static int bits_len(uint64_t x)
{
	int n = 0;
	while (x) {
		n++;
		x >>= 1;
	}
	return n;
}

static void insertion_sort(struct req *d, long a, long b)
{
	for (long i = a + 1; i < b; i++)
		for (long j = i; j > a && key_less(d, j, j - 1); j--)
			req_swap(d, j, j - 1);
}

static void sift_down(struct req *d, long lo, long hi, long first)
{
	long root = lo;
	for (;;) {
		long child = 2 * root + 1;
		if (child >= hi)
			return;
		if (child + 1 < hi && key_less(d, first + child, first + child + 1))
			child++;
		if (!key_less(d, first + root, first + child))
			return;
		req_swap(d, first + root, first + child);
		root = child;
	}
}

static void heap_sort(struct req *d, long a, long b)
{
	long first = a, hi = b - a;
	for (long i = (hi - 1) / 2; i >= 0; i--)
		sift_down(d, i, hi, first);
	for (long i = hi - 1; i >= 0; i--) {
		req_swap(d, first, first + i);
		sift_down(d, 0, i, first);
	}
}

static void order2(const struct req *d, long *a, long *b, int *swaps)
{
	if (key_less(d, *b, *a)) {
		long t = *a;
		*a = *b;
		*b = t;
		(*swaps)++;
	}
}

static long median3(const struct req *d, long a, long b, long c, int *swaps)
{
	order2(d, &a, &b, swaps);
	order2(d, &b, &c, swaps);
	order2(d, &a, &b, swaps);
	return b;
}

static long choose_pivot(const struct req *d, long a, long b, int *hint)
{
	long l = b - a;
	int swaps = 0;
	long i = a + l / 4 * 1, j = a + l / 4 * 2, k = a + l / 4 * 3;

	if (l >= 8) {
		if (l >= 50) {
			i = median3(d, i - 1, i, i + 1, &swaps);
			j = median3(d, j - 1, j, j + 1, &swaps);
			k = median3(d, k - 1, k, k + 1, &swaps);
		}
		j = median3(d, i, j, k, &swaps);
	}
	if (swaps == 0)
		*hint = HINT_INCREASING;
	else if (swaps == 12)
		*hint = HINT_DECREASING;
	else
		*hint = HINT_UNKNOWN;
	return j;
}

static void reverse_range(struct req *d, long a, long b)
{
	for (long i = a, j = b - 1; i < j; i++, j--)
		req_swap(d, i, j);
}

static bool partial_insertion_sort(struct req *d, long a, long b)
{
	long i = a + 1;
	for (int step = 0; step < 5; step++) {
		while (i < b && !key_less(d, i, i - 1))
			i++;
		if (i == b)
			return true;
		if (b - a < 50)
			return false;
		req_swap(d, i, i - 1);
		if (i - a >= 2) {
			for (long j = i - 1; j >= 1; j--) {
				if (!key_less(d, j, j - 1))
					break;
				req_swap(d, j, j - 1);
			}
		}
		if (b - i >= 2) {
			for (long j = i + 1; j < b; j++) {
				if (!key_less(d, j, j - 1))
					break;
				req_swap(d, j, j - 1);
			}
		}
	}
	return false;
}

static void break_patterns(struct req *d, long a, long b)
{
	long length = b - a;
	if (length < 8)
		return;
	uint64_t seed = (uint64_t)length;
	uint64_t modulus = (uint64_t)1 << bits_len((uint64_t)length);
	for (long idx = a + (length / 4) * 2 - 1; idx <= a + (length / 4) * 2 + 1; idx++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		long other = (long)(seed & (modulus - 1));
		if (other >= length)
			other -= length;
		req_swap(d, idx, a + other);
	}
}

static long partition_equal(struct req *d, long a, long b, long pivot)
{
	req_swap(d, a, pivot);
	long i = a + 1, j = b - 1;
	for (;;) {
		while (i <= j && !key_less(d, a, i))
			i++;
		while (i <= j && key_less(d, a, j))
			j--;
		if (i > j)
			break;
		req_swap(d, i, j);
		i++;
		j--;
	}
	return i;
}

static long partition(struct req *d, long a, long b, long pivot, bool *already)
{
	req_swap(d, a, pivot);
	long i = a + 1, j = b - 1;

	while (i <= j && key_less(d, i, a))
		i++;
	while (i <= j && !key_less(d, j, a))
		j--;
	if (i > j) {
		req_swap(d, j, a);
		*already = true;
		return j;
	}
	req_swap(d, i, j);
	i++;
	j--;
	for (;;) {
		while (i <= j && key_less(d, i, a))
			i++;
		while (i <= j && !key_less(d, j, a))
			j--;
		if (i > j)
			break;
		req_swap(d, i, j);
		i++;
		j--;
	}
	req_swap(d, j, a);
	*already = false;
	return j;
}

static void pdqsort(struct req *d, long a, long b, int limit)
{
	bool was_balanced = true, was_partitioned = true;

	for (;;) {
		long length = b - a;
		if (length <= 12) {
			insertion_sort(d, a, b);
			return;
		}
		if (limit == 0) {
			heap_sort(d, a, b);
			return;
		}
		if (!was_balanced) {
			break_patterns(d, a, b);
			limit--;
		}
		int hint;
		long pivot = choose_pivot(d, a, b, &hint);
		if (hint == HINT_DECREASING) {
			reverse_range(d, a, b);
			pivot = (b - 1) - (pivot - a);
			hint = HINT_INCREASING;
		}
		if (was_balanced && was_partitioned && hint == HINT_INCREASING &&
		    partial_insertion_sort(d, a, b))
			return;
		if (a > 0 && !key_less(d, a - 1, pivot)) {
			a = partition_equal(d, a, b, pivot);
			continue;
		}
		bool already;
		long mid = partition(d, a, b, pivot, &already);
		was_partitioned = already;
		long left = mid - a, right = b - mid, threshold = length / 8;
		if (left < right) {
			was_balanced = left >= threshold;
			pdqsort(d, a, mid, limit);
			a = mid + 1;
		} else {
			was_balanced = right >= threshold;
			pdqsort(d, mid + 1, b, limit);
			b = mid;
		}
	}
}

static void sort_by_key(struct selector *sel)
{
	if (sel->n <= 1)
		return;
	pdqsort(sel->reqs, 0, (long)sel->n, bits_len(sel->n));
}

/* ------------------------------------------------------------------ */
/* NewRequirement's validation and its error text                      */

/* Starts error number idx of total in an aggregate: "[" first, ", " between. */
static void agg_next(struct ebuf *eb, size_t idx, size_t total)
{
	if (total > 1)
		eb_puts(eb, idx == 0 ? "[" : ", ");
}

static void eb_values_json(struct ebuf *eb, const struct span *vals, size_t nvals)
{
	eb_putc(eb, '[');
	for (size_t i = 0; i < nvals; i++) {
		if (i)
			eb_putc(eb, ',');
		eb_json_string(eb, vals[i].p, vals[i].n);
	}
	eb_putc(eb, ']');
}

/*
 * Walks NewRequirement's checks in Go's order. Returns how many fail;
 * with eb, also writes them (total is the count from a first walk). Two
 * errors never have the same text (every one names a different path), so
 * the aggregate's de-duplication has nothing to do here.
 */
static size_t requirement_errors(const char *key, size_t keylen, enum selector_op op,
				 const struct span *vals, size_t nvals, struct ebuf *eb,
				 size_t total)
{
	size_t count = 0;
	const char *detail = NULL;

	if (name_label_key_errors(key, keylen, NULL, 0) != 0) {
		if (eb) {
			agg_next(eb, count, total);
			eb_puts(eb, "key: Invalid value: ");
			eb_quote(eb, key, keylen);
			eb_puts(eb, ": ");
			eb_name_errors(eb, name_label_key_errors, key, keylen);
		}
		count++;
	}

	switch (op) {
	case SEL_IN:
	case SEL_NOT_IN:
		if (nvals == 0)
			detail = "for 'in', 'notin' operators, values set can't be empty";
		break;
	case SEL_EQUALS:
	case SEL_DOUBLE_EQUALS:
	case SEL_NOT_EQUALS:
		if (nvals != 1)
			detail = "exact-match compatibility requires one single value";
		break;
	case SEL_EXISTS:
	case SEL_DOES_NOT_EXIST:
		if (nvals != 0)
			detail = "values set must be empty for exists and does not exist";
		break;
	case SEL_GT:
	case SEL_LT:
		if (nvals != 1)
			detail = "for 'Gt', 'Lt' operators, exactly one value is required";
		break;
	default:
		if (eb) {
			agg_next(eb, count, total);
			eb_puts(eb, "operator: Unsupported value: \"");
			eb_putzu(eb, (size_t)(unsigned)op);
			eb_puts(eb, "\": supported values: \"in\", \"notin\", \"=\", \"==\", \"!=\", "
				"\"gt\", \"lt\", \"exists\", \"!\"");
		}
		count++;
		break;
	}
	if (detail) {
		if (eb) {
			agg_next(eb, count, total);
			eb_puts(eb, "values: Invalid value: ");
			eb_values_json(eb, vals, nvals);
			eb_puts(eb, ": ");
			eb_puts(eb, detail);
		}
		count++;
	}
	if (op == SEL_GT || op == SEL_LT) {
		for (size_t i = 0; i < nvals; i++) {
			int64_t v;
			if (parse_int64(vals[i].p, vals[i].n, &v))
				continue;
			if (eb) {
				agg_next(eb, count, total);
				eb_puts(eb, "values[");
				eb_putzu(eb, i);
				eb_puts(eb, "]: Invalid value: ");
				eb_quote(eb, vals[i].p, vals[i].n);
				eb_puts(eb, ": for 'Gt', 'Lt' operators, the value must be an integer");
			}
			count++;
		}
	}
	for (size_t i = 0; i < nvals; i++) {
		if (name_label_value_errors(vals[i].p, vals[i].n, NULL, 0) == 0)
			continue;
		if (eb) {
			agg_next(eb, count, total);
			eb_puts(eb, "values[");
			eb_putzu(eb, i);
			eb_puts(eb, "][");
			eb_put(eb, key, keylen);
			eb_puts(eb, "]: Invalid value: ");
			eb_quote(eb, vals[i].p, vals[i].n);
			eb_puts(eb, ": ");
			eb_name_errors(eb, name_label_value_errors, vals[i].p, vals[i].n);
		}
		count++;
	}
	if (eb && total > 1 && count == total)
		eb_putc(eb, ']');
	return count;
}

/* NewRequirement's checks: 0, or -1 with the aggregated text in eb. */
static int requirement_check(const char *key, size_t keylen, enum selector_op op,
			     const struct span *vals, size_t nvals, struct ebuf *eb)
{
	size_t total = requirement_errors(key, keylen, op, vals, nvals, NULL, 0);
	if (total == 0)
		return 0;
	requirement_errors(key, keylen, op, vals, nvals, eb, total);
	return -1;
}

static void too_many(struct ebuf *eb, size_t n)
{
	eb_puts(eb, "too many requirements: ");
	eb_putzu(eb, n);
	eb_puts(eb, " (max ");
	eb_putzu(eb, SELECTOR_MAX_REQUIREMENTS);
	eb_putc(eb, ')');
}

/* Checks (unless told not to), copies and appends one requirement. */
static int sel_append(struct selector *sel, const char *key, size_t keylen, enum selector_op op,
		      const struct span *vals, size_t nvals, bool check, struct ebuf *eb)
{
	if (check && requirement_check(key, keylen, op, vals, nvals, eb) < 0)
		return -1;
	if (sel->n >= SELECTOR_MAX_REQUIREMENTS) {
		too_many(eb, sel->n + 1);
		return -1;
	}
	if (sel_grow(sel) < 0 || req_build(&sel->reqs[sel->n], key, keylen, op, vals, nvals) < 0) {
		eb_puts(eb, "out of memory");
		return -1;
	}
	sel->n++;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Parser                                                              */

enum ctx { CTX_KEY_AND_OPERATOR, CTX_VALUES };

struct parser {
	const char *s;
	struct token *toks;
	size_t ntoks;
	size_t pos;
	struct span *vals;     /* scratch: values of the requirement at hand */
	size_t nvals;
	size_t capvals;
	bool have_empty;       /* "" is among them (kept once: "(,,,,)" stays cheap) */
	struct selector *sel;
	struct ebuf *eb;
};

/* lookahead / consume: in the Values context "in" and "notin" are identifiers */
static int tok_type(const struct token *t, enum ctx ctx)
{
	if (ctx == CTX_VALUES && (t->type == SEL_TOK_IN || t->type == SEL_TOK_NOT_IN))
		return SEL_TOK_IDENTIFIER;
	return t->type;
}

static const struct token *look(const struct parser *p, enum ctx ctx, int *type)
{
	const struct token *t = &p->toks[p->pos];
	*type = tok_type(t, ctx);
	return t;
}

/* The grammar never consumes past EndOfString, the last token. */
static const struct token *consume(struct parser *p, enum ctx ctx, int *type)
{
	const struct token *t = &p->toks[p->pos];
	if (p->pos + 1 < p->ntoks)
		p->pos++;
	*type = tok_type(t, ctx);
	return t;
}

/* "found 'LIT'" + rest */
static void found(struct parser *p, const struct token *t, const char *rest)
{
	eb_puts(p->eb, "found '");
	eb_put(p->eb, p->s + t->off, t->len);
	eb_puts(p->eb, "'");
	eb_puts(p->eb, rest);
}

static int add_value(struct parser *p, const char *s, size_t n)
{
	if (n == 0) {
		if (p->have_empty)
			return 0;
		p->have_empty = true;
	}
	if (p->nvals == p->capvals) {
		size_t ncap = p->capvals ? p->capvals * 2 : 16;
		struct span *nv = realloc(p->vals, ncap * sizeof *nv);
		if (!nv) {
			eb_puts(p->eb, "out of memory");
			return -1;
		}
		p->vals = nv;
		p->capvals = ncap;
	}
	p->vals[p->nvals].p = s;
	p->vals[p->nvals].n = n;
	p->nvals++;
	return 0;
}

/* parseIdentifiersList: a list of possibly empty values up to ')' */
static int parse_identifiers_list(struct parser *p)
{
	for (;;) {
		int type, type2;
		const struct token *t = consume(p, CTX_VALUES, &type);

		if (type == SEL_TOK_IDENTIFIER) {
			if (add_value(p, p->s + t->off, t->len) < 0)
				return -1;
			const struct token *t2 = look(p, CTX_VALUES, &type2);
			if (type2 == SEL_TOK_COMMA)
				continue;
			if (type2 == SEL_TOK_CLOSED_PAR)
				return 0;
			found(p, t2, ", expected: ',' or ')'");
			return -1;
		}
		if (type == SEL_TOK_COMMA) {
			if (p->nvals == 0 && add_value(p, "", 0) < 0)
				return -1;
			look(p, CTX_VALUES, &type2);
			if (type2 == SEL_TOK_CLOSED_PAR)
				return add_value(p, "", 0);
			if (type2 == SEL_TOK_COMMA && add_value(p, "", 0) < 0)
				return -1;
			continue;
		}
		found(p, t, ", expected: ',', or identifier");
		return -1;
	}
}

/* parseValues: "(" values ")" */
static int parse_values(struct parser *p)
{
	int type;
	const struct token *t = consume(p, CTX_VALUES, &type);

	if (type != SEL_TOK_OPEN_PAR) {
		found(p, t, " expected: '('");
		return -1;
	}
	t = look(p, CTX_VALUES, &type);
	if (type == SEL_TOK_IDENTIFIER || type == SEL_TOK_COMMA) {
		if (parse_identifiers_list(p) < 0)
			return -1;
		int close;
		consume(p, CTX_VALUES, &close);
		if (close != SEL_TOK_CLOSED_PAR) {
			found(p, t, ", expected: ')'");
			return -1;
		}
		return 0;
	}
	if (type == SEL_TOK_CLOSED_PAR) {
		consume(p, CTX_VALUES, &type);
		return add_value(p, "", 0);
	}
	found(p, t, ", expected: ',', ')' or identifier");
	return -1;
}

/* parseExactValue: one value, empty when the requirement ends here */
static int parse_exact_value(struct parser *p)
{
	int type;
	const struct token *t = look(p, CTX_VALUES, &type);

	if (type == SEL_TOK_END_OF_STRING || type == SEL_TOK_COMMA)
		return add_value(p, "", 0);
	t = consume(p, CTX_VALUES, &type);
	if (type == SEL_TOK_IDENTIFIER)
		return add_value(p, p->s + t->off, t->len);
	found(p, t, ", expected: identifier");
	return -1;
}

/* sets.String.List(): sorted, without duplicates */
static void values_to_set(struct parser *p)
{
	if (p->nvals < 2)
		return;
	qsort(p->vals, p->nvals, sizeof *p->vals, span_cmp);
	size_t k = 1;
	for (size_t i = 1; i < p->nvals; i++)
		if (span_cmp(&p->vals[i], &p->vals[k - 1]) != 0)
			p->vals[k++] = p->vals[i];
	p->nvals = k;
}

/* parseRequirement = parseKeyAndInferOperator, parseOperator, values */
static int parse_requirement(struct parser *p)
{
	int type;
	bool dne = false, exists = false;
	enum selector_op op;
	const struct token *t = consume(p, CTX_VALUES, &type);

	if (type == SEL_TOK_DOES_NOT_EXIST) {
		dne = true;
		t = consume(p, CTX_VALUES, &type);
	}
	if (type != SEL_TOK_IDENTIFIER) {
		found(p, t, ", expected: identifier");
		return -1;
	}
	const char *key = p->s + t->off;
	size_t keylen = t->len;
	if (name_label_key_errors(key, keylen, NULL, 0) != 0) {
		/* validateLabelKey(literal, nil path): the field prints as <nil> */
		eb_puts(p->eb, "<nil>: Invalid value: ");
		eb_quote(p->eb, key, keylen);
		eb_puts(p->eb, ": ");
		eb_name_errors(p->eb, name_label_key_errors, key, keylen);
		return -1;
	}
	look(p, CTX_VALUES, &type);
	if (!dne && (type == SEL_TOK_END_OF_STRING || type == SEL_TOK_COMMA))
		exists = true;

	p->nvals = 0;
	p->have_empty = false;
	if (dne || exists)
		return sel_append(p->sel, key, keylen, dne ? SEL_DOES_NOT_EXIST : SEL_EXISTS,
				  NULL, 0, true, p->eb);

	t = consume(p, CTX_KEY_AND_OPERATOR, &type);
	switch (type) {
	case SEL_TOK_IN: op = SEL_IN; break;
	case SEL_TOK_EQUALS: op = SEL_EQUALS; break;
	case SEL_TOK_DOUBLE_EQUALS: op = SEL_DOUBLE_EQUALS; break;
	case SEL_TOK_GREATER_THAN: op = SEL_GT; break;
	case SEL_TOK_LESS_THAN: op = SEL_LT; break;
	case SEL_TOK_NOT_IN: op = SEL_NOT_IN; break;
	case SEL_TOK_NOT_EQUALS: op = SEL_NOT_EQUALS; break;
	default:
		found(p, t, ", expected: in, notin, =, ==, !=, gt, lt");
		return -1;
	}
	int rc = (op == SEL_IN || op == SEL_NOT_IN) ? parse_values(p) : parse_exact_value(p);
	if (rc < 0)
		return -1;
	values_to_set(p);
	return sel_append(p->sel, key, keylen, op, p->vals, p->nvals, true, p->eb);
}

/* Requirements left from the current token on: top-level commas + 1. */
static size_t requirements_ahead(const struct parser *p)
{
	size_t n = 1, depth = 0;
	for (size_t i = p->pos; i < p->ntoks; i++) {
		int type = p->toks[i].type;
		if (type == SEL_TOK_OPEN_PAR)
			depth++;
		else if (type == SEL_TOK_CLOSED_PAR && depth > 0)
			depth--;
		else if (type == SEL_TOK_COMMA && depth == 0)
			n++;
	}
	return n;
}

/* Parser.parse: requirement ("," requirement)* */
static int parse_all(struct parser *p)
{
	for (;;) {
		int type;
		const struct token *t = look(p, CTX_VALUES, &type);

		if (type == SEL_TOK_END_OF_STRING)
			return 0;
		if (type != SEL_TOK_IDENTIFIER && type != SEL_TOK_DOES_NOT_EXIST) {
			found(p, t, ", expected: !, identifier, or 'end of string'");
			return -1;
		}
		if (p->sel->n >= SELECTOR_MAX_REQUIREMENTS) {
			too_many(p->eb, p->sel->n + requirements_ahead(p));
			return -1;
		}
		eb_puts(p->eb, "unable to parse requirement: ");
		if (parse_requirement(p) < 0)
			return -1;
		eb_reset(p->eb);

		t = consume(p, CTX_VALUES, &type);
		if (type == SEL_TOK_END_OF_STRING)
			return 0;
		if (type != SEL_TOK_COMMA) {
			found(p, t, ", expected: ',' or 'end of string'");
			return -1;
		}
		t = look(p, CTX_VALUES, &type);
		if (type != SEL_TOK_IDENTIFIER && type != SEL_TOK_DOES_NOT_EXIST) {
			found(p, t, ", expected: identifier after ','");
			return -1;
		}
	}
}

/* Parser.scan: every token up to and including EndOfString. */
static int scan_all(struct parser *p, size_t len)
{
	size_t cap = 64, pos = 0;

	p->toks = malloc(cap * sizeof *p->toks);
	if (!p->toks)
		return -1;
	for (;;) {
		if (p->ntoks == cap) {
			struct token *nt = realloc(p->toks, 2 * cap * sizeof *nt);
			if (!nt)
				return -1;
			p->toks = nt;
			cap *= 2;
		}
		struct token *t = &p->toks[p->ntoks++];
		lex_next(p->s, len, &pos, t);
		if (t->type == SEL_TOK_END_OF_STRING)
			return 0;
	}
}

struct selector *selector_parse(const char *s, size_t len, char *err, size_t errlen)
{
	struct ebuf eb;
	struct parser p = { 0 };
	int rc = -1;

	eb_init(&eb, err, errlen);
	if (!s && len) {
		eb_puts(&eb, "invalid argument: no selector text");
		return NULL;
	}
	if (len > SELECTOR_MAX_LEN) {
		eb_puts(&eb, "selector too long: ");
		eb_putzu(&eb, len);
		eb_puts(&eb, " bytes (max ");
		eb_putzu(&eb, SELECTOR_MAX_LEN);
		eb_puts(&eb, ")");
		return NULL;
	}
	p.s = s ? s : "";
	p.eb = &eb;
	p.sel = selector_new();
	if (!p.sel || scan_all(&p, len) < 0)
		eb_puts(&eb, "out of memory");
	else
		rc = parse_all(&p);
	free(p.toks);
	free(p.vals);
	if (rc < 0) {
		selector_free(p.sel);
		return NULL;
	}
	sort_by_key(p.sel);
	return p.sel;
}

/* ------------------------------------------------------------------ */
/* Building from code                                                  */

int selector_add(struct selector *sel, const char *key, enum selector_op op,
		 const char *const *values, size_t nvalues, char *err, size_t errlen)
{
	struct ebuf eb;
	struct span one = { "", 0 }, *vals = &one;
	int rc;

	eb_init(&eb, err, errlen);
	if (!sel || !key || (nvalues && !values)) {
		eb_puts(&eb, "invalid argument");
		return -1;
	}
	if (nvalues > 1) {
		if (nvalues > SIZE_MAX / sizeof *vals) {
			eb_puts(&eb, "out of memory");
			return -1;
		}
		vals = malloc(nvalues * sizeof *vals);
		if (!vals) {
			eb_puts(&eb, "out of memory");
			return -1;
		}
	}
	for (size_t i = 0; i < nvalues; i++) {
		if (!values[i]) {
			if (vals != &one)
				free(vals);
			eb_puts(&eb, "invalid argument: value is NULL");
			return -1;
		}
		vals[i].p = values[i];
		vals[i].n = strlen(values[i]);
	}
	rc = sel_append(sel, key, strlen(key), op, vals, nvalues, true, &eb);
	if (vals != &one)
		free(vals);
	if (rc == 0)
		sort_by_key(sel);
	return rc;
}

struct selector *selector_from_labels(const struct label *labels, size_t nlabels,
				      bool validate, char *err, size_t errlen)
{
	struct ebuf eb;
	struct selector *sel;

	eb_init(&eb, err, errlen);
	if (nlabels && !labels) {
		eb_puts(&eb, "invalid argument");
		return NULL;
	}
	if (nlabels > SELECTOR_MAX_REQUIREMENTS) {
		too_many(&eb, nlabels);
		return NULL;
	}
	sel = selector_new();
	if (!sel) {
		eb_puts(&eb, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < nlabels; i++) {
		if (!labels[i].name || !labels[i].value) {
			eb_puts(&eb, "invalid argument: label without name or value");
			selector_free(sel);
			return NULL;
		}
		struct span v = { labels[i].value, strlen(labels[i].value) };
		if (sel_append(sel, labels[i].name, strlen(labels[i].name), SEL_EQUALS, &v, 1,
			       validate, &eb) < 0) {
			selector_free(sel);
			return NULL;
		}
	}
	sort_by_key(sel);
	return sel;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

bool selector_empty(const struct selector *sel)
{
	return !sel || sel->n == 0;
}

size_t selector_count(const struct selector *sel)
{
	return sel ? sel->n : 0;
}

void selector_get(const struct selector *sel, size_t i, const char **key, enum selector_op *op,
		  const char *const **values, size_t *nvalues)
{
	const struct req *r = sel && i < sel->n ? &sel->reqs[i] : NULL;

	if (key)
		*key = r ? r->key : NULL;
	if (op)
		*op = r ? r->op : SEL_EXISTS;
	if (values)
		*values = r ? (const char *const *)r->values : NULL;
	if (nvalues)
		*nvalues = r ? r->nvalues : 0;
}

size_t selector_string(const struct selector *sel, char *buf, size_t n)
{
	struct ebuf eb;

	eb_init(&eb, buf, n);
	for (size_t i = 0; sel && i < sel->n; i++) {
		const struct req *r = &sel->reqs[i];
		bool set = false;

		if (i)
			eb_putc(&eb, ',');
		if (r->op == SEL_DOES_NOT_EXIST)
			eb_putc(&eb, '!');
		eb_puts(&eb, r->key);
		switch (r->op) {
		case SEL_EQUALS: eb_putc(&eb, '='); break;
		case SEL_DOUBLE_EQUALS: eb_puts(&eb, "=="); break;
		case SEL_NOT_EQUALS: eb_puts(&eb, "!="); break;
		case SEL_IN: eb_puts(&eb, " in ("); set = true; break;
		case SEL_NOT_IN: eb_puts(&eb, " notin ("); set = true; break;
		case SEL_GT: eb_putc(&eb, '>'); break;
		case SEL_LT: eb_putc(&eb, '<'); break;
		default: continue;
		}
		for (size_t k = 0; k < r->nvalues; k++) {
			if (k)
				eb_putc(&eb, ',');
			eb_puts(&eb, r->sorted[k]);
		}
		if (set)
			eb_putc(&eb, ')');
	}
	return eb.len;
}

static const struct label *find_label(const struct label *labels, size_t n, const char *name)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, labels[mid].name);
		if (c == 0)
			return &labels[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static bool req_matches(const struct req *r, const struct label *labels, size_t nlabels)
{
	const struct label *l = find_label(labels, nlabels, r->key);
	const char *v = l && l->value ? l->value : "";
	int64_t lv, rv;

	switch (r->op) {
	case SEL_EQUALS:
	case SEL_DOUBLE_EQUALS:
	case SEL_IN:
		return l && req_has_value(r, v);
	case SEL_NOT_EQUALS:
	case SEL_NOT_IN:
		return !l || !req_has_value(r, v);
	case SEL_EXISTS:
		return l != NULL;
	case SEL_DOES_NOT_EXIST:
		return l == NULL;
	case SEL_GT:
	case SEL_LT:
		if (!l || !parse_int64(v, strlen(v), &lv) || r->nvalues != 1 ||
		    !parse_int64(r->values[0], strlen(r->values[0]), &rv))
			return false;
		return r->op == SEL_GT ? lv > rv : lv < rv;
	}
	return false;
}

bool selector_matches(const struct selector *sel, const struct label *labels, size_t nlabels)
{
	if (nlabels && !labels)
		nlabels = 0;
	for (size_t i = 0; sel && i < sel->n; i++)
		if (!req_matches(&sel->reqs[i], labels, nlabels))
			return false;
	return true;
}

/* ------------------------------------------------------------------ */
/* PromQL                                                              */

static bool is_prom_label_name(const char *s)
{
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

/* regexp.QuoteMeta's set: these get a backslash so they match themselves */
static bool is_regex_meta(char c)
{
	return c != '\0' && strchr("\\.+*?()|[]{}^$", c) != NULL;
}

/* "a|b" with each value's metacharacters escaped, as a quoted PromQL string */
static void promql_regex(struct ebuf *eb, const struct req *r)
{
	eb_putc(eb, '"');
	for (size_t k = 0; k < r->nvalues; k++) {
		const char *v = r->sorted[k];
		if (k && strcmp(v, r->sorted[k - 1]) == 0)
			continue;
		if (k)
			eb_putc(eb, '|');
		size_t start = 0, i = 0;
		for (; v[i]; i++) {
			if (!is_regex_meta(v[i]))
				continue;
			eb_quote_body(eb, v + start, i - start);
			eb_puts(eb, "\\\\");
			eb_quote_body(eb, v + i, 1);
			start = i + 1;
		}
		eb_quote_body(eb, v + start, i - start);
	}
	eb_putc(eb, '"');
}

int selector_promql(const struct selector *sel, char *buf, size_t n, size_t *len_out,
		    char *err, size_t errlen)
{
	struct ebuf eb, ee;

	eb_init(&eb, buf, n);
	eb_init(&ee, err, errlen);
	if (len_out)
		*len_out = 0;
	for (size_t i = 0; sel && i < sel->n; i++) {
		const struct req *r = &sel->reqs[i];
		const char *v = r->nvalues ? r->sorted[0] : "";

		if (!is_prom_label_name(r->key)) {
			eb_puts(&ee, "cannot use label key ");
			eb_quote(&ee, r->key, strlen(r->key));
			eb_puts(&ee, " in promql: not a prometheus label name");
			eb_reset(&eb);
			return -1;
		}
		if (i)
			eb_putc(&eb, ',');
		eb_puts(&eb, r->key);
		switch (r->op) {
		case SEL_EQUALS:
		case SEL_DOUBLE_EQUALS:
			eb_putc(&eb, '=');
			eb_quote(&eb, v, strlen(v));
			break;
		case SEL_NOT_EQUALS:
			eb_puts(&eb, "!=");
			eb_quote(&eb, v, strlen(v));
			break;
		case SEL_IN:
			eb_puts(&eb, "=~");
			promql_regex(&eb, r);
			break;
		case SEL_NOT_IN:
			eb_puts(&eb, "!~");
			promql_regex(&eb, r);
			break;
		case SEL_EXISTS:
			eb_puts(&eb, "!=\"\"");
			break;
		case SEL_DOES_NOT_EXIST:
			eb_puts(&eb, "=\"\"");
			break;
		default:
			eb_puts(&ee, "cannot express '");
			eb_puts(&ee, r->key);
			eb_puts(&ee, r->op == SEL_GT ? ">" : "<");
			eb_puts(&ee, v);
			eb_puts(&ee, "' in promql: label values cannot be compared as numbers");
			eb_reset(&eb);
			return -1;
		}
	}
	if (len_out)
		*len_out = eb.len;
	return 0;
}
