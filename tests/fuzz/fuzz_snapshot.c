/* kraftd fuzz target: snapshot files and state machine images. The input's bytes become
 * three chunks (voters, producers, state) written by the snapshot writer into a file
 * system in memory; the file is then left whole, cut short, or given one flipped bit,
 * and read back. Oracles: a whole file reads back chunk for chunk and ends cleanly; a
 * cut or flipped file is refused (-EBADMSG), never read to its end. The state chunk's
 * bytes are also loaded into both state machines as an image (malformed ones must be
 * refused, not crash), and the raw input is read as a snapshot file of its own.
 * Input: byte 0 the damage (0 none, 1 cut, 2 flip), bytes 1..2 where; the rest the three
 * payloads, split evenly. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/fs.h"
#include "kraft/le.h"
#include "kraft/sm.h"
#include "kraft/snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FILES 4
#define DIR_HANDLE 100
#define CHUNK_IN 4096

struct mfile {
	char name[KR_SNAP_DIR_MAX + KR_SNAP_NAME_MAX];
	uint8_t *buf;
	size_t len, cap;
	bool used;
};

static struct mfile files[FILES];

static struct mfile *
lookup(const char *path)
{
	for (int i = 0; i < FILES; i++)
		if (files[i].used && strcmp(files[i].name, path) == 0)
			return &files[i];
	return NULL;
}

static int
m_open(void *ctx, const char *path, unsigned flags)
{
	struct mfile *f = lookup(path);

	(void)ctx;
	if (flags & KR_FS_DIR)
		return DIR_HANDLE;
	if (f == NULL) {
		if (!(flags & KR_FS_CREATE))
			return -ENOENT;
		for (int i = 0; i < FILES && f == NULL; i++)
			if (!files[i].used)
				f = &files[i];
		if (f == NULL || strlen(path) >= sizeof(f->name))
			return -ENOSPC;
		*f = (struct mfile){.used = true};
		snprintf(f->name, sizeof(f->name), "%s", path);
	}
	if (flags & KR_FS_TRUNC)
		f->len = 0;
	return (int)(f - files);
}

static void
m_close(void *ctx, int h)
{
	(void)ctx;
	(void)h;
}

static int64_t
m_pread(void *ctx, int h, void *buf, size_t len, uint64_t off)
{
	struct mfile *f = &files[h];

	(void)ctx;
	if (off >= f->len)
		return 0;
	if (len > f->len - off)
		len = f->len - (size_t)off;
	memcpy(buf, f->buf + off, len);
	return (int64_t)len;
}

static int64_t
m_pwrite(void *ctx, int h, const void *buf, size_t len, uint64_t off)
{
	struct mfile *f = &files[h];

	(void)ctx;
	if (len == 0)
		return 0;
	if (off + len > f->cap) {
		size_t cap = (size_t)(off + len) * 2;
		uint8_t *p = realloc(f->buf, cap);

		if (p == NULL)
			return -ENOSPC;
		f->buf = p;
		f->cap = cap;
	}
	if (off > f->len)
		memset(f->buf + f->len, 0, (size_t)off - f->len);
	memcpy(f->buf + off, buf, len);
	if (off + len > f->len)
		f->len = (size_t)(off + len);
	return (int64_t)len;
}

static int
m_ok(void *ctx, int h)
{
	(void)ctx;
	(void)h;
	return 0;
}

static int
m_truncate(void *ctx, int h, uint64_t len)
{
	(void)ctx;
	if (len < files[h].len)
		files[h].len = (size_t)len;
	return 0;
}

static int64_t
m_size(void *ctx, int h)
{
	(void)ctx;
	return (int64_t)files[h].len;
}

static int
m_stat(void *ctx, const char *path, bool *is_dir, uint64_t *len)
{
	struct mfile *f = lookup(path);

	(void)ctx;
	if (f == NULL)
		return -ENOENT;
	*is_dir = false;
	*len = f->len;
	return 0;
}

static int
m_rename(void *ctx, const char *from, const char *to)
{
	struct mfile *f = lookup(from), *t = lookup(to);

	(void)ctx;
	if (f == NULL)
		return -ENOENT;
	if (strlen(to) >= sizeof(f->name))
		return -ENAMETOOLONG;
	if (t != NULL && t != f) {
		free(t->buf);
		*t = (struct mfile){0};
	}
	snprintf(f->name, sizeof(f->name), "%s", to);
	return 0;
}

static int
m_unlink(void *ctx, const char *path)
{
	struct mfile *f = lookup(path);

	(void)ctx;
	if (f == NULL)
		return -ENOENT;
	free(f->buf);
	*f = (struct mfile){0};
	return 0;
}

static int
m_mkdir(void *ctx, const char *path)
{
	(void)ctx;
	(void)path;
	return 0;
}

static int
m_list(void *ctx, const char *dir, int (*each)(void *arg, const char *name), void *arg)
{
	size_t n = strlen(dir);

	(void)ctx;
	for (int i = 0; i < FILES; i++)
		if (files[i].used && strncmp(files[i].name, dir, n) == 0 &&
		    files[i].name[n] == '/') {
			int rc = each(arg, files[i].name + n + 1);

			if (rc != 0)
				return rc;
		}
	return 0;
}

static const struct kr_fs_ops mem_ops = {
	.open = m_open,
	.close = m_close,
	.pread = m_pread,
	.pwrite = m_pwrite,
	.sync = m_ok,
	.sync_dir = m_ok,
	.truncate = m_truncate,
	.size = m_size,
	.stat = m_stat,
	.rename = m_rename,
	.unlink = m_unlink,
	.mkdir = m_mkdir,
	.list = m_list,
};
static const struct kr_fs mem = {.ops = &mem_ops};

static void
load_as_image(const uint8_t *p, uint32_t len)
{
	const struct kr_sm_ops *all[] = {&kr_sm_digest, &kr_sm_kv};

	for (int i = 0; i < 2; i++) {
		void *sm = all[i]->create();

		if (sm == NULL)
			abort();
		int rc = all[i]->load(sm, p, len);

		if (rc != 0 && rc != -EBADMSG && rc != -ENOMEM)
			abort();
		(void)all[i]->digest(sm);
		all[i]->destroy(sm);
	}
}

static void
clear(void)
{
	for (int i = 0; i < FILES; i++) {
		free(files[i].buf);
		files[i] = (struct mfile){0};
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[KR_SNAP_CHUNK_MAX];
	const uint32_t types[3] = {KR_SNAP_VOTERS, KR_SNAP_PRODUCERS, KR_SNAP_STATE};
	struct kr_snap_meta m = {.id = {1000, 7}, .sm_name = "kv"};
	struct kr_snap_writer w;
	struct kr_snap_reader r;
	struct kr_snap_id id = m.id;
	struct mfile *f;
	unsigned damage, where;
	size_t each;
	uint32_t type, len;
	int rc, n = 0;
	char name[KR_SNAP_DIR_MAX + KR_SNAP_NAME_MAX];

	if (size < 3)
		return 0;
	damage = data[0] % 3;
	where = kr_get_le16(data + 1);
	data += 3;
	size -= 3;
	each = size / 3 < CHUNK_IN ? size / 3 : CHUNK_IN;
	load_as_image(data + 2 * each, (uint32_t)each);

	clear();
	if (kr_snap_write_begin(&w, &mem, "/s", &m) != 0)
		abort();
	for (int i = 0; i < 3; i++)
		if (kr_snap_write_chunk(&w, types[i], data + i * each, (uint32_t)each) != 0)
			abort();
	if (kr_snap_write_end(&w) != 0)
		abort();
	kr_snap_name(id, false, name + 3);
	memcpy(name, "/s/", 3);
	f = lookup(name);
	if (f == NULL)
		abort();
	if (damage == 1)
		f->len = where % f->len; /* cut short */
	else if (damage == 2)
		f->buf[where % f->len] ^= (uint8_t)(1u << (where >> 13)); /* one bit */
	rc = kr_snap_open(&r, &mem, "/s", id, NULL, NULL, 0);
	if (rc == 0) {
		while ((rc = kr_snap_next(&r, &type, buf, sizeof(buf), &len, NULL, 0)) == 1) {
			if (damage == 0 && (n > 2 || type != types[n] || len != each ||
					    memcmp(buf, data + n * each, each) != 0))
				abort(); /* a whole file read back wrong */
			n++;
		}
		kr_snap_close(&r);
	}
	if (damage == 0 ? rc != 0 || n != 3 : rc == 0)
		abort(); /* a whole file refused, or a damaged one read to its end */

	/* the raw input as a snapshot file of its own */
	clear();
	{
		int h = m_open(NULL, name, KR_FS_CREATE | KR_FS_RDWR);

		if (h < 0 || m_pwrite(NULL, h, data, size, 0) != (int64_t)size)
			abort();
		if (kr_snap_open(&r, &mem, "/s", id, NULL, NULL, 0) == 0) {
			while (kr_snap_next(&r, &type, buf, sizeof(buf), &len, NULL, 0) == 1)
				;
			kr_snap_close(&r);
		}
	}
	clear();
	return 0;
}
