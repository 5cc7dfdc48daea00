/* kraftd: the replication core's machinery: start, the dispatcher of received frames,
 * commands from the control plane (and the dataplane side of the fence), the high
 * watermark, durable-offset reports, timers and the service pass that answers parked
 * fetches, committed appends and waiting reads. Handlers of each received message live
 * in dataplane/recv_*.c. */
#include <errno.h>
#include <string.h>

#include "kraft/le.h"
#include "repl_int.h"

KR_TABLE_LOOKUP(kr_rp_drop_name, KR_RP_DROP_TABLE, KR_X_NAME)

/* ---- output helpers ---- */

struct kr_rp_action *
rp_emit(struct kr_rp_out *out, uint8_t type)
{
	struct kr_rp_action *a;

	/* every producer checked rp_room first: running out is a bug */
	RP_ASSERT(out->n < KR_RP_OUT_MAX);
	a = &out->a[out->n++];
	a->type = type;
	return a;
}

struct kr_msg *
rp_send(struct kr_rp_out *out, int32_t to_node, uint64_t to_addr, uint32_t correlation,
	unsigned api)
{
	struct kr_rp_action *a = rp_emit(out, KR_RP_SEND);

	a->u.send.to_node = to_node;
	a->u.send.to_addr = to_addr;
	a->u.send.correlation = correlation;
	memset(&a->u.send.msg, 0, sizeof(a->u.send.msg));
	a->u.send.msg.api = (uint8_t)api;
	return &a->u.send.msg;
}

struct kr_event *
rp_event(struct kr_rp_out *out, uint8_t type)
{
	struct kr_rp_action *a = rp_emit(out, KR_RP_EVENT);

	memset(&a->u.ev, 0, offsetof(struct kr_event, frame));
	a->u.ev.type = type;
	return &a->u.ev;
}

void
rp_drop(struct kr_repl *r, enum kr_rp_drop why)
{
	r->stats.drops[why]++;
}

struct kr_fetch_resp *
rp_fetch_resp(struct kr_rp_out *out, uint64_t addr, const struct kr_fetch_key *k)
{
	struct kr_msg *m = rp_send(out, KR_NODE_NONE, addr, k->correlation, KR_API_FETCH_RESP);

	m->u.fetch_resp.incarnation = k->incarnation;
	return &m->u.fetch_resp;
}

uint32_t
rp_correlation(struct kr_repl *r)
{
	return ++r->next_correlation;
}

/* ---- replicas ---- */

int
rp_voter_index(const struct kr_repl *r, int32_t node)
{
	for (int i = 0; i < r->cfg.n_voters; i++)
		if (r->cfg.voters[i] == node)
			return i;
	return -1;
}

static bool
dir_is(const uint8_t want[KR_UUID_BYTES], const uint8_t dir[KR_UUID_BYTES])
{
	return kr_uuid_is_zero(want) || memcmp(want, dir, KR_UUID_BYTES) == 0;
}

bool
rp_self_voter(const struct kr_repl *r)
{
	int vi = rp_voter_index(r, r->cfg.node_id);

	if (rp_voters_known(r))
		return kr_voters_find_key(kr_vh_latest(&r->voters), r->cfg.node_id,
					  r->cfg.directory_id) >= 0;

	return vi >= 0 && !r->cfg.joining && dir_is(r->cfg.voter_dirs[vi], r->cfg.directory_id);
}

void
rp_replica_forget(struct kr_replica *rep)
{
	struct kr_replica keep = *rep; /* the key, the kind, and the incarnation: late packets
					* outlive terms */

	memset(rep, 0, sizeof(*rep));
	rep->id = keep.id;
	rep->voter = keep.voter;
	rep->keyed = keep.keyed;
	memcpy(rep->dir, keep.dir, KR_UUID_BYTES);
	rep->incarnation = keep.incarnation;
	rep->leo = rep->durable = rep->hw_sent = KR_OFFSET_NONE;
	rep->last_fetch_us = rep->last_caught_up_us = rep->last_liveness_us = KR_TIME_NONE;
}

struct kr_replica *
rp_replica(struct kr_repl *r, int32_t node, const uint8_t dir[KR_UUID_BYTES], bool create)
{
	struct kr_replica *free_slot = NULL;

	for (uint32_t i = 0; i < r->n_replicas; i++) {
		struct kr_replica *rep = &r->replicas[i];

		if (rep->id == node && (!rep->keyed || memcmp(rep->dir, dir, KR_UUID_BYTES) == 0))
			return rep;
		if (rep->id == KR_NODE_NONE && free_slot == NULL)
			free_slot = rep;
	}
	if (!create || node < 0)
		return NULL;
	if (free_slot == NULL) { /* the first slot never used, if one is left */
		if (r->n_replicas == KR_REPLICAS_MAX)
			return NULL;
		free_slot = &r->replicas[r->n_replicas++];
	}
	free_slot->id = node;
	free_slot->voter = false;
	free_slot->keyed = true;
	memcpy(free_slot->dir, dir, KR_UUID_BYTES);
	free_slot->incarnation = 0;
	rp_replica_forget(free_slot);
	return free_slot;
}

