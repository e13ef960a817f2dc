// ESP engine throughput against raw OpenSSL EVP, on one core.
//
// For every algorithm and inner packet size the benchmark measures four
// rates, in the same process and interleaved round by round:
//
//   engine encrypt  encapsulate() of an inner IPv4/UDP packet, tunnel mode,
//                   outer IPv4, in a frame with headroom;
//   raw encrypt     the EVP call sequence EspCrypto::seal makes, on the same
//                   bytes at the same addresses: nothing else;
//   engine decrypt  decapsulate() of packets the engine encrypted;
//   raw decrypt     the EVP call sequence EspCrypto::open makes on them.
//
// Fairness: both encrypt loops copy the 20-byte inner IPv4 header back before
// each packet (the engine must see a valid IP header; the rest of the buffer
// is re-encrypted as it is, which costs the cipher the same). Both decrypt
// loops copy the whole pristine ESP packet into the frame before each packet
// (decryption is in place). Decryption keeps anti-replay on: a ring of 64
// distinct packets (sequence numbers 1..64) is replayed, and the engine's
// window is restarted (Sa::set_last_seq(0)) before each pass over the ring.
//
// Before timing, each cell is cross-checked: the raw code opens the engine's
// packets, re-seals them, and the engine accepts the result (for the AEAD
// suites the re-sealed bytes must equal the engine's exactly).

#include "esp/algorithm.h"
#include "esp/esp_engine.h"
#include "esp/ip_packet.h"
#include "esp/sa.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include <sched.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace esp = xdpsec::esp;
using namespace xdpsec::esp::ip;

namespace {

// ---------------------------------------------------------------- options

struct Options {
    bool json = false;
    bool check_only = false;
    double seconds = 0.2;
    unsigned rounds = 5;
    int cpu = -2;  // -2: pick one; -1: do not pin
    std::vector<std::string> algs = {"aes128gcm16",   "aes256gcm16",   "chacha20poly1305",
                                     "aes128gmac",    "aes128-sha256", "aes256-sha256",
                                     "aes256-sha512", "aes128-sha1"};
    std::vector<uint32_t> sizes = {64, 512, 1400};
};

[[noreturn]] void usage(int code) {
    std::fprintf(code ? stderr : stdout,
                 "usage: esp_bench [--json] [--seconds S] [--rounds N] [--cpu N|-1]\n"
                 "                 [--algs a,b,...] [--sizes n,n,...] [--check]\n"
                 "  --seconds S  length of each timed run (default 0.2)\n"
                 "  --rounds N   alternating engine/raw runs per cell, best kept (default 5)\n"
                 "  --cpu N      pin to CPU N (default: the last allowed CPU; -1: no pinning)\n"
                 "  --check      only cross-check engine against raw, no timing\n");
    std::exit(code);
}

std::vector<std::string> split(std::string_view s) {
    std::vector<std::string> out;
    while (!s.empty()) {
        const auto comma = s.find(',');
        const auto part = s.substr(0, comma);
        if (!part.empty()) out.emplace_back(part);
        if (comma == std::string_view::npos) break;
        s.remove_prefix(comma + 1);
    }
    return out;
}

Options parse_options(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        auto value = [&]() -> std::string_view {
            if (i + 1 >= argc) usage(2);
            return argv[++i];
        };
        char* end = nullptr;
        if (a == "--json") {
            o.json = true;
        } else if (a == "--check") {
            o.check_only = true;
        } else if (a == "--seconds") {
            const std::string v(value());
            o.seconds = std::strtod(v.c_str(), &end);
            if (*end || !(o.seconds > 0 && o.seconds < 3600)) usage(2);
        } else if (a == "--rounds") {
            const std::string v(value());
            const long n = std::strtol(v.c_str(), &end, 10);
            if (*end || n < 1 || n > 100) usage(2);
            o.rounds = static_cast<unsigned>(n);
        } else if (a == "--cpu") {
            const std::string v(value());
            const long n = std::strtol(v.c_str(), &end, 10);
            if (*end || n < -1 || n >= CPU_SETSIZE) usage(2);
            o.cpu = static_cast<int>(n);
        } else if (a == "--algs") {
            o.algs = split(value());
        } else if (a == "--sizes") {
            o.sizes.clear();
            for (const auto& s : split(value())) {
                const long n = std::strtol(s.c_str(), &end, 10);
                if (*end || n < 28 || n > 1500) {
                    std::fprintf(stderr, "esp_bench: size %s: must be 28..1500\n", s.c_str());
                    std::exit(2);
                }
                o.sizes.push_back(static_cast<uint32_t>(n));
            }
        } else if (a == "-h" || a == "--help") {
            usage(0);
        } else {
            std::fprintf(stderr, "esp_bench: unknown option %s\n", argv[i]);
            usage(2);
        }
    }
    if (o.algs.empty() || o.sizes.empty()) usage(2);
    return o;
}

