/* kraftd tests: the voter set as the log carries it: the voters record (every malformed
 * field refused), the one-voter-at-a-time rule (Kafka's VoterSetTest cases), and the
 * history of sets by offset under appends, truncations and commits (VoterSetHistoryTest,
 * KRaftControlRecordStateMachineTest's truncation cases). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "kraft/voterset.h"

/* Voter i: id i, directory id {i, i, ...}, 10.0.0.i:9000+i. */
static struct kr_voter
voter(int32_t id)
{
	struct kr_voter v;

	memset(&v, 0, sizeof(v));
	v.id = id;
	memset(v.dir, (int)(id + 0x40), KR_UUID_BYTES);
	v.ep.ip = 0x0a000000u | (uint32_t)id;
	v.ep.port = (uint16_t)(9000 + id);
	return v;
}

/* The set of the ids given, in that order (ids end at -1). */
static struct kr_voter_set
set_of(int32_t first, ...)
{
	struct kr_voter_set s;
	va_list ap;

	memset(&s, 0, sizeof(s));
	va_start(ap, first);
	for (int32_t id = first; id >= 0; id = va_arg(ap, int32_t))
		s.v[s.n++] = voter(id);
	va_end(ap);
	return s;
}

static void
record_round_trips(void **state)
{
	struct kr_voter_set s = set_of(1, 2, 3, -1), back;
	uint8_t buf[KR_VOTERS_RECORD_MAX];
	int n;

	(void)state;
	n = kr_voters_record_encode(&s, buf, sizeof(buf));
	assert_int_equal(n, 2 + 3 * KR_VOTERS_RECORD_ENTRY_BYTES);
	assert_int_equal(kr_voters_record_decode(buf, (size_t)n, &back), 0);
	assert_true(kr_voters_equal(&s, &back));
	assert_int_equal(back.v[1].ep.port, 9002);
	/* the largest set fits the bound */
	s.n = 0;
	for (int i = 0; i < KR_VOTERS_MAX; i++)
		s.v[s.n++] = voter(i + 1);
	assert_int_equal(kr_voters_record_encode(&s, buf, sizeof(buf)), KR_VOTERS_RECORD_MAX);
	assert_int_equal(kr_voters_record_encode(&s, buf, sizeof(buf) - 1), -ENOSPC);
}

static void
record_refuses_every_bad_field(void **state)
{
	struct kr_voter_set s = set_of(1, 2, -1), out;
	uint8_t good[KR_VOTERS_RECORD_MAX], b[KR_VOTERS_RECORD_MAX + 1];
	size_t n;
	const size_t e1 = 2 + KR_VOTERS_RECORD_ENTRY_BYTES; /* the second entry */

	(void)state;
	n = (size_t)kr_voters_record_encode(&s, good, sizeof(good));
#define REFUSED(edit, len)                                                           \
	do {                                                                         \
		memcpy(b, good, n);                                                  \
		edit;                                                                \
		assert_int_equal(kr_voters_record_decode(b, (len), &out), -EBADMSG); \
	} while (0)
	REFUSED((void)0, 0);			      /* empty */
	REFUSED((void)0, 1);			      /* no count */
	REFUSED((void)0, n - 1);		      /* short */
	REFUSED(b[n] = 0, n + 1);		      /* a byte after the last entry */
	REFUSED(b[0] = 1, n);			      /* an unknown version */
	REFUSED(b[1] = 0, n);			      /* no voters */
	REFUSED(b[1] = 3, n);			      /* count says more than there is */
	REFUSED(b[1] = KR_VOTERS_MAX + 1, n);	      /* too many */
	REFUSED(b[e1 + 3] = 0x80, n);		      /* a negative node id */
	REFUSED(memcpy(b + e1, good + 2, 4), n);      /* an id twice */
	REFUSED(memcpy(b + e1 + 4, good + 6, 16), n); /* a directory twice */
	REFUSED(memset(b + e1 + 4, 0, 16), n);	      /* a directory all zero */
	REFUSED(memset(b + e1 + 24, 0, 2), n);	      /* port 0 */
#undef REFUSED
	assert_int_equal(kr_voters_record_decode(good, n, &out), 0);
	/* and encode refuses what decode would */
	s.v[1].id = 1;
	assert_int_equal(kr_voters_record_encode(&s, good, sizeof(good)), -EINVAL);
	s.n = 0;
	assert_int_equal(kr_voters_record_encode(&s, good, sizeof(good)), -EINVAL);
}

