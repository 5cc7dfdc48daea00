/* kraftd: the replicated log (owned by the dataplane): record batches, segments, the
 * epoch cache, recovery. The formats are specified here byte by byte. */
#ifndef KRAFT_LOG_H
#define KRAFT_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kraft/common.h"
#include "kraft/fs.h"

/*
 * RECORD BATCH (the unit of append, replication, truncation and recovery)
 *
 * Batches are stored on disk and sent in FETCH_RESP / READ_RESP byte for byte as below.
 * Little-endian; the header is 48 bytes.
 *
 *   offset size  field
 *        0    4  CRC32C over bytes [4, length): everything after this field
 *        4    4  length: the whole batch in bytes, header included;
 *                48 + 4 * record_count <= length <= KR_BATCH_BYTES_MAX
 *        8    8  base_offset: offset of the first record
 *       16    4  epoch: the leader epoch in which the batch was appended (>= 1)
 *       20    2  record_count: at least 1, at most KR_BATCH_RECORDS_MAX
 *       22    2  attributes: bit 0 KR_BATCH_A_CONTROL (a control batch, such as the
 *                LeaderChange record a new leader writes); bits 8-15 a control batch's
 *                type (KR_CONTROL_*, zero in a data batch); other bits zero
 *       24    8  producer_id (0 for control batches)
 *       32    8  sequence: the producer's sequence number of this append
 *       40    8  timestamp_us: the leader's wall clock at append, microseconds since 1970
 *       48       records, record_count of them, each:
 *                  0 4 value length V
 *                  4 V value bytes
 *                and nothing after the last record.
 *
 * The records of a batch have consecutive offsets base_offset .. base_offset + count - 1.
 * In a log, each batch's base_offset is the previous batch's base_offset + record_count,
 * and epochs never decrease.
 *
 * SEGMENT FILE: <base offset, 20 digits>.log in the log directory
 *
 *   offset size  field
 *        0    8  magic: "KRFTLOG1"
 *        8    4  format version: 2 (1 had no synced field: read as "all synced")
 *       12    4  synced: batch bytes of this segment known to be on disk when the header
 *                was last written (a lower bound; see below)
 *       16    8  base_offset: offset of the segment's first batch, equal to the name
 *       24    4  prev_epoch: the epoch of the record before base_offset (0: none, or
 *                written before this field was kept). Once the segments before it are
 *                deleted, it is what a leader compares a follower's last epoch with at
 *                the log start.
 *       28    4  CRC32C over bytes [0, 28)
 *       32       batches, back to back
 *
 * A new segment's header (synced 0) is written and the file and the directory synced
 * before any batch goes into it. A flush job that writes more batches into an existing
 * segment first rewrites its header with synced = what the earlier jobs synced, and one
 * sync makes both durable: so synced never exceeds what is on disk, and costs no sync
 * of its own (it lags one job behind). Segments are contiguous: each one's base_offset is
 * the previous one's end, and every segment but the last was synced whole before the
 * next was created. The first segment's base_offset is the log start offset; retention
 * deletes whole segments from the front, never the last one.
 *
 * RECOVERY (kr_log_open): every batch of every segment is read and checked (CRC, length,
 * offset continuity, epoch order). At the first bad batch:
 *   - in bytes a crash may have left half-written (the last segment, at or past its
 *     synced bytes): a torn tail, the leftovers of a write the crash cut short, whatever
 *     follows it (pages reach the disk in any order, so valid data may follow a hole).
 *     It is cut (the file truncated to the last good batch).
 *   - elsewhere (synced bytes, or an earlier segment: no write was torn there) it is
 *     mid-log corruption, whatever follows; the rest of the log is searched for a valid
 *     batch to say how far the data went (none: the flushed bound says). (A version 1
 *     header says nothing of what is synced: there nothing valid after the damage makes
 *     it a torn tail as above.) Data the node may have acknowledged is damaged. Nothing
 *     is cut at open; the log
 *     opens with the good prefix only and the report names the damaged range. The first
 *     flush (after the repair starts) discards it. The node must not vote or count
 *     toward commit until it has fetched past report.last_valid_end_offset again
 *     (docs/DESIGN.md §5).
 * Damage to what the latest flush job wrote (past the synced mark) cannot be told from a
 * write a crash cut short, and is cut as one: kraftd relies on a completed fdatasync for
 * the newest data (docs/RELIABILITY.md, the fault budget).
 */

