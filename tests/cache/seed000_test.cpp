// Seed 000: memory intermediates every interaction with the disk.
#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

#include "tests/cache/fake_fs.h"
#include "tests/cache/file_fixture.h"

using namespace cardfs;
using namespace cardfs::cache;
using namespace cardfs::cache::testing;
using blockdev::BioOp;
using std::chrono::seconds;

using Fixture = FileFixture;

TEST_CASE("buffered write completes with no device write", "[cache][seed000]") {
  Fixture f;
  auto data = pattern(3 * 4096 + 100, 1);
  auto n = f.cache.write(*f.as, 0, data, 0);
  REQUIRE(n.is_ok());
  CHECK(*n == data.size());
  CHECK(f.dev.log().empty());
  CHECK(stat_of(f.cache.meminfo(), "Dirty") == 16);
}

TEST_CASE("read of just-written data issues no device read", "[cache][seed000]") {
  Fixture f;
  auto data = pattern(10000, 2);
  REQUIRE(f.cache.write(*f.as, 0, data, 0).is_ok());
  std::vector<std::byte> out(10000);
  ReadaheadState ra;
  auto n = f.cache.read(*f.as, ra, 0, out, 10000);
  REQUIRE(n.is_ok());
  CHECK(*n == 10000);
  CHECK(out == data);
  CHECK(f.dev.log().empty());
}

TEST_CASE("dirty data reaches the device after dirty_expire plus one period", "[cache][seed000]") {
  Fixture f;
  auto data = pattern(4096, 3);
  REQUIRE(f.cache.write(*f.as, 0, data, 0).is_ok());
  // The flusher wakes every 5 s; nothing is old enough before 30 s.
  for (int t = 5; t < 30; t += 5) {
    f.clock.set(seconds(t));
    f.cache.run_flusher_once();
    INFO("t=" << t);
    CHECK(f.dev.count(BioOp::kWrite) == 0);
  }
  f.clock.set(seconds(30));
  f.cache.run_flusher_once();
  CHECK(f.dev.count(BioOp::kWrite) == 1);
  std::vector<std::byte> disk(4096);
  f.dev.peek_bytes(f.fs.block_of(Fixture::kIno, 0) * 4096, disk);
  CHECK(disk == data);
  CHECK(stat_of(f.cache.meminfo(), "Dirty") == 0);
}

TEST_CASE("fsync writes at once, then flushes the device", "[cache][seed000]") {
  Fixture f;
  auto data = pattern(8192, 4);
  REQUIRE(f.cache.write(*f.as, 0, data, 0).is_ok());
  REQUIRE(f.cache.fsync(*f.as, false).is_ok());
  auto log = f.dev.log();
  REQUIRE(log.size() == 3);
  CHECK(log[0].op == BioOp::kWrite);
  CHECK(log[1].op == BioOp::kWrite);
  CHECK(log[2].op == BioOp::kFlush);
  CHECK((log[0].flags & blockdev::kBioSync) != 0);
}

TEST_CASE("after eviction a read issues one device read", "[cache][seed000]") {
  Fixture f;
  Tunables t;
  t.cache_size = 16 * PageCache::bytes_per_page();
  f.cache.set_tunables(t);
  auto data = pattern(4096, 5);
  REQUIRE(f.cache.write(*f.as, 0, data, 0).is_ok());
  REQUIRE(f.cache.fsync(*f.as, false).is_ok());
  // Fill the cache with another file's clean pages until page 0 is gone.
  auto other = f.cache.create_address_space(8, f.fs.getter(8));
  auto filler = pattern(4096, 6);
  for (int i = 0; i < 64; ++i) REQUIRE(f.cache.write(*other, i * 4096, filler, i * 4096).is_ok());
  REQUIRE(f.cache.fsync(*other, false).is_ok());
  CHECK(stat_of(f.cache.vmstat(), "pgsteal") > 0);
  f.dev.clear_log();
  std::vector<std::byte> out(4096);
  ReadaheadState ra;
  ra.prev_pos = 1 << 20;  // not sequential: no readahead beyond the page
  REQUIRE(*f.cache.read(*f.as, ra, 0, out, 4096) == 4096);
  CHECK(out == data);
  CHECK(f.dev.count(BioOp::kRead) == 1);
  f.dev.clear_log();
  REQUIRE(*f.cache.read(*f.as, ra, 0, out, 4096) == 4096);
  CHECK(f.dev.log().empty());
}

