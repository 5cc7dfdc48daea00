#!/usr/bin/env bash
# kraftd integration test: a 3-node cluster whose dataplanes run on DPDK, without
# hugepages, nodes on cores 0, 1, 0 in backoff mode, over
#   memif:  a full mesh of net_memif links, or
#   af_xdp: net_af_xdp on a veth per node, each in its own network namespace, the veths
#           bridged in a hub namespace, kraftd's XDP program steering its UDP port (checked
#           attached; ARP and other UDP, the management listener's included, still reach
#           the kernel; a program left by kill -9 is removed at restart).
# Election, appends committed and read back from every node, kill -9 of the leader and
# re-election, restart and catch-up, voter changes (a follower removed and added back; a
# fourth node that no configuration names as a voter added), graceful stop.
# Usage: dpdk_cluster.sh BUILD_DIR memif|af_xdp   (run by meson: suites integration, dpdk)
TRANSPORT=${2:?usage: dpdk_cluster.sh BUILD_DIR memif|af_xdp}
NAME=$TRANSPORT-cluster
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
KXDP=$BUILD/tools/kraftxdp/kraftxdp

if ! pkg-config --exists libdpdk 2>/dev/null; then
	echo "$NAME: DPDK is not installed" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
if [ "$TRANSPORT" = af_xdp ] && [ "$(id -u)" != 0 ]; then
	echo "$NAME: network namespaces and XDP need root" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
kctl() { kctl_at --bootstrap-server "$(servers)" "$@"; }

[ "$TRANSPORT" = af_xdp ] && namespaces 4
# memif: the dataplane's flight recorder on (its dump is checked after the graceful stops)
[ "$TRANSPORT" = memif ] && export KRAFTD_TRACE_DATAPLANE=1
cluster_init 3
NODES=4 # memif: every node gets a link for node 4 too, which joins later
for i in 1 2 3; do start "$i"; done
L=$(leader 20) || fail "no leader over $TRANSPORT"
log "leader elected over $TRANSPORT: node $L"
grep -h 'port 0:' "$RUN"/n1.log | head -1 | sed 's/.*start: /  /'
if [ "$TRANSPORT" = af_xdp ]; then
	for i in 1 2 3; do
		ip netns exec "$NS-$i" "$KXDP" show "kv$i" | grep -q kraftd_xdp ||
			fail "kraftd's XDP program is not attached to kv$i"
	done
	log "kraftd_xdp attached on kv1..kv3"
fi
out=$(kctl append one two three) || fail "append over $TRANSPORT"
for i in 1 2 3; do wait_values "$i" "one two three" || fail "node $i lacks one two three"; done
log "appended and read back from every node: $(echo "$out" | tr '\n\t' ' :')"
kctl --repeat 500 append x | sed 's/^/  /'
# the leader's telemetry: its own commit latency (append received to acknowledged); on a
# loaded 2-core machine the leader may have changed meanwhile: ask the current one
tel() { echo "$2" | dpdk-telemetry.py -f "kraftd-$$-$1" 2>/dev/null | tail -1; }
L=$(leader 20) || fail "no leader after the appends"
kctl --repeat 100 append y >/dev/null || fail "appends to leader $L"
st=$(tel "$L" /kraft/stats)
python3 - "$st" "$TRANSPORT" <<'PY' || fail "telemetry /kraft/stats: $st"
import json, sys
s = json.loads(sys.argv[1])["/kraft/stats"]
lat = s["commit_latency_ns"]
assert lat["count"] >= 1 and s["commits"] >= 1, s
print("  leader telemetry over %s: %d commits; commit latency us p50 %.1f p90 %.1f p99 %.1f "
      "p99.9 %.1f max %.1f; drops %s" % (sys.argv[2], s["commits"], lat["p50"] / 1e3,
      lat["p90"] / 1e3, lat["p99"] / 1e3, lat["p99_9"] / 1e3, lat["max"] / 1e3, s["drops"]))
PY
tel "$L" /kraft/replication | grep -q '"lag": 0' || fail "telemetry /kraft/replication"
tel "$L" /kraft/status | grep -q '"role": "leader"' || fail "telemetry /kraft/status"

