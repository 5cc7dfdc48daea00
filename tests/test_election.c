/* kraftd tests: the election state machine against KRaft's black-box scenarios (those
 * that apply before snapshots and voter changes; each test's name says what it shows),
 * the fence rule, and voters as (node id, directory id). Each test drives one node's pure
 * core and reads its actions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "kraft/election.h"
#include "kraft/errors.h"

#define MS 1000
#define T_ELECTION (100 * MS)
#define T_FETCH (200 * MS)
#define T_BACKOFF (100 * MS)
#define T_REQUEST (50 * MS)
#define T_SHUTDOWN (300 * MS)

struct node {
	struct kr_election e;
	struct kr_el_out out;
	int64_t now;
};

static struct kr_election_config
config(int32_t self, int n_voters)
{
	struct kr_election_config c = {
		.node_id = self,
		.n_voters = (uint8_t)n_voters,
		.election_timeout_us = T_ELECTION,
		.fetch_timeout_us = T_FETCH,
		.election_backoff_max_us = T_BACKOFF,
		.request_timeout_us = T_REQUEST,
		.shutdown_timeout_us = T_SHUTDOWN,
	};

	for (int i = 0; i < n_voters; i++)
		c.voters[i] = c.known[i] = i + 1; /* voters are nodes 1..n, known as kraftd's */
	c.n_known = (uint8_t)n_voters;
	memset(c.directory_id, self, KR_UUID_BYTES);
	return c;
}

static struct node *
start_full(int32_t self, int n_voters, struct kr_quorum_state qs, uint32_t log_epoch, bool blocked)
{
	struct node *n = calloc(1, sizeof(*n));
	struct kr_election_config c = config(self, n_voters);
	struct kr_election_start st = {.qs = qs,
				       .log_last_epoch = log_epoch,
				       .vote_blocked = blocked,
				       .rng_seed = 42 + (uint64_t)self};

	n->now = 1000000;
	assert_int_equal(kr_election_init(&n->e, &c, &st, n->now, &n->out), 0);
	return n;
}

static struct kr_quorum_state
qs_of(uint32_t epoch, int32_t leader, int32_t voted)
{
	struct kr_quorum_state q = {.epoch = epoch, .leader_id = leader, .voted_id = voted};

	return q;
}

static struct node *
start(int32_t self, int n_voters)
{
	return start_full(self, n_voters, qs_of(0, KR_NODE_NONE, KR_NODE_NONE), 0, false);
}

static void
clear(struct node *n)
{
	n->out.n = 0;
}

/* ---- reading actions ---- */

static const struct kr_el_action *
find(const struct node *n, uint8_t type, int skip)
{
	for (uint32_t i = 0; i < n->out.n; i++)
		if (n->out.a[i].type == type && skip-- == 0)
			return &n->out.a[i];
	return NULL;
}

static int
index_of(const struct node *n, const struct kr_el_action *a)
{
	return a ? (int)(a - n->out.a) : -1;
}

static const struct kr_el_action *
find_send(const struct node *n, unsigned api, int32_t to)
{
	for (uint32_t i = 0; i < n->out.n; i++) {
		const struct kr_el_action *a = &n->out.a[i];

		if (a->type == KR_EL_SEND && a->u.send.msg.api == api &&
		    (to == KR_NODE_NONE || a->u.send.to == to))
			return a;
	}
	return NULL;
}

static int
count_sends(const struct node *n, unsigned api)
{
	int c = 0;

	for (uint32_t i = 0; i < n->out.n; i++)
		c += n->out.a[i].type == KR_EL_SEND && n->out.a[i].u.send.msg.api == api;
	return c;
}

static const struct kr_el_action *
find_cmd(const struct node *n, uint8_t type)
{
	for (uint32_t i = 0; i < n->out.n; i++)
		if (n->out.a[i].type == KR_EL_COMMAND && n->out.a[i].u.cmd.type == type)
			return &n->out.a[i];
	return NULL;
}

/* ---- inputs ---- */

static void
tick_to(struct node *n, int64_t t)
{
	n->now = t;
	kr_election_tick(&n->e, n->now, &n->out);
}

static void
advance(struct node *n, int64_t us)
{
	tick_to(n, n->now + us);
}

/* Run the timers until the role changes or limit passes. */
static void
run_until_role_changes(struct node *n, int64_t limit)
{
	enum kr_role r = n->e.role;
	int64_t end = n->now + limit;

	while (n->e.role == r && n->now < end) {
		int64_t d = kr_election_next_deadline(&n->e);

		tick_to(n, d < end ? d : end);
	}
}

static void
deliver(struct node *n, int32_t from, uint32_t corr, const struct kr_msg *m)
{
	struct kr_frame_hdr h = {.api = m->api, .sender_id = from, .correlation_id = corr};

	kr_election_on_msg(&n->e, &h, m, n->now, &n->out);
}

static void
event(struct node *n, uint8_t type, int32_t node, uint32_t epoch, uint64_t offset)
{
	struct kr_event ev = {.type = type, .node = node, .epoch = epoch, .offset = offset};

	kr_election_on_event(&n->e, &ev, n->now, &n->out);
}

/* The dataplane acknowledges the latest fence with its log position. */
static void
ack_fence(struct node *n, uint32_t last_epoch, uint64_t leo)
{
	struct kr_event ev = {.type = KR_EV_FENCE_ACK,
			      .epoch = n->e.dp_epoch,
			      .seq = n->e.fence_seq,
			      .last_epoch = last_epoch,
			      .offset = leo};

	assert_int_equal(n->e.dp, KR_DP_FENCING);
	kr_election_on_event(&n->e, &ev, n->now, &n->out);
}

static void
vote_req(struct node *n, int32_t from, uint32_t epoch, uint32_t last_epoch, uint64_t leo, bool pre)
{
	struct kr_msg m = {.api = KR_API_VOTE};

	m.u.vote.epoch = epoch;
	m.u.vote.last_epoch = last_epoch;
	m.u.vote.last_offset = leo;
	m.u.vote.voter_id = n->e.cfg.node_id;
	m.u.vote.pre_vote = pre;
	deliver(n, from, 777, &m);
}

static void
vote_resp(struct node *n, int32_t from, bool granted, bool pre)
{
	struct kr_msg m = {.api = KR_API_VOTE_RESP};
	int vi = from - 1;

	for (int i = 0; i < n->e.cfg.n_voters; i++) /* its place in the set in force */
		if (n->e.cfg.voters[i] == from)
			vi = i;
	m.u.vote_resp.granted = granted;
	m.u.vote_resp.pre_vote = pre;
	m.u.vote_resp.epoch = n->e.epoch;
	m.u.vote_resp.leader_id = KR_NODE_NONE;
	deliver(n, from, n->e.cand.vote_corr[vi], &m);
}

static void
begin_epoch(struct node *n, int32_t from, uint32_t epoch)
{
	struct kr_msg m = {.api = KR_API_BEGIN_EPOCH};

	m.u.begin_epoch.epoch = epoch;
	m.u.begin_epoch.leader_id = from;
	deliver(n, from, 555, &m);
}

static void
end_epoch(struct node *n, int32_t from, uint32_t epoch, int n_succ, const int32_t *succ)
{
	struct kr_msg m = {.api = KR_API_END_EPOCH};

	m.u.end_epoch.epoch = epoch;
	m.u.end_epoch.leader_id = from;
	m.u.end_epoch.n_successors = (uint8_t)n_succ;
	if (n_succ > 0)
		memcpy(m.u.end_epoch.successors, succ, sizeof(int32_t) * (size_t)n_succ);
	deliver(n, from, 556, &m);
}

static const struct kr_vote_resp *vote_answer(const struct node *n);

/* Why the last vote answer refused (KR_REFUSAL_NONE: granted). */
static unsigned
vote_refusal(const struct node *n)
{
	const struct kr_vote_resp *r = vote_answer(n);

	return ((const struct kr_el_action *)(const void *)((const char *)r -
							    offsetof(struct kr_el_action,
								     u.send.msg.u.vote_resp)))
		->u.send.refusal;
}

/* The answer to the last vote request (correlation 777). */
static const struct kr_vote_resp *
vote_answer(const struct node *n)
{
	const struct kr_el_action *a = NULL;

	for (uint32_t i = 0; i < n->out.n; i++)
		if (n->out.a[i].type == KR_EL_SEND &&
		    n->out.a[i].u.send.msg.api == KR_API_VOTE_RESP)
			a = &n->out.a[i];
	assert_non_null(a);
	assert_int_equal(a->u.send.correlation, 777);
	return &a->u.send.msg.u.vote_resp;
}

/* Make node 1 of three the leader of epoch 1: prospective, pre-votes, candidate, votes. */
static struct node *
leader_of_three(void)
{
	struct node *n = start(1, 3);

	run_until_role_changes(n, 10 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE);
	ack_fence(n, 0, 0);
	vote_resp(n, 2, true, true);
	assert_int_equal(n->e.role, KR_ROLE_CANDIDATE);
	vote_resp(n, 2, true, false);
	assert_int_equal(n->e.role, KR_ROLE_LEADER);
	assert_int_equal(n->e.epoch, 1);
	clear(n);
	return n;
}

static struct node *
follower_of(int32_t self, int32_t leader, uint32_t epoch)
{
	struct node *n = start(self, 3);

	begin_epoch(n, leader, epoch);
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	clear(n);
	return n;
}

/* ---- scenarios ---- */

static void
sole_voter_elects_itself_at_start(void **state)
{
	struct node *n = start(1, 1);

	(void)state;
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE);
	assert_non_null(find_cmd(n, KR_CMD_FENCE));
	assert_null(find_cmd(n, KR_CMD_LEADER)); /* not before the fence is acknowledged */
	ack_fence(n, 0, 0);
	assert_int_equal(n->e.role, KR_ROLE_LEADER);
	assert_int_equal(n->e.epoch, 1);
	const struct kr_el_action *p = find(n, KR_EL_PERSIST, 0);

	assert_non_null(p);
	assert_int_equal(p->u.persist.epoch, 1);
	assert_int_equal(p->u.persist.voted_id, 1);
	assert_non_null(find_cmd(n, KR_CMD_LEADER));
	assert_int_equal(find_cmd(n, KR_CMD_LEADER)->u.cmd.epoch, 1);
	free(n);
}

static void
sole_voter_leader_never_resigns_through_check_quorum(void **state)
{
	struct node *n = start(1, 1);

	(void)state;
	ack_fence(n, 0, 0);
	assert_int_equal(n->e.role, KR_ROLE_LEADER);
	for (int i = 0; i < 100; i++)
		advance(n, T_FETCH);
	assert_int_equal(n->e.role, KR_ROLE_LEADER);
	free(n);
}

