#!/usr/bin/env bash
# kraftd integration test: kraftfloor, the raw floor beside kraftd's PING (scripts/cluster.sh
# floor). For each transport (memif, AF_XDP, kernel UDP) a 1-voter cluster and the bare echo
# beside it; each run alternates raw and kraftd phases and must report every pair and the
# summary, with nothing lost. Then the stage histograms (telemetry /kraft/stages) of the
# DPDK node: PINGs counted timing every pass, switched off and on, one in 16 sampled. Figures are printed, not judged (not a
# benchmark: the suite shares 2 cores).
# Usage: floor.sh BUILD_DIR   (run by meson: suites 'integration', 'dpdk')
TAG=floor PORT_BASE=24005
# shellcheck source=tests/integration/cluster_env.sh
. "$(dirname "$0")/cluster_env.sh"
if [ "$(id -u)" != 0 ] || ! pkg-config --exists libdpdk 2>/dev/null ||
	! command -v dpdk-telemetry.py >/dev/null; then
	echo "floor: needs root (namespaces), DPDK and dpdk-telemetry.py" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
# the stage histograms of node 1 as "name count" lines
stages() {
	echo "/kraft/stages${1:+,$1}" | timeout 10 dpdk-telemetry.py -f "$KRAFTD_NS-1" 2>/dev/null |
		python3 -c 'import json,sys
d=json.load(sys.stdin)["/kraft/stages"]
print("on", d["on"])
print("one_pass_in", d["one_pass_in"])
for k, v in d.items():
    if isinstance(v, dict): print(k, v["count"])'
}
# PINGs node 1's dataplane echoed (/kraft/stats)
pings() {
	echo /kraft/stats | timeout 10 dpdk-telemetry.py -f "$KRAFTD_NS-1" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["/kraft/stats"]["pings_echoed"])'
}

for t in memif af_xdp udp; do
	"$C" up --nodes 1 --transport "$t" --durability memory >/dev/null || fail "$t: up"
	"$C" leader >/dev/null || fail "$t: no leader"
	if [ "$t" != udp ]; then
		[ "$(stages | awk '$1 == "one_pass_in" {print $2}')" = 16 ] ||
			fail "$t: the stage timing does not sample one pass in 16 by default"
		stages all >/dev/null
		stages reset >/dev/null
	fi
	out=$(timeout 120 "$C" floor --pairs 3 --count 2000 2>&1) || fail "$t: floor: $out"
	[ "$(echo "$out" | grep -c '^pair [0-9]*: raw p50')" = 3 ] || fail "$t: not three pairs: $out"
	echo "$out" | grep -q "kraftd PING / raw round trip over .*, 3 pairs of 2000: p50 median [0-9.]*x" ||
		fail "$t: no summary: $out"
	echo "$out" | tail -1 | grep -q "lost 0$" || fail "$t: datagrams lost: $(echo "$out" | tail -1)"
	log "$t: $(echo "$out" | tail -1)"
	if [ "$t" != udp ]; then
		# every PING kraftfloor sent was answered by the shell: counted in ping_echo
		# (3 pairs of 2000, warm-ups besides), then the switch works both ways
		n=$(stages | awk '$1 == "ping_echo" {print $2}')
		[ "${n:-0}" -ge 6000 ] || fail "$t: /kraft/stages counted ${n:-no} PINGs, not >= 6000"
		o=$(stages off)
		[ "$(echo "$o" | head -1)" = "on 0" ] || fail "$t: /kraft/stages,off did not switch it off: $o"
		m=$(stages | awk '$1 == "ping_echo" {print $2}')
		"$C" floor --pairs 1 --count 500 >/dev/null 2>&1 || fail "$t: floor with the timing off"
		[ "$(stages | awk '$1 == "ping_echo" {print $2}')" = "$m" ] ||
			fail "$t: PINGs counted while the timing was off"
		o=$(stages on)
		[ "$(echo "$o" | head -1)" = "on 1" ] || fail "$t: /kraft/stages,on did not switch it on: $o"
		# sampled (the default): some PINGs timed, far from all
		stages sampled >/dev/null
		stages reset >/dev/null
		p0=$(pings)
		"$C" floor --pairs 1 --count 2000 >/dev/null 2>&1 || fail "$t: floor, sampled"
		s=$(stages | awk '$1 == "ping_echo" {print $2}')
		sleep 0.3 # /kraft/stats is published every 100 ms
		p=$(($(pings) - p0))
		[ "$p" -ge 2000 ] || fail "$t: /kraft/stats counted $p PINGs echoed, not >= 2000"
		[ "${s:-0}" -ge 1 ] && [ "$s" -le $((p / 4)) ] ||
			fail "$t: sampled timing counted ${s:-no} of $p PINGs (expected about 1 in 16)"
		log "$t: /kraft/stages counted $n PINGs timing every pass, $s of $p sampled; off and on work"
		# the bulk floors (a snapshot transfer's): every byte echoed, then acknowledged
		for acks in "" --bulk-acks; do
			out=$(timeout 60 "$C" floor --bulk 20000000 $acks --pairs 1 2>&1) ||
				fail "$t: floor --bulk $acks: $out"
			echo "$out" | grep -q "median [0-9.]* MB/s; lost" || fail "$t: no bulk figure ($acks): $out"
			case $acks in
			"") echo "$out" | grep -q "each byte crosses twice" || fail "$t: --bulk: $out" ;;
			*) echo "$out" | grep -q "each acknowledged" || fail "$t: --bulk-acks: $out" ;;
			esac
			log "$t: $(echo "$out" | grep -o 'median.*')${acks:+ (acknowledged)}"
		done
	fi
	"$C" down --purge >/dev/null || fail "$t: down"
	ip netns list | grep -q "^$KRAFTD_NS-" && fail "$t: down left namespaces"
done
log "PASS ($(($(date +%s) - T0)) s)"
