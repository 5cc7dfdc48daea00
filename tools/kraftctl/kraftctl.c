/* kraftctl: talk to a kraftd cluster through any node's management listener: describe
 * the quorum as kafka-metadata-quorum.sh does, append records, read committed records. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <linux/errqueue.h>
#include <netinet/ip.h>

#include "kraft/config.h"
#include "kraft/errors.h"
#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/props.h"
#include "kraft/reasm.h"
#include "kraft/uuid.h"
#include "kraft/wire.h"
#include "tool.h"

#define RESEND_MS 200
#define READ_MAX_BYTES KR_BATCH_BYTES_MAX

struct node {
	int32_t id;
	struct sockaddr_in mgmt;
	struct kr_endpoint dp;
	bool voter;
};

struct ctl {
	int fd;
	bool json;
	bool human;
	int64_t timeout_ms;
	int64_t deadline_ms;
	struct sockaddr_in boot[16];
	int n_boot;
	struct node nodes[KR_REPLICAS_MAX];
	int n_nodes;
	int first; /* the node that answered discovery: the first one asked */
	bool have_cluster;
	uint8_t cluster[KR_UUID_BYTES];
	uint32_t corr;
	uint8_t tx[KR_WIRE_UDP_PAYLOAD_MAX];
	uint8_t rx[KR_WIRE_UDP_PAYLOAD_MAX];
	/* messages larger than a management datagram: a request cut into fragments (big, each
	 * send a new msg_id), an answer put together (reasm; whole holds the last one) */
	uint8_t *big, *whole;
	uint32_t msg_id;
	struct kr_reasm reasm;
	struct kr_reasm_slot slots[2];
};

static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int64_t
now_ms(void)
{
	return kr_tool_now_ns() / 1000000;
}

#define die kr_tool_die

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kraftctl --bootstrap-server HOST:PORT[,HOST:PORT...] [options] COMMAND\n"
		"\n"
		"HOST:PORT is a node's management listener (its dataplane port +\n"
		"kraftd.management.port.offset, 100 by default). kraftctl asks every server\n"
		"listed at once for every node's address (a dead one costs nothing, a port\n"
		"nobody listens at is said at once, a dataplane port is redirected) and\n"
		"follows leader hints from there. A wait past a second says what it waits for.\n"
		"\n"
		"Commands:\n"
		"  describe --status           the quorum, as kafka-metadata-quorum.sh prints it\n"
		"  describe --storage [--node N]\n"
		"                              each node's log start and end, committed and\n"
		"                              applied offsets, newest snapshot (end-epoch) and\n"
		"                              its size, snapshots written since it started\n"
		"  snapshot [--node N]         every node (or node N) takes a snapshot of its\n"
		"                              state machine now, due or not\n"
		"  describe --replication [--human-readable]\n"
		"                              every replica's log end, lag and fetch times\n"
		"  append VALUE...             append the values as one batch to the leader; "
		"prints\n"
		"                              each value's offset once committed (retries with "
		"the\n"
		"                              same producer id and sequence, so never twice)\n"
		"  --repeat N append VALUE...  latency mode: append the batch N times, one at a\n"
		"                              time; print commit latency percentiles\n"
		"  --input F append            the values of file F, one per line (- reads\n"
		"                              standard input)\n"
		"  read --from N [--max M] [--follow]\n"
		"                              committed records from offset N (any node); with\n"
		"                              --follow, wait for new ones until interrupted\n"
		"  add-voter --id N --directory-id D --endpoint A.B.C.D:PORT\n"
		"                              make the node whose directory is D (kraftd "
		"inspect,\n"
		"                              or its meta.properties) a voter; it must replicate\n"
		"                              as an observer caught up with the leader first\n"
		"  add-voter --config F        the same, read from the new node's own properties\n"
		"                              file (node.id, its directory's id, its listener),\n"
		"                              as kafka-metadata-quorum.sh add-controller does\n"
		"  remove-voter --id N --directory-id D\n"
		"                              remove that voter (a replaced disk: remove the old\n"
		"                              directory, then add the new one)\n"
		"  update-voter --id N --directory-id D --endpoint A.B.C.D:PORT\n"
		"                              move a voter's dataplane endpoint\n"
		"                              (each waits until the change commits; a cluster\n"
		"                              formatted with --initial-controllers or "
		"--standalone)\n"
		"\n"
		"Options:\n"
		"  --json                      machine-readable output (read: one object per "
		"line)\n"
		"  --timeout-ms MS             give up after this long (default 10000; per append\n"
		"                              with --repeat)\n"
		"  --auth-key-file F           the cluster key (kraftd.auth.key.file) for a "
		"cluster\n"
		"                              with authentication on: requests are sealed with\n"
		"                              it and answers without a good MAC ignored\n"
		"                              (default: $KRAFTD_AUTH_KEY_FILE, else off)\n"
		"  -h, --help                  this text\n"
		"\n"
		"Options go before the command: after `append` every argument is a value.\n"
		"\n"
		"Exit status: 0 done, 1 failed (the reason is printed), 2 bad arguments, 3 append\n"
		"or voter change outcome unknown (it may or may not have been committed).\n");
}

/* ---- requests ---- */

static void
to_sockaddr(const uint8_t ip[4], uint16_t port, struct sockaddr_in *a)
{
	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	memcpy(&a->sin_addr.s_addr, ip, 4);
	a->sin_port = htons(port);
}

static void
fmt_sockaddr(const struct sockaddr_in *a, char *buf, size_t n)
{
	char ip[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &a->sin_addr, ip, sizeof(ip));
	snprintf(buf, n, "%s:%u", ip, ntohs(a->sin_port));
}

/* Once, when a request goes unanswered: answers that failed authentication say why. */
static void
auth_hint(void)
{
	static bool said;
	uint64_t bad = 0;

	for (unsigned w = 0; w < KR_AUTH_DROP_COUNT; w++)
		bad += kr_tool_auth.drops[w];
	if (bad == 0 || said)
		return;
	said = true;
	fprintf(stderr,
		"kraftctl: %" PRIu64 " answer(s) failed authentication (%s): does the key file "
		"hold this cluster's key (or does the cluster use one at all)?\n",
		bad,
		kr_tool_auth.drops[KR_AUTH_DROP_MISSING] ? "no MAC"
		: kr_tool_auth.drops[KR_AUTH_DROP_STALE] ? "clocks apart"
							 : "another key");
}

/* Targets the kernel told us nobody listens at (ICMP port unreachable, delivered on the
 * socket's error queue by IP_RECVERR): marked in refused[] by address. */
static int
note_refusals(struct ctl *c, const struct sockaddr_in *to, int n, bool *refused)
{
	int found = 0;

	for (;;) {
		struct sockaddr_in dst;
		char cbuf[256];
		uint8_t junk[64];
		struct iovec iov = {.iov_base = junk, .iov_len = sizeof(junk)};
		struct msghdr msg = {.msg_name = &dst,
				     .msg_namelen = sizeof(dst),
				     .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf)};

		if (recvmsg(c->fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0)
			return found;
		for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
			const struct sock_extended_err *ee = (const void *)CMSG_DATA(cm);

			if (cm->cmsg_level != SOL_IP || cm->cmsg_type != IP_RECVERR ||
			    ee->ee_origin != SO_EE_ORIGIN_ICMP || ee->ee_type != 3 ||
			    ee->ee_code != 3) /* destination unreachable: port */
				continue;
			for (int i = 0; i < n; i++)
				if (!refused[i] && to[i].sin_addr.s_addr == dst.sin_addr.s_addr &&
				    to[i].sin_port == dst.sin_port) {
					refused[i] = true;
					found++;
				}
		}
	}
}

struct piece {
	struct ctl *c;
	const struct sockaddr_in *to;
};

static void
send_piece(void *arg, uint8_t *frame, size_t n)
{
	struct piece *p = arg;

	kr_tool_auth_seal(frame, n); /* each send a new sequence */
	(void)sendto(p->c->fd, frame, n, 0, (const struct sockaddr *)p->to, sizeof(*p->to));
}