#define KR_BATCH_HDR_BYTES 48
#define KR_BATCH_A_CONTROL 0x0001u
#define KR_BATCH_CONTROL_SHIFT 8

/* What a control batch holds (its attributes' bits 8-15): all its records are of this
 * type. */
enum kr_control_type {
	KR_CONTROL_LEADER_CHANGE = 0, /* a new leader's first record (value: leader id u32,
				       * voter count u8, voter ids u32 each) */
	KR_CONTROL_VOTERS = 1,	      /* the voter set from here on (include/kraft/voterset.h) */
	KR_CONTROL_TYPE_MAX = KR_CONTROL_VOTERS
};

/** The attributes of a control batch of type t. */
static inline uint16_t
kr_control_attributes(enum kr_control_type t)
{
	return (uint16_t)(KR_BATCH_A_CONTROL | (unsigned)t << KR_BATCH_CONTROL_SHIFT);
}

/** Are these attributes a data batch's (0) or a known control batch's? */
static inline int
kr_batch_attributes_valid(uint16_t a)
{
	return a == 0 || ((a & 0xffu) == KR_BATCH_A_CONTROL &&
			  (a >> KR_BATCH_CONTROL_SHIFT) <= KR_CONTROL_TYPE_MAX);
}

/** A control batch's type, or -1 for a data batch. */
static inline int
kr_batch_control_type(uint16_t a)
{
	return (a & KR_BATCH_A_CONTROL) ? (int)(a >> KR_BATCH_CONTROL_SHIFT) : -1;
}
#define KR_RECORD_HDR_BYTES 4

#define KR_SEGMENT_HDR_BYTES 32
#define KR_SEGMENT_MAGIC "KRFTLOG1"
#define KR_SEGMENT_VERSION 2
/* One sparse index entry per this many bytes of segment: a read scans at most this far. */
#define KR_SEGMENT_INDEX_INTERVAL_BYTES 4096u

_Static_assert(KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES <= KR_BATCH_BYTES_MAX,
	       "a one-record batch must fit the batch limit");
_Static_assert(KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES * (KR_BATCH_RECORDS_MAX + 0ull) <=
		       KR_BATCH_BYTES_MAX,
	       "a batch of the most records of 0 bytes fits the batch limit");

/* A batch header, decoded. */
struct kr_batch_hdr {
	uint32_t crc;
	uint32_t length;
	uint64_t base_offset;
	uint32_t epoch;
	uint16_t record_count;
	uint16_t attributes;
	uint64_t producer_id;
	uint64_t sequence;
	int64_t timestamp_us;
};

/** Decode the header at p (at least KR_BATCH_HDR_BYTES). Checks nothing. */
void kr_batch_hdr_get(const uint8_t *p, struct kr_batch_hdr *h);

/**
 * Check the batch at p, of which avail bytes are readable: the length fits avail and
 * the limits, the CRC matches, the records tile the length, attributes are known.
 * @return 0, -EBADMSG (damaged or malformed), or -EAGAIN (avail is shorter than the
 *   stated length: an incomplete batch).
 */
int kr_batch_check(const uint8_t *p, size_t avail, struct kr_batch_hdr *h);

/**
 * Build a batch in buf from a record section (count x {u32 len, bytes}).
 * h supplies base_offset, epoch, attributes, producer_id, sequence and timestamp_us;
 * its length, record_count and crc are computed.
 * @return the batch length, -EMSGSIZE if it would exceed KR_BATCH_BYTES_MAX or
 *   KR_BATCH_RECORDS_MAX, -ENOSPC if cap is too small, -EINVAL if the records are
 *   malformed or count is 0.
 */
int kr_batch_build(uint8_t *buf, size_t cap, const struct kr_batch_hdr *h, const uint8_t *records,
		   uint32_t records_len, uint32_t count);

