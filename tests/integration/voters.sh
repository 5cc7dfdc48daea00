#!/usr/bin/env bash
# kraftd integration test: voter changes on a running cluster over UDP (KIP-853), under a
# workload whose history the checker must pass:
#   1. grow 1 -> 3: a --standalone voter; two nodes formatted to join replicate as
#      observers and are added one at a time with kraftctl add-voter
#   2. remove the leader: it leads until the removal commits, then hands over; it goes
#      on replicating as an observer and is added back
#   3. replace a follower's wiped disk: remove its old directory, format the disk again
#      (a new directory id, an observer), add the new directory
# Each change prints the time it took. Timings are indicative (UDP, shared machine).
# Usage: voters.sh BUILD_DIR   (run by meson: suite 'integration')
NAME=voters
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

kctl() { "$KCTL" --bootstrap-server "$(servers)" "$@"; }
dir_of() { sed -n 's/^directory.id=//p' "$RUN/n$1/meta.properties"; }
voters_now() {
	kctl --json describe --status |
		python3 -c 'import json,sys; print(" ".join(str(v["id"]) for v in json.load(sys.stdin)["currentVoters"]))'
}
# change CMD ID: run kraftctl CMD for node ID (its current directory), print the time
change() {
	local cmd=$1 id=$2 t0 t1 ep=()
	[ "$cmd" = remove-voter ] || ep=(--endpoint "$(ip_of "$id"):$PORT")
	t0=$(date +%s%N)
	kctl --timeout-ms 20000 "$cmd" --id "$id" --directory-id "$(dir_of "$id")" "${ep[@]}" \
		>"$RUN/change.out" 2>&1 || fail "$cmd $id: $(cat "$RUN/change.out")"
	t1=$(date +%s%N)
	log "$cmd $id: $(($((t1 - t0)) / 1000000)) ms: $(head -1 "$RUN/change.out")"
}
# joining_config ID: node ID formatted to join (no --initial-controllers): an observer
# until a voter change names its directory. Its controller.quorum.voters lists every
# node's address, as Kafka's controller.quorum.bootstrap.servers would: an empty log
# knows no endpoint yet, and the leader it hears of must be reachable.
joining_config() {
	local i=$1
	{
		echo "node.id=$i"
		echo "cluster.id=$CID"
		echo "controller.quorum.voters=1@$(ip_of 1):$PORT,2@$(ip_of 2):$PORT,3@$(ip_of 3):$PORT"
		echo "metadata.log.dir=$RUN/n$i"
		echo "kraftd.listener=$(ip_of "$i"):$PORT"
		echo "controller.quorum.election.timeout.ms=150"
		echo "controller.quorum.fetch.timeout.ms=300"
		echo "controller.quorum.election.backoff.max.ms=150"
	} >"$RUN/n$i.properties"
	rm -rf "$RUN/n$i"
	"$KRAFTD" format --config "$RUN/n$i.properties" >/dev/null || fail "format node $i"
}

# ---- 1. grow 1 -> 3 under a workload ----
cluster_init 1
start 1
leader 15 >/dev/null || fail "no leader (one voter)"
NODES=3
for i in 2 3; do
	joining_config "$i"
	start "$i"
done
FROM=$(kctl --json describe --status | json_field highWatermark)
python3 "$WORKLOAD" run --kraftctl "$KCTL" --servers "$(servers)" --clients 2 --seconds 30 \
	--timeout-ms 5000 --out "$RUN/history" >"$RUN/workload.out" &
wl=$!
sleep 1
change add-voter 2
change add-voter 3
[ "$(voters_now | tr ' ' '\n' | sort -n | paste -sd' ')" = "1 2 3" ] ||
	fail "voters after growing: $(voters_now)"
log "grown to three voters: $(voters_now)"

# ---- 2. remove the leader, then add it back ----
L=$(leader 15) || fail "no leader with three voters"
change remove-voter "$L"
grep -q 'LEFT_VOTERS\|left the voter set\|the change that removed this leader' "$RUN/n$L.log" ||
	fail "node $L did not say it resigned after its removal"
N=$(leader 15) || fail "no leader after removing leader $L"
[ "$N" != "$L" ] || fail "the removed leader $L still leads"
log "leader $L removed: node $N leads, voters $(voters_now)"
change add-voter "$L"

# ---- 3. replace a follower's wiped disk: remove, format, add ----
L=$(leader 15) || fail "no leader"
F=$((L % 3 + 1))
change remove-voter "$F"
kill9 "$F"
joining_config "$F" # the disk wiped and formatted again: a new directory id
start "$F"
change add-voter "$F"
sorted=$(voters_now | tr ' ' '\n' | sort -n | paste -sd' ')
[ "$sorted" = "1 2 3" ] || fail "voters after replacing $F: $(voters_now)"
log "node $F's disk replaced: voters $(voters_now)"

wait $wl || fail "workload"
log "$(cat "$RUN/workload.out")"
# every node holds everything committed: wait for lag 0, then check the history
for _ in $(seq 1 100); do
	kctl --json describe --replication >"$RUN/repl.json" 2>/dev/null &&
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
