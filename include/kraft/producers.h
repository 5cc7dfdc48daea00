/* kraftd: the producer table, which makes a client's retry safe: a retry (same producer
 * id and sequence) of an append the log already holds is answered with the first
 * append's offset instead of being appended again. The leader's replication core keeps
 * one (rebuilt from the log whenever a node becomes leader); the apply side will keep one
 * of the committed log for snapshots, whose image this file also defines. Pure: no
 * clock (times are given), no I/O, no allocation.
 *
 * The rule: a producer that appended within the dedup window (by batch timestamps) is
 * never forgotten. When every remembered producer is that recent and the table is full, a
 * new producer is refused (BUSY, the client retries) rather than forgetting one.
 * Producers idle longer than the window go, least recently used first. Fully
 * associative (a hash index over entries in recency order): the guarantee does not
 * depend on how producer ids hash. An earlier set-associative table (256 sets x 4 ways)
 * forgot a producer once four newer ones hashed to its set; with one producer per client
 * invocation that let a retry commit twice (a chaos run over memif,
 * docs/RELIABILITY.md).
 *
 * IMAGE (a snapshot's producers chunks), little-endian, producers oldest first:
 *   per producer: id u64, last_us i64 (its latest append's batch timestamp), n u8
 *   (1..KR_PRODUCER_WINDOW), then its n latest appends oldest first, each: sequence
 *   u64, base offset u64, count u32.
 * A table loaded from an image equals the table the same appends built. */
#ifndef KRAFT_PRODUCERS_H
#define KRAFT_PRODUCERS_H

#include <stdbool.h>
#include <stdint.h>

#define KR_PRODUCERS_MAX 32768	  /* producers remembered for deduplication */
#define KR_PRODUCER_BUCKETS 65536 /* their hash index: a power of two, 2x the above */
#define KR_PRODUCER_WINDOW 5	  /* recent appends remembered per producer (as Kafka) */
#define KR_DEDUP_WINDOW_US_DEFAULT (30 * 1000000LL)
/* The largest producer in an image */
#define KR_PRODUCER_IMAGE_MAX (17 + KR_PRODUCER_WINDOW * 20)

/* A producer's recent appends: (sequence -> base offset, count), the last
 * KR_PRODUCER_WINDOW of them. */
struct kr_producer {
	uint64_t id;
	uint64_t last_seq;
	int64_t last_us;       /* wall clock of its latest append (that batch's timestamp) */
	uint32_t older, newer; /* the recency list; KR_PRODUCER_NIL ends it */
	uint8_t n;
	uint8_t next;
	uint64_t seq[KR_PRODUCER_WINDOW];
	uint64_t base[KR_PRODUCER_WINDOW];
	uint32_t count[KR_PRODUCER_WINDOW];
};

#define KR_PRODUCER_NIL UINT32_MAX

/* Every producer that appended within the window, up to KR_PRODUCERS_MAX: a hash index
 * (linear probing) over entries kept in recency order. */
struct kr_producers {
	uint32_t used;			     /* entries handed out so far */
	uint32_t oldest, newest;	     /* ends of the recency list */
	uint32_t index[KR_PRODUCER_BUCKETS]; /* entry + 1; 0: an empty bucket */
	struct kr_producer e[KR_PRODUCERS_MAX];
};

/* What recording a new producer did to make room */
enum kr_producer_room {
	KR_PRODUCER_FITS = 0, /* a free entry */
	KR_PRODUCER_EVICTED,  /* one idle longer than the window was forgotten */
	KR_PRODUCER_LOST,     /* one within the window was forgotten (a rebuild or load
			       * of more than the table holds: counted) */
};

void kr_producers_reset(struct kr_producers *t);

struct kr_producer *kr_producers_find(struct kr_producers *t, uint64_t pid);

/** Can a producer not in the table be taken in at wall_us without forgetting one that
 * appended within window_us? */
bool kr_producers_room(const struct kr_producers *t, int64_t window_us, int64_t wall_us);

/** An append (seq -> base, count) by pid, batch timestamp batch_us, at wall_us. */
enum kr_producer_room kr_producers_record(struct kr_producers *t, int64_t window_us, uint64_t pid,
					  uint64_t seq, uint64_t base, uint32_t count,
					  int64_t batch_us, int64_t wall_us);

/**
 * The next piece of the table's image: the producers whose latest append is at or after
 * since_us, oldest first, whole producers, at most cap bytes (>= KR_PRODUCER_IMAGE_MAX).
 * *cursor starts at 0. @return the piece's length; 0 when the image is done.
 */
uint32_t kr_producers_image_next(const struct kr_producers *t, int64_t since_us, uint32_t *cursor,
				 uint8_t *buf, uint32_t cap);

/**
 * Add an image's piece (as kr_producers_image_next made it) to the table, at wall_us.
 * @return the producers added, or -EBADMSG if the piece is malformed (the table then
 *   holds what came before the bad producer).
 */
int kr_producers_load(struct kr_producers *t, int64_t window_us, const uint8_t *p, uint32_t len,
		      int64_t wall_us);

#endif /* KRAFT_PRODUCERS_H */
