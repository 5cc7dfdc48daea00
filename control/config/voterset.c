/* kraftd: the voter set as the log carries it (include/kraft/voterset.h): the voters
 * record, the one-voter-at-a-time rule, the history of sets by offset. */
#include <errno.h>
#include <string.h>

#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/voterset.h"

static const char *const change_names[] = {"same", "add", "remove", "update", "illegal"};

const char *
kr_voters_change_name(unsigned change)
{
	return change < KR_ARRAY_SIZE(change_names) ? change_names[change] : "?";
}

int
kr_voters_check(const struct kr_voter_set *s)
{
	if (s->n == 0 || s->n > KR_VOTERS_MAX)
		return -EINVAL;
	for (int i = 0; i < s->n; i++) {
		const struct kr_voter *v = &s->v[i];

		if (v->id < 0 || kr_uuid_is_zero(v->dir) || v->ep.port == 0)
			return -EINVAL;
		for (int j = 0; j < i; j++)
			if (s->v[j].id == v->id || memcmp(s->v[j].dir, v->dir, KR_UUID_BYTES) == 0)
				return -EINVAL;
	}
	return 0;
}

int
kr_voters_record_encode(const struct kr_voter_set *s, uint8_t *buf, size_t cap)
{
	uint8_t *p = buf + 2;

	if (kr_voters_check(s) != 0)
		return -EINVAL;
	if (cap < kr_voters_record_len(s))
		return -ENOSPC;
	buf[0] = 0; /* version */
	buf[1] = s->n;
	for (int i = 0; i < s->n; i++, p += KR_VOTERS_RECORD_ENTRY_BYTES) {
		kr_put_le32(p, (uint32_t)s->v[i].id);
		memcpy(p + 4, s->v[i].dir, KR_UUID_BYTES);
		kr_put_le32(p + 20, s->v[i].ep.ip);
		kr_put_le16(p + 24, s->v[i].ep.port);
	}
	return (int)kr_voters_record_len(s);
}

int
kr_voters_record_decode(const uint8_t *buf, size_t len, struct kr_voter_set *s)
{
	const uint8_t *p = buf + 2;

	if (len < 2 || buf[0] != 0 || buf[1] == 0 || buf[1] > KR_VOTERS_MAX ||
	    len != 2u + (size_t)buf[1] * KR_VOTERS_RECORD_ENTRY_BYTES)
		return -EBADMSG;
	memset(s, 0, sizeof(*s)); /* padding too: sets compare byte for byte elsewhere */
	s->n = buf[1];
	for (int i = 0; i < s->n; i++, p += KR_VOTERS_RECORD_ENTRY_BYTES) {
		uint32_t id = kr_get_le32(p);

		if (id > INT32_MAX)
			return -EBADMSG;
		s->v[i].id = (int32_t)id;
		memcpy(s->v[i].dir, p + 4, KR_UUID_BYTES);
		s->v[i].ep.ip = kr_get_le32(p + 20);
		s->v[i].ep.port = kr_get_le16(p + 24);
	}
	return kr_voters_check(s) == 0 ? 0 : -EBADMSG;
}

uint64_t
kr_voters_hash(const struct kr_voter_set *s)
{
	uint64_t h = 0x766f74657273ull; /* a sum of a mixed value per voter: any order */

	for (int i = 0; i < s->n; i++) {
		uint64_t x = (uint64_t)(uint32_t)s->v[i].id << 32 ^ s->v[i].ep.ip ^
			     (uint64_t)s->v[i].ep.port << 48;

		for (int k = 0; k < KR_UUID_BYTES; k += 8) {
			uint64_t d;

			memcpy(&d, s->v[i].dir + k, 8);
			x ^= d * 0x9e3779b97f4a7c15ull;
			x ^= x >> 31;
			x *= 0xbf58476d1ce4e5b9ull;
			x ^= x >> 29;
		}
		h += x;
	}
	return h ? h : 1;
}

static bool
same_voter(const struct kr_voter *a, const struct kr_voter *b)
{
	return a->id == b->id && memcmp(a->dir, b->dir, KR_UUID_BYTES) == 0;
}

static bool
same_endpoint(const struct kr_voter *a, const struct kr_voter *b)
{
	return a->ep.ip == b->ep.ip && a->ep.port == b->ep.port;
}

bool
kr_voters_equal(const struct kr_voter_set *a, const struct kr_voter_set *b)
{
	if (a->n != b->n)
		return false;
	for (int i = 0; i < a->n; i++)
		if (!same_voter(&a->v[i], &b->v[i]) || !same_endpoint(&a->v[i], &b->v[i]))
			return false;
	return true;
}

int
kr_voters_find_key(const struct kr_voter_set *s, int32_t id, const uint8_t dir[KR_UUID_BYTES])
{
	for (int i = 0; i < s->n; i++)
		if (s->v[i].id == id && memcmp(s->v[i].dir, dir, KR_UUID_BYTES) == 0)
			return i;
	return -1;
}

/* Index of a's voter i in b by (id, dir), or -1. */
static int
find_in(const struct kr_voter_set *b, const struct kr_voter *v)
{
	return kr_voters_find_key(b, v->id, v->dir);
}

