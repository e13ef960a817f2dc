"""Helpers shared by the end-to-end tests in network namespaces
(test_static_tunnel.py, test_ike_pair.py, test_runtime_sa.py): PASS/FAIL
reporting, child processes run inside a namespace and stopped by their PID,
the three-namespace wire, tcpdump captures read back without scapy, the
checks of what may appear on the capture link and inside a decrypted ESP
packet, and the drivers' preflight and summary. Needs nothing beyond the
Python standard library; only preflight() imports scapy, to see that the
tests can.
"""

import importlib
import ipaddress
import json
import logging
import os
import re
import select
import shutil
import signal
import struct
import subprocess
import tempfile
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


def make_wire(ns, created, no_dad=True):
    """The three namespaces ns["w"], ns["a"], ns["b"] (each appended to
    created as soon as it exists, for the cleanup) and the wire between A
    and B: veths ua (A) - la (W) and ub (B) - lb (W) on bridge br0 in W,
    IPv6 off in W. Addresses are the caller's."""
    for k in ("w", "a", "b"):
        run(["ip", "netns", "add", ns[k]])
        created.append(ns[k])
    A, B, W = ns["a"], ns["b"], ns["w"]
    run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
         "net.ipv6.conf.default.disable_ipv6=1"], W)
    # No DAD on the uplinks (what a server whose uplink has long been up
    # looks like): while its link-local address is tentative the kernel
    # sends no neighbour solicitation at all, and the daemon's first
    # outer-IPv6 next hop took 3-5 s to resolve.
    if no_dad:
        for n in (A, B):
            run(["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
                 "net.ipv6.conf.default.accept_dad=0"], n)
    run(["ip", "link", "add", "ua", "netns", A, "type", "veth", "peer", "name", "la",
         "netns", W])
    run(["ip", "link", "add", "ub", "netns", B, "type", "veth", "peer", "name", "lb",
         "netns", W])
    # Without multicast snooping: a snooping bridge joins 224.0.0.106
    # (RFC 4286) and sends IGMP reports of its own onto the wire.
    run(["ip", "-n", W, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"])
    for dev in ("la", "lb"):
        run(["ip", "-n", W, "link", "set", dev, "master", "br0", "up"])
    run(["ip", "-n", W, "link", "set", "br0", "up"])


class BedBase:
    """What every test bed has: its namespace names ns (keys a, b, w), a
    private temporary directory tmp (prefix tmp_prefix), the processes it
    started, the namespaces it created, its bpffs mount, the daemon and CLI
    of the build."""

    def __init__(self, args, ns, tmp_prefix):
        self.args, self.ns = args, ns
        self.tmp = tempfile.mkdtemp(prefix=tmp_prefix)
        os.chmod(self.tmp, 0o700)
        self.procs, self.created_ns, self.mounted = [], [], None
        self.xdpsecd = os.path.join(args.build, "userspace/daemon/xdpsecd")
        self.ctl = os.path.join(args.build, "userspace/cli/xdpsecctl")

    def cleanup(self):
        """Everything this bed started or created, whatever state it is in;
        quiet. The namespaces still there."""
        return cleanup_bed(self)

    dump_lines = 20  # lines of a daemon's log that dump_log() prints

    def dump_log(self, side):
        """The end of side.log (a daemon's output), for a failed check."""
        try:
            with open(side.log, errors="replace") as f:
                tail = [ln for ln in f.read().splitlines()
                        if "skipping unrecognized data section" not in ln][-self.dump_lines:]
        except OSError:
            return
        for ln in tail:
            print(f"    {side.name}.log: {ln}")


def write_private(path, lines):
    """lines into a new file path only its owner may read (it holds keys)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(lines) + "\n")


def start_xdpsecd(xdpsecd, ns, conf, log, procs):
    """xdpsecd --config conf --foreground in ns, stdout and stderr into the
    file log; added to procs for the cleanup. Returns the Popen."""
    with open(log, "wb") as logf:
        proc = subprocess.Popen(ns_cmd(ns, [xdpsecd, "--config", conf, "--foreground"]),
                                stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT)
    procs.append(proc)
    return proc


def wait_ready(proc, answers):
    """Polls answers() (the control socket answers) every 0.1 s, at most
    100 times (<= 10 s), while proc runs. "" when ready, else why not."""
    for _ in range(100):
        if proc.poll() is not None:
            return f"exited with {proc.returncode}"
        if answers():
            return ""
        time.sleep(0.1)
    return "control socket not answering after 10 s"


def cleanup_bed(bed):
    """Undoes what a test bed started or created, whatever state it is in,
    quietly: stops bed.procs (newest first, by PID), unmounts bed.mounted,
    deletes bed.created_ns (only those: other tests may run their own
    namespaces at the same time) and, unless bed.args.keep, removes bed.tmp.
    Returns the namespaces still there (also left in bed.created_ns)."""
    for p in reversed(bed.procs):
        try:
            stop_proc(p, signal.SIGTERM, grace=5)
        except Exception:  # noqa: BLE001
            pass
    if bed.mounted:
        if subprocess.run(["umount", bed.mounted], capture_output=True,
                          timeout=10).returncode != 0:
            subprocess.run(["umount", "-l", bed.mounted], capture_output=True, timeout=10)
        bed.mounted = None
    for n in bed.created_ns:
        subprocess.run(["ip", "netns", "del", n], capture_output=True, timeout=20)
    left = []
    for _ in range(20):  # <= 2 s
        lst = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                             timeout=10).stdout
        left = [n for n in bed.created_ns if re.search(rf"^{re.escape(n)}\b", lst, re.M)]
        if not left:
            break
        time.sleep(0.1)
    bed.created_ns = left
    if not bed.args.keep:
        shutil.rmtree(bed.tmp, ignore_errors=True)
    return left


def iperf3(procs, server_ns, client_ns, src, dst, udp, size=1400):
    """A 2 s iperf3 run from src in client_ns to a one-shot server on dst in
    server_ns (TCP, or UDP at 50 Mbit/s in datagrams of size bytes). The
    server is added to procs for the cleanup. Returns iperf3's JSON, or
    {"error": why}."""
    port = "5201"
    server = subprocess.Popen(ns_cmd(server_ns, ["iperf3", "-s", "-1", "-B", dst, "-p", port]),
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    procs.append(server)
    try:
        for _ in range(50):  # <= 5 s
            ss = run(["ss", "-Hltn", f"sport = :{port}"], server_ns, check=False)
            if ss.stdout.strip() or server.poll() is not None:
                break
            time.sleep(0.1)
        cmd = ["iperf3", "-c", dst, "-B", src, "-p", port, "-t", "2", "--json",
               "--connect-timeout", "3000"]
        if udp:
            cmd += ["-u", "-b", "50M", "-l", str(size)]
        p = run(cmd, client_ns, timeout=25, check=False)
        try:
            return json.loads(p.stdout)
        except ValueError:
            return {"error": (p.stdout + p.stderr).strip()[-300:] or f"exit {p.returncode}"}
    finally:
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            stop_proc(server)


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


# --- the drivers' common frame ---------------------------------------------------

def preflight(build, extra_imports=()):
    """What test_static_tunnel.py and test_ike_pair.py need before a bed:
    root, the tools, scapy's IPsec layer (and extra_imports, module names),
    the built daemon and CLI. None when all is there, else the exit code
    (after saying why)."""
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces, XDP, AF_XDP, bpffs)")
        return SKIP
    missing = [t for t in ("ip", "tcpdump", "iperf3", "ping", "ss", "sysctl", "mount", "umount")
               if not shutil.which(t)]
    if missing:
        print(f"SKIP: missing tools: {', '.join(missing)}")
        return SKIP
    try:
        logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
        logging.getLogger("scapy.loading").setLevel(logging.ERROR)
        importlib.import_module("scapy.layers.ipsec")
        for m in extra_imports:
            importlib.import_module(m)
    except ImportError as e:
        print(f"SKIP: {e} (run with Debian's /usr/bin/python3, python3-scapy)")
        return SKIP
    for b in ("userspace/daemon/xdpsecd", "userspace/cli/xdpsecctl"):
        if not os.access(os.path.join(build, b), os.X_OK):
            print(f"FAIL {b} not built in {build}")
            print("0 passed, 1 failed")
            return 1
    return None


def print_summary(rep, summary, t0, xfail_what):
    """The closing lines: one per scenario, the total time, the known
    issues (xfail_what names them), "N passed, M failed". Returns the exit
    code."""
    print("---- summary")
    for s in summary:
        extra = ", ".join(f"{k} {s[k]}" for k in ("tcp", "udp") if k in s)
        print(f"  {s['result']:<13} {s['time']:>7}  {s['scenario']}" +
              (f"  ({extra})" if extra else ""))
    print(f"  total {time.monotonic() - t0:.0f} s")
    if rep.xfailed:
        print(f"{rep.xfailed} {xfail_what} (XFAIL; --strict counts them as failed)")
    print(f"{rep.passed} passed, {rep.failed} failed")
    return 0 if rep.failed == 0 else 1


def decrypt_capture(path, classify, decrypt, skip=("chatter",)):
    """Decrypts every ESP frame of a full capture: classify(frame bytes)
    gives a Frame, decrypt(Frame) the inner packet (or raises). Frames of a
    kind in skip are passed over; any other that is not ESP, is truncated
    or does not decrypt counts against. Returns (all of at least one frame
    decrypted to a valid inner packet, detail for the check)."""
    n = ok = 0
    errors, kinds = [], {}
    t0 = time.monotonic()
    for fr_bytes, orig in read_pcap(path):
        fr = classify(fr_bytes)
        if fr.kind in skip:
            continue
        n += 1
        if fr.kind == "bad":
            errors.append(fr.what)
            continue
        if len(fr_bytes) != orig:
            errors.append(f"truncated capture ({len(fr_bytes)} of {orig})")
            continue
        try:
            k = inner_kind(decrypt(fr))
            kinds[k] = kinds.get(k, 0) + 1
            ok += 1
        except Exception as e:  # noqa: BLE001 - every reason is reported
            errors.append(f"SPI {fr.spi:#x} seq {fr.seq}: {type(e).__name__}: {e}")
    detail = (f"{ok}/{n} valid inner packets in {time.monotonic() - t0:.1f} s ("
              f"{', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))})" +
              (f"; e.g. {'; '.join(errors[:2])}" if errors else ""))
    return n > 0 and ok == n, detail
