/* kraftd: Fetch on a follower or observer: sending it, and taking its reply frames.
 *
 * A frame is appended only if it answers the Fetch in flight (its correlation id and
 * this start's incarnation) or is a late frame of the one before it, comes from the
 * current leader in the current epoch, and starts exactly at this log's end with the
 * epoch this log ends in. A frame of records this log holds already is skipped; a gap
 * or another epoch makes the next Fetch start again from the LEO (include/kraft/wire.h,
 * FETCH_RESP). A divergence truncates to where the logs agree,
 * never below the high watermark. The high watermark comes only from a non-diverging
 * frame of the current leader, capped at what that frame validated (this log's end),
 * and never goes down.
 */
#include <string.h>

#include "repl_int.h"

/* Add id to the n ids at list unless it is this node or there already. */
static uint32_t
add_target(const struct kr_repl *r, int32_t *list, uint32_t n, int32_t id)
{
	if (id == r->cfg.node_id || id < 0)
		return n;
	for (uint32_t k = 0; k < n; k++)
		if (list[k] == id)
			return n;
	list[n] = id;
	return n + 1;
}

/* The next node an observer asks who leads, or KR_NODE_NONE if there is none but
 * itself: the voters of the set in force, the configured ones, the bootstrap ones. */
static int32_t
discovery_target(struct kr_repl *r)
{
	const struct kr_voter_set *s = rp_voters_known(r) ? kr_vh_latest(&r->voters) : NULL;
	int32_t list[2 * KR_VOTERS_MAX + KR_REPLICAS_MAX];
	uint32_t n = 0;

	for (int i = 0; s != NULL && i < s->n; i++)
		n = add_target(r, list, n, s->v[i].id);
	for (int i = 0; i < r->cfg.n_voters; i++)
		n = add_target(r, list, n, r->cfg.voters[i]);
	for (int i = 0; i < r->cfg.n_bootstrap && i < KR_REPLICAS_MAX; i++)
		n = add_target(r, list, n, r->cfg.bootstrap[i]);
	return n == 0 ? KR_NODE_NONE : list[r->fetch.bootstrap_next++ % n];
}

void
rp_send_fetch(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	struct kr_msg *m;
	uint64_t leo = kr_log_end(r->log);
	int32_t to;

	if (r->role == KR_REPL_FOLLOWER && r->snap_in.active) {
		rp_send_fetch_snapshot(r, now, out);
		return;
	}
	if (r->role == KR_REPL_FOLLOWER) {
		to = r->leader_id;
	} else if (r->role == KR_REPL_UNATTACHED && (!rp_self_voter(r) || r->looking)) {
		/* an observer asks the voters in turn who leads: those of the set in force,
		 * then the configured ones (not itself: a rejoined or re-formatted directory
		 * keeps a voter's node id, a removed voter its own) */
		to = discovery_target(r);
		if (to == KR_NODE_NONE)
			return;
	} else {
		return;
	}
	if (!rp_room(out, 1)) {
		r->fetch.inflight = false;
		r->fetch.next_us = now; /* at the next tick */
		return;
	}
	r->fetch.prev_corr = r->fetch.corr;
	r->fetch.corr = rp_correlation(r);
	r->fetch.to = to;
	r->fetch.inflight = true;
	r->fetch.sent_us = now;
	r->fetch.next_us = RP_NEVER;
	r->fetch.durable_sent = r->cfg.memory_mode ? leo : (r->durable < leo ? r->durable : leo);
	m = rp_send(out, to, 0, r->fetch.corr, KR_API_FETCH);
	m->u.fetch.epoch = r->epoch;
	m->u.fetch.last_fetched_epoch = kr_log_last_epoch(r->log);
	m->u.fetch.fetch_offset = leo;
	/* while damage is being repaired this node's data does not count toward commit */
	m->u.fetch.durable_offset =
		leo < r->cfg.repair_target ? KR_OFFSET_NONE : r->fetch.durable_sent;
	m->u.fetch.max_wait_us = r->cfg.fetch_max_wait_us;
	m->u.fetch.max_bytes = r->cfg.fetch_max_bytes;
	memcpy(m->u.fetch.replica_dir, r->cfg.directory_id, KR_UUID_BYTES);
	m->u.fetch.incarnation = r->cfg.incarnation;
	m->u.fetch.log_start_offset = kr_log_start(r->log);
	m->u.fetch.want_snapshot = r->want_snapshot;
	m->u.fetch.state_ahead = r->snap_newest.end_offset > leo;
}

