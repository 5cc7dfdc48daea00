/* kraftd: record batches: build, check, restamp. The format is in include/kraft/log.h. */
#include <errno.h>
#include <string.h>

#include "kraft/crc32c.h"
#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/wire.h"

#define B_CRC 0
#define B_LENGTH 4
#define B_BASE 8
#define B_EPOCH 16
#define B_COUNT 20
#define B_ATTRS 22
#define B_PRODUCER 24
#define B_SEQUENCE 32
#define B_TIMESTAMP 40

_Static_assert(B_TIMESTAMP + 8 == KR_BATCH_HDR_BYTES, "batch header layout");
_Static_assert(KR_BATCH_RECORDS_MAX <= UINT16_MAX, "record_count is a u16");

void
kr_batch_hdr_get(const uint8_t *p, struct kr_batch_hdr *h)
{
	h->crc = kr_get_le32(p + B_CRC);
	h->length = kr_get_le32(p + B_LENGTH);
	h->base_offset = kr_get_le64(p + B_BASE);
	h->epoch = kr_get_le32(p + B_EPOCH);
	h->record_count = kr_get_le16(p + B_COUNT);
	h->attributes = kr_get_le16(p + B_ATTRS);
	h->producer_id = kr_get_le64(p + B_PRODUCER);
	h->sequence = kr_get_le64(p + B_SEQUENCE);
	h->timestamp_us = (int64_t)kr_get_le64(p + B_TIMESTAMP);
}

int
kr_batch_check(const uint8_t *p, size_t avail, struct kr_batch_hdr *h)
{
	if (avail < KR_BATCH_HDR_BYTES)
		return -EAGAIN;
	kr_batch_hdr_get(p, h);
	if (h->length < KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES || h->length > KR_BATCH_BYTES_MAX)
		return -EBADMSG;
	if (h->length > avail)
		return -EAGAIN;
	if (kr_crc32c(0, p + 4, h->length - 4) != h->crc)
		return -EBADMSG;
	if (h->epoch == 0 || !kr_batch_attributes_valid(h->attributes) ||
	    h->base_offset > KR_OFFSET_MAX - h->record_count)
		return -EBADMSG;
	if (kr_records_check(p + KR_BATCH_HDR_BYTES, h->length - KR_BATCH_HDR_BYTES,
			     h->record_count) != 0)
		return -EBADMSG;
	return 0;
}

static void
batch_seal(uint8_t *b, uint32_t length)
{
	kr_put_le32(b + B_CRC, kr_crc32c(0, b + 4, length - 4));
}

int
kr_batch_build(uint8_t *buf, size_t cap, const struct kr_batch_hdr *h, const uint8_t *records,
	       uint32_t records_len, uint32_t count)
{
	if (count > KR_BATCH_RECORDS_MAX || records_len > KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES)
		return -EMSGSIZE;
	if (count == 0 || kr_records_check(records, records_len, count) != 0)
		return -EINVAL;

	uint32_t length = KR_BATCH_HDR_BYTES + records_len;
	uint8_t hdr[KR_BATCH_HDR_BYTES];

	if (cap < length)
		return -ENOSPC;
	/* The header is built and summed aside and the records summed where they come from:
	 * nothing is read back from buf. (Read back, buf's lines, fresh from another core's
	 * prefault at a log's end, made the sum wait for the stores to reach the cache.) */
	kr_put_le32(hdr + B_LENGTH, length);
	kr_put_le64(hdr + B_BASE, h->base_offset);
	kr_put_le32(hdr + B_EPOCH, h->epoch);
	kr_put_le16(hdr + B_COUNT, (uint16_t)count);
	kr_put_le16(hdr + B_ATTRS, h->attributes);
	kr_put_le64(hdr + B_PRODUCER, h->producer_id);
	kr_put_le64(hdr + B_SEQUENCE, h->sequence);
	kr_put_le64(hdr + B_TIMESTAMP, (uint64_t)h->timestamp_us);
	kr_put_le32(hdr + B_CRC,
		    kr_crc32c(kr_crc32c(0, hdr + 4, KR_BATCH_HDR_BYTES - 4), records, records_len));
	memmove(buf + KR_BATCH_HDR_BYTES, records, records_len); /* records may lie in buf */
	memcpy(buf, hdr, KR_BATCH_HDR_BYTES);
	return (int)length;
}

void
kr_batch_restamp(uint8_t *batch, uint64_t base_offset, uint32_t epoch)
{
	kr_put_le64(batch + B_BASE, base_offset);
	kr_put_le32(batch + B_EPOCH, epoch);
	batch_seal(batch, kr_get_le32(batch + B_LENGTH));
}
