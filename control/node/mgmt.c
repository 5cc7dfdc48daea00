/* kraftd: the management listener (kraftctl's port): DESCRIBE_NODES and NODE_STATUS
 * answered here, the other client requests relayed to the dataplane through the
 * management rings and their answers sent back to the client that asked. Frames are
 * checked (and, with a cluster key, authenticated) before anything is relayed. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include "kraft/errors.h"
#include "node_int.h"

/* An answer from the management listener to to, sealed with its key. */
static void
mgmt_reply(struct ctl *c, const struct sockaddr_in *to, const struct kr_frame_hdr *req,
	   const struct kr_msg *m)
{
	struct kn_node *n = c->n;
	struct kr_frame_hdr h = {.sender_id = n->cfg.node_id,
				 .correlation_id = req->correlation_id,
				 .voter_set_hash = n->wire.voter_set_hash,
				 .flags = n->wire.flags};
	int len;

	memcpy(h.cluster_id, n->wire.cluster_id, KR_UUID_BYTES);
	len = kr_frame_encode(c->buf, sizeof(c->buf), &h, m);
	if (len > 0 && c->auth.on &&
	    kr_auth_seal_next(&c->auth, c->buf, (size_t)len, kn_wall_us()) != 0)
		len = 0;
	if (len > 0)
		(void)sendto(n->mgmt_fd, c->buf, (size_t)len, MSG_DONTWAIT,
			     (const struct sockaddr *)to, sizeof(*to));
}

/* NODE_STATUS: this node's storage, from what its threads publish; action 1 asks the
 * apply thread for a snapshot now (kraftctl snapshot). */
static void
node_status(struct ctl *c, const struct sockaddr_in *from, const struct kr_frame *f)
{
	struct kn_node *n = c->n;
	struct kr_msg q, m = {.api = KR_API_NODE_STATUS_RESP};
	struct kr_node_status_resp *r = &m.u.node_status_resp;
	bool applying = atomic_load(&n->applying);

	if (kr_msg_decode(f, &q) != 0) {
		n->ctl_stats.mgmt_dropped++;
		return;
	}
	*r = (struct kr_node_status_resp){
		.node_id = n->cfg.node_id,
		.flags = applying ? KR_STATUS_F_APPLYING : 0,
		.log_start = atomic_load_explicit(&n->log_start_pub, memory_order_relaxed),
		.log_end = atomic_load_explicit(&n->log_end_pub, memory_order_relaxed),
		.committed = atomic_load_explicit(&n->committed_pub, memory_order_relaxed),
		.applied = applying ? atomic_load(&n->apply_released) : KR_OFFSET_NONE,
		.snapshot_end = atomic_load(&n->snap_end),
		.snapshot_epoch = atomic_load(&n->snap_epoch),
		.snapshot_bytes = atomic_load(&n->snap_bytes),
		.snapshots = atomic_load(&n->snap_count),
	};
	if (q.u.node_status.action == 1) {
		if (!applying) {
			r->error = KR_ERR_INVALID_REQUEST;
		} else {
			atomic_store(&n->snap_force, true);
			kn_wake_always(n->apply_wake);
		}
	}
	mgmt_reply(c, from, &f->hdr, &m);
}

