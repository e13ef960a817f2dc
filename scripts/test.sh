#!/usr/bin/env bash
# Runs every xdpsec test on a fresh Debian 12 machine, as root: installs the
# dependencies, builds twice (normal, and ASan+UBSan for the unit tests and
# the scapy cross-check) and runs them with ctest.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
jobs=$(nproc)

if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: run as root (dependencies, BPF and network namespaces need it)" >&2
    exit 1
fi

"$root/scripts/install-deps.sh"

echo "== build (RelWithDebInfo) =="
cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$root/build" -j "$jobs"

echo "== tests =="
ctest --test-dir "$root/build" --output-on-failure --timeout 600

echo "== build (ASan + UBSan) =="
cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DXDPSEC_SANITIZE=ON >/dev/null
cmake --build "$root/build-asan" -j "$jobs" --target unit_tests ike_unit_tests esp_tool

echo "== tests under ASan + UBSan =="
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$root/build-asan" --output-on-failure --timeout 600 -L sanitize
