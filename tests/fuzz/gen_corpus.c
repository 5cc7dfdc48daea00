/* kraftd: writes the fuzz targets' seed corpus from the current encoders, so the seeds
 * always match the format. Usage: gen_corpus DIR (creates DIR/<target>/seed-N). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "kraft/crc32c.h"
#include "kraft/datadir.h"
#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/wire.h"
#include "samples.h"

static const char *root;

static void
put(const char *target, int n, const void *buf, size_t len)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, target);
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
	snprintf(path, sizeof(path), "%s/%s/seed-%d", root, target, n);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void
frames_and_bodies(void)
{
	static uint8_t buf[8192];
	char target[64];

	for (size_t i = 0; i < smp_api_count; i++) {
		struct kr_msg m;
		struct kr_frame_hdr h;
		int n = smp_frame(smp_apis[i], buf, sizeof(buf), &m);

		if (n < 0)
			exit(1);
		put("fuzz_frame", (int)i, buf, (size_t)n);
		snprintf(target, sizeof(target), "fuzz_body_%s", kr_api_name(smp_apis[i]));
		for (char *p = target; *p; p++)
			*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		put(target, 0, buf + KR_WIRE_HDR_BYTES, (size_t)n - KR_WIRE_HDR_BYTES);
		smp_hdr(&h);
		h.flags = KR_FRAME_F_AUTH;
		n = kr_frame_encode(buf, sizeof(buf), &h, &m);
		put("fuzz_frame", 100 + (int)i, buf, (size_t)n);
		put("fuzz_auth", (int)i, buf, (size_t)n);
	}
}

static void
logs(void)
{
	static uint8_t buf[4 * KR_BATCH_BYTES_MAX];
	uint32_t n = 0, a, b;

	a = smp_batch(buf, sizeof(buf), 0, 1, 3, 10);
	b = smp_batch(buf + a, sizeof(buf) - a, 3, 1, 1, 40);
	n = a + b;
	n += smp_batch(buf + n, sizeof(buf) - n, 4, 2, 5, 7);
	put("fuzz_log_scan", 0, buf, n);
	put("fuzz_log_scan", 1, buf, n - 5); /* torn */
	buf[a + 20] ^= 0x40;		     /* a damaged middle batch */
	put("fuzz_log_scan", 2, buf, n);
	buf[a + 20] ^= 0x40;

	/* fuzz_log_records: two batches whose values carry batch images, cut or flipped */
	{
		static uint8_t rec[3 + 2 * 200];

		memset(rec, 'v', sizeof(rec));
		rec[1] = 77;
		smp_batch(rec + 3, 120, 2, 1, 1, 16); /* base 2 = the offset after them */
		smp_batch(rec + 3 + 200, 120, 1ull << 40, 5, 1, 16);
		rec[0] = 1; /* two batches, cut */
		put("fuzz_log_records", 0, rec, sizeof(rec));
		rec[0] = 0x81; /* two batches, a byte flipped */
		put("fuzz_log_records", 1, rec, sizeof(rec));
	}

	uint8_t with_mode[sizeof(buf) + 1];

	for (uint8_t mode = 0; mode < 4; mode += 2) {
		with_mode[0] = mode;
		memcpy(with_mode + 1, buf, n);
		put("fuzz_log_open", mode, with_mode, n + 1);
		put("fuzz_log_open", mode + 1, with_mode, n - 3);
	}
}

static void
files(void)
{
	char text[KR_DATADIR_FILE_MAX];
	struct kr_quorum_state qs = {.epoch = 7, .leader_id = 2, .voted_id = 2};
	struct kr_identity id = {.node_id = 3};
	int n;

	n = kr_quorum_state_encode(&qs, text, sizeof(text));
	put("fuzz_quorum_state", 0, text, (size_t)n);
	memset(qs.voted_dir, 0x77, sizeof(qs.voted_dir));
	qs.leader_id = -1;
	n = kr_quorum_state_encode(&qs, text, sizeof(text));
	put("fuzz_quorum_state", 1, text, (size_t)n);
	/* version 1 (read, never written now): no sequence, no padding */
	n = snprintf(text, sizeof(text),
		     "# kraftd quorum state: replaced atomically by the node; do not edit\n"
		     "version=1\nepoch=7\nleader.id=2\nvoted.id=2\nvoted.directory.id=\n");
	n += snprintf(text + n, sizeof(text) - (size_t)n, "crc32c=%08" PRIx32 "\n",
		      kr_crc32c(0, text, (size_t)n));
	put("fuzz_quorum_state", 2, text, (size_t)n);
	memset(id.cluster_id, 0x42, sizeof(id.cluster_id));
	memset(id.directory_id, 0x24, sizeof(id.directory_id));
	n = kr_identity_encode(&id, text, sizeof(text));
	put("fuzz_identity", 0, text, (size_t)n);

	struct kr_voter_set vs = {.n = 2};

	vs.v[0] = (struct kr_voter){.id = 1, .ep = {0x7f000001, 9093}};
	vs.v[1] = (struct kr_voter){.id = 2, .ep = {0x0a000002, 9094}};
	memset(vs.v[0].dir, 0x11, KR_UUID_BYTES);
	memset(vs.v[1].dir, 0x22, KR_UUID_BYTES);
	n = kr_bootstrap_encode(&vs, text, sizeof(text));
	put("fuzz_bootstrap_voters", 0, text, (size_t)n);
	vs.n = 0;
	n = kr_bootstrap_encode(&vs, text, sizeof(text));
	put("fuzz_bootstrap_voters", 1, text, (size_t)n);

	static const char *const configs[] = {
		"node.id=1\ncluster.id=iczt5OK4ULaPwd3hRaNtVg\n"
		"controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.2:9093\n"
		"metadata.log.dir=/tmp/k1\n",
		"! Kafka's way\r\nnode.id : 4\r\ncluster.id iczt5OK4ULaPwd3hRaNtVg\r\n"
		"controller.quorum.bootstrap.servers=127.0.0.1:9093, \\\n   127.0.0.2:9093\n"
		"kraftd.listener=127.0.0.4:9093\nmetadata.log.dir=/tmp/k\\u00e94\n",
		"node.id=1\nnode.id=2\nbogus=\\u12\nkraftd.durability=tape\n",
	};
	for (size_t i = 0; i < sizeof(configs) / sizeof(configs[0]); i++)
		put("fuzz_config", (int)i, configs[i], strlen(configs[i]));
}

