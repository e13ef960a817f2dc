#!/usr/bin/env bash
# xdpsec benchmarks. Builds what a benchmark needs (Release, in build-bench/
# under the repository root, reused when present) and runs it.
#
#   scripts/bench.sh esp [--json] [--seconds S] [--rounds N] [--cpu N] [--algs a,b] [--sizes n,n]
#   scripts/bench.sh tunnel [--json] [options of scripts/bench-tunnel.sh]
#   scripts/bench.sh ike [--json] [options of scripts/bench-ike.sh]
#
# Figures go to stdout (with --json: one JSON array and nothing else); build
# output goes to stderr. Results are in docs/BENCHMARKS.md.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${XDPSEC_BENCH_BUILD_DIR:-$root/build-bench}

usage() {
    cat <<EOF
usage: scripts/bench.sh <benchmark> [options]

benchmarks:
  esp     ESP engine encrypt/decrypt rate against raw OpenSSL EVP, one core
          options: --json  --seconds S (each timed run, default 0.2)
                   --rounds N (alternating engine/raw runs, best kept, default 5)
                   --cpu N (pin to CPU N, -1: do not pin)  --algs a,b,...  --sizes n,n,...
  tunnel  plaintext vs xdpsec vs strongSwan 5.9 (kernel-libipsec) over veth/netns:
          TCP, UDP and ping; options: scripts/bench-tunnel.sh --help
  ike     time to establish a PSK/X25519 IKEv2 tunnel: strongSwan -> strongSwan,
          xdpsec -> strongSwan, strongSwan -> xdpsec; options: scripts/bench-ike.sh --help

environment:
  XDPSEC_BENCH_BUILD_DIR  build directory (default: build-bench/ in the repository)
EOF
}

die_usage() {
    echo "bench.sh: $*" >&2
    usage >&2
    exit 2
}

# The build tools, installed by scripts/install-deps.sh when missing (root only).
ensure_tools() {
    local missing=()
    for t in cmake c++ pkg-config; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "bench.sh: missing ${missing[*]}; run scripts/install-deps.sh as root" >&2
        exit 1
    fi
    "$root/scripts/install-deps.sh" >&2
}

# build TARGET...: configures build_dir as Release (once) and builds the targets.
build() {
    ensure_tools
    if [ ! -f "$build_dir/CMakeCache.txt" ]; then
        cmake -S "$root" -B "$build_dir" -DCMAKE_BUILD_TYPE=Release >&2
    else
        local type
        type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build_dir/CMakeCache.txt")
        if [ "$type" != "Release" ]; then
            echo "bench.sh: $build_dir is a '$type' build; benchmarks need Release" \
                 "(remove it or set XDPSEC_BENCH_BUILD_DIR)" >&2
            exit 1
        fi
    fi
    cmake --build "$build_dir" -j "$(nproc)" --target "$@" >&2
}

bench_esp() {
    # Options are esp_bench's own; check the ones that take a value here so a
    # mistake fails before the build.
    local args=("$@") i=0
    while [ $i -lt ${#args[@]} ]; do
        case "${args[$i]}" in
            --json) ;;
            --seconds|--rounds|--cpu|--algs|--sizes)
                [ $((i + 1)) -lt ${#args[@]} ] || die_usage "${args[$i]} needs a value"
                i=$((i + 1)) ;;
            -h|--help) usage; exit 0 ;;
            *) die_usage "esp: unknown option ${args[$i]}" ;;
        esac
        i=$((i + 1))
    done
    build esp_bench
    exec "$build_dir/tests/bench/esp_bench" "$@"
}

bench_tunnel() {
    build xdpsecd xdpsecctl
    XDPSECD=${XDPSECD:-$build_dir/userspace/daemon/xdpsecd} exec "$root/scripts/bench-tunnel.sh" "$@"
}

bench_ike() {
    build xdpsecd xdpsecctl
    XDPSECD=${XDPSECD:-$build_dir/userspace/daemon/xdpsecd} \
        XDPSECCTL=${XDPSECCTL:-$build_dir/userspace/cli/xdpsecctl} \
        exec "$root/scripts/bench-ike.sh" "$@"
}

[ $# -ge 1 ] || die_usage "which benchmark?"
cmd=$1
shift
case "$cmd" in
    esp) bench_esp "$@" ;;
    tunnel) bench_tunnel "$@" ;;
    ike) bench_ike "$@" ;;
    -h|--help|help) usage ;;
    *) die_usage "unknown benchmark '$cmd'" ;;
esac
