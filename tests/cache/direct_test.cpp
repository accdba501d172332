// Direct I/O coherence with the cache.
#include <catch2/catch.hpp>

#include "tests/cache/file_fixture.h"

using namespace cardfs;
using namespace cardfs::cache;
using namespace cardfs::cache::testing;
using blockdev::BioOp;

namespace {
struct Aligned {
  // aligned_alloc wants a size that is a multiple of the alignment.
  explicit Aligned(size_t n)
      : mem(static_cast<std::byte*>(std::aligned_alloc(4096, (n + 4095) / 4096 * 4096))), len(n) {}
  ~Aligned() { std::free(mem); }
  std::span<std::byte> span() { return {mem, len}; }
  std::byte* mem;
  size_t len;
};
}  // namespace

TEST_CASE("direct I/O rejects unaligned offsets, lengths and buffers", "[cache][direct]") {
  FileFixture f;
  Aligned buf(8192);
  CHECK(f.cache.direct_write(*f.as, 100, buf.span().first(512)).status().code() == EINVAL);
  CHECK(f.cache.direct_write(*f.as, 0, buf.span().first(100)).status().code() == EINVAL);
  CHECK(f.cache.direct_write(*f.as, 0, buf.span().subspan(1, 512)).status().code() == EINVAL);
  CHECK(f.cache.direct_read(*f.as, 0, buf.span().subspan(8, 512), 8192).status().code() == EINVAL);
  CHECK(f.dev.log().empty());
}

TEST_CASE("a direct write over dirty cached data writes the cache first and leaves no stale page",
          "[cache][direct]") {
  FileFixture f;
  auto cached = pattern(3 * 4096, 1);
  REQUIRE(f.cache.write(*f.as, 0, cached, 0).is_ok());
  Aligned buf(4096);
  auto direct = pattern(4096, 2);
  std::copy(direct.begin(), direct.end(), buf.mem);
  REQUIRE(*f.cache.direct_write(*f.as, 4096, buf.span()) == 4096);
  auto w = only(f.dev.log(), BioOp::kWrite);
  REQUIRE(w.size() == 2);  // page 1 written back, then the direct write
  CHECK(w[0].sector == f.fs.block_of(1, 1) * 8);
  CHECK(w[1].sector == f.fs.block_of(1, 1) * 8);
  f.dev.clear_log();
  // A buffered read sees the direct write (one read: the page was dropped).
  std::vector<std::byte> out(3 * 4096);
  ReadaheadState ra;
  ra.prev_pos = 1 << 30;
  REQUIRE(*f.cache.read(*f.as, ra, 0, out, 3 * 4096) == 3 * 4096);
  std::copy(direct.begin(), direct.end(), cached.begin() + 4096);
  CHECK(out == cached);
  CHECK(f.dev.count(BioOp::kRead) == 1);
}

TEST_CASE("a direct read sees dirty cached data after writing it back", "[cache][direct]") {
  FileFixture f;
  auto data = pattern(8192, 3);
  REQUIRE(f.cache.write(*f.as, 0, data, 0).is_ok());
  Aligned buf(8192);
  REQUIRE(*f.cache.direct_read(*f.as, 0, buf.span(), 8192) == 8192);
  CHECK(std::equal(data.begin(), data.end(), buf.mem));
  CHECK(f.dev.count(BioOp::kWrite) == 2);
}

TEST_CASE("a direct write into a hole allocates and zeroes the rest of the block", "[cache][direct]") {
  FileFixture f;
  Aligned buf(1024);
  auto data = pattern(1024, 4);
  std::copy(data.begin(), data.end(), buf.mem);
  f.dev.poke_bytes(64 * 4096, pattern(4096, 99));  // garbage where the block will land
  REQUIRE(*f.cache.direct_write(*f.as, 8192 + 1024, buf.span()) == 1024);
  REQUIRE(f.fs.block_of(1, 2) != ~0ull);
  std::vector<std::byte> disk(4096), want(4096);
  std::copy(data.begin(), data.end(), want.begin() + 1024);
  f.dev.peek_bytes(f.fs.block_of(1, 2) * 4096, disk);
  CHECK(disk == want);
  // Beyond EOF: the caller extends the size; reading back through the cache works.
  std::vector<std::byte> out(4096);
  ReadaheadState ra;
  REQUIRE(*f.cache.read(*f.as, ra, 8192, out, 8192 + 2048) == 2048);
  CHECK(std::equal(out.begin(), out.begin() + 2048, want.begin()));
}

TEST_CASE("a direct read of a hole gives zeros and stops at EOF", "[cache][direct]") {
  FileFixture f;
  Aligned buf(8192);
  std::fill(buf.mem, buf.mem + 8192, std::byte{7});
  auto n = f.cache.direct_read(*f.as, 0, buf.span(), 5000);
  REQUIRE(n.is_ok());
  CHECK(*n == 5000);
  CHECK(std::all_of(buf.mem, buf.mem + 5000, [](std::byte b) { return b == std::byte{0}; }));
  CHECK(f.dev.log().empty());
}
