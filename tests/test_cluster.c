/* kraftd tests: whole nodes in one process. Each node is an election core and a
 * replication core joined by the real ring handlers (kr_control_on_event,
 * kr_control_command, kr_repl_on_cmd) through in-order queues, and the nodes talk
 * through the real codec over an in-process network that can partition (and, for the
 * fragment test, lose, duplicate and reorder datagrams, and carry datagrams smaller than
 * a message). The flush thread is instant; crashes keep only what was flushed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kraft/election.h"
#include "kraft/errors.h"
#include "kraft/le.h"
#include "kraft/repl.h"
#include "samples.h"

#define MS 1000
#define NODES_MAX 5
#define QUEUE_MAX 4096
#define CLIENT_ADDR 1000

struct packet {
	int32_t from;
	uint64_t to; /* a node id, or CLIENT_ADDR */
	uint16_t len;
	uint8_t bytes[KR_WIRE_UDP_PAYLOAD_MAX];
	/* zero copy: ext_len bytes of the sender's log memory follow the len bytes, read
	 * from there only when the datagram is delivered (a device reading it late), the
	 * sender's pin held until then */
	const uint8_t *ext;
	uint32_t ext_len;
	struct kr_log_pin *pin;
	struct kr_log *pin_log;
};

struct cnode {
	int32_t id;
	bool up;
	struct kr_election e;
	struct kr_el_harness eh; /* the node's own harnesses carry out the actions */
	struct kr_repl r;
	struct kr_rp_harness rh;
	struct kr_reasm reasm; /* with cluster.big: fragments put together here */
	struct kr_reasm_slot slots[4];
	uint8_t *pool, *big;
	uint64_t tx_to;
	struct kr_log *log;
	struct kr_quorum_state disk; /* the quorum-state file */
	struct kr_cmd cmds[64];
	uint32_t ncmds;
	struct kr_event events[64];
	uint32_t nevents;
};

struct cluster {
	int n;
	int64_t now;
	struct cnode nodes[NODES_MAX];
	bool cut[NODES_MAX + 1][NODES_MAX + 1]; /* cut[a][b]: a's packets to b are lost */
	struct packet *net;
	uint32_t nnet;
	/* what the client heard back */
	uint32_t acks, unknowns, errors;
	uint64_t acked_offsets[256];
	uint32_t client_corr;
	/* messages larger than a datagram: datagrams of dgram bytes (0: any size up to
	 * KR_WIRE_UDP_PAYLOAD_MAX), the nodes given a big buffer and a reassembly pool */
	uint32_t dgram;
	bool big;
	/* between nodes, while set: every lose_every-th datagram lost, every dup_every-th
	 * delivered twice, each round's datagrams delivered in reverse order */
	uint32_t lose_every, dup_every;
	bool reverse;
	uint64_t sent, lost;
	/* zero copy (kr_rp_ops.tx_end_ext): frames with a payload from log memory (pinned),
	 * and those whose payload the shell had to copy (not in the log: none should be);
	 * while hold_from is a node id, its zero-copy datagrams wait in held (a slow device)
	 * until release_held */
	bool zero_copy;
	uint64_t ext_sent, ext_copied;
	int32_t hold_from;
	struct packet *held;
	uint32_t nheld;
};

static bool zero_copy_next; /* the next cluster_new sends from log memory */

static struct cluster *cl;
static const struct kr_el_ops el_ops;
static const struct kr_rp_ops rp_ops, rp_ops_zc;

static struct kr_election_config
el_cfg(int32_t id, int n)
{
	struct kr_election_config c = {
		.node_id = id,
		.n_voters = (uint8_t)n,
		.election_timeout_us = 50 * MS,
		.fetch_timeout_us = 100 * MS,
		.election_backoff_max_us = 50 * MS,
		.request_timeout_us = 20 * MS,
		.shutdown_timeout_us = 100 * MS,
	};

	for (int i = 0; i < n; i++)
		c.voters[i] = i + 1;
	memset(c.directory_id, id, KR_UUID_BYTES);
	return c;
}

static struct kr_repl_config
rp_cfg(int32_t id, int n)
{
	struct kr_repl_config c = {
		.node_id = id,
		.wire = smp_ctx,
		.n_voters = (uint8_t)n,
		.memory_mode = false,
		.fetch_max_wait_us = 20 * MS,
		.fetch_max_bytes = 16384,
		.frame_records_max = 2048,
		.reply_frames_max = 8,
		.fetch_retry_us = 40 * MS,
		.fetch_backoff_us = 5 * MS,
		.liveness_interval_us = 10 * MS,
	};

	for (int i = 0; i < n; i++)
		c.voters[i] = i + 1;
	memset(c.directory_id, id, KR_UUID_BYTES);
	return c;
}

