/* kraftd: the election state machine (control plane), KRaft's KIP-595 with KIP-996
 * pre-vote. A pure core: every call takes the time (monotonic microseconds) and appends
 * actions to an output list; it reads no clock, does no I/O and allocates nothing. The
 * control thread, the tests and the simulator each carry out the actions.
 *
 * Roles (a voter): unattached (maybe with a vote cast), prospective (asking pre-votes,
 * same epoch), candidate (epoch + 1, voted for itself), leader, follower, resigned.
 * Observers only go unattached <-> follower: they never vote or time out into an
 * election. Role changes happen only in el_convert() (control/election/election.c),
 * checked against a transition table.
 *
 * Actions must be carried out in order: a KR_EL_PERSIST must be durable before anything
 * after it leaves the node (a vote is persisted before its answer is sent).
 */
#ifndef KRAFT_ELECTION_H
#define KRAFT_ELECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "kraft/common.h"
#include "kraft/datadir.h"
#include "kraft/planes.h"
#include "kraft/wire.h"

enum kr_role {
	KR_ROLE_UNATTACHED,
	KR_ROLE_PROSPECTIVE,
	KR_ROLE_CANDIDATE,
	KR_ROLE_LEADER,
	KR_ROLE_FOLLOWER,
	KR_ROLE_RESIGNED,
	KR_ROLE_COUNT
};

const char *kr_role_name(unsigned role);

/* Why a role changed (for logs, the simulator's counters and the tests). */
#define KR_WHY_TABLE(X)                                                                   \
	X(START, "restart rules applied to the persisted state")                          \
	X(ELECTION_TIMEOUT, "election timeout")                                           \
	X(FETCH_TIMEOUT, "no good Fetch reply from the leader within the fetch timeout")  \
	X(PREVOTE_WON, "a majority granted pre-votes")                                    \
	X(PREVOTE_LOST, "pre-votes rejected by a majority")                               \
	X(VOTE_WON, "a majority granted votes")                                           \
	X(BACKOFF_DONE, "election backoff over")                                          \
	X(HIGHER_EPOCH, "a message named a higher epoch")                                 \
	X(LEADER_KNOWN, "learned the leader of the epoch")                                \
	X(VOTE_GRANTED, "granted a vote")                                                 \
	X(CHECK_QUORUM, "no Fetch from a majority within 1.5 x the fetch timeout")        \
	X(SHUTDOWN, "shutting down")                                                      \
	X(LEADER_RESIGNED, "the leader resigned (EndQuorumEpoch): a successor's turn")    \
	X(REJOINED, "a first start found the cluster's history: rejoined as an observer") \
	X(VOTERS_CHANGED, "the voter set in force changed: this node left or joined it")  \
	X(LEFT_VOTERS, "the change that removed this leader from the voters committed")

enum kr_why {
#define KR_WHY_ENUM(n, text) KR_WHY_##n,
	KR_WHY_TABLE(KR_WHY_ENUM)
#undef KR_WHY_ENUM
		KR_WHY_COUNT
};

const char *kr_why_name(unsigned why);
const char *kr_why_text(unsigned why);

/* Inputs the core ignored, by reason (guard first; each counted, none crashes). */
#define KR_EL_IGNORE_TABLE(X)                                                      \
	X(UNKNOWN_SENDER, "a request or response from a node that is not a voter") \
	X(STALE_EPOCH, "a response from an older epoch")                           \
	X(STALE_RESPONSE, "a response to a request this node no longer waits for") \
	X(WRONG_ROLE, "a message this role does not handle")                       \
	X(INVALID, "a message whose fields contradict each other")                 \
	X(INCONSISTENT_LEADER, "a second leader named for the same epoch")         \
	X(STALE_FENCE_ACK, "a fence acknowledgement for an older fence")           \
	X(STALE_EVENT, "a dataplane event for another epoch or leader")            \
	X(UNEXPECTED_API, "an API the control plane does not handle")

enum kr_el_ignore {
#define KR_EL_IGNORE_ENUM(n, text) KR_EL_IGNORE_##n,
	KR_EL_IGNORE_TABLE(KR_EL_IGNORE_ENUM)
#undef KR_EL_IGNORE_ENUM
		KR_EL_IGNORE_COUNT
};

