#!/usr/bin/env bash
# kraftd: commit latency and throughput by append size (issue 23), each beside the
# transport's own floors measured in the same run.
#
#   scripts/big-append-bench.sh [--transport memif|af_xdp|both] [--runs R] [--out FILE]
#                               [--zero-copy on|off|both|default] [--sizes "BYTES ..."]
#
# A 3-voter cluster in memory durability (the wire and the fragments, not the disk), the
# nodes' dataplanes on the machine's two cores in shared idle mode (cluster.sh's
# default), kraftbench closed loop (one append in flight) from its own DPDK port; a new
# cluster for each run. Per run:
#   floor   kraftfloor ping: the raw round trip through a bare echo (p50), and
#           kraftfloor --bulk --bulk-acks: 1400-byte datagrams one way through the echo,
#           acknowledged, 256 in flight (MB/s): what the transport carries at best
#   sizes   appends of 64 B, 1 KiB, 64 KiB and 1 MiB (1048000 B): commit p50 and p99, and
#           MB/s of record bytes committed; the leader's dataplane work (telemetry
#           work_ns, its TSC rate) per byte appended, in cycles
# Printed per transport: each size's medians over the runs, and the ratios to the floors
# of the same runs (commit p50 / raw p50, MB/s / bulk MB/s). --out appends the runs'
# figures as JSON lines. --zero-copy both: each run twice, the nodes sending Fetch
# answers' records from log memory and copying them (kraftd.dpdk.zero.copy), in
# alternating order, each on a new cluster; the rows say which (and how many frames the
# leader sent from log memory); default: the key not given (a build that predates it,
# named by $KRAFTD_BUILD, for a figure before). --sizes: which of the four sizes.
set -uo pipefail
cd "$(dirname "$0")/.."
TRANSPORTS="memif af_xdp"
RUNS=3
OUT=""
ZC="default"
SIZES="64 1024 65536 1048000"
while [ $# -gt 0 ]; do
	case $1 in
	--transport) TRANSPORTS=$2; [ "$2" = both ] && TRANSPORTS="memif af_xdp"; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--zero-copy) ZC=$2; [ "$2" = both ] && ZC="on off"; shift 2 ;;
	--sizes) SIZES=$2; shift 2 ;;
	-h | --help) sed -n '2,23p' "$0"; exit 0 ;;
	*) echo "big-append-bench: unknown option $1" >&2; exit 2 ;;
	esac
done
export KRAFTD_RUN=${KRAFTD_RUN:-/tmp/kraftd-bigbench} KRAFTD_NS=${KRAFTD_NS:-kbb}
CL=scripts/cluster.sh
die() { echo "big-append-bench: $*" >&2; exit 1; }
trap '"$CL" down --purge >/dev/null 2>&1; rm -f "$KRAFTD_RUN.err"' EXIT
records_for() { case $1 in 64 | 1024) echo 20000 ;; 65536) echo 2000 ;; *) echo 200 ;; esac; }
stats() { echo /kraft/stats | dpdk-telemetry.py -f "$KRAFTD_NS-$1" 2>/dev/null | tail -1; }
field() { python3 -c 'import json,sys; o=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): o=o[k]
print(o)' "$1" "$2"; }

for t in $TRANSPORTS; do
	rows=$(mktemp)
	for r in $(seq 1 "$RUNS"); do
	order=$ZC
	[ $((r % 2)) = 0 ] && order=$(echo "$ZC" | tr ' ' '\n' | tac | tr '\n' ' ')
	for zc in $order; do
		# a fresh cluster each run: a run appends about 360 MB, and the memory log of
		# one that held 600 MB and more was slower to grow (page reclaim, not measured)
		case $zc in
		on) zc_arg="--kraftd.dpdk.zero.copy=true" ;;
		off) zc_arg="--kraftd.dpdk.zero.copy=false" ;;
		*) zc_arg="" ;;
		esac
		KRAFTD_ARGS="${KRAFTD_ARGS:-} $zc_arg" "$CL" up --nodes 3 --transport "$t" \
			--durability memory >/dev/null || die "$t: up"
		L=$("$CL" leader) || die "$t: no leader"
		fl=$("$CL" floor --pairs 1 --count 5000 --json 2>/dev/null | tail -1)
		raw=$(field "$fl" rawP50Ns) || die "$t: the ping floor gave no figure: $fl"
		bulk=$("$CL" floor --node "$L" --bulk 268435456 --bulk-acks --pairs 1 2>&1 |
			sed -n 's/.*median \([0-9.]*\) MB\/s.*/\1/p')
		[ -n "$bulk" ] || die "$t: the bulk floor gave no figure"
		for s in $SIZES; do
			L=$("$CL" leader) || die "$t: no leader"
			before=$(stats "$L")
			out=$("$CL" bench --records "$(records_for "$s")" --size "$s" --warmup 20 \
				--json 2>"$KRAFTD_RUN.err" | tail -1)
			after=$(stats "$L")
			python3 - "$t" "$r" "$s" "$raw" "$bulk" "$out" "$before" "$after" "$zc" <<'PY' >>"$rows" ||
