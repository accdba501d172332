// The orphan list (issue 15, item 3; fusefs/orphan.h): an inode whose last
// link goes while it is in use sits on the superblock's last_orphan chain
// until it is freed, and the next mount after a crash frees it.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "tests/fusefs/fs_fixture.h"

using namespace cardfs;
using namespace cardfs::fusefs;
using namespace cardfs::fusefs::testing;

namespace {

// An open file of `bytes` bytes at /name.
Ino open_file(TestFs& t, const std::string& name, size_t bytes) {
  auto a = t->mknod(kRootIno, name, S_IFREG | 0644, 0, {});
  REQUIRE(a.is_ok());
  REQUIRE(t->open(a->ino).is_ok());
  REQUIRE(t->write(a->ino, 0, bytes_of(std::string(bytes, 'o'))).is_ok());
  return a->ino;
}

// The superblock and an inode record as the device holds them.
Superblock disk_superblock(TestFs& t) {
  std::vector<std::byte> raw(kSuperblockSize);
  t.dev().peek_bytes(kSuperblockOffset, raw);
  auto sb = decode_superblock(raw, true);
  REQUIRE(sb.is_ok());
  return *sb;
}

DiskInode disk_inode(TestFs& t, Ino ino) {
  const Superblock sb = disk_superblock(t);
  const uint32_t group = uint32_t(ino - 1) / sb.inodes_per_group;
  const BlockOffset at = inode_location(sb, group_layout(sb, group).inode_table, uint32_t(ino));
  std::vector<std::byte> raw(kInodeSize);
  t.dev().peek_bytes(at.block * sb.block_size() + at.offset, raw);
  auto d = decode_inode(raw, uint32_t(ino), sb.csum_seed());
  REQUIRE(d.is_ok());
  return *d;
}

void close_and_forget(TestFs& t, Ino ino) {
  t->release(ino);
  t->forget(ino, 1);
}

}  // namespace

TEST_CASE("an inode unlinked while open is on the orphan list, on disk, until it is freed") {
  TestFs t;
  Ino f = open_file(t, "f", 10000);
  REQUIRE(t->unlink(kRootIno, "f").is_ok());
  REQUIRE(t->sync().is_ok());
  CHECK(disk_superblock(t).last_orphan == f);
  CHECK(disk_superblock(t).feature_ro_compat & kRoCompatOrphanPresent);
  CHECK(disk_inode(t, f).links_count == 0);
  CHECK(disk_inode(t, f).next_orphan == 0);
  close_and_forget(t, f);
  REQUIRE(t->sync().is_ok());
  CHECK(disk_superblock(t).last_orphan == 0);
  CHECK_FALSE(disk_superblock(t).feature_ro_compat & kRoCompatOrphanPresent);
  CHECK(disk_inode(t, f).mode == 0);
}

TEST_CASE("taking an orphan from the middle of the list relinks the one before it") {
  TestFs t;
  Ino a = open_file(t, "a", 100), b = open_file(t, "b", 100), c = open_file(t, "c", 100);
  for (const char* n : {"a", "b", "c"}) REQUIRE(t->unlink(kRootIno, n).is_ok());
  REQUIRE(t->sync().is_ok());
  // Newest first: c -> b -> a.
  CHECK(disk_superblock(t).last_orphan == c);
  CHECK(disk_inode(t, c).next_orphan == b);
  CHECK(disk_inode(t, b).next_orphan == a);
  close_and_forget(t, b);
  REQUIRE(t->sync().is_ok());
  CHECK(disk_inode(t, c).next_orphan == a);
  close_and_forget(t, c);
  REQUIRE(t->sync().is_ok());
  CHECK(disk_superblock(t).last_orphan == a);
  CHECK(disk_inode(t, a).next_orphan == 0);
  // A store of the inode (a setattr) keeps its link.
  SetAttr chmod;
  chmod.mode = 0600;
  REQUIRE(t->setattr(a, chmod).is_ok());
  REQUIRE(t->sync().is_ok());
  CHECK(disk_superblock(t).last_orphan == a);
}

