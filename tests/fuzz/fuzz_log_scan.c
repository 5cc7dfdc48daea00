/* kraftd fuzz target: the log recovery scan over arbitrary segment bytes.
 * Oracles: the good prefix is exactly the batches the callback saw, each of which
 * checks out; a clean scan covers the input; a resync point holds a valid batch past
 * the damage; rescanning the good prefix alone finds nothing bad. */
#include <stdlib.h>
#include <string.h>

#include "kraft/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
	const uint8_t *buf;
	uint64_t next_pos;
	uint64_t batches;
};

static int
on_batch(void *arg, const struct kr_batch_hdr *h, uint64_t pos)
{
	struct seen *s = arg;
	struct kr_batch_hdr again;

	if (pos != s->next_pos || kr_batch_check(s->buf + pos, h->length, &again) != 0)
		abort();
	s->next_pos = pos + h->length;
	s->batches++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kr_scan_result r, r2;
	struct seen s = {data, 0, 0};
	struct kr_batch_hdr h;

	kr_log_scan(data, size, 0, 0, on_batch, &s, &r);
	if (r.good_bytes != s.next_pos || r.batches != s.batches || r.good_bytes > size)
		abort();
	if (r.bad != (r.good_bytes < size))
		abort();
	if (r.valid_after_bad) {
		if (r.resync_pos < r.good_bytes || r.resync_pos >= size ||
		    kr_batch_check(data + r.resync_pos, size - r.resync_pos, &h) != 0 ||
		    h.base_offset != r.resync_offset || h.base_offset < r.end_offset)
			abort();
	}
	kr_log_scan(data, r.good_bytes, 0, 0, NULL, NULL, &r2);
	if (r2.bad || r2.end_offset != r.end_offset || r2.last_epoch != r.last_epoch)
		abort();
	return 0;
}
