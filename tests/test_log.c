/* kraftd tests: record batches, the epoch cache, and the log: append, read, truncate,
 * reopen, retention, flush, torn tails and mid-log corruption. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kraft/crashtest.h"
#include "kraft/crc32c.h"
#include "kraft/le.h"
#include "kraft/log.h"
#include "testutil.h"

#define SEG0 "00000000000000000000.log"
/* Segment buffers are allocated whole, and meson fills new allocations (MALLOC_PERTURB_):
 * keep the tests' segments small. */
#define SEG_BIG (1u << 20)

struct fixture {
	char *dir;
	struct kr_log *log;
	struct kr_log_report rep;
	char err[256];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	kr_log_close(f->log);
	tu_rmtree_free(f->dir);
	free(f);
	return 0;
}

static struct kr_log_config
cfg_of(const struct fixture *f, uint32_t segment_bytes)
{
	struct kr_log_config c = {
		.dir = f->dir,
		.durability = KR_LOG_DISK,
		.segment_bytes = segment_bytes,
		.memory_bytes_max = 1ull << 30,
	};

	return c;
}

static void
reopen(struct fixture *f, uint32_t segment_bytes)
{
	struct kr_log_config c = cfg_of(f, segment_bytes);

	kr_log_close(f->log);
	f->log = NULL;
	if (kr_log_open(&c, &f->log, &f->rep, f->err, sizeof(f->err)) != 0)
		fail_msg("open: %s", f->err);
}

/* Append a batch of count records in epoch at the log end; returns its length. */
static uint32_t
append(struct kr_log *log, uint32_t epoch, uint32_t count, uint32_t value_len)
{
	uint8_t b[KR_BATCH_BYTES_MAX];
	uint32_t n = tu_batch(b, sizeof(b), kr_log_end(log), epoch, count, value_len);

	assert_int_equal(kr_log_append(log, b, n), 0);
	return n;
}

static void
flush(struct fixture *f)
{
	if (kr_log_flush(f->log, f->err, sizeof(f->err)) != 0)
		fail_msg("flush: %s", f->err);
}

/* The header of segment file name says every batch byte it holds is synced, as a later
 * flush job into it would have written (log.h): damage in those bytes is damage, not a
 * torn write. */
static void
header_says_synced(struct fixture *f, const char *name)
{
	uint8_t hdr[KR_SEGMENT_HDR_BYTES];
	size_t size = tu_file_size(f->dir, name);
	uint8_t *b = malloc(size);

	assert_non_null(b);
	assert_int_equal(tu_file_read(f->dir, name, b, size), size);
	kr_log_segment_header(hdr, kr_get_le64(b + 16), (uint32_t)(size - KR_SEGMENT_HDR_BYTES), 0);
	memcpy(b, hdr, sizeof(hdr));
	tu_file_write(f->dir, name, b, size);
	free(b);
}

/* Read everything from offset into a list of (base, count) and check each batch. */
static uint64_t
read_all_from(const struct kr_log *log, uint64_t offset)
{
	struct kr_log_span sp;
	uint64_t next = offset;

	for (;;) {
		assert_int_equal(kr_log_read(log, next, KR_OFFSET_NONE, 1u << 20, &sp), 0);
		if (sp.len == 0)
			break;
		uint32_t pos = 0;

		while (pos < sp.len) {
			struct kr_batch_hdr h;

			assert_int_equal(kr_batch_check(sp.data + pos, sp.len - pos, &h), 0);
			assert_int_equal(h.base_offset, pos == 0 ? sp.base_offset : next);
			next = h.base_offset + h.record_count;
			pos += h.length;
		}
		assert_int_equal(next, sp.end_offset);
	}
	return next;
}

/* ---- batches ---- */

static void
batch_builds_checks_and_refuses_damage(void **state)
{
	uint8_t b[KR_BATCH_BYTES_MAX];
	struct kr_batch_hdr h;
	uint32_t n = tu_batch(b, sizeof(b), 100, 4, 3, 10);

	(void)state;
	assert_int_equal(n, KR_BATCH_HDR_BYTES + 3 * (4 + 10));
	assert_int_equal(kr_batch_check(b, n, &h), 0);
	assert_int_equal(h.base_offset, 100);
	assert_int_equal(h.epoch, 4);
	assert_int_equal(h.record_count, 3);
	assert_int_equal(h.length, n);
	for (uint32_t i = 0; i < n; i++)
		assert_int_equal(kr_batch_check(b, i, &h), -EAGAIN);
	for (uint32_t i = 0; i < n; i++) {
		b[i] ^= 0x10;
		assert_int_not_equal(kr_batch_check(b, n, &h), 0);
		b[i] ^= 0x10;
	}
	kr_batch_restamp(b, 555, 9);
	assert_int_equal(kr_batch_check(b, n, &h), 0);
	assert_int_equal(h.base_offset, 555);
	assert_int_equal(h.epoch, 9);
}

static void
batch_build_refuses_oversize_and_malformed_records(void **state)
{
	static uint8_t rec[KR_BATCH_BYTES_MAX + 64], out[KR_BATCH_BYTES_MAX + 64];
	struct kr_batch_hdr h = {.base_offset = 0, .epoch = 1};
	uint32_t rlen;

	(void)state;
	rlen = tu_records(rec, sizeof(rec), 1, KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES - 4, 0);
	assert_int_equal(kr_batch_build(out, sizeof(out), &h, rec, rlen, 1), KR_BATCH_BYTES_MAX);
	rlen = tu_records(rec, sizeof(rec), 1, KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES - 3, 0);
	assert_int_equal(kr_batch_build(out, sizeof(out), &h, rec, rlen, 1), -EMSGSIZE);
	rlen = tu_records(rec, sizeof(rec), 2, 5, 0);
	assert_int_equal(kr_batch_build(out, sizeof(out), &h, rec, rlen, 3), -EINVAL);
	assert_int_equal(kr_batch_build(out, sizeof(out), &h, rec, rlen, 0), -EINVAL);
	assert_int_equal(kr_batch_build(out, 20, &h, rec, rlen, 2), -ENOSPC);
	h.epoch = 0; /* epoch 0 never writes: a batch claiming it does not check out */
	assert_true(kr_batch_build(out, sizeof(out), &h, rec, rlen, 2) > 0);
	assert_int_equal(kr_batch_check(out, sizeof(out), &h), -EBADMSG);
	/* attributes: data, or a control batch of a known type; nothing else */
	h.epoch = 1;
	for (unsigned a = 0; a <= 0xffff; a += a < 0x400 ? 1 : 0x100) {
		bool known = a == 0 || a == kr_control_attributes(KR_CONTROL_LEADER_CHANGE) ||
			     a == kr_control_attributes(KR_CONTROL_VOTERS);

		h.attributes = (uint16_t)a;
		assert_true(kr_batch_build(out, sizeof(out), &h, rec, rlen, 2) > 0);
		if ((kr_batch_check(out, sizeof(out), &h) == 0) != known)
			fail_msg("attributes 0x%04x %s", a, known ? "refused" : "accepted");
	}
	assert_int_equal(kr_batch_control_type(kr_control_attributes(KR_CONTROL_VOTERS)),
			 KR_CONTROL_VOTERS);
	assert_int_equal(kr_batch_control_type(0), -1);
}

/* ---- epoch cache ---- */

/* The cache of Kafka's testLeaderImmediatelySendsDivergingEpoch: 1:[0,3), 3:[3,6), 5:[6,9). */
static void
fill_example(struct kr_epoch_cache *c)
{
	memset(c, 0, sizeof(*c));
	assert_int_equal(kr_epoch_cache_assign(c, 1, 0), 0);
	assert_int_equal(kr_epoch_cache_assign(c, 1, 1), 0); /* same epoch: no new entry */
	assert_int_equal(kr_epoch_cache_assign(c, 3, 3), 0);
	assert_int_equal(kr_epoch_cache_assign(c, 5, 6), 0);
	assert_int_equal(c->n, 3);
}

static void
fetch_at_6_with_epoch_2_diverges_at_epoch_1_end_3(void **state)
{
	struct kr_epoch_cache c;
	struct kr_epoch_end e;

	(void)state;
	fill_example(&c);
	e = kr_epoch_cache_end_for(&c, 2, 9);
	assert_int_equal(e.epoch, 1);
	assert_int_equal(e.end_offset, 3);
	/* the divergence rule: e.epoch != 2, so the follower truncates to 3 */
	assert_int_not_equal(e.epoch, 2);
	kr_epoch_cache_free(&c);
}

static void
epoch_cache_answers_end_offsets_for_every_epoch(void **state)
{
	struct kr_epoch_cache c;
	struct kr_epoch_end e;

	(void)state;
	fill_example(&c);
	e = kr_epoch_cache_end_for(&c, 0, 9); /* before every epoch: nothing in common */
	assert_int_equal(e.epoch, 0);
	assert_int_equal(e.end_offset, 0);
	e = kr_epoch_cache_end_for(&c, 1, 9);
	assert_int_equal(e.epoch, 1);
	assert_int_equal(e.end_offset, 3);
	e = kr_epoch_cache_end_for(&c, 3, 9);
	assert_int_equal(e.epoch, 3);
	assert_int_equal(e.end_offset, 6);
	e = kr_epoch_cache_end_for(&c, 4, 9);
	assert_int_equal(e.epoch, 3);
	assert_int_equal(e.end_offset, 6);
	e = kr_epoch_cache_end_for(&c, 5, 9); /* the last epoch ends at the log end */
	assert_int_equal(e.epoch, 5);
	assert_int_equal(e.end_offset, 9);
	e = kr_epoch_cache_end_for(&c, 77, 9);
	assert_int_equal(e.epoch, 5);
	assert_int_equal(e.end_offset, 9);
	assert_int_equal(kr_epoch_cache_epoch_at(&c, 0), 1);
	assert_int_equal(kr_epoch_cache_epoch_at(&c, 2), 1);
	assert_int_equal(kr_epoch_cache_epoch_at(&c, 3), 3);
	assert_int_equal(kr_epoch_cache_epoch_at(&c, 8), 5);
	assert_int_equal(kr_epoch_cache_last(&c), 5);
	kr_epoch_cache_free(&c);

	memset(&c, 0, sizeof(c));
	e = kr_epoch_cache_end_for(&c, 3, 0);
	assert_int_equal(e.epoch, 0);
	assert_int_equal(e.end_offset, 0);
}

static void
epoch_cache_refuses_going_backwards(void **state)
{
	struct kr_epoch_cache c;

	(void)state;
	fill_example(&c);
	assert_int_equal(kr_epoch_cache_assign(&c, 4, 10), -EINVAL);
	assert_int_equal(kr_epoch_cache_assign(&c, 6, 5), -EINVAL);
	assert_int_equal(kr_epoch_cache_assign(&c, 6, 6), -EINVAL);
	assert_int_equal(c.n, 3);
	kr_epoch_cache_free(&c);
}

static void
epoch_cache_follows_truncation_and_prefix_deletion(void **state)
{
	struct kr_epoch_cache c;
	struct kr_epoch_end e;

	(void)state;
	fill_example(&c);
	kr_epoch_cache_truncate(&c, 7);
	assert_int_equal(c.n, 3);
	kr_epoch_cache_truncate(&c, 6);
	assert_int_equal(c.n, 2);
	e = kr_epoch_cache_end_for(&c, 5, 6);
	assert_int_equal(e.epoch, 3);
	assert_int_equal(e.end_offset, 6);
	kr_epoch_cache_trim_prefix(&c, 4);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.e[0].epoch, 3);
	assert_int_equal(c.e[0].start_offset, 4);
	kr_epoch_cache_free(&c);
}

/* ---- the log ---- */

/* Found by the soak (a heap overflow in a simulated follower): recovery gives segments
 * other than the last their spare room back; a truncation back to a segment boundary
 * makes such a full one the last again, and the next append must start a new segment
 * rather than write past its buffer. */
