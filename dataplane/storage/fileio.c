/* kraftd: file helpers for durable storage; see include/kraft/fileio.h. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kraft/fileio.h"

int
kr_write_full(const struct kr_fs *fs, int h, const void *buf, size_t len, uint64_t off)
{
	const char *p = buf;

	fs = kr_fs_or_posix(fs);
	while (len > 0) {
		int64_t n = fs->ops->pwrite(fs->ctx, h, p, len, off);

		if (n < 0)
			return (int)n;
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int
kr_read_full(const struct kr_fs *fs, int h, void *buf, size_t len, uint64_t off)
{
	char *p = buf;
	size_t got = 0;

	fs = kr_fs_or_posix(fs);
	while (got < len) {
		int64_t n = fs->ops->pread(fs->ctx, h, p + got, len - got, off + got);

		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (int)got;
}

int
kr_fsync_dir(const struct kr_fs *fs, const char *path)
{
	int h, rc;

	fs = kr_fs_or_posix(fs);
	h = fs->ops->open(fs->ctx, path, KR_FS_DIR);
	if (h < 0)
		return h;
	rc = fs->ops->sync_dir(fs->ctx, h);
	fs->ops->close(fs->ctx, h);
	return rc;
}

int
kr_mkdir_durable(const struct kr_fs *fs, const char *path)
{
	char buf[PATH_MAX];
	bool is_dir;
	uint64_t len;
	size_t n;
	int rc;

	fs = kr_fs_or_posix(fs);
	rc = fs->ops->stat(fs->ctx, path, &is_dir, &len);
	if (rc == 0)
		return is_dir ? 0 : -ENOTDIR;
	if (rc != -ENOENT)
		return rc;
	n = strlen(path);
	if (n == 0 || n >= sizeof(buf))
		return n ? -ENAMETOOLONG : -ENOENT;
	memcpy(buf, path, n + 1);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	/* the parent first, then this one, then make this entry durable in the parent */
	char *slash = strrchr(buf, '/');

	if (slash != NULL && slash != buf) {
		*slash = '\0';
		rc = kr_mkdir_durable(fs, buf);
		*slash = '/';
		if (rc != 0)
			return rc;
	}
	rc = fs->ops->mkdir(fs->ctx, buf);
	if (rc != 0 && rc != -EEXIST)
		return rc;
	if (slash == NULL)
		return kr_fsync_dir(fs, ".");
	if (slash == buf)
		return kr_fsync_dir(fs, "/");
	*slash = '\0';
	return kr_fsync_dir(fs, buf);
}

int
kr_write_file_atomic(const struct kr_fs *fs, const char *dir, const char *name, const void *buf,
		     size_t len)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int h, rc;

	fs = kr_fs_or_posix(fs);
	if (snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name) >= (int)sizeof(tmp) ||
	    snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= (int)sizeof(dst))
		return -ENAMETOOLONG;
	h = fs->ops->open(fs->ctx, tmp, KR_FS_RDWR | KR_FS_CREATE | KR_FS_TRUNC);
	if (h < 0)
		return h;
	rc = kr_write_full(fs, h, buf, len, 0);
	if (rc == 0)
		rc = fs->ops->sync(fs->ctx, h);
	fs->ops->close(fs->ctx, h);
	if (rc == 0)
		rc = fs->ops->rename(fs->ctx, tmp, dst);
	if (rc == 0)
		rc = kr_fsync_dir(fs, dir);
	if (rc != 0)
		fs->ops->unlink(fs->ctx, tmp);
	return rc;
}

int
kr_read_file(const struct kr_fs *fs, const char *dir, const char *name, void *buf, size_t cap)
{
	char path[PATH_MAX];
	int64_t size;
	int h, rc;

	fs = kr_fs_or_posix(fs);
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	h = fs->ops->open(fs->ctx, path, KR_FS_READ);
	if (h < 0)
		return h;
	size = fs->ops->size(fs->ctx, h);
	if (size < 0)
		rc = (int)size;
	else if ((uint64_t)size > cap)
		rc = -EFBIG;
	else
		rc = kr_read_full(fs, h, buf, (size_t)size, 0);
	fs->ops->close(fs->ctx, h);
	return rc;
}

int
kr_remove_file(const struct kr_fs *fs, const char *dir, const char *name)
{
	char path[PATH_MAX];
	int rc;

	fs = kr_fs_or_posix(fs);
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	rc = fs->ops->unlink(fs->ctx, path);
	if (rc == -ENOENT)
		return 0;
	return rc != 0 ? rc : kr_fsync_dir(fs, dir);
}

bool
kr_file_exists(const struct kr_fs *fs, const char *dir, const char *name)
{
	char path[PATH_MAX];
	bool is_dir;
	uint64_t len;

	fs = kr_fs_or_posix(fs);
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return false;
	return fs->ops->stat(fs->ctx, path, &is_dir, &len) == 0;
}
