#!/usr/bin/env bash
# kraftd: a local cluster, one command at a time.
#   scripts/cluster.sh up [--nodes N] [--transport udp|memif|af_xdp] [--durability disk|memory]
#                      [--idle poll|backoff|shared] [--fetch-timeout-ms T (200)]
#                      [--election-timeout-ms T (100)]
#   scripts/cluster.sh status | leader [--within S (100)] | down [--purge]
#   scripts/cluster.sh kill ID | stop ID | cont ID | restart ID | hup ID|all
#   scripts/cluster.sh partition ID [ID...] | oneway FROM TO | drop PERCENT | linkdown ID | heal
#   scripts/cluster.sh netem ID|all [drop=P] [dup=P] [delay=P] [delay_us=MAX]
#   scripts/cluster.sh bench [--kernel-udp] [kraftbench options]
#   scripts/cluster.sh floor [--node ID] [kraftfloor ping options: --pairs P --count N --json]
# udp: nodes on 127.0.0.1..N. memif: DPDK over a full mesh of memif links. af_xdp: DPDK over
# a veth per node, each node in its own network namespace (kc-ID), the veths bridged in a
# hub namespace (kc-hub, 10.77.0.254) where kraftctl runs. On 2 cores the dataplanes poll
# on cores 0 and 1 in turn, in backoff idle mode (a commit needs the leader and one
# follower; the choice is printed). The run directory (data, logs, state) is
# $KRAFTD_RUN (default /tmp/kraftd-cluster); `status` names it. $KRAFTD_PORT (9093) and
# $KRAFTD_BUILD (build/) may be set too, and $KRAFTD_NS (kc): the prefix of the namespaces
# and of the EAL's file prefixes, so that two clusters (a test's and yours) can coexist.
# down stops every node and removes the data, keeping the node logs (n*.log; the next up
# moves them to n*.log.prev) unless --purge; restart waits for the old process to exit.
# bench runs kraftbench against the cluster: over DPDK for memif and af_xdp (its own memif
# links, or its own veth kvb in namespace kc-b, 10.77.0.100), kernel UDP for udp (or with
# --kernel-udp, from the hub namespace). floor runs kraftfloor: a bare echo beside the
# nodes, its round trip against node ID's PING (default the leader's), phases alternating.
# partition isolates nodes, oneway drops one direction, drop loses a share of datagrams at
# random: nftables rules on the data port (udp: loopback input; af_xdp: the hub bridge);
# linkdown takes a node's veth down (af_xdp); netem sets the port fault layer of a test
# build (-Dcrash_test=true) on any transport, memif included: percentages of received
# datagrams dropped, duplicated, delayed by up to delay_us (reordered); heal undoes all.
# hup sends SIGHUP (a node re-reads its key files). $KRAFTD_ARGS: extra node options, %d
# standing for the node's id (e.g. --test-crash-cut in a -Dcrash_test=true build, or
# --kraftd.auth.key.file=/path/key-%d); kraftctl calls use $KRAFTD_AUTH_KEY_FILE.
set -uo pipefail
KRAFTD_ARGS=${KRAFTD_ARGS:-}
cd "$(dirname "$0")/.."
TOP=$(pwd)
RUN=${KRAFTD_RUN:-/tmp/kraftd-cluster}
BUILD=${KRAFTD_BUILD:-$TOP/build}
KRAFTD=$BUILD/kraftd
KCTL=$BUILD/tools/kraftctl/kraftctl
PORT=${KRAFTD_PORT:-9093}
NS=${KRAFTD_NS:-kc} # namespaces NS-ID, NS-hub, NS-b and EAL file prefixes NS-ID
STATE=$RUN/state

die() {
	echo "cluster: $*" >&2
	exit 1
}
usage() {
	sed -n '2,33p' "$0" | sed 's/^# \{0,1\}//'
	exit "${1:-2}"
}
load() {
	[ -f "$STATE" ] || die "no cluster (scripts/cluster.sh up)"
	# shellcheck disable=SC1090
	. "$STATE"
}
ip_of() { if [ "$TRANSPORT" = af_xdp ]; then echo "10.77.0.$1"; else echo "127.0.0.$1"; fi; }
mgmt() { echo "$(ip_of "$1"):$((PORT + 100))"; }
servers() {
	local s="" i
	for i in $(seq 1 "$NODES"); do s="$s${s:+,}$(mgmt "$i")"; done
	echo "$s"
}
kctl() {
	if [ "$TRANSPORT" = af_xdp ]; then ip netns exec $NS-hub "$KCTL" "$@"; else "$KCTL" "$@"; fi
}
pid_of() { cat "$RUN/n$1.pid" 2>/dev/null; }
alive() { local p; p=$(pid_of "$1") && running "$p"; }

