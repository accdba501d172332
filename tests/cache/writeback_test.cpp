// Write-back: order, merging, sub-page dirtiness, partial writes, errors.
#include <catch2/catch.hpp>

#include <spdlog/sinks/ostream_sink.h>

#include <algorithm>
#include <sstream>

#include "base/log.h"

#include "tests/cache/fake_fs.h"

using namespace cardfs;
using namespace cardfs::cache;
using namespace cardfs::cache::testing;
using blockdev::BioOp;
using cardfs::testing::FakeDevice;

namespace {
struct Fixture {
  explicit Fixture(uint32_t bs = 4096, Tunables t = {}) : fs(bs), cache(dev, clock, bs, t) {}
  FakeDevice dev{1 << 16};
  VirtualClock clock;
  FakeFs fs;
  PageCache cache;
};

// Writes every page of `order` and lays file block i at device block
// 100 + layout[i]: file order and disk order differ.
void scatter(Fixture& f, AddressSpace& as, const std::vector<uint64_t>& layout) {
  for (uint64_t i = 0; i < layout.size(); ++i) f.fs.place(1, i, 100 + layout[i]);
  for (uint64_t i = 0; i < layout.size(); ++i) {
    REQUIRE(f.cache.write(as, i * 4096, pattern(4096, uint32_t(i)), layout.size() * 4096).is_ok());
  }
}
}  // namespace

TEST_CASE("write-back reaches the device sorted by sector, one bio per page", "[cache][writeback]") {
  Fixture f;
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  // Seed 004: pages 1..4 map to blocks 10, 12, 11, 13 → Page1 Page3 Page2 Page4.
  scatter(f, *as, {0, 2, 1, 3, 9, 7, 8, 5});
  REQUIRE(f.cache.write_back_range(*as, 0, 8 * 4096, true).is_ok());
  auto w = only(f.dev.log(), BioOp::kWrite);
  REQUIRE(w.size() == 8);
  for (size_t i = 1; i < w.size(); ++i) CHECK(w[i - 1].sector < w[i].sector);
  for (auto& b : w) CHECK(b.sectors == 8);
  // Mergeable: runs of back-to-back sectors, {0..3} and {5}, {7,8,9}.
  size_t runs = 1;
  for (size_t i = 1; i < w.size(); ++i)
    if (w[i - 1].sector + w[i - 1].sectors != w[i].sector) ++runs;
  CHECK(runs == 3);
  for (uint64_t i = 0; i < 8; ++i) {
    std::vector<std::byte> disk(4096);
    f.dev.peek_bytes(f.fs.block_of(1, i) * 4096, disk);
    CHECK(disk == pattern(4096, uint32_t(i)));
  }
}

TEST_CASE("multipage bios gather disk-contiguous pages into the fewest bios", "[cache][writeback]") {
  Tunables t;
  t.multipage_bios = true;
  Fixture f(4096, t);
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  scatter(f, *as, {0, 2, 1, 3, 9, 7, 8, 5});
  REQUIRE(f.cache.write_back_range(*as, 0, 8 * 4096, true).is_ok());
  auto w = only(f.dev.log(), BioOp::kWrite);
  REQUIRE(w.size() == 3);
  CHECK(w[0].sector == 800);
  CHECK(w[0].sectors == 32);
  CHECK(w[1].sectors == 8);
  CHECK(w[2].sectors == 24);
}

TEST_CASE("changing 256 bytes of a cached page writes one 512-byte sector", "[cache][writeback]") {
  Fixture f;
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  REQUIRE(f.cache.write(*as, 0, pattern(4096, 1), 0).is_ok());
  REQUIRE(f.cache.fsync(*as, false).is_ok());
  f.dev.clear_log();
  REQUIRE(f.cache.write(*as, 1024 + 100, pattern(256, 2), 4096).is_ok());
  REQUIRE(f.cache.fsync(*as, true).is_ok());
  auto w = only(f.dev.log(), BioOp::kWrite);
  REQUIRE(w.size() == 1);
  CHECK(w[0].sectors == 1);
  CHECK(w[0].sector == f.fs.block_of(1, 0) * 8 + 2);
  CHECK(f.dev.count(BioOp::kRead) == 0);
  CHECK(stat_of(f.cache.vmstat(), "pgpgout_sectors") == 9);
}

