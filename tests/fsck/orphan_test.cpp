// The orphan list in fsck (issue 15, item 3): a file unlinked while open
// and then a crash must stay deleted. fsck clears the list's inodes before
// its passes (as e2fsck's release_orphan_inodes), never reconnects an inode
// whose link count is 0 to /lost+found, and under -n leaves pending orphans
// to the next mount without calling them errors.
#include <catch2/catch.hpp>

#include "tests/fsck/fsck_fixture.h"

namespace cardfs::fsck::testing {

using namespace fusefs;

namespace {

Superblock superblock_of(TestImage& img) {
  auto sb = decode_superblock(img.read_bytes(kSuperblockOffset, kSuperblockSize), true);
  REQUIRE(sb.is_ok());
  return *sb;
}

void set_superblock(TestImage& img, Superblock sb) {
  std::vector<std::byte> raw(kSuperblockSize);
  encode_superblock(sb, raw);
  img.write_bytes(kSuperblockOffset, raw);
}

// Nothing of the orphan is left: its record is free and no name in
// /lost+found leads to it.
void check_gone(TestImage& img, uint32_t ino) {
  CHECK(img.inode(ino).mode == 0);
  CHECK(img.inode_of("/lost+found/#" + std::to_string(ino)) == 0);
  CHECK(superblock_of(img).last_orphan == 0);
  CHECK_FALSE(superblock_of(img).feature_ro_compat & kRoCompatOrphanPresent);
  CHECK(img.verify_files() == "");
}

}  // namespace

TEST_CASE("fsck frees the orphan list's inodes first and never brings them back") {
  TestImage img;
  const uint32_t ino = img.add_orphan("gone", std::string(50000, 'g'));
  REQUIRE(img.inode(ino).links_count == 0);
  REQUIRE(superblock_of(img).last_orphan == ino);
  REQUIRE(superblock_of(img).feature_ro_compat & kRoCompatOrphanPresent);
  // -n: the next mount would free it; not an error.
  FsckReport look = img.fsck(Mode::kNo);
  INFO("fsck -n: " << describe(look) << "\n" << img.last_output());
  CHECK(look.exit_code == kExitClean);
  CHECK(img.last_output().find("freed by the next read-write mount") != std::string::npos);
  FsckReport fix = img.fsck(Mode::kYes);
  INFO("fsck -y: " << describe(fix) << "\n" << img.last_output());
  CHECK(fix.exit_code == kExitCorrected);
  CHECK(has_finding(fix, Problem::kOrphanInode));
  CHECK_FALSE(has_finding(fix, Problem::kUnattachedInode));
  FsckReport again = img.fsck(Mode::kNo);
  INFO("fsck -n again: " << describe(again) << "\n" << img.last_output());
  CHECK(again.exit_code == kExitClean);
  check_gone(img, ino);
}

TEST_CASE("an inode with no links that is on no list is cleared, not reconnected") {
  TestImage img;
  const uint32_t ino = img.add_orphan("lost", std::string(30000, 'l'));
  Superblock sb = superblock_of(img);
  sb.last_orphan = 0;  // as when the superblock did not reach the card
  sb.feature_ro_compat &= ~kRoCompatOrphanPresent;
  set_superblock(img, sb);
  expect_found_and_repaired(img, Problem::kDeletedInode);
  check_gone(img, ino);
}

TEST_CASE("a damaged orphan list is reported and cleared - its inodes are still freed") {
  TestImage img;
  const uint32_t ino = img.add_orphan("loop", std::string(9000, 'o'));
  DiskInode d = img.inode(ino);
  d.next_orphan = ino;  // a loop
  img.set_inode(ino, d);
  expect_found_and_repaired(img, Problem::kOrphanListBad);
  check_gone(img, ino);
}

}  // namespace cardfs::fsck::testing
