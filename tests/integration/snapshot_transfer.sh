#!/usr/bin/env bash
# kraftd integration test: snapshots between nodes over UDP (docs/DESIGN.md §5,
# "Snapshots between nodes").
#   1. a follower stopped while the others move their log start past its log end: on its
#      restart the leader names its snapshot, the follower takes it (FetchSnapshot),
#      installs it and fetches the log from the leader's start, under a workload; every
#      node then holds the same state (the digest of a snapshot each takes at the same
#      offset), and the workload's history passes kraftcheck against every node's log
#      and every node's state (the kv entries in that snapshot): nothing acknowledged lost
#   2. a memory-mode follower restarted with nothing: it takes the snapshot the same way
#   3. a follower whose only snapshot at its log start is damaged: the file goes aside,
#      the node asks the leader for a snapshot, installs it, and never stood for election
#      meanwhile
#   4. a follower's disk wiped and formatted again (removed from the voters first): as an
#      observer with an empty log it takes the snapshot under a workload, and is added
#      back; kraftcheck as in 1
# Usage: snapshot_transfer.sh BUILD_DIR   (run by meson: suite 'integration')
NAME=snapshot-transfer
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

kctl() { "$KCTL" --bootstrap-server "$(servers)" "$@"; }
storage() { kctl --timeout-ms 3000 --json describe --storage --node "$1"; }
field() { storage "$1" | json_field "$2"; }
big=$(printf 'r%.0s' $(seq 1 1000))
# 300 KB of appends in rounds: the apply thread takes several spans, so several
# snapshots, and retention can move the log start past the oldest
rounds() {
	for _ in 1 2 3 4 5; do
		kctl --repeat 60 append "$big" >/dev/null || return 1
		sleep 0.3
	done
}
# snapshots every 20 KB of data, the log start moving to them while the log and the
# snapshots hold more than 64 KiB; appends older than 200 ms may go (the dedup window)
# (the kv state machine: a workload's values are its entries, checked one by one)
SNAPS="metadata.log.max.record.bytes.between.snapshots=20000 kraftd.append.dedup.window.ms=200
metadata.log.segment.bytes=32768 metadata.max.retention.bytes=65536 kraftd.state.machine=kv"

# wl_start: a workload of kv values (keys of their own) from the HW on, its history in
# $RUN/history; wl_stop ends it
wl_start() {
	WL_FROM=$(kctl --json describe --status | json_field highWatermark) ||
		fail "no high watermark before the workload"
	python3 "$WORKLOAD" run --kraftctl "$KCTL" --servers "$(servers)" --clients 2 --seconds 60 \
		--timeout-ms 5000 --kv --out "$RUN/history" >"$RUN/workload.out" &
	WL=$!
}
wl_stop() {
	kill -TERM "$WL" 2>/dev/null
	wait "$WL" || fail "workload"
	log "$(cat "$RUN/workload.out")"
}
# wl_check (after same_state): the history against what each node holds: its log from
# its log start (or the workload's first offset), and its state up to STATE_AT (the kv
# entries of the snapshot same_state had it take there)
wl_check() {
	local i s from snap
	for i in 1 2 3; do
		for _ in 1 2 3; do # the log start may move between asking and reading
			s=$(field "$i" log_start) || continue
			from=$((s > WL_FROM ? s : WL_FROM))
			python3 "$WORKLOAD" drain --kraftctl "$KCTL" --server "$(ip_of "$i"):$((PORT + 100))" \
				--node "$i" --from "$from" --out "$RUN/history" >/dev/null && break
			from=""
		done
		[ -n "$from" ] || fail "could not read node $i's log"
		snap=$(ls "$RUN/n$i/log" | grep "^0*$STATE_AT-.*\.snapshot$" | head -1)
		python3 "$WORKLOAD" state --kraftd "$KRAFTD" --snapshot "$RUN/n$i/log/$snap" --node "$i" \
			--out "$RUN/history" >/dev/null || fail "no state from node $i's snapshot $snap"
	done
	python3 "$CHECK" "$RUN/history" >"$RUN/check.out" ||
		fail "history checker: $(cat "$RUN/check.out")"
	log "$(grep -v VALID "$RUN/check.out" | paste -sd' ')"
}

