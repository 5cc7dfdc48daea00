/* kraftfloor: the raw transport's round trip, beside kraftd's, in one run.
 *
 * `kraftfloor echo` is a bare echo: every UDP datagram it gets goes back with its
 * addresses swapped, nothing else (kernel UDP, or DPDK: rte_eth_rx_burst, swap,
 * rte_eth_tx_burst). `kraftfloor ping` is a bare client: one datagram at a time, the
 * round trip timed, alternating between a phase against the echo (the raw floor) and a
 * phase against a kraftd node's PING (which the node's dataplane answers before
 * replication), PAIRS times. The client sends the same bytes every time (a PING frame
 * encoded once at start, and a raw payload of the same length), so it runs no kraftd
 * code per packet; the echo runs none at all. The ratio kraftd / raw of each pair is
 * then what the node's code and ports add to one round trip over the same transport,
 * with client cost and noise shared; the report gives each pair and the median ratio
 * with its spread.
 *
 * DPDK: the ports the EAL options give. memif: one link to the echo and one to the node;
 * AF_XDP: one veth, kraftd's XDP program steering the local port (set here). The first
 * datagram to each target goes to the broadcast MAC and the reply's source MAC is used
 * from then on (neither end answers ARP). The echo sleeps when idle (ECHO_SPIN_MS), so
 * it can share a core with the node: each is busy only in its own phase.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "kraft/latency.h"
#include "kraft/port.h"
#include "kraft/port_dpdk.h"
#include "kraft/xdp.h"
#include "tool.h"
#include "kraft/voters.h"
#include "kraft/wire.h"

#define TIMEOUT_NS 100000000ll /* a datagram not back within this is lost */
/* The DPDK echo polls without a pause (not even a yield: a yield hands the core to any
 * other task on it, for a slice) while datagrams come and for ECHO_SPIN_MS after the
 * last; then it sleeps ECHO_SLEEP_NS between polls. So it is one of the two busy pollers
 * a 2-core machine can hold only during its own phase. */
#define ECHO_SPIN_MS 20
#define ECHO_SLEEP_NS 200000
/* Round trips before each phase, not timed: a target idle during the other phase is
 * awake again (the echo's sleep above, the node's idle mode). */
#define PHASE_WARM 200
#define PAYLOAD_MAX 256
/* The DPDK client's last datagram to the echo: stop polling and close the port. A memif
 * server unmaps the client's rings when the client disconnects, in DPDK's interrupt
 * thread, while an echo still in rte_eth_rx_burst reads them (a segfault 1 run in 5
 * here): so the echo closes first, the client after, not polling meanwhile. */
#define ECHO_STOP "kraftfloor-stop"
#define ECHO_STOP_WAIT_NS 200000000L
/* A datagram whose payload starts with ECHO_ACK comes back cut to ECHO_ACK_BYTES of
 * payload: an acknowledgement, so that its data crosses the link once (--bulk-acks). */
#define ECHO_ACK "kraftfloor-ack"
#define ECHO_ACK_BYTES 64

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

#define die kr_tool_die

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kraftfloor echo --udp A.B.C.D:PORT\n"
		"       kraftfloor echo --local A.B.C.D:PORT -- EAL options\n"
		"       kraftfloor ping --raw A.B.C.D:PORT --kraftd A.B.C.D:PORT\n"
		"                  [--local A.B.C.D:PORT] [--count N] [--pairs P] [--json]\n"
		"                  [--pause PID] [--bulk BYTES [--bulk-size S] [--bulk-window W]\n"
		"                  [--bulk-acks]]\n"
		"                  [-- EAL options]\n"
		"\n"
		"echo: send every UDP datagram back, addresses swapped (kernel UDP with --udp;\n"
		"      else DPDK on every port the EAL options give, for datagrams to --local).\n"
		"ping: round trips one at a time, N per phase (default 20000), alternating a\n"
		"      phase against the echo (--raw) with one against a kraftd node's PING\n"
		"      (--kraftd), P pairs (default 5); prints each phase's p50 and p99 and the\n"
		"      ratio kraftd / raw of each pair, then the median ratio and its spread.\n"
		"      Kernel UDP without EAL options; with them, DPDK: port 0 reaches the echo,\n"
		"      port 1 (or 0 if there is one) the node; --local is this end's address.\n"
		"      --pause PID: stop process PID (the node: SIGSTOP) for every raw phase and\n"
		"      continue it (SIGCONT) for its own, so the echo has the core to itself as\n"
		"      the node has it in its phase (a node that polls without sleeping would\n"
		"      share it with the echo). Only where a stopped node does no harm: a\n"
		"      1-voter cluster (a voter stopped past the fetch timeout starts an "
		"election).\n"
		"      --bulk BYTES (DPDK): instead, the echo's throughput, P runs: datagrams of\n"
		"      S payload bytes (default 1400), W in flight (default 256), until BYTES\n"
		"      came back; prints each run's MB/s and the median (the floor of a bulk\n"
		"      transfer such as a snapshot's; each byte crosses the link twice).\n"
		"      --bulk-acks: the echo answers each datagram with 64 bytes only, so\n"
		"      the data crosses once, as a snapshot's does.\n");
}