[[noreturn]] void die(const std::string& why) {
    std::fprintf(stderr, "esp_bench: %s\n", why.c_str());
    std::exit(1);
}

// Pins the process to one CPU; returns it, or -1 when not pinned.
int pin_cpu(int wanted) {
    if (wanted == -1) return -1;
    cpu_set_t allowed;
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    int cpu = wanted;
    if (cpu == -2) {
        for (int c = 0; c < CPU_SETSIZE; ++c)
            if (CPU_ISSET(c, &allowed)) cpu = c;
    }
    if (cpu < 0 || !CPU_ISSET(cpu, &allowed)) return -1;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return sched_setaffinity(0, sizeof one, &one) == 0 ? cpu : -1;
}

// ---------------------------------------------------------------- raw EVP

void put_be64(uint8_t* p, uint64_t v) {
    store32(p, static_cast<uint32_t>(v >> 32));
    store32(p + 4, static_cast<uint32_t>(v));
}

int to_int(uint32_t n) { return static_cast<int>(n); }

const char* evp_cipher_name(esp::Cipher c) {
    switch (c) {
    case esp::Cipher::aes_gcm_128:
    case esp::Cipher::aes_gmac_128: return "AES-128-GCM";
    case esp::Cipher::aes_gcm_256:
    case esp::Cipher::aes_gmac_256: return "AES-256-GCM";
    case esp::Cipher::chacha20_poly1305: return "ChaCha20-Poly1305";
    case esp::Cipher::aes_cbc_128: return "AES-128-CBC";
    case esp::Cipher::aes_cbc_256: return "AES-256-CBC";
    }
    return "";
}

const char* digest_name(esp::Integrity i) {
    switch (i) {
    case esp::Integrity::hmac_sha1_96: return "SHA1";
    case esp::Integrity::hmac_sha256_128: return "SHA2-256";
    case esp::Integrity::hmac_sha384_192: return "SHA2-384";
    case esp::Integrity::hmac_sha512_256: return "SHA2-512";
    case esp::Integrity::none: break;
    }
    return "";
}