static void rp_become(struct kr_repl *r, enum kr_repl_role to);

/* ---- start ---- */

static int
config_check(const struct kr_repl_config *c)
{
	if (c->n_voters == 0 || c->n_voters > KR_VOTERS_MAX || c->node_id < 0)
		return -EINVAL;
	for (int i = 0; i < c->n_voters; i++)
		if (c->voters[i] < 0)
			return -EINVAL;
	if (c->n_bootstrap > KR_REPLICAS_MAX || c->batch_bytes_max > KR_BATCH_BYTES_MAX)
		return -EINVAL;
	/* a reply frame must carry one largest batch the cluster writes, and a reply one frame */
	if (c->frame_records_max < KR_BATCH_HDR_BYTES + KR_RECORD_HDR_BYTES ||
	    c->frame_records_max > KR_WIRE_BODY_MAX - KR_FETCH_RESP_FIXED_BYTES ||
	    c->fetch_max_bytes < c->frame_records_max || c->reply_frames_max == 0 ||
	    c->reply_frames_max > KR_REPLY_FRAMES_MAX)
		return -EINVAL;
	if (c->fetch_retry_us <= 0 || c->fetch_backoff_us < 0 || c->liveness_interval_us < 0 ||
	    (int64_t)c->fetch_max_wait_us >= c->fetch_retry_us)
		return -EINVAL;
	/* transfer windows: a frame's worth of bytes at least, in sending slots or none */
	if (c->n_xfer_out > KR_XFER_OUT_MAX || (c->xfer_out == NULL) != (c->n_xfer_out == 0))
		return -EINVAL;
	for (uint32_t i = 0; i < c->n_xfer_out; i++)
		if (c->xfer_out[i].cap < c->frame_records_max)
			return -EINVAL;
	if (c->xfer_in != NULL && c->xfer_in->cap < c->frame_records_max)
		return -EINVAL;
	return 0;
}

int
kr_repl_init(struct kr_repl *r, const struct kr_repl_config *cfg, struct kr_log *log)
{
	int rc = config_check(cfg);

	if (rc != 0)
		return rc;
	memset(r, 0, offsetof(struct kr_repl, producers));
	r->cfg = *cfg;
	if (r->cfg.batch_bytes_max == 0)
		r->cfg.batch_bytes_max = KR_BATCH_BYTES_MAX;
	r->log = log;
	r->role = KR_REPL_FENCED;
	rp_become(r, KR_REPL_FENCED); /* the fetch state's defaults */
	r->leader_id = KR_NODE_NONE;
	r->hw = r->committed = KR_OFFSET_NONE;
	r->durable = kr_log_durable_end(log);
	/* each start numbers its requests in its own space: a reply to the previous start
	 * (late, duplicated) can never pass for the answer to this one's request */
	r->next_correlation = (uint32_t)(cfg->incarnation * 0x9E3779B97F4A7C15ull >> 32);
	r->n_replicas = cfg->n_voters; /* observers and new voters take slots as they come */
	rp_producers_reset(r);
	for (uint32_t i = 0; i < KR_REPLICAS_MAX; i++) {
		struct kr_replica *rep = &r->replicas[i];

		rep->id = i < cfg->n_voters ? cfg->voters[i] : KR_NODE_NONE;
		rep->voter = i < cfg->n_voters;
		if (rep->voter) {
			memcpy(rep->dir, cfg->voter_dirs[i], KR_UUID_BYTES);
			rep->keyed = !kr_uuid_is_zero(rep->dir);
		}
		rp_replica_forget(rep);
	}
	return rp_voters_load(r);
}

/* ---- the log as this node holds it ---- */

static uint64_t
own_durable(const struct kr_repl *r)
{
	uint64_t leo = kr_log_end(r->log);

	if (r->cfg.memory_mode || KR_BUG(COUNT_UNFLUSHED_LEO))
		return leo;
	return r->durable < leo ? r->durable : leo;
}

void
rp_log_changed(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	(void)now;
	if (r->cfg.memory_mode) {
		r->durable = kr_log_end(r->log);
	} else if (rp_room(out, 1)) {
		struct kr_rp_action *a = rp_emit(out, KR_RP_FLUSH);

		a->u.flush.upto = kr_log_end(r->log);
		a->u.flush.gen = r->gen;
	}
}

/* ---- high watermark and commits ---- */

/* Is rep this node's own slot: its node id, and its directory where the slot names one
 * (another directory of its id, a re-formatted disk's old one, is another replica)? */
static bool
is_self(const struct kr_repl *r, const struct kr_replica *rep)
{
	return rep->id == r->cfg.node_id &&
	       (!rep->keyed || memcmp(rep->dir, r->cfg.directory_id, KR_UUID_BYTES) == 0);
}

