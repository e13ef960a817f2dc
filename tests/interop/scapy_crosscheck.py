#!/usr/bin/python3
"""Cross-checks the xdpsec ESP engine against scapy's ESP implementation.

Usage: /usr/bin/python3 scapy_crosscheck.py PATH/TO/esp_tool

Run with Debian's /usr/bin/python3 (python3-scapy 2.5.0, python3-cryptography).

For every algorithm both implementations support, tunnel mode (IPv4 and IPv6
outer, each with IPv4 and IPv6 inner) and transport mode (IPv4, IPv6), with
and without RFC 3948 UDP encapsulation, with ESN off and on:

  * xdpsec encrypts a set of UDP/TCP/ICMP packets of assorted (odd) sizes;
    scapy decrypts them and the result must equal the original, byte for
    byte. The outer headers xdpsec wrote are checked field by field (IPv4
    checksum and lengths, DSCP/ECN/DF copy, UDP per RFC 3948, SPI, sequence
    numbers, ESP length with minimal padding) and the ESP trailer is
    decrypted independently to check the RFC 4303 §2.4 padding bytes.
  * scapy encrypts, xdpsec decrypts, the result must equal the original.
    Mixed into the same batch: a packet with one flipped ICV bit (DROP
    auth_failed, and the same packet intact is accepted afterwards, so the
    failure did not move the window), re-sent packets (DROP replayed),
    reordered packets (accepted), and with ESN a late packet from the
    previous 2^32 subspace (accepted), one whose ICV was computed with the
    wrong ESN high bits (DROP auth_failed) and one left of the window
    (DROP too_old).
  * ESN on: both sides start at sequence number 0xfffffffd so the high
    32 bits change from 0 to 1 in the middle of each batch.

Independent checks where scapy cannot do it:

  * AES-GMAC (RFC 4543): scapy 2.5.0 has none. A small CryptAlgo below does
    it with python-cryptography's AESGCM over an empty plaintext, with
    SPI || SN (|| ESN high before SN low) || IV || payload || padding ||
    pad length || next header as AAD (RFC 4543 §3.2, §5); scapy still does
    the packet framing (tunnel/transport, NAT-T).
  * AES-CBC + HMAC with ESN: scapy 2.5.0's AuthAlgo.sign/verify ignore
    esn_en for ESP (SecurityAssociation._encrypt_esp calls sign() without
    the ESN and _decrypt_esp calls verify() without it), so its ICV lacks the
    high-order sequence bits that RFC 4303 §2.2.1 / §3.3.2.1 append to the
    ICV input. For those combinations the ICV is computed here with hmac +
    hashlib over SPI || SN || IV || ciphertext || ESN-high, scapy decrypts
    with verify=False (after our own verification) and, in the other
    direction, the ICV scapy appended is replaced by ours. With ESN off both
    scapy's verify and ours are applied, which validates our helper.
  * scapy 2.5.0 mishandles decryption of UDP-encapsulated IPv6 transport
    mode (it keeps the UDP header and leaves next header = 17). There the
    UDP header is checked here and removed, and scapy decrypts the plain
    ESP packet.

Normalisation: none of the compared bytes is normalised. Both engines
recompute the IPv4 total length and header checksum in transport mode, but
the originals are built with correct values, so the raw bytes must match as
they are. Because scapy's transport-mode decryption recomputes the IPv4
checksum itself (which would hide a wrong checksum from xdpsec), the outer
header xdpsec produced is verified separately before scapy sees it.

Keys are random per run. They are test keys, printed only inside failure
messages; so is the seed they come from (XDPSEC_CROSSCHECK_SEED=<seed>
reproduces a failed run). esp_tool takes them on its command line, where
other local users could see them: test keys only.

Prints one line per combination and ends with "N passed, M failed"; exits 1
when anything failed, 2 on usage errors.
"""

import hashlib
import hmac
import ipaddress
import logging
import os
import random
import struct
import subprocess
import sys
import traceback

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
logging.getLogger("scapy.loading").setLevel(logging.ERROR)

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305  # noqa: E402
from cryptography.exceptions import InvalidTag  # noqa: E402
from scapy.config import conf  # noqa: E402
from scapy.compat import raw  # noqa: E402
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPOption_Router_Alert  # noqa: E402
from scapy.layers.inet6 import (  # noqa: E402
    ICMPv6EchoRequest, IPv6, IPv6ExtHdrDestOpt, IPv6ExtHdrHopByHop, PadN, RouterAlert,
    )
from scapy.layers.ipsec import (  # noqa: E402
    CRYPT_ALGOS, ESP, CryptAlgo, IPSecIntegrityError, SecurityAssociation, _ESPPlain)
from scapy.packet import Raw  # noqa: E402

conf.verb = 0

ESN_START = 0xFFFFFFFD  # both sides continue after this: the high bits change mid-batch
NATT_PORT = 4500

# Outer addresses: xdpsec's end and scapy's end (documentation prefixes).
OUTER = {4: ("192.0.2.1", "198.51.100.2"), 6: ("2001:db8::1", "2001:db8:ffff::2")}
# Inner (tunnelled) addresses.
INNER = {4: ("10.1.0.1", "10.2.0.1"), 6: ("fd00:1::1", "fd00:2::1")}


# --- GMAC, done independently with python-cryptography -----------------------

