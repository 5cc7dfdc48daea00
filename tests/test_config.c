/* kraftd tests: the node configuration: defaults, every kind of value, the refusals
 * (unknown key, bad value, inconsistent timeouts) naming the key, and the derived cores'
 * configurations. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "kraft/config.h"

#define GOOD                                                                            \
	"# a three-voter cluster\n"                                                     \
	"node.id=2\n"                                                                   \
	"cluster.id=iczt5OK4ULaPwd3hRaNtVg\n"                                           \
	"controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.2:9093,3@127.0.0.3:9093\n" \
	"metadata.log.dir=/tmp/kraftd-2\n"

static int
load(struct kr_node_config *c, const char *text, char *err, size_t n)
{
	int rc;

	kr_config_defaults(c);
	rc = kr_config_parse(c, text, strlen(text), err, n);
	if (rc == 0)
		rc = kr_config_finish(c, err, n);
	return rc;
}

/* text must be refused, and err must name `key` and contain `why`. */
static void
refused(const char *text, const char *key, const char *why)
{
	struct kr_node_config c;
	char err[512] = "";

	assert_int_not_equal(load(&c, text, err, sizeof(err)), 0);
	if (strstr(err, key) == NULL || strstr(err, why) == NULL)
		fail_msg("'%s' does not name '%s' and '%s'", err, key, why);
}

static void
good_file_gives_kafka_defaults(void **state)
{
	struct kr_node_config c;
	char err[256], ep[32];

	(void)state;
	assert_int_equal(load(&c, GOOD, err, sizeof(err)), 0);
	assert_int_equal(c.node_id, 2);
	assert_int_equal(c.n_voters, 3);
	assert_int_equal(c.voter_ids[2], 3);
	kr_endpoint_format(&c.listener, ep, sizeof(ep));
	assert_string_equal(ep, "127.0.0.2:9093");
	kr_endpoint_format(&c.mgmt, ep, sizeof(ep));
	assert_string_equal(ep, "127.0.0.2:9193");
	assert_int_equal(c.election_timeout_us, 1000000);
	assert_int_equal(c.fetch_timeout_us, 2000000);
	assert_int_equal(c.election_backoff_max_us, 1000000);
	assert_int_equal(c.request_timeout_us, 1000000); /* derived: the election timeout */
	assert_int_equal(c.fetch_max_wait_us, 500000);	 /* fetch timeout / 4, at most 500 ms */
	assert_int_equal(c.durability, KR_LOG_DISK);
	assert_int_equal(c.idle, KR_IDLE_BACKOFF);
	assert_string_equal(c.log_dir, "/tmp/kraftd-2");
	/* snapshots and retention: Kafka's defaults */
	assert_string_equal(c.state_machine, "digest");
	assert_int_equal(c.snapshot_bytes, 20971520);
	assert_int_equal(c.snapshot_interval_us, 3600000000ll);
	assert_int_equal(c.retention_bytes, 104857600);
	assert_int_equal(c.retention_ms, 604800000);
	assert_int_equal(c.xfer_window, 4194304);
	assert_int_equal(c.xfer_sends, 4);
}

/* The snapshot keys: 0 turns a trigger off (Kafka's), an unknown state machine and a
 * negative size are refused with the key. */
