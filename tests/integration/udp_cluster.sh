#!/usr/bin/env bash
# kraftd integration test: a 3-node cluster over kernel UDP on 127.0.0.1-3.
#   election; appends via kraftctl committed and read back from every node; kill -9 of the
#   leader (unflushed data cut at restart), re-election, committed data intact; restart,
#   catch-up, and truncation of a divergent suffix; graceful stop hands leadership over at
#   once; a wrong identity refuses to start; a short workload under repeated leader kills
#   passes the history checker.
# Usage: udp_cluster.sh BUILD_DIR   (run by meson: suite 'integration')
# Every process it starts is killed by PID and its directory removed, whatever happens.
NAME=udp-cluster
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

cluster_init 3

# ---- 1. election ----
for i in 1 2 3; do start "$i"; done
L=$(leader 15) || fail "no leader elected"
log "leader elected: node $L"

# ---- 2. appends commit and read back from every node ----
out=$("$KCTL" --bootstrap-server "$(servers)" append alpha beta gamma) || fail "append"
echo "$out" | grep -q 'gamma' || fail "append printed no offsets: $out"
for i in 1 2 3; do wait_values "$i" "alpha beta gamma" || fail "node $i lacks alpha beta gamma"; done
log "appended and read back from every node: $(echo "$out" | tr '\n\t' ' :')"
"$KCTL" --bootstrap-server "$(mgmt 1)" describe --replication || fail "describe --replication"
# kraftbench, a smoke run: commits beside the ping floor of the same port
bench=$("$BUILD/tools/kraftbench/kraftbench" --bootstrap-server "$(mgmt 1)" --records 300 --inflight 2 \
	--warmup 0 --ping --json) || fail "kraftbench"
python3 -c 'import json,sys; b=json.loads(sys.argv[1]); assert b["commits"] == 300 and b["ping_leader_us"]["n"] + b["ping_follower_us"]["n"] >= 290 and b["ping_leader_us"]["p50"] > 0, b' "$bench" ||
	fail "kraftbench: $bench"
log "kraftbench smoke: $bench"

# ---- 3. kill -9 the leader: a new one, committed data intact ----
OLD=$L
kill9 "$OLD"
L=$(leader 15) || fail "no new leader after killing node $OLD"
[ "$L" != "$OLD" ] || fail "the killed node is still the leader"
log "killed leader $OLD (kill -9); node $L leads now"
"$KCTL" --bootstrap-server "$(servers)" append delta >/dev/null || fail "append after failover"
wait_values "$L" "alpha beta gamma delta" || fail "committed data lost after failover"

# ---- 4. restart: catches up; a divergent suffix is truncated ----
start "$OLD"
wait_values "$OLD" "alpha beta gamma delta" || fail "restarted node $OLD did not catch up"
log "restarted node $OLD caught up"
# Build a divergent suffix: stop the followers (kill -9), append to the leader alone
# (it cannot commit: "outcome unknown"), kill it too, restart the others: they elect a
# leader and commit something else; then restart the old leader.
OLD=$L
for i in 1 2 3; do [ "$i" != "$OLD" ] && kill9 "$i"; done
"$KCTL" --bootstrap-server "$(mgmt "$OLD")" --timeout-ms 300 append lonely1 lonely2 >/dev/null 2>&1
rc=$?
[ $rc = 3 ] || fail "an append without a quorum should end 'outcome unknown' (exit 3), got $rc"
kill9 "$OLD"
grep -q 'lonely' "$RUN/n$OLD/log/"*.log || fail "the lone leader never flushed its suffix"
for i in 1 2 3; do [ "$i" != "$OLD" ] && start "$i"; done
L=$(leader 15) || fail "no leader after the divergence"
"$KCTL" --bootstrap-server "$(servers)" append epsilon >/dev/null || fail "append epsilon"
start "$OLD"
wait_values "$OLD" "alpha beta gamma delta epsilon" || fail "node $OLD did not catch up"
grep -q 'truncated the log' "$RUN/n$OLD.log" || fail "node $OLD did not truncate its divergent suffix"
values_on "$OLD" | grep -q lonely && fail "an unacknowledged suffix became committed on node $OLD"
log "node $OLD truncated its divergent suffix: $(grep 'truncated the log' "$RUN/n$OLD.log" | tail -1 | sed 's/.*dataplane: //')"

