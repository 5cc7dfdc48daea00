/* kraftbench: commit latency and throughput against a kraftd cluster, beside the floor.
 *
 * It finds the leader through any node's management listener, then talks to the leader's
 * dataplane port directly (kernel UDP): appends of --size bytes in a closed loop of
 * --inflight outstanding appends, each acknowledged only once committed. With --ping it
 * interleaves PINGs to the same port (the dataplane echoes them before replication): the
 * raw round trip over the same transport, ports and idle mode, in the same run. An
 * election during the run (a new epoch in any answer) is reported, and the run is
 * discarded (exit 4) unless --keep-elections. Only acknowledged commits count.
 *
 * The DPDK client mode, the open loop (--rate) and --failover are not built yet. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kraft/config.h"
#include "kraft/errors.h"
#include "kraft/latency.h"
#include "kraft/le.h"
#include "kraft/props.h"
#include "kraft/wire.h"
#include "tool.h"

#define INFLIGHT_MAX 256
#define RESEND_NS 1000000000ll /* an unanswered append or ping is sent again after 1 s */

struct slot {
	bool busy;
	bool ping;
	uint32_t corr;
	uint64_t seq; /* the append's sequence (kept across re-sends) */
	int64_t sent_ns;
	int64_t first_ns;
	int len;
	uint8_t frame[KR_WIRE_HDR_BYTES + KR_BATCH_BYTES_MAX];
};

struct bench {
	int fd;
	struct sockaddr_in leader;
	int32_t leader_id;
	uint32_t epoch;
	bool election;
	uint64_t pid;
	uint64_t next_seq;
	uint32_t next_corr;
	int64_t records, done, pings_done;
	double duration_s;
	int inflight, size;
	bool ping, json, keep_elections;
	int64_t resends, timeouts_max;
	struct kr_latency commit, floor;
	struct slot slots[INFLIGHT_MAX];
	uint8_t rx[KR_WIRE_UDP_PAYLOAD_MAX];
	uint8_t records_buf[KR_BATCH_BYTES_MAX];
	uint32_t records_len;
};

static volatile sig_atomic_t stop;

static void
on_sigint(int s)
{
	(void)s;
	stop = 1;
}

#define now_ns kr_tool_now_ns
#define die kr_tool_die

static void
usage(FILE *f)
{
	fprintf(f, "usage: kraftbench --bootstrap-server HOST:PORT [options]\n"
		   "  HOST:PORT       any node's management listener (dataplane port + 100)\n"
		   "  --records N     append N records, one per append (default 10000)\n"
		   "  --duration S    or append for S seconds\n"
		   "  --inflight K    appends outstanding at once, closed loop (default 1)\n"
		   "  --size B        bytes per record (default 64)\n"
		   "  --ping          interleave PINGs to the leader's dataplane port: the floor\n"
		   "  --keep-elections  report a run during which an election happened (default:\n"
		   "                  exit 4 and say so)\n"
		   "  --json          one JSON object\n"
		   "Latencies are from sending an append to its commit acknowledgement; only\n"
		   "acknowledged commits count. Exit 0, 1 failed, 2 bad arguments, 4 election.\n");
}

/* ---- talking to the cluster ---- */

static int
send_frame(struct bench *b, const struct sockaddr_in *to, const uint8_t *f, int len)
{
	return sendto(b->fd, f, (size_t)len, 0, (const struct sockaddr *)to, sizeof(*to)) < 0
		       ? -errno
		       : 0;
}

/* One request, one answer, for the discovery (with re-sends, up to wait_ms). */
static int
ask(struct bench *b, const struct sockaddr_in *to, const struct kr_msg *m, unsigned want,
    int wait_ms, struct kr_frame *f, struct kr_msg *r)
{
	struct kr_frame_hdr h = {.sender_id = KR_NODE_NONE, .correlation_id = ++b->next_corr};
	uint8_t buf[256];
	int len = kr_frame_encode(buf, sizeof(buf), &h, m);
	int64_t end = now_ns() + (int64_t)wait_ms * 1000000, next = 0;

	while (now_ns() < end) {
		struct pollfd p = {.fd = b->fd, .events = POLLIN};
		ssize_t n;

		if (now_ns() >= next) {
			send_frame(b, to, buf, len);
			next = now_ns() + 200000000;
		}
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recv(b->fd, b->rx, sizeof(b->rx), 0);
		if (n > 0 && kr_frame_decode(NULL, b->rx, (size_t)n, f) == 0 &&
		    f->hdr.correlation_id == b->next_corr && f->hdr.api == want &&
		    kr_msg_decode(f, r) == 0)
			return 0;
	}
	return -ETIMEDOUT;
}

