// Certificates, trust and RFC 7427 signatures. The PKI is made at test time
// with the OpenSSL API in a mkdtemp directory that is removed at exit; no
// key is committed. Our signatures are cross-checked by the `openssl`
// command line and by Python's `cryptography`, and signatures made by the
// command line are checked by our code.
#include "ike/auth/certificate.h"
#include "ike/auth/digital_signature.h"
#include "ike/auth/identity.h"
#include "ike/ike_types.h"
#include "test_ike_auth_fixture.h"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace xdpsec::ike;
using test::hex;
using test::text;

namespace {

struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
    void operator()(X509* x) const { X509_free(x); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;


Bytes concat(ByteView a, ByteView b) {
    Bytes r(a.begin(), a.end());
    r.insert(r.end(), b.begin(), b.end());
    return r;
}

void write_file(const std::string& path, ByteView data) {
    std::ofstream f(path, std::ios::binary);
    f.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
}

std::string read_text(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

Bytes read_bytes(const std::string& path) {
    const std::string s = read_text(path);
    return Bytes(s.begin(), s.end());
}

Pkey generate(std::string_view kind) {
    if (kind == "RSA") return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
    if (kind == "ED25519") return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    const std::string curve(kind);
    return Pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", curve.c_str()));
}

struct CertSpec {
    std::vector<std::pair<const char*, const char*>> dn;
    const char* san = nullptr;
    bool ca = false;
    long from_days = -1;
    long to_days = 30;
};

void add_ext(X509* x, X509V3_CTX* ctx, int nid, const char* value) {
    X509_EXTENSION* ext = X509V3_EXT_nconf_nid(nullptr, ctx, nid, value);
    REQUIRE(ext != nullptr);
    REQUIRE(X509_add_ext(x, ext, -1) == 1);
    X509_EXTENSION_free(ext);
}

// Issues a certificate for `key`; self-signed when issuer is null.
Cert issue(EVP_PKEY* key, const CertSpec& spec, X509* issuer, EVP_PKEY* issuer_key) {
    static long serial = 1;
    Cert x(X509_new());
    REQUIRE(x);
    X509_set_version(x.get(), X509_VERSION_3);
    ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++);
    X509_gmtime_adj(X509_getm_notBefore(x.get()), spec.from_days * 86400);
    X509_gmtime_adj(X509_getm_notAfter(x.get()), spec.to_days * 86400);
    X509_set_pubkey(x.get(), key);
    X509_NAME* name = X509_get_subject_name(x.get());
    for (const auto& [field, value] : spec.dn)
        REQUIRE(X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                                           reinterpret_cast<const unsigned char*>(value), -1, -1,
                                           0) == 1);
    X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
    add_ext(x.get(), &ctx, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "CA:FALSE");
    if (spec.ca) add_ext(x.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
    if (spec.san) add_ext(x.get(), &ctx, NID_subject_alt_name, spec.san);
    EVP_PKEY* signer = issuer_key ? issuer_key : key;
    const EVP_MD* md = EVP_PKEY_is_a(signer, "ED25519") ? nullptr : EVP_sha256();
    REQUIRE(X509_sign(x.get(), signer, md) > 0);
    return x;
}

constexpr const char* kLeafSan =
    "DNS:moon.example.org,IP:192.0.2.10,IP:2001:db8::10,email:moon@example.org";
const std::vector<std::pair<const char*, const char*>> kLeafDn = {
    {"C", "CH"}, {"O", "xdpsec test"}, {"CN", "moon-cn.example.org"}};

// One leaf per key type we sign with, and what to cross-check it with.
struct LeafKind {
    const char* name;
    const char* keygen;
    KeyType type;
    uint16_t hash;
    const char* dgst;  // openssl dgst option; nullptr: pkeyutl -rawin (Ed25519)
    const char* py;    // scheme name for the Python checker
};
const LeafKind kLeaves[] = {
    {"rsa", "RSA", KeyType::rsa, hash::sha2_256, "-sha256", "pss-sha256"},
    {"p256", "P-256", KeyType::ecdsa_p256, hash::sha2_256, "-sha256", "ecdsa-sha256"},
    {"p384", "P-384", KeyType::ecdsa_p384, hash::sha2_384, "-sha384", "ecdsa-sha384"},
    {"ed25519", "ED25519", KeyType::ed25519, hash::identity, nullptr, "ed25519"},
};

constexpr const char* kPyVerify = R"(import sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding
cert = x509.load_pem_x509_certificate(open(sys.argv[1], 'rb').read())
data = open(sys.argv[2], 'rb').read()
sig = open(sys.argv[3], 'rb').read()
kind = sys.argv[4]
H = {'sha256': hashes.SHA256(), 'sha384': hashes.SHA384(), 'sha512': hashes.SHA512()}
key = cert.public_key()
if kind.startswith('pss-'):
    h = H[kind[4:]]
    key.verify(sig, data, padding.PSS(mgf=padding.MGF1(h), salt_length=h.digest_size), h)
elif kind.startswith('ecdsa-'):
    key.verify(sig, data, ec.ECDSA(H[kind[6:]]))
elif kind == 'ed25519':
    key.verify(sig, data)
else:
    sys.exit(2)
print('verified')
)";

class Pki {
public:
    Pki() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "xdpsec-auth-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        dir_ = tmpl;

