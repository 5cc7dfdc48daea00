/* kraftd: the leader's producer table, which makes a client's retry safe.
 *
 * A retry (same producer id and sequence) of an append this leader's log already holds
 * is answered with the first append's offset instead of being appended again. That
 * holds only while the producer is remembered, so the rule is: a producer that appended
 * within the dedup window (cfg.dedup_window_us, by batch timestamps) is never forgotten.
 * When every remembered producer is that recent and the table is full, a new producer is
 * refused (BUSY, the client retries) rather than forgetting one. Producers idle longer
 * than the window go, least recently used first.
 *
 * The table is rebuilt from the log whenever a node becomes leader, so it is the same on
 * whichever voter leads. Fully associative (a hash index over entries in recency order):
 * the guarantee does not depend on how producer ids hash. An earlier set-associative
 * table (256 sets x 4 ways, least recently used evicted within a set) forgot a producer
 * once four newer ones hashed to its set; with one producer per client invocation that
 * let a retry commit twice (a chaos run over memif, docs/RELIABILITY.md).
 */
#include <string.h>

#include "repl_int.h"

#define MASK (KR_PRODUCER_BUCKETS - 1)

_Static_assert((KR_PRODUCER_BUCKETS & MASK) == 0, "buckets: a power of two");
_Static_assert(KR_PRODUCER_BUCKETS >= 2 * KR_PRODUCERS_MAX, "the index stays half empty");

static uint32_t
home(uint64_t pid)
{
	return (uint32_t)((pid * 0x9E3779B97F4A7C15ull) >> 32) & MASK;
}

static int64_t
window(const struct kr_repl *r)
{
	return r->cfg.dedup_window_us > 0 ? r->cfg.dedup_window_us : KR_DEDUP_WINDOW_US_DEFAULT;
}

/* The bucket holding pid, or the empty bucket where it would go. */
static uint32_t
bucket(const struct kr_producers *t, uint64_t pid)
{
	uint32_t b = home(pid);

	while (t->index[b] != 0 && t->e[t->index[b] - 1].id != pid)
		b = (b + 1) & MASK;
	return b;
}

/* Empty bucket b and move later entries of its probe run back (no tombstones). */
static void
index_remove(struct kr_producers *t, uint32_t b)
{
	uint32_t j = b;

	for (;;) {
		j = (j + 1) & MASK;
		if (t->index[j] == 0)
			break;
		/* the entry at j may fill b only if b lies between its home and j */
		if (((j - home(t->e[t->index[j] - 1].id)) & MASK) >= ((j - b) & MASK)) {
			t->index[b] = t->index[j];
			b = j;
		}
	}
	t->index[b] = 0;
}

static void
list_unlink(struct kr_producers *t, uint32_t i)
{
	struct kr_producer *p = &t->e[i];

	if (p->older != KR_PRODUCER_NIL)
		t->e[p->older].newer = p->newer;
	else
		t->oldest = p->newer;
	if (p->newer != KR_PRODUCER_NIL)
		t->e[p->newer].older = p->older;
	else
		t->newest = p->older;
}

static void
list_push_newest(struct kr_producers *t, uint32_t i)
{
	t->e[i].older = t->newest;
	t->e[i].newer = KR_PRODUCER_NIL;
	if (t->newest != KR_PRODUCER_NIL)
		t->e[t->newest].newer = i;
	else
		t->oldest = i;
	t->newest = i;
}

void
rp_producers_reset(struct kr_repl *r)
{
	struct kr_producers *t = &r->producers;

	memset(t->index, 0, sizeof(t->index));
	t->used = 0;
	t->oldest = t->newest = KR_PRODUCER_NIL;
}

struct kr_producer *
rp_producer_find(struct kr_repl *r, uint64_t pid)
{
	struct kr_producers *t = &r->producers;
	uint32_t b = bucket(t, pid);

	return t->index[b] != 0 ? &t->e[t->index[b] - 1] : NULL;
}

bool
rp_producer_room(const struct kr_repl *r, int64_t wall_us)
{
	const struct kr_producers *t = &r->producers;

	return t->used < KR_PRODUCERS_MAX || wall_us - t->e[t->oldest].last_us >= window(r);
}

void
rp_producer_record(struct kr_repl *r, uint64_t pid, uint64_t seq, uint64_t base, uint32_t count,
		   int64_t batch_us, int64_t wall_us)
{
	struct kr_producers *t = &r->producers;
	uint32_t b = bucket(t, pid), i;
	struct kr_producer *p;

	if (t->index[b] != 0) {
		i = t->index[b] - 1;
		list_unlink(t, i);
	} else {
		if (t->used < KR_PRODUCERS_MAX) {
			i = t->used++;
		} else { /* forget the least recently used */
			i = t->oldest;
			if (wall_us - t->e[i].last_us < window(r))
				r->stats.producers_lost++; /* only a rebuild gets here so */
			else
				r->stats.producers_evicted++;
			list_unlink(t, i);
			index_remove(t, bucket(t, t->e[i].id));
			b = bucket(t, pid); /* the removal may have moved entries */
		}
		memset(&t->e[i], 0, sizeof(t->e[i]));
		t->e[i].id = pid;
		t->index[b] = i + 1;
	}
	list_push_newest(t, i);
	p = &t->e[i];
	if (batch_us > p->last_us)
		p->last_us = batch_us;
	p->last_seq = seq;
	p->seq[p->next] = seq;
	p->base[p->next] = base;
	p->count[p->next] = count;
	p->next = (uint8_t)((p->next + 1) % KR_PRODUCER_WINDOW);
	if (p->n < KR_PRODUCER_WINDOW)
		p->n++;
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
