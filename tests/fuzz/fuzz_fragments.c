/* kraftd fuzz target: fragmented messages through the replication core, the way the
 * node takes them (kr_repl_on_packet with a reassembly pool, kr_repl_tick for expiry).
 * A one-voter leader in memory durability; four clients (addresses 1..4) each have four
 * Appends, whole frames built once per run (2..40 records of 100..400 bytes, every byte
 * of one message's values its own tag, so up to about 16 KiB: several fragments). The
 * input is a sequence of 4-byte steps:
 *   b0  bits 0-1 client, bits 2-3 message, bits 4-7 what to do:
 *         0-7   send fragment b1 of the message (past the end: the last one)
 *         8     send every fragment, in order
 *         9     a new message id for it, then every fragment, in order
 *         10    every fragment, last first
 *         11    fragment b1 naming another message length
 *         12    fragment b1 with one byte of its data flipped
 *         13    time passes (b1 ms) and the core's timers run
 *         14    fragment b1 of another epoch
 *         15    fragment b1 carrying another message's bytes under this one's id
 *   b2  the message's fragment size (256 + 64 * (b2 % 32)), taken when it is built
 *   b3  the message's size: (b3 % 40) + 2 records; its high bit: the whole message is
 *       wrong on purpose (the Append naming the leader as its sender, a FRAGMENT inside,
 *       the authentication flag set, a byte past the frame), chosen by b3's bits 5-6
 * Oracles: every data batch in the log is one whole message's records, byte for byte
 * (nothing half-applied, nothing mixed, nothing of a message that is wrong as a whole);
 * the pool never fills more slots than it has, a client never holds more than its share
 * and no whole message stays in it after the core took it; messages made whole never
 * outnumber what the fragments sent could complete. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/reasm.h"
#include "kraft/repl.h"
#include "kraft/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CLIENTS 4
#define MSGS 4
#define SLOTS 4
#define SLOT_BYTES (16u << 10)
#define PER_SENDER 2
#define MSG_CAP (SLOT_BYTES + 1024) /* some are larger than a slot: refused */

static const struct kr_wire_ctx ctx = {
	.cluster_id = {0x66, 0x75, 0x7a, 0x7a, 0x2d, 0x66, 0x72, 0x61, 0x67, 0x6d, 0x65, 0x6e, 0x74,
		       0x73, 0x2d, 0x31},
	.voter_set_hash = 0x66757a7a66726167ull,
};

struct message {
	bool built;
	uint8_t bytes[MSG_CAP];
	uint32_t len;
	uint32_t frag_bytes;
	uint32_t msg_id;
	uint32_t records; /* 0: not an Append the core may take */
	uint32_t value_len;
	uint8_t tag;
	bool sent[MSG_CAP / 256 + 1]; /* fragments of msg_id sent unchanged since it was last
				       * complete */
	uint32_t n_sent;
};

static struct message msgs[CLIENTS][MSGS];
static struct kr_reasm_slot slots[SLOTS];
static uint8_t pool[SLOTS * SLOT_BYTES];
static uint8_t records[MSG_CAP], txbuf[KR_WIRE_UDP_PAYLOAD_MAX], frame_buf[KR_WIRE_UDP_PAYLOAD_MAX];

static void
oops(const char *what)
{
	fprintf(stderr, "fuzz_fragments: %s\n", what);
	abort();
}

static uint8_t *
op_tx_begin(void *arg, int32_t to_node, uint64_t to_addr, uint32_t *cap)
{
	(void)arg;
	(void)to_node;
	(void)to_addr;
	*cap = sizeof(txbuf);
	return txbuf;
}

static void
op_tx_end(void *arg, uint32_t len)
{
	(void)arg;
	(void)len;
}

static int
op_event(void *arg, const struct kr_event *ev)
{
	(void)arg;
	(void)ev;
	return 0;
}

static void
op_flush(void *arg, const struct kr_rp_flush *f)
{
	(void)arg;
	(void)f;
}

static const struct kr_rp_ops ops = {
	.tx_begin = op_tx_begin, .tx_end = op_tx_end, .event = op_event, .flush = op_flush};

static int
frame(uint8_t *buf, size_t cap, const struct kr_msg *m)
{
	struct kr_frame_hdr h = {
		.sender_id = -1, .correlation_id = 7, .voter_set_hash = ctx.voter_set_hash};

	memcpy(h.cluster_id, ctx.cluster_id, KR_UUID_BYTES);
	return kr_frame_encode(buf, cap, &h, m);
}

/* Build client c's message i: an Append of (b3 % 40) + 2 records, or with b3's high bit
 * a whole message the core must refuse. */
