/* corebench: what the node's own code costs per client request, without any transport.
 * The node's time per commit, measured over a network, comes with the port's receive and
 * send and the client's code; this runs only what the dataplane runs between them, in one
 * process, on one core, so a change to the core can be weighed (and profiled with perf)
 * without the noise of two pollers on shared cores. Two phases, alternating:
 *   echo    what the dataplane does with a PING: peek, decode (frame CRC, message), encode
 *           the answer (frame CRC) into a buffer
 *   append  what it does with a client's Append on a 1-voter leader in memory durability:
 *           kr_repl_on_packet (decode, checks, the batch built and appended, the high
 *           watermark moved) and the harness carrying out its actions (the answer encoded
 *           into a buffer)
 * Each round runs N requests of each phase; a fresh leader (memory log) every round.
 *   fetch   (--phase fetch, alone) what a 3-voter leader does with a follower's Fetch for
 *           one batch of --fetch-bytes (default 1 MiB) in 1472-byte datagrams: the core's
 *           answer and the harness cutting it into fragments, three ways, alternating:
 *           staged (the whole message encoded into the big buffer first, then each
 *           fragment copied from there: how it was done before), direct (each fragment
 *           takes its records from the log: what the node does) and chained (as the
 *           shell of kraftd.dpdk.zero.copy gets them: pointers, no copy here; the DPDK
 *           chaining itself is not in it)
 * Usage: corebench [--rounds R (5)] [--count N (200000)] [--records K (1)]
 *                  [--value-bytes B (64)] [--phase echo|append|both|fetch]
 *                  [--fetch-bytes B (1048000)]
 * Output: one JSON line per round and phase (ns per request), then a summary line with
 * the medians and their ratio (fetch: ns per answer and per KiB, ratios to staged). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "kraft/le.h"
#include "kraft/log.h"
#include "kraft/repl.h"
#include "kraft/wire.h"

#define ROUNDS_MAX 101

static const struct kr_wire_ctx ctx = {
	.cluster_id = {0x6b, 0x72, 0x61, 0x66, 0x74, 0x64, 0x2d, 0x63, 0x6f, 0x72, 0x65, 0x62, 0x65,
		       0x6e, 0x63, 0x68},
	.voter_set_hash = 0x636f726562656e63ull,
};

static uint8_t txbuf[KR_WIRE_UDP_PAYLOAD_MAX];
static uint64_t sent, sent_bytes;

static long long
now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000ll + t.tv_nsec;
}

static uint32_t tx_cap = sizeof(txbuf); /* the fetch phase's datagrams are smaller */

static uint8_t *
op_tx_begin(void *arg, int32_t to_node, uint64_t to_addr, uint32_t *cap)
{
	(void)arg;
	(void)to_node;
	(void)to_addr;
	*cap = tx_cap;
	return txbuf;
}

static void
op_tx_end(void *arg, uint32_t len)
{
	(void)arg;
	sent++;
	sent_bytes += len;
}

static int
op_event(void *arg, const struct kr_event *ev)
{
	(void)arg;
	(void)ev;
	return 0;
}

static void
op_flush(void *arg, const struct kr_rp_flush *f)
{
	(void)arg;
	(void)f;
}

static const struct kr_rp_ops ops = {
	.tx_begin = op_tx_begin, .tx_end = op_tx_end, .event = op_event, .flush = op_flush};

/* fetch, chained: the shell is handed the records where they are */
static void
op_tx_end_ext(void *arg, uint32_t len, const uint8_t *ext, uint32_t ext_len)
{
	(void)arg;
	(void)ext;
	sent++;
	sent_bytes += len + ext_len;
}

static const struct kr_rp_ops ops_chained = {.tx_begin = op_tx_begin,
					     .tx_end = op_tx_end,
					     .event = op_event,
					     .flush = op_flush,
					     .tx_end_ext = op_tx_end_ext};

static int frame(uint8_t *buf, size_t cap, uint32_t corr, const struct kr_msg *m);

