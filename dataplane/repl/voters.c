/* kraftd: the voter set the log carries, as the replication core keeps it
 * (include/kraft/voterset.h): read from the log at start, followed on every append and
 * truncation, folded as offsets commit, and reported to the control plane as a
 * KR_EV_VOTERS event whenever the set in force at the log end changes. A dynamic
 * cluster's first leader writes the bootstrap set into the log. */
#include <string.h>

#include "kraft/le.h"
#include "repl_int.h"

bool
rp_voters_known(const struct kr_repl *r)
{
	return r->cfg.dynamic && kr_vh_latest(&r->voters)->n > 0;
}

void
rp_voters_apply(struct kr_repl *r)
{
	const struct kr_voter_set *s = kr_vh_latest(&r->voters);

	if (KR_BUG(VOTERS_AT_COMMIT)) /* the set of the last committed record */
		s = r->committed == KR_OFFSET_NONE || r->committed == 0
			    ? kr_vh_at(&r->voters, 0)
			    : kr_vh_at(&r->voters, r->committed - 1);
	if (!rp_voters_known(r))
		return; /* the configured voters (a static cluster, or a set not learned yet) */
	for (uint32_t i = 0; i < r->n_replicas; i++) {
		struct kr_replica *rep = &r->replicas[i];

		rep->voter = rep->id != KR_NODE_NONE && rep->keyed &&
			     kr_voters_find_key(s, rep->id, rep->dir) >= 0;
	}
	for (int i = 0; i < s->n; i++) {
		struct kr_replica *rep = rp_replica(r, s->v[i].id, s->v[i].dir, true);

		if (rep != NULL) {
			/* the set names the directory: a configured slot that knew the node id
			 * alone counts this directory's fetches only from now on */
			rep->voter = true;
			rep->keyed = true;
			memcpy(rep->dir, s->v[i].dir, KR_UUID_BYTES);
		} else
			r->stats.drops
				[KR_RP_DROP_OBSERVERS_FULL]++; /* it counts as holding nothing */
	}
}

void
rp_voters_left(struct kr_repl *r, uint64_t h, struct kr_rp_out *out)
{
	uint64_t last = kr_vh_latest_offset(&r->voters);
	struct kr_event *ev;

	if (r->lead.left_sent || !rp_voters_known(r) || rp_self_voter(r) ||
	    last == KR_OFFSET_NONE || h <= last || KR_BUG(REMOVED_LEADER_APPENDS))
		return;
	r->lead.left_sent = true;
	ev = rp_event(out, KR_EV_LEFT_VOTERS);
	ev->epoch = r->epoch;
	ev->node = r->cfg.node_id;
	ev->offset = last;
}

/* Did the last voters record remove this node, which does not know it committed? */
static bool
left_pending(const struct kr_repl *r)
{
	uint64_t last = kr_vh_latest_offset(&r->voters);
	const struct kr_voter_set *before = kr_vh_previous(&r->voters);

	return rp_voters_known(r) && !rp_self_voter(r) && before != NULL &&
	       (r->committed == KR_OFFSET_NONE || r->committed <= last) &&
	       kr_voters_find_key(before, r->cfg.node_id, r->cfg.directory_id) >= 0;
}

void
rp_voters_left_service(struct kr_repl *r, struct kr_rp_out *out)
{
	if (r->voters_left_pending && !left_pending(r) && rp_room(out, 1))
		rp_voters_event(r, out); /* its removal committed: an observer from now on */
}

void
rp_voters_event(struct kr_repl *r, struct kr_rp_out *out)
{
	const struct kr_voter_set *s = kr_vh_latest(&r->voters);
	struct kr_event *ev = rp_event(out, KR_EV_VOTERS);
	int n = 0;

	ev->offset = kr_vh_latest_offset(&r->voters);
	ev->epoch = r->epoch;
	ev->node = r->cfg.node_id;
	if (s->n > 0)
		n = kr_voters_record_encode(s, ev->frame, sizeof(ev->frame));
	RP_ASSERT(n >= 0); /* every set in the history was checked on the way in */
	ev->frame_len = (uint16_t)n;
	ev->seq = ++r->voters_seq;
	r->voters_left_pending = left_pending(r);
	ev->left_pending = r->voters_left_pending;
}