/* fuzz_snapshot: damage byte, where (2 bytes), then three payloads; the state third a
 * kv image of two entries */
static void
snapshots(void)
{
	uint8_t in[3 + 3 * 30] = {0};

	for (int i = 0; i < 30; i++)
		in[3 + i] = (uint8_t)i;
	kr_put_le64(in + 3 + 60, 7);
	kr_put_le32(in + 3 + 68, 3);
	memcpy(in + 3 + 72, "abc", 3);
	kr_put_le64(in + 3 + 75, 9);
	kr_put_le32(in + 3 + 83, 3);
	memcpy(in + 3 + 87, "xyz", 3);
	for (int d = 0; d < 3; d++) {
		in[0] = (uint8_t)d;
		in[1] = (uint8_t)(40 + 17 * d);
		put("fuzz_snapshot", d, in, sizeof(in));
	}
}

/* fuzz_reasm: a 3000-byte message of 512-byte fragments from sender 1 (id 2): its first
 * four, in order, then some of them again with a copy, released once whole */
static void
fragments(void)
{
	static const uint8_t order[2][5] = {{0, 1, 2, 3, 3}, {2, 0, 2, 1, 0}};
	uint8_t in[5 * 8];

	for (int o = 0; o < 2; o++) {
		for (int i = 0; i < 5; i++) {
			uint8_t *b = in + i * 8;

			b[0] = (uint8_t)(1 | 2 << 2);
			b[1] = 2999 & 0xff;
			b[2] = 2999 >> 8;
			b[3] = 127; /* (127 % 64 + 1) * 8: 512-byte fragments */
			b[4] = order[o][i];
			b[5] = 1;
			b[6] = 3;
			b[7] = 1;
		}
		put("fuzz_reasm", o, in, sizeof(in));
	}
}

/* fuzz_fragments: client 0's message 1 (20 records, 512-byte fragments) sent whole in
 * order, then client 2's in reverse; a message resent under a new id after its third
 * fragment and some time; one fragment changed of each kind; a wrong whole message */
static void
core_fragments(void)
{
	static const uint8_t seeds[3][6][4] = {
		{{0x84, 0, 4, 18},
		 {0xa2, 0, 4, 30},
		 {0x03, 2, 8, 5},
		 {0xd3, 200, 0, 0},
		 {0x93, 0, 8, 5},
		 {0x84, 0, 4, 18}},
		{{0x01, 0, 2, 9},
		 {0xb1, 1, 2, 9},
		 {0xc1, 1, 2, 9},
		 {0xe1, 0, 2, 9},
		 {0xf1, 2, 2, 9},
		 {0x81, 0, 2, 9}},
		{{0x86, 0, 6, 0x90},
		 {0x8a, 0, 6, 0xb0},
		 {0x8e, 0, 6, 0xd0},
		 {0x82, 0, 6, 0xf0},
		 {0xd0, 255, 0, 0},
		 {0xd0, 255, 0, 0}},
	};

	for (int i = 0; i < 3; i++)
		put("fuzz_fragments", i, seeds[i], sizeof(seeds[i]));
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_corpus DIR\n");
		return 2;
	}
	root = argv[1];
	if (mkdir(root, 0755) != 0 && errno != EEXIST) {
		perror(root);
		return 1;
	}
	frames_and_bodies();
	logs();
	files();
	snapshots();
	fragments();
	core_fragments();
	return 0;
}
