/* kraftd tests: the wire codec. Every message round-trips; every malformed, truncated,
 * oversized, damaged or foreign frame is refused with its own reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kraft/crc32c.h"
#include "kraft/errors.h"
#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/wire.h"
#include "samples.h"
#include "testutil.h"

#define FRAME_CAP 8192

/* The batches inside the FETCH_RESP and READ_RESP samples */
static const uint8_t *batches;
static uint32_t batches_len;
static const uint8_t *records;
static uint32_t records_len;

static int
setup(void **state)
{
	struct kr_msg m;

	(void)state;
	smp_msg(KR_API_FETCH_RESP, &m);
	batches = m.u.fetch_resp.records;
	batches_len = m.u.fetch_resp.records_len;
	smp_msg(KR_API_APPEND, &m);
	records = m.u.append.records;
	records_len = m.u.append.records_len;
	return 0;
}

/* Field by field: what was encoded is what was decoded. */
static void
assert_msg_equal(const struct kr_msg *a, const struct kr_msg *b)
{
	assert_int_equal(a->api, b->api);
	switch (a->api) {
	case KR_API_VOTE: {
		const struct kr_vote_req *x = &a->u.vote, *y = &b->u.vote;

		assert_int_equal(x->epoch, y->epoch);
		assert_int_equal(x->last_epoch, y->last_epoch);
		assert_int_equal(x->last_offset, y->last_offset);
		assert_int_equal(x->voter_id, y->voter_id);
		assert_int_equal(x->pre_vote, y->pre_vote);
		assert_memory_equal(x->candidate_dir, y->candidate_dir, KR_UUID_BYTES);
		assert_memory_equal(x->voter_dir, y->voter_dir, KR_UUID_BYTES);
		break;
	}
	case KR_API_VOTE_RESP: {
		const struct kr_vote_resp *x = &a->u.vote_resp, *y = &b->u.vote_resp;

		assert_int_equal(x->error, y->error);
		assert_int_equal(x->granted, y->granted);
		assert_int_equal(x->pre_vote, y->pre_vote);
		assert_int_equal(x->epoch, y->epoch);
		assert_int_equal(x->leader_id, y->leader_id);
		break;
	}
	case KR_API_BEGIN_EPOCH:
		assert_int_equal(a->u.begin_epoch.epoch, b->u.begin_epoch.epoch);
		assert_int_equal(a->u.begin_epoch.leader_id, b->u.begin_epoch.leader_id);
		assert_memory_equal(a->u.begin_epoch.voter_dir, b->u.begin_epoch.voter_dir,
				    KR_UUID_BYTES);
		break;
	case KR_API_END_EPOCH: {
		const struct kr_end_epoch_req *x = &a->u.end_epoch, *y = &b->u.end_epoch;

		assert_int_equal(x->epoch, y->epoch);
		assert_int_equal(x->leader_id, y->leader_id);
		assert_int_equal(x->n_successors, y->n_successors);
		for (unsigned i = 0; i < x->n_successors; i++)
			assert_int_equal(x->successors[i], y->successors[i]);
		break;
	}
	case KR_API_BEGIN_EPOCH_RESP:
	case KR_API_END_EPOCH_RESP:
		assert_int_equal(a->u.epoch_resp.error, b->u.epoch_resp.error);
		assert_int_equal(a->u.epoch_resp.epoch, b->u.epoch_resp.epoch);
		assert_int_equal(a->u.epoch_resp.leader_id, b->u.epoch_resp.leader_id);
		break;
	case KR_API_FETCH: {
		const struct kr_fetch_req *x = &a->u.fetch, *y = &b->u.fetch;

		assert_int_equal(x->epoch, y->epoch);
		assert_int_equal(x->last_fetched_epoch, y->last_fetched_epoch);
		assert_int_equal(x->fetch_offset, y->fetch_offset);
		assert_int_equal(x->durable_offset, y->durable_offset);
		assert_int_equal(x->max_wait_us, y->max_wait_us);
		assert_int_equal(x->max_bytes, y->max_bytes);
		assert_memory_equal(x->replica_dir, y->replica_dir, KR_UUID_BYTES);
		assert_int_equal(x->incarnation, y->incarnation);
		assert_int_equal(x->log_start_offset, y->log_start_offset);
		assert_int_equal(x->want_snapshot, y->want_snapshot);
		assert_int_equal(x->state_ahead, y->state_ahead);
		break;
	}
	case KR_API_FETCH_RESP: {
		const struct kr_fetch_resp *x = &a->u.fetch_resp, *y = &b->u.fetch_resp;

		assert_int_equal(x->error, y->error);
		assert_int_equal(x->frame_index, y->frame_index);
		assert_int_equal(x->frame_count, y->frame_count);
		assert_int_equal(x->diverging, y->diverging);
		assert_int_equal(x->snapshot, y->snapshot);
		assert_int_equal(x->leader_id, y->leader_id);
		assert_int_equal(x->epoch, y->epoch);
		assert_int_equal(x->base_offset, y->base_offset);
		assert_int_equal(x->high_watermark, y->high_watermark);
		assert_int_equal(x->log_start_offset, y->log_start_offset);
		assert_int_equal(x->diverging_end_offset, y->diverging_end_offset);
		assert_int_equal(x->diverging_epoch, y->diverging_epoch);
		assert_int_equal(x->prev_epoch, y->prev_epoch);
		assert_int_equal(x->incarnation, y->incarnation);
		assert_int_equal(x->records_len, y->records_len);
		assert_memory_equal(x->records, y->records, x->records_len);
		break;
	}
	case KR_API_APPEND: {
		const struct kr_append_req *x = &a->u.append, *y = &b->u.append;

		assert_int_equal(x->producer_id, y->producer_id);
		assert_int_equal(x->sequence, y->sequence);
		assert_int_equal(x->record_count, y->record_count);
		assert_int_equal(x->records_len, y->records_len);
		assert_memory_equal(x->records, y->records, x->records_len);
		break;
	}
	case KR_API_APPEND_RESP: {
		const struct kr_append_resp *x = &a->u.append_resp, *y = &b->u.append_resp;

		assert_int_equal(x->error, y->error);
		assert_int_equal(x->outcome_unknown, y->outcome_unknown);
		assert_int_equal(x->leader_id, y->leader_id);
		assert_int_equal(x->epoch, y->epoch);
		assert_int_equal(x->record_count, y->record_count);
		assert_int_equal(x->base_offset, y->base_offset);
		break;
	}
	case KR_API_READ:
		assert_int_equal(a->u.read.from_offset, b->u.read.from_offset);
		assert_int_equal(a->u.read.max_bytes, b->u.read.max_bytes);
		assert_int_equal(a->u.read.max_wait_us, b->u.read.max_wait_us);
		break;
	case KR_API_READ_RESP: {
		const struct kr_read_resp *x = &a->u.read_resp, *y = &b->u.read_resp;

		assert_int_equal(x->error, y->error);
		assert_int_equal(x->epoch, y->epoch);
		assert_int_equal(x->high_watermark, y->high_watermark);
		assert_int_equal(x->log_start_offset, y->log_start_offset);
		assert_int_equal(x->base_offset, y->base_offset);
		assert_int_equal(x->records_len, y->records_len);
		assert_memory_equal(x->records, y->records, x->records_len);
		break;
	}
	case KR_API_DESCRIBE_QUORUM:
		break;
	case KR_API_DESCRIBE_QUORUM_RESP: {
		const struct kr_describe_resp *x = &a->u.describe_resp, *y = &b->u.describe_resp;

		assert_int_equal(x->error, y->error);
		assert_int_equal(x->n_voters, y->n_voters);
		assert_int_equal(x->n_observers, y->n_observers);
		assert_int_equal(x->leader_id, y->leader_id);
		assert_int_equal(x->epoch, y->epoch);
		assert_int_equal(x->pending, y->pending);
		assert_int_equal(x->high_watermark, y->high_watermark);
		for (unsigned i = 0; i < (unsigned)x->n_voters + x->n_observers; i++) {
			struct kr_replica_info pp, qq;
			const struct kr_replica_info *p = &pp, *q = &qq;

			/* one side may be the encoder's array, the other a decoded view */
			if (x->replicas)
				pp = x->replicas[i];
			else
				assert_int_equal(kr_describe_replica(x, i, &pp), 0);
			if (y->replicas)
				qq = y->replicas[i];
			else
				assert_int_equal(kr_describe_replica(y, i, &qq), 0);

			assert_int_equal(p->replica_id, q->replica_id);
			assert_int_equal(p->flags, q->flags);
			assert_memory_equal(p->directory_id, q->directory_id, KR_UUID_BYTES);
			assert_int_equal(p->log_end_offset, q->log_end_offset);
			assert_int_equal(p->durable_offset, q->durable_offset);
			assert_int_equal(p->last_fetch_us, q->last_fetch_us);
			assert_int_equal(p->last_caught_up_us, q->last_caught_up_us);
		}
		break;
	}
	case KR_API_DESCRIBE_NODES:
		break;
	case KR_API_VOTERS_CHANGE: {
		const struct kr_voters_change_req *x = &a->u.voters_change,
						  *y = &b->u.voters_change;

		assert_int_equal(x->op, y->op);
		assert_int_equal(x->voter_id, y->voter_id);
		assert_memory_equal(x->directory_id, y->directory_id, KR_UUID_BYTES);
		assert_int_equal(x->ip, y->ip);
		assert_int_equal(x->port, y->port);
		break;
	}
	case KR_API_VOTERS_CHANGE_RESP: {
		const struct kr_voters_change_resp *x = &a->u.voters_change_resp,
						   *y = &b->u.voters_change_resp;

		assert_int_equal(x->error, y->error);
		assert_int_equal(x->outcome_unknown, y->outcome_unknown);
		assert_int_equal(x->leader_id, y->leader_id);
		assert_int_equal(x->epoch, y->epoch);
		assert_int_equal(x->offset, y->offset);
		break;
	}
	case KR_API_NODE_STATUS:
		assert_int_equal(a->u.node_status.action, b->u.node_status.action);
		break;
	case KR_API_NODE_STATUS_RESP: {
		const struct kr_node_status_resp *x = &a->u.node_status_resp,
						 *y = &b->u.node_status_resp;

		assert_int_equal(x->node_id, y->node_id);
		assert_int_equal(x->error, y->error);
		assert_int_equal(x->flags, y->flags);
		assert_int_equal(x->log_start, y->log_start);
		assert_int_equal(x->log_end, y->log_end);
		assert_int_equal(x->committed, y->committed);
		assert_int_equal(x->applied, y->applied);
		assert_int_equal(x->snapshot_end, y->snapshot_end);
		assert_int_equal(x->snapshot_epoch, y->snapshot_epoch);
		assert_int_equal(x->snapshot_bytes, y->snapshot_bytes);
		assert_int_equal(x->snapshots, y->snapshots);
		break;
	}
	case KR_API_FETCH_SNAPSHOT: {
		const struct kr_fetch_snapshot_req *x = &a->u.fetch_snapshot,
						   *y = &b->u.fetch_snapshot;

		assert_int_equal(x->epoch, y->epoch);
		assert_int_equal(x->id.end_offset, y->id.end_offset);
		assert_int_equal(x->id.epoch, y->id.epoch);
		assert_int_equal(x->position, y->position);
		assert_int_equal(x->max_bytes, y->max_bytes);
		assert_memory_equal(x->replica_dir, y->replica_dir, KR_UUID_BYTES);
		assert_int_equal(x->incarnation, y->incarnation);
		break;
	}
	case KR_API_FETCH_SNAPSHOT_RESP: {
		const struct kr_fetch_snapshot_resp *x = &a->u.fetch_snapshot_resp,
						    *y = &b->u.fetch_snapshot_resp;

		assert_int_equal(x->error, y->error);
		assert_int_equal(x->frame_index, y->frame_index);
		assert_int_equal(x->frame_count, y->frame_count);
		assert_int_equal(x->leader_id, y->leader_id);
		assert_int_equal(x->epoch, y->epoch);
		assert_int_equal(x->id.end_offset, y->id.end_offset);
		assert_int_equal(x->id.epoch, y->id.epoch);
		assert_int_equal(x->size, y->size);
		assert_int_equal(x->position, y->position);
		assert_int_equal(x->incarnation, y->incarnation);
		assert_int_equal(x->data_len, y->data_len);
		assert_memory_equal(x->data, y->data, x->data_len);
		break;
	}
	case KR_API_FRAGMENT: {
		const struct kr_fragment *x = &a->u.fragment, *y = &b->u.fragment;

		assert_int_equal(x->f.msg_id, y->f.msg_id);
		assert_int_equal(x->f.msg_len, y->f.msg_len);
		assert_int_equal(x->f.offset, y->f.offset);
		assert_int_equal(x->f.frag_bytes, y->f.frag_bytes);
		assert_int_equal(x->f.epoch, y->f.epoch);
		assert_int_equal(x->data_len, y->data_len);
		assert_memory_equal(x->data, y->data, x->data_len);
		break;
	}
	case KR_API_PING:
	case KR_API_PING_RESP:
		assert_int_equal(a->u.ping.len, b->u.ping.len);
		assert_memory_equal(a->u.ping.payload, b->u.ping.payload, a->u.ping.len);
		break;
	case KR_API_DESCRIBE_NODES_RESP: {
		const struct kr_nodes_resp *x = &a->u.nodes_resp, *y = &b->u.nodes_resp;

		assert_int_equal(x->n, y->n);
		for (unsigned i = 0; i < x->n; i++) {
			struct kr_node_info p, q;

			if (x->nodes)
				p = x->nodes[i];
			else
				assert_int_equal(kr_nodes_entry(x, i, &p), 0);
			if (y->nodes)
				q = y->nodes[i];
			else
				assert_int_equal(kr_nodes_entry(y, i, &q), 0);
			assert_int_equal(p.node_id, q.node_id);
			assert_memory_equal(p.ip, q.ip, 4);
			assert_int_equal(p.port, q.port);
			assert_int_equal(p.mgmt_port, q.mgmt_port);
			assert_int_equal(p.flags, q.flags);
		}
		break;
	}
	default:
		fail_msg("api %u", a->api);
	}
}

