#!/usr/bin/env bash
# kraftd: the main job, one command. On a fresh Debian 12 machine as root it installs what
# it needs (packages, hugepages), builds, starts a 3-node cluster whose dataplanes run on
# DPDK over AF_XDP (a network namespace per node, kraftd's XDP program on each veth),
# runs kraftbench on a DPDK port of its own (commit latency beside the ping floor of both
# legs, throughput), kraftfloor (the raw transport's round trip beside the leader's), kills the leader under load and measures the failover gap, restarts
# the node, checks that every acknowledged record is readable from every node, prints a
# report, writes a latency plot (PNG) and tears down. Results stay in
# /tmp/kraftd-demo-results (or $KRAFTD_DEMO_OUT).
# Usage: scripts/demo.sh [--keep] [--transport af_xdp|udp]
#   --keep        leave the cluster up and its run directory (logs, data) for inspection
#   --transport   udp runs the same on kernel UDP (no root needed for the nodes)
set -uo pipefail
cd "$(dirname "$0")/.."
keep=0
transport=af_xdp
while [ $# -gt 0 ]; do
	case $1 in
	--keep) keep=1; shift ;;
	--transport) transport=${2:?}; shift 2 ;;
	*) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
	esac
done

scripts/setup.sh || exit 1
if [ ! -f build/build.ninja ]; then
	meson setup build >/dev/null || exit 1
fi
ninja -C build >/dev/null || { echo "demo: build failed (ninja -C build)"; exit 1; }