const char *kr_el_ignore_name(unsigned reason);

/* Why a Vote or pre-vote was refused (carried in the KR_EL_SEND of its answer, for the
 * node's log). X(name, meaning) */
#define KR_REFUSAL_TABLE(X)                                                                    \
	X(NONE, "granted")                                                                     \
	X(NOT_A_VOTER, "the candidate is not a voter (node id, directory id)")                 \
	X(WRONG_VOTER, "the request was meant for another voter (node id, directory id)")      \
	X(INVALID, "the request's epochs contradict each other")                               \
	X(OLD_EPOCH, "the request's epoch is older than this node's")                          \
	X(OBSERVER, "this node is an observer")                                                \
	X(BLOCKED, "this node may lack acknowledged data (amnesia or repair) until caught up") \
	X(ROLE, "this node leads, follows a live leader, or voted for another in the epoch")   \
	X(LOG_BEHIND, "the candidate's log is behind this node's")

enum kr_refusal {
#define KR_REFUSAL_ENUM(n, text) KR_REFUSAL_##n,
	KR_REFUSAL_TABLE(KR_REFUSAL_ENUM)
#undef KR_REFUSAL_ENUM
		KR_REFUSAL_COUNT
};

const char *kr_refusal_text(unsigned why);

/* A node without state stands only after this many election timeouts with no leader. */
#define KR_STAND_PATIENCE 10

struct kr_election_config {
	int32_t node_id;
	uint8_t directory_id[KR_UUID_BYTES];
	uint8_t n_voters;
	int32_t voters[KR_VOTERS_MAX];
	/* Each voter's directory id: a voter is (node id, directory id). All zero: not known
	 * (a voter set formatted before directory ids: any directory of that node id). */
	uint8_t voter_dirs[KR_VOTERS_MAX][KR_UUID_BYTES];
	bool joining; /* this directory is not its node id's voter: an observer, whatever
		       * voter_dirs say (a plain `kraftd format`, or a rejoin) */
	int64_t election_timeout_us;	  /* T: each timeout is drawn from [T, 2T) */
	int64_t fetch_timeout_us;	  /* follower -> prospective; check quorum 1.5x;
					   * BeginQuorumEpoch re-sent every 0.5x */
	int64_t election_backoff_max_us;  /* cap of the lost-election backoff */
	int64_t election_backoff_base_us; /* unit of that backoff; 0: max / 10 */
	int64_t request_timeout_us;	  /* re-send unanswered Vote / EndQuorumEpoch */
	int64_t shutdown_timeout_us;	  /* a leader that shuts down waits this long for
					   * its EndQuorumEpoch acknowledgements */
	int64_t bootstrap_wait_us;	  /* FIRST START: pre-votes need every voter's grant
					   * this long after the start, then a majority's */
	/* Nodes whose candidacy this node answers though they are outside its set in force
	 * (its log may lag theirs): the configured voters and bootstrap nodes. Any other id
	 * asking for a vote is no voter (hostile or lost), as before voter changes. */
	uint8_t n_known;
	int32_t known[KR_REPLICAS_MAX];
};

/* What the node knows at start. */
struct kr_election_start {
	struct kr_quorum_state qs;	   /* from the quorum-state file */
	uint32_t log_last_epoch;	   /* epoch of the last record in the log */
	bool vote_blocked;		   /* amnesia (a memory-mode restart) or mid-log damage: no
				    * vote, pre-vote or candidacy until KR_EV_CAUGHT_UP from a
				    * leader of an epoch >= qs.epoch */
	bool stand_blocked;		   /* its state machine cannot be rebuilt from its log
				    * (the snapshot at its log start is damaged): it votes,
				    * but stands for no election until KR_EV_STATE_RESTORED
				    * (it has installed the leader's snapshot), unless no
				    * leader was heard of for KR_STAND_PATIENCE election
				    * timeouts (it may hold the only up-to-date log: kraftsim
				    * found a cluster that could elect no one otherwise) */
	bool first_start;		   /* an initial voter's directory (format
				    * --initial-controllers) that has never left epoch 0: see
				    * "FIRST START" below */
	uint8_t rejoin_dir[KR_UUID_BYTES]; /* first_start: the fresh random directory id to
					    * take if the node must rejoin */
	uint64_t rng_seed;
};

