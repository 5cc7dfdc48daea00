/* kraftd: the node binary's entry point: argument parsing and subcommand dispatch:
 * run a node, format, inspect, random-uuid. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <sodium.h>

#include "dump.h"
#include "kraft/auth.h"
#include "kraft/config.h"
#include "kraft/datadir.h"
#include "kraft/fileio.h"
#include "kraft/log.h"
#include "kraft/node.h"
#include "kraft/props.h"
#include "kraft/uuid.h"

#define KRAFTD_VERSION "0.1.0"

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kraftd [start] FILE [--KEY=VALUE ...]\n"
		"       kraftd [EAL options] -- [start] FILE [--KEY=VALUE ...]\n"
		"       kraftd <command> [options]\n"
		"\n"
		"Run a node (FILE may also be given as --config FILE):\n"
		"  FILE               properties file, read as Java (and Kafka) read them;\n"
		"                     kraftd --help-config lists every key with its default\n"
		"  --transport T      udp: kernel UDP sockets for the dataplane; dpdk: DPDK ports\n"
		"                     (default: the file's kraftd.transport; auto: dpdk when EAL\n"
		"                     options are given, else udp)\n"
		"  EAL options --     DPDK: the dataplane polls every port the EAL was given on\n"
		"                     its main lcore, e.g. -l 1 --no-huge -m 256 --no-shconf\n"
		"                     --file-prefix n1 --vdev net_af_xdp0,iface=veth1,xdp_prog=\n"
		"                     build/dataplane/port/kraftd_xdp.bpf.o (README)\n"
		"  --KEY=VALUE        set a key, overriding the file (e.g.\n"
		"                     --controller.quorum.fetch.timeout.ms=20)\n"
		"%s"
		"  The node logs to stderr; SIGTERM or SIGINT stops it gracefully (a leader hands\n"
		"  over first); a second signal stops it at once. Exit 0 after a graceful stop,\n"
		"  1 if it cannot start, 2 on bad arguments, 3 after a storage failure.\n"
		"\n"
		"Commands:\n"
		"  format -c|--config FILE [-t|--cluster-id ID] [-I|--initial-controllers LIST\n"
		"         | -s|--standalone | -N|--no-initial-controllers]\n"
		"         [-g|--ignore-formatted] [--KEY=VALUE ...]\n"
		"        Format the node's metadata.log.dir for its node.id and cluster.id (-t\n"
		"        stands for a cluster.id the file lacks, as kafka-storage.sh format).\n"
		"        A voter is (node id, directory id). For a new cluster, format every\n"
		"        initial voter with the same --initial-controllers LIST, entries\n"
		"        id@a.b.c.d:port:DIRECTORYID (one kraftd random-uuid per voter; the\n"
		"        ids and addresses those of controller.quorum.voters); --standalone\n"
		"        for a one-voter cluster. Without either (or with -N), it is *joining*:\n"
		"        it replicates as an observer and never votes until a voter change\n"
		"        names it (observers, replaced disks).\n"
		"  format --dir DIR --cluster-id ID --node-id N [--initial-controllers LIST]\n"
		"         [--ignore-formatted]\n"
		"        The same without a config file. Refuses a directory that is already\n"
		"        formatted; with --ignore-formatted, succeeds without change if the\n"
		"        existing identity matches. Refuses a directory in use by a node.\n"
		"  inspect --dir DIR [--cluster-id ID --node-id N]\n"
		"        Check DIR as a starting node would, read-only: identity (and, if\n"
		"        given, that it matches), bootstrap voters, quorum state, and log\n"
		"        recovery. Prints what it found, and whether a running node holds DIR.\n"
		"        Exit 0 if a node could start, 1 if not, 3 on mid-log corruption.\n"
		"  unsafe-admit --config FILE | --dir DIR\n"
		"        UNSAFE. For when a majority of voters lost their data (a memory-mode\n"
		"        cluster that crashed whole, re-formatted disks): the node's next start\n"
		"        votes and stands for election at once, skipping the rules that keep a\n"
		"        node that may lack acknowledged records out (lost log, unfinished\n"
		"        repair, first start past the first election). Records a majority\n"
		"        acknowledged may be lost. Run it, node stopped, on enough nodes for a\n"
		"        majority; a replaced disk first needs kraftd format with the cluster's\n"
		"        --initial-controllers (it takes its old directory id back).\n"
		"  dump [--records] FILE...\n"
		"        Print a log segment's batches (--records: each record's length and\n"
		"        value too) or a snapshot's chunks and state (--records: each entry\n"
		"        of a kv state too), checking every CRC.\n"
		"        Read-only. Exit 0 if every file is whole, 1 if one is not.\n"
		"  random-uuid\n"
		"        Print a new random id (22 characters, as Kafka prints a Uuid): a\n"
		"        cluster id, or a directory id for --initial-controllers.\n"
		"  random-key FILE\n"
		"        Write a new random cluster key (64 hex digits) to FILE, mode 600, for\n"
		"        kraftd.auth.key.file; refuses to overwrite. Prints the key's id.\n"
		"\n"
		"Options:\n"
		"  -h, --help       this text\n"
		"  --help-config    every configuration key, its default and meaning\n"
		"  -V, --version    print the version\n",
#ifdef KR_CRASH_TEST
		"  --test-crash-cut   (test build) cut log files back to their last flushed\n"
		"                     lengths at start, so kill -9 loses unflushed data\n"
		"  --test-crash-torn  (test build) as --test-crash-cut, but keep a random part\n"
		"                     of each file's unflushed tail: a torn write at the crash\n"
		"  --test-fail-flush-after N  (test build) every flush job after the first N\n"
		"                     fails as an fdatasync error would (EIO)\n"
#else
		""
#endif
	);
}

struct args {
	const char *config;
	const char *dir;
	const char *cluster_id;
	const char *node_id;
	const char *initial;
	int ignore_formatted;
};

static int
parse_args(int argc, char **argv, struct args *a)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'f'},
		{"dir", required_argument, NULL, 'd'},
		{"cluster-id", required_argument, NULL, 'c'},
		{"node-id", required_argument, NULL, 'n'},
		{"ignore-formatted", no_argument, NULL, 'i'},
		{"initial-controllers", required_argument, NULL, 'I'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	memset(a, 0, sizeof(*a));
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			a->config = optarg;
			break;
		case 'd':
			a->dir = optarg;
			break;
		case 'c':
			a->cluster_id = optarg;
			break;
		case 'n':
			a->node_id = optarg;
			break;
		case 'i':
			a->ignore_formatted = 1;
			break;
		case 'I':
			a->initial = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return -EINVAL;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "kraftd: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

/* Parse --cluster-id and --node-id; both required when need is set. */
static int
parse_ids(const struct args *a, int need, uint8_t cid[KR_UUID_BYTES], int32_t *nid)
{
	int64_t v;

	if (!a->cluster_id != !a->node_id || (need && !a->cluster_id)) {
		fprintf(stderr, "kraftd: --cluster-id and --node-id go together%s\n",
			need ? " and are required" : "");
		return -EINVAL;
	}
	if (a->cluster_id && kr_uuid_parse(a->cluster_id, cid) != 0) {
		fprintf(stderr,
			"kraftd: --cluster-id '%s' is not a 22-character id (kraftd random-uuid "
			"makes one)\n",
			a->cluster_id);
		return -EINVAL;
	}
	if (a->node_id && kr_parse_i64(a->node_id, 0, INT32_MAX, &v) != 0) {
		fprintf(stderr, "kraftd: --node-id '%s' is not an integer in 0..%d\n", a->node_id,
			INT32_MAX);
		return -EINVAL;
	}
	*nid = a->node_id ? (int32_t)v : KR_NODE_NONE;
	return 0;
}

