/* kraftd: a client's voter change (VOTERS_CHANGE), on the leader: kr_repl_voters_change
 * takes it or refuses it at once; a change taken is answered when the high watermark
 * passes its voters record, or "outcome unknown" if this node stops leading first. One
 * change at a time, so one answer waits at most. */
#include <string.h>

#include "repl_int.h"

static void
answer(struct kr_repl *r, uint64_t addr, uint32_t corr, uint16_t error, bool unknown,
       uint64_t offset, struct kr_rp_out *out)
{
	struct kr_msg *m = rp_send(out, KR_NODE_NONE, addr, corr, KR_API_VOTERS_CHANGE_RESP);

	m->u.voters_change_resp.error = error;
	m->u.voters_change_resp.outcome_unknown = unknown;
	m->u.voters_change_resp.leader_id = r->leader_id;
	m->u.voters_change_resp.epoch = r->epoch;
	m->u.voters_change_resp.offset = error == KR_ERR_NONE ? offset : KR_OFFSET_NONE;
}

void
rp_recv_voters_change(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr,
		      const struct kr_voters_change_req *req, int64_t now, struct kr_rp_out *out)
{
	struct kr_voter v = {.id = req->voter_id, .ep = {.ip = req->ip, .port = req->port}};
	uint64_t offset = KR_OFFSET_NONE;
	uint16_t err;

	memcpy(v.dir, req->directory_id, KR_UUID_BYTES);
	if (r->voters_wait.active && r->voters_wait.addr == addr &&
	    r->voters_wait.corr == h->correlation_id)
		return; /* the client sent it again: its answer comes at commit */
	if (r->voters_wait.active && r->role == KR_REPL_LEADER && !KR_BUG(VOTERS_TWO_AT_ONCE)) {
		answer(r, addr, h->correlation_id, KR_ERR_REQUEST_TIMED_OUT, false, 0, out);
		return; /* one change at a time */
	}
	err = kr_repl_voters_change(r, (enum kr_voters_op)req->op, &v, now, out, &offset);
	if (err != KR_ERR_NONE) {
		answer(r, addr, h->correlation_id, err, false, 0, out);
		return;
	}
	r->voters_wait.active = true;
	r->voters_wait.addr = addr;
	r->voters_wait.corr = h->correlation_id;
	r->voters_wait.offset = offset;
	rp_voters_service(r, out); /* a one-voter set commits at once */
}

void
rp_voters_service(struct kr_repl *r, struct kr_rp_out *out)
{
	struct kr_rp_voters_wait *w = &r->voters_wait;

	if (!w->active || !rp_room(out, 1))
		return;
	if (r->role == KR_REPL_LEADER && (r->hw == KR_OFFSET_NONE || r->hw <= w->offset))
		return;
	/* committed; or this node no longer leads: it may or may not take effect */
	if (r->role == KR_REPL_LEADER)
		answer(r, w->addr, w->corr, KR_ERR_NONE, false, w->offset, out);
	else
		answer(r, w->addr, w->corr, KR_ERR_NOT_LEADER_OR_FOLLOWER, true, 0, out);
	w->active = false;
}
