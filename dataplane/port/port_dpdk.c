/* kraftd: a DPDK ethdev as a port (include/kraft/port.h): a NIC, net_af_xdp, net_memif,
 * net_ring. Ethernet / IPv4 / UDP framing built in the mbuf, UDP checksum computed on
 * transmit except over memif (a veth peer hands AF_XDP frames with partial checksums, so
 * received ones are never checked), buffered bursts out.
 * ARP: requests for this node's address are answered here (memif and ring deliver every
 * frame to DPDK); with AF_XDP kraftd's XDP program passes ARP to the kernel instead.
 * Neighbours: static entries from the configuration, learned from every datagram and ARP
 * packet received, or asked for with an ARP request (at most one per address per
 * ARP_RETRY_US) when a frame has no destination MAC yet (that frame is dropped and
 * counted; the core re-sends). One queue pair per port, polled by the dataplane thread
 * alone: no locks, no syscalls. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include "kraft/port.h"
#include "kraft/port_dpdk.h"

#define HDR_BYTES (RTE_ETHER_HDR_LEN + sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr))
#define NEIGH_MAX 64
#define ARP_RETRY_US 100000
#define RX_DESC 1024
#define TX_DESC 1024
/* Zero copy: datagrams in flight with a payload from the caller's memory, at most */
#define EXT_TICKETS (TX_DESC * 2)

/* One datagram's payload sent from the caller's memory: the shared info DPDK keeps for
 * the external buffer, and what to call when the device is done with it */
struct ext_ticket {
	struct rte_mbuf_ext_shared_info shinfo;
	void (*done)(void *a, void *b);
	void *a, *b;
	struct dpdk_port *d;
	struct ext_ticket *next;
};

struct neigh {
	uint32_t ip;
	struct rte_ether_addr mac;
	bool known;
	uint64_t asked_tsc; /* the last ARP request for it */
};

struct dpdk_port {
	struct kn_port p;
	uint16_t port_id;
	struct rte_mempool *pool;
	struct rte_ether_addr mac;
	bool answer_arp;
	uint64_t arp_retry_tsc;
	struct neigh neigh[NEIGH_MAX];
	unsigned n_neigh;
	struct rte_mbuf *rx_mbufs[KN_RX_BURST];
	struct rte_mbuf *tx[KN_RX_BURST * 4];
	unsigned n_tx;
	int64_t down_since;	/* -1: the link is up */
	bool restart_when_down; /* not a memif server: it waits for its client by itself */
	bool started;		/* false while a restart failed (a memif client whose server
				 * is gone): no burst touches a stopped port */
	bool udp_cksum;		/* computed on transmit (not over memif: below) */
	struct ext_ticket *tickets, *free_tickets; /* zero copy (NULL: not on this port) */
};

static struct neigh *
neigh_find(struct dpdk_port *d, uint32_t ip, bool add)
{
	for (unsigned i = 0; i < d->n_neigh; i++)
		if (d->neigh[i].ip == ip)
			return &d->neigh[i];
	if (!add || d->n_neigh == NEIGH_MAX)
		return NULL;
	d->neigh[d->n_neigh] = (struct neigh){.ip = ip};
	return &d->neigh[d->n_neigh++];
}

static void
neigh_learn(struct dpdk_port *d, uint32_t ip, const struct rte_ether_addr *mac)
{
	struct neigh *n = neigh_find(d, ip, true);

	if (n != NULL && !rte_is_multicast_ether_addr(mac) && !rte_is_zero_ether_addr(mac)) {
		n->mac = *mac;
		n->known = true;
	}
}

int
kn_port_dpdk_neighbour(struct kn_port *p, uint32_t ip, const uint8_t mac[6])
{
	struct dpdk_port *d = (struct dpdk_port *)p;
	struct rte_ether_addr m;

	memcpy(m.addr_bytes, mac, 6);
	if (neigh_find(d, ip, true) == NULL)
		return -ENOSPC;
	neigh_learn(d, ip, &m);
	return 0;
}

/* Queue an mbuf for the next burst (dropped and counted when the buffer is full). */
static void dpdk_tx_flush(struct kn_port *p);