/* Send the request (len bytes at c->tx, or with big set, a message at c->big to be cut
 * into fragments) to one target. */
static void
send_request(struct ctl *c, const struct sockaddr_in *to, int len, bool big)
{
	struct piece p = {c, to};

	if (big) {
		if (kr_tool_fragments(c->big, (uint32_t)len, KR_MGMT_DGRAM_MAX, &c->msg_id,
				      send_piece, &p) != 0)
			die("a %d-byte request cannot be cut into fragments", len);
		return;
	}
	kr_tool_auth_seal(c->tx, (size_t)len); /* each send a new sequence */
	/* an earlier target's refusal may be reported by this send, which then did not go:
	 * once more */
	if (sendto(c->fd, c->tx, (size_t)len, 0, (const struct sockaddr *)to, sizeof(*to)) < 0 &&
	    errno == ECONNREFUSED)
		(void)sendto(c->fd, c->tx, (size_t)len, 0, (const struct sockaddr *)to,
			     sizeof(*to));
}

/* An answer that came as fragments: put together in c->whole, then *f is that message
 * (it carries no trailer: each fragment was checked). 0: f is a whole answer; -1: not
 * yet, or refused. */
static int
take_fragment(struct ctl *c, const struct sockaddr_in *from, struct kr_frame *f)
{
	struct kr_msg m;
	const uint8_t *msg;
	uint32_t len, slot;

	if (kr_msg_decode(f, &m) != 0 ||
	    kr_reasm_put(&c->reasm, (uint64_t)from->sin_addr.s_addr << 16 | from->sin_port,
			 &m.u.fragment.f, m.u.fragment.data, m.u.fragment.data_len, now_ms() * 1000,
			 &msg, &len, &slot) != KR_REASM_DONE)
		return -1;
	memcpy(c->whole, msg, len);
	kr_reasm_release(&c->reasm, slot);
	if (kr_frame_decode(NULL, c->whole, len, f) != 0 || f->auth != NULL ||
	    f->hdr.api == KR_API_FRAGMENT)
		return -1;
	return 0;
}

/* Send m to every target in to[0..n) (each again every RESEND_MS) and wait for the first
 * answer of api `want` with our correlation id, for at most wait_ms. A target nobody
 * listens at is not asked again; a wait past a second says what it waits for.
 * @return the index of the target that answered (0 if it answered from another
 * address) with *f and *r filled, -ETIMEDOUT, or -ECONNREFUSED (nobody listens at any). */
static int
request_any(struct ctl *c, const struct sockaddr_in *to, int n, const struct kr_msg *m,
	    unsigned want, int64_t wait_ms, struct kr_frame *f, struct kr_msg *r)
{
	struct kr_frame_hdr h = {.sender_id = KR_NODE_NONE,
				 .correlation_id = ++c->corr,
				 .flags = kr_tool_auth_flags()};
	int64_t start = now_ms(), end = start + wait_ms, next = 0;
	int len = kr_frame_encode(c->tx, KR_MGMT_DGRAM_MAX, &h, m);
	bool refused[16] = {false}, said = false, big = false;
	int n_refused = 0;

	if (len == -KR_WIRE_ENOSPACE) { /* larger than the listener's datagrams: fragments */
		h.flags = 0;		/* each fragment carries the trailer */
		len = kr_frame_encode(c->big, KR_MSG_MAX, &h, m);
		big = true;
	}
	if (len < 0)
		die("cannot encode the request: %s", kr_wire_status_text(len));
	if (n > 16)
		n = 16;
	for (;;) {
		int64_t t = now_ms(), until;
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t got;
		int idx = 0;

		if (interrupted)
			exit(130);
		if (n_refused == n)
			return -ECONNREFUSED;
		if (t >= end) {
			auth_hint();
			return -ETIMEDOUT;
		}
		if (!said && t - start >= 1000) {
			char a[32];

			said = true;
			fmt_sockaddr(&to[0], a, sizeof(a));
			fprintf(stderr,
				"kraftctl: waiting for %s from %s%s (up to %" PRId64 " ms more)\n",
				kr_api_name(want), a, n > 1 ? " or another bootstrap server" : "",
				end - t);
		}
		if (t >= next) {
			for (int i = 0; i < n; i++)
				if (!refused[i])
					send_request(c, &to[i], len, big);
			next = t + RESEND_MS;
		}
		until = next < end ? next : end;
		if (!said && start + 1000 < until)
			until = start + 1000;
		if (poll(&p, 1, (int)(until - t)) <= 0)
			continue;
		if (p.revents & POLLERR) {
			n_refused += note_refusals(c, to, n, refused);
			continue;
		}
		got = recvfrom(c->fd, c->rx, sizeof(c->rx), 0, (struct sockaddr *)&from, &fl);
		if (got < 0)
			continue;
		/* a client checks the frame itself; the cluster id must stay the same */
		if (kr_frame_decode(NULL, c->rx, (size_t)got, f) != 0 ||
		    !kr_tool_auth_ok(c->rx, (size_t)got, f) ||
		    (f->hdr.api == KR_API_FRAGMENT && take_fragment(c, &from, f) != 0) ||
		    f->hdr.correlation_id != c->corr || f->hdr.api != want ||
		    kr_msg_decode(f, r) != 0)
			continue;
		for (int i = 0; i < n; i++)
			if (to[i].sin_addr.s_addr == from.sin_addr.s_addr &&
			    to[i].sin_port == from.sin_port)
				idx = i;
		if (c->have_cluster && memcmp(f->hdr.cluster_id, c->cluster, KR_UUID_BYTES) != 0) {
			char a[32];

			fmt_sockaddr(&from, a, sizeof(a));
			die("%s belongs to another cluster", a);
		}
		return idx;
	}
}

/* One target: 0 with *f and *r filled, or -ETIMEDOUT / -ECONNREFUSED. */
static int
request(struct ctl *c, const struct sockaddr_in *to, const struct kr_msg *m, unsigned want,
	int64_t wait_ms, struct kr_frame *f, struct kr_msg *r)
{
	int rc = request_any(c, to, 1, m, want, wait_ms, f, r);

	if (rc == -ECONNREFUSED)
		usleep(50000); /* nobody there (a node restarting): callers ask again */
	return rc < 0 ? rc : 0;
}

static int64_t
left_ms(const struct ctl *c)
{
	int64_t l = c->deadline_ms - now_ms();

	return l > 0 ? l : 0;
}

/* Learn every node's addresses from the first bootstrap server that answers: all are
 * asked at once, so a dead one costs nothing once another answers. */
