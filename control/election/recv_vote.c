/* kraftd: Vote and its response, on the control plane (KIP-595 votes, KIP-996 pre-votes).
 *
 * A vote is granted at most once per epoch and only to a candidate whose log is at least
 * as up to date: (last epoch, then end offset) >= this node's. The comparison uses the
 * log position the dataplane reported when it acknowledged a fence (planes.h), never a
 * position the dataplane could still change. A granted vote is persisted before the
 * answer leaves. Pre-votes change no state and may be granted to several prospectives.
 */
#include <stddef.h>
#include <string.h>

#include "election_int.h"

static void
answer(struct kr_election *e, struct kr_el_out *out, int32_t to, uint32_t corr, uint16_t error,
       enum kr_refusal why, bool pre_vote)
{
	struct kr_msg *m = el_send(e, out, to, corr, KR_API_VOTE_RESP);
	bool granted = why == KR_REFUSAL_NONE;

	/* the action that holds m */
	((struct kr_el_action *)(void *)((char *)m - offsetof(struct kr_el_action, u.send.msg)))
		->u.send.refusal = (uint8_t)why;

	m->u.vote_resp.error = error;
	m->u.vote_resp.granted = granted;
	m->u.vote_resp.pre_vote = pre_vote;
	m->u.vote_resp.epoch = e->epoch;
	m->u.vote_resp.leader_id = e->leader_id;
}

/* May this node grant from's request in its epoch, before comparing logs? (Kafka's
 * canGrantVote.) */
static bool
may_grant(const struct kr_election *e, int32_t from, const struct kr_vote_req *req)
{
	if (e->vote_blocked && !KR_BUG(AMNESIAC_VOTES))
		return false; /* amnesia or damage: it may lack what it acknowledged */
	switch (e->role) {
	case KR_ROLE_LEADER:
		return false;
	case KR_ROLE_FOLLOWER:
		return req->pre_vote && (!e->foll.has_fetched || e->foll.leader_resigning);
	case KR_ROLE_CANDIDATE:
	case KR_ROLE_RESIGNED:
		return req->pre_vote;
	case KR_ROLE_UNATTACHED:
	case KR_ROLE_PROSPECTIVE:
		if (req->pre_vote || KR_BUG(DOUBLE_VOTE))
			return true;
		if (e->voted_id == from)
			return kr_uuid_is_zero(e->voted_dir) ||
			       memcmp(e->voted_dir, req->candidate_dir, KR_UUID_BYTES) == 0;
		return e->voted_id == KR_NODE_NONE && e->leader_id == KR_NODE_NONE;
	default:
		return false;
	}
}