static void
queue_tx(struct dpdk_port *d, struct rte_mbuf *m)
{
	if (d->n_tx == RTE_DIM(d->tx)) /* a message in fragments: hand the device a burst */
		dpdk_tx_flush(&d->p);
	if (d->n_tx == RTE_DIM(d->tx)) {
		d->p.stats.drops[KN_PORT_DROP_TX_FULL]++;
		rte_pktmbuf_free(m);
		return;
	}
	d->tx[d->n_tx++] = m;
}

/* ARP: answer requests for our address, learn every sender. Consumes m. */
static void
on_arp(struct dpdk_port *d, struct rte_mbuf *m)
{
	struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	struct rte_arp_hdr *a = (struct rte_arp_hdr *)(eth + 1);
	uint32_t our = rte_cpu_to_be_32(d->p.ip);

	if (m->data_len < RTE_ETHER_HDR_LEN + sizeof(*a) ||
	    a->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    a->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		d->p.stats.drops[KN_PORT_DROP_MALFORMED]++;
		rte_pktmbuf_free(m);
		return;
	}
	neigh_learn(d, rte_be_to_cpu_32(a->arp_data.arp_sip), &a->arp_data.arp_sha);
	if (!d->answer_arp || a->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
	    a->arp_data.arp_tip != our) {
		rte_pktmbuf_free(m);
		return;
	}
	a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	a->arp_data.arp_tha = a->arp_data.arp_sha;
	a->arp_data.arp_tip = a->arp_data.arp_sip;
	a->arp_data.arp_sha = d->mac;
	a->arp_data.arp_sip = our;
	eth->dst_addr = eth->src_addr;
	eth->src_addr = d->mac;
	d->p.stats.arp_replies++;
	queue_tx(d, m);
}

static void
arp_request(struct dpdk_port *d, struct neigh *n)
{
	uint64_t now = rte_rdtsc();
	struct rte_mbuf *m;
	struct rte_ether_hdr *eth;
	struct rte_arp_hdr *a;

	if (!d->answer_arp || (n->asked_tsc != 0 && now - n->asked_tsc < d->arp_retry_tsc))
		return;
	m = rte_pktmbuf_alloc(d->pool);
	if (m == NULL)
		return;
	n->asked_tsc = now;
	eth = (struct rte_ether_hdr *)rte_pktmbuf_append(m, RTE_ETHER_HDR_LEN + sizeof(*a));
	a = (struct rte_arp_hdr *)(eth + 1);
	memset(&eth->dst_addr, 0xff, sizeof(eth->dst_addr));
	eth->src_addr = d->mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
	a->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
	a->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	a->arp_hlen = RTE_ETHER_ADDR_LEN;
	a->arp_plen = 4;
	a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REQUEST);
	a->arp_data.arp_sha = d->mac;
	a->arp_data.arp_sip = rte_cpu_to_be_32(d->p.ip);
	memset(&a->arp_data.arp_tha, 0, sizeof(a->arp_data.arp_tha));
	a->arp_data.arp_tip = rte_cpu_to_be_32(n->ip);
	queue_tx(d, m);
}

