/* kraftd unit tests: reassembly of fragmented messages (include/kraft/reasm.h): whole
 * messages in any order, with copies, each rule that refuses a fragment, the bounds on
 * slots per sender and in all, expiry. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kraft/reasm.h"

#define SLOTS 4
#define SLOT_BYTES (64 * 1024)
#define QUIET 1000
#define TIMEOUT 5000

static struct kr_reasm_slot slots[SLOTS];
static uint8_t mem[SLOTS * SLOT_BYTES];
static struct kr_reasm r;

/* The byte at offset i of message id from sender: what each fragment carries */
static uint8_t
pattern(uint64_t sender, uint32_t id, uint32_t i)
{
	return (uint8_t)(sender * 131 + id * 31 + i * 7 + (i >> 8));
}

static uint8_t frag_buf[SLOT_BYTES];

/* Fragment k of message (sender, id, len, fb, epoch) */
static enum kr_reasm_result
put(uint64_t sender, uint32_t id, uint32_t len, uint32_t fb, uint32_t epoch, uint32_t k,
    int64_t now, const uint8_t **msg, uint32_t *msg_len, uint32_t *slot)
{
	struct kr_frag f = {
		.msg_id = id, .msg_len = len, .offset = k * fb, .frag_bytes = fb, .epoch = epoch};
	uint32_t n = len - f.offset < fb ? len - f.offset : fb;

	for (uint32_t i = 0; i < n; i++)
		frag_buf[i] = pattern(sender, id, f.offset + i);
	return kr_reasm_put(&r, sender, &f, frag_buf, n, now, msg, msg_len, slot);
}

static void
check_whole(uint64_t sender, uint32_t id, const uint8_t *msg, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (msg[i] != pattern(sender, id, i))
			fail_msg("message %u of %llu: byte %u is %u, not %u", id,
				 (unsigned long long)sender, i, msg[i], pattern(sender, id, i));
}

static int
setup(void **state)
{
	(void)state;
	return kr_reasm_init(&r, slots, mem, SLOTS, SLOT_BYTES, 2, QUIET, TIMEOUT);
}

static void
init_refuses_limits_out_of_range(void **state)
{
	struct kr_reasm x;

	(void)state;
	assert_int_equal(kr_reasm_init(&x, slots, mem, 0, SLOT_BYTES, 1, QUIET, TIMEOUT), -EINVAL);
	assert_int_equal(kr_reasm_init(&x, slots, mem, SLOTS, KR_MSG_MAX + 1, 1, QUIET, TIMEOUT),
			 -EINVAL);
	assert_int_equal(kr_reasm_init(&x, slots, mem, SLOTS, KR_FRAG_MIN, 1, QUIET, TIMEOUT),
			 -EINVAL);
	assert_int_equal(kr_reasm_init(&x, slots, mem, SLOTS, SLOT_BYTES, 0, QUIET, TIMEOUT),
			 -EINVAL);
	assert_int_equal(
		kr_reasm_init(&x, slots, mem, SLOTS, SLOT_BYTES, SLOTS + 1, QUIET, TIMEOUT),
		-EINVAL);
	assert_int_equal(kr_reasm_init(&x, slots, mem, SLOTS, SLOT_BYTES, 1, QUIET, QUIET - 1),
			 -EINVAL);
}

