/* kraftd: the dataplane thread (the replication core over the node's ports: kernel UDP or
 * DPDK) and the flush thread (group commit). See include/kraft/node.h for the rings between them. */
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_ring.h>
#include <rte_ring_elem.h>
#include <sodium.h>

#include "kraft/crashtest.h"
#include "kraft/errors.h"
#include "kraft/node.h"
#include "kraft/port_faults.h"

#define RETENTION_CHECK_US 100000
/* Events the core raises for one datagram at most (a Fetch reply: leader fetched, epoch
 * seen, caught up, fatal; with room to spare). x2: the fault layer may duplicate it. */
#define EVENTS_PER_DATAGRAM 8
/* A voter change that names an endpoint waits this long for the endpoint to answer a PING
 * from this dataplane (probe_start) */
#define PROBE_US 500000
/* The log's memory is paged in ahead of its end by the flush thread (madvise
 * MADV_POPULATE_WRITE, which writes no byte, so it cannot race an append): up to
 * PREFAULT_AHEAD bytes past the end, asked for once PREFAULT_MIN bytes are due, so that an
 * append does not take the kernel's first-touch fault (a 1-voter memif commit had p99
 * 3-4x the PING's through the same code while faults fell inside appends). The dataplane
 * pays one eventfd write per PREFAULT_MIN bytes of log, not per packet. */
#define PREFAULT_AHEAD (1u << 20)
#define PREFAULT_MIN (64u << 10)
/* KRAFTD_TRACE_DATAPLANE=1: the dataplane's flight recorder (trace_note), the last
 * TRACE_ENTRIES of what it received, sent and was told, written to the log when it
 * stops. A power of two. */
#define TRACE_ENTRIES 65536u

enum trace_kind { TRACE_RX, TRACE_TX, TRACE_CMD };

struct trace_entry {
	uint64_t tick;
	uint8_t kind; /* enum trace_kind */
	uint8_t what; /* the API (rx, tx) or the command type */
	uint16_t len;
	int32_t node;  /* the sender (rx), the addressee (tx, -1: an address), the command's */
	uint32_t corr; /* the correlation id (rx, tx), the command's epoch */
};

struct dp {
	struct kn_node *n;
	struct kr_repl *r;
	struct kr_rp_harness h;	 /* carries out the core's actions (h.out) */
	struct kn_port *tx_port; /* the buffer tx_begin gave: its port (NULL: the mgmt ring) */
	void *tx_handle;
	bool events;		/* events pushed since the control thread was last woken */
	uint64_t encode_errors; /* the harness's count at the last log line */
	uint64_t zc_frames, zc_bytes, zc_copied; /* zero copy: sent from log memory, or copied */
	struct kr_rp_ops ops; /* the harness's: ops, tx_end_ext if a port chains */
	int64_t now;
	uint64_t pass_tsc;	       /* when this pass of the loop began, in ticks (now: in us) */
	uint64_t t_last;	       /* the pass's latest clock reading, in ticks */
	struct {		       /* the loop's clock (clock_read) */
		int64_t ns0, ns_at;    /* CLOCK_MONOTONIC at the start and at the last resync */
		uint64_t tsc0, tsc_at; /* the TSC then */
		double ns_per_tsc;
		int64_t last; /* the last value read: it never goes back */
		bool tsc;     /* the TSC is invariant: ticks are its cycles (else ns) */
	} clk;
	int64_t deadline; /* the core's next timer: recomputed after the core was called */
	int64_t last_work;
	int64_t next_retention;
	uint64_t apply_handed;	   /* spans handed to the apply thread end here (NONE: no apply) */
	struct kr_snap_id install; /* installed, not on the apply ring yet (end 0: none) */
	struct kr_snap_id told_snap;		/* the newest snapshot the core was told of */
	uint32_t xfer_gen[KR_XFER_OUT_MAX + 1]; /* the slots' requests the I/O thread knows of */
	uint64_t truncations;			/* the core's count at the last log line */
	uint64_t log_start;
	struct kn_mgmt_msg mmsg;
	struct kn_rx rx[KN_RX_BURST];
	/* appends waiting for their acknowledgement: when each arrived (commit latency) */
	struct {
		uint64_t addr;
		uint32_t corr;
		bool used;
		uint64_t t; /* ticks (the loop's clock) */
	} waiting[1024];
	/* acknowledged appends whose latency is taken at the end of the actions that sent
	 * the acknowledgements: one clock reading for all of them */
	uint64_t acked_t[64];
	unsigned n_acked;
	struct kr_latency latency;
	/* stage costs (enum kn_stage); timing is on for this pass (kn_node.stage_on) */
	struct kr_latency stage[KN_STAGES];
	bool timing;		  /* this pass is timed */
	uint32_t stage_pass;	  /* passes counted for the sampling (KN_STAGE_SAMPLE) */
	struct kn_faults *faults; /* test builds: the port fault layer */
	bool faults_on;		  /* ... set: received datagrams go through it */
	/* the voter change held while its endpoint is PINGed (probe_start) */
	struct {
		bool active;
		uint64_t to;	      /* the endpoint, as this node's ports reach it */
		uint32_t corr;	      /* the PING's correlation id */
		uint32_t client_corr; /* the change's */
		int64_t deadline;
		struct kn_mgmt_msg req;
	} probe;
	uint32_t probe_seq;
	/* the flight recorder: on from start or never (an env variable read once) */
	struct trace_entry *trace;
	uint64_t trace_n;
	int32_t tx_node; /* the addressee of the frame being encoded (tx_begin) */
	uint8_t *tx_buf;
};

static inline uint64_t ticks(const struct dp *d);

static unsigned
waiting_slot(uint64_t addr, uint32_t corr)
{
	uint64_t h = (addr ^ ((uint64_t)corr << 20)) * 0x9E3779B97F4A7C15ull;

	return (unsigned)(h >> 54); /* 10 bits */
}

/* ---- the flight recorder (KRAFTD_TRACE_DATAPLANE=1) ----
 * One entry per datagram received or sent and per command taken, into memory only (no
 * system call, no allocation: the array is made at start); written to the log when the
 * dataplane stops. For following a failover's messages between the dataplanes, where
 * KRAFTD_TRACE_VOTES sees only the election plane. */

static inline void
trace_note(struct dp *d, enum trace_kind kind, unsigned what, int32_t node, uint32_t corr,
	   uint32_t len)
{
	struct trace_entry *e;

	if (d->trace == NULL)
		return;
	e = &d->trace[d->trace_n++ & (TRACE_ENTRIES - 1)];
	*e = (struct trace_entry){.tick = ticks(d),
				  .kind = (uint8_t)kind,
				  .what = (uint8_t)what,
				  .len = len > UINT16_MAX ? UINT16_MAX : (uint16_t)len,
				  .node = node,
				  .corr = corr};
}

/* ---- stage costs (telemetry /kraft/stages) ---- */

/* ---- the loop's clock ----
 * The loop reads the TSC (rte_rdtsc: 13 ns here) where it would read CLOCK_MONOTONIC
 * through the vDSO (35 ns): once per pass and 2-3 times more per datagram while the
 * stage timing is on, that was most of the timing's cost (measured on and off in
 * docs/BENCHMARKS.md). It is CLOCK_MONOTONIC in value: anchored to it at start and every
 * RETENTION_CHECK_US (clock_resync), at the rate measured from start to the last resync,
 * and never going back. Timers are milliseconds; its error is microseconds at most. A
 * CPU whose TSC is not invariant (its rate follows the core's frequency) gets
 * CLOCK_MONOTONIC itself. */

/* Does the TSC tick at one rate whatever the core's frequency and sleep state (x86:
 * CPUID 0x80000007, EDX bit 8)? Elsewhere rte_rdtsc reads a fixed-rate counter. */
static bool
tsc_invariant(void)
{
#if defined(__x86_64__) || defined(__i386__)
	unsigned a, b, c, dx;

	return __get_cpuid(0x80000007, &a, &b, &c, &dx) && (dx & (1u << 8));
#else
	return true;
#endif
}

/* The loop's ticks: the TSC, or where it is not invariant CLOCK_MONOTONIC's ns (then
 * ns_per_tsc stays 1). */
static inline uint64_t
ticks(const struct dp *d)
{
	return d->clk.tsc ? rte_rdtsc() : (uint64_t)kn_now_ns();
}