static void
discover(struct ctl *c)
{
	struct kr_msg m = {.api = KR_API_DESCRIBE_NODES}, r;
	struct kr_frame f;
	char list[16 * 24] = "";
	int i;

	for (int k = 0; k < c->n_boot; k++) {
		char a[32];

		fmt_sockaddr(&c->boot[k], a, sizeof(a));
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", k ? ", " : "",
			 a);
	}
	i = request_any(c, c->boot, c->n_boot, &m, KR_API_DESCRIBE_NODES_RESP, left_ms(c), &f, &r);
	if (i == -ECONNREFUSED)
		die("nothing listens at %s (the kernel answered port unreachable): "
		    "--bootstrap-server takes a node's management listener, its dataplane port + "
		    "kraftd.management.port.offset (100)",
		    list);
	if (i < 0)
		die("no answer from %s within %" PRId64 " ms%s", list, c->timeout_ms,
		    kr_tool_auth.on
			    ? " (a node with authentication on drops requests made with "
			      "another key, silently: is --auth-key-file the cluster's key?)"
			    : " (a node with authentication on drops requests without a MAC, "
			      "silently: give --auth-key-file if the cluster has a key)");
	if (r.u.nodes_resp.n == 1) {
		struct kr_node_info ni;

		kr_nodes_entry(&r.u.nodes_resp, 0, &ni);
		if (ni.flags & KR_NODE_F_DATAPLANE) {
			char a[32];

			fmt_sockaddr(&c->boot[i], a, sizeof(a));
			fprintf(stderr,
				"kraftctl: %s is node %d's dataplane port; asking its management "
				"listener, port %u (--bootstrap-server takes that one)\n",
				a, ni.node_id, ni.mgmt_port);
			to_sockaddr(ni.ip, ni.mgmt_port, &c->boot[0]);
			c->n_boot = 1;
			discover(c);
			return;
		}
	}
	memcpy(c->cluster, f.hdr.cluster_id, KR_UUID_BYTES);
	c->have_cluster = true;
	c->n_nodes = 0;
	for (unsigned k = 0; k < r.u.nodes_resp.n; k++) {
		struct kr_node_info ni;
		struct node *nd = &c->nodes[c->n_nodes++];

		kr_nodes_entry(&r.u.nodes_resp, k, &ni);
		nd->id = ni.node_id;
		nd->voter = ni.flags & KR_NODE_F_VOTER;
		to_sockaddr(ni.ip, ni.mgmt_port, &nd->mgmt);
		nd->dp.ip = (uint32_t)ni.ip[0] << 24 | ni.ip[1] << 16 | ni.ip[2] << 8 | ni.ip[3];
		nd->dp.port = ni.port;
		if (ni.flags & KR_NODE_F_SELF) {
			nd->mgmt = c->boot[i]; /* as the user reaches it */
			c->first = c->n_nodes - 1;
		}
	}
	if (i != 0) { /* the one that answered goes first (read asks it) */
		struct sockaddr_in t = c->boot[0];

		c->boot[0] = c->boot[i];
		c->boot[i] = t;
	}
}

static const struct node *
node_by_id(const struct ctl *c, int32_t id)
{
	for (int i = 0; i < c->n_nodes; i++)
		if (c->nodes[i].id == id)
			return &c->nodes[i];
	return NULL;
}

/* Where to send a leader-only request next: the hinted leader, else the next node. */
static const struct node *
next_target(const struct ctl *c, int32_t hint, int *rr)
{
	const struct node *n = hint >= 0 ? node_by_id(c, hint) : NULL;

	if (n != NULL)
		return n;
	n = &c->nodes[(c->first + *rr) % c->n_nodes];
	(*rr)++;
	return n;
}

static void
pause_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/* ---- describe ---- */

static void
print_uuid_or_null(FILE *f, const uint8_t id[KR_UUID_BYTES], bool quoted)
{
	char t[KR_UUID_TEXT_LEN + 1];

	if (kr_uuid_is_zero(id)) {
		fputs("null", f);
		return;
	}
	kr_uuid_format(id, t);
	fprintf(f, quoted ? "\"%s\"" : "%s", t);
}

static void
print_replica_list(const struct ctl *c, const struct kr_describe_resp *d, bool voters)
{
	unsigned from = voters ? 0 : d->n_voters;
	unsigned to = voters ? d->n_voters : (unsigned)d->n_voters + d->n_observers;
	bool first = true;

	putchar('[');
	for (unsigned i = from; i < to; i++) {
		struct kr_replica_info ri;
		const struct node *nd;
		char ep[32];

		kr_describe_replica(d, i, &ri);
		nd = node_by_id(c, ri.replica_id);
		printf("%s{\"id\": %d, \"directoryId\": ", first ? "" : ", ", ri.replica_id);
		print_uuid_or_null(stdout, ri.directory_id, true);
		printf(", \"endpoints\": [");
		if (nd != NULL) {
			kr_endpoint_format(&nd->dp, ep, sizeof(ep));
			printf("\"CONTROLLER://%s\"", ep);
		}
		printf("]}");
		first = false;
	}
	putchar(']');
}

static void
get_describe(struct ctl *c, struct kr_frame *f, struct kr_msg *r)
{
	struct kr_msg m = {.api = KR_API_DESCRIBE_QUORUM};
	int32_t hint = KR_NODE_NONE;
	int rr = 0;
	/* what each node said last, for an outage: -2 nothing yet, -1 no answer */
	struct {
		int said;
		int32_t leader;
		uint32_t epoch;
	} heard[KR_REPLICAS_MAX];
	char text[KR_REPLICAS_MAX * 64] = "";

	for (int i = 0; i < c->n_nodes; i++)
		heard[i].said = -2;
	while (left_ms(c) > 0) {
		const struct node *t = next_target(c, hint, &rr);
		int64_t w = left_ms(c) < 500 ? left_ms(c) : 500;
		int k = (int)(t - c->nodes);

		if (request(c, &t->mgmt, &m, KR_API_DESCRIBE_QUORUM_RESP, w, f, r) != 0) {
			heard[k].said = -1;
			hint = KR_NODE_NONE;
			continue;
		}
		if (r->u.describe_resp.error == KR_ERR_NONE)
			return;
		heard[k].said = 1;
		heard[k].leader = r->u.describe_resp.leader_id;
		heard[k].epoch = r->u.describe_resp.epoch;
		hint = r->u.describe_resp.leader_id;
		if (hint < 0 || hint == t->id)
			pause_ms(50); /* an election is on: ask again shortly */
	}
	for (int i = 0; i < c->n_nodes; i++) {
		size_t used = strlen(text);

		if (heard[i].said == -2)
			continue;
		if (heard[i].said == -1)
			snprintf(text + used, sizeof(text) - used, "\n  node %d: no answer",
				 c->nodes[i].id);
		else if (heard[i].leader < 0)
			snprintf(text + used, sizeof(text) - used,
				 "\n  node %d: knows no leader (epoch %u)", c->nodes[i].id,
				 heard[i].epoch);
		else
			snprintf(text + used, sizeof(text) - used,
				 "\n  node %d: names leader %d (epoch %u)", c->nodes[i].id,
				 heard[i].leader, heard[i].epoch);
	}
	die("no leader answered DescribeQuorum within %" PRId64 " ms; what the nodes said:%s",
	    c->timeout_ms, text);
}

static const char *
op_word(unsigned op)
{
	return op == KR_VOTERS_OP_ADD ? "add" : op == KR_VOTERS_OP_REMOVE ? "remove" : "update";
}

/* The pending voter change the leader reported, as text (JSON: an object or null). */
static void
print_pending(const struct kr_describe_resp *d, bool json)
{
	struct kr_replica_info ri;
	char dir[KR_UUID_TEXT_LEN + 1];

	for (unsigned i = 0; d->pending && i < (unsigned)d->n_voters + d->n_observers; i++) {
		kr_describe_replica(d, i, &ri);
		if (!(ri.flags & KR_REPLICA_F_PENDING))
			continue;
		kr_uuid_format(ri.directory_id, dir);
		if (json)
			printf("{\"op\": \"%s\", \"id\": %d, \"directoryId\": \"%s\"}",
			       op_word(d->pending), ri.replica_id, dir);
		else
			printf("%s %d (directory %s), not yet committed", op_word(d->pending),
			       ri.replica_id, dir);
		return;
	}
	if (d->pending) /* the voter has no replica slot on the leader yet */
		printf(json ? "{\"op\": \"%s\"}" : "%s, not yet committed", op_word(d->pending));
	else
		printf(json ? "null" : "none");
}

