#!/usr/bin/env bash
# kraftd integration test: the fault harness can fail. scripts/chaos.sh --plant-loss runs
# one short round over UDP in which node 1's drained read misses a record; the harness
# must end INVALID (exit 1) and name the record lost.
# Usage: chaos_self_test.sh BUILD_DIR   (run by meson: suite 'integration')
set -uo pipefail
BUILD=$(cd "${1:?usage: chaos_self_test.sh BUILD_DIR}" && pwd)
TOP=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${TMPDIR:-/tmp}/kraftd-chaos-self-test.$$
trap 'rm -rf "$OUT"' EXIT
if [ "$(id -u)" != 0 ]; then
	echo "chaos_self_test: needs root (nftables)" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
# a port of its own: a cluster someone runs on 127.0.0.x:9093 must not be in the way
KRAFTD_PORT=$((20005 + ($$ % 4000) * 10)) KRAFTD_BUILD=$BUILD "$TOP/scripts/chaos.sh" --plant-loss --round-seconds 6 --transport udp \
	--faults kill-follower --out "$OUT" >"$OUT.log" 2>&1
rc=$?
cat "$OUT.log"
rm -f "$OUT.log"
[ $rc = 1 ] || { echo "FAIL: a planted loss ended with exit $rc, not 1"; exit 1; }
grep -q "lost: .* missing on node r1n1" "$OUT/chaos.log" ||
	{ echo "FAIL: the planted loss was not reported as lost on node 1"; exit 1; }
grep -q "VERDICT INVALID" "$OUT/chaos.log" || { echo "FAIL: no INVALID verdict"; exit 1; }
echo "PASS: the planted loss was caught"