# ---- 5. graceful stop hands leadership over at once ----
L=$(leader 15) || fail "no leader"
t0=$(date +%s%N)
stop "$L"
rc=$?
[ $rc = 0 ] || fail "graceful stop of node $L exited $rc"
grep -q 'resigning' "$RUN/n$L.log" || fail "node $L did not resign"
N=$(leader 5) || fail "no leader after a graceful stop"
# from the nodes' own logs: the stop signal to the new leader taking office
ms=$(python3 - "$RUN/n$L.log" "$RUN/n$N.log" <<'PY'
import sys, datetime
def ts(line):
    return datetime.datetime.strptime(line.split()[0], "%Y-%m-%dT%H:%M:%S.%fZ")
stop = [l for l in open(sys.argv[1]) if "shutting down" in l][-1]
won = [l for l in open(sys.argv[2]) if "-> leader" in l][-1]
print("%.1f" % ((ts(won) - ts(stop)).total_seconds() * 1000))
PY
)
log "graceful stop of leader $L: exit 0; node $N took office $ms ms after the signal"
python3 -c 'import sys; sys.exit(0 if 0 <= float(sys.argv[1]) < 1000 else 1)' "$ms" ||
	fail "the handover took $ms ms, not 'at once' (election timeout 150 ms)"
start "$L"

# ---- 6. a wrong identity refuses to start ----
other=$((L % 3 + 1))
"$KRAFTD" --transport udp --config "$RUN/n$L.properties" --metadata.log.dir="$RUN/n$other" \
	2>"$RUN/wrong.log" &
wp=$!
PID[9]=$wp
wait $wp
rc=$?
unset "PID[9]"
[ $rc = 1 ] || fail "node $L on node $other's directory exited $rc, not 1"
grep -q 'refusing to start' "$RUN/wrong.log" || fail "no reason given: $(cat "$RUN/wrong.log")"
log "wrong identity refused: $(sed 's/.*start: //' "$RUN/wrong.log" | head -1)"

# ---- 7. a workload under repeated leader kills passes the history checker ----
leader 15 >/dev/null || fail "no leader before the workload"
# the workload's records start past everything committed so far
FROM=$("$KCTL" --bootstrap-server "$(servers)" --json describe --status |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["highWatermark"])')
python3 "$WORKLOAD" run --kraftctl "$KCTL" --servers "$(servers)" --clients 3 --seconds 24 \
	--timeout-ms 3000 --out "$RUN/history" >"$RUN/workload.out" &
wl=$!
kills=0
for round in 1 2 3 4; do
	sleep 4
	L=$(leader 10) || continue
	kill9 "$L"
	kills=$((kills + 1))
	sleep 1
	start "$L"
done
wait $wl || fail "workload"
log "$(cat "$RUN/workload.out"); $kills leader kills"
for i in 1 2 3; do alive "$i" || start "$i"; done
L=$(leader 15) || fail "no leader after the workload"
# every node holds everything committed: wait for lag 0
for _ in $(seq 1 100); do
	"$KCTL" --bootstrap-server "$(servers)" --json describe --replication >"$RUN/repl.json" 2>/dev/null &&
		python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if all(x["lag"]==0 for x in r) else 1)' "$RUN/repl.json" &&
		break
	sleep 0.1
done
for i in 1 2 3; do
	python3 "$WORKLOAD" drain --kraftctl "$KCTL" --server "$(mgmt "$i")" --node "$i" \
		--from "$FROM" --out "$RUN/history" || fail "drain node $i"
done
python3 "$CHECK" "$RUN/history" || fail "history checker: anomalies (history kept in the log above)"
log "PASS ($(($(date +%s) - T0)) s)"