/* --initial-controllers LIST into set. @return 0 or 2 (said why). */
static int
parse_initial(const char *who, const char *text, struct kr_voter_set *set)
{
	char err[512];

	if (kr_voters_parse(text, true, "--initial-controllers", set, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", who, err);
		return 2;
	}
	if (set->n == 0) {
		fprintf(stderr, "%s: --initial-controllers: no voters\n", who);
		return 2;
	}
	return 0;
}

/* What format prints: the identity, and what kind of directory it is. */
static void
print_formatted(int rc, const char *dir, const struct kr_identity *id,
		const struct kr_voter_set *initial, bool listed_voter)
{
	char c[KR_UUID_TEXT_LEN + 1], d[KR_UUID_TEXT_LEN + 1];

	kr_uuid_format(id->cluster_id, c);
	kr_uuid_format(id->directory_id, d);
	printf("%s %s: cluster.id=%s node.id=%" PRId32 " directory.id=%s\n",
	       rc == 1 ? "Already formatted, unchanged:" : "Formatted", dir, c, id->node_id, d);
	if (rc == 1)
		return;
	if (initial != NULL && kr_voters_find(initial, id->node_id) >= 0)
		printf("  an initial voter of %u (bootstrap voters written)\n", initial->n);
	else if (listed_voter)
		printf("  JOINING: node %" PRId32 " is in controller.quorum.voters, but this "
		       "directory is not an initial voter's: it replicates as an observer and "
		       "does not vote until a voter change names (%" PRId32 ", %s). For a new "
		       "cluster, format every voter with the same --initial-controllers.\n",
		       id->node_id, id->node_id, d);
	else
		printf("  joining: replicates as an observer\n");
}

static int
cmd_format(const struct args *a)
{
	uint8_t cid[KR_UUID_BYTES];
	int32_t nid;
	struct kr_identity id;
	struct kr_voter_set initial;
	char err[1024];
	int rc;

	if (a->dir == NULL) {
		fprintf(stderr, "kraftd format: --dir is required\n");
		return 2;
	}
	if (parse_ids(a, 1, cid, &nid) != 0)
		return 2;
	if (a->initial != NULL && parse_initial("kraftd format", a->initial, &initial) != 0)
		return 2;
	rc = kr_datadir_format(NULL, a->dir, cid, nid, a->initial ? &initial : NULL, NULL,
			       a->ignore_formatted, &id, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "kraftd format: %s\n", err);
		return 1;
	}
	print_formatted(rc, a->dir, &id, a->initial ? &initial : NULL, false);
	return 0;
}

