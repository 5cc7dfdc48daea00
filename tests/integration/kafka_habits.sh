#!/usr/bin/env bash
# kraftd integration test: a cluster set up the way a Kafka operator sets up KRaft
# controllers, over UDP on 127.0.0.1-3 (issue 19):
#   1. node 1's file written as Kafka's config/kraft/controller.properties is (no
#      cluster.id; process.roles, listeners, advertised.listeners, controller.listener.names,
#      listener.security.protocol.map, log.dirs, controller.quorum.bootstrap.servers, a JVM
#      tuning key), formatted with `kraftd format -t ID -c FILE --standalone` and started
#      as `kraftd FILE`: it warns about the ignored key, takes cluster.id from its
#      directory and commits
#   2. nodes 2 and 3 formatted with -N (joining), started as `kraftd start FILE` and
#      `kraftd run --config FILE`, learn the voters from a bootstrap server, and are added
#      with kraftctl add-voter --config FILE; the three commit together
#   3. what such an operator gets wrong is refused at once with the reason: every error of
#      a file (one line each), -t against the file's cluster.id, a run of an unformatted
#      directory, a dpdk transport without EAL options, a name that is neither a command
#      nor a file
# Usage: kafka_habits.sh BUILD_DIR   (run by meson: suite 'integration')
NAME=kafka-habits
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

kctl() { "$KCTL" --bootstrap-server "$(servers)" "$@"; }
CID=$("$KRAFTD" random-uuid)
# controller ID: node ID's file, as Kafka writes a controller's
controller() {
	cat >"$RUN/c$1.properties" <<PROPS
# The role of this server: a KRaft controller
process.roles=controller
node.id=$1
controller.quorum.bootstrap.servers=$(ip_of 1):$PORT, $(ip_of 2):$PORT, $(ip_of 3):$PORT
listeners=CONTROLLER://$(ip_of "$1"):$PORT
advertised.listeners=CONTROLLER://$(ip_of "$1"):$PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SSL:SSL
num.network.threads=3
log.dirs=$RUN/n$1
controller.quorum.election.timeout.ms: 150
controller.quorum.fetch.timeout.ms  300
PROPS
}
# run ID HOW...: start node ID as given (its log in n$ID.log)
run() {
	local i=$1
	shift
	"$KRAFTD" "$@" 2>>"$RUN/n$i.log" &
	PID[$i]=$!
}

# ---- 1. one controller, Kafka's way ----
controller 1
"$KRAFTD" format -t "$CID" -c "$RUN/c1.properties" --standalone >"$RUN/format.out" 2>&1 ||
	fail "format -t -c --standalone: $(cat "$RUN/format.out")"
grep -q "an initial voter of 1" "$RUN/format.out" || fail "format: $(cat "$RUN/format.out")"
run 1 "$RUN/c1.properties"
leader 15 >/dev/null || fail "kraftd FILE: no leader"
kctl append one >/dev/null || fail "append to the standalone controller"
grep -q "warning: num.network.threads: Kafka's key, ignored" "$RUN/n1.log" ||
	fail "no warning for the ignored tuning key"
grep -q "cluster $CID" "$RUN/n1.log" || fail "node 1 did not take cluster.id from its directory"
log "kraftd format -t ID -c FILE --standalone, kraftd FILE: node 1 leads and commits (cluster.id from its directory)"

# ---- 2. two more, joining, added ----
controller 2
controller 3
for i in 2 3; do
	"$KRAFTD" format -t "$CID" -c "$RUN/c$i.properties" -N >"$RUN/format.out" 2>&1 ||
		fail "format -N node $i: $(cat "$RUN/format.out")"
	grep -q "joining" "$RUN/format.out" || fail "format -N: $(cat "$RUN/format.out")"
done
run 2 start "$RUN/c2.properties"
run 3 run --config "$RUN/c3.properties"
for i in 2 3; do
	wait_line "$RUN/n$i.log" "voters from bootstrap server" 10 || fail "node $i did not learn the voters"
	wait_values "$i" one 15 || fail "node $i did not replicate as an observer"
	kctl --timeout-ms 20000 add-voter --config "$RUN/c$i.properties" >"$RUN/add.out" 2>&1 ||
		fail "add-voter --config c$i.properties: $(cat "$RUN/add.out")"
done
kctl append two >/dev/null || fail "append with three voters"
for i in 1 2 3; do wait_values "$i" "one two" || fail "node $i lacks one two"; done
n=$(kctl --json describe --status | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["currentVoters"]))')
[ "$n" = 3 ] || fail "voters after adding two: $n"
log "format -N, kraftd start FILE, kraftd run --config FILE, add-voter --config: three voters commit"

# ---- 3. mistakes, refused at once with the reason ----
refused() { # refused WHAT TEXT CMD...: CMD exits 2 within 5 s saying TEXT
	local what=$1 text=$2 rc=0
	shift 2
	timeout 5 "$@" >"$RUN/refused.out" 2>&1 || rc=$?
	[ $rc = 2 ] || fail "$what: exit $rc, not 2: $(cat "$RUN/refused.out")"
	grep -q -- "$text" "$RUN/refused.out" || fail "$what: no '$text' in: $(cat "$RUN/refused.out")"
}
printf 'node.id=4\nnode.id=5\nbogus.key=1\nkraftd.durability=tape\ncontroller.quorum.fetch.timeout.ms=fast\n' >"$RUN/bad.properties"
refused "a file with four errors" "line 3: bogus.key: unknown key" "$KRAFTD" "$RUN/bad.properties"
for want in "line 2: node.id given twice (first on line 1)" "line 4: kraftd.durability" "line 5: controller.quorum.fetch.timeout.ms"; do
	grep -q -- "$want" "$RUN/refused.out" || fail "not every error reported: no '$want' in $(cat "$RUN/refused.out")"
done
printf 'cluster.id=%s\n' "$("$KRAFTD" random-uuid)" | cat - "$RUN/c3.properties" >"$RUN/other.properties"
refused "-t against the file's cluster.id" "differs from cluster.id" \
	"$KRAFTD" format -t "$CID" -c "$RUN/other.properties"
sed "s|^log.dirs=.*|log.dirs=$RUN/unformatted|" "$RUN/c3.properties" >"$RUN/unformatted.properties"
refused "an unformatted directory" "format it first" "$KRAFTD" "$RUN/unformatted.properties"
refused "dpdk without EAL options" "needs the EAL options" \
	"$KRAFTD" "$RUN/c3.properties" --kraftd.transport=dpdk
refused "a name that is neither a command nor a file" "neither a command nor a readable" \
	"$KRAFTD" no-such-thing
log "refused with the reason: every error of a file at once, -t against cluster.id, an unformatted directory, dpdk without EAL options, an unknown name"
for i in 1 2 3; do stop "$i" || fail "graceful stop of node $i"; done
log "PASS ($(($(date +%s) - T0)) s)"
