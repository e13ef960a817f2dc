#include "ike/message/decode_error.h"

#include "ike/message/payloads.h"

namespace xdpsec::ike {

std::string_view kind_name(DecodeError::Kind kind) {
    switch (kind) {
    case DecodeError::Kind::truncated: return "truncated";
    case DecodeError::Kind::bad_length: return "bad length";
    case DecodeError::Kind::invalid_syntax: return "invalid syntax";
    case DecodeError::Kind::unsupported_critical: return "unsupported critical payload";
    case DecodeError::Kind::integrity: return "integrity check failed";
    case DecodeError::Kind::version: return "unsupported major version";
    case DecodeError::Kind::no_protector: return "no keys for the Encrypted payload";
    }
    return "unknown error";
}

std::string DecodeError::to_string() const {
    std::string out(kind_name(kind));
    if (payload_type) out += " in " + payload_name(payload_type) + " payload";
    if (!detail.empty()) out += ": " + detail;
    return out;
}

}  // namespace xdpsec::ike