static void
one_voter_at_a_time(void **state)
{
	struct kr_voter_set a = set_of(1, 2, 3, -1), b;
	int who;

	(void)state;
	assert_int_equal(kr_voters_diff(&a, &a, &who), KR_VOTERS_SAME);
	b = set_of(1, 2, 3, 4, -1);
	assert_int_equal(kr_voters_diff(&a, &b, &who), KR_VOTERS_ADD);
	assert_int_equal(who, 3);
	assert_int_equal(kr_voters_diff(&b, &a, &who), KR_VOTERS_REMOVE);
	assert_int_equal(who, 3);
	b = set_of(3, 1, 2, -1); /* order does not matter */
	assert_int_equal(kr_voters_diff(&a, &b, &who), KR_VOTERS_SAME);
	b = a;
	b.v[1].ep.port = 7000;
	assert_int_equal(kr_voters_diff(&a, &b, &who), KR_VOTERS_UPDATE);
	assert_int_equal(who, 1);
	/* non-overlapping majorities: two added, two removed, one swapped */
	b = set_of(1, 2, 3, 4, 5, -1);
	assert_int_equal(kr_voters_diff(&a, &b, &who), KR_VOTERS_ILLEGAL);
	b = set_of(1, -1);
	assert_int_equal(kr_voters_diff(&a, &b, &who), KR_VOTERS_ILLEGAL);
	b = set_of(1, 2, 4, -1);
	assert_int_equal(kr_voters_diff(&a, &b, &who), KR_VOTERS_ILLEGAL);
	/* a directory replaced in place is a remove and an add in one: refused */
	b = a;
	b.v[2].dir[0] ^= 1;
	assert_int_equal(kr_voters_diff(&a, &b, &who), KR_VOTERS_ILLEGAL);
	/* an endpoint moved and a voter added at once */
	b = set_of(1, 2, 3, 4, -1);
	b.v[0].ep.port = 7000;
	assert_int_equal(kr_voters_diff(&a, &b, &who), KR_VOTERS_ILLEGAL);
	/* never to or from an empty set */
	b.n = 0;
	assert_int_equal(kr_voters_diff(&a, &b, &who), KR_VOTERS_ILLEGAL);
	assert_int_equal(kr_voters_diff(&b, &a, &who), KR_VOTERS_ILLEGAL);
	assert_int_equal(kr_voters_majority(&a), 2);
	b = set_of(1, 2, 3, 4, -1);
	assert_int_equal(kr_voters_majority(&b), 3);
	assert_int_equal(kr_voters_find_key(&a, 2, a.v[1].dir), 1);
	assert_int_equal(kr_voters_find_key(&a, 2, a.v[0].dir), -1);
}

static void
history_follows_appends_and_truncations(void **state)
{
	struct kr_voter_set boot = set_of(1, -1), s2 = set_of(1, 2, -1), s3 = set_of(1, 2, 3, -1);
	struct kr_voter_history h;

	(void)state;
	kr_vh_init(&h, &boot);
	assert_true(kr_voters_equal(kr_vh_latest(&h), &boot));
	assert_true(kr_vh_latest_offset(&h) == KR_OFFSET_NONE);
	/* the first leader writes the bootstrap set: no change */
	assert_int_equal(kr_vh_append(&h, 1, &boot), KR_VOTERS_SAME);
	assert_int_equal(kr_vh_append(&h, 10, &s2), KR_VOTERS_ADD);
	assert_int_equal(kr_vh_append(&h, 20, &s3), KR_VOTERS_ADD);
	assert_true(kr_voters_equal(kr_vh_latest(&h), &s3));
	/* in force at an offset: the last record at or before it */
	assert_true(kr_voters_equal(kr_vh_at(&h, 0), &boot));
	assert_true(kr_voters_equal(kr_vh_at(&h, 9), &boot));
	assert_true(kr_voters_equal(kr_vh_at(&h, 10), &s2));
	assert_true(kr_voters_equal(kr_vh_at(&h, 19), &s2));
	assert_true(kr_voters_equal(kr_vh_at(&h, 20), &s3));
	/* before the last record: the one before it */
	assert_true(kr_voters_equal(kr_vh_previous(&h), &s2));
	/* a record out of order, a set two voters away, an invalid set: refused, unchanged */
	assert_int_equal(kr_vh_append(&h, 20, &s2), KR_VOTERS_ILLEGAL);
	assert_int_equal(kr_vh_append(&h, 30, &boot), KR_VOTERS_ILLEGAL);
	s2.v[1].id = 1;
	assert_int_equal(kr_vh_append(&h, 30, &s2), KR_VOTERS_ILLEGAL);
	s2 = set_of(1, 2, -1);
	assert_int_equal(h.n, 3);
	/* truncation undoes what it cuts, and only that */
	assert_false(kr_vh_truncate(&h, 21));
	assert_true(kr_voters_equal(kr_vh_latest(&h), &s3));
	assert_true(kr_vh_truncate(&h, 20));
	assert_true(kr_voters_equal(kr_vh_latest(&h), &s2));
	assert_int_equal(kr_vh_latest_offset(&h), 10);
	/* another leader's record at the same offset takes its place */
	s3 = set_of(2, -1);
	assert_int_equal(kr_vh_append(&h, 20, &s3), KR_VOTERS_REMOVE);
	assert_true(kr_vh_truncate(&h, 0));
	assert_true(kr_voters_equal(kr_vh_latest(&h), &boot));
	assert_null(kr_vh_previous(&h)); /* no record: nothing before one */
	assert_int_equal(kr_vh_append(&h, 0, &s2), KR_VOTERS_ADD);
	assert_true(kr_voters_equal(kr_vh_previous(&h), &boot)); /* the first: the base */
}

