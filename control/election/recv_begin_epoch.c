/* kraftd: BeginQuorumEpoch on the control plane. A new leader announces itself to every
 * voter, (node id, directory id), and re-sends until each acknowledges (a Fetch from
 * the voter counts too). The receiver adopts the epoch and follows the leader; another
 * directory of the voter's node id answers INVALID_VOTER_KEY. Responses: recv_epoch_resp.c.
 * What it shares with EndQuorumEpoch (el_leader_says) is beside the dispatcher, in
 * election.c. */
#include "election_int.h"

void
el_recv_begin_epoch(struct kr_election *e, int32_t from, uint32_t corr,
		    const struct kr_begin_epoch_req *req, int64_t now, struct kr_el_out *out)
{
	uint16_t error;

	/* meant for another directory of this node id (this one was re-formatted, or
	 * rejoined): say so and change nothing (KIP-853) */
	if (el_voter_index(e, from) >= 0 && from != e->cfg.node_id &&
	    !el_dir_matches(req->voter_dir, e->cfg.directory_id)) {
		el_answer_epoch(e, out, from, corr, KR_API_BEGIN_EPOCH_RESP,
				KR_ERR_INVALID_VOTER_KEY);
		return;
	}
	if (el_leader_says(e, from, req->epoch, req->leader_id, now, out, &error))
		el_answer_epoch(e, out, from, corr, KR_API_BEGIN_EPOCH_RESP, error);
}
