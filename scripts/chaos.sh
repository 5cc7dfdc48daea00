#!/usr/bin/env bash
# kraftd: faults on a real local cluster under a workload, and the history checker's
# verdict (issue 8).
#
#   scripts/chaos.sh [--minutes M] [--transport udp|af_xdp|memif] [--durability disk|memory]
#                    [--round-seconds S] [--clients N] [--faults LIST] [--seed N] [--out DIR]
# (--out keeps the run directory: histories, node logs; without it a passing run leaves
# nothing behind, a failing one keeps everything and says where. --plant-loss, the
# harness's own test: one round in which node 1's drained read misses a record; the
# verdict must be INVALID, with the record reported lost. --auth: the nodes and clients
# hold a cluster key, so every frame is sealed and checked under the faults too.)
#
# The run is a series of rounds. In each, tests/history/workload.py appends unique values
# through kraftctl from N clients (recording invoke / ok / fail / unknown with offsets)
# while faults hit the cluster one after another; then everything is healed and
# restarted, every node is drained (read back from where the round began) and
# tests/history/kraftcheck.py judges the round's history. A final check runs over the
# whole run. The first invalid round stops the run (exit 1) and keeps its directory.
#
# Faults (LIST, comma-separated; default: all the transport supports):
#   kill-leader, kill-follower, kill-random  kill -9, restarted 0.3-1.5 s later; nodes run
#                                            with --test-crash-cut, so what was not flushed
#                                            is cut from their files at restart
#   pause        SIGSTOP of the leader or a random node for 0.3-1.5 s (> the election timeout)
#   partition    one node isolated for 0.5-2 s (nftables; not memif)
#   oneway       one direction between two nodes lost for 0.5-2 s (not memif)
#   drop         20-50 % of all datagrams lost at random for 0.5-2 s (not memif)
#   linkdown     a node's veth down for 0.5-2 s (af_xdp)
#   netem        the port fault layer on one node or all for 0.5-2 s: 0-30 % of received
#                datagrams dropped, 0-20 % duplicated, 0-30 % delayed by up to 2 ms
#                (reordered); any transport
#   eio          a follower restarted so that its flushes fail after 5-50 more (an
#                fdatasync EIO): it must fail-stop (exit 3); restarted clean at the
#                round's end (disk durability only)
#   enospc       a follower killed and restarted on a tmpfs 64-512 KB larger than its
#                data: real ENOSPC once the log grows into it (a segment, an index or
#                the quorum-state file). It must fail-stop; at the round's end its files
#                go back to disk and it restarts (disk durability only)
# Restarted nodes run with --test-crash-torn: what was not flushed is cut at restart,
# leaving a random part of it (a torn write). Needs root and a build configured with
# -Dcrash_test=true ($KRAFTD_BUILD, default build/).
set -uo pipefail
cd "$(dirname "$0")/.."
TOP=$(pwd)
# shellcheck source=scripts/proc.sh
. scripts/proc.sh
MINUTES=3
TRANSPORT=udp
DURABILITY=disk
ROUND=20
CLIENTS=3
FAULTS=""
SEED=$$
OUT=""
PLANT=0
AUTH=0
while [ $# -gt 0 ]; do
	case $1 in
	--minutes) MINUTES=$2; shift 2 ;;
	--transport) TRANSPORT=$2; shift 2 ;;
	--durability) DURABILITY=$2; shift 2 ;;
	--round-seconds) ROUND=$2; shift 2 ;;
	--clients) CLIENTS=$2; shift 2 ;;
	--faults) FAULTS=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--plant-loss) PLANT=1; shift ;;
	--auth) AUTH=1; shift ;;
	-h | --help) sed -n '2,41p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "chaos: unknown option $1 (--help)" >&2; exit 2 ;;
	esac
done
case $TRANSPORT in
udp) ALL="kill-leader,kill-follower,kill-random,pause,partition,oneway,drop,netem" ;;
af_xdp) ALL="kill-leader,kill-follower,kill-random,pause,partition,oneway,drop,linkdown,netem" ;;
memif) ALL="kill-leader,kill-follower,kill-random,pause,netem" ;;
*) echo "chaos: --transport udp, af_xdp or memif" >&2; exit 2 ;;
esac
[ "$DURABILITY" = disk ] && ALL="$ALL,eio,enospc"
FAULTS=${FAULTS:-$ALL}
IFS=, read -r -a FLIST <<<"$FAULTS"
for f in "${FLIST[@]}"; do
	[[ ",$ALL," == *",$f,"* ]] || { echo "chaos: fault '$f' is not one of $ALL ($TRANSPORT)" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "chaos: needs root (namespaces, nftables)" >&2; exit 1; }