/* Recompute the CRC of a frame after the test changed its header or body. */
static void
reseal_crc(uint8_t *buf)
{
	uint32_t body_len = kr_get_le32(buf + 40);
	uint32_t crc = kr_crc32c(0, buf, 44);

	crc = kr_crc32c(crc, buf + KR_WIRE_HDR_BYTES, body_len);
	kr_put_le32(buf + 44, crc);
}

/* ---- tests ---- */

static void
every_message_round_trips_field_by_field(void **state)
{
	static uint8_t buf[FRAME_CAP], again[FRAME_CAP];

	(void)state;
	for (size_t i = 0; i < smp_api_count; i++) {
		struct kr_msg m, d;
		struct kr_frame f;
		struct kr_frame_hdr h;
		int n = smp_frame(smp_apis[i], buf, sizeof(buf), &m);

		assert_true(n >= KR_WIRE_HDR_BYTES);
		assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
		assert_int_equal(f.hdr.api, smp_apis[i]);
		assert_int_equal(f.hdr.sender_id, 3);
		assert_int_equal(f.hdr.correlation_id, 0xdeadbeef);
		assert_int_equal(f.hdr.voter_set_hash, smp_ctx.voter_set_hash);
		assert_memory_equal(f.hdr.cluster_id, smp_ctx.cluster_id, KR_UUID_BYTES);
		assert_null(f.auth);
		assert_int_equal(kr_msg_decode(&f, &d), 0);
		assert_msg_equal(&m, &d);
		/* and the decoded message encodes to the same bytes */
		smp_hdr(&h);
		assert_int_equal(kr_frame_encode(again, sizeof(again), &h, &d), n);
		assert_memory_equal(buf, again, (size_t)n);
	}
}

