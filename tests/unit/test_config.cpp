// The configuration file and `tunnel add` options (userspace/control/config.h).
#include "control/config.h"
#include "control_fixture.h"

#include "esp/sa.h"

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <optional>
#include <string>

using namespace xdpsec;
using namespace xdpsec::control;

namespace {

// DESIGN.md's example, verbatim.
constexpr const char* kDesignExample = R"ini([daemon]
uplink = eth0                  ; interface that carries ESP and IKE
tunnel_if = xdpsec0            ; route-based tunnel device the daemon creates
socket = /run/xdpsec/xdpsecd.sock
bpffs = /sys/fs/bpf/xdpsec/default
workers = 1

[tunnel.site-b]
local = 192.0.2.1
remote = 192.0.2.2             ; %any on a responder that accepts any peer
local_id = 192.0.2.1           ; defaults to the address
remote_id = 192.0.2.2
local_ts = 10.1.0.0/24         ; comma-separated list allowed
remote_ts = 10.2.0.0/24
auth = psk                     ; psk | pubkey
psk = "a long random secret"   ; or psk_file = /etc/xdpsec/site-b.psk
ike = aes128-sha256-x25519     ; strongSwan proposal syntax, comma-separated
esp = aes128gcm16
mode = tunnel                  ; tunnel | transport
start = initiate               ; initiate | listen | trap
)ini";

constexpr const char* kDaemon = "[daemon]\nuplink = eth0\n";

std::string text_of(const SecretString& s) {
    return {reinterpret_cast<const char*>(s.bytes().data()), s.size()};
}

std::string bytes_hex(std::span<const uint8_t> b) {
    static const char* d = "0123456789abcdef";
    std::string s;
    for (auto x : b) {
        s += d[x >> 4];
        s += d[x & 15];
    }
    return s;
}

// The errors of a text that must not parse, one string each.
std::vector<std::string> errors_of(const std::string& text) {
    auto r = parse_config(text, "cfg.ini");
    std::vector<std::string> out;
    if (r) return out;
    for (const auto& e : r.error()) out.push_back(e.to_string());
    return out;
}

// The single error of a text.
std::string error_of(const std::string& text) {
    const auto e = errors_of(text);
    CHECK_MESSAGE(e.size() == 1, "expected one error, got " << e.size() << ": "
                                                           << (e.empty() ? "" : e[0]));
    return e.empty() ? "<parsed>" : e[0];
}

// The [daemon] section of a minimal file with one more line.
DaemonConfig daemon_with(const std::string& line) {
    auto r = parse_config("[daemon]\nuplink = eth1\n" + line + "\n", "cfg.ini");
    REQUIRE(r.ok());
    return r->daemon;
}

esp::IpPrefix subnet(const char* addr, uint8_t len) { return {*esp::IpAddress::parse(addr), len}; }

// 20 bytes: AES-128 key and 4-byte salt.
constexpr const char* kGcm128Key = "0x00112233445566778899aabbccddeeff01020304";

}  // namespace

TEST_CASE("config: DESIGN.md's example parses as written") {
    auto r = parse_config(kDesignExample, "design.ini");
    REQUIRE_MESSAGE(r.ok(), (r ? "" : format_errors(r.error())));
    const Config& c = *r;
    CHECK(c.daemon.uplink == "eth0");
    CHECK(c.daemon.tunnel_if == "xdpsec0");
    CHECK(c.daemon.socket == "/run/xdpsec/xdpsecd.sock");
    CHECK(c.daemon.bpffs == "/sys/fs/bpf/xdpsec/default");
    CHECK(c.daemon.workers == 1);
    CHECK(c.daemon.xdp_mode == XdpMode::automatic);
    CHECK_FALSE(c.daemon.busy_poll);
    CHECK(c.daemon.instance == "default");
    REQUIRE(c.tunnels.size() == 1);
    CHECK(c.sas.empty());

    const TunnelConfig& t = c.tunnels[0];
    CHECK(t.name == "site-b");
    CHECK(t.line == 8);
    CHECK(t.local.to_string() == "192.0.2.1");
    REQUIRE(t.remote);
    CHECK(t.remote->to_string() == "192.0.2.2");
    CHECK(t.local_id == "192.0.2.1");
    CHECK(t.remote_id == "192.0.2.2");
    CHECK(t.local_ts == std::vector<esp::IpPrefix>{subnet("10.1.0.0", 24)});
    CHECK(t.remote_ts == std::vector<esp::IpPrefix>{subnet("10.2.0.0", 24)});
    CHECK(t.auth == AuthMethod::psk);
    CHECK(text_of(t.psk) == "a long random secret");
    REQUIRE(t.ike.size() == 1);
    const IkeProposal& ike = t.ike[0];
    CHECK(ike.text == "aes128-sha256-x25519");
    REQUIRE(ike.encryption.size() == 1);
    CHECK(ike.encryption[0].id == 12);  // ENCR_AES_CBC
    CHECK(ike.encryption[0].key_bits == 128);
    REQUIRE(ike.integrity.size() == 1);
    CHECK(ike.integrity[0].id == 12);  // AUTH_HMAC_SHA2_256_128
    REQUIRE(ike.prf.size() == 1);      // strongSwan: the PRF follows the integrity algorithm
    CHECK(ike.prf[0].id == 5);         // PRF_HMAC_SHA2_256
    REQUIRE(ike.dh_groups.size() == 1);
    CHECK(ike.dh_groups[0].id == 31);  // Curve25519
    REQUIRE(t.esp.size() == 1);
    CHECK(t.esp[0].algorithm == *esp::Algorithm::parse("aes128gcm16"));
    CHECK(t.esp[0].esn == EsnPolicy::off);
    CHECK(t.mode == esp::Mode::tunnel);
    CHECK(t.start == StartAction::initiate);
}

