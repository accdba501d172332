// Test fixtures for fusefs: a formatted, mounted filesystem over a page
// cache on a sparse FakeDevice (only written chunks stored, so large
// filesystems are cheap), remountable in place.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/clock.h"
#include "blockdev/block_device.h"
#include "cache/page_cache.h"
#include "fusefs/filesystem.h"
#include "fusefs/mkfs.h"
#include "tests/support/fake_device.h"

namespace cardfs::fusefs::testing {

struct FsOptions {
  uint64_t bytes = 64ull << 20;
  uint32_t block_size = 4096;
  uint64_t inode_count = 0;
  bool journal = true;  // false: -O ^journal, the ext2-style format
  MountOptions mount;
};

inline FsOptions sized(uint64_t bytes, uint32_t block_size = 4096) {
  FsOptions o;
  o.bytes = bytes;
  o.block_size = block_size;
  return o;
}

// A formatted and mounted filesystem. remount() unmounts cleanly and mounts
// again over a fresh (cold) cache.
class TestFs {
 public:
  explicit TestFs(FsOptions o = {});
  ~TestFs();
  Filesystem& fs() { return *fs_; }
  Filesystem* operator->() { return fs_.get(); }
  cardfs::testing::FakeDevice& dev() { return dev_; }
  cache::PageCache& cache() { return *cache_; }
  VirtualClock& clock() { return clock_; }
  // Unmounts (clean) and mounts again on a new cache.
  void remount();
  // Drops the filesystem and cache without writing (a crash), then mounts.
  Status try_mount();
  void unmount();
  const FormatSummary& summary() const { return summary_; }

 private:
  FsOptions o_;
  cardfs::testing::FakeDevice dev_;
  VirtualClock clock_;
  std::unique_ptr<cache::PageCache> cache_;
  std::unique_ptr<Filesystem> fs_;
  FormatSummary summary_;
};

// A new empty regular file /name (mode 0644); its lookup is kept.
Ino make_file(TestFs& t, const std::string& name);

std::span<const std::byte> bytes_of(const std::string& s);
std::string string_of(std::span<const std::byte> b);

}  // namespace cardfs::fusefs::testing