/* The leader and its dataplane address, through a management listener. */
static void
find_leader(struct bench *b, const struct sockaddr_in *boot)
{
	struct kr_msg m = {.api = KR_API_DESCRIBE_NODES}, r;
	struct kr_frame f;
	struct kr_node_info nodes[KR_REPLICAS_MAX];
	unsigned nn;
	struct sockaddr_in at = *boot;

	if (ask(b, boot, &m, KR_API_DESCRIBE_NODES_RESP, 5000, &f, &r) != 0)
		die("no answer from the management listener");
	nn = r.u.nodes_resp.n;
	for (unsigned i = 0; i < nn; i++)
		kr_nodes_entry(&r.u.nodes_resp, i, &nodes[i]);
	for (int tries = 0; tries < 100; tries++) {
		struct kr_msg q = {.api = KR_API_DESCRIBE_QUORUM};

		if (ask(b, &at, &q, KR_API_DESCRIBE_QUORUM_RESP, 1000, &f, &r) != 0)
			continue;
		if (r.u.describe_resp.error == KR_ERR_NONE) {
			b->leader_id = f.hdr.sender_id;
			b->epoch = r.u.describe_resp.epoch;
			for (unsigned i = 0; i < nn; i++)
				if (nodes[i].node_id == b->leader_id) {
					memset(&b->leader, 0, sizeof(b->leader));
					b->leader.sin_family = AF_INET;
					memcpy(&b->leader.sin_addr.s_addr, nodes[i].ip, 4);
					b->leader.sin_port = htons(nodes[i].port);
					return;
				}
			die("the leader %d is not among the nodes listed", b->leader_id);
		}
		for (unsigned i = 0; i < nn; i++)
			if (nodes[i].node_id == r.u.describe_resp.leader_id) {
				at.sin_family = AF_INET;
				memcpy(&at.sin_addr.s_addr, nodes[i].ip, 4);
				at.sin_port = htons(nodes[i].mgmt_port);
			}
		usleep(50000);
	}
	die("no leader within 10 s");
}

/* ---- the closed loop ---- */

static void
fill(struct bench *b, struct slot *s, bool ping)
{
	struct kr_frame_hdr h = {.sender_id = KR_NODE_NONE, .correlation_id = ++b->next_corr};
	struct kr_msg m;

	if (ping) {
		m.api = KR_API_PING;
		m.u.ping.payload = b->records_buf + 4;
		m.u.ping.len =
			(uint32_t)(b->size < KR_PING_BYTES_MAX ? b->size : KR_PING_BYTES_MAX);
	} else {
		m.api = KR_API_APPEND;
		m.u.append = (struct kr_append_req){.producer_id = b->pid,
						    .sequence = b->next_seq,
						    .record_count = 1,
						    .records = b->records_buf,
						    .records_len = b->records_len};
		s->seq = b->next_seq++;
	}
	s->len = kr_frame_encode(s->frame, sizeof(s->frame), &h, &m);
	if (s->len < 0)
		die("cannot encode: %s", kr_wire_status_text(s->len));
	s->busy = true;
	s->ping = ping;
	s->corr = h.correlation_id;
	s->sent_ns = s->first_ns = now_ns();
	send_frame(b, &b->leader, s->frame, s->len);
}

static bool
want_more(const struct bench *b, int64_t start, int64_t issued)
{
	if (stop)
		return false;
	if (b->duration_s > 0)
		return (double)(now_ns() - start) < b->duration_s * 1e9;
	return issued < b->records;
}

