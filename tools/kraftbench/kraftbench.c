/* kraftbench: commit latency and throughput against a kraftd cluster, beside the floor.
 *
 * It learns the nodes and the leader through the management listeners (kernel UDP), then
 * talks to the leader's dataplane port directly, over kernel UDP or, given EAL options
 * after `--`, over its own DPDK port (AF_XDP on a veth of its own, or memif links to the
 * nodes): appends of --size bytes, each counted only once acknowledged as committed.
 * Before the run each link is warmed with unmeasured PINGs (warm_links), and the first
 * --warmup commits are left out of the figures.
 *
 * Closed loop: --inflight K appends outstanding. Open loop: --rate R appends per second on
 * a fixed schedule; an append's latency runs from the time the schedule meant to send it,
 * so a stall delays every append behind it in the figures too (coordinated omission
 * corrected). With --ping, each slot sends a PING after each commit before its next append:
 * the dataplane echoes a PING before replication, so pings to the leader are the client's
 * leg of the floor and pings to the followers the replication leg (the same kind of path
 * as leader <-> follower: one veth-bridge-veth hop, or one memif link), over the same
 * transport, ports and idle mode, in the same run.
 *
 * An election during a run (a new epoch in an answer, or NOT_LEADER) ends it: reported,
 * and discarded (exit 4) unless --keep-elections. --failover CMD runs CMD (%d = the
 * leader's id) after --kill-after seconds, keeps appending through the election and
 * reports the gap between the last commit by the old leader and the first by the new. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <sodium.h>

#include "kraft/config.h"
#include "kraft/errors.h"
#include "kraft/latency.h"
#include "kraft/le.h"
#include "kraft/node.h"
#include "kraft/port_dpdk.h"
#include "kraft/props.h"
#include "kraft/wire.h"
#include "kraft/xdp.h"
#include "tool.h"

#define SLOTS_MAX 256
#define SLOT_BITS 8
#define RESEND_NS 1000000000ll	/* an unanswered request is sent again after 1 s */
#define SILENT_NS 10000000000ll /* without --failover: no answer for 10 s ends the run */
#define STALL_NS 20000000ll	/* --failover: no answer for 20 ms -> ask who leads */

/* The clock: CLOCK_MONOTONIC, or over DPDK the TSC anchored to it at the port's start
 * (13 ns a read here against 35 for the vDSO): the spin loop reads it every pass, and
 * a pass's length is how late an answer is seen, in the commit and the PING alike. */
static struct {
	uint64_t tsc0;
	int64_t ns0;
	double ns_per_tsc; /* 0: CLOCK_MONOTONIC */
} clk;

static int64_t
now_ns(void)
{
	if (clk.ns_per_tsc > 0)
		return clk.ns0 + (int64_t)((double)(rte_rdtsc() - clk.tsc0) * clk.ns_per_tsc);
	return kr_tool_now_ns();
}
#define die kr_tool_die

enum kind { APPEND, PING_LEADER, PING_FOLLOWER, KINDS };
static const char *const kind_name[KINDS] = {"commit", "ping_leader", "ping_follower"};

struct slot {
	bool busy;
	bool ping_next; /* --ping: this slot pings once before its next append */
	uint8_t kind;
	int node; /* index in nodes[] */
	uint32_t corr;
	uint64_t seq;	  /* the append's sequence (kept across re-sends) */
	int64_t sent_ns;  /* last (re-)send */
	int64_t first_ns; /* the first send; in the open loop, when the schedule meant it */
	int len;
	uint8_t *frame; /* the whole append (KR_MSG_MAX), taken when the slot is first used */
};

struct node {
	int32_t id;
	uint32_t ip;
	uint16_t port, mgmt_port;
	unsigned dpdk_port; /* --node-ports */
	bool mac_known;
};

struct failover {
	const char *cmd;
	double after_s;
	double fetch_timeout_ms;
	int old_leader, new_leader;
	uint32_t old_epoch, new_epoch;
	int64_t kill_ns, kill_done_ns, last_old_ns, found_ns, first_new_ns;
	bool killed;
	pid_t child;
	char cmdline[512];
};

struct bench {
	int fd;	 /* kernel UDP: the data in UDP mode */
	int mfd; /* kernel UDP: the management listeners */
	int64_t next_leader_check;
	/* DPDK mode */
	bool dpdk, yield;
	struct kn_port *ports[KN_PORTS_MAX];
	unsigned n_ports;
	char xdp_iface[KN_PORTS_MAX][32];
	struct kr_endpoint local;
	int64_t next_maintain;
	int64_t last_answer_ns; /* the measured run's latest answer (or its start) */
	unsigned empty_polls;	/* DPDK: polls that found nothing, for the clock's sake */
	unsigned empty_spins;	/* the same, of the measured loop */

	struct node nodes[KR_REPLICAS_MAX];
	unsigned n_nodes;
	int leader; /* index in nodes[] */
	uint32_t epoch;
	bool election;
	unsigned ping_turn;

	uint64_t pid, next_seq;
	uint32_t gen;
	int64_t records, issued, warmup;
	double duration_s, rate;
	int inflight, size, batch;
	bool ping, json, keep_elections;
	const char *histogram;
	int64_t resends, tx_drops, unconfirmed, done, counted[KINDS];
	struct kr_latency lat[KINDS];
	struct failover fo;
	struct slot slots[SLOTS_MAX];
	uint8_t rx[KR_WIRE_UDP_PAYLOAD_MAX];
	uint8_t records_buf[KR_BATCH_BYTES_MAX];
	/* appends larger than a datagram (dgram bytes: the ports' or UDP's) go as fragments,
	 * each (re)send a new message */
	uint32_t dgram, msg_id;
	int64_t fragmented; /* appends sent in fragments (re-sends included) */
	uint64_t keys;	    /* --keys: each record's first 8 bytes count up modulo this (0: off) */
	uint64_t key_next;
	uint32_t records_len;
};

static volatile sig_atomic_t stop;

static void
on_sigint(int s)
{
	(void)s;
	stop = 1;
}

/* --mac-cost: what sealing and checking one frame costs on this core, by frame size (the
 * per-frame price of peer authentication, without the network). */
