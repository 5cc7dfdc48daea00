/* kraftd: a node's start, its control thread (the election core, the quorum-state file,
 * the management listener for kraftctl) and its orderly stop. See include/kraft/node.h. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <rte_ring.h>
#include <rte_ring_elem.h>

#include <sodium.h>

#include "kraft/datadir.h"
#include "kraft/errors.h"
#include "kraft/fileio.h"
#include "kraft/node.h"
#include "kraft/props.h"
#include "kraft/uuid.h"
#include "kraft/xdp.h"

#define CLIENT_SLOTS 256
#define INCARNATION_FILE "incarnation"
#define REPAIR_FILE "repair-target"
#define CRASH_FILE "crash-test-flushed"

_Static_assert(sizeof(struct kr_cmd) % 4 == 0, "ring elements are multiples of 4 bytes");
_Static_assert(sizeof(struct kr_event) % 4 == 0, "ring elements are multiples of 4 bytes");
_Static_assert(sizeof(struct kn_mgmt_msg) % 4 == 0, "ring elements are multiples of 4 bytes");
_Static_assert(sizeof(struct kr_rp_flush) % 4 == 0, "ring elements are multiples of 4 bytes");

struct client {
	struct sockaddr_in addr;
	uint32_t gen;
};

struct ctl {
	struct kn_node *n;
	struct kr_el_out out;
	struct client clients[CLIENT_SLOTS];
	uint32_t next_slot;
	uint32_t gen;
	int sigfd;
	int signals;
	bool shutdown_done;
	int status;
	struct kn_mgmt_msg mmsg;
	int64_t next_neighbours;
	uint8_t neighbour_mac[KR_VOTERS_MAX][6];
	int64_t refusal_second; /* refusal logs: at most REFUSALS_LOGGED per second */
	unsigned refusals_logged;
	uint64_t refusals_quiet;
	struct kr_auth auth; /* the management listener's: client frames in, answers out */
	uint8_t buf[KR_WIRE_UDP_PAYLOAD_MAX];
};

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

/* ---- small files in the data directory ---- */

static int
read_u64_file(const char *dir, const char *name, uint64_t *v)
{
	char buf[64];
	int64_t x;
	int len = kr_read_file(dir, name, buf, sizeof(buf) - 1);

	if (len < 0)
		return len;
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[len - 1] = '\0';
	if (kr_parse_i64(buf, 0, INT64_MAX, &x) != 0)
		return -EBADMSG;
	*v = (uint64_t)x;
	return 0;
}

static int
write_u64_file(const char *dir, const char *name, uint64_t v)
{
	char buf[32];
	int len = snprintf(buf, sizeof(buf), "%" PRIu64 "\n", v);

	return kr_write_file_atomic(dir, name, buf, (size_t)len);
}

