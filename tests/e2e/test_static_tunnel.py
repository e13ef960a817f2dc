#!/usr/bin/python3
"""End-to-end test of the xdpsec data plane with manually keyed (static) SAs.

Usage (as root, with Debian's /usr/bin/python3: python3-scapy 2.5.0):
    test_static_tunnel.py --build BUILD_DIR [--only SUBSTR]... [--iperf all|subset|none]
                          [--strict] [--keep] [--list]

Topology, rebuilt for every scenario (names carry this process's PID):

    ns A                     ns W ("the wire")                    ns B
    198.51.100.1/24 on lo    br0: la + lb, no addresses, IPv6     203.0.113.1/24 on lo
    2001:db8:a::1/64         off, no multicast snooping           2001:db8:b::1/64
    ua 192.0.2.1/24 ---- veth ---- la    lb ---- veth ---- ub 192.0.2.2/24
       2001:db8:1::1/64                                              2001:db8:1::2/64
    xdpsecd (uplink ua)                                           xdpsecd (uplink ub)

Why a third namespace: A and B are joined by veth pairs and a bridge that
does nothing but forward, because tcpdump on ua or ub cannot see ESP at all:
frames the worker transmits by AF_XDP leave through __dev_direct_xmit(),
which skips the packet taps, and arriving ESP is redirected by XDP before any
tap. (Tried: a capture on ua/ub during a ping through the tunnel holds only
MLD and router solicitations.) The capture point is la, a bridge port in W,
which sees every frame in both directions as a plain skb. W itself is
silent (no addresses, IPv6 off, no multicast snooping: a snooping bridge
would send IGMP reports for 224.0.0.106). The uplinks run without IPv6
DAD, like a server whose uplink has been up for long (with DAD the kernel
cannot solicit a neighbour until its link-local address is usable, and the
first outer-IPv6 next hop took 3-5 s to resolve).

Each scenario starts both daemons with one outbound and one inbound SA
(`xdpsecd --config FILE --foreground` under `ip netns exec`), waits for the
control socket and for both outbound next hops to be resolved, then:

  * the tunnel MTU that `status` reports leaves room for the worst-case
    ESP overhead of the SA (padding of block - 1 bytes); bytes to spare
    are reported (xdpsecd reserves 3 more than needed with 4-byte blocks,
    15 more with CBC's 16);
  * ping A -> B (4 packets, all must come back) in every scenario, and 2
    pings of 1500-byte packets, which the host fragments (more than the
    tunnel MTU);
  * iperf3 TCP for 2 s (> 0 bytes received; Mbit/s reported, no rate
    asserted) and iperf3 UDP, 1400-byte payload, 50 Mbit/s for 2 s (packets
    must arrive; loss reported, not asserted). By default in all twelve
    traffic scenarios: an iperf3 pair costs ~6 s, and the whole suite took
    ~100 s on the 2-core development VM (~80 s with --iperf subset, which
    keeps it in every outer-IPv4 tunnel variant, covering CBC+HMAC,
    ChaCha20-Poly1305 and ESN, in one outer-IPv6 tunnel per inner family
    and in one transport scenario per family; the other four differ from
    those in one parameter only). A 1400-byte UDP payload makes a 1428- or
    1448-byte inner packet, more than the tunnel MTU (the uplink's 1500
    less the SA's worst-case overhead: 1412..1460) in most tunnel-mode
    scenarios, so the host fragments those datagrams before ESP; the inner
    fragments are decrypted and checked like any other packet.
  * xdpsecctl stats on both sides: no XDP drop_* verdict, no drop of the
    protect program other than link-scoped chatter, no worker drop
    (esp_dropped, no_metadata, bad_slot, stale_slot, no_next_hop, selector_mismatch);
    per SA, the receiving side accepted packets and dropped none.
  * Wire checks. A header capture (tcpdump -s 160) runs on la through all
    the traffic: every frame must be ARP, IPv6 neighbour discovery (hop
    limit 255), MLD (hop limit 1, to ff02::16) or ESP between the two link
    addresses of the scenario's outer family, raw ESP (IP proto 50) without
    UDP encapsulation and ESP-in-UDP 4500:4500 (non-zero SPI, so no IKE
    either) with it; no fragments, nothing else, no other IPv4 at all. Per
    SPI the sequence numbers must be strictly increasing (one worker, no
    replay, no reuse). Full-size captures of each traffic phase (the ping
    in full, the first 400 frames of each iperf run) are decrypted packet
    by packet by scapy's SecurityAssociation with the configured keys: each
    must verify and yield a valid inner packet (version, lengths, IPv4
    header checksum, TCP/UDP/ICMP checksum unless it is a fragment, inner
    addresses inside the SA's selectors). scapy 2.5.0 cannot decrypt
    UDP-encapsulated IPv6 transport mode; as in tests/interop/
    scapy_crosscheck.py, the UDP header is checked and removed first. ESN
    runs use high bits 0 (the counters start at 0 and the runs are short).
  * Teardown: SIGTERM to each daemon; exit status 0, the tunnel device and
    its peer gone, no XDP program left on the uplink, the pin directory
    empty or gone; then the namespaces are deleted and must be gone.

Pins: most scenarios pin into a bpffs this test mounts under its temporary
directory (visible from here, so pins are checked while the daemons run and
after they stop). One scenario (transport IPv4) leaves bpffs at its default,
/sys/fs/bpf/xdpsec/INSTANCE, which `ip netns exec` hides, so xdpsecd mounts
bpffs itself (DESIGN.md); its pins are checked through /proc/PID/root while
it runs and vanish with its mount namespace.

Known issue (XFAIL): in transport mode a datagram larger than the tunnel
MTU is fragmented by the host before the worker sees it, and the ESP
engine drops fragments (drops.fragment on the outbound SA), so the large
pings and, where 1428 bytes exceed the tunnel MTU (transport + CBC), the
UDP iperf3 run get nothing through. RFC 4303 3.3.4 wants transport-mode
ESP applied to the whole datagram and the ESP packet fragmented instead.
These checks print XFAIL and are not counted as failures (--strict counts
them); when one passes it prints XPASS: remove its xfail then. The drops
they cause are left out of the drop checks and named in their details.

Negative scenarios:
  * wrong key: B's inbound key differs from A's outbound key. The ping must
    fail, B's inbound SA must count exactly one auth_failed drop per echo
    request and accept none, both daemons must still answer `status`.
  * replay: 5 echo requests A -> B are captured on la and re-sent verbatim
    with scapy's sendp() on ua in A's namespace, twice: right away (inside
    B's replay window: the worker drops them as `replayed`) and after 70
    more pings have moved the window past them (XDP drops them as
    drop_replay_too_old before the worker). Each time the sum of those two
    counters must grow by exactly 5, and neither B's inbound SA packet
    count nor B's ICMP InEchos (/proc/net/snmp) may move.

Everything started here (daemons, tcpdump, iperf3 servers, scapy sendp) is
a child process and is stopped by its PID; namespaces, the bpffs mount and
the temporary directory are removed on success and on failure (and on
SIGTERM/SIGINT). Every wait is bounded in count and time.

Prints one line per check (PASS, FAIL, XFAIL, XPASS), a summary with the
time of each scenario, and a final "N passed, M failed"; exits 1 on any
failure, 77 (ctest SKIP_RETURN_CODE) when not root or a tool is missing.
Keys are random test keys, generated per scenario; they are written only to
the configuration files in the private temporary directory.
"""