/** Rewrite a built batch's base_offset and epoch in place and recompute its CRC. */
void kr_batch_restamp(uint8_t *batch, uint64_t base_offset, uint32_t epoch);

/* ---- epoch cache ---- */

/* One entry per epoch that wrote records: the epoch and the offset of its first record.
 * Entries are strictly increasing in both fields. Kafka's leader-epoch cache. */
struct kr_epoch_entry {
	uint32_t epoch;
	uint64_t start_offset;
};

struct kr_epoch_cache {
	struct kr_epoch_entry *e;
	uint32_t n;
	uint32_t cap;
	/* Once a prefix is deleted: the epoch of the record just before base_offset (the log
	 * start), so a replica whose log ends there in that epoch still matches this one
	 * (Kafka takes it from the snapshot's id). base_epoch 0: not known. */
	uint32_t base_epoch;
	uint64_t base_offset;
};

/* The answer to "where does epoch E end in this log?" */
struct kr_epoch_end {
	uint32_t epoch;	     /* the largest epoch <= E with records here, or 0 if none */
	uint64_t end_offset; /* offset just past that epoch's last record */
};

/**
 * End offset for epoch: the largest epoch E' <= epoch that has records, and the offset
 * where E' ends (the next epoch's start, or leo for the last epoch). Below the first
 * entry, the base (the epoch before a deleted prefix) counts as an epoch ending at the
 * log start. When no epoch <= epoch is known, E' = 0 and the end is the first entry's
 * start offset (or leo when the cache is empty): nothing of that epoch or before is in
 * common.
 */
struct kr_epoch_end kr_epoch_cache_end_for(const struct kr_epoch_cache *c, uint32_t epoch,
					   uint64_t leo);

/** The epoch of the record at offset, or 0 if offset is before every entry (the base's for
 * the record just before a deleted prefix's end). */
uint32_t kr_epoch_cache_epoch_at(const struct kr_epoch_cache *c, uint64_t offset);

/** The last epoch with records, or 0 when empty. */
uint32_t kr_epoch_cache_last(const struct kr_epoch_cache *c);

/**
 * Record that a batch of epoch starts at offset. A new entry is added only when epoch is
 * above the last one.
 * @return 0, -EINVAL if epoch is below the last entry's or offset below its start, or
 *   -ENOMEM.
 */
int kr_epoch_cache_assign(struct kr_epoch_cache *c, uint32_t epoch, uint64_t offset);

/** Forget every entry that starts at or after offset (log truncation). */
void kr_epoch_cache_truncate(struct kr_epoch_cache *c, uint64_t offset);

/** Forget what lies below start (prefix deletion): the entry covering start now starts there,
 * and the epoch of the record before start becomes the base (if this cache knew it). */
void kr_epoch_cache_trim_prefix(struct kr_epoch_cache *c, uint64_t start);

void kr_epoch_cache_free(struct kr_epoch_cache *c);

/* ---- the log ---- */

enum kr_log_durability {
	KR_LOG_DISK = 0,   /* segment files; an offset is durable once flushed */
	KR_LOG_MEMORY = 1, /* no files; every appended offset counts as durable */
};

struct kr_log_config {
	const char *dir;	/* log directory (KR_LOG_DISK) */
	const struct kr_fs *fs; /* its file system (include/kraft/fs.h); NULL: the real one */
	enum kr_log_durability durability;
	uint32_t segment_bytes;	   /* roll to a new segment past this many batch bytes */
	uint64_t memory_bytes_max; /* appends beyond this many retained bytes: -ENOBUFS */
	bool read_only;		   /* open, check and report; change no file */
};

#define KR_LOG_SEGMENT_BYTES_DEFAULT (64u * 1024u * 1024u)
/* A segment rolls past this many bytes; a batch larger than the segment size gets a
 * segment of its own size. */
#define KR_LOG_SEGMENT_BYTES_MIN (32u * 1024u)
#define KR_LOG_MEMORY_BYTES_MAX_DEFAULT (1024ull * 1024u * 1024u)

enum kr_log_recovery {
	KR_LOG_CLEAN = 0,	/* every batch checked out */
	KR_LOG_TORN_TAIL = 1,	/* an incomplete or damaged last write was cut */
	KR_LOG_MID_CORRUPT = 2, /* damage followed by valid batches: see the range */
};

