/* kraftd: DPDK telemetry (dpdk-telemetry.py -f PREFIX): /kraft/status, /kraft/replication,
 * /kraft/stats, /kraft/stages. Callbacks run on the EAL's telemetry thread and read only the seqlock'd
 * snapshots the dataplane and control threads publish (include/kraft/node.h). */
#include <stdio.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include <rte_telemetry.h>

#include "kraft/errors.h"
#include "kraft/node.h"
#include "kraft/wire.h"

static struct kn_node *tn; /* one node per process */

static void
read_dp(struct kn_dp_snapshot *s)
{
	for (;;) {
		uint32_t a = atomic_load_explicit(&tn->dp_snap_seq, memory_order_acquire);

		if (a & 1)
			continue;
		memcpy(s, &tn->dp_snap, sizeof(*s));
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&tn->dp_snap_seq, memory_order_relaxed) == a)
			return;
	}
}

static void
read_el(struct kr_election_stats *s)
{
	for (;;) {
		uint32_t a = atomic_load_explicit(&tn->el_snap_seq, memory_order_acquire);

		if (a & 1)
			continue;
		memcpy(s, &tn->el_snap, sizeof(*s));
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&tn->el_snap_seq, memory_order_relaxed) == a)
			return;
	}
}

/* A histogram as a dict: count, quantiles and max (ns). */
static void
add_latency(struct rte_tel_data *t, const struct kr_latency *l)
{
	rte_tel_data_start_dict(t);
	rte_tel_data_add_dict_u64(t, "count", l->count);
	rte_tel_data_add_dict_u64(t, "p50", kr_latency_quantile(l, 0.5));
	rte_tel_data_add_dict_u64(t, "p90", kr_latency_quantile(l, 0.9));
	rte_tel_data_add_dict_u64(t, "p99", kr_latency_quantile(l, 0.99));
	rte_tel_data_add_dict_u64(t, "p99_9", kr_latency_quantile(l, 0.999));
	rte_tel_data_add_dict_u64(t, "max", l->max_ns);
}

static int64_t
off(uint64_t v)
{
	return v == KR_OFFSET_NONE ? -1 : (int64_t)v;
}

static int
tel_status(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static struct kn_dp_snapshot s;

	(void)cmd;
	(void)params;
	read_dp(&s);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "node_id", tn->cfg.node_id);
	rte_tel_data_add_dict_u64(d, "epoch", atomic_load(&tn->log_epoch));
	rte_tel_data_add_dict_string(d, "role", kr_role_name((unsigned)atomic_load(&tn->log_role)));
	rte_tel_data_add_dict_int(d, "leader_id", atomic_load(&tn->log_leader));
	rte_tel_data_add_dict_int(d, "high_watermark", (int)off(s.committed));
	rte_tel_data_add_dict_u64(d, "log_start", s.log_start);
	rte_tel_data_add_dict_u64(d, "log_end", s.log_end);
	rte_tel_data_add_dict_u64(d, "durable", s.durable);
	rte_tel_data_add_dict_u64(d, "ports", tn->n_ports);
	return 0;
}

static int
tel_replication(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static struct kn_dp_snapshot s;
	uint64_t leader_leo = 0;

	(void)cmd;
	(void)params;
	read_dp(&s);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "leader_id", s.leader);
	rte_tel_data_add_dict_u64(d, "epoch", s.epoch);
	rte_tel_data_add_dict_int(d, "high_watermark", (int)off(s.hw));
	rte_tel_data_add_dict_string(
		d, "view",
		s.describe.error == KR_ERR_NONE ? "leader" : "not the leader: ask leader_id");
	for (unsigned i = 0; i < (unsigned)s.describe.n_voters + s.describe.n_observers; i++)
		if (s.replicas[i].replica_id == s.leader)
			leader_leo = s.replicas[i].log_end_offset;
	for (unsigned i = 0; i < (unsigned)s.describe.n_voters + s.describe.n_observers; i++) {
		const struct kr_replica_info *r = &s.replicas[i];
		struct rte_tel_data *e = rte_tel_data_alloc();
		char name[32];

		if (e == NULL)
			break;
		rte_tel_data_start_dict(e);
		rte_tel_data_add_dict_string(e, "status",
					     r->replica_id == s.leader ? "Leader"
					     : i < s.describe.n_voters ? "Follower"
								       : "Observer");
		rte_tel_data_add_dict_int(e, "log_end_offset", (int)off(r->log_end_offset));
		rte_tel_data_add_dict_int(e, "lag",
					  r->log_end_offset == KR_OFFSET_NONE
						  ? -1
						  : (int)(leader_leo - r->log_end_offset));
		rte_tel_data_add_dict_int(e, "durable_offset", (int)off(r->durable_offset));
		rte_tel_data_add_dict_u64(e, "last_fetch_us", (uint64_t)r->last_fetch_us);
		rte_tel_data_add_dict_u64(e, "last_caught_up_us", (uint64_t)r->last_caught_up_us);
		/* telemetry nests one level only: a dict per replica, named by its id */
		snprintf(name, sizeof(name), "node_%d", r->replica_id);
		rte_tel_data_add_dict_container(d, name, e, 0);
	}
	return 0;
}

