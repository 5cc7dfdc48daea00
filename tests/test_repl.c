/* kraftd tests: the replication core against KRaft's Fetch scenarios (divergence, the
 * HW, parked fetches, observers) and kraftd's own rules: the HW counts durable offsets only, never the
 * leader's unflushed LEO and never from a diverging reply; multi-frame replies; the
 * fence; deduplicated appends; "outcome unknown". Frames go through the real codec. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kraft/errors.h"
#include "kraft/le.h"
#include "kraft/repl.h"
#include "samples.h"

/* ---- the linker sends these calls here (tests/meson.build): counted while armed ---- */

#include <fcntl.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static bool armed;
static unsigned long forbidden_calls;

#define WRAP(ret, name, params, args)      \
	ret __real_##name params;          \
	ret __wrap_##name params;          \
	ret __wrap_##name params           \
	{                                  \
		if (armed)                 \
			forbidden_calls++; \
		return __real_##name args; \
	}
WRAP(void *, malloc, (size_t n), (n))
WRAP(void *, calloc, (size_t n, size_t k), (n, k))
WRAP(void *, realloc, (void *p, size_t n), (p, n))
WRAP(int, clock_gettime, (clockid_t c, struct timespec *t), (c, t))
WRAP(int, gettimeofday, (struct timeval * t, void *z), (t, z))
WRAP(time_t, time, (time_t * t), (t))
WRAP(int, open, (const char *p, int f, mode_t m), (p, f, m))
WRAP(int, open64, (const char *p, int f, mode_t m), (p, f, m))
WRAP(int, openat, (int d, const char *p, int f, mode_t m), (d, p, f, m))
WRAP(int, openat64, (int d, const char *p, int f, mode_t m), (d, p, f, m))
WRAP(ssize_t, write, (int fd, const void *b, size_t n), (fd, b, n))
WRAP(ssize_t, pwrite, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
WRAP(ssize_t, pwrite64, (int fd, const void *b, size_t n, off_t o), (fd, b, n, o))
WRAP(int, fsync, (int fd), (fd))
WRAP(int, fdatasync, (int fd), (fd))
void __real_free(void *p);
void __wrap_free(void *p);
void
__wrap_free(void *p)
{
	if (armed)
		forbidden_calls++;
	__real_free(p);
}

#define MS 1000
#define WAIT (100 * MS)
#define RETRY (300 * MS)
#define CLIENT 1000 /* client addresses are 1000 and up; a node's address is its id */

struct rnode {
	struct kr_repl r;
	struct kr_log *log;
	struct kr_rp_out out;
	int64_t now;
	uint32_t corr;
};

static uint64_t rnode_log_bytes = 1u << 20; /* the in-memory log's size */

/* Set by tests before rnode_full: voters' directory ids are bytes 1..n (instead of
 * unknown), and this node's is keyed_own. */
static bool keyed;
static uint8_t keyed_own;
/* Set by tests before rnode_full: a dynamic cluster whose bootstrap set is voters 1..n
 * (directory ids bytes 1..n, endpoints 10.0.0.i:9093); implies keyed. */
static bool dyn;

static struct kr_voter_set
boot_set(int n)
{
	struct kr_voter_set s;

	memset(&s, 0, sizeof(s));
	for (int i = 0; i < n; i++) {
		s.v[i].id = i + 1;
		memset(s.v[i].dir, i + 1, KR_UUID_BYTES);
		s.v[i].ep = (struct kr_endpoint){.ip = 0x0a000000u + (uint32_t)i + 1, .port = 9093};
	}
	s.n = (uint8_t)n;
	return s;
}

static struct rnode *
rnode_full(int32_t id, int n_voters, bool memory_mode, uint32_t frame_max, uint64_t repair)
{
	struct rnode *n = calloc(1, sizeof(*n));
	struct kr_log_config lc = {.durability = KR_LOG_MEMORY,
				   .segment_bytes = KR_LOG_SEGMENT_BYTES_MIN,
				   .memory_bytes_max = rnode_log_bytes};
	struct kr_log_report rep;
	char err[128];
	struct kr_repl_config c = {
		.node_id = id,
		.wire = smp_ctx,
		.n_voters = (uint8_t)n_voters,
		.memory_mode = memory_mode,
		.fetch_max_wait_us = WAIT,
		.fetch_max_bytes = 8 * frame_max,
		.frame_records_max = frame_max,
		.reply_frames_max = 8,
		.fetch_retry_us = RETRY,
		.fetch_backoff_us = 10 * MS,
		.liveness_interval_us = 0,
		.repair_target = repair,
		.incarnation = 1000 + (uint64_t)id, /* every reply must echo it */
	};

	for (int i = 0; i < n_voters; i++)
		c.voters[i] = i + 1;
	memset(c.directory_id, id, KR_UUID_BYTES);
	if (keyed) {
		for (int i = 0; i < n_voters; i++)
			memset(c.voter_dirs[i], i + 1, KR_UUID_BYTES);
		memset(c.directory_id, keyed_own, KR_UUID_BYTES);
		c.joining = keyed_own != id;
	}
	if (dyn) {
		for (int i = 0; i < n_voters; i++)
			memset(c.voter_dirs[i], i + 1, KR_UUID_BYTES);
		c.dynamic = true;
		c.boot = boot_set(n_voters);
	}
	assert_int_equal(kr_log_open(&lc, &n->log, &rep, err, sizeof(err)), 0);
	assert_int_equal(kr_repl_init(&n->r, &c, n->log), 0);
	n->now = 5000000;
	return n;
}

static struct rnode *
rnode(int32_t id, int n_voters, bool memory_mode)
{
	return rnode_full(id, n_voters, memory_mode, 1024, 0);
}

static void
rnode_free(struct rnode *n)
{
	kr_log_close(n->log);
	free(n);
}

static void
clear(struct rnode *n)
{
	n->out.n = 0;
}

static void
cmd(struct rnode *n, uint8_t type, uint32_t epoch, int32_t node, uint32_t seq)
{
	struct kr_cmd c = {.type = type, .epoch = epoch, .node = node, .seq = seq};

	kr_repl_on_cmd(&n->r, &c, n->now, &n->out);
}

/* Encode m as a frame from `from` (a node id, or -1 for a client) and give it to n as if
 * it came from address addr. */
static void
packet_from(struct rnode *n, int32_t from, uint64_t addr, uint32_t corr, const struct kr_msg *m)
{
	static uint8_t buf[KR_MSG_MAX]; /* a message larger than a datagram: as put together */
	struct kr_frame_hdr h;
	int len;

	smp_hdr(&h);
	h.sender_id = from;
	h.correlation_id = corr;
	len = kr_frame_encode(buf, sizeof(buf), &h, m);
	assert_true(len > 0);
	/* the address of node k is k: that is who owns addresses below CLIENT */
	kr_repl_on_packet(&n->r, buf, (size_t)len, addr < CLIENT ? (int32_t)addr : KR_NODE_NONE,
			  addr, n->now, &n->out);
}

static void
packet(struct rnode *n, int32_t from, uint32_t corr, const struct kr_msg *m)
{
	packet_from(n, from, from >= 0 ? (uint64_t)from : CLIENT, corr, m);
}

static void
tick(struct rnode *n, int64_t us)
{
	n->now += us;
	kr_repl_tick(&n->r, n->now, &n->out);
}

/* ---- reading actions ---- */

static const struct kr_rp_action *
find_send(const struct rnode *n, unsigned api, int skip)
{
	for (uint32_t i = 0; i < n->out.n; i++)
		if (n->out.a[i].type == KR_RP_SEND && n->out.a[i].u.send.msg.api == api &&
		    skip-- == 0)
			return &n->out.a[i];
	return NULL;
}

static int
count_sends(const struct rnode *n, unsigned api)
{
	int c = 0;

	while (find_send(n, api, c))
		c++;
	return c;
}

static const struct kr_event *
find_event(const struct rnode *n, uint8_t type)
{
	for (uint32_t i = 0; i < n->out.n; i++)
		if (n->out.a[i].type == KR_RP_EVENT && n->out.a[i].u.ev.type == type)
			return &n->out.a[i].u.ev;
	return NULL;
}

static const struct kr_fetch_resp *
fetch_resp(const struct rnode *n, int skip)
{
	const struct kr_rp_action *a = find_send(n, KR_API_FETCH_RESP, skip);

	assert_non_null(a);
	return &a->u.send.msg.u.fetch_resp;
}

/* ---- building inputs ---- */

static void
fetch_inc(struct rnode *n, int32_t from, uint32_t corr, uint32_t epoch, uint64_t offset,
	  uint32_t last_epoch, uint64_t durable, uint32_t wait, uint32_t incarnation)
{
	struct kr_msg m = {.api = KR_API_FETCH};

	m.u.fetch = (struct kr_fetch_req){.epoch = epoch,
					  .last_fetched_epoch = last_epoch,
					  .fetch_offset = offset,
					  .durable_offset = durable,
					  .max_wait_us = wait,
					  .max_bytes = 1u << 20,
					  .incarnation = incarnation};
	packet(n, from, corr, &m);
}

/* A Fetch from directory (bytes dir) of node from. */
static void
fetch_dir(struct rnode *n, int32_t from, uint8_t dir, uint32_t corr, uint32_t epoch,
	  uint64_t offset, uint32_t last_epoch, uint64_t incarnation)
{
	struct kr_msg m = {.api = KR_API_FETCH};

	m.u.fetch = (struct kr_fetch_req){.epoch = epoch,
					  .last_fetched_epoch = last_epoch,
					  .fetch_offset = offset,
					  .durable_offset = offset,
					  .max_bytes = 1u << 20,
					  .incarnation = incarnation};
	memset(m.u.fetch.replica_dir, dir, KR_UUID_BYTES);
	packet(n, from, corr, &m);
}

static void
fetch(struct rnode *n, int32_t from, uint32_t corr, uint32_t epoch, uint64_t offset,
      uint32_t last_epoch, uint64_t durable, uint32_t wait)
{
	fetch_inc(n, from, corr, epoch, offset, last_epoch, durable, wait, 0);
}

static void
append_req(struct rnode *n, uint32_t corr, uint64_t pid, uint64_t seq, uint32_t count,
	   uint32_t value_len)
{
	static uint8_t rec[KR_BATCH_BYTES_MAX];
	struct kr_msg m = {.api = KR_API_APPEND};

	m.u.append.producer_id = pid;
	m.u.append.sequence = seq;
	m.u.append.record_count = count;
	m.u.append.records_len = smp_records(rec, sizeof(rec), count, value_len, 'v');
	m.u.append.records = rec;
	packet(n, -1, corr, &m);
}

/* Put batches of the given epochs straight into a node's log (count records each). */
static void
fill_log(struct rnode *n, const uint32_t *epochs, int nb, uint32_t count)
{
	uint8_t b[KR_BATCH_BYTES_MAX];

	for (int i = 0; i < nb; i++) {
		uint32_t len = smp_batch(b, sizeof(b), kr_log_end(n->log), epochs[i], count, 8);

		assert_int_equal(kr_log_append(n->log, b, len), 0);
	}
	n->r.durable = kr_log_end(n->log);
}

/* Deliver every frame n sent (to a node id or an address) to dst, through the codec. */
static void
deliver(struct rnode *n, struct rnode *dst)
{
	uint32_t i = 0;

	while (i < n->out.n) {
		struct kr_rp_action a = n->out.a[i];
		int32_t to = a.type == KR_RP_SEND
				     ? (a.u.send.to_node >= 0 ? a.u.send.to_node
							      : (int32_t)a.u.send.to_addr)
				     : -2;

		if (to != dst->r.cfg.node_id) {
			i++;
			continue;
		}
		memmove(&n->out.a[i], &n->out.a[i + 1], (n->out.n - i - 1) * sizeof(a));
		n->out.n--;
		dst->now = n->now > dst->now ? n->now : dst->now;
		packet(dst, n->r.cfg.node_id, a.u.send.correlation, &a.u.send.msg);
	}
}

/* Carry out a node's flush requests at once (the flush thread, instantly), and forget
 * them and its events, keeping the frames it sends. */
static void
flush_all(struct rnode *n)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < n->out.n; i++)
		if (n->out.a[i].type == KR_RP_FLUSH) {
			uint64_t upto = n->out.a[i].u.flush.upto;
			uint32_t gen = n->out.a[i].u.flush.gen;

			kr_repl_on_durable(&n->r, upto, gen, n->now, &n->out);
		}
	for (uint32_t i = 0; i < n->out.n; i++)
		if (n->out.a[i].type == KR_RP_SEND)
			n->out.a[k++] = n->out.a[i];
	n->out.n = k;
}

/* ---- scenarios ---- */

/* and the leader's own durable offset */
static void
sole_voter_commits_on_its_own_flush_never_its_unflushed_leo(void **state)
{
	struct rnode *n = rnode(1, 1, false);

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	assert_int_equal(kr_log_end(n->log), 1); /* the LeaderChange record */
	assert_int_equal(n->r.hw, KR_OFFSET_NONE);
	append_req(n, 7, 0, 0, 2, 10);
	assert_int_equal(kr_log_end(n->log), 3);
	assert_null(find_send(n, KR_API_APPEND_RESP, 0)); /* appended, not yet durable */
	assert_int_equal(n->r.hw, KR_OFFSET_NONE);
	kr_repl_on_durable(&n->r, 1, n->r.gen, n->now, &n->out);
	assert_int_equal(n->r.hw, 1);
	assert_null(find_send(n, KR_API_APPEND_RESP, 0));
	kr_repl_on_durable(&n->r, 3, n->r.gen, n->now, &n->out);
	assert_int_equal(n->r.hw, 3);
	const struct kr_append_resp *a =
		&find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp;

	assert_int_equal(a->error, KR_ERR_NONE);
	assert_int_equal(a->base_offset, 1);
	assert_int_equal(a->record_count, 2);
	rnode_free(n);
}