/*
 * FIRST START. A directory formatted with --initial-controllers holds a voter's
 * directory id from the list, so a format re-run on a wiped disk (automation) would
 * bring that voter back with an empty log and no memory of its votes: it could elect a
 * leader that lacks acknowledged records, or vote twice in an epoch. So while such a
 * node is still at epoch 0 with an empty log, any voter's message that shows the
 * cluster has a history (an epoch above 0 other than the first election's Vote at epoch
 * 1 from an empty log, or a non-empty log) makes it rejoin: it takes rejoin_dir as its
 * directory id (KR_EL_REJOIN, durable first), becomes an observer, and tells the
 * dataplane (KR_CMD_IDENTITY). An initial voter that starts after the others elected a
 * leader rejoins the same way: the two cannot be told apart. So that initial voters
 * started one after the other all stay voters, a node on its first start wins its
 * pre-votes only with every voter's grant for bootstrap_wait_us after its start (a
 * delay, never a risk: pre-votes decide nothing), and with a majority's after that.
 */

enum kr_el_action_type {
	KR_EL_PERSIST = 1,    /* make u.persist durable before carrying out what follows */
	KR_EL_SEND,	      /* send u.send.msg to u.send.to with u.send.correlation */
	KR_EL_COMMAND,	      /* a command for the dataplane (u.cmd; never KR_CMD_SEND) */
	KR_EL_TRANSITION,     /* the role changed (for logs and counters) */
	KR_EL_SHUTDOWN_DONE,  /* a graceful shutdown may complete now */
	KR_EL_VOTE_UNBLOCKED, /* the node caught up: a durable repair marker (mid-log damage)
			       * may now be cleared. The marker must be written before the
			       * damaged range is discarded, or a crash during the repair
			       * forgets that the node may lack what it acknowledged. */
	KR_EL_REJOIN,	      /* first start found history: the directory id is now u.rejoin.dir
			       * (make it durable before carrying out what follows); the node is
			       * an observer from here on */
};

struct kr_el_action {
	uint8_t type;
	union {
		struct kr_quorum_state persist;
		struct {
			int32_t to;
			uint32_t correlation;
			uint8_t refusal; /* VOTE_RESP: enum kr_refusal */
			struct kr_msg msg;
		} send;
		struct {
			uint8_t type;
			uint32_t epoch;
			int32_t node;
			uint32_t seq;
		} cmd;
		struct {
			uint8_t from;
			uint8_t to;
			uint8_t why;
			uint32_t epoch;
			int32_t leader;
		} transition;
		struct {
			uint8_t dir[KR_UUID_BYTES];
			int32_t node;	/* whose message showed the history */
			uint32_t epoch; /* the epoch it named */
		} rejoin;
	} u;
};

/* Enough for the largest call: a fence acknowledgement answering a queued vote from
 * every voter (persist + send each), plus a transition's persist, command, sends and
 * note. */
#define KR_EL_OUT_MAX (4 * KR_VOTERS_MAX + 16)

struct kr_el_out {
	uint32_t n;
	uint32_t dropped; /* actions that did not fit: a bug (asserted in debug builds) */
	struct kr_el_action a[KR_EL_OUT_MAX];
};

enum kr_vote_record { KR_VOTE_UNRECORDED, KR_VOTE_GRANTED, KR_VOTE_REJECTED };

/* The dataplane state the control plane last commanded. */
enum kr_dp_state {
	KR_DP_NONE,    /* nothing commanded yet */
	KR_DP_FENCING, /* FENCE sent, not acknowledged */
	KR_DP_FENCED,  /* FENCE acknowledged; no role command since */
	KR_DP_LEADER,
	KR_DP_FOLLOWER,
	KR_DP_UNATTACHED, /* observers: looking for the leader */
};

struct kr_election_stats {
	uint64_t ignored[KR_EL_IGNORE_COUNT];
	uint64_t transitions[KR_ROLE_COUNT]; /* by destination role */
	uint64_t elections;		     /* candidacies started */
	uint64_t votes_granted;
	uint64_t prevotes_granted;
};

