// Context: what the filesystem's internal modules share (internal header).
//
// Geometry is fixed at mount; the allocator and the cache are thread-safe.
// report() logs a corruption and marks the filesystem as having errors.
#pragma once

#include <atomic>
#include <cstring>
#include <functional>
#include <span>
#include <string>

#include "base/status.h"
#include "cache/page_cache.h"
#include "fusefs/groups.h"
#include "fusefs/layout.h"

namespace cardfs::fusefs {

class OrphanList;

// Writes one whole block through the cache (no read of what was there)
// and marks it dirty: mkfs's blocks and journal replay's home blocks.
inline Status write_whole_block(cache::PageCache& cache, uint64_t block,
                                std::span<const std::byte> bytes) {
  CARDFS_ASSIGN_OR_RETURN(auto buf, cache.bget_zeroed(block));
  buf.lock();
  std::memcpy(buf.data().data(), bytes.data(), bytes.size());
  buf.unlock();
  buf.mark_dirty();
  return Status::ok();
}

struct Context {
  cache::PageCache& cache;
  BlockGroups& groups;
  const Superblock geo;  // geometry only: counts are the allocator's
  const uint32_t bs;
  const uint32_t seed;
  const uint32_t ptrs;  // block pointers per indirect block
  std::function<void(const Status&)> report;
  // kIncompatUnwritten is on: data pointers may carry kUnwrittenBit. Set
  // at mount, or once by the first fallocate (never cleared).
  std::atomic<bool> unwritten{false};
  // Set once at mount: inode records are written through it (orphan.h).
  OrphanList* orphans = nullptr;

  // An EIO naming what is corrupt, reported once here.
  Status corrupt(const std::string& what) const {
    Status s = Status::error(EIO, what);
    report(s);
    return s;
  }
};

}  // namespace cardfs::fusefs
