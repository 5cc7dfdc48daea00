/* kraftd fuzz target: log recovery against record values an attacker chose. The input is
 * cut into the values of real batches (the log's own builder, offsets 0, 1, 2, ...); the
 * last batch is then damaged the way a crash damages a last write: cut short anywhere, or
 * whole with its bytes flipped. Oracles: that is always a torn tail (nothing valid after
 * the damage), the good prefix is every batch but the last, and no offset the scan
 * reports comes from inside a record value.
 * Input: byte 0 how many batches (1..8) and the kind of damage; bytes 1..2 where; the
 * rest the values, split evenly. */
#include <stdlib.h>
#include <string.h>

#include "kraft/le.h"
#include "kraft/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define VALUE_MAX 4096

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t log[8 * (KR_BATCH_HDR_BYTES + 4 + VALUE_MAX)], rec[4 + VALUE_MAX];
	struct kr_scan_result r;
	size_t len = 0, last = 0, each, cut;
	unsigned k, where;

	if (size < 3)
		return 0;
	k = (data[0] & 7) + 1;
	where = kr_get_le16(data + 1);
	data += 3;
	size -= 3;
	each = size / k;
	if (each > VALUE_MAX)
		each = VALUE_MAX;
	for (unsigned i = 0; i < k; i++) {
		struct kr_batch_hdr h = {.base_offset = i, .epoch = 1 + i / 3};
		int n;

		kr_put_le32(rec, (uint32_t)each);
		memcpy(rec + 4, data + i * each, each);
		n = kr_batch_build(log + len, sizeof(log) - len, &h, rec, 4 + (uint32_t)each, 1);
		if (n < 0)
			abort();
		last = len;
		len += (size_t)n;
	}
	if (data[-3] & 0x80) {
		/* whole, but a byte of it wrong (its header's length, offset, epoch and count
		 * stay: the header says which batch it was) */
		size_t at = 24 + where % (len - last - 24);

		log[last + at] ^= 0x5a;
		cut = len;
	} else {
		/* cut short somewhere in the last batch */
		cut = last + 1 + where % (len - last - 1);
	}
	kr_log_scan(log, cut, 0, 0, NULL, NULL, &r);
	if (!r.bad || r.good_bytes != last || r.end_offset != k - 1 || r.valid_after_bad)
		abort();
	return 0;
}