// The raw baseline: pre-keyed EVP contexts and, per packet, exactly the EVP
// calls EspCrypto makes (IV setup, AAD, payload, final/tag; for CBC the IV
// generator block, CBC and HMAC). No IP handling, no padding, no window.
class RawEsp {
public:
    RawEsp(const esp::Algorithm& alg, bool seal, std::span<const uint8_t> enc_keymat,
           std::span<const uint8_t> integ_key)
        : alg_(alg) {
        EVP_CIPHER* evp = EVP_CIPHER_fetch(nullptr, evp_cipher_name(alg.cipher), nullptr);
        cipher_ = EVP_CIPHER_CTX_new();
        if (!evp || !cipher_) die("raw: no cipher");
        const int enc = seal ? 1 : 0;
        if (alg.is_aead()) {
            std::memcpy(salt_.data(), enc_keymat.data() + alg.cipher_key_len(), 4);
            if (EVP_CipherInit_ex2(cipher_, evp, nullptr, nullptr, enc, nullptr) != 1 ||
                EVP_CIPHER_CTX_ctrl(cipher_, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr) != 1 ||
                EVP_CipherInit_ex2(cipher_, nullptr, enc_keymat.data(), nullptr, enc, nullptr) != 1)
                die("raw: AEAD key refused");
        } else {
            if (EVP_CipherInit_ex2(cipher_, evp, enc_keymat.data(), nullptr, enc, nullptr) != 1 ||
                EVP_CIPHER_CTX_set_padding(cipher_, 0) != 1)
                die("raw: CBC key refused");
            EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
            mac_ = hmac ? EVP_MAC_CTX_new(hmac) : nullptr;
            EVP_MAC_free(hmac);
            OSSL_PARAM params[] = {
                OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 const_cast<char*>(digest_name(alg.integrity)), 0),
                OSSL_PARAM_construct_end()};
            if (!mac_ || EVP_MAC_init(mac_, integ_key.data(), integ_key.size(), params) != 1)
                die("raw: HMAC key refused");
            if (seal) {
                static constexpr uint8_t kIvKey[16] = {0x5a, 1, 2, 3, 4, 5, 6, 7,
                                                       8, 9, 10, 11, 12, 13, 14, 15};
                EVP_CIPHER* ecb = EVP_CIPHER_fetch(nullptr, "AES-128-ECB", nullptr);
                iv_gen_ = EVP_CIPHER_CTX_new();
                if (!ecb || !iv_gen_ ||
                    EVP_CipherInit_ex2(iv_gen_, ecb, kIvKey, nullptr, 1, nullptr) != 1 ||
                    EVP_CIPHER_CTX_set_padding(iv_gen_, 0) != 1)
                    die("raw: IV generator refused");
                EVP_CIPHER_free(ecb);
            }
        }
        EVP_CIPHER_free(evp);
    }
    ~RawEsp() {
        EVP_CIPHER_CTX_free(cipher_);
        EVP_CIPHER_CTX_free(iv_gen_);
        EVP_MAC_CTX_free(mac_);
    }
    RawEsp(const RawEsp&) = delete;
    RawEsp& operator=(const RawEsp&) = delete;

    // esp: the ESP header (SPI || SN, already written); the IV follows, then
    // payload_len bytes of payload (with trailer), then the ICV.
    bool seal(uint8_t* esp, uint32_t payload_len, uint64_t seq) {
        uint8_t* iv = esp + 8;
        uint8_t* payload = iv + alg_.iv_len();
        uint8_t* icv = payload + payload_len;
        int out = 0;
        if (alg_.is_aead()) {
            put_be64(iv, seq);
            uint8_t n[12];
            std::memcpy(n, salt_.data(), 4);
            std::memcpy(n + 4, iv, 8);
            if (EVP_EncryptInit_ex(cipher_, nullptr, nullptr, nullptr, n) != 1) return false;
            if (EVP_EncryptUpdate(cipher_, nullptr, &out, esp, 8) != 1) return false;
            if (alg_.encrypts()) {
                if (EVP_EncryptUpdate(cipher_, payload, &out, payload, to_int(payload_len)) != 1)
                    return false;
            } else {
                if (EVP_EncryptUpdate(cipher_, nullptr, &out, iv, 8) != 1) return false;
                if (EVP_EncryptUpdate(cipher_, nullptr, &out, payload, to_int(payload_len)) != 1)
                    return false;
            }
            if (EVP_EncryptFinal_ex(cipher_, icv, &out) != 1) return false;
            return EVP_CIPHER_CTX_ctrl(cipher_, EVP_CTRL_AEAD_GET_TAG, to_int(alg_.icv_len()),
                                       icv) == 1;
        }
        uint8_t block[16];
        std::memcpy(block, iv_nonce_.data(), 8);
        put_be64(block + 8, seq);
        if (EVP_EncryptUpdate(iv_gen_, iv, &out, block, 16) != 1) return false;
        if (EVP_EncryptInit_ex(cipher_, nullptr, nullptr, nullptr, iv) != 1) return false;
        if (EVP_EncryptUpdate(cipher_, payload, &out, payload, to_int(payload_len)) != 1)
            return false;
        uint8_t full[64];
        if (!hmac(esp, static_cast<std::size_t>(icv - esp), full)) return false;
        std::memcpy(icv, full, alg_.icv_len());
        return true;
    }

    // As seal; ct_len bytes of ciphertext. Returns false when the ICV is wrong.
    bool open(uint8_t* esp, uint32_t ct_len) {
        uint8_t* iv = esp + 8;
        uint8_t* payload = iv + alg_.iv_len();
        uint8_t* icv = payload + ct_len;
        int out = 0;
        if (alg_.is_aead()) {
            uint8_t n[12];
            std::memcpy(n, salt_.data(), 4);
            std::memcpy(n + 4, iv, 8);
            if (EVP_DecryptInit_ex(cipher_, nullptr, nullptr, nullptr, n) != 1) return false;
            if (EVP_CIPHER_CTX_ctrl(cipher_, EVP_CTRL_AEAD_SET_TAG, to_int(alg_.icv_len()), icv) !=
                1)
                return false;
            if (EVP_DecryptUpdate(cipher_, nullptr, &out, esp, 8) != 1) return false;
            if (alg_.encrypts()) {
                if (EVP_DecryptUpdate(cipher_, payload, &out, payload, to_int(ct_len)) != 1)
                    return false;
            } else {
                if (EVP_DecryptUpdate(cipher_, nullptr, &out, iv, 8) != 1) return false;
                if (EVP_DecryptUpdate(cipher_, nullptr, &out, payload, to_int(ct_len)) != 1)
                    return false;
            }
            uint8_t fin[16];
            return EVP_DecryptFinal_ex(cipher_, fin, &out) == 1;
        }
        uint8_t full[64];
        if (!hmac(esp, static_cast<std::size_t>(icv - esp), full)) return false;
        if (CRYPTO_memcmp(full, icv, alg_.icv_len()) != 0) return false;
        if (EVP_DecryptInit_ex(cipher_, nullptr, nullptr, nullptr, iv) != 1) return false;
        return EVP_DecryptUpdate(cipher_, payload, &out, payload, to_int(ct_len)) == 1;
    }

