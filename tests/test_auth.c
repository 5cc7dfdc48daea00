/* kraftd tests: frame authentication (include/kraft/auth.h): a sealed frame passes and
 * decodes; any changed bit of header, body or trailer, another key, an unknown key id or
 * a missing trailer fails with its reason; two keys are accepted during a rotation; the
 * replay window refuses repeats and sequences behind it and takes reordering within it;
 * key files are parsed with clear errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "kraft/auth.h"
#include "kraft/wire.h"

static const char *hex_a = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char *hex_b = "ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static struct kr_auth_key
key(const char *hex)
{
	struct kr_auth_key k;
	char err[128];

	assert_int_equal(kr_auth_key_parse(hex, &k, err, sizeof(err)), 0);
	return k;
}

/* A Vote with the AUTH flag: the frame, its length. */
static int
vote(uint8_t *buf, size_t cap)
{
	struct kr_frame_hdr h = {
		.sender_id = 2, .correlation_id = 9, .voter_set_hash = 7, .flags = KR_FRAME_F_AUTH};
	struct kr_msg m = {.api = KR_API_VOTE};
	int len;

	m.u.vote.epoch = 5;
	m.u.vote.voter_id = 1;
	len = kr_frame_encode(buf, cap, &h, &m);
	assert_true(len == KR_WIRE_HDR_BYTES + KR_VOTE_BYTES + KR_WIRE_AUTH_BYTES);
	return len;
}

static void
sealed_frames_pass_and_any_changed_bit_fails(void **state)
{
	struct kr_auth_keys keys = {.keys = {key(hex_a)}};
	uint8_t buf[256];
	int len = vote(buf, sizeof(buf));
	uint64_t seq = 0;
	uint32_t t = 0;
	unsigned why = 99;
	struct kr_frame f;

	(void)state;
	assert_int_equal(kr_auth_seal(&keys.keys[0], 42, 1700000000, buf, (size_t)len), 0);
	assert_int_equal(kr_frame_decode(NULL, buf, (size_t)len, &f), 0);
	assert_non_null(f.auth);
	assert_int_equal(kr_auth_check(&keys, buf, (size_t)len, true, &seq, &t, &why), 0);
	assert_int_equal(seq, 42);
	assert_int_equal(t, 1700000000);
	/* every bit of header (its CRC too), body and trailer is covered */
	for (int i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit++) {
			uint8_t save = buf[i];

			buf[i] ^= (uint8_t)(1u << bit);
			why = 99;
			assert_int_equal(
				kr_auth_check(&keys, buf, (size_t)len, true, &seq, &t, &why), -1);
			/* the key id byte names another key; any other bit breaks the MAC */
			assert_int_equal(why, i == len - KR_WIRE_AUTH_BYTES
						      ? KR_AUTH_DROP_UNKNOWN_KEY
						      : KR_AUTH_DROP_BAD_MAC);
			buf[i] = save;
		}
	}
}

static void
other_keys_missing_trailers_and_rotation(void **state)
{
	struct kr_auth_key a = key(hex_a), b = key(hex_b);
	struct kr_auth_keys only_a = {.keys = {a}}, only_b = {.keys = {b}},
			    both = {.keys = {a, b}, .send = 1};
	uint8_t buf[256];
	int len = vote(buf, sizeof(buf));
	uint64_t seq;
	uint32_t t;
	unsigned why;

	(void)state;
	assert_int_not_equal(a.id, b.id);
	assert_int_equal(kr_auth_seal(&a, 1, 1700000000, buf, (size_t)len), 0);
	assert_int_equal(kr_auth_check(&only_b, buf, (size_t)len, true, &seq, &t, &why), -1);
	assert_int_equal(why, KR_AUTH_DROP_UNKNOWN_KEY);
	/* a key with the same id but other bytes: the MAC fails */
	b.id = a.id;
	only_b.keys[0] = b;
	assert_int_equal(kr_auth_check(&only_b, buf, (size_t)len, true, &seq, &t, &why), -1);
	assert_int_equal(why, KR_AUTH_DROP_BAD_MAC);
	/* during a rotation both keys pass */
	assert_int_equal(kr_auth_check(&both, buf, (size_t)len, true, &seq, &t, &why), 0);
	assert_int_equal(kr_auth_seal(&both.keys[both.send], 2, 1700000000, buf, (size_t)len), 0);
	assert_int_equal(kr_auth_check(&both, buf, (size_t)len, true, &seq, &t, &why), 0);
	assert_int_equal(kr_auth_check(&only_a, buf, (size_t)len, true, &seq, &t, &why), -1);
	/* no trailer where one is required */
	assert_int_equal(kr_auth_check(&only_a, buf, (size_t)len - KR_WIRE_AUTH_BYTES, false, &seq,
				       &t, &why),
			 -1);
	assert_int_equal(why, KR_AUTH_DROP_MISSING);
	/* an unset key seals nothing */
	assert_int_equal(kr_auth_seal(&(struct kr_auth_key){0}, 1, 1700000000, buf, (size_t)len),
			 -1);
}

