#!/bin/bash
# Long kraftsim sweeps: rounds over every cluster shape (1-7 voters, with and without
# observers, four with voter changes) and both durability modes, a batch of fresh seeds
# each, until the time is up. Prints a line per batch and a summary with seeds per
# second and every failing seed with its replay command. A failing seed does not stop
# the soak: the next batch of that shape starts after it.
#
# usage: scripts/sim-soak.sh [--hours H | --minutes M | --seconds S] [--batch K]
#                            [--steps T] [--from SEED] [--sim PATH] [--log FILE]
#                            [--resume OLDLOG]
# (kraftsim uses one core: run a second soak with another --from to use two).
# --resume OLDLOG goes on, shape by shape, after the last seed an earlier soak's log
# records, so a soak stopped (the end of a session) can be continued without reusing
# or skipping a seed; run it with the same kraftsim the earlier soak ran.
set -u

secs=3600
batch=200
steps=20000
sim=build/tools/kraftsim/kraftsim
log=
from=1
resume=
while [ $# -gt 0 ]; do
	case "$1" in
	--hours) secs=$(($2 * 3600)); shift 2 ;;
	--minutes) secs=$(($2 * 60)); shift 2 ;;
	--seconds) secs=$2; shift 2 ;;
	--batch) batch=$2; shift 2 ;;
	--steps) steps=$2; shift 2 ;;
	--from) from=$2; shift 2 ;;
	--sim) sim=$2; shift 2 ;;
	--log) log=$2; shift 2 ;;
	--resume) resume=$2; shift 2 ;;
	-h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "sim-soak: unknown argument '$1' (--help)" >&2; exit 2 ;;
	esac
done
[ -x "$sim" ] || { echo "sim-soak: no kraftsim at $sim (build first)" >&2; exit 2; }
[ -n "$log" ] || log=$(mktemp /tmp/sim-soak.XXXXXX)

