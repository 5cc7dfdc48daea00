/* kraftd: a client's Read, on any node: committed records only (below the highest high
 * watermark this node has known, in any role), whole batches. With max_wait_us a read at the committed end waits (up to
 * the fetch wait) for the next commit: `kraftctl read --follow`. */
#include <string.h>

#include "repl_int.h"

void
rp_read_reply(struct kr_repl *r, uint64_t addr, uint32_t corr, uint64_t from, uint32_t max_bytes,
	      struct kr_rp_out *out)
{
	struct kr_msg *m = rp_send(out, KR_NODE_NONE, addr, corr, KR_API_READ_RESP);
	struct kr_read_resp *rr = &m->u.read_resp;
	uint64_t limit = r->committed == KR_OFFSET_NONE ? kr_log_start(r->log) : r->committed;
	uint32_t cap = max_bytes < r->cfg.frame_records_max ? max_bytes : r->cfg.frame_records_max;
	struct kr_log_span sp;
	int rc;

	rr->epoch = r->epoch;
	rr->high_watermark = r->committed;
	rr->log_start_offset = kr_log_start(r->log);
	rr->base_offset = from;
	if (from < kr_log_start(r->log)) {
		rr->error = KR_ERR_OFFSET_OUT_OF_RANGE;
		return;
	}
	if (from >= limit || from >= kr_log_end(r->log))
		return; /* nothing committed there yet */
	rc = rp_read_first(r, from, limit, cap, true, &sp);
	if (rc == -EMSGSIZE) {
		rr->error = KR_ERR_MESSAGE_TOO_LARGE;
		return;
	}
	if (rc != 0) {
		rr->error = KR_ERR_OFFSET_OUT_OF_RANGE;
		return;
	}
	rr->base_offset = sp.len ? sp.base_offset : from;
	rr->records = sp.data;
	rr->records_len = sp.len;
}

void
rp_recv_read(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr,
	     const struct kr_read_req *req, int64_t now, struct kr_rp_out *out)
{
	bool at_end = r->committed == KR_OFFSET_NONE || req->from_offset >= r->committed;

	if (at_end && req->max_wait_us > 0 && req->from_offset >= kr_log_start(r->log)) {
		for (int i = 0; i < KR_PARKED_READS_MAX; i++) {
			struct kr_parked_read *pr = &r->reads[i];
			uint32_t wait = req->max_wait_us < r->cfg.fetch_max_wait_us
						? req->max_wait_us
						: r->cfg.fetch_max_wait_us;

			if (pr->active)
				continue;
			pr->active = true;
			r->reads_active++;
			pr->addr = addr;
			pr->correlation = h->correlation_id;
			pr->from = req->from_offset;
			pr->max_bytes = req->max_bytes;
			pr->deadline = now + wait;
			return;
		}
		/* no room to wait: answer now */
	}
	rp_read_reply(r, addr, h->correlation_id, req->from_offset, req->max_bytes, out);
}
