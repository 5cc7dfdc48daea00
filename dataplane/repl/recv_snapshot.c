/* kraftd: snapshots between nodes (KIP-630's FetchSnapshot), both sides.
 *
 * Leader. A Fetch whose position this log cannot serve is answered with the id of the
 * newest snapshot (rp_fetch_needs_snapshot: an empty fetcher; a position below the log
 * start; a fetcher at the log start, or past it, whose last epoch says its history left
 * this one's in the deleted prefix). A FetchSnapshot is checked as a Fetch is (leader,
 * epoch, the fetcher's start and slot), counts as the fetcher's heartbeat without moving
 * its offsets, and is served from a sending slot's window (include/kraft/xfer.h): frames
 * of the bytes at the asked position the window holds, or, while the I/O thread has not
 * read them yet, parked until it has (or until an answer without bytes keeps the fetcher's
 * timer). A position outside the window makes the I/O thread seek there.
 *
 * Follower. Told to take a snapshot, it fetches that id instead of the log: one
 * FetchSnapshot at a time for what its receiving window has room for, each frame's bytes
 * taken only if they continue what it holds. The I/O thread writes them out; once the
 * file is whole, checked and named, the snapshot is installed (install()): it stands
 * for the log below its end. Installing is not a truncation: a log that holds the
 * snapshot's last record in its epoch is kept (its start stays), any other starts over
 * where the leader's log started when it named the snapshot (every record below the
 * snapshot's end is committed; the records between are fetched again, only stored, so a
 * new leader's producer table still holds every append younger than the dedup window);
 * a committed prefix that reaches past the leader's start stays too; the high watermark
 * is never lowered. Then the follower fetches the log from there. A leader change, an
 * error answer or a refused download (damaged in flight, another cluster's, a full disk)
 * gives the transfer up; the next Fetch starts again.
 */
#include <string.h>

#include "repl_int.h"

/* ---- leader ---- */

bool
rp_fetch_needs_snapshot(const struct kr_repl *r, const struct kr_fetch_req *req)
{
	uint64_t start = kr_log_start(r->log);
	uint32_t base = kr_log_base_epoch(r->log);

	if (r->cfg.xfer_out == NULL || r->snap_newest.end_offset == 0 ||
	    r->snap_newest.end_offset < start)
		return false;
	if (req->fetch_offset == 0 && !req->state_ahead)
		return true; /* an empty fetcher: the snapshot is the faster way */
	if (req->want_snapshot && r->snap_newest.end_offset >= req->log_start_offset)
		return true; /* it lacks the state at its log start: one it can start from */
	if (start == 0)
		return false;
	/* at the start, epoch 0 is an emptied log that knows no epoch (a fetcher without
	 * snapshots started over here): it takes the leader's word for the one before */
	return req->fetch_offset < start ||
	       (req->fetch_offset == start && req->last_fetched_epoch != base &&
		req->last_fetched_epoch != 0) ||
	       (req->last_fetched_epoch < base && req->last_fetched_epoch != 0);
}

static bool
slot_is(const struct kr_rp_xfer_out *o, const struct kr_replica *rep)
{
	return o->used && o->node == rep->id && memcmp(o->dir, rep->dir, KR_UUID_BYTES) == 0;
}

static void
slot_free(struct kr_repl *r, uint32_t i)
{
	struct kr_xfer *x = &r->cfg.xfer_out[i];

	r->xo[i].used = false;
	r->xo[i].parked = false;
	kr_xfer_request(x, KR_XFER_IDLE, (struct kr_snap_id){0, 0}, 0);
}

void
rp_xfer_out_end(struct kr_repl *r, const struct kr_replica *rep)
{
	for (uint32_t i = 0; i < r->cfg.n_xfer_out; i++)
		if (slot_is(&r->xo[i], rep))
			slot_free(r, i);
}

void
rp_xfer_out_stop(struct kr_repl *r)
{
	for (uint32_t i = 0; i < r->cfg.n_xfer_out; i++)
		if (r->xo[i].used)
			slot_free(r, i);
}

/* A FETCH_SNAPSHOT_RESP frame to addr answering request k. */
static struct kr_fetch_snapshot_resp *
snap_resp(struct kr_repl *r, uint64_t addr, const struct kr_fetch_key *k, uint16_t error,
	  struct kr_rp_out *out)
{
	struct kr_msg *m =
		rp_send(out, KR_NODE_NONE, addr, k->correlation, KR_API_FETCH_SNAPSHOT_RESP);
	struct kr_fetch_snapshot_resp *f = &m->u.fetch_snapshot_resp;

