/* kraftsim: a deterministic simulator of a kraftd cluster. Each node is three actors --
 * the control core, the dataplane core and the flush thread -- running the node's own
 * code (the cores and the ring handlers), joined by bounded in-order rings with delays.
 * Only rings, clocks, the network and storage are simulated. One seed drives every
 * random choice, so one seed replays one run exactly. */
#ifndef KRAFTSIM_SIM_H
#define KRAFTSIM_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "kraft/applier.h"
#include "kraft/election.h"
#include "kraft/log.h"
#include "kraft/repl.h"
#include "simfs.h"

#define SIM_NODES_MAX (KR_VOTERS_MAX + KR_OBSERVERS_MAX)
#define SIM_CLIENTS_MAX 4
#define SIM_WALL0 (1700000000LL * 1000000) /* the wall clock at simulated time 0 (us) */
#define SIM_FAULT_KINDS 9
#define SIM_PLANES 3		     /* control, dataplane, flush */
#define SIM_RING_CAP 32		     /* elements per ring between the planes */
#define SIM_RX_CAP 512		     /* datagrams a node's port holds; more are lost */
#define SIM_SEQ_MAX 65536	     /* appends per client in one run */
#define SIM_SPANS 64		     /* spans on a node's apply ring */
#define SIM_XFER_OUT 2		     /* snapshots a leader sends at once */
#define SIM_XFER_WIN 1024	     /* each transfer's window: a file takes several */
#define SIM_TRACE 64		     /* events kept for a violation report */
#define SIM_GRANTS 64		     /* the latest votes granted, per node */
#define SIM_CLAIM_EPOCHS 16	     /* per node: the latest durable-offset report per epoch */
#define SIM_OLD_DIRS 4		     /* per node: claims kept for its earlier directories */
#define SIM_CLIENT_ADDR 10000	     /* client c has address SIM_CLIENT_ADDR + c */
#define SIM_OPERATOR SIM_CLIENTS_MAX /* the operator's address: SIM_CLIENT_ADDR + this */
#define SIM_SEGMENT_BYTES KR_LOG_SEGMENT_BYTES_MIN /* small: recovery crosses segments */

struct sim; /* the world of one seed */

/* splitmix64: one stream per world, everything derives from the seed */
static inline uint64_t
sim_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* A bounded FIFO with a delivery time per element. Elements that do not fit wait in the
 * producer's backlog (the producer is blocked on a full ring). */
struct ring_item {
	int64_t at;
	union {
		struct kr_cmd cmd;
		struct kr_event ev;
		struct kr_rp_flush flush; /* a flush request, or its report */
	} u;
};

struct ring {
	struct ring_item *items; /* SIM_RING_CAP */
	uint32_t head, n;
	struct ring_item *backlog;
	uint32_t bl_head, bl_n, bl_cap;
	uint64_t full_events;
};

/* A durable copy of a log: the batches the flush thread wrote, and where each starts. */
struct image_batch {
	uint64_t base;
	uint32_t count;
	uint32_t epoch;
	uint32_t crc;
	uint32_t pos;
	uint32_t len;
};

struct image {
	uint8_t *bytes;
	uint32_t len, cap;
	struct image_batch *idx;
	uint32_t n, idx_cap;
	uint64_t start; /* log start offset of the image */
};

struct datagram {
	int64_t at;
	uint64_t seq; /* tie-break: sending order */
	int32_t from; /* node id, or -(client + 1) */
	uint64_t to;  /* node id, or a client address */
	uint16_t len;
	bool corrupt; /* a bit flipped on the way */
	uint8_t *bytes;
	/* --zero-copy: the frame's last ext_len bytes are still in the sender's log memory,
	 * read only when the datagram is taken off the network (net_take), the sender's pin
	 * held until then; len counts them */
	const uint8_t *ext;
	uint32_t ext_len;
	struct kr_log_pin *pin;
	struct kr_log *pin_log;
};

/* The voter set in force at the end of a node's log, as the checker reads it from the log
 * itself (check.c, sim_voters): kept up as the log grows, read again from the start after
 * a truncation or a restart. Independent of the core's own history of sets. */