        Pkey root_key = generate("P-256");
        Cert root = issue(root_key.get(),
                          {{{"C", "CH"}, {"O", "xdpsec test"}, {"CN", "xdpsec test root CA"}},
                           nullptr, true, -1, 3650},
                          nullptr, nullptr);
        Pkey inter_key = generate("P-384");
        Cert inter = issue(inter_key.get(),
                           {{{"C", "CH"}, {"O", "xdpsec test"}, {"CN", "xdpsec test sub CA"}},
                            nullptr, true, -1, 365},
                           root.get(), root_key.get());
        Pkey other_key = generate("P-256");
        Cert other = issue(other_key.get(),
                           {{{"C", "DE"}, {"O", "elsewhere"}, {"CN", "other root CA"}}, nullptr,
                            true, -1, 3650},
                           nullptr, nullptr);

        for (const LeafKind& k : kLeaves) {
            Pkey key = generate(k.keygen);
            REQUIRE(key);
            Cert leaf = issue(key.get(), {kLeafDn, kLeafSan}, root.get(), root_key.get());
            save_key(k.name, key.get());
            save_cert(k.name, std::move(leaf));
        }
        Pkey aux = generate("P-256");
        save_key("aux", aux.get());
        save_cert("chain", issue(aux.get(), {{{"CN", "carol.example.org"}}, "DNS:carol.example.org"},
                                 inter.get(), inter_key.get()));
        save_cert("expired", issue(aux.get(), {kLeafDn, kLeafSan, false, -10, -1}, root.get(),
                                   root_key.get()));
        save_cert("stranger", issue(aux.get(), {{{"CN", "dave.example.org"}}, "DNS:dave.example.org"},
                                    other.get(), other_key.get()));
        save_cert("nosan", issue(aux.get(), {kLeafDn}, root.get(), root_key.get()));

        // A key type we do not support, and a passphrase-protected key.
        Pkey p521 = generate("P-521");
        save_key("p521", p521.get());
        FILE* f = std::fopen(path("encrypted.key").c_str(), "w");
        REQUIRE(f);
        static const char kPass[] = "passphrase";
        PEM_write_PrivateKey(f, aux.get(), EVP_aes_128_cbc(),
                             reinterpret_cast<const unsigned char*>(kPass), 10, nullptr, nullptr);
        std::fclose(f);

        save_cert("root", std::move(root));
        save_cert("inter", std::move(inter));
        save_cert("other", std::move(other));
        write_file(path("bundle.pem"),
                   text(read_text(path("other.pem")) + read_text(path("root.pem"))));
        write_file(path("verify.py"), text(kPyVerify));
    }
    ~Pki() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    Pki(const Pki&) = delete;
    Pki& operator=(const Pki&) = delete;

    std::string path(const std::string& file) const { return dir_ + "/" + file; }
    X509* x509(const std::string& name) const { return certs_.at(name).get(); }