static void
the_replay_window(void **state)
{
	struct kr_replay w = {0};
	unsigned why;

	(void)state;
	assert_true(kr_replay_accept(&w, 1000, &why));
	assert_false(kr_replay_accept(&w, 1000, &why));
	assert_int_equal(why, KR_AUTH_DROP_REPLAYED);
	/* reordering within the window is accepted, once */
	assert_true(kr_replay_accept(&w, 1003, &why));
	assert_true(kr_replay_accept(&w, 1001, &why));
	assert_false(kr_replay_accept(&w, 1001, &why));
	assert_true(kr_replay_accept(&w, 1002, &why));
	assert_false(kr_replay_accept(&w, 1003, &why));
	/* behind the window: refused as too old */
	assert_true(kr_replay_accept(&w, 1003 + KR_AUTH_WINDOW, &why));
	assert_false(kr_replay_accept(&w, 1003, &why));
	assert_int_equal(why, KR_AUTH_DROP_TOO_OLD);
	assert_true(kr_replay_accept(&w, 1004, &why)); /* the window's oldest slot, unseen */
	/* a long jump forgets everything behind */
	assert_true(kr_replay_accept(&w, 1u << 20, &why));
	assert_false(kr_replay_accept(&w, 1u << 20, &why));
	/* every sequence of a long in-order run exactly once */
	for (uint64_t s = (1u << 20) + 1; s < (1u << 20) + 1000; s++) {
		assert_true(kr_replay_accept(&w, s, &why));
		assert_false(kr_replay_accept(&w, s - 1, &why));
	}
}

/* The per-thread state: peers by id and clients by address each get a window, stale send
 * times are refused, drops are counted by reason, and nothing is checked while off. */
