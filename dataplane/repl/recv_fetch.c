/* kraftd: Fetch, on the leader (the replica side is in recv_fetch_resp.c).
 *
 * A Fetch (epoch, fetch offset = the replica's LEO, last fetched epoch, durable offset)
 * is validated, checked against the epoch cache, and then either answered with records
 * in self-describing frames, answered at once with a diverging epoch, or parked until
 * there is something to say. A valid Fetch also records the replica's LEO and durable
 * offset, which may move the high watermark, and is the replica's heartbeat.
 */
#include <string.h>

#include "repl_int.h"

/* An answer without records: an error, a divergence, or nothing new yet. */
static struct kr_fetch_resp *
reply_one(struct kr_repl *r, uint64_t addr, const struct kr_fetch_key *k, uint16_t error,
	  struct kr_rp_out *out)
{
	struct kr_fetch_resp *f = rp_fetch_resp(out, addr, k);

	f->error = error;
	f->frame_count = 1;
	f->leader_id = r->leader_id;
	f->epoch = r->epoch;
	f->base_offset = kr_log_end(r->log);
	f->prev_epoch = kr_log_last_epoch(r->log);
	f->high_watermark = r->hw;
	f->log_start_offset = kr_log_start(r->log);
	return f;
}

bool
rp_fetch_reply(struct kr_repl *r, struct kr_replica *rep, const struct kr_fetch_key *k,
	       uint64_t offset, uint32_t max_bytes, struct kr_rp_out *out)
{
	struct kr_log_span spans[KR_REPLY_FRAMES_MAX];
	uint32_t budget = max_bytes < r->cfg.fetch_max_bytes ? max_bytes : r->cfg.fetch_max_bytes;
	uint32_t n = 0;
	uint64_t at = offset;

	if (!rp_room(out, r->cfg.reply_frames_max))
		return false;
	/* plan the frames first: each carries its frame count */
	while (n < r->cfg.reply_frames_max && budget > 0) {
		uint32_t cap =
			budget < r->cfg.frame_records_max ? budget : r->cfg.frame_records_max;
		int rc = rp_read_first(r, at, KR_OFFSET_NONE, cap, n == 0, &spans[n]);

		if (rc == -EMSGSIZE && n == 0) {
			/* larger than a batch can be: damage the log's checks missed */
			reply_one(r, rep->addr, k, KR_ERR_UNKNOWN_SERVER_ERROR, out);
			rp_drop(r, KR_RP_DROP_BAD_BATCH);
			return true;
		}
		if (rc != 0 || spans[n].len == 0)
			break;
		budget = spans[n].len < budget ? budget - spans[n].len : 0;
		at = spans[n].end_offset;
		n++;
	}
	if (n == 0) {
		reply_one(r, rep->addr, k, KR_ERR_NONE, out)->base_offset = offset;
	} else {
		for (uint32_t i = 0; i < n; i++) {
			struct kr_fetch_resp *f = rp_fetch_resp(out, rep->addr, k);

			f->error = KR_ERR_NONE;
			f->frame_index = (uint16_t)i;
			f->frame_count = (uint16_t)n;
			f->leader_id = r->cfg.node_id;
			f->epoch = r->epoch;
			f->base_offset = spans[i].base_offset;
			f->prev_epoch = spans[i].prev_epoch;
			f->high_watermark = r->hw;
			f->log_start_offset = kr_log_start(r->log);
			f->records = spans[i].data;
			f->records_len = spans[i].len;
		}
	}
	rep->hw_sent = r->hw;
	r->stats.fetches_served++;
	return true;
}

/* The latest start heard from node id, over all its directories. */
static uint64_t
node_incarnation(const struct kr_repl *r, int32_t node)
{
	uint64_t inc = 0;

	for (uint32_t i = 0; i < r->n_replicas; i++)
		if (r->replicas[i].id == node && r->replicas[i].incarnation > inc)
			inc = r->replicas[i].incarnation;
	return inc;
}

