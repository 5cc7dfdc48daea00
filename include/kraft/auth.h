/* kraftd: peer authentication of frames (include/kraft/wire.h: the trailer). With a cluster
 * key configured, every frame carries the 32-byte trailer the format reserves
 * (KR_FRAME_F_AUTH):
 *
 *    0  1 key id      which cluster key made the MAC (two are accepted during a rotation)
 *    1  3 reserved    zero
 *    4  4 send time   the sender's wall clock, seconds since 1970 (u32): a frame more than
 *                     KR_AUTH_FRESH_S from the receiver's clock is refused (STALE)
 *    8  8 sequence    the sender's frame counter (u64, little endian), starting each run at
 *                     its start time in microseconds x 1024, so it never repeats across
 *                     restarts; checked against a replay window of KR_AUTH_WINDOW
 *   16 16 MAC         keyed BLAKE2b-128 (libsodium's crypto_generichash, RFC 7693's keyed
 *                     mode) over the header, the body and trailer bytes [0, 16)
 *
 * Why keyed BLAKE2b: a standard MAC construction from a packaged library, one compression
 * for a small frame (a fraction of a microsecond, where HMAC-SHA-2 needs four), and a
 * 128-bit tag. The MAC is checked, in constant time, right after the header and CRC and
 * before any body is decoded. Pure: no I/O, no clock, no allocation.
 */
#ifndef KRAFT_AUTH_H
#define KRAFT_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KR_AUTH_KEY_BYTES 32
#define KR_AUTH_MAC_BYTES 16
#define KR_AUTH_WINDOW 1024 /* sequences accepted out of order, behind the newest */
#define KR_AUTH_FRESH_S 60  /* send times further than this from the receiver's clock */
#define KR_AUTH_PEERS 32    /* replay windows kept for nodes (by id) ... */
#define KR_AUTH_CLIENTS 64  /* ... and for clients (by address, least recent replaced) */

/* Why a frame failed authentication. X(name, meaning) */
#define KR_AUTH_DROP_TABLE(X)                                                  \
	X(MISSING, "no authentication trailer, and this node requires one")    \
	X(UNKNOWN_KEY, "made with a key id this node does not hold")           \
	X(BAD_MAC, "the MAC does not match (forged, damaged, or another key)") \
	X(REPLAYED, "a sequence this node has seen from that sender already")  \
	X(TOO_OLD, "a sequence behind the sender's replay window")             \
	X(STALE, "sent more than a minute from this node's clock (a replay, or clock skew)")

enum kr_auth_drop {
#define KR_AUTH_DROP_ENUM(n, text) KR_AUTH_DROP_##n,
	KR_AUTH_DROP_TABLE(KR_AUTH_DROP_ENUM)
#undef KR_AUTH_DROP_ENUM
		KR_AUTH_DROP_COUNT
};

const char *kr_auth_drop_name(unsigned why);
const char *kr_auth_drop_text(unsigned why);

struct kr_auth_key {
	bool set;
	uint8_t id;
	uint8_t bytes[KR_AUTH_KEY_BYTES];
};

/* A node's keys: frames it sends use keys[send]; frames it receives may use either. */
struct kr_auth_keys {
	struct kr_auth_key keys[2];
	unsigned send;
};

/* The replay window of one sender. */
struct kr_replay {
	uint64_t top;			    /* the newest sequence accepted (0: none yet) */
	uint64_t seen[KR_AUTH_WINDOW / 64]; /* bit (s % KR_AUTH_WINDOW): s was accepted */
};

struct kr_auth_sender {
	uint64_t who; /* node id + 1, or a client's address; 0: a free slot */
	uint64_t used;
	struct kr_replay w;
};

/* One thread's authentication state: keys, its own sequence, senders' windows, drops. */
struct kr_auth {
	bool on;
	struct kr_auth_keys keys;
	uint64_t next_seq;
	uint64_t clock;
	uint64_t drops[KR_AUTH_DROP_COUNT];
	struct kr_auth_sender peers[KR_AUTH_PEERS];
	struct kr_auth_sender clients[KR_AUTH_CLIENTS];
};

/**
 * Fill the trailer of an encoded frame (buf[0, len), len including the trailer, the
 * header's KR_FRAME_F_AUTH flag set): key id, sequence, MAC.
 * @return 0, or -1 if len is too short or the key is not set.
 */
int kr_auth_seal(const struct kr_auth_key *k, uint64_t seq, uint32_t time_s, uint8_t *buf,
		 size_t len);

/**
 * Check the trailer of a frame whose header and CRC were checked (buf[0, len), the
 * trailer its last KR_AUTH bytes). Does not touch replay state.
 * @return -1 and *why (MISSING, UNKNOWN_KEY, BAD_MAC), or 0, *seq and *time_s.
 */
int kr_auth_check(const struct kr_auth_keys *keys, const uint8_t *buf, size_t len, bool has_trailer,
		  uint64_t *seq, uint32_t *time_s, unsigned *why);

/** Accept seq from the sender whose window w is (and remember it), or say why not. */
bool kr_replay_accept(struct kr_replay *w, uint64_t seq, unsigned *why);

/**
 * Start: on if keys has a key to send with; this thread's sequence starts at wall_us x 1024
 * (above anything an earlier run of the node sent).
 */
void kr_auth_init(struct kr_auth *a, const struct kr_auth_keys *keys, int64_t wall_us);

/** New keys (a rotation); windows and sequence carry on. */
void kr_auth_set_keys(struct kr_auth *a, const struct kr_auth_keys *keys);

/** Seal an encoded frame (KR_FRAME_F_AUTH set, trailer reserved) with the next sequence. */
int kr_auth_seal_next(struct kr_auth *a, uint8_t *buf, size_t len, int64_t wall_us);

/**
 * Is this frame (header and CRC checked) authentic, fresh and new from its sender (a node
 * id >= 0, or a client: sender < 0, known by addr)? A refusal is counted in a->drops.
 * With a->on false every frame passes.
 */
bool kr_auth_accept(struct kr_auth *a, const uint8_t *buf, size_t len, bool has_trailer,
		    int32_t sender, uint64_t addr, int64_t wall_us);

/**
 * A cluster key from the text of a key file: 64 hex digits (32 bytes), blanks and a
 * trailing newline allowed. Its id is the first byte of its unkeyed BLAKE2b hash, so
 * nodes holding the same key agree on it without configuration.
 * @return 0, or -1 with the reason in err.
 */
int kr_auth_key_parse(const char *text, struct kr_auth_key *k, char *err, size_t errlen);

/**
 * A cluster key from a file (control/config/keyfile.c): a regular file, not a symbolic link,
 * that group and others cannot read or write, holding the key's 64 hex digits.
 * @return 0, or -1 with the path and the reason in err.
 */
int kr_auth_key_file(const char *path, struct kr_auth_key *k, char *err, size_t errlen);

/**
 * A node's or client's keys: send_path's key sends and is accepted; accept_path's (may be
 * NULL, empty, or name no file: none) is accepted too, during a rotation. No send_path: authentication off
 * (keys all unset). Also initialises libsodium.
 * @return 0, or -1 with the reason in err.
 */
int kr_auth_keys_load(const char *send_path, const char *accept_path, struct kr_auth_keys *keys,
		      char *err, size_t errlen);

#endif /* KRAFT_AUTH_H */
