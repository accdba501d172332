// Context: what the filesystem's internal modules share (internal header).
//
// Geometry is fixed at mount; the allocator and the cache are thread-safe.
// report() logs a corruption and marks the filesystem as having errors.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "base/status.h"
#include "cache/page_cache.h"
#include "fusefs/groups.h"
#include "fusefs/layout.h"

namespace cardfs::fusefs {

class OrphanList;

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