/* Remove dir/name if it is there, durably. @return 0 or -errno. */
static int
unlink_durable(const char *dir, const char *name)
{
	char p[KR_CONFIG_PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	if (unlink(p) != 0)
		return errno == ENOENT ? 0 : -errno;
	return kr_fsync_dir(dir);
}

static bool
access_file(const char *dir, const char *name)
{
	char p[KR_CONFIG_PATH_MAX + 64];

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/* ---- test builds: lose what was not flushed ---- */

void
kn_crash_record(struct kn_node *n)
{
	char text[16384], path[KR_CONFIG_PATH_MAX + 300];
	size_t k = 0;
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(n->log_path);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL && k + 64 < sizeof(text)) {
		size_t len = strlen(e->d_name);

		if (len < 5 || strcmp(e->d_name + len - 4, ".log") != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", n->log_path, e->d_name);
		if (stat(path, &st) == 0)
			k += (size_t)snprintf(text + k, sizeof(text) - k, "%s %lld\n", e->d_name,
					      (long long)st.st_size);
	}
	closedir(d);
	if (kr_write_file_atomic(n->cfg.log_dir, CRASH_FILE, text, k) != 0)
		kn_log(n, "flush", "crash test: cannot record flushed lengths");
}

int
kn_crash_cut(struct kn_node *n)
{
	char text[16384], path[KR_CONFIG_PATH_MAX + 300];
	struct dirent *e;
	struct stat st;
	DIR *d;
	int len = kr_read_file(n->cfg.log_dir, CRASH_FILE, text, sizeof(text) - 1);

	if (len == -ENOENT) {
		/* no record of flushed lengths: a directory last run without the option (its
		 * segments were flushed, but nobody wrote down how far). Cutting by an empty
		 * record would delete them all: refuse */
		d = opendir(n->log_path);
		while (d != NULL && (e = readdir(d)) != NULL) {
			size_t nl = strlen(e->d_name);

			if (nl >= 5 && strcmp(e->d_name + nl - 4, ".log") == 0) {
				closedir(d);
				kn_log(n, "start",
				       "crash test: %s/%s is missing: the directory was last run "
				       "without --test-crash-cut, so how far its segments were "
				       "flushed is unknown; refusing to cut them",
				       n->cfg.log_dir, CRASH_FILE);
				return -ESTALE;
			}
		}
		if (d != NULL)
			closedir(d);
		len = 0;
	}
	if (len < 0)
		return len;
	text[len] = '\0';
	d = opendir(n->log_path);
	if (d == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		size_t nl = strlen(e->d_name);
		char *line;
		long long keep = -1;

		if (nl < 5 || strcmp(e->d_name + nl - 4, ".log") != 0)
			continue;
		for (line = text; line != NULL && *line;
		     line = strchr(line, '\n'), line = line ? line + 1 : NULL)
			if (strncmp(line, e->d_name, nl) == 0 && line[nl] == ' ')
				keep = atoll(line + nl + 1);
		snprintf(path, sizeof(path), "%s/%s", n->log_path, e->d_name);
		if (stat(path, &st) != 0)
			continue;
		if (keep < 0) {
			kn_log(n, "start", "crash test: %s was never flushed: removed", e->d_name);
			unlink(path);
		} else if (st.st_size > keep) {
			long long to = keep;
			uint32_t r;

			/* torn: a random part of what was written but never flushed survives */
			if (n->opt.crash_torn && getrandom(&r, sizeof(r), 0) == sizeof(r))
				to = keep + (long long)(r % (uint32_t)(st.st_size - keep));
			kn_log(n, "start",
			       "crash test: %s cut from %lld to %lld bytes (flushed: %lld)%s",
			       e->d_name, (long long)st.st_size, to, keep,
			       to > keep ? ", a torn tail left" : "");
			if (truncate(path, to) != 0)
				return -errno;
		}
	}
	closedir(d);
	return 0;
}

/* ---- carrying out the election core's actions ---- */

static void
push_cmd(struct kn_node *n, const struct kr_cmd *cmd)
{
	kn_ring_push(n->cmd, cmd, sizeof(*cmd), &n->ctl_stats.ring_full_cmd);
	kn_wake(n->dp_wake, &n->dp_sleeping);
}

static void
carry_out(struct ctl *c)
{
	struct kn_node *n = c->n;
	char err[512];
	struct kr_cmd cmd;

	for (uint32_t i = 0; i < c->out.n; i++) {
		const struct kr_el_action *a = &c->out.a[i];
		int rc;

		switch (a->type) {
		case KR_EL_PERSIST:
			rc = kr_quorum_state_store(n->cfg.log_dir, &a->u.persist, err, sizeof(err));
			if (rc != 0) {
				/* nothing after this action may leave the node */
				kn_log(n, "control", "FATAL: cannot persist the quorum state: %s",
				       err);
				_exit(3);
			}
			break;
		case KR_EL_SEND:
			if (a->u.send.msg.api == KR_API_VOTE_RESP &&
			    !a->u.send.msg.u.vote_resp.granted && refusal_loggable(c))
				kn_log(n, "control", "refused %s of node %d in epoch %u: %s",
				       a->u.send.msg.u.vote_resp.pre_vote ? "the pre-vote"
									  : "the vote",
				       a->u.send.to, a->u.send.msg.u.vote_resp.epoch,
				       kr_refusal_text(a->u.send.refusal));
			/* fall through */
		case KR_EL_COMMAND:
			rc = kr_control_command(&n->el, &n->wire, a, &cmd);
			if (rc != 0) {
				kn_log(n, "control", "a control action would not encode (%d)", rc);
				break;
			}
			push_cmd(n, &cmd);
			break;
		case KR_EL_TRANSITION:
			atomic_store(&n->log_epoch, a->u.transition.epoch);
			atomic_store(&n->log_role, a->u.transition.to);
			atomic_store(&n->log_leader, a->u.transition.leader);
			kn_log(n, "control", "%s -> %s in epoch %u (leader %d): %s",
			       kr_role_name(a->u.transition.from), kr_role_name(a->u.transition.to),
			       a->u.transition.epoch, a->u.transition.leader,
			       kr_why_text(a->u.transition.why));
			break;
		case KR_EL_VOTE_UNBLOCKED:
			rc = unlink_durable(n->cfg.log_dir, REPAIR_FILE);
			if (rc != 0)
				kn_log(n, "control", "cannot remove the repair marker %s/%s: %s",
				       n->cfg.log_dir, REPAIR_FILE, strerror(-rc));
			kn_log(n, "control",
			       "caught up with the leader: this node votes and counts toward "
			       "commit again");
			break;
		case KR_EL_REJOIN: {
			char d[KR_UUID_TEXT_LEN + 1];

			memcpy(n->id.directory_id, a->u.rejoin.dir, KR_UUID_BYTES);
			kr_uuid_format(n->id.directory_id, d);
			if (kr_identity_store(n->cfg.log_dir, &n->id, err, sizeof(err)) != 0) {
				/* nothing after this action may leave the node */
				kn_log(n, "control", "FATAL: cannot store the new directory id: %s",
				       err);
				_exit(3);
			}
			kn_log(n, "control",
			       "REJOINED: this directory was formatted as an initial voter's, but "
			       "node %d named epoch %u: the cluster is past its first election, so "
			       "this directory may be a re-formatted one that lost its votes and "
			       "log. It is now directory %s, an observer, until a voter change "
			       "names it",
			       a->u.rejoin.node, a->u.rejoin.epoch, d);
			break;
		}
		case KR_EL_SHUTDOWN_DONE:
			c->shutdown_done = true;
			break;
		default:
			break;
		}
	}
	c->out.n = 0;
}

/* ---- the management listener ---- */

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

static void
describe_nodes(struct ctl *c, const struct sockaddr_in *from, const struct kr_frame_hdr *h)
{
	const struct kr_node_config *cfg = &c->n->cfg;
	struct kr_node_info nodes[KR_REPLICAS_MAX];
	struct kr_msg m = {.api = KR_API_DESCRIBE_NODES_RESP};
	unsigned k = 0;
	bool self = false;

	for (int i = 0; i < cfg->n_voters; i++) {
		const struct kr_endpoint *e = &cfg->voter_addr[i];

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

static void
mgmt_requests(struct ctl *c)
{
	struct kn_node *n = c->n;
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	struct kr_frame f;
	ssize_t len;

	while ((len = recvfrom(n->mgmt_fd, c->buf, sizeof(c->buf), MSG_DONTWAIT,
			       (struct sockaddr *)&from, &fl)) >= 0) {
		fl = sizeof(from);
		n->ctl_stats.mgmt_requests++;
		if (kr_frame_decode(&n->wire, c->buf, (size_t)len, &f) != 0 ||
		    f.hdr.sender_id >= 0) {
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
		case KR_API_APPEND:
		case KR_API_READ:
		case KR_API_DESCRIBE_QUORUM: {
			uint32_t slot = c->next_slot++ % CLIENT_SLOTS;

			if ((size_t)len > sizeof(c->mmsg.bytes)) {
				n->ctl_stats.mgmt_dropped++;
				break;
			}
			c->clients[slot].addr = from;
			c->clients[slot].gen = ++c->gen;
			c->mmsg.addr = KN_MGMT_ADDR_BIT | (uint64_t)c->gen << 8 | slot;
			c->mmsg.len = (uint32_t)len;
			memcpy(c->mmsg.bytes, c->buf, (size_t)len);
			if (!kn_ring_try_push(n->mreq, &c->mmsg, sizeof(c->mmsg),
					      &n->ctl_stats.ring_full_mgmt))
				n->ctl_stats.mgmt_dropped++;
			kn_wake(n->dp_wake, &n->dp_sleeping);
			break;
		}
		default:
			n->ctl_stats.mgmt_dropped++;
			break;
		}
	}
}

static void
mgmt_answers(struct ctl *c)
{
	struct kn_node *n = c->n;

	while (rte_ring_sc_dequeue_elem(n->mresp, &c->mmsg, sizeof(c->mmsg)) == 0) {
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

/* DPDK over AF_XDP: the kernel owns ARP on the interface (kraftd's XDP program passes it),
 * so the voters' MACs come from the kernel's neighbour table, read every 500 ms and handed
 * to the dataplane when they change. A voter the kernel has not resolved gets a datagram
 * to its discard port (9), so the kernel asks. */
static void
kernel_neighbours(struct ctl *c, int64_t now)
{
	struct kn_node *n = c->n;
	const struct kr_node_config *cfg = &n->cfg;
	bool found[KR_VOTERS_MAX] = {false};

	if (!n->kernel_neighbours || now < c->next_neighbours)
		return;
	c->next_neighbours = now + 500000;
	for (int v = 0; v < cfg->n_voters; v++) {
		struct kr_cmd cmd = {.type = KN_CMD_NEIGHBOUR};
		uint32_t ip = cfg->voter_addr[v].ip;

		if (cfg->voter_ids[v] == cfg->node_id || kn_kernel_neighbour(ip, cmd.frame) != 0)
			continue;
		found[v] = true;
		if (memcmp(c->neighbour_mac[v], cmd.frame, 6) == 0)
			continue;
		memcpy(c->neighbour_mac[v], cmd.frame, 6);
		cmd.node = (int32_t)ip;
		push_cmd(n, &cmd);
		kn_log(n, "control",
		       "neighbour: voter %d at %u.%u.%u.%u is %02x:%02x:%02x:%02x:%02x:%02x "
		       "(kernel's table)",
		       cfg->voter_ids[v], ip >> 24, ip >> 16 & 0xff, ip >> 8 & 0xff, ip & 0xff,
		       cmd.frame[0], cmd.frame[1], cmd.frame[2], cmd.frame[3], cmd.frame[4],
		       cmd.frame[5]);
	}
	for (int v = 0; v < cfg->n_voters; v++) {
		struct sockaddr_in to = {.sin_family = AF_INET,
					 .sin_port = htons(9),
					 .sin_addr.s_addr = htonl(cfg->voter_addr[v].ip)};

		if (!found[v] && cfg->voter_ids[v] != cfg->node_id)
			(void)sendto(n->mgmt_fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&to,
				     sizeof(to));
	}
}

/* ---- the control loop ---- */

/* ---- authentication keys ---- */

static void
log_keys(struct kn_node *n, const char *what, const struct kr_auth_keys *k)
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
	log_keys(n, "SIGHUP: keys reloaded", &keys);
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
			kr_election_shutdown(&n->el, now, &c->out);
			carry_out(c);
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
			kr_control_on_event(&n->el, &n->wire, &ev, now, &c->out);
			carry_out(c);
		}
		mgmt_answers(c);
		mgmt_requests(c);
		deadline = kr_election_next_deadline(&n->el);
		if (deadline <= now) {
			kr_election_tick(&n->el, now, &c->out);
			carry_out(c);
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
static void *
control_main(void *arg)
{
	struct ctl *c = arg;

	control_loop(c);
	atomic_store(&c->n->stop_dp, true);
	kn_wake_always(c->n->dp_wake);
	return NULL;
}

/* ---- start ---- */

static int
bind_udp(const struct kr_endpoint *e, int bufsize)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET, .sin_port = htons(e->port), .sin_addr.s_addr = htonl(e->ip)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (bufsize > 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	}
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static uint64_t
tx_packets(const struct kn_node *n)
{
	uint64_t t = 0;

	for (unsigned i = 0; i < n->n_ports; i++)
		t += n->ports[i]->stats.tx_packets;
	return t;
}

static const char *
recovery_name(enum kr_log_recovery r)
{
	return r == KR_LOG_CLEAN       ? "clean"
	       : r == KR_LOG_TORN_TAIL ? "torn tail cut"
				       : "MID-LOG CORRUPTION";
}

/* Open the data directory and the log, apply the restart rules. Returns 0 or an exit
 * status, having said why. */
static int
open_storage(struct kn_node *n, struct kr_quorum_state *qs)
{
	const struct kr_node_config *cfg = &n->cfg;
	struct kr_log_config lc = {.segment_bytes = cfg->segment_bytes,
				   .memory_bytes_max = cfg->memory_max_bytes};
	struct kr_log_report rep;
	char err[512];
	uint64_t v = 0;
	int rc;

	rc = kr_datadir_open(cfg->log_dir, cfg->cluster_id, cfg->node_id, &n->id, qs, err,
			     sizeof(err));
	if (rc == -EBADMSG)
		kn_log(n, "start",
		       "refusing to start: %s. The vote this node cast is lost with it: the safe "
		       "way back is to re-format the directory without --initial-controllers "
		       "(it then rejoins as an observer with a new directory id), never to reset "
		       "it to epoch 0",
		       err);
	if (rc != 0) {
		if (rc != -EBADMSG)
			kn_log(n, "start", "refusing to start: %s", err);
		return 1;
	}
	rc = kr_bootstrap_load(cfg->log_dir, &n->boot, err, sizeof(err));
	n->has_boot = rc == 0;
	if (rc == 0)
		rc = kr_config_check_bootstrap(cfg, &n->boot, err, sizeof(err));
	if (rc != 0 && rc != -ENOENT) {
		kn_log(n, "start", "refusing to start: %s", err);
		return 1;
	}
	rc = read_u64_file(cfg->log_dir, INCARNATION_FILE, &v);
	if (rc != 0 && rc != -ENOENT) {
		kn_log(n, "start", "refusing to start: %s/%s: %s", cfg->log_dir, INCARNATION_FILE,
		       strerror(-rc));
		return 1;
	}
	/* above every earlier start's of this node id, durably: even a re-formatted
	 * directory's (which starts without the file) outgrows the old ones by the clock */
	n->incarnation = (uint64_t)kn_wall_us() / 1000;
	if (v >= n->incarnation)
		n->incarnation = v + 1;
	rc = write_u64_file(cfg->log_dir, INCARNATION_FILE, n->incarnation);
	if (rc != 0) {
		kn_log(n, "start", "cannot write %s/%s: %s", cfg->log_dir, INCARNATION_FILE,
		       strerror(-rc));
		return 1;
	}
	n->unsafe_admit = access_file(cfg->log_dir, KR_ADMIT_FILE);
	if (n->unsafe_admit) {
		kn_log(n, "start",
		       "UNSAFE ADMIT (kraftd unsafe-admit): this start skips the rules that keep a "
		       "node that may lack acknowledged records from voting (a lost memory-mode "
		       "log, an unfinished repair, a first start past the cluster's first "
		       "election). If a majority of voters lost their data, records they "
		       "acknowledged may be lost for good.");
		if (unlink_durable(cfg->log_dir, REPAIR_FILE) != 0) {
			kn_log(n, "start", "cannot remove %s/%s", cfg->log_dir, REPAIR_FILE);
			return 1;
		}
	}
	rc = read_u64_file(cfg->log_dir, REPAIR_FILE, &n->repair_target);
	if (rc == 0)
		kn_log(n, "start",
		       "an unfinished repair: the node must refetch up to offset %" PRIu64
		       " before it votes or counts toward commit",
		       n->repair_target);
	else if (rc != -ENOENT) {
		kn_log(n, "start", "refusing to start: %s/%s: %s", cfg->log_dir, REPAIR_FILE,
		       strerror(-rc));
		return 1;
	}

	if (kr_datadir_log_path(cfg->log_dir, n->log_path, sizeof(n->log_path)) != 0) {
		kn_log(n, "start", "refusing to start: %s: path too long", cfg->log_dir);
		return 1;
	}
	if (cfg->durability == KR_LOG_DISK) {
		rc = kr_mkdir_durable(n->log_path);
		if (rc != 0) {
			kn_log(n, "start", "cannot create %s: %s", n->log_path, strerror(-rc));
			return 1;
		}
		if (n->opt.crash_cut && (rc = kn_crash_cut(n)) != 0) {
			kn_log(n, "start", "crash test: cannot cut the log: %s", strerror(-rc));
			return 1;
		}
		if (n->opt.crash_cut)
			kn_crash_record(n); /* from now on the record is always there */
		else if (unlink_durable(cfg->log_dir, CRASH_FILE) != 0)
			return 1; /* a run without the option makes any record stale */
		lc.dir = n->log_path;
		lc.durability = KR_LOG_DISK;
	} else {
		lc.durability = KR_LOG_MEMORY;
	}
	rc = kr_log_open(&lc, &n->log, &rep, err, sizeof(err));
	if (rc != 0) {
		kn_log(n, "start", "cannot open the log: %s", err);
		return 1;
	}
	kn_log(n, "start",
	       "log %s: offsets [%" PRIu64 ", %" PRIu64
	       "), last epoch %u, %u segments, recovery: %s",
	       cfg->durability == KR_LOG_DISK ? n->log_path : "(memory)", kr_log_start(n->log),
	       kr_log_end(n->log), kr_log_last_epoch(n->log), rep.segments,
	       recovery_name(rep.outcome));
	if (rep.outcome == KR_LOG_TORN_TAIL)
		kn_log(n, "start", "cut %" PRIu64 " bytes of a torn write from %s (%s)",
		       rep.torn_bytes, rep.segment, rep.reason);
	if (rep.outcome == KR_LOG_MID_CORRUPT) {
		/* the marker is durable before anything discards the damaged range */
		if (rep.last_valid_end_offset > n->repair_target)
			n->repair_target = rep.last_valid_end_offset;
		rc = write_u64_file(cfg->log_dir, REPAIR_FILE, n->repair_target);
		if (rc != 0) {
			kn_log(n, "start", "cannot write the repair marker: %s", strerror(-rc));
			return 1;
		}
		kn_log(n, "start",
		       "%s byte %" PRIu64 ": %s: offsets [%" PRIu64 ", %" PRIu64
		       ") unreadable; the node stays out of elections and commit until it has "
		       "refetched up to %" PRIu64 " from the leader",
		       rep.segment, rep.file_pos, rep.reason, rep.damage_start_offset,
		       rep.damage_end_offset, n->repair_target);
	}
	return 0;
}

/* What the node is in the voter set, and what that does not protect. */
static void
describe_voters(struct kn_node *n, const struct kr_election_config *ec, bool first_start)
{
	char d[KR_UUID_TEXT_LEN + 1];
	bool listed = false;

	for (int i = 0; i < ec->n_voters; i++)
		listed = listed || ec->voters[i] == ec->node_id;
	kr_uuid_format(n->id.directory_id, d);
	if (!n->has_boot)
		kn_log(n, "start",
		       "voters: static, by node id only (the directory was formatted before "
		       "voters had directory ids): a voter whose disk is wiped and re-formatted "
		       "would vote with an empty log; re-format new clusters with "
		       "--initial-controllers");
	else if (ec->joining && listed)
		kn_log(n, "start",
		       "voters: node %d is a voter, but not with this directory (%s): it "
		       "replicates as an observer and never votes or counts toward commit, until "
		       "a voter change names (%d, %s); the cluster runs one voter short "
		       "meanwhile",
		       ec->node_id, d, ec->node_id, d);
	else if (ec->joining)
		kn_log(n, "start", "voters: this node is an observer (directory %s)", d);
	else
		kn_log(n, "start", "voters: this node is voter (%d, %s)%s", ec->node_id, d,
		       first_start ? "; first start: it rejoins as an observer if it finds the "
				     "cluster already past its first election"
				   : "");
}

static void
describe_start(struct kn_node *n, const struct kr_quorum_state *qs)
{
	const struct kr_node_config *c = &n->cfg;
	char dp[32], mg[32], cid[KR_UUID_TEXT_LEN + 1], idle[128];

	kr_endpoint_format(&c->listener, dp, sizeof(dp));
	kr_endpoint_format(&c->mgmt, mg, sizeof(mg));
	kr_uuid_format(c->cluster_id, cid);
	if (c->idle == KR_IDLE_POLL)
		snprintf(idle, sizeof(idle), "poll (busy: one core always in use)");
	else
		snprintf(idle, sizeof(idle),
			 "%s (spin %lld us after work%s, then sleep until a datagram, a ring "
			 "wakeup or a timer)",
			 c->idle == KR_IDLE_SHARED ? "shared" : "backoff",
			 (long long)c->idle_spin_us,
			 c->idle == KR_IDLE_SHARED ? ", yielding the core between polls" : "");
	kn_log(n, "start",
	       "kraftd starting: cluster %s, %s of %u voters, transport %s %s, management %s, "
	       "durability %s, dataplane idle mode %s",
	       cid, kr_election_is_voter(&n->el) ? "voter" : "observer", c->n_voters,
	       n->opt.transport == KN_TRANSPORT_DPDK ? "dpdk" : "udp", dp, mg,
	       c->durability == KR_LOG_DISK ? "disk" : "memory", idle);
	for (unsigned i = 0; i < n->n_ports; i++)
		kn_log(n, "start",
		       "port %u: %s, datagrams up to %u bytes, frames of %u record bytes", i,
		       n->ports[i]->name, n->ports[i]->payload_max, c->frame_bytes);
	kn_log(n, "start",
	       "timeouts: election %.3f ms, fetch %.3f ms, backoff max %.3f ms, request %.3f ms, "
	       "parked fetch %.3f ms; quorum-state epoch %u leader %d voted %d; incarnation "
	       "%" PRIu64,
	       c->election_timeout_us / 1e3, c->fetch_timeout_us / 1e3,
	       c->election_backoff_max_us / 1e3, c->request_timeout_us / 1e3,
	       c->fetch_max_wait_us / 1e3, qs->epoch, qs->leader_id, qs->voted_id, n->incarnation);
}

int
kn_run(const struct kr_node_config *cfg, const struct kn_options *opt)
{
	struct kn_node *n = calloc(1, sizeof(*n));
	struct ctl *c = calloc(1, sizeof(*c));
	struct kr_quorum_state qs;
	struct kr_election_config ec;
	struct kr_election_start st = {0};
	struct kr_repl_config rc;
	struct kr_auth_keys keys;
	char kerr[KR_CONFIG_PATH_MAX + 200];
	pthread_t dp_thread, flush_thread;
	sigset_t mask;
	int status;

	if (n == NULL || c == NULL || (n->repl = calloc(1, sizeof(*n->repl))) == NULL) {
		fprintf(stderr, "kraftd: out of memory\n");
		return 1;
	}
	n->cfg = *cfg;
	n->opt = *opt;
	n->mgmt_fd = -1;
	n->lock_fd = -1;
	atomic_store(&n->log_leader, KR_NODE_NONE);
	c->n = n;
	/* the cluster key first: a bad key file is a configuration error (exit 2) */
	if (kr_auth_keys_load(cfg->auth_key_file, cfg->auth_accept_file, &keys, kerr,
			      sizeof(kerr)) != 0) {
		kn_log(n, "start", "authentication keys: %s", kerr);
		free(n->repl);
		free(c);
		free(n);
		return 2;
	}
	/* the data directory's lock before anything else touches it (a second node on a
	 * running node's directory would run log recovery over the live log) or binds the
	 * running node's ports and files (memif sockets, the EAL's) */
	if (kr_datadir_lock(cfg->log_dir, &n->lock_fd, kerr, sizeof(kerr)) != 0) {
		kn_log(n, "start", "refusing to start: %s", kerr);
		free(n->repl);
		free(c);
		free(n);
		return 1;
	}
	/* signals arrive only through the control thread's signalfd: blocked here, before
	 * any thread starts (the EAL's included), so every thread inherits the mask */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (opt->transport == KN_TRANSPORT_DPDK) {
		char err[512];

		if (kn_dpdk_start(n, err, sizeof(err)) != 0) {
			kn_log(n, "start", "cannot start the DPDK dataplane: %s", err);
			return 1;
		}
		cfg = &n->cfg; /* its frame sizes now fit the ports */
	}
	status = open_storage(n, &qs);
	if (status != 0)
		return status;

	kr_config_repl(cfg, n->id.directory_id, n->has_boot ? &n->boot : NULL, n->incarnation,
		       n->repair_target, &rc);
	if (kr_repl_init(n->repl, &rc, n->log) != 0) {
		kn_log(n, "start", "the replication settings are inconsistent");
		return 1;
	}
	n->repl->wall_offset_us = kn_wall_us() - kn_now_us();
	n->wire = rc.wire;
	kr_repl_auth(n->repl, &keys, kn_wall_us());
	kr_auth_init(&c->auth, &keys, kn_wall_us());
	if (c->auth.on) {
		n->wire.flags = KR_FRAME_F_AUTH;
		log_keys(n, "authentication on", &keys);
	}
	sodium_memzero(&keys, sizeof(keys));

	n->cmd = kn_ring_new("cmd", sizeof(struct kr_cmd), 1024);
	n->event = kn_ring_new("event", sizeof(struct kr_event), 4096);
	n->mreq = kn_ring_new("mreq", sizeof(struct kn_mgmt_msg), 64);
	n->mresp = kn_ring_new("mresp", sizeof(struct kn_mgmt_msg), 64);
	n->flush = kn_ring_new("flush", sizeof(struct kr_rp_flush), 4);
	n->done = kn_ring_new("done", sizeof(struct kr_rp_flush), 4);
	n->dp_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->ctl_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->flush_wake = eventfd(0, EFD_CLOEXEC);
	if (!n->cmd || !n->event || !n->mreq || !n->mresp || !n->flush || !n->done ||
	    n->dp_wake < 0 || n->ctl_wake < 0 || n->flush_wake < 0) {
		kn_log(n, "start", "cannot create the rings and wakeups");
		return 1;
	}
	if (opt->transport == KN_TRANSPORT_UDP) {
		char err[256], a[32];

		n->ports[0] =
			kn_port_udp_open(cfg->listener.ip, cfg->listener.port, 0, err, sizeof(err));
		if (n->ports[0] == NULL) {
			kr_endpoint_format(&cfg->listener, a, sizeof(a));
			kn_log(n, "start", "cannot bind the dataplane to %s: %s", a, err);
			return 1;
		}
		n->n_ports = 1;
	}
	n->mgmt_fd = bind_udp(&cfg->mgmt, 1 << 20);
	if (n->mgmt_fd < 0) {
		char a[32];

		kr_endpoint_format(&cfg->mgmt, a, sizeof(a));
		kn_log(n, "start", "cannot bind the management listener to %s: %s", a,
		       strerror(-n->mgmt_fd));
		return 1;
	}

	c->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	kr_config_election(cfg, n->id.directory_id, n->has_boot ? &n->boot : NULL, &ec);
	st.qs = qs;
	st.log_last_epoch = kr_log_last_epoch(n->log);
	/* an initial voter's directory that never left epoch 0 checks its first start */
	st.first_start = n->has_boot && !ec.joining && qs.epoch == 0 && kr_log_end(n->log) == 0 &&
			 n->repair_target == 0 && !n->unsafe_admit;
	if (st.first_start && kr_uuid_random(st.rejoin_dir) != 0) {
		kn_log(n, "start", "no randomness for a directory id");
		return 1;
	}
	st.vote_blocked = !n->unsafe_admit && ((cfg->durability == KR_LOG_MEMORY && qs.epoch > 0) ||
					       n->repair_target > 0);
	if (getrandom(&st.rng_seed, sizeof(st.rng_seed), 0) != sizeof(st.rng_seed))
		st.rng_seed = (uint64_t)kn_now_us() ^ (uint64_t)getpid() << 32;
	if (kr_election_init(&n->el, &ec, &st, kn_now_us(), &c->out) != 0) {
		kn_log(n, "start", "the election settings are inconsistent");
		return 1;
	}
	atomic_store(&n->log_epoch, n->el.epoch);
	atomic_store(&n->log_role, n->el.role);
	atomic_store(&n->log_leader, n->el.leader_id);
	describe_start(n, &qs);
	describe_voters(n, &ec, st.first_start);
	/* once: the next start is judged by the usual rules again */
	if (n->unsafe_admit && unlink_durable(cfg->log_dir, KR_ADMIT_FILE) != 0) {
		kn_log(n, "start", "cannot remove %s/%s", cfg->log_dir, KR_ADMIT_FILE);
		return 1;
	}
	if (st.vote_blocked)
		kn_log(n, "start",
		       "%s: no vote, pre-vote or candidacy until caught up with a leader of epoch "
		       ">= %u",
		       n->repair_target > 0 ? "repairing damaged log data"
					    : "memory mode restarted without its log",
		       qs.epoch);
	carry_out(c);

	if (opt->transport == KN_TRANSPORT_DPDK) {
		/* the dataplane polls on the EAL's main lcore (this thread); the others get the
		 * CPUs the process had before the EAL pinned it */
		pthread_attr_t attr;

		pthread_attr_init(&attr);
		if (CPU_COUNT(&n->cpus) > 0)
			pthread_attr_setaffinity_np(&attr, sizeof(n->cpus), &n->cpus);
		if (pthread_create(&flush_thread, &attr, kn_flush_main, n) != 0 ||
		    pthread_create(&dp_thread, &attr, control_main, c) != 0) {
			kn_log(n, "start", "cannot start the threads");
			return 1;
		}
		pthread_attr_destroy(&attr);
		kn_dataplane_main(n);
		pthread_join(dp_thread, NULL); /* the control thread */
	} else {
		if (pthread_create(&flush_thread, NULL, kn_flush_main, n) != 0 ||
		    pthread_create(&dp_thread, NULL, kn_dataplane_main, n) != 0) {
			kn_log(n, "start", "cannot start the threads");
			return 1;
		}
		control_main(c);
		pthread_join(dp_thread, NULL);
	}
	kn_wake_always(n->flush_wake);
	pthread_join(flush_thread, NULL);
	status = c->status;
	char hw[24] = "unknown";

	if (n->repl->committed != KR_OFFSET_NONE)
		snprintf(hw, sizeof(hw), "%" PRIu64, n->repl->committed);
	kn_log(n, "stop",
	       "stopped (exit %d): log [%" PRIu64 ", %" PRIu64 "), durable to %" PRIu64
	       ", HW %s; %" PRIu64 " packets in, %" PRIu64 " out, %" PRIu64 " flushes, %" PRIu64
	       " dropped by the replication core, %" PRIu64
	       " from addresses of no voter (clients, strangers)",
	       status, kr_log_start(n->log), kr_log_end(n->log), kr_log_durable_end(n->log), hw,
	       n->dp_stats.rx_packets, tx_packets(n), n->flush_stats.flushes,
	       n->repl->stats.drops[KR_RP_DROP_DECODE], n->dp_stats.rx_foreign_addr);
	for (unsigned i = 0; i < n->n_ports; i++) {
		const struct kn_port_stats *ps = &n->ports[i]->stats;
		char drops[512] = "";
		size_t k = 0;

		for (unsigned w = 0; w < KN_PORT_DROP_COUNT && k < sizeof(drops) - 64; w++)
			if (ps->drops[w])
				k += (size_t)snprintf(drops + k, sizeof(drops) - k, " %s=%" PRIu64,
						      kn_port_drop_name(w), ps->drops[w]);
		kn_log(n, "stop",
		       "port %u (%s): %" PRIu64 " in, %" PRIu64 " out, %" PRIu64
		       " ARP replies; dropped:%s",
		       i, n->ports[i]->name, ps->rx_packets, ps->tx_packets, ps->arp_replies,
		       k ? drops : " none");
	}
	kr_log_close(n->log);
	kr_log_job_free(&n->job);
	free(n->cmd);
	free(n->event);
	free(n->mreq);
	free(n->mresp);
	free(n->flush);
	free(n->done);
	close(n->dp_wake);
	close(n->ctl_wake);
	close(n->flush_wake);
	for (unsigned i = 0; i < n->n_ports; i++)
		n->ports[i]->close(n->ports[i]);
	kn_dpdk_stop(n);
	close(n->mgmt_fd);
	close(c->sigfd);
	close(n->lock_fd); /* last: the directory is free once nothing writes to it */
	free(n->repl);
	free(n);
	free(c);
	return status;
}
