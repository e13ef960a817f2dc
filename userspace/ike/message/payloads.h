// The IKEv2 payloads (RFC 7296 §3.2-3.15) as plain values. Each one's wire
// layout and semantic checks are written once, next to its RFC diagram, in
// payloads.cpp; message.h chains them into messages.
#pragma once

#include "esp/ip_address.h"
#include "ike/bytes.h"
#include "ike/ike_types.h"
#include "ike/message/decode_error.h"

#include <cstddef>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace xdpsec::ike {

// Limits on what a peer may make us allocate.
inline constexpr std::size_t kMaxProposals = 64;
inline constexpr std::size_t kMaxTransforms = 64;  // per proposal
inline constexpr std::size_t kMaxSelectors = 64;   // per TS payload
inline constexpr std::size_t kMaxCpAttributes = 64;

// §3.3.2 Transform substructure. Key Length (§3.3.5) is the only attribute
// RFC 7296 defines.
struct TransformWire {
    TransformType type{};
    uint16_t id = 0;
    uint16_t key_bits = 0;  // Key Length attribute; 0 = absent
    // The peer sent an attribute other than Key Length, which may change
    // what the transform means: negotiation must not accept it (§3.3.6).
    bool unknown_attribute = false;
    friend bool operator==(const TransformWire&, const TransformWire&) = default;
};

// §3.3.1 Proposal substructure.
struct Proposal {
    uint8_t number = 1;
    ProtocolId protocol = ProtocolId::ike;
    Bytes spi;  // empty (IKE_SA_INIT), 4 (AH/ESP) or 8 (IKE rekey) bytes
    std::vector<TransformWire> transforms;
    friend bool operator==(const Proposal&, const Proposal&) = default;
};

struct SaPayload {  // §3.3
    std::vector<Proposal> proposals;
    friend bool operator==(const SaPayload&, const SaPayload&) = default;
};

struct KePayload {  // §3.4
    uint16_t group = 0;
    Bytes data;
    friend bool operator==(const KePayload&, const KePayload&) = default;
};

struct IdPayload {  // §3.5, IDi and IDr
    IdType type{};
    Bytes data;
    friend bool operator==(const IdPayload&, const IdPayload&) = default;
};

// "ID Type | RESERVED(3) | data": what AUTH signs as RestOfInitIDPayload /
// RestOfRespIDPayload (§2.15).
Bytes id_body(const IdPayload& id);

struct CertPayload {  // §3.6
    CertEncoding encoding = CertEncoding::x509_signature;
    Bytes data;
    friend bool operator==(const CertPayload&, const CertPayload&) = default;
};

struct CertReqPayload {  // §3.7; for X.509, SHA-1 hashes of CA public keys
    CertEncoding encoding = CertEncoding::x509_signature;
    Bytes data;
    friend bool operator==(const CertReqPayload&, const CertReqPayload&) = default;
};

struct AuthPayload {  // §3.8
    AuthMethod method{};
    Bytes data;
    friend bool operator==(const AuthPayload&, const AuthPayload&) = default;
};

struct NoncePayload {  // §3.9: 16..256 bytes
    Bytes data;
    friend bool operator==(const NoncePayload&, const NoncePayload&) = default;
};

struct NotifyPayload {  // §3.10
    ProtocolId protocol = ProtocolId::none;
    Bytes spi;
    uint16_t type = 0;  // NotifyType values, kept open for unknown ones
    Bytes data;
    friend bool operator==(const NotifyPayload&, const NotifyPayload&) = default;
};

struct DeletePayload {  // §3.11
    ProtocolId protocol = ProtocolId::esp;
    uint8_t spi_size = 4;
    std::vector<Bytes> spis;
    friend bool operator==(const DeletePayload&, const DeletePayload&) = default;
};

struct VendorPayload {  // §3.12
    Bytes id;
    friend bool operator==(const VendorPayload&, const VendorPayload&) = default;
};

struct TrafficSelector {  // §3.13.1
    TsType type = TsType::ipv4_addr_range;
    uint8_t ip_protocol = 0;  // 0 = any
    uint16_t start_port = 0, end_port = 65535;
    esp::IpAddress start, end;
    friend bool operator==(const TrafficSelector&, const TrafficSelector&) = default;
};

struct TsPayload {  // §3.13, TSi and TSr
    std::vector<TrafficSelector> selectors;
    friend bool operator==(const TsPayload&, const TsPayload&) = default;
};

struct CpPayload {         // §3.15
    uint8_t cfg_type = 1;  // 1 CFG_REQUEST, 2 CFG_REPLY, 3 CFG_SET, 4 CFG_ACK
    std::vector<std::pair<uint16_t, Bytes>> attributes;
    friend bool operator==(const CpPayload&, const CpPayload&) = default;
};

// A payload type we do not implement, kept so that the caller can see it
// (§2.5: a non-critical one is skipped; a critical one fails the decode).
struct UnknownPayload {
    uint8_t type = 0;
    bool critical = false;
    Bytes body;
    friend bool operator==(const UnknownPayload&, const UnknownPayload&) = default;
};

// One payload of a message. `type` tells IDi from IDr and TSi from TSr;
// for an UnknownPayload it equals the body's type.
struct Payload {
    using Body = std::variant<SaPayload, KePayload, IdPayload, CertPayload, CertReqPayload,
                              AuthPayload, NoncePayload, NotifyPayload, DeletePayload,
                              VendorPayload, TsPayload, CpPayload, UnknownPayload>;
    PayloadType type = PayloadType::none;
    Body body;
    friend bool operator==(const Payload&, const Payload&) = default;
};

// "SA", "IDi", "Notify", … or "payload type N".
std::string payload_name(uint8_t type);
inline std::string payload_name(PayloadType type) {
    return payload_name(static_cast<uint8_t>(type));
}

// The semantic rules of the payload's RFC section, and that `type` fits the
// body. Empty when fine, otherwise which field breaks which rule.
std::string verify(const Payload& payload);

// The payload body, without the generic payload header (§3.2). Does not
// verify; message encoding does.
Bytes encode_body(const Payload& payload);

// Parses and verifies one payload body. `critical` is the header's C bit; it
// matters only for payload types we do not understand.
DecodeResult<Payload> decode_body(uint8_t type, bool critical, ByteView body);

}  // namespace xdpsec::ike
