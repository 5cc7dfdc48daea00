/* kraftd: the election state machine's machinery: start (restart rules), the one place
 * roles change (el_convert, against the transition table), timers, the fence towards
 * the dataplane, dataplane events and the dispatcher of received control messages.
 * The handlers of each received message live in control/recv_*.c. */
#include <errno.h>
#include <string.h>

#include "election_int.h"

KR_TABLE_LOOKUP(kr_why_name, KR_WHY_TABLE, KR_X_NAME)
KR_TABLE_LOOKUP(kr_why_text, KR_WHY_TABLE, KR_X_TEXT)
KR_TABLE_LOOKUP(kr_refusal_text, KR_REFUSAL_TABLE, KR_X_TEXT)
KR_TABLE_LOOKUP(kr_el_ignore_name, KR_EL_IGNORE_TABLE, KR_X_NAME)

/*
 * Legal role changes (KIP-595 with KIP-996; docs/DESIGN.md §2). Rows: from; columns: to.
 * A voter:
 *   unattached  -> unattached (higher epoch, vote granted), prospective (timeout),
 *                  follower (leader learned)
 *   prospective -> unattached (pre-vote lost or timed out, no leader known),
 *                  candidate (pre-votes won), follower (leader learned or known)
 *   candidate   -> unattached (higher epoch), prospective (timeout, backoff over),
 *                  leader (votes won), follower (leader learned)
 *   leader      -> unattached / follower (higher epoch), resigned (check quorum, shutdown)
 *   follower    -> unattached / follower (higher epoch), prospective (fetch timeout)
 *   resigned    -> unattached / follower (higher epoch or new leader), prospective
 * An observer only moves between unattached and follower; and a leader that removed
 * itself from the voter set: leader -> resigned (once the change committed), both ->
 * unattached / follower (higher epoch or new leader).
 */
#define U KR_ROLE_UNATTACHED
#define P KR_ROLE_PROSPECTIVE
#define C KR_ROLE_CANDIDATE
#define L KR_ROLE_LEADER
#define F KR_ROLE_FOLLOWER
#define R KR_ROLE_RESIGNED
static const bool legal[KR_ROLE_COUNT][KR_ROLE_COUNT] = {
	[U] = {[U] = true, [P] = true, [F] = true},
	[P] = {[U] = true, [C] = true, [F] = true},
	[C] = {[U] = true, [P] = true, [L] = true, [F] = true},
	[L] = {[U] = true, [F] = true, [R] = true},
	[F] = {[U] = true, [P] = true, [F] = true},
	[R] = {[U] = true, [P] = true, [F] = true},
};
static const bool legal_observer[KR_ROLE_COUNT][KR_ROLE_COUNT] = {
	[U] = {[U] = true, [F] = true},
	[F] = {[U] = true, [F] = true},
	[L] = {[U] = true, [F] = true, [R] = true},
	[R] = {[U] = true, [F] = true},
};
#undef U
#undef P
#undef C
#undef L
#undef F
#undef R

/* ---- small helpers ---- */

bool
el_dir_matches(const uint8_t want[KR_UUID_BYTES], const uint8_t dir[KR_UUID_BYTES])
{
	return kr_uuid_is_zero(want) || memcmp(want, dir, KR_UUID_BYTES) == 0;
}

int
el_voter_index(const struct kr_election *e, int32_t node)
{
	for (int i = 0; i < e->cfg.n_voters; i++)
		if (e->cfg.voters[i] == node)
			return i;
	return -1;
}

void
el_ignore(struct kr_election *e, enum kr_el_ignore why)
{
	e->stats.ignored[why]++;
}