static void
header_is_48_bytes_and_describe_quorum_is_header_only(void **state)
{
	uint8_t buf[64];
	struct kr_msg m;

	(void)state;
	assert_int_equal(smp_frame(KR_API_DESCRIBE_QUORUM, buf, sizeof(buf), &m), 48);
	assert_memory_equal(buf, "KRFT", 4);
	assert_int_equal(buf[4], KR_WIRE_VERSION);
}

static void
frame_truncated_at_every_length_is_refused_as_truncated(void **state)
{
	static uint8_t buf[FRAME_CAP];

	(void)state;
	for (size_t i = 0; i < smp_api_count; i++) {
		struct kr_msg m;
		struct kr_frame f;
		int n = smp_frame(smp_apis[i], buf, sizeof(buf), &m);

		for (int len = 0; len < n; len++)
			assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)len, &f),
					 -KR_WIRE_ETRUNCATED);
	}
}

static void
body_cut_short_or_extended_with_valid_crc_is_refused(void **state)
{
	static uint8_t buf[FRAME_CAP], work[FRAME_CAP];

	(void)state;
	for (size_t i = 0; i < smp_api_count; i++) {
		struct kr_msg m, d;
		struct kr_frame f;
		struct kr_frame_hdr h;
		int n = smp_frame(smp_apis[i], buf, sizeof(buf), &m);
		int body = n - KR_WIRE_HDR_BYTES;

		smp_hdr(&h);
		h.api = (uint8_t)smp_apis[i];
		if (h.api == KR_API_PING || h.api == KR_API_PING_RESP) {
			/* any payload up to KR_PING_BYTES_MAX is a ping; one byte more is not */
			memset(work, 0, sizeof(work));
			int fl = kr_frame_seal(work, sizeof(work), &h, KR_PING_BYTES_MAX + 1);

			assert_int_equal(kr_frame_decode(&smp_ctx, work, (size_t)fl, &f), 0);
			assert_int_equal(kr_msg_decode(&f, &d), -KR_WIRE_EBODYLEN);
			fl = kr_frame_seal(work, sizeof(work), &h, KR_PING_BYTES_MAX);
			assert_int_equal(kr_frame_decode(&smp_ctx, work, (size_t)fl, &f), 0);
			assert_int_equal(kr_msg_decode(&f, &d), 0);
			continue;
		}
		/* every shorter body, and one byte longer, sealed with a good CRC */
		for (int blen = 0; blen <= body + 1; blen++) {
			if (blen == body)
				continue;
			memset(work, 0, sizeof(work));
			memcpy(work + KR_WIRE_HDR_BYTES, buf + KR_WIRE_HDR_BYTES,
			       (size_t)(blen < body ? blen : body));
			int fl = kr_frame_seal(work, sizeof(work), &h, (uint32_t)blen);

			assert_int_equal(fl, KR_WIRE_HDR_BYTES + blen);
			assert_int_equal(kr_frame_decode(&smp_ctx, work, (size_t)fl, &f), 0);
			int rc = kr_msg_decode(&f, &d);

			if (rc != -KR_WIRE_EBODYLEN && rc != -KR_WIRE_EFIELD)
				fail_msg("api %s body %d of %d: got %d", kr_api_name(smp_apis[i]),
					 blen, body, rc);
		}
	}
}

static void
stated_body_length_above_the_limit_is_refused_as_oversized(void **state)
{
	uint8_t buf[FRAME_CAP];
	struct kr_msg m;
	struct kr_frame f;
	int n = smp_frame(KR_API_FETCH, buf, sizeof(buf), &m);

	(void)state;
	kr_put_le32(buf + 40, KR_WIRE_BODY_MAX + 1);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), -KR_WIRE_EOVERSIZED);
	kr_put_le32(buf + 40, UINT32_MAX);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), -KR_WIRE_EOVERSIZED);

	/* and the encoder will not make one */
	struct kr_frame_hdr h;
	static uint8_t big[KR_MSG_MAX + 64];

	smp_hdr(&h);
	assert_int_equal(kr_frame_seal(big, sizeof(big), &h, KR_WIRE_BODY_MAX + 1),
			 -KR_WIRE_EOVERSIZED);
	assert_true(kr_frame_seal(big, sizeof(big), &h, KR_WIRE_BODY_MAX) > 0);
}