struct vview {
	const struct kr_log *log; /* read from this log (NULL: read again) */
	uint64_t mutations;	  /* the log's count when it was read */
	uint64_t scanned;	  /* read up to this offset */
	uint64_t off, prev_off;	  /* the last two voters records (KR_OFFSET_NONE: none) */
	uint32_t epoch;		  /* the batch epoch of the last one */
	struct kr_voter_set set;  /* in force at the log end (empty: not known yet) */
	struct kr_voter_set prev; /* in force before the last record */
	bool from_below; /* set is the committed one at a moved log start: no record read yet */
};

/* Messages larger than --dgram: a node's reassembly pool (small slots: the simulator's
 * messages are at most a few KiB), room for a whole Fetch answer's frames from one
 * sender (every frame is cut when datagrams are this small), and another's. */
#define SIM_REASM_SLOTS 16
#define SIM_REASM_PER_SENDER 8
#define SIM_REASM_SLOT_BYTES 8192

struct node {
	int32_t id;
	struct kr_reasm reasm;
	struct kr_reasm_slot reasm_slots[SIM_REASM_SLOTS];
	uint8_t *reasm_mem;
	/* the directory id its disk holds now (changes when it is formatted again), and
	 * whether that directory was formatted with the initial voter set (the bootstrap
	 * set: every node at first, observers too; none after a re-format) */
	uint8_t dir_id[KR_UUID_BYTES];
	bool initial;
	struct vview vv;
	/* a leader whose own removal it saw committed: its log end then (KR_OFFSET_NONE:
	 * not seen); it may append nothing more in that epoch */
	uint64_t left_end;
	uint32_t left_epoch;
	bool up;
	bool paused;
	int64_t paused_until;
	/* one thread stopped alone (control, dataplane, flush), until then; NEVER: running.
	 * The others go on, and the rings between them fill */
	int64_t plane_until[SIM_PLANES];
	/* a thread that resumes may stop again after a few steps (a short time slice):
	 * steps left before it does, and for how long (0: it runs on) */
	uint32_t plane_steps[SIM_PLANES];
	int64_t plane_again_us[SIM_PLANES];
	int64_t restart_at;   /* when a crashed node comes back, INT64_MAX: never */
	int64_t clock_offset; /* local clock = global + this (only grows: forward jumps) */
	uint64_t incarnation; /* this start's (the restart path takes it from the disk) */
	uint32_t starts;
	bool exiting; /* it exits after this step (a durable write failed: status 3) */

	struct sim *sim; /* the harnesses' operations get the node */

	/* control actor */
	struct kr_election e;
	struct kr_el_harness eh; /* carries out the core's actions, one per step */
	int64_t busy_until;	 /* a persist in progress completes then */
	bool persisting;
	struct kr_quorum_state persist_qs; /* the state being persisted */
	bool persist_cut;		   /* it crashed while persisting persist_qs */
	struct ring events;		   /* dataplane -> control */

	/* dataplane actor */
	struct kr_repl *r;
	struct kr_rp_harness rh;	    /* carries out the core's actions */
	const struct kr_rp_action *sending; /* the SEND being encoded (for the trace) */
	uint64_t tx_to;			    /* where tx_begin's buffer goes */
	struct kr_log *log;
	struct ring cmds;    /* control -> dataplane */
	struct ring durable; /* flush -> dataplane */
	struct datagram *rx;
	uint32_t rx_head, rx_n;

	/* flush actor (disk mode): the node's group commit (repl.h), one job at a time */
	struct ring flushes; /* dataplane -> flush: a job is out */
	struct kr_rp_flusher fl;
	bool flushing;
	int64_t flush_done_at;

	/* storage: a simulated disk under the node's real storage code */
	struct simfs *fs;
	char dir[16];	    /* its data directory there */
	bool storage_fault; /* a fault was injected that may fail a write or a sync */
	int64_t full_until; /* the disk is full until then */
	/* ground truth of the storage */
	struct kr_quorum_state disk; /* the quorum state last persisted */
	uint64_t repair_target;	     /* the repair marker: mid-log damage not yet refetched */
	struct image img;	     /* what its flush jobs made durable, as it reported */
	uint64_t trunc_low;	     /* lowest LEO since the last flush completed */

