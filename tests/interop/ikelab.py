#!/usr/bin/python3
"""ikelab: a two-namespace IKEv2 lab for interop tests and benchmarks.

    import ikelab
    with ikelab.Lab() as lab:
        pki = ikelab.Pki(lab)                      # only for certificate auth
        sw = ikelab.StrongSwan(lab, lab.b, ikelab.Conn(
            local=lab.b.addr4, remote=lab.a.addr4,
            local_ts=lab.b.net4, remote_ts=lab.a.net4, psk="secret"))
        sw.start()
        xd = ikelab.Xdpsec(lab, lab.a, tunnels={"peer": {...}})   # [tunnel.peer] keys
        xd.start()
        ...
        ikelab.ping(lab.a.ns, lab.b.site4, src=lab.a.site4)
    # namespaces, processes, /etc/netns dirs, the bpffs mount and the
    # temporary directory are gone here, whatever happened inside

Layout (documentation prefixes only; names carry a per-run prefix):

    namespace A (lab.a)                          namespace B (lab.b)
    lo   198.51.100.1/24  2001:db8:a::1/64       lo   203.0.113.1/24  2001:db8:b::1/64
    up0  192.0.2.1/24     2001:db8::1/64 <--veth--> up0  192.0.2.2/24  2001:db8::2/64

Lab(nat="a") (or "b") puts that node behind a NAT instead, IPv4 only: a third
namespace N (lab.n_ns) forwards between two veth pairs, A.up0 <-> N.n-a and
N.n-b <-> B.up0 (the uplinks keep their name), and masquerades (nftables,
port-randomised) what leaves towards the public node; new flows from the
public side to the NATed one are dropped. The NATed node keeps its uplink
address in 192.0.2.0/25 (gateway 192.0.2.126), the public node gets
192.0.2.130 in 192.0.2.128/25 (gateway N's 192.0.2.129 = lab.nat_public, the
address the public node sees); both route by default via N, addr6 is None.

The inner "site" addresses sit on each namespace's loopback. What a tunnel
needs from them: a local address inside local_ts that traffic can start from
(ping -I, iperf3 -B; charon's install_routes picks it as the source of its
route) and a local destination for what comes out of the tunnel. On lo both
hold without forwarding, rp_filter or a third namespace getting involved;
the tunnel endpoints are the hosts themselves, as in tests/e2e. (This kernel
has no dummy link type; 10.x prefixes are avoided: the lab uses the RFC 5737
and RFC 3849 documentation ranges only.) IPv6 addresses are added with
nodad and DAD is off in both namespaces, so they are usable at once.

What Lab creates and removes (on leaving the `with`, on an exception, on
SIGINT/SIGTERM, which are turned into an `Interrupted` exception while the
lab is open, and at interpreter exit as a last resort):
  * the two namespaces (and every process still inside them: all of them are
    descendants of processes the lab started);
  * /etc/netns/NS (strongSwan's configuration, which `ip netns exec` binds
    over /etc), and /etc/netns itself when the lab created it and it is empty;
  * a bpffs mounted at TMP/bpf, one pin directory per xdpsecd under it (the
    daemon removes its pins when it stops; teardown checks that it did);
  * the temporary directory TMP (kept with keep=True: logs, configs, pcaps).
Lab.teardown() returns what it could not remove; Lab.problems holds it too.

StrongSwan runs charon 5.9 with kernel-libipsec (the kernel has no ESP
module), as scripts/lib/strongswan.sh does: its own /run (unshare + tmpfs),
plugins listed explicitly (kdf and hmac included), the VICI socket in TMP.
libipsec always UDP-encapsulates ESP (fake NAT detection: both peers float
to 4500), supports tunnel mode only, no ESN; its TUN device has MTU 1400.
charon's file log (ike, cfg, knl at level 2, the rest at 1) is TMP/charon-N.log.
list_sas() talks VICI directly (a small client below), so it is exact and
fast enough to poll.

Xdpsec runs `xdpsecd --config F --foreground` (binary from the argument or
$XDPSECD, xdpsecctl from the argument or $XDPSECCTL) with a [daemon] section
and one [tunnel.NAME] section per tunnel; ctl() runs xdpsecctl against its
socket; request() speaks the control protocol (one JSON line) directly.

Every wait is bounded; every process is stopped by its PID.
"""

import atexit
import ipaddress
import json as jsonlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field

CHARON = os.environ.get("IKELAB_CHARON", "/usr/lib/ipsec/charon")
SWANCTL = os.environ.get("IKELAB_SWANCTL", "/usr/sbin/swanctl")
# openssl: AES(-GCM), ChaCha20-Poly1305, SHA-2, (EC)DH, X25519, RSA/ECDSA;
# kdf + hmac: prf+ (without them key derivation fails); pem/pkcs1/pkcs8/x509/
# pubkey: credentials; kernel-libipsec before kernel-netlink: the ESP backend.
CHARON_PLUGINS = ("random nonce openssl aes gcm sha1 sha2 hmac kdf pem pkcs1 pkcs8 x509 "
                  "pubkey constraints kernel-libipsec kernel-netlink socket-default vici")
SWANCTL_PLUGINS = "pem pkcs1 pkcs8 x509 pubkey openssl random nonce"

UPLINK = "up0"


class LabError(Exception):
    """Something in the lab could not be set up or did not behave."""


class Interrupted(BaseException):
    """SIGINT/SIGTERM while a Lab was open (BaseException: `except
    Exception` in a test does not swallow it)."""


# --- processes -----------------------------------------------------------------

def ns_cmd(ns, cmd):
    return (["ip", "netns", "exec", ns] + list(cmd)) if ns else list(cmd)


def run(cmd, ns=None, timeout=20, check=True, input=None, env=None):
    """Runs cmd (in ns) to completion, bounded; returns CompletedProcess
    (text). check: raise LabError on a non-zero exit."""
    try:
        p = subprocess.run(ns_cmd(ns, cmd), capture_output=True, text=True, timeout=timeout,
                           input=input, env=env, stdin=None if input is not None else
                           subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        raise LabError(f"{' '.join(cmd)} (ns {ns}): no answer within {timeout} s") from e
    if check and p.returncode != 0:
        raise LabError(f"{' '.join(cmd)} (ns {ns}): exit {p.returncode}: "
                       f"{(p.stderr or p.stdout).strip()[-500:]}")
    return p


def stop_pid(proc, sig=signal.SIGTERM, grace=5.0):
    """Stops one child (a Popen) by its PID: sig, a bounded wait, then
    SIGKILL. Returns (exit status, stopped within grace)."""
    if proc.poll() is not None:
        return proc.returncode, True
    try:
        proc.send_signal(sig)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=grace)
        return proc.returncode, True
    except subprocess.TimeoutExpired:
        proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        return proc.returncode, False