static void
bytes_after_the_frame_are_refused_as_trailing(void **state)
{
	uint8_t buf[FRAME_CAP];
	struct kr_msg m;
	struct kr_frame f;
	int n = smp_frame(KR_API_VOTE, buf, sizeof(buf), &m);

	(void)state;
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n + 1, &f), -KR_WIRE_ETRAILING);
}

static void
any_flipped_bit_makes_the_frame_refused(void **state)
{
	static uint8_t buf[FRAME_CAP];

	(void)state;
	for (size_t i = 0; i < smp_api_count; i++) {
		struct kr_msg m;
		struct kr_frame f;
		int n = smp_frame(smp_apis[i], buf, sizeof(buf), &m);

		for (int pos = 0; pos < n; pos++)
			for (int bit = 0; bit < 8; bit++) {
				buf[pos] ^= (uint8_t)(1u << bit);
				int rc = kr_frame_decode(&smp_ctx, buf, (size_t)n, &f);

				buf[pos] ^= (uint8_t)(1u << bit);
				if (rc == 0)
					fail_msg("%s: bit %d of byte %d flipped, still accepted",
						 kr_api_name(smp_apis[i]), bit, pos);
				/* outside magic, version, flags and length, only the CRC can tell */
				if ((pos >= 8 && pos < 40) || pos >= 44)
					assert_int_equal(rc, -KR_WIRE_ECRC);
			}
		assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	}
}

static void
bad_magic_and_bad_version_are_refused_with_their_reasons(void **state)
{
	uint8_t buf[FRAME_CAP];
	struct kr_msg m;
	struct kr_frame f;
	int n = smp_frame(KR_API_VOTE, buf, sizeof(buf), &m);

	(void)state;
	buf[0] = 'X';
	reseal_crc(buf);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), -KR_WIRE_EMAGIC);
	buf[0] = 'K';
	buf[4] = KR_WIRE_VERSION + 1;
	reseal_crc(buf);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), -KR_WIRE_EVERSION);
}

static void
unknown_api_version_and_flags_are_refused(void **state)
{
	uint8_t buf[FRAME_CAP];
	struct kr_msg m;
	struct kr_frame f;
	int n = smp_frame(KR_API_VOTE, buf, sizeof(buf), &m);

	(void)state;
	buf[5] = 0;
	reseal_crc(buf);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), -KR_WIRE_EAPI);
	buf[5] = KR_API_LIMIT;
	reseal_crc(buf);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), -KR_WIRE_EAPI);
	buf[5] = KR_API_VOTE;
	buf[6] = 1;
	reseal_crc(buf);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), -KR_WIRE_EAPIVERSION);
	buf[6] = 0;
	buf[7] = 0x80;
	reseal_crc(buf);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), -KR_WIRE_EFLAGS);

	struct kr_frame_hdr h;

	smp_hdr(&h);
	h.flags = 0x80;
	assert_int_equal(kr_frame_encode(buf, sizeof(buf), &h, &m), -KR_WIRE_EFLAGS);
}

static void
peer_frame_from_another_cluster_or_voter_set_is_refused(void **state)
{
	uint8_t buf[FRAME_CAP];
	struct kr_msg m;
	struct kr_frame f;
	struct kr_wire_ctx other = smp_ctx;
	int n = smp_frame(KR_API_FETCH, buf, sizeof(buf), &m);

	(void)state;
	other.cluster_id[15] ^= 1;
	assert_int_equal(kr_frame_decode(&other, buf, (size_t)n, &f), -KR_WIRE_ECLUSTER);
	other = smp_ctx;
	other.voter_set_hash++;
	assert_int_equal(kr_frame_decode(&other, buf, (size_t)n, &f), -KR_WIRE_EVOTERSET);
	/* a peer frame may not omit them */
	memset(buf + 8, 0, 16);
	reseal_crc(buf);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), -KR_WIRE_ECLUSTER);
	n = smp_frame(KR_API_FETCH, buf, sizeof(buf), &m);
	kr_put_le64(buf + 24, 0);
	reseal_crc(buf);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), -KR_WIRE_EVOTERSET);
	/* without a context (tools, fuzzing) nothing is compared */
	assert_int_equal(kr_frame_decode(NULL, buf, (size_t)n, &f), 0);
	/* a dynamic cluster takes a peer frame carrying no hash (a directory formatted to
	 * join, which has not learned the bootstrap set), and such a node takes any; a
	 * different nonzero hash is still another cluster's set */
	other = smp_ctx;
	other.dynamic = 1;
	assert_int_equal(kr_frame_decode(&other, buf, (size_t)n, &f), 0);
	n = smp_frame(KR_API_FETCH, buf, sizeof(buf), &m);
	other.voter_set_hash++;
	assert_int_equal(kr_frame_decode(&other, buf, (size_t)n, &f), -KR_WIRE_EVOTERSET);
	other.voter_set_hash = 0;
	assert_int_equal(kr_frame_decode(&other, buf, (size_t)n, &f), 0);
	assert_int_equal(kr_frame_decode(&other, buf, (size_t)n, &f), 0);
}

static void
client_frame_may_omit_cluster_id_and_voter_hash_but_not_name_another(void **state)
{
	uint8_t buf[FRAME_CAP];
	struct kr_msg m;
	struct kr_frame f;
	struct kr_frame_hdr h;
	int n;

	(void)state;
	smp_hdr(&h);
	memset(h.cluster_id, 0, KR_UUID_BYTES);
	h.voter_set_hash = 0;
	h.sender_id = KR_NODE_NONE;
	smp_msg(KR_API_APPEND, &m);
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	h.cluster_id[0] = 99;
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), -KR_WIRE_ECLUSTER);
	memcpy(h.cluster_id, smp_ctx.cluster_id, KR_UUID_BYTES);
	h.voter_set_hash = 5;
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), -KR_WIRE_EVOTERSET);
}

