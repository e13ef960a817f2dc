#!/usr/bin/env bash
# scripts/bench.sh ike — time to establish an IKEv2 tunnel (PSK,
# aes128-sha256-x25519, ESP aes128gcm16, tunnel mode), measured the same way
# for each pair of peers, each pair in a fresh two-namespace lab
# (tests/interop/ikelab.py):
#
#   strongswan   strongSwan initiator -> strongSwan responder (charon 5.9,
#                kernel-libipsec, in both namespaces)
#   xdpsec-init  xdpsecd initiator    -> strongSwan responder
#   xdpsec-resp  strongSwan initiator -> xdpsecd responder
#
# One run: the clock starts, the initiator is told to initiate (strongSwan:
# the VICI "initiate" request that `swanctl --initiate` sends; xdpsec: the
# "tunnel up" request that `xdpsecctl tunnel up` sends, on its control
# socket), and both peers are polled (VICI list-sas / "sa list", every
# millisecond) until each shows the CHILD SA installed (strongSwan: state
# INSTALLED; xdpsec: an inbound and an outbound SA of the tunnel). The
# requests go straight to the sockets so that neither CLI's start-up time
# (swanctl loads plugins) is in the figures. Then the initiator deletes the
# IKE SA (VICI terminate / "tunnel down") and the next run starts once
# neither peer has an SA left. A warm-up run comes first and is not counted.
# Figures: median and p90 (nearest rank), min and max, in ms, on the
# initiator and on the responder, and the ratios xdpsec / strongSwan of the
# medians. Resolution: the 1 ms poll interval plus one query (well under 1 ms).
#
# The xdpsec pairs print "unavailable: REASON" while xdpsecd cannot do it
# (no IKE engine yet): detected by whether its "tunnel up" succeeds (for
# xdpsec-resp, a probe "tunnel up" + "tunnel down" before the timed runs).
#
#   scripts/bench-ike.sh [--json] [--runs N] [--warmup N] [--only LIST]
#                        [--timeout S]
#
#   --json       print exactly one JSON object on stdout (progress on stderr)
#   --runs N     timed runs per pair (default 10)
#   --warmup N   runs before those, not counted (default 1)
#   --only LIST  comma-separated pairs (default strongswan,xdpsec-init,xdpsec-resp)
#   --timeout S  bound for one establishment or teardown (default 10)
#
# Environment: XDPSECD, XDPSECCTL — the binaries (default build/userspace/
# daemon/xdpsecd and build/userspace/cli/xdpsecctl in the repository); when
# missing, the xdpsec pairs are "unavailable: xdpsecd not built".
#
# Needs root, iproute2, ping, openssl and strongSwan (charon, swanctl,
# kernel-libipsec) and Debian's /usr/bin/python3 (scripts/install-deps.sh
# installs them; it is run when something is missing). Everything created
# (namespaces, processes, /etc/netns/NS, the bpffs mount, the temporary
# directory) is removed on exit, on success, failure, SIGINT or SIGTERM.
# Exit status: 0 when every pair that ran succeeded (an unavailable one is no
# failure), 1 otherwise, 2 on a usage error.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

json=0
runs=10
warmup=1
only=strongswan,xdpsec-init,xdpsec-resp
timeout=10

usage() { sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; }
die_usage() { echo "bench-ike: $*" >&2; echo "run with --help for usage" >&2; exit 2; }
log() { echo "bench-ike: $*" >&2; }

is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
while [ $# -gt 0 ]; do
    case "$1" in
        --json) json=1 ;;
        --runs|--warmup|--only|--timeout)
            [ $# -ge 2 ] || die_usage "$1 needs a value"
            case "$1" in
                --runs) is_uint "$2" && [ "$2" -ge 1 ] && [ "$2" -le 1000 ] ||
                            die_usage "--runs: 1..1000"; runs=$2 ;;
                --warmup) is_uint "$2" && [ "$2" -le 100 ] ||
                              die_usage "--warmup: 0..100"; warmup=$2 ;;
                --timeout) is_uint "$2" && [ "$2" -ge 1 ] && [ "$2" -le 120 ] ||
                               die_usage "--timeout: 1..120"; timeout=$2 ;;
                --only) only=$2
                    for s in ${only//,/ }; do
                        [[ $s == strongswan || $s == xdpsec-init || $s == xdpsec-resp ]] ||
                            die_usage "--only: unknown pair '$s'"
                    done ;;
            esac
            shift ;;
        -h|--help) usage; exit 0 ;;
        *) die_usage "unknown option $1" ;;
    esac
    shift
