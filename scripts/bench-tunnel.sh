#!/usr/bin/env bash
# scripts/bench.sh tunnel — tunnel throughput and latency, one run on one
# two-namespace layout (scripts/lib/netns.sh), with the same uplink offload
# settings for every scenario:
#
#   plaintext   the inner networks routed over the uplink, no IPsec
#   strongswan  strongSwan 5.9, two charon instances with kernel-libipsec,
#               IKEv2 PSK (aes128-sha256-x25519) negotiating ESP aes128gcm16
#   xdpsec      two xdpsecd instances with static (manually keyed) SAs,
#               ESP aes128gcm16, tunnel mode
#
# For each: iperf3 TCP (one stream), iperf3 UDP (1400-byte datagrams, no rate
# limit, 4 MiB socket buffers: received Mbit/s and loss; with the default
# buffer the receiving socket itself overflows, UdpRcvbufErrors, and the figure
# says little about the path) and ping RTT (average), all between the inner
# addresses 198.51.100.1 (namespace A) and 203.0.113.1 (namespace B); then the
# ratios.
#
#   scripts/bench-tunnel.sh [--json] [--seconds S] [--pings N] [--udp-len N]
#                           [--offload wire|default] [--only LIST]
#                           [--xdpsec-encap none|udp] [--xdpsec-daemon 'KEY = VALUE']
#
#   --json          print exactly one JSON object on stdout (progress and
#                   errors go to stderr)
#   --seconds S     each iperf3 test (default 5)
#   --pings N       pings at 0.05 s intervals for the RTT (default 20)
#   --udp-len N     UDP datagram payload (default 1400)
#   --offload M     uplink offloads for all scenarios: wire = TSO/GSO/GRO off
#                   (default; see scripts/lib/netns.sh), default = kernel's
#   --only LIST     comma-separated scenarios to run (default: all three)
#   --xdpsec-encap  ESP as IP protocol 50 (none, default) or in UDP 4500
#                   (udp, as strongSwan's libipsec always sends it)
#   --xdpsec-daemon 'KEY = VALUE'
#                   one more line for both xdpsecd's [daemon] section, e.g.
#                   'tunnel_napi = softirq' or 'xdp_mode = generic' for an A/B
#                   run (repeatable)
#
# Environment: XDPSECD — the daemon binary (default
# build/userspace/daemon/xdpsecd in the repository); when it is missing the
# xdpsec scenario is "skipped: xdpsecd not built" and its figures are null.
#
# Needs root, iproute2, iperf3, ping, ethtool, python3 and strongSwan
# (scripts/install-deps.sh installs them; it is run when something is missing).
# Everything it creates (namespaces, processes, /etc/netns/NS, the state
# directory) is removed on exit, success or failure. Exit status: 0 when every
# scenario that ran succeeded (a skipped one is no failure), 1 otherwise, 2 on
# a usage error.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=lib/netns.sh
. "$root/scripts/lib/netns.sh"
# shellcheck source=lib/strongswan.sh
. "$root/scripts/lib/strongswan.sh"
# shellcheck source=lib/xdpsec.sh
. "$root/scripts/lib/xdpsec.sh"