#define now_ns kr_tool_now_ns

static struct kr_endpoint
endpoint(const char *opt, const char *s)
{
	struct kr_endpoint e;

	if (s == NULL || kr_endpoint_parse(s, &e) != 0)
		die("%s needs A.B.C.D:PORT", opt);
	return e;
}

/* ---- kernel UDP ---- */

static int
udp_socket(const struct kr_endpoint *bind_to)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET};

	if (fd < 0)
		die("socket: %s", strerror(errno));
	if (bind_to != NULL) {
		a.sin_addr.s_addr = htonl(bind_to->ip);
		a.sin_port = htons(bind_to->port);
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
			die("bind: %s", strerror(errno));
	}
	return fd;
}

/* Like the DPDK echo: polls the socket without blocking while datagrams come and for
 * ECHO_SPIN_MS after the last (a blocking echo would add a wakeup to every round trip,
 * which kraftd's spinning dataplane does not pay), then blocks until one comes. */
static void
udp_echo(const struct kr_endpoint *at)
{
	int fd = udp_socket(at);
	uint8_t buf[2048];
	int64_t last = now_ns();

	while (!stop) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n =
			recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);

		if (n > 0) {
			(void)sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
			last = now_ns();
		} else if (now_ns() - last > ECHO_SPIN_MS * 1000000ll) {
			struct pollfd p = {.fd = fd, .events = POLLIN};

			(void)poll(&p, 1, 100);
		}
	}
}

/* ---- DPDK ---- */

struct dport {
	uint16_t id;
	struct rte_ether_addr mac;
	bool memif;
};

static struct rte_mempool *pool;
static struct dport ports[RTE_MAX_ETHPORTS];
static unsigned n_ports;

static void
dpdk_start(int argc, char **argv, uint16_t local_port)
{
	char xdev[KN_PORTS_MAX][32], xif[KN_PORTS_MAX][32], err[256];
	unsigned nx = kn_dpdk_af_xdp_vdevs(argc, argv, xdev, xif, KN_PORTS_MAX);
	uint16_t pid;

	if (rte_eal_init(argc, argv) < 0)
		die("EAL: %s (check the EAL options after --)", rte_strerror(rte_errno));
	pool = rte_pktmbuf_pool_create("kraftfloor", 4095, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				       (int)rte_socket_id());
	if (pool == NULL)
		die("mbuf pool: %s", rte_strerror(rte_errno));
	RTE_ETH_FOREACH_DEV(pid)
	{
		struct rte_eth_conf conf = {0};
		char dev[RTE_ETH_NAME_MAX_LEN] = "";
		int rc = -1;

		if (rte_eth_dev_configure(pid, 1, 1, &conf) != 0 ||
		    rte_eth_rx_queue_setup(pid, 0, 1024, (unsigned)rte_eth_dev_socket_id(pid), NULL,
					   pool) != 0 ||
		    rte_eth_tx_queue_setup(pid, 0, 1024, (unsigned)rte_eth_dev_socket_id(pid),
					   NULL) != 0)
			die("port %u: cannot configure", pid);
		for (int t = 0; t < 50 && rc != 0; t++) /* a memif client waits for its server */
			if ((rc = rte_eth_dev_start(pid)) != 0) {
				if (t == 5)
					fprintf(stderr,
						"kraftfloor: port %u: waiting to start (a "
						"memif server not up yet?)\n",
						pid);
				usleep(200000);
			}
		if (rc != 0)
			die("port %u: cannot start (a memif peer missing?)", pid);
		rte_eth_promiscuous_enable(pid);
		rte_eth_macaddr_get(pid, &ports[n_ports].mac);
		ports[n_ports++].id = pid;
		rte_eth_dev_get_name_by_port(pid, dev);
		ports[n_ports - 1].memif = strncmp(dev, "net_memif", 9) == 0;
		for (unsigned i = 0; i < nx; i++)
			if (strcmp(dev, xdev[i]) == 0 &&
			    kn_xdp_set_ports(xif[i], &local_port, 1, err, sizeof(err)) != 0)
				die("%s: %s (give xdp_prog=.../kraftd_xdp.bpf.o in the --vdev)",
				    xif[i], err);
	}
	if (n_ports == 0)
		die("EAL: no ports (give --vdev net_memif... or net_af_xdp...)");
	for (unsigned i = 0; i < n_ports; i++) { /* a memif link is up once its peer connects */
		struct rte_eth_link link = {0};

		for (int t = 0; t < 100 && !link.link_status; t++) {
			rte_eth_link_get_nowait(ports[i].id, &link);
			if (!link.link_status && t == 10)
				fprintf(stderr, "kraftfloor: port %u: waiting for its link\n",
					ports[i].id);
			if (!link.link_status)
				usleep(100000);
		}
		if (!link.link_status)
			die("port %u: link down after 10 s (its peer not running?)", ports[i].id);
	}
}