    Certificate cert(const std::string& name) const {
        std::string error;
        auto c = Certificate::load_pem_file(path(name + ".pem"), &error);
        INFO(error);
        REQUIRE(c);
        return std::move(*c);
    }
    PrivateKey key(const std::string& name) const {
        std::string error;
        auto k = PrivateKey::load_pem_file(path(name + ".key"), &error);
        INFO(error);
        REQUIRE(k);
        return std::move(*k);
    }
    TrustStore store(const std::string& pem) const {
        TrustStore s;
        std::string error;
        INFO(error);
        REQUIRE(s.add_pem_file(path(pem), &error));
        return s;
    }

    // Runs a shell command with its output in a file; returns the exit code.
    int run(const std::string& command, std::string* output = nullptr) const {
        const std::string out = path("cmd.out");
        const int status = std::system((command + " >" + out + " 2>&1").c_str());
        if (output != nullptr) *output = read_text(out);
        return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }

private:
    void save_cert(const std::string& name, Cert x) {
        FILE* f = std::fopen(path(name + ".pem").c_str(), "w");
        REQUIRE(f);
        PEM_write_X509(f, x.get());
        std::fclose(f);
        certs_[name] = std::move(x);
    }
    void save_key(const std::string& name, EVP_PKEY* key) {
        FILE* f = std::fopen(path(name + ".key").c_str(), "w");
        REQUIRE(f);
        PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
        std::fclose(f);
        f = std::fopen(path(name + ".pub").c_str(), "w");
        REQUIRE(f);
        PEM_write_PUBKEY(f, key);
        std::fclose(f);
    }

    std::string dir_;
    std::map<std::string, Cert> certs_;
};

const Pki& pki() {
    static const Pki instance;
    return instance;
}

const Bytes& octets() {
    static const Bytes o = [] {
        Bytes b;
        for (int i = 0; i < 200; ++i) b.push_back(static_cast<uint8_t>(i * 31 + 7));
        return b;
    }();
    return o;
}

// The AlgorithmIdentifier and the signature value of AUTH data.
std::pair<Bytes, Bytes> split_auth(ByteView auth) {
    REQUIRE(auth.size() > 1);
    const std::size_t n = auth[0];
    REQUIRE(auth.size() > 1 + n);
    return {Bytes(auth.begin() + 1, auth.begin() + 1 + static_cast<long>(n)),
            Bytes(auth.begin() + 1 + static_cast<long>(n), auth.end())};
}

Bytes make_auth(ByteView alg_id, ByteView signature) {
    Bytes a{static_cast<uint8_t>(alg_id.size())};
    a.insert(a.end(), alg_id.begin(), alg_id.end());
    a.insert(a.end(), signature.begin(), signature.end());
    return a;
}

// RFC 7427 App. A.4.3, RSASSA-PSS with SHA-256 (MGF1-SHA-256, salt 32): the
// 67 bytes also appear, in the same DER, as the algorithm of Chromium's
// rsa-pss-sha256-using-pss-key-with-params.pem test key.
constexpr std::string_view kRfc7427PssSha256 =
    "304106092a864886f70d01010a3034a00f300d06096086480165030402010500a11c301a06092a864886f70d0101"
    "08300d06096086480165030402010500a203020120";
// RFC 7427 App. A: sha256WithRSAEncryption, ecdsa-with-SHA256/384, and
// RSASSA-PSS with empty parameters (A.4.1, i.e. SHA-1 defaults);
// sha1WithRSAEncryption stands for an algorithm we never take.
constexpr std::string_view kSha256WithRsa = "300d06092a864886f70d01010b0500";
constexpr std::string_view kEcdsaSha256 = "300a06082a8648ce3d040302";
constexpr std::string_view kEcdsaSha384 = "300a06082a8648ce3d040303";
constexpr std::string_view kPssNoParams = "300b06092a864886f70d01010a";
constexpr std::string_view kSha1WithRsa = "300d06092a864886f70d0101050500";

}  // namespace

