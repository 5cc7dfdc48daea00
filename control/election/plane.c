/* kraftd: the control plane's ring handlers: events from the dataplane into the election
 * core, and the core's actions into commands for the dataplane. The control thread and
 * the simulator both use exactly these. */
#include <errno.h>
#include <string.h>

#include "election_int.h"

void
kr_control_on_event(struct kr_election *e, const struct kr_wire_ctx *wire,
		    const struct kr_event *ev, int64_t now, struct kr_el_out *out)
{
	struct kr_frame f;
	struct kr_msg m;

	if (ev->type != KR_EV_PACKET) {
		kr_election_on_event(e, ev, now, out);
		return;
	}
	if (ev->frame_len > KR_CTL_FRAME_MAX ||
	    kr_frame_decode(wire, ev->frame, ev->frame_len, &f) != 0 ||
	    kr_msg_decode(&f, &m) != 0 || f.hdr.sender_id != ev->node) {
		el_ignore(e, KR_EL_IGNORE_INVALID);
		return;
	}
	kr_election_on_msg(e, &f.hdr, &m, now, out);
}

int
kr_control_command(const struct kr_election *e, const struct kr_wire_ctx *wire,
		   const struct kr_el_action *a, struct kr_cmd *cmd)
{
	struct kr_frame_hdr h;
	int n;

	memset(cmd, 0, offsetof(struct kr_cmd, frame));
	if (a->type == KR_EL_COMMAND) {
		cmd->type = a->u.cmd.type;
		cmd->epoch = a->u.cmd.epoch;
		cmd->node = a->u.cmd.node;
		cmd->seq = a->u.cmd.seq;
		if (cmd->type == KR_CMD_IDENTITY) /* the core's directory id, as it is now */
			memcpy(cmd->frame, e->cfg.directory_id, KR_UUID_BYTES);
		return 0;
	}
	if (a->type != KR_EL_SEND)
		return -EINVAL;
	memset(&h, 0, sizeof(h));
	memcpy(h.cluster_id, wire->cluster_id, KR_UUID_BYTES);
	h.voter_set_hash = wire->voter_set_hash;
	h.sender_id = e->cfg.node_id;
	h.correlation_id = a->u.send.correlation;
	h.flags = wire->flags;
	n = kr_frame_encode(cmd->frame, sizeof(cmd->frame), &h, &a->u.send.msg);
	if (n < 0)
		return -ENOSPC;
	cmd->type = KR_CMD_SEND;
	cmd->node = a->u.send.to;
	cmd->epoch = e->epoch;
	cmd->frame_len = (uint16_t)n;
	return 0;
}
