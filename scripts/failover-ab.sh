#!/usr/bin/env bash
# kraftd: failover gaps of two builds, alternating, in one run (the machine is shared and
# noisy: only a same-run comparison says whether a change helped). Each kill: a fresh
# 3-voter memif cluster, memory durability, fetch timeout T ms, election timeout T/2,
# then kraftbench --failover (SIGKILL of the leader under one append in flight). Each
# round kills once with build A, then once with build B.
#
#   scripts/failover-ab.sh [--fetch-timeout-ms T] [--rounds N] [--keep-logs DIR] A B
#
# A and B are build trees (e.g. build-bench of two worktrees), each optionally with the
# nodes' idle mode after a colon (BUILD:backoff; default cluster.sh's, `shared` on DPDK):
# the same tree twice compares two idle modes. Prints one line per kill
# (build, gap in ms, gap over the fetch timeout, the epoch before the kill: 1 means no
# election came before it; then from the last old commit to the client finding the new
# leader, and the kill command's own time, ms) and a summary per build: median, within
# 1.5x, range. With --keep-logs, every node's log of every kill is kept under DIR. Needs
# root and scripts/setup.sh's packages; leaves no cluster behind.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

ft=20
rounds=15
keep=
while [ $# -gt 0 ]; do
	case "$1" in
	--fetch-timeout-ms) ft=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--keep-logs) keep=$2; shift 2 ;;
	-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "failover-ab: unknown option '$1' (--help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || { echo "failover-ab: two build trees needed (--help)" >&2; exit 2; }
for b in "${1%%:*}" "${2%%:*}"; do
	[ -x "$b/kraftd" ] || { echo "failover-ab: no kraftd in $b (build it first)" >&2; exit 2; }
done
idle_of() { [ "${1#*:}" != "$1" ] && echo "--idle ${1#*:}"; }
IA=$(idle_of "$1")
IB=$(idle_of "$2")
A=$(cd "${1%%:*}" && pwd)
B=$(cd "${2%%:*}" && pwd)
export KRAFTD_RUN=${KRAFTD_RUN:-/tmp/kraftd-failover-ab} KRAFTD_NS=${KRAFTD_NS:-kfab}
CL=scripts/cluster.sh
results=$(mktemp)
trap 'KRAFTD_BUILD=$A "$CL" down >/dev/null 2>&1; rm -f "$results"' EXIT

one() { # build tag round idle-option
	export KRAFTD_BUILD=$1
	# shellcheck disable=SC2086
	if ! "$CL" up --nodes 3 --transport memif --durability memory --fetch-timeout-ms "$ft" \
		--election-timeout-ms $((ft / 2)) $4 >/dev/null 2>&1; then
		echo "$2 round $3: the cluster did not start" >&2
		"$CL" down >/dev/null 2>&1
		return
	fi
	local l ep out
	l=$("$CL" leader)
	ep=$(echo /kraft/status | timeout 10 dpdk-telemetry.py -f "$KRAFTD_NS-$l" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["/kraft/status"]["epoch"])' \
			2>/dev/null)
	out=$("$CL" bench --json --duration 2 --kill-after 1 \
		--failover "$CL kill %d >/dev/null" --fetch-timeout-ms "$ft" 2>/dev/null)
	printf '%s\n' "$out" | python3 -c '
import json, sys
f = json.load(sys.stdin).get("failover", {})
print(sys.argv[1], f.get("gap_ms"), f.get("gap_over_fetch_timeout"), sys.argv[2] or "?",
      f.get("last_old_commit_to_new_leader_ms"), f.get("kill_command_ms"))
' "$2" "$ep" | tee -a "$results" || echo "$2 round $3: kraftbench gave no result" >&2
	"$CL" down >/dev/null 2>&1 # first: a node's last lines (KRAFTD_TRACE_DATAPLANE) come at its stop
	if [ -n "$keep" ]; then
		mkdir -p "$keep"
		for i in 1 2 3; do cp "$KRAFTD_RUN/n$i.log" "$keep/$2-round$3-n$i.log" 2>/dev/null; done
	fi
}

echo "failover-ab: fetch timeout $ft ms, $rounds rounds; A=$A ${IA:-} B=$B ${IB:-}"
echo "build gap_ms gap/fetch_timeout epoch_before found_ms kill_command_ms"
for k in $(seq 1 "$rounds"); do
	one "$A" A "$k" "$IA"
	one "$B" B "$k" "$IB"
done
python3 - "$results" "$ft" <<'EOF'
import statistics, sys
gaps = {"A": [], "B": []}
for line in open(sys.argv[1]):
    p = line.split()
    if len(p) >= 4 and p[1] != "None":
        gaps[p[0]].append(float(p[1]))
limit = 1.5 * float(sys.argv[2])
for k, v in gaps.items():
    if v:
        print(f"{k}: {len(v)} kills, median {statistics.median(v):.1f} ms, "
              f"within 1.5x {sum(g <= limit for g in v)}/{len(v)}, "
              f"range {min(v):.1f}-{max(v):.1f} ms")
EOF