json=0
seconds=5
pings=20
udp_len=1400
offload=wire
only=plaintext,strongswan,xdpsec
xdpsec_encap=none
XDPSEC_DAEMON_EXTRA=
XDPSECD=${XDPSECD:-$root/build/userspace/daemon/xdpsecd}

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
die_usage() { echo "bench-tunnel: $*" >&2; echo "run with --help for usage" >&2; exit 2; }
log() { echo "bench-tunnel: $*" >&2; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
while [ $# -gt 0 ]; do
    case "$1" in
        --json) json=1 ;;
        --seconds|--pings|--udp-len|--offload|--only|--xdpsec-encap|--xdpsec-daemon)
            [ $# -ge 2 ] || die_usage "$1 needs a value"
            case "$1" in
                --seconds) is_uint "$2" && [ "$2" -ge 1 ] && [ "$2" -le 120 ] ||
                               die_usage "--seconds: 1..120"; seconds=$2 ;;
                --pings) is_uint "$2" && [ "$2" -ge 1 ] && [ "$2" -le 1000 ] ||
                             die_usage "--pings: 1..1000"; pings=$2 ;;
                --udp-len) is_uint "$2" && [ "$2" -ge 64 ] && [ "$2" -le 1472 ] ||
                               die_usage "--udp-len: 64..1472"; udp_len=$2 ;;
                --offload) [[ $2 == wire || $2 == default ]] ||
                               die_usage "--offload: wire or default"; offload=$2 ;;
                --only) only=$2
                    for s in ${only//,/ }; do
                        [[ $s == plaintext || $s == strongswan || $s == xdpsec ]] ||
                            die_usage "--only: unknown scenario '$s'"
                    done ;;
                --xdpsec-encap) [[ $2 == none || $2 == udp ]] ||
                                    die_usage "--xdpsec-encap: none or udp"; xdpsec_encap=$2 ;;
                --xdpsec-daemon) [[ $2 =~ ^[a-z_]+\ =\ [^[:space:]]+$ ]] ||
                                     die_usage "--xdpsec-daemon: 'KEY = VALUE'"
                                 XDPSEC_DAEMON_EXTRA+="$2"$'\n' ;;
            esac
            shift ;;
        -h|--help) usage; exit 0 ;;
        *) die_usage "unknown option $1" ;;
    esac
    shift
done
wanted() { [[ ",$only," == *",$1,"* ]]; }

if [ "$(id -u)" -ne 0 ]; then
    echo "bench-tunnel: run as root (network namespaces)" >&2
    exit 1
fi

# --- tools ------------------------------------------------------------------
missing=()
for t in ip iperf3 ping ethtool python3 unshare timeout; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if wanted strongswan; then
    [ -x /usr/lib/ipsec/charon ] || missing+=(charon)
    command -v swanctl >/dev/null 2>&1 || missing+=(swanctl)
    [ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] || missing+=(kernel-libipsec)
