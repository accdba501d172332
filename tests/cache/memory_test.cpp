// What the cache's memory is bounded by: cache_size counts each page's
// frame and bookkeeping (PageCache::bytes_per_page), and what the cache
// allocates for its pages (the pool's chunks, the heap's index and dirty
// tracking) stays within cache_size plus one pool chunk. The heap is read
// with mallinfo2, so the heap checks need glibc's malloc: a sanitizer's
// allocator does not report through it.
#include <catch2/catch.hpp>

#include <malloc.h>

#include <cstring>

#include "cache/page.h"
#include "cache/page_pool.h"
#include "tests/cache/fake_fs.h"

using namespace cardfs;
using namespace cardfs::cache;
using namespace cardfs::cache::testing;
using cardfs::testing::FakeDevice;
using cardfs::testing::FakeDeviceOptions;

namespace {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kHeapReadable = false;
#else
constexpr bool kHeapReadable = true;
#endif

// Under a sanitizer, 0: the pool's part of the bound is still checked.
int64_t heap_bytes() {
  if (!kHeapReadable) return 0;
  struct mallinfo2 m = mallinfo2();
  return int64_t(m.uordblks + m.hblkhd);
}

// The cache's own heap beyond its pages: address spaces, the registry,
// counters; the same whatever cache_size.
constexpr int64_t kFixedHeap = 64 << 10;

GetBlock linear() {
  return [](uint64_t fb, bool) -> Result<BlockMapping> { return BlockMapping::at(fb * 8); };
}

// A dense device (its bytes allocated before anything is measured) that
// keeps no log.
FakeDeviceOptions quiet_device(uint64_t bytes) {
  return FakeDeviceOptions{.sectors = bytes / 512, .storage = cardfs::testing::Storage::kDense,
                           .record = false};
}

}  // namespace

TEST_CASE("a page counts its frame and its bookkeeping against cache_size", "[cache][memory]") {
  // The header and the index's and dirty sets' shares are charged, so a
  // cache of N × bytes_per_page() holds N pages, not cache_size / 4096.
  CHECK(PageCache::bytes_per_page() >= kPageSize + sizeof(Page) + 32 + 48);
  CHECK(sizeof(Page) <= 208);  // keep the header small: every page pays it
  VirtualClock clock;
  FakeDevice dev(quiet_device(64 << 20));
  Tunables t;
  t.cache_size = 100 * PageCache::bytes_per_page() + kPageSize;  // not quite 101 pages
  PageCache cache(dev, clock, 4096, t);
  auto as = cache.create_address_space(1, linear());
  ReadaheadState ra;
  std::vector<std::byte> buf(1 << 20);
  for (uint64_t off = 0; off < (4 << 20); off += buf.size())
    REQUIRE(cache.read(*as, ra, off, buf, 4 << 20).is_ok());
  std::string mem = cache.meminfo();
  CHECK(stat_of(mem, "CacheLimit") == 100 * 4);
  CHECK(stat_of(mem, "Cached") <= 100 * 4);
  CHECK(stat_of(mem, "CacheSize") == int64_t(t.cache_size / 1024));
  CHECK(stat_of(mem, "CacheMemory") <= stat_of(mem, "CacheSize"));
  CHECK(stat_of(mem, "CacheMemory") ==
        int64_t(uint64_t(stat_of(mem, "Cached") / 4) * PageCache::bytes_per_page() / 1024));
  CHECK(stat_of(mem, "PagePool") == int64_t(PagePool::chunk_bytes() / 1024));  // 100 pages: one chunk
}

TEST_CASE("the cache's memory stays within cache_size plus one pool chunk", "[cache][memory]") {
  VirtualClock clock;
  FakeDevice dev(quiet_device(96 << 20));
  Tunables t;
  t.cache_size = 8 << 20;
  std::vector<std::byte> buf(256 << 10, std::byte{7});
  int64_t heap0 = heap_bytes();
  {
    PageCache cache(dev, clock, 4096, t);
    // Streamed through: 4× the cache read, then 4× written (dirty pages,
    // write-back, throttling), in two files.
    auto reader = cache.create_address_space(1, linear());
    auto writer = cache.create_address_space(2, [](uint64_t fb, bool) -> Result<BlockMapping> {
      return BlockMapping::at((fb + 12288) * 8);
    });
    ReadaheadState ra;
    const uint64_t kStream = 32 << 20;
    int64_t peak = 0, pool_peak = 0;
    auto measure = [&] {
      // The pages' frames and headers (from the pool) and the heap's part.
      int64_t pages = stat_of(cache.meminfo(), "Cached") / 4;
      int64_t used = heap_bytes() - heap0 + pages * int64_t(kPageSize + sizeof(Page));
      peak = std::max(peak, used);
      pool_peak = std::max(pool_peak, stat_of(cache.meminfo(), "PagePool") * 1024);
    };
    for (uint64_t off = 0; off < kStream; off += buf.size()) {
      REQUIRE(cache.read(*reader, ra, off, buf, kStream).is_ok());
      measure();
    }
    for (uint64_t off = 0; off < kStream; off += buf.size()) {
      REQUIRE(cache.write(*writer, off, buf, off).is_ok());
      measure();
    }
    REQUIRE(cache.sync_all().is_ok());
    measure();
    INFO("peak " << peak << " bytes (pool " << pool_peak << ") for cache_size " << t.cache_size << ", "
                 << stat_of(cache.meminfo(), "Cached") << " kB cached");
    CHECK(stat_of(cache.meminfo(), "CacheMemory") * 1024 <= int64_t(t.cache_size));
    CHECK(peak <= int64_t(t.cache_size) + kFixedHeap);
    // Slots mapped but not in use: less than one chunk beyond the limit.
    CHECK(pool_peak <= int64_t(t.cache_size + PagePool::chunk_bytes()));
  }
}

