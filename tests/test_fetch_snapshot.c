/* kraftd tests: snapshots between nodes. Two replication cores (a leader, a follower)
 * with real transfer slots (include/kraft/xfer.h) and their I/O side on temporary
 * directories; frames go through the codec. The leader's choice (the three cases), the
 * whole flow (named, fetched through small windows, checked, installed, then the log
 * from its end), loss and duplication, a damaged file, a leader change mid-transfer,
 * bad requests, and a transfer's heartbeats. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kraft/errors.h"
#include "kraft/log.h"
#include "kraft/repl.h"
#include "kraft/snapshot.h"
#include "kraft/xfer.h"
#include "samples.h"
#include "testutil.h"

#define MS 1000
#define WIN 4096u  /* every window: a 40 KB file takes many of them */
#define FRAME 512u /* bytes per frame */
#define SLOTS 2

struct node {
	struct kr_repl r;
	struct kr_log *log;
	struct kr_rp_out out;
	int64_t now;
	char *dir;
	struct kr_xfer xo[SLOTS], xi;
	uint8_t bufs[SLOTS + 1][WIN];
	struct kr_snap_id installed;
	int events[16];
	int64_t event_at[16], event_gap[16]; /* the latest of each type, the longest gap */
};

static struct node *
node_new(int32_t id, bool with_xfer)
{
	struct node *n = calloc(1, sizeof(*n));
	struct kr_log_config lc = {.durability = KR_LOG_MEMORY,
				   .segment_bytes = KR_LOG_SEGMENT_BYTES_MIN,
				   .memory_bytes_max = 1u << 20};
	struct kr_log_report rep;
	char err[128];
	struct kr_repl_config c = {
		.node_id = id,
		.wire = smp_ctx,
		.n_voters = 2,
		.voters = {1, 2},
		.memory_mode = true,
		.fetch_max_wait_us = 100 * MS,
		.fetch_max_bytes = 4 * FRAME,
		.frame_records_max = FRAME,
		.reply_frames_max = 4,
		.fetch_retry_us = 300 * MS,
		.fetch_backoff_us = 10 * MS,
		.incarnation = 1000 + (uint64_t)id,
	};

	assert_non_null(n);
	memset(c.directory_id, id, KR_UUID_BYTES);
	n->dir = tu_mkdtemp();
	if (with_xfer) {
		for (int i = 0; i < SLOTS; i++)
			kr_xfer_init(&n->xo[i], n->bufs[i], WIN);
		kr_xfer_init(&n->xi, n->bufs[SLOTS], WIN);
		c.xfer_out = n->xo;
		c.n_xfer_out = SLOTS;
		c.xfer_in = &n->xi;
	}
	assert_int_equal(kr_log_open(&lc, &n->log, &rep, err, sizeof(err)), 0);
	assert_int_equal(kr_repl_init(&n->r, &c, n->log), 0);
	n->now = 5000000;
	return n;
}

static void
node_free(struct node *n)
{
	for (int i = 0; i < SLOTS; i++)
		kr_xfer_io_close(&n->xo[i], NULL);
	kr_xfer_io_close(&n->xi, NULL);
	kr_log_close(n->log);
	tu_rmtree_free(n->dir);
	free(n);
}

static void
cmd(struct node *n, uint8_t type, uint32_t epoch, int32_t leader)
{
	struct kr_cmd c = {.type = type, .epoch = epoch, .node = leader};

	kr_repl_on_cmd(&n->r, &c, n->now, &n->out);
}

/* Batches of the given epochs (4 records each) at the log's end. */
static void
fill(struct node *n, const uint32_t *epochs, int nb)
{
	uint8_t b[KR_BATCH_BYTES_MAX];

	for (int i = 0; i < nb; i++) {
		uint32_t len = smp_batch(b, sizeof(b), kr_log_end(n->log), epochs[i], 4, 8);

		assert_int_equal(kr_log_append(n->log, b, len), 0);
	}
}

