# kraftd integration tests that drive scripts/cluster.sh (sourced, not run): the build
# directory from $1, a run directory, ports and namespaces of their own (so tests and a
# cluster of yours can coexist), log and fail, and a cluster torn down at exit.
# Set before sourcing: TAG (names the run directory and namespaces) and PORT_BASE.
# shellcheck shell=bash
set -uo pipefail
BUILD=$(cd "${1:?usage: $(basename "$0") BUILD_DIR}" && pwd)
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export KRAFTD_BUILD=$BUILD KRAFTD_RUN=${TMPDIR:-/tmp}/kraftd-$TAG.$$
export KRAFTD_PORT=$((PORT_BASE + ($$ % 4000) * 10)) KRAFTD_NS=k${TAG:0:1}$$
C=$TOP/scripts/cluster.sh
# shellcheck source=scripts/proc.sh
. "$TOP/scripts/proc.sh"
T0=$(date +%s)
log() { printf '[%4ss] %s\n' $(($(date +%s) - T0)) "$*"; }
fail() {
	log "FAIL: $*"
	tail -n 20 "$KRAFTD_RUN"/n*.log 2>/dev/null
	"$C" down --purge >/dev/null 2>&1
	log "FAIL: $*" # again, last: a CI record often keeps only the end of the output
	exit 1
}
trap '"$C" down --purge >/dev/null 2>&1; rm -rf "$KRAFTD_RUN"' EXIT
