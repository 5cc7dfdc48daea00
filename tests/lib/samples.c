/* kraftd tests: sample records, batches and messages (see samples.h). */
#include <stdlib.h>
#include <string.h>

#include "kraft/errors.h"
#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/voterset.h"
#include "samples.h"

const unsigned smp_apis[] = {
#define SMP_API_LIST(n, key, maxv, cl) KR_API_##n,
	KR_API_TABLE(SMP_API_LIST)
#undef SMP_API_LIST
};
const size_t smp_api_count = sizeof(smp_apis) / sizeof(smp_apis[0]);

const struct kr_wire_ctx smp_ctx = {
	.cluster_id = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16},
	.voter_set_hash = 0x1122334455667788ull,
};

uint32_t
smp_records(uint8_t *buf, size_t cap, uint32_t count, uint32_t value_len, uint8_t fill)
{
	uint32_t pos = 0;

	for (uint32_t i = 0; i < count; i++) {
		if (pos + 4 + (size_t)value_len > cap)
			return 0;
		kr_put_le32(buf + pos, value_len);
		memset(buf + pos + 4, fill + (uint8_t)i, value_len);
		pos += 4 + value_len;
	}
	return pos;
}

uint32_t
smp_batch(uint8_t *buf, size_t cap, uint64_t base, uint32_t epoch, uint32_t count,
	  uint32_t value_len)
{
	static uint8_t rec[KR_BATCH_BYTES_MAX];
	struct kr_batch_hdr h = {
		.base_offset = base,
		.epoch = epoch,
		.producer_id = 7,
		.sequence = base,
		.timestamp_us = 1700000000000000 + (int64_t)base,
	};
	uint32_t rlen = smp_records(rec, sizeof(rec), count, value_len, (uint8_t)base);
	int n = rlen ? kr_batch_build(buf, cap, &h, rec, rlen, count) : -1;

	return n > 0 ? (uint32_t)n : 0;
}

void
smp_hdr(struct kr_frame_hdr *h)
{
	memset(h, 0, sizeof(*h));
	memcpy(h->cluster_id, smp_ctx.cluster_id, KR_UUID_BYTES);
	h->voter_set_hash = smp_ctx.voter_set_hash;
	h->sender_id = 3;
	h->correlation_id = 0xdeadbeef;
}

static uint8_t records[512]; /* an APPEND record section */
static uint32_t records_len;
static uint8_t batches[1024]; /* two whole batches for FETCH_RESP / READ_RESP */
static uint32_t batches_len;

static void
init_buffers(void)
{
	if (records_len)
		return;
	records_len = smp_records(records, sizeof(records), 3, 17, 'a');
	batches_len = smp_batch(batches, sizeof(batches), 10, 2, 2, 9);
	batches_len +=
		smp_batch(batches + batches_len, sizeof(batches) - batches_len, 12, 3, 1, 30);
	if (!records_len || !batches_len)
		abort();
}

