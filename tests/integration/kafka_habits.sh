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
#   2b. kraftd dump reads a live segment (records shown) and a snapshot written from the
#      documented format by an independent writer (snapfile.py); damage in either, and a
#      file that is neither, exit 1 with the reason
#   3. what such an operator gets wrong is refused at once with the reason: every error of
#      a file (one line each), -t against the file's cluster.id, a run of an unformatted
#      directory, a dpdk transport without EAL options, a name that is neither a command
#      nor a file
#   4. kraftctl: bad arguments refused before any network I/O (exit 2), a port nobody
#      listens at said at once, the dataplane port redirected to the management one, a
#      dead bootstrap server costing nothing, values from stdin, reading past the end,
#      and a raw append too large for the management listener answered with an error
#   5. a node left alone (its peers stopped) summarizes its role changes every 5 s instead
#      of logging one every election timeout
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

# ---- 2b. kraftd dump: a segment and a snapshot, whole and damaged ----
seg=$(ls "$RUN"/n1/log/*.log | head -1)
"$KRAFTD" dump --records "$seg" >"$RUN/dump.out" 2>&1 || fail "dump of a live segment: $(tail -3 "$RUN/dump.out")"
grep -q 'value: "two"' "$RUN/dump.out" || fail "dump --records does not show the value two"
grep -q "control: Voters" "$RUN/dump.out" || fail "dump does not name the voters records"
grep -q "), whole$" "$RUN/dump.out" || fail "dump does not say the segment is whole"
cp "$seg" "$RUN/damaged.log"
printf 'X' | dd of="$RUN/damaged.log" bs=1 seek=100 conv=notrunc 2>/dev/null
rc=0; "$KRAFTD" dump "$RUN/damaged.log" >"$RUN/dump.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "a damaged batch" "$RUN/dump.out" || fail "dump of a damaged segment: exit $rc: $(cat "$RUN/dump.out")"
# a snapshot written by an independent writer of the documented format
mkdir -p "$RUN/snap"
snap=$(python3 "$(dirname "$0")/snapfile.py" "$RUN/snap" 100 2 1=one 2=two) || fail "snapfile.py"
"$KRAFTD" dump "$snap" >"$RUN/dump.out" 2>&1 || fail "dump of a snapshot: $(cat "$RUN/dump.out")"
grep -q "whole: 3 chunks" "$RUN/dump.out" && grep -q "state (kv): 30 bytes of image" "$RUN/dump.out" ||
	fail "dump of a snapshot: $(cat "$RUN/dump.out")"
printf 'X' | dd of="$snap" bs=1 seek=130 conv=notrunc 2>/dev/null
rc=0; "$KRAFTD" dump "$snap" >"$RUN/dump.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "CRC mismatch" "$RUN/dump.out" || fail "dump of a damaged snapshot: exit $rc: $(cat "$RUN/dump.out")"
rc=0; "$KRAFTD" dump "$RUN/c1.properties" >"$RUN/dump.out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "neither a log segment" "$RUN/dump.out" || fail "dump of a properties file: exit $rc"
log "kraftd dump: a live segment's batches and records, a snapshot's chunks and state; damage found in both"

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

# ---- 4. kraftctl: arguments checked before any network I/O, wrong ports said at once ----
ctl_refused() { # ctl_refused TEXT ARGS...: kraftctl exits 2 at once saying TEXT
	local text=$1 rc=0 t0
	shift
	t0=$(date +%s%N)
	"$KCTL" "$@" >"$RUN/ctl.out" 2>&1 || rc=$?
	[ $rc = 2 ] || fail "kraftctl $*: exit $rc, not 2: $(cat "$RUN/ctl.out")"
	grep -q -- "$text" "$RUN/ctl.out" || fail "kraftctl $*: no '$text' in: $(cat "$RUN/ctl.out")"
	[ $(($(date +%s%N) - t0)) -lt 1000000000 ] || fail "kraftctl $*: took a second or more"
}
B="--bootstrap-server $(mgmt 1)"
# shellcheck disable=SC2086
{
	ctl_refused "unknown command 'appendx'" $B appendx foo
	ctl_refused "repeat needs a count" $B --repeat 0 append x
	ctl_refused "timeout-ms needs milliseconds" $B --timeout-ms 0 describe --status
	ctl_refused "from needs an offset, 0 or more, not '-1'" $B read --from -1
	ctl_refused "from needs an offset, 0 or more, not 'abc'" $B read --from abc
	ctl_refused "append needs at least one VALUE" $B append
}
t0=$(date +%s%N)
"$KCTL" --bootstrap-server "$(ip_of 1):$((PORT + 7))" describe --status >"$RUN/ctl.out" 2>&1 &&
	fail "kraftctl at a port nobody listens at succeeded"
grep -q "nothing listens at" "$RUN/ctl.out" || fail "no port-unreachable message: $(cat "$RUN/ctl.out")"
[ $(($(date +%s%N) - t0)) -lt 1000000000 ] || fail "kraftctl at a dead port took a second or more"
"$KCTL" --bootstrap-server "$(ip_of 1):$PORT" append via-dataplane-port >"$RUN/ctl.out" 2>&1 ||
	fail "kraftctl at the dataplane port: $(cat "$RUN/ctl.out")"
grep -q "is node 1's dataplane port; asking its management listener" "$RUN/ctl.out" ||
	fail "kraftctl at the dataplane port said: $(cat "$RUN/ctl.out")"
t0=$(date +%s%N)
"$KCTL" --bootstrap-server "127.0.0.9:$((PORT + 100)),$(mgmt 2)" append past-a-dead-server >/dev/null 2>&1 ||
	fail "kraftctl with a dead first bootstrap server"
dead_ms=$((($(date +%s%N) - t0) / 1000000))
printf 'from\nstdin\n' | "$KCTL" $B --input - append >"$RUN/ctl.out" 2>&1 || fail "append --input -: $(cat "$RUN/ctl.out")"
grep -q "stdin" "$RUN/ctl.out" || fail "append --input -: $(cat "$RUN/ctl.out")"
"$KCTL" $B read --from 1000000 >"$RUN/ctl.out" 2>&1 || fail "read past the end failed"
grep -q "committed log ends at" "$RUN/ctl.out" || fail "read past the end said: $(cat "$RUN/ctl.out")"
# a raw append too large for the management listener is answered MESSAGE_TOO_LARGE
python3 - "$(ip_of 1)" "$((PORT + 100))" "$HERE" <<'PY' || fail "an oversized raw append was not answered MESSAGE_TOO_LARGE"
import socket, struct, sys
sys.path.insert(0, sys.argv[3])
import kraftwire as kw
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(kw.frame(kw.API["APPEND"], b"x" * 60000, corr=99), (sys.argv[1], int(sys.argv[2])))
buf, _ = s.recvfrom(65536)
h = kw.header(buf)
assert h and h[0] == 10 and h[4] == 99, h
err, = struct.unpack_from("<H", buf, kw.HDR)
assert err == 11, err
PY
log "kraftctl: six bad arguments refused at once (exit 2); a dead port said at once; the dataplane port redirected; a dead first bootstrap server cost ${dead_ms} ms in all; --input -; reading past the end says where it ends; an oversized raw append answered MESSAGE_TOO_LARGE"
# ---- 5. a node left alone summarizes its role changes instead of logging each ----
for i in 2 3; do stop "$i" || fail "graceful stop of node $i"; done
mark=$(wc -l <"$RUN/n1.log")
sleep 7
changes=$(tail -n +"$((mark + 1))" "$RUN/n1.log" | grep -c -- " -> ")
grep -q "still no leader after" "$RUN/n1.log" || fail "node 1 alone did not summarize: $(tail -5 "$RUN/n1.log")"
[ "$changes" -le 10 ] || fail "node 1 alone logged $changes role changes one by one in 7 s"
log "node 1 alone for 7 s: $changes role changes logged one by one, then: $(grep -o 'still no leader after.*' "$RUN/n1.log" | tail -1)"
stop 1 || fail "graceful stop of node 1"
log "PASS ($(($(date +%s) - T0)) s)"