struct kr_log_report {
	enum kr_log_recovery outcome;
	uint32_t segments;
	uint64_t batches;
	/* KR_LOG_TORN_TAIL: how much was cut, and where */
	uint64_t torn_bytes;
	/* KR_LOG_MID_CORRUPT: offsets [damage_start, damage_end) are unreadable (damage_end
	 * is the base offset of the first valid batch after the damage), and valid batches
	 * were found up to last_valid_end_offset. segment names the damaged file and
	 * file_pos the damage's byte position in it. */
	uint64_t damage_start_offset;
	uint64_t damage_end_offset;
	uint64_t last_valid_end_offset;
	uint64_t file_pos;
	char segment[64];
	char reason[96]; /* what was wrong with the first bad batch */
};

struct kr_log; /* opaque; owned by one thread */

/** The epoch of the record before the log start, if known (0: not known, or the log starts
 * at 0). */
uint32_t kr_log_base_epoch(const struct kr_log *log);
/** An empty log that starts past 0 (a follower's after a reset) learns the epoch of the
 * record before its start from the leader. Ignored for any other log. */
void kr_log_set_base_epoch(struct kr_log *log, uint32_t epoch);

/**
 * Open (or create) a log. Reads and checks every segment; see RECOVERY above.
 * On KR_LOG_MID_CORRUPT the log is usable and holds the valid prefix only; the files
 * are left as they are until the next kr_log_flush.
 *
 * @return 0 with *out set and *report filled, or a negative errno with err explaining
 *   (naming the file): -EINVAL for a bad config, -ENOENT when a read-only open finds
 *   no directory, -EIO and others from the file system.
 */
int kr_log_open(const struct kr_log_config *cfg, struct kr_log **out, struct kr_log_report *report,
		char *err, size_t errlen);

/** Close without flushing. */
void kr_log_close(struct kr_log *log);

/**
 * Append a batch built by kr_batch_build (or received from the leader). The batch must
 * check out and its base_offset must equal the log end offset; its epoch must not be
 * below the last epoch. Memory only: no file I/O (kr_log_flush writes).
 *
 * @return 0, -EINVAL (bad offset or epoch), -EBADMSG (batch fails its check),
 *   -ENOBUFS (memory cap reached), -ENOMEM, -EROFS (read-only log).
 */
int kr_log_append(struct kr_log *log, const uint8_t *batch, uint32_t len);

/**
 * Build a batch (header h, as kr_batch_build takes it) from count records and append it,
 * in place: the leader's path, which spares a copy and a second check of a batch it has
 * just built and summed. The same rules as kr_log_append; -EBADMSG if the records do not
 * check out or the batch would exceed KR_BATCH_BYTES_MAX. Nothing changes on an error.
 */
int kr_log_append_records(struct kr_log *log, const struct kr_batch_hdr *h, const uint8_t *records,
			  uint32_t records_len, uint32_t count);

/**
 * Make the files match memory and durable: first cut or remove what truncation,
 * retention or reset dropped (and damage found at open), then write everything
 * appended and fsync (creating files, with a directory fsync, for new segments).
 * Afterwards kr_log_durable_end() == kr_log_end(). The only call that does file I/O
 * after open.
 * In memory mode, a no-op. On an error nothing more counts as durable: the caller
 * must stop acknowledging (fail-stop), never retry and ack.
 *
 * @return 0, or a negative errno.
 */
int kr_log_flush(struct kr_log *log, char *err, size_t errlen);

/* kr_log_flush in three steps, so that the thread that owns the log never waits for the
 * disk: the owner takes a job (kr_log_job_begin: no I/O), another thread carries it out
 * (kr_log_job_run: I/O on the job's files and buffers only, never the log), and the
 * owner hands it back (kr_log_job_end: no I/O). Meanwhile the owner may append,
 * truncate, reset and delete segments: appends land past every byte the job writes,
 * dropped segments keep their buffers and files until the job ends, and a job made
 * stale by a truncation, reset or deletion moves nothing forward (the next job
 * reconciles the files). One job at a time; a job struct is reused (kr_log_job_free at
 * the end). */