TEST_CASE("ike auth cert: private keys load with their type") {
    for (const LeafKind& k : kLeaves) {
        CAPTURE(k.name);
        CHECK(pki().key(k.name).type() == k.type);
        CHECK(pki().cert(k.name).key_type() == k.type);
    }
    std::string error;
    CHECK_FALSE(PrivateKey::load_pem_file(pki().path("p521.key"), &error));
    CHECK(error.find("unsupported key type") != std::string::npos);
    error.clear();
    CHECK_FALSE(PrivateKey::load_pem_file(pki().path("encrypted.key"), &error));
    CHECK(error.find("no unencrypted PEM private key") != std::string::npos);
    error.clear();
    CHECK_FALSE(PrivateKey::load_pem_file(pki().path("root.pem"), &error));
    CHECK_FALSE(error.empty());
    error.clear();
    CHECK_FALSE(PrivateKey::load_pem_file(pki().path("missing.key"), &error));
    CHECK(error.find("cannot open") != std::string::npos);
}

TEST_CASE("ike auth cert: certificates load from PEM and DER") {
    const Certificate c = pki().cert("p256");
    unsigned char* der = nullptr;
    const int len = i2d_X509(pki().x509("p256"), &der);
    REQUIRE(len > 0);
    const Bytes expected(der, der + len);
    OPENSSL_free(der);
    CHECK(c.der() == expected);

    std::string error;
    auto again = Certificate::from_der(expected, &error);
    REQUIRE(again);
    CHECK(again->der() == expected);

    unsigned char* name_der = nullptr;
    const int name_len = i2d_X509_NAME(X509_get_subject_name(pki().x509("p256")), &name_der);
    REQUIRE(name_len > 0);
    CHECK(c.subject_der() == Bytes(name_der, name_der + name_len));
    OPENSSL_free(name_der);
    CHECK(c.subject() == "C=CH, O=xdpsec test, CN=moon-cn.example.org");

    CHECK_FALSE(Certificate::from_der(concat(expected, Bytes{0}), &error));
    CHECK(error == "malformed DER certificate");
    CHECK_FALSE(Certificate::from_der(ByteView(expected).first(100), &error));
    CHECK_FALSE(Certificate::from_der({}, &error));
    CHECK_FALSE(Certificate::load_pem_file(pki().path("p256.key"), &error));
    CHECK(error.find("no PEM certificate") != std::string::npos);
    CHECK_FALSE(Certificate::load_pem_file(pki().path("missing.pem"), &error));
}

TEST_CASE("ike auth cert: identities a certificate proves") {
    const Certificate c = pki().cert("rsa");
    auto id = [](const char* s) {
        auto i = Identity::parse(s);
        REQUIRE(i);
        return *i;
    };
    auto proves = [&](const char* s) {
        const Identity i = id(s);
        return c.matches(i.type, i.data);
    };
    CHECK(proves("192.0.2.10"));
    CHECK_FALSE(proves("192.0.2.11"));
    CHECK(proves("2001:db8::10"));
    CHECK_FALSE(proves("2001:db8::11"));
    CHECK(proves("moon.example.org"));
    CHECK(proves("@MOON.Example.org"));
    CHECK_FALSE(proves("sun.example.org"));
    // The subject CN is no subjectAltName.
    CHECK_FALSE(proves("moon-cn.example.org"));
    CHECK(proves("moon@example.org"));
    CHECK_FALSE(proves("sun@example.org"));
    // The certificate's DN has UTF8String values, ours PrintableString: the
    // comparison is by canonical form, as X509_NAME_cmp does it.
    CHECK(proves("C=CH, O=xdpsec test, CN=moon-cn.example.org"));
    CHECK(proves("C=CH, O=XDPSEC  test, CN=moon-cn.example.org"));
    CHECK_FALSE(proves("C=CH, O=xdpsec test, CN=moon.example.org"));
    CHECK_FALSE(proves("CN=moon-cn.example.org, O=xdpsec test, C=CH"));

    // An address does not match a name of the same bytes, nor a short one.
    CHECK_FALSE(c.matches(IdType::fqdn, Bytes{192, 0, 2, 10}));
    CHECK_FALSE(c.matches(IdType::ipv4_addr, Bytes{192, 0, 2}));
    CHECK_FALSE(c.matches(IdType::ipv6_addr, Bytes{192, 0, 2, 10}));
    CHECK_FALSE(c.matches(IdType::der_asn1_dn, Bytes{0x30, 0x03, 0x31}));
    CHECK_FALSE(c.matches(IdType::key_id, text("moon.example.org")));
    CHECK_FALSE(c.matches(IdType::fqdn, {}));

    const Certificate nosan = pki().cert("nosan");
    CHECK_FALSE(nosan.matches(IdType::fqdn, text("moon.example.org")));
    CHECK(nosan.matches(IdType::der_asn1_dn, id("C=CH, O=xdpsec test, CN=moon-cn.example.org").data));
}

