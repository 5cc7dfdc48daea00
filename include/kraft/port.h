/* kraftd: the dataplane's ports (docs/DESIGN.md §1). One interface, several
 * implementations: a kernel UDP socket (dataplane/port/port_udp.c) and any DPDK ethdev
 * (dataplane/port/port_dpdk.c: a NIC, net_af_xdp, net_memif, net_ring). A node may have
 * several ports; peers are reached through the port the peer table names.
 *
 * Addresses are packed in 64 bits: bits 0-15 the UDP port, 16-47 the IPv4 address (host
 * order), 48-55 the index of the node's port a datagram came in on (replies go back the
 * same way), bit 63 a kraftctl client of the management listener (include/kraft/node.h).
 * The dataplane thread alone calls a port: no locks, and on DPDK no syscalls per packet.
 */
#ifndef KRAFT_PORT_H
#define KRAFT_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KN_PORTS_MAX 8
#define KN_RX_BURST 32

static inline uint64_t
kn_addr(uint32_t ip, uint16_t udp_port, unsigned port_index)
{
	return (uint64_t)(port_index & 0xff) << 48 | (uint64_t)ip << 16 | udp_port;
}
static inline uint32_t
kn_addr_ip(uint64_t a)
{
	return (uint32_t)(a >> 16);
}
static inline uint16_t
kn_addr_udp(uint64_t a)
{
	return (uint16_t)a;
}
static inline unsigned
kn_addr_port(uint64_t a)
{
	return (unsigned)(a >> 48) & 0xff;
}

/* A received datagram: its payload (contiguous), where it came from (packed, with this
 * port's index), and the port's handle to release it by. */
struct kn_rx {
	const uint8_t *data;
	uint32_t len;
	uint64_t addr;
	void *handle;
};

/* Why a port dropped what it received or could not send. X(name, meaning) */
#define KN_PORT_DROP_TABLE(X)                                                       \
	X(NOT_IPV4_UDP, "not an IPv4 UDP datagram (after ARP, which is answered)")  \
	X(NOT_FOR_US, "addressed to another IP address or UDP port")                \
	X(MALFORMED, "a header that does not add up (lengths, fragments, options)") \
	X(BAD_CHECKSUM, "IPv4 header checksum mismatch")                            \
	X(MULTI_SEGMENT, "a frame in several mbufs")                                \
	X(NO_NEIGHBOUR, "no MAC address known for the destination")                 \
	X(NO_MBUF, "the mbuf pool was empty")                                       \
	X(TOO_BIG, "a payload larger than the port's MTU allows")                   \
	X(TX_FULL, "the transmit queue was full")                                   \
	X(TX_ERROR, "the kernel refused the datagram")                              \
	X(PORT_STOPPED, "the port is stopped: its restart failed (a memif peer gone)")

enum kn_port_drop {
#define KN_PORT_DROP_ENUM(n, text) KN_PORT_DROP_##n,
	KN_PORT_DROP_TABLE(KN_PORT_DROP_ENUM)
#undef KN_PORT_DROP_ENUM
		KN_PORT_DROP_COUNT
};

const char *kn_port_drop_name(unsigned why);

struct kn_port_stats {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes;
	uint64_t arp_replies;
	uint64_t link_restarts; /* the port restarted to bring a lost link back */
	bool link_up;
	uint64_t drops[KN_PORT_DROP_COUNT];
};

struct kn_port {
	const char *kind; /* "udp", "dpdk" */
	char name[64];	  /* for logs: the device or the socket address */
	unsigned index;	  /* in the node's port table */
	uint32_t ip;	  /* this node's address on the port (host order) */
	uint16_t udp_port;
	uint32_t payload_max; /* the largest UDP payload the port carries */
	int fd;		      /* pollable while idle, or -1 (poll-mode ports) */
	struct kn_port_stats stats;

	/* Receive up to n datagrams for this node into rx; returns how many. */
	int (*rx)(struct kn_port *p, struct kn_rx *rx, int n);
	/* Release what rx returned (after the core's actions that may view it). */
	void (*rx_done)(struct kn_port *p, struct kn_rx *rx, int n);
	/* A buffer for one payload of up to *cap bytes to addr, or NULL (counted). */
	uint8_t *(*tx_buf)(struct kn_port *p, uint64_t addr, uint32_t *cap, void **handle);
	/* Queue the payload written into that buffer (len bytes). */
	void (*tx_commit)(struct kn_port *p, void *handle, uint32_t len);
	/* Zero copy (NULL: the port copies every payload). Queue the len bytes written into
	 * the buffer followed by ext_len bytes read from ext where they are; done(a, b) runs
	 * on this thread once the device no longer reads them (in a later tx_flush, or at
	 * close). @return 0, or -1: not taken (no room to track it now), nothing queued: the
	 * caller copies them into the buffer and calls tx_commit. */
	int (*tx_commit_ext)(struct kn_port *p, void *handle, uint32_t len, const uint8_t *ext,
			     uint32_t ext_len, void (*done)(void *a, void *b), void *a, void *b);
	/* Send what is queued. */
	void (*tx_flush)(struct kn_port *p);
	/* A neighbour learned elsewhere (the kernel's table): frames for ip go to mac (may
	 * be NULL: the port needs none). */
	void (*neighbour)(struct kn_port *p, uint32_t ip, const uint8_t mac[6]);
	/* Learn ip's link address now if it is not known (an ARP request, rate-limited),
	 * ahead of the first frame for it, which would otherwise be dropped (NO_NEIGHBOUR)
	 * while the answer comes (may be NULL: the port needs none, or the kernel's table
	 * gives it). */
	void (*resolve)(struct kn_port *p, uint32_t ip);
	/* Housekeeping, every ~100 ms (may be NULL): a link down for a second is restarted
	 * (a memif client whose server started after it, or restarted; a memif server
	 * waits for its client by itself and is left alone). */
	void (*maintain)(struct kn_port *p, int64_t now_us);
	void (*close)(struct kn_port *p);
};

/* The kernel UDP port bound to ip:udp_port. @return a port, or NULL with err set. */
struct kn_port *kn_port_udp_open(uint32_t ip, uint16_t udp_port, unsigned index, char *err,
				 size_t errlen);

#endif /* KRAFT_PORT_H */
