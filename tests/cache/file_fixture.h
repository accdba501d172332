// One file's address space in a PageCache over a FakeDevice and a FakeFs:
// the fixture of the cache tests that drive a single file (direct I/O,
// truncate and punch, seed 000).
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <vector>

#include "tests/cache/fake_fs.h"

namespace cardfs::cache::testing {

struct FileFixture {
  static constexpr uint64_t kIno = 1;
  cardfs::testing::FakeDevice dev{1 << 16};
  VirtualClock clock;
  FakeFs fs{4096};
  PageCache cache{dev, clock, 4096};
  std::shared_ptr<AddressSpace> as = cache.create_address_space(kIno, fs.getter(kIno));

  // The file's first `size` bytes, read through the cache.
  std::vector<std::byte> read_all(uint64_t size) {
    std::vector<std::byte> out(size);
    ReadaheadState ra;
    auto n = cache.read(*as, ra, 0, out, size);
    REQUIRE(n.is_ok());
    REQUIRE(*n == size);
    return out;
  }
};

}  // namespace cardfs::cache::testing