def wait_until(pred, timeout, interval=0.1):
    """Calls pred() until it returns something true or timeout seconds
    pass; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def tail(text, lines=20):
    return "\n".join(text.splitlines()[-lines:])


# --- the lab ---------------------------------------------------------------------

@dataclass
class Node:
    """One namespace of the lab and its addresses."""
    name: str            # "a" or "b"
    ns: str
    addr4: str           # outer (uplink) addresses
    addr6: str
    site4: str           # inner addresses (on lo)
    site6: str
    net4: str            # inner prefixes (traffic selectors)
    net6: str
    uplink: str = UPLINK

    def addr(self, family):
        return self.addr4 if family == 4 else self.addr6

    def site(self, family):
        return self.site4 if family == 4 else self.site6

    def net(self, family):
        return self.net4 if family == 4 else self.net6


_lab_counter = [0]


class Lab:
    """Two namespaces joined by a veth pair; see the module docstring."""

    A = dict(addr4="192.0.2.1", addr6="2001:db8::1", site4="198.51.100.1",
             site6="2001:db8:a::1", net4="198.51.100.0/24", net6="2001:db8:a::/64")
    B = dict(addr4="192.0.2.2", addr6="2001:db8::2", site4="203.0.113.1",
             site6="2001:db8:b::1", net4="203.0.113.0/24", net6="2001:db8:b::/64")

    # NAT topology (nat="a" or "b"), IPv4 only: the NATed node's uplink in
    # 192.0.2.0/25 (its usual address, gateway N_INSIDE), the public node's in
    # 192.0.2.128/25 (PUBLIC_PEER, gateway NAT_PUBLIC, the masquerade address).
    N_INSIDE = "192.0.2.126"
    NAT_PUBLIC = "192.0.2.129"
    PUBLIC_PEER = "192.0.2.130"
    N_IF = {"a": "n-a", "b": "n-b"}   # N's interface towards A / towards B

    def __init__(self, tag="ikl", keep=False, bpffs=True, signals=True, nat=None):
        if nat not in (None, "a", "b"):
            raise LabError(f"nat={nat!r}: None, 'a' or 'b'")
        _lab_counter[0] += 1
        # Interface-name-like and short: ikl-<pid>-<n>-a.
        self.prefix = f"{tag}-{os.getpid()}-{_lab_counter[0]}"
        self.keep = keep
        self.want_bpffs = bpffs
        self.want_signals = signals
        self.nat = nat
        self.a = Node("a", f"{self.prefix}-a", **self.A)
        self.b = Node("b", f"{self.prefix}-b", **self.B)
        self.n_ns = None          # the NAT namespace (nat topology only)
        self.nat_public = None    # the NAT's public address (what the public node sees)
        if nat:
            self.n_ns = f"{self.prefix}-n"
            self.nat_public = self.NAT_PUBLIC
            public = self.b if nat == "a" else self.a
            public.addr4 = self.PUBLIC_PEER
            for n in self.nodes():
                n.addr6 = None    # IPv4 only
        self.tmp = None
        self.bpffs = None          # mount point (TMP/bpf) when mounted
        self.procs = []            # (Popen, description), in start order
        self.created_ns = []
        self.etc_dirs = []
        self.etc_root_created = False
        self.problems = []
        self._old_handlers = None
        self._torn_down = False
        self._atexit = None

    def nodes(self):
        return (self.a, self.b)

    # -- setup ---------------------------------------------------------------------

    def __enter__(self):
        if self.want_signals and threading.current_thread() is threading.main_thread():
            self._old_handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
            for s in self._old_handlers:
                signal.signal(s, self._on_signal)
        self._atexit = self.teardown
        atexit.register(self._atexit)
        try:
            self.setup()
        except BaseException:
            self.teardown()
            raise
        return self

    def __exit__(self, *exc):
        self.teardown()
        return False

    def _on_signal(self, signum, _frame):
        # Once: the teardown this unwinds into must not be cut short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Interrupted(f"signal {signum}")

    def setup(self):
        self.tmp = tempfile.mkdtemp(prefix=f"ikelab-{self.prefix}-")
        os.chmod(self.tmp, 0o700)
        existing = self.list_ns()
        for ns in [n.ns for n in self.nodes()] + ([self.n_ns] if self.n_ns else []):
            if ns in existing:
                raise LabError(f"namespace {ns} already exists")
        for n in self.nodes():
            run(["ip", "netns", "add", n.ns])
            self.created_ns.append(n.ns)
            run(["sysctl", "-qw", "net.ipv6.conf.all.accept_dad=0",
                 "net.ipv6.conf.default.accept_dad=0"], n.ns)
            run(["ip", "-n", n.ns, "link", "set", "lo", "up"])
            run(["ip", "-n", n.ns, "addr", "add", f"{n.site4}/24", "dev", "lo"])
            run(["ip", "-n", n.ns, "addr", "add", f"{n.site6}/64", "dev", "lo", "nodad"])
        if self.nat:
            self._setup_nat()
        else:
            self._setup_veth()
        if self.want_bpffs:
            mnt = os.path.join(self.tmp, "bpf")
            os.mkdir(mnt)
            run(["mount", "-t", "bpf", "bpf", mnt])
            self.bpffs = mnt

    def _setup_nat(self):
        """A.up0 <-> N (n-a), N (n-b) <-> B.up0; N forwards, masquerades what
        leaves towards the public node (port-randomised, so the mapped ports
        differ from 500/4500) and drops new flows from the public side to the
        NATed one, as a home router does."""
        if not shutil.which("nft"):
            raise LabError("nft missing (scripts/install-deps.sh installs nftables)")
        n = self.n_ns
        run(["ip", "netns", "add", n])
        self.created_ns.append(n)
        run(["ip", "-n", n, "link", "set", "lo", "up"])
        run(["sysctl", "-qw", "net.ipv4.ip_forward=1"], n)
        natted = self.a if self.nat == "a" else self.b
        for node in self.nodes():
            run(["ip", "link", "add", UPLINK, "netns", node.ns, "type", "veth",
                 "peer", "name", self.N_IF[node.name], "netns", n])
            inside = node is natted
            plen = 25
            gw = self.N_INSIDE if inside else self.NAT_PUBLIC
            run(["ip", "-n", node.ns, "addr", "add", f"{node.addr4}/{plen}", "dev", UPLINK])
            run(["ip", "-n", node.ns, "link", "set", UPLINK, "up"])
            run(["ip", "-n", n, "addr", "add", f"{gw}/{plen}", "dev", self.N_IF[node.name]])
            run(["ip", "-n", n, "link", "set", self.N_IF[node.name], "up"])
            run(["ip", "-n", node.ns, "route", "add", "default", "via", gw])
        priv = self.N_IF[natted.name]
        pub = self.N_IF["b" if self.nat == "a" else "a"]
        rules = f"""table ip nat {{
    chain postrouting {{
        type nat hook postrouting priority srcnat; policy accept;
        oifname "{pub}" masquerade random
    }}
}}
table ip filter {{
    chain forward {{
        type filter hook forward priority filter; policy accept;
        ct state established,related accept
        iifname "{pub}" oifname "{priv}" drop
    }}
}}
"""
        self.write("nat.nft", rules)
        run(["nft", "-f", self.path("nat.nft")], n)
        public = self.b if self.nat == "a" else self.a
        if not wait_until(lambda: ping(natted.ns, public.addr4, count=1, timeout=2)[1] == 1, 6):
            raise LabError(f"NAT: {public.addr4} does not answer from {natted.ns}")

    def _setup_veth(self):
        run(["ip", "link", "add", UPLINK, "netns", self.a.ns, "type", "veth",
             "peer", "name", UPLINK, "netns", self.b.ns])
        for n in self.nodes():
            run(["ip", "-n", n.ns, "addr", "add", f"{n.addr4}/24", "dev", UPLINK])
            run(["ip", "-n", n.ns, "addr", "add", f"{n.addr6}/64", "dev", UPLINK, "nodad"])
            run(["ip", "-n", n.ns, "link", "set", UPLINK, "up"])
        # Both families carry traffic before anything starts (bounded, and it
        # resolves the neighbours).
        for dst in (self.b.addr4, self.b.addr6):
            if not wait_until(lambda d=dst: ping(self.a.ns, d, count=1, timeout=2)[1] == 1, 6):
                raise LabError(f"uplink: {dst} does not answer from {self.a.ns}")

    # -- helpers for the parts ------------------------------------------------------

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, text, mode=0o600):
        """Writes TMP/name (mode 0600 by default: configs hold secrets)."""
        p = self.path(name)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        return p

    def run(self, node_or_ns, cmd, **kw):
        return run(cmd, _ns(node_or_ns), **kw)

    def spawn(self, node_or_ns, cmd, log_path, what=None, env=None):
        """Starts cmd in the namespace (background, stdin /dev/null,
        stdout+stderr to log_path); recorded and stopped by teardown."""
        logf = open(log_path, "wb")
        try:
            p = subprocess.Popen(ns_cmd(_ns(node_or_ns), cmd), stdin=subprocess.DEVNULL,
                                 stdout=logf, stderr=subprocess.STDOUT, env=env)
        finally:
            logf.close()
        self.procs.append((p, what or os.path.basename(cmd[0])))
        return p

    def etc_dir(self, node_or_ns):
        """/etc/netns/NS, made (and recorded for teardown) when absent."""
        ns = _ns(node_or_ns)
        if not os.path.isdir("/etc/netns"):
            os.mkdir("/etc/netns")
            self.etc_root_created = True
        d = os.path.join("/etc/netns", ns)
        if not os.path.isdir(d):
            os.mkdir(d)
            self.etc_dirs.append(d)
        return d

    def bpffs_dir(self, name):
        """A pin directory of its own for one xdpsecd (None without bpffs)."""
        if not self.bpffs:
            return None
        d = os.path.join(self.bpffs, name)
        os.makedirs(d, exist_ok=True)
        return d

    @staticmethod
    def list_ns():
        p = run(["ip", "netns", "list"], check=False)
        return {ln.split()[0] for ln in p.stdout.splitlines() if ln.strip()}

    # -- teardown ---------------------------------------------------------------------

    def teardown(self):
        """Idempotent; returns the list of what could not be removed. Each
        step runs whatever the previous ones did."""
        if self._torn_down:
            return self.problems
        self._torn_down = True
        if self._old_handlers:
            # A signal now must not cut the teardown short.
            for s in self._old_handlers:
                signal.signal(s, signal.SIG_IGN)
        problems = []
        for step in (self._stop_procs, self._delete_ns, self._remove_etc, self._unmount,
                     self._remove_tmp):
            try:
                step(problems)
            except Exception as e:  # noqa: BLE001 - go on with the next step
                problems.append(f"teardown {step.__name__}: {type(e).__name__}: {e}")
        if self._old_handlers:
            for s, h in self._old_handlers.items():
                signal.signal(s, h)
            self._old_handlers = None
        if self._atexit:
            atexit.unregister(self._atexit)
            self._atexit = None
        self.problems = problems
        return problems

    def _stop_procs(self, problems):
        for p, what in reversed(self.procs):
            _, in_time = stop_pid(p, grace=5)
            if not in_time:
                problems.append(f"{what} (PID {p.pid}) ignored SIGTERM for 5 s, killed")

    def _delete_ns(self, problems):
        for ns in self.created_ns:
            pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
            for pid in pids:  # descendants of what this lab started
                problems.append(f"PID {pid} left in {ns} after its parent stopped")
                _kill(int(pid), signal.SIGTERM)
            if pids:
                wait_until(lambda n=ns: not run(["ip", "netns", "pids", n], check=False)
                           .stdout.split(), 2)
                for pid in run(["ip", "netns", "pids", ns], check=False).stdout.split():
                    _kill(int(pid), signal.SIGKILL)
            run(["ip", "netns", "del", ns], check=False)
        mine = set(self.created_ns)
        if self.list_ns() & mine:
            # Deletion is lazy while something still holds the namespace.
            wait_until(lambda: not (self.list_ns() & mine), 3)
            problems += [f"namespace {ns} still exists" for ns in sorted(self.list_ns() & mine)]

    def _remove_etc(self, problems):
        for ns in self.created_ns:
            d = os.path.join("/etc/netns", ns)
            if d not in self.etc_dirs and os.path.isdir(d):
                self.etc_dirs.append(d)  # of a namespace this lab created: its own
        for d in self.etc_dirs:
            shutil.rmtree(d, ignore_errors=True)
            if os.path.exists(d):
                problems.append(f"{d} still exists")
        if self.etc_root_created:
            try:
                os.rmdir("/etc/netns")  # only when empty: another lab may use it
            except OSError:
                pass

    def _unmount(self, problems):
        if not self.bpffs or not os.path.ismount(self.bpffs):
            return
        # One directory per xdpsecd (Lab.bpffs_dir); the kernel's own
        # entries (maps.debug, progs.debug) are files.
        for d in sorted(os.listdir(self.bpffs)):
            full = os.path.join(self.bpffs, d)
            if os.path.isdir(full) and os.listdir(full):
                problems.append(f"pins left by {d}: {', '.join(sorted(os.listdir(full)))}")
        if run(["umount", self.bpffs], check=False).returncode != 0:
            problems.append(f"cannot unmount {self.bpffs}")

    def _remove_tmp(self, problems):
        if not self.tmp or not os.path.isdir(self.tmp) or self.keep:
            return
        if self.bpffs and os.path.ismount(self.bpffs):
            problems.append(f"{self.tmp} kept: bpffs still mounted")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def leftovers(self):
        """After teardown: what of this lab still exists (namespaces,
        /etc/netns dirs, live processes it started, a bpffs mount)."""
        out = []
        out += [f"namespace {ns}" for ns in sorted(self.list_ns() & set(self.created_ns))]
        out += [d for d in self.etc_dirs if os.path.exists(d)]
        for p, what in self.procs:
            if p.poll() is None or os.path.exists(f"/proc/{p.pid}") and \
                    _proc_is(p.pid, what):
                out.append(f"{what} PID {p.pid} alive")
        if self.bpffs and os.path.ismount(self.bpffs):
            out.append(f"bpffs mounted at {self.bpffs}")
        return out


def _ns(node_or_ns):
    return node_or_ns.ns if isinstance(node_or_ns, Node) else node_or_ns


def _kill(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _proc_is(pid, what):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip() == what
    except OSError:
        return False


# --- traffic ------------------------------------------------------------------------

def ping(ns, addr, count=3, timeout=None, src=None, interval=0.2, size=None):
    """ping from ns (bounded: -w, and the subprocess timeout); returns
    (sent, received)."""
    deadline = timeout if timeout is not None else int(count * interval + 3)
    cmd = ["ping", "-n", "-q", "-c", str(count), "-i", str(interval), "-W", "1",
           "-w", str(max(1, int(deadline)))]
    if src:
        cmd += ["-I", src]
    if size:
        cmd += ["-s", str(size)]
    cmd.append(addr)
    try:
        p = run(cmd, _ns(ns), timeout=deadline + 5, check=False)
    except LabError:
        return 0, 0
    m = re.search(r"(\d+) packets transmitted, (\d+) received", p.stdout)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def iperf3(lab, server, client, seconds=3, udp=False, bitrate=None, port=5201, family=4):
    """iperf3 between the site addresses of two nodes: server on server.site,
    client bound to client.site; bounded by seconds + 25 s. Returns a dict:
    ok, mbps (received), bytes, retransmits (TCP), lost_percent, lost_packets and
    packets (UDP), error."""
    saddr, caddr = server.site(family), client.site(family)
    tag = f"{server.name}-{int(time.monotonic() * 1000) % 100000}"
    server_log = lab.path(f"iperf3-server-{tag}.log")
    srv = lab.spawn(server, ["iperf3", "-s", "-1", "-B", saddr, "-p", str(port)], server_log,
                    "iperf3")
    out = {"ok": False, "mbps": 0.0, "bytes": 0, "error": None}
    try:
        listening = wait_until(lambda: srv.poll() is not None or run(
            ["ss", "-Hltn", f"sport = :{port}"], server.ns, check=False).stdout.strip(), 5)
        if srv.poll() is not None or not listening:
            out["error"] = "iperf3 server did not start"
            return out
        cmd = ["iperf3", "-c", saddr, "-B", caddr, "-p", str(port), "-t", str(seconds), "-J",
               "--connect-timeout", "3000"]
        if udp:
            cmd += ["-u", "-b", str(bitrate or "50M")]
        try:
            p = run(cmd, client.ns, timeout=seconds + 25, check=False)
        except LabError as e:
            out["error"] = str(e)
            return out
        try:
            r = jsonlib.loads(p.stdout)
        except ValueError:
            out["error"] = f"iperf3 exit {p.returncode}: {(p.stderr or p.stdout).strip()[-300:]}"
            return out
        if r.get("error"):
            out["error"] = r["error"]
            return out
        end = r.get("end", {})
        if udp:
            s = end.get("sum_received") or end.get("sum", {})
            out["lost_percent"] = s.get("lost_percent")
            out["lost_packets"] = s.get("lost_packets")
            out["packets"] = s.get("packets")
        else:
            s = end.get("sum_received", {})
            out["retransmits"] = end.get("sum_sent", {}).get("retransmits")
        out["bytes"] = int(s.get("bytes", 0))
        out["mbps"] = round(s.get("bits_per_second", 0) / 1e6, 1)
        out["ok"] = out["bytes"] > 0
        return out
    finally:
        stop_pid(srv, grace=3)
        if udp:
            # The receiver's one-second intervals that lost datagrams, to
            # tell when losses happened ("12.00-13.00 3/4710").
            out["loss_intervals"] = [
                f"{m.group(1)}-{m.group(2)} s: {m.group(3)}/{m.group(4)}"
                for m in re.finditer(r"(\d+\.\d+)-(\d+\.\d+)\s+sec.*?\s(\d+)/(\d+)\s+\(",
                                     _read(server_log))
                if int(m.group(3)) > 0 and float(m.group(2)) - float(m.group(1)) < 1.5]


class Capture:
    """tcpdump -w in a namespace (started bounded; stop() by PID)."""

    def __init__(self, lab, node, path, bpf_filter=None, iface=UPLINK, snaplen=0, count=5000):
        cmd = ["tcpdump", "-Z", "root", "-n", "-U", "-s", str(snaplen), "-c", str(count),
               "-i", iface, "-w", path]
        if bpf_filter:
            cmd.append(bpf_filter)
        self.path = path
        self.log = path + ".log"
        self.proc = lab.spawn(node, cmd, self.log, "tcpdump")
        ok = wait_until(lambda: self.proc.poll() is not None or
                        "listening on" in _read(self.log), 5, 0.05)
        if self.proc.poll() is not None or not ok:
            stop_pid(self.proc, grace=1)
            raise LabError(f"tcpdump did not start: {_read(self.log).strip()[-300:]}")

    def stop(self):
        if self.proc.poll() is None:
            time.sleep(0.1)
        stop_pid(self.proc, signal.SIGINT, grace=3)


def _read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


# --- certificates ---------------------------------------------------------------------

KEY_TYPES = {
    "rsa3072": (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072"], "sha256", "rsa"),
    "rsa2048": (["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"], "sha256", "rsa"),
    "p256": (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], "sha256", "ecdsa"),
    "p384": (["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384"], "sha384", "ecdsa"),
}


@dataclass
class Cert:
    name: str
    cert: str            # PEM certificate
    key: str             # PEM private key (PKCS#8)
    key_type: str        # a KEY_TYPES name
    subject: str         # "/O=.../CN=..." as given to openssl
    dns: list = field(default_factory=list)
    ips: list = field(default_factory=list)

    @property
    def kind(self):
        return KEY_TYPES[self.key_type][2]


class Pki:
    """A CA and leaf certificates made with the openssl CLI in TMP/pki.
    PEM files, usable as they are by xdpsec (cert/key/ca paths) and by
    swanctl (install() copies them into x509/, x509ca/ and private/)."""

    def __init__(self, lab, days=2):
        self.dir = os.path.join(lab.tmp, "pki")
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o700)
        self.days = days
        self.serial = 0x1000

    def _key(self, name, key_type):
        if key_type not in KEY_TYPES:
            raise LabError(f"unknown key type {key_type} (one of {', '.join(KEY_TYPES)})")
        path = os.path.join(self.dir, f"{name}.key.pem")
        run(["openssl", "genpkey"] + KEY_TYPES[key_type][0] + ["-out", path], timeout=60)
        os.chmod(path, 0o600)
        return path

    def ca(self, name="ca", key_type="p384", cn="ikelab test CA"):
        key = self._key(name, key_type)
        cert = os.path.join(self.dir, f"{name}.pem")
        subject = f"/C=XX/O=ikelab/CN={cn}"
        run(["openssl", "req", "-x509", "-new", "-key", key, "-subj", subject,
             "-days", str(self.days), f"-{KEY_TYPES[key_type][1]}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign",
             "-addext", "subjectKeyIdentifier=hash", "-out", cert], timeout=30)
        return Cert(name, cert, key, key_type, subject)

    def leaf(self, ca, name, key_type="p256", dns=(), ips=(), cn=None):
        """A leaf signed by ca, with subjectAltNames DNS:… and IP:…"""
        key = self._key(name, key_type)
        cn = cn or (dns[0] if dns else name)
        subject = f"/C=XX/O=ikelab/CN={cn}"
        csr = os.path.join(self.dir, f"{name}.csr")
        cert = os.path.join(self.dir, f"{name}.pem")
        ext = os.path.join(self.dir, f"{name}.ext")
        san = ",".join([f"DNS:{d}" for d in dns] + [f"IP:{i}" for i in ips])
        with open(ext, "w") as f:
            f.write("[v3]\nbasicConstraints = critical,CA:FALSE\n"
                    "keyUsage = critical,digitalSignature\n"
                    # serverAuth, clientAuth, ipsecIKE (RFC 4945 5.1.3.12)
                    "extendedKeyUsage = serverAuth,clientAuth,1.3.6.1.5.5.7.3.17\n"
                    "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n" +
                    (f"subjectAltName = {san}\n" if san else ""))
        run(["openssl", "req", "-new", "-key", key, "-subj", subject, "-out", csr], timeout=30)
        self.serial += 1
        run(["openssl", "x509", "-req", "-in", csr, "-CA", ca.cert, "-CAkey", ca.key,
             "-set_serial", str(self.serial), "-days", str(self.days),
             f"-{KEY_TYPES[ca.key_type][1]}", "-extfile", ext, "-extensions", "v3",
             "-out", cert], timeout=30)
        return Cert(name, cert, key, key_type, subject, list(dns), list(ips))

    @staticmethod
    def install(swanctl_dir, leaf=None, ca=None):
        """Copies into a swanctl directory: leaf -> x509/, its key ->
        private/ (any key type; charon's pkcs8 + openssl plugins parse it),
        ca -> x509ca/. Returns the file names swanctl.conf refers to."""
        names = {}
        for sub in ("x509", "x509ca", "private"):
            os.makedirs(os.path.join(swanctl_dir, sub), exist_ok=True)
        if leaf:
            shutil.copy(leaf.cert, os.path.join(swanctl_dir, "x509", f"{leaf.name}.pem"))
            k = os.path.join(swanctl_dir, "private", f"{leaf.name}.pem")
            shutil.copy(leaf.key, k)
            os.chmod(k, 0o600)
            names["cert"] = f"{leaf.name}.pem"
        if ca:
            shutil.copy(ca.cert, os.path.join(swanctl_dir, "x509ca", f"{ca.name}.pem"))
            names["ca"] = f"{ca.name}.pem"
        return names


# --- VICI (strongSwan's control protocol), just enough to list SAs and initiate ----

class Vici:
    """A minimal VICI client over the Unix socket (one request at a time)."""
    CMD_REQUEST, CMD_RESPONSE, CMD_UNKNOWN = 0, 1, 2
    EVENT_REGISTER, EVENT_UNREGISTER, EVENT_CONFIRM, EVENT_UNKNOWN, EVENT = 3, 4, 5, 6, 7
    SECTION_START, SECTION_END, KEY_VALUE, LIST_START, LIST_ITEM, LIST_END = 1, 2, 3, 4, 5, 6

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @classmethod
    def encode(cls, msg):
        out = bytearray()
        for k, v in msg.items():
            kb = k.encode()
            if isinstance(v, dict):
                out += bytes([cls.SECTION_START, len(kb)]) + kb + cls.encode(v)
                out += bytes([cls.SECTION_END])
            elif isinstance(v, (list, tuple)):
                out += bytes([cls.LIST_START, len(kb)]) + kb
                for item in v:
                    ib = str(item).encode()
                    out += bytes([cls.LIST_ITEM]) + struct.pack(">H", len(ib)) + ib
                out += bytes([cls.LIST_END])
            else:
                vb = (v if isinstance(v, bytes) else str(v).encode())
                out += bytes([cls.KEY_VALUE, len(kb)]) + kb + struct.pack(">H", len(vb)) + vb
        return bytes(out)

    @classmethod
    def decode(cls, data):
        root = {}
        stack = [root]
        cur_list = None
        i = 0

        def name():
            nonlocal i
            n = data[i]
            s = data[i + 1:i + 1 + n].decode(errors="replace")
            i += 1 + n
            return s

        def value():
            nonlocal i
            n = struct.unpack(">H", data[i:i + 2])[0]
            s = data[i + 2:i + 2 + n].decode(errors="replace")
            i += 2 + n
            return s

        while i < len(data):
            t = data[i]
            i += 1
            if t == cls.SECTION_START:
                d = {}
                stack[-1][name()] = d
                stack.append(d)
            elif t == cls.SECTION_END:
                stack.pop()
            elif t == cls.KEY_VALUE:
                k = name()
                stack[-1][k] = value()
            elif t == cls.LIST_START:
                cur_list = []
                stack[-1][name()] = cur_list
            elif t == cls.LIST_ITEM:
                cur_list.append(value())
            elif t == cls.LIST_END:
                cur_list = None
            else:
                raise LabError(f"VICI: unknown element type {t}")
        return root

    def _send(self, ptype, name=None, body=b""):
        payload = bytes([ptype])
        if name is not None:
            nb = name.encode()
            payload += bytes([len(nb)]) + nb
        payload += body
        self.sock.sendall(struct.pack(">I", len(payload)) + payload)

    def _recv_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise LabError("VICI: connection closed")
            buf += chunk
        return bytes(buf)

    def _recv(self):
        n = struct.unpack(">I", self._recv_exact(4))[0]
        data = self._recv_exact(n)
        t = data[0]
        if t in (self.CMD_REQUEST, self.EVENT_REGISTER, self.EVENT_UNREGISTER, self.EVENT):
            ln = data[1]
            return t, data[2:2 + ln].decode(), data[2 + ln:]
        return t, None, data[1:]

    def request(self, cmd, msg=None, events=()):
        """Sends a command; returns (response dict, [(event name, dict)])
        for the events registered for its duration (streamed commands)."""
        for ev in events:
            self._send(self.EVENT_REGISTER, ev)
            t, _, _ = self._recv()
            if t != self.EVENT_CONFIRM:
                raise LabError(f"VICI: cannot register for event {ev}")
        self._send(self.CMD_REQUEST, cmd, self.encode(msg or {}))
        got = []
        while True:
            t, name, body = self._recv()
            if t == self.EVENT:
                got.append((name, self.decode(body)))
            elif t == self.CMD_RESPONSE:
                resp = self.decode(body)
                break
            elif t == self.CMD_UNKNOWN:
                raise LabError(f"VICI: unknown command {cmd}")
            else:
                raise LabError(f"VICI: unexpected packet type {t}")
        for ev in events:
            self._send(self.EVENT_UNREGISTER, ev)
            self._recv()
        return resp, got


# --- strongSwan -------------------------------------------------------------------------

@dataclass
class Conn:
    """One swanctl connection with one CHILD SA.

    auth: psk | pubkey. PSK: psk (the secret). pubkey: cert (this side's
    Cert), ca (the CA Cert that signed the peer's; both are installed into
    swanctl's directories). local_id/remote_id default to the addresses.
    start: "initiate" (start_action = start: charon initiates on load),
    "none" (wait: a responder, or swanctl --initiate), "trap".
    """
    local: str
    remote: str
    local_ts: str
    remote_ts: str
    name: str = "ikelab"
    child: str = "net"
    auth: str = "psk"
    psk: str = None
    cert: Cert = None
    ca: Cert = None
    local_id: str = None
    remote_id: str = None
    ike: str = "aes128-sha256-x25519"
    esp: str = "aes128gcm16"
    mode: str = "tunnel"
    start: str = "none"
    extra: dict = field(default_factory=dict)   # more keys of the connection section
    child_extra: dict = field(default_factory=dict)  # more keys of the CHILD SA section


def _swan_str(v):
    # swanctl.conf values: quote anything with spaces or special characters.
    v = str(v)
    if re.fullmatch(r"[A-Za-z0-9_.:/%@,=+-]+", v):
        return v
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


class StrongSwan:
    """charon + swanctl in one namespace of a Lab; see the module docstring."""

    def __init__(self, lab, node, conns=(), debug=None, retransmit_tries=3):
        self.lab, self.node = lab, node
        self.conns = [conns] if isinstance(conns, Conn) else list(conns)
        self.proc = None
        self.vici_path = lab.path(f"charon-{node.name}.vici")
        self.log_path = lab.path(f"charon-{node.name}.log")
        self.out_path = lab.path(f"charon-{node.name}.out")
        self.etc = lab.etc_dir(node)
        self.swanctl_dir = os.path.join(self.etc, "swanctl")
        os.makedirs(self.swanctl_dir, exist_ok=True)
        self.debug = {"default": 1, "ike": 2, "cfg": 2, "knl": 2}
        self.debug.update(debug or {})
        self.retransmit_tries = retransmit_tries
        self.write_strongswan_conf()
        self.write_swanctl_conf()

    # -- configuration ---------------------------------------------------------------

    def write_strongswan_conf(self):
        levels = "\n".join(f"            {k} = {v}" for k, v in self.debug.items())
        text = f"""# Written by tests/interop/ikelab.py for namespace {self.node.ns}.
charon {{
    load = {CHARON_PLUGINS}
    install_routes = yes
    install_virtual_ip = no
    retransmit_tries = {self.retransmit_tries}
    retransmit_timeout = 1.0
    retransmit_base = 1.4
    filelog {{
        ikelab {{
            path = {self.log_path}
            time_format = %T
            ike_name = yes
            flush_line = yes
            append = no
{levels}
        }}
    }}
    plugins {{
        vici {{
            socket = unix://{self.vici_path}
        }}
        kernel-libipsec {{
            allow_peer_ts = no
        }}
    }}
}}
swanctl {{
    load = {SWANCTL_PLUGINS}
    socket = unix://{self.vici_path}
}}
"""
        with open(os.path.join(self.etc, "strongswan.conf"), "w") as f:
            f.write(text)
        # A copy in TMP (kept with Lab(keep=True); /etc/netns/NS is not).
        self.lab.write(f"strongswan-{self.node.name}.conf", text)

    def write_swanctl_conf(self):
        conns, secrets = [], []
        for i, c in enumerate(self.conns):
            lid = c.local_id or c.local
            rid = c.remote_id or c.remote
            if c.auth == "psk":
                if c.psk is None:
                    raise LabError(f"connection {c.name}: auth = psk without a psk")
                local = f"auth = psk\n            id = {_swan_str(lid)}"
                remote = f"auth = psk\n            id = {_swan_str(rid)}"
                # Hex, always: swanctl reads a secret that begins with 0x
                # as hex and one with 0s as base64, so a random PSK that
                # happened to begin so (1 in 2048) meant another key to
                # strongSwan than to xdpsec, which takes it literally.
                secrets.append(f"""    ike-{i} {{
        id-1 = {_swan_str(lid)}
        id-2 = {_swan_str(rid)}
        secret = 0x{str(c.psk).encode().hex()}
    }}""")
            elif c.auth == "pubkey":
                if not c.cert or not c.ca:
                    raise LabError(f"connection {c.name}: auth = pubkey needs cert and ca")
                names = Pki.install(self.swanctl_dir, c.cert, c.ca)
                local = (f"auth = pubkey\n            certs = {names['cert']}\n"
                         f"            id = {_swan_str(lid)}")
                remote = (f"auth = pubkey\n            cacerts = {names['ca']}\n"
                          f"            id = {_swan_str(rid)}")
            else:
                raise LabError(f"connection {c.name}: auth {c.auth!r} (psk | pubkey)")
            start = {"initiate": "start", "start": "start", "none": "none",
                     "trap": "trap"}[c.start]
            extra = "".join(f"        {k} = {_swan_str(v)}\n" for k, v in c.extra.items())
            child_extra = "".join(f"                {k} = {_swan_str(v)}\n"
                                  for k, v in c.child_extra.items())
            conns.append(f"""    {c.name} {{
        version = 2
        local_addrs = {c.local}
        remote_addrs = {c.remote}
        proposals = {c.ike}
{extra}        local {{
            {local}
        }}
        remote {{
            {remote}
        }}
        children {{
            {c.child} {{
                mode = {c.mode}
                local_ts = {c.local_ts}
                remote_ts = {c.remote_ts}
                esp_proposals = {c.esp}
                start_action = {start}
{child_extra}            }}
        }}
    }}""")
        text = ("# Written by tests/interop/ikelab.py.\nconnections {\n" + "\n".join(conns) +
                "\n}\nsecrets {\n" + "\n".join(secrets) + "\n}\n")
        path = os.path.join(self.swanctl_dir, "swanctl.conf")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        self.lab.write(f"swanctl-{self.node.name}.conf", text)

    def set_conns(self, conns):
        """Replaces the connections (rewrites swanctl.conf; load() them)."""
        self.conns = [conns] if isinstance(conns, Conn) else list(conns)
        self.write_swanctl_conf()

    # -- running -------------------------------------------------------------------------

    def start(self, timeout=10, load=True):
        """Starts charon in its own /run; waits (bounded) for the VICI
        socket, then loads the configuration (swanctl --load-all)."""
        if self.proc and self.proc.poll() is None:
            raise LabError(f"charon already runs in {self.node.ns}")
        for p in (self.vici_path, self.log_path):
            if os.path.exists(p):
                os.unlink(p)
        for f in (CHARON, SWANCTL):
            if not os.access(f, os.X_OK):
                raise LabError(f"{f} missing (scripts/install-deps.sh installs strongSwan)")
        self.proc = self.lab.spawn(
            self.node, ["unshare", "-m", "sh", "-c",
                        f"mount -t tmpfs none /run && exec {CHARON}"],
            self.out_path, "charon")
        ok = wait_until(lambda: self.proc.poll() is not None or self._vici_ok(), timeout)
        if self.proc.poll() is not None or not ok:
            why = (f"exited with {self.proc.returncode}" if self.proc.poll() is not None
                   else f"no VICI socket after {timeout} s")
            raise LabError(f"charon in {self.node.ns}: {why}\n" +
                           tail(_read(self.out_path) + _read(self.log_path)))
        if load:
            self.load()
        return self

    def _vici_ok(self):
        if not os.path.exists(self.vici_path):
            return False
        try:
            with Vici(self.vici_path, 2) as v:
                v.request("version")
            return True
        except (OSError, LabError):
            return False

    def swanctl(self, *args, timeout=20, check=False):
        """Any swanctl command against this charon (in its namespace, so it
        reads this side's strongswan.conf and swanctl/)."""
        return run([SWANCTL] + list(args), self.node.ns, timeout=timeout, check=check)

    def load(self):
        p = self.swanctl("--load-all", "--noprompt", timeout=30)
        if p.returncode != 0:
            raise LabError(f"swanctl --load-all in {self.node.ns}: {p.stdout}{p.stderr}")
        return p

    def initiate(self, child=None, ike=None, timeout=15):
        """swanctl --initiate (bounded); returns (ok, output)."""
        args = ["--initiate", "--child", child or self.conns[0].child, "--timeout", str(timeout)]
        if ike:
            args += ["--ike", ike]
        try:
            p = self.swanctl(*args, timeout=timeout + 10)
        except LabError as e:
            return False, str(e)
        return p.returncode == 0, p.stdout + p.stderr

    def terminate_ike(self, ike=None, timeout=10, force=False):
        """swanctl --terminate --ike NAME (bounded); returns (ok, output)."""
        return self._terminate("--ike", ike or self.conns[0].name, timeout, force)

    def terminate_child(self, child=None, timeout=10):
        """swanctl --terminate --child NAME (bounded): the CHILD SA only, its
        IKE SA stays; returns (ok, output)."""
        return self._terminate("--child", child or self.conns[0].child, timeout, False)

    def _terminate(self, what, name, timeout, force):
        args = ["--terminate", what, name, "--timeout", str(timeout)]
        if force:
            args.append("--force")
        try:
            p = self.swanctl(*args, timeout=timeout + 10)
        except LabError as e:
            return False, str(e)
        return p.returncode == 0, p.stdout + p.stderr

    def rekey(self, child=None, ike=None, timeout=10):
        """VICI rekey of a CHILD SA or an IKE SA by configuration name (what
        swanctl --rekey does, without starting a process); returns (ok, why)."""
        msg = {"child": child} if child else {"ike": ike}
        try:
            r, _ = self.vici("rekey", msg, timeout=timeout)
        except (OSError, LabError) as e:
            return False, str(e)
        return r.get("success") == "yes", r.get("errmsg", "")

    def vici(self, cmd, msg=None, events=(), timeout=20):
        with Vici(self.vici_path, timeout) as v:
            return v.request(cmd, msg, events)

    def list_sas(self):
        """The IKE SAs, as VICI's list-sas gives them: a list of dicts with
        "name" (the connection) added; each holds "state", "local-host",
        "encr-alg", "integ-alg", "prf-alg", "dh-group", "local-id",
        "remote-id", ... and "child-sas": {"net-1": {"name", "state",
        "spi-in", "spi-out", "encr-alg", "local-ts": [...], ...}}."""
        _, events = self.vici("list-sas", {"noblock": "yes"}, events=("list-sa",))
        out = []
        for _, ev in events:
            for name, sa in ev.items():
                sa = dict(sa)
                sa["name"] = name
                sa.setdefault("child-sas", {})
                out.append(sa)
        return out

    def child_sas(self, state="INSTALLED", ike=None):
        """CHILD SAs (dicts, with "ike" = the IKE SA's dict) in state."""
        out = []
        for sa in self.list_sas():
            if ike and sa["name"] != ike:
                continue
            for c in sa["child-sas"].values():
                if state is None or c.get("state") == state:
                    c = dict(c)
                    c["ike"] = sa
                    out.append(c)
        return out

    def list_algs(self):
        """swanctl --list-algs: {"encryption": ["AES_CBC[aes]", ...], ...}."""
        p = self.swanctl("--list-algs", timeout=15)
        algs, cur = {}, None
        for ln in p.stdout.splitlines():
            if not ln.strip():
                continue
            if not ln.startswith(" "):
                cur = ln.strip().rstrip(":")
                algs[cur] = []
            elif cur:
                algs[cur].append(ln.strip())
        return algs

    def has_alg(self, category, name):
        """name ("CHACHA20_POLY1305") listed under category ("aead")?"""
        return any(a.split("[")[0] == name for a in self.list_algs().get(category, []))

    def log(self):
        return _read(self.log_path)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, grace=5):
        """Stops charon by its PID; removes what libipsec's routing may have
        left (table 220 routes and rules). Returns (exit status, in time)."""
        if not self.proc:
            return None, True
        rc = stop_pid(self.proc, grace=grace)
        ns = self.node.ns
        if ns in Lab.list_ns():
            for fam in ("-4", "-6"):
                run(["ip", fam, "-n", ns, "route", "flush", "table", "220"], check=False)
                for _ in range(4):
                    if run(["ip", fam, "-n", ns, "rule", "del", "table", "220"],
                           check=False).returncode != 0:
                        break
        return rc


# --- xdpsec -------------------------------------------------------------------------------

@dataclass
class CtlResult:
    rc: int
    stdout: str
    stderr: str
    doc: object = None   # the parsed JSON reply (with --json), else None

    @property
    def ok(self):
        return self.rc == 0

    def why(self):
        if isinstance(self.doc, dict) and "error" in self.doc:
            return str(self.doc["error"])
        return (self.stderr or self.stdout).strip()


def _ini_value(v):
    if isinstance(v, (list, tuple)):
        v = ",".join(str(x) for x in v)
    v = str(v)
    if v == "" or v != v.strip() or any(c in v for c in ';#"'):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return v


class Xdpsec:
    """xdpsecd in one namespace of a Lab.

    tunnels: {NAME: {key: value}} with the keys of a [tunnel.NAME] section
    (config.h); lists are joined with ','. daemon: extra [daemon] keys."""

    def __init__(self, lab, node, tunnels=None, xdpsecd=None, xdpsecctl=None, daemon=None,
                 workers=1):
        self.lab, self.node = lab, node
        self.xdpsecd = xdpsecd or os.environ.get("XDPSECD")
        self.xdpsecctl = xdpsecctl or os.environ.get("XDPSECCTL")
        if not self.xdpsecd or not self.xdpsecctl:
            raise LabError("xdpsecd/xdpsecctl: give their paths (or set XDPSECD, XDPSECCTL)")
        self.instance = f"{lab.prefix}-{node.name}"
        self.sock = lab.path(f"xdpsecd-{node.name}.sock")
        self.conf = lab.path(f"xdpsecd-{node.name}.ini")
        self.log_path = lab.path(f"xdpsecd-{node.name}.log")
        self.bpffs = lab.bpffs_dir(f"xdpsecd-{node.name}")
        self.daemon = {"uplink": node.uplink, "tunnel_if": "xdpsec0", "socket": self.sock,
                       "workers": workers, "instance": self.instance}
        if self.bpffs:
            self.daemon["bpffs"] = self.bpffs
        self.daemon.update(daemon or {})
        self.tunnels = dict(tunnels or {})
        self.proc = None
        self.write_config()

    def write_config(self):
        lines = [f"; Written by tests/interop/ikelab.py for namespace {self.node.ns}.",
                 "[daemon]"]
        lines += [f"{k} = {_ini_value(v)}" for k, v in self.daemon.items()]
        for name, keys in self.tunnels.items():
            lines += ["", f"[tunnel.{name}]"]
            lines += [f"{k} = {_ini_value(v)}" for k, v in keys.items() if v is not None]
        self.lab.write(os.path.basename(self.conf), "\n".join(lines) + "\n")

    def start(self, timeout=20):
        """Starts xdpsecd --foreground; waits (bounded) until its control
        socket answers `status`. Raises LabError with the log's tail."""
        if not os.access(self.xdpsecd, os.X_OK):
            raise LabError(f"{self.xdpsecd} is not an executable")
        self.proc = self.lab.spawn(self.node, [self.xdpsecd, "--config", self.conf,
                                               "--foreground"], self.log_path, "xdpsecd")
        ok = wait_until(lambda: self.proc.poll() is not None or
                        (os.path.exists(self.sock) and self.ctl("status", timeout=5).ok),
                        timeout, 0.1)
        if self.proc.poll() is not None or not ok:
            why = (f"exited with {self.proc.returncode}" if self.proc.poll() is not None
                   else f"control socket not answering after {timeout} s")
            raise LabError(f"xdpsecd in {self.node.ns}: {why}\n{tail(self.log())}")
        return self

    def ctl(self, *args, json=True, timeout=15):
        """xdpsecctl --socket S [--json] ARGS (in the namespace, bounded)."""
        cmd = [self.xdpsecctl, "--socket", self.sock] + (["--json"] if json else []) + \
            [str(a) for a in args]
        try:
            p = run(cmd, self.node.ns, timeout=timeout, check=False)
        except LabError as e:
            return CtlResult(-1, "", str(e))
        doc = None
        if json and p.stdout.strip():
            try:
                doc = jsonlib.loads(p.stdout)
            except ValueError:
                doc = None
        return CtlResult(p.returncode, p.stdout, p.stderr, doc)

    def request(self, cmd, args=(), timeout=15):
        """The control protocol directly (control_protocol.h): one JSON line,
        the reply read until the daemon closes. Returns the reply dict."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(self.sock)
            s.sendall((jsonlib.dumps({"cmd": cmd, "args": list(args)}) + "\n").encode())
            buf = bytearray()
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                buf += chunk
        finally:
            s.close()
        return jsonlib.loads(buf.decode(errors="replace"))

    def log(self):
        return _read(self.log_path)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def pins(self):
        """The pin directory's entries (None without a lab bpffs)."""
        if not self.bpffs or not os.path.isdir(self.bpffs):
            return None
        return sorted(os.listdir(self.bpffs))

    def stop(self, grace=10):
        """SIGTERM by PID; returns (exit status, exited within grace)."""
        if not self.proc:
            return None, True
        return stop_pid(self.proc, grace=grace)


# --- the shape of xdpsecctl's JSON (kept in one place) -------------------------------------

def xdpsec_tunnels(doc):
    """`tunnel list --json` -> [{"name": ..., "state": ..., ...}]."""
    if isinstance(doc, dict):
        doc = doc.get("tunnels", [])
    return [t for t in (doc or []) if isinstance(t, dict)]


def xdpsec_child_sas(doc, tunnel=None):
    """`sa list --json` -> the CHILD SAs (of tunnel): dicts with at least
    "spi" (int), "direction" ("in"/"out"), "tunnel". Accepts a top-level
    {"child_sas": [...]} or {"sas": [...]} (manually keyed SAs, whose
    "tunnel" is empty, are left out)."""
    if not isinstance(doc, dict):
        return []
    sas = doc.get("child_sas")
    if sas is None:
        sas = doc.get("sas", [])
    out = []
    for s in sas or []:
        if not isinstance(s, dict) or not s.get("tunnel"):
            continue
        if tunnel is not None and s.get("tunnel") != tunnel:
            continue
        if str(s.get("state", "active")).lower() in ("expired", "deleted", "dead"):
            continue
        s = dict(s)
        spi = s.get("spi")
        if isinstance(spi, str):
            try:
                s["spi"] = int(spi, 16)  # "0x0000c001" or "0000c001"
            except ValueError:
                pass
        out.append(s)
    return out


def is_ipv6(addr):
    return ipaddress.ip_address(addr.split("/")[0]).version == 6
