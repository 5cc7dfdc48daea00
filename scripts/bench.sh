#!/usr/bin/env bash
# kraftd: the benchmark matrix (issue 7). For each transport x durability x voter count a
# fresh local cluster (scripts/cluster.sh), then kraftbench (scripts/cluster.sh bench):
#   latency     closed loop, one append in flight, PINGs interleaved (the floor of both
#               legs, same run); the leader's own commit histogram (DPDK telemetry)
#   throughput  closed loop, 32 appends in flight of 16 records each, 2 s
#   stages      DPDK: the leader's stage histograms (telemetry /kraft/stages) over the
#               latency run
# then the floor: per transport, a 1-voter node and kraftfloor (scripts/cluster.sh floor):
# 5 pairs of raw echo and kraftd PING phases; then the cost of the stage timing itself:
# memif, 1 voter, 5 pairs of latency runs with it off and on;
# then failover: memif, 3 voters, memory, kraftbench --failover (kill -9 of the leader
# mid-run) at fetch timeouts of 200, 50 and 20 ms (election timeout half of it), three
# kills each; then the peer: a 3-node etcd (Debian's etcd-server) in the AF_XDP cluster's namespaces,
# its data on tmpfs (against kraftd's memory mode: Debian's etcd 3.4 has no
# --unsafe-no-fsync) and on disk, measured by scripts/etcd-bench.py the same way.
#
#   scripts/bench.sh [--transports "memif af_xdp udp"] [--durability "memory disk"]
#                    [--voters "1 3 5"] [--records N] [--no-etcd] [--out DIR]
# Results: DIR/results.jsonl (one kraftbench/etcd-bench JSON object per run, with its
# configuration) and DIR/results.md (the tables for docs/BENCHMARKS.md). Needs root and
# scripts/setup.sh's packages. It measures build-bench/ (made here: no test hooks, no
# tests; the test trees' -Dcrash_test=true adds a fault-layer check to every loop pass),
# or the tree $KRAFTD_BUILD names.
set -uo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
TRANSPORTS="memif af_xdp udp"
DURABILITY="memory disk"
VOTERS="1 3 5"
RECORDS=5000
ETCD=1
OUT=/tmp/kraftd-bench
while [ $# -gt 0 ]; do
	case $1 in
	--transports) TRANSPORTS=$2; shift 2 ;;
	--durability) DURABILITY=$2; shift 2 ;;
	--voters) VOTERS=$2; shift 2 ;;
	--records) RECORDS=$2; shift 2 ;;
	--no-etcd) ETCD=0; shift ;;
	--out) OUT=$2; shift 2 ;;
	-h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench: unknown option $1 (--help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "bench: needs root (namespaces, AF_XDP)" >&2; exit 1; }
export KRAFTD_RUN=/tmp/kraftd-bench-cluster KRAFTD_NS=kcb
# a 1-voter memory node appends about 1 GB in the 2 s throughput run, more than the default
# memory cap (LOG_FULL): the nodes get 4 GiB
export KRAFTD_ARGS="${KRAFTD_ARGS:-} --kraftd.log.memory.max.bytes=4294967296"
if [ -z "${KRAFTD_BUILD:-}" ]; then
	# an older tree is brought to the same options (LTO came later)
	if [ -f build-bench/build.ninja ]; then
		meson configure build-bench -Dcrash_test=false -Dtests=false -Db_lto=true >/dev/null
	else
		meson setup build-bench -Dcrash_test=false -Dtests=false -Db_lto=true >/dev/null
	fi || { echo "bench: meson setup build-bench failed" >&2; exit 1; }
	ninja -C build-bench >/dev/null || { echo "bench: ninja -C build-bench failed" >&2; exit 1; }
	export KRAFTD_BUILD=$TOP/build-bench
fi
echo "bench: measuring $KRAFTD_BUILD ($(git rev-parse --short HEAD 2>/dev/null || echo ?))"
CL=$TOP/scripts/cluster.sh
mkdir -p "$OUT"
RES=$OUT/results.jsonl
: >"$RES"
"$CL" down >/dev/null 2>&1