fi
if [ ${#missing[@]} -gt 0 ]; then
    log "missing ${missing[*]}: running scripts/install-deps.sh"
    "$root/scripts/install-deps.sh" >&2 || { log "install-deps.sh failed"; exit 1; }
fi

# --- results ----------------------------------------------------------------
# One "key value" line per figure; rendered at the end by python3.
declare -A R=()
declare -A STATUS=()
failed=0

cleanup() {
    local rc=$?
    sswan_stop_all
    netns_teardown
    return $rc
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM HUP

# --- measurements -----------------------------------------------------------
A_IN=$NETNS_A_INNER4
B_IN=$NETNS_B_INNER4
iperf_pid=

# parse_iperf FILE tcp|udp: prints "mbps X retransmits Y" / "mbps X loss_pct Y
# lost N packets N"; non-zero when the file holds no result.
parse_iperf() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
path, kind = sys.argv[1], sys.argv[2]
try:
    with open(path) as f:
        d = json.load(f)
except Exception as e:
    print(f"unreadable iperf3 output: {e}", file=sys.stderr); sys.exit(1)
if d.get("error"):
    print(f"iperf3: {d['error']}", file=sys.stderr); sys.exit(1)
end = d.get("end", {})
if kind == "tcp":
    r, s = end.get("sum_received", {}), end.get("sum_sent", {})
    if not r.get("bits_per_second"):
        print("iperf3: no TCP result", file=sys.stderr); sys.exit(1)
    print(f"mbps {r['bits_per_second'] / 1e6:.1f} retransmits {s.get('retransmits', 0)}")
else:
    s = end.get("sum", {})
    packets, lost = s.get("packets"), s.get("lost_packets")
    secs = s.get("seconds") or d.get("start", {}).get("test_start", {}).get("duration")
    blksize = d.get("start", {}).get("test_start", {}).get("blksize")
    if not packets or lost is None or not secs or not blksize:
        print("iperf3: no UDP result", file=sys.stderr); sys.exit(1)
    # What arrived: datagrams sent less those the server counted lost.
    rx = (packets - lost) * blksize * 8 / secs / 1e6
    print(f"mbps {rx:.1f} loss_pct {100.0 * lost / packets:.2f} lost {lost} packets {packets}")
EOF
}

start_iperf_server() {
    netns_bg "$NETNS_B" "$NETNS_STATE/iperf3-server-$1.log" \
        iperf3 -s -B "$B_IN" -p 5201 --idle-timeout $((seconds * 4 + 60))
    iperf_pid=$NETNS_LAST_PID
    local _
    for _ in $(seq 1 50); do
        ip netns exec "$NETNS_B" ss -Hltn "sport = :5201" 2>/dev/null | grep -q . && return 0
        kill -0 "$iperf_pid" 2>/dev/null || break
        sleep 0.1
    done
    log "iperf3 server did not start:"; cat "$NETNS_STATE/iperf3-server-$1.log" >&2
    return 1
}

stop_iperf_server() {
    [ -n "$iperf_pid" ] && netns_stop_pid "$iperf_pid" 20
    iperf_pid=
}

# measure SCENARIO: fills R[SCENARIO_*]; non-zero (after logging) on failure.
measure() {
    local sc=$1 out line
    # Connectivity first (bounded: 5 tries of 1 s); this also settles
    # neighbours and, for IPsec, proves both SAs.
    local ok=0 _
    for _ in 1 2 3 4 5; do
        if ip netns exec "$NETNS_A" ping -c 1 -W 1 -q -I "$A_IN" "$B_IN" >/dev/null 2>&1; then
            ok=1; break
        fi
    done
    if [ $ok = 0 ]; then
        log "$sc: $A_IN cannot reach $B_IN"
        return 1
    fi

    # RTT on the idle path.
    out=$(timeout $((pings / 10 + 15)) ip netns exec "$NETNS_A" \
              ping -c "$pings" -i 0.05 -W 1 -q -I "$A_IN" "$B_IN" 2>&1)
    line=$(grep -E '^(rtt|round-trip)' <<<"$out")
    if [ -z "$line" ]; then
        log "$sc: ping gave no RTT: $out"
        return 1
    fi
    # rtt min/avg/max/mdev = 0.043/0.129/0.215/0.086 ms
    R[${sc}_rtt_ms]=$(awk -F'= ' '{split($2, v, "/"); printf "%.3f", v[2]}' <<<"$line")
    R[${sc}_rtt_max_ms]=$(awk -F'= ' '{split($2, v, "/"); printf "%.3f", v[3]}' <<<"$line")
    R[${sc}_ping_loss_pct]=$(grep -oE '[0-9.]+% packet loss' <<<"$out" | grep -oE '^[0-9.]+')

    start_iperf_server "$sc" || return 1
    local f=$NETNS_STATE/iperf3-$sc-tcp.json
    log "$sc: TCP, $seconds s"
    timeout $((seconds + 30)) ip netns exec "$NETNS_A" iperf3 -c "$B_IN" -B "$A_IN" -p 5201 \
        -t "$seconds" -J --connect-timeout 3000 >"$f" 2>"$f.err"
    if ! out=$(parse_iperf "$f" tcp); then
        log "$sc: TCP test failed"; cat "$f.err" >&2
        stop_iperf_server; return 1
    fi
    read -r _ "R[${sc}_tcp_mbps]" _ "R[${sc}_tcp_retransmits]" <<<"$out"

    f=$NETNS_STATE/iperf3-$sc-udp.json
    log "$sc: UDP ${udp_len}-byte datagrams, $seconds s"
    timeout $((seconds + 30)) ip netns exec "$NETNS_A" iperf3 -c "$B_IN" -B "$A_IN" -p 5201 \
        -u -b 0 -l "$udp_len" -w 4M -t "$seconds" -J --connect-timeout 3000 >"$f" 2>"$f.err"
    if ! out=$(parse_iperf "$f" udp); then
        log "$sc: UDP test failed"; cat "$f.err" >&2
        stop_iperf_server; return 1
    fi
    read -r _ "R[${sc}_udp_mbps]" _ "R[${sc}_udp_loss_pct]" _ "R[${sc}_udp_lost]" _ "R[${sc}_udp_sent]" <<<"$out"
    stop_iperf_server
    log "$sc: TCP ${R[${sc}_tcp_mbps]} Mbit/s, UDP ${R[${sc}_udp_mbps]} Mbit/s" \
        "(loss ${R[${sc}_udp_loss_pct]} %), RTT ${R[${sc}_rtt_ms]} ms"
}

# --- scenarios --------------------------------------------------------------
run_plaintext() {
    netns_plain_routes add || { log "plaintext: cannot add routes"; return 1; }
    measure plaintext
    local rc=$?
    netns_plain_routes del 2>/dev/null
    return $rc
}

run_strongswan() {
    local psk rc=0
    psk=$(head -c 24 /dev/urandom | base64)
    sswan_configure "$NETNS_A" "$NETNS_A_OUTER4" "$NETNS_B_OUTER4" "$NETNS_A_NET4" "$NETNS_B_NET4" "$psk" &&
        sswan_configure "$NETNS_B" "$NETNS_B_OUTER4" "$NETNS_A_OUTER4" "$NETNS_B_NET4" "$NETNS_A_NET4" "$psk" &&
        sswan_start "$NETNS_B" && sswan_start "$NETNS_A" &&
        sswan_initiate "$NETNS_A" 15 &&
        sswan_wait_child "$NETNS_A" 10 && sswan_wait_child "$NETNS_B" 10 || rc=1
    if [ $rc = 0 ]; then
        local info
        info=$(sswan_child_info "$NETNS_A")
        # "net: #1, reqid 1, INSTALLED, TUNNEL-in-UDP, ESP:AES_GCM_16-128"
        R[strongswan_child]=$(head -1 <<<"$info" | sed -E 's/^ *net: #[0-9]+, reqid [0-9]+, //')
        log "strongswan: CHILD SA ${R[strongswan_child]}"
        measure strongswan || rc=1
        # SA counters as charon saw them, for the record.
        sswan_child_info "$NETNS_A" >"$NETNS_STATE/strongswan-sa-a.txt" 2>&1
    fi
    if [ $rc != 0 ]; then
        log "strongswan: charon logs:"
        tail -n 15 "$NETNS_STATE"/charon-*.log >&2 2>/dev/null
    fi
    sswan_stop "$NETNS_A"
    sswan_stop "$NETNS_B"
    return $rc
}


# xdpsec_record_stats SIDE: keeps `xdpsecctl stats --json` of SIDE's daemon in
# $NETNS_STATE and logs its workers' frame counts (what crossed the tunnel in
# each direction during the whole scenario, ping, TCP and UDP together).
xdpsec_record_stats() {
    local side=$1 ctl f
    ctl=$(dirname "$XDPSECD")/../cli/xdpsecctl
    f=$NETNS_STATE/xdpsec-stats-$side.json
    [ -x "$ctl" ] || return 0
    "$ctl" --socket "$NETNS_STATE/xdpsecd-$side.sock" --json stats >"$f" 2>&1 || return 0
    python3 - "$f" "$side" <<'EOF' >&2 || true
import json, sys
d = json.load(open(sys.argv[1]))
tot = {}
for w in d.get("workers") or []:
    for k, v in w.items():
        if isinstance(v, int):
            tot[k] = tot.get(k, 0) + v
keys = ("rx_tunnel", "encrypted", "rx_uplink", "decrypted", "tx_ring_full", "esp_dropped",
        "xsk_tunnel_rx_ring_full", "xsk_uplink_rx_ring_full")
print(f"xdpsec {sys.argv[2]}: workers " + ", ".join(f"{k} {tot.get(k, '?')}" for k in keys))
EOF
}

run_xdpsec() {
    local spi_ab=0x0000a0b1 spi_ba=0x0000b0a1 key_ab key_ba rc=0 pid
    key_ab=$(hexkey 20)   # aes128gcm16: 16-byte key + 4-byte salt
    key_ba=$(hexkey 20)
    (umask 077
     xdpsec_conf a "$spi_ab" "$spi_ba" "$key_ab" "$key_ba" "$xdpsec_encap" >"$NETNS_STATE/xdpsecd-a.ini"
     xdpsec_conf b "$spi_ba" "$spi_ab" "$key_ba" "$key_ab" "$xdpsec_encap" >"$NETNS_STATE/xdpsecd-b.ini")
    unset key_ab key_ba
    if xdpsec_start b "$NETNS_B" && xdpsec_start a "$NETNS_A"; then
        measure xdpsec || rc=1
        xdpsec_record_stats a
        xdpsec_record_stats b
    else
        rc=1
    fi
    for pid in "${xdpsec_pids[@]}"; do
        netns_stop_pid "$pid" 50
    done
    xdpsec_pids=()
    if [ $rc != 0 ]; then
        log "xdpsec: daemon logs:"
        tail -n 15 "$NETNS_STATE"/xdpsecd-*.log >&2 2>/dev/null
    fi
    return $rc
}

# --- run --------------------------------------------------------------------
started=$(date +%s)
log "layout: namespaces xs-a-$$ / xs-b-$$, uplink offloads '$offload'"
if ! netns_setup "$$" || ! netns_offloads "$offload"; then
    log "cannot build the namespace layout"
    exit 1
fi
R[uplink_offloads]=$(netns_offloads_show "$NETNS_A")

for sc in plaintext strongswan xdpsec; do
    if ! wanted "$sc"; then
        STATUS[$sc]="not run"
        continue
    fi
    if [ "$sc" = xdpsec ] && [ ! -x "$XDPSECD" ]; then
        STATUS[$sc]="skipped: xdpsecd not built"
        log "xdpsec: skipped: xdpsecd not built ($XDPSECD)"
        continue
    fi
    log "== $sc =="
    if "run_$sc"; then
        STATUS[$sc]=ok
    else
        STATUS[$sc]=failed
        failed=1
    fi
done
R[wall_seconds]=$(($(date +%s) - started))

# --- report -----------------------------------------------------------------
{
    for k in "${!R[@]}"; do printf '%s\t%s\n' "$k" "${R[$k]}"; done
    for k in "${!STATUS[@]}"; do printf '%s_status\t%s\n' "$k" "${STATUS[$k]}"; done
} >"$NETNS_STATE/results.tsv"

python3 - "$NETNS_STATE/results.tsv" "$json" "$seconds" "$udp_len" "$pings" "$offload" \
    "$xdpsec_encap" "$XDPSEC_DAEMON_EXTRA" <<'EOF'
import json, sys
path, as_json, seconds, udp_len, pings, offload, encap, daemon_extra = sys.argv[1:]
raw = {}
with open(path) as f:
    for line in f:
        k, _, v = line.rstrip("\n").partition("\t")
        raw[k] = v

def num(k):
    v = raw.get(k)
    if v in (None, ""):
        return None
    try:
        x = float(v)
    except ValueError:
        return None
    integral = "retransmits" in k or k.endswith(("_lost", "_sent")) or k == "wall_seconds"
    return int(x) if integral and x.is_integer() else x

scen = ("plaintext", "strongswan", "xdpsec")
out = {
    "benchmark": "tunnel",
    "seconds": int(seconds), "udp_len": int(udp_len), "pings": int(pings),
    "uplink_offload": offload, "uplink_offloads": raw.get("uplink_offloads"),
    "xdpsec_encap": encap,
    "xdpsec_daemon": [l for l in daemon_extra.split("\n") if l],
}
for s in scen:
    out[f"{s}_status"] = raw.get(f"{s}_status", "not run")
    for m in ("tcp_mbps", "tcp_retransmits", "udp_mbps", "udp_loss_pct", "udp_lost", "udp_sent",
              "rtt_ms", "rtt_max_ms", "ping_loss_pct"):
        out[f"{s}_{m}"] = num(f"{s}_{m}") if out[f"{s}_status"] == "ok" else None
out["strongswan_child_sa"] = raw.get("strongswan_child")

def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None
def diff(a, b):
    return round(a - b, 3) if a is not None and b is not None else None

g = out.get
out["xdpsec_over_strongswan_tcp"] = ratio(g("xdpsec_tcp_mbps"), g("strongswan_tcp_mbps"))
out["xdpsec_over_plaintext_tcp"] = ratio(g("xdpsec_tcp_mbps"), g("plaintext_tcp_mbps"))
out["strongswan_over_plaintext_tcp"] = ratio(g("strongswan_tcp_mbps"), g("plaintext_tcp_mbps"))
out["xdpsec_over_strongswan_udp"] = ratio(g("xdpsec_udp_mbps"), g("strongswan_udp_mbps"))
out["xdpsec_over_plaintext_udp"] = ratio(g("xdpsec_udp_mbps"), g("plaintext_udp_mbps"))
out["strongswan_over_plaintext_udp"] = ratio(g("strongswan_udp_mbps"), g("plaintext_udp_mbps"))
out["xdpsec_added_rtt_ms"] = diff(g("xdpsec_rtt_ms"), g("plaintext_rtt_ms"))
out["strongswan_added_rtt_ms"] = diff(g("strongswan_rtt_ms"), g("plaintext_rtt_ms"))
out["wall_seconds"] = num("wall_seconds")

if as_json == "1":
    print(json.dumps(out, indent=2))
    sys.exit(0)

def f(v, fmt):
    return format(v, fmt) if v is not None else "-"
print(f"tunnel benchmark: {seconds} s a test, UDP {udp_len}-byte datagrams (no rate limit), "
      f"{pings} pings at 0.05 s")
print(f"uplink offloads '{offload}': {raw.get('uplink_offloads', '?')}")
if out["xdpsec_daemon"]:
    print(f"xdpsecd [daemon] extra: {'; '.join(out['xdpsec_daemon'])}")
if out["strongswan_child_sa"]:
    print(f"strongSwan CHILD SA: {out['strongswan_child_sa']}")
print()
print(f"{'scenario':<12}{'TCP Mbit/s':>12}{'retrans':>9}{'UDP Mbit/s':>12}{'UDP loss':>10}"
      f"{'RTT ms':>9}{'max ms':>9}")
for s in scen:
    st = out[f"{s}_status"]
    if st != "ok":
        print(f"{s:<12}  {st}")
        continue
    print(f"{s:<12}{f(g(s + '_tcp_mbps'), '.1f'):>12}{f(g(s + '_tcp_retransmits'), 'd'):>9}"
          f"{f(g(s + '_udp_mbps'), '.1f'):>12}{f(g(s + '_udp_loss_pct'), '.2f') + ' %':>10}"
          f"{f(g(s + '_rtt_ms'), '.3f'):>9}{f(g(s + '_rtt_max_ms'), '.3f'):>9}")
print()
print(f"xdpsec / strongSwan TCP:    {f(out['xdpsec_over_strongswan_tcp'], '.2f')}"
      f"   (UDP {f(out['xdpsec_over_strongswan_udp'], '.2f')})")
print(f"xdpsec / plaintext TCP:     {f(out['xdpsec_over_plaintext_tcp'], '.2f')}"
      f"   (UDP {f(out['xdpsec_over_plaintext_udp'], '.2f')})")
print(f"strongSwan / plaintext TCP: {f(out['strongswan_over_plaintext_tcp'], '.2f')}"
      f"   (UDP {f(out['strongswan_over_plaintext_udp'], '.2f')})")
print(f"added RTT over plaintext:   xdpsec {f(out['xdpsec_added_rtt_ms'], '+.3f')} ms, "
      f"strongSwan {f(out['strongswan_added_rtt_ms'], '+.3f')} ms")
EOF
exit $failed
