#include "ike/message/payloads.h"

#include "ike/message/wire.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <optional>

namespace xdpsec::ike {

namespace {

using Kind = DecodeError::Kind;
using wire::Reader;
using wire::Writer;

// A failure inside one payload body; decode_body adds the payload type.
struct Failure {
    Kind kind;
    std::string detail;
};
using Status = std::optional<Failure>;

Failure bad_length(std::string detail) { return {Kind::bad_length, std::move(detail)}; }
Failure bad_syntax(std::string detail) { return {Kind::invalid_syntax, std::move(detail)}; }

std::string num(std::size_t v) { return std::to_string(v); }

// Bodies with a fixed part in front: its size, checked before any read.
Status need_fixed(ByteView body, std::size_t fixed, const char* fields) {
    if (body.size() >= fixed) return std::nullopt;
    return bad_length("body of " + num(body.size()) + " bytes is shorter than its " + num(fixed) +
                      " fixed bytes (" + fields + ")");
}

std::string protocol_name(ProtocolId p) {
    switch (p) {
    case ProtocolId::none: return "none";
    case ProtocolId::ike: return "IKE";
    case ProtocolId::ah: return "AH";
    case ProtocolId::esp: return "ESP";
    }
    return "protocol " + num(static_cast<uint8_t>(p));
}

// One codec per payload body: the payload types that carry it, encode,
// decode (framing: the lengths and counts of the layout) and verify (the
// semantic rules of its RFC section, run after decode and before encode).
template <class P>
struct Codec;

// ---------------------------------------------------------------------------
// RFC 7296 §3.3 Security Association payload: a list of Proposals.
//
// §3.3.1 Proposal substructure
//   | Last Substruc (0 last, 2 more) | RESERVED | Proposal Length (2)       |
//   | Proposal Num | Protocol ID | SPI Size | Num Transforms               |
//   ~ SPI (SPI Size bytes) ~ <Transforms> ~
//
// §3.3.2 Transform substructure
//   | Last Substruc (0 last, 3 more) | RESERVED | Transform Length (2)      |
//   | Transform Type | RESERVED | Transform ID (2)                         |
//   ~ Transform Attributes ~
//
// §3.3.5 Data attribute: | A F + Attribute Type (15 bits) | Length or Value (2) |
//   AF=1: TV, the value is the second field; AF=0: TLV, Length value bytes
//   follow. Key Length (14) MUST be TV.
// ---------------------------------------------------------------------------
constexpr uint8_t kMoreProposals = 2;
constexpr uint8_t kMoreTransforms = 3;
constexpr uint16_t kAttrFormatTv = 0x8000;

Status decode_attributes(ByteView attrs, TransformWire* t) {
    Reader r(attrs);
    while (!r.empty()) {
        if (r.remaining() < 4) return bad_length("transform attribute truncated");
        const uint16_t af_type = r.u16();
        const uint16_t value = r.u16();
        const uint16_t type = af_type & 0x7fff;
        const bool tv = af_type & kAttrFormatTv;
        if (!tv) {
            if (value > r.remaining())
                return bad_length("transform attribute " + num(type) + " length " + num(value) +
                                  " runs past its transform");
            r.skip(value);
        }
        if (type != kAttrKeyLength) {
            t->unknown_attribute = true;
            continue;
        }
        if (!tv) return bad_syntax("Key Length attribute in TLV format; §3.3.5 requires TV (AF=1)");
        if (t->key_bits) return bad_syntax("transform carries two Key Length attributes");
        if (value == 0) return bad_syntax("Key Length attribute of 0 bits");
        t->key_bits = value;
    }
    return std::nullopt;
}

Status decode_transforms(ByteView area, std::size_t count, Proposal* p) {
    Reader r(area);
    const std::string where = "proposal " + num(p->number);
    for (std::size_t i = 0; i < count; ++i) {
        if (r.remaining() < 8)
            return bad_length(where + ": transform " + num(i + 1) + " of " + num(count) +
                              " missing or truncated");
        const uint8_t last = r.u8();
        r.skip(1);
        const uint16_t len = r.u16();
        if (len < 8 || len - 4u > r.remaining())
            return bad_length(where + ": transform " + num(i + 1) + " length " + num(len) +
                              " does not fit its proposal");
        const uint8_t expect_last = i + 1 == count ? 0 : kMoreTransforms;
        if (last != expect_last)
            return bad_syntax(where + ": transform " + num(i + 1) + " of " + num(count) +
                              " has Last Substruc " + num(last) + ", expected " + num(expect_last));
        TransformWire t;
        t.type = static_cast<TransformType>(r.u8());
        r.skip(1);
        t.id = r.u16();
        if (auto f = decode_attributes(r.view(len - 8u), &t)) {
            f->detail = where + ": " + f->detail;
            return f;
        }
        p->transforms.push_back(t);
    }
    if (!r.empty())
        return bad_length(where + ": " + num(r.remaining()) + " bytes after its " + num(count) +
                          " transforms");
    return std::nullopt;
}

template <>
struct Codec<SaPayload> {
    static constexpr std::array types{PayloadType::sa};

