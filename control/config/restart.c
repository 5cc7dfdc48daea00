/* kraftd: a node's data directory at start; see include/kraft/restart.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "kraft/fileio.h"
#include "kraft/props.h"
#include "kraft/restart.h"

int
kr_marker_read(const struct kr_fs *fs, const char *dir, const char *name, uint64_t *v)
{
	char buf[64];
	int64_t x;
	int len = kr_read_file(fs, dir, name, buf, sizeof(buf) - 1);

	if (len < 0)
		return len;
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	if (kr_parse_i64(buf, 0, INT64_MAX, &x) != 0)
		return -EBADMSG;
	*v = (uint64_t)x;
	return 0;
}

int
kr_marker_write(const struct kr_fs *fs, const char *dir, const char *name, uint64_t v)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);

	return kr_write_file_atomic(fs, dir, name, buf, (size_t)len);
}

int
kr_restart_identify(const struct kr_restart_config *cfg, struct kr_restart *rs, char *err,
		    size_t errlen)
{
	int rc;

	memset(rs, 0, sizeof(*rs));
	rc = kr_datadir_open(cfg->fs, cfg->dir, cfg->cluster_id, cfg->node_id, &rs->id, &rs->qs,
			     err, errlen);
	if (rc != 0)
		return rc;
	rc = kr_bootstrap_load(cfg->fs, cfg->dir, &rs->boot, err, errlen);
	rs->has_boot = rc == 0;
	return rc == -ENOENT ? 0 : rc;
}

int
kr_restart_recover(const struct kr_restart_config *cfg, struct kr_restart *rs, char *err,
		   size_t errlen)
{
	struct kr_log_config lc = {.fs = cfg->fs,
				   .durability = cfg->durability,
				   .segment_bytes = cfg->segment_bytes,
				   .memory_bytes_max = cfg->memory_bytes_max};
	uint64_t v = 0;
	int rc;

	rc = kr_marker_read(cfg->fs, cfg->dir, KR_INCARNATION_FILE, &v);
	if (rc != 0 && rc != -ENOENT) {
		snprintf(err, errlen, "%s/%s: %s", cfg->dir, KR_INCARNATION_FILE, strerror(-rc));
		return rc;
	}
	/* above every earlier start's of this node id, durably: even a re-formatted
	 * directory's (which starts without the file) outgrows the old ones by the clock */
	rs->incarnation = cfg->wall_ms > v ? cfg->wall_ms : v + 1;
	rc = kr_marker_write(cfg->fs, cfg->dir, KR_INCARNATION_FILE, rs->incarnation);
	if (rc != 0) {
		snprintf(err, errlen, "cannot write %s/%s: %s", cfg->dir, KR_INCARNATION_FILE,
			 strerror(-rc));
		return rc;
	}
	rs->unsafe_admit = kr_file_exists(cfg->fs, cfg->dir, KR_ADMIT_FILE);
	if (rs->unsafe_admit && (rc = kr_remove_file(cfg->fs, cfg->dir, KR_REPAIR_FILE)) != 0) {
		snprintf(err, errlen, "cannot remove %s/%s: %s", cfg->dir, KR_REPAIR_FILE,
			 strerror(-rc));
		return rc;
	}
	rc = kr_marker_read(cfg->fs, cfg->dir, KR_REPAIR_FILE, &rs->repair_target);
	rs->repair_carried = rc == 0;
	if (rc != 0 && rc != -ENOENT) {
		snprintf(err, errlen, "%s/%s: %s", cfg->dir, KR_REPAIR_FILE, strerror(-rc));
		return rc;
	}
	if (kr_datadir_log_path(cfg->dir, rs->log_path, sizeof(rs->log_path)) != 0) {
		snprintf(err, errlen, "%s: path too long", cfg->dir);
		return -ENAMETOOLONG;
	}
	if (cfg->durability == KR_LOG_DISK) {
		rc = kr_mkdir_durable(cfg->fs, rs->log_path);
		if (rc != 0) {
			snprintf(err, errlen, "cannot create %s: %s", rs->log_path, strerror(-rc));
			return rc;
		}
		if (cfg->before_log_open != NULL &&
		    (rc = cfg->before_log_open(cfg->arg, rs->log_path)) != 0) {
			snprintf(err, errlen, "%s: not opened (%s)", rs->log_path, strerror(-rc));
			return rc;
		}
		lc.dir = rs->log_path;
	}
	rc = kr_log_open(&lc, &rs->log, &rs->rep, err, errlen);
	if (rc != 0)
		return rc;
	if (rs->rep.outcome == KR_LOG_MID_CORRUPT) {
		/* the marker is durable before anything discards the damaged range */
		if (rs->rep.last_valid_end_offset > rs->repair_target)
			rs->repair_target = rs->rep.last_valid_end_offset;
		rc = kr_marker_write(cfg->fs, cfg->dir, KR_REPAIR_FILE, rs->repair_target);
		if (rc != 0) {
			snprintf(err, errlen, "cannot write the repair marker %s/%s: %s", cfg->dir,
				 KR_REPAIR_FILE, strerror(-rc));
			kr_log_close(rs->log);
			rs->log = NULL;
			return rc;
		}
	}
	return 0;
}

void
kr_restart_election(const struct kr_restart *rs, const struct kr_restart_config *cfg, bool joining,
		    struct kr_election_start *st)
{
	st->qs = rs->qs;
	st->log_last_epoch = kr_log_last_epoch(rs->log);
	/* an initial voter's directory that never left epoch 0 checks its first start */
	st->first_start = rs->has_boot && !joining && rs->qs.epoch == 0 &&
			  kr_log_end(rs->log) == 0 && rs->repair_target == 0 && !rs->unsafe_admit;
	st->vote_blocked =
		!rs->unsafe_admit &&
		((cfg->durability == KR_LOG_MEMORY && rs->qs.epoch > 0) || rs->repair_target > 0);
}

int
kr_restart_admitted(const struct kr_restart_config *cfg)
{
	return kr_remove_file(cfg->fs, cfg->dir, KR_ADMIT_FILE);
}

int
kr_restart_repaired(const struct kr_restart_config *cfg)
{
	return kr_remove_file(cfg->fs, cfg->dir, KR_REPAIR_FILE);
}