import argparse
import ipaddress
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass

from e2elib import (BedBase, Capture, Fatal, Frame, Interrupted, Report, check_inner_packet,
                    decrypt_capture, hdr_text, iperf3, make_wire, ns_cmd, on_signal, ones_sum,
                    parse_frame, preflight, print_summary, read_pcap, run, start_xdpsecd,
                    stop_proc, wait_ready, write_private)

LINK = {4: ("192.0.2.1", "192.0.2.2", 24), 6: ("2001:db8:1::1", "2001:db8:1::2", 64)}
INNER_A = {4: ("198.51.100.1", "198.51.100.0/24"), 6: ("2001:db8:a::1", "2001:db8:a::/64")}
INNER_B = {4: ("203.0.113.1", "203.0.113.0/24"), 6: ("2001:db8:b::1", "2001:db8:b::/64")}
NATT = 4500
WIRE_IF = "la"

# enc: bytes of enc_key (cipher key || salt); integ: bytes of integ_key;
# iv, icv, block: what ESP adds (padding to a multiple of block).
ALGS = {
    "aes128gcm16": dict(enc=20, integ=0, crypt="AES-GCM", auth=None, iv=8, icv=16, block=4),
    "aes256-sha256": dict(enc=32, integ=32, crypt="AES-CBC", auth="SHA2-256-128", iv=16,
                          icv=16, block=16),
    "chacha20poly1305": dict(enc=36, integ=0, crypt="CHACHA20-POLY1305", auth=None, iv=8,
                             icv=16, block=4),
}

PING_COUNT = 4
UPLINK_MTU = 1500

# The data plane's known limitation in transport mode (see the docstring).
TRANSPORT_FRAGMENTS = (
    "transport mode: the host fragments a datagram larger than the tunnel MTU "
    "before the worker sees it, and the ESP engine refuses to protect a "
    "fragment (drops.fragment on the outbound SA); RFC 4303 3.3.4 applies "
    "transport-mode ESP to whole datagrams and fragments the ESP packet")
DECRYPT_MAX = 400  # frames decrypted per iperf phase


@dataclass
class Scenario:
    name: str
    mode: str
    outer: int
    inner: int
    encap: bool
    alg: str = "aes128gcm16"
    esn: bool = False
    iperf: bool = False
    kind: str = "traffic"  # traffic | wrong_key | replay
    default_bpffs: bool = False


def scenarios():
    T, X = "tunnel", "transport"
    return [
        Scenario("tunnel 4in4 esp aes128gcm16", T, 4, 4, False, iperf=True),
        Scenario("tunnel 4in4 udp aes256-sha256", T, 4, 4, True, "aes256-sha256", iperf=True),
        Scenario("tunnel 6in4 esp chacha20poly1305", T, 4, 6, False, "chacha20poly1305",
                 iperf=True),
        Scenario("tunnel 6in4 udp aes128gcm16 esn", T, 4, 6, True, esn=True, iperf=True),
        Scenario("tunnel 4in6 esp aes128gcm16", T, 6, 4, False),
        Scenario("tunnel 4in6 udp aes128gcm16", T, 6, 4, True, iperf=True),
        Scenario("tunnel 6in6 esp aes128gcm16 esn", T, 6, 6, False, esn=True, iperf=True),
        Scenario("tunnel 6in6 udp chacha20poly1305", T, 6, 6, True, "chacha20poly1305"),
        Scenario("transport v4 esp aes128gcm16 (default bpffs)", X, 4, 4, False, iperf=True,
                 default_bpffs=True),
        Scenario("transport v4 udp aes256-sha256", X, 4, 4, True, "aes256-sha256"),
        Scenario("transport v6 esp aes128gcm16", X, 6, 6, False),
        Scenario("transport v6 udp aes128gcm16 esn", X, 6, 6, True, esn=True, iperf=True),
        Scenario("wrong key tunnel 4in4 esp", T, 4, 4, False, kind="wrong_key"),
        Scenario("replay tunnel 4in4 esp", T, 4, 4, False, kind="replay"),
    ]


# --- classification of wire frames ------------------------------------------

_LINKS = {v: frozenset(ipaddress.ip_address(a).packed for a in LINK[v][:2]) for v in (4, 6)}


def classify(frame, scen):
    """One Ethernet frame on the wire against what may appear there."""
    r = parse_frame(frame, scen.outer)
    if isinstance(r, Frame):
        return r
    v, ip, off, proto, src, dst = r
    return esp_or_bad(ip, v, off, proto, src, dst, scen)