static int
cmd_describe(struct ctl *c, bool status)
{
	struct kr_frame f;
	struct kr_msg r;
	struct kr_describe_resp *d = &r.u.describe_resp;
	struct kr_replica_info leader = {0}, ri;
	char cid[KR_UUID_TEXT_LEN + 1];
	uint64_t min_leo = UINT64_MAX;
	int laggiest = -1;
	int64_t now_wall;
	struct timespec ts;

	get_describe(c, &f, &r);
	clock_gettime(CLOCK_REALTIME, &ts);
	now_wall = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	kr_uuid_format(c->cluster, cid);
	for (unsigned i = 0; i < (unsigned)d->n_voters + d->n_observers; i++) {
		kr_describe_replica(d, i, &ri);
		if (ri.replica_id == d->leader_id)
			leader = ri;
		if (i < d->n_voters && ri.log_end_offset != KR_OFFSET_NONE &&
		    ri.log_end_offset < min_leo) {
			min_leo = ri.log_end_offset;
			laggiest = (int)i;
		}
	}
	if (status) {
		int64_t lag_ms = -1;
		uint64_t lag = 0;

		if (laggiest >= 0) {
			kr_describe_replica(d, (unsigned)laggiest, &ri);
			lag = leader.log_end_offset - ri.log_end_offset;
			if (ri.replica_id == d->leader_id || lag == 0)
				lag_ms = 0;
			else if (ri.last_caught_up_us >= 0 && leader.last_caught_up_us >= 0)
				lag_ms = (leader.last_caught_up_us - ri.last_caught_up_us) / 1000;
		}
		if (c->json) {
			printf("{\"clusterId\": \"%s\", \"leaderId\": %d, \"leaderEpoch\": %u, "
			       "\"highWatermark\": %" PRId64 ", \"maxFollowerLag\": %" PRIu64
			       ", \"maxFollowerLagTimeMs\": %" PRId64 ", \"currentVoters\": ",
			       cid, d->leader_id, d->epoch,
			       d->high_watermark == KR_OFFSET_NONE ? -1
								   : (int64_t)d->high_watermark,
			       lag, lag_ms);
			print_replica_list(c, d, true);
			printf(", \"currentObservers\": ");
			print_replica_list(c, d, false);
			printf(", \"pendingVoterChange\": ");
			print_pending(d, true);
			printf("}\n");
			return 0;
		}
		printf("ClusterId:              %s\n", cid);
		printf("LeaderId:               %d\n", d->leader_id);
		printf("LeaderEpoch:            %u\n", d->epoch);
		printf("HighWatermark:          %" PRId64 "\n",
		       d->high_watermark == KR_OFFSET_NONE ? -1 : (int64_t)d->high_watermark);
		printf("MaxFollowerLag:         %" PRIu64 "\n", lag);
		printf("MaxFollowerLagTimeMs:   %" PRId64 "\n", lag_ms);
		printf("CurrentVoters:          ");
		print_replica_list(c, d, true);
		printf("\nCurrentObservers:       ");
		print_replica_list(c, d, false);
		printf("\nPendingVoterChange:     ");
		print_pending(d, false);
		printf("\n");
		return 0;
	}

	/* --replication: Leader, then Followers, then Observers */
	char rows[KR_REPLICAS_MAX + 1][7][48];
	int nrows = 0, width[7] = {0};
	static const char *const head[7] = {"NodeId", "DirectoryId",	    "LogEndOffset",
					    "Lag",    "LastFetchTimestamp", "LastCaughtUpTimestamp",
					    "Status"};

	if (c->json)
		printf("[");
	for (int pass = 0; pass < 3; pass++) {
		for (unsigned i = 0; i < (unsigned)d->n_voters + d->n_observers; i++) {
			const char *st = i >= d->n_voters ? "Observer" : "Follower";
			int64_t leo, lag, lf, lc;
			char dir[KR_UUID_TEXT_LEN + 1] = "null";

			kr_describe_replica(d, i, &ri);
			if (ri.replica_id == d->leader_id)
				st = "Leader";
			if ((pass == 0) != (strcmp(st, "Leader") == 0) ||
			    (pass == 1 && strcmp(st, "Follower") != 0) ||
			    (pass == 2 && strcmp(st, "Observer") != 0))
				continue;
			if (!kr_uuid_is_zero(ri.directory_id))
				kr_uuid_format(ri.directory_id, dir);
			leo = ri.log_end_offset == KR_OFFSET_NONE ? -1 : (int64_t)ri.log_end_offset;
			lag = leo < 0 ? -1 : (int64_t)leader.log_end_offset - leo;
			lf = ri.last_fetch_us < 0 ? -1 : ri.last_fetch_us / 1000;
			lc = ri.last_caught_up_us < 0 ? -1 : ri.last_caught_up_us / 1000;
			char stb[48];

			if (ri.flags & KR_REPLICA_F_PENDING) { /* "Follower (pending add)" */
				snprintf(stb, sizeof(stb), "%s (pending %s)", st,
					 op_word(d->pending));
				st = stb;
			}
			if (c->json) {
				printf("%s{\"nodeId\": %d, \"directoryId\": %s%s%s, "
				       "\"logEndOffset\": "
				       "%" PRId64 ", \"lag\": %" PRId64
				       ", \"lastFetchTimestamp\": %" PRId64
				       ", \"lastCaughtUpTimestamp\": %" PRId64
				       ", \"status\": \"%s\"}",
				       nrows ? ", " : "", ri.replica_id,
				       strcmp(dir, "null") ? "\"" : "", dir,
				       strcmp(dir, "null") ? "\"" : "", leo, lag, lf, lc, st);
				nrows++;
				continue;
			}
			snprintf(rows[nrows][0], 48, "%d", ri.replica_id);
			snprintf(rows[nrows][1], 48, "%s", dir);
			snprintf(rows[nrows][2], 48, "%" PRId64, leo);
			snprintf(rows[nrows][3], 48, "%" PRId64, lag);
			if (c->human) {
				snprintf(rows[nrows][4], 48, lf < 0 ? "-1" : "%" PRId64 " ms ago",
					 now_wall - lf);
				snprintf(rows[nrows][5], 48, lc < 0 ? "-1" : "%" PRId64 " ms ago",
					 now_wall - lc);
			} else {
				snprintf(rows[nrows][4], 48, "%" PRId64, lf);
				snprintf(rows[nrows][5], 48, "%" PRId64, lc);
			}
			snprintf(rows[nrows][6], 48, "%s", st);
			nrows++;
		}
	}
	if (c->json) {
		printf("]\n");
		return 0;
	}
	for (int k = 0; k < 7; k++) {
		width[k] = (int)strlen(head[k]);
		for (int i = 0; i < nrows; i++)
			if ((int)strlen(rows[i][k]) > width[k])
				width[k] = (int)strlen(rows[i][k]);
	}
	for (int k = 0; k < 7; k++)
		printf("%-*s%s", k < 6 ? width[k] : 0, head[k], k < 6 ? "  " : "\n");
	for (int i = 0; i < nrows; i++)
		for (int k = 0; k < 7; k++)
			printf("%-*s%s", k < 6 ? width[k] : 0, rows[i][k], k < 6 ? "  " : "\n");
	return 0;
}

/* ---- append ---- */