    static void encode(const SaPayload& sa, Writer& w) {
        for (std::size_t i = 0; i < sa.proposals.size(); ++i) {
            const Proposal& p = sa.proposals[i];
            const std::size_t start = w.size();
            w.u8(i + 1 == sa.proposals.size() ? 0 : kMoreProposals);
            w.u8(0);
            w.u16(0);
            w.u8(p.number);
            w.u8(static_cast<uint8_t>(p.protocol));
            w.u8(static_cast<uint8_t>(p.spi.size()));
            w.u8(static_cast<uint8_t>(p.transforms.size()));
            w.bytes(p.spi);
            for (std::size_t j = 0; j < p.transforms.size(); ++j) {
                const TransformWire& t = p.transforms[j];
                w.u8(j + 1 == p.transforms.size() ? 0 : kMoreTransforms);
                w.u8(0);
                w.u16(t.key_bits ? 12 : 8);
                w.u8(static_cast<uint8_t>(t.type));
                w.u8(0);
                w.u16(t.id);
                if (t.key_bits) {
                    w.u16(kAttrFormatTv | kAttrKeyLength);
                    w.u16(t.key_bits);
                }
            }
            w.patch16(start + 2, w.size() - start);
        }
    }

    static Status decode(ByteView body, SaPayload* sa) {
        Reader r(body);
        if (r.empty()) return bad_syntax("SA payload without proposals");
        bool last_seen = false;
        while (!r.empty()) {
            if (last_seen) return bad_length(num(r.remaining()) + " bytes after the last proposal");
            if (sa->proposals.size() == kMaxProposals)
                return bad_syntax("more than " + num(kMaxProposals) + " proposals");
            const std::string where = "proposal " + num(sa->proposals.size() + 1);
            if (r.remaining() < 8) return bad_length(where + " header truncated");
            const uint8_t last = r.u8();
            r.skip(1);
            const uint16_t len = r.u16();
            if (len < 8 || len - 4u > r.remaining())
                return bad_length(where + " length " + num(len) + " does not fit the SA payload");
            if (last != 0 && last != kMoreProposals)
                return bad_syntax(where + " has Last Substruc " + num(last) + ", expected 0 or 2");
            last_seen = last == 0;
            Proposal p;
            p.number = r.u8();
            p.protocol = static_cast<ProtocolId>(r.u8());
            const uint8_t spi_size = r.u8();
            const uint8_t count = r.u8();
            if (spi_size > len - 8u)
                return bad_length(where + " SPI Size " + num(spi_size) + " exceeds its length " +
                                  num(len));
            if (count > kMaxTransforms)
                return bad_syntax(where + " has " + num(count) + " transforms, at most " +
                                  num(kMaxTransforms) + " accepted");
            p.spi = r.bytes(spi_size);
            if (auto f = decode_transforms(r.view(len - 8u - spi_size), count, &p)) return f;
            sa->proposals.push_back(std::move(p));
        }
        if (!last_seen) return bad_syntax("last proposal has Last Substruc 2 (more follow)");
        return std::nullopt;
    }

