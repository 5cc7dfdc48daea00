/* kraftd: putting fragmented messages back together (include/kraft/reasm.h). */
#include <errno.h>
#include <string.h>

#include "kraft/bugs.h"
#include "kraft/reasm.h"

int
kr_reasm_init(struct kr_reasm *r, struct kr_reasm_slot *slots, uint8_t *mem, uint32_t n,
	      uint32_t slot_bytes, uint32_t per_sender, int64_t quiet_us, int64_t timeout_us)
{
	if (n == 0 || slot_bytes <= KR_FRAG_MIN || slot_bytes > KR_MSG_MAX || per_sender == 0 ||
	    per_sender > n || quiet_us < 0 || timeout_us < quiet_us)
		return -EINVAL;
	*r = (struct kr_reasm){.slots = slots,
			       .n_slots = n,
			       .slot_bytes = slot_bytes,
			       .per_sender = per_sender,
			       .quiet_us = quiet_us,
			       .timeout_us = timeout_us};
	for (uint32_t i = 0; i < n; i++)
		slots[i] = (struct kr_reasm_slot){.state = KR_REASM_FREE,
						  .buf = mem + (size_t)i * slot_bytes};
	return 0;
}

static enum kr_reasm_result
drop(struct kr_reasm *r, enum kr_reasm_result why)
{
	r->stats.drops[-why - 1]++;
	return why;
}

