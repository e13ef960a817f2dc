#!/usr/bin/python3
"""IKEv2 interop: xdpsecd against strongSwan 5.9 (charon, kernel-libipsec).

Usage (as root, Debian's /usr/bin/python3):
    test_ike_strongswan.py --xdpsecd PATH --xdpsecctl PATH [--only NAME[,NAME]]...
                           [--keep-going] [--keep] [--timeout S] [--list]
    test_ike_strongswan.py --peer strongswan [...]

Every scenario builds a fresh tests/interop/ikelab.py Lab: namespace A runs
the device under test (DUT), namespace B the strongSwan reference peer:

    A: xdpsecd (uplink up0)   192.0.2.1 / 2001:db8::1  <-veth->  192.0.2.2 / 2001:db8::2   B: charon
       site 198.51.100.1/24, 2001:db8:a::1/64 on lo      site 203.0.113.1/24, 2001:db8:b::1/64 on lo

With --peer strongswan the DUT is a second charon configured with the same
parameters (the same proposals, IDs, credentials and start action; `tunnel
add` becomes loading the connection over VICI, `tunnel up`/`down` swanctl
--initiate/--terminate). That checks the strongSwan half of every scenario
and the lab itself today, before the IKE engine exists; with xdpsecd the
same checks then hold xdpsec to what strongSwan did.

Scenarios ("xinit": the DUT initiates; "sinit": strongSwan does):
  a-psk-xinit      PSK, aes128-sha256-x25519 / esp aes128gcm16; pings both
                   ways, 3 s iperf3 TCP through the tunnel
  b-psk-sinit      PSK, aes256gcm16-prfsha384-ecp384 / esp aes256-sha256
                   (ESP with AES-CBC + HMAC-SHA-256-128)
  c-chacha-sinit   chacha20poly1305-prfsha256-x25519 / esp chacha20poly1305;
                   skipped (with the reason) when charon's openssl plugin does
                   not list CHACHA20_POLY1305 (`swanctl --list-algs`)
  d-ecdsa-xinit    certificates, ECDSA P-256 leaves (CA: ECDSA P-384), FQDN IDs
  e-rsa-sinit      certificates, RSA 3072 leaves and CA; IKE_AUTH fragmented
                   (RFC 7383) in both directions
  f-ipv6-xinit     IKE and ESP over IPv6 outer addresses (IPv6 inner too)
  g-ctladd-xinit   the tunnel comes from `xdpsecctl tunnel add NAME --local ...
                   --auth psk --psk-file FILE ... --start initiate`, not a file
  h-down-xinit     `xdpsecctl tunnel down` leaves no SA on either side
                   (`swanctl --list-sas` empty, `sa list --json` without CHILD
                   SAs); `tunnel up` brings it back, `tunnel down` again
  i-noprop-ike     the DUT initiates with IKE proposals B does not accept:
                   no SA, B's log shows NO_PROPOSAL_CHOSEN sent, the DUT says why
  i-noprop-esp     B initiates with ESP proposals the DUT does not accept: no
                   CHILD SA, B's log shows NO_PROPOSAL_CHOSEN received
  o-nat-xinit      A behind a NAT (a third namespace, nftables masquerade with
                   random ports) initiates to B: the DUT floats to 4500 and
                   sees the NAT (`sa list`: nat, local :4500), B sees the NAT's
                   address and mapped port; pings both ways
  p-nat-sinit      B behind the NAT initiates to the DUT (remote %any): the DUT's
                   IKE SA and its data-plane SAs' encap use the mapped port
  q-rekeyload-xinit  60 s of iperf3 UDP at 20 Mbit/s A -> B (and pings B -> A) with no rekey,
                   then 60 s more during which the test starts a rekey every
                   5 s: CHILD and IKE SA, by the DUT (`xdpsecctl tunnel rekey`)
                   and by B (VICI rekey), and forced collisions, both sides
                   rekeying the same SA with both requests in flight (A's IKE
                   output blocked by nftables until both have sent); the
                   packets lost with rekeys must not exceed those lost
                   without by more than that minute's noise (as many again,
                   at least 3; a rekey losing one packet each time would
                   lose 11), and in the end one IKE SA and one CHILD SA remain
  s-trap-xinit     the DUT's tunnel has start = trap: no IKE SA on either side for
                   2 s; one ping from A's site to B's meets the trap (XDP verdict
                   protect_acquire, an acquire event) and the DUT initiates (its
                   log names the ping's addresses, ike.acquires +1); pings both
                   ways. Then dpd = 2, dpd_action = trap: B's charon is killed,
                   the DUT's DPD gives up and removes the SAs, and initiates
                   nothing by itself (2 s with B dead, 2 s more once a new charon
                   runs in B); the next ping brings the tunnel back, acquire #2.
                   With --peer strongswan it stops (SKIP) where an acquire is
                   needed: kernel-libipsec never raises one
  t-invalidspi-xinit  with the tunnel up, B sends (scapy) ESP with SPI 0xdeadbeef:
                   300 in UDP 4500 over 3 s, 100 plain (IP protocol 50) over 1 s;
                   XDP drops all (drop_unknown_spi), each drop is an event or over
                   the BPF budget, each event an INVALID_SPI notify sent over the
                   IKE SA or rate-limited (at most one a second: between 1 and
                   seconds + 2 sent), B's log shows each notify received; 40
                   from a spoofed address without an IKE SA: dropped, counted
                   under invalid_spi_no_ike_sa, nothing sent. B's charon (enc at
                   level 3) shows the SPI each notify carried: RFC 7296 §1.5
                   puts it in the Notification Data. The CHILD SA stays, pings
                   both ways. A charon DUT sends no INVALID_SPI: only the last
                   part is checked there
  u-dpdtrap-xinit  the DPD half of s with start = initiate, so that only
                   dpd_action = trap installs the trap (the DUT logs it once)
  v-ikelife-xinit  ike_life_time = 10 s, no IKE SA rekey on either side: the
                   DUT deletes the IKE SA when it is 10 s old (within -1/+3 s),
                   B logs the DELETE and keeps no SA, the DUT's data plane no
                   CHILD SA, its tunnel entry says why, and nothing starts it
                   again. SKIP with a charon DUT (no such setting to test)
  w-pmtu-xinit     RSA 3072 certificates, the link at 1500 but A's route to B
                   locked at MTU 1000: every packet the DUT sends (captured on
                   A's uplink) is at most 1000 bytes and no IP fragment, its
                   IKE_AUTH goes as IKE fragments (RFC 7383) and B logs them
                   reassembled. SKIP with a charon DUT (its fragment_size is
                   fixed, not the path's)
  x-childacq-xinit start = trap, up by a ping; B deletes only the CHILD SA
                   (swanctl --terminate --child): the DUT keeps its IKE SA, the
                   next ping is acquire #2 and brings a CHILD SA back with one
                   CREATE_CHILD_SA over the same IKE SA (same SPIs on B, one
                   IKE_SA_INIT in B's log); pings both ways. SKIP with a charon
                   DUT (no acquire from kernel-libipsec)
  y-acqhold-xinit  start = trap, B refuses the DUT's IKE proposals: the first
                   ping's acquire initiates and meets NO_PROPOSAL_CHOSEN; four
                   pings over the next 2 s are held (ike.acquires_held, no
                   IKE_SA_INIT in B's log); a ping 10.5 s after the failure
                   initiates again. SKIP with a charon DUT
  j-badpsk-xinit   the PSKs differ, the DUT initiates: AUTHENTICATION_FAILED
                   sent by B, the DUT says why
  j-badpsk-sinit   the PSKs differ, B initiates: the DUT must reject B's AUTH,
                   B's log shows AUTHENTICATION_FAILED received

What a passing scenario showed: a CHILD SA installed on both sides within
--timeout; the algorithms strongSwan reports for the IKE and CHILD SA are
those asked for; the DUT's inbound SPI is B's outbound one and vice versa;
with certificates, B authenticated the DUT's ID with the expected signature
kind; pings between the site addresses both ways (3 of 3 after one warm-up);
the DUT still runs, stops on SIGTERM within 10 s with status 0 (xdpsecd: its
pins gone); and the lab is gone: no namespaces, no /etc/netns dirs, no
charon or xdpsecd left (Lab.teardown/leftovers).

xdpsecctl's JSON: only ikelab.xdpsec_tunnels() and ikelab.xdpsec_child_sas()
know its shape (`{"tunnels": [{"name", "state", ...}]}`; `sa list` as a
top-level {"child_sas": [...]} or {"sas": [...]} with "spi", "direction",
"tunnel"). Negative scenarios look for the reason (NO_PROPOSAL_CHOSEN, no
proposal / AUTHENTICATION_FAILED, authentication failed) in the DUT's
`tunnel list` entry and in its log.

Each scenario is bounded (an alarm at --timeout * 4 + 60 s on top of the
bounded waits); SIGINT/SIGTERM tear the current lab down. Prints PASS/FAIL/
SKIP lines, a summary, and "N passed, M failed, K skipped" (scenarios);
exits 0 when none failed, 1 otherwise, 77 when not root or a tool is missing.
Without --keep-going the run stops after the first failed scenario. --keep
keeps each lab's directory (configs, logs, an IKE-only pcap of B's uplink).
"""

import argparse
import json
import os
import re
import secrets
import shutil
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ikelab  # noqa: E402
from ikelab import Conn, Lab, LabError, StrongSwan, Xdpsec  # noqa: E402

SKIP = 77
TUNNEL = "peer"          # the tunnel's (connection's) name on the DUT
REF_CONN = "ikelab"      # the connection's name on B
CHILD = "net"

DEFAULT_IKE = "aes128-sha256-x25519"
DEFAULT_ESP = "aes128gcm16"

# What strongSwan's list-sas reports for the proposals used here.
IKE_ALGS = {
    "aes128-sha256-x25519": {"encr-alg": "AES_CBC", "encr-keysize": "128",
                             "integ-alg": "HMAC_SHA2_256_128", "prf-alg": "PRF_HMAC_SHA2_256",
                             "dh-group": "CURVE_25519"},
    "aes256gcm16-prfsha384-ecp384": {"encr-alg": "AES_GCM_16", "encr-keysize": "256",
                                     "prf-alg": "PRF_HMAC_SHA2_384", "dh-group": "ECP_384"},
    "chacha20poly1305-prfsha256-x25519": {"encr-alg": "CHACHA20_POLY1305",
                                          "prf-alg": "PRF_HMAC_SHA2_256",
                                          "dh-group": "CURVE_25519"},
}
ESP_ALGS = {
    "aes128gcm16": {"encr-alg": "AES_GCM_16", "encr-keysize": "128"},
    "aes256-sha256": {"encr-alg": "AES_CBC", "encr-keysize": "256",
                      "integ-alg": "HMAC_SHA2_256_128"},
    "chacha20poly1305": {"encr-alg": "CHACHA20_POLY1305"},
}

# strongSwan's log lines for the notifies (message.c, ike_init/ike_auth/child_create).
RE_SWAN = {
    "no_proposal": r"generating [A-Z_]+ (?:request|response) \d+ \[[^]]*N\(NO_PROP\)|"
                   r"received NO_PROPOSAL_CHOSEN",
    "auth_failed": r"generating [A-Z_]+ (?:request|response) \d+ \[[^]]*N\(AUTH_FAILED\)|"
                   r"received AUTHENTICATION_FAILED",
}
# What the DUT must say (its `tunnel list` entry or its log), case-insensitive.
RE_DUT = {
    "no_proposal": r"NO_PROPOSAL_CHOSEN|N\(NO_PROP\)|no (?:acceptable |matching )?proposal",
    "auth_failed": r"AUTHENTICATION_FAILED|N\(AUTH_FAILED\)|authentication (?:\S+ )?failed|"
                   r"MAC mismatched",
}


