/* kraftd fuzz target: the frame decoder and, for frames that pass, the body decoder.
 * Oracle: a frame that decodes re-encodes to exactly the same bytes (the format has one
 * encoding per message), with and without the receiver's identity check. */
#include <stdlib.h>
#include <string.h>

#include "kraft/wire.h"
#include "samples.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t again[KR_MSG_MAX]; /* a message put together is as large */

static void
check(const struct kr_wire_ctx *ctx, const uint8_t *data, size_t size)
{
	struct kr_frame f;
	struct kr_msg m;
	size_t auth;

	if (kr_frame_decode(ctx, data, size, &f) != 0)
		return;
	auth = f.auth ? KR_WIRE_AUTH_BYTES : 0;
	if (f.body != data + KR_WIRE_HDR_BYTES ||
	    (size_t)KR_WIRE_HDR_BYTES + f.body_len + auth != size)
		abort();
	if (kr_msg_decode(&f, &m) != 0)
		return;

	int n = kr_frame_encode(again, sizeof(again), &f.hdr, &m);

	if (n < 0 || (size_t)n != size || memcmp(again, data, size - auth) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check(&smp_ctx, data, size);
	check(NULL, data, size);
	return 0;
}
