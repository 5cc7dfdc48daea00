/* kraftd fuzz target: one body decoder, chosen at build time by FUZZ_API. The input is a
 * body; it is sealed into a valid frame first so every input reaches the decoder.
 * Oracle: a body that decodes re-encodes to exactly the same bytes. */
#include <stdlib.h>
#include <string.h>

#include "kraft/wire.h"
#include "samples.h"

#ifndef FUZZ_API
#error "build with -DFUZZ_API=KR_API_xxx"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t frame[KR_MSG_MAX], again[KR_MSG_MAX]; /* a message, whole */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kr_frame_hdr h;
	struct kr_frame f;
	struct kr_msg m;
	int n, back;

	if (size > KR_WIRE_BODY_MAX)
		return 0;
	smp_hdr(&h);
	h.api = FUZZ_API;
	memcpy(frame + KR_WIRE_HDR_BYTES, data, size);
	n = kr_frame_seal(frame, sizeof(frame), &h, (uint32_t)size);
	if (n < 0 || kr_frame_decode(&smp_ctx, frame, (size_t)n, &f) != 0)
		abort();
	if (kr_msg_decode_as(&f, FUZZ_API, &m) != 0)
		return 0;
	back = kr_frame_encode(again, sizeof(again), &h, &m);
	if (back != n || memcmp(again, frame, (size_t)n) != 0)
		abort();
	return 0;
}