	/* ground truth kept by the checker */
	uint32_t vote_epoch;   /* highest epoch this node voted in (or ran as candidate) */
	uint32_t seen_epoch;   /* highest in-memory epoch this incarnation */
	uint64_t last_hw;      /* highest HW this incarnation */
	uint64_t verified;     /* log checked against the committed log up to here */
	uint64_t hw_checked;   /* leader HW already checked against durable copies */
	uint32_t leader_epoch; /* epoch it was last seen leading (dataplane) */
	/* what it reported holding (a Fetch's durable offset) and the batch that ended there
	 * in its log when it said so; this survives its crash. The latest report in each of
	 * the last SIM_CLAIM_EPOCHS epochs: one can reach an old leader (paused, or the
	 * datagram late) long after the node moved on */
	struct claim {
		uint64_t end;		    /* the durable offset it reported */
		uint64_t base;		    /* the batch ending there, as its log held it */
		uint32_t epoch, crc;	    /* of that batch */
		uint32_t leader_epoch;	    /* the epoch of the Fetch that carried it (0: none) */
		uint8_t dir[KR_UUID_BYTES]; /* the directory that said it */
	} claims[SIM_CLAIM_EPOCHS];
	/* the claims of the directories before the last re-formats, newest first (a leader
	 * may still count what such a directory reported while the set names it) */
	struct claim old_claims[SIM_OLD_DIRS][SIM_CLAIM_EPOCHS];
	/* every vote it granted, as the candidates saw it leave (survives its crashes): a
	 * node never grants two candidates in one epoch, whatever its file lost */
	struct grant {
		uint32_t epoch;
		int32_t to;
	} grants[SIM_GRANTS];
	uint32_t n_grants;
	uint32_t fatal; /* the KR_FATAL_* code its dataplane stopped with, or 0 */

	/* apply actor (--snapshots): the node's apply thread and snapshot writer. The
	 * dataplane hands it spans of log memory (the node's apply ring) under the log's
	 * reader rule; it applies them, releases them, takes snapshots at random and runs
	 * the cleaner, whose log start the dataplane's retention follows */
	struct kr_applier *ap; /* NULL: not applying */
	uint64_t handed;       /* spans handed up to here (KR_OFFSET_NONE: handing stopped) */
	uint64_t released;
	struct sim_span {
		const uint8_t *data;
		uint32_t len;
		uint64_t base, end;
		int64_t at; /* ready then (the ring's delay) */
	} spans[SIM_SPANS];
	uint32_t span_head, span_n;
	uint64_t log_start_req; /* the cleaner's */
	uint64_t seen_start;	/* the log start after the last dataplane step */
	char logdir[40];
	/* ground truth: the newest snapshot this disk holds whole (its end, 0: none), and
	 * the highest log start a leader's reset imposed (no snapshot reaches it until
	 * nodes send each other snapshots) */
	uint64_t snap_high;
	uint64_t reset_floor;
	/* the snapshot I/O actor (--snapshots): the node's snapshot I/O thread on its disk,
	 * for the sending slots and the receiving one (include/kraft/xfer.h) */
	struct kr_xfer xo[SIM_XFER_OUT], xi;
	uint8_t xbuf[SIM_XFER_OUT + 1][SIM_XFER_WIN];
	int64_t xfer_at;
	bool xfer_ready;	     /* the slots were made (their handles mean something) */
	int32_t xi_status;	     /* the receiving slot's last status seen */
	struct kr_snap_id boot_snap; /* the snapshot its start loaded ({0, 0}: none) */
	struct kr_snap_id install;   /* installed, not loaded by the apply actor yet */
	/* ground truth: it started without the state its log start needs (the snapshot
	 * there damaged), and has not installed a leader's snapshot since: it must not lead */
	bool stateless;
	bool snap_damaged;   /* the sim damaged one of its snapshot files */
	int64_t followed_at; /* its start, or the last step it followed a leader */
	/* check quorum's ground truth: when its dataplane, leading, took a request of its
	 * epoch from each node; and when it last resumed from a pause, a stopped thread or a
	 * clock jump (NEVER: paused now) */
	int64_t fetch_taken_at[SIM_NODES_MAX];
	int64_t disturbed_at;
	uint32_t spoke_epoch; /* highest epoch it sent a Fetch or a BeginQuorumEpoch answer in */
};