/* A snapshot file of about bytes bytes, id, in n's directory. */
static void
snapshot_file(struct node *n, struct kr_snap_id id, uint32_t bytes)
{
	struct kr_snap_writer w;
	struct kr_snap_meta m = {.id = id, .last_timestamp_us = 77};
	uint8_t *p = malloc(bytes);

	assert_non_null(p);
	memcpy(m.cluster_id, smp_ctx.cluster_id, KR_UUID_BYTES);
	snprintf(m.sm_name, sizeof(m.sm_name), "digest");
	for (uint32_t i = 0; i < bytes; i++)
		p[i] = (uint8_t)(i * 13 + 1);
	assert_int_equal(kr_snap_write_begin(&w, NULL, n->dir, &m), 0);
	for (uint32_t at = 0; at < bytes; at += 10000)
		assert_int_equal(kr_snap_write_chunk(&w, KR_SNAP_STATE, p + at,
						     bytes - at < 10000 ? bytes - at : 10000),
				 0);
	assert_int_equal(kr_snap_write_end(&w), 0);
	free(p);
}

/* A FETCH as a follower sends it. */
static void
fetch(struct node *n, int32_t from, uint32_t corr, uint32_t epoch, uint64_t offset,
      uint32_t last_epoch)
{
	static uint8_t buf[KR_WIRE_UDP_PAYLOAD_MAX];
	struct kr_msg m = {.api = KR_API_FETCH};
	struct kr_frame_hdr h;
	int len;

	m.u.fetch = (struct kr_fetch_req){.epoch = epoch,
					  .last_fetched_epoch = last_epoch,
					  .fetch_offset = offset,
					  .durable_offset = offset,
					  .max_bytes = 1u << 20,
					  .incarnation = 1000 + (uint64_t)from};
	memset(m.u.fetch.replica_dir, from, KR_UUID_BYTES);
	smp_hdr(&h);
	h.sender_id = from;
	h.correlation_id = corr;
	len = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_true(len > 0);
	kr_repl_on_packet(&n->r, buf, (size_t)len, from, (uint64_t)from, n->now, &n->out);
}

static const struct kr_msg *
sent(const struct node *n, unsigned api, int skip)
{
	for (uint32_t i = 0; i < n->out.n; i++)
		if (n->out.a[i].type == KR_RP_SEND && n->out.a[i].u.send.msg.api == api &&
		    skip-- == 0)
			return &n->out.a[i].u.send.msg;
	return NULL;
}

/* Carry out n's actions that are not frames: events counted by type, installs noted,
 * flushes dropped (memory mode). Frames stay for deliver(). */
static void
settle(struct node *n)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n->out.n; i++) {
		const struct kr_rp_action *a = &n->out.a[i];

		if (a->type == KR_RP_SEND)
			n->out.a[k++] = *a;
		else if (a->type == KR_RP_EVENT && a->u.ev.type < 16) {
			uint8_t t = a->u.ev.type;

			if (n->events[t]++ > 0 && n->now - n->event_at[t] > n->event_gap[t])
				n->event_gap[t] = n->now - n->event_at[t];
			n->event_at[t] = n->now;
		} else if (a->type == KR_RP_INSTALLED)
			n->installed = a->u.installed;
	}
	n->out.n = k;
}

/* Deliver n's frames to dst through the codec; drop_every > 0 loses every k-th frame,
 * dup sends each twice; mangle (if set) changes each frame before it is encoded. */
static int dropped_count;
static void
deliver(struct node *n, struct node *dst, int drop_every, bool dup)
{
	static uint8_t buf[KR_WIRE_UDP_PAYLOAD_MAX];
	static int seq;

	settle(n);
	for (uint32_t i = 0; i < n->out.n; i++) {
		const struct kr_rp_action *a = &n->out.a[i];
		int len = kr_repl_encode(&n->r, a, buf, sizeof(buf));

		assert_true(len > 0);
		if (drop_every > 0 && ++seq % drop_every == 0) {
			dropped_count++;
			continue;
		}
		for (int k = 0; k < (dup ? 2 : 1); k++) {
			dst->now = n->now > dst->now ? n->now : dst->now;
			kr_repl_on_packet(&dst->r, buf, (size_t)len, n->r.cfg.node_id,
					  (uint64_t)n->r.cfg.node_id, dst->now, &dst->out);
		}
	}
	n->out.n = 0;
	settle(dst);
}

