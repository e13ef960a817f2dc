// IKEv2 protocol numbers (RFC 7296 §3 and IANA's "Internet Key Exchange
// Version 2 (IKEv2) Parameters"), one definition for the codec, the crypto
// and the exchange tasks. Values are the wire values.
#pragma once

#include <cstdint>
#include <string_view>

namespace xdpsec::ike {

enum class ExchangeType : uint8_t {
    ike_sa_init = 34,
    ike_auth = 35,
    create_child_sa = 36,
    informational = 37,
};

// RFC 7296 §3.1 header flags.
inline constexpr uint8_t kFlagInitiator = 0x08;
inline constexpr uint8_t kFlagVersion = 0x10;
inline constexpr uint8_t kFlagResponse = 0x20;
inline constexpr uint8_t kIkeVersion = 0x20;  // major 2, minor 0
inline constexpr uint16_t kIkePort = 500;
inline constexpr uint16_t kNattPort = 4500;
inline constexpr std::size_t kHeaderSize = 28;

enum class PayloadType : uint8_t {
    none = 0,
    sa = 33,
    ke = 34,
    idi = 35,
    idr = 36,
    cert = 37,
    certreq = 38,
    auth = 39,
    nonce = 40,
    notify = 41,
    del = 42,
    vendor = 43,
    tsi = 44,
    tsr = 45,
    sk = 46,
    cp = 47,
    eap = 48,
    skf = 53,  // RFC 7383
};

enum class ProtocolId : uint8_t { none = 0, ike = 1, ah = 2, esp = 3 };

// Transform types and ids (RFC 7296 §3.3.2, IANA).
enum class TransformType : uint8_t { encr = 1, prf = 2, integ = 3, dh = 4, esn = 5 };
namespace encr {
inline constexpr uint16_t aes_cbc = 12;
inline constexpr uint16_t aes_gcm_16 = 20;
inline constexpr uint16_t chacha20_poly1305 = 28;
}  // namespace encr
namespace prf {
inline constexpr uint16_t hmac_sha2_256 = 5;
inline constexpr uint16_t hmac_sha2_384 = 6;
inline constexpr uint16_t hmac_sha2_512 = 7;
}  // namespace prf
namespace integ {
inline constexpr uint16_t none = 0;
inline constexpr uint16_t hmac_sha2_256_128 = 12;
inline constexpr uint16_t hmac_sha2_384_192 = 13;
inline constexpr uint16_t hmac_sha2_512_256 = 14;
}  // namespace integ
namespace dh {
inline constexpr uint16_t none = 0;
inline constexpr uint16_t modp2048 = 14;
inline constexpr uint16_t modp3072 = 15;
inline constexpr uint16_t ecp256 = 19;
inline constexpr uint16_t ecp384 = 20;
inline constexpr uint16_t ecp521 = 21;
inline constexpr uint16_t curve25519 = 31;
inline constexpr uint16_t curve448 = 32;
}  // namespace dh
namespace esn {
inline constexpr uint16_t no = 0;
inline constexpr uint16_t yes = 1;
}  // namespace esn
inline constexpr uint16_t kAttrKeyLength = 14;  // AF=1, TV format

enum class IdType : uint8_t {
    ipv4_addr = 1,
    fqdn = 2,
    rfc822_addr = 3,
    ipv6_addr = 5,
    der_asn1_dn = 9,
    der_asn1_gn = 10,
    key_id = 11,
};

enum class AuthMethod : uint8_t {
    rsa_sig = 1,
    shared_key_mic = 2,
    dss_sig = 3,
    digital_signature = 14,  // RFC 7427
};

enum class CertEncoding : uint8_t { x509_signature = 4 };

enum class TsType : uint8_t { ipv4_addr_range = 7, ipv6_addr_range = 8 };

// Notify message types (RFC 7296 §3.10.1 and later RFCs).
enum class NotifyType : uint16_t {
    unsupported_critical_payload = 1,
    invalid_ike_spi = 4,
    invalid_major_version = 5,
    invalid_syntax = 7,
    invalid_message_id = 9,
    invalid_spi = 11,
    no_proposal_chosen = 14,
    invalid_ke_payload = 17,
    authentication_failed = 24,
    single_pair_required = 34,
    no_additional_sas = 35,
    internal_address_failure = 36,
    failed_cp_required = 37,
    ts_unacceptable = 38,
    invalid_selectors = 39,
    temporary_failure = 43,
    child_sa_not_found = 44,
    // status types (>= 16384)
    initial_contact = 16384,
    set_window_size = 16385,
    additional_ts_possible = 16386,
    ipcomp_supported = 16387,
    nat_detection_source_ip = 16388,
    nat_detection_destination_ip = 16389,
    cookie = 16390,
    use_transport_mode = 16391,
    http_cert_lookup_supported = 16392,
    rekey_sa = 16393,
    esp_tfc_padding_not_supported = 16394,
    non_first_fragments_also = 16395,
    mobike_supported = 16396,
    ikev2_fragmentation_supported = 16430,  // RFC 7383
    signature_hash_algorithms = 16431,      // RFC 7427
};
inline constexpr bool is_error_notify(uint16_t type) { return type < 16384; }

// RFC 7427 §4 hash algorithm identifiers (SIGNATURE_HASH_ALGORITHMS).
namespace hash {
inline constexpr uint16_t sha2_256 = 2;
inline constexpr uint16_t sha2_384 = 3;
inline constexpr uint16_t sha2_512 = 4;
inline constexpr uint16_t identity = 5;  // RFC 8420 (Ed25519/Ed448)
}  // namespace hash

}  // namespace xdpsec::ike