export KRAFTD_BUILD=${KRAFTD_BUILD:-$TOP/build}
case $("$KRAFTD_BUILD/kraftd" --help 2>&1) in # the whole text: see tests/integration/lib.sh
*--test-crash-cut*) ;;
*) echo "chaos: $KRAFTD_BUILD/kraftd is not a test build (meson configure -Dcrash_test=true)" >&2; exit 1 ;;
esac
TMP_OUT=0
[ -z "$OUT" ] && { OUT=$(mktemp -d /tmp/kraftd-chaos.XXXXXX); TMP_OUT=1; }
mkdir -p "$OUT"
AUTH_ARGS=""
if [ "$AUTH" = 1 ]; then # a cluster key: every frame sealed and checked, clients too
	rm -f "$OUT/cluster.key"
	"$KRAFTD_BUILD/kraftd" random-key "$OUT/cluster.key" >/dev/null || exit 1
	AUTH_ARGS="--kraftd.auth.key.file=$OUT/cluster.key"
	export KRAFTD_AUTH_KEY_FILE=$OUT/cluster.key
fi
export KRAFTD_RUN=$OUT/cluster KRAFTD_NS=kz$$ KRAFTD_PORT=${KRAFTD_PORT:-9093}
export KRAFTD_ARGS="--test-crash-torn $AUTH_ARGS"
CL=$TOP/scripts/cluster.sh
KCTL=$KRAFTD_BUILD/tools/kraftctl/kraftctl
WORKLOAD=$TOP/tests/history/workload.py
CHECK=$TOP/tests/history/kraftcheck.py
RANDOM=$SEED
T0=$(date +%s)
log() { printf '[%5ss] %s\n' $(($(date +%s) - T0)) "$*" | tee -a "$OUT/chaos.log"; }
declare -A COUNT
FAILED=0
EIO_NODES=""
ENOSPC_NODES=""
cleanup() {
	[ -n "${WL:-}" ] && kill "$WL" 2>/dev/null
	cp "$KRAFTD_RUN"/n*.log "$OUT/" 2>/dev/null # the nodes' logs outlive the cluster
	for i in $ENOSPC_NODES; do small_disk_off "$i"; done
	"$CL" heal >/dev/null 2>&1
	"$CL" down >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

state() { . "$KRAFTD_RUN/state"; }
ip_of() { if [ "$TRANSPORT" = af_xdp ]; then echo "10.77.0.$1"; else echo "127.0.0.$1"; fi; }
servers() {
	local s="" i
	for i in 1 2 3; do s="$s${s:+,}$(ip_of "$i"):$((KRAFTD_PORT + 100))"; done
	echo "$s"
}
kctl() { if [ "$TRANSPORT" = af_xdp ]; then ip netns exec "$KRAFTD_NS-hub" "$KCTL" "$@"; else "$KCTL" "$@"; fi; }
rnd() { echo $((RANDOM % ($2 - $1 + 1) + $1)); } # MIN MAX
ms() { sleep "$(awk "BEGIN {print $1 / 1000}")"; }
alive() { local p; p=$(cat "$KRAFTD_RUN/n$1.pid" 2>/dev/null) && running "$p"; }
leader() { "$CL" leader --within 2 2>/dev/null; } # no quorum now: pick a node at random
other() { # a node other than $1
	local o
	while :; do o=$(rnd 1 3); [ "$o" != "$1" ] && { echo "$o"; return; }; done
}

# enospc: node N's data directory on a tmpfs a little larger than what it holds. The node
# is killed first (its files cut back to what was flushed at the restart, as any kill).
gone() { # N: killed and waited for (at most 5 s)
	alive "$1" && "$CL" kill "$1" >/dev/null
	for _ in $(seq 1 50); do alive "$1" || return 0; sleep 0.1; done
	return 1
}
small_disk_on() { # N
	local d=$KRAFTD_RUN/n$1 kb
	gone "$1" || return 1
	kb=$(($(du -sk "$d" | cut -f1) + $(rnd 64 512)))
	mv "$d" "$d.disk" && mkdir "$d" || return 1
	if ! mount -t tmpfs -o "size=${kb}k" kraftd-chaos "$d"; then
		rmdir "$d"; mv "$d.disk" "$d"
		log "enospc: cannot mount a tmpfs on $d (root is needed)"
		return 1
	fi
	ENOSPC_NODES="$ENOSPC_NODES $1"
	cp -a "$d.disk/." "$d/" && rm -rf "$d.disk"
}
small_disk_off() { # N: stopped, its files back on disk
	local d=$KRAFTD_RUN/n$1 last
	if ! alive "$1"; then # the kill faults restart at once: down means it stopped itself
		last=$(grep -E "start: kraftd starting|stopped \(exit|FATAL" "$KRAFTD_RUN/n$1.log" | tail -1)
		case $last in
		*"stopped (exit 3)"* | *FATAL*) ;;
		*) log "enospc: node $1 went down without a fail-stop (exit 3): ${last#*Z }"; FAILED=1 ;;
		esac
	fi
	gone "$1"
	mountpoint -q "$d" || return 0
	mkdir -p "$d.disk" && cp -a "$d/." "$d.disk/" && umount "$d" && rmdir "$d" && mv "$d.disk" "$d"
}

