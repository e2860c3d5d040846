/*
 * statefile.h — the --state-file: every series' pipeline state, saved
 * atomically (temporary file, fsync, rename) and read back at start. The file
 * is "SWSTATE" + version, records of (metric, namespace, selector, series key,
 * pipeline blob), and an FNV-1a checksum of everything before it; a file that
 * is corrupt or from another version is refused whole with a message.
 */
#ifndef SW_STATEFILE_H
#define SW_STATEFILE_H

#include <stddef.h>

#define STATEFILE_MAX_BYTES (512u << 20)

struct statefile;
struct statefile_writer;

/* Reads path. NULL with err "" when it does not exist; NULL with a message when
 * it is unreadable, corrupt or of another version. */
struct statefile *statefile_read(const char *path, char *err, size_t errlen);
/* The blob saved for (metric, ns, sel, key) or NULL; valid until statefile_free. */
const unsigned char *statefile_find(const struct statefile *sf, const char *metric, const char *ns,
				    const char *sel, const char *key, size_t *len);
size_t statefile_count(const struct statefile *sf);
/* True when some series of (metric, ns, sel) was saved. */
int statefile_has(const struct statefile *sf, const char *metric, const char *ns, const char *sel);
void statefile_free(struct statefile *sf);

struct statefile_writer *statefile_begin(const char *path, char *err, size_t errlen);
void statefile_add(struct statefile_writer *w, const char *metric, const char *ns, const char *sel, const char *key,
		   const unsigned char *blob, size_t len);
/* Finishes the file and renames it into place; frees w. 0 or -1. */
int statefile_commit(struct statefile_writer *w, char *err, size_t errlen);

#endif