static void
auth_flag_reserves_a_trailer_outside_the_crc(void **state)
{
	uint8_t buf[FRAME_CAP];
	struct kr_msg m, d;
	struct kr_frame f;
	struct kr_frame_hdr h;
	int n;

	(void)state;
	smp_hdr(&h);
	h.flags = KR_FRAME_F_AUTH;
	smp_msg(KR_API_VOTE, &m);
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(n, KR_WIRE_HDR_BYTES + KR_VOTE_BYTES + KR_WIRE_AUTH_BYTES);
	buf[n - 1] = 0x5a; /* the caller fills the trailer after sealing */
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	assert_ptr_equal(f.auth, buf + KR_WIRE_HDR_BYTES + KR_VOTE_BYTES);
	assert_int_equal(f.auth[KR_WIRE_AUTH_BYTES - 1], 0x5a);
	assert_int_equal(kr_msg_decode(&f, &d), 0);
	assert_msg_equal(&m, &d);
	/* without its trailer the frame is short */
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n - KR_WIRE_AUTH_BYTES, &f),
			 -KR_WIRE_ETRUNCATED);
	/* and there is no room for one in a frame encoded into too small a buffer */
	assert_int_equal(kr_frame_encode(buf, (size_t)n - 1, &h, &m), -KR_WIRE_ENOSPACE);
}

/* The zero-copy encoder: a FETCH_RESP's records and a FRAGMENT's data stay where they
 * are; the bytes written followed by them are kr_frame_encode's frame byte for byte (the
 * CRC covers them); anything else, a payload below the minimum, or a frame with a
 * trailer is encoded whole. */
static void
zero_copy_encoding_leaves_the_payload_out_and_covers_it(void **state)
{
	static const enum kr_api apis[] = {KR_API_FETCH_RESP, KR_API_FRAGMENT};
	uint8_t whole[FRAME_CAP], part[FRAME_CAP];
	const uint8_t *ext;
	uint32_t ext_len;
	struct kr_frame_hdr h;
	struct kr_frame f;
	struct kr_msg m;
	int n, k;

	(void)state;
	smp_hdr(&h);
	for (unsigned i = 0; i < sizeof(apis) / sizeof(apis[0]); i++) {
		const uint8_t *payload;
		uint32_t payload_len;

		smp_msg(apis[i], &m);
		payload = apis[i] == KR_API_FETCH_RESP ? m.u.fetch_resp.records : m.u.fragment.data;
		payload_len = apis[i] == KR_API_FETCH_RESP ? m.u.fetch_resp.records_len
							   : m.u.fragment.data_len;
		assert_true(payload_len > 0);
		n = kr_frame_encode(whole, sizeof(whole), &h, &m);
		assert_true(n > 0);
		memset(part, 0xee, sizeof(part));
		k = kr_frame_encode_ext(part, sizeof(part), &h, &m, 1, &ext, &ext_len);
		assert_ptr_equal(ext, payload);
		assert_int_equal(ext_len, payload_len);
		assert_int_equal(k + (int)ext_len, n);
		assert_int_equal(part[k], 0xee); /* nothing of the payload written */
		memcpy(part + k, ext, ext_len);
		assert_memory_equal(part, whole, (size_t)n);
		assert_int_equal(kr_frame_decode(&smp_ctx, part, (size_t)n, &f), 0);
		/* below the minimum: whole */
		k = kr_frame_encode_ext(part, sizeof(part), &h, &m, payload_len + 1, &ext,
					&ext_len);
		assert_int_equal(k, n);
		assert_int_equal(ext_len, 0);
		assert_memory_equal(part, whole, (size_t)n);
		/* the buffer must hold the whole frame */
		assert_int_equal(
			kr_frame_encode_ext(part, (size_t)n - 1, &h, &m, 1, &ext, &ext_len),
			-KR_WIRE_ENOSPACE);
	}
	/* a trailer's MAC covers the whole frame: encoded whole */
	h.flags = KR_FRAME_F_AUTH;
	smp_msg(KR_API_FETCH_RESP, &m);
	n = kr_frame_encode(whole, sizeof(whole), &h, &m);
	k = kr_frame_encode_ext(part, sizeof(part), &h, &m, 1, &ext, &ext_len);
	assert_int_equal(k, n);
	assert_int_equal(ext_len, 0);
	/* another message: whole */
	h.flags = 0;
	smp_msg(KR_API_APPEND, &m);
	n = kr_frame_encode(whole, sizeof(whole), &h, &m);
	assert_int_equal(kr_frame_encode_ext(part, sizeof(part), &h, &m, 1, &ext, &ext_len), n);
	assert_int_equal(ext_len, 0);
}

static void
encoding_into_any_smaller_buffer_fails_cleanly(void **state)
{
	static uint8_t buf[FRAME_CAP], small[FRAME_CAP];

	(void)state;
	for (size_t i = 0; i < smp_api_count; i++) {
		struct kr_msg m;
		struct kr_frame_hdr h;
		int n = smp_frame(smp_apis[i], buf, sizeof(buf), &m);

		smp_hdr(&h);
		for (int cap = 0; cap < n; cap++)
			assert_int_equal(kr_frame_encode(small, (size_t)cap, &h, &m),
					 -KR_WIRE_ENOSPACE);
		assert_int_equal(kr_frame_encode(small, (size_t)n, &h, &m), n);
	}
}

/* Overwrite len body bytes of a sample frame at body_pos, reseal, and return what
 * kr_msg_decode says. */
static int
decode_with_body_bytes(unsigned api, size_t body_pos, const uint8_t *v, size_t len)
{
	static uint8_t buf[FRAME_CAP];
	struct kr_msg m, d;
	struct kr_frame f;
	int n = smp_frame(api, buf, sizeof(buf), &m);

	memcpy(buf + KR_WIRE_HDR_BYTES + body_pos, v, len);
	reseal_crc(buf);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	return kr_msg_decode(&f, &d);
}

static int
decode_with_body_byte(unsigned api, size_t body_pos, uint8_t value)
{
	return decode_with_body_bytes(api, body_pos, &value, 1);
}

/* The sample FRAGMENT (200 bytes at 2800 of a 3000-byte message of 1400-byte
 * fragments) with msg_len, offset and frag_bytes forged, resealed: kr_msg_decode's say */
static int
decode_forged_fragment(uint32_t msg_len, uint32_t offset, uint32_t frag_bytes)
{
	uint8_t v[12];

	kr_put_le32(v, msg_len);
	kr_put_le32(v + 4, offset);
	kr_put_le32(v + 8, frag_bytes);
	return decode_with_body_bytes(KR_API_FRAGMENT, 4, v, sizeof(v));
}

/* A fragment must fit its message: each field that does not is refused, by the decoder
 * and by the encoder */