#define DGRAM 1472 /* a 1500-byte MTU's UDP payload */
enum fetch_mode { STAGED, DIRECT, CHAINED, FETCH_MODES };
static const char *const fetch_mode_names[FETCH_MODES] = {"staged", "direct", "chained"};

/* A 3-voter leader holding one batch of batch_bytes of records answers count Fetches
 * for it from voter 2, in datagrams of DGRAM bytes. @return ns per answer. */
static double
run_fetch(long count, uint32_t batch_bytes, enum fetch_mode mode)
{
	static uint8_t rec[KR_BATCH_BYTES_MAX], req[KR_MSG_MAX], big[KR_MSG_MAX], fq[256];
	static struct kr_repl r;
	struct kr_log_config lc = {.durability = KR_LOG_MEMORY,
				   .segment_bytes = KR_LOG_SEGMENT_BYTES_DEFAULT,
				   .memory_bytes_max = 1ull << 30};
	struct kr_repl_config c = {
		.node_id = 1,
		.wire = ctx,
		.n_voters = 3,
		.voters = {1, 2, 3},
		.memory_mode = true,
		.fetch_max_wait_us = 5000,
		.fetch_max_bytes = 1u << 20,
		.frame_records_max = DGRAM - KR_WIRE_HDR_BYTES - KR_FETCH_RESP_FIXED_BYTES,
		.reply_frames_max = 8,
		.fetch_retry_us = 10000,
		.fetch_backoff_us = 10000,
		.incarnation = 1,
	};
	struct kr_rp_harness h = {.r = &r,
				  .ops = mode == CHAINED ? &ops_chained : &ops,
				  .big = big,
				  .big_cap = sizeof(big),
				  .stage = mode == STAGED};
	struct kr_cmd lead = {.type = KR_CMD_LEADER, .epoch = 1, .node = KR_NODE_NONE};
	struct kr_msg m = {.api = KR_API_APPEND}, f = {.api = KR_API_FETCH};
	struct kr_frame_hdr fh = {
		.sender_id = 2, .correlation_id = 9, .voter_set_hash = ctx.voter_set_hash};
	struct kr_log_report rep;
	struct kr_log *log;
	uint64_t before, base;
	int64_t now = 1000000;
	char err[200] = "";
	long long t0;
	double ns;
	int len, flen;

	kr_put_le32(rec, batch_bytes - 4);
	memset(rec + 4, 'f', batch_bytes - 4);
	m.u.append = (struct kr_append_req){
		.record_count = 1, .records_len = batch_bytes, .records = rec};
	len = frame(req, sizeof(req), 1, &m);
	if (len <= 0 || kr_log_open(&lc, &log, &rep, err, sizeof(err)) != 0 ||
	    kr_repl_init(&r, &c, log) != 0) {
		fprintf(stderr, "corebench: cannot set up the fetch phase (%d) %s\n", len, err);
		exit(1);
	}
	kr_repl_on_cmd(&r, &lead, now, &h.out);
	kr_rp_harness_run(&h, now);
	base = kr_log_end(log);
	kr_repl_on_packet(&r, req, (size_t)len, KR_NODE_NONE, 0x10000, now, &h.out);
	kr_rp_harness_run(&h, now);
	if (kr_log_end(log) != base + 1) {
		fprintf(stderr, "corebench: the batch to fetch was not appended\n");
		exit(1);
	}
	memcpy(fh.cluster_id, ctx.cluster_id, KR_UUID_BYTES);
	f.u.fetch = (struct kr_fetch_req){.epoch = 1,
					  .last_fetched_epoch = 1,
					  .fetch_offset = base,
					  .durable_offset = base,
					  .max_bytes = 1u << 20,
					  .incarnation = 1};
	flen = kr_frame_encode(fq, sizeof(fq), &fh, &f);
	tx_cap = DGRAM;
	before = sent_bytes;
	t0 = now_ns();
	for (long i = 0; i < count; i++) {
		kr_repl_on_packet(&r, fq, (size_t)flen, 2, 2, now, &h.out);
		kr_rp_harness_run(&h, now);
	}
	ns = (double)(now_ns() - t0) / (double)count;
	tx_cap = sizeof(txbuf);
	if (sent_bytes - before < (uint64_t)count * batch_bytes || h.encode_errors != 0 ||
	    (mode == CHAINED) != (h.ext_frames > 0)) {
		fprintf(stderr, "corebench: %ld fetches sent %llu bytes (%llu encode errors)\n",
			count, (unsigned long long)(sent_bytes - before),
			(unsigned long long)h.encode_errors);
		exit(1);
	}
	kr_log_close(log);
	return ns;
}

