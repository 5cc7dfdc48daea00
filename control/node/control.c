/* kraftd: the control thread: the election core over the event and command rings, its
 * timers, the quorum-state file, signals (SIGTERM/SIGINT: a graceful stop; SIGHUP: the
 * keys again), the management listener (mgmt.c) and, with AF_XDP, the voters' MACs from
 * the kernel's neighbour table. It blocks in ppoll between events. */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <sodium.h>

#include "kraft/datadir.h"
#include "kraft/errors.h"
#include "kraft/uuid.h"
#include "kraft/xdp.h"
#include "kraft/restart.h"
#include "node_int.h"

/* Refused (pre-)votes are logged, but a flood of them (anyone can send Votes) must not
 * flood the log: at most REFUSALS_LOGGED a second, then one line for the rest. */
#define REFUSALS_LOGGED 10

static bool
refusal_loggable(struct ctl *c)
{
	int64_t sec = kn_now_us() / 1000000;

	if (sec != c->refusal_second) {
		if (c->refusals_quiet)
			kn_log(c->n, "control",
			       "... and %" PRIu64 " more refused (pre-)votes not logged in the "
			       "last second",
			       c->refusals_quiet);
		c->refusal_second = sec;
		c->refusals_logged = 0;
		c->refusals_quiet = 0;
	}
	if (c->refusals_logged < REFUSALS_LOGGED) {
		c->refusals_logged++;
		return true;
	}
	c->refusals_quiet++;
	return false;
}

/* KRAFTD_TRACE_VOTES=1 (for following an election step by step, e.g. a slow failover):
 * every message of the election plane this node sends and takes (Vote, BeginQuorumEpoch,
 * EndQuorumEpoch and their answers), with what the core ignored. Off by default: anyone
 * can send Votes. */
static void
trace_vote_in(struct ctl *c, const struct kr_event *ev, const uint64_t *ignored_before)
{
	const struct kr_election *e = &c->n->el;
	struct kr_frame f;
	struct kr_msg m;
	char why[64] = "";

	if (!c->trace_votes || ev->type != KR_EV_PACKET ||
	    kr_frame_decode(&c->n->wire, ev->frame, ev->frame_len, &f) != 0 ||
	    kr_msg_decode(&f, &m) != 0)
		return;
	for (unsigned r = 0; r < KR_EL_IGNORE_COUNT; r++)
		if (e->stats.ignored[r] != ignored_before[r])
			snprintf(why, sizeof(why), ", ignored: %s", kr_el_ignore_name(r));
	if (m.api != KR_API_VOTE && m.api != KR_API_VOTE_RESP)
		kn_log(c->n, "control",
		       "vote trace: took %s of node %d (correlation %u) as %s in epoch %u%s",
		       kr_api_name(m.api), f.hdr.sender_id, f.hdr.correlation_id,
		       kr_role_name(e->role), e->epoch, why);
	else if (m.api == KR_API_VOTE)
		kn_log(c->n, "control",
		       "vote trace: took %s request of node %d (epoch %u, log %u:%" PRIu64
		       ", correlation %u) as %s in epoch %u%s",
		       m.u.vote.pre_vote ? "a pre-vote" : "a vote", f.hdr.sender_id, m.u.vote.epoch,
		       m.u.vote.last_epoch, m.u.vote.last_offset, f.hdr.correlation_id,
		       kr_role_name(e->role), e->epoch, why);
	else
		kn_log(c->n, "control",
		       "vote trace: took %s answer of node %d: %s (epoch %u, "
		       "correlation %u) as %s in epoch %u%s",
		       m.u.vote_resp.pre_vote ? "a pre-vote" : "a vote", f.hdr.sender_id,
		       m.u.vote_resp.granted ? "granted" : "refused", m.u.vote_resp.epoch,
		       f.hdr.correlation_id, kr_role_name(e->role), e->epoch, why);
}

static void
push_cmd(struct kn_node *n, const struct kr_cmd *cmd)
{
	kn_ring_push(n->cmd, cmd, sizeof(*cmd), &n->ctl_stats.ring_full_cmd);
	kn_wake(n->dp_wake, &n->dp_sleeping);
}

/* ---- carrying out the election core's actions: the harness's operations ---- */

static int
op_persist(void *arg, const struct kr_quorum_state *qs)
{
	struct ctl *c = arg;
	char err[512];
	int rc = kr_quorum_state_store(NULL, c->n->cfg.log_dir, qs, err, sizeof(err));

	if (rc != 0) /* nothing after this action may leave the node */
		kn_log(c->n, "control", "FATAL: cannot persist the quorum state: %s", err);
	return rc == -EAGAIN ? -EIO : rc; /* never "not yet": this shell persists at once */
}

