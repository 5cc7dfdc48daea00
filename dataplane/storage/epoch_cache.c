/* kraftd: the epoch cache: which epoch wrote which offsets, as Kafka's leader-epoch cache.
 * It answers "where does epoch E end?" for a leader's divergence check and a
 * follower's truncation. Grows only when a new epoch writes (never per packet). */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "kraft/log.h"

/* Index of the last entry whose epoch (by_epoch) or start offset is <= key, or -1.
 * Both fields increase along the array, so one binary search serves both. */
static int64_t
floor_index(const struct kr_epoch_cache *c, uint64_t key, bool by_epoch)
{
	int64_t lo = 0, hi = (int64_t)c->n - 1, found = -1;

	while (lo <= hi) {
		int64_t mid = lo + (hi - lo) / 2;
		uint64_t v = by_epoch ? c->e[mid].epoch : c->e[mid].start_offset;

		if (v <= key) {
			found = mid;
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return found;
}

struct kr_epoch_end
kr_epoch_cache_end_for(const struct kr_epoch_cache *c, uint32_t epoch, uint64_t leo)
{
	struct kr_epoch_end r;
	int64_t i = floor_index(c, epoch, true);

	if (i < 0) {
		if (c->base_epoch != 0 && epoch >= c->base_epoch) { /* the deleted prefix's last */
			r.epoch = c->base_epoch;
			r.end_offset = c->base_offset;
			return r;
		}
		r.epoch = 0;
		r.end_offset = c->n ? c->e[0].start_offset : leo;
		return r;
	}
	r.epoch = c->e[i].epoch;
	r.end_offset = (uint32_t)i + 1 < c->n ? c->e[i + 1].start_offset : leo;
	return r;
}

uint32_t
kr_epoch_cache_epoch_at(const struct kr_epoch_cache *c, uint64_t offset)
{
	int64_t i = floor_index(c, offset, false);

	if (i < 0) /* the record just before a deleted prefix's end: the base */
		return c->base_offset > 0 && offset + 1 == c->base_offset ? c->base_epoch : 0;
	return c->e[i].epoch;
}

uint32_t
kr_epoch_cache_last(const struct kr_epoch_cache *c)
{
	return c->n ? c->e[c->n - 1].epoch : 0;
}

int
kr_epoch_cache_assign(struct kr_epoch_cache *c, uint32_t epoch, uint64_t offset)
{
	if (c->n) {
		const struct kr_epoch_entry *last = &c->e[c->n - 1];

		if (epoch < last->epoch || offset < last->start_offset)
			return -EINVAL;
		if (epoch == last->epoch)
			return 0;
		if (offset == last->start_offset)
			return -EINVAL; /* the previous epoch would own no offset */
	}
	if (c->n == c->cap) {
		uint32_t cap = c->cap ? c->cap * 2 : 16;
		struct kr_epoch_entry *e = realloc(c->e, cap * sizeof(*e));

		if (e == NULL)
			return -ENOMEM;
		c->e = e;
		c->cap = cap;
	}
	c->e[c->n].epoch = epoch;
	c->e[c->n].start_offset = offset;
	c->n++;
	return 0;
}

void
kr_epoch_cache_truncate(struct kr_epoch_cache *c, uint64_t offset)
{
	while (c->n && c->e[c->n - 1].start_offset >= offset)
		c->n--;
}

void
kr_epoch_cache_trim_prefix(struct kr_epoch_cache *c, uint64_t start)
{
	int64_t i = floor_index(c, start, false);
	uint32_t drop;

	if (start > 0) {
		int64_t j = floor_index(c, start - 1, false);

		c->base_epoch = j >= 0			  ? c->e[j].epoch
				: c->base_offset == start ? c->base_epoch
							  : 0;
		c->base_offset = start;
	}
	if (i < 0)
		return;
	drop = (uint32_t)i;
	for (uint32_t k = drop; k < c->n; k++)
		c->e[k - drop] = c->e[k];
	c->n -= drop;
	c->e[0].start_offset = start;
}

void
kr_epoch_cache_free(struct kr_epoch_cache *c)
{
	free(c->e);
	c->e = NULL;
	c->n = c->cap = 0;
}