# shellcheck source=scripts/eal-args.sh
. "$TOP/scripts/eal-args.sh"
# shellcheck source=scripts/proc.sh
. "$TOP/scripts/proc.sh"
EAL_PREFIX=$NS
eal_args() { kraftd_eal_args "$1"; }

start_node() {
	local i=$1
	case $TRANSPORT in
	# shellcheck disable=SC2086
	udp) setsid "$KRAFTD" --transport udp --config "$RUN/n$i.properties" ${KRAFTD_ARGS//%d/$i} \
		</dev/null >/dev/null 2>>"$RUN/n$i.log" & ;;
	memif)
		# shellcheck disable=SC2046
		setsid "$KRAFTD" $(eal_args "$i") --config "$RUN/n$i.properties" ${KRAFTD_ARGS//%d/$i} \
			</dev/null >/dev/null 2>>"$RUN/n$i.log" &
		;;
	af_xdp)
		# shellcheck disable=SC2046
		setsid ip netns exec "$NS-$i" "$KRAFTD" $(eal_args "$i") --config "$RUN/n$i.properties" \
			${KRAFTD_ARGS//%d/$i} </dev/null >/dev/null 2>>"$RUN/n$i.log" &
		;;
	esac
	echo $! >"$RUN/n$i.pid"
}