static int
dpdk_rx(struct kn_port *p, struct kn_rx *rx, int n)
{
	struct dpdk_port *d = (struct dpdk_port *)p;
	uint16_t k = d->started ? rte_eth_rx_burst(d->port_id, 0, d->rx_mbufs, (uint16_t)n) : 0;
	int out = 0;

	for (uint16_t i = 0; i < k; i++) {
		struct rte_mbuf *m = d->rx_mbufs[i];
		struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
		struct rte_ipv4_hdr *ip;
		struct rte_udp_hdr *udp;
		uint32_t ihl, tot, ulen;
		enum kn_port_drop why;

		p->stats.rx_packets++;
		p->stats.rx_bytes += m->pkt_len;
		if (m->nb_segs != 1) {
			why = KN_PORT_DROP_MULTI_SEGMENT;
			goto drop;
		}
		if (m->data_len >= RTE_ETHER_HDR_LEN &&
		    eth->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP)) {
			on_arp(d, m);
			continue;
		}
		if (m->data_len < HDR_BYTES ||
		    eth->ether_type != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
			why = KN_PORT_DROP_NOT_IPV4_UDP;
			goto drop;
		}
		ip = (struct rte_ipv4_hdr *)(eth + 1);
		ihl = rte_ipv4_hdr_len(ip);
		tot = rte_be_to_cpu_16(ip->total_length);
		if ((ip->version_ihl >> 4) != 4 || ip->next_proto_id != IPPROTO_UDP) {
			why = KN_PORT_DROP_NOT_IPV4_UDP;
			goto drop;
		}
		if (ihl < sizeof(*ip) || tot < ihl + sizeof(*udp) ||
		    RTE_ETHER_HDR_LEN + tot > m->data_len ||
		    (ip->fragment_offset &
		     rte_cpu_to_be_16(RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK)) != 0) {
			why = KN_PORT_DROP_MALFORMED;
			goto drop;
		}
		if (rte_ipv4_cksum(ip) != 0) {
			/* a good header, its checksum field included, sums to 0xffff: 0 here */
			why = KN_PORT_DROP_BAD_CHECKSUM;
			goto drop;
		}
		udp = (struct rte_udp_hdr *)((uint8_t *)ip + ihl);
		ulen = rte_be_to_cpu_16(udp->dgram_len);
		if (ulen < sizeof(*udp) || ulen > tot - ihl) {
			why = KN_PORT_DROP_MALFORMED;
			goto drop;
		}
		if (rte_be_to_cpu_32(ip->dst_addr) != p->ip ||
		    rte_be_to_cpu_16(udp->dst_port) != p->udp_port) {
			why = KN_PORT_DROP_NOT_FOR_US;
			goto drop;
		}
		neigh_learn(d, rte_be_to_cpu_32(ip->src_addr), &eth->src_addr);
		rx[out].data = (const uint8_t *)(udp + 1);
		rx[out].len = ulen - (uint32_t)sizeof(*udp);
		rx[out].addr = kn_addr(rte_be_to_cpu_32(ip->src_addr),
				       rte_be_to_cpu_16(udp->src_port), p->index);
		rx[out].handle = m;
		out++;
		continue;
	drop:
		p->stats.drops[why]++;
		rte_pktmbuf_free(m);
	}
	return out;
}

static void
dpdk_rx_done(struct kn_port *p, struct kn_rx *rx, int n)
{
	(void)p;
	for (int i = 0; i < n; i++)
		rte_pktmbuf_free(rx[i].handle);
}

static uint8_t *
dpdk_tx_buf(struct kn_port *p, uint64_t addr, uint32_t *cap, void **handle)
{
	struct dpdk_port *d = (struct dpdk_port *)p;
	struct neigh *n = neigh_find(d, kn_addr_ip(addr), true);
	struct rte_mbuf *m;
	struct rte_ether_hdr *eth;
	struct rte_ipv4_hdr *ip;
	struct rte_udp_hdr *udp;
	uint32_t room;

	if (n == NULL || !n->known) {
		p->stats.drops[KN_PORT_DROP_NO_NEIGHBOUR]++;
		if (n != NULL)
			arp_request(d, n);
		return NULL;
	}
	m = rte_pktmbuf_alloc(d->pool);
	if (m == NULL) {
		p->stats.drops[KN_PORT_DROP_NO_MBUF]++;
		return NULL;
	}
	eth = rte_pktmbuf_mtod(m, struct rte_ether_hdr *);
	ip = (struct rte_ipv4_hdr *)(eth + 1);
	udp = (struct rte_udp_hdr *)(ip + 1);
	eth->dst_addr = n->mac;
	eth->src_addr = d->mac;
	eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
	memset(ip, 0, sizeof(*ip));
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->time_to_live = 64;
	ip->next_proto_id = IPPROTO_UDP;
	ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
	ip->src_addr = rte_cpu_to_be_32(p->ip);
	ip->dst_addr = rte_cpu_to_be_32(kn_addr_ip(addr));
	udp->src_port = rte_cpu_to_be_16(p->udp_port);
	udp->dst_port = rte_cpu_to_be_16(kn_addr_udp(addr));
	room = rte_pktmbuf_tailroom(m) - (uint32_t)HDR_BYTES;
	*cap = room < p->payload_max ? room : p->payload_max;
	*handle = m;
	return (uint8_t *)(udp + 1);
}

/* Lengths and checksums of a datagram of payload bytes in m (its segments, if chained),
 * then onto the queue. */
