/*
 * statefile.c — saving and restoring pipeline states.
 */
#include "statefile.h"
#include "hash.h"

#include "jsonw.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char MAGIC[8] = { 'S', 'W', 'S', 'T', 'A', 'T', 'E', '1' };
#define VERSION 1u

struct record {
	char *id;               /* metric \0 ns \0 sel \0 key, compared with memcmp */
	size_t idlen;
	const unsigned char *blob;
	size_t len;
};

struct statefile {
	unsigned char *data;
	struct record *recs;
	size_t n;
};

struct statefile_writer {
	char path[4096], tmp[4200];
	struct buf b;
	uint32_t count;
};

static void put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
			       (unsigned char)(v >> 24) };
	buf_add(b, x, 4);
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static char *make_id(const char *metric, const char *ns, const char *sel, const char *key, size_t *len)
{
	size_t a = strlen(metric), b = strlen(ns), c = strlen(sel), d = strlen(key);
	*len = a + b + c + d + 3;
	char *id = malloc(*len);
	if (!id)
		return NULL;
	char *p = id;
	memcpy(p, metric, a);
	p += a;
	*p++ = 0;
	memcpy(p, ns, b);
	p += b;
	*p++ = 0;
	memcpy(p, sel, c);
	p += c;
	*p++ = 0;
	memcpy(p, key, d);
	return id;
}

static int rec_cmp(const void *x, const void *y)
{
	const struct record *a = x, *b = y;
	size_t n = a->idlen < b->idlen ? a->idlen : b->idlen;
	int d = memcmp(a->id, b->id, n);
	if (d)
		return d;
	return a->idlen < b->idlen ? -1 : a->idlen > b->idlen;
}

struct statefile_writer *statefile_begin(const char *path, char *err, size_t errlen)
{
	struct statefile_writer *w = calloc(1, sizeof *w);
	if (!w) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	snprintf(w->path, sizeof w->path, "%s", path);
	snprintf(w->tmp, sizeof w->tmp, "%s.tmp.%ld", path, (long)getpid());
	buf_init(&w->b, STATEFILE_MAX_BYTES);
	buf_add(&w->b, MAGIC, sizeof MAGIC);
	put_u32(&w->b, VERSION);
	return w;
}

void statefile_add(struct statefile_writer *w, const char *metric, const char *ns, const char *sel, const char *key,
		   const unsigned char *blob, size_t len)
{
	size_t idlen;
	char *id = make_id(metric, ns, sel, key, &idlen);
	if (!id) {
		w->b.failed = true;
		return;
	}
	put_u32(&w->b, (uint32_t)idlen);
	buf_add(&w->b, id, idlen);
	put_u32(&w->b, (uint32_t)len);
	buf_add(&w->b, blob, len);
	w->count++;
	free(id);
}

int statefile_commit(struct statefile_writer *w, char *err, size_t errlen)
{
	int rc = -1;
	/* end marker: a zero id length, the count, the checksum */
	put_u32(&w->b, 0);
	put_u32(&w->b, w->count);
	if (w->b.failed) {
		snprintf(err, errlen, "state larger than %u bytes or out of memory", STATEFILE_MAX_BYTES);
		goto out;
	}
	uint64_t h = sw_fnv1a64((const unsigned char *)w->b.data, w->b.len);
	put_u32(&w->b, (uint32_t)h);
	put_u32(&w->b, (uint32_t)(h >> 32));
	int fd = open(w->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write '%s': %s", w->tmp, strerror(errno));
		goto out;
	}
	size_t off = 0;
	while (off < w->b.len) {
		ssize_t n = write(fd, w->b.data + off, w->b.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "cannot write '%s': %s", w->tmp, strerror(errno));
			close(fd);
			unlink(w->tmp);
			goto out;
		}
		off += (size_t)n;
	}
	if (fsync(fd) || close(fd)) {
		snprintf(err, errlen, "cannot sync '%s': %s", w->tmp, strerror(errno));
		unlink(w->tmp);
		goto out;
	}
	if (rename(w->tmp, w->path)) {
		snprintf(err, errlen, "cannot rename to '%s': %s", w->path, strerror(errno));
		unlink(w->tmp);
		goto out;
	}
	rc = 0;
