# shellcheck shell=bash disable=SC2034  # globals are for the scripts that source this
# scripts/lib/netns.sh — the standard two-host network-namespace testbed.
# Source it (bash only), then:
#
#   netns_setup [SUFFIX]     create the layout below (SUFFIX defaults to $$)
#   netns_offloads MODE      uplink offloads, MODE = wire | default (see below)
#   netns_exec NS CMD...     run CMD in namespace NS (foreground)
#   netns_bg NS LOG CMD...   run CMD in NS in the background, stdout+stderr to
#                            LOG; its PID is recorded (NETNS_LAST_PID) and
#                            stopped by netns_teardown
#   netns_stop_pid PID       stop one recorded process: TERM, bounded wait, KILL
#   netns_plain_routes add|del   route each side's inner net via the uplink
#   netns_etc NS             create /etc/netns/NS (recorded; removed on teardown)
#                            and set NETNS_ETC_DIR to its path
#   netns_teardown           stop every recorded process and any process left
#                            in our namespaces, delete the namespaces, the
#                            /etc/netns dirs and the state dir. Idempotent and
#                            safe to call from an EXIT trap at any stage.
#
# The layout (documentation prefixes only):
#
#   NETNS_A = xs-a-SUFFIX                       NETNS_B = xs-b-SUFFIX
#   in0 (veth)  198.51.100.1/24                 in0 (veth)  203.0.113.1/24
#               2001:db8:a::1/64                            2001:db8:b::1/64
#   up0 (veth)  192.0.2.1/24      <-------->    up0 (veth)  192.0.2.2/24
#               2001:db8:1::1/64                            2001:db8:1::2/64
#
# in0's peer in0p (same namespace, no address) stands for the LAN behind each
# host. Both hosts are the endpoints of the inner traffic themselves (the inner
# addresses are local), so no forwarding is involved. Nothing is routed between
# the inner networks by default: a scenario adds that (netns_plain_routes, an
# IPsec tunnel). IPv6 addresses are added with nodad, so they are usable at
# once.
#
# Offloads (netns_offloads): "wire" — the default of the benchmarks — switches
# TSO, GSO and GRO off on both uplink veths, so every frame on the uplink is at
# most one MTU long, as on a real wire, whatever the scenario. This matters:
# the kernel switches GSO off by itself on a veth whose peer has an XDP program
# (veth_fix_features), and an IPsec tunnel device carries MTU-sized packets
# only, so leaving segmentation offload on would let only the plaintext
# baseline move 64 KiB super-packets. Checksum offload stays at the veth
# default (on): a real NIC computes checksums for free too. "default" leaves
# the kernel's veth defaults untouched (for comparison runs).
#
# Globals set: NETNS_A NETNS_B NETNS_SUFFIX NETNS_STATE (a private temporary
# directory for logs, configs and sockets) NETNS_UPLINK (up0) NETNS_INNER (in0)
# and the address variables below. Needs root, iproute2 and (for offloads)
# ethtool.

NETNS_UPLINK=up0
NETNS_INNER=in0
NETNS_A_OUTER4=192.0.2.1
NETNS_B_OUTER4=192.0.2.2
NETNS_A_OUTER6=2001:db8:1::1
NETNS_B_OUTER6=2001:db8:1::2
NETNS_A_INNER4=198.51.100.1
NETNS_B_INNER4=203.0.113.1
NETNS_A_NET4=198.51.100.0/24
NETNS_B_NET4=203.0.113.0/24
NETNS_A_INNER6=2001:db8:a::1
NETNS_B_INNER6=2001:db8:b::1
NETNS_A_NET6=2001:db8:a::/64
NETNS_B_NET6=2001:db8:b::/64

NETNS_A=
NETNS_B=
NETNS_SUFFIX=
NETNS_STATE=
NETNS_LAST_PID=
NETNS_PIDS=()          # background processes started by netns_bg
NETNS_CREATED=()       # namespaces this run created
NETNS_ETC_DIRS=()      # /etc/netns/NS directories this run created
NETNS_ETC_ROOT_CREATED=0
NETNS_ETC_DIR=

netns_log() { echo "netns: $*" >&2; }