TEST_CASE("ike auth cert: chain verification") {
    const TrustStore roots = pki().store("root.pem");
    CHECK(roots.size() == 1);
    std::string error;
    CHECK(roots.verify(pki().cert("p256"), {}, &error));
    CHECK(error.empty());

    std::vector<Certificate> intermediates;
    intermediates.push_back(pki().cert("inter"));
    CHECK(roots.verify(pki().cert("chain"), intermediates, &error));

    // Without the intermediate the issuer is unknown.
    CHECK_FALSE(roots.verify(pki().cert("chain"), {}, &error));
    CHECK(error.find("unknown issuer") != std::string::npos);
    CHECK(error.find("CN=carol.example.org") != std::string::npos);

    CHECK_FALSE(roots.verify(pki().cert("stranger"), {}, &error));
    CHECK(error.find("unknown issuer") != std::string::npos);

    CHECK_FALSE(roots.verify(pki().cert("expired"), {}, &error));
    CHECK(error.find("certificate expired") != std::string::npos);

    // A bundle with several anchors.
    const TrustStore both = pki().store("bundle.pem");
    CHECK(both.size() == 2);
    CHECK(both.verify(pki().cert("stranger"), {}, &error));
    CHECK(both.verify(pki().cert("ed25519"), {}, &error));

    const TrustStore others = pki().store("other.pem");
    CHECK_FALSE(others.verify(pki().cert("rsa"), {}, &error));
    CHECK(error.find("unknown issuer") != std::string::npos);

    TrustStore empty;
    CHECK_FALSE(empty.verify(pki().cert("rsa"), {}, &error));
    CHECK(error == "no trusted CA configured");
    CHECK_FALSE(empty.add_pem_file(pki().path("rsa.key"), &error));
    CHECK_FALSE(empty.add_pem_file(pki().path("missing.pem"), &error));
    CHECK(empty.add(pki().cert("other"), &error));
    CHECK(empty.verify(pki().cert("stranger"), {}, &error));
}

TEST_CASE("ike auth cert: sign and verify with each key type") {
    for (const LeafKind& k : kLeaves) {
        CAPTURE(k.name);
        const PrivateKey key = pki().key(k.name);
        const Certificate cert = pki().cert(k.name);
        std::string error;
        const Bytes auth = sign_digital_signature(key, octets(), k.hash, &error);
        INFO(error);
        REQUIRE(!auth.empty());
        CHECK(verify_digital_signature(cert, auth, octets(), &error));

        Bytes octets2 = octets();
        octets2[100] ^= 0x04;
        CHECK_FALSE(verify_digital_signature(cert, auth, octets2, &error));
        CHECK(error == "signature does not verify");

        const std::size_t sig_at = 1 + auth[0];
        for (const std::size_t at : {sig_at, sig_at + 10, auth.size() - 1}) {
            Bytes flipped = auth;
            flipped[at] ^= 0x01;
            CHECK_FALSE(verify_digital_signature(cert, flipped, octets(), &error));
        }
        CHECK_FALSE(verify_digital_signature(cert, ByteView(auth).first(auth.size() - 1),
                                             octets(), &error));
    }
}

