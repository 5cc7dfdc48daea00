#!/usr/bin/env bash
# kraftd: what peer authentication costs per commit (issue 9). For each transport, a
# fresh 3-voter cluster (memory durability) with authentication off, then one with a
# cluster key, alternately, ROUNDS times; in each, kraftbench measures commit latency with
# the ping floor (one append in flight) and batched throughput. The report gives medians
# over the rounds and the ratios on/off measured in the same run (the machine is shared
# and noisy: alternating the two spreads its noise over both).
#   scripts/bench-auth.sh [--out DIR] [--rounds N (3)] [--transports "memif af_xdp"]
#                         [--records N (20000)]
# Results: DIR/results.jsonl (kraftbench JSON with "auth", "round", "run"), DIR/report.md.
set -uo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
OUT=/tmp/kraftd-bench-auth
ROUNDS=3
TRANSPORTS="memif af_xdp"
RECORDS=20000
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=${2:?}; shift 2 ;;
	--rounds) ROUNDS=${2:?}; shift 2 ;;
	--transports) TRANSPORTS=${2:?}; shift 2 ;;
	--records) RECORDS=${2:?}; shift 2 ;;
	-h | --help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench-auth: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
export KRAFTD_BUILD=${KRAFTD_BUILD:-$TOP/build}
export KRAFTD_RUN=/tmp/kraftd-bench-auth-cluster KRAFTD_NS=kca
CL=$TOP/scripts/cluster.sh
mkdir -p "$OUT"
RES=$OUT/results.jsonl
: >"$RES"
KEY=$OUT/cluster.key
rm -f "$KEY"
"$KRAFTD_BUILD/kraftd" random-key "$KEY" >/dev/null || exit 1
"$CL" down >/dev/null 2>&1
trap '"$CL" down >/dev/null 2>&1' EXIT
trap 'exit 130' INT TERM
tag() { python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); o.update(json.loads(sys.argv[1])); print(json.dumps(o))' "$1"; }

kb() { # CONFIG-JSON kraftbench-args...
	local cfg=$1 out rc
	shift
	for _ in 1 2 3; do
		out=$("$CL" bench --json "$@" 2>"$OUT/last.err")
		rc=$?
		[ $rc = 4 ] && { echo "bench-auth: an election during the run, again" >&2; continue; }
		break
	done
	if [ $rc != 0 ] || [ -z "$out" ]; then
		echo "bench-auth: kraftbench failed ($rc): $(tail -2 "$OUT/last.err")" >&2
		return 1
	fi
	echo "$out" | tag "$cfg" >>"$RES"
}

echo "bench-auth: $(nproc) cores, $(uname -r), $ROUNDS rounds, results in $OUT"
# the price of one seal and one check by frame size, without the network
"$KRAFTD_BUILD/tools/kraftbench/kraftbench" --mac-cost | tag '{"run": "mac_cost"}' >>"$RES"
for t in $TRANSPORTS; do
	for r in $(seq 1 "$ROUNDS"); do
		for auth in off on; do
			if [ $auth = on ]; then
				export KRAFTD_ARGS="--kraftd.auth.key.file=$KEY" KRAFTD_AUTH_KEY_FILE=$KEY
			else
				export KRAFTD_ARGS="" KRAFTD_AUTH_KEY_FILE=""
			fi
			echo "bench-auth: $t, round $r, authentication $auth"
			if ! "$CL" up --nodes 3 --transport "$t" --durability memory >"$OUT/up.log" 2>&1; then
				echo "bench-auth: the cluster did not come up: $(tail -3 "$OUT/up.log")" >&2
				"$CL" down >/dev/null 2>&1
				exit 1
			fi
			cfg="{\"transport\": \"$t\", \"round\": $r, \"auth_config\": \"$auth\""
			kb "$cfg, \"run\": \"latency\"}" --records "$RECORDS" --ping
			kb "$cfg, \"run\": \"throughput\"}" --duration 2 --inflight 32 --batch 16 --warmup 1000
			"$CL" down >/dev/null 2>&1
		done
	done
done

python3 - "$RES" "$OUT/report.md" <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
mac = [r for r in rows if r.get("run") == "mac_cost"]
rows = [r for r in rows if r.get("run") != "mac_cost"]
med = lambda xs: statistics.median(xs) if xs else float("nan")
out = ["| transport | auth | commit p50 us | commit p99 us | ping p50 us | commit/ping p50 | records/s (16/append, 32 in flight) |",
       "|---|---|---|---|---|---|---|"]
summary = []
for t in sorted({r["transport"] for r in rows}):
    v = {}
    for a in ("off", "on"):
        lat = [r for r in rows if r["transport"] == t and r["auth_config"] == a and r["run"] == "latency"]
        thr = [r for r in rows if r["transport"] == t and r["auth_config"] == a and r["run"] == "throughput"]
        assert all(r["auth"] == (a == "on") for r in lat + thr), "kraftbench's auth flag disagrees"
        v[a] = dict(p50=med([r["commit_us"]["p50"] for r in lat]),
                    p99=med([r["commit_us"]["p99"] for r in lat]),
                    ping=med([r["ping_leader_us"]["p50"] for r in lat]),
                    ratio=med([r["commit_us"]["p50"] / r["ping_leader_us"]["p50"] for r in lat]),
                    rps=med([r["records_per_s"] for r in thr]), n=len(lat))
        x = v[a]
        out.append("| %s | %s | %.1f | %.1f | %.1f | %.2f | %.0f |" % (
            t, a, x["p50"], x["p99"], x["ping"], x["ratio"], x["rps"]))
    summary.append("%s: commit p50 on/off %.2fx (%+.1f us), p99 %.2fx, ping p50 on/off %.2fx, "
                   "records/s on/off %.2fx (medians of %d rounds)" % (
                       t, v["on"]["p50"] / v["off"]["p50"], v["on"]["p50"] - v["off"]["p50"],
                       v["on"]["p99"] / v["off"]["p99"], v["on"]["ping"] / v["off"]["ping"],
                       v["on"]["rps"] / v["off"]["rps"], v["on"]["n"]))
if mac:
    summary.append("MAC per frame (ns, seal / check): " + ", ".join(
        "%s B %d / %d" % (k, v["seal"], v["check"]) for k, v in mac[0]["mac_cost_ns"].items()))
text = "\n".join(out + [""] + summary) + "\n"
open(sys.argv[2], "w").write(text)
print(text)
EOF
