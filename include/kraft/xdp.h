/* kraftd: its XDP program on an interface (dataplane/port/bpf/kraftd_xdp.bpf.c), through libbpf:
 * find it where DPDK's AF_XDP driver attached it, tell it kraftd's UDP ports, read its
 * counters, remove a stale one. Runs outside the per-packet path (start, tools). */
#ifndef KRAFT_XDP_H
#define KRAFT_XDP_H

#include <stddef.h>
#include <stdint.h>

#include "kraft/xdp_maps.h"

#define KN_XDP_PORTS_MAX KRAFTD_XDP_PORTS_MAX

/* The program's counters, in the order of its stats map (xdp_maps.h). */
enum kn_xdp_stat {
#define KN_XDP_STAT_ENUM(n, text) KN_XDP_##n,
	KRAFTD_XDP_STAT_TABLE(KN_XDP_STAT_ENUM)
#undef KN_XDP_STAT_ENUM
		KN_XDP_STAT_COUNT
};

const char *kn_xdp_stat_name(unsigned i);
const char *kn_xdp_stat_text(unsigned i);

/** The id and name of the XDP program attached to ifname. @return 0 (id 0: none) or
 * -errno with err. */
int kn_xdp_attached(const char *ifname, uint32_t *id, char name[16], char *err, size_t errlen);

/** Remove whatever XDP program is attached to ifname. @return 1 removed, 0 none, -errno. */
int kn_xdp_detach(const char *ifname, char *err, size_t errlen);

/** Steer these UDP ports (host order) to AF_XDP in kraftd's program on ifname. */
int kn_xdp_set_ports(const char *ifname, const uint16_t *ports, unsigned n, char *err,
		     size_t errlen);

/** Sum the program's per-CPU counters. */
int kn_xdp_stats(const char *ifname, uint64_t out[KN_XDP_STAT_COUNT], char *err, size_t errlen);

#endif /* KRAFT_XDP_H */
