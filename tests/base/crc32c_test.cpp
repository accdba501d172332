#include "base/crc32c.h"

#include <algorithm>
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
  std::vector<std::byte> buf(65536 + 16);
  for (auto& b : buf) b = std::byte(rng());
  for (size_t align = 0; align < 8; ++align) {
    // Around the three-stream runs (3 x 80 and 3 x 1360 bytes) and their
    // multiples: a directory block's 4084, a block, a card page.
    for (size_t len : {0, 1, 7, 8, 9, 15, 16, 63, 239, 240, 241, 247, 248, 256, 479, 480, 512,
                       4079, 4080, 4081, 4084, 4095, 4096, 4320, 8160, 8400, 12345, 16384,
                       65536}) {
      std::span<const std::byte> s{buf.data() + align, len};
      const uint32_t start = uint32_t(rng());
      INFO("seed " << seed << " align " << align << " len " << len);
      CHECK(crc32c(start, s) == cardfs::crc32c_portable(start, s));
    }
  }
}

TEST_CASE("crc32c_patch gives the sum of the changed message without reading it") {
  const uint64_t seed = 20261207;
  std::mt19937_64 rng(seed);
  for (size_t len : {1, 8, 100, 4084, 4096, 70000, 140000}) {
    std::vector<std::byte> msg(len);
    for (auto& b : msg) b = std::byte(rng());
    const uint32_t start = uint32_t(rng());
    uint32_t sum = crc32c(start, msg);
    for (int round = 0; round < 50; ++round) {
      const size_t n = 1 + rng() % std::min<size_t>(len, 300);
      const size_t at = rng() % (len - n + 1);
      std::vector<std::byte> before(msg.begin() + at, msg.begin() + at + n);
      for (size_t i = at; i < at + n; ++i)
        if (rng() % 3) msg[i] = std::byte(rng());
      sum = cardfs::crc32c_patch(sum, len, at, before, {msg.data() + at, n});
      INFO("seed " << seed << " len " << len << " round " << round << " at " << at << " n " << n);
      REQUIRE(sum == crc32c(start, msg));
    }
  }
  // The halves: the linear part of bytes, shifted past zeros, equals the
  // linear part of those bytes followed by the zeros.
  std::vector<std::byte> b(300);
  for (auto& x : b) x = std::byte(rng());
  for (size_t zeros : {0, 1, 255, 256, 257, 4000, 65535, 65536, 65537, 200000}) {
    std::vector<std::byte> padded(b);
    padded.resize(b.size() + zeros);
    CHECK(cardfs::crc32c_shift(cardfs::crc32c_linear(b), zeros) == cardfs::crc32c_linear(padded));
  }
}
