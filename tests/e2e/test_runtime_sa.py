#!/usr/bin/python3
"""SAs installed and removed while the data plane carries traffic (what the
IKE engine will do), against a peer xdpsecd with static SAs.

Usage: test_runtime_sa.py --build BUILD_DIR [--keep]   (root; exits 77 otherwise)

Topology (names carry this process's PID, prefix xrtsa-, so that the test
cannot collide with another e2e test running at the same time):

    ns A                          ns W                       ns B
    198.51.100.1/24 on lo         br0: la + lb               203.0.113.1/24 on lo
    ua 192.0.2.1/24 ---- veth ---- la    lb ---- veth ---- ub 192.0.2.2/24
    runtime_sa_tool (uplink ua,                              xdpsecd (uplink ub, static
    tunnel device xrt0)                                      [sa.*] sections)

B is configured with one outbound SA (SPI_B) and three inbound SAs with the
same selectors (SPI_A1..3: several inbound SAs of one flow side by side, as
during a rekey). A is build/tests/e2e/runtime_sa_tool: a Dataplane started
with no SA at all, driven over stdin through the KernelAdapter, that:

  * starts with zero SAs: the tunnel MTU is the uplink's less the worst
    overhead of any transform (computed here from RFC sizes: IPv6 outer
    header, UDP encapsulation, AES-CBC with HMAC-SHA-512-256), the SAD is
    empty and nothing is routed into the tunnel device;
  * gets out SPI_A1 + in SPI_B at runtime: ping A -> B works;
  * deletes both: the SAD and both SPDs are empty (bpftool), the route is
    gone, usage() no longer finds them, and ping fails;
  * gets out SPI_A2 + in SPI_B again (the freed slots are reused): ping works,
    and B counts it on SPI_A2;
  * make-before-break: out SPI_A3 is added while SPI_A2 is installed: the
    newer SA takes the traffic (B counts on SPI_A3, SPI_A2 stands still);
    SPI_A3 is deleted: traffic goes back to SPI_A2, with no route lost;
  * usage(SPI_A2, out) on A equals B's packet count on SPI_A2;
  * quits: exit 0, xrt0 and its peer gone, no XDP program left on ua, the pin
    directory empty or gone. B stops on SIGTERM with exit 0.

Everything started here is a child process stopped by its PID; namespaces,
the bpffs mount and the temporary directory are removed on success and on
failure (and on SIGTERM/SIGINT). Prints PASS/FAIL per check; exits 1 on any
failure, 77 when not root or a tool is missing.
"""

import argparse
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time

from e2elib import (SKIP, BedBase, Fatal, Interrupted, make_wire, ns_cmd, on_signal, run,
                    start_xdpsecd, stop_proc, write_private)

A_LINK, B_LINK = "192.0.2.1", "192.0.2.2"
A_INNER, A_NET = "198.51.100.1", "198.51.100.0/24"
B_INNER, B_NET = "203.0.113.1", "203.0.113.0/24"
ALG, ENC_LEN = "aes128gcm16", 20  # AES-128 key + 4-byte salt (RFC 4106)
SPI_A1, SPI_A2, SPI_A3, SPI_B = 0xA1000001, 0xA1000002, 0xA1000003, 0xB1000001
UPLINK_MTU = 1500
TUNNEL_IF = "xrt0"

# Worst case ESP adds to a packet (RFC 4303 §2, RFC 3948 §2.1): outer IPv6
# header 40, UDP 8, SPI + sequence 8, IV, padding up to block - 1, pad length
# and next header 2, ICV. Per transform: (IV, ICV, block).
TRANSFORMS = {
    "aes-gcm": (8, 16, 4), "chacha20-poly1305": (8, 16, 4), "aes-gmac": (8, 16, 4),
    "aes-cbc-hmac-sha1-96": (16, 12, 16), "aes-cbc-hmac-sha256-128": (16, 16, 16),
    "aes-cbc-hmac-sha384-192": (16, 24, 16), "aes-cbc-hmac-sha512-256": (16, 32, 16),
}
WORST_OVERHEAD = max(40 + 8 + 8 + iv + block - 1 + 2 + icv
                     for iv, icv, block in TRANSFORMS.values())