TEST_CASE("an address space's index gives its buckets back when its pages go", "[cache][memory]") {
  // Regression: the index kept the buckets it had grown to, about 8 bytes
  // per page it ever held, for as long as the file stayed known.
  if (!kHeapReadable) {
    WARN("not checked: mallinfo2 does not see a sanitizer's allocator");
    return;
  }
  VirtualClock clock;
  FakeDevice dev(quiet_device(64 << 20));
  Tunables t;
  t.cache_size = 64ull << 20;
  PageCache cache(dev, clock, 4096, t);
  auto as = cache.create_address_space(1, linear());
  const uint64_t kBytes = 32 << 20;  // 8192 pages
  ReadaheadState ra;
  std::vector<std::byte> buf(1 << 20);
  // What a first read allocates once (the logger, the device's state) is
  // not the index's.
  REQUIRE(cache.read(*as, ra, 0, buf, kBytes).is_ok());
  cache.truncate_pages(*as, 0);
  ra = ReadaheadState{};
  int64_t heap0 = heap_bytes();
  for (uint64_t off = 0; off < kBytes; off += buf.size())
    REQUIRE(cache.read(*as, ra, off, buf, kBytes).is_ok());
  REQUIRE(stat_of(cache.meminfo(), "Cached") == int64_t(kBytes / 1024));
  int64_t full = heap_bytes() - heap0;
  cache.truncate_pages(*as, 0);
  int64_t left = heap_bytes() - heap0;
  INFO(full << " heap bytes with 8192 pages cached, " << left << " after they went");
  CHECK(full >= 8192 * 32);  // the index's nodes were there
  // The buckets grown for 8192 pages are 66 KB; what stays is at most 64
  // per shard (4 KB) and the allocator's per-thread caches of freed blocks
  // (up to ~15 KB, which mallinfo2 counts as in use).
  CHECK(left <= 32 << 10);
}

TEST_CASE("a smaller cache_size gives the frames it no longer needs back", "[cache][memory]") {
  VirtualClock clock;
  FakeDevice dev(quiet_device(64 << 20));
  const uint64_t kBytes = 32 << 20;
  std::vector<std::byte> want(kBytes);
  for (size_t i = 0; i < want.size(); i += 512) want[i] = std::byte(i / 512 % 251);
  dev.poke_bytes(0, want);
  Tunables t;
  t.cache_size = 16 << 20;
  PageCache cache(dev, clock, 4096, t);
  auto as = cache.create_address_space(1, linear());
  std::vector<std::byte> buf(1 << 20);
  auto read_all = [&] {
    ReadaheadState ra;
    for (uint64_t off = 0; off < kBytes; off += buf.size()) {
      REQUIRE(cache.read(*as, ra, off, buf, kBytes).is_ok());
      REQUIRE(std::memcmp(buf.data(), want.data() + off, buf.size()) == 0);
    }
  };
  read_all();
  int64_t before = stat_of(cache.meminfo(), "PagePoolResident");
  CHECK(before >= (16 << 10) * 9 / 10);
  t.cache_size = 2 << 20;
  cache.set_tunables(t);
  std::string mem = cache.meminfo();
  INFO(mem);
  int64_t limit_pages = stat_of(mem, "CacheLimit") / 4;
  CHECK(stat_of(mem, "Cached") <= limit_pages * 4);
  CHECK(stat_of(mem, "PagePoolResident") <= (limit_pages + int64_t(PagePool::kSlotsPerChunk)) * 4);
  CHECK(stat_of(mem, "PagePool") * 1024 >= int64_t(before) * 1024);  // still mapped: slots reused
  read_all();  // the given-back frames fill again, with the right bytes
  CHECK(stat_of(cache.meminfo(), "PagePoolResident") <=
        (limit_pages + int64_t(PagePool::kSlotsPerChunk)) * 4);
}
