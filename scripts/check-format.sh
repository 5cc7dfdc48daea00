#!/usr/bin/env bash
# kraftd: fail if any C source or header differs from what clang-format (.clang-format)
# would make of it. Run by the test suite ('style'); fix with: scripts/check-format.sh --fix
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find include control dataplane tests tools -name '*.[ch]' 2>/dev/null | sort)
if [ "${1:-}" = "--fix" ]; then
	clang-format -i "${files[@]}"
	exit 0
fi
if ! clang-format --dry-run --Werror "${files[@]}"; then
	echo "check-format: the files above need clang-format (scripts/check-format.sh --fix)" >&2
	exit 1
fi
echo "check-format: ${#files[@]} files clean"
