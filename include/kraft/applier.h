/* kraftd: the applier: the committed log applied, batch by batch and in order, to a state
 * machine (include/kraft/sm.h), keeping what a snapshot needs besides the state: the voter
 * set in force (the last voters record's value), the committed log's producer table (a
 * retry after a restart or a leader change is still answered, include/kraft/producers.h),
 * and the last record's epoch and time (the snapshot's id and age). It says when a
 * snapshot is due (Kafka's metadata.log.max.record.bytes.between.snapshots and
 * metadata.log.max.snapshot.interval.ms), freezes an image of all of it between two
 * batches, and writes that image as a snapshot file; a start loads the newest whole
 * snapshot into it and applies the log from that snapshot's end.
 *
 * No clock (times are given), no threads: the apply thread and kraftsim drive it. Only
 * control batches of the voters type and data batches change it; a LeaderChange record
 * moves only the epoch. */
#ifndef KRAFT_APPLIER_H
#define KRAFT_APPLIER_H

#include <stdbool.h>
#include <stdint.h>

#include "kraft/producers.h"
#include "kraft/sm.h"
#include "kraft/snapshot.h"
#include "kraft/voterset.h"

struct kr_applier {
	const struct kr_sm_ops *ops;
	void *sm;
	struct kr_producers *producers; /* the committed log's */
	int64_t window_us;		/* the dedup window */
	uint64_t next;			/* the next offset to apply: everything below is */
	uint32_t last_epoch;		/* of the last record applied */
	int64_t last_us;		/* the latest batch timestamp applied */
	uint8_t voters[KR_VOTERS_RECORD_MAX];
	uint32_t voters_len;	    /* 0: no voters record seen (a static voter set) */
	uint64_t bytes_since;	    /* data batch bytes applied since the last snapshot */
	struct kr_snap_id snapshot; /* the last snapshot taken or loaded ({0, 0}: none) */
	uint64_t batches;
};

/** An empty state of ops's machine at offset 0. @return 0 or -ENOMEM. */
int kr_applier_init(struct kr_applier *a, const struct kr_sm_ops *ops, int64_t window_us);
void kr_applier_free(struct kr_applier *a);

/**
 * A start: the newest whole snapshot in dir (kr_sm_snapshot_load_newest; l says which,
 * and which newer ones were passed over and why) becomes the state; the log is then
 * applied from its end. @return 0, -ENOENT (none: the state stays empty at 0), or
 * -errno.
 */
int kr_applier_load(struct kr_applier *a, const struct kr_fs *fs, const char *dir,
		    const uint8_t *cluster_id, int64_t wall_us, struct kr_sm_loaded *l);

/**
 * The next committed batch (checked: from the log). Batches wholly below next are
 * skipped (a snapshot covered them). @return 0, -EINVAL if it leaves a gap (it does not
 * start at or below next) or its length is not len, -EBADMSG for a voters record too
 * large.
 */
int kr_applier_batch(struct kr_applier *a, const uint8_t *p, uint32_t len);

/**
 * Is a snapshot due: bytes_between data bytes applied since the last one (0: never by
 * bytes), or interval_us since since_us, the time the last one was taken or the node
 * started (0: never by time); and something applied since it.
 */
bool kr_applier_due(const struct kr_applier *a, uint64_t bytes_between, int64_t interval_us,
		    int64_t since_us, int64_t now_us);

/* A frozen image: what a snapshot writer needs, no longer tied to the applier */
struct kr_applier_image {
	const struct kr_sm_ops *ops;
	void *frozen;
	struct kr_producers *producers;
	uint8_t voters[KR_VOTERS_RECORD_MAX];
	uint32_t voters_len;
	struct kr_snap_meta meta;
	int64_t window_us;
};

/**
 * Freeze the applier's state at next (the snapshot's end) for a writer; the applier
 * counts the snapshot as taken. @return 0, -ENODATA (nothing applied), -ENOMEM.
 */
int kr_applier_freeze(struct kr_applier *a, const uint8_t *cluster_id,
		      struct kr_applier_image *img);

/** Write the image as a snapshot file into dir (kr_sm_snapshot_write). One of the same id
 *  there already (a leader's, installed or not) is the same committed state: 0. */
int kr_applier_write(const struct kr_applier_image *img, const struct kr_fs *fs, const char *dir,
		     uint8_t *piece, uint32_t cap);

void kr_applier_image_free(struct kr_applier_image *img);

#endif /* KRAFT_APPLIER_H */
