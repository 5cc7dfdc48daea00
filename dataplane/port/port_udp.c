/* kraftd: the kernel UDP port (include/kraft/port.h): recvmmsg bursts into buffers of
 * its own, one sendto per datagram. For machines without DPDK and for comparison. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kraft/common.h"
#include "kraft/port.h"

#define UDP_BUF_BYTES 65536
#define UDP_SOCKBUF (4 << 20)

struct udp_port {
	struct kn_port p;
	struct mmsghdr msgs[KN_RX_BURST];
	struct iovec iov[KN_RX_BURST];
	struct sockaddr_in from[KN_RX_BURST];
	uint8_t *bufs;
	uint8_t tx[UDP_BUF_BYTES];
	uint64_t tx_addr;
};

KR_TABLE_LOOKUP(kn_port_drop_name, KN_PORT_DROP_TABLE, KR_X_NAME)

static int
udp_rx(struct kn_port *p, struct kn_rx *rx, int n)
{
	struct udp_port *u = (struct udp_port *)p;
	int k;

	if (n > KN_RX_BURST)
		n = KN_RX_BURST;
	for (int i = 0; i < n; i++)
		u->msgs[i].msg_hdr.msg_namelen = sizeof(u->from[i]);
	k = recvmmsg(p->fd, u->msgs, (unsigned)n, MSG_DONTWAIT, NULL);
	for (int i = 0; i < k; i++) {
		rx[i].data = u->bufs + (size_t)i * UDP_BUF_BYTES;
		rx[i].len = u->msgs[i].msg_len;
		rx[i].addr = kn_addr(ntohl(u->from[i].sin_addr.s_addr), ntohs(u->from[i].sin_port),
				     p->index);
		rx[i].handle = NULL;
		p->stats.rx_packets++;
		p->stats.rx_bytes += rx[i].len;
	}
	return k < 0 ? 0 : k;
}

static void
udp_rx_done(struct kn_port *p, struct kn_rx *rx, int n)
{
	(void)p;
	(void)rx;
	(void)n;
}

static uint8_t *
udp_tx_buf(struct kn_port *p, uint64_t addr, uint32_t *cap, void **handle)
{
	struct udp_port *u = (struct udp_port *)p;

	u->tx_addr = addr;
	*cap = p->payload_max;
	*handle = u;
	return u->tx;
}

static void
udp_tx_commit(struct kn_port *p, void *handle, uint32_t len)
{
	struct udp_port *u = handle;
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons(kn_addr_udp(u->tx_addr)),
				 .sin_addr.s_addr = htonl(kn_addr_ip(u->tx_addr))};

	if (sendto(p->fd, u->tx, len, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0) {
		p->stats.drops[errno == EAGAIN || errno == ENOBUFS ? KN_PORT_DROP_TX_FULL
								   : KN_PORT_DROP_TX_ERROR]++;
		return;
	}
	p->stats.tx_packets++;
	p->stats.tx_bytes += len;
}

static void
udp_tx_flush(struct kn_port *p)
{
	(void)p; /* every datagram went out at commit */
}

static void
udp_close(struct kn_port *p)
{
	struct udp_port *u = (struct udp_port *)p;

	close(p->fd);
	free(u->bufs);
	free(u);
}

struct kn_port *
kn_port_udp_open(uint32_t ip, uint16_t udp_port, unsigned index, char *err, size_t errlen)
{
	struct udp_port *u = calloc(1, sizeof(*u));
	struct sockaddr_in a = {
		.sin_family = AF_INET, .sin_port = htons(udp_port), .sin_addr.s_addr = htonl(ip)};
	int bufsize = UDP_SOCKBUF;

	if (u == NULL || (u->bufs = malloc((size_t)KN_RX_BURST * UDP_BUF_BYTES)) == NULL) {
		free(u);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	u->p.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (u->p.fd < 0 || (setsockopt(u->p.fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize)),
			    setsockopt(u->p.fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize)),
			    bind(u->p.fd, (struct sockaddr *)&a, sizeof(a))) != 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		if (u->p.fd >= 0)
			close(u->p.fd);
		free(u->bufs);
		free(u);
		return NULL;
	}
	for (int i = 0; i < KN_RX_BURST; i++) {
		u->iov[i].iov_base = u->bufs + (size_t)i * UDP_BUF_BYTES;
		u->iov[i].iov_len = UDP_BUF_BYTES;
		u->msgs[i].msg_hdr.msg_iov = &u->iov[i];
		u->msgs[i].msg_hdr.msg_iovlen = 1;
		u->msgs[i].msg_hdr.msg_name = &u->from[i];
	}
	u->p.kind = "udp";
	snprintf(u->p.name, sizeof(u->p.name), "udp %u.%u.%u.%u:%u", ip >> 24, (ip >> 16) & 255,
		 (ip >> 8) & 255, ip & 255, udp_port);
	u->p.index = index;
	u->p.ip = ip;
	u->p.udp_port = udp_port;
	u->p.payload_max = 65507;
	u->p.rx = udp_rx;
	u->p.rx_done = udp_rx_done;
	u->p.tx_buf = udp_tx_buf;
	u->p.tx_commit = udp_tx_commit;
	u->p.tx_flush = udp_tx_flush;
	u->p.maintain = NULL;
	u->p.neighbour = NULL;
	u->p.resolve = NULL;
	u->p.close = udp_close;
	u->p.stats.link_up = true;
	return &u->p;
}