static void
node_persisted_as_leader_restarts_resigned_and_sends_end_epoch(void **state)
{
	struct node *n = start_full(1, 3, qs_of(4, 1, 1), 4, false);

	(void)state;
	assert_int_equal(n->e.role, KR_ROLE_RESIGNED);
	assert_int_equal(n->e.epoch, 4);
	assert_null(find(n, KR_EL_PERSIST, 0));
	assert_null(find_cmd(n, KR_CMD_LEADER)); /* the dataplane is fenced: no appends */
	assert_non_null(find_cmd(n, KR_CMD_FENCE));
	assert_int_equal(count_sends(n, KR_API_END_EPOCH), 2);
	/* it re-sends until acknowledged, and after the election timeout it runs */
	clear(n);
	advance(n, T_REQUEST);
	assert_int_equal(count_sends(n, KR_API_END_EPOCH), 2);
	run_until_role_changes(n, 2 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE);
	assert_int_equal(n->e.epoch, 4);
	free(n);
}

/* A node that led an epoch never lets its file forget it: whatever it persists in that
 * epoch (Resigned -> Prospective -> Unattached ...) brings a restart back Resigned, never
 * Candidate in the epoch it led, where a second term could write different records at
 * offsets of the first. Found by kraftsim (3 voters, disk: a restarted leader led its
 * epoch again). */
static void
ex_leader_never_forgets_it_led_the_epoch(void **state)
{
	struct node *n = start_full(1, 3, qs_of(4, 1, 1), 4, false);
	struct kr_quorum_state last = qs_of(4, 1, 1);
	bool was_unattached = false;
	struct node *m;

	(void)state;
	ack_fence(n, 4, 10);
	for (int round = 0; round < 8 && n->e.epoch == 4; round++) {
		const struct kr_el_action *p;

		clear(n);
		run_until_role_changes(n, 4 * T_ELECTION);
		was_unattached |= n->e.role == KR_ROLE_UNATTACHED && n->e.epoch == 4;
		for (int k = 0; (p = find(n, KR_EL_PERSIST, k)) != NULL; k++)
			if (p->u.persist.epoch == 4) {
				assert_int_equal(p->u.persist.leader_id, 1);
				last = p->u.persist;
			}
		if (n->e.dp == KR_DP_FENCING)
			ack_fence(n, 4, 10);
	}
	assert_true(was_unattached); /* the path that used to forget was taken */
	m = start_full(1, 3, last, 4, false);
	assert_int_equal(m->e.role, KR_ROLE_RESIGNED);
	assert_int_equal(m->e.epoch, 4);
	free(m);
	free(n);
}

static void
ex_leader_refuses_any_vote_in_its_epoch_but_grants_in_a_higher_one(void **state)
{
	struct node *n = start_full(1, 3, qs_of(4, 1, 1), 4, false);

	(void)state;
	ack_fence(n, 4, 10);
	clear(n);
	vote_req(n, 2, 4, 3, 100, false); /* well up to date, but in the epoch it led */
	assert_false(vote_answer(n)->granted);
	clear(n);
	vote_req(n, 2, 5, 4, 100, false);
	assert_int_equal(n->e.epoch, 5);
	if (n->e.dp == KR_DP_FENCING)
		ack_fence(n, 4, 10);
	assert_true(vote_answer(n)->granted);
	assert_int_equal(n->e.voted_id, 2);
	free(n);
}

static void
node_that_voted_for_itself_restarts_as_candidate_in_the_same_epoch(void **state)
{
	struct node *n = start_full(2, 3, qs_of(6, KR_NODE_NONE, 2), 5, false);

	(void)state;
	assert_int_equal(n->e.role, KR_ROLE_CANDIDATE);
	assert_int_equal(n->e.epoch, 6);
	assert_null(find(n, KR_EL_PERSIST, 0));
	assert_int_equal(count_sends(n, KR_API_VOTE), 0); /* waits for the fence */
	ack_fence(n, 5, 20);
	assert_int_equal(count_sends(n, KR_API_VOTE), 2);
	const struct kr_vote_req *v = &find_send(n, KR_API_VOTE, 1)->u.send.msg.u.vote;

	assert_int_equal(v->epoch, 6);
	assert_false(v->pre_vote);
	assert_int_equal(v->last_epoch, 5);
	assert_int_equal(v->last_offset, 20);
	free(n);
}

static void
log_with_a_later_epoch_than_the_file_moves_the_node_to_it(void **state)
{
	struct node *n = start_full(2, 3, qs_of(3, 1, 1), 7, false);

	(void)state;
	assert_int_equal(n->e.role, KR_ROLE_UNATTACHED);
	assert_int_equal(n->e.epoch, 7);
	assert_int_equal(n->e.voted_id, KR_NODE_NONE);
	assert_int_equal(find(n, KR_EL_PERSIST, 0)->u.persist.epoch, 7);
	free(n);
}

static void
leader_resigns_without_fetches_from_a_majority_in_one_and_a_half_fetch_timeouts(void **state)
{
	struct node *n = leader_of_three();

	(void)state;
	/* fetches from voter 2 keep it in office */
	for (int i = 0; i < 10; i++) {
		advance(n, T_FETCH / 2);
		event(n, KR_EV_REPLICA_FETCHED, 2, 1, 5);
		assert_int_equal(n->e.role, KR_ROLE_LEADER);
	}
	/* observers (node 9) do not count */
	int64_t last = n->now;

	while (n->e.role == KR_ROLE_LEADER && n->now < last + 4 * T_FETCH) {
		advance(n, T_FETCH / 10);
		event(n, KR_EV_REPLICA_FETCHED, 9, 1, 5);
	}
	assert_int_equal(n->e.role, KR_ROLE_RESIGNED);
	assert_true(n->now >= last + T_FETCH * 3 / 2);
	assert_true(n->now <= last + T_FETCH * 3 / 2 + T_FETCH / 10);
	assert_non_null(find_cmd(n, KR_CMD_FENCE));
	assert_int_equal(count_sends(n, KR_API_END_EPOCH), 2);
	free(n);
}

static void
leader_resends_begin_epoch_until_a_fetch_or_an_answer_acknowledges_it(void **state)
{
	struct node *n = start(1, 3);

	(void)state;
	run_until_role_changes(n, 10 * T_ELECTION);
	ack_fence(n, 0, 0);
	vote_resp(n, 3, true, true);
	clear(n);
	vote_resp(n, 3, true, false);
	assert_int_equal(n->e.role, KR_ROLE_LEADER);
	assert_int_equal(count_sends(n, KR_API_BEGIN_EPOCH), 2);
	clear(n);
	event(n, KR_EV_REPLICA_FETCHED, 2, 1, 0); /* node 2 fetched: that acknowledges */
	advance(n, T_FETCH / 2);
	assert_null(find_send(n, KR_API_BEGIN_EPOCH, 2));
	assert_non_null(find_send(n, KR_API_BEGIN_EPOCH, 3));
	struct kr_msg ok = {.api = KR_API_BEGIN_EPOCH_RESP};

	ok.u.epoch_resp.epoch = 1;
	ok.u.epoch_resp.leader_id = 1;
	deliver(n, 3, 1, &ok);
	clear(n);
	advance(n, T_FETCH / 2);
	assert_int_equal(count_sends(n, KR_API_BEGIN_EPOCH), 0);
	free(n);
}

static void
unattached_voter_follows_and_persists_the_leader_named_by_begin_epoch(void **state)
{
	struct node *n = start(2, 3);

	(void)state;
	clear(n);
	begin_epoch(n, 3, 5);
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	assert_int_equal(n->e.leader_id, 3);
	assert_int_equal(n->e.epoch, 5);
	const struct kr_el_action *p = find(n, KR_EL_PERSIST, 0);

	assert_non_null(p);
	assert_int_equal(p->u.persist.leader_id, 3);
	assert_int_equal(p->u.persist.epoch, 5);
	assert_true(index_of(n, p) < index_of(n, find_send(n, KR_API_BEGIN_EPOCH_RESP, 3)));
	assert_int_equal(find_cmd(n, KR_CMD_FOLLOWER)->u.cmd.node, 3);
	assert_int_equal(find_send(n, KR_API_BEGIN_EPOCH_RESP, 3)->u.send.msg.u.epoch_resp.error,
			 KR_ERR_NONE);
	free(n);
}

static void
begin_or_end_epoch_from_an_older_epoch_is_fenced_and_changes_nothing(void **state)
{
	struct node *n = follower_of(2, 3, 5);

	(void)state;
	begin_epoch(n, 1, 4);
	assert_int_equal(find_send(n, KR_API_BEGIN_EPOCH_RESP, 1)->u.send.msg.u.epoch_resp.error,
			 KR_ERR_FENCED_LEADER_EPOCH);
	end_epoch(n, 1, 4, 0, NULL);
	assert_int_equal(find_send(n, KR_API_END_EPOCH_RESP, 1)->u.send.msg.u.epoch_resp.error,
			 KR_ERR_FENCED_LEADER_EPOCH);
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	assert_int_equal(n->e.leader_id, 3);
	assert_int_equal(n->e.epoch, 5);
	assert_null(find(n, KR_EL_PERSIST, 0));
	assert_null(find(n, KR_EL_TRANSITION, 0));
	free(n);
}

static void
first_successor_runs_at_once_and_the_second_after_the_strict_exponential_delay(void **state)
{
	const int32_t succ[2] = {2, 3};
	struct node *a = follower_of(2, 1, 3), *b = follower_of(3, 1, 3);

	(void)state;
	end_epoch(a, 1, 3, 2, succ);
	end_epoch(b, 1, 3, 2, succ);
	advance(a, 0);
	assert_int_equal(a->e.role, KR_ROLE_PROSPECTIVE);
	advance(b, 0);
	assert_int_equal(b->e.role, KR_ROLE_FOLLOWER); /* still fetching */
	/* position 1 of 2: (max >> 1) << 0 = max / 2 */
	advance(b, T_BACKOFF / 2 - 1);
	assert_int_equal(b->e.role, KR_ROLE_FOLLOWER);
	advance(b, 1);
	assert_int_equal(b->e.role, KR_ROLE_PROSPECTIVE);
	free(a);
	free(b);
}

/* A follower told by EndQuorumEpoch that its leader resigns grants the first successor's
 * pre-vote, even after good fetches (a reply the leader sent before resigning changes
 * nothing): the handover does not wait for the second successor's delay. */
