/* kraftd: a snapshot transfer's window and its I/O side (include/kraft/xfer.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "kraft/fileio.h"
#include "kraft/xfer.h"

#define MO_ACQ memory_order_acquire
#define MO_REL memory_order_release
#define MO_RLX memory_order_relaxed

void
kr_xfer_init(struct kr_xfer *x, uint8_t *buf, uint32_t cap)
{
	memset(x, 0, sizeof(*x));
	x->buf = buf;
	x->cap = cap;
	x->io_h = -1;
	x->wb_every = KR_XFER_WRITEBACK_BYTES;
}

/* ---- the dataplane's side ---- */

void
kr_xfer_request(struct kr_xfer *x, enum kr_xfer_mode mode, struct kr_snap_id id, uint64_t pos)
{
	atomic_store_explicit(&x->req_mode, (uint8_t)mode, MO_RLX);
	atomic_store_explicit(&x->req_end, id.end_offset, MO_RLX);
	atomic_store_explicit(&x->req_epoch, id.epoch, MO_RLX);
	atomic_store_explicit(&x->req_pos, pos, MO_RLX);
	atomic_store_explicit(&x->in_size, 0, MO_RLX);
	atomic_fetch_add_explicit(&x->req_gen, 1, MO_REL);
}

int64_t
kr_xfer_peek(const struct kr_xfer *x, uint64_t pos, uint32_t max, const uint8_t **p)
{
	uint64_t t, h;
	uint32_t at, n;

	if (!kr_xfer_answered(x))
		return -ERANGE;
	t = atomic_load_explicit(&x->tail, MO_RLX);
	h = atomic_load_explicit(&x->head, MO_ACQ);
	if (pos < t || pos > h)
		return -ERANGE;
	at = (uint32_t)(pos & (x->cap - 1));
	n = h - pos < max ? (uint32_t)(h - pos) : max;
	if (n > x->cap - at)
		n = x->cap - at; /* a view ends at the ring's end */
	*p = x->buf + at;
	return n;
}

void
kr_xfer_release(struct kr_xfer *x, uint64_t pos)
{
	if (pos > atomic_load_explicit(&x->tail, MO_RLX))
		atomic_store_explicit(&x->tail, pos, MO_REL);
}

int
kr_xfer_put(struct kr_xfer *x, const uint8_t *p, uint32_t len)
{
	uint64_t h = atomic_load_explicit(&x->head, MO_RLX);
	uint32_t at = (uint32_t)(h & (x->cap - 1)), first;

	if (len > kr_xfer_room(x))
		return -ENOSPC;
	first = len < x->cap - at ? len : x->cap - at;
	memcpy(x->buf + at, p, first);
	memcpy(x->buf, p + first, len - first);
	atomic_store_explicit(&x->head, h + len, MO_REL);
	return 0;
}

/* ---- the I/O side ---- */

static void
say(char *why, size_t len, const char *what, struct kr_snap_id id, int err)
{
	if (why != NULL && len > 0)
		snprintf(why, len, "snapshot %llu-%u: %s: %s", (unsigned long long)id.end_offset,
			 id.epoch, what, strerror(-err));
}

static void
answer_status(struct kr_xfer *x, int32_t status)
{
	atomic_store_explicit(&x->status, status, MO_REL);
}

/* Close the open file; an unfinished download's .part file goes with it. */
static void
io_close(struct kr_xfer *x, const struct kr_fs *fs, const char *dir)
{
	char path[KR_SNAP_DIR_MAX + KR_SNAP_NAME_MAX], name[KR_SNAP_NAME_MAX];

	if (x->io_h >= 0)
		fs->ops->close(fs->ctx, x->io_h);
	x->io_h = -1;
	if (x->io_mode == KR_XFER_IN && dir != NULL && kr_xfer_status(x) != KR_XFER_DONE) {
		kr_snap_name(x->io_id, true, name);
		if (snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path))
			fs->ops->unlink(fs->ctx, path);
	}
	x->io_mode = KR_XFER_IDLE;
}

/* Take up request gen: close the old file, open the new one, answer. A request replaced
 * while its fields were read is left for the next step. */
static void
io_take(struct kr_xfer *x, const struct kr_fs *fs, const char *dir, uint32_t gen, char *why,
	size_t why_len)
{
	char path[KR_SNAP_DIR_MAX + KR_SNAP_NAME_MAX], name[KR_SNAP_NAME_MAX];
	int32_t status = KR_XFER_BUSY;
	uint8_t mode = atomic_load_explicit(&x->req_mode, MO_RLX);
	struct kr_snap_id id = {atomic_load_explicit(&x->req_end, MO_RLX),
				atomic_load_explicit(&x->req_epoch, MO_RLX)};
	uint64_t pos = atomic_load_explicit(&x->req_pos, MO_RLX);

	atomic_thread_fence(memory_order_acquire);
	if (atomic_load_explicit(&x->req_gen, MO_RLX) != gen)
		return;
	io_close(x, fs, dir);
	x->io_gen = gen;
	x->io_id = id;
	x->io_size = 0;
	atomic_store_explicit(&x->size, 0, MO_RLX);
	atomic_store_explicit(&x->head, pos, MO_RLX);
	atomic_store_explicit(&x->tail, pos, MO_RLX);
	if (mode == KR_XFER_OUT || mode == KR_XFER_IN) {
		kr_snap_name(id, mode == KR_XFER_IN, name);
		if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
			status = -ENAMETOOLONG;
		} else if (mode == KR_XFER_OUT) {
			x->io_h = fs->ops->open(fs->ctx, path, KR_FS_READ);
			if (x->io_h >= 0) {
				int64_t size = fs->ops->size(fs->ctx, x->io_h);

				if (size < 0)
					status = (int32_t)size;
				else if (pos > (uint64_t)size)
					status = -ERANGE;
				else
					x->io_size = (uint64_t)size;
			} else {
				status = x->io_h;
			}
		} else {
			atomic_store_explicit(&x->head, 0, MO_RLX);
			atomic_store_explicit(&x->tail, 0, MO_RLX);
			x->io_wb = 0;
			x->io_h = fs->ops->open(fs->ctx, path,
						KR_FS_RDWR | KR_FS_CREATE | KR_FS_TRUNC);
			if (x->io_h < 0)
				status = x->io_h;
		}
		if (status < 0) {
			if (x->io_h >= 0)
				fs->ops->close(fs->ctx, x->io_h);
			x->io_h = -1;
			say(why, why_len, mode == KR_XFER_OUT ? "cannot read" : "cannot create", id,
			    status);
		} else {
			x->io_mode = mode;
		}
	}
	atomic_store_explicit(&x->size, x->io_size, MO_RLX);
	answer_status(x, status);
	atomic_store_explicit(&x->ack_gen, gen, MO_REL);
}

