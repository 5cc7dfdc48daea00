/* kraftd: the replication logic (dataplane): pull replication with KRaft's Fetch, the
 * high watermark, client appends and reads. A pure core: each call takes the time
 * (monotonic microseconds) and appends actions to an output list; it reads no clock,
 * does no I/O and allocates nothing per packet (the log it owns appends in memory; the
 * flush thread makes it durable). The dataplane thread, the tests and the simulator
 * each carry out the actions.
 *
 * Leader: validates Fetch (epochs, ranges, sender), answers divergence at once from the
 * epoch cache, serves records as self-describing frames, parks a Fetch that finds
 * nothing (a newer one from the same replica replaces it) and answers it when data is
 * appended or the high watermark moves, tracks each replica, and moves the HW to the
 * largest offset a majority of voters holds durably (its own durable offset, never its
 * unflushed LEO), only past its epoch's LeaderChange record, never back. Client appends
 * are answered when the HW passes them, deduplicated by (producer id, sequence), and
 * answered "outcome unknown" if the leader loses office first.
 * Follower / observer: fetches with its LEO, last fetched epoch and durable offset;
 * appends a frame only if it is current and starts at its LEO; truncates to a
 * diverging epoch (never below its HW); takes the HW only from a non-diverging frame of
 * the current leader in the current epoch, capped at what that frame validated, never
 * lowered. Observers fetch and are tracked, and never count.
 *
 * Views in the actions (records in a KR_RP_SEND, bytes of a KR_RP_TRANSMIT) point into
 * the log or the input and are valid until the next call.
 */
#ifndef KRAFT_REPL_H
#define KRAFT_REPL_H

#include <stdbool.h>
#include <stdint.h>

#include "kraft/auth.h"
#include "kraft/common.h"
#include "kraft/log.h"
#include "kraft/planes.h"
#include "kraft/producers.h"
#include "kraft/reasm.h"
#include "kraft/voterset.h"
#include "kraft/wire.h"
#include "kraft/xfer.h"

/* Bounds. */
#define KR_PENDING_APPENDS_MAX 1024 /* appends waiting for commit (more: KR_ERR_BUSY) */
#define KR_PARKED_READS_MAX 64	    /* clients waiting for new commits (READ max_wait_us) */
#define KR_REPLY_FRAMES_MAX 64	    /* frames in one Fetch reply */
#define KR_RP_OUT_MAX 160
#define KR_XFER_OUT_MAX 8 /* snapshots a leader sends at once */
/* How often a parked snapshot request or a waiting download looks at its slot again. */
#define KR_XFER_POLL_US 200
/* A sending slot no request used for this long is freed (its fetcher went away). */
#define KR_XFER_IDLE_US 5000000

_Static_assert(KR_RP_OUT_MAX >= 2 * KR_REPLY_FRAMES_MAX + 16,
	       "a packet's reply and events, and parked answers besides, must fit");

