#include "fusefs/reservation.h"

#include <algorithm>
#include <vector>

namespace cardfs::fusefs {
namespace {
constexpr uint32_t kWindowBytes = 256 * 1024;  // the largest window
// Files that are never released (no close reaches us) must not end up
// reserving the whole disk: past this many windows the oldest is dropped.
constexpr size_t kMaxWindows = 512;
}  // namespace

ReservationWindows::ReservationWindows(uint64_t blocks_count, uint32_t block_size)
    : blocks_count_(blocks_count), min_size_(8), max_size_(std::max<uint32_t>(8, kWindowBytes / block_size)) {}

uint64_t ReservationWindows::end_of_window_at(uint64_t block) const {
  auto it = windows_.upper_bound(block);
  if (it == windows_.begin()) return 0;
  --it;
  return block < it->second ? it->second : 0;
}

bool ReservationWindows::holds(const Reservation& res) const {
  auto it = windows_.find(res.start);
  return it != windows_.end() && it->second == res.end;
}

void ReservationWindows::open(Reservation& res, uint64_t first, const MetadataAus& meta) {
  uint64_t end = std::min<uint64_t>(first + res.size, blocks_count_);
  auto next = windows_.lower_bound(first);
  if (next != windows_.end()) end = std::min(end, next->first);
  const uint64_t au_blocks = meta.au_blocks();
  for (uint64_t au = first / au_blocks + 1; au * au_blocks < end; ++au)
    if (meta.contains(au * au_blocks) && !meta.contains(first)) end = au * au_blocks;  // data stays out
  res.start = res.next = first;
  res.end = end;
  windows_[first] = end;
  window_order_.push_back(first);
  while (windows_.size() > kMaxWindows && !window_order_.empty()) {
    windows_.erase(window_order_.front());
    window_order_.pop_front();
  }
  if (window_order_.size() > 4 * kMaxWindows) {  // starts of windows released since
    std::erase_if(window_order_, [this](uint64_t s) { return !windows_.count(s); });
  }
}

void ReservationWindows::close(const Reservation& res) {
  if (res.active()) windows_.erase(res.start);
}

}  // namespace cardfs::fusefs