static void
on_answer(struct bench *b, const uint8_t *buf, size_t len, int64_t t, bool *ping_next)
{
	struct kr_frame f;
	struct kr_msg r;

	if (kr_frame_decode(NULL, buf, len, &f) != 0 || kr_msg_decode(&f, &r) != 0)
		return;
	for (int i = 0; i < b->inflight; i++) {
		struct slot *s = &b->slots[i];

		if (!s->busy || s->corr != f.hdr.correlation_id)
			continue;
		if (s->ping && f.hdr.api == KR_API_PING_RESP) {
			kr_latency_add(&b->floor, (uint64_t)(t - s->sent_ns));
			b->pings_done++;
			s->busy = false;
			ping_next[i] = false;
			return;
		}
		if (s->ping || f.hdr.api != KR_API_APPEND_RESP)
			return;
		if (r.u.append_resp.epoch != b->epoch) {
			b->election = true;
			b->epoch = r.u.append_resp.epoch;
		}
		if (r.u.append_resp.error != KR_ERR_NONE || r.u.append_resp.outcome_unknown) {
			if (r.u.append_resp.error == KR_ERR_NOT_LEADER_OR_FOLLOWER)
				die("node %d is no longer the leader (epoch %u): an election "
				    "happened",
				    f.hdr.sender_id, r.u.append_resp.epoch);
			if (r.u.append_resp.error != KR_ERR_BUSY &&
			    !r.u.append_resp.outcome_unknown)
				die("append refused: %s", kr_error_name(r.u.append_resp.error));
			return; /* re-sent, same sequence, when its time comes */
		}
		kr_latency_add(&b->commit, (uint64_t)(t - s->first_ns));
		b->done++;
		s->busy = false;
		ping_next[i] = b->ping;
		return;
	}
}

static double
run(struct bench *b)
{
	bool ping_next[INFLIGHT_MAX] = {false};
	int64_t start = now_ns(), issued = 0;
	bool busy = true;

	for (int i = 0; i < b->inflight && want_more(b, start, issued); i++, issued++)
		fill(b, &b->slots[i], false);
	while (busy) {
		struct pollfd p = {.fd = b->fd, .events = POLLIN};
		ssize_t n;
		int64_t t;

		poll(&p, 1, 10);
		while ((n = recv(b->fd, b->rx, sizeof(b->rx), MSG_DONTWAIT)) > 0)
			on_answer(b, b->rx, (size_t)n, now_ns(), ping_next);
		t = now_ns();
		busy = false;
		for (int i = 0; i < b->inflight; i++) {
			struct slot *s = &b->slots[i];

			if (s->busy && t - s->sent_ns > RESEND_NS) {
				/* no answer: the same frame again (the leader drops a duplicate) */
				send_frame(b, &b->leader, s->frame, s->len);
				s->sent_ns = t;
				b->resends++;
			}
			if (!s->busy && ping_next[i])
				fill(b, s, true);
			else if (!s->busy && want_more(b, start, issued)) {
				fill(b, s, false);
				issued++;
			}
			busy |= s->busy;
		}
	}
	return (double)(now_ns() - start) / 1e9;
}

static void
report(const struct bench *b, double secs)
{
	const double qs[] = {0.5, 0.9, 0.99, 0.999};
	const char *qn[] = {"p50", "p90", "p99", "p99_9"};
	char leader[INET_ADDRSTRLEN];

	inet_ntop(AF_INET, &b->leader.sin_addr, leader, sizeof(leader));
	if (b->json) {
		printf("{\"leader\": %d, \"address\": \"%s:%u\", \"commits\": %" PRId64
		       ", \"seconds\": %.3f, \"commits_per_s\": %.0f, \"inflight\": %d, \"size\": "
		       "%d, "
		       "\"election\": %s, \"resends\": %" PRId64 ", \"commit_us\": {",
		       b->leader_id, leader, ntohs(b->leader.sin_port), b->done, secs,
		       (double)b->done / secs, b->inflight, b->size, b->election ? "true" : "false",
		       b->resends);
		for (int k = 0; k < 4; k++)
			printf("\"%s\": %.1f, ", qn[k],
			       kr_latency_quantile(&b->commit, qs[k]) / 1e3);
		printf("\"max\": %.1f}", b->commit.max_ns / 1e3);
		if (b->ping) {
			printf(", \"pings\": %" PRId64 ", \"ping_us\": {", b->pings_done);
			for (int k = 0; k < 4; k++)
				printf("\"%s\": %.1f, ", qn[k],
				       kr_latency_quantile(&b->floor, qs[k]) / 1e3);
			printf("\"max\": %.1f}, \"ratio_p50\": %.2f, \"ratio_p99\": %.2f",
			       b->floor.max_ns / 1e3,
			       (double)kr_latency_quantile(&b->commit, 0.5) /
				       (double)(kr_latency_quantile(&b->floor, 0.5) ?: 1),
			       (double)kr_latency_quantile(&b->commit, 0.99) /
				       (double)(kr_latency_quantile(&b->floor, 0.99) ?: 1));
		}
		printf("}\n");
		return;
	}
	printf("leader %d at %s:%u; %" PRId64 " commits of %d-byte records in %.2f s: %.0f "
	       "commits/s (inflight %d)%s\n",
	       b->leader_id, leader, ntohs(b->leader.sin_port), b->done, b->size, secs,
	       (double)b->done / secs, b->inflight, b->election ? "; AN ELECTION HAPPENED" : "");
	printf("commit us: p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n",
	       kr_latency_quantile(&b->commit, 0.5) / 1e3,
	       kr_latency_quantile(&b->commit, 0.9) / 1e3,
	       kr_latency_quantile(&b->commit, 0.99) / 1e3,
	       kr_latency_quantile(&b->commit, 0.999) / 1e3, b->commit.max_ns / 1e3);
	if (b->ping)
		printf("ping us:   p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f  (%" PRId64
		       " pings, same port)\n"
		       "commit / ping: p50 %.2fx  p99 %.2fx\n",
		       kr_latency_quantile(&b->floor, 0.5) / 1e3,
		       kr_latency_quantile(&b->floor, 0.9) / 1e3,
		       kr_latency_quantile(&b->floor, 0.99) / 1e3,
		       kr_latency_quantile(&b->floor, 0.999) / 1e3, b->floor.max_ns / 1e3,
		       b->pings_done,
		       (double)kr_latency_quantile(&b->commit, 0.5) /
			       (double)(kr_latency_quantile(&b->floor, 0.5) ?: 1),
		       (double)kr_latency_quantile(&b->commit, 0.99) /
			       (double)(kr_latency_quantile(&b->floor, 0.99) ?: 1));
	if (b->resends)
		printf("%" PRId64 " requests re-sent after 1 s without an answer\n", b->resends);
}