/* Found by the soak (a heap overflow in a simulated follower): recovery gives segments
 * other than the last their spare room back; a truncation that drops the last segment
 * makes such a one the last again, and an append that fits the segment size but not
 * that buffer must start a new segment rather than write past it. */
static void
a_segment_recovery_shrank_takes_no_append_when_it_is_last_again(void **state)
{
	struct fixture *f = *state;
	const uint32_t seg = KR_LOG_SEGMENT_BYTES_MIN;
	uint32_t used = 0, room;
	uint64_t small;

	reopen(f, seg);
	while (kr_log_segment_count(f->log) < 2)
		used = append(f->log, 1, 4, 250); /* the second segment's first batch */
	while (seg - used >= 3 * 1064)
		used += append(f->log, 1, 4, 250);
	/* leave 860 bytes of room after a 60-byte batch: a 1064-byte one then rolls */
	room = seg - used;
	used += append(f->log, 1, 1, room - 860 - 60 - 52);
	small = kr_log_end(f->log);
	used += append(f->log, 1, 1, 8);
	assert_int_equal(seg - used, 860);
	append(f->log, 1, 4, 250);
	assert_int_equal(kr_log_segment_count(f->log), 3);
	flush(f);
	reopen(f, seg); /* the first two segments' buffers shrink to their bytes */
	assert_int_equal(kr_log_truncate(f->log, small), (int64_t)small);
	assert_int_equal(kr_log_segment_count(f->log), 2);
	/* 500 bytes fit the segment's 920 bytes of room, not its buffer's 60 */
	append(f->log, 2, 1, 500 - 52);
	assert_int_equal(kr_log_segment_count(f->log), 3);
	assert_int_equal(read_all_from(f->log, 0), kr_log_end(f->log));
	flush(f);
	reopen(f, seg);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_end(f->log), small + 1);
}

static void
append_read_and_reopen_keep_every_batch(void **state)
{
	struct fixture *f = *state;

	reopen(f, SEG_BIG);
	assert_int_equal(kr_log_end(f->log), 0);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	for (int i = 0; i < 50; i++)
		append(f->log, 1 + (uint32_t)i / 10, 1 + (uint32_t)i % 4, 20);
	uint64_t end = kr_log_end(f->log);

	assert_int_equal(read_all_from(f->log, 0), end);
	assert_int_equal(kr_log_durable_end(f->log), 0);
	flush(f);
	assert_int_equal(kr_log_durable_end(f->log), end);
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(f->rep.batches, 50);
	assert_int_equal(kr_log_end(f->log), end);
	assert_int_equal(kr_log_durable_end(f->log), end);
	assert_int_equal(kr_log_last_epoch(f->log), 5);
	assert_int_equal(kr_log_epochs(f->log)->n, 5);
	assert_int_equal(read_all_from(f->log, 0), end);
	/* and appending after reopen continues the log */
	append(f->log, 6, 2, 5);
	flush(f);
	reopen(f, SEG_BIG);
	assert_int_equal(kr_log_end(f->log), end + 2);
}

/* The leader's append (kr_log_append_records: built in place, not checked again) writes
 * the bytes the two-step path writes; what either refuses leaves the log as it was. */
static void
append_records_writes_what_build_and_append_write_and_refuses_alike(void **state)
{
	struct fixture *f = *state;
	struct kr_log_config mc = {.durability = KR_LOG_MEMORY,
				   .segment_bytes = KR_LOG_SEGMENT_BYTES_MIN,
				   .memory_bytes_max = 1ull << 30};
	static uint8_t rec[KR_BATCH_BYTES_MAX], b[KR_BATCH_BYTES_MAX];
	struct kr_log *two = NULL;
	struct kr_log_span sa, sb;
	uint64_t end, bytes;
	uint32_t segs;

	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(kr_log_open(&mc, &two, &f->rep, f->err, sizeof(f->err)), 0);
	/* enough batches to roll segments on both */
	for (uint32_t i = 0; i < 40; i++) {
		uint32_t count = 1 + i % 7, value = 100 + 97 * i % 900;
		uint32_t rlen = tu_records(rec, sizeof(rec), count, value, (uint8_t)i);
		struct kr_batch_hdr h = {.base_offset = kr_log_end(f->log),
					 .epoch = 1 + i / 10,
					 .producer_id = 9,
					 .sequence = i,
					 .timestamp_us = 1700000000000000 + i};
		int n = kr_batch_build(b, sizeof(b), &h, rec, rlen, count);

		assert_true(n > 0);
		assert_int_equal(kr_log_append(two, b, (uint32_t)n), 0);
		assert_int_equal(kr_log_append_records(f->log, &h, rec, rlen, count), 0);
	}
	assert_true(kr_log_segment_count(f->log) > 1);
	assert_int_equal(kr_log_segment_count(f->log), kr_log_segment_count(two));
	assert_int_equal(kr_log_end(f->log), kr_log_end(two));
	assert_int_equal(kr_log_bytes(f->log), kr_log_bytes(two));
	assert_int_equal(kr_log_last_epoch(f->log), 4);
	for (uint64_t o = 0; o < kr_log_end(two);) {
		assert_int_equal(kr_log_read(f->log, o, KR_OFFSET_NONE, 1u << 20, &sa), 0);
		assert_int_equal(kr_log_read(two, o, KR_OFFSET_NONE, 1u << 20, &sb), 0);
		assert_int_equal(sa.len, sb.len);
		assert_int_equal(sa.end_offset, sb.end_offset);
		assert_memory_equal(sa.data, sb.data, sa.len);
		o = sa.end_offset;
	}
	assert_int_equal(read_all_from(f->log, 0), kr_log_end(f->log));

	/* refusals: each leaves end, bytes and segments as they were */
	end = kr_log_end(f->log);
	bytes = kr_log_bytes(f->log);
	segs = kr_log_segment_count(f->log);
	{
		uint32_t rlen = tu_records(rec, sizeof(rec), 3, 50, 1);
		struct kr_batch_hdr h = {.base_offset = end, .epoch = 4};

		h.base_offset = end + 1; /* not the log end */
		assert_int_equal(kr_log_append_records(f->log, &h, rec, rlen, 3), -EINVAL);
		h.base_offset = end;
		h.epoch = 3; /* below the last epoch */
		assert_int_equal(kr_log_append_records(f->log, &h, rec, rlen, 3), -EINVAL);
		h.epoch = 0;
		assert_int_equal(kr_log_append_records(f->log, &h, rec, rlen, 3), -EBADMSG);
		h.epoch = 4;
		/* records that do not tile their section, a count that does not match, none */
		assert_int_equal(kr_log_append_records(f->log, &h, rec, rlen - 1, 3), -EBADMSG);
		assert_int_equal(kr_log_append_records(f->log, &h, rec, rlen, 4), -EBADMSG);
		assert_int_equal(kr_log_append_records(f->log, &h, rec, 0, 0), -EBADMSG);
		assert_int_equal(kr_log_append_records(f->log, &h, rec, KR_BATCH_BYTES_MAX, 1),
				 -EBADMSG);
		assert_int_equal(kr_log_end(f->log), end);
		assert_int_equal(kr_log_bytes(f->log), bytes);
		assert_int_equal(kr_log_segment_count(f->log), segs);
		/* and one that is right goes on where they left it */
		assert_int_equal(kr_log_append_records(f->log, &h, rec, rlen, 3), 0);
		assert_int_equal(kr_log_end(f->log), end + 3);
	}
	flush(f);
	end = kr_log_end(f->log);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_end(f->log), end);
	assert_int_equal(read_all_from(f->log, 0), end);
	kr_log_close(two);
}

static void
read_from_an_offset_inside_a_batch_starts_at_that_batch(void **state)
{
	struct fixture *f = *state;
	struct kr_log_span sp;

	reopen(f, SEG_BIG);
	append(f->log, 1, 5, 10);		/* [0,5) */
	uint32_t b2 = append(f->log, 2, 5, 10); /* [5,10) */

	assert_int_equal(kr_log_read(f->log, 7, KR_OFFSET_NONE, 1 << 20, &sp), 0);
	assert_int_equal(sp.base_offset, 5);
	assert_int_equal(sp.end_offset, 10);
	assert_int_equal(sp.batches, 1);
	assert_int_equal(sp.len, b2);
	assert_int_equal(sp.prev_epoch, 1);
	assert_int_equal(kr_log_read(f->log, 10, KR_OFFSET_NONE, 1 << 20, &sp), 0);
	assert_int_equal(sp.len, 0);
	assert_int_equal(sp.prev_epoch, 2);
	assert_int_equal(kr_log_read(f->log, 11, KR_OFFSET_NONE, 1 << 20, &sp), -ERANGE);
	/* max_bytes: whole batches only, and a first batch too large is an error */
	assert_int_equal(kr_log_read(f->log, 0, KR_OFFSET_NONE, b2 + 1, &sp), 0);
	assert_int_equal(sp.batches, 1);
	assert_int_equal(sp.end_offset, 5);
	assert_int_equal(kr_log_read(f->log, 0, KR_OFFSET_NONE, 10, &sp), -EMSGSIZE);
}

static void
segments_roll_and_reads_stop_at_segment_ends(void **state)
{
	struct fixture *f = *state;
	const uint32_t seg = KR_LOG_SEGMENT_BYTES_MIN;

	reopen(f, seg);
	for (int i = 0; i < 200; i++)
		append(f->log, 1 + (uint32_t)i / 50, 4, 300);
	assert_true(kr_log_segment_count(f->log) > 3);
	assert_int_equal(read_all_from(f->log, 0), 800);
	/* every offset can be read, including across segment boundaries */
	for (uint64_t o = 0; o < 800; o += 3) {
		struct kr_log_span sp;

		assert_int_equal(kr_log_read(f->log, o, KR_OFFSET_NONE, 1 << 20, &sp), 0);
		assert_true(sp.base_offset <= o && o < sp.end_offset);
		assert_true(sp.len <= seg);
	}
	flush(f);
	uint32_t nseg = kr_log_segment_count(f->log);

	reopen(f, seg);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(f->rep.segments, nseg);
	assert_int_equal(read_all_from(f->log, 0), 800);
}

static void
truncate_removes_the_suffix_in_memory_then_on_disk_at_flush(void **state)
{
	struct fixture *f = *state;
	size_t seg0_full;

	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	for (int i = 0; i < 100; i++)
		append(f->log, 1 + (uint32_t)i / 25, 2, 200); /* epochs 1..4, 2 records each */
	flush(f);
	uint32_t before = kr_log_segment_count(f->log);

	/* an offset inside a batch rounds down to the batch start */
	assert_int_equal(kr_log_truncate(f->log, 61), 60);
	assert_int_equal(kr_log_end(f->log), 60);
	assert_int_equal(kr_log_durable_end(f->log), 60);
	assert_int_equal(kr_log_last_epoch(f->log), 2);
	assert_true(kr_log_segment_count(f->log) < before);
	assert_int_equal(read_all_from(f->log, 0), 60);
	/* memory only: the files are cut by the next flush, not before */
	seg0_full = tu_file_size(f->dir, SEG0);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(kr_log_end(f->log), 200);
	assert_int_equal(kr_log_truncate(f->log, 61), 60);
	flush(f);
	assert_true(tu_file_size(f->dir, SEG0) <= seg0_full);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_end(f->log), 60);
	/* truncating at or past the end changes nothing */
	assert_int_equal(kr_log_truncate(f->log, 1000), 60);
	/* new appends continue from the cut, in a new epoch */
	append(f->log, 7, 3, 10);
	flush(f);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_end(f->log), 63);
	assert_int_equal(kr_log_last_epoch(f->log), 7);
	assert_int_equal(kr_epoch_cache_end_for(kr_log_epochs(f->log), 4, 63).epoch, 2);
	/* to zero */
	assert_int_equal(kr_log_truncate(f->log, 0), 0);
	flush(f);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(kr_log_end(f->log), 0);
	assert_int_equal(kr_log_last_epoch(f->log), 0);
}

