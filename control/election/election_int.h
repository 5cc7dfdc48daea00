/* kraftd: what the election core's files share (control/election.c, control/recv_*.c).
 * Not a public interface. */
#ifndef KRAFT_ELECTION_INT_H
#define KRAFT_ELECTION_INT_H

#include <stdio.h>
#include <stdlib.h>

#include "kraft/bugs.h"
#include "kraft/election.h"
#include "kraft/errors.h"

/* An invariant of the core: breaking it is a bug, and the node must not go on. */
#define EL_ASSERT(cond)                                                                     \
	do {                                                                                \
		if (!(cond)) {                                                              \
			fprintf(stderr, "kraftd: election invariant broken at %s:%d: %s\n", \
				__FILE__, __LINE__, #cond);                                 \
			abort();                                                            \
		}                                                                           \
	} while (0)

#define EL_NEVER INT64_MAX

int el_voter_index(const struct kr_election *e, int32_t node);

/* May this node run for leader: a voter, or removed by a change it does not know
 * committed (left_pending)? */
static inline bool
el_may_run(const struct kr_election *e)
{
	return kr_election_is_voter(e) || e->left_pending;
}
/* Is dir the directory want names? (want all zero: any, a voter set without ids) */
bool el_dir_matches(const uint8_t want[KR_UUID_BYTES], const uint8_t dir[KR_UUID_BYTES]);
struct kr_msg *el_send(struct kr_election *e, struct kr_el_out *out, int32_t to,
		       uint32_t correlation, unsigned api);
uint32_t el_correlation(struct kr_election *e);
void el_ignore(struct kr_election *e, enum kr_el_ignore why);

/* The one place a role changes. leader is the leader of epoch if known (or -1). */
void el_convert(struct kr_election *e, enum kr_role to, uint32_t epoch, int32_t leader,
		enum kr_why why, int64_t now, struct kr_el_out *out);

/* What every message naming an epoch and maybe its leader does first (Kafka's
 * maybeHandleCommonResponse / maybeTransition): adopt a higher epoch, or the leader of
 * this epoch when none is known (or, from_leader: when the leader itself announces
 * itself). Returns true if the role or epoch changed. */
bool el_learn(struct kr_election *e, uint32_t epoch, int32_t leader, bool from_leader, int64_t now,
	      struct kr_el_out *out);

/* The fence: true when the dataplane has acknowledged a fence and no role command has
 * been sent since, so fenced_last_epoch / fenced_leo are final. Otherwise a fence is
 * requested (once) and the caller waits for KR_EV_FENCE_ACK. */
bool el_fence_ready(struct kr_election *e, struct kr_el_out *out);

/* Prospective or candidate: count the votes and move on if the round is decided. */
void el_tally(struct kr_election *e, int64_t now, struct kr_el_out *out);

/* Send this round's Vote requests to every voter that has not answered. */
void el_send_vote_requests(struct kr_election *e, int64_t now, struct kr_el_out *out);

/* BeginQuorumEpoch and EndQuorumEpoch both come from a leader about its epoch: check the
 * sender, adopt the epoch and leader if newer, and set *error to what to answer.
 * Returns false when the sender gets no answer at all (not a voter). */
bool el_leader_says(struct kr_election *e, int32_t from, uint32_t epoch, int32_t leader,
		    int64_t now, struct kr_el_out *out, uint16_t *error);
/* The answer to either: this node's epoch and leader, and error. */
void el_answer_epoch(struct kr_election *e, struct kr_el_out *out, int32_t to, uint32_t corr,
		     unsigned api, uint16_t error);

/* Handlers, one per received message type (control/recv_*.c). */
void el_recv_vote(struct kr_election *e, int32_t from, uint32_t corr, const struct kr_vote_req *req,
		  int64_t now, struct kr_el_out *out);
void el_recv_vote_resp(struct kr_election *e, int32_t from, uint32_t corr,
		       const struct kr_vote_resp *resp, int64_t now, struct kr_el_out *out);
void el_recv_begin_epoch(struct kr_election *e, int32_t from, uint32_t corr,
			 const struct kr_begin_epoch_req *req, int64_t now, struct kr_el_out *out);
void el_recv_end_epoch(struct kr_election *e, int32_t from, uint32_t corr,
		       const struct kr_end_epoch_req *req, int64_t now, struct kr_el_out *out);
void el_recv_epoch_resp(struct kr_election *e, int32_t from, unsigned api,
			const struct kr_epoch_resp *resp, int64_t now, struct kr_el_out *out);

/* Shutdown bookkeeping: emit KR_EL_SHUTDOWN_DONE once, when it is time. */
void el_shutdown_check(struct kr_election *e, int64_t now, struct kr_el_out *out);

#endif /* KRAFT_ELECTION_INT_H */