/* Both nodes' I/O sides, until neither has anything to do. */
static void
io(struct node *a, struct node *b)
{
	char why[256];
	int64_t did;

	do {
		did = 0;
		for (int i = 0; i < SLOTS; i++) {
			did += kr_xfer_io_step(&a->xo[i], NULL, a->dir, smp_ctx.cluster_id, 2000,
					       why, sizeof(why));
			did += kr_xfer_io_step(&b->xo[i], NULL, b->dir, smp_ctx.cluster_id, 2000,
					       why, sizeof(why));
		}
		did += kr_xfer_io_step(&a->xi, NULL, a->dir, smp_ctx.cluster_id, 2000, why,
				       sizeof(why));
		did += kr_xfer_io_step(&b->xi, NULL, b->dir, smp_ctx.cluster_id, 2000, why,
				       sizeof(why));
	} while (did > 0);
}

/* A slow disk: one step of 512 bytes on each slot of both nodes. */
static void
io_slow(struct node *a, struct node *b)
{
	char why[256];
	struct node *ns[2] = {a, b};

	for (int k = 0; k < 2; k++) {
		for (int i = 0; i < SLOTS; i++)
			kr_xfer_io_step(&ns[k]->xo[i], NULL, ns[k]->dir, smp_ctx.cluster_id, 512,
					why, sizeof(why));
		kr_xfer_io_step(&ns[k]->xi, NULL, ns[k]->dir, smp_ctx.cluster_id, 512, why,
				sizeof(why));
	}
}

/* Run leader and follower for up to steps rounds of 1 ms: frames both ways, I/O (every
 * io_every-th round: a slow disk), ticks. */
static void run_io(struct node *l, struct node *f, int steps, int drop_every, bool dup,
		   int io_every);

static void
run(struct node *l, struct node *f, int steps, int drop_every, bool dup)
{
	run_io(l, f, steps, drop_every, dup, 1);
}

static void
run_io(struct node *l, struct node *f, int steps, int drop_every, bool dup, int io_every)
{
	/* a follower's HW never goes down, installs included */
#define HW_KEPT(hw) \
	assert_true((hw) == KR_OFFSET_NONE || (f->r.hw != KR_OFFSET_NONE && f->r.hw >= (hw)))
	for (int i = 0; i < steps; i++) {
		uint64_t hw = f->r.hw;

		deliver(f, l, 0, false);
		deliver(l, f, drop_every, dup);
		HW_KEPT(hw);
		hw = f->r.hw;
		if (io_every == 1)
			io(l, f);
		else if (i % io_every == 0)
			io_slow(l, f);
		l->now += MS;
		f->now += MS;
		kr_repl_tick(&l->r, l->now, &l->out);
		kr_repl_tick(&f->r, f->now, &f->out);
		HW_KEPT(hw);
	}
#undef HW_KEPT
}

/* A leader of epoch 4 whose log starts at 100 (base epoch 2: the snapshot there) and
 * holds batches of epochs 3, 3, 4 and the LeaderChange record. */
static struct node *
leader_past_a_snapshot(bool with_xfer)
{
	struct node *l = node_new(1, with_xfer);
	static const uint32_t ep[] = {3, 3};

	assert_int_equal(kr_log_reset(l->log, 100), 0);
	kr_log_set_base_epoch(l->log, 2);
	fill(l, ep, 2);
	cmd(l, KR_CMD_LEADER, 4, 1);
	settle(l);
	kr_repl_snapshot(&l->r, (struct kr_snap_id){100, 2});
	return l;
}

/* The answer to one Fetch: 's' snapshot named, 'd' divergence, 'r' records or nothing
 * new, 'o' OFFSET_OUT_OF_RANGE, or '?' */
static char
answer(struct node *l, uint64_t offset, uint32_t last_epoch)
{
	const struct kr_msg *m;
	char c;

	fetch(l, 2, 7, 4, offset, last_epoch);
	m = sent(l, KR_API_FETCH_RESP, 0);
	assert_non_null(m);
	c = m->u.fetch_resp.snapshot				  ? 's'
	    : m->u.fetch_resp.diverging				  ? 'd'
	    : m->u.fetch_resp.error == KR_ERR_OFFSET_OUT_OF_RANGE ? 'o'
	    : m->u.fetch_resp.error == KR_ERR_NONE		  ? 'r'
								  : '?';
	if (c == 's') {
		assert_int_equal(m->u.fetch_resp.diverging_end_offset, 100);
		assert_int_equal(m->u.fetch_resp.diverging_epoch, 2);
		assert_int_equal(m->u.fetch_resp.records_len, 0);
	}
	l->out.n = 0;
	return c;
}

