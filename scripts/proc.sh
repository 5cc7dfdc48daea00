# kraftd scripts: process helpers (sourced, not run).
# shellcheck shell=bash

# running PID: the process exists and is not a zombie. A node the cluster script starts
# is detached; once it exits, it stays a zombie until init reaps it, which on some
# machines takes seconds -- and kill -0 still succeeds on a zombie.
running() {
	local st
	st=$(<"/proc/$1/stat") 2>/dev/null || return 1
	st=${st##*) }
	[ "${st:0:1}" != Z ]
}
