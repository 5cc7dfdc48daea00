/* kraftd: a node whose dataplane runs on DPDK (docs/DESIGN.md §3): the EAL, the mbuf pool,
 * one port per ethdev the EAL was given, the neighbours and the peer -> port table. The
 * dataplane then runs on the EAL's main lcore in poll mode; the control and flush
 * threads get the CPUs the process had before the EAL pinned it (a blocking thread on
 * a poller's core stalls the poller for whole scheduler slices). */
#include <errno.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>

#include "kraft/node.h"
#include "kraft/port_dpdk.h"
#include "kraft/xdp.h"

/* kraftd's XDP program on an AF_XDP port's interface: steer the dataplane port to it. */
static int
steer(struct kn_node *n, const char *ifname, char *err, size_t errlen)
{
	char name[16];
	uint32_t id;
	uint16_t port = n->cfg.listener.port;
	int rc = kn_xdp_attached(ifname, &id, name, err, errlen);

	if (rc != 0)
		return rc;
	if (id == 0 || strcmp(name, "kraftd_xdp") != 0) {
		/* DPDK's own program sends every frame, ARP included, to the socket: the
		 * kernel goes deaf on the interface: no ARP, no ssh */
		kn_log(n, "start",
		       "%s: the XDP program is %s, not kraftd's: give "
		       "xdp_prog=.../kraftd_xdp.bpf.o "
		       "in the --vdev, or the kernel loses ARP and everything else on %s",
		       ifname, id ? name : "none", ifname);
		return 0;
	}
	rc = kn_xdp_set_ports(ifname, &port, 1, err, errlen);
	if (rc != 0)
		return rc;
	n->kernel_neighbours = true; /* the kernel answers ARP: its table has the MACs */
	kn_log(n, "start",
	       "%s: kraftd's XDP program (id %u) steers UDP port %u to AF_XDP and passes "
	       "everything else to the kernel",
	       ifname, id, port);
	return 0;
}

/* A memif server's socket file left by a killed run makes the driver fail ("Address
 * already in use"): remove those nobody listens on. */
static void
stale_memif_sockets(struct kn_node *n)
{
	char **argv = n->opt.eal_argv;

	for (int i = 0; i < n->opt.eal_argc; i++) {
		const char *v = NULL, *p;
		char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
		struct sockaddr_un a = {.sun_family = AF_UNIX};
		int fd;

		if (strcmp(argv[i], "--vdev") == 0 && i + 1 < n->opt.eal_argc)
			v = argv[++i];
		else if (strncmp(argv[i], "--vdev=", 7) == 0)
			v = argv[i] + 7;
		if (v == NULL || strncmp(v, "net_memif", 9) != 0 ||
		    strstr(v, "role=server") == NULL || strstr(v, "socket-abstract=no") == NULL ||
		    (p = strstr(v, "socket=")) == NULL)
			continue;
		snprintf(path, sizeof(path), "%.*s", (int)strcspn(p + 7, ","), p + 7);
		snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
		fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 && errno == ECONNREFUSED &&
		    unlink(path) == 0)
			kn_log(n, "start", "removed the stale memif socket %s (nobody listened)",
			       path);
		close(fd);
	}
}