static void
node_start(struct cnode *nd, int n)
{
	struct kr_log_config lc = {.durability = KR_LOG_MEMORY,
				   .segment_bytes = KR_LOG_SEGMENT_BYTES_MIN,
				   .memory_bytes_max = 1u << 24};
	struct kr_log_report rep;
	struct kr_election_config ec = el_cfg(nd->id, n);
	struct kr_repl_config rc = rp_cfg(nd->id, n);
	struct kr_election_start st = {.qs = nd->disk, .rng_seed = 1000 + (uint64_t)nd->id};
	char err[128];

	if (nd->log == NULL)
		assert_int_equal(kr_log_open(&lc, &nd->log, &rep, err, sizeof(err)), 0);
	st.log_last_epoch = kr_log_last_epoch(nd->log);
	if (cl->big) {
		if (nd->pool == NULL) {
			nd->pool = malloc(KR_ARRAY_SIZE(nd->slots) * (size_t)KR_MSG_MAX);
			nd->big = malloc(KR_MSG_MAX);
		}
		assert_int_equal(kr_reasm_init(&nd->reasm, nd->slots, nd->pool,
					       KR_ARRAY_SIZE(nd->slots), KR_MSG_MAX, 2, 20 * MS,
					       200 * MS),
				 0);
		rc.reasm = &nd->reasm;
	}
	assert_int_equal(kr_repl_init(&nd->r, &rc, nd->log), 0);
	nd->eh = (struct kr_el_harness){.e = &nd->e, .wire = &smp_ctx, .ops = &el_ops, .arg = nd};
	nd->rh = (struct kr_rp_harness){
		.r = &nd->r, .ops = cl->zero_copy ? &rp_ops_zc : &rp_ops, .arg = nd};
	if (cl->big) {
		nd->rh.big = nd->big;
		nd->rh.big_cap = KR_MSG_MAX;
	}
	nd->ncmds = nd->nevents = 0;
	assert_int_equal(kr_election_init(&nd->e, &ec, &st, cl->now, &nd->eh.out), 0);
	nd->up = true;
}

static void
cluster_new_with(int n, uint32_t dgram)
{
	cl = calloc(1, sizeof(*cl));
	cl->net = calloc(QUEUE_MAX, sizeof(*cl->net));
	cl->held = calloc(QUEUE_MAX, sizeof(*cl->held));
	cl->zero_copy = zero_copy_next;
	cl->n = n;
	cl->dgram = dgram;
	cl->big = dgram > 0;
	cl->now = 1000000;
	for (int i = 0; i < n; i++) {
		cl->nodes[i].id = i + 1;
		cl->nodes[i].disk = (struct kr_quorum_state){.leader_id = KR_NODE_NONE,
							     .voted_id = KR_NODE_NONE};
		node_start(&cl->nodes[i], n);
	}
}

static void
cluster_new(int n)
{
	cluster_new_with(n, 0);
}

static void
cluster_free(void)
{
	assert_int_equal(cl->nheld, 0);
	for (int i = 0; i < cl->n; i++) {
		assert_int_equal(kr_log_pins(cl->nodes[i].log), 0); /* every datagram released */
		kr_log_close(cl->nodes[i].log);
		free(cl->nodes[i].pool);
		free(cl->nodes[i].big);
	}
	free(cl->net);
	free(cl->held);
	free(cl);
	cl = NULL;
}

static struct cnode *
node(int32_t id)
{
	return &cl->nodes[id - 1];
}

static void
net_send(int32_t from, uint64_t to, const uint8_t *bytes, size_t len)
{
	struct packet *p;

	assert_true(cl->nnet < QUEUE_MAX);
	p = &cl->net[cl->nnet++];
	p->from = from;
	p->to = to;
	p->len = (uint16_t)len;
	memcpy(p->bytes, bytes, len);
	p->ext = NULL;
	p->ext_len = 0;
	p->pin = NULL;
	p->pin_log = NULL;
}

/* The datagram as it leaves: its payload read from the sender's log now, the pin gone */
static void
materialize(struct packet *p)
{
	if (p->pin_log == NULL)
		return;
	memcpy(p->bytes + p->len, p->ext, p->ext_len);
	p->len = (uint16_t)(p->len + p->ext_len);
	kr_log_unpin(p->pin_log, p->pin);
	p->pin_log = NULL;
}

