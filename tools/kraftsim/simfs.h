/* kraftsim: a simulated disk behind the file operations of include/kraft/fs.h, so each
 * simulated node runs kraftd's real storage code (the log, its recovery and flush jobs,
 * the data directory's files) on a disk that fails as real ones do.
 *
 * THE MODEL. Every file has what reads see (the page cache) and what the disk holds;
 * sync makes the disk hold what reads see, in 4 KiB pages. Every directory has its
 * entries as seen and as held; a directory's sync makes the held entries follow the seen
 * ones. A crash (simfs_crash) keeps, for each file, any subset of its unsynced pages and
 * either its synced or its unsynced length (a file extended but not synced may come back
 * with zeros), and for each directory any prefix of its unsynced creations, renames and
 * removals (a journal commits them in order). Writes may come back short, a sync may
 * fail, the disk may be full; damage to synced data (simfs_corrupt) is marked in the
 * ground truth: simfs_damaged says whether any hit.
 * Everything random draws from the simulator's stream, so one seed replays one run. */
#ifndef KRAFTSIM_SIMFS_H
#define KRAFTSIM_SIMFS_H

#include <stdbool.h>
#include <stdint.h>

#include "kraft/fs.h"

#define SIMFS_PAGE 4096u

struct simfs;

/* A fault armed for the next sync of a log segment file (a name ending in ".log") that
 * has unsynced pages: the sync fails (EIO) and the kernel drops its pages as clean, so
 * reads still see them and the disk never will (the caller must fail-stop). */
enum simfs_fault {
	SIMFS_SYNC_FAILS = 1,
};

/* Damage to synced data (simfs_corrupt): */
enum simfs_damage {
	SIMFS_BIT_FLIP = 1,	    /* one bit (a latent sector error) */
	SIMFS_PAGE_LOST = 2,	    /* the page's last write never reached the disk: zeros */
	SIMFS_PAGE_MISDIRECTED = 3, /* another page's content landed on it */
};

struct simfs *simfs_new(uint64_t *rng);
void simfs_free(struct simfs *f);

/** The kr_fs that works on this disk. */
const struct kr_fs *simfs_fs(struct simfs *f);

/** The process dies after ops more operations: every later one fails with -EIO until
 * simfs_crash. A negative ops: no limit. */
void simfs_set_budget(struct simfs *f, int64_t ops);

/** The process died: close every handle and keep what the model says survives. */
void simfs_crash(struct simfs *f);

/** The disk replaced by an empty one. */
void simfs_wipe(struct simfs *f);

/** Damage the disk's copy of path at byte off (its page, for the page kinds), as a
 * fault would that nobody noticed until the file is read again after a restart. Marks
 * the ground truth (simfs_damaged). @return 0, or -ENOENT if path holds no byte off. */
int simfs_corrupt(struct simfs *f, const char *path, uint64_t off, enum simfs_damage kind);

/** The bytes the disk holds for path (NULL if none), for the simulator to find where its
 * records lie. Valid until the disk changes. */
const uint8_t *simfs_held(const struct simfs *f, const char *path, uint64_t *len);

void simfs_arm(struct simfs *f, enum simfs_fault fault);
enum simfs_fault simfs_armed(const struct simfs *f);

/** A full disk: writes fail with -ENOSPC while it is. */
void simfs_set_full(struct simfs *f, bool full);
bool simfs_full(const struct simfs *f);

/** Writes return fewer bytes than asked with this probability (callers must retry). */
void simfs_set_short_writes(struct simfs *f, double p);

/** Did a fault hit synced data since simfs_clear_damage? And how many times. */
uint32_t simfs_damaged(const struct simfs *f);
void simfs_clear_damage(struct simfs *f);

#endif /* KRAFTSIM_SIMFS_H */
