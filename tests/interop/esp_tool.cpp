// esp_tool: runs one ESP SA of the xdpsec engine over IP packets read as hex
// lines on stdin, so that an independent ESP implementation (scapy, see
// scapy_crosscheck.py) can check what the engine produces and accepts.
//
//   esp_tool --alg aes128gcm16 --spi 0x1000 --mode tunnel
//            --local 192.0.2.1 --remote 192.0.2.2 --enc-key HEX [--integ-key HEX]
//            [--esn] [--udp 4500:4500] [--last-seq N] [--replay-window N] [--mtu N]
//            encap|decap
//
// One output line per non-blank input line: the resulting packet as hex,
// `DROP <reason>` (the EspDrop name) or `TOOBIG <largest inner packet that fits>`.
// The SA lives for the whole run, so sequence numbers and the replay window
// advance from line to line.
//
// Test tool only: keys given on the command line are visible to other local
// users (ps, /proc). Bad arguments exit 2, malformed input lines exit 1.

#include "esp/algorithm.h"
#include "esp/esp_engine.h"
#include "esp/ip_address.h"
#include "esp/packet_buffer.h"
#include "esp/sa.h"
#include "esp/secret.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace {

using namespace xdpsec::esp;

constexpr uint32_t kHeadroom = 256;     // outer IPv6 + UDP + ESP + IV need 72
constexpr uint32_t kTailroom = 256;     // padding + trailer + ICV need at most 49
constexpr uint32_t kMaxPacket = 65535;  // no jumbograms

constexpr std::string_view kUsage =
    "usage: esp_tool --alg PROPOSAL --spi HEX --local ADDR --remote ADDR --enc-key HEX\n"
    "                [--integ-key HEX] [--mode tunnel|transport] [--esn] [--udp SPORT:DPORT]\n"
    "                [--last-seq N] [--replay-window N] [--mtu N] encap|decap\n"
    "Reads one IP packet per line as hex on stdin; writes per line the resulting\n"
    "packet as hex, 'DROP <reason>' or 'TOOBIG <inner mtu>'.\n"
    "  --alg PROPOSAL     strongSwan ESP proposal: aes128gcm16, chacha20poly1305, aes256-sha512, ...\n"
    "  --spi HEX          SPI (0x prefix optional)\n"
    "  --local/--remote   outer addresses; local is this end (the source when encapsulating)\n"
    "  --enc-key HEX      cipher key || salt\n"
    "  --integ-key HEX    HMAC key (CBC proposals only)\n"
    "  --mode             tunnel (default) or transport\n"
    "  --esn              64-bit extended sequence numbers\n"
    "  --udp S:D          RFC 3948 UDP encapsulation, local port S, remote port D\n"
    "  --last-seq N       continue numbering after N / put the replay window top at N\n"
    "                     (decimal or 0x hex)\n"
    "  --replay-window N  inbound window in packets (default 64, 0 = off)\n"
    "  --mtu N            bound the outer packet when encapsulating (default 0: none)\n";

[[noreturn]] void usage_error(const std::string& why) {
    std::cerr << "esp_tool: " << why << " (esp_tool --help for usage)\n";
    std::exit(2);
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Decodes hex into out; false on odd length or a non-hex character.
bool from_hex(std::string_view text, std::vector<uint8_t>& out) {
    out.clear();
    if (text.size() % 2 != 0) return false;
    out.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        const int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
        if (hi < 0 || lo < 0) return false;
        out.push_back(static_cast<uint8_t>(hi << 4 | lo));
    }
    return true;
}

void append_hex(std::string& out, const uint8_t* p, std::size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    for (std::size_t i = 0; i < n; ++i) {
        out += kDigits[p[i] >> 4];
        out += kDigits[p[i] & 0x0f];
    }
}

// Key material from hex, wiped from the temporary on the way.
SecretBytes parse_key(std::string_view opt, std::string_view text) {
    std::vector<uint8_t> raw;
    const bool ok = from_hex(text, raw);
    SecretBytes key;
    const bool fits = ok && key.assign(raw);
    OPENSSL_cleanse(raw.data(), raw.size());
    // The key itself is never echoed, only what is wrong with it.
    if (!ok) usage_error(std::string(opt) + ": not an even number of hex digits");
    if (!fits) usage_error(std::string(opt) + ": longer than any ESP key");
    return key;
}

template <typename T>
T parse_number(std::string_view opt, std::string_view text, bool hex_only = false) {
    int base = 10;
    if (text.starts_with("0x") || text.starts_with("0X")) {
        text.remove_prefix(2);
        base = 16;
    } else if (hex_only) {
        base = 16;
    }
    T value{};
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
    if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
        usage_error(std::string(opt) + ": '" + std::string(text) + "' is not a valid " +
                    (base == 16 ? "hex " : "") + "number in range");
    return value;
}

IpAddress parse_address(std::string_view opt, std::string_view text) {
    auto a = IpAddress::parse(text);
    if (!a) usage_error(std::string(opt) + ": '" + std::string(text) + "' is not an IP address");
    return *a;
}

UdpEncap parse_udp(std::string_view text) {
    const auto colon = text.find(':');
    if (colon == std::string_view::npos) usage_error("--udp: expected SPORT:DPORT");
    UdpEncap u;
    u.local_port = parse_number<uint16_t>("--udp", text.substr(0, colon));
    u.remote_port = parse_number<uint16_t>("--udp", text.substr(colon + 1));
    return u;
}

struct Options {
    SaConfig sa;
    bool encap = true;
    uint64_t last_seq = 0;
    uint32_t mtu = 0;
};

