// balance_dirty_pages: writers outpacing the device wait; nothing is lost.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "tests/cache/fake_fs.h"

using namespace cardfs;
using namespace cardfs::cache;
using namespace cardfs::cache::testing;
using blockdev::BioOp;
using namespace std::chrono_literals;

TEST_CASE("a writer outpacing a slow device is held near dirty_ratio", "[cache][throttle]") {
  cardfs::testing::FakeDevice dev({.sectors = 1 << 16, .per_bio = 10ms});  // 100 pages a second
  StepClock clock(dev);
  FakeFs fs(4096);
  Tunables t;
  t.cache_size = 400 * PageCache::bytes_per_page();  // dirty limit 80 pages, background 40
  PageCache cache(dev, clock, 4096, t);
  auto as = cache.create_address_space(1, fs.getter(1));
  const int kPages = 1000;
  int64_t peak = 0;
  for (int i = 0; i < kPages; ++i) {
    auto data = pattern(4096, uint32_t(i));
    REQUIRE(*cache.write(*as, uint64_t(i) * 4096, data, uint64_t(i) * 4096) == 4096);
    auto mi = cache.meminfo();
    peak = std::max(peak, stat_of(mi, "Dirty") + stat_of(mi, "Writeback"));
  }
  INFO(cache.vmstat());
  CHECK(peak <= 80 * 4);  // never above the limit once write() returns
  CHECK(peak >= 70 * 4);  // and the writer did run up to it
  auto vm = cache.vmstat();
  CHECK(stat_of(vm, "throttle_events") > 0);
  // The writer was held to the device's pace: ~10 ms a page past the limit.
  CHECK(clock.now() >= 9ms * (kPages - 80));
  CHECK(clock.now() <= 15ms * kPages);
  dev.drain();
  REQUIRE(cache.sync_all().is_ok());
  for (int i = 0; i < kPages; i += 97) {
    std::vector<std::byte> disk(4096);
    dev.peek_bytes(fs.block_of(1, uint64_t(i)) * 4096, disk);
    INFO("page " << i);
    CHECK(disk == pattern(4096, uint32_t(i)));
  }
}

TEST_CASE("throttle pauses double from 1 ms up to 100 ms", "[cache][throttle]") {
  cardfs::testing::FakeDevice dev({.sectors = 1 << 16, .per_bio = 1000ms});  // very slow: long pauses
  StepClock clock(dev);
  FakeFs fs(4096);
  Tunables t;
  t.cache_size = 100 * PageCache::bytes_per_page();  // dirty limit 20 pages
  PageCache cache(dev, clock, 4096, t);
  auto as = cache.create_address_space(1, fs.getter(1));
  for (int i = 0; i < 21; ++i) REQUIRE(cache.write(*as, i * 4096, pattern(4096, 1), i * 4096).is_ok());
  // The 21st page waited for the first bio: 1+2+4+...+64 = 127 ms, then 100 ms steps.
  Nanos t0 = clock.now();
  CHECK(t0 >= 1000ms);
  CHECK(t0 <= 1100ms);
  CHECK(stat_of(cache.vmstat(), "throttle_events") == 1);
  dev.drain();
  REQUIRE(cache.sync_all().is_ok());
}

TEST_CASE("the flusher thread starts background write-back above the background ratio",
          "[cache][throttle][flusher]") {
  cardfs::testing::FakeDevice dev(1 << 14);
  VirtualClock clock(false);  // time stands still: only the kick can start it
  FakeFs fs(4096);
  Tunables t;
  t.cache_size = 100 * PageCache::bytes_per_page();
  PageCache cache(dev, clock, 4096, t);
  auto as = cache.create_address_space(1, fs.getter(1));
  cache.start_flusher();
  for (int i = 0; i < 10; ++i) REQUIRE(cache.write(*as, i * 4096, pattern(4096, 1), i * 4096).is_ok());
  std::this_thread::sleep_for(30ms);
  CHECK(dev.count(BioOp::kWrite) == 0);
  REQUIRE(cache.write(*as, 10 * 4096, pattern(4096, 1), 10 * 4096).is_ok());
  for (int i = 0; i < 5000 && dev.count(BioOp::kWrite) == 0; ++i) std::this_thread::sleep_for(1ms);
  cache.stop_flusher();
  CHECK(dev.count(BioOp::kWrite) > 0);
  CHECK(stat_of(cache.vmstat(), "background_writeback") >= 1);
}
