// Test fixtures for fusefs: a sparse in-memory device and a formatted,
// mounted filesystem over a page cache, remountable in place.
#pragma once

#include <memory>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/clock.h"
#include "blockdev/block_device.h"
#include "cache/page_cache.h"
#include "fusefs/filesystem.h"
#include "fusefs/mkfs.h"

namespace cardfs::fusefs::testing {

// A BlockDevice that stores only the 4 KiB chunks ever written (reads of
// the rest return zeros), so tests can format large filesystems cheaply.
// Completes bios synchronously and counts reads.
class SparseDevice final : public blockdev::BlockDevice {
 public:
  explicit SparseDevice(uint64_t bytes) : sectors_(bytes / blockdev::kSectorSize) {}
  void submit(blockdev::BioPtr bio) override;
  uint64_t sector_count() const override { return sectors_; }
  uint32_t read_ahead_kb() const override { return 128; }
  void plug_start() override {}
  void plug_finish() override {}
  void plug_flush() override {}

  uint64_t reads() const;    // read bios so far
  uint64_t writes() const;   // write bios so far
  // Read bios that touched bytes [first, end) so far.
  uint64_t reads_overlapping(uint64_t first, uint64_t end) const;
  void peek(uint64_t byte, std::span<std::byte> out) const;
  void poke(uint64_t byte, std::span<const std::byte> in);

 private:
  void copy_out(uint64_t byte, std::span<std::byte> out) const;
  void copy_in(uint64_t byte, std::span<const std::byte> in);
  const uint64_t sectors_;
  mutable std::mutex mu_;
  std::unordered_map<uint64_t, std::vector<std::byte>> chunks_;
  uint64_t reads_ = 0, writes_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> read_extents_;  // [first, end) bytes
};

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
  SparseDevice& dev() { return dev_; }
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
  SparseDevice dev_;
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
