#include "control/config.h"

#include "control/ini_reader.h"
#include "esp/replay_window.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <span>

namespace xdpsec::control {

namespace {

constexpr std::size_t kMaxConfigBytes = 1 << 20;
constexpr std::size_t kMaxPskFileBytes = 4096;
constexpr std::size_t kMaxNameLen = 32;
constexpr unsigned kMaxWorkers = 64;  // XDPSEC_MAX_QUEUES

constexpr std::array<std::string_view, 13> kDaemonKeys = {
    "uplink", "tunnel_if", "socket", "bpffs", "workers", "xdp_mode", "busy_poll", "tunnel_napi",
    "uplink_napi", "instance", "key_export", "retransmit_timeout", "retransmit_tries"};
constexpr std::array<std::string_view, 25> kTunnelKeys = {
    "local", "remote", "local_id", "remote_id", "local_ts", "remote_ts", "auth", "psk",
    "psk_file", "cert", "key", "ca", "ike", "esp", "mode", "start", "dpd", "dpd_action",
    "rekey_time", "ike_rekey_time", "life_time", "rekey_bytes", "rekey_packets", "reauth_time",
    "ike_life_time"};
constexpr unsigned kMaxRekeySeconds = 7 * 86400;
constexpr unsigned kMaxDpdSeconds = 86400;
constexpr std::array<std::string_view, 18> kSaKeys = {
    "spi", "direction", "esp", "enc_key", "integ_key", "mode", "local", "remote",
    "local_ts", "remote_ts", "encap", "encap_ports", "esn", "replay_window",
    "soft_bytes", "hard_bytes", "soft_packets", "hard_packets"};

// DESIGN.md's example proposals: what a tunnel without ike/esp keys offers.
constexpr std::string_view kDefaultIke = "aes128-sha256-x25519";
constexpr std::string_view kDefaultEsp = "aes128gcm16";

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

bool valid_name(std::string_view n) {
    if (n.empty() || n.size() > kMaxNameLen || n[0] == '.' || n[0] == '-') return false;
    for (char c : n)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
            return false;
    return true;
}

class Diagnostics {
public:
    explicit Diagnostics(std::string source) : source_(std::move(source)) {}
    void add(unsigned line, std::string reason) {
        errors_.push_back({source_, line, std::move(reason)});
    }
    std::size_t count() const { return errors_.size(); }
    const std::string& source() const { return source_; }
    ConfigErrors take() { return std::move(errors_); }

private:
    std::string source_;
    ConfigErrors errors_;
};

// The keys of one section, as the file or the command line gave them.
// Reports unknown keys and empty values on construction; hands out the
// others by name, and words errors for where they came from: "local_ts: …"
// for the file, "--local-ts: …" for tunnel add.
class SectionView {
public:
    enum class Style { file, options };

    SectionView(const IniSection& s, Style style, std::span<const std::string_view> known,
                Diagnostics& diag)
        : s_(s), style_(style), diag_(diag) {
        for (const auto& e : s.entries) {
            bool is_known = false;
            for (auto k : known) is_known = is_known || k == e.key;
            if (!is_known) {
                diag.add(e.line, style == Style::file
                                     ? "unknown key " + quoted(e.key) + " in [" + s.name + "]"
                                     : "unknown option " + label(e.key));
            } else if (e.value.empty()) {
                diag.add(e.line, label(e.key) + ": empty value");
            }
        }
    }

