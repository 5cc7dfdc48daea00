/* kraftd: the node's configuration keys, their defaults, and the checks between them.
 * See include/kraft/config.h. */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kraft/config.h"
#include "kraft/crc32c.h"
#include "kraft/props.h"
#include "kraft/sm.h"
#include "kraft/uuid.h"

enum key_kind { K_INT, K_MS, K_UUID, K_VOTERS, K_PATH, K_ENUM, K_ENDPOINT, K_LIST, K_TEXT };

/* X(id, name, kind, default text, meaning) */
#define KEY_TABLE(X)                                                                             \
	X(NODE_ID, "node.id", K_INT, NULL, "this node's id (required)")                          \
	X(CLUSTER_ID, "cluster.id", K_UUID, NULL,                                                \
	  "the cluster's id, 22 characters (required; kraftd random-uuid)")                      \
	X(VOTERS, "controller.quorum.voters", K_VOTERS, NULL,                                    \
	  "a static quorum: the voters and their dataplane addresses, id@a.b.c.d:port,... "      \
	  "(this or controller.quorum.bootstrap.servers is required)")                           \
	X(BOOTSTRAP_SERVERS, "controller.quorum.bootstrap.servers", K_LIST, NULL,                \
	  "voters from the log (kraftd format --standalone / --initial-controllers, or "         \
	  "joining): dataplane addresses a.b.c.d:port,... of nodes a directory with no voter "   \
	  "set yet asks for the voters at start")                                                \
	X(ELECTION_TIMEOUT, "controller.quorum.election.timeout.ms", K_MS, "1000",               \
	  "base election timeout T; each timeout is drawn from [T, 2T)")                         \
	X(FETCH_TIMEOUT, "controller.quorum.fetch.timeout.ms", K_MS, "2000",                     \
	  "a follower that hears no good Fetch reply this long starts an election")              \
	X(BACKOFF_MAX, "controller.quorum.election.backoff.max.ms", K_MS, "1000",                \
	  "cap of the randomized, growing backoff after a lost election")                        \
	X(REQUEST_TIMEOUT, "controller.quorum.request.timeout.ms", K_MS, NULL,                   \
	  "re-send an unanswered Vote or EndQuorumEpoch after this (default: the election "      \
	  "timeout)")                                                                            \
	X(RETRY_BACKOFF, "controller.quorum.retry.backoff.ms", K_MS, NULL,                       \
	  "pause after an error answer to a Fetch (default: fetch timeout / 20, at most 20)")    \
	X(LOG_DIR, "metadata.log.dir", K_PATH, NULL,                                             \
	  "the data directory: identity, quorum-state, log/ (required; kraftd format)")          \
	X(LOG_DIRS, "log.dirs", K_TEXT, NULL,                                                    \
	  "Kafka's: one directory, the data directory when metadata.log.dir is not given "       \
	  "(partition data directories come with later work)")                                   \
	X(PROCESS_ROLES, "process.roles", K_TEXT, NULL,                                          \
	  "Kafka's: controller (what kraftd is; broker comes with later work)")                  \
	X(LISTENERS, "listeners", K_TEXT, NULL,                                                  \
	  "Kafka's: NAME://a.b.c.d:port,...; the controller listener's address is "              \
	  "kraftd.listener")                                                                     \
	X(ADVERTISED_LISTENERS, "advertised.listeners", K_TEXT, NULL,                            \
	  "Kafka's: if given, the controller listener's entry must be the one in listeners "     \
	  "(kraftd is reached where it binds)")                                                  \
	X(CONTROLLER_LISTENER_NAMES, "controller.listener.names", K_TEXT, "CONTROLLER",          \
	  "Kafka's: the name of the controller listener in listeners (the first name)")          \
	X(SECURITY_MAP, "listener.security.protocol.map", K_TEXT, NULL,                          \
	  "Kafka's: the controller listener must be PLAINTEXT (peers are authenticated with "    \
	  "kraftd.auth.key.file; TLS and SASL are not supported)")                               \
	X(SEGMENT_BYTES, "metadata.log.segment.bytes", K_INT, "67108864",                        \
	  "roll to a new log segment past this many bytes")                                      \
	X(RETENTION_BYTES, "metadata.max.retention.bytes", K_INT, "104857600",                   \
	  "while the log and the snapshots together hold more than this, the oldest snapshot "   \
	  "goes and the log start moves to the next one's end (-1: no limit by size)")           \
	X(RETENTION_MS, "metadata.max.retention.ms", K_INT, "604800000",                         \
	  "... and while the oldest snapshot's last record is older than this (-1: no limit "    \
	  "by age); the newest snapshot always stays, and the log is never cut without one")     \
	X(SNAP_BYTES, "metadata.log.max.record.bytes.between.snapshots", K_INT, "20971520",      \
	  "take a snapshot of the state machine once this many bytes of data batches were "      \
	  "applied since the last one (0: never by bytes)")                                      \
	X(SNAP_INTERVAL, "metadata.log.max.snapshot.interval.ms", K_MS, "3600000",               \
	  "... or once this long has passed since the last one, if anything was applied (0: "    \
	  "never by time)")                                                                      \
	X(STATE_MACHINE, "kraftd.state.machine", K_ENUM, "digest",                               \
	  "what the committed log is applied to: digest (a running hash and counts), kv (a "     \
	  "map keyed by each record's first 8 bytes), none (no apply thread, no snapshots)")     \
	X(SNAP_RATE, "kraftd.snapshot.write.bytes.per.second", K_INT, "268435456",               \
	  "the snapshot writer's pace, so that it never takes the disk from the log's flushes "  \
	  "(0: unpaced)")                                                                        \
	X(XFER_WINDOW, "kraftd.snapshot.transfer.window.bytes", K_INT, "4194304",                \
	  "memory of one snapshot transfer between nodes, each way: bytes read ahead or not "    \
	  "yet written (a power of two, 64 KiB .. 1 GiB)")                                       \
	X(XFER_SENDS, "kraftd.snapshot.transfers.max", K_INT, "4",                               \
	  "snapshot transfers a leader serves at once (1 .. 8); one more fetcher waits (BUSY)")  \
	X(TRANSPORT, "kraftd.transport", K_ENUM, "auto",                                         \
	  "udp: kernel UDP sockets; dpdk: DPDK ports, the EAL options before -- on the command " \
	  "line; auto: dpdk if EAL options are given, else udp (--transport overrides)")         \
	X(DURABILITY, "kraftd.durability", K_ENUM, "disk",                                       \
	  "disk: an offset counts once fsynced (group commit); memory: no files, lost on crash") \
	X(MEMORY_MAX, "kraftd.log.memory.max.bytes", K_INT, "1073741824",                        \
	  "appends beyond this many retained log bytes are refused (LOG_FULL)")                  \
	X(IDLE, "kraftd.dataplane.idle", K_ENUM, "backoff",                                      \
	  "poll: busy poll always; backoff: spin idle.spin.us, then sleep idle.sleep.us; "       \
	  "shared: as backoff, yielding the core between empty polls (pollers sharing cores)")   \
	X(IDLE_SPIN, "kraftd.dataplane.idle.spin.us", K_INT, "200",                              \
	  "backoff mode: keep polling this long after the last work")                            \
	X(IDLE_SLEEP, "kraftd.dataplane.idle.sleep.us", K_INT, "50",                             \
	  "backoff mode: then sleep at most this long between polls")                            \
	X(FETCH_MAX_WAIT, "kraftd.fetch.max.wait.ms", K_MS, NULL,                                \
	  "a Fetch that finds nothing is parked this long (default: fetch timeout / 4, at most " \
	  "500; must stay below half the fetch timeout)")                                        \
	X(AUTH_KEY_FILE, "kraftd.auth.key.file", K_PATH, NULL,                                   \
	  "peer authentication: the cluster key (64 hex digits, mode 600); every frame is "      \
	  "sent with a MAC and every frame without a good one is dropped (default: off)")        \
	X(AUTH_ACCEPT_FILE, "kraftd.auth.key.accept.file", K_PATH, NULL,                         \
	  "during a key rotation: a second key accepted besides kraftd.auth.key.file, if the "   \
	  "file exists (both re-read on SIGHUP)")                                                \
	X(BOOTSTRAP_WAIT, "kraftd.bootstrap.wait.ms", K_MS, "5000",                              \
	  "a new cluster's first election waits this long for every initial voter (those "       \
	  "formatted with --initial-controllers) before a majority may elect: one that starts "  \
	  "after the first election joins as an observer")                                       \
	X(DEDUP_WINDOW, "kraftd.append.dedup.window.ms", K_MS, "30000",                          \
	  "a producer that appended within this long is never forgotten: its retry is "          \
	  "answered with the first offset, not appended again (up to 32768 producers; more "     \
	  "new ones within the window are refused BUSY)")                                        \
	X(FETCH_MAX_BYTES, "kraftd.fetch.max.bytes", K_INT, "1048576",                           \
	  "record bytes per Fetch reply")                                                        \
	X(FRAME_BYTES, "kraftd.frame.bytes", K_INT, "32768",                                     \
	  "record bytes per Fetch reply frame (a larger batch goes alone in one of its own, "    \
	  "in fragments); shrunk to the port's datagrams on DPDK unless given")                  \
	X(REASM_SLOTS, "kraftd.reassembly.slots", K_INT, "8",                                    \
	  "messages larger than a datagram being put together at once from their fragments, "    \
	  "1 MiB of memory each (1 .. 64); more arriving wait (the sender retries)")             \
	X(MESSAGE_MAX, "message.max.bytes", K_INT, "1048588",                                    \
	  "Kafka's: the largest record batch an append may write, its 48-byte header "           \
	  "included (1024 .. 1048588); larger than a datagram, it travels in fragments")         \
	X(LISTENER, "kraftd.listener", K_ENDPOINT, NULL,                                         \
	  "this node's dataplane address (default: its controller.quorum.voters entry; "         \
	  "required for an observer)")                                                           \
	X(MGMT_OFFSET, "kraftd.management.port.offset", K_INT, "100",                            \
	  "the management listener (kraftctl) is the dataplane address with port + this; the "   \
	  "same on every node")                                                                  \
	X(NEIGHBOURS, "kraftd.dpdk.neighbours", K_LIST, NULL,                                    \
	  "DPDK: static neighbours a.b.c.d@aa:bb:cc:dd:ee:ff,... (others are learned from "      \
	  "what arrives, or asked for by ARP)")                                                  \
	X(PEER_PORTS, "kraftd.dpdk.peer.ports", K_LIST, NULL,                                    \
	  "DPDK: which port reaches which node: id@port-index,... (default: port 0); may "       \
	  "name a node that a voter change adds later")                                          \
	X(DPDK_ARP, "kraftd.dpdk.arp", K_ENUM, "true",                                           \
	  "DPDK: answer ARP for this node's address in the dataplane (memif, ring; with AF_XDP " \
	  "kraftd's XDP program passes ARP to the kernel)")                                      \
	X(DPDK_MBUFS, "kraftd.dpdk.mbufs", K_INT, "8191",                                        \
	  "DPDK: mbufs in the node's pool (AF_XDP needs at least 4096)")                         \
	X(DPDK_ZERO_COPY, "kraftd.dpdk.zero.copy", K_ENUM, "false",                              \
	  "DPDK: chain Fetch answers' records to each datagram from log memory instead of "      \
	  "copying them, where the port takes chains it copies itself (memif); measured "        \
	  "dearer than the copy at 1472-byte datagrams, hence off")