/* The whole state. Callers allocate it and touch it only through the functions below.
 *
 * Invariants (asserted by el_check() after every role change):
 *   voter_index < 0 (an observer): role is unattached or follower.
 *   role leader or resigned: leader_id is this node.
 *   role candidate: voted_id is this node.
 *   role follower: leader_id is another node.
 *   epoch never decreases; persisted.epoch <= epoch, and a KR_EL_PERSIST is out for any
 *   difference before anything that reflects it.
 */
struct kr_election {
	struct kr_election_config cfg;
	int voter_index; /* self in cfg.voters, or -1: an observer */
	uint32_t majority;
	int64_t backoff_base_us;

	/* The quorum state in force. Whenever it differs from what was last persisted, a
	 * KR_EL_PERSIST goes out before anything that reflects it. */
	uint32_t epoch;
	int32_t leader_id;
	int32_t voted_id;
	uint8_t voted_dir[KR_UUID_BYTES];
	struct kr_quorum_state persisted;

	enum kr_role role;

	/* Timers: absolute times, INT64_MAX when off. */
	int64_t election_deadline; /* unattached, prospective, candidate, resigned */
	int64_t fetch_deadline;	   /* follower */
	int64_t backoff_deadline;  /* candidate that lost */
	int64_t check_quorum_deadline;
	int64_t resend_deadline; /* unanswered Vote / BeginQuorumEpoch / EndQuorumEpoch */
	int64_t shutdown_deadline;

	/* The fence (see planes.h). */
	enum kr_dp_state dp;
	uint32_t dp_epoch;
	int32_t dp_leader;
	bool dp_looks; /* the last KR_CMD_UNATTACHED told a voter to look for the leader */
	uint32_t fence_seq;
	uint32_t fenced_last_epoch; /* from the acknowledgement */
	uint64_t fenced_leo;
	uint32_t fenced_voters_seq; /* the KR_EV_VOTERS its LEO is under (0: none yet) */

	/* The voter set in force at the dataplane's log end, as its last KR_EV_VOTERS said
	 * (dynamic clusters; seq 0: none yet). A set that names voters becomes cfg's set
	 * (docs/DESIGN.md §2, "Voter sets in the log"); an empty one (a joining directory
	 * that has not learned the set) leaves the configured voters in force. */
	struct {
		uint32_t seq;
		uint64_t offset; /* of its voters record; KR_OFFSET_NONE: the bootstrap set */
		struct kr_voter_set set;
	} log_voters;
	/* The last KR_EV_VOTERS removed this node from the set, and it does not know that
	 * record committed: it may still run for leader (Raft's rule for a removed leader:
	 * the removal may have reached no one else, and the others cannot win without its
	 * vote, which its longer log refuses). Its own vote does not count. */
	bool left_pending;

	/* Requests waiting for the fence acknowledgement. */
	bool requests_pending; /* prospective or candidate: send Vote requests on the ack */
	bool vote_waiting[KR_VOTERS_MAX];
	uint32_t vote_waiting_corr[KR_VOTERS_MAX];
	struct kr_vote_req vote_waiting_req[KR_VOTERS_MAX];
	/* and the latest from a candidate outside this node's set in force */
	struct {
		bool waiting;
		int32_t from;
		uint32_t corr;
		struct kr_vote_req req;
	} vote_other;
	/* Follower: the latest pre-vote request of each voter (by its place in the set when
	 * it came) refused because this node followed a live leader, in epoch `epoch`. Two
	 * followers whose leader died time out a fraction of a millisecond apart: the first
	 * asks the second, which still follows and refuses; if the second's log is behind,
	 * the first refuses it in turn, and both wait out their election timeouts and a
	 * further fetch timeout. So when this node stops following (its own fetch timeout)
	 * in the same epoch, the refusal is stale: each held request is answered again, as
	 * this node answers it now (a pre-vote changes no state; the prospective counts a
	 * grant that replaces a refusal of the same request). */
	struct {
		bool held;
		int32_t from;
		uint32_t corr;
		uint32_t epoch;
		struct kr_vote_req req;
	} prevote_refused[KR_VOTERS_MAX];