# netns_setup [SUFFIX]: builds the layout; returns non-zero (after logging) on
# failure, leaving whatever it made for netns_teardown.
netns_setup() {
    local suffix=${1:-$$}
    NETNS_SUFFIX=$suffix
    NETNS_A=xs-a-$suffix
    NETNS_B=xs-b-$suffix
    local ns
    for ns in "$NETNS_A" "$NETNS_B"; do
        if ip netns list | awk '{print $1}' | grep -qx -- "$ns"; then
            netns_log "namespace $ns already exists (another run with suffix $suffix?)"
            return 1
        fi
    done
    if [ -z "$NETNS_STATE" ]; then
        NETNS_STATE=$(mktemp -d "/tmp/xs-$suffix.XXXXXX") || return 1
    fi
    for ns in "$NETNS_A" "$NETNS_B"; do
        ip netns add "$ns" || { netns_log "cannot create namespace $ns"; return 1; }
        NETNS_CREATED+=("$ns")
        ip -n "$ns" link set lo up || return 1
        # No duplicate address detection in a two-host lab: addresses
        # (link-local ones included) are usable at once.
        ip netns exec "$ns" sh -c 'for f in /proc/sys/net/ipv6/conf/all/accept_dad \
            /proc/sys/net/ipv6/conf/default/accept_dad; do [ -w "$f" ] && echo 0 >"$f"; done; true'
    done

    # The uplink veth pair, made directly inside the two namespaces.
    ip link add "$NETNS_UPLINK" netns "$NETNS_A" type veth \
        peer name "$NETNS_UPLINK" netns "$NETNS_B" || { netns_log "cannot create veth pair"; return 1; }

    local side outer4 outer6 inner4 inner6
    for side in A B; do
        if [ "$side" = A ]; then
            ns=$NETNS_A; outer4=$NETNS_A_OUTER4; outer6=$NETNS_A_OUTER6
            inner4=$NETNS_A_INNER4; inner6=$NETNS_A_INNER6
        else
            ns=$NETNS_B; outer4=$NETNS_B_OUTER4; outer6=$NETNS_B_OUTER6
            inner4=$NETNS_B_INNER4; inner6=$NETNS_B_INNER6
        fi
        ip -n "$ns" addr add "$outer4/24" dev "$NETNS_UPLINK" || return 1
        ip -n "$ns" -6 addr add "$outer6/64" dev "$NETNS_UPLINK" nodad || return 1
        ip -n "$ns" link set "$NETNS_UPLINK" up || return 1
        # The inner network's interface: the host end of a veth pair whose
        # other end (in0p, no address) stands for the LAN. (No dummy: this
        # kernel may be built without it.)
        ip -n "$ns" link add "$NETNS_INNER" type veth peer name "${NETNS_INNER}p" || return 1
        ip -n "$ns" link set "${NETNS_INNER}p" up || return 1
        ip -n "$ns" addr add "$inner4/24" dev "$NETNS_INNER" || return 1
        ip -n "$ns" -6 addr add "$inner6/64" dev "$NETNS_INNER" nodad || return 1
        ip -n "$ns" link set "$NETNS_INNER" up || return 1
    done

    # Wait (bounded: 5 s a family) until the uplink carries traffic both
    # ways; this also resolves the neighbours (the first IPv6 neighbour
    # solicitation on a fresh veth can take a second to be answered).
    local i dst
    for dst in "$NETNS_B_OUTER4" "$NETNS_B_OUTER6"; do
        for i in $(seq 1 5); do
            ip netns exec "$NETNS_A" ping -c 1 -W 1 -q "$dst" >/dev/null 2>&1 && continue 2
        done
        netns_log "uplink: $dst does not answer from $NETNS_A"
        return 1
    done
    return 0
}

# netns_offloads wire|default: the same uplink offload settings for every
# scenario (see the header).
netns_offloads() {
    local mode=${1:-wire} ns
    case "$mode" in
        default) return 0 ;;
        wire)
            for ns in "$NETNS_A" "$NETNS_B"; do
                ip netns exec "$ns" ethtool -K "$NETNS_UPLINK" tso off gso off gro off >/dev/null 2>&1 || {
                    netns_log "ethtool -K $NETNS_UPLINK in $ns failed"; return 1; }
            done ;;
        *) netns_log "unknown offload mode '$mode' (wire|default)"; return 1 ;;
    esac
}

# netns_offloads_show NS: one line "tso=on gso=off ..." for the uplink in NS.
netns_offloads_show() {
    ip netns exec "$1" ethtool -k "$NETNS_UPLINK" 2>/dev/null | awk -F': ' '
        /^tcp-segmentation-offload:/ {o = o " tso=" $2}
        /^generic-segmentation-offload:/ {o = o " gso=" $2}
        /^generic-receive-offload:/ {o = o " gro=" $2}
        /^tx-checksumming:/ {o = o " tx-csum=" $2}
        /^rx-checksumming:/ {o = o " rx-csum=" $2}
        END {sub(/^ /, "", o); print o}'
}

