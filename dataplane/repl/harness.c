/* kraftd: the one harness that carries out the replication core's actions, for the node,
 * kraftsim and the cluster unit test alike (include/kraft/repl.h, "THE HARNESS"). */
#include <string.h>

#include "repl_int.h"

/* With authentication on, fill the trailer of a frame about to go out (encoded with
 * KR_FRAME_F_AUTH by this core, or by the control plane for a KR_RP_TRANSMIT). */
static int
seal(struct kr_rp_harness *h, uint8_t *buf, uint32_t len, int64_t now)
{
	struct kr_frame_peek p;

	if (kr_frame_peek(buf, len, &p) != 0 || !(p.flags & KR_FRAME_F_AUTH))
		return 0;
	return kr_auth_seal_next(&h->r->auth, buf, len, now + h->r->wall_offset_us);
}

static void
failed(struct kr_rp_harness *h, int err)
{
	h->encode_errors++;
	h->last_error = err;
}

/* Zero copy (kr_rp_ops.tx_end_ext): the shell can send a payload from log memory, and
 * no trailer's MAC needs the whole frame in one place. */
static bool
zero_copy(const struct kr_rp_harness *h)
{
	return h->ops->tx_end_ext != NULL && !h->r->auth.on;
}

/* Send the len bytes in the shell's buffer, and the ext_len at ext after them. */
static void
tx_done(struct kr_rp_harness *h, uint32_t len, const uint8_t *ext, uint32_t ext_len)
{
	if (ext_len == 0) {
		h->ops->tx_end(h->arg, len);
		return;
	}
	h->ext_frames++;
	h->ext_bytes += ext_len;
	h->ops->tx_end_ext(h->arg, len, ext, ext_len);
}

/* A message too large for buf (cap bytes, the port's datagram): encoded whole into
 * h->big without a trailer, then sent as FRAGMENT frames of the datagram's size, each
 * sealed on its own (the first in buf, the others in buffers of their own). The receiver
 * holds them until all came (include/kraft/reasm.h): a lost one costs the message.
 * A Fetch answer's records are not staged: only the message's head (header and fixed
 * fields, n_pre bytes) goes into h->big, a fragment past it takes its slice of the
 * records from log memory (copied into its datagram, or with zero copy chained to it),
 * and the one fragment that straddles the two has its records' part copied after the
 * head. */
static void
fragment(struct kr_rp_harness *h, const struct kr_rp_action *a, int32_t to, uint64_t addr,
	 uint8_t *buf, uint32_t cap, int64_t now)
{
	const uint8_t *ext = NULL;
	uint32_t ext_len = 0;
	int n_pre = h->stage ? rp_encode(h->r, a, h->big, h->big_cap, false)
			     : rp_encode_ext(h->r, a, h->big, h->big_cap, false, &ext, &ext_len);
	uint32_t n = n_pre > 0 ? (uint32_t)n_pre + ext_len : 0;
	uint32_t fb = n > 0 ? kr_frag_size(cap, n, h->r->auth.on) : 0;
	struct kr_rp_action fa = *a;

	if (fb == 0) {
		failed(h, n_pre < 0 ? n_pre : -KR_WIRE_ENOSPACE);
		h->ops->tx_end(h->arg, 0);
		return;
	}
	h->msg_id++;
	h->fragmented++;
	for (uint32_t off = 0; off < n; off += fb) {
		uint32_t pre = (uint32_t)n_pre, dl = n - off < fb ? n - off : fb, xl = 0;
		const uint8_t *x = NULL;
		int len;

		if (off > 0 && (buf = h->ops->tx_begin(h->arg, to, addr, &cap)) == NULL)
			return;
		kr_frag_msg(&fa.u.send.msg, h->big, n, fb, h->msg_id, h->r->epoch, off);
		if (ext_len > 0 && off >= pre)
			fa.u.send.msg.u.fragment.data = ext + (off - pre);
		else if (ext_len > 0 && off + dl > pre)
			memcpy(h->big + pre, ext, off + dl - pre);
		len = zero_copy(h) && ext_len > 0 && off >= pre
			      ? rp_encode_ext(h->r, &fa, buf, cap, false, &x, &xl)
			      : kr_repl_encode(h->r, &fa, buf, cap);
		if (len > 0 && seal(h, buf, (uint32_t)len, now) != 0)
			len = -KR_WIRE_ENOSPACE;
		if (len < 0) { /* a smaller buffer than the first: the rest is useless */
			failed(h, len);
			h->ops->tx_end(h->arg, 0);
			return;
		}
		h->fragments++;
		tx_done(h, (uint32_t)len, x, xl);
	}
}

