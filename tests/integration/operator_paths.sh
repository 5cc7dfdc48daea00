#!/usr/bin/env bash
# kraftd integration test: what an operator does to a running cluster's directories must
# never lose an acknowledged record (a 3-node cluster over UDP on 127.0.0.1-3, disk).
#   1. a second kraftd on a running follower's directory, started again and again while
#      clients append 30 KB records: every start is refused naming the holder's pid, and
#      no byte of the directory changes (every file hashed before and after); format and
#      unsafe-admit are refused too, inspect says the directory is in use
#   2. a follower's disk wiped and re-formatted (plain format: a joining directory): it
#      replicates at once as an observer; describe shows its new directory id and true
#      lag beside the voter entry of its old one
#   3. the data-loss scenario: leader L, followers A and B; A cut off; 20 appends
#      acknowledged by L and B; B wiped and re-formatted, cut off from L and restarted;
#      L killed; A and B meet. B is no voter, so A cannot be elected; once L is back,
#      all 20 are on every node. Then the same with B's format re-run with the cluster's
#      --initial-controllers (automation): B finds the cluster's history and rejoins
#   4. a full restart (kill -9 of all three) keeps every acknowledged record; a 2-voter
#      cluster commits only with both; directories formatted before directory ids run
#   5. a memory-mode cluster that crashed whole elects nobody (every node may lack what it
#      acknowledged) until kraftd unsafe-admit on two of them
#   6. --test-crash-cut on a directory last run without it is refused
#   7. controller.quorum.bootstrap.servers as operators get it wrong: given with the voters
#      list, without a listener, on a static directory; a joining node whose servers are
#      all down waits and says so (SIGTERM stops it), one pointed at another cluster says
#      so; format --standalone with it makes a one-voter cluster that commits
# Usage: operator_paths.sh BUILD_DIR   (run by meson: suite 'integration')
NAME=operator-paths
NFT_TABLE=kraftd_op_$$
CLEANUP_EXTRA='nft delete table inet '$NFT_TABLE' 2>/dev/null'
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if ! command -v nft >/dev/null || [ "$(id -u)" != 0 ]; then
	echo "operator-paths: partitions need nft and root" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi

kctl() { "$KCTL" --bootstrap-server "$(servers)" "$@"; }
# drop every dataplane datagram between nodes $1 and $2 (both ways), or to and from $1
cut_off() {
	nft add table inet "$NFT_TABLE" 2>/dev/null
	nft add chain inet "$NFT_TABLE" f '{ type filter hook input priority 0; }' 2>/dev/null
	if [ $# = 2 ]; then
		nft add rule inet "$NFT_TABLE" f ip saddr "$(ip_of "$1")" ip daddr "$(ip_of "$2")" udp dport "$PORT" drop
		nft add rule inet "$NFT_TABLE" f ip saddr "$(ip_of "$2")" ip daddr "$(ip_of "$1")" udp dport "$PORT" drop
	else
		nft add rule inet "$NFT_TABLE" f ip saddr "$(ip_of "$1")" udp dport "$PORT" drop
		nft add rule inet "$NFT_TABLE" f ip daddr "$(ip_of "$1")" udp dport "$PORT" drop
	fi
}
heal() { nft delete table inet "$NFT_TABLE" 2>/dev/null; true; }
hash_dir() { (cd "$1" && find . -type f | sort | xargs sha256sum); }
# the leader as node $1 sees it (its management listener), or nothing
leader_seen_by() {
	"$KCTL" --bootstrap-server "$(mgmt "$1")" --timeout-ms 500 --json describe --status 2>/dev/null |
		json_field leaderId 2>/dev/null
}
# a node wiped and formatted again: plain, or with the cluster's --initial-controllers
reformat() {
	rm -rf "$RUN/n$1"
	if [ "${2:-}" = initial ]; then
		"$KRAFTD" format --config "$RUN/n$1.properties" --initial-controllers "$INITIAL" \
			>>"$RUN/format.out" || fail "format $1 again"
	else
		"$KRAFTD" format --config "$RUN/n$1.properties" >>"$RUN/format.out" || fail "format $1"
	fi
}
dir_of() { sed -n 's/^directory.id=//p' "$RUN/n$1/meta.properties"; }

# ---- 1. a second kraftd on a running follower's directory ----
cluster_init 3
for i in 1 2 3; do start "$i"; done
L=$(leader 15) || fail "no leader"
F=$((L % 3 + 1))
big=$(head -c 30000 /dev/zero | tr '\0' b)
touch "$RUN/appending"
(
	k=0
	while [ -f "$RUN/appending" ]; do
		k=$((k + 1))
		kctl --timeout-ms 3000 append "$k-$big" >/dev/null 2>&1 && echo "$k" >>"$RUN/acked"
	done
) &
APPENDER=$!
sleep 0.5
for t in $(seq 1 10); do
	out=$("$KRAFTD" --transport udp --config "$RUN/n$F.properties" --test-crash-cut 2>&1)
	rc=$?
	[ $rc = 1 ] || fail "twin start $t of node $F exited $rc: $out"
	echo "$out" | grep -q "in use by another process (pid ${PID[$F]} " ||
		fail "twin start $t did not name the holder (pid ${PID[$F]}): $out"
	sleep 0.1
done
rm -f "$RUN/appending"
wait "$APPENDER"
acked=$(wc -l <"$RUN/acked")
[ "$acked" -ge 5 ] || fail "only $acked appends of 30 KB were acknowledged during the twin starts"
# quiet now (the follower done with its last fetches and flushes: its files hash the same
# twice in a row): every file of the directory, hashed, survives more twins, format, admit
before=$(hash_dir "$RUN/n$F")
for _ in $(seq 1 40); do
	sleep 0.25
	now=$(hash_dir "$RUN/n$F")
	[ "$now" = "$before" ] && break
	before=$now
done
for t in 1 2 3; do
	"$KRAFTD" --transport udp --config "$RUN/n$F.properties" >/dev/null 2>&1 && fail "a twin started"
done
"$KRAFTD" format --config "$RUN/n$F.properties" --ignore-formatted >/dev/null 2>&1 &&
	fail "format ran on a directory in use"
"$KRAFTD" unsafe-admit --config "$RUN/n$F.properties" >/dev/null 2>&1 &&
	fail "unsafe-admit ran on a directory in use"
"$KRAFTD" inspect --dir "$RUN/n$F" | grep -q "IN USE.*pid ${PID[$F]}" || fail "inspect does not say the directory is in use"
after=$(hash_dir "$RUN/n$F")
[ "$before" = "$after" ] || fail "a refused start changed node $F's files: $(diff <(echo "$before") <(echo "$after"))"
# and nothing it holds is damaged: stopped, its log recovers clean, with every append
stop "$F" || fail "graceful stop of node $F"
"$KRAFTD" inspect --dir "$RUN/n$F" | grep -q "recovery: clean" || fail "node $F's log is not clean: $("$KRAFTD" inspect --dir "$RUN/n$F")"
start "$F"
last=$(tail -1 "$RUN/acked")
wait_values_prefix() { # node, count of k-$big values to find
	local deadline=$(($(date +%s) + 15)) n
	while [ "$(date +%s)" -lt "$deadline" ]; do
		n=$(values_on "$1" 2>/dev/null | grep -c -- "-bbbb")
		[ "$n" -ge "$2" ] && return 0
		sleep 0.2
	done
	return 1
}
wait_values_prefix "$F" "$acked" || fail "node $F lacks acknowledged 30 KB appends"
log "twin starts of node $F (pid ${PID[$F]}) under 30 KB appends: 13 refused naming the pid, format and unsafe-admit refused, no file changed, $acked acknowledged appends intact (last $last)"

# ---- 2. a follower's disk replaced: it replicates at once, described as what it is ----
kctl append r1 r2 r3 >/dev/null 2>&1 || fail "append r1-r3"
old_dir=$(dir_of "$F")
kill9 "$F"
reformat "$F"
new_dir=$(dir_of "$F")
[ "$old_dir" != "$new_dir" ] || fail "a re-format kept the directory id"
start "$F"
wait_values "$F" "r1 r2 r3" 10 || fail "the re-formatted node $F did not replicate"
grep -q "not with this directory" "$RUN/n$F.log" || fail "node $F did not say it is no voter with this directory"
described() {
	desc=$(kctl describe --replication --json)
	python3 - "$desc" "$F" "$old_dir" "$new_dir" <<'PY'
import json, sys
reps, f, old, new = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
voters = [r for r in reps if r["nodeId"] == f and r["status"] == "Follower"]
obs = [r for r in reps if r["nodeId"] == f and r["status"] == "Observer"]
assert voters and voters[0]["directoryId"] == old, voters
assert obs and obs[0]["directoryId"] == new, obs
assert obs[0]["lag"] == 0, obs
PY
}
for _ in $(seq 1 20); do described 2>/dev/null && break; sleep 0.25; done
described || fail "describe: $desc"
log "re-formatted node $F ($old_dir -> $new_dir) replicated at once; described as an observer with lag 0 beside voter $F's old directory"
for i in 1 2 3; do alive "$i" && kill9 "$i"; done

# ---- 3. a re-formatted voter must not help elect a leader that lacks acked records ----
scenario() { # plain | initial
	local how=$1 L A B k acked="" n mark
	RUN=$TOP_RUN/$how
	mkdir -p "$RUN"
	cluster_init 3
	for i in 1 2 3; do start "$i"; done
	L=$(leader 15) || fail "$how: no leader"
	A=$((L % 3 + 1))
	B=$((A % 3 + 1))
	kctl append pre >/dev/null 2>&1 || fail "$how: append pre"
	wait_values "$A" pre && wait_values "$B" pre || fail "$how: followers did not replicate"
	cut_off "$A"
	for k in $(seq 1 20); do
		kctl --timeout-ms 3000 append "s$k" >/dev/null 2>&1 || fail "$how: append s$k (L and B should commit it)"
		acked="$acked s$k"
	done
	kill9 "$B"
	reformat "$B" "$how"
	heal
	cut_off "$A"
	cut_off "$B" "$L"
	start "$B"
	sleep 0.5
	kill9 "$L"
	mark=$(wc -l <"$RUN/n$A.log")
	heal
	# A and B meet, L is gone: A must not lead (its log lacks s1..s20); for 3 s (20
	# election timeouts) ask A who leads
	local until=$(($(date +%s%N) + 3000000000))
	while [ "$(date +%s%N)" -lt "$until" ]; do
		n=$(leader_seen_by "$A")
		[ -n "$n" ] && [ "$n" -ge 1 ] && fail "$how: node $n leads without node $L: $acked were acknowledged"
	done
	tail -n +"$mark" "$RUN/n$A.log" | grep -q -- "-> leader" &&
		fail "$how: node $A took office without node $L"
	if [ "$how" = initial ]; then
		wait_line "$RUN/n$B.log" "REJOINED" 5 || fail "initial: node $B did not rejoin"
	fi
	grep -q "INVALID_VOTER_KEY\|refused the vote\|refused the pre-vote" "$RUN/n$B.log" ||
		grep -q "another directory\|not with this directory\|REJOINED" "$RUN/n$B.log" ||
		fail "$how: node $B did not say it is no voter"
	start "$L"
	n=$(leader 15) || fail "$how: no leader after node $L came back"
	for i in 1 2 3; do
		wait_values "$i" "pre$acked" 15 || fail "$how: node $i lacks acknowledged records: $(values_on "$i" | tr '\n' ' ')"
	done
	log "$how re-format of node $B: node $A was never elected without node $L (leader now $n); all 20 acknowledged records on every node"
	for i in 1 2 3; do alive "$i" && kill9 "$i"; done
	RUN=$TOP_RUN
}
scenario plain
scenario initial

# ---- 4. a full restart; a 2-voter cluster ----
RUN=$TOP_RUN/full
mkdir -p "$RUN"
cluster_init 3
for i in 1 2 3; do start "$i"; done
leader 15 >/dev/null || fail "full restart: no leader"
kctl append f1 f2 f3 >/dev/null 2>&1 || fail "full restart: append"
for i in 1 2 3; do kill9 "$i"; done
for i in 1 2 3; do start "$i"; done
leader 15 >/dev/null || fail "no leader after a full restart"
for i in 1 2 3; do wait_values "$i" "f1 f2 f3" || fail "node $i lost records in a full restart"; done
kctl append f4 >/dev/null 2>&1 || fail "append after a full restart"
for i in 1 2 3; do kill9 "$i"; done
RUN=$TOP_RUN/two
mkdir -p "$RUN"
cluster_init 2
for i in 1 2; do start "$i"; done
L=$(leader 15) || fail "2 voters: no leader"
kctl append t1 >/dev/null 2>&1 || fail "2 voters: append"
O=$((3 - L))
kill9 "$O"
"$KCTL" --bootstrap-server "$(mgmt "$L")" --timeout-ms 500 append t2 >/dev/null 2>&1
rc=$?
[ $rc = 3 ] || [ $rc = 1 ] || fail "2 voters, one down: an append should not commit (exit $rc)"
start "$O"
L=$(leader 15) || fail "2 voters: no leader after the restart"
kctl append t3 >/dev/null 2>&1 || fail "2 voters: append with both up"
for i in 1 2; do wait_values "$i" "t1 t3" || fail "2 voters: node $i lacks t1 t3"; done
log "full restart of 3: f1-f3 on every node; 2 voters: no commit with one down, t1 and t3 with both"
for i in 1 2; do kill9 "$i"; done
# directories formatted before directory ids (no bootstrap-voters) still run, voters by id
RUN=$TOP_RUN/static
mkdir -p "$RUN"
cluster_init 3
rm "$RUN"/n*/bootstrap-voters
for i in 1 2 3; do start "$i"; done
leader 15 >/dev/null || fail "static voters: no leader"
kctl append st1 >/dev/null 2>&1 || fail "static voters: append"
for i in 1 2 3; do wait_values "$i" st1 || fail "static voters: node $i lacks st1"; done
grep -q "voters: static, by node id only" "$RUN/n1.log" || fail "static voters: no warning at start"
log "a cluster formatted before directory ids (static voters) elects and commits, and says what it does not protect"
for i in 1 2 3; do kill9 "$i"; done

# ---- 5. memory mode, the whole cluster crashed: unsafe-admit ----
RUN=$TOP_RUN/memory
mkdir -p "$RUN"
cluster_init 3 kraftd.durability=memory
for i in 1 2 3; do start "$i"; done
leader 15 >/dev/null || fail "memory: no leader"
kctl append m1 >/dev/null 2>&1 || fail "memory: append"
for i in 1 2 3; do kill9 "$i"; done
for i in 1 2 3; do start "$i"; done
sleep 3
for i in 1 2 3; do
	n=$(leader_seen_by "$i")
	[ -n "$n" ] && [ "$n" -ge 1 ] && fail "memory: node $n leads though every node lost its log"
done
for i in 1 2; do kill9 "$i"; done
for i in 1 2; do
	"$KRAFTD" unsafe-admit --config "$RUN/n$i.properties" 2>"$RUN/admit.out" || fail "unsafe-admit $i: $(cat "$RUN/admit.out")"
	grep -q WARNING "$RUN/admit.out" || fail "unsafe-admit gave no warning"
done
for i in 1 2; do start "$i"; done
leader 15 >/dev/null || fail "memory: no leader after unsafe-admit"
kctl append m2 >/dev/null 2>&1 || fail "memory: append after unsafe-admit"
wait_values 3 m2 15 || fail "memory: node 3 did not catch up"
grep -q "UNSAFE ADMIT" "$RUN/n1.log" || fail "the admitted start did not say so"
[ ! -e "$RUN/n1/unsafe-admit" ] || fail "the admit marker outlived the start"
log "memory mode, whole cluster crashed: no leader for 3 s; unsafe-admit on nodes 1, 2: a leader, node 3 caught up"
for i in 1 2 3; do kill9 "$i"; done

# ---- 6. --test-crash-cut on a directory last run without it ----
RUN=$TOP_RUN/crashcut
mkdir -p "$RUN"
cluster_init 1
"$KRAFTD" --transport udp --config "$RUN/n1.properties" 2>>"$RUN/n1.log" &
PID[1]=$!
leader 15 >/dev/null || fail "crash-cut: no leader"
kctl append c1 >/dev/null 2>&1 || fail "crash-cut: append"
stop 1 || fail "crash-cut: stop"
start 1
wait "${PID[1]}"
rc=$?
unset "PID[1]"
[ $rc = 1 ] || fail "--test-crash-cut on a directory run without it exited $rc"
grep -q "refusing to cut" "$RUN/n1.log" || fail "no reason given for refusing the crash cut"
# LeaderChange, the bootstrap voters record, c1
"$KRAFTD" inspect --dir "$RUN/n1" | grep -q "offsets \[0, 3)" || fail "the refused cut changed the log"
log "--test-crash-cut refused on a directory run without it; the log kept"

# ---- 7. controller.quorum.bootstrap.servers, as operators get it wrong ----
RUN=$TOP_RUN/bootstrap
mkdir -p "$RUN"
cluster_init 1
# start_refused NAME STATUS TEXT: node 1 with $RUN/NAME.properties exits STATUS saying TEXT
start_refused() {
	local rc=0
	timeout 10 "$KRAFTD" --transport udp --config "$RUN/$1.properties" >"$RUN/$1.out" 2>&1 || rc=$?
	[ "$rc" = "$2" ] || fail "$1: exit $rc, not $2: $(cat "$RUN/$1.out")"
	grep -q -- "$3" "$RUN/$1.out" || fail "$1: no '$3' in: $(cat "$RUN/$1.out")"
}
sed 's|^controller.quorum.voters=.*|&\ncontroller.quorum.bootstrap.servers=127.0.0.1:'"$PORT"'|' \
	"$RUN/n1.properties" >"$RUN/both.properties"
start_refused both 2 "given with controller.quorum.voters; give one"
sed -e 's|^controller.quorum.voters=.*|controller.quorum.bootstrap.servers=127.0.0.1:'"$PORT"'|' \
	-e '/^kraftd.listener=/d' "$RUN/n1.properties" >"$RUN/nolistener.properties"
start_refused nolistener 2 "kraftd.listener: required with controller.quorum.bootstrap.servers"
# a static directory (formatted before directory ids) has no voters but the config's
sed 's|^controller.quorum.voters=.*|controller.quorum.bootstrap.servers=127.0.0.1:'"$PORT"'|' \
	"$RUN/n1.properties" >"$RUN/static.properties"
mv "$RUN/n1/bootstrap-voters" "$RUN/n1/bootstrap-voters.kept"
start_refused static 1 "formatted for a static quorum: give controller.quorum.voters"
mv "$RUN/n1/bootstrap-voters.kept" "$RUN/n1/bootstrap-voters"
# format --standalone with bootstrap servers: node 1 alone, at its listener
rm -rf "$RUN/n1"
cp "$RUN/static.properties" "$RUN/n1.properties"
"$KRAFTD" format --config "$RUN/n1.properties" --standalone >"$RUN/format.out" 2>&1 ||
	fail "format --standalone with bootstrap servers: $(cat "$RUN/format.out")"
grep -q "an initial voter of 1" "$RUN/format.out" || fail "format --standalone: $(cat "$RUN/format.out")"
start 1
leader 15 >/dev/null || fail "standalone with bootstrap servers: no leader"
kctl append b1 >/dev/null 2>&1 || fail "standalone with bootstrap servers: append"
grep -q "voters from this directory's bootstrap voters: 1@" "$RUN/n1.log" ||
	fail "node 1 did not say where its voters came from"
# a joining node whose bootstrap servers are all down waits, says so, and stops on SIGTERM
joiner() { # joiner ID CLUSTER SERVERS: write and format nID.properties
	{
		echo "node.id=$1"
		echo "cluster.id=$2"
		echo "controller.quorum.bootstrap.servers=$3"
		echo "metadata.log.dir=$RUN/n$1"
		echo "kraftd.listener=$(ip_of "$1"):$PORT"
	} >"$RUN/n$1.properties"
	"$KRAFTD" format --config "$RUN/n$1.properties" >/dev/null || fail "format node $1"
}
joiner 2 "$CID" "127.0.0.9:$PORT, 127.0.0.8:$PORT"
start 2
wait_line "$RUN/n2.log" "no bootstrap server has answered" 10 || fail "node 2 did not say it waits"
stop 2 || fail "node 2 waiting for bootstrap servers did not stop cleanly on SIGTERM"
grep -q "stopped by a signal before any bootstrap server answered" "$RUN/n2.log" ||
	fail "node 2 did not say why it stopped"
# one pointed at a node of another cluster says so; pointed at node 1 too, it joins
joiner 3 "$("$KRAFTD" random-uuid)" "$(ip_of 1):$PORT"
start 3
wait_line "$RUN/n3.log" "answered for another cluster" 10 || fail "node 3 did not name the foreign server"
stop 3 || fail "node 3 did not stop cleanly"
joiner 4 "$CID" "127.0.0.9:$PORT, $(ip_of 1):$PORT"
start 4
wait_line "$RUN/n4.log" "voters from bootstrap server $(ip_of 1):$PORT" 10 || fail "node 4 did not learn the voters"
wait_values 4 b1 15 || fail "node 4 did not replicate from the leader it learned"
log "bootstrap servers: both keys, no listener and a static directory refused; a joiner with dead servers waits and stops on SIGTERM; another cluster named; standalone commits; a joiner replicates"
for i in 1 4; do kill9 "$i"; done
RUN=$TOP_RUN
log "PASS ($(($(date +%s) - T0)) s)"
