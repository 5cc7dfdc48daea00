/* kraftd: the voter set as the log carries it (KIP-853): the voters record, the rule that
 * consecutive sets differ by one voter at most, and the history of sets by log offset.
 * Pure: no I/O, no clock, no allocation; either plane and the tools may use it.
 *
 * WHICH SET IS IN FORCE. Every node, the leader included, uses the last voters record in
 * its own log, committed or not: a change takes effect for a node when the record is
 * appended to its log, not when it commits. Truncating the log below a voters record
 * undoes it: the set in force goes back to the one before. Before any voters record the
 * bootstrap set is in force (the bootstrap-voters file that `kraftd format
 * --initial-controllers` or `--standalone` wrote, the same on every initial voter). A
 * record holds the whole set, never a difference.
 *
 * ONE VOTER AT A TIME. A set may follow another only if it adds one voter, removes one,
 * or changes the endpoint of one: then any majority of the old set and any majority of
 * the new one share a node, so two leaders cannot be elected in one epoch, one by each
 * set (Raft's single-server change; no joint consensus). The set is never empty.
 *
 * VOTERS RECORD (the one record of a control batch whose type is KR_CONTROL_VOTERS, see
 * include/kraft/log.h). Little-endian:
 *
 *   offset size  field
 *        0    1  version: 0
 *        1    1  count: 1 .. KR_VOTERS_MAX
 *        2       count entries of 26 bytes, in the set's order:
 *                  0  4  node id (0 .. 2^31-1, each once)
 *                  4 16  directory id (never all zero, each once)
 *                 20  4  IPv4 address of the node's dataplane
 *                 24  2  UDP port (not 0)
 *   and nothing after the last entry.
 */
#ifndef KRAFT_VOTERSET_H
#define KRAFT_VOTERSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kraft/voters.h"

/* A voter change, as the leader takes it (Kafka's AddRaftVoter, RemoveRaftVoter,
 * UpdateRaftVoter); the values are the wire's (VOTERS_CHANGE). */
enum kr_voters_op {
	KR_VOTERS_OP_ADD = 1, /* the voter joins the set */
	KR_VOTERS_OP_REMOVE,  /* the voter (id and directory) leaves it */
	KR_VOTERS_OP_UPDATE,  /* the voter's endpoint changes */
};

#define KR_VOTERS_RECORD_ENTRY_BYTES 26
#define KR_VOTERS_RECORD_MAX (2 + KR_VOTERS_MAX * KR_VOTERS_RECORD_ENTRY_BYTES)

/** Bytes of the voters record of s. */
static inline uint32_t
kr_voters_record_len(const struct kr_voter_set *s)
{
	return 2u + (uint32_t)s->n * KR_VOTERS_RECORD_ENTRY_BYTES;
}

/**
 * Write the voters record of s into buf.
 * @return its length, -ENOSPC (cap too small) or -EINVAL (s is not a valid set: empty,
 *   a duplicate id or directory, a directory all zero, a negative id, port 0).
 */
int kr_voters_record_encode(const struct kr_voter_set *s, uint8_t *buf, size_t cap);

/**
 * Read a voters record of exactly len bytes into s, checking every field as above.
 * @return 0 or -EBADMSG (nothing about s is to be trusted then).
 */
int kr_voters_record_decode(const uint8_t *buf, size_t len, struct kr_voter_set *s);

/** A valid set, by the record's rules (-EINVAL otherwise): what encode checks. */
int kr_voters_check(const struct kr_voter_set *s);

/** A hash of s for frame headers (order does not matter; never 0): the bootstrap set's
 * names a dynamic cluster (include/kraft/wire.h). */
uint64_t kr_voters_hash(const struct kr_voter_set *s);

/** Same voters, same directory ids and endpoints, in the same order. */
bool kr_voters_equal(const struct kr_voter_set *a, const struct kr_voter_set *b);

/** Index of (id, dir) in s, or -1 (the id under another directory id does not count). */
int kr_voters_find_key(const struct kr_voter_set *s, int32_t id, const uint8_t dir[KR_UUID_BYTES]);

/** The smallest majority of s. */
static inline uint32_t
kr_voters_majority(const struct kr_voter_set *s)
{
	return (uint32_t)s->n / 2 + 1;
}

/* How a set differs from the one before it. */
enum kr_voters_change {
	KR_VOTERS_SAME,	   /* nothing */
	KR_VOTERS_ADD,	   /* one voter more (*who: its index in the new set) */
	KR_VOTERS_REMOVE,  /* one voter fewer (*who: its index in the old set) */
	KR_VOTERS_UPDATE,  /* one voter's endpoint (*who: its index in the new set) */
	KR_VOTERS_ILLEGAL, /* anything else: more than one voter, a directory id changed in
			    * place, an empty set */
};

