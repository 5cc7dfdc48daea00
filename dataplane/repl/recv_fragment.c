/* kraftd: FRAGMENT, on any node: a piece of a message larger than a datagram (a large
 * append, a fetch answer carrying a large batch). Kept in the pool the shell gave
 * (include/kraft/reasm.h) until its message is whole, which is then taken exactly as a
 * frame that came in one datagram, except that it carries no trailer of its own: each
 * fragment was authenticated before it got here. The pool is keyed by the sender's
 * address, the one answers go back to. */
#include "repl_int.h"

void
rp_recv_fragment(struct kr_repl *r, const struct kr_frame_hdr *h, int32_t addr_node, uint64_t addr,
		 const struct kr_fragment *frag, int64_t now, struct kr_rp_out *out)
{
	const uint8_t *msg;
	uint32_t msg_len, slot;
	enum kr_reasm_result res;

	if (r->cfg.reasm == NULL) {
		rp_drop(r, KR_RP_DROP_UNEXPECTED_API);
		return;
	}
	res = kr_reasm_put(r->cfg.reasm, addr, &frag->f, frag->data, frag->data_len, now, &msg,
			   &msg_len, &slot);
	if (res < 0) {
		rp_drop(r, KR_RP_DROP_FRAGMENT);
		return;
	}
	if (res != KR_REASM_DONE)
		return;
	rp_on_frame(r, msg, msg_len, addr_node, addr, h->sender_id, now, out);
	kr_reasm_release(r->cfg.reasm, slot);
}