static void
describe_nodes(struct ctl *c, const struct sockaddr_in *from, const struct kr_frame_hdr *h)
{
	const struct kr_node_config *cfg = &c->n->cfg;
	struct kr_node_info nodes[KR_REPLICAS_MAX];
	struct kr_msg m = {.api = KR_API_DESCRIBE_NODES_RESP};
	const struct kr_voter_set *logset = &c->h.e->log_voters.set;
	unsigned k = 0;
	bool self = false;

	for (int i = 0; i < cfg->n_voters; i++) {
		int in_log = kr_voters_find(logset, cfg->voter_ids[i]);
		/* where the log says it is, if it says (an endpoint moved by update-voter) */
		const struct kr_endpoint *e =
			in_log >= 0 ? &logset->v[in_log].ep : &cfg->voter_addr[i];

		nodes[k] = (struct kr_node_info){
			.node_id = cfg->voter_ids[i],
			.ip = {e->ip >> 24, (e->ip >> 16) & 255, (e->ip >> 8) & 255, e->ip & 255},
			.port = e->port,
			.mgmt_port = (uint16_t)(e->port + cfg->mgmt_port_offset),
			.flags = KR_NODE_F_VOTER,
		};
		if (cfg->voter_ids[i] == cfg->node_id) {
			nodes[k].flags |= KR_NODE_F_SELF;
			self = true;
		}
		k++;
	}
	/* voters the log added (dynamic clusters), at their endpoints: the same offset to
	 * the management port as configured ones */
	{
		const struct kr_voter_set *s = logset;

		for (int i = 0; i < s->n && k < KR_REPLICAS_MAX; i++) {
			const struct kr_endpoint *e = &s->v[i].ep;
			bool known = false;

			for (unsigned j = 0; j < k; j++)
				known = known || nodes[j].node_id == s->v[i].id;
			if (known)
				continue;
			nodes[k] = (struct kr_node_info){
				.node_id = s->v[i].id,
				.ip = {e->ip >> 24, (e->ip >> 16) & 255, (e->ip >> 8) & 255,
				       e->ip & 255},
				.port = e->port,
				.mgmt_port = (uint16_t)(e->port + cfg->mgmt_port_offset),
				.flags = KR_NODE_F_VOTER,
			};
			if (s->v[i].id == cfg->node_id) {
				nodes[k].flags |= KR_NODE_F_SELF;
				self = true;
			}
			k++;
		}
		for (unsigned j = 0; s->n > 0 && j < k; j++) /* removed ones: no longer voters */
			if (kr_voters_find(s, nodes[j].node_id) < 0)
				nodes[j].flags &= (uint8_t)~KR_NODE_F_VOTER;
	}
	if (!self) /* an observer names itself too */
		nodes[k++] = (struct kr_node_info){
			.node_id = cfg->node_id,
			.ip = {cfg->listener.ip >> 24, (cfg->listener.ip >> 16) & 255,
			       (cfg->listener.ip >> 8) & 255, cfg->listener.ip & 255},
			.port = cfg->listener.port,
			.mgmt_port = cfg->mgmt.port,
			.flags = KR_NODE_F_SELF,
		};
	m.u.nodes_resp.n = (uint8_t)k;
	m.u.nodes_resp.nodes = nodes;
	mgmt_reply(c, from, h, &m);
}

/* The client slot for a request from `from`: the one that client already has, so that
 * the fragments of its message reach the dataplane from one address (they are put
 * together by sender address) and its answers keep going back; else the next one, given
 * to it under a new generation (a late answer to the slot's last client is dropped). */
static uint32_t
client_slot(struct ctl *c, const struct sockaddr_in *from)
{
	uint32_t slot;

	for (uint32_t i = 0; i < CLIENT_SLOTS; i++)
		if (c->clients[i].gen != 0 && c->clients[i].addr.sin_port == from->sin_port &&
		    c->clients[i].addr.sin_addr.s_addr == from->sin_addr.s_addr)
			return i;
	slot = c->next_slot++ % CLIENT_SLOTS;
	c->clients[slot].addr = *from;
	c->clients[slot].gen = ++c->gen;
	return slot;
}

/* Relay a client request (its bytes at buf) to the dataplane, its answer to go to from.
 * A request larger than a ring element (a client sends a larger one as fragments) is
 * answered MESSAGE_TOO_LARGE here if it is an append. */