static void
tx_finish(struct dpdk_port *d, struct rte_mbuf *m, uint32_t payload)
{
	struct rte_ipv4_hdr *ip =
		rte_pktmbuf_mtod_offset(m, struct rte_ipv4_hdr *, RTE_ETHER_HDR_LEN);
	struct rte_udp_hdr *udp = (struct rte_udp_hdr *)(ip + 1);

	ip->total_length = rte_cpu_to_be_16((uint16_t)(sizeof(*ip) + sizeof(*udp) + payload));
	ip->hdr_checksum = 0;
	ip->hdr_checksum = rte_ipv4_cksum(ip);
	udp->dgram_len = rte_cpu_to_be_16((uint16_t)(sizeof(*udp) + payload));
	udp->dgram_cksum = 0; /* IPv4: 0 says "none computed" */
	/* a chain goes out only over memif, which takes no checksum (kn_port_dpdk_open) */
	if (d->udp_cksum && m->nb_segs == 1)
		udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
	d->p.stats.tx_packets++;
	d->p.stats.tx_bytes += m->pkt_len;
	queue_tx(d, m);
}

static void
dpdk_tx_commit(struct kn_port *p, void *handle, uint32_t len)
{
	struct rte_mbuf *m = handle;

	if (len == 0) {
		rte_pktmbuf_free(m);
		return;
	}
	if (rte_pktmbuf_append(m, (uint16_t)(HDR_BYTES + len)) == NULL) {
		p->stats.drops[KN_PORT_DROP_TOO_BIG]++;
		rte_pktmbuf_free(m);
		return;
	}
	tx_finish((struct dpdk_port *)p, m, len);
}

/* The device is done with an external payload (DPDK calls this when the last mbuf
 * pointing at it is freed: after the device's copy or DMA). */
static void
ext_free(void *addr, void *opaque)
{
	struct ext_ticket *t = opaque;

	(void)addr;
	if (t->done != NULL)
		t->done(t->a, t->b);
	t->next = t->d->free_tickets;
	t->d->free_tickets = t;
}

static int
dpdk_tx_commit_ext(struct kn_port *p, void *handle, uint32_t len, const uint8_t *ext,
		   uint32_t ext_len, void (*done)(void *a, void *b), void *a, void *b)
{
	struct dpdk_port *d = (struct dpdk_port *)p;
	struct ext_ticket *t = d->free_tickets;
	struct rte_mbuf *m = handle, *e;

	if (t == NULL || len == 0 || ext_len == 0 || ext_len > UINT16_MAX ||
	    rte_pktmbuf_tailroom(m) < HDR_BYTES + len || (e = rte_pktmbuf_alloc(d->pool)) == NULL)
		return -1;
	d->free_tickets = t->next;
	*t = (struct ext_ticket){.shinfo = {.free_cb = ext_free, .fcb_opaque = t},
				 .done = done,
				 .a = a,
				 .b = b,
				 .d = d};
	rte_mbuf_ext_refcnt_set(&t->shinfo, 1);
	rte_pktmbuf_attach_extbuf(e, (void *)(uintptr_t)ext, rte_mem_virt2iova(ext),
				  (uint16_t)ext_len, &t->shinfo);
	e->data_len = (uint16_t)ext_len;
	e->pkt_len = ext_len;
	rte_pktmbuf_append(m, (uint16_t)(HDR_BYTES + len));
	if (rte_pktmbuf_chain(m, e) != 0) { /* cannot happen: two segments */
		t->done = NULL;		    /* the caller keeps its pin: it copies instead */
		rte_pktmbuf_free(e);
		m->pkt_len = m->data_len = 0;
		return -1;
	}
	tx_finish(d, m, len + ext_len);
	return 0;
}

static void
dpdk_tx_flush(struct kn_port *p)
{
	struct dpdk_port *d = (struct dpdk_port *)p;
	uint16_t sent;

	if (d->n_tx == 0)
		return;
	sent = d->started ? rte_eth_tx_burst(d->port_id, 0, d->tx, (uint16_t)d->n_tx) : 0;
	if (sent < d->n_tx && d->started) {
		/* the device's ring is full for now (a message in fragments outran it): the
		 * rest waits here for the next flush; only a queue that cannot move drops */
		memmove(d->tx, d->tx + sent, (d->n_tx - sent) * sizeof(d->tx[0]));
		d->n_tx -= sent;
		return;
	}
	if (sent < d->n_tx) {
		p->stats.drops[d->started ? KN_PORT_DROP_TX_FULL : KN_PORT_DROP_PORT_STOPPED] +=
			d->n_tx - sent;
		rte_pktmbuf_free_bulk(&d->tx[sent], d->n_tx - sent);
	}
	d->n_tx = 0;
}

