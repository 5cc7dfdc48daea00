/* kraftd: the node's configuration. A properties file (key=value lines) with Kafka's
 * names where Kafka has one, kraftd.* keys for the rest, and --key=value overrides on
 * the command line. Every key is in one table (control/config/config.c) with its default and
 * meaning; `kraftd --help-config` prints it. Unknown keys, bad values and timeouts that
 * contradict each other are refused with the key and the reason.
 *
 * Times are milliseconds with up to three decimals (0.25 = 250 microseconds) and are
 * kept in microseconds. Addresses are IPv4 (hostnames are not resolved).
 */
#ifndef KRAFT_CONFIG_H
#define KRAFT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kraft/common.h"
#include "kraft/election.h"
#include "kraft/log.h"
#include "kraft/repl.h"
#include "kraft/voters.h"

#define KR_CONFIG_PATH_MAX 512
/* kraftd.fetch.max.bytes at least this (a larger first batch is sent whole anyway) */
#define KR_FETCH_BYTES_MIN (32u * 1024u)

enum kr_idle_mode {
	KR_IDLE_POLL = 0,    /* busy poll: lowest latency, one core always busy */
	KR_IDLE_BACKOFF = 1, /* spin for idle_spin_us, then sleep briefly (idle_sleep_us) */
	KR_IDLE_SHARED = 2,  /* as backoff, but yield the core between empty polls while
			      * spinning: for pollers that share cores */
};

enum kr_transport_kind { KR_TRANSPORT_AUTO = 0, KR_TRANSPORT_UDP, KR_TRANSPORT_DPDK };

struct kr_node_config {
	/* identity and quorum */
	int32_t node_id;
	uint8_t cluster_id[KR_UUID_BYTES];
	bool has_cluster_id;
	uint8_t n_voters;
	int32_t voter_ids[KR_VOTERS_MAX];
	struct kr_endpoint voter_addr[KR_VOTERS_MAX];
	/* controller.quorum.bootstrap.servers: with it, voters and their addresses come from
	 * the directory (its log's last voters record, else its bootstrap voters) or, for a
	 * directory that has neither, from these nodes at start (kn_run fills voter_ids and
	 * voter_addr before the cores start) */
	uint8_t n_bootstrap_servers;
	struct kr_endpoint bootstrap_servers[KR_VOTERS_MAX];
	struct kr_endpoint listener; /* this node's dataplane address */
	struct kr_endpoint mgmt;     /* this node's management listener */
	uint16_t mgmt_port_offset;   /* management port = dataplane port + this */
	char log_dir[KR_CONFIG_PATH_MAX];
	char auth_key_file[KR_CONFIG_PATH_MAX];	   /* empty: authentication off */
	char auth_accept_file[KR_CONFIG_PATH_MAX]; /* a second key accepted (rotation) */

	/* timers (microseconds) */
	int64_t election_timeout_us;
	int64_t fetch_timeout_us;
	int64_t election_backoff_max_us;
	int64_t request_timeout_us;
	int64_t fetch_max_wait_us;
	int64_t retry_backoff_us;
	int64_t dedup_window_us;   /* producers remembered at least this long */
	int64_t bootstrap_wait_us; /* a new cluster's first election waits for every voter */

	/* storage */
	enum kr_log_durability durability;
	uint32_t segment_bytes;
	int64_t retention_bytes; /* -1: no limit */
	int64_t retention_ms;	 /* -1: no limit */
	uint64_t memory_max_bytes;
	/* the state machine and its snapshots (kraftd.state.machine: "none", or a name
	 * kr_sm_find knows) */
	char state_machine[16];
	uint64_t snapshot_bytes;      /* data bytes applied between snapshots (0: not by bytes) */
	int64_t snapshot_interval_us; /* 0: not by time */
	uint64_t snapshot_rate;	      /* the writer's bytes per second (0: unpaced) */
	uint32_t xfer_window;	      /* bytes of one transfer's window (a power of two) */
	uint32_t xfer_sends;	      /* transfers a leader serves at once */

	/* dataplane */
	enum kr_transport_kind transport; /* kraftd.transport (the command line may override) */
	enum kr_idle_mode idle;
	int64_t idle_spin_us;
	int64_t idle_sleep_us;
	uint32_t fetch_max_bytes;
	uint32_t frame_bytes;	  /* record bytes per Fetch reply frame */
	uint32_t batch_bytes_max; /* message.max.bytes: the largest batch an append writes */
	uint32_t reasm_slots;	  /* messages put together from fragments at once */

