/* kraftd: snapshot files. A snapshot is a state machine's image at a committed offset,
 * with what a node needs besides the state to go on from there (the voter set in force,
 * the producer table's recent entries). It is named by its id: the end offset
 * (exclusive: the last offset it contains plus one) and the epoch of that last record.
 *
 * THE FILE, in the log directory beside the segments, named
 * "<end offset, 20 digits>-<epoch, 10 digits>.snapshot"; written as "<same>.snapshot.part",
 * synced, renamed, and the directory synced, so a crash leaves either no snapshot or a
 * whole one (a .part file is never read, and is removed at the next start).
 *
 *   header (KR_SNAP_HDR_BYTES, little-endian):
 *     0   8  magic "KRFTSNP1"
 *     8   4  format version (KR_SNAP_VERSION)
 *    12   4  flags (0)
 *    16  16  cluster id
 *    32   8  end offset
 *    40   4  epoch
 *    44   4  reserved (0)
 *    48   8  timestamp of the last record (us since the epoch)
 *    56  16  state machine name (zero-padded)
 *    72   4  CRC32C of bytes 0-71
 *   chunks, each:
 *     0   4  type (enum kr_snap_chunk)
 *     4   4  payload length (at most KR_SNAP_CHUNK_MAX)
 *     8   4  CRC32C of the type, the length and the payload
 *    12   -  payload
 *   the end: a chunk of type KR_SNAP_END whose payload is
 *     0   8  chunks before it
 *     8   8  the file's length up to it
 *    16   4  CRC32C of every earlier chunk's CRC, in order (the header's first): the
 *            whole file checked, so a lost, repeated or reordered chunk is found
 *   and nothing after it.
 *
 * Every chunk's CRC is checked as it is read, and the end chunk before the reader says
 * the file was whole: a reader consumes chunks as they come and must discard what it
 * built if the end does not check out. No I/O of its own: every operation goes through
 * a file system table (include/kraft/fs.h; NULL: the real one). */
#ifndef KRAFT_SNAPSHOT_H
#define KRAFT_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kraft/common.h"
#include "kraft/fs.h"

#define KR_SNAP_MAGIC "KRFTSNP1"
#define KR_SNAP_VERSION 1
#define KR_SNAP_HDR_BYTES 76
#define KR_SNAP_CHUNK_HDR_BYTES 12
#define KR_SNAP_CHUNK_MAX (1u << 20)
#define KR_SNAP_SM_NAME_BYTES 16
#define KR_SNAP_SUFFIX ".snapshot"
#define KR_SNAP_PART_SUFFIX ".snapshot.part"
/* "<20 digits>-<10 digits>.snapshot.part" and its terminator */
#define KR_SNAP_NAME_MAX 48
#define KR_SNAP_DIR_MAX 512

enum kr_snap_chunk {
	KR_SNAP_VOTERS = 1,    /* the voter set in force at the end offset */
	KR_SNAP_PRODUCERS = 2, /* producer table entries within the dedup window */
	KR_SNAP_STATE = 3,     /* a piece of the state machine's image */
	KR_SNAP_END = 0xffff,  /* the last chunk (written and checked here) */
};

/* struct kr_snap_id (the two numbers of a name) is in common.h: frames carry it too. */

struct kr_snap_meta {
	struct kr_snap_id id;
	uint8_t cluster_id[KR_UUID_BYTES];
	int64_t last_timestamp_us;
	char sm_name[KR_SNAP_SM_NAME_BYTES + 1];
};

/** "<end>-<epoch>.snapshot" (part: ".snapshot.part") into buf. */
void kr_snap_name(struct kr_snap_id id, bool part, char buf[KR_SNAP_NAME_MAX]);

/**
 * Is name a snapshot file's name? 1 with *id set (and *part: a .part file), 0 if not.
 * Only the exact form kr_snap_name makes counts.
 */
int kr_snap_parse_name(const char *name, struct kr_snap_id *id, bool *part);

/** Ids in ascending order (end offset, then epoch). */
static inline int
kr_snap_id_cmp(struct kr_snap_id a, struct kr_snap_id b)
{
	if (a.end_offset != b.end_offset)
		return a.end_offset < b.end_offset ? -1 : 1;
	return a.epoch < b.epoch ? -1 : a.epoch > b.epoch;
}

/**
 * The snapshots in dir (whole ones only: .part files are not listed), ascending, at most
 * cap of the newest. @return how many there are in all (may exceed cap), or -errno.
 */
int kr_snap_list(const struct kr_fs *fs, const char *dir, struct kr_snap_id *ids, unsigned cap);

/** Remove every .part file in dir (a start's first step). @return how many, or -errno. */
int kr_snap_remove_parts(const struct kr_fs *fs, const char *dir);

/** Remove the snapshot id from dir, durably. @return 0 or -errno. */
int kr_snap_remove(const struct kr_fs *fs, const char *dir, struct kr_snap_id id);

/** Remove every snapshot in dir (a memory-mode start: it remembers nothing of an earlier
 * life). @return how many, or -errno. */
int kr_snap_remove_all(const struct kr_fs *fs, const char *dir);