cmd_up() {
	local nodes=3 transport=udp durability=disk idle="" i voters="" initial="" cid fetch=200 election=100
	while [ $# -gt 0 ]; do
		case $1 in
		--nodes) nodes=${2:?}; shift 2 ;;
		--transport) transport=${2:?}; shift 2 ;;
		--durability) durability=${2:?}; shift 2 ;;
		--idle) idle=${2:?}; shift 2 ;;
		--fetch-timeout-ms) fetch=${2:?}; shift 2 ;;
		--election-timeout-ms) election=${2:?}; shift 2 ;;
		*) usage ;;
		esac
	done
	case $transport in udp | memif | af_xdp) ;; *) die "--transport: udp, memif or af_xdp" ;; esac
	case $durability in disk | memory) ;; *) die "--durability: disk or memory" ;; esac
	case $idle in "" | poll | backoff | shared) ;; *) die "--idle: poll, backoff or shared" ;; esac
	# on 2 cores three pollers (and a DPDK client) share cores: they yield while spinning
	[ -z "$idle" ] && idle=$([ "$transport" = udp ] && echo backoff || echo shared)
	[ "$nodes" -ge 1 ] && [ "$nodes" -le 9 ] || die "--nodes: 1..9"
	[ -f "$STATE" ] && die "a cluster is up already (scripts/cluster.sh down)"
	[ -x "$KRAFTD" ] || die "no $KRAFTD (meson setup build && ninja -C build)"
	[ "$transport" = af_xdp ] && ip netns list | grep -qw $NS-hub &&
		die "namespace $NS-hub exists: an af_xdp cluster is up with another run directory (KRAFTD_RUN=... scripts/cluster.sh down)"
	mkdir -p "$RUN"
	for f in "$RUN"/n*.log; do [ -f "$f" ] && mv "$f" "$f.prev"; done # a kept one of the last run
	printf 'NODES=%s\nTRANSPORT=%s\nDURABILITY=%s\nIDLE=%s\nNS=%s\n' "$nodes" "$transport" \
		"$durability" "$idle" "$NS" >"$STATE"
	load
	if [ "$TRANSPORT" = af_xdp ]; then
		ip netns add $NS-hub || die "cannot create namespaces (root is needed)"
		ip -n $NS-hub link add br0 type bridge && ip -n $NS-hub link set br0 up &&
			ip -n $NS-hub addr add 10.77.0.254/24 dev br0 && ip -n $NS-hub link set lo up
		ip netns add $NS-b && ip link add kvb netns $NS-b type veth peer name kbb netns $NS-hub &&
			ip -n $NS-hub link set kbb master br0 && ip -n $NS-hub link set kbb up &&
			ip -n $NS-b addr add 10.77.0.100/24 dev kvb && ip -n $NS-b link set kvb up &&
			ip -n $NS-b link set lo up || die "kraftbench's namespace"
		for i in $(seq 1 "$NODES"); do
			ip netns add "$NS-$i" &&
				ip link add "kv$i" netns "$NS-$i" type veth peer name "kb$i" netns $NS-hub &&
				ip -n $NS-hub link set "kb$i" master br0 && ip -n $NS-hub link set "kb$i" up &&
				ip -n "$NS-$i" addr add "10.77.0.$i/24" dev "kv$i" &&
				ip -n "$NS-$i" link set "kv$i" up && ip -n "$NS-$i" link set lo up ||
				die "namespace of node $i"
		done
	fi
	cid=$("$KRAFTD" random-uuid)
	echo "CID=$cid" >>"$STATE"
	# loopback addresses are shared by every cluster on the machine: refuse ports in use
	# (nodes that cannot bind exit, and kraftctl would then talk to the other cluster)
	if [ "$TRANSPORT" != af_xdp ]; then
		for i in $(seq 1 "$NODES"); do
			for p in "$PORT" $((PORT + 100)); do
				ss -Hlun "src $(ip_of "$i"):$p" 2>/dev/null | grep -q . && {
					rm -f "$STATE"
					die "$(ip_of "$i"):$p is in use (another cluster? choose KRAFTD_PORT)"
				}
			done
		done
	fi
	# every voter formatted with the same --initial-controllers: (node id, directory id)
	for i in $(seq 1 "$NODES"); do
		voters="$voters${voters:+,}$i@$(ip_of "$i"):$PORT"
		initial="$initial${initial:+,}$i@$(ip_of "$i"):$PORT:$("$KRAFTD" random-uuid)"
	done
	for i in $(seq 1 "$NODES"); do
		printf '%s\n' "node.id=$i" "cluster.id=$cid" "controller.quorum.voters=$voters" \
			"metadata.log.dir=$RUN/n$i" "kraftd.durability=$DURABILITY" \
			"kraftd.dataplane.idle=$IDLE" \
			"controller.quorum.election.timeout.ms=$election" \
			"controller.quorum.fetch.timeout.ms=$fetch" \
			"controller.quorum.election.backoff.max.ms=$election" >"$RUN/n$i.properties"
		"$KRAFTD" format --config "$RUN/n$i.properties" --initial-controllers "$initial" \
			>/dev/null || die "format node $i"
		start_node "$i"
	done
	echo "cluster: $NODES nodes over $TRANSPORT, durability $DURABILITY, in $RUN"
	[ "$TRANSPORT" != udp ] &&
		echo "cluster: dataplanes poll on cores 0,1,0,... in $IDLE idle mode (2 cores: a commit needs the leader and one follower)"
	cmd_leader >/dev/null && cmd_status
}

cmd_leader() { # [--within S]: the leader's id, once one is confirmed within S seconds
	load
	local l end within=100
	[ "${1:-}" = --within ] && within=${2:?usage: leader [--within SECONDS]}
	end=$(($(date +%s) + within))
	while :; do
		# only this cluster's answer counts (its id is in the state file)
		l=$(kctl --bootstrap-server "$(servers)" --timeout-ms 1000 --json describe --status 2>/dev/null |
			python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["leaderId"] if d["clusterId"] == sys.argv[1] else -1)' "${CID:-}" 2>/dev/null) &&
			[ "${l:--1}" -ge 1 ] && alive "$l" && { echo "$l"; return 0; }
		[ "$(date +%s)" -lt "$end" ] || break
		sleep 0.1
	done
	echo "cluster: no leader within $within s" >&2
	return 1
}

cmd_status() {
	load
	local i
	echo "run directory: $RUN ($NODES nodes, $TRANSPORT, $DURABILITY)"
	for i in $(seq 1 "$NODES"); do
		if alive "$i"; then
			echo "node $i: pid $(pid_of "$i"), dataplane $(ip_of "$i"):$PORT, management $(mgmt "$i"), log $RUN/n$i.log"
		else
			echo "node $i: down"
		fi
	done
	kctl --bootstrap-server "$(servers)" --timeout-ms 3000 describe --replication 2>/dev/null ||
		echo "(no leader answers)"
}

cmd_signal() { # SIGNAL ID
	load
	alive "$2" || die "node $2 is not running"
	kill "-$1" "$(pid_of "$2")"
}

