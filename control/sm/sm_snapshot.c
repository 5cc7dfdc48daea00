/* kraftd: a state machine's snapshot taken and loaded: the snapshot file's chunks
 * (include/kraft/snapshot.h) filled from a frozen state and the node's extras, and the
 * newest whole snapshot found and loaded at start; see include/kraft/sm.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/sm.h"
#include "kraft/snapshot.h"

int
kr_sm_snapshot_write(const struct kr_fs *fs, const char *dir, const struct kr_snap_meta *m,
		     const struct kr_sm_ops *ops, const void *frozen, const struct kr_sm_extras *x,
		     uint8_t *piece, uint32_t cap)
{
	struct kr_snap_writer w;
	uint64_t cursor = 0;
	uint32_t n, pcursor = 0;
	int rc;

	if (cap < KR_SM_PIECE_MIN || cap > KR_SNAP_CHUNK_MAX || x->voters_len > KR_SNAP_CHUNK_MAX)
		return -EINVAL;
	rc = kr_snap_write_begin(&w, fs, dir, m);
	if (rc != 0)
		return rc;
	rc = kr_snap_write_chunk(&w, KR_SNAP_VOTERS, x->voters, x->voters_len);
	while (rc == 0 && x->producers != NULL &&
	       (n = kr_producers_image_next(x->producers, x->producers_since_us, &pcursor, piece,
					    cap)) > 0)
		rc = kr_snap_write_chunk(&w, KR_SNAP_PRODUCERS, piece, n);
	while (rc == 0 && (n = ops->image_next(frozen, &cursor, piece, cap)) > 0)
		rc = kr_snap_write_chunk(&w, KR_SNAP_STATE, piece, n);
	if (rc != 0) {
		kr_snap_write_abort(&w);
		return rc;
	}
	return kr_snap_write_end(&w);
}

void
kr_sm_loaded_free(const struct kr_sm_ops *ops, struct kr_sm_loaded *l)
{
	if (l->sm != NULL)
		ops->destroy(l->sm);
	free(l->voters);
	l->sm = NULL;
	l->voters = NULL;
}

static int
keep(uint8_t **dst, uint32_t *dst_len, const uint8_t *p, uint32_t len)
{
	uint8_t *c = malloc(len ? len : 1);

	if (c == NULL)
		return -ENOMEM;
	memcpy(c, p, len);
	free(*dst);
	*dst = c;
	*dst_len = len;
	return 0;
}

struct load_ctx {
	struct kr_producers *producers;
	int64_t window_us, wall_us;
};

/* One snapshot, whole or not at all: 0 with l filled, or -errno with why set */
static int
load_one(const struct kr_fs *fs, const char *dir, struct kr_snap_id id, const uint8_t *cluster_id,
	 const struct kr_sm_ops *ops, const struct load_ctx *c, uint8_t *buf,
	 struct kr_sm_loaded *l, char *why, size_t why_len)
{
	struct kr_snap_reader r;
	uint32_t type, len;
	int rc = kr_snap_open(&r, fs, dir, id, cluster_id, why, why_len);

	if (rc != 0)
		return rc;
	if (strcmp(r.meta.sm_name, ops->name) != 0) {
		snprintf(why, why_len,
			 "snapshot %" PRIu64 "-%" PRIu32 " holds state machine '%s', this node "
			 "runs '%s'",
			 id.end_offset, id.epoch, r.meta.sm_name, ops->name);
		kr_snap_close(&r);
		return -EMEDIUMTYPE; /* whole, but not this machine's: not set aside */
	}
	l->sm = ops->create();
	if (l->sm == NULL) {
		kr_snap_close(&r);
		return -ENOMEM;
	}
	while ((rc = kr_snap_next(&r, &type, buf, KR_SNAP_CHUNK_MAX, &len, why, why_len)) == 1) {
		rc = 0; /* a chunk not wanted (producers without a table) or not known */
		if (type == KR_SNAP_VOTERS)
			rc = keep(&l->voters, &l->voters_len, buf, len);
		else if (type == KR_SNAP_PRODUCERS && c->producers != NULL) {
			rc = kr_producers_load(c->producers, c->window_us, buf, len, c->wall_us);
			if (rc >= 0) {
				l->producers += (unsigned)rc;
				rc = 0;
			}
		} else if (type == KR_SNAP_STATE)
			rc = ops->load(l->sm, buf, len);
		if (rc != 0) {
			snprintf(why, why_len,
				 "snapshot %" PRIu64 "-%" PRIu32
				 ": a %s chunk that does not load (%s)",
				 id.end_offset, id.epoch,
				 type == KR_SNAP_STATE	  ? "state"
				 : type == KR_SNAP_VOTERS ? "voters"
							  : "producers",
				 strerror(-rc));
			break;
		}
	}
	l->meta = r.meta;
	kr_snap_close(&r);
	return rc;
}

int
kr_sm_snapshot_load_newest(const struct kr_fs *fs, const char *dir, const uint8_t *cluster_id,
			   const struct kr_sm_ops *ops, struct kr_producers *producers,
			   int64_t window_us, int64_t wall_us, struct kr_sm_loaded *l)
{
	const struct load_ctx c = {producers, window_us, wall_us};
	struct kr_snap_id ids[KR_SM_SNAPSHOTS_TRIED];
	uint8_t *buf;
	int n, rc = -ENOENT;

	*l = (struct kr_sm_loaded){0};
	n = kr_snap_list(fs, dir, ids, KR_SM_SNAPSHOTS_TRIED);
	if (n < 0)
		return n;
	if (n == 0)
		return -ENOENT;
	buf = malloc(KR_SNAP_CHUNK_MAX);
	if (buf == NULL)
		return -ENOMEM;
	/* the newest first; a damaged one is reported and the next older tried */
	for (int i = (n < KR_SM_SNAPSHOTS_TRIED ? n : KR_SM_SNAPSHOTS_TRIED) - 1; i >= 0; i--) {
		char why[256] = "";

		if (producers != NULL)
			kr_producers_reset(producers);
		l->producers = 0;
		rc = load_one(fs, dir, ids[i], cluster_id, ops, &c, buf, l, why, sizeof(why));
		if (rc == 0)
			break;
		kr_sm_loaded_free(ops, l);
		if (producers != NULL)
			kr_producers_reset(producers);
		/* a damaged one goes aside: the cleaner would count it as the newest and
		 * delete the older whole ones, and a leader could name it */
		if (rc == -EBADMSG && kr_snap_set_aside(fs, dir, ids[i]) == 0) {
			size_t k = strlen(why);

			snprintf(why + k, sizeof(why) - k, " (set aside as %s)",
				 KR_SNAP_DAMAGED_SUFFIX);
		}
		if (l->damaged < KR_SM_SNAPSHOTS_TRIED)
			snprintf(l->why[l->damaged], sizeof(l->why[0]), "%s", why);
		l->damaged++;
		if (rc == -ENOMEM)
			break;
		rc = -ENOENT;
	}
	free(buf);
	return rc;
}
