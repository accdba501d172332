// cardfs_falloc_script FILE SCRIPT BLOCK_SIZE: runs a fallocate script
// (falloc_script.h) on FILE through the kernel's syscalls and prints the
// transcript. FIEMAP (with FIEMAP_FLAG_SYNC, so delayed allocation has
// happened) says which blocks are allocated; without FIEMAP (a FUSE mount)
// every block reads as a hole in the transcript.
#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>

#include "tests/fusefs/falloc_script.h"

namespace {

class PosixFile final : public cardfs::testing::FileUnderTest {
 public:
  PosixFile(int fd, uint32_t bs) : fd_(fd), bs_(bs) {}
  int fallocate(int mode, uint64_t off, uint64_t len) override {
    return ::fallocate(fd_, mode, off_t(off), off_t(len)) == 0 ? 0 : errno;
  }
  int write(uint64_t off, std::span<const std::byte> data) override {
    ssize_t n = ::pwrite(fd_, data.data(), data.size(), off_t(off));
    return n == ssize_t(data.size()) ? 0 : (n < 0 ? errno : EIO);
  }
  int truncate(uint64_t size) override { return ::ftruncate(fd_, off_t(size)) == 0 ? 0 : errno; }
  uint64_t size() override {
    struct stat st {};
    return ::fstat(fd_, &st) == 0 ? uint64_t(st.st_size) : 0;
  }
  std::vector<std::byte> read(uint64_t off, uint64_t len) override {
    std::vector<std::byte> out(len);
    ssize_t n = ::pread(fd_, out.data(), len, off_t(off));
    out.resize(n < 0 ? 0 : size_t(n));
    return out;
  }
  std::vector<bool> allocated(uint64_t blocks) override {
    std::vector<bool> a(blocks, false);
    constexpr unsigned kMax = 512;
    std::vector<char> buf(sizeof(fiemap) + kMax * sizeof(fiemap_extent));
    uint64_t start = 0;
    while (start < blocks * bs_) {
      auto* fm = reinterpret_cast<fiemap*>(buf.data());
      std::fill(buf.begin(), buf.end(), 0);
      fm->fm_start = start;
      fm->fm_length = blocks * bs_ - start;
      fm->fm_flags = FIEMAP_FLAG_SYNC;
      fm->fm_extent_count = kMax;
      if (::ioctl(fd_, FS_IOC_FIEMAP, fm) != 0 || fm->fm_mapped_extents == 0) break;
      for (unsigned i = 0; i < fm->fm_mapped_extents; ++i) {
        const fiemap_extent& e = fm->fm_extents[i];
        for (uint64_t b = e.fe_logical / bs_; b < blocks && b * bs_ < e.fe_logical + e.fe_length; ++b)
          a[b] = true;
        start = e.fe_logical + e.fe_length;
        if (e.fe_flags & FIEMAP_EXTENT_LAST) return a;
      }
    }
    return a;
  }

 private:
  int fd_;
  uint32_t bs_;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s FILE SCRIPT BLOCK_SIZE\n", argv[0]);
    return 2;
  }
  const uint32_t bs = uint32_t(std::strtoul(argv[3], nullptr, 10));
  int fd = ::open(argv[1], O_RDWR | O_CREAT | O_TRUNC, 0644);
  std::ifstream script(argv[2]);
  if (fd < 0 || !script || bs == 0) {
    std::perror("cardfs_falloc_script");
    return 2;
  }
  PosixFile file(fd, bs);
  std::string out = cardfs::testing::run_falloc_script(script, file, bs);
  std::cout << out;
  ::close(fd);
  return out.rfind("error:", 0) == 0 ? 1 : 0;
}
