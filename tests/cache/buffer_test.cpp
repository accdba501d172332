// Metadata buffers in the block device's address space.
#include <catch2/catch.hpp>

#include "tests/cache/fake_fs.h"

using namespace cardfs;
using namespace cardfs::cache;
using namespace cardfs::cache::testing;
using blockdev::BioOp;
using cardfs::testing::FakeDevice;

namespace {
struct Fixture {
  explicit Fixture(uint32_t bs = 1024) : fs(bs), cache(dev, clock, bs) {}
  FakeDevice dev{1 << 14};
  VirtualClock clock;
  FakeFs fs;
  PageCache cache;
};
}  // namespace

TEST_CASE("bread reads a block once, then serves it from memory", "[cache][buffer]") {
  Fixture f;
  auto bytes = pattern(1024, 1);
  f.dev.poke_bytes(5 * 1024, bytes);
  {
    auto b = f.cache.bread(5);
    REQUIRE(b.is_ok());
    CHECK(b->block() == 5);
    CHECK(std::equal(bytes.begin(), bytes.end(), b->data().begin()));
  }
  auto again = f.cache.bread(5);
  REQUIRE(again.is_ok());
  auto r = only(f.dev.log(), BioOp::kRead);
  REQUIRE(r.size() == 1);
  CHECK(r[0].sector == 10);
  CHECK(r[0].sectors == 2);  // only the block, not its page
  CHECK((r[0].flags & blockdev::kBioMeta) != 0);
}

TEST_CASE("bget_zeroed reads nothing and mark_dirty writes only touched sectors", "[cache][buffer]") {
  Fixture f;
  auto b = f.cache.bget_zeroed(9);
  REQUIRE(b.is_ok());
  CHECK(f.dev.log().empty());
  b->lock();
  b->data()[600] = std::byte{0x5a};
  b->mark_dirty(600, 1);
  b->unlock();
  REQUIRE(f.cache.sync_all().is_ok());
  auto w = only(f.dev.log(), BioOp::kWrite);
  REQUIRE(w.size() == 1);
  CHECK(w[0].sector == 9 * 2 + 1);
  CHECK(w[0].sectors == 1);
  CHECK((w[0].flags & blockdev::kBioMeta) != 0);
  std::vector<std::byte> disk(512);
  f.dev.peek_bytes(19 * 512, disk);
  CHECK(disk[600 - 512] == std::byte{0x5a});
}

TEST_CASE("bget_cached_or_zeroed zero-fills an uncached block without reading it",
          "[cache][buffer]") {
  Fixture f;
  f.dev.poke_bytes(7 * 1024, pattern(1024, 3));  // stale bytes on the device
  auto b = f.cache.bget_cached_or_zeroed(7);
  REQUIRE(b.is_ok());
  CHECK(f.dev.log().empty());
  for (std::byte x : b->data()) REQUIRE(x == std::byte{0});
  auto again = f.cache.bread(7);  // now cached: still no read
  REQUIRE(again.is_ok());
  CHECK(f.dev.log().empty());
}

TEST_CASE("bget_cached_or_zeroed keeps a cached block's dirty content", "[cache][buffer]") {
  Fixture f;
  auto bytes = pattern(1024, 4);
  f.dev.poke_bytes(7 * 1024, bytes);
  {
    auto b = f.cache.bread(7);
    REQUIRE(b.is_ok());
    b->lock();
    b->data()[100] = std::byte{0xa5};  // another inode's unwritten change
    b->unlock();
    b->mark_dirty(100, 1);
  }
  auto b = f.cache.bget_cached_or_zeroed(7);
  REQUIRE(b.is_ok());
  CHECK(b->data()[100] == std::byte{0xa5});
  CHECK(b->data()[900] == bytes[900]);
  REQUIRE(f.cache.sync_all().is_ok());
  std::vector<std::byte> disk(1024);
  f.dev.peek_bytes(7 * 1024, disk);
  CHECK(disk[100] == std::byte{0xa5});
  CHECK(only(f.dev.log(), BioOp::kRead).size() == 1);  // the bread, once
}

TEST_CASE("bread past the end of the device fails", "[cache][buffer]") {
  Fixture f;
  CHECK(f.cache.bread((1 << 14) / 2).status().code() == EIO);
}

TEST_CASE("fdatasync writes the metadata get_block names as dirtied while allocating, fsync writes all",
          "[cache][buffer]") {
  Fixture f(4096);
  // get_block dirties an "indirect block" (block 20) when it allocates,
  // and says so in its result.
  auto inner = f.fs.getter(1);
  GetBlock gb = [&](uint64_t fb, bool create) -> Result<BlockMapping> {
    auto m = inner(fb, create);
    if (m.is_ok() && m->fresh) {
      auto ind = f.cache.bread(20);
      if (!ind.is_ok()) return ind.status();
      ind->lock();
      ind->data()[fb] = std::byte{1};
      ind->mark_dirty(fb, 1);
      ind->unlock();
      m->metadata.push_back(20);
    }
    return m;
  };
  auto as = f.cache.create_address_space(1, gb);
  auto unrelated = f.cache.bget_zeroed(30);  // an inode table block, say
  REQUIRE(unrelated.is_ok());
  unrelated->lock();
  unrelated->mark_dirty();
  unrelated->unlock();
  REQUIRE(f.cache.write(*as, 0, pattern(4096, 2), 0).is_ok());
  f.dev.clear_log();
  REQUIRE(f.cache.fsync(*as, true).is_ok());
  auto w = only(f.dev.log(), BioOp::kWrite);
  REQUIRE(w.size() == 2);
  CHECK(w[1].sector == 20 * 8);
  f.dev.clear_log();
  REQUIRE(f.cache.fsync(*as, false).is_ok());
  w = only(f.dev.log(), BioOp::kWrite);
  REQUIRE(w.size() == 1);
  CHECK(w[0].sector == 30 * 8);
}

TEST_CASE("bforget drops a dirty freed block without writing it", "[cache][buffer]") {
  Fixture f;
  {
    auto b = f.cache.bget_zeroed(3);
    REQUIRE(b.is_ok());
    b->lock();
    b->mark_dirty();
    b->unlock();
  }
  CHECK(stat_of(f.cache.meminfo(), "Dirty") == 4);
  f.cache.bforget(3);
  CHECK(stat_of(f.cache.meminfo(), "Dirty") == 0);
  CHECK(stat_of(f.cache.meminfo(), "Cached") == 0);
  REQUIRE(f.cache.sync_all().is_ok());
  CHECK(f.dev.count(BioOp::kWrite) == 0);
}

TEST_CASE("a verified mark lasts while the block stays cached", "[cache][buffer]") {
  Fixture f;
  auto mark = [&](uint64_t block) {
    auto b = f.cache.bread(block);
    REQUIRE(b.is_ok());
    b->set_verified();
  };
  auto verified = [&](uint64_t block) {
    auto b = f.cache.bread(block);
    REQUIRE(b.is_ok());
    return b->verified();
  };
  CHECK_FALSE(verified(5));
  mark(5);
  CHECK(verified(5));
  CHECK_FALSE(verified(4));  // the page's other blocks keep their own mark
  // Dropped: the bytes the next bread brings come from the device again.
  f.cache.bforget(5);
  CHECK_FALSE(verified(5));
  mark(5);
  REQUIRE(f.cache.bget_zeroed(5).is_ok());
  CHECK_FALSE(verified(5));
}
