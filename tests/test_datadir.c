/* kraftd tests: ids, properties text, the identity file, the quorum-state file, and
 * format / open of a data directory: nothing corrupt or missing is silently reset. */
#include <errno.h>
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

#include "kraft/crc32c.h"
#include "kraft/datadir.h"
#include "kraft/fileio.h"
#include "kraft/props.h"
#include "kraft/uuid.h"
#include "testutil.h"

static const uint8_t cid[KR_UUID_BYTES] = {0xd1, 0x7c, 3,  4,  5,  6,  7,  8,
					   9,	 10,   11, 12, 13, 14, 15, 16};

static int
setup(void **state)
{
	*state = tu_mkdtemp();
	return 0;
}

static int
teardown(void **state)
{
	tu_rmtree_free(*state);
	return 0;
}

static void
uuid_text_round_trips_and_matches_kafka_form(void **state)
{
	uint8_t id[KR_UUID_BYTES], back[KR_UUID_BYTES];
	char text[KR_UUID_TEXT_LEN + 1];

	(void)state;
	/* Kafka's Uuid(0x0123456789abcdef, 0xfedcba9876543210) prints as below */
	const uint8_t k[KR_UUID_BYTES] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
					  0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};

	kr_uuid_format(k, text);
	assert_string_equal(text, "ASNFZ4mrze_-3LqYdlQyEA");
	assert_int_equal(kr_uuid_parse("ASNFZ4mrze_-3LqYdlQyEA", back), 0);
	assert_memory_equal(back, k, KR_UUID_BYTES);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(kr_uuid_random(id), 0);
		kr_uuid_format(id, text);
		assert_int_equal(strlen(text), KR_UUID_TEXT_LEN);
		assert_int_equal(kr_uuid_parse(text, back), 0);
		assert_memory_equal(id, back, KR_UUID_BYTES);
	}
}

static void
uuid_parse_refuses_bad_text_and_the_zero_id(void **state)
{
	uint8_t id[KR_UUID_BYTES];

	(void)state;
	assert_int_equal(kr_uuid_parse("", id), -EINVAL);
	assert_int_equal(kr_uuid_parse("ASNFZ4mrze_-3LqYdlQyE", id), -EINVAL);	 /* 21 */
	assert_int_equal(kr_uuid_parse("ASNFZ4mrze_-3LqYdlQyEAA", id), -EINVAL); /* 23 */
	assert_int_equal(kr_uuid_parse("ASNFZ4mrze_+3LqYdlQyEA", id), -EINVAL);	 /* '+' */
	assert_int_equal(kr_uuid_parse("ASNFZ4mrze_-3LqYdlQyEB", id), -EINVAL);	 /* spare bits */
	assert_int_equal(kr_uuid_parse("AAAAAAAAAAAAAAAAAAAAAA", id), -EINVAL);	 /* zero id */
}

struct kv_list {
	char keys[8][32];
	char values[8][64];
	int n;
};

static int
collect(void *arg, const char *key, const char *value, unsigned line, char *err, size_t errlen)
{
	struct kv_list *l = arg;

	(void)line;
	if (strcmp(key, "stop") == 0) {
		snprintf(err, errlen, "stopped");
		return -E2BIG;
	}
	snprintf(l->keys[l->n], sizeof(l->keys[0]), "%s", key);
	snprintf(l->values[l->n], sizeof(l->values[0]), "%s", value);
	l->n++;
	return 0;
}

