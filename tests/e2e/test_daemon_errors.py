#!/usr/bin/python3
"""xdpsecd refuses what an operator got wrong, clearly and without leaving
anything behind: bad command lines, bad configuration lines (FILE:LINE),
a missing uplink, a tunnel device that is already there, and xdpsecctl
against a daemon that does not run. Each case runs in a network namespace of
its own, which the test deletes on success and on failure.

Usage: test_daemon_errors.py --build BUILD_DIR   (root; exits 77 otherwise)
"""
import argparse
import os
import subprocess
import sys
import tempfile

results = []


def check(name, ok, detail=""):
    results.append(ok)
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": " + detail))


def run(cmd, ns=None, timeout=20):
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: needs root (network namespaces, XDP)")
        return 77
    xdpsecd = os.path.join(args.build, "userspace/daemon/xdpsecd")
    xdpsecctl = os.path.join(args.build, "userspace/cli/xdpsecctl")
    ns = "xerr-%d" % os.getpid()
    tmp = tempfile.mkdtemp(prefix="xdpsec-err-")
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        subprocess.run(["ip", "-n", ns, "link", "add", "up0", "type", "veth", "peer", "name", "up1"], check=True)
        for dev in ("up0", "up1", "lo"):
            subprocess.run(["ip", "-n", ns, "link", "set", dev, "up"], check=True)
        subprocess.run(["ip", "-n", ns, "addr", "add", "192.0.2.1/24", "dev", "up0"], check=True)

        def conf(name, text):
            path = os.path.join(tmp, name)
            with open(path, "w") as f:
                f.write(text)
            return path

        daemon = ("[daemon]\nuplink = {uplink}\ntunnel_if = xtun0\nsocket = %s/s.sock\n"
                  "bpffs = /sys/fs/bpf/xdpsec/err-%d\nworkers = 1\n" % (tmp, os.getpid()))
        sa = ("\n[sa.out]\nspi = 0x1001\ndirection = out\nesp = aes128gcm16\n"
              "enc_key = 0x000102030405060708090a0b0c0d0e0f10111213\nmode = tunnel\n"
              "local = 192.0.2.1\nremote = 192.0.2.2\nlocal_ts = 198.51.100.0/24\n"
              "remote_ts = 203.0.113.0/24\n")

        r = run([xdpsecd])
        check("no --config: usage, exit 2", r.returncode == 2 and "--config" in r.stderr, r.stderr)
        r = run([xdpsecd, "--config", "/nonexistent/x.conf", "--foreground"])
        check("unreadable config: exit 1 naming the file",
              r.returncode == 1 and "/nonexistent/x.conf" in r.stderr, r.stderr)

        bad = conf("bad.conf", daemon.format(uplink="up0") + sa.replace("esp = aes128gcm16", "esp = aes128gcm8")
                   .replace("0x000102030405060708090a0b0c0d0e0f10111213", "0x00010203"))
        r = run([xdpsecd, "--config", bad, "--foreground"], ns)
        lines = r.stderr.strip().splitlines()
        check("bad lines: exit 1, one FILE:LINE error each",
              r.returncode == 1 and any(l.startswith(bad + ":11:") and "aes128gcm8" in l for l in lines),
              r.stderr)
        check("bad lines: no key material in the message", "00010203" not in r.stderr, r.stderr)

        nouplink = conf("nouplink.conf", daemon.format(uplink="nosuch0") + sa)
        r = run([xdpsecd, "--config", nouplink, "--foreground"], ns)
        check("missing uplink: exit 1 naming it", r.returncode == 1 and "nosuch0" in r.stderr, r.stderr)
        links = run(["ip", "-br", "link"], ns).stdout
        check("missing uplink: no tunnel device left", "xtun0" not in links, links)

        subprocess.run(["ip", "-n", ns, "link", "add", "xtun0", "type", "veth", "peer", "name", "xtun0p"], check=True)
        good = conf("good.conf", daemon.format(uplink="up0") + sa)
        r = run([xdpsecd, "--config", good, "--foreground"], ns)
        check("tunnel device exists: exit 1 saying so", r.returncode == 1 and "already exists" in r.stderr,
              r.stderr)
        xdp = run(["ip", "-d", "link", "show", "up0"], ns).stdout
        check("tunnel device exists: no XDP program left on the uplink", "prog/xdp" not in xdp, xdp)
        subprocess.run(["ip", "-n", ns, "link", "del", "xtun0"], check=True)

        r = run([xdpsecctl, "--socket", os.path.join(tmp, "none.sock"), "status"])
        check("xdpsecctl without a daemon: exit 1 naming the socket",
              r.returncode == 1 and "none.sock" in r.stderr, r.stderr)
        r = run([xdpsecctl, "--socket", os.path.join(tmp, "none.sock"), "frobnicate"])
        check("xdpsecctl unknown command: exit 2", r.returncode == 2, r.stderr)
    finally:
        subprocess.run(["ip", "netns", "del", ns])
        subprocess.run(["rm", "-rf", tmp])
    passed = sum(results)
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
