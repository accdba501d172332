// On-demand readahead: windows, the async marker, random readers.
#include <catch2/catch.hpp>

#include "tests/cache/fake_fs.h"

using namespace cardfs;
using namespace cardfs::cache;
using namespace cardfs::cache::testing;
using blockdev::BioOp;
using cardfs::testing::FakeDevice;

namespace {
constexpr uint64_t kFilePages = 256;  // 1 MiB, laid out contiguously from block 1000

struct Fixture {
  explicit Fixture(uint32_t ra_kb = 128) : dev({.sectors = 1 << 16, .read_ahead_kb = ra_kb}) {
    for (uint64_t i = 0; i < kFilePages; ++i) fs.place(1, i, 1000 + i);
    dev.poke_bytes(1000 * 4096, pattern(kFilePages * 4096, 11));
  }
  FakeDevice dev;
  VirtualClock clock;
  FakeFs fs{4096};
  PageCache cache{dev, clock, 4096};
  std::shared_ptr<AddressSpace> as = cache.create_address_space(1, fs.getter(1));
};

// Pages read by each readahead bio, in order.
std::vector<uint64_t> ra_windows(const FakeDevice& dev) {
  std::vector<uint64_t> out;
  for (auto& b : dev.log()) {
    if (b.op == BioOp::kRead && (b.flags & blockdev::kBioReadahead)) out.push_back(b.sectors / 8);
  }
  return out;
}
}  // namespace

TEST_CASE("a sequential 4 KiB reader sees windows of 16, 32, 64, then 128 KiB", "[cache][readahead]") {
  Fixture f;
  auto want = pattern(kFilePages * 4096, 11);
  ReadaheadState ra;
  std::vector<std::byte> buf(4096);
  for (uint64_t i = 0; i < kFilePages; ++i) {
    REQUIRE(*f.cache.read(*f.as, ra, i * 4096, buf, kFilePages * 4096) == 4096);
    REQUIRE(std::equal(buf.begin(), buf.end(), want.begin() + i * 4096));
  }
  auto w = ra_windows(f.dev);
  REQUIRE(w.size() >= 6);
  CHECK(w[0] == 4);
  CHECK(w[1] == 8);
  CHECK(w[2] == 16);
  CHECK(w[3] == 32);
  for (size_t i = 4; i + 1 < w.size(); ++i) CHECK(w[i] == 32);
  // Every read went through readahead, and all but the first page hit it.
  CHECK(f.dev.count(BioOp::kRead) == w.size());
  auto vm = f.cache.vmstat();
  CHECK(stat_of(vm, "cache_misses") == 1);
  CHECK(stat_of(vm, "readahead_hits") == int64_t(kFilePages - 1));
  CHECK(stat_of(vm, "readahead_pages") == int64_t(kFilePages - 1));
}

TEST_CASE("the async marker starts the next window before the reader needs it", "[cache][readahead]") {
  Fixture f;
  ReadaheadState ra;
  std::vector<std::byte> buf(4096);
  REQUIRE(f.cache.read(*f.as, ra, 0, buf, kFilePages * 4096).is_ok());
  CHECK(ra.start == 0);
  CHECK(ra.size == 4);
  CHECK(ra.async_size == 3);
  REQUIRE(f.cache.read(*f.as, ra, 4096, buf, kFilePages * 4096).is_ok());  // the marker page
  CHECK(ra.start == 4);
  CHECK(ra.size == 8);
  CHECK(ra_windows(f.dev) == std::vector<uint64_t>{4, 8});
}

TEST_CASE("a read larger than read_ahead_kb reads ahead up to the device's largest request",
          "[cache][readahead]") {
  for (uint32_t io_kb : {0u, 512u, 2048u}) {
    INFO("io_kb " << io_kb);
    Fixture f;
    f.dev.set_io_kb(io_kb);
    auto want = pattern(kFilePages * 4096, 11);
    ReadaheadState ra;
    std::vector<std::byte> buf(kFilePages * 4096);  // one 1 MiB read, as a FUSE READ of max_pages
    REQUIRE(*f.cache.read(*f.as, ra, 0, buf, kFilePages * 4096) == buf.size());
    REQUIRE(std::equal(buf.begin(), buf.end(), want.begin()));
    auto w = ra_windows(f.dev);
    REQUIRE_FALSE(w.empty());
    // Linux's rule: min(request, io_pages) when both exceed the window.
    CHECK(w[0] == (io_kb > 128 ? std::min<uint64_t>(io_kb / 4, kFilePages) : 32));
  }
}

TEST_CASE("a random reader triggers no readahead", "[cache][readahead]") {
  Fixture f;
  ReadaheadState ra;
  std::vector<std::byte> buf(4096);
  std::mt19937 rng(20261121);
  INFO("seed 20261121");
  for (int i = 0; i < 50; ++i) {
    uint64_t page = 1 + rng() % (kFilePages - 1);
    REQUIRE(f.cache.read(*f.as, ra, page * 4096, buf, kFilePages * 4096).is_ok());
  }
  CHECK(ra_windows(f.dev).empty());
  for (auto& b : only(f.dev.log(), BioOp::kRead)) CHECK(b.sectors == 8);
  CHECK(stat_of(f.cache.vmstat(), "readahead_pages") == 0);
}

TEST_CASE("read_ahead_kb 0 disables readahead and reads stop at EOF", "[cache][readahead]") {
  Fixture f(0);
  ReadaheadState ra;
  std::vector<std::byte> buf(10000);
  REQUIRE(*f.cache.read(*f.as, ra, 0, buf, 6000) == 6000);
  CHECK(ra_windows(f.dev).empty());
  CHECK(f.dev.count(BioOp::kRead) == 1);  // both pages of the request, one bio
  CHECK(*f.cache.read(*f.as, ra, 6000, buf, 6000) == 0);
}

TEST_CASE("a hole reads as zeros without device I/O", "[cache][readahead]") {
  FakeDevice dev(1 << 14);
  VirtualClock clock;
  FakeFs fs(4096);
  PageCache cache(dev, clock, 4096);
  auto as = cache.create_address_space(2, fs.getter(2));
  ReadaheadState ra;
  std::vector<std::byte> buf(8192, std::byte{1});
  REQUIRE(*cache.read(*as, ra, 0, buf, 1 << 20) == 8192);
  CHECK(std::all_of(buf.begin(), buf.end(), [](std::byte b) { return b == std::byte{0}; }));
  CHECK(dev.log().empty());
}

TEST_CASE("a sequential 128 KiB reader is served ahead after its first read", "[cache][readahead]") {
  Fixture f;
  auto want = pattern(kFilePages * 4096, 11);
  ReadaheadState ra;
  std::vector<std::byte> buf(128 << 10);
  for (uint64_t off = 0; off < kFilePages * 4096; off += buf.size()) {
    REQUIRE(*f.cache.read(*f.as, ra, off, buf, kFilePages * 4096) == buf.size());
    REQUIRE(std::equal(buf.begin(), buf.end(), want.begin() + off));
  }
  CHECK(stat_of(f.cache.vmstat(), "cache_misses") == 1);
  for (auto w : ra_windows(f.dev)) CHECK(w == 32);
}
