#!/usr/bin/env bash
# kraftd integration test: storage on a running cluster over UDP (docs/DESIGN.md §5).
#   1. mid-log corruption on a follower: it starts, writes its repair marker, stays out
#      of elections until it has refetched the range from the leader, then clears it;
#      the same on the leader (stopped, its segment damaged, restarted: another node
#      leads meanwhile and the old leader repairs from it, never standing for election)
#   2. memory mode: a restarted node (its log gone) votes again only once caught up;
#      an observer replicates and is described, never counted
#   3. retention follows snapshots: by size and by age the log start moves to a kept
#      snapshot's end, by whole segments; never without a snapshot; reads below the log
#      start are refused with the log start; a restart loads the newest snapshot
#   4. the memory cap refuses appends with LOG_FULL and loses nothing before it
#   4b. a flush that fails with EIO (test build) on a node: exit 3, the others go on,
#      every acknowledged append survives, the node rejoins after a restart
#   5. a flush that fails (ENOSPC on a tiny tmpfs) makes the node fail-stop: exit 3,
#      nothing acknowledged that was not flushed
# Usage: udp_storage.sh BUILD_DIR   (run by meson: suite 'integration')
NAME=udp-storage
CLEANUP_EXTRA='mountpoint -q "$TOP_RUN/small" && umount "$TOP_RUN/small"'
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

kctl() { "$KCTL" --bootstrap-server "$(servers)" "$@"; }
# a byte in the middle of node ID's first segment: valid batches follow it
flip_middle() {
	local seg size
	seg=$(ls "$RUN/n$1/log/"*.log | head -1)
	size=$(stat -c %s "$seg")
	python3 - "$seg" "$((size / 2))" <<'PY'
import sys
p, pos = sys.argv[1], int(sys.argv[2])
with open(p, "r+b") as f:
    f.seek(pos); b = f.read(1); f.seek(pos); f.write(bytes([b[0] ^ 0x40]))
PY
}
# node ID (stopped): a byte flipped mid-log; restarted, it reports the damage, keeps its
# repair marker, grants no vote and stands for no election until it has refetched the
# range, then clears the marker and holds every committed value in VALUES
damage_and_repair() {
	local n=$1
	flip_middle "$n"
	start "$n"
	wait_line "$RUN/n$n.log" 'MID-LOG CORRUPTION' || fail "node $n did not report the corruption"
	wait_line "$RUN/n$n.log" 'caught up with the leader' 15 || fail "node $n never finished the repair"
	[ ! -f "$RUN/n$n/repair-target" ] || fail "node $n kept its repair marker after catching up"
	awk '/MID-LOG CORRUPTION/{s=1} /caught up with the leader/{s=0}
		s && (/granted a vote/ || /-> (prospective|candidate|leader)/){bad=1} END{exit bad}' \
		"$RUN/n$n.log" || fail "node $n voted or stood for election while repairing"
	wait_values "$n" "$2" || fail "node $n lost committed records in the repair"
}

# ---- 1. mid-log corruption on a follower is repaired from the leader ----
cluster_init 3 metadata.log.segment.bytes=32768
for i in 1 2 3; do start "$i"; done
L=$(leader 15) || fail "no leader"
for k in $(seq 1 20); do kctl append "v$k-a" "v$k-b" "v$k-c" >/dev/null 2>&1 || fail "append $k"; done
F=$((L % 3 + 1))
wait_values "$F" "v20-c" || fail "follower $F did not replicate"
stop "$F" || fail "graceful stop of follower $F"
damage_and_repair "$F" "v1-a v10-b v20-c"
log "follower $F: $(grep -o 'offsets \[[0-9]*, [0-9]*) unreadable' "$RUN/n$F.log" | head -1), repaired from leader $L, marker cleared"
# the same on the leader: it hands over, is damaged, comes back as a repairing follower
for k in $(seq 21 30); do kctl append "v$k-a" "v$k-b" "v$k-c" >/dev/null 2>&1 || fail "append $k"; done
stop "$L" || fail "graceful stop of leader $L"
damage_and_repair "$L" "v1-a v20-c v30-c"
N=$(leader 15) || fail "no leader after the old leader's repair"
log "old leader $L: $(grep -o 'offsets \[[0-9]*, [0-9]*) unreadable' "$RUN/n$L.log" | tail -1), repaired from node $N, marker cleared"
for i in 1 2 3; do alive "$i" && kill9 "$i"; done