fault() { # one fault, healed before it returns
	local f=$1 l n m
	l=$(leader) || l=$(rnd 1 3)
	case $f in
	kill-leader | kill-follower | kill-random)
		n=$l
		[ "$f" = kill-follower ] && n=$(other "$l")
		[ "$f" = kill-random ] && n=$(rnd 1 3)
		alive "$n" || return 1
		"$CL" kill "$n" >/dev/null
		[ "$n" = "$l" ] && COUNT[leader-kills]=$((${COUNT[leader-kills]:-0} + 1))
		ms "$(rnd 300 1500)"
		"$CL" restart "$n" >/dev/null
		;;
	pause)
		n=$l
		[ $((RANDOM % 2)) = 0 ] && n=$(rnd 1 3)
		alive "$n" || return 1
		"$CL" stop "$n" && ms "$(rnd 300 1500)" && "$CL" cont "$n"
		;;
	partition) "$CL" partition "$(rnd 1 3)" >/dev/null && ms "$(rnd 500 2000)" && "$CL" heal >/dev/null ;;
	oneway)
		n=$(rnd 1 3)
		m=$(other "$n")
		"$CL" oneway "$n" "$m" >/dev/null && ms "$(rnd 500 2000)" && "$CL" heal >/dev/null
		;;
	drop) "$CL" drop "$(rnd 20 50)" >/dev/null && ms "$(rnd 500 2000)" && "$CL" heal >/dev/null ;;
	linkdown) "$CL" linkdown "$(rnd 1 3)" >/dev/null && ms "$(rnd 500 2000)" && "$CL" heal >/dev/null ;;
	netem)
		n=all
		[ $((RANDOM % 2)) = 0 ] && n=$(rnd 1 3)
		"$CL" netem "$n" "drop=$(rnd 0 30)" "dup=$(rnd 0 20)" "delay=$(rnd 0 30)" delay_us=2000 \
			>/dev/null && ms "$(rnd 500 2000)" && "$CL" heal >/dev/null
		;;
	eio)
		n=$(other "$l")
		alive "$n" || return 1
		KRAFTD_ARGS="--test-crash-torn --test-fail-flush-after $(rnd 5 50) $AUTH_ARGS" "$CL" restart "$n" >/dev/null
		EIO_NODES="$EIO_NODES $n"
		;;
	enospc)
		n=$(other "$l")
		alive "$n" || return 1
		case " $ENOSPC_NODES " in *" $n "*) return 1 ;; esac
		small_disk_on "$n" || { "$CL" restart "$n" >/dev/null; return 1; }
		KRAFTD_ARGS="--test-crash-torn $AUTH_ARGS" "$CL" restart "$n" >/dev/null
		;;
	esac
	COUNT[$f]=$((${COUNT[$f]:-0} + 1))
}

# a round's history starts with what earlier rounds left open: values whose outcome was
# unknown (they may commit later) or refused (they must never appear). carry ROUND_EVENTS
# OPEN appends a finished round's open values to OPEN (so no round rereads the history).
carry() {
	python3 - "$1" "$2" <<'EOF'
import sys
inv, keep = {}, []
for line in open(sys.argv[1]):
    f = line.split()
    if f and f[0] == "invoke":
        inv[f[2]] = line
    elif f and f[0] in ("unknown", "fail"):
        keep.append(inv[f[2]]); keep.append(line)
open(sys.argv[2], "a").writelines(keep)
EOF
}