static void
delete_prefix_removes_whole_segments_below_the_offset_only(void **state)
{
	struct fixture *f = *state;

	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	for (int i = 0; i < 100; i++)
		append(f->log, 1 + (uint32_t)i / 10, 2, 300);
	flush(f);
	assert_true(tu_file_exists(f->dir, SEG0));
	int64_t start = kr_log_delete_prefix(f->log, 100);

	assert_true(start > 0 && start <= 100);
	assert_int_equal(kr_log_start(f->log), (uint64_t)start);
	assert_true(tu_file_exists(f->dir, SEG0)); /* until the next flush */
	flush(f);
	assert_false(tu_file_exists(f->dir, SEG0));
	assert_int_equal(kr_log_end(f->log), 200);
	assert_int_equal(read_all_from(f->log, (uint64_t)start), 200);
	struct kr_log_span sp;

	assert_int_equal(kr_log_read(f->log, (uint64_t)start - 1, KR_OFFSET_NONE, 1 << 20, &sp),
			 -ERANGE);
	assert_int_equal(kr_log_truncate(f->log, (uint64_t)start - 1), -ERANGE);
	/* the epoch cache now begins at the log start */
	assert_int_equal(kr_log_epochs(f->log)->e[0].start_offset, (uint64_t)start);
	/* never the last segment, whatever upto says */
	kr_log_delete_prefix(f->log, UINT64_MAX);
	assert_int_equal(kr_log_segment_count(f->log), 1);
	assert_int_equal(kr_log_end(f->log), 200);
	flush(f);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_end(f->log), 200);
	assert_int_equal(read_all_from(f->log, kr_log_start(f->log)), 200);
}

static void
torn_tail_cut_at_every_byte_of_the_last_batch_recovers_to_the_previous_batch(void **state)
{
	struct fixture *f = *state;
	size_t full, last_len, prev_end;

	reopen(f, SEG_BIG);
	append(f->log, 1, 3, 20);
	append(f->log, 2, 2, 20);
	last_len = append(f->log, 2, 4, 33);
	flush(f);
	kr_log_close(f->log);
	f->log = NULL;
	full = tu_file_size(f->dir, SEG0);
	prev_end = full - last_len;
	uint8_t *copy = malloc(full);

	assert_int_equal(tu_file_read(f->dir, SEG0, copy, full), full);
	for (size_t cut = prev_end; cut < full; cut++) {
		tu_file_write(f->dir, SEG0, copy, cut);
		reopen(f, SEG_BIG);
		assert_int_equal(f->rep.outcome, cut == prev_end ? KR_LOG_CLEAN : KR_LOG_TORN_TAIL);
		assert_int_equal(f->rep.torn_bytes, cut - prev_end);
		assert_int_equal(kr_log_end(f->log), 5);
		assert_int_equal(kr_log_last_epoch(f->log), 2);
		/* the cut is made on disk: the file ends at the previous batch */
		assert_int_equal(tu_file_size(f->dir, SEG0), prev_end);
		kr_log_close(f->log);
		f->log = NULL;
	}
	free(copy);
}

static void
zeros_after_the_last_batch_are_a_torn_tail(void **state)
{
	struct fixture *f = *state;
	uint8_t zeros[4096] = {0};
	size_t full;

	reopen(f, SEG_BIG);
	append(f->log, 1, 3, 20);
	flush(f);
	kr_log_close(f->log);
	f->log = NULL;
	full = tu_file_size(f->dir, SEG0);
	uint8_t *copy = malloc(full + sizeof(zeros));

	tu_file_read(f->dir, SEG0, copy, full);
	memcpy(copy + full, zeros, sizeof(zeros));
	tu_file_write(f->dir, SEG0, copy, full + sizeof(zeros));
	free(copy);
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_TORN_TAIL);
	assert_int_equal(f->rep.torn_bytes, sizeof(zeros));
	assert_int_equal(kr_log_end(f->log), 3);
}

static void
flipped_byte_in_a_middle_batch_is_mid_log_corruption_not_cut(void **state)
{
	struct fixture *f = *state;
	size_t size, b1, b2;

	reopen(f, SEG_BIG);
	b1 = append(f->log, 1, 3, 20); /* [0,3) */
	b2 = append(f->log, 2, 2, 20); /* [3,5): the one damaged */
	append(f->log, 2, 4, 20);      /* [5,9) */
	append(f->log, 3, 1, 20);      /* [9,10) */
	flush(f);
	kr_log_close(f->log);
	f->log = NULL;
	header_says_synced(f, SEG0);
	size = tu_file_size(f->dir, SEG0);
	for (size_t i = 0; i < b2; i++) {
		size_t pos = KR_SEGMENT_HDR_BYTES + b1 + i;

		tu_file_flip(f->dir, SEG0, pos, 0x01);
		reopen(f, SEG_BIG);
		if (f->rep.outcome != KR_LOG_MID_CORRUPT)
			fail_msg("byte %zu of the middle batch: outcome %d (%s)", i, f->rep.outcome,
				 f->rep.reason);
		assert_int_equal(f->rep.damage_start_offset, 3);
		/* a damaged length field (bytes 4-7) is stepped over by the record lengths */
		if (f->rep.damage_end_offset != 5 || f->rep.last_valid_end_offset != 10)
			fail_msg("byte %zu: damage ends at %" PRIu64 ", valid data to %" PRIu64, i,
				 f->rep.damage_end_offset, f->rep.last_valid_end_offset);
		assert_int_equal(f->rep.file_pos, KR_SEGMENT_HDR_BYTES + b1);
		assert_string_equal(f->rep.segment, SEG0);
		/* the log holds the good prefix; the file is untouched */
		assert_int_equal(kr_log_end(f->log), 3);
		assert_int_equal(tu_file_size(f->dir, SEG0), size);
		kr_log_close(f->log);
		f->log = NULL;
		tu_file_flip(f->dir, SEG0, pos, 0x01);
	}
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_end(f->log), 10);
}

/* Two flips in one middle batch (kraftsim seed 1419052: a start refused on a full disk
 * drew damage again at the next): its length field and its first record's length both
 * run past the end. No reading of the batch says where it ends, yet valid batches follow
 * it: that is damage, never a torn last write. */
static void
a_middle_batch_whose_length_and_record_length_are_both_damaged_is_not_a_torn_tail(void **state)
{
	struct fixture *f = *state;
	size_t b1;

	reopen(f, SEG_BIG);
	b1 = append(f->log, 1, 3, 20); /* [0,3) */
	append(f->log, 2, 1, 20);      /* [3,4): the one damaged */
	append(f->log, 2, 4, 20);      /* [4,8) */
	append(f->log, 3, 1, 20);      /* [8,9) */
	flush(f);
	kr_log_close(f->log);
	f->log = NULL;
	header_says_synced(f, SEG0);
	tu_file_flip(f->dir, SEG0, KR_SEGMENT_HDR_BYTES + b1 + 5, 0x10);  /* length += 4096 */
	tu_file_flip(f->dir, SEG0, KR_SEGMENT_HDR_BYTES + b1 + 51, 0x02); /* record length */
	reopen(f, SEG_BIG);
	if (f->rep.outcome != KR_LOG_MID_CORRUPT)
		fail_msg("outcome %d (%s)", f->rep.outcome, f->rep.reason);
	assert_int_equal(f->rep.damage_start_offset, 3);
	assert_true(f->rep.last_valid_end_offset >= 9);
	assert_int_equal(kr_log_end(f->log), 3);
}

static void
mid_log_damage_is_kept_until_a_flush_after_the_repair_starts(void **state)
{
	struct fixture *f = *state;
	size_t b1;

	reopen(f, SEG_BIG);
	b1 = append(f->log, 1, 3, 20);
	append(f->log, 2, 2, 20);
	append(f->log, 2, 4, 20);
	flush(f);
	header_says_synced(f, SEG0);
	tu_file_flip(f->dir, SEG0, KR_SEGMENT_HDR_BYTES + b1 + 30, 0xff);
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	/* reopening again without a change reports the same damage */
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	/* repair: refetched batches are appended at the damage start and flushed */
	append(f->log, 2, 2, 20);
	append(f->log, 2, 4, 20);
	flush(f);
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_end(f->log), 9);
	/* an explicit truncate also discards it */
	kr_log_close(f->log);
	f->log = NULL;
	header_says_synced(f, SEG0);
	tu_file_flip(f->dir, SEG0, KR_SEGMENT_HDR_BYTES + b1 + 30, 0xff);
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	assert_int_equal(kr_log_truncate(f->log, 3), 3);
	flush(f);
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_end(f->log), 3);
}

/* What a segment's header says is synced (log.h): the flush jobs keep it one job behind,
 * and recovery takes damage at or past it in the last segment for a torn write (pages
 * of an unsynced write reach the disk in any order), damage below it for damage. */
static void
damage_past_the_synced_bytes_is_a_torn_write_below_them_damage(void **state)
{
	struct fixture *f = *state;
	size_t b1, b2, size;
	uint8_t hdr[KR_SEGMENT_HDR_BYTES];

	reopen(f, SEG_BIG);
	b1 = append(f->log, 1, 3, 20); /* [0,3) */
	b2 = append(f->log, 2, 2, 20); /* [3,5) */
	append(f->log, 2, 4, 20);      /* [5,9) */
	flush(f);
	/* one job: the header (written at creation) says nothing is synced yet */
	tu_file_read(f->dir, SEG0, hdr, sizeof(hdr));
	assert_int_equal(kr_get_le32(hdr + 8), KR_SEGMENT_VERSION);
	assert_int_equal(kr_get_le32(hdr + 12), 0);
	append(f->log, 3, 1, 20); /* [9,10) */
	flush(f);
	/* the second job said what the first synced, with the same sync */
	size = tu_file_size(f->dir, SEG0);
	tu_file_read(f->dir, SEG0, hdr, sizeof(hdr));
	assert_int_equal(kr_get_le32(hdr + 12),
			 size - KR_SEGMENT_HDR_BYTES - (KR_BATCH_HDR_BYTES + 4 + 20));
	assert_int_equal(kr_get_le32(hdr + 28), kr_crc32c(0, hdr, 28));
	kr_log_close(f->log);
	f->log = NULL;

	/* damage below the synced bytes, valid batches after it: damage */
	tu_file_flip(f->dir, SEG0, KR_SEGMENT_HDR_BYTES + b1 + 10, 0x01);
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	assert_int_equal(f->rep.damage_start_offset, 3);
	assert_int_equal(f->rep.last_valid_end_offset, 10);
	kr_log_close(f->log);
	f->log = NULL;
	tu_file_flip(f->dir, SEG0, KR_SEGMENT_HDR_BYTES + b1 + 10, 0x01);

	/* a hole in what the last job wrote, a valid batch after it (the last job's pages
	 * reached the disk out of order): a torn write, cut, the batch after it too */
	{
		uint8_t *b = malloc(size);

		assert_int_equal(tu_file_read(f->dir, SEG0, b, size), size);
		/* pretend the last job wrote [5,9) and [9,10), and [5,9) never arrived */
		kr_log_segment_header(hdr, 0, (uint32_t)(b1 + b2), 0);
		memcpy(b, hdr, sizeof(hdr));
		memset(b + KR_SEGMENT_HDR_BYTES + b1 + b2, 0, 10);
		tu_file_write(f->dir, SEG0, b, size);
		free(b);
	}
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_TORN_TAIL);
	assert_int_equal(kr_log_end(f->log), 5);
	assert_int_equal(tu_file_size(f->dir, SEG0), KR_SEGMENT_HDR_BYTES + b1 + b2);
	kr_log_close(f->log);
	f->log = NULL;

	/* a version 1 header (no synced field) counts every byte as synced: the same hole
	 * with a valid batch after it is damage */
	reopen(f, SEG_BIG);
	append(f->log, 2, 4, 20); /* [5,9) */
	append(f->log, 3, 1, 20); /* [9,10) */
	flush(f);
	kr_log_close(f->log);
	f->log = NULL;
	{
		uint8_t *b = malloc(size);

		assert_int_equal(tu_file_read(f->dir, SEG0, b, size), size);
		memset(hdr, 0, sizeof(hdr));
		memcpy(hdr, KR_SEGMENT_MAGIC, 8);
		kr_put_le32(hdr + 8, 1);
		kr_put_le32(hdr + 28, kr_crc32c(0, hdr, 28));
		memcpy(b, hdr, sizeof(hdr));
		memset(b + KR_SEGMENT_HDR_BYTES + b1 + b2, 0, 10);
		tu_file_write(f->dir, SEG0, b, size);
		free(b);
	}
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	assert_int_equal(f->rep.damage_start_offset, 5);
	assert_int_equal(f->rep.last_valid_end_offset, 10);
}

