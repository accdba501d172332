// The memory limit under a working set four times the cache, against a
// reference model; and concurrent readers, writers, metadata users, the
// flusher and reclaim together (run under ThreadSanitizer).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstring>
#include <thread>

#include "base/coding.h"
#include "base/crc32c.h"
#include "tests/cache/fake_fs.h"

using namespace cardfs;
using namespace cardfs::cache;
using namespace cardfs::cache::testing;
using cardfs::testing::FakeDevice;
using namespace std::chrono_literals;

namespace {
constexpr uint64_t kCachePages = 64;
constexpr uint64_t kFileBytes = 4 * kCachePages * 4096;  // 4× the cache

// Compares one page read through the cache with the model, by checksum.
void check_page(PageCache& cache, AddressSpace& as, const std::vector<std::byte>& model,
                uint64_t size, uint64_t page, ReadaheadState& ra) {
  uint64_t off = page * 4096;
  if (off >= size) return;
  uint64_t n = std::min<uint64_t>(4096, size - off);
  std::vector<std::byte> buf(n);
  auto r = cache.read(as, ra, off, buf, size);
  REQUIRE(r.is_ok());
  REQUIRE(*r == n);
  std::span<const std::byte> want(model.data() + off, n);
  INFO("page " << page);
  REQUIRE(crc32c(buf) == crc32c(want));
}
}  // namespace

TEST_CASE("memory limit holds under a 4x working set, nothing lost or stale", "[cache][stress]") {
  const uint32_t seed = 20261121;
  INFO("seed " << seed);
  std::mt19937 rng(seed);
  for (uint32_t bs : {1024u, 4096u}) {
    INFO("block size " << bs);
    FakeDevice dev(1 << 16);
    VirtualClock clock;
    FakeFs fs(bs);
    Tunables t;
    t.cache_size = kCachePages * PageCache::bytes_per_page();
    PageCache cache(dev, clock, bs, t);
    auto as = cache.create_address_space(1, fs.getter(1));
    std::vector<std::byte> model;
    uint64_t size = 0;
    ReadaheadState ra;
    for (int op = 0; op < 3000; ++op) {
      uint32_t kind = rng() % 100;
      if (kind < 45) {  // write a random range, sometimes extending
        uint64_t off = rng() % kFileBytes, len = 1 + rng() % 9000;
        auto data = pattern(len, rng());
        REQUIRE(*cache.write(*as, off, data, size) == len);
        if (off + len > model.size()) model.resize(off + len);
        std::copy(data.begin(), data.end(), model.begin() + off);
        size = std::max(size, off + len);
      } else if (kind < 90) {  // read one page, or a run of them sequentially
        uint64_t page = rng() % (kFileBytes / 4096);
        uint64_t run = kind < 60 ? 1 : 8;
        for (uint64_t p = page; p < page + run; ++p) check_page(cache, *as, model, size, p, ra);
      } else if (kind < 93) {  // truncate down
        uint64_t new_size = size ? rng() % size : 0;
        cache.truncate_pages(*as, new_size);
        for (uint64_t b = (new_size + bs - 1) / bs; b * bs < size; ++b) fs.unmap(1, b);
        model.resize(new_size);
        size = new_size;
      } else if (kind < 95) {
        REQUIRE(cache.fsync(*as, rng() % 2).is_ok());
      } else {
        clock.advance(5s);
        cache.run_flusher_once();
      }
      int64_t cached = stat_of(cache.meminfo(), "Cached");
      REQUIRE(cached <= int64_t(kCachePages * 4));
    }
    for (uint64_t p = 0; p * 4096 < size; ++p) check_page(cache, *as, model, size, p, ra);
    auto vm = cache.vmstat();
    INFO(vm);
    CHECK(stat_of(vm, "pgsteal") > 0);
    CHECK(stat_of(vm, "cache_over_limit") == 0);
    // And after a sync, the device alone holds the model.
    REQUIRE(cache.sync_all().is_ok());
    cache.destroy_address_space(*as);
    auto fresh = cache.create_address_space(1, fs.getter(1));
    for (uint64_t p = 0; p * 4096 < size; ++p) check_page(cache, *fresh, model, size, p, ra);
  }
}

