# shellcheck shell=bash
# scripts/lib/strongswan.sh — strongSwan 5.9 (charon + swanctl, kernel-libipsec)
# as an IKEv2/ESP peer inside the namespaces of scripts/lib/netns.sh.
# Source netns.sh first, then this file (bash only).
#
#   sswan_configure NS LOCAL REMOTE LOCAL_TS REMOTE_TS PSK [ESP] [IKE]
#       writes /etc/netns/NS/strongswan.conf and /etc/netns/NS/swanctl/swanctl.conf
#       for one PSK connection "bench" with one tunnel-mode CHILD SA "net"
#       (ESP default aes128gcm16, IKE default aes128-sha256-x25519)
#   sswan_start NS            starts charon in NS, waits (bounded) for its VICI
#                             socket and loads the configuration (swanctl --load-all)
#   sswan_initiate NS [TIMEOUT]   swanctl --initiate --child net (bounded)
#   sswan_wait_child NS [TIMEOUT] waits until NS lists CHILD SA "net" as INSTALLED
#   sswan_child_info NS       prints the "net:" lines of swanctl --list-sas
#   sswan_swanctl NS ARGS...  any swanctl command against NS's charon
#   sswan_stop NS             stops NS's charon by PID (bounded) and removes
#                             what libipsec routing left (table 220, its rule)
#   sswan_stop_all            every charon started here
# The /etc/netns/NS directories are removed by netns_teardown (netns_etc
# records them); charon PIDs are also recorded by netns_bg, so netns_teardown
# alone cleans up after a failure.
#
# How it runs (DESIGN.md, "Facts about this platform"): the kernel has no ESP
# module, so charon uses kernel-libipsec (userspace ESP over a TUN device,
# ipsec0, routes in table 220). Each charon needs its own /run (charon.pid,
# its default VICI socket): it starts under
#   ip netns exec NS unshare -m sh -c 'mount -t tmpfs none /run; exec charon'
# and `ip netns exec NS` bind-mounts /etc/netns/NS/* over /etc/*, so that
# charon and swanctl read our strongswan.conf and swanctl/. The VICI socket is
# put in the run's state directory (outside /run), where swanctl, run with
# `ip netns exec NS`, finds it through the same strongswan.conf.
# Plugins are loaded explicitly: kdf and hmac are needed for key derivation
# (prf+), openssl provides AES-GCM, SHA-2 and X25519; kernel-libipsec comes
# before kernel-netlink so that it is the IPsec backend (kernel-netlink then
# only does addresses and routes).
#
# libipsec facts worth knowing when reading results:
# - it always UDP-encapsulates ESP: it asks charon to fake NAT detection, so
#   both peers float to UDP 4500 (swanctl shows TUNNEL-in-UDP);
# - its TUN device has a fixed MTU of 1400 (and reads at most 1400 bytes from
#   it, so the MTU must not be raised), so inner packets over 1400 bytes are
#   fragmented by the kernel before they are encrypted;
# - it negotiates no ESN and supports tunnel mode only.

SSWAN_CHARON=${SSWAN_CHARON:-/usr/lib/ipsec/charon}
SSWAN_CONN=bench
SSWAN_CHILD=net
SSWAN_PLUGINS="random nonce openssl aes gcm sha2 hmac kdf pem pkcs1 x509 pubkey kernel-libipsec kernel-netlink socket-default vici"
declare -gA SSWAN_PID=()

sswan_log() { echo "strongswan: $*" >&2; }

sswan_check() {
    local f
    for f in "$SSWAN_CHARON" /usr/sbin/swanctl /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so; do
        if [ ! -e "$f" ]; then
            sswan_log "$f missing (scripts/install-deps.sh installs strongSwan)"
            return 1
        fi
    done
    command -v unshare >/dev/null || { sswan_log "unshare (util-linux) missing"; return 1; }
}

sswan_vici() { echo "unix://$NETNS_STATE/charon-$1.vici"; }

sswan_configure() {
    local ns=$1 local_addr=$2 remote_addr=$3 local_ts=$4 remote_ts=$5 psk=$6
    local esp=${7:-aes128gcm16} ike=${8:-aes128-sha256-x25519}
    local etc vici
    sswan_check || return 1
    netns_etc "$ns" || return 1
    etc=$NETNS_ETC_DIR
    vici=$(sswan_vici "$ns")
    mkdir -p "$etc/swanctl" || return 1
    cat >"$etc/strongswan.conf" <<EOF
# Written by scripts/lib/strongswan.sh for namespace $ns.
charon {
    load = $SSWAN_PLUGINS
    install_routes = yes
    install_virtual_ip = no
    retransmit_tries = 3
    retransmit_timeout = 1.0
    filelog {
        bench {
            path = $NETNS_STATE/charon-$ns.log
            time_format = %T
            ike_name = yes
            flush_line = yes
            default = 1
        }
    }
    plugins {
        vici {
            socket = $vici
        }
        kernel-libipsec {
            allow_peer_ts = no
        }
    }
}
swanctl {
    load = pem pkcs1 x509 pubkey openssl random nonce
    socket = $vici
}
EOF
    # The secret goes in hex: swanctl reads one that begins with 0x as hex
    # and 0s as base64, which a random PSK may do; xdpsec takes it literally.
    cat >"$etc/swanctl/swanctl.conf" <<EOF
# Written by scripts/lib/strongswan.sh for namespace $ns.
connections {
    $SSWAN_CONN {
        version = 2
        local_addrs = $local_addr
        remote_addrs = $remote_addr
        proposals = $ike
        local {
            auth = psk
            id = $local_addr
        }
        remote {
            auth = psk
            id = $remote_addr
        }
        children {
            $SSWAN_CHILD {
                mode = tunnel
                local_ts = $local_ts
                remote_ts = $remote_ts
                esp_proposals = $esp
                start_action = none
            }
        }
    }
}
secrets {
    ike-$SSWAN_CONN {
        id-local = $local_addr
        id-remote = $remote_addr
        secret = 0x$(printf '%s' "$psk" | od -An -tx1 | tr -d ' \n')
    }
}
EOF
    chmod 600 "$etc/swanctl/swanctl.conf"
}