export KRAFTD_RUN=${KRAFTD_RUN:-$(mktemp -d /tmp/kraftd-demo.XXXXXX)}
rmdir "$KRAFTD_RUN" 2>/dev/null # cluster.sh creates it
OUT=${KRAFTD_DEMO_OUT:-/tmp/kraftd-demo-results}
mkdir -p "$OUT" || exit 1
TOP=$(pwd)
C=scripts/cluster.sh
KCTL=build/tools/kraftctl/kraftctl
say() { printf '\n== %s\n' "$*"; }
inhub() { if [ "$transport" = af_xdp ]; then ip netns exec kc-hub "$@"; else "$@"; fi; }
ip_of() { if [ "$transport" = af_xdp ]; then echo "10.77.0.$1"; else echo "127.0.0.$1"; fi; }
cleanup() {
	if [ $keep = 1 ]; then
		echo "demo: the cluster is still up in $KRAFTD_RUN; stop it with:"
		echo "  KRAFTD_RUN=$KRAFTD_RUN scripts/cluster.sh down"
	else
		$C down >/dev/null 2>&1
	fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
# a figure from kraftbench's JSON: j FILE EXPRESSION (b is the object)
j() { python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"; }

say "starting 3 nodes over $transport (memory durability) in $KRAFTD_RUN"
$C up --nodes 3 --transport "$transport" --durability memory || exit 1
$C leader >/dev/null || { echo "demo: no leader"; exit 1; }

say "commit latency beside the floor: 5000 appends one at a time, a PING after each (leader, then a follower)"
$C bench --records 5000 --ping --json --histogram "$OUT/latency.txt" >"$OUT/latency.json" ||
	{ echo "demo: kraftbench failed"; exit 1; }
j "$OUT/latency.json" '"commit us: p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f | ping leader us: p50 %.1f p99 %.1f | ping follower us: p50 %.1f | commit/ping p50 %.2fx p99 %.2fx" % (b["commit_us"]["p50"], b["commit_us"]["p90"], b["commit_us"]["p99"], b["commit_us"]["p99_9"], b["ping_leader_us"]["p50"], b["ping_leader_us"]["p99"], b["ping_follower_us"]["p50"], b["ratio_p50"], b["ratio_p99"])'

say "the raw floor: kraftfloor's bare echo beside the leader's PING, 5 pairs of 5000 round trips"
if $C floor --pairs 5 --count 5000 --json >"$OUT/floor.json" 2>"$OUT/floor.err"; then
	j "$OUT/floor.json" '"raw round trip p50 %.2f us, kraftd PING p50 %.2f us: %.2fx (spread %.2f-%.2f), p99 %.2fx; %d lost" % (b["rawP50Ns"] / 1e3, b["kraftdP50Ns"] / 1e3, b["ratioP50"]["median"], b["ratioP50"]["min"], b["ratioP50"]["max"], b["ratioP99"]["median"], b["lost"])'
else
	echo "demo: kraftfloor failed (the report goes on without the floor): $(tail -2 "$OUT/floor.err")"
	rm -f "$OUT/floor.json"
fi

say "throughput: 300000 records, 32 appends in flight of 16 records"
$C bench --records 300000 --inflight 32 --batch 16 --json >"$OUT/throughput.json" ||
	{ echo "demo: kraftbench failed"; exit 1; }
j "$OUT/throughput.json" '"%d records/s (%d appends/s), commit us p50 %.1f p99 %.1f" % (b["records_per_s"], b["commits_per_s"], b["commit_us"]["p50"], b["commit_us"]["p99"])'

L=$($C leader) || exit 1
say "failover: appending one at a time for 3 s; after 1 s kill -9 the leader (node $L)"
$C bench --duration 3 --failover "$TOP/scripts/cluster.sh kill %d >/dev/null" --kill-after 1 \
	--json >"$OUT/failover.json" || { echo "demo: kraftbench --failover failed"; exit 1; }
j "$OUT/failover.json" '"node %d took over; gap between the last commit by the old leader and the first by the new: %.1f ms = %.2fx the fetch timeout (%d ms); %d commits in the run" % (b["failover"]["new_leader"], b["failover"]["gap_ms"], b["failover"]["gap_over_fetch_timeout"], b["failover"]["fetch_timeout_ms"], b["commits"])'

say "restarting node $L: it catches up (memory mode: it votes again only once caught up)"
$C restart "$L" >/dev/null
sleep 2
$C status | tail -4

say "every acknowledged record, read from every node"
acked=$(python3 -c 'import json,sys; print(sum(json.load(open(f))["commits"] * json.load(open(f))["batch"] for f in sys.argv[1:]))' \
	"$OUT/latency.json" "$OUT/throughput.json" "$OUT/failover.json")
ok=1
first=""
for i in 1 2 3; do
	inhub "$KCTL" --bootstrap-server "$(ip_of "$i"):9193" read --from 0 >"$OUT/read-$i.txt" || ok=0
	n=$(wc -l <"$OUT/read-$i.txt")
	echo "node $i: $n records (acknowledged: $acked)"
	# a re-sent append after the failover may be in the log twice; none may be missing
	[ "$n" -ge "$acked" ] || ok=0
	[ -z "$first" ] && first=$i
	cmp -s "$OUT/read-$first.txt" "$OUT/read-$i.txt" || { echo "node $i's log differs from node $first's"; ok=0; }
done
rm -f "$OUT"/read-*.txt
[ $ok = 1 ] || { echo "demo: a node does not hold every acknowledged record"; exit 1; }

plot=""
if command -v gnuplot >/dev/null; then
	gnuplot <<GP && plot=$OUT/latency.png
set terminal pngcairo size 900,560 noenhanced
set output "$OUT/latency.png"
set title "kraftd over $transport, 3 voters, memory durability: commit latency beside the ping floor"
set xlabel "latency (us, log scale)"
set ylabel "fraction of samples at or below"
set logscale x
set key bottom right
set grid
plot "$OUT/latency.txt" index 0 using 1:2 with steps lw 2 title "commit (client-observed)", \
     "" index 1 using 1:2 with steps lw 2 title "ping to the leader", \
     "" index 2 using 1:2 with steps lw 2 title "ping to a follower"
GP
fi

say "report"
python3 - "$OUT" "$transport" "$plot" <<'PY'
import json, sys
out, transport, plot = sys.argv[1:4]
lat, tp, fo = (json.load(open(f"{out}/{n}.json")) for n in ("latency", "throughput", "failover"))
c, p = lat["commit_us"], lat["ping_leader_us"]
print(f"transport {transport} (kraftbench on a DPDK port of its own), 3 voters, memory "
      f"durability, 2 cores shared by 3 nodes and the client")
print(f"commit p50 {c['p50']:.1f} us = {lat['ratio_p50']:.2f}x the ping floor "
      f"({p['p50']:.1f} us); p99 {c['p99']:.1f} us = {lat['ratio_p99']:.2f}x; "
      f"p99.9 {c['p99_9']:.1f} us")
print(f"throughput {tp['records_per_s']} records/s of 64 bytes ({tp['commits_per_s']} appends/s "
      f"of 16, 32 in flight)")
try:
    fl = json.load(open(f"{out}/floor.json"))
    print(f"the leader's PING = {fl['ratioP50']['median']:.2f}x the raw {transport} round trip "
          f"({fl['kraftdP50Ns'] / 1e3:.2f} us against {fl['rawP50Ns'] / 1e3:.2f} us, median of "
          f"{fl['pairs']} alternating pairs)")
except (OSError, ValueError, KeyError):
    print("raw floor: not measured (kraftfloor failed)")
f = fo["failover"]
print(f"failover gap {f['gap_ms']:.1f} ms = {f['gap_over_fetch_timeout']:.2f}x the fetch "
      f"timeout ({f['fetch_timeout_ms']:.0f} ms)")
print("latency plot: " + (plot or "(no gnuplot: scripts/setup.sh installs gnuplot-nox)"))
print(f"figures: {out}/*.json")
PY
echo
echo "demo: OK"
