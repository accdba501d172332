// Truncate and hole punching of cached pages.
#include <catch2/catch.hpp>

#include "tests/cache/file_fixture.h"

using namespace cardfs;
using namespace cardfs::cache;
using namespace cardfs::cache::testing;
using blockdev::BioOp;

TEST_CASE("truncate drops pages past EOF and zeroes the partial last page", "[cache][truncate]") {
  FileFixture f;
  auto data = pattern(5 * 4096, 1);
  REQUIRE(f.cache.write(*f.as, 0, data, 0).is_ok());
  REQUIRE(f.cache.fsync(*f.as, false).is_ok());
  f.cache.truncate_pages(*f.as, 4096 + 1000);
  CHECK(stat_of(f.cache.meminfo(), "Cached") == 8);
  // The caller frees blocks 2..4; then the file grows again (a hole).
  for (int b = 2; b < 5; ++b) f.fs.unmap(1, b);
  auto out = f.read_all(5 * 4096);
  std::vector<std::byte> want(5 * 4096);
  std::copy(data.begin(), data.begin() + 4096 + 1000, want.begin());
  CHECK(out == want);
  // The tail of block 1 is zero on disk too, once written back.
  REQUIRE(f.cache.fsync(*f.as, false).is_ok());
  std::vector<std::byte> disk(4096);
  f.dev.peek_bytes(f.fs.block_of(1, 1) * 4096, disk);
  CHECK(std::equal(disk.begin(), disk.end(), want.begin() + 4096));
}

TEST_CASE("truncate of an uncached file zeroes the on-disk tail of the last block",
          "[cache][truncate]") {
  FileFixture f;
  f.fs.place(1, 0, 500);
  auto old = pattern(4096, 2);
  f.dev.poke_bytes(500 * 4096, old);
  f.cache.truncate_pages(*f.as, 700);
  REQUIRE(f.cache.fsync(*f.as, false).is_ok());
  std::vector<std::byte> disk(4096), want(4096);
  std::copy(old.begin(), old.begin() + 700, want.begin());
  f.dev.peek_bytes(500 * 4096, disk);
  CHECK(disk == want);
  // Only the sector holding EOF was read.
  auto r = only(f.dev.log(), BioOp::kRead);
  REQUIRE(r.size() == 1);
  CHECK(r[0].sectors == 1);
}

TEST_CASE("punch zeroes partial pages and drops whole ones", "[cache][truncate]") {
  FileFixture f;
  auto data = pattern(4 * 4096, 3);
  REQUIRE(f.cache.write(*f.as, 0, data, 0).is_ok());
  f.cache.punch_pages(*f.as, 2048, 2 * 4096);  // [2048, 10240): half of 0, all of 1, half of 2
  f.fs.unmap(1, 1);                             // the caller frees block 1
  std::fill(data.begin() + 2048, data.begin() + 10240, std::byte{0});
  CHECK(f.read_all(4 * 4096) == data);
  REQUIRE(f.cache.fsync(*f.as, false).is_ok());
  for (uint64_t b : {0, 2}) {
    std::vector<std::byte> disk(4096);
    f.dev.peek_bytes(f.fs.block_of(1, b) * 4096, disk);
    CHECK(std::equal(disk.begin(), disk.end(), data.begin() + b * 4096));
  }
}

TEST_CASE("destroy_address_space discards dirty pages", "[cache][truncate]") {
  FileFixture f;
  REQUIRE(f.cache.write(*f.as, 0, pattern(8192, 4), 0).is_ok());
  f.cache.destroy_address_space(*f.as);
  CHECK(stat_of(f.cache.meminfo(), "Dirty") == 0);
  CHECK(stat_of(f.cache.meminfo(), "Cached") == 0);
  REQUIRE(f.cache.sync_all().is_ok());
  CHECK(f.dev.count(BioOp::kWrite) == 0);
}
