#!/usr/bin/env bash
# kraftd: the main job, one command. On a fresh Debian 12 machine as root it installs
# what it needs, builds, starts a 3-node cluster on this machine, appends and reads,
# measures commit latency, kills the leader, shows the failover and the catch-up, checks
# every acknowledged record is readable from every node, and tears everything down.
# Today the cluster runs over kernel UDP on 127.0.0.1-3 (the DPDK dataplane comes next).
# Usage: scripts/demo.sh [--keep]   (--keep: leave the run directory for inspection)
set -uo pipefail
cd "$(dirname "$0")/.."
keep=${1:-}

scripts/setup.sh || exit 1
if [ ! -f build/build.ninja ]; then
	meson setup build -Dcrash_test=true >/dev/null || exit 1
fi
ninja -C build >/dev/null || { echo "demo: build failed (ninja -C build)"; exit 1; }

KRAFTD=$(pwd)/build/kraftd
KCTL=$(pwd)/build/tools/kraftctl/kraftctl
RUN=$(mktemp -d /tmp/kraftd-demo.XXXXXX)
PORT=9093
declare -A PID=()
cleanup() {
	for i in "${!PID[@]}"; do kill -9 "${PID[$i]}" 2>/dev/null; done
	wait 2>/dev/null
	if [ "$keep" = --keep ]; then echo "demo: run directory kept: $RUN"; else rm -rf "$RUN"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
say() { printf '\n== %s\n' "$*"; }
servers="127.0.0.1:$((PORT + 100)),127.0.0.2:$((PORT + 100)),127.0.0.3:$((PORT + 100))"
start() {
	"$KRAFTD" --transport udp --config "$RUN/n$1.properties" 2>>"$RUN/n$1.log" &
	PID[$1]=$!
}
leader() {
	for _ in $(seq 1 100); do
		l=$("$KCTL" --bootstrap-server "$servers" --timeout-ms 1000 --json describe --status \
			2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["leaderId"])' \
			2>/dev/null) && [ "${l:--1}" -ge 1 ] && [ -n "${PID[$l]:-}" ] && { echo "$l"; return 0; }
		sleep 0.1
	done
	return 1
}

say "formatting 3 nodes in $RUN (3 nodes share this machine's $(nproc) cores)"
CID=$("$KRAFTD" random-uuid)
for i in 1 2 3; do
	cat >"$RUN/n$i.properties" <<EOF
node.id=$i
cluster.id=$CID
controller.quorum.voters=1@127.0.0.1:$PORT,2@127.0.0.2:$PORT,3@127.0.0.3:$PORT
metadata.log.dir=$RUN/n$i
controller.quorum.election.timeout.ms=100
controller.quorum.fetch.timeout.ms=200
controller.quorum.election.backoff.max.ms=100
EOF
	"$KRAFTD" format --config "$RUN/n$i.properties" || exit 1
done

say "starting the cluster (logs: $RUN/n*.log)"
for i in 1 2 3; do start "$i"; done
L=$(leader) || { echo "demo: no leader"; exit 1; }
"$KCTL" --bootstrap-server "$servers" describe --status

say "appending 3 records"
"$KCTL" --bootstrap-server "$servers" append hello kraftd world || exit 1

say "commit latency: 3000 appends, one at a time (disk durability: each commit waits for fsyncs)"
"$KCTL" --bootstrap-server "$servers" --repeat 3000 append x || exit 1
"$KCTL" --bootstrap-server "$servers" describe --replication

say "failover: kill -9 the leader (node $L)"
t0=$(date -u +%s.%N)
kill -9 "${PID[$L]}"
wait "${PID[$L]}" 2>/dev/null
unset "PID[$L]"
N=$(leader) || { echo "demo: no new leader"; exit 1; }
# from the new leader's own log line: the kill to the new leader taking office
ms=$(python3 - "$t0" "$RUN/n$N.log" <<'PY'
import sys, datetime
t0 = float(sys.argv[1])
line = [l for l in open(sys.argv[2]) if "-> leader" in l][-1]
t = datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
t = t.replace(tzinfo=datetime.timezone.utc).timestamp()
print("%.0f" % ((t - t0) * 1000))
PY
)
echo "node $N took office $ms ms after the kill (fetch timeout 200 ms: followers wait that long"
echo "for the dead leader, then a pre-vote and a vote round)"
"$KCTL" --bootstrap-server "$servers" append after-failover || exit 1

say "restarting node $L: it catches up"
start "$L"
sleep 1
"$KCTL" --bootstrap-server "$servers" describe --replication

say "every acknowledged record, read from every node"
ok=1
for i in 1 2 3; do
	n=$("$KCTL" --bootstrap-server "127.0.0.$i:$((PORT + 100))" read --from 0 | wc -l)
	echo "node $i: $n records"
	"$KCTL" --bootstrap-server "127.0.0.$i:$((PORT + 100))" read --from 0 | grep -q after-failover || ok=0
done
[ $ok = 1 ] || { echo "demo: a node lacks acknowledged records"; exit 1; }

say "graceful stop (SIGTERM): the leader hands over first"
for i in "${!PID[@]}"; do kill -TERM "${PID[$i]}"; done
for i in "${!PID[@]}"; do wait "${PID[$i]}"; done
PID=()
grep -h 'stopped (exit' "$RUN"/n*.log | sed 's/^/  /'
echo
echo "demo: OK"