    const IniEntry* get(std::string_view key) const {
        for (const auto& e : s_.entries)
            if (e.key == key && !e.value.empty()) return &e;
        return nullptr;
    }
    // The entry, or nullptr after reporting it missing.
    const IniEntry* require(std::string_view key, std::string_view hint = {}) const {
        if (auto e = get(key)) return e;
        if (!has(key)) missing(key, hint);
        return nullptr;
    }
    bool has(std::string_view key) const {
        for (const auto& e : s_.entries)
            if (e.key == key) return true;
        return false;
    }
    void missing(std::string_view what, std::string_view hint = {}) const {
        if (s_.had_syntax_errors) return;  // the key may be on the line that did not parse
        std::string why = style_ == Style::file
                              ? "[" + s_.name + "]: missing required key " + quoted(what)
                              : "missing " + label(what);
        if (!hint.empty()) why += " (" + std::string(hint) + ")";
        diag_.add(s_.line, std::move(why));
    }
    void error(const IniEntry& e, const std::string& why) const {
        diag_.add(e.line, label(e.key) + ": " + why);
    }
    void section_error(const std::string& why) const {
        diag_.add(s_.line, style_ == Style::file ? "[" + s_.name + "]: " + why : why);
    }
    std::string label(std::string_view key) const {
        if (style_ == Style::file) return std::string(key);
        std::string l = "--" + std::string(key);
        for (auto& c : l)
            if (c == '_') c = '-';
        return l;
    }
    unsigned line() const { return s_.line; }
    std::size_t error_count() const { return diag_.count(); }

private:
    const IniSection& s_;
    Style style_;
    Diagnostics& diag_;
};

// ---- value parsers: nullopt after reporting why ----------------------------

template <class T>
std::optional<T> parse_unsigned(const SectionView& v, const IniEntry& e, T min, T max) {
    T n{};
    const auto& s = e.value;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec == std::errc::result_out_of_range) {
        v.error(e, "out of range " + std::to_string(min) + ".." + std::to_string(max));
        return std::nullopt;
    }
    if (ec != std::errc{} || p != s.data() + s.size()) {
        v.error(e, "not a number");
        return std::nullopt;
    }
    if (n < min || n > max) {
        v.error(e, "out of range " + std::to_string(min) + ".." + std::to_string(max));
        return std::nullopt;
    }
    return n;
}

// One of a fixed set of words; the error lists them.
template <class T, std::size_t N>
std::optional<T> parse_choice(const SectionView& v, const IniEntry& e,
                              const std::array<std::pair<std::string_view, T>, N>& choices) {
    for (const auto& [word, value] : choices)
        if (e.value == word) return value;
    std::string why = "must be ";
    for (std::size_t i = 0; i < N; ++i) {
        if (i) why += i + 1 == N ? " or " : ", ";
        why += choices[i].first;
    }
    v.error(e, why);
    return std::nullopt;
}

std::optional<esp::IpAddress> parse_address(const SectionView& v, const IniEntry& e) {
    if (auto a = esp::IpAddress::parse(e.value)) return a;
    v.error(e, quoted(e.value) + " is not an IP address");
    return std::nullopt;
}

std::optional<std::vector<esp::IpPrefix>> parse_subnets(const SectionView& v, const IniEntry& e) {
    std::vector<esp::IpPrefix> out;
    std::string_view rest = e.value;
    while (true) {
        const auto comma = rest.find(',');
        const auto item = trim(rest.substr(0, comma));
        if (item.empty()) {
            v.error(e, "empty element in the list");
            return std::nullopt;
        }
        std::string why;
        auto s = esp::IpPrefix::parse(item, &why);
        if (!s) {
            v.error(e, why);
            return std::nullopt;
        }
        out.push_back(*s);
        if (comma == std::string_view::npos) return out;
        rest.remove_prefix(comma + 1);
    }
}

std::optional<std::string> parse_absolute_path(const SectionView& v, const IniEntry& e) {
    if (e.value[0] != '/') {
        v.error(e, "must be an absolute path");
        return std::nullopt;
    }
    return e.value;
}

std::optional<std::string> parse_readable_file(const SectionView& v, const IniEntry& e) {
    auto path = parse_absolute_path(v, e);
    if (!path) return std::nullopt;
    if (::access(path->c_str(), R_OK) != 0) {
        v.error(e, "cannot read " + *path + ": " + std::strerror(errno));
        return std::nullopt;
    }
    return path;
}

std::optional<std::string> parse_ifname(const SectionView& v, const IniEntry& e) {
    // IFNAMSIZ - 1 characters, none that the kernel's dev_valid_name refuses.
    bool ok = e.value.size() <= 15 && e.value != "." && e.value != "..";
    for (char c : e.value)
        ok = ok && c != '/' && c != ':' && !std::isspace(static_cast<unsigned char>(c));
    if (!ok) {
        v.error(e, quoted(e.value) + " is not an interface name (at most 15 characters, no '/', ':' or spaces)");
        return std::nullopt;
    }
    return e.value;
}

// Hex key material into `out`. Errors say how the text is wrong, never what
// it holds.
bool parse_hex_key(const SectionView& v, const IniEntry& e, std::size_t needed,
                   std::string_view for_what, esp::SecretBytes* out) {
    std::string_view hex = e.value;
    if (hex.starts_with("0x") || hex.starts_with("0X")) hex.remove_prefix(2);
    for (char c : hex) {
        if (!std::isxdigit(static_cast<unsigned char>(c))) {
            v.error(e, "not hex");
            return false;
        }
    }
    if (hex.empty() || hex.size() % 2) {
        v.error(e, hex.empty() ? "not hex" : "odd number of hex digits");
        return false;
    }
    const std::size_t len = hex.size() / 2;
    if (!for_what.empty() && len != needed) {
        v.error(e, std::to_string(len) + " bytes, " + std::string(for_what) + " needs " +
                       std::to_string(needed));
        return false;
    }
    if (len > esp::SecretBytes::kMax) {
        v.error(e, std::to_string(len) + " bytes, more than any algorithm uses");
        return false;
    }
    std::array<uint8_t, esp::SecretBytes::kMax> buf{};
    auto nibble = [](char c) {
        return static_cast<uint8_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    };
    for (std::size_t i = 0; i < len; ++i)
        buf[i] = static_cast<uint8_t>(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
    out->assign(std::span<const uint8_t>(buf.data(), len));
    OPENSSL_cleanse(buf.data(), buf.size());
    return true;
}

// The first line of a PSK file, without its line ending and trailing spaces.
bool read_psk_file(const SectionView& v, const IniEntry& e, const std::string& path,
                   SecretString* psk) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        v.error(e, "cannot read " + path + ": " + std::strerror(errno));
        return false;
    }
    std::array<char, kMaxPskFileBytes + 1> buf{};
    std::size_t len = 0;
    bool ok = true;
    while (len < buf.size()) {
        const ssize_t n = ::read(fd, buf.data() + len, buf.size() - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            v.error(e, "cannot read " + path + ": " + std::strerror(errno));
            ok = false;
            break;
        }
        if (n == 0) break;
        len += static_cast<std::size_t>(n);
    }
    ::close(fd);
    if (ok && len > kMaxPskFileBytes) {
        v.error(e, path + " is larger than " + std::to_string(kMaxPskFileBytes) + " bytes");
        ok = false;
    }
    if (ok) {
        std::string_view text(buf.data(), len);
        text = text.substr(0, text.find('\n'));
        while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
            text.remove_suffix(1);
        if (text.empty()) {
            v.error(e, path + " holds no key");
            ok = false;
        } else {
            psk->assign(text);
        }
    }
    OPENSSL_cleanse(buf.data(), buf.size());
    return ok;
}

