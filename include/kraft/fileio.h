/* kraftd: file helpers for durable storage (log segments, quorum state, identity):
 * full reads and writes, fsync of files and directories, atomic replacement. */
#ifndef KRAFT_FILEIO_H
#define KRAFT_FILEIO_H

#include <stddef.h>
#include <sys/types.h>

/** pwrite all len bytes at off, retrying short writes and EINTR. @return 0 or -errno. */
int kr_write_full(int fd, const void *buf, size_t len, off_t off);

/** pread up to len bytes at off, stopping only at end of file. @return bytes read or -errno. */
int kr_read_full(int fd, void *buf, size_t len, off_t off);

/** fsync fd (a file or a directory). @return 0 or -errno. */
int kr_fsync_fd(int fd);

/** fsync the directory at path. @return 0 or -errno. */
int kr_fsync_dir(const char *path);

/**
 * Create directory path (mode 0755) and any missing parents, unless it exists, fsyncing
 * each new directory's parent so the new entries survive a crash. @return 0 or -errno
 * (-ENOTDIR if path exists and is not a directory).
 */
int kr_mkdir_durable(const char *path);

/**
 * Replace dir/name with len bytes, atomically and durably: write dir/name.tmp, fsync it,
 * rename it over dir/name, fsync dir. A crash leaves either the old or the new file.
 * @return 0 or -errno.
 */
int kr_write_file_atomic(const char *dir, const char *name, const void *buf, size_t len);

/**
 * Read the whole of dir/name into buf (at most cap bytes).
 * @return the length, -EFBIG if the file is larger than cap, or -errno (-ENOENT if it
 *   does not exist).
 */
int kr_read_file(const char *dir, const char *name, void *buf, size_t cap);

#endif /* KRAFT_FILEIO_H */