TEST_CASE("ike auth cert: a signature does not verify under another key") {
    std::string error;
    const Bytes rsa_auth =
        sign_digital_signature(pki().key("rsa"), octets(), hash::sha2_256, &error);
    const Bytes p256_auth =
        sign_digital_signature(pki().key("p256"), octets(), hash::sha2_256, &error);
    const Bytes ed_auth =
        sign_digital_signature(pki().key("ed25519"), octets(), hash::identity, &error);
    REQUIRE(!rsa_auth.empty());
    REQUIRE(!p256_auth.empty());
    REQUIRE(!ed_auth.empty());

    CHECK_FALSE(verify_digital_signature(pki().cert("p256"), rsa_auth, octets(), &error));
    CHECK(error == "signature algorithm RSASSA-PSS does not fit the certificate's ECDSA P-256 key");
    CHECK_FALSE(verify_digital_signature(pki().cert("rsa"), p256_auth, octets(), &error));
    CHECK(error.find("does not fit") != std::string::npos);
    CHECK_FALSE(verify_digital_signature(pki().cert("rsa"), ed_auth, octets(), &error));
    CHECK(error.find("does not fit") != std::string::npos);
    CHECK_FALSE(verify_digital_signature(pki().cert("p384"), ed_auth, octets(), &error));
    // Same scheme, other key: the curve differs, or just the key.
    CHECK_FALSE(verify_digital_signature(pki().cert("p384"), p256_auth, octets(), &error));
    CHECK_FALSE(verify_digital_signature(pki().cert("chain"), p256_auth, octets(), &error));
    CHECK(error == "signature does not verify");
}

TEST_CASE("ike auth cert: AlgorithmIdentifiers that do not fit the signature") {
    std::string error;
    const auto [pss_alg, pss_sig] =
        split_auth(sign_digital_signature(pki().key("rsa"), octets(), hash::sha2_256, &error));
    const auto [ec_alg, ec_sig] =
        split_auth(sign_digital_signature(pki().key("p256"), octets(), hash::sha2_256, &error));
    const Certificate rsa = pki().cert("rsa");
    const Certificate p256 = pki().cert("p256");

    // Each signature under its own AlgorithmIdentifier first.
    CHECK(verify_digital_signature(rsa, make_auth(pss_alg, pss_sig), octets(), &error));
    CHECK(verify_digital_signature(p256, make_auth(ec_alg, ec_sig), octets(), &error));

    // The key cannot use the algorithm.
    CHECK_FALSE(verify_digital_signature(p256, make_auth(pss_alg, ec_sig), octets(), &error));
    CHECK(error.find("does not fit") != std::string::npos);
    CHECK_FALSE(verify_digital_signature(rsa, make_auth(ec_alg, pss_sig), octets(), &error));
    CHECK(error.find("does not fit") != std::string::npos);

    // The key can, but the signature was made otherwise.
    CHECK_FALSE(verify_digital_signature(p256, make_auth(hex(kEcdsaSha384), ec_sig), octets(),
                                         &error));
    CHECK(error == "signature does not verify");
    CHECK_FALSE(verify_digital_signature(rsa, make_auth(hex(kSha256WithRsa), pss_sig),
                                         octets(), &error));
    CHECK(error == "signature does not verify");
    Bytes pss384 = pss_alg;
    pss384[29] = 0x02;  // hashAlgorithm SHA-384, MGF1 still SHA-256
    CHECK_FALSE(verify_digital_signature(rsa, make_auth(pss384, pss_sig), octets(), &error));
    CHECK(error.find("MGF1") != std::string::npos);
    Bytes salt20 = pss_alg;
    salt20.back() = 20;
    CHECK_FALSE(verify_digital_signature(rsa, make_auth(salt20, pss_sig), octets(), &error));
    CHECK(error == "signature does not verify");

    // Algorithms we do not take at all, and malformed AUTH data.
    CHECK_FALSE(verify_digital_signature(rsa, make_auth(hex(kPssNoParams), pss_sig), octets(),
                                         &error));
    CHECK(error.find("SHA-1") != std::string::npos);
    CHECK_FALSE(verify_digital_signature(rsa, make_auth(hex(kSha1WithRsa), pss_sig), octets(),
                                         &error));
    CHECK(error == "unsupported signature algorithm 1.2.840.113549.1.1.5");
    Bytes truncated_alg(pss_alg.begin(), pss_alg.end() - 1);
    CHECK_FALSE(verify_digital_signature(rsa, make_auth(truncated_alg, pss_sig), octets(), &error));
    CHECK(error == "malformed AlgorithmIdentifier");
    CHECK_FALSE(verify_digital_signature(rsa, Bytes{}, octets(), &error));
    CHECK_FALSE(verify_digital_signature(rsa, Bytes{0x05, 1, 2, 3}, octets(), &error));
    CHECK(error == "AlgorithmIdentifier length exceeds the AUTH data");
    CHECK_FALSE(verify_digital_signature(rsa, Bytes{0x00, 1, 2, 3}, octets(), &error));
    CHECK_FALSE(verify_digital_signature(rsa, make_auth(pss_alg, {}), octets(), &error));
}

