#include "tests/fusefs/fs_fixture.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstring>

namespace cardfs::fusefs::testing {

constexpr uint64_t kChunk = 4096;

void SparseDevice::copy_out(uint64_t byte, std::span<std::byte> out) const {
  size_t done = 0;
  while (done < out.size()) {
    uint64_t pos = byte + done, chunk = pos / kChunk, off = pos % kChunk;
    size_t n = std::min<size_t>(out.size() - done, kChunk - off);
    auto it = chunks_.find(chunk);
    if (it == chunks_.end()) std::memset(out.data() + done, 0, n);
    else std::memcpy(out.data() + done, it->second.data() + off, n);
    done += n;
  }
}

void SparseDevice::copy_in(uint64_t byte, std::span<const std::byte> in) {
  size_t done = 0;
  while (done < in.size()) {
    uint64_t pos = byte + done, chunk = pos / kChunk, off = pos % kChunk;
    size_t n = std::min<size_t>(in.size() - done, kChunk - off);
    auto& c = chunks_[chunk];
    if (c.empty()) c.resize(kChunk);
    std::memcpy(c.data() + off, in.data() + done, n);
    done += n;
  }
}

void SparseDevice::submit(blockdev::BioPtr bio) {
  int status = 0;
  {
    std::lock_guard lock(mu_);
    uint64_t byte = bio->sector * blockdev::kSectorSize;
    if (bio->sector + bio->sectors() > sectors_) {
      status = -EIO;
    } else if (bio->op == blockdev::BioOp::kRead) {
      ++reads_;
      read_extents_.emplace_back(byte, byte + bio->sectors() * blockdev::kSectorSize);
      for (auto& s : bio->segments) {
        copy_out(byte, {s.data, s.len});
        byte += s.len;
      }
    } else if (bio->op == blockdev::BioOp::kWrite) {
      ++writes_;
      for (auto& s : bio->segments) {
        copy_in(byte, {s.data, s.len});
        byte += s.len;
      }
    }
  }
  bio->on_complete(status);
}

uint64_t SparseDevice::reads() const {
  std::lock_guard lock(mu_);
  return reads_;
}

uint64_t SparseDevice::reads_overlapping(uint64_t first, uint64_t end) const {
  std::lock_guard lock(mu_);
  uint64_t n = 0;
  for (auto [a, b] : read_extents_) n += a < end && first < b;
  return n;
}

uint64_t SparseDevice::writes() const {
  std::lock_guard lock(mu_);
  return writes_;
}

void SparseDevice::peek(uint64_t byte, std::span<std::byte> out) const {
  std::lock_guard lock(mu_);
  copy_out(byte, out);
}

void SparseDevice::poke(uint64_t byte, std::span<const std::byte> in) {
  std::lock_guard lock(mu_);
  copy_in(byte, in);
}

TestFs::TestFs(FsOptions o) : o_(std::move(o)), dev_(o_.bytes) {
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