static void
relay(struct ctl *c, const struct sockaddr_in *from, const struct kr_frame_hdr *h,
      const uint8_t *buf, uint32_t len)
{
	struct kn_node *n = c->n;
	uint32_t slot;

	if (len > sizeof(c->mmsg.bytes)) {
		n->ctl_stats.mgmt_dropped++;
		if (h->api == KR_API_APPEND) {
			struct kr_msg m = {.api = KR_API_APPEND_RESP};

			m.u.append_resp =
				(struct kr_append_resp){.error = KR_ERR_MESSAGE_TOO_LARGE,
							.leader_id = atomic_load(&n->log_leader),
							.epoch = atomic_load(&n->log_epoch),
							.base_offset = KR_OFFSET_NONE};
			mgmt_reply(c, from, h, &m);
		}
		return;
	}
	slot = client_slot(c, from);
	c->mmsg.addr = KN_MGMT_ADDR_BIT | (uint64_t)c->clients[slot].gen << 8 | slot;
	c->mmsg.len = len;
	memcpy(c->mmsg.bytes, buf, len);
	if (!kn_ring_try_push(n->mreq, &c->mmsg, sizeof(c->mmsg), &n->ctl_stats.ring_full_mgmt))
		n->ctl_stats.mgmt_dropped++;
}

void
kn_mgmt_requests(struct ctl *c)
{
	struct kn_node *n = c->n;
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	struct kr_frame f;
	ssize_t len;
	int taken;
	bool relayed = false;

	/* bounded (KN_MGMT_BATCH): what is left waits in the socket for the next pass, after
	 * the events and timers; the dataplane is woken once per pass */
	for (taken = 0; taken < KN_MGMT_BATCH; taken++) {
		len = recvfrom(n->mgmt_fd, c->buf, sizeof(c->buf), MSG_DONTWAIT,
			       (struct sockaddr *)&from, &fl);
		if (len < 0)
			break;
		fl = sizeof(from);
		n->ctl_stats.mgmt_requests++;
		if (kr_frame_decode(&n->wire, c->buf, (size_t)len, &f) != 0) {
			n->ctl_stats.mgmt_dropped++;
			continue;
		}
		if (f.hdr.sender_id >= 0) { /* from a node: nothing for this listener */
			n->ctl_stats.mgmt_dropped++;
			continue;
		}
		/* before the body is decoded or relayed; a client is known by its address */
		if (!kr_auth_accept(&c->auth, c->buf, (size_t)len, f.auth != NULL, -1,
				    (uint64_t)from.sin_addr.s_addr << 16 | from.sin_port,
				    kn_wall_us())) {
			n->ctl_stats.mgmt_dropped++;
			memcpy(n->mgmt_auth_drops, c->auth.drops, sizeof(n->mgmt_auth_drops));
			continue;
		}
		switch (f.hdr.api) {
		case KR_API_DESCRIBE_NODES:
			describe_nodes(c, &from, &f.hdr);
			break;
		case KR_API_NODE_STATUS:
			node_status(c, &from, &f);
			break;
		case KR_API_VOTERS_CHANGE: /* the leader's dataplane PINGs a new endpoint first */
		case KR_API_FRAGMENT:	   /* of a large append */
		case KR_API_APPEND:
		case KR_API_READ:
		case KR_API_DESCRIBE_QUORUM:
			relay(c, &from, &f.hdr, c->buf, (uint32_t)len);
			relayed = true;
			break;
		default:
			n->ctl_stats.mgmt_dropped++;
			break;
		}
	}
	if (relayed)
		kn_wake(n->dp_wake, &n->dp_sleeping);
}

void
kn_mgmt_answers(struct ctl *c)
{
	struct kn_node *n = c->n;

	/* bounded like the requests: a dataplane refilling mresp cannot hold this loop */
	for (int i = 0; i < 2 * KN_MGMT_BATCH &&
			rte_ring_sc_dequeue_elem(n->mresp, &c->mmsg, sizeof(c->mmsg)) == 0;
	     i++) {
		uint32_t slot = (uint32_t)(c->mmsg.addr & 0xff);
		uint32_t gen = (uint32_t)(c->mmsg.addr >> 8);

		if (c->clients[slot].gen != gen) { /* the slot went to a newer request */
			n->ctl_stats.mgmt_dropped++;
			continue;
		}
		(void)sendto(n->mgmt_fd, c->mmsg.bytes, c->mmsg.len, MSG_DONTWAIT,
			     (const struct sockaddr *)&c->clients[slot].addr,
			     sizeof(c->clients[slot].addr));
	}
}