static void
accepting_frames(void **state)
{
	struct kr_auth_keys keys = {.keys = {key(hex_a)}}, none = {0};
	static struct kr_auth rx, tx, off;
	int64_t now = 1700000000ll * 1000000;
	uint8_t buf[256], copy[256];
	int len = vote(buf, sizeof(buf));

	(void)state;
	kr_auth_init(&rx, &keys, now);
	kr_auth_init(&tx, &keys, now);
	kr_auth_init(&off, &none, now);
	assert_true(rx.on);
	assert_false(off.on);
	assert_true(kr_auth_accept(&off, buf, (size_t)len, true, 2, 0, now)); /* not checked */
	assert_false(kr_auth_accept(&rx, buf, (size_t)len, true, 2, 0, now)); /* zero trailer */
	assert_int_equal(rx.drops[KR_AUTH_DROP_UNKNOWN_KEY] + rx.drops[KR_AUTH_DROP_BAD_MAC], 1);
	assert_int_equal(kr_auth_seal_next(&tx, buf, (size_t)len, now), 0);
	memcpy(copy, buf, (size_t)len);
	assert_true(kr_auth_accept(&rx, buf, (size_t)len, true, 2, 0, now));
	/* the same frame again: from node 2 a replay; a client's window is its own */
	assert_false(kr_auth_accept(&rx, copy, (size_t)len, true, 2, 0, now));
	assert_int_equal(rx.drops[KR_AUTH_DROP_REPLAYED], 1);
	assert_true(kr_auth_accept(&rx, copy, (size_t)len, true, -1, 77, now));
	assert_false(kr_auth_accept(&rx, copy, (size_t)len, true, -1, 77, now));
	assert_int_equal(rx.drops[KR_AUTH_DROP_REPLAYED], 2);
	/* the receiver's clock a minute and a bit later: stale, however new the sequence */
	assert_int_equal(kr_auth_seal_next(&tx, buf, (size_t)len, now), 0);
	assert_false(kr_auth_accept(&rx, buf, (size_t)len, true, 2, 0,
				    now + (KR_AUTH_FRESH_S + 2) * 1000000ll));
	assert_int_equal(rx.drops[KR_AUTH_DROP_STALE], 1);
	assert_true(kr_auth_accept(&rx, buf, (size_t)len, true, 2, 0, now + 1000000));
	/* a restarted sender starts above everything it sent before */
	kr_auth_init(&tx, &keys, now + 1);
	assert_int_equal(kr_auth_seal_next(&tx, buf, (size_t)len, now + 1), 0);
	assert_true(kr_auth_accept(&rx, buf, (size_t)len, true, 2, 0, now + 1));
	/* more clients than windows: the least recent is replaced, peers keep theirs */
	for (uint64_t c = 1000; c < 1000 + 2 * KR_AUTH_CLIENTS; c++) {
		assert_int_equal(kr_auth_seal_next(&tx, buf, (size_t)len, now), 0);
		assert_true(kr_auth_accept(&rx, buf, (size_t)len, true, -1, c, now));
	}
	assert_false(kr_auth_accept(&rx, copy, (size_t)len, true, 2, 0, now));
	assert_int_equal(rx.drops[KR_AUTH_DROP_TOO_OLD] + rx.drops[KR_AUTH_DROP_REPLAYED], 3);
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

/* Key files: private regular files only, with the path and the reason in every error;
 * the accept file is optional; two different keys may not share a key id. */
static void
key_files_are_checked(void **state)
{
	char dir[] = "/tmp/kraftd-test-auth-XXXXXX", a[64], b[64], l[64], err[700], hex[80];
	struct kr_auth_keys keys;
	struct kr_auth_key k, first;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(l, sizeof(l), "%s/link", dir);
	write_file(a, hex_a, 0600);
	assert_int_equal(kr_auth_key_file(a, &k, err, sizeof(err)), 0);
	assert_true(k.set);
	write_file(a, hex_a, 0640);
	assert_int_equal(kr_auth_key_file(a, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "group or others may read or write it (mode 0640)"));
	assert_non_null(strstr(err, a));
	write_file(a, hex_a, 0600);
	assert_int_equal(symlink(a, l), 0);
	assert_int_equal(kr_auth_key_file(l, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(kr_auth_key_file(dir, &k, err, sizeof(err)), -1);
	assert_int_equal(kr_auth_key_file(b, &k, err, sizeof(err)), -1); /* missing */
	write_file(b, "0123", 0600);
	assert_int_equal(kr_auth_key_file(b, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "4 hex digits, not 64"));
	/* no key: off; an accept file that does not exist: one key */
	assert_int_equal(kr_auth_keys_load(NULL, NULL, &keys, err, sizeof(err)), 0);
	assert_false(keys.keys[0].set);
	unlink(b);
	assert_int_equal(kr_auth_keys_load(a, b, &keys, err, sizeof(err)), 0);
	assert_true(keys.keys[0].set);
	assert_false(keys.keys[1].set);
	write_file(b, hex_b, 0600);
	assert_int_equal(kr_auth_keys_load(a, b, &keys, err, sizeof(err)), 0);
	assert_true(keys.keys[1].set);
	/* another key with the same id as a's: refused, another key wanted */
	first = key(hex_a);
	for (unsigned i = 0;; i++) {
		snprintf(hex, sizeof(hex), "%056x%08x", 0, i);
		if (key(hex).id == first.id)
			break;
	}
	write_file(b, hex, 0600);
	assert_int_equal(kr_auth_keys_load(a, b, &keys, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "same key id"));
	unlink(a);
	unlink(b);
	unlink(l);
	rmdir(dir);
}

static void
key_files_are_parsed_with_clear_errors(void **state)
{
	struct kr_auth_key k;
	char err[128], text[200];

	(void)state;
	snprintf(text, sizeof(text), "  %.32s\n%s\n", hex_a, hex_a + 32);
	assert_int_equal(kr_auth_key_parse(text, &k, err, sizeof(err)), 0);
	assert_true(k.set);
	assert_int_equal(k.bytes[31], 0x1f);
	assert_int_equal(kr_auth_key_parse("abc", &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "3 hex digits, not 64"));
	assert_int_equal(kr_auth_key_parse("zz", &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'z' is not a hex digit"));
	snprintf(text, sizeof(text), "%s00", hex_a);
	assert_int_equal(kr_auth_key_parse(text, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 64"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sealed_frames_pass_and_any_changed_bit_fails),
		cmocka_unit_test(other_keys_missing_trailers_and_rotation),
		cmocka_unit_test(the_replay_window),
		cmocka_unit_test(accepting_frames),
		cmocka_unit_test(key_files_are_parsed_with_clear_errors),
		cmocka_unit_test(key_files_are_checked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