	f->error = error;
	f->frame_count = 1;
	f->leader_id = r->leader_id;
	f->epoch = r->epoch;
	f->incarnation = k->incarnation;
	return f;
}

/* Serve slot i's request from its window. @return false if it must wait (parked). */
static bool
serve(struct kr_repl *r, uint32_t i, bool give_up, struct kr_rp_out *out)
{
	struct kr_rp_xfer_out *o = &r->xo[i];
	struct kr_xfer *x = &r->cfg.xfer_out[i];
	struct kr_fetch_snapshot_resp *f;
	const uint8_t *views[KR_REPLY_FRAMES_MAX];
	uint32_t lens[KR_REPLY_FRAMES_MAX], n = 0;
	uint32_t budget =
		o->max_bytes < r->cfg.fetch_max_bytes ? o->max_bytes : r->cfg.fetch_max_bytes;
	uint64_t at = o->pos, size;
	int32_t status;

	if (!kr_xfer_answered(x)) {
		if (!give_up)
			return false;
		/* the I/O thread is slow to open it: an answer without bytes or a size, which
		 * keeps the fetcher's timer, meanwhile */
		f = snap_resp(r, o->addr, &o->key, KR_ERR_NONE, out);
		f->id = o->id;
		o->parked = false;
		return true;
	}
	status = kr_xfer_status(x);
	if (status < 0) {
		snap_resp(r, o->addr, &o->key,
			  status == -ENOENT   ? KR_ERR_SNAPSHOT_NOT_FOUND
			  : status == -ERANGE ? KR_ERR_POSITION_OUT_OF_RANGE
					      : KR_ERR_UNKNOWN_SERVER_ERROR,
			  out);
		slot_free(r, i);
		return true;
	}
	size = kr_xfer_size(x);
	if (o->pos >= size) {
		snap_resp(r, o->addr, &o->key, KR_ERR_POSITION_OUT_OF_RANGE, out);
		o->parked = false;
		return true;
	}
	while (n < r->cfg.reply_frames_max && budget > 0 && at < size) {
		uint32_t cap =
			budget < r->cfg.frame_records_max ? budget : r->cfg.frame_records_max;
		int64_t got = kr_xfer_peek(x, at + (KR_BUG(SNAP_FRAME_OFF_BY_ONE) && n > 0), cap,
					   &views[n]);

		if (got == -ERANGE && n == 0) {
			/* outside the window: the I/O thread starts again at the position */
			kr_xfer_request(x, KR_XFER_OUT, o->id, o->pos);
			return false;
		}
		if (got <= 0)
			break;
		lens[n++] = (uint32_t)got;
		budget -= (uint32_t)got;
		at += (uint64_t)got;
	}
	if (n == 0 && !give_up)
		return false;
	kr_xfer_release(x, o->pos); /* the fetcher holds everything below its position */
	at = o->pos;
	for (uint32_t k = 0; k < (n > 0 ? n : 1); k++) {
		f = snap_resp(r, o->addr, &o->key, KR_ERR_NONE, out);
		f->frame_index = (uint16_t)k;
		f->frame_count = (uint16_t)(n > 0 ? n : 1);
		f->id = o->id;
		f->size = size;
		f->position = at;
		f->data = n > 0 ? views[k] : NULL;
		f->data_len = n > 0 ? lens[k] : 0;
		at += f->data_len;
		r->stats.snapshot_bytes_out += f->data_len;
	}
	o->parked = false;
	return true;
}

