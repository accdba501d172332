#include "base/crc32c.h"

#include <catch2/catch.hpp>
#include <string_view>

using cardfs::crc32c;

static std::span<const std::byte> bytes(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

TEST_CASE("crc32c matches the standard check values") {
  CHECK(crc32c(bytes("123456789")) == 0xE3069283u);  // RFC 3720 check value
  CHECK(crc32c(bytes("")) == 0u);
  // Extending in pieces equals one pass.
  CHECK(crc32c(crc32c(bytes("12345")), bytes("6789")) == 0xE3069283u);
}