static void
clock_resync(struct dp *d)
{
	int64_t ns = kn_now_ns();
	uint64_t tsc = ticks(d);

	if (d->clk.tsc && tsc > d->clk.tsc0 && ns > d->clk.ns0)
		d->clk.ns_per_tsc = (double)(ns - d->clk.ns0) / (double)(tsc - d->clk.tsc0);
	d->clk.ns_at = ns;
	d->clk.tsc_at = tsc;
}

static void
clock_init(struct dp *d)
{
	d->clk.tsc = tsc_invariant();
	d->clk.ns0 = kn_now_ns();
	d->clk.tsc0 = ticks(d);
	d->clk.ns_per_tsc = 1.0;
	while (d->clk.tsc && kn_now_ns() - d->clk.ns0 < 1000000) /* a first rate, over 1 ms */
		;
	clock_resync(d);
	if (!d->clk.tsc)
		kn_log(d->n, "dataplane",
		       "the CPU's TSC is not invariant: the loop reads CLOCK_MONOTONIC instead");
}

/* Cycles to ns; a negative difference (two cores' TSCs a few cycles apart, after a
 * migration) stays negative for the caller to clamp. */
static inline int64_t
tsc_ns(const struct dp *d, int64_t cycles)
{
	return (int64_t)((double)cycles * d->clk.ns_per_tsc);
}

/* ns from ticks t0 to ticks t, 0 if t is not later (another core's TSC after a
 * migration) */
static inline uint64_t
elapsed_ns(const struct dp *d, uint64_t t0, uint64_t t)
{
	return t > t0 ? (uint64_t)tsc_ns(d, (int64_t)(t - t0)) : 0;
}

/* The pass's clock: pass_tsc and now */
static inline void
clock_read(struct dp *d)
{
	int64_t ns;

	d->pass_tsc = d->t_last = ticks(d);
	ns = d->clk.ns_at + tsc_ns(d, (int64_t)(d->pass_tsc - d->clk.tsc_at));
	if (ns < d->clk.last)
		ns = d->clk.last;
	d->clk.last = ns;
	d->now = ns / 1000;
}

/* The clock now (ticks), kept as the pass's latest reading. */
static inline uint64_t
tick_now(struct dp *d)
{
	return d->t_last = ticks(d);
}

/* The stage timing reads the clock as little as it can: a stage that begins where the
 * last one ended takes that reading as its start (stage_mark); one that begins after
 * other work reads the clock (stage_t). A datagram answered at once costs the pass's
 * reading, the receive's end, the core's, the actions' and the send's (timing on), not
 * one more per stage boundary and per latency stamp. */

/* A stage's start: the latest reading (the previous stage ended there), or 0 while
 * timing is off. */
static inline int64_t
stage_mark(const struct dp *d)
{
	return d->timing ? (int64_t)d->t_last : 0;
}

/* A stage's start, read now, or 0 while timing is off. */
static inline int64_t
stage_t(struct dp *d)
{
	return d->timing ? (int64_t)tick_now(d) : 0;
}

/* The stage that began at t0 ends at t (a reading taken by the caller). */
static inline void
stage_add(struct dp *d, enum kn_stage s, int64_t t0, uint64_t t)
{
	kr_latency_add(&d->stage[s], elapsed_ns(d, (uint64_t)t0, t));
}

/* The stage that began at t0 ends now; returns now (the next stage's start). */
static inline int64_t
stage_end(struct dp *d, enum kn_stage s, int64_t t0)
{
	uint64_t t;

	if (!d->timing)
		return 0;
	t = tick_now(d);
	stage_add(d, s, t0, t);
	return (int64_t)t;
}

/* Once per pass: telemetry's switch, and its request for a copy (or a copy and reset). */
static void
stage_serve(struct dp *d)
{
	struct kn_node *n = d->n;
	uint32_t req = atomic_load_explicit(&n->stage_req, memory_order_acquire);
	uint32_t every = atomic_load_explicit(&n->stage_every, memory_order_relaxed);

	/* a sampled pass is timed whole: every stage it reaches */
	d->timing = atomic_load_explicit(&n->stage_on, memory_order_relaxed) &&
		    (every <= 1 || (++d->stage_pass & (every - 1)) == 0);
	if (req == 0)
		return;
	memcpy(n->stage_snap, d->stage, sizeof(d->stage));
	if (req == KN_STAGE_REQ_RESET)
		memset(d->stage, 0, sizeof(d->stage));
	atomic_store_explicit(&n->stage_req, 0, memory_order_relaxed);
	atomic_fetch_add_explicit(&n->stage_done, 1, memory_order_release);
}

/* A client's Append arrives: note when (a peek at the header; the core decodes it). */
static void
note_append(struct dp *d, const uint8_t *b, uint32_t len, uint64_t addr)
{
	struct kr_frame_peek p;
	unsigned s;

	if (kr_frame_peek(b, len, &p) != 0 || p.api != KR_API_APPEND)
		return;
	s = waiting_slot(addr, p.correlation_id);
	d->waiting[s].addr = addr;
	d->waiting[s].corr = p.correlation_id;
	d->waiting[s].used = true;
	/* the latest reading: the receive's end (timing on) or the pass's start, at most a
	 * burst before this datagram's turn */
	d->waiting[s].t = d->t_last;
}

/* The acknowledgements sent so far: their latencies end at t (the pass's end, when they
 * have left: a reading the pass takes anyway). */
static void
settle_acks(struct dp *d, uint64_t t)
{
	for (unsigned i = 0; i < d->n_acked; i++)
		kr_latency_add(&d->latency, elapsed_ns(d, d->acked_t[i], t));
	d->n_acked = 0;
}

/* Its acknowledgement is about to leave: the HW passed it. */
static void
note_commit(struct dp *d, const struct kr_rp_action *a)
{
	const struct kr_append_resp *r = &a->u.send.msg.u.append_resp;
	unsigned s = waiting_slot(a->u.send.to_addr, a->u.send.correlation);

	if (a->u.send.msg.api != KR_API_APPEND_RESP || r->error != KR_ERR_NONE ||
	    r->outcome_unknown || !d->waiting[s].used || d->waiting[s].addr != a->u.send.to_addr ||
	    d->waiting[s].corr != a->u.send.correlation)
		return;
	d->waiting[s].used = false;
	if (d->n_acked == sizeof(d->acked_t) / sizeof(d->acked_t[0]))
		settle_acks(d, tick_now(d));
	d->acked_t[d->n_acked++] = d->waiting[s].t;
}