TEST_CASE("flusher thread writes expired data on its own", "[cache][seed000][flusher]") {
  cardfs::testing::FakeDevice dev{1 << 14};
  VirtualClock clock(false);
  FakeFs fs{4096};
  PageCache cache{dev, clock, 4096};
  auto as = cache.create_address_space(1, fs.getter(1));
  cache.start_flusher();
  REQUIRE(cache.write(*as, 0, pattern(4096, 7), 0).is_ok());
  auto wait_for_write = [&](int ms) {
    for (int i = 0; i < ms && dev.count(BioOp::kWrite) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return dev.count(BioOp::kWrite);
  };
  clock.advance(seconds(25));
  CHECK(wait_for_write(50) == 0);
  clock.advance(seconds(10));
  CHECK(wait_for_write(5000) == 1);
  cache.stop_flusher();
  CHECK(stat_of(cache.vmstat(), "flusher_wakeups") > 0);
}

TEST_CASE("pages read twice survive a streaming read through the active list", "[cache][lru]") {
  Fixture f;
  Tunables t;
  t.cache_size = 64 * PageCache::bytes_per_page();
  f.cache.set_tunables(t);
  const uint64_t kStream = 300;
  for (uint64_t i = 0; i < kStream + 16; ++i) f.fs.place(Fixture::kIno, i, 1000 + i);
  uint64_t size = (kStream + 16) * 4096;
  std::vector<std::byte> buf(4096);
  ReadaheadState hot_ra, stream_ra;
  hot_ra.prev_pos = 1ull << 40;  // a random reader: no readahead
  for (int pass = 0; pass < 2; ++pass)
    for (uint64_t i = kStream; i < kStream + 16; ++i)
      REQUIRE(f.cache.read(*f.as, hot_ra, i * 4096, buf, size).is_ok());
  CHECK(stat_of(f.cache.meminfo(), "Active(file)") == 16 * 4);
  for (uint64_t i = 0; i < kStream; ++i) REQUIRE(f.cache.read(*f.as, stream_ra, i * 4096, buf, size).is_ok());
  CHECK(stat_of(f.cache.vmstat(), "pgsteal") > 0);
  f.dev.clear_log();
  for (uint64_t i = kStream; i < kStream + 16; ++i)
    REQUIRE(f.cache.read(*f.as, hot_ra, i * 4096, buf, size).is_ok());
  CHECK(f.dev.count(BioOp::kRead) == 0);
}

TEST_CASE("tunables change at run time", "[cache][tunables]") {
  Fixture f;
  auto data = pattern(64 * 4096, 9);
  REQUIRE(f.cache.write(*f.as, 0, data, 0).is_ok());
  REQUIRE(f.cache.fsync(*f.as, false).is_ok());
  CHECK(stat_of(f.cache.meminfo(), "Cached") == 64 * 4);
  Tunables t = f.cache.tunables();
  t.cache_size = 32 * PageCache::bytes_per_page();
  t.dirty_expire_centisecs = 100;
  f.cache.set_tunables(t);
  CHECK(stat_of(f.cache.meminfo(), "Cached") < 32 * 4);  // shrunk at once
  CHECK(stat_of(f.cache.meminfo(), "CacheLimit") == 32 * 4);
  CHECK(f.cache.tunables().dirty_expire_centisecs == 100);
  REQUIRE(f.cache.write(*f.as, 0, pattern(4096, 1), 64 * 4096).is_ok());
  f.dev.clear_log();
  f.clock.advance(std::chrono::seconds(1));
  f.cache.run_flusher_once();  // 1 s is now old enough
  CHECK(f.dev.count(BioOp::kWrite) == 1);
}
