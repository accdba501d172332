#include "sdcard/wear.h"

#include <algorithm>
#include <bit>
#include <map>

namespace cardfs::sdcard {

std::string WearBucket::range() const {
  return first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
}

WearStats wear_stats(std::span<const AuState> aus) {
  WearStats w;
  w.aus = uint32_t(aus.size());
  if (aus.empty()) return w;
  w.min = UINT32_MAX;
  uint64_t total = 0;
  std::map<uint32_t, uint32_t> by_floor;  // bit_floor(erase count) -> AUs
  for (const AuState& a : aus) {
    w.min = std::min(w.min, a.erase_count);
    w.max = std::max(w.max, a.erase_count);
    w.aus_erased += a.erase_count > 0;
    total += a.erase_count;
    ++by_floor[std::bit_floor(a.erase_count)];
  }
  w.mean = double(total) / double(aus.size());
  for (auto [floor, n] : by_floor)
    w.buckets.push_back({floor, floor <= 1 ? floor : uint32_t(std::min<uint64_t>(2ull * floor - 1, UINT32_MAX)), n});
  return w;
}

uint32_t bar_length(uint32_t count, uint32_t fullest, uint32_t width) {
  if (count == 0 || fullest == 0) return 0;
  const uint64_t len = (uint64_t(count) * width + fullest / 2) / fullest;
  return uint32_t(std::clamp<uint64_t>(len, 1, width));
}

}  // namespace cardfs::sdcard