@dataclass
class Scenario:
    name: str
    title: str
    initiator: str = "dut"        # dut | swan
    ike: str = DEFAULT_IKE
    esp: str = DEFAULT_ESP
    auth: str = "psk"             # psk | ecdsa | rsa
    family: int = 4               # outer and inner address family
    iperf: bool = False
    via_ctl: bool = False
    down_up: bool = False
    expect: str = "ok"            # ok | no_proposal | auth_failed
    swan_ike: str = None          # B's proposals where they differ (negative scenarios)
    swan_esp: str = None
    needs: tuple = None           # (list-algs category, algorithm) B must offer
    rekey: bool = False           # B rekeys the CHILD SA and the IKE SA every few seconds
    dut_rekey: int = None         # the DUT rekeys the CHILD SA every this many seconds
    flood: bool = False           # an IKE_SA_INIT flood before B initiates (DUT: remote %any)
    dpd: bool = False             # B dies; the DUT's dead-peer detection notices and restarts
    mtu: int = None               # the link's MTU (both ends of up0)
    reauth: int = None            # the DUT reauthenticates every this many seconds
    nat: str = None               # "a" / "b": that node sits behind a masquerading NAT (Lab nat=)
    load: bool = False            # 60 s UDP without rekeys, then 60 s with rekeys and collisions
    trap: str = None              # dpd_action = trap (dpd 2 s) and start = "trap" | "initiate"
    bogus_esp: bool = False       # B sends ESP with an SPI the DUT does not know (INVALID_SPI)
    ike_life: int = None          # the DUT's ike_life_time; no IKE SA rekeys on either side
    route_mtu: int = None         # A's route to B: this MTU, locked (the DUT's path MTU)
    child_acquire: bool = False   # with trap: B deletes the CHILD SA only, a ping brings it back
    acquire_hold: bool = False    # with trap and a refusing B: acquires held 10 s after a failure

    @property
    def letter(self):
        return self.name.split("-")[0]


SCENARIOS = [
    Scenario("a-psk-xinit", "DUT initiator, PSK, aes128-sha256-x25519 / aes128gcm16, iperf3",
             iperf=True),
    Scenario("b-psk-sinit", "strongSwan initiator, PSK, aes256gcm16-prfsha384-ecp384 / "
             "aes256-sha256", initiator="swan", ike="aes256gcm16-prfsha384-ecp384",
             esp="aes256-sha256"),
    Scenario("c-chacha-sinit", "strongSwan initiator, chacha20poly1305-prfsha256-x25519 / "
             "chacha20poly1305", initiator="swan", ike="chacha20poly1305-prfsha256-x25519",
             esp="chacha20poly1305", needs=("aead", "CHACHA20_POLY1305")),
    Scenario("d-ecdsa-xinit", "DUT initiator, ECDSA P-256 certificates (P-384 CA)",
             auth="ecdsa"),
    Scenario("e-rsa-sinit", "strongSwan initiator, RSA 3072 certificates over a 1280-byte MTU "
             "link", initiator="swan", auth="rsa", mtu=1280),
    Scenario("f-ipv6-xinit", "DUT initiator, IKE and ESP over IPv6 (6in6)", family=6),
    Scenario("g-ctladd-xinit", "DUT initiator, tunnel from `xdpsecctl tunnel add` with a "
             "PSK file", via_ctl=True),
    Scenario("h-down-xinit", "DUT initiator, `tunnel down` leaves no SA, up and down again",
             down_up=True),
    Scenario("i-noprop-ike", "DUT initiator, IKE proposals B does not accept",
             expect="no_proposal", swan_ike="aes256-sha384-ecp384"),
    Scenario("i-noprop-esp", "strongSwan initiator, ESP proposals the DUT does not accept",
             initiator="swan", expect="no_proposal", swan_esp="aes128-sha256"),
    Scenario("k-rekey-sinit", "strongSwan initiator rekeying CHILD SA (4 s) and IKE SA (7 s) "
             "under ping", initiator="swan", rekey=True),
    Scenario("l-rekey-xinit", "DUT initiator rekeying the CHILD SA (3 s) and the IKE SA (7 s) "
             "itself under ping", dut_rekey=3),
    Scenario("m-flood-sinit", "IKE_SA_INIT flood from 40 spoofed sources turns COOKIEs on; "
             "strongSwan still gets in", initiator="swan", flood=True),
    Scenario("n-dpd-xinit", "strongSwan killed: the DUT's DPD (2 s, 0.5 s x 2 retransmits) "
             "notices and restarts", dpd=True),
    Scenario("o-nat-xinit", "DUT behind a NAT (nftables masquerade) initiates to the public "
             "strongSwan", nat="a"),
    Scenario("p-nat-sinit", "strongSwan behind a NAT initiates to the public DUT (remote %any)",
             initiator="swan", nat="b"),
    Scenario("q-rekeyload-xinit", "60 s of iperf3 UDP and pings without rekeys, then 60 s with "
             "rekeys started by both sides, forced CHILD and IKE SA collisions among them",
             load=True),
    Scenario("r-reauth-xinit", "DUT initiator reauthenticating every 4 s (make-before-break) "
             "under ping", reauth=4),
    Scenario("s-trap-xinit", "start = trap: a ping brings the tunnel up (acquire); B killed, "
             "dpd_action = trap waits for the next ping", trap="trap"),
    Scenario("t-invalidspi-xinit", "ESP with an unknown SPI from B (in UDP and plain) gets "
             "INVALID_SPI, at most one a second; from a stranger only a drop", bogus_esp=True),
    Scenario("u-dpdtrap-xinit", "DUT initiator at start, dpd_action = trap: B killed, the next "
             "ping brings the tunnel back (acquire)", trap="initiate"),
    Scenario("v-ikelife-xinit", "DUT initiator, ike_life_time = 10 s and no IKE SA rekey on "
             "either side: the DUT deletes the IKE SA at its hard lifetime", ike_life=10),
    Scenario("w-pmtu-xinit", "DUT initiator, RSA 3072 certificates, a 1000-byte path MTU on "
             "a 1500-byte link: the DUT's IKE fragments fit the path", auth="rsa",
             route_mtu=1000),
    Scenario("x-childacq-xinit", "start = trap; B deletes the CHILD SA only: the next ping's "
             "acquire gets a CREATE_CHILD_SA over the same IKE SA", trap="trap",
             child_acquire=True),
    Scenario("y-acqhold-xinit", "start = trap, B refuses the IKE proposals: after the failed "
             "attempt acquires are held for 10 s, then the next one initiates again", trap="trap",
             swan_ike="aes256-sha384-ecp384", acquire_hold=True),
    Scenario("j-badpsk-xinit", "DUT initiator, the PSKs differ", expect="auth_failed"),
    Scenario("j-badpsk-sinit", "strongSwan initiator, the PSKs differ", initiator="swan",
             expect="auth_failed"),
]


# --- reporting -------------------------------------------------------------------------

class ScenarioTimeout(Exception):
    pass


class Skip(Exception):
    pass


class Fatal(Exception):
    """The scenario cannot go on; the failure was already reported."""


@dataclass
class Result:
    scen: Scenario
    passed: int = 0
    failed: int = 0
    skipped: str = None
    seconds: float = 0.0
    notes: list = field(default_factory=list)

    @property
    def status(self):
        if self.failed:
            return "FAIL"
        return "SKIP" if self.skipped else "PASS"


class Checker:
    def __init__(self, res):
        self.res = res

    def __call__(self, what, ok, detail=""):
        ok = bool(ok)
        if ok:
            self.res.passed += 1
        else:
            self.res.failed += 1
        line = f"{'PASS' if ok else 'FAIL'} [{self.res.scen.name}] {what}"
        if detail:
            line += f": {detail}"
        print(line, flush=True)
        return ok

    def must(self, what, ok, detail=""):
        if not self(what, ok, detail):
            raise Fatal()


def show_log(label, text, lines=15):
    noise = ("skipping unrecognized data section", "vici client")
    body = [ln for ln in text.splitlines() if not any(n in ln for n in noise)]
    for ln in body[-lines:]:
        print(f"    {label}: {ln}")


# --- the device under test: xdpsecd, or charon standing in for it ---------------------

@dataclass
class TunnelSpec:
    """The DUT's tunnel, side-neutral: A's view."""
    name: str
    local: str
    remote: str
    local_ts: str
    remote_ts: str
    ike: str
    esp: str
    start: str                  # initiate | listen | trap
    auth: str = "psk"           # psk | pubkey
    psk: str = None
    psk_file: str = None
    local_id: str = None
    remote_id: str = None
    cert: ikelab.Cert = None
    ca: ikelab.Cert = None
    rekey_time: int = None      # seconds: the DUT rekeys its CHILD SA itself
    extra: dict = None          # more [tunnel] keys (dpd, dpd_action)
    daemon: dict = None         # more [daemon] keys


class XdpsecDut:
    kind = "xdpsec"

    def __init__(self, lab, args, spec):
        self.lab, self.spec = lab, spec
        self.d = Xdpsec(lab, lab.a, {}, xdpsecd=args.xdpsecd, xdpsecctl=args.xdpsecctl)

    def keys(self):
        s = self.spec
        k = {"local": s.local, "remote": s.remote, "local_ts": s.local_ts,
             "remote_ts": s.remote_ts, "local_id": s.local_id, "remote_id": s.remote_id,
             "auth": s.auth, "ike": s.ike, "esp": s.esp, "mode": "tunnel", "start": s.start}
        if s.rekey_time:
            k["rekey_time"] = str(s.rekey_time)
        k.update(s.extra or {})
        if s.auth == "psk":
            if s.psk_file:
                k["psk_file"] = s.psk_file
            else:
                k["psk"] = s.psk
        else:
            k.update(cert=s.cert.cert, key=s.cert.key, ca=s.ca.cert)
        return k

    def start(self, with_tunnel=True):
        self.d.daemon.update(self.spec.daemon or {})
        if with_tunnel:
            self.d.tunnels = {self.spec.name: self.keys()}
        self.d.write_config()
        self.d.start()

    def add_via_ctl(self):
        s = self.spec
        r = self.d.ctl("tunnel", "add", s.name, "--local", s.local, "--remote", s.remote,
                       "--local-ts", s.local_ts, "--remote-ts", s.remote_ts, "--auth", "psk",
                       "--psk-file", s.psk_file, "--ike", s.ike, "--esp", s.esp,
                       "--start", "initiate")
        return r.ok, r.why()

    def up(self):
        r = self.d.ctl("tunnel", "up", self.spec.name)
        return r.ok, r.why()

    def down(self):
        r = self.d.ctl("tunnel", "down", self.spec.name)
        return r.ok, r.why()

    def rekey(self, what):
        """`tunnel rekey NAME child|ike` over the control socket, no process
        started, so that it can race B's VICI rekey."""
        r = self.d.request("tunnel rekey", [self.spec.name, what])
        return "error" not in r, r.get("error", "")

    def ike_sa_count(self):
        # As on B: a redundant IKE SA of a collision whose DELETE the peer
        # never sends (charon aborts its rekey when our DELETE of the old SA
        # overtakes our answer) waits "rekeyed" until it times out.
        return sum(i.get("state") == "established"
                   for i in (self.d.ctl("sa", "list").doc or {}).get("ike_sas", []))

    def drop_counters(self):
        """Every drop counter of `xdpsecctl stats`: XDP verdicts other than
        pass and redirect, the workers' drops and the kernel's at their
        AF_XDP sockets; None when unreadable."""
        doc = self.d.ctl("stats").doc
        if not doc:
            return None
        out = {}
        for reason, v in (doc.get("xdp") or {}).items():
            if not reason.startswith("pass") and "redirect" not in reason:
                out[f"xdp.{reason}"] = v.get("packets", 0)
        for w in doc.get("workers") or []:
            for k in ("esp_dropped", "no_metadata", "bad_slot", "stale_slot", "no_next_hop",
                      "selector_mismatch", "tx_ring_full"):
                out[f"worker.{k}"] = out.get(f"worker.{k}", 0) + w.get(k, 0)
            for k, v in w.items():
                if k.startswith("xsk_") and isinstance(v, int):
                    out[f"worker.{k}"] = out.get(f"worker.{k}", 0) + v
        return out

    def child_sas(self):
        """[{"direction": "in"|"out", "spi": int}] of the DUT's tunnel."""
        r = self.d.ctl("sa", "list")
        return [{"direction": s.get("direction"), "spi": s.get("spi")}
                for s in ikelab.xdpsec_child_sas(r.doc, self.spec.name)]

    def any_child_sas(self):
        return ikelab.xdpsec_child_sas(self.d.ctl("sa", "list").doc)

    def tunnel_entry(self):
        for t in ikelab.xdpsec_tunnels(self.d.ctl("tunnel", "list").doc):
            if t.get("name") == self.spec.name:
                return t
        return None

    def why_text(self):
        return json.dumps(self.tunnel_entry()) + "\n" + self.d.log()

    def state(self):
        t = self.tunnel_entry()
        return (t or {}).get("state", "?")

    def ike_sa_states(self):
        """The states of all the DUT's IKE SAs, whatever they are."""
        return [i.get("state") for i in (self.d.ctl("sa", "list").doc or {}).get("ike_sas", [])]

    def alive(self):
        return self.d.running()

    def log(self):
        return self.d.log()

    def stop(self, check):
        rc, in_time = self.d.stop(grace=10)
        check("xdpsecd stops on SIGTERM within 10 s with status 0", in_time and rc == 0,
              f"exit status {rc}" + ("" if in_time else ", killed after 10 s"))
        pins = self.d.pins()
        if pins is not None:
            check("xdpsecd removed its pins", not pins, ", ".join(pins))