cmd_down() {
	load
	local i p
	for i in $(seq 1 "$NODES"); do
		p=$(pid_of "$i") || continue
		kill -CONT "$p" 2>/dev/null
		kill -TERM "$p" 2>/dev/null
	done
	for i in $(seq 1 "$NODES"); do
		p=$(pid_of "$i") || continue
		for _ in $(seq 1 50); do running "$p" || break; sleep 0.1; done
		kill -9 "$p" 2>/dev/null
	done
	cmd_heal >/dev/null 2>&1
	if [ "$TRANSPORT" = af_xdp ]; then
		for i in $(seq 1 "$NODES"); do ip netns del "$NS-$i" 2>/dev/null; done
		ip netns del $NS-b 2>/dev/null
		ip netns del $NS-e 2>/dev/null
		ip netns del $NS-hub 2>/dev/null
	fi
	rm -rf /var/run/dpdk/"$NS"-*
	if [ "${1:-}" = --purge ]; then
		rm -rf "$RUN"
		echo "cluster: down"
		return
	fi
	find "$RUN" -mindepth 1 -maxdepth 1 ! -name 'n*.log' ! -name 'n*.log.prev' -exec rm -rf {} +
	echo "cluster: down (node logs kept: $RUN/n*.log; down --purge removes them)"
}

# Network faults by nftables on the data port: udp on the loopback input hook, af_xdp on
# the hub bridge's forward hook (AF_XDP frames bypass the nodes' own netfilter). memif
# has no kernel path (the port fault layer is to come).
# one table per cluster: named by the namespace prefix and the run directory
NFT_TABLE() { echo "kraftd_${NS}_$(printf '%s' "$RUN" | cksum | cut -d' ' -f1)"; }
nftc() {
	case $TRANSPORT in
	udp) nft "$@" ;;
	af_xdp) ip netns exec "$NS-hub" nft "$@" ;;
	memif) die "memif has no kernel path to cut: use netem ID drop=100 (test builds)" ;;
	esac
}
nft_rule() {
	local t
	t=$(NFT_TABLE)
	if [ "$TRANSPORT" = udp ]; then
		nftc add table inet "$t" 2>/dev/null
		nftc add chain inet "$t" f '{ type filter hook input priority 0; }' 2>/dev/null
		nftc add rule inet "$t" f "$@"
	else
		nftc add table bridge "$t" 2>/dev/null
		nftc add chain bridge "$t" f '{ type filter hook forward priority 0; }' 2>/dev/null
		nftc add rule bridge "$t" f "$@"
	fi
}