/** How to follows from: one of the above; *who as said there (may be NULL). */
enum kr_voters_change kr_voters_diff(const struct kr_voter_set *from, const struct kr_voter_set *to,
				     int *who);

const char *kr_voters_change_name(unsigned change);

/*
 * THE HISTORY: the sets in force by offset, for a log that grows, is truncated, and
 * commits. Entry i is the set of a voters record at offset e[i].offset; base is in force
 * below the first entry. Entries wholly below the committed offset are folded into base
 * (kr_vh_commit): a truncation never goes below a committed offset (a node fail-stops
 * first), so they can never come back into force. Between the committed offset and the
 * log end a log holds few voters records (a leader accepts a change only once the last
 * one committed; a follower's uncommitted tail holds at most one per leader it copied
 * from), so KR_VOTER_HISTORY_MAX entries are far more than a correct cluster needs: if
 * they ever run out, the oldest is folded into base and counted (folded_early), which
 * only matters if the log is then truncated below it.
 */
#define KR_VOTER_HISTORY_MAX 16

struct kr_voter_history {
	struct kr_voter_set base;
	uint64_t base_offset; /* base's record offset, or KR_OFFSET_NONE: the bootstrap set */
	uint32_t n;
	struct {
		uint64_t offset;
		struct kr_voter_set set;
	} e[KR_VOTER_HISTORY_MAX];
	uint64_t folded_early; /* entries folded before they were committed (see above) */
	/* the log's start moved past records this history never saw (a log that starts past
	 * 0, a leader's reset): the next record is the set in force from there, whatever it
	 * changed from the set known before it */
	bool unanchored;
};

struct kr_log;
struct kr_batch_hdr;

/**
 * The voter set of batch b (header h) if it is a voters control batch. @return 1 with s
 * filled, 0 (another kind of batch), or -EBADMSG (not exactly one valid voters record).
 */
int kr_voters_batch_decode(const uint8_t *b, const struct kr_batch_hdr *h, struct kr_voter_set *s);

/**
 * Start h with boot in force and follow every voters record of log, as a node finds its
 * voter set at start. A log that starts past 0 takes its first record as the set in
 * force from there (the changes that led to it were deleted with the prefix).
 * @return 0, -EIO (a read failed) or -EBADMSG (a malformed record or a change no leader
 * could have made).
 */
int kr_vh_load(struct kr_voter_history *h, const struct kr_log *log,
	       const struct kr_voter_set *boot);

/** Start with boot in force (the bootstrap set; may be empty: a joining directory). */
void kr_vh_init(struct kr_voter_history *h, const struct kr_voter_set *boot);

/**
 * A voters record at offset (above every entry's) holds s.
 * @return the change from the set in force before it (KR_VOTERS_ILLEGAL: refused,
 *   nothing changed; a set that is not valid is refused so too). The first record over
 *   an empty bootstrap set (a joining directory learning the set) may be any valid set.
 */
enum kr_voters_change kr_vh_append(struct kr_voter_history *h, uint64_t offset,
				   const struct kr_voter_set *s);

/** The log now starts past records this history may not have seen (a reset): the next
 * record is taken as it is (kr_vh_append, kr_vh_next_ok). */
void kr_vh_unanchor(struct kr_voter_history *h);

/** May s be the next record: one change from the set in force, or any valid set after an
 * empty set or kr_vh_unanchor. */
bool kr_vh_next_ok(const struct kr_voter_history *h, const struct kr_voter_set *s);

/** The log was truncated to end (offsets >= end are gone). @return true if a record was
 * undone (the set in force is then the one before it). */
bool kr_vh_truncate(struct kr_voter_history *h, uint64_t end);

/** Offsets below committed are committed: fold the entries they make obsolete. */
void kr_vh_commit(struct kr_voter_history *h, uint64_t committed);

/** The set in force at the log end (the last record's, or base). */
const struct kr_voter_set *kr_vh_latest(const struct kr_voter_history *h);

/** Offset of the last voters record (KR_OFFSET_NONE: none, the bootstrap set in force). */
uint64_t kr_vh_latest_offset(const struct kr_voter_history *h);

/** The set in force before the last voters record (the record before it, or base), or
 * NULL if that record was folded into base (committed: what came before is gone). */
const struct kr_voter_set *kr_vh_previous(const struct kr_voter_history *h);

/** The set in force for offset o: the last record below o, or base. Offsets below a
 * folded entry get base. */
const struct kr_voter_set *kr_vh_at(const struct kr_voter_history *h, uint64_t o);

#endif /* KRAFT_VOTERSET_H */
