#!/usr/bin/env bash
# kraftd: install what building and testing kraftd needs on Debian 12 (run as root).
# Idempotent: installs only what is missing, and runs apt-get update only then.
# Usage: scripts/setup.sh
set -euo pipefail

packages=(
	build-essential pkg-config meson ninja-build  # build
	clang libclang-rt-14-dev                       # libFuzzer and the sanitizer runtimes
	libcmocka-dev                                  # unit tests
	clang-format                                   # the style check
	python3                                        # test summaries, the history checker
	libdpdk-dev libbpf-dev                         # the DPDK dataplane, rings, XDP helpers
	dpdk-dev                                       # dpdk-telemetry.py
	bpftool                                        # the XDP program's libbpf skeleton
	iproute2                                       # namespaces and veths in the tests
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#packages[@]} packages present"
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "setup: missing packages: ${missing[*]}; run as root, or: apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
