/* kraftd tests: snapshot files (names, listing, writing, every check of reading, a full
 * disk) and the state machines (digest, kv: apply, freeze, image, load). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kraft/applier.h"
#include "kraft/fs.h"
#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/producers.h"
#include "kraft/sm.h"
#include "kraft/snapshot.h"
#include "kraft/xfer.h"
#include "testutil.h"

static const uint8_t cluster[KR_UUID_BYTES] = {1, 2,  3,  4,  5,  6,  7,  8,
					       9, 10, 11, 12, 13, 14, 15, 16};

static struct kr_snap_meta
meta(uint64_t end, uint32_t epoch, const char *sm)
{
	struct kr_snap_meta m = {.id = {end, epoch}, .last_timestamp_us = 1234567};

	memcpy(m.cluster_id, cluster, sizeof(cluster));
	snprintf(m.sm_name, sizeof(m.sm_name), "%s", sm);
	return m;
}

/* A snapshot of three chunks: voters, producers, one state piece of n bytes */
static void
write_three(const char *dir, struct kr_snap_id id, uint32_t n)
{
	struct kr_snap_writer w;
	struct kr_snap_meta m = meta(id.end_offset, id.epoch, "digest");
	uint8_t *p = malloc(n);

	assert_non_null(p);
	for (uint32_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(kr_snap_write_begin(&w, NULL, dir, &m), 0);
	assert_int_equal(kr_snap_write_chunk(&w, KR_SNAP_VOTERS, "voters", 6), 0);
	assert_int_equal(kr_snap_write_chunk(&w, KR_SNAP_PRODUCERS, "", 0), 0);
	assert_int_equal(kr_snap_write_chunk(&w, KR_SNAP_STATE, p, n), 0);
	assert_int_equal(kr_snap_write_end(&w), 0);
	free(p);
}

static void
names_round_trip_and_nothing_else_parses(void **state)
{
	char name[KR_SNAP_NAME_MAX];
	struct kr_snap_id id = {12345678901234ull, 77}, back;
	bool part;

	(void)state;
	kr_snap_name(id, false, name);
	assert_string_equal(name, "00000012345678901234-0000000077.snapshot");
	assert_int_equal(kr_snap_parse_name(name, &back, &part), 1);
	assert_true(back.end_offset == id.end_offset && back.epoch == id.epoch && !part);
	kr_snap_name(id, true, name);
	assert_int_equal(kr_snap_parse_name(name, &back, &part), 1);
	assert_true(part);
	const char *bad[] = {
		"00000012345678901234-0000000077.snapshotx",
		"0000012345678901234-0000000077.snapshot",
		"00000012345678901234_0000000077.snapshot",
		"0000001234567890123a-0000000077.snapshot",
		"99999999999999999999-0000000077.snapshot", /* past 2^64 */
		"00000012345678901234-9999999999.snapshot", /* past 2^32 */
		"00000000000000000000.log",
		"",
	};
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(kr_snap_parse_name(bad[i], &back, &part), 0);
}

static void
a_written_snapshot_reads_back_chunk_by_chunk(void **state)
{
	char *dir = tu_mkdtemp();
	struct kr_snap_id id = {1000, 3};
	struct kr_snap_reader r;
	uint8_t buf[4096];
	uint32_t type, len;
	uint64_t bytes;
	char why[256];

	(void)state;
	write_three(dir, id, 3000);
	assert_int_equal(kr_snap_open(&r, NULL, dir, id, cluster, why, sizeof(why)), 0);
	assert_string_equal(r.meta.sm_name, "digest");
	assert_true(r.meta.last_timestamp_us == 1234567);
	assert_int_equal(kr_snap_next(&r, &type, buf, sizeof(buf), &len, why, sizeof(why)), 1);
	assert_int_equal(type, KR_SNAP_VOTERS);
	assert_int_equal(len, 6);
	assert_memory_equal(buf, "voters", 6);
	assert_int_equal(kr_snap_next(&r, &type, buf, sizeof(buf), &len, why, sizeof(why)), 1);
	assert_int_equal(type, KR_SNAP_PRODUCERS);
	assert_int_equal(len, 0);
	assert_int_equal(kr_snap_next(&r, &type, buf, sizeof(buf), &len, why, sizeof(why)), 1);
	assert_int_equal(type, KR_SNAP_STATE);
	assert_int_equal(len, 3000);
	for (uint32_t i = 0; i < len; i++)
		assert_int_equal(buf[i], (uint8_t)(i * 7 + 3));
	assert_int_equal(kr_snap_next(&r, &type, buf, sizeof(buf), &len, why, sizeof(why)), 0);
	assert_int_equal(kr_snap_next(&r, &type, buf, sizeof(buf), &len, why, sizeof(why)), 0);
	kr_snap_close(&r);
	if (kr_snap_verify(NULL, dir, id, false, cluster, &bytes, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_true(bytes == KR_SNAP_HDR_BYTES + 4 * KR_SNAP_CHUNK_HDR_BYTES + 6 + 3000 + 20);
	/* a snapshot is written once */
	struct kr_snap_writer w;
	struct kr_snap_meta m = meta(1000, 3, "digest");
	assert_int_equal(kr_snap_write_begin(&w, NULL, dir, &m), -EEXIST);
	tu_rmtree_free(dir);
}

static void
listing_skips_parts_and_keeps_the_newest(void **state)
{
	char *dir = tu_mkdtemp();
	struct kr_snap_id ids[2];
	struct kr_snap_writer w;
	struct kr_snap_meta m = meta(900, 9, "kv");
	char name[KR_SNAP_NAME_MAX];

	(void)state;
	write_three(dir, (struct kr_snap_id){500, 2}, 10);
	write_three(dir, (struct kr_snap_id){100, 1}, 10);
	write_three(dir, (struct kr_snap_id){500, 1}, 10);
	write_three(dir, (struct kr_snap_id){700, 4}, 10);
	tu_file_write(dir, "00000000000000000001.log", "x", 1); /* not a snapshot */
	/* one left half-written (a crash): listed never, removed at start */
	assert_int_equal(kr_snap_write_begin(&w, NULL, dir, &m), 0);
	assert_int_equal(kr_snap_write_chunk(&w, KR_SNAP_STATE, "abc", 3), 0);
	kr_snap_name(m.id, true, name);
	assert_true(tu_file_exists(dir, name));
	assert_int_equal(kr_snap_list(NULL, dir, ids, 2), 4);
	assert_true(ids[0].end_offset == 500 && ids[0].epoch == 2);
	assert_true(ids[1].end_offset == 700 && ids[1].epoch == 4);
	assert_int_equal(kr_snap_remove_parts(NULL, dir), 1);
	assert_false(tu_file_exists(dir, name));
	assert_int_equal(kr_snap_remove(NULL, dir, (struct kr_snap_id){700, 4}), 0);
	assert_int_equal(kr_snap_list(NULL, dir, ids, 1), 3);
	assert_true(ids[0].end_offset == 500 && ids[0].epoch == 2);
	kr_snap_write_abort(&w); /* its file is gone: the handle is closed */
	tu_rmtree_free(dir);
}

/* THE CLEANER: by size, the oldest of two goes and the log may start at the next one's
 * end; the newest always stays; by age (the header's last timestamp, 1234567 us here);
 * no limit, nothing. */
static void
the_cleaner_removes_the_oldest_and_keeps_the_newest(void **state)
{
	char *dir = tu_mkdtemp();
	struct kr_snap_clean_step st;
	struct kr_snap_id ids[4];

	(void)state;
	write_three(dir, (struct kr_snap_id){100, 1}, 1000);
	write_three(dir, (struct kr_snap_id){200, 1}, 1000);
	write_three(dir, (struct kr_snap_id){300, 2}, 1000);
	/* within the limits, or none: nothing */
	assert_int_equal(kr_snap_clean(NULL, dir, 5000, 100000, -1, 0, &st), 0);
	assert_int_equal(kr_snap_clean(NULL, dir, 1u << 30, -1, -1, 0, &st), 0);
	/* by size: the log's bytes count too */
	assert_int_equal(kr_snap_clean(NULL, dir, 5000, 6000, -1, 0, &st), 1);
	assert_true(st.removed.end_offset == 100 && st.target == 200);
	assert_true(st.removed_bytes > 1000 && st.total > 5000 + 3000);
	assert_int_equal(kr_snap_list(NULL, dir, ids, 4), 2);
	assert_int_equal(kr_snap_clean(NULL, dir, 5000, 6000, -1, 0, &st), 1);
	assert_true(st.removed.end_offset == 200 && st.target == 300);
	/* the newest stays, however far over */
	assert_int_equal(kr_snap_clean(NULL, dir, 1u << 30, 1, -1, 0, &st), 0);
	assert_int_equal(kr_snap_list(NULL, dir, ids, 4), 1);
	/* by age: the oldest's last record against the wall clock */
	write_three(dir, (struct kr_snap_id){400, 2}, 10);
	assert_int_equal(kr_snap_clean(NULL, dir, 0, -1, 1000, 1234567 + 999000, &st), 0);
	assert_int_equal(kr_snap_clean(NULL, dir, 0, -1, 1000, 1234567 + 1001000, &st), 1);
	assert_true(st.removed.end_offset == 300 && st.target == 400);
	/* a memory-mode start removes them all */
	for (uint64_t e = 500; e < 540; e++)
		write_three(dir, (struct kr_snap_id){e, 3}, 10);
	assert_int_equal(kr_snap_remove_all(NULL, dir), 41);
	assert_int_equal(kr_snap_list(NULL, dir, ids, 4), 0);
	tu_rmtree_free(dir);
}

/* Every kind of damage is refused with -EBADMSG (or -EXDEV: another cluster's): a cut
 * at each chunk boundary and inside, a flipped bit anywhere, a chunk taken out, a file
 * renamed to another id, bytes appended. */
static void
damage_of_every_kind_is_refused(void **state)
{
	char *dir = tu_mkdtemp();
	struct kr_snap_id id = {4242, 5};
	char name[KR_SNAP_NAME_MAX], why[256];
	uint8_t orig[8192];
	size_t n;
	uint8_t other[KR_UUID_BYTES] = {9};

	(void)state;
	write_three(dir, id, 2000);
	kr_snap_name(id, false, name);
	n = tu_file_read(dir, name, orig, sizeof(orig));
	assert_int_equal(kr_snap_verify(NULL, dir, id, false, cluster, NULL, why, sizeof(why)), 0);
	/* cut anywhere: never whole */
	for (size_t cut = 0; cut < n; cut += (cut < 200 ? 1 : 97)) {
		tu_file_write(dir, name, orig, n);
		tu_file_cut(dir, name, cut);
		assert_int_equal(
			kr_snap_verify(NULL, dir, id, false, cluster, NULL, why, sizeof(why)),
			-EBADMSG);
	}
	/* a flipped bit anywhere */
	for (size_t pos = 0; pos < n; pos += (pos < 300 ? 1 : 53)) {
		tu_file_write(dir, name, orig, n);
		tu_file_flip(dir, name, pos, (uint8_t)(1u << (pos % 8)));
		int rc = kr_snap_verify(NULL, dir, id, false, cluster, NULL, why, sizeof(why));

		if (rc != -EBADMSG)
			fail_msg("a flip at byte %zu of %zu was not found (rc %d)", pos, n, rc);
	}
	/* the producers chunk (12 bytes, empty) taken out: each chunk checks, the end not */
	{
		size_t at = KR_SNAP_HDR_BYTES + KR_SNAP_CHUNK_HDR_BYTES + 6;
		uint8_t cut[8192];

		memcpy(cut, orig, at);
		memcpy(cut + at, orig + at + KR_SNAP_CHUNK_HDR_BYTES,
		       n - at - KR_SNAP_CHUNK_HDR_BYTES);
		tu_file_write(dir, name, cut, n - KR_SNAP_CHUNK_HDR_BYTES);
		assert_int_equal(
			kr_snap_verify(NULL, dir, id, false, cluster, NULL, why, sizeof(why)),
			-EBADMSG);
		assert_non_null(strstr(why, "end chunk does not match"));
	}
	/* bytes after the end */
	{
		uint8_t more[8192];

		memcpy(more, orig, n);
		memset(more + n, 0, 4);
		tu_file_write(dir, name, more, n + 4);
		assert_int_equal(
			kr_snap_verify(NULL, dir, id, false, cluster, NULL, why, sizeof(why)),
			-EBADMSG);
	}
	/* another cluster's, and a file under another id's name */
	tu_file_write(dir, name, orig, n);
	assert_int_equal(kr_snap_verify(NULL, dir, id, false, other, NULL, why, sizeof(why)),
			 -EXDEV);
	assert_non_null(strstr(why, "another cluster"));
	assert_int_equal(kr_snap_verify(NULL, dir, id, false, NULL, NULL, why, sizeof(why)), 0);
	{
		char other_name[KR_SNAP_NAME_MAX];
		struct kr_snap_id moved = {4242, 6};

		kr_snap_name(moved, false, other_name);
		tu_file_write(dir, other_name, orig, n);
		assert_int_equal(
			kr_snap_verify(NULL, dir, moved, false, cluster, NULL, why, sizeof(why)),
			-EBADMSG);
		assert_non_null(strstr(why, "not what its name says"));
	}
	assert_int_equal(kr_snap_verify(NULL, dir, (struct kr_snap_id){1, 1}, false, cluster, NULL,
					why, sizeof(why)),
			 -ENOENT);
	tu_rmtree_free(dir);
}

/* ---- a disk that fills up ---- */

struct full_disk {
	uint64_t room; /* bytes pwrite still takes */
};

static struct full_disk disk;

static int64_t
fd_pwrite(void *ctx, int h, const void *buf, size_t len, uint64_t off)
{
	if (disk.room == 0)
		return -ENOSPC;
	if (len > disk.room)
		len = (size_t)disk.room;
	disk.room -= len;
	return kr_fs_posix()->ops->pwrite(ctx, h, buf, len, off);
}

static void
a_full_disk_leaves_nothing_behind(void **state)
{
	char *dir = tu_mkdtemp();
	struct kr_fs_ops ops = *kr_fs_posix()->ops;
	struct kr_fs fs = {.ops = &ops, .ctx = kr_fs_posix()->ctx};
	struct kr_snap_id ids[4];
	char why[256];

	(void)state;
	ops.pwrite = fd_pwrite;
	write_three(dir, (struct kr_snap_id){10, 1}, 100); /* an older one, untouched */
	for (uint64_t room = 0; room < 400; room += 37) {
		struct kr_snap_writer w;
		struct kr_snap_meta m = meta(20, 1, "digest");
		uint8_t p[300] = {0};
		int rc;

		disk.room = room;
		rc = kr_snap_write_begin(&w, &fs, dir, &m);
		if (rc == 0) {
			kr_snap_write_chunk(&w, KR_SNAP_STATE, p, sizeof(p));
			rc = kr_snap_write_end(&w);
		}
		assert_int_equal(rc, -ENOSPC);
		assert_int_equal(kr_snap_list(NULL, dir, ids, 4), 1);
		assert_int_equal(kr_snap_remove_parts(NULL, dir), 0); /* none left */
	}
	assert_int_equal(kr_snap_verify(NULL, dir, (struct kr_snap_id){10, 1}, false, cluster, NULL,
					why, sizeof(why)),
			 0);
	disk.room = UINT64_MAX;
	{
		struct kr_snap_writer w;
		struct kr_snap_meta m = meta(20, 1, "digest");

		assert_int_equal(kr_snap_write_begin(&w, &fs, dir, &m), 0);
		assert_int_equal(kr_snap_write_end(&w), 0);
	}
	assert_int_equal(kr_snap_list(NULL, dir, ids, 4), 2);
	tu_rmtree_free(dir);
}

/* ---- state machines ---- */

/* A batch of count records at base; record i's value: key (8 bytes, LE) then len - 8
 * bytes of fill, or just len bytes when len < 8 */
static uint32_t
kv_batch(uint8_t *buf, size_t cap, uint64_t base, uint32_t count, const uint64_t *keys,
	 const uint32_t *lens, uint8_t fill, uint16_t attributes)
{
	uint8_t rec[8192];
	uint32_t pos = 0;
	struct kr_batch_hdr h = {.base_offset = base, .epoch = 1, .attributes = attributes};

	for (uint32_t i = 0; i < count; i++) {
		kr_put_le32(rec + pos, lens[i]);
		pos += 4;
		memset(rec + pos, fill + (uint8_t)i, lens[i]);
		if (lens[i] >= 8)
			kr_put_le64(rec + pos, keys[i]);
		pos += lens[i];
	}
	int n = kr_batch_build(buf, cap, &h, rec, pos, count);

	assert_true(n > 0);
	return (uint32_t)n;
}

/* state -> frozen copy -> image pieces of at most cap bytes -> a new state */
static void *
round_trip(const struct kr_sm_ops *ops, const void *sm, uint32_t cap, unsigned *pieces)
{
	void *frozen = ops->freeze(sm), *back = ops->create();
	uint8_t *buf = malloc(cap);
	uint64_t cursor = 0;
	uint32_t n;

	assert_non_null(frozen);
	assert_non_null(back);
	assert_non_null(buf);
	*pieces = 0;
	while ((n = ops->image_next(frozen, &cursor, buf, cap)) > 0) {
		assert_int_equal(ops->load(back, buf, n), 0);
		(*pieces)++;
	}
	ops->destroy(frozen);
	free(buf);
	return back;
}

/* ---- transfers (include/kraft/xfer.h) ---- */

#define WIN 4096u

static uint8_t *
file_bytes(const char *dir, struct kr_snap_id id, size_t *len)
{
	char name[KR_SNAP_NAME_MAX];
	uint8_t *b;

	kr_snap_name(id, false, name);
	*len = tu_file_size(dir, name);
	b = malloc(*len);
	assert_non_null(b);
	assert_int_equal(tu_file_read(dir, name, b, *len), *len);
	return b;
}

/* Step the I/O side until it answers the latest request. */
static void
io_answer(struct kr_xfer *x, const struct kr_fs *fs, const char *dir, const uint8_t *cl)
{
	char why[256];

	for (int i = 0; i < 4 && !kr_xfer_answered(x); i++)
		kr_xfer_io_step(x, fs, dir, cl, 1000, why, sizeof(why));
	assert_true(kr_xfer_answered(x));
}

/* Read the file through the window from pos to its end, max bytes per view, into out. */
static void
stream_out(struct kr_xfer *x, const char *dir, uint64_t pos, uint32_t max, uint8_t *out,
	   uint64_t size)
{
	char why[256];

	while (pos < size) {
		const uint8_t *p;
		int64_t n = kr_xfer_peek(x, pos, max, &p);

		assert_true(n >= 0);
		if (n == 0) {
			assert_true(kr_xfer_io_step(x, NULL, dir, cluster, 1000, why, sizeof(why)) >
				    0);
			continue;
		}
		/* the window never holds more than its size past what was asked */
		assert_true(atomic_load(&x->head) - atomic_load(&x->tail) <= x->cap);
		memcpy(out + pos, p, (size_t)n);
		pos += (uint64_t)n;
		kr_xfer_release(x, pos);
	}
}

static void
a_snapshot_streams_out_through_a_small_window_and_seeks(void **state)
{
	char *dir = tu_mkdtemp(), why[256];
	struct kr_snap_id id = {500, 3};
	uint8_t *buf = malloc(WIN), *got, *want;
	struct kr_xfer x;
	const uint8_t *p;
	size_t size;

	(void)state;
	write_three(dir, id, 50000);
	want = file_bytes(dir, id, &size);
	got = calloc(1, size);
	kr_xfer_init(&x, buf, WIN);
	/* nothing is served before the I/O side answered */
	kr_xfer_request(&x, KR_XFER_OUT, id, 0);
	assert_int_equal(kr_xfer_peek(&x, 0, 100, &p), -ERANGE);
	io_answer(&x, NULL, dir, cluster);
	assert_int_equal(kr_xfer_status(&x), KR_XFER_BUSY);
	assert_int_equal(kr_xfer_size(&x), size);
	stream_out(&x, dir, 0, 700, got, size);
	assert_memory_equal(got, want, size);
	/* below what was released, or past what was read: a seek is needed */
	assert_int_equal(kr_xfer_peek(&x, 100, 100, &p), -ERANGE);
	kr_xfer_request(&x, KR_XFER_OUT, id, 100);
	io_answer(&x, NULL, dir, cluster);
	memset(got, 0, size);
	stream_out(&x, dir, 100, 333, got, size);
	assert_memory_equal(got + 100, want + 100, size - 100);
	/* no such snapshot; a position past the end */
	kr_xfer_request(&x, KR_XFER_OUT, (struct kr_snap_id){501, 3}, 0);
	io_answer(&x, NULL, dir, cluster);
	assert_int_equal(kr_xfer_status(&x), -ENOENT);
	kr_xfer_request(&x, KR_XFER_OUT, id, size + 1);
	io_answer(&x, NULL, dir, cluster);
	assert_int_equal(kr_xfer_status(&x), -ERANGE);
	kr_xfer_request(&x, KR_XFER_IDLE, id, 0);
	io_answer(&x, NULL, dir, cluster);
	assert_int_equal(kr_xfer_io_step(&x, NULL, dir, cluster, 1000, why, sizeof(why)), 0);
	free(buf);
	free(got);
	free(want);
	tu_rmtree_free(dir);
}

/* Send a file's bytes into an IN slot, damaging byte flip_at (if < size), stopping after
 * stop_at bytes; the I/O side runs on fs. @return the slot's status at the end. */
static int32_t
stream_in(struct kr_xfer *x, const struct kr_fs *fs, const char *dir, struct kr_snap_id id,
	  const uint8_t *bytes, size_t size, size_t flip_at, size_t stop_at, const uint8_t *cl)
{
	char why[256];
	size_t pos = 0;

	kr_xfer_request(x, KR_XFER_IN, id, 0);
	io_answer(x, fs, dir, cl);
	if (kr_xfer_status(x) != KR_XFER_BUSY)
		return kr_xfer_status(x);
	kr_xfer_in_size(x, size);
	while (pos < stop_at && pos < size && kr_xfer_status(x) == KR_XFER_BUSY) {
		uint8_t piece[900];
		uint32_t n = size - pos < sizeof(piece) ? (uint32_t)(size - pos) : sizeof(piece);

		if (n > kr_xfer_room(x)) {
			assert_int_equal(kr_xfer_put(x, bytes + pos, n), -ENOSPC);
			assert_true(kr_xfer_io_step(x, fs, dir, cl, 1000, why, sizeof(why)) > 0);
			continue;
		}
		memcpy(piece, bytes + pos, n);
		if (flip_at >= pos && flip_at < pos + n)
			piece[flip_at - pos] ^= 0x10;
		assert_int_equal(kr_xfer_put(x, piece, n), 0);
		pos += n;
	}
	for (int i = 0; i < 1000 && kr_xfer_status(x) == KR_XFER_BUSY &&
			kr_xfer_io_step(x, fs, dir, cl, 1000, why, sizeof(why)) > 0;
	     i++)
		;
	return kr_xfer_status(x);
}

/* writeback calls: the ranges handed to the disk, in order */
static struct {
	uint64_t calls, next, bad;
	int rc;
} wb;

static int
wb_count(void *ctx, int h, uint64_t off, uint64_t len)
{
	(void)ctx;
	(void)h;
	wb.calls++;
	if (off != wb.next || len == 0)
		wb.bad++; /* a gap, an overlap or nothing */
	wb.next = off + len;
	return wb.rc;
}

static void
a_snapshot_streams_in_and_is_named_only_once_checked(void **state)
{
	char *src = tu_mkdtemp(), *dst = tu_mkdtemp(), why[256];
	static const uint8_t other[KR_UUID_BYTES] = {9};
	struct kr_snap_id id = {500, 3}, ids[4];
	uint8_t *buf = malloc(WIN), *want;
	struct kr_fs_ops ops = *kr_fs_posix()->ops;
	struct kr_fs fs = {.ops = &ops, .ctx = kr_fs_posix()->ctx};
	struct kr_xfer x;
	size_t size;

	(void)state;
	write_three(src, id, 50000);
	want = file_bytes(src, id, &size);
	kr_xfer_init(&x, buf, WIN);
	/* damaged in flight (a byte of the header, of a chunk, of the end), another
	 * cluster's, cut off by a new request, a full disk: nothing named, no .part left */
	for (size_t flip = 10; flip < size; flip += size / 3) {
		assert_int_equal(stream_in(&x, NULL, dst, id, want, size, flip, size, cluster),
				 -EBADMSG);
		assert_int_equal(kr_snap_list(NULL, dst, ids, 4), 0);
		assert_int_equal(kr_snap_remove_parts(NULL, dst), 0);
	}
	assert_int_equal(stream_in(&x, NULL, dst, id, want, size, size - 1, size, cluster),
			 -EBADMSG);
	assert_int_equal(stream_in(&x, NULL, dst, id, want, size, size, size, other), -EXDEV);
	assert_int_equal(stream_in(&x, NULL, dst, id, want, size, size, size / 2, cluster),
			 KR_XFER_BUSY);
	kr_xfer_request(&x, KR_XFER_IDLE, id, 0);
	io_answer(&x, NULL, dst, cluster);
	ops.pwrite = fd_pwrite;
	disk.room = size / 2;
	assert_int_equal(stream_in(&x, &fs, dst, id, want, size, size, size, cluster), -ENOSPC);
	disk.room = UINT64_MAX;
	assert_int_equal(kr_snap_list(NULL, dst, ids, 4), 0);
	assert_int_equal(kr_snap_remove_parts(NULL, dst), 0);
	/* whole: checked, named, durable; what came handed to the disk's writeback as it
	 * came, every wb_every bytes, in order, without gaps (a failing writeback is only
	 * advice: the transfer goes on) */
	ops.pwrite = kr_fs_posix()->ops->pwrite;
	ops.writeback = wb_count;
	x.wb_every = 4096;
	wb.rc = -EIO;
	assert_int_equal(stream_in(&x, &fs, dst, id, want, size, size, size, cluster),
			 KR_XFER_DONE);
	assert_true(size > 10 * 4096);
	assert_true(wb.calls >= size / 4096 - 1 && wb.calls <= size / 4096);
	assert_int_equal(wb.bad, 0);
	assert_true(wb.next <= size && size - wb.next < 4096 + 900);
	assert_int_equal(kr_snap_list(NULL, dst, ids, 4), 1);
	assert_int_equal(kr_snap_remove(NULL, dst, id), 0);
	assert_int_equal(stream_in(&x, NULL, dst, id, want, size, size, size, cluster),
			 KR_XFER_DONE);
	assert_int_equal(kr_snap_list(NULL, dst, ids, 4), 1);
	assert_int_equal(ids[0].end_offset, 500);
	assert_int_equal(kr_snap_verify(NULL, dst, id, false, cluster, NULL, why, sizeof(why)), 0);
	assert_int_equal(kr_snap_remove_parts(NULL, dst), 0);
	free(buf);
	free(want);
	tu_rmtree_free(src);
	tu_rmtree_free(dst);
}

static void
the_digest_follows_every_record_and_survives_an_image(void **state)
{
	const struct kr_sm_ops *ops = kr_sm_find("digest");
	void *a = ops->create(), *b = ops->create(), *frozen, *back;
	uint8_t batch[4096];
	uint64_t keys[3] = {1, 2, 3};
	uint32_t lens[3] = {10, 0, 20}, n;
	unsigned pieces;

	(void)state;
	assert_ptr_equal(ops, &kr_sm_digest);
	assert_null(kr_sm_find("nope"));
	assert_true(ops->digest(a) == 0);
	n = kv_batch(batch, sizeof(batch), 0, 3, keys, lens, 'a', 0);
	assert_int_equal(kr_sm_apply_batch(ops, a, batch, n, 0), 3);
	assert_int_equal(kr_sm_apply_batch(ops, b, batch, n, 1), 2); /* from offset 1 */
	assert_true(ops->digest(a) != ops->digest(b));
	/* a control batch is the log's: not applied */
	n = kv_batch(batch, sizeof(batch), 3, 1, keys, lens, 'c',
		     kr_control_attributes(KR_CONTROL_LEADER_CHANGE));
	assert_int_equal(kr_sm_apply_batch(ops, a, batch, n, 0), 0);
	frozen = ops->freeze(a);
	n = kv_batch(batch, sizeof(batch), 4, 3, keys, lens, 'x', 0);
	kr_sm_apply_batch(ops, a, batch, n, 0);
	assert_true(ops->digest(a) != ops->digest(frozen)); /* the copy did not move */
	back = round_trip(ops, a, KR_SM_PIECE_MIN, &pieces);
	assert_int_equal(pieces, 1);
	assert_true(ops->digest(back) == ops->digest(a));
	/* the same records at other offsets are another log */
	{
		void *c = ops->create(), *d = ops->create();

		n = kv_batch(batch, sizeof(batch), 0, 3, keys, lens, 'a', 0);
		kr_sm_apply_batch(ops, c, batch, n, 0);
		n = kv_batch(batch, sizeof(batch), 100, 3, keys, lens, 'a', 0);
		kr_sm_apply_batch(ops, d, batch, n, 0);
		assert_true(ops->digest(c) != ops->digest(d));
		ops->destroy(c);
		ops->destroy(d);
	}
	/* a malformed image */
	void *c = ops->create();
	assert_int_equal(ops->load(c, batch, 31), -EBADMSG);
	ops->destroy(c);
	ops->destroy(frozen);
	ops->destroy(back);
	ops->destroy(a);
	ops->destroy(b);
}

struct seen_entries {
	int32_t val_len[5000]; /* -1: not seen */
	unsigned entries, bad;
};

static void
see_entry(void *arg, const uint8_t *key, uint32_t key_len, const uint8_t *val, uint32_t val_len)
{
	struct seen_entries *s = arg;
	uint64_t k = kr_get_le64(key);

	(void)val;
	s->entries++;
	if (key_len != 8 || k >= 5000 || s->val_len[k] != -1)
		s->bad++; /* a key out of place, or one seen twice */
	else
		s->val_len[k] = (int32_t)val_len;
}

static void
the_kv_map_sets_overwrites_deletes_and_survives_an_image(void **state)
{
	const struct kr_sm_ops *ops = &kr_sm_kv;
	void *a = ops->create(), *b = ops->create(), *back;
	static uint8_t batch[KR_BATCH_BYTES_MAX];
	uint64_t keys[64];
	uint32_t lens[64], n;
	unsigned pieces;
	uint64_t off = 0;

	(void)state;
	/* a: keys 0..4999 set, then every third overwritten, every fifth deleted, and
	 * a record too short to hold a key */
	for (uint64_t k = 0; k < 5000; k += 50) {
		for (uint32_t i = 0; i < 50; i++) {
			keys[i] = k + i;
			lens[i] = 8 + (uint32_t)((k + i) % 90);
		}
		n = kv_batch(batch, sizeof(batch), off, 50, keys, lens, 1, 0);
		assert_int_equal(kr_sm_apply_batch(ops, a, batch, n, 0), 50);
		off += 50;
	}
	for (uint64_t k = 0; k < 5000; k += 3) {
		keys[0] = k;
		lens[0] = k % 5 == 0 ? 8 : 40;
		n = kv_batch(batch, sizeof(batch), off++, 1, keys, lens, 2, 0);
		kr_sm_apply_batch(ops, a, batch, n, 0);
	}
	lens[0] = 3;
	n = kv_batch(batch, sizeof(batch), off++, 1, keys, lens, 3, 0);
	kr_sm_apply_batch(ops, a, batch, n, 0);
	/* b: the same final map built in another order, directly */
	for (uint64_t k = 5000; k-- > 0;) {
		keys[0] = k;
		if (k % 3 == 0 && k % 5 == 0)
			continue; /* deleted */
		if (k % 3 == 0) {
			lens[0] = 40;
			n = kv_batch(batch, sizeof(batch), 0, 1, keys, lens, 2, 0);
		} else {
			lens[0] = 8 + (uint32_t)(k % 90);
			n = kv_batch(batch, sizeof(batch), 0, 1, keys, lens, (uint8_t)(1 + k % 50),
				     0);
		}
		kr_sm_apply_batch(ops, b, batch, n, 0);
	}
	assert_true(ops->digest(a) != 0);
	assert_true(ops->digest(a) == ops->digest(b));
	assert_true(ops->bytes(a) == ops->bytes(b));
	/* each entry listed once, as the record that last set it; none deleted */
	{
		static struct seen_entries seen;
		unsigned live = 0;

		memset(seen.val_len, 0xff, sizeof(seen.val_len));
		ops->each(a, see_entry, &seen);
		assert_int_equal(seen.bad, 0);
		for (uint64_t k = 0; k < 5000; k++) {
			int32_t want = k % 3 == 0 ? (k % 5 == 0 ? -1 : 32) : (int32_t)(k % 90);

			assert_int_equal(seen.val_len[k], want);
			live += want >= 0;
		}
		assert_int_equal(seen.entries, live);
		assert_null(kr_sm_digest.each);
	}
	/* one value changed: another digest */
	keys[0] = 4999;
	lens[0] = 9;
	n = kv_batch(batch, sizeof(batch), 0, 1, keys, lens, 9, 0);
	kr_sm_apply_batch(ops, b, batch, n, 0);
	assert_true(ops->digest(a) != ops->digest(b));
	/* images in many small pieces, and in one */
	back = round_trip(ops, a, 4096, &pieces);
	assert_true(pieces > 10);
	assert_true(ops->digest(back) == ops->digest(a));
	ops->destroy(back);
	back = round_trip(ops, a, KR_SM_PIECE_MIN * 8, &pieces);
	assert_true(ops->digest(back) == ops->digest(a));
	ops->destroy(back);
	/* malformed pieces: an entry cut short, a key twice */
	{
		uint8_t p[40] = {0};
		void *c = ops->create();

		kr_put_le32(p + 8, 100);
		assert_int_equal(ops->load(c, p, 20), -EBADMSG);
		ops->destroy(c);
		c = ops->create();
		kr_put_le32(p + 8, 0);
		kr_put_le32(p + 20, 0);
		assert_int_equal(ops->load(c, p, 24), -EBADMSG);
		ops->destroy(c);
	}
	ops->destroy(a);
	ops->destroy(b);
}

/* A state machine's image through a snapshot file and back */
static void
a_state_through_a_snapshot_file(void **state)
{
	char *dir = tu_mkdtemp();
	const struct kr_sm_ops *ops = &kr_sm_kv;
	void *a = ops->create(), *frozen, *back = ops->create();
	static uint8_t batch[KR_BATCH_BYTES_MAX], piece[KR_SM_PIECE_MIN];
	struct kr_snap_writer w;
	struct kr_snap_reader r;
	struct kr_snap_meta m = meta(20000, 2, "kv");
	uint64_t keys[100], cursor = 0;
	uint32_t lens[100], n, type, len;
	char why[256];
	int rc;

	(void)state;
	for (uint64_t k = 0; k < 20000; k += 100) {
		for (uint32_t i = 0; i < 100; i++) {
			keys[i] = k + i;
			lens[i] = 64;
		}
		n = kv_batch(batch, sizeof(batch), k, 100, keys, lens, 5, 0);
		kr_sm_apply_batch(ops, a, batch, n, 0);
	}
	frozen = ops->freeze(a);
	assert_int_equal(kr_snap_write_begin(&w, NULL, dir, &m), 0);
	while ((n = ops->image_next(frozen, &cursor, piece, sizeof(piece))) > 0)
		assert_int_equal(kr_snap_write_chunk(&w, KR_SNAP_STATE, piece, n), 0);
	assert_int_equal(kr_snap_write_end(&w), 0);
	ops->destroy(frozen);
	assert_int_equal(kr_snap_open(&r, NULL, dir, m.id, cluster, why, sizeof(why)), 0);
	assert_string_equal(r.meta.sm_name, "kv");
	while ((rc = kr_snap_next(&r, &type, piece, sizeof(piece), &len, why, sizeof(why))) == 1)
		assert_int_equal(ops->load(back, piece, len), 0);
	assert_int_equal(rc, 0);
	kr_snap_close(&r);
	assert_true(ops->digest(back) == ops->digest(a));
	ops->destroy(a);
	ops->destroy(back);
	tu_rmtree_free(dir);
}

/* kv states at three points, each written with its extras: the newest whole one loads;
 * a damaged, another state machine's, or an unloadable newest one is passed over with
 * the reason; none whole is -ENOENT */
static void
a_start_loads_the_newest_whole_snapshot(void **state)
{
	char *dir = tu_mkdtemp();
	const struct kr_sm_ops *ops = &kr_sm_kv;
	void *a = ops->create();
	static uint8_t batch[KR_BATCH_BYTES_MAX], piece[KR_SM_PIECE_MIN];
	uint64_t digests[3], keys[10];
	uint32_t lens[10], n;
	struct kr_sm_loaded l;
	char name[KR_SNAP_NAME_MAX];
	struct kr_producers *pt = calloc(1, sizeof(*pt)), *back = calloc(1, sizeof(*back));

	(void)state;
	assert_non_null(pt);
	assert_non_null(back);
	kr_producers_reset(pt);
	assert_int_equal(kr_sm_snapshot_load_newest(NULL, dir, cluster, ops, back, 1000000, 0, &l),
			 -ENOENT);
	assert_int_equal(l.damaged, 0);
	for (int s = 0; s < 3; s++) {
		struct kr_snap_meta m = meta(100 * (uint64_t)(s + 1), 1, "kv");
		char voters[16];
		struct kr_sm_extras x = {(const uint8_t *)voters, 0, pt, 0};
		void *frozen;

		for (uint32_t i = 0; i < 10; i++) {
			keys[i] = (uint64_t)s * 1000 + i;
			lens[i] = 20;
		}
		n = kv_batch(batch, sizeof(batch), (uint64_t)s * 100, 10, keys, lens, 7, 0);
		kr_sm_apply_batch(ops, a, batch, n, 0);
		x.voters_len = (uint32_t)snprintf(voters, sizeof(voters), "voters-%d", s);
		kr_producers_record(pt, 1000000, 77, (uint64_t)s, (uint64_t)s * 100, 10, s, s);
		frozen = ops->freeze(a);
		assert_int_equal(
			kr_sm_snapshot_write(NULL, dir, &m, ops, frozen, &x, piece, sizeof(piece)),
			0);
		ops->destroy(frozen);
		digests[s] = ops->digest(a);
	}
	assert_int_equal(kr_sm_snapshot_load_newest(NULL, dir, cluster, ops, back, 1000000, 0, &l),
			 0);
	assert_true(l.meta.id.end_offset == 300);
	assert_true(ops->digest(l.sm) == digests[2]);
	assert_int_equal(l.voters_len, 8);
	assert_memory_equal(l.voters, "voters-2", 8);
	assert_int_equal(l.producers, 1);
	assert_non_null(kr_producers_find(back, 77));
	assert_int_equal(kr_producers_find(back, 77)->n, 3);
	assert_true(kr_producers_find(back, 77)->last_seq == 2);
	assert_int_equal(l.damaged, 0);
	kr_sm_loaded_free(ops, &l);
	/* the newest damaged: the one before it, and why */
	kr_snap_name((struct kr_snap_id){300, 1}, false, name);
	tu_file_flip(dir, name, tu_file_size(dir, name) - 40, 0x10);
	assert_int_equal(kr_sm_snapshot_load_newest(NULL, dir, cluster, ops, back, 1000000, 0, &l),
			 0);
	assert_true(l.meta.id.end_offset == 200);
	assert_true(ops->digest(l.sm) == digests[1]);
	assert_true(kr_producers_find(back, 77)->last_seq == 1); /* that snapshot's table */
	assert_int_equal(l.damaged, 1);
	assert_non_null(strstr(l.why[0], "CRC mismatch"));
	assert_non_null(strstr(l.why[0], "set aside"));
	kr_sm_loaded_free(ops, &l);
	/* it went aside: no listing counts it (the cleaner would take it for the newest) */
	assert_false(tu_file_exists(dir, name));
	{
		char aside[KR_SNAP_NAME_MAX + sizeof(KR_SNAP_DAMAGED_SUFFIX)];

		snprintf(aside, sizeof(aside), "%s%s", name, KR_SNAP_DAMAGED_SUFFIX);
		assert_true(tu_file_exists(dir, aside));
	}
	/* a newer one of another state machine, and one whose image does not load */
	{
		struct kr_snap_writer w;
		struct kr_snap_meta m = meta(400, 1, "digest");
		uint8_t bad[20] = {0};

		assert_int_equal(kr_snap_write_begin(&w, NULL, dir, &m), 0);
		assert_int_equal(kr_snap_write_end(&w), 0);
		m = meta(500, 1, "kv");
		kr_put_le32(bad + 8, 1000); /* an entry longer than its piece */
		assert_int_equal(kr_snap_write_begin(&w, NULL, dir, &m), 0);
		assert_int_equal(kr_snap_write_chunk(&w, KR_SNAP_STATE, bad, sizeof(bad)), 0);
		assert_int_equal(kr_snap_write_end(&w), 0);
	}
	assert_int_equal(kr_sm_snapshot_load_newest(NULL, dir, cluster, ops, NULL, 0, 0, &l), 0);
	assert_true(l.meta.id.end_offset == 200);
	assert_int_equal(l.damaged, 2);
	assert_non_null(strstr(l.why[0], "does not load"));
	assert_non_null(strstr(l.why[0], "set aside"));
	assert_non_null(strstr(l.why[1], "holds state machine 'digest'"));
	assert_null(strstr(l.why[1], "set aside")); /* whole, only another machine's */
	kr_sm_loaded_free(ops, &l);
	/* another cluster's node finds none of them its own */
	{
		uint8_t other[KR_UUID_BYTES] = {7};

		assert_int_equal(
			kr_sm_snapshot_load_newest(NULL, dir, other, ops, back, 1000000, 0, &l),
			-ENOENT);
		assert_null(kr_producers_find(back, 77)); /* nothing kept from a refused one */
		assert_int_equal(l.damaged, 3);		  /* 400 (another machine's), 200, 100 */
		assert_non_null(strstr(l.why[1], "another cluster"));
	}
	ops->destroy(a);
	free(pt);
	free(back);
	tu_rmtree_free(dir);
}

/* The producer table's image: producers recorded over time, imaged in small pieces from
 * a point in time, loaded into an empty table: every producer since then found with the
 * same appends in the same order, the same recency order; older ones left out */
static void
the_producer_table_survives_its_image(void **state)
{
	struct kr_producers *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	const int64_t win = 1000000;
	uint8_t piece[KR_PRODUCER_IMAGE_MAX * 3];
	uint32_t cursor = 0, n;
	int pieces = 0, loaded = 0;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	kr_producers_reset(a);
	kr_producers_reset(b);
	/* 300 producers, 1..8 appends each, at times 0..2999 us */
	for (uint64_t k = 0; k < 3000; k++) {
		uint64_t pid = 1 + (k * 7919) % 300;

		kr_producers_record(a, win, pid, k, 10 * k, (uint32_t)(1 + k % 3), (int64_t)k,
				    (int64_t)k);
	}
	while ((n = kr_producers_image_next(a, 1000, &cursor, piece, sizeof(piece))) > 0) {
		int got = kr_producers_load(b, win, piece, n, 3000);

		assert_true(got > 0);
		loaded += got;
		pieces++;
	}
	assert_true(pieces > 10);
	assert_int_equal(kr_producers_image_next(a, 1000, &cursor, piece, sizeof(piece)), 0);
	for (uint64_t pid = 1; pid <= 300; pid++) {
		struct kr_producer *pa = kr_producers_find(a, pid), *pb = kr_producers_find(b, pid);

		assert_non_null(pa);
		if (pa->last_us < 1000) {
			assert_null(pb);
			continue;
		}
		assert_non_null(pb);
		assert_true(pa->last_us == pb->last_us && pa->last_seq == pb->last_seq);
		assert_int_equal(pa->n, pb->n);
		for (unsigned k = 0; k < pa->n; k++) {
			unsigned ia =
				(pa->next + KR_PRODUCER_WINDOW - pa->n + k) % KR_PRODUCER_WINDOW;
			unsigned ib =
				(pb->next + KR_PRODUCER_WINDOW - pb->n + k) % KR_PRODUCER_WINDOW;

			assert_true(pa->seq[ia] == pb->seq[ib] && pa->base[ia] == pb->base[ib] &&
				    pa->count[ia] == pb->count[ib]);
		}
	}
	assert_int_equal(loaded, (int)b->used);
	assert_true(a->e[a->newest].id == b->e[b->newest].id);
	/* malformed pieces */
	memset(piece, 0, sizeof(piece));
	assert_int_equal(kr_producers_load(b, win, piece, 16, 0), -EBADMSG); /* cut short */
	kr_put_le64(piece, 5);
	piece[16] = KR_PRODUCER_WINDOW + 1; /* more appends than a producer keeps */
	assert_int_equal(kr_producers_load(b, win, piece, 17 + 20 * 6, 0), -EBADMSG);
	piece[16] = 2;
	assert_int_equal(kr_producers_load(b, win, piece, 17 + 20, 0), -EBADMSG); /* one short */
	kr_put_le64(piece, 0);
	piece[16] = 1;
	assert_int_equal(kr_producers_load(b, win, piece, 17 + 20, 0), -EBADMSG); /* id 0 */
	free(a);
	free(b);
}

/* The log of three epochs: each a LeaderChange, the first and third a voters record,
 * then kv data batches from two producers; stored one batch after another in log */
static uint32_t
three_epochs(uint8_t *log, size_t cap, uint32_t *ends, unsigned *nb)
{
	uint32_t len = 0;
	uint64_t off = 0;

	*nb = 0;
	for (uint32_t e = 1; e <= 3; e++) {
		uint64_t keys[4];
		uint32_t lens[4] = {9, 9, 9, 9};
		struct kr_batch_hdr h = {.base_offset = off, .epoch = e};
		uint8_t rec[64];
		int n;

		/* LeaderChange, and voters records in epochs 1 and 3 */
		for (int c = 0; c < (e == 2 ? 1 : 2); c++) {
			h.base_offset = off;
			h.attributes = kr_control_attributes(c == 0 ? KR_CONTROL_LEADER_CHANGE
								    : KR_CONTROL_VOTERS);
			kr_put_le32(rec, 6);
			memcpy(rec + 4, c == 0 ? "leader" : (e == 1 ? "vset-1" : "vset-3"), 6);
			n = kr_batch_build(log + len, cap - len, &h, rec, 10, 1);
			assert_true(n > 0);
			len += (uint32_t)n;
			ends[(*nb)++] = len;
			off++;
		}
		for (uint32_t b = 0; b < 20; b++) {
			uint8_t tmp[512];
			struct kr_batch_hdr d;
			uint32_t m;

			for (int i = 0; i < 4; i++)
				keys[i] = (uint64_t)(e * 100 + b * 4 + (uint32_t)i) % 37;
			m = kv_batch(tmp, sizeof(tmp), off, 4, keys, lens, (uint8_t)(e + b), 0);
			kr_batch_hdr_get(tmp, &d);
			d.producer_id = 1 + b % 2;
			d.sequence = e * 100 + b;
			d.epoch = e;
			d.timestamp_us = (int64_t)(e * 1000 + b);
			n = kr_batch_build(log + len, cap - len, &d, tmp + KR_BATCH_HDR_BYTES,
					   m - KR_BATCH_HDR_BYTES, 4);
			assert_true(n > 0);
			len += (uint32_t)n;
			ends[(*nb)++] = len;
			off += 4;
		}
	}
	return len;
}

/* A node that applies the whole log, and one restarted from a snapshot taken midway
 * that applies the log again from the start (what lies below the snapshot skipped),
 * end in equal states: the machine's digest, the voters in force, the producers */
static void
a_restart_from_a_snapshot_ends_where_a_straight_run_ends(void **state)
{
	char *dir = tu_mkdtemp();
	static uint8_t log[64 * 1024], piece[KR_SM_PIECE_MIN];
	uint32_t ends[128];
	unsigned nb, mid;
	struct kr_applier a, b, c;
	struct kr_applier_image img;
	struct kr_sm_loaded l;
	uint32_t len = three_epochs(log, sizeof(log), ends, &nb);

	(void)state;
	assert_int_equal(kr_applier_init(&a, &kr_sm_kv, 1000000), 0);
	assert_int_equal(kr_applier_init(&b, &kr_sm_kv, 1000000), 0);
	assert_int_equal(kr_applier_init(&c, &kr_sm_kv, 1000000), 0);
	assert_int_equal(kr_applier_freeze(&b, cluster, &img), -ENODATA);
	assert_false(kr_applier_due(&b, 1, 1, 0, 100));
	for (unsigned i = 0, at = 0; i < nb; at = ends[i++])
		assert_int_equal(kr_applier_batch(&a, log + at, ends[i] - at), 0);
	assert_true(a.next == 2 + 80 + 1 + 80 + 2 + 80);
	assert_int_equal(a.last_epoch, 3);
	assert_memory_equal(a.voters, "vset-3", 6);
	/* b: up to the middle of epoch 2, then a snapshot */
	mid = 22 + 1 + 10;
	for (unsigned i = 0, at = 0; i < mid; at = ends[i++])
		assert_int_equal(kr_applier_batch(&b, log + at, ends[i] - at), 0);
	assert_true(kr_applier_due(&b, 100, 0, 0, 0));
	assert_false(kr_applier_due(&b, 1u << 30, 0, 0, 0));
	assert_true(kr_applier_due(&b, 0, 50, 0, 60));
	assert_int_equal(kr_applier_freeze(&b, cluster, &img), 0);
	assert_false(kr_applier_due(&b, 1, 0, 0, 0)); /* counted as taken */
	assert_true(img.meta.id.end_offset == b.next && img.meta.id.epoch == 2);
	/* b goes on while the image is written: the image does not move */
	for (unsigned i = mid, at = ends[mid - 1]; i < nb; at = ends[i++])
		assert_int_equal(kr_applier_batch(&b, log + at, ends[i] - at), 0);
	assert_int_equal(kr_applier_write(&img, NULL, dir, piece, sizeof(piece)), 0);
	kr_applier_image_free(&img);
	assert_true(kr_sm_kv.digest(b.sm) == kr_sm_kv.digest(a.sm));
	/* c: restarts from the snapshot */
	assert_int_equal(kr_applier_load(&c, NULL, dir, cluster, 5000, &l), 0);
	assert_true(c.next == 2 + 80 + 1 + 40);
	assert_int_equal(c.last_epoch, 2);
	assert_memory_equal(c.voters, "vset-1", 6);
	assert_true(kr_sm_kv.digest(c.sm) != kr_sm_kv.digest(a.sm));
	assert_non_null(kr_producers_find(c.producers, 1));
	/* a gap is refused: the batch after next + 1 */
	assert_int_equal(kr_applier_batch(&c, log + ends[mid], ends[mid + 1] - ends[mid]), -EINVAL);
	for (unsigned i = 0, at = 0; i < nb; at = ends[i++])
		assert_int_equal(kr_applier_batch(&c, log + at, ends[i] - at), 0);
	assert_true(c.next == a.next);
	assert_true(kr_sm_kv.digest(c.sm) == kr_sm_kv.digest(a.sm));
	assert_memory_equal(c.voters, a.voters, a.voters_len);
	for (uint64_t pid = 1; pid <= 2; pid++) {
		struct kr_producer *pa = kr_producers_find(a.producers, pid);
		struct kr_producer *pc = kr_producers_find(c.producers, pid);

		assert_non_null(pc);
		assert_true(pa->last_seq == pc->last_seq && pa->n == pc->n &&
			    pa->last_us == pc->last_us);
	}
	(void)len;
	kr_applier_free(&a);
	kr_applier_free(&b);
	kr_applier_free(&c);
	tu_rmtree_free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_round_trip_and_nothing_else_parses),
		cmocka_unit_test(a_written_snapshot_reads_back_chunk_by_chunk),
		cmocka_unit_test(listing_skips_parts_and_keeps_the_newest),
		cmocka_unit_test(the_cleaner_removes_the_oldest_and_keeps_the_newest),
		cmocka_unit_test(damage_of_every_kind_is_refused),
		cmocka_unit_test(a_full_disk_leaves_nothing_behind),
		cmocka_unit_test(a_snapshot_streams_out_through_a_small_window_and_seeks),
		cmocka_unit_test(a_snapshot_streams_in_and_is_named_only_once_checked),
		cmocka_unit_test(the_digest_follows_every_record_and_survives_an_image),
		cmocka_unit_test(the_kv_map_sets_overwrites_deletes_and_survives_an_image),
		cmocka_unit_test(a_state_through_a_snapshot_file),
		cmocka_unit_test(a_start_loads_the_newest_whole_snapshot),
		cmocka_unit_test(the_producer_table_survives_its_image),
		cmocka_unit_test(a_restart_from_a_snapshot_ends_where_a_straight_run_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