void
rp_leader_heard(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	if (r->fetch.leader_liveness_us == KR_TIME_NONE ||
	    now - r->fetch.leader_liveness_us >= r->cfg.liveness_interval_us) {
		struct kr_event *ev = rp_event(out, KR_EV_LEADER_FETCHED);

		ev->node = r->leader_id;
		ev->epoch = r->epoch;
		r->fetch.leader_liveness_us = now;
	}
}

void
rp_reset_to(struct kr_repl *r, uint64_t start, int64_t now, struct kr_rp_out *out)
{
	int rc = kr_log_reset(r->log, start);

	RP_ASSERT(rc == 0); /* the start is an offset the leader holds */
	r->gen++;	    /* flush reports from before this are void */
	r->durable = start;
	rp_voters_truncated(r, out);
	kr_vh_unanchor(&r->voters); /* changes below the start went unseen */
	if (r->hw == KR_OFFSET_NONE || r->hw < start)
		r->hw = start;
	rp_committed(r, r->hw);
	r->fetch.inflight = false;
	rp_log_changed(r, now, out);
	rp_send_fetch(r, now, out);
}

static void
later(struct kr_repl *r, int64_t now)
{
	r->fetch.inflight = false;
	r->fetch.next_us = now + r->cfg.fetch_backoff_us;
}

static void
epoch_seen(struct kr_rp_out *out, uint32_t epoch, int32_t leader)
{
	struct kr_event *ev = rp_event(out, KR_EV_EPOCH_SEEN);

	ev->epoch = epoch;
	ev->node = leader;
}

void
rp_answer_names_leader(struct kr_repl *r, uint16_t error, uint32_t epoch, int32_t leader,
		       struct kr_rp_out *out)
{
	if ((error == KR_ERR_NOT_LEADER_OR_FOLLOWER || error == KR_ERR_FENCED_LEADER_EPOCH) &&
	    (epoch > r->epoch || (leader >= 0 && leader != r->leader_id)))
		epoch_seen(out, epoch, leader);
}

/* Where to truncate after the leader said (div_epoch, div_end): Kafka's
 * truncateToEndOffset. */
static uint64_t
truncation_point(const struct kr_repl *r, uint32_t div_epoch, uint64_t div_end)
{
	uint64_t leo = kr_log_end(r->log);
	struct kr_epoch_end local = kr_epoch_cache_end_for(kr_log_epochs(r->log), div_epoch, leo);

	if (div_epoch == 0)
		return div_end < leo ? div_end : leo;
	if (local.epoch == div_epoch)
		return local.end_offset < div_end ? local.end_offset : div_end;
	return local.end_offset;
}

static void
diverged(struct kr_repl *r, const struct kr_fetch_resp *resp, int64_t now, struct kr_rp_out *out)
{
	uint64_t target = truncation_point(r, resp->diverging_epoch, resp->diverging_end_offset);

	r->fetch.inflight = false;
	if (r->committed != KR_OFFSET_NONE && target < r->committed) {
		/* committed records would go: a broken leader or a broken log. Stop. */
		kr_repl_fail(r, KR_FATAL_TRUNCATE_BELOW_HW, now, out);
		return;
	}
	if (target < kr_log_end(r->log) && !KR_BUG(NO_TRUNCATE_ON_DIVERGENCE)) {
		int64_t rc = target < kr_log_start(r->log) ? kr_log_reset(r->log, target)
							   : kr_log_truncate(r->log, target);

		RP_ASSERT(rc >= 0);
		if (kr_log_start(r->log) > 0 && kr_log_start(r->log) == kr_log_end(r->log))
			kr_vh_unanchor(&r->voters); /* a reset: changes below went unseen */
		r->gen++;			    /* flush reports from before this are void */
		if (r->durable > kr_log_end(r->log))
			r->durable = kr_log_end(r->log);
		r->stats.truncations++;
		rp_voters_truncated(r, out);
		rp_log_changed(r, now, out);
	}
	rp_send_fetch(r, now, out);
}