/* A page another page's write landed on (a misdirected write): where batch [3,5) was,
 * the bytes of batch [7,9); and zeros after the last batch, where a later write was cut
 * short. Valid batches follow the damage, but no run of them reaches the segment's end,
 * so how far the acknowledged data went is unknown: the repair target is the flushed
 * bound, never the damage's start (found by kraftsim). */
static void
a_misdirected_copy_after_damage_leaves_the_repair_target_at_the_bound(void **state)
{
	struct fixture *f = *state;
	size_t b1, b2;
	uint8_t *b;
	size_t size;

	reopen(f, SEG_BIG);
	b1 = append(f->log, 1, 3, 20); /* [0,3) */
	b2 = append(f->log, 2, 2, 20); /* [3,5) */
	append(f->log, 2, 2, 20);      /* [5,7) */
	append(f->log, 2, 2, 20);      /* [7,9) */
	append(f->log, 2, 2, 20);      /* [9,11) */
	flush(f);
	kr_log_close(f->log);
	f->log = NULL;
	header_says_synced(f, SEG0);
	size = tu_file_size(f->dir, SEG0);
	b = calloc(1, size + 100);
	assert_non_null(b);
	assert_int_equal(tu_file_read(f->dir, SEG0, b, size), size);
	memcpy(b + KR_SEGMENT_HDR_BYTES + b1, b + KR_SEGMENT_HDR_BYTES + b1 + 2 * b2, b2);
	/* and after the last batch, zeros: a later write the crash cut short */
	tu_file_write(f->dir, SEG0, b, size + 100);
	free(b);
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	assert_int_equal(f->rep.damage_start_offset, 3);
	assert_true(f->rep.last_valid_end_offset >= 11);
	assert_int_equal(kr_log_end(f->log), 3);
}

/* A bit flip in a synced batch's length field that makes it end exactly at the end of the
 * segment's bytes: its records' own lengths say where it ends, a continuing batch begins
 * there, and that reading wins over the end of the bytes. Before, recovery stepped to the
 * end, found nothing after the damage, and cut four acknowledged batches as a torn tail
 * with no repair (found by kraftsim). */
static void
a_damaged_length_pointing_at_the_end_is_mid_log_damage(void **state)
{
	struct fixture *f = *state;
	size_t b1, size;
	uint8_t *b;

	reopen(f, SEG_BIG);
	b1 = append(f->log, 1, 3, 20); /* [0,3) */
	append(f->log, 2, 2, 20);      /* [3,5): its length will point at the end */
	for (int i = 0; i < 4; i++)
		append(f->log, 2, 2, 20); /* [5,13) */
	flush(f);
	kr_log_close(f->log);
	f->log = NULL;
	header_says_synced(f, SEG0);
	size = tu_file_size(f->dir, SEG0);
	b = malloc(size);
	assert_non_null(b);
	assert_int_equal(tu_file_read(f->dir, SEG0, b, size), size);
	kr_put_le32(b + KR_SEGMENT_HDR_BYTES + b1 + 4,
		    (uint32_t)(size - KR_SEGMENT_HDR_BYTES - b1));
	tu_file_write(f->dir, SEG0, b, size);
	free(b);
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	assert_int_equal(f->rep.damage_start_offset, 3);
	assert_int_equal(f->rep.damage_end_offset, 5);
	assert_true(f->rep.last_valid_end_offset >= 13);
	assert_int_equal(kr_log_end(f->log), 3);
}

/* Batches [0,3) then seven of two records [3,17) in one synced segment; a record of
 * [3,5) damaged, and a second byte of batch k (0 = [3,5)) at byte at of it XORed with
 * mask; then the log reopened. */
static void
damage_twice(struct fixture *f, size_t k, size_t at, uint8_t mask)
{
	size_t b1, b2;

	reopen(f, SEG_BIG);
	b1 = append(f->log, 1, 3, 20);
	b2 = append(f->log, 2, 2, 20);
	for (int i = 0; i < 6; i++)
		append(f->log, 2, 2, 20);
	flush(f);
	kr_log_close(f->log);
	f->log = NULL;
	header_says_synced(f, SEG0);
	tu_file_flip(f->dir, SEG0, KR_SEGMENT_HDR_BYTES + b1 + b2 - 3, 0x10);
	tu_file_flip(f->dir, SEG0, KR_SEGMENT_HDR_BYTES + b1 + k * b2 + at, mask);
	reopen(f, SEG_BIG);
}

/* Two damaged batches in one synced segment (latent errors found at two starts): the run
 * after the first stops at the second, and what the node acknowledged went on past both.
 * The repair must reach the end of all of it, not where the first run stops (found by
 * kraftsim: the node would have voted again after refetching only to the second damage). */
static void
damage_twice_in_a_segment_repairs_to_the_end(void **state)
{
	struct fixture *f = *state;

	damage_twice(f, 3, 60, 0x10); /* a record of [9,11) */
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	assert_int_equal(f->rep.damage_start_offset, 3);
	assert_int_equal(f->rep.damage_end_offset, 5);
	assert_true(f->rep.last_valid_end_offset >= 17);
	assert_int_equal(kr_log_end(f->log), 3);
}

/* As above, the second damage in a length field that now runs past the end of the bytes,
 * which a torn last write also does: the batch's records end where a batch continuing it
 * begins, so it is damage with data after it, and the repair reaches the end. */
static void
a_damaged_length_running_past_the_end_is_not_a_torn_write(void **state)
{
	struct fixture *f = *state;

	damage_twice(f, 3, 5, 0x40); /* [9,11)'s length */
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	assert_int_equal(f->rep.damage_start_offset, 3);
	assert_true(f->rep.last_valid_end_offset >= 17);
	assert_int_equal(kr_log_end(f->log), 3);
}

static void
reset_empties_the_log_at_a_new_start(void **state)
{
	struct fixture *f = *state;
	uint8_t b[KR_BATCH_BYTES_MAX];
	uint32_t n;

	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	for (int i = 0; i < 40; i++)
		append(f->log, 2, 2, 1000);
	flush(f);
	assert_int_equal(kr_log_reset(f->log, 500), 0);
	assert_int_equal(kr_log_start(f->log), 500);
	assert_int_equal(kr_log_end(f->log), 500);
	assert_int_equal(kr_log_durable_end(f->log), 500);
	assert_int_equal(kr_log_last_epoch(f->log), 0);
	n = tu_batch(b, sizeof(b), 0, 3, 1, 10); /* the old start no longer fits */
	assert_int_equal(kr_log_append(f->log, b, n), -EINVAL);
	append(f->log, 3, 4, 10);
	flush(f);
	assert_false(tu_file_exists(f->dir, SEG0));
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_start(f->log), 500);
	assert_int_equal(kr_log_end(f->log), 504);
}

static void
damage_in_an_earlier_segment_with_later_segments_is_mid_log(void **state)
{
	struct fixture *f = *state;

	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	for (int i = 0; i < 60; i++)
		append(f->log, 1, 2, 1500);
	flush(f);
	assert_true(kr_log_segment_count(f->log) >= 3);
	/* the last batch of the first segment: nothing valid follows in that file */
	size_t sz = tu_file_size(f->dir, SEG0);

	tu_file_flip(f->dir, SEG0, sz - 3, 0x40);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	assert_int_equal(f->rep.last_valid_end_offset, 120);
	assert_int_equal(f->rep.damage_end_offset, f->rep.damage_start_offset + 2);
	assert_int_equal(kr_log_segment_count(f->log), 1);
	tu_file_flip(f->dir, SEG0, sz - 3, 0x40);
	/* a damaged segment header, with later segments intact */
	tu_file_flip(f->dir, SEG0, 3, 0x01);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	assert_int_equal(f->rep.damage_start_offset, 0);
	assert_int_equal(f->rep.last_valid_end_offset, 120);
	assert_int_equal(kr_log_end(f->log), 0);
}

/* Damage at the end of the first segment, and again in the middle of the last one: the
 * last segment's run from its base stops at the second damage, and valid data follows it
 * to the end. The repair reaches the end of that data, not where the run stopped (found
 * by kraftsim with a misdirected page write in the last segment). */
static void
damage_in_the_last_segment_too_repairs_to_the_end(void **state)
{
	struct fixture *f = *state;
	uint64_t last_base = 0;
	uint32_t nseg;
	char name[32];
	size_t sz;

	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	nseg = kr_log_segment_count(f->log);
	for (int i = 0; i < 40; i++) {
		uint64_t base = kr_log_end(f->log);

		append(f->log, 1, 2, 1500);
		if (kr_log_segment_count(f->log) != nseg) {
			nseg = kr_log_segment_count(f->log);
			last_base = base;
		}
	}
	flush(f);
	assert_true(nseg >= 2);
	assert_true(last_base > 0 && kr_log_end(f->log) - last_base >= 10);
	kr_log_close(f->log);
	f->log = NULL;
	snprintf(name, sizeof(name), "%020llu.log", (unsigned long long)last_base);
	header_says_synced(f, name);
	sz = tu_file_size(f->dir, SEG0);
	tu_file_flip(f->dir, SEG0, sz - 3, 0x40);
	sz = tu_file_size(f->dir, name);
	tu_file_flip(f->dir, name, sz / 2, 0x40);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	assert_true(f->rep.last_valid_end_offset >= 80);
}

static void
last_segment_with_a_torn_header_is_removed(void **state)
{
	struct fixture *f = *state;
	char name[32];

	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	for (int i = 0; i < 30; i++)
		append(f->log, 1, 2, 500);
	flush(f);
	uint32_t nseg = kr_log_segment_count(f->log);
	uint64_t end = kr_log_end(f->log);

	kr_log_close(f->log);
	f->log = NULL;
	/* a crash while creating the next segment: a file with half a header */
	snprintf(name, sizeof(name), "%020llu.log", (unsigned long long)end);
	tu_file_write(f->dir, name, "KRFTLOG1\1\0", 10);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(f->rep.outcome, KR_LOG_TORN_TAIL);
	assert_int_equal(kr_log_segment_count(f->log), nseg);
	assert_int_equal(kr_log_end(f->log), end);
	assert_false(tu_file_exists(f->dir, name));
}

/* The flush thread's job runs while the owner keeps appending: the job makes durable
 * exactly what was there when it was taken, and the appends after it wait for the next. */