// ---- sections ---------------------------------------------------------------

constexpr std::array<std::pair<std::string_view, bool>, 2> kYesNo = {{{"yes", true}, {"no", false}}};

std::optional<DaemonConfig> parse_daemon(const SectionView& v) {
    const auto before = v.error_count();
    DaemonConfig d;
    d.line = v.line();
    if (auto e = v.require("uplink"))
        if (auto n = parse_ifname(v, *e)) d.uplink = *n;
    if (auto e = v.get("tunnel_if"))
        if (auto n = parse_ifname(v, *e)) d.tunnel_if = *n;
    if (auto e = v.get("instance")) {
        if (valid_name(e->value)) d.instance = e->value;
        else v.error(*e, "must be 1.." + std::to_string(kMaxNameLen) +
                             " letters, digits, '.', '_' or '-'");
    }
    if (auto e = v.get("socket")) {
        if (auto p = parse_absolute_path(v, *e)) {
            // sockaddr_un.sun_path holds 108 bytes with the terminating NUL.
            if (p->size() > 107) v.error(*e, "longer than a Unix socket path can be (107)");
            else d.socket = *p;
        }
    } else {
        d.socket = d.instance == kDefaultInstance ? std::string(kDefaultSocket)
                                                  : "/run/xdpsec/" + d.instance + ".sock";
    }
    if (auto e = v.get("bpffs")) {
        if (auto p = parse_absolute_path(v, *e)) d.bpffs = *p;
    } else {
        d.bpffs = "/sys/fs/bpf/xdpsec/" + d.instance;
    }
    if (auto e = v.get("workers")) {
        if (e->value == "auto") d.workers = 0;
        else if (auto n = parse_unsigned<unsigned>(v, *e, 1, kMaxWorkers)) d.workers = *n;
    }
    if (auto e = v.get("xdp_mode")) {
        static constexpr std::array<std::pair<std::string_view, XdpMode>, 3> kModes = {{
            {"native", XdpMode::native}, {"generic", XdpMode::generic}, {"auto", XdpMode::automatic}}};
        if (auto m = parse_choice(v, *e, kModes)) d.xdp_mode = *m;
    }
    if (auto e = v.get("busy_poll")) {
        if (auto b = parse_choice(v, *e, kYesNo)) d.busy_poll = *b;
    }
    if (auto e = v.get("tunnel_napi")) {
        static constexpr std::array<std::pair<std::string_view, bool>, 2> kNapi = {
            {{"threaded", true}, {"softirq", false}}};
        if (auto b = parse_choice(v, *e, kNapi)) d.tunnel_napi_threaded = *b;
    }
    if (auto e = v.get("uplink_napi")) {
        static constexpr std::array<std::pair<std::string_view, std::optional<bool>>, 3> kNapi = {
            {{"threaded", true}, {"softirq", false}, {"keep", std::nullopt}}};
        if (auto b = parse_choice(v, *e, kNapi)) d.uplink_napi_threaded = *b;
    }
    if (auto e = v.get("key_export")) {
        if (auto p = parse_absolute_path(v, *e)) d.key_export = *p;
    }
    if (auto e = v.get("retransmit_timeout")) {
        // Seconds, with decimals as strongSwan writes them ("4.0").
        double secs = 0;
        const auto& t = e->value;
        auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), secs);
        if (ec != std::errc{} || p != t.data() + t.size() || !(secs >= 0.1 && secs <= 60))
            v.error(*e, "seconds from 0.1 to 60 expected");
        else
            d.retransmit_timeout_ms = static_cast<unsigned>(secs * 1000);
    }
    if (auto e = v.get("retransmit_tries")) {
        if (auto n = parse_unsigned<unsigned>(v, *e, 0, 10)) d.retransmit_tries = *n;
    }
    if (v.error_count() != before) return std::nullopt;
    return d;
}