def esp_or_bad(ip, v, off, proto, src, dst, scen):
    links = _LINKS[v]
    if src == dst or src not in links or dst not in links:
        return Frame("bad", f"{hdr_text(ip, v, proto)}: not between the two link addresses")
    if proto == 50:
        if scen.encap:
            return Frame("bad", f"{hdr_text(ip, v, proto)}: plain ESP on a UDP-encapsulated SA")
        esp = ip[off:]
    elif proto == 17:
        hdr = hdr_text(ip, v, proto) if len(ip) < off + 16 or not scen.encap else ""
        if len(ip) < off + 16:
            return Frame("bad", f"{hdr}: short UDP")
        sport, dport = struct.unpack("!HH", ip[off:off + 4])
        if (sport, dport) != (NATT, NATT):
            return Frame("bad", f"{hdr_text(ip, v, proto)}: UDP {sport} > {dport}")
        if not scen.encap:
            return Frame("bad", f"{hdr}: ESP-in-UDP without encap configured")
        esp = ip[off + 8:]
        if esp[:4] == b"\0\0\0\0":
            return Frame("bad", f"{hdr_text(ip, v, proto)}: UDP/4500 with the non-ESP marker "
                                "(IKE) or keepalive")
    else:
        return Frame("bad", f"{hdr_text(ip, v, proto)}: neither ESP nor ESP-in-UDP")
    if len(esp) < 8:
        return Frame("bad", f"{hdr_text(ip, v, proto)}: short ESP")
    spi, seq = struct.unpack("!II", esp[:8])
    return Frame("esp", src=src, spi=spi, seq=seq, l3=ip)


# --- configuration ------------------------------------------------------------

@dataclass
class SaKeys:
    spi: int
    enc: bytes
    integ: bytes


@dataclass
class Side:
    name: str           # a | b
    ns: str
    uplink: str
    local: str
    remote: str
    local_ts: str
    remote_ts: str
    inner_addr: str
    out: SaKeys = None
    inn: SaKeys = None
    conf: str = ""
    sock: str = ""
    log: str = ""
    bpffs: str = ""     # as seen from this test
    instance: str = ""
    proc: subprocess.Popen = None
    napi_threaded: bool = True      # tunnel_napi as configured (write_config)
    uplink_threaded: bool = False   # uplink_napi = threaded configured


def write_config(scen, side, tmp, default_bpffs):
    alg = ALGS[scen.alg]
    side.sock = os.path.join(tmp, f"{side.name}.sock")
    side.conf = os.path.join(tmp, f"{side.name}.conf")
    side.log = os.path.join(tmp, f"{side.name}.log")
    side.instance = f"e2e{side.name}{os.getpid()}"
    lines = ["[daemon]", f"uplink = {side.uplink}", "tunnel_if = xdpsec0",
             f"socket = {side.sock}", "workers = 1", f"instance = {side.instance}"]
    # Both NAPI settings carry traffic: B polls its tunnel device in softirq
    # context in the transport scenarios, threaded (the default) otherwise;
    # there A's uplink is threaded too (uplink_napi), put back at exit.
    side.napi_threaded = not (scen.mode == "transport" and side.name == "b")
    side.uplink_threaded = scen.mode == "transport" and side.name == "a"
    if not side.napi_threaded:
        lines.append("tunnel_napi = softirq")
    if side.uplink_threaded:
        lines.append("uplink_napi = threaded")
    if default_bpffs:
        side.bpffs = f"/sys/fs/bpf/xdpsec/{side.instance}"
    else:
        side.bpffs = os.path.join(tmp, "bpf", side.name)
        os.makedirs(side.bpffs)
        lines.append(f"bpffs = {side.bpffs}")
    for name, direction, k in (("out", "out", side.out), ("in", "in", side.inn)):
        lines += ["", f"[sa.{name}]", f"spi = 0x{k.spi:08x}", f"direction = {direction}",
                  f"esp = {scen.alg}", f"enc_key = 0x{k.enc.hex()}"]
        if alg["integ"]:
            lines.append(f"integ_key = 0x{k.integ.hex()}")
        lines += [f"mode = {scen.mode}", f"local = {side.local}", f"remote = {side.remote}",
                  f"local_ts = {side.local_ts}", f"remote_ts = {side.remote_ts}",
                  f"encap = {'udp' if scen.encap else 'none'}",
                  f"esn = {'yes' if scen.esn else 'no'}"]
    write_private(side.conf, lines)


def new_keys(alg, spi):
    a = ALGS[alg]
    return SaKeys(spi, os.urandom(a["enc"]), os.urandom(a["integ"]))


# --- one scenario ---------------------------------------------------------------