static void
build(struct message *m, int c, int i, uint8_t b2, uint8_t b3)
{
	struct kr_msg am = {.api = KR_API_APPEND};
	uint32_t n = (uint32_t)(b3 % 40) + 2, v = 100 + (uint32_t)((b3 * 37 + c * 11 + i) % 301);
	uint32_t pos = 0;
	int len;

	m->tag = (uint8_t)(1 + c * MSGS + i);
	for (uint32_t k = 0; k < n; k++) {
		kr_put_le32(records + pos, v);
		memset(records + pos + 4, m->tag, v);
		pos += 4 + v;
	}
	am.u.append =
		(struct kr_append_req){.record_count = n, .records_len = pos, .records = records};
	len = frame(m->bytes, sizeof(m->bytes), &am);
	if (len <= 0)
		oops("an Append would not encode");
	m->len = (uint32_t)len;
	m->records = n;
	m->value_len = v;
	if (b3 & 0x80) {
		struct kr_msg wrong;
		struct kr_frame_hdr fh = {
			.sender_id = 1, .correlation_id = 7, .voter_set_hash = ctx.voter_set_hash};

		m->records = 0;
		switch ((b3 >> 5) & 3) {
		case 0: /* the Append as if from the leader itself: not its fragments' sender */
			memcpy(fh.cluster_id, ctx.cluster_id, KR_UUID_BYTES);
			len = kr_frame_encode(m->bytes, sizeof(m->bytes), &fh, &am);
			if (len <= 0)
				oops("an Append would not encode");
			break;
		case 1: /* a FRAGMENT inside a FRAGMENT */
			kr_frag_msg(&wrong, records, pos, 256, 99, 0, 0);
			len = frame(m->bytes, sizeof(m->bytes), &wrong);
			if (len <= 0)
				oops("a FRAGMENT would not encode");
			m->len = (uint32_t)len;
			break;
		case 2: /* says a trailer follows: a whole message carries none */
			m->bytes[7] |= KR_FRAME_F_AUTH;
			break;
		default: /* one byte past the frame */
			m->bytes[m->len++] = 0;
			break;
		}
	}
	m->frag_bytes = 256 + 64 * (uint32_t)(b2 % 32);
	if (m->frag_bytes >= m->len) /* at least two fragments */
		m->frag_bytes = m->len > 2 * 256 ? (m->len / 2 + 63) / 64 * 64 : 256;
	m->built = true;
}

static uint32_t
frag_count(const struct message *m)
{
	return m->len <= m->frag_bytes ? 1 : (m->len + m->frag_bytes - 1) / m->frag_bytes;
}

/* Fragment k of m went out unchanged: once all of them did, the core may take the
 * message whole once more (*possible). */
static void
mark(struct message *m, uint32_t k, uint64_t *possible)
{
	if (m->sent[k])
		return;
	m->sent[k] = true;
	if (++m->n_sent < frag_count(m))
		return;
	(*possible)++;
	memset(m->sent, 0, sizeof(m->sent));
	m->n_sent = 0;
}

/* Send fragment k of m (with the changes asked for) from client address addr. A changed
 * fragment may complete a message of its own (another length or epoch) or the message
 * (with wrong bytes): it adds one to *possible. */
static void
send_frag(struct kr_repl *r, struct kr_rp_harness *h, struct message *m,
	  const struct message *other, uint64_t addr, uint32_t k, int change, uint8_t arg,
	  int64_t now, uint64_t *possible)
{
	static uint8_t data[MSG_CAP];
	struct kr_msg fm;
	uint32_t off, fb = m->frag_bytes;
	int len;

	if (m->len <= fb) /* one fragment would be the whole message: not a fragment */
		return;
	if (k >= frag_count(m))
		k = frag_count(m) - 1;
	off = k * fb;
	memcpy(data, m->bytes, m->len);
	if (change == 12 && off + arg % fb < m->len)
		data[off + arg % fb] ^= 0x5a;
	if (change == 15 && other->built && other->len >= m->len)
		memcpy(data + off, other->bytes + off, m->len - off < fb ? m->len - off : fb);
	kr_frag_msg(&fm, data, m->len, fb, m->msg_id, change == 14 ? (uint32_t)(arg & 3) + 1 : 0,
		    off);
	if (change == 11)
		fm.u.fragment.f.msg_len = m->len + 64 * (uint32_t)(arg % 8 + 1);
	len = frame(frame_buf, sizeof(frame_buf), &fm);
	if (len <= 0)
		return; /* a changed length that no longer encodes: nothing sent */
	if (change < 11)
		mark(m, k, possible);
	else
		(*possible)++;
	kr_repl_on_packet(r, frame_buf, (size_t)len, KR_NODE_NONE, addr, now, &h->out);
	kr_rp_harness_run(h, now);
}

