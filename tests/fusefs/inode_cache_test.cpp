// The in-memory inode table stays bounded: inodes nobody uses (not looked
// up by the kernel, no dirty pages, nothing owed to fsync) are evicted and
// read again from their records when needed.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <string>

#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {
std::string content_of(int i) { return "file " + std::to_string(i) + std::string(i % 300, 'x'); }
}  // namespace

TEST_CASE("unused inodes are evicted and come back intact", "[fusefs][inode-cache]") {
  FsOptions o = sized(256ull << 20);
  o.mount.inode_cache_limit = 256;
  TestFs t(o);
  // One file stays looked up (an open file) the whole time.
  auto held = t->mknod(kRootIno, "held", S_IFREG | 0644, 0, {});
  REQUIRE(held.is_ok());
  REQUIRE(t->write(held->ino, 0, bytes_of("held")).is_ok());
  constexpr int kFiles = 6000, kDirs = 12, kSyncEvery = 200;
  std::vector<uint64_t> dirs;
  for (int d = 0; d < kDirs; ++d) {
    auto a = t->mkdir(kRootIno, "d" + std::to_string(d), 0755, {});
    REQUIRE(a.is_ok());
    dirs.push_back(a->ino);
    t->forget(a->ino, 1);
  }
  size_t peak = 0;
  for (int i = 0; i < kFiles; ++i) {
    auto f = t->mknod(dirs[i % kDirs], "f" + std::to_string(i), S_IFREG | 0644, 0, {});
    REQUIRE(f.is_ok());
    REQUIRE(t->write(f->ino, 0, bytes_of(content_of(i))).is_ok());
    t->forget(f->ino, 1);
    if (i % kSyncEvery == kSyncEvery - 1) REQUIRE(t->sync().is_ok());  // dirty files can go after this
    peak = std::max<size_t>(peak, t->counters().inodes_cached);
  }
  // Files with dirty pages since the last sync cannot be evicted yet; a
  // scan that frees too little waits for another quarter of the limit.
  CHECK(peak <= 256 + kSyncEvery + 256 / 4 + kDirs + 2);
  CHECK(t->counters().inodes_evicted >= kFiles - 256 - kSyncEvery);
  REQUIRE(t->write(held->ino, 4, bytes_of(" still")).is_ok());  // never evicted under us
  std::vector<std::byte> buf(400);
  auto n = t->read(held->ino, 0, buf);
  REQUIRE(n.is_ok());
  CHECK(string_of(std::span(buf).first(*n)) == "held still");
  // Every file reads back through a reloaded inode; half are then unlinked.
  for (int i = 0; i < kFiles; ++i) {
    const std::string name = "f" + std::to_string(i);
    auto f = t->lookup(dirs[i % kDirs], name);
    REQUIRE(f.is_ok());
    auto r = t->read(f->ino, 0, buf);
    REQUIRE(r.is_ok());
    INFO("file " << i);
    REQUIRE(string_of(std::span(buf).first(*r)) == content_of(i));
    t->forget(f->ino, 1);
    if (i % 2) REQUIRE(t->unlink(dirs[i % kDirs], name).is_ok());
  }
  CHECK(t->counters().inodes_cached <= 256 + 256 / 4 + kDirs + 2);
  CHECK(t->check_free_counts().is_ok());
  t.remount();
  for (int i = 0; i < kFiles; i += 97) {
    auto f = t->lookup(dirs[i % kDirs], "f" + std::to_string(i));
    CHECK(f.is_ok() == (i % 2 == 0));
  }
  CHECK(t->check_free_counts().is_ok());
}

namespace {
// Read bios that touched any group's inode table so far.
uint64_t inode_table_reads(TestFs& t) {
  const Superblock& sb = t.summary().sb;
  uint64_t n = 0;
  for (uint32_t g = 0; g < sb.group_count(); ++g) {
    const uint64_t first = group_layout(sb, g).inode_table * sb.block_size();
    n += t.dev().reads_overlapping(first, first + uint64_t(inode_table_blocks(sb)) * sb.block_size());
  }
  return n;
}
}  // namespace

TEST_CASE("creates in a fresh filesystem read no inode-table block", "[fusefs][inode-cache]") {
  TestFs t(sized(256ull << 20));
  t.remount();  // a cold cache: only what mount itself reads
  const uint64_t at_mount = inode_table_reads(t);
  constexpr int kFiles = 3000;
  std::vector<uint64_t> dirs;
  for (int d = 0; d < 8; ++d) {  // directories spread over groups (Orlov)
    auto a = t->mkdir(kRootIno, "d" + std::to_string(d), 0755, {});
    REQUIRE(a.is_ok());
    dirs.push_back(a->ino);
  }
  for (int i = 0; i < kFiles; ++i) {
    auto f = t->mknod(dirs[i % dirs.size()], "f" + std::to_string(i), S_IFREG | 0644, 0, {});
    REQUIRE(f.is_ok());
    t->forget(f->ino, 1);
  }
  CHECK(inode_table_reads(t) == at_mount);
  t.remount();  // and every record was written
  for (int i = 0; i < kFiles; i += 97) {
    auto a = t->lookup(dirs[i % dirs.size()], "f" + std::to_string(i));
    REQUIRE(a.is_ok());
    CHECK(S_ISREG(a->mode));
  }
  CHECK(t->check_free_counts().is_ok());
}