static void
followers_of_a_resigning_leader_grant_its_successors_pre_votes(void **state)
{
	const int32_t succ[2] = {2, 3};
	struct node *b = follower_of(3, 1, 3);

	(void)state;
	event(b, KR_EV_LEADER_FETCHED, 1, 3, 0);
	clear(b);
	vote_req(b, 2, 3, 3, 50, true);
	assert_false(vote_answer(b)->granted); /* Kafka's rule while the leader is live */
	clear(b);
	end_epoch(b, 1, 3, 2, succ);
	event(b, KR_EV_LEADER_FETCHED, 1, 3, 0);
	clear(b);
	vote_req(b, 2, 3, 3, 50, true);
	ack_fence(b, 3, 50);
	assert_true(vote_answer(b)->granted);
	assert_int_equal(b->e.role, KR_ROLE_FOLLOWER);
	/* the late reply did not push its own timer back: it still runs at max / 2 */
	advance(b, T_BACKOFF / 2);
	assert_int_equal(b->e.role, KR_ROLE_PROSPECTIVE);
	free(b);
}

static void
leader_shutting_down_names_successors_by_fetch_offset(void **state)
{
	struct node *n = start(1, 5);

	(void)state;
	run_until_role_changes(n, 10 * T_ELECTION);
	ack_fence(n, 0, 0);
	vote_resp(n, 2, true, true);
	vote_resp(n, 3, true, true);
	vote_resp(n, 2, true, false);
	vote_resp(n, 3, true, false);
	assert_int_equal(n->e.role, KR_ROLE_LEADER);
	event(n, KR_EV_REPLICA_FETCHED, 2, 1, 10);
	event(n, KR_EV_REPLICA_FETCHED, 3, 1, 40);
	event(n, KR_EV_REPLICA_FETCHED, 4, 1, 25);
	event(n, KR_EV_REPLICA_FETCHED, 5, 1, 30);
	clear(n);
	kr_election_shutdown(&n->e, n->now, &n->out);
	assert_int_equal(n->e.role, KR_ROLE_RESIGNED);
	const struct kr_end_epoch_req *q =
		&find_send(n, KR_API_END_EPOCH, 2)->u.send.msg.u.end_epoch;

	assert_int_equal(q->n_successors, 4);
	assert_int_equal(q->successors[0], 3);
	assert_int_equal(q->successors[1], 5);
	assert_int_equal(q->successors[2], 4);
	assert_int_equal(q->successors[3], 2);
	free(n);
}

static void
leader_shutdown_completes_on_acknowledgements_or_timeout_follower_at_once(void **state)
{
	struct node *n = leader_of_three(), *f = follower_of(2, 1, 1);
	struct kr_msg ok = {.api = KR_API_END_EPOCH_RESP};

	(void)state;
	kr_election_shutdown(&n->e, n->now, &n->out);
	assert_null(find(n, KR_EL_SHUTDOWN_DONE, 0));
	ok.u.epoch_resp.epoch = 1;
	ok.u.epoch_resp.leader_id = 1;
	deliver(n, 2, 1, &ok);
	assert_null(find(n, KR_EL_SHUTDOWN_DONE, 0));
	deliver(n, 3, 1, &ok);
	assert_non_null(find(n, KR_EL_SHUTDOWN_DONE, 0));
	free(n);

	n = leader_of_three();
	kr_election_shutdown(&n->e, n->now, &n->out);
	advance(n, T_SHUTDOWN - 1);
	assert_null(find(n, KR_EL_SHUTDOWN_DONE, 0));
	advance(n, 1);
	assert_non_null(find(n, KR_EL_SHUTDOWN_DONE, 0));
	assert_int_equal(n->e.role, KR_ROLE_RESIGNED); /* no election while shutting down */
	free(n);

	n = leader_of_three();
	kr_election_shutdown(&n->e, n->now, &n->out);
	begin_epoch(n, 2, 2); /* a new leader appeared */
	assert_non_null(find(n, KR_EL_SHUTDOWN_DONE, 0));
	free(n);

	kr_election_shutdown(&f->e, f->now, &f->out);
	assert_non_null(find(f, KR_EL_SHUTDOWN_DONE, 0));
	free(f);
}

static void
rejected_candidate_backs_off_keeps_its_vote_then_runs_again_with_more_retries(void **state)
{
	struct node *n = start(1, 3);

	(void)state;
	run_until_role_changes(n, 10 * T_ELECTION);
	ack_fence(n, 0, 0);
	vote_resp(n, 2, true, true);
	assert_int_equal(n->e.role, KR_ROLE_CANDIDATE);
	vote_resp(n, 2, false, false);
	assert_int_equal(n->e.role, KR_ROLE_CANDIDATE); /* node 3 may still say yes */
	vote_resp(n, 3, false, false);
	assert_int_equal(n->e.role, KR_ROLE_CANDIDATE);
	assert_int_equal(n->e.voted_id, 1);
	int64_t lost_at = n->now;

	assert_true(n->e.backoff_deadline <= lost_at + T_BACKOFF);
	uint32_t retries = n->e.cand.retries;

	run_until_role_changes(n, 2 * T_BACKOFF);
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE);
	assert_true(n->now <= lost_at + T_BACKOFF);
	assert_int_equal(n->e.cand.retries, retries + 1);
	assert_int_equal(n->e.epoch, 1); /* no bump for the pre-vote */
	assert_int_equal(n->e.voted_id, 1);
	free(n);
}

static void
candidate_election_timeout_goes_back_to_prospective_in_the_same_epoch(void **state)
{
	struct node *n = start(1, 3);

	(void)state;
	run_until_role_changes(n, 10 * T_ELECTION);
	ack_fence(n, 0, 0);
	vote_resp(n, 2, true, true);
	assert_int_equal(n->e.role, KR_ROLE_CANDIDATE);
	int64_t t0 = n->now;

	run_until_role_changes(n, 3 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE);
	assert_int_equal(n->e.epoch, 1);
	assert_true(n->now >= t0 + T_ELECTION && n->now < t0 + 2 * T_ELECTION);
	free(n);
}

static void
lost_elections_back_off_for_randomized_growing_times(void **state)
{
	int64_t max_seen[6] = {0};

	(void)state;
	for (int seed = 0; seed < 40; seed++) {
		struct node *n = start(1, 3);

		n->e.rng = (uint64_t)seed * 7919;
		run_until_role_changes(n, 10 * T_ELECTION);
		for (int round = 0; round < 6; round++) {
			if (n->e.role != KR_ROLE_PROSPECTIVE)
				break;
			if (n->e.dp == KR_DP_FENCING)
				ack_fence(n, 0, 0);
			vote_resp(n, 2, true, true);
			vote_resp(n, 2, false, false);
			vote_resp(n, 3, false, false);
			int64_t b = n->e.backoff_deadline - n->now;

			assert_true(b >= 0 && b <= T_BACKOFF);
			if (b > max_seen[round])
				max_seen[round] = b;
			run_until_role_changes(n, 2 * T_BACKOFF);
		}
		free(n);
	}
	/* the first backoff is 0 or one base unit; later ones reach further */
	assert_true(max_seen[0] <= T_BACKOFF / 10);
	assert_true(max_seen[3] > max_seen[0]);
}

static void
election_timeouts_are_drawn_from_t_to_2t(void **state)
{
	int64_t lo = INT64_MAX, hi = 0;

	(void)state;
	for (int i = 0; i < 200; i++) {
		struct node *n = start(2, 3);

		n->e.rng = (uint64_t)i * 104729;
		clear(n);
		begin_epoch(n, 3, 1);
		vote_req(n, 1, 2, 1, 0, false); /* a higher epoch: unattached, timer drawn */
		ack_fence(n, 0, 0);
		int64_t d = n->e.election_deadline - n->now;

		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		free(n);
	}
	assert_true(lo >= T_ELECTION);
	assert_true(hi < 2 * T_ELECTION);
	assert_true(hi - lo > T_ELECTION / 2); /* spread, not a constant */
}

static void
vote_with_a_higher_epoch_moves_the_node_to_unattached_before_granting(void **state)
{
	struct node *n = follower_of(2, 1, 3);

	(void)state;
	vote_req(n, 3, 4, 3, 10, false);
	/* the epoch was adopted and persisted at once; the grant waits for the fence */
	assert_int_equal(n->e.role, KR_ROLE_UNATTACHED);
	assert_int_equal(n->e.epoch, 4);
	assert_int_equal(find(n, KR_EL_PERSIST, 0)->u.persist.epoch, 4);
	assert_int_equal(find(n, KR_EL_PERSIST, 0)->u.persist.voted_id, KR_NODE_NONE);
	assert_null(find_send(n, KR_API_VOTE_RESP, 3));
	ack_fence(n, 3, 10);
	assert_true(vote_answer(n)->granted);
	assert_int_equal(n->e.voted_id, 3);
	free(n);
}

/* n hears BeginQuorumEpoch from leader in epoch and follows it, with one store naming
 * the leader and the command to fetch: returns that store. */
static const struct kr_el_action *
follow_with_one_store(struct node *n, int32_t leader, uint32_t epoch)
{
	const struct kr_el_action *p;

	clear(n);
	begin_epoch(n, leader, epoch);
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	p = find(n, KR_EL_PERSIST, 0);
	assert_non_null(p);
	assert_null(find(n, KR_EL_PERSIST, 1));
	assert_int_equal(p->u.persist.leader_id, leader);
	assert_int_equal(p->u.persist.epoch, epoch);
	assert_non_null(find_cmd(n, KR_CMD_FOLLOWER));
	return p;
}

/* A failover's voter: prospective (its dataplane fenced) when the candidate's Vote of the
 * next epoch comes. Moving to that epoch and granting the vote is one store, not two, and
 * it is durable before the answer leaves. Then the candidate's BeginQuorumEpoch: the
 * dataplane is told to fetch before the leader's id is stored (epoch and vote are on disk
 * already), and that store still comes. */
static void
a_voter_stores_a_new_epoch_and_its_vote_once_and_the_leader_after_fetching(void **state)
{
	struct node *n = start(2, 3);

	(void)state;
	run_until_role_changes(n, 10 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE);
	ack_fence(n, 0, 10);
	clear(n);
	vote_req(n, 1, 1, 0, 10, false);
	assert_int_equal(n->e.epoch, 1);
	assert_int_equal(n->e.voted_id, 1);
	assert_int_equal(vote_refusal(n), KR_REFUSAL_NONE);
	const struct kr_el_action *p = find(n, KR_EL_PERSIST, 0);

	assert_non_null(p);
	assert_null(find(n, KR_EL_PERSIST, 1)); /* one store */
	assert_int_equal(p->u.persist.epoch, 1);
	assert_int_equal(p->u.persist.voted_id, 1);
	assert_true(index_of(n, p) < index_of(n, find_send(n, KR_API_VOTE_RESP, 1)));
	assert_int_equal(n->e.persisted.voted_id, 1);

	p = follow_with_one_store(n, 1, 1);
	assert_int_equal(p->u.persist.voted_id, 1);
	assert_true(index_of(n, find_cmd(n, KR_CMD_FOLLOWER)) < index_of(n, p));
	free(n);
}