void
rp_recv_fetch_snapshot(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr,
		       const struct kr_fetch_snapshot_req *req, int64_t now, struct kr_rp_out *out)
{
	const struct kr_fetch_key key = {h->correlation_id, req->incarnation};
	struct kr_replica *rep = NULL;
	uint32_t i, slot = UINT32_MAX;
	uint16_t err = rp_fetcher(r, h, addr, req->epoch, req->replica_dir, req->incarnation, 0,
				  !KR_BUG(SNAP_NOT_HEARTBEAT), now, out, &rep);

	if (err == RP_DROPPED)
		return;
	if (err == KR_ERR_NONE && r->cfg.xfer_out == NULL)
		err = KR_ERR_SNAPSHOT_NOT_FOUND;
	if (err == KR_ERR_NONE) {
		rep->parked = false; /* it fetches a snapshot now, not the log */
		rep->last_fetch_us = now;
		for (i = 0; i < r->cfg.n_xfer_out && slot == UINT32_MAX; i++)
			if (slot_is(&r->xo[i], rep))
				slot = i;
		for (i = 0; i < r->cfg.n_xfer_out && slot == UINT32_MAX; i++)
			if (!r->xo[i].used)
				slot = i;
		if (slot == UINT32_MAX)
			err = KR_ERR_BUSY; /* as many transfers as slots: it asks again later */
	}
	if (err != KR_ERR_NONE) {
		snap_resp(r, addr, &key, err, out);
		return;
	}
	r->stats.snapshot_requests++;
	struct kr_rp_xfer_out *o = &r->xo[slot];
	struct kr_xfer *x = &r->cfg.xfer_out[slot];

	if (!o->used || o->id.end_offset != req->id.end_offset || o->id.epoch != req->id.epoch) {
		*o = (struct kr_rp_xfer_out){.used = true, .node = rep->id, .id = req->id};
		memcpy(o->dir, rep->dir, KR_UUID_BYTES);
		kr_xfer_request(x, KR_XFER_OUT, req->id, req->position);
	}
	o->incarnation = req->incarnation;
	o->used_us = now;
	o->key = key;
	o->addr = addr;
	o->pos = req->position;
	o->max_bytes = req->max_bytes;
	o->deadline = now + r->cfg.fetch_max_wait_us;
	o->poll_at = now + KR_XFER_POLL_US;
	o->parked = true;
	serve(r, slot, false, out);
}

void
rp_xfer_out_tick(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	for (uint32_t i = 0; i < r->cfg.n_xfer_out; i++) {
		struct kr_rp_xfer_out *o = &r->xo[i];

		if (!o->used)
			continue;
		if (!o->parked && now - o->used_us >= KR_XFER_IDLE_US) {
			slot_free(r, i);
			continue;
		}
		if (!o->parked || !rp_room(out, r->cfg.reply_frames_max))
			continue;
		if (now >= o->poll_at || now >= o->deadline) {
			if (!serve(r, i, now >= o->deadline, out))
				o->poll_at = now + KR_XFER_POLL_US;
		}
	}
}

int64_t
rp_xfer_out_deadline(const struct kr_repl *r)
{
	int64_t d = RP_NEVER;

	for (uint32_t i = 0; i < r->cfg.n_xfer_out; i++) {
		const struct kr_rp_xfer_out *o = &r->xo[i];
		int64_t t = o->parked ? (o->poll_at < o->deadline ? o->poll_at : o->deadline)
				      : o->used_us + KR_XFER_IDLE_US;

		if (o->used && t < d)
			d = t;
	}
	return d;
}

/* ---- follower ---- */

void
rp_snap_abort(struct kr_repl *r)
{
	if (!r->snap_in.active)
		return;
	r->snap_in.active = false;
	kr_xfer_request(r->cfg.xfer_in, KR_XFER_IDLE, (struct kr_snap_id){0, 0}, 0);
}

void
rp_snap_begin(struct kr_repl *r, struct kr_snap_id id, uint64_t start, uint32_t start_epoch,
	      int64_t now, struct kr_rp_out *out)
{
	rp_snap_abort(r);
	r->snap_in.active = true;
	r->snap_in.id = id;
	/* a leader's start is at or below its snapshot's end (a malformed answer: the end) */
	r->snap_in.log_start = start <= id.end_offset ? start : id.end_offset;
	r->snap_in.start_epoch = start <= id.end_offset ? start_epoch : id.epoch;
	r->snap_in.size = 0;
	r->snap_in.received = 0;
	kr_xfer_request(r->cfg.xfer_in, KR_XFER_IN, id, 0);
	r->fetch.inflight = false;
	rp_send_fetch_snapshot(r, now, out);
}

/* Give the transfer up: count it, and fetch the log again after the backoff (the leader
 * names its snapshot again if it is still needed). */
static void
give_up(struct kr_repl *r, int64_t now)
{
	rp_snap_abort(r);
	r->stats.snapshot_failures++;
	r->fetch.inflight = false;
	r->fetch.next_us = now + r->cfg.fetch_backoff_us;
}