class GmacCheck(CryptAlgo):
    """ENCR_NULL_AUTH_AES_GMAC (RFC 4543), for scapy's framing. Nothing is
    encrypted; the 16-byte tag is AES-GCM over an empty plaintext with the
    whole ESP packet up to the ICV as AAD, nonce = salt || IV."""

    def __init__(self):
        super().__init__("AES-GMAC (crosscheck)", cipher=None, mode=None, block_size=4,
                         iv_size=8, key_size=(16, 32), icv_size=16, salt_size=4)

    @staticmethod
    def _aad(spi, seq, iv, payload, esn_en, esn):
        hdr = struct.pack("!LLL", spi, esn, seq) if esn_en else struct.pack("!LL", spi, seq)
        return hdr + iv + payload

    def encrypt(self, sa, esp, key, icv_size=None, esn_en=False, esn=0):
        data = esp.data_for_encryption()
        tag = AESGCM(key).encrypt(sa.crypt_salt + esp.iv, b"",
                                  self._aad(esp.spi, esp.seq, esp.iv, data, esn_en, esn))
        return ESP(spi=esp.spi, seq=esp.seq, data=esp.iv + data + tag)

    def decrypt(self, sa, esp, key, icv_size=None, esn_en=False, esn=0):
        icv_size = icv_size or 16
        iv = esp.data[:8]
        data = esp.data[8:len(esp.data) - icv_size]
        icv = esp.data[len(esp.data) - icv_size:]
        try:
            AESGCM(key).decrypt(sa.crypt_salt + iv, icv,
                                self._aad(esp.spi, esp.seq, iv, data, esn_en, esn))
        except InvalidTag as err:
            raise IPSecIntegrityError(err)
        padlen, nh = data[-2], data[-1]
        return _ESPPlain(spi=esp.spi, seq=esp.seq, iv=iv, data=data[:len(data) - padlen - 2],
                         padding=data[len(data) - padlen - 2:len(data) - 2], padlen=padlen,
                         nh=nh, icv=icv)


GMAC_NAME = "AES-GMAC (crosscheck)"
CRYPT_ALGOS[GMAC_NAME] = GmacCheck()


# --- algorithms --------------------------------------------------------------

class Alg:
    def __init__(self, token, kind, scapy_crypt, key_len, salt_len=0, scapy_auth=None,
                 hash_name=None, integ_len=0, icv_len=16):
        self.token = token            # strongSwan proposal (esp_tool --alg)
        self.kind = kind              # aead, gmac, cbc
        self.scapy_crypt = scapy_crypt
        self.key_len = key_len
        self.salt_len = salt_len
        self.scapy_auth = scapy_auth
        self.hash_name = hash_name
        self.integ_len = integ_len
        self.icv_len = icv_len
        self.iv_len = 16 if kind == "cbc" else 8
        self.align = 16 if kind == "cbc" else 4  # lcm(cipher block, 4)


def _cbc(bits, sha, auth, icv):
    hlen = {"sha1": 20, "sha256": 32, "sha384": 48, "sha512": 64}[sha]
    return Alg(f"aes{bits}-{sha}", "cbc", "AES-CBC", bits // 8, scapy_auth=auth,
               hash_name=sha, integ_len=hlen, icv_len=icv)


ALGS = [
    Alg("aes128gcm16", "aead", "AES-GCM", 16, 4),
    Alg("aes256gcm16", "aead", "AES-GCM", 32, 4),
    Alg("chacha20poly1305", "aead", "CHACHA20-POLY1305", 32, 4),
    Alg("aes128gmac", "gmac", GMAC_NAME, 16, 4),
    Alg("aes256gmac", "gmac", GMAC_NAME, 32, 4),
] + [_cbc(bits, sha, auth, icv)
     for bits in (128, 256)
     for sha, auth, icv in (("sha1", "HMAC-SHA1-96", 12), ("sha256", "SHA2-256-128", 16),
                            ("sha384", "SHA2-384-192", 24), ("sha512", "SHA2-512-256", 32))]


class Keys:
    def __init__(self, alg, rng):
        self.spi = rng.randrange(0x100, 1 << 32)
        self.enc = rng.randbytes(alg.key_len + alg.salt_len)  # key || salt
        self.integ = rng.randbytes(alg.integ_len)

    def describe(self):  # test keys, for failure messages only
        return f"spi=0x{self.spi:08x} enc-key={self.enc.hex()} integ-key={self.integ.hex() or '-'}"


def esp_icv(alg, keys, esp_wo_icv, esn_hi):
    """RFC 4303 §2.2.1/§3.3.2.1 ICV of a CBC+HMAC ESP packet: over SPI, SN,
    IV and ciphertext, with the ESN high bits appended (not transmitted)."""
    msg = esp_wo_icv + (struct.pack("!L", esn_hi) if esn_hi is not None else b"")
    return hmac.new(keys.integ, msg, getattr(hashlib, alg.hash_name)).digest()[:alg.icv_len]


def esp_plaintext(alg, keys, esp, esn_hi):
    """Decrypts an ESP packet (bytes from the SPI on) without scapy; returns
    payload || padding || pad length || next header."""
    spi_sn, iv = esp[:8], esp[8:8 + alg.iv_len]
    body, icv = esp[8 + alg.iv_len:len(esp) - alg.icv_len], esp[len(esp) - alg.icv_len:]
    key, salt = keys.enc[:alg.key_len], keys.enc[alg.key_len:]
    aad = spi_sn if esn_hi is None else spi_sn[:4] + struct.pack("!L", esn_hi) + spi_sn[4:]
    if alg.kind == "aead":
        aead = AESGCM(key) if alg.scapy_crypt == "AES-GCM" else ChaCha20Poly1305(key)
        return aead.decrypt(salt + iv, body + icv, aad)
    if alg.kind == "gmac":
        AESGCM(key).decrypt(salt + iv, icv, aad + iv + body)
        return body
    if not hmac.compare_digest(esp_icv(alg, keys, esp[:len(esp) - alg.icv_len], esn_hi), icv):
        raise ValueError("ICV mismatch")
    d = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    return d.update(body) + d.finalize()


