/* kraftd: EndQuorumEpoch on the control plane. A leader that steps down names its
 * successors, most caught-up first; the first starts an election at once, the others
 * after a strictly growing delay, so the best one usually wins without a contest. */
#include "election_int.h"

/* Kafka's strictExponentialElectionBackoffMs: position 0 goes now, later positions wait
 * max >> (n - 1) << (pos - 1), and a voter not named waits the whole max. */
static int64_t
successor_delay(const struct kr_election *e, int pos, int n)
{
	int64_t max = e->cfg.election_backoff_max_us, d;

	if (pos == 0)
		return 0;
	if (pos >= n)
		return max;
	d = (max >> (n - 1)) << (pos - 1);
	return d < max ? d : max;
}

void
el_recv_end_epoch(struct kr_election *e, int32_t from, uint32_t corr,
		  const struct kr_end_epoch_req *req, int64_t now, struct kr_el_out *out)
{
	uint16_t error;

	if (!el_leader_says(e, from, req->epoch, req->leader_id, now, out, &error))
		return;
	if (error == KR_ERR_NONE && e->role == KR_ROLE_FOLLOWER && e->epoch == req->epoch &&
	    e->leader_id == req->leader_id && kr_election_is_voter(e)) {
		int pos = 0, n = req->n_successors;
		int64_t at;

		while (pos < n && req->successors[pos] != e->cfg.node_id)
			pos++;
		at = now + successor_delay(e, pos, n);
		if (at < e->fetch_deadline)
			e->fetch_deadline = at;
		/* The leader is leaving: a successor's pre-vote disrupts nothing now. Kafka's
		 * follower keeps refusing pre-votes after a good fetch, so its first successor
		 * loses the pre-vote and the handover waits for the second one's delay. */
		e->foll.leader_resigning = true;
	}
	el_answer_epoch(e, out, from, corr, KR_API_END_EPOCH_RESP, error);
}
