#!/usr/bin/env bash
# Installs every build and test dependency of xdpsec from Debian's archive.
# Idempotent: apt-get skips what is already present. Needs root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: must run as root (apt-get)" >&2
    exit 1
fi

packages=(
    # build
    build-essential cmake pkg-config clang llvm
    libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev
    libssl-dev libboost-program-options-dev doctest-dev nlohmann-json3-dev
    # tests and benchmarks
    python3 python3-scapy python3-cryptography openssl
    iproute2 iputils-ping tcpdump iperf3 ethtool nftables
    # strongSwan 5.9 as the independent IKEv2/ESP peer (interop tests, the
    # tunnel benchmark): charon; swanctl (with the vici plugin); the openssl and
    # gcm plugins; kernel-libipsec (userspace ESP: this kernel has no ESP module)
    strongswan-charon strongswan-swanctl libstrongswan-standard-plugins libcharon-extra-plugins
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-deps.sh: all dependencies present"
    exit 0
fi

echo "install-deps.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