TEST_CASE("a partial write to an uncached page reads only the partial sectors", "[cache][writeback]") {
  Fixture f;
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  f.fs.place(1, 0, 300);
  auto old = pattern(4096, 3);
  f.dev.poke_bytes(300 * 4096, old);
  // 700 bytes from 100: sector 0 and 1 partially covered.
  auto patch = pattern(700, 4);
  REQUIRE(f.cache.write(*as, 100, patch, 4096).is_ok());
  auto r = only(f.dev.log(), BioOp::kRead);
  REQUIRE(r.size() == 1);
  CHECK(r[0].sector == 300 * 8);
  CHECK(r[0].sectors == 2);
  REQUIRE(f.cache.fsync(*as, true).is_ok());
  std::copy(patch.begin(), patch.end(), old.begin() + 100);
  std::vector<std::byte> disk(4096);
  f.dev.peek_bytes(300 * 4096, disk);
  CHECK(disk == old);
  // And the whole page reads back right (the rest read on demand).
  std::vector<std::byte> out(4096);
  ReadaheadState ra;
  REQUIRE(*f.cache.read(*as, ra, 0, out, 4096) == 4096);
  CHECK(out == old);
}

TEST_CASE("writes into holes and past EOF read nothing and fresh blocks are written whole",
          "[cache][writeback]") {
  Fixture f(1024);
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  REQUIRE(f.cache.write(*as, 1500, pattern(100, 5), 0).is_ok());
  CHECK(f.dev.count(BioOp::kRead) == 0);
  REQUIRE(f.cache.fsync(*as, true).is_ok());
  // Only file block 1 (1 KiB) was allocated and written, zeros around the data.
  auto w = only(f.dev.log(), BioOp::kWrite);
  REQUIRE(w.size() == 1);
  CHECK(w[0].sectors == 2);
  CHECK(f.fs.block_of(1, 0) == ~0ull);
  std::vector<std::byte> disk(1024), want(1024);
  auto p = pattern(100, 5);
  std::copy(p.begin(), p.end(), want.begin() + 476);
  f.dev.peek_bytes(f.fs.block_of(1, 1) * 1024, disk);
  CHECK(disk == want);
}

TEST_CASE("a failed write-back is reported by fsync, and stays reported", "[cache][writeback]") {
  Fixture f;
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  REQUIRE(f.cache.write(*as, 0, pattern(4096, 6), 0).is_ok());
  f.dev.fail_next(1, EIO);
  Status st = f.cache.fsync(*as, false);
  CHECK(st.code() == EIO);
  CHECK(f.cache.fsync(*as, false).code() == EIO);
  CHECK(stat_of(f.cache.vmstat(), "writeback_errors") == 1);
  CHECK(stat_of(f.cache.meminfo(), "Writeback") == 0);
}

TEST_CASE("a failed metadata write-back is logged as metadata, not as inode 2^64 - 1",
          "[cache][writeback]") {
  Fixture f;
  std::ostringstream log;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(log);
  auto cache_log = cardfs::logger("cache");
  cache_log->sinks().push_back(sink);
  auto b = f.cache.bget_zeroed(9);
  REQUIRE(b.is_ok());
  b->mark_dirty();
  f.dev.fail_next(1, EIO);
  CHECK(f.cache.sync_all().code() == EIO);
  cache_log->sinks().pop_back();
  INFO(log.str());
  CHECK(log.str().find("write-back of metadata page") != std::string::npos);
  CHECK(log.str().find("18446744073709551615") == std::string::npos);
}