void
smp_msg(unsigned api, struct kr_msg *m)
{
	init_buffers();
	memset(m, 0, sizeof(*m));
	m->api = (uint8_t)api;
	switch (api) {
	case KR_API_VOTE:
		m->u.vote = (struct kr_vote_req){.epoch = 9,
						 .last_epoch = 8,
						 .last_offset = 1234567,
						 .voter_id = 2,
						 .pre_vote = 1};
		memset(m->u.vote.candidate_dir, 0xab, KR_UUID_BYTES);
		memset(m->u.vote.voter_dir, 0xba, KR_UUID_BYTES);
		break;
	case KR_API_VOTE_RESP:
		m->u.vote_resp = (struct kr_vote_resp){.error = KR_ERR_FENCED_LEADER_EPOCH,
						       .granted = 1,
						       .pre_vote = 1,
						       .epoch = 11,
						       .leader_id = -1};
		break;
	case KR_API_BEGIN_EPOCH:
		m->u.begin_epoch = (struct kr_begin_epoch_req){.epoch = 12, .leader_id = 4};
		memset(m->u.begin_epoch.voter_dir, 0xbe, KR_UUID_BYTES);
		break;
	case KR_API_END_EPOCH:
		m->u.end_epoch = (struct kr_end_epoch_req){
			.epoch = 13, .leader_id = 1, .n_successors = 3, .successors = {5, 2, 9}};
		break;
	case KR_API_BEGIN_EPOCH_RESP:
	case KR_API_END_EPOCH_RESP:
		m->u.epoch_resp = (struct kr_epoch_resp){
			.error = KR_ERR_NOT_LEADER_OR_FOLLOWER, .epoch = 14, .leader_id = 6};
		break;
	case KR_API_FETCH:
		m->u.fetch = (struct kr_fetch_req){.epoch = 15,
						   .last_fetched_epoch = 14,
						   .fetch_offset = 99,
						   .durable_offset = 97,
						   .max_wait_us = 250000,
						   .max_bytes = 3000};
		memset(m->u.fetch.replica_dir, 0xcd, KR_UUID_BYTES);
		m->u.fetch.incarnation = 0x0123456789abcdefull; /* all 64 bits on the wire */
		m->u.fetch.log_start_offset = 50;
		m->u.fetch.want_snapshot = 1;
		m->u.fetch.state_ahead = 1;
		break;
	case KR_API_FETCH_RESP:
		m->u.fetch_resp = (struct kr_fetch_resp){.error = KR_ERR_NONE,
							 .frame_index = 1,
							 .frame_count = 3,
							 .leader_id = 1,
							 .epoch = 16,
							 .base_offset = 10,
							 .high_watermark = KR_OFFSET_NONE,
							 .log_start_offset = 5,
							 .prev_epoch = 2,
							 .incarnation = 0xfedcba9876543210ull,
							 .records = batches,
							 .records_len = batches_len};
		break;
	case KR_API_APPEND:
		m->u.append = (struct kr_append_req){.producer_id = 0x0102030405060708ull,
						     .sequence = 42,
						     .record_count = 3,
						     .records = records,
						     .records_len = records_len};
		break;
	case KR_API_APPEND_RESP:
		m->u.append_resp = (struct kr_append_resp){.error = KR_ERR_NONE,
							   .outcome_unknown = 1,
							   .leader_id = 2,
							   .epoch = 17,
							   .record_count = 3,
							   .base_offset = 777};
		break;
	case KR_API_READ:
		m->u.read = (struct kr_read_req){
			.from_offset = 55, .max_bytes = 4096, .max_wait_us = 1000};
		break;
	case KR_API_READ_RESP:
		m->u.read_resp = (struct kr_read_resp){.error = KR_ERR_NONE,
						       .epoch = 18,
						       .high_watermark = 13,
						       .log_start_offset = 0,
						       .base_offset = 10,
						       .records = batches,
						       .records_len = batches_len};
		break;
	case KR_API_DESCRIBE_QUORUM:
		break;
	case KR_API_DESCRIBE_QUORUM_RESP: {
		static struct kr_replica_info replicas[5];
		struct kr_describe_resp *d = &m->u.describe_resp;

		d->error = KR_ERR_NONE;
		d->n_voters = 3;
		d->n_observers = 2;
		d->leader_id = 1;
		d->epoch = 19;
		d->pending = KR_VOTERS_OP_REMOVE;
		d->high_watermark = 1000;
		for (int i = 0; i < 5; i++) {
			replicas[i].replica_id = i + 1;
			memset(replicas[i].directory_id, 0x10 + i, KR_UUID_BYTES);
			replicas[i].log_end_offset = 1000 + (uint64_t)i;
			replicas[i].durable_offset = i == 4 ? KR_OFFSET_NONE : 990 + (uint64_t)i;
			replicas[i].last_fetch_us = i == 3 ? -1 : 1700000000000000 + i;
			replicas[i].last_caught_up_us = 1700000000000000 - i;
			replicas[i].flags = i == 4 ? KR_REPLICA_F_PENDING : 0;
		}
		d->replicas = replicas;
		break;
	}
	case KR_API_DESCRIBE_NODES:
		break;
	case KR_API_VOTERS_CHANGE:
		m->u.voters_change = (struct kr_voters_change_req){
			.op = KR_VOTERS_OP_ADD, .voter_id = 4, .ip = 0x7f000004u, .port = 9096};
		memset(m->u.voters_change.directory_id, 0x44, KR_UUID_BYTES);
		break;
	case KR_API_VOTERS_CHANGE_RESP:
		m->u.voters_change_resp =
			(struct kr_voters_change_resp){.error = KR_ERR_DUPLICATE_VOTER,
						       .outcome_unknown = 1,
						       .leader_id = 2,
						       .epoch = 7,
						       .offset = 123456};
		break;
	case KR_API_NODE_STATUS:
		m->u.node_status = (struct kr_node_status_req){.action = 1};
		break;
	case KR_API_NODE_STATUS_RESP:
		m->u.node_status_resp =
			(struct kr_node_status_resp){.node_id = 3,
						     .error = KR_ERR_INVALID_REQUEST,
						     .flags = KR_STATUS_F_APPLYING,
						     .log_start = 1000,
						     .log_end = 5000,
						     .committed = 4990,
						     .applied = 4000,
						     .snapshot_end = 3000,
						     .snapshot_epoch = 4,
						     .snapshot_bytes = 1u << 20,
						     .snapshots = 9};
		break;
	case KR_API_FETCH_SNAPSHOT:
		m->u.fetch_snapshot = (struct kr_fetch_snapshot_req){
			.epoch = 7,
			.id = {.end_offset = 3000, .epoch = 6},
			.position = 65536,
			.max_bytes = 1u << 20,
			.incarnation = 1765000000123ull,
		};
		memset(m->u.fetch_snapshot.replica_dir, 0x55, KR_UUID_BYTES);
		break;
	case KR_API_FETCH_SNAPSHOT_RESP: {
		static const uint8_t data[40] = "bytes of a snapshot file, from position";

		m->u.fetch_snapshot_resp = (struct kr_fetch_snapshot_resp){
			.frame_index = 1,
			.frame_count = 3,
			.leader_id = 2,
			.epoch = 7,
			.id = {.end_offset = 3000, .epoch = 6},
			.size = 200000,
			.position = 65536,
			.incarnation = 1765000000123ull,
			.data = data,
			.data_len = sizeof(data),
		};
		break;
	}
	case KR_API_FRAGMENT: {
		/* the third of a 3000-byte message's fragments of 1400: its last 200 bytes */
		static uint8_t data[200];

		memset(data, 0x46, sizeof(data));
		m->u.fragment = (struct kr_fragment){
			.f = {.msg_id = 77,
			      .msg_len = 3000,
			      .offset = 2800,
			      .frag_bytes = 1400,
			      .epoch = 7},
			.data = data,
			.data_len = sizeof(data),
		};
		break;
	}
	case KR_API_PING:
	case KR_API_PING_RESP: {
		static const uint8_t pay[16] = "kraftbench ping";

		m->u.ping.payload = pay;
		m->u.ping.len = sizeof(pay);
		break;
	}
	case KR_API_DESCRIBE_NODES_RESP: {
		static struct kr_node_info nodes[4];

		for (int i = 0; i < 4; i++)
			nodes[i] = (struct kr_node_info){
				.node_id = i + 1,
				.ip = {127, 0, 0, (uint8_t)(i + 1)},
				.port = (uint16_t)(9093 + i),
				.mgmt_port = (uint16_t)(9193 + i),
				.flags = (uint8_t)((i < 3 ? KR_NODE_F_VOTER : 0) |
						   (i == 1 ? KR_NODE_F_SELF : 0)),
			};
		m->u.nodes_resp.n = 4;
		m->u.nodes_resp.nodes = nodes;
		break;
	}
	default:
		abort();
	}
}

int
smp_frame(unsigned api, uint8_t *buf, size_t cap, struct kr_msg *m)
{
	struct kr_frame_hdr h;

	smp_hdr(&h);
	smp_msg(api, m);
	return kr_frame_encode(buf, cap, &h, m);
}