static void
hw_is_the_majority_durable_offset_counting_the_leaders_flushed_end_only(void **state)
{
	struct rnode *n = rnode(1, 3, false);

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	for (int i = 0; i < 9; i++)
		append_req(n, (uint32_t)i, 0, 0, 1, 4); /* the log ends at 10 */
	kr_repl_on_durable(&n->r, 5, n->r.gen, n->now, &n->out);
	/* node 2 holds all 10 durably, node 3 nothing: the leader's 5 decides, not its LEO */
	fetch(n, 2, 1, 1, 10, 1, 10, 0);
	fetch(n, 3, 1, 1, 0, 0, 0, 0);
	assert_int_equal(n->r.hw, 5);
	/* a replica's LEO is not its durable offset either */
	fetch(n, 3, 2, 1, 10, 1, 6, 0);
	assert_int_equal(n->r.hw, 6);
	kr_repl_on_durable(&n->r, 10, n->r.gen, n->now, &n->out);
	assert_int_equal(n->r.hw, 10);
	/* and the HW never moves back, whatever replicas report later */
	fetch(n, 2, 3, 1, 10, 1, 3, 0);
	fetch(n, 3, 3, 1, 10, 1, 3, 0);
	assert_int_equal(n->r.hw, 10);
	rnode_free(n);
}

static void
new_leader_commits_nothing_until_a_majority_holds_its_leader_change_record(void **state)
{
	const uint32_t old[3] = {1, 1, 2};
	struct rnode *n = rnode(1, 3, true);

	(void)state;
	fill_log(n, old, 3, 2); /* [0,6) from earlier epochs */
	cmd(n, KR_CMD_LEADER, 3, KR_NODE_NONE, 0);
	assert_int_equal(n->r.lead.epoch_start, 6);
	/* a follower holding everything before the LeaderChange record commits nothing */
	fetch(n, 2, 1, 3, 6, 2, 6, 0);
	assert_int_equal(n->r.hw, KR_OFFSET_NONE);
	fetch(n, 2, 2, 3, 7, 3, 7, 0);
	assert_int_equal(n->r.hw, 7);
	rnode_free(n);
}

static void
leader_answers_a_diverging_fetch_at_once_from_its_epoch_cache(void **state)
{
	const uint32_t epochs[3] = {1, 3, 5};
	struct rnode *n = rnode(1, 3, true);

	(void)state;
	fill_log(n, epochs, 3, 3); /* 1:[0,3) 3:[3,6) 5:[6,9) */
	cmd(n, KR_CMD_LEADER, 6, KR_NODE_NONE, 0);
	clear(n);
	fetch(n, 2, 44, 6, 6, 2, 6, WAIT);
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 1); /* not parked */
	const struct kr_fetch_resp *f = fetch_resp(n, 0);

	assert_true(f->diverging);
	assert_int_equal(f->diverging_epoch, 1);
	assert_int_equal(f->diverging_end_offset, 3);
	assert_int_equal(f->records_len, 0);
	assert_int_equal(find_send(n, KR_API_FETCH_RESP, 0)->u.send.correlation, 44);
	/* a diverging replica's offsets are not recorded */
	assert_int_equal(n->r.replicas[1].leo, KR_OFFSET_NONE);
	rnode_free(n);
}

static void
follower_truncates_to_the_diverging_epoch_end_and_fetches_again(void **state)
{
	const uint32_t lead[3] = {1, 3, 5}, mine[3] = {1, 2, 2};
	struct rnode *l = rnode(1, 3, true), *f = rnode(2, 3, true);

	(void)state;
	fill_log(l, lead, 3, 3);
	fill_log(f, mine, 3, 3); /* 1:[0,3) 2:[3,9): diverges after 3 */
	cmd(l, KR_CMD_LEADER, 6, KR_NODE_NONE, 0);
	cmd(f, KR_CMD_FOLLOWER, 6, 1, 0);
	const struct kr_fetch_req *q = &find_send(f, KR_API_FETCH, 0)->u.send.msg.u.fetch;

	assert_int_equal(q->fetch_offset, 9);
	assert_int_equal(q->last_fetched_epoch, 2);
	deliver(f, l);
	clear(f);
	deliver(l, f);
	assert_int_equal(kr_log_end(f->log), 3);
	assert_int_equal(kr_log_last_epoch(f->log), 1);
	assert_int_equal(f->r.stats.truncations, 1);
	q = &find_send(f, KR_API_FETCH, 0)->u.send.msg.u.fetch;
	assert_int_equal(q->fetch_offset, 3);
	assert_int_equal(q->last_fetched_epoch, 1);
	/* and from there it catches up byte for byte */
	for (int i = 0; i < 10 && kr_log_end(f->log) < kr_log_end(l->log); i++) {
		deliver(f, l);
		deliver(l, f);
	}
	assert_int_equal(kr_log_end(f->log), kr_log_end(l->log));
	assert_int_equal(kr_log_last_epoch(f->log), 6);
	rnode_free(l);
	rnode_free(f);
}

static void
follower_never_takes_the_hw_from_a_diverging_reply(void **state)
{
	const uint32_t mine[2] = {1, 2};
	struct rnode *f = rnode(2, 3, true);
	struct kr_msg m = {.api = KR_API_FETCH_RESP};

	(void)state;
	fill_log(f, mine, 2, 5);
	cmd(f, KR_CMD_FOLLOWER, 3, 1, 0);
	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = f->r.cfg.incarnation,
						.frame_count = 1,
						.leader_id = 1,
						.epoch = 3,
						.diverging = 1,
						.diverging_epoch = 1,
						.diverging_end_offset = 5,
						.high_watermark = 9};
	packet(f, 1, f->r.fetch.corr, &m);
	assert_int_equal(kr_log_end(f->log), 5);
	assert_int_equal(f->r.hw, KR_OFFSET_NONE);
	rnode_free(f);
}

static void
follower_refuses_to_truncate_below_its_hw_and_stops(void **state)
{
	const uint32_t mine[2] = {1, 2};
	struct rnode *f = rnode(2, 3, true);
	struct kr_msg m = {.api = KR_API_FETCH_RESP};

	(void)state;
	fill_log(f, mine, 2, 5);
	f->r.hw = f->r.committed = 8; /* it learned that [0,8) is committed */
	/* leading an epoch in between (a new leader's HW starts unknown) forgets nothing */
	cmd(f, KR_CMD_LEADER, 2, KR_NODE_NONE, 0);
	assert_int_equal(f->r.hw, KR_OFFSET_NONE);
	cmd(f, KR_CMD_FOLLOWER, 3, 1, 0);
	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = f->r.cfg.incarnation,
						.frame_count = 1,
						.leader_id = 1,
						.epoch = 3,
						.diverging = 1,
						.diverging_epoch = 1,
						.diverging_end_offset = 5};
	packet(f, 1, f->r.fetch.corr, &m);
	assert_int_equal(kr_log_end(f->log), 11); /* untouched: [0,10) and its LeaderChange */
	assert_int_equal(find_event(f, KR_EV_FATAL)->seq, KR_FATAL_TRUNCATE_BELOW_HW);
	assert_int_equal(f->r.role, KR_REPL_FAILED);
	rnode_free(f);
}

/* A reply to a request of the node's previous start (late in the network) must not pass
 * for the answer to this start's request: correlation ids of each start are its own.
 * Found by kraftsim: a stale diverging answer made a restarted follower truncate below
 * its HW and stop. */
static void
reply_to_an_earlier_start_is_never_taken_for_this_ones(void **state)
{
	const uint32_t mine[2] = {1, 2};
	struct rnode *f = rnode(2, 3, true);
	struct kr_repl_config c = f->r.cfg;
	struct kr_msg m = {.api = KR_API_FETCH_RESP};
	uint32_t old_corr;

	(void)state;
	c.incarnation = 7;
	assert_int_equal(kr_repl_init(&f->r, &c, f->log), 0);
	fill_log(f, mine, 2, 5);
	cmd(f, KR_CMD_FOLLOWER, 3, 1, 0);
	old_corr = f->r.fetch.corr;
	c.incarnation = 8; /* it restarts, its log intact, and fetches again */
	assert_int_equal(kr_repl_init(&f->r, &c, f->log), 0);
	clear(f);
	cmd(f, KR_CMD_FOLLOWER, 3, 1, 0);
	assert_true(f->r.fetch.inflight);
	assert_int_not_equal(f->r.fetch.corr, old_corr);
	/* the answer to the first start's Fetch arrives now, telling it to truncate */
	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = 7, /* the first start's */
						.frame_count = 1,
						.leader_id = 1,
						.epoch = 3,
						.diverging = 1,
						.diverging_epoch = 1,
						.diverging_end_offset = 5};
	packet(f, 1, old_corr, &m);
	assert_int_equal(kr_log_end(f->log), 10); /* untouched */
	assert_int_equal(f->r.stats.drops[KR_RP_DROP_STALE_REPLY], 1);
	assert_true(f->r.fetch.inflight); /* still waiting for its own answer */
	rnode_free(f);
}

/* Correlation ids are 32 bits and each start begins at a hash of its incarnation, so two
 * starts' ids can meet. A reply names the start it answers: one to an earlier start is
 * refused even when its correlation id is exactly the one in flight now. */
static void
reply_with_this_starts_correlation_but_another_start_is_refused(void **state)
{
	const uint32_t mine[2] = {1, 2};
	struct rnode *f = rnode(2, 3, true);
	struct kr_msg m = {.api = KR_API_FETCH_RESP};

	(void)state;
	fill_log(f, mine, 2, 5);
	cmd(f, KR_CMD_FOLLOWER, 3, 1, 0);
	assert_true(f->r.fetch.inflight);
	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = f->r.cfg.incarnation - 1,
						.frame_count = 1,
						.leader_id = 1,
						.epoch = 3,
						.diverging = 1,
						.diverging_epoch = 1,
						.diverging_end_offset = 5};
	packet(f, 1, f->r.fetch.corr, &m);	  /* the same correlation id, an earlier start */
	assert_int_equal(kr_log_end(f->log), 10); /* untouched */
	assert_int_equal(f->r.stats.drops[KR_RP_DROP_STALE_REPLY], 1);
	assert_true(f->r.fetch.inflight);
	m.u.fetch_resp.incarnation = f->r.cfg.incarnation; /* its own: taken */
	packet(f, 1, f->r.fetch.corr, &m);
	assert_int_equal(kr_log_end(f->log), 5);
	assert_int_equal(f->r.stats.drops[KR_RP_DROP_STALE_REPLY], 1);
	rnode_free(f);
}

/* The leader echoes the Fetch's incarnation in every reply: records, errors, a parked
 * answer, and the answer a parked Fetch gets when the leader steps down. */
static void
every_fetch_reply_echoes_the_fetchers_incarnation(void **state)
{
	struct rnode *n = rnode(1, 3, true);

	(void)state;
	fetch_inc(n, 2, 1, 1, 0, 0, 0, 0, 41); /* not leader yet: an error */
	assert_int_equal(fetch_resp(n, 0)->error, KR_ERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(fetch_resp(n, 0)->incarnation, 41);
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	clear(n);
	fetch_inc(n, 2, 2, 1, 0, 0, 0, WAIT, 42); /* records (the LeaderChange) */
	assert_true(fetch_resp(n, 0)->records_len > 0);
	assert_int_equal(fetch_resp(n, 0)->incarnation, 42);
	clear(n);
	fetch_inc(n, 2, 3, 1, 1, 1, 1, WAIT, 42); /* parked, then answered at max wait */
	fetch_inc(n, 3, 4, 1, 1, 1, 1, WAIT, 43);
	clear(n);
	fetch_inc(n, 2, 5, 1, 1, 1, 1, WAIT, 42);
	fetch_inc(n, 3, 6, 1, 1, 1, 1, WAIT, 43);
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 0);
	tick(n, WAIT);
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 2);
	for (int i = 0; i < 2; i++) {
		const struct kr_rp_action *a = find_send(n, KR_API_FETCH_RESP, i);

		assert_int_equal(a->u.send.msg.u.fetch_resp.incarnation,
				 a->u.send.correlation == 5 ? 42 : 43);
	}
	clear(n);
	fetch_inc(n, 3, 7, 1, 1, 1, 1, WAIT, 44); /* node 3 restarted: told the HW at once */
	assert_int_equal(fetch_resp(n, 0)->incarnation, 44);
	clear(n);
	fetch_inc(n, 3, 8, 1, 1, 1, 1, WAIT, 44); /* parked */
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 0);
	cmd(n, KR_CMD_FENCE, 2, KR_NODE_NONE, 1);
	assert_int_equal(fetch_resp(n, 0)->error, KR_ERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(fetch_resp(n, 0)->incarnation, 44);
	rnode_free(n);
}

static void
follower_hw_is_capped_at_what_the_frame_validated_and_never_lowered(void **state)
{
	struct rnode *l = rnode(1, 3, true), *f = rnode(2, 3, true);

	(void)state;
	cmd(l, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	for (int i = 0; i < 5; i++)
		append_req(l, (uint32_t)i, 0, 0, 1, 4);
	l->r.hw = 6;			/* pretend a majority already holds it all */
	f->r.cfg.fetch_max_bytes = 100; /* one batch per reply: the HW arrives first */
	cmd(f, KR_CMD_FOLLOWER, 1, 1, 0);
	deliver(f, l);
	clear(f);
	deliver(l, f);
	assert_int_equal(kr_log_end(f->log), 1);
	assert_int_equal(f->r.hw, 1); /* capped: the leader's 6 is beyond this frame */
	for (int i = 0; i < 10; i++) {
		deliver(f, l);
		deliver(l, f);
	}
	assert_int_equal(f->r.hw, 6);
	/* a later frame with a lower HW (a stale leader view) does not lower it */
	struct kr_msg m = {.api = KR_API_FETCH_RESP};

	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = f->r.cfg.incarnation,
						.frame_count = 1,
						.leader_id = 1,
						.epoch = 1,
						.base_offset = 6,
						.prev_epoch = 1,
						.high_watermark = 2};
	packet(f, 1, f->r.fetch.corr, &m);
	assert_int_equal(f->r.hw, 6);
	rnode_free(l);
	rnode_free(f);
}

