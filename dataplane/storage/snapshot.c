/* kraftd: snapshot files; the format is in include/kraft/snapshot.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/crc32c.h"
#include "kraft/fileio.h"
#include "kraft/le.h"
#include "kraft/snapshot.h"

#define S_MAGIC 0
#define S_VERSION 8
#define S_FLAGS 12
#define S_CLUSTER 16
#define S_END 32
#define S_EPOCH 40
#define S_TIMESTAMP 48
#define S_SM 56
#define S_CRC 72
_Static_assert(S_CRC + 4 == KR_SNAP_HDR_BYTES, "snapshot header layout");

#define END_PAYLOAD 20

static void
say(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || why_len == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

static int
path_of(char *buf, size_t cap, const char *dir, struct kr_snap_id id, bool part)
{
	char name[KR_SNAP_NAME_MAX];
	int n;

	kr_snap_name(id, part, name);
	n = snprintf(buf, cap, "%s/%s", dir, name);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

void
kr_snap_name(struct kr_snap_id id, bool part, char buf[KR_SNAP_NAME_MAX])
{
	snprintf(buf, KR_SNAP_NAME_MAX, "%020" PRIu64 "-%010" PRIu32 "%s", id.end_offset, id.epoch,
		 part ? KR_SNAP_PART_SUFFIX : KR_SNAP_SUFFIX);
}

/* n decimal digits at p into *v; 0 if any is not a digit or the value overflows */
static bool
digits(const char *p, unsigned n, uint64_t max, uint64_t *v)
{
	uint64_t x = 0;

	for (unsigned i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9' || x > (max - (uint64_t)(p[i] - '0')) / 10)
			return false;
		x = x * 10 + (uint64_t)(p[i] - '0');
	}
	*v = x;
	return true;
}

int
kr_snap_parse_name(const char *name, struct kr_snap_id *id, bool *part)
{
	uint64_t end, epoch;

	if (strlen(name) < 31 || name[20] != '-' || !digits(name, 20, UINT64_MAX, &end) ||
	    !digits(name + 21, 10, UINT32_MAX, &epoch))
		return 0;
	if (strcmp(name + 31, KR_SNAP_SUFFIX) == 0)
		*part = false;
	else if (strcmp(name + 31, KR_SNAP_PART_SUFFIX) == 0)
		*part = true;
	else
		return 0;
	id->end_offset = end;
	id->epoch = (uint32_t)epoch;
	return 1;
}

/* ---- listing ---- */

struct listing {
	struct kr_snap_id *ids;
	unsigned cap, n;
	const struct kr_fs *fs;
	const char *dir;
	int removed;
	bool parts; /* remove .part files instead */
};

static int
list_one(void *arg, const char *name)
{
	struct listing *l = arg;
	struct kr_snap_id id;
	bool part;
	unsigned i;

	if (kr_snap_parse_name(name, &id, &part) != 1)
		return 0;
	if (l->parts) {
		if (part) {
			int rc = kr_remove_file(l->fs, l->dir, name);

			if (rc != 0)
				return rc;
			l->removed++;
		}
		return 0;
	}
	if (part)
		return 0;
	/* keep the newest cap, ascending: insert, dropping the oldest when full */
	l->n++;
	if (l->cap == 0)
		return 0;
	unsigned held = l->n - 1 < l->cap ? l->n - 1 : l->cap;

	if (held == l->cap) {
		if (kr_snap_id_cmp(id, l->ids[0]) <= 0)
			return 0;
		memmove(l->ids, l->ids + 1, (held - 1) * sizeof(*l->ids));
		held--;
	}
	for (i = held; i > 0 && kr_snap_id_cmp(l->ids[i - 1], id) > 0; i--)
		l->ids[i] = l->ids[i - 1];
	l->ids[i] = id;
	return 0;
}

int
kr_snap_list(const struct kr_fs *fs, const char *dir, struct kr_snap_id *ids, unsigned cap)
{
	struct listing l = {.ids = ids, .cap = cap};
	int rc;

	fs = kr_fs_or_posix(fs);
	rc = fs->ops->list(fs->ctx, dir, list_one, &l);
	return rc < 0 ? rc : (int)l.n;
}

int
kr_snap_remove_parts(const struct kr_fs *fs, const char *dir)
{
	struct listing l = {.fs = kr_fs_or_posix(fs), .dir = dir, .parts = true};
	int rc = l.fs->ops->list(l.fs->ctx, dir, list_one, &l);

	return rc < 0 ? rc : l.removed;
}

