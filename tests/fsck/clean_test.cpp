// A freshly made image checks clean; fsck -n never writes.
#include <catch2/catch.hpp>

#include "tests/fsck/fsck_fixture.h"

namespace cardfs::fsck::testing {

TEST_CASE("fsck: a fresh image with files checks clean") {
  TestImage img;
  FsckReport r = img.fsck(Mode::kNo);
  INFO(describe(r) << "\n" << img.last_output());
  CHECK(r.exit_code == kExitClean);
  CHECK(r.findings.empty());
  CHECK(r.stats.regular == img.files().size());
  CHECK(r.stats.directories == 5);  // /, lost+found, dir1, dir1/sub, hashed
  CHECK(r.stats.symlinks == 1);
  CHECK(img.last_output().find("non-contiguous") != std::string::npos);
}

TEST_CASE("fsck: a clean image is not checked without -f") {
  TestImage img;
  FsckReport r = img.fsck(Mode::kNo, /*force=*/false);
  CHECK(r.skipped);
  CHECK(r.exit_code == kExitClean);
  CHECK(img.last_output().find(": clean,") != std::string::npos);
}

TEST_CASE("fsck: -y on a clean image changes nothing that matters") {
  TestImage img;
  FsckReport r = img.fsck(Mode::kYes);
  INFO(describe(r));
  CHECK(r.exit_code == kExitClean);
  CHECK(img.verify_files().empty());
  CHECK(img.fsck(Mode::kNo).exit_code == kExitClean);
}

TEST_CASE("fsck: -n reports and leaves the image untouched") {
  TestImage img;
  auto d = img.inode(img.inode_of("/a.txt"));
  d.links_count = 7;
  img.set_inode(img.inode_of("/a.txt"), d);
  const auto before = img.read_bytes(0, 4 << 20);
  FsckReport r = img.fsck(Mode::kNo);
  CHECK(r.exit_code == kExitUncorrected);
  CHECK(img.read_bytes(0, 4 << 20) == before);
}

TEST_CASE("fsck: preen fixes safe problems and stops at the others") {
  TestImage img;
  const uint32_t a = img.inode_of("/a.txt");
  auto d = img.inode(a);
  d.links_count = 3;  // link counts: preen fixes these
  img.set_inode(a, d);
  FsckReport r = img.fsck(Mode::kPreen);
  INFO(describe(r) << "\n" << img.last_output());
  CHECK(r.exit_code == kExitCorrected);
  d = img.inode(a);
  d.block[0] = 0xFFFFFF;  // a bad pointer is not safe to clear alone
  img.set_inode(a, d);
  r = img.fsck(Mode::kPreen);
  INFO(describe(r) << "\n" << img.last_output());
  CHECK((r.exit_code & kExitUncorrected) != 0);
  CHECK(img.last_output().find("UNEXPECTED INCONSISTENCY") != std::string::npos);
}

TEST_CASE("fsck: -y that only marks an unclean filesystem clean exits 1 (printed MODIFIED, exited 0)") {
  // As after a crash: the superblock says "not clean", nothing else is wrong.
  TestImage img;
  std::vector<std::byte> raw = img.read_bytes(1024, 1024);
  auto sb = fusefs::decode_superblock(raw);
  REQUIRE(sb.is_ok());
  sb->state = uint16_t(sb->state & ~fusefs::kStateClean);
  fusefs::encode_superblock(*sb, raw);
  img.write_bytes(1024, raw);
  FsckReport n = img.fsck(Mode::kNo, /*force=*/false);
  CHECK(n.exit_code == kExitClean);  // nothing wrong: -n says so
  FsckReport y = img.fsck(Mode::kYes, /*force=*/false);
  INFO(describe(y) << "\n" << img.last_output());
  CHECK(y.modified);
  CHECK(img.last_output().find("FILE SYSTEM WAS MODIFIED") != std::string::npos);
  CHECK(y.exit_code == kExitCorrected);  // e2fsck: changed => 1
  FsckReport again = img.fsck(Mode::kYes, /*force=*/false);
  CHECK(again.skipped);
  CHECK(again.exit_code == kExitClean);
}

TEST_CASE("fsck: cleared padding of an inode bitmap is padding, not inodes past the last (printed +(N) past it)") {
  TestImage img;
  const uint32_t ipg = img.sb().inodes_per_group;
  const uint32_t bits = 8 * img.sb().block_size();
  REQUIRE(ipg < bits);
  const uint64_t where = fusefs::group_layout(img.sb(), 0).inode_bitmap;
  std::vector<std::byte> map = img.read_block(where);
  for (uint32_t i = ipg; i < bits; ++i) map[i / 8] &= std::byte(~(1u << (i % 8)));
  img.write_block(where, map);
  FsckReport r = img.fsck(Mode::kNo);
  INFO(img.last_output());
  CHECK(has_finding(r, Problem::kInodeBitmap));
  CHECK(img.last_output().find("Padding at the end of the inode bitmap of group 0 is not set.") != std::string::npos);
  CHECK(img.last_output().find("Inode bitmap of group 0 differs") == std::string::npos);
  FsckReport y = img.fsck(Mode::kYes);
  CHECK(y.exit_code == kExitCorrected);
  CHECK(img.fsck(Mode::kNo).exit_code == kExitClean);
}

}  // namespace cardfs::fsck::testing