static void
parked_fetch_returns_empty_after_max_wait_or_records_when_the_leader_appends(void **state)
{
	struct rnode *n = rnode(1, 3, true);

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	fetch(n, 2, 1, 1, 1, 1, 1, WAIT); /* caught up; learns the HW? it is not known yet */
	clear(n);
	fetch(n, 2, 2, 1, 1, 1, 1, WAIT);
	fetch(n, 3, 3, 1, 1, 1, 1, WAIT);
	/* HW = 1 moved with node 3: node 2's parked fetch is answered to tell it */
	clear(n);
	fetch(n, 2, 4, 1, 1, 1, 1, WAIT);
	fetch(n, 3, 5, 1, 1, 1, 1, WAIT);
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 0); /* both parked now */
	tick(n, WAIT - 1);
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 0);
	tick(n, 1);
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 2);
	assert_int_equal(fetch_resp(n, 0)->records_len, 0);
	clear(n);
	fetch(n, 2, 6, 1, 1, 1, 1, WAIT);
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 0);
	append_req(n, 9, 0, 0, 1, 8);
	const struct kr_rp_action *a = find_send(n, KR_API_FETCH_RESP, 0);

	assert_non_null(a);
	assert_int_equal(a->u.send.correlation, 6);
	assert_true(a->u.send.msg.u.fetch_resp.records_len > 0);
	assert_int_equal(a->u.send.msg.u.fetch_resp.base_offset, 1);
	rnode_free(n);
}

static void
parked_fetch_fails_with_not_leader_when_the_leader_steps_down(void **state)
{
	struct rnode *n = rnode(1, 3, true);

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	fetch(n, 2, 1, 1, 1, 1, 1, WAIT);
	fetch(n, 3, 1, 1, 1, 1, 1, WAIT);
	fetch(n, 2, 2, 1, 1, 1, 1, WAIT);
	clear(n);
	fetch(n, 2, 3, 1, 1, 1, 1, WAIT);
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 0);
	cmd(n, KR_CMD_FENCE, 2, KR_NODE_NONE, 1);
	const struct kr_rp_action *a = find_send(n, KR_API_FETCH_RESP, 0);

	assert_non_null(a);
	assert_int_equal(a->u.send.correlation, 3);
	assert_int_equal(a->u.send.msg.u.fetch_resp.error, KR_ERR_NOT_LEADER_OR_FOLLOWER);
	rnode_free(n);
}

static void
a_newer_fetch_replaces_the_parked_one(void **state)
{
	struct rnode *n = rnode(1, 3, true);

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	fetch(n, 2, 1, 1, 1, 1, 1, WAIT);
	fetch(n, 3, 1, 1, 1, 1, 1, WAIT);
	fetch(n, 2, 2, 1, 1, 1, 1, WAIT);
	clear(n);
	fetch(n, 2, 10, 1, 1, 1, 1, WAIT);
	fetch(n, 2, 11, 1, 1, 1, 1, WAIT);
	append_req(n, 9, 0, 0, 1, 8);
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 1);
	assert_int_equal(find_send(n, KR_API_FETCH_RESP, 0)->u.send.correlation, 11);
	/* also when the newer one is answered at once: the parked one is gone, not answered
	 * later a second time */
	fetch(n, 2, 12, 1, 2, 1, 2, WAIT); /* (answered at once if the HW moved) */
	fetch(n, 2, 14, 1, 2, 1, 2, WAIT);
	clear(n);
	fetch(n, 2, 13, 1, 0, 0, 0, WAIT); /* behind: answered at once */
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 1);
	clear(n);
	append_req(n, 10, 0, 0, 1, 8);
	tick(n, WAIT);
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 0);
	rnode_free(n);
}