void
el_recv_vote(struct kr_election *e, int32_t from, uint32_t corr, const struct kr_vote_req *req,
	     int64_t now, struct kr_el_out *out)
{
	int vi = el_voter_index(e, from);
	bool pre = req->pre_vote;

	/* guard: the request is meant for this voter, (node id, directory id): a re-formatted
	 * directory of a voter's node id answers INVALID_VOTER_KEY and grants nothing
	 * (KIP-853). The candidate itself need not be in this node's set in force (Raft: it
	 * is the candidate's set whose majority elects): its log may hold a newer set that
	 * added it (a replaced disk's new directory too), or a removal that reached no one
	 * else (left_pending). A voter's node id from another directory than the set's is
	 * such an outsider, not that voter. Outsiders are answered only if they are nodes
	 * this one knows (cfg.known: configured voters, bootstrap nodes); any other id is no
	 * voter, and raises no epoch here. */
	bool known = false;

	if (vi >= 0 && !el_dir_matches(e->cfg.voter_dirs[vi], req->candidate_dir))
		vi = -1;
	for (int i = 0; i < e->cfg.n_known && i < KR_REPLICAS_MAX; i++)
		known = known || e->cfg.known[i] == from;
	if (from < 0 || from == e->cfg.node_id || (vi < 0 && !known)) {
		el_ignore(e, KR_EL_IGNORE_UNKNOWN_SENDER);
		answer(e, out, from, corr, KR_ERR_NONE, KR_REFUSAL_NOT_A_VOTER, pre);
		return;
	}
	if ((req->voter_id != KR_NODE_NONE && req->voter_id != e->cfg.node_id) ||
	    (!el_dir_matches(req->voter_dir, e->cfg.directory_id) && !KR_BUG(VOTER_BY_ID))) {
		answer(e, out, from, corr, KR_ERR_INVALID_VOTER_KEY, KR_REFUSAL_WRONG_VOTER, pre);
		return;
	}
	if (pre ? req->last_epoch > req->epoch : req->last_epoch >= req->epoch) {
		el_ignore(e, KR_EL_IGNORE_INVALID);
		answer(e, out, from, corr, KR_ERR_INVALID_REQUEST, KR_REFUSAL_INVALID, pre);
		return;
	}
	if (req->epoch < e->epoch) {
		answer(e, out, from, corr, KR_ERR_FENCED_LEADER_EPOCH, KR_REFUSAL_OLD_EPOCH, pre);
		return;
	}
	/* A node that is no voter of its own log's set votes only for a request that names
	 * its directory: the candidate's log holds a set with it, a record this log has not
	 * got yet (it was just added; or, removed, it is added back). Kafka lets such a
	 * replica vote (KIP-853); otherwise that candidate may never win. */
	if (!kr_election_is_voter(e) &&
	    (req->voter_id != e->cfg.node_id || kr_uuid_is_zero(req->voter_dir))) {
		answer(e, out, from, corr, KR_ERR_NONE, KR_REFUSAL_OBSERVER, pre);
		return;
	}
	/* A candidate outside the set raises no epoch here unless its log is at least as up
	 * to date as this node's last fenced one: a node removed by a change it missed lacks
	 * that change, so it cannot disturb the rest; one that holds a newer set can win. */
	if (vi < 0 &&
	    (req->last_epoch < e->fenced_last_epoch ||
	     (req->last_epoch == e->fenced_last_epoch && req->last_offset < e->fenced_leo))) {
		answer(e, out, from, corr, KR_ERR_NONE, KR_REFUSAL_LOG_BEHIND, pre);
		return;
	}
	/* a higher epoch, even in a pre-vote, moves this node to it first */
	if (req->epoch > e->epoch)
		el_convert(e, KR_ROLE_UNATTACHED, req->epoch, KR_NODE_NONE, KR_WHY_HIGHER_EPOCH,
			   now, out);
	if (!may_grant(e, from, req)) {
		if (pre && vi >= 0 && e->role == KR_ROLE_FOLLOWER && !e->vote_blocked) {
			e->prevote_refused[vi].held = true; /* answered again if this node
							     * stops following (election.h) */
			e->prevote_refused[vi].from = from;
			e->prevote_refused[vi].corr = corr;
			e->prevote_refused[vi].epoch = e->epoch;
			e->prevote_refused[vi].req = *req;
		}
		answer(e, out, from, corr, KR_ERR_NONE,
		       e->vote_blocked ? KR_REFUSAL_BLOCKED : KR_REFUSAL_ROLE, pre);
		return;
	}
	if (!el_fence_ready(e, out)) {
		/* the latest request of each voter (and of one other candidate) waits for the
		 * acknowledgement */
		if (vi < 0) {
			e->vote_other.waiting = true;
			e->vote_other.from = from;
			e->vote_other.corr = corr;
			e->vote_other.req = *req;
			return;
		}
		e->vote_waiting[vi] = true;
		e->vote_waiting_corr[vi] = corr;
		e->vote_waiting_req[vi] = *req;
		return;
	}

	/* the dataplane is fenced, so this log position is final */
	EL_ASSERT(e->dp == KR_DP_FENCED || KR_BUG(VOTE_WITHOUT_FENCE));
	bool up_to_date =
		req->last_epoch > e->fenced_last_epoch ||
		(req->last_epoch == e->fenced_last_epoch && req->last_offset >= e->fenced_leo);

	if (!up_to_date) {
		answer(e, out, from, corr, KR_ERR_NONE, KR_REFUSAL_LOG_BEHIND, pre);
		return;
	}
	if (pre) {
		e->stats.prevotes_granted++;
		/* a prospective defers to a better one (include/kraft/election.h, cand.deferred):
		 * a total order, so of two that ask each other exactly one stands */
		bool same = req->last_epoch == e->fenced_last_epoch;

		if (e->role == KR_ROLE_PROSPECTIVE && e->deferred_epoch != e->epoch + 1 &&
		    (!same || req->last_offset > e->fenced_leo ||
		     (req->last_offset == e->fenced_leo && from < e->cfg.node_id))) {
			e->cand.deferred = true; /* up_to_date: its log is at least this one's */
			e->deferred_epoch = e->epoch + 1;
		}
	} else if (e->voted_id != from && KR_BUG(VOTE_NOT_PERSISTED_FIRST)) {
		answer(e, out, from, corr, KR_ERR_NONE, KR_REFUSAL_NONE, pre);
		e->voted_id = from;
		memcpy(e->voted_dir, req->candidate_dir, KR_UUID_BYTES);
		el_convert(e, KR_ROLE_UNATTACHED, e->epoch, KR_NODE_NONE, KR_WHY_VOTE_GRANTED, now,
			   out);
		return;
	} else if (e->voted_id != from) {
		e->voted_id = from; /* persisted by the conversion, before the answer */
		memcpy(e->voted_dir, req->candidate_dir, KR_UUID_BYTES);
		e->stats.votes_granted++;
		el_convert(e, KR_ROLE_UNATTACHED, e->epoch, KR_NODE_NONE, KR_WHY_VOTE_GRANTED, now,
			   out);
	}
	answer(e, out, from, corr, KR_ERR_NONE, KR_REFUSAL_NONE, pre);
}