/* A node that learns a leader of a newer epoch (it voted in none) stores the epoch before
 * its dataplane hears of it: only the leader's id of a durable epoch may wait. */
static void
a_follower_of_a_newer_epoch_stores_it_before_fetching(void **state)
{
	struct node *n = start(3, 3);

	(void)state;
	const struct kr_el_action *p = follow_with_one_store(n, 1, 4);

	assert_true(index_of(n, p) < index_of(n, find_cmd(n, KR_CMD_FOLLOWER)));
	free(n);
}

/* A candidate that loses to a known leader stores the winner's id before its dataplane
 * fetches from it: were it to crash before that store, its restart would find its own
 * vote and no winner and carry the candidacy on, under whatever set it had fetched from
 * the winner meanwhile (restart rules). */
static void
a_candidate_that_lost_stores_the_winner_before_fetching(void **state)
{
	struct node *n = start(2, 3);

	(void)state;
	run_until_role_changes(n, 10 * T_ELECTION);
	ack_fence(n, 0, 0);
	vote_resp(n, 1, true, true);
	assert_int_equal(n->e.role, KR_ROLE_CANDIDATE);
	assert_int_equal(n->e.persisted.voted_id, 2);
	const struct kr_el_action *p = follow_with_one_store(n, 3, 1);

	assert_int_equal(p->u.persist.voted_id, 2);
	assert_true(index_of(n, p) < index_of(n, find_cmd(n, KR_CMD_FOLLOWER)));
	free(n);
}

static void
follower_with_a_known_leader_rejects_a_vote_in_the_same_epoch(void **state)
{
	struct node *n = follower_of(2, 1, 3);

	(void)state;
	vote_req(n, 3, 3, 2, 100, false);
	assert_false(vote_answer(n)->granted);
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	assert_null(find_cmd(n, KR_CMD_FENCE)); /* a refusal needs no fence */
	free(n);
}

static void
invalid_stale_and_misaddressed_votes_get_their_errors(void **state)
{
	struct node *n = follower_of(2, 1, 3);
	struct kr_msg m = {.api = KR_API_VOTE};

	(void)state;
	vote_req(n, 3, 4, 4, 10, false); /* a standard vote's last epoch must be below it */
	assert_int_equal(vote_answer(n)->error, KR_ERR_INVALID_REQUEST);
	vote_req(n, 3, 4, 5, 10, true); /* a pre-vote's may equal it, not exceed it */
	assert_int_equal(vote_answer(n)->error, KR_ERR_INVALID_REQUEST);
	vote_req(n, 3, 2, 1, 10, false);
	assert_int_equal(vote_answer(n)->error, KR_ERR_FENCED_LEADER_EPOCH);
	assert_int_equal(vote_answer(n)->epoch, 3);
	m.u.vote = (struct kr_vote_req){.epoch = 4, .last_epoch = 3, .voter_id = 1};
	deliver(n, 3, 777, &m);
	assert_int_equal(vote_answer(n)->error, KR_ERR_INVALID_VOTER_KEY);
	assert_int_equal(n->e.epoch, 3); /* none of them moved the node */
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	free(n);
}

static void
leader_and_candidate_reject_votes_in_their_epoch_and_non_voters_get_no_error(void **state)
{
	struct node *l = leader_of_three(), *c = start(1, 3);

	(void)state;
	vote_req(l, 2, 1, 0, 100, false);
	assert_false(vote_answer(l)->granted);
	vote_req(l, 2, 1, 0, 100, true);
	assert_false(vote_answer(l)->granted);
	run_until_role_changes(c, 10 * T_ELECTION);
	ack_fence(c, 0, 200);
	vote_resp(c, 2, true, true);
	assert_int_equal(c->e.role, KR_ROLE_CANDIDATE);
	vote_req(c, 3, 1, 0, 300, false);
	assert_false(vote_answer(c)->granted);
	/* a node it knows nothing of: no voter, as ever */
	vote_req(c, 9, 5, 0, 300, false);
	assert_int_equal(vote_refusal(c), KR_REFUSAL_NOT_A_VOTER);
	assert_int_equal(c->e.epoch, 1);
	c->e.cfg.known[c->e.cfg.n_known++] = 9; /* a bootstrap node, outside the set */
	/* a candidate outside the voter set with an older log (a node removed by a change
	 * it missed): answered, not granted, no error, and it raises no epoch */
	vote_req(c, 9, 5, 0, 100, false);
	assert_int_equal(vote_answer(c)->error, KR_ERR_NONE);
	assert_false(vote_answer(c)->granted);
	assert_int_equal(c->e.epoch, 1);
	/* one whose log is at least as up to date (its log holds a newer set, or its own
	 * removal that reached no one else): its set decides, and this node votes for it */
	vote_req(c, 9, 5, 0, 300, false);
	assert_true(vote_answer(c)->granted);
	assert_int_equal(c->e.epoch, 5);
	assert_int_equal(c->e.voted_id, 9);
	free(l);
	free(c);
}

static void
voter_follower_times_out_to_prospective_but_an_observer_never_runs(void **state)
{
	struct node *v = follower_of(2, 1, 3), *o = start(9, 3);

	(void)state;
	advance(v, T_FETCH - 1);
	assert_int_equal(v->e.role, KR_ROLE_FOLLOWER);
	advance(v, 1);
	assert_int_equal(v->e.role, KR_ROLE_PROSPECTIVE);

	event(o, KR_EV_EPOCH_SEEN, 1, 3, 0);
	assert_int_equal(o->e.role, KR_ROLE_FOLLOWER);
	for (int i = 0; i < 50; i++)
		advance(o, T_FETCH);
	assert_true(o->e.role == KR_ROLE_UNATTACHED || o->e.role == KR_ROLE_FOLLOWER);
	assert_int_equal(o->e.stats.elections, 0);
	assert_int_equal(o->e.stats.transitions[KR_ROLE_PROSPECTIVE], 0);
	assert_non_null(find_cmd(o, KR_CMD_UNATTACHED)); /* it looks for the leader again */
	free(v);
	free(o);
}

static void
vote_answers_to_an_old_round_are_ignored_after_becoming_follower(void **state)
{
	struct node *n = start(1, 3);

	(void)state;
	run_until_role_changes(n, 10 * T_ELECTION);
	ack_fence(n, 0, 0);
	uint32_t old = n->e.cand.vote_corr[1];

	begin_epoch(n, 2, 0); /* a leader in this epoch: follow it */
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	struct kr_msg m = {.api = KR_API_VOTE_RESP};

	m.u.vote_resp.granted = true;
	m.u.vote_resp.pre_vote = true;
	deliver(n, 3, old, &m);
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	assert_int_equal(n->e.stats.ignored[KR_EL_IGNORE_STALE_RESPONSE], 1);
	free(n);
}

static void
pre_votes_follow_kafkas_table(void **state)
{
	struct node *f = follower_of(2, 1, 3), *l = leader_of_three(), *r;

	(void)state;
	/* a follower grants a pre-vote only before its first good fetch */
	vote_req(f, 3, 3, 3, 50, true);
	ack_fence(f, 3, 50);
	assert_true(vote_answer(f)->granted);
	assert_int_equal(f->e.role, KR_ROLE_FOLLOWER); /* pre-votes change no state */
	assert_non_null(find_cmd(f, KR_CMD_FOLLOWER)); /* and the fetching resumes */
	assert_int_equal(vote_refusal(f), KR_REFUSAL_NONE);
	event(f, KR_EV_LEADER_FETCHED, 1, 3, 0);
	clear(f);
	vote_req(f, 3, 3, 3, 50, true);
	assert_false(vote_answer(f)->granted);
	assert_int_equal(vote_refusal(f), KR_REFUSAL_ROLE);
	/* the leader never grants */
	vote_req(l, 2, 1, 0, 99, true);
	assert_false(vote_answer(l)->granted);
	assert_int_equal(vote_refusal(l), KR_REFUSAL_ROLE);
	/* resigned grants a pre-vote to an up-to-date log, not to a stale one */
	r = start_full(1, 3, qs_of(4, 1, 1), 4, false);
	ack_fence(r, 4, 10);
	vote_req(r, 2, 4, 4, 10, true);
	assert_true(vote_answer(r)->granted);
	vote_req(r, 2, 4, 4, 9, true);
	assert_false(vote_answer(r)->granted);
	assert_int_equal(vote_refusal(r), KR_REFUSAL_LOG_BEHIND);
	vote_req(r, 2, 4, 3, 99, true); /* epoch first, then offset */
	assert_false(vote_answer(r)->granted);
	assert_null(find(r, KR_EL_PERSIST, 0));
	free(f);
	free(l);
	free(r);
}

static void
prospective_that_loses_follows_the_leader_it_knew_or_goes_unattached(void **state)
{
	struct node *a = follower_of(2, 1, 3), *b = start(2, 3);

	(void)state;
	advance(a, T_FETCH);
	assert_int_equal(a->e.role, KR_ROLE_PROSPECTIVE);
	ack_fence(a, 3, 0);
	vote_resp(a, 1, false, true);
	vote_resp(a, 3, false, true);
	assert_int_equal(a->e.role, KR_ROLE_FOLLOWER);
	assert_int_equal(a->e.leader_id, 1);

	run_until_role_changes(b, 10 * T_ELECTION);
	assert_int_equal(b->e.role, KR_ROLE_PROSPECTIVE);
	ack_fence(b, 0, 0);
	vote_resp(b, 1, false, true);
	vote_resp(b, 3, false, true);
	assert_int_equal(b->e.role, KR_ROLE_UNATTACHED);
	free(a);
	free(b);
}

/* Two followers whose leader died together: each grants the other's pre-vote, and only
 * the better one (a longer log; as long, the lower id) stands: no split vote. */
