# kraftd integration tests: what every cluster test shares. Source it after setting
# NAME (the test's name); then call cluster_init VOTERS [extra properties lines...].
# The first argument of the sourcing script is the build directory.
# Every process started here is killed by PID and the run directory removed on exit.
# shellcheck shell=bash
set -uo pipefail

BUILD=$(cd "${1:?usage: $NAME.sh BUILD_DIR}" && pwd)
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
KRAFTD=$BUILD/kraftd
KCTL=$BUILD/tools/kraftctl/kraftctl
CHECK=$HERE/../history/kraftcheck.py
WORKLOAD=$HERE/../history/workload.py
RUN=$(mktemp -d "${TMPDIR:-/tmp}/kraftd-$NAME.XXXXXX")
TOP_RUN=$RUN # tests may point RUN at a subdirectory; cleanup removes this one
PORT=$((20000 + ($$ % 4000) * 10)) # dataplane port; management port + 100
NODES=3
NS=kx$$ # namespace prefix (af_xdp); cleanup() needs it from the start
declare -A PID=()
declare -A DIR=()
CLEANUP_EXTRA=${CLEANUP_EXTRA:-}
T0=$(date +%s)

log() { printf '[%4ss] %s\n' $(($(date +%s) - T0)) "$*"; }
fail() {
	log "FAIL: $*"
	for f in "$RUN"/n*.log; do
		[ -f "$f" ] && { echo "---- $(basename "$f") (last 25 lines)"; tail -n 25 "$f"; }
	done
	# again, last: a CI record often keeps only the end of the output
	log "FAIL: $*"
	exit 1
}
cleanup() {
	for i in "${!PID[@]}"; do kill -9 "${PID[$i]}" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "$CLEANUP_EXTRA" ] && eval "$CLEANUP_EXTRA"
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NS-"); do
		ip netns del "$ns"
	done
	rm -rf /var/run/dpdk/kraftd-$$-* 2>/dev/null
	if [ -n "${KEEP:-}" ]; then echo "kept $TOP_RUN"; else rm -rf "$TOP_RUN"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# Before: what an earlier run killed before its cleanup left (its PID is in the names).
for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^kx[0-9]+-' || true); do
	pid=${ns#kx}
	pid=${pid%%-*}
	kill -0 "$pid" 2>/dev/null || ip netns del "$ns" 2>/dev/null
done
for dir in /var/run/dpdk/kraftd-*-*; do
	[ -d "$dir" ] || continue
	pid=${dir#/var/run/dpdk/kraftd-}
	pid=${pid%%-*}
	kill -0 "$pid" 2>/dev/null || rm -rf "$dir"
done

# the whole text first: grep -q would stop reading, and with pipefail the writer's SIGPIPE
# would read as "no"
case $("$KRAFTD" --help 2>&1) in
*--test-crash-cut*) ;;
*)
	echo "$NAME: $KRAFTD was built without -Dcrash_test=true" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
	;;
esac

# TRANSPORT=udp (default), memif, or af_xdp: each node in its own network namespace with a
# veth whose peer joins a bridge in a hub namespace (10.77.0.254, where kraftctl runs).
TRANSPORT=${TRANSPORT:-udp}
ip_of() { if [ "$TRANSPORT" = af_xdp ]; then echo "10.77.0.$1"; else echo "127.0.0.$1"; fi; }
mgmt() { echo "$(ip_of "$1"):$((PORT + 100))"; }
# kraftctl, run where the management listeners are reachable
kctl_at() {
	if [ "$TRANSPORT" = af_xdp ]; then
		ip netns exec "$NS-h" "$KCTL" "$@"
	else
		"$KCTL" "$@"
	fi
}
servers() {
	local s="" i
	for i in $(seq 1 "$NODES"); do s="$s${s:+,}$(mgmt "$i")"; done
	echo "$s"
}

# The namespaces of an af_xdp cluster of $1 nodes: NS-h holds a bridge (10.77.0.254/24);
# node i has veth kvI (10.77.0.i/24) in NS-i, its peer on the bridge.
namespaces() {
	local i
	ip netns add "$NS-h" || fail "cannot create network namespaces (root is needed)"
	ip -n "$NS-h" link add br0 type bridge && ip -n "$NS-h" link set br0 up &&
		ip -n "$NS-h" addr add 10.77.0.254/24 dev br0 && ip -n "$NS-h" link set lo up ||
		fail "hub namespace"
	for i in $(seq 1 "$1"); do
		ip netns add "$NS-$i" &&
			ip link add "kv$i" netns "$NS-$i" type veth peer name "kb$i" netns "$NS-h" &&
			ip -n "$NS-h" link set "kb$i" master br0 && ip -n "$NS-h" link set "kb$i" up &&
			ip -n "$NS-$i" addr add "10.77.0.$i/24" dev "kv$i" &&
			ip -n "$NS-$i" link set "kv$i" up && ip -n "$NS-$i" link set lo up ||
			fail "namespace of node $i"
	done
}