/* The snapshot telemetry reads (a seqlock: odd while being written). */
static void
publish(struct dp *d)
{
	struct kn_node *n = d->n;
	struct kn_dp_snapshot *s = &n->dp_snap;
	uint32_t seq = atomic_load_explicit(&n->dp_snap_seq, memory_order_relaxed);
	struct kr_describe_resp desc;

	atomic_store_explicit(&n->dp_snap_seq, seq + 1, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	s->epoch = d->r->epoch;
	s->leader = d->r->leader_id;
	s->role = (uint8_t)d->r->role;
	s->hw = d->r->hw;
	s->committed = d->r->committed;
	s->log_start = kr_log_start(n->log);
	s->log_end = kr_log_end(n->log);
	s->durable = d->r->durable;
	kr_repl_describe(d->r, d->now, &desc);
	s->describe = desc;
	for (unsigned i = 0; i < (unsigned)desc.n_voters + desc.n_observers; i++)
		s->replicas[i] = desc.replicas[i];
	s->describe.replicas = s->replicas;
	s->core = d->r->stats;
	for (unsigned i = 0; i < n->n_ports; i++)
		s->ports[i] = n->ports[i]->stats;
	s->rx_packets = n->dp_stats.rx_packets;
	s->ring_full_event = n->dp_stats.ring_full_event;
	s->ring_full_mgmt = n->dp_stats.ring_full_mgmt;
	s->rx_deferred = n->dp_stats.rx_deferred;
	s->passes = n->dp_stats.passes;
	s->pings = n->dp_stats.pings;
	s->work_ns = n->dp_stats.work_ns;
	s->tick_hz = d->clk.tsc ? (uint64_t)(1e9 / d->clk.ns_per_tsc) : 0;
	s->commit_latency = d->latency;
	memcpy(s->auth_drops, d->r->auth.drops, sizeof(s->auth_drops));
	s->reasm = n->reasm.stats;
	s->fragmented = d->h.fragmented;
	s->fragments = d->h.fragments;
	s->zc_frames = d->zc_frames;
	s->zc_bytes = d->zc_bytes;
	s->zc_copied = d->zc_copied;
	atomic_store_explicit(&n->dp_snap_seq, seq + 2, memory_order_release);
}

/* The voter set the log holds in force (dynamic clusters), or NULL: then the configured
 * voters are all there is. */
static const struct kr_voter_set *
log_voters(const struct dp *d)
{
	return d->r->cfg.dynamic && kr_vh_latest(&d->r->voters)->n > 0 ? kr_vh_latest(&d->r->voters)
								       : NULL;
}

/* The voter whose address this is (whatever port it came in on): by the endpoints of the
 * set in force, then by the configured ones; or KR_NODE_NONE. */
static int32_t
voter_at(const struct dp *d, uint64_t addr)
{
	const struct kr_node_config *c = &d->n->cfg;
	const struct kr_voter_set *s = log_voters(d);

	for (int i = 0; s != NULL && i < s->n; i++)
		if (s->v[i].ep.ip == kn_addr_ip(addr) && s->v[i].ep.port == kn_addr_udp(addr))
			return s->v[i].id;
	for (int i = 0; i < c->n_voters; i++)
		if (c->voter_addr[i].ip == kn_addr_ip(addr) &&
		    c->voter_addr[i].port == kn_addr_udp(addr))
			return c->voter_ids[i];
	return KR_NODE_NONE;
}

/* The local port that reaches node: its kraftd.dpdk.peer.ports entry, else the first. */
static uint8_t
peer_port(const struct kr_node_config *c, int32_t node)
{
	for (unsigned i = 0; i < c->n_peer_ports; i++)
		if (c->peer_port_node[i] == node)
			return c->peer_port_index[i];
	return 0;
}

/* Where node is: its endpoint in the set in force (voters added or moved by voter changes
 * are reached there), else its configured address. */
static bool
node_addr(const struct dp *d, int32_t node, uint64_t *addr)
{
	const struct kr_node_config *c = &d->n->cfg;
	const struct kr_voter_set *s = log_voters(d);
	int k = s != NULL ? kr_voters_find(s, node) : -1;

	if (k >= 0) {
		*addr = kn_addr(s->v[k].ep.ip, s->v[k].ep.port, peer_port(c, node));
		return true;
	}
	for (int i = 0; i < c->n_voters; i++)
		if (c->voter_ids[i] == node) {
			*addr = kn_addr(c->voter_addr[i].ip, c->voter_addr[i].port,
					peer_port(c, node));
			return true;
		}
	return false;
}

/* Where a payload for addr is written: a port's transmit buffer, or the answer ring's
 * element for a kraftctl client (its answer goes back through the control thread). */
static uint8_t *
tx_begin(struct dp *d, uint64_t addr, uint32_t *cap, struct kn_port **port, void **handle)
{
	if (addr & KN_MGMT_ADDR_BIT) {
		*port = NULL;
		*cap = sizeof(d->mmsg.bytes);
		d->mmsg.addr = addr;
		return d->mmsg.bytes;
	}
	if (kn_addr_port(addr) >= d->n->n_ports) {
		d->n->dp_stats.send_unroutable++;
		return NULL;
	}
	*port = d->n->ports[kn_addr_port(addr)];
	return (*port)->tx_buf(*port, addr, cap, handle);
}

/* Send len bytes of what tx_begin gave (0: nothing, the buffer goes back). */
static void
tx_end(struct dp *d, struct kn_port *port, void *handle, uint32_t len)
{
	if (port != NULL) {
		port->tx_commit(port, handle, len);
		return;
	}
	if (len == 0)
		return;
	d->mmsg.len = len;
	/* never waits: see kn_ring_try_push (the client asks again) */
	kn_ring_try_push(d->n->mresp, &d->mmsg, sizeof(d->mmsg), &d->n->dp_stats.ring_full_mgmt);
	kn_wake(d->n->ctl_wake, &d->n->ctl_sleeping);
}

static void
fatal_event(struct dp *d, uint32_t why)
{
	atomic_store(&d->n->fatal, (int)why);
	kn_log(d->n, "dataplane", "STOPPED ITSELF: %s; it acknowledges nothing more",
	       why == KR_FATAL_STORAGE ? "a log flush failed"
				       : "the leader asked it to truncate committed records");
}

/* ---- carrying out the core's actions: the harness's operations ---- */

static uint8_t *
op_tx_begin(void *arg, int32_t to_node, uint64_t to_addr, uint32_t *cap)
{
	struct dp *d = arg;
	uint64_t addr = to_addr;

	if (to_node >= 0 && !node_addr(d, to_node, &addr)) {
		d->n->dp_stats.send_unroutable++;
		return NULL;
	}
	/* encoded in place: in the mbuf, the socket buffer or the ring element */
	d->tx_node = to_node;
	return d->tx_buf = tx_begin(d, addr, cap, &d->tx_port, &d->tx_handle);
}

static void
op_tx_end(void *arg, uint32_t len)
{
	struct dp *d = arg;
	struct kr_frame_peek p;

	if (d->trace != NULL && len > 0 && kr_frame_peek(d->tx_buf, len, &p) == 0)
		trace_note(d, TRACE_TX, p.api, d->tx_node, p.correlation_id, len);
	tx_end(d, d->tx_port, d->tx_handle, len);
}

/* The device is done with a payload sent from log memory. */
static void
unpin(void *log, void *pin)
{
	kr_log_unpin(log, pin);
}

/* Zero copy: the records go out from log memory, pinned until the device has them, where
 * the port can chain them; otherwise they are copied after the head, as ever. */
static void
op_tx_end_ext(void *arg, uint32_t len, const uint8_t *ext, uint32_t ext_len)
{
	struct dp *d = arg;
	struct kn_port *port = d->tx_port;
	struct kr_log_pin *pin;

	if (port != NULL && port->tx_commit_ext != NULL &&
	    (pin = kr_log_pin(d->n->log, ext, ext_len)) != NULL) {
		if (port->tx_commit_ext(port, d->tx_handle, len, ext, ext_len, unpin, d->n->log,
					pin) == 0) {
			d->zc_frames++;
			d->zc_bytes += ext_len;
			if (d->trace != NULL) {
				struct kr_frame_peek p;

				if (kr_frame_peek(d->tx_buf, len + ext_len, &p) == 0)
					trace_note(d, TRACE_TX, p.api, d->tx_node, p.correlation_id,
						   len + ext_len);
			}
			return;
		}
		kr_log_unpin(d->n->log, pin);
	}
	d->zc_copied++;
	memcpy(d->tx_buf + len, ext, ext_len);
	op_tx_end(arg, len + ext_len);
}

static int
op_event(void *arg, const struct kr_event *ev)
{
	struct dp *d = arg;

	if (ev->type == KR_EV_FATAL)
		fatal_event(d, ev->seq);
	/* waits while the ring is full: a burst is taken only while it has room for all the
	 * burst can raise (poll_inputs), so this never waits on the control thread for long */
	kn_ring_push(d->n->event, ev, sizeof(*ev), &d->n->dp_stats.ring_full_event);
	d->events = true;
	return 0;
}

static void
op_flush(void *arg, const struct kr_rp_flush *f)
{
	(void)arg;
	(void)f; /* group commit: the next flush job takes everything appended by then */
}

static void
op_sending(void *arg, const struct kr_rp_action *a)
{
	note_commit(arg, a);
}

/* KR_RP_INSTALLED: the apply thread loads the snapshot (the next element apply_feed puts
 * on its ring), and applies from its end. */
static void
op_installed(void *arg, struct kr_snap_id id)
{
	struct dp *d = arg;

	d->install = id;
	d->told_snap = id; /* the core knows its newest already */
	kn_log(d->n, "dataplane",
	       "installed snapshot %" PRIu64 "-%u from the leader: the log goes on from %" PRIu64,
	       id.end_offset, id.epoch, kr_log_start(d->n->log));
}

static const struct kr_rp_ops ops = {
	.tx_begin = op_tx_begin,
	.tx_end = op_tx_end,
	.event = op_event,
	.flush = op_flush,
	.sending = op_sending,
	.installed = op_installed,
};

/* Carry out the core's actions, in order; then what the node logs about them. */
static void
actions(struct dp *d)
{
	struct kn_node *n = d->n;

	kr_rp_harness_run(&d->h, d->now);
	if (d->events) {
		d->events = false;
		kn_wake(n->ctl_wake, &n->ctl_sleeping);
	}
	if (d->h.encode_errors != d->encode_errors) {
		kn_log(n, "dataplane", "%" PRIu64 " frames would not encode: %s (a bug)",
		       d->h.encode_errors - d->encode_errors, kr_wire_status_name(d->h.last_error));
		n->dp_stats.tx_errors += d->h.encode_errors - d->encode_errors;
		d->encode_errors = d->h.encode_errors;
	}
	if (d->r->stats.truncations != d->truncations) {
		d->truncations = d->r->stats.truncations;
		kn_log(n, "dataplane",
		       "truncated the log to offset %llu: it diverged from the log of leader %d "
		       "(epoch %u); committed offset %lld",
		       (unsigned long long)kr_log_end(n->log), d->r->leader_id, d->r->epoch,
		       d->r->committed == KR_OFFSET_NONE ? -1 : (long long)d->r->committed);
	}
	if (kr_log_start(n->log) != d->log_start) {
		if (kr_log_start(n->log) == kr_log_end(n->log)) /* a reset, not retention */
			kn_log(n, "dataplane",
			       "the leader no longer has the offsets this log needs: restarted the "
			       "log at offset %llu",
			       (unsigned long long)kr_log_start(n->log));
		d->log_start = kr_log_start(n->log);
	}
}

/* actions() as the stage that began at t */
static void
timed_actions(struct dp *d, int64_t t)
{
	actions(d);
	stage_end(d, KN_STAGE_ACTIONS, t);
}

/* ---- flush jobs ---- */

static void
flush_start(struct dp *d)
{
	struct kn_node *n = d->n;
	struct kr_rp_flush f;
	int rc = kr_rp_flush_begin(&d->h, n->log, &n->flusher, d->now, &f);

	if (rc < 0) {
		kn_log(n, "dataplane", "cannot take a flush job: %s", strerror(-rc));
		actions(d);
		d->deadline = kr_repl_next_deadline(d->r);
	} else if (rc == 1) {
		kn_ring_push(n->flush, &f, sizeof(f), &n->dp_stats.ring_full_cmd);
		kn_wake_always(n->flush_wake);
	}
}

static void
prefault(struct kn_node *n)
{
	uint32_t req = atomic_load_explicit(&n->prefault_req, memory_order_relaxed);

	if (atomic_load_explicit(&n->prefault_done, memory_order_acquire) != req ||
	    !kr_log_prefault_range(n->log, PREFAULT_AHEAD, PREFAULT_MIN, &n->prefault_addr,
				   &n->prefault_len))
		return;
	atomic_store_explicit(&n->prefault_req, req + 1, memory_order_release);
	kn_wake_always(n->flush_wake);
}

static void
flush_done(struct dp *d)
{
	struct kn_node *n = d->n;
	struct kr_rp_flush f;

	if (rte_ring_sc_dequeue_elem(n->done, &f, sizeof(f)) != 0)
		return;
	if (kr_rp_flush_end(&d->h, n->log, &n->flusher, d->now) != 0)
		kn_log(n, "dataplane", "log flush failed: %s", n->flusher.job.err);
	actions(d);
}

/* The apply thread's spans (include/kraft/planes.h, THE LIFETIME RULE): committed batches
 * are handed over as pointers into log memory once APPLY_STEP offsets are waiting, and at
 * every housekeeping tick (now), so that a commit costs the dataplane a comparison and
 * the apply thread wakes about once per APPLY_STEP commits. */
#define APPLY_STEP 1024
#define APPLY_SPAN_MAX (4u << 20)

static void
apply_feed(struct dp *d, bool now)
{
	struct kn_node *n = d->n;
	uint64_t c = d->r->committed;
	bool pushed = false;

	if (d->install.end_offset != 0 && n->applier != NULL) {
		/* the load first: the spans before it were of the state it replaces */
		struct kn_apply_span sp = {.data = NULL,
					   .len = 0,
					   .batches = d->install.epoch,
					   .base = d->install.end_offset,
					   .end = d->install.end_offset};

		if (kn_ring_free(n->apply) == 0)
			return;
		(void)rte_ring_sp_enqueue_elem(n->apply, &sp, sizeof(sp));
		d->apply_handed = d->install.end_offset;
		d->install = (struct kr_snap_id){0, 0};
		pushed = true;
	} else if (d->install.end_offset != 0) {
		d->install = (struct kr_snap_id){0, 0}; /* no state machine: nothing to load */
	}
	if (d->apply_handed == KR_OFFSET_NONE || c == KR_OFFSET_NONE || c <= d->apply_handed ||
	    (!now && c - d->apply_handed < APPLY_STEP)) {
		if (pushed)
			kn_wake(n->apply_wake, &n->apply_sleeping);
		return;
	}
	while (kn_ring_free(n->apply) > 0) {
		struct kr_log_span ls;
		struct kn_apply_span sp;
		uint64_t from = d->apply_handed;
		int rc = kr_log_hand_span(n->log, &d->apply_handed, c, APPLY_SPAN_MAX, &ls);

		if (rc == -ERANGE) {
			kn_log(n, "dataplane",
			       "the log now starts at %" PRIu64 ", past what the state machine "
			       "holds (%" PRIu64
			       "), and the leader sent no snapshot (it has none): "
			       "nothing more is applied until one is installed",
			       kr_log_start(n->log), from);
			d->apply_handed = KR_OFFSET_NONE;
			break;
		}
		if (rc == 0)
			break;
		sp = (struct kn_apply_span){.data = ls.data,
					    .len = ls.len,
					    .batches = ls.batches,
					    .base = ls.base_offset,
					    .end = ls.end_offset};
		/* cannot fail: the ring had room and this thread alone fills it */
		(void)rte_ring_sp_enqueue_elem(n->apply, &sp, sizeof(sp));
		pushed = true;
	}
	if (pushed)
		kn_wake(n->apply_wake, &n->apply_sleeping);
}

/* The newest snapshot the writer published (or the apply thread loaded): the core names
 * it to fetchers that need one. Read twice around the epoch: a publish in between is
 * taken at the next tick. */
static void
snapshot_news(struct dp *d)
{
	struct kn_node *n = d->n;
	struct kr_snap_id id = {atomic_load(&n->snap_end), atomic_load(&n->snap_epoch)};

	if (id.end_offset == atomic_load(&n->snap_end) &&
	    (id.end_offset != d->told_snap.end_offset || id.epoch != d->told_snap.epoch) &&
	    id.end_offset >= d->told_snap.end_offset) {
		d->told_snap = id;
		kr_repl_snapshot(d->r, id);
	}
}

/* A transfer slot with a request the snapshot I/O thread has not seen: wake it. */
static void
xfer_kick(struct dp *d)
{
	struct kn_node *n = d->n;
	bool news = false;

	for (uint32_t i = 0; i <= n->cfg.xfer_sends; i++) {
		struct kr_xfer *x = i < n->cfg.xfer_sends ? &n->xfer_out[i] : &n->xfer_in;
		uint32_t g = atomic_load_explicit(&x->req_gen, memory_order_relaxed);

		if (g != d->xfer_gen[i]) {
			d->xfer_gen[i] = g;
			news = true;
		}
	}
	if (news)
		kn_wake(n->xfer_wake, &n->xfer_sleeping);
}

/* Retention (docs/DESIGN.md §5, "Retention follows snapshots"): the log start moves only to a
 * retained snapshot's end (the cleaner's log_start_req), by whole segments, only below
 * the committed offset; never past a batch younger than the dedup window (a leader
 * rebuilds its producer table from the log: a retry must still find its first append),
 * and never past the segment holding the last voters record (a node that starts or
 * catches up from the log start learns the set in force from it): a leader then writes
 * the set again at the log end, and the segment goes once that copy commits. */
static void retention_steps(struct dp *d, uint64_t upto, uint64_t committed);

static void
retention(struct dp *d)
{
	struct kn_node *n = d->n;
	uint64_t committed = d->r->committed;
	uint64_t upto = atomic_load_explicit(&n->log_start_req, memory_order_relaxed);

	kr_log_reader_released(n->log,
			       atomic_load_explicit(&n->apply_released, memory_order_acquire));
	retention_steps(d, upto, committed);
	/* after the steps: a status read just after a deletion names the new start */
	atomic_store_explicit(&n->log_bytes, kr_log_bytes(n->log), memory_order_relaxed);
	atomic_store_explicit(&n->log_start_pub, kr_log_start(n->log), memory_order_relaxed);
	atomic_store_explicit(&n->log_end_pub, kr_log_end(n->log), memory_order_relaxed);
	atomic_store_explicit(&n->committed_pub, committed, memory_order_relaxed);
}

static void
retention_steps(struct dp *d, uint64_t upto, uint64_t committed)
{
	struct kn_node *n = d->n;

	if (committed == KR_OFFSET_NONE)
		return;
	for (;;) {
		uint64_t voters = kr_vh_latest_offset(&d->r->voters);

		switch (kr_log_retain_step(n->log, upto, committed,
					   kn_wall_us() - n->cfg.dedup_window_us, voters)) {
		case KR_RETAIN_NONE:
			return;
		case KR_RETAIN_VOTERS:
			if (kr_repl_voters_renew(d->r, d->now, &d->h.out) == 1) {
				kn_log(n, "dataplane",
				       "retention: the segment to delete holds the last voters "
				       "record (offset %" PRIu64
				       "): wrote the set again at %" PRIu64,
				       voters, kr_vh_latest_offset(&d->r->voters));
				actions(d);
			}
			return;
		case KR_RETAIN_DELETED:
			kn_log(n, "dataplane",
			       "retention: deleted a segment below snapshot end %" PRIu64
			       "; the log now starts at %" PRIu64,
			       upto, kr_log_start(n->log));
			break;
		}
	}
}

/* Port housekeeping, and a log line when a link comes or goes. */
/* Every voter's link address is asked for ahead of need (a port's resolve; over AF_XDP the
 * control thread reads the kernel's table instead): two followers exchange nothing until
 * their leader fails, and then the first pre-vote request between them was dropped for
 * want of a MAC and sent again only a request timeout later (failovers of up to twice
 * the fetch timeout over memif). */
static void
resolve_voters(struct dp *d)
{
	const struct kr_node_config *c = &d->n->cfg;
	const struct kr_voter_set *s = log_voters(d);
	int n = s != NULL ? s->n : c->n_voters;

	for (int i = 0; i < n; i++) {
		int32_t id = s != NULL ? s->v[i].id : c->voter_ids[i];
		uint64_t addr;
		struct kn_port *p;

		if (id == c->node_id || !node_addr(d, id, &addr) ||
		    kn_addr_port(addr) >= d->n->n_ports)
			continue;
		p = d->n->ports[kn_addr_port(addr)];
		if (p->resolve != NULL)
			p->resolve(p, kn_addr_ip(addr));
	}
}

static void
maintain_ports(struct dp *d)
{
	resolve_voters(d);
	for (unsigned i = 0; i < d->n->n_ports; i++) {
		struct kn_port *p = d->n->ports[i];
		bool up = p->stats.link_up;
		uint64_t restarts = p->stats.link_restarts;

		if (p->maintain == NULL)
			continue;
		p->maintain(p, d->now);
		if (p->stats.link_up != up)
			kn_log(d->n, "dataplane", "port %u (%s): link %s", i, p->name,
			       p->stats.link_up ? "up" : "down");
		if (p->stats.link_restarts != restarts)
			kn_log(d->n, "dataplane",
			       "port %u (%s): link down for a second: restarted the port", i,
			       p->name);
	}
}

/* Encode m as a frame from this node (correlation corr), seal it, and send it to addr: a
 * port address or a kraftctl client's. */
static void
send_msg(struct dp *d, uint64_t addr, uint32_t corr, const struct kr_msg *m)
{
	struct kn_port *port = NULL;
	void *handle = NULL;
	uint32_t cap;
	uint8_t *buf = tx_begin(d, addr, &cap, &port, &handle);
	struct kr_frame_hdr h = {.sender_id = d->r->cfg.node_id,
				 .correlation_id = corr,
				 .voter_set_hash = d->r->cfg.wire.voter_set_hash,
				 .flags = d->r->auth.on ? KR_FRAME_F_AUTH : 0};
	int n;

	if (buf == NULL)
		return;
	memcpy(h.cluster_id, d->r->cfg.wire.cluster_id, KR_UUID_BYTES);
	n = kr_frame_encode(buf, cap, &h, m);
	if (n > 0 && d->r->auth.on &&
	    kr_auth_seal_next(&d->r->auth, buf, (size_t)n, d->now + d->r->wall_offset_us) != 0) {
		d->n->dp_stats.tx_errors++;
		n = 0;
	}
	tx_end(d, port, handle, n > 0 ? (uint32_t)n : 0);
}

/* A frame of api `api` (peeked), decoded and (unless the core will: peek_only)
 * authenticated: 1; another api or malformed: 0 (the core counts it); refused by
 * authentication: -1 (counted here). */
static int
take_frame(struct dp *d, const uint8_t *b, uint32_t len, uint64_t addr, unsigned api,
	   bool peek_only, struct kr_frame *f, struct kr_msg *m)
{
	struct kr_frame_peek p;

	if (kr_frame_peek(b, len, &p) != 0 || p.api != api ||
	    kr_frame_decode(&d->r->cfg.wire, b, len, f) != 0)
		return 0;
	if (!peek_only && !kr_auth_accept(&d->r->auth, b, len, f->auth != NULL, f->hdr.sender_id,
					  addr, d->now + d->r->wall_offset_us)) {
		d->r->stats.drops[KR_RP_DROP_AUTH]++;
		return -1;
	}
	return kr_msg_decode(f, m) == 0;
}

/* A PING is echoed at once, before the core: the floor kraftbench measures is this
 * node's transport, ports and idle mode, without replication. Returns whether it was
 * one (a malformed one goes on to the core, which counts it). */
static bool
echo_ping(struct dp *d, const uint8_t *b, uint32_t len, uint64_t addr)
{
	struct kr_frame f;
	struct kr_msg m;
	int rc = take_frame(d, b, len, addr, KR_API_PING, false, &f, &m);

	if (rc <= 0)
		return rc < 0;
	m.api = KR_API_PING_RESP;
	send_msg(d, addr, f.hdr.correlation_id, &m);
	d->n->dp_stats.pings++;
	return true;
}

/* A client that asks the dataplane port what only the management listener answers
 * (kraftctl pointed at the wrong port) is told where that is, instead of silence. */
static bool
wrong_port(struct dp *d, const uint8_t *b, uint32_t len, uint64_t addr)
{
	const struct kr_node_config *c = &d->n->cfg;
	struct kr_frame f;
	struct kr_msg m;
	struct kr_node_info self = {.node_id = c->node_id,
				    .ip = {c->listener.ip >> 24, (c->listener.ip >> 16) & 255,
					   (c->listener.ip >> 8) & 255, c->listener.ip & 255},
				    .port = c->listener.port,
				    .mgmt_port = c->mgmt.port,
				    .flags = KR_NODE_F_SELF | KR_NODE_F_DATAPLANE};
	int rc = take_frame(d, b, len, addr, KR_API_DESCRIBE_NODES, false, &f, &m);

	if (rc <= 0)
		return rc < 0;
	m = (struct kr_msg){.api = KR_API_DESCRIBE_NODES_RESP};
	m.u.nodes_resp = (struct kr_nodes_resp){.n = 1, .nodes = &self};
	send_msg(d, addr, f.hdr.correlation_id, &m);
	d->n->dp_stats.wrong_port++;
	return true;
}

/* ---- a new endpoint answers before it is written ----
 * An unreachable endpoint in the voter set can wedge the quorum, so a voter change that
 * names one (add, update) is held on the leader while the endpoint is PINGed from this
 * dataplane, through the port that reaches that voter: the same path the voter will be
 * reached on. It goes on to the core once answered, or is refused ENDPOINT_UNREACHABLE
 * after PROBE_US. One at a time: the core takes one change at a time too. */

static void
probe_refuse(struct dp *d, uint64_t addr, uint32_t corr, uint16_t error)
{
	struct kr_msg m = {.api = KR_API_VOTERS_CHANGE_RESP};

	m.u.voters_change_resp = (struct kr_voters_change_resp){.error = error,
								.leader_id = d->r->leader_id,
								.epoch = d->r->epoch,
								.offset = KR_OFFSET_NONE};
	send_msg(d, addr, corr, &m);
}

/* A client's request from the management ring: held if it is such a change. */
static bool
probe_start(struct dp *d, const struct kn_mgmt_msg *mm)
{
	struct kr_frame f;
	struct kr_msg m, ping = {.api = KR_API_PING};
	const struct kr_voters_change_req *q = &m.u.voters_change;
	static const uint8_t payload[8];

	/* authenticated by the management listener already, and by the core when it takes it
	 * (a second check here would spend its sequence number) */
	if (d->r->role != KR_REPL_LEADER ||
	    take_frame(d, mm->bytes, mm->len, mm->addr, KR_API_VOTERS_CHANGE, true, &f, &m) != 1 ||
	    q->op == KR_VOTERS_OP_REMOVE)
		return false; /* the core answers it (a malformed one, a follower's NOT_LEADER) */
	if (d->probe.active && d->probe.client_corr == f.hdr.correlation_id) {
		d->probe.req.addr = mm->addr; /* sent again: answered where it came from last */
		return true;
	}
	if (d->probe.active) {
		probe_refuse(d, mm->addr, f.hdr.correlation_id, KR_ERR_REQUEST_TIMED_OUT);
		return true;
	}
	d->probe.active = true;
	d->probe.to = kn_addr(q->ip, q->port, peer_port(&d->n->cfg, q->voter_id));
	d->probe.corr = ++d->probe_seq | 0x80000000u;
	d->probe.client_corr = f.hdr.correlation_id;
	d->probe.deadline = d->now + PROBE_US;
	d->probe.req.addr = mm->addr;
	d->probe.req.len = mm->len;
	memcpy(d->probe.req.bytes, mm->bytes, mm->len);
	ping.u.ping = (struct kr_ping){.payload = payload, .len = sizeof(payload)};
	send_msg(d, d->probe.to, d->probe.corr, &ping);
	return true;
}

/* A datagram from a port: the probe's answer? Then the held change goes to the core. */
static bool
probe_answered(struct dp *d, const uint8_t *b, uint32_t len, uint64_t addr)
{
	struct kr_frame_peek p;
	struct kr_frame f;
	struct kr_msg m;

	if (!d->probe.active || kr_frame_peek(b, len, &p) != 0 || p.api != KR_API_PING_RESP ||
	    p.correlation_id != d->probe.corr || kn_addr_ip(addr) != kn_addr_ip(d->probe.to) ||
	    kn_addr_udp(addr) != kn_addr_udp(d->probe.to))
		return false;
	if (take_frame(d, b, len, addr, KR_API_PING_RESP, false, &f, &m) != 1)
		return true;
	d->probe.active = false;
	kr_repl_on_packet(d->r, d->probe.req.bytes, d->probe.req.len, KR_NODE_NONE,
			  d->probe.req.addr, d->now, &d->h.out);
	actions(d);
	return true;
}

static void
probe_tick(struct dp *d)
{
	uint32_t ip = kn_addr_ip(d->probe.to);

	if (!d->probe.active || d->now < d->probe.deadline)
		return;
	d->probe.active = false;
	kn_log(d->n, "dataplane",
	       "voter change refused: its endpoint %u.%u.%u.%u:%u did not answer a PING within "
	       "%d ms (ENDPOINT_UNREACHABLE)",
	       ip >> 24, ip >> 16 & 0xff, ip >> 8 & 0xff, ip & 0xff, kn_addr_udp(d->probe.to),
	       PROBE_US / 1000);
	probe_refuse(d, d->probe.req.addr, d->probe.client_corr, KR_ERR_ENDPOINT_UNREACHABLE);
}

/* ---- inputs ---- */

/* One datagram from a port to the core (or the ping echo). */
static void
deliver(struct dp *d, const struct kn_rx *rx)
{
	struct kn_node *n = d->n;
	int32_t node = voter_at(d, rx->addr);
	struct kr_frame_peek p;
	int64_t t;

	if (node == KR_NODE_NONE)
		n->dp_stats.rx_foreign_addr++;
	n->dp_stats.rx_packets++;
	/* the shell's own APIs, before the core: one peek at the header picks them out */
	t = stage_mark(d); /* the receive's end, or the previous datagram's */
	if (kr_frame_peek(rx->data, rx->len, &p) == 0) {
		if (d->trace != NULL && p.api != KR_API_PING && p.api != KR_API_PING_RESP)
			trace_note(d, TRACE_RX, p.api, node, p.correlation_id, rx->len);
		if (p.api == KR_API_PING && echo_ping(d, rx->data, rx->len, rx->addr)) {
			stage_end(d, KN_STAGE_ECHO, t);
			return;
		}
		if ((p.api == KR_API_PING_RESP && probe_answered(d, rx->data, rx->len, rx->addr)) ||
		    (p.api == KR_API_DESCRIBE_NODES && wrong_port(d, rx->data, rx->len, rx->addr)))
			return;
	}
	note_append(d, rx->data, rx->len, rx->addr);
	kr_repl_on_packet(d->r, rx->data, rx->len, node, rx->addr, d->now, &d->h.out);
	t = stage_end(d, KN_STAGE_CORE, t);
	timed_actions(d, t); /* before the buffer goes: actions may view it */
}

static bool
poll_inputs(struct dp *d)
{
	struct kn_node *n = d->n;
	struct kr_cmd cmd;
	bool work = false;
	int64_t t, t_rx;
	int k;

	while (rte_ring_sc_dequeue_elem(n->cmd, &cmd, sizeof(cmd)) == 0) {
		if (cmd.type == KN_CMD_KEYS) {
			struct kr_auth_keys keys;

			memcpy(&keys, cmd.frame, sizeof(keys));
			kr_repl_auth(d->r, &keys, 0);
			sodium_memzero(&keys, sizeof(keys));
			sodium_memzero(cmd.frame, sizeof(keys));
			continue;
		}
		if (cmd.type == KN_CMD_NEIGHBOUR) { /* the shell's, not the core's */
			for (unsigned i = 0; i < n->n_ports; i++)
				if (n->ports[i]->neighbour != NULL)
					n->ports[i]->neighbour(n->ports[i], (uint32_t)cmd.node,
							       cmd.frame);
			continue;
		}
		trace_note(d, TRACE_CMD, cmd.type, cmd.node, cmd.epoch, 0);
		kr_repl_on_cmd(d->r, &cmd, d->now, &d->h.out);
		actions(d);
		work = true;
	}
	if (kn_ring_pending(n->done)) {
		flush_done(d);
		work = true;
	}
	/* bounded (KN_MGMT_BATCH), so a management flood cannot keep the ports unread, and
	 * under the same backpressure as a burst from a port (below): an append can raise
	 * events, and a push on a full event ring would wait on the control thread */
	for (int m = 0; m < KN_MGMT_BATCH &&
			kn_ring_free(n->event) >= KN_MGMT_BATCH * EVENTS_PER_DATAGRAM * 2 &&
			rte_ring_sc_dequeue_elem(n->mreq, &d->mmsg, sizeof(d->mmsg)) == 0;
	     m++) {
		work = true;
		if (probe_start(d, &d->mmsg))
			continue;
		t = stage_t(d);
		note_append(d, d->mmsg.bytes, d->mmsg.len, d->mmsg.addr);
		kr_repl_on_packet(d->r, d->mmsg.bytes, d->mmsg.len, KR_NODE_NONE, d->mmsg.addr,
				  d->now, &d->h.out);
		t = stage_end(d, KN_STAGE_CORE, t);
		timed_actions(d, t);
	}
	t_rx = (int64_t)d->pass_tsc;
	for (unsigned p = 0; p < n->n_ports; p++) {
		struct kn_port *port = n->ports[p];

		/* Backpressure, so the threads can never wait on each other: a burst is taken
		 * only while the event ring has room for all it can raise. Otherwise the push
		 * in actions() could wait on a control thread that waits, on a full command
		 * ring, for this thread. The datagrams wait in the port meanwhile. */
		if (kn_ring_free(n->event) < KN_RX_BURST * EVENTS_PER_DATAGRAM * 2) {
			n->dp_stats.rx_deferred++;
			break;
		}
		k = port->rx(port, d->rx, KN_RX_BURST);
		if (k > 0) /* from the pass start: an empty pass reads the clock once */
			stage_end(d, KN_STAGE_RX, t_rx);
		for (int i = 0; i < k; i++) {
			int copies = 1;

#ifdef KR_CRASH_TEST
			if (d->faults_on)
				copies = kn_faults_rx(d->faults, &d->rx[i], d->now);
#endif
			while (copies-- > 0)
				deliver(d, &d->rx[i]);
		}
		if (k > 0) {
			port->rx_done(port, d->rx, k);
			work = true;
			t_rx = stage_mark(d); /* the last datagram's end */
		}
	}
#ifdef KR_CRASH_TEST
	{
		struct kn_rx held;

		while (d->faults != NULL && kn_faults_due(d->faults, d->now, &held)) {
			deliver(d, &held);
			work = true;
		}
	}
#endif
	return work;
}

static void
idle(struct dp *d)
{
	struct kn_node *n = d->n;
	int64_t deadline = d->deadline, wait = 100000;
	struct pollfd p[KN_PORTS_MAX + 1] = {{.fd = n->dp_wake, .events = POLLIN}};
	nfds_t np = 1;
	struct timespec ts;
	uint64_t v;

	if (n->cfg.idle == KR_IDLE_POLL)
		return;
	if (d->now - d->last_work < n->cfg.idle_spin_us) {
		/* idle, not per packet: a poller sharing the core gets it now */
		if (n->cfg.idle == KR_IDLE_SHARED) {
			int64_t t = stage_t(d);

			sched_yield();
			stage_end(d, KN_STAGE_SLEEP, t);
		}
		return;
	}
	/* A kernel socket wakes the sleeper as soon as a datagram arrives, and every ring
	 * producer wakes it through dp_wake: with only such ports it may sleep until its
	 * next timer. A poll-mode port has nothing to wake it: sleep briefly. */
	for (unsigned i = 0; i < n->n_ports; i++) {
		if (n->ports[i]->fd >= 0)
			p[np++] = (struct pollfd){.fd = n->ports[i]->fd, .events = POLLIN};
		else
			wait = n->cfg.idle_sleep_us;
	}
	if (d->probe.active && deadline > d->probe.deadline)
		deadline = d->probe.deadline;
	if (deadline != INT64_MAX && deadline - d->now < wait)
		wait = deadline - d->now;
	if (d->next_retention - d->now < wait)
		wait = d->next_retention - d->now;
	if (wait <= 0)
		return;
	atomic_store(&n->dp_sleeping, true);
	/* anything pushed before the flag was visible is seen here */
	if (!kn_ring_pending(n->cmd) && !kn_ring_pending(n->done) && !kn_ring_pending(n->mreq) &&
	    !atomic_load(&n->stop_dp)) {
		int64_t t = stage_t(d);

		ts.tv_sec = wait / 1000000;
		ts.tv_nsec = (wait % 1000000) * 1000;
		if (ppoll(p, np, &ts, NULL) > 0 && (p[0].revents & POLLIN))
			if (read(n->dp_wake, &v, sizeof(v)) < 0) {
				/* drained by an earlier read */
			}
		stage_end(d, KN_STAGE_SLEEP, t);
	}
	atomic_store(&n->dp_sleeping, false);
}

static void
trace_start(struct dp *d)
{
	const char *on = getenv("KRAFTD_TRACE_DATAPLANE");

	if (on == NULL || strcmp(on, "1") != 0)
		return;
	d->trace = calloc(TRACE_ENTRIES, sizeof(*d->trace));
	kn_log(d->n, "dataplane",
	       d->trace != NULL ? "KRAFTD_TRACE_DATAPLANE=1: the last %u datagrams and commands "
				  "are written to this log when the dataplane stops"
				: "KRAFTD_TRACE_DATAPLANE=1: no memory for %u trace entries",
	       TRACE_ENTRIES);
}

/* The recorder's entries, oldest first, each at its wall-clock time (the loop's clock
 * back-dated from now: microseconds). */
static void
trace_dump(struct dp *d)
{
	static const char *const kind[] = {
		[TRACE_RX] = "in ", [TRACE_TX] = "out", [TRACE_CMD] = "cmd"};
	uint64_t first = d->trace_n > TRACE_ENTRIES ? d->trace_n - TRACE_ENTRIES : 0;
	uint64_t now_tick = ticks(d);
	int64_t now_wall = kn_wall_us();

	if (d->trace == NULL)
		return;
	kn_log(d->n, "dataplane", "trace: %" PRIu64 " entries, the last %" PRIu64 " follow",
	       d->trace_n, d->trace_n - first);
	for (uint64_t i = first; i < d->trace_n; i++) {
		const struct trace_entry *e = &d->trace[i & (TRACE_ENTRIES - 1)];
		int64_t us = now_wall - tsc_ns(d, (int64_t)(now_tick - e->tick)) / 1000;
		time_t sec = (time_t)(us / 1000000);
		struct tm tm;
		char when[16];

		gmtime_r(&sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		if (e->kind == TRACE_CMD)
			kn_log(d->n, "dataplane", "trace %s.%06lld cmd %s epoch %u node %d", when,
			       (long long)(us % 1000000), kr_cmd_name(e->what), e->corr, e->node);
		else
			kn_log(d->n, "dataplane", "trace %s.%06lld %s %s %s %d corr %u len %u",
			       when, (long long)(us % 1000000), kind[e->kind], kr_api_name(e->what),
			       e->kind == TRACE_RX ? "from" : "to", e->node, e->corr, e->len);
	}
	free(d->trace);
	d->trace = NULL;
}

void *
kn_dataplane_main(void *arg)
{
	struct kn_node *n = arg;
	struct dp *d = calloc(1, sizeof(*d));

	if (d == NULL) {
		kn_log(n, "dataplane", "out of memory");
		abort();
	}
	d->n = n;
	d->r = n->repl;
	/* with a port that sends payloads from where they are (kn_port.tx_commit_ext) */
	d->ops = ops;
	for (unsigned i = 0; i < n->n_ports; i++)
		if (n->ports[i]->tx_commit_ext != NULL && n->cfg.dpdk_zero_copy)
			d->ops.tx_end_ext = op_tx_end_ext;
	d->h = (struct kr_rp_harness){
		.r = n->repl, .ops = &d->ops, .arg = d, .big = n->msg_big, .big_cap = KR_MSG_MAX};
	d->log_start = kr_log_start(n->log);
	clock_init(d);
	clock_read(d);
	d->last_work = d->now;
	d->deadline = kr_repl_next_deadline(d->r);
	d->next_retention = d->now + RETENTION_CHECK_US;
	d->apply_handed = n->apply_from;
	d->told_snap = (struct kr_snap_id){atomic_load(&n->snap_end), atomic_load(&n->snap_epoch)};
	trace_start(d);
#ifdef KR_CRASH_TEST
	d->faults = kn_faults_new();
#endif
	for (;;) {
		int64_t t;
		bool work, changed;

		stage_serve(d);
		clock_read(d); /* the one clock read of an empty pass */
		n->dp_stats.passes++;
		work = changed = poll_inputs(d);
		if (work) { /* the core's timers move only when it is called */
			d->last_work = d->now;
			d->deadline = kr_repl_next_deadline(d->r);
		}
		if (d->deadline != INT64_MAX && d->deadline <= d->now) {
			kr_repl_tick(d->r, d->now, &d->h.out);
			actions(d);
			d->deadline = kr_repl_next_deadline(d->r);
			changed = true;
		}
		probe_tick(d);
		if (d->now >= d->next_retention) {
			apply_feed(d, true);
			retention(d);
			snapshot_news(d);
			maintain_ports(d);
#ifdef KR_CRASH_TEST
			if (d->faults != NULL) {
				char text[200];

				if (kn_faults_reload(d->faults, n->cfg.log_dir, text, sizeof(text)))
					kn_log(n, "dataplane", "test port faults: %s", text);
				d->faults_on = kn_faults_active(d->faults);
			}
#endif
			publish(d);
			clock_resync(d);
			d->next_retention = d->now + RETENTION_CHECK_US;
			d->deadline = kr_repl_next_deadline(d->r); /* retention may call it */
			changed = true;
		}
		t = work ? stage_t(d) : 0;
		for (unsigned i = 0; i < n->n_ports; i++) /* buffered TX goes out */
			n->ports[i]->tx_flush(n->ports[i]);
		if (work && d->timing) { /* a timed pass ends at the send's end */
			t = stage_end(d, KN_STAGE_TX, t);
			stage_add(d, KN_STAGE_PASS, (int64_t)d->pass_tsc, (uint64_t)t);
		}
		/* The log and the core change only in a pass that did work (inputs, a timer, the
		 * retention check) or while stopping: others skip the flush and prefault checks.
		 * After the send: what this pass answered does not wait for a flush job to be
		 * handed over or for the prefault thread's wake (an eventfd write). Nothing sent
		 * depends on them: an acknowledgement that needs the disk waits for the job's
		 * end, in a later pass. */
		if (changed || atomic_load_explicit(&n->stop_dp, memory_order_relaxed)) {
			prefault(n);
			flush_start(d);
			apply_feed(d, atomic_load_explicit(&n->stop_dp, memory_order_relaxed));
			xfer_kick(d);
		}
		if (changed || d->n_acked > 0) {
			uint64_t end = tick_now(d);

			/* the time the passes that did work took: always counted */
			if (changed)
				n->dp_stats.work_ns += elapsed_ns(d, d->pass_tsc, end);
			settle_acks(d, end); /* the acknowledgements have left */
		}
		if (atomic_load(&n->stop_dp)) {
			/* everything appended is flushed before the node exits */
			if (!n->flusher.out &&
			    (d->r->role == KR_REPL_FAILED || !kr_log_needs_flush(n->log)))
				break;
			d->last_work = d->now; /* keep polling for the job */
		}
		idle(d);
	}
	publish(d);
	trace_dump(d);
#ifdef KR_CRASH_TEST
	kn_faults_free(d->faults);
#endif
	free(d);
	atomic_store(&n->dp_done, true);
	kn_wake(n->ctl_wake, &n->ctl_sleeping);
	return NULL;
}

/* ---- start and stop (the plane entry points, include/kraft/node.h) ---- */

int
kn_dataplane_init(struct kn_node *n, const struct kr_auth_keys *keys, char *err, size_t errlen)
{
	struct kr_repl_config rc;

	n->repl = calloc(1, sizeof(*n->repl));
	if (n->repl == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	kr_config_repl(&n->cfg, n->id.directory_id, n->has_boot ? &n->boot : NULL, n->incarnation,
		       n->repair_target, &rc);
	rc.xfer_out = n->xfer_out;
	rc.n_xfer_out = n->cfg.xfer_sends;
	rc.xfer_in = &n->xfer_in;
	/* messages larger than a datagram: given up if nothing of one came for half a fetch
	 * timeout (a follower asks again before its timeout), a slot quiet for a quarter of
	 * that taken by a new message when none is free; half the slots per sender */
	n->reasm_mem = malloc((size_t)n->cfg.reasm_slots * KR_MSG_MAX);
	n->msg_big = malloc(KR_MSG_MAX);
	if (n->reasm_mem == NULL || n->msg_big == NULL ||
	    kr_reasm_init(&n->reasm, n->reasm_slots, n->reasm_mem, n->cfg.reasm_slots, KR_MSG_MAX,
			  n->cfg.reasm_slots < 2 ? 1 : n->cfg.reasm_slots / 2,
			  n->cfg.fetch_timeout_us / 8, n->cfg.fetch_timeout_us / 2) != 0) {
		snprintf(err, errlen, "cannot make the reassembly pool (%u x %u bytes)",
			 n->cfg.reasm_slots, KR_MSG_MAX);
		return -ENOMEM;
	}
	rc.reasm = &n->reasm;
	if (kr_repl_init(n->repl, &rc, n->log) != 0) {
		snprintf(err, errlen, "the replication settings are inconsistent");
		return -EINVAL;
	}
	/* the snapshot its start loaded: named to fetchers that need one */
	kr_repl_snapshot(n->repl, (struct kr_snap_id){atomic_load(&n->snap_end),
						      atomic_load(&n->snap_epoch)});
	if (n->stateless)
		kr_repl_want_snapshot(n->repl);
	n->repl->wall_offset_us = kn_wall_us() - kn_now_us();
	n->wire = rc.wire;
	kr_repl_auth(n->repl, keys, kn_wall_us());
	return 0;
}

void
kn_dataplane_summary(struct kn_node *n, int status)
{
	char hw[24] = "unknown";
	uint64_t tx = 0;

	for (unsigned i = 0; i < n->n_ports; i++)
		tx += n->ports[i]->stats.tx_packets;
	if (n->repl->committed != KR_OFFSET_NONE)
		snprintf(hw, sizeof(hw), "%" PRIu64, n->repl->committed);
	kn_log(n, "stop",
	       "stopped (exit %d): log [%" PRIu64 ", %" PRIu64 "), durable to %" PRIu64
	       ", HW %s; %" PRIu64 " packets in, %" PRIu64 " out, %" PRIu64 " flushes, %" PRIu64
	       " dropped by the replication core, %" PRIu64
	       " from addresses of no voter (clients, strangers); log paged in ahead: %" PRIu64
	       " ranges, %" PRIu64 " KiB, %" PRIu64 " refused",
	       status, kr_log_start(n->log), kr_log_end(n->log), kr_log_durable_end(n->log), hw,
	       n->dp_stats.rx_packets, tx, n->flush_stats.flushes,
	       n->repl->stats.drops[KR_RP_DROP_DECODE], n->dp_stats.rx_foreign_addr,
	       n->flush_stats.prefaults, n->flush_stats.prefault_bytes >> 10,
	       n->flush_stats.prefault_failed);
	for (unsigned i = 0; i < n->n_ports; i++) {
		const struct kn_port_stats *ps = &n->ports[i]->stats;
		char drops[512] = "";
		size_t k = 0;

		for (unsigned w = 0; w < KN_PORT_DROP_COUNT && k < sizeof(drops) - 64; w++)
			if (ps->drops[w])
				k += (size_t)snprintf(drops + k, sizeof(drops) - k, " %s=%" PRIu64,
						      kn_port_drop_name(w), ps->drops[w]);
		kn_log(n, "stop",
		       "port %u (%s): %" PRIu64 " in, %" PRIu64 " out, %" PRIu64
		       " ARP replies; dropped:%s",
		       i, n->ports[i]->name, ps->rx_packets, ps->tx_packets, ps->arp_replies,
		       k ? drops : " none");
	}
}

void
kn_dataplane_free(struct kn_node *n)
{
	free(n->repl);
	free(n->reasm_mem);
	free(n->msg_big);
	n->repl = NULL;
	n->reasm_mem = n->msg_big = NULL;
}

/* ---- the flush thread ---- */

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14; older kernels refuse it (EINVAL) */
#endif

/* Carries out the prefault mailbox's request, if one is there. If the dataplane freed the
 * segment meanwhile (a truncation), madvise fails or faults in pages of whatever is mapped
 * there now: it writes no byte either way. @return a request was there */
static bool
page_in(struct kn_node *n)
{
	uint32_t req = atomic_load_explicit(&n->prefault_req, memory_order_acquire);

	if (atomic_load_explicit(&n->prefault_done, memory_order_relaxed) == req)
		return false;
	if (madvise(n->prefault_addr, n->prefault_len, MADV_POPULATE_WRITE) == 0) {
		n->flush_stats.prefaults++;
		n->flush_stats.prefault_bytes += n->prefault_len;
	} else if (n->flush_stats.prefault_failed++ == 0) {
		kn_log(n, "flush",
		       "cannot page in the log ahead of its end (appends take the "
		       "page faults): madvise: %s",
		       strerror(errno));
	}
	atomic_store_explicit(&n->prefault_done, req, memory_order_release);
	return true;
}

void *
kn_flush_main(void *arg)
{
	struct kn_node *n = arg;
	struct kr_rp_flush f;
	uint64_t v;

	for (;;) {
		if (rte_ring_sc_dequeue_elem(n->flush, &f, sizeof(f)) != 0) {
			if (page_in(n))
				continue;
			if (atomic_load(&n->dp_done))
				break;
			/* blocks until the dataplane pushes a job (or the node stops) */
			if (read(n->flush_wake, &v, sizeof(v)) < 0 && errno != EINTR)
				break;
			continue;
		}
		if (n->opt.fail_flush_after > 0 &&
		    (int64_t)n->flush_stats.flushes >= n->opt.fail_flush_after) {
			/* test build: as if fdatasync had failed */
			n->flusher.job.rc = -EIO;
			snprintf(n->flusher.job.err, sizeof(n->flusher.job.err),
				 "fdatasync: Input/output error (injected by "
				 "--test-fail-flush-after %lld)",
				 (long long)n->opt.fail_flush_after);
		} else
			kr_log_job_run(&n->flusher.job);
		if (n->flusher.job.rc == 0 && n->opt.crash_cut &&
		    kr_crash_record(n->cfg.log_dir, n->log_path) != 0)
			kn_log(n, "flush", "crash test: cannot record flushed lengths");
		n->flush_stats.flushes++;
		kn_ring_push(n->done, &f, sizeof(f), &n->flush_stats.ring_full_cmd);
		kn_wake(n->dp_wake, &n->dp_sleeping);
	}
	return NULL;
}