if [ "$TRANSPORT" = af_xdp ]; then
	# the kernel still owns ARP and every other port: the hub resolved each node, and the
	# management listener (kernel UDP on the same veth) answered kraftctl above
	for i in 1 2 3; do
		ip -n "$NS-h" neigh show "10.77.0.$i" | grep -q lladdr ||
			fail "the hub never resolved 10.77.0.$i: ARP did not reach node $i's kernel"
		st=$(ip netns exec "$NS-$i" "$KXDP" stats "kv$i" --json)
		python3 -c 'import json,sys; s=json.loads(sys.argv[1]); sys.exit(0 if s["steered"] > 0 and s["other_udp"] > 0 and s["not_udp"] > 0 else 1)' "$st" ||
			fail "node $i's XDP counters: $st"
	done
	log "ARP and other UDP reached the kernels; node 1's XDP counters: $(ip netns exec "$NS-1" "$KXDP" stats kv1 --json)"
fi

OLD=$L
# a frame dropped for want of the peer's MAC (NO_NEIGHBOUR), by each node but the leader
no_mac() { tel "$1" /kraft/stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["/kraft/stats"]["drops"].get("NO_NEIGHBOUR", 0))'; }
declare -A nm
for i in 1 2 3; do [ "$i" = "$OLD" ] || nm[$i]=$(no_mac "$i"); done
kill9 "$OLD"
L=$(leader 20) || fail "no new leader after killing node $OLD"
[ "$L" != "$OLD" ] || fail "the killed node is still the leader"
kctl append four >/dev/null || fail "append after failover"
log "killed leader $OLD (kill -9); node $L leads and commits"
# the survivors knew each other's MACs before they had anything to say to each other (the
# dataplane asks for every voter's ahead of need; AF_XDP: the kernel's table): none of
# their election frames was dropped for want of one
for i in "${!nm[@]}"; do
	now=$(no_mac "$i")
	[ "$now" = "${nm[$i]}" ] ||
		fail "node $i dropped $((now - nm[$i])) frames for want of a MAC during the failover"
done
if [ "$TRANSPORT" = memif ]; then
	# a survivor whose memif server was the killed node restarts that port each second,
	# and the restart fails while the server is gone: no burst may touch the stopped port
	# (DPDK logs "not ready port" with a backtrace for each)
	sleep 1.5
	for i in "${!nm[@]}"; do
		! grep -q 'for not ready port' "$RUN/n$i.log" ||
			fail "node $i polled a stopped port: $(grep -m1 'not ready port' "$RUN/n$i.log")"
	done
	r=$(for i in "${!nm[@]}"; do echo "node $i: $(grep -c 'link down for a second' "$RUN/n$i.log")"; done | paste -sd, - | sed "s/,/, /g")
	log "no burst touched a stopped port (port restarts: $r)"
fi
start "$OLD"
wait_values "$OLD" "one two three four" 30 || fail "restarted node $OLD did not catch up"
log "restarted node $OLD caught up"
if [ "$TRANSPORT" = af_xdp ]; then
	grep -q 'removed a stale XDP program' "$RUN/n$OLD.log" ||
		fail "node $OLD did not remove the program its killed run left"
	log "node $OLD removed the XDP program its killed run had left on kv$OLD"
fi
kctl describe --replication | sed 's/^/  /'

# voter changes over this transport: a follower removed (it replicates on as an observer),
# then added back, each timed; the cluster commits on
L=$(leader 20) || fail "no leader before the voter changes"
F=$((L % 3 + 1))
t0=$(date +%s%N)
kctl --timeout-ms 20000 remove-voter --id "$F" --directory-id "${DIR[$F]}" >"$RUN/change.out" 2>&1 ||
	fail "remove-voter $F over $TRANSPORT: $(cat "$RUN/change.out")"
t1=$(date +%s%N)
voters() { kctl --json describe --status | python3 -c 'import json,sys; print(" ".join(sorted(str(x["id"]) for x in json.load(sys.stdin)["currentVoters"])))'; }
[ "$(voters)" = "$(echo 1 2 3 | tr ' ' '\n' | grep -vx "$F" | paste -sd' ')" ] ||
	fail "voters after removing $F: $(voters)"
kctl --timeout-ms 20000 add-voter --id "$F" --directory-id "${DIR[$F]}" \
	--endpoint "$(ip_of "$F"):$PORT" >>"$RUN/change.out" 2>&1 ||
	fail "add-voter $F over $TRANSPORT: $(cat "$RUN/change.out")"
t2=$(date +%s%N)
[ "$(voters)" = "1 2 3" ] || fail "voters after removing and adding $F: $(voters)"
kctl append five >/dev/null || fail "append after the voter changes"
log "voter $F removed in $(((t1 - t0) / 1000000)) ms and added back in $(((t2 - t1) / 1000000)) ms over $TRANSPORT"

