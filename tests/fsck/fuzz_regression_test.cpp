// Every seed of the fuzzer and every input that once crashed it
// (tests/fsck/fuzz_regressions/, each named after what it caught) runs
// through fsck -n and the inspect decoders without a crash, and fsck -y
// repairs it to an image fsck -n finds clean.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <cstring>
#include <iterator>

#include "base/coding.h"
#include "fusefs/dir_block.h"

#include "tests/fsck/fsck_fixture.h"
#include "tests/fsck/fuzz_image.h"
#include "tools/fsck/fsck.h"
#include "tools/inspect/inspector.h"

namespace cardfs::fsck::testing {

namespace {

std::vector<uint8_t> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The whole test image as bytes, for check_image_bytes.
std::vector<uint8_t> image_bytes(TestImage& img) {
  auto b = img.read_bytes(0, img.dev().sector_count() * 512);
  std::vector<uint8_t> out(b.size());
  std::memcpy(out.data(), b.data(), b.size());
  return out;
}

}  // namespace

TEST_CASE("fuzz regression: a directory size of 2^50 bytes does not size fsck's block list") {
  TestImage img;
  const uint32_t dir = img.inode_of("/dir1");
  auto d = img.inode(dir);
  d.size = 1ull << 50;
  img.set_inode(dir, d);
  FsckReport r = img.fsck(Mode::kNo);
  CHECK(has_finding(r, Problem::kInodeBadSize));
  CHECK(r.exit_code == kExitUncorrected);
}

TEST_CASE("fuzz regression: inspect follows an indirect block pointing at itself once") {
  TestImage img;
  const uint32_t ino = img.inode_of("/big.bin");
  auto d = img.inode(ino);
  REQUIRE(d.block[11] != 0);  // double indirect
  std::vector<std::byte> self(img.sb().block_size());
  for (size_t i = 0; i < self.size(); i += 4) put_u32(self.data() + i, d.block[11]);
  img.write_block(d.block[11], self);
  d.size = 1ull << 40;
  img.set_inode(ino, d);
  fsck::DeviceIo io(img.dev(), true);
  auto in = inspect::Inspector::open(io, nullptr);
  REQUIRE(in.is_ok());
  const std::string spec = "<" + std::to_string(ino) + ">";
  CHECK((*in)->run({"blocks", spec}).is_ok());
  CHECK((*in)->run({"cat", spec}).status().code() == EFBIG);
  CHECK(check_image_bytes(image_bytes(img)) == kExitUncorrected);
}

TEST_CASE("fuzz regression: ncheck over a directory that contains itself ends") {
  TestImage img;
  const uint32_t dir = img.inode_of("/dir1");
  edit_dir_block(img, dir, img.block_of(dir, 0), [&](std::vector<std::byte>& b) {
    REQUIRE(*fusefs::dir_block::add(b, "again", dir, fusefs::kFtDir));
  });
  fsck::DeviceIo io(img.dev(), true);
  auto in = inspect::Inspector::open(io, nullptr);
  REQUIRE(in.is_ok());
  auto found = (*in)->run({"ncheck", std::to_string(img.inode_of("/dir1/f1"))});
  REQUIRE(found.is_ok());
  CHECK(!found->value.items().empty());
}

TEST_CASE("fuzz regression: a last group too short for its inode table is refused, not overrun") {
  TestImage img;
  fusefs::Superblock sb = img.sb();
  sb.blocks_count = fusefs::group_first_block(sb, 2) + 100;  // group 2 needs 130 blocks of metadata
  sb.free_blocks = 0;
  std::vector<std::byte> raw(fusefs::kSuperblockSize);
  fusefs::encode_superblock(sb, raw);
  img.write_bytes(fusefs::kSuperblockOffset, raw);
  fsck::DeviceIo io(img.dev(), true);
  FsckOptions o;
  o.force = true;
  auto r = check_filesystem(io, o);
  REQUIRE(!r.is_ok());
  CHECK(r.status().message().find("too small for its bitmaps") != std::string::npos);
}

TEST_CASE("fuzz regression: inspect refuses a filesystem larger than its image (ffb scanned 2^32 blocks)") {
  TestImage img;
  fusefs::Superblock sb = img.sb();
  sb.blocks_count = 0xFFFFF000u;
  sb.feature_incompat &= ~fusefs::kIncompatUnwritten;  // 31-bit pointers could not hold it
  sb.inodes_count = sb.group_count() * sb.inodes_per_group;
  std::vector<std::byte> raw(fusefs::kSuperblockSize);
  fusefs::encode_superblock(sb, raw);
  img.write_bytes(fusefs::kSuperblockOffset, raw);
  REQUIRE(fusefs::decode_superblock(raw).is_ok());
  fsck::DeviceIo io(img.dev(), true);
  auto in = inspect::Inspector::open(io, nullptr);
  REQUIRE(!in.is_ok());
  CHECK(in.status().code() == EINVAL);
}

TEST_CASE("fuzz seeds check clean") {
  for (const char* name : {"fresh.img", "files.img"}) {
    INFO(name);
    auto bytes = read_file(std::filesystem::path(CARDFS_FUZZ_DIR) / "corpus" / name);
    REQUIRE(bytes.size() == 256u << 10);
    CHECK(check_image_bytes(bytes) == kExitClean);
  }
}

TEST_CASE("fuzz regressions: inputs that once crashed the checker") {
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(CARDFS_FUZZ_DIR) / "regressions")) {
    INFO(entry.path().filename().string());
    auto bytes = read_file(entry.path());
    if (entry.path().extension() != ".img") continue;
    (void)check_image_bytes(bytes);  // fails by crashing, hanging or leaking under ASan
    CHECK(repair_leftovers(bytes) == "");  // fsck -y reaches a clean image
  }
}

TEST_CASE("fuzz seeds repair to a fixpoint with nothing left") {
  for (const char* name : {"fresh.img", "files.img"}) {
    INFO(name);
    CHECK(repair_leftovers(read_file(std::filesystem::path(CARDFS_FUZZ_DIR) / "corpus" / name)) == "");
  }
}

}  // namespace cardfs::fsck::testing