struct kr_log_job_seg {
	uint64_t uid;
	uint64_t base;
	uint32_t prev_epoch; /* the header's */
	int fd;		     /* -1: the job creates the file */
	bool created;
	uint32_t cut_to; /* reconcile: cut the file to this many batch bytes (UINT32_MAX: no) */
	uint32_t synced; /* rewrite the header saying this many bytes are synced (UINT32_MAX:
			  * no) */
	bool hdr_done;
	const uint8_t *buf;
	uint32_t from, to; /* write buf[from, to) at the same place in the file */
};

struct kr_log_job {
	const struct kr_fs *fs;
	struct kr_log_job_seg *segs;
	uint32_t n, cap;
	int *close_fds; /* files of segments dropped earlier, closed first */
	uint32_t n_close;
	int dirfd;
	const char *dir;
	int bound_fd;	    /* the flushed-bound file */
	uint64_t bound_new; /* raise the flushed bound to this first (0: no need) */
	bool reconcile;	    /* remove files of segments memory no longer has; cut as cut_to says */
	bool failed;	    /* the log was fail-stopped already */
	uint64_t end;	    /* the log end when the job was taken: durable once it ends well */
	uint64_t mutations;
	int rc; /* kr_log_job_run's result: 0 or a negative errno, with err */
	char err[256];
};

/** Take a job. @return 0, -EBUSY (one is out), -EROFS, or -ENOMEM. */
int kr_log_job_begin(struct kr_log *log, struct kr_log_job *job);
/** Carry the job out (any thread): reconcile, create, write, fdatasync. Sets job->rc. */
void kr_log_job_run(struct kr_log_job *job);
/**
 * Hand the job back. On success (and if not stale) the durable end becomes the job's
 * end. @return 0, or the job's error: the log is fail-stopped from then on.
 */
int kr_log_job_end(struct kr_log *log, struct kr_log_job *job);
void kr_log_job_free(struct kr_log_job *job);

/* A read: a run of whole batches, contiguous in memory, inside one segment. */
struct kr_log_span {
	const uint8_t *data;
	uint32_t len;
	uint64_t base_offset; /* of the first batch */
	uint64_t end_offset;  /* just past the last record */
	uint32_t batches;
	uint32_t prev_epoch; /* epoch of the record before base_offset (0 if none) */
};

/**
 * Read whole batches starting with the one that holds offset, as many as fit in
 * max_bytes and end at or before upto (pass KR_OFFSET_NONE for no limit), stopping at a
 * segment end. A view: valid until the log next changes.
 *
 * @return 0 (span->len is 0 when there is nothing to read: offset at the log end, or the
 *   first batch ends past upto), -ERANGE if offset is below the log start or past the
 *   log end, -EMSGSIZE if the first batch alone exceeds max_bytes.
 */
int kr_log_read(const struct kr_log *log, uint64_t offset, uint64_t upto, uint32_t max_bytes,
		struct kr_log_span *span);

/**
 * Remove every record at or after offset; an offset inside a batch is rounded down to
 * that batch's start. Memory only: the next kr_log_flush cuts the files to match. The
 * durable end drops to the new end if it was past it; the epoch cache follows.
 *
 * @return the new log end offset (>= 0), -ERANGE if offset is below the log start, or
 *   -EROFS on a read-only log.
 */
int64_t kr_log_truncate(struct kr_log *log, uint64_t offset);

/**
 * Retention: drop every segment that ends at or before upto, except the last one. The
 * log start offset becomes the first remaining segment's base. Memory only: the next
 * kr_log_flush removes the files. The caller keeps upto at or below the high watermark.
 *
 * @return the new log start offset, or -EROFS.
 */
int64_t kr_log_delete_prefix(struct kr_log *log, uint64_t upto);

/**
 * Drop everything and make the log an empty one that starts (and ends) at start: what a
 * follower does when the leader no longer has the offsets it needs (its log start is
 * past this log's end). Memory only, like kr_log_truncate.
 * @return 0, -ERANGE (start beyond KR_OFFSET_MAX) or -EROFS.
 */