static void
install(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	struct kr_snap_id id = r->snap_in.id;
	uint64_t hw = r->hw;
	struct kr_rp_action *a;

	if (!rp_room(out, 5)) {
		r->fetch.next_us = now; /* at the next tick */
		return;
	}
	rp_snap_abort(r); /* the slot is done: the file is the snapshot's now */
	if (id.end_offset < kr_log_start(r->log)) {
		/* older than this log's start (a leader's newest, for a node that wants one
		 * past its start): it cannot stand for the log, and nothing here below the
		 * start may go. Ask again later: the leader takes newer ones. */
		r->fetch.inflight = false;
		r->fetch.next_us = now + r->cfg.fetch_backoff_us;
		return;
	}
	r->stats.snapshots_installed++;
	r->snap_newest = id;
	if (r->want_snapshot) {
		struct kr_event *ev = rp_event(out, KR_EV_STATE_RESTORED);

		ev->offset = id.end_offset;
		ev->epoch = r->epoch;
		r->want_snapshot = false;
	}
	if (!kr_log_holds(r->log, id)) {
		/* Every record below the end is committed, and those of this log above a
		 * point where it leaves the leader's are not (none of them counted anywhere).
		 * The log starts over where the leader's starts, not at the snapshot's end:
		 * never past an append younger than the dedup window, so that this node, if
		 * it leads, still knows the producers a retry may name (the state machine
		 * applies from the snapshot's end; what lies below is only stored). */
		uint64_t start = r->snap_in.log_start;

		if (r->committed != KR_OFFSET_NONE && r->committed > start &&
		    !KR_BUG(INSTALL_LOWERS_HW)) {
			/* what it knows committed is the leader's and reaches past the leader's
			 * start (an answer to a Fetch sent before late frames filled its log):
			 * that prefix stays, anything above it goes */
			if (kr_log_end(r->log) > r->committed) {
				int64_t rc = kr_log_truncate(r->log, r->committed);

				RP_ASSERT(rc >= 0);
				r->gen++;
				if (r->durable > kr_log_end(r->log))
					r->durable = kr_log_end(r->log);
				rp_voters_truncated(r, out);
			}
		} else {
			int rc = kr_log_reset(r->log, start);

			RP_ASSERT(rc == 0);
			kr_log_set_base_epoch(r->log, r->snap_in.start_epoch);
			r->gen++;
			r->durable = start;
			rp_voters_truncated(r, out);
			kr_vh_unanchor(&r->voters); /* changes below the start went unseen */
			if (KR_BUG(INSTALL_LOWERS_HW) || hw == KR_OFFSET_NONE || hw < start)
				hw = start;
		}
	} else if (KR_BUG(INSTALL_LOWERS_HW) || hw == KR_OFFSET_NONE || hw < id.end_offset) {
		hw = id.end_offset; /* the log holds it: committed, and here */
	}
	r->hw = hw;
	rp_committed(r, r->hw);
	a = rp_emit(out, KR_RP_INSTALLED);
	a->u.installed = id;
	r->fetch.inflight = false;
	rp_log_changed(r, now, out);
	rp_send_fetch(r, now, out);
}

void
rp_send_fetch_snapshot(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	struct kr_xfer *x = r->cfg.xfer_in;
	uint64_t left;
	uint32_t room, want;
	struct kr_msg *m;
	int32_t status;

	r->fetch.inflight = false;
	r->fetch.next_us = now + KR_XFER_POLL_US; /* unless something below is sent */
	if (!kr_xfer_answered(x))
		return; /* the I/O thread has not made the file yet */
	status = kr_xfer_status(x);
	if (status < 0) {
		give_up(r, now);
		return;
	}
	if (r->snap_in.size != 0 && r->snap_in.received == r->snap_in.size) {
		if (status == KR_XFER_DONE)
			install(r, now, out);
		return; /* until the file is whole, checked and named */
	}
	room = kr_xfer_room(x);
	left = r->snap_in.size == 0 ? UINT64_MAX : r->snap_in.size - r->snap_in.received;
	want = r->cfg.frame_records_max < left ? r->cfg.frame_records_max : (uint32_t)left;
	if (room < want || !rp_room(out, 1))
		return; /* the I/O thread has not written enough out yet */
	r->fetch.prev_corr = r->fetch.corr;
	r->fetch.corr = rp_correlation(r);
	r->fetch.to = r->leader_id;
	r->fetch.inflight = true;
	r->fetch.sent_us = now;
	r->fetch.next_us = RP_NEVER;
	m = rp_send(out, r->leader_id, 0, r->fetch.corr, KR_API_FETCH_SNAPSHOT);
	m->u.fetch_snapshot.epoch = r->epoch;
	m->u.fetch_snapshot.id = r->snap_in.id;
	m->u.fetch_snapshot.position = r->snap_in.received;
	m->u.fetch_snapshot.max_bytes =
		room < r->cfg.fetch_max_bytes ? room : r->cfg.fetch_max_bytes;
	memcpy(m->u.fetch_snapshot.replica_dir, r->cfg.directory_id, KR_UUID_BYTES);
	m->u.fetch_snapshot.incarnation = r->cfg.incarnation;
}