static void
snapshot_keys_take_kafkas_values_and_refuse_bad_ones(void **state)
{
	struct kr_node_config c;
	char err[256];

	(void)state;
	assert_int_equal(load(&c,
			      GOOD "metadata.log.max.snapshot.interval.ms=0\n"
				   "metadata.log.max.record.bytes.between.snapshots=0\n"
				   "kraftd.state.machine=kv\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(c.snapshot_interval_us, 0);
	assert_int_equal(c.snapshot_bytes, 0);
	assert_string_equal(c.state_machine, "kv");
	assert_int_equal(
		load(&c, GOOD "metadata.log.max.snapshot.interval.ms=86400000\n", err, sizeof(err)),
		0);
	refused(GOOD "metadata.log.max.snapshot.interval.ms=-5\n",
		"metadata.log.max.snapshot.interval.ms", "from 0 (off)");
	refused(GOOD "kraftd.state.machine=btree\n", "kraftd.state.machine", "digest, kv or none");
	refused(GOOD "metadata.log.max.record.bytes.between.snapshots=-1\n",
		"metadata.log.max.record.bytes.between.snapshots", "negative");
	/* transfers between nodes: a window a power of two in range, 1 to 8 at once */
	assert_int_equal(load(&c,
			      GOOD "kraftd.snapshot.transfer.window.bytes=65536\n"
				   "kraftd.snapshot.transfers.max=8\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(c.xfer_window, 65536);
	assert_int_equal(c.xfer_sends, 8);
	refused(GOOD "kraftd.snapshot.transfer.window.bytes=100000\n",
		"kraftd.snapshot.transfer.window.bytes", "power of two");
	refused(GOOD "kraftd.snapshot.transfer.window.bytes=32768\n",
		"kraftd.snapshot.transfer.window.bytes", "power of two");
	refused(GOOD "kraftd.snapshot.transfers.max=0\n", "kraftd.snapshot.transfers.max",
		"from 1 to 8");
	refused(GOOD "kraftd.snapshot.transfers.max=9\n", "kraftd.snapshot.transfers.max",
		"from 1 to 8");
}

/* Large messages: Kafka's message.max.bytes (its default by default, lower if asked, never
 * above the format's batch limit) and the reassembly pool's slots, each refused out of
 * range with the key and the range. */
static void
message_size_keys_take_kafkas_default_and_refuse_out_of_range(void **state)
{
	struct kr_node_config c;
	char err[256];

	(void)state;
	assert_int_equal(load(&c, GOOD, err, sizeof(err)), 0);
	assert_int_equal(c.batch_bytes_max, 1048588);
	assert_int_equal(c.batch_bytes_max, KR_BATCH_BYTES_MAX);
	assert_int_equal(c.reasm_slots, 8);
	assert_int_equal(load(&c,
			      GOOD "message.max.bytes=1024\n"
				   "kraftd.reassembly.slots=64\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(c.batch_bytes_max, 1024);
	assert_int_equal(c.reasm_slots, 64);
	assert_int_equal(load(&c, GOOD "kraftd.reassembly.slots=1\n", err, sizeof(err)), 0);
	assert_int_equal(c.reasm_slots, 1);
	refused(GOOD "message.max.bytes=1023\n", "message.max.bytes", "1024..1048588");
	refused(GOOD "message.max.bytes=1048589\n", "message.max.bytes", "1024..1048588");
	refused(GOOD "message.max.bytes=1MB\n", "message.max.bytes", "not an integer");
	refused(GOOD "kraftd.reassembly.slots=0\n", "kraftd.reassembly.slots", "1..64");
	refused(GOOD "kraftd.reassembly.slots=65\n", "kraftd.reassembly.slots", "1..64");
}

static void
fractional_milliseconds_set_microseconds(void **state)
{
	struct kr_node_config c;
	char err[256];

	(void)state;
	assert_int_equal(load(&c,
			      GOOD "controller.quorum.election.timeout.ms=0.5\n"
				   "controller.quorum.fetch.timeout.ms=2.25\n"
				   "controller.quorum.election.backoff.max.ms=0.125\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(c.election_timeout_us, 500);
	assert_int_equal(c.fetch_timeout_us, 2250);
	assert_int_equal(c.election_backoff_max_us, 125);
	assert_int_equal(c.fetch_max_wait_us, 562); /* derived from the fetch timeout */
	/* overrides after the file win, as on the command line */
	assert_int_equal(kr_config_set(&c, "kraftd.durability", "memory", err, sizeof(err)), 0);
	assert_int_equal(c.durability, KR_LOG_MEMORY);
}

static void
bad_keys_and_values_are_refused_with_the_key(void **state)
{
	(void)state;
	refused(GOOD "controller.quorum.electon.timeout.ms=10\n",
		"controller.quorum.electon.timeout.ms", "unknown key");
	refused(GOOD "controller.quorum.fetch.timeout.ms=fast\n",
		"controller.quorum.fetch.timeout.ms", "not a time");
	refused(GOOD "controller.quorum.fetch.timeout.ms=0\n", "controller.quorum.fetch.timeout.ms",
		"above 0");
	refused(GOOD "controller.quorum.fetch.timeout.ms=1.2345\n",
		"controller.quorum.fetch.timeout.ms", "three decimals");
	refused(GOOD "kraftd.durability=tape\n", "kraftd.durability", "not disk or memory");
	refused(GOOD "kraftd.dataplane.idle=sometimes\n", "kraftd.dataplane.idle",
		"poll, backoff or shared");
	refused("node.id=-3\n", "node.id", "not in");
	refused("cluster.id=short\n", "cluster.id", "22-character");
	refused(GOOD "metadata.max.retention.bytes=0\n", "metadata.max.retention.bytes",
		"positive or -1");
	refused(GOOD "kraftd.frame.bytes=100\n", "kraftd.frame.bytes", "256..60000");
	/* as Java reads it, a key "no" with the value "equals sign" */
	refused("node.id=1\nno equals sign\n", "line 2", "no: unknown key");
}

/* java.util.Properties' rules, as Kafka operators write files; every error at once */
static void
java_properties_rules(void **state)
{
	static const char text[] = "! a comment the Java way\r\n"
				   "   # an indented one\r\n"
				   "node.id = 2\r\n"
				   "cluster.id: iczt5OK4ULaPwd3hRaNtVg\n"
				   "controller.quorum.voters   1@127.0.0.1:9093, \\\n"
				   "      2@127.0.0.2:9093 ,3@127.0.0.3:9093\n"
				   "metadata.log.dir=/tmp/a\\:b\\u00e9\\=c   \n"
				   "kraftd.durability\tmemory\n";
	struct kr_node_config c;
	char err[1024];

	(void)state;
	assert_int_equal(load(&c, text, err, sizeof(err)), 0);
	assert_int_equal(c.node_id, 2);
	assert_int_equal(c.n_voters, 3);
	assert_int_equal(c.voter_ids[1], 2);
	assert_string_equal(c.log_dir, "/tmp/a:b\xc3\xa9=c"); /* \u00e9 as UTF-8 */
	assert_int_equal(c.durability, KR_LOG_MEMORY);
	/* a key given twice names both lines */
	refused(GOOD "node.id=3\n", "line 6", "node.id given twice (first on line 2)");
	/* every error of the file, each with its line */
	kr_config_defaults(&c);
	assert_int_not_equal(kr_config_parse(&c,
					     "node.id=x\n"
					     "# fine\n"
					     "kraftd.durability=tape\n"
					     "bogus.key=1\n"
					     "metadata.log.dir=\\u12\n",
					     strlen("node.id=x\n# fine\nkraftd.durability=tape\n"
						    "bogus.key=1\nmetadata.log.dir=\\u12\n"),
					     err, sizeof(err)),
			     0);
	if (strstr(err, "line 1: node.id") == NULL ||
	    strstr(err, "line 3: kraftd.durability") == NULL ||
	    strstr(err, "line 4: bogus.key: unknown key") == NULL ||
	    strstr(err, "line 5: a \\u escape needs four hex digits") == NULL)
		fail_msg("not every error: %s", err);
	/* a continued comment is still one line; a lone key has an empty value */
	refused(GOOD "# comment \\\nnode.id=3\n", "line 7", "given twice");
	refused("node.id\n", "node.id", "not an integer");
}

static void
voters_are_checked(void **state)
{
	const char *head = "node.id=1\ncluster.id=iczt5OK4ULaPwd3hRaNtVg\nmetadata.log.dir=/x\n";
	char text[512];

	(void)state;
	snprintf(text, sizeof(text), "%scontroller.quorum.voters=1@localhost:9093\n", head);
	refused(text, "controller.quorum.voters", "hostnames are not resolved");
	snprintf(text, sizeof(text), "%scontroller.quorum.voters=1@10.0.0.1:9093,1@10.0.0.2:9093\n",
		 head);
	refused(text, "controller.quorum.voters", "listed twice");
	snprintf(text, sizeof(text), "%scontroller.quorum.voters=1@10.0.0.1:9093,2@10.0.0.1:9093\n",
		 head);
	refused(text, "controller.quorum.voters", "share address");
	snprintf(text, sizeof(text), "%scontroller.quorum.voters=1@10.0.0.1:70000\n", head);
	refused(text, "controller.quorum.voters", "IPv4 address and port");
	snprintf(text, sizeof(text), "%scontroller.quorum.voters=1@10.0.0.1:9093,\n", head);
	refused(text, "controller.quorum.voters", "trailing comma");
	snprintf(text, sizeof(text), "%scontroller.quorum.voters=x@10.0.0.1:9093\n", head);
	refused(text, "controller.quorum.voters", "not a node id");
	/* an observer needs its own address */
	snprintf(text, sizeof(text),
		 "node.id=7\ncluster.id=iczt5OK4ULaPwd3hRaNtVg\nmetadata.log.dir=/x\n"
		 "controller.quorum.voters=1@10.0.0.1:9093\n");
	refused(text, "kraftd.listener", "observer");
	snprintf(text, sizeof(text),
		 "%scontroller.quorum.voters=1@10.0.0.1:9093\nkraftd.listener=10.0.0.9:9093\n",
		 head);
	refused(text, "kraftd.listener", "differs");
	snprintf(text, sizeof(text), "%scontroller.quorum.voters=1@10.0.0.1:65500\n", head);
	refused(text, "kraftd.management.port.offset", "65535");
}

static void
required_keys_are_named(void **state)
{
	(void)state;
	refused("cluster.id=iczt5OK4ULaPwd3hRaNtVg\n", "node.id", "required");
	/* cluster.id is not: a formatted directory holds it (kraftd takes it from there) */
	refused("node.id=1\n", "controller.quorum.voters", "required");
	refused("node.id=1\ncluster.id=iczt5OK4ULaPwd3hRaNtVg\n"
		"controller.quorum.voters=1@10.0.0.1:9093\n",
		"metadata.log.dir", "required");
}

#define DYNAMIC                               \
	"node.id=4\n"                         \
	"cluster.id=iczt5OK4ULaPwd3hRaNtVg\n" \
	"metadata.log.dir=/tmp/kraftd-4\n"    \
	"kraftd.listener=127.0.0.4:9093\n"

/* controller.quorum.bootstrap.servers instead of the voters list: written as operators
 * write lists, and every way of getting it wrong refused with the key */
static void
bootstrap_servers_instead_of_voters(void **state)
{
	struct kr_node_config c;
	char err[256], ep[32];

	(void)state;
	assert_int_equal(load(&c,
			      DYNAMIC "controller.quorum.bootstrap.servers=127.0.0.1:9093, "
				      "127.0.0.2:9093 ,127.0.0.3:9093\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(c.n_voters, 0); /* filled at start, from the directory or a server */
	assert_int_equal(c.n_bootstrap_servers, 3);
	kr_endpoint_format(&c.bootstrap_servers[1], ep, sizeof(ep));
	assert_string_equal(ep, "127.0.0.2:9093");
	kr_endpoint_format(&c.mgmt, ep, sizeof(ep));
	assert_string_equal(ep, "127.0.0.4:9193");
	refused(DYNAMIC "controller.quorum.bootstrap.servers=127.0.0.1:9093\n"
			"controller.quorum.voters=1@127.0.0.1:9093\n",
		"controller.quorum.bootstrap.servers", "give one");
	refused("node.id=4\ncluster.id=iczt5OK4ULaPwd3hRaNtVg\nmetadata.log.dir=/tmp/k\n"
		"controller.quorum.bootstrap.servers=127.0.0.1:9093\n",
		"kraftd.listener", "required with controller.quorum.bootstrap.servers");
	refused(DYNAMIC "controller.quorum.bootstrap.servers=1@127.0.0.1:9093\n",
		"controller.quorum.bootstrap.servers", "'1@127.0.0.1:9093' is not a.b.c.d:port");
	refused(DYNAMIC "controller.quorum.bootstrap.servers=127.0.0.1:9093,,127.0.0.2:9093\n",
		"controller.quorum.bootstrap.servers", "empty");
	refused(DYNAMIC "controller.quorum.bootstrap.servers=127.0.0.1:65500\n",
		"kraftd.management.port.offset", "bootstrap server port 65500");
}

/* A controller's file the way Kafka's own controller.properties is written */
static void
kafka_keys(void **state)
{
	static const char text[] = "process.roles=controller\n"
				   "node.id=1\n"
				   "cluster.id=iczt5OK4ULaPwd3hRaNtVg\n"
				   "controller.quorum.bootstrap.servers=127.0.0.1:9093\n"
				   "listeners=CONTROLLER://127.0.0.1:9093\n"
				   "advertised.listeners=CONTROLLER://127.0.0.1:9093\n"
				   "controller.listener.names=CONTROLLER\n"
				   "listener.security.protocol.map=CONTROLLER:PLAINTEXT, SSL:SSL\n"
				   "num.network.threads=3\n"
				   "log.dirs=/tmp/kraft-controller-logs\n";
	struct kr_node_config c;
	char err[512], ep[32];

	(void)state;
	assert_int_equal(load(&c, text, err, sizeof(err)), 0);
	kr_endpoint_format(&c.listener, ep, sizeof(ep));
	assert_string_equal(ep, "127.0.0.1:9093");
	assert_string_equal(c.log_dir, "/tmp/kraft-controller-logs");
	if (strstr(c.warnings, "num.network.threads: Kafka's key, ignored") == NULL)
		fail_msg("no warning for an ignored key: '%s'", c.warnings);
#define KAFKA_HEAD                                       \
	"node.id=1\ncluster.id=iczt5OK4ULaPwd3hRaNtVg\n" \
	"controller.quorum.bootstrap.servers=127.0.0.1:9093\nlog.dirs=/tmp/k\n"
	refused(KAFKA_HEAD
		"listeners=CONTROLLER://127.0.0.1:9093\nprocess.roles=broker,controller\n",
		"process.roles", "brokers come with later work");
	refused(KAFKA_HEAD "listeners=PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093\n",
		"listeners", "PLAINTEXT: only the controller listener");
	refused(KAFKA_HEAD "listeners=CONTROLLER://:9093\n", "listeners", "binds every address");
	refused(KAFKA_HEAD "listeners=CONTROLLER://localhost:9093\n", "listeners", "no hostnames");
	refused(KAFKA_HEAD "listeners=CONTROLLER:/127.0.0.1:9093\n", "listeners",
		"not NAME://a.b.c.d:port");
	refused(KAFKA_HEAD "listeners=C2://127.0.0.1:9093\ncontroller.listener.names=CONTROLLER\n",
		"listeners", "C2: only the controller listener");
	refused(KAFKA_HEAD "listeners=CONTROLLER://127.0.0.1:9093\n"
			   "advertised.listeners=CONTROLLER://127.0.0.9:9093\n",
		"advertised.listeners", "reached where it binds");
	refused(KAFKA_HEAD "listeners=CONTROLLER://127.0.0.1:9093\n"
			   "listener.security.protocol.map=CONTROLLER:SSL\n",
		"listener.security.protocol.map", "TLS and SASL are not supported");
	refused(KAFKA_HEAD "kraftd.listener=127.0.0.1:9093\nnum.partitions=1\n", "num.partitions",
		"topics and partitions come with later work");
	refused("node.id=1\ncluster.id=iczt5OK4ULaPwd3hRaNtVg\nkraftd.listener=127.0.0.1:9093\n"
		"controller.quorum.bootstrap.servers=127.0.0.1:9093\nlog.dirs=/a,/b\n",
		"log.dirs", "one data directory");
	refused(KAFKA_HEAD "kraftd.listener=127.0.0.1:9093\nmetadata.log.dir=/other\n", "log.dirs",
		"not metadata.log.dir");
	/* a setting that works but makes little sense is taken, with a warning */
	assert_int_equal(load(&c,
			      GOOD "controller.quorum.election.timeout.ms=3000\n"
				   "controller.quorum.fetch.timeout.ms=2000\n",
			      err, sizeof(err)),
			 0);
	if (strstr(c.warnings, "election.timeout.ms (3000.000 ms) is above") == NULL)
		fail_msg("no warning for an election timeout above the fetch timeout: '%s'",
			 c.warnings);
}

static void
inconsistent_timeouts_are_refused(void **state)
{
	(void)state;
	/* the parked wait must stay below half the fetch timeout */
	refused(GOOD "controller.quorum.fetch.timeout.ms=10\nkraftd.fetch.max.wait.ms=5\n",
		"kraftd.fetch.max.wait.ms", "below half");
	refused(GOOD
		"controller.quorum.fetch.timeout.ms=10\ncontroller.quorum.retry.backoff.ms=6\n",
		"controller.quorum.retry.backoff.ms", "below half");
	refused(GOOD "kraftd.auth.key.accept.file=/k\n", "kraftd.auth.key.accept.file",
		"without kraftd.auth.key.file");
	refused(GOOD "kraftd.append.dedup.window.ms=0\n", "kraftd.append.dedup.window.ms",
		"above 0");
	refused(GOOD "kraftd.fetch.max.bytes=40000\nkraftd.frame.bytes=50000\n",
		"kraftd.frame.bytes", "above kraftd.fetch.max.bytes");
	/* just below half is fine */
	struct kr_node_config c;
	char err[256];

	assert_int_equal(load(&c,
			      GOOD "controller.quorum.fetch.timeout.ms=10\n"
				   "kraftd.fetch.max.wait.ms=4.999\n",
			      err, sizeof(err)),
			 0);
}

static void
cores_get_consistent_configs(void **state)
{
	struct kr_node_config c, d;
	struct kr_election_config ec;
	struct kr_repl_config rc;
	uint8_t dir[KR_UUID_BYTES] = {1, 2, 3};
	char err[256];

	(void)state;
	assert_int_equal(load(&c, GOOD "controller.quorum.fetch.timeout.ms=20\n", err, sizeof(err)),
			 0);
	kr_config_election(&c, dir, NULL, &ec);
	kr_config_repl(&c, dir, NULL, 7, 0, &rc);
	assert_int_equal(ec.fetch_timeout_us, 20000);
	assert_int_equal(rc.incarnation, 7);
	/* without bootstrap voters (a static set): voters by node id, this one a voter */
	assert_false(ec.joining);
	assert_false(rc.joining);
	assert_true(kr_uuid_is_zero(ec.voter_dirs[1]));
	assert_true(rc.fetch_max_wait_us * 2 < ec.fetch_timeout_us);
	assert_true(rc.fetch_retry_us < ec.fetch_timeout_us);
	assert_true(rc.reply_frames_max >= 1 && rc.reply_frames_max <= KR_REPLY_FRAMES_MAX);
	/* the voter set hash does not depend on the order of the list, only its content */
	assert_int_equal(load(&d,
			      "node.id=2\ncluster.id=iczt5OK4ULaPwd3hRaNtVg\nmetadata.log.dir=/x\n"
			      "controller.quorum.voters=3@127.0.0.3:9093,1@127.0.0.1:9093,"
			      "2@127.0.0.2:9093\n",
			      err, sizeof(err)),
			 0);
	assert_true(kr_config_voter_set_hash(&c) == kr_config_voter_set_hash(&d));
	assert_int_equal(kr_config_set(&d, "controller.quorum.voters",
				       "3@127.0.0.3:9094,1@127.0.0.1:9093,2@127.0.0.2:9093", err,
				       sizeof(err)),
			 0);
	assert_true(kr_config_voter_set_hash(&c) != kr_config_voter_set_hash(&d));
	assert_true(kr_config_voter_set_hash(&c) != 0);
}

static void
dpdk_keys_and_fitting_frames_to_a_port(void **state)
{
	struct kr_node_config c;
	char err[256];

	(void)state;
	assert_int_equal(load(&c,
			      GOOD "kraftd.dpdk.neighbours=10.0.0.1@02:00:00:00:00:01,10.0.0.2@02:"
				   "aa:bb:cc:dd:0e\n"
				   "kraftd.dpdk.peer.ports=1@0,3@1\n",
			      err, sizeof(err)),
			 0);
	assert_int_equal(c.n_neighbours, 2);
	assert_int_equal(c.neighbour_ip[1].ip, 0x0a000002);
	assert_int_equal(c.neighbour_mac[1][5], 0x0e);
	assert_int_equal(c.n_peer_ports, 2);
	assert_int_equal(c.peer_port_node[1], 3);
	assert_int_equal(c.peer_port_index[1], 1);
	assert_true(c.dpdk_arp);
	/* a 1500-byte MTU port: frames and fetches shrink to fit */
	assert_int_equal(kr_config_fit_payload(&c, 1472, err, sizeof(err)), 0);
	assert_true(c.frame_bytes <=
		    1472 - KR_WIRE_HDR_BYTES - KR_FETCH_RESP_FIXED_BYTES - KR_WIRE_AUTH_BYTES);
	assert_true(c.fetch_max_bytes / c.frame_bytes <= KR_REPLY_FRAMES_MAX);
	assert_int_not_equal(kr_config_fit_payload(&c, 300, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "too small"));
	/* a frame size that was given and does not fit is refused, not shrunk */
	assert_int_equal(load(&c, GOOD "kraftd.frame.bytes=20000\n", err, sizeof(err)), 0);
	assert_int_not_equal(kr_config_fit_payload(&c, 3000, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "kraftd.frame.bytes"));
	refused(GOOD "kraftd.dpdk.neighbours=10.0.0.1@02:00:00:00:00\n", "kraftd.dpdk.neighbours",
		"aa:bb:cc:dd:ee:ff");
	refused(GOOD "kraftd.dpdk.peer.ports=1@9\n", "kraftd.dpdk.peer.ports", "0..7");
	refused(GOOD "kraftd.dpdk.arp=maybe\n", "kraftd.dpdk.arp", "true or false");
	/* chained zero copy: off unless turned on, and apart from ARP */
	assert_int_equal(load(&c, GOOD, err, sizeof(err)), 0);
	assert_false(c.dpdk_zero_copy);
	assert_int_equal(load(&c, GOOD "kraftd.dpdk.zero.copy=true\n", err, sizeof(err)), 0);
	assert_true(c.dpdk_zero_copy);
	assert_true(c.dpdk_arp);
	refused(GOOD "kraftd.dpdk.zero.copy=yes\n", "kraftd.dpdk.zero.copy", "true or false");
}

static void
voter_keys_come_from_the_bootstrap_voters(void **state)
{
	struct kr_node_config c;
	struct kr_election_config ec;
	struct kr_repl_config rc;
	struct kr_voter_set boot, other;
	uint8_t dir[KR_UUID_BYTES];
	char err[512];

	(void)state;
	assert_int_equal(load(&c, GOOD, err, sizeof(err)), 0);
	assert_int_equal(kr_voters_parse("3@127.0.0.3:9093:AwMDAwMDAwMDAwMDAwMDAw,"
					 "1@127.0.0.1:9093:AQEBAQEBAQEBAQEBAQEBAQ,"
					 "2@127.0.0.2:9093:AgICAgICAgICAgICAgICAg",
					 true, "L", &boot, err, sizeof(err)),
			 0);
	assert_int_equal(kr_config_check_bootstrap(&c, &boot, err, sizeof(err)), 0);
	/* node 2 with the directory the list gives it: a voter, every voter keyed */
	memset(dir, 2, sizeof(dir));
	kr_config_election(&c, dir, &boot, &ec);
	kr_config_repl(&c, dir, &boot, 1, 0, &rc);
	assert_false(ec.joining);
	assert_false(rc.joining);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ec.voter_dirs[i][0], ec.voters[i]);
		assert_memory_equal(rc.voter_dirs[i], ec.voter_dirs[i], KR_UUID_BYTES);
	}
	/* another directory of node 2 (re-formatted): joining */
	memset(dir, 9, sizeof(dir));
	kr_config_election(&c, dir, &boot, &ec);
	kr_config_repl(&c, dir, &boot, 1, 0, &rc);
	assert_true(ec.joining);
	assert_true(rc.joining);
	/* an empty set (a plain format) joins too, and fits any configuration */
	other.n = 0;
	assert_int_equal(kr_config_check_bootstrap(&c, &other, err, sizeof(err)), 0);
	kr_config_election(&c, dir, &other, &ec);
	assert_true(ec.joining);
	/* a set naming other voters than the configuration is refused */
	other = boot;
	other.v[2].id = 4;
	assert_int_equal(kr_config_check_bootstrap(&c, &other, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "3,1,4"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(good_file_gives_kafka_defaults),
		cmocka_unit_test(snapshot_keys_take_kafkas_values_and_refuse_bad_ones),
		cmocka_unit_test(message_size_keys_take_kafkas_default_and_refuse_out_of_range),
		cmocka_unit_test(fractional_milliseconds_set_microseconds),
		cmocka_unit_test(bad_keys_and_values_are_refused_with_the_key),
		cmocka_unit_test(java_properties_rules),
		cmocka_unit_test(kafka_keys),
		cmocka_unit_test(voters_are_checked),
		cmocka_unit_test(required_keys_are_named),
		cmocka_unit_test(bootstrap_servers_instead_of_voters),
		cmocka_unit_test(inconsistent_timeouts_are_refused),
		cmocka_unit_test(cores_get_consistent_configs),
		cmocka_unit_test(voter_keys_come_from_the_bootstrap_voters),
		cmocka_unit_test(dpdk_keys_and_fitting_frames_to_a_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
