#!/usr/bin/env bash
# kraftd integration test: messages larger than a datagram (issue 23), over kernel UDP,
# memif and AF_XDP (datagrams of 1472 bytes on DPDK: a 1 MiB batch travels as about 730
# fragments), with the port fault layer on every node losing 0.05 % (kernel UDP, whose
# datagrams carry 64 KB: 1 %), duplicating 0.5 % and delaying (so reordering) 1 % of the
# datagrams it receives. kraftctl appends values
# of 1 KB to 1 MiB (its requests cut into fragments of a management datagram, its read
# answers put together); kraftbench appends 256 KiB batches over the transport itself
# (on DPDK from a port of its own). Then, the faults healed, every node is read back
# from offset 0: each acknowledged value is there, at its offset, byte for byte, no value
# is there twice, and the nodes hold the same records.
# Usage: big_messages.sh BUILD_DIR   (run by meson: suites integration, dpdk)
TAG=big PORT_BASE=21005
# shellcheck source=tests/integration/cluster_env.sh
. "$(dirname "$0")/cluster_env.sh"
if [ "$(id -u)" != 0 ] || ! pkg-config --exists libdpdk 2>/dev/null; then
	echo "big_messages: needs root (namespaces, XDP) and DPDK" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
KCTL=$BUILD/tools/kraftctl/kraftctl
M=$((KRAFTD_PORT + 100))
ERR=$KRAFTD_RUN.err
VALS=$KRAFTD_RUN.values
trap '"$C" down >/dev/null 2>&1; rm -rf "$KRAFTD_RUN" "$ERR" "$VALS"' EXIT
mkdir -p "$VALS"
# a value per letter: the letter repeated, one line (kraftctl --input)
SIZES="a:1000 b:65536 c:300000 d:1048536 e:700000 f:4000"
for v in $SIZES; do
	python3 -c 'import sys; print(sys.argv[1] * int(sys.argv[2]))' "${v%%:*}" "${v#*:}" \
		>"$VALS/${v%%:*}"
done

for t in udp memif af_xdp; do
	ip_of() { if [ "$t" = af_xdp ]; then echo "10.77.0.$1"; else echo "127.0.0.$1"; fi; }
	kctl() { if [ "$t" = af_xdp ]; then ip netns exec "$KRAFTD_NS-hub" "$KCTL" "$@"; else "$KCTL" "$@"; fi; }
	servers() { echo "$(ip_of 1):$M,$(ip_of 2):$M,$(ip_of 3):$M"; }
	# memif with chained zero copy (kraftd.dpdk.zero.copy, off by default)
	zc_arg=""
	[ "$t" = memif ] && zc_arg="--kraftd.dpdk.zero.copy=true"
	KRAFTD_ARGS="${KRAFTD_ARGS:-} $zc_arg" "$C" up --nodes 3 --transport "$t" --durability disk \
		>/dev/null || fail "$t: up"
	"$C" leader >/dev/null || fail "$t: no leader"
	# kernel UDP carries 64 KB datagrams: a 1 MiB message is 17 of them, not 730
	loss=0.05
	[ "$t" = udp ] && loss=1
	"$C" netem all drop=$loss dup=0.5 delay=1 delay_us=300 >/dev/null || fail "$t: netem"
	acked=""
	for v in $SIZES; do
		k=${v%%:*}
		out=$(kctl --bootstrap-server "$(servers)" --timeout-ms 30000 --json --input "$VALS/$k" \
			append 2>"$ERR")
		rc=$?
		case $rc in
		0) acked="$acked $k:$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["baseOffset"])')" ;;
		3) log "$t: the append of value $k ($(wc -c <"$VALS/$k") bytes): outcome unknown" ;;
		*) fail "$t: append of value $k: $(tail -2 "$ERR")" ;;
		esac
	done
	[ -n "$acked" ] || fail "$t: no append acknowledged"
	out=$("$C" bench --records 30 --size 262144 --warmup 2 --json 2>"$ERR") ||
		fail "$t: kraftbench of 256 KiB appends: $(tail -2 "$ERR")"
	python3 -c 'import json,sys; b=json.loads(sys.argv[1]); sys.exit(0 if b["commits"] == 30 and b["fragmented"] >= 30 else 1)' "$out" ||
		fail "$t: kraftbench: $out"
	log "$t: values acknowledged at$acked; kraftbench: 30 appends of 256 KiB in fragments, $(python3 -c 'import json,sys; b=json.loads(sys.argv[1]); print("commit p50 %.0f us, %d re-sent" % (b["commit_us"]["p50"], b["resends"]))' "$out")"
	"$C" heal >/dev/null || fail "$t: heal"
	caught=0
	for _ in $(seq 1 300); do
		if kctl --bootstrap-server "$(servers)" --timeout-ms 2000 --json describe --replication 2>/dev/null |
			python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if len(r) == 3 and all(x["lag"] == 0 for x in r) else 1)'; then
			caught=1
			break
		fi
		sleep 0.2
	done
	[ $caught = 1 ] || fail "$t: the followers did not catch up"
	# healed, each node logs what its fault layer did (it looks every 100 ms)
	for _ in $(seq 1 30); do
		[ "$(cat "$KRAFTD_RUN"/n*.log | grep -c 'test port faults: drop 0 %')" -ge 3 ] && break
		sleep 0.1
	done
	dropped=$(grep -h 'test port faults: drop 0 %' "$KRAFTD_RUN"/n*.log |
		grep -o 'dropped [0-9]*' | awk '{s += $2} END {print s + 0}')
	[ "$dropped" -gt 0 ] || fail "$t: the port fault layer dropped nothing"
	for i in 1 2 3; do
		kctl --bootstrap-server "$(ip_of "$i"):$M" --timeout-ms 30000 --json read --from 0 \
			>"$KRAFTD_RUN.read$i" 2>"$ERR" || fail "$t: read from node $i: $(tail -2 "$ERR")"
	done
	python3 - "$KRAFTD_RUN.read" "$VALS" "$acked" <<'PY' || fail "$t: the nodes' logs are not what was acknowledged"