bool
rp_advance_hw(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	uint64_t v[KR_REPLICAS_MAX], h;
	uint32_t n = 0;

	if (r->role != KR_REPL_LEADER)
		return false;
	/* the voters of the set in force; the leader among them only if it is one (a leader
	 * that removed itself leads on, uncounted, until that change commits) */
	for (uint32_t i = 0; i < r->n_replicas; i++) {
		const struct kr_replica *rep = &r->replicas[i];
		/* The leader counts its own durable offset, never its unflushed LEO. */
		uint64_t d = is_self(r, rep)		      ? own_durable(r)
			     : rep->durable == KR_OFFSET_NONE ? 0
							      : rep->durable;
		uint32_t k;

		if (KR_BUG(VOTERS_OLD_MAJORITY) && rp_voters_known(r) &&
		    kr_vh_previous(&r->voters) != NULL) {
			/* the set before the last record */
			if (rep->id == KR_NODE_NONE ||
			    kr_voters_find_key(kr_vh_previous(&r->voters), rep->id, rep->dir) < 0)
				continue;
		} else if (!rep->voter) {
			continue;
		}
		for (k = n++; k > 0 && v[k - 1] < d; k--) /* descending */
			v[k] = v[k - 1];
		v[k] = d;
	}
	if (n == 0)
		return false;
	h = v[n / 2]; /* what a majority (n / 2 + 1 of them) holds */
	rp_voters_left(r, h, out);
	/* Only past this epoch's LeaderChange record (KAFKA-12619), and never back. The
	 * planted bug counts older entries too (but never lowers what it knew committed). */
	if (KR_BUG(COMMIT_OLD_EPOCH) && r->committed != KR_OFFSET_NONE && h <= r->committed)
		return false;
	if ((h <= r->lead.epoch_start && !KR_BUG(COMMIT_OLD_EPOCH)) ||
	    (r->hw != KR_OFFSET_NONE && h <= r->hw))
		return false;
	r->hw = h;
	rp_committed(r, h);
	rp_service(r, now, out);
	return true;
}

/* Answer the head of the pending appends: outcome unknown for those abandoned when the
 * leader lost office, success for those the HW passed. */
static void
service_appends(struct kr_repl *r, struct kr_rp_out *out)
{
	while (r->pending_n > 0 && rp_room(out, 1)) {
		struct kr_pending_append *p = &r->pending[r->pending_head];
		bool unknown = r->pending_unknown > 0;
		struct kr_msg *m;

		if (!unknown &&
		    (r->role != KR_REPL_LEADER || r->hw == KR_OFFSET_NONE || p->end > r->hw) &&
		    !(KR_BUG(ACK_BEFORE_COMMIT) && r->role == KR_REPL_LEADER))
			break;
		m = rp_send(out, KR_NODE_NONE, p->addr, p->correlation, KR_API_APPEND_RESP);
		m->u.append_resp.epoch = r->epoch;
		m->u.append_resp.record_count = p->count;
		if (unknown) {
			/* it may or may not commit under the next leader: never "failed" */
			m->u.append_resp.error = KR_ERR_NOT_LEADER_OR_FOLLOWER;
			m->u.append_resp.outcome_unknown = 1;
			m->u.append_resp.leader_id = r->leader_id;
			m->u.append_resp.base_offset = KR_OFFSET_NONE;
		} else {
			m->u.append_resp.error = KR_ERR_NONE;
			m->u.append_resp.leader_id = r->cfg.node_id;
			m->u.append_resp.base_offset = p->base;
			r->stats.commits++;
		}
		r->pending_head = (r->pending_head + 1) % KR_PENDING_APPENDS_MAX;
		r->pending_n--;
		if (unknown)
			r->pending_unknown--;
	}
}

static bool
parked_ready(const struct kr_repl *r, const struct kr_replica *rep)
{
	return rep->parked && (rep->parked_offset < kr_log_end(r->log) ||
			       (r->hw != KR_OFFSET_NONE &&
				(rep->hw_sent == KR_OFFSET_NONE || r->hw > rep->hw_sent)));
}

static void
service_reads(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	for (int i = 0; i < KR_PARKED_READS_MAX && r->reads_active > 0; i++) {
		struct kr_parked_read *pr = &r->reads[i];

		if (!pr->active || !rp_room(out, 1))
			continue;
		if (now < pr->deadline &&
		    (r->committed == KR_OFFSET_NONE || pr->from >= r->committed))
			continue;
		pr->active = false;
		r->reads_active--;
		rp_read_reply(r, pr->addr, pr->correlation, pr->from, pr->max_bytes, out);
	}
}

void
rp_service(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	service_appends(r, out);
	rp_voters_service(r, out);
	rp_voters_left_service(r, out);
	if (r->role == KR_REPL_LEADER) {
		for (uint32_t i = 0; i < r->n_replicas; i++) {
			struct kr_replica *rep = &r->replicas[i];

			if (!parked_ready(r, rep) && !(rep->parked && now >= rep->parked_deadline))
				continue;
			if (rp_fetch_reply(r, rep, &rep->parked_key, rep->parked_offset,
					   rep->parked_max_bytes, out))
				rep->parked = false;
		}
	}
	service_reads(r, now, out);
}