static void
the_leader_names_its_snapshot_in_the_three_cases_only(void **state)
{
	struct node *l = leader_past_a_snapshot(true);

	(void)state;
	/* 1: an empty fetcher */
	assert_int_equal(answer(l, 0, 0), 's');
	/* 2: below the log start; at it with another epoch before it; past it with a last
	 * epoch older than the one the snapshot ends in */
	assert_int_equal(answer(l, 50, 1), 's');
	assert_int_equal(answer(l, 99, 2), 's');
	assert_int_equal(answer(l, 100, 1), 's');
	assert_int_equal(answer(l, 100, 3), 's');
	assert_int_equal(answer(l, 104, 1), 's');
	/* 3: the epoch cache decides: at the start in its epoch, inside the log, diverging */
	assert_int_equal(answer(l, 100, 2), 'r');
	assert_int_equal(answer(l, 104, 3), 'r');
	assert_int_equal(answer(l, 110, 2), 'd');
	assert_int_equal(l->r.stats.snapshots_named, 6);
	/* a leader that does not know its snapshot, or cannot send one: the old answer */
	kr_repl_snapshot(&l->r, (struct kr_snap_id){0, 0});
	assert_int_equal(answer(l, 50, 1), 'o');
	assert_int_equal(answer(l, 0, 0), 'o');
	node_free(l);
	l = leader_past_a_snapshot(false);
	assert_int_equal(answer(l, 50, 1), 'o');
	assert_int_equal(answer(l, 0, 0), 'o');
	node_free(l);
}

/* A leader of epoch 3 with records 0..40 (epochs 1, 1, 2, 2, ...) and a snapshot file
 * {24, 2} of about 40 KB; a follower of it with an empty log. */
static void
pair(struct node **lp, struct node **fp, bool follower_xfer)
{
	static const uint32_t ep[] = {1, 1, 2, 2, 2, 2, 2, 2, 2, 2};
	struct node *l = node_new(1, true), *f = node_new(2, follower_xfer);

	fill(l, ep, 10);
	cmd(l, KR_CMD_LEADER, 3, 1);
	settle(l);
	snapshot_file(l, (struct kr_snap_id){24, 2}, 40000);
	kr_repl_snapshot(&l->r, (struct kr_snap_id){24, 2});
	cmd(f, KR_CMD_FOLLOWER, 3, 1);
	*lp = l;
	*fp = f;
}

static size_t
file_of(const struct node *n, struct kr_snap_id id, uint8_t **bytes)
{
	char name[KR_SNAP_NAME_MAX];
	size_t len;

	kr_snap_name(id, false, name);
	if (!tu_file_exists(n->dir, name))
		return 0;
	len = tu_file_size(n->dir, name);
	*bytes = malloc(len);
	assert_int_equal(tu_file_read(n->dir, name, *bytes, len), len);
	return len;
}

static void
an_empty_follower_takes_the_snapshot_then_the_log(int drop_every, bool dup)
{
	struct node *l, *f;
	struct kr_snap_id id = {24, 2}, ids[2];
	uint8_t *a = NULL, *b = NULL;
	size_t la, lb;

	pair(&l, &f, true);
	run(l, f, 3000, drop_every, dup);
	/* the file is the leader's, byte for byte, under its name */
	la = file_of(l, id, &a);
	lb = file_of(f, id, &b);
	assert_true(la > 40000);
	assert_int_equal(lb, la);
	assert_memory_equal(a, b, la);
	assert_int_equal(kr_snap_list(NULL, f->dir, ids, 2), 1);
	assert_int_equal(kr_snap_remove_parts(NULL, f->dir), 0);
	/* installed once; the log starts over where the leader's starts (0: the appends of
	 * the dedup window stay in it) and holds all of the leader's */
	assert_int_equal(f->r.stats.snapshots_installed, 1);
	assert_int_equal(f->installed.end_offset, 24);
	assert_int_equal(f->installed.epoch, 2);
	assert_int_equal(kr_log_start(f->log), kr_log_start(l->log));
	assert_int_equal(kr_log_end(f->log), kr_log_end(l->log));
	assert_true(l->r.stats.snapshots_named >= 1);
	assert_true(f->r.hw != KR_OFFSET_NONE && f->r.hw >= 24);
	assert_int_equal(f->r.snap_newest.end_offset, 24);
	assert_false(f->r.snap_in.active);
	/* a transfer is each side's heartbeat */
	assert_true(f->events[KR_EV_LEADER_FETCHED] > 10);
	assert_true(l->events[KR_EV_REPLICA_FETCHED] > 10);
	assert_int_equal(l->r.stats.snapshot_bytes_out >= la ? 1 : 0, 1);
	assert_int_equal(f->r.stats.snapshot_bytes_in, la);
	free(a);
	free(b);
	node_free(l);
	node_free(f);
}