static int
frame(uint8_t *buf, size_t cap, uint32_t corr, const struct kr_msg *m)
{
	struct kr_frame_hdr h = {
		.sender_id = -1, .correlation_id = corr, .voter_set_hash = ctx.voter_set_hash};

	memcpy(h.cluster_id, ctx.cluster_id, KR_UUID_BYTES);
	return kr_frame_encode(buf, cap, &h, m);
}

/* The PING path of the dataplane (its echo_ping), once per request. */
static double
run_echo(long count)
{
	static uint8_t req[256];
	struct kr_msg m = {.api = KR_API_PING};
	int len = frame(req, sizeof(req), 1, &m);
	long long t0;

	if (len <= 0) {
		fprintf(stderr, "corebench: cannot encode a PING (%d)\n", len);
		exit(1);
	}
	t0 = now_ns();
	for (long i = 0; i < count; i++) {
		struct kr_frame_peek p;
		struct kr_frame f;
		struct kr_msg in;

		if (kr_frame_peek(req, (size_t)len, &p) != 0 || p.api != KR_API_PING ||
		    kr_frame_decode(&ctx, req, (size_t)len, &f) != 0 ||
		    kr_msg_decode(&f, &in) != 0) {
			fprintf(stderr, "corebench: a PING would not decode\n");
			exit(1);
		}
		in.api = KR_API_PING_RESP;
		if (frame(txbuf, sizeof(txbuf), f.hdr.correlation_id, &in) <= 0) {
			fprintf(stderr, "corebench: a PING answer would not encode\n");
			exit(1);
		}
		sent++;
	}
	return (double)(now_ns() - t0) / (double)count;
}

