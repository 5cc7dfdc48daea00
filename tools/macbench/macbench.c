/* macbench: what a frame's checks cost on this machine, per frame size: libsodium's
 * candidate frame MACs, then kraftd's CRC32C.
 * kraftd MACs frames with keyed BLAKE2b-128 (dataplane/wire/auth.c); this prints, for the
 * same inputs, that and the faster MACs libsodium offers, to weigh a change of MAC:
 *   blake2b_keyed  crypto_generichash, 32-byte key, 16-byte output (what kraftd uses)
 *   blake2b_kept   the same from a keyed state copied per frame (no gain expected:
 *                  libsodium keeps the key block unprocessed until more input comes)
 *   siphash128     crypto_shorthash_siphashx24 (SipHash-2-4, 16-byte key and output)
 *   poly1305       crypto_onetimeauth (needs a fresh key per frame in real use)
 * Then kraftd's CRC32C (dataplane/wire/crc32c.c) over 64 B to 4 KiB: kr_crc32c (the
 * SSE4.2 instruction where the CPU has it) and kr_crc32c_sw (the tables).
 * Usage: macbench [FRAMES (400000)]. Output: one JSON line per size, ns per frame. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "kraft/crc32c.h"

static long long
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ll + t.tv_nsec;
}

int
main(int argc, char **argv)
{
	static const size_t sizes[] = {96, 256, 1472};
	static unsigned char buf[4096];
	unsigned char key[32], out[16];
	crypto_generichash_state keyed, st;
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 400000;
	unsigned sink = 0;

	if (argc > 2 || n <= 0 || sodium_init() < 0) {
		fprintf(stderr, "usage: macbench [FRAMES (400000)]\n");
		return 2;
	}
	randombytes_buf(key, sizeof(key));
	randombytes_buf(buf, sizeof(buf));
	crypto_generichash_init(&keyed, key, sizeof(key), sizeof(out));
	for (unsigned s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t len = sizes[s];
		long long t[5];

		t[0] = now_ns();
		for (long i = 0; i < n; i++, buf[0]++) {
			crypto_generichash(out, sizeof(out), buf, len, key, sizeof(key));
			sink += out[0];
		}
		t[1] = now_ns();
		for (long i = 0; i < n; i++, buf[0]++) {
			memcpy(&st, &keyed, sizeof(st));
			crypto_generichash_update(&st, buf, len);
			crypto_generichash_final(&st, out, sizeof(out));
			sink += out[0];
		}
		t[2] = now_ns();
		for (long i = 0; i < n; i++, buf[0]++) {
			crypto_shorthash_siphashx24(out, buf, len, key);
			sink += out[0];
		}
		t[3] = now_ns();
		for (long i = 0; i < n; i++, buf[0]++) {
			crypto_onetimeauth(out, buf, len, key);
			sink += out[0];
		}
		t[4] = now_ns();
		printf("{\"bytes\": %zu, \"blake2b_keyed\": %.0f, \"blake2b_kept\": %.0f, "
		       "\"siphash128\": %.0f, \"poly1305\": %.0f}\n",
		       len, (double)(t[1] - t[0]) / n, (double)(t[2] - t[1]) / n,
		       (double)(t[3] - t[2]) / n, (double)(t[4] - t[3]) / n);
	}
	static const size_t crc_sizes[] = {64, 256, 1152, 1472, 4096};
	for (unsigned s = 0; s < sizeof(crc_sizes) / sizeof(crc_sizes[0]); s++) {
		size_t len = crc_sizes[s];
		long long t[3];

		t[0] = now_ns();
		for (long i = 0; i < n; i++, buf[0]++)
			sink += kr_crc32c(0, buf, len);
		t[1] = now_ns();
		for (long i = 0; i < n; i++, buf[0]++)
			sink += kr_crc32c_sw(0, buf, len);
		t[2] = now_ns();
		printf("{\"bytes\": %zu, \"crc32c\": %.1f, \"crc32c_table\": %.1f}\n", len,
		       (double)(t[1] - t[0]) / n, (double)(t[2] - t[1]) / n);
	}
	return sink == 1 ? 1 : 0; /* keeps the MACs and CRCs from being optimised away */
}
