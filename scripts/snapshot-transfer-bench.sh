#!/usr/bin/env bash
# kraftd benchmark: an empty follower catching up from a large snapshot (FetchSnapshot),
# against the raw transport's bulk throughput measured in the same run
# (docs/BENCHMARKS.md).
#
# Usage: scripts/snapshot-transfer-bench.sh [--entries N] [--size B] [--runs R]
#                                           [--transport memif|af_xdp] [--build DIR]
#   --entries    distinct keys loaded into the kv state machine first (default 8400000)
#   --size       bytes per record, its 8-byte key included (default 120: with the default
#                entries, a snapshot of about 1 GB; three nodes' states, each with the
#                frozen copy a snapshot is written from, fit 24 GiB, which 50 M 16-byte
#                records did not)
#   --runs       measurements (default 3): each the bulk floor, then the follower
#   --transport  memif (default) or af_xdp
# Three voters (a restarted one is amnesiac: the other two keep a leader), memory
# durability (a restarted follower is empty, and the leader names its snapshot to an
# empty fetcher), kraftd.state.machine=kv, election and fetch timeouts of 1 and 2 s, a
# snapshot forced on every node (leadership may still move on 2 cores with three
# pollers). A run: `kraftfloor --bulk` (datagrams of 1400 bytes through a bare echo, as
# many bytes as the snapshot; each byte crosses twice), the same with --bulk-acks (the
# echo answers each with 64 bytes: the data crosses once), then the follower restarted: its
# log's "received snapshot ... in T s (R MB/s)" is the transfer from its first request
# to the file written, synced, checked and named. The ratio of each run, and the median.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
ENTRIES=8400000 SIZE=120 RUNS=3 TRANSPORT=memif BUILD=build
while [ $# -gt 0 ]; do
	case $1 in
	--entries) ENTRIES=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--transport) TRANSPORT=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	-h | --help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
# batches of at most 768 bytes of records: one frame on every transport
BATCH=$((768 / SIZE > 0 ? 768 / SIZE : 1))
echo "loading $ENTRIES distinct keys ($SIZE-byte records, $BATCH a batch)"
scripts/cluster.sh bench --records "$ENTRIES" --batch "$BATCH" --size "$SIZE" --keys "$ENTRIES" \
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
# the bulk floor beside follower F, MB/s (extra kraftfloor options in "$@")
floor_mbs() {
	local v
	v=$(scripts/cluster.sh floor --node "$F" --bulk "$BYTES" "$@" --pairs 1 2>&1 |
		sed -n 's/.*median \([0-9.]*\) MB\/s.*/\1/p')
	[ -n "$v" ] && echo "$v"
}
got() { grep -c 'received snapshot' "$KRAFTD_RUN/n$F.log" 2>/dev/null || true; }
loaded() { grep -c 'loaded the snapshot' "$KRAFTD_RUN/n$F.log" 2>/dev/null || true; }
printf '%-4s %-12s %-12s %-14s %-12s %s\n' run 'bulk MB/s' 'acked MB/s' 'snapshot MB/s' \
	'/bulk' '/acked'
ratios=() acked_ratios=()
for r in $(seq 1 "$RUNS"); do
	L=$(scripts/cluster.sh leader) || die "no leader"
	# a follower on the other core than the leader's (cluster.sh puts nodes 1, 2, 3 on
	# cores 0, 1, 0): on one core the two take turns and the figure halves
	F=$([ "$L" = 2 ] && echo 1 || echo 2)
	b=$(floor_mbs) || die "the bulk floor gave no figure"
	a=$(floor_mbs --bulk-acks) || die "the acknowledged bulk floor gave no figure"
	before=$(got)
	before_loaded=$(loaded)
	scripts/cluster.sh restart "$F" >/dev/null 2>&1 || die "restart of node $F"
	for _ in $(seq 1 600); do [ "$(got)" -gt "$before" ] && break; sleep 0.5; done
	[ "$(got)" -gt "$before" ] || die "node $F took no snapshot (from leader $L)"
	s=$(grep 'received snapshot' "$KRAFTD_RUN/n$F.log" | tail -1 | sed -n 's/.*(\([0-9.]*\) MB\/s.*/\1/p')
	for _ in $(seq 1 600); do [ "$(loaded)" -gt "$before_loaded" ] && break; sleep 0.5; done
	ratio=$(python3 -c "print('%.2f' % ($s / $b))")
	acked=$(python3 -c "print('%.2f' % ($s / $a))")
	ratios+=("$ratio")
	acked_ratios+=("$acked")
	printf '%-4s %-12s %-12s %-14s %-12s %s\n' "$r" "$b" "$a" "$s" "$ratio" "$acked"
	grep 'received snapshot' "$KRAFTD_RUN/n$F.log" | tail -1 | sed 's/.*snapshot: /     /'
done
med() { python3 -c "import statistics,sys; print('%.2f' % statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
echo "median snapshot/bulk ratio $(med "${ratios[@]}") (runs ${ratios[*]}), snapshot/acked" \
	"$(med "${acked_ratios[@]}") (runs ${acked_ratios[*]}), $BYTES bytes over $TRANSPORT"