static int
mac_cost(void)
{
	static const int sizes[] = {96, 256, 1472};
	static uint8_t frame[KR_WIRE_UDP_PAYLOAD_MAX];
	struct kr_auth_keys keys = {0};
	struct kr_auth tx, rx;
	char err[128];

	if (sodium_init() < 0 || kr_auth_key_parse("0123456789abcdef0123456789abcdef"
						   "0123456789abcdef0123456789abcdef",
						   &keys.keys[0], err, sizeof(err)) != 0)
		die("--mac-cost: no key");
	printf("{\"mac_cost_ns\": {");
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		const int n = 200000, len = sizes[i];
		int64_t t0, t1, t2;

		memset(frame, 0x5a, (size_t)len);
		frame[7] = KR_FRAME_F_AUTH;
		kr_auth_init(&tx, &keys, 1700000000ll * 1000000);
		kr_auth_init(&rx, &keys, 1700000000ll * 1000000);
		t0 = now_ns();
		for (int k = 0; k < n; k++)
			kr_auth_seal_next(&tx, frame, (size_t)len, 1700000000ll * 1000000);
		t1 = now_ns();
		for (int k = 0; k < n; k++) /* the same frame: the first passes, then replays */
			(void)kr_auth_accept(&rx, frame, (size_t)len, true, 2, 0,
					     1700000000ll * 1000000);
		t2 = now_ns();
		printf("%s\"%d\": {\"seal\": %.0f, \"check\": %.0f}", i ? ", " : "", len,
		       (double)(t1 - t0) / n, (double)(t2 - t1) / n);
	}
	printf("}}\n");
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kraftbench --bootstrap-server HOST:PORT[,...] [options] [-- EAL options]\n"
		"  HOST:PORT       node management listeners (dataplane port + 100)\n"
		"  --records N     append N records (default 10000)\n"
		"  --duration S    or append for S seconds (decimals allowed)\n"
		"  --inflight K    closed loop: K appends outstanding (default 1)\n"
		"  --rate R        open loop: R appends/s on a fixed schedule, latency from the\n"
		"                  scheduled time; up to --inflight (default then 256) "
		"outstanding\n"
		"  --size B        bytes per record (default 64)\n"
		"  --batch N       records per append (default 1); --records counts records\n"
		"  --keys N        each record's first 8 bytes a key counting up modulo N\n"
		"                  (--size 8 or more): distinct keys for kraftd.state.machine=kv\n"
		"  --warmup N      leave the first N commits out of the figures (default 100;\n"
		"                  each link has had 2048 unmeasured PINGs before them)\n"
		"  --ping          after each commit, a PING to the leader or (in turn) a "
		"follower:\n"
		"                  the floor of both legs, same transport and run\n"
		"  --histogram F   write each latency distribution (CDF, us) to F for plotting\n"
		"  --keep-elections  report a run during which an election happened (default:\n"
		"                  exit 4 and say so)\n"
		"  --failover CMD  after --kill-after S (default half the run), run CMD (sh -c;\n"
		"                  %%d becomes the leader's id), keep appending through the\n"
		"                  election, report the gap; --fetch-timeout-ms T (default 200)\n"
		"                  expresses it as a multiple of the nodes' fetch timeout\n"
		"  --json          one JSON object\n"
		"  --auth-key-file F  the cluster key, for a cluster with authentication on\n"
		"                  (default: $KRAFTD_AUTH_KEY_FILE, else off)\n"
		"  --mac-cost      only print what sealing and checking a frame costs here (ns)\n"
		"DPDK mode (EAL options after --): kraftbench polls its own port on the EAL's\n"
		"  core: --local IP:PORT its address (required), --node-ports ID@PORT,... which\n"
		"  port reaches which node (memif links; default all port 0), --idle spin|yield\n"
		"  (yield, the default, gives the core away between polls: for shared cores).\n"
		"  An AF_XDP vdev needs xdp_prog=kraftd_xdp.bpf.o: kraftbench steers its port.\n"
		"Exit 0, 1 failed, 2 bad arguments, 4 an election happened (and not "
		"--failover).\n");
}

/* ---- the transport ---- */