static void
flush_job_makes_the_taken_end_durable_while_appends_go_on(void **state)
{
	struct fixture *f = *state;
	struct kr_log_config c = cfg_of(f, KR_LOG_SEGMENT_BYTES_MIN);
	struct kr_log_job j = {0};

	assert_int_equal(kr_log_open(&c, &f->log, &f->rep, f->err, sizeof(f->err)), 0);
	for (int i = 0; i < 6; i++)
		append(f->log, 1, 4, 2000);
	assert_int_equal(kr_log_job_begin(f->log, &j), 0);
	assert_int_equal(kr_log_job_begin(f->log, &j), -EBUSY); /* one at a time */
	for (int i = 0; i < 20; i++)				/* rolls new segments */
		append(f->log, 1, 4, 2000);
	kr_log_job_run(&j);
	assert_int_equal(j.rc, 0);
	assert_int_equal(kr_log_job_end(f->log, &j), 0);
	assert_int_equal(kr_log_durable_end(f->log), 24);
	assert_true(kr_log_end(f->log) > 24);
	flush(f);
	assert_int_equal(kr_log_durable_end(f->log), kr_log_end(f->log));
	kr_log_job_free(&j);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(kr_log_end(f->log), 26 * 4);
	assert_int_equal(read_all_from(f->log, 0), 26 * 4);
}

/* A truncation (and re-append over the same bytes), a reset or a retention while a job
 * is out makes the job stale: it moves the durable end nowhere, the segments it was
 * writing stay valid until it ends (ASan checks), and the next flush leaves files that
 * hold exactly what memory holds. */
static void
flush_job_made_stale_by_truncation_or_reset_moves_nothing(void **state)
{
	struct fixture *f = *state;
	struct kr_log_config c = cfg_of(f, KR_LOG_SEGMENT_BYTES_MIN);
	struct kr_log_job j = {0};

	assert_int_equal(kr_log_open(&c, &f->log, &f->rep, f->err, sizeof(f->err)), 0);
	for (int i = 0; i < 10; i++)
		append(f->log, 1, 4, 2000);
	flush(f);
	for (int i = 0; i < 10; i++) /* unflushed: offsets 40..80 */
		append(f->log, 1, 4, 2000);
	assert_int_equal(kr_log_job_begin(f->log, &j), 0);
	assert_int_equal(kr_log_truncate(f->log, 48), 48); /* drops segments the job writes */
	for (int i = 0; i < 3; i++)
		append(f->log, 2, 4, 1500); /* different bytes where the job reads */
	kr_log_job_run(&j);
	assert_int_equal(kr_log_job_end(f->log, &j), 0);
	assert_true(kr_log_durable_end(f->log) <= 48); /* stale: nothing moved forward */
	flush(f);
	assert_int_equal(kr_log_durable_end(f->log), 60);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_end(f->log), 60);
	assert_int_equal(kr_log_last_epoch(f->log), 2);
	assert_int_equal(read_all_from(f->log, 0), 60);

	/* a reset while a job is out */
	for (int i = 0; i < 10; i++)
		append(f->log, 2, 4, 2000);
	assert_int_equal(kr_log_job_begin(f->log, &j), 0);
	assert_int_equal(kr_log_reset(f->log, 500), 0);
	kr_log_job_run(&j);
	assert_int_equal(kr_log_job_end(f->log, &j), 0);
	assert_int_equal(kr_log_durable_end(f->log), 500);
	append(f->log, 3, 2, 10);
	flush(f);
	kr_log_job_free(&j);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(kr_log_start(f->log), 500);
	assert_int_equal(kr_log_end(f->log), 502);
}

/* The node stops and starts again after a flush: its files hold exactly a clean log
 * [0, end) whose last epoch is epoch. */
static void
flush_reopen_expect(struct fixture *f, uint64_t end, uint32_t epoch)
{
	flush(f);
	reopen(f, 1u << 20);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_end(f->log), end);
	assert_int_equal(kr_log_last_epoch(f->log), epoch);
	assert_int_equal(read_all_from(f->log, 0), end);
}

/* A truncation inside what a job out is writing, then new batches: were the node to
 * stop right after that stale job, before the next flush, its files must hold the old
 * log, never new batches beside old synced ones. (They did: the job wrote the buffer as
 * it was when it ran, and the new batches had gone where it was writing from. Recovery
 * takes such a log, valid batch by batch, and a leader's divergence check, which looks at
 * the last epoch only, never sees the old batch before the new ones; found by the
 * simulator, seed 6205995 of 3 voters + 2, disk, voter changes.) */
static void
a_stale_job_never_writes_a_batch_appended_after_the_truncation(void **state)
{
	struct fixture *f = *state;
	struct kr_log_config c = cfg_of(f, 1u << 20);
	struct kr_log_job j = {0};
	struct kr_log_span sp;

	assert_int_equal(kr_log_open(&c, &f->log, &f->rep, f->err, sizeof(f->err)), 0);
	for (int i = 0; i < 10; i++)
		append(f->log, 1, 4, 200);
	flush(f); /* 0..40 synced */
	for (int i = 0; i < 10; i++)
		append(f->log, 1, 4, 200); /* 40..80, in the same segment */
	assert_int_equal(kr_log_job_begin(f->log, &j), 0);
	assert_int_equal(kr_log_truncate(f->log, 44), 44); /* inside what the job writes */
	for (int i = 0; i < 3; i++)
		append(f->log, 2, 4, 150); /* 44..56 in epoch 2, other bytes */
	kr_log_job_run(&j);
	assert_int_equal(j.rc, 0);
	assert_int_equal(kr_log_job_end(f->log, &j), 0);
	assert_true(kr_log_durable_end(f->log) <= 44);
	assert_int_equal(kr_log_end(f->log), 56); /* memory holds the new log */
	kr_log_job_free(&j);
	/* the node stops here: the files say what the old log said */
	reopen(f, 1u << 20);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_last_epoch(f->log), 1);
	assert_int_equal(kr_log_end(f->log), 80);
	for (uint64_t off = 0; off < 80; off = sp.end_offset) {
		struct kr_batch_hdr h;

		assert_int_equal(kr_log_read(f->log, off, 80, UINT32_MAX, &sp), 0);
		for (uint32_t pos = 0; pos < sp.len; pos += h.length) {
			kr_batch_hdr_get(sp.data + pos, &h);
			assert_int_equal(h.epoch, 1);
		}
	}
	/* and a flush after the truncation leaves exactly the new log */
	assert_int_equal(kr_log_truncate(f->log, 44), 44);
	for (int i = 0; i < 3; i++)
		append(f->log, 2, 4, 150);
	flush_reopen_expect(f, 56, 2);

	/* the same with the next flush done: exactly the new log, in valid segments; and a
	 * truncation at a segment's first batch while a job is out */
	for (int i = 0; i < 10; i++)
		append(f->log, 2, 4, 200); /* 56..96 */
	assert_int_equal(kr_log_job_begin(f->log, &j), 0);
	assert_int_equal(kr_log_truncate(f->log, 60), 60);
	for (int i = 0; i < 3; i++)
		append(f->log, 3, 4, 150); /* 60..72 */
	kr_log_job_run(&j);
	assert_int_equal(kr_log_job_end(f->log, &j), 0);
	flush(f);
	assert_int_equal(kr_log_job_begin(f->log, &j), 0);
	assert_int_equal(kr_log_truncate(f->log, 60), 60); /* the first batch of a segment */
	append(f->log, 4, 4, 100);			   /* 60..64 */
	kr_log_job_run(&j);
	assert_int_equal(kr_log_job_end(f->log, &j), 0);
	kr_log_job_free(&j);
	flush_reopen_expect(f, 64, 4);

	/* the whole log, from its start, while a job is out: the log has no segment until
	 * the next batch; stopping before a flush leaves the old log, a flush the new one */
	append(f->log, 4, 4, 100); /* 64..68, unflushed */
	assert_int_equal(kr_log_job_begin(f->log, &j), 0);
	assert_int_equal(kr_log_truncate(f->log, 0), 0);
	assert_int_equal(kr_log_end(f->log), 0);
	assert_int_equal(kr_log_start(f->log), 0);
	append(f->log, 5, 4, 100); /* 0..4 */
	kr_log_job_run(&j);
	assert_int_equal(kr_log_job_end(f->log, &j), 0);
	kr_log_job_free(&j);
	reopen(f, 1u << 20);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_true(kr_log_end(f->log) >= 64);
	assert_int_equal(kr_log_last_epoch(f->log), 4);
	assert_int_equal(kr_log_truncate(f->log, 0), 0);
	append(f->log, 5, 4, 100);
	flush_reopen_expect(f, 4, 5);
}

/* A job that fails (here: its directory is gone) fail-stops the log: nothing more
 * counts as durable, and every later flush fails too. */
static void
flush_job_failure_fail_stops_the_log(void **state)
{
	struct fixture *f = *state;
	struct kr_log_config c = cfg_of(f, KR_LOG_SEGMENT_BYTES_MIN);
	struct kr_log_job j = {0};
	char cmd[600];

	assert_int_equal(kr_log_open(&c, &f->log, &f->rep, f->err, sizeof(f->err)), 0);
	append(f->log, 1, 4, 2000);
	flush(f);
	for (int i = 0; i < 12; i++) /* needs new segment files */
		append(f->log, 1, 4, 2000);
	/* the open directory fd now names a removed directory: creating a file fails, even
	 * for root */
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(kr_log_job_begin(f->log, &j), 0);
	kr_log_job_run(&j);
	assert_int_not_equal(j.rc, 0);
	assert_int_not_equal(kr_log_job_end(f->log, &j), 0);
	assert_int_equal(kr_log_durable_end(f->log), 4);
	assert_int_not_equal(kr_log_flush(f->log, f->err, sizeof(f->err)), 0);
	assert_non_null(strstr(f->err, "fail-stopped"));
	assert_int_equal(kr_log_durable_end(f->log), 4);
	kr_log_job_free(&j);
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", f->dir); /* for the teardown */
	assert_int_equal(system(cmd), 0);
}

static void
read_only_open_reports_and_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct kr_log_config c = cfg_of(f, SEG_BIG);
	struct kr_log *ro;
	struct kr_log_report rep;
	char err[128];
	size_t full;

	reopen(f, SEG_BIG);
	append(f->log, 1, 3, 20);
	append(f->log, 1, 3, 20);
	flush(f);
	kr_log_close(f->log);
	f->log = NULL;
	full = tu_file_size(f->dir, SEG0);
	tu_file_cut(f->dir, SEG0, full - 5);
	c.read_only = true;
	assert_int_equal(kr_log_open(&c, &ro, &rep, err, sizeof(err)), 0);
	assert_int_equal(rep.outcome, KR_LOG_TORN_TAIL);
	assert_int_equal(tu_file_size(f->dir, SEG0), full - 5);
	assert_int_equal(kr_log_append(ro, (const uint8_t *)"x", 1), -EROFS);
	assert_int_equal(kr_log_flush(ro, err, sizeof(err)), -EROFS);
	assert_int_equal(kr_log_truncate(ro, 0), -EROFS);
	kr_log_close(ro);
	c.dir = "/nonexistent/kraft-test";
	assert_int_equal(kr_log_open(&c, &ro, &rep, err, sizeof(err)), -ENOENT);
}

static void
append_refuses_gaps_old_epochs_damage_and_the_memory_cap(void **state)
{
	struct fixture *f = *state;
	struct kr_log_config c = cfg_of(f, SEG_BIG);
	uint8_t b[KR_BATCH_BYTES_MAX];
	uint32_t n;
	char err[128];

	c.memory_bytes_max = 1000;
	kr_log_close(f->log);
	assert_int_equal(kr_log_open(&c, &f->log, &f->rep, err, sizeof(err)), 0);
	append(f->log, 3, 2, 10);
	n = tu_batch(b, sizeof(b), 5, 3, 1, 10); /* gap: the log ends at 2 */
	assert_int_equal(kr_log_append(f->log, b, n), -EINVAL);
	n = tu_batch(b, sizeof(b), 2, 2, 1, 10); /* epoch below the last */
	assert_int_equal(kr_log_append(f->log, b, n), -EINVAL);
	n = tu_batch(b, sizeof(b), 2, 3, 1, 10);
	b[KR_BATCH_HDR_BYTES] ^= 1;
	assert_int_equal(kr_log_append(f->log, b, n), -EBADMSG);
	b[KR_BATCH_HDR_BYTES] ^= 1;
	assert_int_equal(kr_log_append(f->log, b, n - 1), -EBADMSG);
	assert_int_equal(kr_log_append(f->log, b, n), 0);
	n = tu_batch(b, sizeof(b), 3, 3, 10, 100); /* over the 1000-byte cap */
	assert_int_equal(kr_log_append(f->log, b, n), -ENOBUFS);
	assert_int_equal(kr_log_end(f->log), 3);
}

