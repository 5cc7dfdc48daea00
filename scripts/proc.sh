# kraftd scripts: process helpers (sourced, not run).
# shellcheck shell=bash

# running PID: some thread of the process still runs. kill -0 is not enough: a process
# that exited is a zombie until its parent (for a detached node, init) reaps it, which
# on some machines takes seconds; and its main thread turns zombie before the others are
# gone, while they still hold its files (the data directory's lock, an AF_XDP socket).
running() {
	local t st
	for t in /proc/"$1"/task/*/stat; do
		{ st=$(<"$t"); } 2>/dev/null || continue
		st=${st##*) }
		case ${st:0:1} in Z | X) ;; *) return 0 ;; esac
	done
	return 1
}
