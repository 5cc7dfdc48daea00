/* kraftd: what kraftd's XDP program (dataplane/port/bpf/kraftd_xdp.bpf.c) and its loader
 * (dataplane/port/xdp_ctl.c, include/kraft/xdp.h) share across the BPF boundary: the
 * names of its maps, how many UDP ports it steers, and its counters in the order of its
 * stats map. Macros only: the BPF compiler includes it too. */
#ifndef KRAFT_XDP_MAPS_H
#define KRAFT_XDP_MAPS_H

#define KRAFTD_XDP_STR_(x) #x
#define KRAFTD_XDP_STR(x) KRAFTD_XDP_STR_(x)

/* UDP destination ports steered to kraftd: an array map of this many (network order; 0:
 * an unused slot), filled by kraftd after the PMD attached the program. The program names
 * its maps by these identifiers, the loader finds them by the same names as strings. */
#define KRAFTD_XDP_PORTS kraftd_ports
#define KRAFTD_XDP_PORTS_MAP KRAFTD_XDP_STR(KRAFTD_XDP_PORTS)
#define KRAFTD_XDP_PORTS_MAX 8

/* What the program decided, per CPU: a per-CPU array map, one counter per row below, in
 * this order. X(name, meaning) */
#define KRAFTD_XDP_STATS kraftd_stats
#define KRAFTD_XDP_STATS_MAP KRAFTD_XDP_STR(KRAFTD_XDP_STATS)
#define KRAFTD_XDP_STAT_TABLE(X)                                              \
	X(steered, "kraftd's datagrams redirected to its AF_XDP socket")      \
	X(no_socket, "kraftd's datagrams with no socket on their queue")      \
	X(other_udp, "UDP for other ports, passed to the kernel")             \
	X(not_udp, "ARP, ICMP, TCP, IPv6 and the rest, passed to the kernel") \
	X(malformed, "frames too short to parse, passed to the kernel")

/* The map DPDK's AF_XDP driver looks up by its name, "xsks_map": queue index -> AF_XDP
 * socket. */
#define KRAFTD_XDP_XSKS xsks_map

#endif /* KRAFT_XDP_MAPS_H */