/* A new start of rep's node id: what the earlier starts said is void, in every directory
 * of that id. Another directory's observer slot is freed (that directory is gone); a
 * voter's is kept, empty: the voter (node id, old directory) cannot fetch again. */
static void
node_restarted(struct kr_repl *r, struct kr_replica *rep, uint64_t incarnation)
{
	for (uint32_t i = 0; i < r->n_replicas; i++) {
		struct kr_replica *o = &r->replicas[i];

		if (o->id != rep->id)
			continue;
		rp_replica_forget(o);
		o->incarnation = incarnation;
		if (o != rep && !o->voter)
			o->id = KR_NODE_NONE;
	}
}

uint16_t
rp_fetcher(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr, uint32_t epoch,
	   const uint8_t dir[KR_UUID_BYTES], uint64_t incarnation, uint64_t offset, bool alive,
	   int64_t now, struct kr_rp_out *out, struct kr_replica **repp)
{
	struct kr_replica *rep;

	if (r->role != KR_REPL_LEADER)
		return KR_ERR_NOT_LEADER_OR_FOLLOWER; /* it names the leader it knows: how
						       * observers find it */
	if (epoch < r->epoch && !KR_BUG(ACCEPT_STALE_EPOCH_FETCH))
		return KR_ERR_FENCED_LEADER_EPOCH;
	if (epoch > r->epoch) {
		/* A newer epoch exists: the control plane steps into it (Raft's rule for any
		 * request of a higher epoch). Otherwise a voter that reached it alone (its
		 * candidacy stored, then a crash before any Vote left) and may not vote until
		 * it has refetched (amnesia, damage) is refused here for ever, and the epoch
		 * never moves (kraftsim seeds 5104873, 5107265, 5305320). No disruption from a
		 * partitioned node: an epoch is only raised by winning pre-votes. */
		struct kr_event *ev = rp_event(out, KR_EV_EPOCH_SEEN);

		ev->epoch = epoch;
		ev->node = KR_NODE_NONE;
		return KR_ERR_UNKNOWN_LEADER_EPOCH;
	}
	/* A request from an earlier start of the node than one already heard, from any of
	 * its directories: a late packet from a process that is gone (in memory mode it took
	 * its log with it; a replaced disk took it too). */
	if (incarnation < node_incarnation(r, h->sender_id)) {
		rp_drop(r, KR_RP_DROP_STALE_INCARNATION);
		return RP_DROPPED;
	}
	rep = rp_replica(r, h->sender_id, dir, true);
	if (rep == NULL) {
		rp_drop(r, KR_RP_DROP_OBSERVERS_FULL);
		return KR_ERR_BUSY;
	}
	if (incarnation > rep->incarnation) { /* it restarted: forget what it said */
		node_restarted(r, rep, incarnation);
		rep->incarnation = incarnation;
	}
	rep->addr = addr;
	if (!rep->keyed)
		memcpy(rep->dir, dir, KR_UUID_BYTES);

	/* the replica is alive and follows this leader: tell the control plane, at most
	 * once per liveness interval (check quorum, BeginQuorumEpoch acknowledgement) */
	if (alive && rep->voter &&
	    (rep->last_liveness_us == KR_TIME_NONE ||
	     now - rep->last_liveness_us >= r->cfg.liveness_interval_us)) {
		struct kr_event *ev = rp_event(out, KR_EV_REPLICA_FETCHED);

		ev->node = rep->id;
		ev->epoch = r->epoch;
		ev->offset = offset;
		rep->last_liveness_us = now;
	}
	*repp = rep;
	return KR_ERR_NONE;
}