static void
of_two_prospectives_only_the_better_one_stands(void **state)
{
	struct node *a = follower_of(2, 1, 3), *b = follower_of(3, 1, 3), *c;

	(void)state;
	advance(a, T_FETCH);
	advance(b, T_FETCH);
	assert_int_equal(a->e.role, KR_ROLE_PROSPECTIVE);
	assert_int_equal(b->e.role, KR_ROLE_PROSPECTIVE);
	ack_fence(a, 3, 50);
	ack_fence(b, 3, 50);
	vote_req(a, 3, 3, 3, 50, true); /* b asks a: granted, a does not defer to a higher id */
	assert_true(vote_answer(a)->granted);
	vote_req(b, 2, 3, 3, 50, true); /* a asks b: granted, and b defers */
	assert_true(vote_answer(b)->granted);
	vote_resp(a, 3, true, true);
	assert_int_equal(a->e.role, KR_ROLE_CANDIDATE);
	vote_resp(b, 2, true, true);
	assert_int_equal(b->e.role, KR_ROLE_PROSPECTIVE); /* it won its pre-votes too */
	/* a's vote for epoch 4 reaches b, which grants it */
	clear(b);
	vote_req(b, 2, 4, 3, 50, false);
	if (b->e.dp == KR_DP_FENCING) /* a fence for the new epoch, if one was needed */
		ack_fence(b, 3, 50);
	assert_true(vote_answer(b)->granted);
	assert_int_equal(b->e.voted_id, 2);
	/* a longer log wins over a lower id; the next round forgets the deference */
	c = follower_of(2, 1, 3);
	advance(c, T_FETCH);
	ack_fence(c, 3, 50);
	vote_req(c, 3, 3, 3, 60, true);
	assert_true(vote_answer(c)->granted);
	vote_resp(c, 3, true, true);
	assert_int_equal(c->e.role, KR_ROLE_PROSPECTIVE);
	run_until_role_changes(c, 10 * T_ELECTION); /* the round ends unwon */
	assert_int_not_equal(c->e.role, KR_ROLE_CANDIDATE);
	run_until_role_changes(c, 10 * T_FETCH); /* and the next one starts afresh */
	assert_int_equal(c->e.role, KR_ROLE_PROSPECTIVE);
	assert_false(c->e.cand.deferred);
	free(a);
	free(b);
	free(c);
}

/* A prospective round that ends with the leader still alive (a majority refused: back to
 * following it) does not use up the deference of the epoch: at the real failover later
 * in the same epoch the worse of two prospectives defers again. (Seen on the cluster: a
 * follower that timed out spuriously under load, granting and deferring to the other
 * follower's held pre-vote, then split the vote with it when the leader died.) */
static void
a_round_that_found_the_leader_alive_leaves_the_next_one_free_to_defer(void **state)
{
	struct node *b = follower_of(3, 1, 3);

	(void)state;
	advance(b, T_FETCH); /* a spurious timeout: the leader lives */
	assert_int_equal(b->e.role, KR_ROLE_PROSPECTIVE);
	ack_fence(b, 3, 50);
	vote_req(b, 2, 3, 3, 50, true); /* node 2 too: as long, a lower id: b defers */
	assert_true(vote_answer(b)->granted);
	assert_true(b->e.cand.deferred);
	vote_resp(b, 1, false, true); /* the leader refuses, and node 2 (following it) */
	vote_resp(b, 2, false, true);
	assert_int_equal(b->e.role, KR_ROLE_FOLLOWER);
	assert_int_equal(b->e.epoch, 3);
	/* the leader dies; both followers time out together, in the same epoch */
	clear(b);
	advance(b, T_FETCH);
	assert_int_equal(b->e.role, KR_ROLE_PROSPECTIVE);
	ack_fence(b, 3, 60);
	vote_req(b, 2, 3, 3, 60, true);
	assert_true(vote_answer(b)->granted);
	assert_true(b->e.cand.deferred); /* deferring again */
	vote_resp(b, 2, true, true);	 /* its own pre-votes win: it still does not stand */
	assert_int_equal(b->e.role, KR_ROLE_PROSPECTIVE);
	free(b);
}

/* Two followers whose leader died time out a fraction of a millisecond apart: the first's
 * pre-vote reaches the second while it still follows, and is refused. Once the second
 * stops following it answers that request again, as it answers now: a grant if the
 * first's log is at least its own (and it defers to it), which the first counts in place
 * of the refusal and wins the round with; a refusal otherwise. */
static void
a_pre_vote_refused_while_following_is_answered_again_once_the_voter_stops_following(void **state)
{
	struct node *a = follower_of(2, 1, 3), *b = follower_of(3, 1, 3), *c;

	(void)state;
	event(b, KR_EV_LEADER_FETCHED, 1, 3, 0); /* b has fetched: it follows a live leader */
	advance(a, T_FETCH - 1);
	advance(a, 1);
	assert_int_equal(a->e.role, KR_ROLE_PROSPECTIVE);
	ack_fence(a, 3, 60);
	assert_non_null(find_send(a, KR_API_VOTE, 3));
	clear(b);
	vote_req(b, 2, 3, 3, 60, true); /* a asks b: refused, b still follows */
	assert_false(vote_answer(b)->granted);
	assert_int_equal(vote_refusal(b), KR_REFUSAL_ROLE);
	vote_resp(a, 3, false, true);
	assert_int_equal(a->e.role, KR_ROLE_PROSPECTIVE); /* the old leader may still answer */
	/* b times out too; its log (3, 50) is behind a's (3, 60) */
	clear(b);
	advance(b, T_FETCH);
	assert_int_equal(b->e.role, KR_ROLE_PROSPECTIVE);
	assert_null(find_send(b, KR_API_VOTE_RESP, 2)); /* not before the fence */
	ack_fence(b, 3, 50);
	assert_true(vote_answer(b)->granted); /* the same request (correlation 777), granted */
	assert_true(b->e.cand.deferred);
	assert_false(b->e.prevote_refused[1].held);
	/* a counts the grant in place of the refusal and wins its pre-votes */
	vote_resp(a, 3, true, true);
	assert_int_equal(a->e.role, KR_ROLE_CANDIDATE);
	assert_int_equal(a->e.epoch, 4);
	/* a real vote's refusal is never replaced */
	vote_resp(a, 3, false, false);
	vote_resp(a, 3, true, false);
	assert_int_equal(a->e.role, KR_ROLE_CANDIDATE);

	/* a voter whose log is ahead refuses again when it stops following */
	c = follower_of(3, 1, 3);
	event(c, KR_EV_LEADER_FETCHED, 1, 3, 0);
	vote_req(c, 2, 3, 3, 60, true);
	assert_int_equal(vote_refusal(c), KR_REFUSAL_ROLE);
	clear(c);
	advance(c, T_FETCH);
	ack_fence(c, 3, 70);
	assert_false(vote_answer(c)->granted);
	assert_int_equal(vote_refusal(c), KR_REFUSAL_LOG_BEHIND);
	free(a);
	free(b);
	free(c);
}

static void
prospective_hearing_begin_epoch_follows(void **state)
{
	struct node *a = follower_of(2, 1, 3);

	(void)state;
	advance(a, T_FETCH);
	assert_int_equal(a->e.role, KR_ROLE_PROSPECTIVE);
	begin_epoch(a, 1, 3);
	assert_int_equal(a->e.role, KR_ROLE_FOLLOWER);
	free(a);
}

/* The fence rule. */
static void
vote_is_never_granted_before_the_fence_acknowledgement(void **state)
{
	struct node *n = start(2, 3);

	(void)state;
	clear(n);
	vote_req(n, 1, 1, 0, 0, false);
	assert_null(find_send(n, KR_API_VOTE_RESP, 1));
	assert_null(find(n, KR_EL_PERSIST, 1)); /* the epoch, not a vote */
	assert_int_equal(n->e.voted_id, KR_NODE_NONE);
	/* an acknowledgement of an older fence does not count */
	struct kr_event stale = {.type = KR_EV_FENCE_ACK, .seq = n->e.fence_seq - 1};

	kr_election_on_event(&n->e, &stale, n->now, &n->out);
	assert_null(find_send(n, KR_API_VOTE_RESP, 1));
	assert_int_equal(n->e.stats.ignored[KR_EL_IGNORE_STALE_FENCE_ACK], 1);
	ack_fence(n, 0, 0);
	assert_true(vote_answer(n)->granted);
	/* the vote was persisted before the answer */
	const struct kr_el_action *p = NULL;

	for (int i = 0; (p = find(n, KR_EL_PERSIST, i)) != NULL; i++)
		if (p->u.persist.voted_id == 1)
			break;
	assert_non_null(p);
	assert_true(index_of(n, p) < index_of(n, find_send(n, KR_API_VOTE_RESP, 1)));
	free(n);
}

static void
candidacy_waits_for_the_fence_and_uses_the_acknowledged_log_position(void **state)
{
	struct node *n = follower_of(2, 1, 3);

	(void)state;
	advance(n, T_FETCH);
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE);
	assert_non_null(find_cmd(n, KR_CMD_FENCE));
	assert_int_equal(count_sends(n, KR_API_VOTE), 0);
	ack_fence(n, 3, 77);
	assert_int_equal(count_sends(n, KR_API_VOTE), 2);
	assert_int_equal(find_send(n, KR_API_VOTE, 1)->u.send.msg.u.vote.last_offset, 77);
	assert_true(find_send(n, KR_API_VOTE, 1)->u.send.msg.u.vote.pre_vote);
	free(n);
}

static void
a_vote_is_granted_once_per_epoch(void **state)
{
	struct node *n = start(2, 3);

	(void)state;
	vote_req(n, 1, 1, 0, 0, false);
	ack_fence(n, 0, 0);
	assert_true(vote_answer(n)->granted);
	clear(n);
	vote_req(n, 3, 1, 0, 500, false); /* a better log, same epoch, another candidate */
	assert_false(vote_answer(n)->granted);
	clear(n);
	vote_req(n, 1, 1, 0, 0, false); /* the same candidate asking again */
	assert_true(vote_answer(n)->granted);
	assert_null(find(n, KR_EL_PERSIST, 0));
	free(n);
}

static void
amnesiac_node_neither_votes_nor_runs_until_caught_up_with_a_leader(void **state)
{
	struct node *n = start_full(2, 3, qs_of(5, KR_NODE_NONE, KR_NODE_NONE), 0, true);

	(void)state;
	for (int i = 0; i < 10; i++)
		advance(n, T_ELECTION);
	assert_int_equal(n->e.stats.elections, 0);
	assert_int_equal(n->e.stats.transitions[KR_ROLE_PROSPECTIVE], 0);
	vote_req(n, 1, 6, 5, 100, true);
	if (n->e.dp == KR_DP_FENCING)
		ack_fence(n, 0, 0);
	assert_false(vote_answer(n)->granted);
	event(n, KR_EV_CAUGHT_UP, 3, 4, 40); /* an epoch before its own is not enough */
	assert_true(n->e.vote_blocked);
	begin_epoch(n, 3, 5);
	clear(n);
	event(n, KR_EV_CAUGHT_UP, 3, 5, 40); /* caught up with the leader of its epoch */
	assert_false(n->e.vote_blocked);
	assert_non_null(find(n, KR_EL_VOTE_UNBLOCKED, 0)); /* the repair marker may go */
	clear(n);
	vote_req(n, 1, 6, 5, 100, false);
	if (n->e.dp == KR_DP_FENCING)
		ack_fence(n, 5, 40);
	assert_true(vote_answer(n)->granted);
	free(n);
}

/* A node without the state to lead with (its snapshot at the log start damaged) votes,
 * but stands for no election until it installed the leader's snapshot, or until no
 * leader was heard of for KR_STAND_PATIENCE election timeouts. */
