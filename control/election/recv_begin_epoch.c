/* kraftd: BeginQuorumEpoch on the control plane. A new leader announces itself to every
 * voter, (node id, directory id), and re-sends until each acknowledges (a Fetch from
 * the voter counts too). The receiver adopts the epoch and follows the leader; another
 * directory of the voter's node id answers INVALID_VOTER_KEY. Responses: control/recv_epoch_resp.c.
 * el_leader_says() is shared with EndQuorumEpoch (control/recv_end_epoch.c). */
#include "election_int.h"

bool
el_leader_says(struct kr_election *e, int32_t from, uint32_t epoch, int32_t leader, int64_t now,
	       struct kr_el_out *out, uint16_t *error)
{
	*error = KR_ERR_NONE;
	if (el_voter_index(e, from) < 0 || from == e->cfg.node_id) {
		el_ignore(e, KR_EL_IGNORE_UNKNOWN_SENDER);
		return false;
	}
	if (leader != from) {
		el_ignore(e, KR_EL_IGNORE_INVALID);
		*error = KR_ERR_INVALID_REQUEST;
	} else if (epoch < e->epoch) {
		*error = KR_ERR_FENCED_LEADER_EPOCH; /* and nothing changes here */
	} else {
		el_learn(e, epoch, leader, true, now, out);
	}
	return true;
}

void
el_answer_epoch(struct kr_election *e, struct kr_el_out *out, int32_t to, uint32_t corr,
		unsigned api, uint16_t error)
{
	struct kr_msg *m = el_send(e, out, to, corr, api);

	m->u.epoch_resp.error = error;
	m->u.epoch_resp.epoch = e->epoch;
	m->u.epoch_resp.leader_id = e->leader_id;
}

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
