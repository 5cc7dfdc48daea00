#!/usr/bin/env bash
# kraftd integration test: voter changes on a running cluster over UDP (KIP-853), under a
# workload whose history the checker must pass:
#   1. grow 1 -> 3 -> 5: a one-voter cluster; nodes formatted to join replicate as
#      observers and are added one at a time with kraftctl add-voter
#   2. remove the leader: it leads until the removal commits, then hands over; it goes
#      on replicating as an observer and is added back
#   3. shrink 5 -> 3: two followers removed (they go on as observers)
#   4. replace a follower's wiped disk: remove its old directory, format the disk again
#      (a new directory id, an observer), add the new directory
#   5. move a follower's endpoint: restarted on another port, it is reached and taken
#      there as a voter once kraftctl update-voter writes the new endpoint
# Each change prints the time it took. Timings are indicative (UDP, shared machine).
# Usage: voters.sh BUILD_DIR   (run by meson: suite 'integration')
NAME=voters
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

kctl() { "$KCTL" --bootstrap-server "$(servers)" "$@"; }
dir_of() { sed -n 's/^directory.id=//p' "$RUN/n$1/meta.properties"; }
declare -A NPORT # a node's dataplane port when it moved (else PORT)
port_of() { echo "${NPORT[$1]:-$PORT}"; }
mgmt() { echo "$(ip_of "$1"):$(($(port_of "$1") + 100))"; }
sorted_voters() { voters_now | tr ' ' '\n' | sort -n | paste -sd' '; }
voters_now() {
	kctl --json describe --status |
		python3 -c 'import json,sys; print(" ".join(str(v["id"]) for v in json.load(sys.stdin)["currentVoters"]))'
}
# change CMD ID: run kraftctl CMD for node ID (its current directory), print the time
change() {
	local cmd=$1 id=$2 t0 t1 ep=()
	[ "$cmd" = remove-voter ] || ep=(--endpoint "$(ip_of "$id"):$(port_of "$id")")
	t0=$(date +%s%N)
	kctl --timeout-ms 20000 "$cmd" --id "$id" --directory-id "$(dir_of "$id")" "${ep[@]}" \
		>"$RUN/change.out" 2>&1 || fail "$cmd $id: $(cat "$RUN/change.out")"
	t1=$(date +%s%N)
	log "$cmd $id: $(($((t1 - t0)) / 1000000)) ms: $(head -1 "$RUN/change.out")"
}
# add_by_config ID: add-voter reading the node's own properties file (as Kafka's
# add-controller --command-config does)
add_by_config() {
	local t0 t1
	t0=$(date +%s%N)
	kctl --timeout-ms 20000 add-voter --config "$RUN/n$1.properties" >"$RUN/change.out" 2>&1 ||
		fail "add-voter --config n$1.properties: $(cat "$RUN/change.out")"
	t1=$(date +%s%N)
	grep -q "directory $(dir_of "$1")" "$RUN/change.out" || fail "add-voter --config named another directory: $(cat "$RUN/change.out")"
	log "add-voter --config n$1.properties: $(($((t1 - t0)) / 1000000)) ms: $(head -1 "$RUN/change.out")"
}
# joining_config ID: node ID formatted to join (no --initial-controllers): an observer
# until a voter change names its directory. As a Kafka controller added later is
# configured, it names no voters, only controller.quorum.bootstrap.servers (every node's
# address, as operators write the list, with spaces): an empty directory asks them for
# the voters at start, a restarted one reads them from its own log.
joining_config() {
	local i=$1
	{
		echo "node.id=$i"
		echo "cluster.id=$CID"
		echo "controller.quorum.bootstrap.servers=$(all_servers)"
		echo "metadata.log.dir=$RUN/n$i"
		echo "kraftd.listener=$(ip_of "$i"):$(port_of "$i")"
		echo "controller.quorum.election.timeout.ms=150"
		echo "controller.quorum.fetch.timeout.ms=300"
		echo "controller.quorum.election.backoff.max.ms=150"
	} >"$RUN/n$i.properties"
	[ "${2:-}" = keep ] && return
	rm -rf "$RUN/n$i"
	"$KRAFTD" format --config "$RUN/n$i.properties" >/dev/null || fail "format node $i"
}
all_servers() {
	local k s=""
	for k in 1 2 3 4 5; do s="$s${s:+, }$(ip_of "$k"):$(port_of "$k")"; done
	echo "$s"
}
# a voter other than the leader (and not in the list given)
follower_not() {
	local l v
	l=$(leader 15) || fail "no leader"
	for v in $(voters_now); do
		[ "$v" = "$l" ] && continue
		case " $* " in *" $v "*) continue ;; esac
		echo "$v"
		return 0
	done
	return 1
}

# ---- 1. grow 1 -> 3 -> 5 under a workload ----
cluster_init 1
# node 1 runs with bootstrap servers too (itself): its voters are its directory's
sed -i "s|^controller.quorum.voters=.*|controller.quorum.bootstrap.servers=$(ip_of 1):$PORT|" "$RUN/n1.properties"
start 1
leader 15 >/dev/null || fail "no leader (one voter)"
NODES=5
for i in 2 3 4 5; do
	joining_config "$i"
	start "$i"
done
for i in 2 3 4 5; do
	wait_line "$RUN/n$i.log" "voters from bootstrap server" ||
		fail "node $i did not learn the voters from a bootstrap server"