# node 4, which no node's configuration names as a voter: formatted to join, it learns the
# voters from a bootstrap server, replicates as an observer and is added. The others reach
# it at the endpoint the log gives: over memif through the link made for it at start
# (kraftd.dpdk.peer.ports names node 4), over AF_XDP at the MAC its address resolves to.
sed -e 's/^node.id=.*/node.id=4/' -e "s|^metadata.log.dir=.*|metadata.log.dir=$RUN/n4|" \
	-e "s|^kraftd.listener=.*|kraftd.listener=$(ip_of 4):$PORT|" \
	-e "s|^controller.quorum.voters=.*|controller.quorum.bootstrap.servers=$(ip_of 1):$PORT, $(ip_of 2):$PORT, $(ip_of 3):$PORT|" \
	"$RUN/n1.properties" >"$RUN/n4.properties"
"$KRAFTD" format --config "$RUN/n4.properties" >/dev/null || fail "format node 4"
start 4
wait_line "$RUN/n4.log" "voters from bootstrap server" 20 || fail "node 4 did not learn the voters"
wait_values 4 "one two three four five" 30 || fail "node 4 did not catch up as an observer"
t0=$(date +%s%N)
kctl --timeout-ms 20000 add-voter --config "$RUN/n4.properties" >"$RUN/change.out" 2>&1 ||
	fail "add-voter 4 over $TRANSPORT: $(cat "$RUN/change.out")"
t1=$(date +%s%N)
[ "$(voters)" = "1 2 3 4" ] || fail "voters after adding node 4: $(voters)"
kctl append six >/dev/null || fail "append with four voters"
wait_values 4 six 15 || fail "voter 4 lacks six"
log "node 4 (no configuration names it) learned the voters, caught up and was added in $(((t1 - t0) / 1000000)) ms over $TRANSPORT"
# an endpoint no one answers at is refused: the leader's dataplane PINGs it first
if kctl --timeout-ms 3000 update-voter --id 4 --directory-id "$(sed -n 's/^directory.id=//p' "$RUN/n4/meta.properties")" \
	--endpoint "$(ip_of 4):$((PORT + 7))" >"$RUN/bad.out" 2>&1; then
	fail "update-voter to an endpoint no one answers at was taken over $TRANSPORT: $(cat "$RUN/bad.out")"
fi
grep -q ENDPOINT_UNREACHABLE "$RUN/bad.out" || fail "no ENDPOINT_UNREACHABLE over $TRANSPORT: $(cat "$RUN/bad.out")"
[ "$(voters)" = "1 2 3 4" ] || fail "voters after a refused update: $(voters)"
log "update-voter to a dead endpoint refused over $TRANSPORT: $(head -1 "$RUN/bad.out")"
L=$(leader 20) || fail "no leader with four voters"
# the next election needs three of the four voters, so node 4 must be reached and vote

stop "$L" || fail "graceful stop of leader $L exited $?"
N=$(leader 10) || fail "no leader after a graceful stop"
log "graceful stop of leader $L: exit 0, node $N leads$([ "$N" = 4 ] && echo " (node 4 itself)" || echo " (elected with node 4's vote: 3 of the 4 voters were needed)")"
for i in 1 2 3 4; do alive "$i" && { stop "$i" || fail "graceful stop of node $i"; }; done
grep -h 'dropped:' "$RUN"/n*.log | sed 's/.*stop: /  /'
if [ "$TRANSPORT" = memif ]; then
	# every node stopped gracefully wrote its recorder: the fetches it took or sent and
	# the role commands it was given, each with its time
	for i in 1 2 3 4; do
		grep -q 'dataplane: trace: [0-9]* entries' "$RUN/n$i.log" ||
			fail "node $i wrote no flight recorder (KRAFTD_TRACE_DATAPLANE=1)"
		grep -Eq 'trace [0-9:.]+ (in  FETCH from|out FETCH to|in  FETCH_RESP from|out FETCH_RESP to)' \
			"$RUN/n$i.log" || fail "node $i's recorder shows no Fetch"
		grep -Eq 'trace [0-9:.]+ cmd (LEADER|FOLLOWER|UNATTACHED) epoch [0-9]+' "$RUN/n$i.log" ||
			fail "node $i's recorder shows no role command"
	done
	log "the flight recorder of every node shows its Fetches and role commands"
fi
if [ "$TRANSPORT" = af_xdp ]; then
	for i in 1 2 3; do
		ip netns exec "$NS-$i" "$KXDP" show "kv$i" | grep -q 'no XDP program' ||
			fail "an XDP program is left on kv$i after a graceful stop"
	done
fi
log "PASS ($(($(date +%s) - T0)) s)"
