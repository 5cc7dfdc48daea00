/* kraftd: the producer table (include/kraft/producers.h): a hash index over entries in
 * recency order, and its image for snapshots. */
#include <errno.h>
#include <string.h>

#include "kraft/le.h"
#include "kraft/producers.h"

#define MASK (KR_PRODUCER_BUCKETS - 1)

_Static_assert((KR_PRODUCER_BUCKETS & MASK) == 0, "buckets: a power of two");
_Static_assert(KR_PRODUCER_BUCKETS >= 2 * KR_PRODUCERS_MAX, "the index stays half empty");

static uint32_t
home(uint64_t pid)
{
	return (uint32_t)((pid * 0x9E3779B97F4A7C15ull) >> 32) & MASK;
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
kr_producers_reset(struct kr_producers *t)
{
	memset(t->index, 0, sizeof(t->index));
	t->used = 0;
	t->oldest = t->newest = KR_PRODUCER_NIL;
}

struct kr_producer *
kr_producers_find(struct kr_producers *t, uint64_t pid)
{
	uint32_t b = bucket(t, pid);

	return t->index[b] != 0 ? &t->e[t->index[b] - 1] : NULL;
}

bool
kr_producers_room(const struct kr_producers *t, int64_t window_us, int64_t wall_us)
{
	return t->used < KR_PRODUCERS_MAX || wall_us - t->e[t->oldest].last_us >= window_us;
}

enum kr_producer_room
kr_producers_record(struct kr_producers *t, int64_t window_us, uint64_t pid, uint64_t seq,
		    uint64_t base, uint32_t count, int64_t batch_us, int64_t wall_us)
{
	enum kr_producer_room room = KR_PRODUCER_FITS;
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
			room = wall_us - t->e[i].last_us < window_us ? KR_PRODUCER_LOST
								     : KR_PRODUCER_EVICTED;
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
	return room;
}

/* ---- the image ---- */

uint32_t
kr_producers_image_next(const struct kr_producers *t, int64_t since_us, uint32_t *cursor,
			uint8_t *buf, uint32_t cap)
{
	uint32_t n = 0, i;

	if (*cursor == KR_PRODUCER_NIL || cap < KR_PRODUCER_IMAGE_MAX)
		return 0;
	/* the cursor: 0 to begin at the oldest, else the next entry + 1 */
	for (i = *cursor == 0 ? t->oldest : *cursor - 1; i != KR_PRODUCER_NIL; i = t->e[i].newer) {
		const struct kr_producer *p = &t->e[i];

		if (p->last_us < since_us || p->n == 0)
			continue;
		if (cap - n < 17u + p->n * 20u)
			break;
		kr_put_le64(buf + n, p->id);
		kr_put_le64(buf + n + 8, (uint64_t)p->last_us);
		buf[n + 16] = p->n;
		n += 17;
		for (unsigned k = 0; k < p->n; k++) {
			unsigned at =
				(p->next + KR_PRODUCER_WINDOW - p->n + k) % KR_PRODUCER_WINDOW;

			kr_put_le64(buf + n, p->seq[at]);
			kr_put_le64(buf + n + 8, p->base[at]);
			kr_put_le32(buf + n + 16, p->count[at]);
			n += 20;
		}
	}
	*cursor = i == KR_PRODUCER_NIL ? KR_PRODUCER_NIL : i + 1;
	return n;
}

int
kr_producers_load(struct kr_producers *t, int64_t window_us, const uint8_t *p, uint32_t len,
		  int64_t wall_us)
{
	uint32_t pos = 0;
	int added = 0;

	while (pos < len) {
		uint64_t id;
		int64_t last_us;
		unsigned n;

		if (len - pos < 17)
			return -EBADMSG;
		id = kr_get_le64(p + pos);
		last_us = (int64_t)kr_get_le64(p + pos + 8);
		n = p[pos + 16];
		pos += 17;
		if (id == 0 || n == 0 || n > KR_PRODUCER_WINDOW || len - pos < n * 20u)
			return -EBADMSG;
		for (unsigned k = 0; k < n; k++, pos += 20)
			kr_producers_record(t, window_us, id, kr_get_le64(p + pos),
					    kr_get_le64(p + pos + 8), kr_get_le32(p + pos + 16),
					    last_us, wall_us);
		added++;
	}
	return added;
}