/* The Append path on a fresh 1-voter leader. */
static double
run_append(long count, uint32_t records, uint32_t value_bytes)
{
	static uint8_t rec[KR_BATCH_BYTES_MAX], req[KR_WIRE_UDP_PAYLOAD_MAX];
	static struct kr_repl r;
	struct kr_log_config lc = {.durability = KR_LOG_MEMORY,
				   .segment_bytes = KR_LOG_SEGMENT_BYTES_DEFAULT,
				   .memory_bytes_max = 64ull << 30};
	struct kr_repl_config c = {
		.node_id = 1,
		.wire = ctx,
		.n_voters = 1,
		.voters = {1},
		.memory_mode = true,
		.fetch_max_wait_us = 5000,
		.fetch_max_bytes = 1u << 20,
		.frame_records_max = KR_WIRE_BODY_MAX - KR_FETCH_RESP_FIXED_BYTES,
		.reply_frames_max = 8,
		.fetch_retry_us = 10000,
		.fetch_backoff_us = 10000,
		.incarnation = 1,
	};
	struct kr_rp_harness h = {.r = &r, .ops = &ops};
	struct kr_cmd lead = {.type = KR_CMD_LEADER, .epoch = 1, .node = KR_NODE_NONE};
	struct kr_log_report rep;
	struct kr_log *log;
	struct kr_msg m = {.api = KR_API_APPEND};
	uint32_t pos = 0;
	uint64_t acked = r.stats.appends;
	int64_t now = 1000000;
	char err[200] = "";
	long long t0;
	double ns;
	int len, rc;

	memset(c.directory_id, 1, KR_UUID_BYTES);
	for (uint32_t i = 0; i < records; i++) {
		kr_put_le32(rec + pos, value_bytes);
		memset(rec + pos + 4, 'a' + (int)(i % 26), value_bytes);
		pos += 4 + value_bytes;
	}
	m.u.append =
		(struct kr_append_req){.record_count = records, .records_len = pos, .records = rec};
	len = frame(req, sizeof(req), 1, &m);
	if (len <= 0) {
		fprintf(stderr, "corebench: the Append would not encode (%d)\n", len);
		exit(1);
	}
	if (kr_log_open(&lc, &log, &rep, err, sizeof(err)) != 0) {
		fprintf(stderr, "corebench: cannot open a memory log: %s\n", err);
		exit(1);
	}
	if ((rc = kr_repl_init(&r, &c, log)) != 0) {
		fprintf(stderr, "corebench: the core refused its configuration: %s\n",
			strerror(-rc));
		exit(1);
	}
	kr_repl_on_cmd(&r, &lead, now, &h.out);
	kr_rp_harness_run(&h, now);
	if (r.role != KR_REPL_LEADER) {
		fprintf(stderr, "corebench: the node did not take the lead\n");
		exit(1);
	}
	/* the node's flush thread pages the log in ahead of its end: so does this */
	{
		void *addr;
		size_t plen;

		if (kr_log_prefault_range(log, UINT32_MAX / 2, 0, &addr, &plen))
			madvise(addr, plen, MADV_POPULATE_WRITE);
	}
	acked = sent;
	t0 = now_ns();
	for (long i = 0; i < count; i++) {
		kr_repl_on_packet(&r, req, (size_t)len, KR_NODE_NONE, 0x10000, now, &h.out);
		kr_rp_harness_run(&h, now);
	}
	ns = (double)(now_ns() - t0) / (double)count;
	if (sent - acked != (uint64_t)count || r.stats.appends != (uint64_t)count ||
	    r.hw != kr_log_end(log)) {
		fprintf(stderr,
			"corebench: %ld appends gave %llu answers, %llu appended, hw %llu of "
			"%llu\n",
			count, (unsigned long long)(sent - acked),
			(unsigned long long)r.stats.appends, (unsigned long long)r.hw,
			(unsigned long long)kr_log_end(log));
		for (unsigned d = 0; d < KR_RP_DROP_COUNT; d++)
			if (r.stats.drops[d] != 0)
				fprintf(stderr, "corebench: the core dropped %llu as %s\n",
					(unsigned long long)r.stats.drops[d], kr_rp_drop_name(d));
		for (int e = 0; e < KR_WIRE_STATUS_COUNT; e++)
			if (r.stats.decode_errors[e] != 0)
				fprintf(stderr, "corebench: ... %llu of them %s\n",
					(unsigned long long)r.stats.decode_errors[e],
					kr_wire_status_name(-e));
		exit(1);
	}
	kr_log_close(log);
	return ns;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: corebench [--rounds R (5)] [--count N (200000)] [--records K (1)]\n"
		   "                 [--value-bytes B (64)] [--phase echo|append|both|fetch]\n"
		   "                 [--fetch-bytes B (1048000)]\n"
		   "The node's code per PING and per 1-voter Append, without a transport (ns);\n"
		   "fetch: a leader's answer to a Fetch of one large batch in 1472-byte\n"
		   "datagrams, staged (as before), direct and chained (ns, ratios to staged).\n");
}

