/* kraftd: the node's shells around the pure cores (docs/DESIGN.md §3). Three threads share
 * this struct, and only through the rings and the few atomics marked below:
 *
 *   control thread (control/node/control.c, mgmt.c): the election core, the quorum-state
 *     file, the management listener (kraftctl); blocks in ppoll between events.
 *   dataplane thread (dataplane/node/dataplane.c): the replication core, the log in
 *     memory, the ports (kernel UDP or DPDK); busy polls, or spins then sleeps (the idle
 *     mode).
 *   flush thread (dataplane/node/dataplane.c): carries out the log's flush jobs (write,
 *     fdatasync) and reports back, and pages in the log's memory ahead of its end (the
 *     prefault mailbox below); blocks between jobs.
 *   apply thread (control/node/apply.c): applies the committed log to the state machine
 *     (include/kraft/applier.h) from spans of log memory the dataplane hands it (the apply
 *     ring), publishes how far it has released them, and freezes an image when a
 *     snapshot is due; blocks between spans.
 *   snapshot writer (control/node/apply.c): writes a frozen image as a snapshot file,
 *     paced; blocks between images. Both run at SCHED_IDLE.
 * The node starts and stops in control/node/start.c (kn_run).
 *
 * Rings (rte_ring, single producer / single consumer, fixed-size elements of bytes):
 *   cmd     control -> dataplane   struct kr_cmd
 *   event   dataplane -> control   struct kr_event
 *   mreq    control -> dataplane   struct kn_mgmt_msg (a kraftctl request)
 *   mresp   dataplane -> control   struct kn_mgmt_msg (its answer)
 *   flush   dataplane -> flush     struct kr_rp_flush (a job is out; the job is in
 *                                  kn->flusher, owned by the flush thread until done)
 *   done    flush -> dataplane     struct kr_rp_flush (the job is back)
 *   apply   dataplane -> apply     struct kn_apply_span: POINTERS into log memory, the one
 *                                  ring that carries them, under the log's reader rule
 *                                  (planes.h, THE LIFETIME RULE)
 */
#ifndef KRAFT_NODE_H
#define KRAFT_NODE_H

#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kraft/applier.h"
#include "kraft/config.h"
#include "kraft/election.h"
#include "kraft/latency.h"
#include "kraft/log.h"
#include "kraft/port.h"
#include "kraft/repl.h"

struct rte_ring;

#define KN_CACHE_LINE 64 /* what threads write is kept apart by this much (x86) */

/* A kraftctl request or answer carried between the planes: a datagram of up to 32 KiB of
 * body. A larger message (a large append, a read answer holding a large batch) goes as
 * fragments, each in an element of its own: the client cuts its request, the dataplane's
 * harness its answer. */
#define KN_MGMT_FRAME_MAX ((KR_MGMT_DGRAM_MAX + 3) & ~3u)
/* Addresses of kraftctl clients on the management listener, as the dataplane sees them:
 * this bit, a generation and a slot in the control thread's client table. */
#define KN_MGMT_ADDR_BIT (1ull << 63)
/* Management work is best effort and must never starve the protocol: each pass of the
 * control loop reads at most this many datagrams from the management listener, and each
 * pass of the dataplane loop takes at most this many requests from mreq. A flood then
 * costs requests (dropped, counted), never a Fetch answer or a vote. */
#define KN_MGMT_BATCH 32
/* A shell command on the cmd ring, not the core's: a neighbour from the kernel's table
 * (node: the IPv4 address, frame[0..5]: the MAC). */
#define KN_CMD_NEIGHBOUR 200
#define KN_CMD_KEYS 201 /* new authentication keys (a rotation): a kr_auth_keys in frame */

struct kn_mgmt_msg {
	uint64_t addr;
	uint32_t len;
	uint8_t bytes[KN_MGMT_FRAME_MAX];
};

enum kn_transport { KN_TRANSPORT_UDP = 1, KN_TRANSPORT_DPDK };

struct kn_options {
	enum kn_transport transport;
	bool crash_cut;	 /* test builds: cut segment files back to their flushed lengths */
	bool crash_torn; /* ... or to a random point of their unflushed tails (torn writes) */
	int64_t fail_flush_after; /* test builds: flush jobs after this many fail (EIO); 0 off */
	int eal_argc;		  /* DPDK: the EAL's arguments (argv[0] first) */
	char **eal_argv;
};