/* The held datagrams go out (in the next settle). */
static void
release_held(void)
{
	cl->hold_from = 0;
	for (uint32_t i = 0; i < cl->nheld; i++) {
		assert_true(cl->nnet < QUEUE_MAX);
		cl->net[cl->nnet++] = cl->held[i];
	}
	cl->nheld = 0;
}

/* The harnesses' operations: persisting is instant, commands and events go through
 * in-order queues, frames onto the in-process network, the flush thread is instant. */
static int
op_persist(void *arg, const struct kr_quorum_state *qs)
{
	((struct cnode *)arg)->disk = *qs;
	return 0;
}

static int
op_command(void *arg, const struct kr_el_action *a, const struct kr_cmd *cmd)
{
	struct cnode *nd = arg;

	(void)a;
	assert_true(nd->ncmds < 64);
	nd->cmds[nd->ncmds++] = *cmd;
	return 0;
}

static int
op_rejoin(void *arg, const struct kr_el_action *a)
{
	(void)arg;
	(void)a;
	fail_msg("no node here starts as an initial voter on its first start");
	return 0;
}

static void
op_unblocked(void *arg)
{
	(void)arg; /* no repair marker here */
}

static const struct kr_el_ops el_ops = {
	.persist = op_persist,
	.command = op_command,
	.rejoin = op_rejoin,
	.unblocked = op_unblocked,
};

static uint8_t tx_buf[KR_WIRE_UDP_PAYLOAD_MAX];

static uint8_t *
op_tx_begin(void *arg, int32_t to_node, uint64_t to_addr, uint32_t *cap)
{
	struct cnode *nd = arg;

	nd->tx_to = to_node >= 0 ? (uint64_t)to_node : to_addr;
	*cap = cl->dgram ? cl->dgram : sizeof(tx_buf);
	return tx_buf;
}

static void
op_tx_end(void *arg, uint32_t len)
{
	struct cnode *nd = arg;

	assert_true(len > 0); /* every frame encodes */
	net_send(nd->id, nd->tx_to, tx_buf, len);
}

static void
op_tx_end_ext(void *arg, uint32_t len, const uint8_t *ext, uint32_t ext_len)
{
	struct cnode *nd = arg;
	struct kr_log_pin *pin = kr_log_pin(nd->log, ext, ext_len);
	struct packet *p;

	assert_true(len > 0 && ext_len >= KR_RP_EXT_MIN);
	if (pin == NULL) { /* as a shell must: copied after the head */
		cl->ext_copied++;
		memcpy(tx_buf + len, ext, ext_len);
		net_send(nd->id, nd->tx_to, tx_buf, len + ext_len);
		return;
	}
	cl->ext_sent++;
	net_send(nd->id, nd->tx_to, tx_buf, len);
	p = &cl->net[cl->nnet - 1];
	p->ext = ext;
	p->ext_len = ext_len;
	p->pin = pin;
	p->pin_log = nd->log;
	if (cl->hold_from == nd->id) {
		assert_true(cl->nheld < QUEUE_MAX);
		cl->held[cl->nheld++] = *p;
		cl->nnet--;
	}
}

static int
op_event(void *arg, const struct kr_event *ev)
{
	struct cnode *nd = arg;

	assert_true(nd->nevents < 64);
	nd->events[nd->nevents++] = *ev;
	return 0;
}

static void
op_flush(void *arg, const struct kr_rp_flush *f)
{
	struct cnode *nd = arg;

	kr_repl_on_durable(&nd->r, f->upto, f->gen, cl->now, &nd->rh.out);
}

static const struct kr_rp_ops rp_ops = {
	.tx_begin = op_tx_begin,
	.tx_end = op_tx_end,
	.event = op_event,
	.flush = op_flush,
};

static const struct kr_rp_ops rp_ops_zc = {
	.tx_begin = op_tx_begin,
	.tx_end = op_tx_end,
	.event = op_event,
	.flush = op_flush,
	.tx_end_ext = op_tx_end_ext,
};

/* Carry out one node's pending actions; returns true if anything happened. */
static bool
node_pump(struct cnode *nd)
{
	bool busy = nd->eh.out.n > 0 || nd->rh.out.n > 0;

	assert_int_equal(kr_el_harness_run(&nd->eh), 0);
	for (uint32_t i = 0; i < nd->ncmds; i++)
		kr_repl_on_cmd(&nd->r, &nd->cmds[i], cl->now, &nd->rh.out);
	busy |= nd->ncmds > 0;
	nd->ncmds = 0;
	busy |= nd->rh.out.n > 0;
	assert_int_equal(kr_rp_harness_run(&nd->rh, cl->now), 0);
	for (uint32_t i = 0; i < nd->nevents; i++)
		kr_control_on_event(&nd->e, &smp_ctx, &nd->events[i], cl->now, &nd->eh.out);
	busy |= nd->nevents > 0;
	nd->nevents = 0;
	return busy;
}

