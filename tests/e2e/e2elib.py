"""Helpers shared by the end-to-end tests in network namespaces
(test_static_tunnel.py, test_ike_pair.py): PASS/FAIL reporting, child
processes run inside a namespace and stopped by their PID, tcpdump captures
read back without scapy, and the checks of what may appear on the capture
link and inside a decrypted ESP packet. Needs nothing beyond the Python
standard library; the tests import scapy themselves.
"""

import ipaddress
import os
import re
import select
import signal
import struct
import subprocess
import time
from dataclasses import dataclass

SKIP = 77  # ctest's SKIP_RETURN_CODE for these tests


# --- reporting ----------------------------------------------------------------

class Report:
    """PASS/FAIL lines. A check given a known issue (xfail) that fails prints
    XFAIL and counts as neither (as a failure with --strict); one that
    passes prints XPASS and counts as passed: time to drop the xfail."""

    def __init__(self, strict=False):
        self.passed = self.failed = self.xfailed = 0
        self.strict = strict

    def check(self, scen, what, ok, detail="", xfail=None):
        if ok:
            self.passed += 1
            tag = "XPASS" if xfail else "PASS"
        elif xfail and not self.strict:
            self.xfailed += 1
            tag = "XFAIL"
        else:
            self.failed += 1
            tag = "FAIL"
        line = f"{tag} [{scen}] {what}"
        if detail:
            line += f": {detail}"
        if xfail and not ok:
            line += f"\n      known issue: {xfail}"
        print(line, flush=True)
        return ok


class Fatal(Exception):
    """A scenario cannot go on (its failure was already reported)."""


class Interrupted(BaseException):
    pass


def on_signal(signum, _frame):
    # Once: the teardown that the exception unwinds into must not be cut short.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise Interrupted(f"signal {signum}")


# --- processes and namespaces -------------------------------------------------

def ns_cmd(ns, cmd):
    return ["ip", "netns", "exec", ns] + cmd if ns else cmd


def run(cmd, ns=None, timeout=20, check=True):
    p = subprocess.run(ns_cmd(ns, cmd), capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} (ns {ns}): exit {p.returncode}: "
                           f"{(p.stderr or p.stdout).strip()}")
    return p


def stop_proc(p, sig=signal.SIGTERM, grace=5.0):
    """Stops one child by its PID; returns its exit status."""
    if p.poll() is None:
        try:
            p.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
    return p.returncode


