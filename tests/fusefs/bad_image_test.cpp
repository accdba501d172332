// Bad images are refused or reported with a clear error, never served.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "base/coding.h"
#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

void flip(TestFs& t, uint64_t byte) {
  std::byte b[1];
  t.dev().peek_bytes(byte, b);
  b[0] ^= std::byte{0x10};
  t.dev().poke_bytes(byte, b);
}

uint64_t inode_byte(const Superblock& sb, uint32_t ino) {
  BlockOffset at = inode_location(sb, group_layout(sb, (ino - 1) / sb.inodes_per_group).inode_table, ino);
  return at.block * sb.block_size() + at.offset;
}

void rewrite_superblock(TestFs& t, const std::function<void(Superblock&)>& change) {
  std::vector<std::byte> raw(kSuperblockSize);
  t.dev().peek_bytes(kSuperblockOffset, raw);
  auto sb = decode_superblock(raw);
  REQUIRE(sb.is_ok());
  change(*sb);
  encode_superblock(*sb, raw);
  t.dev().poke_bytes(kSuperblockOffset, raw);
}

bool mentions(const Status& st, const std::string& word) {
  return st.message().find(word) != std::string::npos;
}

}  // namespace

TEST_CASE("a superblock with the wrong magic is not mounted") {
  TestFs t;
  t.unmount();
  flip(t, kSuperblockOffset);
  Status st = t.try_mount();
  CHECK(st.code() == EINVAL);
  CHECK(mentions(st, "magic"));
  CHECK(read_superblock(t.dev()).status().code() == EINVAL);
}

TEST_CASE("an unsupported incompatible feature refuses the mount") {
  TestFs t;
  t.unmount();
  rewrite_superblock(t, [](Superblock& sb) { sb.feature_incompat |= 0x80; });
  Status st = t.try_mount();
  CHECK(st.code() == EOPNOTSUPP);
  CHECK(mentions(st, "incompatible features 0x80"));
}

TEST_CASE("checksum mismatches in the superblock, descriptors and bitmaps refuse the mount") {
  TestFs t(sized(16 << 20, 1024));
  const Superblock sb = t.summary().sb;
  const GroupLayout g0 = group_layout(sb, 0);
  t.unmount();
  SECTION("superblock") {
    flip(t, kSuperblockOffset + 40);
    Status st = t.try_mount();
    CHECK(st.code() == EIO);
    CHECK(mentions(st, "superblock: checksum"));
  }
  SECTION("group descriptor") {
    flip(t, (g0.first + 1) * 1024 + 64 + 25);  // group 1's free count
    Status st = t.try_mount();
    CHECK(st.code() == EIO);
    CHECK(mentions(st, "group descriptor 1"));
  }
  SECTION("block bitmap") {
    flip(t, g0.block_bitmap * 1024 + 900);
    Status st = t.try_mount();
    CHECK(st.code() == EIO);
    CHECK(mentions(st, "block bitmap"));
  }
}

TEST_CASE("a corrupt inode is EIO, marks the filesystem, and later rw mounts are refused") {
  TestFs t;
  auto f = t->mknod(kRootIno, "victim", S_IFREG | 0644, 0, {});
  REQUIRE(f.is_ok());
  const Superblock sb = t->superblock();
  t.unmount();
  flip(t, inode_byte(sb, uint32_t(f->ino)) + 20);  // inside the size field
  REQUIRE(t.try_mount().is_ok());
  auto a = t->lookup(kRootIno, "victim");
  CHECK(a.status().code() == EIO);
  CHECK(mentions(a.status(), "checksum"));
  CHECK(t->has_errors());
  t.unmount();
  Status st = t.try_mount();
  CHECK(st.code() == EUCLEAN);
  CHECK(mentions(st, "fsck"));
}

TEST_CASE("an out-of-range block pointer is reported, never followed") {
  TestFs t;
  auto f = t->mknod(kRootIno, "f", S_IFREG | 0644, 0, {});
  REQUIRE(f.is_ok());
  REQUIRE(t->write(f->ino, 0, bytes_of(std::string(5000, 'd'))).is_ok());
  const Superblock sb = t->superblock();
  t.unmount();
  // Point block[1] far past the end, with a valid inode checksum.
  const uint64_t at = inode_byte(sb, uint32_t(f->ino));
  std::vector<std::byte> rec(kInodeSize);
  t.dev().peek_bytes(at, rec);
  auto d = decode_inode(rec, uint32_t(f->ino), sb.csum_seed());
  REQUIRE(d.is_ok());
  d->block[1] = uint32_t(sb.blocks_count + 1000);
  encode_inode(*d, uint32_t(f->ino), sb.csum_seed(), rec);
  t.dev().poke_bytes(at, rec);
  REQUIRE(t.try_mount().is_ok());
  std::vector<std::byte> buf(4096);
  auto n = t->read(f->ino, 4096, buf);  // file block 1: the bad pointer
  CHECK(n.status().code() == EIO);
  CHECK(t->has_errors());
  // Truncating must not free the bogus block either.
  const uint64_t free_blocks = t->statfs()->free_blocks;
  CHECK(t->truncate(f->ino, 0).code() == EIO);
  CHECK(t->statfs()->free_blocks <= free_blocks + 1);
  CHECK(t->check_free_counts().is_ok());
}

TEST_CASE("a directory block with a bad checksum is EIO, naming the block") {
  TestFs t;
  REQUIRE(t->mknod(kRootIno, "x", S_IFREG | 0644, 0, {}).is_ok());
  const uint64_t root_block = *t->bmap(kRootIno, 0);
  t.unmount();
  flip(t, root_block * 4096 + 30);
  REQUIRE(t.try_mount().is_ok());
  auto a = t->lookup(kRootIno, "x");
  CHECK(a.status().code() == EIO);
  CHECK(mentions(a.status(), "directory 2 block 0"));
}

// A directory block is checked once per stay in the cache: one that
// leaves it (here bforget; eviction alike) is checked again when read back.
TEST_CASE("a directory block read back into the cache is checked again") {
  TestFs t;
  REQUIRE(t->mknod(kRootIno, "x", S_IFREG | 0644, 0, {}).is_ok());
  REQUIRE(t->sync().is_ok());
  const uint64_t root_block = *t->bmap(kRootIno, 0);
  REQUIRE(t->lookup(kRootIno, "x").is_ok());  // checked, and so marked
  flip(t, root_block * 4096 + 30);
  REQUIRE(t->lookup(kRootIno, "x").is_ok());  // the cached copy is still good
  t.cache().bforget(root_block);
  auto a = t->lookup(kRootIno, "x");
  CHECK(a.status().code() == EIO);
  CHECK(mentions(a.status(), "directory 2 block 0"));
}

TEST_CASE("a mount with a different block size than the cache's is refused") {
  TestFs t;
  t.unmount();
  cache::PageCache other(t.dev(), t.clock(), 1024);
  auto fs = Filesystem::mount(other, t.clock(), 1024);
  CHECK(!fs.is_ok());
}