static void
history_folds_what_commits(void **state)
{
	struct kr_voter_set boot = set_of(1, 2, 3, -1), s = boot;
	struct kr_voter_history h;

	(void)state;
	kr_vh_init(&h, &boot);
	s.v[s.n++] = voter(4);
	assert_int_equal(kr_vh_append(&h, 5, &s), KR_VOTERS_ADD);
	s.n--;
	assert_int_equal(kr_vh_append(&h, 8, &s), KR_VOTERS_REMOVE);
	kr_vh_commit(&h, 5); /* offset 5 not committed yet: nothing folds */
	assert_int_equal(h.n, 2);
	kr_vh_commit(&h, 6);
	assert_int_equal(h.n, 1);
	assert_int_equal(h.base_offset, 5);
	assert_int_equal(h.base.n, 4);
	assert_true(kr_voters_equal(kr_vh_at(&h, 7), &h.base));
	/* the uncommitted record is still undone by a truncation */
	assert_true(kr_vh_truncate(&h, 8));
	assert_int_equal(kr_vh_latest(&h)->n, 4);
	kr_vh_commit(&h, KR_OFFSET_NONE); /* no HW known: nothing */
	assert_int_equal(h.base_offset, 5);
	/* a history that runs out of room folds its oldest and counts it */
	for (uint64_t o = 10; o < 10 + 2 * KR_VOTER_HISTORY_MAX; o++) {
		s = *kr_vh_latest(&h);
		s.v[0].ep.port++;
		assert_int_equal(kr_vh_append(&h, o, &s), KR_VOTERS_UPDATE);
	}
	assert_int_equal(h.n, KR_VOTER_HISTORY_MAX);
	assert_int_equal(h.folded_early, KR_VOTER_HISTORY_MAX);
	assert_int_equal(kr_vh_latest_offset(&h), 9 + 2 * KR_VOTER_HISTORY_MAX);
}

static void
a_joining_directory_learns_any_set(void **state)
{
	struct kr_voter_set none = {0}, s = set_of(1, 2, 3, -1);
	struct kr_voter_history h;

	(void)state;
	kr_vh_init(&h, &none);
	assert_int_equal(kr_vh_latest(&h)->n, 0);
	assert_int_equal(kr_vh_append(&h, 3, &s), KR_VOTERS_ADD);
	assert_true(kr_voters_equal(kr_vh_latest(&h), &s));
	assert_true(kr_vh_truncate(&h, 3));
	assert_int_equal(kr_vh_latest(&h)->n, 0);
	assert_int_equal(kr_vh_append(&h, 3, &none), KR_VOTERS_ILLEGAL);
}

/* A history whose log start moved past records it never saw (kr_vh_unanchor: a reset; a log
 * loaded that starts past 0) takes the next record as the set in force, whatever it
 * changed: once; then one voter at a time again. */
static void
an_unanchored_history_takes_the_next_record_as_it_is(void **state)
{
	struct kr_voter_set boot = set_of(1, 2, 3, -1), two = set_of(1, 4, 5, -1);
	struct kr_voter_set three = set_of(1, 4, 5, 6, -1), far = set_of(7, 8, 9, -1);
	struct kr_voter_history h;

	(void)state;
	kr_vh_init(&h, &boot);
	assert_false(kr_vh_next_ok(&h, &two)); /* two voters changed at once */
	assert_int_equal(kr_vh_append(&h, 10, &two), KR_VOTERS_ILLEGAL);
	kr_vh_unanchor(&h);
	assert_true(kr_vh_next_ok(&h, &two));
	assert_int_equal(kr_vh_append(&h, 10, &two), KR_VOTERS_ADD);
	assert_true(kr_voters_equal(kr_vh_latest(&h), &two));
	assert_false(kr_vh_next_ok(&h, &far)); /* anchored again */
	assert_true(kr_vh_next_ok(&h, &three));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_round_trips),
		cmocka_unit_test(record_refuses_every_bad_field),
		cmocka_unit_test(one_voter_at_a_time),
		cmocka_unit_test(history_follows_appends_and_truncations),
		cmocka_unit_test(history_folds_what_commits),
		cmocka_unit_test(a_joining_directory_learns_any_set),
		cmocka_unit_test(an_unanchored_history_takes_the_next_record_as_it_is),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