static void
dpdk_stop(void)
{
	for (unsigned i = 0; i < n_ports; i++) {
		(void)rte_eth_dev_stop(ports[i].id);
		(void)rte_eth_dev_close(ports[i].id);
	}
	rte_eal_cleanup();
}

/* The echo: each IPv4 UDP frame to the local port back with its addresses swapped. */
static void
dpdk_echo(uint16_t local_port)
{
	uint64_t echoed = 0, last = rte_rdtsc(), spin = rte_get_tsc_hz() / 1000 * ECHO_SPIN_MS;

	while (!stop) {
		bool any = false;

		for (unsigned p = 0; p < n_ports; p++) {
			struct rte_mbuf *m[32];
			uint16_t n = rte_eth_rx_burst(ports[p].id, 0, m, 32), k = 0;

			for (uint16_t i = 0; i < n; i++) {
				struct rte_ether_hdr *e = rte_pktmbuf_mtod(m[i], void *);
				struct rte_ipv4_hdr *ip = (void *)(e + 1);
				struct rte_udp_hdr *u = (void *)(ip + 1);
				rte_be32_t a;
				rte_be16_t pt;

				if (m[i]->data_len < sizeof(*e) + sizeof(*ip) + sizeof(*u) ||
				    e->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
				    ip->next_proto_id != IPPROTO_UDP ||
				    u->dst_port != rte_cpu_to_be_16(local_port)) {
					rte_pktmbuf_free(m[i]);
					continue;
				}
				if (m[i]->data_len == sizeof(*e) + sizeof(*ip) + sizeof(*u) +
							      sizeof(ECHO_STOP) &&
				    memcmp(u + 1, ECHO_STOP, sizeof(ECHO_STOP)) == 0) {
					stop = 1; /* the client leaves: close before it does */
					rte_pktmbuf_free(m[i]);
					continue;
				}
				e->dst_addr = e->src_addr;
				e->src_addr = ports[p].mac;
				a = ip->src_addr, ip->src_addr = ip->dst_addr, ip->dst_addr = a;
				pt = u->src_port, u->src_port = u->dst_port, u->dst_port = pt;
				if (m[i]->data_len > sizeof(*e) + sizeof(*ip) + sizeof(*u) +
							     ECHO_ACK_BYTES &&
				    memcmp(u + 1, ECHO_ACK, sizeof(ECHO_ACK)) == 0) {
					uint16_t keep = (uint16_t)(sizeof(*u) + ECHO_ACK_BYTES);

					rte_pktmbuf_trim(m[i],
							 (uint16_t)(m[i]->data_len - sizeof(*e) -
								    sizeof(*ip) - keep));
					u->dgram_len = rte_cpu_to_be_16(keep);
					u->dgram_cksum = 0;
					ip->total_length =
						rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + keep));
					ip->hdr_checksum = 0;
					ip->hdr_checksum = rte_ipv4_cksum(ip);
				}
				m[k++] = m[i]; /* checksums: the same sums, swapped */
			}
			if (k > 0) {
				uint16_t sent = rte_eth_tx_burst(ports[p].id, 0, m, k);

				echoed += sent;
				for (uint16_t i = sent; i < k; i++)
					rte_pktmbuf_free(m[i]);
			}
			any = any || n > 0;
		}
		if (any) {
			last = rte_rdtsc();
		} else if (rte_rdtsc() - last >= spin) {
			/* idle for a while: sleep between polls, off the CPU (the node's phase
			 * runs meanwhile); the client's warm-up wakes it */
			struct timespec ts = {0, ECHO_SLEEP_NS};

			nanosleep(&ts, NULL);
		}
	}
	printf("kraftfloor: echoed %" PRIu64 " datagrams\n", echoed);
}

