/* kraftd: file helpers for durable storage (log segments, quorum state, identity):
 * full reads and writes, directory syncs, atomic replacement. All go through a file
 * system's operations (include/kraft/fs.h; NULL: the real one). */
#ifndef KRAFT_FILEIO_H
#define KRAFT_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "kraft/fs.h"

/** Write all len bytes at off, retrying short writes. @return 0 or -errno. */
int kr_write_full(const struct kr_fs *fs, int h, const void *buf, size_t len, uint64_t off);

/** Read up to len bytes at off, stopping only at end of file. @return bytes read or -errno. */
int kr_read_full(const struct kr_fs *fs, int h, void *buf, size_t len, uint64_t off);

/** Make the entries of the directory at path durable. @return 0 or -errno. */
int kr_fsync_dir(const struct kr_fs *fs, const char *path);

/**
 * Create directory path and any missing parents, unless it exists, syncing each new
 * directory's parent so the new entries survive a crash. @return 0 or -errno
 * (-ENOTDIR if path exists and is not a directory).
 */
int kr_mkdir_durable(const struct kr_fs *fs, const char *path);

/**
 * Replace dir/name with len bytes, atomically and durably: write dir/name.tmp, sync it,
 * rename it over dir/name, sync dir. A crash leaves either the old or the new file.
 * @return 0 or -errno.
 */
int kr_write_file_atomic(const struct kr_fs *fs, const char *dir, const char *name, const void *buf,
			 size_t len);

/**
 * Read the whole of dir/name into buf (at most cap bytes).
 * @return the length, -EFBIG if the file is larger than cap, or -errno (-ENOENT if it
 *   does not exist).
 */
int kr_read_file(const struct kr_fs *fs, const char *dir, const char *name, void *buf, size_t cap);

/** Remove dir/name durably (sync dir); a missing file is not an error. @return 0 or -errno. */
int kr_remove_file(const struct kr_fs *fs, const char *dir, const char *name);

/** Does dir/name exist? */
bool kr_file_exists(const struct kr_fs *fs, const char *dir, const char *name);

#endif /* KRAFT_FILEIO_H */
