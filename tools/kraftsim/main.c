/* kraftsim: command line. Runs seeds S..S+K-1 of a simulated cluster, stops at the first
 * broken invariant, and ends with a one-line summary that other tools read. */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "kraft/bugs.h"
#include "sim.h"

uint64_t kr_sim_bugs;

static const struct {
	const char *name;
	const char *text;
} bugs[KR_BUG_COUNT] = {
#define KR_BUG_ROW(n, t) {#n, t},
	KR_BUG_TABLE(KR_BUG_ROW)
#undef KR_BUG_ROW
};

/* The command that runs seed alone with every option that shapes the run. */
static void
format_replay(const struct sim_opts *o, uint64_t seed, char *buf, size_t n)
{
	size_t k = (size_t)snprintf(buf, n,
				    "kraftsim --nodes %d --observers %d --durability %s --seed "
				    "%" PRIu64 " --seeds 1 --steps %" PRIu64 "%s%s%s%s",
				    o->nodes, o->observers, o->memory ? "memory" : "disk", seed,
				    o->steps, o->voter_changes ? " --voter-changes" : "",
				    o->snapshots ? " --snapshots" : "", o->auth ? " --auth" : "",
				    o->no_send_checks ? " --no-send-checks" : "");

	if (o->dgram && k < n)
		k += (size_t)snprintf(buf + k, n - k, " --dgram %u", o->dgram);
	if (o->zero_copy && k < n)
		k += (size_t)snprintf(buf + k, n - k, " --zero-copy");

	for (int b = 0; b < KR_BUG_COUNT && k < n; b++)
		if (o->bugs & (1ull << b))
			k += (size_t)snprintf(buf + k, n - k, " --bug %s", bugs[b].name);
	if (o->sabotage && k < n)
		k += (size_t)snprintf(buf + k, n - k, " --sabotage %s", sabotage_name(o->sabotage));
	if (o->faults && k < n) {
		const char *sep = " --faults ";

		for (int f = 0; f < SIM_FAULT_KINDS && k < n; f++)
			if (!(o->faults & (1u << f))) {
				k += (size_t)snprintf(buf + k, n - k, "%s%s", sep,
						      sim_fault_names[f]);
				sep = ",";
			}
	}
	if (o->abort_at_step && k < n)
		snprintf(buf + k, n - k, " --abort-at-step %" PRIu64, o->abort_at_step);
}

/* --faults a,b,c: the kinds kept; returns the mask of those left out, or -1. */
static int64_t
parse_faults(const char *list)
{
	uint32_t keep = 0;
	char buf[256], *save = NULL;

	if (snprintf(buf, sizeof(buf), "%s", list) >= (int)sizeof(buf))
		return -1;
	for (char *w = strtok_r(buf, ",", &save); w != NULL; w = strtok_r(NULL, ",", &save)) {
		int f = 0;

		while (f < SIM_FAULT_KINDS && strcmp(w, sim_fault_names[f]) != 0)
			f++;
		if (f == SIM_FAULT_KINDS) {
			fprintf(stderr, "kraftsim: --faults: unknown fault kind '%s'\n", w);
			return -1;
		}
		keep |= 1u << f;
	}
	return (int64_t)(~keep & ((1u << SIM_FAULT_KINDS) - 1));
}

static const struct sim_opts *running_opts;

/* A core's assertion (or any abort) inside a seed: say which seed, what led there and how
 * to replay it, then die of the signal as before. The abort comes from the simulator's
 * own thread between steps' stdio calls, so stdio is usable here. */