netns_exec() {
    local ns=$1; shift
    ip netns exec "$ns" "$@"
}

# netns_bg NS LOG CMD...: `ip netns exec` execs CMD in place, so $! is CMD's
# own PID.
netns_bg() {
    local ns=$1 log=$2; shift 2
    ip netns exec "$ns" "$@" </dev/null >"$log" 2>&1 &
    NETNS_LAST_PID=$!
    NETNS_PIDS+=("$NETNS_LAST_PID")
    [ -n "$NETNS_STATE" ] && [ -d "$NETNS_STATE" ] && echo "$NETNS_LAST_PID" >>"$NETNS_STATE/pids"
    return 0
}

# netns_stop_pid PID [GRACE_TENTHS]: TERM, wait up to GRACE (default 3 s),
# then KILL. Only for PIDs this run started.
netns_stop_pid() {
    local pid=$1 grace=${2:-30} i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 "$grace"); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        netns_log "PID $pid ignored SIGTERM; killing it"
        kill -KILL "$pid" 2>/dev/null
        sleep 0.1
    fi
    wait "$pid" 2>/dev/null
    return 0
}

# netns_plain_routes add|del: plaintext routing of the inner networks over the
# uplink, with the inner address as source.
netns_plain_routes() {
    local op=$1
    ip -n "$NETNS_A" route "$op" "$NETNS_B_NET4" via "$NETNS_B_OUTER4" src "$NETNS_A_INNER4" || return 1
    ip -n "$NETNS_B" route "$op" "$NETNS_A_NET4" via "$NETNS_A_OUTER4" src "$NETNS_B_INNER4" || return 1
    ip -n "$NETNS_A" -6 route "$op" "$NETNS_B_NET6" via "$NETNS_B_OUTER6" src "$NETNS_A_INNER6" || return 1
    ip -n "$NETNS_B" -6 route "$op" "$NETNS_A_NET6" via "$NETNS_A_OUTER6" src "$NETNS_B_INNER6" || return 1
}

# netns_etc NS: makes /etc/netns/NS, whose entries `ip netns exec NS`
# bind-mounts over /etc/<entry>, and sets NETNS_ETC_DIR to it. Call it
# directly, not in $(...): it records what it creates for netns_teardown
# (which removes /etc/netns/NS of every namespace this run created anyway).
netns_etc() {
    local ns=$1 dir=/etc/netns/$1
    NETNS_ETC_DIR=
    if [ ! -d /etc/netns ]; then
        mkdir /etc/netns || return 1
        NETNS_ETC_ROOT_CREATED=1
    fi
    if [ ! -d "$dir" ]; then
        mkdir "$dir" || return 1
        NETNS_ETC_DIRS+=("$dir")
    fi
    NETNS_ETC_DIR=$dir
}

netns_teardown() {
    local pid ns dir i
    # Recorded processes first, newest first.
    for ((i = ${#NETNS_PIDS[@]} - 1; i >= 0; i--)); do
        netns_stop_pid "${NETNS_PIDS[$i]}" 20
    done
    NETNS_PIDS=()
    # Anything still inside our namespaces (children of what we started).
    for ns in "${NETNS_CREATED[@]}"; do
        ip netns list 2>/dev/null | awk '{print $1}' | grep -qx -- "$ns" || continue
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            netns_log "stopping leftover PID $pid in $ns"
            kill -TERM "$pid" 2>/dev/null
        done
        for i in $(seq 1 20); do
            [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
            sleep 0.1
        done
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -KILL "$pid" 2>/dev/null
        done
        ip netns del "$ns" 2>/dev/null || netns_log "cannot delete namespace $ns"
        # /etc/netns/NS of a namespace this run created is this run's.
        [ -d "/etc/netns/$ns" ] && rm -rf -- "/etc/netns/$ns"
    done
    NETNS_CREATED=()
    for dir in "${NETNS_ETC_DIRS[@]}"; do
        case "$dir" in /etc/netns/?*) rm -rf -- "$dir" ;; esac
    done
    NETNS_ETC_DIRS=()
    if [ "$NETNS_ETC_ROOT_CREATED" = 1 ]; then
        rmdir /etc/netns 2>/dev/null
        NETNS_ETC_ROOT_CREATED=0
    fi
    if [ -n "$NETNS_STATE" ] && [ -d "$NETNS_STATE" ] && [ -z "${NETNS_KEEP_STATE:-}" ]; then
        case "$NETNS_STATE" in /tmp/xs-*) rm -rf -- "$NETNS_STATE" ;; esac
    fi
    return 0
}