results = []


def check(what, ok, detail=""):
    results.append(bool(ok))
    print(f"{'PASS' if ok else 'FAIL'} {what}" + (f": {detail}" if detail else ""), flush=True)
    return ok


class Tool:
    """runtime_sa_tool in ns A: one command line in, one reply line out."""

    def __init__(self, path, ns, pin_dir, log):
        self.log = open(log, "wb")
        self.proc = subprocess.Popen(
            ns_cmd(ns, [path, "--uplink", "ua", "--tunnel-if", TUNNEL_IF, "--pin-dir", pin_dir]),
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        self.buf = b""

    def line(self, timeout=10):
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.proc.stdout], [], [], left)
            if not r:
                continue
            chunk = os.read(self.proc.stdout.fileno(), 4096)
            if not chunk:
                return None
            self.buf += chunk
        out, self.buf = self.buf.split(b"\n", 1)
        return out.decode()

    def cmd(self, text, timeout=10):
        self.proc.stdin.write(text.encode() + b"\n")
        self.proc.stdin.flush()
        return self.line(timeout) or "error no reply"

    def stop(self):
        if self.proc.poll() is None:
            stop_proc(self.proc)
        self.log.close()


class Bed(BedBase):
    def __init__(self, args):
        pid = os.getpid()
        super().__init__(args, {k: f"xrtsa-{k}-{pid}" for k in ("a", "b", "w")}, "xdpsec-rtsa-")
        self.tool = None
        self.daemon = None
        self.tool_path = os.path.join(args.build, "tests/e2e/runtime_sa_tool")
        self.bpf = os.path.join(self.tmp, "bpf")
        self.pins_a = os.path.join(self.bpf, "a")
        self.sock = os.path.join(self.tmp, "b.sock")
        self.keys = {spi: os.urandom(ENC_LEN) for spi in (SPI_A1, SPI_A2, SPI_A3, SPI_B)}

    def setup(self):
        make_wire(self.ns, self.created_ns, no_dad=False)  # IPv4 only here
        A, B = self.ns["a"], self.ns["b"]
        for n, up, link, inner in ((A, "ua", A_LINK, A_INNER), (B, "ub", B_LINK, B_INNER)):
            run(["ip", "-n", n, "addr", "add", f"{link}/24", "dev", up])
            run(["ip", "-n", n, "link", "set", up, "up"])
            run(["ip", "-n", n, "link", "set", "lo", "up"])
            run(["ip", "-n", n, "addr", "add", f"{inner}/24", "dev", "lo"])
        os.makedirs(self.bpf)
        run(["mount", "-t", "bpf", "bpf", self.bpf])
        self.mounted = self.bpf
        os.makedirs(self.pins_a)
        os.makedirs(os.path.join(self.bpf, "b"))

    def write_b_config(self):
        lines = ["[daemon]", "uplink = ub", "tunnel_if = xdpsec0", f"socket = {self.sock}",
                 "workers = 1", f"instance = rtsab{os.getpid()}",
                 f"bpffs = {os.path.join(self.bpf, 'b')}"]
        sas = [("out", SPI_B, "out")] + [(f"in{i}", spi, "in")
                                         for i, spi in enumerate((SPI_A1, SPI_A2, SPI_A3), 1)]
        for name, spi, direction in sas:
            lines += ["", f"[sa.{name}]", f"spi = 0x{spi:08x}", f"direction = {direction}",
                      f"esp = {ALG}", f"enc_key = 0x{self.keys[spi].hex()}", "mode = tunnel",
                      f"local = {B_LINK}", f"remote = {A_LINK}", f"local_ts = {B_NET}",
                      f"remote_ts = {A_NET}"]
        path = os.path.join(self.tmp, "b.conf")
        write_private(path, lines)
        return path

    def start_daemon(self):
        conf = self.write_b_config()
        self.daemon = start_xdpsecd(self.xdpsecd, self.ns["b"], conf,
                                    os.path.join(self.tmp, "b.log"), self.procs)
        for _ in range(100):  # <= 10 s
            if self.daemon.poll() is not None:
                break
            if self.ctl_run(["status"], check_rc=False).returncode == 0:
                break
            time.sleep(0.1)
        ok = self.daemon.poll() is None and self.ctl_run(["status"], check_rc=False).returncode == 0
        if not check("xdpsecd B starts with three inbound SAs of the same selectors", ok,
                     "" if ok else self.log_tail("b.log")):
            raise Fatal()
        hop = "unresolved"
        for _ in range(100):
            out = [s for s in self.sa_list() if s["direction"] == "out"]
            hop = out[0].get("next_hop", "unresolved") if out else "no outbound SA"
            if hop != "unresolved":
                break
            time.sleep(0.1)
        check("B: outbound next hop resolved", hop != "unresolved", hop)

    def ctl_run(self, cmd, check_rc=True):
        return run([self.ctl, "--socket", self.sock, "--json"] + cmd, self.ns["b"], timeout=10,
                   check=check_rc)

    def sa_list(self):
        return json.loads(self.ctl_run(["sa", "list"]).stdout)["sas"]

    def b_packets(self):
        """B's inbound packet count per SPI."""
        out = {}
        for s in self.sa_list():
            if s["direction"] == "in":
                spi = s["spi"]
                out[int(spi, 16) if isinstance(spi, str) else spi] = s["packets"]
        return out

    def log_tail(self, name, lines=15):
        try:
            with open(os.path.join(self.tmp, name), errors="replace") as f:
                return "\n    " + "\n    ".join(
                    ln for ln in f.read().splitlines()[-lines:]
                    if "skipping unrecognized data section" not in ln)
        except OSError:
            return ""

    def map_entries(self, name):
        p = run(["bpftool", "-j", "map", "dump", "pinned", os.path.join(self.pins_a, name)],
                check=False)
        if p.returncode != 0:
            return None
        return len(json.loads(p.stdout or "[]"))

    def routes(self):
        return run(["ip", "-n", self.ns["a"], "route", "show", "dev", TUNNEL_IF],
                   check=False).stdout.strip()

    def ping(self, count=4):
        p = run(["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "1", "-I", A_INNER,
                 B_INNER], self.ns["a"], timeout=count * 0.2 + 15, check=False)
        m = re.search(r"(\d+) packets transmitted, (\d+) received", p.stdout)
        return int(m.group(2)) if m else 0

    def add(self, name, spi, direction):
        # Selectors as A sees them, whichever the direction.
        r = self.tool.cmd(f"add {name} 0x{spi:08x} {direction} {ALG} {self.keys[spi].hex()} - "
                          f"{A_LINK} {B_LINK} {A_NET} {B_NET}")
        return check(f"A: add {name} (SPI 0x{spi:08x} {direction}) at runtime", r == "ok", r)

    def delete(self, spi, direction):
        r = self.tool.cmd(f"del 0x{spi:08x} {direction}")
        return check(f"A: delete SPI 0x{spi:08x} {direction}", r == "ok", r)

    def usage(self, spi, direction):
        r = self.tool.cmd(f"usage 0x{spi:08x} {direction}").split()
        if len(r) != 4 or r[0] != "ok":
            return None
        return (r[1] == "1", int(r[2]), int(r[3]))

    def wait_resolved(self):
        r = ""
        for _ in range(50):  # <= 5 s
            r = self.tool.cmd("resolved")
            if r == "ok 1":
                break
            time.sleep(0.1)
        return check("A: outbound next hop resolved", r == "ok 1", r)

    def cleanup(self):
        if self.tool:
            self.tool.stop()
        return super().cleanup()