static int
op_command(void *arg, const struct kr_el_action *a, const struct kr_cmd *cmd)
{
	struct ctl *c = arg;
	struct kn_node *n = c->n;

	if (c->trace_votes && a->type == KR_EL_SEND && a->u.send.msg.api == KR_API_VOTE)
		kn_log(n, "control",
		       "vote trace: sent %s request to node %d (epoch %u, log %u:%" PRIu64
		       ", correlation %u)",
		       a->u.send.msg.u.vote.pre_vote ? "a pre-vote" : "a vote", a->u.send.to,
		       a->u.send.msg.u.vote.epoch, a->u.send.msg.u.vote.last_epoch,
		       a->u.send.msg.u.vote.last_offset, a->u.send.correlation);
	if (c->trace_votes && a->type == KR_EL_SEND && a->u.send.msg.api != KR_API_VOTE &&
	    a->u.send.msg.api != KR_API_VOTE_RESP)
		kn_log(n, "control", "vote trace: sent %s to node %d (correlation %u)",
		       kr_api_name(a->u.send.msg.api), a->u.send.to, a->u.send.correlation);
	if (c->trace_votes && a->type == KR_EL_SEND && a->u.send.msg.api == KR_API_VOTE_RESP &&
	    a->u.send.msg.u.vote_resp.granted)
		kn_log(n, "control",
		       "vote trace: granted %s of node %d in epoch %u (correlation %u)",
		       a->u.send.msg.u.vote_resp.pre_vote ? "the pre-vote" : "the vote",
		       a->u.send.to, a->u.send.msg.u.vote_resp.epoch, a->u.send.correlation);
	if (a->type == KR_EL_SEND && a->u.send.msg.api == KR_API_VOTE_RESP &&
	    !a->u.send.msg.u.vote_resp.granted && (c->trace_votes || refusal_loggable(c)))
		kn_log(n, "control", "refused %s of node %d in epoch %u: %s",
		       a->u.send.msg.u.vote_resp.pre_vote ? "the pre-vote" : "the vote",
		       a->u.send.to, a->u.send.msg.u.vote_resp.epoch,
		       kr_refusal_text(a->u.send.refusal));
	push_cmd(n, cmd); /* waits while the ring is full: never "not yet" */
	return 0;
}

static int
op_rejoin(void *arg, const struct kr_el_action *a)
{
	struct ctl *c = arg;
	struct kn_node *n = c->n;
	char d[KR_UUID_TEXT_LEN + 1], err[512];
	int rc;

	memcpy(n->id.directory_id, a->u.rejoin.dir, KR_UUID_BYTES);
	kr_uuid_format(n->id.directory_id, d);
	rc = kr_identity_store(NULL, n->cfg.log_dir, &n->id, err, sizeof(err));
	if (rc != 0) { /* nothing after this action may leave the node */
		kn_log(n, "control", "FATAL: cannot store the new directory id: %s", err);
		return rc == -EAGAIN ? -EIO : rc;
	}
	kn_log(n, "control",
	       "REJOINED: this directory was formatted as an initial voter's, but node %d named "
	       "epoch %u: the cluster is past its first election, so this directory may be a "
	       "re-formatted one that lost its votes and log. It is now directory %s, an "
	       "observer, until a voter change names it",
	       a->u.rejoin.node, a->u.rejoin.epoch, d);
	return 0;
}

static void
op_unblocked(void *arg)
{
	struct ctl *c = arg;
	struct kn_node *n = c->n;
	struct kr_restart_config rc_cfg = {.dir = n->cfg.log_dir};
	int rc = kr_restart_repaired(&rc_cfg);

	if (rc != 0)
		kn_log(n, "control", "cannot remove the repair marker %s/%s: %s", n->cfg.log_dir,
		       KR_REPAIR_FILE, strerror(-rc));
	kn_log(n, "control",
	       "caught up with the leader: this node votes and counts toward commit again");
}

/* Who answered this node's last (pre-)vote round, for the summary below. */
static void
note_round(struct ctl *c)
{
	const struct kr_election *e = &c->n->el;
	size_t k = 0;

	c->quiet.heard[0] = '\0';
	for (int i = 0; i < e->cfg.n_voters && k + 16 < sizeof(c->quiet.heard); i++)
		if (i != e->voter_index && e->cand.vote_state[i] != KR_VOTE_UNRECORDED)
			k += (size_t)snprintf(c->quiet.heard + k, sizeof(c->quiet.heard) - k,
					      "%s%d", k ? ", " : "", e->cfg.voters[i]);
}