/* ---- roles ---- */

/* Leaving the leader's role: pending appends become "outcome unknown" (answered by the
 * service pass), parked fetches are told this node no longer leads. */
static void
step_down(struct kr_repl *r, struct kr_rp_out *out)
{
	r->pending_unknown = r->pending_n;
	rp_xfer_out_stop(r);
	for (uint32_t i = 0; i < r->n_replicas; i++) {
		struct kr_replica *rep = &r->replicas[i];
		struct kr_fetch_resp *f;

		if (!rep->parked)
			continue;
		rep->parked = false;
		if (!rp_room(out, 1))
			continue; /* it will fetch again after its retry time */
		f = rp_fetch_resp(out, rep->addr, &rep->parked_key);
		f->error = KR_ERR_NOT_LEADER_OR_FOLLOWER;
		f->frame_count = 1;
		f->leader_id = KR_NODE_NONE;
		f->epoch = r->epoch;
		f->high_watermark = KR_OFFSET_NONE;
		f->log_start_offset = kr_log_start(r->log);
	}
}

/* The record a new leader writes first: value = leader id (u32), voter count (u8), voter
 * ids (u32 each). Committing it commits everything before it (KAFKA-12619). */
static int
append_leader_change(struct kr_repl *r, int64_t now)
{
	uint8_t rec[KR_RECORD_HDR_BYTES + 5 + 4 * KR_VOTERS_MAX];
	uint32_t vlen = 5 + 4u * r->cfg.n_voters;
	struct kr_batch_hdr h = {
		.base_offset = kr_log_end(r->log),
		.epoch = r->epoch,
		.attributes = kr_control_attributes(KR_CONTROL_LEADER_CHANGE),
		.timestamp_us = now + r->wall_offset_us,
	};

	kr_put_le32(rec, vlen);
	kr_put_le32(rec + 4, (uint32_t)r->cfg.node_id);
	rec[8] = r->cfg.n_voters;
	for (int i = 0; i < r->cfg.n_voters; i++)
		kr_put_le32(rec + 9 + 4 * i, (uint32_t)r->cfg.voters[i]);
	return kr_log_append_records(r->log, &h, rec, KR_RECORD_HDR_BYTES + vlen, 1);
}

/*
 * The dataplane's roles, as the control plane commands them. Every command passes
 * through fenced first (nothing appended, truncated or acknowledged), then takes the
 * commanded role; failed (a storage failure, or a leader asking to truncate committed
 * records) is the end. Rows: from; columns: to.
 */
#define FE KR_REPL_FENCED
#define LE KR_REPL_LEADER
#define FO KR_REPL_FOLLOWER
#define UN KR_REPL_UNATTACHED
#define FA KR_REPL_FAILED
static const bool role_legal[FA + 1][FA + 1] = {
	[FE] = {[FE] = true, [LE] = true, [FO] = true, [UN] = true, [FA] = true},
	[LE] = {[FE] = true, [FA] = true},
	[FO] = {[FE] = true, [FA] = true},
	[UN] = {[FE] = true, [FA] = true},
};
#undef FE
#undef LE
#undef FO
#undef UN
#undef FA

/* The one place the dataplane's role changes. What belongs to a role is reset on the way
 * in: the leader's own state when it takes office, the fetch state on every change. */
static void
rp_become(struct kr_repl *r, enum kr_repl_role to)
{
	uint32_t next = r->fetch.bootstrap_next;

	RP_ASSERT(role_legal[r->role][to]);
	r->role = to;
	rp_snap_abort(r); /* a snapshot is taken from one leader in one epoch */
	memset(&r->fetch, 0, sizeof(r->fetch));
	r->fetch.bootstrap_next = next;
	r->fetch.next_us = RP_NEVER;
	r->fetch.to = KR_NODE_NONE;
	r->fetch.first_hw = KR_OFFSET_NONE;
	r->fetch.leader_liveness_us = KR_TIME_NONE;
	if (to == KR_REPL_LEADER)
		memset(&r->lead, 0, sizeof(r->lead));
}

static void
become_leader(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	rp_become(r, KR_REPL_LEADER);
	r->leader_id = r->cfg.node_id;
	r->hw = KR_OFFSET_NONE; /* unknown until this epoch commits its first record */
	r->lead.epoch_start = kr_log_end(r->log);
	for (uint32_t i = 0; i < r->n_replicas; i++) {
		if (!r->replicas[i].voter)
			r->replicas[i].id = KR_NODE_NONE;
		rp_replica_forget(&r->replicas[i]);
	}
	rp_producers_rebuild(r, now + r->wall_offset_us);
	if (append_leader_change(r, now) != 0 || rp_voters_write_boot(r, now, out) != 0)
		rp_drop(r, KR_RP_DROP_BAD_BATCH); /* the log is full: nothing will commit */
	rp_log_changed(r, now, out);
	rp_advance_hw(r, now, out);
}

