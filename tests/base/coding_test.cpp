#include "base/coding.h"

#include <array>
#include <catch2/catch.hpp>

using namespace cardfs;

TEST_CASE("little-endian fields round-trip with explicit byte order") {
  std::array<std::byte, 8> b{};
  put_u32(b.data(), 0x11223344u);
  CHECK(b[0] == std::byte{0x44});
  CHECK(b[3] == std::byte{0x11});
  CHECK(get_u32(b.data()) == 0x11223344u);
  put_u64(b.data(), 0x0102030405060708ull);
  CHECK(get_u64(b.data()) == 0x0102030405060708ull);
  put_u16(b.data(), 0xBEEF);
  CHECK(get_u16(b.data()) == 0xBEEF);
}

TEST_CASE("Decoder refuses reads past the end of the buffer") {
  std::array<std::byte, 6> b{};
  Encoder enc(b);
  enc.u32(7);
  enc.u16(9);
  CHECK(enc.ok());
  enc.u8(1);
  CHECK_FALSE(enc.ok());

  Decoder dec(b);
  CHECK(dec.u32() == 7);
  CHECK(dec.u16() == 9);
  CHECK(dec.ok());
  CHECK(dec.u64() == 0);
  CHECK_FALSE(dec.ok());
}
