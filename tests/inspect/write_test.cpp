// inspect --write: each repair command asks first, writes only on yes,
// keeps every checksum right (fsck finds only what the command meant to
// change) and refuses a read-only image.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "fusefs/bitmap.h"
#include "tests/inspect/inspect_fixture.h"

namespace cardfs::inspect {
namespace {

using fsck::Problem;
using fsck::testing::TestImage;
using fsck::testing::describe;
using fsck::testing::has_finding;

// A writable inspected image whose confirm() records each question.
struct Writable : testing::InspectedImage {
  Writable() : InspectedImage(/*writable=*/true) {
    inspector->set_confirm([this](const std::string& what) {
      asked.push_back(what);
      return answer;
    });
  }
  std::vector<std::string> asked;
  bool answer = true;
};

// fsck -n finds exactly the problems listed (and no checksum problem).
void expect_only(TestImage& img, const std::vector<Problem>& want) {
  auto r = img.fsck(fsck::Mode::kNo);
  INFO(describe(r));
  for (Problem p : want) CHECK(has_finding(r, p));
  CHECK(r.findings.size() >= want.size());
  for (const auto& f : r.findings) {
    CHECK(f.code != Problem::kInodeChecksum);
    CHECK(f.code != Problem::kGroupDescBad);
    CHECK(f.code != Problem::kSuperPrimaryBad);
  }
  if (want.empty()) CHECK(r.exit_code == fsck::kExitClean);
}

bool block_bit(Writable& w, uint64_t b) {
  const auto& sb = w.inspector->sb();
  const uint32_t g = uint32_t((b - sb.first_data_block) / sb.blocks_per_group);
  auto gd = w.inspector->group(g);
  REQUIRE(gd.is_ok());
  auto map = w.inspector->block(gd->block_bitmap);
  REQUIRE(map.is_ok());
  return fusefs::test_bit(*map, uint32_t(b - fusefs::group_first_block(sb, g)));
}

}  // namespace

TEST_CASE("inspect --write: set_inode_field changes one field with a right checksum") {
  Writable w;
  const uint32_t ino = w.img.inode_of("/dir1/f1");
  Output o = w.run({"set_inode_field", std::to_string(ino), "links_count", "7"});
  CHECK(o.value.find("old")->scalar_text() == "1");
  REQUIRE(w.asked.size() == 1);
  CHECK(w.asked[0] == "inode " + std::to_string(ino) + " links_count 1 -> 7");
  CHECK(w.img.inode(ino).links_count == 7);  // decodes: the checksum is right
  expect_only(w.img, {Problem::kLinkCount});
  w.run({"set_inode_field", "<" + std::to_string(ino) + ">", "links_count", "1"});
  expect_only(w.img, {});
  w.run({"set_inode_field", std::to_string(ino), "block3", "0"});
  CHECK(w.img.inode(ino).block[3] == 0);
}

TEST_CASE("inspect --write: set_inode_field refuses unknown fields and values too wide") {
  Writable w;
  CHECK(w.inspector->run({"set_inode_field", "12", "colour", "1"}).status().code() == EINVAL);
  CHECK(w.inspector->run({"set_inode_field", "12", "mode", "0x10000"}).status().code() == ERANGE);
  CHECK(w.inspector->run({"set_inode_field", "0", "mode", "1"}).status().code() == EINVAL);
  CHECK(w.asked.empty());
}

TEST_CASE("inspect --write: nothing is written without a yes") {
  Writable w;
  w.answer = false;
  const uint32_t ino = w.img.inode_of("/a.txt");
  auto before = w.img.read_bytes(0, 64 * 1024);
  for (auto words : std::vector<std::vector<std::string>>{{"set_inode_field", std::to_string(ino), "uid", "5"},
                                                         {"clri", std::to_string(ino)},
                                                         {"freeb", "300", "4"},
                                                         {"seti", "500"}}) {
    INFO(words[0]);
    CHECK(w.inspector->run(words).status().code() == ECANCELED);
  }
  CHECK(w.asked.size() == 4);
  CHECK(w.img.read_bytes(0, 64 * 1024) == before);
  expect_only(w.img, {});
}

TEST_CASE("inspect --write: clri zeroes an inode") {
  Writable w;
  const uint32_t ino = w.img.inode_of("/b.txt");
  w.run({"clri", std::to_string(ino)});
  CHECK(w.img.inode(ino).mode == 0);
  expect_only(w.img, {Problem::kEntryUnusedInode});
}

TEST_CASE("inspect --write: freeb and setb keep bitmap checksums and free counts") {
  Writable w;
  const uint64_t used = w.img.block_of(w.img.inode_of("/a.txt"), 0);
  const uint64_t free_before = w.inspector->sb().free_blocks;
  REQUIRE(block_bit(w, used));
  Output o = w.run({"freeb", std::to_string(used), "2"});
  CHECK(o.value.find("changed")->scalar_text() == "2");
  CHECK(!block_bit(w, used));
  CHECK(w.inspector->sb().free_blocks == free_before + 2);
  // The bitmap differs from what the files use, but nothing is corrupt.
  expect_only(w.img, {Problem::kBlockBitmap, Problem::kGroupCounts, Problem::kSuperFreeCounts});
  w.run({"setb", std::to_string(used), "2"});
  CHECK(block_bit(w, used));
  expect_only(w.img, {});
  // Already in use: nothing changes, nothing is written.
  CHECK(w.run({"setb", std::to_string(used)}).value.find("changed")->scalar_text() == "0");
  CHECK(w.inspector->run({"freeb", "999999999"}).status().code() == EINVAL);
}

TEST_CASE("inspect --write: freei and seti keep the inode bitmap right") {
  Writable w;
  const uint32_t ino = w.img.inode_of("/a.txt");
  w.run({"freei", std::to_string(ino)});
  CHECK(!w.inspector->inode_in_use(ino));
  expect_only(w.img, {Problem::kInodeBitmap, Problem::kGroupCounts, Problem::kSuperFreeCounts});
  w.run({"seti", std::to_string(ino)});
  CHECK(w.inspector->inode_in_use(ino));
  expect_only(w.img, {});
}

TEST_CASE("inspect --write: a read-only image refuses the write commands") {
  TestImage img;
  fsck::DeviceIo io(img.dev(), true);
  auto in = Inspector::open(io, nullptr);
  REQUIRE(in.is_ok());
  (*in)->set_confirm([](const std::string&) { return true; });
  CHECK((*in)->run({"clri", "12"}).status().code() == EROFS);
  CHECK((*in)->run({"freeb", "300"}).status().code() == EROFS);
}

}  // namespace cardfs::inspect
