#!/usr/bin/env bash
# kraftd: the main job, one command. On a fresh Debian 12 machine as root it installs what
# it needs (packages, hugepages), builds, starts a 3-node cluster whose dataplanes run on
# DPDK over AF_XDP (a network namespace per node, kraftd's XDP program on each veth),
# measures commit latency beside the ping floor of the same port and the throughput,
# kills the leader and measures the failover, restarts the node, checks that every
# acknowledged record is readable from every node, prints a report and tears down.
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
C=scripts/cluster.sh
BENCH=build/tools/kraftbench/kraftbench
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

say "starting 3 nodes over $transport (memory durability) in $KRAFTD_RUN"
$C up --nodes 3 --transport "$transport" --durability memory || exit 1
L=$($C leader) || { echo "demo: no leader"; exit 1; }

say "commit latency beside the floor: 5000 appends one at a time, PINGs to the same port in between"
inhub "$BENCH" --bootstrap-server "$(ip_of 1):9193" --records 5000 --ping --json >"/tmp/kraftd-demo-lat.$$" ||
	{ echo "demo: kraftbench failed"; exit 1; }
lat=$(cat "/tmp/kraftd-demo-lat.$$")
rm -f "/tmp/kraftd-demo-lat.$$"
python3 -c 'import json,sys; b=json.loads(sys.argv[1]); c,p=b["commit_us"],b["ping_us"]; print("commit us p50 %.1f p90 %.1f p99 %.1f p99.9 %.1f | ping us p50 %.1f p99 %.1f | commit/ping p50 %.2fx p99 %.2fx" % (c["p50"], c["p90"], c["p99"], c["p99_9"], p["p50"], p["p99"], b["ratio_p50"], b["ratio_p99"]))' "$lat"

say "throughput: 20000 appends, 16 in flight"
tp=$(inhub "$BENCH" --bootstrap-server "$(ip_of 1):9193" --records 20000 --inflight 16 --json) ||
	{ echo "demo: kraftbench failed"; exit 1; }
python3 -c 'import json,sys; b=json.loads(sys.argv[1]); print("%d commits/s, commit us p50 %.1f p99 %.1f" % (b["commits_per_s"], b["commit_us"]["p50"], b["commit_us"]["p99"]))' "$tp"

say "failover: kill -9 the leader (node $L)"
L=$($C leader) || exit 1
t0=$(date -u +%s.%N)
$C kill "$L"
N=$($C leader) || { echo "demo: no new leader"; exit 1; }
gap=$(python3 - "$t0" "$KRAFTD_RUN/n$N.log" <<'PY'
import sys, datetime
t0 = float(sys.argv[1])
line = [l for l in open(sys.argv[2]) if "-> leader" in l][-1]
t = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
print("%.0f" % ((t.replace(tzinfo=datetime.timezone.utc).timestamp() - t0) * 1000))
PY
)
echo "node $N took office $gap ms after the kill (fetch timeout 200 ms)"
inhub "$KCTL" --bootstrap-server "$(ip_of "$N"):9193" append after-failover >/dev/null ||
	{ echo "demo: append after failover failed"; exit 1; }

say "restarting node $L: it catches up (memory mode: it votes again only once caught up)"
$C restart "$L" >/dev/null
sleep 2
$C status | tail -4

say "every acknowledged record, read from every node"
want=$((5000 + 20000 + 1))
ok=1
for i in 1 2 3; do
	n=$(inhub "$KCTL" --bootstrap-server "$(ip_of "$i"):9193" read --from 0 | wc -l)
	echo "node $i: $n records (acknowledged: $want)"
	[ "$n" = "$want" ] || ok=0
done
[ $ok = 1 ] || { echo "demo: a node does not hold every acknowledged record"; exit 1; }

say "report"
python3 - "$lat" "$tp" "$gap" "$transport" <<'PY'
import json, sys
lat, tp = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("transport %s, 3 voters, memory durability, 2 cores shared by 3 nodes" % sys.argv[4])
print("commit p50 %.1f us = %.2fx the ping floor (%.1f us); p99 %.1f us = %.2fx"
      % (lat["commit_us"]["p50"], lat["ratio_p50"], lat["ping_us"]["p50"],
         lat["commit_us"]["p99"], lat["ratio_p99"]))
print("throughput %d commits/s (16 in flight); failover %s ms after kill -9" %
      (tp["commits_per_s"], sys.argv[3]))
PY
echo
echo "demo: OK"
