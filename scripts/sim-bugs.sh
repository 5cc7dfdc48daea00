#!/bin/sh
# Proves kraftsim's checkers can fail: every planted bug (--bug) and every sabotage
# (--sabotage) must be caught within 200 seeds, by the invariant named here, not by an
# assertion in the cores. A name kraftsim lists but this table lacks is a failure too.
#
# usage: scripts/sim-bugs.sh [path/to/kraftsim]   (default: build/tools/kraftsim/kraftsim)
#        SIM_BUGS_SEED=N scripts/sim-bugs.sh      (seeds N..N+199; default 1)
set -u

SIM=${1:-build/tools/kraftsim/kraftsim}
SEEDS=200
FIRST=${SIM_BUGS_SEED:-1}
STEPS=20000
[ -x "$SIM" ] || { echo "sim-bugs: no kraftsim at $SIM (build first)" >&2; exit 2; }

# kind name | kraftsim options | what the violation must say (grep -E; a bug whose effect
# two checkers can see first names both). VOTE_NOT_PERSISTED_FIRST twice: caught as the
# answer leaves, and, with those checks off, only where a crash falls between the answer
# and the persist (the harness carries out one action a step, so the simulator can crash
# a node between any two; crashes alone, so that window is hit often enough)
# VOTER_BY_ID may show as a stuck node before it shows as lost data: the bug makes a
# re-formatted directory a voter in its own eyes only, its peers refuse BeginQuorumEpoch
# for the old directory, and an unattached voter does not fetch, so after a restart it
# may never learn the leader; or it leads, though its log's set names its old directory.
# All are what the bug does; no other checker may fire. VOTE_WITHOUT_FENCE may first show
# as its dataplane reporting offsets under an epoch it has already voted past.
TABLE='
bug VOTE_WITHOUT_FENCE|--nodes 3|committed prefixes differ|as a new leader must hold every entry|fence rule: node [0-9]+ reported offset
bug COMMIT_OLD_EPOCH|--nodes 5 --observers 2|could still win an election|HW went down
bug COUNT_UNFLUSHED_LEO|--nodes 3|voters hold offset [0-9]+ durably
bug NO_TRUNCATE_ON_DIVERGENCE|--nodes 3|^kraftsim: VIOLATION .*: liveness:
bug HW_FROM_DIVERGING_REPLY|--nodes 3|committed prefixes differ|as a new leader must hold every entry
bug ACCEPT_STALE_EPOCH_FETCH|--nodes 3|never spoke in epoch
bug VOTE_NOT_PERSISTED_FIRST|--nodes 3|granted its vote in epoch [0-9]+ to [0-9]+ before persisting it
bug VOTE_NOT_PERSISTED_FIRST|--nodes 5 --no-send-checks --faults crash|granted its vote in epoch [0-9]+ to [0-9]+ and then to
bug AMNESIAC_VOTES|--nodes 3 --durability memory|as a new leader must hold every entry|committed prefixes differ
bug DATAPLANE_IGNORES_FENCE|--nodes 3|fence rule:
bug DOUBLE_VOTE|--nodes 3|voted for [0-9]+ and then [0-9]+ in epoch
bug COUNT_REJECTED_VOTES|--nodes 3|two leaders in epoch|as a new leader must hold every entry|committed prefixes differ
bug NO_DEDUP|--nodes 3|committed twice
bug ACK_BEFORE_COMMIT|--nodes 3|which is not committed
bug FOLLOWER_NOT_PERSISTED|--nodes 3|in memory epoch .* on disk epoch
bug RELEAD_AFTER_RESTART|--nodes 3|led epoch [0-9]+ again after restarting
bug DAMAGE_AS_TORN|--nodes 3|were flushed and are gone after damage
bug REPAIR_TARGET_AT_DAMAGE|--nodes 3|were flushed and are gone after damage
bug VOTER_BY_ID|--nodes 3|granted its vote in epoch [0-9]+ to [0-9]+ and then to|as a new leader must hold every entry|committed prefixes differ|liveness: node [0-9]+ has not caught up|leader [0-9]+ is not a voter of its set
bug RESYNC_IN_A_RECORD|--nodes 3|were flushed and are gone after damage
bug VOTERS_TWO_AT_ONCE|--nodes 3 --observers 2 --voter-changes|appended a voter change at [0-9]+ while the one at [0-9]+ was not committed|has two voter changes pending
bug VOTERS_AT_COMMIT|--nodes 3 --observers 2 --voter-changes|voters hold offset [0-9]+ durably
bug VOTERS_BEFORE_FIRST_COMMIT|--nodes 3 --observers 2 --voter-changes|before a record of its epoch was committed
bug REMOVED_LEADER_APPENDS|--nodes 3 --observers 2 --voter-changes|after its own removal
bug VOTERS_OLD_MAJORITY|--nodes 3 --observers 2 --voter-changes|voters hold offset [0-9]+ durably
bug VOTERS_KEPT_AFTER_TRUNCATION|--nodes 3 --observers 2 --voter-changes|its core holds a set of
bug SNAP_PAST_HW|--nodes 3 --snapshots|which is not the committed one there|past the committed end
bug CUT_PAST_SNAPSHOT|--nodes 3 --snapshots|past every snapshot it keeps|past every whole snapshot
bug CUT_PAST_SNAPSHOT|--nodes 3 --durability memory --snapshots|past every snapshot it keeps|past every whole snapshot
bug RETAIN_YOUNG|--nodes 3 --durability memory --snapshots|committed twice
bug INSTALL_LOWERS_HW|--nodes 3 --snapshots|HW went down|committed twice
bug SNAP_FRAME_OFF_BY_ONE|--nodes 3 --durability memory --snapshots|is not a whole snapshot
bug SNAP_NOT_HEARTBEAT|--nodes 3 --durability memory --snapshots|resigned for check quorum
bug REASM_EARLY|--nodes 3 --dgram 400|datagram from [0-9]+ was refused as malformed
bug PIN_NO_SEAL|--nodes 3 --observers 2 --durability memory --voter-changes --snapshots --zero-copy|datagram from [0-9]+ was refused as malformed
bug STAND_WITHOUT_STATE|--nodes 3 --snapshots --faults crash|without the state its log start needs
sabotage EPOCH_BACK|--nodes 3|: epoch went back
sabotage PERSIST_BACK|--nodes 3|persisted epoch went back
sabotage SECOND_VOTE|--nodes 3|voted for [0-9]+ and then [0-9]+ in epoch
sabotage SEND_EARLY|--nodes 3|sent BEGIN_EPOCH_RESP in epoch [0-9]+ before persisting it
sabotage ASK_EARLY|--nodes 3|asked for votes in epoch [0-9]+ before persisting its own
sabotage FETCH_EARLY|--nodes 3|dataplane sent FETCH in epoch [0-9]+, not yet persisted
sabotage CLAIM_BEYOND|--nodes 3|reported durable offset [0-9]+ beyond its log
sabotage HW_DOWN|--nodes 3|HW went down
sabotage LEADER_HW_BEYOND|--nodes 3|HW [0-9]+ beyond its log
sabotage BELIEVES_BEYOND|--nodes 5 --observers 2|beyond every leader.s HW
sabotage ACK_WRONG|--nodes 3|which holds producer
sabotage ACK_LOST|--nodes 3 --durability memory|acknowledged append [0-9]+ is not in the committed log
sabotage ACK_MOVED|--nodes 3|but committed at
sabotage TWO_LEADERS|--nodes 3|two leaders in epoch
sabotage STALE_DIVERGENCE|--nodes 3|its dataplane stopped itself: told to truncate committed records
sabotage MISLABEL|--nodes 3|a damaged datagram from -?[0-9]+ was not refused as malformed
sabotage VOTERS_WRONG|--nodes 3|reported the voter set of offset -?[0-9]+ .* but its log.s last voters record is at
sabotage TWO_PENDING|--nodes 3 --observers 2 --voter-changes|has two voter changes pending
sabotage ANSWER_WRONG|--nodes 3 --observers 2 --voter-changes|which is no committed voters record
sabotage DIGEST_WRONG|--nodes 3 --snapshots|its state after the batch at [0-9]+ has digest
'

fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT INT TERM

# every name kraftsim knows must be in the table
for kind in bug sabotage; do
	flag=--list-bugs
	[ "$kind" = sabotage ] && flag=--list-sabotage
	for name in $("$SIM" $flag); do
		if ! printf '%s\n' "$TABLE" | grep -q "^$kind $name|"; then
			echo "sim-bugs: $kind $name has no entry in scripts/sim-bugs.sh" >&2
			fail=1
		fi
	done
done

printf '%-9s %-26s %-30s %6s  %s\n' kind name options seed "caught by"
printf '%s\n' "$TABLE" | while IFS='|' read -r head opts want; do
	[ -n "$head" ] || continue
	kind=${head%% *}
	name=${head#* }
	# shellcheck disable=SC2086 # opts is a word list
	"$SIM" $opts --seed "$FIRST" --seeds $SEEDS --steps $STEPS --$kind "$name" >"$out" 2>&1
	rc=$?
	line=$(grep -m1 '^kraftsim: VIOLATION' "$out")
	seed=$(printf '%s\n' "$line" | sed -n 's/^kraftsim: VIOLATION in seed \([0-9]*\).*/\1/p')
	what=$(printf '%s\n' "$line" | sed 's/^kraftsim: VIOLATION in seed [0-9]* at step [0-9]*: //')
	if [ $rc -ne 1 ] || [ -z "$line" ]; then
		printf '%-9s %-26s %-30s %6s  NOT CAUGHT (exit %d)\n' "$kind" "$name" "$opts" - $rc
		tail -n 3 "$out" | sed 's/^/    /'
		echo FAIL
	elif ! printf '%s\n' "$line" | grep -Eq -- "$want"; then
		printf '%-9s %-26s %-30s %6s  WRONG CHECKER: %s\n' "$kind" "$name" "$opts" "$seed" "$what"
		echo "    expected: $want"
		echo FAIL
	else
		printf '%-9s %-26s %-30s %6s  %.90s\n' "$kind" "$name" "$opts" "$seed" "$what"
	fi
done | tee "$out.table"
grep -q '^FAIL$' "$out.table" && fail=1
rm -f "$out.table"
if [ $fail -ne 0 ]; then
	echo "sim-bugs: FAILED" >&2
	exit 1
fi
echo "sim-bugs: every planted bug and sabotage caught by its checker within $SEEDS seeds"