enum key_id {
#define KEY_ENUM(id, name, kind, def, text) KEY_##id,
	KEY_TABLE(KEY_ENUM)
#undef KEY_ENUM
		KEY_COUNT
};

struct key_info {
	const char *name;
	enum key_kind kind;
	const char *def;
	const char *text;
};

static const struct key_info keys[KEY_COUNT] = {
#define KEY_INFO(id, name, kind, def, text) [KEY_##id] = {name, kind, def, text},
	KEY_TABLE(KEY_INFO)
#undef KEY_INFO
};

_Static_assert(KEY_COUNT <= 64, "config.given is a 64-bit set");

/* Where each time key (K_MS) lands, in microseconds. */
static const size_t ms_field[KEY_COUNT] = {
	[KEY_ELECTION_TIMEOUT] = offsetof(struct kr_node_config, election_timeout_us),
	[KEY_FETCH_TIMEOUT] = offsetof(struct kr_node_config, fetch_timeout_us),
	[KEY_BACKOFF_MAX] = offsetof(struct kr_node_config, election_backoff_max_us),
	[KEY_REQUEST_TIMEOUT] = offsetof(struct kr_node_config, request_timeout_us),
	[KEY_RETRY_BACKOFF] = offsetof(struct kr_node_config, retry_backoff_us),
	[KEY_FETCH_MAX_WAIT] = offsetof(struct kr_node_config, fetch_max_wait_us),
	[KEY_DEDUP_WINDOW] = offsetof(struct kr_node_config, dedup_window_us),
	[KEY_BOOTSTRAP_WAIT] = offsetof(struct kr_node_config, bootstrap_wait_us),
	[KEY_SNAP_INTERVAL] = offsetof(struct kr_node_config, snapshot_interval_us),
};

/* Where each Kafka key kept as text (K_TEXT) lands; kr_config_finish reads them. */
static char *
text_field(struct kr_node_config *c, enum key_id k)
{
	switch (k) {
	case KEY_LOG_DIRS:
		return c->kafka.log_dirs;
	case KEY_PROCESS_ROLES:
		return c->kafka.process_roles;
	case KEY_LISTENERS:
		return c->kafka.listeners;
	case KEY_ADVERTISED_LISTENERS:
		return c->kafka.advertised;
	case KEY_CONTROLLER_LISTENER_NAMES:
		return c->kafka.controller_names;
	case KEY_SECURITY_MAP:
		return c->kafka.security_map;
	default:
		return NULL;
	}
}

