/* kraftd: BeginQuorumEpoch on the control plane. A new leader announces itself to every
 * voter and re-sends until each acknowledges (a Fetch from the voter counts too). The
 * receiver adopts the epoch and follows the leader. Responses: control/recv_epoch_resp.c. */
#include "election_int.h"

void
el_recv_begin_epoch(struct kr_election *e, int32_t from, uint32_t corr,
		    const struct kr_begin_epoch_req *req, int64_t now, struct kr_el_out *out)
{
	struct kr_msg *m;
	uint16_t error = KR_ERR_NONE;

	if (el_voter_index(e, from) < 0 || from == e->cfg.node_id) {
		el_ignore(e, KR_EL_IGNORE_UNKNOWN_SENDER);
		return;
	}
	if (req->leader_id != from) {
		el_ignore(e, KR_EL_IGNORE_INVALID);
		error = KR_ERR_INVALID_REQUEST;
	} else if (req->epoch < e->epoch) {
		error = KR_ERR_FENCED_LEADER_EPOCH; /* and nothing changes here */
	} else {
		el_learn(e, req->epoch, req->leader_id, true, now, out);
	}
	m = el_send(e, out, from, corr, KR_API_BEGIN_EPOCH_RESP);
	m->u.epoch_resp.error = error;
	m->u.epoch_resp.epoch = e->epoch;
	m->u.epoch_resp.leader_id = e->leader_id;
}
