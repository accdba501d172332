// PageCache::read_view: the same bytes, readahead and counters as read(),
// lent as pinned spans of the cache's pages instead of copied.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "tests/cache/fake_fs.h"

using namespace cardfs;
using namespace cardfs::cache;
using namespace cardfs::cache::testing;
using blockdev::BioOp;

namespace {
constexpr uint64_t kFilePages = 64;
constexpr uint64_t kFileSize = kFilePages * 4096 - 1000;  // ends inside a page

struct Fixture {
  Fixture() {
    for (uint64_t i = 0; i < kFilePages; ++i) fs.place(1, i, 1000 + i);
    dev.poke_bytes(1000 * 4096, pattern(kFilePages * 4096, 21));
  }
  cardfs::testing::FakeDevice dev{1 << 16};
  VirtualClock clock;
  FakeFs fs{4096};
  PageCache cache{dev, clock, 4096};
  std::shared_ptr<AddressSpace> as = cache.create_address_space(1, fs.getter(1));
};

std::vector<std::byte> gather(ReadView& view) {
  std::vector<std::byte> out;
  for (const iovec& v : view.lend()) {
    auto* p = static_cast<const std::byte*>(v.iov_base);
    out.insert(out.end(), p, p + v.iov_len);
  }
  return out;
}
}  // namespace

TEST_CASE("a read view gives read()'s bytes, device reads and counters", "[cache][read_view]") {
  Fixture copied, lent;
  ReadaheadState ra_copied, ra_lent;
  ReadView view;
  // Sequential, unaligned pieces, then one running past EOF.
  for (uint64_t off = 1000; off < kFileSize + 5000; off += 70000) {
    std::vector<std::byte> buf(70000);
    auto n = copied.cache.read(*copied.as, ra_copied, off, buf, kFileSize);
    auto m = lent.cache.read_view(*lent.as, ra_lent, off, buf.size(), kFileSize, view);
    REQUIRE(n.is_ok());
    REQUIRE(m.is_ok());
    REQUIRE(*m == *n);
    buf.resize(*n);
    CHECK(gather(view) == buf);
    // Each span lies inside one page.
    for (const iovec& v : view.lend()) CHECK(v.iov_len <= kPageSize);
  }
  CHECK(lent.dev.count(BioOp::kRead) == copied.dev.count(BioOp::kRead));
  CHECK(lent.cache.vmstat() == copied.cache.vmstat());
  CHECK(lent.cache.meminfo() == copied.cache.meminfo());
}

TEST_CASE("pages lent to a view keep their bytes after they leave the cache", "[cache][read_view]") {
  Fixture f;
  ReadaheadState ra;
  ReadView view;
  REQUIRE(*f.cache.read_view(*f.as, ra, 0, 3 * 4096, kFileSize, view) == 3 * 4096);
  const std::vector<std::byte> before = gather(view);
  // The pages go (truncate), and new pages are made at once: a frame freed
  // too early would now hold the new page's bytes.
  f.cache.truncate_pages(*f.as, 0);
  CHECK(stat_of(f.cache.meminfo(), "Cached") == 0);
  auto other = f.cache.create_address_space(2, f.fs.getter(2));
  std::vector<std::byte> ones(2 * kFilePages * 4096, std::byte{0xff});  // more than were freed
  REQUIRE(f.cache.write(*other, 0, ones, 0).is_ok());
  CHECK(gather(view) == before);
  view.clear();
  CHECK(view.lend().empty());
}

TEST_CASE("a read view at or past EOF is empty", "[cache][read_view]") {
  Fixture f;
  ReadaheadState ra;
  ReadView view;
  REQUIRE(*f.cache.read_view(*f.as, ra, 0, 4096, kFileSize, view) == 4096);
  REQUIRE(*f.cache.read_view(*f.as, ra, kFileSize, 4096, kFileSize, view) == 0);
  CHECK(view.lend().empty());  // the earlier spans are gone
}

TEST_CASE("a write into a lent page waits for the view, and views made meanwhile copy the page",
          "[cache][read_view]") {
  Fixture f;
  ReadaheadState ra;
  ReadView first;
  REQUIRE(*f.cache.read_view(*f.as, ra, 0, 4096, kFileSize, first) == 4096);
  const std::vector<std::byte> before = gather(first);
  const void* frame = first.lend()[0].iov_base;
  const std::vector<std::byte> ones(4096, std::byte{0xff});
  std::atomic<int> written{-1};  // the write's errno once it returned
  std::thread writer([&] { written = f.cache.write(*f.as, 0, ones, kFileSize).status().code(); });
  // Once the writer waits for `first`, a new view copies the page instead
  // of lending it (and so does not hold the writer back further).
  ReadView second;
  bool copied = false;
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
       !copied && std::chrono::steady_clock::now() < deadline;) {
    REQUIRE(*f.cache.read_view(*f.as, ra, 0, 4096, kFileSize, second) == 4096);
    copied = second.lend()[0].iov_base != frame;
    if (!copied) {
      second.clear();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  CHECK(copied);
  CHECK(written == -1);
  CHECK(gather(first) == before);
  CHECK(gather(second) == before);
  first.clear();  // the writer goes on
  writer.join();
  CHECK(written == 0);
  CHECK(gather(second) == before);  // a copy: the write does not show through
  ReadView third;
  REQUIRE(*f.cache.read_view(*f.as, ra, 0, 4096, kFileSize, third) == 4096);
  CHECK(third.lend()[0].iov_base == frame);  // lent again
  CHECK(gather(third) == ones);
}

// Under ThreadSanitizer this is the race a zero-copy read reply had with
// a write into the same page (the reply read the page while the write
// copied into it); elsewhere a torn page, half one write, half the other.
TEST_CASE("a lent page never shows a write half done", "[cache][read_view]") {
  Fixture f;
  auto fill = [](int i) { return std::vector<std::byte>(4096, std::byte(i % 2 ? 0x11 : 0x22)); };
  REQUIRE(f.cache.write(*f.as, 0, fill(0), kFileSize).is_ok());
  constexpr int kRounds = 2000;
  std::atomic<bool> write_failed{false};
  std::thread writer([&] {
    for (int i = 1; i <= kRounds; ++i)
      if (!f.cache.write(*f.as, 0, fill(i), kFileSize).is_ok()) write_failed = true;
  });
  ReadaheadState ra;
  ReadView view;
  int torn = 0;
  std::vector<std::byte> reply(4096);
  for (int i = 0; i < kRounds; ++i) {
    REQUIRE(*f.cache.read_view(*f.as, ra, 0, 4096, kFileSize, view) == 4096);
    std::span<const iovec> iov = view.lend();
    // What the kernel does with the reply, taking its time over it.
    const auto* page = static_cast<const std::byte*>(iov[0].iov_base);
    std::memcpy(reply.data(), page, 2048);
    std::this_thread::sleep_for(std::chrono::microseconds(20));
    std::memcpy(reply.data() + 2048, page + 2048, 2048);
    if (std::count(reply.begin(), reply.end(), reply[0]) != 4096) ++torn;
    view.clear();
  }
  writer.join();
  CHECK_FALSE(write_failed);
  CHECK(torn == 0);
}
