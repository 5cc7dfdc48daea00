/* kraftd: the answers to BeginQuorumEpoch (a leader counts acknowledgements and stops
 * re-sending) and EndQuorumEpoch (a resigned leader does the same, and a shutdown waits
 * for them). Either may name a higher epoch, which ends this node's term. */
#include "election_int.h"

void
el_recv_epoch_resp(struct kr_election *e, int32_t from, unsigned api,
		   const struct kr_epoch_resp *resp, int64_t now, struct kr_el_out *out)
{
	int vi = el_voter_index(e, from);
	enum kr_role want = api == KR_API_BEGIN_EPOCH_RESP ? KR_ROLE_LEADER : KR_ROLE_RESIGNED;

	if (vi < 0) {
		el_ignore(e, KR_EL_IGNORE_UNKNOWN_SENDER);
		return;
	}
	if (resp->epoch > e->epoch) {
		el_learn(e, resp->epoch, resp->leader_id, false, now, out);
		return;
	}
	if (resp->epoch < e->epoch || e->role != want) {
		el_ignore(e, KR_EL_IGNORE_STALE_RESPONSE);
		return;
	}
	if (resp->error != KR_ERR_NONE)
		return;
	e->lead.acked[vi] = true;
	if (want == KR_ROLE_RESIGNED)
		el_shutdown_check(e, now, out);
}