int
kr_snap_remove(const struct kr_fs *fs, const char *dir, struct kr_snap_id id)
{
	char name[KR_SNAP_NAME_MAX];

	kr_snap_name(id, false, name);
	return kr_remove_file(fs, dir, name);
}

int
kr_snap_remove_all(const struct kr_fs *fs, const char *dir)
{
	struct kr_snap_id ids[16];
	int k, total = 0;

	while ((k = kr_snap_list(fs, dir, ids, 16)) > 0) {
		for (int i = 0; i < k && i < 16; i++) {
			int rc = kr_snap_remove(fs, dir, ids[i]);

			if (rc != 0)
				return rc;
		}
		total += k < 16 ? k : 16;
	}
	return k < 0 && k != -ENOENT ? k : total;
}

int
kr_snap_clean(const struct kr_fs *fs, const char *dir, uint64_t log_bytes, int64_t retention_bytes,
	      int64_t retention_ms, int64_t wall_us, struct kr_snap_clean_step *step)
{
	struct kr_snap_id ids[KR_SNAP_CLEAN_MAX];
	char path[KR_SNAP_DIR_MAX + KR_SNAP_NAME_MAX + 2];
	bool broke, is_dir;
	int k, rc;

	fs = kr_fs_or_posix(fs);
	*step = (struct kr_snap_clean_step){.total = log_bytes};
	if (retention_bytes < 0 && retention_ms < 0)
		return 0;
	k = kr_snap_list(fs, dir, ids, KR_SNAP_CLEAN_MAX);
	if (k < 0)
		return k == -ENOENT ? 0 : k;
	if (k > KR_SNAP_CLEAN_MAX)
		k = KR_SNAP_CLEAN_MAX; /* the oldest are past the list: they go as it shrinks */
	if (k < 2)
		return 0;
	for (int i = 0; i < k; i++) {
		uint64_t len = 0;

		if (path_of(path, sizeof(path), dir, ids[i], false) == 0 &&
		    fs->ops->stat(fs->ctx, path, &is_dir, &len) == 0) {
			step->total += len;
			if (i == 0)
				step->removed_bytes = len;
		}
	}
	broke = retention_bytes > 0 && step->total > (uint64_t)retention_bytes;
	if (!broke && retention_ms > 0) {
		struct kr_snap_reader r;
		char why[128];

		if (kr_snap_open(&r, fs, dir, ids[0], NULL, why, sizeof(why)) == 0) {
			broke = r.meta.last_timestamp_us < wall_us - retention_ms * 1000;
			kr_snap_close(&r);
		} else {
			broke = true; /* unreadable: older than any whole one after it */
		}
	}
	if (!broke)
		return 0;
	step->removed = ids[0];
	step->target = ids[1].end_offset;
	rc = kr_snap_remove(fs, dir, ids[0]);
	return rc == 0 ? 1 : rc;
}

/* ---- writing ---- */

static int
fail(struct kr_snap_writer *w, int rc)
{
	if (w->err == 0)
		w->err = rc;
	return w->err;
}

static int
put(struct kr_snap_writer *w, const void *p, size_t len)
{
	int rc = kr_write_full(w->fs, w->h, p, len, w->pos);

	if (rc != 0)
		return fail(w, rc);
	w->pos += len;
	return 0;
}

static void
header_encode(uint8_t *b, const struct kr_snap_meta *m)
{
	memset(b, 0, KR_SNAP_HDR_BYTES);
	memcpy(b + S_MAGIC, KR_SNAP_MAGIC, 8);
	kr_put_le32(b + S_VERSION, KR_SNAP_VERSION);
	memcpy(b + S_CLUSTER, m->cluster_id, KR_UUID_BYTES);
	kr_put_le64(b + S_END, m->id.end_offset);
	kr_put_le32(b + S_EPOCH, m->id.epoch);
	kr_put_le64(b + S_TIMESTAMP, (uint64_t)m->last_timestamp_us);
	memcpy(b + S_SM, m->sm_name, strnlen(m->sm_name, KR_SNAP_SM_NAME_BYTES));
	kr_put_le32(b + S_CRC, kr_crc32c(0, b, S_CRC));
}