int kr_log_reset(struct kr_log *log, uint64_t start);

/**
 * Does the log hold a snapshot id's last record: the record at end - 1 in epoch (or, with
 * end the log start, is epoch the one before the start)? Then the log and the snapshot
 * agree below end.
 */
bool kr_log_holds(const struct kr_log *log, struct kr_snap_id id);

/* THE READER: log memory handed to another thread. The owner may hand a reader (the
 * apply thread; an mbuf sent from log memory, later) pointers into the log (kr_log_read's
 * spans of committed batches) and tells the log which offsets it handed
 * (kr_log_reader_hand) and, once the reader has published "released up to X", that too
 * (kr_log_reader_released). Until then no byte handed is freed or reused: a truncation,
 * a reset or a prefix deletion takes effect at once for the log's contents, but the
 * buffers of the segments it dropped that hold offsets in [released, handed) wait in the
 * grave (as for a flush job) until the release passes them. Bytes of a segment that stays
 * are never rewritten below the committed offset (a truncation below it is a fail-stop:
 * KR_FATAL_TRUNCATE_BELOW_HW, include/kraft/planes.h), and a segment's buffer never moves after open. One reader; the
 * range handed is contiguous. No I/O. */

/** The reader now holds [from, upto) too (from: where the last hand ended, or where a
 * new run starts when nothing is held). */
void kr_log_reader_hand(struct kr_log *log, uint64_t from, uint64_t upto);
/** The reader has released everything below upto: the grave frees what it may. */
void kr_log_reader_released(struct kr_log *log, uint64_t upto);
/**
 * The next span of committed batches for the reader, from *handed (where the last one
 * ended) up to committed, at most max_bytes (whole batches, one segment): handed to it
 * (kr_log_reader_hand) and *handed moved to its end. @return 1 with *sp set, 0 when
 * nothing is due, -ERANGE when *handed lies below the log start (a reset went past it).
 */
int kr_log_hand_span(struct kr_log *log, uint64_t *handed, uint64_t committed, uint32_t max_bytes,
		     struct kr_log_span *sp);

/* THE PINS: log memory a sender points at (an mbuf sent from log memory, released
 * whenever the device is done with it, in any order). A pin names the segment buffer
 * that holds [p, p + len); until it is unpinned that buffer is neither freed (a segment
 * dropped by a truncation, a reset or retention waits in the grave, as for THE READER)
 * nor written over: a truncation into a pinned segment seals it at the cut, and the next
 * batch goes into a new segment, so the pinned bytes past the cut stay as they were.
 * Owner thread only (the sender releases on the thread that owns the log). No I/O. */
struct kr_log_pin;

/** Pin the segment buffer holding [p, p + len) (kr_log_read's bytes). @return the pin to
 * pass to kr_log_unpin, or NULL: p is not in the log's memory (or out of memory). */
struct kr_log_pin *kr_log_pin(struct kr_log *log, const uint8_t *p, uint32_t len);
/** One sender is done with a pin: at zero, the grave frees what nothing holds. */
void kr_log_unpin(struct kr_log *log, struct kr_log_pin *pin);
/** Pins held, over live segments and the grave (tests, telemetry). */
uint32_t kr_log_pins(const struct kr_log *log);

/* RETENTION (docs/DESIGN.md §5, "Retention follows snapshots"): the log start moves only to a kept snapshot's end, by
 * whole segments, below the committed offset, never past a batch younger than the dedup
 * window (a new leader rebuilds its producer table from the log), never past the last
 * voters record. */
enum kr_retain {
	KR_RETAIN_NONE = 0,    /* nothing (more) may go */
	KR_RETAIN_DELETED = 1, /* the first segment went (call again) */
	KR_RETAIN_VOTERS = 2,  /* it holds the last voters record: write the set again at
				 * the log end first (kr_repl_voters_renew) */
};

/**
 * One step of retention: the first segment goes if it ends at or below upto (a kept
 * snapshot's end) and committed, is not the last one, and its newest batch is older
 * than young_us (a batch timestamp) and holds no voters record past voters_off's
 * (KR_OFFSET_NONE: none). Memory only, like kr_log_delete_prefix.
 */
