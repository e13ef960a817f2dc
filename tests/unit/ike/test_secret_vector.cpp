#include "ike/bytes.h"
#include "ike/ike_types.h"

#include <doctest/doctest.h>

TEST_CASE("SecretVector keeps its bytes across append and resize") {
    xdpsec::ike::SecretVector v;
    const uint8_t a[3] = {1, 2, 3};
    v.append(a);
    v.append(a);
    v.resize(4);
    REQUIRE(v.size() == 4);
    CHECK(v.data()[3] == 1);
    v.resize(40);
    CHECK(v.data()[2] == 3);
}
