/* kraftd: the digest state machine: a running hash of every record and the counts (see
 * include/kraft/sm.h). Two nodes that applied the same records to the same offset hold
 * equal states, so kraftsim and the tests compare it with the ground truth. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/crc32c.h"
#include "kraft/le.h"
#include "kraft/sm.h"
#include "sm_int.h"

struct digest {
	uint64_t records, bytes, last_offset, hash;
};

#define IMAGE_BYTES 32

static void *
create(void)
{
	return calloc(1, sizeof(struct digest));
}

static void
destroy(void *sm)
{
	free(sm);
}

static void
apply(void *sm, uint64_t offset, const uint8_t *value, uint32_t len)
{
	struct digest *d = sm;

	/* order matters here (a log is a sequence): each step folds the last hash in */
	d->hash = sm_mix(d->hash ^ sm_mix(offset + 1) ^
			 ((uint64_t)kr_crc32c(0, value, len) << 32 | len));
	d->records++;
	d->bytes += len;
	d->last_offset = offset;
}

static uint64_t
digest(const void *sm)
{
	const struct digest *d = sm;

	return d->records == 0 ? 0 : sm_mix(d->hash ^ d->records);
}

static uint64_t
bytes(const void *sm)
{
	(void)sm;
	return sizeof(struct digest);
}

static void *
freeze(const void *sm)
{
	struct digest *f = malloc(sizeof(*f));

	if (f != NULL)
		*f = *(const struct digest *)sm;
	return f;
}

static uint32_t
image_next(const void *frozen, uint64_t *cursor, uint8_t *buf, uint32_t cap)
{
	const struct digest *d = frozen;

	if (*cursor != 0 || cap < IMAGE_BYTES)
		return 0;
	kr_put_le64(buf, d->records);
	kr_put_le64(buf + 8, d->bytes);
	kr_put_le64(buf + 16, d->last_offset);
	kr_put_le64(buf + 24, d->hash);
	*cursor = 1;
	return IMAGE_BYTES;
}

static int
load(void *sm, const uint8_t *piece, uint32_t len)
{
	struct digest *d = sm;

	if (len != IMAGE_BYTES || d->records != 0)
		return -EBADMSG; /* one piece, into an empty state */
	d->records = kr_get_le64(piece);
	d->bytes = kr_get_le64(piece + 8);
	d->last_offset = kr_get_le64(piece + 16);
	d->hash = kr_get_le64(piece + 24);
	if (d->records == 0 && (d->bytes != 0 || d->hash != 0))
		return -EBADMSG;
	return 0;
}

const struct kr_sm_ops kr_sm_digest = {
	.name = "digest",
	.create = create,
	.destroy = destroy,
	.apply = apply,
	.digest = digest,
	.bytes = bytes,
	.freeze = freeze,
	.image_next = image_next,
	.load = load,
};