	/* Prospective and candidate: this round's answers (reset by each round); the lost
	 * rounds in a row (reset once an election ends: leader or follower). */
	struct {
		uint8_t vote_state[KR_VOTERS_MAX];
		uint32_t vote_corr[KR_VOTERS_MAX]; /* correlation of this round's request */
		uint32_t retries;
		/* prospective: this round it granted a pre-vote to a better prospective (a
		 * longer log, or as long and a lower node id), so it does not stand even if its
		 * own pre-votes win: two followers that lost their leader together then elect
		 * one of them in one round instead of splitting the vote */
		bool deferred;
	} cand;
	/* the epoch (+1; 0: none) in which this node deferred: once per epoch only, so a
	 * better prospective that cannot win (its answers lost, one-way partitioned) holds
	 * the others back for one round, not every round. Cleared when it follows a leader
	 * again: a round that found the leader alive leaves the failover its deference. */
	uint32_t deferred_epoch;

	/* Leader, and resigned (the leader that stepped down, in the same epoch): what the
	 * dataplane reported of each voter (reset on taking office), the acknowledgements of
	 * BeginQuorumEpoch (leader) or EndQuorumEpoch (resigned), the successors by fetch
	 * offset (resigned). */
	struct {
		int64_t last_fetch_us[KR_VOTERS_MAX];
		uint64_t fetch_offset[KR_VOTERS_MAX];
		bool acked[KR_VOTERS_MAX];
		uint8_t n_successors;
		int32_t successors[KR_VOTERS_MAX];
	} lead;

	/* Follower: reset on following a new leader. */
	struct {
		bool has_fetched;      /* a good Fetch reply from the leader in this epoch */
		bool leader_resigning; /* it sent EndQuorumEpoch: its successors' pre-votes are
					* granted, and its late replies keep the shortened
					* timer */
	} foll;

	/* Vote gate: amnesia or damage (struct kr_election_start). */
	bool vote_blocked;
	uint32_t vote_block_epoch;
	/* Candidacy gate: no state to lead with (struct kr_election_start). */
	bool stand_blocked;
	int64_t stand_patience_until; /* no leader heard of since long before this */

	/* FIRST START (above): still checking, while the epoch is 0 */
	bool first_start;
	uint8_t rejoin_dir[KR_UUID_BYTES];
	int64_t bootstrap_deadline; /* until then, pre-votes need every voter */

	bool shutting_down;
	bool shutdown_done;
	uint32_t next_correlation;
	uint64_t rng;
	struct kr_election_stats stats;
};

/**
 * Check cfg and start from what the node found at start: epoch = max(persisted, last log
 * epoch); a node persisted as leader restarts resigned in that epoch, one that voted for
 * itself restarts as candidate, one that knew the leader restarts as its follower.
 * @return 0, or -EINVAL (cfg inconsistent: no voters, duplicate ids, non-positive
 *   timeouts) with nothing output.
 */
int kr_election_init(struct kr_election *e, const struct kr_election_config *cfg,
		     const struct kr_election_start *start, int64_t now, struct kr_el_out *out);

/** Fire the timers that are due. */
void kr_election_tick(struct kr_election *e, int64_t now, struct kr_el_out *out);

/** The earliest time kr_election_tick has work (INT64_MAX: none). */
int64_t kr_election_next_deadline(const struct kr_election *e);

/**
 * A decoded control message (Vote, BeginQuorumEpoch, EndQuorumEpoch and their
 * responses) from node h->sender_id. Anything else is counted and ignored.
 */
void kr_election_on_msg(struct kr_election *e, const struct kr_frame_hdr *h, const struct kr_msg *m,
			int64_t now, struct kr_el_out *out);

/** A dataplane event (everything but KR_EV_PACKET, which goes to kr_election_on_msg). */
void kr_election_on_event(struct kr_election *e, const struct kr_event *ev, int64_t now,
			  struct kr_el_out *out);

/**
 * Begin a graceful shutdown: a leader resigns and sends EndQuorumEpoch naming its
 * successors by fetch offset, then KR_EL_SHUTDOWN_DONE once they acknowledge, a new
 * leader appears, or shutdown_timeout passes. Any other role is done at once.
 */