class SwanDut:
    """charon in A, configured like the xdpsec tunnel would be."""
    kind = "strongswan"

    def __init__(self, lab, args, spec):
        self.lab, self.spec = lab, spec
        tries = int((spec.daemon or {}).get("retransmit_tries", 3))
        self.sw = StrongSwan(lab, lab.a, [], retransmit_tries=tries)

    def conn(self):
        s = self.spec
        # xdpsec's dpd / dpd_action are swanctl's dpd_delay (connection) and
        # dpd_action (CHILD SA); start = trap is start_action = trap.
        extra, child_extra = {}, {}
        if (s.extra or {}).get("dpd"):
            extra["dpd_delay"] = f"{s.extra['dpd']}s"
        if (s.extra or {}).get("dpd_action"):
            child_extra["dpd_action"] = s.extra["dpd_action"]
        return Conn(name=s.name, child=CHILD, local=s.local, remote=s.remote,
                    local_ts=s.local_ts, remote_ts=s.remote_ts, local_id=s.local_id,
                    remote_id=s.remote_id, auth=s.auth, psk=s.psk, cert=s.cert, ca=s.ca,
                    ike=s.ike, esp=s.esp,
                    start=s.start if s.start in ("initiate", "trap") else "none",
                    extra=extra, child_extra=child_extra)

    def start(self, with_tunnel=True):
        if with_tunnel:
            self.sw.set_conns([self.conn()])
        self.sw.start()

    def add_via_ctl(self):
        # The counterpart of `tunnel add`: a connection loaded at run time.
        self.sw.set_conns([self.conn()])
        try:
            self.sw.load()
            return True, ""
        except LabError as e:
            return False, str(e)

    def up(self):
        return self.sw.initiate(CHILD, self.spec.name, timeout=10)

    def down(self):
        return self.sw.terminate_ike(self.spec.name, timeout=10)

    def rekey(self, what):
        return self.sw.rekey(child=CHILD) if what == "child" else self.sw.rekey(ike=self.spec.name)

    def ike_sa_count(self):
        # A redundant IKE SA of a collision waits REKEYED for the peer's DELETE.
        return sum(sa.get("state") == "ESTABLISHED" for sa in self.sw.list_sas())

    def drop_counters(self):
        return None  # charon's libipsec counts no drops where we could read them

    def child_sas(self):
        out = []
        for c in self.sw.child_sas(ike=self.spec.name):
            out.append({"direction": "in", "spi": int(c["spi-in"], 16)})
            out.append({"direction": "out", "spi": int(c["spi-out"], 16)})
        return out

    def any_child_sas(self):
        return self.sw.child_sas(state=None)

    def why_text(self):
        return self.sw.log()

    def state(self):
        sas = self.sw.list_sas()
        return ",".join(sa.get("state", "?") for sa in sas) or "no IKE SA"

    def ike_sa_states(self):
        return [sa.get("state") for sa in self.sw.list_sas()]

    def alive(self):
        return self.sw.running()

    def log(self):
        return self.sw.log()

    def stop(self, check):
        rc, in_time = self.sw.stop(grace=10)
        check("DUT charon stops on SIGTERM within 10 s", in_time, f"exit status {rc}")


# --- one scenario ------------------------------------------------------------------------

def installed(dut_sas):
    dirs = {s["direction"] for s in dut_sas}
    return {"in", "out"} <= dirs


def compare_algs(got, want):
    bad = {k: got.get(k, "-") for k, v in want.items() if got.get(k) != v}
    return bad


def run_scenario(scen, args, res):
    check = Checker(res)
    fam = scen.family
    if scen.nat and not shutil.which("nft"):
        res.skipped = "nft missing (scripts/install-deps.sh installs nftables)"
        print(f"SKIP [{scen.name}] {res.skipped}", flush=True)
        return
    with Lab(tag="ikt", keep=args.keep, nat=scen.nat) as lab:
        a, b = lab.a, lab.b
        res.notes.append(f"lab {lab.prefix}" + (f", kept in {lab.tmp}" if args.keep else ""))
        dut = None
        ref = None
        cap = None
        pmtu_cap = None
        signal.alarm(int(args.timeout * 4 + 60 + (160 if scen.load else 0)))
        try:
            psk = secrets.token_urlsafe(24)
            spec = TunnelSpec(TUNNEL, a.addr(fam), b.addr(fam), a.net(fam), b.net(fam),
                              scen.ike, scen.esp,
                              "initiate" if scen.initiator == "dut" else "listen", psk=psk)
            ref_conn = Conn(name=REF_CONN, child=CHILD, local=b.addr(fam), remote=a.addr(fam),
                            local_ts=b.net(fam), remote_ts=a.net(fam),
                            ike=scen.swan_ike or scen.ike, esp=scen.swan_esp or scen.esp,
                            psk=psk if scen.expect != "auth_failed" else psk + "-not",
                            start="none")
            spec.rekey_time = scen.dut_rekey
            if scen.dut_rekey:
                spec.extra = {"ike_rekey_time": "7"}
            if scen.reauth:
                spec.extra = {"reauth_time": str(scen.reauth)}
            if scen.load:
                # Rekeys come from the test only; a blocked request of a
                # forced collision is retransmitted soon.
                spec.extra = {"rekey_time": "0", "ike_rekey_time": "0"}
                spec.daemon = {"retransmit_timeout": "0.5"}
                ref_conn.extra = {"rekey_time": "0"}
                ref_conn.child_extra = {"rekey_time": "0"}
            if scen.ike_life:
                spec.extra = {"ike_rekey_time": "0", "ike_life_time": str(scen.ike_life)}
                ref_conn.extra = {"rekey_time": "0"}  # B rekeys no IKE SA either
            if scen.dpd:
                spec.extra = {"dpd": "2", "dpd_action": "restart"}
                spec.daemon = {"retransmit_timeout": "0.5", "retransmit_tries": "2"}
            if scen.trap:
                spec.start = scen.trap
                spec.extra = {"dpd": "2", "dpd_action": "trap"}
                spec.daemon = {"retransmit_timeout": "0.5", "retransmit_tries": "2"}
            if scen.flood:
                spec.remote = "%any"  # a responder for anyone: the flood makes half-open SAs
            # The NATed peer's ID stays its own (private) address, which is not
            # where its packets come from.
            if scen.nat == "a":
                ref_conn.remote = lab.nat_public  # B only ever sees the NAT's address
                ref_conn.remote_id = a.addr4
            elif scen.nat == "b":
                spec.remote = "%any"  # the DUT cannot know which address B comes from
                spec.remote_id = b.addr4
            if scen.rekey:
                # Hard lifetimes well after the rekeys, or charon expires the
                # SAs instead of rekeying them.
                ref_conn.extra = {"rekey_time": "7s", "over_time": "60s", "rand_time": "0s"}
                ref_conn.child_extra = {"rekey_time": "4s", "life_time": "60s", "rand_time": "0s"}
            if scen.auth in ("ecdsa", "rsa"):
                pki = ikelab.Pki(lab)
                ca_type, leaf_type = ("p384", "p256") if scen.auth == "ecdsa" else \
                    ("rsa3072", "rsa3072")
                ca = pki.ca("ca", ca_type)
                ids = {n.name: f"{n.name}.ikelab.example" for n in (a, b)}
                leaf = {n.name: pki.leaf(ca, n.name, leaf_type, dns=[ids[n.name]],
                                         ips=[n.addr4, n.addr6]) for n in (a, b)}
                spec.auth, spec.psk, spec.cert, spec.ca = "pubkey", None, leaf["a"], ca
                spec.local_id, spec.remote_id = ids["a"], ids["b"]
                ref_conn.auth, ref_conn.psk, ref_conn.cert, ref_conn.ca = \
                    "pubkey", None, leaf["b"], ca
                ref_conn.local_id, ref_conn.remote_id = ids["b"], ids["a"]
            if scen.via_ctl:
                spec.psk_file = lab.write("tunnel.psk", psk + "\n")
            if args.keep and shutil.which("tcpdump"):
                cap = ikelab.Capture(lab, b, lab.path("ike.pcap"),
                                     "udp port 500 or (udp port 4500 and udp[8:4] = 0)")

            if scen.route_mtu:
                # The link stays at 1500; only the DUT's route (and so its
                # path MTU, which IKE fragmentation must follow) is smaller.
                lab.run(a, ["ip", "route", "replace", f"{b.addr(fam)}/{32 if fam == 4 else 128}",
                            "dev", "up0", "mtu", "lock", str(scen.route_mtu)])
                pmtu_cap = ikelab.Capture(lab, a, lab.path("pmtu.pcap"),
                                          f"src host {a.addr(fam)}")
            if scen.mtu:
                # IKE_AUTH with an RSA chain does not fit: IKE fragments must.
                for n in (a, b):
                    lab.run(n, ["ip", "link", "set", "up0", "mtu", str(scen.mtu)])
            # Scenario t reads the INVALID_SPI notifies B decrypted: enc at
            # level 3 logs the plaintext of each message's SK payload.
            ref = StrongSwan(lab, b, ref_conn, debug={"enc": 3} if scen.bogus_esp else None)
            ref.start()
            if scen.needs:
                cat, alg = scen.needs
                if not ref.has_alg(cat, alg):
                    raise Skip(f"charon's plugins do not offer {alg} here "
                               f"(swanctl --list-algs, {cat}: "
                               f"{', '.join(ref.list_algs().get(cat, [])) or 'none'})")
            dut = (SwanDut if args.peer == "strongswan" else XdpsecDut)(lab, args, spec)
            dut.pmtu_cap = pmtu_cap
            dut.start(with_tunnel=not scen.via_ctl)
            if scen.via_ctl:
                ok, why = dut.add_via_ctl()
                check.must("tunnel add via the control socket", ok, why)

            if scen.acquire_hold:
                acquire_hold_checks(check, dut, ref, lab, scen.family)
            elif scen.expect != "ok":
                negative(scen, args, check, dut, ref)
            else:
                positive(scen, args, check, dut, ref, spec, lab)
            check("DUT still runs", dut.alive())
        except Skip as e:
            res.skipped = str(e)
            print(f"SKIP [{scen.name}] {e}", flush=True)
        except (Fatal, ScenarioTimeout, LabError, Exception) as e:  # noqa: BLE001
            if isinstance(e, ScenarioTimeout):
                check("scenario within its time bound", False, str(e))
            elif isinstance(e, LabError):
                check("lab step", False, str(e))
            elif not isinstance(e, Fatal):
                check("scenario ran without an exception", False, traceback.format_exc())
        finally:
            signal.alarm(0)
            if res.failed:
                if dut:
                    show_log(f"DUT {dut.kind}", dut.log())
                if ref:
                    show_log("B charon", ref.log())
            try:
                if dut:
                    dut.stop(check)
                if ref:
                    ref.stop()
                if cap:
                    cap.stop()
                if pmtu_cap:
                    pmtu_cap.stop()
            except Exception:  # noqa: BLE001
                check("daemons stopped", False, traceback.format_exc())
    problems = lab.problems + lab.leftovers()
    check("lab cleaned up (namespaces, /etc/netns, processes, pins)", not problems,
          "; ".join(problems))