struct kr_repl_config {
	int32_t node_id;
	uint8_t directory_id[KR_UUID_BYTES];
	struct kr_wire_ctx wire; /* every frame is checked against this cluster and voter set */
	uint8_t n_voters;
	int32_t voters[KR_VOTERS_MAX];
	/* Each voter's directory id (election.h): a Fetch counts as voter voters[i]'s only
	 * from that directory (all zero: from any, a voter set without directory ids). */
	uint8_t voter_dirs[KR_VOTERS_MAX][KR_UUID_BYTES];
	bool joining;		      /* this directory is not its node id's voter: an observer */
	bool memory_mode;	      /* an appended offset is durable at once */
	uint32_t fetch_max_wait_us;   /* a follower asks the leader to park this long; the
				       * leader parks no longer */
	uint32_t fetch_max_bytes;     /* record bytes per Fetch reply */
	uint32_t frame_records_max;   /* record bytes per frame; a larger batch goes alone in
				       * a frame of its own (sent in fragments) */
	uint32_t batch_bytes_max;     /* the largest batch an append writes, header included
				       * (0: KR_BATCH_BYTES_MAX) */
	uint16_t reply_frames_max;    /* frames per Fetch reply, at most KR_REPLY_FRAMES_MAX */
	int64_t fetch_retry_us;	      /* follower: a Fetch unanswered this long is re-sent */
	int64_t fetch_backoff_us;     /* follower: pause after an error answer */
	int64_t liveness_interval_us; /* liveness events to control at most this often */
	uint64_t repair_target;	      /* mid-log damage: until the LEO reaches this, the node
				       * reports no durable offset and does not vote */
	uint64_t incarnation;	      /* this start of the node: larger than every earlier one
				       * of its node id, re-formatted directories included */
	int64_t dedup_window_us;      /* a producer is forgotten only after this long without an
				  * append (0: KR_DEDUP_WINDOW_US_DEFAULT): a retry that
				  * reaches a leader within it is never appended twice */
	/* The voter set the log carries (include/kraft/voterset.h). dynamic: the directory
	 * was formatted with a bootstrap set (kraftd format --initial-controllers or
	 * --standalone; empty for a joining directory): voters records are read, followed
	 * and reported, and the first leader whose log holds none writes boot there. Not
	 * dynamic: the static controller.quorum.voters only, no voters record. */
	bool dynamic;
	struct kr_voter_set boot;
	/* More nodes an observer asks who leads, after the voters of the set in force and
	 * the configured ones (controller.quorum.bootstrap.servers, by node id): a node whose
	 * log names no voter it can reach still finds a leader the configuration never
	 * listed as a voter. */
	uint8_t n_bootstrap;
	int32_t bootstrap[KR_REPLICAS_MAX];
	/* Snapshots between nodes (include/kraft/xfer.h): n_xfer_out slots a leader sends
	 * snapshots from (one per fetcher at a time), and the slot a follower takes one
	 * into. None (NULL): a leader answers a Fetch below its log start with
	 * OFFSET_OUT_OF_RANGE and the fetcher starts over at that start, without the state
	 * below it (and a follower told to take a snapshot does the same). */
	struct kr_xfer *xfer_out;
	uint32_t n_xfer_out; /* at most KR_XFER_OUT_MAX */
	struct kr_xfer *xfer_in;
	/* Messages larger than a datagram (include/kraft/reasm.h): the pool their fragments
	 * are put together in, initialised by the shell (kr_reasm_init); the core puts
	 * FRAGMENT frames there and takes a whole message as if it had come in one datagram.
	 * NULL: fragments are dropped (UNEXPECTED_API). */
	struct kr_reasm *reasm;
};

/* The dataplane's role, as the control plane last commanded it. */
enum kr_repl_role {
	KR_REPL_FENCED, /* acts in no role: no append, truncation or acknowledgement */
	KR_REPL_LEADER,
	KR_REPL_FOLLOWER,
	KR_REPL_UNATTACHED, /* an observer looking for the leader (a voter: as fenced, unless
			     * told to look too: KR_CMD_UNATTACHED seq 1) */
	KR_REPL_FAILED,	    /* stopped itself (KR_EV_FATAL): acknowledges nothing more */
};

/* A flush request (KR_RP_FLUSH): make the log durable up to upto, for generation gen. */
struct kr_rp_flush {
	uint64_t upto;
	uint32_t gen;
};

enum kr_rp_action_type {
	KR_RP_SEND = 1,	 /* encode u.send.msg and send it to a node (to_node >= 0) or to the
			 * address a request came from (to_addr) */
	KR_RP_TRANSMIT,	 /* send u.transmit's bytes (a control frame) to node */
	KR_RP_EVENT,	 /* pass u.ev to the control plane */
	KR_RP_FLUSH,	 /* ask the flush thread to make the log durable up to u.flush.upto;
			 * it reports back with kr_repl_on_durable(upto, gen) */
	KR_RP_INSTALLED, /* a snapshot taken from the leader (u.installed, durable under its
			  * name) now stands for the log below its end: the state machine
			  * loads it, and it is this node's newest snapshot */
};

struct kr_rp_action {
	uint8_t type;
	union {
		struct {
			int32_t to_node;
			uint64_t to_addr;
			uint32_t correlation;
			struct kr_msg msg;
		} send;
		struct {
			int32_t to_node;
			const uint8_t *bytes;
			uint16_t len;
		} transmit;
		struct kr_event ev;
		struct kr_rp_flush flush;
		struct kr_snap_id installed;
	} u;
};

struct kr_rp_out {
	uint32_t n;
	uint32_t dropped; /* never: the core checks room before it produces */
	struct kr_rp_action a[KR_RP_OUT_MAX];
};