/* Kafka's keys that kraftd does not take: those of later work (refused, so nobody thinks
 * they act), and the JVM server's tuning (taken and ignored, with a warning at start). */
static const struct {
	const char *name;
	bool refused;
	const char *why;
} kafka_keys[] = {
	{"num.partitions", true, "topics and partitions come with later work"},
	{"default.replication.factor", true, "topics and partitions come with later work"},
	{"min.insync.replicas", true, "partitions and their ISR come with later work"},
	{"unclean.leader.election.enable", true, "partition leader elections come with later work"},
	{"auto.create.topics.enable", true, "topics come with later work"},
	{"offsets.topic.replication.factor", true, "brokers come with later work"},
	{"transaction.state.log.replication.factor", true, "brokers come with later work"},
	{"transaction.state.log.min.isr", true, "brokers come with later work"},
	{"share.coordinator.state.topic.replication.factor", true, "brokers come with later work"},
	{"share.coordinator.state.topic.min.isr", true, "brokers come with later work"},
	{"group.initial.rebalance.delay.ms", true, "brokers come with later work"},
	{"inter.broker.listener.name", true, "brokers come with later work"},
	{"log.retention.hours", true,
	 "partition data comes with later work (the metadata log: metadata.max.retention.ms)"},
	{"log.retention.bytes", true,
	 "partition data comes with later work (the metadata log: metadata.max.retention.bytes)"},
	{"log.retention.check.interval.ms", true, "partition data comes with later work"},
	{"log.segment.bytes", true,
	 "partition data comes with later work (the metadata log: metadata.log.segment.bytes)"},
	{"num.recovery.threads.per.data.dir", true, "partition data comes with later work"},
	{"node.id.generation", true, "not a kraftd key"},
	{"controller.quorum.auto.join.enable", true,
	 "voters are added by kraftctl add-voter (KIP-853's automatic join is not built)"},
	{"controller.quorum.append.linger.ms", false,
	 "kraftd does not linger: appends that arrive while a flush runs go in the next one "
	 "(group commit)"},
	{"num.network.threads", false, "kraftd's threads are fixed (dataplane, control, flush)"},
	{"num.io.threads", false, "kraftd's threads are fixed (dataplane, control, flush)"},
	{"socket.send.buffer.bytes", false, "kraftd sizes its own sockets"},
	{"socket.receive.buffer.bytes", false, "kraftd sizes its own sockets"},
	{"socket.request.max.bytes", false, "kraftd's requests are bounded by its frames"},
};

static void warn(struct kr_node_config *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
warn(struct kr_node_config *c, const char *fmt, ...)
{
	size_t used = strlen(c->warnings);
	va_list ap;

	if (used + 2 >= sizeof(c->warnings))
		return;
	if (used > 0)
		c->warnings[used++] = '\n';
	va_start(ap, fmt);
	vsnprintf(c->warnings + used, sizeof(c->warnings) - used, fmt, ap);
	va_end(ap);
}

__attribute__((format(printf, 3, 4))) static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool
given(const struct kr_node_config *c, enum key_id k)
{
	return (c->given >> k) & 1;
}

/* Milliseconds with up to three decimals, into microseconds, in (0, 1 hour]. */
static int
parse_ms(const char *s, int64_t *us)
{
	int64_t whole = 0, frac = 0;
	int digits = 0, fdigits = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++, digits++) {
		if (digits >= 9)
			return -ERANGE;
		whole = whole * 10 + (*p - '0');
	}
	if (*p == '.') {
		for (p++; *p >= '0' && *p <= '9'; p++, fdigits++) {
			if (fdigits >= 3)
				return -EINVAL;
			frac = frac * 10 + (*p - '0');
		}
		if (fdigits == 0)
			return -EINVAL;
	}
	if (*p != '\0' || digits == 0)
		return -EINVAL;
	for (int i = fdigits; i < 3; i++)
		frac *= 10;
	*us = whole * 1000 + frac;
	return 0;
}

static int
parse_voters(struct kr_node_config *c, const char *v, char *err, size_t errlen)
{
	struct kr_voter_set set;
	int rc = kr_voters_parse(v, false, keys[KEY_VOTERS].name, &set, err, errlen);

	if (rc != 0)
		return rc;
	if (set.n == 0)
		return fail(err, errlen, "%s: no voters", keys[KEY_VOTERS].name);
	c->n_voters = set.n;
	for (unsigned i = 0; i < set.n; i++) {
		c->voter_ids[i] = set.v[i].id;
		c->voter_addr[i] = set.v[i].ep;
	}
	return 0;
}

typedef int (*item_fn)(struct kr_node_config *c, const char *name, const char *item, char *err,
		       size_t errlen);

static int
one_neighbour(struct kr_node_config *c, const char *name, const char *item, char *err,
	      size_t errlen)
{
	char ip[32];
	const char *at = strchr(item, '@');
	unsigned m[6];
	int end = 0;

	if (at == NULL || (size_t)(at - item) + 3 >= sizeof(ip))
		return fail(err, errlen, "%s: '%s' is not a.b.c.d@aa:bb:cc:dd:ee:ff", name, item);
	snprintf(ip, sizeof(ip), "%.*s:1", (int)(at - item), item);
	if (c->n_neighbours == KR_REPLICAS_MAX)
		return fail(err, errlen, "%s: more than %d entries", name, KR_REPLICAS_MAX);
	if (kr_endpoint_parse(ip, &c->neighbour_ip[c->n_neighbours]) != 0 ||
	    sscanf(at + 1, "%2x:%2x:%2x:%2x:%2x:%2x%n", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5],
		   &end) != 6 ||
	    at[1 + end] != '\0')
		return fail(err, errlen, "%s: '%s' is not a.b.c.d@aa:bb:cc:dd:ee:ff", name, item);
	for (int i = 0; i < 6; i++)
		c->neighbour_mac[c->n_neighbours][i] = (uint8_t)m[i];
	c->n_neighbours++;
	return 0;
}

static int
one_server(struct kr_node_config *c, const char *name, const char *item, char *err, size_t errlen)
{
	if (c->n_bootstrap_servers == KR_VOTERS_MAX)
		return fail(err, errlen, "%s: more than %d entries", name, KR_VOTERS_MAX);
	if (kr_endpoint_parse(item, &c->bootstrap_servers[c->n_bootstrap_servers]) != 0)
		return fail(err, errlen, "%s: '%s' is not a.b.c.d:port", name, item);
	c->n_bootstrap_servers++;
	return 0;
}