TEST_CASE("config: [daemon] defaults and every key") {
    SUBCASE("defaults") {
        auto r = parse_config(kDaemon, "cfg.ini");
        REQUIRE(r.ok());
        CHECK(r->daemon.tunnel_if == "xdpsec0");
        CHECK(r->daemon.socket == "/run/xdpsec/xdpsecd.sock");
        CHECK(r->daemon.bpffs == "/sys/fs/bpf/xdpsec/default");
        CHECK(r->daemon.workers == 0);
        CHECK(r->daemon.xdp_mode == XdpMode::automatic);
        CHECK(r->daemon.tunnel_napi_threaded);
        CHECK_FALSE(r->daemon.uplink_napi_threaded.has_value());  // keep: the operator's device
        CHECK(r->daemon.line == 1);
    }
    SUBCASE("another instance gets its own socket and pin directory") {
        auto r = parse_config("[daemon]\nuplink = veth0\ninstance = ns-a\nxdp_mode = generic\n"
                              "workers = auto\n",
                              "cfg.ini");
        REQUIRE(r.ok());
        CHECK(r->daemon.instance == "ns-a");
        CHECK(r->daemon.socket == "/run/xdpsec/ns-a.sock");
        CHECK(r->daemon.bpffs == "/sys/fs/bpf/xdpsec/ns-a");
        CHECK(r->daemon.xdp_mode == XdpMode::generic);
        CHECK(r->daemon.workers == 0);
    }
    SUBCASE("explicit values win") {
        auto r = parse_config("[daemon]\nuplink = eth1\ntunnel_if = tun9\nsocket = /tmp/x.sock\n"
                              "bpffs = /sys/fs/bpf/other\nworkers = 4\nxdp_mode = native\n"
                              "busy_poll = yes\ntunnel_napi = softirq\n",
                              "cfg.ini");
        REQUIRE(r.ok());
        CHECK(r->daemon.busy_poll);
        CHECK_FALSE(r->daemon.tunnel_napi_threaded);
        CHECK(r->daemon.uplink == "eth1");
        CHECK(r->daemon.tunnel_if == "tun9");
        CHECK(r->daemon.socket == "/tmp/x.sock");
        CHECK(r->daemon.bpffs == "/sys/fs/bpf/other");
        CHECK(r->daemon.workers == 4);
        CHECK(r->daemon.xdp_mode == XdpMode::native);
    }
    SUBCASE("tunnel_napi and uplink_napi: each word, and a bad one refused with its line") {
        CHECK(daemon_with("tunnel_napi = threaded").tunnel_napi_threaded);
        CHECK_FALSE(daemon_with("tunnel_napi = softirq").tunnel_napi_threaded);
        CHECK(daemon_with("uplink_napi = threaded").uplink_napi_threaded == std::optional<bool>(true));
        CHECK(daemon_with("uplink_napi = softirq").uplink_napi_threaded == std::optional<bool>(false));
        CHECK(daemon_with("uplink_napi = keep").uplink_napi_threaded == std::optional<bool>());
        const auto tunnel = error_of("[daemon]\nuplink = eth1\ntunnel_napi = yes\n");
        CHECK(tunnel.find("cfg.ini:3") != std::string::npos);
        CHECK(tunnel.find("threaded or softirq") != std::string::npos);
        const auto uplink = error_of("[daemon]\nuplink = eth1\n\nuplink_napi = on\n");
        CHECK(uplink.find("cfg.ini:4") != std::string::npos);
        CHECK(uplink.find("threaded, softirq or keep") != std::string::npos);
    }
}