/* Packets and inputs dropped, by reason. X(name, meaning) */
#define KR_RP_DROP_TABLE(X)                                                                   \
	X(DECODE, "frame failed to decode (see the per-status counters)")                     \
	X(SPOOFED_SENDER, "a voter's id from an address that is not that voter's")            \
	X(CLIENT_PEER_API, "a peer API from a client")                                        \
	X(UNEXPECTED_API, "an API this node does not take")                                   \
	X(CONTROL_TOO_BIG, "a control frame too big for a ring element")                      \
	X(NOT_FOLLOWING, "a Fetch reply while not following")                                 \
	X(STALE_REPLY, "a Fetch reply to a request not in flight, or to another start")       \
	X(WRONG_LEADER, "a Fetch reply from another leader or epoch")                         \
	X(FRAME_MISMATCH, "a Fetch reply frame that does not start at this log's end")        \
	X(BAD_BATCH, "a batch that would not append (damaged, out of order, no room)")        \
	X(OBSERVERS_FULL, "a Fetch from one observer too many")                               \
	X(STALE_DURABLE, "a flush report from before a truncation")                           \
	X(STALE_COMMAND, "a command for an older epoch")                                      \
	X(STALE_INCARNATION, "a Fetch from an earlier start of a node than one already seen") \
	X(AUTH, "failed authentication (see the per-reason counters)")                        \
	X(SNAPSHOT_MISMATCH, "a snapshot reply frame that does not continue the bytes held")  \
	X(FRAGMENT, "a fragment reassembly refused (see its per-reason counters)")            \
	X(BAD_WHOLE, "a message put together from fragments that was itself a fragment, "     \
		     "carried a trailer, named another sender, or was a control frame")

enum kr_rp_drop {
#define KR_RP_DROP_ENUM(n, text) KR_RP_DROP_##n,
	KR_RP_DROP_TABLE(KR_RP_DROP_ENUM)
#undef KR_RP_DROP_ENUM
		KR_RP_DROP_COUNT
};

const char *kr_rp_drop_name(unsigned reason);

struct kr_repl_stats {
	uint64_t drops[KR_RP_DROP_COUNT];
	uint64_t decode_errors[KR_WIRE_STATUS_COUNT];
	uint64_t fetches_served;
	uint64_t fetches_parked;
	uint64_t divergences_sent;
	uint64_t truncations;
	uint64_t appends;
	uint64_t duplicates;
	uint64_t commits;	    /* appends answered after commit */
	uint64_t producers_evicted; /* idle longer than the window, forgotten for a new one */
	uint64_t producers_full;    /* new producers refused (BUSY): all remembered ones
				     * appended within the window */
	uint64_t producers_lost;    /* a new leader's log held more producers within the
				     * window than the table: the oldest were forgotten */
	uint64_t voters_records;    /* voters records appended (written or fetched) */
	uint64_t voters_undone;	    /* truncations that undid one */
	/* snapshots between nodes */
	uint64_t snapshots_named;    /* leader: Fetch answers that named its snapshot */
	uint64_t snapshot_requests;  /* leader: FetchSnapshot requests taken */
	uint64_t snapshot_bytes_out; /* leader: snapshot bytes sent */
	uint64_t snapshot_bytes_in;  /* follower: snapshot bytes received in order */
	uint64_t snapshots_installed;
	uint64_t snapshot_failures; /* follower: downloads given up (damaged, another
				     * cluster's, a disk error, the leader's snapshot gone) */
};

/* A replica the leader tracks: a voter (node id, directory id) from the configuration,
 * or an observer slot taken by the first Fetch of a (node id, directory id). A
 * re-formatted voter's new directory is an observer. */
/* What a Fetch's replies echo: its correlation id and the fetcher's incarnation. */
struct kr_fetch_key {
	uint32_t correlation;
	uint64_t incarnation;
};

struct kr_replica {
	int32_t id; /* KR_NODE_NONE: a free observer slot */
	bool voter;
	bool keyed; /* dir is part of the key (false: a voter without a known directory id,
		     * matched by node id alone; dir then says the last one heard) */
	uint8_t dir[KR_UUID_BYTES];
	uint64_t addr;
	uint64_t incarnation; /* the latest start of the replica this leader heard from */
	uint64_t leo;	      /* KR_OFFSET_NONE until it fetched in this epoch */
	uint64_t durable;     /* KR_OFFSET_NONE until known */
	uint64_t hw_sent;     /* the HW in the last reply it got */
	int64_t last_fetch_us;
	int64_t last_caught_up_us;
	int64_t last_liveness_us;
	/* its parked Fetch */
	bool parked;
	struct kr_fetch_key parked_key;
	uint64_t parked_offset;
	uint32_t parked_max_bytes;
	int64_t parked_deadline;
};