# --- packets -----------------------------------------------------------------

def inner_packets(family, src, dst, rng):
    """UDP, TCP and ICMP packets of assorted sizes, built and re-parsed so
    that every length and checksum is filled in. Eight per family."""
    def blob(n):
        return rng.randbytes(n)

    sp = rng.randrange(1024, 65536)
    if family == 4:
        pkts = [
            IP(src=src, dst=dst, id=0x1111, flags="DF") / UDP(sport=sp, dport=53) / Raw(blob(0)),
            IP(src=src, dst=dst, id=0x2222, flags="DF", ttl=17) / UDP(sport=sp, dport=53) / Raw(blob(1)),
            IP(src=src, dst=dst, id=0x3333, tos=0xBA, flags="DF") /  # DSCP EF, ECT(0)
            TCP(sport=sp, dport=443, seq=1000, ack=2000, flags="PA") / Raw(blob(37)),
            IP(src=src, dst=dst, id=0x4444) / ICMP(type=8, id=7, seq=1) / Raw(blob(56)),
            IP(src=src, dst=dst, id=0x5555, options=[IPOption_Router_Alert()]) /
            UDP(sport=sp, dport=5000) / Raw(blob(13)),
            IP(src=src, dst=dst, id=0x6666, tos=0x03, flags="DF") /  # CE on an ECN-capable flow
            TCP(sport=sp, dport=22, seq=5, flags="S", options=[("MSS", 1400)]),
            IP(src=src, dst=dst, id=0x7777) / UDP(sport=sp, dport=4789) / Raw(blob(1001)),
            IP(src=src, dst=dst, id=0x8888, flags="DF") / UDP(sport=sp, dport=9) / Raw(blob(1399)),
        ]
        return [IP(raw(p)) for p in pkts]
    pkts = [
        IPv6(src=src, dst=dst) / UDP(sport=sp, dport=53) / Raw(blob(0)),
        IPv6(src=src, dst=dst, hlim=17) / UDP(sport=sp, dport=53) / Raw(blob(1)),
        IPv6(src=src, dst=dst, tc=0xBA, fl=0x12345) /
        TCP(sport=sp, dport=443, seq=1000, ack=2000, flags="PA") / Raw(blob(37)),
        IPv6(src=src, dst=dst) / ICMPv6EchoRequest(id=7, seq=1, data=blob(56)),
        IPv6(src=src, dst=dst) / IPv6ExtHdrHopByHop(options=[RouterAlert()]) /
        IPv6ExtHdrDestOpt(options=[PadN(optdata=b"\x00" * 4)]) /
        UDP(sport=sp, dport=5000) / Raw(blob(13)),
        IPv6(src=src, dst=dst, tc=0x03) /
        TCP(sport=sp, dport=22, seq=5, flags="S", options=[("MSS", 1400)]),
        IPv6(src=src, dst=dst) / UDP(sport=sp, dport=4789) / Raw(blob(1001)),
        IPv6(src=src, dst=dst) / UDP(sport=sp, dport=9) / Raw(blob(1399)),
    ]
    return [IPv6(raw(p)) for p in pkts]


def parse_ip(b):
    return IP(b) if b[0] >> 4 == 4 else IPv6(b)


def ones_sum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def udp6_checksum(src, dst, udp):
    """RFC 8200 §8.1 UDP checksum (computed with the checksum field zero)."""
    pseudo = src + dst + struct.pack("!LxxxB", len(udp), 17)
    c = 0xFFFF ^ ones_sum(pseudo + udp)
    return c or 0xFFFF