static void
client_hears(const struct packet *p)
{
	struct kr_frame f;
	struct kr_msg m;

	assert_int_equal(kr_frame_decode(NULL, p->bytes, p->len, &f), 0);
	assert_int_equal(kr_msg_decode(&f, &m), 0);
	if (m.api != KR_API_APPEND_RESP)
		return;
	if (m.u.append_resp.error == KR_ERR_NONE) {
		assert_true(cl->acks < 256);
		cl->acked_offsets[cl->acks++] = m.u.append_resp.base_offset;
	} else if (m.u.append_resp.outcome_unknown) {
		cl->unknowns++;
	} else {
		cl->errors++;
	}
}

/* Deliver everything in flight and carry out every action until nothing moves. */
static void
settle(void)
{
	for (int round = 0; round < 10000; round++) {
		bool busy = false;

		for (int i = 0; i < cl->n; i++)
			if (cl->nodes[i].up)
				busy |= node_pump(&cl->nodes[i]);
		uint32_t n = cl->nnet;
		struct packet *batch = malloc(sizeof(*batch) * (n ? n : 1));

		memcpy(batch, cl->net, sizeof(*batch) * n);
		cl->nnet = 0;
		for (uint32_t j = 0; j < n; j++) {
			struct packet *p = &batch[cl->reverse ? n - 1 - j : j];

			busy = true;
			materialize(p);
			if (p->to == CLIENT_ADDR) {
				client_hears(p);
				continue;
			}
			struct cnode *dst = node((int32_t)p->to);

			if (!dst->up || node(p->from)->up == false || cl->cut[p->from][p->to])
				continue;
			cl->sent++;
			if (cl->lose_every && cl->sent % cl->lose_every == 0) {
				cl->lost++;
				continue;
			}
			kr_repl_on_packet(&dst->r, p->bytes, p->len, p->from, (uint64_t)p->from,
					  cl->now, &dst->rh.out);
			if (cl->dup_every && cl->sent % cl->dup_every == 0) {
				node_pump(dst); /* room for the copy's actions */
				kr_repl_on_packet(&dst->r, p->bytes, p->len, p->from,
						  (uint64_t)p->from, cl->now, &dst->rh.out);
			}
		}
		free(batch);
		if (!busy)
			return;
	}
	fail_msg("the cluster did not settle");
}

/* Let time pass in steps of the earliest deadline (at most step), settling each time. */
static void
run_for(int64_t us)
{
	int64_t end = cl->now + us;

	settle();
	while (cl->now < end) {
		int64_t next = end;

		for (int i = 0; i < cl->n; i++) {
			struct cnode *nd = &cl->nodes[i];
			int64_t d1 = kr_election_next_deadline(&nd->e),
				d2 = kr_repl_next_deadline(&nd->r);

			if (!nd->up)
				continue;
			next = d1 < next ? d1 : next;
			next = d2 < next ? d2 : next;
		}
		cl->now = next > cl->now ? next : cl->now + 1;
		for (int i = 0; i < cl->n; i++) {
			struct cnode *nd = &cl->nodes[i];

			if (!nd->up)
				continue;
			kr_election_tick(&nd->e, cl->now, &nd->eh.out);
			kr_repl_tick(&nd->r, cl->now, &nd->rh.out);
		}
		settle();
	}
}

static int32_t
leader(void)
{
	int32_t l = KR_NODE_NONE;

	for (int i = 0; i < cl->n; i++) {
		struct cnode *nd = &cl->nodes[i];

		if (nd->up && nd->e.role == KR_ROLE_LEADER && nd->r.role == KR_REPL_LEADER &&
		    (l == KR_NODE_NONE || nd->e.epoch > node(l)->e.epoch))
			l = nd->id;
	}
	return l;
}

static void
client_append(int32_t to, uint64_t seq, uint32_t value)
{
	uint8_t rec[8];
	struct kr_msg m = {.api = KR_API_APPEND};
	struct kr_frame_hdr h;
	static uint8_t buf[256];
	int len;

	kr_put_le32(rec, 4);
	kr_put_le32(rec + 4, value);
	m.u.append = (struct kr_append_req){.producer_id = 42,
					    .sequence = seq,
					    .record_count = 1,
					    .records = rec,
					    .records_len = 8};
	smp_hdr(&h);
	h.sender_id = KR_NODE_NONE;
	h.correlation_id = ++cl->client_corr;
	len = kr_frame_encode(buf, sizeof(buf), &h, &m);
	kr_repl_on_packet(&node(to)->r, buf, (size_t)len, KR_NODE_NONE, CLIENT_ADDR, cl->now,
			  &node(to)->rh.out);
}