static int
one_peer_port(struct kr_node_config *c, const char *name, const char *item, char *err,
	      size_t errlen)
{
	char id[16];
	const char *at = strchr(item, '@');
	int64_t node, port;

	if (at == NULL || (size_t)(at - item) >= sizeof(id))
		return fail(err, errlen, "%s: '%s' is not id@port-index", name, item);
	snprintf(id, sizeof(id), "%.*s", (int)(at - item), item);
	if (kr_parse_i64(id, 0, INT32_MAX, &node) != 0 || kr_parse_i64(at + 1, 0, 7, &port) != 0)
		return fail(err, errlen, "%s: '%s' is not id@port-index (a port index is 0..7)",
			    name, item);
	if (c->n_peer_ports == KR_VOTERS_MAX)
		return fail(err, errlen, "%s: more than %d entries", name, KR_VOTERS_MAX);
	c->peer_port_node[c->n_peer_ports] = (int32_t)node;
	c->peer_port_index[c->n_peer_ports++] = (uint8_t)port;
	return 0;
}

/* A comma-separated list (the whole value replaces an earlier one): fn for each item. */
static int
parse_list(struct kr_node_config *c, const char *v, const char *name, item_fn fn, char *err,
	   size_t errlen)
{
	char item[64];

	if (fn == one_neighbour)
		c->n_neighbours = 0;
	else if (fn == one_server)
		c->n_bootstrap_servers = 0;
	else
		c->n_peer_ports = 0;
	while (*v) {
		const char *comma = strchr(v, ',');
		size_t n = comma ? (size_t)(comma - v) : strlen(v);
		const char *at = v;
		int rc;

		v += n + (comma != NULL);
		while (n > 0 && (*at == ' ' || *at == '\t')) /* "a, b" as operators write it */
			at++, n--;
		while (n > 0 && (at[n - 1] == ' ' || at[n - 1] == '\t'))
			n--;
		if (n == 0 || n >= sizeof(item))
			return fail(err, errlen, "%s: entry '%.*s' is empty or too long", name,
				    (int)n, at);
		memcpy(item, at, n);
		item[n] = '\0';
		rc = fn(c, name, item, err, errlen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static int
set_key(struct kr_node_config *c, enum key_id k, const char *v, char *err, size_t errlen)
{
	const char *name = keys[k].name;
	int64_t x = 0;
	int rc;

	switch (keys[k].kind) {
	case K_INT:
		if (kr_parse_i64(v, INT64_MIN, INT64_MAX, &x) != 0)
			return fail(err, errlen, "%s: '%s' is not an integer", name, v);
		break;
	case K_MS:
		rc = parse_ms(v, &x);
		if (k == KEY_SNAP_INTERVAL) { /* Kafka's: 0 turns the time trigger off */
			if (rc != 0 || x < 0 || x > 7 * 24 * 3600ll * 1000 * 1000)
				return fail(
					err, errlen,
					"%s: '%s' is not a time in milliseconds from 0 (off) to "
					"one week",
					name, v);
			break;
		}
		if (rc != 0 || x <= 0 || x > 3600ll * 1000 * 1000)
			return fail(err, errlen,
				    "%s: '%s' is not a time in milliseconds above 0 and at most "
				    "one hour, with at most three decimals (0.25 = 250 us)",
				    name, v);
		break;
	default:
		break;
	}
	switch (k) {
	case KEY_NODE_ID:
		if (x < 0 || x > INT32_MAX)
			return fail(err, errlen, "%s: %s is not in 0..%d", name, v, INT32_MAX);
		c->node_id = (int32_t)x;
		break;
	case KEY_CLUSTER_ID:
		if (kr_uuid_parse(v, c->cluster_id) != 0 || kr_uuid_is_zero(c->cluster_id))
			return fail(
				err, errlen,
				"%s: '%s' is not a 22-character id (kraftd random-uuid makes one)",
				name, v);
		c->has_cluster_id = true;
		break;
	case KEY_VOTERS:
		rc = parse_voters(c, v, err, errlen);
		if (rc != 0)
			return rc;
		break;
	case KEY_ELECTION_TIMEOUT:
	case KEY_FETCH_TIMEOUT:
	case KEY_BACKOFF_MAX:
	case KEY_REQUEST_TIMEOUT:
	case KEY_RETRY_BACKOFF:
	case KEY_FETCH_MAX_WAIT:
	case KEY_DEDUP_WINDOW:
	case KEY_BOOTSTRAP_WAIT:
	case KEY_SNAP_INTERVAL:
		*(int64_t *)((char *)c + ms_field[k]) = x;
		break;
	case KEY_LOG_DIR:
		if (v[0] == '\0' || strlen(v) >= sizeof(c->log_dir))
			return fail(err, errlen, "%s: empty or longer than %zu bytes", name,
				    sizeof(c->log_dir) - 1);
		snprintf(c->log_dir, sizeof(c->log_dir), "%s", v);
		break;
	case KEY_AUTH_KEY_FILE:
	case KEY_AUTH_ACCEPT_FILE: {
		char *dst = k == KEY_AUTH_KEY_FILE ? c->auth_key_file : c->auth_accept_file;

		if (v[0] == '\0' || strlen(v) >= KR_CONFIG_PATH_MAX)
			return fail(err, errlen, "%s: empty or longer than %d bytes", name,
				    KR_CONFIG_PATH_MAX - 1);
		snprintf(dst, KR_CONFIG_PATH_MAX, "%s", v);
		break;
	}
	case KEY_SEGMENT_BYTES:
		if (x < KR_LOG_SEGMENT_BYTES_MIN || x > (1ll << 30))
			return fail(err, errlen, "%s: %s is not in %u..%u", name, v,
				    KR_LOG_SEGMENT_BYTES_MIN, 1u << 30);
		c->segment_bytes = (uint32_t)x;
		break;
	case KEY_RETENTION_BYTES:
	case KEY_RETENTION_MS:
		if (x < -1 || x == 0)
			return fail(err, errlen, "%s: %s must be positive or -1 (keep all)", name,
				    v);
		*(k == KEY_RETENTION_BYTES ? &c->retention_bytes : &c->retention_ms) = x;
		break;
	case KEY_SNAP_BYTES:
	case KEY_SNAP_RATE:
		if (x < 0)
			return fail(err, errlen, "%s: %s is negative", name, v);
		*(k == KEY_SNAP_BYTES ? &c->snapshot_bytes : &c->snapshot_rate) = (uint64_t)x;
		break;
	case KEY_XFER_WINDOW:
		if (x < 65536 || x > (1ll << 30) || (x & (x - 1)) != 0)
			return fail(err, errlen,
				    "%s: %s is not a power of two from 65536 to 1073741824", name,
				    v);
		c->xfer_window = (uint32_t)x;
		break;
	case KEY_XFER_SENDS:
		if (x < 1 || x > KR_XFER_OUT_MAX)
			return fail(err, errlen, "%s: %s is not from 1 to %d", name, v,
				    KR_XFER_OUT_MAX);
		c->xfer_sends = (uint32_t)x;
		break;
	case KEY_STATE_MACHINE:
		if (strcmp(v, "none") != 0 && kr_sm_find(v) == NULL)
			return fail(err, errlen, "%s: '%s' is not digest, kv or none", name, v);
		snprintf(c->state_machine, sizeof(c->state_machine), "%s", v);
		break;
	case KEY_TRANSPORT:
		if (strcmp(v, "auto") == 0)
			c->transport = KR_TRANSPORT_AUTO;
		else if (strcmp(v, "udp") == 0)
			c->transport = KR_TRANSPORT_UDP;
		else if (strcmp(v, "dpdk") == 0)
			c->transport = KR_TRANSPORT_DPDK;
		else
			return fail(err, errlen, "%s: '%s' is not auto, udp or dpdk", name, v);
		break;
	case KEY_DURABILITY:
		if (strcmp(v, "disk") == 0)
			c->durability = KR_LOG_DISK;
		else if (strcmp(v, "memory") == 0)
			c->durability = KR_LOG_MEMORY;
		else
			return fail(err, errlen, "%s: '%s' is not disk or memory", name, v);
		break;
	case KEY_REASM_SLOTS:
		if (x < 1 || x > 64)
			return fail(err, errlen, "%s: %s is not in 1..64", name, v);
		c->reasm_slots = (uint32_t)x;
		break;
	case KEY_MESSAGE_MAX:
		if (x < 1024 || x > KR_BATCH_BYTES_MAX)
			return fail(err, errlen, "%s: %s is not in 1024..%u", name, v,
				    KR_BATCH_BYTES_MAX);
		c->batch_bytes_max = (uint32_t)x;
		break;
	case KEY_MEMORY_MAX:
		if (x < KR_FETCH_BYTES_MIN) /* a batch beyond it is refused LOG_FULL */
			return fail(err, errlen, "%s: %s is below %u bytes", name, v,
				    KR_FETCH_BYTES_MIN);
		c->memory_max_bytes = (uint64_t)x;
		break;
	case KEY_IDLE:
		if (strcmp(v, "poll") == 0)
			c->idle = KR_IDLE_POLL;
		else if (strcmp(v, "backoff") == 0)
			c->idle = KR_IDLE_BACKOFF;
		else if (strcmp(v, "shared") == 0)
			c->idle = KR_IDLE_SHARED;
		else
			return fail(err, errlen, "%s: '%s' is not poll, backoff or shared", name,
				    v);
		break;
	case KEY_IDLE_SPIN:
	case KEY_IDLE_SLEEP:
		if (x < 0 || x > 1000000)
			return fail(err, errlen, "%s: %s is not in 0..1000000 microseconds", name,
				    v);
		*(k == KEY_IDLE_SPIN ? &c->idle_spin_us : &c->idle_sleep_us) = x;
		break;
	case KEY_FETCH_MAX_BYTES:
		if (x < KR_FETCH_BYTES_MIN || x > (64ll << 20))
			return fail(err, errlen, "%s: %s is not in %u..%u", name, v,
				    KR_FETCH_BYTES_MIN, 64u << 20);
		c->fetch_max_bytes = (uint32_t)x;
		break;
	case KEY_FRAME_BYTES:
		if (x < 256 || x > 60000)
			return fail(err, errlen,
				    "%s: %s is not in 256..60000 (a frame fits a UDP datagram)",
				    name, v);
		c->frame_bytes = (uint32_t)x;
		break;
	case KEY_NEIGHBOURS:
		rc = parse_list(c, v, name, one_neighbour, err, errlen);
		if (rc != 0)
			return rc;
		break;
	case KEY_BOOTSTRAP_SERVERS:
		rc = parse_list(c, v, name, one_server, err, errlen);
		if (rc != 0)
			return rc;
		if (c->n_bootstrap_servers == 0)
			return fail(err, errlen, "%s: no servers", name);
		break;
	case KEY_PEER_PORTS:
		rc = parse_list(c, v, name, one_peer_port, err, errlen);
		if (rc != 0)
			return rc;
		break;
	case KEY_DPDK_ARP:
	case KEY_DPDK_ZERO_COPY:
		if (strcmp(v, "true") != 0 && strcmp(v, "false") != 0)
			return fail(err, errlen, "%s: '%s' is not true or false", name, v);
		*(k == KEY_DPDK_ARP ? &c->dpdk_arp : &c->dpdk_zero_copy) = strcmp(v, "true") == 0;
		break;
	case KEY_DPDK_MBUFS:
		if (x < 1023 || x > (1 << 22))
			return fail(err, errlen, "%s: %s is not in 1023..%d", name, v, 1 << 22);
		c->dpdk_mbufs = (uint32_t)x;
		break;
	case KEY_LOG_DIRS:
	case KEY_PROCESS_ROLES:
	case KEY_LISTENERS:
	case KEY_ADVERTISED_LISTENERS:
	case KEY_CONTROLLER_LISTENER_NAMES:
	case KEY_SECURITY_MAP:
		if (strlen(v) >= KR_CONFIG_PATH_MAX)
			return fail(err, errlen, "%s: longer than %d bytes", name,
				    KR_CONFIG_PATH_MAX - 1);
		snprintf(text_field(c, k), KR_CONFIG_PATH_MAX, "%s", v);
		break;
	case KEY_LISTENER:
		if (kr_endpoint_parse(v, &c->listener) != 0)
			return fail(err, errlen, "%s: '%s' is not a.b.c.d:port", name, v);
		break;
	case KEY_MGMT_OFFSET:
		if (x < 1 || x > 65535)
			return fail(err, errlen, "%s: %s is not in 1..65535", name, v);
		c->mgmt_port_offset = (uint16_t)x;
		break;
	case KEY_COUNT:
		break;
	}
	c->given |= 1ull << k;
	return 0;
}

void
kr_config_defaults(struct kr_node_config *c)
{
	char err[64];

	memset(c, 0, sizeof(*c));
	c->node_id = KR_NODE_NONE;
	for (unsigned k = 0; k < KEY_COUNT; k++)
		if (keys[k].def != NULL)
			(void)set_key(c, (enum key_id)k, keys[k].def, err, sizeof(err));
	c->given = 0;
}

int
kr_config_set(struct kr_node_config *c, const char *key, const char *value, char *err,
	      size_t errlen)
{
	for (unsigned k = 0; k < KEY_COUNT; k++)
		if (strcmp(keys[k].name, key) == 0)
			return set_key(c, (enum key_id)k, value, err, errlen);
	for (size_t i = 0; i < KR_ARRAY_SIZE(kafka_keys); i++) {
		if (strcmp(kafka_keys[i].name, key) != 0)
			continue;
		if (kafka_keys[i].refused)
			return fail(err, errlen, "%s: Kafka's key, not taken yet: %s", key,
				    kafka_keys[i].why);
		warn(c, "%s: Kafka's key, ignored: %s", key, kafka_keys[i].why);
		return 0;
	}
	fail(err, errlen, "%s: unknown key (kraftd --help-config lists them)", key);
	return -ENOENT;
}

static int
props_cb(void *arg, const char *key, const char *value, unsigned line, char *err, size_t errlen)
{
	(void)line;
	return kr_config_set(arg, key, value, err, errlen);
}

int
kr_config_parse(struct kr_node_config *c, const char *text, size_t len, char *err, size_t errlen)
{
	return kr_props_read(text, len, props_cb, c, err, errlen);
}

/* The next comma-separated item of *p, blanks trimmed, into out; false at the end. */
static bool
next_item(const char **p, char *out, size_t cap)
{
	const char *a = *p, *b;
	size_t n;

	if (*a == '\0')
		return false;
	b = a + strcspn(a, ",");
	*p = *b ? b + 1 : b;
	while (a < b && (*a == ' ' || *a == '\t'))
		a++;
	while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
		b--;
	n = (size_t)(b - a) < cap - 1 ? (size_t)(b - a) : cap - 1;
	memcpy(out, a, n);
	out[n] = '\0';
	return true;
}

/* In Kafka's listener list `list` (NAME://host:port,...), the address of listener name
 * into *ep. @return 1 found, 0 absent, or -EINVAL (err says why). */
static int
find_listener(const char *key, const char *list, const char *name, bool others_refused,
	      struct kr_endpoint *ep, char *err, size_t errlen)
{
	char item[128];
	int found = 0;

	while (next_item(&list, item, sizeof(item))) {
		char *sep = strstr(item, "://");

		if (sep == NULL || sep == item)
			return fail(err, errlen, "%s: '%s' is not NAME://a.b.c.d:port", key, item);
		*sep = '\0';
		if (strcmp(item, name) != 0) {
			if (others_refused)
				return fail(err, errlen,
					    "%s: %s: only the controller listener (%s, from "
					    "controller.listener.names) is taken: brokers come "
					    "with later work",
					    key, item, name);
			continue;
		}
		if (sep[3] == ':')
			return fail(err, errlen,
				    "%s: %s://%s binds every address: kraftd needs the one address "
				    "its peers reach it at (a.b.c.d:port)",
				    key, item, sep + 3);
		if (kr_endpoint_parse(sep + 3, ep) != 0)
			return fail(err, errlen,
				    "%s: %s://%s: the host must be an IPv4 address a.b.c.d (no "
				    "hostnames), with a port",
				    key, item, sep + 3);
		found = 1;
	}
	return found;
}

/* Kafka's keys, into what kraftd runs with (before the checks of the whole). */
static int
finish_kafka_keys(struct kr_node_config *c, char *err, size_t errlen)
{
	char item[KR_CONFIG_PATH_MAX], name[64] = "";
	const char *p;
	struct kr_endpoint ep, adv;
	int n = 0, rc;

	for (p = c->kafka.process_roles; next_item(&p, item, sizeof(item));)
		if (strcmp(item, "broker") == 0)
			return fail(
				err, errlen,
				"process.roles: broker: brokers come with later work (kraftd is "
				"a controller: process.roles=controller)");
		else if (strcmp(item, "controller") != 0)
			return fail(err, errlen, "process.roles: '%s' is not controller", item);
	for (p = c->kafka.log_dirs; next_item(&p, item, sizeof(item));)
		if (++n > 1)
			return fail(err, errlen,
				    "log.dirs: more than one directory: kraftd keeps one data "
				    "directory (partition data directories come with later work)");
	if (n == 1 && !given(c, KEY_LOG_DIR)) {
		p = c->kafka.log_dirs;
		next_item(&p, c->log_dir, sizeof(c->log_dir));
	} else if (n == 1 && (p = c->kafka.log_dirs, next_item(&p, item, sizeof(item))) &&
		   strcmp(item, c->log_dir) != 0) {
		return fail(err, errlen,
			    "log.dirs: %s is not metadata.log.dir (%s): partition data "
			    "directories come with later work; give one directory",
			    item, c->log_dir);
	}
	p = c->kafka.controller_names;
	if (!next_item(&p, name, sizeof(name)) || name[0] == '\0')
		return fail(err, errlen, "controller.listener.names: empty");
	if (given(c, KEY_LISTENERS)) {
		rc = find_listener("listeners", c->kafka.listeners, name, true, &ep, err, errlen);
		if (rc < 0)
			return rc;
		if (rc == 0)
			return fail(err, errlen,
				    "listeners: no %s:// entry (the controller listener, "
				    "controller.listener.names)",
				    name);
		if (given(c, KEY_LISTENER) &&
		    (ep.ip != c->listener.ip || ep.port != c->listener.port))
			return fail(err, errlen, "listeners: %s:// differs from kraftd.listener",
				    name);
		c->listener = ep;
		c->given |= 1ull << KEY_LISTENER;
	}
	if (given(c, KEY_ADVERTISED_LISTENERS)) {
		rc = find_listener("advertised.listeners", c->kafka.advertised, name, false, &adv,
				   err, errlen);
		if (rc < 0)
			return rc;
		if (rc == 1 && given(c, KEY_LISTENER) &&
		    (adv.ip != c->listener.ip || adv.port != c->listener.port))
			return fail(
				err, errlen,
				"advertised.listeners: %s:// differs from the address it binds: "
				"kraftd is reached where it binds (no NAT between peers)",
				name);
		if (rc == 1 && !given(c, KEY_LISTENER)) {
			c->listener = adv;
			c->given |= 1ull << KEY_LISTENER;
		}
	}
	for (p = c->kafka.security_map; next_item(&p, item, sizeof(item));) {
		char *colon = strchr(item, ':');

		if (colon == NULL)
			return fail(err, errlen,
				    "listener.security.protocol.map: '%s' is not NAME:PROTOCOL",
				    item);
		*colon = '\0';
		if (strcmp(item, name) == 0 && strcmp(colon + 1, "PLAINTEXT") != 0)
			return fail(err, errlen,
				    "listener.security.protocol.map: %s is %s: TLS and SASL are "
				    "not supported (peers authenticate with kraftd.auth.key.file)",
				    name, colon + 1);
	}
	return 0;
}

int
kr_config_finish(struct kr_node_config *c, char *err, size_t errlen)
{
	int self = -1;
	int64_t half;

	int rc = finish_kafka_keys(c, err, errlen);

	if (rc != 0)
		return rc;
	if (!given(c, KEY_NODE_ID))
		return fail(err, errlen, "node.id: required");
	if (c->n_voters == 0 && c->n_bootstrap_servers == 0)
		return fail(err, errlen,
			    "controller.quorum.voters or controller.quorum.bootstrap.servers: "
			    "required (a static quorum lists its voters, id@a.b.c.d:port,...; "
			    "one whose voters live in the log names nodes to ask, "
			    "a.b.c.d:port,...)");
	if (c->n_voters > 0 && c->n_bootstrap_servers > 0)
		return fail(err, errlen,
			    "controller.quorum.bootstrap.servers: given with "
			    "controller.quorum.voters; give one (the voters list is a static "
			    "quorum's, the bootstrap servers are asked for the voters the log "
			    "holds)");
	if (c->log_dir[0] == '\0')
		return fail(err, errlen, "metadata.log.dir (or Kafka's log.dirs): required");
	for (int i = 0; i < c->n_voters; i++)
		if (c->voter_ids[i] == c->node_id)
			self = i;
	if (self >= 0) {
		if (given(c, KEY_LISTENER) && (c->listener.ip != c->voter_addr[self].ip ||
					       c->listener.port != c->voter_addr[self].port))
			return fail(err, errlen,
				    "kraftd.listener: differs from node %d's entry in "
				    "controller.quorum.voters",
				    c->node_id);
		c->listener = c->voter_addr[self];
	} else if (!given(c, KEY_LISTENER) && c->n_bootstrap_servers > 0) {
		return fail(err, errlen,
			    "kraftd.listener: required with controller.quorum.bootstrap.servers "
			    "(node %d's own dataplane address)",
			    c->node_id);
	} else if (!given(c, KEY_LISTENER)) {
		return fail(err, errlen,
			    "kraftd.listener: required: node %d is not a voter (an observer) and "
			    "needs its own address",
			    c->node_id);
	}
	for (int i = 0; i < c->n_voters; i++)
		if (c->voter_addr[i].port + (unsigned)c->mgmt_port_offset > 65535)
			return fail(
				err, errlen,
				"kraftd.management.port.offset: voter %d's port %u + %u is above "
				"65535",
				c->voter_ids[i], c->voter_addr[i].port, c->mgmt_port_offset);
	for (int i = 0; i < c->n_bootstrap_servers; i++)
		if (c->bootstrap_servers[i].port + (unsigned)c->mgmt_port_offset > 65535)
			return fail(err, errlen,
				    "kraftd.management.port.offset: bootstrap server port %u + %u "
				    "is above 65535",
				    c->bootstrap_servers[i].port, c->mgmt_port_offset);
	if (c->listener.port + (unsigned)c->mgmt_port_offset > 65535)
		return fail(err, errlen,
			    "kraftd.management.port.offset: listener port + %u > 65535",
			    c->mgmt_port_offset);
	c->mgmt.ip = c->listener.ip;
	c->mgmt.port = (uint16_t)(c->listener.port + c->mgmt_port_offset);

	/* derived defaults */
	if (!given(c, KEY_REQUEST_TIMEOUT))
		c->request_timeout_us = c->election_timeout_us;
	if (!given(c, KEY_RETRY_BACKOFF))
		c->retry_backoff_us =
			c->fetch_timeout_us / 20 < 20000 ? c->fetch_timeout_us / 20 : 20000;
	if (c->retry_backoff_us < 1)
		c->retry_backoff_us = 1;
	half = c->fetch_timeout_us / 2;
	if (!given(c, KEY_FETCH_MAX_WAIT))
		c->fetch_max_wait_us =
			c->fetch_timeout_us / 4 < 500000 ? c->fetch_timeout_us / 4 : 500000;
	if (c->fetch_max_wait_us < 1)
		c->fetch_max_wait_us = 1;

	/* relationships */
	if (c->election_timeout_us > c->fetch_timeout_us)
		warn(c,
		     "controller.quorum.election.timeout.ms (%.3f ms) is above "
		     "controller.quorum.fetch.timeout.ms (%.3f ms): a split vote then takes longer "
		     "to resolve than a dead leader to notice (Kafka's defaults: 1000 and 2000)",
		     (double)c->election_timeout_us / 1000, (double)c->fetch_timeout_us / 1000);
	if (given(c, KEY_AUTH_ACCEPT_FILE) && !given(c, KEY_AUTH_KEY_FILE))
		return fail(
			err, errlen,
			"kraftd.auth.key.accept.file: given without kraftd.auth.key.file (the key "
			"this node sends with)");
	if (c->fetch_max_wait_us * 2 >= c->fetch_timeout_us)
		return fail(
			err, errlen,
			"kraftd.fetch.max.wait.ms: %.3f ms is not below half of "
			"controller.quorum.fetch.timeout.ms (%.3f ms): a parked Fetch would let "
			"the follower time out",
			(double)c->fetch_max_wait_us / 1000, (double)half / 1000);
	if (c->fetch_max_wait_us > UINT32_MAX)
		return fail(err, errlen, "kraftd.fetch.max.wait.ms: above %u us", UINT32_MAX);
	if (c->retry_backoff_us * 2 >= c->fetch_timeout_us)
		return fail(err, errlen,
			    "controller.quorum.retry.backoff.ms: not below half of "
			    "controller.quorum.fetch.timeout.ms");
	if (c->frame_bytes > c->fetch_max_bytes)
		return fail(err, errlen, "kraftd.frame.bytes: above kraftd.fetch.max.bytes (%u)",
			    c->fetch_max_bytes);
	if (c->fetch_max_bytes / c->frame_bytes > KR_REPLY_FRAMES_MAX)
		return fail(err, errlen,
			    "kraftd.fetch.max.bytes: more than %d frames of kraftd.frame.bytes",
			    KR_REPLY_FRAMES_MAX);
	return 0;
}

int
kr_config_fit_payload(struct kr_node_config *c, uint32_t payload_max, char *err, size_t errlen)
{
	uint32_t overhead = KR_WIRE_HDR_BYTES + KR_FETCH_RESP_FIXED_BYTES + KR_WIRE_AUTH_BYTES;
	uint32_t limit;

	if (payload_max < overhead + 256)
		return fail(err, errlen,
			    "the port carries datagrams of %u bytes: too small for a frame "
			    "(%u bytes of headers plus at least 256 of records)",
			    payload_max, overhead);
	limit = (payload_max - overhead) & ~7u;
	if (c->frame_bytes > limit) {
		if (given(c, KEY_FRAME_BYTES))
			return fail(err, errlen,
				    "kraftd.frame.bytes: %u does not fit the port's datagrams of "
				    "%u bytes (at most %u)",
				    c->frame_bytes, payload_max, limit);
		c->frame_bytes = limit;
	}
	if (!given(c, KEY_FETCH_MAX_BYTES) &&
	    c->fetch_max_bytes > c->frame_bytes * (KR_REPLY_FRAMES_MAX / 2))
		c->fetch_max_bytes = c->frame_bytes * (KR_REPLY_FRAMES_MAX / 2);
	if (c->fetch_max_bytes < c->frame_bytes)
		c->fetch_max_bytes = c->frame_bytes;
	if (c->fetch_max_bytes / c->frame_bytes > KR_REPLY_FRAMES_MAX)
		return fail(err, errlen,
			    "kraftd.fetch.max.bytes: more than %d frames of %u bytes (the port's "
			    "datagrams)",
			    KR_REPLY_FRAMES_MAX, c->frame_bytes);
	return 0;
}

void
kr_config_print_keys(void *file)
{
	FILE *f = file;

	fprintf(f, "Configuration keys (properties file, or --key=value on the command line).\n"
		   "Times are milliseconds with up to three decimals (0.25 = 250 us).\n\n");
	for (unsigned k = 0; k < KEY_COUNT; k++) {
		fprintf(f, "  %s", keys[k].name);
		if (keys[k].def != NULL)
			fprintf(f, " (default %s)", keys[k].def);
		fprintf(f, "\n      %s\n", keys[k].text);
	}
	fprintf(f,
		"\nOther Kafka keys: refused (later work) or taken and ignored (a warning):\n\n");
	for (size_t i = 0; i < KR_ARRAY_SIZE(kafka_keys); i++)
		fprintf(f, "  %s\n      %s: %s\n", kafka_keys[i].name,
			kafka_keys[i].refused ? "refused" : "ignored", kafka_keys[i].why);
}

uint64_t
kr_config_voter_set_hash(const struct kr_node_config *c)
{
	/* order-independent: the sum of a mixed hash per (id, address) */
	uint64_t h = 0x6b726166746400ull;

	for (int i = 0; i < c->n_voters; i++) {
		uint8_t b[10];
		uint64_t x;

		memcpy(b, &c->voter_ids[i], 4);
		memcpy(b + 4, &c->voter_addr[i].ip, 4);
		memcpy(b + 8, &c->voter_addr[i].port, 2);
		x = kr_crc32c(0, b, sizeof(b));
		x = (x << 32) | kr_crc32c(0x9e3779b9u, b, sizeof(b));
		x ^= x >> 29;
		x *= 0xbf58476d1ce4e5b9ull;
		x ^= x >> 32;
		h += x;
	}
	return h ? h : 1; /* 0 is what a client sends */
}

int
kr_config_check_bootstrap(const struct kr_node_config *c, const struct kr_voter_set *boot,
			  char *err, size_t errlen)
{
	bool same = boot->n == c->n_voters;
	char ids[KR_VOTERS_MAX * 12];

	if (boot->n == 0)
		return 0;
	for (int i = 0; same && i < c->n_voters; i++)
		same = kr_voters_find(boot, c->voter_ids[i]) >= 0;
	if (same)
		return 0;
	kr_voters_ids(boot, ids, sizeof(ids));
	return fail(err, errlen,
		    "controller.quorum.voters names other voters than the directory's bootstrap "
		    "voters (%s, from kraftd format --initial-controllers): the voter set "
		    "cannot change in the configuration",
		    ids);
}

/* Each voter's directory id (zero without boot), and whether this directory joined. */
static bool
voter_keys(const struct kr_node_config *c, const uint8_t dir[KR_UUID_BYTES],
	   const struct kr_voter_set *boot, uint8_t dirs[KR_VOTERS_MAX][KR_UUID_BYTES])
{
	bool joining = boot != NULL;

	memset(dirs, 0, KR_VOTERS_MAX * KR_UUID_BYTES);
	if (boot == NULL)
		return false;
	for (int i = 0; i < c->n_voters; i++) {
		int k = kr_voters_find(boot, c->voter_ids[i]);

		if (k < 0)
			continue;
		memcpy(dirs[i], boot->v[k].dir, KR_UUID_BYTES);
		if (c->voter_ids[i] == c->node_id && memcmp(dirs[i], dir, KR_UUID_BYTES) == 0)
			joining = false;
	}
	return joining;
}

void
kr_config_election(const struct kr_node_config *c, const uint8_t dir[KR_UUID_BYTES],
		   const struct kr_voter_set *boot, struct kr_election_config *ec)
{
	memset(ec, 0, sizeof(*ec));
	ec->node_id = c->node_id;
	memcpy(ec->directory_id, dir, KR_UUID_BYTES);
	ec->n_voters = c->n_voters;
	memcpy(ec->voters, c->voter_ids, sizeof(ec->voters));
	/* the configured voters are the nodes this one knows beyond its log's set */
	ec->n_known = c->n_voters;
	memcpy(ec->known, c->voter_ids, sizeof(ec->voters));
	ec->joining = voter_keys(c, dir, boot, ec->voter_dirs);
	ec->election_timeout_us = c->election_timeout_us;
	ec->bootstrap_wait_us = c->bootstrap_wait_us;
	ec->fetch_timeout_us = c->fetch_timeout_us;
	ec->election_backoff_max_us = c->election_backoff_max_us;
	ec->request_timeout_us = c->request_timeout_us;
	ec->shutdown_timeout_us = c->fetch_timeout_us;
}

void
kr_config_repl(const struct kr_node_config *c, const uint8_t dir[KR_UUID_BYTES],
	       const struct kr_voter_set *boot, uint64_t incarnation, uint64_t repair_target,
	       struct kr_repl_config *rc)
{
	memset(rc, 0, sizeof(*rc));
	rc->node_id = c->node_id;
	memcpy(rc->directory_id, dir, KR_UUID_BYTES);
	rc->joining = voter_keys(c, dir, boot, rc->voter_dirs);
	memcpy(rc->wire.cluster_id, c->cluster_id, KR_UUID_BYTES);
	rc->wire.voter_set_hash = kr_config_voter_set_hash(c);
	rc->n_voters = c->n_voters;
	memcpy(rc->voters, c->voter_ids, sizeof(rc->voters));
	rc->memory_mode = c->durability == KR_LOG_MEMORY;
	rc->fetch_max_wait_us = (uint32_t)c->fetch_max_wait_us;
	rc->fetch_max_bytes = c->fetch_max_bytes;
	rc->frame_records_max = c->frame_bytes;
	rc->batch_bytes_max = c->batch_bytes_max;
	rc->reply_frames_max =
		(uint16_t)((c->fetch_max_bytes + c->frame_bytes - 1) / c->frame_bytes);
	if (rc->reply_frames_max > KR_REPLY_FRAMES_MAX)
		rc->reply_frames_max = KR_REPLY_FRAMES_MAX;
	/* a Fetch unanswered for its parked wait plus a margin is re-sent, well before the
	 * fetch timeout (the wait is below half of it) */
	rc->fetch_retry_us = c->fetch_max_wait_us + c->fetch_timeout_us / 8;
	rc->fetch_backoff_us = c->retry_backoff_us;
	rc->liveness_interval_us = c->fetch_timeout_us / 10 > 0 ? c->fetch_timeout_us / 10 : 1;
	rc->repair_target = repair_target;
	rc->incarnation = incarnation;
	rc->dedup_window_us = c->dedup_window_us;
	rc->dynamic = boot != NULL; /* a directory formatted with its bootstrap set */
	if (boot != NULL) {
		rc->boot = *boot;
		/* frames name the bootstrap set (0: not known, a joining directory) */
		rc->wire.dynamic = 1;
		rc->wire.voter_set_hash = boot->n > 0 ? kr_voters_hash(boot) : 0;
	}
}
