#!/usr/bin/env bash
# kraftd: the two planes meet only through the plane messages (include/kraft/planes.h)
# and the plane entry points below. Fails if an object file of the control side
# (control/election/, control/node/) refers to a symbol that an object file of the
# dataplane side (dataplane/repl/, dataplane/port/, dataplane/node/) defines, or the other
# way round. The shared libraries (control/config/, control/runtime/, dataplane/wire/,
# dataplane/storage/) are on neither side: both may use them. docs/DESIGN.md §4.
# Usage: scripts/check-planes.sh LIB.a...            (run by the test suite: 'style')
#        scripts/check-planes.sh --self-test LIB.a... (a planted crossing must be found)
set -euo pipefail
self_test=0
if [ "${1:-}" = --self-test ]; then
	self_test=1
	shift
fi
[ $# -ge 1 ] || { echo "usage: check-planes.sh [--self-test] LIB.a..." >&2; exit 2; }
# The plane entry points: what the node's start (control/node/start.c) calls to run the
# dataplane's threads, its DPDK start and stop, and its kernel UDP port.
allowed='^(kn_dataplane_init|kn_dataplane_main|kn_flush_main|kn_dataplane_summary|kn_dataplane_free|kn_dpdk_start|kn_dpdk_stop|kn_port_udp_open)$'

side() { # object member name -> C, D or -
	case "$1" in
	control_election_* | control_node_*) echo C ;;
	dataplane_repl_* | dataplane_port_* | dataplane_node_*) echo D ;;
	*) echo - ;;
	esac
}

table=$(mktemp)
trap 'rm -f "$table"' EXIT
# one line per (side, object, kind, symbol): kind D = defined here, U = used here
for lib in "$@"; do
	nm "$lib" 2>/dev/null | awk -v OFS=' ' '
		/\.o:$/ { obj = $0; sub(/:$/, "", obj); sub(/.*\//, "", obj); next }
		NF == 2 && $1 == "U" { print obj, "U", $2; next }
		NF == 3 && $2 ~ /^[TDBRC]$/ { print obj, "D", $3 }'
done | while read -r obj kind sym; do
	echo "$(side "$obj") $obj $kind $sym"
done >"$table"
if [ $self_test = 1 ]; then
	# a control-side object that calls the replication core: must be found
	echo "C control_node_planted.c.o U kr_repl_on_packet" >>"$table"
fi
objects_c=$(awk '$1 == "C"' "$table" | cut -d' ' -f2 | sort -u | wc -l)
objects_d=$(awk '$1 == "D"' "$table" | cut -d' ' -f2 | sort -u | wc -l)
if [ "$objects_c" -lt 8 ] || [ "$objects_d" -lt 14 ]; then
	echo "check-planes: found only $objects_c control and $objects_d dataplane objects: the patterns above are stale" >&2
	exit 1
fi
bad=$(awk -v allowed="$allowed" '
	$3 == "D" { def[$4] = $1 }
	$3 == "U" { use[NR] = $0 }
	END {
		for (i in use) {
			split(use[i], f, " ")
			d = def[f[4]]
			if ((f[1] == "C" && d == "D") || (f[1] == "D" && d == "C"))
				if (f[4] !~ allowed)
					printf "check-planes: %s (%s side) uses %s, defined on the %s side\n",
						f[2], f[1] == "C" ? "control" : "dataplane", f[4],
						d == "C" ? "control" : "dataplane"
		}
	}' "$table" | sort)
if [ $self_test = 1 ]; then
	if echo "$bad" | grep -q "control_node_planted.c.o (control side) uses kr_repl_on_packet"; then
		echo "check-planes: self-test: the planted crossing was found"
		exit 0
	fi
	echo "check-planes: self-test FAILED: the planted crossing was not found" >&2
	exit 1
fi
if [ -n "$bad" ]; then
	echo "$bad" >&2
	exit 1
fi
echo "check-planes: $objects_c control and $objects_d dataplane objects meet only through the plane messages"