/* Is a newer than b, as a sender numbers its messages (wrapping)? */
static bool
newer(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static void
free_slot(struct kr_reasm_slot *s)
{
	s->state = KR_REASM_FREE;
	s->have = 0;
	memset(s->held, 0, sizeof(s->held));
}

static bool
consistent(const struct kr_reasm *r, const struct kr_frag *f, uint32_t len)
{
	return kr_frag_ok(f, len) && f->msg_len <= r->slot_bytes;
}

/* A slot for a new message of sender (f), or a drop reason */
static enum kr_reasm_result
find_room(struct kr_reasm *r, uint64_t sender, const struct kr_frag *f, int64_t now_us,
	  struct kr_reasm_slot **out)
{
	struct kr_reasm_slot *oldest_mine = NULL, *quietest = NULL, *free_one = NULL;
	uint32_t mine = 0;

	for (uint32_t i = 0; i < r->n_slots; i++) {
		struct kr_reasm_slot *s = &r->slots[i];

		if (s->state == KR_REASM_FREE) {
			if (free_one == NULL)
				free_one = s;
			continue;
		}
		if (s->state != KR_REASM_FILLING)
			continue;
		if (s->sender == sender) {
			if (f->epoch < s->f.epoch)
				return drop(r, KR_REASM_STALE);
			if (f->epoch > s->f.epoch) { /* its epoch is over */
				free_slot(s);
				r->stats.replaced++;
				if (free_one == NULL)
					free_one = s;
				continue;
			}
			mine++;
			if (oldest_mine == NULL || newer(oldest_mine->f.msg_id, s->f.msg_id))
				oldest_mine = s;
		}
		if (quietest == NULL || s->last_us < quietest->last_us)
			quietest = s;
	}
	if (mine >= r->per_sender) {
		if (!newer(f->msg_id, oldest_mine->f.msg_id))
			return drop(r, KR_REASM_STALE);
		free_slot(oldest_mine);
		r->stats.replaced++;
		*out = oldest_mine;
		return KR_REASM_HELD;
	}
	if (free_one != NULL) {
		*out = free_one;
		return KR_REASM_HELD;
	}
	if (quietest == NULL || now_us - quietest->last_us < r->quiet_us)
		return drop(r, KR_REASM_FULL);
	free_slot(quietest);
	r->stats.taken++;
	*out = quietest;
	return KR_REASM_HELD;
}

enum kr_reasm_result
kr_reasm_put(struct kr_reasm *r, uint64_t sender, const struct kr_frag *f, const uint8_t *data,
	     uint32_t len, int64_t now_us, const uint8_t **msg, uint32_t *msg_len, uint32_t *slot)
{
	struct kr_reasm_slot *s = NULL;
	uint32_t k;

	if (!consistent(r, f, len))
		return drop(r, KR_REASM_BAD);
	for (uint32_t i = 0; i < r->n_slots; i++)
		if (r->slots[i].state == KR_REASM_FILLING && r->slots[i].sender == sender &&
		    r->slots[i].f.msg_id == f->msg_id) {
			s = &r->slots[i];
			break;
		}
	if (s != NULL) {
		if (s->f.msg_len != f->msg_len || s->f.frag_bytes != f->frag_bytes ||
		    s->f.epoch != f->epoch)
			return drop(r, KR_REASM_CONFLICT);
	} else {
		for (uint32_t i = 0; i < KR_REASM_RECENT; i++)
			if (r->recent[i].used && r->recent[i].sender == sender &&
			    r->recent[i].msg_id == f->msg_id)
				return drop(r, KR_REASM_DUP); /* a late copy of a whole one */
		enum kr_reasm_result res = find_room(r, sender, f, now_us, &s);

		if (res != KR_REASM_HELD)
			return res;
		s->state = KR_REASM_FILLING;
		s->sender = sender;
		s->f = *f;
		s->f.offset = 0;
		s->have = 0;
	}
	k = f->offset / f->frag_bytes;
	if (s->held[k / 64] >> (k % 64) & 1)
		return drop(r, KR_REASM_DUP);
	s->held[k / 64] |= 1ull << (k % 64);
	memcpy(s->buf + f->offset, data, len);
	s->have += len;
	s->last_us = now_us;
	if (s->have < s->f.msg_len - (KR_BUG(REASM_EARLY) ? s->f.frag_bytes : 0))
		return KR_REASM_HELD;
	s->state = KR_REASM_WHOLE;
	r->stats.done++;
	r->recent[r->recent_next].sender = sender;
	r->recent[r->recent_next].msg_id = s->f.msg_id;
	r->recent[r->recent_next].used = true;
	r->recent_next = (r->recent_next + 1) % KR_REASM_RECENT;
	*msg = s->buf;
	*msg_len = s->f.msg_len;
	*slot = (uint32_t)(s - r->slots);
	return KR_REASM_DONE;
}

void
kr_reasm_release(struct kr_reasm *r, uint32_t slot)
{
	if (slot < r->n_slots && r->slots[slot].state == KR_REASM_WHOLE)
		free_slot(&r->slots[slot]);
}

uint32_t
kr_reasm_expire(struct kr_reasm *r, int64_t now_us)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < r->n_slots; i++) {
		struct kr_reasm_slot *s = &r->slots[i];

		if (s->state == KR_REASM_FILLING && now_us - s->last_us >= r->timeout_us) {
			free_slot(s);
			n++;
		}
	}
	r->stats.expired += n;
	return n;
}

uint32_t
kr_reasm_filling(const struct kr_reasm *r)
{
	uint32_t n = 0;

	for (uint32_t i = 0; i < r->n_slots; i++)
		n += r->slots[i].state == KR_REASM_FILLING;
	return n;
}

int64_t
kr_reasm_next_expiry(const struct kr_reasm *r)
{
	int64_t t = INT64_MAX;

	for (uint32_t i = 0; i < r->n_slots; i++)
		if (r->slots[i].state == KR_REASM_FILLING &&
		    r->slots[i].last_us + r->timeout_us < t)
			t = r->slots[i].last_us + r->timeout_us;
	return t;
}

const char *
kr_reasm_drop_name(enum kr_reasm_result res)
{
	switch (res) {
	case KR_REASM_BAD:
		return "BAD";
	case KR_REASM_DUP:
		return "DUP";
	case KR_REASM_CONFLICT:
		return "CONFLICT";
	case KR_REASM_STALE:
		return "STALE";
	case KR_REASM_FULL:
		return "FULL";
	default:
		return "?";
	}
}
