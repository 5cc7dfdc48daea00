#!/usr/bin/env bash
# kraftd integration test: a 3-node cluster over kernel UDP on 127.0.0.1-3.
#   election; appends via kraftctl committed and read back from every node; kill -9 of the
#   leader (unflushed data cut at restart), re-election, committed data intact; restart,
#   catch-up, and truncation of a divergent suffix; graceful stop hands leadership over at
#   once; a wrong identity refuses to start; a short workload under repeated leader kills
#   passes the history checker.
# Usage: udp_cluster.sh BUILD_DIR   (run by meson: suite 'integration')
# Every process it starts is killed by PID and its directory removed, whatever happens.
set -uo pipefail

BUILD=$(cd "${1:?usage: udp_cluster.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
KRAFTD=$BUILD/kraftd
KCTL=$BUILD/tools/kraftctl/kraftctl
CHECK=$HERE/../history/kraftcheck.py
WORKLOAD=$HERE/../history/workload.py
RUN=$(mktemp -d "${TMPDIR:-/tmp}/kraftd-udp.XXXXXX")
PORT=$((20000 + ($$ % 4000) * 10)) # dataplane port; management port + 100
declare -A PID=()
T0=$(date +%s)

log() { printf '[%4ss] %s\n' $(($(date +%s) - T0)) "$*"; }
fail() {
	log "FAIL: $*"
	for i in 1 2 3; do
		[ -f "$RUN/n$i.log" ] && { echo "---- node $i log (last 25 lines)"; tail -n 25 "$RUN/n$i.log"; }
	done
	exit 1
}
cleanup() {
	for i in "${!PID[@]}"; do kill -9 "${PID[$i]}" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] && echo "kept $RUN" || rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! "$KRAFTD" --help | grep -q -- --test-crash-cut; then
	echo "udp_cluster: $KRAFTD was built without -Dcrash_test=true" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi

servers() { echo "127.0.0.1:$((PORT + 100)),127.0.0.2:$((PORT + 100)),127.0.0.3:$((PORT + 100))"; }
mgmt() { echo "127.0.0.$1:$((PORT + 100))"; }

CID=$("$KRAFTD" random-uuid)
for i in 1 2 3; do
	cat >"$RUN/n$i.properties" <<EOF
node.id=$i
cluster.id=$CID
controller.quorum.voters=1@127.0.0.1:$PORT,2@127.0.0.2:$PORT,3@127.0.0.3:$PORT
metadata.log.dir=$RUN/n$i
controller.quorum.election.timeout.ms=150
controller.quorum.fetch.timeout.ms=300
controller.quorum.election.backoff.max.ms=150
EOF
	"$KRAFTD" format --config "$RUN/n$i.properties" >/dev/null || fail "format node $i"
done

start() { # start NODE [extra args]
	local i=$1
	shift
	"$KRAFTD" --transport udp --config "$RUN/n$i.properties" --test-crash-cut "$@" \
		2>>"$RUN/n$i.log" &
	PID[$i]=$!
}
kill9() {
	kill -9 "${PID[$1]}" 2>/dev/null
	wait "${PID[$1]}" 2>/dev/null
	unset "PID[$1]"
}
alive() { [ -n "${PID[$1]:-}" ]; }

# The leader's id as a live node reports it, once one is known (within $1 seconds).
leader() {
	local deadline=$(($(date +%s) + ${1:-15})) out
	while [ "$(date +%s)" -lt "$deadline" ]; do
		for i in 1 2 3; do
			alive "$i" || continue
			out=$("$KCTL" --bootstrap-server "$(mgmt "$i")" --timeout-ms 1000 --json \
				describe --status 2>/dev/null) || continue
			out=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["leaderId"])' "$out")
			if [ "$out" -ge 1 ] && alive "$out"; then
				echo "$out"
				return 0
			fi
		done
		sleep 0.1
	done
	return 1
}

# The committed values a node returns, one per line.
values_on() { "$KCTL" --bootstrap-server "$(mgmt "$1")" --timeout-ms 3000 read --from 0 | cut -f2; }

# Wait until node $1 returns every value in the list $2 (space-separated), within 10 s.
wait_values() {
	local deadline=$(($(date +%s) + 10)) v got
	while [ "$(date +%s)" -lt "$deadline" ]; do
		got=$(values_on "$1" 2>/dev/null | tr '\n' ' ')
		local missing=0
		for v in $2; do
			case " $got " in *" $v "*) ;; *) missing=1 ;; esac
		done
		[ $missing = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

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
kill -TERM "${PID[$L]}"
wait "${PID[$L]}"
rc=$?
unset "PID[$L]"
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