/* A client's append of one record of value_len bytes (each byte seq + its index), as a
 * client whose datagrams carry cl->dgram bytes sends it: in fragments (message msg_id),
 * except the one at index lose (if any), which the network loses. */
static void
client_append_big(int32_t to, uint64_t seq, uint32_t value_len, uint32_t msg_id, int lose)
{
	static uint8_t rec[KR_BATCH_BYTES_MAX], msg[KR_MSG_MAX], buf[KR_WIRE_UDP_PAYLOAD_MAX];
	struct kr_msg m = {.api = KR_API_APPEND};
	struct kr_frame_hdr h;
	uint32_t fb;
	int n, len, k = 0;

	kr_put_le32(rec, value_len);
	for (uint32_t i = 0; i < value_len; i++)
		rec[4 + i] = (uint8_t)(seq + i);
	m.u.append = (struct kr_append_req){.producer_id = 43,
					    .sequence = seq,
					    .record_count = 1,
					    .records = rec,
					    .records_len = 4 + value_len};
	smp_hdr(&h);
	h.sender_id = KR_NODE_NONE;
	h.correlation_id = ++cl->client_corr;
	n = kr_frame_encode(msg, sizeof(msg), &h, &m);
	assert_true(n > 0);
	fb = kr_frag_size(cl->dgram, (uint32_t)n, false);
	assert_true(fb > 0);
	for (uint32_t off = 0; off < (uint32_t)n; off += fb, k++) {
		kr_frag_msg(&m, msg, (uint32_t)n, fb, msg_id, 0, off);
		len = kr_frame_encode(buf, cl->dgram, &h, &m);
		assert_true(len > 0);
		if (k == lose)
			continue;
		node_pump(node(to));
		kr_repl_on_packet(&node(to)->r, buf, (size_t)len, KR_NODE_NONE, CLIENT_ADDR,
				  cl->now, &node(to)->rh.out);
	}
}

/* Do two nodes' logs hold the same batches, byte for byte? */
static bool
same_log(struct cnode *a, struct cnode *b)
{
	struct kr_log_span sa, sb;
	uint64_t at = kr_log_start(a->log);

	if (at != kr_log_start(b->log) || kr_log_end(a->log) != kr_log_end(b->log))
		return false;
	/* batch by batch: the two may cut their segments in other places (a truncation
	 * into a pinned segment seals it) */
	while (at < kr_log_end(a->log)) {
		struct kr_batch_hdr ha, hb;

		if (kr_log_read(a->log, at, KR_OFFSET_NONE, KR_BATCH_BYTES_MAX, &sa) != 0 ||
		    kr_log_read(b->log, at, KR_OFFSET_NONE, KR_BATCH_BYTES_MAX, &sb) != 0 ||
		    sa.len == 0 || sb.len == 0)
			return false;
		kr_batch_hdr_get(sa.data, &ha);
		kr_batch_hdr_get(sb.data, &hb);
		if (ha.length != hb.length || memcmp(sa.data, sb.data, ha.length) != 0)
			return false;
		at = ha.base_offset + ha.record_count;
	}
	return true;
}

/* Is the batch at offset one client_append_big wrote, whole: one record whose bytes
 * follow its producer sequence? */
static bool
big_batch_whole(struct cnode *nd, uint64_t offset)
{
	struct kr_log_span sp;
	struct kr_batch_hdr h;
	uint32_t len;

	if (kr_log_read(nd->log, offset, KR_OFFSET_NONE, KR_BATCH_BYTES_MAX, &sp) != 0 ||
	    sp.len == 0)
		return false;
	kr_batch_hdr_get(sp.data, &h);
	len = kr_get_le32(sp.data + KR_BATCH_HDR_BYTES);
	if (h.base_offset != offset || h.record_count != 1 ||
	    h.length != KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES + len)
		return false;
	for (uint32_t i = 0; i < len; i++)
		if (sp.data[KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES + i] !=
		    (uint8_t)(h.sequence + i))
			return false;
	return true;
}