static void
a_fragment_must_fit_its_message(void **state)
{
	static uint8_t buf[FRAME_CAP];
	struct kr_frame_hdr h;
	struct kr_msg m;
	/* 200 data bytes; the largest message ending in 200 bytes of 256-byte fragments */
	const uint32_t big = 256u * (KR_MSG_MAX / 256) + 200;

	(void)state;
	assert_int_equal(decode_forged_fragment(3000, 2800, 1400), 0);
	assert_int_equal(decode_forged_fragment(3000, 1400, 1400), -KR_WIRE_EFIELD); /* short */
	assert_int_equal(decode_forged_fragment(3000, 700, 1400), -KR_WIRE_EFIELD);  /* off */
	assert_int_equal(decode_forged_fragment(3000, 4200, 1400), -KR_WIRE_EFIELD); /* past */
	assert_int_equal(decode_forged_fragment(3000, 3000, 1400), -KR_WIRE_EFIELD); /* at end */
	assert_int_equal(decode_forged_fragment(200, 0, 1400), -KR_WIRE_EFIELD);     /* fits one */
	assert_int_equal(decode_forged_fragment(200, 0, 200), -KR_WIRE_EFIELD);
	assert_int_equal(decode_forged_fragment(3000, 2800, 200), -KR_WIRE_EFIELD); /* < MIN */
	assert_int_equal(decode_forged_fragment(0, 0, 1400), -KR_WIRE_EFIELD);
	assert_int_equal(decode_forged_fragment(big - 256, big - 456, 256), 0);
	assert_true(big > KR_MSG_MAX);
	assert_int_equal(decode_forged_fragment(big, big - 200, 256), -KR_WIRE_EFIELD);
	/* the encoder sends none of them */
	smp_hdr(&h);
	smp_msg(KR_API_FRAGMENT, &m);
	m.u.fragment.f.offset = 1400;
	assert_int_equal(kr_frame_encode(buf, sizeof(buf), &h, &m), -KR_WIRE_EFIELD);
	smp_msg(KR_API_FRAGMENT, &m);
	m.u.fragment.f.frag_bytes = 200;
	assert_int_equal(kr_frame_encode(buf, sizeof(buf), &h, &m), -KR_WIRE_EFIELD);
}

static void
nonzero_reserved_bytes_and_unknown_body_flags_are_refused(void **state)
{
	(void)state;
	assert_int_equal(decode_with_body_byte(KR_API_VOTE, 21, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_VOTE, 20, 0x02), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_VOTE_RESP, 2, 0x04), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_VOTE_RESP, 3, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_END_EPOCH, 9, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_BEGIN_EPOCH_RESP, 2, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_FETCH_RESP, 6, 0x04), -KR_WIRE_EFIELD);
	/* a snapshot named in a frame with records */
	assert_int_equal(decode_with_body_byte(KR_API_FETCH_RESP, 6, 0x02), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_FETCH_SNAPSHOT, 28, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_FETCH, 64, 0x07), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_FETCH, 70, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_FETCH_SNAPSHOT_RESP, 6, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_FETCH_SNAPSHOT_RESP, 7, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_FETCH_RESP, 7, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_FETCH_RESP, 60, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_APPEND_RESP, 2, 0x02), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_READ_RESP, 2, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_READ_RESP, 36, 1), -KR_WIRE_EFIELD);
	/* a pending change's op past update, reserved bytes, a replica flag not defined */
	assert_int_equal(decode_with_body_byte(KR_API_DESCRIBE_QUORUM_RESP, 12, 4),
			 -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_DESCRIBE_QUORUM_RESP, 13, 1),
			 -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_DESCRIBE_QUORUM_RESP, 24 + 4, 2),
			 -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_DESCRIBE_QUORUM_RESP, 24 + 5, 1),
			 -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_DESCRIBE_NODES_RESP, 1, 1), -KR_WIRE_EFIELD);
	/* a voter change: an unknown op, reserved bytes, a negative node id */
	assert_int_equal(decode_with_body_byte(KR_API_VOTERS_CHANGE, 0, 0), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_VOTERS_CHANGE, 0, 4), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_VOTERS_CHANGE, 2, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_VOTERS_CHANGE, 31, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_VOTERS_CHANGE, 7, 0x80), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_VOTERS_CHANGE_RESP, 2, 0x02),
			 -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_VOTERS_CHANGE_RESP, 3, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_VOTERS_CHANGE_RESP, 13, 1), -KR_WIRE_EFIELD);
	/* a node status: an unknown action, reserved bytes, an unknown flag */
	assert_int_equal(decode_with_body_byte(KR_API_NODE_STATUS, 0, 2), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_NODE_STATUS, 7, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_NODE_STATUS_RESP, 6, 0x02), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_NODE_STATUS_RESP, 7, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_NODE_STATUS_RESP, 53, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_DESCRIBE_NODES_RESP, 8 + 13, 1),
			 -KR_WIRE_EFIELD);
	/* unknown node flags; a zero port is refused both ways */
	assert_int_equal(decode_with_body_byte(KR_API_DESCRIBE_NODES_RESP, 8 + 12, 0x08),
			 -KR_WIRE_EFIELD);
	{
		static uint8_t buf[FRAME_CAP];
		static struct kr_node_info nodes[1] = {{.node_id = 1, .port = 0}};
		struct kr_msg m = {.api = KR_API_DESCRIBE_NODES_RESP};
		struct kr_frame_hdr h;
		struct kr_frame f;
		struct kr_msg d;
		int n;

		smp_hdr(&h);
		m.u.nodes_resp.n = 1;
		m.u.nodes_resp.nodes = nodes;
		assert_int_equal(kr_frame_encode(buf, sizeof(buf), &h, &m), -KR_WIRE_EFIELD);
		nodes[0].port = 1;
		n = kr_frame_encode(buf, sizeof(buf), &h, &m);
		assert_true(n > 0);
		buf[KR_WIRE_HDR_BYTES + 8 + 8] = 0;
		reseal_crc(buf);
		assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
		assert_int_equal(kr_msg_decode(&f, &d), -KR_WIRE_EFIELD);
	}
}

static void
unknown_error_codes_are_refused(void **state)
{
	(void)state;
	/* error codes are the first two body bytes of every response */
	assert_int_equal(decode_with_body_byte(KR_API_VOTE_RESP, 0, 200), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_END_EPOCH_RESP, 0, 200), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_FETCH_RESP, 0, 200), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_APPEND_RESP, 1, 1), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_READ_RESP, 0, 200), -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_DESCRIBE_QUORUM_RESP, 0, 200),
			 -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_VOTE_RESP, 0, KR_ERR_INCONSISTENT_VOTER_SET),
			 0);
}