static void
dpdk_neighbour(struct kn_port *p, uint32_t ip, const uint8_t mac[6])
{
	kn_port_dpdk_neighbour(p, ip, mac);
}

static void
dpdk_resolve(struct kn_port *p, uint32_t ip)
{
	struct dpdk_port *d = (struct dpdk_port *)p;
	struct neigh *n = neigh_find(d, ip, true);

	if (n != NULL && !n->known && d->p.stats.link_up)
		arp_request(d, n); /* answered by kraftd itself over memif and ring */
}

static void
dpdk_maintain(struct kn_port *p, int64_t now_us)
{
	struct dpdk_port *d = (struct dpdk_port *)p;
	struct rte_eth_link link;

	if (rte_eth_link_get_nowait(d->port_id, &link) != 0)
		return;
	p->stats.link_up = link.link_status == RTE_ETH_LINK_UP;
	if (p->stats.link_up) {
		d->down_since = -1;
		return;
	}
	if (d->down_since < 0) {
		d->down_since = now_us;
		return;
	}
	if (now_us - d->down_since < 1000000 || !d->restart_when_down)
		return;
	/* a memif client connects only when started: start it again (it fails while its
	 * server is gone; tried again each second) */
	dpdk_tx_flush(p);
	d->started = false;
	rte_eth_dev_stop(d->port_id);
	d->started = rte_eth_dev_start(d->port_id) == 0;
	p->stats.link_restarts++;
	d->down_since = now_us;
}

static void
dpdk_close(struct kn_port *p)
{
	struct dpdk_port *d = (struct dpdk_port *)p;

	dpdk_tx_flush(p);
	rte_eth_dev_stop(d->port_id);
	rte_eth_dev_close(d->port_id);
	if (d->n_tx > 0) /* what the device never took: its payloads are released too */
		rte_pktmbuf_free_bulk(d->tx, d->n_tx);
	free(d->tickets);
	free(d);
}

struct kn_port *
kn_port_dpdk_open(uint16_t port_id, uint32_t ip, uint16_t udp_port, unsigned index,
		  struct rte_mempool *pool, bool answer_arp, char *err, size_t errlen)
{
	struct dpdk_port *d = calloc(1, sizeof(*d));
	struct rte_eth_conf conf = {0};
	struct rte_eth_dev_info info;
	uint16_t nrx = RX_DESC, ntx = TX_DESC, mtu = RTE_ETHER_MTU;
	char dev[RTE_ETH_NAME_MAX_LEN] = "?";
	int rc;

	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rte_eth_dev_get_name_by_port(port_id, dev);
	/* Zero copy where the driver copies each segment itself (memif: into the shared
	 * ring) and takes chains. A NIC would DMA from log memory: that needs the memory
	 * registered with the device (rte_extmem_register, rte_dev_dma_map), not done yet,
	 * so NICs (and AF_XDP, which takes no chains) are given whole buffers. */
	bool zero_copy = false;

