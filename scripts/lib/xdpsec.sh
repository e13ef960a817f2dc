# shellcheck shell=bash
# scripts/lib/xdpsec.sh — xdpsecd on the netns testbed (source lib/netns.sh
# first). Used by the tunnel benchmark and the demo.
#
#   hexkey N                 N random bytes as hex (a test key)
#   xdpsec_conf SIDE ...     the INI of one side of a static-key tunnel
#   xdpsec_start SIDE NS     xdpsecd --foreground in NS with
#                            $NETNS_STATE/xdpsecd-SIDE.ini; waits for "ready"
#
# XDPSECD names the binary; XDPSEC_DAEMON_EXTRA, if set, holds more lines
# for the [daemon] section xdpsec_conf writes.

xdpsec_log() { echo "xdpsec: $*" >&2; }

hexkey() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# xdpsec_side SIDE: sets the caller's local_addr, remote_addr, local_ts and
# remote_ts for side a or b of the layout of netns.sh.
xdpsec_side() {
    if [ "$1" = a ]; then
        local_addr=$NETNS_A_OUTER4; remote_addr=$NETNS_B_OUTER4
        local_ts=$NETNS_A_NET4; remote_ts=$NETNS_B_NET4
    else
        local_addr=$NETNS_B_OUTER4; remote_addr=$NETNS_A_OUTER4
        local_ts=$NETNS_B_NET4; remote_ts=$NETNS_A_NET4
    fi
}

# xdpsec_conf SIDE OUT_SPI IN_SPI OUT_KEY IN_KEY ENCAP: the INI of one side
# (a or b) of a site-to-site AES-GCM tunnel with static keys; ENCAP is none
# or udp.
xdpsec_conf() {
    local side=$1 out_spi=$2 in_spi=$3 out_key=$4 in_key=$5 xdpsec_encap=${6:-none}
    local local_addr remote_addr local_ts remote_ts encap=""
    xdpsec_side "$side"
    [ "$xdpsec_encap" = udp ] && encap=$'encap = udp\nencap_ports = 4500:4500'
    cat <<EOF
; Written by scripts/lib/xdpsec.sh (namespace side $side).
[daemon]
uplink = $NETNS_UPLINK
tunnel_if = xdpsec0
socket = $NETNS_STATE/xdpsecd-$side.sock
bpffs = /sys/fs/bpf/xdpsec/$side-$NETNS_SUFFIX
workers = 1
${XDPSEC_DAEMON_EXTRA:-}
[sa.$side-out]
spi = $out_spi
direction = out
esp = aes128gcm16
enc_key = $out_key
mode = tunnel
local = $local_addr
remote = $remote_addr
local_ts = $local_ts
remote_ts = $remote_ts
$encap

[sa.$side-in]
spi = $in_spi
direction = in
esp = aes128gcm16
enc_key = $in_key
mode = tunnel
local = $local_addr
remote = $remote_addr
local_ts = $local_ts
remote_ts = $remote_ts
replay_window = 1024
$encap
EOF
}

# xdpsec_tunnel_conf SIDE PSK [IKE] [ESP] [START]: the INI of one side (a or
# b) of a site-to-site tunnel negotiated with IKEv2 and a pre-shared key,
# the same connection scripts/lib/strongswan.sh configures for charon
# (identities are the uplink addresses). START is initiate or listen.
xdpsec_tunnel_conf() {
    local side=$1 psk=$2 ike=${3:-aes128-sha256-x25519} esp=${4:-aes128gcm16} start=${5:-initiate}
    local local_addr remote_addr local_ts remote_ts
    xdpsec_side "$side"
    cat <<EOF
; Written by scripts/lib/xdpsec.sh (namespace side $side).
[daemon]
uplink = $NETNS_UPLINK
tunnel_if = xdpsec0
socket = $NETNS_STATE/xdpsecd-$side.sock
bpffs = /sys/fs/bpf/xdpsec/$side-$NETNS_SUFFIX
workers = 1

[tunnel.site]
local = $local_addr
remote = $remote_addr
local_ts = $local_ts
remote_ts = $remote_ts
auth = psk
psk = "$psk"
ike = $ike
esp = $esp
start = $start
EOF
}

xdpsec_pids=()

# xdpsec_start SIDE NS: xdpsecd in NS; waits (bounded: 20 s) for "ready".
xdpsec_start() {
    local side=$1 ns=$2 log=$NETNS_STATE/xdpsecd-$1.log pid
    netns_bg "$ns" "$log" "$XDPSECD" --config "$NETNS_STATE/xdpsecd-$side.ini" --foreground
    pid=$NETNS_LAST_PID
    xdpsec_pids+=("$pid")
    for _ in $(seq 1 200); do
        grep -q "ready: " "$log" 2>/dev/null && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            xdpsec_log "xdpsecd in $ns exited at start:"; tail -n 20 "$log" >&2
            return 1
        fi
        sleep 0.1
    done
    xdpsec_log "xdpsecd in $ns not ready after 20 s:"; tail -n 20 "$log" >&2
    return 1
}

