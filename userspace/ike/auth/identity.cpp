#include "ike/auth/identity.h"

#include "esp/ip_address.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <algorithm>
#include <cstdio>
#include <memory>

namespace xdpsec::ike {

namespace {

struct NameFree {
    void operator()(X509_NAME* n) const { X509_NAME_free(n); }
};
using Name = std::unique_ptr<X509_NAME, NameFree>;

// RDN labels as strongSwan writes them; the first label of an attribute is
// the one to_string() prints. Other attributes go by their OpenSSL name or
// dotted OID.
struct RdnLabel {
    std::string_view label;
    int nid;
};
constexpr RdnLabel kRdnLabels[] = {
    {"C", NID_countryName},
    {"ST", NID_stateOrProvinceName},
    {"L", NID_localityName},
    {"O", NID_organizationName},
    {"OU", NID_organizationalUnitName},
    {"CN", NID_commonName},
    {"E", NID_pkcs9_emailAddress},
    {"Email", NID_pkcs9_emailAddress},
    {"emailAddress", NID_pkcs9_emailAddress},
    {"DC", NID_domainComponent},
    {"UID", NID_userId},
    {"serialNumber", NID_serialNumber},
    {"SN", NID_serialNumber},  // strongSwan's meaning, not OpenSSL's surname
    {"S", NID_surname},
    {"G", NID_givenName},
    {"I", NID_initials},
    {"T", NID_title},
    {"D", NID_description},
    {"N", NID_name},
};

constexpr std::size_t kMaxName = 255;
constexpr std::size_t kMaxDnDer = 4096;

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
               return lower(x) == lower(y);
           });
}

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

bool is_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Hostname characters, with '_' which real-world names carry.
bool is_host_text(std::string_view s) {
    if (s.empty() || s.size() > kMaxName) return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return is_alnum(c) || c == '-' || c == '.' || c == '_'; });
}

// ASN.1 PrintableString alphabet (X.680 §41.4).
bool is_printable_string(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        return is_alnum(c) || c == ' ' || c == '\'' || c == '(' || c == ')' || c == '+' ||
               c == ',' || c == '-' || c == '.' || c == '/' || c == ':' || c == '=' || c == '?';
    });
}

// Printable ASCII, as IA5String values and mail addresses need.
bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x20 && u < 0x7f;
    });
}

bool is_utf8(std::string_view s) {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    int left = static_cast<int>(s.size());
    while (left > 0) {
        unsigned long cp = 0;
        const int n = UTF8_getc(p, left, &cp);
        if (n <= 0 || cp < 0x20) return false;
        p += n;
        left -= n;
    }
    return true;
}

int rdn_nid(std::string_view label) {
    for (const auto& l : kRdnLabels)
        if (iequals(l.label, label)) return l.nid;
    const std::string s(label);
    return OBJ_txt2nid(s.c_str());
}

// The ASN.1 string type of a value, as strongSwan chooses it: IA5String for
// mail addresses and domain components, PrintableString where the value
// allows, UTF8String otherwise. -1 when the value cannot be encoded.
int rdn_string_type(int nid, std::string_view value) {
    if (nid == NID_pkcs9_emailAddress || nid == NID_domainComponent)
        return is_ascii(value) ? V_ASN1_IA5STRING : -1;
    if (nid == NID_countryName)
        return value.size() == 2 && is_printable_string(value) ? V_ASN1_PRINTABLESTRING : -1;
    if (is_printable_string(value)) return V_ASN1_PRINTABLESTRING;
    return is_utf8(value) ? V_ASN1_UTF8STRING : -1;
}

// Splits at unescaped `sep`, resolving backslash escapes inside values.
std::optional<std::vector<std::string>> split_rdns(std::string_view text, char sep) {
    std::vector<std::string> parts(1);
    for (std::size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\\') {
            if (++i == text.size()) return std::nullopt;
            parts.back() += text[i];
        } else if (c == sep) {
            parts.emplace_back();
        } else {
            parts.back() += c;
        }
    }
    return parts;
}