static void
json_string(const uint8_t *p, uint32_t n)
{
	putchar('"');
	for (uint32_t i = 0; i < n; i++) {
		uint8_t ch = p[i];

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

/* Append m until a leader commits it: follows leader hints, retries with the same
 * producer id and sequence (the leader drops a duplicate). Dies on a refusal; exits 3 when
 * the outcome stays unknown. */
static void
append_one(struct ctl *c, const struct kr_msg *m, int32_t *hint, int *rr, int *tries,
	   struct kr_frame *f, struct kr_msg *r)
{
	while (left_ms(c) > 0) {
		const struct node *t = next_target(c, *hint, rr);
		int64_t w = left_ms(c) < 1000 ? left_ms(c) : 1000;
		struct kr_append_resp *a = &r->u.append_resp;

		(*tries)++;
		if (request(c, &t->mgmt, m, KR_API_APPEND_RESP, w, f, r) != 0) {
			*hint = KR_NODE_NONE; /* outcome unknown: retry, same producer and sequence */
			continue;
		}
		if (a->error == KR_ERR_NONE && !a->outcome_unknown) {
			*hint = f->hdr.sender_id; /* the leader, for the next append */
			return;
		}
		if (a->outcome_unknown || a->error == KR_ERR_NOT_LEADER_OR_FOLLOWER ||
		    a->error == KR_ERR_BUSY || a->error == KR_ERR_BROKER_NOT_AVAILABLE) {
			*hint = a->outcome_unknown ? KR_NODE_NONE : a->leader_id;
			if (*hint < 0 || *hint == t->id || a->error == KR_ERR_BUSY)
				pause_ms(50);
			continue;
		}
		die("append refused by node %d: %s (%s)", f->hdr.sender_id, kr_error_name(a->error),
		    kr_error_text(a->error));
	}
	fprintf(stderr,
		"kraftctl: append: outcome unknown: no leader confirmed it within %" PRId64
		" ms (producer id %" PRIu64 ", sequence %" PRIu64
		"; it may or may not be committed)\n",
		c->timeout_ms, m->u.append.producer_id, m->u.append.sequence);
	exit(3);
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Latency mode: the batch `repeat` times, one at a time; percentiles of the time from
 * sending each append to its commit acknowledgement. */
static void
append_repeat(struct ctl *c, struct kr_msg *m, int nvalues, int64_t repeat)
{
	int64_t *lat = calloc((size_t)repeat, sizeof(int64_t)), first = -1, total_us;
	struct timespec t0, t1;
	struct kr_msg r;
	struct kr_frame f;
	int32_t hint = KR_NODE_NONE;
	int rr = 0, tries = 0;

	if (lat == NULL)
		die("append: out of memory");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int64_t k = 0; k < repeat; k++) {
		struct timespec s, e;

		m->u.append.sequence = (uint64_t)k;
		c->deadline_ms = now_ms() + c->timeout_ms;
		clock_gettime(CLOCK_MONOTONIC, &s);
		append_one(c, m, &hint, &rr, &tries, &f, &r);
		clock_gettime(CLOCK_MONOTONIC, &e);
		lat[k] = (e.tv_sec - s.tv_sec) * 1000000 + (e.tv_nsec - s.tv_nsec) / 1000;
		if (first < 0)
			first = (int64_t)r.u.append_resp.base_offset;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	total_us = (t1.tv_sec - t0.tv_sec) * 1000000 + (t1.tv_nsec - t0.tv_nsec) / 1000;
	qsort(lat, (size_t)repeat, sizeof(*lat), cmp_i64);
#define PCT(p) lat[(int64_t)((double)(repeat - 1) * (p))]
	printf(c->json ? "{\"appends\": %" PRId64 ", \"recordsPerAppend\": %d, \"leaderId\": %d, "
			 "\"latencyUs\": {\"min\": %" PRId64 ", \"p50\": %" PRId64
			 ", \"p90\": %" PRId64 ", \"p99\": %" PRId64 ", \"max\": %" PRId64
			 "}, \"appendsPerSecond\": %.0f, \"firstOffset\": %" PRId64 "}\n"
		       : "%" PRId64 " appends of %d record(s), one at a time, to leader %d\n"
			 "commit latency us: min %" PRId64 "  p50 %" PRId64 "  p90 %" PRId64
			 "  p99 %" PRId64 "  max %" PRId64 "  (%.0f appends/s, from offset %" PRId64
			 ")\n",
	       repeat, nvalues, f.hdr.sender_id, lat[0], PCT(0.5), PCT(0.9), PCT(0.99),
	       lat[repeat - 1], (double)repeat * 1e6 / (double)total_us, first);
#undef PCT
	free(lat);
}

static int
cmd_append(struct ctl *c, int argc, char **argv, int64_t repeat)
{
	static uint8_t records[KR_BATCH_BYTES_MAX];
	uint32_t len = 0;
	struct kr_msg m = {.api = KR_API_APPEND}, r;
	struct kr_append_resp *a = &r.u.append_resp;
	struct kr_frame f;
	int32_t hint = KR_NODE_NONE;
	int rr = 0, tries = 0;
	uint64_t pid = 0;

	if (argc == 0)
		die("append: give at least one VALUE");
	if ((uint32_t)argc > KR_BATCH_RECORDS_MAX)
		die("append: %d values: a batch holds at most %u records", argc,
		    KR_BATCH_RECORDS_MAX);
	for (int i = 0; i < argc; i++) {
		size_t vl = strlen(argv[i]);

		if (len + 4 + vl > KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES)
			die("append: the values do not fit in one batch (%u bytes)",
			    KR_BATCH_BYTES_MAX);
		kr_put_le32(records + len, (uint32_t)vl);
		memcpy(records + len + 4, argv[i], vl);
		len += 4 + (uint32_t)vl;
	}
	while (pid == 0)
		if (getrandom(&pid, sizeof(pid), 0) != sizeof(pid))
			die("append: no randomness for a producer id");
	pid >>= 1; /* positive, as Kafka's producer ids */
	m.u.append = (struct kr_append_req){.producer_id = pid,
					    .sequence = 0,
					    .record_count = (uint32_t)argc,
					    .records = records,
					    .records_len = len};
	if (repeat > 1) {
		append_repeat(c, &m, argc, repeat);
		return 0;
	}
	append_one(c, &m, &hint, &rr, &tries, &f, &r);
	if (c->json) {
		printf("{\"baseOffset\": %" PRIu64 ", \"count\": %u, \"leaderId\": %d, "
		       "\"leaderEpoch\": %u, \"producerId\": %" PRIu64 ", \"attempts\": %d, "
		       "\"records\": [",
		       a->base_offset, a->record_count, f.hdr.sender_id, a->epoch, pid, tries);
		for (int i = 0; i < argc; i++) {
			printf("%s{\"offset\": %" PRIu64 ", \"value\": ", i ? ", " : "",
			       a->base_offset + (uint64_t)i);
			json_string((const uint8_t *)argv[i], (uint32_t)strlen(argv[i]));
			printf("}");
		}
		printf("]}\n");
	} else {
		for (int i = 0; i < argc; i++)
			printf("%" PRIu64 "\t%s\n", a->base_offset + (uint64_t)i, argv[i]);
		fprintf(stderr,
			"kraftctl: committed %d record%s at offsets %" PRIu64 "..%" PRIu64
			" (leader %d, epoch %u)\n",
			argc, argc > 1 ? "s" : "", a->base_offset,
			a->base_offset + (uint64_t)argc - 1, f.hdr.sender_id, a->epoch);
	}
	return 0;
}

/* ---- voter changes ---- */

/* add-voter, remove-voter, update-voter: one VOTERS_CHANGE to the leader, answered once
 * the change committed. Leader hints are followed; REQUEST_TIMED_OUT (the leader has not
 * committed its epoch yet, another change is in progress, the new voter has not caught
 * up) and ENDPOINT_UNREACHABLE (the endpoint did not answer a PING: a node still
 * starting) are asked again until the timeout, which then says why. */
static int
cmd_voters(struct ctl *c, enum kr_voters_op op, int32_t id, const uint8_t dir[KR_UUID_BYTES],
	   const struct kr_endpoint *ep)
{
	static const char *const done[] = {"", "added", "removed", "updated"};
	struct kr_msg m = {.api = KR_API_VOTERS_CHANGE}, r;
	struct kr_voters_change_resp *a = &r.u.voters_change_resp;
	struct kr_frame f;
	int32_t hint = KR_NODE_NONE;
	int rr = 0;
	uint16_t last = KR_ERR_NONE, said = KR_ERR_NONE;
	char dtext[KR_UUID_TEXT_LEN + 1];

	kr_uuid_format(dir, dtext);
	m.u.voters_change = (struct kr_voters_change_req){
		.op = (uint8_t)op, .voter_id = id, .ip = ep->ip, .port = ep->port};
	memcpy(m.u.voters_change.directory_id, dir, KR_UUID_BYTES);
	while (left_ms(c) > 0) {
		const struct node *t = next_target(c, hint, &rr);
		int64_t w = left_ms(c) < 2000 ? left_ms(c) : 2000;

		if (request(c, &t->mgmt, &m, KR_API_VOTERS_CHANGE_RESP, w, &f, &r) != 0) {
			hint = KR_NODE_NONE;
			continue;
		}
		if (a->outcome_unknown) {
			fprintf(stderr,
				"kraftctl: voter %d: outcome unknown: leader %d lost office before "
				"the change committed (describe --status shows the voters in "
				"force)\n",
				id, f.hdr.sender_id);
			return 3;
		}
		if (a->error == KR_ERR_NONE) {
			if (c->json)
				printf("{\"voterId\": %d, \"directoryId\": \"%s\", \"change\": "
				       "\"%s\", \"offset\": %" PRIu64 ", \"leaderId\": %d, "
				       "\"leaderEpoch\": %u}\n",
				       id, dtext, done[op], a->offset, f.hdr.sender_id, a->epoch);
			else
				printf("voter %d (directory %s) %s: the voters record at offset "
				       "%" PRIu64 " committed (leader %d, epoch %u)\n",
				       id, dtext, done[op], a->offset, f.hdr.sender_id, a->epoch);
			return 0;
		}
		if (a->error != said && a->error != KR_ERR_NOT_LEADER_OR_FOLLOWER &&
		    c->timeout_ms - left_ms(c) >= 1000) { /* a long wait says what it waits for */
			fprintf(stderr,
				"kraftctl: voter %d: still asking; node %d answers %s (%s)\n", id,
				f.hdr.sender_id, kr_error_name(a->error), kr_error_text(a->error));
			said = a->error;
		}
		last = a->error;
		if (a->error == KR_ERR_NOT_LEADER_OR_FOLLOWER ||
		    a->error == KR_ERR_REQUEST_TIMED_OUT) {
			hint = a->error == KR_ERR_NOT_LEADER_OR_FOLLOWER ? a->leader_id
									 : f.hdr.sender_id;
			pause_ms(a->error == KR_ERR_REQUEST_TIMED_OUT || hint < 0 || hint == t->id
					 ? 200
					 : 0);
			continue;
		}
		if (a->error ==
		    KR_ERR_ENDPOINT_UNREACHABLE) { /* a node still starting answers soon */
			pause_ms(200);
			continue;
		}
		fprintf(stderr, "kraftctl: voter %d (directory %s): refused by node %d: %s (%s)\n",
			id, dtext, f.hdr.sender_id, kr_error_name(a->error),
			kr_error_text(a->error));
		return 1;
	}
	fprintf(stderr, "kraftctl: voter %d (directory %s): not done within %" PRId64 " ms%s%s%s\n",
		id, dtext, c->timeout_ms, last != KR_ERR_NONE ? " (last answer: " : "",
		last != KR_ERR_NONE ? kr_error_name(last) : "", last != KR_ERR_NONE ? ")" : "");
	if (last == KR_ERR_REQUEST_TIMED_OUT && op == KR_VOTERS_OP_ADD)
		fprintf(stderr, "kraftctl: a node is added only once it replicates as an observer "
				"caught up with the leader (describe --replication)\n");
	if (last == KR_ERR_ENDPOINT_UNREACHABLE) {
		char et[32];

		kr_endpoint_format(ep, et, sizeof(et));
		fprintf(stderr,
			"kraftctl: %s did not answer a PING from the node that took the change: is "
			"the node running there, in this cluster? Nothing was changed.\n",
			et);
	}
	return 1;
}

/* The voter a node's own properties file names, as kafka-metadata-quorum's add-controller
 * reads it: node.id, the directory id in metadata.log.dir/meta.properties, and the
 * node's dataplane listener. */
static void
voter_from_config(const char *path, int64_t *id, uint8_t dir[KR_UUID_BYTES], struct kr_endpoint *ep)
{
	static char text[65536];
	struct kr_node_config cfg;
	struct kr_identity ident;
	char err[4096];
	FILE *f = fopen(path, "r");
	size_t len;

	if (f == NULL)
		die("--config %s: %s", path, strerror(errno));
	len = fread(text, 1, sizeof(text), f);
	fclose(f);
	if (len == sizeof(text))
		die("--config %s: larger than %zu bytes", path, sizeof(text) - 1);
	kr_config_defaults(&cfg);
	if (kr_config_parse(&cfg, text, len, err, sizeof(err)) != 0 ||
	    kr_config_finish(&cfg, err, sizeof(err)) != 0) {
		for (char *nl = strchr(err, '\n'); nl != NULL; nl = strchr(nl, '\n'))
			*nl = ';'; /* every error of the file, on one line */
		die("--config %s: %s", path, err);
	}
	if (kr_identity_load(NULL, cfg.log_dir, &ident, err, sizeof(err)) != 0)
		die("--config %s: %s (format the node first: kraftd format --config %s)", path, err,
		    path);
	*id = cfg.node_id;
	memcpy(dir, ident.directory_id, KR_UUID_BYTES);
	*ep = cfg.listener;
}

/* ---- read ---- */

static int
cmd_read(struct ctl *c, uint64_t from, int64_t max, bool follow)
{
	struct kr_msg m = {.api = KR_API_READ}, r;
	struct kr_frame f;
	int64_t printed = 0;
	int rr = 0;
	const struct node *t = NULL;

	for (int i = 0; i < c->n_nodes; i++) /* the node the user named, if it is in the list */
		if (c->nodes[i].mgmt.sin_addr.s_addr == c->boot[0].sin_addr.s_addr &&
		    c->nodes[i].mgmt.sin_port == c->boot[0].sin_port)
			t = &c->nodes[i];
	if (t == NULL)
		t = next_target(c, KR_NODE_NONE, &rr);
	for (;;) {
		struct kr_read_resp *rd = &r.u.read_resp;
		uint32_t pos = 0;

		m.u.read = (struct kr_read_req){.from_offset = from,
						.max_bytes = READ_MAX_BYTES,
						.max_wait_us = follow ? 500000 : 0};
		if (request(c, &t->mgmt, &m, KR_API_READ_RESP, follow ? 2000 : left_ms(c), &f,
			    &r) != 0) {
			if (!follow)
				die("read: node %d did not answer within %" PRId64 " ms", t->id,
				    c->timeout_ms);
			t = next_target(c, KR_NODE_NONE, &rr);
			continue;
		}
		if (rd->error == KR_ERR_OFFSET_OUT_OF_RANGE)
			die("read: offset %" PRIu64 " is below node %d's log start %" PRIu64, from,
			    f.hdr.sender_id, rd->log_start_offset);
		if (rd->error != KR_ERR_NONE)
			die("read: node %d: %s", f.hdr.sender_id, kr_error_name(rd->error));
		while (pos < rd->records_len) {
			struct kr_batch_hdr h;
			uint32_t rp = KR_BATCH_HDR_BYTES;

			if (kr_batch_check(rd->records + pos, rd->records_len - pos, &h) != 0)
				die("read: node %d sent a damaged batch", f.hdr.sender_id);
			for (uint32_t k = 0; k < h.record_count; k++) {
				const uint8_t *b = rd->records + pos;
				uint32_t vl = kr_get_le32(b + rp);
				uint64_t off = h.base_offset + k;

				rp += 4;
				if (off >= from && (h.attributes & KR_BATCH_A_CONTROL) == 0) {
					if (max >= 0 && printed >= max)
						return 0;
					if (c->json) {
						printf("{\"offset\": %" PRIu64 ", \"epoch\": %u, "
						       "\"timestampUs\": %" PRId64 ", \"value\": ",
						       off, h.epoch, h.timestamp_us);
						json_string(b + rp, vl);
						printf("}\n");
					} else {
						printf("%" PRIu64 "\t%.*s\n", off, (int)vl,
						       (const char *)(b + rp));
					}
					printed++;
				}
				rp += vl;
			}
			from = h.base_offset + h.record_count;
			pos += h.length;
		}
		fflush(stdout);
		if (max >= 0 && printed >= max)
			return 0;
		if (rd->records_len == 0 && !follow) { /* reached the committed end */
			if (printed == 0)
				fprintf(stderr,
					"kraftctl: read: nothing committed at or after offset "
					"%" PRIu64 ": node %d's committed log ends at %" PRIu64
					"\n",
					from, f.hdr.sender_id, rd->high_watermark);
			return 0;
		}
		if (interrupted)
			return 0;
	}
}

/* ---- main ---- */

static void
parse_bootstrap(struct ctl *c, const char *list)
{
	char buf[1024];
	char *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct kr_endpoint e;
		uint8_t ip[4];

		if (strncmp(tok, "localhost:", 10) == 0) {
			char t[32];

			snprintf(t, sizeof(t), "127.0.0.1:%s", tok + 10);
			if (kr_endpoint_parse(t, &e) != 0)
				die("--bootstrap-server: '%s' is not HOST:PORT", tok);
		} else if (kr_endpoint_parse(tok, &e) != 0) {
			die("--bootstrap-server: '%s' is not a.b.c.d:port", tok);
		}
		if (c->n_boot == (int)(sizeof(c->boot) / sizeof(c->boot[0])))
			die("--bootstrap-server: too many servers");
		ip[0] = (uint8_t)(e.ip >> 24);
		ip[1] = (uint8_t)(e.ip >> 16);
		ip[2] = (uint8_t)(e.ip >> 8);
		ip[3] = (uint8_t)e.ip;
		to_sockaddr(ip, e.port, &c->boot[c->n_boot++]);
	}
}

/* A bad argument: its own message, exit 2, no network I/O. */
__attribute__((format(printf, 1, 2))) static int
bad_arg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kraftctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (kraftctl --help)\n");
	return 2;
}

/* ", not 'X'" for the value an option got, or "" if it got none */
static const char *
got(int argc, char **argv, int i)
{
	static char buf[96];

	if (i >= argc)
		return "";
	snprintf(buf, sizeof(buf), ", not '%.64s'", argv[i]);
	return buf;
}

static bool
known_command(const char *cmd)
{
	static const char *const cmds[] = {"describe",	   "append",	   "read",    "add-voter",
					   "remove-voter", "update-voter", "snapshot"};

	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i]) == 0)
			return true;
	return false;
}