static void
memory_mode_counts_every_append_as_durable_and_writes_no_file(void **state)
{
	struct fixture *f = *state;
	struct kr_log_config c = {
		.durability = KR_LOG_MEMORY,
		.segment_bytes = KR_LOG_SEGMENT_BYTES_MIN,
		.memory_bytes_max = 1ull << 30,
	};
	char err[128];

	kr_log_close(f->log);
	assert_int_equal(kr_log_open(&c, &f->log, &f->rep, err, sizeof(err)), 0);
	for (int i = 0; i < 100; i++)
		append(f->log, 1 + (uint32_t)i / 30, 3, 400);
	assert_int_equal(kr_log_durable_end(f->log), 300);
	assert_int_equal(kr_log_flush(f->log, err, sizeof(err)), 0);
	assert_int_equal(read_all_from(f->log, 0), 300);
	assert_int_equal(kr_log_truncate(f->log, 150), 150);
	assert_true(kr_log_delete_prefix(f->log, 100) > 0);
	assert_int_equal(kr_log_durable_end(f->log), 150);
	assert_false(tu_file_exists(f->dir, SEG0));
	c.durability = KR_LOG_DISK; /* and a disk log without a directory is refused */
	kr_log_close(f->log);
	f->log = NULL;
	assert_int_equal(kr_log_open(&c, &f->log, &f->rep, err, sizeof(err)), -EINVAL);
}

/* THE READER (log.h): bytes handed to another thread stay allocated and unchanged while
 * the log drops them (prefix deletion, reset), until the reader releases them; segments
 * nobody holds are freed at once; a release frees only what lies below it. */
static void
memory_handed_to_a_reader_outlives_deletion_until_released(void **state)
{
	struct fixture *f = *state;
	struct kr_log_config c = {
		.durability = KR_LOG_MEMORY,
		.segment_bytes = KR_LOG_SEGMENT_BYTES_MIN,
		.memory_bytes_max = 1ull << 30,
	};
	struct kr_log_span sp[16];
	uint8_t *copy[16];
	unsigned n = 0;
	uint64_t at = 0, leaked = 1;
	char err[128];

	kr_log_close(f->log);
	assert_int_equal(kr_log_open(&c, &f->log, &f->rep, err, sizeof(err)), 0);
	for (int i = 0; i < 60; i++) /* about 9 KiB a batch: several segments */
		append(f->log, 1, 3, 3000);
	assert_true(kr_log_segment_count(f->log) >= 4);
	/* hand the reader [0, 90): spans, each copied to compare later */
	while (at < 90) {
		assert_int_equal(kr_log_read(f->log, at, 90, 1u << 20, &sp[n]), 0);
		assert_true(sp[n].len > 0);
		copy[n] = malloc(sp[n].len);
		memcpy(copy[n], sp[n].data, sp[n].len);
		kr_log_reader_hand(f->log, at, sp[n].end_offset);
		at = sp[n++].end_offset;
	}
	/* a truncation above what was handed frees what it drops at once */
	assert_int_equal(kr_log_truncate(f->log, 150), 150);
	assert_int_equal(kr_log_reader_graves(f->log, NULL), 0);
	/* a deletion and a reset drop every handed byte from the log, not from memory */
	assert_true(kr_log_delete_prefix(f->log, 60) > 0);
	assert_int_equal(kr_log_reset(f->log, 1000), 0);
	assert_int_equal(kr_log_start(f->log), 1000);
	uint32_t held = kr_log_reader_graves(f->log, &leaked);

	assert_true(held >= 2);
	assert_int_equal(leaked, 0);
	for (unsigned i = 0; i < n; i++) /* ASan: any of these freed is a use after free */
		assert_memory_equal(sp[i].data, copy[i], sp[i].len);
	append(f->log, 1, 3, 3000); /* appends go elsewhere: the handed bytes stay */
	for (unsigned i = 0; i < n; i++)
		assert_memory_equal(sp[i].data, copy[i], sp[i].len);
	/* a partial release frees the segments wholly below it only */
	kr_log_reader_released(f->log, sp[0].end_offset);
	assert_true(kr_log_reader_graves(f->log, NULL) < held);
	assert_true(kr_log_reader_graves(f->log, NULL) > 0);
	for (unsigned i = 1; i < n; i++)
		assert_memory_equal(sp[i].data, copy[i], sp[i].len);
	kr_log_reader_released(f->log, 90);
	assert_int_equal(kr_log_reader_graves(f->log, NULL), 0);
	/* nothing held now: a deletion frees at once */
	kr_log_reader_hand(f->log, 1000, 1003);
	kr_log_reader_released(f->log, 1003);
	for (int i = 0; i < 10; i++)
		append(f->log, 1, 3, 3000);
	assert_true(kr_log_delete_prefix(f->log, 1020) > 1000);
	assert_int_equal(kr_log_reader_graves(f->log, NULL), 0);
	for (unsigned i = 0; i < n; i++)
		free(copy[i]);
}

/* THE PINS (log.h): bytes a sender points at (an mbuf sent from log memory) stay
 * allocated and unchanged through a truncation into their segment (the next batch goes
 * into a new segment instead of over them), a prefix deletion and a reset, until the
 * last pin goes; without a pin a truncation writes over the cut bytes as before. */
static void
memory_a_sender_points_at_outlives_truncation_deletion_and_reset(void **state)
{
	struct fixture *f = *state;
	struct kr_log_config c = {
		.durability = KR_LOG_MEMORY,
		.segment_bytes = KR_LOG_SEGMENT_BYTES_MIN,
		.memory_bytes_max = 1ull << 30,
	};
	struct kr_log_span old, tail, again;
	struct kr_log_pin *p_old, *p_tail, *p_tail2;
	uint8_t *copy_old, *copy_tail, other[64];
	uint64_t end;
	uint32_t segs;
	char err[128];

	kr_log_close(f->log);
	assert_int_equal(kr_log_open(&c, &f->log, &f->rep, err, sizeof(err)), 0);
	for (int i = 0; i < 39; i++) /* 9060 bytes a batch, 3 a segment: 13 segments */
		append(f->log, 1, 3, 3000);
	end = kr_log_end(f->log);
	assert_null(kr_log_pin(f->log, other, sizeof(other))); /* not log memory */
	/* a sender holds the first batch and the last two (the last segment's end) */
	assert_int_equal(kr_log_read(f->log, 0, 3, 1u << 20, &old), 0);
	assert_int_equal(kr_log_read(f->log, end - 6, end, 1u << 20, &tail), 0);
	assert_int_equal(tail.end_offset, end);
	copy_old = malloc(old.len);
	copy_tail = malloc(tail.len);
	memcpy(copy_old, old.data, old.len);
	memcpy(copy_tail, tail.data, tail.len);
	p_old = kr_log_pin(f->log, old.data, old.len);
	p_tail = kr_log_pin(f->log, tail.data, tail.len);
	p_tail2 = kr_log_pin(f->log, tail.data, tail.len); /* a second frame of the same bytes */
	assert_non_null(p_old);
	assert_non_null(p_tail);
	assert_ptr_equal(p_tail, p_tail2);
	assert_int_equal(kr_log_pins(f->log), 3);
	/* cut inside the pinned segment, append over the cut: the new batches go into a new
	 * segment, the pinned bytes keep theirs, and the log reads the new ones */
	segs = kr_log_segment_count(f->log);
	assert_int_equal(kr_log_truncate(f->log, end - 6), (int64_t)(end - 6));
	append(f->log, 2, 3, 3000);
	append(f->log, 2, 3, 3000);
	assert_int_equal(kr_log_segment_count(f->log), segs + 1);
	assert_memory_equal(tail.data, copy_tail, tail.len);
	assert_int_equal(kr_log_read(f->log, end - 6, end, 1u << 20, &again), 0);
	assert_true(again.data != tail.data);
	assert_int_equal(kr_log_last_epoch(f->log), 2);
	/* a deletion past the first segment and a reset: nothing pinned is freed (ASan) */
	assert_true(kr_log_delete_prefix(f->log, 20) > 0);
	assert_int_equal(kr_log_start(f->log) > 0, 1);
	assert_int_equal(kr_log_reader_graves(f->log, NULL), 1);
	assert_memory_equal(old.data, copy_old, old.len);
	assert_int_equal(kr_log_reset(f->log, 5000), 0);
	assert_int_equal(kr_log_reader_graves(f->log, NULL), 2);
	assert_memory_equal(old.data, copy_old, old.len);
	assert_memory_equal(tail.data, copy_tail, tail.len);
	/* each goes when its last pin does */
	kr_log_unpin(f->log, p_old);
	assert_int_equal(kr_log_reader_graves(f->log, NULL), 1);
	kr_log_unpin(f->log, p_tail);
	assert_int_equal(kr_log_reader_graves(f->log, NULL), 1);
	assert_memory_equal(tail.data, copy_tail, tail.len);
	kr_log_unpin(f->log, p_tail2);
	assert_int_equal(kr_log_reader_graves(f->log, NULL), 0);
	assert_int_equal(kr_log_pins(f->log), 0);
	/* unpinned, a truncation writes the next batch over the cut, in the same segment */
	for (int i = 0; i < 3; i++)
		append(f->log, 3, 3, 3000);
	segs = kr_log_segment_count(f->log);
	assert_int_equal(kr_log_truncate(f->log, 5003), 5003);
	append(f->log, 3, 3, 3000);
	assert_int_equal(kr_log_segment_count(f->log), segs);
	free(copy_old);
	free(copy_tail);
}

/* RETENTION: the first segment goes only below upto and committed, when its newest
 * batch is older than young_us, and not when it holds the last voters record; never the
 * last segment. Spans are handed only up to committed, and not below the log start. */
static void
retention_steps_respect_the_snapshot_the_window_and_the_voters_record(void **state)
{
	struct fixture *f = *state;
	struct kr_log_config c = {
		.durability = KR_LOG_MEMORY,
		.segment_bytes = KR_LOG_SEGMENT_BYTES_MIN,
		.memory_bytes_max = 1ull << 30,
	};
	struct kr_log_span sp;
	uint64_t end, bytes, handed = 0;
	char err[128];

	kr_log_close(f->log);
	assert_int_equal(kr_log_open(&c, &f->log, &f->rep, err, sizeof(err)), 0);
	for (int i = 0; i < 30; i++)
		append(f->log, 1, 3, 3000); /* tu_batch's timestamps: below 1e6 us */
	assert_int_equal(kr_log_first_segment(f->log, &end, &bytes), 0);
	/* upto below the first segment's end, or committed below it: nothing */
	assert_int_equal(kr_log_retain_step(f->log, end - 1, 90, INT64_MAX, KR_OFFSET_NONE),
			 KR_RETAIN_NONE);
	assert_int_equal(kr_log_retain_step(f->log, 90, end - 1, INT64_MAX, KR_OFFSET_NONE),
			 KR_RETAIN_NONE);
	/* young batches stay */
	assert_int_equal(kr_log_retain_step(f->log, 90, 90, 0, KR_OFFSET_NONE), KR_RETAIN_NONE);
	/* the last voters record in it: written again first */
	assert_int_equal(kr_log_retain_step(f->log, 90, 90, INT64_MAX, 0), KR_RETAIN_VOTERS);
	assert_int_equal(kr_log_start(f->log), 0);
	assert_int_equal(kr_log_retain_step(f->log, 90, 90, INT64_MAX, end), KR_RETAIN_DELETED);
	assert_int_equal(kr_log_start(f->log), end);
	while (kr_log_retain_step(f->log, UINT64_MAX, UINT64_MAX, INT64_MAX, KR_OFFSET_NONE) ==
	       KR_RETAIN_DELETED)
		;
	assert_int_equal(kr_log_segment_count(f->log), 1); /* never the last */
	/* spans: up to committed, refused below the start */
	assert_int_equal(kr_log_hand_span(f->log, &handed, 90, 1u << 20, &sp), -ERANGE);
	handed = kr_log_start(f->log);
	assert_int_equal(kr_log_hand_span(f->log, &handed, handed + 3, 1u << 20, &sp), 1);
	assert_int_equal(handed, sp.end_offset);
	assert_int_equal(sp.end_offset, kr_log_start(f->log) + 3);
	assert_int_equal(kr_log_hand_span(f->log, &handed, handed, 1u << 20, &sp), 0);
	assert_true(kr_log_reader_graves(f->log, NULL) == 0);
}

