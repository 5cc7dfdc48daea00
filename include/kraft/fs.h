/* kraftd: the file operations durable storage goes through. The log (log.c), the file
 * helpers (fileio.c), the data directory (datadir.c) and the node's marker files do
 * every read, write, sync, rename and listing through one table, so the same code runs
 * on the real file system (kr_fs_posix) and on kraftsim's simulated disks, which lose
 * unflushed pages, unsynced directory entries and flushed bits as real disks do.
 *
 * Every operation returns a non-negative result or a negative errno. Handles are small
 * non-negative ints (file descriptors on POSIX). Paths are whole paths. A NULL
 * struct kr_fs * anywhere means the real file system. */
#ifndef KRAFT_FS_H
#define KRAFT_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* open flags */
#define KR_FS_READ 0x01u   /* read only */
#define KR_FS_RDWR 0x02u   /* read and write */
#define KR_FS_CREATE 0x04u /* create the file if it does not exist */
#define KR_FS_TRUNC 0x08u  /* cut it to length 0 */
#define KR_FS_DIR 0x10u	   /* open a directory (for sync) */

struct kr_fs_ops {
	/** @return a handle, or -errno (-ENOENT, -EISDIR, -ENOTDIR, ...). */
	int (*open)(void *ctx, const char *path, unsigned flags);
	void (*close)(void *ctx, int h);
	/** Up to len bytes at off. @return bytes read (0 at the end), or -errno. */
	int64_t (*pread)(void *ctx, int h, void *buf, size_t len, uint64_t off);
	/** @return bytes written (may be fewer than len), or -errno (-ENOSPC, -EIO). */
	int64_t (*pwrite)(void *ctx, int h, const void *buf, size_t len, uint64_t off);
	/** Make a file's data and length durable (fdatasync). A failure means durability
	 * is unknown: the caller must not retry and trust it (fail-stop). */
	int (*sync)(void *ctx, int h);
	/** Optional (NULL: nothing to do): start writing bytes [off, off + len) back to the
	 * disk now, without waiting (sync_file_range's SYNC_FILE_RANGE_WRITE), so that a
	 * later sync has less to wait for. Promises nothing; only sync makes data durable. */
	int (*writeback)(void *ctx, int h, uint64_t off, uint64_t len);
	/** Make a directory's entries durable: files created, renamed or removed in it
	 * (fsync of a directory opened with KR_FS_DIR). */
	int (*sync_dir)(void *ctx, int h);
	int (*truncate)(void *ctx, int h, uint64_t len);
	/** @return the file's length, or -errno. */
	int64_t (*size)(void *ctx, int h);
	/** Does path exist: 0 with *is_dir and *len set, or -ENOENT (or -errno). */
	int (*stat)(void *ctx, const char *path, bool *is_dir, uint64_t *len);
	int (*rename)(void *ctx, const char *from, const char *to);
	int (*unlink)(void *ctx, const char *path);
	/** Create a directory (not its parents); -EEXIST if path exists. */
	int (*mkdir)(void *ctx, const char *path);
	/** Call each(arg, name) for every entry of directory dir (not "." and ".."), in no
	 * particular order; a nonzero return from each stops the listing and is returned. */
	int (*list)(void *ctx, const char *dir, int (*each)(void *arg, const char *name),
		    void *arg);
};

struct kr_fs {
	const struct kr_fs_ops *ops;
	void *ctx;
};

/** The real file system. */
const struct kr_fs *kr_fs_posix(void);

/** fs, or the real file system when fs is NULL. */
static inline const struct kr_fs *
kr_fs_or_posix(const struct kr_fs *fs)
{
	return fs != NULL ? fs : kr_fs_posix();
}

#endif /* KRAFT_FS_H */