TEST_CASE("ENOSPC from get_block fails the write, short when some bytes went in",
          "[cache][writeback]") {
  Fixture f;
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  REQUIRE(f.cache.write(*as, 0, pattern(4096, 7), 0).is_ok());
  f.fs.set_enospc(true);
  auto n = f.cache.write(*as, 0, pattern(8192, 8), 4096);
  REQUIRE(n.is_ok());
  CHECK(*n == 4096);
  auto m = f.cache.write(*as, 8192, pattern(10, 9), 8192);
  CHECK(m.status().code() == ENOSPC);
}

TEST_CASE("background write-back starts above dirty_background_ratio", "[cache][writeback]") {
  Tunables t;
  t.cache_size = 100 * PageCache::bytes_per_page();  // background above 10 pages, throttle above 20
  Fixture f(4096, t);
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  for (int i = 0; i < 10; ++i) REQUIRE(f.cache.write(*as, i * 4096, pattern(4096, 1), i * 4096).is_ok());
  f.cache.run_flusher_once();  // nothing expired, not above 10 %
  CHECK(f.dev.count(BioOp::kWrite) == 0);
  REQUIRE(f.cache.write(*as, 10 * 4096, pattern(4096, 1), 10 * 4096).is_ok());
  f.cache.run_flusher_once();
  CHECK(f.dev.count(BioOp::kWrite) > 0);
  CHECK(stat_of(f.cache.meminfo(), "Dirty") <= 10 * 4);
  CHECK(stat_of(f.cache.vmstat(), "background_writeback") == 1);
}

TEST_CASE("background write-back sends file data before older dirty metadata", "[cache][writeback]") {
  Tunables t;
  t.cache_size = 100 * PageCache::bytes_per_page();  // background above 10 pages
  Fixture f(4096, t);
  // Metadata dirtied first (the oldest dirty inode), then two files' data.
  {
    auto meta = f.cache.bget_zeroed(5);
    REQUIRE(meta.is_ok());
    meta->mark_dirty();
  }
  auto a = f.cache.create_address_space(1, f.fs.getter(1));
  auto b = f.cache.create_address_space(2, f.fs.getter(2));
  for (int i = 0; i < 8; ++i) {
    REQUIRE(f.cache.write(*a, i * 4096, pattern(4096, 1), i * 4096).is_ok());
    REQUIRE(f.cache.write(*b, i * 4096, pattern(4096, 2), i * 4096).is_ok());
  }
  f.cache.run_flusher_once();  // 17 dirty pages > 10: background write-back
  auto w = only(f.dev.log(), BioOp::kWrite);
  REQUIRE(w.size() == 8);  // file 1 brings it to 9 ≤ 10; the metadata waits
  for (uint64_t i = 0; i < 8; ++i) CHECK(w[i].sector == f.fs.block_of(1, i) * 8);

  // Expired, everything goes: the data first, the metadata last.
  f.dev.clear_log();
  REQUIRE(f.cache.write(*a, 0, pattern(4096, 3), 8 * 4096).is_ok());
  f.clock.advance(std::chrono::seconds(31));
  f.cache.run_flusher_once();
  w = only(f.dev.log(), BioOp::kWrite);
  REQUIRE(w.size() == 10);
  CHECK(w[0].sector == f.fs.block_of(1, 0) * 8);
  for (uint64_t i = 0; i < 8; ++i) CHECK(w[1 + i].sector == f.fs.block_of(2, i) * 8);
  CHECK(w[9].sector == 5 * 8);
}