/* Encode (or copy) a frame into the shell's buffer, seal it and send it. */
static void
transmit(struct kr_rp_harness *h, const struct kr_rp_action *a, int64_t now)
{
	bool send = a->type == KR_RP_SEND;
	int32_t to = send ? a->u.send.to_node : a->u.transmit.to_node;
	uint64_t addr = send ? a->u.send.to_addr : 0;
	uint32_t cap;
	uint8_t *buf = h->ops->tx_begin(h->arg, to, addr, &cap);
	const uint8_t *ext = NULL;
	uint32_t ext_len = 0;
	int len;

	if (buf == NULL)
		return;
	if (send) {
		len = zero_copy(h) ? rp_encode_ext(h->r, a, buf, cap, false, &ext, &ext_len)
				   : kr_repl_encode(h->r, a, buf, cap);
		if (len == -KR_WIRE_ENOSPACE && h->big != NULL) {
			fragment(h, a, to, addr, buf, cap, now);
			return;
		}
		if (len > 0 && ext_len > 0) {
			tx_done(h, (uint32_t)len, ext, ext_len);
			return;
		}
	} else if (a->u.transmit.len <= cap) {
		memcpy(buf, a->u.transmit.bytes, a->u.transmit.len);
		len = a->u.transmit.len;
	} else {
		len = -KR_WIRE_ENOSPACE;
	}
	if (len > 0 && seal(h, buf, (uint32_t)len, now) != 0)
		len = -KR_WIRE_ENOSPACE;
	if (len < 0) {
		failed(h, len);
		len = 0;
	}
	h->ops->tx_end(h->arg, (uint32_t)len);
}

int
kr_rp_harness_step(struct kr_rp_harness *h, int64_t now)
{
	const struct kr_rp_action *a;

	if (h->next >= h->out.n) {
		h->out.n = h->next = 0;
		return 0;
	}
	a = &h->out.a[h->next];
	switch (a->type) {
	case KR_RP_SEND:
		if (h->ops->sending != NULL)
			h->ops->sending(h->arg, a);
		transmit(h, a, now);
		break;
	case KR_RP_TRANSMIT:
		transmit(h, a, now);
		break;
	case KR_RP_EVENT:
		if (h->ops->event(h->arg, &a->u.ev) != 0)
			return -EAGAIN; /* kept for the next call */
		break;
	case KR_RP_FLUSH:
		h->ops->flush(h->arg, &a->u.flush);
		break;
	case KR_RP_INSTALLED:
		if (h->ops->installed != NULL)
			h->ops->installed(h->arg, a->u.installed);
		break;
	default:
		RP_ASSERT(0); /* an action type the core does not produce */
	}
	h->next++;
	return 1;
}

int
kr_rp_harness_run(struct kr_rp_harness *h, int64_t now)
{
	int rc;

	while ((rc = kr_rp_harness_step(h, now)) == 1)
		;
	return rc;
}

int
kr_rp_flush_begin(struct kr_rp_harness *h, struct kr_log *log, struct kr_rp_flusher *fl,
		  int64_t now, struct kr_rp_flush *f)
{
	int rc;

	if (fl->out || h->r->role == KR_REPL_FAILED || !kr_log_needs_flush(log))
		return 0;
	rc = kr_log_job_begin(log, &fl->job);
	if (rc != 0) {
		kr_repl_fail(h->r, KR_FATAL_STORAGE, now, &h->out);
		return rc;
	}
	fl->out = true;
	fl->gen = h->r->gen;
	f->upto = fl->job.end;
	f->gen = fl->gen;
	return 1;
}

int
kr_rp_flush_end(struct kr_rp_harness *h, struct kr_log *log, struct kr_rp_flusher *fl, int64_t now)
{
	int rc;

	if (!fl->out)
		return -EINVAL;
	fl->out = false;
	rc = kr_log_job_end(log, &fl->job);
	if (rc != 0) {
		kr_repl_fail(h->r, KR_FATAL_STORAGE, now, &h->out);
		return rc;
	}
	kr_repl_on_durable(h->r, kr_log_durable_end(log), fl->gen, now, &h->out);
	return 0;
}