static void
print_log_report(const char *path, const struct kr_log *log, const struct kr_log_report *r)
{
	printf("log:            %s\n", path);
	printf("  segments %u, batches %" PRIu64 ", offsets [%" PRIu64 ", %" PRIu64
	       "), last epoch %u, %" PRIu64 " bytes\n",
	       r->segments, r->batches, kr_log_start(log), kr_log_end(log), kr_log_last_epoch(log),
	       kr_log_bytes(log));
	switch (r->outcome) {
	case KR_LOG_CLEAN:
		printf("  recovery: clean\n");
		break;
	case KR_LOG_TORN_TAIL:
		printf("  recovery: torn tail: %" PRIu64
		       " bytes from %s (%s) would be cut at start\n",
		       r->torn_bytes, r->segment, r->reason);
		break;
	case KR_LOG_MID_CORRUPT:
		printf("  recovery: MID-LOG CORRUPTION in %s at byte %" PRIu64 ": %s\n", r->segment,
		       r->file_pos, r->reason);
		printf("    offsets [%" PRIu64 ", %" PRIu64
		       ") unreadable; valid batches follow up to "
		       "%" PRIu64 "\n",
		       r->damage_start_offset, r->damage_end_offset, r->last_valid_end_offset);
		printf("    the node must refetch them from the leader before it votes or counts "
		       "toward commit\n");
		break;
	}
}

