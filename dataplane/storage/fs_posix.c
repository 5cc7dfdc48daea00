/* kraftd: the file operations of include/kraft/fs.h on the real file system. Stateless:
 * any thread may use it (the flush thread does, while the dataplane owns the log). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kraft/fs.h"

static int
px_open(void *ctx, const char *path, unsigned flags)
{
	int f = O_CLOEXEC, fd;

	(void)ctx;
	if (flags & KR_FS_DIR)
		f |= O_RDONLY | O_DIRECTORY;
	else
		f |= (flags & KR_FS_RDWR) ? O_RDWR : O_RDONLY;
	if (flags & KR_FS_CREATE)
		f |= O_CREAT;
	if (flags & KR_FS_TRUNC)
		f |= O_TRUNC;
	do
		fd = open(path, f, 0644);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}

static void
px_close(void *ctx, int h)
{
	(void)ctx;
	close(h);
}

static int64_t
px_pread(void *ctx, int h, void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	(void)ctx;
	do
		n = pread(h, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int64_t
px_pwrite(void *ctx, int h, const void *buf, size_t len, uint64_t off)
{
	ssize_t n;

	(void)ctx;
	do
		n = pwrite(h, buf, len, (off_t)off);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int
px_sync(void *ctx, int h)
{
	(void)ctx;
	return fdatasync(h) == 0 ? 0 : -errno;
}

static int
px_writeback(void *ctx, int h, uint64_t off, uint64_t len)
{
	(void)ctx;
	return sync_file_range(h, (off64_t)off, (off64_t)len, SYNC_FILE_RANGE_WRITE) == 0 ? 0
											  : -errno;
}

static int
px_sync_dir(void *ctx, int h)
{
	(void)ctx;
	return fsync(h) == 0 ? 0 : -errno;
}

static int
px_truncate(void *ctx, int h, uint64_t len)
{
	(void)ctx;
	return ftruncate(h, (off_t)len) == 0 ? 0 : -errno;
}

static int64_t
px_size(void *ctx, int h)
{
	struct stat st;

	(void)ctx;
	return fstat(h, &st) == 0 ? (int64_t)st.st_size : -errno;
}

static int
px_stat(void *ctx, const char *path, bool *is_dir, uint64_t *len)
{
	struct stat st;

	(void)ctx;
	if (stat(path, &st) != 0)
		return -errno;
	*is_dir = S_ISDIR(st.st_mode);
	*len = (uint64_t)st.st_size;
	return 0;
}

static int
px_rename(void *ctx, const char *from, const char *to)
{
	(void)ctx;
	return rename(from, to) == 0 ? 0 : -errno;
}

static int
px_unlink(void *ctx, const char *path)
{
	(void)ctx;
	return unlink(path) == 0 ? 0 : -errno;
}

static int
px_mkdir(void *ctx, const char *path)
{
	(void)ctx;
	return mkdir(path, 0755) == 0 ? 0 : -errno;
}

static int
px_list(void *ctx, const char *dir, int (*each)(void *arg, const char *name), void *arg)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	(void)ctx;
	if (d == NULL)
		return -errno;
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			rc = each(arg, de->d_name);
	closedir(d);
	return rc;
}

static const struct kr_fs_ops posix_ops = {
	.open = px_open,
	.close = px_close,
	.pread = px_pread,
	.pwrite = px_pwrite,
	.sync = px_sync,
	.writeback = px_writeback,
	.sync_dir = px_sync_dir,
	.truncate = px_truncate,
	.size = px_size,
	.stat = px_stat,
	.rename = px_rename,
	.unlink = px_unlink,
	.mkdir = px_mkdir,
	.list = px_list,
};

static const struct kr_fs posix_fs = {.ops = &posix_ops, .ctx = NULL};

const struct kr_fs *
kr_fs_posix(void)
{
	return &posix_fs;
}