/* Role changes are logged one by one, except while no leader is found: a lone node, or
 * one cut off, changes role every election timeout. After QUIET_AFTER changes without a
 * leader, they are counted instead, and said in one line every QUIET_EVERY_US. */
#define QUIET_AFTER 6
#define QUIET_EVERY_US 5000000

static void
op_transition(void *arg, const struct kr_el_action *a)
{
	struct ctl *c = arg;
	struct kn_node *n = c->n;
	int64_t now = kn_now_us();
	/* found: leading or following; anything else looks for a leader */
	bool leaderless =
		a->u.transition.to != KR_ROLE_LEADER && a->u.transition.to != KR_ROLE_FOLLOWER;

	atomic_store(&n->log_epoch, a->u.transition.epoch);
	atomic_store(&n->log_role, a->u.transition.to);
	atomic_store(&n->log_leader, a->u.transition.leader);
	if (a->u.transition.from == KR_ROLE_PROSPECTIVE ||
	    a->u.transition.from == KR_ROLE_CANDIDATE)
		note_round(c);
	if (!leaderless) {
		if (c->quiet.unlogged > 0)
			kn_log(n, "control",
			       "a leader after %.1f s without one (%u role changes not logged one "
			       "by one)",
			       (double)(now - c->quiet.since) / 1e6, c->quiet.unlogged);
		c->quiet.changes = c->quiet.unlogged = 0;
	} else if (c->quiet.changes++ == 0) {
		c->quiet.since = c->quiet.said = now;
	}
	if (leaderless && c->quiet.changes > QUIET_AFTER) {
		c->quiet.unlogged++;
		if (now - c->quiet.said < QUIET_EVERY_US)
			return;
		kn_log(n, "control",
		       "still no leader after %.1f s, epoch %u, %s now: %u role changes not logged "
		       "one by one (the last: %s); last round answered by: %s",
		       (double)(now - c->quiet.since) / 1e6, a->u.transition.epoch,
		       kr_role_name(a->u.transition.to), c->quiet.unlogged,
		       kr_why_text(a->u.transition.why),
		       c->quiet.heard[0] ? c->quiet.heard : "no other voter");
		c->quiet.said = now;
		return;
	}
	kn_log(n, "control", "%s -> %s in epoch %u (leader %d): %s",
	       kr_role_name(a->u.transition.from), kr_role_name(a->u.transition.to),
	       a->u.transition.epoch, a->u.transition.leader, kr_why_text(a->u.transition.why));
}

static void
op_shutdown_done(void *arg)
{
	struct ctl *c = arg;

	c->shutdown_done = true;
}

static const struct kr_el_ops ops = {
	.persist = op_persist,
	.command = op_command,
	.rejoin = op_rejoin,
	.unblocked = op_unblocked,
	.transition = op_transition,
	.shutdown_done = op_shutdown_done,
};

void
kn_harness_init(struct ctl *c)
{
	c->h = (struct kr_el_harness){.e = &c->n->el, .wire = &c->n->wire, .ops = &ops, .arg = c};
}

void
kn_carry_out(struct ctl *c)
{
	uint64_t encode_errors = c->h.encode_errors;
	int rc = kr_el_harness_run(&c->h);

	if (c->h.encode_errors != encode_errors)
		kn_log(c->n, "control", "%" PRIu64 " control actions would not encode (a bug)",
		       c->h.encode_errors - encode_errors);
	if (rc != 0) {
		kn_log(c->n, "control", "FATAL: a durable write failed (%s): stopping at once",
		       strerror(-rc));
		_exit(3);
	}
}

/* The voters to resolve: the configured ones and those of the set in force in the log (a
 * voter a change added, or one whose endpoint moved), each address once. */
static unsigned
voters_to_resolve(const struct ctl *c, int32_t ids[], uint32_t ips[])
{
	const struct kr_node_config *cfg = &c->n->cfg;
	const struct kr_voter_set *s = &c->h.e->log_voters.set;
	unsigned k = 0;

	for (int i = 0; i < cfg->n_voters + s->n; i++) {
		int32_t id = i < cfg->n_voters ? cfg->voter_ids[i] : s->v[i - cfg->n_voters].id;
		uint32_t ip =
			i < cfg->n_voters ? cfg->voter_addr[i].ip : s->v[i - cfg->n_voters].ep.ip;
		bool seen = id == cfg->node_id;

		for (unsigned j = 0; j < k && !seen; j++)
			seen = ips[j] == ip;
		if (!seen) {
			ids[k] = id;
			ips[k++] = ip;
		}
	}
	return k;
}

