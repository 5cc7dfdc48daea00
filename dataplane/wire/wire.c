/* kraftd: the frame codec. The layout is specified in include/kraft/wire.h; this file is
 * the only code that reads or writes it. No allocation; every length is checked. */
#include <string.h>

#include "kraft/crc32c.h"
#include "kraft/errors.h"
#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/voterset.h"
#include "kraft/wire.h"

/* Header field offsets (wire.h) */
#define H_MAGIC 0
#define H_VERSION 4
#define H_API 5
#define H_API_VERSION 6
#define H_FLAGS 7
#define H_CLUSTER 8
#define H_VOTER_HASH 24
#define H_SENDER 32
#define H_CORRELATION 36
#define H_BODY_LEN 40
#define H_CRC 44

_Static_assert(H_CRC + 4 == KR_WIRE_HDR_BYTES, "header layout");
/* what the control plane and the management answers send fits one datagram */
#define DGRAM_BODY_MAX (KR_WIRE_UDP_PAYLOAD_MAX - KR_WIRE_HDR_BYTES - KR_WIRE_AUTH_BYTES)
_Static_assert(KR_END_EPOCH_FIXED_BYTES + 4 * KR_VOTERS_MAX <= DGRAM_BODY_MAX, "END_EPOCH");
_Static_assert(KR_DESCRIBE_RESP_FIXED_BYTES + KR_REPLICA_INFO_BYTES * KR_REPLICAS_MAX <=
		       DGRAM_BODY_MAX,
	       "DESCRIBE_QUORUM_RESP");
_Static_assert(KR_NODES_RESP_FIXED_BYTES + KR_NODE_INFO_BYTES * KR_REPLICAS_MAX <= DGRAM_BODY_MAX,
	       "DESCRIBE_NODES_RESP");
/* the largest batch fits one message: an append, a fetch answer, a read answer */
_Static_assert(KR_BATCH_BYTES_MAX + KR_FETCH_RESP_FIXED_BYTES <= KR_WIRE_BODY_MAX, "FETCH_RESP");
_Static_assert(KR_BATCH_BYTES_MAX + KR_READ_RESP_FIXED_BYTES <= KR_WIRE_BODY_MAX, "READ_RESP");
_Static_assert(KR_BATCH_BYTES_MAX + KR_APPEND_FIXED_BYTES <= KR_WIRE_BODY_MAX, "APPEND");
_Static_assert(KR_VOTERS_MAX <= 255 && KR_OBSERVERS_MAX <= 255, "counts are one byte");

static const struct {
	const char *name;
	uint8_t max_version;
	uint8_t client;
} api_info[KR_API_LIMIT] = {
#define KR_API_INFO(n, key, maxv, cl) [key] = {#n, maxv, cl},
	KR_API_TABLE(KR_API_INFO)
#undef KR_API_INFO
};

static KR_TABLE_LOOKUP(status_name, KR_WIRE_STATUS_TABLE,
		       KR_X_NAME) static KR_TABLE_LOOKUP(status_text, KR_WIRE_STATUS_TABLE,
							 KR_X_TEXT)

	const char *kr_wire_status_name(int status)
{
	return status_name((unsigned)(status < 0 ? -status : status));
}

const char *
kr_wire_status_text(int status)
{
	return status_text((unsigned)(status < 0 ? -status : status));
}

const char *
kr_api_name(unsigned api)
{
	return api < KR_API_LIMIT ? api_info[api].name : NULL;
}

static int
api_known(unsigned api)
{
	return api < KR_API_LIMIT && api_info[api].name != NULL;
}

static int
all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* ---- frames ---- */

int
kr_frame_peek(const uint8_t *buf, size_t len, struct kr_frame_peek *out)
{
	if (len < KR_WIRE_HDR_BYTES)
		return -KR_WIRE_ETRUNCATED;
	if (memcmp(buf + H_MAGIC, KR_WIRE_MAGIC, 4) != 0)
		return -KR_WIRE_EMAGIC;
	out->api = buf[H_API];
	out->flags = buf[H_FLAGS];
	out->correlation_id = kr_get_le32(buf + H_CORRELATION);
	return 0;
}

int
kr_frame_decode(const struct kr_wire_ctx *ctx, const uint8_t *buf, size_t len, struct kr_frame *out)
{
	if (len < KR_WIRE_HDR_BYTES)
		return -KR_WIRE_ETRUNCATED;
	if (memcmp(buf + H_MAGIC, KR_WIRE_MAGIC, 4) != 0)
		return -KR_WIRE_EMAGIC;
	if (buf[H_VERSION] != KR_WIRE_VERSION)
		return -KR_WIRE_EVERSION;

	uint32_t body_len = kr_get_le32(buf + H_BODY_LEN);

	if (body_len > KR_WIRE_BODY_MAX)
		return -KR_WIRE_EOVERSIZED;

	uint8_t flags = buf[H_FLAGS];
	size_t need = (size_t)KR_WIRE_HDR_BYTES + body_len +
		      ((flags & KR_FRAME_F_AUTH) ? KR_WIRE_AUTH_BYTES : 0);

	if (len < need)
		return -KR_WIRE_ETRUNCATED;
	if (len > need)
		return -KR_WIRE_ETRAILING;

	uint32_t crc = kr_crc32c(0, buf, H_CRC);

	crc = kr_crc32c(crc, buf + KR_WIRE_HDR_BYTES, body_len);
	if (crc != kr_get_le32(buf + H_CRC))
		return -KR_WIRE_ECRC;

	unsigned api = buf[H_API];

	if (!api_known(api))
		return -KR_WIRE_EAPI;
	if (buf[H_API_VERSION] > api_info[api].max_version)
		return -KR_WIRE_EAPIVERSION;
	if (flags & ~KR_FRAME_F_ALL)
		return -KR_WIRE_EFLAGS;

	const uint8_t *cluster = buf + H_CLUSTER;
	uint64_t voter_hash = kr_get_le64(buf + H_VOTER_HASH);

	if (ctx != NULL) {
		int client = api_info[api].client;

		if (!(client && all_zero(cluster, KR_UUID_BYTES)) &&
		    memcmp(cluster, ctx->cluster_id, KR_UUID_BYTES) != 0)
			return -KR_WIRE_ECLUSTER;
		if (!(client && voter_hash == 0) && voter_hash != ctx->voter_set_hash &&
		    !(ctx->dynamic && (voter_hash == 0 || ctx->voter_set_hash == 0)))
			return -KR_WIRE_EVOTERSET;
	}

	out->hdr.api = (uint8_t)api;
	out->hdr.api_version = buf[H_API_VERSION];
	out->hdr.flags = flags;
	memcpy(out->hdr.cluster_id, cluster, KR_UUID_BYTES);
	out->hdr.voter_set_hash = voter_hash;
	out->hdr.sender_id = (int32_t)kr_get_le32(buf + H_SENDER);
	out->hdr.correlation_id = kr_get_le32(buf + H_CORRELATION);
	out->body = buf + KR_WIRE_HDR_BYTES;
	out->body_len = body_len;
	out->auth = (flags & KR_FRAME_F_AUTH) ? buf + KR_WIRE_HDR_BYTES + body_len : NULL;
	return 0;
}

/* The header at buf for a body of body_len bytes, the last tail_len of them at tail
 * instead of in buf (they go out from there: kr_frame_encode_ext), the CRC over both. */