int
rp_voters_load(struct kr_repl *r)
{
	int rc = kr_vh_load(&r->voters, r->log, &r->cfg.boot);

	if (rc != 0)
		return rc;
	rp_voters_apply(r);
	return 0;
}

int
rp_voters_check(const struct kr_repl *r, const uint8_t *b, const struct kr_batch_hdr *h,
		struct kr_voter_set *s)
{
	int rc = kr_voters_batch_decode(b, h, s);

	if (rc <= 0)
		return rc;
	if (!kr_vh_next_ok(&r->voters, s))
		return -EBADMSG;
	return 1;
}

void
rp_voters_appended(struct kr_repl *r, uint64_t offset, const struct kr_voter_set *s)
{
	enum kr_voters_change c = kr_vh_append(&r->voters, offset, s);

	RP_ASSERT(c != KR_VOTERS_ILLEGAL); /* rp_voters_check said so before the append */
	r->stats.voters_records++;
	rp_voters_apply(r);
}

void
rp_voters_truncated(struct kr_repl *r, struct kr_rp_out *out)
{
	if (KR_BUG(VOTERS_KEPT_AFTER_TRUNCATION))
		return;
	if (!kr_vh_truncate(&r->voters, kr_log_end(r->log)))
		return;
	r->stats.voters_undone++;
	rp_voters_apply(r);
	rp_voters_event(r, out);
}

/* Leader: append a voters record of s at the log end and report it. */
static int
append_voters(struct kr_repl *r, const struct kr_voter_set *s, int64_t now, struct kr_rp_out *out)
{
	uint8_t rec[KR_RECORD_HDR_BYTES + KR_VOTERS_RECORD_MAX];
	struct kr_batch_hdr h = {
		.base_offset = kr_log_end(r->log),
		.epoch = r->epoch,
		.attributes = kr_control_attributes(KR_CONTROL_VOTERS),
		.timestamp_us = now + r->wall_offset_us,
	};
	struct kr_voter_set copy = *s; /* s may be the history's own entry */
	int n, rc;

	n = kr_voters_record_encode(&copy, rec + KR_RECORD_HDR_BYTES,
				    sizeof(rec) - KR_RECORD_HDR_BYTES);
	if (n < 0)
		return n;
	kr_put_le32(rec, (uint32_t)n);
	rc = kr_log_append_records(r->log, &h, rec, KR_RECORD_HDR_BYTES + (uint32_t)n, 1);
	if (rc != 0)
		return rc;
	rp_voters_appended(r, h.base_offset, &copy);
	rp_voters_event(r, out);
	return 0;
}

int
rp_voters_write_boot(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	if (!r->cfg.dynamic || r->cfg.boot.n == 0 ||
	    kr_vh_latest_offset(&r->voters) != KR_OFFSET_NONE)
		return 0; /* static, joining (it learns the set), or written already */
	return append_voters(r, &r->cfg.boot, now, out);
}

int
kr_repl_voters_renew(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	uint64_t last = kr_vh_latest_offset(&r->voters);
	int rc;

	if (r->role != KR_REPL_LEADER || r->lead.left_sent || !r->cfg.dynamic ||
	    last == KR_OFFSET_NONE || r->hw == KR_OFFSET_NONE || last >= r->hw || !rp_room(out, 4))
		return 0; /* not the leader, static, or the last record not committed yet */
	rc = append_voters(r, kr_vh_latest(&r->voters), now, out);
	if (rc != 0)
		return rc;
	rp_log_changed(r, now, out);
	rp_advance_hw(r, now, out);
	return 1;
}

/* Has the observer (id, dir) reached this log's end within the last fetch timeout (ten
 * liveness intervals)? */