static void
a_node_without_state_votes_but_never_stands_until_restored(void **state)
{
	struct node *n = calloc(1, sizeof(*n));
	struct kr_election_config c = config(2, 3);
	struct kr_election_start st = {.qs = qs_of(5, KR_NODE_NONE, 2),
				       .log_last_epoch = 5,
				       .stand_blocked = true,
				       .rng_seed = 44};

	(void)state;
	n->now = 1000000;
	/* it was a candidate of epoch 5 before the restart: it does not carry on as one */
	assert_int_equal(kr_election_init(&n->e, &c, &st, n->now, &n->out), 0);
	assert_int_not_equal(n->e.role, KR_ROLE_CANDIDATE);
	for (int i = 0; i < KR_STAND_PATIENCE - 2; i++)
		advance(n, T_ELECTION);
	assert_int_equal(n->e.stats.transitions[KR_ROLE_PROSPECTIVE], 0);
	assert_int_equal(n->e.stats.transitions[KR_ROLE_CANDIDATE], 0);
	/* it still grants a vote to a candidate whose log is as good as its own */
	clear(n);
	vote_req(n, 1, 6, 5, 100, false);
	if (n->e.dp == KR_DP_FENCING)
		ack_fence(n, 5, 40);
	assert_true(vote_answer(n)->granted);
	/* it follows a leader (its patience starts again), installs its snapshot, and the
	 * leader goes quiet: the fetch timeout, long before the patience, starts a pre-vote */
	begin_epoch(n, 1, 6);
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	event(n, KR_EV_STATE_RESTORED, 1, 6, 40);
	assert_false(n->e.stand_blocked);
	for (int i = 0; i < 8 && n->e.stats.transitions[KR_ROLE_PROSPECTIVE] == 0; i++)
		advance(n, T_FETCH / 2);
	assert_true(n->e.stats.transitions[KR_ROLE_PROSPECTIVE] > 0);
	free(n);

	/* no leader heard of for KR_STAND_PATIENCE election timeouts: it may hold the only
	 * up-to-date log, and stands */
	n = calloc(1, sizeof(*n));
	n->now = 1000000;
	assert_int_equal(kr_election_init(&n->e, &c, &st, n->now, &n->out), 0);
	for (int i = 0;
	     i < KR_STAND_PATIENCE + 3 && n->e.stats.transitions[KR_ROLE_PROSPECTIVE] == 0; i++)
		advance(n, T_ELECTION);
	assert_true(n->e.stats.transitions[KR_ROLE_PROSPECTIVE] > 0);
	assert_true(n->now - 1000000 >= (int64_t)KR_STAND_PATIENCE * T_ELECTION);
	free(n);
}

/* ---- voters are (node id, directory id) (KIP-853) ---- */

/* Node self of three voters whose directory ids are bytes 1, 2, 3; this directory's id
 * is byte own (self: its voter's; anything else: a re-formatted directory). */
static struct node *
start_keyed(int32_t self, uint8_t own, bool first_start)
{
	struct node *n = calloc(1, sizeof(*n));
	struct kr_election_config c = config(self, 3);
	struct kr_election_start st = {.qs = qs_of(0, KR_NODE_NONE, KR_NODE_NONE),
				       .first_start = first_start,
				       .rng_seed = 7};

	for (int i = 0; i < 3; i++)
		memset(c.voter_dirs[i], i + 1, KR_UUID_BYTES);
	memset(c.directory_id, own, KR_UUID_BYTES);
	memset(st.rejoin_dir, 0xee, KR_UUID_BYTES);
	n->now = 1000000;
	assert_int_equal(kr_election_init(&n->e, &c, &st, n->now, &n->out), 0);
	return n;
}

/* A Vote from voter `from` with both directory ids as the candidate knows them. */
static void
keyed_vote_req(struct node *n, int32_t from, uint8_t from_dir, uint8_t to_dir, uint32_t epoch,
	       uint64_t leo, bool pre)
{
	struct kr_msg m = {.api = KR_API_VOTE};

	m.u.vote.epoch = epoch;
	m.u.vote.last_epoch = leo ? epoch - 1 : 0;
	m.u.vote.last_offset = leo;
	m.u.vote.voter_id = n->e.cfg.node_id;
	m.u.vote.pre_vote = pre;
	memset(m.u.vote.candidate_dir, from_dir, KR_UUID_BYTES);
	memset(m.u.vote.voter_dir, to_dir, KR_UUID_BYTES);
	deliver(n, from, 777, &m);
}

static void
vote_for_another_directory_is_refused_with_invalid_voter_key(void **state)
{
	struct node *n = start_keyed(2, 2, false);

	(void)state;
	assert_true(kr_election_is_voter(&n->e));
	/* meant for voter (2, directory 9): not this one */
	keyed_vote_req(n, 1, 1, 9, 1, 0, false);
	assert_int_equal(vote_answer(n)->error, KR_ERR_INVALID_VOTER_KEY);
	assert_false(vote_answer(n)->granted);
	assert_null(find(n, KR_EL_PERSIST, 0)); /* no vote, no epoch taken */
	assert_int_equal(n->e.epoch, 0);
	clear(n);
	/* from node 1 with a directory that is not voter 1's: a candidate outside the set
	 * (voter 1 is another directory), with a log older than this node's: refused, and
	 * no epoch taken */
	if (n->e.dp == KR_DP_FENCING)
		ack_fence(n, 0, 5);
	keyed_vote_req(n, 1, 8, 2, 1, 0, false);
	assert_false(vote_answer(n)->granted);
	assert_int_equal(vote_refusal(n), KR_REFUSAL_LOG_BEHIND);
	assert_int_equal(n->e.epoch, 0);
	clear(n);
	/* the right keys: granted (the fence is acknowledged) */
	keyed_vote_req(n, 1, 1, 2, 1, 10, false);
	if (n->e.dp == KR_DP_FENCING)
		ack_fence(n, 0, 5);
	assert_true(vote_answer(n)->granted);
	assert_int_equal(n->e.voted_id, 1);
	free(n);
}

static void
reformatted_directory_of_a_voter_is_an_observer_that_never_votes(void **state)
{
	struct node *n = start_keyed(2, 0x42, false);

	(void)state;
	assert_false(kr_election_is_voter(&n->e));
	assert_non_null(find_cmd(n, KR_CMD_UNATTACHED)); /* replicates as an observer */
	run_until_role_changes(n, 20 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_UNATTACHED); /* never stands for election */
	assert_int_equal(count_sends(n, KR_API_VOTE), 0);
	clear(n);
	/* a candidate addresses voter 2 with its old directory: INVALID_VOTER_KEY */
	keyed_vote_req(n, 1, 1, 2, 5, 10, false);
	assert_int_equal(vote_answer(n)->error, KR_ERR_INVALID_VOTER_KEY);
	assert_false(vote_answer(n)->granted);
	assert_null(find(n, KR_EL_PERSIST, 0));
	free(n);
}

static void
begin_epoch_for_another_directory_changes_nothing(void **state)
{
	struct node *n = start_keyed(2, 0x42, false);
	struct kr_msg m = {.api = KR_API_BEGIN_EPOCH};

	(void)state;
	clear(n);
	m.u.begin_epoch.epoch = 4;
	m.u.begin_epoch.leader_id = 1;
	memset(m.u.begin_epoch.voter_dir, 2, KR_UUID_BYTES); /* voter 2's old directory */
	deliver(n, 1, 555, &m);
	assert_non_null(find_send(n, KR_API_BEGIN_EPOCH_RESP, 1));
	assert_int_equal(find_send(n, KR_API_BEGIN_EPOCH_RESP, 1)->u.send.msg.u.epoch_resp.error,
			 KR_ERR_INVALID_VOTER_KEY);
	assert_int_equal(n->e.epoch, 0);
	assert_null(find(n, KR_EL_PERSIST, 0));
	free(n);
}

static void
leader_addresses_every_voter_by_its_directory(void **state)
{
	struct node *n = start_keyed(1, 1, false);

	(void)state;
	run_until_role_changes(n, 10 * T_ELECTION);
	ack_fence(n, 0, 0);
	for (int32_t v = 2; v <= 3; v++) {
		const struct kr_el_action *a = find_send(n, KR_API_VOTE, v);

		assert_non_null(a);
		assert_int_equal(a->u.send.msg.u.vote.voter_dir[0], v);
		assert_int_equal(a->u.send.msg.u.vote.candidate_dir[0], 1);
	}
	vote_resp(n, 2, true, true);
	clear(n);
	vote_resp(n, 2, true, false);
	assert_int_equal(n->e.role, KR_ROLE_LEADER);
	assert_int_equal(find_send(n, KR_API_BEGIN_EPOCH, 3)->u.send.msg.u.begin_epoch.voter_dir[0],
			 3);
	free(n);
}

static void
first_start_rejoins_when_a_voter_shows_history(void **state)
{
	const struct kr_el_action *rj, *id, *tr;
	struct node *n;

	(void)state;
	/* a BeginQuorumEpoch of epoch 3: the cluster ran before this directory */
	n = start_keyed(2, 2, true);
	clear(n);
	{
		struct kr_msg m = {.api = KR_API_BEGIN_EPOCH};

		m.u.begin_epoch.epoch = 3;
		m.u.begin_epoch.leader_id = 1;
		memset(m.u.begin_epoch.voter_dir, 2, KR_UUID_BYTES);
		deliver(n, 1, 555, &m);
	}
	rj = find(n, KR_EL_REJOIN, 0);
	id = find_cmd(n, KR_CMD_IDENTITY);
	tr = find(n, KR_EL_TRANSITION, 0);
	assert_non_null(rj);
	assert_int_equal(rj->u.rejoin.dir[0], 0xee);
	assert_int_equal(rj->u.rejoin.node, 1);
	assert_int_equal(rj->u.rejoin.epoch, 3);
	/* durable first, then the dataplane learns it, then anything else */
	assert_non_null(id);
	assert_true(index_of(n, rj) < index_of(n, id));
	assert_true(index_of(n, rj) < index_of(n, tr));
	assert_false(kr_election_is_voter(&n->e));
	assert_int_equal(n->e.cfg.directory_id[0], 0xee);
	/* the BeginQuorumEpoch was for its old directory: refused; it follows as an observer
	 * once it finds the leader by fetching */
	assert_int_equal(find_send(n, KR_API_BEGIN_EPOCH_RESP, 1)->u.send.msg.u.epoch_resp.error,
			 KR_ERR_INVALID_VOTER_KEY);
	free(n);

	/* a pre-vote from a voter whose log holds records */
	n = start_keyed(2, 2, true);
	clear(n);
	keyed_vote_req(n, 3, 3, 2, 0, 5, true);
	assert_non_null(find(n, KR_EL_REJOIN, 0));
	assert_false(vote_answer(n)->granted);
	free(n);

	/* a Vote at epoch 2 (the first election was lost or won already) */
	n = start_keyed(2, 2, true);
	clear(n);
	keyed_vote_req(n, 3, 3, 2, 2, 0, false);
	assert_non_null(find(n, KR_EL_REJOIN, 0));
	assert_false(vote_answer(n)->granted);
	free(n);
}