class Capture:
    """tcpdump -w on one interface of one namespace."""

    def __init__(self, procs, ns, iface, path, snaplen=0, count=None, bpf_filter=None):
        cmd = ["tcpdump", "-Z", "root", "-n", "-U", "--immediate-mode", "-B", "16384",
               "-s", str(snaplen), "-i", iface, "-w", path]
        if count:
            cmd += ["-c", str(count)]
        if bpf_filter:
            cmd += [bpf_filter]
        self.path = path
        self.proc = subprocess.Popen(ns_cmd(ns, cmd), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        procs.append(self.proc)  # the scenario's cleanup stops it whatever happens
        self.stderr = b""
        deadline = time.monotonic() + 5
        while b"listening on" not in self.stderr and time.monotonic() < deadline:
            r, _, _ = select.select([self.proc.stderr], [], [], 0.1)
            if r:
                chunk = os.read(self.proc.stderr.fileno(), 4096)
                if not chunk:
                    break
                self.stderr += chunk
        if b"listening on" not in self.stderr:
            stop_proc(self.proc, grace=1)
            why = self.stderr.decode(errors="replace").strip()
            raise RuntimeError(f"tcpdump did not start: {why}")

    def stop(self):
        """Returns the number of packets the kernel dropped (tcpdump's own
        report). Idempotent."""
        if not self.proc.stderr.closed:
            if self.proc.poll() is None:
                time.sleep(0.2)  # let the last frames reach the ring
            stop_proc(self.proc, signal.SIGINT)
            self.stderr += self.proc.stderr.read() or b""
            self.proc.stderr.close()
        m = re.search(rb"(\d+) packets? dropped by kernel", self.stderr)
        return int(m.group(1)) if m else 0


def read_pcap(path):
    """[(frame bytes, original length)] of a pcap file (Ethernet)."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return out
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        raise RuntimeError(f"{path}: not a pcap file")
    linktype = struct.unpack(e + "I", data[20:24])[0]
    if linktype != 1:
        raise RuntimeError(f"{path}: link type {linktype}, expected Ethernet")
    off = 24
    while off + 16 <= len(data):
        _, _, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        out.append((data[off:off + incl], orig))
        off += incl
    return out


# --- checksums ----------------------------------------------------------------

def ones_sum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


# --- classification of wire frames ------------------------------------------

@dataclass
class Frame:
    kind: str            # esp | chatter | bad (test_ike_pair.py adds ike)
    what: str = ""       # chatter kind or why bad
    src: bytes = b""     # packed outer source address
    spi: int = 0
    seq: int = 0
    l3: bytes = b""      # the IP packet (for esp)


_MLD_DST = ipaddress.ip_address("ff02::16").packed


def hdr_text(ip, v, proto):
    """A frame's addresses for a message (only built for frames that fail)."""
    a = (ip[12:16], ip[16:20]) if v == 4 else (ip[8:24], ip[24:40])
    src, dst = (ipaddress.ip_address(x) for x in a)
    return f"IPv{v} {src} > {dst} {'proto' if v == 4 else 'nh'} {proto}"


def parse_frame(frame, outer):
    """One Ethernet frame on the wire: a Frame when it is link chatter (ARP,
    IPv6 neighbour discovery, MLD) or cannot be right whatever it carries
    (runt, bad IP header, fragment, not of the outer family `outer`);
    otherwise (version, ip, l4 offset, protocol, src, dst) for the caller's
    own rules. Works on bytes: it runs over every frame of a capture of
    iperf3 traffic."""
    if len(frame) < 14:
        return Frame("bad", "runt frame")
    etype = struct.unpack("!H", frame[12:14])[0]
    ip = frame[14:]
    if etype == 0x0806:
        return Frame("chatter", "arp")
    if etype == 0x0800:
        if len(ip) < 20 or ip[0] >> 4 != 4:
            return Frame("bad", "bad IPv4 header")
        ihl = (ip[0] & 0xF) * 4
        proto = ip[9]
        if struct.unpack("!H", ip[6:8])[0] & 0x3FFF:
            return Frame("bad", f"{hdr_text(ip, 4, proto)}: fragment")
        if outer != 4:
            return Frame("bad", f"{hdr_text(ip, 4, proto)}: IPv4 in an outer-IPv6 scenario")
        return 4, ip, ihl, proto, ip[12:16], ip[16:20]
    if etype == 0x86DD:
        if len(ip) < 40 or ip[0] >> 4 != 6:
            return Frame("bad", "bad IPv6 header")
        nh, hlim = ip[6], ip[7]
        src, dst = ip[8:24], ip[24:40]
        off, hbh = 40, False
        if nh == 0 and len(ip) >= off + 8:  # hop-by-hop (MLD carries router alert)
            nh, off, hbh = ip[off], off + (ip[off + 1] + 1) * 8, True
        if nh == 58 and len(ip) > off:
            t = ip[off]
            if t in (133, 135, 136) and hlim == 255 and not hbh:
                return Frame("chatter", {133: "nd-rs", 135: "nd-ns", 136: "nd-na"}[t])
            src_ll = src[:2] == b"\xfe\x80" or src == bytes(16)
            if t == 143 and hlim == 1 and hbh and dst == _MLD_DST and src_ll:
                return Frame("chatter", "mld")
            return Frame("bad", f"{hdr_text(ip, 6, 58)}: ICMPv6 type {t} hop limit {hlim}")
        if hbh:
            return Frame("bad", f"{hdr_text(ip, 6, 0)}: hop-by-hop header in front of {nh}")
        if outer != 6:
            return Frame("bad", f"{hdr_text(ip, 6, nh)}: IPv6 that is not ND/MLD in an "
                                "outer-IPv4 scenario")
        return 6, ip, off, nh, src, dst
    return Frame("bad", f"ethertype {etype:#06x}")


# --- what comes out of ESP ------------------------------------------------------

def check_inner_packet(b, want_v, src_nets, dst_nets):
    """Raises ValueError unless b is a valid inner packet of IP version
    want_v (None: 4 or 6) from an address in src_nets to one in dst_nets
    (lists of ip_network, of either family): lengths, IPv4 header checksum,
    ICMP/TCP/UDP checksum unless it is a fragment."""
    if not b or b[0] >> 4 not in ((want_v,) if want_v else (4, 6)):
        raise ValueError(f"inner packet is not IPv{want_v or '4/6'}: {b[:20].hex()}")
    v = b[0] >> 4
    if v == 4:
        ihl = (b[0] & 0xF) * 4
        if struct.unpack("!H", b[2:4])[0] != len(b) or ihl < 20:
            raise ValueError("inner IPv4 length")
        if ones_sum(b[:ihl]) != 0xFFFF:
            raise ValueError("inner IPv4 header checksum")
        src, dst = b[12:16], b[16:20]
        proto, l4 = b[9], b[ihl:]
        fragment = struct.unpack("!H", b[6:8])[0] & 0x3FFF
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(l4))
    else:
        if struct.unpack("!H", b[4:6])[0] != len(b) - 40:
            raise ValueError("inner IPv6 payload length")
        src, dst = b[8:24], b[24:40]
        proto, l4 = b[6], b[40:]
        fragment = proto == 44
        pseudo = src + dst + struct.pack("!IxxxB", len(l4), proto)
    s_ip, d_ip = ipaddress.ip_address(src), ipaddress.ip_address(dst)
    if not any(s_ip in n for n in src_nets if n.version == v) or \
            not any(d_ip in n for n in dst_nets if n.version == v):
        raise ValueError(f"inner {s_ip} > {d_ip} outside "
                         f"{','.join(map(str, src_nets))} > {','.join(map(str, dst_nets))}")
    allowed = {4: (1, 6, 17), 6: (58, 6, 17, 44)}[v]
    if proto not in allowed:
        raise ValueError(f"inner protocol {proto}")
    if fragment:
        return
    if proto == 1:
        ok = ones_sum(l4) == 0xFFFF
    elif proto == 17 and v == 4 and l4[6:8] == b"\0\0":
        ok = True  # IPv4 UDP without checksum
    else:
        ok = ones_sum(pseudo + l4) == 0xFFFF
    if not ok:
        raise ValueError(f"inner protocol {proto} checksum")


def inner_kind(b):
    """'udp6', 'tcp4', 'frag4', ... for the statistics in check details."""
    names = {1: "icmp", 6: "tcp", 17: "udp", 58: "icmp", 44: "frag"}
    if b[0] >> 4 == 4:
        frag = struct.unpack("!H", b[6:8])[0] & 0x3FFF
        return ("frag" if frag else names.get(b[9], str(b[9]))) + "4"
    return names.get(b[6], str(b[6])) + "6"