static void
start_following(struct kr_repl *r, int32_t leader, int64_t now, struct kr_rp_out *out)
{
	rp_become(r, KR_REPL_FOLLOWER);
	r->leader_id = leader;
	rp_send_fetch(r, now, out);
}

void
kr_repl_auth(struct kr_repl *r, const struct kr_auth_keys *keys, int64_t wall_us)
{
	if (r->auth.next_seq == 0)
		kr_auth_init(&r->auth, keys, wall_us);
	else
		kr_auth_set_keys(&r->auth, keys);
}

void
kr_repl_on_cmd(struct kr_repl *r, const struct kr_cmd *cmd, int64_t now, struct kr_rp_out *out)
{
	struct kr_event *ev;

	if (cmd->type == KR_CMD_SEND) {
		struct kr_rp_action *a = rp_emit(out, KR_RP_TRANSMIT);

		a->u.transmit.to_node = cmd->node;
		a->u.transmit.bytes = cmd->frame;
		a->u.transmit.len = cmd->frame_len;
		return;
	}
	if (r->role == KR_REPL_FAILED)
		return;
	if (r->cfg.dynamic && r->voters_seq == 0)
		rp_voters_event(r, out); /* the set this start read from its log, first */
	if (cmd->type == KR_CMD_FENCE && KR_BUG(DATAPLANE_IGNORES_FENCE)) {
		ev = rp_event(out, KR_EV_FENCE_ACK);
		ev->epoch = cmd->epoch;
		ev->seq = cmd->seq;
		ev->last_epoch = kr_log_last_epoch(r->log);
		ev->offset = kr_log_end(r->log);
		ev->voters_seq = r->voters_seq;
		return;
	}
	if (cmd->epoch < r->epoch) {
		/* commands arrive in order and epochs never go back: a bug upstream */
		rp_drop(r, KR_RP_DROP_STALE_COMMAND);
		return;
	}
	if (r->role == KR_REPL_LEADER && cmd->type == KR_CMD_LEADER && cmd->epoch == r->epoch) {
		rp_service(r, now, out); /* already leading this epoch */
		return;
	}
	if (r->role == KR_REPL_LEADER)
		step_down(r, out);
	rp_become(r, KR_REPL_FENCED); /* until the case below says otherwise */
	if (cmd->type != KR_CMD_LEADER)
		r->leader_id = cmd->type == KR_CMD_FOLLOWER ? cmd->node : KR_NODE_NONE;
	r->epoch = cmd->epoch;

	switch (cmd->type) {
	case KR_CMD_FENCE:
		/* The fence rule: from here nothing is appended, truncated or acknowledged until
		 * a role command. The acknowledgement reports where the log ends. */
		ev = rp_event(out, KR_EV_FENCE_ACK);
		ev->epoch = cmd->epoch;
		ev->seq = cmd->seq;
		ev->last_epoch = kr_log_last_epoch(r->log);
		ev->offset = kr_log_end(r->log);
		ev->voters_seq = r->voters_seq;
		ev->node = r->cfg.node_id;
		break;
	case KR_CMD_LEADER:
		become_leader(r, now, out);
		break;
	case KR_CMD_FOLLOWER:
		start_following(r, cmd->node, now, out);
		break;
	case KR_CMD_UNATTACHED:
		rp_become(r, KR_REPL_UNATTACHED);
		r->looking = cmd->seq == 1;
		if (!rp_self_voter(r) || r->looking)
			rp_send_fetch(r, now, out); /* an observer looks for the leader */
		break;
	case KR_CMD_IDENTITY:
		/* a rejoin (election.h "FIRST START"): from now on an observer that fetches
		 * with its new directory id */
		memcpy(r->cfg.directory_id, cmd->frame, KR_UUID_BYTES);
		r->cfg.joining = true;
		break;
	default:
		break;
	}
	rp_service(r, now, out);
}

/* ---- inputs ---- */

static bool
client_api(unsigned api)
{
	return api == KR_API_APPEND || api == KR_API_READ || api == KR_API_DESCRIBE_QUORUM ||
	       api == KR_API_VOTERS_CHANGE || api == KR_API_FRAGMENT;
}

void
kr_repl_on_packet(struct kr_repl *r, const uint8_t *buf, size_t len, int32_t addr_node,
		  uint64_t addr, int64_t now, struct kr_rp_out *out)
{
	rp_on_frame(r, buf, len, addr_node, addr, RP_DATAGRAM, now, out);
}

