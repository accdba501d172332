// AU-aware allocation and write-back over the emulated card: a large file
// written and fsynced must reach the card as one ascending stream of data,
// with the metadata after it in one burst, so the card's few open AUs are
// never closed and reopened (seed 004's streaming vs interleaved writes).
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <mutex>
#include <set>

#include "blockdev/queue.h"
#include "blockdev/sdcard_driver.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/profiles.h"
#include "tests/fusefs/au_stream.h"
#include "tests/fusefs/fs_fixture.h"
#include "tests/support/scratch_dir.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

TEST_CASE("file data fills data AUs in order - indirect and directory blocks go to metadata AUs",
          "[fusefs][au]") {
  TestFs t(sized(256ull << 20));  // 2 groups of 128 MiB, 4 MiB AUs: metadata AUs 0 and 32
  const uint64_t au = t->superblock().au_size / 4096;
  REQUIRE(au == 1024);
  auto meta_au = [&](uint64_t b) { return b / au == 0 || b / au == 32; };
  auto dir = t->mkdir(kRootIno, "d", 0755, {});
  REQUIRE(dir.is_ok());
  auto f = t->mknod(kRootIno, "big", S_IFREG | 0644, 0, {});  // group 0 (d went elsewhere)
  REQUIRE(f.is_ok());
  // 140 MiB: past the double indirect level and across the group boundary.
  std::vector<std::byte> chunk(1 << 20, std::byte{7});
  for (uint64_t off = 0; off < (140ull << 20); off += chunk.size())
    REQUIRE(t->write(f->ino, off, chunk).is_ok());
  uint64_t prev = 0, jumps = 0;
  for (uint64_t fb = 0; fb < 140 * 256; ++fb) {
    auto b = t->bmap(f->ino, fb);
    REQUIRE(b.is_ok());
    INFO("file block " << fb << " at " << *b);
    REQUIRE(!meta_au(*b));
    // The first data AU (after the journal's), not the metadata AU's free tail.
    if (fb == 0) CHECK(*b / au == 1 + t.summary().journal_blocks / au);
    if (fb && *b != prev + 1) {
      ++jumps;
      CHECK(*b == 33 * au);  // the only jump: over group 1's metadata AU
    }
    prev = *b;
  }
  CHECK(jumps == 1);
  auto d = t->inspect_inode(f->ino);
  REQUIRE(d.is_ok());
  CHECK(meta_au(d->block[10]));
  CHECK(meta_au(d->block[11]));
  auto dd = t->inspect_inode(dir->ino);
  REQUIRE(dd.is_ok());
  CHECK(meta_au(dd->block[0]));
  REQUIRE(t->setxattr(f->ino, "user.tag", bytes_of("x"), 0).is_ok());
  d = t->inspect_inode(f->ino);
  REQUIRE(d.is_ok());
  CHECK(meta_au(d->xattr_block));
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("data spills into metadata AUs only when the data AUs are full", "[fusefs][au]") {
  TestFs t(sized(64ull << 20));  // one group; AU 0 holds its metadata, AU 1 the journal
  const uint64_t au = t->superblock().au_size / 4096;
  REQUIRE(t.summary().journal_blocks == au);
  auto f = t->mknod(kRootIno, "fill", S_IFREG | 0644, 0, {});
  REQUIRE(f.is_ok());
  std::vector<std::byte> chunk(1 << 20);
  uint64_t off = 0;
  for (;; off += chunk.size()) {
    auto n = t->write(f->ino, off, chunk);
    if (!n.is_ok()) {
      CHECK(n.status().code() == ENOSPC);
      break;
    }
  }
  // Some data had to go into AU 0 at the end, after the 14 data AUs.
  uint64_t in_meta = 0;
  for (uint64_t fb = 0; fb < off / 4096; ++fb) {
    auto b = t->bmap(f->ino, fb);
    REQUIRE(b.is_ok());
    if (*b && *b / au == 0) ++in_meta;
    CHECK(*b / au != 1);
    if (fb < 14 * au - 64) CHECK(*b / au != 0);
  }
  CHECK(in_meta > 0);
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("a large fsynced file reaches the card as one pass over its AUs", "[fusefs][au]") {
  // seed-class10 keeps 2 AUs open, seed-class4 one: leaving an AU and coming
  // back to it costs a merge. 24 MiB uses the double indirect level; an
  // 8 MiB cache makes the writer do background write-back and be throttled
  // all along. The throttle's sleeps move the virtual clock far faster than
  // the card works, so expiry (which does write metadata, tested in
  // tests/cache) is set out of reach.
  cache::Tunables tun;
  tun.cache_size = 8 << 20;
  tun.dirty_expire_centisecs = 1u << 31;
  for (const char* p : {"seed-class10", "seed-class4"}) {
    auto r = stream_file(p, 64, 24, tun);
    INFO(p << ": " << r.au_entries << " AU entries over " << r.distinct_aus << " AUs, "
           << r.card.merges << " merges, WA " << r.wa);
    CHECK(r.au_entries == r.distinct_aus);  // no AU entered twice
    CHECK(r.distinct_aus == 7);             // 6 data AUs + the metadata AU
    CHECK(r.card.merges <= 2);              // the metadata AU's fold, the journal AU's
    CHECK(r.wa < 1.1);
  }
}