private:
    bool hmac(const uint8_t* p, std::size_t len, uint8_t* out) {
        if (EVP_MAC_init(mac_, nullptr, 0, nullptr) != 1) return false;
        if (EVP_MAC_update(mac_, p, len) != 1) return false;
        std::size_t n = 0;
        return EVP_MAC_final(mac_, out, &n, 64) == 1;
    }

    esp::Algorithm alg_;
    EVP_CIPHER_CTX* cipher_ = nullptr;
    EVP_CIPHER_CTX* iv_gen_ = nullptr;
    EVP_MAC_CTX* mac_ = nullptr;
    std::array<uint8_t, 4> salt_{};
    std::array<uint8_t, 8> iv_nonce_{0xa5, 0x5a, 1, 2, 3, 4, 5, 6};
};

// ---------------------------------------------------------------- packets

constexpr uint32_t kSpi = 0x1000;
constexpr uint32_t kMtu = 1500;
constexpr uint32_t kHeadroom = 256;   // inner packet (and so the ESP payload) starts here
constexpr uint32_t kFrameSize = 2048;
constexpr std::size_t kRing = 64;     // distinct packets in the decrypt ring

struct alignas(64) Frame {
    std::array<uint8_t, kFrameSize> bytes{};
};

// An inner IPv4/UDP packet of `size` bytes (DF set, checksummed).
std::vector<uint8_t> make_inner(uint32_t size) {
    std::vector<uint8_t> p(size);
    p[0] = 0x45;
    store16(&p[2], static_cast<uint16_t>(size));
    store16(&p[4], 0x1234);
    store16(&p[6], 0x4000);
    p[8] = 64;
    p[9] = kProtoUdp;
    const uint8_t src[4] = {10, 1, 0, 1}, dst[4] = {10, 2, 0, 1};
    std::memcpy(&p[12], src, 4);
    std::memcpy(&p[16], dst, 4);
    ipv4_set_checksum(p.data());
    store16(&p[20], 40000);
    store16(&p[22], 9);
    store16(&p[24], static_cast<uint16_t>(size - 20));
    for (uint32_t i = 28; i < size; ++i) p[i] = static_cast<uint8_t>(i * 31 + 7);
    return p;
}