def scenario(bed):
    A = bed.ns["a"]
    bed.tool = Tool(bed.tool_path, A, bed.pins_a, os.path.join(bed.tmp, "a.log"))
    bed.procs.append(bed.tool.proc)
    ready = bed.tool.line(timeout=15) or ""
    if not check("A: Dataplane starts with no SA", ready.startswith("ready "),
                 ready + ("" if ready.startswith("ready ") else bed.log_tail("a.log"))):
        raise Fatal()
    mtu = int(ready.split()[1])
    link = run(["ip", "-n", A, "link", "show", TUNNEL_IF]).stdout
    m = re.search(r"mtu (\d+)", link)
    dev_mtu = int(m.group(1)) if m else 0
    check("A: tunnel MTU without SAs = uplink MTU - worst overhead of any transform",
          mtu == dev_mtu == UPLINK_MTU - WORST_OVERHEAD,
          f"reported {mtu}, {TUNNEL_IF} has {dev_mtu}, expected {UPLINK_MTU - WORST_OVERHEAD}")
    check("A: SAD empty before any SA", bed.map_entries("xdpsec_sad") == 0)
    check("A: nothing routed into the tunnel device", bed.routes() == "", bed.routes())

    bed.start_daemon()

    # Generation 1.
    if not (bed.add("a-out-1", SPI_A1, "out") and bed.add("a-in-1", SPI_B, "in")):
        raise Fatal()
    bed.wait_resolved()
    got = bed.ping()
    check("ping A -> B through SAs added at runtime", got == 4, f"{got}/4 replies")
    check("A: one SAD entry", bed.map_entries("xdpsec_sad") == 1)
    check("A: one outbound policy", bed.map_entries("xdpsec_spd_out") == 1)
    check("B: SPI_A1 carried the pings", bed.b_packets().get(SPI_A1, 0) >= 4,
          str(bed.b_packets()))

    # Removal.
    bed.delete(SPI_A1, "out")
    bed.delete(SPI_B, "in")
    check("A: SAD empty after removal (bpftool)", bed.map_entries("xdpsec_sad") == 0,
          str(bed.map_entries("xdpsec_sad")))
    check("A: SPD out empty after removal", bed.map_entries("xdpsec_spd_out") == 0,
          str(bed.map_entries("xdpsec_spd_out")))
    check("A: SPD in empty after removal", bed.map_entries("xdpsec_spd_in") == 0,
          str(bed.map_entries("xdpsec_spd_in")))
    check("A: route into the tunnel device removed", bed.routes() == "", bed.routes())
    u = bed.usage(SPI_A1, "out")
    check("A: usage() no longer finds the removed SA", u is not None and not u[0], str(u))
    before = bed.b_packets().get(SPI_A1, 0)
    got = bed.ping(count=2)
    check("ping fails without SAs", got == 0, f"{got}/2 replies")
    check("B: nothing more arrived on SPI_A1", bed.b_packets().get(SPI_A1, 0) == before)

    # Generation 2: new outbound SPI, the inbound one again, in freed slots.
    if not (bed.add("a-out-2", SPI_A2, "out") and bed.add("a-in-1", SPI_B, "in")):
        raise Fatal()
    bed.wait_resolved()
    got = bed.ping()
    check("ping A -> B through the re-added SAs", got == 4, f"{got}/4 replies")
    check("A: one SAD entry again", bed.map_entries("xdpsec_sad") == 1)
    p0 = bed.b_packets()
    check("B: SPI_A2 carried the pings", p0.get(SPI_A2, 0) >= 4, str(p0))

    # Make-before-break: the newer outbound SA takes over, the older stays.
    if not bed.add("a-out-3", SPI_A3, "out"):
        raise Fatal()
    got = bed.ping()
    p1 = bed.b_packets()
    check("ping with two outbound SAs of the same selectors", got == 4, f"{got}/4 replies")
    check("B: the newer SA (SPI_A3) took the traffic", p1.get(SPI_A3, 0) >= 4 and
          p1.get(SPI_A2, 0) == p0.get(SPI_A2, 0), f"before {p0}, after {p1}")
    check("A: still one outbound policy (the newer one)", bed.map_entries("xdpsec_spd_out") == 1)
    bed.delete(SPI_A3, "out")
    check("A: route kept while SPI_A2 still covers it", B_NET.split("/")[0] in bed.routes(),
          bed.routes())
    got = bed.ping()
    p2 = bed.b_packets()
    check("ping after deleting the newer SA", got == 4, f"{got}/4 replies")
    check("B: traffic back on the older SA (SPI_A2)",
          p2.get(SPI_A2, 0) >= p1.get(SPI_A2, 0) + 4 and p2.get(SPI_A3, 0) == p1.get(SPI_A3, 0),
          f"before {p1}, after {p2}")
    u = bed.usage(SPI_A2, "out")
    check("A: usage(SPI_A2, out) equals what B received on it",
          u is not None and u[0] and u[1] == p2.get(SPI_A2, 0), f"A {u}, B {p2.get(SPI_A2)}")

    # Churn under load: the newer SA comes and goes 20 times while pings
    # flow every 2 ms, so that SAs are unpublished with frames in flight.
    # SPI_A3 restarts at sequence number 1 each time: B drops those as
    # replays, which is not what is checked here; A must stay up and carry
    # traffic on SPI_A2 between and after.
    flood = subprocess.Popen(ns_cmd(A, ["ping", "-n", "-q", "-i", "0.002", "-c", "1000", "-W", "1",
                                        "-I", A_INNER, B_INNER]),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    bed.procs.append(flood)
    replies = []
    t = time.monotonic()
    for _ in range(20):
        replies.append(bed.tool.cmd(f"add a-out-3 0x{SPI_A3:08x} out {ALG} "
                                    f"{bed.keys[SPI_A3].hex()} - {A_LINK} {B_LINK} {A_NET} {B_NET}"))
        time.sleep(0.02)
        replies.append(bed.tool.cmd(f"del 0x{SPI_A3:08x} out"))
    churn = time.monotonic() - t
    out, _ = flood.communicate(timeout=30)
    m = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    bad = [r for r in replies if r != "ok"]
    check("A: 20 add/delete cycles under traffic", not bad and bed.tool.proc.poll() is None,
          f"{churn:.1f} s" if not bad else "; ".join(bad[:3]))
    check("traffic flowed during the churn", m is not None and int(m.group(2)) > 0,
          m.group(0) if m else out.strip()[-200:])
    got = bed.ping()
    check("ping after the churn", got == 4, f"{got}/4 replies")

    # Teardown of A.
    bed.tool.proc.stdin.write(b"quit\n")
    bed.tool.proc.stdin.flush()
    try:
        rc = bed.tool.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        rc = None
    check("A: tool exits 0", rc == 0, f"exit {rc}" + ("" if rc == 0 else bed.log_tail("a.log")))
    for dev in (TUNNEL_IF, TUNNEL_IF + "p"):
        p = run(["ip", "link", "show", dev], A, check=False)
        check(f"A: {dev} removed", p.returncode != 0, p.stdout.strip())
    p = run(["ip", "-d", "link", "show", "ua"], A, check=False)
    clean = p.returncode == 0 and "xdp" not in p.stdout
    check("A: no XDP program left on ua", clean, "" if clean else p.stdout.strip())
    names = os.listdir(bed.pins_a) if os.path.isdir(bed.pins_a) else []
    check("A: pin directory empty or gone", not names, ", ".join(names))

    rc = stop_proc(bed.daemon, grace=10)
    check("B: xdpsecd exits 0 on SIGTERM", rc == 0,
          f"exit {rc}" + ("" if rc == 0 else bed.log_tail("b.log")))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces, XDP, AF_XDP, bpffs)")
        return SKIP
    missing = [t for t in ("ip", "ping", "bpftool", "sysctl", "mount", "umount")
               if not shutil.which(t)]
    if missing:
        print(f"SKIP: missing {', '.join(missing)}")
        return SKIP
    bed = Bed(args)
    for exe in (bed.xdpsecd, bed.ctl, bed.tool_path):
        if not os.access(exe, os.X_OK):
            print(f"FAIL {exe} not built")
            return 1
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    t0 = time.monotonic()
    try:
        bed.setup()
        scenario(bed)
    except Fatal:
        pass
    except Interrupted as e:
        check("test ran to the end", False, str(e))
    except Exception as e:  # noqa: BLE001
        check("test ran to the end", False, f"{type(e).__name__}: {e}")
    finally:
        left = bed.cleanup()
        check("namespaces deleted", not left, ", ".join(left))
    failed = results.count(False)
    print(f"{len(results) - failed} passed, {failed} failed ({time.monotonic() - t0:.1f} s)")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