/* THE CLEANER (Kafka's rule, docs/DESIGN.md §5, "Retention follows snapshots"): while the older of the two oldest
 * snapshots breaks a retention limit (the log's bytes and every snapshot together above
 * retention_bytes, or its last record older than retention_ms before wall_us; -1: no
 * limit), the log may start at the younger one's end, and the older one goes. The newest
 * snapshot always stays. */
#define KR_SNAP_CLEAN_MAX 256 /* the snapshots one step looks at, the newest */

struct kr_snap_clean_step {
	struct kr_snap_id removed; /* the snapshot removed */
	uint64_t removed_bytes;
	uint64_t target; /* the log may start here now (the next snapshot's end) */
	uint64_t total;	 /* what the log and the snapshots held before */
};

/** One step of the cleaner. @return 1 (one removed: *step says which and where the log
 * may start), 0 (nothing due), or -errno. */
int kr_snap_clean(const struct kr_fs *fs, const char *dir, uint64_t log_bytes,
		  int64_t retention_bytes, int64_t retention_ms, int64_t wall_us,
		  struct kr_snap_clean_step *step);

/* ---- writing ---- */

struct kr_snap_writer {
	const struct kr_fs *fs;
	char dir[KR_SNAP_DIR_MAX];
	struct kr_snap_id id;
	int h;
	uint64_t pos;	 /* bytes written */
	uint64_t chunks; /* chunks written */
	uint32_t whole;	 /* CRC32C of the CRCs so far */
	int err;	 /* the first error: every later call returns it */
};

/**
 * Start writing the snapshot m->id into dir (as a .part file, replacing any left
 * behind). @return 0, -EEXIST if that snapshot exists already, or -errno.
 */
int kr_snap_write_begin(struct kr_snap_writer *w, const struct kr_fs *fs, const char *dir,
			const struct kr_snap_meta *m);

/** Append one chunk (len <= KR_SNAP_CHUNK_MAX; not KR_SNAP_END). @return 0 or -errno. */
int kr_snap_write_chunk(struct kr_snap_writer *w, uint32_t type, const void *p, uint32_t len);

/**
 * Finish: the end chunk, sync, rename to the final name, sync the directory. On any
 * error the .part file is removed. @return 0 or -errno (-ENOSPC: the disk was full).
 */
int kr_snap_write_end(struct kr_snap_writer *w);

/** Give up: close and remove the .part file. */
void kr_snap_write_abort(struct kr_snap_writer *w);

/**
 * A snapshot found damaged goes aside: renamed to its name + KR_SNAP_DAMAGED_SUFFIX,
 * which no listing, load or cleaner counts (an operator may look at it; the next one set
 * aside under that name replaces it). @return 0 or -errno.
 */
#define KR_SNAP_DAMAGED_SUFFIX ".damaged"
int kr_snap_set_aside(const struct kr_fs *fs, const char *dir, struct kr_snap_id id);

/**
 * Give id's .part file (written and synced) its final name and make the name durable.
 * On failure neither name is kept. @return 0 or -errno. The writer's last step, and a
 * received snapshot's (include/kraft/xfer.h).
 */
int kr_snap_publish(const struct kr_fs *fs, const char *dir, struct kr_snap_id id);

/* ---- reading ---- */

struct kr_snap_reader {
	const struct kr_fs *fs;
	int h;
	uint64_t size; /* the file's length */
	uint64_t pos;
	uint64_t chunks;
	uint32_t whole;
	bool ended; /* the end chunk was read and checked */
	struct kr_snap_meta meta;
};

/**
 * Open the snapshot id in dir and check its header: the magic, the version, the CRC, the
 * id against the name, and (unless cluster_id is NULL) the cluster. @return 0, or -errno
 * with why set: -ENOENT (no such file), -EBADMSG (damaged or not a snapshot),
 * -EXDEV (another cluster's).
 */
int kr_snap_open(struct kr_snap_reader *r, const struct kr_fs *fs, const char *dir,
		 struct kr_snap_id id, const uint8_t *cluster_id, char *why, size_t why_len);

/**
 * The next chunk into buf (cap >= KR_SNAP_CHUNK_MAX serves any file). @return 1 with
 * *type and *len set, 0 at the end (the end chunk checked: the file is whole), or
 * -EBADMSG with why set (a CRC, a length, a truncated file, bytes after the end).
 */
int kr_snap_next(struct kr_snap_reader *r, uint32_t *type, uint8_t *buf, uint32_t cap,
		 uint32_t *len, char *why, size_t why_len);

void kr_snap_close(struct kr_snap_reader *r);

/**
 * Read the whole of snapshot id (part: its .part file) and check every chunk and the
 * end. @return 0 or -errno as kr_snap_open and kr_snap_next, with why set; *bytes (if not
 * NULL) the file's length.
 */
int kr_snap_verify(const struct kr_fs *fs, const char *dir, struct kr_snap_id id, bool part,
		   const uint8_t *cluster_id, uint64_t *bytes, char *why, size_t why_len);

#endif /* KRAFT_SNAPSHOT_H */