int
kn_dpdk_start(struct kn_node *n, char *err, size_t errlen)
{
	struct kr_node_config *c = &n->cfg;
	struct rte_mempool *pool;
	uint32_t payload_max = UINT32_MAX;
	uint16_t pid;
	int rc;

	char xdev[KN_PORTS_MAX][32], xif[KN_PORTS_MAX][32];
	unsigned nx =
		kn_dpdk_af_xdp_vdevs(n->opt.eal_argc, n->opt.eal_argv, xdev, xif, KN_PORTS_MAX);

	CPU_ZERO(&n->cpus);
	if (sched_getaffinity(0, sizeof(n->cpus), &n->cpus) != 0)
		CPU_ZERO(&n->cpus);
	/* a program left by a crash would make the AF_XDP driver refuse the interface */
	for (unsigned i = 0; i < nx; i++) {
		char why[256], name[16];
		uint32_t id = 0;

		kn_xdp_attached(xif[i], &id, name, why, sizeof(why));
		rc = kn_xdp_detach(xif[i], why, sizeof(why));
		if (rc < 0)
			kn_log(n, "start", "%s", why);
		else if (rc > 0)
			kn_log(n, "start", "removed a stale XDP program (%u, %s) from %s", id, name,
			       xif[i]);
	}
	stale_memif_sockets(n);
	{
		char line[1024];
		size_t k = 0;

		for (int i = 1; i < n->opt.eal_argc && k < sizeof(line) - 2; i++)
			k += (size_t)snprintf(line + k, sizeof(line) - k, "%s%s", i > 1 ? " " : "",
					      n->opt.eal_argv[i]);
		kn_log(n, "start", "EAL options: %s", k ? line : "(none)");
	}
	rc = rte_eal_init(n->opt.eal_argc, n->opt.eal_argv);
	if (rc < 0) {
		snprintf(err, errlen, "EAL: %s (check the EAL options before --)",
			 rte_strerror(rte_errno));
		return -EINVAL;
	}
	n->eal = true;
	if (kn_telemetry_register(n) != 0)
		kn_log(n, "start", "telemetry: cannot register /kraft/* (telemetry disabled?)");
	if (rte_eth_dev_count_avail() == 0) {
		snprintf(err, errlen,
			 "EAL: no ports (give one: --vdev net_af_xdp0,iface=IF,... or "
			 "--vdev net_memif0,... or a NIC's PCI address)");
		return -ENODEV;
	}
	pool = rte_pktmbuf_pool_create("kraftd_mbufs", c->dpdk_mbufs, 256, 0,
				       RTE_MBUF_DEFAULT_BUF_SIZE, (int)rte_socket_id());
	if (pool == NULL) {
		snprintf(err, errlen, "mbuf pool of %u: %s", c->dpdk_mbufs,
			 rte_strerror(rte_errno));
		return -ENOMEM;
	}
	RTE_ETH_FOREACH_DEV(pid)
	{
		struct kn_port *p;

		if (n->n_ports == KN_PORTS_MAX) {
			snprintf(err, errlen, "more than %d ports", KN_PORTS_MAX);
			return -E2BIG;
		}
		p = kn_port_dpdk_open(pid, c->listener.ip, c->listener.port, n->n_ports, pool,
				      c->dpdk_arp, err, errlen);
		if (p == NULL)
			return -EIO;
		for (unsigned i = 0; i < c->n_neighbours; i++)
			kn_port_dpdk_neighbour(p, c->neighbour_ip[i].ip, c->neighbour_mac[i]);
		if (p->payload_max < payload_max)
			payload_max = p->payload_max;
		n->ports[n->n_ports] = p;
		for (unsigned i = 0; i < nx; i++) {
			char dev[RTE_ETH_NAME_MAX_LEN];

			if (rte_eth_dev_get_name_by_port(pid, dev) == 0 &&
			    strcmp(dev, xdev[i]) == 0)
				memcpy(n->xdp_ifaces[n->n_ports], xif[i], sizeof(n->xdp_ifaces[0]));
		}
		if (n->xdp_ifaces[n->n_ports][0] != '\0' &&
		    (rc = steer(n, n->xdp_ifaces[n->n_ports], err, errlen)) != 0)
			return rc;
		n->n_ports++;
	}
	/* an entry may name a node that is no voter yet: one a voter change adds later is
	 * reached through the port made for it now (node_addr in dataplane.c) */
	for (unsigned i = 0; i < c->n_peer_ports; i++)
		if (c->peer_port_index[i] >= n->n_ports) {
			snprintf(err, errlen,
				 "kraftd.dpdk.peer.ports: %d@%u names no such port (%u ports: "
				 "0..%u)",
				 c->peer_port_node[i], c->peer_port_index[i], n->n_ports,
				 n->n_ports - 1);
			return -EINVAL;
		}
	return kr_config_fit_payload(c, payload_max, err, errlen);
}

void
kn_dpdk_stop(struct kn_node *n)
{
	if (n->eal)
		rte_eal_cleanup();
}
