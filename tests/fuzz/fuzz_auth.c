/* kraftd fuzz target: frame authentication (include/kraft/auth.h) on arbitrary frames.
 * Oracles: checking any input never crashes; a frame sealed with the key is accepted
 * once, refused when sent again, and refused with any one byte of it changed. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "kraft/auth.h"
#include "kraft/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW (1700000000ll * 1000000)

static struct kr_auth rx, tx;
static uint8_t buf[KR_WIRE_UDP_PAYLOAD_MAX];

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct kr_frame f;

	if (!ready) {
		struct kr_auth_keys keys = {0};
		char err[128];

		if (sodium_init() < 0 || kr_auth_key_parse("000102030405060708090a0b0c0d0e0f"
							   "101112131415161718191a1b1c1d1e1f",
							   &keys.keys[0], err, sizeof(err)) != 0)
			abort();
		kr_auth_init(&rx, &keys, NOW);
		kr_auth_init(&tx, &keys, NOW);
		ready = true;
	}
	if (kr_frame_decode(NULL, data, size, &f) != 0)
		return 0;
	(void)kr_auth_accept(&rx, data, size, f.auth != NULL, f.hdr.sender_id, 7, NOW);
	if (f.auth == NULL || size > sizeof(buf))
		return 0;
	memcpy(buf, data, size);
	if (kr_auth_seal_next(&tx, buf, size, NOW) != 0)
		abort();
	if (!kr_auth_accept(&rx, buf, size, true, f.hdr.sender_id, 8, NOW) ||
	    kr_auth_accept(&rx, buf, size, true, f.hdr.sender_id, 8, NOW))
		abort();
	buf[data[0] % size] ^= (uint8_t)(1u << (data[size - 1] % 8));
	if (kr_auth_accept(&rx, buf, size, true, f.hdr.sender_id, 8, NOW))
		abort();
	return 0;
}