/* After a prefix deletion the epoch of the record before the new start is kept (the base):
 * the epoch cache answers for it, reads at the start name it as the previous epoch, and a
 * reopened log finds it in its first segment's header (prev_epoch). */
static void
the_epoch_before_a_deleted_prefix_is_kept_and_survives_a_reopen(void **state)
{
	struct fixture *f = *state;
	uint64_t end, bytes;
	struct kr_log_span sp;
	struct kr_epoch_end e;

	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	for (int i = 0; i < 12; i++)
		append(f->log, 1, 3, 3000); /* epoch 1 over the first segments */
	assert_int_equal(kr_log_first_segment(f->log, &end, &bytes), 0);
	for (int i = 0; i < 12; i++)
		append(f->log, 2, 3, 3000);
	flush(f);
	assert_true(kr_log_delete_prefix(f->log, end) > 0);
	assert_int_equal(kr_log_start(f->log), end);
	assert_int_equal(kr_log_base_epoch(f->log), 1);
	e = kr_epoch_cache_end_for(kr_log_epochs(f->log), 1, kr_log_end(f->log));
	assert_int_equal(e.epoch, 1); /* epoch 1 goes on past the start here: its real end */
	assert_int_equal(kr_log_read(f->log, end, KR_OFFSET_NONE, 1u << 20, &sp), 0);
	assert_int_equal(sp.prev_epoch, 1);
	flush(f); /* the files below go */
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(kr_log_start(f->log), end);
	assert_int_equal(kr_log_base_epoch(f->log), 1);
	/* a cache that starts at a later epoch answers for the base below its first entry */
	struct kr_epoch_cache c = {0};

	assert_int_equal(kr_epoch_cache_assign(&c, 1, 0), 0);
	assert_int_equal(kr_epoch_cache_assign(&c, 3, 100), 0);
	kr_epoch_cache_trim_prefix(&c, 100);
	assert_int_equal(c.base_epoch, 1);
	e = kr_epoch_cache_end_for(&c, 2, 150);
	assert_true(e.epoch == 1 && e.end_offset == 100);
	e = kr_epoch_cache_end_for(&c, 0, 150);
	assert_true(e.epoch == 0 && e.end_offset == 100);
	assert_int_equal(kr_epoch_cache_epoch_at(&c, 99), 1);
	assert_int_equal(kr_epoch_cache_epoch_at(&c, 98), 0);
	kr_epoch_cache_free(&c);
}

/* kr_log_prefault_range hands out whole pages past the end, within the buffer (the test
 * writes them: ASan sees any byte past it), each once, only when min_bytes are due, and
 * writing them changes no record. */
static void
prefault_range_hands_out_pages_ahead_once(void **state)
{
	struct fixture *f = *state;
	struct kr_log_config c = {
		.durability = KR_LOG_MEMORY,
		.segment_bytes = 64u << 10,
		.memory_bytes_max = 1ull << 30,
	};
	char err[128];
	void *a, *prev_end = NULL;
	size_t len, total = 0;

	kr_log_close(f->log);
	assert_int_equal(kr_log_open(&c, &f->log, &f->rep, err, sizeof(err)), 0);
	assert_false(kr_log_prefault_range(f->log, 16384, 0, &a, &len)); /* no segment yet */
	append(f->log, 1, 3, 100);
	assert_true(kr_log_prefault_range(f->log, 16384, 0, &a, &len));
	/* whole pages: the one after the end's page up to the one holding end + 16 KiB */
	assert_int_equal((uintptr_t)a % 4096, 0);
	assert_int_equal(len % 4096, 0);
	assert_true(len >= 8192 && len <= 16384);
	memset(a, 0xee, len);
	prev_end = (uint8_t *)a + len;
	total += len;
	assert_false(kr_log_prefault_range(f->log, 16384, 0, &a, &len)); /* once only */
	append(f->log, 1, 3, 1000);
	/* a batch of about 3 KiB more is due: not enough for a 4 KiB minimum */
	assert_false(kr_log_prefault_range(f->log, 16384, 4096, &a, &len));
	/* asked far past the buffer: up to its end, after the last range, never over it */
	assert_true(kr_log_prefault_range(f->log, 1u << 30, 4096, &a, &len));
	assert_true((uint8_t *)a >= (uint8_t *)prev_end);
	memset(a, 0xee, len);
	total += len;
	assert_true(total >= (64u << 10) - 3 * 4096 && total <= 64u << 10);
	assert_false(kr_log_prefault_range(f->log, 1u << 30, 0, &a, &len));
	for (int i = 0; i < 20; i++)
		append(f->log, 1, 3, 1000);
	assert_int_equal(read_all_from(f->log, 0), 66);
}

/* A client's append whose record value is a valid batch image with base offset 2^40:
 * (the batch recovery must never take for log data) built by the log's own code. */
static uint32_t
append_crafted(struct kr_log *log, uint32_t epoch, uint32_t value_len)
{
	static uint8_t image[KR_BATCH_BYTES_MAX], rec[KR_BATCH_BYTES_MAX], b[KR_BATCH_BYTES_MAX];
	struct kr_batch_hdr ih = {.base_offset = 1ull << 40, .epoch = epoch + 5};
	struct kr_batch_hdr h = {.base_offset = kr_log_end(log), .epoch = epoch};
	uint32_t in, n;

	/* the image: one record of 16 bytes */
	kr_put_le32(rec, 16);
	memset(rec + 4, 'x', 16);
	in = (uint32_t)kr_batch_build(image, sizeof(image), &ih, rec, 20, 1);
	/* the client's record: the image, then padding up to value_len */
	kr_put_le32(rec, value_len);
	memset(rec + 4, 'p', value_len);
	memcpy(rec + 4 + 64, image, in); /* a little way into the value */
	n = (uint32_t)kr_batch_build(b, sizeof(b), &h, rec, 4 + value_len, 1);
	assert_int_equal(kr_log_append(log, b, n), 0);
	return n;
}

static void
a_batch_image_in_a_record_value_never_sets_the_repair_target(void **state)
{
	struct fixture *f = *state;
	uint8_t buf[16];
	size_t size;

	reopen(f, SEG_BIG);
	append(f->log, 1, 3, 20);	  /* [0,3) */
	append_crafted(f->log, 1, 30000); /* [3,4): 30 KB, the image inside */
	flush(f);
	assert_true(tu_file_exists(f->dir, "flushed-bound"));
	assert_int_equal(tu_file_read(f->dir, "flushed-bound", buf, sizeof(buf)), 16);
	assert_true(kr_get_le64(buf) >= 4 && kr_get_le64(buf) < 1ull << 40);
	kr_log_close(f->log);
	f->log = NULL;
	size = tu_file_size(f->dir, SEG0);

	/* 1. the last 1000 bytes cut, as a torn write would: a torn tail, cut */
	tu_file_cut(f->dir, SEG0, size - 1000);
	reopen(f, SEG_BIG);
	if (f->rep.outcome != KR_LOG_TORN_TAIL)
		fail_msg("outcome %d (%s), repair target %" PRIu64, f->rep.outcome, f->rep.reason,
			 f->rep.last_valid_end_offset);
	assert_int_equal(kr_log_end(f->log), 3);
	kr_log_close(f->log);
	f->log = NULL;

	/* 2. the same batch whole but its header's CRC field damaged: mid-log damage is
	 * impossible to rule out (its length says where it ends, nothing follows), so a
	 * torn last write; never an offset from inside it */
	reopen(f, SEG_BIG);
	append_crafted(f->log, 1, 30000);
	flush(f);
	kr_log_close(f->log);
	f->log = NULL;
	size = tu_file_size(f->dir, SEG0);
	tu_file_flip(f->dir, SEG0, size - 30000, 0x10); /* inside the value, after the image */
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_TORN_TAIL);
	assert_int_equal(kr_log_end(f->log), 3);
	kr_log_close(f->log);
	f->log = NULL;

	/* 3. its header garbage (no batch starts there), a good batch after it: mid-log
	 * damage, and the repair target comes from the real batches, not from the image
	 * (whose run stops short of the end) */
	reopen(f, SEG_BIG);
	append_crafted(f->log, 1, 30000); /* [3,4) */
	append(f->log, 2, 2, 20);	  /* [4,6) */
	flush(f);
	kr_log_close(f->log);
	f->log = NULL;
	header_says_synced(f, SEG0);
	{
		size_t at = KR_SEGMENT_HDR_BYTES + tu_file_size(f->dir, SEG0) -
			    KR_SEGMENT_HDR_BYTES - (KR_BATCH_HDR_BYTES + 2 * (4 + 20)) -
			    (KR_BATCH_HDR_BYTES + 4 + 30000);

		for (int i = 4; i < 24; i++) /* length, base offset, epoch, count */
			tu_file_flip(f->dir, SEG0, at + (size_t)i, 0xff);
	}
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	assert_int_equal(f->rep.damage_start_offset, 3);
	assert_int_equal(f->rep.damage_end_offset, 4);
	assert_int_equal(f->rep.last_valid_end_offset, 6);
}

static void
the_flushed_bound_caps_the_repair_target(void **state)
{
	struct fixture *f = *state;
	uint8_t b[16] = {0};
	size_t size;

	/* garbage where the last batch's header was, and in its value a run of batch images
	 * that reaches the end of the file: recovery can only bound it from above, by the
	 * flushed bound (here written small by hand, as a node that flushed to 4 would) */
	reopen(f, SEG_BIG);
	append(f->log, 1, 3, 20);	    /* [0,3) */
	append_crafted(f->log, 1, 64 + 68); /* the image ends the value, the value the file */
	flush(f);
	kr_log_close(f->log);
	f->log = NULL;
	header_says_synced(f, SEG0);
	size = tu_file_size(f->dir, SEG0);
	for (int i = 4; i < 24; i++)
		tu_file_flip(f->dir, SEG0, size - (KR_BATCH_HDR_BYTES + 4 + 64 + 68) + (size_t)i,
			     0xff);
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	/* the bound the flush wrote: the log's end then (4) and a step */
	assert_int_equal(f->rep.last_valid_end_offset, 4 + 65536);
	kr_log_close(f->log);
	f->log = NULL;
	/* without a bound (a log from before the file) the image would set it */
	{
		char path[600];

		snprintf(path, sizeof(path), "%s/flushed-bound", f->dir);
		assert_int_equal(remove(path), 0);
	}
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.last_valid_end_offset, (1ull << 40) + 1);
	kr_log_close(f->log);
	f->log = NULL;
	kr_put_le64(b, 9);
	kr_put_le32(b + 8, kr_crc32c(0, b, 8));
	tu_file_write(f->dir, "flushed-bound", b, sizeof(b));
	reopen(f, SEG_BIG);
	assert_int_equal(f->rep.outcome, KR_LOG_MID_CORRUPT);
	assert_int_equal(f->rep.last_valid_end_offset, 9);
	/* a damaged bound file is no bound */
	kr_log_close(f->log);
	f->log = NULL;
	b[0] ^= 1;
	tu_file_write(f->dir, "flushed-bound", b, sizeof(b));
	reopen(f, SEG_BIG);
	assert_true(f->rep.last_valid_end_offset > 1ull << 40);
}