struct client {
	int idx;
	uint64_t pid;
	uint64_t seq; /* the append in progress (or next) */
	bool inflight;
	int32_t target;
	uint32_t corr;
	int64_t next_at; /* send (or re-send) then */
	int64_t timeout_at;
	uint32_t attempts;
	bool done; /* stop issuing new appends */
};

/* An operator changing the voter set (--voter-changes): one VOTERS_CHANGE at a time to the
 * node it believes leads, as kraftctl add-voter / remove-voter / update-voter would send
 * it; sometimes impatient (a short timeout, then another change). */
/* requests the operator's fault budget remembers: a slot is reused only once its request
 * can no longer be taken (seed 2503104: with 8, a request still on its way was forgotten) */
#define SIM_ASKED 64

struct operator
{
	bool on;
	bool inflight;
	uint32_t corr;
	int32_t target;
	int64_t next_at, timeout_at;
	int64_t every_us;    /* think time between changes */
	int64_t patience_us; /* how long it waits for an answer */
	uint8_t op;	     /* enum kr_voters_op */
	struct kr_voter v;
	/* the changes it asked for lately: one may be taken long after its answer was given
	 * up on (a late datagram), by a leader whose set has changed meanwhile, so the fault
	 * budget applies each to every set in force until then */
	struct {
		uint8_t op;
		struct kr_voter v;
		int64_t until;
		uint32_t corr; /* its datagram's, to find it while it waits to be taken */
	} asked[SIM_ASKED];
	uint32_t n_asked;
	uint64_t sent, done, refused, unknown;
	uint64_t removed_leader; /* done: a leader removed itself */
};

static inline const char *
sim_op_name(unsigned op)
{
	return op == KR_VOTERS_OP_ADD ? "add" : op == KR_VOTERS_OP_REMOVE ? "remove" : "update";
}

struct profile {
	double p_drop, p_dup;
	double p_corrupt; /* one bit of a datagram flips (the CRC must catch it) */
	double p_late;	  /* a datagram held back for up to late_us (a queue, a paused VM) */
	double p_damage;  /* disk: a restart finds a batch in the middle of its log damaged */
	double p_image;	  /* an append's record value carries a valid batch image, offsets
			   * near the log's end: what a client may send to fool recovery */
	int64_t late_us;
	int64_t delay_us, jitter_us;
	int64_t ring_delay_us;
	int64_t fsync_min_us, fsync_max_us;
	int64_t fault_every_us;
	int64_t down_min_us, down_max_us;
	int64_t pause_max_us;
	int64_t plane_pause_max_us;
	int64_t jump_max_us;
	uint32_t weights[SIM_FAULT_KINDS]; /* crash, partition, one-way, isolate leader,
					    * pause, clock jump, storage fault, re-format,
					    * one thread paused */
	int n_clients;
	int64_t think_us;
};

struct committed_batch {
	uint64_t base;
	uint32_t count;
	uint32_t epoch;	       /* of the batch */
	uint32_t commit_epoch; /* of the leader whose HW passed it */
	uint32_t crc;
	uint64_t pid, seq;
};

/* A compact record of a step, formatted only for a violation report. */
struct trace_rec {
	int64_t t;
	uint16_t kind;
	int16_t node;
	int32_t a, b;
	int64_t c, d;
};

struct sim_opts {
	int nodes, observers;
	bool memory;
	uint64_t steps;
	bool verbose;
	bool show_profile; /* print the seed's faults at its start */
	uint64_t bugs;
	int sabotage;	     /* 1-based index into sabotage.c's table, 0 for none */
	bool auth;	     /* a cluster key: frames sealed by the shells, checked by the cores */
	bool no_send_checks; /* skip the checks that judge a control frame as it leaves against
			      * the quorum-state file: only crashes can then show the bug */
	uint64_t abort_at_step; /* self-test of the core-assertion report: abort() there */
	bool voter_changes;	/* an operator adds, removes and updates voters */
	bool snapshots;		/* apply actors, snapshots, retention following them */
	uint32_t faults;	/* fault kinds left out (bit k: sim_fault_names[k]); 0: all */
	uint32_t dgram;		/* the nodes' datagrams carry this many bytes: a larger
				 * message goes in fragments (0: any frame fits one) */
	bool zero_copy;		/* fetch answers' records sent from log memory (pinned) */
};

/* The fault kinds a profile weighs, by name (--faults). */
extern const char *const sim_fault_names[SIM_FAULT_KINDS];

