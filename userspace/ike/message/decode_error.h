// Why an IKE message could not be decoded. The kind tells the exchange code
// which notification (if any) to answer with; the detail names the payload
// and field for an operator's log and never carries key material.
#pragma once

#include "control/expected.h"

#include <cstdint>
#include <string>
#include <string_view>

namespace xdpsec::ike {

struct DecodeError {
    enum class Kind {
        truncated,             // the datagram ends before the structure does
        bad_length,            // a length field disagrees with what it covers
        invalid_syntax,        // well framed but against an RFC rule (INVALID_SYNTAX)
        unsupported_critical,  // unknown payload with the critical bit (RFC 7296 §2.5)
        integrity,             // the SK payload failed its integrity check
        version,               // major version above 2 (INVALID_MAJOR_VERSION)
        no_protector,          // an SK payload but no inbound SkProtector given
    };
    Kind kind = Kind::invalid_syntax;
    uint8_t payload_type = 0;  // the payload concerned; 0: the header or the message as a whole
    std::string detail;

    // "invalid syntax in Notify payload: ...", for logs.
    std::string to_string() const;
};

std::string_view kind_name(DecodeError::Kind kind);

template <class T>
using DecodeResult = control::Expected<T, DecodeError>;

}  // namespace xdpsec::ike
