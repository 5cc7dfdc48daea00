#!/usr/bin/env bash
# kraftd integration test: kraftfloor, the raw floor beside kraftd's PING (issue 20). Over
# memif: a 1-voter node and a bare DPDK echo, each with a memif link to kraftfloor's
# client; over kernel UDP: the same with sockets. Each run alternates raw and kraftd
# phases and must report its ratios with nothing lost. Figures are printed, not judged
# (not a benchmark: the suite shares 2 cores).
# Usage: floor.sh BUILD_DIR   (by hand, not in the suites yet: on a 2-core machine beside
# other load its memif phase has run from 3 s to minutes, round trips lost at 100 ms each,
# a cause not yet found)
NAME=floor
TRANSPORT=memif
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"
FLOOR=$BUILD/tools/kraftfloor/kraftfloor

if ! pkg-config --exists libdpdk 2>/dev/null; then
	echo "$NAME: DPDK is not installed" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
EAL="--no-huge -m 256 --no-shconf --no-pci --log-level=lib.eal:error"
# check OUT TRANSPORT: one line per pair and the summary, nothing lost
check() {
	[ "$(grep -c '^pair [0-9]*: raw p50' "$1")" = 3 ] || fail "$2: not three pairs: $(cat "$1")"
	grep -q "kraftd PING / raw round trip over $2, 3 pairs of 2000: p50 median [0-9.]*x" "$1" ||
		fail "$2: no summary: $(cat "$1")"
	grep -q "lost 0$" "$1" || fail "$2: datagrams lost: $(tail -1 "$1")"
	log "$(tail -1 "$1")"
}

# ---- memif ----
NODES=1
cluster_init 1 kraftd.durability=memory kraftd.dataplane.idle=shared
start 1
leader 15 >/dev/null || fail "no leader over memif"
log "memif: node 1 leads"
# shellcheck disable=SC2086
"$FLOOR" echo --local 127.0.0.50:$((PORT + 7)) -- -l 0 $EAL --file-prefix "$EAL_PREFIX-echo" \
	--vdev "net_memif0,role=server,socket=$RUN/echo.sock,socket-abstract=no,mac=02:00:00:00:50:00" \
	>"$RUN/echo.log" 2>&1 &
PID[echo]=$!
# shellcheck disable=SC2086
timeout 120 "$FLOOR" ping --raw 127.0.0.50:$((PORT + 7)) --kraftd "$(ip_of 1):$PORT" \
	--local 127.0.0.100:9400 --count 2000 --pairs 3 -- -l 1 $EAL --file-prefix "$EAL_PREFIX-floor" \
	--vdev "net_memif0,role=client,socket=$RUN/echo.sock,socket-abstract=no,mac=02:00:00:00:00:50" \
	--vdev "net_memif1,role=client,socket=$RUN/mb-1.sock,socket-abstract=no,mac=02:00:00:00:00:01" \
	>"$RUN/memif.out" 2>&1 || fail "kraftfloor ping over memif: $(tail -3 "$RUN/memif.out")"
grep -h "waiting" "$RUN/memif.out" "$RUN/echo.log" 2>/dev/null | sed 's/^/  /'
check "$RUN/memif.out" DPDK
kill "${PID[echo]}"
wait "${PID[echo]}" 2>/dev/null
unset "PID[echo]"
kill9 1

# ---- kernel UDP ----
TRANSPORT=udp
RUN=$TOP_RUN/udp
mkdir -p "$RUN"
cluster_init 1 kraftd.durability=memory
start 1
leader 15 >/dev/null || fail "no leader over UDP"
"$FLOOR" echo --udp 127.0.0.50:$((PORT + 7)) >"$RUN/echo.log" 2>&1 &
PID[echo]=$!
timeout 60 "$FLOOR" ping --raw 127.0.0.50:$((PORT + 7)) --kraftd "$(ip_of 1):$PORT" --count 2000 \
	--pairs 3 >"$RUN/udp.out" 2>&1 || fail "kraftfloor ping over UDP: $(tail -3 "$RUN/udp.out")"
check "$RUN/udp.out" "kernel UDP"
RUN=$TOP_RUN
log "PASS ($(($(date +%s) - T0)) s)"
