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

#include "kraft/fs.h"
#include "kraft/producers.h"
#include "kraft/snapshot.h"

/* One entry of a state, as the record that sets it: its key and its value (kr_sm_ops.each) */
typedef void kr_sm_entry_fn(void *arg, const uint8_t *key, uint32_t key_len, const uint8_t *val,
			    uint32_t val_len);

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
	/** Calls fn once per entry of the state, in no particular order (kraftd dump
	 * --records, tests); NULL for a state machine whose state has no entries. */
	void (*each)(const void *sm, kr_sm_entry_fn *fn, void *arg);
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

/* ---- snapshots of a state machine (control/sm/sm_snapshot.c): file I/O through a file
 * system table (NULL: the real one), nothing else ---- */

/* What a snapshot carries besides the state: the voter set in force at its end (a voters
 * record's value, opaque here) and the producer table of the committed log up to its
 * end (producers that appended since a time: the dedup window before the snapshot's
 * last record). */
struct kr_sm_extras {
	const uint8_t *voters;
	uint32_t voters_len;
	const struct kr_producers *producers; /* NULL: none */
	int64_t producers_since_us;
};

/**
 * Write snapshot m->id of the frozen state into dir: the voters, the producers, then the
 * image, in chunks of at most cap bytes (KR_SM_PIECE_MIN <= cap <= KR_SNAP_CHUNK_MAX)
 * through piece. @return 0, or -errno (nothing is left behind: see kr_snap_write_end).
 */
int kr_sm_snapshot_write(const struct kr_fs *fs, const char *dir, const struct kr_snap_meta *m,
			 const struct kr_sm_ops *ops, const void *frozen,
			 const struct kr_sm_extras *x, uint8_t *piece, uint32_t cap);

/* How many of the newest snapshots a start tries before it gives up on them. */
#define KR_SM_SNAPSHOTS_TRIED 4

struct kr_sm_loaded {
	void *sm; /* the state at meta.id.end_offset (ops->destroy frees it) */
	struct kr_snap_meta meta;
	uint8_t *voters;
	uint32_t voters_len;
	unsigned producers;		      /* loaded into the caller's table */
	unsigned damaged;		      /* newer snapshots passed over */
	char why[KR_SM_SNAPSHOTS_TRIED][256]; /* and why, newest first */
};

/**
 * A start's load: the newest whole snapshot in dir of this cluster and state machine,
 * into a new state, and its producers into *producers (unless NULL; reset first, and
 * again for each snapshot tried; window_us and wall_us as kr_producers_load takes
 * them). A damaged one (a chunk's CRC, a cut, an image that does not load,
 * another cluster's, another state machine's) is passed over and reported in l->why,
 * and the next older one tried. @return 0, -ENOENT if none could be loaded (l->damaged
 * says whether some were there), or -errno.
 */
int kr_sm_snapshot_load_newest(const struct kr_fs *fs, const char *dir, const uint8_t *cluster_id,
			       const struct kr_sm_ops *ops, struct kr_producers *producers,
			       int64_t window_us, int64_t wall_us, struct kr_sm_loaded *l);

/** Free what a load holds (the state, the extras). */
void kr_sm_loaded_free(const struct kr_sm_ops *ops, struct kr_sm_loaded *l);

#endif /* KRAFT_SM_H */