TEST_CASE("config: [sa.*] with every key becomes a valid esp::SaConfig") {
    const std::string text = std::string(kDaemon) + R"ini(
[sa.out-1]
spi = 0x0000c001
direction = out
esp = aes256-sha256
enc_key = 0x000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
integ_key = 202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f
mode = transport
local = 192.0.2.1
remote = 192.0.2.2
local_ts = 192.0.2.1/32
remote_ts = 192.0.2.2/32, 198.51.100.0/24
encap = udp
encap_ports = 4500:4501
esn = yes
soft_bytes = 1000
hard_bytes = 2000
soft_packets = 10
hard_packets = 20

[sa.in-1]
spi = 49154
direction = in
esp = aes128gcm16
enc_key = 00112233445566778899AABBCCDDEEFF01020304
local = 2001:db8::1
remote = 2001:db8::2
replay_window = 128
encap = udp
encap_ports = 4501:4500
esn = no
)ini";
    auto r = parse_config(text, "cfg.ini");
    REQUIRE_MESSAGE(r.ok(), (r ? "" : format_errors(r.error())));
    REQUIRE(r->sas.size() == 2);

    const ManualSaConfig& out = r->sas[0];
    CHECK(out.name == "out-1");
    CHECK(out.line == 4);
    CHECK(out.sa.spi == 0xc001);
    CHECK(out.sa.direction == esp::SaDirection::outbound);
    CHECK(out.sa.algorithm.name() == "aes256-sha256");
    CHECK(bytes_hex(out.sa.enc_key.view()) ==
          "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    CHECK(bytes_hex(out.sa.integ_key.view()) ==
          "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f");
    CHECK(out.sa.mode == esp::Mode::transport);
    CHECK(out.sa.local.to_string() == "192.0.2.1");
    CHECK(out.sa.remote.to_string() == "192.0.2.2");
    CHECK(out.local_ts == std::vector<esp::IpPrefix>{subnet("192.0.2.1", 32)});
    CHECK(out.remote_ts == std::vector<esp::IpPrefix>{subnet("192.0.2.2", 32), subnet("198.51.100.0", 24)});
    REQUIRE(out.sa.udp_encap);
    // Outbound packets go from SPORT (ours) to DPORT (theirs).
    CHECK(out.sa.udp_encap->local_port == 4500);
    CHECK(out.sa.udp_encap->remote_port == 4501);
    CHECK(out.sa.esn);
    CHECK(out.sa.lifetime.soft_bytes == 1000);
    CHECK(out.sa.lifetime.hard_bytes == 2000);
    CHECK(out.sa.lifetime.soft_packets == 10);
    CHECK(out.sa.lifetime.hard_packets == 20);

    const ManualSaConfig& in = r->sas[1];
    CHECK(in.sa.spi == 49154);
    CHECK(in.sa.direction == esp::SaDirection::inbound);
    CHECK(in.sa.algorithm.name() == "aes128gcm16");
    CHECK(bytes_hex(in.sa.enc_key.view()) == "00112233445566778899aabbccddeeff01020304");
    CHECK(in.sa.integ_key.size() == 0);
    CHECK(in.sa.mode == esp::Mode::tunnel);
    CHECK(in.sa.replay_window == 128);
    CHECK_FALSE(in.sa.esn);
    // Inbound packets come from SPORT (theirs) to DPORT (ours).
    REQUIRE(in.sa.udp_encap);
    CHECK(in.sa.udp_encap->local_port == 4500);
    CHECK(in.sa.udp_encap->remote_port == 4501);
    // Selectors default to the host addresses.
    CHECK(in.local_ts == std::vector<esp::IpPrefix>{subnet("2001:db8::1", 128)});
    CHECK(in.remote_ts == std::vector<esp::IpPrefix>{subnet("2001:db8::2", 128)});

    // The ESP engine takes both as they are.
    for (const auto& m : r->sas) {
        std::string why;
        CHECK_MESSAGE(esp::Sa::create(m.sa, &why) != nullptr, why);
    }
}

TEST_CASE("config: [sa.*] defaults") {
    auto r = parse_config(std::string(kDaemon) + "[sa.a]\nspi = 300\ndirection = in\n"
                                                 "esp = chacha20poly1305\nenc_key = " +
                              std::string(72, 'a') + "\nlocal = 10.0.0.1\nremote = 10.0.0.2\n"
                                                     "encap = udp\n",
                          "cfg.ini");
    REQUIRE_MESSAGE(r.ok(), (r ? "" : format_errors(r.error())));
    const auto& sa = r->sas.at(0).sa;
    CHECK(sa.mode == esp::Mode::tunnel);
    CHECK(sa.replay_window == 64);
    CHECK_FALSE(sa.esn);
    REQUIRE(sa.udp_encap);
    CHECK(sa.udp_encap->local_port == 4500);
    CHECK(sa.udp_encap->remote_port == 4500);
    CHECK(sa.lifetime.hard_bytes == 0);
}

TEST_CASE("config: syntax — comments, quotes, whitespace") {
    const std::string text = "# full-line comment\n"
                             "  ; indented comment\n"
                             "[daemon]   ; comment after a header\n"
                             "  uplink=eth0\n"
                             "socket = /run/a#b.sock   # but this is\n"
                             "tunnel_if =\txdpsec1\t\r\n"
                             "[tunnel.t]\n"
                             "local = 192.0.2.1\n"
                             "remote = %any\n"
                             "auth = psk\n"
                             "psk = \"quoted ; with # marks \\\"and\\\" a \\\\ \"  # comment\n";
    auto r = parse_config(text, "cfg.ini");
    REQUIRE_MESSAGE(r.ok(), (r ? "" : format_errors(r.error())));
    CHECK(r->daemon.uplink == "eth0");
    CHECK(r->daemon.socket == "/run/a#b.sock");
    CHECK(r->daemon.tunnel_if == "xdpsec1");
    const auto& t = r->tunnels.at(0);
    CHECK(text_of(t.psk) == "quoted ; with # marks \"and\" a \\ ");
    CHECK_FALSE(t.remote);
    CHECK(t.remote_id == "%any");
    CHECK(t.remote_ts.empty());
    CHECK(t.start == StartAction::listen);  // nobody to initiate to
    CHECK(t.local_ts == std::vector<esp::IpPrefix>{subnet("192.0.2.1", 32)});
}