esp::SaConfig make_config(const esp::Algorithm& alg, esp::SaDirection dir) {
    esp::SaConfig c;
    c.spi = kSpi;
    c.direction = dir;
    c.mode = esp::Mode::tunnel;
    const auto a = *esp::IpAddress::parse("192.0.2.1");
    const auto b = *esp::IpAddress::parse("198.51.100.1");
    c.local = dir == esp::SaDirection::outbound ? a : b;
    c.remote = dir == esp::SaDirection::outbound ? b : a;
    c.algorithm = alg;
    std::vector<uint8_t> k(alg.enc_keymat_len()), ik(alg.integ_key_len());
    for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(i * 13 + 1);
    for (std::size_t i = 0; i < ik.size(); ++i) ik[i] = static_cast<uint8_t>(i * 29 + 3);
    c.enc_key.assign(k);
    c.integ_key.assign(ik);
    c.replay_window = 64;
    return c;
}

std::unique_ptr<esp::Sa> make_sa(const esp::SaConfig& c) {
    std::string err;
    auto sa = esp::Sa::create(c, &err);
    if (!sa) die("SA refused: " + err);
    return sa;
}

// ---------------------------------------------------------------- timing

// Runs f repeatedly for `seconds`; returns calls per second. f returns false
// on failure, which aborts the benchmark.
template <class F>
double rate(F&& f, double seconds) {
    using clock = std::chrono::steady_clock;
    const auto start = clock::now();
    const auto deadline = start + std::chrono::duration_cast<clock::duration>(
                                      std::chrono::duration<double>(seconds));
    uint64_t n = 0;
    unsigned bad = 0;
    auto now = start;
    do {
        for (int k = 0; k < 256; ++k) bad += f() ? 0u : 1u;
        n += 256;
        now = clock::now();
    } while (now < deadline);
    if (bad) die("a packet failed during timing");
    return static_cast<double>(n) / std::chrono::duration<double>(now - start).count();
}

struct Pair {
    double engine = 0, raw = 0;
};

// Warm-up, then `rounds` alternating timed runs of each side; best of each.
template <class E, class R>
Pair measure(E&& engine, R&& raw, const Options& o) {
    const double warm = std::min(0.1, o.seconds / 2);
    rate(engine, warm);
    rate(raw, warm);
    Pair best;
    for (unsigned r = 0; r < o.rounds; ++r) {
        if (r % 2 == 0) {
            best.engine = std::max(best.engine, rate(engine, o.seconds));
            best.raw = std::max(best.raw, rate(raw, o.seconds));
        } else {
            best.raw = std::max(best.raw, rate(raw, o.seconds));
            best.engine = std::max(best.engine, rate(engine, o.seconds));
        }
    }
    return best;
}

// ---------------------------------------------------------------- one cell

struct Row {
    std::string alg;
    uint32_t size;
    const char* op;
    double engine_pps, raw_pps;
};

// Layout of one encapsulated packet, as the engine produced it.
struct Layout {
    uint32_t outer_offset;  // frame offset of the outer IPv4 header
    uint32_t outer_len;
    uint32_t esp_offset;    // frame offset of the ESP header
    uint32_t payload_len;   // ESP payload incl. padding and trailer
};

