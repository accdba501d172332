// Writes the fuzzer's seed images into a folder: small cardfs images made
// in memory (mkfs, then a few files, a directory tree, symlinks and a
// hashed directory), fixed UUID and times so the seeds are reproducible.
// Usage: fsck_fuzz_seeds DIR
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "base/clock.h"
#include "cache/page_cache.h"
#include "fusefs/filesystem.h"
#include "fusefs/mkfs.h"
#include "tests/support/fake_device.h"

using namespace cardfs;
using namespace cardfs::fusefs;

namespace {

constexpr uint64_t kBytes = 256 << 10;
constexpr uint32_t kBlock = 1024;

Status populate(testing::FakeDevice& dev, VirtualClock& clock, int files) {
  cache::PageCache cache(dev, clock, kBlock);
  CARDFS_ASSIGN_OR_RETURN(auto fs, Filesystem::mount(cache, clock, kBlock));
  Creds c;
  CARDFS_ASSIGN_OR_RETURN(Attr dir, fs->mkdir(kRootIno, "d", 0755, c));
  CARDFS_ASSIGN_OR_RETURN(Attr sub, fs->mkdir(dir.ino, "s", 0755, c));
  CARDFS_RETURN_IF_ERROR(fs->symlink(kRootIno, "l", "d/s", c).status());
  CARDFS_RETURN_IF_ERROR(fs->symlink(kRootIno, "long", std::string(100, 'x'), c).status());
  for (int i = 0; i < files; ++i) {
    const Ino parent = i < 3 ? kRootIno : i < 6 ? sub.ino : dir.ino;
    CARDFS_ASSIGN_OR_RETURN(Attr a, fs->mknod(parent, "file-with-a-long-name-" + std::to_string(i),
                                              S_IFREG | 0644, 0, c));
    std::string data(size_t(i == 0 ? 12000 : 40 * i), char('a' + i % 26));
    CARDFS_RETURN_IF_ERROR(fs->write(a.ino, 0, std::as_bytes(std::span(data.data(), data.size()))).status());
  }
  return fs->unmount();
}

Status make_seed(const std::string& path, int files) {
  testing::FakeDevice dev(kBytes / 512);
  VirtualClock clock;
  {
    cache::PageCache cache(dev, clock, kBlock);
    FormatOptions f;
    f.block_size = kBlock;
    f.inode_count = 64;
    f.now_sec = 1700000000;
    for (int i = 0; i < 16; ++i) f.uuid[i] = uint8_t(i * 7 + 1);
    CARDFS_RETURN_IF_ERROR(format(cache, kBytes, f).status());
  }
  if (files) CARDFS_RETURN_IF_ERROR(populate(dev, clock, files));
  std::vector<std::byte> bytes(kBytes);
  dev.peek_bytes(0, bytes);
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), long(bytes.size()));
  return Status::ok();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fsck_fuzz_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  for (auto [name, files] : {std::pair{"fresh.img", 0}, {"files.img", 40}}) {
    Status st = make_seed(dir + "/" + name, files);
    if (!st.is_ok()) {
      std::fprintf(stderr, "fsck_fuzz_seeds: %s: %s\n", name, st.to_string().c_str());
      return 1;
    }
  }
  return 0;
}