out:
	buf_release(&w->b);
	free(w);
	return rc;
}

struct statefile *statefile_read(const char *path, char *err, size_t errlen)
{
	err[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			snprintf(err, errlen, "cannot read '%s': %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) || st.st_size < (off_t)(sizeof MAGIC + 20) || st.st_size > (off_t)STATEFILE_MAX_BYTES) {
		close(fd);
		snprintf(err, errlen, "'%s' is not a scalewise state file (size)", path);
		return NULL;
	}
	size_t size = (size_t)st.st_size;
	unsigned char *d = malloc(size);
	size_t off = 0;
	while (d && off < size) {
		ssize_t n = read(fd, d + off, size - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	close(fd);
	if (!d || off != size) {
		free(d);
		snprintf(err, errlen, "cannot read '%s'", path);
		return NULL;
	}
	if (memcmp(d, MAGIC, sizeof MAGIC)) {
		free(d);
		snprintf(err, errlen, "'%s' is not a scalewise state file", path);
		return NULL;
	}
	if (get_u32(d + 8) != VERSION) {
		snprintf(err, errlen, "'%s' is state file version %u; this scalewise reads version %u", path,
			 get_u32(d + 8), VERSION);
		free(d);
		return NULL;
	}
	uint64_t h = sw_fnv1a64(d, size - 8);
	if (get_u32(d + size - 8) != (uint32_t)h || get_u32(d + size - 4) != (uint32_t)(h >> 32)) {
		free(d);
		snprintf(err, errlen, "'%s' is corrupt (checksum mismatch)", path);
		return NULL;
	}
	struct statefile *sf = calloc(1, sizeof *sf);
	if (!sf) {
		free(d);
		return NULL;
	}
	sf->data = d;
	size_t p = 12, end = size - 8, cap = 0;
	for (;;) {
		if (p + 4 > end)
			goto corrupt;
		uint32_t idlen = get_u32(d + p);
		p += 4;
		if (idlen == 0)
			break;
		if (p + idlen + 4 > end)
			goto corrupt;
		const unsigned char *id = d + p;
		p += idlen;
		uint32_t blen = get_u32(d + p);
		p += 4;
		if (p + blen > end)
			goto corrupt;
		if (sf->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct record *r = realloc(sf->recs, cap * sizeof *r);
			if (!r)
				goto corrupt;
			sf->recs = r;
		}
		sf->recs[sf->n++] = (struct record){ .id = (char *)id, .idlen = idlen, .blob = d + p, .len = blen };
		p += blen;
	}
	if (p + 4 != end || get_u32(d + p) != sf->n)
		goto corrupt;
	qsort(sf->recs, sf->n, sizeof *sf->recs, rec_cmp);
	return sf;
corrupt:
	snprintf(err, errlen, "'%s' is corrupt (bad record layout)", path);
	statefile_free(sf);
	return NULL;
}

const unsigned char *statefile_find(const struct statefile *sf, const char *metric, const char *ns, const char *sel,
				    const char *key, size_t *len)
{
	if (!sf)
		return NULL;
	struct record k;
	k.id = make_id(metric, ns, sel, key, &k.idlen);
	if (!k.id)
		return NULL;
	struct record *r = bsearch(&k, sf->recs, sf->n, sizeof *sf->recs, rec_cmp);
	free(k.id);
	if (!r)
		return NULL;
	*len = r->len;
	return r->blob;
}

int statefile_has(const struct statefile *sf, const char *metric, const char *ns, const char *sel)
{
	if (!sf)
		return 0;
	size_t plen;
	char *prefix = make_id(metric, ns, sel, "", &plen);
	if (!prefix)
		return 0;
	int found = 0;
	for (size_t i = 0; i < sf->n && !found; i++)
		found = sf->recs[i].idlen >= plen && !memcmp(sf->recs[i].id, prefix, plen);
	free(prefix);
	return found;
}

size_t statefile_count(const struct statefile *sf)
{
	return sf ? sf->n : 0;
}

void statefile_free(struct statefile *sf)
{
	if (!sf)
		return;
	free(sf->recs);
	free(sf->data);
	free(sf);
}