/* Every data batch of the log: one whole message's records. */
static void
check_log(struct kr_log *log)
{
	uint64_t off = kr_log_start(log), end = kr_log_end(log);

	while (off < end) {
		struct kr_log_span sp;
		uint32_t pos = 0;

		if (kr_log_read(log, off, end, 1u << 20, &sp) != 0 || sp.len == 0)
			oops("the log would not read");
		while (pos < sp.len) {
			struct kr_batch_hdr bh;
			const struct message *m = NULL;
			uint32_t rp;

			kr_batch_hdr_get(sp.data + pos, &bh);
			if (bh.attributes & KR_BATCH_A_CONTROL) {
				pos += bh.length;
				continue;
			}
			rp = pos + KR_BATCH_HDR_BYTES;
			if (bh.length > KR_BATCH_HDR_BYTES + 4)
				for (int c = 0; c < CLIENTS; c++)
					for (int i = 0; i < MSGS; i++)
						if (msgs[c][i].built &&
						    msgs[c][i].tag == sp.data[rp + 4])
							m = &msgs[c][i];
			if (m == NULL || m->records == 0)
				oops("a batch of no message sent whole");
			if (bh.record_count != m->records)
				oops("a batch with another count of records than its message");
			for (uint32_t k = 0; k < bh.record_count; k++) {
				if (kr_get_le32(sp.data + rp) != m->value_len)
					oops("a record of another length than its message's");
				for (uint32_t b = 0; b < m->value_len; b++)
					if (sp.data[rp + 4 + b] != m->tag)
						oops("a record with bytes of another message");
				rp += 4 + m->value_len;
			}
			if (rp != pos + bh.length)
				oops("a batch longer than its message's records");
			pos += bh.length;
		}
		off = sp.end_offset;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kr_repl r;
	static struct kr_reasm reasm;
	struct kr_log_config lc = {.durability = KR_LOG_MEMORY,
				   .segment_bytes = 256u << 10,
				   .memory_bytes_max = 256ull << 20};
	struct kr_repl_config c = {
		.node_id = 1,
		.wire = ctx,
		.n_voters = 1,
		.voters = {1},
		.memory_mode = true,
		.fetch_max_wait_us = 5000,
		.fetch_max_bytes = 1u << 20,
		.frame_records_max = 1400,
		.reply_frames_max = 8,
		.fetch_retry_us = 10000,
		.fetch_backoff_us = 10000,
		.incarnation = 1,
		.reasm = &reasm,
	};
	struct kr_rp_harness h = {.r = &r, .ops = &ops};
	struct kr_cmd lead = {.type = KR_CMD_LEADER, .epoch = 1, .node = KR_NODE_NONE};
	struct kr_log_report rep;
	struct kr_log *log;
	uint64_t possible = 0; /* messages the fragments sent could have made whole */
	int64_t now = 1000000;
	char err[200] = "";

	memset(msgs, 0, sizeof(msgs));
	memset(c.directory_id, 1, KR_UUID_BYTES);
	if (kr_reasm_init(&reasm, slots, pool, SLOTS, SLOT_BYTES, PER_SENDER, 50000, 400000) != 0)
		oops("reasm init");
	if (kr_log_open(&lc, &log, &rep, err, sizeof(err)) != 0)
		oops(err);
	if (kr_repl_init(&r, &c, log) != 0)
		oops("the core refused its configuration");
	kr_repl_on_cmd(&r, &lead, now, &h.out);
	kr_rp_harness_run(&h, now);
	if (r.role != KR_REPL_LEADER)
		oops("the node did not take the lead");

	for (size_t p = 0; p + 4 <= size; p += 4) {
		const uint8_t *b = data + p;
		int ci = b[0] & 3, mi = (b[0] >> 2) & 3, what = b[0] >> 4;
		struct message *m = &msgs[ci][mi], *other = &msgs[(ci + 1) % CLIENTS][mi];
		uint64_t addr = (uint64_t)ci + 1;
		uint32_t mine = 0;

		if (!m->built) {
			build(m, ci, mi, b[2], b[3]);
			m->msg_id = (uint32_t)(ci * MSGS + mi) * 1000;
		}
		now += 100;
		switch (what) {
		case 8:
		case 9:
			if (what == 9) {
				m->msg_id++;
				memset(m->sent, 0, sizeof(m->sent));
				m->n_sent = 0;
			}
			for (uint32_t k = 0; k < frag_count(m); k++)
				send_frag(&r, &h, m, other, addr, k, 0, 0, now, &possible);
			break;
		case 10:
			for (uint32_t k = frag_count(m); k-- > 0;)
				send_frag(&r, &h, m, other, addr, k, 0, 0, now, &possible);
			break;
		case 13:
			now += (int64_t)b[1] * 1000;
			kr_repl_tick(&r, now, &h.out);
			kr_rp_harness_run(&h, now);
			break;
		default:
			send_frag(&r, &h, m, other, addr, b[1], what, b[1], now, &possible);
			break;
		}
		if (kr_reasm_filling(&reasm) > SLOTS)
			oops("more slots filling than there are");
		for (uint32_t i = 0; i < SLOTS; i++)
			if (slots[i].state == KR_REASM_FILLING && slots[i].sender == addr)
				mine++;
		if (mine > PER_SENDER)
			oops("a client over its share of the pool");
		for (uint32_t i = 0; i < SLOTS; i++)
			if (slots[i].state == KR_REASM_WHOLE)
				oops("a whole message left in the pool after the core took it");
	}
	if (reasm.stats.done > possible)
		oops("more messages whole than the fragments sent could make");
	check_log(log);
	kr_log_close(log);
	return 0;
}