struct kr_pending_append {
	uint64_t base;
	uint64_t end; /* committed once the HW reaches it */
	uint32_t count;
	uint32_t correlation;
	uint64_t addr;
};

/* A client's voter change taken by this leader, waiting for its commit. */
struct kr_rp_voters_wait {
	bool active;
	uint64_t addr;
	uint32_t corr;
	uint64_t offset; /* of its voters record */
};

/* A leader's sending slot (cfg.xfer_out[i]): whose transfer it serves, and its request
 * parked until the window holds bytes at its position. */
struct kr_rp_xfer_out {
	bool used;
	int32_t node;
	uint8_t dir[KR_UUID_BYTES];
	uint64_t incarnation;
	int64_t used_us;
	struct kr_snap_id id; /* asked of the I/O side */
	bool parked;
	struct kr_fetch_key key;
	uint64_t addr;
	uint64_t pos;
	uint32_t max_bytes;
	int64_t deadline; /* then an answer without bytes (the fetcher's heartbeat) */
	int64_t poll_at;
};

struct kr_parked_read {
	bool active;
	uint64_t addr;
	uint32_t correlation;
	uint64_t from;
	uint32_t max_bytes;
	int64_t deadline;
};

/* The whole state. Callers allocate it and touch it only through the functions below.
 *
 * Invariants (asserted where they can break):
 *   hw == KR_OFFSET_NONE or hw <= the log end; on a leader hw > lead.epoch_start.
 *   committed never decreases, and committed >= hw whenever hw is known.
 *   durable <= the log end.
 *   role changes only in rp_become() (repl.c), against its table.
 */
struct kr_repl {
	struct kr_repl_config cfg;
	struct kr_log *log;
	enum kr_repl_role role;
	uint32_t epoch;
	int32_t leader_id;
	uint64_t hw;		/* KR_OFFSET_NONE: not known (yet); a new leader starts so */
	uint64_t committed;	/* the largest HW this node has known since it started: reads
			     * and the truncation guard use it, whatever the role */
	uint64_t durable;	/* own flushed end; the LEO in memory mode */
	uint32_t gen;		/* bumped by every truncation: older flush reports are void */
	int64_t wall_offset_us; /* wall clock = now + this (batch timestamps, DescribeQuorum) */

	/* The leader's own, reset when it takes office. */
	struct {
		uint64_t epoch_start; /* offset of this epoch's LeaderChange record */
		bool left_sent;	      /* KR_EV_LEFT_VOTERS sent: it removed itself, committed */
	} lead;
	/* What a leader tracks. Replicas keep their key and the latest start heard across
	 * terms (late packets outlive terms); pending appends outlive the term that took them
	 * (answered "outcome unknown" after it); the producer table is rebuilt from the log by
	 * each new leader. n_replicas counts the slots ever used (voters first, then observer
	 * slots): every loop over the replicas, the per-append ones above all, stops there;
	 * the slots past it are free. */
	uint32_t n_replicas;
	struct kr_replica replicas[KR_REPLICAS_MAX];
	uint32_t pending_head;
	uint32_t pending_n;
	uint32_t pending_unknown; /* the first ones, abandoned when the leader lost office */
	struct kr_pending_append pending[KR_PENDING_APPENDS_MAX];

	/* Fetching: a follower, or an observer looking for the leader; reset by every role
	 * command (bootstrap_next excepted: observers ask the voters in turn). */
	struct {
		bool inflight;
		uint32_t corr;
		uint32_t prev_corr; /* the request before: its late frames may still append */
		int32_t to;
		int64_t sent_us;
		int64_t next_us;
		uint64_t durable_sent;
		uint64_t first_hw; /* the first HW the leader of this epoch reported */
		bool caught_up_sent;
		int64_t leader_liveness_us;
		uint32_t bootstrap_next;
	} fetch;

