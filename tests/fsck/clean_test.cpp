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

}  // namespace cardfs::fsck::testing