/* IN, every byte written: sync, check the whole file, give it its name. */
static void
io_finish_in(struct kr_xfer *x, const struct kr_fs *fs, const char *dir, const uint8_t *cluster_id,
	     char *why, size_t why_len)
{
	int rc = fs->ops->sync(fs->ctx, x->io_h);

	fs->ops->close(fs->ctx, x->io_h);
	x->io_h = -1;
	if (rc != 0) {
		say(why, why_len, "cannot sync the download", x->io_id, rc);
	} else {
		rc = kr_snap_verify(fs, dir, x->io_id, true, cluster_id, NULL, why, why_len);
		if (rc == 0) {
			rc = kr_snap_publish(fs, dir, x->io_id);
			if (rc != 0)
				say(why, why_len, "cannot name the download", x->io_id, rc);
		}
	}
	answer_status(x, rc == 0 ? KR_XFER_DONE : rc);
	if (rc != 0)
		io_close(x, fs, dir); /* the .part file goes */
	x->io_mode = KR_XFER_IDLE;
}

/* Of n window bytes from ring index at, those one step moves: up to the ring's end and
 * the budget. */
static uint32_t
contiguous(const struct kr_xfer *x, uint32_t at, uint32_t n, uint32_t budget)
{
	if (n > x->cap - at)
		n = x->cap - at;
	return n < budget ? n : budget;
}

int64_t
kr_xfer_io_step(struct kr_xfer *x, const struct kr_fs *fs, const char *dir,
		const uint8_t *cluster_id, uint32_t budget, char *why, size_t why_len)
{
	uint32_t gen = atomic_load_explicit(&x->req_gen, MO_ACQ);
	uint64_t h, t;
	uint32_t at, n;
	int64_t rc;

	fs = kr_fs_or_posix(fs);
	if (gen != x->io_gen) {
		io_take(x, fs, dir, gen, why, why_len);
		return 1;
	}
	if (x->io_mode == KR_XFER_OUT) {
		h = atomic_load_explicit(&x->head, MO_RLX);
		t = atomic_load_explicit(&x->tail, MO_ACQ);
		n = x->cap - (uint32_t)(h - t);
		if (x->io_size - h < n)
			n = (uint32_t)(x->io_size - h);
		at = (uint32_t)(h & (x->cap - 1));
		n = contiguous(x, at, n, budget);
		if (n == 0)
			return 0;
		rc = fs->ops->pread(fs->ctx, x->io_h, x->buf + at, n, h);
		if (rc <= 0) { /* a file that shrank (0) or failed */
			rc = rc == 0 ? -EIO : rc;
			say(why, why_len, "cannot read", x->io_id, (int)rc);
			answer_status(x, (int32_t)rc);
			io_close(x, fs, dir);
			return 1;
		}
		atomic_store_explicit(&x->head, h + (uint64_t)rc, MO_REL);
		return rc;
	}
	if (x->io_mode == KR_XFER_IN) {
		uint64_t size = atomic_load_explicit(&x->in_size, MO_ACQ);

		h = atomic_load_explicit(&x->head, MO_ACQ);
		t = atomic_load_explicit(&x->tail, MO_RLX);
		if (size != 0 && t == size && h == size) {
			io_finish_in(x, fs, dir, cluster_id, why, why_len);
			return 1;
		}
		at = (uint32_t)(t & (x->cap - 1));
		n = contiguous(x, at, (uint32_t)(h - t), budget);
		if (n == 0)
			return 0;
		rc = kr_write_full(fs, x->io_h, x->buf + at, n, t);
		if (rc < 0) {
			say(why, why_len, "cannot write the download", x->io_id, (int)rc);
			answer_status(x, (int32_t)rc);
			io_close(x, fs, dir);
			return 1;
		}
		atomic_store_explicit(&x->tail, t + n, MO_REL);
		/* the disk starts on what came while more comes: the sync at the end then
		 * waits for the last few MiB, not the whole file (its errors are the sync's) */
		if (fs->ops->writeback != NULL && t + n - x->io_wb >= x->wb_every) {
			(void)fs->ops->writeback(fs->ctx, x->io_h, x->io_wb, t + n - x->io_wb);
			x->io_wb = t + n;
		}
		return n;
	}
	return 0;
}

void
kr_xfer_io_close(struct kr_xfer *x, const struct kr_fs *fs)
{
	fs = kr_fs_or_posix(fs);
	if (x->io_h >= 0)
		fs->ops->close(fs->ctx, x->io_h);
	x->io_h = -1;
	x->io_mode = KR_XFER_IDLE;
}