static void
an_empty_follower_takes_the_snapshot_then_the_log_clean(void **state)
{
	(void)state;
	an_empty_follower_takes_the_snapshot_then_the_log(0, false);
}

static void
lost_and_duplicated_frames_cost_retries_never_a_wrong_byte(void **state)
{
	(void)state;
	dropped_count = 0;
	an_empty_follower_takes_the_snapshot_then_the_log(7, true);
	assert_true(dropped_count > 10);
	an_empty_follower_takes_the_snapshot_then_the_log(5, false);
}

/* A leader whose log starts past 0 (at its snapshot): the follower's log starts over
 * there, after the epoch the leader names, and fetches on without another snapshot. */
static void
a_follower_behind_the_log_start_goes_on_from_it(void **state)
{
	struct node *l = leader_past_a_snapshot(true), *f = node_new(2, true);
	static const uint32_t ep[] = {1, 2};

	(void)state;
	snapshot_file(l, (struct kr_snap_id){100, 2}, 30000);
	fill(f, ep, 2); /* 8 records the leader deleted long ago */
	cmd(f, KR_CMD_FOLLOWER, 4, 1);
	run(l, f, 600, 0, false);
	assert_int_equal(f->r.stats.snapshots_installed, 1);
	assert_int_equal(l->r.stats.snapshots_named, 1);
	assert_int_equal(kr_log_start(f->log), 100);
	assert_int_equal(kr_log_base_epoch(f->log), 2);
	assert_int_equal(kr_log_end(f->log), kr_log_end(l->log));
	node_free(l);
	node_free(f);
}

static void
a_follower_without_transfers_starts_over_at_the_leaders_start(void **state)
{
	struct node *l = leader_past_a_snapshot(true), *f = node_new(2, false);

	(void)state;
	cmd(f, KR_CMD_FOLLOWER, 4, 1);
	run(l, f, 50, 0, false);
	assert_int_equal(kr_log_start(f->log), 100);
	assert_int_equal(kr_log_end(f->log), kr_log_end(l->log));
	assert_int_equal(f->r.stats.snapshots_installed, 0);
	node_free(l);
	node_free(f);
}

static void
a_damaged_snapshot_is_refused_and_nothing_is_installed(void **state)
{
	struct node *l, *f;
	struct kr_snap_id ids[2];
	char name[KR_SNAP_NAME_MAX];

	(void)state;
	pair(&l, &f, true);
	kr_snap_name((struct kr_snap_id){24, 2}, false, name);
	tu_file_flip(l->dir, name, 20000, 0x04); /* the leader's own disk flipped a bit */
	run(l, f, 400, 0, false);
	assert_true(f->r.stats.snapshot_failures >= 1);
	assert_int_equal(f->r.stats.snapshots_installed, 0);
	assert_int_equal(kr_snap_list(NULL, f->dir, ids, 2), 0);
	assert_int_equal(kr_log_end(f->log), 0);
	node_free(l);
	node_free(f);
}