	/* Snapshots: the newest this node holds (a leader names it), the slots it sends
	 * from, and the one a follower takes into (active: fetching the snapshot id instead
	 * of the log; size: 0 until the leader's first answer). */
	struct kr_snap_id snap_newest;
	/* this node lacks the state its log start needs (kr_repl_want_snapshot): its Fetch
	 * asks the leader to name a snapshot; an install ends it */
	bool want_snapshot;
	struct kr_rp_xfer_out xo[KR_XFER_OUT_MAX];
	struct {
		bool active;
		struct kr_snap_id id;
		uint64_t size;
		uint64_t received;
		uint64_t log_start; /* the leader's log start then, and the epoch before it */
		uint32_t start_epoch;
	} snap_in;

	struct kr_parked_read reads[KR_PARKED_READS_MAX];
	uint32_t reads_active; /* how many of reads[] are active: timer scans skip an empty table */
	uint32_t next_correlation;
	struct kr_repl_stats stats;
	struct kr_auth auth; /* frames in are checked, frames out sealed (the harness) */
	struct kr_replica_info describe[KR_REPLICAS_MAX];
	/* The voter sets of this log by offset, and the number of the last KR_EV_VOTERS. */
	struct kr_voter_history voters;
	uint32_t voters_seq;
	bool voters_left_pending; /* as the last KR_EV_VOTERS said (left_pending) */
	bool looking;		  /* unattached: look for the leader even as a voter */
	struct kr_rp_voters_wait voters_wait;
	/* Last: init zeroes everything above it, and the table's entries (1.5 MB) are set
	 * only as they are handed out, so a start does not write them all. */
	struct kr_producers producers;
};

/**
 * Start fenced, owning log (already opened and recovered). The voter set in force is
 * read from the log's voters records (dynamic clusters); the first call that takes
 * actions reports it (KR_EV_VOTERS) before anything else.
 * @return 0, -EINVAL if cfg is inconsistent (no voters, frame or reply bounds that
 *   cannot carry one largest batch, reply_frames_max above KR_REPLY_FRAMES_MAX), or
 *   -EBADMSG if the log holds a malformed voters record or a change of more than one
 *   voter (a log no correct cluster writes).
 */
int kr_repl_init(struct kr_repl *r, const struct kr_repl_config *cfg, struct kr_log *log);

/**
 * Authentication: keys to check every frame with (and to mark frames this core encodes
 * for sealing; the shell seals them after encoding: kr_auth_seal_next on r->auth). The
 * first call starts the sequence at wall_us; later calls change keys (a rotation).
 * Without a call, or with no sending key, nothing is checked.
 */
void kr_repl_auth(struct kr_repl *r, const struct kr_auth_keys *keys, int64_t wall_us);

/** A command from the control plane (FENCE, LEADER, FOLLOWER, UNATTACHED, SEND). */
void kr_repl_on_cmd(struct kr_repl *r, const struct kr_cmd *cmd, int64_t now,
		    struct kr_rp_out *out);

/**
 * A datagram from the network. addr is where it came from (replies to requests go
 * back there); addr_node is the voter whose configured address that is, or
 * KR_NODE_NONE. The frame is decoded and checked here (drops are counted by reason);
 * control frames go to the control plane as KR_EV_PACKET events.
 */
void kr_repl_on_packet(struct kr_repl *r, const uint8_t *buf, size_t len, int32_t addr_node,
		       uint64_t addr, int64_t now, struct kr_rp_out *out);

/** The flush thread made the log durable up to offset, for truncation generation gen. */
void kr_repl_on_durable(struct kr_repl *r, uint64_t offset, uint32_t gen, int64_t now,
			struct kr_rp_out *out);

/** Storage failed: stop acknowledging anything, tell the control plane (fail-stop). */
void kr_repl_fail(struct kr_repl *r, enum kr_fatal why, int64_t now, struct kr_rp_out *out);

/** Fire timers: parked fetches and reads due, Fetch re-sends, observer discovery. */
void kr_repl_tick(struct kr_repl *r, int64_t now, struct kr_rp_out *out);

/**
 * Encode a KR_RP_SEND action as a whole frame from this node into buf.
 * @return the frame length, or a negative KR_WIRE_Exxx status.
 */
int kr_repl_encode(const struct kr_repl *r, const struct kr_rp_action *a, uint8_t *buf, size_t cap);