/* ---- the client ---- */

struct target {
	const char *name;
	struct kr_endpoint ep;
	uint8_t payload[PAYLOAD_MAX];
	uint32_t len;
	/* kernel UDP */
	int fd;
	/* DPDK */
	unsigned port;
	struct rte_ether_addr mac; /* learned from its first reply (broadcast until then) */
	bool have_mac;
};

static struct kr_endpoint local;
static uint64_t lost;

/* A datagram of plen payload bytes to t, from this client's port and address. */
static struct rte_mbuf *
dpdk_datagram(const struct target *t, const void *payload, uint32_t plen)
{
	struct rte_mbuf *m = rte_pktmbuf_alloc(pool);
	struct rte_ether_hdr *e;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *u;
	uint16_t len = (uint16_t)(sizeof(*e) + sizeof(*ip) + sizeof(*u) + plen);

	if (m == NULL)
		die("out of mbufs");
	e = (void *)rte_pktmbuf_append(m, len);
	ip = (void *)(e + 1);
	u = (void *)(ip + 1);
	e->src_addr = ports[t->port].mac;
	if (t->have_mac)
		e->dst_addr = t->mac;
	else
		memset(&e->dst_addr, 0xff, sizeof(e->dst_addr));
	e->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	*ip = (struct rte_ipv4_hdr){.version_ihl = RTE_IPV4_VHL_DEF,
				    .total_length = rte_cpu_to_be_16(len - sizeof(*e)),
				    .time_to_live = 64,
				    .next_proto_id = IPPROTO_UDP,
				    .src_addr = rte_cpu_to_be_32(local.ip),
				    .dst_addr = rte_cpu_to_be_32(t->ep.ip)};
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	*u = (struct rte_udp_hdr){.src_port = rte_cpu_to_be_16(local.port),
				  .dst_port = rte_cpu_to_be_16(t->ep.port),
				  .dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*u) + plen))};
	memcpy(u + 1, payload, plen);
	return m;
}

/* Tell the echo (t) to stop, then give it the time to close its port (ECHO_STOP). */
static void
dpdk_stop_echo(const struct target *t)
{
	struct rte_mbuf *m = dpdk_datagram(t, ECHO_STOP, sizeof(ECHO_STOP));
	struct timespec ts = {0, ECHO_STOP_WAIT_NS};

	if (rte_eth_tx_burst(ports[t->port].id, 0, &m, 1) != 1)
		rte_pktmbuf_free(m);
	nanosleep(&ts, NULL);
}

/* One round trip over DPDK, in ns, or -1 (lost). */
static int64_t
dpdk_once(struct target *t)
{
	struct rte_mbuf *m = dpdk_datagram(t, t->payload, t->len);
	uint64_t t0, deadline, hz = rte_get_tsc_hz();

	t0 = rte_rdtsc();
	deadline = t0 + hz / 10;
	if (rte_eth_tx_burst(ports[t->port].id, 0, &m, 1) != 1) {
		rte_pktmbuf_free(m);
		return -1;
	}
	while (rte_rdtsc() < deadline) {
		struct rte_mbuf *r[8];
		uint16_t n = rte_eth_rx_burst(ports[t->port].id, 0, r, 8);
		int64_t got = -1;

		for (uint16_t i = 0; i < n; i++) {
			struct rte_ether_hdr *re = rte_pktmbuf_mtod(r[i], void *);
			struct rte_udp_hdr *ru =
				(void *)((uint8_t *)(re + 1) + sizeof(struct rte_ipv4_hdr));

			if (got < 0 && r[i]->data_len >= sizeof(*re) + 28 &&
			    re->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) &&
			    ru->src_port == rte_cpu_to_be_16(t->ep.port) &&
			    ru->dst_port == rte_cpu_to_be_16(local.port)) {
				got = (int64_t)((rte_rdtsc() - t0) * 1000000000ull / hz);
				t->mac = re->src_addr;
				t->have_mac = true;
			}
			rte_pktmbuf_free(r[i]);
		}
		if (got >= 0)
			return got;
	}
	return -1;
}