static struct kr_el_action *
emit(struct kr_el_out *out, uint8_t type)
{
	struct kr_el_action *a;

	if (out->n == KR_EL_OUT_MAX) {
		out->dropped++;
		EL_ASSERT(out->n < KR_EL_OUT_MAX); /* KR_EL_OUT_MAX bounds the worst call */
		return NULL;
	}
	a = &out->a[out->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	return a;
}

uint32_t
el_correlation(struct kr_election *e)
{
	return ++e->next_correlation;
}

struct kr_msg *
el_send(struct kr_election *e, struct kr_el_out *out, int32_t to, uint32_t correlation,
	unsigned api)
{
	struct kr_el_action *a = emit(out, KR_EL_SEND);

	(void)e;
	a->u.send.to = to;
	a->u.send.correlation = correlation;
	a->u.send.msg.api = (uint8_t)api;
	return &a->u.send.msg;
}

static void
command(struct kr_election *e, struct kr_el_out *out, enum kr_cmd_type type, int32_t node,
	uint32_t seq)
{
	struct kr_el_action *a = emit(out, KR_EL_COMMAND);

	a->u.cmd.type = (uint8_t)type;
	a->u.cmd.epoch = e->epoch;
	a->u.cmd.node = node;
	a->u.cmd.seq = seq;
}

/* splitmix64: small, fast, and one seed replays a run. */
static uint64_t
rng_next(struct kr_election *e)
{
	uint64_t z = (e->rng += 0x9E3779B97F4A7C15ull);

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static uint64_t
rng_below(struct kr_election *e, uint64_t n)
{
	return n ? rng_next(e) % n : 0;
}

/* A fresh election timeout: uniform in [T, 2T). */
static int64_t
election_timeout(struct kr_election *e)
{
	int64_t t = e->cfg.election_timeout_us;

	return t + (int64_t)rng_below(e, (uint64_t)t);
}

/* The lost-election backoff: binary exponential with jitter, capped (Kafka's
 * min(base * random(2 << min(20, retries - 1)), max)). */
static int64_t
election_backoff(struct kr_election *e)
{
	uint32_t shift = e->cand.retries > 0 ? e->cand.retries - 1 : 0;
	uint64_t slots = 2ull << (shift < 20 ? shift : 20);
	int64_t b = e->backoff_base_us * (int64_t)rng_below(e, slots);

	return b < e->cfg.election_backoff_max_us ? b : e->cfg.election_backoff_max_us;
}

/* ---- persistence ---- */

/* The persist of this call still to be carried out that a new one may replace: one with
 * only transitions and dataplane commands after it. Those tell the node's own dataplane
 * and logs, never another node, so writing the later state in its place (one store, not
 * two) makes durable nothing that anyone was told before it was (a voter that moves to
 * a candidate's epoch and grants its vote in one call: the failover's path). The core is
 * called only with an empty output (THE HARNESS), so no persist here is under way. */
static struct kr_el_action *
persist_to_replace(struct kr_el_out *out)
{
	for (uint32_t i = out->n; i-- > 0;) {
		if (out->a[i].type == KR_EL_PERSIST)
			return &out->a[i];
		if (out->a[i].type != KR_EL_TRANSITION && out->a[i].type != KR_EL_COMMAND)
			return NULL;
	}
	return NULL;
}

/* Persist the quorum state if it changed since it was last persisted: the actions after
 * this one may reflect it. */
static void
persist(struct kr_election *e, struct kr_el_out *out)
{
	struct kr_quorum_state now = {
		.epoch = e->epoch, .leader_id = e->leader_id, .voted_id = e->voted_id};
	struct kr_el_action *a;

	memcpy(now.voted_dir, e->voted_dir, KR_UUID_BYTES);
	if (memcmp(&now, &e->persisted, sizeof(now)) == 0)
		return;
	e->persisted = now;
	a = persist_to_replace(out);
	if (a == NULL)
		a = emit(out, KR_EL_PERSIST);
	if (a != NULL)
		a->u.persist = now;
}

/* ---- the dataplane's state and the fence ---- */

static bool
fence_holds(const struct kr_election *e)
{
	if (e->requests_pending)
		return true;
	for (int i = 0; i < e->cfg.n_voters; i++)
		if (e->vote_waiting[i])
			return true;
	return e->vote_other.waiting;
}

static void
send_fence(struct kr_election *e, struct kr_el_out *out)
{
	e->fence_seq++;
	e->dp = KR_DP_FENCING;
	e->dp_epoch = e->epoch;
	e->dp_leader = KR_NODE_NONE;
	command(e, out, KR_CMD_FENCE, KR_NODE_NONE, e->fence_seq);
}

bool
el_fence_ready(struct kr_election *e, struct kr_el_out *out)
{
	if (e->dp == KR_DP_FENCED || KR_BUG(VOTE_WITHOUT_FENCE))
		return true;
	if (e->dp != KR_DP_FENCING)
		send_fence(e, out);
	return false;
}

/* Does this leader need others' fetches to stay leader (check-quorum)? All but the sole
 * voter of its set. */
static bool
needs_quorum(const struct kr_election *e)
{
	return !(e->cfg.n_voters == 1 && e->voter_index == 0);
}

/* Command the dataplane into the state the role needs: leader, follower, looking for a
 * leader, or fenced (a voter without a leader, which may vote or run). Looking: an
 * observer; a removed node between its elections (the leader of a set without it sends
 * it nothing); a voter that may not vote until it catches up (a leader of a set that
 * dropped it would never send it BeginQuorumEpoch either: Kafka's KAFKA-17030). A fence
 * that a waiting vote or candidacy relies on is not lifted. */
static void
dp_sync(struct kr_election *e, struct kr_el_out *out)
{
	enum kr_dp_state want;
	int32_t leader = KR_NODE_NONE;
	bool running = e->role == KR_ROLE_PROSPECTIVE || e->role == KR_ROLE_CANDIDATE;

	if (e->role == KR_ROLE_LEADER) {
		want = KR_DP_LEADER;
	} else if (e->role == KR_ROLE_FOLLOWER) {
		want = KR_DP_FOLLOWER;
		leader = e->leader_id;
	} else if (!el_may_run(e) || (!running && !kr_election_is_voter(e)) ||
		   (!running && e->vote_blocked && !KR_BUG(AMNESIAC_VOTES))) {
		want = KR_DP_UNATTACHED;
	} else {
		if (e->dp != KR_DP_FENCING && e->dp != KR_DP_FENCED)
			send_fence(e, out);
		return;
	}
	bool looks = want == KR_DP_UNATTACHED && kr_election_is_voter(e);

	if (fence_holds(e))
		return;
	if (e->dp == want && e->dp_epoch == e->epoch && e->dp_leader == leader &&
	    e->dp_looks == looks)
		return;
	e->dp = want;
	e->dp_epoch = e->epoch;
	e->dp_leader = leader;
	e->dp_looks = looks;
	/* seq 1: a voter looking for the leader (an observer always looks) */
	command(e, out,
		want == KR_DP_LEADER	 ? KR_CMD_LEADER
		: want == KR_DP_FOLLOWER ? KR_CMD_FOLLOWER
					 : KR_CMD_UNATTACHED,
		leader, looks);
}

/* ---- role changes ---- */

static void
reset_round(struct kr_election *e)
{
	e->cand.deferred = false;
	memset(e->cand.vote_state, KR_VOTE_UNRECORDED, sizeof(e->cand.vote_state));
	if (e->voter_index >= 0)
		e->cand.vote_state[e->voter_index] = KR_VOTE_GRANTED;
	for (int i = 0; i < e->cfg.n_voters; i++)
		e->cand.vote_corr[i] = el_correlation(e);
}

/* Resigned: successors are the other voters, most caught up first (by the fetch offsets
 * the dataplane last reported). */
static void
order_successors(struct kr_election *e)
{
	e->lead.n_successors = 0;
	for (int i = 0; i < e->cfg.n_voters; i++) {
		int k;

		if (i == e->voter_index)
			continue;
		for (k = e->lead.n_successors; k > 0; k--) {
			int j = el_voter_index(e, e->lead.successors[k - 1]);

			if (e->lead.fetch_offset[j] >= e->lead.fetch_offset[i])
				break;
			e->lead.successors[k] = e->lead.successors[k - 1];
		}
		e->lead.successors[k] = e->cfg.voters[i];
		e->lead.n_successors++;
	}
}

static void
send_end_epoch(struct kr_election *e, struct kr_el_out *out)
{
	for (int i = 0; i < e->cfg.n_voters; i++) {
		struct kr_msg *m;

		if (e->lead.acked[i])
			continue;
		m = el_send(e, out, e->cfg.voters[i], el_correlation(e), KR_API_END_EPOCH);
		m->u.end_epoch.epoch = e->epoch;
		m->u.end_epoch.leader_id = e->cfg.node_id;
		m->u.end_epoch.n_successors = e->lead.n_successors;
		memcpy(m->u.end_epoch.successors, e->lead.successors,
		       sizeof(int32_t) * e->lead.n_successors);
	}
}

static void
send_begin_epoch(struct kr_election *e, struct kr_el_out *out)
{
	for (int i = 0; i < e->cfg.n_voters; i++) {
		struct kr_msg *m;

		if (e->lead.acked[i])
			continue;
		m = el_send(e, out, e->cfg.voters[i], el_correlation(e), KR_API_BEGIN_EPOCH);
		m->u.begin_epoch.epoch = e->epoch;
		m->u.begin_epoch.leader_id = e->cfg.node_id;
		memcpy(m->u.begin_epoch.voter_dir, e->cfg.voter_dirs[i], KR_UUID_BYTES);
	}
}

/* The invariants on the state (election.h), after a role change. */
static void
el_check(const struct kr_election *e)
{
	/* a leader that left the set in force leads on (or has resigned) until a successor
	 * takes over: the change must commit under it */
	EL_ASSERT(el_may_run(e) || e->role == KR_ROLE_UNATTACHED || e->role == KR_ROLE_FOLLOWER ||
		  e->role == KR_ROLE_LEADER || e->role == KR_ROLE_RESIGNED);
	EL_ASSERT((e->role != KR_ROLE_LEADER && e->role != KR_ROLE_RESIGNED) ||
		  e->leader_id == e->cfg.node_id);
	EL_ASSERT(e->role != KR_ROLE_CANDIDATE || e->voted_id == e->cfg.node_id);
	EL_ASSERT(e->role != KR_ROLE_FOLLOWER ||
		  (e->leader_id >= 0 && e->leader_id != e->cfg.node_id));
	EL_ASSERT(e->persisted.epoch <= e->epoch);
}

void
el_convert(struct kr_election *e, enum kr_role to, uint32_t epoch, int32_t leader, enum kr_why why,
	   int64_t now, struct kr_el_out *out)
{
	enum kr_role from = e->role;
	bool led_this_epoch = epoch == e->epoch && e->leader_id == e->cfg.node_id;
	struct kr_el_action *a;

	/* at start, the restart rules may put a node straight into any role; a rejoin turns
	 * a voter at epoch 0 into an observer */
	EL_ASSERT(why == KR_WHY_START || why == KR_WHY_REJOINED || why == KR_WHY_VOTERS_CHANGED ||
		  (el_may_run(e) ? legal[from][to] : legal_observer[from][to]));
	EL_ASSERT(epoch >= e->epoch);
	EL_ASSERT(to != KR_ROLE_CANDIDATE || epoch == e->epoch + 1 || why == KR_WHY_START);
	EL_ASSERT(to != KR_ROLE_FOLLOWER || (leader >= 0 && leader != e->cfg.node_id));

	if (epoch > e->epoch) {
		e->epoch = epoch;
		e->voted_id = KR_NODE_NONE;
		memset(e->voted_dir, 0, KR_UUID_BYTES);
		e->leader_id = KR_NODE_NONE;
		e->foll.has_fetched = false;
	}
	e->foll.leader_resigning = false;
	if (to == KR_ROLE_FOLLOWER) /* a leader exists: one without state waits on */
		e->stand_patience_until = now + KR_STAND_PATIENCE * e->cfg.election_timeout_us;
	e->role = to;
	e->election_deadline = e->fetch_deadline = e->backoff_deadline = EL_NEVER;
	e->check_quorum_deadline = e->resend_deadline = EL_NEVER;
	e->requests_pending = false;

	switch (to) {
	case KR_ROLE_UNATTACHED:
		/* unattached knows no leader: an observer that timed out looks afresh. But a
		 * node that led this epoch never forgets it: were its file to stop saying so, a
		 * restart would make it a candidate in the epoch it led, and a second term as
		 * leader could write different records at offsets the first one used. */
		if (!led_this_epoch)
			e->leader_id = leader;
		if (el_may_run(e))
			e->election_deadline = now + election_timeout(e);
		break;
	case KR_ROLE_PROSPECTIVE:
		/* same epoch; keeps the vote and the leader it knew */
		e->election_deadline = now + election_timeout(e);
		reset_round(e);
		e->requests_pending = true;
		break;
	case KR_ROLE_CANDIDATE:
		if (e->voted_id != e->cfg.node_id) { /* a restarted candidate voted already */
			e->voted_id = e->cfg.node_id;
			memcpy(e->voted_dir, e->cfg.directory_id, KR_UUID_BYTES);
		}
		e->election_deadline = now + election_timeout(e);
		reset_round(e);
		e->requests_pending = true;
		e->stats.elections++;
		break;
	case KR_ROLE_LEADER:
		e->leader_id = e->cfg.node_id;
		memset(e->lead.acked, 0, sizeof(e->lead.acked));
		if (e->voter_index >= 0)
			e->lead.acked[e->voter_index] = true;
		for (int i = 0; i < e->cfg.n_voters; i++) {
			e->lead.last_fetch_us[i] =
				now; /* a full window before check-quorum bites */
			e->lead.fetch_offset[i] = 0;
		}
		if (needs_quorum(e))
			e->check_quorum_deadline = now + e->cfg.fetch_timeout_us * 3 / 2;
		e->resend_deadline = now + e->cfg.fetch_timeout_us / 2;
		e->cand.retries = 0;
		break;
	case KR_ROLE_FOLLOWER:
		/* every entry is a fresh follower state (Kafka's): it grants pre-votes again until
		 * a Fetch succeeds. Else two followers of a leader that died after serving them
		 * keep refusing each other's pre-votes, one timing out while the other follows. */
		if (from != KR_ROLE_FOLLOWER || leader != e->leader_id)
			e->foll.has_fetched = false;
		e->leader_id = leader;
		e->fetch_deadline = now + e->cfg.fetch_timeout_us;
		e->cand.retries = 0;
		/* a leader lives (or did until now): the next prospective round, even in this
		 * epoch, may defer again (cand.deferred). A round that found the leader alive
		 * must not use up the one deference of the epoch that a real failover needs. */
		e->deferred_epoch = 0;
		break;
	case KR_ROLE_RESIGNED:
		/* in memory only: the file keeps saying this node led the epoch */
		if (el_may_run(e))
			e->election_deadline = now + election_timeout(e);
		memset(e->lead.acked, 0, sizeof(e->lead.acked));
		if (e->voter_index >= 0)
			e->lead.acked[e->voter_index] = true;
		if (why == KR_WHY_START)
			e->lead.n_successors =
				0; /* nothing known of the followers after a restart */
		else
			order_successors(e);
		e->resend_deadline = now + e->cfg.request_timeout_us;
		break;
	default:
		EL_ASSERT(0);
	}

	/* A follower of a new leader in an epoch and with a vote for another node already
	 * durable stores the leader's id after telling its dataplane to fetch, not before:
	 * no rule needs it durable first (a restart without it waits unattached in the same
	 * epoch, bound by the same vote, and finds the leader again), and a failover's first
	 * Fetch then waits for no store. Not a candidate that lost (its vote is its own): a
	 * restart that did not find the winner's id would carry its candidacy on, under
	 * whatever set it had fetched from the winner meanwhile (the restart rules). Epoch
	 * and vote are written before anything that reflects them. */
	bool leader_only = to == KR_ROLE_FOLLOWER && e->persisted.epoch == e->epoch &&
			   e->persisted.voted_id == e->voted_id && e->voted_id != e->cfg.node_id &&
			   memcmp(e->persisted.voted_dir, e->voted_dir, KR_UUID_BYTES) == 0;

	if (!leader_only && !(to == KR_ROLE_FOLLOWER && KR_BUG(FOLLOWER_NOT_PERSISTED)))
		persist(e, out);
	a = emit(out, KR_EL_TRANSITION);
	a->u.transition.from = (uint8_t)from;
	a->u.transition.to = (uint8_t)to;
	a->u.transition.why = (uint8_t)why;
	a->u.transition.epoch = e->epoch;
	a->u.transition.leader = e->leader_id;
	e->stats.transitions[to]++;

	el_check(e);
	dp_sync(e, out);
	if (leader_only && !KR_BUG(FOLLOWER_NOT_PERSISTED))
		persist(e, out);
	if (to == KR_ROLE_LEADER)
		send_begin_epoch(e, out);
	else if (to == KR_ROLE_RESIGNED)
		send_end_epoch(e, out);
	else if (e->requests_pending && el_fence_ready(e, out)) {
		e->requests_pending = false;
		el_send_vote_requests(e, now, out);
		el_tally(e, now, out);
	}
	if (e->shutting_down)
		el_shutdown_check(e, now, out);
}

bool
el_learn(struct kr_election *e, uint32_t epoch, int32_t leader, bool from_leader, int64_t now,
	 struct kr_el_out *out)
{
	bool known = leader >= 0 && leader != e->cfg.node_id;

	if (epoch > e->epoch) {
		el_convert(e, known ? KR_ROLE_FOLLOWER : KR_ROLE_UNATTACHED, epoch,
			   known ? leader : KR_NODE_NONE, KR_WHY_HIGHER_EPOCH, now, out);
		return true;
	}
	if (epoch < e->epoch || !known)
		return false;
	if (e->leader_id >= 0 && e->leader_id != leader) {
		el_ignore(e, KR_EL_IGNORE_INCONSISTENT_LEADER);
		return false;
	}
	/* A leader this node already knew changes nothing, unless the leader itself speaks:
	 * a prospective that hears BeginQuorumEpoch follows again. */
	if (e->leader_id == leader && !from_leader)
		return false;
	switch (e->role) {
	case KR_ROLE_UNATTACHED:
	case KR_ROLE_PROSPECTIVE:
	case KR_ROLE_CANDIDATE:
		el_convert(e, KR_ROLE_FOLLOWER, epoch, leader, KR_WHY_LEADER_KNOWN, now, out);
		return true;
	case KR_ROLE_LEADER:
	case KR_ROLE_RESIGNED:
		/* this node led the epoch: nobody else can have */
		el_ignore(e, KR_EL_IGNORE_INCONSISTENT_LEADER);
		return false;
	default:
		return false;
	}
}

/* Start (or retry) an election: a voter becomes prospective and asks for pre-votes. */
static void
start_election(struct kr_election *e, enum kr_why why, int64_t now, struct kr_el_out *out)
{
	if (!el_may_run(e))
		return;
	if ((e->vote_blocked && !KR_BUG(AMNESIAC_VOTES)) ||
	    (e->stand_blocked && now < e->stand_patience_until && !KR_BUG(STAND_WITHOUT_STATE)) ||
	    e->shutting_down) {
		/* keep waiting: an amnesiac or damaged node, or one without the state to lead
		 * with (until no leader came for a long while), runs no election; re-arm the
		 * timer this role watches (a follower's is the fetch timer) */
		if (e->role == KR_ROLE_FOLLOWER)
			e->fetch_deadline = now + e->cfg.fetch_timeout_us;
		else
			e->election_deadline = now + election_timeout(e);
		return;
	}
	el_convert(e, KR_ROLE_PROSPECTIVE, e->epoch, KR_NODE_NONE, why, now, out);
}

void
el_send_vote_requests(struct kr_election *e, int64_t now, struct kr_el_out *out)
{
	bool pre = e->role == KR_ROLE_PROSPECTIVE;

	EL_ASSERT(e->role == KR_ROLE_PROSPECTIVE || e->role == KR_ROLE_CANDIDATE);
	/* the fence rule: no request carries a log position the dataplane could still change */
	EL_ASSERT(e->dp == KR_DP_FENCED || KR_BUG(VOTE_WITHOUT_FENCE));
	for (int i = 0; i < e->cfg.n_voters; i++) {
		struct kr_msg *m;

		if (e->cand.vote_state[i] != KR_VOTE_UNRECORDED)
			continue;
		m = el_send(e, out, e->cfg.voters[i], e->cand.vote_corr[i], KR_API_VOTE);
		m->u.vote.epoch = e->epoch;
		m->u.vote.last_epoch = e->fenced_last_epoch;
		m->u.vote.last_offset = e->fenced_leo;
		m->u.vote.voter_id = e->cfg.voters[i];
		m->u.vote.pre_vote = pre;
		memcpy(m->u.vote.candidate_dir, e->cfg.directory_id, KR_UUID_BYTES);
		memcpy(m->u.vote.voter_dir, e->cfg.voter_dirs[i], KR_UUID_BYTES);
	}
	e->resend_deadline = now + e->cfg.request_timeout_us;
}

void
el_tally(struct kr_election *e, int64_t now, struct kr_el_out *out)
{
	uint32_t granted = 0, rejected = 0, n = e->cfg.n_voters, need = e->majority;

	for (uint32_t i = 0; i < n; i++) {
		granted += e->cand.vote_state[i] == KR_VOTE_GRANTED;
		rejected += e->cand.vote_state[i] == KR_VOTE_REJECTED;
	}
	/* a new cluster's first election waits for every initial voter a while (FIRST START) */
	if (e->role == KR_ROLE_PROSPECTIVE && e->first_start && e->epoch == 0 &&
	    now < e->bootstrap_deadline)
		need = n;
	if (granted >= need) {
		if (e->role == KR_ROLE_PROSPECTIVE && e->cand.deferred)
			return; /* a better prospective stands; the election timeout ends this
				 * round if it does not win */
		if (e->role == KR_ROLE_PROSPECTIVE)
			el_convert(e, KR_ROLE_CANDIDATE, e->epoch + 1, KR_NODE_NONE,
				   KR_WHY_PREVOTE_WON, now, out);
		else
			el_convert(e, KR_ROLE_LEADER, e->epoch, e->cfg.node_id, KR_WHY_VOTE_WON,
				   now, out);
		return;
	}
	if (rejected <= n - need)
		return;
	/* this round cannot be won */
	if (e->role == KR_ROLE_PROSPECTIVE) {
		if (e->leader_id >= 0 && e->leader_id != e->cfg.node_id)
			el_convert(e, KR_ROLE_FOLLOWER, e->epoch, e->leader_id, KR_WHY_PREVOTE_LOST,
				   now, out);
		else
			el_convert(e, KR_ROLE_UNATTACHED, e->epoch, KR_NODE_NONE,
				   KR_WHY_PREVOTE_LOST, now, out);
	} else if (e->backoff_deadline == EL_NEVER) {
		e->backoff_deadline = now + election_backoff(e);
		e->resend_deadline = EL_NEVER;
	}
}

/* ---- shutdown ---- */

void
el_shutdown_check(struct kr_election *e, int64_t now, struct kr_el_out *out)
{
	bool done = true;

	if (!e->shutting_down || e->shutdown_done)
		return;
	if (e->role == KR_ROLE_RESIGNED && now < e->shutdown_deadline)
		for (int i = 0; i < e->cfg.n_voters; i++)
			done = done && e->lead.acked[i];
	if (!done)
		return;
	e->shutdown_done = true;
	e->shutdown_deadline = EL_NEVER;
	emit(out, KR_EL_SHUTDOWN_DONE);
}

void
kr_election_shutdown(struct kr_election *e, int64_t now, struct kr_el_out *out)
{
	if (e->shutting_down)
		return;
	e->shutting_down = true;
	e->shutdown_deadline = now + e->cfg.shutdown_timeout_us;
	if (e->role == KR_ROLE_LEADER)
		el_convert(e, KR_ROLE_RESIGNED, e->epoch, e->cfg.node_id, KR_WHY_SHUTDOWN, now,
			   out);
	el_shutdown_check(e, now, out);
}

/* ---- start ---- */

static int
config_check(const struct kr_election_config *c)
{
	if (c->n_voters == 0 || c->n_voters > KR_VOTERS_MAX || c->node_id < 0)
		return -EINVAL;
	for (int i = 0; i < c->n_voters; i++) {
		if (c->voters[i] < 0)
			return -EINVAL;
		for (int j = 0; j < i; j++)
			if (c->voters[i] == c->voters[j])
				return -EINVAL;
	}
	if (c->election_timeout_us <= 0 || c->fetch_timeout_us <= 0 ||
	    c->election_backoff_max_us <= 0 || c->election_backoff_base_us < 0 ||
	    c->request_timeout_us <= 0 || c->shutdown_timeout_us <= 0)
		return -EINVAL;
	return 0;
}

int
kr_election_init(struct kr_election *e, const struct kr_election_config *cfg,
		 const struct kr_election_start *start, int64_t now, struct kr_el_out *out)
{
	const struct kr_quorum_state *qs = &start->qs;
	int rc = config_check(cfg);

	if (rc != 0)
		return rc;
	memset(e, 0, sizeof(*e));
	e->cfg = *cfg;
	e->voter_index = el_voter_index(e, cfg->node_id);
	/* a voter is (node id, directory id): another directory of the id is an observer */
	if (e->voter_index >= 0 && !KR_BUG(VOTER_BY_ID) &&
	    (cfg->joining || !el_dir_matches(cfg->voter_dirs[e->voter_index], cfg->directory_id)))
		e->voter_index = -1;
	e->first_start = start->first_start && e->voter_index >= 0 && start->qs.epoch == 0 &&
			 start->log_last_epoch == 0;
	memcpy(e->rejoin_dir, start->rejoin_dir, KR_UUID_BYTES);
	e->bootstrap_deadline = now + cfg->bootstrap_wait_us;
	e->majority = cfg->n_voters / 2u + 1;
	e->backoff_base_us = cfg->election_backoff_base_us ? cfg->election_backoff_base_us
							   : cfg->election_backoff_max_us / 10;
	if (e->backoff_base_us <= 0)
		e->backoff_base_us = 1;
	e->rng = start->rng_seed;
	/* a random start: a late answer to the previous start's request rarely matches */
	e->next_correlation = (uint32_t)(start->rng_seed >> 32) ^ (uint32_t)start->rng_seed;
	e->epoch = qs->epoch;
	e->leader_id = qs->leader_id;
	e->voted_id = qs->voted_id;
	memcpy(e->voted_dir, qs->voted_dir, KR_UUID_BYTES);
	e->persisted = *qs;
	e->vote_blocked = start->vote_blocked;
	e->vote_block_epoch = qs->epoch;
	e->stand_blocked = start->stand_blocked;
	e->stand_patience_until = now + KR_STAND_PATIENCE * cfg->election_timeout_us;
	e->dp = KR_DP_NONE;
	e->dp_leader = KR_NODE_NONE;
	e->election_deadline = e->fetch_deadline = e->backoff_deadline = EL_NEVER;
	e->check_quorum_deadline = e->resend_deadline = e->shutdown_deadline = EL_NEVER;
	e->role = KR_ROLE_UNATTACHED;

	if (start->log_last_epoch > e->epoch) {
		/* the log has seen a later epoch than the file: adopt it, forget the rest */
		el_convert(e, KR_ROLE_UNATTACHED, start->log_last_epoch, KR_NODE_NONE, KR_WHY_START,
			   now, out);
	} else if (kr_election_is_voter(e) && e->leader_id == cfg->node_id &&
		   !KR_BUG(RELEAD_AFTER_RESTART)) {
		/* it led this epoch: resigned, so it neither votes again in it nor reuses its
		 * offsets (nothing persisted: the file already says so) */
		el_convert(e, KR_ROLE_RESIGNED, e->epoch, cfg->node_id, KR_WHY_START, now, out);
	} else if (kr_election_is_voter(e) && e->voted_id == cfg->node_id && e->epoch > 0 &&
		   !e->vote_blocked && !e->stand_blocked &&
		   (e->leader_id < 0 ||
		    (KR_BUG(RELEAD_AFTER_RESTART) && e->leader_id == cfg->node_id))) {
		/* it was a candidate in this epoch, and knew no winner: carry on as one. One
		 * that lost to a known leader follows it instead: that leader may have changed
		 * the set since, by more than one voter in this epoch, and a candidacy carried
		 * on under a set of which its own old vote is a majority (a sole voter) would
		 * make a second leader of the epoch (kraftsim found one) */
		el_convert(e, KR_ROLE_CANDIDATE, e->epoch, KR_NODE_NONE, KR_WHY_START, now, out);
	} else if (e->leader_id >= 0 && e->leader_id != cfg->node_id) {
		el_convert(e, KR_ROLE_FOLLOWER, e->epoch, e->leader_id, KR_WHY_START, now, out);
	} else {
		el_convert(e, KR_ROLE_UNATTACHED, e->epoch, KR_NODE_NONE, KR_WHY_START, now, out);
	}
	if (e->role == KR_ROLE_UNATTACHED && kr_election_is_voter(e) && cfg->n_voters == 1)
		start_election(e, KR_WHY_START, now, out); /* the sole voter elects itself */
	return 0;
}

/* ---- timers ---- */

int64_t
kr_election_next_deadline(const struct kr_election *e)
{
	int64_t d = e->election_deadline;

	if (e->fetch_deadline < d)
		d = e->fetch_deadline;
	if (e->backoff_deadline < d)
		d = e->backoff_deadline;
	if (e->check_quorum_deadline < d)
		d = e->check_quorum_deadline;
	if (e->resend_deadline < d)
		d = e->resend_deadline;
	if (e->shutdown_deadline < d)
		d = e->shutdown_deadline;
	return d;
}

/* Leader: resign unless a majority of voters (itself included) fetched within the last
 * 1.5 x fetch timeout; otherwise look again when the oldest of that majority expires. */
static void
check_quorum(struct kr_election *e, int64_t now, struct kr_el_out *out)
{
	int64_t window = e->cfg.fetch_timeout_us * 3 / 2, t[KR_VOTERS_MAX];
	uint32_t n = 0;

	for (int i = 0; i < e->cfg.n_voters; i++) {
		int64_t v = i == e->voter_index ? now : e->lead.last_fetch_us[i];
		uint32_t k = n++;

		for (; k > 0 && t[k - 1] < v; k--) /* keep t sorted, most recent first */
			t[k] = t[k - 1];
		t[k] = v;
	}
	if (t[e->majority - 1] + window <= now) {
		el_convert(e, KR_ROLE_RESIGNED, e->epoch, e->cfg.node_id, KR_WHY_CHECK_QUORUM, now,
			   out);
		return;
	}
	e->check_quorum_deadline = t[e->majority - 1] + window;
}

/* This node stopped following in its epoch: the pre-votes it refused because it followed
 * a live leader are answered again, as it answers them now (election.h, prevote_refused;
 * each waits for the fence like any request). */
static void
answer_held_prevotes(struct kr_election *e, int64_t now, struct kr_el_out *out)
{
	for (int i = 0; i < KR_VOTERS_MAX; i++) {
		if (!e->prevote_refused[i].held)
			continue;
		e->prevote_refused[i].held = false;
		if (e->prevote_refused[i].epoch != e->epoch || e->role != KR_ROLE_PROSPECTIVE)
			continue;
		el_recv_vote(e, e->prevote_refused[i].from, e->prevote_refused[i].corr,
			     &e->prevote_refused[i].req, now, out);
	}
}

void
kr_election_tick(struct kr_election *e, int64_t now, struct kr_el_out *out)
{
	if (e->shutdown_deadline <= now)
		el_shutdown_check(e, now, out);
	switch (e->role) {
	case KR_ROLE_UNATTACHED:
		if (e->election_deadline <= now)
			start_election(e, KR_WHY_ELECTION_TIMEOUT, now, out);
		break;
	case KR_ROLE_PROSPECTIVE:
		if (e->election_deadline <= now) {
			if (e->leader_id >= 0 && e->leader_id != e->cfg.node_id)
				el_convert(e, KR_ROLE_FOLLOWER, e->epoch, e->leader_id,
					   KR_WHY_ELECTION_TIMEOUT, now, out);
			else
				el_convert(e, KR_ROLE_UNATTACHED, e->epoch, KR_NODE_NONE,
					   KR_WHY_ELECTION_TIMEOUT, now, out);
		} else if (e->resend_deadline <= now) {
			el_send_vote_requests(e, now, out);
			el_tally(e, now, out);
		}
		break;
	case KR_ROLE_CANDIDATE:
		if (e->election_deadline <= now || e->backoff_deadline <= now) {
			enum kr_why why = e->backoff_deadline <= now ? KR_WHY_BACKOFF_DONE
								     : KR_WHY_ELECTION_TIMEOUT;

			e->cand.retries++;
			el_convert(e, KR_ROLE_PROSPECTIVE, e->epoch, KR_NODE_NONE, why, now, out);
		} else if (e->resend_deadline <= now && !e->requests_pending) {
			el_send_vote_requests(e, now, out);
			el_tally(e, now, out);
		}
		break;
	case KR_ROLE_LEADER:
		if (e->check_quorum_deadline <= now) {
			check_quorum(e, now, out);
			if (e->role != KR_ROLE_LEADER)
				break;
		}
		if (e->resend_deadline <= now) {
			send_begin_epoch(e, out);
			e->resend_deadline = now + e->cfg.fetch_timeout_us / 2;
		}
		break;
	case KR_ROLE_FOLLOWER:
		if (e->fetch_deadline > now)
			break;
		if (el_may_run(e)) {
			start_election(e,
				       e->foll.leader_resigning ? KR_WHY_LEADER_RESIGNED
								: KR_WHY_FETCH_TIMEOUT,
				       now, out);
			if (e->role == KR_ROLE_PROSPECTIVE)
				answer_held_prevotes(e, now, out);
		} else /* an observer looks for the leader again */
			el_convert(e, KR_ROLE_UNATTACHED, e->epoch, KR_NODE_NONE,
				   KR_WHY_FETCH_TIMEOUT, now, out);
		break;
	case KR_ROLE_RESIGNED:
		if (e->resend_deadline <= now) {
			send_end_epoch(e, out);
			e->resend_deadline = now + e->cfg.request_timeout_us;
		}
		if (e->election_deadline <= now && !e->shutting_down)
			start_election(e, KR_WHY_ELECTION_TIMEOUT, now, out);
		break;
	default:
		break;
	}
}

/* ---- what the handlers of BeginQuorumEpoch and EndQuorumEpoch share ---- */

bool
el_leader_says(struct kr_election *e, int32_t from, uint32_t epoch, int32_t leader, int64_t now,
	       struct kr_el_out *out, uint16_t *error)
{
	*error = KR_ERR_NONE;
	if (el_voter_index(e, from) < 0 || from == e->cfg.node_id) {
		el_ignore(e, KR_EL_IGNORE_UNKNOWN_SENDER);
		return false;
	}
	if (leader != from) {
		el_ignore(e, KR_EL_IGNORE_INVALID);
		*error = KR_ERR_INVALID_REQUEST;
	} else if (epoch < e->epoch) {
		*error = KR_ERR_FENCED_LEADER_EPOCH; /* and nothing changes here */
	} else {
		el_learn(e, epoch, leader, true, now, out);
	}
	return true;
}

void
el_answer_epoch(struct kr_election *e, struct kr_el_out *out, int32_t to, uint32_t corr,
		unsigned api, uint16_t error)
{
	struct kr_msg *m = el_send(e, out, to, corr, api);

	m->u.epoch_resp.error = error;
	m->u.epoch_resp.epoch = e->epoch;
	m->u.epoch_resp.leader_id = e->leader_id;
}

/* ---- first start (election.h "FIRST START") ---- */

/* Does m, from a voter, show that the cluster has a history this directory may have taken
 * part in before it was formatted again? Only the first election's requests may name an
 * epoch above 0: a Vote at epoch 1 from a candidate whose log is empty. */
static bool
shows_history(const struct kr_msg *m)
{
	switch (m->api) {
	case KR_API_VOTE:
		return m->u.vote.epoch > (m->u.vote.pre_vote ? 0u : 1u) ||
		       m->u.vote.last_epoch > 0 || m->u.vote.last_offset > 0;
	case KR_API_VOTE_RESP:
		return m->u.vote_resp.epoch > 0 || m->u.vote_resp.leader_id >= 0;
	case KR_API_BEGIN_EPOCH:
		return m->u.begin_epoch.epoch > 0;
	case KR_API_END_EPOCH:
		return m->u.end_epoch.epoch > 0;
	case KR_API_BEGIN_EPOCH_RESP:
	case KR_API_END_EPOCH_RESP:
		return m->u.epoch_resp.epoch > 0 || m->u.epoch_resp.leader_id >= 0;
	default:
		return false;
	}
}

/* The node's directory id becomes rejoin_dir (durably, first) and it is an observer. */
static void
rejoin(struct kr_election *e, int32_t from, uint32_t epoch, int64_t now, struct kr_el_out *out)
{
	struct kr_el_action *a = emit(out, KR_EL_REJOIN);

	EL_ASSERT(e->first_start && e->epoch == 0 && e->voter_index >= 0);
	memcpy(a->u.rejoin.dir, e->rejoin_dir, KR_UUID_BYTES);
	a->u.rejoin.node = from;
	a->u.rejoin.epoch = epoch;
	e->first_start = false;
	memcpy(e->cfg.directory_id, e->rejoin_dir, KR_UUID_BYTES);
	e->cfg.joining = true;
	e->voter_index = -1;
	memset(e->vote_waiting, 0, sizeof(e->vote_waiting));
	e->vote_other.waiting = false;
	command(e, out, KR_CMD_IDENTITY, KR_NODE_NONE, 0);
	el_convert(e, KR_ROLE_UNATTACHED, e->epoch, KR_NODE_NONE, KR_WHY_REJOINED, now, out);
}

/* Before any message from a voter is handled: a node on its first start checks it. */
static void
first_start_check(struct kr_election *e, int32_t from, const struct kr_msg *m, int64_t now,
		  struct kr_el_out *out)
{
	if (e->first_start && e->epoch > 0)
		e->first_start = false; /* it took part in an election: no longer its first */
	if (!e->first_start || from == e->cfg.node_id || el_voter_index(e, from) < 0 ||
	    !shows_history(m))
		return;
	rejoin(e, from,
	       m->api == KR_API_VOTE	      ? m->u.vote.epoch
	       : m->api == KR_API_VOTE_RESP   ? m->u.vote_resp.epoch
	       : m->api == KR_API_BEGIN_EPOCH ? m->u.begin_epoch.epoch
	       : m->api == KR_API_END_EPOCH   ? m->u.end_epoch.epoch
					      : m->u.epoch_resp.epoch,
	       now, out);
}

/* ---- inputs ---- */

void
kr_election_on_msg(struct kr_election *e, const struct kr_frame_hdr *h, const struct kr_msg *m,
		   int64_t now, struct kr_el_out *out)
{
	int32_t from = h->sender_id;
	uint32_t corr = h->correlation_id;

	first_start_check(e, from, m, now, out);
	switch (m->api) {
	case KR_API_VOTE:
		el_recv_vote(e, from, corr, &m->u.vote, now, out);
		break;
	case KR_API_VOTE_RESP:
		el_recv_vote_resp(e, from, corr, &m->u.vote_resp, now, out);
		break;
	case KR_API_BEGIN_EPOCH:
		el_recv_begin_epoch(e, from, corr, &m->u.begin_epoch, now, out);
		break;
	case KR_API_END_EPOCH:
		el_recv_end_epoch(e, from, corr, &m->u.end_epoch, now, out);
		break;
	case KR_API_BEGIN_EPOCH_RESP:
	case KR_API_END_EPOCH_RESP:
		el_recv_epoch_resp(e, from, m->api, &m->u.epoch_resp, now, out);
		break;
	default:
		el_ignore(e, KR_EL_IGNORE_UNEXPECTED_API);
		break;
	}
}

static void
on_fence_ack(struct kr_election *e, const struct kr_event *ev, int64_t now, struct kr_el_out *out)
{
	if (ev->seq != e->fence_seq || e->dp != KR_DP_FENCING) {
		el_ignore(e, KR_EL_IGNORE_STALE_FENCE_ACK);
		return;
	}
	e->dp = KR_DP_FENCED;
	e->fenced_last_epoch = ev->last_epoch;
	e->fenced_leo = ev->offset;
	e->fenced_voters_seq = ev->voters_seq;
	if (e->requests_pending) {
		e->requests_pending = false;
		el_send_vote_requests(e, now, out);
		el_tally(e, now, out);
	}
	/* Votes that waited for this acknowledgement are handled afresh: the state may have
	 * moved on since they arrived. */
	for (int i = 0; i < e->cfg.n_voters; i++) {
		if (!e->vote_waiting[i])
			continue;
		e->vote_waiting[i] = false;
		el_recv_vote(e, e->cfg.voters[i], e->vote_waiting_corr[i], &e->vote_waiting_req[i],
			     now, out);
	}
	if (e->vote_other.waiting) {
		e->vote_other.waiting = false;
		el_recv_vote(e, e->vote_other.from, e->vote_other.corr, &e->vote_other.req, now,
			     out);
	}
	dp_sync(e, out);
}

/*
 * The voter set in force changed (a dynamic cluster's KR_EV_VOTERS). What the core keeps
 * per voter follows each voter by (id, directory); a voter new to the set starts as just
 * heard from (it was added as a caught-up observer) and unacknowledged. The node's own
 * role follows whether it may run (el_may_run: a voter, or removed by a change not known
 * committed): a prospective or candidate that may no longer stops and looks for the
 * leader as an observer; a leader that left the set leads on, uncounted, until the
 * change commits; a node that may run now gets a voter's timers; a round in progress is
 * tallied again under the new majority (ran_before: whether it could run before).
 */
static void
apply_voters(struct kr_election *e, const struct kr_voter_set *s, bool ran_before, int64_t now,
	     struct kr_el_out *out)
{
	struct kr_election was = *e;
	int self;

	for (int j = 0; j < s->n; j++) {
		int i = -1;

		for (int k = 0; k < was.cfg.n_voters && i < 0; k++)
			if (was.cfg.voters[k] == s->v[j].id &&
			    el_dir_matches(was.cfg.voter_dirs[k], s->v[j].dir))
				i = k;
		e->cfg.voters[j] = s->v[j].id;
		memcpy(e->cfg.voter_dirs[j], s->v[j].dir, KR_UUID_BYTES);
		e->vote_waiting[j] = i >= 0 && was.vote_waiting[i];
		e->vote_waiting_corr[j] = i >= 0 ? was.vote_waiting_corr[i] : 0;
		if (i >= 0)
			e->vote_waiting_req[j] = was.vote_waiting_req[i];
		e->cand.vote_state[j] = i >= 0 ? was.cand.vote_state[i] : KR_VOTE_UNRECORDED;
		e->cand.vote_corr[j] = i >= 0 ? was.cand.vote_corr[i] : el_correlation(e);
		e->lead.last_fetch_us[j] = i >= 0 ? was.lead.last_fetch_us[i] : now;
		e->lead.fetch_offset[j] = i >= 0 ? was.lead.fetch_offset[i] : 0;
		e->lead.acked[j] = i >= 0 && was.lead.acked[i];
	}
	e->cfg.n_voters = s->n;
	e->majority = s->n / 2u + 1;
	self = KR_BUG(VOTER_BY_ID) ? kr_voters_find(s, e->cfg.node_id)
				   : kr_voters_find_key(s, e->cfg.node_id, e->cfg.directory_id);
	e->voter_index = self;
	e->lead.n_successors = 0;
	for (int k = 0; k < was.lead.n_successors; k++)
		if (el_voter_index(e, was.lead.successors[k]) >= 0 &&
		    was.lead.successors[k] != e->cfg.node_id)
			e->lead.successors[e->lead.n_successors++] = was.lead.successors[k];
	if (self >= 0 && (e->role == KR_ROLE_PROSPECTIVE || e->role == KR_ROLE_CANDIDATE))
		e->cand.vote_state[self] = KR_VOTE_GRANTED;
	/* a leader elected alone whose set grew (or that left it) now needs the others'
	 * fetches: a full window from now, as at election */
	if (e->role == KR_ROLE_LEADER && needs_quorum(e) && e->check_quorum_deadline == EL_NEVER)
		e->check_quorum_deadline = now + e->cfg.fetch_timeout_us * 3 / 2;
	else if (e->role == KR_ROLE_LEADER && !needs_quorum(e))
		e->check_quorum_deadline = EL_NEVER;

	if (ran_before && !el_may_run(e)) {
		if (e->role == KR_ROLE_PROSPECTIVE || e->role == KR_ROLE_CANDIDATE)
			el_convert(e, KR_ROLE_UNATTACHED, e->epoch, KR_NODE_NONE,
				   KR_WHY_VOTERS_CHANGED, now, out);
		else if (e->role == KR_ROLE_UNATTACHED || e->role == KR_ROLE_RESIGNED)
			e->election_deadline = EL_NEVER; /* it no longer runs */
		dp_sync(e, out); /* an unattached observer looks for the leader */
		return;
	}
	if (!ran_before && el_may_run(e)) {
		if (e->role == KR_ROLE_UNATTACHED)
			e->election_deadline = now + election_timeout(e);
		dp_sync(e, out); /* an unattached voter waits fenced */
		return;
	}
	if ((e->role == KR_ROLE_PROSPECTIVE || e->role == KR_ROLE_CANDIDATE) &&
	    !e->requests_pending) {
		el_send_vote_requests(e, now, out); /* to voters new to the set */
		el_tally(e, now, out);
		return;
	}
	/* Whether this node is in the set also decides whether an unattached dataplane looks
	 * for the leader, and that can change while it may run before and after (a removal
	 * of itself still pending): soak seed 3301893, an amnesiac node that learned a set
	 * naming it from its log stayed unattached, told not to look, while the leader of a
	 * newer set without it sent it nothing. dp_sync changes nothing if nothing changed. */
	if (e->role != KR_ROLE_PROSPECTIVE && e->role != KR_ROLE_CANDIDATE)
		dp_sync(e, out);
}

void
kr_election_on_event(struct kr_election *e, const struct kr_event *ev, int64_t now,
		     struct kr_el_out *out)
{
	int vi;

	switch (ev->type) {
	case KR_EV_FENCE_ACK:
		on_fence_ack(e, ev, now, out);
		break;
	case KR_EV_LEADER_FETCHED:
		if (e->role != KR_ROLE_FOLLOWER || ev->epoch != e->epoch ||
		    ev->node != e->leader_id) {
			el_ignore(e, KR_EL_IGNORE_STALE_EVENT);
			break;
		}
		if (e->foll.leader_resigning) /* a reply sent before it resigned */
			break;
		e->foll.has_fetched = true;
		e->fetch_deadline = now + e->cfg.fetch_timeout_us;
		e->stand_patience_until = now + KR_STAND_PATIENCE * e->cfg.election_timeout_us;
		break;
	case KR_EV_REPLICA_FETCHED:
		vi = el_voter_index(e, ev->node);
		if (e->role != KR_ROLE_LEADER || ev->epoch != e->epoch || vi < 0) {
			/* observers never count toward check-quorum */
			el_ignore(e, KR_EL_IGNORE_STALE_EVENT);
			break;
		}
		e->lead.last_fetch_us[vi] = now;
		e->lead.fetch_offset[vi] = ev->offset;
		e->lead.acked[vi] = true; /* a Fetch acknowledges BeginQuorumEpoch */
		break;
	case KR_EV_EPOCH_SEEN:
		if (e->first_start && e->epoch == 0 && ev->epoch > 0)
			rejoin(e, ev->node, ev->epoch, now, out);
		el_learn(e, ev->epoch, ev->node, false, now, out);
		break;
	case KR_EV_CAUGHT_UP:
		if (e->vote_blocked && ev->epoch >= e->vote_block_epoch) {
			e->vote_blocked = false;
			emit(out, KR_EL_VOTE_UNBLOCKED);
		}
		break;
	case KR_EV_STATE_RESTORED:
		e->stand_blocked = false;
		break;
	case KR_EV_FATAL: /* the shell stops the node; nothing here may act on it */
		break;
	case KR_EV_LEFT_VOTERS:
		/* it removed itself and that committed: a successor's turn (EndQuorumEpoch) */
		if (e->role != KR_ROLE_LEADER || ev->epoch != e->epoch || kr_election_is_voter(e)) {
			el_ignore(e, KR_EL_IGNORE_STALE_EVENT);
			break;
		}
		el_convert(e, KR_ROLE_RESIGNED, e->epoch, e->cfg.node_id, KR_WHY_LEFT_VOTERS, now,
			   out);
		break;
	case KR_EV_VOTERS:
		/* the set in force at the dataplane's log end (dynamic clusters). Kept, with
		 * its number, so a fence acknowledgement can name the set its LEO is under. */
		if (ev->seq <= e->log_voters.seq ||
		    (ev->frame_len > 0 &&
		     kr_voters_record_decode(ev->frame, ev->frame_len, &e->log_voters.set) != 0)) {
			el_ignore(e, KR_EL_IGNORE_INVALID);
			break;
		}
		if (ev->frame_len == 0)
			e->log_voters.set.n = 0;
		e->log_voters.seq = ev->seq;
		e->log_voters.offset = ev->offset;
		if (e->log_voters.set.n > 0) {
			bool ran = el_may_run(e);

			e->left_pending = ev->left_pending != 0;
			apply_voters(e, &e->log_voters.set, ran, now, out);
		}
		break;
	default:
		el_ignore(e, KR_EL_IGNORE_UNEXPECTED_API);
		break;
	}
}