static void
counts_above_their_bounds_are_refused_both_ways(void **state)
{
	uint8_t buf[FRAME_CAP];
	struct kr_msg m;
	struct kr_frame_hdr h;

	(void)state;
	assert_int_equal(decode_with_body_byte(KR_API_END_EPOCH, 8, KR_VOTERS_MAX + 1),
			 -KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_DESCRIBE_QUORUM_RESP, 2, KR_VOTERS_MAX + 1),
			 -KR_WIRE_EFIELD);
	assert_int_equal(
		decode_with_body_byte(KR_API_DESCRIBE_QUORUM_RESP, 3, KR_OBSERVERS_MAX + 1),
		-KR_WIRE_EFIELD);
	assert_int_equal(decode_with_body_byte(KR_API_DESCRIBE_NODES_RESP, 0, KR_REPLICAS_MAX + 1),
			 -KR_WIRE_EFIELD);
	smp_hdr(&h);
	smp_msg(KR_API_END_EPOCH, &m);
	m.u.end_epoch.n_successors = KR_VOTERS_MAX + 1;
	assert_int_equal(kr_frame_encode(buf, sizeof(buf), &h, &m), -KR_WIRE_EFIELD);
	smp_msg(KR_API_DESCRIBE_QUORUM_RESP, &m);
	m.u.describe_resp.n_observers = KR_OBSERVERS_MAX + 1;
	assert_int_equal(kr_frame_encode(buf, sizeof(buf), &h, &m), -KR_WIRE_EFIELD);
}

static void
fetch_reply_frame_fields_must_be_consistent(void **state)
{
	uint8_t buf[FRAME_CAP];
	struct kr_msg m, d;
	struct kr_frame f;
	struct kr_frame_hdr h;
	int n;

	(void)state;
	smp_hdr(&h);
	/* frame index must be below the count, and the count at least 1 */
	smp_msg(KR_API_FETCH_RESP, &m);
	m.u.fetch_resp.frame_index = 3;
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	assert_int_equal(kr_msg_decode(&f, &d), -KR_WIRE_EFIELD);
	m.u.fetch_resp.frame_index = 0;
	m.u.fetch_resp.frame_count = 0;
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	assert_int_equal(kr_msg_decode(&f, &d), -KR_WIRE_EFIELD);
	/* a divergence answer is a single frame without records */
	smp_msg(KR_API_FETCH_RESP, &m);
	m.u.fetch_resp.diverging = 1;
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	assert_int_equal(kr_msg_decode(&f, &d), -KR_WIRE_EFIELD);
	m.u.fetch_resp.records_len = 0;
	m.u.fetch_resp.frame_index = 0;
	m.u.fetch_resp.frame_count = 1;
	m.u.fetch_resp.diverging_epoch = 1;
	m.u.fetch_resp.diverging_end_offset = 3;
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	assert_int_equal(kr_msg_decode(&f, &d), 0);
	assert_true(d.u.fetch_resp.diverging);
	assert_int_equal(d.u.fetch_resp.diverging_epoch, 1);
	assert_int_equal(d.u.fetch_resp.diverging_end_offset, 3);
}

/* Encode m, decode it back: the decoder's status. */
static int
round_trip(const struct kr_msg *m, struct kr_msg *d)
{
	static uint8_t buf[FRAME_CAP];
	struct kr_frame_hdr h;
	struct kr_frame f;
	int n;

	smp_hdr(&h);
	n = kr_frame_encode(buf, sizeof(buf), &h, m);
	assert_true(n > 0);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	return kr_msg_decode(&f, d);
}

static void
snapshot_frames_must_name_a_real_snapshot_and_stay_inside_it(void **state)
{
	struct kr_msg m, d;

	(void)state;
	/* FETCH_RESP naming a snapshot: one frame, no records, no divergence, no error,
	 * an id past offset 0 in an epoch >= 1 */
	smp_msg(KR_API_FETCH_RESP, &m);
	m.u.fetch_resp.records_len = 0;
	m.u.fetch_resp.frame_index = 0;
	m.u.fetch_resp.frame_count = 1;
	m.u.fetch_resp.snapshot = 1;
	m.u.fetch_resp.diverging_end_offset = 5000;
	m.u.fetch_resp.diverging_epoch = 3;
	assert_int_equal(round_trip(&m, &d), 0);
	assert_true(d.u.fetch_resp.snapshot);
	assert_false(d.u.fetch_resp.diverging);
	assert_int_equal(d.u.fetch_resp.diverging_end_offset, 5000);
	m.u.fetch_resp.diverging = 1;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	m.u.fetch_resp.diverging = 0;
	m.u.fetch_resp.error = KR_ERR_OFFSET_OUT_OF_RANGE;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	m.u.fetch_resp.error = KR_ERR_NONE;
	m.u.fetch_resp.diverging_end_offset = 0;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	m.u.fetch_resp.diverging_end_offset = 5000;
	m.u.fetch_resp.diverging_epoch = 0;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	m.u.fetch_resp.diverging_epoch = 3;
	m.u.fetch_resp.frame_count = 2;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);

	/* FETCH_SNAPSHOT: a real id, something to send, a position a file can have */
	smp_msg(KR_API_FETCH_SNAPSHOT, &m);
	assert_int_equal(round_trip(&m, &d), 0);
	m.u.fetch_snapshot.id.end_offset = 0;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	m.u.fetch_snapshot.id.end_offset = KR_OFFSET_NONE;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	smp_msg(KR_API_FETCH_SNAPSHOT, &m);
	m.u.fetch_snapshot.id.epoch = 0;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	smp_msg(KR_API_FETCH_SNAPSHOT, &m);
	m.u.fetch_snapshot.max_bytes = 0;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	smp_msg(KR_API_FETCH_SNAPSHOT, &m);
	m.u.fetch_snapshot.position = KR_SNAP_BYTES_MAX + 1;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	m.u.fetch_snapshot.position = KR_SNAP_BYTES_MAX;
	assert_int_equal(round_trip(&m, &d), 0);

	/* FETCH_SNAPSHOT_RESP: bytes inside the file, none with an error */
	smp_msg(KR_API_FETCH_SNAPSHOT_RESP, &m);
	m.u.fetch_snapshot_resp.position = m.u.fetch_snapshot_resp.size - 40;
	assert_int_equal(round_trip(&m, &d), 0); /* the file's last 40 bytes */
	m.u.fetch_snapshot_resp.position++;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	m.u.fetch_snapshot_resp.position = UINT64_MAX - 10; /* no wrap past the size */
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	smp_msg(KR_API_FETCH_SNAPSHOT_RESP, &m);
	m.u.fetch_snapshot_resp.size = KR_SNAP_BYTES_MAX + 1;
	m.u.fetch_snapshot_resp.position = 0;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	smp_msg(KR_API_FETCH_SNAPSHOT_RESP, &m);
	m.u.fetch_snapshot_resp.id.epoch = 0;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	smp_msg(KR_API_FETCH_SNAPSHOT_RESP, &m);
	m.u.fetch_snapshot_resp.frame_index = 3;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	smp_msg(KR_API_FETCH_SNAPSHOT_RESP, &m);
	m.u.fetch_snapshot_resp.error = KR_ERR_SNAPSHOT_NOT_FOUND;
	assert_int_equal(round_trip(&m, &d), -KR_WIRE_EFIELD);
	m.u.fetch_snapshot_resp.data_len = 0;
	m.u.fetch_snapshot_resp.size = 0;
	m.u.fetch_snapshot_resp.id = (struct kr_snap_id){0, 0}; /* what it asked may be gone */
	assert_int_equal(round_trip(&m, &d), 0);
	assert_int_equal(d.u.fetch_snapshot_resp.error, KR_ERR_SNAPSHOT_NOT_FOUND);
}