void kr_election_shutdown(struct kr_election *e, int64_t now, struct kr_el_out *out);

/* ---- the ring handlers: what the control thread (and the simulator) does with the
 * rings, on top of the core ---- */

/**
 * Handle one event from the dataplane: a KR_EV_PACKET frame is decoded and checked
 * against wire (a frame that fails is counted as KR_EL_IGNORE_INVALID), everything else
 * goes to kr_election_on_event.
 */
void kr_control_on_event(struct kr_election *e, const struct kr_wire_ctx *wire,
			 const struct kr_event *ev, int64_t now, struct kr_el_out *out);

/**
 * Turn a KR_EL_COMMAND or KR_EL_SEND action into the command that goes on the ring
 * (a SEND is encoded into a whole frame from this node, addressed as wire says).
 * @return 0, -EINVAL for any other action, or -ENOSPC if the frame does not fit.
 */
int kr_control_command(const struct kr_election *e, const struct kr_wire_ctx *wire,
		       const struct kr_el_action *a, struct kr_cmd *cmd);

/* ---- THE HARNESS: carrying out the core's actions ----
 *
 * One piece of code carries out the actions for every shell: the node's control thread,
 * kraftsim and the cluster unit test each give it a table of operations. Actions are
 * carried out in order, one at a time: the next only once the one before is done. An
 * operation may answer -EAGAIN ("not yet": a persist still in progress, a full ring);
 * the harness keeps that action and carries on from it at the next call, so a shell can
 * make a persist take time, and crash the node between any two actions.
 */
struct kr_el_ops {
	/* Make qs durable (KR_EL_PERSIST). 0, -EAGAIN, or another -errno: nothing after
	 * this action may leave the node (the harness stops and returns it). */
	int (*persist)(void *arg, const struct kr_quorum_state *qs);
	/* Give the dataplane cmd, which carries out a (KR_EL_COMMAND, or a KR_EL_SEND
	 * encoded into a frame to send). 0 or -EAGAIN. */
	int (*command)(void *arg, const struct kr_el_action *a, const struct kr_cmd *cmd);
	/* The node's directory id is now dir (KR_EL_REJOIN): make it durable first. 0,
	 * -EAGAIN or a fatal -errno, as persist. */
	int (*rejoin)(void *arg, const struct kr_el_action *a);
	/* The repair or amnesia is over (KR_EL_VOTE_UNBLOCKED): a repair marker may go. */
	void (*unblocked)(void *arg);
	/* The role changed (KR_EL_TRANSITION): log lines, counters. May be NULL. */
	void (*transition)(void *arg, const struct kr_el_action *a);
	/* A graceful shutdown may complete (KR_EL_SHUTDOWN_DONE). May be NULL. */
	void (*shutdown_done)(void *arg);
};

struct kr_el_harness {
	struct kr_election *e;
	const struct kr_wire_ctx *wire; /* SEND actions are encoded as frames from e, so */
	const struct kr_el_ops *ops;
	void *arg;
	struct kr_el_out out;	/* the core's output: give &out to the core's calls */
	uint32_t next;		/* the first action of out not carried out yet */
	uint64_t encode_errors; /* actions that would not encode (a bug: the shell says so) */
};

/**
 * Carry out the next action of h->out, if any.
 * @return 1 (one carried out), 0 (none left: h->out is empty again), -EAGAIN (an
 *   operation said "not yet": call again later, the action is kept), or an operation's
 *   fatal -errno.
 */
int kr_el_harness_step(struct kr_el_harness *h);

/** Step until none is left (0), or an operation says -EAGAIN or fails (its value). */
int kr_el_harness_run(struct kr_el_harness *h);

/** Are actions waiting to be carried out? */
static inline bool
kr_el_harness_busy(const struct kr_el_harness *h)
{
	return h->next < h->out.n;
}

/** The node's current view: role, epoch, leader (for logs and DescribeQuorum). */
static inline bool
kr_election_is_voter(const struct kr_election *e)
{
	return e->voter_index >= 0;
}

#endif /* KRAFT_ELECTION_H */