# ---- 2. memory mode: the amnesia rule; an observer ----
RUN_OLD=$RUN
RUN=$RUN/mem
mkdir -p "$RUN"
cluster_init 3 kraftd.durability=memory
node_config 4 kraftd.durability=memory # an observer: not in controller.quorum.voters
for i in 1 2 3; do start "$i"; done
L=$(leader 15) || fail "no leader (memory mode)"
kctl append m1 m2 m3 >/dev/null || fail "append (memory mode)"
F=$((L % 3 + 1))
kill9 "$F"
start "$F"
wait_line "$RUN/n$F.log" 'memory mode restarted without its log' || fail "no amnesia rule on node $F"
wait_line "$RUN/n$F.log" 'caught up with the leader' 15 || fail "node $F never caught up"
wait_values "$F" "m1 m2 m3" || fail "node $F did not refetch its log"
log "memory mode: node $F restarted empty, voted again only after catching up"
start 4
NODES=4
wait_values 4 "m1 m2 m3" || fail "the observer did not replicate"
obs=$(kctl --json describe --status | json_field currentObservers)
case "$obs" in *"'id': 4"*) ;; *) fail "the observer is not described: $obs" ;; esac
log "observer 4 replicates and is described as an observer"
NODES=3
for i in 1 2 3 4; do alive "$i" && kill9 "$i"; done
RUN=$RUN_OLD

# ---- 3. retention follows snapshots; 4. the memory cap ----
RUN_OLD=$RUN
RUN=$RUN/one
mkdir -p "$RUN"
# snapshots every 20 KB of data, the log start moving to them while log and snapshots
# hold more than 64 KiB; appends older than 200 ms may go (the dedup window)
SNAPS="metadata.log.max.record.bytes.between.snapshots=20000 kraftd.append.dedup.window.ms=200"
cluster_init 1 metadata.log.segment.bytes=32768 metadata.max.retention.bytes=65536 $SNAPS
start 1
leader 15 >/dev/null || fail "no leader (one node)"
big=$(printf 'r%.0s' $(seq 1 1000))
# in two rounds, each snapshotted: the cleaner moves the log start to the newer of two
# snapshots (the newest always stays); an apply thread that ran only after 200 appends
# in one round (it runs at SCHED_IDLE: a loaded machine) took a single snapshot
kctl --repeat 100 append "$big" >/dev/null || fail "appends for retention"
wait_line "$RUN/n1.log" 'wrote snapshot' || fail "no snapshot was written"
kctl --repeat 100 append "$big" >/dev/null || fail "appends for retention"
for _ in $(seq 1 100); do
	[ "$(grep -c 'wrote snapshot' "$RUN/n1.log")" -ge 2 ] && break
	sleep 0.1