static void
first_start_takes_part_in_the_first_election_and_then_stops_checking(void **state)
{
	struct node *n = start_keyed(2, 2, true);

	(void)state;
	clear(n);
	/* the first election: a pre-vote at epoch 0, a Vote at epoch 1, both from an empty log */
	keyed_vote_req(n, 1, 1, 2, 0, 0, true);
	ack_fence(n, 0, 0);
	assert_true(vote_answer(n)->granted);
	clear(n);
	keyed_vote_req(n, 1, 1, 2, 1, 0, false);
	assert_true(vote_answer(n)->granted);
	assert_null(find(n, KR_EL_REJOIN, 0));
	assert_int_equal(n->e.epoch, 1);
	/* the leader it elected announces itself: its first start is over, no rejoin */
	clear(n);
	begin_epoch(n, 1, 1);
	assert_null(find(n, KR_EL_REJOIN, 0));
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	begin_epoch(n, 3, 4);
	assert_null(find(n, KR_EL_REJOIN, 0));
	assert_true(kr_election_is_voter(&n->e));
	free(n);
}

static void
a_directory_past_its_first_start_never_rejoins(void **state)
{
	struct node *n = start_keyed(2, 2, false);

	(void)state;
	clear(n);
	begin_epoch(n, 1, 7);
	assert_null(find(n, KR_EL_REJOIN, 0));
	assert_null(find_cmd(n, KR_CMD_IDENTITY));
	assert_true(kr_election_is_voter(&n->e));
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	free(n);
}

static void
first_election_waits_for_every_initial_voter_until_the_bootstrap_wait_ends(void **state)
{
	struct node *n = calloc(1, sizeof(*n));
	struct kr_election_config c = config(1, 3);
	struct kr_election_start st = {
		.qs = qs_of(0, KR_NODE_NONE, KR_NODE_NONE), .first_start = true, .rng_seed = 9};

	(void)state;
	for (int i = 0; i < 3; i++)
		memset(c.voter_dirs[i], i + 1, KR_UUID_BYTES);
	c.bootstrap_wait_us = 10 * T_ELECTION;
	n->now = 1000000;
	assert_int_equal(kr_election_init(&n->e, &c, &st, n->now, &n->out), 0);
	run_until_role_changes(n, 10 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE);
	ack_fence(n, 0, 0);
	vote_resp(n, 2, true, true);
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE); /* a majority, not every voter */
	vote_resp(n, 3, true, true);
	assert_int_equal(n->e.role, KR_ROLE_CANDIDATE);
	free(n);

	/* after the wait, a majority is enough (a dead initial voter does not stop it) */
	n = calloc(1, sizeof(*n));
	n->now = 1000000;
	assert_int_equal(kr_election_init(&n->e, &c, &st, n->now, &n->out), 0);
	while (n->e.role != KR_ROLE_PROSPECTIVE || n->now < 1000000 + c.bootstrap_wait_us)
		tick_to(n, kr_election_next_deadline(&n->e)); /* rounds that wait, time out */
	if (n->e.dp == KR_DP_FENCING)
		ack_fence(n, 0, 0);
	vote_resp(n, 2, true, true);
	assert_int_equal(n->e.role, KR_ROLE_CANDIDATE);
	free(n);
}

/* ---- the voter set in force (dynamic clusters) ---- */

/* The dataplane says the set in force is the ids given (ids end at -1); voter k's
 * directory id is bytes k, as node k's own. */
static uint8_t voters_left_pending; /* what the next voters_event says of its removal */

static void
voters_event(struct node *n, int32_t first, ...)
{
	static uint32_t seq;
	struct kr_event ev = {.type = KR_EV_VOTERS,
			      .seq = ++seq,
			      .offset = 7,
			      .left_pending = voters_left_pending};
	struct kr_voter_set s;
	va_list ap;
	int len;

	memset(&s, 0, sizeof(s));
	va_start(ap, first);
	for (int32_t id = first; id >= 0; id = va_arg(ap, int32_t)) {
		s.v[s.n].id = id;
		memset(s.v[s.n].dir, id, KR_UUID_BYTES);
		s.v[s.n].ep = (struct kr_endpoint){.ip = 0x0a000000u + (uint32_t)id, .port = 9093};
		s.n++;
	}
	va_end(ap);
	len = kr_voters_record_encode(&s, ev.frame, sizeof(ev.frame));
	assert_true(len > 0);
	ev.frame_len = (uint16_t)len;
	kr_election_on_event(&n->e, &ev, n->now, &n->out);
}

static void
a_candidate_that_leaves_the_set_stops_and_looks_for_the_leader(void **state)
{
	struct node *n = start(1, 3);

	(void)state;
	run_until_role_changes(n, 10 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE);
	ack_fence(n, 0, 0);
	clear(n);
	voters_event(n, 2, 3, -1);
	assert_false(kr_election_is_voter(&n->e));
	assert_int_equal(n->e.role, KR_ROLE_UNATTACHED);
	assert_int_equal(find(n, KR_EL_TRANSITION, 0)->u.transition.why, KR_WHY_VOTERS_CHANGED);
	assert_int_equal(find_cmd(n, KR_CMD_UNATTACHED)->u.cmd.type, KR_CMD_UNATTACHED);
	/* an observer now: no election, however long it waits */
	clear(n);
	advance(n, 20 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_UNATTACHED);
	assert_null(find(n, KR_EL_TRANSITION, 0));
	free(n);
}

static void
an_observer_added_to_the_set_gets_a_voters_timers(void **state)
{
	struct node *n = start(4, 3); /* node 4: not among voters 1..3 */

	(void)state;
	assert_false(kr_election_is_voter(&n->e));
	advance(n, 20 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_UNATTACHED);
	voters_event(n, 1, 2, 3, 4, -1);
	assert_true(kr_election_is_voter(&n->e));
	assert_int_equal(n->e.majority, 3);
	clear(n);
	run_until_role_changes(n, 10 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE);
	/* a directory of node 4 that is not the set's is no voter */
	free(n);
	n = start(4, 3);
	n->e.cfg.directory_id[0] ^= 1;
	voters_event(n, 1, 2, 3, 4, -1);
	assert_false(kr_election_is_voter(&n->e));
	free(n);
}

static void
a_leader_keeps_what_it_knows_of_each_voter_across_a_change(void **state)
{
	struct node *n = leader_of_three();

	(void)state;
	advance(n, T_FETCH / 2);
	event(n, KR_EV_REPLICA_FETCHED, 3, 1, 5);
	/* grown to four: node 3 keeps its fetch, node 4 starts as just heard from, and
	 * check-quorum needs three of four */
	voters_event(n, 1, 2, 3, 4, -1);
	assert_int_equal(n->e.cfg.n_voters, 4);
	assert_int_equal(n->e.majority, 3);
	assert_int_equal(n->e.lead.fetch_offset[2], 5);
	assert_int_equal(n->e.lead.last_fetch_us[3], n->now);
	assert_false(n->e.lead.acked[3]); /* BeginQuorumEpoch goes to it at the next resend */
	clear(n);
	advance(n, T_FETCH / 2);
	assert_non_null(find_send(n, KR_API_BEGIN_EPOCH, 4));
	/* nodes 3 and 4 fetched, node 2 never: leader + 3 + 4 hold the quorum */
	event(n, KR_EV_REPLICA_FETCHED, 3, 1, 6);
	event(n, KR_EV_REPLICA_FETCHED, 4, 1, 6);
	advance(n, T_FETCH);
	assert_int_equal(n->e.role, KR_ROLE_LEADER);
	/* the leader removed itself: it leads on, uncounted, until the change commits */
	voters_event(n, 2, 3, 4, -1);
	assert_false(kr_election_is_voter(&n->e));
	assert_int_equal(n->e.role, KR_ROLE_LEADER);
	assert_int_equal(n->e.majority, 2);
	free(n);
}
static void
a_leader_that_left_the_set_resigns_once_that_commits(void **state)
{
	struct node *n = leader_of_three();

	(void)state;
	event(n, KR_EV_LEFT_VOTERS, 1, 1, 9); /* still a voter: not its removal */
	assert_int_equal(n->e.role, KR_ROLE_LEADER);
	voters_event(n, 2, 3, -1);
	assert_int_equal(n->e.role, KR_ROLE_LEADER);
	clear(n);
	event(n, KR_EV_LEFT_VOTERS, 1, 1, 9);
	assert_int_equal(n->e.role, KR_ROLE_RESIGNED);
	assert_int_equal(find(n, KR_EL_TRANSITION, 0)->u.transition.why, KR_WHY_LEFT_VOTERS);
	assert_non_null(find_send(n, KR_API_END_EPOCH, 2));
	assert_non_null(find_send(n, KR_API_END_EPOCH, 3));
	assert_int_equal(find_cmd(n, KR_CMD_UNATTACHED)->u.cmd.type, KR_CMD_UNATTACHED);
	/* it runs no election of its own, and follows the next leader as an observer */
	clear(n);
	advance(n, 20 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_RESIGNED);
	begin_epoch(n, 2, 2);
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	assert_int_equal(n->e.leader_id, 2);
	assert_false(kr_election_is_voter(&n->e));
	free(n);
}

/* Raft's removed leader: a node removed by a change it does not know committed may be
 * the only one holding it, and the others cannot win without its vote (its longer log
 * refuses them). It runs under the new set, its own vote not counted, until it learns
 * the change committed. */
static void
a_node_whose_removal_is_pending_still_runs_without_counting_itself(void **state)
{
	struct node *n = start(1, 3);

	(void)state;
	voters_left_pending = 1;
	voters_event(n, 2, 3, -1);
	voters_left_pending = 0;
	assert_false(kr_election_is_voter(&n->e));
	run_until_role_changes(n, 10 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE);
	clear(n);
	ack_fence(n, 1, 9);
	assert_null(find_send(n, KR_API_VOTE, 1)); /* not to itself */
	assert_non_null(find_send(n, KR_API_VOTE, 2));
	assert_non_null(find_send(n, KR_API_VOTE, 3));
	vote_resp(n, 2, true, true);
	assert_int_equal(n->e.role, KR_ROLE_PROSPECTIVE); /* 1 of {2,3}: its own not counted */
	vote_resp(n, 3, true, true);
	assert_int_equal(n->e.role, KR_ROLE_CANDIDATE);
	/* the change committed, as far as it knows: an observer, no more elections */
	voters_event(n, 2, 3, -1);
	assert_int_equal(n->e.role, KR_ROLE_UNATTACHED);
	clear(n);
	advance(n, 20 * T_ELECTION);
	assert_int_equal(n->e.role, KR_ROLE_UNATTACHED);
	assert_null(find(n, KR_EL_TRANSITION, 0));
	free(n);
}