class Bed(BedBase):
    """Namespaces, daemons and helper processes of one scenario."""

    def __init__(self, scen, args, rep, idx):
        pid = os.getpid()
        super().__init__(args, {k: f"xe2e-{k}-{pid}-{idx}" for k in ("a", "b", "w")},
                         f"xdpsec-e2e-{idx}-")
        self.scen, self.rep = scen, rep
        o, i = scen.outer, scen.inner if scen.mode == "tunnel" else scen.outer
        la, lb, _ = LINK[o]
        if scen.mode == "tunnel":
            a_ts, b_ts = INNER_A[i][1], INNER_B[i][1]
            a_addr, b_addr = INNER_A[i][0], INNER_B[i][0]
        else:
            host = 32 if o == 4 else 128
            a_ts, b_ts = f"{la}/{host}", f"{lb}/{host}"
            a_addr, b_addr = la, lb
        self.a = Side("a", self.ns["a"], "ua", la, lb, a_ts, b_ts, a_addr)
        self.b = Side("b", self.ns["b"], "ub", lb, la, b_ts, a_ts, b_addr)
        base = 0xA000 + idx * 16
        k_ab, k_ba = new_keys(scen.alg, base + 1), new_keys(scen.alg, base + 2)
        self.a.out, self.b.inn = k_ab, k_ab
        self.b.out, self.a.inn = k_ba, k_ba
        if scen.kind == "wrong_key":
            self.b.inn = new_keys(scen.alg, k_ab.spi)  # same SPI, other keys
        self.check = lambda what, ok, detail="", xfail=None: rep.check(scen.name, what, ok,
                                                                       detail, xfail)
        self.tunnel_mtu = 0

    # setup -------------------------------------------------------------------

    def setup(self):
        make_wire(self.ns, self.created_ns)  # no DAD on the uplinks: see e2elib
        for side in (self.a, self.b):
            n = side.ns
            addr4 = LINK[4][0 if side is self.a else 1]
            addr6 = LINK[6][0 if side is self.a else 1]
            run(["ip", "-n", n, "addr", "add", f"{addr4}/24", "dev", side.uplink])
            run(["ip", "-n", n, "addr", "add", f"{addr6}/64", "dev", side.uplink, "nodad"])
            run(["ip", "-n", n, "link", "set", side.uplink, "up"])
            run(["ip", "-n", n, "link", "set", "lo", "up"])
            if self.scen.mode == "tunnel":
                inner = INNER_A if side is self.a else INNER_B
                i = self.scen.inner
                plen = 24 if i == 4 else 64
                run(["ip", "-n", n, "addr", "add", f"{inner[i][0]}/{plen}", "dev", "lo"])
        if not self.scen.default_bpffs:
            bpf = os.path.join(self.tmp, "bpf")
            os.makedirs(bpf)
            run(["mount", "-t", "bpf", "bpf", bpf])
            self.mounted = bpf
        for side in (self.a, self.b):
            write_config(self.scen, side, self.tmp, self.scen.default_bpffs)

    def start_daemons(self):
        for side in (self.a, self.b):
            side.proc = start_xdpsecd(self.xdpsecd, side.ns, side.conf, side.log, self.procs)
        t0 = time.monotonic()
        for side in (self.a, self.b):
            why = wait_ready(side.proc,
                             lambda: self.ctl_run(side, ["status"], check=False).returncode == 0)
            if not self.check(f"xdpsecd {side.name} starts", not why, why or
                              f"ready after {time.monotonic() - t0:.1f} s"):
                self.dump_log(side)
                raise Fatal()
        for side in (self.a, self.b):
            hop = "unresolved"
            for _ in range(100):  # <= 10 s (and more for the xdpsecctl calls)
                out = [s for s in self.sa_list(side) if s["direction"] == "out"]
                hop = out[0].get("next_hop", "unresolved") if out else "no outbound SA"
                if hop != "unresolved":
                    break
                time.sleep(0.1)
            if not self.check(f"{side.name}: outbound next hop resolved", hop != "unresolved", hop):
                raise Fatal()
        self.check_pins()
        self.check_mtu()
        self.check_napi()

    def check_mtu(self):
        """The tunnel MTU leaves room for the worst case ESP adds (padding
        of block - 1 bytes); the spare bytes are reported, not asserted."""
        a = ALGS[self.scen.alg]
        worst = (8 + a["iv"] + a["block"] - 1 + 2 + a["icv"] + (8 if self.scen.encap else 0) +
                 ((20 if self.scen.outer == 4 else 40) if self.scen.mode == "tunnel" else 0))
        for side in (self.a, self.b):
            mtu = self.ctl_json(side, ["status"]).get("tunnel_mtu", 0)
            self.tunnel_mtu = mtu
            self.check(f"{side.name}: tunnel MTU leaves room for the ESP overhead",
                       0 < mtu <= UPLINK_MTU - worst,
                       f"MTU {mtu}, worst-case overhead {worst}: "
                       f"{UPLINK_MTU - worst - mtu} bytes to spare")

    def napi_of(self, side, dev):
        return run(["cat", f"/sys/class/net/{dev}/threaded"], side.ns, check=False).stdout.strip()

    def check_napi(self):
        """The tunnel device's host end and the uplink are polled as
        configured (tunnel_napi, uplink_napi), read from sysfs in the side's
        namespace."""
        for side in (self.a, self.b):
            for dev, threaded in (("xdpsec0", side.napi_threaded),
                                  (side.uplink, side.uplink_threaded)):
                got, want = self.napi_of(side, dev), "1" if threaded else "0"
                self.check(f"{side.name}: {dev} NAPI {'threaded' if threaded else 'in softirq'}",
                           got == want, f"/sys/class/net/{dev}/threaded reads {got!r}")

    def ctl_run(self, side, cmd, check=True):
        return run([self.ctl, "--socket", side.sock, "--json"] + cmd, side.ns, timeout=10,
                   check=check)

    def ctl_json(self, side, cmd):
        return json.loads(self.ctl_run(side, cmd).stdout)

    def sa_list(self, side):
        return self.ctl_json(side, ["sa", "list"])["sas"]

    def sa(self, side, direction):
        return [s for s in self.sa_list(side) if s["direction"] == direction][0]

    def pin_view(self, side):
        """The pin directory as this test can see it."""
        if self.scen.default_bpffs:
            if side.proc is None or side.proc.poll() is not None:
                return None
            return f"/proc/{side.proc.pid}/root{side.bpffs}"
        return side.bpffs

    def check_pins(self):
        """While the daemons run: their maps are pinned where configured."""
        want = {"xdpsec_sa", "xdpsec_sad", "xdpsec_spd_in", "xdpsec_spd_out", "xdpsec_verdicts"}
        for side in (self.a, self.b):
            d = self.pin_view(side)
            names = sorted(os.listdir(d)) if d and os.path.isdir(d) else []
            self.check(f"{side.name}: maps pinned", want <= set(names),
                       f"{d}: {', '.join(names) or 'empty'}")

    # traffic -------------------------------------------------------------------

    def ping(self, count=PING_COUNT, interval="0.2", wait="2", size=None):
        src, dst = self.a.inner_addr, self.b.inner_addr
        extra = ["-s", str(size), "-M", "dont"] if size else []
        p = run(["ping", "-n", "-q", "-c", str(count), "-i", interval, "-W", wait, "-I", src] +
                extra + [dst], self.a.ns, timeout=count * float(interval) + 15, check=False)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", p.stdout)
        return (int(m.group(1)), int(m.group(2))) if m else (0, 0)

    def iperf(self, udp):
        return iperf3(self.procs, self.b.ns, self.a.ns, self.a.inner_addr, self.b.inner_addr, udp)

    def capture(self, name, **kw):
        """A tcpdump on the wire (la in W) into TMP/NAME.pcap."""
        return Capture(self.procs, self.ns["w"], WIRE_IF, os.path.join(self.tmp, name + ".pcap"),
                       **kw)

    # teardown ----------------------------------------------------------------

    def stop_daemons(self):
        for side in (self.a, self.b):
            if side.proc is None:
                continue
            running = side.proc.poll() is None
            view = self.pin_view(side)  # before it goes away
            rc = stop_proc(side.proc, signal.SIGTERM, grace=10)
            if not self.check(f"{side.name}: xdpsecd exits 0 on SIGTERM", running and rc == 0,
                              f"exit {rc}" + ("" if running else " (had already exited)")):
                self.dump_log(side)
            for dev in ("xdpsec0", "xdpsec0p"):
                p = run(["ip", "link", "show", dev], side.ns, check=False)
                self.check(f"{side.name}: {dev} removed", p.returncode != 0, p.stdout.strip())
            if side.uplink_threaded:
                got = self.napi_of(side, side.uplink)
                self.check(f"{side.name}: {side.uplink} NAPI put back in softirq", got == "0",
                           f"/sys/class/net/{side.uplink}/threaded reads {got!r}")
            p = run(["ip", "-d", "link", "show", side.uplink], side.ns, check=False)
            self.check(f"{side.name}: no XDP program left on {side.uplink}",
                       p.returncode == 0 and " xdp" not in p.stdout and "prog/xdp" not in p.stdout,
                       p.stdout.strip() if "xdp" in p.stdout else "")
            if not self.scen.default_bpffs:
                names = os.listdir(view) if os.path.isdir(view) else []
                self.check(f"{side.name}: pin directory empty or gone", not names,
                           ", ".join(names))
            else:
                self.check(f"{side.name}: pins went with xdpsecd's mount namespace",
                           not os.path.exists(f"/proc/{side.proc.pid}/root"))


