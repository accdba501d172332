// Building and submitting bios for pages and caller buffers (internal).
//
// An IoUnit is what waits for a set of extents: its done() runs exactly
// once, after the last bio carrying any of its extents completes, with the
// first error seen (0 if none). submit_extents owns and deletes the units.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "blockdev/block_device.h"

namespace cardfs::cache {

struct IoUnit {
  std::atomic<int> pending{0};
  std::atomic<int> err{0};
  std::function<void(int err)> done;
};

struct Extent {
  uint64_t sector;    // on the device
  std::byte* data;    // len bytes of memory
  uint32_t len;       // a multiple of 512, at most one page
  IoUnit* unit;
};

// Sorts ext by sector and submits under one Plug: one bio per extent, or
// with `merge` one bio per run of disk-contiguous extents (max_bytes each).
void submit_extents(blockdev::BlockDevice& dev, blockdev::BioOp op, uint32_t flags,
                    std::vector<Extent> ext, bool merge, uint64_t max_bytes);

// Counts down completions; wait() returns the first error (0 if none).
class IoWaiter {
 public:
  void add(int n = 1);
  void finish(int err);
  int wait(blockdev::BlockDevice& dev);

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int remaining_ = 0;
  int err_ = 0;
};

}  // namespace cardfs::cache
