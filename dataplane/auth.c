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
kr_auth_seal(const struct kr_auth_key *k, uint64_t seq, uint8_t *buf, size_t len)
{
	uint8_t *t;

	if (!k->set || len < KR_WIRE_HDR_BYTES + KR_WIRE_AUTH_BYTES)
		return -1;
	t = buf + len - KR_WIRE_AUTH_BYTES;
	memset(t, 0, MAC_AT);
	t[0] = k->id;
	kr_put_le64(t + 8, seq);
	mac(k, buf, len, t + MAC_AT);
	return 0;
}

int
kr_auth_check(const struct kr_auth_keys *keys, const uint8_t *buf, size_t len, bool has_trailer,
	      uint64_t *seq, unsigned *why)
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
	*seq = kr_get_le64(t + 8);
	return 0;
}

bool
kr_replay_accept(struct kr_replay *w, uint64_t seq, unsigned *why)
{
	uint64_t behind;

	if (seq > w->top) {
		uint64_t shift = seq - w->top;

		/* slide the window: bit i stands for sequence top - i */
		if (shift >= KR_AUTH_WINDOW || w->top == 0) {
			memset(w->seen, 0, sizeof(w->seen));
		} else {
			for (unsigned s = 0; s < shift; s++) {
				uint64_t carry = 0;

				for (unsigned i = 0; i < KR_AUTH_WINDOW / 64; i++) {
					uint64_t next = w->seen[i] >> 63;

					w->seen[i] = w->seen[i] << 1 | carry;
					carry = next;
				}
			}
		}
		w->top = seq;
		w->seen[0] |= 1;
		return true;
	}
	behind = w->top - seq;
	if (behind >= KR_AUTH_WINDOW) {
		*why = KR_AUTH_DROP_TOO_OLD;
		return false;
	}
	if (w->seen[behind / 64] >> (behind % 64) & 1) {
		*why = KR_AUTH_DROP_REPLAYED;
		return false;
	}
	w->seen[behind / 64] |= 1ull << (behind % 64);
	return true;
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