void
rp_on_frame(struct kr_repl *r, const uint8_t *buf, size_t len, int32_t addr_node, uint64_t addr,
	    int64_t whole_of, int64_t now, struct kr_rp_out *out)
{
	struct kr_frame f;
	struct kr_msg m;
	struct kr_event *ev;
	int rc = kr_frame_decode(&r->cfg.wire, buf, len, &f);

	if (rc == 0 && whole_of != RP_DATAGRAM) {
		/* put together from fragments, each authenticated on arrival: the message
		 * itself carries no trailer, is no fragment, is its fragments' sender's, and
		 * is nothing the control plane takes (it checks a trailer of its own) */
		if (f.auth != NULL || f.hdr.api == KR_API_FRAGMENT || f.hdr.sender_id != whole_of ||
		    f.hdr.api <= KR_API_END_EPOCH_RESP) {
			rp_drop(r, KR_RP_DROP_BAD_WHOLE);
			return;
		}
	} else if (rc == 0 && !kr_auth_accept(&r->auth, buf, len, f.auth != NULL, f.hdr.sender_id,
					      addr, now + r->wall_offset_us)) {
		/* authentication: after the header and CRC, before any body is decoded */
		rp_drop(r, KR_RP_DROP_AUTH);
		return;
	}
	if (rc == 0)
		rc = kr_msg_decode(&f, &m);
	if (rc != 0) {
		rp_drop(r, KR_RP_DROP_DECODE);
		r->stats.decode_errors[-rc < KR_WIRE_STATUS_COUNT ? -rc : 0]++;
		return;
	}
	/* guard: a voter's id (configured, or in the set in force) only from that voter's
	 * address; peer APIs only from nodes */
	if ((rp_voter_index(r, f.hdr.sender_id) >= 0 ||
	     (rp_voters_known(r) &&
	      kr_voters_find(kr_vh_latest(&r->voters), f.hdr.sender_id) >= 0)) &&
	    f.hdr.sender_id != addr_node) {
		rp_drop(r, KR_RP_DROP_SPOOFED_SENDER);
		return;
	}
	if (f.hdr.sender_id < 0 && !client_api(f.hdr.api)) {
		rp_drop(r, KR_RP_DROP_CLIENT_PEER_API);
		return;
	}
	/* The caller drains the output between packets: one packet's worst case (a whole
	 * reply and its events) must fit. Parked answers beyond it wait for the next call. */
	RP_ASSERT(rp_room(out, r->cfg.reply_frames_max + 8u));

	switch (f.hdr.api) {
	case KR_API_FETCH:
		rp_recv_fetch(r, &f.hdr, addr, &m.u.fetch, now, out);
		break;
	case KR_API_FETCH_RESP:
		rp_recv_fetch_resp(r, &f.hdr, &m.u.fetch_resp, now, out);
		break;
	case KR_API_FETCH_SNAPSHOT:
		rp_recv_fetch_snapshot(r, &f.hdr, addr, &m.u.fetch_snapshot, now, out);
		break;
	case KR_API_FETCH_SNAPSHOT_RESP:
		rp_recv_fetch_snapshot_resp(r, &f.hdr, &m.u.fetch_snapshot_resp, now, out);
		break;
	case KR_API_APPEND:
		rp_recv_append(r, &f.hdr, addr, &m.u.append, now, out);
		break;
	case KR_API_READ:
		rp_recv_read(r, &f.hdr, addr, &m.u.read, now, out);
		break;
	case KR_API_DESCRIBE_QUORUM:
		rp_recv_describe(r, &f.hdr, addr, now, out);
		break;
	case KR_API_VOTERS_CHANGE:
		rp_recv_voters_change(r, &f.hdr, addr, &m.u.voters_change, now, out);
		break;
	case KR_API_FRAGMENT:
		rp_recv_fragment(r, &f.hdr, addr_node, addr, &m.u.fragment, now, out);
		break;
	case KR_API_VOTE:
	case KR_API_VOTE_RESP:
	case KR_API_BEGIN_EPOCH:
	case KR_API_BEGIN_EPOCH_RESP:
	case KR_API_END_EPOCH:
	case KR_API_END_EPOCH_RESP:
		/* the control plane's business: pass the checked frame on */
		if (len > KR_CTL_FRAME_MAX) {
			rp_drop(r, KR_RP_DROP_CONTROL_TOO_BIG);
			break;
		}
		ev = rp_event(out, KR_EV_PACKET);
		ev->node = f.hdr.sender_id;
		ev->frame_len = (uint16_t)len;
		memcpy(ev->frame, buf, len);
		break;
	default:
		rp_drop(r, KR_RP_DROP_UNEXPECTED_API);
		break;
	}
}

int
kr_repl_encode(const struct kr_repl *r, const struct kr_rp_action *a, uint8_t *buf, size_t cap)
{
	return rp_encode(r, a, buf, cap, r->auth.on);
}

