/* kraftd: peer authentication of frames (include/kraft/auth.h). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "kraft/auth.h"
#include "kraft/common.h"
#include "kraft/le.h"
#include "kraft/wire.h"

KR_TABLE_LOOKUP(kr_auth_drop_name, KR_AUTH_DROP_TABLE, KR_X_NAME)
KR_TABLE_LOOKUP(kr_auth_drop_text, KR_AUTH_DROP_TABLE, KR_X_TEXT)

#define MAC_AT 16 /* the MAC's place in the trailer */

static void
mac(const struct kr_auth_key *k, const uint8_t *buf, size_t len, uint8_t out[KR_AUTH_MAC_BYTES])
{
	/* header + body + the trailer up to the MAC */
	crypto_generichash(out, KR_AUTH_MAC_BYTES, buf, len - KR_WIRE_AUTH_BYTES + MAC_AT, k->bytes,
			   KR_AUTH_KEY_BYTES);
}

int
kr_auth_seal(const struct kr_auth_key *k, uint64_t seq, uint32_t time_s, uint8_t *buf, size_t len)
{
	uint8_t *t;

	if (!k->set || len < KR_WIRE_HDR_BYTES + KR_WIRE_AUTH_BYTES)
		return -1;
	t = buf + len - KR_WIRE_AUTH_BYTES;
	memset(t, 0, MAC_AT);
	t[0] = k->id;
	kr_put_le32(t + 4, time_s);
	kr_put_le64(t + 8, seq);
	mac(k, buf, len, t + MAC_AT);
	return 0;
}

int
kr_auth_check(const struct kr_auth_keys *keys, const uint8_t *buf, size_t len, bool has_trailer,
	      uint64_t *seq, uint32_t *time_s, unsigned *why)
{
	const struct kr_auth_key *k = NULL;
	const uint8_t *t;
	uint8_t want[KR_AUTH_MAC_BYTES];

	if (!has_trailer || len < KR_WIRE_HDR_BYTES + KR_WIRE_AUTH_BYTES) {
		*why = KR_AUTH_DROP_MISSING;
		return -1;
	}
	t = buf + len - KR_WIRE_AUTH_BYTES;
	for (int i = 0; i < 2; i++)
		if (keys->keys[i].set && keys->keys[i].id == t[0])
			k = &keys->keys[i];
	if (k == NULL) {
		*why = KR_AUTH_DROP_UNKNOWN_KEY;
		return -1;
	}
	mac(k, buf, len, want);
	if (crypto_verify_16(want, t + MAC_AT) != 0) {
		*why = KR_AUTH_DROP_BAD_MAC;
		return -1;
	}
	*time_s = kr_get_le32(t + 4);
	*seq = kr_get_le64(t + 8);
	return 0;
}

#define BIT(s) ((s) % KR_AUTH_WINDOW)

static bool
seen(const struct kr_replay *w, uint64_t s)
{
	return w->seen[BIT(s) / 64] >> (BIT(s) % 64) & 1;
}

static void
mark(struct kr_replay *w, uint64_t s, bool on)
{
	uint64_t m = 1ull << (BIT(s) % 64);

	w->seen[BIT(s) / 64] = on ? w->seen[BIT(s) / 64] | m : w->seen[BIT(s) / 64] & ~m;
}

bool
kr_replay_accept(struct kr_replay *w, uint64_t seq, unsigned *why)
{
	if (w->top == 0 || seq > w->top) {
		/* the window slides: positions between the old newest and seq are unseen */
		if (w->top == 0 || seq - w->top >= KR_AUTH_WINDOW)
			memset(w->seen, 0, sizeof(w->seen));
		else
			for (uint64_t s = w->top + 1; s < seq; s++)
				mark(w, s, false);
		w->top = seq;
		mark(w, seq, true);
		return true;
	}
	if (w->top - seq >= KR_AUTH_WINDOW) {
		*why = KR_AUTH_DROP_TOO_OLD;
		return false;
	}
	if (seen(w, seq)) {
		*why = KR_AUTH_DROP_REPLAYED;
		return false;
	}
	mark(w, seq, true);
	return true;
}

