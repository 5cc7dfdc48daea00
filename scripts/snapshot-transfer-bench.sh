#!/usr/bin/env bash
# kraftd benchmark: an empty follower catching up from a large snapshot (FetchSnapshot),
# against the raw transport's bulk throughput measured in the same run
# (docs/BENCHMARKS.md).
#
# Usage: scripts/snapshot-transfer-bench.sh [--entries N] [--runs R]
#                                           [--transport memif|af_xdp] [--build DIR]
#   --entries    distinct keys loaded into the kv state machine first (default 50000000:
#                16-byte records, a snapshot of about 1 GB)
#   --runs       measurements (default 3): each the bulk floor, then the follower
#   --transport  memif (default) or af_xdp
# Three voters (a restarted one is amnesiac: the other two keep a leader), memory
# durability (a restarted follower is empty, and the leader names its snapshot to an
# empty fetcher), kraftd.state.machine=kv, election and fetch timeouts of 1 and 2 s, a
# snapshot forced on every node (leadership may still move on 2 cores with three
# pollers). A run: `kraftfloor --bulk` (datagrams of 1400 bytes through a bare echo, as
# many bytes as the snapshot; each byte crosses twice), then the follower restarted: its
# log's "received snapshot ... in T s (R MB/s)" is the transfer from its first request
# to the file written, synced, checked and named. The ratio of each run, and the median.
set -uo pipefail
cd "$(dirname "$0")/.."
ENTRIES=50000000 RUNS=3 TRANSPORT=memif BUILD=build
while [ $# -gt 0 ]; do
	case $1 in
	--entries) ENTRIES=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--transport) TRANSPORT=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	-h | --help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "snapshot-transfer-bench: unknown argument $1 (--help)" >&2; exit 2 ;;
	esac
done
KCTL=$BUILD/tools/kraftctl/kraftctl
[ -x "$KCTL" ] || { echo "snapshot-transfer-bench: build $BUILD first" >&2; exit 2; }
export KRAFTD_BUILD=$BUILD KRAFTD_RUN=/tmp/kraftd-snapshot-transfer KRAFTD_NS=kst
export KRAFTD_ARGS="--kraftd.state.machine=kv --kraftd.log.memory.max.bytes=17179869184 \
--metadata.log.max.record.bytes.between.snapshots=0 --metadata.log.max.snapshot.interval.ms=0 \
--metadata.max.retention.bytes=-1 --metadata.max.retention.ms=-1"
trap 'scripts/cluster.sh down >/dev/null 2>&1' EXIT INT TERM
die() { echo "snapshot-transfer-bench: $*" >&2; exit 1; }
field() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print("null" if v is None else v)' "$1"; }
mgmt_all() { if [ "$TRANSPORT" = af_xdp ]; then echo 10.77.0.1:9193,10.77.0.2:9193,10.77.0.3:9193; else echo 127.0.0.1:9193,127.0.0.2:9193,127.0.0.3:9193; fi; }
kctl() {
	if [ "$TRANSPORT" = af_xdp ]; then
		ip netns exec "$KRAFTD_NS-hub" "$KCTL" --bootstrap-server "$(mgmt_all)" "$@"
	else
		"$KCTL" --bootstrap-server "$(mgmt_all)" "$@"
	fi
}
storage() { kctl --json describe --storage --node "$1" 2>/dev/null; }

scripts/cluster.sh down --purge >/dev/null 2>&1
# timeouts 10x the defaults: three pollers on two cores, and a load of minutes that an
# election would end (the transfer itself never waits on a timeout)
scripts/cluster.sh up --nodes 3 --transport "$TRANSPORT" --durability memory \
	--election-timeout-ms 1000 --fetch-timeout-ms 2000 >/dev/null 2>&1 ||
	die "the cluster did not come up"
echo "loading $ENTRIES distinct keys (16-byte records)"
scripts/cluster.sh bench --records "$ENTRIES" --batch 48 --size 16 --keys "$ENTRIES" \
	--inflight 32 --warmup 0 >/tmp/kst-load.log 2>&1 ||
	die "loading failed: $(tail -2 /tmp/kst-load.log)"
L=$(scripts/cluster.sh leader) || die "no leader after loading"
for _ in $(seq 1 900); do
	st=$(storage "$L") && [ "$(printf '%s' "$st" | field applied)" = "$(printf '%s' "$st" | field log_end)" ] && break
	sleep 1
done
# every node takes one: whichever leads names its own (leadership may move meanwhile)
kctl snapshot >/dev/null || die "kraftctl snapshot failed"
for i in 1 2 3; do
	for _ in $(seq 1 900); do grep -q 'wrote snapshot' "$KRAFTD_RUN/n$i.log" && break; sleep 1; done
	grep -q 'wrote snapshot' "$KRAFTD_RUN/n$i.log" || die "node $i wrote no snapshot"
done
L=$(scripts/cluster.sh leader) || die "no leader"
BYTES=$(storage "$L" | field snapshot_bytes)
echo "leader $L's snapshot: $(grep 'wrote snapshot' "$KRAFTD_RUN/n$L.log" | tail -1 | sed 's/.*snapshot: //')"
got() { grep -c 'received snapshot' "$KRAFTD_RUN/n$F.log" 2>/dev/null || true; }
loaded() { grep -c 'loaded the snapshot' "$KRAFTD_RUN/n$F.log" 2>/dev/null || true; }
printf '%-4s %-14s %-16s %s\n' run 'bulk MB/s' 'snapshot MB/s' 'ratio'
ratios=()
for r in $(seq 1 "$RUNS"); do
	L=$(scripts/cluster.sh leader) || die "no leader"
	F=$((L % 3 + 1))
	b=$(scripts/cluster.sh floor --node "$F" --bulk "$BYTES" --pairs 1 2>&1 |
		sed -n 's/.*median \([0-9.]*\) MB\/s.*/\1/p')
	[ -n "$b" ] || die "the bulk floor gave no figure"
	before=$(got)
	before_loaded=$(loaded)
	scripts/cluster.sh restart "$F" >/dev/null 2>&1 || die "restart of node $F"
	for _ in $(seq 1 600); do [ "$(got)" -gt "$before" ] && break; sleep 0.5; done
	[ "$(got)" -gt "$before" ] || die "node $F took no snapshot (from leader $L)"
	s=$(grep 'received snapshot' "$KRAFTD_RUN/n$F.log" | tail -1 | sed -n 's/.*(\([0-9.]*\) MB\/s.*/\1/p')
	for _ in $(seq 1 600); do [ "$(loaded)" -gt "$before_loaded" ] && break; sleep 0.5; done
	ratio=$(python3 -c "print('%.2f' % ($s / $b))")
	ratios+=("$ratio")
	printf '%-4s %-14s %-16s %s\n' "$r" "$b" "$s" "$ratio"
	grep 'received snapshot' "$KRAFTD_RUN/n$F.log" | tail -1 | sed 's/.*snapshot: /     /'
done
python3 -c "import statistics,sys; v=[float(x) for x in sys.argv[1:]]; print('median snapshot/bulk ratio %.2f (runs %s), %s bytes over %s' % (statistics.median(v), ' '.join(sys.argv[1:]), '$BYTES', '$TRANSPORT'))" "${ratios[@]}"