/* A SEND as a frame from this node; payloads of min_ext bytes or more left out (*ext). */
static int
encode_send(const struct kr_repl *r, const struct kr_rp_action *a, uint8_t *buf, size_t cap,
	    bool trailer, uint32_t min_ext, const uint8_t **ext, uint32_t *ext_len)
{
	struct kr_frame_hdr h = {
		.sender_id = r->cfg.node_id,
		.correlation_id = a->u.send.correlation,
		.voter_set_hash = r->cfg.wire.voter_set_hash,
		.flags = trailer ? KR_FRAME_F_AUTH : 0,
	};

	*ext_len = 0;
	if (a->type != KR_RP_SEND)
		return -KR_WIRE_EAPI;
	memcpy(h.cluster_id, r->cfg.wire.cluster_id, KR_UUID_BYTES);
	return kr_frame_encode_ext(buf, cap, &h, &a->u.send.msg, min_ext, ext, ext_len);
}

int
rp_encode(const struct kr_repl *r, const struct kr_rp_action *a, uint8_t *buf, size_t cap,
	  bool trailer)
{
	const uint8_t *ext;
	uint32_t ext_len;

	return encode_send(r, a, buf, cap, trailer, UINT32_MAX, &ext, &ext_len);
}

int
rp_encode_ext(const struct kr_repl *r, const struct kr_rp_action *a, uint8_t *buf, size_t cap,
	      bool trailer, const uint8_t **ext, uint32_t *ext_len)
{
	return encode_send(r, a, buf, cap, trailer, KR_RP_EXT_MIN, ext, ext_len);
}

int
rp_read_first(const struct kr_repl *r, uint64_t offset, uint64_t upto, uint32_t max_bytes,
	      bool first, struct kr_log_span *span)
{
	int rc = kr_log_read(r->log, offset, upto, max_bytes, span);

	if (rc == -EMSGSIZE && first && max_bytes < KR_BATCH_BYTES_MAX)
		rc = kr_log_read(r->log, offset, upto, KR_BATCH_BYTES_MAX, span);
	return rc;
}

void
rp_caught_up_check(struct kr_repl *r, struct kr_rp_out *out)
{
	uint64_t leo = kr_log_end(r->log);
	/* what a crash now would leave: an amnesiac or damaged node that counted records
	 * only appended, then crashed before they were flushed, would vote without them and
	 * without its repair marker (found by kraftsim's storage model) */
	uint64_t held = r->cfg.memory_mode || r->durable > leo ? leo : r->durable;
	struct kr_event *ev;

	if (r->fetch.caught_up_sent || r->fetch.first_hw == KR_OFFSET_NONE ||
	    r->role != KR_REPL_FOLLOWER || held < r->fetch.first_hw || held < r->cfg.repair_target)
		return;
	ev = rp_event(out, KR_EV_CAUGHT_UP);
	ev->node = r->leader_id;
	ev->epoch = r->epoch;
	ev->offset = r->fetch.first_hw;
	r->fetch.caught_up_sent = true;
}

void
kr_repl_on_durable(struct kr_repl *r, uint64_t offset, uint32_t gen, int64_t now,
		   struct kr_rp_out *out)
{
	if (gen != r->gen) {
		rp_drop(r, KR_RP_DROP_STALE_DURABLE); /* flushed before a truncation */
		return;
	}
	if (offset <= r->durable || r->role == KR_REPL_FAILED)
		return;
	r->durable = offset;
	rp_caught_up_check(r, out);
	if (r->role == KR_REPL_LEADER) {
		rp_advance_hw(r, now, out);
	} else if (r->role == KR_REPL_FOLLOWER && r->fetch.inflight &&
		   own_durable(r) > r->fetch.durable_sent &&
		   kr_log_end(r->log) >= r->cfg.repair_target) {
		/* tell the leader at once: this Fetch replaces the one parked there */
		rp_send_fetch(r, now, out);
	}
}

void
kr_repl_fail(struct kr_repl *r, enum kr_fatal why, int64_t now, struct kr_rp_out *out)
{
	struct kr_event *ev;

	if (r->role == KR_REPL_FAILED)
		return;
	if (r->role == KR_REPL_LEADER)
		step_down(r, out);
	rp_become(r, KR_REPL_FAILED);
	ev = rp_event(out, KR_EV_FATAL);
	ev->seq = why;
	ev->epoch = r->epoch;
	ev->node = r->cfg.node_id;
	rp_service(r, now, out);
}

/* ---- timers ---- */

