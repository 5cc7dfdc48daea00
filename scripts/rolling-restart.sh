#!/usr/bin/env bash
# kraftd: what a rolling restart costs a client. A 3-node UDP cluster (scripts/cluster.sh);
# a client appends through kraftctl in a loop (one append, 20 ms pause, bootstrap servers
# all three nodes) while each node is restarted in turn (cluster.sh restart: graceful stop,
# waited for, started again; 1.5 s apart). Prints, per kraftctl binary, the appends made
# and the gaps over 100 ms between two successful ones (their count, sum and the
# largest). Several binaries alternate round by round in one run, so they share the
# machine's noise (docs/BENCHMARKS.md).
# Usage: scripts/rolling-restart.sh [--rounds N (3)] [KRAFTCTL...]   (default: build's)
set -u
cd "$(dirname "$0")/.."
TOP=$(pwd)
rounds=3
if [ "${1:-}" = --rounds ]; then
	rounds=${2:?--rounds N}
	shift 2
fi
[ $# -gt 0 ] || set -- "$TOP/build/tools/kraftctl/kraftctl"
export KRAFTD_RUN=${TMPDIR:-/tmp}/kraftd-rolling.$$ KRAFTD_PORT=${KRAFTD_PORT:-31093}
export KRAFTD_NS=kr$$ KRAFTD_BUILD=${KRAFTD_BUILD:-$TOP/build}
C=$TOP/scripts/cluster.sh
STOP=$KRAFTD_RUN.stop
trap '"$C" down --purge >/dev/null 2>&1; rm -f "$STOP" "$KRAFTD_RUN".times' EXIT
"$C" up --nodes 3 >/dev/null || exit 1
"$C" leader >/dev/null || exit 1
S=127.0.0.1:$((KRAFTD_PORT + 100)),127.0.0.2:$((KRAFTD_PORT + 100)),127.0.0.3:$((KRAFTD_PORT + 100))
round() { # KRAFTCTL
	local out=$KRAFTD_RUN.times w
	: >"$out"
	(while [ ! -f "$STOP" ]; do
		"$1" --bootstrap-server "$S" --timeout-ms 5000 append x >/dev/null 2>&1 &&
			date +%s%N >>"$out"
		sleep 0.02
	done) &
	w=$!
	sleep 1
	for i in 1 2 3; do
		"$C" restart "$i" >/dev/null
		sleep 1.5
	done
	touch "$STOP"
	wait $w
	rm -f "$STOP"
	python3 - "$out" "$1" <<'PY'
import sys
t = [int(x) / 1e6 for x in open(sys.argv[1])]
g = [b - a for a, b in zip(t, t[1:])]
big = [x for x in g if x > 100]
print("%s: %d appends; gaps over 100 ms: %d, sum %.0f ms, largest %.0f ms"
      % (sys.argv[2], len(t), len(big), sum(big), max(g) if g else 0))
PY
}
for _ in $(seq 1 "$rounds"); do
	for k in "$@"; do round "$k"; done
done
