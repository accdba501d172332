#include "tests/fusefs/fs_fixture.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>

namespace cardfs::fusefs::testing {

TestFs::TestFs(FsOptions o)
    : o_(std::move(o)),
      dev_({.sectors = o_.bytes / blockdev::kSectorSize, .storage = cardfs::testing::Storage::kSparse}) {
  cache_ = std::make_unique<cache::PageCache>(dev_, clock_, o_.block_size);
  FormatOptions f;
  f.block_size = o_.block_size;
  f.inode_count = o_.inode_count;
  f.journal = o_.journal;
  f.label = "test";
  for (int i = 0; i < 16; ++i) f.uuid[i] = uint8_t(i * 7 + 1);
  f.now_sec = 1700000000;
  auto sum = format(*cache_, o_.bytes, f);
  REQUIRE(sum.is_ok());
  summary_ = *sum;
  REQUIRE(try_mount().is_ok());
}

TestFs::~TestFs() {
  if (fs_) (void)fs_->unmount();
  fs_.reset();
  cache_.reset();
}

Status TestFs::try_mount() {
  fs_.reset();
  cache_ = std::make_unique<cache::PageCache>(dev_, clock_, o_.block_size);
  auto fs = Filesystem::mount(*cache_, clock_, o_.block_size, o_.mount);
  if (!fs.is_ok()) return fs.status();
  fs_ = std::move(*fs);
  return Status::ok();
}

void TestFs::unmount() {
  if (!fs_) return;
  Status st = fs_->unmount();
  INFO(st.to_string());
  REQUIRE(st.is_ok());
  fs_.reset();
  cache_.reset();
}

void TestFs::remount() {
  unmount();
  Status st = try_mount();
  INFO(st.to_string());
  REQUIRE(st.is_ok());
}

Ino make_file(TestFs& t, const std::string& name) {
  auto a = t->mknod(kRootIno, name, S_IFREG | 0644, 0, {});
  REQUIRE(a.is_ok());
  return a->ino;
}

std::span<const std::byte> bytes_of(const std::string& s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

std::string string_of(std::span<const std::byte> b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

}  // namespace cardfs::fusefs::testing