done
wait_line "$RUN/n1.log" 'retention: deleted a segment' || fail "retention deleted nothing"
out=$(kctl read --from 0 2>&1) && fail "a read below the log start succeeded"
case "$out" in *"below node 1's log start"*) ;; *) fail "read below the log start: $out" ;; esac
# the files go with the next flush, just after the deletion in memory
for _ in $(seq 1 50); do [ "$(ls "$RUN/n1/log"/*.log | wc -l)" -le 4 ] && break; sleep 0.1; done
[ "$(ls "$RUN/n1/log"/*.log | wc -l)" -le 4 ] || fail "segment files were not removed: $(ls "$RUN/n1/log")"
# the log start never passes the oldest snapshot kept, and the newest stays
check_log_start_at_a_snapshot() {
	local first oldest
	first=$(ls "$RUN/n1/log"/*.log | head -1 | xargs basename | sed 's/\.log$//')
	oldest=$(ls "$RUN/n1/log"/*.snapshot | head -1 | xargs basename | cut -d- -f1)
	[ -n "$oldest" ] || fail "no snapshot kept"
	[ $((10#$first)) -le $((10#$oldest)) ] || fail "the log starts at $first, past the oldest snapshot $oldest"
}
check_log_start_at_a_snapshot
# describe --storage names the log start and the newest snapshot; snapshot forces one
st=$(kctl --json describe --storage) || fail "describe --storage: $st"
start_off=$(printf '%s\n' "$st" | json_field log_start)
[ "$start_off" -gt 0 ] || fail "describe --storage: log start $start_off"
printf '%s\n' "$st" | grep -q '"snapshot": "[0-9]*-1"' || fail "describe --storage names no snapshot: $st"
kctl append one-more >/dev/null || fail "append before a forced snapshot"
sleep 0.3
kctl snapshot | grep -q 'snapshot asked for' || fail "kraftctl snapshot"
wait_line "$RUN/n1.log" "wrote snapshot $(kctl --json describe --storage | json_field applied)-" 5 ||
	fail "the forced snapshot was not written"
log "describe --storage: $st"
log "retention by bytes: $(grep 'retention:' "$RUN/n1.log" | tail -1 | sed 's/.*dataplane: //'); $(ls "$RUN/n1/log" | grep -c snapshot) snapshots kept; $out"
# a restart loads the newest snapshot and applies the log from its end
stop 1
start 1
leader 15 >/dev/null || fail "no leader after the restart"
grep -q 'loaded snapshot' "$RUN/n1.log" || fail "the restart loaded no snapshot"
kctl --repeat 20 append "$big" >/dev/null || fail "appends after the restart"
grep -q 'refused the batch' "$RUN/n1.log" && fail "the state machine refused a batch after the restart"
check_log_start_at_a_snapshot
log "restart: $(grep 'loaded snapshot' "$RUN/n1.log" | tail -1 | sed 's/.*start: //')"
kill9 1
# millions of records: the node takes its snapshots at Kafka's default (20 MiB of data),
# moves its log start to them (8 MiB segments, 20 MB kept), and a restart reads only the
# log after its newest one
RUN=$RUN_OLD/millions
mkdir -p "$RUN"
cluster_init 1 kraftd.append.dedup.window.ms=1000 metadata.max.retention.bytes=20000000 \
	metadata.log.segment.bytes=8388608
start 1
leader 15 >/dev/null || fail "no leader (millions)"
"$BUILD/tools/kraftbench/kraftbench" --bootstrap-server "$(servers)" --records 3000000 \
	--batch 1000 --size 16 --inflight 8 --warmup 0 >"$RUN/bench.log" 2>&1 ||
	fail "appending 3 million records: $(tail -2 "$RUN/bench.log")"
wait_line "$RUN/n1.log" 'retention: deleted a segment' 15 || fail "no retention after 3 million records"
st=$(kctl --json describe --storage) || fail "describe --storage: $st"
before_start=$(printf '%s\n' "$st" | json_field log_start)
before_end=$(printf '%s\n' "$st" | json_field log_end)
stop 1
start 1
leader 15 >/dev/null || fail "no leader after restarting with 3 million records"
line=$(grep 'loaded snapshot' "$RUN/n1.log" | tail -1)
[ -n "$line" ] || fail "the restart after 3 million records loaded no snapshot"
recov=$(grep 'start: log ' "$RUN/n1.log" | tail -1)
case "$recov" in *"offsets [0,"*) fail "the restart read the log from 0: $recov" ;; esac
st=$(kctl --json describe --storage) || fail "describe --storage after the restart: $st"
[ "$(printf '%s\n' "$st" | json_field log_end)" -ge "$before_end" ] || fail "records lost: $st"
kctl append after-restart >/dev/null || fail "append after restarting with 3 million records"
log "3 million records: log start $before_start before the restart; $(echo "$line" | sed 's/.*start: //'); $(echo "$recov" | sed 's/.*start: //')"
kill9 1
# by time: the oldest snapshot goes once its last record is older than 2.5 s (a snapshot
# every half second while appends come)
RUN=$RUN_OLD/age
mkdir -p "$RUN"
cluster_init 1 metadata.log.segment.bytes=32768 metadata.max.retention.ms=2500 \
	metadata.log.max.snapshot.interval.ms=500 $SNAPS
start 1
leader 15 >/dev/null || fail "no leader (retention by time)"
kctl --repeat 100 append "$big" >/dev/null || fail "appends for retention by time"
grep -q 'retention:' "$RUN/n1.log" && fail "retention by time deleted fresh segments"
sleep 3
kctl append last >/dev/null || fail "append after the wait"
wait_line "$RUN/n1.log" 'retention: deleted a segment' 5 || fail "retention by time deleted nothing"
first=$(kctl read --from 0 2>&1 | grep -o 'log start [0-9]*' | awk '{print $3}')
[ -n "$first" ] || fail "retention by time: the log still starts at 0"
kctl read --from "$first" | grep -q last || fail "the newest record went with the old segments"
log "retention by time: $(grep 'retention:' "$RUN/n1.log" | tail -1 | sed 's/.*dataplane: //')"
kill9 1
# without a state machine there is no snapshot, and the log is never cut
RUN=$RUN_OLD/nosnap
mkdir -p "$RUN"
cluster_init 1 metadata.log.segment.bytes=32768 metadata.max.retention.bytes=65536 \
	kraftd.state.machine=none kraftd.append.dedup.window.ms=200
start 1
leader 15 >/dev/null || fail "no leader (no state machine)"
kctl --repeat 200 append "$big" >/dev/null || fail "appends without a state machine"
sleep 1
grep -q 'retention:' "$RUN/n1.log" && fail "a log without a snapshot was cut"
kctl read --from 0 >/dev/null || fail "the log without a snapshot no longer starts at 0"
out=$(kctl snapshot 2>&1) && fail "a snapshot without a state machine: $out"
case "$out" in *INVALID_REQUEST*) ;; *) fail "kraftctl snapshot without a state machine: $out" ;; esac
log "no state machine: no snapshot, the log kept whole ($(ls "$RUN/n1/log"/*.log | wc -l) segments)"
kill9 1
RUN=$RUN_OLD/cap
mkdir -p "$RUN"
cluster_init 1 kraftd.durability=memory kraftd.log.memory.max.bytes=40000
start 1
leader 15 >/dev/null || fail "no leader (memory cap)"
ok=0
for k in $(seq 1 60); do
	if out=$(kctl append "$big" 2>&1); then ok=$((ok + 1)); else break; fi
done
case "$out" in *LOG_FULL*) ;; *) fail "the memory cap did not refuse with LOG_FULL: $out" ;; esac
n=$(kctl read --from 0 | wc -l)
[ "$n" = "$ok" ] || fail "$ok appends acknowledged but $n records readable"
log "memory cap: $ok appends of 1 KB, then: $out"
kill9 1

# ---- 4b. an fdatasync error (test build: EIO) on a node (restarted with the fault, it
# may lead or follow): it fail-stops (exit 3), the others go on, every acknowledged
# append survives, and restarted without the fault it rejoins ----
RUN=$RUN_OLD/eio
mkdir -p "$RUN"
cluster_init 3
for i in 1 2 3; do start "$i"; done
L=$(leader 15) || fail "no leader (EIO)"
stop "$L" || fail "graceful stop of $L"
start "$L" --test-fail-flush-after 40
leader 15 >/dev/null || fail "no leader after restarting $L"
acked=""
for k in $(seq 1 300); do
	kctl --timeout-ms 3000 append "e$k" >/dev/null 2>&1 && acked="$acked e$k"
	kill -0 "${PID[$L]}" 2>/dev/null || break
done
kill -0 "${PID[$L]}" 2>/dev/null && fail "node $L with failing flushes still runs after 300 appends"
wait "${PID[$L]}"
rc=$?
unset "PID[$L]"
[ $rc = 3 ] || fail "node $L exited $rc after a failed flush, not 3"
grep -q 'log flush failed' "$RUN/n$L.log" || fail "node $L logged no reason"
N=$(leader 15) || fail "no leader after node $L fail-stopped"
for k in $(seq 301 310); do kctl append "e$k" >/dev/null 2>&1 && acked="$acked e$k"; done
for i in 1 2 3; do
	[ "$i" = "$L" ] && continue
	wait_values "$i" "$acked" || fail "node $i misses acknowledged appends after $L's EIO"
done
start "$L"
wait_values "$L" "$acked" || fail "node $L did not catch up after its restart"
log "EIO on node $L's flush: $(grep 'log flush failed' "$RUN/n$L.log" | head -1 | sed 's/.*dataplane: //'); exit 3; $(echo $acked | wc -w) acknowledged appends on every node, node $N leads"
for i in 1 2 3; do alive "$i" && kill9 "$i"; done
RUN=$RUN_OLD

# ---- 5. a failing flush fail-stops the node ----
if [ "$(id -u)" != 0 ] && [ "${CI:-}" != true ]; then
	log "skipping the ENOSPC case: mounting a small tmpfs needs root"
	log "PASS ($(($(date +%s) - T0)) s)"
	exit 0
fi
RUN_OLD=$RUN
mkdir -p "$RUN/small"
mount -t tmpfs -o size=160k kraftd-test "$RUN/small" || fail "cannot mount a tmpfs (root is needed)"
RUN=$RUN/small
cluster_init 1
start 1
leader 15 >/dev/null || fail "no leader (small disk)"
acked=0
for k in $(seq 1 400); do
	if kctl --timeout-ms 2000 append "$big" >/dev/null 2>&1; then acked=$((acked + 1)); else break; fi
done
wait "${PID[1]}"
rc=$?
unset "PID[1]"
[ $rc = 3 ] || fail "a node whose flush failed exited $rc, not 3"
grep -q 'log flush failed' "$RUN/n1.log" || fail "no reason logged for the storage failure"
reason=$(grep 'log flush failed' "$RUN/n1.log" | head -1 | sed 's/.*dataplane: //')
# everything acknowledged is on disk: restart (read-only check) and count
"$KRAFTD" inspect --dir "$RUN/n1" >"$TOP_RUN/inspect.out" || true
end=$(grep -o 'offsets \[[0-9]*, [0-9]*)' "$TOP_RUN/inspect.out" | sed 's/.*, \([0-9]*\))/\1/')
[ -n "$end" ] && [ "$end" -gt "$acked" ] || fail "acknowledged $acked appends but the log ends at ${end:-?}: $(cat "$TOP_RUN/inspect.out")"
log "ENOSPC: $reason; exit 3 after $acked acknowledged appends, all on disk (log end $end)"
RUN=$RUN_OLD
log "PASS ($(($(date +%s) - T0)) s)"
