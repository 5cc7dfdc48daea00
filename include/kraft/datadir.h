/* kraftd: the data directory (Kafka's metadata.log.dir): its identity file, the
 * quorum-state file (owned by the control plane) and where the log lives.
 *
 *   <dir>/.lock             held (flock) by the one process using the directory
 *   <dir>/meta.properties   identity, written by `kraftd format` (the directory id is
 *                           replaced once if the directory finds it must rejoin)
 *   <dir>/bootstrap-voters  the voter set the cluster started with, written by `kraftd
 *                           format` (empty for a joining directory; absent in a
 *                           directory formatted before voters had directory ids)
 *   <dir>/quorum-state      epoch, leader, vote: written in place on every change, then
 *   <dir>/quorum-state.mirror  the same, written and synced after it
 *   <dir>/unsafe-admit      present after `kraftd unsafe-admit`, until the next start
 *   <dir>/log/              log segments (include/kraft/log.h)
 *
 * meta.properties (properties text; lines may come in any order, each key once):
 *   # comment lines
 *   version=1
 *   cluster.id=<22-character id>
 *   node.id=<0 .. 2^31-1>
 *   directory.id=<22-character id, random, written by format>
 *
 * quorum-state and quorum-state.mirror (properties text, in exactly this order, then a
 * checksum line):
 *   # kraftd quorum state ...            one comment line
 *   version=2                            (1: no sequence line; read, never written)
 *   sequence=<1 .. 2^63-1>               higher in the newer copy
 *   epoch=<0 .. 2^32-1>
 *   leader.id=<-1 or a node id>
 *   voted.id=<-1 or a node id>
 *   voted.directory.id=<empty or a 22-character id>
 *   #<blanks>                            padding: the copy is 512 bytes in all
 *   crc32c=<8 lowercase hex digits>      CRC32C of every byte before this line
 * The file ends with the newline of the crc32c line; any other byte anywhere, or a
 * missing one, makes the copy corrupt. Every change is written into quorum-state and
 * synced, then into the mirror and synced (the mirror first brought level if it lags),
 * so both hold every state the node acted on; the reader takes the valid copy with the
 * higher sequence. A node refuses to start when quorum-state is missing or both copies
 * are corrupt or unreadable: it never silently starts again from epoch 0. Such a
 * directory has lost its vote: the safe way back is to re-format it (a joining
 * directory, an observer, with a new directory id), never to reset it to epoch 0.
 *
 * bootstrap-voters (properties text, in exactly this order, then a checksum line as in
 * quorum-state):
 *   # kraftd bootstrap voters ...        one comment line
 *   version=1
 *   voters=<voter list with directory ids (include/kraft/voters.h), or empty>
 *   crc32c=<8 lowercase hex digits>
 * `kraftd format --initial-controllers L` (or --standalone) writes L; a plain `kraftd
 * format` writes an empty list: a joining directory, which replicates as an observer
 * until a voter change names it. A node is a voter only if (its node id, its directory
 * id) is in the list; the other voters' directory ids are what Vote, BeginQuorumEpoch
 * and Fetch are checked against.
 */
#ifndef KRAFT_DATADIR_H
#define KRAFT_DATADIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kraft/common.h"
#include "kraft/fs.h"
#include "kraft/voters.h"

#define KR_META_FILE "meta.properties"
#define KR_QUORUM_STATE_FILE "quorum-state"
#define KR_QUORUM_MIRROR_FILE "quorum-state.mirror"
#define KR_BOOTSTRAP_FILE "bootstrap-voters"
#define KR_ADMIT_FILE "unsafe-admit" /* kraftd unsafe-admit: the next start votes at once */
#define KR_LOG_SUBDIR "log"
#define KR_LOCK_FILE ".lock"
#define KR_DATADIR_FILE_MAX 4096 /* larger identity or state files are refused */

struct kr_identity {
	uint8_t cluster_id[KR_UUID_BYTES];
	int32_t node_id;
	uint8_t directory_id[KR_UUID_BYTES];
};

struct kr_quorum_state {
	uint32_t epoch;
	int32_t leader_id;		  /* KR_NODE_NONE if none known */
	int32_t voted_id;		  /* KR_NODE_NONE if no vote cast in this epoch */
	uint8_t voted_dir[KR_UUID_BYTES]; /* all zero if unknown */
};

/** Text of an identity file. @return its length, or -ENOSPC. */
int kr_identity_encode(const struct kr_identity *id, char *buf, size_t cap);

/** Parse identity text. @return 0 or -EINVAL with err naming the line and the problem. */
int kr_identity_decode(const char *text, size_t len, struct kr_identity *id, char *err,
		       size_t errlen);

/** Text of a quorum-state file, checksum line included. @return its length, or -ENOSPC. */
int kr_quorum_state_encode(const struct kr_quorum_state *qs, char *buf, size_t cap);

/** Parse quorum-state text. @return 0 or -EBADMSG with err saying what is wrong. */
int kr_quorum_state_decode(const char *text, size_t len, struct kr_quorum_state *qs, char *err,
			   size_t errlen);