log "chaos: $MINUTES min over $TRANSPORT ($DURABILITY$([ "$AUTH" = 1 ] && echo ", cluster key")), rounds of $ROUND s, $CLIENTS clients, faults $FAULTS, seed $SEED, in $OUT"
"$CL" up --nodes 3 --transport "$TRANSPORT" --durability "$DURABILITY" >"$OUT/up.log" 2>&1 ||
	{ log "the cluster did not come up: $(tail -3 "$OUT/up.log"); the nodes said: $(grep -h 'start:' "$KRAFTD_RUN"/n*.log | tail -3 | sed 's/.*start: //')"; exit 1; }
: >"$OUT/history"
: >"$OUT/open"
END=$(($(date +%s) + MINUTES * 60))
round=0
while [ "$(date +%s)" -lt "$END" ]; do
	round=$((round + 1))
	RH=$OUT/round-$round.history
	cp "$OUT/open" "$RH"
	# the round's records start at the leader's high watermark; a leader that has not
	# yet committed in its epoch reports -1 (not yet known), so ask again until it has
	FROM=-1
	hw_by=$(($(date +%s) + 15))
	while [ "$(date +%s)" -lt "$hw_by" ]; do
		FROM=$(kctl --bootstrap-server "$(servers)" --timeout-ms 5000 --json describe --status 2>/dev/null |
			python3 -c 'import json,sys; print(json.load(sys.stdin)["highWatermark"])' 2>/dev/null) || FROM=-1
		[ "$FROM" -ge 0 ] && break
		sleep 0.2
	done
	[ "$FROM" -ge 0 ] || { log "round $round: no leader answers with a high watermark"; FAILED=1; break; }
	if [ "$TRANSPORT" = af_xdp ]; then
		ip netns exec "$KRAFTD_NS-hub" python3 "$WORKLOAD" run --kraftctl "$KCTL" --servers "$(servers)" \
			--clients "$CLIENTS" --seconds "$ROUND" --timeout-ms 3000 --prefix "r$round" --out "$RH.w" >"$RH.out" &
	else
		python3 "$WORKLOAD" run --kraftctl "$KCTL" --servers "$(servers)" --clients "$CLIENTS" \
			--seconds "$ROUND" --timeout-ms 3000 --prefix "r$round" --out "$RH.w" >"$RH.out" &
	fi
	WL=$!
	rend=$(($(date +%s) + ROUND - 2))
	while [ "$(date +%s)" -lt "$rend" ]; do
		ms "$(rnd 500 1500)"
		fault "${FLIST[$((RANDOM % ${#FLIST[@]}))]}"
	done
	wait "$WL"
	WL=""
	"$CL" heal >/dev/null 2>&1
	for i in $EIO_NODES; do # restarted clean; a node still running with failing flushes too
		"$CL" restart "$i" >/dev/null
	done
	EIO_NODES=""
	for i in $ENOSPC_NODES; do
		small_disk_off "$i" && "$CL" restart "$i" >/dev/null
	done
	ENOSPC_NODES=""
	for i in 1 2 3; do
		alive "$i" || "$CL" restart "$i" >/dev/null
		kill -CONT "$(cat "$KRAFTD_RUN/n$i.pid")" 2>/dev/null
	done
	# every node catches up before it is read: healed and restarted, a cluster that does
	# not within a minute is a failure of its own (no leader, a node that never catches
	# up), said with what the nodes report, not a test timeout
	caught=0
	until_s=$((SECONDS + 60))
	while [ "$SECONDS" -lt "$until_s" ]; do
		if kctl --bootstrap-server "$(servers)" --timeout-ms 2000 --json describe --replication 2>/dev/null |
			python3 -c 'import json,sys; r=json.load(sys.stdin); sys.exit(0 if len(r) == 3 and all(x["lag"] == 0 for x in r) else 1)' 2>/dev/null; then
			caught=1
			break
		fi
		sleep 0.1
	done
	if [ "$caught" = 0 ]; then
		log "round $round: healed and restarted, the cluster did not catch up within 60 s: $(kctl --bootstrap-server "$(servers)" --timeout-ms 2000 describe --replication 2>&1 | tr '\n' ' ')"
		for i in 1 2 3; do
			log "  node $i said last: $(grep -v 'refused the pre-vote' "$KRAFTD_RUN/n$i.log" | tail -1 | cut -c1-300)"
		done
		FAILED=1
		break
	fi
	cat "$RH.w" >>"$RH"
	cat "$RH.w" >>"$OUT/history"
	carry "$RH.w" "$OUT/open"
	rm -f "$RH.w"
	for i in 1 2 3; do
		for t in 1 2 3; do
			kctl --bootstrap-server "$(ip_of "$i"):$((KRAFTD_PORT + 100))" --timeout-ms 10000 --json read --from "$FROM" \
				>"$OUT/read.json" 2>"$OUT/read.err" && break
			sleep 1
		done || { log "round $round: node $i cannot be read: $(cat "$OUT/read.err")"; FAILED=1; break 2; }
		# --plant-loss (the harness's own test): node 1's read misses its middle record
		python3 -c 'import json,sys