constexpr std::array<std::pair<std::string_view, esp::Mode>, 2> kModes = {{
    {"tunnel", esp::Mode::tunnel}, {"transport", esp::Mode::transport}}};

std::optional<TunnelConfig> parse_tunnel(const SectionView& v, std::string_view name) {
    const auto before = v.error_count();
    TunnelConfig t;
    t.name = std::string(name);
    t.line = v.line();

    if (auto e = v.require("local")) {
        if (e->value == "%any") v.error(*e, "must be an address (%any is for remote only)");
        else if (auto a = parse_address(v, *e)) t.local = *a;
    }
    bool remote_ok = false;
    if (auto e = v.require("remote", "an address, or %any to accept any peer")) {
        if (e->value == "%any") {
            remote_ok = true;
        } else if (auto a = parse_address(v, *e)) {
            t.remote = *a;
            remote_ok = true;
            if (t.local.family && a->family != t.local.family)
                v.error(*e, "address family differs from local's");
        }
    }

    if (auto e = v.get("local_id")) t.local_id = e->value;
    else if (t.local.family) t.local_id = t.local.to_string();
    if (auto e = v.get("remote_id")) t.remote_id = e->value;
    else if (remote_ok) t.remote_id = t.remote ? t.remote->to_string() : "%any";

    if (auto e = v.get("local_ts")) {
        if (auto l = parse_subnets(v, *e)) t.local_ts = *l;
    } else if (t.local.family) {
        t.local_ts = {esp::IpPrefix::host(t.local)};
    }
    if (auto e = v.get("remote_ts")) {
        if (auto l = parse_subnets(v, *e)) t.remote_ts = *l;
    } else if (t.remote) {
        t.remote_ts = {esp::IpPrefix::host(*t.remote)};
    }

    static constexpr std::array<std::pair<std::string_view, AuthMethod>, 2> kAuth = {{
        {"psk", AuthMethod::psk}, {"pubkey", AuthMethod::pubkey}}};
    std::optional<AuthMethod> auth;
    if (auto e = v.require("auth", "psk or pubkey")) auth = parse_choice(v, *e, kAuth);
    if (auth) t.auth = *auth;
    const auto psk = v.get("psk");
    const auto psk_file = v.get("psk_file");
    if (auth == AuthMethod::psk) {
        if (psk && psk_file) {
            v.error(*psk_file, "give psk or psk_file, not both");
        } else if (psk) {
            t.psk.assign(psk->value);
        } else if (psk_file) {
            if (auto p = parse_absolute_path(v, *psk_file)) {
                if (read_psk_file(v, *psk_file, *p, &t.psk)) t.psk_file = *p;
            }
        } else if (!v.has("psk") && !v.has("psk_file")) {
            v.missing("psk", "or psk_file, with auth = psk");
        }
        for (auto k : {"cert", "key", "ca"})
            if (auto e = v.get(k)) v.error(*e, "only with auth = pubkey");
    } else if (auth == AuthMethod::pubkey) {
        for (auto e : {psk, psk_file})
            if (e) v.error(*e, "only with auth = psk");
        if (auto e = v.require("cert", "with auth = pubkey"))
            if (auto p = parse_readable_file(v, *e)) t.cert = *p;
        if (auto e = v.require("key", "with auth = pubkey"))
            if (auto p = parse_readable_file(v, *e)) t.key = *p;
        if (auto e = v.require("ca", "with auth = pubkey"))
            if (auto p = parse_readable_file(v, *e)) t.ca = *p;
    }

    const auto ike = v.get("ike");
    if (auto p = parse_ike_proposals(ike ? std::string_view(ike->value) : kDefaultIke)) {
        t.ike = std::move(p).value();
    } else if (ike) {
        v.error(*ike, p.error());
    }
    const auto esp = v.get("esp");
    if (auto p = parse_esp_proposals(esp ? std::string_view(esp->value) : kDefaultEsp)) {
        t.esp = std::move(p).value();
    } else if (esp) {
        v.error(*esp, p.error());
    }

    if (auto e = v.get("mode"))
        if (auto m = parse_choice(v, *e, kModes)) t.mode = *m;
    t.start = remote_ok && !t.remote ? StartAction::listen : StartAction::initiate;
    if (auto e = v.get("start")) {
        static constexpr std::array<std::pair<std::string_view, StartAction>, 3> kStart = {{
            {"initiate", StartAction::initiate}, {"listen", StartAction::listen},
            {"trap", StartAction::trap}}};
        if (auto s = parse_choice(v, *e, kStart)) {
            t.start = *s;
            if (*s != StartAction::listen && remote_ok && !t.remote)
                v.error(*e, std::string(to_string(*s)) + " needs a remote address, not %any");
        }
    }
    // Seconds, with an optional "s" as strongSwan writes them ("30s").
    const auto seconds = [&](const IniEntry& e, unsigned max) {
        IniEntry plain = e;
        if (!plain.value.empty() && plain.value.back() == 's') plain.value.pop_back();
        return parse_unsigned<unsigned>(v, plain, 0, max);
    };
    if (auto e = v.get("dpd"))
        if (auto n = seconds(*e, kMaxDpdSeconds)) t.dpd_seconds = *n;
    if (auto e = v.get("rekey_time"))
        if (auto n = seconds(*e, kMaxRekeySeconds)) t.rekey_seconds = *n;
    if (auto e = v.get("ike_rekey_time"))
        if (auto n = seconds(*e, kMaxRekeySeconds)) t.ike_rekey_seconds = *n;
    if (auto e = v.get("reauth_time")) {
        if (auto n = seconds(*e, kMaxRekeySeconds)) t.reauth_seconds = *n;
        if (t.reauth_seconds && remote_ok && !t.remote)
            v.error(*e, "reauthentication needs a remote address, not %any");
    }
    if (auto e = v.get("life_time"))
        if (auto n = seconds(*e, kMaxRekeySeconds)) t.life_seconds = *n;
    if (auto e = v.get("rekey_bytes"))
        if (auto n = parse_unsigned<uint64_t>(v, *e, 0, UINT64_MAX)) t.rekey_bytes = *n;
    if (auto e = v.get("rekey_packets"))
        if (auto n = parse_unsigned<uint64_t>(v, *e, 0, UINT64_MAX)) t.rekey_packets = *n;
    if (t.life_seconds && t.rekey_seconds && t.life_seconds <= t.rekey_seconds)
        if (auto e = v.get("life_time")) v.error(*e, "must be longer than rekey_time");
    if (auto e = v.get("ike_life_time")) {
        if (auto n = seconds(*e, kMaxRekeySeconds)) t.ike_life_seconds = *n;
        // Longer than the first planned replacement, or it never happens.
        const unsigned first = t.first_ike_replacement(true);
        if (t.ike_life_seconds && first && t.ike_life_seconds <= first)
            v.error(*e, "must be longer than ike_rekey_time (or reauth_time, if sooner)");
    }
    if (auto e = v.get("dpd_action")) {
        static constexpr std::array<std::pair<std::string_view, DpdAction>, 3> kDpd = {{
            {"clear", DpdAction::clear}, {"restart", DpdAction::restart}, {"trap", DpdAction::trap}}};
        if (auto a = parse_choice(v, *e, kDpd)) {
            t.dpd_action = *a;
            if (*a != DpdAction::clear && remote_ok && !t.remote)
                v.error(*e, std::string(*a == DpdAction::trap ? "trap" : "restart") +
                                " needs a remote address, not %any");
        }
    }
    if (v.error_count() != before) return std::nullopt;
    return t;
}