/* DPDK over AF_XDP: the kernel owns ARP on the interface (kraftd's XDP program passes it),
 * so the voters' MACs come from the kernel's neighbour table, read every 500 ms and handed
 * to the dataplane when they change. A voter the kernel has not resolved gets a datagram
 * to its discard port (9), so the kernel asks. */
static void
kernel_neighbours(struct ctl *c, int64_t now)
{
	struct kn_node *n = c->n;
	int32_t ids[2 * KR_VOTERS_MAX];
	uint32_t ips[2 * KR_VOTERS_MAX];
	unsigned k;

	if (!n->kernel_neighbours || now < c->next_neighbours)
		return;
	c->next_neighbours = now + 500000;
	k = voters_to_resolve(c, ids, ips);
	for (unsigned v = 0; v < k; v++) {
		struct kr_cmd cmd = {.type = KN_CMD_NEIGHBOUR};
		struct sockaddr_in to = {.sin_family = AF_INET,
					 .sin_port = htons(9),
					 .sin_addr.s_addr = htonl(ips[v])};
		uint32_t ip = ips[v];
		unsigned slot = 0;

		if (kn_kernel_neighbour(ip, cmd.frame) != 0) {
			(void)sendto(n->mgmt_fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&to,
				     sizeof(to));
			continue;
		}
		/* the MAC last handed over for this address, or a free entry */
		while (slot < c->n_neighbours && c->neighbours[slot].ip != ip)
			slot++;
		if (slot == c->n_neighbours) {
			if (slot == KR_ARRAY_SIZE(c->neighbours))
				continue;
			c->neighbours[c->n_neighbours++].ip = ip;
		} else if (memcmp(c->neighbours[slot].mac, cmd.frame, 6) == 0) {
			continue;
		}
		memcpy(c->neighbours[slot].mac, cmd.frame, 6);
		cmd.node = (int32_t)ip;
		push_cmd(n, &cmd);
		kn_log(n, "control",
		       "neighbour: voter %d at %u.%u.%u.%u is %02x:%02x:%02x:%02x:%02x:%02x "
		       "(kernel's table)",
		       ids[v], ip >> 24, ip >> 16 & 0xff, ip >> 8 & 0xff, ip & 0xff, cmd.frame[0],
		       cmd.frame[1], cmd.frame[2], cmd.frame[3], cmd.frame[4], cmd.frame[5]);
	}
}

void
kn_log_keys(struct kn_node *n, const char *what, const struct kr_auth_keys *k)
{
	if (k->keys[1].set)
		kn_log(n, "control",
		       "%s: frames are sent with key id %u (%s) and accepted with key ids %u and "
		       "%u (%s)",
		       what, k->keys[0].id, n->cfg.auth_key_file, k->keys[0].id, k->keys[1].id,
		       n->cfg.auth_accept_file);
	else
		kn_log(n, "control", "%s: frames are sent and accepted with key id %u (%s)", what,
		       k->keys[0].id, n->cfg.auth_key_file);
}

/* SIGHUP: read the key files again (a rotation). Bad files change nothing. */
static void
reload_keys(struct ctl *c)
{
	struct kn_node *n = c->n;
	struct kr_auth_keys keys;
	struct kr_cmd cmd = {.type = KN_CMD_KEYS};
	char err[KR_CONFIG_PATH_MAX + 200];

	if (!c->auth.on) {
		kn_log(n, "control",
		       "SIGHUP: authentication is off (no kraftd.auth.key.file): "
		       "nothing to reload");
		return;
	}
	if (kr_auth_keys_load(n->cfg.auth_key_file, n->cfg.auth_accept_file, &keys, err,
			      sizeof(err)) != 0) {
		kn_log(n, "control", "SIGHUP: keys NOT changed: %s", err);
		return;
	}
	_Static_assert(sizeof(keys) <= sizeof(cmd.frame), "keys fit a command");
	memcpy(cmd.frame, &keys, sizeof(keys));
	kn_ring_push(n->cmd, &cmd, sizeof(cmd), &n->ctl_stats.ring_full_cmd);
	kn_wake(n->dp_wake, &n->dp_sleeping);
	sodium_memzero(cmd.frame, sizeof(keys));
	kr_auth_set_keys(&c->auth, &keys);
	kn_log_keys(n, "SIGHUP: keys reloaded", &keys);
	sodium_memzero(&keys, sizeof(keys));
}

