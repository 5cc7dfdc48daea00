/* kraftsim: sabotage -- proof that each checker can fail.
 *
 * Planted bugs (--bug) break the cores and show that the invariants catch what follows.
 * Some checkers guard against faults no planted bug produces cleanly (an epoch that goes
 * back, a second vote in one epoch, a frame sent before its epoch is durable, an
 * acknowledged append that vanishes). A sabotage breaks the simulator's picture of the
 * world once, at the first moment it can, exactly as such a fault would, and the checker
 * named in the table must report it. scripts/sim-bugs.sh runs every one. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "sim.h"

/* The leader (election and dataplane agree), or NULL. */
static struct node *
leader(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (nd->up && nd->e.role == KR_ROLE_LEADER && nd->r->role == KR_REPL_LEADER &&
		    nd->r->hw != KR_OFFSET_NONE)
			return nd;
	}
	return NULL;
}

/* A running voter other than the leader that has voted and follows with a known HW. */
static struct node *
follower(struct sim *s)
{
	for (int i = 0; i < s->n; i++) {
		struct node *nd = &s->nodes[i];

		if (nd->up && nd->e.role == KR_ROLE_FOLLOWER && nd->r->role == KR_REPL_FOLLOWER &&
		    nd->r->hw != KR_OFFSET_NONE && nd->r->hw > 0 && nd->disk.voted_id >= 0 &&
		    !kr_el_harness_busy(&nd->eh) && !nd->persisting && nd->last_hw == nd->r->hw)
			return nd;
	}
	return NULL;
}

/* Where the simulator saw an acknowledged client append committed, or NULL. */
static int64_t *
acked_commit(struct sim *s)
{
	for (int c = 0; c < s->pf.n_clients; c++)
		for (uint64_t q = 0; q < s->clients[c].seq; q++)
			if (s->acked_at[c][q] >= 0 && s->committed_at[c][q] >= 0)
				return &s->committed_at[c][q];
	return NULL;
}

/* Each sabotage either feeds a wrong action through the node's own action path (so the
 * check's call site is tested too), or changes state and runs the per-step check the
 * main loop runs. */

static bool
sab_epoch_back(struct sim *s, struct node *l, struct node *f)
{
	(void)s;
	(void)l;
	f->e.epoch--; /* the main loop's next check of f must see it */
	return true;
}

static bool
sab_persist(struct sim *s, struct node *f, uint32_t epoch, int32_t voted)
{
	struct kr_el_action a = {.type = KR_EL_PERSIST, .u.persist = f->disk};

	a.u.persist.epoch = epoch;
	a.u.persist.voted_id = voted;
	sim_inject_control(s, f, &a);
	return true;
}

static bool
sab_persist_back(struct sim *s, struct node *l, struct node *f)
{
	(void)l;
	return sab_persist(s, f, f->disk.epoch - 1, KR_NODE_NONE);
}

static bool
sab_second_vote(struct sim *s, struct node *l, struct node *f)
{
	(void)l;
	return sab_persist(s, f, f->disk.epoch, f->disk.voted_id == 1 ? 2 : 1);
}

static bool
sab_control_send(struct sim *s, struct node *l, struct node *f, uint8_t api, uint32_t epoch)
{
	struct kr_el_action a = {.type = KR_EL_SEND, .u.send.to = l->id};

	a.u.send.msg.api = api;
	if (api == KR_API_VOTE)
		a.u.send.msg.u.vote.epoch = epoch;
	else
		a.u.send.msg.u.epoch_resp.epoch = epoch;
	sim_inject_control(s, f, &a);
	return true;
}

static bool
sab_send_early(struct sim *s, struct node *l, struct node *f)
{
	return sab_control_send(s, l, f, KR_API_BEGIN_EPOCH_RESP, f->disk.epoch + 1);
}

static bool
sab_ask_early(struct sim *s, struct node *l, struct node *f)
{
	/* it voted for the leader in this epoch, not for itself */
	return sab_control_send(s, l, f, KR_API_VOTE, f->disk.epoch);
}

static bool
sab_fetch(struct sim *s, struct node *l, struct node *f, uint32_t epoch, uint64_t durable)
{
	struct kr_rp_action a = {.type = KR_RP_SEND, .u.send.to_node = l->id};

	a.u.send.msg.api = KR_API_FETCH;
	a.u.send.msg.u.fetch.epoch = epoch;
	a.u.send.msg.u.fetch.fetch_offset = kr_log_end(f->log);
	a.u.send.msg.u.fetch.last_fetched_epoch = kr_log_last_epoch(f->log);
	a.u.send.msg.u.fetch.durable_offset = durable;
	sim_inject_dp(s, f, &a);
	return true;
}

static bool
sab_fetch_early(struct sim *s, struct node *l, struct node *f)
{
	return sab_fetch(s, l, f, f->disk.epoch + 1, KR_OFFSET_NONE);
}