std::optional<ManualSaConfig> parse_sa(const SectionView& v, std::string_view name) {
    const auto before = v.error_count();
    ManualSaConfig m;
    m.name = std::string(name);
    m.line = v.line();
    auto& sa = m.sa;

    if (auto e = v.require("spi")) {
        std::string_view s = e->value;
        int base = 10;
        if (s.starts_with("0x") || s.starts_with("0X")) {
            s.remove_prefix(2);
            base = 16;
        }
        uint32_t spi = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), spi, base);
        if (ec == std::errc::result_out_of_range) v.error(*e, "more than 32 bits");
        else if (s.empty() || ec != std::errc{} || p != s.data() + s.size())
            v.error(*e, "not a number (0x-prefixed hex or decimal)");
        else if (spi < 256) v.error(*e, esp::spi_text(spi) + " is reserved (0-255, RFC 4303 §2.1)");
        else sa.spi = spi;
    }
    if (auto e = v.require("direction", "in or out")) {
        static constexpr std::array<std::pair<std::string_view, esp::SaDirection>, 2> kDir = {{
            {"in", esp::SaDirection::inbound}, {"out", esp::SaDirection::outbound}}};
        if (auto d = parse_choice(v, *e, kDir)) sa.direction = *d;
    }
    std::optional<esp::Algorithm> alg;
    if (auto e = v.require("esp", "e.g. aes128gcm16")) {
        auto p = parse_esp_proposal(e->value);
        if (!p) v.error(*e, p.error());
        else if (!p->dh_groups.empty() || p->esn != EsnPolicy::off || e->value.ends_with("-noesn"))
            v.error(*e, "one algorithm only: DH groups have no place in a manual SA, and ESN is "
                        "the esn key");
        else alg = p->algorithm;
    }
    if (alg) sa.algorithm = *alg;

    if (auto e = v.require("enc_key")) {
        if (alg) {
            const std::string what = alg->name() + (alg->salt_len()
                                                        ? " (" + std::to_string(alg->cipher_key_len()) +
                                                              "-byte key + " +
                                                              std::to_string(alg->salt_len()) + "-byte salt)"
                                                        : "");
            parse_hex_key(v, *e, alg->enc_keymat_len(), what, &sa.enc_key);
        } else {
            parse_hex_key(v, *e, 0, {}, &sa.enc_key);
        }
    }
    if (alg && !alg->is_aead()) {
        if (auto e = v.require("integ_key", alg->name() + " needs one"))
            parse_hex_key(v, *e, alg->integ_key_len(), alg->name(), &sa.integ_key);
    } else if (auto e = v.get("integ_key")) {
        if (alg) v.error(*e, alg->name() + " authenticates by itself and takes no integ_key");
        else parse_hex_key(v, *e, 0, {}, &sa.integ_key);
    }

    if (auto e = v.get("mode"))
        if (auto md = parse_choice(v, *e, kModes)) sa.mode = *md;
    if (auto e = v.require("local"))
        if (auto a = parse_address(v, *e)) sa.local = *a;
    if (auto e = v.require("remote")) {
        if (auto a = parse_address(v, *e)) {
            sa.remote = *a;
            if (sa.local.family && a->family != sa.local.family)
                v.error(*e, "address family differs from local's");
        }
    }
    if (auto e = v.get("local_ts")) {
        if (auto l = parse_subnets(v, *e)) m.local_ts = *l;
    } else if (sa.local.family) {
        m.local_ts = {esp::IpPrefix::host(sa.local)};
    }
    if (auto e = v.get("remote_ts")) {
        if (auto l = parse_subnets(v, *e)) m.remote_ts = *l;
    } else if (sa.remote.family) {
        m.remote_ts = {esp::IpPrefix::host(sa.remote)};
    }

    bool udp = false;
    if (auto e = v.get("encap")) {
        static constexpr std::array<std::pair<std::string_view, bool>, 2> kEncap = {{
            {"udp", true}, {"none", false}}};
        if (auto u = parse_choice(v, *e, kEncap)) udp = *u;
    }
    if (udp) sa.udp_encap = esp::UdpEncap{};
    if (auto e = v.get("encap_ports")) {
        const auto colon = e->value.find(':');
        std::optional<uint16_t> sport, dport;
        if (colon != std::string::npos) {
            IniEntry half = *e;
            half.value = e->value.substr(0, colon);
            sport = parse_unsigned<uint16_t>(v, half, 1, 65535);
            if (sport) {
                half.value = e->value.substr(colon + 1);
                dport = parse_unsigned<uint16_t>(v, half, 1, 65535);
            }
        } else {
            v.error(*e, "must be SPORT:DPORT");
        }
        if (!v.has("encap") || (v.get("encap") && v.get("encap")->value == "none"))
            v.error(*e, "only with encap = udp");
        else if (sport && dport && sa.udp_encap) {
            // SPORT:DPORT are those of the packets this SA carries; SaConfig
            // names them from this host's side.
            const bool out = sa.direction == esp::SaDirection::outbound;
            sa.udp_encap->local_port = out ? *sport : *dport;
            sa.udp_encap->remote_port = out ? *dport : *sport;
        }
    }
    if (auto e = v.get("esn")) {
        if (auto b = parse_choice(v, *e, kYesNo)) sa.esn = *b;
    }
    if (auto e = v.get("replay_window")) {
        if (sa.direction == esp::SaDirection::outbound && v.get("direction")) {
            v.error(*e, "only for direction = in");
        } else if (auto n = parse_unsigned<uint32_t>(v, *e, 0, esp::ReplayWindow::kMaxSize)) {
            if (*n != 0 && *n < esp::ReplayWindow::kMinSize)
                v.error(*e, "must be 0 (off) or " + std::to_string(esp::ReplayWindow::kMinSize) +
                                ".." + std::to_string(esp::ReplayWindow::kMaxSize));
            else sa.replay_window = *n;
        }
    }
    const std::array<std::pair<std::string_view, uint64_t*>, 4> lifetimes = {{
        {"soft_bytes", &sa.lifetime.soft_bytes},
        {"hard_bytes", &sa.lifetime.hard_bytes},
        {"soft_packets", &sa.lifetime.soft_packets},
        {"hard_packets", &sa.lifetime.hard_packets}}};
    for (const auto& [key, field] : lifetimes)
        if (auto e = v.get(key))
            if (auto n = parse_unsigned<uint64_t>(v, *e, 0, UINT64_MAX)) *field = *n;

    if (v.error_count() != before) return std::nullopt;
    // What the keys cannot show alone (lifetime order, ESN without a window).
    if (auto why = sa.validate(); !why.empty()) {
        v.section_error(why);
        return std::nullopt;
    }
    return m;
}