def wait_both(args, dut, ref, what="CHILD SA installed on both sides"):
    t0 = time.monotonic()
    last = {}

    def done():
        if not dut.alive():
            return "dut died"
        last["dut"] = dut.child_sas()
        last["ref"] = ref.child_sas(ike=REF_CONN)
        return installed(last["dut"]) and bool(last["ref"])

    v = ikelab.wait_until(done, args.timeout, 0.1)
    ok = v is True
    detail = (f"after {time.monotonic() - t0:.2f} s" if ok else
              ("the DUT exited" if v == "dut died" else
               f"not within {args.timeout} s: DUT SAs {last.get('dut')}, DUT state "
               f"{dut.state()}, B CHILD SAs {len(last.get('ref') or [])}"))
    return ok, detail, last


FLOOD_SCRIPT = r"""
import os, struct, sys
from scapy.all import IP, UDP, Raw, send
dst, first, sources, each = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def payload(nxt, body):
    return struct.pack("!BBH", nxt, 0, 4 + len(body)) + body
def transform(last, ttype, tid, keylen=None):
    attrs = struct.pack("!HH", 0x800e, keylen) if keylen else b""
    return struct.pack("!BBHBBH", 0 if last else 3, 0, 8 + len(attrs), ttype, 0, tid) + attrs
ts = transform(0, 1, 12, 128) + transform(0, 2, 5) + transform(0, 3, 12) + transform(1, 4, 31)
proposal = struct.pack("!BBHBBBB", 0, 0, 8 + len(ts), 1, 1, 0, 4) + ts
pkts = []
for i in range(sources):
    for _ in range(each):
        body = (payload(34, proposal) + payload(40, struct.pack("!HH", 31, 0) + os.urandom(32)) +
                payload(0, os.urandom(32)))
        hdr = os.urandom(8) + bytes(8) + struct.pack("!BBBBII", 33, 0x20, 34, 0x08, 0, 28 + len(body))
        pkts.append(IP(src=f"192.0.2.{first + i}", dst=dst) / UDP(sport=500, dport=500) / Raw(hdr + body))
send(pkts, verbose=0)
print(len(pkts))
"""


def flood(lab, check, dut):
    """IKE_SA_INIT requests from 40 spoofed addresses (2 each: the per-source
    cap of 5 lets them all in) to the DUT, a bounded loop: the half-open SAs
    pass the cookie threshold (10), so the next requests need a COOKIE."""
    a, b = lab.a, lab.b
    p = ikelab.run(["/usr/bin/python3", "-c", FLOOD_SCRIPT, a.addr4, "100", "40", "2"], b.ns,
                   timeout=30, check=False)
    check.must("scapy sends the IKE_SA_INIT flood", p.returncode == 0 and p.stdout.strip() == "80",
               (p.stdout + p.stderr).strip()[-300:])
    stats = {}

    def flooded():
        stats.update(dut.d.ctl("stats").doc.get("ike", {}))
        return stats.get("cookies_sent", 0) > 0
    ok = ikelab.wait_until(flooded, 10, 0.2)
    check("the DUT answers the flood with COOKIEs once 10 SAs are half-open", ok,
          f"cookies_sent {stats.get('cookies_sent')}, received {stats.get('received')}")


def positive(scen, args, check, dut, ref, spec, lab):
    a, b = lab.a, lab.b
    fam = scen.family
    if scen.flood:
        flood(lab, check, dut)
    if scen.trap == "trap":
        before = trap_start(check, dut, ref, lab, fam)
    if scen.initiator == "swan":
        ok, out = ref.initiate(CHILD, REF_CONN, timeout=args.timeout)
        check.must("strongSwan initiates (swanctl --initiate)", ok,
                   ikelab.tail(out, 1 if ok else 8))
    ok, detail, last = wait_both(args, dut, ref)
    check.must("CHILD SA installed on both sides", ok, detail)
    if scen.trap == "trap":
        acquire_checks(check, dut, lab, fam, before, 1)

    # What strongSwan negotiated is what was asked for.
    c = last["ref"][0]
    ike = c["ike"]
    bad = compare_algs(ike, IKE_ALGS[scen.ike])
    check("IKE SA algorithms on B", not bad,
          f"{ike.get('encr-alg')}/{ike.get('encr-keysize', '-')} {ike.get('integ-alg', '-')} "
          f"{ike.get('prf-alg')} {ike.get('dh-group')}" + (f"; wrong: {bad}" if bad else ""))
    bad = compare_algs(c, ESP_ALGS[scen.esp])
    check("CHILD SA algorithms on B", not bad,
          f"{c.get('encr-alg')}/{c.get('encr-keysize', '-')} {c.get('integ-alg', '-')} "
          f"{c.get('mode')} encap={c.get('encap')}" + (f"; wrong: {bad}" if bad else ""))
    ref_in, ref_out = int(c["spi-in"], 16), int(c["spi-out"], 16)
    dut_in = {s["spi"] for s in last["dut"] if s["direction"] == "in"}
    dut_out = {s["spi"] for s in last["dut"] if s["direction"] == "out"}
    check("SPIs match across the peers", ref_out in dut_in and ref_in in dut_out,
          f"B in {ref_in:08x} out {ref_out:08x}; DUT in "
          f"{','.join(f'{x:08x}' for x in sorted(dut_in))} out "
          f"{','.join(f'{x:08x}' for x in sorted(dut_out))}")
    if spec.auth == "pubkey":
        kind = "ECDSA" if scen.auth == "ecdsa" else "RSA"
        m = re.findall(rf"authentication of '{re.escape(spec.local_id)}' with (\S+) successful",
                       ref.log())
        check(f"B authenticated the DUT's ID with an {kind} signature",
              m and kind in m[-1] and ike.get("remote-id") == spec.local_id,
              f"remote-id {ike.get('remote-id')}, method {m[-1] if m else 'not logged'}")
    if scen.auth == "rsa":
        # RSA 3072 chains make IKE_AUTH bigger than 1280 bytes: both sides
        # announced RFC 7383 support, so both send fragments and reassemble
        # the other's.
        log = ref.log()
        split = re.search(r"splitting IKE message \((\d+) bytes\) into (\d+) fragments", log)
        joined = re.search(r"reassembled fragmented IKE message \((\d+) bytes\)", log)
        check("IKE fragmentation both ways (RFC 7383): B split its IKE_AUTH and reassembled ours",
              split and joined,
              f"B sent {split.group(2) + ' fragments' if split else 'no fragments'}, "
              f"reassembled {joined.group(1) + ' bytes' if joined else 'nothing'}")

    if scen.flood:
        log = ref.log()
        asked = re.search(r"parsed IKE_SA_INIT response 0 \[ N\(COOKIE\) \]", log)
        back = re.search(r"generating IKE_SA_INIT request 0 \[ N\(COOKIE\) SA KE No", log)
        check("B was asked for a COOKIE and came back with it", bool(asked and back),
              f"asked: {bool(asked)}, request with the cookie first: {bool(back)}")
    traffic(scen, check, lab, fam)
    if scen.nat:
        nat_checks(scen, check, dut, ref, lab)
    if scen.rekey or scen.dut_rekey:
        rekey_checks(scen, check, dut, ref, lab, fam)
    if scen.dpd:
        dpd_checks(check, dut, ref)
        return
    if scen.ike_life:
        ike_life_checks(scen, check, dut, ref)
        return
    if scen.route_mtu:
        pmtu_checks(scen, check, dut, ref, lab)
    if scen.child_acquire:
        child_acquire_checks(scen, args, check, dut, ref, lab, fam)
        return
    if scen.trap:
        trap_dpd_checks(scen, args, check, dut, ref, lab, fam)
        return
    if scen.bogus_esp:
        invalid_spi_checks(scen, check, dut, ref, lab, fam)
    if scen.reauth:
        reauth_checks(check, dut, ref, lab, fam)
    if scen.load:
        load_checks(check, dut, ref, lab, fam)
    if scen.iperf:
        r = ikelab.iperf3(lab, b, a, seconds=3, family=fam)
        check("iperf3 TCP 3 s A -> B through the tunnel", r["ok"],
              f"{r['mbps']} Mbit/s, {r['bytes']} bytes, {r.get('retransmits')} retransmits"
              if r["ok"] else r["error"])

    if scen.down_up:
        down_and_check(args, check, dut, ref, "tunnel down")
        ok, why = dut.up()
        check.must("tunnel up brings it back", ok, ikelab.tail(why, 1 if ok else 8))
        ok, detail, _ = wait_both(args, dut, ref)
        check.must("CHILD SA installed again on both sides", ok, detail)
        traffic(scen, check, lab, fam, count=2)
        down_and_check(args, check, dut, ref, "second tunnel down")


def split_hostport(s):
    host, _, port = str(s).rpartition(":")
    return host.strip("[]"), int(port) if port.isdigit() else None


def dut_ike_view(dut):
    """The DUT's first IKE SA as {"local", "remote" (host:port), "nat"} and its
    data-plane SAs' encap ports [(direction, local_port, remote_port)]."""
    if dut.kind == "xdpsec":
        doc = dut.d.ctl("sa", "list").doc or {}
        ikes = doc.get("ike_sas") or [{}]
        encap = [(s.get("direction"), (s.get("encap") or {}).get("local_port"),
                  (s.get("encap") or {}).get("remote_port"))
                 for s in ikelab.xdpsec_child_sas(doc, TUNNEL)]
        return ikes[0], encap
    sas = dut.sw.list_sas() or [{}]
    sa = sas[0]
    view = {"local": f"{sa.get('local-host')}:{sa.get('local-port')}",
            "remote": f"{sa.get('remote-host')}:{sa.get('remote-port')}",
            "nat": sa.get("nat-any") == "yes"}
    encap = [(d, int(sa.get("local-port", 0)), int(sa.get("remote-port", 0)))
             for c in sa.get("child-sas", {}).values() if c.get("encap") == "yes"
             for d in ("in", "out")]
    return view, encap


def nat_checks(scen, check, dut, ref, lab):
    """What the NAT left visible on both sides (after traffic passed it)."""
    ike, encap = dut_ike_view(dut)
    bsa = (ref.list_sas() or [{}])[0]
    b_remote = f"{bsa.get('remote-host')}:{bsa.get('remote-port')}"
    b_local = f"{bsa.get('local-host')}:{bsa.get('local-port')}"
    print(f"    NAT [{scen.name}]: DUT IKE SA local {ike.get('local')} remote {ike.get('remote')} "
          f"nat {ike.get('nat')}; DUT ESP encap {encap}; B local {b_local} remote {b_remote} "
          f"nat-local {bsa.get('nat-local')} nat-remote {bsa.get('nat-remote')}", flush=True)
    check("the DUT's IKE SA saw the NAT (sa list: nat true)", ike.get("nat") is True,
          f"nat {ike.get('nat')!r}")
    check("the DUT's IKE SA floated to UDP 4500", str(ike.get("local", "")).endswith(":4500"),
          f"local {ike.get('local')}")
    if scen.nat == "a":
        check("B sees the DUT at the NAT's public address, NAT on the remote side",
              bsa.get("remote-host") == lab.nat_public and bsa.get("nat-remote") == "yes",
              f"remote {b_remote} (NAT {lab.nat_public}, mapped port "
              f"{'!=' if bsa.get('remote-port') != '4500' else '=='} 4500), "
              f"nat-remote {bsa.get('nat-remote')}")
        want = (4500, 4500)
    else:
        host, port = split_hostport(ike.get("remote", ""))
        check("the DUT's IKE SA peer is the NAT's public address (mapped port)",
              host == lab.nat_public and port,
              f"remote {ike.get('remote')} (NAT {lab.nat_public}; port "
              f"{'!=' if port != 4500 else '=='} 4500)")
        check("B sees the NAT on its own side (nat-local)", bsa.get("nat-local") == "yes",
              f"local {b_local}, nat-local {bsa.get('nat-local')}")
        want = (4500, port)
    dirs = {d for d, *_ in encap}
    bad = [e for e in encap if tuple(e[1:]) != want]
    check("the data-plane SAs UDP-encapsulate with the ports IKE sees",
          {"in", "out"} <= dirs and not bad,
          f"encap (local, remote) {encap}, want {want} on both directions")