static void
invalid_stale_and_future_fetches_get_their_errors(void **state)
{
	struct rnode *n = rnode(1, 3, true), *f = rnode(2, 3, true);

	(void)state;
	cmd(n, KR_CMD_LEADER, 4, KR_NODE_NONE, 0);
	clear(n);
	fetch(n, 2, 1, 4, 0, 5, 0, 0); /* last fetched epoch above the current one */
	assert_int_equal(fetch_resp(n, 0)->error, KR_ERR_INVALID_REQUEST);
	fetch(n, 2, 2, 4, 5, 1, 9, 0); /* durable past the fetch offset */
	assert_int_equal(fetch_resp(n, 1)->error, KR_ERR_INVALID_REQUEST);
	fetch(n, 2, 3, 3, 0, 0, 0, 0);
	assert_int_equal(fetch_resp(n, 2)->error, KR_ERR_FENCED_LEADER_EPOCH);
	assert_int_equal(fetch_resp(n, 2)->epoch, 4);
	assert_null(find_event(n, KR_EV_EPOCH_SEEN));
	fetch(n, 2, 4, 5, 0, 0, 0, 0);
	assert_int_equal(fetch_resp(n, 3)->error, KR_ERR_UNKNOWN_LEADER_EPOCH);
	/* and the control plane hears of epoch 5, with no leader known */
	assert_non_null(find_event(n, KR_EV_EPOCH_SEEN));
	assert_int_equal(find_event(n, KR_EV_EPOCH_SEEN)->epoch, 5);
	assert_int_equal(find_event(n, KR_EV_EPOCH_SEEN)->node, KR_NODE_NONE);
	/* a follower names the leader it knows */
	cmd(f, KR_CMD_FOLLOWER, 4, 1, 0);
	clear(f);
	fetch(f, 3, 5, 4, 0, 0, 0, 0);
	assert_int_equal(fetch_resp(f, 0)->error, KR_ERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(fetch_resp(f, 0)->leader_id, 1);
	rnode_free(n);
	rnode_free(f);
}

static void
frames_from_another_cluster_or_a_spoofed_voter_are_dropped_and_counted(void **state)
{
	struct rnode *n = rnode(1, 3, true);
	struct kr_msg m = {.api = KR_API_FETCH};
	struct kr_frame_hdr h;
	uint8_t buf[256];
	int len;

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	clear(n);
	smp_hdr(&h);
	h.sender_id = 2;
	h.cluster_id[0] ^= 1;
	len = kr_frame_encode(buf, sizeof(buf), &h, &m);
	kr_repl_on_packet(&n->r, buf, (size_t)len, 2, 2, n->now, &n->out);
	assert_int_equal(n->r.stats.decode_errors[KR_WIRE_ECLUSTER], 1);
	/* node 2's id from node 3's address */
	packet_from(n, 2, 3, 1, &m);
	assert_int_equal(n->r.stats.drops[KR_RP_DROP_SPOOFED_SENDER], 1);
	/* a peer API from a client */
	packet(n, -1, 1, &m);
	assert_int_equal(n->r.stats.drops[KR_RP_DROP_CLIENT_PEER_API], 1);
	assert_int_equal(n->out.n, 0);
	rnode_free(n);
}

static void
describe_quorum_lists_voters_and_observers_on_the_leader_only(void **state)
{
	struct rnode *n = rnode(1, 3, true), *f = rnode(2, 3, true);
	struct kr_msg q = {.api = KR_API_DESCRIBE_QUORUM};
	struct kr_replica_info ri;

	(void)state;
	cmd(n, KR_CMD_LEADER, 2, KR_NODE_NONE, 0);
	fetch(n, 2, 1, 2, 1, 2, 1, 0);
	fetch(n, 7, 1, 2, 0, 0, 0, 0); /* an observer */
	clear(n);
	packet(n, -1, 9, &q);
	const struct kr_describe_resp *d =
		&find_send(n, KR_API_DESCRIBE_QUORUM_RESP, 0)->u.send.msg.u.describe_resp;

	assert_int_equal(d->error, KR_ERR_NONE);
	assert_int_equal(d->leader_id, 1);
	assert_int_equal(d->epoch, 2);
	assert_int_equal(d->n_voters, 3);
	assert_int_equal(d->n_observers, 1);
	ri = d->replicas[0];
	assert_int_equal(ri.replica_id, 1);
	assert_int_equal(ri.log_end_offset, 1);
	ri = d->replicas[1];
	assert_int_equal(ri.replica_id, 2);
	assert_int_equal(ri.log_end_offset, 1);
	assert_true(ri.last_fetch_us > 0 && ri.last_caught_up_us > 0);
	ri = d->replicas[2];
	assert_int_equal(ri.log_end_offset, KR_OFFSET_NONE);
	assert_int_equal(ri.last_fetch_us, KR_TIME_NONE);
	ri = d->replicas[3];
	assert_int_equal(ri.replica_id, 7);
	assert_int_equal(ri.log_end_offset, 0);
	assert_int_equal(ri.last_caught_up_us, KR_TIME_NONE);

	cmd(f, KR_CMD_FOLLOWER, 2, 1, 0);
	clear(f);
	packet(f, -1, 9, &q);
	d = &find_send(f, KR_API_DESCRIBE_QUORUM_RESP, 0)->u.send.msg.u.describe_resp;
	assert_int_equal(d->error, KR_ERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(d->leader_id, 1);
	rnode_free(n);
	rnode_free(f);
}

static void
observer_fetches_are_served_and_tracked_but_never_count(void **state)
{
	struct rnode *n = rnode(1, 3, true);

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	fetch(n, 7, 1, 1, 1, 1, 1, 0);
	fetch(n, 8, 1, 1, 1, 1, 1, 0);
	assert_int_equal(n->r.hw, KR_OFFSET_NONE);	   /* two observers are no majority */
	assert_null(find_event(n, KR_EV_REPLICA_FETCHED)); /* nor a quorum for control */
	fetch(n, 2, 1, 1, 1, 1, 1, 0);
	assert_int_equal(n->r.hw, 1);
	rnode_free(n);
}

static void
observer_asks_the_voters_in_turn_until_one_names_the_leader(void **state)
{
	struct rnode *o = rnode(9, 3, true), *v = rnode(2, 3, true);

	(void)state;
	cmd(o, KR_CMD_UNATTACHED, 0, KR_NODE_NONE, 0);
	assert_int_equal(find_send(o, KR_API_FETCH, 0)->u.send.to_node, 1);
	clear(o);
	tick(o, RETRY); /* node 1 did not answer: ask node 2 */
	assert_int_equal(find_send(o, KR_API_FETCH, 0)->u.send.to_node, 2);
	cmd(v, KR_CMD_FOLLOWER, 5, 3, 0);
	deliver(o, v);
	clear(o);
	deliver(v, o);
	const struct kr_event *ev = find_event(o, KR_EV_EPOCH_SEEN);

	assert_non_null(ev);
	assert_int_equal(ev->epoch, 5);
	assert_int_equal(ev->node, 3);
	rnode_free(o);
	rnode_free(v);
}

static void
reply_spanning_several_frames_is_appended_in_order_and_a_gap_restarts_from_the_leo(void **state)
{
	struct rnode *l = rnode_full(1, 3, true, 256, 0), *f = rnode_full(2, 3, true, 256, 0);

	(void)state;
	cmd(l, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	for (int i = 0; i < 6; i++)
		append_req(l, (uint32_t)i, 0, 0, 2, 60); /* 176 bytes a batch */
	cmd(f, KR_CMD_FOLLOWER, 1, 1, 0);
	deliver(f, l);
	/* frame 0 holds the LeaderChange batch [0,1) and [1,3); then one batch a frame */
	assert_int_equal(count_sends(l, KR_API_FETCH_RESP), 6);
	const struct kr_fetch_resp *last = fetch_resp(l, 5);

	assert_int_equal(last->frame_index, 5);
	assert_int_equal(last->frame_count, 6);
	assert_int_equal(fetch_resp(l, 0)->base_offset, 0);
	assert_int_equal(fetch_resp(l, 1)->base_offset, 3);
	assert_int_equal(fetch_resp(l, 1)->prev_epoch, 1);
	/* lose frame 2: frames 0 and 1 append, 3 does not, and the follower asks again */
	struct kr_rp_action frames[6];

	for (int i = 0; i < 6; i++)
		frames[i] = *find_send(l, KR_API_FETCH_RESP, i);
	clear(l);
	clear(f);
	for (int i = 0; i < 4; i++) {
		if (i == 2)
			continue;
		packet(f, 1, frames[i].u.send.correlation, &frames[i].u.send.msg);
	}
	assert_int_equal(kr_log_end(f->log), 5);
	assert_int_equal(f->r.stats.drops[KR_RP_DROP_FRAME_MISMATCH], 1);
	const struct kr_fetch_req *q = &find_send(f, KR_API_FETCH, 0)->u.send.msg.u.fetch;

	assert_int_equal(q->fetch_offset, 5);
	/* the rest of the old reply is stale now */
	packet(f, 1, frames[4].u.send.correlation, &frames[4].u.send.msg);
	assert_int_equal(f->r.stats.drops[KR_RP_DROP_STALE_REPLY], 1);
	assert_int_equal(kr_log_end(f->log), 5);
	for (int i = 0; i < 5; i++) {
		deliver(f, l);
		deliver(l, f);
	}
	assert_int_equal(kr_log_end(f->log), 13);
	rnode_free(l);
	rnode_free(f);
}

/* Found by the soak (a follower that never caught up after healing): the frames of one
 * reply arrive in any order, and when the first one, the one this log needs, always
 * came last, every reply made the follower ask again and its late first frame was
 * stale by then. A late frame of the request before that starts at the log end is
 * taken; records this log took already are skipped without asking again. */
static void
a_reply_whose_first_frame_arrives_last_still_makes_progress(void **state)
{
	struct rnode *l = rnode_full(1, 3, true, 256, 0), *f = rnode_full(2, 3, true, 256, 0);
	struct kr_rp_action frames[6];

	(void)state;
	cmd(l, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	for (int i = 0; i < 6; i++)
		append_req(l, (uint32_t)i, 0, 0, 2, 60);
	cmd(f, KR_CMD_FOLLOWER, 1, 1, 0);
	deliver(f, l);
	assert_int_equal(count_sends(l, KR_API_FETCH_RESP), 6);
	for (int i = 0; i < 6; i++)
		frames[i] = *find_send(l, KR_API_FETCH_RESP, i);
	clear(l);
	clear(f);
	/* frames 1..5 first: a gap, so it asks again from 0; then the late frame 0 */
	for (int i = 1; i < 6; i++)
		packet(f, 1, frames[i].u.send.correlation, &frames[i].u.send.msg);
	assert_int_equal(kr_log_end(f->log), 0);
	assert_int_equal(count_sends(f, KR_API_FETCH), 1);
	packet(f, 1, frames[0].u.send.correlation, &frames[0].u.send.msg);
	assert_int_equal(kr_log_end(f->log), 3);
	assert_int_equal(count_sends(f, KR_API_FETCH), 1); /* the new request goes on */
	/* the new reply's first frame repeats [0,3): skipped, the rest appends */
	deliver(f, l);
	deliver(l, f);
	assert_int_equal(kr_log_end(f->log), 13);
	rnode_free(l);
	rnode_free(f);
}

static void
frames_from_another_leader_or_epoch_are_dropped(void **state)
{
	struct rnode *f = rnode(2, 3, true);
	struct kr_msg m = {.api = KR_API_FETCH_RESP};
	uint8_t b[256];
	uint32_t len = smp_batch(b, sizeof(b), 0, 3, 1, 8);

	(void)state;
	cmd(f, KR_CMD_FOLLOWER, 3, 1, 0);
	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = f->r.cfg.incarnation,
						.frame_count = 1,
						.leader_id = 3,
						.epoch = 3,
						.high_watermark = 1,
						.records = b,
						.records_len = len};
	packet(f, 1, f->r.fetch.corr, &m);
	assert_int_equal(f->r.stats.drops[KR_RP_DROP_WRONG_LEADER], 1);
	m.u.fetch_resp.leader_id = 1;
	m.u.fetch_resp.epoch = 2;
	f->r.fetch.inflight = true;
	packet(f, 1, f->r.fetch.corr, &m);
	assert_int_equal(f->r.stats.drops[KR_RP_DROP_WRONG_LEADER], 2);
	assert_int_equal(kr_log_end(f->log), 0);
	assert_int_equal(f->r.hw, KR_OFFSET_NONE);
	rnode_free(f);
}

static void
duplicate_append_is_answered_with_its_first_offset(void **state)
{
	struct rnode *n = rnode(1, 1, true);

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	append_req(n, 1, 77, 0, 2, 8);
	append_req(n, 2, 77, 1, 1, 8);
	uint64_t end = kr_log_end(n->log);

	clear(n);
	append_req(n, 3, 77, 0, 2, 8); /* a retry of the first */
	assert_int_equal(kr_log_end(n->log), end);
	const struct kr_append_resp *a =
		&find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp;

	assert_int_equal(a->error, KR_ERR_NONE);
	assert_int_equal(a->base_offset, 1);
	assert_int_equal(a->record_count, 2);
	clear(n);
	append_req(n, 4, 77, 5, 1, 8); /* a gap in the sequence */
	assert_int_equal(find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp.error,
			 KR_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
	/* beyond the window: known to be old, offset forgotten */
	for (uint64_t s = 2; s < 2 + KR_PRODUCER_WINDOW; s++)
		append_req(n, 5, 77, s, 1, 8);
	clear(n);
	append_req(n, 6, 77, 0, 2, 8);
	assert_int_equal(find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp.error,
			 KR_ERR_DUPLICATE_SEQUENCE_NUMBER);
	assert_int_equal(kr_log_end(n->log), end + KR_PRODUCER_WINDOW);
	rnode_free(n);
}

static void
a_new_leader_remembers_producers_from_its_log(void **state)
{
	struct rnode *n = rnode(1, 1, true);

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	append_req(n, 1, 5, 0, 1, 8);
	cmd(n, KR_CMD_FENCE, 2, KR_NODE_NONE, 1);
	cmd(n, KR_CMD_LEADER, 2, KR_NODE_NONE, 0);
	clear(n);
	append_req(n, 2, 5, 0, 1, 8);
	const struct kr_append_resp *a =
		&find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp;

	assert_int_equal(a->error, KR_ERR_NONE);
	assert_int_equal(a->base_offset, 1);
	rnode_free(n);
}

static uint16_t
append_error(struct rnode *n, uint32_t corr, uint64_t pid, uint64_t seq)
{
	const struct kr_rp_action *a;

	clear(n);
	append_req(n, corr, pid, seq, 1, 8);
	a = find_send(n, KR_API_APPEND_RESP, 0);
	assert_non_null(a);
	return a->u.send.msg.u.append_resp.error;
}

/* A retry of producer pid's sequence 0 is answered with its first offset, and nothing
 * is appended. */
static void
retry_answered_at(struct rnode *n, uint64_t pid, uint64_t first)
{
	uint64_t end = kr_log_end(n->log);
	const struct kr_append_resp *a;

	clear(n);
	append_req(n, 3, pid, 0, 1, 8);
	a = &find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp;
	assert_int_equal(a->error, KR_ERR_NONE);
	assert_int_equal(a->base_offset, first);
	assert_int_equal(kr_log_end(n->log), end);
}

/* The chaos run's duplicate: one producer per client invocation, a retry after many
 * other producers. However many came after it within the window, the retry is answered
 * with the first offset; producers beyond the table's size are refused (BUSY), not let
 * in by forgetting one. Once the window has passed, the oldest make room. */
static void
a_retry_is_recognised_however_many_producers_came_after_it(void **state)
{
	struct rnode *n;
	uint64_t first, end;
	int busy = 0;

	(void)state;
	rnode_log_bytes = 64u << 20;
	n = rnode(1, 1, true);
	rnode_log_bytes = 1u << 20;
	n->r.cfg.dedup_window_us = 10 * 1000 * MS;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	first = kr_log_end(n->log);
	assert_int_equal(append_error(n, 1, 7, 0), KR_ERR_NONE);
	for (uint64_t pid = 100; pid < 100 + KR_PRODUCERS_MAX + 50; pid++) {
		n->now += 100; /* 3.3 s in all: inside the window */
		busy += append_error(n, 2, pid * 0x10001, 0) == KR_ERR_BUSY;
	}
	assert_int_equal(busy, 51); /* the table holds 7 and the first 32767 others */
	assert_int_equal(n->r.stats.producers_full, 51);
	retry_answered_at(n, 7, first);
	/* the window passes for producer 7: it is the one forgotten for a new producer */
	n->now += 10 * 1000 * MS;
	assert_int_equal(append_error(n, 4, 999999, 0), KR_ERR_NONE);
	assert_int_equal(n->r.stats.producers_evicted, 1);
	end = kr_log_end(n->log);
	assert_int_equal(append_error(n, 5, 100 * 0x10001, 0), KR_ERR_NONE); /* remembered */
	assert_int_equal(kr_log_end(n->log), end);
	assert_int_equal(append_error(n, 6, 7, 0), KR_ERR_NONE); /* forgotten: appended anew */
	assert_int_equal(kr_log_end(n->log), end + 1);
	rnode_free(n);
}

/* Forgetting producers (idle past a tiny window) moves entries in the hash index: after
 * two table-fulls of evictions every remembered producer is still found, and only the
 * oldest were forgotten. */
static void
evictions_keep_every_remembered_producer_findable(void **state)
{
	struct rnode *n;
	uint64_t x = 12345, end;
	static uint64_t ids[3 * KR_PRODUCERS_MAX];

	(void)state;
	rnode_log_bytes = 64u << 20;
	n = rnode(1, 1, true);
	rnode_log_bytes = 1u << 20;
	n->r.cfg.dedup_window_us = 1;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	for (int i = 0; i < 3 * KR_PRODUCERS_MAX; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		ids[i] = (x >> 1) | 1;
		n->now += 2;
		assert_int_equal(append_error(n, 1, ids[i], 0), KR_ERR_NONE);
	}
	assert_int_equal(n->r.stats.producers_evicted, 2 * KR_PRODUCERS_MAX);
	end = kr_log_end(n->log);
	for (int i = 2 * KR_PRODUCERS_MAX; i < 3 * KR_PRODUCERS_MAX; i++)
		assert_int_equal(append_error(n, 2, ids[i], 0), KR_ERR_NONE);
	assert_int_equal(kr_log_end(n->log), end); /* all retries: nothing appended */
	n->now += 2;
	assert_int_equal(append_error(n, 3, ids[0], 0), KR_ERR_NONE);
	assert_int_equal(kr_log_end(n->log), end + 1); /* forgotten long ago */
	rnode_free(n);
}

/* A new leader rebuilds the table from its log: the same retry is recognised there,
 * after as many producers as the table holds. */
static void
a_new_leader_recognises_a_retry_after_many_producers(void **state)
{
	struct rnode *n;
	uint64_t first, end;

	(void)state;
	rnode_log_bytes = 64u << 20;
	n = rnode(1, 1, true);
	rnode_log_bytes = 1u << 20;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	first = kr_log_end(n->log);
	assert_int_equal(append_error(n, 1, 7, 0), KR_ERR_NONE);
	for (uint64_t pid = 100; pid < 100 + KR_PRODUCERS_MAX - 1; pid++) {
		n->now += 10;
		assert_int_equal(append_error(n, 2, pid, 0), KR_ERR_NONE);
	}
	cmd(n, KR_CMD_FENCE, 2, KR_NODE_NONE, 1);
	cmd(n, KR_CMD_LEADER, 2, KR_NODE_NONE, 0);
	assert_int_equal(n->r.stats.producers_lost, 0);
	retry_answered_at(n, 7, first);
	/* full of recent producers: a new one waits */
	assert_int_equal(append_error(n, 4, 5, 0), KR_ERR_BUSY);
	/* a leader elected after the window rebuilds nothing older: the retry is new there */
	n->now += KR_DEDUP_WINDOW_US_DEFAULT + 1;
	cmd(n, KR_CMD_FENCE, 3, KR_NODE_NONE, 2);
	cmd(n, KR_CMD_LEADER, 3, KR_NODE_NONE, 0);
	end = kr_log_end(n->log);
	assert_int_equal(append_error(n, 5, 7, 0), KR_ERR_NONE);
	assert_int_equal(kr_log_end(n->log), end + 1);
	rnode_free(n);
}

static void
appends_pending_when_the_leader_loses_office_are_answered_outcome_unknown(void **state)
{
	struct rnode *n = rnode(1, 3, true);

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	append_req(n, 1, 0, 0, 1, 8);
	append_req(n, 2, 0, 0, 1, 8);
	assert_int_equal(count_sends(n, KR_API_APPEND_RESP), 0);
	clear(n);
	cmd(n, KR_CMD_FOLLOWER, 2, 3, 0);
	assert_int_equal(count_sends(n, KR_API_APPEND_RESP), 2);
	for (int i = 0; i < 2; i++) {
		const struct kr_append_resp *a =
			&find_send(n, KR_API_APPEND_RESP, i)->u.send.msg.u.append_resp;

		assert_true(a->outcome_unknown);
		assert_int_equal(a->error, KR_ERR_NOT_LEADER_OR_FOLLOWER);
		assert_int_equal(a->leader_id, 3);
	}
	/* and a later leadership never answers them again */
	cmd(n, KR_CMD_LEADER, 3, KR_NODE_NONE, 0);
	fetch(n, 2, 1, 3, kr_log_end(n->log), 3, kr_log_end(n->log), 0);
	assert_int_equal(count_sends(n, KR_API_APPEND_RESP), 2);
	rnode_free(n);
}

static void
leading_a_new_epoch_steps_down_from_the_old_one_first(void **state)
{
	struct rnode *n = rnode(1, 3, true);

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	append_req(n, 1, 0, 0, 1, 8);
	clear(n);
	cmd(n, KR_CMD_LEADER, 2, KR_NODE_NONE, 0);
	assert_true(find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp.outcome_unknown);
	assert_int_equal(n->r.lead.epoch_start, 2); /* a LeaderChange record for epoch 2 at [2,3) */
	assert_int_equal(kr_log_last_epoch(n->log), 2);
	assert_int_equal(kr_log_end(n->log), 3);
	rnode_free(n);
}

/* Found by kraftsim (memory mode): a follower reported offset 10, lost its memory in a
 * crash, came back and reported 0 -- and then its old Fetch arrived late. */
static void
late_fetch_from_an_earlier_start_of_a_replica_is_dropped(void **state)
{
	struct rnode *n = rnode(1, 3, true);

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	for (int i = 0; i < 9; i++)
		append_req(n, (uint32_t)i, 0, 0, 1, 4); /* the log ends at 10 */
	fetch_inc(n, 2, 1, 1, 0, 0, 0, 0, 2);		/* node 2, second start: holds nothing */
	clear(n);
	fetch_inc(n, 2, 2, 1, 10, 1, 10, 0, 1); /* the first start's claim, late */
	assert_int_equal(n->r.stats.drops[KR_RP_DROP_STALE_INCARNATION], 1);
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 0);
	assert_int_equal(n->r.hw, KR_OFFSET_NONE); /* nothing counted */
	/* a later start replaces what an earlier one said, and it survives a new term */
	fetch_inc(n, 2, 3, 1, 10, 1, 10, 0, 3);
	assert_int_equal(n->r.hw, 10);
	cmd(n, KR_CMD_FENCE, 2, KR_NODE_NONE, 1);
	cmd(n, KR_CMD_LEADER, 2, KR_NODE_NONE, 0);
	fetch_inc(n, 2, 4, 2, 11, 2, 11, 0, 2);
	assert_int_equal(n->r.stats.drops[KR_RP_DROP_STALE_INCARNATION], 2);
	rnode_free(n);
}

/* ---- voters are (node id, directory id) ---- */

static void
leader_counts_a_voter_only_from_its_own_directory(void **state)
{
	struct rnode *n;
	struct kr_msg q = {.api = KR_API_DESCRIBE_QUORUM};
	const struct kr_describe_resp *d;

	(void)state;
	keyed = true;
	keyed_own = 1;
	n = rnode(1, 3, true);
	keyed = false;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	for (int i = 0; i < 9; i++)
		append_req(n, (uint32_t)i, 0, 0, 1, 4); /* the log ends at 10 */
	/* voter 2 from its own directory, first start: holds everything */
	fetch_dir(n, 2, 2, 1, 1, 10, 1, 100);
	assert_int_equal(n->r.hw, 10);
	/* voter 2's disk replaced: a new directory, a later start, an empty log. It is an
	 * observer: fetched into, never counted, no liveness for the control plane */
	clear(n);
	fetch_dir(n, 2, 0x42, 2, 1, 0, 0, 200);
	assert_non_null(find_send(n, KR_API_FETCH_RESP, 0));
	assert_int_equal(fetch_resp(n, 0)->records_len > 0, 1);
	assert_null(find_event(n, KR_EV_REPLICA_FETCHED));
	/* the old directory's late Fetch, from an earlier start: dropped, counts nothing */
	clear(n);
	fetch_dir(n, 2, 2, 3, 1, 10, 1, 100);
	assert_int_equal(n->r.stats.drops[KR_RP_DROP_STALE_INCARNATION], 1);
	assert_int_equal(count_sends(n, KR_API_FETCH_RESP), 0);
	/* described: voter 2 (old directory) knows nothing now; observer 2 (new directory)
	 * with its true position */
	clear(n);
	packet(n, -1, 9, &q);
	d = &find_send(n, KR_API_DESCRIBE_QUORUM_RESP, 0)->u.send.msg.u.describe_resp;
	assert_int_equal(d->n_voters, 3);
	assert_int_equal(d->n_observers, 1);
	assert_int_equal(d->replicas[1].replica_id, 2);
	assert_int_equal(d->replicas[1].directory_id[0], 2);
	assert_int_equal(d->replicas[1].log_end_offset, KR_OFFSET_NONE);
	assert_int_equal(d->replicas[3].replica_id, 2);
	assert_int_equal(d->replicas[3].directory_id[0], 0x42);
	assert_int_equal(d->replicas[3].log_end_offset, 0);
	/* new appends commit only with voter 3: the new directory never counts */
	append_req(n, 20, 0, 0, 1, 4);
	fetch_dir(n, 2, 0x42, 4, 1, 11, 1, 200);
	assert_int_equal(n->r.hw, 10);
	fetch_dir(n, 3, 3, 5, 1, 11, 1, 300);
	assert_int_equal(n->r.hw, 11);
	rnode_free(n);
}

static void
a_joining_node_with_a_voter_id_looks_for_the_leader_without_asking_itself(void **state)
{
	struct rnode *o;

	(void)state;
	keyed = true;
	keyed_own = 0x42; /* node 2's id, another directory */
	o = rnode(2, 3, true);
	keyed = false;
	cmd(o, KR_CMD_UNATTACHED, 0, KR_NODE_NONE, 0);
	assert_int_equal(find_send(o, KR_API_FETCH, 0)->u.send.to_node, 1);
	assert_int_equal(find_send(o, KR_API_FETCH, 0)->u.send.msg.u.fetch.replica_dir[0], 0x42);
	for (int i = 0; i < 4; i++) {
		clear(o);
		tick(o, RETRY);
		assert_int_not_equal(find_send(o, KR_API_FETCH, 0)->u.send.to_node, 2);
	}
	rnode_free(o);
}

static void
identity_command_makes_a_voter_an_observer_with_its_new_directory(void **state)
{
	struct rnode *o;
	struct kr_cmd c = {.type = KR_CMD_IDENTITY};

	(void)state;
	keyed = true;
	keyed_own = 2;
	o = rnode(2, 3, true);
	keyed = false;
	cmd(o, KR_CMD_UNATTACHED, 0, KR_NODE_NONE, 0);
	assert_null(find_send(o, KR_API_FETCH, 0)); /* a voter without a leader waits */
	memset(c.frame, 0xee, KR_UUID_BYTES);
	kr_repl_on_cmd(&o->r, &c, o->now, &o->out);
	cmd(o, KR_CMD_UNATTACHED, 0, KR_NODE_NONE, 0);
	assert_non_null(find_send(o, KR_API_FETCH, 0)); /* an observer looks for it */
	assert_int_equal(find_send(o, KR_API_FETCH, 0)->u.send.msg.u.fetch.replica_dir[0], 0xee);
	rnode_free(o);
}

/* A voter told to look for the leader (seq 1: one that may not vote yet) fetches as an
 * observer would, and asks the bootstrap nodes too, after the voters. */
static void
a_voter_told_to_look_asks_the_voters_and_the_bootstrap_nodes(void **state)
{
	struct rnode *o;
	bool asked[10] = {false};

	(void)state;
	keyed = true;
	keyed_own = 2;
	o = rnode(2, 3, true);
	keyed = false;
	o->r.cfg.n_bootstrap = 2;
	o->r.cfg.bootstrap[0] = 9;
	o->r.cfg.bootstrap[1] = 2; /* itself: never asked */
	cmd(o, KR_CMD_UNATTACHED, 0, KR_NODE_NONE, 1);
	assert_non_null(find_send(o, KR_API_FETCH, 0));
	for (int i = 0; i < 6; i++) {
		const struct kr_rp_action *a = find_send(o, KR_API_FETCH, 0);

		assert_non_null(a);
		assert_true(a->u.send.to_node >= 0 && a->u.send.to_node < 10);
		asked[a->u.send.to_node] = true;
		clear(o);
		tick(o, RETRY);
	}
	assert_true(asked[1] && asked[3] && asked[9]);
	assert_false(asked[2]);
	rnode_free(o);
}

/* The fence rule, on the dataplane side. */
static void
fenced_dataplane_neither_appends_nor_truncates_nor_acknowledges(void **state)
{
	const uint32_t mine[2] = {1, 2};
	struct rnode *n = rnode(2, 3, true);
	struct kr_msg m = {.api = KR_API_FETCH_RESP};

	(void)state;
	fill_log(n, mine, 2, 3);
	cmd(n, KR_CMD_FOLLOWER, 2, 1, 0);
	uint32_t corr = n->r.fetch.corr;

	clear(n);
	cmd(n, KR_CMD_FENCE, 3, KR_NODE_NONE, 17);
	const struct kr_event *ack = find_event(n, KR_EV_FENCE_ACK);

	assert_non_null(ack);
	assert_int_equal(ack->seq, 17);
	assert_int_equal(ack->epoch, 3);
	assert_int_equal(ack->last_epoch, 2);
	assert_int_equal(ack->offset, 6);
	/* the reply to the Fetch sent before the fence: neither truncation nor append */
	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = n->r.cfg.incarnation,
						.frame_count = 1,
						.leader_id = 1,
						.epoch = 2,
						.diverging = 1,
						.diverging_epoch = 1,
						.diverging_end_offset = 3};
	packet(n, 1, corr, &m);
	assert_int_equal(kr_log_end(n->log), 6);
	append_req(n, 1, 0, 0, 1, 8);
	assert_int_equal(kr_log_end(n->log), 6);
	assert_int_equal(find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp.error,
			 KR_ERR_NOT_LEADER_OR_FOLLOWER);
	for (int i = 0; i < 10; i++)
		tick(n, RETRY);
	assert_int_equal(count_sends(n, KR_API_FETCH), 0); /* no offsets reported */
	rnode_free(n);
}

static void
flush_reports_from_before_a_truncation_are_void(void **state)
{
	const uint32_t mine[2] = {1, 2};
	struct rnode *f = rnode(2, 3, false);
	struct kr_msg m = {.api = KR_API_FETCH_RESP};
	uint32_t gen;

	(void)state;
	fill_log(f, mine, 2, 3); /* [0,6) */
	f->r.durable = 0;
	cmd(f, KR_CMD_FOLLOWER, 3, 1, 0);
	gen = f->r.gen;
	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = f->r.cfg.incarnation,
						.frame_count = 1,
						.leader_id = 1,
						.epoch = 3,
						.diverging = 1,
						.diverging_epoch = 1,
						.diverging_end_offset = 3};
	packet(f, 1, f->r.fetch.corr, &m);
	assert_int_equal(kr_log_end(f->log), 3);
	kr_repl_on_durable(&f->r, 6, gen, f->now, &f->out); /* flushed the old suffix */
	assert_int_equal(f->r.durable, 0);
	assert_int_equal(f->r.stats.drops[KR_RP_DROP_STALE_DURABLE], 1);
	kr_repl_on_durable(&f->r, 3, f->r.gen, f->now, &f->out);
	assert_int_equal(f->r.durable, 3);
	rnode_free(f);
}

static void
follower_tells_the_leader_at_once_when_its_durable_offset_moves(void **state)
{
	struct rnode *l = rnode(1, 3, true), *f = rnode(2, 3, false);

	(void)state;
	cmd(l, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	cmd(f, KR_CMD_FOLLOWER, 1, 1, 0);
	deliver(f, l);
	deliver(l, f); /* the LeaderChange record: appended, not durable */
	assert_int_equal(kr_log_end(f->log), 1);
	const struct kr_fetch_req *q = &find_send(f, KR_API_FETCH, 0)->u.send.msg.u.fetch;

	assert_int_equal(q->durable_offset, 0);
	deliver(f, l); /* parked at the leader */
	clear(f);
	flush_all(f); /* no: the flush request was delivered away; report directly */
	kr_repl_on_durable(&f->r, 1, f->r.gen, f->now, &f->out);
	q = &find_send(f, KR_API_FETCH, 0)->u.send.msg.u.fetch;
	assert_int_equal(q->durable_offset, 1);
	deliver(f, l);
	assert_int_equal(l->r.hw, 1);
	rnode_free(l);
	rnode_free(f);
}

static void
follower_restarts_at_the_leaders_log_start_when_it_fell_behind_retention(void **state)
{
	struct rnode *f = rnode(2, 3, true);
	struct kr_msg m = {.api = KR_API_FETCH_RESP};

	(void)state;
	cmd(f, KR_CMD_FOLLOWER, 3, 1, 0);
	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = f->r.cfg.incarnation,
						.error = KR_ERR_OFFSET_OUT_OF_RANGE,
						.frame_count = 1,
						.leader_id = 1,
						.epoch = 3,
						.log_start_offset = 500};
	clear(f);
	packet(f, 1, f->r.fetch.corr, &m);
	assert_int_equal(kr_log_start(f->log), 500);
	assert_int_equal(kr_log_end(f->log), 500);
	assert_int_equal(find_send(f, KR_API_FETCH, 0)->u.send.msg.u.fetch.fetch_offset, 500);
	rnode_free(f);
}

/* A follower whose log ends exactly at the leader's log start with a last epoch the leader
 * cannot compare is told OFFSET_OUT_OF_RANGE and starts over there (its log emptied, not
 * left looping at the start); the epoch of the record before the start then comes from
 * the leader's first answer, so the records after it append. */
static void
a_follower_at_the_leaders_log_start_starts_over_and_takes_its_epoch(void **state)
{
	struct rnode *f = rnode(2, 3, true);
	struct kr_msg m = {.api = KR_API_FETCH_RESP};
	uint8_t b[1024];
	uint32_t n;

	(void)state;
	for (uint64_t i = 0; i < 500; i += 100) { /* its log: [0, 500) of epoch 1 */
		n = smp_batch(b, sizeof(b), i, 1, 100, 1);
		assert_int_equal(kr_log_append(f->log, b, n), 0);
	}
	cmd(f, KR_CMD_FOLLOWER, 3, 1, 0);
	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = f->r.cfg.incarnation,
						.error = KR_ERR_OFFSET_OUT_OF_RANGE,
						.frame_count = 1,
						.leader_id = 1,
						.epoch = 3,
						.log_start_offset = 500};
	clear(f);
	packet(f, 1, f->r.fetch.corr, &m);
	assert_int_equal(kr_log_start(f->log), 500);
	assert_int_equal(kr_log_end(f->log), 500);
	assert_int_equal(kr_log_last_epoch(f->log), 0);
	const struct kr_fetch_req *q = &find_send(f, KR_API_FETCH, 0)->u.send.msg.u.fetch;

	assert_int_equal(q->fetch_offset, 500);
	assert_int_equal(q->last_fetched_epoch, 0);
	/* the leader's records from 500, after a record of epoch 2 */
	n = smp_batch(b, sizeof(b), 500, 3, 2, 1);
	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = f->r.cfg.incarnation,
						.frame_count = 1,
						.leader_id = 1,
						.epoch = 3,
						.log_start_offset = 500,
						.high_watermark = 502,
						.base_offset = 500,
						.prev_epoch = 2,
						.records = b,
						.records_len = n};
	clear(f);
	packet(f, 1, f->r.fetch.corr, &m);
	assert_int_equal(kr_log_end(f->log), 502);
	assert_int_equal(kr_log_base_epoch(f->log), 2);
	assert_int_equal(f->r.hw, 502);
	rnode_free(f);
}