int
kr_snap_write_begin(struct kr_snap_writer *w, const struct kr_fs *fs, const char *dir,
		    const struct kr_snap_meta *m)
{
	char path[KR_SNAP_DIR_MAX + KR_SNAP_NAME_MAX];
	uint8_t hdr[KR_SNAP_HDR_BYTES];
	bool is_dir;
	uint64_t len;
	int rc;

	*w = (struct kr_snap_writer){.fs = kr_fs_or_posix(fs), .id = m->id, .h = -1};
	if ((size_t)snprintf(w->dir, sizeof(w->dir), "%s", dir) >= sizeof(w->dir))
		return -ENAMETOOLONG;
	rc = path_of(path, sizeof(path), dir, m->id, false);
	if (rc != 0)
		return rc;
	rc = w->fs->ops->stat(w->fs->ctx, path, &is_dir, &len);
	if (rc == 0)
		return -EEXIST;
	if (rc != -ENOENT)
		return rc;
	path_of(path, sizeof(path), dir, m->id, true);
	w->h = w->fs->ops->open(w->fs->ctx, path, KR_FS_RDWR | KR_FS_CREATE | KR_FS_TRUNC);
	if (w->h < 0) {
		rc = w->h;
		w->h = -1;
		return rc;
	}
	header_encode(hdr, m);
	w->whole = kr_crc32c(0, hdr + S_CRC, 4);
	rc = put(w, hdr, sizeof(hdr));
	if (rc != 0)
		kr_snap_write_abort(w);
	return rc;
}

static uint32_t
chunk_crc(const uint8_t *hdr8, const void *p, uint32_t len)
{
	return kr_crc32c(kr_crc32c(0, hdr8, 8), p, len);
}

static int
chunk_put(struct kr_snap_writer *w, uint32_t type, const void *p, uint32_t len)
{
	uint8_t h[KR_SNAP_CHUNK_HDR_BYTES];
	int rc;

	kr_put_le32(h, type);
	kr_put_le32(h + 4, len);
	kr_put_le32(h + 8, chunk_crc(h, p, len));
	rc = put(w, h, sizeof(h));
	if (rc == 0 && len > 0)
		rc = put(w, p, len);
	if (rc != 0)
		return rc;
	w->whole = kr_crc32c(w->whole, h + 8, 4);
	w->chunks++;
	return 0;
}

int
kr_snap_write_chunk(struct kr_snap_writer *w, uint32_t type, const void *p, uint32_t len)
{
	if (w->err != 0)
		return w->err;
	if (w->h < 0)
		return -EBADF;
	if (type == KR_SNAP_END || len > KR_SNAP_CHUNK_MAX)
		return -EINVAL;
	return chunk_put(w, type, p, len);
}

int
kr_snap_write_end(struct kr_snap_writer *w)
{
	uint8_t end[END_PAYLOAD];
	int rc;

	if (w->err != 0 || w->h < 0) {
		rc = w->err != 0 ? w->err : -EBADF;
		kr_snap_write_abort(w);
		return rc;
	}
	kr_put_le64(end, w->chunks);
	kr_put_le64(end + 8, w->pos);
	kr_put_le32(end + 16, w->whole);
	rc = chunk_put(w, KR_SNAP_END, end, sizeof(end));
	if (rc == 0)
		rc = w->fs->ops->sync(w->fs->ctx, w->h);
	if (rc != 0) {
		kr_snap_write_abort(w);
		return rc;
	}
	w->fs->ops->close(w->fs->ctx, w->h);
	w->h = -1;
	rc = kr_snap_publish(w->fs, w->dir, w->id);
	return rc != 0 ? fail(w, rc) : 0;
}

int
kr_snap_set_aside(const struct kr_fs *fs, const char *dir, struct kr_snap_id id)
{
	char from[KR_SNAP_DIR_MAX + KR_SNAP_NAME_MAX], to[KR_SNAP_DIR_MAX + KR_SNAP_NAME_MAX + 8];
	int rc;

	fs = kr_fs_or_posix(fs);
	rc = path_of(from, sizeof(from), dir, id, false);
	if (rc != 0)
		return rc;
	snprintf(to, sizeof(to), "%s%s", from, KR_SNAP_DAMAGED_SUFFIX);
	rc = fs->ops->rename(fs->ctx, from, to);
	return rc != 0 ? rc : kr_fsync_dir(fs, dir);
}

int
kr_snap_publish(const struct kr_fs *fs, const char *dir, struct kr_snap_id id)
{
	char from[KR_SNAP_DIR_MAX + KR_SNAP_NAME_MAX], to[KR_SNAP_DIR_MAX + KR_SNAP_NAME_MAX];
	int rc;

	fs = kr_fs_or_posix(fs);
	rc = path_of(from, sizeof(from), dir, id, true);
	if (rc == 0)
		rc = path_of(to, sizeof(to), dir, id, false);
	if (rc != 0)
		return rc;
	rc = fs->ops->rename(fs->ctx, from, to);
	if (rc == 0)
		rc = kr_fsync_dir(fs, dir);
	if (rc != 0) {
		/* not known to be durable under either name: neither is kept */
		fs->ops->unlink(fs->ctx, to);
		fs->ops->unlink(fs->ctx, from);
	}
	return rc;
}

