// ImageBlocks: fsck's block access to the image: a cache of what it read
// or wrote, the blocks known to be unreadable (EIO), and writes refused
// under -n. Not thread-safe.
#pragma once

#include <cstdint>
#include <set>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "tools/fsck/fsck.h"
#include "tools/fsck/image_io.h"

namespace cardfs::fsck {

class ImageBlocks {
 public:
  ImageBlocks(ImageIo& io, Mode mode) : io_(io), mode_(mode) {}

  ImageIo& io() { return io_; }
  // Set once the superblock is known; reads and writes are whole blocks.
  void set_block_size(uint32_t bs) { bs_ = bs; }

  // EIO for a block known to be unreadable, and a block whose read fails
  // with EIO becomes known as one.
  Result<std::vector<std::byte>> read(uint64_t block);
  // read() for walks of block maps: an unreadable indirect block reads as
  // zeros, and unknown_subtrees() says one was met.
  Result<std::vector<std::byte>> read_map(uint64_t block);
  // EROFS under -n; else written through and cached.
  Status write(uint64_t block, std::span<const std::byte> data);
  // Whatever was cached may be stale (the journal's replay wrote home blocks).
  void forget_cached() { cache_.clear(); }

  bool unreadable(uint64_t block) const { return unreadable_.count(block) != 0; }
  void mark_unreadable(uint64_t block) { unreadable_.insert(block); }
  const std::set<uint64_t>& unreadable_blocks() const { return unreadable_; }
  // An unreadable indirect block was met: blocks the bitmap marks in use
  // that nothing owns may be below it.
  bool unknown_subtrees() const { return unknown_subtrees_; }

 private:
  ImageIo& io_;
  const Mode mode_;
  uint32_t bs_ = 0;
  std::unordered_map<uint64_t, std::vector<std::byte>> cache_;
  std::set<uint64_t> unreadable_;  // blocks whose reads fail (EIO)
  bool unknown_subtrees_ = false;
};

}  // namespace cardfs::fsck