static void
records_that_do_not_tile_their_length_are_refused(void **state)
{
	uint8_t buf[FRAME_CAP], bad[1024];
	struct kr_msg m, d;
	struct kr_frame f;
	struct kr_frame_hdr h;
	int n;

	(void)state;
	smp_hdr(&h);
	/* batches: cut the second one short */
	smp_msg(KR_API_FETCH_RESP, &m);
	m.u.fetch_resp.records_len = batches_len - 1;
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	assert_int_equal(kr_msg_decode(&f, &d), -KR_WIRE_EFIELD);
	/* batches: a stated batch length below the header */
	memcpy(bad, batches, batches_len);
	kr_put_le32(bad + 4, 10);
	smp_msg(KR_API_READ_RESP, &m);
	m.u.read_resp.records = bad;
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	assert_int_equal(kr_msg_decode(&f, &d), -KR_WIRE_EFIELD);
	/* append records: count disagrees with the section, or a length runs past it */
	smp_msg(KR_API_APPEND, &m);
	m.u.append.record_count = 4;
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	assert_int_equal(kr_msg_decode(&f, &d), -KR_WIRE_EFIELD);
	m.u.append.record_count = 2;
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	assert_int_equal(kr_msg_decode(&f, &d), -KR_WIRE_EFIELD);
	memcpy(bad, records, records_len);
	kr_put_le32(bad, 10000);
	m.u.append.record_count = 3;
	m.u.append.records = bad;
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	assert_int_equal(kr_msg_decode(&f, &d), -KR_WIRE_EFIELD);
	m.u.append.record_count = 0;
	m.u.append.records_len = 0;
	n = kr_frame_encode(buf, sizeof(buf), &h, &m);
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	assert_int_equal(kr_msg_decode(&f, &d), -KR_WIRE_EFIELD);
}

static void
decoding_as_another_api_is_refused(void **state)
{
	uint8_t buf[FRAME_CAP];
	struct kr_msg m, d;
	struct kr_frame f;
	int n = smp_frame(KR_API_VOTE, buf, sizeof(buf), &m);

	(void)state;
	assert_int_equal(kr_frame_decode(&smp_ctx, buf, (size_t)n, &f), 0);
	assert_int_equal(kr_msg_decode_as(&f, KR_API_FETCH, &d), -KR_WIRE_EWRONGAPI);
	assert_int_equal(kr_msg_decode_as(&f, KR_API_VOTE, &d), 0);
}

static void
status_and_error_tables_name_every_entry(void **state)
{
	(void)state;
	assert_string_equal(kr_wire_status_name(-KR_WIRE_ECRC), "ECRC");
	assert_string_equal(kr_wire_status_name(-KR_WIRE_ECLUSTER), "ECLUSTER");
	assert_string_equal(kr_wire_status_name(KR_WIRE_STATUS_COUNT), "?");
	for (int s = 0; s < KR_WIRE_STATUS_COUNT; s++) {
		assert_non_null(kr_wire_status_name(s));
		assert_string_not_equal(kr_wire_status_text(s), "?");
	}
	assert_string_equal(kr_error_name(KR_ERR_NONE), "NONE");
	assert_string_equal(kr_error_name(KR_ERR_FENCED_LEADER_EPOCH), "FENCED_LEADER_EPOCH");
	assert_string_equal(kr_error_name(KR_ERR_OFFSET_OUT_OF_RANGE), "OFFSET_OUT_OF_RANGE");
	assert_string_equal(kr_error_name(KR_ERR_INCONSISTENT_CLUSTER_ID),
			    "INCONSISTENT_CLUSTER_ID");
	assert_string_equal(kr_error_name(999), "UNKNOWN_ERROR_CODE");
	assert_null(kr_error_text(999));
	assert_string_equal(kr_api_name(KR_API_FETCH_RESP), "FETCH_RESP");
	assert_null(kr_api_name(0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_message_round_trips_field_by_field),
		cmocka_unit_test(header_is_48_bytes_and_describe_quorum_is_header_only),
		cmocka_unit_test(frame_truncated_at_every_length_is_refused_as_truncated),
		cmocka_unit_test(body_cut_short_or_extended_with_valid_crc_is_refused),
		cmocka_unit_test(stated_body_length_above_the_limit_is_refused_as_oversized),
		cmocka_unit_test(bytes_after_the_frame_are_refused_as_trailing),
		cmocka_unit_test(any_flipped_bit_makes_the_frame_refused),
		cmocka_unit_test(bad_magic_and_bad_version_are_refused_with_their_reasons),
		cmocka_unit_test(unknown_api_version_and_flags_are_refused),
		cmocka_unit_test(peer_frame_from_another_cluster_or_voter_set_is_refused),
		cmocka_unit_test(
			client_frame_may_omit_cluster_id_and_voter_hash_but_not_name_another),
		cmocka_unit_test(auth_flag_reserves_a_trailer_outside_the_crc),
		cmocka_unit_test(zero_copy_encoding_leaves_the_payload_out_and_covers_it),
		cmocka_unit_test(encoding_into_any_smaller_buffer_fails_cleanly),
		cmocka_unit_test(nonzero_reserved_bytes_and_unknown_body_flags_are_refused),
		cmocka_unit_test(a_fragment_must_fit_its_message),
		cmocka_unit_test(unknown_error_codes_are_refused),
		cmocka_unit_test(counts_above_their_bounds_are_refused_both_ways),
		cmocka_unit_test(fetch_reply_frame_fields_must_be_consistent),
		cmocka_unit_test(snapshot_frames_must_name_a_real_snapshot_and_stay_inside_it),
		cmocka_unit_test(records_that_do_not_tile_their_length_are_refused),
		cmocka_unit_test(decoding_as_another_api_is_refused),
		cmocka_unit_test(status_and_error_tables_name_every_entry),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