void
rp_recv_fetch(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr,
	      const struct kr_fetch_req *req, int64_t now, struct kr_rp_out *out)
{
	struct kr_replica *rep = NULL;
	struct kr_epoch_end end;
	uint64_t leo = kr_log_end(r->log);
	const struct kr_fetch_key key = {h->correlation_id, req->incarnation}, *k = &key;
	uint16_t err;

	/* guard: who leads, which epoch, which ranges */
	if (r->role == KR_REPL_LEADER &&
	    (req->last_fetched_epoch > req->epoch ||
	     (req->durable_offset != KR_OFFSET_NONE && req->durable_offset > req->fetch_offset) ||
	     req->fetch_offset > KR_OFFSET_MAX)) {
		reply_one(r, addr, k, KR_ERR_INVALID_REQUEST, out);
		return;
	}
	err = rp_fetcher(r, h, addr, req->epoch, req->replica_dir, req->incarnation,
			 req->fetch_offset, true, now, out, &rep);
	if (err == RP_DROPPED)
		return;
	if (err != KR_ERR_NONE) {
		reply_one(r, addr, k, err, out);
		return;
	}
	/* a replica's newer Fetch replaces its parked one, and ends a snapshot it fetched */
	rep->parked = false;
	rp_xfer_out_end(r, rep);

	if (rp_fetch_needs_snapshot(r, req)) {
		struct kr_fetch_resp *f = reply_one(r, addr, k, KR_ERR_NONE, out);

		f->snapshot = 1;
		f->diverging_end_offset = r->snap_newest.end_offset;
		f->diverging_epoch = r->snap_newest.epoch;
		f->base_offset = kr_log_start(r->log); /* where its log goes on from */
		f->prev_epoch = kr_log_base_epoch(r->log);
		r->stats.snapshots_named++;
		return;
	}
	if (req->fetch_offset < kr_log_start(r->log)) {
		reply_one(r, addr, k, KR_ERR_OFFSET_OUT_OF_RANGE, out);
		return;
	}
	/* Divergence, answered at once: the largest epoch <= the replica's last fetched one
	 * and where it ends here. If that is another epoch, or ends before the replica's
	 * LEO, the replica's log differs from here on and it must truncate. */
	end = kr_epoch_cache_end_for(kr_log_epochs(r->log), req->last_fetched_epoch, leo);
	/* A replica at the log start (or below it once it truncates there) whose last epoch
	 * this log no longer knows: its history lies in the deleted prefix and cannot be
	 * compared here. It starts over at the log start (everything below is committed),
	 * as one whose log ends below it does. */
	if (end.epoch == 0 && req->last_fetched_epoch != 0 && kr_log_start(r->log) > 0 &&
	    req->fetch_offset <= kr_log_start(r->log)) {
		reply_one(r, addr, k, KR_ERR_OFFSET_OUT_OF_RANGE, out);
		return;
	}
	if (end.epoch != req->last_fetched_epoch || end.end_offset < req->fetch_offset) {
		struct kr_fetch_resp *f = reply_one(r, addr, k, KR_ERR_NONE, out);

		f->diverging = 1;
		f->diverging_epoch = end.epoch;
		f->diverging_end_offset = end.end_offset;
		r->stats.divergences_sent++;
		return;
	}

	/* the replica's log matches this one up to its fetch offset: no divergence above,
	 * and the offset is inside this log */
	RP_ASSERT(req->fetch_offset >= kr_log_start(r->log) && req->fetch_offset <= leo);
	rep->leo = req->fetch_offset;
	rep->durable = req->durable_offset; /* NONE while it repairs damage: it counts as 0 */
	rep->last_fetch_us = now;
	if (req->fetch_offset >= leo)
		rep->last_caught_up_us = now;
	rp_advance_hw(r, now, out);

	if (req->fetch_offset < leo || req->max_wait_us == 0 ||
	    (r->hw != KR_OFFSET_NONE && (rep->hw_sent == KR_OFFSET_NONE || r->hw > rep->hw_sent))) {
		rp_fetch_reply(r, rep, k, req->fetch_offset, req->max_bytes, out);
		return;
	}
	rep->parked = true;
	rep->parked_key = key;
	rep->parked_offset = req->fetch_offset;
	rep->parked_max_bytes = req->max_bytes;
	rep->parked_deadline =
		now + (req->max_wait_us < r->cfg.fetch_max_wait_us ? req->max_wait_us
								   : r->cfg.fetch_max_wait_us);
	r->stats.fetches_parked++;
}
