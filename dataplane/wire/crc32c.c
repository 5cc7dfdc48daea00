/* kraftd: CRC32C (Castagnoli polynomial 0x1EDC6F41, reflected 0x82F63B78).
 * Slicing-by-8 tables for any CPU; the SSE4.2 crc32 instruction on x86-64 when present.
 *
 * The instruction takes 3 cycles and can start one per cycle: one chain of them runs at a
 * third of what the unit can do. Buffers of CRC_ROUND bytes or more are therefore cut into
 * rounds of three equal lanes, each lane's CRC computed in its own chain (the three
 * interleaved), and the lanes joined: the CRC register is linear over GF(2), so the
 * register after lanes a, b, c is shift(shift(A) ^ B) ^ C, where A is the register after a
 * from the running value, B and C those after b and c from 0, and shift() the effect of
 * CRC_LANE zero bytes on a register, itself linear: four 256-entry tables. Same results
 * as the table code for every input (tests/test_crc32c.c); a 1 KiB frame's CRC about
 * twice as fast (tools/macbench prints both). */
#include <string.h>

#include "kraft/crc32c.h"

#define CRC32C_POLY_REFLECTED 0x82F63B78u
#define CRC_LANE 128u		  /* bytes per lane, a multiple of 8 */
#define CRC_ROUND (3u * CRC_LANE) /* bytes per round of three lanes */

static uint32_t crc_table[8][256];
static uint32_t crc_shift[4][256]; /* a register's byte k -> its part after CRC_LANE zeros */
static int crc_hw = -1;		   /* -1: not probed yet; 0 or 1 after kr_crc32c_init() */

__attribute__((constructor)) static void
kr_crc32c_init(void)
{
	for (uint32_t n = 0; n < 256; n++) {
		uint32_t c = n;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ CRC32C_POLY_REFLECTED : c >> 1;
		crc_table[0][n] = c;
	}
	for (uint32_t n = 0; n < 256; n++)
		for (int t = 1; t < 8; t++)
			crc_table[t][n] = (crc_table[t - 1][n] >> 8) ^
					  crc_table[0][crc_table[t - 1][n] & 0xff];
	uint32_t bit[32]; /* the shift of each single-bit register (raw: no inversion) */

	for (int i = 0; i < 32; i++) {
		uint32_t c = 1u << i;

		for (unsigned z = 0; z < CRC_LANE; z++)
			c = (c >> 8) ^ crc_table[0][c & 0xff];
		bit[i] = c;
	}
	for (int k = 0; k < 4; k++)
		for (uint32_t n = 0; n < 256; n++) {
			uint32_t c = 0;

			for (int i = 0; i < 8; i++)
				if (n & (1u << i))
					c ^= bit[8 * k + i];
			crc_shift[k][n] = c;
		}
#if defined(__x86_64__)
	__builtin_cpu_init();
	crc_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
	crc_hw = 0;
#endif
}

uint32_t
kr_crc32c_sw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	crc = ~crc;
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		w ^= crc; /* little-endian: the low 4 bytes take the running crc */
		crc = crc_table[7][w & 0xff] ^ crc_table[6][(w >> 8) & 0xff] ^
		      crc_table[5][(w >> 16) & 0xff] ^ crc_table[4][(w >> 24) & 0xff] ^
		      crc_table[3][(w >> 32) & 0xff] ^ crc_table[2][(w >> 40) & 0xff] ^
		      crc_table[1][(w >> 48) & 0xff] ^ crc_table[0][w >> 56];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}

#if defined(__x86_64__)
/* A raw register after CRC_LANE more zero bytes */
static inline uint32_t
crc_lane_shift(uint32_t c)
{
	return crc_shift[0][c & 0xff] ^ crc_shift[1][(c >> 8) & 0xff] ^
	       crc_shift[2][(c >> 16) & 0xff] ^ crc_shift[3][c >> 24];
}

__attribute__((target("sse4.2"))) static uint32_t
crc32c_hw(uint32_t crc, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t c = (uint32_t)~crc;

	while (len >= CRC_ROUND) { /* three lanes, three chains */
		uint64_t b = 0, d = 0;

		for (unsigned i = 0; i < CRC_LANE; i += 8) {
			uint64_t w0, w1, w2;

			memcpy(&w0, p + i, 8);
			memcpy(&w1, p + CRC_LANE + i, 8);
			memcpy(&w2, p + 2 * CRC_LANE + i, 8);
			c = __builtin_ia32_crc32di(c, w0);
			b = __builtin_ia32_crc32di(b, w1);
			d = __builtin_ia32_crc32di(d, w2);
		}
		c = crc_lane_shift(crc_lane_shift((uint32_t)c) ^ (uint32_t)b) ^ (uint32_t)d;
		p += CRC_ROUND;
		len -= CRC_ROUND;
	}
	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	uint32_t c32 = (uint32_t)c;

	/* the last 0-7 bytes in at most three steps, not one a byte: the frame header's
	 * 44 summed bytes end in 4 */
	if (len & 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		c32 = __builtin_ia32_crc32si(c32, w);
		p += 4;
	}
	if (len & 2) {
		uint16_t w;

		memcpy(&w, p, 2);
		c32 = __builtin_ia32_crc32hi(c32, w);
		p += 2;
	}
	if (len & 1)
		c32 = __builtin_ia32_crc32qi(c32, *p);
	return ~c32;
}
#endif

uint32_t
kr_crc32c(uint32_t crc, const void *buf, size_t len)
{
#if defined(__x86_64__)
	if (crc_hw == 1)
		return crc32c_hw(crc, buf, len);
#endif
	return kr_crc32c_sw(crc, buf, len);
}

int
kr_crc32c_hw_available(void)
{
	return crc_hw == 1;
}
