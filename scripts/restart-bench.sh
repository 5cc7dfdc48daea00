#!/usr/bin/env bash
# kraftd benchmark: restart time and resident memory of one node after N appended 16-byte
# records, with snapshots (the digest state machine, Kafka's defaults: a snapshot every
# 20 MiB of data, retention to 100 MiB of log and snapshots) and without them
# (kraftd.state.machine=none: the log is kept whole, up to the memory cap).
#
# Usage: scripts/restart-bench.sh [--records N[,N...]] [--build DIR] [--memory-cap BYTES]
#                                 [--dedup-window-ms MS]
#   --records     counts to append before each restart (default 1000000,10000000)
#   --build       the build directory (default build/)
#   --memory-cap  kraftd.log.memory.max.bytes for both modes (default 4294967296)
#   --dedup-window-ms  kraftd.append.dedup.window.ms (default 5000): the log start never
#                 passes an append younger than it, so the node waits that long (and 3 s
#                 more) after the load before the restart
# For each count and mode: a fresh 1-voter cluster over kernel UDP, disk durability,
# kraftbench appends the records in batches of 1000, the node is stopped (SIGTERM) and
# started again; printed: the records the log holds, its start, the time from the start
# command to the first answer of NODE_STATUS with the committed offset back at the log
# end, the recovery line's numbers, and VmRSS then. One line per run, then a table.
set -u
cd "$(dirname "$0")/.." || exit 2
# shellcheck source=scripts/proc.sh
. scripts/proc.sh
COUNTS=1000000,10000000
BUILD=build
CAP=4294967296
WINDOW=5000
while [ $# -gt 0 ]; do
	case $1 in
	--records) COUNTS=$2; shift 2 ;;
	--build) BUILD=$2; shift 2 ;;
	--memory-cap) CAP=$2; shift 2 ;;
	--dedup-window-ms) WINDOW=$2; shift 2 ;;
	-h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "restart-bench: unknown argument $1 (--help)" >&2; exit 2 ;;
	esac
done
KCTL=$BUILD/tools/kraftctl/kraftctl
KBENCH=$BUILD/tools/kraftbench/kraftbench
[ -x "$KCTL" ] && [ -x "$KBENCH" ] || { echo "restart-bench: build $BUILD first" >&2; exit 2; }
export KRAFTD_BUILD=$BUILD KRAFTD_RUN=/tmp/kraftd-restart-bench KRAFTD_NS=krb
MGMT=127.0.0.1:9193
trap 'scripts/cluster.sh down >/dev/null 2>&1' EXIT INT TERM

now_ms() { date +%s%3N; }
status() { "$KCTL" --bootstrap-server "$MGMT" --timeout-ms "${1:-2000}" --json describe --storage 2>/dev/null; }
field() { python3 -c 'import json,sys; v=json.load(sys.stdin)[sys.argv[1]]; print("null" if v is None else v)' "$1"; }

results=()
for n in ${COUNTS//,/ }; do
	for mode in snapshots none; do
		sm=digest
		[ "$mode" = none ] && sm=none
		export KRAFTD_ARGS="--kraftd.state.machine=$sm --kraftd.log.memory.max.bytes=$CAP \
--kraftd.append.dedup.window.ms=$WINDOW"
		scripts/cluster.sh down --purge >/dev/null 2>&1
		scripts/cluster.sh up --nodes 1 --transport udp >/dev/null 2>&1 ||
			{ echo "restart-bench: the cluster did not come up" >&2; exit 1; }
		t0=$(now_ms)
		"$KBENCH" --bootstrap-server "$MGMT" --records "$n" --batch 1000 --size 16 \
			--inflight 8 --warmup 0 --keep-elections >/tmp/krb-bench.log 2>&1 ||
			echo "restart-bench: kraftbench stopped early (LOG_FULL at the cap?): $(tail -1 /tmp/krb-bench.log)" >&2
		load_s=$(( ($(now_ms) - t0) / 1000 ))
		sleep $((WINDOW / 1000 + 3)) # the window, the last snapshot, the cleaner, retention
		before=$(status)
		end=$(printf '%s' "$before" | field log_end)
		pid=$(cat "$KRAFTD_RUN/n1.pid")
		kill -TERM "$pid"
		while running "$pid"; do sleep 0.05; done
		t0=$(now_ms) # restart on a stopped node only starts it
		scripts/cluster.sh restart 1 >/dev/null 2>&1
		ready=""
		for _ in $(seq 1 600); do
			st=$(status 500) || { sleep 0.05; continue; }
			c=$(printf '%s' "$st" | field committed)
			if [ "$c" != null ] && [ "$c" -ge "$end" ]; then ready=$(now_ms); break; fi
			sleep 0.05
		done
		[ -n "$ready" ] || { echo "restart-bench: node not ready within 30 s" >&2; exit 1; }
		pid=$(cat "$KRAFTD_RUN/n1.pid")
		rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
		start=$(printf '%s' "$st" | field log_start)
		snap=$(printf '%s' "$st" | field snapshot)
		rec=$(grep 'start: log ' "$KRAFTD_RUN/n1.log" | tail -1 | sed 's/.*start: //')
		line="records $n mode $mode: loaded in ${load_s}s; log [$start, $end), snapshot $snap; restart to ready $((ready - t0)) ms; VmRSS $((rss / 1024)) MiB; $rec"
		echo "$line"
		results+=("$n|$mode|$start|$end|$((ready - t0))|$((rss / 1024))")
	done
done
printf '\n%-10s %-10s %-12s %-12s %-10s %s\n' records mode log_start log_end ready_ms rss_mib
for r in "${results[@]}"; do
	IFS='|' read -r a b c d e f <<<"$r"
	printf '%-10s %-10s %-12s %-12s %-10s %s\n' "$a" "$b" "$c" "$d" "$e" "$f"
done