    static std::string verify(const SaPayload& sa) {
        if (sa.proposals.empty()) return "SA payload without proposals";
        if (sa.proposals.size() > kMaxProposals)
            return num(sa.proposals.size()) + " proposals, at most " + num(kMaxProposals);
        for (std::size_t i = 0; i < sa.proposals.size(); ++i) {
            const Proposal& p = sa.proposals[i];
            const std::string where = "proposal " + num(p.number);
            // §3.3.1: numbering starts at 1 and counts up by one; a single
            // accepted proposal keeps the number it was offered with.
            if (p.number == 0) return "proposal number 0 (numbers start at 1, §3.3.1)";
            if (i == 0 && sa.proposals.size() > 1 && p.number != 1)
                return "first proposal numbered " + num(p.number) + ", must be 1 (§3.3.1)";
            if (i > 0 && p.number != sa.proposals[i - 1].number + 1)
                return where + " follows proposal " + num(sa.proposals[i - 1].number) +
                       "; numbers must increase by one (§3.3.1)";
            switch (p.protocol) {
            case ProtocolId::ike:
                if (!p.spi.empty() && p.spi.size() != 8)
                    return where + ": IKE SPI of " + num(p.spi.size()) + " bytes, must be 0 or 8";
                break;
            case ProtocolId::ah:
            case ProtocolId::esp:
                if (p.spi.size() != 4)
                    return where + ": " + protocol_name(p.protocol) + " SPI of " +
                           num(p.spi.size()) + " bytes, must be 4";
                break;
            default: return where + ": Protocol ID " + protocol_name(p.protocol) + " is invalid";
            }
            if (p.transforms.empty()) return where + " has no transforms";
            if (p.transforms.size() > kMaxTransforms)
                return where + " has " + num(p.transforms.size()) + " transforms, at most " +
                       num(kMaxTransforms);
            for (const TransformWire& t : p.transforms)
                if (t.key_bits && t.type != TransformType::encr)
                    return where + ": Key Length attribute on transform type " +
                           num(static_cast<uint8_t>(t.type)) + " (only ENCR has one, §3.3.5)";
        }
        return {};
    }
};

// ---------------------------------------------------------------------------
// RFC 7296 §3.4 Key Exchange payload
//   | Diffie-Hellman Group Num (2) | RESERVED (2) |
//   ~ Key Exchange Data ~
// ---------------------------------------------------------------------------
template <>
struct Codec<KePayload> {
    static constexpr std::array types{PayloadType::ke};

    static void encode(const KePayload& ke, Writer& w) {
        w.u16(ke.group);
        w.u16(0);
        w.bytes(ke.data);
    }
    static Status decode(ByteView body, KePayload* ke) {
        if (auto f = need_fixed(body, 4, "DH Group Num, RESERVED")) return f;
        Reader r(body);
        ke->group = r.u16();
        r.skip(2);
        ke->data = r.rest();
        return std::nullopt;
    }
    static std::string verify(const KePayload& ke) {
        if (ke.group == dh::none) return "DH Group Num 0 (NONE) in a KE payload";
        if (ke.data.empty()) return "empty Key Exchange Data for group " + num(ke.group);
        return {};
    }
};

// ---------------------------------------------------------------------------
// RFC 7296 §3.5 Identification payloads (IDi, IDr)
//   | ID Type | RESERVED (3) |
//   ~ Identification Data ~
// ---------------------------------------------------------------------------
template <>
struct Codec<IdPayload> {
    static constexpr std::array types{PayloadType::idi, PayloadType::idr};

    static void encode(const IdPayload& id, Writer& w) {
        w.u8(static_cast<uint8_t>(id.type));
        w.zeros(3);
        w.bytes(id.data);
    }
    static Status decode(ByteView body, IdPayload* id) {
        if (auto f = need_fixed(body, 4, "ID Type, RESERVED")) return f;
        Reader r(body);
        id->type = static_cast<IdType>(r.u8());
        r.skip(3);
        id->data = r.rest();
        return std::nullopt;
    }
    static std::string verify(const IdPayload& id) {
        if (id.data.empty()) return "empty Identification Data";
        if (id.type == IdType::ipv4_addr && id.data.size() != 4)
            return "ID_IPV4_ADDR of " + num(id.data.size()) + " bytes, must be 4";
        if (id.type == IdType::ipv6_addr && id.data.size() != 16)
            return "ID_IPV6_ADDR of " + num(id.data.size()) + " bytes, must be 16";
        return {};
    }
};

// ---------------------------------------------------------------------------
// RFC 7296 §3.6 Certificate payload and §3.7 Certificate Request payload
//   | Cert Encoding |
//   ~ Certificate Data / Certification Authority ~
// For X.509 the Certification Authority field is a list of 20-byte SHA-1
// hashes of CA public keys (§3.7).
// ---------------------------------------------------------------------------
constexpr std::size_t kSha1Size = 20;

template <>
struct Codec<CertPayload> {
    static constexpr std::array types{PayloadType::cert};

