#include "ike/message/message.h"

#include "ike/message/wire.h"

namespace xdpsec::ike {

namespace {

using Kind = DecodeError::Kind;

constexpr std::size_t kGenericHeaderSize = 4;  // §3.2
constexpr uint8_t kCriticalBit = 0x80;

std::string num(std::size_t v) { return std::to_string(v); }

control::Unexpected<DecodeError> fail(Kind kind, uint8_t type, std::string detail) {
    return control::unexpected(DecodeError{kind, type, std::move(detail)});
}

void write_header(wire::Writer& w, const IkeHeader& h, PayloadType next, std::size_t length) {
    w.u64(h.spi_i);
    w.u64(h.spi_r);
    w.u8(static_cast<uint8_t>(next));
    w.u8(h.version);
    w.u8(static_cast<uint8_t>(h.exchange));
    w.u8(h.flags);
    w.u32(h.message_id);
    w.u32(static_cast<uint32_t>(length));
}

// §3.2: each payload's generic header names the type of the one after it.
bool encode_chain(const std::vector<Payload>& payloads, Bytes* out, std::string* error) {
    if (payloads.size() > kMaxPayloads) {
        *error = num(payloads.size()) + " payloads, at most " + num(kMaxPayloads);
        return false;
    }
    wire::Writer w(*out);
    for (std::size_t i = 0; i < payloads.size(); ++i) {
        const Payload& p = payloads[i];
        if (std::string why = verify(p); !why.empty()) {
            *error = payload_name(p.type) + " payload: " + why;
            return false;
        }
        const Bytes body = encode_body(p);
        if (body.size() > 0xffff - kGenericHeaderSize) {
            *error = payload_name(p.type) + " payload exceeds 65535 bytes";
            return false;
        }
        const auto* unknown = std::get_if<UnknownPayload>(&p.body);
        w.u8(static_cast<uint8_t>(i + 1 < payloads.size() ? payloads[i + 1].type
                                                          : PayloadType::none));
        w.u8(unknown && unknown->critical ? kCriticalBit : 0);
        w.u16(static_cast<uint16_t>(kGenericHeaderSize + body.size()));
        w.bytes(body);
    }
    return true;
}

// Where the SK payload sits in the datagram.
struct SkPosition {
    uint8_t first_inner = 0;      // its Next Payload: the first inner payload
    std::size_t body_offset = 0;  // from the datagram start
};

// Walks a payload chain over `area` (the datagram after its header, or an
// SK payload's plaintext), starting with payload type `type`. In the top
// level (`sk` non-null) an SK payload stops the walk and is reported.
std::optional<DecodeError> decode_chain(ByteView area, uint8_t type, std::size_t area_offset,
                                        std::vector<Payload>* out, SkPosition* sk, bool* sk_found) {
    std::size_t pos = 0;
    const char* where = sk ? "message" : "Encrypted payload contents";
    while (type != static_cast<uint8_t>(PayloadType::none)) {
        const std::string name = payload_name(type);
        if (out->size() == kMaxPayloads)
            return DecodeError{Kind::invalid_syntax, type,
                               "more than " + num(kMaxPayloads) + " payloads in one message"};
        if (area.size() - pos < kGenericHeaderSize)
            return DecodeError{Kind::truncated, type,
                               std::string(where) + " ends at offset " + num(area_offset + pos) +
                                   " where the chain expects a " + name + " payload"};
        wire::Reader r(area.subspan(pos, kGenericHeaderSize));
        const uint8_t next = r.u8();
        const bool critical = r.u8() & kCriticalBit;
        const uint16_t len = r.u16();
        if (len < kGenericHeaderSize)
            return DecodeError{
                Kind::bad_length, type,
                "Payload Length " + num(len) + " is below the 4-byte generic header"};
        if (len > area.size() - pos)
            return DecodeError{
                Kind::bad_length, type,
                "Payload Length " + num(len) + " at offset " + num(area_offset + pos) + " runs " +
                    num(len - (area.size() - pos)) + " bytes past the end of the " + where};
        if (sk && type == static_cast<uint8_t>(PayloadType::sk)) {
            // §3.14: SK is the last payload. We also want it to be the only
            // one, so nothing unauthenticated rides along a protected message.
            if (pos + len != area.size())
                return DecodeError{Kind::invalid_syntax, type,
                                   "Encrypted payload is not the last payload (§3.14)"};
            if (!out->empty())
                return DecodeError{Kind::invalid_syntax, type,
                                   payload_name(out->front().type) +
                                       " payload outside the Encrypted payload; a protected "
                                       "message must carry all its payloads inside it"};
            sk->first_inner = next;
            sk->body_offset = area_offset + pos + kGenericHeaderSize;
            *sk_found = true;
            return std::nullopt;
        }
        auto p = decode_body(type, critical,
                             area.subspan(pos + kGenericHeaderSize, len - kGenericHeaderSize));
        if (!p) return p.error();
        out->push_back(std::move(p.value()));
        pos += len;
        type = next;
    }
    if (pos != area.size())
        return DecodeError{
            Kind::bad_length, 0,
            num(area.size() - pos) + " bytes after the last payload of the " + where};
    return std::nullopt;
}

}  // namespace

std::optional<IkeHeader> peek_header(ByteView datagram) {
    if (datagram.size() < kHeaderSize) return std::nullopt;
    wire::Reader r(datagram);
    IkeHeader h;
    h.spi_i = r.u64();
    h.spi_r = r.u64();
    h.next_payload = static_cast<PayloadType>(r.u8());
    h.version = r.u8();
    h.exchange = static_cast<ExchangeType>(r.u8());
    h.flags = r.u8();
    h.message_id = r.u32();
    h.length = r.u32();
    return h;
}

DecodeResult<IkeHeader> decode_header(ByteView datagram) {
    const std::optional<IkeHeader> h = peek_header(datagram);
    if (!h)
        return fail(Kind::truncated, 0,
                    "datagram of " + num(datagram.size()) + " bytes is shorter than the " +
                        num(kHeaderSize) + "-byte IKE header");
    const unsigned major = h->version >> 4;
    // §2.5: a higher major version is answered with INVALID_MAJOR_VERSION;
    // a lower one is IKEv1, which we do not speak.
    if (major > 2)
        return fail(Kind::version, 0, "major version " + num(major) + ", this peer speaks 2");
    if (major < 2)
        return fail(Kind::invalid_syntax, 0,
                    "major version " + num(major) + " (IKEv1) is not supported");
    if (h->length != datagram.size())
        return fail(Kind::bad_length, 0,
                    "header Length " + num(h->length) + " but the datagram has " +
                        num(datagram.size()) + " bytes");
    if (h->length > kMaxMessageSize)
        return fail(Kind::bad_length, 0,
                    "message of " + num(h->length) + " bytes exceeds " + num(kMaxMessageSize));
    return *h;
}

Bytes encode(const Message& message, std::string* error) {
    std::string why;
    Bytes out(kHeaderSize);
    if (!encode_chain(message.payloads, &out, &why)) {
        if (error) *error = why;
        return {};
    }
    if (out.size() > kMaxMessageSize) {
        if (error)
            *error = "message of " + num(out.size()) + " bytes exceeds " + num(kMaxMessageSize);
        return {};
    }
    Bytes header;
    wire::Writer w(header);
    write_header(w, message.header,
                 message.payloads.empty() ? PayloadType::none : message.payloads.front().type,
                 out.size());
    std::copy(header.begin(), header.end(), out.begin());
    return out;
}

Bytes encode_protected(const Message& message, SkProtector& protector, std::string* error) {
    std::string why;
    Bytes plaintext;
    if (!encode_chain(message.payloads, &plaintext, &why)) {
        if (error) *error = why;
        return {};
    }
    const std::size_t body = protector.body_size(plaintext.size());
    const std::size_t total = kHeaderSize + kGenericHeaderSize + body;
    if (total > kMaxMessageSize) {
        if (error)
            *error =
                "protected message of " + num(total) + " bytes exceeds " + num(kMaxMessageSize);
        return {};
    }
    Bytes out;
    out.reserve(total);
    wire::Writer w(out);
    write_header(w, message.header, PayloadType::sk, total);
    // §3.14: the SK payload's Next Payload names the first inner payload.
    w.u8(static_cast<uint8_t>(message.payloads.empty() ? PayloadType::none
                                                       : message.payloads.front().type));
    w.u8(0);
    w.u16(static_cast<uint16_t>(kGenericHeaderSize + body));
    w.zeros(body);
    if (!protector.seal(out, kHeaderSize + kGenericHeaderSize, plaintext)) {
        if (error) *error = "the SK protector could not seal the message";
        return {};
    }
    return out;
}

DecodeResult<Message> decode(ByteView datagram, const SkProtector* inbound) {
    auto header = decode_header(datagram);
    if (!header) return control::unexpected(header.error());
    Message m;
    m.header = *header;
    SkPosition sk;
    bool sk_found = false;
    if (auto e =
            decode_chain(datagram.subspan(kHeaderSize), static_cast<uint8_t>(m.header.next_payload),
                         kHeaderSize, &m.payloads, &sk, &sk_found))
        return control::unexpected(std::move(*e));
    if (!sk_found) return m;

    const auto sk_type = static_cast<uint8_t>(PayloadType::sk);
    if (!inbound)
        return fail(Kind::no_protector, sk_type,
                    "Encrypted payload received but no IKE SA keys are available to open it");
    Bytes plaintext;
    std::string why;
    if (!inbound->open(datagram, sk.body_offset, &plaintext, &why))
        return fail(Kind::integrity, sk_type,
                    why.empty() ? "integrity check failed" : std::move(why));
    if (auto e = decode_chain(plaintext, sk.first_inner, 0, &m.payloads, nullptr, nullptr))
        return control::unexpected(std::move(*e));
    return m;
}

DecodeResult<Fragment> decode_fragment(ByteView datagram, const SkProtector& inbound) {
    const auto skf = static_cast<uint8_t>(PayloadType::skf);
    auto header = decode_header(datagram);
    if (!header) return control::unexpected(header.error());
    if (header->next_payload != PayloadType::skf)
        return fail(Kind::invalid_syntax, 0, "not a fragment: the first payload is not SKF");
    // RFC 7383 §2.5: generic header, Fragment Number, Total Fragments, then
    // the body that SK has; the SKF payload is the only one.
    if (datagram.size() < kHeaderSize + kGenericHeaderSize + 4)
        return fail(Kind::truncated, skf, "Encrypted Fragment payload shorter than its header");
    wire::Reader r(datagram.subspan(kHeaderSize));
    Fragment f;
    f.header = *header;
    const uint8_t next = r.u8();
    r.u8();
    const uint16_t len = r.u16();
    f.number = r.u16();
    f.total = r.u16();
    if (len != datagram.size() - kHeaderSize)
        return fail(Kind::bad_length, skf,
                    "Payload Length " + num(len) + " but " + num(datagram.size() - kHeaderSize) +
                        " bytes follow the header: SKF must be the only payload");
    if (f.number == 0 || f.total == 0 || f.number > f.total)
        return fail(Kind::invalid_syntax, skf,
                    "Fragment Number " + num(f.number) + " of Total Fragments " + num(f.total));
    if (f.total > kMaxFragments)
        return fail(Kind::invalid_syntax, skf,
                    num(f.total) + " fragments, at most " + num(kMaxFragments) + " accepted");
    // §2.5: only the first fragment's Next Payload means anything.
    f.first_inner = f.number == 1 ? static_cast<PayloadType>(next) : PayloadType::none;
    std::string why;
    if (!inbound.open(datagram, kHeaderSize + kGenericHeaderSize + 4, &f.plaintext, &why))
        return fail(Kind::integrity, skf, why.empty() ? "integrity check failed" : std::move(why));
    return f;
}

DecodeResult<Message> decode_reassembled(const IkeHeader& header, PayloadType first_inner,
                                         ByteView plaintext) {
    Message m;
    m.header = header;
    m.header.next_payload = PayloadType::sk;  // what it stands for: a protected message
    if (auto e = decode_chain(plaintext, static_cast<uint8_t>(first_inner), 0, &m.payloads,
                              nullptr, nullptr))
        return control::unexpected(std::move(*e));
    return m;
}

std::vector<Bytes> encode_protected_fragments(const Message& message, SkProtector& protector,
                                              std::size_t max_size, std::string* error) {
    Bytes whole = encode_protected(message, protector, error);
    if (whole.empty()) return {};
    if (whole.size() <= max_size) return {std::move(whole)};
    std::string why;
    Bytes plaintext;
    if (!encode_chain(message.payloads, &plaintext, &why)) {
        if (error) *error = why;
        return {};
    }
    // The largest chunk whose fragment fits: header, SKF header, sealed body.
    constexpr std::size_t kOverhead = kHeaderSize + kGenericHeaderSize + 4;
    std::size_t chunk = max_size > kOverhead ? max_size - kOverhead : 0;
    while (chunk > 0 && kOverhead + protector.body_size(chunk) > max_size) --chunk;
    if (chunk == 0) {
        if (error) *error = "fragment size " + num(max_size) + " leaves no room for payload data";
        return {};
    }
    const std::size_t total = (plaintext.size() + chunk - 1) / chunk;
    if (total > kMaxFragments) {
        if (error) *error = "message needs " + num(total) + " fragments, at most " + num(kMaxFragments);
        return {};
    }
    std::vector<Bytes> out;
    for (std::size_t i = 0; i < total; ++i) {
        const ByteView part = ByteView(plaintext).subspan(i * chunk, std::min(chunk, plaintext.size() - i * chunk));
        const std::size_t body = protector.body_size(part.size());
        Bytes frag;
        frag.reserve(kOverhead + body);
        wire::Writer w(frag);
        write_header(w, message.header, PayloadType::skf, kOverhead + body);
        w.u8(static_cast<uint8_t>(i == 0 && !message.payloads.empty() ? message.payloads.front().type
                                                                      : PayloadType::none));
        w.u8(0);
        w.u16(static_cast<uint16_t>(kGenericHeaderSize + 4 + body));
        w.u16(static_cast<uint16_t>(i + 1));
        w.u16(static_cast<uint16_t>(total));
        w.zeros(body);
        if (!protector.seal(frag, kOverhead, part)) {
            if (error) *error = "the SK protector could not seal fragment " + num(i + 1);
            return {};
        }
        out.push_back(std::move(frag));
    }
    return out;
}

}  // namespace xdpsec::ike
