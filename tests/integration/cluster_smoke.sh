#!/usr/bin/env bash
# kraftd integration test: scripts/cluster.sh and kraftbench, a smoke run. Over UDP: up,
# leader, kraftbench with its ping floor, partition of the leader (a new one is elected),
# heal (the old one follows), kill and restart, down (nothing left behind). Then over
# memif and AF_XDP with kraftbench on its own DPDK port (cluster.sh bench): latency with
# both legs' floor, an open-loop run, batched throughput, and --failover (the gap is
# reported and a new leader commits). Figures are printed, not judged: not a benchmark.
# Usage: cluster_smoke.sh BUILD_DIR   (run by meson: suite 'integration')
TAG=smoke PORT_BASE=20005
# shellcheck source=tests/integration/cluster_env.sh
. "$(dirname "$0")/cluster_env.sh"
if ! command -v nft >/dev/null || [ "$(id -u)" != 0 ]; then
	echo "cluster_smoke: partitions need nft and root" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi

# a 1 s fetch timeout: the management flood below must cost no Fetch answer, and a stall
# of the protocol under it lasts as long as the flood (4 s), while a loaded 2-core machine
# under ASan can miss a 200 ms one without any flood
"$C" up --nodes 3 --transport udp --durability memory --fetch-timeout-ms 1000 \
	--election-timeout-ms 500 >/dev/null || fail "up"
L=$("$C" leader) || fail "no leader"
log "cluster up ($KRAFTD_RUN), leader $L"
out=$("$BUILD/tools/kraftbench/kraftbench" --bootstrap-server "127.0.0.$L:$((KRAFTD_PORT + 100))" \
	--records 1000 --ping) || fail "kraftbench"
echo "$out" | sed 's/^/  /'
echo "$out" | grep -q 'commit / ping' || fail "kraftbench printed no ratio"
# a flood of relayed management requests while appends run: the node stays live (a full
# request ring and a full answer ring once deadlocked the control and dataplane threads)
M=$((KRAFTD_PORT + 100))
"$BUILD/tools/kraftbench/kraftbench" --bootstrap-server "127.0.0.$L:$M" --duration 5 \
	--inflight 4 >/dev/null 2>&1 &
kb=$!
sent=$(python3 "$TOP/tests/integration/mgmt_flood.py" 4 "127.0.0.1:$M" "127.0.0.2:$M" "127.0.0.3:$M")
for _ in $(seq 1 100); do kill -0 $kb 2>/dev/null || break; sleep 0.1; done
kill -0 $kb 2>/dev/null && { kill $kb; fail "kraftbench hung after a management flood ($sent requests)"; }
wait $kb || fail "kraftbench failed during a management flood"
timeout 10 "$BUILD/tools/kraftctl/kraftctl" --bootstrap-server "127.0.0.$L:$M" describe --status \
	>/dev/null || fail "node $L does not answer after a management flood ($sent requests)"
# management work is bounded per pass on both threads: the flood costs requests, never
# a Fetch answer or an event (unbounded, the control thread read the flood and left the
# event ring full; the dataplane then waited on it and the followers lost the leader)
lost=$(cat "$KRAFTD_RUN"/n*.log | grep -c "no good Fetch reply")
[ "$lost" = 0 ] || fail "followers lost leader $L during a management flood ($lost times)"
L2=$("$C" leader) || fail "no leader after a management flood"
[ "$L2" = "$L" ] || fail "the management flood cost leader $L its leadership (node $L2 leads)"
log "management flood of $sent requests: appends went on, the node answers, $L still leads"
"$C" partition "$L" >/dev/null || fail "partition"
for _ in $(seq 1 50); do
	N=$("$C" leader 2>/dev/null) && [ "$N" != "$L" ] && break
	sleep 0.1
done
[ "${N:-$L}" != "$L" ] || fail "isolating leader $L elected no other"
log "partitioned leader $L: node $N leads"
"$C" heal >/dev/null || fail "heal"
"$C" kill "$N" || fail "kill"
N2=$("$C" leader) || fail "no leader after kill"
"$C" restart "$N" >/dev/null || fail "restart"
sleep 1
"$C" status | grep -c Follower | grep -q 2 || fail "not every node follows after the restart: $("$C" status)"
log "killed leader $N, node $N2 leads; $N restarted and follows"
"$C" down >/dev/null || fail "down"
left=$(cd "$KRAFTD_RUN" && ls | grep -v '^n[0-9]*\.log$')
[ -z "$left" ] || fail "down left more than the node logs: $left"
[ -s "$KRAFTD_RUN/n1.log" ] || fail "down did not keep the node logs"
"$C" down --purge >/dev/null || fail "down --purge"
[ ! -d "$KRAFTD_RUN" ] || fail "down --purge left $KRAFTD_RUN"
nft list tables | grep -q "kraftd_$KRAFTD_NS" && fail "down left the nftables table"

# kraftbench's JSON: the figure at PATH (a.b.c) must be a number > 0
num() { python3 -c 'import json,sys; o=json.loads(sys.argv[1])
for k in sys.argv[2].split("."): o=o[k]
sys.exit(0 if isinstance(o,(int,float)) and o>0 else 1)' "$1" "$2"; }
ERR=$KRAFTD_RUN.err
trap '"$C" down >/dev/null 2>&1; rm -rf "$KRAFTD_RUN" "$ERR"' EXIT
for t in memif af_xdp; do
	"$C" up --nodes 3 --transport "$t" --durability memory >/dev/null || fail "$t: up"
	"$C" leader >/dev/null || fail "$t: no leader"
	out=$("$C" bench --records 2000 --ping --json 2>"$ERR") || fail "$t: kraftbench: $(cat "$ERR")"
	for k in commit_us.p50 ping_leader_us.p50 ping_follower_us.p50 ratio_p50; do
		num "$out" "$k" || fail "$t: kraftbench gave no $k: $out"
	done
	echo "$out" | grep -q '"transport": "dpdk"' || fail "$t: kraftbench did not run over DPDK"
	log "$t: $(python3 -c 'import json,sys; b=json.loads(sys.argv[1]); print("commit p50 %.1f us, ping leader %.1f, follower %.1f" % (b["commit_us"]["p50"], b["ping_leader_us"]["p50"], b["ping_follower_us"]["p50"]))' "$out")"
	out=$("$C" bench --duration 1 --rate 2000 --json 2>"$ERR") || fail "$t: open loop: $(cat "$ERR")"
	num "$out" commit_us.p50 || fail "$t: open loop gave no latency: $out"
	out=$("$C" bench --records 20000 --inflight 8 --batch 8 --json 2>"$ERR") || fail "$t: batched: $(cat "$ERR")"
	num "$out" records_per_s || fail "$t: no throughput: $out"
	out=$("$C" bench --duration 2 --kill-after 0.5 --failover "$C kill %d >/dev/null" --json 2>"$ERR") ||
		fail "$t: --failover: $(cat "$ERR")"
	num "$out" failover.gap_ms || fail "$t: no failover gap: $out"
	log "$t: failover gap $(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["failover"]["gap_ms"])' "$out") ms"
	"$C" down >/dev/null || fail "$t: down"
	ip netns list | grep -q "^$KRAFTD_NS-" && fail "$t: down left namespaces"
done
log "PASS ($(($(date +%s) - T0)) s)"