    static void encode(const CertPayload& c, Writer& w) {
        w.u8(static_cast<uint8_t>(c.encoding));
        w.bytes(c.data);
    }
    static Status decode(ByteView body, CertPayload* c) {
        if (auto f = need_fixed(body, 1, "Cert Encoding")) return f;
        Reader r(body);
        c->encoding = static_cast<CertEncoding>(r.u8());
        c->data = r.rest();
        return std::nullopt;
    }
    static std::string verify(const CertPayload& c) {
        if (c.data.empty()) return "empty Certificate Data";
        return {};
    }
};

template <>
struct Codec<CertReqPayload> {
    static constexpr std::array types{PayloadType::certreq};

    static void encode(const CertReqPayload& c, Writer& w) {
        w.u8(static_cast<uint8_t>(c.encoding));
        w.bytes(c.data);
    }
    static Status decode(ByteView body, CertReqPayload* c) {
        if (auto f = need_fixed(body, 1, "Cert Encoding")) return f;
        Reader r(body);
        c->encoding = static_cast<CertEncoding>(r.u8());
        c->data = r.rest();
        return std::nullopt;
    }
    static std::string verify(const CertReqPayload& c) {
        if (c.encoding == CertEncoding::x509_signature && c.data.size() % kSha1Size != 0)
            return "Certification Authority of " + num(c.data.size()) +
                   " bytes is not a list of 20-byte SHA-1 hashes";
        return {};
    }
};

// ---------------------------------------------------------------------------
// RFC 7296 §3.8 Authentication payload
//   | Auth Method | RESERVED (3) |
//   ~ Authentication Data ~
// ---------------------------------------------------------------------------
template <>
struct Codec<AuthPayload> {
    static constexpr std::array types{PayloadType::auth};

    static void encode(const AuthPayload& a, Writer& w) {
        w.u8(static_cast<uint8_t>(a.method));
        w.zeros(3);
        w.bytes(a.data);
    }
    static Status decode(ByteView body, AuthPayload* a) {
        if (auto f = need_fixed(body, 4, "Auth Method, RESERVED")) return f;
        Reader r(body);
        a->method = static_cast<AuthMethod>(r.u8());
        r.skip(3);
        a->data = r.rest();
        return std::nullopt;
    }
    static std::string verify(const AuthPayload& a) {
        if (a.data.empty()) return "empty Authentication Data";
        return {};
    }
};

// ---------------------------------------------------------------------------
// RFC 7296 §3.9 Nonce payload
//   ~ Nonce Data (16..256 bytes) ~
// ---------------------------------------------------------------------------
constexpr std::size_t kMinNonce = 16;
constexpr std::size_t kMaxNonce = 256;

template <>
struct Codec<NoncePayload> {
    static constexpr std::array types{PayloadType::nonce};

    static void encode(const NoncePayload& n, Writer& w) { w.bytes(n.data); }
    static Status decode(ByteView body, NoncePayload* n) {
        n->data.assign(body.begin(), body.end());
        return std::nullopt;
    }
    static std::string verify(const NoncePayload& n) {
        if (n.data.size() < kMinNonce || n.data.size() > kMaxNonce)
            return "Nonce Data of " + num(n.data.size()) + " bytes, must be 16..256 (§3.9)";
        return {};
    }
};

// ---------------------------------------------------------------------------
// RFC 7296 §3.10 Notify payload
//   | Protocol ID | SPI Size | Notify Message Type (2) |
//   ~ SPI (SPI Size bytes) ~ Notification Data ~
// ---------------------------------------------------------------------------
template <>
struct Codec<NotifyPayload> {
    static constexpr std::array types{PayloadType::notify};