/* The value of the record at offset in a node's log, or -1. */
static int64_t
value_at(struct cnode *nd, uint64_t offset)
{
	struct kr_log_span sp;
	struct kr_batch_hdr h;

	if (kr_log_read(nd->log, offset, KR_OFFSET_NONE, 1u << 20, &sp) != 0 || sp.len == 0)
		return -1;
	kr_batch_hdr_get(sp.data, &h);
	if ((h.attributes & KR_BATCH_A_CONTROL) || h.base_offset != offset)
		return -2;
	return kr_get_le32(sp.data + KR_BATCH_HDR_BYTES + 4); /* the client writes 1 record */
}

static void
crash(int32_t id)
{
	struct cnode *nd = node(id);

	nd->up = false;
}

static void
restart(int32_t id)
{
	struct cnode *nd = node(id);

	node_start(nd, cl->n); /* the log kept what was flushed: the flush is instant here */
}

/* ---- scenarios ---- */

static void
three_nodes_elect_one_leader_and_commit_appends(void **state)
{
	int32_t l;

	(void)state;
	cluster_new(3);
	run_for(500 * MS);
	l = leader();
	assert_int_not_equal(l, KR_NODE_NONE);
	for (int i = 0; i < 3; i++) /* everyone agrees on the epoch and the leader */
		assert_int_equal(cl->nodes[i].e.leader_id, l);
	for (uint32_t i = 0; i < 20; i++) {
		client_append(l, i, 100 + i);
		run_for(5 * MS);
	}
	run_for(100 * MS);
	assert_int_equal(cl->acks, 20);
	assert_int_equal(cl->errors, 0);
	for (uint32_t i = 0; i < 20; i++)
		for (int k = 0; k < 3; k++)
			assert_int_equal(value_at(&cl->nodes[k], cl->acked_offsets[i]), 100 + i);
	/* the followers' HW caught up with the leader's */
	for (int k = 0; k < 3; k++)
		assert_int_equal(cl->nodes[k].r.hw, node(l)->r.hw);
	cluster_free();
}

static void
a_new_leader_after_a_crash_holds_every_acknowledged_record(void **state)
{
	int32_t l, l2;

	(void)state;
	cluster_new(3);
	run_for(500 * MS);
	l = leader();
	for (uint32_t i = 0; i < 10; i++) {
		client_append(l, i, 500 + i);
		run_for(2 * MS);
	}
	run_for(50 * MS);
	assert_int_equal(cl->acks, 10);
	crash(l);
	run_for(1000 * MS);
	l2 = leader();
	assert_int_not_equal(l2, KR_NODE_NONE);
	assert_int_not_equal(l2, l);
	assert_true(node(l2)->e.epoch > node(l)->e.epoch);
	for (uint32_t i = 0; i < 10; i++)
		assert_int_equal(value_at(node(l2), cl->acked_offsets[i]), 500 + i);
	/* it commits new appends, and the old leader rejoins as a follower and catches up */
	for (uint32_t i = 10; i < 15; i++) {
		client_append(l2, i, 500 + i);
		run_for(2 * MS);
	}
	restart(l);
	run_for(500 * MS);
	assert_int_equal(cl->acks, 15);
	assert_int_equal(node(l)->e.role, KR_ROLE_FOLLOWER);
	for (uint32_t i = 0; i < 15; i++)
		assert_int_equal(value_at(node(l), cl->acked_offsets[i]), 500 + i);
	cluster_free();
}

static void
partitioned_leader_resigns_and_its_uncommitted_suffix_is_truncated_on_return(void **state)
{
	int32_t l, l2;

	(void)state;
	cluster_new(3);
	run_for(500 * MS);
	l = leader();
	client_append(l, 0, 7);
	run_for(50 * MS);
	assert_int_equal(cl->acks, 1);
	for (int k = 1; k <= 3; k++) /* isolate the leader both ways */
		if (k != l)
			cl->cut[l][k] = cl->cut[k][l] = true;
	client_append(l, 1, 8); /* appended by the old leader, never committed */
	run_for(1000 * MS);
	assert_int_equal(node(l)->e.role == KR_ROLE_LEADER, false); /* check quorum */
	assert_int_equal(cl->unknowns, 1);			    /* never "failed" */
	l2 = leader();
	assert_int_not_equal(l2, KR_NODE_NONE);
	assert_int_not_equal(l2, l);
	/* the client retries the unknown append, same producer and sequence, then goes on */
	client_append(l2, 1, 8);
	run_for(50 * MS);
	client_append(l2, 2, 9);
	run_for(50 * MS);
	assert_int_equal(cl->acks, 3);
	assert_int_equal(cl->errors, 0);
	memset(cl->cut, 0, sizeof(cl->cut));
	run_for(1000 * MS);
	assert_int_equal(node(l)->e.role, KR_ROLE_FOLLOWER);
	assert_int_equal(kr_log_end(node(l)->log), kr_log_end(node(l2)->log));
	assert_true(node(l)->r.stats.truncations >= 1);
	/* every node holds 7, 8 and 9, once each, at their acknowledged offsets */
	for (uint32_t i = 0; i < cl->acks; i++)
		for (int k = 1; k <= 3; k++)
			assert_int_equal(value_at(node(k), cl->acked_offsets[i]), 7 + i);
	cluster_free();
}