cmd_partition() {
	load
	local i
	[ $# -gt 0 ] || usage
	for i in "$@"; do
		nft_rule ip saddr "$(ip_of "$i")" udp dport "$PORT" drop || die "partition $i"
		nft_rule ip daddr "$(ip_of "$i")" udp dport "$PORT" drop || die "partition $i"
	done
	echo "cluster: isolated node(s) $*"
}

cmd_oneway() { # FROM TO: FROM's datagrams to TO are lost, TO's to FROM still arrive
	load
	[ $# = 2 ] || usage
	nft_rule ip saddr "$(ip_of "$1")" ip daddr "$(ip_of "$2")" udp dport "$PORT" drop ||
		die "oneway $1 $2"
	echo "cluster: datagrams from node $1 to node $2 are dropped"
}

cmd_drop() { # PERCENT of every datagram to a dataplane port, at random
	load
	[ $# = 1 ] && [ "$1" -ge 1 ] && [ "$1" -le 100 ] || usage
	nft_rule udp dport "$PORT" numgen random mod 100 "<" "$1" drop || die "drop $1"
	echo "cluster: dropping $1 % of dataplane datagrams at random"
}

cmd_netem() { # ID|all SETTINGS: the port fault layer of test builds (any transport)
	load
	local who=$1 i
	shift
	[ $# -gt 0 ] || usage
	for i in $(seq 1 "$NODES"); do
		[ "$who" = all ] || [ "$who" = "$i" ] || continue
		printf '%s\n' "$*" >"$RUN/n$i/test-port-faults.tmp" &&
			mv "$RUN/n$i/test-port-faults.tmp" "$RUN/n$i/test-port-faults" || die "netem $i"
	done
	echo "cluster: port faults on node(s) $who: $* (test builds; read within 100 ms)"
}

cmd_linkdown() {
	load
	[ "$TRANSPORT" = af_xdp ] || die "linkdown: af_xdp only (a veth per node)"
	ip -n "$NS-hub" link set "kb$1" down || die "linkdown $1"
	echo "cluster: node $1's link is down"
}

cmd_heal() {
	load
	local i t
	t=$(NFT_TABLE)
	rm -f "$RUN"/n*/test-port-faults
	case $TRANSPORT in
	udp) nft delete table inet "$t" 2>/dev/null ;;
	af_xdp)
		ip netns exec "$NS-hub" nft delete table bridge "$t" 2>/dev/null
		for i in $(seq 1 "$NODES"); do ip -n "$NS-hub" link set "kb$i" up; done
		;;
	esac
	echo "cluster: healed"
}

cmd_bench() {
	load
	local kb=$BUILD/tools/kraftbench/kraftbench opts=() kernel=0
	while [ $# -gt 0 ]; do
		case $1 in
		--kernel-udp) kernel=1 ;;
		*) opts+=("$1") ;;
		esac
		shift
	done
	[ -x "$kb" ] || die "no $kb"
	if [ "$TRANSPORT" = udp ]; then
		"$kb" --bootstrap-server "$(servers)" "${opts[@]}"
	elif [ "$kernel" = 1 ]; then
		[ "$TRANSPORT" = af_xdp ] || die "--kernel-udp: memif nodes have no kernel data path"
		ip netns exec $NS-hub "$kb" --bootstrap-server "$(servers)" "${opts[@]}"
	elif [ "$TRANSPORT" = af_xdp ]; then
		# shellcheck disable=SC2046
		ip netns exec $NS-b "$kb" --bootstrap-server "$(servers)" "${opts[@]}" $(kraftbench_dpdk_args)
	else
		# shellcheck disable=SC2046
		"$kb" --bootstrap-server "$(servers)" "${opts[@]}" $(kraftbench_dpdk_args)
	fi
}

# The raw floor beside a node's PING (tools/kraftfloor): a bare echo on a link of its own
# (udp: 127.0.0.50; memif: socket echo.sock; af_xdp: veth kve in namespace NS-e,
# 10.77.0.50, bridged like the nodes') and the bare client alternating phases against it
# and against node ID (default: the leader), from where kraftbench runs. The echo shares
# the node's core and sleeps while idle; the client polls on core 1. In a 1-node cluster
# the node is stopped (SIGSTOP) for the raw phases, so the echo has the core as the node
# has it in its own (an idle `poll` node would share it); with more nodes it runs on.
cmd_floor() {
	load
	local fl=$BUILD/tools/kraftfloor/kraftfloor opts=() id="" ep epid rc core
	local eal="--no-huge -m 256 --no-shconf --no-pci --no-telemetry --log-level=lib.eal:error"
	local xdp=$BUILD/dataplane/port/kraftd_xdp.bpf.o echo_at=127.0.0.50:$((PORT + 7))
	while [ $# -gt 0 ]; do
		case $1 in
		--node) id=${2:?--node ID}; shift ;;
		*) opts+=("$1") ;;
		esac
		shift
	done
	[ -x "$fl" ] || die "no $fl"
	[ -n "$id" ] || id=$(cmd_leader) || die "floor: no leader"
	alive "$id" || die "floor: node $id is not running"
	ep=$(ip_of "$id"):$PORT
	core=$(((id - 1) % 2))
	[ "$NODES" = 1 ] && opts+=(--pause "$(pid_of "$id")")
	case $TRANSPORT in
	udp)
		"$fl" echo --udp "$echo_at" >"$RUN/echo.log" 2>&1 &
		epid=$!
		"$fl" ping --raw "$echo_at" --kraftd "$ep" "${opts[@]}"
		rc=$?
		;;
	memif)
		# shellcheck disable=SC2086
		"$fl" echo --local "$echo_at" -- -l $core $eal --file-prefix "$EAL_PREFIX-echo" \
			--vdev "net_memif0,role=server,socket=$RUN/echo.sock,socket-abstract=no,mac=02:00:00:00:50:00" \
			>"$RUN/echo.log" 2>&1 &
		epid=$!
		# the client's link comes up only once the echo's EAL has made the socket
		for _ in $(seq 1 100); do [ -S "$RUN/echo.sock" ] || ! kill -0 $epid 2>/dev/null && break; sleep 0.1; done
		# shellcheck disable=SC2086
		"$fl" ping --raw "$echo_at" --kraftd "$ep" --local 127.0.0.100:9400 "${opts[@]}" \
			-- -l 1 $eal --file-prefix "$EAL_PREFIX-floor" \
			--vdev "net_memif0,role=client,socket=$RUN/echo.sock,socket-abstract=no,mac=02:00:00:00:00:50" \
			--vdev "net_memif1,role=client,socket=$RUN/mb-$id.sock,socket-abstract=no,mac=02:00:00:00:00:0$id"
		rc=$?
		;;
	af_xdp)
		echo_at=10.77.0.50:$((PORT + 7))
		if ! ip netns list | grep -q "^$NS-e\b"; then
			ip netns add $NS-e &&
				ip link add kve netns $NS-e type veth peer name kbe netns $NS-hub &&
				ip -n $NS-hub link set kbe master br0 && ip -n $NS-hub link set kbe up &&
				ip -n $NS-e addr add 10.77.0.50/24 dev kve && ip -n $NS-e link set kve up &&
				ip -n $NS-e link set lo up || die "floor: the echo's namespace"
		fi
		# shellcheck disable=SC2086
		ip netns exec $NS-e "$fl" echo --local "$echo_at" -- -l $core $eal \
			--file-prefix "$EAL_PREFIX-echo" --vdev "net_af_xdp0,iface=kve,xdp_prog=$xdp" \
			>"$RUN/echo.log" 2>&1 &
		epid=$!
		# shellcheck disable=SC2086
		ip netns exec $NS-b "$fl" ping --raw "$echo_at" --kraftd "$ep" --local 10.77.0.100:9400 \
			"${opts[@]}" -- -l 1 $eal --file-prefix "$EAL_PREFIX-floor" \
			--vdev "net_af_xdp0,iface=kvb,xdp_prog=$xdp"
		rc=$?
		;;
	esac
	kill "$epid" 2>/dev/null
	wait "$epid" 2>/dev/null
	kill -CONT "$(pid_of "$id")" 2>/dev/null # whatever became of kraftfloor
	[ "$rc" = 0 ] || echo "cluster: floor: the echo said: $(tail -3 "$RUN/echo.log")" >&2
	rm -f "$RUN/echo.sock" "$RUN/echo.log"
	return $rc
}

