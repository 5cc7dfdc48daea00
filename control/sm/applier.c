/* kraftd: the applier: the committed log applied in order to a state machine, with
 * what a snapshot of it needs (the voter set in force, the committed log's producer
 * table, the last record's epoch and time), and when to take one; see
 * include/kraft/applier.h. No clock (times are given), no threads; file I/O only in
 * kr_applier_write, through a file system table. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/applier.h"
#include "kraft/le.h"
#include "kraft/log.h"

int
kr_applier_init(struct kr_applier *a, const struct kr_sm_ops *ops, int64_t window_us)
{
	*a = (struct kr_applier){.ops = ops, .window_us = window_us};
	a->sm = ops->create();
	a->producers = malloc(sizeof(*a->producers));
	if (a->sm == NULL || a->producers == NULL) {
		kr_applier_free(a);
		return -ENOMEM;
	}
	kr_producers_reset(a->producers);
	return 0;
}

void
kr_applier_free(struct kr_applier *a)
{
	if (a->sm != NULL)
		a->ops->destroy(a->sm);
	free(a->producers);
	a->sm = NULL;
	a->producers = NULL;
}

int
kr_applier_load(struct kr_applier *a, const struct kr_fs *fs, const char *dir,
		const uint8_t *cluster_id, int64_t wall_us, struct kr_sm_loaded *l)
{
	int rc = kr_sm_snapshot_load_newest(fs, dir, cluster_id, a->ops, a->producers, a->window_us,
					    wall_us, l);

	if (rc != 0)
		return rc;
	if (l->voters_len > sizeof(a->voters)) {
		kr_sm_loaded_free(a->ops, l);
		kr_producers_reset(a->producers);
		return -EBADMSG;
	}
	a->ops->destroy(a->sm);
	a->sm = l->sm;
	l->sm = NULL;
	memcpy(a->voters, l->voters, l->voters_len);
	a->voters_len = l->voters_len;
	a->next = l->meta.id.end_offset;
	a->last_epoch = l->meta.id.epoch;
	a->last_us = l->meta.last_timestamp_us;
	a->bytes_since = 0;
	a->snapshot = l->meta.id;
	kr_sm_loaded_free(a->ops, l);
	return 0;
}

int
kr_applier_batch(struct kr_applier *a, const uint8_t *p, uint32_t len)
{
	struct kr_batch_hdr h;
	uint64_t end;
	int ct;

	if (len < KR_BATCH_HDR_BYTES)
		return -EINVAL;
	kr_batch_hdr_get(p, &h);
	end = h.base_offset + h.record_count;
	if (h.length != len || h.base_offset > a->next)
		return -EINVAL; /* a gap: what it was given is not the log in order */
	if (end <= a->next)
		return 0; /* applied already (a snapshot's end lies past it) */
	ct = kr_batch_control_type(h.attributes);
	if (ct == KR_CONTROL_VOTERS) {
		/* the set in force from here on: one record, a voters record's value */
		uint32_t v = kr_get_le32(p + KR_BATCH_HDR_BYTES);

		if (v > sizeof(a->voters) || v > len - KR_BATCH_HDR_BYTES - KR_RECORD_HDR_BYTES)
			return -EBADMSG;
		memcpy(a->voters, p + KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES, v);
		a->voters_len = v;
	} else if (ct < 0) {
		if (h.producer_id != 0) /* the batch's own time is the clock here */
			kr_producers_record(a->producers, a->window_us, h.producer_id, h.sequence,
					    h.base_offset, h.record_count, h.timestamp_us,
					    h.timestamp_us);
		kr_sm_apply_batch(a->ops, a->sm, p, len, a->next);
		a->bytes_since += len;
	}
	a->next = end;
	a->last_epoch = h.epoch;
	if (h.timestamp_us > a->last_us)
		a->last_us = h.timestamp_us;
	a->batches++;
	return 0;
}

bool
kr_applier_due(const struct kr_applier *a, uint64_t bytes_between, int64_t interval_us,
	       int64_t since_us, int64_t now_us)
{
	if (a->next == 0 || a->next == a->snapshot.end_offset)
		return false; /* nothing new since the last one */
	return (bytes_between > 0 && a->bytes_since >= bytes_between) ||
	       (interval_us > 0 && now_us - since_us >= interval_us);
}

int
kr_applier_freeze(struct kr_applier *a, const uint8_t *cluster_id, struct kr_applier_image *img)
{
	*img = (struct kr_applier_image){.ops = a->ops};
	if (a->next == 0)
		return -ENODATA;
	img->frozen = a->ops->freeze(a->sm);
	img->producers = malloc(sizeof(*img->producers));
	if (img->frozen == NULL || img->producers == NULL) {
		kr_applier_image_free(img);
		return -ENOMEM;
	}
	memcpy(img->producers, a->producers, sizeof(*img->producers));
	memcpy(img->voters, a->voters, a->voters_len);
	img->voters_len = a->voters_len;
	img->meta.id = (struct kr_snap_id){a->next, a->last_epoch};
	memcpy(img->meta.cluster_id, cluster_id, KR_UUID_BYTES);
	img->meta.last_timestamp_us = a->last_us;
	strncpy(img->meta.sm_name, a->ops->name, KR_SNAP_SM_NAME_BYTES);
	img->window_us = a->window_us;
	/* counted as taken now: the writer may take a while, and the next one is due
	 * from here */
	a->snapshot = img->meta.id;
	a->bytes_since = 0;
	return 0;
}

int
kr_applier_write(const struct kr_applier_image *img, const struct kr_fs *fs, const char *dir,
		 uint8_t *piece, uint32_t cap)
{
	struct kr_sm_extras x = {
		.voters = img->voters,
		.voters_len = img->voters_len,
		.producers = img->producers,
		/* the producers a retry may still name: the window before the last record */
		.producers_since_us = img->meta.last_timestamp_us - img->window_us,
	};

	int rc = kr_sm_snapshot_write(fs, dir, &img->meta, img->ops, img->frozen, &x, piece, cap);

	/* one of that id is there already (taken from a leader): the same committed state */
	return rc == -EEXIST ? 0 : rc;
}

void
kr_applier_image_free(struct kr_applier_image *img)
{
	if (img->frozen != NULL)
		img->ops->destroy(img->frozen);
	free(img->producers);
	img->frozen = NULL;
	img->producers = NULL;
}
