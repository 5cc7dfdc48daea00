/* kraftd: what a node does with its data directory when it starts, before any thread
 * runs: read its identity, quorum state and voters; take a new incarnation; read the
 * repair and admit markers; open the log, whose recovery decides what is a torn tail
 * and what is damage; and derive from all that what the election core starts with
 * (first start, vote blocked). kraftd and kraftsim both start nodes through these
 * functions, over the real file system and a simulated one (include/kraft/fs.h), so
 * the simulator restarts a node exactly as the node restarts itself.
 *
 * The small files it reads and writes, beside those of datadir.h:
 *
 *   <dir>/incarnation     this node's last start: one decimal number and a newline. Each
 *                         start takes max(that + 1, the wall clock in milliseconds), so
 *                         starts grow across re-formats too (the Fetch carries it).
 *   <dir>/repair-target   an unfinished repair of mid-log damage: the offset the node
 *                         must refetch up to before it votes or counts toward commit.
 *                         Written before anything discards the damaged range; removed
 *                         once the node caught up with a leader.
 *   <dir>/unsafe-admit    kraftd unsafe-admit was run (any content): the next start
 *                         votes at once, and removes it.
 * Each is replaced atomically (temp file, sync, rename, sync of the directory) and
 * removed durably. */
#ifndef KRAFT_RESTART_H
#define KRAFT_RESTART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kraft/datadir.h"
#include "kraft/election.h"
#include "kraft/fs.h"
#include "kraft/log.h"

#define KR_INCARNATION_FILE "incarnation"
#define KR_REPAIR_FILE "repair-target"

struct kr_restart_config {
	const struct kr_fs *fs; /* NULL: the real file system */
	const char *dir;	/* the data directory */
	const uint8_t *cluster_id;
	int32_t node_id;
	enum kr_log_durability durability;
	uint32_t segment_bytes;
	uint64_t memory_bytes_max;
	uint64_t wall_ms; /* the wall clock now, for the incarnation */
	/* Called once the log directory exists (disk mode), before the log is opened: the
	 * crash test's cut. A nonzero return stops the start with it. May be NULL. */
	int (*before_log_open)(void *arg, const char *log_path);
	void *arg;
};

struct kr_restart {
	struct kr_identity id;
	struct kr_quorum_state qs;
	struct kr_voter_set boot; /* the bootstrap voters, if has_boot */
	bool has_boot;		  /* false: formatted before voters had directory ids */
	uint64_t incarnation;
	uint64_t repair_target; /* 0: none; else refetch up to here before voting */
	bool repair_carried;	/* the repair marker was there at start (an earlier repair) */
	bool unsafe_admit;	/* kraftd unsafe-admit was run: skip the voting rules once */
	char log_path[4096 + 8];
	struct kr_log *log; /* open, recovered; the caller closes it */
	struct kr_log_report rep;
};

/**
 * Read the identity (it must name cfg's cluster and node), the quorum state and the
 * bootstrap voters. Writes nothing.
 * @return 0; -ENOENT, -EINVAL (mismatch or malformed), -EBADMSG (a corrupt quorum-state or
 *   bootstrap-voters file: the vote cast is lost with it) or -errno, err naming the file.
 */
int kr_restart_identify(const struct kr_restart_config *cfg, struct kr_restart *rs, char *err,
			size_t errlen);

/**
 * After kr_restart_identify: take and record the new incarnation, read the markers (an
 * unsafe admit removes the repair marker), open and recover the log; on mid-log damage
 * write the repair marker before anything can discard the damaged range.
 * @return 0 with rs->log open, or -errno with err saying what failed.
 */
int kr_restart_recover(const struct kr_restart_config *cfg, struct kr_restart *rs, char *err,
		       size_t errlen);

/**
 * The election core's start from a recovered directory: the quorum state, the log's last
 * epoch, and the restart rules: a first start (an initial voter's directory that never
 * left epoch 0, with an empty log), and no vote until caught up for a memory-mode node
 * that had an epoch or a node with an unfinished repair, unless admitted. joining: the
 * node is not its voter entry (ec.joining). rejoin_dir and rng_seed are the caller's.
 */
void kr_restart_election(const struct kr_restart *rs, const struct kr_restart_config *cfg,
			 bool joining, struct kr_election_start *st);

/** Once the election core started: remove the unsafe-admit marker (it acts once). */
int kr_restart_admitted(const struct kr_restart_config *cfg);

/** Caught up with a leader: the repair is over, remove its marker. */
int kr_restart_repaired(const struct kr_restart_config *cfg);

/* ---- the marker files ---- */

/* A file of one decimal number and a newline. @return 0, -ENOENT, -EBADMSG or -errno. */
int kr_marker_read(const struct kr_fs *fs, const char *dir, const char *name, uint64_t *v);
/* Replace it atomically and durably. @return 0 or -errno. */
int kr_marker_write(const struct kr_fs *fs, const char *dir, const char *name, uint64_t v);

#endif /* KRAFT_RESTART_H */