# wait until every live node applied the same offset ($1 nodes), then have each take a
# snapshot there: the same id on every node, and the same state machine digest in it.
# The log can still grow with nobody appending (retention writes the voter set again
# when it deletes the segment holding it), so a node may apply past the offset before it
# takes the snapshot asked for: then everything again, a few times.
same_state() {
	local try
	for try in 1 2 3 4; do
		same_state_at "$1" && return 0
		log "a node applied past $SAME_AT before its snapshot (the log grew): again"
	done
	fail "the nodes never held still long enough for a snapshot at one offset"
}
# one try: 1 when a node went past the offset (no verdict), else the verdict (fail)
same_state_at() {
	local deadline=$(($(date +%s) + 20)) a first ok i id digest want=""
	while [ "$(date +%s)" -lt "$deadline" ]; do
		ok=1 first=""
		for i in $(seq 1 "$1"); do
			a=$(field "$i" applied 2>/dev/null) || { ok=0; break; }
			[ -z "$first" ] && first=$a
			[ "$a" = "$first" ] || ok=0
		done
		[ $ok = 1 ] && [ -n "$first" ] && [ "$first" != None ] && break
		sleep 0.2
	done
	if [ $ok = 0 ]; then
		for i in $(seq 1 "$1"); do log "node $i: $(storage "$i" 2>&1)"; done
		fail "the nodes did not reach the same applied offset"
	fi
	for i in $(seq 1 "$1"); do
		kctl snapshot --node "$i" >/dev/null 2>&1
	done
	SAME_AT=$first
	for i in $(seq 1 "$1"); do
		if ! wait_line "$RUN/n$i.log" "\(wrote\|loaded the\) snapshot $first-" 10 &&
			! grep -q "snapshot asked for: nothing applied since the last one ($first)" "$RUN/n$i.log"; then
			a=$(field "$i" applied 2>/dev/null)
			[ -n "$a" ] && [ "$a" != None ] && [ "$a" -gt "$first" ] && return 1
			fail "node $i took no snapshot at $first (it applied up to ${a:-?})"
		fi
		id=$(ls "$RUN/n$i/log" | grep "^0*$first-.*\.snapshot$" | head -1)
		[ -n "$id" ] || fail "node $i has no snapshot ending at $first: $(ls "$RUN/n$i/log")"
		digest=$("$KRAFTD" dump "$RUN/n$i/log/$id" | grep -o 'digest [0-9a-f]*')
		[ -n "$digest" ] || fail "no digest in node $i's snapshot $id"
		[ -z "$want" ] && want=$digest
		[ "$digest" = "$want" ] || fail "node $i's state at $first ($digest) is not node 1's ($want)"
	done
	STATE_AT=$first
	log "every node holds the state at $first: $want"
}

# ---- 1. a follower behind the log start ----
# shellcheck disable=SC2086 # a word list
cluster_init 3 $SNAPS
for i in 1 2 3; do start "$i"; done
L=$(leader 15) || fail "no leader"
F=$((L % 3 + 1))
kctl --repeat 20 append "$big" >/dev/null || fail "appends before the stop"
stop "$F" || fail "graceful stop of follower $F"
f_end=$(grep -o 'log \[[0-9]*, [0-9]*)' "$RUN/n$F.log" | tail -1 | sed 's/.*, \([0-9]*\))/\1/')
rounds || fail "appends while follower $F is down"
wait_line "$RUN/n$L.log" 'retention: deleted a segment' 15 || fail "the leader's log start never moved"
l_start=$(field "$L" log_start)
[ "$l_start" -gt "${f_end:-0}" ] || fail "the leader's log start $l_start is not past the follower's end $f_end"
wl_start
sleep 0.5
start "$F"
wait_line "$RUN/n$F.log" 'received snapshot .* from the leader' 15 || fail "follower $F took no snapshot"
wait_line "$RUN/n$F.log" 'loaded the snapshot .* installed from the leader' 10 ||
	fail "follower $F did not load the installed snapshot"
sleep 1 # appends past the install, fetched as log
wl_stop
grep -q 'refused the batch\|cannot load' "$RUN/n$F.log" && fail "follower $F: $(grep 'refused the batch\|cannot load' "$RUN/n$F.log")"
log "follower $F (log ended at $f_end, the leader's started at $l_start): $(grep -o 'installed snapshot .*' "$RUN/n$F.log" | head -1)"
same_state 3
wl_check

# ---- 2. a memory-mode follower restarted empty ----
for i in 1 2 3; do alive "$i" && kill9 "$i"; done
RUN_OLD=$RUN
RUN=$RUN/mem
mkdir -p "$RUN"
# shellcheck disable=SC2086
cluster_init 3 $SNAPS kraftd.durability=memory
for i in 1 2 3; do start "$i"; done
L=$(leader 15) || fail "no leader (memory mode)"
F=$((L % 3 + 1))
rounds || fail "appends (memory mode)"
wait_line "$RUN/n$L.log" 'wrote snapshot' 15 || fail "no snapshot (memory mode)"
# past the leader's log start, so that only its snapshot can bring the follower back
wait_line "$RUN/n$L.log" 'retention: deleted a segment' 15 || fail "the leader's log start never moved (memory mode)"
kill9 "$F"
start "$F"
kctl --repeat 50 append "$big" >/dev/null || fail "appends while the memory-mode follower restarts"
wait_line "$RUN/n$F.log" 'loaded the snapshot .* installed from the leader' 15 ||
	fail "memory-mode follower $F did not take the leader's snapshot"