TEST_CASE("config: every error class says FILE:LINE and why") {
    SUBCASE("unknown section") {
        CHECK(error_of(std::string(kDaemon) + "\n[tunnels.x]\n") ==
              "cfg.ini:4: unknown section [tunnels.x] (expected [daemon], [tunnel.NAME] or [sa.NAME])");
    }
    SUBCASE("unknown key, named") {
        CHECK(error_of("[daemon]\nuplink = eth0\nuplnk = eth1\n") ==
              "cfg.ini:3: unknown key 'uplnk' in [daemon]");
    }
    SUBCASE("duplicate key") {
        CHECK(error_of("[daemon]\nuplink = eth0\n\nuplink = eth1\n") ==
              "cfg.ini:4: duplicate key 'uplink' (first at line 2)");
    }
    SUBCASE("duplicate section name") {
        CHECK(error_of(std::string(kDaemon) +
                       "[tunnel.a]\nlocal=192.0.2.1\nremote=192.0.2.2\nauth=psk\npsk=x\n"
                       "[tunnel.a]\nlocal=192.0.2.1\n") ==
              "cfg.ini:8: duplicate section [tunnel.a] (first at line 3)");
        CHECK(error_of("[daemon]\nuplink=eth0\n[daemon]\n") ==
              "cfg.ini:3: duplicate section [daemon] (first at line 1)");
    }
    SUBCASE("missing required key: the section's line") {
        CHECK(error_of("\n[daemon]\ntunnel_if = x\n") ==
              "cfg.ini:2: [daemon]: missing required key 'uplink'");
        CHECK(error_of(std::string(kDaemon) + "[sa.x]\ndirection = in\nesp = aes128gcm16\n"
                                              "enc_key = " + kGcm128Key +
                       "\nlocal = 10.0.0.1\nremote = 10.0.0.2\n") ==
              "cfg.ini:3: [sa.x]: missing required key 'spi'");
        CHECK(error_of(std::string(kDaemon) + "[tunnel.t]\nlocal = 10.0.0.1\nremote = 10.0.0.2\n"
                                              "auth = psk\n") ==
              "cfg.ini:3: [tunnel.t]: missing required key 'psk' (or psk_file, with auth = psk)");
    }
    SUBCASE("no [daemon] section") {
        CHECK(error_of("; nothing\n") == "cfg.ini: no [daemon] section");
    }
    SUBCASE("bad values, with why") {
        const std::string t = std::string(kDaemon) +
                              "[tunnel.t]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nauth = psk\n"
                              "psk = x\n";
        CHECK(error_of(t + "esp = aes128gcm8\n") == "cfg.ini:8: esp: unknown token 'aes128gcm8'");
        CHECK(error_of(t + "esp = aes128gcm16, aes256-sha999\n") ==
              "cfg.ini:8: esp: unknown token 'sha999' in 'aes256-sha999'");
        CHECK(error_of(t + "esp = aes128\n") ==
              "cfg.ini:8: esp: 'aes128' needs an integrity algorithm (e.g. aes128-sha256)");
        CHECK(error_of(t + "ike = aes128-sha256-x2551\n") ==
              "cfg.ini:8: ike: unknown token 'x2551' in 'aes128-sha256-x2551'");
        CHECK(error_of(t + "ike = aes128-x25519\n") ==
              "cfg.ini:8: ike: 'aes128-x25519' needs an integrity algorithm (e.g. sha256)");
        CHECK(error_of(t + "ike = aes128gcm16-x25519\n") ==
              "cfg.ini:8: ike: 'aes128gcm16-x25519' needs a PRF (e.g. prfsha256) with an AEAD cipher");
        CHECK(error_of(t + "ike = aes256-sha384\n") ==
              "cfg.ini:8: ike: 'aes256-sha384' has no DH group (e.g. x25519)");
        CHECK(error_of(t + "mode = tunel\n") == "cfg.ini:8: mode: must be tunnel or transport");
        CHECK(error_of(t + "start = now\n") == "cfg.ini:8: start: must be initiate, listen or trap");
        CHECK(error_of(t + "local_ts = 10.1.0.1/24\n") ==
              "cfg.ini:8: local_ts: '10.1.0.1/24' has host bits set (the network is 10.1.0.0/24)");
        CHECK(error_of(t + "remote_ts = 10.2.0.0/24,,10.3.0.0/24\n") ==
              "cfg.ini:8: remote_ts: empty element in the list");
        CHECK(error_of(t + "remote_ts = 10.2.0.0/33\n") ==
              "cfg.ini:8: remote_ts: '10.2.0.0/33': prefix length must be 0..32");
        CHECK(error_of(t + "psk_file = /etc/x\n") ==
              "cfg.ini:8: psk_file: give psk or psk_file, not both");
        CHECK(error_of(t + "cert = /etc/x\n") == "cfg.ini:8: cert: only with auth = pubkey");
        CHECK(error_of("[daemon]\nuplink = eth0\nworkers = 0\n") ==
              "cfg.ini:3: workers: out of range 1..64");
        CHECK(error_of("[daemon]\nuplink = eth0\nworkers = two\n") == "cfg.ini:3: workers: not a number");
        CHECK(error_of("[daemon]\nuplink = eth0\nxdp_mode = skb\n") ==
              "cfg.ini:3: xdp_mode: must be native, generic or auto");
        CHECK(error_of("[daemon]\nuplink = averyveryverylongname\n") ==
              "cfg.ini:2: uplink: 'averyveryverylongname' is not an interface name (at most 15 "
              "characters, no '/', ':' or spaces)");
        CHECK(error_of("[daemon]\nuplink = eth0\nsocket = run/x.sock\n") ==
              "cfg.ini:3: socket: must be an absolute path");
        CHECK(error_of("[daemon]\nuplink =\n") == "cfg.ini:2: uplink: empty value");
    }
    SUBCASE("tunnel-level consistency") {
        const std::string d = std::string(kDaemon) + "[tunnel.t]\nauth = psk\npsk = x\n";
        CHECK(error_of(d + "local = 192.0.2.1\nremote = 2001:db8::1\n") ==
              "cfg.ini:7: remote: address family differs from local's");
        CHECK(error_of(d + "local = 192.0.2.1\nremote = %any\nstart = initiate\n") ==
              "cfg.ini:8: start: initiate needs a remote address, not %any");
        CHECK(error_of(d + "local = 192.0.2.1\nremote = %any\nstart = trap\n") ==
              "cfg.ini:8: start: trap needs a remote address, not %any");
        CHECK(error_of(d + "local = 192.0.2.1\nremote = %any\nstart = listen\ndpd_action = trap\n") ==
              "cfg.ini:9: dpd_action: trap needs a remote address, not %any");
        CHECK(error_of(d + "local = %any\nremote = 192.0.2.2\n") ==
              "cfg.ini:6: local: must be an address (%any is for remote only)");
        CHECK(error_of(d + "local = 192.0.2.300\nremote = 192.0.2.2\n") ==
              "cfg.ini:6: local: '192.0.2.300' is not an IP address");
        CHECK(error_of(std::string(kDaemon) + "[tunnel.bad/name]\n") ==
              "cfg.ini:3: bad name in [tunnel.bad/name]: 1..32 letters, digits, '.', '_' or '-'");
    }
    SUBCASE("auth = pubkey needs readable cert, key and ca") {
        test::TempDir dir;
        const auto cert = dir.file("cert.pem", "x");
        const auto key = dir.file("key.pem", "x");
        const std::string t = std::string(kDaemon) +
                              "[tunnel.t]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nauth = pubkey\n"
                              "cert = " + cert + "\nkey = " + key + "\n";
        CHECK(error_of(t + "ca = " + dir.path() + "/missing.pem\n") ==
              "cfg.ini:9: ca: cannot read " + dir.path() + "/missing.pem: No such file or directory");
        CHECK(error_of(t) == "cfg.ini:3: [tunnel.t]: missing required key 'ca' (with auth = pubkey)");
        auto ok = parse_config(t + "ca = " + cert + "\n", "cfg.ini");
        REQUIRE(ok.ok());
        CHECK(ok->tunnels[0].auth == AuthMethod::pubkey);
        CHECK(ok->tunnels[0].key == key);
        CHECK(error_of(t + "ca = " + cert + "\npsk = x\n") == "cfg.ini:10: psk: only with auth = psk");
    }
    SUBCASE("[sa.*] values") {
        const std::string s = std::string(kDaemon) +
                              "[sa.x]\ndirection = in\nlocal = 10.0.0.1\nremote = 10.0.0.2\n";
        const std::string gcm = s + "esp = aes128gcm16\n";
        const std::string gcm_keyed = gcm + "enc_key = " + kGcm128Key + "\n";
        CHECK(error_of(gcm_keyed + "spi = 0x5\n") ==
              "cfg.ini:9: spi: 0x00000005 is reserved (0-255, RFC 4303 §2.1)");
        CHECK(error_of(gcm_keyed + "spi = 0x1ffffffff\n") == "cfg.ini:9: spi: more than 32 bits");
        CHECK(error_of(gcm_keyed + "spi = c001\n") ==
              "cfg.ini:9: spi: not a number (0x-prefixed hex or decimal)");
        CHECK(error_of(s + "spi = 300\nesp = aes128gcm8\nenc_key = 00\n") ==
              "cfg.ini:8: esp: unknown token 'aes128gcm8'");
        CHECK(error_of(s + "spi = 300\nesp = aes128gcm16-esn\nenc_key = " + kGcm128Key + "\n") ==
              "cfg.ini:8: esp: one algorithm only: DH groups have no place in a manual SA, and ESN "
              "is the esn key");
        CHECK(error_of(gcm + "spi = 300\nenc_key = 0x00112233445566778899aabbccddeeff010203\n") ==
              "cfg.ini:9: enc_key: 19 bytes, aes128gcm16 (16-byte key + 4-byte salt) needs 20");
        CHECK(error_of(gcm + "spi = 300\nenc_key = 0x00112233445566778899aabbccddeeff0102030g\n") ==
              "cfg.ini:9: enc_key: not hex");
        CHECK(error_of(gcm + "spi = 300\nenc_key = 0x0011223\n") ==
              "cfg.ini:9: enc_key: odd number of hex digits");
        CHECK(error_of(gcm_keyed + "spi = 300\ninteg_key = 00\n") ==
              "cfg.ini:10: integ_key: aes128gcm16 authenticates by itself and takes no integ_key");
        CHECK(error_of(s + "spi = 300\nesp = aes128-sha256\nenc_key = " + std::string(32, '1') +
                       "\n") ==
              "cfg.ini:3: [sa.x]: missing required key 'integ_key' (aes128-sha256 needs one)");
        CHECK(error_of(s + "spi = 300\nesp = aes128-sha256\nenc_key = " + std::string(32, '1') +
                       "\ninteg_key = " + std::string(40, '2') + "\n") ==
              "cfg.ini:10: integ_key: 20 bytes, aes128-sha256 needs 32");
        CHECK(error_of(gcm_keyed + "spi = 300\nencap_ports = 4500:4500\n") ==
              "cfg.ini:10: encap_ports: only with encap = udp");
        CHECK(error_of(gcm_keyed + "spi = 300\nencap = udp\nencap_ports = 4500\n") ==
              "cfg.ini:11: encap_ports: must be SPORT:DPORT");
        CHECK(error_of(gcm_keyed + "spi = 300\nencap = udp\nencap_ports = 4500:0\n") ==
              "cfg.ini:11: encap_ports: out of range 1..65535");
        CHECK(error_of(gcm_keyed + "spi = 300\nencap = tcp\n") ==
              "cfg.ini:10: encap: must be udp or none");
        CHECK(error_of(gcm_keyed + "spi = 300\nesn = maybe\n") == "cfg.ini:10: esn: must be yes or no");
        CHECK(error_of(gcm_keyed + "spi = 300\nreplay_window = 16\n") ==
              "cfg.ini:10: replay_window: must be 0 (off) or 32..65536");
        CHECK(error_of(gcm_keyed + "spi = 300\nhard_bytes = -1\n") ==
              "cfg.ini:10: hard_bytes: not a number");
        // What only the whole SA shows: SaConfig::validate(), at the section.
        CHECK(error_of(gcm_keyed + "spi = 300\nsoft_packets = 10\nhard_packets = 5\n") ==
              "cfg.ini:3: [sa.x]: soft packet lifetime exceeds the hard one");
        CHECK(error_of(gcm_keyed + "spi = 300\nesn = yes\nreplay_window = 0\n") ==
              "cfg.ini:3: [sa.x]: ESN needs the anti-replay window to infer the high sequence bits");
        CHECK(error_of(std::string(kDaemon) + "[sa.o]\ndirection = out\nspi = 300\nesp = aes128gcm16\n"
                       "enc_key = " + kGcm128Key + "\nlocal = 10.0.0.1\nremote = 10.0.0.2\n"
                       "replay_window = 64\n") ==
              "cfg.ini:10: replay_window: only for direction = in");
    }
    SUBCASE("duplicate inbound SPI to the same address") {
        const std::string sa = "direction = in\nspi = 0x1234\nesp = aes128gcm16\nenc_key = " +
                               std::string(kGcm128Key) + "\nlocal = 10.0.0.1\nremote = 10.0.0.2\n";
        CHECK(error_of(std::string(kDaemon) + "[sa.a]\n" + sa + "[sa.b]\n" + sa) ==
              "cfg.ini:10: [sa.b]: inbound SPI 0x00001234 to 10.0.0.1 is already [sa.a]'s");
    }
    SUBCASE("syntax errors") {
        CHECK(error_of("[daemon]\nuplink eth0\n") ==
              "cfg.ini:2: expected 'key = value' or '[section]'");
        CHECK(error_of("[daemon\nuplink = eth0\n") ==
              "cfg.ini:1: section header without ']'");
        CHECK(errors_of("uplink = eth0\n[daemon]\nuplink = eth0\n") ==
              std::vector<std::string>{"cfg.ini:1: key 'uplink' outside any section"});
        CHECK(error_of("[daemon]\nuplink = eth0\n[tunnel.t]\npsk = \"unterminated\n") ==
              "cfg.ini:4: psk: unterminated quoted value");
        CHECK(error_of("[daemon]\nuplink = \"eth0\" trailing\n") ==
              "cfg.ini:2: uplink: text after the closing quote");
        CHECK(error_of("[daemon]\nuplink = eth0\n[]\n") == "cfg.ini:3: empty section name");
    }
    SUBCASE("all errors are reported, in line order") {
        const auto e = errors_of("[daemon]\nuplink = eth0\nbogus = 1\n[tunnel.t]\nlocal = 1.2.3\n"
                                 "remote = 192.0.2.2\nauth = psk\npsk = x\nesp = nope\n[what]\n");
        CHECK(e == std::vector<std::string>{
                       "cfg.ini:3: unknown key 'bogus' in [daemon]",
                       "cfg.ini:5: local: '1.2.3' is not an IP address",
                       "cfg.ini:9: esp: unknown token 'nope'",
                       "cfg.ini:10: unknown section [what] (expected [daemon], [tunnel.NAME] or [sa.NAME])",
                   });
    }
}

