/* kraftd: DescribeQuorum on the dataplane port: the leader's view of every replica (as
 * kafka-metadata-quorum.sh describes it); other nodes name the leader they know. */
#include "repl_int.h"

void
rp_recv_describe(struct kr_repl *r, const struct kr_frame_hdr *h, uint64_t addr, int64_t now,
		 struct kr_rp_out *out)
{
	struct kr_msg *m =
		rp_send(out, KR_NODE_NONE, addr, h->correlation_id, KR_API_DESCRIBE_QUORUM_RESP);

	kr_repl_describe(r, now, &m->u.describe_resp);
}