static void
a_leader_change_mid_transfer_gives_it_up(void **state)
{
	struct node *l, *f;
	struct kr_snap_id ids[2];

	(void)state;
	pair(&l, &f, true);
	run(l, f, 5, 0, false);
	assert_true(f->r.snap_in.active);
	assert_true(f->r.snap_in.received > 0);
	cmd(f, KR_CMD_FOLLOWER, 4, 2); /* another leader, another epoch */
	assert_false(f->r.snap_in.active);
	io(l, f);
	assert_int_equal(kr_snap_list(NULL, f->dir, ids, 2), 0);
	assert_int_equal(kr_snap_remove_parts(NULL, f->dir), 0); /* the .part went */
	/* the old leader, fenced, frees its slot */
	cmd(l, KR_CMD_FENCE, 4, 1);
	for (int i = 0; i < SLOTS; i++)
		assert_false(l->r.xo[i].used);
	node_free(l);
	node_free(f);
}

/* A follower whose log is whole but whose state is not (its snapshot at the log start
 * damaged) asks for a snapshot while it replicates: the install keeps its log, never
 * lowers its HW, and says the state is back. */
static void
a_follower_without_state_takes_a_snapshot_and_keeps_its_log(void **state)
{
	static const uint32_t ep[] = {1, 1, 2, 2, 2, 2, 2, 2, 2, 2};
	struct node *l, *f;
	uint64_t hw;

	(void)state;
	pair(&l, &f, true);
	f->out.n = 0;	 /* not the Fetch of its empty log */
	fill(f, ep, 10); /* the same log as the leader's, below its LeaderChange record */
	cmd(f, KR_CMD_FOLLOWER, 3, 1);
	run(l, f, 20, 0, false);
	hw = f->r.hw;
	assert_true(hw != KR_OFFSET_NONE && hw > 24);
	assert_int_equal(f->r.stats.snapshots_installed, 0); /* it fetched the log */
	kr_repl_want_snapshot(&f->r);
	run(l, f, 300, 0, false);
	assert_int_equal(f->r.stats.snapshots_installed, 1);
	assert_false(f->r.want_snapshot);
	assert_int_equal(f->events[KR_EV_STATE_RESTORED], 1);
	assert_int_equal(kr_log_start(f->log), 0); /* the log stays */
	assert_int_equal(kr_log_end(f->log), kr_log_end(l->log));
	assert_true(f->r.hw >= hw);
	node_free(l);
	node_free(f);

	/* a leader whose newest snapshot ends below the follower's log start: not named,
	 * the follower goes on fetching the log */
	l = leader_past_a_snapshot(true);
	f = node_new(2, true);
	assert_int_equal(kr_log_reset(f->log, 104), 0);
	kr_log_set_base_epoch(f->log, 3);
	kr_repl_want_snapshot(&f->r);
	cmd(f, KR_CMD_FOLLOWER, 4, 1);
	run(l, f, 50, 0, false);
	assert_int_equal(l->r.stats.snapshots_named, 0);
	assert_true(f->r.want_snapshot);
	assert_int_equal(kr_log_end(f->log), kr_log_end(l->log));
	node_free(l);
	node_free(f);
}

/* A download through a slow disk, lasting more than 10 fetch timeouts (300 ms each
 * here): the leader hears from the fetcher, and the fetcher from the leader, all along
 * (check quorum and the fetch timer never see a silence of half a fetch timeout). */
static void
a_slow_download_keeps_both_heartbeats(void **state)
{
	struct node *l, *f;
	int64_t t0;

	(void)state;
	pair(&l, &f, true);
	t0 = f->now;
	run_io(l, f, 5000, 0, false, 40); /* 512 bytes per slot every 40 ms: ~3.2 s */
	assert_int_equal(f->r.stats.snapshots_installed, 1);
	assert_true(f->installed.end_offset == 24);
	assert_true(f->event_at[KR_EV_STATE_RESTORED] == 0); /* it had no want */
	/* the transfer outlasted 10 fetch timeouts */
	assert_true(l->r.stats.snapshot_requests > 50);
	assert_true(f->now - t0 > 10 * 300 * MS);
	assert_true(l->events[KR_EV_REPLICA_FETCHED] > 60);
	assert_true(l->event_gap[KR_EV_REPLICA_FETCHED] < 150 * MS);
	assert_true(f->event_gap[KR_EV_LEADER_FETCHED] < 150 * MS);
	node_free(l);
	node_free(f);
}

