// Unreadable blocks (a card's pages its ECC cannot correct): fsck names the
// inodes that own them and never rewrites around them (issue 15, item 4:
// a 4 MiB file lost its data when `fsck -y` "fixed" its i_blocks after an
// indirect block had read as zeros).
#include <catch2/catch.hpp>

#include "tests/fsck/fsck_fixture.h"
#include "tools/fsck/fsck.h"
#include "tools/fsck/image_io.h"

namespace cardfs::fsck {
namespace {

using testing::TestImage;

// An ImageIo whose reads of `bad` fail with EIO, as a card's would, and
// that reports them as a card's patrol read does.
class UnreadableIo final : public ImageIo {
 public:
  UnreadableIo(ImageIo& inner, std::vector<Range> bad) : inner_(inner), bad_(std::move(bad)) {}
  uint64_t size() const override { return inner_.size(); }
  bool read_only() const override { return inner_.read_only(); }
  Status read(uint64_t offset, std::span<std::byte> out) override {
    for (const Range& r : bad_)
      if (offset < r.offset + r.length && r.offset < offset + out.size())
        return Status::error(EIO, "uncorrectable read error");
    return inner_.read(offset, out);
  }
  Status write(uint64_t offset, std::span<const std::byte> in) override { return inner_.write(offset, in); }
  Status flush() override { return inner_.flush(); }
  Result<std::vector<Range>> unreadable_ranges() override { return bad_; }

 private:
  ImageIo& inner_;
  std::vector<Range> bad_;
};

FsckReport run(TestImage& img, Mode mode, const std::vector<uint64_t>& bad_blocks, std::string* out) {
  DeviceIo dev(img.dev(), mode == Mode::kNo);
  std::vector<ImageIo::Range> bad;
  for (uint64_t b : bad_blocks) bad.push_back({b * img.sb().block_size(), img.sb().block_size()});
  UnreadableIo io(dev, bad);
  FsckOptions o;
  o.mode = mode;
  o.force = true;
  o.now_sec = 1700000100;
  out->clear();
  o.out = [out](const std::string& line) { *out += line + "\n"; };
  auto r = check_filesystem(io, o);
  INFO(r.status().to_string());
  REQUIRE(r.is_ok());
  return *r;
}

TEST_CASE("fsck names the file that owns an unreadable data block and leaves it (was clean)", "[fsck][unreadable]") {
  TestImage img;
  const uint32_t ino = img.inode_of("/dir1/f1");
  const uint64_t block = img.block_of(ino, 1);
  std::string out;
  for (Mode mode : {Mode::kNo, Mode::kYes}) {
    FsckReport r = run(img, mode, {block}, &out);
    INFO(out);
    CHECK(r.exit_code == kExitUncorrected);
    CHECK(testing::has_finding(r, Problem::kUnreadableBlock));
    CHECK(out.find("Inode " + std::to_string(ino) + " (/dir1/f1) has 1 unreadable block (" +
                   std::to_string(block) + ")") != std::string::npos);
    CHECK(r.findings.size() == 1);
    CHECK_FALSE(r.modified);
  }
  CHECK(img.fsck(Mode::kNo).exit_code == 0);  // once readable again: nothing was changed
  CHECK(img.verify_files() == "");
}

TEST_CASE("fsck -y keeps i_blocks and the blocks of a file whose indirect block is unreadable (lost its data)",
          "[fsck][unreadable]") {
  TestImage img;
  const uint32_t ino = img.inode_of("/big.bin");
  const uint64_t indirect = img.inode(ino).block[10];
  const uint64_t blocks_before = img.inode(ino).blocks;
  std::string out;
  FsckReport r = run(img, Mode::kYes, {indirect}, &out);
  INFO(out);
  CHECK(r.exit_code == kExitUncorrected);
  CHECK(testing::has_finding(r, Problem::kUnreadableBlock));
  CHECK(out.find("Inode " + std::to_string(ino) + " (/big.bin) has 1 unreadable block") != std::string::npos);
  CHECK_FALSE(testing::has_finding(r, Problem::kInodeBlockCount));
  CHECK_FALSE(testing::has_finding(r, Problem::kBlockBitmap));
  CHECK(img.inode(ino).blocks == blocks_before);
  // Readable again, the image is clean and every byte of the file is there.
  FsckReport after = img.fsck(Mode::kNo);
  INFO(img.last_output());
  CHECK(after.exit_code == 0);
  CHECK(img.verify_files() == "");
}

TEST_CASE("an unreadable directory block leaves its entries' inodes to lost+found, data kept", "[fsck][unreadable]") {
  TestImage img;
  const uint32_t dir = img.inode_of("/dir1");
  const uint32_t f1 = img.inode_of("/dir1/f1");
  const uint64_t block = img.block_of(dir, 0);
  std::string out;
  FsckReport r = run(img, Mode::kNo, {block}, &out);
  INFO(out);
  CHECK((r.exit_code & kExitUncorrected) != 0);
  CHECK(out.find("Inode " + std::to_string(dir) + " (/dir1) has 1 unreadable block") != std::string::npos);
  CHECK(out.find("Inode " + std::to_string(f1)) != std::string::npos);  // found unattached
}

}  // namespace
}  // namespace cardfs::fsck