TEST_CASE("config: key material never appears in an error") {
    const std::string psk = "Sup3rSecretPassphrase";
    const std::string key_hex = "deadbeefcafebabe0011223344556677";  // 16 bytes: wrong for GCM
    const std::string text = std::string(kDaemon) +
                             "[sa.x]\ndirection = in\nspi = 300\nesp = aes128gcm16\n"
                             "enc_key = 0x" + key_hex + "\n"
                             "integ_key = " + key_hex + "\n"
                             "local = 10.0.0.1\nremote = 10.0.0.2\n"
                             "[sa.y]\ndirection = in\nspi = 301\nesp = aes128-sha256\n"
                             "enc_key = " + key_hex + "zz\n"
                             "integ_key = " + key_hex + "\n"
                             "local = 10.0.0.1\nremote = 10.0.0.2\n"
                             "[tunnel.t]\nlocal = 10.0.0.1\nremote = 10.0.0.2\nauth = pubkey\n"
                             "psk = \"" + psk + "\"\n"
                             "[tunnel.u]\npsk = \"" + psk + "\n" +
                             key_hex + "\n" +
                             "psk " + psk + "\n";
    const auto errors = errors_of(text);
    REQUIRE(errors.size() >= 6);
    for (const auto& e : errors) {
        CHECK_MESSAGE(e.find(psk) == std::string::npos, e);
        CHECK_MESSAGE(e.find(key_hex) == std::string::npos, e);
        CHECK_MESSAGE(e.find("deadbeef") == std::string::npos, e);
    }
}