/* What the dataplane publishes (every 100 ms and at stop) for telemetry: a seqlock'd
 * copy, the only dataplane state another thread reads. */
struct kn_dp_snapshot {
	uint32_t epoch;
	int32_t leader;
	uint8_t role; /* enum kr_repl_role */
	uint64_t hw, committed, log_start, log_end, durable;
	struct kr_describe_resp describe; /* replicas point at the array below */
	struct kr_replica_info replicas[KR_REPLICAS_MAX];
	struct kr_repl_stats core;
	struct kn_port_stats ports[KN_PORTS_MAX];
	uint64_t rx_packets, ring_full_event, ring_full_mgmt, rx_deferred;
	uint64_t passes;		  /* the loop's passes, empty ones included */
	uint64_t pings;			  /* PINGs echoed */
	uint64_t work_ns;		  /* time in the passes that did work */
	uint64_t tick_hz;		  /* the TSC's rate (the loop's clock), 0: not used */
	struct kr_latency commit_latency; /* append received to its acknowledgement leaving */
	uint64_t auth_drops[KR_AUTH_DROP_COUNT]; /* frames failing authentication, by reason */
	struct kr_reasm_stats reasm;		 /* messages put together from fragments */
	uint64_t fragmented, fragments;		 /* messages sent as fragments, and those */
	uint64_t zc_frames, zc_bytes;		 /* frames whose records left from log memory */
	uint64_t zc_copied;			 /* ... offered, but copied (no room, no pin) */
};

/* Where the dataplane's time goes (telemetry /kraft/stages): one histogram per stage, in
 * ns, taken by the shell around the calls it makes (the cores read no clock). */
enum kn_stage {
	KN_STAGE_RX,	  /* a port's rx call that returned datagrams (per burst) */
	KN_STAGE_CORE,	  /* the replication core on one datagram or client request: decode,
			   * checks, log append in memory, HW (kr_repl_on_packet) */
	KN_STAGE_ACTIONS, /* carrying out its actions: encode, seal, tx buffers, events */
	KN_STAGE_ECHO,	  /* a PING answered by the shell, before the core (per PING) */
	KN_STAGE_TX,	  /* the ports' tx flush at the end of a pass that did work */
	KN_STAGE_PASS,	  /* a whole loop pass that did work (inputs to tx flush) */
	KN_STAGE_SLEEP,	  /* the idle mode giving the CPU away: a yield or a sleep */
	KN_STAGES
};
/* While the timing is on, one loop pass in KN_STAGE_SAMPLE is timed, whole: a sample of
 * every stage at a sixteenth of the clock reads (timing every pass cost a 1-voter memif
 * commit about 5 % and a PING about 10 % here). /kraft/stages,all times every pass. */
#define KN_STAGE_SAMPLE 16u
/* Telemetry's requests to the dataplane (kn_node.stage_req) */
#define KN_STAGE_REQ_COPY 1  /* copy the histograms into stage_snap */
#define KN_STAGE_REQ_RESET 2 /* ... then empty them */

/* Counters of the shells (the cores keep their own). */
struct kn_stats {
	uint64_t rx_packets, tx_errors; /* sent packets: the ports count them */
	uint64_t rx_foreign_addr;	/* from no configured voter: clients and strangers */
	uint64_t ring_full_cmd, ring_full_event, ring_full_mgmt;
	uint64_t flushes;
	uint64_t mgmt_requests, mgmt_dropped;
	uint64_t send_unroutable; /* a frame for a node with no known address */
	uint64_t pings;		  /* PINGs echoed by the dataplane (kraftbench's floor) */
	uint64_t wrong_port;	  /* clients' DESCRIBE_NODES at the dataplane port, redirected */
	uint64_t rx_deferred;	  /* polls skipped: the event ring lacked room for a burst */
	uint64_t passes;	  /* the dataplane loop's passes (the poll rate when idle) */
	uint64_t work_ns;	  /* ... the time of those that did work (inputs, timers) */
	uint64_t prefaults, prefault_bytes; /* log ranges paged in ahead of appends */
	uint64_t prefault_failed;	    /* ... that madvise refused */
};

/* A span of committed batches handed to the apply thread: whole batches, contiguous in
 * log memory, offsets [base, end) (kr_log_read). */
/* A span of committed batches in log memory; or, with data NULL, a snapshot installed
 * from the leader to load: it ends at end, in epoch batches. */