cleanup() {
	[ -n "${ETCD_PIDS:-}" ] && kill $ETCD_PIDS 2>/dev/null
	"$CL" down >/dev/null 2>&1
	rm -rf /dev/shm/kraftd-bench-etcd*
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# add the configuration to a JSON object (one line on stdin)
tag() { python3 -c 'import json,sys; o=json.loads(sys.stdin.read()); o.update(json.loads(sys.argv[1])); print(json.dumps(o))' "$1"; }

# fdatasync of a 4 KiB append on the run directory's filesystem: p50 in us
fsync_p50() {
	python3 - "$KRAFTD_RUN" <<'EOF'
import os, sys, time
p = os.path.join(sys.argv[1], "fsync-probe")
fd = os.open(p, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
xs = []
for _ in range(500):
    os.write(fd, b"x" * 4096)
    t = time.perf_counter(); os.fdatasync(fd); xs.append(time.perf_counter() - t)
os.close(fd); os.unlink(p)
xs.sort(); print(round(xs[len(xs) // 2] * 1e6, 1))
EOF
}

# a telemetry command to node ID (DPDK nodes), its answer's object as JSON, or {}
tel() { # ID COMMAND
	echo "$2" | timeout 10 dpdk-telemetry.py -f "$KRAFTD_NS-$1" 2>/dev/null |
		python3 -c 'import json,sys
try: print(json.dumps(list(json.load(sys.stdin).values())[0]))
except Exception: print("{}")'
}

# the leader's own commit histogram (DPDK nodes: telemetry), as JSON, or {}
leader_stats() {
	tel "$1" /kraft/stats | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin).get("commit_latency_ns", {})))'
}

# every node's work counters (DPDK nodes: telemetry /kraft/stats), as one JSON object
work() { # VOTERS
	local i
	for i in $(seq 1 "$1"); do echo "\"$i\": $(tel "$i" /kraft/stats)"; done |
		paste -sd, | sed 's/^/{/; s/$/}/'
}

# the dataplanes' time in passes that did work, per record the leader appended between
# two work snapshots: ns and TSC cycles, the busiest node's (the leader) and all nodes'
# together (a stand-in for perf stat's cycles, which this VM does not count)
work_per_record() { # BEFORE AFTER
	python3 - "$1" "$2" <<'EOF'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
d = {k: {f: b[k].get(f, 0) - a.get(k, {}).get(f, 0) for f in ("work_ns", "log_end")}
     for k in b if "work_ns" in b[k]}
recs = max((v["log_end"] for v in d.values()), default=0)
hz = max((b[k].get("tsc_hz", 0) for k in d), default=0)
out = {"records": recs, "tsc_hz": hz}
if recs > 0:
    tot = sum(v["work_ns"] for v in d.values())
    top = max(v["work_ns"] for v in d.values())
    out["work_ns_per_record_all"] = round(tot / recs, 1)
    out["work_ns_per_record_busiest"] = round(top / recs, 1)
    if hz:
        out["cycles_per_record_all"] = round(tot * hz / 1e9 / recs, 1)
        out["cycles_per_record_busiest"] = round(top * hz / 1e9 / recs, 1)
print(json.dumps(out))
EOF
}

# one kraftbench run, retried once if an election spoiled it (exit 4)
kb() { # CONFIG-JSON kraftbench-args...
	local cfg=$1 out rc
	shift
	for _ in 1 2; do
		out=$("$CL" bench --json "$@" 2>"$OUT/last.err")
		rc=$?
		[ $rc = 4 ] && { echo "bench: an election during the run, again" >&2; continue; }
		break
	done
	if [ $rc != 0 ] || [ -z "$out" ]; then
		echo "bench: kraftbench failed ($rc): $(tail -2 "$OUT/last.err")" >&2
		return 1
	fi
	echo "$out" | tag "$cfg" | tee -a "$RES" >/dev/null
}

echo "bench: $(nproc) cores, $(uname -r), results in $OUT"
for t in $TRANSPORTS; do
	for d in $DURABILITY; do
		for v in $VOTERS; do
			echo "bench: $t, $d, $v voter(s)"
			if ! "$CL" up --nodes "$v" --transport "$t" --durability "$d" >"$OUT/up.log" 2>&1; then
				echo "bench: the cluster did not come up: $(tail -3 "$OUT/up.log")" >&2
				"$CL" down >/dev/null 2>&1
				continue
			fi
			idle=$(sed -n 's/^IDLE=//p' "$KRAFTD_RUN/state")
			fs=null
			[ "$d" = disk ] && fs=$(fsync_p50)
			cfg="{\"transport\": \"$t\", \"durability\": \"$d\", \"voters\": $v, \"idle\": \"$idle\", \"fsync_p50_us\": $fs"
			n=$RECORDS
			[ "$d" = disk ] && n=$((RECORDS / 2))
			l=$("$CL" leader 2>/dev/null)
			[ "$t" != udp ] && [ -n "$l" ] && tel "$l" /kraft/stages,reset >/dev/null
			if kb "$cfg, \"run\": \"latency\"}" --records "$n" --ping; then
				l2=$("$CL" leader 2>/dev/null)
				if [ "$t" != udp ] && [ -n "$l2" ]; then
					echo "{\"leader_commit_ns\": $(leader_stats "$l2")}" |
						tag "$cfg, \"run\": \"leader\"}" >>"$RES"
					[ "$l2" = "$l" ] && echo "{\"stages_ns\": $(tel "$l" /kraft/stages)}" |
						tag "$cfg, \"run\": \"stages\"}" >>"$RES"
				fi
			fi
			[ "$t" != udp ] && w0=$(work "$v")
			if kb "$cfg, \"run\": \"throughput\"}" --duration 2 --inflight 32 --batch 16 --warmup 1000 &&
				[ "$t" != udp ]; then
				work_per_record "$w0" "$(work "$v")" | tag "$cfg, \"run\": \"work\"}" >>"$RES"
			fi
			"$CL" down >/dev/null 2>&1
		done
	done
done

for t in $TRANSPORTS; do
	echo "bench: the floor over $t: kraftfloor against a 1-voter node"
	"$CL" up --nodes 1 --transport "$t" --durability memory >"$OUT/up.log" 2>&1 || {
		echo "bench: the cluster did not come up: $(tail -3 "$OUT/up.log")" >&2
		"$CL" down >/dev/null 2>&1
		continue
	}
	if out=$("$CL" floor --pairs 5 --count 20000 --json 2>"$OUT/last.err"); then
		echo "$out" | tag "{\"transport\": \"$t\", \"voters\": 1, \"run\": \"floor\"}" >>"$RES"
	else
		echo "bench: kraftfloor failed: $(tail -2 "$OUT/last.err")" >&2
	fi
	"$CL" down >/dev/null 2>&1
done

# the stage timing's own cost: the same latency run with it off and on, alternating
case " $TRANSPORTS " in *" memif "*)
	echo "bench: the cost of the stage timing (memif, 1 voter, memory)"
	if "$CL" up --nodes 1 --transport memif --durability memory >"$OUT/up.log" 2>&1 && "$CL" leader >/dev/null; then
		for k in 1 2 3 4 5; do
			for st in off on; do
				tel 1 "/kraft/stages,$st" >/dev/null
				kb "{\"transport\": \"memif\", \"durability\": \"memory\", \"voters\": 1, \"run\": \"stage-cost\", \"stages\": \"$st\", \"pair\": $k}" \
					--records "$RECORDS" --ping
			done
		done
	else
		echo "bench: the cluster did not come up: $(tail -3 "$OUT/up.log")" >&2
	fi
	"$CL" down >/dev/null 2>&1
	;;
esac

FAILOVER_TIMEOUTS=${FAILOVER_TIMEOUTS:-200 50 20}
for ft in $FAILOVER_TIMEOUTS; do
	echo "bench: failover, memif, fetch timeout $ft ms"
	for k in 1 2 3; do
		"$CL" up --nodes 3 --transport memif --durability memory --fetch-timeout-ms "$ft" \
			--election-timeout-ms "$(python3 -c "print($ft / 2)")" >"$OUT/up.log" 2>&1 || {
			echo "bench: the cluster did not come up: $(tail -3 "$OUT/up.log")" >&2
			"$CL" down >/dev/null 2>&1
			continue
		}
		# elections before the kill (spurious, from a short timeout) are counted too
		ep0=$(echo /kraft/status | timeout 10 dpdk-telemetry.py -f "$KRAFTD_NS-$("$CL" leader)" 2>/dev/null |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["/kraft/status"]["epoch"])' 2>/dev/null)
		kb "{\"transport\": \"memif\", \"durability\": \"memory\", \"voters\": 3, \"run\": \"failover\", \"fetch_timeout_ms\": $ft, \"epoch_before\": ${ep0:-null}}" \
			--duration 2 --kill-after 1 --failover "$CL kill %d >/dev/null" --fetch-timeout-ms "$ft"
		"$CL" down >/dev/null 2>&1
	done
done

if [ "$ETCD" = 1 ]; then
	if ! command -v etcd >/dev/null; then
		echo "bench: installing Debian's etcd-server (the peer)"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends etcd-server \
			>"$OUT/apt.log" 2>&1 || { echo "bench: cannot install etcd-server: $(tail -2 "$OUT/apt.log")" >&2; exit 1; }
		# the package's own service is not part of the benchmark
		command -v systemctl >/dev/null && systemctl disable --now etcd >/dev/null 2>&1
	fi
	for store in tmpfs disk; do
		echo "bench: etcd, 3 members, data on $store, in the AF_XDP cluster's namespaces"
		"$CL" up --nodes 3 --transport af_xdp --durability memory >"$OUT/up.log" 2>&1 || {
			echo "bench: no namespaces: $(tail -3 "$OUT/up.log")" >&2
			exit 1
		}
		# the same namespaces and veths, kraftd's nodes out of the way
		for i in 1 2 3; do "$CL" kill "$i" >/dev/null; done
		ic="e1=http://10.77.0.1:2380,e2=http://10.77.0.2:2380,e3=http://10.77.0.3:2380"
		ETCD_PIDS=""
		for i in 1 2 3; do
			dir=$KRAFTD_RUN/etcd$i
			[ $store = tmpfs ] && dir=/dev/shm/kraftd-bench-etcd$i
			rm -rf "$dir"
			ip netns exec "$KRAFTD_NS-$i" etcd --name "e$i" --data-dir "$dir" \
				--listen-peer-urls "http://10.77.0.$i:2380" \
				--initial-advertise-peer-urls "http://10.77.0.$i:2380" \
				--listen-client-urls "http://10.77.0.$i:2379" \
				--advertise-client-urls "http://10.77.0.$i:2379" \
				--initial-cluster "$ic" --initial-cluster-state new \
				--log-level error >"$OUT/etcd$i.log" 2>&1 &
			ETCD_PIDS="$ETCD_PIDS $!"
		done
		eps=10.77.0.1:2379,10.77.0.2:2379,10.77.0.3:2379
		cfg="{\"transport\": \"etcd (kernel TCP, HTTP/JSON)\", \"durability\": \"$store\", \"voters\": 3"
		for c in 1 32; do
			n=$((RECORDS / 2))
			out=$(ip netns exec "$KRAFTD_NS-b" python3 "$TOP/scripts/etcd-bench.py" --endpoints "$eps" \
				--records "$n" --concurrency "$c") &&
				echo "$out" | tag "$cfg, \"run\": \"$([ $c = 1 ] && echo latency || echo throughput)\"}" >>"$RES" ||
				echo "bench: etcd-bench failed (concurrency $c)" >&2
		done
		kill $ETCD_PIDS 2>/dev/null
		wait $ETCD_PIDS 2>/dev/null
		ETCD_PIDS=""
		"$CL" down >/dev/null 2>&1
		rm -rf /dev/shm/kraftd-bench-etcd*
	done
fi

python3 "$TOP/scripts/bench-report.py" "$RES" | tee "$OUT/results.md"
