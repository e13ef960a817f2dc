#!/usr/bin/env bash
# The xdpsec demo, on a fresh Debian 12 machine, as root:
#  1. installs the dependencies and builds (in build/, as scripts/test.sh);
#  2. the ESP engine's self-check: the RFC known-answer tests;
#  3. a live static-key tunnel between two network namespaces: ping and a
#     short iperf3 through it, then `xdpsecctl sa list`, `xdpsecctl stats`
#     and the SA table as bpftool shows it;
#  4. the ESP engine's benchmark table (engine against raw OpenSSL).
# Everything it creates (namespaces, daemons, pins) is removed at exit.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$root/build

if [ "$(id -u)" -ne 0 ]; then
    echo "demo.sh: run as root (packages, XDP, network namespaces)" >&2
    exit 1
fi

step() { printf '\n== %s ==\n' "$*"; }

step "dependencies and build"
"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j "$(nproc)" --target xdpsecd xdpsecctl unit_tests esp_bench >/dev/null
echo "built in $build"

step "ESP engine self-check (RFC 3602, 4231/4868, 7634, GCM-for-ESP known answers)"
"$build/tests/unit/unit_tests" -sf='*test_known_answers*' | tail -n 3

step "a static-key AES-GCM tunnel between two namespaces"
# shellcheck source=lib/netns.sh
. "$root/scripts/lib/netns.sh"
# shellcheck source=lib/xdpsec.sh
. "$root/scripts/lib/xdpsec.sh"
XDPSECD=$build/userspace/daemon/xdpsecd
ctl() { local side=$1; shift; "$build/userspace/cli/xdpsecctl" --socket "$NETNS_STATE/xdpsecd-$side.sock" "$@"; }
trap netns_teardown EXIT
netns_setup "demo$$"
key_ab=$(hexkey 20)   # aes128gcm16: 16-byte key + 4-byte salt
key_ba=$(hexkey 20)
(umask 077
 xdpsec_conf a 0x0000a0b1 0x0000b0a1 "$key_ab" "$key_ba" none >"$NETNS_STATE/xdpsecd-a.ini"
 xdpsec_conf b 0x0000b0a1 0x0000a0b1 "$key_ba" "$key_ab" none >"$NETNS_STATE/xdpsecd-b.ini")
unset key_ab key_ba
xdpsec_start a "$NETNS_A"
xdpsec_start b "$NETNS_B"
echo "$NETNS_A ($NETNS_A_NET4, uplink $NETNS_A_OUTER4) <== ESP ==> $NETNS_B ($NETNS_B_NET4, uplink $NETNS_B_OUTER4)"

echo
netns_exec "$NETNS_A" ping -c 3 -i 0.2 -I "$NETNS_A_INNER4" "$NETNS_B_INNER4"
echo
netns_bg "$NETNS_B" "$NETNS_STATE/iperf3.log" iperf3 -s -1 -B "$NETNS_B_INNER4"
sleep 0.5
netns_exec "$NETNS_A" iperf3 -c "$NETNS_B_INNER4" -B "$NETNS_A_INNER4" -t 2 | tail -n 4

step "xdpsecctl sa list ($NETNS_A)"
ctl a sa list
step "xdpsecctl stats ($NETNS_A)"
ctl a stats
step "bpftool map lookup: the SA table, slots 0 and 1 ($NETNS_A; no key material in any map)"
# The daemon mounted its bpffs inside the mount namespace `ip netns exec`
# gave it: bpftool looks there.
for slot in 0 1; do
    nsenter -t "${xdpsec_pids[0]}" -m -n \
        bpftool map lookup pinned "/sys/fs/bpf/xdpsec/a-demo$$/xdpsec_sa" key "$slot" 0 0 0
done

netns_teardown
trap - EXIT

step "ESP engine benchmark (one core; engine vs raw OpenSSL EVP)"
"$build/tests/bench/esp_bench" --seconds 0.1 --rounds 3