/* One round trip over kernel UDP, in ns, or -1 (lost). */
static int64_t
udp_once(struct target *t)
{
	uint8_t buf[2048];
	struct pollfd p = {.fd = t->fd, .events = POLLIN};
	int64_t t0 = now_ns();

	if (send(t->fd, t->payload, t->len, 0) != (ssize_t)t->len)
		return -1;
	while (poll(&p, 1, (int)(TIMEOUT_NS / 1000000)) > 0)
		if (recv(t->fd, buf, sizeof(buf), 0) > 0)
			return now_ns() - t0;
	return -1;
}

/* ---- bulk: the raw transport's throughput (the floor of a snapshot transfer) ----
 *
 * Datagrams of size payload bytes to the echo, up to window of them in flight (sent in
 * bursts of 32), until bytes came back; a datagram not back within 100 ms of the last
 * one is lost (its room in the window given back). @return bytes per second that came
 * back: each byte crosses the link twice, so this is a conservative floor for a transfer
 * whose data crosses once; with acks, the echo answers each with ECHO_ACK_BYTES only:
 * the data crosses once, as a snapshot's does, and each datagram acknowledged counts. */
#define BULK_BURST 32

static double
dpdk_bulk(struct target *t, uint64_t bytes, uint32_t size, uint32_t window, bool acks,
	  uint64_t *lostp)
{
	static uint8_t payload[2048];
	uint64_t sent = 0, got = 0, hz = rte_get_tsc_hz(), t0, last;
	uint32_t inflight = 0, back = acks ? ECHO_ACK_BYTES : size;

	memset(payload, 0x6b, sizeof(payload));
	if (acks)
		memcpy(payload, ECHO_ACK, sizeof(ECHO_ACK));
	t0 = last = rte_rdtsc();
	while (got < bytes && !stop) {
		struct rte_mbuf *m[BULK_BURST];
		uint16_t k = 0, n;

		while (k < BULK_BURST && inflight + k < window && sent + (uint64_t)k * size < bytes)
			m[k] = dpdk_datagram(t, payload, size), k++;
		if (k > 0) {
			uint16_t out = rte_eth_tx_burst(ports[t->port].id, 0, m, k);

			for (uint16_t i = out; i < k; i++)
				rte_pktmbuf_free(m[i]);
			sent += (uint64_t)out * size;
			inflight += out;
		}
		n = rte_eth_rx_burst(ports[t->port].id, 0, m, BULK_BURST);
		for (uint16_t i = 0; i < n; i++) {
			if (m[i]->data_len >= 42 + back) {
				got += size;
				if (inflight > 0)
					inflight--;
			}
			rte_pktmbuf_free(m[i]);
		}
		if (n > 0) {
			last = rte_rdtsc();
		} else if (rte_rdtsc() - last > hz / 10) {
			*lostp += inflight; /* gone: their room back */
			inflight = 0;
			last = rte_rdtsc();
			if (sent >= bytes)
				break;
		}
	}
	return (double)got / ((double)(rte_rdtsc() - t0) / (double)hz);
}

struct phase {
	uint64_t p50, p99, max, lost;
};

