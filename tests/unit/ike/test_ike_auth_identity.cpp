// Identities from config strings (strongSwan's forms) and back to text.
// The DN encodings were computed with Python's `cryptography` (x509.Name
// with the string types strongSwan picks: PrintableString where the value
// allows, UTF8String otherwise, IA5String for E= and DC=).
#include "ike/auth/identity.h"
#include "test_ike_auth_fixture.h"

#include <doctest/doctest.h>

#include <string_view>

using namespace xdpsec::ike;
using test::hex;
using test::text;

namespace {

constexpr std::string_view kDnMoon =
    "3031310b300906035504061302434831133011060355040a130a7374726f6e675377616e310d300b06035504031304"
    "6d6f6f6e";
constexpr std::string_view kDnCarol =
    "305a310b300906035504061302434831193017060355040a13104c696e7578207374726f6e675377616e3111300f"
    "060355040b13085265736561726368311d301b06035504030c146361726f6c407374726f6e677377616e2e6f7267";
constexpr std::string_view kDnMixed =
    "304f3122302006092a864886f70d01090116136d6f6f6e407374726f6e677377616e2e6f726731133011060a0992"
    "268993f22c64011916036f72673114301206035504030c0b5ac3bc726963682c204348";

}  // namespace

TEST_CASE("ike auth identity: addresses") {
    auto v4 = Identity::parse("192.0.2.1");
    REQUIRE(v4);
    CHECK(v4->type == IdType::ipv4_addr);
    CHECK(v4->data == Bytes{192, 0, 2, 1});
    CHECK(v4->to_string() == "192.0.2.1");

    auto v6 = Identity::parse("2001:db8::1");
    REQUIRE(v6);
    CHECK(v6->type == IdType::ipv6_addr);
    CHECK(v6->data == hex("20010db8000000000000000000000001"));
    CHECK(v6->to_string() == "2001:db8::1");
}

TEST_CASE("ike auth identity: names and mail addresses") {
    auto at_fqdn = Identity::parse("@moon.strongswan.org");
    REQUIRE(at_fqdn);
    CHECK(at_fqdn->type == IdType::fqdn);
    CHECK(at_fqdn->data == text("moon.strongswan.org"));
    CHECK(at_fqdn->to_string() == "moon.strongswan.org");

    // strongSwan's trick to have an address-looking FQDN.
    auto at_numeric = Identity::parse("@192.0.2.1");
    REQUIRE(at_numeric);
    CHECK(at_numeric->type == IdType::fqdn);
    CHECK(at_numeric->data == text("192.0.2.1"));

    auto plain = Identity::parse("sun.strongswan.org");
    REQUIRE(plain);
    CHECK(plain->type == IdType::fqdn);
    CHECK(plain->data == text("sun.strongswan.org"));

    auto mail = Identity::parse("carol@strongswan.org");
    REQUIRE(mail);
    CHECK(mail->type == IdType::rfc822_addr);
    CHECK(mail->data == text("carol@strongswan.org"));
    CHECK(mail->to_string() == "carol@strongswan.org");

    auto spaced = Identity::parse("  moon  ");
    REQUIRE(spaced);
    CHECK(spaced->data == text("moon"));
}

TEST_CASE("ike auth identity: distinguished names, RDN order as written") {
    auto dn = Identity::parse("C=CH, O=strongSwan, CN=moon");
    REQUIRE(dn);
    CHECK(dn->type == IdType::der_asn1_dn);
    CHECK(dn->data == hex(kDnMoon));
    CHECK(dn->to_string() == "C=CH, O=strongSwan, CN=moon");

    auto slashes = Identity::parse("/C=CH/O=strongSwan/CN=moon");
    REQUIRE(slashes);
    CHECK(slashes->data == hex(kDnMoon));

    auto tight = Identity::parse("C=CH,O=strongSwan,CN=moon");
    REQUIRE(tight);
    CHECK(tight->data == hex(kDnMoon));

    auto carol = Identity::parse("C=CH, O=Linux strongSwan, OU=Research, CN=carol@strongswan.org");
    REQUIRE(carol);
    CHECK(carol->data == hex(kDnCarol));

    auto mixed = Identity::parse("E=moon@strongswan.org, DC=org, CN=Z\xc3\xbcrich\\, CH");
    REQUIRE(mixed);
    CHECK(mixed->data == hex(kDnMixed));
    CHECK(mixed->to_string() == "E=moon@strongswan.org, DC=org, CN=Z\xc3\xbcrich\\, CH");

    // Reversed order is a different DN.
    auto reversed = Identity::parse("CN=moon, O=strongSwan, C=CH");
    REQUIRE(reversed);
    CHECK(reversed->data != dn->data);
}