static int
cmd_inspect(const struct args *a)
{
	uint8_t cid[KR_UUID_BYTES];
	int32_t nid;
	struct kr_identity id;
	struct kr_quorum_state qs;
	struct kr_log_config lc = {0};
	struct kr_log_report rep;
	struct kr_log *log = NULL;
	struct kr_voter_set boot;
	char err[1024], path[4096], t1[KR_UUID_TEXT_LEN + 1], t2[KR_UUID_TEXT_LEN + 1];
	int rc, status = 0, holder;

	if (a->dir == NULL) {
		fprintf(stderr, "kraftd inspect: --dir is required\n");
		return 2;
	}
	if (parse_ids(a, 0, cid, &nid) != 0)
		return 2;
	printf("data directory: %s\n", a->dir);
	holder = kr_datadir_lock_holder(a->dir);
	if (holder > 0)
		printf("IN USE:         by a running process, pid %d (it holds %s/%s): what "
		       "follows is read while it writes\n",
		       holder, a->dir, KR_LOCK_FILE);
	else if (holder == -EBUSY)
		printf("IN USE:         by a running process (it holds %s/%s): what follows is "
		       "read while it writes\n",
		       a->dir, KR_LOCK_FILE);
	rc = a->cluster_id ? kr_datadir_open(NULL, a->dir, cid, nid, &id, &qs, err, sizeof(err))
			   : kr_identity_load(NULL, a->dir, &id, err, sizeof(err));
	if (rc == 0 && !a->cluster_id)
		rc = kr_quorum_state_load(NULL, a->dir, &qs, err, sizeof(err));
	if (rc != 0) {
		printf("error: %s\n", err);
		return 1;
	}
	kr_uuid_format(id.cluster_id, t1);
	kr_uuid_format(id.directory_id, t2);
	printf("identity:       cluster.id=%s node.id=%" PRId32 " directory.id=%s%s\n", t1,
	       id.node_id, t2, a->cluster_id ? " (matches)" : "");
	printf("quorum state:   epoch %" PRIu32 ", leader.id %" PRId32 ", voted.id %" PRId32 "\n",
	       qs.epoch, qs.leader_id, qs.voted_id);
	rc = kr_bootstrap_load(NULL, a->dir, &boot, err, sizeof(err));
	if (rc == -ENOENT) {
		printf("voters:         static (formatted before voters had directory ids: "
		       "controller.quorum.voters alone decides)\n");
	} else if (rc != 0) {
		printf("error: %s\n", err);
		return 1;
	} else {
		char list[KR_VOTERS_TEXT_MAX];
		int self = kr_voters_find(&boot, id.node_id);

		kr_voters_format(&boot, true, list, sizeof(list));
		printf("voters:         %s\n", boot.n ? list : "(none: a joining directory)");
		if (self >= 0 && memcmp(boot.v[self].dir, id.directory_id, KR_UUID_BYTES) == 0)
			printf("                this directory is voter %" PRId32 "'s\n",
			       id.node_id);
		else if (self >= 0)
			printf("                this directory is not voter %" PRId32
			       "'s (re-formatted, or rejoined): an observer\n",
			       id.node_id);
		else
			printf("                this directory is joining: an observer\n");
	}

	if (kr_datadir_log_path(a->dir, path, sizeof(path)) != 0) {
		printf("error: %s: path too long\n", a->dir);
		return 1;
	}
	lc.dir = path;
	lc.durability = KR_LOG_DISK;
	lc.segment_bytes = KR_LOG_SEGMENT_BYTES_DEFAULT;
	lc.memory_bytes_max = UINT64_MAX;
	lc.read_only = true;
	rc = kr_log_open(&lc, &log, &rep, err, sizeof(err));
	if (rc == -ENOENT) {
		printf("log:            %s: none yet (empty log)\n", path);
		return 0;
	}
	if (rc != 0) {
		printf("error: %s\n", err);
		return 1;
	}
	print_log_report(path, log, &rep);
	if (rep.outcome == KR_LOG_MID_CORRUPT)
		status = 3;
	kr_log_close(log);
	return status;
}

/* Load --config FILE and apply --KEY=VALUE overrides (argv entries with '='). Returns 0
 * or prints why and returns 2. */
/* Errors of a file, one per line, each with who and where. */
static void
print_errors(const char *who, const char *where, const char *err)
{
	while (*err) {
		size_t n = strcspn(err, "\n");

		fprintf(stderr, "%s: %s: %.*s\n", who, where, (int)n, err);
		err += n + (err[n] == '\n');
	}
}

/* The configuration: the file at path, then --KEY=VALUE arguments over it; cluster_id
 * (kafka-storage.sh's -t), if given, must agree with the file's or stands for it. */
static int
load_config(const char *who, const char *path, int argc, char **argv, const char *cluster_id,
	    struct kr_node_config *cfg)
{
	static char text[1 << 16];
	char err[4096];
	FILE *f;
	size_t len;

