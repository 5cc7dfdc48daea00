/* kraftd: what every state machine shares: the list of them, and a batch's records
 * handed to one; see include/kraft/sm.h. */
#include <string.h>

#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/sm.h"

static const struct kr_sm_ops *const all[] = {&kr_sm_digest, &kr_sm_kv};

const struct kr_sm_ops *
kr_sm_find(const char *name)
{
	for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(all[i]->name, name) == 0)
			return all[i];
	return NULL;
}

const char *
kr_sm_names(void)
{
	return "digest, kv";
}

uint32_t
kr_sm_apply_batch(const struct kr_sm_ops *ops, void *sm, const uint8_t *p, uint32_t len,
		  uint64_t from)
{
	struct kr_batch_hdr h;
	uint32_t pos = KR_BATCH_HDR_BYTES, n = 0;

	kr_batch_hdr_get(p, &h);
	if (kr_batch_control_type(h.attributes) >= 0)
		return 0;
	for (uint32_t i = 0; i < h.record_count && pos + KR_RECORD_HDR_BYTES <= len; i++) {
		uint32_t v = kr_get_le32(p + pos);

		pos += KR_RECORD_HDR_BYTES;
		if (v > len - pos)
			break; /* cannot happen in a checked batch */
		if (h.base_offset + i >= from) {
			ops->apply(sm, h.base_offset + i, p + pos, v);
			n++;
		}
		pos += v;
	}
	return n;
}