static void
five_nodes_keep_committing_with_two_down(void **state)
{
	int32_t l;

	(void)state;
	cluster_new(5);
	run_for(500 * MS);
	l = leader();
	assert_int_not_equal(l, KR_NODE_NONE);
	crash(l == 1 ? 2 : 1);
	crash(l == 5 ? 4 : 5);
	for (uint32_t i = 0; i < 5; i++) {
		client_append(l, i, i);
		run_for(5 * MS);
	}
	run_for(100 * MS);
	assert_int_equal(cl->acks, 5);
	cluster_free();
}

/* Messages larger than a datagram: a client's 1 MiB batch and the fetch answers that
 * carry it cross datagrams of 4 KiB as fragments; a fragment lost costs the message (it
 * is never half appended) and the retry appends it once; under loss, duplication and
 * reordering every node ends up with the same log. */
static void
batches_larger_than_a_datagram_travel_in_fragments_and_a_lost_one_costs_a_retry(void **state)
{
	const uint32_t most = KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES - KR_RECORD_HDR_BYTES;
	int32_t l;
	uint64_t end;

	(void)state;
	cluster_new_with(3, 4096);
	run_for(500 * MS);
	l = leader();
	assert_int_not_equal(l, KR_NODE_NONE);

	/* the largest batch there is, in 257 fragments */
	client_append_big(l, 0, most, 1, -1);
	run_for(100 * MS);
	assert_int_equal(cl->acks, 1);
	assert_int_equal(cl->errors, 0);
	for (int k = 1; k <= 3; k++) {
		assert_true(same_log(node(k), node(l)));
		assert_true(big_batch_whole(node(k), cl->acked_offsets[0]));
		assert_true(node(k)->reasm.stats.done >= 1);
	}
	assert_true(node(l)->rh.fragmented >= 2); /* the answers to both followers' Fetch */
	/* one larger is refused whole, with an answer, and nothing of it appended */
	end = kr_log_end(node(l)->log);
	client_append_big(l, 1, most + 1, 2, -1);
	run_for(50 * MS);
	assert_int_equal(cl->errors, 1);
	assert_int_equal(kr_log_end(node(l)->log), end);

	/* a fragment lost: no append, no answer; the retry (same producer sequence, a new
	 * message) appends it once */
	client_append_big(l, 1, 300000, 3, 40);
	run_for(50 * MS);
	assert_int_equal(kr_log_end(node(l)->log), end);
	assert_int_equal(cl->acks + cl->errors + cl->unknowns, 2);
	client_append_big(l, 1, 300000, 4, -1);
	run_for(50 * MS);
	assert_int_equal(cl->acks, 2);
	assert_int_equal(kr_log_end(node(l)->log), end + 1);
	client_append_big(l, 1, 300000, 5, -1); /* a duplicate retry: answered, not appended */
	run_for(50 * MS);
	assert_int_equal(cl->acks, 3);
	assert_int_equal(cl->acked_offsets[2], cl->acked_offsets[1]);
	assert_int_equal(kr_log_end(node(l)->log), end + 1);

	/* between the nodes, 1 datagram in 300 lost, 1 in 7 twice, each round's in reverse:
	 * a fetch answer that lost a fragment is asked for again until one gets through
	 * whole (a leader may even change); then every node holds the same log, and each
	 * acknowledged batch is there whole */
	cl->lose_every = 300;
	cl->dup_every = 7;
	cl->reverse = true;
	for (uint32_t i = 0; i < 4; i++) {
		client_append_big(l, 2 + i, 100000 + 50000 * i, 10 + i, -1);
		run_for(20 * MS);
	}
	run_for(500 * MS);
	assert_true(cl->lost > 0);
	cl->lose_every = cl->dup_every = 0;
	cl->reverse = false;
	run_for(500 * MS);
	l = leader();
	assert_int_not_equal(l, KR_NODE_NONE);
	assert_int_equal(cl->acks + cl->unknowns, 7);
	for (int k = 1; k <= 3; k++) {
		assert_true(same_log(node(k), node(l)));
		assert_int_equal(node(k)->r.hw, node(l)->r.hw);
		assert_int_equal(kr_reasm_filling(&node(k)->reasm), 0);
	}
	for (uint32_t i = 0; i < cl->acks; i++)
		assert_true(big_batch_whole(node(l), cl->acked_offsets[i]));
	for (int k = 1; k <= 3; k++)
		if (k != l)
			assert_true(node(k)->reasm.stats.drops[-KR_REASM_DUP - 1] > 0);
	if (cl->zero_copy) { /* answers and their fragments went out from log memory */
		assert_true(cl->ext_sent > 0);
		assert_int_equal(cl->ext_copied, 0);
		for (int k = 1; k <= 3; k++)
			assert_int_equal(node(k)->r.stats.decode_errors[KR_WIRE_ECRC], 0);
	}
	cluster_free();
}