	if ((rc = rte_eth_dev_info_get(port_id, &info)) == 0) {
		zero_copy = strcmp(info.driver_name, "net_memif") == 0 &&
			    (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
		if (zero_copy)
			conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	}
	if (rc != 0 || (rc = rte_eth_dev_configure(port_id, 1, 1, &conf)) != 0 ||
	    (rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &nrx, &ntx)) != 0 ||
	    (rc = rte_eth_rx_queue_setup(port_id, 0, nrx, rte_eth_dev_socket_id(port_id), NULL,
					 pool)) != 0 ||
	    (rc = rte_eth_tx_queue_setup(port_id, 0, ntx, rte_eth_dev_socket_id(port_id), NULL)) !=
		    0) {
		snprintf(err, errlen, "port %u (%s): setup: %s", port_id, dev, rte_strerror(-rc));
		free(d);
		return NULL;
	}
	/* a memif client fails to start until its server exists: retry for 10 s */
	for (int i = 0; (rc = rte_eth_dev_start(port_id)) != 0 && i < 50; i++)
		rte_delay_us_sleep(200000);
	if (rc != 0) {
		snprintf(err, errlen, "port %u (%s): start: %s", port_id, dev, rte_strerror(-rc));
		free(d);
		return NULL;
	}
	d->started = true;
	rte_eth_macaddr_get(port_id, &d->mac);
	{
		const struct rte_devargs *da = rte_dev_devargs(info.device);

		d->restart_when_down =
			da == NULL || da->args == NULL || strstr(da->args, "role=server") == NULL;
	}
	if (rte_eth_dev_get_mtu(port_id, &mtu) != 0)
		mtu = RTE_ETHER_MTU;
	d->port_id = port_id;
	d->pool = pool;
	d->answer_arp = answer_arp;
	d->arp_retry_tsc = rte_get_tsc_hz() / 1000000 * ARP_RETRY_US;
	/* A memif link is shared memory between two DPDK processes (kraftd, kraftbench,
	 * kraftfloor), none of which checks UDP checksums: every kraftd frame carries its own
	 * CRC32C, checked end to end. Its UDP checksum (46 ns for a 100-byte datagram here)
	 * is left out there; a NIC's or AF_XDP's datagrams may reach a kernel and keep it. */
	d->udp_cksum = strcmp(info.driver_name, "net_memif") != 0;
	d->p.kind = "dpdk";
	snprintf(d->p.name, sizeof(d->p.name), "%s (port %u, %s)", dev, port_id, info.driver_name);
	d->p.index = index;
	d->p.ip = ip;
	d->p.udp_port = udp_port;
	/* the IP MTU bounds a datagram; the mbuf's room and the device's frame size too */
	d->p.payload_max = (uint32_t)mtu -
			   (uint32_t)(sizeof(struct rte_ipv4_hdr) + sizeof(struct rte_udp_hdr));
	if (info.max_rx_pktlen > HDR_BYTES && info.max_rx_pktlen - HDR_BYTES < d->p.payload_max)
		d->p.payload_max = info.max_rx_pktlen - (uint32_t)HDR_BYTES;
	if (rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM - HDR_BYTES < d->p.payload_max)
		d->p.payload_max = rte_pktmbuf_data_room_size(pool) - RTE_PKTMBUF_HEADROOM -
				   (uint32_t)HDR_BYTES;
	d->p.fd = -1;
	d->p.rx = dpdk_rx;
	d->p.rx_done = dpdk_rx_done;
	d->p.tx_buf = dpdk_tx_buf;
	d->p.tx_commit = dpdk_tx_commit;
	if (zero_copy && (d->tickets = calloc(EXT_TICKETS, sizeof(*d->tickets))) != NULL) {
		for (unsigned i = 0; i < EXT_TICKETS; i++)
			d->tickets[i].next = i + 1 < EXT_TICKETS ? &d->tickets[i + 1] : NULL;
		d->free_tickets = d->tickets;
		d->p.tx_commit_ext = dpdk_tx_commit_ext;
	}
	d->p.tx_flush = dpdk_tx_flush;
	d->p.maintain = dpdk_maintain;
	d->p.neighbour = dpdk_neighbour;
	d->p.resolve = dpdk_resolve;
	d->p.close = dpdk_close;
	d->down_since = -1;
	return &d->p;
}

/* The net_af_xdp vdevs among the EAL's arguments: their device name and interface. */
unsigned
kn_dpdk_af_xdp_vdevs(int argc, char **argv, char dev[][32], char iface[][32], unsigned max)
{
	unsigned n = 0;

	for (int i = 0; i < argc && n < max; i++) {
		const char *v = NULL, *p;

		if (strcmp(argv[i], "--vdev") == 0 && i + 1 < argc)
			v = argv[++i];
		else if (strncmp(argv[i], "--vdev=", 7) == 0)
			v = argv[i] + 7;
		if (v == NULL || strncmp(v, "net_af_xdp", 10) != 0)
			continue;
		snprintf(dev[n], 32, "%.*s", (int)strcspn(v, ","), v);
		p = strstr(v, "iface=");
		if (p == NULL)
			continue;
		snprintf(iface[n], 32, "%.*s", (int)strcspn(p + 6, ","), p + 6);
		n++;
	}
	return n;
}