void
kr_snap_write_abort(struct kr_snap_writer *w)
{
	char path[KR_SNAP_DIR_MAX + KR_SNAP_NAME_MAX];

	if (w->h >= 0)
		w->fs->ops->close(w->fs->ctx, w->h);
	w->h = -1;
	if (path_of(path, sizeof(path), w->dir, w->id, true) == 0)
		w->fs->ops->unlink(w->fs->ctx, path);
	fail(w, -ECANCELED);
}

/* ---- reading ---- */

static int snap_open(struct kr_snap_reader *r, const struct kr_fs *fs, const char *dir,
		     struct kr_snap_id id, bool part, const uint8_t *cluster_id, char *why,
		     size_t why_len);

int
kr_snap_open(struct kr_snap_reader *r, const struct kr_fs *fs, const char *dir,
	     struct kr_snap_id id, const uint8_t *cluster_id, char *why, size_t why_len)
{
	return snap_open(r, fs, dir, id, false, cluster_id, why, why_len);
}

static int
snap_open(struct kr_snap_reader *r, const struct kr_fs *fs, const char *dir, struct kr_snap_id id,
	  bool part, const uint8_t *cluster_id, char *why, size_t why_len)
{
	char path[KR_SNAP_DIR_MAX + KR_SNAP_NAME_MAX];
	uint8_t b[KR_SNAP_HDR_BYTES];
	int64_t size;
	int rc;

	*r = (struct kr_snap_reader){.fs = kr_fs_or_posix(fs), .h = -1};
	rc = path_of(path, sizeof(path), dir, id, part);
	if (rc != 0)
		return rc;
	r->h = r->fs->ops->open(r->fs->ctx, path, KR_FS_READ);
	if (r->h < 0) {
		rc = r->h;
		r->h = -1;
		say(why, why_len, "cannot open %s: %s", path, strerror(-rc));
		return rc;
	}
	size = r->fs->ops->size(r->fs->ctx, r->h);
	rc = size < 0 ? (int)size : kr_read_full(r->fs, r->h, b, sizeof(b), 0);
	if (rc < 0) {
		say(why, why_len, "cannot read %s: %s", path, strerror(-rc));
		goto out;
	}
	r->size = (uint64_t)size;
	if (rc < (int)sizeof(b) || memcmp(b + S_MAGIC, KR_SNAP_MAGIC, 8) != 0 ||
	    kr_get_le32(b + S_CRC) != kr_crc32c(0, b, S_CRC)) {
		say(why, why_len, "%s: %s", path,
		    rc < (int)sizeof(b)				 ? "shorter than a snapshot header"
		    : memcmp(b + S_MAGIC, KR_SNAP_MAGIC, 8) != 0 ? "not a snapshot (bad magic)"
								 : "header CRC mismatch");
		rc = -EBADMSG;
		goto out;
	}
	if (kr_get_le32(b + S_VERSION) != KR_SNAP_VERSION || kr_get_le32(b + S_FLAGS) != 0) {
		say(why, why_len,
		    "%s: format version %" PRIu32 " flags %" PRIu32 " (this build reads %d, 0)",
		    path, kr_get_le32(b + S_VERSION), kr_get_le32(b + S_FLAGS), KR_SNAP_VERSION);
		rc = -EBADMSG;
		goto out;
	}
	r->meta.id.end_offset = kr_get_le64(b + S_END);
	r->meta.id.epoch = kr_get_le32(b + S_EPOCH);
	if (kr_snap_id_cmp(r->meta.id, id) != 0) {
		say(why, why_len,
		    "%s holds snapshot %" PRIu64 "-%" PRIu32 ", not what its name says", path,
		    r->meta.id.end_offset, r->meta.id.epoch);
		rc = -EBADMSG;
		goto out;
	}
	memcpy(r->meta.cluster_id, b + S_CLUSTER, KR_UUID_BYTES);
	if (cluster_id != NULL && memcmp(cluster_id, r->meta.cluster_id, KR_UUID_BYTES) != 0) {
		say(why, why_len, "%s is a snapshot of another cluster", path);
		rc = -EXDEV;
		goto out;
	}
	r->meta.last_timestamp_us = (int64_t)kr_get_le64(b + S_TIMESTAMP);
	memcpy(r->meta.sm_name, b + S_SM, KR_SNAP_SM_NAME_BYTES);
	r->meta.sm_name[KR_SNAP_SM_NAME_BYTES] = 0;
	r->pos = KR_SNAP_HDR_BYTES;
	r->whole = kr_crc32c(0, b + S_CRC, 4);
	return 0;
out:
	kr_snap_close(r);
	return rc;
}

