#include "base/crc32c.h"

#include <catch2/catch.hpp>
#include <random>
#include <string_view>
#include <vector>

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

TEST_CASE("crc32c: the hardware and the table paths agree at every length and alignment") {
  const uint64_t seed = 20261121;
  std::mt19937_64 rng(seed);
  std::vector<std::byte> buf(4096 + 16);
  for (auto& b : buf) b = std::byte(rng());
  for (size_t align = 0; align < 8; ++align) {
    for (size_t len : {0, 1, 7, 8, 9, 15, 16, 63, 512, 4095, 4096}) {
      std::span<const std::byte> s{buf.data() + align, len};
      const uint32_t start = uint32_t(rng());
      INFO("seed " << seed << " align " << align << " len " << len);
      CHECK(crc32c(start, s) == cardfs::crc32c_portable(start, s));
    }
  }
}