static void
on_abort(int sig)
{
	const struct sim *s = sim_current;
	char replay[512];

	fflush(stdout);
	if (s != NULL && running_opts != NULL) {
		printf("kraftsim: CORE ASSERTION in seed %" PRIu64 " at step %" PRIu64
		       " (an invariant of the cores broke; its message is above)\n",
		       s->seed, s->steps);
		sim_print_faults(s, stdout);
		sim_print_trace(s, stdout);
		format_replay(running_opts, s->seed, replay, sizeof(replay));
		printf("replay: %s\n", replay);
		fflush(stdout);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: kraftsim [--nodes N] [--observers K] [--durability disk|memory]\n"
		"                [--seed S] [--seeds K] [--steps T] [--bug NAME]...\n"
		"                [--sabotage NAME] [--auth] [--no-send-checks] [--verbose]\n"
		"                [--faults KIND,...] [--voter-changes] [--snapshots]\n"
		"                [--dgram BYTES]\n"
		"       kraftsim --list-bugs | --list-sabotage\n"
		"\n"
		"Runs seeds S..S+K-1 (default 1, 1) of an N-voter (default 3) cluster with K\n"
		"observers through T steps (default 20000) of faults -- loss, duplication, bit\n"
		"flips, reordering, delay, partitions, crashes that lose unflushed data, pauses,\n"
		"clock jumps, failing syncs, full and re-formatted disks, one thread stopped\n"
		"alone -- then heals everything and checks that it recovers. Every\n"
		"invariant is checked after every step; the first violation stops the run with\n"
		"its seed, the faults in force and the last events. The same seed replays the\n"
		"same run. A single seed's faults are printed at its start.\n"
		"\n"
		"Disk mode: a crash loses what was not flushed, and a restart may find part of\n"
		"the log damaged. Memory mode: a crash loses the whole log. Faults that lose\n"
		"data never leave fewer than a majority of voters with their logs.\n"
		"\n"
		"  --bug NAME       plant a bug in the cores (repeatable); --list-bugs names them\n"
		"  --sabotage NAME  corrupt the simulator's view of the world once, to prove a\n"
		"                   checker fires; --list-sabotage names them\n"
		"  --voter-changes  an operator changes the voter set while the faults go on:\n"
		"                   adds observers and re-formatted nodes, removes voters (the\n"
		"                   leader too), moves endpoints, one VOTERS_CHANGE at a time\n"
		"                   (sometimes impatient); checked: one change pending, each\n"
		"                   after the leader's first commit, commits counted under the\n"
		"                   set in force, a removed leader appending nothing more\n"
		"  --dgram BYTES    the nodes' datagrams carry at most BYTES (400..65507): a\n"
		"                   larger message (a fetch answer, a snapshot chunk) goes as\n"
		"                   fragments, put together by the receiver under the same\n"
		"                   faults; checked as every frame: no well-formed one refused\n"
		"  --zero-copy      the nodes send fetch answers' records from log memory, as\n"
		"                   over memif: pinned, and read only when the datagram leaves\n"
		"                   the network (a late device), truncations and restarts in\n"
		"                   between; checked as every frame (a byte written over while\n"
		"                   pinned is a well-formed frame refused)\n"
		"  --snapshots      every node applies its committed log to a digest state\n"
		"                   machine, takes snapshots at random applied offsets, moves\n"
		"                   its log start to them (a small retention limit, a 300 ms\n"
		"                   dedup window) and restarts from them; checked: every node's\n"
		"                   state at a batch's end equals the first node's there, only\n"
		"                   committed batches applied, no snapshot past the HW, the log\n"
		"                   start never past a kept snapshot, a restart finds one at\n"
		"                   or past its log start, a retry inside the window never\n"
		"                   committed twice\n"
		"  --auth           with a cluster key: every frame sealed and checked (peer\n"
		"                   authentication), duplicates then refused as replays\n"
		"  --no-send-checks skip the checks that judge a control frame as it leaves\n"
		"                   against the quorum-state file, so a persist-then-send bug\n"
		"                   shows only if a crash falls between the two actions\n"
		"  --faults LIST    only these fault kinds (comma-separated; default all):\n"
		"                   crash split one-way isolate pause jump storage reformat\n"
		"                   thread. Message faults and disk damage stay either way\n"
		"  --verbose        print each seed's fault profile and every step\n"
		"  --abort-at-step T  abort() at step T, as a core's assertion would (tests the\n"
		"                   report: seed, last events, replay line; exit by SIGABRT)\n"
		"\n"
		"Exit 0 if no invariant broke, 1 if one did, 2 on bad arguments; a core's\n"
		"assertion kills it with SIGABRT after printing its seed and replay line.\n"
		"Last line:\n"
		"kraftsim: seeds=K violations=V commits=C elections=E steps_per_s=R\n");
}