    static void encode(const NotifyPayload& n, Writer& w) {
        w.u8(static_cast<uint8_t>(n.protocol));
        w.u8(static_cast<uint8_t>(n.spi.size()));
        w.u16(n.type);
        w.bytes(n.spi);
        w.bytes(n.data);
    }
    static Status decode(ByteView body, NotifyPayload* n) {
        if (auto f = need_fixed(body, 4, "Protocol ID, SPI Size, Notify Message Type")) return f;
        Reader r(body);
        n->protocol = static_cast<ProtocolId>(r.u8());
        const uint8_t spi_size = r.u8();
        n->type = r.u16();
        if (spi_size > r.remaining())
            return bad_length("SPI Size " + num(spi_size) + " exceeds the " + num(r.remaining()) +
                              " bytes left");
        n->spi = r.bytes(spi_size);
        n->data = r.rest();
        return std::nullopt;
    }
    static std::string verify(const NotifyPayload& n) {
        const std::string where = "notify type " + num(n.type);
        if (n.type == 0) return "Notify Message Type 0 is reserved";
        // §3.10: an empty SPI leaves the Protocol ID meaningless (ignored on
        // receipt); a present one must be the size its protocol uses.
        if (n.spi.empty()) return {};
        switch (n.protocol) {
        case ProtocolId::ah:
        case ProtocolId::esp:
            if (n.spi.size() == 4) return {};
            break;
        case ProtocolId::ike:
            if (n.spi.size() == 8) return {};
            break;
        default: break;
        }
        return where + ": SPI of " + num(n.spi.size()) + " bytes with Protocol ID " +
               protocol_name(n.protocol);
    }
};

// ---------------------------------------------------------------------------
// RFC 7296 §3.11 Delete payload
//   | Protocol ID | SPI Size | Num of SPIs (2) |
//   ~ SPIs (Num of SPIs x SPI Size bytes) ~
// The IKE SA is deleted with no SPI (size 0); AH and ESP SAs by their
// 4-byte inbound SPIs.
// ---------------------------------------------------------------------------
template <>
struct Codec<DeletePayload> {
    static constexpr std::array types{PayloadType::del};

    static void encode(const DeletePayload& d, Writer& w) {
        w.u8(static_cast<uint8_t>(d.protocol));
        w.u8(d.spi_size);
        w.u16(static_cast<uint16_t>(d.spis.size()));
        for (const Bytes& spi : d.spis) w.bytes(spi);
    }
    static Status decode(ByteView body, DeletePayload* d) {
        if (auto f = need_fixed(body, 4, "Protocol ID, SPI Size, Num of SPIs")) return f;
        Reader r(body);
        d->protocol = static_cast<ProtocolId>(r.u8());
        d->spi_size = r.u8();
        const uint16_t count = r.u16();
        // Checked before the loop so that SPI Size 0 cannot make us build
        // 65535 empty SPIs.
        if (d->spi_size == 0 && count != 0) return bad_syntax(num(count) + " SPIs of size 0");
        if (std::size_t{count} * d->spi_size != r.remaining())
            return bad_length(num(count) + " SPIs of " + num(d->spi_size) + " bytes need " +
                              num(std::size_t{count} * d->spi_size) + " bytes, the payload has " +
                              num(r.remaining()));
        for (uint16_t i = 0; i < count; ++i) d->spis.push_back(r.bytes(d->spi_size));
        return std::nullopt;
    }
    static std::string verify(const DeletePayload& d) {
        for (const Bytes& spi : d.spis)
            if (spi.size() != d.spi_size)
                return "SPI of " + num(spi.size()) + " bytes in a list of SPI Size " +
                       num(d.spi_size);
        if (d.spis.size() > 0xffff) return "too many SPIs for one Delete payload";
        switch (d.protocol) {
        case ProtocolId::ike:
            if (d.spi_size != 0 || !d.spis.empty())
                return "IKE SA deletion carries no SPI (§3.11), got SPI Size " + num(d.spi_size);
            return {};
        case ProtocolId::ah:
        case ProtocolId::esp:
            if (d.spi_size != 4)
                return protocol_name(d.protocol) + " deletion with SPI Size " + num(d.spi_size) +
                       ", must be 4";
            if (d.spis.empty()) return protocol_name(d.protocol) + " deletion names no SPI";
            return {};
        default: return "Protocol ID " + protocol_name(d.protocol) + " is invalid";
        }
    }
};

// ---------------------------------------------------------------------------
// RFC 7296 §3.12 Vendor ID payload
//   ~ Vendor ID (opaque) ~
// ---------------------------------------------------------------------------
template <>
struct Codec<VendorPayload> {
    static constexpr std::array types{PayloadType::vendor};

