/* kraftd: the log. Batches live in memory, one buffer per segment, so the dataplane
 * appends and serves fetches without I/O; kr_log_flush writes them to segment files
 * and fsyncs. Formats and the recovery rules are in include/kraft/log.h.
 * A log is owned by one thread at a time. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/bugs.h"
#include "kraft/crc32c.h"
#include "kraft/fileio.h"
#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/wire.h" /* kr_records_check */

struct index_entry {
	uint64_t offset; /* base offset of a batch */
	uint32_t pos;	 /* its byte position in the segment body */
};

struct segment {
	uint64_t base_offset;
	uint64_t end_offset;
	uint8_t *buf;  /* batch bytes; the file header is not kept in memory */
	uint32_t size; /* bytes of batches */
	uint32_t cap;
	uint32_t touched; /* buf below this was handed out to be paged in (kr_log_prefault_range) */
	uint32_t written; /* bytes of buf that are in the file, unchanged (disk mode) */
	uint32_t file_len;   /* batch bytes the file holds, stale ones included */
	uint32_t hdr_synced; /* what the file's header says is synced (log.h) */
	bool sealed;	     /* takes no more batches (kr_log_truncate: a job was out) */
	int fd;		     /* -1 until the file is created or opened */
	uint64_t uid;	     /* this segment's identity, unique in the log (flush jobs) */
	int64_t max_timestamp_us;
	uint32_t prev_epoch; /* the epoch of the record before base_offset (0: none, unknown) */
	struct index_entry *index; /* sparse: one entry per KR_SEGMENT_INDEX_INTERVAL_BYTES */
	uint32_t index_n;
	uint32_t index_cap;
	/* THE PINS (log.h): senders holding pointers into buf (NULL: never pinned); made at
	 * the first pin, at a fixed address, freed with the buffer once nothing holds it */
	struct kr_log_pin *pin;
};

struct kr_log_pin {
	uint32_t count;
};

struct kr_log {
	struct kr_log_config cfg;
	const struct kr_fs *fs; /* every file operation goes through it */
	char dir[PATH_MAX];
	int dirfd;
	struct segment *segs;
	uint32_t nsegs;
	uint32_t segs_cap;
	struct kr_epoch_cache epochs;
	uint64_t bytes;
	uint64_t durable_end;
	uint64_t empty_base; /* start and end of the log while it has no segment */
	bool files_dirty;    /* the directory holds what memory no longer has (truncation,
			      * retention, reset, mid-log damage): flush reconciles first */
	bool failed;	     /* a flush failed: nothing more may count as durable */
	uint64_t next_uid;
	/* While a flush job is out, segments dropped from memory keep their buffer and
	 * file until the job ends (the flush thread may be reading or writing them). */
	bool job_out;
	uint64_t mutations; /* truncations, resets, prefix deletes: a job from before is stale */
	struct segment *grave;
	uint32_t grave_n, grave_cap;
	/* THE READER (log.h): memory of offsets [reader_released, reader_handed) is in
	 * another thread's hands; segments holding any of it wait in the grave */
	uint64_t reader_released, reader_handed;
	uint64_t leaked; /* dropped segments the grave had no room for while held: not freed */
	int *close_fds;	 /* files of dropped segments, closed by the next job */
	uint32_t close_n, close_cap;
	/* THE FLUSHED BOUND (log.h): a durable bound from above on every offset a flush ever
	 * made durable, raised by a flush job before it reports a durable end past it */
	int bound_fd; /* -1: none (memory mode) */
	bool has_bound;
	uint64_t bound;
};

#define BOUND_FILE "flushed-bound"
#define BOUND_BYTES 16 /* u64 bound, u32 CRC32C of those 8 bytes, u32 zero */
#define BOUND_STEP_MIN \
	65536 /* raised to at least end + this (or end / 4): one small
			      * extra write and fdatasync per that many offsets */

__attribute__((format(printf, 3, 4))) static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static bool
disk(const struct kr_log *log)
{
	return log->cfg.durability == KR_LOG_DISK;
}

static void
segment_name(char *out, size_t n, uint64_t base)
{
	snprintf(out, n, "%020" PRIu64 ".log", base);
}

/* dir/name into out (PATH_MAX). @return 0, or -ENAMETOOLONG. */
static int
path_of(char *out, const char *dir, const char *name)
{
	return snprintf(out, PATH_MAX, "%s/%s", dir, name) < PATH_MAX ? 0 : -ENAMETOOLONG;
}

static int
segment_path(char *out, const char *dir, uint64_t base)
{
	char name[32];

	segment_name(name, sizeof(name), base);
	return path_of(out, dir, name);
}

static struct segment *
last_seg(const struct kr_log *log)
{
	return log->nsegs ? &log->segs[log->nsegs - 1] : NULL;
}

/* ---- segments in memory ---- */