TEST_CASE("concurrent readers, writers, metadata and the flusher agree", "[cache][stress][threads]") {
  const uint32_t seed = 7;
  INFO("seed " << seed);
  FakeDevice dev(1 << 16);
  RealClock clock;
  FakeFs fs(1024);
  Tunables t;
  t.cache_size = 96 * PageCache::bytes_per_page();
  t.dirty_writeback_centisecs = 1;
  t.dirty_expire_centisecs = 2;
  PageCache cache(dev, clock, 1024, t);
  cache.start_flusher();
  const uint64_t kShared = 200 * 4096;
  auto shared_data = pattern(kShared, seed);
  auto shared = cache.create_address_space(100, fs.getter(100));
  REQUIRE(*cache.write(*shared, 0, shared_data, 0) == kShared);
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {  // writers, each on its own file, verifying it
    threads.emplace_back([&, w] {
      std::mt19937 rng(seed + w);
      auto as = cache.create_address_space(1 + w, fs.getter(1 + w));
      std::vector<std::byte> model(64 * 4096);
      for (int i = 0; i < 300; ++i) {
        uint64_t off = rng() % (model.size() - 5000), len = 1 + rng() % 5000;
        auto data = pattern(len, rng());
        if (!cache.write(*as, off, data, model.size()).is_ok()) failed = true;
        std::copy(data.begin(), data.end(), model.begin() + off);
        if (i % 50 == 0 && !cache.fsync(*as, i % 100 == 0).is_ok()) failed = true;
      }
      std::vector<std::byte> out(model.size());
      ReadaheadState ra;
      if (*cache.read(*as, ra, 0, out, model.size()) != model.size() || out != model) failed = true;
    });
  }
  for (int r = 0; r < 2; ++r) {  // readers of the shared file
    threads.emplace_back([&, r] {
      std::mt19937 rng(seed + 10 + r);
      ReadaheadState ra;
      std::vector<std::byte> buf(8192);
      for (int i = 0; i < 400; ++i) {
        uint64_t off = (r == 0 ? (i * 8192) % kShared : rng() % (kShared - 8192));
        auto n = cache.read(*shared, ra, off, buf, kShared);
        if (!n.is_ok() || *n != 8192 ||
            !std::equal(buf.begin(), buf.end(), shared_data.begin() + off))
          failed = true;
      }
    });
  }
  threads.emplace_back([&] {  // a reader borrowing pages, holding them while reclaim runs
    std::mt19937 rng(seed + 20);
    ReadaheadState ra;
    ReadView view;
    for (int i = 0; i < 400; ++i) {
      uint64_t off = rng() % (kShared - 8192);
      auto n = cache.read_view(*shared, ra, off, 8192, kShared, view);
      if (!n.is_ok() || *n != 8192) failed = true;
      std::this_thread::yield();
      for (const iovec& v : view.lend()) {
        if (std::memcmp(v.iov_base, shared_data.data() + off, v.iov_len) != 0) failed = true;
        off += v.iov_len;
      }
    }
  });
  threads.emplace_back([&] {  // metadata: bitmap-like blocks counted up
    for (int i = 0; i < 400; ++i) {
      auto b = cache.bread(10 + i % 8);
      if (!b.is_ok()) {
        failed = true;
        continue;
      }
      b->lock();
      put_u32(b->data().data(), get_u32(b->data().data()) + 1);
      b->mark_dirty(0, 4);
      b->unlock();
    }
  });
  for (auto& th : threads) th.join();
  cache.stop_flusher();
  CHECK_FALSE(failed.load());
  REQUIRE(cache.sync_all().is_ok());
  for (int blk = 10; blk < 18; ++blk) {
    std::vector<std::byte> disk(512);
    dev.peek_bytes(blk * 1024, disk);
    CHECK(get_u32(disk.data()) == 50);
  }
  // Threads that pass the limit check together may each add pages (a
  // readahead window at once), so the limit can be overshot while they
  // run; the next allocation must reclaim back under it.
  REQUIRE(cache.bread(1000).is_ok());
  CHECK(stat_of(cache.meminfo(), "Cached") <= 96 * 4);
}
