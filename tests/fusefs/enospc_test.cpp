// Writes on a full filesystem (issue 15, item 1): a write that cannot
// allocate returns the bytes it wrote (a short count) or ENOSPC when it
// wrote none, and the size, block count and block map hold exactly what
// was written, in memory and after a remount. Buffered and O_DIRECT.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

// Aligned for O_DIRECT, filled with a pattern that depends on `seed`.
struct Buf {
  explicit Buf(size_t n, int seed) : bytes(n + 4096) {
    for (size_t i = 0; i < n; ++i) data()[i] = std::byte(uint8_t(i * 7 + seed));
    len = n;
  }
  std::byte* data() {
    auto p = reinterpret_cast<uintptr_t>(bytes.data());
    return reinterpret_cast<std::byte*>((p + 4095) / 4096 * 4096);
  }
  std::span<const std::byte> span() { return {data(), len}; }
  std::vector<std::byte> bytes;
  size_t len;
};

Result<size_t> write_at(TestFs& t, Ino ino, uint64_t off, Buf& b, bool direct) {
  return direct ? t->direct_write(ino, off, b.span()) : t->write(ino, off, b.span());
}

// Fills the filesystem with one file until a write of `chunk` bytes gets
// ENOSPC (writes each 64 KiB; the last one may be short).
Ino fill(TestFs& t) {
  Ino f = make_file(t, "filler");
  Buf b(64 << 10, 1);
  uint64_t off = 0;
  for (;;) {
    auto n = t->write(f, off, b.span());
    if (!n.is_ok()) {
      REQUIRE(n.status().code() == ENOSPC);
      return f;
    }
    off += *n;
  }
}

// Frees `blocks` data blocks at the end of the filler (whole blocks past
// the double-indirect range, so no indirect block goes with them).
void give_back(TestFs& t, Ino filler, uint64_t blocks) {
  const uint32_t bs = t.summary().sb.block_size();
  uint64_t size = t->getattr(filler)->size / bs * bs;
  const uint64_t before = t->statfs()->free_blocks;
  REQUIRE(t->truncate(filler, size - blocks * bs).is_ok());
  REQUIRE(t->statfs()->free_blocks == before + blocks);
}

void check_file(TestFs& t, Ino f, Buf& b, uint64_t off, uint64_t written) {
  const uint32_t bs = t.summary().sb.block_size();
  auto a = t->getattr(f);
  REQUIRE(a.is_ok());
  CHECK(a->size == off + written);
  std::vector<std::byte> got(written);
  auto n = t->read(f, off, got);
  REQUIRE(n.is_ok());
  CHECK(*n == written);
  CHECK(std::equal(got.begin(), got.end(), b.data()));
  // Every written block is mapped; the first one not written is a hole.
  for (uint64_t fb = off / bs; fb < (off + written + bs - 1) / bs; ++fb) CHECK(*t->bmap(f, fb) != 0);
  CHECK(*t->bmap(f, (off + written + bs - 1) / bs) == 0);
  REQUIRE(t->check_free_counts().is_ok());
}

}  // namespace

TEST_CASE("a write past EOF on a full filesystem that writes nothing leaves the size, block "
          "count and free space as they were", "[fusefs][enospc]") {
  const bool direct = GENERATE(false, true);
  INFO((direct ? "O_DIRECT" : "buffered"));
  TestFs t(sized(8 << 20));
  Ino f = make_file(t, "f");
  Buf small(4096, 2);
  REQUIRE(*write_at(t, f, 0, small, direct) == 4096);
  fill(t);
  const uint64_t blocks = t->getattr(f)->blocks, free0 = t->statfs()->free_blocks;
  // The repro: 64 KiB at 1 MiB into a 4 KiB file (needs an indirect block too).
  Buf b(64 << 10, 3);
  for (int i = 0; i < 2; ++i) {
    auto n = write_at(t, f, 1 << 20, b, direct);
    CHECK(n.status().code() == ENOSPC);
    CHECK(t->getattr(f)->size == 4096);
    CHECK(t->getattr(f)->blocks == blocks);
    CHECK(t->statfs()->free_blocks == free0);
    CHECK(*t->bmap(f, (1 << 20) / 4096) == 0);
    REQUIRE(t->check_free_counts().is_ok());
  }
  t.remount();
  CHECK(t->getattr(f)->size == 4096);
  CHECK(t->getattr(f)->blocks == blocks);
  CHECK(t->statfs()->free_blocks == free0);
}

TEST_CASE("a write that runs out of space midway returns a short count, and a failed write "
          "after it changes nothing", "[fusefs][enospc]") {
  const bool direct = GENERATE(false, true);
  const uint32_t bs = GENERATE(1024u, 4096u);
  INFO((direct ? "O_DIRECT" : "buffered") << " at " << bs << "-byte blocks");
  TestFs t(sized(8 << 20, bs));
  Ino f = make_file(t, "f");
  Ino filler = fill(t);
  // 3 blocks free: at 1 KiB blocks the write stops inside a page.
  give_back(t, filler, 3);
  Buf b(64 << 10, 4);
  auto n = write_at(t, f, 0, b, direct);
  REQUIRE(n.is_ok());
  CHECK(*n == 3 * bs);
  CHECK(t->getattr(f)->blocks == 3 * bs / 512);
  check_file(t, f, b, 0, 3 * bs);
  // The retry of the rest, as a program continues after a short write.
  Buf rest(64 << 10, 5);
  CHECK(write_at(t, f, 3 * bs, rest, direct).status().code() == ENOSPC);
  check_file(t, f, b, 0, 3 * bs);
  t.remount();
  CHECK(t->getattr(f)->blocks == 3 * bs / 512);
  check_file(t, f, b, 0, 3 * bs);
}

TEST_CASE("a write that cannot get its data block gives back the indirect block it took",
          "[fusefs][enospc]") {
  TestFs t(sized(8 << 20));
  Ino f = make_file(t, "f");
  Ino filler = fill(t);
  give_back(t, filler, 1);  // room for the indirect block, none for the data
  Buf b(4096, 6);
  const uint64_t free0 = t->statfs()->free_blocks;
  CHECK(t->write(f, 64 << 10, b.span()).status().code() == ENOSPC);
  CHECK(t->getattr(f)->size == 0);
  CHECK(t->getattr(f)->blocks == 0);
  CHECK(t->statfs()->free_blocks == free0);
  CHECK(t->inspect_inode(f)->block[kDirectBlocks] == 0);
  REQUIRE(t->check_free_counts().is_ok());
}