# --- decryption with scapy ----------------------------------------------------

class Decryptor:
    def __init__(self, scen, bed):
        from scapy.layers.inet import IP, UDP
        from scapy.layers.inet6 import IPv6
        from scapy.layers.ipsec import ESP, SecurityAssociation
        self.scen = scen
        self.IP, self.IPv6, self.ESP = IP, IPv6, ESP
        alg = ALGS[scen.alg]
        self.sas = {}
        # Each direction with the key its sender was configured with.
        for sender in (bed.a, bed.b):
            k = sender.out
            kw = {}
            if scen.mode == "tunnel":
                o = ipaddress.ip_address(sender.local).version
                kw["tunnel_header"] = (IP if o == 4 else IPv6)(src=sender.local, dst=sender.remote)
            if scen.encap:
                kw["nat_t_header"] = UDP(sport=NATT, dport=NATT)
            if alg["auth"]:
                kw.update(auth_algo=alg["auth"], auth_key=k.integ)
            sa = SecurityAssociation(ESP, spi=k.spi, crypt_algo=alg["crypt"], crypt_key=k.enc,
                                     esn_en=scen.esn, esn=0, **kw)
            self.sas[ipaddress.ip_address(sender.local).packed] = (sa, k.spi, sender)

    def strip_udp6(self, b):
        """IPv6 + UDP/4500 + ESP -> IPv6 + ESP (scapy 2.5.0 cannot decrypt
        UDP-encapsulated IPv6 transport mode; the UDP header was checked by
        classify(), its length and checksum here)."""
        ulen, csum = struct.unpack("!HH", b[44:48])
        if ulen != len(b) - 40:
            raise ValueError(f"UDP length {ulen} != {len(b) - 40}")
        pseudo = b[8:40] + struct.pack("!I", ulen) + b"\0\0\0\x11"
        if csum == 0 or ones_sum(pseudo + b[40:]) != 0xFFFF:
            raise ValueError(f"IPv6 UDP checksum {csum:#06x} wrong")
        out = bytearray(b[:40] + b[48:])
        out[6] = 50
        out[4:6] = struct.pack("!H", len(out) - 40)
        return bytes(out)

    def decrypt(self, fr):
        """The inner packet's bytes, or raises with the reason."""
        sa, spi, sender = self.sas[fr.src]
        if fr.spi != spi:
            raise ValueError(f"SPI {fr.spi:#x} from {sender.local}, configured {spi:#x}")
        b = fr.l3
        v = b[0] >> 4
        if v == 4:
            tot = struct.unpack("!H", b[2:4])[0]
            if tot != len(b):
                raise ValueError(f"outer IPv4 total length {tot} != {len(b)}")
            if ones_sum(b[:(b[0] & 0xF) * 4]) != 0xFFFF:
                raise ValueError("outer IPv4 header checksum")
        else:
            plen = struct.unpack("!H", b[4:6])[0]
            if plen != len(b) - 40:
                raise ValueError(f"outer IPv6 payload length {plen} != {len(b) - 40}")
        if self.scen.encap and v == 4:
            off = (b[0] & 0xF) * 4
            ulen, csum = struct.unpack("!HH", b[off + 4:off + 8])
            if ulen != len(b) - off or csum != 0:
                raise ValueError(f"IPv4 NAT-T UDP length {ulen} / checksum {csum:#x}")
        if self.scen.encap and v == 6 and self.scen.mode == "transport":
            b = self.strip_udp6(b)
        elif self.scen.encap and v == 6:
            pseudo = b[8:40] + struct.pack("!I", len(b) - 40) + b"\0\0\0\x11"
            if ones_sum(pseudo + b[40:]) != 0xFFFF or b[46:48] == b"\0\0":
                raise ValueError("IPv6 NAT-T UDP checksum")
        pkt = (self.IP if v == 4 else self.IPv6)(b)
        if not pkt.haslayer(self.ESP):
            raise ValueError("scapy sees no ESP")
        inner = bytes(sa.decrypt(pkt))
        self.check_inner(inner, sender)
        return inner

    def check_inner(self, b, sender):
        scen = self.scen
        want_v = scen.inner if scen.mode == "tunnel" else scen.outer
        check_inner_packet(b, want_v, [ipaddress.ip_network(sender.local_ts)],
                           [ipaddress.ip_network(sender.remote_ts)])