void run_alg(const esp::Algorithm& alg, uint32_t size, const Options& o, std::vector<Row>& rows) {
    const std::vector<uint8_t> inner = make_inner(size);
    const esp::SaConfig out_cfg = make_config(alg, esp::SaDirection::outbound);
    const esp::SaConfig in_cfg = make_config(alg, esp::SaDirection::inbound);
    const std::string name = alg.name();
    auto fail = [&](const char* what) {
        die(name + " " + std::to_string(size) + ": " + what);
    };

    // The decrypt ring: packets 1..kRing from an outbound SA.
    std::vector<Frame> ring(kRing);
    Layout lay{};
    {
        auto sa = make_sa(out_cfg);
        for (std::size_t i = 0; i < kRing; ++i) {
            std::memcpy(ring[i].bytes.data() + kHeadroom, inner.data(), size);
            esp::PacketBuffer b{ring[i].bytes.data(), kFrameSize, kHeadroom, size};
            if (esp::encapsulate(*sa, b, kMtu).status != esp::EncapStatus::ok)
                fail("encapsulate refused the inner packet");
            lay = Layout{b.offset, b.length, b.offset + kIpv4HeaderLen, 0};
        }
        lay.payload_len = lay.outer_len - kIpv4HeaderLen - 8 - alg.iv_len() - alg.icv_len();
        if (lay.esp_offset + 8 + alg.iv_len() != kHeadroom) fail("unexpected layout");
    }

    // Cross-check: raw opens each engine packet, re-seals it with the same
    // sequence number, and the engine accepts the result.
    {
        RawEsp ropen(alg, false, out_cfg.enc_key.view(), out_cfg.integ_key.view());
        RawEsp rseal(alg, true, out_cfg.enc_key.view(), out_cfg.integ_key.view());
        auto in_sa = make_sa(in_cfg);
        Frame f;
        for (std::size_t i = 0; i < kRing; ++i) {
            f = ring[i];
            uint8_t* e = f.bytes.data() + lay.esp_offset;
            if (!ropen.open(e, lay.payload_len)) fail("raw open refused an engine packet");
            if (std::memcmp(e + 8 + alg.iv_len(), inner.data(), size) != 0)
                fail("raw open gave the wrong plaintext");
            if (!rseal.seal(e, lay.payload_len, i + 1)) fail("raw seal failed");
            if (alg.is_aead() &&
                std::memcmp(f.bytes.data(), ring[i].bytes.data(), kFrameSize) != 0)
                fail("raw seal differs from the engine's packet");
            esp::PacketBuffer b{f.bytes.data(), kFrameSize, lay.outer_offset, lay.outer_len};
            if (!esp::decapsulate(*in_sa, b)) fail("engine refused a raw-sealed packet");
            if (b.length != size || std::memcmp(b.data(), inner.data(), size) != 0)
                fail("engine decapsulation gave the wrong inner packet");
        }
    }
    if (o.check_only) {
        rows.push_back({name, size, "check", 0, 0});
        return;
    }

    Frame work;
    uint8_t* const frame = work.bytes.data();

    // Encrypt. Both sides restore the inner IPv4 header only.
    {
        auto sa = make_sa(out_cfg);
        RawEsp raw(alg, true, out_cfg.enc_key.view(), out_cfg.integ_key.view());
        std::memcpy(frame + kHeadroom, inner.data(), size);
        uint64_t raw_seq = 0;
        auto engine = [&] {
            std::memcpy(frame + kHeadroom, inner.data(), kIpv4HeaderLen);
            esp::PacketBuffer b{frame, kFrameSize, kHeadroom, size};
            return esp::encapsulate(*sa, b, kMtu).status == esp::EncapStatus::ok;
        };
        auto rawf = [&] {
            std::memcpy(frame + kHeadroom, inner.data(), kIpv4HeaderLen);
            uint8_t* e = frame + lay.esp_offset;
            ++raw_seq;
            store32(e, kSpi);
            store32(e + 4, static_cast<uint32_t>(raw_seq));
            return raw.seal(e, lay.payload_len, raw_seq);
        };
        const Pair p = measure(engine, rawf, o);
        rows.push_back({name, size, "encrypt", p.engine, p.raw});
    }

    // Decrypt. Both sides copy a pristine packet from the ring into the frame.
    {
        auto sa = make_sa(in_cfg);
        RawEsp raw(alg, false, out_cfg.enc_key.view(), out_cfg.integ_key.view());
        std::size_t ei = 0, ri = 0;
        auto engine = [&] {
            if (ei == kRing) ei = 0;
            if (ei == 0) sa->set_last_seq(0);  // a fresh window for the next pass
            std::memcpy(frame + lay.outer_offset, ring[ei++].bytes.data() + lay.outer_offset,
                        lay.outer_len);
            esp::PacketBuffer b{frame, kFrameSize, lay.outer_offset, lay.outer_len};
            return static_cast<bool>(esp::decapsulate(*sa, b));
        };
        auto rawf = [&] {
            if (ri == kRing) ri = 0;
            std::memcpy(frame + lay.outer_offset, ring[ri++].bytes.data() + lay.outer_offset,
                        lay.outer_len);
            return raw.open(frame + lay.esp_offset, lay.payload_len);
        };
        const Pair p = measure(engine, rawf, o);
        rows.push_back({name, size, "decrypt", p.engine, p.raw});
    }
}

