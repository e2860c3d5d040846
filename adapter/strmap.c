/* strmap.c — see strmap.h. Separate chaining, FNV-1a, doubling at load 1. */
#include "strmap.h"
#include "hash.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	struct entry *next;
	uint64_t hash;
	void *val;
	size_t len;
	unsigned char key[];
};

struct strmap {
	struct entry **b;
	size_t nb, n;
};

struct strmap *strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	m->nb = 64;
	m->b = calloc(m->nb, sizeof *m->b);
	if (!m->b) {
		free(m);
		return NULL;
	}
	return m;
}

void strmap_free(struct strmap *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nb; i++)
		for (struct entry *e = m->b[i], *next; e; e = next) {
			next = e->next;
			free(e);
		}
	free(m->b);
	free(m);
}

static struct entry **find(const struct strmap *m, const void *key, size_t len, uint64_t h)
{
	struct entry **pp = &m->b[h & (m->nb - 1)];
	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->hash == h && (*pp)->len == len && !memcmp((*pp)->key, key, len))
			break;
	return pp;
}

void *strmap_get(const struct strmap *m, const void *key, size_t len)
{
	struct entry *e = *find(m, key, len, sw_fnv1a64(key, len));
	return e ? e->val : NULL;
}

static void grow(struct strmap *m)
{
	size_t nb = m->nb * 2;
	struct entry **b = calloc(nb, sizeof *b);
	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < m->nb; i++)
		for (struct entry *e = m->b[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

int strmap_put(struct strmap *m, const void *key, size_t len, void *val)
{
	uint64_t h = sw_fnv1a64(key, len);
	struct entry **pp = find(m, key, len, h);
	if (*pp) {
		(*pp)->val = val;
		return 0;
	}
	struct entry *e = malloc(sizeof *e + len);
	if (!e)
		return -1;
	e->next = NULL;
	e->hash = h;
	e->val = val;
	e->len = len;
	memcpy(e->key, key, len);
	*pp = e;
	if (++m->n > m->nb)
		grow(m);
	return 0;
}

void *strmap_del(struct strmap *m, const void *key, size_t len)
{
	struct entry **pp = find(m, key, len, sw_fnv1a64(key, len));
	struct entry *e = *pp;
	if (!e)
		return NULL;
	*pp = e->next;
	void *val = e->val;
	free(e);
	m->n--;
	return val;
}

size_t strmap_count(const struct strmap *m)
{
	return m->n;
}