std::optional<Bytes> parse_dn(std::string_view text) {
    char sep = ',';
    if (text.front() == '/') {
        sep = '/';
        text.remove_prefix(1);
    }
    const auto parts = split_rdns(text, sep);
    if (!parts) return std::nullopt;
    Name name(X509_NAME_new());
    if (!name) return std::nullopt;
    for (const std::string& part : *parts) {
        const auto eq = part.find('=');
        if (eq == std::string::npos) return std::nullopt;
        const std::string_view label = trim(std::string_view(part).substr(0, eq));
        const std::string_view value = trim(std::string_view(part).substr(eq + 1));
        if (label.empty() || value.empty() || value.size() > kMaxName) return std::nullopt;
        const int nid = rdn_nid(label);
        if (nid == NID_undef) return std::nullopt;
        const int type = rdn_string_type(nid, value);
        if (type < 0) return std::nullopt;
        // loc -1, set 0: append as a new RDN, keeping the order as written.
        if (X509_NAME_add_entry_by_NID(name.get(), nid, type,
                                       reinterpret_cast<const unsigned char*>(value.data()),
                                       static_cast<int>(value.size()), -1, 0) != 1)
            return std::nullopt;
    }
    unsigned char* der = nullptr;
    const int len = i2d_X509_NAME(name.get(), &der);
    if (len <= 0) return std::nullopt;
    Bytes out(der, der + len);
    OPENSSL_free(der);
    if (out.size() > kMaxDnDer) return std::nullopt;
    return out;
}

void append_escaped(std::string& out, std::string_view s, bool escape_dn_specials) {
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", u);
            out += buf;
        } else if (escape_dn_specials && (c == ',' || c == '\\')) {
            out += '\\';
            out += c;
        } else {
            out += c;
        }
    }
}

std::string hex(ByteView b) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    for (const uint8_t x : b) {
        s += kDigits[x >> 4];
        s += kDigits[x & 15];
    }
    return s;
}

std::string rdn_label(const ASN1_OBJECT* obj) {
    const int nid = OBJ_obj2nid(obj);
    if (nid != NID_undef) {
        for (const auto& l : kRdnLabels)
            if (l.nid == nid) return std::string(l.label);
        if (const char* sn = OBJ_nid2sn(nid)) return sn;
    }
    char buf[128];
    const int n = OBJ_obj2txt(buf, sizeof buf, obj, 1);
    return n > 0 && n < static_cast<int>(sizeof buf) ? std::string(buf) : std::string("?");
}

std::optional<std::string> dn_to_string(ByteView der) {
    const unsigned char* p = der.data();
    Name name(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
    if (!name || p != der.data() + der.size()) return std::nullopt;
    std::string out;
    const int count = X509_NAME_entry_count(name.get());
    for (int i = 0; i < count; ++i) {
        const X509_NAME_ENTRY* e = X509_NAME_get_entry(name.get(), i);
        unsigned char* utf8 = nullptr;
        const int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(e));
        if (len < 0) return std::nullopt;
        if (i > 0) out += ", ";
        out += rdn_label(X509_NAME_ENTRY_get_object(e));
        out += '=';
        append_escaped(out, std::string_view(reinterpret_cast<char*>(utf8), len), true);
        OPENSSL_free(utf8);
    }
    return out;
}

std::string_view id_type_name(IdType t) {
    switch (t) {
    case IdType::ipv4_addr: return "ID_IPV4_ADDR";
    case IdType::fqdn: return "ID_FQDN";
    case IdType::rfc822_addr: return "ID_RFC822_ADDR";
    case IdType::ipv6_addr: return "ID_IPV6_ADDR";
    case IdType::der_asn1_dn: return "ID_DER_ASN1_DN";
    case IdType::der_asn1_gn: return "ID_DER_ASN1_GN";
    case IdType::key_id: return "ID_KEY_ID";
    }
    return "ID_?";
}

bool known_id_type(uint8_t t) {
    switch (static_cast<IdType>(t)) {
    case IdType::ipv4_addr:
    case IdType::fqdn:
    case IdType::rfc822_addr:
    case IdType::ipv6_addr:
    case IdType::der_asn1_dn:
    case IdType::der_asn1_gn:
    case IdType::key_id: return true;
    }
    return false;
}