def ipv4_checksum_ok(hdr):
    s = sum(struct.unpack(f"!{len(hdr) // 2}H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s == 0xFFFF


def traffic_class(b):
    return b[1] if b[0] >> 4 == 4 else ((b[0] & 0x0F) << 4) | (b[1] >> 4)


def esp_offset(b):
    """Offset of the UDP (if proto/nh 17) or ESP header in an outer packet,
    the byte that names it, and that protocol."""
    if b[0] >> 4 == 4:
        return (b[0] & 0x0F) * 4, 9, b[9]
    off, nh_off, nh = 40, 6, b[6]
    while nh in (0, 43, 60):
        nh_off, nh = off, b[off]
        off += (b[off + 1] + 1) * 8
    return off, nh_off, nh


class CheckFailed(Exception):
    pass


def expect(cond, what):
    if not cond:
        raise CheckFailed(what)


# --- one combination ---------------------------------------------------------

class Combo:
    def __init__(self, alg, mode, outer, inner, udp, esn):
        self.alg, self.mode, self.outer, self.inner = alg, mode, outer, inner
        self.udp, self.esn = udp, esn
        self.start = ESN_START if esn else 0

    @property
    def tunnel(self):
        return self.mode == "tunnel"

    def name(self):
        fam = f"{self.inner}in{self.outer}" if self.tunnel else f"ipv{self.outer}"
        return (f"{self.alg.token:<16} {self.mode:<9} {fam:<5} "
                f"{'udp4500' if self.udp else 'esp':<7} {'esn' if self.esn else 'noesn'}")

    def tool_args(self, keys, direction):
        local, remote = OUTER[self.outer]
        args = ["--alg", self.alg.token, "--spi", f"{keys.spi:x}", "--mode", self.mode,
                "--local", local, "--remote", remote, "--enc-key", keys.enc.hex()]
        if keys.integ:
            args += ["--integ-key", keys.integ.hex()]
        if self.esn:
            args.append("--esn")
        if self.udp:
            args += ["--udp", f"{NATT_PORT}:{NATT_PORT}"]
        args += ["--last-seq", f"0x{self.start:x}", direction]
        return args

    def scapy_sa(self, keys, src, dst):
        """scapy's SA; src/dst are the outer addresses of the packets it
        builds (tunnel mode)."""
        kw = {}
        if self.tunnel:
            kw["tunnel_header"] = IP(src=src, dst=dst) if self.outer == 4 else IPv6(src=src, dst=dst)
        if self.udp:
            kw["nat_t_header"] = UDP(sport=NATT_PORT, dport=NATT_PORT)
        if self.alg.kind == "cbc":
            kw.update(auth_algo=self.alg.scapy_auth, auth_key=keys.integ)
        return SecurityAssociation(ESP, spi=keys.spi, crypt_algo=self.alg.scapy_crypt,
                                   crypt_key=keys.enc, esn_en=self.esn, esn=0, **kw)

    def packets(self, rng, sender_is_xdpsec):
        if self.tunnel:
            src, dst = INNER[self.inner]
            family = self.inner
        else:
            src, dst = OUTER[self.outer]
            family = self.outer
        if not sender_is_xdpsec:
            src, dst = dst, src
        return inner_packets(family, src, dst, rng)

    # xdpsec encrypts, scapy decrypts -----------------------------------------

    def check_outer(self, keys, out, orig, seq, ivs):
        """Everything about the packet xdpsec built that scapy's decryption
        would not notice."""
        alg = self.alg
        local, remote = OUTER[self.outer]
        expect(out[0] >> 4 == self.outer, "outer IP version")
        off, nh_off, proto = esp_offset(out)
        expect(proto == (17 if self.udp else 50), f"outer protocol {proto}")
        if self.outer == 4:
            ihl = (out[0] & 0x0F) * 4
            expect(struct.unpack("!H", out[2:4])[0] == len(out), "IPv4 total length")
            expect(ipv4_checksum_ok(out[:ihl]), "IPv4 header checksum")
            expect(out[12:16] == ipaddress.ip_address(local).packed, "IPv4 source")
            expect(out[16:20] == ipaddress.ip_address(remote).packed, "IPv4 destination")
        else:
            expect(struct.unpack("!H", out[4:6])[0] == len(out) - 40, "IPv6 payload length")
            expect(out[8:24] == ipaddress.ip_address(local).packed, "IPv6 source")
            expect(out[24:40] == ipaddress.ip_address(remote).packed, "IPv6 destination")
        if self.tunnel:
            # RFC 4301 §5.1.2.1 / RFC 6040 normal mode: DSCP and ECN copied;
            # DF copied from an IPv4 inner packet, set for IPv6 inner.
            expect(traffic_class(out) == traffic_class(orig), "outer DSCP/ECN not copied")
            if self.outer == 4:
                expect(off == 20, "outer IPv4 header has options")
                inner_df = True if orig[0] >> 4 == 6 else bool(orig[6] & 0x40)
                expect(bool(out[6] & 0x40) == inner_df, "outer DF not copied")
                expect(struct.unpack("!H", out[6:8])[0] & 0x3FFF == 0, "outer is a fragment")
                expect(out[8] == 64, "outer TTL")
            else:
                expect(off == 40, "outer IPv6 has extension headers")
                expect(out[7] == 64, "outer hop limit")
            kept = off
            payload = orig
            next_header = 4 if orig[0] >> 4 == 4 else 41
        else:
            # Transport: the IP header (and IPv6 extension headers before the
            # insertion point) unchanged except length, protocol, checksum.
            o_off, o_nh_off, _ = esp_offset(orig)
            if self.outer == 4:
                expect(off == o_off, "IPv4 header length changed")
                same = [(0, 2), (4, 9), (12, off)]
                next_header = orig[9]
            else:
                expect(off <= o_off, "ESP inserted after the upper-layer header")
                if nh_off == 6:
                    same = [(0, 4), (7, off)]
                else:
                    same = [(0, 4), (6, nh_off), (nh_off + 1, off)]
                next_header = orig[nh_off]
            for a, b in same:
                expect(out[a:b] == orig[a:b], f"transport header bytes {a}..{b} changed")
            kept = off
            payload = orig[off:]
        esp_at = kept
        if self.udp:
            udp = out[off:off + 8]
            sport, dport, ulen, csum = struct.unpack("!HHHH", udp)
            expect((sport, dport) == (NATT_PORT, NATT_PORT), f"UDP ports {sport}:{dport}")
            expect(ulen == len(out) - off, "UDP length")
            if self.outer == 4:
                expect(csum == 0, "RFC 3948 §2.1: IPv4 UDP checksum should be zero")
            else:
                expect(csum != 0, "IPv6 UDP checksum zero (RFC 8200 §8.1)")
                want = udp6_checksum(out[8:24], out[24:40], out[off:off + 6] + b"\0\0" + out[off + 8:])
                expect(csum == want, f"IPv6 UDP checksum {csum:#x} != {want:#x}")
            esp_at += 8
        esp = out[esp_at:]
        spi, sn = struct.unpack("!LL", esp[:8])
        expect(spi == keys.spi, f"SPI {spi:#x}")
        expect(sn == seq & 0xFFFFFFFF, f"sequence number {sn:#x}, expected {seq & 0xFFFFFFFF:#x}")
        iv = esp[8:8 + alg.iv_len]
        expect(iv not in ivs, "IV repeated within the SA")
        ivs.add(iv)
        # Minimal padding to the cipher block / 4 bytes (RFC 4303 §2.4).
        body = len(payload) + 2
        body += -body % alg.align
        expect(len(esp) == 8 + alg.iv_len + body + alg.icv_len,
               f"ESP length {len(esp)} != {8 + alg.iv_len + body + alg.icv_len}")
        esn_hi = (seq >> 32) if self.esn else None
        try:
            pt = esp_plaintext(alg, keys, esp, esn_hi)
        except (InvalidTag, ValueError):
            raise CheckFailed("ICV does not verify under independent decryption "
                              "(python-cryptography / hmac)")
        padlen, nh = pt[-2], pt[-1]
        expect(pt[:len(payload)] == payload, "independently decrypted payload differs")
        expect(pt[len(payload):len(pt) - 2] == bytes(range(1, padlen + 1)),
               "padding bytes are not 1, 2, 3, ... (RFC 4303 §2.4)")
        expect(nh == next_header, f"next header {nh}, expected {next_header}")

    def xdpsec_to_scapy(self, tool, keys, rng, notes):
        inner = self.packets(rng, sender_is_xdpsec=True)
        outs = run_tool(tool, self.tool_args(keys, "encap"), [raw(p) for p in inner])
        local, remote = OUTER[self.outer]
        sa = self.scapy_sa(keys, remote, local)
        ivs = set()
        for i, (orig, out) in enumerate(zip(inner, outs)):
            seq = self.start + 1 + i
            where = f"xdpsec->scapy packet {i} (seq {seq:#x})"
            if isinstance(out, str):
                raise CheckFailed(f"{where}: esp_tool said {out}")
            try:
                self.check_outer(keys, out, raw(orig), seq, ivs)
                pkt = parse_ip(out)
                if self.udp and not self.tunnel and self.outer == 6:
                    pkt = strip_udp6(out)  # scapy 2.5.0 cannot decrypt this itself
                expect(pkt.haslayer(ESP), "scapy does not see ESP")
                hi = seq >> 32
                sa.esn = hi
                verify = True
                if self.alg.kind == "cbc":
                    esp = raw(pkt[ESP])
                    icv = esp[len(esp) - self.alg.icv_len:]
                    mine = esp_icv(self.alg, keys, esp[:len(esp) - self.alg.icv_len],
                                   hi if self.esn else None)
                    expect(hmac.compare_digest(mine, icv), "ICV (RFC 4303 HMAC) mismatch")
                    if self.esn:
                        # scapy's verify leaves the ESN high bits out: it must
                        # disagree (see the module docstring).
                        try:
                            sa.decrypt(parse_ip(raw(pkt)))
                            notes.add("scapy verified a CBC+ESN ICV: its ESN limitation is gone?")
                        except IPSecIntegrityError:
                            pass
                        verify = False
                got = sa.decrypt(pkt, verify=verify)
                expect(raw(got) == raw(orig),
                       f"decrypted packet differs:\n  got  {raw(got).hex()}\n  want {raw(orig).hex()}")
            except CheckFailed as e:
                raise CheckFailed(f"{where}: {e}\n  packet {out.hex()}")
            except IPSecIntegrityError as e:
                raise CheckFailed(f"{where}: scapy integrity check failed: {e}\n  packet {out.hex()}")
        return len(inner)

    # scapy encrypts, xdpsec decrypts -----------------------------------------

    def scapy_encrypt(self, sa, keys, pkt, seq, notes, wrong_hi=False):
        """scapy's ESP packet for pkt at sequence number seq: (packet,
        packet before the NAT-T repairs or None when none was needed)."""
        hi, lo = seq >> 32, seq & 0xFFFFFFFF
        if wrong_hi:
            hi ^= 1
        sa.seq_num, sa.esn = lo, hi  # per packet: scapy treats 0 arguments as "unset"
        b = raw(sa.encrypt(pkt))
        unrepaired = None
        if self.udp:
            unrepaired = b
            b = self.repair_scapy_natt(b, notes)
            self.check_scapy_natt(b)
            if b == unrepaired:
                unrepaired = None
        if self.alg.kind == "cbc" and self.esn:
            # scapy's ICV lacks the ESN high bits: put the RFC 4303 one in.
            b = bytearray(b)
            n = self.alg.icv_len
            off, _, _ = esp_offset(b)
            esp_at = off + (8 if self.udp else 0)
            b[len(b) - n:] = esp_icv(self.alg, keys, bytes(b[esp_at:len(b) - n]), hi)
            b = bytes(b)
        return b, unrepaired

    def enc1(self, sa, keys, pkt, seq, wrong_hi=False):
        return self.scapy_encrypt(sa, keys, pkt, seq, set(), wrong_hi)[0]

    def repair_scapy_natt(self, b, notes):
        """Undoes two UDP framing bugs of scapy 2.5.0's NAT-T (outside the
        ESP packet, so outside what the ICV covers):
          * IPv4: _encrypt_esp rebuilds the IP/UDP header before the ESP
            payload is attached, so the UDP length says 8 (RFC 768: header
            plus data);
          * IPv6 transport with extension headers: the last extension header
            keeps next header 50 with the UDP header behind it (only the
            fixed header's nh is recomputed)."""
        b = bytearray(b)
        off, nh_off, proto = esp_offset(b)
        natt = struct.pack("!HH", NATT_PORT, NATT_PORT)
        if self.outer == 6 and proto == 50 and nh_off != 6 and b[off:off + 4] == natt:
            b[nh_off] = 17
            notes.add("scapy 2.5.0 bug: IPv6 transport NAT-T behind extension headers keeps "
                      "next header 50 in front of the UDP header (repaired before xdpsec)")
            proto = 17
        expect(proto == 17, "scapy NAT-T packet is not UDP")
        ulen = struct.unpack("!H", b[off + 4:off + 6])[0]
        if self.outer == 4 and ulen == 8 and len(b) - off > 8:
            b[off + 4:off + 6] = struct.pack("!H", len(b) - off)  # checksum is 0: nothing else
            notes.add("scapy 2.5.0 bug: IPv4 NAT-T UDP length is 8 instead of covering the "
                      "ESP packet (repaired before xdpsec; the unrepaired one must be dropped "
                      "as truncated)")
        return bytes(b)

    def check_scapy_natt(self, b):
        """RFC 3948 §2.1 on what scapy sent: ports, length, checksum."""
        off, _, proto = esp_offset(b)
        expect(proto == 17, "scapy NAT-T packet is not UDP")
        sport, dport, ulen, csum = struct.unpack("!HHHH", b[off:off + 8])
        expect((sport, dport) == (NATT_PORT, NATT_PORT), "scapy NAT-T ports")
        expect(ulen == len(b) - off, "scapy NAT-T UDP length")
        expect(b[off + 8:off + 12] != b"\0\0\0\0", "SPI 0 would read as the non-ESP marker")
        if self.outer == 4:
            expect(csum == 0, "scapy IPv4 NAT-T checksum not zero")
        return csum

    def scapy_to_xdpsec(self, tool, keys, rng, notes):
        inner = self.packets(rng, sender_is_xdpsec=False)
        local, remote = OUTER[self.outer]
        sa = self.scapy_sa(keys, remote, local)
        n = len(inner)
        seqs = [self.start + 1 + i for i in range(n)]
        both = [self.scapy_encrypt(sa, keys, p, s, notes) for p, s in zip(inner, seqs)]
        enc = [b for b, _ in both]
        if self.udp:
            for b in enc:
                if self.check_scapy_natt(b) == 0 and self.outer == 6:
                    notes.add("scapy sends IPv6 NAT-T with UDP checksum 0 (RFC 8200 §8.1 wants "
                              "one; RFC 6936 zero-checksum rules do not cover ESP-in-UDP); "
                              "xdpsec accepts it")
        flipped = bytearray(enc[2])
        flipped[-1] ^= 0x01  # last byte is ICV
        # (input, expected): bytes of the original inner packet, or a drop reason.
        batch = [(enc[0], inner[0]), (enc[1], inner[1]),
                 (bytes(flipped), "auth_failed"),  # at seq start+3: 2^32 with ESN
                 (enc[2], inner[2]),               # the failure did not move the window
                 (enc[2], "replayed"),
                 (enc[3], inner[3]), (enc[4], inner[4]),
                 (enc[6], inner[6]), (enc[5], inner[5]),  # reordered
                 (enc[7], inner[7]),
                 (enc[0], "replayed"), (enc[5], "replayed")]
        if self.esn:
            # Window top now 2^32+5, bottom 2^32+5-63: it straddles the
            # subspaces (RFC 4303 A2.1 case B), so a low half >= the bottom's
            # is taken with high bits 0 and anything below it as ahead, with
            # high bits 1.
            late = 0xFFFFFFF0
            batch += [
                (self.enc1(sa, keys, inner[1], late), inner[1]),
                (self.enc1(sa, keys, inner[1], late + 1, wrong_hi=True), "auth_failed"),
                (self.enc1(sa, keys, inner[1], late + 1), inner[1]),
                # 0xffffff00 with high bits 0 is left of the window, but its low
                # half is below the bottom's, so the receiver must read it as
                # 2^32 + 0xffffff00 (ahead); the ICV then fails.
                (self.enc1(sa, keys, inner[2], 0xFFFFFF00), "auth_failed"),
                # A jump ahead inside subspace 1, then one left of the window
                # (case A): too old.
                (self.enc1(sa, keys, inner[3], (1 << 32) + 1000), inner[3]),
                # Left of the window by the low half alone, but with ESN
                # that reads as 2^33 + 900 (case A: Seql < Bl means Th + 1):
                # too_old cannot happen, the ICV fails instead.
                (self.enc1(sa, keys, inner[4], (1 << 32) + 900), "auth_failed"),
                (self.enc1(sa, keys, inner[4], (1 << 32) + 990), inner[4]),
            ]
        else:
            batch += [
                (self.enc1(sa, keys, inner[3], 1000), inner[3]),
                (self.enc1(sa, keys, inner[4], 900), "too_old"),
                (self.enc1(sa, keys, inner[4], 990), inner[4]),
            ]
        if both[1][1] is not None:
            batch.append((both[1][1], "truncated"))  # scapy's unrepaired UDP length
        outs = run_tool(tool, self.tool_args(keys, "decap"), [b for b, _ in batch])
        for i, ((b, want), got) in enumerate(zip(batch, outs)):
            where = f"scapy->xdpsec input {i}"
            if isinstance(want, str):
                if got != f"DROP {want}":
                    got_s = got if isinstance(got, str) else "accepted: " + got.hex()
                    raise CheckFailed(f"{where}: expected DROP {want}, got {got_s}\n  packet {b.hex()}")
            elif isinstance(got, str):
                raise CheckFailed(f"{where}: esp_tool said {got}\n  packet {b.hex()}")
            elif got != raw(want):
                raise CheckFailed(f"{where}: decapsulated packet differs:\n  got  {got.hex()}\n"
                                  f"  want {raw(want).hex()}\n  packet {b.hex()}")
        return sum(1 for _, w in batch if not isinstance(w, str)), \
            sum(1 for _, w in batch if isinstance(w, str))


def strip_udp6(b):
    """IPv6 transport NAT-T packet -> the same without its UDP header (its
    fields were checked by check_outer), for scapy's decryption."""
    off, nh_off, proto = esp_offset(b)
    assert proto == 17
    out = bytearray(b[:off] + b[off + 8:])
    out[nh_off] = 50
    out[4:6] = struct.pack("!H", len(out) - 40)
    return IPv6(bytes(out))


def run_tool(tool, args, packets):
    """Runs esp_tool over packets; returns bytes per packet or the
    DROP/TOOBIG line as a string."""
    p = subprocess.run([tool] + args, input="".join(pk.hex() + "\n" for pk in packets),
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise CheckFailed(f"esp_tool exited {p.returncode}: {p.stderr.strip()}")
    lines = p.stdout.splitlines()
    if len(lines) != len(packets):
        raise CheckFailed(f"esp_tool wrote {len(lines)} lines for {len(packets)} packets")
    return [ln if ln.startswith(("DROP ", "TOOBIG ")) else bytes.fromhex(ln) for ln in lines]


# --- single checks beyond the matrix -------------------------------------------

def check_seq_overflow(tool, alg, rng):
    """Without ESN the counter must not wrap (RFC 4303 §3.3.3)."""
    keys = Keys(alg, rng)
    c = Combo(alg, "tunnel", 4, 4, False, False)
    args = c.tool_args(keys, "encap")
    args[args.index("--last-seq") + 1] = "0xfffffffe"
    pkts = [raw(p) for p in c.packets(rng, True)[:2]]
    outs = run_tool(tool, args, pkts)
    expect(not isinstance(outs[0], str), f"seq 0xffffffff refused: {outs[0]}")
    expect(struct.unpack("!L", outs[0][24:28])[0] == 0xFFFFFFFF, "last sequence number")
    expect(outs[1] == "DROP seq_overflow", f"after 0xffffffff: {outs[1]}")
    # scapy accepts the last one.
    sa = c.scapy_sa(keys, *reversed(OUTER[4]))
    got = sa.decrypt(IP(outs[0]))
    expect(raw(got) == pkts[0], "seq 0xffffffff packet differs")


def check_too_big(tool, alg, rng, udp, outer):
    """TOOBIG names the largest inner packet that still fits the MTU."""
    keys = Keys(alg, rng)
    c = Combo(alg, "tunnel", outer, outer, udp, False)
    mtu = 1280 + rng.randrange(0, 64)
    base = c.packets(rng, True)[7]  # 1399 bytes of UDP payload: too big for the MTU
    args = c.tool_args(keys, "encap")
    args[-1:-1] = ["--mtu", str(mtu)]
    out = run_tool(tool, args, [raw(base)])[0]
    expect(isinstance(out, str) and out.startswith("TOOBIG "), f"expected TOOBIG, got {out!r}")
    fit = int(out.split()[1])

    def sized(n):
        src, dst = OUTER[outer]
        hdr = 28 if outer == 4 else 48
        ip = IP(src=src, dst=dst) if outer == 4 else IPv6(src=src, dst=dst)
        return parse_ip(raw(ip / UDP(sport=1234, dport=9) / Raw(rng.randbytes(n - hdr))))

    ok = sized(fit)
    big = sized(fit + 1)
    expect(len(raw(ok)) == fit and len(raw(big)) == fit + 1, "test packet sizes")
    outs = run_tool(tool, args, [raw(ok), raw(big)])
    expect(not isinstance(outs[0], str) and len(outs[0]) <= mtu,
           f"inner {fit} bytes did not fit MTU {mtu}: {outs[0] if isinstance(outs[0], str) else len(outs[0])}")
    expect(outs[1] == f"TOOBIG {fit}", f"inner {fit + 1} bytes: {outs[1] if isinstance(outs[1], str) else 'fit'}")
    sa = c.scapy_sa(keys, *reversed(OUTER[outer]))
    got = sa.decrypt(parse_ip(outs[0]))
    expect(raw(got) == raw(ok), "MTU-sized packet differs after scapy decryption")


def check_ecn_decap(tool, alg, rng, outer):
    """RFC 6040 §4.2 at the decapsulator, with scapy setting the outer ECN
    field: CE on an ECN-capable inner packet is copied in (the inner IPv4
    checksum recomputed), CE on a Not-ECT inner packet is dropped."""
    keys = Keys(alg, rng)
    c = Combo(alg, "tunnel", outer, outer, False, False)
    local, remote = OUTER[outer]
    src, dst = INNER[outer]
    if outer == 4:
        ect = IP(src=src, dst=dst, tos=0xB8 | 0x02) / UDP(sport=7, dport=9) / Raw(b"ect0")
        not_ect = IP(src=src, dst=dst, tos=0xB8) / UDP(sport=7, dport=9) / Raw(b"not-ect")
        want = IP(raw(ect))
        want.tos, want.chksum = 0xB8 | 0x03, None
        tunnel = IP(src=remote, dst=local, tos=0x03)
    else:
        ect = IPv6(src=src, dst=dst, tc=0xB8 | 0x02) / UDP(sport=7, dport=9) / Raw(b"ect0")
        not_ect = IPv6(src=src, dst=dst, tc=0xB8) / UDP(sport=7, dport=9) / Raw(b"not-ect")
        want = IPv6(raw(ect))
        want.tc = 0xB8 | 0x03
        tunnel = IPv6(src=remote, dst=local, tc=0x03)
    sa = SecurityAssociation(ESP, spi=keys.spi, crypt_algo=alg.scapy_crypt, crypt_key=keys.enc,
                             tunnel_header=tunnel)
    pkts = [raw(sa.encrypt(ect.__class__(raw(p)))) for p in (ect, not_ect)]
    outs = run_tool(tool, c.tool_args(keys, "decap"), pkts)
    expect(outs[0] == raw(want.__class__(raw(want))),
           f"CE not propagated: got {outs[0] if isinstance(outs[0], str) else outs[0].hex()}")
    expect(outs[1] == "DROP ecn_drop", f"CE on Not-ECT: {outs[1]!r}")


def check_tool_usage(tool):
    """Bad arguments exit 2 with a message and never echo a key."""
    secret = "ab" * 20
    for args in (["--alg", "nope", "encap"],
                 ["--alg", "aes128gcm16", "--spi", "1000", "--local", "192.0.2.1",
                  "--remote", "192.0.2.2", "--enc-key", secret + "0", "encap"],
                 ["--alg", "aes128gcm16", "--spi", "1000", "--local", "192.0.2.1",
                  "--remote", "2001:db8::2", "--enc-key", secret, "encap"],
                 ["--alg", "aes128gcm16", "--spi", "1000", "--local", "192.0.2.1",
                  "--remote", "192.0.2.2", "--enc-key", secret, "sideways"]):
        p = subprocess.run([tool] + args, capture_output=True, text=True, timeout=30)
        expect(p.returncode == 2, f"{args}: exit {p.returncode}, expected 2")
        expect(p.stderr.startswith("esp_tool: "), f"{args}: no error message")
        expect(secret not in p.stderr, f"{args}: key echoed on stderr")


# --- main --------------------------------------------------------------------

def combinations():
    for alg in ALGS:
        for esn in (False, True):
            for udp in (False, True):
                for outer in (4, 6):
                    for inner in (4, 6):
                        yield Combo(alg, "tunnel", outer, inner, udp, esn)
                for outer in (4, 6):
                    yield Combo(alg, "transport", outer, outer, udp, esn)


def main(argv):
    if len(argv) < 2 or not os.access(argv[1], os.X_OK):
        print("usage: scapy_crosscheck.py PATH/TO/esp_tool", file=sys.stderr)
        return 2
    tool = argv[1]
    seed = int(os.environ.get("XDPSEC_CROSSCHECK_SEED") or random.SystemRandom().randrange(1 << 63))
    rng = random.Random(seed)
    passed = failed = 0
    notes = set()

    def report(ok, name, detail):
        nonlocal passed, failed
        if ok:
            passed += 1
        else:
            failed += 1
        print(f"{'PASS' if ok else 'FAIL'} {name}  {detail}".rstrip(), flush=True)

    for c in combinations():
        k_out, k_in = Keys(c.alg, rng), Keys(c.alg, rng)
        keys = k_out
        try:
            n_out = c.xdpsec_to_scapy(tool, k_out, rng, notes)
            keys = k_in
            n_in, n_neg = c.scapy_to_xdpsec(tool, k_in, rng, notes)
            report(True, c.name(), f"xdpsec->scapy {n_out}, scapy->xdpsec {n_in} + {n_neg} drops")
        except Exception as e:  # noqa: BLE001 - any failure is reported, the run goes on
            detail = str(e) if isinstance(e, CheckFailed) else traceback.format_exc()
            report(False, c.name(), f"{detail}\n  test keys: {keys.describe()}")

    singles = [
        ("seq_overflow aes128gcm16", lambda: check_seq_overflow(tool, ALGS[0], rng)),
        ("seq_overflow aes256-sha256", lambda: check_seq_overflow(tool, ALGS[6 + 4], rng)),
        ("too_big aes128gcm16 ipv4 udp", lambda: check_too_big(tool, ALGS[0], rng, True, 4)),
        ("too_big aes256-sha512 ipv6", lambda: check_too_big(tool, ALGS[-1], rng, False, 6)),
        ("too_big aes128-sha1 ipv4", lambda: check_too_big(tool, ALGS[5], rng, False, 4)),
        ("ecn decap ipv4 aes128gcm16", lambda: check_ecn_decap(tool, ALGS[0], rng, 4)),
        ("ecn decap ipv6 chacha20poly1305", lambda: check_ecn_decap(tool, ALGS[2], rng, 6)),
        ("esp_tool usage errors", lambda: check_tool_usage(tool)),
    ]
    for name, fn in singles:
        try:
            fn()
            report(True, name, "")
        except Exception as e:  # noqa: BLE001
            report(False, name, str(e) if isinstance(e, CheckFailed) else traceback.format_exc())

    for n in sorted(notes):
        print(f"NOTE {n}")
    if failed:
        print(f"XDPSEC_CROSSCHECK_SEED={seed} reproduces this run (its test keys)")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