// [kind.NAME] → {kind, NAME}; kind empty when the header has no '.'.
std::pair<std::string_view, std::string_view> split_header(std::string_view header) {
    const auto dot = header.find('.');
    if (dot == std::string_view::npos) return {header, {}};
    return {header.substr(0, dot), header.substr(dot + 1)};
}

}  // namespace

std::string ConfigError::to_string() const {
    std::string s = source;
    if (line) s += ":" + std::to_string(line);
    return s + ": " + reason;
}

std::string format_errors(const ConfigErrors& errors) {
    std::string out;
    for (const auto& e : errors) out += e.to_string() + "\n";
    return out;
}


std::string_view to_string(XdpMode m) {
    switch (m) {
    case XdpMode::native: return "native";
    case XdpMode::generic: return "generic";
    case XdpMode::automatic: return "auto";
    }
    return "unknown";
}

std::string_view to_string(AuthMethod a) { return a == AuthMethod::psk ? "psk" : "pubkey"; }
std::string_view to_string(StartAction s) {
    switch (s) {
    case StartAction::initiate: return "initiate";
    case StartAction::listen: return "listen";
    case StartAction::trap: return "trap";
    }
    return "unknown";
}
std::string_view to_string(esp::Mode m) { return m == esp::Mode::tunnel ? "tunnel" : "transport"; }