# --- the checks of one scenario -------------------------------------------------

def check_wire(bed, hdr_pcap, full_pcaps, drops):
    """Header capture: only ESP and link chatter. Full captures: every ESP
    frame decrypts to a valid inner packet."""
    scen, check = bed.scen, bed.check
    frames = read_pcap(hdr_pcap)
    chatter, bad, esp = {}, [], 0
    last_seq, seq_bad = {}, []
    for fr_bytes, _ in frames:
        fr = classify(fr_bytes, scen)
        if fr.kind == "bad":
            bad.append(fr.what)
        elif fr.kind == "chatter":
            chatter[fr.what] = chatter.get(fr.what, 0) + 1
        else:
            esp += 1
            prev = last_seq.get(fr.spi)
            if prev is not None and fr.seq <= prev and len(seq_bad) < 3:
                seq_bad.append(f"SPI {fr.spi:#x}: seq {fr.seq} after {prev}")
            last_seq[fr.spi] = fr.seq
    ch = ", ".join(f"{k} {v}" for k, v in sorted(chatter.items())) or "none"
    detail = f"{len(frames)} frames: {esp} ESP, chatter: {ch}"
    if drops:
        detail += f"; tcpdump reports {drops} dropped by kernel"
    if bad:
        detail += f"; {len(bad)} unexpected, e.g. " + "; ".join(sorted(set(bad))[:3])
    check("wire holds only ESP (+ ARP/ND/MLD)", not bad and esp > 0, detail)
    biggest = max((orig for _, orig in frames), default=0)
    check("no frame on the wire exceeds the link MTU", biggest <= UPLINK_MTU + 14,
          f"largest frame {biggest} bytes (MTU {UPLINK_MTU} + 14)")
    spis = {bed.a.out.spi, bed.b.out.spi}
    check("ESP sequence numbers strictly increase per SPI", not seq_bad and set(last_seq) <= spis,
          "; ".join(seq_bad) or f"SPIs {', '.join(f'{s:#x}' for s in sorted(last_seq))}, "
          f"last seq {', '.join(str(last_seq[s]) for s in sorted(last_seq))}")

    dec = Decryptor(scen, bed)
    for label, path in full_pcaps:
        ok, detail = decrypt_capture(path, lambda b: classify(b, scen), dec.decrypt)
        check(f"scapy decrypts every ESP frame ({label})", ok, detail)


def traffic_scenario(bed, report_line):
    scen, check = bed.scen, bed.check
    hdr = bed.capture("hdr", snaplen=160)
    full = []
    try:
        cap = bed.capture("ping")
        sent, got = bed.ping()
        check("ping A -> B through the tunnel", sent == PING_COUNT and got == sent,
              f"{got}/{sent} replies")
        # 1500-byte packets: more than the tunnel MTU, so the host fragments
        # them (fine in tunnel mode: the fragments are the inner packets).
        fam = ipaddress.ip_address(bed.a.inner_addr).version
        size = UPLINK_MTU - 8 - (20 if fam == 4 else 40)
        transport = scen.mode == "transport"
        sent, got = bed.ping(count=2, size=size, wait="1")
        full.append(("ping", cap.path))
        check(f"ping with {size}-byte payload (host-fragmented)", sent == 2 and got == sent,
              f"{got}/{sent} replies", xfail=TRANSPORT_FRAGMENTS if transport else None)
        cap.stop()
        if scen.iperf and bed.args.iperf != "none" or bed.args.iperf == "all":
            cap = bed.capture("tcp", count=DECRYPT_MAX)
            r = bed.iperf(udp=False)
            cap.stop()
            full.append(("iperf3 TCP", cap.path))
            rx = r.get("end", {}).get("sum_received", {})
            mbit = rx.get("bits_per_second", 0) / 1e6
            check("iperf3 TCP moves data", rx.get("bytes", 0) > 0,
                  f"{rx.get('bytes', 0)} bytes, {mbit:.0f} Mbit/s" if "error" not in r
                  else r["error"])
            report_line["tcp"] = f"{mbit:.0f} Mbit/s"
            cap = bed.capture("udp", count=DECRYPT_MAX)
            r = bed.iperf(udp=True)
            cap.stop()
            full.append(("iperf3 UDP", cap.path))
            # The server's view (end.sum is the sender's: it never loses).
            s = r.get("end", {}).get("sum_received", {})
            sent_pk = r.get("end", {}).get("sum_sent", {}).get("packets", 0)
            pk, lost = s.get("packets", 0), s.get("lost_packets", 0)
            inner = 1400 + 8 + (20 if fam == 4 else 40)
            check("iperf3 UDP 1400-byte datagrams arrive", pk - lost > 0 and s.get("bytes", 0) > 0,
                  f"{pk - lost}/{sent_pk} received ({s.get('bytes', 0)} bytes), loss "
                  f"{s.get('lost_percent', 100):.2f}%, {inner}-byte packets, tunnel MTU "
                  f"{bed.tunnel_mtu}" if "error" not in r else r["error"],
                  xfail=TRANSPORT_FRAGMENTS if transport and inner > bed.tunnel_mtu else None)
            report_line["udp"] = f"loss {s.get('lost_percent', 100):.1f}%"
    finally:
        drops = hdr.stop()
    # Transport mode: fragments the engine refused are the known issue
    # reported above, not counted again here.
    known = {}
    for side in (bed.a, bed.b):
        drops = bed.sa(side, "out").get("drops") or {}
        known[side.name] = drops.get("fragment", 0) if scen.mode == "transport" else 0
        check_no_drops(bed, side, known[side.name])
    # Equality is not asserted: under iperf3 load a frame may be lost between
    # the two SAs (a full AF_XDP ring, the bridge), which is not an SA's fault.
    for snd, rcv in ((bed.a, bed.b), (bed.b, bed.a)):
        o, i = bed.sa(snd, "out"), bed.sa(rcv, "in")
        o_drops = {k: v for k, v in (o.get("drops") or {}).items()
                   if not (k == "fragment" and known[snd.name])}
        check(f"SA counters {snd.name} -> {rcv.name}: packets accepted, no ESP drops",
              i["packets"] > 0 and not o_drops and not i.get("drops") and
              i["packets"] <= o["packets"],
              f"{snd.name} out {o['packets']} (seq {o['seq']}, drops "
              f"{o.get('drops') or 'none'}), {rcv.name} in {i['packets']} (drops "
              f"{i.get('drops') or 'none'})" +
              (f"; {known[snd.name]} fragments refused: the known transport-mode issue"
               if known[snd.name] else ""))
    return hdr.path, full, drops


