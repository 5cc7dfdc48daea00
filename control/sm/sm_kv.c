/* kraftd: the key-value state machine (see include/kraft/sm.h): a record's first 8
 * bytes are its key, the rest its value; an 8-byte record deletes the key. An open-
 * addressing table of keys, each value in its own allocation. Its image is the live
 * entries, each {u64 key, u32 length, value}, in table order. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/crc32c.h"
#include "kraft/le.h"
#include "kraft/sm.h"
#include "sm_int.h"

#define KEY_BYTES 8
#define ENTRY_HDR 12
#define MIN_SLOTS 1024u

enum { FREE, USED, GONE };

struct slot {
	uint64_t key;
	uint8_t *val;
	uint32_t len;
	uint8_t state;
};

struct kv {
	struct slot *slots;
	uint64_t cap;	  /* a power of two */
	uint64_t live;	  /* USED slots */
	uint64_t taken;	  /* USED and GONE: what probing walks over */
	uint64_t bytes;	  /* of live values */
	uint64_t sum;	  /* the order-free digest: a sum of entry hashes */
	uint64_t skipped; /* records shorter than a key */
	bool broken;	  /* out of memory once: the state is no longer the log's */
};

static uint64_t
entry_hash(uint64_t key, const uint8_t *v, uint32_t len)
{
	return sm_mix(sm_mix(key) ^ ((uint64_t)kr_crc32c(0, v, len) << 32 | len));
}

static struct kv *
kv_new(uint64_t cap)
{
	struct kv *k = calloc(1, sizeof(*k));

	if (k == NULL)
		return NULL;
	k->slots = calloc(cap, sizeof(*k->slots));
	if (k->slots == NULL) {
		free(k);
		return NULL;
	}
	k->cap = cap;
	return k;
}

static void *
create(void)
{
	return kv_new(MIN_SLOTS);
}

static void
destroy(void *sm)
{
	struct kv *k = sm;

	if (k == NULL)
		return;
	for (uint64_t i = 0; i < k->cap; i++)
		if (k->slots[i].state == USED)
			free(k->slots[i].val);
	free(k->slots);
	free(k);
}

/* The slot holding key, or the free slot where it would go (the first GONE one on
 * the way, if any) */
static struct slot *
find(struct kv *k, uint64_t key, bool *found)
{
	struct slot *grave = NULL;

	for (uint64_t i = sm_mix(key) & (k->cap - 1);; i = (i + 1) & (k->cap - 1)) {
		struct slot *s = &k->slots[i];

		if (s->state == FREE) {
			*found = false;
			return grave != NULL ? grave : s;
		}
		if (s->state == GONE) {
			if (grave == NULL)
				grave = s;
		} else if (s->key == key) {
			*found = true;
			return s;
		}
	}
}

/* Room for one more: the table at most 70 % taken (rebuilt without graves) */
static bool
room(struct kv *k)
{
	if ((k->taken + 1) * 10 <= k->cap * 7)
		return true;

	uint64_t cap = k->cap;

	while ((k->live + 1) * 10 > cap * 5)
		cap *= 2;

	struct slot *old = k->slots, *n = calloc(cap, sizeof(*n));
	uint64_t old_cap = k->cap;

	if (n == NULL)
		return false;
	k->slots = n;
	k->cap = cap;
	k->taken = k->live;
	for (uint64_t i = 0; i < old_cap; i++)
		if (old[i].state == USED) {
			bool f;

			*find(k, old[i].key, &f) = old[i];
		}
	free(old);
	return true;
}

static void
put(struct kv *k, uint64_t key, const uint8_t *v, uint32_t len, bool del)
{
	bool found;
	struct slot *s;
	uint8_t *copy = NULL;

	if (!room(k)) {
		k->broken = true;
		return;
	}
	s = find(k, key, &found);
	if (!del) {
		copy = malloc(len ? len : 1);
		if (copy == NULL) {
			k->broken = true;
			return;
		}
		memcpy(copy, v, len);
	}
	if (found) {
		k->sum -= entry_hash(key, s->val, s->len);
		k->bytes -= s->len;
		free(s->val);
		k->live--;
		if (del) {
			*s = (struct slot){.state = GONE};
			return;
		}
	} else {
		if (del)
			return;
		if (s->state == FREE)
			k->taken++;
	}
	*s = (struct slot){.key = key, .val = copy, .len = len, .state = USED};
	k->live++;
	k->bytes += len;
	k->sum += entry_hash(key, copy, len);
}