	/* DPDK ports */
	uint8_t n_neighbours;
	struct kr_endpoint neighbour_ip[KR_REPLICAS_MAX]; /* port unused */
	uint8_t neighbour_mac[KR_REPLICAS_MAX][6];
	uint8_t n_peer_ports;
	int32_t peer_port_node[KR_VOTERS_MAX];
	uint8_t peer_port_index[KR_VOTERS_MAX];
	bool dpdk_arp;
	bool dpdk_zero_copy; /* Fetch answers' records sent from log memory where a port can */
	uint32_t dpdk_mbufs;

	/* Kafka's keys as given (kr_config_finish takes what applies from them) */
	struct {
		char log_dirs[KR_CONFIG_PATH_MAX];
		char process_roles[KR_CONFIG_PATH_MAX];
		char listeners[KR_CONFIG_PATH_MAX];
		char advertised[KR_CONFIG_PATH_MAX];
		char controller_names[KR_CONFIG_PATH_MAX];
		char security_map[KR_CONFIG_PATH_MAX];
	} kafka;
	/* what a node should say at start about its configuration: Kafka keys it ignores,
	 * settings that work but make little sense (one per line) */
	char warnings[1024];

	/* which keys were given (so defaults derived from others stay derived) */
	uint64_t given;
};

/** Defaults (Kafka's where Kafka has one). */
void kr_config_defaults(struct kr_node_config *c);

/**
 * Set one key. @return 0, or -ENOENT (unknown key) / -EINVAL (bad value) with err
 * naming the key and the reason.
 */
int kr_config_set(struct kr_node_config *c, const char *key, const char *value, char *err,
		  size_t errlen);

/** Parse properties text (key=value lines) into c. @return 0 or as kr_config_set. */
int kr_config_parse(struct kr_node_config *c, const char *text, size_t len, char *err,
		    size_t errlen);

/**
 * After every key is set: fill derived defaults and check the whole. Required keys
 * (node.id, controller.quorum.voters or controller.quorum.bootstrap.servers,
 * metadata.log.dir; cluster.id is not: as in Kafka, a formatted directory holds it, and
 * the caller takes it from there when the file lacks it), the node's own
 * address, and the timers' relationships (the parked-fetch wait below half the fetch
 * timeout, ...). @return 0 or -EINVAL with err naming the key and the reason.
 */
int kr_config_finish(struct kr_node_config *c, char *err, size_t errlen);

/**
 * Fit the frame sizes to a transport whose datagrams carry at most payload_max bytes:
 * kraftd.frame.bytes (and kraftd.fetch.max.bytes) shrink to fit unless given; a given
 * one that does not fit is refused. @return 0 or -EINVAL with err.
 */
int kr_config_fit_payload(struct kr_node_config *c, uint32_t payload_max, char *err, size_t errlen);

/** Print every key with its default and meaning. */
void kr_config_print_keys(void *file);

/** The voter set hash that every peer frame carries (order-independent). */
uint64_t kr_config_voter_set_hash(const struct kr_node_config *c);

/**
 * The cores' configurations from a finished node config, this directory's id and its
 * bootstrap voters (NULL: a directory formatted before directory ids, whose voters are
 * known by node id alone). The voters' directory ids come from boot; the node is a voter
 * only if boot lists (its node id, dir), or, without boot, if its node id is a voter's.
 * The caller has checked that boot names the voters of c (kr_config_check_bootstrap).
 */
void kr_config_election(const struct kr_node_config *c, const uint8_t dir[KR_UUID_BYTES],
			const struct kr_voter_set *boot, struct kr_election_config *ec);
void kr_config_repl(const struct kr_node_config *c, const uint8_t dir[KR_UUID_BYTES],
		    const struct kr_voter_set *boot, uint64_t incarnation, uint64_t repair_target,
		    struct kr_repl_config *rc);

/**
 * Does a directory's bootstrap voter set fit the configuration? An empty set (a joining
 * directory) always does; otherwise it must list exactly the node ids of
 * controller.quorum.voters. @return 0 or -EINVAL with err saying how they differ.
 */
int kr_config_check_bootstrap(const struct kr_node_config *c, const struct kr_voter_set *boot,
			      char *err, size_t errlen);

#endif /* KRAFT_CONFIG_H */