import json, sys
base, vals, acked = sys.argv[1], sys.argv[2], sys.argv[3].split()
want = {k: open(f"{vals}/{k}").read().rstrip("\n") for k in "abcdef"}
logs = []
for i in (1, 2, 3):
    logs.append([(r["offset"], r["value"]) for r in map(json.loads, open(f"{base}{i}"))])
if logs[0] != logs[1] or logs[0] != logs[2]:
    sys.exit("the nodes hold different records")
at = dict(logs[0])
for a in acked:
    k, off = a.split(":")
    if at.get(int(off)) != want[k]:
        sys.exit(f"value {k} acknowledged at {off} is not there whole")
for k, v in want.items():
    n = sum(1 for _, x in logs[0] if x == v)
    if n > 1:
        sys.exit(f"value {k} is there {n} times")
print(f"  {len(logs[0])} records, the same on the three nodes; every acknowledged value whole, none twice")
PY
	log "$t: read back from every node ($dropped datagrams dropped by the fault layer)"
	# memif sends fetch answers' records from log memory (zero copy: telemetry's
	# zero_copy.frames), pinned until the device copied them; AF_XDP copies (kernel UDP
	# nodes run no DPDK telemetry)
	# (and nothing a frame's CRC refused: the fault layer loses, repeats and delays, it
	# never damages)
	zc=0
	[ "$t" = udp ] || for i in 1 2 3; do
		read -r n crc < <(echo /kraft/stats | timeout 10 dpdk-telemetry.py -f "$KRAFTD_NS-$i" 2>/dev/null |
			python3 -c 'import json,sys; s=json.load(sys.stdin)["/kraft/stats"]; print(s["zero_copy"]["frames"], s["decode_errors"].get("ECRC", 0))')
		[ -n "$n" ] || fail "$t: no telemetry from node $i"
		[ "$crc" = 0 ] || fail "$t: node $i refused $crc frames on their CRC"
		zc=$((zc + n))
	done
	case $t in
	memif) [ "$zc" -gt 0 ] || fail "memif: no fetch answer went out from log memory" ;;
	af_xdp) [ "$zc" = 0 ] || fail "af_xdp: $zc frames sent from log memory on a port that copies" ;;
	esac
	log "$t: $zc frames sent from log memory"
	"$C" down >/dev/null || fail "$t: down"
done
log "PASS ($(($(date +%s) - T0)) s)"
