// Reservation windows: runs of free blocks a file holds for its next
// allocations, which other files' searches skip, so concurrent writers
// each stay contiguous (ext2's reservation windows). Part of the
// allocator (BlockGroups); the bitmaps stay there.
//
// Not thread-safe: BlockGroups calls it under its windows_mu_.
#pragma once

#include <cstdint>
#include <deque>
#include <map>

#include "fusefs/meta_aus.h"

namespace cardfs::fusefs {

// A file's reservation window [start, end); next is where to allocate next.
// size starts small and doubles each time a sequential writer uses a whole
// window, up to 256 KiB.
struct Reservation {
  uint64_t start = 0, end = 0, next = 0;
  uint32_t size = 0;
  bool active() const { return end > start; }
};

class ReservationWindows {
 public:
  ReservationWindows(uint64_t blocks_count, uint32_t block_size);

  uint32_t min_size() const { return min_size_; }
  uint32_t max_size() const { return max_size_; }
  // The end of the window holding block, or 0 when none does.
  uint64_t end_of_window_at(uint64_t block) const;
  // Whether res's window is still registered (past kMaxWindows the oldest
  // are dropped, with no word to their file).
  bool holds(const Reservation& res) const;
  // Registers a window for res from first: res.size blocks, cut short by
  // the next window and, for a window starting in a data AU, by the first
  // metadata AU (data stays out of them).
  void open(Reservation& res, uint64_t first, const MetadataAus& meta);
  void close(const Reservation& res);
  size_t count() const { return windows_.size(); }

 private:
  const uint64_t blocks_count_;
  const uint32_t min_size_, max_size_;
  std::map<uint64_t, uint64_t> windows_;  // start -> end of every active window
  std::deque<uint64_t> window_order_;      // starts, oldest first (bounds their number)
};

}  // namespace cardfs::fusefs
