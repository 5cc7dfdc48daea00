/* kraftd: state machines. A state machine applies the committed data records of the log
 * in offset order, each exactly once per start, and can hand out a frozen image of its
 * state for a snapshot (include/kraft/snapshot.h) and be rebuilt from one. Pure: no
 * clock, no I/O, no threads; the apply thread and the snapshot writer call it.
 *
 * Two today:
 *   digest  a running hash of every record (offset, length, bytes) and the counts: the
 *           state kraftsim and the tests compare across nodes.
 *   kv      a map: a record's first 8 bytes (little-endian) are its key and the rest its
 *           value; an 8-byte record deletes the key; a shorter one is counted and skipped.
 *           Its state grows with distinct keys: the sizable state that snapshot tests and
 *           benchmarks need. */
#ifndef KRAFT_SM_H
#define KRAFT_SM_H

#include <stdint.h>

struct kr_sm_ops {
	const char *name; /* at most 16 bytes: it is written into snapshot headers */
	/** An empty state, or NULL (out of memory). */
	void *(*create)(void);
	void (*destroy)(void *sm);
	/** One committed data record at offset (offsets rise from call to call). */
	void (*apply)(void *sm, uint64_t offset, const uint8_t *value, uint32_t len);
	/** A summary of the state: equal states, equal digests (whatever the order that
	 * built them); 0 for the empty state. */
	uint64_t (*digest)(const void *sm);
	/** Bytes of state held (telemetry, tests). */
	uint64_t (*bytes)(const void *sm);
	/** A frozen copy of the state, which later applies do not change; NULL: out of
	 * memory. Freed with destroy. */
	void *(*freeze)(const void *sm);
	/** The next piece of a frozen state's image into buf: whole entries, at most cap
	 * bytes (cap >= KR_SM_PIECE_MIN). @return its length; 0 when the image is done.
	 * *cursor starts at 0 and is the image's own. */
	uint32_t (*image_next)(const void *frozen, uint64_t *cursor, uint8_t *buf, uint32_t cap);
	/** Rebuild: an empty state (create) is given the image's pieces in order.
	 * @return 0, or -EBADMSG for a malformed piece (the state is then unusable). */
	int (*load)(void *sm, const uint8_t *piece, uint32_t len);
};

/* The smallest buffer image_next must be given: the largest single entry. */
#define KR_SM_PIECE_MIN (1u << 16)

extern const struct kr_sm_ops kr_sm_digest;
extern const struct kr_sm_ops kr_sm_kv;

/** The state machine called name, or NULL. */
const struct kr_sm_ops *kr_sm_find(const char *name);

/** The names known, for messages: "digest, kv". */
const char *kr_sm_names(void);

/**
 * Apply every record of the batch at p (len bytes, already checked: a batch from the
 * log) whose offsets are at or past from; control batches are skipped (they are the
 * log's own records, not the state machine's). @return the records applied.
 */
uint32_t kr_sm_apply_batch(const struct kr_sm_ops *ops, void *sm, const uint8_t *p, uint32_t len,
			   uint64_t from);

#endif /* KRAFT_SM_H */