static int
tel_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static struct kn_dp_snapshot s;
	struct kr_election_stats el;
	struct rte_tel_data *drops = rte_tel_data_alloc(), *lat = rte_tel_data_alloc(),
			    *dec = rte_tel_data_alloc();
	uint64_t in = 0, out = 0;

	(void)cmd;
	(void)params;
	if (drops == NULL || lat == NULL || dec == NULL) {
		rte_tel_data_free(drops);
		rte_tel_data_free(lat);
		rte_tel_data_free(dec);
		return -1;
	}
	read_dp(&s);
	read_el(&el);
	for (unsigned i = 0; i < tn->n_ports; i++) {
		in += s.ports[i].rx_packets;
		out += s.ports[i].tx_packets;
	}
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_u64(d, "packets_in", in);
	rte_tel_data_add_dict_u64(d, "packets_out", out);
	rte_tel_data_add_dict_u64(d, "elections", el.elections);
	rte_tel_data_add_dict_u64(d, "epoch_changes",
				  el.transitions[KR_ROLE_LEADER] +
					  el.transitions[KR_ROLE_FOLLOWER] +
					  el.transitions[KR_ROLE_CANDIDATE]);
	rte_tel_data_add_dict_u64(d, "votes_granted", el.votes_granted);
	rte_tel_data_add_dict_u64(d, "appends", s.core.appends);
	rte_tel_data_add_dict_u64(d, "commits", s.core.commits);
	rte_tel_data_add_dict_u64(d, "duplicates", s.core.duplicates);
	rte_tel_data_add_dict_u64(d, "producers_evicted", s.core.producers_evicted);
	rte_tel_data_add_dict_u64(d, "producers_full", s.core.producers_full);
	rte_tel_data_add_dict_u64(d, "producers_lost", s.core.producers_lost);
	rte_tel_data_add_dict_u64(d, "truncations", s.core.truncations);
	rte_tel_data_add_dict_u64(d, "fetches_served", s.core.fetches_served);
	rte_tel_data_add_dict_u64(d, "fetches_parked", s.core.fetches_parked);
	rte_tel_data_add_dict_u64(d, "ring_full", s.ring_full_event + s.ring_full_mgmt);
	rte_tel_data_add_dict_u64(d, "rx_deferred", s.rx_deferred);
	rte_tel_data_add_dict_u64(d, "pings_echoed", s.pings);
	rte_tel_data_add_dict_u64(d, "loop_passes", s.passes);
	rte_tel_data_add_dict_u64(d, "work_ns", s.work_ns);
	rte_tel_data_add_dict_u64(d, "log_end", s.log_end);
	rte_tel_data_add_dict_u64(d, "tsc_hz", s.tick_hz);
	rte_tel_data_start_dict(drops);
	for (unsigned w = 0; w < KR_RP_DROP_COUNT; w++)
		if (s.core.drops[w])
			rte_tel_data_add_dict_u64(drops, kr_rp_drop_name(w), s.core.drops[w]);
	for (unsigned w = 0; w < KN_PORT_DROP_COUNT; w++) {
		uint64_t v = 0;

		for (unsigned i = 0; i < tn->n_ports; i++)
			v += s.ports[i].drops[w];
		if (v)
			rte_tel_data_add_dict_u64(drops, kn_port_drop_name(w), v);
	}
	rte_tel_data_add_dict_container(d, "drops", drops, 0);
	/* the DECODE drops by the decoder's reason */
	rte_tel_data_start_dict(dec);
	for (int w = 1; w < KR_WIRE_STATUS_COUNT; w++)
		if (s.core.decode_errors[w])
			rte_tel_data_add_dict_u64(dec, kr_wire_status_name(-w),
						  s.core.decode_errors[w]);
	rte_tel_data_add_dict_container(d, "decode_errors", dec, 0);
	/* authentication failures by reason: the dataplane's, then the management listener's */
	for (int plane = 0; plane < 2; plane++) {
		struct rte_tel_data *a = rte_tel_data_alloc();

		if (a == NULL)
			break;
		rte_tel_data_start_dict(a);
		for (unsigned w = 0; w < KR_AUTH_DROP_COUNT; w++) {
			uint64_t v = plane == 0 ? s.auth_drops[w] : tn->mgmt_auth_drops[w];

			if (v)
				rte_tel_data_add_dict_u64(a, kr_auth_drop_name(w), v);
		}
		rte_tel_data_add_dict_container(d, plane == 0 ? "auth_drops" : "mgmt_auth_drops", a,
						0);
	}
	/* messages larger than a datagram: sent as fragments, put together, refused */
	struct rte_tel_data *fr = rte_tel_data_alloc();

	if (fr != NULL) {
		rte_tel_data_start_dict(fr);
		rte_tel_data_add_dict_u64(fr, "sent", s.fragmented);
		rte_tel_data_add_dict_u64(fr, "sent_fragments", s.fragments);
		rte_tel_data_add_dict_u64(fr, "whole", s.reasm.done);
		rte_tel_data_add_dict_u64(fr, "expired", s.reasm.expired);
		rte_tel_data_add_dict_u64(fr, "replaced", s.reasm.replaced);
		rte_tel_data_add_dict_u64(fr, "taken", s.reasm.taken);
		for (int w = 0; w < KR_REASM_DROP_KINDS; w++)
			rte_tel_data_add_dict_u64(fr, kr_reasm_drop_name(-w - 1), s.reasm.drops[w]);
		rte_tel_data_add_dict_container(d, "fragments", fr, 0);
	}
	/* fetch answers whose records left from log memory (zero copy) */
	struct rte_tel_data *zc = rte_tel_data_alloc();

	if (zc != NULL) {
		rte_tel_data_start_dict(zc);
		rte_tel_data_add_dict_u64(zc, "frames", s.zc_frames);
		rte_tel_data_add_dict_u64(zc, "bytes", s.zc_bytes);
		rte_tel_data_add_dict_u64(zc, "copied", s.zc_copied);
		rte_tel_data_add_dict_container(d, "zero_copy", zc, 0);
	}
	add_latency(lat, &s.commit_latency);
	rte_tel_data_add_dict_container(d, "commit_latency_ns", lat, 0);
	return 0;
}