/**
 * Leader of a dynamic cluster: append the set in force again, as a new voters record at
 * the log end, so that retention may delete the segment that holds the last one (the set
 * must stay in the log for nodes that start or catch up from its start). Only once the
 * last voters record is committed.
 * @return 1 (appended), 0 (nothing to do: not the leader, a static cluster, or the last
 *   record not committed yet) or the log's error.
 */
int kr_repl_voters_renew(struct kr_repl *r, int64_t now, struct kr_rp_out *out);

/**
 * Leader of a dynamic cluster: change the voter set by one voter, by appending a voters
 * record of the new set (in force at once on this node, on each follower when it
 * appends it; done when the HW passes it). Refused, with nothing appended:
 *   NOT_LEADER_OR_FOLLOWER  not the leader
 *   UNSUPPORTED_VERSION     a static cluster
 *   REQUEST_TIMED_OUT       the leader has not committed a record of its own epoch yet,
 *                           or the last voters record is not committed (one change at a
 *                           time), or (ADD) v is not an observer whose Fetch reached this
 *                           log's end within the last fetch timeout
 *   DUPLICATE_VOTER         (ADD) v's node id is a voter already, under any directory id
 *   VOTER_NOT_FOUND         (REMOVE, UPDATE) no voter (v's id, v's directory); (REMOVE)
 *                           the last voter
 *   INVALID_REQUEST         v is not a valid voter (directory id all zero; port 0 for
 *                           ADD or UPDATE: REMOVE names no endpoint), or
 *                           (UPDATE) its endpoint is what the set says already
 *   LOG_FULL                the log has no room
 * A leader that removes itself leads on, not counted, until the change commits; then
 * it emits KR_EV_LEFT_VOTERS (its control plane resigns) and refuses every append and
 * change (NOT_LEADER_OR_FOLLOWER) until it does.
 * @return KR_ERR_NONE with *offset the record's offset, or the error.
 */
uint16_t kr_repl_voters_change(struct kr_repl *r, enum kr_voters_op op, const struct kr_voter *v,
			       int64_t now, struct kr_rp_out *out, uint64_t *offset);

/**
 * The newest snapshot this node holds (written by its state machine's writer, loaded at
 * start, or installed): a leader names it to a fetcher that needs one. {0, 0}: none.
 */
void kr_repl_snapshot(struct kr_repl *r, struct kr_snap_id newest);

/**
 * This node's state machine cannot be rebuilt from its log (its snapshot at the log
 * start is damaged): its Fetch asks the leader for a snapshot ending at or past its log
 * start (KR_FETCH_REQ_F_WANT_SNAPSHOT) while it goes on replicating, and the first one
 * installed ends the want (KR_EV_STATE_RESTORED tells the control plane, which kept the
 * node from standing for election meanwhile). Needs cfg.xfer_in.
 */
void kr_repl_want_snapshot(struct kr_repl *r);

/** The earliest time kr_repl_tick has work (INT64_MAX: none). */
int64_t kr_repl_next_deadline(const struct kr_repl *r);

/* ---- THE HARNESS: carrying out the core's actions (as election.h's) ----
 *
 * Frames are encoded straight into the buffer the shell gives (an mbuf, a socket buffer,
 * a ring element: no copy), and sealed with the core's keys when it authenticates. */
struct kr_rp_ops {
	/* Where to encode a frame for node to_node (>= 0) or address to_addr: a buffer of
	 * *cap bytes, or NULL (no route: the shell counts it, the action is done). */
	uint8_t *(*tx_begin)(void *arg, int32_t to_node, uint64_t to_addr, uint32_t *cap);
	/* Send len bytes of that buffer (0: nothing; it goes back). */
	void (*tx_end)(void *arg, uint32_t len);
	/* Give the control plane an event. 0 or -EAGAIN (the ring is full). */
	int (*event)(void *arg, const struct kr_event *ev);
	/* Make the log durable up to f->upto (KR_RP_FLUSH). A shell whose flush thread takes
	 * whatever was appended by then (group commit) may do nothing here. */
	void (*flush)(void *arg, const struct kr_rp_flush *f);
	/* A KR_RP_SEND about to be encoded (the node's commit-latency clock). May be NULL. */
	void (*sending)(void *arg, const struct kr_rp_action *a);
	/* KR_RP_INSTALLED. May be NULL (then nothing is loaded). */
	void (*installed)(void *arg, struct kr_snap_id id);
	/* Zero copy. May be NULL: every frame is copied into the buffer. Otherwise, for a
	 * FETCH_RESP's records or a FRAGMENT's slice of them (KR_RP_EXT_MIN bytes or more,
	 * in a cluster without authentication): send the first len bytes of the buffer
	 * tx_begin gave, followed by ext_len bytes at ext, log memory the core read. The
	 * shell sends them from where they are (pinned, kr_log_pin, until the device is
	 * done with them) or, when it cannot, copies them after the len bytes: the buffer
	 * has room for the whole frame. Instead of tx_end. */
	void (*tx_end_ext)(void *arg, uint32_t len, const uint8_t *ext, uint32_t ext_len);
};

