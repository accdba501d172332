// read_may_wait / write_may_wait: the hints by which the one-thread FUSE
// loop keeps requests that would sleep off its thread. Each answer is
// checked against what the cache then does (a device read, a pause).
#include <catch2/catch.hpp>

#include "tests/cache/fake_fs.h"

using namespace cardfs;
using namespace cardfs::cache;
using namespace cardfs::cache::testing;
using blockdev::BioOp;
using cardfs::testing::FakeDevice;

namespace {
struct Fixture {
  explicit Fixture(Tunables t = {}) : fs(4096), cache(dev, clock, 4096, t) {}
  FakeDevice dev{1 << 16};
  VirtualClock clock;
  FakeFs fs;
  PageCache cache;
};

size_t reads(FakeDevice& dev) { return only(dev.log(), BioOp::kRead).size(); }
}  // namespace

TEST_CASE("a read waits unless every page it touches is cached and uptodate", "[cache][will_wait]") {
  Fixture f;
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  const uint64_t size = 16 * 4096;
  for (uint64_t i = 0; i < 4; ++i) f.fs.place(1, 8 + i, 200 + i);  // on disk, not cached
  REQUIRE(f.cache.write(*as, 0, pattern(4 * 4096, 1), size).is_ok());
  CHECK_FALSE(f.cache.read_may_wait(*as, 0, 4 * 4096, size));
  CHECK_FALSE(f.cache.read_may_wait(*as, 100, 3 * 4096, size));
  CHECK(f.cache.read_may_wait(*as, 3 * 4096, 2 * 4096, size));  // page 4 is not cached
  CHECK_FALSE(f.cache.read_may_wait(*as, size, 4096, size));     // at EOF: nothing to read
  CHECK_FALSE(f.cache.read_may_wait(*as, 0, 0, size));

  // What it said: the cached range reads with no device read, the other does not.
  ReadaheadState ra;
  std::vector<std::byte> out(4096);
  REQUIRE(f.cache.read(*as, ra, 4096, out, size).is_ok());
  CHECK(reads(f.dev) == 0);
  REQUIRE(f.cache.read(*as, ra, 8 * 4096, out, size).is_ok());
  CHECK(reads(f.dev) > 0);
}

TEST_CASE("a read of a page uptodate only in part waits for the part it needs", "[cache][will_wait]") {
  Fixture f;
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  f.fs.place(1, 0, 300);
  // A whole-sector write into an uncached block: sector 0 uptodate, 1..7 on disk.
  REQUIRE(f.cache.write(*as, 0, pattern(512, 2), 4096).is_ok());
  CHECK(reads(f.dev) == 0);
  CHECK_FALSE(f.cache.read_may_wait(*as, 0, 512, 4096));
  CHECK(f.cache.read_may_wait(*as, 0, 1024, 4096));
}

TEST_CASE("a write waits when it would read a partly written sector", "[cache][will_wait]") {
  Fixture f;
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  f.fs.place(1, 0, 300);
  const uint64_t size = 4096;  // the block holds file data
  CHECK_FALSE(f.cache.write_may_wait(*as, 0, 4096, size));  // whole sectors: no read
  CHECK(f.cache.write_may_wait(*as, 100, 10, size));         // sector 0 in part: read first
  CHECK_FALSE(f.cache.write_may_wait(*as, size + 100, 10, size));  // past EOF: zeros, no read
  // It did wait: the partial write read its sector.
  REQUIRE(f.cache.write(*as, 100, pattern(10, 3), size).is_ok());
  CHECK(reads(f.dev) == 1);
  // Now uptodate: the next partial write of that sector reads nothing.
  CHECK_FALSE(f.cache.write_may_wait(*as, 200, 10, size));
}

TEST_CASE("a write waits for a page under write-back", "[cache][will_wait]") {
  Fixture f;
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  REQUIRE(f.cache.write(*as, 0, pattern(8192, 4), 0).is_ok());
  f.dev.set_hold_completions(true);
  REQUIRE(f.cache.write_back_range(*as, 0, 4096, false).is_ok());
  CHECK(f.cache.write_may_wait(*as, 0, 4096, 8192));         // page 0 is being written
  CHECK_FALSE(f.cache.write_may_wait(*as, 4096, 4096, 8192));  // page 1 is not
  f.dev.drain();
  REQUIRE(f.cache.write_back_range(*as, 0, 4096, true).is_ok());
  CHECK_FALSE(f.cache.write_may_wait(*as, 0, 4096, 8192));
}

TEST_CASE("a write waits when its pages would take dirty memory over dirty_ratio", "[cache][will_wait]") {
  Tunables t;
  t.cache_size = 100 * 4096;
  Fixture f(t);
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  const uint64_t limit = uint64_t(stat_of(f.cache.meminfo(), "DirtyLimit")) / 4;  // pages
  REQUIRE(limit > 4);
  const uint64_t size = (limit - 2) * 4096;
  REQUIRE(f.cache.write(*as, 0, pattern(size, 5), 0).is_ok());
  CHECK_FALSE(f.cache.write_may_wait(*as, size, 2 * 4096, size));  // at the limit
  CHECK(f.cache.write_may_wait(*as, size, 3 * 4096, size));        // one page over it
  CHECK(f.cache.write_may_wait(*as, size + 4000, 8192, size));     // 3 pages touched: over it
  // Within the limit, write() does not pause: the clock did not move.
  const Nanos before = f.clock.now();
  REQUIRE(f.cache.write(*as, size, pattern(2 * 4096, 6), size).is_ok());
  CHECK(f.clock.now() == before);
}