void
el_recv_vote_resp(struct kr_election *e, int32_t from, uint32_t corr,
		  const struct kr_vote_resp *resp, int64_t now, struct kr_el_out *out)
{
	int vi = el_voter_index(e, from);
	enum kr_role role = e->role;
	uint32_t epoch = e->epoch;

	if (vi < 0) {
		el_ignore(e, KR_EL_IGNORE_UNKNOWN_SENDER);
		return;
	}
	if (resp->epoch < e->epoch) {
		el_ignore(e, KR_EL_IGNORE_STALE_EPOCH);
		return;
	}
	el_learn(e, resp->epoch, resp->leader_id, false, now, out);
	if (e->role != role || e->epoch != epoch)
		return; /* a higher epoch or the leader: this round is over */
	/* a pre-vote refusal may be replaced by a grant to the same request: the voter
	 * answered again once it stopped following (election.h, prevote_refused) */
	bool regrant = resp->pre_vote && e->cand.vote_state[vi] == KR_VOTE_REJECTED &&
		       resp->error == KR_ERR_NONE && resp->granted;

	if (e->role != (resp->pre_vote ? KR_ROLE_PROSPECTIVE : KR_ROLE_CANDIDATE) ||
	    corr != e->cand.vote_corr[vi] ||
	    (e->cand.vote_state[vi] != KR_VOTE_UNRECORDED && !regrant) || e->requests_pending) {
		el_ignore(e, KR_EL_IGNORE_STALE_RESPONSE);
		return;
	}
	e->cand.vote_state[vi] = (resp->error == KR_ERR_NONE && resp->granted) ||
						 (KR_BUG(COUNT_REJECTED_VOTES) && !resp->pre_vote)
					 ? KR_VOTE_GRANTED
					 : KR_VOTE_REJECTED;
	el_tally(e, now, out);
}
