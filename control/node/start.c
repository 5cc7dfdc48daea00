/* kraftd: a node's start and stop: the data directory (locked first), the log and the
 * restart rules, both cores, the rings, the ports, the three threads; then, when they are
 * done, a summary and everything released. See include/kraft/node.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "kraft/crashtest.h"
#include "kraft/datadir.h"
#include "kraft/fileio.h"
#include "kraft/restart.h"
#include "kraft/uuid.h"
#include "node_int.h"

_Static_assert(sizeof(struct kr_cmd) % 4 == 0, "ring elements are multiples of 4 bytes");
_Static_assert(sizeof(struct kr_event) % 4 == 0, "ring elements are multiples of 4 bytes");
_Static_assert(sizeof(struct kn_mgmt_msg) % 4 == 0, "ring elements are multiples of 4 bytes");
_Static_assert(sizeof(struct kr_rp_flush) % 4 == 0, "ring elements are multiples of 4 bytes");

/* crash test lines go to the node's log */
static void
say_start(void *arg, const char *line)
{
	kn_log(arg, "start", "%s", line);
}

static int
bind_udp(const struct kr_endpoint *e, int bufsize)
{
	struct sockaddr_in a = {
		.sin_family = AF_INET, .sin_port = htons(e->port), .sin_addr.s_addr = htonl(e->ip)};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (bufsize > 0) {
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof(bufsize));
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof(bufsize));
	}
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

static const char *
recovery_name(enum kr_log_recovery r)
{
	return r == KR_LOG_CLEAN       ? "clean"
	       : r == KR_LOG_TORN_TAIL ? "torn tail cut"
				       : "MID-LOG CORRUPTION";
}

/* The crash test's cut, between the log directory's creation and the log's open. */
static int
crash_cut(void *arg, const char *log_path)
{
	struct kn_node *n = arg;
	int rc;

	if (n->opt.crash_cut) {
		rc = kr_crash_cut(n->cfg.log_dir, log_path, n->opt.crash_torn, say_start, n);
		if (rc != 0) {
			kn_log(n, "start", "crash test: cannot cut the log: %s", strerror(-rc));
			return rc;
		}
		kr_crash_record(n->cfg.log_dir, log_path); /* from now on there is one */
		return 0;
	}
	return kr_remove_file(NULL, n->cfg.log_dir, KR_CRASH_FILE); /* any record is stale */
}

static struct kr_restart_config
restart_config(struct kn_node *n)
{
	const struct kr_node_config *cfg = &n->cfg;

	return (struct kr_restart_config){.dir = cfg->log_dir,
					  .cluster_id = cfg->cluster_id,
					  .node_id = cfg->node_id,
					  .durability = cfg->durability,
					  .segment_bytes = cfg->segment_bytes,
					  .memory_bytes_max = cfg->memory_max_bytes,
					  .wall_ms = (uint64_t)kn_wall_us() / 1000,
					  .before_log_open = crash_cut,
					  .arg = n};
}

/* Open the data directory and the log (include/kraft/restart.h), say what was found.
 * Returns 0 or an exit status, having said why. */
