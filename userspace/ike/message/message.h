// An IKEv2 message (RFC 7296 §3.1 header and a chain of payloads) and its
// wire form. Plain messages (IKE_SA_INIT) go through encode/decode; the
// others carry all their payloads inside one Encrypted (SK) payload, sealed
// and opened by an SkProtector so that this codec holds no keys.
#pragma once

#include "ike/bytes.h"
#include "ike/ike_types.h"
#include "ike/message/decode_error.h"
#include "ike/message/payloads.h"
#include "ike/sk_protector.h"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace xdpsec::ike {

inline constexpr std::size_t kMaxMessageSize = 65535;
inline constexpr std::size_t kMaxPayloads = 64;  // per message, SK contents included

// §3.1 IKE header.
struct IkeHeader {
    uint64_t spi_i = 0, spi_r = 0;
    PayloadType next_payload = PayloadType::none;  // as on the wire; computed by encode
    uint8_t version = kIkeVersion;
    ExchangeType exchange = ExchangeType::ike_sa_init;
    uint8_t flags = 0;
    uint32_t message_id = 0;
    uint32_t length = 0;  // as on the wire; computed by encode

    bool initiator() const { return flags & kFlagInitiator; }
    bool response() const { return flags & kFlagResponse; }
    friend bool operator==(const IkeHeader&, const IkeHeader&) = default;
};

struct Message {
    IkeHeader header;
    // For a decoded protected message: the payloads found inside SK.
    std::vector<Payload> payloads;

    // The message came in an SK payload (set by decode).
    bool encrypted() const { return header.next_payload == PayloadType::sk; }

    const Payload* first(PayloadType type) const {
        for (const Payload& p : payloads)
            if (p.type == type) return &p;
        return nullptr;
    }
    std::size_t count(PayloadType type) const {
        std::size_t n = 0;
        for (const Payload& p : payloads) n += p.type == type;
        return n;
    }
    // The first body of type T: find<NoncePayload>(), find<IdPayload>(PayloadType::idr).
    template <class T>
    const T* find() const {
        for (const Payload& p : payloads)
            if (const T* b = std::get_if<T>(&p.body)) return b;
        return nullptr;
    }
    template <class T>
    const T* find(PayloadType type) const {
        const Payload* p = first(type);
        return p ? std::get_if<T>(&p->body) : nullptr;
    }
    template <class T>
    std::vector<const T*> all() const {
        std::vector<const T*> out;
        for (const Payload& p : payloads)
            if (const T* b = std::get_if<T>(&p.body)) out.push_back(b);
        return out;
    }

    const NotifyPayload* notify(uint16_t type) const {
        for (const NotifyPayload* n : all<NotifyPayload>())
            if (n->type == type) return n;
        return nullptr;
    }
    const NotifyPayload* notify(NotifyType type) const {
        return notify(static_cast<uint16_t>(type));
    }
    std::vector<const NotifyPayload*> notifies(uint16_t type) const {
        std::vector<const NotifyPayload*> out;
        for (const NotifyPayload* n : all<NotifyPayload>())
            if (n->type == type) out.push_back(n);
        return out;
    }
    std::vector<const NotifyPayload*> notifies(NotifyType type) const {
        return notifies(static_cast<uint16_t>(type));
    }
    // The first error notification (type below 16384, §3.10.1), if any.
    const NotifyPayload* error_notify() const {
        for (const NotifyPayload* n : all<NotifyPayload>())
            if (is_error_notify(n->type)) return n;
        return nullptr;
    }

    // Appends a payload; the type-less form is for bodies with one type.
    template <class T>
    Message& add(PayloadType type, T body) {
        payloads.push_back(Payload{type, std::move(body)});
        return *this;
    }
    Message& add(SaPayload b) { return add(PayloadType::sa, std::move(b)); }
    Message& add(KePayload b) { return add(PayloadType::ke, std::move(b)); }
    Message& add(CertPayload b) { return add(PayloadType::cert, std::move(b)); }
    Message& add(CertReqPayload b) { return add(PayloadType::certreq, std::move(b)); }
    Message& add(AuthPayload b) { return add(PayloadType::auth, std::move(b)); }
    Message& add(NoncePayload b) { return add(PayloadType::nonce, std::move(b)); }
    Message& add(NotifyPayload b) { return add(PayloadType::notify, std::move(b)); }
    Message& add(DeletePayload b) { return add(PayloadType::del, std::move(b)); }
    Message& add(VendorPayload b) { return add(PayloadType::vendor, std::move(b)); }
    Message& add(CpPayload b) { return add(PayloadType::cp, std::move(b)); }

    friend bool operator==(const Message&, const Message&) = default;
};

// The header fields of the first 28 bytes without any check (nullopt when
// shorter): enough to answer a message decode_header refuses, e.g. with
// INVALID_MAJOR_VERSION, which echoes the SPIs and Message ID (§2.5, §1.5).
std::optional<IkeHeader> peek_header(ByteView datagram);

// The header, checked: at least 28 bytes, Length equal to the datagram size
// and at most kMaxMessageSize, major version 2 (above 2: Kind::version).
DecodeResult<IkeHeader> decode_header(ByteView datagram);

// A plain message. Header Next Payload and Length are computed; every
// payload is verified first. Empty (with `error` set) if one fails or the
// message would exceed the limits.
Bytes encode(const Message& message, std::string* error = nullptr);

// A protected message: header, then one SK payload holding all of
// message.payloads, sealed by `protector` (§3.14). Empty on failure.
Bytes encode_protected(const Message& message, SkProtector& protector,
                       std::string* error = nullptr);

// Decodes and verifies every payload. If the message carries an SK payload
// it must be the only top-level payload (so that everything a protected
// message says is authenticated) and `inbound` opens it; the inner payloads
// then form message.payloads. A message without SK needs no `inbound`;
// whether its exchange may come unprotected is the caller's call
// (Message::encrypted()).
DecodeResult<Message> decode(ByteView datagram, const SkProtector* inbound);

// IKE fragmentation (RFC 7383). One fragment of a protected message, opened:
// fragment 1 names the first inner payload; the plaintexts of fragments
// 1..total, in order, are the inner payload chain of the whole message.
struct Fragment {
    IkeHeader header;
    uint16_t number = 0, total = 0;
    PayloadType first_inner = PayloadType::none;  // fragment 1 only
    Bytes plaintext;
};
inline constexpr std::size_t kMaxFragments = 64;  // per message; more is refused

// A datagram whose header names an SKF payload (§2.5): checks the header and
// the fragment fields, then opens it; each fragment is authenticated on its
// own before it is kept (§2.6).
DecodeResult<Fragment> decode_fragment(ByteView datagram, const SkProtector& inbound);

// The message the reassembled fragments carry.
DecodeResult<Message> decode_reassembled(const IkeHeader& header, PayloadType first_inner,
                                         ByteView plaintext);

// encode_protected, split into SKF fragments of at most `max_size` bytes
// each (§2.5) when the single message would be larger; otherwise the single
// SK message. Empty on failure.
std::vector<Bytes> encode_protected_fragments(const Message& message, SkProtector& protector,
                                              std::size_t max_size, std::string* error = nullptr);

}  // namespace xdpsec::ike
