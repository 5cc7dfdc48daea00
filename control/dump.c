/* kraftd dump: print what a segment file or a snapshot file holds, batch by batch or
 * chunk by chunk, checking every CRC on the way (an operator's kafka-dump-log.sh). It
 * reads the file only: a running node's files may be dumped. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dump.h"
#include "kraft/crc32c.h"
#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/sm.h"
#include "kraft/snapshot.h"
#include "kraft/uuid.h"

#define PREVIEW 48

static const char *
control_name(int t)
{
	return t == KR_CONTROL_LEADER_CHANGE ? "LeaderChange"
	       : t == KR_CONTROL_VOTERS	     ? "Voters"
					     : "?";
}

static void
timestamp(int64_t us, char *buf, size_t cap)
{
	time_t s = (time_t)(us / 1000000);
	struct tm tm;

	if (gmtime_r(&s, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(buf, cap, "%" PRId64 "us", us);
	else
		snprintf(buf + strlen(buf), cap - strlen(buf), ".%06" PRId64 "Z", us % 1000000);
}

/* A value: as text if it is all printable, else its first bytes in hex */
static void
preview(const uint8_t *v, uint32_t len)
{
	bool text = true;
	uint32_t n = len < PREVIEW ? len : PREVIEW;

	for (uint32_t i = 0; i < n; i++)
		if (v[i] < 0x20 || v[i] > 0x7e)
			text = false;
	if (text)
		printf("\"%.*s\"", (int)n, (const char *)v);
	else
		for (uint32_t i = 0; i < n; i++)
			printf("%02x", v[i]);
	printf("%s", len > n ? "..." : "");
}

static uint8_t *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
		if (errno == 0)
			errno = EIO;
	}
	fclose(f);
	return buf;
}

static int
dump_segment(const char *path, const uint8_t *b, size_t len, bool records)
{
	uint32_t version = kr_get_le32(b + 8), synced = kr_get_le32(b + 12);
	uint64_t base = kr_get_le64(b + 16), next = base, batches = 0;
	bool hdr_ok = kr_get_le32(b + 28) == kr_crc32c(0, b, 28);
	size_t pos = KR_SEGMENT_HDR_BYTES;
	char ts[64];

	printf("segment %s: format %" PRIu32 ", base offset %" PRIu64 ", synced %" PRIu32
	       " bytes, %zu bytes%s\n",
	       path, version, base, synced, len, hdr_ok ? "" : " (header CRC mismatch)");
	while (pos < len) {
		struct kr_batch_hdr h;
		int rc = kr_batch_check(b + pos, len - pos, &h);
		int ct;

		if (rc != 0) {
			printf("at byte %zu: %s; %zu bytes from here not read\n", pos,
			       rc == -EAGAIN ? "an incomplete batch (a torn last write?)"
					     : "a damaged batch (CRC, length or records)",
			       len - pos);
			printf("segment: %" PRIu64 " batches, offsets [%" PRIu64 ", %" PRIu64
			       "), then damage\n",
			       batches, base, next);
			return 1;
		}
		ct = kr_batch_control_type(h.attributes);
		timestamp(h.timestamp_us, ts, sizeof(ts));
		printf("baseOffset: %" PRIu64 " lastOffset: %" PRIu64 " count: %u epoch: %" PRIu32
		       " producerId: %" PRIu64 " sequence: %" PRIu64 " size: %" PRIu32
		       " position: %zu%s%s timestamp: %s crc: 0x%08" PRIx32 " valid%s\n",
		       h.base_offset, h.base_offset + h.record_count - 1, h.record_count, h.epoch,
		       h.producer_id, h.sequence, h.length, pos, ct >= 0 ? " control: " : "",
		       ct >= 0 ? control_name(ct) : "", ts, h.crc,
		       h.base_offset != next ? " (offset gap before it)" : "");
		if (records) {
			uint32_t rp = KR_BATCH_HDR_BYTES;

			for (uint32_t i = 0; i < h.record_count; i++) {
				uint32_t v = kr_get_le32(b + pos + rp);

				printf("| offset: %" PRIu64 " length: %" PRIu32 " value: ",
				       h.base_offset + i, v);
				preview(b + pos + rp + KR_RECORD_HDR_BYTES, v);
				printf("\n");
				rp += KR_RECORD_HDR_BYTES + v;
			}
		}
		next = h.base_offset + h.record_count;
		batches++;
		pos += h.length;
	}
	printf("segment: %" PRIu64 " batches, offsets [%" PRIu64 ", %" PRIu64 "), whole\n", batches,
	       base, next);
	return hdr_ok ? 0 : 1;
}

static const char *
chunk_name(uint32_t t)
{
	return t == KR_SNAP_VOTERS	? "voters"
	       : t == KR_SNAP_PRODUCERS ? "producers"
	       : t == KR_SNAP_STATE	? "state"
					: "unknown";
}

static void
print_entry(void *arg, const uint8_t *key, uint32_t key_len, const uint8_t *val, uint32_t val_len)
{
	(void)arg;
	printf("| key: ");
	preview(key, key_len);
	printf(" length: %" PRIu32 " value: ", val_len);
	preview(val, val_len);
	printf("\n");
}