/* In order, in reverse, shuffled with every fragment twice: whole, byte for byte, once */
static void
whole_messages_in_any_order_with_copies(void **state)
{
	const uint32_t len = 50000, fb = 1400, n = (len + fb - 1) / fb;
	uint32_t order[128], ml = 0, sl = 0, done = 0;
	const uint8_t *msg = NULL;
	uint64_t seed = 7;

	(void)state;
	/* in order */
	for (uint32_t k = 0; k < n; k++)
		assert_int_equal(put(1, 10, len, fb, 3, k, 0, &msg, &ml, &sl),
				 k + 1 < n ? KR_REASM_HELD : KR_REASM_DONE);
	assert_int_equal(ml, len);
	check_whole(1, 10, msg, ml);
	kr_reasm_release(&r, sl);
	/* in reverse; the last (short) fragment first */
	for (uint32_t k = n; k-- > 0;)
		if (put(1, 11, len, fb, 3, k, 0, &msg, &ml, &sl) == KR_REASM_DONE)
			done++, assert_int_equal(k, 0);
	assert_int_equal(done, 1);
	check_whole(1, 11, msg, ml);
	kr_reasm_release(&r, sl);
	/* shuffled, each twice: the second copy of each is a duplicate, or comes after
	 * the message was made whole (a late copy: DUP, no slot taken) */
	for (uint32_t k = 0; k < n; k++)
		order[k] = order[k + n] = k;
	for (uint32_t i = 2 * n - 1; i > 0; i--) {
		uint32_t j, t;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		j = (uint32_t)(seed >> 33) % (i + 1);
		t = order[i], order[i] = order[j], order[j] = t;
	}
	done = 0;
	for (uint32_t i = 0; i < 2 * n; i++) {
		enum kr_reasm_result res = put(2, 5, len, fb, 3, order[i], 0, &msg, &ml, &sl);

		assert_true(res == KR_REASM_HELD || res == KR_REASM_DONE || res == KR_REASM_DUP);
		if (res == KR_REASM_DONE) {
			done++;
			check_whole(2, 5, msg, ml);
			kr_reasm_release(&r, sl);
		}
	}
	assert_int_equal(done, 1);
	assert_int_equal(r.stats.drops[-KR_REASM_DUP - 1], n);
	assert_int_equal(r.stats.done, 3);
	assert_int_equal(kr_reasm_filling(&r), 0);
}

/* Each field that does not fit the others: BAD, nothing held */
static void
inconsistent_fragments_are_refused(void **state)
{
	struct {
		uint32_t len, offset, fb, n;
	} bad[] = {
		{5000, 0, 0, 0},			     /* no fragment size */
		{5000, 0, KR_FRAG_MIN - 1, KR_FRAG_MIN - 1}, /* fragments too small */
		{1000, 0, 1000, 1000},			     /* fits one fragment: sent whole */
		{1000, 0, 2000, 1000},			     /* fragments larger than the message */
		{SLOT_BYTES + 1, 0, 1400, 1400},	     /* larger than a slot */
		{5000, 5000, 1000, 0},			     /* at the end */
		{5000, 6000, 1000, 1000},		     /* past it */
		{5000, 700, 1000, 1000},		     /* not on a fragment boundary */
		{5000, 0, 1000, 999},			     /* short */
		{5000, 0, 1000, 1001},			     /* long */
		{5000, 4000, 1000, 999},		     /* the last one short */
		{4500, 4000, 1000, 1000},		     /* the last one long */
	};
	const uint8_t *msg;
	uint32_t ml, sl;

	(void)state;
	memset(frag_buf, 0, sizeof(frag_buf));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct kr_frag f = {.msg_id = 1,
				    .msg_len = bad[i].len,
				    .offset = bad[i].offset,
				    .frag_bytes = bad[i].fb};

		assert_int_equal(kr_reasm_put(&r, 1, &f, frag_buf, bad[i].n, 0, &msg, &ml, &sl),
				 KR_REASM_BAD);
	}
	assert_int_equal(r.stats.drops[-KR_REASM_BAD - 1], sizeof(bad) / sizeof(bad[0]));
	assert_int_equal(kr_reasm_filling(&r), 0);
	assert_string_equal(kr_reasm_drop_name(KR_REASM_BAD), "BAD");
}

/* Another length, fragment size or epoch for a message begun: CONFLICT, the message
 * intact; another sender's message of the same id is another message */