static int
parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	v = strtoull(s, &end, 10);
	if (*end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"nodes", required_argument, NULL, 'n'},
		{"observers", required_argument, NULL, 'o'},
		{"durability", required_argument, NULL, 'd'},
		{"seed", required_argument, NULL, 's'},
		{"seeds", required_argument, NULL, 'k'},
		{"steps", required_argument, NULL, 't'},
		{"bug", required_argument, NULL, 'b'},
		{"list-bugs", no_argument, NULL, 'l'},
		{"sabotage", required_argument, NULL, 'x'},
		{"list-sabotage", no_argument, NULL, 'L'},
		{"verbose", no_argument, NULL, 'v'},
		{"auth", no_argument, NULL, 'A'},
		{"no-send-checks", no_argument, NULL, 'N'},
		{"voter-changes", no_argument, NULL, 'V'},
		{"snapshots", no_argument, NULL, 'P'},
		{"dgram", required_argument, NULL, 'G'},
		{"zero-copy", no_argument, NULL, 'Z'},
		{"abort-at-step", required_argument, NULL, 'S'},
		{"faults", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct sim_opts o = {.nodes = 3, .steps = 20000};
	uint64_t seed = 1, seeds = 1, v, ran = 0, commits = 0, elections = 0, steps = 0;
	uint64_t violations = 0, changes = 0, removed_leaders = 0, snaps = 0, retained = 0;
	uint64_t installs = 0, fragmented = 0, whole = 0, zero_copy = 0;
	struct timespec t0, t1;
	char replay[512];
	double secs;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (parse_u64(optarg, 1, KR_VOTERS_MAX, &v) != 0) {
				fprintf(stderr, "kraftsim: --nodes must be 1..%d\n", KR_VOTERS_MAX);
				return 2;
			}
			o.nodes = (int)v;
			break;
		case 'o':
			if (parse_u64(optarg, 0, KR_OBSERVERS_MAX, &v) != 0) {
				fprintf(stderr, "kraftsim: --observers must be 0..%d\n",
					KR_OBSERVERS_MAX);
				return 2;
			}
			o.observers = (int)v;
			break;
		case 'd':
			if (strcmp(optarg, "disk") != 0 && strcmp(optarg, "memory") != 0) {
				fprintf(stderr, "kraftsim: --durability must be disk or memory\n");
				return 2;
			}
			o.memory = strcmp(optarg, "memory") == 0;
			break;
		case 's':
			if (parse_u64(optarg, 0, UINT64_MAX / 2, &seed) != 0) {
				fprintf(stderr, "kraftsim: --seed must be a number\n");
				return 2;
			}
			break;
		case 'k':
			if (parse_u64(optarg, 1, UINT32_MAX, &seeds) != 0) {
				fprintf(stderr, "kraftsim: --seeds must be at least 1\n");
				return 2;
			}
			break;
		case 't':
			if (parse_u64(optarg, 1, UINT64_MAX / 2, &o.steps) != 0) {
				fprintf(stderr, "kraftsim: --steps must be at least 1\n");
				return 2;
			}
			break;
		case 'b': {
			int k;

			for (k = 0; k < KR_BUG_COUNT && strcasecmp(optarg, bugs[k].name) != 0; k++)
				;
			if (k == KR_BUG_COUNT) {
				fprintf(stderr, "kraftsim: no bug named '%s' (--list-bugs)\n",
					optarg);
				return 2;
			}
			o.bugs |= 1ull << k;
			break;
		}
		case 'l':
			for (int k = 0; k < KR_BUG_COUNT; k++)
				printf("%s\n", bugs[k].name);
			return 0;
		case 'x':
			if ((o.sabotage = sabotage_find(optarg)) == 0) {
				fprintf(stderr,
					"kraftsim: no sabotage named '%s' (--list-sabotage)\n",
					optarg);
				return 2;
			}
			break;
		case 'L':
			sabotage_list(stdout);
			return 0;
		case 'v':
			o.verbose = true;
			break;
		case 'A':
			o.auth = true;
			break;
		case 'N':
			o.no_send_checks = true;
			break;
		case 'V':
			o.voter_changes = true;
			break;
		case 'P':
			o.snapshots = true;
			break;
		case 'Z':
			o.zero_copy = true;
			break;
		case 'G':
			if (parse_u64(optarg, 400, KR_WIRE_UDP_PAYLOAD_MAX, &v) != 0) {
				fprintf(stderr, "kraftsim: --dgram must be 400..%u\n",
					KR_WIRE_UDP_PAYLOAD_MAX);
				return 2;
			}
			o.dgram = (uint32_t)v;
			break;
		case 'F': {
			int64_t m = parse_faults(optarg);

			if (m < 0)
				return 2;
			o.faults = (uint32_t)m;
			break;
		}
		case 'S':
			if (parse_u64(optarg, 1, UINT64_MAX / 2, &o.abort_at_step) != 0) {
				fprintf(stderr, "kraftsim: --abort-at-step must be at least 1\n");
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
		fprintf(stderr, "kraftsim: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	kr_sim_bugs = o.bugs;
	o.show_profile = seeds == 1; /* a sweep shows a seed's faults with its violation */
	for (int k = 0; k < KR_BUG_COUNT; k++)
		if (o.bugs & (1ull << k))
			printf("kraftsim: planted bug %s: %s\n", bugs[k].name, bugs[k].text);
	if (o.sabotage)
		printf("kraftsim: sabotage %s: %s\n", sabotage_name(o.sabotage),
		       sabotage_text(o.sabotage));

	running_opts = &o;
	signal(SIGABRT, on_abort);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (uint64_t i = 0; i < seeds; i++) {
		struct sim *s = NULL;
		int rc = sim_run(&o, seed + i, &s);

		ran++;
		commits += s->commits;
		elections += s->elections;
		changes += s->op.done;
		snaps += s->snapshots;
		retained += s->retained;
		installs += s->installs;
		removed_leaders += s->op.removed_leader;
		steps += s->steps;
		if (rc != 0) {
			violations++;
			printf("kraftsim: VIOLATION in seed %" PRIu64 " at step %" PRIu64 ": %s\n",
			       s->seed, s->steps, s->violation);
			sim_print_faults(s, stdout);
			sim_print_trace(s, stdout);
			format_replay(&o, s->seed, replay, sizeof(replay));
			printf("replay: %s\n", replay);
			sim_free(s);
			break;
		}
		if (o.sabotage && !s->sabotaged)
			printf("kraftsim: seed %" PRIu64 ": sabotage %s found no moment to act\n",
			       s->seed, sabotage_name(o.sabotage));
		sim_tally(s);
		fragmented += s->fragmented;
		whole += s->whole;
		zero_copy += s->zero_copy_frames;
		sim_free(s);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (o.snapshots)
		printf("kraftsim: snapshots taken %" PRIu64
		       ", segments deleted by retention %" PRIu64
		       ", snapshots installed from a leader %" PRIu64 "\n",
		       snaps, retained, installs);
	if (o.dgram)
		printf("kraftsim: messages sent in fragments %" PRIu64 ", put together %" PRIu64
		       "\n",
		       fragmented, whole);
	if (o.zero_copy)
		printf("kraftsim: frames sent with their records from log memory %" PRIu64 "\n",
		       zero_copy);
	if (o.voter_changes)
		printf("kraftsim: voter changes done %" PRIu64 " (a leader removing itself %" PRIu64
		       ")\n",
		       changes, removed_leaders);
	printf("kraftsim: seeds=%" PRIu64 " violations=%" PRIu64 " commits=%" PRIu64
	       " elections=%" PRIu64 " steps_per_s=%.0f\n",
	       ran, violations, commits, elections, secs > 0 ? (double)steps / secs : 0.0);
	return violations ? 1 : 0;
}