TEST_CASE("config: psk_file") {
    test::TempDir dir;
    const auto path = dir.file("t.psk", "from a file  \nsecond line ignored\n");
    const std::string t = std::string(kDaemon) +
                          "[tunnel.t]\nlocal = 192.0.2.1\nremote = 192.0.2.2\nauth = psk\n";
    auto r = parse_config(t + "psk_file = " + path + "\n", "cfg.ini");
    REQUIRE_MESSAGE(r.ok(), (r ? "" : format_errors(r.error())));
    CHECK(text_of(r->tunnels[0].psk) == "from a file");
    CHECK(r->tunnels[0].psk_file == path);

    CHECK(error_of(t + "psk_file = t.psk\n") == "cfg.ini:7: psk_file: must be an absolute path");
    CHECK(error_of(t + "psk_file = " + dir.path() + "/none\n") ==
          "cfg.ini:7: psk_file: cannot read " + dir.path() + "/none: No such file or directory");
    const auto empty = dir.file("empty.psk", "\n");
    CHECK(error_of(t + "psk_file = " + empty + "\n") ==
          "cfg.ini:7: psk_file: " + empty + " holds no key");
}

TEST_CASE("config: proposals") {
    SUBCASE("ESP modifiers: ESN and PFS groups") {
        auto p = parse_esp_proposals("aes128gcm16-esn, aes256gcm16-x25519-esn-noesn, aes256-sha512-noesn");
        REQUIRE(p.ok());
        REQUIRE(p->size() == 3);
        CHECK((*p)[0].esn == EsnPolicy::on);
        CHECK((*p)[0].dh_groups.empty());
        CHECK((*p)[1].esn == EsnPolicy::either);
        REQUIRE((*p)[1].dh_groups.size() == 1);
        CHECK((*p)[1].dh_groups[0].id == 31);
        CHECK((*p)[1].algorithm.name() == "aes256gcm16");
        CHECK((*p)[2].esn == EsnPolicy::off);
        CHECK((*p)[2].algorithm.name() == "aes256-sha512");
        CHECK(parse_esp_proposals("aes128gcm16,").error() == "empty proposal in the list");
        CHECK(parse_esp_proposals("aes128gcm16-sha256").error() ==
              "unsupported combination 'aes128gcm16-sha256'");
    }
    SUBCASE("IKE: every token of the table, AEAD with an explicit PRF") {
        auto p = parse_ike_proposals(
            "aes128gcm16-aes256gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-modp2048-"
            "modp3072-ecp256-ecp384-ecp521-x25519-x448,aes256-sha384-sha512-curve25519");
        REQUIRE_MESSAGE(p.ok(), (p ? "" : p.error()));
        REQUIRE(p->size() == 2);
        CHECK((*p)[0].encryption.size() == 3);
        CHECK((*p)[0].integrity.empty());
        CHECK((*p)[0].prf.size() == 3);
        CHECK((*p)[0].dh_groups.size() == 7);
        CHECK((*p)[1].prf.size() == 2);  // from sha384 and sha512
        CHECK((*p)[1].dh_groups.at(0).id == 31);
        CHECK(parse_ike_proposals("aes128gcm16-sha256-prfsha256-x25519").error() ==
              "'aes128gcm16-sha256-prfsha256-x25519': AEAD ciphers take no integrity algorithm "
              "(give the PRF as a prf token, e.g. prfsha256)");
        CHECK(parse_ike_proposals("aes128gcm16-aes128-sha256-prfsha256-x25519").error() ==
              "'aes128gcm16-aes128-sha256-prfsha256-x25519' mixes AEAD and non-AEAD ciphers: "
              "write them as separate proposals");
        CHECK(parse_ike_proposals("sha256-x25519").error() == "'sha256-x25519' has no encryption algorithm");
        CHECK(parse_ike_proposals("aes128--sha256").error() == "empty token in 'aes128--sha256'");
    }
}

