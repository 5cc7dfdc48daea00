#!/usr/bin/env bash
# kraftd integration test: a 3-node cluster whose dataplanes run on DPDK over net_memif
# (a full mesh of memif links, no hugepages, nodes on cores 0, 1, 0 in backoff mode):
# election, appends committed and read back from every node, kill -9 of the leader and
# re-election, restart and catch-up (the memif links come back), graceful stop.
# Usage: memif_cluster.sh BUILD_DIR   (run by meson: suite 'integration')
NAME=memif-cluster
TRANSPORT=memif
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

if ! pkg-config --exists libdpdk 2>/dev/null; then
	echo "$NAME: DPDK is not installed" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi

cluster_init 3
for i in 1 2 3; do start "$i"; done
L=$(leader 20) || fail "no leader over memif"
log "leader elected over memif: node $L"
grep -h 'port [01]:' "$RUN"/n1.log | head -2 | sed 's/.*start: /  /'
kctl() { "$KCTL" --bootstrap-server "$(servers)" "$@"; }
out=$(kctl append one two three) || fail "append over memif"
for i in 1 2 3; do wait_values "$i" "one two three" || fail "node $i lacks one two three"; done
log "appended and read back from every node: $(echo "$out" | tr '\n\t' ' :')"
kctl --repeat 500 append x | sed 's/^/  /'

OLD=$L
kill9 "$OLD"
L=$(leader 20) || fail "no new leader after killing node $OLD"
[ "$L" != "$OLD" ] || fail "the killed node is still the leader"
kctl append four >/dev/null || fail "append after failover"
log "killed leader $OLD (kill -9); node $L leads and commits"
start "$OLD"
wait_values "$OLD" "one two three four" 30 || fail "restarted node $OLD did not catch up"
log "restarted node $OLD caught up over its memif links"
kctl describe --replication | sed 's/^/  /'

stop "$L" || fail "graceful stop of leader $L exited $?"
N=$(leader 10) || fail "no leader after a graceful stop"
log "graceful stop of leader $L: exit 0, node $N leads"
for i in 1 2 3; do alive "$i" && { stop "$i" || fail "graceful stop of node $i"; }; done
grep -h 'dropped:' "$RUN"/n*.log | sed 's/.*stop: /  /'
log "PASS ($(($(date +%s) - T0)) s)"