static int
damaged(struct kr_snap_reader *r, char *why, size_t why_len, const char *what)
{
	say(why, why_len,
	    "snapshot %" PRIu64 "-%" PRIu32 ": %s (chunk %" PRIu64 " at byte %" PRIu64 ")",
	    r->meta.id.end_offset, r->meta.id.epoch, what, r->chunks, r->pos);
	return -EBADMSG;
}

int
kr_snap_next(struct kr_snap_reader *r, uint32_t *type, uint8_t *buf, uint32_t cap, uint32_t *len,
	     char *why, size_t why_len)
{
	uint8_t h[KR_SNAP_CHUNK_HDR_BYTES];
	uint32_t t, n;
	int rc;

	if (r->h < 0)
		return -EBADF;
	if (r->ended)
		return 0;
	if (r->size - r->pos < sizeof(h))
		return damaged(r, why, why_len, "the file ends before its end chunk");
	rc = kr_read_full(r->fs, r->h, h, sizeof(h), r->pos);
	if (rc < 0)
		return rc;
	if (rc < (int)sizeof(h))
		return damaged(r, why, why_len, "the file ends inside a chunk header");
	t = kr_get_le32(h);
	n = kr_get_le32(h + 4);
	if (n > KR_SNAP_CHUNK_MAX || n > r->size - r->pos - sizeof(h))
		return damaged(r, why, why_len, "a chunk longer than the file or the limit");
	if (t == KR_SNAP_END ? n != END_PAYLOAD : n > cap)
		return damaged(r, why, why_len,
			       t == KR_SNAP_END ? "a malformed end chunk"
						: "a chunk larger than the reader's buffer");
	{
		uint8_t end[END_PAYLOAD];
		uint8_t *dst = t == KR_SNAP_END ? end : buf;

		rc = kr_read_full(r->fs, r->h, dst, n, r->pos + sizeof(h));
		if (rc < 0)
			return rc;
		if ((uint32_t)rc < n)
			return damaged(r, why, why_len, "the file ends inside a chunk");
		if (chunk_crc(h, dst, n) != kr_get_le32(h + 8))
			return damaged(r, why, why_len, "chunk CRC mismatch");
		if (t == KR_SNAP_END) {
			if (kr_get_le64(end) != r->chunks || kr_get_le64(end + 8) != r->pos ||
			    kr_get_le32(end + 16) != r->whole)
				return damaged(r, why, why_len,
					       "the end chunk does not match the chunks read "
					       "(one lost, repeated or out of order)");
			if (r->pos + sizeof(h) + n != r->size)
				return damaged(r, why, why_len, "bytes after the end chunk");
			r->ended = true;
			r->pos = r->size;
			return 0;
		}
	}
	r->whole = kr_crc32c(r->whole, h + 8, 4);
	r->chunks++;
	r->pos += sizeof(h) + n;
	*type = t;
	*len = n;
	return 1;
}

void
kr_snap_close(struct kr_snap_reader *r)
{
	if (r->h >= 0)
		r->fs->ops->close(r->fs->ctx, r->h);
	r->h = -1;
}

int
kr_snap_verify(const struct kr_fs *fs, const char *dir, struct kr_snap_id id, bool part,
	       const uint8_t *cluster_id, uint64_t *bytes, char *why, size_t why_len)
{
	struct kr_snap_reader r;
	uint32_t type, len;
	uint8_t *buf;
	int rc = snap_open(&r, fs, dir, id, part, cluster_id, why, why_len);

	if (rc != 0)
		return rc;
	buf = malloc(KR_SNAP_CHUNK_MAX);
	if (buf == NULL) {
		kr_snap_close(&r);
		return -ENOMEM;
	}
	while ((rc = kr_snap_next(&r, &type, buf, KR_SNAP_CHUNK_MAX, &len, why, why_len)) == 1)
		;
	if (rc == 0 && bytes != NULL)
		*bytes = r.size;
	free(buf);
	kr_snap_close(&r);
	return rc;
}
