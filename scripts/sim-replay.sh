#!/bin/sh
# kraftsim replays: the same seed gives the same run byte for byte (every traced step),
# the replay line printed with a violation reproduces that violation on its own, and a
# core's assertion (an abort inside a seed) still names its seed and a replay line.
#
# usage: scripts/sim-replay.sh [path/to/kraftsim]   (default: build/tools/kraftsim/kraftsim)
set -u
SIM=${1:-build/tools/kraftsim/kraftsim}
[ -x "$SIM" ] || { echo "sim-replay: no kraftsim at $SIM (build first)" >&2; exit 2; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT INT TERM
fail=0

for shape in "--nodes 5 --observers 2 --durability disk --seed 7" \
	"--nodes 3 --durability memory --seed 11"; do
	# shellcheck disable=SC2086
	"$SIM" $shape --steps 20000 --verbose | grep -v steps_per_s >"$dir/a"
	# shellcheck disable=SC2086
	"$SIM" $shape --steps 20000 --verbose | grep -v steps_per_s >"$dir/b"
	n=$(wc -l <"$dir/a")
	if [ "$n" -lt 10000 ] || ! cmp -s "$dir/a" "$dir/b"; then
		echo "sim-replay: $shape: two runs differ or are too short ($n lines)"
		diff "$dir/a" "$dir/b" | head -n 5
		fail=1
	else
		echo "sim-replay: $shape: $n traced lines, identical twice"
	fi
done

# a violation found in a batch replays alone, with the same words at the same step
"$SIM" --nodes 3 --bug DOUBLE_VOTE --seed 1 --seeds 200 >"$dir/batch"
want=$(grep -m1 '^kraftsim: VIOLATION' "$dir/batch")
replay=$(sed -n 's/^replay: kraftsim //p' "$dir/batch")
if [ -z "$want" ] || [ -z "$replay" ]; then
	echo "sim-replay: the planted bug was not caught, nothing to replay"
	fail=1
else
	# shellcheck disable=SC2086
	got=$("$SIM" $replay | grep -m1 '^kraftsim: VIOLATION')
	if [ "$got" != "$want" ]; then
		printf 'sim-replay: replay differs\n  batch:  %s\n  replay: %s\n' "$want" "$got"
		fail=1
	else
		echo "sim-replay: '$replay' reproduces: ${want#kraftsim: }"
	fi
fi
# an abort inside seed 3 of a sweep (what a core's assertion does) names seed 3, and its
# replay line aborts alone at the same step
"$SIM" --nodes 3 --seed 2 --seeds 5 --abort-at-step 500 >"$dir/abort" 2>&1
rc=$?
want=$(grep -m1 '^kraftsim: CORE ASSERTION in seed 2 at step 500' "$dir/abort")
replay=$(sed -n 's/^replay: kraftsim //p' "$dir/abort")
if [ $rc -ne 134 ] || [ -z "$want" ] || [ -z "$replay" ]; then
	echo "sim-replay: an abort in a seed was not reported (exit $rc)"
	tail -n 3 "$dir/abort"
	fail=1
else
	# shellcheck disable=SC2086
	got=$("$SIM" $replay 2>&1 | grep -m1 '^kraftsim: CORE ASSERTION')
	if [ "$got" != "$want" ]; then
		printf 'sim-replay: abort replay differs\n  batch:  %s\n  replay: %s\n' "$want" "$got"
		fail=1
	else
		echo "sim-replay: an abort reports its seed and '$replay' reproduces it"
	fi
fi
exit $fail