import json, sys
t, r, s, raw, bulk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
zc = sys.argv[9]
b = json.loads(sys.argv[6])
x0 = json.loads(sys.argv[7])["/kraft/stats"] if sys.argv[7] else None
x1 = json.loads(sys.argv[8])["/kraft/stats"] if sys.argv[8] else None
cyc = None
zc_frames = None
if x0 and x1 and x1["tsc_hz"]:
    appended = b["commits"] * (s + 4)
    cyc = (x1["work_ns"] - x0["work_ns"]) * x1["tsc_hz"] / 1e9 / appended
    if "zero_copy" in x1:
        zc_frames = x1["zero_copy"]["frames"] - x0["zero_copy"]["frames"]
print(json.dumps({"transport": t, "run": r, "size": s, "raw_p50_us": raw / 1e3, "bulk_mbs": bulk,
                  "commit_p50_us": b["commit_us"]["p50"], "commit_p99_us": b["commit_us"]["p99"],
                  "mbs": s * b["commits_per_s"] / 1e6, "commits": b["commits"],
                  "fragmented": b["fragmented"], "resends": b["resends"],
                  "election": b["election"], "cycles_per_byte": cyc,
                  "zero_copy": zc, "leader_zero_copy_frames": zc_frames}))
PY
				die "$t: size $s: kraftbench gave no figures: $out $(grep -v memif_probe "$KRAFTD_RUN.err" | tail -3)"
		done
		"$CL" down --purge >/dev/null || die "$t: down"
	done
	done
	[ -n "$OUT" ] && cat "$rows" >>"$OUT"
	python3 - "$rows" <<'PY'
import json, statistics as st, sys
allrows = [json.loads(l) for l in open(sys.argv[1])]
m = lambda xs: st.median(xs)
for zc in sorted({r["zero_copy"] for r in allrows}, reverse=True):
  rows = [r for r in allrows if r["zero_copy"] == zc]
  t = rows[0]["transport"]
  print(f"{t}, zero copy {zc}: {len({r['run'] for r in rows})} runs, 3 voters on 2 cores, memory durability; "
        f"raw ping p50 {m([r['raw_p50_us'] for r in rows]):.2f} us, bulk {m([r['bulk_mbs'] for r in rows]):.0f} MB/s (medians)")
  print(f"  {'size':>8} {'commit p50':>11} {'/raw p50':>9} {'p99':>9} {'MB/s':>8} {'/bulk':>7} {'cycles/B':>9} {'zc frames':>10}")
  for s in sorted({r["size"] for r in rows}):
    rs = [r for r in rows if r["size"] == s]
    zf = [r["leader_zero_copy_frames"] for r in rs if r["leader_zero_copy_frames"] is not None]
    cyc = [r["cycles_per_byte"] for r in rs if r["cycles_per_byte"] is not None]
    print(f"  {s:>8} {m([r['commit_p50_us'] for r in rs]):>9.1f}us "
          f"{m([r['commit_p50_us'] / r['raw_p50_us'] for r in rs]):>8.1f}x "
          f"{m([r['commit_p99_us'] for r in rs]):>7.1f}us {m([r['mbs'] for r in rs]):>8.1f} "
          f"{m([r['mbs'] / r['bulk_mbs'] for r in rs]):>7.3f} "
          f"{(m(cyc) if cyc else float('nan')):>9.2f} {(m(zf) if zf else -1):>10.0f}")
PY
	rm -f "$rows"
done
