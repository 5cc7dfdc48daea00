/* kraftd: file helpers for durable storage; see include/kraft/fileio.h. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kraft/fileio.h"

int
kr_write_full(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		p += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int
kr_read_full(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, off + (off_t)got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (int)got;
}

int
kr_fsync_fd(int fd)
{
	return fsync(fd) == 0 ? 0 : -errno;
}

int
kr_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -errno;
	rc = kr_fsync_fd(fd);
	close(fd);
	return rc;
}

int
kr_mkdir_durable(const char *path)
{
	char buf[PATH_MAX];
	struct stat st;
	size_t n;
	int rc;

	if (stat(path, &st) == 0)
		return S_ISDIR(st.st_mode) ? 0 : -ENOTDIR;
	if (errno != ENOENT)
		return -errno;
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
		rc = kr_mkdir_durable(buf);
		*slash = '/';
		if (rc != 0)
			return rc;
	}
	if (mkdir(buf, 0755) != 0 && errno != EEXIST)
		return -errno;
	return kr_fsync_dir(dirname(buf));
}

int
kr_write_file_atomic(const char *dir, const char *name, const void *buf, size_t len)
{
	char tmp[PATH_MAX], dst[PATH_MAX];
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, name) >= (int)sizeof(tmp) ||
	    snprintf(dst, sizeof(dst), "%s/%s", dir, name) >= (int)sizeof(dst))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	rc = kr_write_full(fd, buf, len, 0);
	if (rc == 0)
		rc = kr_fsync_fd(fd);
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, dst) != 0)
		rc = -errno;
	if (rc == 0)
		rc = kr_fsync_dir(dir);
	if (rc != 0)
		unlink(tmp);
	return rc;
}

int
kr_read_file(const char *dir, const char *name, void *buf, size_t cap)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, rc;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) != 0) {
		rc = -errno;
		goto out;
	}
	if ((size_t)st.st_size > cap) {
		rc = -EFBIG;
		goto out;
	}
	rc = kr_read_full(fd, buf, (size_t)st.st_size, 0);
out:
	close(fd);
	return rc;
}