TEST_CASE("sync_range writes a write-through range, its metadata, then flushes", "[cache][writeback]") {
  Fixture f;
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  REQUIRE(f.cache.write(*as, 0, pattern(3 * 4096, 1), 0).is_ok());
  f.dev.clear_log();
  REQUIRE(f.cache.write(*as, 8192, pattern(100, 2), 3 * 4096).is_ok());  // an O_SYNC write
  REQUIRE(f.cache.sync_range(*as, 8192, 8192 + 100, true).is_ok());
  auto log = f.dev.log();
  REQUIRE(log.size() == 2);
  CHECK(log[0].op == BioOp::kWrite);
  CHECK(log[0].sector == f.fs.block_of(1, 2) * 8);
  CHECK(log[1].op == BioOp::kFlush);
  CHECK(stat_of(f.cache.meminfo(), "Dirty") == 8);  // pages 0 and 1 stay dirty
}

TEST_CASE("a write past EOF leaves zeros in the gap, on disk too", "[cache][writeback]") {
  Fixture f;
  auto as = f.cache.create_address_space(1, f.fs.getter(1));
  REQUIRE(f.cache.write(*as, 0, pattern(100, 1), 0).is_ok());
  REQUIRE(f.cache.fsync(*as, false).is_ok());
  f.cache.destroy_address_space(*as);
  as = f.cache.create_address_space(1, f.fs.getter(1));
  uint64_t blk = f.fs.block_of(1, 0);
  f.dev.poke_bytes(blk * 4096 + 512, pattern(1024, 2));  // stale bytes in sectors 1 and 2
  f.dev.clear_log();
  REQUIRE(f.cache.write(*as, 2000, pattern(100, 3), 100).is_ok());
  CHECK(f.dev.count(BioOp::kRead) == 0);
  std::vector<std::byte> out(2100);
  ReadaheadState ra;
  REQUIRE(*f.cache.read(*as, ra, 0, out, 2100) == 2100);
  CHECK(std::all_of(out.begin() + 100, out.begin() + 2000, [](std::byte b) { return b == std::byte{0}; }));
  REQUIRE(f.cache.fsync(*as, false).is_ok());
  std::vector<std::byte> disk(4096);
  f.dev.peek_bytes(blk * 4096, disk);
  CHECK(std::equal(disk.begin(), disk.begin() + 2100, out.begin()));
}

// Regression (issue 20): the metadata expired at a flusher wake-up while
// the file's data, dirtied a moment later, had not, so the metadata went
// to the card one period before the data it describes.
TEST_CASE("expired metadata takes the unexpired data ahead of it (data before metadata)",
          "[cache][writeback]") {
  Tunables t;
  t.dirty_expire_centisecs = 100;  // seed 000's experiment: 1 s
  Fixture f(4096, t);
  {
    auto meta = f.cache.bget_zeroed(5);  // the inode, dirtied at create
    REQUIRE(meta.is_ok());
    meta->mark_dirty();
  }
  f.clock.advance(std::chrono::milliseconds(300));
  auto a = f.cache.create_address_space(1, f.fs.getter(1));
  REQUIRE(f.cache.write(*a, 0, pattern(4096, 1), 0).is_ok());  // its data, 0.3 s later
  f.clock.advance(std::chrono::milliseconds(800));  // metadata expired (1.1 s), data not (0.8 s)
  f.cache.run_flusher_once();
  auto w = only(f.dev.log(), BioOp::kWrite);
  REQUIRE(w.size() == 2);
  CHECK(w[0].sector == f.fs.block_of(1, 0) * 8);
  CHECK(w[1].sector == 5 * 8);

  SECTION("data alone expires alone: the metadata waits") {
    f.dev.clear_log();
    {
      auto meta = f.cache.bget_zeroed(6);
      REQUIRE(meta.is_ok());
      meta->mark_dirty();
    }
    f.clock.advance(std::chrono::milliseconds(500));
    REQUIRE(f.cache.write(*a, 4096, pattern(4096, 2), 4096).is_ok());
    f.clock.advance(std::chrono::milliseconds(400));  // neither expired
    f.cache.run_flusher_once();
    CHECK(only(f.dev.log(), BioOp::kWrite).empty());
  }
}