static bool
sab_claim_beyond(struct sim *s, struct node *l, struct node *f)
{
	return sab_fetch(s, l, f, f->r->epoch, kr_log_end(f->log) + 5);
}

static bool
sab_hw_down(struct sim *s, struct node *l, struct node *f)
{
	(void)l;
	f->r->hw = 0; /* the next good Fetch reply would raise it again: check now */
	check_step(s, f);
	return true;
}

static bool
sab_leader_hw_beyond(struct sim *s, struct node *l, struct node *f)
{
	(void)f;
	l->r->hw = kr_log_end(l->log) + 1; /* an append could fill the gap: check now */
	check_step(s, l);
	return true;
}

static bool
sab_believes_beyond(struct sim *s, struct node *l, struct node *f)
{
	(void)l;
	f->r->committed = s->committed_end + 1; /* the next check of f must see it */
	return true;
}

static bool
sab_ack_wrong(struct sim *s, struct node *l, struct node *f)
{
	struct kr_rp_action a = {.type = KR_RP_SEND, .u.send.to_node = KR_NODE_NONE};

	(void)f;
	for (int c = 0; c < s->pf.n_clients; c++) {
		if (!s->clients[c].inflight)
			continue;
		/* the leader tells the waiting client its append sits at offset 0 (the first
		 * LeaderChange record) */
		a.u.send.to_addr = SIM_CLIENT_ADDR + (uint64_t)c;
		a.u.send.correlation = s->clients[c].corr;
		a.u.send.msg.api = KR_API_APPEND_RESP;
		a.u.send.msg.u.append_resp.epoch = l->r->epoch;
		a.u.send.msg.u.append_resp.leader_id = l->id;
		a.u.send.msg.u.append_resp.record_count = 1;
		a.u.send.msg.u.append_resp.base_offset = 0;
		sim_inject_dp(s, l, &a);
		return true;
	}
	return false;
}

/* The committed log loses an acknowledged append (vanish), or has it elsewhere than
 * acknowledged: the final check must notice. */
static bool
ack_rewrite(struct sim *s, bool vanish)
{
	int64_t *at = acked_commit(s);

	if (at != NULL)
		*at = vanish ? -1 : *at + 1000000;
	return at != NULL;
}

static bool
sab_ack_lost(struct sim *s, struct node *l, struct node *f)
{
	(void)l;
	(void)f;
	return ack_rewrite(s, true);
}

static bool
sab_ack_moved(struct sim *s, struct node *l, struct node *f)
{
	(void)l;
	(void)f;
	return ack_rewrite(s, false);
}

static bool
sab_two_leaders(struct sim *s, struct node *l, struct node *f)
{
	s->epoch_leader[l->r->epoch].id = f->id; /* as if f had led this epoch before */
	check_step(s, l);
	return true;
}

static bool
sab_mislabel(struct sim *s, struct node *l, struct node *f)
{
	(void)l;
	(void)f;
	s->mislabel_next = true; /* a good datagram, said to be damaged */
	return true;
}

static bool
sab_stale_divergence(struct sim *s, struct node *l, struct node *f)
{
	struct kr_msg m = {.api = KR_API_FETCH_RESP};

	if (!f->r->fetch.inflight || f->r->committed == KR_OFFSET_NONE || f->r->committed == 0)
		return false;
	/* the answer to its Fetch says its log diverged from the very start */
	m.u.fetch_resp = (struct kr_fetch_resp){.incarnation = f->r->cfg.incarnation,
						.frame_count = 1,
						.leader_id = l->id,
						.epoch = f->r->epoch,
						.diverging = 1,
						.diverging_epoch = 0,
						.diverging_end_offset = 0};
	sim_inject_frame(s, l, f, f->r->fetch.corr, &m);
	return true;
}

static bool
sab_voters_wrong(struct sim *s, struct node *l, struct node *f)
{
	struct kr_rp_action a = {.type = KR_RP_EVENT};
	uint64_t last = kr_vh_latest_offset(&l->r->voters);

	(void)f;
	if (!l->r->cfg.dynamic || last == KR_OFFSET_NONE)
		return false;
	/* the leader's dataplane names the bootstrap set, as if its voters record were gone */
	a.u.ev.type = KR_EV_VOTERS;
	a.u.ev.offset = KR_OFFSET_NONE;
	a.u.ev.seq = l->r->voters_seq + 1;
	a.u.ev.frame_len = (uint16_t)kr_voters_record_encode(&l->r->cfg.boot, a.u.ev.frame,
							     sizeof(a.u.ev.frame));
	sim_inject_dp(s, l, &a);
	return true;
}

/* The leader's log seems to hold a second change not committed, just before its last. */
static bool
sab_two_pending(struct sim *s, struct node *l, struct node *f)
{
	struct vview *v = &l->vv;

	(void)f;
	sim_voters(s, l);
	if (v->off == KR_OFFSET_NONE || v->set.n < 2)
		return false;
	v->prev = v->set;
	v->prev.n--; /* a set one voter apart */
	v->prev_off = v->off >= s->committed_end ? v->off : s->committed_end;
	v->off = v->prev_off + 1;
	check_step(s, l);
	return true;
}

