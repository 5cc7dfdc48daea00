#!/usr/bin/env bash
# kraftd: the test command. On a fresh Debian 12 machine, as root, it installs what it
# needs (scripts/setup.sh), builds kraftd four ways and runs every suite:
#   build/        gcc, -Werror, LTO     unit tests, the style checks, kraftsim (the issues'
#                                       acceptance runs, planted bugs, sabotage, replay),
#                                       every cluster test (UDP, memif, AF_XDP) and the
#                                       3-minute chaos pass
#   build-asan/   gcc, ASan + UBSan     unit tests, kraftsim with a tenth of the seeds (not
#                                       the planted bugs), every cluster test
#   build-tsan/   gcc, ThreadSanitizer  the UDP cluster tests (kraftd's threads and their
#                                       rings; DPDK's C11 ring code so TSan sees the
#                                       ordering)
#   build-fuzz/   clang, libFuzzer      every fuzz target for KRAFT_FUZZ_SECONDS (default 3)
# Exit 0 only if everything passed. Each test has its own timeout (tests/meson.build).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
fuzz_seconds=${KRAFT_FUZZ_SECONDS:-3}

scripts/setup.sh || exit 1

configure() { # dir, then meson options; reconfigures only when the options changed
	local dir=$1
	shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; return 1; }
	else
		# a new option in meson_options.txt needs a reconfigure first
		meson configure "$dir" "$@" >/dev/null 2>&1 ||
			meson setup --reconfigure "$dir" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; return 1; }
	fi
}

status=0
declare -A result
run() { # name, build dir, meson test args...
	local name=$1 dir=$2
	shift 2
	echo "== $name: meson test -C $dir $*"
	if meson test -C "$dir" --print-errorlogs "$@"; then
		result[$name]=pass
	else
		result[$name]=FAIL
		status=1
	fi
}

build() { # dir, then meson options
	local dir=$1
	shift
	configure "$dir" "$@" && ninja -C "$dir" >"$dir.ninja.log" 2>&1 ||
		{ cat "$dir.ninja.log" 2>/dev/null; echo "== build of $dir FAILED"; status=1; return 1; }
}

if build build -Dwerror=true -Dsanitize=false -Dcrash_test=true -Db_lto=true; then
	run "gcc -Werror" build
fi
if build build-asan -Dwerror=true -Dsanitize=true -Dcrash_test=true -Db_lto=false; then
	# not the planted bugs: they prove the checkers in build/ already, and under ASan
	# they were the longest sim run
	run "gcc ASan+UBSan" build-asan --suite unit --suite sim --suite integration \
		--no-suite planted
fi
if build build-tsan -Dcrash_test=true -Db_lto=false \
	-Dc_args="-fsanitize=thread -DRTE_USE_C11_MEM_MODEL=1" -Dc_link_args=-fsanitize=thread; then
	# not the DPDK tests: DPDK's own libraries are not instrumented, and their threads
	# (the EAL interrupt thread driving memif) show up as races inside rte_eth_*; nor the
	# chaos harness's self-test and the config habits (no thread does anything new there)
	TSAN_OPTIONS="halt_on_error=1 exitcode=66" run "gcc TSan" build-tsan --suite integration \
		--no-suite dpdk --no-suite harness --no-suite config
fi
if CC=clang build build-fuzz -Dfuzz=true -Dfuzz_seconds="$fuzz_seconds" -Db_lto=false; then
	run "clang libFuzzer ${fuzz_seconds}s" build-fuzz --suite fuzz
fi

echo
echo "== kraftd test summary"
for dir in build build-asan build-tsan build-fuzz; do
	log=$dir/meson-logs/testlog.json
	[ -f "$log" ] || { printf '%-12s not run\n' "$dir"; continue; }
	python3 - "$dir" "$log" <<'PY'
import json, sys
from collections import Counter
dir, path = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(path) if l.strip()]
c = Counter(r["result"] for r in rows)
bad = [r["name"] for r in rows if r["result"] not in ("OK", "SKIP", "EXPECTEDFAIL")]
secs = sum(r.get("duration", 0) for r in rows)
print(f"{dir:<12} {len(rows):3d} tests: {c.get('OK', 0)} ok, {c.get('SKIP', 0)} skipped, "
      f"{len(bad)} failed ({secs:.0f} s of test time)" + (f": {', '.join(bad)}" if bad else ""))
PY
done
# what each failed test said last: the end of this output is often all that is kept of a
# CI run, so the reason goes here, after the counts, not only in the logs above
for dir in build build-asan build-tsan build-fuzz; do
	log=$dir/meson-logs/testlog.json
	[ -f "$log" ] || continue
	python3 - "$dir" "$log" <<'PY'
import json, re, sys
dir, path = sys.argv[1], sys.argv[2]
for r in (json.loads(l) for l in open(path) if l.strip()):
    if r["result"] in ("OK", "SKIP", "EXPECTEDFAIL"):
        continue
    print(f"-- {dir} {r['name']}: {r['result']} (exit {r.get('returncode')}, "
          f"{r.get('duration', 0):.0f} s); its last lines:")
    out = [l for l in ((r.get("stdout") or "") + (r.get("stderr") or "")).splitlines()
           if l.strip()]
    # the lines that name a failure first (a test dumps node logs after its own verdict)
    said = [l for l in out if re.search(r"FAIL|Traceback|[A-Za-z]Error:|assert", l)]
    for line in said[:8] + ["..."] * bool(said) + out[-12:]:
        print("   " + line[:220])
PY
done
for k in "${!result[@]}"; do
	[ "${result[$k]}" = pass ] || echo "FAILED: $k"
done
if [ $status -eq 0 ]; then
	echo "RESULT: PASS"
else
	echo "RESULT: FAIL"
fi
exit $status