struct kn_apply_span {
	const uint8_t *data;
	uint32_t len;
	uint32_t batches;
	uint64_t base, end;
};

/* The apply thread's and the snapshot writer's counters (each writes its own). */
struct kn_apply_stats {
	uint64_t spans, batches, bytes; /* applied */
	uint64_t refused;		/* batches the applier refused (it stops there) */
	uint64_t snapshots, snapshot_bytes, snapshot_failed;
	uint64_t snapshot_ns; /* the writer's time on them */
	uint64_t freeze_ns;   /* the apply thread's time freezing images */
};

struct kn_node {
	struct kr_node_config cfg;
	struct kn_options opt;
	struct kr_identity id;
	int lock_fd; /* holds the data directory's lock (datadir.h) for the node's life */
	struct kr_voter_set boot; /* bootstrap voters (datadir.h) */
	bool has_boot;		  /* false: formatted before directory ids (static voters) */
	bool unsafe_admit;	  /* kraftd unsafe-admit was run on the directory */
	uint64_t incarnation;
	uint64_t repair_target;
	char log_path[KR_CONFIG_PATH_MAX + 8];

	struct kr_log *log;
	struct kr_repl *repl;  /* dataplane thread only */
	struct kr_election el; /* control thread only */
	struct kr_wire_ctx wire;

	struct rte_ring *cmd, *event, *mreq, *mresp, *flush, *done;
	int dp_wake, ctl_wake, flush_wake; /* eventfds */
	/* each sleeper writes its own flag, on its own cache line; the other side reads it */
	_Alignas(KN_CACHE_LINE) atomic_bool dp_sleeping;
	_Alignas(KN_CACHE_LINE) atomic_bool ctl_sleeping;

	/* the flush job (repl.h, GROUP COMMIT): the dataplane's until it is pushed on the
	 * flush ring, the flush thread's until it is pushed back on the done ring */
	struct kr_rp_flusher flusher;

	/* log pages to page in ahead of appends (kr_log_prefault_range), a mailbox of one: the
	 * dataplane writes prefault_addr and _len only while prefault_done equals
	 * prefault_req, then moves prefault_req on and wakes the flush thread, which pages
	 * them in and sets prefault_done to prefault_req */
	_Alignas(KN_CACHE_LINE) _Atomic uint32_t prefault_req;
	void *prefault_addr;
	size_t prefault_len;
	_Alignas(KN_CACHE_LINE) _Atomic uint32_t prefault_done;

	/* the apply thread and the snapshot writer (control/node/apply.c). apply_from: where the
	 * dataplane starts handing spans (the loaded snapshot's end), KR_OFFSET_NONE: no state
	 * machine. apply_released: what the apply thread has released (THE LIFETIME RULE);
	 * the dataplane passes it to kr_log_reader_released. */
	struct rte_ring *apply;
	int apply_wake, writer_wake; /* eventfds */
	uint64_t apply_from;
	struct kr_applier *applier; /* the apply thread's */
	atomic_bool applying;	    /* the state machine holds the log's state (kraftctl) */
	_Alignas(KN_CACHE_LINE) atomic_bool apply_sleeping;
	_Alignas(KN_CACHE_LINE) _Atomic uint64_t apply_released;
	/* the writer's mailbox of one: the apply thread fills snap_img only while snap_done
	 * equals snap_req, then moves snap_req on; the writer sets snap_done when the file is
	 * written (or failed) and the image freed */
	_Alignas(KN_CACHE_LINE) _Atomic uint32_t snap_req;
	struct kr_applier_image snap_img;
	_Alignas(KN_CACHE_LINE) _Atomic uint32_t snap_done;
	atomic_bool snap_force; /* kraftctl snapshot: take one now, due or not */
	atomic_bool apply_done; /* the apply thread has exited: the writer may too */
	/* retention (docs/DESIGN.md §5, "Retention follows snapshots"): the cleaner (the writer thread) asks the dataplane
	 * to move the log start up to log_start_req, a retained snapshot's end; the
	 * dataplane publishes the log's retained bytes for it */
	_Atomic uint64_t log_start_req;
	_Atomic uint64_t log_bytes;
	/* ... and, for kraftctl's NODE_STATUS (answered by the control thread), the log's
	 * start and end and the committed offset, every 100 ms */
	_Atomic uint64_t log_start_pub, log_end_pub, committed_pub;
	/* the newest snapshot written or loaded (describe, telemetry): end 0 = none */
	_Atomic uint64_t snap_end;
	_Atomic uint32_t snap_epoch;
	_Atomic uint64_t snap_bytes;
	_Atomic uint64_t snap_count; /* written since start */
	/* snapshots between nodes (include/kraft/xfer.h): a leader's sending slots and a
	 * follower's receiving one, their windows in xfer_mem; the snapshot I/O thread
	 * (control/node/xfer.c) serves them, woken through xfer_wake when the dataplane asks
	 * for something new. stateless: the snapshot at the log start could not be loaded
	 * (the node asks the leader for one and stands for no election meanwhile). */
	struct kr_xfer xfer_out[KR_XFER_OUT_MAX], xfer_in;
	/* messages larger than a datagram: the pool their fragments are put together in
	 * (kraftd.reassembly.slots of KR_MSG_MAX each in reasm_mem), and the buffer one is
	 * encoded whole in before it is sent as fragments (the dataplane thread's) */
	struct kr_reasm reasm;
	struct kr_reasm_slot reasm_slots[64];
	uint8_t *reasm_mem, *msg_big;
	uint8_t *xfer_mem;
	int xfer_wake;
	_Alignas(KN_CACHE_LINE) atomic_bool xfer_sleeping;
	bool stateless;