/* Payloads smaller than this are copied: another buffer to chain costs more */
#define KR_RP_EXT_MIN 256

struct kr_rp_harness {
	struct kr_repl *r;
	const struct kr_rp_ops *ops;
	void *arg;
	struct kr_rp_out out;	/* the core's output: give &out to the core's calls */
	uint32_t next;		/* the first action of out not carried out yet */
	uint64_t encode_errors; /* frames that would not encode or seal (a bug) */
	int last_error;		/* the last such failure's codec status */
	/* A message larger than the buffer tx_begin gives (a datagram) is encoded whole into
	 * big (big_cap bytes, KR_MSG_MAX for any message; the shell's) and sent as FRAGMENT
	 * frames, each in a buffer of its own from tx_begin, numbered by msg_id. NULL: such
	 * a message is an encode error. */
	uint8_t *big;
	uint32_t big_cap;
	uint32_t msg_id;
	uint64_t fragmented; /* messages sent in fragments */
	uint64_t fragments;  /* the fragments they took */
	/* Encode a large message whole into big before cutting it, its records copied there
	 * too (how it was done before; corebench's baseline). Off: the records are read
	 * from the log once, by each fragment. */
	bool stage;
	uint64_t ext_frames; /* frames sent with their payload from log memory (tx_end_ext) */
	uint64_t ext_bytes;  /* those payloads' bytes */
};

/**
 * Carry out the next action of h->out at time now, if any.
 * @return 1 (one carried out), 0 (none left: h->out is empty again) or -EAGAIN (an
 *   operation said "not yet": call again later, the action is kept).
 */
int kr_rp_harness_step(struct kr_rp_harness *h, int64_t now);

/** Step until none is left (0) or an operation says -EAGAIN. */
int kr_rp_harness_run(struct kr_rp_harness *h, int64_t now);

/*
 * GROUP COMMIT (disk mode), as the node and kraftsim both do it. The core's FLUSH actions
 * only say that something waits; the shell, whenever no flush job is out, takes one
 * covering everything appended so far (kr_rp_flush_begin: no I/O), has another actor
 * carry it out (kr_log_job_run on fl->job: the writes and syncs), and hands it back
 * (kr_rp_flush_end: no I/O), which tells the core the new durable end. A job the log
 * cannot give, or one that failed, fail-stops the core (KR_FATAL_STORAGE): nothing more
 * may count as durable. Both leave their actions in h->out for the shell to carry out.
 */
struct kr_rp_flusher {
	struct kr_log_job job; /* the other actor's while out */
	bool out;
	uint32_t gen; /* the core's generation when the job was taken */
};

/** @return 1 with *f describing the job taken, 0 (none needed, or one is out), or the
 *  log's error (the core is failed). */
int kr_rp_flush_begin(struct kr_rp_harness *h, struct kr_log *log, struct kr_rp_flusher *fl,
		      int64_t now, struct kr_rp_flush *f);
/** @return 0, -EINVAL (no job out), or the job's error (the core is failed; fl->job.err
 *  says why). */
int kr_rp_flush_end(struct kr_rp_harness *h, struct kr_log *log, struct kr_rp_flusher *fl,
		    int64_t now);

/**
 * The leader's view for DescribeQuorum and telemetry: fills d (voters first), with
 * replicas pointing at r's own array (valid until the next call). A non-leader reports
 * NOT_LEADER_OR_FOLLOWER with the leader it knows.
 */
void kr_repl_describe(struct kr_repl *r, int64_t now, struct kr_describe_resp *d);

#endif /* KRAFT_REPL_H */