same_state 3

# fresh NAME: a new 3-voter cluster in $RUN_OLD/NAME (the one before killed), its leader L
# and a follower F, 300 KB appended, and F's log start moved past snapshots
fresh() {
	for i in 1 2 3; do alive "$i" && kill9 "$i"; done
	RUN=$RUN_OLD/$1
	mkdir -p "$RUN"
	# shellcheck disable=SC2086
	cluster_init 3 $SNAPS
	for i in 1 2 3; do start "$i"; done
	L=$(leader 15) || fail "no leader ($1)"
	F=$((L % 3 + 1))
	rounds || fail "appends ($1)"
	wait_line "$RUN/n$F.log" 'retention: deleted a segment' 15 ||
		fail "follower $F never moved its log start ($1)"
}

# ---- 3. a follower whose snapshot at its log start is damaged ----
fresh damaged
stop "$F" || fail "graceful stop of follower $F (damage)"
# every snapshot it keeps damaged: none reaches its log start
for s in "$RUN/n$F/log/"*.snapshot; do
	python3 - "$s" <<'PY'
import os, sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(os.path.getsize(p) // 2); b = f.read(1); f.seek(-1, 1); f.write(bytes([b[0] ^ 0x20]))
PY
done
start "$F"
wait_line "$RUN/n$F.log" 'waits for the leader.s snapshot' 10 || fail "follower $F did not see its state was gone"
ls "$RUN/n$F/log/" | grep -q '\.damaged$' || fail "the damaged snapshots were not set aside"
kctl --repeat 30 append "$big" >/dev/null || fail "appends while follower $F has no state"
wait_line "$RUN/n$F.log" 'loaded the snapshot .* installed from the leader' 15 ||
	fail "follower $F never restored its state"
awk '/waits for the leader.s snapshot/{s=1} /installed from the leader/{s=0}
	s && /-> (prospective|candidate|leader)/{bad=1} END{exit bad}' "$RUN/n$F.log" ||
	fail "follower $F stood for election without its state"
same_state 3

# ---- 4. a follower's disk wiped and formatted again, then added back ----
fresh reformat
wait_line "$RUN/n$L.log" 'retention: deleted a segment' 15 || fail "the leader's log start never moved (re-format)"
dir_of() { sed -n 's/^directory.id=//p' "$RUN/n$1/meta.properties"; }
kctl --timeout-ms 20000 remove-voter --id "$F" --directory-id "$(dir_of "$F")" >"$RUN/change.out" 2>&1 ||
	fail "remove-voter $F: $(cat "$RUN/change.out")"
kill9 "$F"
rm -rf "$RUN/n$F"
# formatted to join, as a controller added later is configured (bootstrap servers)
{
	echo "node.id=$F"
	echo "cluster.id=$CID"
	echo "controller.quorum.bootstrap.servers=$(ip_of 1):$PORT,$(ip_of 2):$PORT,$(ip_of 3):$PORT"
	echo "metadata.log.dir=$RUN/n$F"
	echo "kraftd.listener=$(ip_of "$F"):$PORT"
	echo "controller.quorum.election.timeout.ms=150"
	echo "controller.quorum.fetch.timeout.ms=300"
	echo "controller.quorum.election.backoff.max.ms=150"
	printf '%s\n' $SNAPS
} >"$RUN/n$F.properties"
"$KRAFTD" format --config "$RUN/n$F.properties" >/dev/null || fail "format node $F again"
wl_start
sleep 0.5
start "$F"
wait_line "$RUN/n$F.log" 'loaded the snapshot .* installed from the leader' 15 ||
	fail "the re-formatted node $F did not take the leader's snapshot"
kctl --timeout-ms 20000 add-voter --id "$F" --directory-id "$(dir_of "$F")" \
	--endpoint "$(ip_of "$F"):$PORT" >"$RUN/change.out" 2>&1 ||
	fail "add-voter $F: $(cat "$RUN/change.out")"
sleep 1
wl_stop
log "node $F re-formatted and added back: $(grep -o 'installed snapshot .*' "$RUN/n$F.log" | head -1)"
same_state 3
wl_check
for i in 1 2 3; do alive "$i" && kill9 "$i"; done
log "PASS ($(($(date +%s) - T0)) s)"