static void
xmit_one(struct bench *b, int node, uint8_t *frame, int len)
{
	struct node *nd = &b->nodes[node];

	if (len > KR_WIRE_HDR_BYTES && (frame[7] & KR_FRAME_F_AUTH))
		kr_tool_auth_seal(frame, (size_t)len); /* every send a new sequence */

	if (!b->dpdk) {
		struct sockaddr_in to = {.sin_family = AF_INET,
					 .sin_port = htons(nd->port),
					 .sin_addr.s_addr = htonl(nd->ip)};

		if (sendto(b->fd, frame, (size_t)len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
			b->tx_drops++;
		return;
	}
	{
		struct kn_port *p = b->ports[nd->dpdk_port];
		uint32_t cap = 0;
		void *h;
		uint8_t *buf = p->tx_buf(p, kn_addr(nd->ip, nd->port, p->index), &cap, &h);

		/* no mbuf free: the port's queue holds them (a message in fragments); a burst
		 * to the device frees some, a few times */
		for (int k = 0; buf == NULL && k < 64 && p->stats.link_up; k++) {
			p->tx_flush(p);
			buf = p->tx_buf(p, kn_addr(nd->ip, nd->port, p->index), &cap, &h);
		}
		if (buf == NULL) { /* no mbuf, or no MAC for the node yet: counted by the port */
			b->tx_drops++;
			return;
		}
		memcpy(buf, frame, (size_t)len);
		p->tx_commit(p, h, (uint32_t)len);
	}
}

struct piece {
	struct bench *b;
	int node;
};

static void
xmit_piece(void *arg, uint8_t *frame, size_t n)
{
	struct piece *p = arg;

	xmit_one(p->b, p->node, frame, (int)n); /* sealed there */
}

/* Send a frame; one larger than a datagram (encoded without a trailer) goes as
 * fragments, each sealed on its own, as a new message each time. */
static void
xmit(struct bench *b, int node, uint8_t *frame, int len)
{
	struct piece p = {b, node};

	if ((uint32_t)len <= b->dgram) {
		xmit_one(b, node, frame, len);
		return;
	}
	if (kr_tool_fragments(frame, (uint32_t)len, b->dgram, &b->msg_id, xmit_piece, &p) != 0)
		die("a %d-byte append cannot be cut for %u-byte datagrams", len, b->dgram);
	b->fragmented++;
}

static void
xmit_flush(struct bench *b)
{
	for (unsigned i = 0; i < b->n_ports; i++)
		b->ports[i]->tx_flush(b->ports[i]);
}

/* AF_XDP: the kernel owns ARP on the interface, so the nodes' MACs come from its table;
 * an unresolved node gets an empty datagram to its discard port so the kernel asks. */
static void
neighbours(struct bench *b)
{
	for (unsigned i = 0; i < b->n_nodes; i++) {
		struct node *nd = &b->nodes[i];
		struct kn_port *p = b->ports[nd->dpdk_port];
		uint8_t mac[6];
		struct sockaddr_in to = {.sin_family = AF_INET,
					 .sin_port = htons(9),
					 .sin_addr.s_addr = htonl(nd->ip)};

		if (b->xdp_iface[nd->dpdk_port][0] == '\0' || nd->mac_known)
			continue;
		if (kn_kernel_neighbour(nd->ip, mac) == 0) {
			p->neighbour(p, nd->ip, mac);
			nd->mac_known = true;
		} else {
			(void)sendto(b->mfd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&to,
				     sizeof(to));
		}
	}
}

typedef void (*on_rx_fn)(struct bench *b, const uint8_t *buf, size_t len, int64_t t);

/* Whatever arrived on the data path, each handed to fn; waits up to wait_ms (UDP) or
 * one poll round (DPDK) when nothing did. */
static int
receive(struct bench *b, on_rx_fn fn, int wait_ms)
{
	int got = 0;

	if (!b->dpdk) {
		struct pollfd p = {.fd = b->fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, wait_ms) <= 0)
			return 0;
		while ((n = recv(b->fd, b->rx, sizeof(b->rx), MSG_DONTWAIT)) > 0) {
			fn(b, b->rx, (size_t)n, now_ns());
			got++;
		}
		return got;
	}
	for (unsigned i = 0; i < b->n_ports; i++) {
		struct kn_port *p = b->ports[i];
		struct kn_rx rx[KN_RX_BURST];
		int n = p->rx(p, rx, KN_RX_BURST);
		int64_t t;

		if (n <= 0)
			continue;
		t = now_ns(); /* one reading a burst: an empty poll reads no clock */
		for (int k = 0; k < n; k++)
			fn(b, rx[k].data, rx[k].len, t);
		p->rx_done(p, rx, n);
		got += n;
	}
	/* an empty poll reads the clock for the ports' upkeep only one time in 64: a
	 * reading costs about as much as the poll, and the answer waits for the loop */
	if (got == 0 && ++b->empty_polls % 64 == 0) {
		int64_t t = now_ns();

		if (t >= b->next_maintain) {
			for (unsigned i = 0; i < b->n_ports; i++)
				if (b->ports[i]->maintain != NULL)
					b->ports[i]->maintain(b->ports[i], t / 1000);
			neighbours(b);
			b->next_maintain = t + 100000000;
		}
	}
	if (got == 0 && b->yield)
		sched_yield();
	return got;
}

static void
dpdk_start(struct bench *b, int argc, char **argv, const char *node_ports)
{
	char xdev[KN_PORTS_MAX][32], xif[KN_PORTS_MAX][32], err[256];
	unsigned nx = kn_dpdk_af_xdp_vdevs(argc, argv, xdev, xif, KN_PORTS_MAX);
	struct rte_mempool *pool;
	uint16_t pid;

	for (unsigned i = 0; i < nx; i++)
		if (kn_xdp_detach(xif[i], err, sizeof(err)) > 0)
			fprintf(stderr, "kraftbench: removed a stale XDP program from %s\n",
				xif[i]);
	if (rte_eal_init(argc, argv) < 0)
		die("EAL: %s (check the EAL options after --)", rte_strerror(rte_errno));
	if (rte_get_tsc_hz() > 0) { /* from here on the clock is the TSC (now_ns) */
		clk.ns0 = kr_tool_now_ns();
		clk.tsc0 = rte_rdtsc();
		clk.ns_per_tsc = 1e9 / (double)rte_get_tsc_hz();
	}
	pool = rte_pktmbuf_pool_create("kraftbench", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
	if (pool == NULL)
		die("mbuf pool: %s", rte_strerror(rte_errno));
	RTE_ETH_FOREACH_DEV(pid)
	{
		char dev[RTE_ETH_NAME_MAX_LEN] = "";
		struct kn_port *p;
		bool xdp = false;

		if (b->n_ports == KN_PORTS_MAX)
			die("more than %d ports", KN_PORTS_MAX);
		rte_eth_dev_get_name_by_port(pid, dev);
		for (unsigned i = 0; i < nx; i++)
			if (strcmp(dev, xdev[i]) == 0) {
				memcpy(b->xdp_iface[b->n_ports], xif[i], 32);
				xdp = true;
			}
		/* memif: nobody else answers ARP on the link; AF_XDP: the kernel does */
		p = kn_port_dpdk_open(pid, b->local.ip, b->local.port, b->n_ports, pool, !xdp, err,
				      sizeof(err));
		if (p == NULL)
			die("%s", err);
		if (xdp) {
			uint32_t id = 0;
			char name[16] = "";

			if (kn_xdp_attached(b->xdp_iface[b->n_ports], &id, name, err,
					    sizeof(err)) != 0 ||
			    strcmp(name, "kraftd_xdp") != 0)
				die("%s: the XDP program is not kraftd's: give xdp_prog=.../"
				    "kraftd_xdp.bpf.o in the --vdev",
				    b->xdp_iface[b->n_ports]);
			if (kn_xdp_set_ports(b->xdp_iface[b->n_ports], &b->local.port, 1, err,
					     sizeof(err)) != 0)
				die("%s", err);
		}
		if (p->payload_max < b->dgram) /* larger appends go as fragments */
			b->dgram = p->payload_max;
		b->ports[b->n_ports++] = p;
	}
	if (b->n_ports == 0)
		die("EAL: no ports (give --vdev net_af_xdp0,iface=IF,xdp_prog=... or "
		    "net_memif...)");
	for (const char *s = node_ports; s != NULL && *s != '\0';) {
		int id;
		unsigned port;
		int used = 0;

		if (sscanf(s, "%d@%u%n", &id, &port, &used) != 2 || port >= b->n_ports)
			die("--node-ports: '%s' is not ID@PORT with PORT < %u", s, b->n_ports);
		for (unsigned i = 0; i < b->n_nodes; i++)
			if (b->nodes[i].id == id)
				b->nodes[i].dpdk_port = port;
		s += used;
		s += *s == ',';
	}
	neighbours(b);
}

static void
dpdk_stop(struct bench *b)
{
	char err[256];

	for (unsigned i = 0; i < b->n_ports; i++) {
		b->ports[i]->close(b->ports[i]);
		if (b->xdp_iface[i][0] != '\0')
			kn_xdp_detach(b->xdp_iface[i], err, sizeof(err));
	}
	rte_eal_cleanup();
}

/* ---- the management listeners ---- */

static void
mgmt_send(struct bench *b, const struct sockaddr_in *to, unsigned api, uint32_t corr)
{
	struct kr_frame_hdr h = {
		.sender_id = KR_NODE_NONE, .correlation_id = corr, .flags = kr_tool_auth_flags()};
	struct kr_msg m = {.api = (uint16_t)api};
	uint8_t buf[64 + KR_WIRE_AUTH_BYTES];
	int len = kr_frame_encode(buf, sizeof(buf), &h, &m);

	if (len > 0)
		kr_tool_auth_seal(buf, (size_t)len);
	if (len > 0)
		(void)sendto(b->mfd, buf, (size_t)len, 0, (const struct sockaddr *)to, sizeof(*to));
}

/* An answer on the management socket to corr and want, within ms. */
static bool
mgmt_wait(struct bench *b, uint32_t corr, unsigned want, int ms, struct kr_frame *f,
	  struct kr_msg *r)
{
	int64_t end = now_ns() + (int64_t)ms * 1000000;

	for (int64_t t; (t = now_ns()) < end;) {
		struct pollfd p = {.fd = b->mfd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, (int)((end - t) / 1000000) + 1) <= 0)
			continue;
		while ((n = recv(b->mfd, b->rx, sizeof(b->rx), MSG_DONTWAIT)) > 0)
			if (kr_frame_decode(NULL, b->rx, (size_t)n, f) == 0 &&
			    kr_tool_auth_ok(b->rx, (size_t)n, f) && f->hdr.correlation_id == corr &&
			    f->hdr.api == want && kr_msg_decode(f, r) == 0)
				return true;
	}
	return false;
}

static struct sockaddr_in
sin_of(uint32_t ip, uint16_t port)
{
	return (struct sockaddr_in){
		.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(ip)};
}

/* The nodes, from the first bootstrap server that answers DESCRIBE_NODES. */
static void
find_nodes(struct bench *b, const struct kr_endpoint *boot, unsigned n_boot)
{
	for (int round = 0; round < 10; round++)
		for (unsigned i = 0; i < n_boot; i++) {
			struct sockaddr_in to = sin_of(boot[i].ip, boot[i].port);
			struct kr_frame f;
			struct kr_msg r;
			uint32_t corr = ++b->gen;

			mgmt_send(b, &to, KR_API_DESCRIBE_NODES, corr);
			if (!mgmt_wait(b, corr, KR_API_DESCRIBE_NODES_RESP, 300, &f, &r))
				continue;
			b->n_nodes = r.u.nodes_resp.n;
			for (unsigned k = 0; k < b->n_nodes; k++) {
				struct kr_node_info ni;

				kr_nodes_entry(&r.u.nodes_resp, k, &ni);
				b->nodes[k] = (struct node){
					.id = ni.node_id,
					.ip = (uint32_t)ni.ip[0] << 24 | (uint32_t)ni.ip[1] << 16 |
					      (uint32_t)ni.ip[2] << 8 | ni.ip[3],
					.port = ni.port,
					.mgmt_port = ni.mgmt_port};
			}
			if (b->n_nodes > 0)
				return;
		}
	die("no management listener answered DESCRIBE_NODES within 3 s");
}

/* Ask every node's management listener who leads, every millisecond, until a node says it is
 * the leader in an epoch >= min_epoch (within limit_ms). @return its index. */
static int
find_leader(struct bench *b, uint32_t min_epoch, int limit_ms)
{
	int64_t end = now_ns() + (int64_t)limit_ms * 1000000;
	uint32_t base = b->gen + 1;

	while (now_ns() < end && !stop) {
		struct kr_frame f;
		struct kr_msg r;

		b->gen += b->n_nodes;
		for (unsigned i = 0; i < b->n_nodes; i++) {
			struct sockaddr_in to = sin_of(b->nodes[i].ip, b->nodes[i].mgmt_port);

			mgmt_send(b, &to, KR_API_DESCRIBE_QUORUM, b->gen - b->n_nodes + 1 + i);
		}
		for (int64_t until = now_ns() + 1000000; now_ns() < until;) {
			struct pollfd p = {.fd = b->mfd, .events = POLLIN};
			ssize_t n;

			if (poll(&p, 1, 1) <= 0)
				continue;
			while ((n = recv(b->mfd, b->rx, sizeof(b->rx), MSG_DONTWAIT)) > 0) {
				if (kr_frame_decode(NULL, b->rx, (size_t)n, &f) != 0 ||
				    !kr_tool_auth_ok(b->rx, (size_t)n, &f) ||
				    f.hdr.api != KR_API_DESCRIBE_QUORUM_RESP ||
				    f.hdr.correlation_id < base || kr_msg_decode(&f, &r) != 0 ||
				    r.u.describe_resp.error != KR_ERR_NONE ||
				    r.u.describe_resp.epoch < min_epoch)
					continue;
				for (unsigned i = 0; i < b->n_nodes; i++)
					if (b->nodes[i].id == f.hdr.sender_id) {
						b->epoch = r.u.describe_resp.epoch;
						return (int)i;
					}
			}
		}
	}
	return -1;
}

/* ---- the loop ---- */

static bool reached[KR_REPLICAS_MAX];

static void
on_reach(struct bench *b, const uint8_t *buf, size_t len, int64_t t)
{
	struct kr_frame f;

	(void)t;
	if (kr_frame_decode(NULL, buf, len, &f) != 0 || !kr_tool_auth_ok(buf, len, &f) ||
	    f.hdr.api != KR_API_PING_RESP)
		return;
	for (unsigned i = 0; i < b->n_nodes; i++)
		if (b->nodes[i].id == f.hdr.sender_id)
			reached[i] = true;
}

/* A PING to node i (queued: xmit_flush sends it). Returns its correlation id, 0 if it
 * would not encode. */
static uint32_t
send_ping(struct bench *b, int i)
{
	struct kr_frame_hdr h = {.sender_id = KR_NODE_NONE,
				 .correlation_id = ++b->gen,
				 .flags = kr_tool_auth_flags()};
	struct kr_msg m = {.api = KR_API_PING};
	uint8_t buf[64 + KR_WIRE_AUTH_BYTES];
	int len = kr_frame_encode(buf, sizeof(buf), &h, &m);

	if (len <= 0)
		return 0;
	xmit(b, i, buf, len);
	return h.correlation_id;
}

/* A PING to every node until each has answered (5 s at most): the data path works and
 * the ports know their neighbours before the first measured request. */
static void
reach_all(struct bench *b)
{
	int64_t end = now_ns() + 5000000000ll, next = 0;
	unsigned n = 0;

	while (n < b->n_nodes) {
		int64_t t = now_ns();

		if (t > end) {
			for (unsigned i = 0; i < b->n_nodes; i++)
				if (!reached[i])
					die("node %d does not answer PING on its dataplane "
					    "address %u.%u.%u.%u:%u over %s",
					    b->nodes[i].id, b->nodes[i].ip >> 24,
					    b->nodes[i].ip >> 16 & 0xff, b->nodes[i].ip >> 8 & 0xff,
					    b->nodes[i].ip & 0xff, b->nodes[i].port,
					    b->dpdk ? "DPDK" : "UDP");
		}
		if (t >= next) {
			for (unsigned i = 0; i < b->n_nodes; i++)
				if (!reached[i])
					send_ping(b, (int)i);
			xmit_flush(b);
			next = t + 50000000;
		}
		receive(b, on_reach, 1);
		n = 0;
		for (unsigned i = 0; i < b->n_nodes; i++)
			n += reached[i];
	}
}

/* Then WARM_ROUND_TRIPS PINGs to each node, one at a time, not measured: the first
 * round trips over a link pay first-touch page faults on its buffers (memif: a 1024-slot
 * ring each way, a fault every two slots), which gave the first ~1000 commits of a run a
 * tail of ~15 us (1-voter memif: p99 17 us with a warm-up of 100 commits, 3 us with
 * 1000 or more). A lost one is given up after 10 ms. */
#define WARM_ROUND_TRIPS 2048

static uint32_t warm_corr;
static bool warm_back;

static void
on_warm(struct bench *b, const uint8_t *buf, size_t len, int64_t t)
{
	struct kr_frame f;

	(void)b;
	(void)t;
	if (kr_frame_decode(NULL, buf, len, &f) == 0 && kr_tool_auth_ok(buf, len, &f) &&
	    f.hdr.api == KR_API_PING_RESP && f.hdr.correlation_id == warm_corr)
		warm_back = true;
}

static void
warm_links(struct bench *b)
{
	for (unsigned i = 0; i < b->n_nodes && !stop; i++)
		for (int k = 0; k < WARM_ROUND_TRIPS && !stop; k++) {
			int64_t end = now_ns() + 10000000;

			warm_back = false;
			warm_corr = send_ping(b, (int)i);
			if (warm_corr == 0)
				return;
			xmit_flush(b);
			while (!warm_back && now_ns() < end)
				receive(b, on_warm, 1);
		}
}

static void
fill(struct bench *b, int i, enum kind kind, int64_t first_ns)
{
	struct slot *s = &b->slots[i];
	struct kr_frame_hdr h = {.sender_id = KR_NODE_NONE, .flags = kr_tool_auth_flags()};
	struct kr_msg m;

	s->node = b->leader;
	if (kind != APPEND) {
		m.api = KR_API_PING;
		m.u.ping.payload = b->records_buf + 4;
		m.u.ping.len =
			(uint32_t)(b->size < KR_PING_BYTES_MAX ? b->size : KR_PING_BYTES_MAX);
		if (kind == PING_FOLLOWER) /* the followers in turn */
			s->node = (int)((unsigned)b->leader + 1 +
					b->ping_turn / 2 % (b->n_nodes - 1)) %
				  (int)b->n_nodes;
	} else {
		if (b->keys > 0) /* a new key per record: the kv state machine's distinct keys */
			for (uint32_t pos = 0, r = 0; r < (uint32_t)b->batch; r++) {
				kr_put_le64(b->records_buf + pos + 4, b->key_next++ % b->keys);
				pos += 4 + (uint32_t)b->size;
			}
		m.api = KR_API_APPEND;
		m.u.append = (struct kr_append_req){.producer_id = b->pid,
						    .sequence = b->next_seq,
						    .record_count = (uint32_t)b->batch,
						    .records = b->records_buf,
						    .records_len = b->records_len};
		s->seq = b->next_seq++;
		b->issued += b->batch;
	}
	h.correlation_id = (++b->gen << SLOT_BITS) | (uint32_t)i;
	if (s->frame == NULL && (s->frame = malloc(KR_MSG_MAX)) == NULL)
		die("out of memory");
	s->len = kr_frame_encode(s->frame, KR_MSG_MAX, &h, &m);
	if (s->len > 0 && (uint32_t)s->len > b->dgram && h.flags) {
		h.flags = 0; /* to be sent as fragments: each carries the trailer */
		s->len = kr_frame_encode(s->frame, KR_MSG_MAX, &h, &m);
	}
	if (s->len < 0)
		die("cannot encode: %s", kr_wire_status_text(s->len));
	s->busy = true;
	s->kind = (uint8_t)kind;
	s->corr = h.correlation_id;
	s->sent_ns = now_ns();
	s->first_ns = first_ns ? first_ns : s->sent_ns;
	xmit(b, s->node, s->frame, s->len);
}

static bool
want_more(const struct bench *b, int64_t start)
{
	if (stop)
		return false;
	if (b->duration_s > 0)
		return (double)(now_ns() - start) < b->duration_s * 1e9;
	return b->issued < b->records;
}

static void
record(struct bench *b, enum kind k, int64_t ns)
{
	if (k == APPEND && b->done++ < b->warmup)
		return;
	kr_latency_add(&b->lat[k], (uint64_t)ns);
	b->counted[k]++;
}

static void
on_answer(struct bench *b, const uint8_t *buf, size_t len, int64_t t)
{
	struct kr_frame f;
	struct kr_msg r;
	struct slot *s;

	if (kr_frame_decode(NULL, buf, len, &f) != 0 || !kr_tool_auth_ok(buf, len, &f) ||
	    kr_msg_decode(&f, &r) != 0)
		return;
	s = &b->slots[f.hdr.correlation_id & (SLOTS_MAX - 1)];
	if (!s->busy || s->corr != f.hdr.correlation_id)
		return; /* late: answered already, or re-sent to a new leader */
	b->last_answer_ns = t;
	if (s->kind != APPEND) {
		if (f.hdr.api != KR_API_PING_RESP)
			return;
		record(b, (enum kind)s->kind, t - s->sent_ns);
		s->busy = false;
		return;
	}
	if (f.hdr.api != KR_API_APPEND_RESP)
		return;
	if (r.u.append_resp.error == KR_ERR_NOT_LEADER_OR_FOLLOWER ||
	    r.u.append_resp.epoch != b->epoch) {
		b->election = true;
		if (b->fo.cmd == NULL) { /* the run ends here */
			stop = 1;
			s->busy = false;
		}
		if (r.u.append_resp.error != KR_ERR_NONE)
			return; /* --failover: re-sent to the new leader */
	}
	if (r.u.append_resp.error == KR_ERR_DUPLICATE_SEQUENCE_NUMBER) {
		/* a re-send whose first answer was lost, now too old for the leader's window:
		 * appended once, but with no offset to show for it; not counted */
		b->unconfirmed++;
		s->busy = false;
		return;
	}
	if (r.u.append_resp.error != KR_ERR_NONE || r.u.append_resp.outcome_unknown) {
		if (r.u.append_resp.error != KR_ERR_BUSY && !r.u.append_resp.outcome_unknown)
			die("append refused: %s", kr_error_name(r.u.append_resp.error));
		return; /* re-sent, same sequence, when its time comes */
	}
	if (b->fo.killed && b->fo.first_new_ns == 0 && s->node != b->fo.old_leader)
		b->fo.first_new_ns = t;
	if (!b->fo.killed || s->node == b->fo.old_leader)
		b->fo.last_old_ns = t;
	record(b, APPEND, t - s->first_ns);
	s->busy = false;
	s->ping_next = b->ping;
}

static void
run_kill(struct bench *b)
{
	const char *at = strstr(b->fo.cmd, "%d");

	snprintf(b->fo.cmdline, sizeof(b->fo.cmdline), "%.*s%d%s", (int)(at - b->fo.cmd), b->fo.cmd,
		 b->nodes[b->leader].id, at + 2);
	b->fo.old_leader = b->leader;
	b->fo.old_epoch = b->epoch;
	b->fo.kill_ns = now_ns();
	b->fo.killed = true;
	/* not waited for here: appends go on until the leader is really gone, so the gap
	 * starts at its last commit, not when the command started */
	b->fo.child = fork();
	if (b->fo.child == 0) {
		execl("/bin/sh", "sh", "-c", b->fo.cmdline, (char *)NULL);
		_exit(127);
	}
	if (b->fo.child < 0)
		die("--failover: fork: %s", strerror(errno));
}

/* The kill command's end (polled; it must succeed). */
static void
reap_kill(struct bench *b)
{
	int st;

	if (b->fo.child <= 0 || waitpid(b->fo.child, &st, WNOHANG) != b->fo.child)
		return;
	b->fo.child = 0;
	b->fo.kill_done_ns = now_ns();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("--failover: '%s' failed", b->fo.cmdline);
}

/* --failover: the leader went quiet or refused: find the new one, re-send to it. */
static void
change_leader(struct bench *b, uint32_t min_epoch)
{
	int l = find_leader(b, min_epoch, 10000);

	if (l < 0)
		die("--failover: no leader within 10 s");
	if (l == b->leader)
		return;
	if (b->fo.killed && b->fo.found_ns == 0) {
		b->fo.found_ns = now_ns();
		b->fo.new_leader = l;
		b->fo.new_epoch = b->epoch;
	}
	b->leader = l;
	for (int i = 0; i < b->inflight; i++) {
		struct slot *s = &b->slots[i];

		if (!s->busy)
			continue;
		s->node = l;
		s->sent_ns = now_ns();
		xmit(b, l, s->frame, s->len);
	}
}

static double
run(struct bench *b)
{
	int64_t start = now_ns(), interval = b->rate > 0 ? (int64_t)(1e9 / b->rate) : 0;
	int64_t next_due = start;
	bool busy = true;

	b->last_answer_ns = start;
	while (busy && !stop) { /* a signal, or an election without --failover, ends it */
		int64_t t;
		bool stalled = false;

		/* UDP: sleep in poll for up to 1 ms, unless the schedule is tighter */
		int got = receive(b, on_answer, interval > 0 && interval < 2000000 ? 0 : 1);
		/* The clock for the timeouts below (tens of us at least), the schedule and the
		 * kill: an empty spin reads it one time in 16 in a closed loop */
		bool timed = got > 0 || interval > 0 || b->fo.cmd != NULL || !b->dpdk ||
			     ++b->empty_spins % 16 == 0;

		t = timed ? now_ns() : 0;
		if (b->fo.cmd != NULL && !b->fo.killed &&
		    t - start >= (int64_t)(b->fo.after_s * 1e9))
			run_kill(b);
		reap_kill(b);
		busy = false;
		for (int i = 0; i < b->inflight; i++) {
			struct slot *s = &b->slots[i];

			if (timed && s->busy && b->fo.cmd == NULL &&
			    t - b->last_answer_ns > SILENT_NS)
				die("no answer from node %d (%u.%u.%u.%u:%u) for %lld s: is it "
				    "still "
				    "running?",
				    b->nodes[s->node].id, b->nodes[s->node].ip >> 24,
				    b->nodes[s->node].ip >> 16 & 0xff,
				    b->nodes[s->node].ip >> 8 & 0xff, b->nodes[s->node].ip & 0xff,
				    b->nodes[s->node].port, SILENT_NS / 1000000000ll);
			if (timed && s->busy && t - s->sent_ns > RESEND_NS) {
				/* no answer: the same frame again (the leader answers a
				 * duplicate from its window) */
				xmit(b, s->node, s->frame, s->len);
				s->sent_ns = t;
				b->resends++;
			}
			/* after the kill, a commit is late after 1 ms (tens of us otherwise) */
			if (timed && s->busy && s->kind == APPEND &&
			    t - s->sent_ns > (b->fo.killed ? STALL_NS / 20 : STALL_NS))
				stalled = true;
			if (!s->busy && s->ping_next) {
				s->ping_next = false;
				fill(b, i,
				     b->n_nodes > 1 && b->ping_turn++ % 2 ? PING_FOLLOWER
									  : PING_LEADER,
				     0);
			} else if (!s->busy && interval == 0 && want_more(b, start)) {
				fill(b, i, APPEND, 0);
			} else if (!s->busy && interval > 0 && t >= next_due &&
				   want_more(b, start)) {
				fill(b, i, APPEND, next_due);
				next_due += interval;
			}
			busy |= s->busy;
		}
		xmit_flush(b);
		busy |= interval > 0 && want_more(b, start);
		if (b->fo.cmd != NULL && (stalled || (b->election && b->fo.killed)) &&
		    now_ns() >= b->next_leader_check) {
			b->next_leader_check = now_ns() + (b->fo.killed ? 0 : STALL_NS);
			b->election = true;
			change_leader(b, b->epoch);
		}
	}
	return (double)(now_ns() - start) / 1e9;
}

/* ---- the report ---- */

static double
q_us(const struct kr_latency *l, double q)
{
	return (double)kr_latency_quantile(l, q) / 1e3;
}

static void
write_histogram(const struct bench *b)
{
	FILE *f = fopen(b->histogram, "w");

	if (f == NULL)
		die("--histogram %s: %s", b->histogram, strerror(errno));
	fprintf(f, "# kraftbench latency distributions: latency_us fraction_at_or_below\n");
	for (int k = 0; k < KINDS; k++) {
		const struct kr_latency *l = &b->lat[k];
		uint64_t seen = 0;

		fprintf(f, "# %s (%" PRIu64 " samples)\n", kind_name[k], l->count);
		for (unsigned i = 0; i < KR_LAT_BUCKETS && l->count; i++) {
			uint64_t top = kr_latency_bucket_top(i);

			if (l->bucket[i] == 0)
				continue;
			seen += l->bucket[i];
			fprintf(f, "%.3f %.6f\n", (double)(top < l->max_ns ? top : l->max_ns) / 1e3,
				(double)seen / (double)l->count);
		}
		fprintf(f, "\n\n");
	}
	if (fclose(f) != 0)
		die("--histogram %s: %s", b->histogram, strerror(errno));
}

static void
report(const struct bench *b, double secs)
{
	const double qs[] = {0.5, 0.9, 0.99, 0.999};
	const char *qn[] = {"p50", "p90", "p99", "p99_9"};
	const struct node *l = &b->nodes[b->leader];
	const struct kr_latency *c = &b->lat[APPEND], *pl = &b->lat[PING_LEADER],
				*pf = &b->lat[PING_FOLLOWER];
	double r50 = q_us(pl, 0.5) > 0 ? q_us(c, 0.5) / q_us(pl, 0.5) : 0;
	double r99 = q_us(pl, 0.99) > 0 ? q_us(c, 0.99) / q_us(pl, 0.99) : 0;
	double legs = q_us(pl, 0.5) + q_us(pf, 0.5);
	double rlegs = pf->count && legs > 0 ? q_us(c, 0.5) / legs : 0;
	double tput = (double)b->done / secs, rtput = tput * b->batch;
	const char *mode = b->dpdk ? "dpdk" : "udp";
	/* --failover, in ms: the gap, the old leader's last commit to the new leader found,
	 * the kill command's own time */
	double gap = (double)(b->fo.first_new_ns - b->fo.last_old_ns) / 1e6,
	       found = (double)(b->fo.found_ns - b->fo.last_old_ns) / 1e6,
	       kill_ms = (double)(b->fo.kill_done_ns - b->fo.kill_ns) / 1e6;
	int new_leader = b->fo.found_ns ? b->nodes[b->fo.new_leader].id : -1;

	if (b->json) {
		printf("{\"transport\": \"%s\", \"leader\": %d, \"address\": \"%u.%u.%u.%u:%u\", "
		       "\"loop\": \"%s\", \"rate\": %.0f, \"inflight\": %d, \"size\": %d, "
		       "\"batch\": %d, \"records_per_s\": %.0f, "
		       "\"commits\": %" PRId64 ", \"counted\": %" PRId64
		       ", \"seconds\": %.3f, \"commits_per_s\": %.0f, \"election\": %s, "
		       "\"resends\": %" PRId64 ", \"unconfirmed\": %" PRId64
		       ", \"tx_drops\": %" PRId64 ", \"fragmented\": %" PRId64
		       ", \"dgram\": %u, \"auth\": %s",
		       mode, l->id, l->ip >> 24, l->ip >> 16 & 0xff, l->ip >> 8 & 0xff,
		       l->ip & 0xff, l->port, b->rate > 0 ? "open" : "closed", b->rate, b->inflight,
		       b->size, b->batch, rtput, b->done, b->counted[APPEND], secs, tput,
		       b->election ? "true" : "false", b->resends, b->unconfirmed, b->tx_drops,
		       b->fragmented, b->dgram, kr_tool_auth.on ? "true" : "false");
		for (int k = 0; k < KINDS; k++) {
			if (b->lat[k].count == 0)
				continue;
			printf(", \"%s_us\": {", kind_name[k]);
			/* to the ns: a 1 us commit's ratios need more than 0.1 us */
			for (int i = 0; i < 4; i++)
				printf("\"%s\": %.3f, ", qn[i], q_us(&b->lat[k], qs[i]));
			printf("\"max\": %.3f, \"n\": %" PRIu64 "}", (double)b->lat[k].max_ns / 1e3,
			       b->lat[k].count);
		}
		if (b->ping)
			printf(", \"ratio_p50\": %.3f, \"ratio_p99\": %.3f, "
			       "\"ratio_two_legs_p50\": "
			       "%.3f",
			       r50, r99, rlegs);
		if (b->fo.killed)
			printf(", \"failover\": {\"old_leader\": %d, \"new_leader\": %d, "
			       "\"gap_ms\": %.2f, \"last_old_commit_to_new_leader_ms\": %.2f, "
			       "\"kill_command_ms\": %.2f, \"fetch_timeout_ms\": %.0f, "
			       "\"gap_over_fetch_timeout\": %.2f}",
			       b->nodes[b->fo.old_leader].id, new_leader, gap, found, kill_ms,
			       b->fo.fetch_timeout_ms, gap / b->fo.fetch_timeout_ms);
		printf("}\n");
		return;
	}
	printf("kraftbench over %s: leader %d at %u.%u.%u.%u:%u; %" PRId64
	       " commits of %d x %d-byte records in %.2f s: %.0f commits/s, %.0f records/s "
	       "(%s)%s\n",
	       mode, l->id, l->ip >> 24, l->ip >> 16 & 0xff, l->ip >> 8 & 0xff, l->ip & 0xff,
	       l->port, b->done, b->batch, b->size, secs, tput, rtput,
	       b->rate > 0 ? "open loop" : "closed loop",
	       b->election ? "; AN ELECTION HAPPENED" : "");
	if (b->rate > 0)
		printf("open loop: %.0f appends/s scheduled, up to %d outstanding; latency from "
		       "the scheduled send\n",
		       b->rate, b->inflight);
	else
		printf("closed loop: %d outstanding\n", b->inflight);
	for (int k = 0; k < KINDS; k++)
		if (b->lat[k].count)
			printf("%-14s us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  "
			       "(%" PRIu64 ")\n",
			       kind_name[k], q_us(&b->lat[k], 0.5), q_us(&b->lat[k], 0.9),
			       q_us(&b->lat[k], 0.99), q_us(&b->lat[k], 0.999),
			       (double)b->lat[k].max_ns / 1e3, b->lat[k].count);
	if (b->ping && pl->count)
		printf("commit / ping_leader: p50 %.2fx  p99 %.2fx%s\n", r50, r99, "");
	if (b->ping && pf->count)
		printf("commit / (ping_leader + ping_follower) p50: %.2fx (a commit needs both "
		       "legs)\n",
		       rlegs);
	if (b->fo.killed)
		printf("failover: leader %d killed (the command took %.1f ms); new leader %d "
		       "(epoch %u) found %.1f ms after the old one's last commit; gap between the "
		       "last commit by the old leader and the first by the new: %.1f ms = %.2f x "
		       "the fetch timeout (%.0f ms)\n",
		       b->nodes[b->fo.old_leader].id, kill_ms, new_leader, b->fo.new_epoch, found,
		       gap, gap / b->fo.fetch_timeout_ms, b->fo.fetch_timeout_ms);
	if (b->resends)
		printf("%" PRId64 " requests re-sent after 1 s without an answer\n", b->resends);
	if (b->tx_drops)
		printf("%" PRId64 " frames could not be sent\n", b->tx_drops);
	if (b->unconfirmed)
		printf("%" PRId64
		       " re-sent appends answered DUPLICATE_SEQUENCE_NUMBER (their first "
		       "answer was lost; not counted)\n",
		       b->unconfirmed);
}

/* ---- arguments ---- */

static double
arg_num(const char *opt, const char *v, double min, double max)
{
	char *end;
	double d = strtod(v, &end);

	if (*v == '\0' || *end != '\0' || !(d >= min && d <= max)) {
		fprintf(stderr, "kraftbench: %s: '%s' is not a number in [%g, %g]\n", opt, v, min,
			max);
		exit(2);
	}
	return d;
}

int
main(int argc, char **argv)
{
	static struct bench b;
	struct kr_endpoint boot[KR_REPLICAS_MAX];
	unsigned n_boot = 0;
	const char *bs = NULL, *node_ports = NULL, *local = NULL,
		   *key_file = getenv("KRAFTD_AUTH_KEY_FILE");
	int eal_at = -1;
	bool inflight_set = false;
	double secs;

	kr_tool_name = "kraftbench";
	b.records = 10000;
	b.inflight = 1;
	b.size = 64;
	b.batch = 1;
	b.warmup = 100;
	b.yield = true;
	b.fo.fetch_timeout_ms = 200;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--") == 0) {
			eal_at = i;
			break;
		} else if (strcmp(a, "--mac-cost") == 0) {
			return mac_cost();
		} else if (v == NULL && strncmp(a, "--", 2) == 0 && strcmp(a, "--ping") != 0 &&
			   strcmp(a, "--json") != 0 && strcmp(a, "--keep-elections") != 0) {
			fprintf(stderr, "kraftbench: %s needs a value\n", a);
			return 2;
		} else if (strcmp(a, "--bootstrap-server") == 0) {
			bs = argv[++i];
		} else if (strcmp(a, "--auth-key-file") == 0) {
			key_file = argv[++i];
		} else if (strcmp(a, "--records") == 0) {
			b.records = (int64_t)arg_num(a, argv[++i], 1, 1e12);
		} else if (strcmp(a, "--duration") == 0) {
			b.duration_s = arg_num(a, argv[++i], 0.001, 86400);
		} else if (strcmp(a, "--inflight") == 0) {
			b.inflight = (int)arg_num(a, argv[++i], 1, SLOTS_MAX);
			inflight_set = true;
		} else if (strcmp(a, "--rate") == 0) {
			b.rate = arg_num(a, argv[++i], 1, 1e8);
		} else if (strcmp(a, "--size") == 0) {
			b.size = (int)arg_num(a, argv[++i], 0,
					      KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES - 4);
		} else if (strcmp(a, "--keys") == 0) {
			b.keys = (uint64_t)arg_num(a, argv[++i], 1, INT64_MAX);
		} else if (strcmp(a, "--batch") == 0) {
			b.batch = (int)arg_num(a, argv[++i], 1, KR_BATCH_RECORDS_MAX);
		} else if (strcmp(a, "--warmup") == 0) {
			b.warmup = (int64_t)arg_num(a, argv[++i], 0, 1e9);
		} else if (strcmp(a, "--ping") == 0) {
			b.ping = true;
		} else if (strcmp(a, "--json") == 0) {
			b.json = true;
		} else if (strcmp(a, "--keep-elections") == 0) {
			b.keep_elections = true;
		} else if (strcmp(a, "--histogram") == 0) {
			b.histogram = argv[++i];
		} else if (strcmp(a, "--failover") == 0) {
			b.fo.cmd = argv[++i];
		} else if (strcmp(a, "--kill-after") == 0) {
			b.fo.after_s = arg_num(a, argv[++i], 0, 86400);
		} else if (strcmp(a, "--fetch-timeout-ms") == 0) {
			b.fo.fetch_timeout_ms = arg_num(a, argv[++i], 1, 1e6);
		} else if (strcmp(a, "--local") == 0) {
			local = argv[++i];
		} else if (strcmp(a, "--node-ports") == 0) {
			node_ports = argv[++i];
		} else if (strcmp(a, "--idle") == 0 &&
			   (strcmp(v, "spin") == 0 || strcmp(v, "yield") == 0)) {
			b.yield = strcmp(argv[++i], "yield") == 0;
		} else {
			fprintf(stderr, "kraftbench: bad argument '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	for (const char *s = bs; s != NULL && *s != '\0' && n_boot < KR_REPLICAS_MAX;) {
		char one[64];
		size_t k = strcspn(s, ",");

		snprintf(one, sizeof(one), "%.*s", (int)k, s);
		if (kr_endpoint_parse(one, &boot[n_boot++]) != 0) {
			fprintf(stderr,
				"kraftbench: --bootstrap-server: '%s' is not a.b.c.d:port\n", one);
			return 2;
		}
		s += k + (s[k] == ',');
	}
	if (n_boot == 0) {
		fprintf(stderr, "kraftbench: --bootstrap-server a.b.c.d:port is required\n");
		usage(stderr);
		return 2;
	}
	if (b.rate > 0 && !inflight_set)
		b.inflight = SLOTS_MAX;
	if (b.fo.cmd != NULL && strstr(b.fo.cmd, "%d") == NULL) {
		fprintf(stderr, "kraftbench: --failover: the command needs %%d (the leader)\n");
		return 2;
	}
	if (b.fo.cmd != NULL && b.fo.after_s == 0)
		b.fo.after_s = b.duration_s > 0 ? b.duration_s / 2 : 1;
	if (b.fo.cmd != NULL)
		b.keep_elections = true;
	kr_tool_auth_load(key_file != NULL && key_file[0] != '\0' ? key_file : NULL);
	b.dpdk = eal_at > 0;
	b.dgram = KR_WIRE_UDP_PAYLOAD_MAX; /* the DPDK ports' may be smaller */
	if (b.dpdk && (local == NULL || kr_endpoint_parse(local, &b.local) != 0)) {
		fprintf(stderr, "kraftbench: DPDK mode needs --local a.b.c.d:port (its address)\n");
		return 2;
	}
	if (!b.dpdk && (local != NULL || node_ports != NULL)) {
		fprintf(stderr, "kraftbench: --local and --node-ports are for DPDK mode (EAL "
				"options after --)\n");
		return 2;
	}
	b.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	b.mfd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (b.fd < 0 || b.mfd < 0)
		die("socket: %s", strerror(errno));
	if (getrandom(&b.pid, sizeof(b.pid), 0) != sizeof(b.pid))
		die("no randomness for a producer id");
	b.pid = (b.pid >> 1) | 1;
	if (b.keys > 0 && b.size < 8) {
		fprintf(stderr, "kraftbench: --keys needs --size 8 or more (the key is 8 bytes)\n");
		return 2;
	}
	if ((uint64_t)b.batch * (4u + (uint64_t)b.size) > KR_BATCH_BYTES_MAX - 64) {
		fprintf(stderr, "kraftbench: --batch %d of --size %d exceeds a batch (%u bytes)\n",
			b.batch, b.size, KR_BATCH_BYTES_MAX);
		return 2;
	}
	for (int r = 0; r < b.batch; r++) {
		uint8_t *rec = b.records_buf + b.records_len;

		kr_put_le32(rec, (uint32_t)b.size);
		for (int i = 0; i < b.size; i++)
			rec[4 + i] = (uint8_t)('a' + i % 26);
		b.records_len += 4 + (uint32_t)b.size;
	}
	signal(SIGINT, on_sigint);
	signal(SIGTERM, on_sigint);
	find_nodes(&b, boot, n_boot);
	b.leader = find_leader(&b, 0, 10000);
	if (b.leader < 0)
		die("no leader within 10 s");
	if (b.dpdk) {
		argv[eal_at] = argv[0];
		dpdk_start(&b, argc - eal_at, argv + eal_at, node_ports);
	}
	reach_all(&b);
	warm_links(&b);
	secs = run(&b);
	if (b.dpdk)
		dpdk_stop(&b);
	report(&b, secs);
	if (b.histogram != NULL)
		write_histogram(&b);
	if (b.fo.killed && b.fo.first_new_ns == 0)
		die("--failover: no commit by a new leader");
	if (b.election && !b.keep_elections) {
		fprintf(stderr, "kraftbench: an election happened during the run: discarded "
				"(--keep-elections keeps it)\n");
		return 4;
	}
	return b.counted[APPEND] > 0 ? 0 : 1;
}