	kr_config_defaults(cfg);
	if (path == NULL) {
		fprintf(stderr, "%s: the configuration file is required (--config FILE)\n", who);
		return 2;
	}
	f = fopen(path, "r");
	if (f == NULL) {
		fprintf(stderr, "%s: %s: %s\n", who, path, strerror(errno));
		return 2;
	}
	len = fread(text, 1, sizeof(text), f);
	if (len == sizeof(text) || ferror(f)) {
		fprintf(stderr, "%s: %s: unreadable or larger than %zu bytes\n", who, path,
			sizeof(text) - 1);
		fclose(f);
		return 2;
	}
	fclose(f);
	if (kr_config_parse(cfg, text, len, err, sizeof(err)) != 0) {
		print_errors(who, path, err);
		return 2;
	}
	for (int i = 0; i < argc; i++) {
		char key[KR_PROPS_KEY_MAX + 1];
		const char *eq;

		if (strncmp(argv[i], "--", 2) != 0 || (eq = strchr(argv[i], '=')) == NULL)
			continue;
		if ((size_t)(eq - argv[i] - 2) > KR_PROPS_KEY_MAX) {
			fprintf(stderr, "%s: %s: key too long\n", who, argv[i]);
			return 2;
		}
		snprintf(key, sizeof(key), "%.*s", (int)(eq - argv[i] - 2), argv[i] + 2);
		if (strcmp(key, "config") == 0 || strcmp(key, "transport") == 0 ||
		    strcmp(key, "initial-controllers") == 0 || strcmp(key, "cluster-id") == 0)
			continue; /* kraftd's own options, not configuration keys */
		if (kr_config_set(cfg, key, eq + 1, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s: command line: %s\n", who, err);
			return 2;
		}
	}
	if (cluster_id != NULL) {
		uint8_t cid[KR_UUID_BYTES];

		if (kr_uuid_parse(cluster_id, cid) != 0 || kr_uuid_is_zero(cid)) {
			fprintf(stderr,
				"%s: -t '%s' is not a 22-character id (kraftd random-uuid makes "
				"one)\n",
				who, cluster_id);
			return 2;
		}
		if (cfg->has_cluster_id && memcmp(cid, cfg->cluster_id, KR_UUID_BYTES) != 0) {
			fprintf(stderr, "%s: -t %s differs from cluster.id in %s\n", who,
				cluster_id, path);
			return 2;
		}
		memcpy(cfg->cluster_id, cid, KR_UUID_BYTES);
		cfg->has_cluster_id = true;
	}
	if (kr_config_finish(cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s: %s\n", who, path, err);
		return 2;
	}
	if (!cfg->has_cluster_id && strcmp(who, "kraftd format") == 0) {
		fprintf(stderr,
			"%s: %s: cluster.id: required: give -t ID (kraftd random-uuid makes one) "
			"or "
			"cluster.id in the file\n",
			who, path);
		return 2;
	}
	if (!cfg->has_cluster_id) { /* as Kafka: the formatted directory holds it */
		struct kr_identity id;

		if (kr_identity_load(NULL, cfg->log_dir, &id, err, sizeof(err)) != 0) {
			fprintf(stderr,
				"%s: %s: no cluster.id in the file, and none to take from %s (%s): "
				"format it first (kraftd format -t ID -c %s)\n",
				who, path, cfg->log_dir, err, path);
			return 2;
		}
		memcpy(cfg->cluster_id, id.cluster_id, KR_UUID_BYTES);
		cfg->has_cluster_id = true;
	}
	for (const char *w = cfg->warnings; *w;) {
		size_t n = strcspn(w, "\n");

		fprintf(stderr, "%s: %s: warning: %.*s\n", who, path, (int)n, w);
		w += n + (w[n] == '\n');
	}
	return 0;
}

/* --NAME VALUE or --NAME=VALUE at argv[*i]: sets *out (and steps *i past a separate
 * value). */
static bool
opt_value(int argc, char **argv, int *i, const char *name, const char **out)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return false;
	if (argv[*i][n] == '=') {
		*out = argv[*i] + n + 1;
		return true;
	}
	if (argv[*i][n] == '\0' && *i + 1 < argc) {
		*out = argv[++*i];
		return true;
	}
	return false;
}

/* --initial-controllers must name exactly controller.quorum.voters' ids and addresses,
 * when the configuration lists voters; with bootstrap servers, this node's entry (if it
 * is an initial voter) must be its kraftd.listener. */
static int
initial_matches_config(const struct kr_voter_set *set, const struct kr_node_config *cfg)
{
	char want[KR_VOTERS_TEXT_MAX], ep[32];
	bool same = set->n == cfg->n_voters;

	if (cfg->n_voters == 0) {
		int k = kr_voters_find(set, cfg->node_id);

		if (k < 0 || (set->v[k].ep.ip == cfg->listener.ip &&
			      set->v[k].ep.port == cfg->listener.port))
			return 0;
		kr_endpoint_format(&cfg->listener, ep, sizeof(ep));
		fprintf(stderr,
			"kraftd format: --initial-controllers gives node %d another endpoint than "
			"its kraftd.listener (%s)\n",
			cfg->node_id, ep);
		return 2;
	}

	for (int i = 0; same && i < cfg->n_voters; i++) {
		int k = kr_voters_find(set, cfg->voter_ids[i]);

		same = k >= 0 && set->v[k].ep.ip == cfg->voter_addr[i].ip &&
		       set->v[k].ep.port == cfg->voter_addr[i].port;
	}
	if (same)
		return 0;
	want[0] = '\0';
	for (int i = 0; i < cfg->n_voters; i++) {
		size_t k = strlen(want);

		kr_endpoint_format(&cfg->voter_addr[i], ep, sizeof(ep));
		snprintf(want + k, sizeof(want) - k, "%s%d@%s", i ? "," : "", cfg->voter_ids[i],
			 ep);
	}
	fprintf(stderr,
		"kraftd format: --initial-controllers must list the voters of "
		"controller.quorum.voters (%s), each with its directory id\n",
		want);
	return 2;
}

static int
cmd_format_config(int argc, char **argv)
{
	struct kr_node_config cfg;
	const char *path = NULL, *initial_text = NULL;
	bool ignore = false, standalone = false, listed = false;
	struct kr_voter_set initial = {0};
	struct kr_identity id;
	char err[1024];
	int rc;

	const char *cluster_id = NULL;
	bool joining = false;

	/* kraftd's long options, and kafka-storage.sh's short ones */
	for (int i = 0; i < argc; i++) {
		if (opt_value(argc, argv, &i, "--config", &path) ||
		    opt_value(argc, argv, &i, "-c", &path) ||
		    opt_value(argc, argv, &i, "--cluster-id", &cluster_id) ||
		    opt_value(argc, argv, &i, "-t", &cluster_id) ||
		    opt_value(argc, argv, &i, "--initial-controllers", &initial_text) ||
		    opt_value(argc, argv, &i, "-I", &initial_text))
			continue;
		if (strcmp(argv[i], "--ignore-formatted") == 0 || strcmp(argv[i], "-g") == 0)
			ignore = true;
		else if (strcmp(argv[i], "--standalone") == 0 || strcmp(argv[i], "-s") == 0)
			standalone = true;
		else if (strcmp(argv[i], "--no-initial-controllers") == 0 ||
			 strcmp(argv[i], "-N") == 0)
			joining = true;
		else if (strncmp(argv[i], "--", 2) != 0 || strchr(argv[i], '=') == NULL) {
			fprintf(stderr,
				"kraftd format: unexpected argument '%s' (kraftd --help: format)\n",
				argv[i]);
			return 2;
		}
	}
	if (standalone + (initial_text != NULL) + joining > 1) {
		fprintf(stderr, "kraftd format: --standalone, --initial-controllers and "
				"--no-initial-controllers exclude each other\n");
		return 2;
	}
	rc = load_config("kraftd format", path, argc, argv, cluster_id, &cfg);
	if (rc != 0)
		return rc;
	for (int i = 0; i < cfg.n_voters; i++)
		listed = listed || cfg.voter_ids[i] == cfg.node_id;
	if (initial_text != NULL && (parse_initial("kraftd format", initial_text, &initial) != 0 ||
				     initial_matches_config(&initial, &cfg) != 0))
		return 2;
	if (standalone && cfg.n_voters == 0) { /* bootstrap servers: its own listener */
		cfg.n_voters = 1;
		cfg.voter_ids[0] = cfg.node_id;
		cfg.voter_addr[0] = cfg.listener;
		listed = true;
	}
	if (standalone) {
		if (cfg.n_voters != 1 || !listed) {
			fprintf(stderr,
				"kraftd format: --standalone makes node %" PRId32
				" the only voter, but controller.quorum.voters lists %u "
				"voter(s)%s: "
				"use --initial-controllers\n",
				cfg.node_id, cfg.n_voters, listed ? "" : " without it");
			return 2;
		}
		initial.n = 1;
		initial.v[0].id = cfg.node_id;
		initial.v[0].ep = cfg.voter_addr[0];
		rc = kr_uuid_random(initial.v[0].dir);
		if (rc != 0) {
			fprintf(stderr, "kraftd format: random directory id: %s\n", strerror(-rc));
			return 1;
		}
	}
	rc = kr_datadir_format(NULL, cfg.log_dir, cfg.cluster_id, cfg.node_id,
			       initial.n ? &initial : NULL, NULL, ignore, &id, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "kraftd format: %s\n", err);
		return 1;
	}
	print_formatted(rc, cfg.log_dir, &id, initial.n ? &initial : NULL, listed);
	return 0;
}