done

if [ "$(id -u)" -ne 0 ]; then
    echo "bench-ike: run as root (network namespaces)" >&2
    exit 1
fi

missing=()
for t in ip ping openssl unshare mount; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[ -x /usr/bin/python3 ] || missing+=(python3)
[ -x /usr/lib/ipsec/charon ] || missing+=(charon)
command -v swanctl >/dev/null 2>&1 || missing+=(swanctl)
[ -e /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so ] || missing+=(kernel-libipsec)
if [ ${#missing[@]} -gt 0 ]; then
    log "missing ${missing[*]}: running scripts/install-deps.sh"
    "$root/scripts/install-deps.sh" >&2 || { log "install-deps.sh failed"; exit 1; }
fi

export XDPSECD=${XDPSECD:-$root/build/userspace/daemon/xdpsecd}
export XDPSECCTL=${XDPSECCTL:-$root/build/userspace/cli/xdpsecctl}

exec /usr/bin/python3 - "$root" "$json" "$runs" "$warmup" "$only" "$timeout" <<'EOF'
import json
import os
import sys
import threading
import time

root, as_json, runs, warmup, only, timeout = sys.argv[1:]
as_json, runs, warmup, timeout = as_json == "1", int(runs), int(warmup), float(timeout)
sys.path.insert(0, os.path.join(root, "tests", "interop"))
import ikelab  # noqa: E402

IKE, ESP = "aes128-sha256-x25519", "aes128gcm16"
CONN, CHILD, TUNNEL = "ikelab", "net", "peer"
POLL = 0.001
PAIRS = [("strongswan", "strongswan_to_strongswan", "strongSwan -> strongSwan"),
         ("xdpsec-init", "xdpsec_to_strongswan", "xdpsec -> strongSwan"),
         ("xdpsec-resp", "strongswan_to_xdpsec", "strongSwan -> xdpsec")]


def log(msg):
    print(f"bench-ike: {msg}", file=sys.stderr, flush=True)


class Unavailable(Exception):
    pass


class Failed(Exception):
    pass


class Refused(Failed):
    """xdpsecd answered "tunnel up" with an error."""


class SwanPeer:
    kind = "strongswan"

    def __init__(self, lab, me, other, psk):
        self.sw = ikelab.StrongSwan(lab, me, ikelab.Conn(
            name=CONN, child=CHILD, local=me.addr4, remote=other.addr4, local_ts=me.net4,
            remote_ts=other.net4, psk=psk, ike=IKE, esp=ESP, start="none"))

    def start(self):
        self.sw.start()

    def initiate(self):
        resp, _ = self.sw.vici("initiate", {"child": CHILD, "ike": CONN,
                                            "timeout": str(int(timeout * 1000)),
                                            "init-limits": "no"}, timeout=timeout + 5)
        if resp.get("success") != "yes":
            raise Failed(f"VICI initiate: {resp.get('errmsg', resp)}")

    def terminate(self):
        resp, _ = self.sw.vici("terminate", {"ike": CONN, "timeout": str(int(timeout * 1000))},
                               timeout=timeout + 5)
        if resp.get("success") != "yes":
            raise Failed(f"VICI terminate: {resp.get('errmsg', resp)}")

    def installed(self):
        for sa in self.sw.list_sas():
            if any(c.get("state") == "INSTALLED" for c in sa["child-sas"].values()):
                return True
        return False

    def empty(self):
        return not self.sw.list_sas()

    def stop(self):
        self.sw.stop()


class XdpsecPeer:
    kind = "xdpsec"

    def __init__(self, lab, me, other, psk):
        # start = listen: the daemon does not initiate by itself before the
        # timed runs; each run's "tunnel up" does.
        self.x = ikelab.Xdpsec(lab, me, {TUNNEL: dict(
            local=me.addr4, remote=other.addr4, local_ts=me.net4, remote_ts=other.net4,
            auth="psk", psk=psk, ike=IKE, esp=ESP, mode="tunnel", start="listen")})

    def start(self):
        try:
            self.x.start()
        except ikelab.LabError as e:
            raise Unavailable(f"xdpsecd does not start: {str(e).splitlines()[0]}")

    def _ok(self, cmd):
        r = self.x.request(cmd, [TUNNEL], timeout=timeout + 5)
        if "error" in r:
            raise (Refused if cmd == "tunnel up" else Failed)(f"{cmd}: {r['error']}")

    def initiate(self):
        self._ok("tunnel up")

    def terminate(self):
        self._ok("tunnel down")

    def installed(self):
        sas = ikelab.xdpsec_child_sas(self.x.request("sa list"), TUNNEL)
        return {"in", "out"} <= {s.get("direction") for s in sas}

    def empty(self):
        return not ikelab.xdpsec_child_sas(self.x.request("sa list"))

    def stop(self):
        self.x.stop()


def one_run(ini, resp):
    """Returns (initiator ms, responder ms)."""
    err = []

    def go():
        try:
            ini.initiate()
        except Exception as e:  # noqa: BLE001 - reported below
            err.append(e)

    th = threading.Thread(target=go, daemon=True)
    t0 = time.perf_counter()
    th.start()
    t_ini = t_resp = None
    deadline = t0 + timeout
    while (t_ini is None or t_resp is None) and time.perf_counter() < deadline and not err:
        if t_ini is None and ini.installed():
            t_ini = time.perf_counter()
        if t_resp is None and resp.installed():
            t_resp = time.perf_counter()
        if t_ini is None or t_resp is None:
            time.sleep(POLL)
    th.join(timeout + 6)
    if err:
        raise err[0]
    if t_ini is None or t_resp is None:
        raise Failed(f"CHILD SA not installed within {timeout:g} s "
                     f"(initiator {'yes' if t_ini else 'no'}, responder "
                     f"{'yes' if t_resp else 'no'})")
    return (t_ini - t0) * 1000, (t_resp - t0) * 1000


def reset(ini, resp):
    ini.terminate()
    if not ikelab.wait_until(lambda: ini.empty() and resp.empty(), timeout, 0.02):
        raise Failed(f"SAs still there {timeout:g} s after the initiator deleted the IKE SA")
    time.sleep(0.1)


def stats(samples):
    s = sorted(samples)
    n = len(s)
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    p90 = s[max(0, -(-9 * n // 10) - 1)]  # nearest rank: ceil(0.9 n)
    r = lambda v: round(v, 2)  # noqa: E731
    return {"median": r(med), "p90": r(p90), "min": r(s[0]), "max": r(s[-1]),
            "samples": [r(v) for v in samples]}


def run_pair(key):
    xd = os.environ.get("XDPSECD", "")
    if key != "strongswan" and not (os.access(xd, os.X_OK) and
                                    os.access(os.environ.get("XDPSECCTL", ""), os.X_OK)):
        raise Unavailable(f"xdpsecd not built ({xd})")
    psk = os.urandom(18).hex()
    with ikelab.Lab(tag="ikb") as lab:
        a, b = lab.a, lab.b
        ini_cls = XdpsecPeer if key == "xdpsec-init" else SwanPeer
        resp_cls = XdpsecPeer if key == "xdpsec-resp" else SwanPeer
        ini, resp = ini_cls(lab, a, b, psk), resp_cls(lab, b, a, psk)
        try:
            resp.start()
            ini.start()
            if key == "xdpsec-resp":
                # The probe: can this xdpsecd bring a tunnel up at all?
                try:
                    resp.initiate()
                except Refused as e:
                    raise Unavailable(str(e))
                if not ikelab.wait_until(lambda: resp.installed() and ini.installed(),
                                         timeout, 0.02):
                    raise Failed("probe: xdpsecd's tunnel up did not install a CHILD SA")
                reset(resp, ini)
            ini_ms, resp_ms = [], []
            for i in range(warmup + runs):
                try:
                    t_i, t_r = one_run(ini, resp)
                except Refused as e:
                    if i == 0:
                        raise Unavailable(str(e))
                    raise
                if i >= warmup:
                    ini_ms.append(t_i)
                    resp_ms.append(t_r)
                log(f"{key}: run {i + 1}/{warmup + runs}{' (warm-up)' if i < warmup else ''}: "
                    f"initiator {t_i:.2f} ms, responder {t_r:.2f} ms")
                reset(ini, resp)
            return {"status": "ok", "initiator_ms": stats(ini_ms), "responder_ms": stats(resp_ms)}
        except (Failed, ikelab.LabError) as e:
            log(f"{key}: failed: {e}")
            for p, name in ((ini, "initiator"), (resp, "responder")):
                text = p.sw.log() if p.kind == "strongswan" else p.x.log()
                for ln in text.splitlines()[-10:]:
                    log(f"  {name} {p.kind}: {ln}")
            return {"status": f"failed: {str(e).splitlines()[0]}"}
        finally:
            ini.stop()
            resp.stop()


t_start = time.monotonic()
wanted = only.split(",")
out = {"benchmark": "ike", "auth": "psk", "ike": IKE, "esp": ESP, "runs": runs,
       "warmup": warmup, "poll_interval_ms": POLL * 1000, "pairs": {}}
failed = False
try:
    for key, name, _ in PAIRS:
        if key not in wanted:
            out["pairs"][name] = {"status": "not run"}
            continue
        log(f"== {key}")
        try:
            out["pairs"][name] = run_pair(key)
        except Unavailable as e:
            out["pairs"][name] = {"status": f"unavailable: {str(e).splitlines()[0]}"}
            log(f"{key}: unavailable: {e}")
        if out["pairs"][name]["status"].startswith("failed"):
            failed = True
except ikelab.Interrupted as e:
    log(f"interrupted ({e}); everything torn down")
    sys.exit(130)


def ratio(pair, side):
    p, s = out["pairs"].get(pair, {}), out["pairs"].get("strongswan_to_strongswan", {})
    if p.get("status") != "ok" or s.get("status") != "ok":
        return None
    return round(p[f"{side}_ms"]["median"] / s[f"{side}_ms"]["median"], 3)


out["ratios"] = {
    "xdpsec_to_strongswan_over_strongswan_initiator": ratio("xdpsec_to_strongswan", "initiator"),
    "xdpsec_to_strongswan_over_strongswan_responder": ratio("xdpsec_to_strongswan", "responder"),
    "strongswan_to_xdpsec_over_strongswan_initiator": ratio("strongswan_to_xdpsec", "initiator"),
    "strongswan_to_xdpsec_over_strongswan_responder": ratio("strongswan_to_xdpsec", "responder"),
}
out["wall_seconds"] = round(time.monotonic() - t_start, 1)

if as_json:
    print(json.dumps(out, indent=2))
else:
    print(f"IKE establishment: PSK, {IKE} / ESP {ESP}, {runs} runs per pair "
          f"(+{warmup} warm-up), peers polled every {POLL * 1000:g} ms")
    print()
    print(f"{'pair':<26}{'initiator median':>17}{'p90':>9}{'responder median':>18}{'p90':>9}")
    for key, name, label in PAIRS:
        p = out["pairs"][name]
        if p["status"] != "ok":
            print(f"{label:<26}  {p['status']}")
            continue
        i, r = p["initiator_ms"], p["responder_ms"]
        print(f"{label:<26}{i['median']:>14.2f} ms{i['p90']:>9.2f}"
              f"{r['median']:>15.2f} ms{r['p90']:>9.2f}")
    print()
    f = lambda v: f"{v:.2f}" if v is not None else "-"  # noqa: E731
    rr = out["ratios"]
    print(f"xdpsec -> strongSwan / strongSwan pair (median): initiator "
          f"{f(rr['xdpsec_to_strongswan_over_strongswan_initiator'])}, responder "
          f"{f(rr['xdpsec_to_strongswan_over_strongswan_responder'])}")
    print(f"strongSwan -> xdpsec / strongSwan pair (median): initiator "
          f"{f(rr['strongswan_to_xdpsec_over_strongswan_initiator'])}, responder "
          f"{f(rr['strongswan_to_xdpsec_over_strongswan_responder'])}")
sys.exit(1 if failed else 0)
EOF
