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
	iproute2 nftables                              # namespaces, veths, partitions
	gnuplot-nox                                    # the demo's latency plot
	libsodium-dev                                  # the frames' MAC (peer authentication)
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
# Hugepages for a DPDK node started with --in-memory (the tests run one node so; every
# other DPDK process here runs without: --no-huge). 256 x 2 MB, mounted at /dev/hugepages.
hugepages() {
	local want=256 nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
	[ "$(id -u)" -eq 0 ] && [ -w "$nr" ] || return 0
	if [ "$(cat "$nr")" -lt $want ]; then
		echo $want >"$nr" 2>/dev/null || true
		echo "setup: reserved $(cat "$nr") hugepages of 2 MB"
	fi
	if ! mountpoint -q /dev/hugepages; then
		mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages &&
			echo "setup: mounted hugetlbfs at /dev/hugepages"
	fi
}

if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all ${#packages[@]} packages present"
	hugepages
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
hugepages
