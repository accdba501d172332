// Wear of a card's AUs, for `cardfs card info`, `cardfs inspect ... card`
// and the replay report: the erase counts' min, mean and max, and how many
// AUs fall in each power-of-two range of erase counts (0, 1, 2-3, 4-7 ...),
// with bars scaled to the fullest range. Pure functions.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "sdcard/card.h"

namespace cardfs::sdcard {

struct WearBucket {
  uint32_t first = 0, last = 0;  // erase counts [first, last]
  uint32_t aus = 0;
  std::string range() const;     // "0", "1", "2-3"
};

struct WearStats {
  uint32_t aus = 0;
  uint32_t min = 0, max = 0;
  double mean = 0;
  uint32_t aus_erased = 0;           // erased at least once
  std::vector<WearBucket> buckets;   // ascending; ranges with no AU left out
};

WearStats wear_stats(std::span<const AuState> aus);

// A bar for `count` AUs when the fullest range has `fullest` and gets
// `width` characters: proportional and rounded, at least 1 for any AU.
uint32_t bar_length(uint32_t count, uint32_t fullest, uint32_t width);

}  // namespace cardfs::sdcard