TEST_CASE("config: tunnel add options go through the same checks") {
    SUBCASE("a complete tunnel") {
        const TunnelOptions o = {{"local", "192.0.2.1"},   {"remote", "192.0.2.3"},
                                 {"local-ts", "10.1.0.0/24"}, {"remote_ts", "10.3.0.0/24, 10.4.0.0/16"},
                                 {"auth", "psk"},          {"psk", "secret"},
                                 {"ike", "aes256gcm16-prfsha384-ecp384"}, {"esp", "aes256gcm16-esn"},
                                 {"mode", "transport"},    {"start", "listen"},
                                 {"local-id", "gw.example"}};
        auto r = parse_tunnel_options("site-c", o);
        REQUIRE_MESSAGE(r.ok(), (r ? "" : format_errors(r.error())));
        CHECK(r->name == "site-c");
        CHECK(r->line == 0);
        CHECK(r->local_id == "gw.example");
        CHECK(r->remote_id == "192.0.2.3");
        CHECK(r->local_ts == std::vector<esp::IpPrefix>{subnet("10.1.0.0", 24)});
        CHECK(r->remote_ts == std::vector<esp::IpPrefix>{subnet("10.3.0.0", 24), subnet("10.4.0.0", 16)});
        CHECK(text_of(r->psk) == "secret");
        CHECK(r->ike.at(0).dh_groups.at(0).id == 20);
        CHECK(r->esp.at(0).esn == EsnPolicy::on);
        CHECK(r->mode == esp::Mode::transport);
        CHECK(r->start == StartAction::listen);
    }
    SUBCASE("defaults: DESIGN.md's proposals") {
        auto r = parse_tunnel_options("t", {{"local", "192.0.2.1"}, {"remote", "192.0.2.2"},
                                            {"auth", "psk"}, {"psk", "x"}});
        REQUIRE(r.ok());
        CHECK(r->ike.at(0).text == "aes128-sha256-x25519");
        CHECK(r->esp.at(0).text == "aes128gcm16");
        CHECK(r->mode == esp::Mode::tunnel);
        CHECK(r->start == StartAction::initiate);
    }
    SUBCASE("lifetimes, traps") {
        const TunnelOptions base = {{"local", "192.0.2.1"}, {"remote", "192.0.2.2"},
                                    {"auth", "psk"},        {"psk", "x"},
                                    {"rekey_time", "100"},  {"start", "trap"},
                                    {"dpd_action", "trap"}};
        auto with = [&](TunnelOptions extra) {
            TunnelOptions o = base;
            o.insert(o.end(), extra.begin(), extra.end());
            return parse_tunnel_options("t", o);
        };
        auto r = with({{"life_time", "150s"}, {"ike_rekey_time", "600"}, {"ike_life_time", "700"}});
        REQUIRE(r.ok());
        CHECK(r->life_seconds == 150);
        CHECK(r->ike_life_seconds == 700);
        CHECK(r->start == StartAction::trap);
        CHECK(r->dpd_action == DpdAction::trap);
        auto bad = with({{"life_time", "100"}});
        REQUIRE_FALSE(bad.ok());
        CHECK(bad.error().at(0).to_string() == "tunnel add t: --life-time: must be longer than rekey_time");
    }
    SUBCASE("errors name the option as typed") {
        auto r = parse_tunnel_options("site-c", {{"local", "192.0.2.1"},
                                                 {"esp", "aes128gcm8"},
                                                 {"lcoal-ts", "10.0.0.0/8"},
                                                 {"local", "192.0.2.9"},
                                                 {"remote-ts", "10.0.0.1/8"},
                                                 {"psk", "hunter2-secret"}});
        REQUIRE_FALSE(r.ok());
        std::vector<std::string> got;
        for (const auto& e : r.error()) got.push_back(e.to_string());
        CHECK(got == std::vector<std::string>{
                         "tunnel add site-c: --local given twice",
                         "tunnel add site-c: unknown option --lcoal-ts",
                         "tunnel add site-c: missing --remote (an address, or %any to accept any peer)",
                         "tunnel add site-c: --remote-ts: '10.0.0.1/8' has host bits set (the network is 10.0.0.0/8)",
                         "tunnel add site-c: missing --auth (psk or pubkey)",
                         "tunnel add site-c: --esp: unknown token 'aes128gcm8'",
                     });
        for (const auto& e : got) CHECK(e.find("hunter2") == std::string::npos);
    }
    SUBCASE("a bad name") {
        auto r = parse_tunnel_options("../etc", {});
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().at(0).to_string() ==
              "tunnel add ../etc: bad tunnel name: 1..32 letters, digits, '.', '_' or '-'");
    }
}

TEST_CASE("config: load_config reads a file and names it in errors") {
    test::TempDir dir;
    const auto good = dir.file("good.ini", kDesignExample);
    auto r = load_config(good);
    REQUIRE(r.ok());
    CHECK(r->source == good);
    CHECK(r->tunnels.size() == 1);

    const auto bad = dir.file("bad.ini", "[daemon]\nuplink = eth0\nfoo = 1\n");
    auto b = load_config(bad);
    REQUIRE_FALSE(b.ok());
    CHECK(format_errors(b.error()) == bad + ":3: unknown key 'foo' in [daemon]\n");

    auto missing = load_config(dir.path() + "/none.ini");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().at(0).to_string() ==
          dir.path() + "/none.ini: cannot read: No such file or directory");
    auto directory = load_config(dir.path());
    REQUIRE_FALSE(directory.ok());
    CHECK(directory.error().at(0).to_string() == dir.path() + ": not a regular file");
}