int
main(int argc, char **argv)
{
	static struct bench b;
	struct sockaddr_in boot = {.sin_family = AF_INET};
	const char *bs = NULL;
	struct kr_endpoint e;
	int64_t v;
	double secs;

	kr_tool_name = "kraftbench";
	b.records = 10000;
	b.inflight = 1;
	b.size = 64;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--bootstrap-server") == 0 && i + 1 < argc) {
			bs = argv[++i];
		} else if (strcmp(a, "--records") == 0 && i + 1 < argc &&
			   kr_parse_i64(argv[++i], 1, INT64_MAX, &v) == 0) {
			b.records = v;
		} else if (strcmp(a, "--duration") == 0 && i + 1 < argc &&
			   kr_parse_i64(argv[++i], 1, 86400, &v) == 0) {
			b.duration_s = (double)v;
		} else if (strcmp(a, "--inflight") == 0 && i + 1 < argc &&
			   kr_parse_i64(argv[++i], 1, INFLIGHT_MAX, &v) == 0) {
			b.inflight = (int)v;
		} else if (strcmp(a, "--size") == 0 && i + 1 < argc &&
			   kr_parse_i64(argv[++i], 0, 16384, &v) == 0) {
			b.size = (int)v;
		} else if (strcmp(a, "--ping") == 0) {
			b.ping = true;
		} else if (strcmp(a, "--json") == 0) {
			b.json = true;
		} else if (strcmp(a, "--keep-elections") == 0) {
			b.keep_elections = true;
		} else {
			fprintf(stderr, "kraftbench: bad argument '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (bs == NULL || kr_endpoint_parse(bs, &e) != 0) {
		fprintf(stderr, "kraftbench: --bootstrap-server a.b.c.d:port is required\n");
		usage(stderr);
		return 2;
	}
	boot.sin_addr.s_addr = htonl(e.ip);
	boot.sin_port = htons(e.port);
	b.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (b.fd < 0)
		die("socket: %s", strerror(errno));
	if (getrandom(&b.pid, sizeof(b.pid), 0) != sizeof(b.pid))
		die("no randomness for a producer id");
	b.pid = (b.pid >> 1) | 1;
	kr_put_le32(b.records_buf, (uint32_t)b.size);
	for (int i = 0; i < b.size; i++)
		b.records_buf[4 + i] = (uint8_t)('a' + i % 26);
	b.records_len = 4 + (uint32_t)b.size;
	signal(SIGINT, on_sigint);
	find_leader(&b, &boot);
	secs = run(&b);
	report(&b, secs);
	if (b.election && !b.keep_elections) {
		fprintf(stderr, "kraftbench: an election happened during the run: discarded "
				"(--keep-elections keeps it)\n");
		return 4;
	}
	return b.done > 0 ? 0 : 1;
}