/* The same, with fetch answers sent from log memory (kr_rp_ops.tx_end_ext): whole frames
 * and the fragments of large batches carry their records from where the log holds them. */
static void
the_same_with_fetch_answers_sent_from_log_memory(void **state)
{
	zero_copy_next = true;
	batches_larger_than_a_datagram_travel_in_fragments_and_a_lost_one_costs_a_retry(state);
	zero_copy_next = false;
}

/* THE PINS under a truncation: a leader's answers carrying a batch no one else has wait in
 * a slow device while it is cut off, a new leader takes over, and the old one, back,
 * truncates that batch and appends the new leader's over it. The waiting datagrams still
 * point into the old bytes: when they finally go out they must be what was sealed (the
 * CRC says so), so the truncation must not have written over them. */
static void
a_truncation_leaves_bytes_a_waiting_answer_points_at_alone(void **state)
{
	int32_t l, l2;
	uint64_t pins;

	(void)state;
	zero_copy_next = true;
	cluster_new_with(3, 4096);
	zero_copy_next = false;
	run_for(500 * MS);
	l = leader();
	assert_int_not_equal(l, KR_NODE_NONE);
	client_append_big(l, 0, 1000, 1, -1); /* a whole frame: its records from the log */
	client_append_big(l, 1, 9000, 2, -1); /* in fragments: their slices from the log */
	run_for(50 * MS);
	assert_int_equal(cl->acks, 2);
	assert_true(cl->ext_sent > 0);
	/* the leader's next answers wait; it is cut off with a batch only it has */
	cl->hold_from = l;
	client_append_big(l, 2, 3000, 3, -1);
	run_for(5 * MS);
	assert_true(cl->nheld > 0);
	for (int k = 1; k <= 3; k++)
		if (k != l)
			cl->cut[l][k] = cl->cut[k][l] = true;
	run_for(1000 * MS);
	l2 = leader();
	assert_int_not_equal(l2, KR_NODE_NONE);
	assert_int_not_equal(l2, l);
	client_append_big(l2, 3, 3000, 4, -1); /* the same size, other bytes, same offsets */
	client_append_big(l2, 4, 3000, 5, -1);
	run_for(50 * MS);
	memset(cl->cut, 0, sizeof(cl->cut));
	run_for(1000 * MS);
	assert_true(node(l)->r.stats.truncations >= 1);
	assert_true(same_log(node(l), node(l2)));
	pins = kr_log_pins(node(l)->log);
	assert_true(pins > 0); /* the held datagrams' pins */
	/* now the device sends them: each is what was sealed, the old batch */
	release_held();
	run_for(100 * MS);
	assert_int_equal(kr_log_pins(node(l)->log), 0);
	assert_int_equal(kr_log_reader_graves(node(l)->log, NULL), 0);
	for (int k = 1; k <= 3; k++)
		assert_int_equal(node(k)->r.stats.decode_errors[KR_WIRE_ECRC], 0);
	assert_int_equal(cl->ext_copied, 0);
	for (int k = 1; k <= 3; k++)
		assert_true(same_log(node(k), node(l2)));
	cluster_free();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(three_nodes_elect_one_leader_and_commit_appends),
		cmocka_unit_test(a_new_leader_after_a_crash_holds_every_acknowledged_record),
		cmocka_unit_test(
			partitioned_leader_resigns_and_its_uncommitted_suffix_is_truncated_on_return),
		cmocka_unit_test(five_nodes_keep_committing_with_two_down),
		cmocka_unit_test(
			batches_larger_than_a_datagram_travel_in_fragments_and_a_lost_one_costs_a_retry),
		cmocka_unit_test(the_same_with_fetch_answers_sent_from_log_memory),
		cmocka_unit_test(a_truncation_leaves_bytes_a_waiting_answer_points_at_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