static const char *const stage_names[KN_STAGES] = {
	[KN_STAGE_RX] = "rx",	       [KN_STAGE_CORE] = "core", [KN_STAGE_ACTIONS] = "actions",
	[KN_STAGE_ECHO] = "ping_echo", [KN_STAGE_TX] = "tx",	 [KN_STAGE_PASS] = "pass",
	[KN_STAGE_SLEEP] = "sleep",
};

/* /kraft/stages[,reset|on|off|all|sampled]: the stage histograms (ns) since the last
 * reset; "reset" reads and empties them, "on" and "off" switch the timing (it starts on),
 * "all" times every loop pass and "sampled" one in KN_STAGE_SAMPLE (the default). */
static int
stages_locked(const char *params, struct rte_tel_data *d)
{
	static struct kr_latency st[KN_STAGES];
	uint32_t req = KN_STAGE_REQ_COPY, done;
	int i;

	if (params != NULL && strcmp(params, "on") == 0)
		atomic_store(&tn->stage_on, true);
	else if (params != NULL && strcmp(params, "off") == 0)
		atomic_store(&tn->stage_on, false);
	else if (params != NULL && strcmp(params, "reset") == 0)
		req = KN_STAGE_REQ_RESET;
	else if (params != NULL && strcmp(params, "all") == 0)
		atomic_store(&tn->stage_every, 1);
	else if (params != NULL && strcmp(params, "sampled") == 0)
		atomic_store(&tn->stage_every, KN_STAGE_SAMPLE);
	else if (params != NULL && *params != '\0')
		return -EINVAL;
	/* the dataplane copies them on its next pass (within its idle sleep: it is woken) */
	done = atomic_load_explicit(&tn->stage_done, memory_order_acquire);
	atomic_store_explicit(&tn->stage_req, req, memory_order_release);
	kn_wake(tn->dp_wake, &tn->dp_sleeping);
	for (i = 0; i < 500 && atomic_load_explicit(&tn->stage_done, memory_order_acquire) == done;
	     i++)
		usleep(1000);
	if (i == 500)
		return -EAGAIN; /* the dataplane is not running */
	memcpy(st, tn->stage_snap, sizeof(st));
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_int(d, "on", atomic_load(&tn->stage_on));
	rte_tel_data_add_dict_int(d, "one_pass_in", (int)atomic_load(&tn->stage_every));
	for (int k = 0; k < KN_STAGES; k++) {
		struct rte_tel_data *h = rte_tel_data_alloc();

		if (h == NULL)
			return -ENOMEM;
		add_latency(h, &st[k]);
		rte_tel_data_add_dict_container(d, stage_names[k], h, 0);
	}
	return 0;
}

/* Each telemetry client has a thread of its own: one request to the dataplane at a time
 * (a lock off the dataplane's path; the dataplane itself only polls stage_req). */
static int
tel_stages(const char *cmd, const char *params, struct rte_tel_data *d)
{
	static pthread_mutex_t one = PTHREAD_MUTEX_INITIALIZER;
	int rc;

	(void)cmd;
	pthread_mutex_lock(&one);
	rc = stages_locked(params, d);
	pthread_mutex_unlock(&one);
	return rc;
}

int
kn_telemetry_register(struct kn_node *n)
{
	tn = n;
	if (rte_telemetry_register_cmd("/kraft/status", tel_status,
				       "kraftd: node, epoch, role, leader, HW, log range") != 0 ||
	    rte_telemetry_register_cmd("/kraft/replication", tel_replication,
				       "kraftd: the leader's view of every replica") != 0 ||
	    rte_telemetry_register_cmd("/kraft/stats", tel_stats,
				       "kraftd: packets, drops by reason, elections, commits, "
				       "truncations, ring-full events, commit latency") != 0 ||
	    rte_telemetry_register_cmd("/kraft/stages", tel_stages,
				       "kraftd: where the dataplane's time goes, per stage (ns). "
				       "Parameter: reset, on or off") != 0)
		return -1;
	return 0;
}