enum kr_voters_change
kr_voters_diff(const struct kr_voter_set *from, const struct kr_voter_set *to, int *who)
{
	int missing = -1, n_missing = 0, added = -1, n_added = 0, moved = -1, n_moved = 0;

	if (to->n == 0 || from->n == 0)
		return KR_VOTERS_ILLEGAL;
	for (int i = 0; i < from->n; i++) {
		int j = find_in(to, &from->v[i]);

		if (j < 0) {
			missing = i;
			n_missing++;
		} else if (!same_endpoint(&from->v[i], &to->v[j])) {
			moved = j;
			n_moved++;
		}
	}
	for (int j = 0; j < to->n; j++)
		if (find_in(from, &to->v[j]) < 0) {
			added = j;
			n_added++;
		}
	if (who != NULL)
		*who = -1;
	if (n_missing + n_added + n_moved == 0)
		return KR_VOTERS_SAME;
	if (n_missing + n_added + n_moved > 1)
		return KR_VOTERS_ILLEGAL; /* a directory id replaced in place counts as two */
	if (who != NULL)
		*who = n_added ? added : n_missing ? missing : moved;
	return n_added ? KR_VOTERS_ADD : n_missing ? KR_VOTERS_REMOVE : KR_VOTERS_UPDATE;
}

/* ---- the history ---- */

void
kr_vh_init(struct kr_voter_history *h, const struct kr_voter_set *boot)
{
	memset(h, 0, sizeof(*h));
	h->base = *boot;
	h->base_offset = KR_OFFSET_NONE;
}

const struct kr_voter_set *
kr_vh_latest(const struct kr_voter_history *h)
{
	return h->n > 0 ? &h->e[h->n - 1].set : &h->base;
}

uint64_t
kr_vh_latest_offset(const struct kr_voter_history *h)
{
	return h->n > 0 ? h->e[h->n - 1].offset : h->base_offset;
}

const struct kr_voter_set *
kr_vh_previous(const struct kr_voter_history *h)
{
	if (h->n == 0)
		return NULL;
	return h->n >= 2 ? &h->e[h->n - 2].set : &h->base;
}

const struct kr_voter_set *
kr_vh_at(const struct kr_voter_history *h, uint64_t o)
{
	for (uint32_t i = h->n; i-- > 0;)
		if (h->e[i].offset <= o)
			return &h->e[i].set;
	return &h->base;
}

/* Entry 0 becomes base. */
static void
fold_first(struct kr_voter_history *h)
{
	h->base = h->e[0].set;
	h->base_offset = h->e[0].offset;
	memmove(&h->e[0], &h->e[1], (h->n - 1) * sizeof(h->e[0]));
	h->n--;
}

void
kr_vh_unanchor(struct kr_voter_history *h)
{
	h->unanchored = true;
}

bool
kr_vh_next_ok(const struct kr_voter_history *h, const struct kr_voter_set *s)
{
	const struct kr_voter_set *cur = kr_vh_latest(h);

	return cur->n == 0 || h->unanchored || kr_voters_diff(cur, s, NULL) != KR_VOTERS_ILLEGAL;
}

enum kr_voters_change
kr_vh_append(struct kr_voter_history *h, uint64_t offset, const struct kr_voter_set *s)
{
	const struct kr_voter_set *cur = kr_vh_latest(h);
	uint64_t last = kr_vh_latest_offset(h);
	enum kr_voters_change c;

	if (kr_voters_check(s) != 0 || (last != KR_OFFSET_NONE && offset <= last))
		return KR_VOTERS_ILLEGAL;
	c = cur->n == 0 || h->unanchored ? KR_VOTERS_ADD : kr_voters_diff(cur, s, NULL);
	if (c == KR_VOTERS_ILLEGAL)
		return c;
	h->unanchored = false;
	if (h->n == KR_VOTER_HISTORY_MAX) {
		fold_first(h);
		h->folded_early++;
	}
	h->e[h->n].offset = offset;
	h->e[h->n].set = *s;
	h->n++;
	return c;
}

bool
kr_vh_truncate(struct kr_voter_history *h, uint64_t end)
{
	uint32_t n = h->n;

	while (h->n > 0 && h->e[h->n - 1].offset >= end)
		h->n--;
	return h->n != n;
}

void
kr_vh_commit(struct kr_voter_history *h, uint64_t committed)
{
	if (committed == KR_OFFSET_NONE)
		return;
	while (h->n > 0 && h->e[0].offset < committed)
		fold_first(h);
}

int
kr_voters_batch_decode(const uint8_t *b, const struct kr_batch_hdr *h, struct kr_voter_set *s)
{
	uint32_t len;

	if (kr_batch_control_type(h->attributes) != KR_CONTROL_VOTERS)
		return 0;
	if (h->record_count != 1 || h->length < KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES)
		return -EBADMSG;
	len = kr_get_le32(b + KR_BATCH_HDR_BYTES);
	if (KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES + (uint64_t)len != h->length)
		return -EBADMSG;
	return kr_voters_record_decode(b + KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES, len, s) == 0
		       ? 1
		       : -EBADMSG;
}

int
kr_vh_load(struct kr_voter_history *h, const struct kr_log *log, const struct kr_voter_set *boot)
{
	uint64_t off = kr_log_start(log), end = kr_log_end(log);
	kr_vh_init(h, boot);
	/* a log whose start moved (retention, a leader's reset) no longer holds the records
	 * between boot and its first one: that one is the set in force from there, whatever
	 * it changed from boot */
	h->unanchored = off > 0;
	while (off < end) {
		struct kr_log_span sp;
		uint32_t pos = 0;

		if (kr_log_read(log, off, end, UINT32_MAX, &sp) != 0 || sp.len == 0)
			return -EIO;
		while (pos < sp.len) {
			struct kr_batch_hdr bh;
			struct kr_voter_set s;
			int rc;

			kr_batch_hdr_get(sp.data + pos, &bh);
			rc = kr_voters_batch_decode(sp.data + pos, &bh, &s);
			if (rc < 0 ||
			    (rc == 1 && kr_vh_append(h, bh.base_offset, &s) == KR_VOTERS_ILLEGAL))
				return -EBADMSG;
			pos += bh.length;
		}
		off = sp.end_offset;
	}
	return 0;
}
