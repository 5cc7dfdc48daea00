/* kraftd tests: CRC32C against published check values, and table vs instruction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kraft/crc32c.h"

static void
crc32c_matches_published_check_values(void **state)
{
	uint8_t buf[32];

	(void)state;
	/* The standard check value, and the RFC 3720 (iSCSI) B.4 vectors. */
	assert_int_equal(kr_crc32c(0, "123456789", 9), 0xE3069283u);
	assert_int_equal(kr_crc32c_sw(0, "123456789", 9), 0xE3069283u);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(kr_crc32c(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(kr_crc32c(0, buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	assert_int_equal(kr_crc32c(0, buf, 32), 0x46DD794Eu);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)(31 - i);
	assert_int_equal(kr_crc32c(0, buf, 32), 0x113FDB5Cu);
	assert_int_equal(kr_crc32c(0, buf, 0), 0);
}

static void
crc32c_in_pieces_equals_crc32c_at_once(void **state)
{
	uint8_t buf[1000];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 131 + 7);
	uint32_t whole = kr_crc32c(0, buf, sizeof(buf));

	for (size_t cut = 0; cut <= sizeof(buf); cut += 37)
		assert_int_equal(kr_crc32c(kr_crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut),
				 whole);
}

static void
crc32c_table_and_instruction_agree_on_every_length_and_alignment(void **state)
{
	uint8_t buf[300];
	unsigned seed = 12345;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	for (size_t off = 0; off < 9; off++)
		for (size_t len = 0; len + off <= sizeof(buf); len++)
			assert_int_equal(kr_crc32c(0, buf + off, len),
					 kr_crc32c_sw(0, buf + off, len));
	print_message("crc32c uses the %s\n",
		      kr_crc32c_hw_available() ? "SSE4.2 instruction" : "table");
}

/* The instruction's three-lane rounds (from 384 bytes) against the table: lengths around
 * every round boundary, every alignment, running values carried in, random contents. */
static void
crc32c_three_lanes_agree_with_the_table(void **state)
{
	static uint8_t buf[4096 + 16];
	unsigned seed = 777;

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (uint8_t)(seed >> 16);
	}
	for (size_t len = 300; len <= 4096; len++) {
		size_t off = len % 9;
		uint32_t init = len % 3 == 0 ? 0 : seed ^ (uint32_t)len;

		assert_int_equal(kr_crc32c(init, buf + off, len),
				 kr_crc32c_sw(init, buf + off, len));
	}
	memset(buf, 0xff, sizeof(buf)); /* all ones, all zeros: the lanes' joins alone */
	assert_int_equal(kr_crc32c(0, buf, 4096), kr_crc32c_sw(0, buf, 4096));
	memset(buf, 0, sizeof(buf));
	assert_int_equal(kr_crc32c(0, buf, 4096), kr_crc32c_sw(0, buf, 4096));
	assert_int_equal(kr_crc32c(0xdeadbeef, buf, 1152), kr_crc32c_sw(0xdeadbeef, buf, 1152));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(crc32c_matches_published_check_values),
		cmocka_unit_test(crc32c_in_pieces_equals_crc32c_at_once),
		cmocka_unit_test(crc32c_table_and_instruction_agree_on_every_length_and_alignment),
		cmocka_unit_test(crc32c_three_lanes_agree_with_the_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
