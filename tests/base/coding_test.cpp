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

TEST_CASE("fields at any offset: every byte in its place, the high bits kept") {
  std::array<std::byte, 16> b{};
  for (size_t off = 0; off < 8; ++off) {
    b.fill(std::byte{0xAA});
    put_u64(b.data() + off, 0xF1E2D3C4B5A69788ull);
    const uint8_t want[8] = {0x88, 0x97, 0xA6, 0xB5, 0xC4, 0xD3, 0xE2, 0xF1};
    for (size_t i = 0; i < 8; ++i) CHECK(b[off + i] == std::byte{want[i]});
    if (off > 0) CHECK(b[off - 1] == std::byte{0xAA});
    CHECK(b[off + 8] == std::byte{0xAA});
    CHECK(get_u64(b.data() + off) == 0xF1E2D3C4B5A69788ull);
    CHECK(get_u32(b.data() + off) == 0xB5A69788u);
    CHECK(get_u32(b.data() + off + 4) == 0xF1E2D3C4u);
    CHECK(get_u16(b.data() + off + 6) == 0xF1E2);
    put_u32(b.data() + off, 0x80FF0102u);
    CHECK(b[off] == std::byte{0x02});
    CHECK(b[off + 3] == std::byte{0x80});
    CHECK(b[off + 4] == std::byte{0xC4});
    CHECK(get_u32(b.data() + off) == 0x80FF0102u);
    put_u16(b.data() + off + 1, 0xFE7F);
    CHECK(b[off + 1] == std::byte{0x7F});
    CHECK(b[off + 2] == std::byte{0xFE});
    CHECK(b[off + 3] == std::byte{0x80});
  }
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