# cluster_init VOTERS [key=value ...]: write and format nI.properties for I = 1..VOTERS,
# every voter with the same --initial-controllers list (INITIAL: each voter's directory
# id, DIR[I], from kraftd random-uuid).
cluster_init() {
	local n=$1 v="" l="" i
	shift
	NODES=$n
	CID=$("$KRAFTD" random-uuid)
	for i in $(seq 1 "$n"); do
		DIR[$i]=$("$KRAFTD" random-uuid)
		v="$v${v:+,}$i@$(ip_of "$i"):$PORT"
		l="$l${l:+,}$i@$(ip_of "$i"):$PORT:${DIR[$i]}"
	done
	VOTERS=$v
	INITIAL=$l
	for i in $(seq 1 "$n"); do node_config "$i" "$@"; done
}

# node_config ID [key=value ...]: a node of this cluster (a voter or, past VOTERS, an
# observer with its own listener), formatted with the initial voters.
node_config() {
	local i=$1
	shift
	{
		echo "node.id=$i"
		echo "cluster.id=$CID"
		echo "controller.quorum.voters=$VOTERS"
		echo "metadata.log.dir=$RUN/n$i"
		echo "kraftd.listener=$(ip_of "$i"):$PORT"
		echo "controller.quorum.election.timeout.ms=150"
		echo "controller.quorum.fetch.timeout.ms=300"
		echo "controller.quorum.election.backoff.max.ms=150"
		printf '%s\n' "$@"
	} >"$RUN/n$i.properties"
	"$KRAFTD" format --config "$RUN/n$i.properties" --initial-controllers "$INITIAL" \
		>/dev/null || fail "format node $i"
}

# shellcheck source=scripts/eal-args.sh
. "$HERE/../../scripts/eal-args.sh"
EAL_PREFIX=kraftd-$$
HUGE_NODE1=1
eal_args() { kraftd_eal_args "$1"; }
start() { # start NODE [extra args]
	local i=$1
	shift
	if [ "$TRANSPORT" = memif ]; then
		# shellcheck disable=SC2046
		"$KRAFTD" $(eal_args "$i") --config "$RUN/n$i.properties" --test-crash-cut "$@" \
			2>>"$RUN/n$i.log" &
	elif [ "$TRANSPORT" = af_xdp ]; then
		# shellcheck disable=SC2046
		ip netns exec "$NS-$i" "$KRAFTD" $(eal_args "$i") --config "$RUN/n$i.properties" \
			--test-crash-cut "$@" 2>>"$RUN/n$i.log" &
	else
		"$KRAFTD" --transport udp --config "$RUN/n$i.properties" --test-crash-cut "$@" \
			2>>"$RUN/n$i.log" &
	fi
	PID[$i]=$!
}
kill9() {
	kill -9 "${PID[$1]}" 2>/dev/null
	wait "${PID[$1]}" 2>/dev/null
	unset "PID[$1]"
}
stop() { # graceful; returns the exit status
	local rc
	kill -TERM "${PID[$1]}" 2>/dev/null
	wait "${PID[$1]}"
	rc=$?
	unset "PID[$1]"
	return $rc
}
alive() { [ -n "${PID[$1]:-}" ]; }

json_field() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# The leader's id as a live node reports it, once one is known (within $1 seconds).
leader() {
	local deadline=$(($(date +%s) + ${1:-15})) out i
	while [ "$(date +%s)" -lt "$deadline" ]; do
		for i in $(seq 1 "$NODES"); do
			alive "$i" || continue
			out=$(kctl_at --bootstrap-server "$(mgmt "$i")" --timeout-ms 1000 --json \
				describe --status 2>/dev/null | json_field leaderId 2>/dev/null) || continue
			if [ "$out" -ge 1 ] && alive "$out"; then
				echo "$out"
				return 0
			fi
		done
		sleep 0.1
	done
	return 1
}

# The committed values a node returns, one per line.
values_on() { kctl_at --bootstrap-server "$(mgmt "$1")" --timeout-ms 3000 read --from 0 | cut -f2; }

# Wait until node $1 returns every value in the list $2 (space-separated), within $3 s (10).
wait_values() {
	local deadline=$(($(date +%s) + ${3:-10})) v got missing
	while [ "$(date +%s)" -lt "$deadline" ]; do
		got=$(values_on "$1" 2>/dev/null | tr '\n' ' ')
		missing=0
		for v in $2; do
			case " $got " in *" $v "*) ;; *) missing=1 ;; esac
		done
		[ $missing = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# Wait until file $1 has a line matching $2, within $3 seconds (default 10).
wait_line() {
	local deadline=$(($(date +%s) + ${3:-10}))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		grep -q -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}