static int
seal_parts(uint8_t *buf, size_t cap, const struct kr_frame_hdr *h, uint32_t body_len,
	   const uint8_t *tail, uint32_t tail_len)
{
	if (h->flags & ~KR_FRAME_F_ALL || (tail_len > 0 && (h->flags & KR_FRAME_F_AUTH)))
		return -KR_WIRE_EFLAGS;
	if (body_len > KR_WIRE_BODY_MAX)
		return -KR_WIRE_EOVERSIZED;

	size_t total = (size_t)KR_WIRE_HDR_BYTES + body_len +
		       ((h->flags & KR_FRAME_F_AUTH) ? KR_WIRE_AUTH_BYTES : 0);

	if (cap < total)
		return -KR_WIRE_ENOSPACE;

	memcpy(buf + H_MAGIC, KR_WIRE_MAGIC, 4);
	buf[H_VERSION] = KR_WIRE_VERSION;
	buf[H_API] = h->api;
	buf[H_API_VERSION] = h->api_version;
	buf[H_FLAGS] = h->flags;
	memcpy(buf + H_CLUSTER, h->cluster_id, KR_UUID_BYTES);
	kr_put_le64(buf + H_VOTER_HASH, h->voter_set_hash);
	kr_put_le32(buf + H_SENDER, (uint32_t)h->sender_id);
	kr_put_le32(buf + H_CORRELATION, h->correlation_id);
	kr_put_le32(buf + H_BODY_LEN, body_len);

	uint32_t crc = kr_crc32c(0, buf, H_CRC);

	crc = kr_crc32c(crc, buf + KR_WIRE_HDR_BYTES, body_len - tail_len);
	if (tail_len > 0)
		crc = kr_crc32c(crc, tail, tail_len);
	kr_put_le32(buf + H_CRC, crc);
	if (h->flags & KR_FRAME_F_AUTH)
		memset(buf + KR_WIRE_HDR_BYTES + body_len, 0, KR_WIRE_AUTH_BYTES);
	return (int)(total - tail_len);
}

int
kr_frame_seal(uint8_t *buf, size_t cap, const struct kr_frame_hdr *h, uint32_t body_len)
{
	return seal_parts(buf, cap, h, body_len, NULL, 0);
}

/* ---- record sections and batch runs ---- */

int
kr_records_check(const uint8_t *p, uint32_t len, uint32_t count)
{
	uint32_t pos = 0;

	if (count == 0 || count > KR_BATCH_RECORDS_MAX)
		return -KR_WIRE_EFIELD;
	for (uint32_t i = 0; i < count; i++) {
		if (len - pos < KR_RECORD_HDR_BYTES)
			return -KR_WIRE_EFIELD;

		uint32_t v = kr_get_le32(p + pos);

		pos += KR_RECORD_HDR_BYTES;
		if (v > len - pos)
			return -KR_WIRE_EFIELD;
		pos += v;
	}
	return pos == len ? 0 : -KR_WIRE_EFIELD;
}

/* Whole batches back to back: each stated length is in bounds and they tile len exactly.
 * Their CRCs are the log's business (kr_batch_check) when they are appended. */
static int
batches_tile(const uint8_t *p, uint32_t len)
{
	uint32_t pos = 0;

	while (pos < len) {
		if (len - pos < KR_BATCH_HDR_BYTES)
			return -KR_WIRE_EFIELD;

		uint32_t blen = kr_get_le32(p + pos + 4);

		if (blen < KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES || blen > KR_BATCH_BYTES_MAX ||
		    blen > len - pos)
			return -KR_WIRE_EFIELD;
		pos += blen;
	}
	return 0;
}

/* ---- bodies ---- */

static int
get_error(const uint8_t *p, uint16_t *err)
{
	*err = kr_get_le16(p);
	return kr_error_known(*err) ? 0 : -KR_WIRE_EFIELD;
}

/* A snapshot id a frame may name: it ends past offset 0, in an epoch a leader had. */
static bool
snap_id_ok(uint64_t end_offset, uint32_t epoch)
{
	return end_offset >= 1 && end_offset <= KR_OFFSET_MAX && epoch >= 1;
}

static int
dec_vote(const uint8_t *b, uint32_t n, struct kr_vote_req *m)
{
	if (n != KR_VOTE_BYTES)
		return -KR_WIRE_EBODYLEN;
	if ((b[20] & ~KR_VOTE_F_PRE_VOTE) || !all_zero(b + 21, 3))
		return -KR_WIRE_EFIELD;
	m->epoch = kr_get_le32(b);
	m->last_epoch = kr_get_le32(b + 4);
	m->last_offset = kr_get_le64(b + 8);
	m->voter_id = (int32_t)kr_get_le32(b + 16);
	m->pre_vote = b[20] & KR_VOTE_F_PRE_VOTE;
	memcpy(m->candidate_dir, b + 24, KR_UUID_BYTES);
	memcpy(m->voter_dir, b + 40, KR_UUID_BYTES);
	return 0;
}

static int
enc_vote(uint8_t *b, const struct kr_vote_req *m)
{
	kr_put_le32(b, m->epoch);
	kr_put_le32(b + 4, m->last_epoch);
	kr_put_le64(b + 8, m->last_offset);
	kr_put_le32(b + 16, (uint32_t)m->voter_id);
	b[20] = m->pre_vote ? KR_VOTE_F_PRE_VOTE : 0;
	memset(b + 21, 0, 3);
	memcpy(b + 24, m->candidate_dir, KR_UUID_BYTES);
	memcpy(b + 40, m->voter_dir, KR_UUID_BYTES);
	return KR_VOTE_BYTES;
}

static int
dec_vote_resp(const uint8_t *b, uint32_t n, struct kr_vote_resp *m)
{
	if (n != KR_VOTE_RESP_BYTES)
		return -KR_WIRE_EBODYLEN;
	if ((b[2] & ~(KR_VOTE_RESP_F_GRANTED | KR_VOTE_RESP_F_PRE_VOTE)) || b[3] != 0)
		return -KR_WIRE_EFIELD;
	if (get_error(b, &m->error))
		return -KR_WIRE_EFIELD;
	m->granted = (b[2] & KR_VOTE_RESP_F_GRANTED) ? 1 : 0;
	m->pre_vote = (b[2] & KR_VOTE_RESP_F_PRE_VOTE) ? 1 : 0;
	m->epoch = kr_get_le32(b + 4);
	m->leader_id = (int32_t)kr_get_le32(b + 8);
	return 0;
}

static int
enc_vote_resp(uint8_t *b, const struct kr_vote_resp *m)
{
	kr_put_le16(b, m->error);
	b[2] = (uint8_t)((m->granted ? KR_VOTE_RESP_F_GRANTED : 0) |
			 (m->pre_vote ? KR_VOTE_RESP_F_PRE_VOTE : 0));
	b[3] = 0;
	kr_put_le32(b + 4, m->epoch);
	kr_put_le32(b + 8, (uint32_t)m->leader_id);
	return KR_VOTE_RESP_BYTES;
}

static int
dec_begin_epoch(const uint8_t *b, uint32_t n, struct kr_begin_epoch_req *m)
{
	if (n != KR_BEGIN_EPOCH_BYTES)
		return -KR_WIRE_EBODYLEN;
	m->epoch = kr_get_le32(b);
	m->leader_id = (int32_t)kr_get_le32(b + 4);
	memcpy(m->voter_dir, b + 8, KR_UUID_BYTES);
	return 0;
}

static int
enc_begin_epoch(uint8_t *b, const struct kr_begin_epoch_req *m)
{
	kr_put_le32(b, m->epoch);
	kr_put_le32(b + 4, (uint32_t)m->leader_id);
	memcpy(b + 8, m->voter_dir, KR_UUID_BYTES);
	return KR_BEGIN_EPOCH_BYTES;
}