static void
fragments_of_another_message_sender_or_epoch(void **state)
{
	const uint8_t *msg;
	uint32_t ml, sl;

	(void)state;
	assert_int_equal(put(1, 7, 3000, 1000, 2, 0, 0, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(put(1, 7, 4000, 1000, 2, 1, 0, &msg, &ml, &sl), KR_REASM_CONFLICT);
	assert_int_equal(put(1, 7, 3000, 1500, 2, 1, 0, &msg, &ml, &sl), KR_REASM_CONFLICT);
	assert_int_equal(put(1, 7, 3000, 1000, 3, 1, 0, &msg, &ml, &sl), KR_REASM_CONFLICT);
	assert_int_equal(r.stats.drops[-KR_REASM_CONFLICT - 1], 3);
	/* sender 2's message 7: its own slot, its own bytes */
	assert_int_equal(put(2, 7, 3000, 1000, 2, 0, 0, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(put(2, 7, 3000, 1000, 2, 1, 0, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(put(2, 7, 3000, 1000, 2, 2, 0, &msg, &ml, &sl), KR_REASM_DONE);
	check_whole(2, 7, msg, ml);
	kr_reasm_release(&r, sl);
	/* sender 1's, untouched by the refused ones */
	assert_int_equal(put(1, 7, 3000, 1000, 2, 2, 0, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(put(1, 7, 3000, 1000, 2, 1, 0, &msg, &ml, &sl), KR_REASM_DONE);
	check_whole(1, 7, msg, ml);
	kr_reasm_release(&r, sl);
	/* a sender's newer epoch ends its older epoch's messages; an older one is stale */
	assert_int_equal(put(1, 8, 3000, 1000, 2, 0, 0, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(put(1, 9, 3000, 1000, 3, 0, 0, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(r.stats.replaced, 1);
	assert_int_equal(kr_reasm_filling(&r), 1);
	assert_int_equal(put(1, 10, 3000, 1000, 2, 0, 0, &msg, &ml, &sl), KR_REASM_STALE);
	/* the replaced message's other fragments are of the older epoch too */
	assert_int_equal(put(1, 8, 3000, 1000, 2, 1, 0, &msg, &ml, &sl), KR_REASM_STALE);
}

/* One sender holds per_sender incomplete messages at most: a newer one replaces its
 * oldest, an older one is refused */
static void
a_sender_has_a_bounded_share(void **state)
{
	const uint8_t *msg;
	uint32_t ml, sl;

	(void)state;
	assert_int_equal(put(1, 100, 3000, 1000, 1, 0, 0, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(put(1, 101, 3000, 1000, 1, 0, 0, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(put(1, 99, 3000, 1000, 1, 0, 0, &msg, &ml, &sl), KR_REASM_STALE);
	assert_int_equal(put(1, 102, 3000, 1000, 1, 0, 0, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(r.stats.replaced, 1);
	assert_int_equal(kr_reasm_filling(&r), 2);
	/* 100 was replaced: its next fragment is older than both of the sender's */
	assert_int_equal(put(1, 100, 3000, 1000, 1, 1, 0, &msg, &ml, &sl), KR_REASM_STALE);
	/* ids wrap: 0 is newer than 0xffffffff */
	assert_int_equal(kr_reasm_init(&r, slots, mem, SLOTS, SLOT_BYTES, 1, QUIET, TIMEOUT), 0);
	assert_int_equal(put(1, 0xffffffffu, 3000, 1000, 1, 0, 0, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(put(1, 0, 3000, 1000, 1, 0, 0, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(r.stats.replaced, 1);
	/* the others' messages are not its share */
	assert_int_equal(put(2, 0, 3000, 1000, 1, 0, 0, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(kr_reasm_filling(&r), 2);
}

/* Every slot busy: a new message takes the quietest only once it was quiet for quiet_us;
 * a flood of new senders cannot push out messages that are arriving */
static void
a_flood_cannot_push_out_arriving_messages(void **state)
{
	const uint8_t *msg;
	uint32_t ml, sl;
	int64_t t = 0;

	(void)state;
	/* four messages of 100 fragments, one fragment each every 400 us (quiet_us is
	 * 1000), and between two of theirs ten strangers, each with a new message */
	for (uint32_t k = 0; k < 99; k++) {
		for (uint64_t s = 1; s <= SLOTS; s++)
			assert_int_equal(put(s, 1, 60000, 600, 1, k, t, &msg, &ml, &sl),
					 KR_REASM_HELD);
		for (uint64_t s = 0; s < 10; s++) {
			t += 40;
			assert_int_equal(
				put(100 + k * 10 + s, 1, 3000, 1000, 1, 0, t, &msg, &ml, &sl),
				KR_REASM_FULL);
		}
	}
	assert_int_equal(r.stats.drops[-KR_REASM_FULL - 1], 990);
	for (uint64_t s = 1; s <= SLOTS; s++) {
		assert_int_equal(put(s, 1, 60000, 600, 1, 99, t, &msg, &ml, &sl), KR_REASM_DONE);
		check_whole(s, 1, msg, ml);
		kr_reasm_release(&r, sl);
	}
	/* a quiet one goes to a newcomer */
	for (uint64_t s = 1; s <= SLOTS; s++)
		assert_int_equal(put(s, 2, 3000, 1000, 1, 0, t, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(put(9, 1, 3000, 1000, 1, 0, t + QUIET - 1, &msg, &ml, &sl), KR_REASM_FULL);
	assert_int_equal(put(9, 1, 3000, 1000, 1, 0, t + QUIET, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(r.stats.taken, 1);
	/* a message made whole holds its slot until it is released */
	assert_int_equal(put(9, 1, 3000, 1000, 1, 1, t + QUIET, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(put(9, 1, 3000, 1000, 1, 2, t + QUIET, &msg, &ml, &sl), KR_REASM_DONE);
	assert_int_equal(kr_reasm_filling(&r), SLOTS - 1);
	assert_int_equal(put(10, 1, 3000, 1000, 1, 0, t + 2 * QUIET, &msg, &ml, &sl),
			 KR_REASM_HELD); /* the quietest filling one, not the whole one */
	check_whole(9, 1, msg, 3000);
	kr_reasm_release(&r, sl);
}

/* A lost fragment: the message is never handed on, and expires */
static void
a_lost_fragment_expires_its_message(void **state)
{
	const uint8_t *msg;
	uint32_t ml, sl;

	(void)state;
	for (uint32_t k = 0; k < 10; k++)
		if (k != 4)
			assert_int_equal(put(3, 1, 10000, 1000, 1, k, 0, &msg, &ml, &sl),
					 KR_REASM_HELD);
	assert_int_equal(kr_reasm_next_expiry(&r), TIMEOUT); /* the core's deadline */
	assert_int_equal(kr_reasm_expire(&r, TIMEOUT - 1), 0);
	assert_int_equal(kr_reasm_filling(&r), 1);
	assert_int_equal(kr_reasm_expire(&r, TIMEOUT), 1);
	assert_int_equal(r.stats.expired, 1);
	assert_int_equal(kr_reasm_filling(&r), 0);
	assert_true(kr_reasm_next_expiry(&r) == INT64_MAX); /* nothing left to give up */
	/* the missing one alone now begins the message again: not whole */
	assert_int_equal(put(3, 1, 10000, 1000, 1, 4, TIMEOUT, &msg, &ml, &sl), KR_REASM_HELD);
	assert_int_equal(r.stats.done, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(init_refuses_limits_out_of_range),
		cmocka_unit_test_setup(whole_messages_in_any_order_with_copies, setup),
		cmocka_unit_test_setup(inconsistent_fragments_are_refused, setup),
		cmocka_unit_test_setup(fragments_of_another_message_sender_or_epoch, setup),
		cmocka_unit_test_setup(a_sender_has_a_bounded_share, setup),
		cmocka_unit_test_setup(a_flood_cannot_push_out_arriving_messages, setup),
		cmocka_unit_test_setup(a_lost_fragment_expires_its_message, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
