# kraftd: the EAL options of one node of a local DPDK cluster, for scripts/cluster.sh and
# the integration tests (sourced, not run). Uses NODES, TRANSPORT (memif | af_xdp), RUN
# (memif sockets), BUILD (the XDP program) and EAL_PREFIX (file prefixes EAL_PREFIX-ID);
# with HUGE_NODE1=1, node 1 runs on hugepages (--in-memory) when enough are free.
# memif: a full mesh, one link per pair of nodes (the lower id serves); af_xdp: veth kvID.
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
		echo "--vdev net_af_xdp0,iface=kv$i,xdp_prog=$BUILD/dataplane/kraftd_xdp.bpf.o --"
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
	echo "-- --kraftd.dpdk.peer.ports=$peers"
}