static void
recovery_scan_finds_the_resync_point_after_damage(void **state)
{
	uint8_t buf[4096];
	struct kr_scan_result r;
	uint32_t n1, n2, n3;

	(void)state;
	n1 = tu_batch(buf, sizeof(buf), 0, 1, 2, 10);
	n2 = tu_batch(buf + n1, sizeof(buf) - n1, 2, 1, 2, 10);
	n3 = tu_batch(buf + n1 + n2, sizeof(buf) - n1 - n2, 4, 2, 2, 10);
	kr_log_scan(buf, n1 + n2 + n3, 0, 0, NULL, NULL, &r);
	assert_false(r.bad);
	assert_int_equal(r.end_offset, 6);
	assert_int_equal(r.last_epoch, 2);
	buf[n1 + 4] ^= 0x80; /* the middle batch's length */
	kr_log_scan(buf, n1 + n2 + n3, 0, 0, NULL, NULL, &r);
	assert_true(r.bad);
	assert_int_equal(r.good_bytes, n1);
	assert_true(r.valid_after_bad);
	assert_int_equal(r.resync_pos, n1 + n2);
	assert_int_equal(r.resync_offset, 4);
	/* a batch that checks out but does not continue the offsets stops the scan */
	buf[n1 + 4] ^= 0x80;
	kr_log_scan(buf, n1 + n2 + n3, 1, 0, NULL, NULL, &r);
	assert_true(r.bad);
	assert_int_equal(r.good_bytes, 0);
}

/* A snapshot's last record: in the log, at its start, or not there. */
static void
a_log_holds_a_snapshot_only_with_its_last_record_in_its_epoch(void **state)
{
	struct fixture *f = *state;

	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	append(f->log, 1, 4, 8); /* 0..4 in epoch 1 */
	append(f->log, 3, 4, 8); /* 4..8 in epoch 3 */
	assert_true(kr_log_holds(f->log, (struct kr_snap_id){4, 1}));
	assert_true(kr_log_holds(f->log, (struct kr_snap_id){2, 1}));
	assert_true(kr_log_holds(f->log, (struct kr_snap_id){8, 3}));
	assert_true(kr_log_holds(f->log, (struct kr_snap_id){5, 3}));
	assert_false(kr_log_holds(f->log, (struct kr_snap_id){4, 3})); /* 3 is 4's epoch */
	assert_false(kr_log_holds(f->log, (struct kr_snap_id){5, 2}));
	assert_false(kr_log_holds(f->log, (struct kr_snap_id){4, 2}));
	assert_false(kr_log_holds(f->log, (struct kr_snap_id){9, 3})); /* past the end */
	assert_false(kr_log_holds(f->log, (struct kr_snap_id){8, 4}));
	assert_false(kr_log_holds(f->log, (struct kr_snap_id){3, 0}));
}

/* A batch larger than the segment size (a 1 MiB batch, 32 KiB segments) gets a segment
 * of its own size, in both appends, and survives a reopen; the next batch rolls on. It
 * once went into a segment of the configured size, past its buffer. */
static void
a_batch_larger_than_a_segment_gets_a_segment_of_its_size(void **state)
{
	struct fixture *f = *state;
	static uint8_t rec[KR_BATCH_BYTES_MAX], b[KR_BATCH_BYTES_MAX];
	const uint32_t value = KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES - KR_RECORD_HDR_BYTES;
	struct kr_log_span sp;
	uint32_t rlen;
	int n;

	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	for (uint32_t i = 0; i < 3; i++) {
		struct kr_batch_hdr h = {.base_offset = kr_log_end(f->log), .epoch = 1};

		rlen = tu_records(rec, sizeof(rec), 1, i == 1 ? 100 : value, (uint8_t)i);
		if (i == 2) { /* the two-step path: built, then checked and appended */
			n = kr_batch_build(b, sizeof(b), &h, rec, rlen, 1);
			assert_int_equal(n, KR_BATCH_BYTES_MAX);
			assert_int_equal(kr_log_append(f->log, b, (uint32_t)n), 0);
		} else {
			assert_int_equal(kr_log_append_records(f->log, &h, rec, rlen, 1), 0);
		}
	}
	assert_int_equal(kr_log_end(f->log), 3);
	assert_int_equal(kr_log_segment_count(f->log), 3);
	flush(f);
	reopen(f, KR_LOG_SEGMENT_BYTES_MIN);
	assert_int_equal(f->rep.outcome, KR_LOG_CLEAN);
	assert_int_equal(kr_log_end(f->log), 3);
	for (uint64_t o = 0; o < 3; o++) {
		assert_int_equal(kr_log_read(f->log, o, KR_OFFSET_NONE, KR_BATCH_BYTES_MAX, &sp),
				 0);
		assert_int_equal(sp.len,
				 o == 1 ? KR_BATCH_HDR_BYTES + 4 + 100 : KR_BATCH_BYTES_MAX);
		assert_int_equal(sp.end_offset, o + 1);
		assert_int_equal(sp.data[sp.len - 1], (uint8_t)o); /* each value is its index */
	}
}

static void
ignore_line(void *arg, const char *line)
{
	(void)arg;
	(void)line;
}

/* The crash test's record of flushed lengths (test builds): a start cuts each segment
 * back to it. It is rewritten in place at a fixed size, never as a new file, so that a
 * disk the log filled cannot leave it stale (the next start would cut flushed bytes).
 * Writing it through a new file and a rename fails the inode check. */
static void
the_crash_record_is_rewritten_in_place_and_cuts_back_to_it(void **state)
{
	struct fixture *f = *state;
	char seg[512], rec[512];
	struct stat st, before;
	FILE *fp;

	snprintf(seg, sizeof(seg), "%s/%s", f->dir, SEG0);
	snprintf(rec, sizeof(rec), "%s/%s", f->dir, KR_CRASH_FILE);
	fp = fopen(seg, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite("0123456789", 1, 10, fp), 10);
	fclose(fp);
	assert_int_equal(kr_crash_record(f->dir, f->dir), 0);
	assert_int_equal(stat(rec, &before), 0);
	assert_int_equal(before.st_size, 16384);

	/* flushed to 1000 bytes, then 500 more written and a crash */
	assert_int_equal(truncate(seg, 1000), 0);
	assert_int_equal(kr_crash_record(f->dir, f->dir), 0);
	assert_int_equal(stat(rec, &st), 0);
	assert_int_equal(st.st_ino, before.st_ino);
	assert_int_equal(st.st_size, 16384);
	assert_int_equal(truncate(seg, 1500), 0);
	assert_int_equal(kr_crash_cut(f->dir, f->dir, false, ignore_line, NULL), 0);
	assert_int_equal(stat(seg, &st), 0);
	assert_int_equal(st.st_size, 1000);
	/* torn: a part of the unflushed tail may stay, never less than was flushed */
	assert_int_equal(truncate(seg, 1500), 0);
	assert_int_equal(kr_crash_cut(f->dir, f->dir, true, ignore_line, NULL), 0);
	assert_int_equal(stat(seg, &st), 0);
	assert_true(st.st_size >= 1000 && st.st_size < 1500);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(batch_builds_checks_and_refuses_damage),
		cmocka_unit_test(batch_build_refuses_oversize_and_malformed_records),
		cmocka_unit_test(fetch_at_6_with_epoch_2_diverges_at_epoch_1_end_3),
		cmocka_unit_test(epoch_cache_answers_end_offsets_for_every_epoch),
		cmocka_unit_test(epoch_cache_refuses_going_backwards),
		cmocka_unit_test(epoch_cache_follows_truncation_and_prefix_deletion),
		cmocka_unit_test(recovery_scan_finds_the_resync_point_after_damage),
#define LOG_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		LOG_TEST(append_read_and_reopen_keep_every_batch),
		LOG_TEST(append_records_writes_what_build_and_append_write_and_refuses_alike),
		LOG_TEST(a_segment_recovery_shrank_takes_no_append_when_it_is_last_again),
		LOG_TEST(read_from_an_offset_inside_a_batch_starts_at_that_batch),
		LOG_TEST(segments_roll_and_reads_stop_at_segment_ends),
		LOG_TEST(truncate_removes_the_suffix_in_memory_then_on_disk_at_flush),
		LOG_TEST(delete_prefix_removes_whole_segments_below_the_offset_only),
		LOG_TEST(
			torn_tail_cut_at_every_byte_of_the_last_batch_recovers_to_the_previous_batch),
		LOG_TEST(zeros_after_the_last_batch_are_a_torn_tail),
		LOG_TEST(flipped_byte_in_a_middle_batch_is_mid_log_corruption_not_cut),
		LOG_TEST(
			a_middle_batch_whose_length_and_record_length_are_both_damaged_is_not_a_torn_tail),
		LOG_TEST(mid_log_damage_is_kept_until_a_flush_after_the_repair_starts),
		LOG_TEST(damage_past_the_synced_bytes_is_a_torn_write_below_them_damage),
		LOG_TEST(a_misdirected_copy_after_damage_leaves_the_repair_target_at_the_bound),
		LOG_TEST(a_damaged_length_pointing_at_the_end_is_mid_log_damage),
		LOG_TEST(damage_twice_in_a_segment_repairs_to_the_end),
		LOG_TEST(a_damaged_length_running_past_the_end_is_not_a_torn_write),
		LOG_TEST(damage_in_an_earlier_segment_with_later_segments_is_mid_log),
		LOG_TEST(damage_in_the_last_segment_too_repairs_to_the_end),
		LOG_TEST(last_segment_with_a_torn_header_is_removed),
		LOG_TEST(reset_empties_the_log_at_a_new_start),
		LOG_TEST(flush_job_makes_the_taken_end_durable_while_appends_go_on),
		LOG_TEST(flush_job_made_stale_by_truncation_or_reset_moves_nothing),
		LOG_TEST(a_stale_job_never_writes_a_batch_appended_after_the_truncation),
		LOG_TEST(flush_job_failure_fail_stops_the_log),
		LOG_TEST(read_only_open_reports_and_changes_nothing),
		LOG_TEST(append_refuses_gaps_old_epochs_damage_and_the_memory_cap),
		LOG_TEST(memory_mode_counts_every_append_as_durable_and_writes_no_file),
		LOG_TEST(prefault_range_hands_out_pages_ahead_once),
		LOG_TEST(memory_handed_to_a_reader_outlives_deletion_until_released),
		LOG_TEST(memory_a_sender_points_at_outlives_truncation_deletion_and_reset),
		LOG_TEST(retention_steps_respect_the_snapshot_the_window_and_the_voters_record),
		LOG_TEST(the_epoch_before_a_deleted_prefix_is_kept_and_survives_a_reopen),
		LOG_TEST(a_batch_image_in_a_record_value_never_sets_the_repair_target),
		LOG_TEST(the_flushed_bound_caps_the_repair_target),
		LOG_TEST(a_log_holds_a_snapshot_only_with_its_last_record_in_its_epoch),
		LOG_TEST(the_crash_record_is_rewritten_in_place_and_cuts_back_to_it),
		LOG_TEST(a_batch_larger_than_a_segment_gets_a_segment_of_its_size),
#undef LOG_TEST
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
