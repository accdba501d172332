// fsck's rebuild of a hashed-directory index that needs more than the
// root: the leaves go under a level of index nodes, encoded by fusefs's
// own encode_index_node, and every name still looks up through fusefs.
#include <catch2/catch.hpp>

#include "base/coding.h"
#include "fusefs/dir_index.h"
#include "tests/fsck/fsck_fixture.h"

namespace cardfs::fsck::testing {

using namespace fusefs;

namespace {

// Index levels below the root of a directory (byte 30 of its root block).
uint8_t index_levels(TestImage& img, uint32_t dir) {
  auto root = img.read_block(img.block_of(dir, 0));
  auto parsed = parse_index_node(root, true);
  REQUIRE(parsed.is_ok());
  return parsed->levels;
}

}  // namespace

TEST_CASE("index rebuild: a directory whose leaves need a level of nodes") {
  ImageSpec spec;
  spec.hashed_files = 0;
  TestImage img(spec);
  // 200-character names: four to a packed 1 KiB leaf, so 600 of them need
  // 150 leaves, more than a root's 122 entries.
  img.add_wide_dir("wide", 600, 200);
  const uint32_t dir = img.inode_of("/wide");
  REQUIRE((img.inode(dir).flags & kInodeFlagIndex) != 0);
  REQUIRE(index_levels(img, dir) == 1);
  CHECK(img.fsck(Mode::kNo).exit_code == kExitClean);

  const uint64_t root = img.block_of(dir, 0);
  REQUIRE(get_u16(img.read_block(root).data() + 34) >= 2);
  edit_dir_block(img, dir, root, [](std::vector<std::byte>& blk) {
    put_u32(blk.data() + 40, 0xFFFFFFF0u);  // entry 1's hash: the nodes out of order
  });
  expect_found_and_repaired(img, Problem::kDirIndexBad);

  // Rebuilt with two levels (root and nodes), not dropped to linear; the
  // mount in expect_found_and_repaired looked every name up through it.
  CHECK((img.inode(dir).flags & kInodeFlagIndex) != 0);
  CHECK(index_levels(img, dir) == 1);
  CHECK(img.verify_files() == "");
  CHECK((img.inode(dir).flags & kInodeFlagIndex) != 0);
}

}  // namespace cardfs::fsck::testing
