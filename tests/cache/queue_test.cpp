// The cache over the real request queue: per-page write-back bios under
// one plug become seed 001's Q/M/I/D/C — queued, merged, one dispatch.
#include <catch2/catch.hpp>

#include "blockdev/queue.h"
#include "tests/blockdev/fake_driver.h"
#include "tests/cache/fake_fs.h"

using namespace cardfs;
using namespace cardfs::cache;
using namespace cardfs::cache::testing;
using namespace cardfs::blockdev::blktrace;

TEST_CASE("write-back of seed 004's scattered pages reaches the driver as one request",
          "[cache][queue]") {
  cardfs::testing::FakeDriver driver(1 << 16);
  VirtualClock clock;
  blockdev::Queue queue(driver, clock);
  FakeFs fs(4096);
  // Pages 1..4 at blocks 10, 12, 11, 13: written Page1, Page3, Page2, Page4.
  for (uint64_t i = 0; i < 4; ++i) fs.place(1, i, 10 + (i == 1 ? 2 : i == 2 ? 1 : i));
  {
    PageCache cache(queue, clock, 4096);
    auto as = cache.create_address_space(1, fs.getter(1));
    REQUIRE(cache.write(*as, 0, pattern(4 * 4096, 1), 4 * 4096).is_ok());
    REQUIRE(cache.write_back_range(*as, 0, 4 * 4096, true).is_ok());
    queue.wait_idle();
    CHECK(queue.counter(kActQueue).total() == 4);
    CHECK(queue.counter(kActBackMerge).total() == 3);
    CHECK(queue.counter(kActIssue).total() == 1);
    CHECK(queue.counter(kActComplete).total() == 1);
  }
  auto log = driver.log();
  REQUIRE(log.size() == 1);
  CHECK(log[0].sector == 80);
  CHECK(log[0].sectors == 32);
}
