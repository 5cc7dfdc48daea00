/* kraftd's XDP program (docs/DESIGN.md §3): DPDK's net_af_xdp loads it with
 * xdp_prog=PATH. It sends only kraftd's dataplane datagrams (IPv4 UDP to the ports in
 * kraftd_ports) into the AF_XDP socket of the receiving queue and passes everything else,
 * ARP, ICMP and the management listener's UDP included, to the kernel: a node shares its
 * interface with ssh and the kernel keeps answering ARP.
 *
 * kraftd_ports is filled by kraftd after the PMD attached the program (found through the
 * interface's attached program, no pinning, so no bpffs is needed in the namespace);
 * until then nothing is steered. kraftd_stats counts what the program decided. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "kraft/xdp_maps.h" /* shared with the loader: map names, bounds, counters */

/* queue index -> AF_XDP socket, filled by DPDK's AF_XDP driver */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} KRAFTD_XDP_XSKS SEC(".maps");

/* UDP destination ports steered to kraftd (network order; 0: unused slot). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KRAFTD_XDP_PORTS_MAX);
	__type(key, __u32);
	__type(value, __u32);
} KRAFTD_XDP_PORTS SEC(".maps");

enum {
#define STAT_ENUM(n, text) STAT_##n,
	KRAFTD_XDP_STAT_TABLE(STAT_ENUM)
#undef STAT_ENUM
		STAT_COUNT
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, STAT_COUNT);
	__type(key, __u32);
	__type(value, __u64);
} KRAFTD_XDP_STATS SEC(".maps");

static __always_inline int
count(__u32 what, int verdict)
{
	__u64 *c = bpf_map_lookup_elem(&KRAFTD_XDP_STATS, &what);

	if (c)
		*c += 1;
	return verdict;
}

SEC("xdp")
int
kraftd_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct udphdr *udp;
	int ret;

	if ((void *)(eth + 1) > end)
		return count(STAT_malformed, XDP_PASS);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return count(STAT_not_udp, XDP_PASS);
	ip = (struct iphdr *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->ihl < 5)
		return count(STAT_malformed, XDP_PASS);
	if (ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3fff)))
		return count(STAT_not_udp, XDP_PASS);
	udp = (struct udphdr *)((__u8 *)ip + ip->ihl * 4);
	if ((void *)(udp + 1) > end)
		return count(STAT_malformed, XDP_PASS);
	for (__u32 i = 0; i < KRAFTD_XDP_PORTS_MAX; i++) {
		__u32 k = i, *port = bpf_map_lookup_elem(&KRAFTD_XDP_PORTS, &k);

		if (port == 0 || *port == 0)
			break;
		if (udp->dest != (__u16)*port)
			continue;
		ret = bpf_redirect_map(&KRAFTD_XDP_XSKS, ctx->rx_queue_index, XDP_PASS);
		return count(ret == XDP_REDIRECT ? STAT_steered : STAT_no_socket, ret);
	}
	return count(STAT_other_udp, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