    static void encode(const VendorPayload& v, Writer& w) { w.bytes(v.id); }
    static Status decode(ByteView body, VendorPayload* v) {
        v->id.assign(body.begin(), body.end());
        return std::nullopt;
    }
    static std::string verify(const VendorPayload&) { return {}; }
};

// ---------------------------------------------------------------------------
// RFC 7296 §3.13 Traffic Selector payloads (TSi, TSr)
//   | Number of TSs | RESERVED (3) |
//   ~ <Traffic Selectors> ~
//
// §3.13.1 Traffic Selector
//   | TS Type | IP Protocol ID | Selector Length (2) |
//   | Start Port (2) | End Port (2) |
//   ~ Starting Address ~ Ending Address ~   (4 bytes each for type 7, 16 for 8)
// Start Port 65535 with End Port 0 means OPAQUE ports.
// ---------------------------------------------------------------------------
std::size_t address_size(TsType t) { return t == TsType::ipv4_addr_range ? 4 : 16; }
// The address family of a TS Type; 0 for types we do not support (e.g.
// RFC 4595's Fibre Channel ranges).
uint8_t ts_family(TsType t) {
    switch (t) {
    case TsType::ipv4_addr_range: return 4;
    case TsType::ipv6_addr_range: return 6;
    }
    return 0;
}

template <>
struct Codec<TsPayload> {
    static constexpr std::array types{PayloadType::tsi, PayloadType::tsr};

    static void encode(const TsPayload& ts, Writer& w) {
        w.u8(static_cast<uint8_t>(ts.selectors.size()));
        w.zeros(3);
        for (const TrafficSelector& s : ts.selectors) {
            const std::size_t n = address_size(s.type);
            w.u8(static_cast<uint8_t>(s.type));
            w.u8(s.ip_protocol);
            w.u16(static_cast<uint16_t>(8 + 2 * n));
            w.u16(s.start_port);
            w.u16(s.end_port);
            w.bytes(ByteView(s.start.bytes.data(), n));
            w.bytes(ByteView(s.end.bytes.data(), n));
        }
    }
    static Status decode(ByteView body, TsPayload* ts) {
        if (auto f = need_fixed(body, 4, "Number of TSs, RESERVED")) return f;
        Reader r(body);
        const uint8_t count = r.u8();
        r.skip(3);
        if (count > kMaxSelectors)
            return bad_syntax(num(count) + " traffic selectors, at most " + num(kMaxSelectors) +
                              " accepted");
        for (std::size_t i = 0; i < count; ++i) {
            const std::string where = "traffic selector " + num(i + 1);
            if (r.remaining() < 4) return bad_length(where + " of " + num(count) + " truncated");
            const uint8_t type = r.u8();
            const uint8_t proto = r.u8();
            const uint16_t len = r.u16();
            TrafficSelector s;
            s.ip_protocol = proto;
            s.type = static_cast<TsType>(type);
            const uint8_t family = ts_family(s.type);
            if (!family) return bad_syntax(where + " has unsupported TS Type " + num(type));
            const std::size_t n = address_size(s.type);
            if (len != 8 + 2 * n)
                return bad_length(where + " Selector Length " + num(len) + ", must be " +
                                  num(8 + 2 * n) + " for TS Type " + num(type));
            if (len - 4u > r.remaining()) return bad_length(where + " truncated");
            s.start_port = r.u16();
            s.end_port = r.u16();
            s.start.family = s.end.family = family;
            const ByteView start = r.view(n), end = r.view(n);
            std::copy(start.begin(), start.end(), s.start.bytes.begin());
            std::copy(end.begin(), end.end(), s.end.bytes.begin());
            ts->selectors.push_back(s);
        }
        if (!r.empty())
            return bad_length(num(r.remaining()) + " bytes after the " + num(count) +
                              " traffic selectors");
        return std::nullopt;
    }
    static std::string verify(const TsPayload& ts) {
        if (ts.selectors.empty()) return "no traffic selectors";
        if (ts.selectors.size() > kMaxSelectors)
            return num(ts.selectors.size()) + " traffic selectors, at most " + num(kMaxSelectors);
        for (std::size_t i = 0; i < ts.selectors.size(); ++i) {
            const TrafficSelector& s = ts.selectors[i];
            const std::string where = "traffic selector " + num(i + 1);
            const uint8_t family = ts_family(s.type);
            if (!family)
                return where + " has unsupported TS Type " + num(static_cast<uint8_t>(s.type));
            if (s.start.family != family || s.end.family != family)
                return where + ": addresses are not IPv" + num(family) + " as its TS Type says";
            const bool opaque = s.start_port == 65535 && s.end_port == 0;
            if (s.start_port > s.end_port && !opaque)
                return where + ": Start Port " + num(s.start_port) + " above End Port " +
                       num(s.end_port);
            if (std::memcmp(s.start.bytes.data(), s.end.bytes.data(), address_size(s.type)) > 0)
                return where + ": Starting Address " + s.start.to_string() +
                       " above Ending Address " + s.end.to_string();
        }
        return {};
    }
};

// ---------------------------------------------------------------------------
// RFC 7296 §3.15 Configuration payload
//   | CFG Type | RESERVED (3) |
//   ~ Configuration Attributes ~
// §3.15.1 attribute: | R + Attribute Type (15 bits) | Length (2) | ~ Value ~
// ---------------------------------------------------------------------------
constexpr uint8_t kCfgRequest = 1;
constexpr uint8_t kCfgAck = 4;

template <>
struct Codec<CpPayload> {
    static constexpr std::array types{PayloadType::cp};

