#!/usr/bin/env bash
# kraftd: the 1-voter commit and PING of two builds against the raw transport, alternating,
# in one run (the machine is shared and noisy: only a same-run comparison says whether a
# change helped). Each round, for build A then build B: a fresh 1-voter cluster (memif,
# memory durability, the node in idle `poll` on core 0), the floor tool's raw and kraftd
# phases alternating (cluster.sh floor: the node is stopped during the raw phases), then
# a closed-loop latency run with PINGs between appends (cluster.sh bench, client on core 1).
#
#   scripts/latency-ab.sh [--rounds N] [--pairs P] [--count C] [--records R]
#                         [--clients TREE | --own-clients] A B
#
# A and B are build trees (e.g. build-bench of two worktrees); both use A's client tools
# (kraftfloor, kraftbench), or TREE's, unless --own-clients, so that only the node differs. Prints one
# line per run and a summary per build: the medians over rounds of PING/raw p50, commit
# p50/raw p50 and commit p99/PING p99 (the issue's three ratios), with their ranges.
# Needs root and scripts/setup.sh's packages; leaves no cluster behind.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

rounds=5
pairs=3
count=50000
records=20000
own=0
clients=
while [ $# -gt 0 ]; do
	case "$1" in
	--rounds) rounds=$2; shift 2 ;;
	--pairs) pairs=$2; shift 2 ;;
	--count) count=$2; shift 2 ;;
	--records) records=$2; shift 2 ;;
	--own-clients) own=1; shift ;;
	--clients) clients=$2; shift 2 ;;
	-h | --help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "latency-ab: unknown option '$1' (--help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -eq 2 ] || { echo "latency-ab: two build trees needed (--help)" >&2; exit 2; }
for b in "$1" "$2"; do
	[ -x "$b/kraftd" ] || { echo "latency-ab: no kraftd in $b (build it first)" >&2; exit 2; }
done
A=$(cd "$1" && pwd)
B=$(cd "$2" && pwd)
C=$(cd "${clients:-$A}" && pwd) || exit 2
[ -x "$C/tools/kraftbench/kraftbench" ] || { echo "latency-ab: no kraftbench in $C" >&2; exit 2; }
export KRAFTD_RUN=${KRAFTD_RUN:-/tmp/kraftd-latency-ab} KRAFTD_NS=${KRAFTD_NS:-klab}
CL=scripts/cluster.sh
results=$(mktemp)
tools=$(mktemp -d)
trap 'KRAFTD_BUILD=$A "$CL" down >/dev/null 2>&1; rm -rf "$results" "$tools"' EXIT

# One tree per build for cluster.sh: the build's kraftd and XDP object, and (unless
# --own-clients) A's client tools, as symlinks
tree() { # build tag
	local t=$tools/$2 c=$C
	[ "$own" = 1 ] && c=$1
	mkdir -p "$t/tools/kraftfloor" "$t/tools/kraftbench" "$t/tools/kraftctl" "$t/dataplane/port"
	ln -sf "$1/kraftd" "$t/kraftd"
	ln -sf "$1/dataplane/port/kraftd_xdp.bpf.o" "$t/dataplane/port/kraftd_xdp.bpf.o"
	ln -sf "$1/tools/kraftctl/kraftctl" "$t/tools/kraftctl/kraftctl"
	ln -sf "$c/tools/kraftfloor/kraftfloor" "$t/tools/kraftfloor/kraftfloor"
	ln -sf "$c/tools/kraftbench/kraftbench" "$t/tools/kraftbench/kraftbench"
	echo "$t"
}
TA=$(tree "$A" A)
TB=$(tree "$B" B)

one() { # tree tag round
	export KRAFTD_BUILD=$1
	if ! "$CL" up --nodes 1 --transport memif --durability memory --idle poll >/dev/null 2>&1; then
		echo "$2 round $3: the cluster did not start" >&2
		"$CL" down >/dev/null 2>&1
		return
	fi
	local fl bn
	fl=$("$CL" floor --pairs "$pairs" --count "$count" --json 2>/dev/null | tail -1)
	bn=$("$CL" bench --records "$records" --ping --idle spin --json 2>/dev/null | tail -1)
	python3 - "$2" "$fl" "$bn" <<'EOF' | tee -a "$results" || echo "$2 round $3: no result" >&2
import json, sys
tag, fl, bn = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
raw = fl["rawP50Ns"] / 1e3
c, p = bn["commit_us"], bn["ping_leader_us"]
print(tag, f"raw_p50_us {raw:.3f} ping_over_raw {fl['ratioP50']['median']:.3f} "
      f"commit_p50_us {c['p50']:.3f} commit_p99_us {c['p99']:.3f} "
      f"ping_p50_us {p['p50']:.3f} ping_p99_us {p['p99']:.3f} "
      f"commit_over_raw {c['p50'] / raw:.3f} commit_p99_over_ping_p99 {c['p99'] / p['p99']:.3f}")
EOF
	"$CL" down >/dev/null 2>&1
}

echo "latency-ab: $rounds rounds; floor $pairs pairs x $count, bench $records appends; A=$A B=$B; clients $([ "$own" = 1 ] && echo own || echo "$C")"
for k in $(seq 1 "$rounds"); do
	one "$TA" A "$k"
	one "$TB" B "$k"
done
python3 - "$results" <<'EOF'
import statistics, sys
runs = {"A": [], "B": []}
for line in open(sys.argv[1]):
    p = line.split()
    if p and p[0] in runs:
        runs[p[0]].append(dict(zip(p[1::2], map(float, p[2::2]))))
for k, v in runs.items():
    if not v:
        continue
    out = [f"{k}: {len(v)} rounds"]
    for m in ("raw_p50_us", "ping_over_raw", "commit_over_raw", "commit_p99_over_ping_p99",
              "commit_p50_us", "ping_p50_us"):
        xs = [r[m] for r in v]
        out.append(f"{m} {statistics.median(xs):.3f} ({min(xs):.3f}-{max(xs):.3f})")
    print("; ".join(out))
EOF
