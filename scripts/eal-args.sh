# kraftd: the EAL options of one node of a local DPDK cluster, for scripts/cluster.sh and
# the integration tests (sourced, not run). Uses NODES, TRANSPORT (memif | af_xdp), RUN
# (memif sockets), BUILD (the XDP program) and EAL_PREFIX (file prefixes EAL_PREFIX-ID);
# with HUGE_NODE1=1, node 1 runs on hugepages (--in-memory) when enough are free.
# memif: a full mesh, one link per pair of nodes (the lower id serves), and one more link
# per node (the node serves, socket mb-ID.sock) for a DPDK client (kraftbench_eal_args);
# af_xdp: veth kvID.
# Dataplanes poll on core (id - 1) % 2: on 2 cores a commit needs the leader and one
# follower polling.
# shellcheck shell=bash
kraftd_eal_args() { # ID
	local i=$1 j k=0 role peers="" a b
	if [ "$i" = 1 ] && [ "${HUGE_NODE1:-0}" = 1 ] && mountpoint -q /dev/hugepages &&
		[ "$(awk '/HugePages_Free/ {print $2}' /proc/meminfo)" -ge 200 ]; then
		echo "-l 0 --in-memory --no-pci"
	else
		echo "-l $(((i - 1) % 2)) --no-huge -m 512 --no-shconf --no-pci"
	fi
	echo "--file-prefix $EAL_PREFIX-$i --log-level=lib.eal:error"
	if [ "$TRANSPORT" = af_xdp ]; then
		echo "--vdev net_af_xdp0,iface=kv$i,xdp_prog=$BUILD/dataplane/port/kraftd_xdp.bpf.o --"
		return
	fi
	for j in $(seq 1 "$NODES"); do
		[ "$j" = "$i" ] && continue
		a=$((i < j ? i : j))
		b=$((i < j ? j : i))
		role=$([ "$i" = "$a" ] && echo server || echo client)
		echo "--vdev net_memif$k,role=$role,socket=$RUN/m$a-$b.sock,socket-abstract=no,mac=02:00:00:00:0$i:0$j"
		peers="$peers${peers:+,}$j@$k"
		k=$((k + 1))
	done
	echo "--vdev net_memif$k,role=server,socket=$RUN/mb-$i.sock,socket-abstract=no,mac=02:00:00:00:0$i:00"
	echo "-- --kraftd.dpdk.peer.ports=$peers"
}

# The EAL options and address options of a DPDK kraftbench (after its own options, which
# must come first): memif, one client link to each node's mb-ID.sock; af_xdp, the veth kvb
# (kraftbench's namespace, 10.77.0.100). It polls on core 1, yielding when idle.
kraftbench_dpdk_args() {
	local i ports=""
	if [ "$TRANSPORT" = af_xdp ]; then
		echo "--local 10.77.0.100:9400 -- -l 1 --no-huge -m 256 --no-shconf --no-pci --no-telemetry"
		echo "--file-prefix $EAL_PREFIX-bench --log-level=lib.eal:error"
		echo "--vdev net_af_xdp0,iface=kvb,xdp_prog=$BUILD/dataplane/port/kraftd_xdp.bpf.o"
		return
	fi
	for i in $(seq 1 "$NODES"); do ports="$ports${ports:+,}$i@$((i - 1))"; done
	echo "--local 127.0.0.100:9400 --node-ports $ports -- -l 1 --no-huge -m 256"
	echo "--no-shconf --no-pci --no-telemetry --file-prefix $EAL_PREFIX-bench --log-level=lib.eal:error"
	for i in $(seq 1 "$NODES"); do
		echo "--vdev net_memif$((i - 1)),role=client,socket=$RUN/mb-$i.sock,socket-abstract=no,mac=02:00:00:00:00:0$i"
	done
}
