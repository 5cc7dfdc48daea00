#!/usr/bin/env bash
# kraftd benchmark: commit latency while a large key-value snapshot is written, against
# the same with none, alternating (docs/BENCHMARKS.md).
#
# Usage: scripts/snapshot-latency.sh [--entries N] [--pairs P] [--seconds S]
#                                    [--transport memif|udp] [--build DIR]
#   --entries    distinct keys loaded into the kv state machine first (default 50000000:
#                16-byte records, a snapshot of about 1 GB)
#   --pairs      measurement pairs (default 5), the order alternating
#   --seconds    each measurement's length (default 6)
#   --transport  memif (DPDK, the default) or udp
# One node, memory durability, kraftd.state.machine=kv, no snapshot but the forced ones
# (kraftctl snapshot), no retention. A measurement "with" starts 0.2 s after kraftctl
# snapshot, while the apply thread freezes the state and the writer writes it; the next
# measurement waits for the file to be written.
set -u
cd "$(dirname "$0")/.." || exit 2
ENTRIES=50000000 PAIRS=5 SECS=6 TRANSPORT=memif BUILD=build
while [ $# -gt 0 ]; do
	case $1 in
	--entries) ENTRIES=$2; shift 2 ;;
	--pairs) PAIRS=$2; shift 2 ;;
	--seconds) SECS=$2; shift 2 ;;
	--transport) TRANSPORT=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "snapshot-latency: unknown argument $1 (--help)" >&2; exit 2 ;;
	esac
done
KCTL=$BUILD/tools/kraftctl/kraftctl
[ -x "$KCTL" ] || { echo "snapshot-latency: build $BUILD first" >&2; exit 2; }
export KRAFTD_BUILD=$BUILD KRAFTD_RUN=/tmp/kraftd-snapshot-latency KRAFTD_NS=ksl
export KRAFTD_ARGS="--kraftd.state.machine=kv --kraftd.log.memory.max.bytes=17179869184 \
--metadata.log.max.record.bytes.between.snapshots=0 --metadata.log.max.snapshot.interval.ms=0 \
--metadata.max.retention.bytes=-1 --metadata.max.retention.ms=-1"
MGMT=127.0.0.1:9193
trap 'scripts/cluster.sh down >/dev/null 2>&1' EXIT INT TERM

field() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print("null" if v is None else v)' "$1"; }
storage() { "$KCTL" --bootstrap-server "$MGMT" --json describe --storage 2>/dev/null; }
# p50 and p99 of a latency run, microseconds
measure() {
	scripts/cluster.sh bench --duration "$SECS" --size 16 --json >/tmp/ksl-run.json 2>/tmp/ksl-run.err ||
		{ echo "snapshot-latency: bench failed: $(tail -2 /tmp/ksl-run.err)" >&2; exit 1; }
	python3 - /tmp/ksl-run.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
print(d["commit_us"]["p50"], d["commit_us"]["p99"])
PY
}

scripts/cluster.sh down --purge >/dev/null 2>&1
scripts/cluster.sh up --nodes 1 --transport "$TRANSPORT" --durability memory >/dev/null 2>&1 ||
	{ echo "snapshot-latency: the cluster did not come up" >&2; exit 1; }
echo "loading $ENTRIES distinct keys (16-byte records, batches of 48: an append fits one memif frame)"
scripts/cluster.sh bench --records "$ENTRIES" --batch 48 --size 16 --keys "$ENTRIES" \
	--inflight 32 --warmup 0 >/tmp/ksl-load.log 2>&1 ||
	{ echo "snapshot-latency: loading failed: $(tail -2 /tmp/ksl-load.log)" >&2; exit 1; }
for _ in $(seq 1 600); do
	st=$(storage) && [ "$(printf '%s' "$st" | field applied)" = "$(printf '%s' "$st" | field log_end)" ] && break
	sleep 1
done
echo "applied: $(storage)"
snaps() { grep -c 'wrote snapshot' "$KRAFTD_RUN/n1.log"; }
with() {
	local before
	before=$(snaps)
	"$KCTL" --bootstrap-server "$MGMT" snapshot >/dev/null || { echo "snapshot-latency: kraftctl snapshot failed" >&2; exit 1; }
	sleep 0.2
	w=$(measure)
	for _ in $(seq 1 600); do [ "$(snaps)" -gt "$before" ] && break; sleep 0.5; done
	grep 'wrote snapshot' "$KRAFTD_RUN/n1.log" | tail -1 | sed 's/.*snapshot: /  /'
}
without() { o=$(measure); }
printf '%-5s %-22s %-22s %s\n' pair 'without p50/p99 us' 'with p50/p99 us' 'ratio p50 p99'
ratios=()
for p in $(seq 1 "$PAIRS"); do
	if [ $((p % 2)) -eq 1 ]; then without; with; else with; without; fi
	read -r o50 o99 <<<"$o"
	read -r w50 w99 <<<"$w"
	r50=$(python3 -c "print(f'{$w50/$o50:.2f}')")
	r99=$(python3 -c "print(f'{$w99/$o99:.2f}')")
	ratios+=("$r50 $r99")
	printf '%-5s %-22s %-22s %s %s\n' "$p" "$o50 / $o99" "$w50 / $w99" "$r50" "$r99"
done
printf '%s\n' "${ratios[@]}" | python3 -c '
import sys, statistics
r = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
print("median ratio with/without: p50 %.2f, p99 %.2f (%d pairs)" % (
    statistics.median(x[0] for x in r), statistics.median(x[1] for x in r), len(r)))'