rows = [json.loads(line) for line in open(sys.argv[1])]
if sys.argv[4] == "1" and sys.argv[3] == "1" and len(rows) > 2:
    del rows[len(rows) // 2]
for r in rows:
    print("read r%sn%s %d %s" % (sys.argv[2], sys.argv[3], r["offset"], r["value"]))' \
			"$OUT/read.json" "$round" "$i" "$PLANT" | tee -a "$OUT/history" >>"$RH"
	done
	v=$(python3 "$CHECK" "$RH" --json)
	python3 -c 'import json,sys; c=json.loads(sys.argv[1])["counts"]; print("round %s: %s" % (sys.argv[2], ", ".join("%s %d" % (k, c[k]) for k in ("ok","unknown","fail","lost","duplicated","inconsistent","order","phantom","diverged"))))' "$v" "$round" |
		while read -r line; do log "$line; $(cat "$RH.out")"; done
	if ! echo "$v" | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["valid"] else 1)'; then
		log "round $round: INVALID (history $RH)"
		python3 "$CHECK" "$RH" | tail -20 | tee -a "$OUT/chaos.log"
		FAILED=1
		break
	fi
	rm -f "$RH" "$RH.out"
	[ "$PLANT" = 1 ] && break # one round is enough to be caught
done

COUNT[eio-fail-stops]=$(cat "$KRAFTD_RUN"/n*.log 2>/dev/null | grep -c "injected by --test-fail-flush-after")
COUNT[enospc-fail-stops]=$(cat "$KRAFTD_RUN"/n*.log 2>/dev/null | grep -c "No space left on device")
COUNT[torn-tails-left]=$(cat "$KRAFTD_RUN"/n*.log 2>/dev/null | grep -c "a torn tail left")
log "final check over the whole run"
python3 "$CHECK" "$OUT/history" --json >"$OUT/verdict.json"
python3 "$CHECK" "$OUT/history" | tee -a "$OUT/chaos.log"
faults=""
for k in "${!COUNT[@]}"; do faults="$faults${faults:+, }$k ${COUNT[$k]}"; done
log "faults: $faults"
python3 - "$OUT/verdict.json" "$round" "$MINUTES" "$TRANSPORT" "$DURABILITY" "$SEED" "$faults" <<'EOF' | tee -a "$OUT/chaos.log"
import json, sys
v = json.load(open(sys.argv[1])); c = v["counts"]
print("chaos: %s rounds, %s min over %s (%s), seed %s; faults: %s" % tuple(sys.argv[2:8]))
print("chaos: appends acknowledged %d, failed %d, unknown %d; lost %d, duplicated %d, "
      "inconsistent %d, order %d, phantom %d, diverged %d" % (c["ok"], c["fail"], c["unknown"],
      c["lost"], c["duplicated"], c["inconsistent"], c["order"], c["phantom"], c["diverged"]))
print("chaos: VERDICT %s" % ("VALID" if v["valid"] else "INVALID"))
EOF
if [ "$FAILED" = 1 ] || ! python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["valid"] else 1)' "$OUT/verdict.json"; then
	trap - EXIT
	cp "$KRAFTD_RUN"/n*.log "$OUT/" 2>/dev/null
	for i in $ENOSPC_NODES; do small_disk_off "$i"; done # no tmpfs is left mounted
	# the data directories too (kraftd inspect --dir shows every batch's epoch and producer)
	for i in 1 2 3; do cp -a "$KRAFTD_RUN/n$i" "$OUT/data-n$i" 2>/dev/null; done
	"$CL" heal >/dev/null 2>&1
	"$CL" down >/dev/null 2>&1
	log "chaos: FAILED; everything is kept in $OUT"
	exit 1
fi
# a passing run in a directory of our own leaves nothing behind (--out keeps it)
[ "$TMP_OUT" = 1 ] && { "$CL" down >/dev/null 2>&1; rm -rf "$OUT"; }
exit 0
