/* kraftd fuzz target: reassembly of fragmented messages (include/kraft/reasm.h). The
 * input is a sequence of fragments, 8 bytes each: sender (0..3), message id (0..7),
 * message length, fragment size and index (scaled into the slot, some of them
 * inconsistent on purpose), epoch (0..3), the time step, and whether to release the
 * message made whole, expire, or neither. Every fragment of (sender, id) carries the bytes
 * of one pattern at its offsets. Oracles: a message made whole matches the pattern at
 * every byte (no fragment of another message, sender or place in it); the slots in use
 * and one sender's incomplete ones stay within their bounds; each put's result is one of
 * the enumerated ones and the drops counted add up. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/reasm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SLOTS 6
#define SLOT_BYTES 8192
#define PER_SENDER 2

static struct kr_reasm_slot slots[SLOTS];
static uint8_t mem[SLOTS * SLOT_BYTES];
static uint8_t frag[SLOT_BYTES];

static uint8_t
pattern(uint64_t sender, uint32_t id, uint32_t i)
{
	return (uint8_t)(sender * 131 + id * 31 + i * 7 + (i >> 8));
}

static void
oops(const char *what)
{
	fprintf(stderr, "fuzz_reasm: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kr_reasm r;
	uint64_t drops = 0;
	int64_t now = 0;

	if (kr_reasm_init(&r, slots, mem, SLOTS, SLOT_BYTES, PER_SENDER, 50, 400) != 0)
		oops("init");
	for (size_t p = 0; p + 8 <= size; p += 8) {
		const uint8_t *b = data + p;
		uint64_t sender = b[0] & 3;
		uint32_t id = (b[0] >> 2) & 7;
		/* lengths: mostly sane, now and then past the slot */
		uint32_t len = (uint32_t)(b[1] | b[2] << 8) % (SLOT_BYTES + 64) + 1;
		uint32_t fb = (uint32_t)(b[3] % 64 + 1) * 8; /* below KR_FRAG_MIN now and then */
		uint32_t k = b[4];
		struct kr_frag f = {.msg_id = id,
				    .msg_len = len,
				    .offset = k * fb,
				    .frag_bytes = fb,
				    .epoch = b[5] & 3};
		uint32_t n = f.offset < len ? (len - f.offset < fb ? len - f.offset : fb) : 0;
		const uint8_t *msg = NULL;
		uint32_t ml = 0, sl = 0, filling, mine = 0;
		enum kr_reasm_result res;

		if (b[6] & 0x80 && n > 0)
			n--; /* a fragment cut short */
		for (uint32_t i = 0; i < n && i < sizeof(frag); i++)
			frag[i] = pattern(sender, id, f.offset + i);
		now += b[6] & 0x3f;
		res = kr_reasm_put(&r, sender, &f, frag, n, now, &msg, &ml, &sl);
		if (res < KR_REASM_FULL || res > KR_REASM_DONE)
			oops("a result out of range");
		if (res < 0)
			drops++;
		if (res == KR_REASM_DONE) {
			if (ml != len || msg != mem + (size_t)sl * SLOT_BYTES)
				oops("a whole message of another length or place");
			for (uint32_t i = 0; i < ml; i++)
				if (msg[i] != pattern(sender, id, i))
					oops("a whole message with bytes not its own");
			if (b[7] & 1)
				kr_reasm_release(&r, sl);
		}
		if (b[7] & 2)
			kr_reasm_expire(&r, now);
		filling = kr_reasm_filling(&r);
		if (filling > SLOTS)
			oops("more slots filling than there are");
		for (uint32_t i = 0; i < SLOTS; i++)
			if (slots[i].state == KR_REASM_FILLING && slots[i].sender == sender)
				mine++;
		if (mine > PER_SENDER)
			oops("a sender over its share");
		/* whole ones not released stay: release them now and then */
		if (b[7] & 4)
			for (uint32_t i = 0; i < SLOTS; i++)
				kr_reasm_release(&r, i);
	}
	{
		uint64_t counted = 0;

		for (int i = 0; i < KR_REASM_DROP_KINDS; i++)
			counted += r.stats.drops[i];
		if (counted != drops)
			oops("drops not counted");
	}
	return 0;
}
