// The corruption suite: each test damages a freshly made image in one way,
// then fsck -n must find it (exit 4), fsck -y must fix it (exit 1), fsck -n
// again must find nothing (exit 0), and every undamaged file must read back.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <algorithm>

#include "base/coding.h"
#include "fusefs/dir_block.h"
#include "tests/fsck/fsck_fixture.h"

namespace cardfs::fsck::testing {

using namespace fusefs;

TEST_CASE("corruption: primary superblock") {
  TestImage img;
  std::vector<std::byte> junk(kSuperblockSize, std::byte{0x5A});
  img.write_bytes(kSuperblockOffset, junk);
  expect_found_and_repaired(img, Problem::kSuperPrimaryBad);
}

TEST_CASE("corruption: primary superblock, checked with -b") {
  TestImage img;
  std::vector<std::byte> junk(64, std::byte{0});
  img.write_bytes(kSuperblockOffset, junk);
  const uint64_t backup = group_first_block(img.sb(), 1);
  FsckReport r = img.fsck(Mode::kYes, true, backup);
  INFO(describe(r) << "\n" << img.last_output());
  CHECK((r.exit_code == kExitCorrected || r.exit_code == kExitClean));
  CHECK(img.fsck(Mode::kNo).exit_code == kExitClean);
  CHECK(img.verify_files() == "");
}

TEST_CASE("corruption: a backup superblock") {
  TestImage img;
  const uint64_t backup = group_first_block(img.sb(), 1);
  std::vector<std::byte> junk(16, std::byte{0x11});
  img.write_bytes(backup * img.sb().block_size() + 24, junk);
  expect_found_and_repaired(img, Problem::kSuperBackupBad);
}

TEST_CASE("corruption: a group descriptor") {
  TestImage img;
  const uint64_t gdt = group_first_block(img.sb(), 0) + 1;
  std::vector<std::byte> junk(8, std::byte{0x77});
  img.write_bytes(gdt * img.sb().block_size() + kDescSize + 16, junk);  // group 1's inode table
  expect_found_and_repaired(img, Problem::kGroupDescBad);
}

TEST_CASE("corruption: the block bitmap") {
  TestImage img;
  const uint64_t used = img.block_of(img.inode_of("/a.txt"), 0);
  const uint64_t bitmap = group_layout(img.sb(), 0).block_bitmap;
  auto b = img.read_block(bitmap);
  const uint64_t bit = used - group_first_block(img.sb(), 0);
  b[bit / 8] &= ~std::byte(1u << (bit % 8));
  img.write_block(bitmap, b);
  expect_found_and_repaired(img, Problem::kBlockBitmap);
}

TEST_CASE("corruption: the inode bitmap") {
  TestImage img;
  const uint32_t ino = img.inode_of("/b.txt");
  const uint32_t group = (ino - 1) / img.sb().inodes_per_group;
  const uint64_t bitmap = group_layout(img.sb(), group).inode_bitmap;
  auto b = img.read_block(bitmap);
  const uint32_t bit = (ino - 1) % img.sb().inodes_per_group;
  b[bit / 8] &= ~std::byte(1u << (bit % 8));
  img.write_block(bitmap, b);
  expect_found_and_repaired(img, Problem::kInodeBitmap);
}

TEST_CASE("corruption: an inode's block pointers") {
  TestImage img;
  const uint32_t ino = img.inode_of("/a.txt");
  auto d = img.inode(ino);
  d.block[1] = 0x00FFFFFF;
  img.set_inode(ino, d);
  expect_found_and_repaired(img, Problem::kInodeBadPointer, {"/a.txt"});
  // The rest of the file is still there; the lost block reads as a hole.
  std::string a = img.read_path("/a.txt");
  REQUIRE(a.size() == img.files().at("/a.txt").size());
  CHECK(a.substr(0, 1024) == img.files().at("/a.txt").substr(0, 1024));
  CHECK(a.substr(1024, 1024) == std::string(1024, '\0'));
}

TEST_CASE("corruption: a link count") {
  TestImage img;
  const uint32_t ino = img.inode_of("/dir1/f1");
  auto d = img.inode(ino);
  d.links_count = 5;
  img.set_inode(ino, d);
  expect_found_and_repaired(img, Problem::kLinkCount);
  CHECK(img.inode(ino).links_count == 1);
}

TEST_CASE("corruption: a directory entry naming an unused inode") {
  TestImage img;
  const uint32_t dir = img.inode_of("/dir1");
  const uint32_t f1 = img.inode_of("/dir1/f1");
  const uint64_t blk = img.block_of(dir, 0);
  edit_dir_block(img, dir, blk, [&](std::vector<std::byte>& b) {
    dir_block::set_inode(b, entry_offset(b, "f1"), 1000, kFtRegular);
  });
  expect_found_and_repaired(img, Problem::kEntryUnusedInode, {"/dir1/f1"});
  // The file lost its name and was connected to lost+found.
  CHECK(img.read_path("/lost+found/#" + std::to_string(f1)) == img.files().at("/dir1/f1"));
}

TEST_CASE("corruption: a directory block's checksum") {
  TestImage img;
  const uint64_t blk = img.block_of(img.inode_of("/dir1"), 0);
  auto b = img.read_block(blk);
  b[b.size() - 1] ^= std::byte{0xFF};
  img.write_block(blk, b);
  expect_found_and_repaired(img, Problem::kDirBlockChecksum);
}

TEST_CASE("corruption: a hash index block") {
  TestImage img;
  const uint32_t dir = img.inode_of("/hashed");
  REQUIRE((img.inode(dir).flags & kInodeFlagIndex) != 0);
  const uint64_t root = img.block_of(dir, 0);
  auto b = img.read_block(root);
  REQUIRE(get_u16(b.data() + 34) >= 2);  // at least two leaves
  edit_dir_block(img, dir, root, [](std::vector<std::byte>& blk) {
    put_u32(blk.data() + 40, 0xFFFFFFF0u);  // entry 1's hash: leaves now out of range
  });
  expect_found_and_repaired(img, Problem::kDirIndexBad);
  CHECK((img.inode(dir).flags & kInodeFlagIndex) != 0);
}

TEST_CASE("corruption: a lost directory") {
  TestImage img;
  const uint32_t dir = img.inode_of("/dir1");
  const uint32_t sub = img.inode_of("/dir1/sub");
  const uint64_t blk = img.block_of(dir, 0);
  edit_dir_block(img, dir, blk, [&](std::vector<std::byte>& b) {
    REQUIRE(dir_block::remove_at(b, entry_offset(b, "sub")).is_ok());
  });
  expect_found_and_repaired(img, Problem::kUnconnectedDir, {"/dir1/sub/f2"});
  CHECK(img.read_path("/lost+found/#" + std::to_string(sub) + "/f2") == img.files().at("/dir1/sub/f2"));
}

// e2fsck's way: the entry is removed, a directory takes the name, and the
// old inode (it holds data) is connected into it as #ino in the same run.
TEST_CASE("corruption: /lost+found that is not a directory") {
  TestImage img;
  const uint32_t lf = img.inode_of("/lost+found");
  auto d = img.inode(lf);
  d.mode = static_cast<uint16_t>(S_IFREG | 0600);
  img.set_inode(lf, d);
  expect_found_and_repaired(img, Problem::kNoLostFound);
  CHECK(img.inode_of("/lost+found") != lf);
  CHECK(img.inode_of("/lost+found/#" + std::to_string(lf)) == lf);
}

TEST_CASE("corruption: a block owned by two files") {
  TestImage img;
  const uint32_t a = img.inode_of("/a.txt"), b = img.inode_of("/b.txt");
  auto db = img.inode(b);
  db.block[0] = img.inode(a).block[0];
  img.set_inode(b, db);
  expect_found_and_repaired(img, Problem::kInodeDupBlock, {"/b.txt"});
  CHECK(img.inode(b).block[0] != img.inode(a).block[0]);
  CHECK(img.read_path("/b.txt").substr(0, 1024) == img.files().at("/a.txt").substr(0, 1024));
}

// fsck -n names both claimants of a shared block.
static void expect_dup_named(TestImage& img, uint32_t first, uint32_t later) {
  FsckReport r = img.fsck(Mode::kNo);
  INFO(img.last_output());
  bool named = false;
  for (const Finding& f : r.findings)
    named |= f.code == Problem::kInodeDupBlock && f.message.rfind("Inode " + std::to_string(later) + " has ", 0) == 0 &&
             f.message.find("inode " + std::to_string(first) + " ") != std::string::npos;
  CHECK(named);
}

// `taker`'s indirect pointer is set to `owner`'s indirect block. Both
// files keep their contents whichever of them is checked first; the later
// one gets a copy of the indirect block and of every data block below it.
static void share_indirect_block(TestImage& img, uint32_t taker, uint32_t owner) {
  auto d = img.inode(taker);
  d.block[kDirectBlocks] = img.inode(owner).block[kDirectBlocks];
  img.set_inode(taker, d);
  expect_dup_named(img, std::min(taker, owner), std::max(taker, owner));
  expect_found_and_repaired(img, Problem::kInodeDupBlock);
  CHECK(img.inode(taker).block[kDirectBlocks] != img.inode(owner).block[kDirectBlocks]);
}

TEST_CASE("corruption: an indirect block owned by two files (later claimant)") {
  TestImage img;
  const uint32_t big = img.inode_of("/big.bin"), f1 = img.inode_of("/dir1/f1");
  REQUIRE(big < f1);
  share_indirect_block(img, f1, big);
  CHECK(img.inode(f1).blocks == (5 + 1 + 256) * 2);  // its 5 blocks, the indirect one and its 256, in sectors
}

TEST_CASE("corruption: an indirect block owned by two files (earlier claimant)") {
  TestImage img;
  const uint32_t a = img.inode_of("/a.txt"), big = img.inode_of("/big.bin");
  REQUIRE(a < big);
  share_indirect_block(img, a, big);
}

// Text taken as an indirect block: its "pointers" are all out of range, so
// it is not one, and the pointer to it is cleared (one finding, not 256);
// a.txt is checked first, b.txt after the owner of the block it takes.
TEST_CASE("corruption: a text block taken as an indirect block") {
  TestImage img;
  const uint32_t a = img.inode_of("/a.txt"), b = img.inode_of("/b.txt"), big = img.inode_of("/big.bin");
  REQUIRE((a < b && b < big));
  auto da = img.inode(a);
  da.block[kDirectBlocks] = img.inode(big).block[0];
  img.set_inode(a, da);
  auto db = img.inode(b);
  db.block[kDirectBlocks] = img.inode(a).block[0];
  img.set_inode(b, db);
  FsckReport r = img.fsck(Mode::kNo);
  CHECK(r.findings.size() == 2);  // the two pointers; their i_blocks never counted the blocks
  CHECK(img.last_output().find("it is not an indirect block") != std::string::npos);
  expect_found_and_repaired(img, Problem::kInodeBadPointer);
  CHECK(img.inode(a).block[kDirectBlocks] == 0);
  CHECK(img.inode(b).block[kDirectBlocks] == 0);
}

// A data block that reads as a plausible indirect block (ptrs.bin holds
// the numbers of big.bin's first blocks), claimed as one by a.txt, checked
// first, and by taker.bin, checked last. a.txt keeps the block and the
// blocks it points to; ptrs.bin and big.bin get copies of their data,
// taker.bin copies of the indirect block and of big.bin's blocks below it.
TEST_CASE("corruption: a data block claimed as an indirect block") {
  TestImage img;
  const uint32_t big = img.inode_of("/big.bin");
  std::string ptrs(1024, '\0');
  for (uint32_t i = 0; i < 4; ++i) put_u32(reinterpret_cast<std::byte*>(ptrs.data()) + 4 * i, img.inode(big).block[i]);
  img.add_file("ptrs.bin", ptrs);
  img.add_file("taker.bin", "small");
  const uint32_t a = img.inode_of("/a.txt"), p = img.inode_of("/ptrs.bin"), t = img.inode_of("/taker.bin");
  REQUIRE((a < big && big < p && p < t));
  const uint32_t shared = img.inode(p).block[0];
  for (uint32_t taker : {a, t}) {
    auto d = img.inode(taker);
    d.block[kDirectBlocks] = shared;
    img.set_inode(taker, d);
  }
  expect_dup_named(img, a, big);
  expect_dup_named(img, a, p);
  expect_dup_named(img, a, t);
  expect_found_and_repaired(img, Problem::kInodeDupBlock);
  CHECK(img.inode(a).block[kDirectBlocks] == shared);
  CHECK(img.inode(p).block[0] != shared);
  CHECK(img.inode(t).block[kDirectBlocks] != shared);
  CHECK(img.inode(t).blocks == (1 + 1 + 4) * 2);  // its block, the indirect copy, four data copies
}

TEST_CASE("corruption: an inode checksum") {
  TestImage img;
  const uint32_t ino = img.inode_of("/big.bin");
  auto rec = img.read_bytes(img.inode_byte(ino) + 252, 4);
  rec[0] ^= std::byte{0x01};
  img.write_bytes(img.inode_byte(ino) + 252, rec);
  expect_found_and_repaired(img, Problem::kInodeChecksum);
}

// mkfs discards the card instead of writing zeroed inode tables (they read
// as zeros after the discard): a table mkfs never wrote is still checked
// record by record, and junk there is found and cleared.
TEST_CASE("corruption: junk in an inode table mkfs discarded instead of writing") {
  TestImage img;
  const uint32_t g = img.sb().group_count() - 1;
  // The table's last block: the fixture's files took inodes from the start.
  const uint64_t last = group_layout(img.sb(), g).inode_table + inode_table_blocks(img.sb()) - 1;
  auto blk = img.read_block(last);
  REQUIRE(std::all_of(blk.begin(), blk.end(), [](std::byte b) { return b == std::byte{0}; }));
  std::vector<std::byte> junk(kInodeSize, std::byte{0x5A});
  img.write_bytes(last * img.sb().block_size() + kInodeSize, junk);
  expect_found_and_repaired(img, Problem::kInodeBadMode);
  blk = img.read_block(last);
  CHECK(std::all_of(blk.begin(), blk.end(), [](std::byte b) { return b == std::byte{0}; }));
}

}  // namespace cardfs::fsck::testing