    static void encode(const CpPayload& cp, Writer& w) {
        w.u8(cp.cfg_type);
        w.zeros(3);
        for (const auto& [type, value] : cp.attributes) {
            w.u16(type);
            w.u16(static_cast<uint16_t>(value.size()));
            w.bytes(value);
        }
    }
    static Status decode(ByteView body, CpPayload* cp) {
        if (auto f = need_fixed(body, 4, "CFG Type, RESERVED")) return f;
        Reader r(body);
        cp->cfg_type = r.u8();
        r.skip(3);
        while (!r.empty()) {
            if (cp->attributes.size() == kMaxCpAttributes)
                return bad_syntax("more than " + num(kMaxCpAttributes) +
                                  " configuration attributes");
            if (r.remaining() < 4) return bad_length("configuration attribute truncated");
            // §3.15.1: the R bit is ignored on receipt.
            const uint16_t type = r.u16() & 0x7fff;
            const uint16_t len = r.u16();
            if (len > r.remaining())
                return bad_length("configuration attribute " + num(type) + " length " + num(len) +
                                  " runs past the payload");
            cp->attributes.emplace_back(type, r.bytes(len));
        }
        return std::nullopt;
    }
    static std::string verify(const CpPayload& cp) {
        if (cp.cfg_type < kCfgRequest || cp.cfg_type > kCfgAck)
            return "CFG Type " + num(cp.cfg_type) + ", must be 1..4";
        if (cp.attributes.size() > kMaxCpAttributes)
            return num(cp.attributes.size()) + " configuration attributes, at most " +
                   num(kMaxCpAttributes);
        for (const auto& [type, value] : cp.attributes) {
            if (type & 0x8000)
                return "configuration attribute type " + num(type) + " sets the R bit";
            if (value.size() > 0xffff)
                return "configuration attribute " + num(type) + " value too long";
        }
        return {};
    }
};

// A payload we keep as bytes; its critical bit is carried through.
template <>
struct Codec<UnknownPayload> {
    static void encode(const UnknownPayload& u, Writer& w) { w.bytes(u.body); }
    static std::string verify(const UnknownPayload&) { return {}; }
};

// ---------------------------------------------------------------------------

template <class P>
DecodeResult<Payload> decode_as(PayloadType type, ByteView body) {
    P p;
    Status failure = Codec<P>::decode(body, &p);
    if (!failure) {
        if (std::string why = Codec<P>::verify(p); !why.empty())
            failure = bad_syntax(std::move(why));
    }
    if (failure)
        return control::unexpected(
            DecodeError{failure->kind, static_cast<uint8_t>(type), std::move(failure->detail)});
    return Payload{type, std::move(p)};
}

// Whether `type` may carry this body: the types its codec declares, or for
// an unknown payload its own type.
bool type_fits(PayloadType type, const Payload::Body& body) {
    return std::visit(
        [type](const auto& b) {
            using T = std::decay_t<decltype(b)>;
            if constexpr (std::is_same_v<T, UnknownPayload>)
                return static_cast<uint8_t>(type) == b.type && type != PayloadType::none;
            else
                return std::find(Codec<T>::types.begin(), Codec<T>::types.end(), type) !=
                       Codec<T>::types.end();
        },
        body);
}

}  // namespace

Bytes id_body(const IdPayload& id) {
    Bytes out;
    Writer w(out);
    Codec<IdPayload>::encode(id, w);
    return out;
}

std::string payload_name(uint8_t type) {
    switch (static_cast<PayloadType>(type)) {
    case PayloadType::none: return "no next payload";
    case PayloadType::sa: return "SA";
    case PayloadType::ke: return "KE";
    case PayloadType::idi: return "IDi";
    case PayloadType::idr: return "IDr";
    case PayloadType::cert: return "CERT";
    case PayloadType::certreq: return "CERTREQ";
    case PayloadType::auth: return "AUTH";
    case PayloadType::nonce: return "Nonce";
    case PayloadType::notify: return "Notify";
    case PayloadType::del: return "Delete";
    case PayloadType::vendor: return "Vendor ID";
    case PayloadType::tsi: return "TSi";
    case PayloadType::tsr: return "TSr";
    case PayloadType::sk: return "Encrypted (SK)";
    case PayloadType::cp: return "CP";
    case PayloadType::eap: return "EAP";
    case PayloadType::skf: return "Encrypted Fragment (SKF)";
    }
    return "payload type " + num(type);
}

std::string verify(const Payload& payload) {
    if (!type_fits(payload.type, payload.body))
        return "body does not match payload type " + payload_name(payload.type);
    return std::visit([](const auto& b) { return Codec<std::decay_t<decltype(b)>>::verify(b); },
                      payload.body);
}

Bytes encode_body(const Payload& payload) {
    Bytes out;
    Writer w(out);
    std::visit([&w](const auto& b) { Codec<std::decay_t<decltype(b)>>::encode(b, w); },
               payload.body);
    return out;
}

DecodeResult<Payload> decode_body(uint8_t type, bool critical, ByteView body) {
    const auto t = static_cast<PayloadType>(type);
    switch (t) {
    case PayloadType::sa: return decode_as<SaPayload>(t, body);
    case PayloadType::ke: return decode_as<KePayload>(t, body);
    case PayloadType::idi:
    case PayloadType::idr: return decode_as<IdPayload>(t, body);
    case PayloadType::cert: return decode_as<CertPayload>(t, body);
    case PayloadType::certreq: return decode_as<CertReqPayload>(t, body);
    case PayloadType::auth: return decode_as<AuthPayload>(t, body);
    case PayloadType::nonce: return decode_as<NoncePayload>(t, body);
    case PayloadType::notify: return decode_as<NotifyPayload>(t, body);
    case PayloadType::del: return decode_as<DeletePayload>(t, body);
    case PayloadType::vendor: return decode_as<VendorPayload>(t, body);
    case PayloadType::tsi:
    case PayloadType::tsr: return decode_as<TsPayload>(t, body);
    case PayloadType::cp: return decode_as<CpPayload>(t, body);
    case PayloadType::sk:
        // The message decoder opens the one SK payload a message may end
        // with; any other place is an error.
        return control::unexpected(
            DecodeError{Kind::invalid_syntax, type,
                        "Encrypted payload inside the Encrypted payload or not at the top level"});
    case PayloadType::skf:
        return control::unexpected(
            DecodeError{Kind::invalid_syntax, type,
                        "IKE fragmentation (RFC 7383) is not supported and was not offered"});
    default: break;
    }
    // §2.5: an unknown payload is skipped unless its critical bit is set.
    if (critical)
        return control::unexpected(
            DecodeError{Kind::unsupported_critical, type,
                        "payload type " + num(type) + " is marked critical and not supported"});
    return Payload{t, UnknownPayload{type, false, Bytes(body.begin(), body.end())}};
}

}  // namespace xdpsec::ike
