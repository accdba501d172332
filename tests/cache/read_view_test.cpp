// PageCache::read_view: the same bytes, readahead and counters as read(),
// lent as pinned spans of the cache's pages instead of copied.
#include <catch2/catch.hpp>

#include <cstring>

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

std::vector<std::byte> gather(const ReadView& view) {
  std::vector<std::byte> out;
  for (const iovec& v : view.iov()) {
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
    for (const iovec& v : view.iov()) CHECK(v.iov_len <= kPageSize);
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
  CHECK(view.iov().empty());
}

TEST_CASE("a read view at or past EOF is empty", "[cache][read_view]") {
  Fixture f;
  ReadaheadState ra;
  ReadView view;
  REQUIRE(*f.cache.read_view(*f.as, ra, 0, 4096, kFileSize, view) == 4096);
  REQUIRE(*f.cache.read_view(*f.as, ra, kFileSize, 4096, kFileSize, view) == 0);
  CHECK(view.iov().empty());  // the earlier spans are gone
}