	/* the dataplane's ports (which one reaches which node: kraftd.dpdk.peer.ports) */
	struct kn_port *ports[KN_PORTS_MAX];
	unsigned n_ports;
	int mgmt_fd;

	/* published by the control thread, read by every thread's log lines */
	_Atomic uint32_t log_epoch;
	_Atomic int log_role;
	_Atomic int32_t log_leader;

	bool eal;		/* DPDK: the EAL is up */
	bool kernel_neighbours; /* DPDK with AF_XDP: learn MACs from the kernel's table */
	char xdp_ifaces[KN_PORTS_MAX][32]; /* DPDK: the AF_XDP port's interface, or "" */
	cpu_set_t cpus; /* DPDK: the CPUs the process had before the EAL pinned it */

	atomic_bool stop_dp; /* control -> dataplane: flush everything and exit */
	atomic_bool dp_done; /* dataplane -> control: it has exited */
	atomic_int fatal;    /* a KR_FATAL_* code once the node fail-stopped */

	/* Counters, each set written by one thread only, on cache lines of their own (no
	 * false sharing between the poller and the others). */
	_Alignas(KN_CACHE_LINE) struct kn_stats dp_stats;	   /* the dataplane thread */
	_Alignas(KN_CACHE_LINE) struct kn_stats ctl_stats;	   /* the control thread */
	uint64_t mgmt_auth_drops[KR_AUTH_DROP_COUNT];		   /* the control thread */
	_Alignas(KN_CACHE_LINE) struct kn_stats flush_stats;	   /* the flush thread */
	_Alignas(KN_CACHE_LINE) struct kn_apply_stats apply_stats; /* apply and writer */

	/* published for telemetry (seqlocks: odd while being written), by the dataplane
	 * thread and by the control thread */
	_Alignas(KN_CACHE_LINE) _Atomic uint32_t dp_snap_seq;
	struct kn_dp_snapshot dp_snap;
	_Alignas(KN_CACHE_LINE) _Atomic uint32_t el_snap_seq;
	struct kr_election_stats el_snap;

	/* stage costs (enum kn_stage): kept by the dataplane while stage_on; copied into
	 * stage_snap only when telemetry asks (stage_req, then stage_done moves), so the
	 * dataplane copies nothing on a timer */
	_Alignas(KN_CACHE_LINE) atomic_bool stage_on;
	/* while on, one pass in stage_every is timed (a power of two: KN_STAGE_SAMPLE by
	 * default, 1 after /kraft/stages,all) */
	_Atomic uint32_t stage_every;
	_Atomic uint32_t stage_req;
	_Atomic uint32_t stage_done;
	struct kr_latency stage_snap[KN_STAGES];
};

/* Monotonic microseconds. */
int64_t kn_now_us(void);
/* Monotonic nanoseconds (the vDSO: no system call). */
int64_t kn_now_ns(void);
/* Wall-clock microseconds since 1970. */
int64_t kn_wall_us(void);