/* ---- describe --storage, snapshot ---- */

/* Ask every node (or node `only`) for its NODE_STATUS, each with its share of the time
 * left; action 1 asks for a snapshot too. Prints a table (or JSON lines). @return 0, or 1
 * if a node did not answer or refused. */
static int
cmd_storage(struct ctl *c, uint8_t action, int32_t only)
{
	int failed = 0, asked = 0;

	if (!c->json && action == 0)
		printf("%-7s %-15s %-15s %-15s %-15s %-24s %-14s %s\n", "NodeId", "LogStartOffset",
		       "LogEndOffset", "Committed", "Applied", "Snapshot", "SnapshotBytes",
		       "Snapshots");
	for (int i = 0; i < c->n_nodes; i++) {
		const struct node *nd = &c->nodes[i];
		struct kr_msg m = {.api = KR_API_NODE_STATUS}, r;
		const struct kr_node_status_resp *s = &r.u.node_status_resp;
		int64_t wait = left_ms(c) / (c->n_nodes - i);
		struct kr_frame f;
		char snap[48] = "none", applied[24] = "-", committed[24] = "-";

		if (only >= 0 && nd->id != only)
			continue;
		asked++;
		m.u.node_status.action = action;
		if (request(c, &nd->mgmt, &m, KR_API_NODE_STATUS_RESP, wait > 0 ? wait : 1, &f,
			    &r) != 0) {
			failed = 1;
			if (c->json)
				printf("{\"node\": %d, \"error\": \"no answer\"}\n", nd->id);
			else
				printf("%-7d (no answer within %" PRId64 " ms)\n", nd->id, wait);
			continue;
		}
		if (s->snapshot_end > 0)
			snprintf(snap, sizeof(snap), "%" PRIu64 "-%u", s->snapshot_end,
				 s->snapshot_epoch);
		if (s->flags & KR_STATUS_F_APPLYING)
			snprintf(applied, sizeof(applied), "%" PRIu64, s->applied);
		if (s->committed != KR_OFFSET_NONE)
			snprintf(committed, sizeof(committed), "%" PRIu64, s->committed);
		if (s->error != KR_ERR_NONE) {
			failed = 1;
			fprintf(stderr, "kraftctl: node %d refused: %s (%s)\n", nd->id,
				kr_error_name(s->error),
				s->error == KR_ERR_INVALID_REQUEST
					? "it has no state machine (kraftd.state.machine=none)"
					: kr_error_text(s->error));
		}
		if (c->json)
			printf("{\"node\": %d, \"log_start\": %" PRIu64 ", \"log_end\": %" PRIu64
			       ", \"committed\": %s, \"applied\": %s, \"snapshot\": %s%s%s, "
			       "\"snapshot_bytes\": %" PRIu64 ", \"snapshots\": %" PRIu64 "%s}\n",
			       nd->id, s->log_start, s->log_end,
			       s->committed != KR_OFFSET_NONE ? committed : "null",
			       (s->flags & KR_STATUS_F_APPLYING) ? applied : "null",
			       s->snapshot_end ? "\"" : "", s->snapshot_end ? snap : "null",
			       s->snapshot_end ? "\"" : "", s->snapshot_bytes, s->snapshots,
			       action == 1 && s->error == KR_ERR_NONE ? ", \"snapshot_asked\": true"
								      : "");
		else if (action == 1 && s->error == KR_ERR_NONE)
			printf("node %d: snapshot asked for at applied offset %s (the newest so "
			       "far: "
			       "%s; the node logs the one it writes)\n",
			       nd->id, applied, snap);
		else if (action == 0)
			printf("%-7d %-15" PRIu64 " %-15" PRIu64 " %-15s %-15s %-24s %-14" PRIu64
			       " %" PRIu64 "\n",
			       nd->id, s->log_start, s->log_end, committed, applied, snap,
			       s->snapshot_bytes, s->snapshots);
	}
	if (asked == 0)
		die("no node %d in the cluster (describe --status lists them)", only);
	return failed;
}