/* The operator hears its change done at an offset that holds no committed voters
 * record. */
static bool
sab_answer_wrong(struct sim *s, struct node *l, struct node *f)
{
	(void)l;
	(void)f;
	if (!s->op.on || s->op.sent == 0)
		return false;
	check_voters_answer(s, &s->op, s->committed_end + 1000);
	return true;
}

/* --snapshots: the state one node had after the newest batch applied so far seems
 * different: the next node to apply it must disagree. */
static bool
sab_digest_wrong(struct sim *s, struct node *l, struct node *f)
{
	(void)l;
	(void)f;
	if (!s->o.snapshots)
		return false;
	for (uint32_t k = s->digest_cap; k > 0; k--)
		if (k - 1 < s->committed_n && s->digest_set[k - 1]) {
			s->digest_at[k - 1] ^= 1;
			return true;
		}
	return false;
}

static const struct sabotage {
	const char *name;
	const char *text;
	bool (*apply)(struct sim *s, struct node *leader, struct node *follower);
} sabotages[] = {
	{"EPOCH_BACK", "a follower's epoch goes back by one", sab_epoch_back},
	{"PERSIST_BACK", "a follower writes an older epoch to its quorum-state file",
	 sab_persist_back},
	{"SECOND_VOTE", "a follower writes a second, different vote for its epoch",
	 sab_second_vote},
	{"SEND_EARLY", "a follower's control plane answers in an epoch it has not persisted",
	 sab_send_early},
	{"ASK_EARLY", "a follower asks for votes without having voted for itself", sab_ask_early},
	{"FETCH_EARLY", "a follower's dataplane fetches in an epoch not yet persisted",
	 sab_fetch_early},
	{"CLAIM_BEYOND", "a follower reports more durable data than its log holds",
	 sab_claim_beyond},
	{"HW_DOWN", "a follower's HW drops to 0", sab_hw_down},
	{"LEADER_HW_BEYOND", "the leader's HW passes its log end", sab_leader_hw_beyond},
	{"BELIEVES_BEYOND", "a follower believes more committed than any leader's HW",
	 sab_believes_beyond},
	{"ACK_WRONG", "the leader tells a waiting client its append sits at offset 0",
	 sab_ack_wrong},
	{"ACK_LOST", "an acknowledged append vanishes from the committed log", sab_ack_lost},
	{"ACK_MOVED", "an acknowledged append is committed elsewhere than acknowledged",
	 sab_ack_moved},
	{"MISLABEL", "the next datagram a node takes is said to have a flipped bit, but has none",
	 sab_mislabel},
	{"STALE_DIVERGENCE", "a follower is told its log diverged below what it knows committed",
	 sab_stale_divergence},
	{"TWO_LEADERS", "the simulator sees a second leader of the current epoch", sab_two_leaders},
	{"VOTERS_WRONG", "the leader's dataplane reports a voter set its log does not hold",
	 sab_voters_wrong},
	{"TWO_PENDING", "the leader's log seems to hold two voter changes not committed",
	 sab_two_pending},
	{"ANSWER_WRONG", "the operator hears a voter change done where no voters record is",
	 sab_answer_wrong},
	{"DIGEST_WRONG", "a node's state after a batch seems to differ from what it was",
	 sab_digest_wrong},
};

#define N_SABOTAGES ((int)(sizeof(sabotages) / sizeof(sabotages[0])))

int
sabotage_find(const char *name)
{
	for (int i = 0; i < N_SABOTAGES; i++)
		if (strcasecmp(name, sabotages[i].name) == 0)
			return i + 1;
	return 0;
}

void
sabotage_list(FILE *f)
{
	for (int i = 0; i < N_SABOTAGES; i++)
		fprintf(f, "%s\n", sabotages[i].name);
}

const char *
sabotage_name(int which)
{
	return which >= 1 && which <= N_SABOTAGES ? sabotages[which - 1].name : "?";
}

const char *
sabotage_text(int which)
{
	return which >= 1 && which <= N_SABOTAGES ? sabotages[which - 1].text : "?";
}

/* After a step: apply the sabotage once the cluster has a leader, a follower and some
 * committed appends, and not while the faults phase is over. */
void
sabotage_try(struct sim *s)
{
	struct node *l, *f;

	if (s->sabotaged || s->violated || s->healing || s->commits < 3)
		return;
	l = leader(s);
	f = follower(s);
	if (l == NULL || f == NULL || f->e.leader_id != l->id)
		return;
	if (sabotages[s->o.sabotage - 1].apply(s, l, f)) {
		s->sabotaged = true;
		sim_trace(s, TR_SABOTAGE, f->id, s->o.sabotage, l->id, 0, 0);
	}
}
