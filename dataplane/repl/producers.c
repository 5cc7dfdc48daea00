/* kraftd: the leader's producer table (include/kraft/producers.h), which makes a
 * client's retry safe: the replication core's use of it. The table is rebuilt from the
 * log whenever a node becomes leader, so it is the same on whichever voter leads. */
#include "repl_int.h"

static int64_t
window(const struct kr_repl *r)
{
	return r->cfg.dedup_window_us > 0 ? r->cfg.dedup_window_us : KR_DEDUP_WINDOW_US_DEFAULT;
}

void
rp_producers_reset(struct kr_repl *r)
{
	kr_producers_reset(&r->producers);
}

struct kr_producer *
rp_producer_find(struct kr_repl *r, uint64_t pid)
{
	return kr_producers_find(&r->producers, pid);
}

bool
rp_producer_room(const struct kr_repl *r, int64_t wall_us)
{
	return kr_producers_room(&r->producers, window(r), wall_us);
}

void
rp_producer_record(struct kr_repl *r, uint64_t pid, uint64_t seq, uint64_t base, uint32_t count,
		   int64_t batch_us, int64_t wall_us)
{
	switch (kr_producers_record(&r->producers, window(r), pid, seq, base, count, batch_us,
				    wall_us)) {
	case KR_PRODUCER_LOST:
		r->stats.producers_lost++; /* only a rebuild gets here so */
		break;
	case KR_PRODUCER_EVICTED:
		r->stats.producers_evicted++;
		break;
	case KR_PRODUCER_FITS:
		break;
	}
}

void
rp_producers_rebuild(struct kr_repl *r, int64_t wall_us)
{
	uint64_t off = kr_log_start(r->log), end = kr_log_end(r->log);

	rp_producers_reset(r);
	while (off < end) {
		struct kr_log_span sp;
		uint32_t pos = 0;

		if (kr_log_read(r->log, off, KR_OFFSET_NONE, UINT32_MAX, &sp) != 0 || sp.len == 0)
			break;
		while (pos < sp.len) {
			struct kr_batch_hdr h;

			kr_batch_hdr_get(sp.data + pos, &h);
			/* appends older than the window are no longer promised: skip them (a
			 * long log is rebuilt at the cost of reading headers, not hashing) */
			if (!(h.attributes & KR_BATCH_A_CONTROL) && h.producer_id != 0 &&
			    wall_us - h.timestamp_us < window(r))
				rp_producer_record(r, h.producer_id, h.sequence, h.base_offset,
						   h.record_count, h.timestamp_us, wall_us);
			pos += h.length;
		}
		off = sp.end_offset;
	}
}
