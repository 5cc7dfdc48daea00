/* kraftd: a client's Append, on the leader. The records become one batch at the log end
 * in the leader's epoch; the answer goes out when the high watermark passes it (or
 * "outcome unknown" if this node stops leading first). (producer id, sequence) makes
 * retries safe: a retry of an append the leader still remembers is answered with the
 * first one's offset instead of being appended again. */
#include <string.h>

#include "repl_int.h"

static void
answer(struct kr_repl *r, uint64_t addr, uint32_t corr, uint16_t error, uint64_t base,
       uint32_t count, struct kr_rp_out *out)
{
	struct kr_msg *m = rp_send(out, KR_NODE_NONE, addr, corr, KR_API_APPEND_RESP);

	m->u.append_resp.error = error;
	m->u.append_resp.leader_id = r->leader_id;
	m->u.append_resp.epoch = r->epoch;
	m->u.append_resp.record_count = count;
	m->u.append_resp.base_offset = error == KR_ERR_NONE ? base : KR_OFFSET_NONE;
}

static bool
pending_push(struct kr_repl *r, uint64_t addr, uint32_t corr, uint64_t base, uint32_t count)
{
	struct kr_pending_append *p;

	if (r->pending_n == KR_PENDING_APPENDS_MAX)
		return false;
	p = &r->pending[(r->pending_head + r->pending_n) % KR_PENDING_APPENDS_MAX];
	p->addr = addr;
	p->correlation = corr;
	p->base = base;
	p->count = count;
	p->end = base + count;
	r->pending_n++;
	return true;
}

/* A retry of an append this leader has seen: answer it from the window, or say it is
 * too old to look up. Returns false if seq is new. */
static bool
duplicate(struct kr_repl *r, uint64_t addr, uint32_t corr, const struct kr_append_req *req,
	  struct kr_rp_out *out)
{
	struct kr_producer *p = rp_producer_find(r, req->producer_id);

	if (p == NULL || req->sequence > p->last_seq)
		return false;
	r->stats.duplicates++;
	for (int i = 0; i < p->n; i++) {
		uint64_t end = p->base[i] + p->count[i];

		if (p->seq[i] != req->sequence)
			continue;
		if (r->hw != KR_OFFSET_NONE && end <= r->hw)
			answer(r, addr, corr, KR_ERR_NONE, p->base[i], p->count[i], out);
		else if (!pending_push(r, addr, corr, p->base[i], p->count[i]))
			answer(r, addr, corr, KR_ERR_BUSY, 0, 0, out);
		return true;
	}
	answer(r, addr, corr, KR_ERR_DUPLICATE_SEQUENCE_NUMBER, 0, req->record_count, out);
	return true;
}

void
rp_recv_append(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr,
	       const struct kr_append_req *req, int64_t now, struct kr_rp_out *out)
{
	uint32_t corr = h->correlation_id, len = KR_BATCH_HDR_BYTES + req->records_len;
	struct kr_batch_hdr bh = {
		.base_offset = kr_log_end(r->log),
		.epoch = r->epoch,
		.producer_id = req->producer_id,
		.sequence = req->sequence,
		.timestamp_us = now + r->wall_offset_us,
	};
	int rc;
	bool pushed;

	/* guard */
	if (r->role != KR_REPL_LEADER || r->lead.left_sent) {
		/* a leader whose own removal committed appends nothing more: it resigns */
		answer(r, addr, corr, KR_ERR_NOT_LEADER_OR_FOLLOWER, 0, 0, out);
		return;
	}
	if (req->records_len > KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES ||
	    len > r->cfg.batch_bytes_max) {
		answer(r, addr, corr, KR_ERR_MESSAGE_TOO_LARGE, 0, 0, out);
		return;
	}
	if (req->producer_id != 0 && !KR_BUG(NO_DEDUP) && duplicate(r, addr, corr, req, out))
		return;
	if (req->producer_id != 0) {
		const struct kr_producer *p = rp_producer_find(r, req->producer_id);

		if (p != NULL && req->sequence > p->last_seq + 1) {
			answer(r, addr, corr, KR_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 0, 0, out);
			return;
		}
		if (p == NULL && !rp_producer_room(r, bh.timestamp_us)) {
			/* taking it in would forget a producer whose retry may still come */
			r->stats.producers_full++;
			answer(r, addr, corr, KR_ERR_BUSY, 0, 0, out);
			return;
		}
	}
	if (r->pending_n == KR_PENDING_APPENDS_MAX) {
		answer(r, addr, corr, KR_ERR_BUSY, 0, 0, out);
		return;
	}

	/* act: one batch at the end of the log, in this epoch */
	rc = kr_log_append_records(r->log, &bh, req->records, req->records_len, req->record_count);
	if (rc != 0) {
		answer(r, addr, corr,
		       rc == -ENOBUFS ? KR_ERR_LOG_FULL : KR_ERR_UNKNOWN_SERVER_ERROR, 0, 0, out);
		return;
	}
	if (req->producer_id != 0)
		rp_producer_record(r, req->producer_id, req->sequence, bh.base_offset,
				   req->record_count, bh.timestamp_us, bh.timestamp_us);
	pushed = pending_push(r, addr, corr, bh.base_offset, req->record_count);
	RP_ASSERT(pushed); /* room was checked before the append (the guard above) */
	r->stats.appends++;
	rp_log_changed(r, now, out);
	if (!rp_advance_hw(r, now, out)) /* it serves all that waits when the HW moves */
		rp_service(r, now, out); /* parked fetches learn of the new data */
}