static int
dec_end_epoch(const uint8_t *b, uint32_t n, struct kr_end_epoch_req *m)
{
	if (n < KR_END_EPOCH_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;

	uint8_t count = b[8];

	if (count > KR_VOTERS_MAX || !all_zero(b + 9, 3))
		return -KR_WIRE_EFIELD;
	if (n != KR_END_EPOCH_FIXED_BYTES + 4u * count)
		return -KR_WIRE_EBODYLEN;
	m->epoch = kr_get_le32(b);
	m->leader_id = (int32_t)kr_get_le32(b + 4);
	m->n_successors = count;
	for (unsigned i = 0; i < count; i++)
		m->successors[i] = (int32_t)kr_get_le32(b + KR_END_EPOCH_FIXED_BYTES + 4 * i);
	return 0;
}

static int
enc_end_epoch(uint8_t *b, const struct kr_end_epoch_req *m)
{
	if (m->n_successors > KR_VOTERS_MAX)
		return -KR_WIRE_EFIELD;
	kr_put_le32(b, m->epoch);
	kr_put_le32(b + 4, (uint32_t)m->leader_id);
	b[8] = m->n_successors;
	memset(b + 9, 0, 3);
	for (unsigned i = 0; i < m->n_successors; i++)
		kr_put_le32(b + KR_END_EPOCH_FIXED_BYTES + 4 * i, (uint32_t)m->successors[i]);
	return KR_END_EPOCH_FIXED_BYTES + 4 * m->n_successors;
}

static int
dec_epoch_resp(const uint8_t *b, uint32_t n, struct kr_epoch_resp *m)
{
	if (n != KR_EPOCH_RESP_BYTES)
		return -KR_WIRE_EBODYLEN;
	if (!all_zero(b + 2, 2) || get_error(b, &m->error))
		return -KR_WIRE_EFIELD;
	m->epoch = kr_get_le32(b + 4);
	m->leader_id = (int32_t)kr_get_le32(b + 8);
	return 0;
}

static int
enc_epoch_resp(uint8_t *b, const struct kr_epoch_resp *m)
{
	kr_put_le16(b, m->error);
	memset(b + 2, 0, 2);
	kr_put_le32(b + 4, m->epoch);
	kr_put_le32(b + 8, (uint32_t)m->leader_id);
	return KR_EPOCH_RESP_BYTES;
}

static int
dec_fetch(const uint8_t *b, uint32_t n, struct kr_fetch_req *m)
{
	if (n != KR_FETCH_BYTES)
		return -KR_WIRE_EBODYLEN;
	m->epoch = kr_get_le32(b);
	m->last_fetched_epoch = kr_get_le32(b + 4);
	m->fetch_offset = kr_get_le64(b + 8);
	m->durable_offset = kr_get_le64(b + 16);
	m->max_wait_us = kr_get_le32(b + 24);
	m->max_bytes = kr_get_le32(b + 28);
	memcpy(m->replica_dir, b + 32, KR_UUID_BYTES);
	m->incarnation = kr_get_le64(b + 48);
	m->log_start_offset = kr_get_le64(b + 56);
	if ((kr_get_le32(b + 64) & ~(KR_FETCH_REQ_F_WANT_SNAPSHOT | KR_FETCH_REQ_F_STATE_AHEAD)) !=
		    0 ||
	    !all_zero(b + 68, 4) || m->log_start_offset > m->fetch_offset)
		return -KR_WIRE_EFIELD;
	m->want_snapshot = (kr_get_le32(b + 64) & KR_FETCH_REQ_F_WANT_SNAPSHOT) != 0;
	m->state_ahead = (kr_get_le32(b + 64) & KR_FETCH_REQ_F_STATE_AHEAD) != 0;
	return 0;
}

static int
enc_fetch(uint8_t *b, const struct kr_fetch_req *m)
{
	kr_put_le32(b, m->epoch);
	kr_put_le32(b + 4, m->last_fetched_epoch);
	kr_put_le64(b + 8, m->fetch_offset);
	kr_put_le64(b + 16, m->durable_offset);
	kr_put_le32(b + 24, m->max_wait_us);
	kr_put_le32(b + 28, m->max_bytes);
	memcpy(b + 32, m->replica_dir, KR_UUID_BYTES);
	kr_put_le64(b + 48, m->incarnation);
	kr_put_le64(b + 56, m->log_start_offset);
	kr_put_le32(b + 64, (m->want_snapshot ? KR_FETCH_REQ_F_WANT_SNAPSHOT : 0) |
				    (m->state_ahead ? KR_FETCH_REQ_F_STATE_AHEAD : 0));
	memset(b + 68, 0, 4);
	return KR_FETCH_BYTES;
}

static int
dec_fetch_resp(const uint8_t *b, uint32_t n, struct kr_fetch_resp *m)
{
	if (n < KR_FETCH_RESP_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;

	uint32_t rlen = kr_get_le32(b + 56);

	if (rlen != n - KR_FETCH_RESP_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;
	if (get_error(b, &m->error) || (b[6] & ~(KR_FETCH_F_DIVERGING | KR_FETCH_F_SNAPSHOT)) ||
	    b[7] != 0 || !all_zero(b + 60, 4))
		return -KR_WIRE_EFIELD;
	m->frame_index = kr_get_le16(b + 2);
	m->frame_count = kr_get_le16(b + 4);
	m->diverging = b[6] & KR_FETCH_F_DIVERGING;
	m->snapshot = (b[6] & KR_FETCH_F_SNAPSHOT) != 0;
	if (m->frame_count == 0 || m->frame_index >= m->frame_count)
		return -KR_WIRE_EFIELD;
	if ((m->diverging || m->snapshot) && (rlen != 0 || m->frame_count != 1))
		return -KR_WIRE_EFIELD;
	/* a snapshot named: never with a divergence or an error, and a real id */
	if (m->snapshot && (m->diverging || m->error != KR_ERR_NONE ||
			    !snap_id_ok(kr_get_le64(b + 40), kr_get_le32(b + 48))))
		return -KR_WIRE_EFIELD;
	if (batches_tile(b + KR_FETCH_RESP_FIXED_BYTES, rlen))
		return -KR_WIRE_EFIELD;
	m->leader_id = (int32_t)kr_get_le32(b + 8);
	m->epoch = kr_get_le32(b + 12);
	m->base_offset = kr_get_le64(b + 16);
	m->high_watermark = kr_get_le64(b + 24);
	m->log_start_offset = kr_get_le64(b + 32);
	m->diverging_end_offset = kr_get_le64(b + 40);
	m->diverging_epoch = kr_get_le32(b + 48);
	m->prev_epoch = kr_get_le32(b + 52);
	m->incarnation = kr_get_le64(b + 64);
	m->records = b + KR_FETCH_RESP_FIXED_BYTES;
	m->records_len = rlen;
	return 0;
}

/* tail_out: the records are not copied (kr_frame_encode_ext); the length counts them */
static int
enc_fetch_resp(uint8_t *b, size_t cap, const struct kr_fetch_resp *m, bool tail_out)
{
	if (cap < (size_t)KR_FETCH_RESP_FIXED_BYTES + m->records_len)
		return -KR_WIRE_ENOSPACE;
	kr_put_le16(b, m->error);
	kr_put_le16(b + 2, m->frame_index);
	kr_put_le16(b + 4, m->frame_count);
	b[6] = (m->diverging ? KR_FETCH_F_DIVERGING : 0) | (m->snapshot ? KR_FETCH_F_SNAPSHOT : 0);
	b[7] = 0;
	kr_put_le32(b + 8, (uint32_t)m->leader_id);
	kr_put_le32(b + 12, m->epoch);
	kr_put_le64(b + 16, m->base_offset);
	kr_put_le64(b + 24, m->high_watermark);
	kr_put_le64(b + 32, m->log_start_offset);
	kr_put_le64(b + 40, m->diverging_end_offset);
	kr_put_le32(b + 48, m->diverging_epoch);
	kr_put_le32(b + 52, m->prev_epoch);
	kr_put_le32(b + 56, m->records_len);
	memset(b + 60, 0, 4);
	kr_put_le64(b + 64, m->incarnation);
	if (m->records_len && !tail_out)
		memcpy(b + KR_FETCH_RESP_FIXED_BYTES, m->records, m->records_len);
	return KR_FETCH_RESP_FIXED_BYTES + (int)m->records_len;
}

static int
dec_fetch_snapshot(const uint8_t *b, uint32_t n, struct kr_fetch_snapshot_req *m)
{
	if (n != KR_FETCH_SNAPSHOT_BYTES)
		return -KR_WIRE_EBODYLEN;
	m->epoch = kr_get_le32(b);
	m->id.epoch = kr_get_le32(b + 4);
	m->id.end_offset = kr_get_le64(b + 8);
	m->position = kr_get_le64(b + 16);
	m->max_bytes = kr_get_le32(b + 24);
	if (!snap_id_ok(m->id.end_offset, m->id.epoch) || m->max_bytes == 0 ||
	    m->position > KR_SNAP_BYTES_MAX || !all_zero(b + 28, 4))
		return -KR_WIRE_EFIELD;
	memcpy(m->replica_dir, b + 32, KR_UUID_BYTES);
	m->incarnation = kr_get_le64(b + 48);
	return 0;
}

static int
enc_fetch_snapshot(uint8_t *b, const struct kr_fetch_snapshot_req *m)
{
	kr_put_le32(b, m->epoch);
	kr_put_le32(b + 4, m->id.epoch);
	kr_put_le64(b + 8, m->id.end_offset);
	kr_put_le64(b + 16, m->position);
	kr_put_le32(b + 24, m->max_bytes);
	memset(b + 28, 0, 4);
	memcpy(b + 32, m->replica_dir, KR_UUID_BYTES);
	kr_put_le64(b + 48, m->incarnation);
	return KR_FETCH_SNAPSHOT_BYTES;
}

static int
dec_fetch_snapshot_resp(const uint8_t *b, uint32_t n, struct kr_fetch_snapshot_resp *m)
{
	if (n < KR_FETCH_SNAPSHOT_RESP_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;

	uint32_t dlen = kr_get_le32(b + 28);

	if (dlen != n - KR_FETCH_SNAPSHOT_RESP_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;
	if (get_error(b, &m->error) || !all_zero(b + 6, 2))
		return -KR_WIRE_EFIELD;
	m->frame_index = kr_get_le16(b + 2);
	m->frame_count = kr_get_le16(b + 4);
	m->leader_id = (int32_t)kr_get_le32(b + 8);
	m->epoch = kr_get_le32(b + 12);
	m->id.end_offset = kr_get_le64(b + 16);
	m->id.epoch = kr_get_le32(b + 24);
	m->size = kr_get_le64(b + 32);
	m->position = kr_get_le64(b + 40);
	m->incarnation = kr_get_le64(b + 48);
	m->data = b + KR_FETCH_SNAPSHOT_RESP_FIXED_BYTES;
	m->data_len = dlen;
	if (m->frame_count == 0 || m->frame_index >= m->frame_count)
		return -KR_WIRE_EFIELD;
	if (m->error != KR_ERR_NONE
		    ? dlen != 0
		    : !snap_id_ok(m->id.end_offset, m->id.epoch) || m->size > KR_SNAP_BYTES_MAX ||
			      m->position > m->size || dlen > m->size - m->position)
		return -KR_WIRE_EFIELD;
	return 0;
}

static int
enc_fetch_snapshot_resp(uint8_t *b, size_t cap, const struct kr_fetch_snapshot_resp *m)
{
	if (cap < (size_t)KR_FETCH_SNAPSHOT_RESP_FIXED_BYTES + m->data_len)
		return -KR_WIRE_ENOSPACE;
	kr_put_le16(b, m->error);
	kr_put_le16(b + 2, m->frame_index);
	kr_put_le16(b + 4, m->frame_count);
	memset(b + 6, 0, 2);
	kr_put_le32(b + 8, (uint32_t)m->leader_id);
	kr_put_le32(b + 12, m->epoch);
	kr_put_le64(b + 16, m->id.end_offset);
	kr_put_le32(b + 24, m->id.epoch);
	kr_put_le32(b + 28, m->data_len);
	kr_put_le64(b + 32, m->size);
	kr_put_le64(b + 40, m->position);
	kr_put_le64(b + 48, m->incarnation);
	if (m->data_len)
		memcpy(b + KR_FETCH_SNAPSHOT_RESP_FIXED_BYTES, m->data, m->data_len);
	return KR_FETCH_SNAPSHOT_RESP_FIXED_BYTES + (int)m->data_len;
}

bool
kr_frag_ok(const struct kr_frag *f, uint32_t data_len)
{
	uint32_t want;

	if (f->frag_bytes < KR_FRAG_MIN || f->frag_bytes >= f->msg_len || f->msg_len > KR_MSG_MAX ||
	    f->offset >= f->msg_len || f->offset % f->frag_bytes != 0)
		return false;
	want = f->msg_len - f->offset < f->frag_bytes ? f->msg_len - f->offset : f->frag_bytes;
	return data_len == want;
}

uint32_t
kr_frag_size(uint32_t cap, uint32_t msg_len, bool trailer)
{
	uint32_t over =
		KR_WIRE_HDR_BYTES + KR_FRAGMENT_FIXED_BYTES + (trailer ? KR_WIRE_AUTH_BYTES : 0);
	uint32_t fb;

	if (cap < over + KR_FRAG_MIN || msg_len <= KR_FRAG_MIN || msg_len > KR_MSG_MAX)
		return 0;
	fb = (cap - over) & ~63u; /* at least KR_FRAG_MIN */
	if (fb >= msg_len) {
		/* fits one datagram without a trailer, not with one: two fragments still */
		fb = ((msg_len + 1) / 2 + 63) & ~63u;
		fb = fb < KR_FRAG_MIN ? KR_FRAG_MIN : fb;
		if (fb >= msg_len || fb > cap - over)
			return 0;
	}
	return fb;
}

void
kr_frag_msg(struct kr_msg *m, const uint8_t *msg, uint32_t msg_len, uint32_t frag_bytes,
	    uint32_t msg_id, uint32_t epoch, uint32_t offset)
{
	m->api = KR_API_FRAGMENT;
	m->u.fragment = (struct kr_fragment){
		.f = {.msg_id = msg_id,
		      .msg_len = msg_len,
		      .offset = offset,
		      .frag_bytes = frag_bytes,
		      .epoch = epoch},
		.data = msg + offset,
		.data_len = msg_len - offset < frag_bytes ? msg_len - offset : frag_bytes,
	};
}

static int
dec_fragment(const uint8_t *b, uint32_t n, struct kr_fragment *m)
{
	if (n < KR_FRAGMENT_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;

	uint32_t dlen = kr_get_le32(b + 20);

	if (dlen != n - KR_FRAGMENT_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;
	m->f = (struct kr_frag){.msg_id = kr_get_le32(b),
				.msg_len = kr_get_le32(b + 4),
				.offset = kr_get_le32(b + 8),
				.frag_bytes = kr_get_le32(b + 12),
				.epoch = kr_get_le32(b + 16)};
	m->data = b + KR_FRAGMENT_FIXED_BYTES;
	m->data_len = dlen;
	return kr_frag_ok(&m->f, dlen) ? 0 : -KR_WIRE_EFIELD;
}

/* tail_out: as for FETCH_RESP, the data is not copied */
static int
enc_fragment(uint8_t *b, size_t cap, const struct kr_fragment *m, bool tail_out)
{
	if (!kr_frag_ok(&m->f, m->data_len))
		return -KR_WIRE_EFIELD;
	if (cap < (size_t)KR_FRAGMENT_FIXED_BYTES + m->data_len)
		return -KR_WIRE_ENOSPACE;
	kr_put_le32(b, m->f.msg_id);
	kr_put_le32(b + 4, m->f.msg_len);
	kr_put_le32(b + 8, m->f.offset);
	kr_put_le32(b + 12, m->f.frag_bytes);
	kr_put_le32(b + 16, m->f.epoch);
	kr_put_le32(b + 20, m->data_len);
	if (!tail_out)
		memcpy(b + KR_FRAGMENT_FIXED_BYTES, m->data, m->data_len);
	return KR_FRAGMENT_FIXED_BYTES + (int)m->data_len;
}

static int
dec_append(const uint8_t *b, uint32_t n, struct kr_append_req *m)
{
	if (n < KR_APPEND_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;

	uint32_t rlen = kr_get_le32(b + 20);

	if (rlen != n - KR_APPEND_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;
	m->producer_id = kr_get_le64(b);
	m->sequence = kr_get_le64(b + 8);
	m->record_count = kr_get_le32(b + 16);
	m->records = b + KR_APPEND_FIXED_BYTES;
	m->records_len = rlen;
	return kr_records_check(m->records, rlen, m->record_count);
}

static int
enc_append(uint8_t *b, size_t cap, const struct kr_append_req *m)
{
	if (cap < (size_t)KR_APPEND_FIXED_BYTES + m->records_len)
		return -KR_WIRE_ENOSPACE;
	kr_put_le64(b, m->producer_id);
	kr_put_le64(b + 8, m->sequence);
	kr_put_le32(b + 16, m->record_count);
	kr_put_le32(b + 20, m->records_len);
	if (m->records_len)
		memcpy(b + KR_APPEND_FIXED_BYTES, m->records, m->records_len);
	return KR_APPEND_FIXED_BYTES + (int)m->records_len;
}

static int
dec_append_resp(const uint8_t *b, uint32_t n, struct kr_append_resp *m)
{
	if (n != KR_APPEND_RESP_BYTES)
		return -KR_WIRE_EBODYLEN;
	if (get_error(b, &m->error) || (b[2] & ~KR_APPEND_F_OUTCOME_UNKNOWN) || b[3] != 0)
		return -KR_WIRE_EFIELD;
	m->outcome_unknown = b[2] & KR_APPEND_F_OUTCOME_UNKNOWN;
	m->leader_id = (int32_t)kr_get_le32(b + 4);
	m->epoch = kr_get_le32(b + 8);
	m->record_count = kr_get_le32(b + 12);
	m->base_offset = kr_get_le64(b + 16);
	return 0;
}

static int
enc_append_resp(uint8_t *b, const struct kr_append_resp *m)
{
	kr_put_le16(b, m->error);
	b[2] = m->outcome_unknown ? KR_APPEND_F_OUTCOME_UNKNOWN : 0;
	b[3] = 0;
	kr_put_le32(b + 4, (uint32_t)m->leader_id);
	kr_put_le32(b + 8, m->epoch);
	kr_put_le32(b + 12, m->record_count);
	kr_put_le64(b + 16, m->base_offset);
	return KR_APPEND_RESP_BYTES;
}

static int
dec_voters_change(const uint8_t *b, uint32_t n, struct kr_voters_change_req *m)
{
	if (n != KR_VOTERS_CHANGE_BYTES)
		return -KR_WIRE_EBODYLEN;
	if (b[0] < 1 || b[0] > 3 || !all_zero(b + 1, 3) || !all_zero(b + 30, 2) ||
	    kr_get_le32(b + 4) > INT32_MAX)
		return -KR_WIRE_EFIELD;
	m->op = b[0];
	m->voter_id = (int32_t)kr_get_le32(b + 4);
	memcpy(m->directory_id, b + 8, KR_UUID_BYTES);
	m->ip = kr_get_le32(b + 24);
	m->port = kr_get_le16(b + 28);
	return 0;
}

static int
enc_voters_change(uint8_t *b, const struct kr_voters_change_req *m)
{
	memset(b, 0, KR_VOTERS_CHANGE_BYTES);
	b[0] = m->op;
	kr_put_le32(b + 4, (uint32_t)m->voter_id);
	memcpy(b + 8, m->directory_id, KR_UUID_BYTES);
	kr_put_le32(b + 24, m->ip);
	kr_put_le16(b + 28, m->port);
	return KR_VOTERS_CHANGE_BYTES;
}

static int
dec_voters_change_resp(const uint8_t *b, uint32_t n, struct kr_voters_change_resp *m)
{
	if (n != KR_VOTERS_CHANGE_RESP_BYTES)
		return -KR_WIRE_EBODYLEN;
	if (get_error(b, &m->error) || (b[2] & ~KR_APPEND_F_OUTCOME_UNKNOWN) || b[3] != 0 ||
	    !all_zero(b + 12, 4))
		return -KR_WIRE_EFIELD;
	m->outcome_unknown = b[2] & KR_APPEND_F_OUTCOME_UNKNOWN;
	m->leader_id = (int32_t)kr_get_le32(b + 4);
	m->epoch = kr_get_le32(b + 8);
	m->offset = kr_get_le64(b + 16);
	return 0;
}

static int
enc_voters_change_resp(uint8_t *b, const struct kr_voters_change_resp *m)
{
	memset(b, 0, KR_VOTERS_CHANGE_RESP_BYTES);
	kr_put_le16(b, m->error);
	b[2] = m->outcome_unknown ? KR_APPEND_F_OUTCOME_UNKNOWN : 0;
	kr_put_le32(b + 4, (uint32_t)m->leader_id);
	kr_put_le32(b + 8, m->epoch);
	kr_put_le64(b + 16, m->offset);
	return KR_VOTERS_CHANGE_RESP_BYTES;
}

static int
dec_node_status(const uint8_t *b, uint32_t n, struct kr_node_status_req *m)
{
	if (n != KR_NODE_STATUS_BYTES)
		return -KR_WIRE_EBODYLEN;
	if (b[0] > 1 || !all_zero(b + 1, 7))
		return -KR_WIRE_EFIELD;
	m->action = b[0];
	return 0;
}

static int
enc_node_status(uint8_t *b, const struct kr_node_status_req *m)
{
	if (m->action > 1)
		return -KR_WIRE_EFIELD;
	memset(b, 0, KR_NODE_STATUS_BYTES);
	b[0] = m->action;
	return KR_NODE_STATUS_BYTES;
}

static int
dec_node_status_resp(const uint8_t *b, uint32_t n, struct kr_node_status_resp *m)
{
	if (n != KR_NODE_STATUS_RESP_BYTES)
		return -KR_WIRE_EBODYLEN;
	if (get_error(b + 4, &m->error) || (b[6] & ~KR_STATUS_F_APPLYING) || b[7] != 0 ||
	    !all_zero(b + 52, 4))
		return -KR_WIRE_EFIELD;
	m->node_id = (int32_t)kr_get_le32(b);
	m->flags = b[6];
	m->log_start = kr_get_le64(b + 8);
	m->log_end = kr_get_le64(b + 16);
	m->committed = kr_get_le64(b + 24);
	m->applied = kr_get_le64(b + 32);
	m->snapshot_end = kr_get_le64(b + 40);
	m->snapshot_epoch = kr_get_le32(b + 48);
	m->snapshot_bytes = kr_get_le64(b + 56);
	m->snapshots = kr_get_le64(b + 64);
	return 0;
}

static int
enc_node_status_resp(uint8_t *b, const struct kr_node_status_resp *m)
{
	if (m->flags & ~KR_STATUS_F_APPLYING)
		return -KR_WIRE_EFIELD;
	memset(b, 0, KR_NODE_STATUS_RESP_BYTES);
	kr_put_le32(b, (uint32_t)m->node_id);
	kr_put_le16(b + 4, m->error);
	b[6] = m->flags;
	kr_put_le64(b + 8, m->log_start);
	kr_put_le64(b + 16, m->log_end);
	kr_put_le64(b + 24, m->committed);
	kr_put_le64(b + 32, m->applied);
	kr_put_le64(b + 40, m->snapshot_end);
	kr_put_le32(b + 48, m->snapshot_epoch);
	kr_put_le64(b + 56, m->snapshot_bytes);
	kr_put_le64(b + 64, m->snapshots);
	return KR_NODE_STATUS_RESP_BYTES;
}

static int
dec_read(const uint8_t *b, uint32_t n, struct kr_read_req *m)
{
	if (n != KR_READ_BYTES)
		return -KR_WIRE_EBODYLEN;
	m->from_offset = kr_get_le64(b);
	m->max_bytes = kr_get_le32(b + 8);
	m->max_wait_us = kr_get_le32(b + 12);
	return 0;
}

static int
enc_read(uint8_t *b, const struct kr_read_req *m)
{
	kr_put_le64(b, m->from_offset);
	kr_put_le32(b + 8, m->max_bytes);
	kr_put_le32(b + 12, m->max_wait_us);
	return KR_READ_BYTES;
}

static int
dec_read_resp(const uint8_t *b, uint32_t n, struct kr_read_resp *m)
{
	if (n < KR_READ_RESP_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;

	uint32_t rlen = kr_get_le32(b + 32);

	if (rlen != n - KR_READ_RESP_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;
	if (get_error(b, &m->error) || !all_zero(b + 2, 2) || !all_zero(b + 36, 4))
		return -KR_WIRE_EFIELD;
	if (batches_tile(b + KR_READ_RESP_FIXED_BYTES, rlen))
		return -KR_WIRE_EFIELD;
	m->epoch = kr_get_le32(b + 4);
	m->high_watermark = kr_get_le64(b + 8);
	m->log_start_offset = kr_get_le64(b + 16);
	m->base_offset = kr_get_le64(b + 24);
	m->records = b + KR_READ_RESP_FIXED_BYTES;
	m->records_len = rlen;
	return 0;
}

static int
enc_read_resp(uint8_t *b, size_t cap, const struct kr_read_resp *m)
{
	if (cap < (size_t)KR_READ_RESP_FIXED_BYTES + m->records_len)
		return -KR_WIRE_ENOSPACE;
	kr_put_le16(b, m->error);
	memset(b + 2, 0, 2);
	kr_put_le32(b + 4, m->epoch);
	kr_put_le64(b + 8, m->high_watermark);
	kr_put_le64(b + 16, m->log_start_offset);
	kr_put_le64(b + 24, m->base_offset);
	kr_put_le32(b + 32, m->records_len);
	memset(b + 36, 0, 4);
	if (m->records_len)
		memcpy(b + KR_READ_RESP_FIXED_BYTES, m->records, m->records_len);
	return KR_READ_RESP_FIXED_BYTES + (int)m->records_len;
}

static int
dec_describe_resp(const uint8_t *b, uint32_t n, struct kr_describe_resp *m)
{
	if (n < KR_DESCRIBE_RESP_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;

	uint8_t nv = b[2], no = b[3];

	if (nv > KR_VOTERS_MAX || no > KR_OBSERVERS_MAX || b[12] > KR_VOTERS_OP_UPDATE ||
	    !all_zero(b + 13, 3) || get_error(b, &m->error))
		return -KR_WIRE_EFIELD;
	if (n != KR_DESCRIBE_RESP_FIXED_BYTES + (uint32_t)KR_REPLICA_INFO_BYTES * (nv + no))
		return -KR_WIRE_EBODYLEN;
	m->n_voters = nv;
	m->n_observers = no;
	m->leader_id = (int32_t)kr_get_le32(b + 4);
	m->epoch = kr_get_le32(b + 8);
	m->pending = b[12];
	m->high_watermark = kr_get_le64(b + 16);
	m->replicas = NULL;
	m->replica_bytes = b + KR_DESCRIBE_RESP_FIXED_BYTES;
	for (unsigned i = 0; i < (unsigned)nv + no; i++) {
		const uint8_t *r = m->replica_bytes + KR_REPLICA_INFO_BYTES * i;

		if ((r[4] & ~KR_REPLICA_F_PENDING) != 0 || !all_zero(r + 5, 3))
			return -KR_WIRE_EFIELD;
	}
	return 0;
}

int
kr_describe_replica(const struct kr_describe_resp *m, unsigned i, struct kr_replica_info *ri)
{
	const uint8_t *r;

	if (m->replica_bytes == NULL || i >= (unsigned)m->n_voters + m->n_observers)
		return -KR_WIRE_EFIELD;
	r = m->replica_bytes + KR_REPLICA_INFO_BYTES * i;
	ri->replica_id = (int32_t)kr_get_le32(r);
	ri->flags = r[4];
	memcpy(ri->directory_id, r + 8, KR_UUID_BYTES);
	ri->log_end_offset = kr_get_le64(r + 24);
	ri->durable_offset = kr_get_le64(r + 32);
	ri->last_fetch_us = (int64_t)kr_get_le64(r + 40);
	ri->last_caught_up_us = (int64_t)kr_get_le64(r + 48);
	return 0;
}

static int
enc_describe_resp(uint8_t *b, size_t cap, const struct kr_describe_resp *m)
{
	unsigned count = (unsigned)m->n_voters + m->n_observers;

	if (m->n_voters > KR_VOTERS_MAX || m->n_observers > KR_OBSERVERS_MAX ||
	    (count > 0 && m->replicas == NULL && m->replica_bytes == NULL))
		return -KR_WIRE_EFIELD;

	size_t total = KR_DESCRIBE_RESP_FIXED_BYTES + (size_t)KR_REPLICA_INFO_BYTES * count;

	if (cap < total)
		return -KR_WIRE_ENOSPACE;
	kr_put_le16(b, m->error);
	b[2] = m->n_voters;
	b[3] = m->n_observers;
	kr_put_le32(b + 4, (uint32_t)m->leader_id);
	kr_put_le32(b + 8, m->epoch);
	if (m->pending > KR_VOTERS_OP_UPDATE)
		return -KR_WIRE_EFIELD;
	b[12] = m->pending;
	memset(b + 13, 0, 3);
	kr_put_le64(b + 16, m->high_watermark);
	if (m->replicas == NULL) { /* re-encoding a decoded message: its checked bytes */
		if (count)
			memcpy(b + KR_DESCRIBE_RESP_FIXED_BYTES, m->replica_bytes,
			       (size_t)KR_REPLICA_INFO_BYTES * count);
		return (int)total;
	}
	for (unsigned i = 0; i < count; i++) {
		uint8_t *r = b + KR_DESCRIBE_RESP_FIXED_BYTES + KR_REPLICA_INFO_BYTES * i;
		const struct kr_replica_info *ri = &m->replicas[i];

		kr_put_le32(r, (uint32_t)ri->replica_id);
		r[4] = ri->flags & KR_REPLICA_F_PENDING;
		memset(r + 5, 0, 3);
		memcpy(r + 8, ri->directory_id, KR_UUID_BYTES);
		kr_put_le64(r + 24, ri->log_end_offset);
		kr_put_le64(r + 32, ri->durable_offset);
		kr_put_le64(r + 40, (uint64_t)ri->last_fetch_us);
		kr_put_le64(r + 48, (uint64_t)ri->last_caught_up_us);
	}
	return (int)total;
}

static int
dec_nodes_resp(const uint8_t *b, uint32_t n, struct kr_nodes_resp *m)
{
	if (n < KR_NODES_RESP_FIXED_BYTES)
		return -KR_WIRE_EBODYLEN;
	if (b[0] > KR_REPLICAS_MAX || !all_zero(b + 1, 7))
		return -KR_WIRE_EFIELD;
	if (n != KR_NODES_RESP_FIXED_BYTES + (uint32_t)KR_NODE_INFO_BYTES * b[0])
		return -KR_WIRE_EBODYLEN;
	m->n = b[0];
	m->nodes = NULL;
	m->node_bytes = b + KR_NODES_RESP_FIXED_BYTES;
	for (unsigned i = 0; i < m->n; i++) {
		const uint8_t *e = m->node_bytes + KR_NODE_INFO_BYTES * i;

		if (kr_get_le16(e + 8) == 0 || (e[12] & ~KR_NODE_F_ALL) || !all_zero(e + 13, 3))
			return -KR_WIRE_EFIELD;
	}
	return 0;
}

int
kr_nodes_entry(const struct kr_nodes_resp *m, unsigned i, struct kr_node_info *ni)
{
	const uint8_t *e;

	if (m->node_bytes == NULL || i >= m->n)
		return -KR_WIRE_EFIELD;
	e = m->node_bytes + KR_NODE_INFO_BYTES * i;
	ni->node_id = (int32_t)kr_get_le32(e);
	memcpy(ni->ip, e + 4, 4);
	ni->port = kr_get_le16(e + 8);
	ni->mgmt_port = kr_get_le16(e + 10);
	ni->flags = e[12];
	return 0;
}

static int
enc_nodes_resp(uint8_t *b, size_t cap, const struct kr_nodes_resp *m)
{
	size_t total = KR_NODES_RESP_FIXED_BYTES + (size_t)KR_NODE_INFO_BYTES * m->n;

	if (m->n > KR_REPLICAS_MAX || (m->n > 0 && m->nodes == NULL && m->node_bytes == NULL))
		return -KR_WIRE_EFIELD;
	if (cap < total)
		return -KR_WIRE_ENOSPACE;
	b[0] = m->n;
	memset(b + 1, 0, 7);
	if (m->nodes == NULL) { /* re-encoding a decoded message */
		if (m->n)
			memcpy(b + KR_NODES_RESP_FIXED_BYTES, m->node_bytes,
			       (size_t)KR_NODE_INFO_BYTES * m->n);
		return (int)total;
	}
	for (unsigned i = 0; i < m->n; i++) {
		uint8_t *e = b + KR_NODES_RESP_FIXED_BYTES + KR_NODE_INFO_BYTES * i;
		const struct kr_node_info *ni = &m->nodes[i];

		if (ni->port == 0 || (ni->flags & ~KR_NODE_F_ALL))
			return -KR_WIRE_EFIELD;
		kr_put_le32(e, (uint32_t)ni->node_id);
		memcpy(e + 4, ni->ip, 4);
		kr_put_le16(e + 8, ni->port);
		kr_put_le16(e + 10, ni->mgmt_port);
		e[12] = ni->flags;
		memset(e + 13, 0, 3);
	}
	return (int)total;
}

int
kr_msg_decode(const struct kr_frame *f, struct kr_msg *m)
{
	const uint8_t *b = f->body;
	uint32_t n = f->body_len;

	m->api = f->hdr.api;
	switch (f->hdr.api) {
	case KR_API_VOTE:
		return dec_vote(b, n, &m->u.vote);
	case KR_API_VOTE_RESP:
		return dec_vote_resp(b, n, &m->u.vote_resp);
	case KR_API_BEGIN_EPOCH:
		return dec_begin_epoch(b, n, &m->u.begin_epoch);
	case KR_API_END_EPOCH:
		return dec_end_epoch(b, n, &m->u.end_epoch);
	case KR_API_BEGIN_EPOCH_RESP:
	case KR_API_END_EPOCH_RESP:
		return dec_epoch_resp(b, n, &m->u.epoch_resp);
	case KR_API_FETCH:
		return dec_fetch(b, n, &m->u.fetch);
	case KR_API_FETCH_RESP:
		return dec_fetch_resp(b, n, &m->u.fetch_resp);
	case KR_API_APPEND:
		return dec_append(b, n, &m->u.append);
	case KR_API_APPEND_RESP:
		return dec_append_resp(b, n, &m->u.append_resp);
	case KR_API_READ:
		return dec_read(b, n, &m->u.read);
	case KR_API_READ_RESP:
		return dec_read_resp(b, n, &m->u.read_resp);
	case KR_API_DESCRIBE_QUORUM:
		return n == KR_DESCRIBE_BYTES ? 0 : -KR_WIRE_EBODYLEN;
	case KR_API_DESCRIBE_QUORUM_RESP:
		return dec_describe_resp(b, n, &m->u.describe_resp);
	case KR_API_DESCRIBE_NODES:
		return n == 0 ? 0 : -KR_WIRE_EBODYLEN;
	case KR_API_DESCRIBE_NODES_RESP:
		return dec_nodes_resp(b, n, &m->u.nodes_resp);
	case KR_API_VOTERS_CHANGE:
		return dec_voters_change(b, n, &m->u.voters_change);
	case KR_API_VOTERS_CHANGE_RESP:
		return dec_voters_change_resp(b, n, &m->u.voters_change_resp);
	case KR_API_NODE_STATUS:
		return dec_node_status(b, n, &m->u.node_status);
	case KR_API_NODE_STATUS_RESP:
		return dec_node_status_resp(b, n, &m->u.node_status_resp);
	case KR_API_FETCH_SNAPSHOT:
		return dec_fetch_snapshot(b, n, &m->u.fetch_snapshot);
	case KR_API_FETCH_SNAPSHOT_RESP:
		return dec_fetch_snapshot_resp(b, n, &m->u.fetch_snapshot_resp);
	case KR_API_FRAGMENT:
		return dec_fragment(b, n, &m->u.fragment);
	case KR_API_PING:
	case KR_API_PING_RESP:
		if (n > KR_PING_BYTES_MAX)
			return -KR_WIRE_EBODYLEN;
		m->u.ping.payload = b;
		m->u.ping.len = n;
		return 0;
	default:
		return -KR_WIRE_EAPI;
	}
}

int
kr_msg_decode_as(const struct kr_frame *f, unsigned api, struct kr_msg *m)
{
	if (f->hdr.api != api)
		return -KR_WIRE_EWRONGAPI;
	return kr_msg_decode(f, m);
}

/* Encode m's body at b (cap bytes available). Returns its length or -KR_WIRE_Exxx. */
static int
encode_body(uint8_t *b, size_t cap, const struct kr_msg *m, bool tail_out)
{
	/* Fixed bodies are checked here; variable ones check cap themselves. */
	static const uint8_t fixed[KR_API_LIMIT] = {
		[KR_API_VOTE] = KR_VOTE_BYTES,
		[KR_API_VOTE_RESP] = KR_VOTE_RESP_BYTES,
		[KR_API_BEGIN_EPOCH] = KR_BEGIN_EPOCH_BYTES,
		[KR_API_BEGIN_EPOCH_RESP] = KR_EPOCH_RESP_BYTES,
		[KR_API_END_EPOCH_RESP] = KR_EPOCH_RESP_BYTES,
		[KR_API_FETCH] = KR_FETCH_BYTES,
		[KR_API_APPEND_RESP] = KR_APPEND_RESP_BYTES,
		[KR_API_READ] = KR_READ_BYTES,
		[KR_API_VOTERS_CHANGE] = KR_VOTERS_CHANGE_BYTES,
		[KR_API_VOTERS_CHANGE_RESP] = KR_VOTERS_CHANGE_RESP_BYTES,
		[KR_API_NODE_STATUS] = KR_NODE_STATUS_BYTES,
		[KR_API_NODE_STATUS_RESP] = KR_NODE_STATUS_RESP_BYTES,
		[KR_API_FETCH_SNAPSHOT] = KR_FETCH_SNAPSHOT_BYTES,
	};

	if (m->api < KR_API_LIMIT && cap < fixed[m->api])
		return -KR_WIRE_ENOSPACE;
	switch (m->api) {
	case KR_API_VOTE:
		return enc_vote(b, &m->u.vote);
	case KR_API_VOTE_RESP:
		return enc_vote_resp(b, &m->u.vote_resp);
	case KR_API_BEGIN_EPOCH:
		return enc_begin_epoch(b, &m->u.begin_epoch);
	case KR_API_END_EPOCH:
		if (cap < KR_END_EPOCH_FIXED_BYTES + 4u * m->u.end_epoch.n_successors)
			return m->u.end_epoch.n_successors > KR_VOTERS_MAX ? -KR_WIRE_EFIELD
									   : -KR_WIRE_ENOSPACE;
		return enc_end_epoch(b, &m->u.end_epoch);
	case KR_API_BEGIN_EPOCH_RESP:
	case KR_API_END_EPOCH_RESP:
		return enc_epoch_resp(b, &m->u.epoch_resp);
	case KR_API_FETCH:
		return enc_fetch(b, &m->u.fetch);
	case KR_API_FETCH_RESP:
		return enc_fetch_resp(b, cap, &m->u.fetch_resp, tail_out);
	case KR_API_APPEND:
		return enc_append(b, cap, &m->u.append);
	case KR_API_APPEND_RESP:
		return enc_append_resp(b, &m->u.append_resp);
	case KR_API_READ:
		return enc_read(b, &m->u.read);
	case KR_API_READ_RESP:
		return enc_read_resp(b, cap, &m->u.read_resp);
	case KR_API_DESCRIBE_QUORUM:
		return 0;
	case KR_API_DESCRIBE_QUORUM_RESP:
		return enc_describe_resp(b, cap, &m->u.describe_resp);
	case KR_API_DESCRIBE_NODES:
		return 0;
	case KR_API_DESCRIBE_NODES_RESP:
		return enc_nodes_resp(b, cap, &m->u.nodes_resp);
	case KR_API_VOTERS_CHANGE:
		return enc_voters_change(b, &m->u.voters_change);
	case KR_API_VOTERS_CHANGE_RESP:
		return enc_voters_change_resp(b, &m->u.voters_change_resp);
	case KR_API_NODE_STATUS:
		return enc_node_status(b, &m->u.node_status);
	case KR_API_NODE_STATUS_RESP:
		return enc_node_status_resp(b, &m->u.node_status_resp);
	case KR_API_FETCH_SNAPSHOT:
		return enc_fetch_snapshot(b, &m->u.fetch_snapshot);
	case KR_API_FETCH_SNAPSHOT_RESP:
		return enc_fetch_snapshot_resp(b, cap, &m->u.fetch_snapshot_resp);
	case KR_API_FRAGMENT:
		return enc_fragment(b, cap, &m->u.fragment, tail_out);
	case KR_API_PING:
	case KR_API_PING_RESP:
		if (m->u.ping.len > KR_PING_BYTES_MAX)
			return -KR_WIRE_EFIELD;
		if (cap < m->u.ping.len)
			return -KR_WIRE_ENOSPACE;
		if (m->u.ping.len)
			memcpy(b, m->u.ping.payload, m->u.ping.len);
		return (int)m->u.ping.len;
	default:
		return -KR_WIRE_EAPI;
	}
}

int
kr_frame_encode(uint8_t *buf, size_t cap, const struct kr_frame_hdr *h, const struct kr_msg *m)
{
	if (cap < KR_WIRE_HDR_BYTES)
		return -KR_WIRE_ENOSPACE;

	size_t body_cap = cap - KR_WIRE_HDR_BYTES;

	if (body_cap > KR_WIRE_BODY_MAX)
		body_cap = KR_WIRE_BODY_MAX;

	int body_len = encode_body(buf + KR_WIRE_HDR_BYTES, body_cap, m, false);

	if (body_len < 0)
		return body_len;

	struct kr_frame_hdr hh = *h;

	hh.api = m->api;
	return kr_frame_seal(buf, cap, &hh, (uint32_t)body_len);
}

int
kr_frame_encode_ext(uint8_t *buf, size_t cap, const struct kr_frame_hdr *h, const struct kr_msg *m,
		    uint32_t min_ext, const uint8_t **ext, uint32_t *ext_len)
{
	const uint8_t *tail = NULL;
	uint32_t tail_len = 0;

	*ext = NULL;
	*ext_len = 0;
	if (m->api == KR_API_FETCH_RESP) {
		tail = m->u.fetch_resp.records;
		tail_len = m->u.fetch_resp.records_len;
	} else if (m->api == KR_API_FRAGMENT) {
		tail = m->u.fragment.data;
		tail_len = m->u.fragment.data_len;
	}
	if (tail_len == 0 || tail_len < min_ext || (h->flags & KR_FRAME_F_AUTH) ||
	    cap < KR_WIRE_HDR_BYTES)
		return kr_frame_encode(buf, cap, h, m);

	size_t body_cap = cap - KR_WIRE_HDR_BYTES;
	int body_len, len;

	if (body_cap > KR_WIRE_BODY_MAX)
		body_cap = KR_WIRE_BODY_MAX;
	body_len = encode_body(buf + KR_WIRE_HDR_BYTES, body_cap, m, true);
	if (body_len < 0)
		return body_len;

	struct kr_frame_hdr hh = *h;

	hh.api = m->api;
	len = seal_parts(buf, cap, &hh, (uint32_t)body_len, tail, tail_len);
	if (len > 0) {
		*ext = tail;
		*ext_len = tail_len;
	}
	return len;
}