TEST_CASE("ike auth identity: to_string output parses back to the same identity") {
    for (const char* s : {"C=CH, O=Linux strongSwan, OU=Research, CN=carol@strongswan.org",
                          "192.0.2.77", "fec0::5", "carol@strongswan.org", "moon.strongswan.org",
                          "E=moon@strongswan.org, DC=org, CN=a\\, b"}) {
        CAPTURE(s);
        auto id = Identity::parse(s);
        REQUIRE(id);
        auto again = Identity::parse(id->to_string());
        REQUIRE(again);
        CHECK(*again == *id);
    }
}

TEST_CASE("ike auth identity: bad config strings") {
    for (const char* s : {"", "   ", "@", "user@", "@host@example.org", "carol@", "@carol smith",
                          "two words", "10.0.0.256", "1.2.3", "fe80::1::2", "fe80::1%eth0",
                          "C=CH, CN", "C=CH,, CN=moon", "CN=", "=moon", "FOO=bar",
                          "C=Switzerland, CN=moon", "CN=moon\\", "host/name", "a@b@c"}) {
        CAPTURE(s);
        CHECK_FALSE(Identity::parse(s));
    }
    // Control characters and invalid UTF-8 in a DN value.
    CHECK_FALSE(Identity::parse(std::string_view("CN=a\x01z", 6)));
    CHECK_FALSE(Identity::parse("CN=\xc3("));
}

TEST_CASE("ike auth identity: ID payload body") {
    auto id = Identity::parse("@moon.strongswan.org");
    REQUIRE(id);
    Bytes expected = {2, 0, 0, 0};
    const Bytes name = text("moon.strongswan.org");
    expected.insert(expected.end(), name.begin(), name.end());
    CHECK(id->body() == expected);

    auto back = Identity::from_body(expected);
    REQUIRE(back);
    CHECK(*back == *id);

    CHECK_FALSE(Identity::from_body(Bytes{2, 0, 0, 0}));            // no data
    CHECK_FALSE(Identity::from_body(Bytes{4, 0, 0, 0, 1, 2, 3, 4}));  // no ID type 4
    CHECK_FALSE(Identity::from_body(Bytes{}));
}

TEST_CASE("ike auth identity: received names are printed safely") {
    const Identity weird{IdType::fqdn, Bytes{'a', '\n', 'b', 0x1b}};
    CHECK(weird.to_string() == "a\\x0ab\\x1b");
    const Identity broken_dn{IdType::der_asn1_dn, Bytes{0x30, 0x05, 0x01}};
    CHECK(broken_dn.to_string() == "ID_DER_ASN1_DN:#300501");
    const Identity key_id{IdType::key_id, Bytes{0xde, 0xad}};
    CHECK(key_id.to_string() == "@#dead");
    const Identity short_v4{IdType::ipv4_addr, Bytes{1, 2}};
    CHECK(short_v4.to_string() == "ID_IPV4_ADDR:#0102");
}

TEST_CASE("ike auth identity: equivalence beyond the bytes") {
    // The moon DN as OpenSSL writes certificates by default: UTF8String.
    const Identity from_cert{
        IdType::der_asn1_dn,
        hex("3031310b300906035504061302434831133011060355040a0c0a7374726f6e675377616e310d300b"
                 "06035504030c046d6f6f6e")};
    auto configured = Identity::parse("C=CH, O=strongSwan, CN=moon");
    REQUIRE(configured);
    CHECK_FALSE(*configured == from_cert);
    CHECK(configured->equivalent(from_cert));
    CHECK(from_cert.equivalent(*configured));
    CHECK_FALSE(Identity::parse("C=CH, O=strongSwan, CN=sun")->equivalent(from_cert));
    CHECK_FALSE(Identity::parse("CN=moon, O=strongSwan, C=CH")->equivalent(from_cert));

    CHECK(Identity::parse("Moon.StrongSwan.org")->equivalent(*Identity::parse("@moon.strongswan.org")));
    CHECK(Identity::parse("Carol@StrongSwan.org")->equivalent(*Identity::parse("carol@strongswan.org")));
    CHECK_FALSE(Identity::parse("carol@strongswan.org")->equivalent(*Identity::parse("strongswan.org")));
    CHECK(Identity::parse("192.0.2.1")->equivalent(*Identity::parse("192.0.2.1")));
    CHECK_FALSE(Identity::parse("192.0.2.1")->equivalent(*Identity::parse("192.0.2.2")));
    const Identity junk{IdType::der_asn1_dn, Bytes{0x30, 0x01}};
    CHECK_FALSE(junk.equivalent(junk));
}