shapes=(
	"--nodes 3 --durability disk"
	"--nodes 3 --durability memory"
	"--nodes 5 --observers 2 --durability disk"
	"--nodes 5 --observers 2 --durability memory"
	"--nodes 1 --durability disk"
	"--nodes 2 --observers 1 --durability disk"
	"--nodes 2 --durability memory"
	"--nodes 4 --durability disk"
	"--nodes 4 --observers 2 --durability memory"
	"--nodes 6 --observers 1 --durability disk"
	"--nodes 6 --durability memory"
	"--nodes 7 --durability disk"
	"--nodes 7 --observers 1 --durability memory"
	# an operator changing the voter set meanwhile (add, remove, the leader too, replace)
	"--nodes 3 --observers 2 --durability disk --voter-changes"
	"--nodes 3 --observers 2 --durability memory --voter-changes"
	"--nodes 2 --observers 1 --durability disk --voter-changes"
	"--nodes 5 --observers 2 --durability memory --voter-changes"
	# state machines, snapshots, the log start moving
	"--nodes 3 --durability disk --snapshots"
	"--nodes 3 --durability memory --snapshots"
	"--nodes 4 --observers 1 --durability memory --voter-changes --snapshots"
)
declare -a next
for i in "${!shapes[@]}"; do next[$i]=$from; done
if [ -n "$resume" ]; then
	[ -r "$resume" ] || { echo "sim-soak: cannot read $resume (--resume)" >&2; exit 2; }
	for i in "${!shapes[@]}"; do
		# the batch lines: "HH:MM:SS  SHAPE  seeds A..B ...": the highest B of this shape
		last=$(awk -v shape="${shapes[$i]}" '
			{ line = $0; sub(/^[0-9:]+  /, "", line); k = index(line, " seeds ") }
			k > 0 { s = substr(line, 1, k - 1); sub(/ +$/, "", s)
				if (s == shape && match(line, /seeds +[0-9]+\.\.[0-9]+/)) {
					r = substr(line, RSTART, RLENGTH); sub(/.*\.\./, "", r)
					if (r + 0 > best) best = r + 0 } }
			END { if (best) print best }' "$resume")
		[ -z "$last" ] || next[$i]=$((last + 1))
	done
	echo "sim-soak: resuming after $resume: ${#shapes[@]} shapes from seeds $(printf '%s\n' "${next[@]}" | sort -n | head -1)..$(printf '%s\n' "${next[@]}" | sort -n | tail -1)"
fi

start=$(date +%s)
end=$((start + secs))
total_seeds=0
total_steps_weighted=0
failures=()
echo "sim-soak: $(nproc) cores; ${#shapes[@]} shapes; batches of $batch seeds, $steps steps;" \
	"until $(date -u -d "@$end" +%H:%M:%SZ); log $log"
round=0
while [ "$(date +%s)" -lt $end ]; do
	round=$((round + 1))
	for i in "${!shapes[@]}"; do
		[ "$(date +%s)" -lt $end ] || break
		shape=${shapes[$i]}
		s0=${next[$i]}
		t0=$(date +%s.%N)
		# shellcheck disable=SC2086 # shape is a word list
		out=$("$sim" $shape --seed "$s0" --seeds "$batch" --steps "$steps" 2>&1)
		rc=$?
		t1=$(date +%s.%N)
		last=$(printf '%s\n' "$out" | tail -n 1)
		ran=$(printf '%s\n' "$last" | sed -n 's/.*seeds=\([0-9]*\).*/\1/p')
		sps=$(printf '%s\n' "$last" | sed -n 's/.*steps_per_s=\([0-9]*\).*/\1/p')
		if [ -z "$ran" ]; then
			# a crash (a core assertion, a signal): kraftsim names the seed in its
			# replay line; count the seeds before it, record it, go on after it
			r=$(printf '%s\n' "$out" | grep -m1 '^replay:')
			bad=$(printf '%s\n' "$r" | sed -n 's/.*--seed \([0-9]*\).*/\1/p')
			if [ -z "$bad" ]; then
				echo "sim-soak: kraftsim gave no summary and no replay line (exit $rc) for $shape seed $s0:" >&2
				printf '%s\n' "$out" | tail -n 5 >&2
				exit 2
			fi
			ran=$((bad - s0 + 1))
			code=$rc
			rc=1
			out="kraftsim: VIOLATION crashed (exit $code$(printf '%s\n' "$out" | grep -m1 -E 'CORE ASSERTION|Sanitizer|corruption|invalid' | sed 's/^/: /'))"$'\n'"$r"$'\n'"$out"
		fi
		total_seeds=$((total_seeds + ran))
		next[$i]=$((s0 + ran))
		printf '%s  %-45s seeds %6d..%-6d %5.1f seeds/s %9s steps/s %s\n' \
			"$(date -u +%H:%M:%S)" "$shape" "$s0" $((s0 + ran - 1)) \
			"$(echo "$ran / ($t1 - $t0)" | bc -l)" "$sps" \
			"$([ $rc -eq 0 ] && echo ok || echo VIOLATION)" | tee -a "$log"
		if [ $rc -ne 0 ]; then
			v=$(printf '%s\n' "$out" | grep -m1 '^kraftsim: VIOLATION')
			r=$(printf '%s\n' "$out" | grep -m1 '^replay:')
			failures+=("$v"$'\n'"    $r")
			printf '%s\n' "$out" >>"$log"
		fi
	done
done
elapsed=$(($(date +%s) - start))
[ $elapsed -gt 0 ] || elapsed=1
echo "sim-soak: $round rounds, $total_seeds seeds in ${elapsed}s" \
	"($(echo "$total_seeds / $elapsed" | bc -l | xargs printf '%.1f') seeds/s)," \
	"${#failures[@]} failing" | tee -a "$log"
for f in "${failures[@]}"; do echo "$f"; done | tee -a "$log"
[ ${#failures[@]} -eq 0 ]
