// An IKE identity (RFC 7296 §3.5): what goes into IDi/IDr and what a
// certificate must prove. Config strings are read the way strongSwan reads
// them, so that both ends of a connection can be configured alike.
#pragma once

#include "ike/bytes.h"
#include "ike/ike_types.h"

#include <optional>
#include <string>
#include <string_view>

namespace xdpsec::ike {

struct Identity {
    IdType type = IdType::fqdn;
    Bytes data;  // the Identification Data field

    // "192.0.2.1" / "2001:db8::1"     -> ID_IPV4_ADDR / ID_IPV6_ADDR
    // "C=CH, O=strongSwan, CN=moon"   -> ID_DER_ASN1_DN, RDNs in the order
    //   written ("/C=CH/O=strongSwan/CN=moon" too); "\," escapes a comma
    // "@moon.example.org"             -> ID_FQDN "moon.example.org"
    // "carol@example.org"             -> ID_RFC822_ADDR
    // "moon.example.org"              -> ID_FQDN
    // nullopt for anything else (empty, blanks inside, a broken DN, an
    // address-like string that is no address).
    static std::optional<Identity> parse(std::string_view text);

    // The ID payload body (ID Type, 3 reserved zero bytes, data): the IDx'
    // of RFC 7296 §2.15 that signed_octets() takes.
    Bytes body() const;
    // Reads an ID payload body; the reserved bytes are ignored (§3.5).
    static std::optional<Identity> from_body(ByteView body);

    // For logs and `sa list`: addresses in their usual form, a DN as
    // "C=CH, O=strongSwan, CN=moon", names with non-printable bytes escaped.
    std::string to_string() const;

    // Whether both name the same entity: DNs compared as X509_NAME_cmp does
    // (a PrintableString and a UTF8String of the same text are equal, so a
    // configured DN matches the one a peer copies from its certificate),
    // FQDNs and RFC822 addresses without regard to ASCII case, the rest by
    // bytes. operator== compares bytes.
    bool equivalent(const Identity& other) const;

    friend bool operator==(const Identity&, const Identity&) = default;
};

}  // namespace xdpsec::ike
