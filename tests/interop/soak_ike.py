#!/usr/bin/python3
"""Soak run (not in CI): an xdpsec <-> strongSwan tunnel kept busy for a
while with frequent rekeys, to show that nothing leaks and nothing is lost.

    soak_ike.py --xdpsecd PATH --xdpsecctl PATH [--minutes 10] [--rekey 10]
                [--udp-rate 20M]

xdpsecd (namespace A) initiates a PSK tunnel to strongSwan 5.9 (namespace B,
tests/interop/ikelab.py) and rekeys its CHILD SA every --rekey seconds
(rekey_time; jitter up to 10 % earlier); strongSwan rekeys the IKE SA every
60 s. iperf3 sends UDP at --udp-rate from A to B for the whole run while the
tunnel's state is polled every second. Printed at the end: xdpsecd's memory
(VmRSS) after set-up and at the end, the rekeys seen on both sides, SAs
leaked (data-plane SAs, IKE SAs and CHILD SAs beyond the one tunnel's: must
be zero), seconds the tunnel was not established (tunnels lost: must be
zero), and iperf3's UDP loss. Exit status 0 only when nothing leaked and the
tunnel never went down; everything is torn down either way.
"""
import argparse
import os
import re
import secrets
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ikelab  # noqa: E402
from ikelab import Conn, Lab, StrongSwan, Xdpsec  # noqa: E402


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--xdpsecd", required=True)
    ap.add_argument("--xdpsecctl", required=True)
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--rekey", type=int, default=10)
    ap.add_argument("--udp-rate", default="20M")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("soak: needs root (network namespaces)")
        return 77
    seconds = int(args.minutes * 60)
    psk = secrets.token_urlsafe(24)
    with Lab(tag="soak") as lab:
        a, b = lab.a, lab.b
        ref = StrongSwan(lab, b, Conn(
            name="soak", child="net", local=b.addr4, remote=a.addr4, local_ts=b.net(4),
            remote_ts=a.net(4), psk=psk, start="none",
            extra={"rekey_time": "60s", "over_time": "600s", "rand_time": "0s"},
            child_extra={"rekey_time": "24h", "life_time": "25h"}))
        ref.start()
        dut = Xdpsec(lab, a, {"soak": {
            "local": a.addr4, "remote": b.addr4, "local_ts": a.net(4), "remote_ts": b.net(4),
            "auth": "psk", "psk": psk, "ike": "aes128-sha256-x25519", "esp": "aes128gcm16",
            "start": "initiate", "rekey_time": str(args.rekey)}},
            xdpsecd=args.xdpsecd, xdpsecctl=args.xdpsecctl)
        dut.start()

        def state():
            for t in ikelab.xdpsec_tunnels(dut.ctl("tunnel", "list").doc):
                if t.get("name") == "soak":
                    return t.get("state")
            return None

        if not ikelab.wait_until(lambda: state() == "established", 20, 0.2):
            print(f"soak: the tunnel did not come up: {state()}")
            return 1
        time.sleep(3)
        rss_start = rss_kb(dut.proc.pid)
        result = {}
        runner = threading.Thread(target=lambda: result.update(ikelab.iperf3(
            lab, b, a, seconds=seconds, udp=True, bitrate=args.udp_rate)))
        runner.start()
        down_seconds = 0
        t_end = time.monotonic() + seconds + 30
        while runner.is_alive() and time.monotonic() < t_end:
            if state() != "established":
                down_seconds += 1
            time.sleep(1)
        runner.join(timeout=60)
        time.sleep(2)  # the last DELETE of a rekey settles
        rss_end = rss_kb(dut.proc.pid)

        doc = dut.ctl("sa", "list").doc or {}
        dataplane = [s for s in doc.get("sas", []) if s.get("tunnel")]
        ikes = doc.get("ike_sas", [])
        children = sum(len(i.get("child_sas", [])) for i in ikes)
        leaked = max(0, len(dataplane) - 2) + max(0, len(ikes) - 1) + max(0, children - 1)
        dut_rekeys = len(re.findall(r"rekeying CHILD SA", dut.log()))
        ike_rekeys = len(re.findall(r"rekeyed by the peer", dut.log()))
        swan = ref.list_sas()
        print(f"soak: {seconds} s of UDP at {args.udp_rate} through xdpsec <-> strongSwan, "
              f"CHILD SA rekey every {args.rekey} s (xdpsec), IKE SA rekey every 60 s (strongSwan)")
        print(f"  xdpsecd VmRSS: {rss_start} kB after set-up, {rss_end} kB at the end "
              f"({rss_end - rss_start:+d} kB)")
        print(f"  rekeys: {dut_rekeys} CHILD SA rekeys started by xdpsec, "
              f"{ike_rekeys} IKE SA rekeys answered")
        print(f"  SAs at the end: {len(dataplane)} data-plane SAs, {len(ikes)} IKE SAs, "
              f"{children} CHILD SAs on xdpsec; {len(swan)} IKE SAs on strongSwan; leaked: {leaked}")
        print(f"  tunnel not established for {down_seconds} s of polling; tunnels lost: "
              f"{1 if down_seconds else 0}")
        if result.get("ok"):
            print(f"  iperf3 UDP: {result['mbps']} Mbit/s received, loss {result.get('lost_percent')} %")
        else:
            print(f"  iperf3: {result.get('error')}")
        dut.stop()
        ok = leaked == 0 and down_seconds == 0 and result.get("ok")
        print("soak: " + ("PASS" if ok else "FAIL"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