/**
 * Durably store the quorum state in both copies (above; a new directory's quorum-state
 * is created by temp file, sync, rename, directory sync).
 * @return 0 or -errno with err naming the file.
 */
int kr_quorum_state_store(const struct kr_fs *fs, const char *dir, const struct kr_quorum_state *qs,
			  char *err, size_t errlen);

/**
 * Read the newer valid copy of the quorum state. @return 0, -ENOENT (quorum-state
 * missing), -EBADMSG (both copies corrupt) or -errno,
 * with err naming the file and the reason.
 */
int kr_quorum_state_load(const struct kr_fs *fs, const char *dir, struct kr_quorum_state *qs,
			 char *err, size_t errlen);

/** Read <dir>/meta.properties. @return 0, -ENOENT, -EINVAL (malformed) or -errno. */
int kr_identity_load(const struct kr_fs *fs, const char *dir, struct kr_identity *id, char *err,
		     size_t errlen);

/** Text of a bootstrap-voters file. @return its length, or -ENOSPC. */
int kr_bootstrap_encode(const struct kr_voter_set *s, char *buf, size_t cap);

/** Parse bootstrap-voters text. @return 0 or -EBADMSG with err saying what is wrong. */
int kr_bootstrap_decode(const char *text, size_t len, struct kr_voter_set *s, char *err,
			size_t errlen);

/**
 * Read <dir>/bootstrap-voters. @return 0, -ENOENT (a directory formatted before voters
 *   had directory ids), -EBADMSG (corrupt) or -errno, with err naming the file.
 */
int kr_bootstrap_load(const struct kr_fs *fs, const char *dir, struct kr_voter_set *s, char *err,
		      size_t errlen);

/**
 * `kraftd format`: create dir if needed, lock it, and write its identity (the given
 * cluster and node id; the directory id is the one initial gives this node, else
 * directory_id if not NULL, else a fresh random one), the bootstrap voters (initial, or none: a joining directory when initial
 * is NULL) and an initial quorum-state (epoch 0, no leader, no vote). Refuses a directory
 * that already has an identity unless ignore_formatted is set and that identity matches
 * (then it changes nothing).
 * @return 0 with *id filled, 1 (*id filled) when ignore_formatted found a matching
 *   identity and changed nothing, -EEXIST (already formatted, or differently), -EBUSY
 *   (another process holds the directory), or -errno; err says which file and why.
 */
int kr_datadir_format(const struct kr_fs *fs, const char *dir,
		      const uint8_t cluster_id[KR_UUID_BYTES], int32_t node_id,
		      const struct kr_voter_set *initial, const uint8_t *directory_id,
		      bool ignore_formatted, struct kr_identity *id, char *err, size_t errlen);

/**
 * Durably replace <dir>/meta.properties with id (a directory that must rejoin takes a
 * new directory id). @return 0 or -errno with err naming the file.
 */
int kr_identity_store(const struct kr_fs *fs, const char *dir, const struct kr_identity *id,
		      char *err, size_t errlen);

/**
 * What a starting node does: load the identity, check it names cluster_id and node_id,
 * and load the quorum state. A missing identity or quorum-state file, a mismatch, or a
 * corrupt file is an error naming the file.
 * @return 0, -ENOENT, -EINVAL (mismatch or malformed identity), -EBADMSG (corrupt
 *   quorum state) or -errno.
 */
int kr_datadir_open(const struct kr_fs *fs, const char *dir,
		    const uint8_t cluster_id[KR_UUID_BYTES], int32_t node_id,
		    struct kr_identity *id, struct kr_quorum_state *qs, char *err, size_t errlen);

/* The functions above take the directory's file system (include/kraft/fs.h; NULL: the
 * real one). kr_datadir_format takes the lock below only on the real one.
 *
 * THE LOCK. One process at a time uses a data directory: kraftd (a node, for its whole
 * life), kraftd format and kraftd unsafe-admit take an exclusive flock(2) on <dir>/.lock
 * before they open anything else in the directory, and write their pid into it (for the
 * error a second process prints). flock, not a POSIX fcntl lock: fcntl locks vanish when
 * any descriptor of the file is closed by the process, and are not exclusive between
 * threads of one process. The lock dies with the process, so a kill -9 never leaves a
 * stale one; the file itself stays.
 */

/**
 * Take the lock of dir (which must exist) for the life of *fd.
 * @return 0 with *fd set (close it to release); -EBUSY when another process holds it
 *   (err names its pid); or -errno; err says which file and why.
 */
int kr_datadir_lock(const char *dir, int *fd, char *err, size_t errlen);

/**
 * Who holds dir's lock, without taking it (kraftd inspect).
 * @return 0 when nobody does (or there is no lock file), the holder's pid (> 0) when a
 *   process holds it, -EBUSY when one does but wrote no readable pid, or -errno.
 */
int kr_datadir_lock_holder(const char *dir);

/** <dir>/log into out. @return 0 or -ENAMETOOLONG. */
int kr_datadir_log_path(const char *dir, char *out, size_t cap);

#endif /* KRAFT_DATADIR_H */