case ${1:-} in
up) shift; cmd_up "$@" ;;
bench) shift; cmd_bench "$@" ;;
floor) shift; cmd_floor "$@" ;;
down)
	[ -z "${2:-}" ] || [ "$2" = --purge ] || usage
	if [ ! -f "$STATE" ] && [ "${2:-}" = --purge ]; then # logs kept by an earlier down
		rm -rf "$RUN"
		echo "cluster: purged $RUN"
		exit 0
	fi
	cmd_down "${2:-}"
	;;
status) cmd_status ;;
leader) shift; cmd_leader "$@" ;;
kill) cmd_signal KILL "${2:?usage: kill ID}" ;;
stop) cmd_signal STOP "${2:?usage: stop ID}" ;;
cont) cmd_signal CONT "${2:?usage: cont ID}" ;;
hup)
	load
	for i in $([ "${2:?usage: hup ID|all}" = all ] && seq 1 "$NODES" || echo "$2"); do
		alive "$i" && kill -HUP "$(pid_of "$i")" && echo "cluster: node $i: SIGHUP"
	done
	;;
restart)
	load
	i=${2:?usage: restart ID}
	if alive "$i"; then
		p=$(pid_of "$i")
		kill -TERM "$p"
		for _ in $(seq 1 100); do running "$p" || break; sleep 0.1; done
		if running "$p"; then
			echo "cluster: node $i (pid $p) still runs 10 s after SIGTERM: killed" >&2
			kill -9 "$p"
			while running "$p"; do sleep 0.1; done
		fi
	fi
	start_node "$i"
	echo "cluster: node $i restarted"
	;;
partition) shift; cmd_partition "$@" ;;
oneway) shift; cmd_oneway "$@" ;;
drop) shift; cmd_drop "$@" ;;
linkdown) cmd_linkdown "${2:?usage: linkdown ID}" ;;
netem) shift; cmd_netem "$@" ;;
heal) cmd_heal ;;
-h | --help) usage 0 ;;
*) usage ;;
esac