/* Append the frame's batches. Returns false if one would not append. A voters record
 * takes effect here, on append (include/kraft/voterset.h); one that is malformed or
 * changes more than one voter is refused with its batch. */
static bool
append_frame(struct kr_repl *r, const struct kr_fetch_resp *resp, struct kr_rp_out *out)
{
	uint32_t pos = 0;
	bool voters_changed = false;
	bool ok = true;

	while (pos < resp->records_len) {
		struct kr_batch_hdr h;
		struct kr_voter_set s;
		const uint8_t *b = resp->records + pos;
		int voters;

		kr_batch_hdr_get(b, &h); /* the decoder checked that lengths tile the records */
		voters = rp_voters_check(r, b, &h, &s);
		if (h.epoch > r->epoch || voters < 0 || kr_log_append(r->log, b, h.length) != 0) {
			rp_drop(r, KR_RP_DROP_BAD_BATCH);
			ok = false;
			break;
		}
		if (voters > 0) {
			rp_voters_appended(r, h.base_offset, &s);
			voters_changed = true;
		}
		pos += h.length;
	}
	if (voters_changed)
		rp_voters_event(r, out);
	return ok;
}

void
rp_recv_fetch_resp(struct kr_repl *r, const struct kr_frame_hdr *h,
		   const struct kr_fetch_resp *resp, int64_t now, struct kr_rp_out *out)
{
	uint64_t leo;
	bool ok, late;

	/* guard: a reply to the Fetch in flight, in a role that fetches; or a late frame of
	 * the request before it (frames of one reply may arrive in any order: the one this
	 * log needs next may come after the ones that made it ask again), taken only if it
	 * carries records that start exactly at this log's end */
	if (r->role != KR_REPL_FOLLOWER && r->role != KR_REPL_UNATTACHED) {
		rp_drop(r, KR_RP_DROP_NOT_FOLLOWING);
		return;
	}
	late = r->fetch.prev_corr != 0 && h->correlation_id == r->fetch.prev_corr &&
	       r->role == KR_REPL_FOLLOWER && resp->error == KR_ERR_NONE && !resp->diverging &&
	       resp->base_offset == kr_log_end(r->log) && resp->records_len > 0;
	if ((!late && (!r->fetch.inflight || h->correlation_id != r->fetch.corr)) ||
	    resp->incarnation != r->cfg.incarnation || h->sender_id != r->fetch.to) {
		rp_drop(r, KR_RP_DROP_STALE_REPLY);
		return;
	}
	if (resp->error != KR_ERR_NONE) {
		rp_answer_names_leader(r, resp->error, resp->epoch, resp->leader_id, out);
		if (resp->error == KR_ERR_OFFSET_OUT_OF_RANGE && r->role == KR_REPL_FOLLOWER &&
		    resp->log_start_offset >= kr_log_end(r->log)) {
			/* a leader without snapshots deleted what this log needs next (or the
			 * history it would compare this log's end with) */
			r->stats.truncations++;
			rp_reset_to(r, resp->log_start_offset, now, out);
			return;
		}
		/* an observer that has not found the leader yet: this answer names it, and
		 * once the control plane makes it a follower it starts over as above */
		if (resp->error == KR_ERR_OFFSET_OUT_OF_RANGE && r->role == KR_REPL_UNATTACHED &&
		    resp->leader_id >= 0)
			epoch_seen(out, resp->epoch, resp->leader_id);
		later(r, now);
		return;
	}
	if (r->role == KR_REPL_UNATTACHED) {
		/* an observer found the leader: the control plane makes it a follower */
		epoch_seen(out, resp->epoch, resp->leader_id);
		later(r, now);
		return;
	}
	if (resp->leader_id != r->leader_id || resp->epoch != r->epoch) {
		if (resp->epoch > r->epoch)
			epoch_seen(out, resp->epoch, resp->leader_id);
		rp_drop(r, KR_RP_DROP_WRONG_LEADER);
		later(r, now);
		return;
	}

	rp_leader_heard(r, now, out);
	if (resp->snapshot) {
		if (r->cfg.xfer_in != NULL) {
			rp_snap_begin(r,
				      (struct kr_snap_id){resp->diverging_end_offset,
							  resp->diverging_epoch},
				      resp->base_offset, resp->prev_epoch, now, out);
		} else if (resp->log_start_offset >= kr_log_end(r->log)) {
			/* no way to take a snapshot: start over at the leader's log start */
			r->stats.truncations++;
			rp_reset_to(r, resp->log_start_offset, now, out);
		} else {
			later(r, now);
		}
		return;
	}
	if (resp->diverging) {
		if (KR_BUG(HW_FROM_DIVERGING_REPLY) && resp->high_watermark != KR_OFFSET_NONE) {
			uint64_t end = kr_log_end(r->log);

			r->hw = resp->high_watermark < end ? resp->high_watermark : end;
			rp_committed(r, r->hw);
		}
		diverged(r, resp, now, out);
		return;
	}
	leo = kr_log_end(r->log);
	/* an empty log the leader reset to its start knows no epoch before it: the leader's
	 * word for it is taken (the records below are committed) */
	if (resp->base_offset == leo && kr_log_start(r->log) == leo && leo > 0 &&
	    kr_log_base_epoch(r->log) == 0 && resp->prev_epoch != 0)
		kr_log_set_base_epoch(r->log, resp->prev_epoch);
	if (resp->base_offset != leo || resp->prev_epoch != kr_log_last_epoch(r->log)) {
		rp_drop(r, KR_RP_DROP_FRAME_MISMATCH);
		if (late)
			return;
		/* records this log took already (late frames of the request before): wait
		 * for the rest of the reply; a gap, or another epoch before it: ask again */
		if (resp->base_offset < leo && resp->prev_epoch <= kr_log_last_epoch(r->log) &&
		    resp->frame_index + 1 < resp->frame_count)
			return;
		r->fetch.inflight = false;
		rp_send_fetch(r, now, out); /* start again from the LEO */
		return;
	}
	ok = append_frame(r, resp, out);
	if (kr_log_end(r->log) != leo)
		rp_log_changed(r, now, out);
	leo = kr_log_end(r->log);

	/* the HW: only from here, capped at what this frame validated, never lower */
	if (resp->high_watermark != KR_OFFSET_NONE) {
		uint64_t hw = resp->high_watermark < leo ? resp->high_watermark : leo;

		if (r->hw == KR_OFFSET_NONE || hw > r->hw)
			r->hw = hw;
		rp_committed(r, r->hw);
		if (r->fetch.first_hw == KR_OFFSET_NONE)
			r->fetch.first_hw = resp->high_watermark;
	}
	/* A repair target above everything the leader holds (recovery can only bound what
	 * this node had from above) ends once this log equals the leader's: an answer with
	 * no records at this log's end. The leader holds every committed record, so nothing
	 * this node may have acknowledged and the cluster needs is missing any more. */
	if (leo < r->cfg.repair_target && resp->records_len == 0 && resp->frame_count == 1 &&
	    r->fetch.first_hw != KR_OFFSET_NONE && leo >= r->fetch.first_hw)
		r->cfg.repair_target = leo;
	rp_caught_up_check(r, out);
	rp_service(r, now, out);
	if (!ok) {
		later(r, now);
		return;
	}
	if (late)
		return; /* the request in flight goes on */
	if (resp->frame_index + 1 == resp->frame_count) {
		r->fetch.inflight = false;
		rp_send_fetch(r, now, out);
	}
}