static bool
caught_up(struct kr_repl *r, const struct kr_voter *v, int64_t now)
{
	struct kr_replica *rep = rp_replica(r, v->id, v->dir, false);

	/* an unkeyed slot (a configured voter without a known directory id) says the
	 * directory it last heard from */
	return rep != NULL && memcmp(rep->dir, v->dir, KR_UUID_BYTES) == 0 &&
	       rep->last_caught_up_us != KR_TIME_NONE &&
	       now - rep->last_caught_up_us <= 10 * r->cfg.liveness_interval_us &&
	       rep->leo != KR_OFFSET_NONE;
}

uint16_t
kr_repl_voters_change(struct kr_repl *r, enum kr_voters_op op, const struct kr_voter *v,
		      int64_t now, struct kr_rp_out *out, uint64_t *offset)
{
	const struct kr_voter_set *cur = kr_vh_latest(&r->voters);
	uint64_t last = kr_vh_latest_offset(&r->voters);
	struct kr_voter_set next = *cur;
	int k = kr_voters_find_key(cur, v->id, v->dir);
	int rc;

	if (r->role != KR_REPL_LEADER || r->lead.left_sent)
		return KR_ERR_NOT_LEADER_OR_FOLLOWER; /* (it removed itself: resigning) */
	if (!rp_voters_known(r))
		return KR_ERR_UNSUPPORTED_VERSION;
	/* the leader fenced earlier leaders (committed its own epoch's first record), and
	 * the last change is done: else two changes could overlap (Raft's known bug) */
	if (KR_BUG(VOTERS_BEFORE_FIRST_COMMIT)) {
		/* what it knew committed before its epoch stands for its own first commit */
		if (r->committed == KR_OFFSET_NONE ||
		    (last != KR_OFFSET_NONE && last >= r->committed))
			return KR_ERR_REQUEST_TIMED_OUT;
	} else if (r->hw == KR_OFFSET_NONE || r->hw <= r->lead.epoch_start ||
		   (last != KR_OFFSET_NONE && last >= r->hw && !KR_BUG(VOTERS_TWO_AT_ONCE))) {
		return KR_ERR_REQUEST_TIMED_OUT;
	}
	if (v->id < 0 || kr_uuid_is_zero(v->dir) || (op != KR_VOTERS_OP_REMOVE && v->ep.port == 0))
		return KR_ERR_INVALID_REQUEST; /* a removal names no endpoint */
	switch (op) {
	case KR_VOTERS_OP_ADD:
		if (kr_voters_find(cur, v->id) >= 0)
			return KR_ERR_DUPLICATE_VOTER;
		if (cur->n == KR_VOTERS_MAX)
			return KR_ERR_INVALID_REQUEST;
		if (!caught_up(r, v, now))
			return KR_ERR_REQUEST_TIMED_OUT;
		next.v[next.n++] = *v;
		break;
	case KR_VOTERS_OP_REMOVE:
		if (k < 0 || cur->n == 1)
			return KR_ERR_VOTER_NOT_FOUND;
		memmove(&next.v[k], &next.v[k + 1], (size_t)(next.n - k - 1) * sizeof(next.v[0]));
		next.n--;
		memset(&next.v[next.n], 0, sizeof(next.v[0]));
		break;
	case KR_VOTERS_OP_UPDATE:
		if (k < 0)
			return KR_ERR_VOTER_NOT_FOUND;
		if (next.v[k].ep.ip == v->ep.ip && next.v[k].ep.port == v->ep.port)
			return KR_ERR_INVALID_REQUEST;
		next.v[k].ep = v->ep;
		break;
	default:
		return KR_ERR_INVALID_REQUEST;
	}
	if (kr_voters_diff(cur, &next, NULL) == KR_VOTERS_ILLEGAL)
		return KR_ERR_INVALID_REQUEST; /* a set the rule refuses (a duplicate endpoint...) */
	rc = append_voters(r, &next, now, out);
	if (rc == -ENOBUFS)
		return KR_ERR_LOG_FULL;
	if (rc != 0)
		return KR_ERR_UNKNOWN_SERVER_ERROR;
	*offset = kr_vh_latest_offset(&r->voters);
	rp_log_changed(r, now, out);
	rp_advance_hw(r, now, out);
	return KR_ERR_NONE;
}