# XDP verdicts and worker counters that must stay 0 in a clean run; the
# XDP ones by prefix, so that verdicts added later are covered.
PROTECT_DROPS = ("protect_no_policy", "protect_discard", "protect_malformed",
                 "protect_sa_not_active", "protect_no_socket", "protect_bypass")
WORKER_DROPS = ("esp_dropped", "no_metadata", "bad_slot", "stale_slot", "no_next_hop",
                "selector_mismatch")


def check_no_drops(bed, side, known_esp_drops=0):
    st = bed.ctl_json(side, ["stats"])
    bad = {k: v["packets"] for k, v in st["xdp"].items()
           if v["packets"] and (k.startswith("drop_") or k in PROTECT_DROPS)}
    info = {}
    for w in st["workers"]:
        for k in WORKER_DROPS:
            n = w.get(k, 0) - (known_esp_drops if k == "esp_dropped" else 0)
            if n:
                bad[f"worker{w['id']}.{k}"] = n
        # Back-pressure, PMTU, the kernel's drops at the AF_XDP sockets (an
        # unlimited UDP sender may fill a ring): reported only.
        for k in ("tx_ring_full", "icmp_too_big") + tuple(x for x in w if x.startswith("xsk_")):
            if isinstance(w.get(k), int) and w.get(k):
                info[f"worker{w['id']}.{k}"] = w[k]
    passed = {k: v["packets"] for k, v in st["xdp"].items()
              if v["packets"] and k.startswith(("pass_", "protect_link", "protect_not_ip"))}
    detail = "; ".join(f"{k} {v}" for k, v in sorted(bad.items())) or \
        "XDP passed " + (", ".join(f"{k} {v}" for k, v in sorted(passed.items())) or "nothing")
    if info:
        detail += "; " + ", ".join(f"{k} {v}" for k, v in sorted(info.items()))
    if known_esp_drops:
        detail += f"; not counted: {known_esp_drops} esp_dropped for the known transport issue"
    bed.check(f"{side.name}: no drops in xdpsecctl stats", not bad, detail)


def wrong_key_scenario(bed):
    check = bed.check
    cap = bed.capture("ping")
    hdr = bed.capture("hdr", snaplen=160)
    try:
        sent, got = bed.ping(count=3, wait="1")
    finally:
        cap.stop()
        drops = hdr.stop()
    check("ping with a wrong key fails", sent == 3 and got == 0, f"{got}/{sent} replies")
    b_in = bed.sa(bed.b, "in")
    af = b_in.get("drops", {}).get("auth_failed", 0)
    check("B counts auth_failed per echo request, accepts none",
          af == sent and b_in["packets"] == 0,
          f"auth_failed {af}, packets {b_in['packets']}, drops {b_in.get('drops')}")
    for side in (bed.a, bed.b):
        p = bed.ctl_run(side, ["status"], check=False)
        check(f"{side.name}: xdpsecd still answers status",
              p.returncode == 0 and side.proc.poll() is None, p.stderr.strip())
    # A's packets are well formed under A's key (scapy), B just has another key.
    return hdr.path, [("ping", cap.path)], drops


def replay_scenario(bed):
    check = bed.check
    a_ip, b_ip = bed.a.local, bed.b.local

    def snapshot():
        b_in = bed.sa(bed.b, "in")
        xdp = bed.ctl_json(bed.b, ["stats"])["xdp"]
        snmp = run(["cat", "/proc/net/snmp"], bed.b.ns).stdout.splitlines()
        icmp = [ln.split() for ln in snmp if ln.startswith("Icmp:")]
        in_echos = int(icmp[1][icmp[0].index("InEchos")])
        return {"replayed": b_in.get("drops", {}).get("replayed", 0),
                "too_old": xdp.get("drop_replay_too_old", {}).get("packets", 0),
                "packets": b_in["packets"], "in_echos": in_echos}

    hdr = bed.capture("hdr", snaplen=160)
    cap = bed.capture("ping", bpf_filter=f"src host {a_ip} and dst host {b_ip} and esp")
    try:
        sent, got = bed.ping(count=5, interval="0.1")
        cap.stop()
        check("ping A -> B (to capture)", sent == got == 5, f"{got}/{sent}")
        frames = [f for f, _ in read_pcap(cap.path)]
        check("captured the ESP echo requests A -> B", len(frames) == 5, f"{len(frames)} frames")
        if not frames:
            raise Fatal()
        replay = os.path.join(bed.tmp, "replay.pcap")
        shutil.copy(cap.path, replay)

        def resend(label, expect_counter):
            before = snapshot()
            script = ("import logging; logging.getLogger('scapy.runtime').setLevel(logging.ERROR)\n"
                      "from scapy.all import rdpcap, sendp\n"
                      f"sendp(rdpcap({replay!r}), iface='ua', verbose=0)\n")
            p = subprocess.Popen(ns_cmd(bed.a.ns, [sys.executable, "-c", script]),
                                 stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT)
            bed.procs.append(p)
            try:
                out, _ = p.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                stop_proc(p)
                out = b"timed out"
            if not check(f"scapy sendp of {len(frames)} captured frames ({label})",
                         p.returncode == 0, out.decode(errors="replace").strip()[-200:]):
                return
            after = before
            for _ in range(30):  # <= 3 s for the counters to settle
                time.sleep(0.1)
                after = snapshot()
                if after["replayed"] + after["too_old"] - before["replayed"] - \
                        before["too_old"] >= len(frames):
                    break
            time.sleep(0.3)
            after = snapshot()
            d = {k: after[k] - before[k] for k in after}
            check(f"replayed ESP dropped and counted ({label})",
                  d["replayed"] + d["too_old"] == len(frames),
                  f"worker drops.replayed +{d['replayed']}, XDP drop_replay_too_old "
                  f"+{d['too_old']} for {len(frames)} re-sent")
            check(f"replay took the expected path ({label})", d[expect_counter] == len(frames),
                  f"expected {expect_counter} +{len(frames)}")
            check(f"nothing delivered twice ({label})", d["packets"] == 0 and d["in_echos"] == 0,
                  f"B in-SA packets +{d['packets']}, B ICMP InEchos +{d['in_echos']}")

        resend("inside the window", "replayed")
        sent, got = bed.ping(count=70, interval="0.01", wait="1")
        check("70 more pings move B's window past the captured ones", got == sent == 70,
              f"{got}/{sent}; B in-SA replay_bottom {bed.sa(bed.b, 'in').get('replay_bottom')}")
        resend("left of the window", "too_old")
        for side in (bed.a, bed.b):
            p = bed.ctl_run(side, ["status"], check=False)
            check(f"{side.name}: xdpsecd still answers status",
                  p.returncode == 0 and side.proc.poll() is None, p.stderr.strip())
    finally:
        cap.stop()
        drops = hdr.stop()
    # The header capture holds the replays too: its sequence check is skipped
    # (they are duplicates on purpose); only the classification matters.
    return hdr.path, [("ping", os.path.join(bed.tmp, "ping.pcap"))], drops