static int
dump_snapshot(const char *path, struct kr_snap_id id, bool records)
{
	char dir[KR_SNAP_DIR_MAX], why[256], cl[KR_UUID_TEXT_LEN + 1], ts[64];
	const char *slash = strrchr(path, '/');
	struct kr_snap_reader r;
	const struct kr_sm_ops *ops;
	void *sm = NULL;
	uint8_t *buf;
	uint32_t type, len;
	uint64_t n = 0, state_bytes = 0;
	int rc;
	bool load_ok = true;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
	rc = kr_snap_open(&r, NULL, dir, id, NULL, why, sizeof(why));
	if (rc != 0) {
		printf("snapshot %s: %s\n", path, why);
		return 1;
	}
	kr_uuid_format(r.meta.cluster_id, cl);
	timestamp(r.meta.last_timestamp_us, ts, sizeof(ts));
	printf("snapshot %s: end offset %" PRIu64 " (exclusive), epoch %" PRIu32
	       ", cluster %s, state machine %s, last record %s, %" PRIu64 " bytes\n",
	       path, r.meta.id.end_offset, r.meta.id.epoch, cl,
	       r.meta.sm_name[0] ? r.meta.sm_name : "(none)", ts, r.size);
	ops = kr_sm_find(r.meta.sm_name);
	if (ops != NULL)
		sm = ops->create();
	buf = malloc(KR_SNAP_CHUNK_MAX);
	if (buf == NULL) {
		kr_snap_close(&r);
		if (sm != NULL)
			ops->destroy(sm);
		printf("out of memory\n");
		return 1;
	}
	while ((rc = kr_snap_next(&r, &type, buf, KR_SNAP_CHUNK_MAX, &len, why, sizeof(why))) ==
	       1) {
		printf("chunk %" PRIu64 ": %s, %" PRIu32 " bytes\n", n++, chunk_name(type), len);
		if (type == KR_SNAP_STATE) {
			state_bytes += len;
			if (sm != NULL && load_ok && ops->load(sm, buf, len) != 0)
				load_ok = false;
		}
	}
	kr_snap_close(&r);
	free(buf);
	if (rc != 0)
		printf("snapshot: %s\n", why);
	else
		printf("snapshot: whole: %" PRIu64
		       " chunks, every CRC and the end chunk check out\n",
		       n);
	if (sm != NULL && rc == 0) {
		if (load_ok) {
			printf("state (%s): %" PRIu64 " bytes of image, %" PRIu64
			       " bytes held, digest %016" PRIx64 "\n",
			       ops->name, state_bytes, ops->bytes(sm), ops->digest(sm));
			if (records && ops->each != NULL)
				ops->each(sm, print_entry, NULL);
		} else
			printf("state (%s): the image does not load: malformed\n", ops->name);
	} else if (ops == NULL && rc == 0) {
		printf("state: %" PRIu64 " bytes of image for state machine '%s', which this "
		       "build does not know (%s)\n",
		       state_bytes, r.meta.sm_name, kr_sm_names());
	}
	if (sm != NULL)
		ops->destroy(sm);
	return rc == 0 && load_ok ? 0 : 1;
}

static void
dump_usage(FILE *f)
{
	fprintf(f, "usage: kraftd dump [--records] FILE...\n"
		   "Print a log segment's batches (--records: each record too) or a snapshot's\n"
		   "chunks and state (--records: each entry of a kv state too), checking every\n"
		   "CRC. Exit 0 if every file is whole, 1 if one is damaged or cannot be read,\n"
		   "2 on bad arguments.\n");
}

int
kr_cmd_dump(int argc, char **argv)
{
	bool records = false;
	int worst = 0, files = 0;

	for (int i = 0; i < argc; i++) {
		const char *p = argv[i], *name = strrchr(p, '/');
		struct kr_snap_id id;
		bool part;
		uint8_t *b;
		size_t len = 0;
		int rc;

		if (strcmp(p, "--records") == 0) {
			records = true;
			continue;
		}
		if (strcmp(p, "-h") == 0 || strcmp(p, "--help") == 0) {
			dump_usage(stdout);
			return 0;
		}
		if (p[0] == '-') {
			fprintf(stderr, "kraftd dump: unknown option '%s'\n", p);
			dump_usage(stderr);
			return 2;
		}
		files++;
		name = name ? name + 1 : p;
		errno = 0;
		b = slurp(p, &len);
		if (b == NULL) {
			printf("%s: cannot read: %s\n", p, strerror(errno));
			worst = 1;
			continue;
		}
		if (len >= 8 && memcmp(b, KR_SNAP_MAGIC, 8) == 0) {
			if (kr_snap_parse_name(name, &id, &part) != 1 || part) {
				printf("%s: a snapshot under a name that is not a snapshot's "
				       "(<20 digits>-<10 digits>.snapshot): not read\n",
				       p);
				rc = 1;
			} else {
				rc = dump_snapshot(p, id, records);
			}
		} else if (len >= KR_SEGMENT_HDR_BYTES && memcmp(b, KR_SEGMENT_MAGIC, 8) == 0) {
			rc = dump_segment(p, b, len, records);
		} else {
			printf("%s: neither a log segment (%s) nor a snapshot (%s)\n", p,
			       KR_SEGMENT_MAGIC, KR_SNAP_MAGIC);
			rc = 1;
		}
		free(b);
		if (rc > worst)
			worst = rc;
	}
	if (files == 0) {
		dump_usage(stderr);
		return 2;
	}
	return worst;
}