sswan_swanctl() {
    local ns=$1; shift
    ip netns exec "$ns" swanctl "$@"
}

# sswan_start NS: charon in NS, then swanctl --load-all. Bounded: 10 s for
# the VICI socket.
sswan_start() {
    local ns=$1 sock _
    sock=${NETNS_STATE}/charon-$ns.vici
    if [ -n "${SSWAN_PID[$ns]:-}" ] && kill -0 "${SSWAN_PID[$ns]}" 2>/dev/null; then
        sswan_log "charon already runs in $ns (PID ${SSWAN_PID[$ns]})"
        return 1
    fi
    rm -f "$sock"
    netns_bg "$ns" "$NETNS_STATE/charon-$ns.out" \
        unshare -m sh -c "mount -t tmpfs none /run && exec $SSWAN_CHARON"
    SSWAN_PID[$ns]=$NETNS_LAST_PID
    for _ in $(seq 1 100); do
        [ -S "$sock" ] && break
        if ! kill -0 "${SSWAN_PID[$ns]}" 2>/dev/null; then
            sswan_log "charon in $ns exited at start:"
            tail -n 20 "$NETNS_STATE/charon-$ns.out" "$NETNS_STATE/charon-$ns.log" >&2 2>/dev/null
            return 1
        fi
        sleep 0.1
    done
    if [ ! -S "$sock" ]; then
        sswan_log "charon in $ns: no VICI socket at $sock after 10 s"
        return 1
    fi
    if ! sswan_swanctl "$ns" --load-all --noprompt >"$NETNS_STATE/swanctl-load-$ns.log" 2>&1; then
        sswan_log "swanctl --load-all in $ns failed:"
        cat "$NETNS_STATE/swanctl-load-$ns.log" >&2
        return 1
    fi
    # The plugin choice matters (see the header): check that libipsec's TUN
    # device is there.
    if ! ip -n "$ns" link show ipsec0 >/dev/null 2>&1; then
        sswan_log "charon in $ns has no ipsec0 TUN device: kernel-libipsec not loaded?"
        return 1
    fi
}

# sswan_initiate NS [TIMEOUT]: IKE_SA_INIT + IKE_AUTH with the CHILD SA.
sswan_initiate() {
    local ns=$1 timeout=${2:-15}
    if ! timeout $((timeout + 5)) ip netns exec "$ns" swanctl --initiate --child "$SSWAN_CHILD" \
            --timeout "$timeout" >"$NETNS_STATE/swanctl-initiate-$ns.log" 2>&1; then
        sswan_log "swanctl --initiate in $ns failed:"
        tail -n 30 "$NETNS_STATE/swanctl-initiate-$ns.log" >&2
        return 1
    fi
}

sswan_child_info() {
    sswan_swanctl "$1" --list-sas --ike "$SSWAN_CONN" 2>/dev/null | grep -A3 "^ *$SSWAN_CHILD:"
}

# sswan_wait_child NS [TIMEOUT]: bounded (TIMEOUT s, default 10).
sswan_wait_child() {
    local ns=$1 timeout=${2:-10} _
    for _ in $(seq 1 $((timeout * 5))); do
        if sswan_swanctl "$ns" --list-sas --ike "$SSWAN_CONN" 2>/dev/null |
                grep -Eq "^ *$SSWAN_CHILD: .*INSTALLED"; then
            return 0
        fi
        sleep 0.2
    done
    sswan_log "no INSTALLED CHILD SA '$SSWAN_CHILD' in $ns after ${timeout} s"
    sswan_swanctl "$ns" --list-sas >&2 2>&1
    return 1
}

sswan_stop() {
    local ns=$1 pid=${SSWAN_PID[$1]:-}
    [ -n "$pid" ] || return 0
    netns_stop_pid "$pid" 50
    unset "SSWAN_PID[$ns]"
    # charon removes its routes and rule when it stops cleanly; make sure.
    if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns"; then
        ip -n "$ns" route flush table 220 2>/dev/null
        ip -n "$ns" -6 route flush table 220 2>/dev/null
        local _
        for _ in 1 2 3 4; do
            ip -n "$ns" rule del table 220 2>/dev/null || break
        done
        for _ in 1 2 3 4; do
            ip -n "$ns" -6 rule del table 220 2>/dev/null || break
        done
    fi
    return 0
}

sswan_stop_all() {
    local ns
    for ns in "${!SSWAN_PID[@]}"; do
        sswan_stop "$ns"
    done
}