Expected<Config, ConfigErrors> parse_config(std::string_view text, std::string_view source) {
    Diagnostics diag{std::string(source)};
    const IniDocument doc = read_ini(text);
    for (const auto& e : doc.errors) diag.add(e.line, e.reason);

    Config config;
    config.source = std::string(source);
    bool have_daemon = false;
    for (const auto& s : doc.sections) {
        const auto [kind, name] = split_header(s.name);
        if (s.name == "daemon") {
            have_daemon = true;
            SectionView v(s, SectionView::Style::file, kDaemonKeys, diag);
            if (auto d = parse_daemon(v)) config.daemon = std::move(*d);
            continue;
        }
        if ((kind == "tunnel" || kind == "sa") && !valid_name(name)) {
            diag.add(s.line, "bad name in [" + s.name + "]: 1.." + std::to_string(kMaxNameLen) +
                                 " letters, digits, '.', '_' or '-'");
            continue;
        }
        if (kind == "tunnel") {
            SectionView v(s, SectionView::Style::file,
                          kTunnelKeys, diag);
            if (auto t = parse_tunnel(v, name)) config.tunnels.push_back(std::move(*t));
        } else if (kind == "sa") {
            SectionView v(s, SectionView::Style::file, kSaKeys,
                          diag);
            if (auto m = parse_sa(v, name)) {
                // The SAD is keyed by SPI and our address (bpf_abi.h xdpsec_sad_key).
                for (const auto& other : config.sas) {
                    if (other.sa.direction == esp::SaDirection::inbound &&
                        m->sa.direction == esp::SaDirection::inbound &&
                        other.sa.spi == m->sa.spi && other.sa.local == m->sa.local) {
                        diag.add(s.line, "[" + s.name + "]: inbound SPI " + esp::spi_text(m->sa.spi) +
                                             " to " + m->sa.local.to_string() +
                                             " is already [sa." + other.name + "]'s");
                        break;
                    }
                }
                config.sas.push_back(std::move(*m));
            }
        } else {
            diag.add(s.line, "unknown section [" + s.name +
                                 "] (expected [daemon], [tunnel.NAME] or [sa.NAME])");
        }
    }
    if (!have_daemon && !doc.broken_header) diag.add(0, "no [daemon] section");

    if (diag.count()) {
        auto errors = diag.take();
        std::stable_sort(errors.begin(), errors.end(),
                         [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
        return unexpected(std::move(errors));
    }
    return config;
}

Expected<Config, ConfigErrors> load_config(const std::string& path) {
    auto fail = [&](const std::string& why) {
        return Expected<Config, ConfigErrors>(unexpected(ConfigErrors{{path, 0, why}}));
    };
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return fail(std::string("cannot read: ") + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return fail("not a regular file");
    }
    if (static_cast<std::size_t>(st.st_size) > kMaxConfigBytes) {
        ::close(fd);
        return fail("larger than " + std::to_string(kMaxConfigBytes) + " bytes");
    }
    std::string text(static_cast<std::size_t>(st.st_size), '\0');
    std::size_t len = 0;
    while (len < text.size()) {
        const ssize_t n = ::read(fd, text.data() + len, text.size() - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int err = errno;
            ::close(fd);
            OPENSSL_cleanse(text.data(), text.size());
            return fail(std::string("cannot read: ") + std::strerror(err));
        }
        if (n == 0) break;
        len += static_cast<std::size_t>(n);
    }
    ::close(fd);
    auto result = parse_config(std::string_view(text.data(), len), path);
    OPENSSL_cleanse(text.data(), text.size());
    return result;
}

Expected<TunnelConfig, ConfigErrors> parse_tunnel_options(std::string_view name,
                                                          const TunnelOptions& options) {
    Diagnostics diag{"tunnel add " + std::string(name)};
    if (!valid_name(name)) {
        diag.add(0, "bad tunnel name: 1.." + std::to_string(kMaxNameLen) +
                        " letters, digits, '.', '_' or '-'");
        return unexpected(diag.take());
    }
    IniSection section{"tunnel." + std::string(name), 0, {}};
    for (const auto& [raw_key, value] : options) {
        std::string key = raw_key;
        for (auto& c : key)
            if (c == '-') c = '_';
        bool repeated = false;
        for (const auto& e : section.entries) repeated = repeated || e.key == key;
        if (repeated) {
            std::string label = "--" + raw_key;
            for (auto& c : label)
                if (c == '_') c = '-';
            diag.add(0, label + " given twice");
            continue;
        }
        section.entries.push_back({key, std::string(trim(value)), 0});
    }
    SectionView v(section, SectionView::Style::options,
                  kTunnelKeys, diag);
    auto tunnel = parse_tunnel(v, name);
    for (auto& e : section.entries)
        if (!e.value.empty()) OPENSSL_cleanse(e.value.data(), e.value.size());
    if (diag.count() || !tunnel) return unexpected(diag.take());
    return std::move(*tunnel);
}

}  // namespace xdpsec::control