static void
on_signal(struct ctl *c, int64_t now)
{
	struct kn_node *n = c->n;
	struct signalfd_siginfo si;

	while (read(c->sigfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			reload_keys(c);
			continue;
		}
		c->signals++;
		if (c->signals == 1) {
			kn_log(n, "control", "%s: shutting down%s", strsignal((int)si.ssi_signo),
			       n->el.role == KR_ROLE_LEADER
				       ? " (resigning: EndQuorumEpoch to the voters, best first)"
				       : "");
			kr_election_shutdown(&n->el, now, &c->h.out);
			kn_carry_out(c);
		} else {
			kn_log(n, "control", "%s again: stopping without waiting",
			       strsignal((int)si.ssi_signo));
			c->shutdown_done = true;
		}
	}
}

static void
control_loop(struct ctl *c)
{
	struct kn_node *n = c->n;
	struct kr_event ev;
	uint64_t v;

	for (;;) {
		int64_t now = kn_now_us(), deadline, wait;
		struct pollfd p[3] = {{.fd = c->sigfd, .events = POLLIN},
				      {.fd = n->ctl_wake, .events = POLLIN},
				      {.fd = n->mgmt_fd, .events = POLLIN}};
		struct timespec ts;

		while (rte_ring_sc_dequeue_elem(n->event, &ev, sizeof(ev)) == 0) {
			if (ev.type == KR_EV_FATAL && c->status == 0) {
				c->status = 3;
				kn_log(n, "control", "the dataplane fail-stopped (%s): exiting",
				       ev.seq == KR_FATAL_STORAGE ? "storage"
								  : "truncation below HW");
			}
			uint64_t ignored[KR_EL_IGNORE_COUNT];

			if (c->trace_votes)
				memcpy(ignored, n->el.stats.ignored, sizeof(ignored));
			kr_control_on_event(&n->el, &n->wire, &ev, now, &c->h.out);
			trace_vote_in(c, &ev, ignored);
			kn_carry_out(c);
		}
		kn_mgmt_answers(c);
		kn_mgmt_requests(c);
		deadline = kr_election_next_deadline(&n->el);
		if (deadline <= now) {
			kr_election_tick(&n->el, now, &c->h.out);
			kn_carry_out(c);
			deadline = kr_election_next_deadline(&n->el);
		}
		on_signal(c, now);
		kernel_neighbours(c, now);
		{ /* for telemetry: a seqlock'd copy of the election counters */
			uint32_t seq = atomic_load_explicit(&n->el_snap_seq, memory_order_relaxed);

			atomic_store_explicit(&n->el_snap_seq, seq + 1, memory_order_relaxed);
			atomic_thread_fence(memory_order_release);
			n->el_snap = n->el.stats;
			atomic_store_explicit(&n->el_snap_seq, seq + 2, memory_order_release);
		}
		if (n->kernel_neighbours && c->next_neighbours < deadline)
			deadline = c->next_neighbours;
		if (c->shutdown_done || c->status != 0 || atomic_load(&n->dp_done))
			return;

		/* block until an event, a request, a signal or the next timer */
		atomic_store(&n->ctl_sleeping, true);
		if (kn_ring_pending(n->event) || kn_ring_pending(n->mresp)) {
			atomic_store(&n->ctl_sleeping, false);
			continue;
		}
		wait = deadline == INT64_MAX ? 1000000 : deadline - now;
		if (wait > 1000000)
			wait = 1000000;
		ts.tv_sec = wait / 1000000;
		ts.tv_nsec = (wait % 1000000) * 1000;
		if (ppoll(p, 3, &ts, NULL) > 0 && (p[1].revents & POLLIN))
			if (read(n->ctl_wake, &v, sizeof(v)) < 0) {
				/* drained already */
			}
		atomic_store(&n->ctl_sleeping, false);
	}
}

/* The control thread: the loop, then the dataplane is told to flush and stop. */
void *
kn_control_main(void *arg)
{
	struct ctl *c = arg;
	const char *tv = getenv("KRAFTD_TRACE_VOTES");

	c->trace_votes = tv != NULL && strcmp(tv, "1") == 0;
	if (c->trace_votes)
		kn_log(c->n, "control",
		       "KRAFTD_TRACE_VOTES=1: every message of the election plane is logged");
	control_loop(c);
	atomic_store(&c->n->stop_dp, true);
	kn_wake_always(c->n->dp_wake);
	return NULL;
}