/* append --input: one value per line of path ("-": standard input), read before any
 * network I/O. */
static char **
read_values(const char *path, int *n)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	static char *values[KR_BATCH_BYTES_MAX / 4];
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (f == NULL) {
		fprintf(stderr, "kraftctl: --input %s: %s\n", path, strerror(errno));
		exit(2);
	}
	*n = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (*n == (int)(sizeof(values) / sizeof(values[0]))) {
			fprintf(stderr, "kraftctl: --input %s: more values than one batch holds\n",
				path);
			exit(2);
		}
		values[(*n)++] = strdup(line);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	if (*n == 0) {
		fprintf(stderr, "kraftctl: --input %s: no values (one per line)\n", path);
		exit(2);
	}
	return values;
}

int
main(int argc, char **argv)
{
	static struct ctl c;
	const char *boot = NULL, *cmd = NULL, *key_file = getenv("KRAFTD_AUTH_KEY_FILE");
	bool status = false, replication = false, storage = false, follow = false;
	bool have_from = false;
	int64_t only_node = -1;
	bool have_id = false, have_dir = false, have_ep = false;
	const char *voter_config = NULL, *input = NULL;
	char **input_values = NULL;
	int input_n = 0;
	int64_t voter_id = -1;
	uint8_t dir[KR_UUID_BYTES] = {0};
	struct kr_endpoint ep = {0};
	uint64_t from = 0;
	int64_t max = -1, repeat = 1, v;
	int i, first_value = -1;

	kr_tool_name = "kraftctl";
	c.timeout_ms = 10000;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (cmd != NULL && strcmp(cmd, "append") == 0) {
			first_value = i;
			break;
		}
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--bootstrap-server") == 0 ||
			   strcmp(a, "--bootstrap-controller") == 0) {
			if (++i == argc)
				return bad_arg("%s needs HOST:PORT[,HOST:PORT...]", a);
			boot = argv[i];
		} else if (strcmp(a, "--json") == 0) {
			c.json = true;
		} else if (strcmp(a, "--auth-key-file") == 0) {
			if (++i == argc)
				return bad_arg("--auth-key-file needs a file");
			key_file = argv[i];
		} else if (strcmp(a, "--timeout-ms") == 0) {
			if (++i == argc || kr_parse_i64(argv[i], 1, 3600000, &c.timeout_ms) != 0)
				return bad_arg("--timeout-ms needs milliseconds, 1..3600000%s",
					       got(argc, argv, i));
		} else if (strcmp(a, "--status") == 0) {
			status = true;
		} else if (strcmp(a, "--replication") == 0) {
			replication = true;
		} else if (strcmp(a, "--storage") == 0) {
			storage = true;
		} else if (strcmp(a, "--node") == 0) {
			if (++i == argc || kr_parse_i64(argv[i], 0, INT32_MAX, &only_node) != 0)
				return bad_arg("--node needs a node id (0..%d)%s", INT32_MAX,
					       got(argc, argv, i));
		} else if (strcmp(a, "--human-readable") == 0) {
			c.human = true;
		} else if (strcmp(a, "--follow") == 0) {
			follow = true;
		} else if (strcmp(a, "--from") == 0) {
			if (++i == argc || kr_parse_i64(argv[i], 0, INT64_MAX, &v) != 0)
				return bad_arg("--from needs an offset, 0 or more%s",
					       got(argc, argv, i));
			from = (uint64_t)v;
			have_from = true;
		} else if (strcmp(a, "--repeat") == 0) {
			if (++i == argc || kr_parse_i64(argv[i], 1, 100000000, &repeat) != 0)
				return bad_arg("--repeat needs a count, 1..100000000%s",
					       got(argc, argv, i));
		} else if (strcmp(a, "--max") == 0) {
			if (++i == argc || kr_parse_i64(argv[i], 1, INT64_MAX, &max) != 0)
				return bad_arg("--max needs a count, 1 or more%s",
					       got(argc, argv, i));
		} else if (strcmp(a, "--input") == 0) {
			if (++i == argc)
				return bad_arg("--input needs a file (or - for standard input)");
			input = argv[i];
		} else if (strcmp(a, "--config") == 0 || strcmp(a, "--command-config") == 0) {
			if (++i == argc)
				return bad_arg("%s needs a node's properties file", a);
			voter_config = argv[i];
		} else if (strcmp(a, "--id") == 0) {
			if (++i == argc || kr_parse_i64(argv[i], 0, INT32_MAX, &voter_id) != 0) {
				return bad_arg("--id needs a node id (0..%d)", INT32_MAX);
			}
			have_id = true;
		} else if (strcmp(a, "--directory-id") == 0) {
			if (++i == argc || kr_uuid_parse(argv[i], dir) != 0 ||
			    kr_uuid_is_zero(dir)) {
				return bad_arg("--directory-id needs a 22-character id");
			}
			have_dir = true;
		} else if (strcmp(a, "--endpoint") == 0) {
			if (++i == argc || kr_endpoint_parse(argv[i], &ep) != 0) {
				return bad_arg("--endpoint needs A.B.C.D:PORT (the node's "
					       "dataplane address)");
			}
			have_ep = true;
		} else if (a[0] != '-' && cmd == NULL) {
			cmd = a;
			if (!known_command(cmd))
				return bad_arg("unknown command '%s' (describe, append, read, "
					       "add-voter, remove-voter, update-voter, snapshot)",
					       cmd);
		} else {
			return bad_arg("unexpected argument '%s'", a);
		}
	}
	kr_tool_auth_load(key_file != NULL && key_file[0] != '\0' ? key_file : NULL);
	if (boot == NULL || cmd == NULL) {
		return bad_arg("%s is required", boot == NULL ? "--bootstrap-server" : "a command");
	}
	if (strcmp(cmd, "describe") == 0 && status + replication + storage != 1) {
		return bad_arg("describe takes one of --status, --replication or --storage");
	}
	if (only_node >= 0 && strcmp(cmd, "snapshot") != 0 &&
	    !(strcmp(cmd, "describe") == 0 && storage))
		return bad_arg("--node goes with snapshot and describe --storage");
	if (c.human && !(strcmp(cmd, "describe") == 0 && replication)) {
		return bad_arg("--human-readable goes with describe --replication only");
	}
	if (strcmp(cmd, "read") == 0 && !have_from) {
		return bad_arg("read needs --from N");
	}
	if (strcmp(cmd, "append") == 0 && (first_value < 0) == (input == NULL))
		return bad_arg(input ? "append takes its values from --input or the command line, "
				       "not both"
				     : "append needs at least one VALUE (or --input FILE, - for "
				       "standard input: one value per line)");
	if (input != NULL && strcmp(cmd, "append") != 0)
		return bad_arg("--input goes with append");
	if (voter_config != NULL) {
		if (strcmp(cmd, "add-voter") != 0 && strcmp(cmd, "update-voter") != 0) {
			return bad_arg("--config goes with add-voter and update-voter");
		}
		if (have_id || have_dir || have_ep) {
			return bad_arg("--config gives --id, --directory-id and "
				       "--endpoint: name them one way only");
		}
		voter_from_config(voter_config, &voter_id, dir, &ep);
		have_id = have_dir = have_ep = true;
	}
	if (strcmp(cmd, "add-voter") == 0 || strcmp(cmd, "remove-voter") == 0 ||
	    strcmp(cmd, "update-voter") == 0) {
		bool wants_ep = strcmp(cmd, "remove-voter") != 0;

		if (!have_id || !have_dir || have_ep != wants_ep) {
			return bad_arg("%s needs --id and --directory-id%s", cmd,
				       wants_ep ? " and --endpoint" : " (and no --endpoint)");
		}
	} else if (have_id || have_dir || have_ep) {
		return bad_arg("--id, --directory-id and --endpoint go with the voter "
			       "commands only");
	}
	if (strcmp(cmd, "append") == 0 && input != NULL) /* before any network I/O */
		input_values = read_values(input, &input_n);
	parse_bootstrap(&c, boot);
	c.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (c.fd < 0)
		die("socket: %s", strerror(errno));
	/* a request or an answer larger than a management datagram goes as fragments: a
	 * slot per answer being put together, given up after a second of silence */
	c.big = malloc(KR_MSG_MAX);
	c.whole = malloc(KR_MSG_MAX);
	if (c.big == NULL || c.whole == NULL ||
	    (c.slots[0].buf = malloc(2 * (size_t)KR_MSG_MAX)) == NULL ||
	    kr_reasm_init(&c.reasm, c.slots, c.slots[0].buf, 2, KR_MSG_MAX, 2, 200000, 1000000) !=
		    0)
		die("out of memory");
	{ /* ICMP port unreachable onto the error queue: a wrong port fails at once */
		int on = 1, rcv = 4 << 20;

		(void)setsockopt(c.fd, SOL_IP, IP_RECVERR, &on, sizeof(on));
		/* an answer in fragments arrives at once: room for a 1 MiB one (the kernel's
		 * cap unless root) */
		if (setsockopt(c.fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) != 0)
			(void)setsockopt(c.fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
	signal(SIGINT, on_sigint);
	c.deadline_ms = now_ms() + c.timeout_ms;
	discover(&c);
	if (strcmp(cmd, "describe") == 0 && storage)
		return cmd_storage(&c, 0, (int32_t)only_node);
	if (strcmp(cmd, "describe") == 0)
		return cmd_describe(&c, status);
	if (strcmp(cmd, "snapshot") == 0)
		return cmd_storage(&c, 1, (int32_t)only_node);
	if (strcmp(cmd, "append") == 0 && input != NULL)
		return cmd_append(&c, input_n, input_values, repeat);
	if (strcmp(cmd, "append") == 0)
		return cmd_append(&c, first_value < 0 ? 0 : argc - first_value,
				  first_value < 0 ? NULL : argv + first_value, repeat);
	if (strcmp(cmd, "read") == 0)
		return cmd_read(&c, from, max, follow);
	if (strcmp(cmd, "add-voter") == 0)
		return cmd_voters(&c, KR_VOTERS_OP_ADD, (int32_t)voter_id, dir, &ep);
	if (strcmp(cmd, "remove-voter") == 0)
		return cmd_voters(&c, KR_VOTERS_OP_REMOVE, (int32_t)voter_id, dir, &ep);
	if (strcmp(cmd, "update-voter") == 0)
		return cmd_voters(&c, KR_VOTERS_OP_UPDATE, (int32_t)voter_id, dir, &ep);
	return bad_arg("unknown command '%s'", cmd); /* known_command() let it through */
}