/* Run a node: [start | run] [--config] FILE [--transport udp|dpdk] [--KEY=VALUE ...]; with
 * EAL options before --, DPDK. The transport is the file's kraftd.transport unless given. */
static int
cmd_run(int argc, char **argv, int eal_argc, char **eal_argv)
{
	struct kr_node_config cfg;
	struct kn_options opt = {.eal_argc = eal_argc, .eal_argv = eal_argv};
	const char *path = NULL, *transport = NULL;
	int rc;

	if (argc > 0 && (strcmp(argv[0], "start") == 0 || strcmp(argv[0], "run") == 0)) {
		argc--;
		argv++;
	}
	for (int i = 0; i < argc; i++) {
		if (opt_value(argc, argv, &i, "--config", &path) ||
		    opt_value(argc, argv, &i, "--transport", &transport))
			continue;
#ifdef KR_CRASH_TEST
		else if (strcmp(argv[i], "--test-crash-cut") == 0)
			opt.crash_cut = true;
		else if (strcmp(argv[i], "--test-crash-torn") == 0)
			opt.crash_cut = opt.crash_torn = true;
		else if (strcmp(argv[i], "--test-fail-flush-after") == 0 && i + 1 < argc) {
			int64_t v;

			if (kr_parse_i64(argv[++i], 1, INT64_MAX, &v) != 0) {
				fprintf(stderr,
					"kraftd: --test-fail-flush-after: '%s' is not a "
					"positive count\n",
					argv[i]);
				return 2;
			}
			opt.fail_flush_after = v;
		}
#endif
		else if (argv[i][0] != '-' && path == NULL)
			path = argv[i]; /* kraftd [start] FILE, as kafka-server-start.sh FILE */
		else if (strncmp(argv[i], "--", 2) != 0 || strchr(argv[i], '=') == NULL) {
			fprintf(stderr, "kraftd: unexpected argument '%s' (kraftd --help)\n",
				argv[i]);
			return 2;
		}
	}
	if (transport != NULL && strcmp(transport, "udp") != 0 && strcmp(transport, "dpdk") != 0) {
		fprintf(stderr, "kraftd: --transport %s: not udp or dpdk\n", transport);
		return 2;
	}
	rc = load_config("kraftd", path, argc, argv, NULL, &cfg);
	if (rc != 0)
		return rc;
	if (transport == NULL)
		transport = cfg.transport == KR_TRANSPORT_DPDK	? "dpdk"
			    : cfg.transport == KR_TRANSPORT_UDP ? "udp"
			    : eal_argv != NULL			? "dpdk"
								: "udp";
	if (eal_argv != NULL && strcmp(transport, "dpdk") != 0) {
		fprintf(stderr, "kraftd: EAL options before -- mean DPDK, but the transport is udp "
				"(--transport or kraftd.transport)\n");
		return 2;
	}
	if (eal_argv == NULL && strcmp(transport, "dpdk") == 0) {
		fprintf(stderr,
			"kraftd: the dpdk transport needs the EAL options before --: "
			"kraftd [EAL options] -- FILE (README: Running a cluster over DPDK)\n");
		return 2;
	}
	opt.transport = eal_argv != NULL ? KN_TRANSPORT_DPDK : KN_TRANSPORT_UDP;
	return kn_run(&cfg, &opt);
}

