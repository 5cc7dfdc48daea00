#!/usr/bin/env bash
# kraftd: the protocol cores are pure. Fails if an object file of the election core
# (everything in control/election/) or of the replication core (everything in
# dataplane/repl/, and the frame authentication and producer table it calls,
# dataplane/wire/auth.c and producers.c) refers
# to a clock, a file or socket call, an allocator, a random source, a lock, or a kraftd
# call that does I/O.
# The state machines and the applier (control/sm/) are held to less: they may allocate
# (a state grows) and read and write snapshot files through the file system table, but
# call no clock, no file or socket call of their own, no randomness and no lock.
# Usage: scripts/check-purity.sh path/to/libkraft.a   (run by the test suite: 'style')
set -euo pipefail
lib=${1:?usage: check-purity.sh libkraft.a}
forbidden='^(clock_gettime|clock|time|gettimeofday|nanosleep|usleep|sleep|malloc|calloc|realloc|free|strdup|open|open64|openat|openat64|close|read|write|pread|pread64|pwrite|pwrite64|fsync|fdatasync|ftruncate|ftruncate64|unlink|unlinkat|rename|mkdir|socket|send|sendto|sendmsg|recv|recvfrom|recvmsg|poll|epoll_wait|select|rand|random|getrandom|pthread_mutex_lock|pthread_spin_lock|kr_log_open|kr_log_flush|kr_log_close|kr_write_full|kr_read_full|kr_fsync_fd|kr_fsync_dir|kr_write_file_atomic|kr_read_file|kr_mkdir_durable|kr_quorum_state_store|kr_quorum_state_load|kr_identity_store|kr_bootstrap_load|kr_datadir_lock|kr_uuid_random|kr_auth_key_file|kr_auth_keys_load)$'
members=0
sm_forbidden='^(clock_gettime|clock|time|gettimeofday|nanosleep|usleep|sleep|open|open64|openat|openat64|close|read|write|pread|pread64|pwrite|pwrite64|fsync|fdatasync|ftruncate|ftruncate64|unlink|unlinkat|rename|mkdir|socket|send|sendto|sendmsg|recv|recvfrom|recvmsg|poll|epoll_wait|select|rand|random|getrandom|pthread_create|pthread_mutex_lock|pthread_spin_lock)$'
sm_members=0
bad=0
while IFS= read -r line; do
	case "$line" in
	*.o:)
		member=${line%:}
		member=${member##*/}
		case "$member" in
		control_election_*.c.o | dataplane_repl_*.c.o | \
		dataplane_wire_auth.c.o | dataplane_wire_producers.c.o)
			core=1
			members=$((members + 1))
			;;
		control_sm_*.c.o)
			core=2
			sm_members=$((sm_members + 1))
			;;
		*) core=0 ;;
		esac
		;;
	*" U "*)
		sym=${line##* U }
		if { [ "${core:-0}" = 1 ] && [[ $sym =~ $forbidden ]]; } ||
			{ [ "${core:-0}" = 2 ] && [[ $sym =~ $sm_forbidden ]]; }; then
			echo "check-purity: $member calls $sym" >&2
			bad=1
		fi
		;;
	esac
done < <(nm "$lib" 2>/dev/null)
if [ "$members" -lt 13 ]; then
	echo "check-purity: found only $members core objects in $lib; the list above is stale" >&2
	exit 1
fi
if [ "$sm_members" -lt 5 ]; then
	echo "check-purity: found only $sm_members state machine objects in $lib; the list above is stale" >&2
	exit 1
fi
if [ $bad -ne 0 ]; then
	exit 1
fi
echo "check-purity: $members core objects call no clock, I/O, allocator, randomness or lock;" \
	"$sm_members state machine objects no clock, I/O of their own, randomness or lock"