static void
props_parse_strictly_and_name_the_bad_line(void **state)
{
	struct kv_list l = {0};
	char err[128];
	const char *ok = "# comment\n\na=1\r\nb.c= x y \t\nd=\n";

	(void)state;
	assert_int_equal(kr_props_parse(ok, strlen(ok), collect, &l, err, sizeof(err)), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.keys[1], "b.c");
	assert_string_equal(l.values[1], " x y");
	assert_string_equal(l.values[2], "");
	assert_int_equal(kr_props_parse("a=1\nnoequals\n", 13, collect, &l, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "line 2: expected key=value");
	assert_int_equal(kr_props_parse("=1\n", 3, collect, &l, err, sizeof(err)), -EINVAL);
	assert_int_equal(kr_props_parse("a=\0\n", 4, collect, &l, err, sizeof(err)), -EINVAL);
	assert_int_equal(kr_props_parse("stop=1\n", 7, collect, &l, err, sizeof(err)), -E2BIG);

	int64_t v;

	assert_int_equal(kr_parse_i64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(kr_parse_i64("-1", -1, 100, &v), 0);
	assert_int_equal(kr_parse_i64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(kr_parse_i64("4x", 0, 100, &v), -EINVAL);
	assert_int_equal(kr_parse_i64("", 0, 100, &v), -EINVAL);
	assert_int_equal(kr_parse_i64(" 4", 0, 100, &v), -EINVAL);
	assert_int_equal(kr_parse_i64("99999999999999999999999", 0, INT64_MAX, &v), -ERANGE);
}

static void
quorum_state_round_trips_through_its_file(void **state)
{
	const char *dir = *state;
	struct kr_quorum_state in = {.epoch = 4000000000u, .leader_id = 3, .voted_id = 2};
	struct kr_quorum_state out;
	char err[256];

	memset(in.voted_dir, 0x5c, KR_UUID_BYTES);
	assert_int_equal(kr_quorum_state_store(NULL, dir, &in, err, sizeof(err)), 0);
	assert_int_equal(kr_quorum_state_load(NULL, dir, &out, err, sizeof(err)), 0);
	assert_int_equal(out.epoch, in.epoch);
	assert_int_equal(out.leader_id, 3);
	assert_int_equal(out.voted_id, 2);
	assert_memory_equal(out.voted_dir, in.voted_dir, KR_UUID_BYTES);
	assert_false(tu_file_exists(dir, "quorum-state.tmp"));

	in = (struct kr_quorum_state){
		.epoch = 0, .leader_id = KR_NODE_NONE, .voted_id = KR_NODE_NONE};
	assert_int_equal(kr_quorum_state_store(NULL, dir, &in, err, sizeof(err)), 0);
	assert_int_equal(kr_quorum_state_load(NULL, dir, &out, err, sizeof(err)), 0);
	assert_int_equal(out.epoch, 0);
	assert_int_equal(out.leader_id, KR_NODE_NONE);
	assert_int_equal(out.voted_id, KR_NODE_NONE);
	assert_true(kr_uuid_is_zero(out.voted_dir));
}

static int
unlink_in(const char *dir, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return unlink(path);
}

static void
load_epoch(const char *dir, uint32_t epoch)
{
	struct kr_quorum_state out;
	char err[256];
	int rc = kr_quorum_state_load(NULL, dir, &out, err, sizeof(err));

	if (rc != 0 || out.epoch != epoch)
		fail_msg("load: rc %d epoch %u, expected epoch %u (%s)", rc, out.epoch, epoch,
			 rc ? err : "");
}

/* Either copy damaged alone (any bit flipped, cut anywhere): the other is read. Both
 * damaged: refused, naming the file, never epoch 0. */
static void
quorum_state_with_any_byte_flipped_or_cut_is_refused_naming_the_file(void **state)
{
	const char *dir = *state;
	const char *copies[] = {KR_QUORUM_STATE_FILE, KR_QUORUM_MIRROR_FILE};
	struct kr_quorum_state in = {.epoch = 17, .leader_id = 1, .voted_id = 1};
	struct kr_quorum_state out;
	char err[256], orig[2][600];
	size_t n[2];

	assert_int_equal(kr_quorum_state_store(NULL, dir, &in, err, sizeof(err)), 0);
	for (int c = 0; c < 2; c++) {
		n[c] = tu_file_read(dir, copies[c], orig[c], sizeof(orig[c]));
		assert_int_equal(n[c], 512); /* every copy as long: overwrites change no length */
	}
	for (int c = 0; c < 2; c++) {
		for (size_t pos = 0; pos < n[c]; pos++) {
			for (int bit = 0; bit < 8; bit++) {
				tu_file_flip(dir, copies[c], pos, (uint8_t)(1u << bit));
				load_epoch(dir, 17); /* the other copy */
				tu_file_flip(dir, copies[1 - c], pos, (uint8_t)(1u << bit));
				err[0] = '\0';
				if (kr_quorum_state_load(NULL, dir, &out, err, sizeof(err)) !=
				    -EBADMSG)
					fail_msg("both copies flipped at bit %d of byte %zu: "
						 "accepted",
						 bit, pos);
				assert_non_null(strstr(err, KR_QUORUM_STATE_FILE));
				assert_non_null(strstr(err, "corrupt"));
				tu_file_flip(dir, copies[0], pos, (uint8_t)(1u << bit));
				tu_file_flip(dir, copies[1], pos, (uint8_t)(1u << bit));
			}
		}
		for (size_t len = 0; len < n[c]; len++) {
			tu_file_write(dir, copies[c], orig[c], len);
			load_epoch(dir, 17);
		}
		tu_file_write(dir, copies[c], orig[c], n[c]);
	}
	/* the mirror gone and the primary cut: nothing left to trust */
	assert_int_equal(unlink_in(dir, KR_QUORUM_MIRROR_FILE), 0);
	tu_file_write(dir, KR_QUORUM_STATE_FILE, orig[0], n[0] - 1);
	assert_int_equal(kr_quorum_state_load(NULL, dir, &out, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "missing"));
	tu_file_write(dir, KR_QUORUM_STATE_FILE, orig[0], n[0]);
	load_epoch(dir, 17);
}

/* The real file system, with every write and sync noted as "w:NAME" or "s:NAME" (the
 * last path component), so a test can see in which order a store touches the copies. */
static char fs_trail[512];
static char fs_names[64][64]; /* by handle */

static const char *
base_name(const char *path)
{
	const char *b = strrchr(path, '/');

	return b ? b + 1 : path;
}

static int
tr_open(void *ctx, const char *path, unsigned flags)
{
	int h = kr_fs_posix()->ops->open(ctx, path, flags);

	(void)ctx;
	if (h >= 0 && h < 64)
		snprintf(fs_names[h], sizeof(fs_names[h]), "%s", base_name(path));
	return h;
}

static void
trail(char op, int h)
{
	size_t k = strlen(fs_trail);

	snprintf(fs_trail + k, sizeof(fs_trail) - k, "%c:%s ", op,
		 h >= 0 && h < 64 ? fs_names[h] : "?");
}

static int64_t
tr_pwrite(void *ctx, int h, const void *buf, size_t len, uint64_t off)
{
	trail('w', h);
	return kr_fs_posix()->ops->pwrite(ctx, h, buf, len, off);
}

static int
tr_sync(void *ctx, int h)
{
	trail('s', h);
	return kr_fs_posix()->ops->sync(ctx, h);
}

static struct kr_fs_ops tr_ops;

static const struct kr_fs *
trail_fs(void)
{
	static struct kr_fs fs;

	tr_ops = *kr_fs_posix()->ops;
	tr_ops.open = tr_open;
	tr_ops.pwrite = tr_pwrite;
	tr_ops.sync = tr_sync;
	fs = (struct kr_fs){.ops = &tr_ops, .ctx = kr_fs_posix()->ctx};
	fs_trail[0] = '\0';
	return &fs;
}

/* The copies are ordered by sequence: a primary left behind (a lost write, or a crash
 * between the two writes) loses to a newer mirror and the reverse; a store then makes
 * both equal again, bringing the mirror level first when it lags. */
static void
quorum_state_newer_copy_wins_and_a_store_levels_both(void **state)
{
	const char *dir = *state;
	struct kr_quorum_state a = {.epoch = 5, .leader_id = KR_NODE_NONE, .voted_id = 2};
	struct kr_quorum_state b = {.epoch = 6, .leader_id = 3, .voted_id = KR_NODE_NONE};
	char err[256], old[600], cur[600], m[600];
	size_t n;

	assert_int_equal(kr_quorum_state_store(NULL, dir, &a, err, sizeof(err)), 0);
	n = tu_file_read(dir, KR_QUORUM_STATE_FILE, old, sizeof(old));
	assert_int_equal(kr_quorum_state_store(NULL, dir, &b, err, sizeof(err)), 0);
	load_epoch(dir, 6);
	tu_file_read(dir, KR_QUORUM_STATE_FILE, cur, sizeof(cur));
	tu_file_read(dir, KR_QUORUM_MIRROR_FILE, m, sizeof(m));
	assert_memory_equal(cur, m, n);
	/* the primary's last write lost: the mirror is newer */
	tu_file_write(dir, KR_QUORUM_STATE_FILE, old, n);
	load_epoch(dir, 6);
	/* a crash between the writes: the primary is newer */
	tu_file_write(dir, KR_QUORUM_STATE_FILE, cur, n);
	tu_file_write(dir, KR_QUORUM_MIRROR_FILE, old, n);
	load_epoch(dir, 6);
	/* a store now brings the mirror level before it overwrites the primary; a torn
	 * primary after that still leaves epoch 6 or the new state */
	b.epoch = 7;
	assert_int_equal(kr_quorum_state_store(trail_fs(), dir, &b, err, sizeof(err)), 0);
	assert_string_equal(fs_trail, "w:quorum-state.mirror s:quorum-state.mirror "
				      "w:quorum-state s:quorum-state "
				      "w:quorum-state.mirror s:quorum-state.mirror ");
	load_epoch(dir, 7);
	/* level copies: the primary, then the mirror, each synced before the next write */
	b.epoch = 8;
	assert_int_equal(kr_quorum_state_store(trail_fs(), dir, &b, err, sizeof(err)), 0);
	assert_string_equal(fs_trail, "w:quorum-state s:quorum-state "
				      "w:quorum-state.mirror s:quorum-state.mirror ");
	load_epoch(dir, 8);
	tu_file_read(dir, KR_QUORUM_STATE_FILE, cur, sizeof(cur));
	tu_file_read(dir, KR_QUORUM_MIRROR_FILE, m, sizeof(m));
	assert_memory_equal(cur, m, n);
	cur[n] = '\0';
	/* 1 (a), 2 (b), 3 (the mirror levelled with the primary's b), 4 (epoch 7), 5 */
	assert_non_null(strstr(cur, "sequence=5\nepoch=8\n"));
}

/* A directory written by a kraftd before the mirror (version 1, one file replaced by
 * rename) is read, and its first store adds the mirror; a store with both copies damaged
 * is refused (nothing on disk says what the node already promised). */
static void
quorum_state_version_1_is_read_and_upgraded(void **state)
{
	const char *dir = *state;
	const char *v1 = "# kraftd quorum state: replaced atomically by the node; do not edit\n"
			 "version=1\nepoch=9\nleader.id=2\nvoted.id=2\nvoted.directory.id=\n";
	struct kr_quorum_state qs = {.epoch = 10, .leader_id = KR_NODE_NONE, .voted_id = 1};
	char text[400], err[256];
	int m = snprintf(text, sizeof(text), "%s", v1);

	m += snprintf(text + m, sizeof(text) - (size_t)m, "crc32c=%08x\n",
		      kr_crc32c(0, text, (size_t)m));
	tu_file_write(dir, KR_QUORUM_STATE_FILE, text, (size_t)m);
	load_epoch(dir, 9);
	assert_false(tu_file_exists(dir, KR_QUORUM_MIRROR_FILE));
	assert_int_equal(kr_quorum_state_store(NULL, dir, &qs, err, sizeof(err)), 0);
	load_epoch(dir, 10);
	assert_int_equal(tu_file_size(dir, KR_QUORUM_STATE_FILE), 512);
	assert_int_equal(tu_file_size(dir, KR_QUORUM_MIRROR_FILE), 512);
	tu_file_flip(dir, KR_QUORUM_STATE_FILE, 100, 1);
	tu_file_flip(dir, KR_QUORUM_MIRROR_FILE, 100, 1);
	assert_int_equal(kr_quorum_state_store(NULL, dir, &qs, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "no copy"));
}

static void
quorum_state_missing_is_an_error_not_epoch_zero(void **state)
{
	const char *dir = *state;
	struct kr_quorum_state out;
	char err[256];

	assert_int_equal(kr_quorum_state_load(NULL, dir, &out, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, KR_QUORUM_STATE_FILE));
	assert_non_null(strstr(err, "missing"));
}

static void
quorum_state_text_with_a_valid_crc_but_bad_fields_is_refused(void **state)
{
	struct kr_quorum_state qs = {
		.epoch = 1, .leader_id = KR_NODE_NONE, .voted_id = KR_NODE_NONE};
	char text[512], err[256];
	int n;

	(void)state;
	n = kr_quorum_state_encode(&qs, text, sizeof(text));
	assert_true(n > 0);
	assert_int_equal(kr_quorum_state_decode(text, (size_t)n, &qs, err, sizeof(err)), 0);
	/* swap two lines and fix the checksum: the order is part of the format */
	const char *bad_bodies[] = {
		"version=1\nleader.id=-1\nepoch=1\nvoted.id=-1\nvoted.directory.id=\n",
		"version=2\nepoch=1\nleader.id=-1\nvoted.id=-1\nvoted.directory.id=\n",
		"version=1\nepoch=-1\nleader.id=-1\nvoted.id=-1\nvoted.directory.id=\n",
		"version=1\nepoch=4294967296\nleader.id=-1\nvoted.id=-1\nvoted.directory.id=\n",
		"version=1\nepoch=1\nleader.id=-2\nvoted.id=-1\nvoted.directory.id=\n",
		"version=1\nepoch=1\nleader.id=-1\nvoted.id=x\nvoted.directory.id=\n",
		"version=1\nepoch=1\nleader.id=-1\nvoted.id=-1\nvoted.directory.id=abc\n",
		"version=1\nepoch=1\nleader.id=-1\nvoted.id=-1\n",
		"version=1\nepoch=1\nleader.id=-1\nvoted.id=-1\nvoted.directory.id=\nextra=1\n",
	};
	for (size_t i = 0; i < KR_ARRAY_SIZE(bad_bodies); i++) {
		char body[400];
		int m = snprintf(body, sizeof(body),
				 "# kraftd quorum state: written in place, then its mirror; do not "
				 "edit\n%s",
				 bad_bodies[i]);

		m += snprintf(body + m, sizeof(body) - (size_t)m, "crc32c=%08x\n",
			      kr_crc32c(0, body, (size_t)m));
		if (kr_quorum_state_decode(body, (size_t)m, &qs, err, sizeof(err)) != -EBADMSG)
			fail_msg("accepted: %s", bad_bodies[i]);
	}
}

static void
format_writes_identity_and_epoch_zero_and_open_accepts_it(void **state)
{
	const char *dir = *state;
	char sub[512], err[256];
	struct kr_identity id, id2;
	struct kr_quorum_state qs;

	snprintf(sub, sizeof(sub), "%s/node1", dir);
	assert_int_equal(
		kr_datadir_format(NULL, sub, cid, 1, NULL, NULL, false, &id, err, sizeof(err)), 0);
	assert_false(kr_uuid_is_zero(id.directory_id));
	assert_int_equal(kr_datadir_open(NULL, sub, cid, 1, &id2, &qs, err, sizeof(err)), 0);
	assert_memory_equal(id2.cluster_id, cid, KR_UUID_BYTES);
	assert_int_equal(id2.node_id, 1);
	assert_memory_equal(id2.directory_id, id.directory_id, KR_UUID_BYTES);
	assert_int_equal(qs.epoch, 0);
	assert_int_equal(qs.voted_id, KR_NODE_NONE);
	assert_int_equal(qs.leader_id, KR_NODE_NONE);

	/* two formats never share a directory id; missing parents are created */
	snprintf(sub, sizeof(sub), "%s/nested/parents/node2", dir);
	assert_int_equal(
		kr_datadir_format(NULL, sub, cid, 1, NULL, NULL, false, &id2, err, sizeof(err)), 0);
	assert_memory_not_equal(id.directory_id, id2.directory_id, KR_UUID_BYTES);
}

static void
format_refuses_a_formatted_directory_unless_told_and_matching(void **state)
{
	const char *dir = *state;
	char err[256];
	struct kr_identity id, id2;
	uint8_t other[KR_UUID_BYTES];
	struct kr_quorum_state qs = {.epoch = 5, .leader_id = 2, .voted_id = 2};

	assert_int_equal(
		kr_datadir_format(NULL, dir, cid, 1, NULL, NULL, false, &id, err, sizeof(err)), 0);
	assert_int_equal(kr_quorum_state_store(NULL, dir, &qs, err, sizeof(err)), 0);
	assert_int_equal(
		kr_datadir_format(NULL, dir, cid, 1, NULL, NULL, false, &id2, err, sizeof(err)),
		-EEXIST);
	assert_non_null(strstr(err, "already formatted"));
	assert_int_equal(
		kr_datadir_format(NULL, dir, cid, 1, NULL, NULL, true, &id2, err, sizeof(err)), 1);
	assert_memory_equal(id.directory_id, id2.directory_id, KR_UUID_BYTES);
	assert_int_equal(
		kr_datadir_format(NULL, dir, cid, 2, NULL, NULL, true, &id2, err, sizeof(err)),
		-EEXIST);
	memcpy(other, cid, sizeof(other));
	other[0] ^= 1;
	assert_int_equal(
		kr_datadir_format(NULL, dir, other, 1, NULL, NULL, true, &id2, err, sizeof(err)),
		-EEXIST);
	/* none of that touched the quorum state */
	assert_int_equal(kr_quorum_state_load(NULL, dir, &qs, err, sizeof(err)), 0);
	assert_int_equal(qs.epoch, 5);
}

static void
format_will_not_reset_a_quorum_state_left_without_identity(void **state)
{
	const char *dir = *state;
	char err[256];
	struct kr_identity id;
	struct kr_quorum_state qs = {.epoch = 9, .leader_id = KR_NODE_NONE, .voted_id = 3};

	assert_int_equal(kr_quorum_state_store(NULL, dir, &qs, err, sizeof(err)), 0);
	assert_int_equal(
		kr_datadir_format(NULL, dir, cid, 1, NULL, NULL, false, &id, err, sizeof(err)),
		-EEXIST);
	assert_non_null(strstr(err, "epoch 9"));
	/* a half-done format (epoch 0, no vote, no identity) may be redone */
	qs = (struct kr_quorum_state){
		.epoch = 0, .leader_id = KR_NODE_NONE, .voted_id = KR_NODE_NONE};
	assert_int_equal(kr_quorum_state_store(NULL, dir, &qs, err, sizeof(err)), 0);
	assert_int_equal(
		kr_datadir_format(NULL, dir, cid, 1, NULL, NULL, false, &id, err, sizeof(err)), 0);
}

static void
open_refuses_missing_or_mismatched_identity_naming_the_file(void **state)
{
	const char *dir = *state;
	char err[256];
	struct kr_identity id;
	struct kr_quorum_state qs;
	uint8_t other[KR_UUID_BYTES];

	assert_int_equal(kr_datadir_open(NULL, dir, cid, 1, &id, &qs, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, KR_META_FILE));
	assert_non_null(strstr(err, "kraftd format"));
	assert_int_equal(
		kr_datadir_format(NULL, dir, cid, 1, NULL, NULL, false, &id, err, sizeof(err)), 0);
	assert_int_equal(kr_datadir_open(NULL, dir, cid, 2, &id, &qs, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "node.id is 1, expected 2"));
	memcpy(other, cid, sizeof(other));
	other[5] ^= 0x20;
	assert_int_equal(kr_datadir_open(NULL, dir, other, 1, &id, &qs, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "cluster.id is"));
	assert_non_null(strstr(err, KR_META_FILE));
}

static void
open_refuses_a_formatted_directory_that_lost_its_quorum_state(void **state)
{
	const char *dir = *state;
	char err[256], path[512];
	struct kr_identity id;
	struct kr_quorum_state qs;

	assert_int_equal(
		kr_datadir_format(NULL, dir, cid, 1, NULL, NULL, false, &id, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/%s", dir, KR_QUORUM_STATE_FILE);
	assert_int_equal(remove(path), 0);
	assert_int_equal(kr_datadir_open(NULL, dir, cid, 1, &id, &qs, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, KR_QUORUM_STATE_FILE));
}

static void
identity_file_errors_name_the_line(void **state)
{
	struct kr_identity id;
	char err[256];
	const char *cases[][2] = {
		{"version=1\ncluster.id=ASNFZ4mrze_-3LqYdlQyEA\nnode.id=1\n",
		 "missing directory.id"},
		{"version=1\ncluster.id=ASNFZ4mrze_-3LqYdlQyEA\nnode.id=-1\n"
		 "directory.id=ASNFZ4mrze_-3LqYdlQyEA\n",
		 "line 3: node.id '-1'"},
		{"version=1\nversion=1\n", "line 2: 'version' given twice"},
		{"version=1\ncolour=blue\n", "line 2: unknown key 'colour'"},
		{"version=7\n", "line 1: version '7'"},
		{"cluster.id=nope\n", "line 1: cluster.id 'nope'"},
	};

	(void)state;
	for (size_t i = 0; i < KR_ARRAY_SIZE(cases); i++) {
		assert_int_equal(
			kr_identity_decode(cases[i][0], strlen(cases[i][0]), &id, err, sizeof(err)),
			-EINVAL);
		if (strstr(err, cases[i][1]) == NULL)
			fail_msg("case %zu: '%s' does not say '%s'", i, err, cases[i][1]);
	}
}

static void
lock_is_exclusive_and_names_the_holder_pid(void **state)
{
	const char *dir = *state;
	char err[1024], pid[32], meta[600];
	struct kr_identity id;
	int fd = -1, fd2 = -1;

	assert_int_equal(kr_datadir_lock_holder(dir), 0); /* no lock file yet */
	assert_int_equal(kr_datadir_lock(dir, &fd, err, sizeof(err)), 0);
	/* flock is per open file: a second open, even in this process, is refused */
	assert_int_equal(kr_datadir_lock(dir, &fd2, err, sizeof(err)), -EBUSY);
	snprintf(pid, sizeof(pid), "pid %ld", (long)getpid());
	if (strstr(err, pid) == NULL || strstr(err, "in use") == NULL)
		fail_msg("the refusal does not name the holder: %s", err);
	assert_int_equal(kr_datadir_lock_holder(dir), (int)getpid());
	/* format takes the lock too: it changes nothing in a directory in use */
	assert_int_equal(
		kr_datadir_format(NULL, dir, cid, 1, NULL, NULL, false, &id, err, sizeof(err)),
		-EBUSY);
	snprintf(meta, sizeof(meta), "%s/%s", dir, KR_META_FILE);
	assert_int_equal(access(meta, F_OK), -1);
	close(fd);
	assert_int_equal(kr_datadir_lock_holder(dir), 0);
	assert_int_equal(kr_datadir_lock(dir, &fd2, err, sizeof(err)), 0);
	close(fd2);
	/* a directory that does not exist says so */
	assert_int_equal(kr_datadir_lock("/nonexistent/kraftd", &fd, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "kraftd format"));
}

static void
voter_lists_parse_strictly_with_or_without_directory_ids(void **state)
{
	struct kr_voter_set s;
	char err[512], text[KR_VOTERS_TEXT_MAX];
	const char *with = "1@127.0.0.1:9093:ASNFZ4mrze_-3LqYdlQyEA, 2@10.0.0.2:9094:"
			   "AgMEBQYHCAkKCwwNDg8QEQ";
	const struct {
		const char *text;
		bool dirs;
		const char *says;
	} bad[] = {
		{"1@127.0.0.1:9093", true, "no directory id"},
		{"1@127.0.0.1:9093:ASNFZ4mrze_-3LqYdlQyEA", false, "--initial-controllers"},
		{"1@127.0.0.1:9093:nope", true, "not a 22-character id"},
		{"1@127.0.0.1:9093:ASNFZ4mrze_-3LqYdlQyEA,2@127.0.0.2:9093:ASNFZ4mrze_-3LqYdlQyEA",
		 true, "share a directory id"},
		{"1@127.0.0.1:9093,1@127.0.0.2:9093", false, "listed twice"},
		{"1@127.0.0.1:9093,2@127.0.0.1:9093", false, "share address"},
		{"1@127.0.0.1:9093,", false, "trailing comma"},
		{"x@127.0.0.1:9093", false, "not a node id"},
		{"1@host:9093", false, "hostnames are not resolved"},
	};

	(void)state;
	assert_int_equal(kr_voters_parse(with, true, "L", &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.v[1].id, 2);
	assert_int_equal(s.v[1].ep.port, 9094);
	assert_int_equal(s.v[1].dir[0], 2);
	assert_int_equal(kr_voters_find(&s, 2), 1);
	assert_int_equal(kr_voters_find(&s, 3), -1);
	assert_true(kr_voters_format(&s, true, text, sizeof(text)) > 0);
	assert_string_equal(text, "1@127.0.0.1:9093:ASNFZ4mrze_-3LqYdlQyEA,2@10.0.0.2:9094:"
				  "AgMEBQYHCAkKCwwNDg8QEQ");
	assert_int_equal(kr_voters_parse("", true, "L", &s, err, sizeof(err)), 0);
	assert_int_equal(s.n, 0);
	for (size_t i = 0; i < KR_ARRAY_SIZE(bad); i++) {
		assert_int_equal(
			kr_voters_parse(bad[i].text, bad[i].dirs, "L", &s, err, sizeof(err)),
			-EINVAL);
		if (strstr(err, bad[i].says) == NULL)
			fail_msg("'%s': '%s' does not say '%s'", bad[i].text, err, bad[i].says);
	}
}

static void
format_records_the_bootstrap_voters_and_takes_its_listed_directory_id(void **state)
{
	const char *dir = *state;
	char sub[512], err[1024], path[600], buf[KR_DATADIR_FILE_MAX];
	struct kr_voter_set initial, got;
	struct kr_identity id;
	int n;

	assert_int_equal(kr_voters_parse("1@127.0.0.1:9093:ASNFZ4mrze_-3LqYdlQyEA,2@127.0.0.2:"
					 "9093:AgMEBQYHCAkKCwwNDg8QEQ",
					 true, "L", &initial, err, sizeof(err)),
			 0);
	/* an initial voter takes its directory id from the list */
	snprintf(sub, sizeof(sub), "%s/v2", dir);
	assert_int_equal(
		kr_datadir_format(NULL, sub, cid, 2, &initial, NULL, false, &id, err, sizeof(err)),
		0);
	assert_memory_equal(id.directory_id, initial.v[1].dir, KR_UUID_BYTES);
	assert_int_equal(kr_bootstrap_load(NULL, sub, &got, err, sizeof(err)), 0);
	assert_int_equal(got.n, 2);
	assert_memory_equal(&got.v[0], &initial.v[0], sizeof(got.v[0]));
	assert_memory_equal(&got.v[1], &initial.v[1], sizeof(got.v[1]));
	/* a node not in the list (an observer) gets a random one and knows the voters */
	snprintf(sub, sizeof(sub), "%s/o5", dir);
	assert_int_equal(
		kr_datadir_format(NULL, sub, cid, 5, &initial, NULL, false, &id, err, sizeof(err)),
		0);
	assert_memory_not_equal(id.directory_id, initial.v[0].dir, KR_UUID_BYTES);
	assert_memory_not_equal(id.directory_id, initial.v[1].dir, KR_UUID_BYTES);
	assert_int_equal(kr_bootstrap_load(NULL, sub, &got, err, sizeof(err)), 0);
	assert_int_equal(got.n, 2);
	/* a plain format is a joining directory: an empty list */
	snprintf(sub, sizeof(sub), "%s/j1", dir);
	assert_int_equal(
		kr_datadir_format(NULL, sub, cid, 1, NULL, NULL, false, &id, err, sizeof(err)), 0);
	assert_int_equal(kr_bootstrap_load(NULL, sub, &got, err, sizeof(err)), 0);
	assert_int_equal(got.n, 0);
	/* without the file (formatted before directory ids): -ENOENT, not an error text */
	snprintf(path, sizeof(path), "%s/%s", sub, KR_BOOTSTRAP_FILE);
	n = kr_read_file(NULL, sub, KR_BOOTSTRAP_FILE, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(remove(path), 0);
	assert_int_equal(kr_bootstrap_load(NULL, sub, &got, err, sizeof(err)), -ENOENT);
	/* any byte changed is refused, naming the file */
	snprintf(sub, sizeof(sub), "%s/v2", dir);
	n = kr_read_file(NULL, sub, KR_BOOTSTRAP_FILE, buf, sizeof(buf));
	for (int i = 0; i < n; i++) {
		char copy[KR_DATADIR_FILE_MAX];

		memcpy(copy, buf, (size_t)n);
		copy[i] ^= 0x04;
		assert_int_equal(kr_bootstrap_decode(copy, (size_t)n, &got, err, sizeof(err)),
				 -EBADMSG);
		assert_int_equal(kr_bootstrap_decode(copy, (size_t)i, &got, err, sizeof(err)),
				 -EBADMSG);
	}
	assert_int_equal(kr_bootstrap_decode(buf, (size_t)n, &got, err, sizeof(err)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(uuid_text_round_trips_and_matches_kafka_form),
		cmocka_unit_test(uuid_parse_refuses_bad_text_and_the_zero_id),
		cmocka_unit_test(props_parse_strictly_and_name_the_bad_line),
		cmocka_unit_test(quorum_state_text_with_a_valid_crc_but_bad_fields_is_refused),
		cmocka_unit_test(identity_file_errors_name_the_line),
#define DIR_TEST(t) cmocka_unit_test_setup_teardown(t, setup, teardown)
		DIR_TEST(quorum_state_round_trips_through_its_file),
		DIR_TEST(quorum_state_with_any_byte_flipped_or_cut_is_refused_naming_the_file),
		DIR_TEST(quorum_state_missing_is_an_error_not_epoch_zero),
		DIR_TEST(quorum_state_newer_copy_wins_and_a_store_levels_both),
		DIR_TEST(quorum_state_version_1_is_read_and_upgraded),
		DIR_TEST(format_writes_identity_and_epoch_zero_and_open_accepts_it),
		DIR_TEST(format_refuses_a_formatted_directory_unless_told_and_matching),
		DIR_TEST(format_will_not_reset_a_quorum_state_left_without_identity),
		DIR_TEST(open_refuses_missing_or_mismatched_identity_naming_the_file),
		DIR_TEST(open_refuses_a_formatted_directory_that_lost_its_quorum_state),
		DIR_TEST(lock_is_exclusive_and_names_the_holder_pid),
		DIR_TEST(format_records_the_bootstrap_voters_and_takes_its_listed_directory_id),
#undef DIR_TEST
		cmocka_unit_test(voter_lists_parse_strictly_with_or_without_directory_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
