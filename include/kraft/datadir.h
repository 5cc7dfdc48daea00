/* kraftd: the data directory (Kafka's metadata.log.dir): its identity file, the
 * quorum-state file (owned by the control plane) and where the log lives.
 *
 *   <dir>/meta.properties   identity, written once by `kraftd format`
 *   <dir>/quorum-state      epoch, leader, vote; replaced atomically on every change
 *   <dir>/log/              log segments (include/kraft/log.h)
 *
 * meta.properties (properties text; lines may come in any order, each key once):
 *   # comment lines
 *   version=1
 *   cluster.id=<22-character id>
 *   node.id=<0 .. 2^31-1>
 *   directory.id=<22-character id, random, written by format>
 *
 * quorum-state (properties text, in exactly this order, then a checksum line):
 *   # kraftd quorum state ...            one comment line
 *   version=1
 *   epoch=<0 .. 2^32-1>
 *   leader.id=<-1 or a node id>
 *   voted.id=<-1 or a node id>
 *   voted.directory.id=<empty or a 22-character id>
 *   crc32c=<8 lowercase hex digits>      CRC32C of every byte before this line
 * The file ends with the newline of the crc32c line; any other byte anywhere, or a
 * missing one, makes the file corrupt. A node refuses to start on a corrupt, unreadable
 * or missing quorum-state file: it never silently starts again from epoch 0.
 */
#ifndef KRAFT_DATADIR_H
#define KRAFT_DATADIR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kraft/common.h"

#define KR_META_FILE "meta.properties"
#define KR_QUORUM_STATE_FILE "quorum-state"
#define KR_LOG_SUBDIR "log"
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
 * Durably replace <dir>/quorum-state (temp file, fsync, rename, fsync dir).
 * @return 0 or -errno with err naming the file.
 */
int kr_quorum_state_store(const char *dir, const struct kr_quorum_state *qs, char *err,
			  size_t errlen);

/**
 * Read <dir>/quorum-state. @return 0, -ENOENT (missing), -EBADMSG (corrupt) or -errno,
 * with err naming the file and the reason.
 */
int kr_quorum_state_load(const char *dir, struct kr_quorum_state *qs, char *err, size_t errlen);

/** Read <dir>/meta.properties. @return 0, -ENOENT, -EINVAL (malformed) or -errno. */
int kr_identity_load(const char *dir, struct kr_identity *id, char *err, size_t errlen);

/**
 * `kraftd format`: create dir if needed and write its identity (the given cluster and
 * node id, a fresh random directory id) and an initial quorum-state (epoch 0, no
 * leader, no vote). Refuses a directory that already has an identity unless
 * ignore_formatted is set and that identity matches (then it changes nothing).
 * @return 0 with *id filled, 1 (*id filled) when ignore_formatted found a matching
 *   identity and changed nothing, -EEXIST (already formatted, or differently), or
 *   -errno; err says which file and why.
 */
int kr_datadir_format(const char *dir, const uint8_t cluster_id[KR_UUID_BYTES], int32_t node_id,
		      bool ignore_formatted, struct kr_identity *id, char *err, size_t errlen);

/**
 * What a starting node does: load the identity, check it names cluster_id and node_id,
 * and load the quorum state. A missing identity or quorum-state file, a mismatch, or a
 * corrupt file is an error naming the file.
 * @return 0, -ENOENT, -EINVAL (mismatch or malformed identity), -EBADMSG (corrupt
 *   quorum state) or -errno.
 */
int kr_datadir_open(const char *dir, const uint8_t cluster_id[KR_UUID_BYTES], int32_t node_id,
		    struct kr_identity *id, struct kr_quorum_state *qs, char *err, size_t errlen);

/** <dir>/log into out. @return 0 or -ENAMETOOLONG. */
int kr_datadir_log_path(const char *dir, char *out, size_t cap);

#endif /* KRAFT_DATADIR_H */
