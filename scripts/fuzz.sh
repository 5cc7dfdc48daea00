#!/usr/bin/env bash
# kraftd: run every libFuzzer target for SECONDS each and report executions and findings.
# Usage: scripts/fuzz.sh SECONDS [TARGET...]   (all targets when none are named)
# Builds build-fuzz/ (CC=clang -Dfuzz=true) when needed. Each target's corpus grows in
# build-fuzz/tests/fuzz/corpus/<target>/ (seeded from the current encoders); crashes,
# leaks and timeouts land in fuzz-work/<target>/. Exit 1 if anything was found.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]] || [ "$1" -lt 1 ]; then
	echo "usage: scripts/fuzz.sh SECONDS [TARGET...]" >&2
	exit 2
fi
seconds=$1
shift

if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Db_lto=false >/dev/null
fi
ninja -C build-fuzz >/dev/null

fdir=build-fuzz/tests/fuzz
if [ $# -gt 0 ]; then
	targets=("$@")
else
	mapfile -t targets < <(find "$fdir" -maxdepth 1 -type f -executable -name 'fuzz_*' \
		-printf '%f\n' | sort)
fi

found=0
printf '%-32s %12s %10s %8s %9s\n' target executions exec/s corpus findings
for t in "${targets[@]}"; do
	[ -x "$fdir/$t" ] || { echo "no such target: $t" >&2; exit 2; }
	work=fuzz-work/$t
	mkdir -p "$work" "$fdir/corpus/$t"
	log=$work/last-run.log
	TMPDIR=$(pwd)/$work "$fdir/$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$work/" "$fdir/corpus/$t" >"$log" 2>&1 || true
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	corpus=$(find "$fdir/corpus/$t" -type f | wc -l)
	findings=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	printf '%-32s %12s %10s %8s %9s\n' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "$findings"
	if [ "$findings" -gt 0 ] || [ -z "$execs" ]; then
		found=1
		echo "  see $log and $work/" >&2
	fi
done
exit $found