def rekey_checks(scen, check, dut, ref, lab, fam):
    """B rekeys the CHILD SA every 4 s and the IKE SA every 7 s (make-before-
    break on both sides): 12 s of pings every 50 ms lose nothing, and at the
    end each side holds one IKE SA and one CHILD SA, both new."""
    a, b = lab.a, lab.b
    first = {s["spi"] for s in dut.child_sas()}
    sent, got = ikelab.ping(a.ns, b.site(fam), count=240, interval=0.05, timeout=30,
                            src=a.site(fam))
    check("240 pings A -> B over 12 s of rekeying, none lost", sent == 240 and got == 240,
          f"{got}/{sent} replies")
    log = ref.log()
    child_rekeys = len(re.findall(r"CHILD_SA \S+ established with SPIs", log)) - 1
    ike_rekeys = len(re.findall(r"IKE_SA \S+ rekeyed between", log))
    if scen.dut_rekey:
        dut_rekeys = len(re.findall(r"rekeying CHILD SA", dut.log()))
        dut_ike = len(re.findall(r"IKE SA with \S+ rekeyed,", dut.log()))
        check("the DUT rekeyed the CHILD SA and the IKE SA with B",
              dut_rekeys >= 2 and child_rekeys >= 2 and dut_ike >= 1,
              f"{dut_rekeys} CHILD SA rekeys started by the DUT, {child_rekeys} new CHILD SAs in "
              f"B's log, {dut_ike} IKE SA rekeys by the DUT")
    else:
        check("B rekeyed the CHILD SA and the IKE SA with the DUT",
              child_rekeys >= 2 and ike_rekeys >= 1,
              f"{child_rekeys} CHILD SA rekeys, {ike_rekeys} IKE SA rekeys in B's log")
    ok = ikelab.wait_until(lambda: len(dut.child_sas()) == 2 and len(ref.list_sas()) == 1, 5, 0.1)
    now = {s["spi"] for s in dut.child_sas()}
    check("afterwards one CHILD SA (two directions) on the DUT, none of the first SPIs, "
          "one IKE SA on B", ok and not (now & first),
          f"DUT SPIs {sorted(f'{x:08x}' for x in now)}, first {sorted(f'{x:08x}' for x in first)}, "
          f"B IKE SAs {len(ref.list_sas())}")
    traffic(scen, check, lab, fam, count=2)


def reauth_checks(check, dut, ref, lab, fam):
    """The DUT replaces its IKE SA every 4 s with a fresh IKE_SA_INIT and
    IKE_AUTH, the new CHILD SA installed before the old IKE SA is deleted:
    12 s of pings every 50 ms, and in the end one IKE SA on each side."""
    a, b = lab.a, lab.b
    sent, got = ikelab.ping(a.ns, b.site(fam), count=240, interval=0.05, timeout=30,
                            src=a.site(fam))
    n = len(re.findall(r"reauthenticating", dut.log()))
    check("the DUT reauthenticated at least twice", n >= 2, f"{n} reauthentications")
    check("240 pings A -> B over 12 s of reauthentication, none lost", sent == 240 and got == 240,
          f"{got}/{sent} replies")
    ok = ikelab.wait_until(lambda: len(ref.list_sas()) == 1 and len(dut.child_sas()) == 2, 5, 0.1)
    check("afterwards one IKE SA on B and one CHILD SA on the DUT", ok,
          f"B IKE SAs {len(ref.list_sas())}, DUT SAs {len(dut.child_sas())}")


# A's IKE output held back while a forced collision is set up (nftables in A).
# IKE only: UDP 500, and UDP 4500 with the non-ESP marker (four zero bytes).
NFT_HOLD = """table inet ikehold {
    chain out {
        type filter hook output priority 0; policy accept;
        udp sport 500 drop
        udp sport 4500 @th,64,32 0 drop
    }
}
"""


def rekey_events():
    """Who rekeys what, one event every 5 s of the loaded minute."""
    return [("dut", "child"), ("swan", "child"), ("both", "child"), ("dut", "ike"),
            ("swan", "ike"), ("both", "ike"), ("swan", "child"), ("dut", "child"),
            ("both", "child"), ("dut", "ike"), ("both", "ike")]


def settled(dut, ref):
    """One IKE SA and one CHILD SA (two directions) on each side, the same SPIs."""
    d = dut.child_sas()
    r = ref.child_sas()
    established = sum(sa.get("state") == "ESTABLISHED" for sa in ref.list_sas())
    if len(d) != 2 or len(r) != 1 or dut.ike_sa_count() != 1 or established != 1:
        return False
    return {x["spi"] for x in d} == {int(r[0]["spi-in"], 16), int(r[0]["spi-out"], 16)}


def rekey_now(check, dut, ref, lab, who, what):
    """One rekey; with who = "both" a collision: A's IKE output is held
    (nftables) while the DUT sends its request and B sends its own, which the
    DUT receives with its own in flight; released, the DUT's retransmitted
    request reaches B with B's own in flight. Both sides see the collision."""
    if who == "dut":
        return dut.rekey(what)
    if who == "swan":
        return ref.rekey(child=CHILD) if what == "child" else ref.rekey(ike=REF_CONN)
    lab.run(lab.a, ["nft", "-f", "-"], input=NFT_HOLD)
    try:
        ok_d, why_d = dut.rekey(what)
        time.sleep(0.1)
        ok_r, why_r = ref.rekey(child=CHILD) if what == "child" else ref.rekey(ike=REF_CONN)
        # B's request reaches the DUT, which answers into the hold; released
        # before the DUT's first retransmission (0.5 s), which then reaches B
        # before B's own (1 s) brings it the answer.
        time.sleep(0.2)
    finally:
        lab.run(lab.a, ["nft", "delete", "table", "inet", "ikehold"], check=False)
    return ok_d and ok_r, f"{why_d} {why_r}".strip()