void
kr_auth_init(struct kr_auth *a, const struct kr_auth_keys *keys, int64_t wall_us)
{
	memset(a, 0, sizeof(*a));
	a->keys = *keys;
	a->on = keys->keys[keys->send % 2].set;
	a->next_seq = (uint64_t)(wall_us > 0 ? wall_us : 1) << 10;
}

void
kr_auth_set_keys(struct kr_auth *a, const struct kr_auth_keys *keys)
{
	a->keys = *keys;
}

int
kr_auth_seal_next(struct kr_auth *a, uint8_t *buf, size_t len, int64_t wall_us)
{
	return kr_auth_seal(&a->keys.keys[a->keys.send % 2], a->next_seq++,
			    (uint32_t)(wall_us / 1000000), buf, len);
}

/* The window of sender who: found, or a free slot, or the least recently used one. */
static struct kr_replay *
window_of(struct kr_auth *a, struct kr_auth_sender *tab, unsigned n, uint64_t who)
{
	struct kr_auth_sender *v = &tab[0];

	for (unsigned i = 0; i < n; i++) {
		if (tab[i].who == who) {
			v = &tab[i];
			goto found;
		}
		if (tab[i].used < v->used)
			v = &tab[i];
	}
	memset(v, 0, sizeof(*v));
	v->who = who;
found:
	v->used = ++a->clock;
	return &v->w;
}

bool
kr_auth_accept(struct kr_auth *a, const uint8_t *buf, size_t len, bool has_trailer, int32_t sender,
	       uint64_t addr, int64_t wall_us)
{
	uint64_t seq;
	uint32_t t;
	int64_t skew;
	unsigned why;
	struct kr_replay *w;

	if (!a->on)
		return true;
	if (kr_auth_check(&a->keys, buf, len, has_trailer, &seq, &t, &why) != 0)
		goto drop;
	skew = (int64_t)t - wall_us / 1000000;
	if (skew > KR_AUTH_FRESH_S || skew < -KR_AUTH_FRESH_S) {
		why = KR_AUTH_DROP_STALE;
		goto drop;
	}
	w = sender >= 0 ? window_of(a, a->peers, KR_AUTH_PEERS, (uint64_t)sender + 1)
			: window_of(a, a->clients, KR_AUTH_CLIENTS, addr);
	if (kr_replay_accept(w, seq, &why))
		return true;
drop:
	a->drops[why < KR_AUTH_DROP_COUNT ? why : 0]++;
	return false;
}

int
kr_auth_key_parse(const char *text, struct kr_auth_key *k, char *err, size_t errlen)
{
	uint8_t h[16];
	size_t n = 0;

	memset(k, 0, sizeof(*k));
	for (const char *p = text; *p; p++) {
		int v;

		if (isspace((unsigned char)*p))
			continue;
		if (!isxdigit((unsigned char)*p)) {
			snprintf(err, errlen, "'%c' is not a hex digit (the key is 64 hex digits)",
				 *p);
			return -1;
		}
		if (n == 2 * KR_AUTH_KEY_BYTES) {
			snprintf(err, errlen, "more than 64 hex digits (the key is 32 bytes)");
			return -1;
		}
		v = isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10);
		k->bytes[n / 2] = (uint8_t)(k->bytes[n / 2] << 4 | v);
		n++;
	}
	if (n != 2 * KR_AUTH_KEY_BYTES) {
		snprintf(err, errlen, "%zu hex digits, not 64 (the key is 32 bytes)", n);
		return -1;
	}
	crypto_generichash(h, sizeof(h), k->bytes, KR_AUTH_KEY_BYTES, NULL, 0);
	k->set = true;
	k->id = h[0];
	return 0;
}