enum kr_retain kr_log_retain_step(struct kr_log *log, uint64_t upto, uint64_t committed,
				  int64_t young_us, uint64_t voters_off);

/** Segments waiting in the grave; *leaked (if not NULL): held ones the grave had no room
 * for (out of memory), left allocated. */
uint32_t kr_log_reader_graves(const struct kr_log *log, uint64_t *leaked);

/** How many times offsets were removed from this log (truncation, reset, prefix delete):
 * a reader that remembers what it read up to some offset reads again when it changes. */
uint64_t kr_log_mutations(const struct kr_log *log);

uint64_t kr_log_start(const struct kr_log *log);
uint64_t kr_log_end(const struct kr_log *log);	       /* the log end offset (LEO) */
uint64_t kr_log_durable_end(const struct kr_log *log); /* flushed (= LEO in memory mode) */
uint32_t kr_log_last_epoch(const struct kr_log *log);  /* epoch of the last record, or 0 (an
							* empty log past 0: its base epoch) */
uint64_t kr_log_bytes(const struct kr_log *log);       /* retained batch bytes */
uint32_t kr_log_segment_count(const struct kr_log *log);
const struct kr_epoch_cache *kr_log_epochs(const struct kr_log *log);

/** Would kr_log_flush do anything? (Unflushed appends, or files to cut or remove.) */
bool kr_log_needs_flush(const struct kr_log *log);

/** The whole pages of the last segment's buffer, from its end up to `ahead` bytes past it,
 * never handed out before, once at least min_bytes of them are due: for another thread to
 * page in (madvise MADV_POPULATE_WRITE, which writes no byte) so that appends do not take
 * the kernel's first-touch faults. Each byte is handed out once per segment. Nobody reads
 * bytes past the end. No I/O. @return true and the range in addr, len; false: none due. */
bool kr_log_prefault_range(struct kr_log *log, uint32_t ahead, uint32_t min_bytes, void **addr,
			   size_t *len);

/** The first segment's end offset and batch bytes. @return 0, or -ENOENT (no segment). */
int kr_log_first_segment(const struct kr_log *log, uint64_t *end_offset, uint64_t *bytes);

/* The newest batch timestamp in the first segment (retention by time may delete the
 * segment once this is old enough), or -1 if there is none. */
int64_t kr_log_first_segment_max_timestamp(const struct kr_log *log);

/** Write the KR_SEGMENT_HDR_BYTES header of a segment whose first batch is at base and
 * of whose batch bytes synced are known to be on disk. */
void kr_log_segment_header(uint8_t hdr[KR_SEGMENT_HDR_BYTES], uint64_t base, uint32_t synced,
			   uint32_t prev_epoch);

/* ---- recovery scan (pure; exposed for the fuzz target and tests) ---- */

/* The result of scanning one segment's batch bytes. */
struct kr_scan_result {
	uint64_t good_bytes; /* bytes of valid, contiguous batches from the start */
	uint64_t end_offset; /* offset after the last good batch */
	uint32_t last_epoch; /* epoch of the last good batch, or the epoch passed in */
	uint64_t batches;
	bool bad;		/* something after good_bytes is not a good batch */
	bool valid_after_bad;	/* a valid batch follows the bad spot (RECOVERY above) */
	uint64_t resync_pos;	/* where that valid batch starts (valid_after_bad) */
	uint64_t resync_offset; /* its base offset */
	uint64_t resync_end;	/* the end offset of the run of batches from there, or
				 * end_offset when no run reaches the end of buf */
	char reason[96];
};

/**
 * Scan buf as a segment body whose first batch must start at base_offset with an epoch
 * >= min_epoch. Calls on_batch for each good batch, in order (may be NULL); a nonzero
 * return from on_batch stops the scan as if that batch were bad, with that reason.
 */
void kr_log_scan(const uint8_t *buf, size_t len, uint64_t base_offset, uint32_t min_epoch,
		 int (*on_batch)(void *arg, const struct kr_batch_hdr *h, uint64_t pos), void *arg,
		 struct kr_scan_result *res);

#endif /* KRAFT_LOG_H */
