#!/usr/bin/env bash
# kraftd integration test: scripts/cluster.sh and kraftbench, a smoke run over UDP:
# up, leader, kraftbench with its ping floor, partition of the leader (a new one is
# elected), heal (the old one follows), kill and restart, down (nothing left behind).
# Usage: cluster_smoke.sh BUILD_DIR   (run by meson: suite 'integration')
set -uo pipefail
BUILD=$(cd "${1:?usage: cluster_smoke.sh BUILD_DIR}" && pwd)
TOP=$(cd "$(dirname "$0")/../.." && pwd)
export KRAFTD_BUILD=$BUILD KRAFTD_RUN=${TMPDIR:-/tmp}/kraftd-smoke.$$ KRAFTD_PORT=$((20005 + ($$ % 4000) * 10))
C=$TOP/scripts/cluster.sh
T0=$(date +%s)
log() { printf '[%4ss] %s\n' $(($(date +%s) - T0)) "$*"; }
fail() {
	log "FAIL: $*"
	tail -n 20 "$KRAFTD_RUN"/n*.log 2>/dev/null
	"$C" down >/dev/null 2>&1
	exit 1
}
trap '"$C" down >/dev/null 2>&1; rm -rf "$KRAFTD_RUN"' EXIT
if ! command -v nft >/dev/null || [ "$(id -u)" != 0 ]; then
	echo "cluster_smoke: partitions need nft and root" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi

"$C" up --nodes 3 --transport udp --durability memory >/dev/null || fail "up"
L=$("$C" leader) || fail "no leader"
log "cluster up ($KRAFTD_RUN), leader $L"
out=$("$BUILD/tools/kraftbench/kraftbench" --bootstrap-server "127.0.0.$L:$((KRAFTD_PORT + 100))" \
	--records 1000 --ping) || fail "kraftbench"
echo "$out" | sed 's/^/  /'
echo "$out" | grep -q 'commit / ping' || fail "kraftbench printed no ratio"
"$C" partition "$L" >/dev/null || fail "partition"
for _ in $(seq 1 50); do
	N=$("$C" leader 2>/dev/null) && [ "$N" != "$L" ] && break
	sleep 0.1
done
[ "${N:-$L}" != "$L" ] || fail "isolating leader $L elected no other"
log "partitioned leader $L: node $N leads"
"$C" heal >/dev/null || fail "heal"
"$C" kill "$N" || fail "kill"
N2=$("$C" leader) || fail "no leader after kill"
"$C" restart "$N" >/dev/null || fail "restart"
sleep 1
"$C" status | grep -c Follower | grep -q 2 || fail "not every node follows after the restart: $("$C" status)"
log "killed leader $N, node $N2 leads; $N restarted and follows"
"$C" down >/dev/null || fail "down"
[ ! -d "$KRAFTD_RUN" ] || fail "down left $KRAFTD_RUN"
nft list tables | grep -q kraftd_cluster && fail "down left the nftables table"
log "PASS ($(($(date +%s) - T0)) s)"