/* A FETCH_SNAPSHOT as a fetcher sends it; the leader's first answer frame. */
static const struct kr_fetch_snapshot_resp *
ask(struct node *l, int32_t from, uint32_t epoch, struct kr_snap_id id, uint64_t pos)
{
	static uint8_t buf[KR_WIRE_UDP_PAYLOAD_MAX];
	struct kr_msg m = {.api = KR_API_FETCH_SNAPSHOT};
	struct kr_frame_hdr h;
	const struct kr_msg *r;
	int len;

	l->out.n = 0;
	m.u.fetch_snapshot = (struct kr_fetch_snapshot_req){.epoch = epoch,
							    .id = id,
							    .position = pos,
							    .max_bytes = 4096,
							    .incarnation = 1000 + (uint64_t)from};
	memset(m.u.fetch_snapshot.replica_dir, from, KR_UUID_BYTES);
	smp_hdr(&h);
	h.sender_id = from;
	h.correlation_id = 99;
	len = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_true(len > 0);
	kr_repl_on_packet(&l->r, buf, (size_t)len, from, (uint64_t)from, l->now, &l->out);
	for (int i = 0; i < 10 && (r = sent(l, KR_API_FETCH_SNAPSHOT_RESP, 0)) == NULL; i++) {
		io(l, l);
		l->now += MS;
		kr_repl_tick(&l->r, l->now, &l->out);
	}
	assert_non_null(r);
	return &r->u.fetch_snapshot_resp;
}

static void
bad_requests_get_their_errors_and_change_nothing(void **state)
{
	struct node *l, *f;
	const struct kr_fetch_snapshot_resp *r;

	(void)state;
	pair(&l, &f, true);
	r = ask(l, 2, 3, (struct kr_snap_id){24, 2}, 0);
	assert_int_equal(r->error, KR_ERR_NONE);
	assert_int_equal(r->position, 0);
	assert_true(r->data_len > 0 && r->size > 40000);
	assert_int_equal(ask(l, 2, 3, (struct kr_snap_id){25, 2}, 0)->error,
			 KR_ERR_SNAPSHOT_NOT_FOUND);
	assert_int_equal(ask(l, 2, 3, (struct kr_snap_id){24, 2}, 1u << 20)->error,
			 KR_ERR_POSITION_OUT_OF_RANGE);
	assert_int_equal(ask(l, 2, 2, (struct kr_snap_id){24, 2}, 0)->error,
			 KR_ERR_FENCED_LEADER_EPOCH);
	assert_int_equal(ask(l, 2, 9, (struct kr_snap_id){24, 2}, 0)->error,
			 KR_ERR_UNKNOWN_LEADER_EPOCH);
	assert_int_equal(ask(f, 1, 3, (struct kr_snap_id){24, 2}, 0)->error,
			 KR_ERR_NOT_LEADER_OR_FOLLOWER);
	/* more fetchers than slots (2): the one too many is told to come back */
	assert_int_equal(ask(l, 2, 3, (struct kr_snap_id){24, 2}, 0)->error, KR_ERR_NONE);
	assert_int_equal(ask(l, 5, 3, (struct kr_snap_id){24, 2}, 0)->error, KR_ERR_NONE);
	assert_int_equal(ask(l, 6, 3, (struct kr_snap_id){24, 2}, 0)->error, KR_ERR_BUSY);
	/* none of it moved what the leader knows of the fetchers' logs */
	for (uint32_t i = 0; i < l->r.n_replicas; i++)
		assert_int_equal(l->r.replicas[i].leo, KR_OFFSET_NONE);
	node_free(l);
	node_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_leader_names_its_snapshot_in_the_three_cases_only),
		cmocka_unit_test(an_empty_follower_takes_the_snapshot_then_the_log_clean),
		cmocka_unit_test(lost_and_duplicated_frames_cost_retries_never_a_wrong_byte),
		cmocka_unit_test(a_follower_behind_the_log_start_goes_on_from_it),
		cmocka_unit_test(a_follower_without_transfers_starts_over_at_the_leaders_start),
		cmocka_unit_test(a_damaged_snapshot_is_refused_and_nothing_is_installed),
		cmocka_unit_test(a_leader_change_mid_transfer_gives_it_up),
		cmocka_unit_test(a_follower_without_state_takes_a_snapshot_and_keeps_its_log),
		cmocka_unit_test(a_slow_download_keeps_both_heartbeats),
		cmocka_unit_test(bad_requests_get_their_errors_and_change_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