def load_checks(check, dut, ref, lab, fam):
    """60 s of iperf3 UDP A -> B and 20 pings/s B -> A without any rekey, then
    the same with a rekey every 5 s (rekey_events), forced collisions among
    them. Rekeying must lose no more than the quiet minute did."""
    a, b = lab.a, lab.b
    seconds = 60
    runs = {}
    drops = {}  # per phase: what the DUT's drop counters gained
    for phase in ("quiet", "rekeys"):
        before = dut.drop_counters()
        result, pings = {}, {}
        flows = [threading.Thread(target=lambda: result.update(ikelab.iperf3(
                     lab, b, a, seconds=seconds, udp=True, bitrate="20M", family=fam))),
                 threading.Thread(target=lambda: pings.update(zip(("sent", "got"), ikelab.ping(
                     b.ns, a.site(fam), count=seconds * 20, interval=0.05, timeout=seconds + 10,
                     src=b.site(fam)))))]
        started = time.monotonic()
        for f in flows:
            f.start()
        done = []
        try:
            if phase == "rekeys":
                t0 = time.monotonic()
                for i, (who, what) in enumerate(rekey_events()):
                    pause = t0 + 3 + 5 * i - time.monotonic()
                    if pause > 0:
                        time.sleep(pause)
                    # The previous rekey finished on both sides before the next.
                    ikelab.wait_until(lambda: settled(dut, ref), 4, 0.1)
                    at = time.monotonic() - started
                    ok, why = rekey_now(check, dut, ref, lab, who, what)
                    done.append((who, what, ok, why, at))
        finally:
            for f in flows:  # bounded: iperf3 and ping end by themselves
                f.join(timeout=seconds + 40)
        runs[phase] = (result, pings, done)
        after = dut.drop_counters()
        drops[phase] = None if before is None or after is None else \
            {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
        ok = ikelab.wait_until(lambda: settled(dut, ref), 15, 0.2)
        check(f"{phase}: one IKE SA and one CHILD SA on each side afterwards, SPIs matching", ok,
              f"DUT {len(dut.child_sas())} data-plane SAs, {dut.ike_sa_count()} IKE SAs; "
              f"B {len(ref.child_sas())} CHILD SAs, "
              f"{[sa.get('state') for sa in ref.list_sas()]} IKE SAs")
    quiet, loaded = runs["quiet"], runs["rekeys"]
    for name, (r, p, _) in runs.items():
        check(f"{name}: iperf3 UDP 60 s ran", r.get("ok") and r.get("packets"),
              f"{r.get('mbps')} Mbit/s, lost {r.get('lost_packets')}/{r.get('packets')}"
              if r.get("ok") else r.get("error"))
    failed = [f"{w}/{x}: {why}" for w, x, ok, why, _ in loaded[2] if not ok]
    check(f"{len(loaded[2])} rekeys requested (DUT, B, both at once), all accepted", not failed,
          "; ".join(failed))
    lost_q = (quiet[0].get("lost_packets") or 0) + (quiet[1].get("sent", 0) - quiet[1].get("got", 0))
    lost_r = (loaded[0].get("lost_packets") or 0) + (loaded[1].get("sent", 0) -
                                                     loaded[1].get("got", 0))
    print(f"    load: quiet minute lost {quiet[0].get('lost_packets')}/{quiet[0].get('packets')} "
          f"UDP, {quiet[1].get('sent', 0) - quiet[1].get('got', 0)}/{quiet[1].get('sent')} pings; "
          f"rekeying minute lost {loaded[0].get('lost_packets')}/{loaded[0].get('packets')} UDP, "
          f"{loaded[1].get('sent', 0) - loaded[1].get('got', 0)}/{loaded[1].get('sent')} pings",
          flush=True)
    # Where a loss came from, should there be one: the rekeys' times (s after
    # the flows were started; iperf3's own clock, which its loss intervals
    # use, starts a few tenths of a second later, once its server listens)
    # and the drops the DUT counted in each minute ("none": no counter moved;
    # "not counted": a charon DUT, or stats unreadable).
    print("    rekeys at " + ", ".join(f"{at:.1f} s ({w} {x})" for w, x, _, _, at in loaded[2]),
          flush=True)
    for phase in ("quiet", "rekeys"):
        d = drops[phase]
        print(f"    DUT drops, {phase} minute: " + ("not counted" if d is None else
              ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "none"), flush=True)
    # The quiet minute's loss is noise (this machine drops a datagram or so a
    # minute with no rekey at all: docs/IKE.md's soak); a rekey that lost
    # even one packet each time would lose 11 here.
    allowed = lost_q + max(3, lost_q)
    check("rekeying lost no more packets than the quiet minute, within its noise (UDP + pings)",
          loaded[1].get("sent") and lost_r <= allowed,
          f"{lost_r} lost with rekeys, {lost_q} without (allowed {allowed}); UDP losses at "
          f"{loaded[0].get('loss_intervals') or 'none'} with rekeys, "
          f"{quiet[0].get('loss_intervals') or 'none'} without")
    rlog = ref.log()
    child_new = len(re.findall(r"CHILD_SA \S+ established with SPIs", rlog)) - 1
    ike_new = len(re.findall(r"IKE_SA \S+ rekeyed between", rlog))
    # charon logs a collision where its own request is in flight when the
    # peer's arrives: what a forced collision must produce on B.
    coll = re.findall(r"detected (CHILD|IKE)_REKEY collision with \1_REKEY", rlog)
    check("B saw rekeys of both kinds and collisions of both kinds",
          child_new >= 6 and ike_new >= 4 and set(coll) == {"CHILD", "IKE"},
          f"{child_new} new CHILD SAs, {ike_new} IKE SA rekeys, collisions "
          f"{coll.count('CHILD')} CHILD, {coll.count('IKE')} IKE")


def pmtu_checks(scen, check, dut, ref, lab):
    """What A sent while the tunnel came up (captured on A's uplink): every
    IP packet within the route's MTU and none an IP fragment, so IKE_AUTH
    went as RFC 7383 fragments sized for the path; B reassembled them."""
    if dut.kind != "xdpsec":
        raise Skip("charon sizes IKE fragments by its fragment_size, not by the path MTU")
    dut.pmtu_cap.stop()
    from scapy.all import IP, IPv6, rdpcap  # noqa: PLC0415
    pkts = [p for p in rdpcap(dut.pmtu_cap.path) if IP in p or IPv6 in p]
    sizes, frags, ike_frags = [], 0, 0
    for p in pkts:
        if IP in p:
            ip = p[IP]
            sizes.append(ip.len)
            frags += bool(ip.flags.MF) or ip.frag != 0
            raw = bytes(ip.payload)
        else:
            ip = p[IPv6]
            sizes.append(ip.plen + 40)
            frags += ip.nh == 44
            raw = bytes(ip.payload)
        # UDP, then (on 4500) the non-ESP marker, then the IKE header: its
        # first payload 53 is an Encrypted Fragment (RFC 7383 §2.5).
        if len(raw) >= 8 + 4 + 28:
            dport = int.from_bytes(raw[2:4], "big")
            ike = raw[12:] if dport == 4500 and raw[8:12] == b"\0\0\0\0" else raw[8:]
            ike_frags += dport in (500, 4500) and len(ike) >= 28 and ike[16] == 53
    check(f"every packet the DUT sent fits the {scen.route_mtu}-byte path, none an IP fragment",
          pkts and max(sizes) <= scen.route_mtu and not frags,
          f"{len(pkts)} packets, largest {max(sizes, default=0)} bytes, {frags} IP fragments")
    told = len(re.findall(r"received fragment #\d+", ref.log()))
    check("the DUT's IKE_AUTH went as IKE fragments, which B reassembled",
          ike_frags >= 2 and told >= 2,
          f"{ike_frags} IKE fragments captured, B logged {told} received")


def ike_life_checks(scen, check, dut, ref):
    """Neither side rekeys the IKE SA, and the DUT's ike_life_time is
    scen.ike_life: when the IKE SA is that old the DUT deletes it with its
    CHILD SA (RFC 7296 §2.8: an SA must not outlive its lifetime), strongSwan
    receives the DELETE and keeps nothing, and the DUT's tunnel says why and
    is not started again."""
    if dut.kind != "xdpsec":
        raise Skip("ike_life_time is xdpsecd's setting; a charon DUT has none to test here")
    ikes = (dut.d.ctl("sa", "list").doc or {}).get("ike_sas", [])
    age = ikes[0].get("age_s", 0) if len(ikes) == 1 else 0
    t0 = time.monotonic()
    due = scen.ike_life - age  # seconds from now
    ok = ikelab.wait_until(lambda: "reached its hard lifetime" in dut.log(), due + 10, 0.1)
    took = time.monotonic() - t0
    check("the DUT deletes the IKE SA when it reaches ike_life_time",
          ok and due - 1 <= took <= due + 3,
          f"after {age + took:.1f} s of {scen.ike_life} s" if ok else ikelab.tail(dut.log(), 5))
    gone = ikelab.wait_until(lambda: not ref.list_sas() and not dut.child_sas(), 5, 0.1)
    told = re.search(r"received DELETE for IKE_SA", ref.log())
    check("B received the DELETE and keeps no IKE SA; the DUT's data plane no CHILD SA",
          gone and bool(told), f"B IKE SAs {len(ref.list_sas())}, DUT SAs {dut.child_sas()}, "
          f"B logged the DELETE: {bool(told)}")
    entry = dut.tunnel_entry() or {}
    check("the DUT's tunnel says why", "hard lifetime" in entry.get("error", ""),
          json.dumps(entry))
    time.sleep(2)
    check("and the tunnel is not started again", not dut.ike_sa_states() and not ref.list_sas(),
          f"DUT IKE SAs {dut.ike_sa_states()}, B IKE SAs {len(ref.list_sas())}")


def dpd_checks(check, dut, ref):
    """Kill B's charon (SIGKILL: no DELETE): after dpd = 2 s of silence the
    DUT checks, retransmits twice (0.5 s, 1 s, then 2 s to give up), so it
    must notice within about 6 s; dpd_action = restart initiates again."""
    t0 = time.monotonic()
    ref.proc.kill()
    ref.proc.wait(timeout=5)
    state = {}

    def noticed():
        state["log"] = dut.log()
        return "giving up" in state["log"]
    ok = ikelab.wait_until(noticed, 15, 0.1)
    took = time.monotonic() - t0
    check("the DUT notices the dead peer within dpd + retransmissions (< 8 s)", ok and took < 8,
          f"after {took:.1f} s" if ok else "not within 15 s")
    restarted = ikelab.wait_until(lambda: "dpd_action restart: initiating again" in dut.log(), 5, 0.1)
    check("dpd_action = restart initiates the tunnel again", restarted,
          dut.state() if restarted else ikelab.tail(dut.log(), 5))
    check("the dead peer's CHILD SA left the DUT's data plane", not dut.child_sas(),
          str(dut.child_sas()))


# xdpsecd's log line for an acquire (engine.cpp): tunnel, inner source,
# destination and protocol of the trapped packet; then what it does: a new
# IKE SA, or a CHILD SA for an IKE SA that has none.
RE_ACQUIRE_NEW_CHILD = "the IKE SA has no CHILD SA; creating one"
RE_ACQUIRE = (r"tunnel (\S+): acquire \((\S+) -> (\S+) proto (\d+)[^)]*\): "
              rf"(?:initiating|{RE_ACQUIRE_NEW_CHILD})")
RE_TRAPPED = rf"tunnel {TUNNEL}: traffic for it is trapped until it is up"
# charon's log line when it parsed an INFORMATIONAL request holding INVALID_SPI.
RE_B_INVALID_SPI = r"parsed INFORMATIONAL request \d+ \[ N\(INVAL_SPI\) \]"
BOGUS_SPI = 0xdeadbeef
# Why a charon DUT cannot go on where an acquire must bring the tunnel up.
NO_LIBIPSEC_ACQUIRE = ("charon's kernel-libipsec raises no acquire: trapped traffic meets "
                       "\"could not find an outbound IPsec SA for reqid {1}, dropping packet\" "
                       "(libipsec's ipsec_processor.c, a TODO there), so start_action / "
                       "dpd_action = trap never bring the tunnel up with it")

# The counters scenarios s, t and u read from `xdpsecctl --json stats`.
IKE_COUNTERS = ("acquires", "acquires_held", "invalid_spi_sent", "invalid_spi_rate_limited",
                "invalid_spi_no_ike_sa")
XDP_COUNTERS = ("protect_acquire", "drop_unknown_spi")
EVENT_COUNTERS = tuple(f"{t}.{f}" for t in ("acquire", "unknown_spi")
                       for f in ("emitted", "rate_limited", "ring_full"))


def xdpsec_counters(check, dut):
    """Those counters, flat: IKE's by name, the XDP verdicts' packets by
    verdict, the events' as TYPE.FIELD. A missing one fails the scenario."""
    doc = dut.d.ctl("stats").doc or {}
    ike, xdp, ev = (doc.get(k) or {} for k in ("ike", "xdp", "events"))
    out = {k: ike.get(k) for k in IKE_COUNTERS}
    out.update({k: (xdp.get(k) or {}).get("packets") for k in XDP_COUNTERS})
    for k in EVENT_COUNTERS:
        t, f = k.split(".")
        out[k] = (ev.get(t) or {}).get(f)
    missing = [k for k, v in out.items() if not isinstance(v, int)]
    if missing:
        check.must("xdpsecctl --json stats has the acquire and unknown-SPI counters", False,
                   f"missing {', '.join(missing)}")
    return out


def delta(after, before):
    return {k: after[k] - before[k] for k in after}


def ike_sas_within(dut, ref, seconds):
    """Watches both sides (B only while its charon runs) for seconds,
    bounded, every 0.1 s: the first IKE SAs seen as {"dut": [states], "b":
    [states]}, or None."""
    seen = {}

    def look():
        d = dut.ike_sa_states()
        r = [sa.get("state") for sa in ref.list_sas()] if ref.running() else []
        if d or r:
            seen.update(dut=d, b=r)
        return bool(d or r)
    ikelab.wait_until(look, seconds, 0.1)
    return seen or None


def trap_start(check, dut, ref, lab, fam):
    """start = trap: nothing is initiated until traffic for the tunnel
    comes; then one ping from A's site to B's meets the trap. Returns the
    DUT's counters before the ping (xdpsec) or None."""
    a, b = lab.a, lab.b
    seen = ike_sas_within(dut, ref, 2)
    check("start = trap: no IKE SA on either side for 2 s after the start", not seen, str(seen))
    before = None
    if dut.kind == "xdpsec":
        before = xdpsec_counters(check, dut)
        m = re.search(RE_TRAPPED, dut.log())
        check("the DUT's log: the tunnel's traffic is trapped", m,
              m.group(0) if m else ikelab.tail(dut.log(), 3))
        check("nothing trapped or acquired before the ping (stats)",
              before["acquires"] == 0 and before["protect_acquire"] == 0 and
              before["acquire.emitted"] == 0,
              f"acquires {before['acquires']}, protect_acquire {before['protect_acquire']}, "
              f"acquire events {before['acquire.emitted']}")
    else:
        raise Skip(NO_LIBIPSEC_ACQUIRE)
    ikelab.ping(a.ns, b.site(fam), count=1, timeout=2, src=a.site(fam))
    return before


def acquire_checks(check, dut, lab, fam, before, nth):
    """(xdpsec) The tunnel came up because of the ping: the DUT's nth acquire is
    the ping's packet (A's site -> B's site, ICMP), the data plane trapped
    it and reported it, IKE counted one acquire more."""
    a, b = lab.a, lab.b
    proto = "1" if fam == 4 else "58"
    got = re.findall(RE_ACQUIRE, dut.log())
    want = (TUNNEL, a.site(fam), b.site(fam), proto)
    check(f"the DUT's log has acquire #{nth}, for the ping ({a.site(fam)} -> {b.site(fam)} "
          f"proto {proto})", len(got) == nth and got[-1] == want,
          f"{len(got)} acquires logged, the last {got[-1] if got else None}")
    d = delta(xdpsec_counters(check, dut), before)
    check("stats: one acquire more (ike.acquires), the ping trapped (protect_acquire) and "
          "reported (events.acquire.emitted)",
          d["acquires"] == 1 and d["protect_acquire"] >= 1 and d["acquire.emitted"] >= 1,
          f"acquires +{d['acquires']}, protect_acquire +{d['protect_acquire']}, acquire events "
          f"+{d['acquire.emitted']} (rate-limited +{d['acquire.rate_limited']})")


def trap_dpd_checks(scen, args, check, dut, ref, lab, fam):
    """dpd_action = trap: B's charon is killed (SIGKILL: no DELETE); the
    DUT's DPD (2 s, 0.5 s x 2 retransmits) gives up and removes the SAs,
    and then initiates nothing by itself, neither while B is dead nor once
    a new charon runs there with the same configuration; the next ping from
    A's site meets the trap and brings the tunnel back."""
    a, b = lab.a, lab.b
    t0 = time.monotonic()
    ref.proc.kill()
    ref.proc.wait(timeout=5)
    ok = ikelab.wait_until(lambda: "giving up" in dut.log(), 15, 0.1)
    check("the DUT notices the dead peer (DPD gives up)", ok,
          f"after {time.monotonic() - t0:.1f} s" if ok else "not within 15 s")
    gone = ikelab.wait_until(lambda: not dut.child_sas() and not dut.ike_sa_states(), 5, 0.1)
    check("then no CHILD SA in the DUT's data plane and no IKE SA", gone,
          f"CHILD SAs {dut.child_sas()}, IKE SAs {dut.ike_sa_states()}")
    if dut.kind == "xdpsec" and scen.trap == "initiate":
        n = len(re.findall(RE_TRAPPED, dut.log()))
        check("dpd_action = trap installed the trap (the DUT's log, once)", n == 1,
              f"logged {n} times")
    seen = ike_sas_within(dut, ref, 2)
    state = dut.state()
    check("dpd_action = trap: the DUT initiates nothing by itself (2 s, B dead)",
          not seen and state != "connecting", f"state {state}, IKE SAs {seen}")
    # A new charon in B with the same configuration; the killed one's log
    # is kept aside, its routes and rules (table 220) go with stop().
    shutil.copy(ref.log_path, lab.path("charon-b.killed.log"))
    ref.stop()
    ref.start()
    seen = ike_sas_within(dut, ref, 2)
    check("nor once B's charon runs again (2 s): no IKE SA on either side", not seen, str(seen))
    if dut.kind != "xdpsec":
        raise Skip(NO_LIBIPSEC_ACQUIRE)
    before = xdpsec_counters(check, dut)
    ikelab.ping(a.ns, b.site(fam), count=1, timeout=2, src=a.site(fam))
    ok, detail, _ = wait_both(args, dut, ref)
    check.must("the next ping from A's site brings the tunnel back (CHILD SA on both sides)",
               ok, detail)
    acquire_checks(check, dut, lab, fam, before, 2 if scen.trap == "trap" else 1)
    traffic(scen, check, lab, fam)


def b_requests(ref, exchange):
    """How many requests of this exchange B's charon parsed (its log)."""
    return len(re.findall(rf"parsed {exchange} request \d+", ref.log()))


def acquire_hold_checks(check, dut, ref, lab, fam):
    """start = trap towards a B that refuses the DUT's IKE proposals: the
    first ping's acquire initiates and fails (NO_PROPOSAL_CHOSEN); the pings
    of the next seconds are acquires held back (ike.acquires_held), with no
    IKE_SA_INIT to B; 10 s after the failure a ping initiates again."""
    if dut.kind != "xdpsec":
        raise Skip(NO_LIBIPSEC_ACQUIRE)
    a, b = lab.a, lab.b
    inits = lambda: b_requests(ref, "IKE_SA_INIT")  # noqa: E731
    before = xdpsec_counters(check, dut)
    ikelab.ping(a.ns, b.site(fam), count=1, timeout=1, src=a.site(fam))
    failed = ikelab.wait_until(lambda: "NO_PROPOSAL_CHOSEN" in dut.why_text(), 10, 0.1)
    t_fail = time.monotonic()
    check.must("the first ping's acquire initiates, and B refuses (NO_PROPOSAL_CHOSEN)",
               failed and inits() == 1, f"B parsed {inits()} IKE_SA_INIT requests; DUT: "
               f"{ikelab.tail(dut.why_text(), 3)}")
    ikelab.ping(a.ns, b.site(fam), count=4, interval=0.5, timeout=3, src=a.site(fam))
    d = delta(xdpsec_counters(check, dut), before)
    held_in = time.monotonic() - t_fail
    check("pings in the 10 s after the failure are acquires held back, nothing sent to B",
          d["acquires"] == 1 and d["acquires_held"] >= 1 and inits() == 1 and held_in < 10,
          f"acquires +{d['acquires']}, held +{d['acquires_held']} within {held_in:.1f} s, "
          f"B parsed {inits()} IKE_SA_INIT requests")
    time.sleep(max(0.0, 10.5 - (time.monotonic() - t_fail)))
    ikelab.ping(a.ns, b.site(fam), count=1, timeout=1, src=a.site(fam))
    again = ikelab.wait_until(lambda: inits() == 2, 5, 0.1)
    d = delta(xdpsec_counters(check, dut), before)
    check("after 10 s the next ping initiates again", again and d["acquires"] == 2,
          f"acquires +{d['acquires']}, B parsed {inits()} IKE_SA_INIT requests")


def child_acquire_checks(scen, args, check, dut, ref, lab, fam):
    """start = trap, the tunnel up by acquire #1: B deletes the CHILD SA
    alone. The DUT keeps the IKE SA, its trap takes the traffic again, and
    the next ping's acquire is answered with a CREATE_CHILD_SA over that
    IKE SA (RFC 7296 §1.3.1), not with a new IKE SA."""
    a, b = lab.a, lab.b
    ikes = ref.list_sas()
    spis = [(s.get("initiator-spi"), s.get("responder-spi")) for s in ikes]
    ok, out = ref.terminate_child()
    check.must("B deletes the CHILD SA (swanctl --terminate --child)", ok, ikelab.tail(out, 8))
    gone = ikelab.wait_until(lambda: not dut.child_sas(), 5, 0.1)
    check("the DUT removed the CHILD SA and keeps its IKE SA",
          gone and dut.ike_sa_states() == ["established"],
          f"CHILD SAs {dut.child_sas()}, IKE SAs {dut.ike_sa_states()}")
    before = xdpsec_counters(check, dut)
    ikelab.ping(a.ns, b.site(fam), count=1, timeout=2, src=a.site(fam))
    ok, detail, _ = wait_both(args, dut, ref)
    check.must("the next ping from A's site brings a CHILD SA back (both sides)", ok, detail)
    acquire_checks(check, dut, lab, fam, before, 2)
    n = dut.log().count(RE_ACQUIRE_NEW_CHILD)
    check("the DUT's log: acquire #2 creates a CHILD SA for the IKE SA it has", n == 1,
          f"'{RE_ACQUIRE_NEW_CHILD}' logged {n} times")
    after = [(s.get("initiator-spi"), s.get("responder-spi")) for s in ref.list_sas()]
    creates = b_requests(ref, "CREATE_CHILD_SA")
    inits = b_requests(ref, "IKE_SA_INIT")
    check("over the same IKE SA: B parsed a CREATE_CHILD_SA request, no second IKE_SA_INIT",
          after == spis and len(spis) == 1 and creates == 1 and inits == 1,
          f"IKE SAs before {spis}, after {after}; CREATE_CHILD_SA requests {creates}, "
          f"IKE_SA_INIT requests {inits}")
    traffic(scen, check, lab, fam)


BOGUS_ESP_SCRIPT = r"""
import struct, sys, time
from scapy.all import IP, UDP, Raw, send
src, dst, spi, count, seconds, form = (sys.argv[1], sys.argv[2], int(sys.argv[3], 0),
                                       int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
pkts = []
for seq in range(1, count + 1):
    esp = struct.pack("!II", spi, seq) + bytes(range(32))  # SPI, sequence number, junk
    if form == "udp":  # RFC 3948: the SPI where IKE's non-ESP marker would be
        pkts.append(IP(src=src, dst=dst) / UDP(sport=4500, dport=4500) / Raw(esp))
    else:
        pkts.append(IP(src=src, dst=dst, proto=50) / Raw(esp))
t0 = time.monotonic()
send(pkts, inter=seconds / count, verbose=0)
print(len(pkts), f"{time.monotonic() - t0:.2f}")
"""


def swan_notifies(log, ntype):
    """The Notify payloads of type ntype charon parsed, from its log with
    enc at level 3 (each payload's bytes are dumped before it is parsed):
    [(protocol id, SPI field bytes, notification data bytes)]."""
    out, pending = [], {}   # pending: charon thread -> None | [bytes left, bytes so far]
    for ln in log.splitlines():
        m = re.match(r"\S+ (\d+)\[ENC\] (?:<[^>]*> )?(.*)$", ln)
        if not m:
            continue
        th, msg = m.groups()
        if msg.startswith("parsing NOTIFY payload,"):
            pending[th] = None
            continue
        if th not in pending:
            continue
        if pending[th] is None:
            mm = re.match(r"parsing payload from => (\d+) bytes", msg)
            if mm:
                pending[th] = [int(mm.group(1)), bytearray()]
            else:
                del pending[th]
            continue
        mm = re.match(r"\s*\d+: ((?:[0-9A-F]{2} )*[0-9A-F]{2})", msg)
        if not mm:
            del pending[th]
            continue
        left, got = pending[th]
        got += bytes.fromhex(mm.group(1))
        # The dump runs to the message's end; the payload's own length ends it.
        want = min(left, int.from_bytes(got[2:4], "big")) if len(got) >= 4 else left
        if len(got) >= want:
            del pending[th]
            b = bytes(got[:want])
            # RFC 7296 §3.10: header (4), protocol, SPI size, type (2), SPI, data.
            if len(b) >= 8 and int.from_bytes(b[6:8], "big") == ntype:
                out.append((b[4], b[8:8 + b[5]], b[8 + b[5]:]))
    return out


def send_bogus_esp(check, lab, src, dst, form, count, seconds):
    """count ESP packets with BOGUS_SPI from B's namespace (any source
    address) to dst over about seconds (scapy, bounded); the seconds taken."""
    p = ikelab.run(["/usr/bin/python3", "-c", BOGUS_ESP_SCRIPT, src, dst, hex(BOGUS_SPI),
                    str(count), str(seconds), form], lab.b.ns, timeout=seconds * 3 + 30,
                   check=False)
    out = p.stdout.split()
    check.must(f"scapy sends {count} {form} ESP packets with SPI {BOGUS_SPI:#010x} from {src}",
               p.returncode == 0 and len(out) == 2 and out[0] == str(count),
               (p.stdout + p.stderr).strip()[-300:])
    return float(out[1])


def invalid_spi_checks(scen, check, dut, ref, lab, fam):
    """ESP with an SPI the DUT never gave out (RFC 7296 §1.5): from B, with
    which the DUT shares an IKE SA, ESP in UDP 4500 (how this tunnel's ESP
    travels: libipsec always encapsulates) and plain ESP; each is dropped in
    XDP and answered by an INVALID_SPI notify over the IKE SA, at most one a
    second. From an address without an IKE SA: dropped, counted, nothing
    sent. Accounting: every drop is an event or over the BPF budget, every
    event is a notify sent, rate-limited or without an IKE SA. Then the
    tunnel still carries traffic, with the same SAs."""
    a, b = lab.a, lab.b
    first = sorted(s["spi"] for s in dut.child_sas())
    check.must("the bogus SPI is none of the DUT's", BOGUS_SPI not in first,
               f"DUT SPIs {[f'{x:08x}' for x in first]}")
    xd = dut.kind == "xdpsec"
    if not xd:
        print(f"    note [{scen.name}]: charon (kernel-libipsec) sends no INVALID_SPI and has "
              "no such counters: only sending the ESP and the tunnel afterwards are checked",
              flush=True)
    spoof = "192.0.2.77" if fam == 4 else "2001:db8::77"
    phases = (("from B, ESP in UDP 4500", "udp", b.addr(fam), 300, 3.0, True),
              ("from B, plain ESP (IP protocol 50)", "esp", b.addr(fam), 100, 1.0, True),
              (f"from {spoof} (no IKE SA), ESP in UDP 4500", "udp", spoof, 40, 1.0, False))
    for label, form, src, count, seconds, known in phases:
        time.sleep(1.1)  # a fresh second for the BPF budget and the per-IKE-SA limit
        before = xdpsec_counters(check, dut) if xd else None
        b_before = len(re.findall(RE_B_INVALID_SPI, ref.log()))
        took = send_bogus_esp(check, lab, src, a.addr(fam), form, count, seconds)
        if not xd:
            continue
        got = {}

        def handled():
            got.update(delta(xdpsec_counters(check, dut), before))
            return (got["drop_unknown_spi"] >= count and got["unknown_spi.emitted"] <=
                    got["invalid_spi_sent"] + got["invalid_spi_rate_limited"] +
                    got["invalid_spi_no_ike_sa"])
        ikelab.wait_until(handled, 5, 0.1)
        d = got
        bpf = (d["unknown_spi.emitted"], d["unknown_spi.rate_limited"], d["unknown_spi.ring_full"])
        ike = (d["invalid_spi_sent"], d["invalid_spi_rate_limited"], d["invalid_spi_no_ike_sa"])
        print(f"    bogus ESP [{scen.name}] {label}: {count} sent in {took:.2f} s; "
              f"drop_unknown_spi +{d['drop_unknown_spi']}; events emitted/rate-limited/ring-full "
              f"+{bpf}; INVALID_SPI sent/rate-limited/no IKE SA +{ike}", flush=True)
        check(f"{label}: XDP dropped all {count} (drop_unknown_spi)",
              d["drop_unknown_spi"] >= count, f"+{d['drop_unknown_spi']}")
        check(f"{label}: each drop was reported or over the BPF budget (events.unknown_spi)",
              sum(bpf) == d["drop_unknown_spi"] and bpf[0] >= 1,
              f"emitted {bpf[0]} + rate-limited {bpf[1]} + ring full {bpf[2]} vs "
              f"{d['drop_unknown_spi']} drops")
        check(f"{label}: the daemon handled each event (INVALID_SPI sent, rate-limited or no "
              "IKE SA)", sum(ike) == bpf[0], f"{ike[0]} + {ike[1]} + {ike[2]} vs {bpf[0]} events")
        if known:
            check(f"{label}: INVALID_SPI sent at least once, at most once a second, the rest "
                  "rate-limited", 1 <= ike[0] <= int(took) + 2 and ike[2] == 0,
                  f"sent {ike[0]} in {took:.2f} s, rate-limited {ike[1]}, no IKE SA {ike[2]}")
            want = b_before + ike[0]
            ikelab.wait_until(lambda: len(re.findall(RE_B_INVALID_SPI, ref.log())) >= want, 5, 0.1)
            n = len(re.findall(RE_B_INVALID_SPI, ref.log()))
            check(f"{label}: B received each INVALID_SPI notify the DUT sent", n - b_before == ike[0],
                  f"{n - b_before} in B's log, {ike[0]} sent")
        else:
            n = len(re.findall(RE_B_INVALID_SPI, ref.log()))
            check(f"{label}: counted under invalid_spi_no_ike_sa, no INVALID_SPI sent (nor "
                  "received by B)", ike[2] >= 1 and ike[0] == 0 and ike[1] == 0 and n == b_before,
                  f"no IKE SA {ike[2]}, sent {ike[0]}, rate-limited {ike[1]}, "
                  f"{n - b_before} new in B's log")
    if xd:
        # What B decrypted: each INVALID_SPI names the bogus SPI. RFC 7296
        # §1.5: "The Notification Data contains the SPI of the invalid
        # packet"; §3.10: the SPI field is used only with INVALID_SELECTORS,
        # REKEY_SA and CHILD_SA_NOT_FOUND, and with it empty the Protocol ID
        # MUST be zero.
        spi = BOGUS_SPI.to_bytes(4, "big")
        got = swan_notifies(ref.log(), 11)
        where = [("data" if d == spi else "SPI field" if f == spi else "neither") +
                 f" (protocol {pr}, SPI field {f.hex() or '-'}, data {d.hex() or '-'})"
                 for pr, f, d in got]
        check(f"B decrypted {len(got)} INVALID_SPI notifies, each naming {BOGUS_SPI:#010x}",
              got and all(spi in (f, d) for _, f, d in got), "; ".join(sorted(set(where))))
        check("each with the SPI in the Notification Data, no SPI field, Protocol ID 0 "
              "(RFC 7296 §1.5, §3.10)", got and all(d == spi and not f and pr == 0
                                                     for pr, f, d in got),
              "; ".join(sorted(set(where))))
    now = sorted(s["spi"] for s in dut.child_sas())
    check("afterwards the DUT keeps the same CHILD SA", now == first,
          f"SPIs {[f'{x:08x}' for x in now]}, before {[f'{x:08x}' for x in first]}")
    check("and B one IKE SA, established", [sa.get("state") for sa in ref.list_sas()] ==
          ["ESTABLISHED"], str([sa.get("state") for sa in ref.list_sas()]))
    traffic(scen, check, lab, fam)


def traffic(scen, check, lab, fam, count=3):
    a, b = lab.a, lab.b
    for src, dst in ((a, b), (b, a)):
        ikelab.ping(src.ns, dst.site(fam), count=1, timeout=2, src=src.site(fam))  # warm-up
        sent, got = ikelab.ping(src.ns, dst.site(fam), count=count, src=src.site(fam))
        check(f"ping {src.site(fam)} -> {dst.site(fam)} through the tunnel",
              sent == count and got == count, f"{got}/{sent} replies")


def down_and_check(args, check, dut, ref, label):
    ok, why = dut.down()
    check(f"{label} accepted", ok, ikelab.tail(why, 1 if ok else 8))
    t0 = time.monotonic()
    state = {}

    def gone():
        state["ref"] = ref.list_sas()
        state["dut"] = dut.any_child_sas()
        return not state["ref"] and not state["dut"]

    ok = ikelab.wait_until(gone, args.timeout, 0.1)
    check(f"after {label}: no SA on either side", ok,
          f"after {time.monotonic() - t0:.2f} s" if ok else
          f"B IKE SAs {[(s['name'], s.get('state')) for s in state['ref']]}, "
          f"DUT CHILD SAs {state['dut']}")
    p = ref.swanctl("--list-sas")
    check(f"after {label}: swanctl --list-sas on B is empty", p.returncode == 0 and
          not p.stdout.strip(), (p.stdout + p.stderr).strip()[:300])


def negative(scen, args, check, dut, ref):
    want_ref = re.compile(RE_SWAN[scen.expect])
    want_dut = re.compile(RE_DUT[scen.expect], re.I)
    notify = "NO_PROPOSAL_CHOSEN" if scen.expect == "no_proposal" else "AUTHENTICATION_FAILED"
    if scen.initiator == "swan":
        ok, out = ref.initiate(CHILD, REF_CONN, timeout=args.timeout)
        # An ESP mismatch leaves the IKE SA up (RFC 7296 1.2), and swanctl
        # still fails: the CHILD SA it asked for was not built.
        check("swanctl --initiate fails", not ok, ikelab.tail(out, 1 if not ok else 8))
    t0 = time.monotonic()
    seen = ikelab.wait_until(lambda: not dut.alive() or (
        want_ref.search(ref.log()) and want_dut.search(dut.why_text())), args.timeout, 0.2)
    m = want_ref.search(ref.log())
    direction = "sent" if scen.initiator == "dut" else "received"
    check(f"B's log shows {notify} {direction}", m and
          (("generating" in m.group(0)) == (direction == "sent")),
          m.group(0) if m else "not in charon's log")
    m = want_dut.search(dut.why_text())
    check(f"the DUT says why ({notify})", m,
          (repr(m.group(0)) if m else f"not in `tunnel list` ({dut.state()}) nor its log") +
          (f"; both seen after {time.monotonic() - t0:.1f} s" if seen else ""))
    ref_children = ref.child_sas(state=None)
    dut_children = dut.any_child_sas()
    check("no CHILD SA on either side", not ref_children and not dut_children,
          f"B {[(c['name'], c.get('state')) for c in ref_children]}, DUT {dut_children}")
    if scen.name == "i-noprop-ike" or scen.expect == "auth_failed":
        est = [s for s in ref.list_sas() if s.get("state") == "ESTABLISHED"]
        check("no IKE SA established on B", not est, str([s["name"] for s in est]))


# --- main ------------------------------------------------------------------------------------

def select(only):
    if not only:
        return SCENARIOS
    keys = [k.strip() for o in only for k in o.split(",") if k.strip()]
    out = [s for s in SCENARIOS if any(s.name == k or s.letter == k or s.name.startswith(k)
                                       for k in keys)]
    unknown = [k for k in keys if not any(s.name == k or s.letter == k or s.name.startswith(k)
                                          for s in SCENARIOS)]
    if unknown:
        raise SystemExit(f"--only: no scenario named {', '.join(unknown)} (see --list)")
    return out


def missing_tools(peer):
    need = ["ip", "ping", "iperf3", "ss", "openssl", "unshare", "mount", "umount", "sysctl"]
    miss = [t for t in need if not shutil.which(t)]
    for f in (ikelab.CHARON, ikelab.SWANCTL,
              "/usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so"):
        if not os.path.exists(f):
            miss.append(f)
    return miss


def on_alarm(_signum, _frame):
    raise ScenarioTimeout("scenario time bound reached")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xdpsecd", help="the xdpsecd binary (or $XDPSECD)")
    ap.add_argument("--xdpsecctl", help="the xdpsecctl binary (or $XDPSECCTL)")
    ap.add_argument("--peer", choices=("xdpsec", "strongswan"), default="xdpsec",
                    help="device under test in namespace A (default xdpsec)")
    ap.add_argument("--only", action="append", default=[],
                    help="scenario names, letters or prefixes (comma-separated, repeatable)")
    ap.add_argument("--keep-going", action="store_true",
                    help="run every scenario (default: stop after the first failure)")
    ap.add_argument("--keep", action="store_true", help="keep each lab's directory")
    ap.add_argument("--timeout", type=float, default=15.0,
                    help="seconds for an SA to come up / go away (default 15)")
    ap.add_argument("--list", action="store_true", help="list the scenarios")
    args = ap.parse_args()
    todo = select(args.only)
    if args.list:
        for s in todo:
            print(f"{s.name:<16} {s.title}")
        return 0
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces, XDP, bpffs)")
        return SKIP
    miss = missing_tools(args.peer)
    if miss:
        print(f"SKIP: missing {', '.join(miss)} (scripts/install-deps.sh)")
        return SKIP
    if args.peer == "xdpsec":
        args.xdpsecd = args.xdpsecd or os.environ.get("XDPSECD")
        args.xdpsecctl = args.xdpsecctl or os.environ.get("XDPSECCTL")
        for opt, path in (("--xdpsecd", args.xdpsecd), ("--xdpsecctl", args.xdpsecctl)):
            if not path or not os.access(path, os.X_OK):
                print(f"FAIL {opt}: {path or 'not given'} is not an executable")
                print("0 passed, 1 failed")
                return 1
    print(f"DUT: {args.peer}" + (f" ({args.xdpsecd})" if args.peer == "xdpsec" else
                                 " (a second charon standing in for xdpsec)"), flush=True)
    signal.signal(signal.SIGALRM, on_alarm)
    results = []
    t0 = time.monotonic()
    interrupted = None
    for scen in todo:
        res = Result(scen)
        results.append(res)
        print(f"==== [{scen.name}] {scen.title}", flush=True)
        t = time.monotonic()
        try:
            run_scenario(scen, args, res)
        except ikelab.Interrupted as e:
            interrupted = str(e)
            res.failed += 1
            print(f"FAIL [{scen.name}] interrupted ({e}); lab torn down", flush=True)
        res.seconds = time.monotonic() - t
        print(f"---- [{scen.name}] {res.status} in {res.seconds:.1f} s", flush=True)
        if interrupted or (res.failed and not args.keep_going):
            break
    print("==== summary")
    for r in results:
        print(f"  {r.status:<5} {r.seconds:6.1f} s  {r.scen.name:<16} {r.scen.title}" +
              (f"\n                  skipped: {r.skipped}" if r.skipped else ""))
    not_run = [s.name for s in todo if s not in [r.scen for r in results]]
    if not_run:
        print(f"  not run (no --keep-going): {', '.join(not_run)}")
    print(f"  total {time.monotonic() - t0:.0f} s, DUT {args.peer}")
    npass = sum(r.status == "PASS" for r in results)
    nfail = sum(r.status == "FAIL" for r in results)
    nskip = sum(r.status == "SKIP" for r in results)
    print(f"{npass} passed, {nfail} failed, {nskip} skipped")
    if interrupted:
        return 130
    return 0 if nfail == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