Bytes text_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

}  // namespace

std::optional<Identity> Identity::parse(std::string_view text) {
    text = trim(text);
    if (text.empty()) return std::nullopt;

    if (const auto addr = esp::IpAddress::parse(text)) {
        if (addr->family == 4)
            return Identity{IdType::ipv4_addr, Bytes(addr->bytes.begin(), addr->bytes.begin() + 4)};
        return Identity{IdType::ipv6_addr, Bytes(addr->bytes.begin(), addr->bytes.end())};
    }

    if (text.find('=') != std::string_view::npos) {
        auto der = parse_dn(text);
        if (!der) return std::nullopt;
        return Identity{IdType::der_asn1_dn, std::move(*der)};
    }

    // strongSwan's "@name": an FQDN whatever it looks like ("@192.0.2.1" too).
    if (text.front() == '@') {
        text.remove_prefix(1);
        if (!is_host_text(text)) return std::nullopt;
        return Identity{IdType::fqdn, text_bytes(text)};
    }

    if (const auto at = text.find('@'); at != std::string_view::npos) {
        const std::string_view local = text.substr(0, at);
        const std::string_view domain = text.substr(at + 1);
        const bool local_ok = !local.empty() && local.size() <= 64 && is_ascii(local) &&
                              local.find(' ') == std::string_view::npos;
        if (!local_ok || !is_host_text(domain)) return std::nullopt;
        return Identity{IdType::rfc822_addr, text_bytes(text)};
    }

    // Digits and dots only is a mistyped IPv4 address, not a host name.
    const bool numeric = std::all_of(text.begin(), text.end(),
                                     [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
    if (numeric || !is_host_text(text)) return std::nullopt;
    return Identity{IdType::fqdn, text_bytes(text)};
}

Bytes Identity::body() const {
    Bytes b(4 + data.size(), 0);
    b[0] = static_cast<uint8_t>(type);
    std::copy(data.begin(), data.end(), b.begin() + 4);
    return b;
}

std::optional<Identity> Identity::from_body(ByteView body) {
    if (body.size() < 5 || !known_id_type(body[0])) return std::nullopt;
    return Identity{static_cast<IdType>(body[0]), Bytes(body.begin() + 4, body.end())};
}

bool Identity::equivalent(const Identity& other) const {
    if (type != other.type) return false;
    switch (type) {
    case IdType::der_asn1_dn: {
        auto decode = [](const Bytes& der) {
            const unsigned char* p = der.data();
            Name n(d2i_X509_NAME(nullptr, &p, static_cast<long>(der.size())));
            return p == der.data() + der.size() ? std::move(n) : Name();
        };
        const Name a = decode(data);
        const Name b = decode(other.data);
        const bool same = a && b && X509_NAME_cmp(a.get(), b.get()) == 0;
        ERR_clear_error();
        return same;
    }
    case IdType::fqdn:
    case IdType::rfc822_addr:
        return iequals(std::string_view(reinterpret_cast<const char*>(data.data()), data.size()),
                       std::string_view(reinterpret_cast<const char*>(other.data.data()),
                                        other.data.size()));
    default: return data == other.data;
    }
}

std::string Identity::to_string() const {
    const std::string_view text(reinterpret_cast<const char*>(data.data()), data.size());
    std::string out;
    switch (type) {
    case IdType::ipv4_addr:
    case IdType::ipv6_addr: {
        const std::size_t len = type == IdType::ipv4_addr ? 4 : 16;
        if (data.size() != len) break;
        esp::IpAddress a;
        a.family = type == IdType::ipv4_addr ? 4 : 6;
        std::copy(data.begin(), data.end(), a.bytes.begin());
        return a.to_string();
    }
    case IdType::fqdn:
    case IdType::rfc822_addr:
        append_escaped(out, text, false);
        return out;
    case IdType::der_asn1_dn:
        if (auto dn = dn_to_string(data)) return *dn;
        break;
    case IdType::key_id: return "@#" + hex(data);
    case IdType::der_asn1_gn: break;
    }
    out = id_type_name(type);
    out += ":#";
    out += hex(data);
    return out;
}

}  // namespace xdpsec::ike
