/* kraftd: planted bugs. Compiled into the simulator's build of the cores only
 * (-DKR_SIM_BUGS, tools/kraftsim); in every other build KR_BUG(x) is the constant 0 and
 * the code behind it disappears. Each bug breaks one protocol rule, so the simulator
 * can show that an invariant catches it. X(name, what breaks) */
#ifndef KRAFT_BUGS_H
#define KRAFT_BUGS_H

#include <stdint.h>

#define KR_BUG_TABLE(X)                                                                          \
	X(VOTE_WITHOUT_FENCE, "grant votes and start candidacies without the fence ack")         \
	X(COMMIT_OLD_EPOCH, "count previous-epoch entries toward commit (Raft figure 8)")        \
	X(COUNT_UNFLUSHED_LEO, "the leader counts its unflushed LEO toward the HW")              \
	X(NO_TRUNCATE_ON_DIVERGENCE, "a follower ignores the diverging epoch, keeps its log")    \
	X(HW_FROM_DIVERGING_REPLY, "a follower takes the HW from a diverging reply")             \
	X(ACCEPT_STALE_EPOCH_FETCH, "the leader accepts a Fetch from an older epoch")            \
	X(VOTE_NOT_PERSISTED_FIRST, "a vote is answered before it is persisted")                 \
	X(AMNESIAC_VOTES, "a node that lost its log votes and runs before catching up")          \
	X(DATAPLANE_IGNORES_FENCE, "the dataplane acknowledges a fence and goes on fetching")    \
	X(DOUBLE_VOTE, "a voter grants a second vote in an epoch it already voted in")           \
	X(NO_DEDUP, "the leader appends a retried append again")                                 \
	X(ACK_BEFORE_COMMIT, "the leader answers an append when it is appended, not committed")  \
	X(FOLLOWER_NOT_PERSISTED, "following a new leader is not written to the quorum state")   \
	X(COUNT_REJECTED_VOTES, "a candidate counts a rejected vote as granted")                 \
	X(RELEAD_AFTER_RESTART, "a restarted leader runs again in the epoch it led")             \
	X(DAMAGE_AS_TORN, "recovery cuts damage in synced bytes as if it were a torn write")     \
	X(REPAIR_TARGET_AT_DAMAGE, "the repair target is where damage starts, not the bound")    \
	X(VOTER_BY_ID, "a voter is known by node id alone: a re-formatted disk still votes")     \
	X(RESYNC_IN_A_RECORD, "recovery resumes at any valid batch after damage, one inside a "  \
			      "record value too, and takes its end as the repair target")        \
	X(VOTERS_TWO_AT_ONCE, "the leader takes a voter change while the last one is pending")   \
	X(VOTERS_AT_COMMIT, "a voter change takes effect when it commits, not when appended")    \
	X(VOTERS_BEFORE_FIRST_COMMIT, "a new leader takes a voter change before it committed "   \
				      "a record of its own epoch")                               \
	X(REMOVED_LEADER_APPENDS, "a leader that removed itself leads and appends on after the " \
				  "change committed")                                            \
	X(VOTERS_OLD_MAJORITY, "the HW counts a majority of the set before the last change")     \
	X(VOTERS_KEPT_AFTER_TRUNCATION, "truncating a voters record does not undo its set")      \
	X(SNAP_PAST_HW, "the state machine is handed what is appended, committed or not")        \
	X(CUT_PAST_SNAPSHOT, "retention cuts the log up to the committed offset, not to a "      \
			     "kept snapshot's end")                                              \
	X(RETAIN_YOUNG, "retention deletes segments holding appends younger than the dedup "     \
			"window")                                                                \
	X(INSTALL_LOWERS_HW, "installing a snapshot sets the HW to its end, even below the HW")  \
	X(SNAP_FRAME_OFF_BY_ONE, "a snapshot reply frame after the first carries the bytes one " \
				 "past the position it names")                                   \
	X(SNAP_NOT_HEARTBEAT, "a FetchSnapshot does not count as the fetcher's heartbeat")       \
	X(STAND_WITHOUT_STATE, "a node whose state cannot be rebuilt stands for election")       \
	X(REASM_EARLY, "the reassembly pool hands a message on before its last fragment came")   \
	X(PIN_NO_SEAL, "a truncation lets the next batch overwrite log bytes a datagram still "  \
		       "on its way points at")

enum kr_bug {
#define KR_BUG_ENUM(n, text) KR_BUG_##n,
	KR_BUG_TABLE(KR_BUG_ENUM)
#undef KR_BUG_ENUM
		KR_BUG_COUNT
};
_Static_assert(KR_BUG_COUNT <= 64, "kraftsim keeps one bit per planted bug in a uint64_t");

#ifdef KR_SIM_BUGS
extern uint64_t kr_sim_bugs; /* one bit per enum kr_bug; defined by the simulator */
#define KR_BUG(name) ((kr_sim_bugs >> KR_BUG_##name) & 1u)
#else
#define KR_BUG(name) 0
#endif

#endif /* KRAFT_BUGS_H */