def run_scenario(scen, idx, args, rep, summary):
    t0 = time.monotonic()
    bed = Bed(scen, args, rep, idx)
    line = {"scenario": scen.name}
    failed_before, xfailed_before = rep.failed, rep.xfailed
    pcaps = None
    phases = []

    last = [t0]

    def mark(name):
        now = time.monotonic()
        phases.append(f"{name} {now - last[0]:.1f}")
        last[0] = now

    try:
        bed.setup()
        mark("setup")
        bed.start_daemons()
        mark("start")
        if scen.kind == "traffic":
            pcaps = traffic_scenario(bed, line)
        elif scen.kind == "wrong_key":
            pcaps = wrong_key_scenario(bed)
        else:
            pcaps = replay_scenario(bed)
    except Fatal:
        pass
    except Interrupted:
        raise
    except Exception:  # noqa: BLE001
        rep.check(scen.name, "scenario ran without an exception", False, traceback.format_exc())
        for side in (bed.a, bed.b):
            bed.dump_log(side)
    finally:
        mark("traffic")
        try:
            if any(s.proc is not None for s in (bed.a, bed.b)):
                bed.stop_daemons()
        except Exception:  # noqa: BLE001
            rep.check(scen.name, "daemons stopped", False, traceback.format_exc())
        mark("stop")
        try:
            if pcaps:
                hdr_path, full, drops = pcaps
                if scen.kind == "replay":
                    check_wire_replay(bed, hdr_path, full)
                else:
                    check_wire(bed, hdr_path, full, drops)
        except Exception:  # noqa: BLE001
            rep.check(scen.name, "capture analysis", False, traceback.format_exc())
        mark("analysis")
        left = bed.cleanup()
        rep.check(scen.name, "namespaces removed", not left, ", ".join(left))
        mark("cleanup")
    dt = time.monotonic() - t0
    line["time"] = f"{dt:.1f} s"
    line["result"] = "ok" if rep.failed == failed_before else "FAILED"
    if rep.xfailed > xfailed_before:
        line["result"] += f" ({rep.xfailed - xfailed_before} xfail)"
    summary.append(line)
    print(f"---- [{scen.name}] {line['result']} in {dt:.1f} s ({', '.join(phases)})", flush=True)


def check_wire_replay(bed, hdr_path, full):
    """Replay scenario: classification and decryption only (the header
    capture holds deliberate duplicates)."""
    scen, check = bed.scen, bed.check
    bad = [classify(f, scen) for f, _ in read_pcap(hdr_path)]
    bad = [f.what for f in bad if f.kind == "bad"]
    check("wire holds only ESP (+ ARP/ND/MLD)", not bad, "; ".join(sorted(set(bad))[:3]))
    dec = Decryptor(scen, bed)
    frames = [classify(f, scen) for f, _ in read_pcap(full[0][1])]
    errors = []
    for fr in frames:
        try:
            if fr.kind != "esp":
                raise ValueError(fr.what or fr.kind)
            dec.decrypt(fr)
        except Exception as e:  # noqa: BLE001
            errors.append(f"{type(e).__name__}: {e}")
    check("scapy decrypts the captured (and replayed) frames", frames and not errors,
          f"{len(frames) - len(errors)}/{len(frames)}" + (f"; {errors[0]}" if errors else ""))


# --- main -------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True, help="CMake build directory")
    ap.add_argument("--only", action="append", default=[],
                    help="run scenarios whose name contains this (repeatable)")
    ap.add_argument("--iperf", choices=("all", "subset", "none"), default="all",
                    help="scenarios with iperf3 runs (default all; subset: see the docstring)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directories")
    ap.add_argument("--strict", action="store_true", help="count known failures (XFAIL) as failed")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    todo = [s for s in scenarios() if not args.only or any(o in s.name for o in args.only)]
    if args.list:
        for s in todo:
            print(s.name)
        return 0
    rc = preflight(args.build, ("cryptography",))
    if rc is not None:
        return rc
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    rep = Report(strict=args.strict)
    summary = []
    t0 = time.monotonic()
    try:
        for idx, scen in enumerate(todo):
            run_scenario(scen, idx, args, rep, summary)
    except Interrupted as e:
        rep.check("suite", "not interrupted", False, str(e))
    return print_summary(rep, summary, t0, "known failures")


if __name__ == "__main__":
    sys.exit(main())