TEST_CASE("ike auth cert: the hash must fit the key when signing") {
    std::string error;
    CHECK(sign_digital_signature(pki().key("p256"), octets(), hash::sha2_384, &error).empty());
    CHECK(error == "hash algorithm 3 does not fit a ECDSA P-256 key");
    CHECK(sign_digital_signature(pki().key("p384"), octets(), hash::sha2_256, &error).empty());
    CHECK(sign_digital_signature(pki().key("ed25519"), octets(), hash::sha2_256, &error).empty());
    CHECK(sign_digital_signature(pki().key("rsa"), octets(), hash::identity, &error).empty());
    CHECK(sign_digital_signature(pki().key("rsa"), octets(), 1 /* SHA-1 */, &error).empty());
}

TEST_CASE("ike auth cert: hash algorithm negotiation") {
    CHECK(supported_hash_algorithms() == std::vector<uint16_t>{2, 3, 4, 5});
    const std::vector<uint16_t> all = {2, 3, 4, 5};
    const std::vector<uint16_t> big = {4, 3};
    const std::vector<uint16_t> only256 = {2};
    const std::vector<uint16_t> sha1 = {1};
    CHECK(hash_for_key(pki().key("rsa"), all) == hash::sha2_256);
    CHECK(hash_for_key(pki().key("rsa"), big) == hash::sha2_384);
    CHECK_FALSE(hash_for_key(pki().key("rsa"), sha1));
    CHECK(hash_for_key(pki().key("p256"), all) == hash::sha2_256);
    CHECK_FALSE(hash_for_key(pki().key("p256"), big));
    CHECK(hash_for_key(pki().key("p384"), all) == hash::sha2_384);
    CHECK_FALSE(hash_for_key(pki().key("p384"), only256));
    CHECK(hash_for_key(pki().key("ed25519"), all) == hash::identity);
    CHECK_FALSE(hash_for_key(pki().key("ed25519"), only256));
    CHECK_FALSE(hash_for_key(pki().key("ed25519"), {}));
}

TEST_CASE("ike auth cert: AlgorithmIdentifiers on the wire") {
    std::string error;
    const Bytes auth = sign_digital_signature(pki().key("rsa"), octets(), hash::sha2_256, &error);
    REQUIRE(auth.size() > 68);
    CHECK(auth[0] == 67);
    CHECK(Bytes(auth.begin() + 1, auth.begin() + 68) == hex(kRfc7427PssSha256));
    CHECK(split_auth(sign_digital_signature(pki().key("p256"), octets(), hash::sha2_256, &error))
              .first == hex(kEcdsaSha256));
    CHECK(split_auth(sign_digital_signature(pki().key("p384"), octets(), hash::sha2_384, &error))
              .first == hex(kEcdsaSha384));

    // The rest through `openssl asn1parse`.
    struct Expect {
        const char* key;
        uint16_t hash;
        std::vector<const char*> words;
    };
    const Expect expects[] = {
        {"rsa", hash::sha2_384, {":rsassaPss", ":sha384", ":mgf1", "INTEGER           :30"}},
        {"rsa", hash::sha2_512, {":rsassaPss", ":sha512", ":mgf1", "INTEGER           :40"}},
        {"rsa", hash::sha2_256, {":rsassaPss", ":sha256", ":mgf1", "INTEGER           :20"}},
        {"ed25519", hash::identity, {":ED25519"}},
    };
    for (const Expect& e : expects) {
        CAPTURE(e.key);
        CAPTURE(e.hash);
        const auto [alg, sig] = split_auth(sign_digital_signature(pki().key(e.key), octets(), e.hash, &error));
        write_file(pki().path("alg.der"), alg);
        std::string out;
        REQUIRE(pki().run("openssl asn1parse -inform DER -in " + pki().path("alg.der"), &out) == 0);
        CAPTURE(out);
        for (const char* w : e.words) CHECK(out.find(w) != std::string::npos);
        CHECK(out.find("error") == std::string::npos);
    }
}

