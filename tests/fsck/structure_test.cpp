// The corruption suite, continued: damage to the directory structure that
// fsck rebuilds (holes, '.' and '..', the root, lost+found, directory
// loops and directories with two names). Same rule as corruption_test.cpp:
// fsck -n exits 4 naming the problem, fsck -y exits 1, fsck -n exits 0,
// and every undamaged file reads back intact.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "fusefs/dir_block.h"
#include "tests/fsck/fsck_fixture.h"

namespace cardfs::fsck::testing {

using namespace fusefs;

namespace {

void add_entry(TestImage& img, uint32_t dir, const std::string& name, uint32_t ino) {
  edit_dir_block(img, dir, img.block_of(dir, 0), [&](std::vector<std::byte>& b) {
    auto added = dir_block::add(b, name, ino, kFtDir);
    REQUIRE(added.is_ok());
    REQUIRE(*added);
  });
}

void remove_entry(TestImage& img, uint32_t dir, const std::string& name) {
  edit_dir_block(img, dir, img.block_of(dir, 0), [&](std::vector<std::byte>& b) {
    REQUIRE(dir_block::remove_at(b, entry_offset(b, name)).is_ok());
  });
}

std::string lost(uint32_t ino, const std::string& rest = "") {
  return "/lost+found/#" + std::to_string(ino) + rest;
}

}  // namespace

TEST_CASE("structure: a hole in a directory") {
  TestImage img;
  const uint32_t dir = img.inode_of("/hashed");
  const uint64_t leaf = img.block_of(dir, 2);
  REQUIRE(leaf != 0);
  const auto leaf_bytes = img.read_block(leaf);
  auto names = dir_block::entries(leaf_bytes);
  REQUIRE(names.is_ok());
  REQUIRE(!names->empty());
  std::vector<std::pair<std::string, uint32_t>> moved;  // path, inode
  for (const DirRecord& r : *names) moved.emplace_back("/hashed/" + std::string(r.name), r.inode);
  auto d = img.inode(dir);
  d.block[2] = 0;
  img.set_inode(dir, d);
  std::vector<std::string> damaged;
  for (auto& [path, ino] : moved) damaged.push_back(path);
  expect_found_and_repaired(img, Problem::kDirHole, damaged);
  CHECK(img.inode(dir).block[2] != 0);
  CHECK((img.inode(dir).flags & kInodeFlagIndex) != 0);  // the index was rebuilt
  for (auto& [path, ino] : moved) CHECK(img.read_path(lost(ino)) == img.files().at(path));
}

TEST_CASE("structure: a missing '.'") {
  TestImage img;
  const uint32_t dir = img.inode_of("/dir1");
  edit_dir_block(img, dir, img.block_of(dir, 0), [&](std::vector<std::byte>& b) {
    dir_block::set_inode(b, entry_offset(b, "."), 0, 0);
  });
  expect_found_and_repaired(img, Problem::kDirDot);
  CHECK(img.inode_of("/dir1/sub/..") == img.inode_of("/dir1"));
}

TEST_CASE("structure: a missing '..'") {
  TestImage img;
  const uint32_t dir = img.inode_of("/dir1/sub");
  remove_entry(img, dir, "..");
  expect_found_and_repaired(img, Problem::kDirDotDot);
  CHECK(img.inode_of("/dir1/sub/..") == img.inode_of("/dir1"));
}

TEST_CASE("structure: a '..' naming the wrong directory") {
  TestImage img;
  const uint32_t dir = img.inode_of("/dir1/sub");
  const uint32_t other = img.inode_of("/hashed");
  edit_dir_block(img, dir, img.block_of(dir, 0), [&](std::vector<std::byte>& b) {
    dir_block::set_inode(b, entry_offset(b, ".."), other, kFtDir);
  });
  expect_found_and_repaired(img, Problem::kDotDotMismatch);
  CHECK(img.inode_of("/dir1/sub/..") == img.inode_of("/dir1"));
}

TEST_CASE("structure: a root inode that is not a directory") {
  TestImage img;
  auto d = img.inode(kRootIno);
  d.mode = S_IFREG | 0755;
  img.set_inode(kRootIno, d);
  expect_found_and_repaired(img, Problem::kRootNotDir);
  CHECK(S_ISDIR(img.inode(kRootIno).mode));
  CHECK((img.inode(kRootIno).mode & 07777) == 0755);
}

TEST_CASE("structure: a root inode wiped out") {
  TestImage img;
  const uint32_t dir1 = img.inode_of("/dir1"), a = img.inode_of("/a.txt");
  std::vector<std::byte> zero(kInodeSize);
  img.write_bytes(img.inode_byte(kRootIno), zero);
  FsckReport first = img.fsck(Mode::kNo);
  INFO(describe(first));
  CHECK(first.exit_code == kExitUncorrected);
  CHECK(has_finding(first, Problem::kRootNotDir));
  FsckReport fix = img.fsck(Mode::kYes);
  INFO(describe(fix) << "\n" << img.last_output());
  CHECK(fix.exit_code == kExitCorrected);
  CHECK(has_finding(fix, Problem::kNoLostFound));  // the old one is unconnected now
  CHECK(img.fsck(Mode::kNo).exit_code == kExitClean);
  // Everything is still there, under lost+found.
  CHECK(img.read_path(lost(dir1, "/f1")) == img.files().at("/dir1/f1"));
  CHECK(img.read_path(lost(dir1, "/sub/f2")) == img.files().at("/dir1/sub/f2"));
  CHECK(img.read_path(lost(a)) == img.files().at("/a.txt"));
}

TEST_CASE("structure: a missing lost+found") {
  TestImage img;
  REQUIRE(img.rmdir("/", "lost+found") == "");
  expect_found_and_repaired(img, Problem::kNoLostFound);
  const uint32_t lf = img.inode_of("/lost+found");
  CHECK(lf != 0);
  CHECK(S_ISDIR(img.inode(lf).mode));
  CHECK(img.inode_of("/lost+found/..") == kRootIno);
}

TEST_CASE("structure: a directory named in two parents (a loop the root reaches)") {
  TestImage img;
  const uint32_t dir1 = img.inode_of("/dir1"), sub = img.inode_of("/dir1/sub");
  add_entry(img, sub, "loop", dir1);
  expect_found_and_repaired(img, Problem::kEntryDirHardLink);
  CHECK(img.inode_of("/dir1/sub/loop") == 0);
  CHECK(img.inode_of("/dir1") == dir1);
  CHECK(img.inode(dir1).links_count == 3);
}

TEST_CASE("structure: a directory loop the root does not reach") {
  TestImage img;
  const uint32_t dir1 = img.inode_of("/dir1"), sub = img.inode_of("/dir1/sub");
  add_entry(img, sub, "loop", dir1);
  remove_entry(img, kRootIno, "dir1");
  expect_found_and_repaired(img, Problem::kDirLoop, {"/dir1/f1", "/dir1/sub/f2"});
  CHECK(img.read_path(lost(dir1, "/f1")) == img.files().at("/dir1/f1"));
  CHECK(img.read_path(lost(dir1, "/sub/f2")) == img.files().at("/dir1/sub/f2"));
  CHECK(img.inode_of(lost(dir1, "/sub/loop")) == 0);
}

}  // namespace cardfs::fsck::testing