/* A leader elected as the sole voter has no check-quorum; once its set grows it needs the
 * others' fetches like any leader, or a leader cut off after its set grew would lead on
 * for ever (kraftsim found one still leading epoch 5 while the rest ran epoch 14). */
static void
a_sole_voter_leader_whose_set_grows_gets_check_quorum(void **state)
{
	struct node *n = start(1, 1);

	(void)state;
	for (int i = 0; i < 100 && n->e.role != KR_ROLE_LEADER; i++) {
		if (n->e.dp == KR_DP_FENCING)
			ack_fence(n, 0, 0);
		advance(n, T_ELECTION);
	}
	assert_int_equal(n->e.role, KR_ROLE_LEADER);
	assert_true(n->e.check_quorum_deadline == INT64_MAX); /* never: it is the quorum */
	advance(n, 20 * T_FETCH);
	assert_int_equal(n->e.role, KR_ROLE_LEADER); /* alone: no one to hear from */
	voters_event(n, 1, 2, 3, -1);
	advance(n, 2 * T_FETCH); /* nodes 2 and 3 never fetch */
	assert_int_equal(n->e.role, KR_ROLE_RESIGNED);
	free(n);
}

/* A node added to the set whose own log has not got that record yet is an observer in
 * its own eyes; a candidate whose set names it (its node id and directory) gets its vote
 * on the log, as any voter's (KIP-853), or that candidate might never win. */
static void
an_observer_named_by_a_vote_request_votes_on_its_log(void **state)
{
	struct node *n = start(4, 3); /* node 4, directory 4: no voter of 1..3 */

	(void)state;
	assert_false(kr_election_is_voter(&n->e));
	/* not named with its directory: an observer's answer, nothing changes */
	keyed_vote_req(n, 1, 1, 0, 1, 10, false);
	assert_int_equal(vote_refusal(n), KR_REFUSAL_OBSERVER);
	assert_int_equal(n->e.epoch, 0);
	clear(n);
	/* named (4, directory 4): it fences its dataplane, then grants */
	keyed_vote_req(n, 1, 1, 4, 1, 10, false);
	assert_non_null(find_cmd(n, KR_CMD_FENCE));
	ack_fence(n, 0, 5);
	assert_true(vote_answer(n)->granted);
	assert_int_equal(n->e.voted_id, 1);
	assert_int_equal(n->e.epoch, 1);
	/* and it goes on looking for the leader as an observer */
	assert_false(kr_election_is_voter(&n->e));
	assert_int_equal(find_cmd(n, KR_CMD_UNATTACHED)->u.cmd.type, KR_CMD_UNATTACHED);
	free(n);
}

/* A voter that may not vote until it catches up (its log lost, or damaged) cannot wait
 * for BeginQuorumEpoch: a leader of a set that dropped it never sends one. It looks for
 * the leader by fetching, as an observer does (KAFKA-17030). */
static void
a_voter_that_may_not_vote_looks_for_the_leader(void **state)
{
	struct node *n = start_full(2, 3, qs_of(5, KR_NODE_NONE, KR_NODE_NONE), 5, true);
	const struct kr_el_action *a = find_cmd(n, KR_CMD_UNATTACHED);

	(void)state;
	assert_true(kr_election_is_voter(&n->e));
	assert_non_null(a);
	assert_int_equal(a->u.cmd.seq, 1); /* look, though a voter */
	assert_null(find_cmd(n, KR_CMD_FENCE));
	free(n);
	/* one that may vote waits fenced */
	n = start_full(2, 3, qs_of(5, KR_NODE_NONE, KR_NODE_NONE), 5, false);
	assert_null(find_cmd(n, KR_CMD_UNATTACHED));
	assert_non_null(find_cmd(n, KR_CMD_FENCE));
	free(n);
}

/* A node that voted for itself in an epoch and then followed that epoch's leader comes
 * back a follower, not a candidate: the leader may have shrunk the set to it alone
 * meanwhile, and a candidacy carried on would then win the same epoch again. */
static void
a_candidate_that_lost_to_a_known_leader_restarts_as_its_follower(void **state)
{
	struct node *n = start_full(2, 4, qs_of(2, 4, 2), 2, false);

	(void)state;
	assert_int_equal(n->e.role, KR_ROLE_FOLLOWER);
	assert_int_equal(n->e.leader_id, 4);
	assert_int_equal(n->e.epoch, 2);
	voters_event(n, 2, -1); /* the leader left it the sole voter */
	assert_int_not_equal(n->e.role, KR_ROLE_LEADER);
	assert_int_equal(n->e.epoch, 2);
	free(n);
	/* one that knew no winner carries on as a candidate */
	n = start_full(2, 4, qs_of(2, KR_NODE_NONE, 2), 2, false);
	assert_int_equal(n->e.role, KR_ROLE_CANDIDATE);
	free(n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_candidate_that_lost_to_a_known_leader_restarts_as_its_follower),
		cmocka_unit_test(an_observer_named_by_a_vote_request_votes_on_its_log),
		cmocka_unit_test(a_voter_that_may_not_vote_looks_for_the_leader),
		cmocka_unit_test(a_sole_voter_leader_whose_set_grows_gets_check_quorum),
		cmocka_unit_test(
			a_node_whose_removal_is_pending_still_runs_without_counting_itself),
		cmocka_unit_test(a_candidate_that_leaves_the_set_stops_and_looks_for_the_leader),
		cmocka_unit_test(an_observer_added_to_the_set_gets_a_voters_timers),
		cmocka_unit_test(a_leader_keeps_what_it_knows_of_each_voter_across_a_change),
		cmocka_unit_test(a_leader_that_left_the_set_resigns_once_that_commits),
		cmocka_unit_test(sole_voter_elects_itself_at_start),
		cmocka_unit_test(vote_for_another_directory_is_refused_with_invalid_voter_key),
		cmocka_unit_test(reformatted_directory_of_a_voter_is_an_observer_that_never_votes),
		cmocka_unit_test(begin_epoch_for_another_directory_changes_nothing),
		cmocka_unit_test(leader_addresses_every_voter_by_its_directory),
		cmocka_unit_test(first_start_rejoins_when_a_voter_shows_history),
		cmocka_unit_test(
			first_start_takes_part_in_the_first_election_and_then_stops_checking),
		cmocka_unit_test(a_directory_past_its_first_start_never_rejoins),
		cmocka_unit_test(
			first_election_waits_for_every_initial_voter_until_the_bootstrap_wait_ends),
		cmocka_unit_test(sole_voter_leader_never_resigns_through_check_quorum),
		cmocka_unit_test(node_persisted_as_leader_restarts_resigned_and_sends_end_epoch),
		cmocka_unit_test(ex_leader_never_forgets_it_led_the_epoch),
		cmocka_unit_test(
			ex_leader_refuses_any_vote_in_its_epoch_but_grants_in_a_higher_one),
		cmocka_unit_test(
			node_that_voted_for_itself_restarts_as_candidate_in_the_same_epoch),
		cmocka_unit_test(log_with_a_later_epoch_than_the_file_moves_the_node_to_it),
		cmocka_unit_test(
			leader_resigns_without_fetches_from_a_majority_in_one_and_a_half_fetch_timeouts),
		cmocka_unit_test(
			leader_resends_begin_epoch_until_a_fetch_or_an_answer_acknowledges_it),
		cmocka_unit_test(
			unattached_voter_follows_and_persists_the_leader_named_by_begin_epoch),
		cmocka_unit_test(
			begin_or_end_epoch_from_an_older_epoch_is_fenced_and_changes_nothing),
		cmocka_unit_test(
			first_successor_runs_at_once_and_the_second_after_the_strict_exponential_delay),
		cmocka_unit_test(leader_shutting_down_names_successors_by_fetch_offset),
		cmocka_unit_test(
			leader_shutdown_completes_on_acknowledgements_or_timeout_follower_at_once),
		cmocka_unit_test(
			rejected_candidate_backs_off_keeps_its_vote_then_runs_again_with_more_retries),
		cmocka_unit_test(
			candidate_election_timeout_goes_back_to_prospective_in_the_same_epoch),
		cmocka_unit_test(lost_elections_back_off_for_randomized_growing_times),
		cmocka_unit_test(election_timeouts_are_drawn_from_t_to_2t),
		cmocka_unit_test(
			vote_with_a_higher_epoch_moves_the_node_to_unattached_before_granting),
		cmocka_unit_test(follower_with_a_known_leader_rejects_a_vote_in_the_same_epoch),
		cmocka_unit_test(
			a_voter_stores_a_new_epoch_and_its_vote_once_and_the_leader_after_fetching),
		cmocka_unit_test(a_follower_of_a_newer_epoch_stores_it_before_fetching),
		cmocka_unit_test(a_candidate_that_lost_stores_the_winner_before_fetching),
		cmocka_unit_test(invalid_stale_and_misaddressed_votes_get_their_errors),
		cmocka_unit_test(
			leader_and_candidate_reject_votes_in_their_epoch_and_non_voters_get_no_error),
		cmocka_unit_test(
			voter_follower_times_out_to_prospective_but_an_observer_never_runs),
		cmocka_unit_test(vote_answers_to_an_old_round_are_ignored_after_becoming_follower),
		cmocka_unit_test(pre_votes_follow_kafkas_table),
		cmocka_unit_test(of_two_prospectives_only_the_better_one_stands),
		cmocka_unit_test(
			a_round_that_found_the_leader_alive_leaves_the_next_one_free_to_defer),
		cmocka_unit_test(followers_of_a_resigning_leader_grant_its_successors_pre_votes),
		cmocka_unit_test(
			prospective_that_loses_follows_the_leader_it_knew_or_goes_unattached),
		cmocka_unit_test(
			a_pre_vote_refused_while_following_is_answered_again_once_the_voter_stops_following),
		cmocka_unit_test(prospective_hearing_begin_epoch_follows),
		cmocka_unit_test(vote_is_never_granted_before_the_fence_acknowledgement),
		cmocka_unit_test(
			candidacy_waits_for_the_fence_and_uses_the_acknowledged_log_position),
		cmocka_unit_test(a_vote_is_granted_once_per_epoch),
		cmocka_unit_test(
			amnesiac_node_neither_votes_nor_runs_until_caught_up_with_a_leader),
		cmocka_unit_test(a_node_without_state_votes_but_never_stands_until_restored),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