static int
segment_init(struct segment *s, uint64_t base, uint32_t cap)
{
	memset(s, 0, sizeof(*s));
	s->fd = -1;
	s->base_offset = base;
	s->end_offset = base;
	s->max_timestamp_us = -1;
	s->cap = cap;
	s->buf = malloc(cap ? cap : 1);
	s->index_cap = cap / KR_SEGMENT_INDEX_INTERVAL_BYTES + 2;
	s->index = malloc(s->index_cap * sizeof(*s->index));
	if (s->buf == NULL || s->index == NULL) {
		free(s->buf);
		free(s->index);
		s->buf = NULL;
		s->index = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void
segment_free(const struct kr_fs *fs, struct segment *s)
{
	if (s->fd >= 0)
		fs->ops->close(fs->ctx, s->fd);
	free(s->buf);
	free(s->index);
	free(s->pin);
	s->fd = -1;
	s->buf = NULL;
	s->index = NULL;
	s->pin = NULL;
}

/* Grow an array of n elements of size k to hold one more. */
static int
grow(void **arr, uint32_t *cap, uint32_t n, size_t k)
{
	if (n < *cap)
		return 0;

	uint32_t c = *cap ? *cap * 2 : 8;
	void *p = realloc(*arr, c * k);

	if (p == NULL)
		return -ENOMEM;
	*arr = p;
	*cap = c;
	return 0;
}

static bool
pinned(const struct segment *s)
{
	return s->pin != NULL && s->pin->count > 0;
}

/* Does the reader (log.h, THE READER) or a sender (THE PINS) hold bytes of segment s? */
static bool
reader_holds(const struct kr_log *log, const struct segment *s)
{
	return pinned(s) ||
	       (log->reader_handed > log->reader_released && s->base_offset < log->reader_handed &&
		s->end_offset > log->reader_released);
}

/* Drop a segment from memory. While a flush job is out, the job may still use its
 * buffer and file, and while the reader holds some of its bytes it may read them: the
 * segment waits in the grave until neither does (grave_sweep). With no room in the grave
 * (out of memory) a held buffer is left allocated, never freed under a reader. */
static void
segment_release(struct kr_log *log, struct segment *s)
{
	bool held = reader_holds(log, s);

	if ((log->job_out || held) &&
	    grow((void **)&log->grave, &log->grave_cap, log->grave_n, sizeof(*log->grave)) == 0) {
		log->grave[log->grave_n++] = *s;
		s->fd = -1;
		s->buf = NULL;
		s->index = NULL;
		return;
	}
	if (held) {
		log->leaked++;
		s->buf = NULL;
		s->pin = NULL; /* a sender still counts down in it */
	}
	segment_free(log->fs, s);
}

/* Free what the grave holds that neither a flush job nor the reader needs any more; their
 * files are closed by the next job (its thread does the closing). */
static void
grave_sweep(struct kr_log *log)
{
	uint32_t kept = 0;

	for (uint32_t i = 0; i < log->grave_n; i++) {
		struct segment *g = &log->grave[i];

		if (log->job_out || reader_holds(log, g)) {
			log->grave[kept++] = *g;
			continue;
		}
		if (g->fd >= 0 && grow((void **)&log->close_fds, &log->close_cap, log->close_n,
				       sizeof(*log->close_fds)) == 0) {
			log->close_fds[log->close_n++] = g->fd;
			g->fd = -1;
		}
		segment_free(log->fs, g);
	}
	log->grave_n = kept;
}

/* Note a batch that now sits at pos: sparse index, end offset, timestamp. */
static void
segment_note_batch(struct segment *s, const struct kr_batch_hdr *h, uint32_t pos)
{
	if (s->index_n == 0 ||
	    pos >= s->index[s->index_n - 1].pos + KR_SEGMENT_INDEX_INTERVAL_BYTES) {
		/* index_cap covers cap / interval + 1 entries: entries are >= interval apart */
		if (s->index_n < s->index_cap) {
			s->index[s->index_n].offset = h->base_offset;
			s->index[s->index_n].pos = pos;
			s->index_n++;
		}
	}
	s->end_offset = h->base_offset + h->record_count;
	if (h->timestamp_us > s->max_timestamp_us)
		s->max_timestamp_us = h->timestamp_us;
}

/* Byte position of the batch holding offset (base <= offset < end), and its header. */
static int
segment_find(const struct segment *s, uint64_t offset, uint32_t *pos_out, struct kr_batch_hdr *h)
{
	uint32_t lo = 0, hi = s->index_n, pos = 0;

	/* last index entry with offset <= target */
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (s->index[mid].offset <= offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0)
		pos = s->index[lo - 1].pos;
	while (pos < s->size) {
		kr_batch_hdr_get(s->buf + pos, h);
		if (offset < h->base_offset + h->record_count) {
			*pos_out = pos;
			return 0;
		}
		pos += h->length;
	}
	return -ERANGE;
}

/* Rebuild the sparse index and end offset after the body was cut to s->size. */
static void
segment_reindex(struct segment *s)
{
	struct kr_batch_hdr h;
	uint32_t pos = 0;

	s->index_n = 0;
	s->end_offset = s->base_offset;
	s->max_timestamp_us = -1;
	while (pos < s->size) {
		kr_batch_hdr_get(s->buf + pos, &h);
		segment_note_batch(s, &h, pos);
		pos += h.length;
	}
}

static int
segs_push(struct kr_log *log, uint64_t base, uint32_t cap)
{
	if (log->nsegs == log->segs_cap) {
		uint32_t n = log->segs_cap ? log->segs_cap * 2 : 8;
		struct segment *s = realloc(log->segs, n * sizeof(*s));

		if (s == NULL)
			return -ENOMEM;
		log->segs = s;
		log->segs_cap = n;
	}

	int rc = segment_init(&log->segs[log->nsegs], base, cap);

	if (rc == 0)
		log->segs[log->nsegs++].uid = ++log->next_uid;
	return rc;
}

/* ---- segment files ---- */

void
kr_log_segment_header(uint8_t hdr[KR_SEGMENT_HDR_BYTES], uint64_t base, uint32_t synced,
		      uint32_t prev_epoch)
{
	memset(hdr, 0, KR_SEGMENT_HDR_BYTES);
	memcpy(hdr, KR_SEGMENT_MAGIC, 8);
	kr_put_le32(hdr + 8, KR_SEGMENT_VERSION);
	kr_put_le32(hdr + 12, synced);
	kr_put_le64(hdr + 16, base);
	kr_put_le32(hdr + 24, prev_epoch);
	kr_put_le32(hdr + 28, kr_crc32c(0, hdr, 28));
}

/* Check a segment header; on failure say why in reason. *synced (may be NULL) gets its
 * synced field (UINT32_MAX for a version 1 header: everything counts as synced), and
 * *prev_epoch (may be NULL) its prev_epoch (0 in files written before it was kept). */
static int
segment_header_check(const uint8_t *hdr, size_t len, uint64_t name_base, uint32_t *synced,
		     uint32_t *prev_epoch, char *reason, size_t n)
{
	if (len < KR_SEGMENT_HDR_BYTES) {
		snprintf(reason, n, "segment header incomplete (%zu of %d bytes)", len,
			 KR_SEGMENT_HDR_BYTES);
		return -1;
	}
	if (memcmp(hdr, KR_SEGMENT_MAGIC, 8) != 0 ||
	    kr_get_le32(hdr + 28) != kr_crc32c(0, hdr, 28)) {
		snprintf(reason, n, "segment header damaged (bad magic or CRC)");
		return -1;
	}
	if (kr_get_le32(hdr + 8) != KR_SEGMENT_VERSION && kr_get_le32(hdr + 8) != 1) {
		snprintf(reason, n, "segment format version %u, this kraftd reads 1 and %d",
			 kr_get_le32(hdr + 8), KR_SEGMENT_VERSION);
		return -1;
	}
	if (synced != NULL)
		*synced = kr_get_le32(hdr + 8) == 1 ? UINT32_MAX : kr_get_le32(hdr + 12);
	if (prev_epoch != NULL)
		*prev_epoch = kr_get_le32(hdr + 24);
	if (kr_get_le64(hdr + 16) != name_base) {
		snprintf(reason, n,
			 "segment header says base offset %" PRIu64 ", file name %" PRIu64,
			 kr_get_le64(hdr + 16), name_base);
		return -1;
	}
	return 0;
}

/* Create s's file: header, sync file, sync directory (dirfd). */
static int
segment_create_file(const struct kr_fs *fs, int dirfd, const char *dir, uint64_t base,
		    uint32_t prev_epoch, int *fd_out, char *err, size_t errlen)
{
	char path[PATH_MAX];
	uint8_t hdr[KR_SEGMENT_HDR_BYTES];
	int fd, rc;

	rc = segment_path(path, dir, base);
	fd = rc == 0 ? fs->ops->open(fs->ctx, path, KR_FS_RDWR | KR_FS_CREATE | KR_FS_TRUNC) : rc;
	if (fd < 0) {
		errf(err, errlen, "create %s: %s", path, strerror(-fd));
		return fd;
	}
	kr_log_segment_header(hdr, base, 0, prev_epoch);
	rc = kr_write_full(fs, fd, hdr, sizeof(hdr), 0);
	if (rc == 0)
		rc = fs->ops->sync(fs->ctx, fd);
	if (rc == 0)
		rc = fs->ops->sync_dir(fs->ctx, dirfd);
	if (rc != 0) {
		errf(err, errlen, "create %s: %s", path, strerror(-rc));
		fs->ops->close(fs->ctx, fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

static int
unlink_segment(const struct kr_fs *fs, const char *dir, uint64_t base, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int rc = segment_path(path, dir, base);

	if (rc == 0)
		rc = fs->ops->unlink(fs->ctx, path);
	if (rc != 0 && rc != -ENOENT) {
		errf(err, errlen, "remove %s: %s", path, strerror(-rc));
		return rc;
	}
	return 0;
}

struct listing {
	uint64_t *v;
	uint32_t n, cap;
};

static int
list_one(void *arg, const char *nm)
{
	struct listing *l = arg;
	uint64_t base = 0;
	int i;

	for (i = 0; i < 20 && nm[i] >= '0' && nm[i] <= '9'; i++)
		base = base * 10 + (uint64_t)(nm[i] - '0');
	if (i != 20 || strcmp(nm + 20, ".log") != 0)
		return 0;
	if (grow((void **)&l->v, &l->cap, l->n, sizeof(*l->v)) != 0)
		return -ENOMEM;
	l->v[l->n++] = base;
	return 0;
}

/* List segment files: bases sorted ascending. *out is malloc'ed. */
static int
list_segments(const struct kr_fs *fs, const char *dir, uint64_t **out, uint32_t *count)
{
	struct listing l = {0};
	int rc = fs->ops->list(fs->ctx, dir, list_one, &l);

	if (rc != 0) {
		free(l.v);
		return rc;
	}
	for (uint32_t i = 1; i < l.n; i++) /* few files: insertion sort */
		for (uint32_t j = i; j > 0 && l.v[j - 1] > l.v[j]; j--) {
			uint64_t t = l.v[j];

			l.v[j] = l.v[j - 1];
			l.v[j - 1] = t;
		}
	*out = l.v;
	*count = l.n;
	return 0;
}

/* ---- recovery scan ---- */

/* Is there a plausible valid batch at p: CRC good, base >= min_offset, epoch >= min_epoch? */
static bool
valid_batch_at(const uint8_t *p, size_t avail, uint64_t min_offset, uint32_t min_epoch,
	       struct kr_batch_hdr *h)
{
	if (avail < KR_BATCH_HDR_BYTES)
		return false;

	uint32_t len = kr_get_le32(p + 4);

	if (len < KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES || len > KR_BATCH_BYTES_MAX ||
	    len > avail)
		return false;
	return kr_batch_check(p, avail, h) == 0 && h->base_offset >= min_offset &&
	       h->epoch >= min_epoch;
}

/* A header that still says which batch it began: a length in range, the offset the log
 * expects next, an epoch no older, a record count that fits the length. Its CRC may fail
 * (damage inside) or its bytes may stop short (a torn write): either way recovery skips
 * it by its length and never looks inside, where record values hold whatever bytes a
 * client sent, a valid-looking batch image with any offset included. */
static bool
header_intact(const uint8_t *p, size_t avail, uint64_t want, uint32_t min_epoch,
	      struct kr_batch_hdr *h)
{
	if (avail < KR_BATCH_HDR_BYTES)
		return false;
	kr_batch_hdr_get(p, h);
	return h->length >= KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES &&
	       h->length <= KR_BATCH_BYTES_MAX && h->record_count >= 1 &&
	       KR_BATCH_HDR_BYTES + (uint64_t)KR_RECORD_HDR_BYTES * h->record_count <= h->length &&
	       h->base_offset == want && h->epoch >= min_epoch && h->epoch != 0 &&
	       kr_batch_attributes_valid(h->attributes);
}

/* From the valid batch at p: the run of valid batches that continue each other. Returns
 * the offset after its last batch; *end_pos is where the run stops. */
static uint64_t
run_from(const uint8_t *buf, size_t len, size_t p, size_t *end_pos)
{
	struct kr_batch_hdr h;
	uint64_t end = 0;
	uint32_t epoch = 0;
	bool first = true;

	while (p < len && kr_batch_check(buf + p, len - p, &h) == 0 &&
	       (first || (h.base_offset == end && h.epoch >= epoch))) {
		end = h.base_offset + h.record_count;
		epoch = h.epoch;
		p += h.length;
		first = false;
	}
	*end_pos = p;
	return end;
}

struct after_damage {
	bool found;    /* a valid batch after the damage: mid-log corruption */
	uint64_t pos;  /* where the valid data starts again */
	uint64_t base; /* its base offset */
	uint64_t end;  /* the end offset of the run from there */
};

/* Where the batch at p ends by its records (count x {u32 length, bytes}), or 0 if they
 * do not fit in avail. The leader wrote the length field and the record lengths from the
 * same sizes: damage may change either, a client neither. */
static uint32_t
records_end(const uint8_t *p, size_t avail, const struct kr_batch_hdr *h)
{
	uint64_t at = KR_BATCH_HDR_BYTES;

	for (uint32_t i = 0; i < h->record_count; i++) {
		if (at + KR_RECORD_HDR_BYTES > avail)
			return 0;
		at += KR_RECORD_HDR_BYTES + (uint64_t)kr_get_le32(p + at);
		if (at > avail || at > KR_BATCH_BYTES_MAX)
			return 0;
	}
	return (uint32_t)at;
}

/* Does the batch at p, ending at p + x, end where the next one (offset next, epoch at
 * least ep) begins, or (unless followed is set) at the end of the bytes? */
static bool
ends_at(const uint8_t *buf, size_t len, size_t p, uint64_t x, uint64_t next, uint32_t ep,
	bool followed)
{
	struct kr_batch_hdr g;

	if (x == 0 || x > len - p)
		return false;
	return (p + x == len && !followed) || header_intact(buf + p + x, len - p - x, next, ep, &g);
}

/* Does a run that stops at p, its offsets ending at end, reach the end of the bytes:
 * nothing after it, or only a torn last batch that continues it (an intact header whose
 * length runs past them)? Not if that batch's records end where a batch continuing it
 * begins: then its length field is damaged, and more data follows. */
static bool
run_reaches_end(const uint8_t *buf, size_t len, size_t p, uint64_t end)
{
	struct kr_batch_hdr h;

	if (p >= len)
		return true;
	if (!header_intact(buf + p, len - p, end, 0, &h) || h.length <= len - p)
		return false;
	return !ends_at(buf, len, p, records_end(buf + p, len - p, &h),
			h.base_offset + h.record_count, h.epoch, true);
}

/*
 * What follows damage at pos, the log ending at want in epoch ep before it:
 *  1. batches with intact headers are stepped over, never looked into: to where their
 *     length field says they end, or, if that is not where a batch continuing their
 *     offsets begins, to where their records end (a damaged length field); one that runs
 *     past the end either way is a torn last write: nothing follows it (in synced bytes
 *     the caller still calls it damage: classify_damage);
 *  2. a valid batch that continues the offsets after them ends the damage; if its run
 *     stops short of the end (damage again), the end is what 3 finds after the run;
 *  3. past bytes that begin no batch at all, the first valid batch (offset >= want, epoch
 *     >= ep) whose run of batches reaches the end of the bytes ends the damage: a batch
 *     image inside a record value is followed by the rest of its batch, not by a run to
 *     the end. Valid batches whose runs stop short still mean mid-log damage, but give no
 *     end (r->end = want): the caller then takes the flushed bound.
 * The end found is only ever an estimate from above of what the node held: the repair
 * it sets ends anyway once the node's log equals the leader's (recv_fetch_resp.c).
 */
static void
find_after_damage(const uint8_t *buf, size_t len, size_t pos, uint64_t want, uint32_t ep,
		  struct after_damage *r)
{
	struct kr_batch_hdr h;
	const uint64_t want0 = want;
	const uint32_t ep0 = ep;
	size_t p = pos, stop;
	uint64_t end, next, step, rend;
	bool resumed = false; /* a continuing run was found; the search goes on after it */

	memset(r, 0, sizeof(*r));
	r->end = want;
	while (p < len) {
		if (p > pos && valid_batch_at(buf + p, len - p, want, ep, &h) &&
		    h.base_offset == want) {
			*r = (struct after_damage){.found = true, .pos = p, .base = want};
			r->end = run_from(buf, len, p, &stop);
			if (run_reaches_end(buf, len, stop, r->end))
				return;
			/* more damage after this run: only a later run that reaches the end
			 * says how far the data went; none, and it is unknown */
			r->end = want0;
			resumed = true;
			p = stop;
			break;
		}
		if (!header_intact(buf + p, len - p, want, ep, &h))
			break;
		next = h.base_offset + h.record_count;
		rend = records_end(buf + p, len - p, &h);
		/* a next batch where one reading says this one ends is better evidence than
		 * the end of the bytes: a damaged length can point exactly there */
		step = ends_at(buf, len, p, h.length, next, h.epoch, true)    ? h.length
		       : ends_at(buf, len, p, rend, next, h.epoch, true)      ? rend
		       : ends_at(buf, len, p, h.length, next, h.epoch, false) ? h.length
		       : ends_at(buf, len, p, rend, next, h.epoch, false)     ? rend
									      : h.length;
		if (step > len - p)
			return; /* a torn last write: nothing follows it */
		want = next;
		ep = h.epoch;
		p += step;
	}
	for (size_t q = p; q < len; q++) {
		if (!valid_batch_at(buf + q, len - q, want0, ep0, &h))
			continue;
		end = run_from(buf, len, q, &stop);
		if (!r->found) {
			r->found = true;
			r->pos = q;
			r->base = h.base_offset;
		}
		if (run_reaches_end(buf, len, stop, end) || KR_BUG(RESYNC_IN_A_RECORD)) {
			if (!resumed) {
				r->pos = q;
				r->base = h.base_offset;
			}
			r->end = end > want0 ? end : want0;
			return;
		}
	}
}

void
kr_log_scan(const uint8_t *buf, size_t len, uint64_t base_offset, uint32_t min_epoch,
	    int (*on_batch)(void *arg, const struct kr_batch_hdr *h, uint64_t pos), void *arg,
	    struct kr_scan_result *res)
{
	struct kr_batch_hdr h;
	struct after_damage d;
	size_t pos = 0;
	uint64_t expect = base_offset;
	uint32_t epoch = min_epoch;

	memset(res, 0, sizeof(*res));
	res->end_offset = base_offset;
	res->last_epoch = min_epoch;
	while (pos < len) {
		int rc = kr_batch_check(buf + pos, len - pos, &h);

		if (rc == -EAGAIN) {
			snprintf(res->reason, sizeof(res->reason),
				 "incomplete batch at byte %zu (%zu bytes left)", pos, len - pos);
			break;
		}
		if (rc != 0) {
			snprintf(res->reason, sizeof(res->reason),
				 "damaged batch at byte %zu (CRC or format)", pos);
			break;
		}
		if (h.base_offset != expect) {
			snprintf(res->reason, sizeof(res->reason),
				 "batch at byte %zu has base offset %" PRIu64 ", expected %" PRIu64,
				 pos, h.base_offset, expect);
			break;
		}
		if (h.epoch < epoch) {
			snprintf(res->reason, sizeof(res->reason),
				 "batch at byte %zu has epoch %u after epoch %u", pos, h.epoch,
				 epoch);
			break;
		}
		if (on_batch != NULL && on_batch(arg, &h, pos) != 0) {
			snprintf(res->reason, sizeof(res->reason), "batch at byte %zu refused",
				 pos);
			break;
		}
		epoch = h.epoch;
		expect = h.base_offset + h.record_count;
		pos += h.length;
		res->batches++;
		res->good_bytes = pos;
		res->end_offset = expect;
		res->last_epoch = epoch;
	}
	if (pos < len) {
		res->bad = true;
		find_after_damage(buf, len, pos, expect, epoch, &d);
		res->valid_after_bad = d.found;
		res->resync_pos = d.pos;
		res->resync_offset = d.base;
		res->resync_end = d.end;
	}
}

/* ---- open ---- */

struct load_ctx {
	struct kr_log *log;
	struct segment *seg;
};

static int
load_batch(void *arg, const struct kr_batch_hdr *h, uint64_t pos)
{
	struct load_ctx *c = arg;

	if (kr_epoch_cache_assign(&c->log->epochs, h->epoch, h->base_offset) != 0)
		return -1;
	segment_note_batch(c->seg, h, (uint32_t)pos);
	return 0;
}

/* Read a whole file from byte `from`: *buf malloc'ed with room for at least min_cap. */
static int
read_file_from(const struct kr_fs *fs, int fd, uint64_t from, uint8_t **buf, size_t *len,
	       size_t min_cap)
{
	int64_t size = fs->ops->size(fs->ctx, fd);

	if (size < 0)
		return (int)size;

	size_t n = (uint64_t)size > from ? (size_t)((uint64_t)size - from) : 0;
	size_t cap = n > min_cap ? n : min_cap;
	uint8_t *b = malloc(cap ? cap : 1);

	if (b == NULL)
		return -ENOMEM;

	int rc = kr_read_full(fs, fd, b, n, from);

	if (rc < 0) {
		free(b);
		return rc;
	}
	*buf = b;
	*len = (size_t)rc;
	return 0;
}

/* Damage in segment i: what segments i+1.. hold after it. Each is read as a segment that
 * must start at its base (find_after_damage from its first byte: intact headers skipped,
 * never a look inside them). Sets the first valid batch's base and the largest end
 * offset of a run that reaches its segment's end (KR_OFFSET_MAX: valid data whose end
 * cannot be told). */
static bool
later_segments_valid(struct kr_log *log, const uint64_t *bases, uint32_t nb, uint32_t i,
		     uint64_t min_offset, uint32_t min_epoch, uint64_t *first_base,
		     uint64_t *max_end)
{
	bool found = false;

	for (; i < nb; i++) {
		char path[PATH_MAX], reason[96];
		uint8_t *b = NULL, hdr[KR_SEGMENT_HDR_BYTES];
		size_t len = 0;
		struct after_damage d;
		int fd;

		if (bases[i] < min_offset || segment_path(path, log->dir, bases[i]) != 0)
			continue;
		fd = log->fs->ops->open(log->fs->ctx, path, KR_FS_READ);
		if (fd < 0)
			continue;
		if (kr_read_full(log->fs, fd, hdr, sizeof(hdr), 0) == (int)sizeof(hdr) &&
		    segment_header_check(hdr, sizeof(hdr), bases[i], NULL, NULL, reason,
					 sizeof(reason)) == 0 &&
		    read_file_from(log->fs, fd, KR_SEGMENT_HDR_BYTES, &b, &len, 0) == 0) {
			struct kr_batch_hdr h;
			size_t stop;

			/* the segment's batches start at its base; a bad first one is damage
			 * like any other */
			if (valid_batch_at(b, len, bases[i], min_epoch, &h) &&
			    h.base_offset == bases[i]) {
				d = (struct after_damage){.found = true, .base = bases[i]};
				d.end = run_from(b, len, 0, &stop);
				if (!run_reaches_end(b, len, stop, d.end)) {
					/* damage here too: what follows it decides */
					struct after_damage more;

					find_after_damage(b, len, stop, d.end, min_epoch, &more);
					if (more.found) /* no end found: unknown */
						d.end = more.end > d.end ? more.end : KR_OFFSET_MAX;
					else if (i + 1 < nb)
						d.end = bases[i]; /* nothing after, more segments */
				}
			} else {
				find_after_damage(b, len, 0, bases[i], min_epoch, &d);
			}
			/* valid data whose end no run to the segment's end gives: as far as the
			 * node can have acknowledged (the caller caps it by the flushed bound) */
			if (d.found && d.end <= bases[i])
				d.end = KR_OFFSET_MAX;
			if (d.found) {
				if (!found)
					*first_base = d.base;
				if (!found || d.end > *max_end)
					*max_end = d.end;
				found = true;
			}
		}
		free(b);
		log->fs->ops->close(log->fs->ctx, fd);
	}
	return found;
}

/* Make the directory match memory: cut every segment file that holds more than memory
 * has for it, and remove every segment file memory has no open segment for (dropped by
 * truncation, retention or reset, or left behind by a torn tail or mid-log damage).
 * Then fsync what changed. */
static int
config_check(const struct kr_log_config *cfg, char *err, size_t errlen)
{
	if (cfg->durability != KR_LOG_DISK && cfg->durability != KR_LOG_MEMORY) {
		errf(err, errlen, "log durability must be disk or memory");
		return -EINVAL;
	}
	if (cfg->durability == KR_LOG_DISK && (cfg->dir == NULL || cfg->dir[0] == '\0')) {
		errf(err, errlen, "log directory not set");
		return -EINVAL;
	}
	if (cfg->dir != NULL && strlen(cfg->dir) >= PATH_MAX) {
		errf(err, errlen, "log directory path too long");
		return -EINVAL;
	}
	if (cfg->segment_bytes < KR_LOG_SEGMENT_BYTES_MIN) {
		errf(err, errlen, "segment size %u below the minimum %u (one largest batch)",
		     cfg->segment_bytes, KR_LOG_SEGMENT_BYTES_MIN);
		return -EINVAL;
	}
	return 0;
}

/* Damage was found in segment i at byte file_pos of its file (0: a bad header), with the
 * good log ending at expect in epoch. Tell a torn tail from mid-log corruption by what
 * follows (find_after_damage: in this segment, then the later ones), and fill the
 * report. d is what follows in segment i (NULL when its header was bad). The repair
 * target (last_valid_end_offset) is the end of the valid data found, never above the
 * next segment's base for data in segment i, and never above the flushed bound the log
 * recorded (log->bound): a bound from above on what the node ever acknowledged, so that
 * no record value can set it. */
static void
classify_damage(struct kr_log *log, const uint64_t *bases, uint32_t nb, uint32_t i,
		const struct after_damage *d, uint64_t file_pos, uint64_t expect, uint32_t epoch,
		bool in_synced, const char *reason, struct kr_log_report *rep)
{
	uint64_t first = 0, target = expect, later_first = 0, later_end = 0;
	bool valid = d != NULL && d->found;
	char path[PATH_MAX];

	if (valid) {
		first = d->base;
		target = d->end;
		if (target <= expect && !KR_BUG(REPAIR_TARGET_AT_DAMAGE))
			/* valid batches after the damage, but no run of them reaches the
			 * segment's end: how far the data the node acknowledged went is
			 * unknown, so as far as it can have */
			target = log->has_bound ? log->bound : KR_OFFSET_MAX;
		else if (i + 1 < nb && target > bases[i + 1])
			target = bases[i + 1];
	}
	if (later_segments_valid(log, bases, nb, d != NULL ? i + 1 : i, expect, epoch, &later_first,
				 &later_end)) {
		if (!valid)
			first = later_first;
		if (later_end > target)
			target = later_end;
		valid = true;
	}
	if (!valid && in_synced && !KR_BUG(DAMAGE_AS_TORN)) {
		/* in bytes the segment says are synced no write was torn: damage, though no
		 * reading finds where it ends (a batch's length and a record length both
		 * damaged: kraftsim seed 1419052); the data went as far as the bound says */
		valid = true;
		first = expect;
		target = log->has_bound ? log->bound : KR_OFFSET_MAX;
	}
	if (log->has_bound && target > log->bound)
		target = log->bound;
	if (target < expect)
		target = expect;
	segment_name(rep->segment, sizeof(rep->segment), bases[i]);
	snprintf(rep->reason, sizeof(rep->reason), "%s", reason);
	rep->file_pos = file_pos;
	if (valid) {
		rep->outcome = KR_LOG_MID_CORRUPT;
		rep->damage_start_offset = expect;
		rep->damage_end_offset = first;
		rep->last_valid_end_offset = target;
		log->files_dirty = true;
		return;
	}
	rep->outcome = KR_LOG_TORN_TAIL;
	for (uint32_t k = i; k < nb; k++) {
		bool is_dir;
		uint64_t size;

		if (segment_path(path, log->dir, bases[k]) == 0 &&
		    log->fs->ops->stat(log->fs->ctx, path, &is_dir, &size) == 0)
			rep->torn_bytes += size - (k == i ? file_pos : 0);
	}
}

/* Open segment file i and check its header; on success *body holds its batch bytes. */
static int
load_segment_file(struct kr_log *log, uint64_t base, uint64_t expect, int *fd_out, uint8_t **body,
		  size_t *len, uint32_t *synced, uint32_t *prev_epoch, char *reason,
		  size_t reason_len, char *err, size_t errlen)
{
	const struct kr_fs *fs = log->fs;
	uint8_t hdr[KR_SEGMENT_HDR_BYTES];
	char path[PATH_MAX];
	int fd, rc;

	*body = NULL;
	rc = segment_path(path, log->dir, base);
	fd = rc == 0 ? fs->ops->open(fs->ctx, path, log->cfg.read_only ? KR_FS_READ : KR_FS_RDWR)
		     : rc;
	if (fd < 0) {
		errf(err, errlen, "open %s: %s", path, strerror(-fd));
		return fd;
	}
	rc = kr_read_full(fs, fd, hdr, sizeof(hdr), 0);
	if (rc >= 0) {
		if (segment_header_check(hdr, (size_t)rc, base, synced, prev_epoch, reason,
					 reason_len) != 0) {
			rc = 1;
		} else if (base != expect) {
			snprintf(reason, reason_len,
				 "segment starts at offset %" PRIu64 ", the log ends at %" PRIu64,
				 base, expect);
			rc = 1;
		} else {
			rc = read_file_from(fs, fd, KR_SEGMENT_HDR_BYTES, body, len,
					    log->cfg.segment_bytes);
		}
	}
	if (rc < 0)
		errf(err, errlen, "read %s: %s", path, strerror(-rc));
	if (rc != 0) {
		fs->ops->close(fs->ctx, fd);
		return rc; /* 1: the header is damaged, see reason */
	}
	*fd_out = fd;
	return 0;
}

/* Load the segment files into memory, checking every batch; fill the report. */
static int
recover(struct kr_log *log, struct kr_log_report *rep, char *err, size_t errlen)
{
	uint64_t *bases = NULL;
	uint32_t nb = 0;
	uint64_t expect = 0;
	uint32_t epoch = 0;
	int rc;

	rc = list_segments(log->fs, log->dir, &bases, &nb);
	if (rc != 0) {
		errf(err, errlen, "list %s: %s", log->dir, strerror(-rc));
		return rc;
	}
	if (nb > 0)
		expect = bases[0];
	for (uint32_t i = 0; i < nb; i++) {
		char reason[96] = "";
		uint8_t *body;
		size_t len = 0;
		struct kr_scan_result res;
		struct segment *s;
		uint32_t synced = 0, prev_epoch = 0;
		int fd = -1;

		rc = load_segment_file(log, bases[i], expect, &fd, &body, &len, &synced,
				       &prev_epoch, reason, sizeof(reason), err, errlen);
		if (rc < 0)
			goto out;
		if (rc == 1) {
			classify_damage(log, bases, nb, i, NULL, 0, expect, epoch, false, reason,
					rep);
			break;
		}
		rc = segs_push(log, bases[i], 0);
		if (rc != 0) {
			free(body);
			log->fs->ops->close(log->fs->ctx, fd);
			errf(err, errlen, "out of memory loading the log in %s", log->dir);
			goto out;
		}
		s = last_seg(log);
		free(s->buf);
		free(s->index);
		s->buf = body;
		s->fd = fd;
		s->prev_epoch = prev_epoch;
		s->cap = len > log->cfg.segment_bytes ? (uint32_t)len : log->cfg.segment_bytes;
		s->index_cap = s->cap / KR_SEGMENT_INDEX_INTERVAL_BYTES + 2;
		s->index = malloc(s->index_cap * sizeof(*s->index));
		if (s->index == NULL) {
			rc = -ENOMEM;
			errf(err, errlen, "out of memory loading the log in %s", log->dir);
			goto out;
		}

		struct load_ctx lc = {log, s};

		kr_log_scan(body, len, bases[i], epoch, load_batch, &lc, &res);
		s->size = (uint32_t)res.good_bytes;
		s->written = s->size;
		s->file_len = (uint32_t)len;
		s->hdr_synced = synced;
		log->bytes += s->size;
		rep->segments++;
		rep->batches += res.batches;
		expect = res.end_offset;
		epoch = res.last_epoch;
		if (res.bad) {
			struct after_damage d = {.found = res.valid_after_bad,
						 .pos = res.resync_pos,
						 .base = res.resync_offset,
						 .end = res.resync_end};

			/* at or past what the last segment's header says is synced: bytes a
			 * crash may have left half-written, in any order of pages (log.h);
			 * before it (a version 2 header says), or in an earlier segment
			 * (synced whole before the next was made), no write was torn */
			bool in_synced =
				i + 1 < nb || (synced != UINT32_MAX && res.good_bytes < synced);

			if (i + 1 == nb && (res.good_bytes >= synced || KR_BUG(DAMAGE_AS_TORN)))
				d.found = false;

			classify_damage(log, bases, nb, i, &d,
					KR_SEGMENT_HDR_BYTES + res.good_bytes, expect, epoch,
					in_synced, res.reason, rep);
			break;
		}
	}
	if (log->nsegs > 0 && log->segs[0].base_offset > 0) { /* what the deleted prefix ended in */
		log->epochs.base_epoch = log->segs[0].prev_epoch;
		log->epochs.base_offset = log->segs[0].base_offset;
	}
	/* Only the last segment takes appends: give the others back their spare room (one
	 * that becomes the last again after a truncation starts no append past its buffer:
	 * kr_log_append starts a new segment instead). */
	for (uint32_t i = 0; i + 1 < log->nsegs; i++) {
		struct segment *s = &log->segs[i];
		uint8_t *b = realloc(s->buf, s->size ? s->size : 1);

		if (b != NULL) {
			s->buf = b;
			s->cap = s->size;
		}
	}
	rc = 0;
	if (rep->outcome == KR_LOG_TORN_TAIL && !log->cfg.read_only) {
		log->files_dirty = true;
		rc = kr_log_flush(log, err, errlen); /* cuts the torn bytes; writes nothing */
	}
out:
	free(bases);
	return rc;
}

/* Open (creating it, unless read-only) the flushed-bound file and read the bound. A
 * missing, empty or damaged file means no bound (a log from before the file existed, or a
 * fresh one): recovery then bounds damage by segment bases alone. */
static int
bound_open(struct kr_log *log, char *err, size_t errlen)
{
	const struct kr_fs *fs = log->fs;
	uint8_t b[BOUND_BYTES];
	char path[PATH_MAX];
	bool is_dir, created;
	uint64_t size;
	int rc;

	if (path_of(path, log->dir, BOUND_FILE) != 0) {
		errf(err, errlen, "%s: path too long", log->dir);
		return -ENAMETOOLONG;
	}
	created = fs->ops->stat(fs->ctx, path, &is_dir, &size) != 0;
	if (created && log->cfg.read_only)
		return 0;
	log->bound_fd = fs->ops->open(fs->ctx, path,
				      log->cfg.read_only ? KR_FS_READ : KR_FS_RDWR | KR_FS_CREATE);
	if (log->bound_fd < 0) {
		rc = log->bound_fd;
		errf(err, errlen, "open %s: %s", path, strerror(-rc));
		return rc;
	}
	if (created && (rc = fs->ops->sync_dir(fs->ctx, log->dirfd)) != 0) {
		errf(err, errlen, "fsync %s: %s", log->dir, strerror(-rc));
		return rc;
	}
	if (kr_read_full(fs, log->bound_fd, b, sizeof(b), 0) == (int)sizeof(b) &&
	    kr_get_le32(b + 8) == kr_crc32c(0, b, 8) && kr_get_le32(b + 12) == 0) {
		log->has_bound = true;
		log->bound = kr_get_le64(b);
	}
	return 0;
}

int
kr_log_open(const struct kr_log_config *cfg, struct kr_log **out, struct kr_log_report *report,
	    char *err, size_t errlen)
{
	struct kr_log *log;
	int rc;

	memset(report, 0, sizeof(*report));
	rc = config_check(cfg, err, errlen);
	if (rc != 0)
		return rc;
	log = calloc(1, sizeof(*log));
	if (log == NULL)
		return -ENOMEM;
	log->cfg = *cfg;
	log->fs = kr_fs_or_posix(cfg->fs);
	log->dirfd = -1;
	log->bound_fd = -1;
	if (disk(log)) {
		snprintf(log->dir, sizeof(log->dir), "%s", cfg->dir);
		log->cfg.dir = log->dir;
		if (!cfg->read_only) {
			rc = kr_mkdir_durable(log->fs, log->dir);
			if (rc != 0) {
				errf(err, errlen, "create log directory %s: %s", log->dir,
				     strerror(-rc));
				goto fail;
			}
		}
		log->dirfd = log->fs->ops->open(log->fs->ctx, log->dir, KR_FS_DIR);
		if (log->dirfd < 0) {
			rc = log->dirfd;
			errf(err, errlen, "open log directory %s: %s", log->dir, strerror(-rc));
			goto fail;
		}
		rc = bound_open(log, err, errlen);
		if (rc != 0)
			goto fail;
		rc = recover(log, report, err, errlen);
		if (rc != 0)
			goto fail;
		/* What survived a process crash may sit unsynced in the page cache: make it
		 * durable before anyone reports it as such. */
		for (uint32_t i = 0; i < log->nsegs && !cfg->read_only; i++) {
			if (log->segs[i].fd >= 0 &&
			    (rc = log->fs->ops->sync(log->fs->ctx, log->segs[i].fd)) != 0) {
				errf(err, errlen, "fsync segment %" PRIu64 " in %s: %s",
				     log->segs[i].base_offset, log->dir, strerror(-rc));
				goto fail;
			}
		}
	}
	log->durable_end = kr_log_end(log);
	*out = log;
	return 0;
fail:
	kr_log_close(log);
	return rc;
}

void
kr_log_close(struct kr_log *log)
{
	if (log == NULL)
		return;
	for (uint32_t i = 0; i < log->nsegs; i++)
		segment_free(log->fs, &log->segs[i]);
	for (uint32_t i = 0; i < log->grave_n; i++)
		segment_free(log->fs, &log->grave[i]);
	for (uint32_t i = 0; i < log->close_n; i++)
		log->fs->ops->close(log->fs->ctx, log->close_fds[i]);
	free(log->grave);
	free(log->close_fds);
	free(log->segs);
	kr_epoch_cache_free(&log->epochs);
	if (log->bound_fd >= 0)
		log->fs->ops->close(log->fs->ctx, log->bound_fd);
	if (log->dirfd >= 0)
		log->fs->ops->close(log->fs->ctx, log->dirfd);
	free(log);
}

/* ---- append, flush ---- */

/* Where a batch of len bytes at the log end goes: the last segment, or a new one. The
 * checks both appends share (after their own). @return 0 with *seg, or kr_log_append's
 * errors. */
static int
append_room(struct kr_log *log, const struct kr_batch_hdr *h, uint32_t len, struct segment **seg)
{
	struct segment *s = last_seg(log);
	uint64_t end = kr_log_end(log);
	int rc;

	if (h->base_offset != end || h->epoch < kr_epoch_cache_last(&log->epochs))
		return -EINVAL;
	if (log->bytes + len > log->cfg.memory_bytes_max)
		return -ENOBUFS;
	/* a segment recovery gave its spare room back (it was not the last then) takes no
	 * more bytes than its buffer holds: a truncation may have made it the last again,
	 * and its buffer cannot grow under a flush job that is writing from it */
	if (s == NULL || s->sealed || s->size + len > log->cfg.segment_bytes ||
	    s->size + len > s->cap) {
		uint32_t prev = kr_log_last_epoch(log);

		if (prev == 0 && log->epochs.base_offset == end)
			prev = log->epochs.base_epoch; /* an empty log that starts past 0 */
		/* a batch larger than the segment size gets a segment of its own size */
		rc = segs_push(log, end,
			       len > log->cfg.segment_bytes ? len : log->cfg.segment_bytes);
		if (rc != 0)
			return rc;
		s = last_seg(log);
		s->prev_epoch = prev;
	}
	*seg = s;
	return 0;
}

/* The batch of len bytes now at s's end (not yet counted) joins the log. */
static int
append_commit(struct kr_log *log, struct segment *s, const struct kr_batch_hdr *h, uint32_t len)
{
	int rc = kr_epoch_cache_assign(&log->epochs, h->epoch, h->base_offset);

	if (rc != 0)
		return rc;
	segment_note_batch(s, h, s->size);
	s->size += len;
	log->bytes += len;
	return 0;
}

int
kr_log_append(struct kr_log *log, const uint8_t *batch, uint32_t len)
{
	struct kr_batch_hdr h;
	struct segment *s;
	int rc;

	if (log->cfg.read_only)
		return -EROFS;
	if (kr_batch_check(batch, len, &h) != 0 || h.length != len)
		return -EBADMSG;
	rc = append_room(log, &h, len, &s);
	if (rc != 0)
		return rc;
	/* bytes past the end: no reader and no flush job looks at them */
	memcpy(s->buf + s->size, batch, len);
	return append_commit(log, s, &h, len);
}

int
kr_log_append_records(struct kr_log *log, const struct kr_batch_hdr *h, const uint8_t *records,
		      uint32_t records_len, uint32_t count)
{
	struct kr_batch_hdr built;
	struct segment *s;
	uint32_t len = KR_BATCH_HDR_BYTES + records_len;
	int n, rc;

	if (log->cfg.read_only)
		return -EROFS;
	if (records_len > KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES || h->epoch == 0 ||
	    !kr_batch_attributes_valid(h->attributes) || h->base_offset > KR_OFFSET_MAX - count ||
	    kr_records_check(records, records_len, count) != 0)
		return -EBADMSG;
	rc = append_room(log, h, len, &s);
	if (rc != 0)
		return rc;
	/* built where it will stay, past the end until it is counted (the room is there and
	 * the records check out: it cannot fail) */
	n = kr_batch_build(s->buf + s->size, s->cap - s->size, h, records, records_len, count);
	if (n != (int)len)
		return -EBADMSG;
	built = *h; /* with the length, count and CRC it was given */
	built.length = len;
	built.record_count = (uint16_t)count;
	built.crc = kr_get_le32(s->buf + s->size);
	return append_commit(log, s, &built, len);
}

#define PAGE_BYTES 4096u

bool
kr_log_prefault_range(struct kr_log *log, uint32_t ahead, uint32_t min_bytes, void **addr,
		      size_t *len)
{
	struct segment *s = last_seg(log);
	uintptr_t base, from, to;
	uint32_t end;

	if (s == NULL || s->buf == NULL)
		return false;
	end = s->cap - s->size < ahead ? s->cap : s->size + ahead;
	if (s->touched >= end || end - (s->touched > s->size ? s->touched : s->size) < min_bytes)
		return false;
	/* whole pages only, in the address space (the buffer need not start on a page): the
	 * page holding the end is in use already, the page holding the new mark is left for
	 * the next range */
	base = (uintptr_t)s->buf;
	from = base + (s->touched > s->size ? s->touched : s->size);
	from = (from + PAGE_BYTES - 1) & ~(uintptr_t)(PAGE_BYTES - 1);
	to = (base + end) & ~(uintptr_t)(PAGE_BYTES - 1);
	s->touched = end;
	if (to <= from)
		return false;
	*addr = (void *)from;
	*len = to - from;
	return true;
}

/* A flush job is taken from the log by its owner (kr_log_job_begin: no I/O), carried out
 * by another thread (kr_log_job_run: I/O on the job only), and handed back
 * (kr_log_job_end: no I/O). Between begin and end the owner may append, truncate, reset
 * and delete segments: appends go past every byte the job writes; segments dropped
 * meanwhile wait in the grave, so the job's buffers and files stay valid; and a job
 * that a truncation, reset or deletion made stale moves nothing forward (the next job
 * reconciles the files). One job at a time. */

static int
job_room(struct kr_log_job *j, uint32_t nsegs)
{
	if (nsegs <= j->cap)
		return 0;

	uint32_t c = nsegs * 2;
	struct kr_log_job_seg *p = realloc(j->segs, c * sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
	j->segs = p;
	j->cap = c;
	return 0;
}

int
kr_log_job_begin(struct kr_log *log, struct kr_log_job *j)
{
	int rc;

	if (log->cfg.read_only)
		return -EROFS;
	if (log->job_out)
		return -EBUSY;
	j->n = 0;
	j->n_close = 0;
	j->rc = 0;
	j->err[0] = '\0';
	j->fs = log->fs;
	j->dirfd = log->dirfd;
	j->dir = log->dir;
	j->end = kr_log_end(log);
	j->mutations = log->mutations;
	j->reconcile = false;
	j->failed = log->failed;
	j->close_fds = NULL;
	j->bound_fd = log->bound_fd;
	j->bound_new = 0;
	if (log->bound_fd >= 0 && !log->failed && j->end > 0 &&
	    (!log->has_bound || j->end > log->bound))
		j->bound_new = j->end + (j->end / 4 > BOUND_STEP_MIN ? j->end / 4 : BOUND_STEP_MIN);
	if (!disk(log) || log->failed) {
		log->job_out = true;
		return 0;
	}
	rc = job_room(j, log->nsegs);
	if (rc != 0)
		return rc;
	j->reconcile = log->files_dirty;
	for (uint32_t i = 0; i < log->nsegs; i++) {
		struct segment *s = &log->segs[i];
		struct kr_log_job_seg *js = &j->segs[j->n];

		if (s->fd >= 0 && s->written == s->size && s->file_len == s->size && !j->reconcile)
			continue;
		js->uid = s->uid;
		js->base = s->base_offset;
		js->prev_epoch = s->prev_epoch;
		js->fd = s->fd;
		js->created = false;
		js->cut_to = s->fd >= 0 && s->file_len > s->written ? s->written : UINT32_MAX;
		js->buf = s->buf;
		js->from = s->written;
		js->to = s->size;
		/* a file this job syncs: its header first says what earlier jobs synced */
		js->synced = s->fd >= 0 && (js->to > js->from || js->cut_to != UINT32_MAX) &&
					     s->hdr_synced != js->from
				     ? js->from
				     : UINT32_MAX;
		js->hdr_done = false;
		j->n++;
	}
	/* files of segments dropped earlier: the job closes them */
	j->close_fds = log->close_fds;
	j->n_close = log->close_n;
	log->close_fds = NULL;
	log->close_n = log->close_cap = 0;
	log->job_out = true;
	return 0;
}

/* Before a job syncs a segment it writes to or cuts: its header, saying what earlier jobs
 * synced (log.h), so the same sync makes it durable. */
static int
job_header(const struct kr_fs *fs, struct kr_log_job_seg *js)
{
	uint8_t hdr[KR_SEGMENT_HDR_BYTES];
	int rc;

	if (js->synced == UINT32_MAX || js->hdr_done)
		return 0;
	kr_log_segment_header(hdr, js->base, js->synced, js->prev_epoch);
	rc = kr_write_full(fs, js->fd, hdr, sizeof(hdr), 0);
	js->hdr_done = rc == 0;
	return rc;
}

/* Is base one of the job's segments that has a file (a reconcile keeps those)? */
static bool
job_keeps(const struct kr_log_job *j, uint64_t base)
{
	for (uint32_t i = 0; i < j->n; i++)
		if (j->segs[i].base == base && j->segs[i].fd >= 0)
			return true;
	return false;
}

void
kr_log_job_run(struct kr_log_job *j)
{
	const struct kr_fs *fs = j->fs;
	uint64_t *bases = NULL;
	uint32_t nb = 0;
	int rc = 0;

	for (uint32_t i = 0; i < j->n_close; i++)
		fs->ops->close(fs->ctx, j->close_fds[i]);
	free(j->close_fds);
	j->close_fds = NULL;
	j->n_close = 0;
	if (j->failed) {
		j->rc = -EIO;
		errf(j->err, sizeof(j->err),
		     "an earlier flush of %s failed; the log is fail-stopped", j->dir);
		return;
	}
	if (j->reconcile) {
		for (uint32_t i = 0; i < j->n && rc == 0; i++) {
			struct kr_log_job_seg *js = &j->segs[i];

			if (js->cut_to == UINT32_MAX)
				continue;
			rc = job_header(fs, js);
			if (rc == 0)
				rc = fs->ops->truncate(fs->ctx, js->fd,
						       (uint64_t)KR_SEGMENT_HDR_BYTES + js->cut_to);
			if (rc == 0)
				rc = fs->ops->sync(fs->ctx, js->fd);
			if (rc != 0)
				errf(j->err, sizeof(j->err), "cut segment %" PRIu64 " in %s: %s",
				     js->base, j->dir, strerror(-rc));
		}
		if (rc == 0) {
			rc = list_segments(fs, j->dir, &bases, &nb);
			if (rc != 0)
				errf(j->err, sizeof(j->err), "list %s: %s", j->dir, strerror(-rc));
		}
		for (uint32_t i = 0; i < nb && rc == 0; i++)
			if (!job_keeps(j, bases[i]))
				rc = unlink_segment(fs, j->dir, bases[i], j->err, sizeof(j->err));
		free(bases);
		if (rc == 0) {
			rc = fs->ops->sync_dir(fs->ctx, j->dirfd);
			if (rc != 0)
				errf(j->err, sizeof(j->err), "fsync %s: %s", j->dir, strerror(-rc));
		}
	}
	if (rc == 0 && j->bound_new != 0) {
		/* before anything this job makes durable can be reported as such */
		uint8_t b[BOUND_BYTES] = {0};

		kr_put_le64(b, j->bound_new);
		kr_put_le32(b + 8, kr_crc32c(0, b, 8));
		rc = kr_write_full(fs, j->bound_fd, b, sizeof(b), 0);
		if (rc == 0)
			rc = fs->ops->sync(fs->ctx, j->bound_fd);
		if (rc != 0)
			errf(j->err, sizeof(j->err), "write %s/%s: %s", j->dir, BOUND_FILE,
			     strerror(-rc));
	}
	for (uint32_t i = 0; i < j->n && rc == 0; i++) {
		struct kr_log_job_seg *js = &j->segs[i];

		if (js->fd < 0) {
			rc = segment_create_file(fs, j->dirfd, j->dir, js->base, js->prev_epoch,
						 &js->fd, j->err, sizeof(j->err));
			if (rc != 0)
				break;
			js->created = true;
		}
		if (js->to == js->from)
			continue;
		rc = job_header(fs, js);
		if (rc == 0)
			rc = kr_write_full(fs, js->fd, js->buf + js->from, js->to - js->from,
					   (uint64_t)KR_SEGMENT_HDR_BYTES + js->from);
		if (rc == 0)
			rc = fs->ops->sync(fs->ctx, js->fd);
		if (rc != 0)
			errf(j->err, sizeof(j->err), "write segment %" PRIu64 " in %s: %s",
			     js->base, j->dir, strerror(-rc));
	}
	j->rc = rc;
}

static struct segment *
seg_by_uid(struct kr_log *log, uint64_t uid)
{
	for (uint32_t i = log->nsegs; i-- > 0;)
		if (log->segs[i].uid == uid)
			return &log->segs[i];
	return NULL;
}

int
kr_log_job_end(struct kr_log *log, struct kr_log_job *j)
{
	bool stale = j->mutations != log->mutations;

	if (!log->job_out)
		return -EINVAL;
	log->job_out = false;
	for (uint32_t i = 0; i < j->n; i++) {
		struct kr_log_job_seg *js = &j->segs[i];
		struct segment *s = seg_by_uid(log, js->uid);

		if (s == NULL) { /* dropped meanwhile: its new file is closed by the next job */
			if (js->created && grow((void **)&log->close_fds, &log->close_cap,
						log->close_n, sizeof(*log->close_fds)) == 0)
				log->close_fds[log->close_n++] = js->fd;
			continue;
		}
		if (js->created)
			s->fd = js->fd;
		if (j->rc != 0)
			continue;
		if (js->cut_to != UINT32_MAX)
			s->file_len = js->cut_to;
		if (js->hdr_done)
			s->hdr_synced = js->synced;
		if (js->to > s->file_len)
			s->file_len = js->to;
		if (!stale && js->to > s->written)
			s->written = js->to;
	}
	grave_sweep(log);
	if (j->rc != 0) {
		log->failed = true;
		return j->rc;
	}
	if (j->bound_new != 0) {
		log->bound = j->bound_new;
		log->has_bound = true;
	}
	if (j->failed || !disk(log))
		return j->failed ? -EIO : 0;
	if (!stale) {
		if (j->reconcile)
			log->files_dirty = false;
		if (j->end > log->durable_end)
			log->durable_end = j->end;
	}
	return 0;
}

void
kr_log_job_free(struct kr_log_job *j)
{
	free(j->segs);
	j->segs = NULL;
	j->cap = j->n = 0;
}

int
kr_log_flush(struct kr_log *log, char *err, size_t errlen)
{
	struct kr_log_job j = {0};
	int rc = kr_log_job_begin(log, &j);

	if (rc != 0) {
		errf(err, errlen, "flush %s: %s", log->dir, strerror(-rc));
		return rc;
	}
	kr_log_job_run(&j);
	rc = kr_log_job_end(log, &j);
	if (rc != 0)
		errf(err, errlen, "%s", j.err);
	kr_log_job_free(&j);
	return rc;
}

/* ---- read ---- */

/* Index of the last segment whose base is <= offset, or -1. Only the last segment can be
 * empty, so for offset < log end this is the segment holding offset. */
static int64_t
seg_for(const struct kr_log *log, uint64_t offset)
{
	int64_t lo = 0, hi = (int64_t)log->nsegs - 1, found = -1;

	while (lo <= hi) {
		int64_t mid = lo + (hi - lo) / 2;

		if (log->segs[mid].base_offset <= offset) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

int
kr_log_read(const struct kr_log *log, uint64_t offset, uint64_t upto, uint32_t max_bytes,
	    struct kr_log_span *span)
{
	uint64_t end = kr_log_end(log);
	struct kr_batch_hdr h;
	uint32_t pos;
	int64_t si;

	memset(span, 0, sizeof(*span));
	if (offset < kr_log_start(log) || offset > end)
		return -ERANGE;
	span->base_offset = span->end_offset = offset;
	span->prev_epoch = offset ? kr_epoch_cache_epoch_at(&log->epochs, offset - 1) : 0;
	if (offset >= upto || offset == end)
		return 0;
	si = seg_for(log, offset);
	if (si < 0 || segment_find(&log->segs[si], offset, &pos, &h) != 0)
		return -ERANGE;

	const struct segment *s = &log->segs[si];

	if (h.base_offset + h.record_count > upto)
		return 0;
	if (h.length > max_bytes)
		return -EMSGSIZE;
	span->data = s->buf + pos;
	span->base_offset = span->end_offset = h.base_offset;
	span->prev_epoch =
		h.base_offset ? kr_epoch_cache_epoch_at(&log->epochs, h.base_offset - 1) : 0;
	while (pos + span->len < s->size) {
		kr_batch_hdr_get(s->buf + pos + span->len, &h);
		if (span->len + h.length > max_bytes || h.base_offset + h.record_count > upto)
			break;
		span->len += h.length;
		span->end_offset = h.base_offset + h.record_count;
		span->batches++;
	}
	return 0;
}

/* ---- truncate, retention ---- */

int64_t
kr_log_truncate(struct kr_log *log, uint64_t offset)
{
	uint64_t end = kr_log_end(log);
	struct kr_batch_hdr h;
	uint32_t pos;

	if (log->cfg.read_only)
		return -EROFS;
	if (offset < kr_log_start(log))
		return -ERANGE;
	if (offset >= end)
		return (int64_t)end;

	int64_t si = seg_for(log, offset);
	struct segment *s = &log->segs[si];

	if (segment_find(s, offset, &pos, &h) != 0)
		return -ERANGE; /* cannot happen: offset is inside the log */
	while (log->nsegs > (uint32_t)si + 1) {
		struct segment *t = last_seg(log);

		log->bytes -= t->size;
		segment_release(log, t);
		log->nsegs--;
	}
	/* A flush job out may still write this buffer past pos (it took [written, size) when
	 * it began). Batches appended over those bytes could then reach the file beside old
	 * ones a job had synced, a log valid batch by batch that no leader holds, should the
	 * node stop before the next flush reconciles the file. So the buffer keeps its bytes:
	 * the next batch goes into a new segment (the file is cut to pos, and synced, before
	 * that segment's file is made), and at pos 0 the segment goes whole (its buffer and
	 * file wait in the grave for the job). */
	uint64_t cut;

	/* A sender's pin on bytes past pos is the same: they may still go out, so they are
	 * not written over (THE PINS, log.h). */
	bool keep = (log->job_out && disk(log)) || (pinned(s) && !KR_BUG(PIN_NO_SEAL));

	if (keep && pos == 0) {
		cut = s->base_offset;
		log->bytes -= s->size;
		segment_release(log, s);
		if (--log->nsegs == 0)
			log->empty_base = cut;
	} else {
		s->sealed = s->sealed || keep;
		log->bytes -= s->size - pos;
		s->size = pos;
		if (s->written > pos)
			s->written = pos;
		segment_reindex(s);
		cut = s->end_offset;
	}
	kr_epoch_cache_truncate(&log->epochs, cut);
	log->mutations++;
	if (log->durable_end > cut)
		log->durable_end = cut;
	log->files_dirty = disk(log);
	return (int64_t)cut;
}

/* Drop segments [0, n) from memory. */
static void
drop_front(struct kr_log *log, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		log->bytes -= log->segs[i].size;
		segment_release(log, &log->segs[i]);
	}
	if (n < log->nsegs)
		memmove(log->segs, log->segs + n, (log->nsegs - n) * sizeof(*log->segs));
	log->nsegs -= n;
	log->mutations++;
	log->files_dirty = disk(log);
}

int64_t
kr_log_delete_prefix(struct kr_log *log, uint64_t upto)
{
	uint32_t drop = 0;

	if (log->cfg.read_only)
		return -EROFS;
	while (drop + 1 < log->nsegs && log->segs[drop].end_offset <= upto)
		drop++;
	if (drop > 0) {
		drop_front(log, drop);
		kr_epoch_cache_trim_prefix(&log->epochs, log->segs[0].base_offset);
	}
	return (int64_t)kr_log_start(log);
}

int
kr_log_reset(struct kr_log *log, uint64_t start)
{
	if (log->cfg.read_only)
		return -EROFS;
	if (start > KR_OFFSET_MAX)
		return -ERANGE;
	drop_front(log, log->nsegs);
	log->epochs.n = 0;
	log->epochs.base_epoch = 0; /* not known: the leader's history below start is not here */
	log->epochs.base_offset = start;
	log->empty_base = start;
	log->durable_end = start;
	log->files_dirty = disk(log);
	return 0;
}

bool
kr_log_holds(const struct kr_log *log, struct kr_snap_id id)
{
	uint64_t leo = kr_log_end(log), start = kr_log_start(log);
	struct kr_epoch_end e, before;

	if (id.end_offset > leo || id.end_offset < start || id.epoch == 0)
		return false;
	if (id.end_offset == start)
		return kr_log_base_epoch(log) == id.epoch;
	/* epoch's records reach end - 1, and the epochs below it end at or before it */
	e = kr_epoch_cache_end_for(&log->epochs, id.epoch, leo);
	before = kr_epoch_cache_end_for(&log->epochs, id.epoch - 1, leo);
	return e.epoch == id.epoch && e.end_offset >= id.end_offset &&
	       before.end_offset <= id.end_offset - 1;
}

/* ---- the reader ---- */

void
kr_log_reader_hand(struct kr_log *log, uint64_t from, uint64_t upto)
{
	if (upto <= from)
		return;
	if (log->reader_handed <= log->reader_released) { /* nothing held: a new run */
		log->reader_released = from;
		log->reader_handed = upto;
		return;
	}
	if (from < log->reader_released)
		log->reader_released = from;
	if (upto > log->reader_handed)
		log->reader_handed = upto;
}

void
kr_log_reader_released(struct kr_log *log, uint64_t upto)
{
	if (upto <= log->reader_released)
		return;
	log->reader_released = upto < log->reader_handed ? upto : log->reader_handed;
	if (log->grave_n > 0)
		grave_sweep(log);
}

int
kr_log_hand_span(struct kr_log *log, uint64_t *handed, uint64_t committed, uint32_t max_bytes,
		 struct kr_log_span *sp)
{
	/* planted: hand what is appended, committed or not */
	uint64_t upto = KR_BUG(SNAP_PAST_HW) ? kr_log_end(log) : committed;

	if (*handed >= upto)
		return 0;
	if (*handed < kr_log_start(log))
		return -ERANGE;
	if (kr_log_read(log, *handed, upto, max_bytes, sp) != 0 || sp->len == 0)
		return 0;
	kr_log_reader_hand(log, sp->base_offset, sp->end_offset);
	*handed = sp->end_offset;
	return 1;
}

enum kr_retain
kr_log_retain_step(struct kr_log *log, uint64_t upto, uint64_t committed, int64_t young_us,
		   uint64_t voters_off)
{
	uint64_t end, bytes;

	if (upto > committed || KR_BUG(CUT_PAST_SNAPSHOT)) /* planted: cut to the committed end */
		upto = committed;
	if (upto <= kr_log_start(log) || log->nsegs < 2 ||
	    kr_log_first_segment(log, &end, &bytes) != 0 || end > upto)
		return KR_RETAIN_NONE;
	if (!KR_BUG(RETAIN_YOUNG) && log->segs[0].max_timestamp_us >= young_us)
		return KR_RETAIN_NONE;
	if (voters_off != KR_OFFSET_NONE && end > voters_off)
		return KR_RETAIN_VOTERS;
	kr_log_delete_prefix(log, end);
	return KR_RETAIN_DELETED;
}

struct kr_log_pin *
kr_log_pin(struct kr_log *log, const uint8_t *p, uint32_t len)
{
	for (uint32_t i = log->nsegs; i-- > 0;) { /* the newest first: most sends read there */
		struct segment *s = &log->segs[i];

		if (s->buf == NULL || p < s->buf || p + len > s->buf + s->size)
			continue;
		if (s->pin == NULL && (s->pin = calloc(1, sizeof(*s->pin))) == NULL)
			return NULL;
		s->pin->count++;
		return s->pin;
	}
	return NULL;
}

void
kr_log_unpin(struct kr_log *log, struct kr_log_pin *pin)
{
	if (pin == NULL || pin->count == 0)
		return;
	if (--pin->count == 0 && log->grave_n > 0)
		grave_sweep(log);
}

uint32_t
kr_log_pins(const struct kr_log *log)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < log->nsegs; i++)
		n += log->segs[i].pin != NULL ? log->segs[i].pin->count : 0;
	for (uint32_t i = 0; i < log->grave_n; i++)
		n += log->grave[i].pin != NULL ? log->grave[i].pin->count : 0;
	return n;
}

uint32_t
kr_log_reader_graves(const struct kr_log *log, uint64_t *leaked)
{
	if (leaked != NULL)
		*leaked = log->leaked;
	return log->grave_n;
}

/* ---- accessors ---- */

uint64_t
kr_log_mutations(const struct kr_log *log)
{
	return log->mutations;
}

uint64_t
kr_log_start(const struct kr_log *log)
{
	return log->nsegs ? log->segs[0].base_offset : log->empty_base;
}

uint64_t
kr_log_end(const struct kr_log *log)
{
	const struct segment *s = last_seg(log);

	return s ? s->end_offset : log->empty_base;
}

uint64_t
kr_log_durable_end(const struct kr_log *log)
{
	return disk(log) ? log->durable_end : kr_log_end(log);
}

void
kr_log_set_base_epoch(struct kr_log *log, uint32_t epoch)
{
	if (log->nsegs > 0 || log->empty_base == 0)
		return;
	log->epochs.base_epoch = epoch;
	log->epochs.base_offset = log->empty_base;
}

uint32_t
kr_log_base_epoch(const struct kr_log *log)
{
	return log->epochs.base_offset == kr_log_start(log) ? log->epochs.base_epoch : 0;
}

uint32_t
kr_log_last_epoch(const struct kr_log *log)
{
	if (log->epochs.n == 0 && log->epochs.base_offset > 0 &&
	    log->epochs.base_offset == kr_log_end(log))
		return log->epochs.base_epoch; /* an empty log that starts past 0 */
	return kr_epoch_cache_last(&log->epochs);
}

uint64_t
kr_log_bytes(const struct kr_log *log)
{
	return log->bytes;
}

uint32_t
kr_log_segment_count(const struct kr_log *log)
{
	return log->nsegs;
}

const struct kr_epoch_cache *
kr_log_epochs(const struct kr_log *log)
{
	return &log->epochs;
}

bool
kr_log_needs_flush(const struct kr_log *log)
{
	return disk(log) && !log->failed && !log->cfg.read_only &&
	       (log->durable_end < kr_log_end(log) || log->files_dirty);
}

int
kr_log_first_segment(const struct kr_log *log, uint64_t *end_offset, uint64_t *bytes)
{
	if (log->nsegs == 0)
		return -ENOENT;
	*end_offset = log->segs[0].end_offset;
	*bytes = log->segs[0].size;
	return 0;
}

int64_t
kr_log_first_segment_max_timestamp(const struct kr_log *log)
{
	return log->nsegs ? log->segs[0].max_timestamp_us : -1;
}