static struct phase
run_phase(struct target *t, bool dpdk, int count)
{
	static struct kr_latency l;
	uint64_t lost0 = lost;

	for (int i = 0; i < PHASE_WARM && !stop; i++)
		(void)(dpdk ? dpdk_once(t) : udp_once(t));
	memset(&l, 0, sizeof(l));
	for (int i = 0; i < count && !stop; i++) {
		int64_t ns = dpdk ? dpdk_once(t) : udp_once(t);

		if (ns < 0)
			lost++;
		else
			kr_latency_add(&l, (uint64_t)ns);
	}
	if (l.count == 0)
		die("%s: no datagram came back (is it running, at %s?)", t->name,
		    t->name[0] == 'r' ? "--raw" : "--kraftd");
	return (struct phase){kr_latency_quantile(&l, 0.5), kr_latency_quantile(&l, 0.99), l.max_ns,
			      lost - lost0};
}

/* Until 100 round trips in a row come back (MACs learned, caches warm; a link just up may
 * drop the first datagrams), not timed; within 10 s. */
static void
warm_up(struct target *t, bool dpdk)
{
	int64_t t0 = now_ns();
	int in_a_row = 0;

	while (in_a_row < 100 && !stop) {
		if ((dpdk ? dpdk_once(t) : udp_once(t)) >= 0) {
			in_a_row++;
			continue;
		}
		in_a_row = 0;
		if (now_ns() - t0 > 10000000000ll)
			die("%s: no datagram came back within 10 s (is it running, at %s?)",
			    t->name, t->name[0] == 'r' ? "--raw" : "--kraftd");
	}
	if (now_ns() - t0 > 1000000000ll)
		fprintf(stderr, "kraftfloor: %s: answering after %.1f s\n", t->name,
			(double)(now_ns() - t0) / 1e9);
	lost = 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* --pause: the process stopped for the raw phases (0: none) */
static pid_t paused_pid;

/* Every thread of paused_pid stopped (state T in /proc), within a second? */
static bool
all_stopped(void)
{
	char path[64];
	int64_t t0 = now_ns();

	snprintf(path, sizeof(path), "/proc/%d/task", (int)paused_pid);
	while (now_ns() - t0 < 1000000000ll) {
		DIR *d = opendir(path);
		struct dirent *e;
		bool all = d != NULL;

		while (d != NULL && (e = readdir(d)) != NULL) {
			char stat[400], buf[256], *p;
			FILE *f;

			if (e->d_name[0] == '.')
				continue;
			snprintf(stat, sizeof(stat), "%s/%s/stat", path, e->d_name);
			f = fopen(stat, "r");
			if (f == NULL)
				continue;
			p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
			fclose(f);
			if (p == NULL || p[1] != ' ' || (p[2] != 'T' && p[2] != 't'))
				all = false;
		}
		if (d != NULL)
			closedir(d);
		if (all)
			return true;
		usleep(1000);
	}
	return false;
}

static void
pause_node(bool on)
{
	if (paused_pid <= 0)
		return;
	if (kill(paused_pid, on ? SIGSTOP : SIGCONT) != 0)
		die("--pause %d: %s", (int)paused_pid, strerror(errno));
	if (on && !all_stopped())
		die("--pause %d: not stopped within 1 s", (int)paused_pid);
}

static void
resume_node(void)
{
	if (paused_pid > 0)
		kill(paused_pid, SIGCONT);
}

static void
ping(struct target *raw, struct target *node, bool dpdk, int count, int pairs, bool json)
{
	double r50[64], r99[64];
	struct phase pr[64], pk[64];

	warm_up(node, dpdk);
	pause_node(true);
	warm_up(raw, dpdk);
	for (int i = 0; i < pairs && !stop; i++) {
		pause_node(true);
		pr[i] = run_phase(raw, dpdk, count);
		pause_node(false);
		pk[i] = run_phase(node, dpdk, count);
		r50[i] = (double)pk[i].p50 / (double)pr[i].p50;
		r99[i] = (double)pk[i].p99 / (double)pr[i].p99;
		if (!json)
			printf("pair %d: raw p50 %.2f us p99 %.2f us max %.0f us lost %" PRIu64
			       " | kraftd PING p50 %.2f us p99 %.2f us max %.0f us lost %" PRIu64
			       " | ratio p50 %.2fx p99 %.2fx\n",
			       i + 1, pr[i].p50 / 1e3, pr[i].p99 / 1e3, pr[i].max / 1e3, pr[i].lost,
			       pk[i].p50 / 1e3, pk[i].p99 / 1e3, pk[i].max / 1e3, pk[i].lost,
			       r50[i], r99[i]);
	}
	{
		double raw50[64], node50[64], m50, m99, mr, mk;

		for (int i = 0; i < pairs; i++)
			raw50[i] = (double)pr[i].p50, node50[i] = (double)pk[i].p50;
		m50 = median(r50, pairs);
		m99 = median(r99, pairs);
		mr = median(raw50, pairs);
		mk = median(node50, pairs);

		if (json)
			printf("{\"transport\": \"%s\", \"pairs\": %d, \"roundTripsPerPhase\": %d, "
			       "\"ratioP50\": {\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}, "
			       "\"ratioP99\": {\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}, "
			       "\"rawP50Ns\": %.0f, \"kraftdP50Ns\": %.0f, \"lost\": %" PRIu64
			       "}\n",
			       dpdk ? "dpdk" : "udp", pairs, count, m50, r50[0], r50[pairs - 1],
			       m99, r99[0], r99[pairs - 1], mr, mk, lost);
		else
			printf("kraftd PING / raw round trip over %s, %d pairs of %d: p50 median "
			       "%.2fx (spread %.2f-%.2f; raw %.2f us, kraftd %.2f us), p99 median "
			       "%.2fx (spread %.2f-%.2f); lost %" PRIu64 "\n",
			       dpdk ? "DPDK" : "kernel UDP", pairs, count, m50, r50[0],
			       r50[pairs - 1], mr / 1e3, mk / 1e3, m99, r99[0], r99[pairs - 1],
			       lost);
	}
}

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;
	const char *udp = NULL, *raw = NULL, *node = NULL, *loc = NULL;
	int count = 20000, pairs = 5, eal = -1;
	uint64_t bulk = 0;
	uint32_t bulk_size = 1400, bulk_window = 256;
	bool json = false, bulk_acks = false;
	struct target tr = {.name = "raw"}, tk = {.name = "kraftd"};

	kr_tool_name = "kraftfloor";

	if (cmd == NULL || strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
		usage(cmd == NULL ? stderr : stdout);
		return cmd == NULL ? 2 : 0;
	}
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--") == 0) {
			eal = i;
			break;
		} else if (strcmp(a, "--udp") == 0 && v) {
			udp = v, i++;
		} else if (strcmp(a, "--raw") == 0 && v) {
			raw = v, i++;
		} else if (strcmp(a, "--kraftd") == 0 && v) {
			node = v, i++;
		} else if (strcmp(a, "--local") == 0 && v) {
			loc = v, i++;
		} else if (strcmp(a, "--count") == 0 && v) {
			count = atoi(v), i++;
		} else if (strcmp(a, "--pairs") == 0 && v) {
			pairs = atoi(v), i++;
		} else if (strcmp(a, "--bulk") == 0 && v) {
			bulk = strtoull(v, NULL, 10), i++;
		} else if (strcmp(a, "--bulk-size") == 0 && v) {
			bulk_size = (uint32_t)atoi(v), i++;
		} else if (strcmp(a, "--bulk-acks") == 0) {
			bulk_acks = true;
		} else if (strcmp(a, "--bulk-window") == 0 && v) {
			bulk_window = (uint32_t)atoi(v), i++;
		} else if (strcmp(a, "--json") == 0) {
			json = true;
		} else if (strcmp(a, "--pause") == 0 && v) {
			paused_pid = (pid_t)atoi(v), i++;
			if (paused_pid <= 1 || kill(paused_pid, 0) != 0)
				die("--pause %s: no such process", v);
		} else {
			fprintf(stderr,
				"kraftfloor: unexpected argument '%s' (kraftfloor --help)\n", a);
			return 2;
		}
	}
	if (count < 1 || count > 10000000 || pairs < 1 || pairs > 64) {
		fprintf(stderr, "kraftfloor: --count 1..10000000, --pairs 1..64\n");
		return 2;
	}
	{ /* no SA_RESTART: a blocked recvfrom returns, and the echo stops */
		struct sigaction sa = {.sa_handler = on_signal};

		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
	}
	if (strcmp(cmd, "echo") == 0) {
		struct kr_endpoint at;

		if (udp != NULL) {
			at = endpoint("--udp", udp);
			udp_echo(&at);
			return 0;
		}
		if (eal < 0)
			die("echo: give --udp A.B.C.D:PORT, or --local A.B.C.D:PORT -- EAL "
			    "options");
		at = endpoint("--local", loc);
		argv[eal] = argv[0];
		dpdk_start(argc - eal, argv + eal, at.port);
		dpdk_echo(at.port);
		/* No memif teardown: a memif server's close raced its client's disconnect,
		 * which DPDK's interrupt thread handles by unmapping the same rings (a
		 * segfault here 1 run in 6 when the client left at once, and in a CI run
		 * under load despite the client's wait). The process's exit frees it all
		 * (cluster.sh runs it with --no-huge --no-shconf: no files to remove). An
		 * AF_XDP port is closed: that detaches the XDP program. */
		for (unsigned i = 0; i < n_ports; i++)
			if (ports[i].memif) {
				fflush(stdout);
				_exit(0);
			}
		dpdk_stop();
		return 0;
	}
	if (strcmp(cmd, "ping") != 0) {
		fprintf(stderr, "kraftfloor: unknown command '%s' (echo or ping)\n", cmd);
		return 2;
	}
	tr.ep = endpoint("--raw", raw);
	tk.ep = endpoint("--kraftd", node);
	atexit(resume_node); /* the node runs on after any exit (die() included) */
	{		     /* the node's PING, encoded once: the same bytes every time */
		struct kr_frame_hdr h = {.sender_id = KR_NODE_NONE, .correlation_id = 1};
		struct kr_msg m = {.api = KR_API_PING};
		static const uint8_t p[8] = {'k', 'f', 'l', 'o', 'o', 'r'};
		int n;

		m.u.ping = (struct kr_ping){.payload = p, .len = sizeof(p)};
		n = kr_frame_encode(tk.payload, sizeof(tk.payload), &h, &m);
		if (n < 0)
			die("cannot encode a PING");
		tk.len = tr.len = (uint32_t)n;
		memset(tr.payload, 0x5a, tr.len); /* the raw datagram: as long */
	}
	if (eal < 0) {
		struct kr_endpoint any = {0};

		if (loc != NULL)
			any = endpoint("--local", loc);
		tr.fd = udp_socket(loc ? &any : NULL);
		tk.fd = udp_socket(NULL);
		for (struct target *t = &tr; t != NULL; t = t == &tr ? &tk : NULL) {
			struct sockaddr_in a = {.sin_family = AF_INET,
						.sin_port = htons(t->ep.port),
						.sin_addr.s_addr = htonl(t->ep.ip)};

			if (connect(t->fd, (struct sockaddr *)&a, sizeof(a)) != 0)
				die("connect: %s", strerror(errno));
		}
		ping(&tr, &tk, false, count, pairs, json);
		return 0;
	}
	local = endpoint("--local", loc);
	argv[eal] = argv[0];
	dpdk_start(argc - eal, argv + eal, local.port);
	tr.port = 0;
	tk.port = n_ports > 1 ? 1 : 0;
	if (bulk > 0) {
		double r[64];
		uint64_t lost_bulk = 0;

		if (bulk_size < 64 || bulk_size > 1400 || bulk_window < 1 || bulk_window > 4096)
			die("--bulk-size 64..1400, --bulk-window 1..4096");
		warm_up(&tr, true);
		for (int p = 0; p < pairs && !stop; p++)
			r[p] = dpdk_bulk(&tr, bulk, bulk_size, bulk_window, bulk_acks, &lost_bulk);
		for (int p = 0; p < pairs; p++) {
			if (json)
				printf("%s%.0f", p ? "," : "[", r[p]);
			else
				printf("bulk %d: %.1f MB/s\n", p + 1, r[p] / 1e6);
		}
		if (json)
			printf("]\n");
		else
			printf("bulk over DPDK, %d runs of %" PRIu64 " bytes in %u-byte datagrams, "
			       "%u in flight%s: median %.1f MB/s; lost %" PRIu64 "\n",
			       pairs, bulk, bulk_size, bulk_window,
			       bulk_acks ? ", each acknowledged (the data crosses once)"
					 : " (each byte crosses twice)",
			       median(r, pairs) / 1e6, lost_bulk);
		dpdk_stop_echo(&tr);
		dpdk_stop();
		return 0;
	}
	ping(&tr, &tk, true, count, pairs, json);
	dpdk_stop_echo(&tr);
	dpdk_stop();
	return 0;
}