static int
open_storage(struct kn_node *n, struct kr_restart *rs)
{
	const struct kr_node_config *cfg = &n->cfg;
	struct kr_restart_config rc_cfg = restart_config(n);
	const struct kr_log_report *rep = &rs->rep;
	char err[512];
	int rc;

	rc = kr_restart_identify(&rc_cfg, rs, err, sizeof(err));
	if (rc == -EBADMSG)
		kn_log(n, "start",
		       "refusing to start: %s. The vote this node cast is lost with it: the safe "
		       "way back is to re-format the directory without --initial-controllers "
		       "(it then rejoins as an observer with a new directory id), never to reset "
		       "it to epoch 0",
		       err);
	else if (rc != 0)
		kn_log(n, "start", "refusing to start: %s", err);
	if (rc == 0 && rs->has_boot && cfg->n_voters > 0 &&
	    (rc = kr_config_check_bootstrap(cfg, &rs->boot, err, sizeof(err))) != 0)
		kn_log(n, "start", "refusing to start: %s", err);
	if (rc != 0)
		return 1;
	rc = kr_restart_recover(&rc_cfg, rs, err, sizeof(err));
	if (rc != 0) {
		kn_log(n, "start", "refusing to start: %s", err);
		return 1;
	}
	n->id = rs->id;
	n->boot = rs->boot;
	n->has_boot = rs->has_boot;
	n->incarnation = rs->incarnation;
	n->repair_target = rs->repair_target;
	n->unsafe_admit = rs->unsafe_admit;
	n->log = rs->log;
	/* the directory fits KR_CONFIG_PATH_MAX (config.c), so its log path fits too */
	snprintf(n->log_path, sizeof(n->log_path), "%.*s", (int)sizeof(n->log_path) - 1,
		 rs->log_path);
	if (rs->unsafe_admit)
		kn_log(n, "start",
		       "UNSAFE ADMIT (kraftd unsafe-admit): this start skips the rules that keep a "
		       "node that may lack acknowledged records from voting (a lost memory-mode "
		       "log, an unfinished repair, a first start past the cluster's first "
		       "election). If a majority of voters lost their data, records they "
		       "acknowledged may be lost for good.");
	if (rs->repair_carried)
		kn_log(n, "start",
		       "an unfinished repair: the node must refetch up to offset %" PRIu64
		       " before it votes or counts toward commit",
		       rs->repair_target);
	kn_log(n, "start",
	       "log %s: offsets [%" PRIu64 ", %" PRIu64
	       "), last epoch %u, %u segments, recovery: %s",
	       cfg->durability == KR_LOG_DISK ? n->log_path : "(memory)", kr_log_start(n->log),
	       kr_log_end(n->log), kr_log_last_epoch(n->log), rep->segments,
	       recovery_name(rep->outcome));
	if (rep->outcome == KR_LOG_TORN_TAIL)
		kn_log(n, "start", "cut %" PRIu64 " bytes of a torn write from %s (%s)",
		       rep->torn_bytes, rep->segment, rep->reason);
	if (rep->outcome == KR_LOG_MID_CORRUPT)
		kn_log(n, "start",
		       "%s byte %" PRIu64 ": %s: offsets [%" PRIu64 ", %" PRIu64
		       ") unreadable; the node stays out of elections and commit until it has "
		       "refetched up to %" PRIu64 " from the leader",
		       rep->segment, rep->file_pos, rep->reason, rep->damage_start_offset,
		       rep->damage_end_offset, n->repair_target);
	return 0;
}

/* What the node is in the voter set, and what that does not protect. */
static void
describe_voters(struct kn_node *n, const struct kr_election_config *ec, bool first_start)
{
	char d[KR_UUID_TEXT_LEN + 1];
	bool listed = false;

	for (int i = 0; i < ec->n_voters; i++)
		listed = listed || ec->voters[i] == ec->node_id;
	kr_uuid_format(n->id.directory_id, d);
	if (!n->has_boot)
		kn_log(n, "start",
		       "voters: static, by node id only (the directory was formatted before "
		       "voters had directory ids): a voter whose disk is wiped and re-formatted "
		       "would vote with an empty log; re-format new clusters with "
		       "--initial-controllers");
	else if (ec->joining && listed)
		kn_log(n, "start",
		       "voters: node %d is a voter, but not with this directory (%s): it "
		       "replicates as an observer and never votes or counts toward commit, until "
		       "a voter change names (%d, %s); the cluster runs one voter short "
		       "meanwhile",
		       ec->node_id, d, ec->node_id, d);
	else if (ec->joining)
		kn_log(n, "start", "voters: this node is an observer (directory %s)", d);
	else
		kn_log(n, "start", "voters: this node is voter (%d, %s)%s", ec->node_id, d,
		       first_start ? "; first start: it rejoins as an observer if it finds the "
				     "cluster already past its first election"
				   : "");
}

static void
describe_start(struct kn_node *n, const struct kr_quorum_state *qs)
{
	const struct kr_node_config *c = &n->cfg;
	char dp[32], mg[32], cid[KR_UUID_TEXT_LEN + 1], idle[128];

	kr_endpoint_format(&c->listener, dp, sizeof(dp));
	kr_endpoint_format(&c->mgmt, mg, sizeof(mg));
	kr_uuid_format(c->cluster_id, cid);
	if (c->idle == KR_IDLE_POLL)
		snprintf(idle, sizeof(idle), "poll (busy: one core always in use)");
	else
		snprintf(idle, sizeof(idle),
			 "%s (spin %lld us after work%s, then sleep until a datagram, a ring "
			 "wakeup or a timer)",
			 c->idle == KR_IDLE_SHARED ? "shared" : "backoff",
			 (long long)c->idle_spin_us,
			 c->idle == KR_IDLE_SHARED ? ", yielding the core between polls" : "");
	kn_log(n, "start",
	       "kraftd starting: cluster %s, %s of %u voters, transport %s %s, management %s, "
	       "durability %s, dataplane idle mode %s",
	       cid, kr_election_is_voter(&n->el) ? "voter" : "observer", c->n_voters,
	       n->opt.transport == KN_TRANSPORT_DPDK ? "dpdk" : "udp", dp, mg,
	       c->durability == KR_LOG_DISK ? "disk" : "memory", idle);
	for (unsigned i = 0; i < n->n_ports; i++)
		kn_log(n, "start",
		       "port %u: %s, datagrams up to %u bytes, frames of %u record bytes", i,
		       n->ports[i]->name, n->ports[i]->payload_max, c->frame_bytes);
	kn_log(n, "start",
	       "timeouts: election %.3f ms, fetch %.3f ms, backoff max %.3f ms, request %.3f ms, "
	       "parked fetch %.3f ms; quorum-state epoch %u leader %d voted %d; incarnation "
	       "%" PRIu64,
	       c->election_timeout_us / 1e3, c->fetch_timeout_us / 1e3,
	       c->election_backoff_max_us / 1e3, c->request_timeout_us / 1e3,
	       c->fetch_max_wait_us / 1e3, qs->epoch, qs->leader_id, qs->voted_id, n->incarnation);
}