int64_t
kr_repl_next_deadline(const struct kr_repl *r)
{
	int64_t d = RP_NEVER;

	if (r->pending_unknown > 0)
		return INT64_MIN; /* outcome-unknown answers left to send */
	if (r->cfg.reasm != NULL) /* an incomplete message to give up, its memory back */
		d = kr_reasm_next_expiry(r->cfg.reasm);
	if (r->role == KR_REPL_LEADER) {
		for (uint32_t i = 0; i < r->n_replicas; i++)
			if (r->replicas[i].parked && r->replicas[i].parked_deadline < d)
				d = r->replicas[i].parked_deadline;
		if (r->cfg.n_xfer_out > 0 && rp_xfer_out_deadline(r) < d)
			d = rp_xfer_out_deadline(r);
	}
	for (int i = 0; i < KR_PARKED_READS_MAX && r->reads_active > 0; i++)
		if (r->reads[i].active && r->reads[i].deadline < d)
			d = r->reads[i].deadline;
	if (r->role == KR_REPL_FOLLOWER || r->role == KR_REPL_UNATTACHED) {
		if (r->fetch.inflight && r->fetch.sent_us + r->cfg.fetch_retry_us < d)
			d = r->fetch.sent_us + r->cfg.fetch_retry_us;
		if (!r->fetch.inflight && r->fetch.next_us < d)
			d = r->fetch.next_us;
	}
	return d;
}

void
kr_repl_tick(struct kr_repl *r, int64_t now, struct kr_rp_out *out)
{
	if (r->role == KR_REPL_FOLLOWER || r->role == KR_REPL_UNATTACHED) {
		if ((r->fetch.inflight && now >= r->fetch.sent_us + r->cfg.fetch_retry_us) ||
		    (!r->fetch.inflight && now >= r->fetch.next_us))
			rp_send_fetch(r, now, out);
	}
	if (r->role == KR_REPL_LEADER && r->cfg.n_xfer_out > 0)
		rp_xfer_out_tick(r, now, out);
	if (r->cfg.reasm != NULL)
		kr_reasm_expire(r->cfg.reasm, now);
	rp_service(r, now, out);
}

void
kr_repl_snapshot(struct kr_repl *r, struct kr_snap_id newest)
{
	r->snap_newest = newest;
}

void
kr_repl_want_snapshot(struct kr_repl *r)
{
	if (r->cfg.xfer_in != NULL)
		r->want_snapshot = true;
}

/* ---- DescribeQuorum ---- */

/* The voter change this leader's log holds not yet committed: its op (0: none) and the
 * voter it is about. */
static uint8_t
pending_change(const struct kr_repl *r, struct kr_voter *who)
{
	uint64_t last = kr_vh_latest_offset(&r->voters);
	const struct kr_voter_set *now = kr_vh_latest(&r->voters);
	const struct kr_voter_set *before = kr_vh_previous(&r->voters);
	int k = -1;

	if (!rp_voters_known(r) || before == NULL || (r->hw != KR_OFFSET_NONE && r->hw > last))
		return 0;
	switch (kr_voters_diff(before, now, &k)) {
	case KR_VOTERS_ADD:
		*who = now->v[k];
		return KR_VOTERS_OP_ADD;
	case KR_VOTERS_REMOVE:
		*who = before->v[k];
		return KR_VOTERS_OP_REMOVE;
	case KR_VOTERS_UPDATE:
		*who = now->v[k];
		return KR_VOTERS_OP_UPDATE;
	default:
		return 0; /* the set written again (renewed), or the first record */
	}
}

void
kr_repl_describe(struct kr_repl *r, int64_t now, struct kr_describe_resp *d)
{
	struct kr_voter who = {.id = KR_NODE_NONE};
	uint32_t n = 0;

	memset(d, 0, sizeof(*d));
	d->epoch = r->epoch;
	d->leader_id = r->leader_id;
	d->high_watermark = r->hw;
	if (r->role != KR_REPL_LEADER) {
		d->error = KR_ERR_NOT_LEADER_OR_FOLLOWER;
		return;
	}
	d->pending = pending_change(r, &who);
	for (int pass = 0; pass < 2; pass++) {
		for (uint32_t i = 0; i < r->n_replicas; i++) {
			const struct kr_replica *rep = &r->replicas[i];
			struct kr_replica_info *ri = &r->describe[n];
			bool self = is_self(r, rep);

			if (rep->id == KR_NODE_NONE || rep->voter != (pass == 0))
				continue;
			ri->replica_id = rep->id;
			memcpy(ri->directory_id, self ? r->cfg.directory_id : rep->dir,
			       KR_UUID_BYTES);
			ri->flags = d->pending && rep->id == who.id &&
						    memcmp(ri->directory_id, who.dir,
							   KR_UUID_BYTES) == 0
					    ? KR_REPLICA_F_PENDING
					    : 0;
			ri->log_end_offset = self ? kr_log_end(r->log) : rep->leo;
			ri->durable_offset = self ? own_durable(r) : rep->durable;
			ri->last_fetch_us = self ? now + r->wall_offset_us
					    : rep->last_fetch_us == KR_TIME_NONE
						    ? KR_TIME_NONE
						    : rep->last_fetch_us + r->wall_offset_us;
			ri->last_caught_up_us =
				self ? now + r->wall_offset_us
				: rep->last_caught_up_us == KR_TIME_NONE
					? KR_TIME_NONE
					: rep->last_caught_up_us + r->wall_offset_us;
			n++;
			if (pass == 0)
				d->n_voters++;
			else
				d->n_observers++;
		}
	}
	d->replicas = r->describe;
}
