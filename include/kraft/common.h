/* kraftd: types, sentinels and bounds shared by both planes, the codec and storage.
 * Every bound that another module's buffer depends on lives here. */
#ifndef KRAFT_COMMON_H
#define KRAFT_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* An offset is a record's position in the log; valid offsets are 0..KR_OFFSET_MAX. */
#define KR_OFFSET_MAX ((uint64_t)INT64_MAX)
/* "No offset" / "unknown" (for example a new leader's high watermark). */
#define KR_OFFSET_NONE UINT64_MAX

/* Node ids are non-negative; -1 means "none" (no leader known, no vote cast, a client). */
#define KR_NODE_NONE (-1)

/* Wall-clock or monotonic times in microseconds; -1 means "never" / "unknown". */
#define KR_TIME_NONE (-1)

/* 128-bit identifiers: cluster id and directory id (Kafka's Uuid). */
#define KR_UUID_BYTES 16
/* Text form: URL-safe base64 without padding, as Kafka prints a Uuid (22 characters). */
#define KR_UUID_TEXT_LEN 22

/* Quorum bounds. The voter set is static configuration; observers come and go. */
#define KR_VOTERS_MAX 16
#define KR_OBSERVERS_MAX 16
#define KR_REPLICAS_MAX (KR_VOTERS_MAX + KR_OBSERVERS_MAX)

/* Record batch bounds (the log format; see include/kraft/log.h). A batch is the unit of
 * append, replication and truncation. KR_BATCH_BYTES_MAX is a format limit (anything
 * larger is corruption): Kafka's message.max.bytes default, 1 MiB + 12; a cluster may
 * take less. A batch larger than a port's datagram travels as fragments (wire.h).
 * Records per batch: what the header's 16-bit count holds, more than Kafka's controller
 * writes in one batch (10 000), and a 1 MiB batch of records up to 12 bytes each. */
#define KR_BATCH_BYTES_MAX ((1u << 20) + 12u)
#define KR_BATCH_RECORDS_MAX 65535u

#define KR_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* The columns of a two-column X-macro table X(name, text), as string initializers. */
#define KR_X_NAME(n, text) #n,
#define KR_X_TEXT(n, text) text,
/* Define `const char *fn(unsigned i)`: row i's name (KR_X_NAME) or text (KR_X_TEXT) of
 * TABLE, or "?" past its end. One definition for every counter and reason table. */
#define KR_TABLE_LOOKUP(fn, TABLE, COLUMN)                           \
	const char *fn(unsigned i)                                   \
	{                                                            \
		static const char *const column[] = {TABLE(COLUMN)}; \
                                                                     \
		return i < KR_ARRAY_SIZE(column) ? column[i] : "?";  \
	}

static inline int
kr_uuid_is_zero(const uint8_t id[KR_UUID_BYTES])
{
	uint8_t acc = 0;

	for (int i = 0; i < KR_UUID_BYTES; i++)
		acc |= id[i];
	return acc == 0;
}

/* A snapshot's id (include/kraft/snapshot.h): where it ends and the epoch it ends in. */
struct kr_snap_id {
	uint64_t end_offset; /* exclusive */
	uint32_t epoch;	     /* of the last record it contains */
};
/* The largest snapshot file frames may name (1 TiB): positions and sizes above are refused. */
#define KR_SNAP_BYTES_MAX (1ull << 40)

#endif /* KRAFT_COMMON_H */
