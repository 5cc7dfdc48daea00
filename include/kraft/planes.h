/* kraftd: the messages between the two planes. Commands go from the control plane to the
 * dataplane, events the other way, over single-producer/single-consumer rings of
 * fixed-size elements that carry bytes, never pointers or mbufs (docs/DESIGN.md §3).
 *
 * THE FENCE RULE (docs/DESIGN.md §3), enforced on both sides:
 *   A node must never report a fetch offset or durable offset under leader epoch E after
 *   it has voted, or become candidate, in an epoch above E.
 * So before the control plane compares logs for a vote or pre-vote, or starts a
 * candidacy, it sends KR_CMD_FENCE(epoch, seq) and waits for KR_EV_FENCE_ACK carrying the
 * same seq and the dataplane's (last epoch, LEO) at that moment. A fenced dataplane
 * neither appends, nor truncates, nor acknowledges anything (no Fetch is sent, no append
 * completes) until a role command (LEADER, FOLLOWER, UNATTACHED) lifts the fence. The
 * acknowledgement stays usable only while no role command has been sent after it.
 * Enforced in control/election/election.c (el_fence_ready()) and dataplane/repl/repl.c
 * (the role KR_REPL_FENCED).
 *
 * THE LIFETIME RULE (the one exception to "bytes, never pointers"):
 *   The apply ring (include/kraft/node.h) carries pointers into log memory: spans of
 *   committed batches the apply thread reads in place, with no copy. Log memory handed
 *   to a reader (the apply thread now; an mbuf sent from the log later) is freed or
 *   reused only after that reader has published "released up to X" (apply_released)
 *   and the dataplane has passed X to the log (kr_log_reader_released). Truncation,
 *   retention and a reset (and a snapshot install) take effect in the log at
 *   once, but the segment buffers they drop wait in the log's grave while they hold
 *   handed bytes (include/kraft/log.h, THE READER). Only committed bytes are handed,
 *   and no committed byte of a kept segment is ever rewritten. When the reader lags, the
 *   dataplane keeps committing: retention moves the log start only to a snapshot of
 *   what was applied, so memory is held up to kraftd.log.memory.max.bytes, and appends
 *   past it are refused with LOG_FULL.
 */
#ifndef KRAFT_PLANES_H
#define KRAFT_PLANES_H

#include <stdint.h>

#include "kraft/common.h"
#include "kraft/voterset.h"
#include "kraft/wire.h"

/* The largest control frame: END_EPOCH naming every voter, with an auth trailer. */
#define KR_CTL_FRAME_MAX 160
_Static_assert(KR_WIRE_HDR_BYTES + KR_END_EPOCH_FIXED_BYTES + 4 * KR_VOTERS_MAX +
			       KR_WIRE_AUTH_BYTES <=
		       KR_CTL_FRAME_MAX,
	       "a control frame must fit a ring element");

/* Commands: control plane -> dataplane. */
enum kr_cmd_type {
	KR_CMD_FENCE = 1,  /* stop acting in any role; answer KR_EV_FENCE_ACK(epoch, seq) */
	KR_CMD_LEADER,	   /* lead epoch: write the LeaderChange record, serve fetches */
	KR_CMD_FOLLOWER,   /* follow node (the leader) in epoch: fetch from it */
	KR_CMD_UNATTACHED, /* no leader known in epoch; an observer looks for one, and so
			    * does a voter if seq is 1 (one that may not vote yet) */
	KR_CMD_SEND,	   /* transmit frame (a whole encoded control frame) to node */
	KR_CMD_IDENTITY,   /* the node rejoined: its directory id is now frame[0..16), and
			    * it is an observer (election.h "FIRST START") */
};

struct kr_cmd {
	uint8_t type;
	uint16_t frame_len;		 /* SEND */
	int32_t node;			 /* FOLLOWER: the leader; SEND: the destination */
	uint32_t epoch;			 /* FENCE, LEADER, FOLLOWER, UNATTACHED */
	uint32_t seq;			 /* FENCE */
	uint8_t frame[KR_CTL_FRAME_MAX]; /* SEND: the frame; IDENTITY: the directory id */
};

/* Events: dataplane -> control plane. */
enum kr_event_type {
	KR_EV_FENCE_ACK = 1,   /* fenced at (epoch, seq); the log ends at offset, last_epoch */
	KR_EV_PACKET,	       /* a control frame (Vote, BeginQuorumEpoch, ...) from node */
	KR_EV_LEADER_FETCHED,  /* follower: a good Fetch reply from node, the leader of epoch */
	KR_EV_REPLICA_FETCHED, /* leader of epoch: voter node fetched at offset (liveness) */
	KR_EV_EPOCH_SEEN,      /* a Fetch exchange named epoch and its leader node (or -1) */
	KR_EV_CAUGHT_UP,       /* follower holds durably (flushed, in disk mode) the HW of the
				* leader of epoch (offset) and repaired any damage: the node
				* may vote again, and its repair marker may go */
	KR_EV_FATAL,	       /* the dataplane stopped itself: seq holds a KR_FATAL_* code */
	KR_EV_LEFT_VOTERS,     /* leader of epoch: the change that removed it from the voter
				* set committed; it should resign */
	KR_EV_VOTERS,	       /* the voter set in force at the log end changed (a voters
				* record appended, or undone by a truncation): frame holds
				* its voters record (frame_len 0: none, the bootstrap set),
				* offset the record's offset (KR_OFFSET_NONE: the bootstrap
				* set), seq how many such changes this start has reported */
	KR_EV_STATE_RESTORED,  /* a node that lacked the state its log start needs installed
				* the leader's snapshot (ending at offset): it may stand for
				* election again */
};

/* Why a dataplane stopped itself. */
enum kr_fatal {
	KR_FATAL_TRUNCATE_BELOW_HW = 1, /* a leader asked to truncate committed records */
	KR_FATAL_STORAGE = 2,		/* a flush failed: nothing more may be acknowledged */
};

/* An event's bytes: a control frame, or a voters record. */
#define KR_EVENT_FRAME_MAX \
	(KR_CTL_FRAME_MAX > KR_VOTERS_RECORD_MAX ? KR_CTL_FRAME_MAX : KR_VOTERS_RECORD_MAX)

struct kr_event {
	uint8_t type;
	/* VOTERS: 1 if the record removed this node (it was in the set before) and the node
	 * does not know it committed: until it does, the node may still run for leader
	 * (its own vote not counted), or a removal that reached no one else could never
	 * commit (Raft's rule for a removed leader); 0 otherwise */
	uint8_t left_pending;
	uint16_t frame_len; /* PACKET, VOTERS */
	int32_t node;
	uint32_t epoch;
	uint32_t seq;	     /* FENCE_ACK: the fence's seq; FATAL: a KR_FATAL_* code; VOTERS:
			      * the change's number */
	uint32_t last_epoch; /* FENCE_ACK */
	uint64_t offset;     /* FENCE_ACK: LEO; REPLICA_FETCHED: fetch offset; CAUGHT_UP: HW;
			      * VOTERS: the record's offset */
	uint32_t voters_seq; /* FENCE_ACK: the number of the last VOTERS event before it: the
			      * set in force at the LEO it reports */
	uint8_t frame[KR_EVENT_FRAME_MAX];
};

const char *kr_cmd_name(unsigned type);
const char *kr_event_name(unsigned type);

#endif /* KRAFT_PLANES_H */