Options parse_args(int argc, char** argv) {
    Options o;
    std::optional<std::string> direction;
    bool have_alg = false, have_spi = false, have_local = false, have_remote = false,
         have_enc = false;
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            std::cout << kUsage;
            std::exit(0);
        }
        if (!arg.starts_with("--")) {
            if (direction) usage_error("more than one direction given");
            direction = std::string(arg);
            continue;
        }
        // --name value or --name=value
        std::string_view name = arg, value;
        bool inline_value = false;
        if (const auto eq = arg.find('='); eq != std::string_view::npos) {
            name = arg.substr(0, eq);
            value = arg.substr(eq + 1);
            inline_value = true;
        }
        auto take_value = [&]() -> std::string_view {
            if (inline_value) return value;
            if (i + 1 >= argc) usage_error(std::string(name) + ": missing value");
            return argv[++i];
        };
        if (name == "--esn") {
            if (inline_value) usage_error("--esn takes no value");
            o.sa.esn = true;
        } else if (name == "--alg") {
            const auto v = take_value();
            auto alg = Algorithm::parse(v);
            if (!alg) usage_error("--alg: unknown ESP proposal '" + std::string(v) + "'");
            o.sa.algorithm = *alg;
            have_alg = true;
        } else if (name == "--spi") {
            o.sa.spi = parse_number<uint32_t>(name, take_value(), true);
            have_spi = true;
        } else if (name == "--mode") {
            const auto v = take_value();
            if (v == "tunnel") o.sa.mode = Mode::tunnel;
            else if (v == "transport") o.sa.mode = Mode::transport;
            else usage_error("--mode: expected tunnel or transport, got '" + std::string(v) + "'");
        } else if (name == "--local") {
            o.sa.local = parse_address(name, take_value());
            have_local = true;
        } else if (name == "--remote") {
            o.sa.remote = parse_address(name, take_value());
            have_remote = true;
        } else if (name == "--enc-key") {
            o.sa.enc_key = parse_key(name, take_value());
            have_enc = true;
        } else if (name == "--integ-key") {
            o.sa.integ_key = parse_key(name, take_value());
        } else if (name == "--udp") {
            o.sa.udp_encap = parse_udp(take_value());
        } else if (name == "--last-seq") {
            o.last_seq = parse_number<uint64_t>(name, take_value());
        } else if (name == "--replay-window") {
            o.sa.replay_window = parse_number<uint32_t>(name, take_value());
        } else if (name == "--mtu") {
            o.mtu = parse_number<uint32_t>(name, take_value());
        } else {
            usage_error("unknown option '" + std::string(name) + "'");
        }
    }
    if (!direction) usage_error("missing direction: encap or decap");
    if (*direction == "encap") o.encap = true;
    else if (*direction == "decap") o.encap = false;
    else usage_error("direction must be encap or decap, got '" + *direction + "'");
    if (!have_alg) usage_error("--alg is required");
    if (!have_spi) usage_error("--spi is required");
    if (!have_local || !have_remote) usage_error("--local and --remote are required");
    if (!have_enc) usage_error("--enc-key is required");
    if (!o.sa.esn && o.last_seq > std::numeric_limits<uint32_t>::max())
        usage_error("--last-seq beyond 2^32-1 needs --esn");
    o.sa.direction = o.encap ? SaDirection::outbound : SaDirection::inbound;
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    const Options opt = parse_args(argc, argv);
    std::string error;
    auto sa = Sa::create(opt.sa, &error);
    if (!sa) usage_error("SA refused: " + error);
    sa->set_last_seq(opt.last_seq);

    std::vector<uint8_t> frame(kHeadroom + kMaxPacket + kTailroom);
    std::vector<uint8_t> packet;
    std::string line, out;
    uint64_t line_no = 0;
    while (std::getline(std::cin, line)) {
        ++line_no;
        std::string_view text = line;
        while (!text.empty() && (text.back() == '\r' || text.back() == ' ')) text.remove_suffix(1);
        while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
        if (text.empty()) continue;
        if (!from_hex(text, packet)) {
            std::cerr << "esp_tool: line " << line_no << ": not an even number of hex digits\n";
            return 1;
        }
        if (packet.size() > kMaxPacket) {
            std::cerr << "esp_tool: line " << line_no << ": packet longer than " << kMaxPacket
                      << " bytes\n";
            return 1;
        }
        PacketBuffer buf;
        buf.frame = frame.data();
        buf.capacity = static_cast<uint32_t>(frame.size());
        buf.offset = kHeadroom;
        buf.length = static_cast<uint32_t>(packet.size());
        std::copy(packet.begin(), packet.end(), frame.begin() + kHeadroom);

        out.clear();
        if (opt.encap) {
            const EncapResult r = encapsulate(*sa, buf, opt.mtu);
            if (r.status == EncapStatus::too_big) {
                out = "TOOBIG " + std::to_string(r.inner_mtu);
            } else if (r.status == EncapStatus::dropped) {
                out = "DROP ";
                out += to_string(r.drop);
            } else {
                append_hex(out, buf.data(), buf.length);
            }
        } else {
            const DecapResult r = decapsulate(*sa, buf);
            if (!r) {
                out = "DROP ";
                out += to_string(r.drop);
            } else {
                append_hex(out, buf.data(), buf.length);
            }
        }
        out += '\n';
        std::fwrite(out.data(), 1, out.size(), stdout);
        std::fflush(stdout);  // usable as a line-by-line coprocess
    }
    return 0;
}