struct sim {
	struct sim_opts o;
	uint64_t seed, rng;
	int64_t now;
	uint64_t steps;
	struct profile pf;
	struct kr_wire_ctx wire;
	struct kr_auth_keys keys;
	struct kr_auth client_auth; /* the clients' sealing state */
	int n;			    /* nodes, voters first */
	struct node nodes[SIM_NODES_MAX];
	bool cut[SIM_NODES_MAX + 1][SIM_NODES_MAX + 1]; /* cut[a][b]: a -> b is lost */
	int64_t heal_at;
	int64_t next_fault;
	bool healing; /* the liveness phase: no new faults, everything mends */

	/* the network: datagrams in flight, a binary heap by (at, seq) */
	struct datagram *net;
	uint32_t net_n, net_cap;
	uint64_t net_seq;

	struct client clients[SIM_CLIENTS_MAX];
	struct operator op;
	struct kr_voter_set boot; /* the initial voters, as formatted */

	/* ground truth */
	struct committed_batch *committed;
	uint32_t committed_n, committed_cap;
	uint64_t committed_end;
	/* the last committed voters record (the bootstrap set before one), and every one */
	struct kr_voter_set committed_set;
	uint64_t committed_set_off;
	struct committed_set {
		uint64_t off;
		struct kr_voter_set set;
	} * committed_sets;
	uint32_t committed_sets_n, committed_sets_cap;
	struct {
		int32_t id;	      /* 0: none seen */
		uint64_t incarnation; /* of the node when its dataplane led (0: never) */
	} * epoch_leader;	      /* indexed by epoch */
	uint32_t epoch_leader_cap;
	int64_t *acked_at[SIM_CLIENTS_MAX];	/* offset the client was told, -1 none, -2 dup */
	int64_t *committed_at[SIM_CLIENTS_MAX]; /* where (pid, seq) sits committed, or -1 */
	int64_t *committed_ts[SIM_CLIENTS_MAX]; /* --snapshots: its batch timestamp */
	/* --snapshots: the state machine's digest after each committed batch, as the first
	 * node to apply it had it (set[i]: known) */
	uint64_t *digest_at;
	bool *digest_set;
	uint32_t digest_cap;
	uint64_t snapshots, retained; /* taken, segments deleted */
	uint64_t installs;	      /* snapshots installed from a leader */
	uint64_t fragmented, whole;   /* messages sent in fragments, put together (--dgram) */
	uint64_t zero_copy_frames;    /* frames sent with their records from log (--zero-copy) */
	/* the snapshots (end offsets) the sim damaged on some node's disk, latest 32 */
	uint64_t snap_damaged_ends[32];
	uint32_t snap_damaged_n;
	int64_t stand_patience_us; /* KR_STAND_PATIENCE election timeouts */
	int64_t dedup_window_us;   /* --snapshots: the nodes' (0: the default, longer than a run) */

	/* what happened */
	uint64_t commits, elections, acks;
	bool violated;
	bool sabotaged;	    /* --sabotage has acted */
	bool mislabel_next; /* sabotage: the next datagram a node takes is called corrupt */
	char violation[512];
	struct trace_rec trace[SIM_TRACE];
	uint64_t trace_n;
};

/* world.c */
extern const struct sim *sim_current; /* the world being run (for the abort report) */
int sim_run(const struct sim_opts *o, uint64_t seed, struct sim **out);
/* Add the nodes' current starts to the run's fragment counts (before sim_free). */
void sim_tally(struct sim *s);
void sim_free(struct sim *s);
void sim_print_faults(const struct sim *s, FILE *f);
void sim_print_trace(const struct sim *s, FILE *f);
void sim_trace(struct sim *s, uint16_t kind, int node, int32_t a, int32_t b, int64_t c, int64_t d);
void sim_inject_control(struct sim *s, struct node *nd, const struct kr_el_action *a);
void sim_inject_frame(struct sim *s, struct node *from, struct node *to, uint32_t corr,
		      const struct kr_msg *m);
void sim_inject_dp(struct sim *s, struct node *nd, const struct kr_rp_action *a);
/* The index of the first of n batch records (stride bytes apart, each starting with its
 * uint64_t base offset, in ascending order) whose base is at least base. */
