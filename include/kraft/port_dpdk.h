/* kraftd: DPDK ethdevs as ports (dataplane/port/port_dpdk.c). Only code that links DPDK
 * includes this. */
#ifndef KRAFT_PORT_DPDK_H
#define KRAFT_PORT_DPDK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kraft/port.h"

struct rte_mempool;

/**
 * Configure and start ethdev port_id (one queue pair, mbufs from pool) as this node's
 * port `index`, at ip:udp_port; answer_arp answers ARP requests for ip in the dataplane
 * (memif, ring; with AF_XDP the kernel does). Retries the start for 10 s (a memif client
 * waits for its server). @return the port, or NULL with err set.
 */
struct kn_port *kn_port_dpdk_open(uint16_t port_id, uint32_t ip, uint16_t udp_port, unsigned index,
				  struct rte_mempool *pool, bool answer_arp, char *err,
				  size_t errlen);

/** A static neighbour: frames for ip go to mac. @return 0 or -ENOSPC. */
int kn_port_dpdk_neighbour(struct kn_port *p, uint32_t ip, const uint8_t mac[6]);

/** The net_af_xdp vdevs among EAL arguments: each one's device name and interface
 * (iface=). @return how many (at most max). */
unsigned kn_dpdk_af_xdp_vdevs(int argc, char **argv, char dev[][32], char iface[][32],
			      unsigned max);

#endif /* KRAFT_PORT_DPDK_H */
