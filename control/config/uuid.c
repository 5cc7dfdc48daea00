/* kraftd: 128-bit ids and their base64url text form (see include/kraft/uuid.h). */
#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "kraft/uuid.h"

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

void
kr_uuid_format(const uint8_t id[KR_UUID_BYTES], char out[KR_UUID_TEXT_LEN + 1])
{
	uint32_t acc = 0;
	int bits = 0, o = 0;

	for (int i = 0; i < KR_UUID_BYTES; i++) {
		acc = (acc << 8) | id[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[o++] = alphabet[(acc >> bits) & 63];
		}
	}
	out[o++] = alphabet[(acc << (6 - bits)) & 63]; /* 128 = 21 * 6 + 2: 2 bits left */
	out[o] = '\0';
}

static int
digit(char c)
{
	const char *p = c ? strchr(alphabet, c) : NULL;

	return p ? (int)(p - alphabet) : -1;
}

int
kr_uuid_parse(const char *text, uint8_t id[KR_UUID_BYTES])
{
	uint32_t acc = 0;
	int bits = 0, o = 0;

	if (strlen(text) != KR_UUID_TEXT_LEN)
		return -EINVAL;
	for (int i = 0; i < KR_UUID_TEXT_LEN; i++) {
		int d = digit(text[i]);

		if (d < 0)
			return -EINVAL;
		acc = (acc << 6) | (uint32_t)d;
		bits += 6;
		if (bits >= 8 && o < KR_UUID_BYTES) {
			bits -= 8;
			id[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (o != KR_UUID_BYTES || (acc & ((1u << bits) - 1)) != 0)
		return -EINVAL; /* the last character's 4 spare bits must be zero */
	return kr_uuid_is_zero(id) ? -EINVAL : 0;
}

int
kr_uuid_random(uint8_t id[KR_UUID_BYTES])
{
	do {
		size_t got = 0;

		while (got < KR_UUID_BYTES) {
			ssize_t n = getrandom(id + got, KR_UUID_BYTES - got, 0);

			if (n < 0) {
				if (errno == EINTR)
					continue;
				return -errno;
			}
			got += (size_t)n;
		}
	} while (kr_uuid_is_zero(id));
	return 0;
}
