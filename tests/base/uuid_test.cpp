#include "base/uuid.h"

#include <catch2/catch.hpp>

using cardfs::parse_uuid;
using cardfs::uuid_text;

TEST_CASE("uuid: text round-trips through libuuid's form") {
  auto u = parse_uuid("1B4E28BA-2FA1-11D2-883F-0016D3CCA427");
  REQUIRE(u.is_ok());
  CHECK((*u)[0] == 0x1b);
  CHECK((*u)[15] == 0x27);
  CHECK(uuid_text(*u) == "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
}

TEST_CASE("uuid: random, time and null as mke2fs -U takes them") {
  auto a = parse_uuid("random"), b = parse_uuid("random");
  REQUIRE(a.is_ok());
  REQUIRE(b.is_ok());
  CHECK(*a != *b);
  CHECK(((*a)[6] >> 4) == 4);  // version 4
  CHECK(((*parse_uuid("time"))[6] >> 4) == 1);
  CHECK(uuid_text(*parse_uuid("null")) == "00000000-0000-0000-0000-000000000000");
}

TEST_CASE("uuid: anything else is refused") {
  for (const char* bad : {"", "1b4e28ba2fa111d2883f0016d3cca427", "1b4e28ba-2fa1-11d2-883f-0016d3cca42",
                          "1b4e28ba-2fa1-11d2-883f-0016d3cca42g", "rand"}) {
    INFO(bad);
    CHECK(parse_uuid(bad).status().code() == EINVAL);
  }
}