done
FROM=$(kctl --json describe --status | json_field highWatermark)
python3 "$WORKLOAD" run --kraftctl "$KCTL" --servers "$(servers)" --clients 2 --seconds 40 \
	--timeout-ms 5000 --out "$RUN/history" >"$RUN/workload.out" &
wl=$!
sleep 1
change add-voter 2
change add-voter 3
[ "$(sorted_voters)" = "1 2 3" ] || fail "voters after growing to three: $(voters_now)"
add_by_config 4
change add-voter 5
[ "$(sorted_voters)" = "1 2 3 4 5" ] || fail "voters after growing to five: $(voters_now)"
log "grown 1 -> 3 -> 5: voters $(voters_now)"

# ---- 2. remove the leader, then add it back ----
L=$(leader 15) || fail "no leader with five voters"
change remove-voter "$L"
grep -q 'LEFT_VOTERS\|the change that removed this leader' "$RUN/n$L.log" ||
	fail "node $L did not say it resigned after its removal"
N=$(leader 15) || fail "no leader after removing leader $L"
[ "$N" != "$L" ] || fail "the removed leader $L still leads"
log "leader $L removed: node $N leads, voters $(voters_now)"
change add-voter "$L"

# ---- 3. shrink 5 -> 3 ----
A=$(follower_not) || fail "no follower to remove"
change remove-voter "$A"
B=$(follower_not "$A") || fail "no second follower to remove"
change remove-voter "$B"
[ "$(voters_now | wc -w)" = 3 ] || fail "voters after shrinking: $(voters_now)"
log "shrunk to three: voters $(voters_now) ($A and $B replicate on as observers)"

# ---- 4. replace a follower's wiped disk: remove, format, add ----
F=$(follower_not) || fail "no follower"
change remove-voter "$F"
kill9 "$F"
joining_config "$F" # the disk wiped and formatted again: a new directory id
start "$F"
change add-voter "$F"
[ "$(voters_now | wc -w)" = 3 ] || fail "voters after replacing $F: $(voters_now)"
log "node $F's disk replaced: voters $(voters_now)"

# ---- 5. move a follower's endpoint ----
G=$(follower_not) || fail "no follower"
stop "$G" || fail "graceful stop of $G"
NPORT[$G]=$((PORT + 1))
joining_config "$G" keep # the same directory, listening on another port
start "$G"
sleep 1
grep -q . "$RUN/n$G.log" || fail "node $G did not start"
# an endpoint no node answers at is refused (the leader's node PINGs it first), nothing
# changed; and describe shows no change pending
before=$(sorted_voters)
if kctl --timeout-ms 5000 update-voter --id "$G" --directory-id "$(dir_of "$G")" \
	--endpoint "$(ip_of "$G"):$((PORT + 7))" >"$RUN/bad.out" 2>&1; then
	fail "update-voter to an endpoint no one answers at was taken: $(cat "$RUN/bad.out")"
fi
grep -q ENDPOINT_UNREACHABLE "$RUN/bad.out" || fail "no ENDPOINT_UNREACHABLE: $(cat "$RUN/bad.out")"
[ "$(sorted_voters)" = "$before" ] || fail "voters changed by a refused update: $(voters_now)"
kctl --json describe --status | json_field pendingVoterChange | grep -qx None ||
	fail "describe shows a pending change after a refused one"
log "update-voter to a dead endpoint refused: $(head -1 "$RUN/bad.out")"
change update-voter "$G"
# it is taken from its new endpoint now: it catches up and fetches as a voter again
moved=0
for _ in $(seq 1 100); do
	if kctl --timeout-ms 2000 --json describe --replication >"$RUN/repl.json" 2>/dev/null &&
		python3 - "$RUN/repl.json" "$G" <<'PY'; then
import json, sys
r = [x for x in json.load(open(sys.argv[1])) if x["nodeId"] == int(sys.argv[2])]
sys.exit(0 if r and r[0]["status"] in ("Follower", "Leader") and 0 <= r[0]["lag"] < 50 else 1)
PY
		moved=1
		break
	fi
	sleep 0.1
done
[ $moved = 1 ] || fail "node $G at its new endpoint did not catch up as a voter: $(cat "$RUN/repl.json")"
ep=$(kctl --json describe --status | python3 -c 'import json,sys; print([v["endpoints"] for v in json.load(sys.stdin)["currentVoters"] if v["id"]==int(sys.argv[1])])' "$G")
case "$ep" in *":$(port_of "$G")"*) ;; *) fail "describe shows node $G at $ep, not at port $(port_of "$G")" ;; esac
log "node $G moved to port $(port_of "$G"): a voter fetching from there, voters $(voters_now)"

# the workload runs 2 s past the last change, then stops (40 s is only its bound)
sleep 2
kill -TERM $wl 2>/dev/null
wait $wl || fail "workload"
log "$(cat "$RUN/workload.out")"
# every node holds everything committed: wait for lag 0, then check the history
for _ in $(seq 1 100); do
	kctl --json describe --replication >"$RUN/repl.json" 2>/dev/null &&
		python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); sys.exit(0 if all(x["lag"]==0 for x in r) else 1)' "$RUN/repl.json" &&
		break
	sleep 0.1
done
for i in 1 2 3 4 5; do
	python3 "$WORKLOAD" drain --kraftctl "$KCTL" --server "$(mgmt "$i")" --node "$i" \
		--from "$FROM" --out "$RUN/history" || fail "drain node $i"
done
python3 "$CHECK" "$RUN/history" || fail "history checker: anomalies (history kept in the log above)"
log "PASS ($(($(date +%s) - T0)) s)"