static int
cmd_unsafe_admit(int argc, char **argv)
{
	struct kr_node_config cfg;
	const char *path = NULL, *dir = NULL;
	struct kr_identity id;
	char err[1024];
	static const char text[] =
		"# kraftd unsafe-admit: the next start of this node votes at once; removed by it\n";
	int lock = -1, rc;

	for (int i = 0; i < argc; i++) {
		if (opt_value(argc, argv, &i, "--config", &path) ||
		    opt_value(argc, argv, &i, "--dir", &dir))
			continue;
		if (strncmp(argv[i], "--", 2) != 0 || strchr(argv[i], '=') == NULL) {
			fprintf(stderr, "kraftd unsafe-admit: unexpected argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if ((path == NULL) == (dir == NULL)) {
		fprintf(stderr, "kraftd unsafe-admit: give --config FILE or --dir DIR\n");
		return 2;
	}
	if (path != NULL) {
		rc = load_config("kraftd unsafe-admit", path, argc, argv, NULL, &cfg);
		if (rc != 0)
			return rc;
		dir = cfg.log_dir;
	}
	rc = kr_datadir_lock(dir, &lock, err, sizeof(err));
	if (rc == 0)
		rc = kr_identity_load(NULL, dir, &id, err, sizeof(err));
	if (rc == 0 &&
	    (rc = kr_write_file_atomic(NULL, dir, KR_ADMIT_FILE, text, sizeof(text) - 1)))
		snprintf(err, sizeof(err), "write %s/%s: %s", dir, KR_ADMIT_FILE, strerror(-rc));
	if (lock >= 0)
		close(lock);
	if (rc != 0) {
		fprintf(stderr, "kraftd unsafe-admit: %s\n", err);
		return 1;
	}
	fprintf(stderr,
		"kraftd unsafe-admit: WARNING: the next start of node %" PRId32
		" (%s) votes and stands for election at once, even if it lacks records the "
		"cluster acknowledged. If a majority of voters lost their data, such records may "
		"be lost for good; once a leader is elected, every other node follows its log.\n",
		id.node_id, dir);
	return 0;
}

static int
cmd_random_key(const char *path)
{
	uint8_t b[KR_AUTH_KEY_BYTES];
	char hex[2 * KR_AUTH_KEY_BYTES + 2], err[600];
	struct kr_auth_key k;
	int fd;

	if (getrandom(b, sizeof(b), 0) != (ssize_t)sizeof(b)) {
		fprintf(stderr, "kraftd random-key: no randomness: %s\n", strerror(errno));
		return 1;
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	hex[2 * KR_AUTH_KEY_BYTES] = '\n';
	hex[2 * KR_AUTH_KEY_BYTES + 1] = '\0';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, hex, strlen(hex)) != (ssize_t)strlen(hex) || fsync(fd) != 0) {
		fprintf(stderr, "kraftd random-key: %s: %s\n", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	close(fd);
	if (kr_auth_key_file(path, &k, err, sizeof(err)) != 0) {
		fprintf(stderr, "kraftd random-key: %s\n", err);
		return 1;
	}
	printf("wrote a new cluster key to %s (key id %u)\n", path, k.id);
	sodium_memzero(b, sizeof(b));
	sodium_memzero(hex, sizeof(hex));
	sodium_memzero(&k, sizeof(k));
	return 0;
}

static int
cmd_random_uuid(void)
{
	uint8_t id[KR_UUID_BYTES];
	char text[KR_UUID_TEXT_LEN + 1];
	int rc = kr_uuid_random(id);

	if (rc != 0) {
		fprintf(stderr, "kraftd random-uuid: %s\n", strerror(-rc));
		return 1;
	}
	kr_uuid_format(id, text);
	printf("%s\n", text);
	return 0;
}

int
main(int argc, char **argv)
{
	struct args a;
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (cmd == NULL) {
		usage(stderr);
		return 2;
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("kraftd %s\n", KRAFTD_VERSION);
		return 0;
	}
	if (strcmp(cmd, "--help-config") == 0) {
		kr_config_print_keys(stdout);
		return 0;
	}
	if (strcmp(cmd, "random-uuid") == 0)
		return argc == 2 ? cmd_random_uuid() : (usage(stderr), 2);
	if (strcmp(cmd, "random-key") == 0)
		return argc == 3 ? cmd_random_key(argv[2]) : (usage(stderr), 2);
	if (strcmp(cmd, "unsafe-admit") == 0)
		return cmd_unsafe_admit(argc - 2, argv + 2);
	if (strcmp(cmd, "dump") == 0)
		return kr_cmd_dump(argc - 2, argv + 2);
	/* kraftd [EAL options] -- [node options]: the EAL gets argv[0 .. i) */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			return cmd_run(argc - i - 1, argv + i + 1, i, argv);
		}
	if (strncmp(cmd, "--", 2) == 0 || strcmp(cmd, "start") == 0 || strcmp(cmd, "run") == 0)
		return cmd_run(argc - 1, argv + 1, 0, NULL);
	if (strcmp(cmd, "format") == 0) {
		for (int i = 2; i < argc; i++)
			if (strcmp(argv[i], "--config") == 0 ||
			    strncmp(argv[i], "--config=", 9) == 0 || strcmp(argv[i], "-c") == 0)
				return cmd_format_config(argc - 2, argv + 2);
	}
	if (strcmp(cmd, "format") != 0 && strcmp(cmd, "inspect") != 0) {
		if (cmd[0] != '-' && access(cmd, R_OK) == 0) /* kraftd FILE */
			return cmd_run(argc - 1, argv + 1, 0, NULL);
		fprintf(stderr,
			"kraftd: '%s' is neither a command nor a readable configuration file "
			"(kraftd --help)\n",
			cmd);
		return 2;
	}
	if (parse_args(argc - 1, argv + 1, &a) != 0) {
		fprintf(stderr, "kraftd %s: bad arguments (kraftd --help)\n", cmd);
		return 2;
	}
	return strcmp(cmd, "format") == 0 ? cmd_format(&a) : cmd_inspect(&a);
}