static void
apply(void *sm, uint64_t offset, const uint8_t *value, uint32_t len)
{
	struct kv *k = sm;

	(void)offset;
	if (len < KEY_BYTES) {
		k->skipped++;
		return;
	}
	put(k, kr_get_le64(value), value + KEY_BYTES, len - KEY_BYTES, len == KEY_BYTES);
}

static uint64_t
digest(const void *sm)
{
	const struct kv *k = sm;

	if (k->broken)
		return UINT64_MAX; /* odd: a good state's digest is even (its low bit cleared) */
	return k->live == 0 ? 0 : sm_mix(k->sum ^ sm_mix(k->live)) & (UINT64_MAX - 1);
}

static uint64_t
bytes(const void *sm)
{
	const struct kv *k = sm;

	return k->bytes + k->live * ENTRY_HDR;
}

static void *
freeze(const void *sm)
{
	const struct kv *k = sm;
	struct kv *f = kv_new(k->cap);

	if (f == NULL)
		return NULL;
	for (uint64_t i = 0; i < k->cap; i++) {
		const struct slot *s = &k->slots[i];

		if (s->state != USED)
			continue;
		f->slots[i] = *s;
		f->slots[i].val = malloc(s->len ? s->len : 1);
		if (f->slots[i].val == NULL) {
			f->slots[i].state = FREE;
			destroy(f);
			return NULL;
		}
		memcpy(f->slots[i].val, s->val, s->len);
	}
	f->live = k->live;
	f->taken = k->live;
	f->bytes = k->bytes;
	f->sum = k->sum;
	f->broken = k->broken;
	return f;
}

static uint32_t
image_next(const void *frozen, uint64_t *cursor, uint8_t *buf, uint32_t cap)
{
	const struct kv *k = frozen;
	uint32_t n = 0;

	for (; *cursor < k->cap; (*cursor)++) {
		const struct slot *s = &k->slots[*cursor];

		if (s->state != USED)
			continue;
		if (ENTRY_HDR + s->len > cap - n)
			break; /* in the next piece */
		kr_put_le64(buf + n, s->key);
		kr_put_le32(buf + n + 8, s->len);
		memcpy(buf + n + ENTRY_HDR, s->val, s->len);
		n += ENTRY_HDR + s->len;
	}
	return n;
}

static int
load(void *sm, const uint8_t *piece, uint32_t len)
{
	struct kv *k = sm;
	uint32_t pos = 0;

	while (pos < len) {
		uint64_t key;
		uint32_t v;
		bool found;

		if (len - pos < ENTRY_HDR)
			return -EBADMSG;
		key = kr_get_le64(piece + pos);
		v = kr_get_le32(piece + pos + 8);
		pos += ENTRY_HDR;
		if (v > len - pos)
			return -EBADMSG;
		if (!room(k))
			return -ENOMEM;
		find(k, key, &found);
		if (found)
			return -EBADMSG; /* a key twice in one image */
		put(k, key, piece + pos, v, false);
		if (k->broken)
			return -ENOMEM;
		pos += v;
	}
	return 0;
}

static void
each(const void *sm, kr_sm_entry_fn *fn, void *arg)
{
	const struct kv *k = sm;

	for (uint64_t i = 0; i < k->cap; i++) {
		const struct slot *s = &k->slots[i];
		uint8_t key[KEY_BYTES];

		if (s->state != USED)
			continue;
		kr_put_le64(key, s->key);
		fn(arg, key, KEY_BYTES, s->val, s->len);
	}
}

const struct kr_sm_ops kr_sm_kv = {
	.name = "kv",
	.create = create,
	.destroy = destroy,
	.apply = apply,
	.digest = digest,
	.bytes = bytes,
	.freeze = freeze,
	.image_next = image_next,
	.load = load,
	.each = each,
};