/* A log line: time, node id, epoch, role, the plane, then the message. */
__attribute__((format(printf, 3, 4))) void kn_log(struct kn_node *n, const char *plane,
						  const char *fmt, ...);

/* Rings of fixed-size elements on the node's own memory (no EAL needed). */
struct rte_ring *kn_ring_new(const char *name, unsigned esize, unsigned count);
/* Push one element; waits (yielding) while the ring is full. Counts that in *full. */
void kn_ring_push(struct rte_ring *r, const void *elem, unsigned esize, uint64_t *full);
/* The same without waiting: false (and *full counted) when the ring is full. The
 * management relay uses it both ways: the control thread pushing a request while the
 * dataplane pushes an answer would otherwise wait on each other forever (found by
 * kraftbench --failover asking every node who leads once a millisecond). A client's
 * request or answer dropped so is retried by the client. */
bool kn_ring_try_push(struct rte_ring *r, const void *elem, unsigned esize, uint64_t *full);
/* Does the ring hold anything? (Atomic loads of its tails: callable from either side.) */
bool kn_ring_pending(const struct rte_ring *r);
/* Free slots in the ring, by the same atomic loads. (rte_ring_free_count reads the
 * tails plainly: a data race with the other side's store, which TSan reports.) Exact
 * for the producer side of a single-producer ring; the consumer only adds room. */
unsigned kn_ring_free(const struct rte_ring *r);
/* Wake a thread that may sleep on eventfd fd (if *sleeping). A full fence first: the
 * pushed element and the sleeper's flag are two locations (Dekker's pattern), and the
 * sleeper re-checks the ring after setting its flag. */
void kn_wake(int fd, atomic_bool *sleeping);
void kn_wake_always(int fd);

/** The MAC the kernel's neighbour table holds for ip (host order), if it is complete.
 * @return 0, -ENOENT (none yet) or -errno. */
int kn_kernel_neighbour(uint32_t ip, uint8_t mac[6]);

/* ---- the plane entry points: what the node's start (control/node/start.c) calls on
 * the dataplane side, and nothing else does (scripts/check-planes.sh) ---- */

/* DPDK (dataplane/node/dpdk.c): the EAL, the pool, the ports, the peer table; the frame
 * sizes fitted to the ports. @return 0 or a negative errno with err. */
int kn_dpdk_start(struct kn_node *n, char *err, size_t errlen);
void kn_dpdk_stop(struct kn_node *n);

/* The replication core over the opened log (dataplane/node/dataplane.c): its settings
 * from the node's, its keys, the wire context both planes check frames against
 * (n->wire). @return 0 or -EINVAL (inconsistent settings) with err. */
int kn_dataplane_init(struct kn_node *n, const struct kr_auth_keys *keys, char *err, size_t errlen);
/* After the threads are done: the dataplane's summary lines (exit status, log, packets,
 * drops per port), then its memory is released. */
void kn_dataplane_summary(struct kn_node *n, int status);
void kn_dataplane_free(struct kn_node *n);

/* The threads. */
void *kn_dataplane_main(void *node);
void *kn_flush_main(void *node);

/* The apply thread and the snapshot writer (control/node/apply.c). kn_apply_open: the
 * state machine from the newest whole snapshot in the log directory (or empty), and
 * where the dataplane starts handing spans; @return 0 or an exit status, having said why.
 * kn_apply_close after both threads are joined. */
int kn_apply_open(struct kn_node *n);
void *kn_apply_main(void *node);
void *kn_writer_main(void *node);
void kn_apply_close(struct kn_node *n);
/* Sleep until the eventfd fd is written or ms pass; what was written is consumed. */
void kn_nap(int fd, int ms);

/* Snapshots between nodes (control/node/xfer.c): kn_xfer_open makes the transfer slots
 * and their windows (before kn_dataplane_init, whose core serves them); kn_xfer_main is
 * the snapshot I/O thread (it exits once the dataplane has); kn_xfer_close after. */
int kn_xfer_open(struct kn_node *n);
void *kn_xfer_main(void *node);
void kn_xfer_close(struct kn_node *n);

/* Telemetry (DPDK only, dataplane/node/telemetry.c): /kraft/status, /kraft/replication,
 * /kraft/stats. */
int kn_telemetry_register(struct kn_node *n);

/* Run a node until it stops. @return the process exit status. */
int kn_run(const struct kr_node_config *cfg, const struct kn_options *opt);

#endif /* KRAFT_NODE_H */