TEST_CASE("ike auth cert: our signatures verify with openssl and python cryptography") {
    const Pki& p = pki();
    for (const LeafKind& k : kLeaves) {
        CAPTURE(k.name);
        std::string error;
        const auto [alg, sig] =
            split_auth(sign_digital_signature(p.key(k.name), octets(), k.hash, &error));
        write_file(p.path("data.bin"), octets());
        write_file(p.path("sig.bin"), sig);
        Bytes other = octets();
        other[0] ^= 1;
        write_file(p.path("other.bin"), other);

        for (const char* data : {"data.bin", "other.bin"}) {
            const bool genuine = std::string_view(data) == "data.bin";
            std::string cmd;
            if (k.dgst != nullptr) {
                cmd = std::string("openssl dgst ") + k.dgst + " -verify " + p.path(std::string(k.name) + ".pub") +
                      " -signature " + p.path("sig.bin");
                if (k.type == KeyType::rsa)
                    cmd += " -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:32"
                           " -sigopt rsa_mgf1_md:sha256";
                cmd += " " + p.path(data);
            } else {
                cmd = "openssl pkeyutl -verify -pubin -inkey " + p.path(std::string(k.name) + ".pub") +
                      " -rawin -in " + p.path(data) + " -sigfile " + p.path("sig.bin");
            }
            std::string out;
            CAPTURE(cmd);
            CHECK((p.run(cmd, &out) == 0) == genuine);
            CAPTURE(out);
            if (genuine) CHECK(out.find("Verified") != std::string::npos);

            const std::string py = "/usr/bin/python3 " + p.path("verify.py") + " " +
                                   p.path(std::string(k.name) + ".pem") + " " + p.path(data) + " " +
                                   p.path("sig.bin") + " " + k.py;
            CAPTURE(py);
            CHECK((p.run(py, &out) == 0) == genuine);
        }
    }
}

TEST_CASE("ike auth cert: openssl's signatures verify with our code") {
    const Pki& p = pki();
    write_file(p.path("data.bin"), octets());
    std::string error;
    struct Case {
        const char* key;
        std::string options;
        std::string_view alg_hex;
    };
    // RSASSA-PSS SHA-384 is built from the A.4.3 blob with the SHA-384 arc
    // and salt 48; PKCS#1 v1.5 is verification only.
    const std::string pss384 =
        "304106092a864886f70d01010a3034a00f300d06096086480165030402020500a11c301a06092a864886f70d"
        "010108300d06096086480165030402020500a203020130";
    const Case cases[] = {
        {"rsa",
         "-sha384 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:48 -sigopt rsa_mgf1_md:sha384",
         pss384},
        {"rsa", "-sha256", kSha256WithRsa},
        {"rsa", "-sha512", "300d06092a864886f70d01010d0500"},
        {"p256", "-sha256", kEcdsaSha256},
        {"p384", "-sha384", kEcdsaSha384},
    };
    for (const Case& c : cases) {
        CAPTURE(c.key);
        CAPTURE(c.options);
        const std::string cmd = "openssl dgst " + c.options + " -sign " +
                                p.path(std::string(c.key) + ".key") + " -out " + p.path("cli.sig") +
                                " " + p.path("data.bin");
        REQUIRE(p.run(cmd) == 0);
        const Bytes sig = read_bytes(p.path("cli.sig"));
        REQUIRE(!sig.empty());
        const Bytes auth = make_auth(hex(c.alg_hex), sig);
        CHECK(verify_digital_signature(p.cert(c.key), auth, octets(), &error));
        Bytes other = octets();
        other.back() ^= 0x80;
        CHECK_FALSE(verify_digital_signature(p.cert(c.key), auth, other, &error));
    }

    REQUIRE(p.run("openssl pkeyutl -sign -inkey " + p.path("ed25519.key") + " -rawin -in " +
                  p.path("data.bin") + " -out " + p.path("cli.sig")) == 0);
    const Bytes auth = make_auth(hex("300506032b6570"), read_bytes(p.path("cli.sig")));
    CHECK(verify_digital_signature(p.cert("ed25519"), auth, octets(), &error));
}