/* An observer that has not found the leader yet and hears OFFSET_OUT_OF_RANGE from it learns
 * who leads (the control plane then makes it a follower, which starts over at the start). */
static void
an_observer_told_out_of_range_learns_the_leader(void **state)
{
	struct rnode *o = rnode(9, 3, true);
	struct kr_msg m = {.api = KR_API_FETCH_RESP};

	(void)state;
	cmd(o, KR_CMD_UNATTACHED, 0, KR_NODE_NONE, 0);
	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = o->r.cfg.incarnation,
						.error = KR_ERR_OFFSET_OUT_OF_RANGE,
						.frame_count = 1,
						.leader_id = 1,
						.epoch = 4,
						.log_start_offset = 700};
	clear(o);
	packet(o, 1, o->r.fetch.corr, &m);
	assert_non_null(find_event(o, KR_EV_EPOCH_SEEN));
	assert_int_equal(find_event(o, KR_EV_EPOCH_SEEN)->epoch, 4);
	assert_int_equal(find_event(o, KR_EV_EPOCH_SEEN)->node, 1);
	rnode_free(o);
}

static void
caught_up_is_reported_once_at_the_first_hw_and_after_any_repair(void **state)
{
	struct rnode *l = rnode(1, 3, true), *f = rnode_full(2, 3, true, 1024, 4);

	(void)state;
	cmd(l, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	for (int i = 0; i < 5; i++)
		append_req(l, (uint32_t)i, 0, 0, 1, 4);
	l->r.hw = 3;
	l->r.cfg.fetch_max_bytes = 100;
	l->r.cfg.frame_records_max = 100;
	cmd(f, KR_CMD_FOLLOWER, 1, 1, 0);
	/* while repairing, the durable offset is withheld */
	assert_int_equal(find_send(f, KR_API_FETCH, 0)->u.send.msg.u.fetch.durable_offset,
			 KR_OFFSET_NONE);
	int caught_at = -1;

	for (int i = 0; i < 8; i++) {
		deliver(f, l);
		clear(f);
		deliver(l, f);
		if (find_event(f, KR_EV_CAUGHT_UP)) {
			assert_int_equal(caught_at, -1);
			caught_at = (int)kr_log_end(f->log);
			assert_int_equal(find_event(f, KR_EV_CAUGHT_UP)->offset, 3);
		}
	}
	assert_int_equal(caught_at, 4); /* the HW was 3, but the repair reached 4 */
	clear(f);
	tick(f, RETRY); /* its last Fetch is parked at the leader: send it again */
	assert_int_equal(find_send(f, KR_API_FETCH, 0)->u.send.msg.u.fetch.durable_offset,
			 kr_log_end(f->log));
	rnode_free(l);
	rnode_free(f);
}

/* Found by kraftsim's storage model: a damaged follower (disk mode) that refetched to its
 * repair target but had not flushed it said it had caught up; its repair marker went,
 * a crash lost the refetched records, and it voted again without them. It may say so
 * only once it holds them durably. */
static void
a_repair_ends_only_once_the_refetched_records_are_durable(void **state)
{
	struct rnode *l = rnode(1, 3, true), *f = rnode_full(2, 3, false, 1024, 4);

	(void)state;
	cmd(l, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	for (int i = 0; i < 5; i++)
		append_req(l, (uint32_t)i, 0, 0, 1, 4);
	l->r.hw = 3;
	cmd(f, KR_CMD_FOLLOWER, 1, 1, 0);
	for (int i = 0; i < 4; i++) {
		deliver(f, l);
		deliver(l, f);
	}
	assert_int_equal(kr_log_end(f->log), 6);
	assert_null(find_event(f, KR_EV_CAUGHT_UP)); /* appended, not flushed */
	kr_repl_on_durable(&f->r, 3, f->r.gen, f->now, &f->out);
	assert_null(find_event(f, KR_EV_CAUGHT_UP)); /* the HW, not the repair target */
	kr_repl_on_durable(&f->r, 4, f->r.gen, f->now, &f->out);
	assert_non_null(find_event(f, KR_EV_CAUGHT_UP));
	assert_int_equal(find_event(f, KR_EV_CAUGHT_UP)->offset, 3);
	rnode_free(l);
	rnode_free(f);
}

static void
repair_target_beyond_the_leaders_log_ends_once_the_logs_are_equal(void **state)
{
	/* recovery bounded what this node had from above by 2^40 (a crafted record, say);
	 * the leader holds 5 records: once the follower has them all, the repair is over */
	struct rnode *l = rnode(1, 3, true), *f = rnode_full(2, 3, true, 1024, 1ull << 40);
	bool caught = false;

	(void)state;
	cmd(l, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	for (int i = 0; i < 4; i++)
		append_req(l, (uint32_t)i, 0, 0, 1, 4);
	l->r.hw = 5;
	cmd(f, KR_CMD_FOLLOWER, 1, 1, 0);
	for (int i = 0; i < 6 && !caught; i++) {
		deliver(f, l);
		clear(f);
		tick(l, WAIT); /* a parked Fetch is answered empty */
		deliver(l, f);
		caught = find_event(f, KR_EV_CAUGHT_UP) != NULL;
	}
	assert_true(caught);
	assert_int_equal(kr_log_end(f->log), 5);
	clear(f);
	tick(f, RETRY);
	assert_int_equal(find_send(f, KR_API_FETCH, 0)->u.send.msg.u.fetch.durable_offset, 5);
	rnode_free(l);
	rnode_free(f);
}

static void
reads_return_committed_records_only_and_wait_for_the_next_commit(void **state)
{
	struct rnode *n = rnode(1, 3, true);
	struct kr_msg rq = {.api = KR_API_READ};

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	append_req(n, 1, 0, 0, 2, 8);
	append_req(n, 2, 0, 0, 2, 8);
	fetch(n, 2, 1, 1, 3, 1, 3, 0); /* [0,3) committed, [3,5) not */
	assert_int_equal(n->r.hw, 3);
	clear(n);
	rq.u.read = (struct kr_read_req){.from_offset = 0, .max_bytes = 4096};
	packet(n, -1, 5, &rq);
	const struct kr_read_resp *rr = &find_send(n, KR_API_READ_RESP, 0)->u.send.msg.u.read_resp;

	assert_int_equal(rr->error, KR_ERR_NONE);
	assert_int_equal(rr->high_watermark, 3);
	struct kr_batch_hdr h;
	uint32_t pos = 0;
	uint64_t end = 0;

	while (pos < rr->records_len) {
		kr_batch_hdr_get(rr->records + pos, &h);
		end = h.base_offset + h.record_count;
		pos += h.length;
	}
	assert_int_equal(end, 3);
	clear(n);
	rq.u.read = (struct kr_read_req){.from_offset = 3, .max_bytes = 4096, .max_wait_us = WAIT};
	packet(n, -1, 6, &rq);
	assert_null(find_send(n, KR_API_READ_RESP, 0));
	fetch(n, 2, 2, 1, 5, 1, 5, 0);
	rr = &find_send(n, KR_API_READ_RESP, 0)->u.send.msg.u.read_resp;
	assert_int_equal(rr->base_offset, 3);
	assert_true(rr->records_len > 0);
	rnode_free(n);
}

static void
appends_beyond_the_batch_limit_the_memory_cap_or_the_pending_bound_are_refused(void **state)
{
	struct rnode *n = rnode_full(1, 3, true, 256, 0);

	(void)state;
	n->r.cfg.batch_bytes_max = 400; /* message.max.bytes; frames (256) are no bound */
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	clear(n);
	append_req(n, 1, 0, 0, 1, 300); /* 48 + 4 + 300 bytes: taken (answered at commit) */
	assert_null(find_send(n, KR_API_APPEND_RESP, 0));
	assert_int_equal(kr_log_end(n->log), 2); /* after the leader's own record */
	clear(n);
	append_req(n, 1, 0, 0, 1, 349); /* 401 bytes */
	assert_int_equal(find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp.error,
			 KR_ERR_MESSAGE_TOO_LARGE);
	n->r.cfg.batch_bytes_max = KR_BATCH_BYTES_MAX; /* the format's limit */
	clear(n);
	append_req(n, 1, 0, 0, 1, KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES - 3);
	assert_int_equal(find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp.error,
			 KR_ERR_MESSAGE_TOO_LARGE);
	for (int i = 0; i < KR_PENDING_APPENDS_MAX; i++) {
		clear(n);
		append_req(n, 2, 0, 0, 1, 1);
	}
	clear(n);
	append_req(n, 3, 0, 0, 1, 1);
	assert_int_equal(find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp.error,
			 KR_ERR_BUSY);
	rnode_free(n);
}

static void
a_full_log_refuses_appends_with_a_clear_error(void **state)
{
	struct rnode *n = rnode(1, 1, true);

	(void)state;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	for (int i = 0; i < 2000 && !find_send(n, KR_API_APPEND_RESP, 0); i++) {
		clear(n);
		append_req(n, 1, 0, 0, 1, 900);
		if (find_send(n, KR_API_APPEND_RESP, 0) &&
		    find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp.error ==
			    KR_ERR_NONE)
			clear(n);
	}
	assert_int_equal(find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp.error,
			 KR_ERR_LOG_FULL);
	rnode_free(n);
}

/* How the cores were checked to be pure on the packet path: this, and
 * scripts/check-purity.sh on their object files. */
static void
steady_replication_reads_no_clock_allocates_nothing_and_does_no_io(void **state)
{
	struct rnode *l = rnode(1, 3, false), *f = rnode(2, 3, false);

	(void)state;
	cmd(l, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	cmd(f, KR_CMD_FOLLOWER, 1, 1, 0);
	for (int round = 0; round < 300; round++) {
		armed = round >= 20; /* after the warm-up: segments and tables exist */
		append_req(l, (uint32_t)round, 9, (uint64_t)round, 1 + round % 3, 16);
		for (int k = 0; k < 3; k++) {
			flush_all(l);
			deliver(l, f); /* the parked Fetch answered with the new batch */
			flush_all(f);
			deliver(f, l); /* its durable offset: the HW moves, the append commits */
		}
		tick(l, MS);
		tick(f, MS);
		deliver(f, l);
		clear(l);
		clear(f);
	}
	armed = false;
	assert_int_equal(forbidden_calls, 0);
	assert_true(l->r.stats.commits >= 280);
	assert_int_equal(kr_log_end(f->log), kr_log_end(l->log));
	/* and the counter does count: a log that must grow a segment allocates */
	armed = true;
	for (int i = 0; i < 40; i++)
		append_req(l, 1, 0, 0, 1, 900);
	armed = false;
	assert_true(forbidden_calls > 0);
	rnode_free(l);
	rnode_free(f);
}

/* ---- the voter set in the log ---- */

/* A voters control batch at base in epoch holding s. */
static uint32_t
voters_batch(uint8_t *b, size_t cap, uint64_t base, uint32_t epoch, const struct kr_voter_set *s)
{
	uint8_t rec[KR_RECORD_HDR_BYTES + KR_VOTERS_RECORD_MAX];
	struct kr_batch_hdr h = {.base_offset = base,
				 .epoch = epoch,
				 .attributes = kr_control_attributes(KR_CONTROL_VOTERS)};
	int n = kr_voters_record_encode(s, rec + KR_RECORD_HDR_BYTES, sizeof(rec) - 4);

	assert_true(n > 0);
	kr_put_le32(rec, (uint32_t)n);
	n = kr_batch_build(b, cap, &h, rec, KR_RECORD_HDR_BYTES + (uint32_t)n, 1);
	assert_true(n > 0);
	return (uint32_t)n;
}

/* The skip-th KR_EV_VOTERS in n's output: its offset, and its set into *s. */
static uint64_t
voters_event(const struct rnode *n, int skip, struct kr_voter_set *s)
{
	for (uint32_t i = 0; i < n->out.n; i++) {
		const struct kr_event *ev = &n->out.a[i].u.ev;

		if (n->out.a[i].type != KR_RP_EVENT || ev->type != KR_EV_VOTERS || skip-- > 0)
			continue;
		memset(s, 0, sizeof(*s));
		if (ev->frame_len > 0)
			assert_int_equal(kr_voters_record_decode(ev->frame, ev->frame_len, s), 0);
		return ev->offset;
	}
	fail_msg("no voters event %d", skip);
	return 0;
}

static int
count_events(const struct rnode *n, uint8_t type)
{
	int c = 0;

	for (uint32_t i = 0; i < n->out.n; i++)
		c += n->out.a[i].type == KR_RP_EVENT && n->out.a[i].u.ev.type == type;
	return c;
}

/* Start n's core again on its log (a restart: the history is read from the log). */
static int
restart_core(struct rnode *n)
{
	struct kr_repl_config c = n->r.cfg;

	clear(n);
	return kr_repl_init(&n->r, &c, n->log);
}

static void
first_leader_writes_the_bootstrap_set_and_a_follower_takes_it_on_append(void **state)
{
	struct kr_voter_set boot = boot_set(3), s;
	struct rnode *l, *f;

	(void)state;
	dyn = true;
	keyed_own = 1;
	l = rnode(1, 3, true);
	keyed_own = 2;
	f = rnode(2, 3, true);
	dyn = false;
	cmd(l, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	/* LeaderChange at 0, the bootstrap voters record at 1 */
	assert_int_equal(kr_log_end(l->log), 2);
	assert_int_equal(count_events(l, KR_EV_VOTERS), 2);
	assert_true(voters_event(l, 0, &s) == KR_OFFSET_NONE); /* what the start read */
	assert_true(kr_voters_equal(&s, &boot));
	assert_int_equal(voters_event(l, 1, &s), 1);
	assert_true(kr_voters_equal(&s, &boot));
	assert_int_equal(kr_vh_latest_offset(&l->r.voters), 1);
	/* the follower takes it with the records, and says so once */
	cmd(f, KR_CMD_FOLLOWER, 1, 1, 0);
	clear(l);
	deliver(f, l);
	clear(f);
	deliver(l, f);
	assert_int_equal(kr_log_end(f->log), 2);
	assert_int_equal(count_events(f, KR_EV_VOTERS), 1);
	assert_int_equal(voters_event(f, 0, &s), 1);
	assert_true(kr_voters_equal(&s, &boot));
	/* a later leader finds it in its log and writes no other; a restart reads it back */
	clear(l);
	cmd(l, KR_CMD_FENCE, 2, KR_NODE_NONE, 1);
	cmd(l, KR_CMD_LEADER, 2, KR_NODE_NONE, 0);
	assert_int_equal(kr_log_end(l->log), 3);
	assert_int_equal(count_events(l, KR_EV_VOTERS), 0);
	assert_int_equal(restart_core(f), 0);
	assert_int_equal(kr_vh_latest_offset(&f->r.voters), 1);
	cmd(f, KR_CMD_FENCE, 2, KR_NODE_NONE, 1);
	assert_int_equal(voters_event(f, 0, &s), 1);
	assert_int_equal(find_event(f, KR_EV_FENCE_ACK)->voters_seq, 1);
	rnode_free(l);
	rnode_free(f);
}

static void
a_truncation_undoes_the_voters_record_it_cuts(void **state)
{
	const uint32_t one[1] = {1};
	uint8_t b[KR_BATCH_BYTES_MAX];
	struct kr_voter_set boot = boot_set(3), s;
	struct rnode *l, *f;

	(void)state;
	dyn = true;
	keyed_own = 2;
	l = rnode(2, 3, true);
	keyed_own = 3;
	f = rnode(3, 3, true);
	dyn = false;
	/* both hold epoch 1's first record; only the follower its voters record at 1 */
	fill_log(l, one, 1, 1);
	fill_log(f, one, 1, 1);
	assert_int_equal(kr_log_append(f->log, b, voters_batch(b, sizeof(b), 1, 1, &boot)), 0);
	assert_int_equal(restart_core(f), 0);
	assert_int_equal(kr_vh_latest_offset(&f->r.voters), 1);
	/* the leader of epoch 2 writes its own at 2; the follower diverges at 1 */
	cmd(l, KR_CMD_LEADER, 2, KR_NODE_NONE, 0);
	assert_int_equal(kr_log_end(l->log), 3);
	cmd(f, KR_CMD_FOLLOWER, 2, 2, 0);
	clear(l);
	deliver(f, l);
	clear(f);
	deliver(l, f); /* diverging: truncate to 1 */
	assert_int_equal(kr_log_end(f->log), 1);
	assert_true(voters_event(f, 0, &s) == KR_OFFSET_NONE);
	assert_true(kr_voters_equal(&s, &boot)); /* back to the bootstrap set */
	assert_int_equal(f->r.stats.voters_undone, 1);
	clear(l);
	deliver(f, l);
	clear(f);
	deliver(l, f);
	assert_int_equal(kr_log_end(f->log), 3);
	assert_int_equal(voters_event(f, 0, &s), 2);
	rnode_free(l);
	rnode_free(f);
}

static void
a_voters_record_changing_two_voters_is_refused_with_its_batch(void **state)
{
	struct rnode *l, *f;

	(void)state;
	dyn = true;
	keyed_own = 1;
	l = rnode(1, 5, true); /* writes {1..5} */
	keyed_own = 2;
	f = rnode(2, 3, true); /* holds {1,2,3}: two voters away */
	dyn = false;
	cmd(l, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	cmd(f, KR_CMD_FOLLOWER, 1, 1, 0);
	clear(l);
	deliver(f, l);
	clear(f);
	deliver(l, f);
	/* the LeaderChange record went in, the voters batch did not */
	assert_int_equal(kr_log_end(f->log), 1);
	assert_int_equal(f->r.stats.drops[KR_RP_DROP_BAD_BATCH], 1);
	assert_int_equal(count_events(f, KR_EV_VOTERS), 0);
	assert_true(kr_vh_latest_offset(&f->r.voters) == KR_OFFSET_NONE);
	rnode_free(l);
	rnode_free(f);
}

static void
a_log_with_a_bad_voters_record_is_refused_at_start(void **state)
{
	uint8_t b[KR_BATCH_BYTES_MAX];
	struct kr_voter_set s = boot_set(3);
	struct rnode *n;
	uint32_t len;

	(void)state;
	dyn = true;
	keyed_own = 1;
	n = rnode(1, 3, true);
	dyn = false;
	assert_int_equal(kr_log_append(n->log, b, voters_batch(b, sizeof(b), 0, 1, &s)), 0);
	assert_int_equal(restart_core(n), 0);
	/* then a set two voters away */
	s.n = 1;
	assert_int_equal(kr_log_append(n->log, b, voters_batch(b, sizeof(b), 1, 1, &s)), 0);
	assert_int_equal(restart_core(n), -EBADMSG);
	assert_int_equal(kr_log_truncate(n->log, 1), 1);
	/* a record whose count says more voters than it holds (its CRC is right) */
	s = boot_set(3);
	s.n = 2;
	len = voters_batch(b, sizeof(b), 1, 1, &s);
	b[KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES + 1] = 3;
	kr_batch_restamp(b, 1, 1); /* seals it again */
	assert_int_equal(kr_log_append(n->log, b, len), 0);
	assert_int_equal(restart_core(n), -EBADMSG);
	rnode_free(n);
}

static void
a_leader_renews_the_set_only_once_the_last_record_committed(void **state)
{
	struct kr_voter_set boot = boot_set(1), s;
	struct rnode *n, *st;

	(void)state;
	dyn = true;
	keyed_own = 1;
	n = rnode(1, 1, false);
	dyn = false;
	assert_int_equal(kr_repl_voters_renew(&n->r, n->now, &n->out), 0); /* not leading */
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	assert_int_equal(kr_log_end(n->log), 2);
	clear(n);
	assert_int_equal(kr_repl_voters_renew(&n->r, n->now, &n->out), 0); /* not committed */
	kr_repl_on_durable(&n->r, 2, n->r.gen, n->now, &n->out);
	assert_int_equal(n->r.hw, 2);
	clear(n);
	assert_int_equal(kr_repl_voters_renew(&n->r, n->now, &n->out), 1);
	assert_int_equal(kr_log_end(n->log), 3);
	assert_int_equal(voters_event(n, 0, &s), 2);
	assert_true(kr_voters_equal(&s, &boot));
	assert_int_equal(kr_repl_voters_renew(&n->r, n->now, &n->out), 0); /* that one first */
	kr_repl_on_durable(&n->r, 3, n->r.gen, n->now, &n->out);
	assert_int_equal(n->r.hw, 3);
	/* a static cluster has nothing to renew */
	st = rnode(1, 1, true);
	cmd(st, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	assert_int_equal(kr_repl_voters_renew(&st->r, st->now, &st->out), 0);
	rnode_free(st);
	rnode_free(n);
}

/* A leader (node 1 of the bootstrap set {1,2,3}) whose log holds a voters record of s at
 * offset 0, leading epoch 1 with the LeaderChange record at 1: the HW needs a majority of
 * s. Fetches from voter k come from directory k. */
static struct rnode *
leader_under(const struct kr_voter_set *s)
{
	uint8_t b[KR_BATCH_BYTES_MAX];
	struct rnode *n;

	dyn = true;
	keyed_own = 1;
	n = rnode(1, 3, true);
	dyn = false;
	assert_int_equal(kr_log_append(n->log, b, voters_batch(b, sizeof(b), 0, 1, s)), 0);
	assert_int_equal(restart_core(n), 0);
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	assert_int_equal(kr_log_end(n->log), 2); /* no bootstrap record: the log has a set */
	return n;
}

static void
the_hw_counts_a_majority_of_the_set_in_force(void **state)
{
	struct kr_voter_set s = boot_set(4);
	struct rnode *n;

	(void)state;
	/* grown to four: the leader and one other are not enough */
	n = leader_under(&s);
	fetch_dir(n, 2, 2, 1, 1, 2, 1, 1);
	assert_true(n->r.hw == KR_OFFSET_NONE);
	fetch_dir(n, 4, 4, 1, 1, 2, 1, 1);
	assert_int_equal(n->r.hw, 2);
	rnode_free(n);
	/* shrunk to {1,2}: the leader and node 2 are */
	s = boot_set(2);
	n = leader_under(&s);
	fetch_dir(n, 3, 3, 1, 1, 2, 1, 1); /* no longer a voter */
	assert_true(n->r.hw == KR_OFFSET_NONE);
	fetch_dir(n, 2, 2, 1, 1, 2, 1, 1);
	assert_int_equal(n->r.hw, 2);
	rnode_free(n);
	/* the leader removed itself ({2,3}): it leads on, uncounted: both others needed */
	s = boot_set(3);
	s.v[0] = s.v[2];
	s.n = 2;
	n = leader_under(&s);
	fetch_dir(n, 2, 2, 1, 1, 2, 1, 1);
	assert_true(n->r.hw == KR_OFFSET_NONE);
	fetch_dir(n, 3, 3, 1, 1, 2, 1, 1);
	assert_int_equal(n->r.hw, 2);
	rnode_free(n);
	/* {1,2} whose voter 1 is another directory of this node's id (its disk replaced, run
	 * as leader anyway): its own log counts for no voter, so node 2 alone commits
	 * nothing */
	{
		uint8_t b[KR_BATCH_BYTES_MAX];

		s = boot_set(2);
		dyn = true;
		n = rnode(1, 2, true);
		dyn = false;
		/* node 1's directory is 9; the set's voter 1 is directory 1 */
		memset(n->r.cfg.directory_id, 9, KR_UUID_BYTES);
		n->r.cfg.joining = true;
		assert_int_equal(kr_log_append(n->log, b, voters_batch(b, sizeof(b), 0, 1, &s)), 0);
		assert_int_equal(restart_core(n), 0);
		cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
		fetch_dir(n, 2, 2, 1, 1, kr_log_end(n->log), 1, 1);
		assert_true(n->r.hw == KR_OFFSET_NONE);
		rnode_free(n);
	}
}

/* A dynamic leader of {1..n} in memory mode whose own epoch committed: node 2 fetched
 * its log end. */
static struct rnode *
committed_leader(int n_voters)
{
	struct rnode *n;

	dyn = true;
	keyed_own = 1;
	n = rnode(1, n_voters, true);
	dyn = false;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	if (n_voters > 1)
		fetch_dir(n, 2, 2, 1, 1, kr_log_end(n->log), 1, 1);
	assert_int_equal(n->r.hw, kr_log_end(n->log));
	clear(n);
	return n;
}

static struct kr_voter
voter_of(int32_t id)
{
	return boot_set(id).v[id - 1];
}

static void
voter_changes_wait_for_the_leaders_commit_and_go_one_at_a_time(void **state)
{
	struct kr_voter v3 = voter_of(3);
	struct rnode *n;
	uint64_t off = 0;

	(void)state;
	dyn = true;
	keyed_own = 1;
	n = rnode(1, 3, true);
	dyn = false;
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	/* nothing of its epoch committed yet: earlier leaders may not be fenced */
	assert_int_equal(
		kr_repl_voters_change(&n->r, KR_VOTERS_OP_REMOVE, &v3, n->now, &n->out, &off),
		KR_ERR_REQUEST_TIMED_OUT);
	fetch_dir(n, 2, 2, 1, 1, kr_log_end(n->log), 1, 1);
	assert_int_equal(
		kr_repl_voters_change(&n->r, KR_VOTERS_OP_REMOVE, &v3, n->now, &n->out, &off),
		KR_ERR_NONE);
	assert_int_equal(off, kr_log_end(n->log) - 1);
	assert_int_equal(kr_vh_latest(&n->r.voters)->n, 2);
	/* in force at once: node 3, caught up but no longer counted, commits nothing, and
	 * taking it back waits for this change to commit */
	fetch_dir(n, 3, 3, 2, 1, kr_log_end(n->log), 1, 1);
	assert_true(n->r.hw < kr_log_end(n->log));
	assert_int_equal(kr_repl_voters_change(&n->r, KR_VOTERS_OP_ADD, &v3, n->now, &n->out, &off),
			 KR_ERR_REQUEST_TIMED_OUT);
	assert_int_equal(kr_vh_latest(&n->r.voters)->n, 2);
	/* {1,2} commits it: node 2 with the leader */
	fetch_dir(n, 2, 2, 3, 1, kr_log_end(n->log), 1, 1);
	assert_int_equal(n->r.hw, kr_log_end(n->log));
	assert_int_equal(kr_repl_voters_change(&n->r, KR_VOTERS_OP_ADD, &v3, n->now, &n->out, &off),
			 KR_ERR_NONE);
	assert_int_equal(kr_vh_latest(&n->r.voters)->n, 3);
	rnode_free(n);
}

static void
voter_changes_are_refused_with_kafkas_errors(void **state)
{
	struct kr_voter v = voter_of(2), v4 = voter_of(4);
	struct rnode *n = committed_leader(3), *st, *one;
	uint64_t off = 0;

	(void)state;
#define CHANGE(node, op, voter) \
	kr_repl_voters_change(&(node)->r, op, voter, (node)->now, &(node)->out, &off)
	/* node 2's id under another directory: a voter already */
	v.dir[0] ^= 1;
	assert_int_equal(CHANGE(n, KR_VOTERS_OP_ADD, &v), KR_ERR_DUPLICATE_VOTER);
	assert_int_equal(CHANGE(n, KR_VOTERS_OP_REMOVE, &v), KR_ERR_VOTER_NOT_FOUND);
	assert_int_equal(CHANGE(n, KR_VOTERS_OP_UPDATE, &v), KR_ERR_VOTER_NOT_FOUND);
	/* node 4 never fetched: not a caught-up observer */
	assert_int_equal(CHANGE(n, KR_VOTERS_OP_ADD, &v4), KR_ERR_REQUEST_TIMED_OUT);
	fetch_dir(n, 4, 4, 1, 1, 0, 0, 1); /* fetching, far behind */
	assert_int_equal(CHANGE(n, KR_VOTERS_OP_ADD, &v4), KR_ERR_REQUEST_TIMED_OUT);
	/* an endpoint the set says already; a directory id all zero */
	v = voter_of(2);
	assert_int_equal(CHANGE(n, KR_VOTERS_OP_UPDATE, &v), KR_ERR_INVALID_REQUEST);
	memset(v.dir, 0, KR_UUID_BYTES);
	assert_int_equal(CHANGE(n, KR_VOTERS_OP_ADD, &v), KR_ERR_INVALID_REQUEST);
	assert_int_equal(kr_log_end(n->log), 2); /* nothing appended by any of them */
	v = voter_of(2);
	v.ep.port = 7000;
	assert_int_equal(CHANGE(n, KR_VOTERS_OP_UPDATE, &v), KR_ERR_NONE);
	assert_int_equal(kr_vh_latest(&n->r.voters)->v[1].ep.port, 7000);
	/* the last voter stays */
	one = committed_leader(1);
	v = voter_of(1);
	assert_int_equal(CHANGE(one, KR_VOTERS_OP_REMOVE, &v), KR_ERR_VOTER_NOT_FOUND);
	/* a follower, a static cluster */
	st = rnode(1, 3, true);
	assert_int_equal(CHANGE(st, KR_VOTERS_OP_REMOVE, &v), KR_ERR_NOT_LEADER_OR_FOLLOWER);
	cmd(st, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	assert_int_equal(CHANGE(st, KR_VOTERS_OP_REMOVE, &v), KR_ERR_UNSUPPORTED_VERSION);
#undef CHANGE
	rnode_free(st);
	rnode_free(one);
	rnode_free(n);
}

static void
a_leader_that_removed_itself_leads_until_the_change_commits(void **state)
{
	struct kr_voter v1 = voter_of(1), v2 = voter_of(2);
	struct rnode *n = committed_leader(3);
	uint64_t off = 0, end;

	(void)state;
	assert_int_equal(
		kr_repl_voters_change(&n->r, KR_VOTERS_OP_REMOVE, &v1, n->now, &n->out, &off),
		KR_ERR_NONE);
	assert_int_equal(n->r.role, KR_REPL_LEADER);
	/* its removal, not yet known committed: it may still run (election.h left_pending) */
	assert_int_equal(find_event(n, KR_EV_VOTERS)->left_pending, 1);
	/* describe names the pending change and its voter, listed with the observers now */
	{
		struct kr_describe_resp d;

		kr_repl_describe(&n->r, n->now, &d);
		assert_int_equal(d.pending, KR_VOTERS_OP_REMOVE);
		assert_int_equal(d.n_voters, 2);
		for (unsigned i = 0; i < (unsigned)d.n_voters + d.n_observers; i++)
			assert_int_equal(d.replicas[i].flags != 0,
					 d.replicas[i].replica_id == 1 && i >= d.n_voters);
	}
	clear(n);
	/* {2,3}: the leader does not count, so node 2 alone commits nothing */
	fetch_dir(n, 2, 2, 2, 1, kr_log_end(n->log), 1, 1);
	assert_true(n->r.hw <= off);
	assert_null(find_event(n, KR_EV_LEFT_VOTERS));
	assert_null(find_event(n, KR_EV_VOTERS));
	append_req(n, 9, 0, 0, 1, 4); /* and it still takes appends */
	fetch_dir(n, 3, 3, 2, 1, off + 1, 1, 1);
	assert_int_equal(n->r.hw, off + 1);
	assert_int_equal(count_events(n, KR_EV_LEFT_VOTERS), 1);
	assert_int_equal(find_event(n, KR_EV_LEFT_VOTERS)->offset, off);
	/* and the set once more, its removal now known committed: it runs no more */
	assert_int_equal(find_event(n, KR_EV_VOTERS)->left_pending, 0);
	{
		struct kr_describe_resp d;

		kr_repl_describe(&n->r, n->now, &d);
		assert_int_equal(d.pending, 0); /* committed: nothing pending */
	}
	assert_int_equal(find_event(n, KR_EV_VOTERS)->offset, off);
	fetch_dir(n, 3, 3, 3, 1, kr_log_end(n->log), 1, 1);
	fetch_dir(n, 2, 2, 3, 1, kr_log_end(n->log), 1, 1);
	assert_int_equal(count_events(n, KR_EV_LEFT_VOTERS), 1); /* once */
	/* from then on it takes nothing more while its control plane resigns: no append,
	 * no change, no renewal of the set */
	end = kr_log_end(n->log);
	clear(n);
	append_req(n, 10, 0, 0, 1, 4);
	assert_int_equal(find_send(n, KR_API_APPEND_RESP, 0)->u.send.msg.u.append_resp.error,
			 KR_ERR_NOT_LEADER_OR_FOLLOWER);
	v2.ep.port = 7001;
	assert_int_equal(
		kr_repl_voters_change(&n->r, KR_VOTERS_OP_UPDATE, &v2, n->now, &n->out, &off),
		KR_ERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(kr_repl_voters_renew(&n->r, n->now, &n->out), 0);
	assert_int_equal(kr_log_end(n->log), end);
	rnode_free(n);
}

static void
voters_change_req(struct rnode *n, uint32_t corr, uint8_t op, int32_t id)
{
	struct kr_voter v = voter_of(id);
	struct kr_msg m = {.api = KR_API_VOTERS_CHANGE};

	m.u.voters_change.op = op;
	m.u.voters_change.voter_id = id;
	memcpy(m.u.voters_change.directory_id, v.dir, KR_UUID_BYTES);
	m.u.voters_change.ip = v.ep.ip;
	m.u.voters_change.port = op == KR_VOTERS_OP_REMOVE ? 0 : v.ep.port;
	packet(n, -1, corr, &m);
}

static const struct kr_voters_change_resp *
voters_change_answer(const struct rnode *n)
{
	const struct kr_rp_action *a = find_send(n, KR_API_VOTERS_CHANGE_RESP, 0);

	return a ? &a->u.send.msg.u.voters_change_resp : NULL;
}

static void
a_clients_voter_change_is_answered_at_commit_or_outcome_unknown(void **state)
{
	struct rnode *n = committed_leader(3), *f;
	const struct kr_voters_change_resp *a;
	uint64_t end;

	(void)state;
	voters_change_req(n, 41, KR_VOTERS_OP_REMOVE, 3);
	assert_null(voters_change_answer(n));		  /* not committed yet */
	voters_change_req(n, 41, KR_VOTERS_OP_REMOVE, 3); /* the client's resend */
	assert_null(voters_change_answer(n));
	end = kr_log_end(n->log);
	/* a second change waits for the first */
	voters_change_req(n, 42, KR_VOTERS_OP_REMOVE, 2);
	a = voters_change_answer(n);
	assert_non_null(a);
	assert_int_equal(a->error, KR_ERR_REQUEST_TIMED_OUT);
	clear(n);
	fetch_dir(n, 2, 2, 5, 1, end, 1, 1);
	a = voters_change_answer(n);
	assert_non_null(a);
	assert_int_equal(a->error, KR_ERR_NONE);
	assert_int_equal(a->offset, end - 1);
	assert_int_equal(find_send(n, KR_API_VOTERS_CHANGE_RESP, 0)->u.send.correlation, 41);
	/* a change pending when the leader loses office: outcome unknown */
	fetch_dir(n, 3, 3, 6, 1, end, 1, 1);
	voters_change_req(n, 43, KR_VOTERS_OP_ADD, 3);
	clear(n);
	cmd(n, KR_CMD_FENCE, 2, KR_NODE_NONE, 1);
	a = voters_change_answer(n);
	assert_non_null(a);
	assert_int_equal(a->error, KR_ERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(a->outcome_unknown, 1);
	rnode_free(n);
	/* a follower names the leader */
	dyn = true;
	keyed_own = 2;
	f = rnode(2, 3, true);
	dyn = false;
	cmd(f, KR_CMD_FOLLOWER, 1, 1, 0);
	clear(f);
	voters_change_req(f, 44, KR_VOTERS_OP_REMOVE, 3);
	a = voters_change_answer(f);
	assert_non_null(a);
	assert_int_equal(a->error, KR_ERR_NOT_LEADER_OR_FOLLOWER);
	assert_int_equal(a->leader_id, 1);
	assert_int_equal(a->outcome_unknown, 0);
	rnode_free(f);
}

static void
the_set_keys_configured_voters_known_by_id_alone(void **state)
{
	struct rnode *n = rnode(1, 3, true); /* configured voters without directory ids */

	(void)state;
	n->r.cfg.dynamic = true; /* a joining directory's view once it learned the set */
	n->r.cfg.boot = boot_set(3);
	memset(n->r.cfg.directory_id, 1, KR_UUID_BYTES);
	assert_int_equal(restart_core(n), 0);
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	/* another directory of node 2 fetches everything: it is not the voter */
	fetch_dir(n, 2, 9, 1, 1, kr_log_end(n->log), 1, 1);
	assert_true(n->r.hw == KR_OFFSET_NONE);
	fetch_dir(n, 2, 2, 2, 1, kr_log_end(n->log), 1, 1);
	assert_int_equal(n->r.hw, kr_log_end(n->log));
	rnode_free(n);
}

static void
a_static_cluster_writes_and_reports_no_voters_record(void **state)
{
	struct rnode *n = rnode(1, 3, true);

	(void)state;
	cmd(n, KR_CMD_FENCE, 1, KR_NODE_NONE, 1);
	cmd(n, KR_CMD_LEADER, 1, KR_NODE_NONE, 0);
	assert_int_equal(kr_log_end(n->log), 1);
	assert_int_equal(count_events(n, KR_EV_VOTERS), 0);
	assert_int_equal(find_event(n, KR_EV_FENCE_ACK)->voters_seq, 0);
	rnode_free(n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sole_voter_commits_on_its_own_flush_never_its_unflushed_leo),
		cmocka_unit_test(
			hw_is_the_majority_durable_offset_counting_the_leaders_flushed_end_only),
		cmocka_unit_test(
			new_leader_commits_nothing_until_a_majority_holds_its_leader_change_record),
		cmocka_unit_test(leader_answers_a_diverging_fetch_at_once_from_its_epoch_cache),
		cmocka_unit_test(follower_truncates_to_the_diverging_epoch_end_and_fetches_again),
		cmocka_unit_test(follower_never_takes_the_hw_from_a_diverging_reply),
		cmocka_unit_test(follower_refuses_to_truncate_below_its_hw_and_stops),
		cmocka_unit_test(reply_to_an_earlier_start_is_never_taken_for_this_ones),
		cmocka_unit_test(reply_with_this_starts_correlation_but_another_start_is_refused),
		cmocka_unit_test(every_fetch_reply_echoes_the_fetchers_incarnation),
		cmocka_unit_test(
			follower_hw_is_capped_at_what_the_frame_validated_and_never_lowered),
		cmocka_unit_test(
			parked_fetch_returns_empty_after_max_wait_or_records_when_the_leader_appends),
		cmocka_unit_test(parked_fetch_fails_with_not_leader_when_the_leader_steps_down),
		cmocka_unit_test(a_newer_fetch_replaces_the_parked_one),
		cmocka_unit_test(invalid_stale_and_future_fetches_get_their_errors),
		cmocka_unit_test(
			frames_from_another_cluster_or_a_spoofed_voter_are_dropped_and_counted),
		cmocka_unit_test(describe_quorum_lists_voters_and_observers_on_the_leader_only),
		cmocka_unit_test(observer_fetches_are_served_and_tracked_but_never_count),
		cmocka_unit_test(observer_asks_the_voters_in_turn_until_one_names_the_leader),
		cmocka_unit_test(
			reply_spanning_several_frames_is_appended_in_order_and_a_gap_restarts_from_the_leo),
		cmocka_unit_test(a_reply_whose_first_frame_arrives_last_still_makes_progress),
		cmocka_unit_test(frames_from_another_leader_or_epoch_are_dropped),
		cmocka_unit_test(duplicate_append_is_answered_with_its_first_offset),
		cmocka_unit_test(a_new_leader_remembers_producers_from_its_log),
		cmocka_unit_test(a_retry_is_recognised_however_many_producers_came_after_it),
		cmocka_unit_test(a_new_leader_recognises_a_retry_after_many_producers),
		cmocka_unit_test(evictions_keep_every_remembered_producer_findable),
		cmocka_unit_test(
			appends_pending_when_the_leader_loses_office_are_answered_outcome_unknown),
		cmocka_unit_test(leading_a_new_epoch_steps_down_from_the_old_one_first),
		cmocka_unit_test(late_fetch_from_an_earlier_start_of_a_replica_is_dropped),
		cmocka_unit_test(leader_counts_a_voter_only_from_its_own_directory),
		cmocka_unit_test(
			a_joining_node_with_a_voter_id_looks_for_the_leader_without_asking_itself),
		cmocka_unit_test(identity_command_makes_a_voter_an_observer_with_its_new_directory),
		cmocka_unit_test(a_voter_told_to_look_asks_the_voters_and_the_bootstrap_nodes),
		cmocka_unit_test(fenced_dataplane_neither_appends_nor_truncates_nor_acknowledges),
		cmocka_unit_test(flush_reports_from_before_a_truncation_are_void),
		cmocka_unit_test(follower_tells_the_leader_at_once_when_its_durable_offset_moves),
		cmocka_unit_test(
			follower_restarts_at_the_leaders_log_start_when_it_fell_behind_retention),
		cmocka_unit_test(
			a_follower_at_the_leaders_log_start_starts_over_and_takes_its_epoch),
		cmocka_unit_test(an_observer_told_out_of_range_learns_the_leader),
		cmocka_unit_test(caught_up_is_reported_once_at_the_first_hw_and_after_any_repair),
		cmocka_unit_test(a_repair_ends_only_once_the_refetched_records_are_durable),
		cmocka_unit_test(repair_target_beyond_the_leaders_log_ends_once_the_logs_are_equal),
		cmocka_unit_test(reads_return_committed_records_only_and_wait_for_the_next_commit),
		cmocka_unit_test(
			appends_beyond_the_batch_limit_the_memory_cap_or_the_pending_bound_are_refused),
		cmocka_unit_test(a_full_log_refuses_appends_with_a_clear_error),
		cmocka_unit_test(
			steady_replication_reads_no_clock_allocates_nothing_and_does_no_io),
		cmocka_unit_test(
			first_leader_writes_the_bootstrap_set_and_a_follower_takes_it_on_append),
		cmocka_unit_test(a_truncation_undoes_the_voters_record_it_cuts),
		cmocka_unit_test(a_voters_record_changing_two_voters_is_refused_with_its_batch),
		cmocka_unit_test(a_log_with_a_bad_voters_record_is_refused_at_start),
		cmocka_unit_test(a_leader_renews_the_set_only_once_the_last_record_committed),
		cmocka_unit_test(the_hw_counts_a_majority_of_the_set_in_force),
		cmocka_unit_test(voter_changes_wait_for_the_leaders_commit_and_go_one_at_a_time),
		cmocka_unit_test(voter_changes_are_refused_with_kafkas_errors),
		cmocka_unit_test(a_leader_that_removed_itself_leads_until_the_change_commits),
		cmocka_unit_test(a_clients_voter_change_is_answered_at_commit_or_outcome_unknown),
		cmocka_unit_test(the_set_keys_configured_voters_known_by_id_alone),
		cmocka_unit_test(a_static_cluster_writes_and_reports_no_voters_record),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