// InodeTable::store checksums a record once when the inode's own copy of
// the link is the list's (OrphanList::write_record), and again with the
// list's link when it is not: either way the card holds the list's link
// under a valid checksum (disk_inode decodes with the checksum checked).
TEST_CASE("a stored orphan record carries the list's link, whether its own copy is current or stale") {
  TestFs t;
  Ino a = open_file(t, "a", 100), b = open_file(t, "b", 100), c = open_file(t, "c", 100);
  for (const char* n : {"a", "b", "c"}) REQUIRE(t->unlink(kRootIno, n).is_ok());
  SetAttr chmod;
  chmod.mode = 0600;
  // b is in the middle (c -> b -> a): its link is a, its copy's is not.
  REQUIRE(t->setattr(b, chmod).is_ok());
  REQUIRE(t->sync().is_ok());
  CHECK(disk_inode(t, b).next_orphan == a);
  CHECK(disk_inode(t, b).mode == (S_IFREG | 0600));
  // a freed: b is the tail, its link 0 (relinked in place), as its copy's.
  close_and_forget(t, a);
  chmod.mode = 0640;
  REQUIRE(t->setattr(b, chmod).is_ok());
  REQUIRE(t->sync().is_ok());
  CHECK(disk_inode(t, b).next_orphan == 0);
  CHECK(disk_inode(t, b).mode == (S_IFREG | 0640));
  CHECK(disk_inode(t, c).next_orphan == b);
  // A file on no list: its link 0 either way.
  auto f = t->mknod(kRootIno, "f", S_IFREG | 0644, 0, {});
  REQUIRE(f.is_ok());
  REQUIRE(t->sync().is_ok());
  CHECK(disk_inode(t, f->ino).next_orphan == 0);
  CHECK(disk_inode(t, f->ino).links_count == 1);
  close_and_forget(t, b);
  close_and_forget(t, c);
}

TEST_CASE("after a crash the next mount frees the orphans - their space comes back") {
  TestFs t(sized(16 << 20));
  const uint64_t free_blocks = t->statfs()->free_blocks, free_files = t->statfs()->free_files;
  Ino a = open_file(t, "a", 300000), b = open_file(t, "b", 5000);
  REQUIRE(t->unlink(kRootIno, "a").is_ok());
  REQUIRE(t->unlink(kRootIno, "b").is_ok());
  REQUIRE(t->sync().is_ok());
  REQUIRE(t.try_mount().is_ok());  // a crash: nothing closed, nothing unmounted
  CHECK(t->statfs()->free_blocks == free_blocks);
  CHECK(t->statfs()->free_files == free_files);
  CHECK(t->getattr(a).status().code() == ENOENT);
  CHECK(t->getattr(b).status().code() == ENOENT);
  CHECK(t->superblock().last_orphan == 0);
  CHECK_FALSE(t->has_errors());
  REQUIRE(t->check_free_counts().is_ok());
  t.remount();
  CHECK(t->statfs()->free_blocks == free_blocks);
}

TEST_CASE("a file linked again is not an orphan - a damaged list marks the filesystem") {
  TestFs t;
  Ino f = open_file(t, "f", 100);
  REQUIRE(t->link(f, kRootIno, "g").is_ok());
  REQUIRE(t->unlink(kRootIno, "f").is_ok());
  REQUIRE(t->sync().is_ok());
  CHECK(disk_superblock(t).last_orphan == 0);
  // A head outside the inode table: the mount goes on, with errors noted.
  t.unmount();
  Superblock sb = disk_superblock(t);
  sb.last_orphan = sb.inodes_count + 5;
  sb.feature_ro_compat |= kRoCompatOrphanPresent;
  std::vector<std::byte> raw(kSuperblockSize);
  encode_superblock(sb, raw);
  t.dev().poke_bytes(kSuperblockOffset, raw);
  REQUIRE(t.try_mount().is_ok());
  CHECK(t->has_errors());
  CHECK(t->superblock().last_orphan == 0);
}

// An unlink of a file that is not open but that the kernel still knows (a
// lookup held, as after any rm) writes its orphan entry to the card only
// through the next commit or metadata flush, not at once (the superblock
// write per unlink was in every rm's profile); a crash after that flush
// and before the FORGET still gives the inode and its blocks back.
TEST_CASE("a file the kernel still knows, unlinked, is freed after a crash, with and without a journal") {
  for (bool journal : {true, false}) {
    FsOptions o = sized(16 << 20);
    o.journal = journal;
    TestFs t(o);
    const uint64_t free_blocks = t->statfs()->free_blocks, free_files = t->statfs()->free_files;
    auto a = t->mknod(kRootIno, "a", S_IFREG | 0644, 0, {});
    REQUIRE(a.is_ok());
    REQUIRE(t->open(a->ino).is_ok());
    REQUIRE(t->write(a->ino, 0, bytes_of(std::string(200000, 'k'))).is_ok());
    t->release(a->ino);  // closed; the lookup stays
    REQUIRE(t->unlink(kRootIno, "a").is_ok());
    CHECK(t->getattr(a->ino)->nlink == 0);
    REQUIRE(t->sync().is_ok());
    CHECK(disk_superblock(t).last_orphan == a->ino);
    REQUIRE(t.try_mount().is_ok());  // a crash before the FORGET
    CHECK(t->statfs()->free_blocks == free_blocks);
    CHECK(t->statfs()->free_files == free_files);
    CHECK(t->getattr(a->ino).status().code() == ENOENT);
    CHECK_FALSE(t->has_errors());
    REQUIRE(t->check_free_counts().is_ok());
  }
}