uint32_t sim_first_at(const void *batches, uint32_t n, size_t stride, uint64_t base);
_Static_assert(offsetof(struct image_batch, base) == 0, "sim_first_at reads base first");
_Static_assert(offsetof(struct committed_batch, base) == 0, "sim_first_at reads base first");
bool sim_image_holds(const struct image *img, uint64_t base, uint32_t epoch, uint32_t crc);

/* check.c: the invariants */
void check_violation(struct sim *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_step(struct sim *s, struct node *nd);
void check_voters_event(struct sim *s, struct node *nd, const struct kr_event *ev);
const struct vview *sim_voters(struct sim *s, struct node *nd);
/* Is (id, the directory node nd holds now) in set? */
bool sim_in_set(const struct kr_voter_set *set, const struct node *nd);
void check_dp_send(struct sim *s, struct node *nd, const struct kr_rp_action *a);
void check_control_send(struct sim *s, struct node *nd, const struct kr_el_action *a);
void check_persisted(struct sim *s, struct node *nd, const struct kr_quorum_state *qs);
void check_ack(struct sim *s, int client, uint64_t seq, uint64_t base, bool dup);
void check_voters_answer(struct sim *s, const struct operator* op, uint64_t offset);
void check_applied(struct sim *s, struct node *nd, const struct kr_batch_hdr *h, uint64_t digest);
/* An installed snapshot loaded: its state (digest) must be the ground truth's at end. */
void check_installed(struct sim *s, struct node *nd, uint64_t end, uint64_t digest);

/* sabotage.c: break the simulator's picture once, to prove a checker fires */
int sabotage_find(const char *name);
void sabotage_list(FILE *f);
const char *sabotage_name(int which);
const char *sabotage_text(int which);
void sabotage_try(struct sim *s);
void check_restart(struct sim *s, struct node *nd);
struct kr_restart;
void check_recovery(struct sim *s, struct node *nd, const struct kr_restart *rs);
bool check_liveness(struct sim *s, char *why, size_t n);
void check_final(struct sim *s);

/* trace kinds */
enum {
	TR_CTL_EVENT = 1,
	TR_CTL_TICK,
	TR_PERSIST,
	TR_TRANSITION,
	TR_CMD,
	TR_DP_CMD,
	TR_DP_PACKET,
	TR_DP_TICK,
	TR_DP_DURABLE,
	TR_FLUSH,
	TR_SEND,
	TR_DROP,
	TR_CRASH,
	TR_RESTART,
	TR_PAUSE,
	TR_RESUME,
	TR_PARTITION,
	TR_HEAL,
	TR_JUMP,
	TR_CLIENT_SEND,
	TR_CLIENT_ACK,
	TR_CLIENT_RETRY,
	TR_LIVENESS,
	TR_SABOTAGE,
	TR_CORRUPT,
	TR_STORAGE,	 /* a storage fault: a = enum simfs_fault, or 4 disk full, 5 latent error */
	TR_REFORMAT,	 /* the node's disk wiped and formatted again */
	TR_EXIT,	 /* the node exits: a durable write or sync failed */
	TR_REFUSED,	 /* a start refused (a = -errno) */
	TR_PLANE_PAUSE,	 /* one thread stops (a = plane) until c */
	TR_PLANE_RESUME, /* it goes on (a = plane) */
	TR_VOTERS_SEND,	 /* the operator asks for a voter change (a = op, b = voter, c = corr) */
	TR_VOTERS_ANSWER, /* and hears (a = error, b = outcome unknown, c = offset) */
	TR_APPLY,	  /* the apply actor applied a span (a = batches, c = base, d = end) */
	TR_SNAPSHOT,	  /* it wrote a snapshot (a = result, c = end, d = epoch) */
	TR_RETAIN,	  /* retention deleted a segment (c = the new log start) */
	TR_CLEAN,	  /* the cleaner removed a snapshot (c = its end, d = the target) */
	TR_INSTALL,	  /* the apply actor loaded an installed snapshot (c = end, d = epoch) */
	TR_SNAP_DAMAGE,	  /* a restart finds the newest snapshot damaged (c = its end) */
	TR_XFER,	  /* a download refused (a = -errno) or named (a = 1) (c = end) */
};

#endif /* KRAFTSIM_SIM_H */
