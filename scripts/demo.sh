#!/usr/bin/env bash
# The xdpsec demo, on a fresh Debian 12 machine, as root:
#  1. installs the dependencies and builds (in build/, as scripts/test.sh);
#  2. the ESP engine's self-check: the RFC known-answer tests;
#  3. a live tunnel between two network namespaces negotiated with IKEv2
#     (PSK, X25519): xdpsecd initiates, strongSwan 5.9 answers on the other
#     side (xdpsecd on both sides where strongSwan is missing); ping and a
#     short iperf3 through it, then `xdpsecctl tunnel list`, `sa list`,
#     `stats`, the peer's view (`swanctl --list-sas`) and the SA table as
#     bpftool shows it; then `xdpsecctl tunnel down`;
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

step "an IKEv2-negotiated tunnel between two namespaces"
# shellcheck source=lib/netns.sh
. "$root/scripts/lib/netns.sh"
# shellcheck source=lib/strongswan.sh
. "$root/scripts/lib/strongswan.sh"
# shellcheck source=lib/xdpsec.sh
. "$root/scripts/lib/xdpsec.sh"
XDPSECD=$build/userspace/daemon/xdpsecd
ctl() { local side=$1; shift; "$build/userspace/cli/xdpsecctl" --socket "$NETNS_STATE/xdpsecd-$side.sock" "$@"; }
peer=strongswan
sswan_check 2>/dev/null || peer=xdpsec
cleanup() { sswan_stop_all; netns_teardown; }
trap cleanup EXIT
netns_setup "demo$$"
psk=$(head -c 24 /dev/urandom | base64)
(umask 077
 xdpsec_tunnel_conf a "$psk" >"$NETNS_STATE/xdpsecd-a.ini"
 xdpsec_tunnel_conf b "$psk" aes128-sha256-x25519 aes128gcm16 listen >"$NETNS_STATE/xdpsecd-b.ini")
if [ "$peer" = strongswan ]; then
    sswan_configure "$NETNS_B" "$NETNS_B_OUTER4" "$NETNS_A_OUTER4" "$NETNS_B_NET4" "$NETNS_A_NET4" "$psk"
    sswan_start "$NETNS_B"
else
    xdpsec_start b "$NETNS_B"
fi
unset psk
xdpsec_start a "$NETNS_A"
echo "$NETNS_A: xdpsecd ($NETNS_A_NET4, uplink $NETNS_A_OUTER4) <== IKEv2 + ESP ==> $NETNS_B: $peer ($NETNS_B_NET4, uplink $NETNS_B_OUTER4)"
for _ in $(seq 1 50); do
    ctl a --json tunnel list | grep -q '"state": *"established"' && break
    sleep 0.1
done
ctl a tunnel list

echo
netns_exec "$NETNS_A" ping -c 3 -i 0.2 -I "$NETNS_A_INNER4" "$NETNS_B_INNER4"
echo
netns_bg "$NETNS_B" "$NETNS_STATE/iperf3.log" iperf3 -s -1 -B "$NETNS_B_INNER4"
sleep 0.5
netns_exec "$NETNS_A" iperf3 -c "$NETNS_B_INNER4" -B "$NETNS_A_INNER4" -t 2 | tail -n 4

step "xdpsecctl sa list ($NETNS_A)"
ctl a sa list
if [ "$peer" = strongswan ]; then
    step "the peer's view: swanctl --list-sas ($NETNS_B)"
    sswan_swanctl "$NETNS_B" --list-sas
fi
step "xdpsecctl stats ($NETNS_A)"
ctl a stats
step "bpftool map lookup: the SA table, slots 0 and 1 ($NETNS_A; no key material in any map)"
# The daemon mounted its bpffs inside the mount namespace `ip netns exec`
# gave it: bpftool looks there.
for slot in 0 1; do
    nsenter -t "${xdpsec_pids[0]}" -m -n \
        bpftool map lookup pinned "/sys/fs/bpf/xdpsec/a-demo$$/xdpsec_sa" key "$slot" 0 0 0
done

step "xdpsecctl tunnel down site: DELETE to the peer, SAs gone on both sides"
ctl a tunnel down site
sleep 0.5
ctl a tunnel list
if [ "$peer" = strongswan ]; then sswan_swanctl "$NETNS_B" --list-sas; fi

cleanup
trap - EXIT

step "ESP engine benchmark (one core; engine vs raw OpenSSL EVP)"
"$build/tests/bench/esp_bench" --seconds 0.1 --rounds 3