static long
arg_long(const char *name, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi) {
		fprintf(stderr, "corebench: --%s must be an integer in %ld..%ld, not '%s'\n", name,
			lo, hi, s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"rounds", required_argument, NULL, 'r'},
					     {"count", required_argument, NULL, 'n'},
					     {"records", required_argument, NULL, 'k'},
					     {"value-bytes", required_argument, NULL, 'b'},
					     {"phase", required_argument, NULL, 'p'},
					     {"fetch-bytes", required_argument, NULL, 'f'},
					     {"help", no_argument, NULL, 'h'},
					     {NULL, 0, NULL, 0}};
	double echo[ROUNDS_MAX], app[ROUNDS_MAX], fet[FETCH_MODES][ROUNDS_MAX];
	long rounds = 5, count = 200000, records = 1, value = 64, fetch_bytes = 1048000;
	bool do_echo = true, do_append = true, do_fetch = false, count_given = false;
	int o;

	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'r':
			rounds = arg_long("rounds", optarg, 1, ROUNDS_MAX);
			break;
		case 'n':
			count = arg_long("count", optarg, 1, 100000000);
			count_given = true;
			break;
		case 'f':
			fetch_bytes = arg_long("fetch-bytes", optarg, 2048,
					       KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES);
			break;
		case 'k':
			records = arg_long("records", optarg, 1, 4096);
			break;
		case 'b':
			value = arg_long("value-bytes", optarg, 0, 65536);
			break;
		case 'p':
			if (strcmp(optarg, "echo") == 0)
				do_append = false;
			else if (strcmp(optarg, "append") == 0)
				do_echo = false;
			else if (strcmp(optarg, "fetch") == 0)
				do_fetch = true, do_echo = do_append = false;
			else if (strcmp(optarg, "both") != 0) {
				fprintf(stderr,
					"corebench: --phase is echo, append or both, not '%s'\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if ((uint64_t)records * (4 + (uint64_t)value) > KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES) {
		fprintf(stderr,
			"corebench: %ld records of %ld bytes do not fit one batch (%u bytes)\n",
			records, value, KR_BATCH_BYTES_MAX - KR_BATCH_HDR_BYTES);
		return 2;
	}
	if (do_fetch) {
		double ratio[FETCH_MODES][ROUNDS_MAX];

		if (!count_given)
			count = 2000;
		for (long i = 0; i < rounds; i++) {
			for (int k = 0; k < FETCH_MODES; k++) { /* the order turns each round */
				int md = (int)((k + i) % FETCH_MODES);

				fet[md][i] = run_fetch(count, (uint32_t)fetch_bytes, md);
				printf("{\"round\":%ld,\"phase\":\"fetch\",\"mode\":\"%s\","
				       "\"bytes\":%ld,\"ns\":%.1f,\"ns_per_kib\":%.1f}\n",
				       i, fetch_mode_names[md], fetch_bytes, fet[md][i],
				       fet[md][i] * 1024 / (double)fetch_bytes);
			}
			for (int md = 0; md < FETCH_MODES; md++)
				ratio[md][i] = fet[md][i] / fet[STAGED][i];
			fflush(stdout);
		}
		printf("{\"summary\":true,\"phase\":\"fetch\",\"rounds\":%ld,\"count\":%ld,"
		       "\"bytes\":%ld",
		       rounds, count, fetch_bytes);
		for (int md = 0; md < FETCH_MODES; md++)
			printf(",\"%s_ns_p50\":%.1f,\"%s_per_staged_p50\":%.3f",
			       fetch_mode_names[md], median(fet[md], (int)rounds),
			       fetch_mode_names[md], median(ratio[md], (int)rounds));
		printf("}\n");
		return 0;
	}
	for (long i = 0; i < rounds; i++) {
		if (do_echo) {
			echo[i] = run_echo(count);
			printf("{\"round\":%ld,\"phase\":\"echo\",\"ns\":%.1f}\n", i, echo[i]);
		}
		if (do_append) {
			app[i] = run_append(count, (uint32_t)records, (uint32_t)value);
			printf("{\"round\":%ld,\"phase\":\"append\",\"ns\":%.1f}\n", i, app[i]);
		}
		fflush(stdout);
	}
	printf("{\"summary\":true,\"rounds\":%ld,\"count\":%ld,\"records\":%ld,\"value_bytes\":%ld",
	       rounds, count, records, value);
	if (do_echo)
		printf(",\"echo_ns_p50\":%.1f", median(echo, (int)rounds));
	if (do_append)
		printf(",\"append_ns_p50\":%.1f", median(app, (int)rounds));
	if (do_echo && do_append) {
		double ratio[ROUNDS_MAX];

		for (long i = 0; i < rounds; i++)
			ratio[i] = app[i] / echo[i];
		printf(",\"append_per_echo_p50\":%.2f", median(ratio, (int)rounds));
	}
	printf("}\n");
	return 0;
}