void
rp_recv_fetch_snapshot_resp(struct kr_repl *r, const struct kr_frame_hdr *h,
			    const struct kr_fetch_snapshot_resp *resp, int64_t now,
			    struct kr_rp_out *out)
{
	bool late, last = resp->frame_index + 1 == resp->frame_count;

	/* guard: as a Fetch reply's (recv_fetch_resp.c), to the transfer going on */
	if (r->role != KR_REPL_FOLLOWER || !r->snap_in.active) {
		rp_drop(r, KR_RP_DROP_NOT_FOLLOWING);
		return;
	}
	late = r->fetch.prev_corr != 0 && h->correlation_id == r->fetch.prev_corr &&
	       resp->error == KR_ERR_NONE && resp->position == r->snap_in.received &&
	       resp->data_len > 0;
	if ((!late && (!r->fetch.inflight || h->correlation_id != r->fetch.corr)) ||
	    resp->incarnation != r->cfg.incarnation || h->sender_id != r->fetch.to) {
		rp_drop(r, KR_RP_DROP_STALE_REPLY);
		return;
	}
	if (resp->error != KR_ERR_NONE) {
		rp_answer_names_leader(r, resp->error, resp->epoch, resp->leader_id, out);
		if (resp->error == KR_ERR_SNAPSHOT_NOT_FOUND ||
		    resp->error == KR_ERR_POSITION_OUT_OF_RANGE) {
			give_up(r, now); /* the leader made a newer one and dropped this one */
			return;
		}
		r->fetch.inflight = false;
		r->fetch.next_us = now + r->cfg.fetch_backoff_us;
		return;
	}
	if (resp->leader_id != r->leader_id || resp->epoch != r->epoch) {
		rp_drop(r, KR_RP_DROP_WRONG_LEADER);
		r->fetch.inflight = false;
		r->fetch.next_us = now + r->cfg.fetch_backoff_us;
		return;
	}
	rp_leader_heard(r, now, out); /* a transfer is the leader's heartbeat too */
	if (resp->id.end_offset != r->snap_in.id.end_offset ||
	    resp->id.epoch != r->snap_in.id.epoch ||
	    (r->snap_in.size != 0 && resp->size != 0 && resp->size != r->snap_in.size)) {
		rp_drop(r, KR_RP_DROP_SNAPSHOT_MISMATCH);
		give_up(r, now);
		return;
	}
	if (r->snap_in.size == 0 && resp->size != 0) {
		r->snap_in.size = resp->size;
		kr_xfer_in_size(r->cfg.xfer_in, resp->size);
	}
	if (resp->position != r->snap_in.received ||
	    resp->data_len > kr_xfer_room(r->cfg.xfer_in)) {
		/* A frame of this reply lost before this one (a gap): ask again from what it
		 * holds at once, the rest of this reply is of no use. A late one it holds
		 * already: wait for the rest of the reply. */
		if (resp->data_len > 0)
			rp_drop(r, KR_RP_DROP_SNAPSHOT_MISMATCH);
		if (!late && (last || resp->position > r->snap_in.received))
			rp_send_fetch_snapshot(r, now, out);
		return;
	}
	if (resp->data_len > 0) {
		int rc = kr_xfer_put(r->cfg.xfer_in, resp->data, resp->data_len);

		RP_ASSERT(rc == 0); /* room checked above */
		r->snap_in.received += resp->data_len;
		r->stats.snapshot_bytes_in += resp->data_len;
	}
	if (late)
		return; /* the request in flight goes on */
	if (last || (r->snap_in.size != 0 && r->snap_in.received == r->snap_in.size))
		rp_send_fetch_snapshot(r, now, out);
}