// ---------------------------------------------------------------- output

double gbps(uint32_t size, double pps) { return pps * size * 8 / 1e9; }

void print_table_header(const Options& o, int cpu) {
    std::printf("ESP engine vs raw OpenSSL EVP (%s), one core%s, tunnel mode IPv4, %u x %.2f s "
                "per side, best kept\n",
                OpenSSL_version(OPENSSL_VERSION),
                cpu >= 0 ? (", pinned to CPU " + std::to_string(cpu)).c_str() : ", not pinned",
                o.rounds, o.seconds);
    std::printf("%-17s %5s  %-7s %13s %13s %6s %9s\n", "alg", "size", "op", "engine pps",
                "raw pps", "ratio", "Gbit/s");
    std::fflush(stdout);
}

void print_row(const Row& r) {
    std::printf("%-17s %5u  %-7s %13.0f %13.0f %6.3f %9.2f\n", r.alg.c_str(), r.size, r.op,
                r.engine_pps, r.raw_pps, r.engine_pps / r.raw_pps, gbps(r.size, r.engine_pps));
    std::fflush(stdout);
}

void print_notes() {
    std::printf(
        "\nsize = inner IPv4/UDP packet; Gbit/s = engine rate x inner bytes.\n"
        "encrypt: engine = encapsulate() (outer IPv4 + ESP, MTU 1500); raw = the same EVP\n"
        "  calls EspCrypto::seal makes on the same bytes. Both restore the 20-byte inner\n"
        "  header per packet; the rest is re-encrypted in place.\n"
        "decrypt: engine = decapsulate() with anti-replay (window 64, restarted every 64\n"
        "  packets: a ring of 64 distinct packets); raw = the EVP calls of EspCrypto::open.\n"
        "  Both copy the pristine ESP packet into the frame first (decryption is in place).\n");
}

void print_json(const std::vector<Row>& rows) {
    std::printf("[");
    for (std::size_t i = 0; i < rows.size(); ++i) {
        const Row& r = rows[i];
        std::printf("%s\n  {\"alg\": \"%s\", \"size\": %u, \"op\": \"%s\", \"engine_pps\": %.0f, "
                    "\"raw_pps\": %.0f, \"ratio\": %.4f, \"engine_gbps\": %.3f, "
                    "\"raw_gbps\": %.3f}",
                    i ? "," : "", r.alg.c_str(), r.size, r.op, r.engine_pps, r.raw_pps,
                    r.engine_pps / r.raw_pps, gbps(r.size, r.engine_pps),
                    gbps(r.size, r.raw_pps));
    }
    std::printf("\n]\n");
}

}  // namespace

int main(int argc, char** argv) {
    const Options o = parse_options(argc, argv);
    std::vector<esp::Algorithm> algs;
    for (const auto& a : o.algs) {
        const auto alg = esp::Algorithm::parse(a);
        if (!alg) die("unknown algorithm " + a);
        algs.push_back(*alg);
    }
    const int cpu = pin_cpu(o.cpu);
    if (o.cpu >= 0 && cpu < 0) die("cannot pin to CPU " + std::to_string(o.cpu));

    std::vector<Row> rows;
    if (o.check_only) {
        for (const auto& alg : algs)
            for (uint32_t size : o.sizes) run_alg(alg, size, o, rows);
        std::printf("esp_bench: engine and raw agree on %zu algorithm/size cells\n", rows.size());
        return 0;
    }
    if (!o.json) print_table_header(o, cpu);
    for (const auto& alg : algs) {
        for (uint32_t size : o.sizes) {
            const std::size_t before = rows.size();
            run_alg(alg, size, o, rows);
            if (!o.json)
                for (std::size_t i = before; i < rows.size(); ++i) print_row(rows[i]);
        }
    }
    if (o.json) print_json(rows);
    else print_notes();
    return 0;
}
