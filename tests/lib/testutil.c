/* kraftd tests: helpers (see testutil.h). Uses cmocka's assertions to fail the test. */
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "samples.h"
#include "testutil.h"

char *
tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	char tmpl[PATH_MAX];

	snprintf(tmpl, sizeof(tmpl), "%s/kraft-test-XXXXXX", base && *base ? base : "/tmp");
	assert_non_null(mkdtemp(tmpl));
	return strdup(tmpl);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tu_rmtree_free(char *path)
{
	if (path == NULL)
		return;
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(path);
}

static void
join(char *out, size_t n, const char *dir, const char *name)
{
	assert_true((size_t)snprintf(out, n, "%s/%s", dir, name) < n);
}

size_t
tu_file_size(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	join(p, sizeof(p), dir, name);
	assert_int_equal(stat(p, &st), 0);
	return (size_t)st.st_size;
}

int
tu_file_exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	struct stat st;

	join(p, sizeof(p), dir, name);
	return stat(p, &st) == 0;
}

void
tu_file_cut(const char *dir, const char *name, size_t len)
{
	char p[PATH_MAX];

	join(p, sizeof(p), dir, name);
	assert_int_equal(truncate(p, (off_t)len), 0);
}

void
tu_file_flip(const char *dir, const char *name, size_t pos, uint8_t mask)
{
	char p[PATH_MAX];
	uint8_t b;
	int fd;

	join(p, sizeof(p), dir, name);
	fd = open(p, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &b, 1, (off_t)pos), 1);
	b ^= mask;
	assert_int_equal(pwrite(fd, &b, 1, (off_t)pos), 1);
	close(fd);
}

void
tu_file_write(const char *dir, const char *name, const void *buf, size_t len)
{
	char p[PATH_MAX];
	int fd;

	join(p, sizeof(p), dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

size_t
tu_file_read(const char *dir, const char *name, void *buf, size_t cap)
{
	char p[PATH_MAX];
	ssize_t n;
	int fd;

	join(p, sizeof(p), dir, name);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, cap);
	assert_true(n >= 0);
	close(fd);
	return (size_t)n;
}

uint32_t
tu_records(uint8_t *buf, size_t cap, uint32_t count, uint32_t value_len, uint8_t fill)
{
	uint32_t n = smp_records(buf, cap, count, value_len, fill);

	assert_true(n > 0);
	return n;
}

uint32_t
tu_batch(uint8_t *buf, size_t cap, uint64_t base, uint32_t epoch, uint32_t count,
	 uint32_t value_len)
{
	uint32_t n = smp_batch(buf, cap, base, epoch, count, value_len);

	assert_true(n > 0);
	return n;
}