/* Let the threads that started go (a later start step failed), or the threads beside the
 * dataplane (it has stopped): the apply thread finishes the spans it was handed, the
 * writer the image it was given, the flush thread its job. */
static void
stop_side_threads(struct kn_node *n, const pthread_t *flush, const pthread_t *apply,
		  const pthread_t *writer)
{
	atomic_store(&n->dp_done, true);
	if (apply != NULL) {
		kn_wake_always(n->apply_wake);
		pthread_join(*apply, NULL);
	}
	if (writer != NULL) {
		atomic_store(&n->apply_done, true);
		kn_wake_always(n->writer_wake);
		pthread_join(*writer, NULL);
	}
	if (flush != NULL) {
		kn_wake_always(n->flush_wake);
		pthread_join(*flush, NULL);
	}
}

int
kn_run(const struct kr_node_config *cfg, const struct kn_options *opt)
{
	/* aligned as its per-thread cache lines need (node.h) */
	struct kn_node *n = aligned_alloc(KN_CACHE_LINE, sizeof(*n));
	struct ctl *c = calloc(1, sizeof(*c));
	struct kr_restart rs;
	struct kr_restart_config rcfg;
	struct kr_election_config ec;
	struct kr_election_start st = {0};
	struct kr_auth_keys keys = {0};
	char err[KR_CONFIG_PATH_MAX + 200], a[32];
	pthread_t other_thread, flush_thread, apply_thread, writer_thread, xfer_thread;
	bool xfer_on = false;
	bool apply_on;
	pthread_attr_t attr;
	sigset_t mask;
	bool dpdk = opt->transport == KN_TRANSPORT_DPDK;
	int status = 1;

	if (n == NULL || c == NULL) {
		fprintf(stderr, "kraftd: out of memory\n");
		free(n);
		free(c);
		return 1;
	}
	memset(n, 0, sizeof(*n));
	n->cfg = *cfg;
	n->opt = *opt;
	n->mgmt_fd = n->lock_fd = n->dp_wake = n->ctl_wake = n->flush_wake = c->sigfd = -1;
	n->apply_wake = n->writer_wake = n->xfer_wake = -1;
	atomic_store(&n->log_leader, KR_NODE_NONE);
	atomic_store(&n->stage_on, true); /* its cost: docs/BENCHMARKS.md */
	atomic_store(&n->stage_every, KN_STAGE_SAMPLE);
	c->n = n;
	/* the cluster key first: a bad key file is a configuration error (exit 2) */
	if (kr_auth_keys_load(cfg->auth_key_file, cfg->auth_accept_file, &keys, err, sizeof(err)) !=
	    0) {
		kn_log(n, "start", "authentication keys: %s", err);
		status = 2;
		goto out;
	}
	/* the data directory's lock before anything else touches it (a second node on a
	 * running node's directory would run log recovery over the live log) or binds the
	 * running node's ports and files (memif sockets, the EAL's) */
	if (kr_datadir_lock(cfg->log_dir, &n->lock_fd, err, sizeof(err)) != 0) {
		kn_log(n, "start", "refusing to start: %s", err);
		goto out;
	}
	/* signals arrive only through the control thread's signalfd: blocked here, before
	 * any thread starts (the EAL's included), so every thread inherits the mask */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGINT);
	pthread_sigmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (dpdk) {
		if (kn_dpdk_start(n, err, sizeof(err)) != 0) {
			kn_log(n, "start", "cannot start the DPDK dataplane: %s", err);
			goto out;
		}
		cfg = &n->cfg; /* its frame sizes now fit the ports */
	}
	status = open_storage(n, &rs);
	if (status == 0)
		status = kn_apply_open(n);
	if (status == 0)
		status = kn_xfer_open(n);
	if (status != 0)
		goto out;
	/* a state machine whose state is not here yet runs too: it loads the leader's */
	apply_on = n->applier != NULL;
	status = kn_learn_voters(n, &keys);
	if (status != 0) {
		status = status < 0 ? 0 : status;
		goto out;
	}
	cfg = &n->cfg; /* with bootstrap servers, its voters are filled now */
	status = 1;
	if (kn_dataplane_init(n, &keys, err, sizeof(err)) != 0) {
		kn_log(n, "start", "%s", err);
		goto out;
	}
	kr_auth_init(&c->auth, &keys, kn_wall_us());
	if (c->auth.on) {
		n->wire.flags = KR_FRAME_F_AUTH;
		kn_log_keys(n, "authentication on", &keys);
	}

	n->cmd = kn_ring_new("cmd", sizeof(struct kr_cmd), 1024);
	n->event = kn_ring_new("event", sizeof(struct kr_event), 4096);
	n->mreq = kn_ring_new("mreq", sizeof(struct kn_mgmt_msg), 64);
	n->mresp = kn_ring_new("mresp", sizeof(struct kn_mgmt_msg), 64);
	n->flush = kn_ring_new("flush", sizeof(struct kr_rp_flush), 4);
	n->done = kn_ring_new("done", sizeof(struct kr_rp_flush), 4);
	n->apply = kn_ring_new("apply", sizeof(struct kn_apply_span), 1024);
	n->apply_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->writer_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->dp_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->ctl_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	n->flush_wake = eventfd(0, EFD_CLOEXEC);
	c->sigfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (!n->cmd || !n->event || !n->mreq || !n->mresp || !n->flush || !n->done || !n->apply ||
	    n->dp_wake < 0 || n->ctl_wake < 0 || n->flush_wake < 0 || n->apply_wake < 0 ||
	    n->writer_wake < 0 || c->sigfd < 0) {
		kn_log(n, "start", "cannot create the rings and wakeups");
		goto out;
	}
	if (!dpdk) {
		n->ports[0] =
			kn_port_udp_open(cfg->listener.ip, cfg->listener.port, 0, err, sizeof(err));
		if (n->ports[0] == NULL) {
			kr_endpoint_format(&cfg->listener, a, sizeof(a));
			kn_log(n, "start", "cannot bind the dataplane to %s: %s", a, err);
			goto out;
		}
		n->n_ports = 1;
	}
	n->mgmt_fd = bind_udp(&cfg->mgmt, 1 << 20);
	if (n->mgmt_fd < 0) {
		kr_endpoint_format(&cfg->mgmt, a, sizeof(a));
		kn_log(n, "start", "cannot bind the management listener to %s: %s", a,
		       strerror(-n->mgmt_fd));
		goto out;
	}

	kr_config_election(cfg, n->id.directory_id, n->has_boot ? &n->boot : NULL, &ec);
	rcfg = restart_config(n);
	kr_restart_election(&rs, &rcfg, ec.joining, &st);
	st.stand_blocked = n->stateless;
	if (st.first_start && kr_uuid_random(st.rejoin_dir) != 0) {
		kn_log(n, "start", "no randomness for a directory id");
		goto out;
	}
	if (getrandom(&st.rng_seed, sizeof(st.rng_seed), 0) != sizeof(st.rng_seed))
		st.rng_seed = (uint64_t)kn_now_us() ^ (uint64_t)getpid() << 32;
	kn_harness_init(c);
	if (kr_election_init(&n->el, &ec, &st, kn_now_us(), &c->h.out) != 0) {
		kn_log(n, "start", "the election settings are inconsistent");
		goto out;
	}
	atomic_store(&n->log_epoch, n->el.epoch);
	atomic_store(&n->log_role, n->el.role);
	atomic_store(&n->log_leader, n->el.leader_id);
	describe_start(n, &rs.qs);
	describe_voters(n, &ec, st.first_start);
	/* once: the next start is judged by the usual rules again */
	if (n->unsafe_admit && kr_restart_admitted(&rcfg) != 0) {
		kn_log(n, "start", "cannot remove %s/%s", cfg->log_dir, KR_ADMIT_FILE);
		goto out;
	}
	if (st.vote_blocked)
		kn_log(n, "start",
		       "%s: no vote, pre-vote or candidacy until caught up with a leader of epoch "
		       ">= %u",
		       n->repair_target > 0 ? "repairing damaged log data"
					    : "memory mode restarted without its log",
		       rs.qs.epoch);
	kn_carry_out(c);

	/* DPDK: the dataplane polls on the EAL's main lcore (this thread) and the control
	 * thread runs beside it; the others get the CPUs the process had before the EAL
	 * pinned it. Kernel UDP: the control loop runs on this thread. */
	pthread_attr_init(&attr);
	if (dpdk && CPU_COUNT(&n->cpus) > 0)
		pthread_attr_setaffinity_np(&attr, sizeof(n->cpus), &n->cpus);
	if (pthread_create(&flush_thread, &attr, kn_flush_main, n) != 0) {
		pthread_attr_destroy(&attr);
		kn_log(n, "start", "cannot start the threads");
		goto out;
	}
	if (apply_on && pthread_create(&apply_thread, &attr, kn_apply_main, n) != 0) {
		pthread_attr_destroy(&attr);
		kn_log(n, "start", "cannot start the threads");
		stop_side_threads(n, &flush_thread, NULL, NULL);
		goto out;
	}
	if (apply_on && pthread_create(&writer_thread, &attr, kn_writer_main, n) != 0) {
		pthread_attr_destroy(&attr);
		kn_log(n, "start", "cannot start the threads");
		stop_side_threads(n, &flush_thread, &apply_thread, NULL);
		goto out;
	}
	xfer_on = pthread_create(&xfer_thread, &attr, kn_xfer_main, n) == 0;
	if (!xfer_on)
		kn_log(n, "start",
		       "cannot start the snapshot I/O thread: snapshots are neither "
		       "sent nor taken this run");
	if (pthread_create(&other_thread, &attr, dpdk ? kn_control_main : kn_dataplane_main,
			   dpdk ? (void *)c : (void *)n) != 0) {
		pthread_attr_destroy(&attr);
		kn_log(n, "start", "cannot start the threads");
		stop_side_threads(n, &flush_thread, apply_on ? &apply_thread : NULL,
				  apply_on ? &writer_thread : NULL);
		if (xfer_on) {
			atomic_store(&n->dp_done, true);
			kn_wake_always(n->xfer_wake);
			pthread_join(xfer_thread, NULL);
		}
		goto out;
	}
	pthread_attr_destroy(&attr);
	/* names for top -H, perf and chrt: which thread burns, which one to raise */
	pthread_setname_np(flush_thread, "kraftd-flush");
	if (apply_on) {
		pthread_setname_np(apply_thread, "kraftd-apply");
		pthread_setname_np(writer_thread, "kraftd-snapshot");
	}
	if (xfer_on)
		pthread_setname_np(xfer_thread, "kraftd-xfer");
	pthread_setname_np(other_thread, dpdk ? "kraftd-control" : "kraftd-dplane");
	if (dpdk)
		kn_dataplane_main(n);
	else
		kn_control_main(c);
	pthread_join(other_thread, NULL);
	stop_side_threads(n, &flush_thread, apply_on ? &apply_thread : NULL,
			  apply_on ? &writer_thread : NULL);
	if (xfer_on) { /* it exits once the dataplane has */
		kn_wake_always(n->xfer_wake);
		pthread_join(xfer_thread, NULL);
		xfer_on = false;
	}
	status = c->status;
	kn_dataplane_summary(n, status);
out:
	sodium_memzero(&keys, sizeof(keys));
	/* the ports first: a datagram still queued may point into log memory (zero copy),
	 * and freeing it unpins it there */
	for (unsigned i = 0; i < n->n_ports; i++)
		n->ports[i]->close(n->ports[i]);
	if (n->log != NULL)
		kr_log_close(n->log);
	kr_log_job_free(&n->flusher.job);
	free(n->cmd);
	free(n->event);
	free(n->mreq);
	free(n->mresp);
	free(n->flush);
	free(n->done);
	free(n->apply);
	kn_apply_close(n);
	kn_xfer_close(n);
	if (dpdk)
		kn_dpdk_stop(n);
	kn_dataplane_free(n);
	/* the lock last: the directory is free once nothing writes to it */
	int fds[] = {n->dp_wake,     n->ctl_wake, n->flush_wake, n->apply_wake,
		     n->writer_wake, n->mgmt_fd,  c->sigfd,	 n->lock_fd};

	for (size_t i = 0; i < KR_ARRAY_SIZE(fds); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(n);
	free(c);
	return status;
}
