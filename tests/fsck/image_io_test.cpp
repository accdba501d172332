#include <catch2/catch.hpp>

#include "tests/support/fake_device.h"
#include "tools/fsck/image_io.h"

namespace cardfs::fsck {

TEST_CASE("image io: unaligned writes through a device keep neighbouring bytes") {
  cardfs::testing::FakeDevice dev(64);
  DeviceIo io(dev, false);
  std::vector<std::byte> ones(700, std::byte{1}), twos(10, std::byte{2});
  REQUIRE(io.write(100, ones).is_ok());
  REQUIRE(io.write(509, twos).is_ok());
  std::vector<std::byte> back(1000);
  REQUIRE(io.read(0, back).is_ok());
  CHECK(back[99] == std::byte{0});
  CHECK(back[100] == std::byte{1});
  CHECK(back[508] == std::byte{1});
  CHECK(back[509] == std::byte{2});
  CHECK(back[518] == std::byte{2});
  CHECK(back[519] == std::byte{1});
  CHECK(back[800] == std::byte{0});
  CHECK(io.read(64 * 512 - 10, std::span(back).first(20)).code() == EINVAL);
}

TEST_CASE("image io: read-only sources refuse writes") {
  cardfs::testing::FakeDevice dev(8);
  DeviceIo ro(dev, true);
  std::vector<std::byte> b(16);
  CHECK(ro.write(0, b).code() == EROFS);
  MemoryIo mem(std::vector<std::byte>(32), true);
  CHECK(mem.write(0, b).code() == EROFS);
  CHECK(mem.read(20, b).code() == EINVAL);
}

}  // namespace cardfs::fsck
