#include "sdcard/data_slots.h"

#include <algorithm>

namespace cardfs::sdcard {

void DataSlots::reset(uint64_t n) {
  slot_of_.assign(n, kNone);
  refs_.assign(n, 0);
  cursor_ = 0;
  in_use_ = 0;
}

void DataSlots::assign(uint64_t pp, uint32_t slot) {
  release(pp);
  slot_of_[pp] = slot;
  if (refs_[slot]++ == 0) ++in_use_;
}

void DataSlots::release(uint64_t pp) {
  const uint32_t slot = slot_of_[pp];
  if (slot == kNone) return;
  slot_of_[pp] = kNone;
  if (--refs_[slot] == 0) --in_use_;
}

uint32_t DataSlots::allocate(uint64_t pp) {
  if (refs_[pp] == 0) return uint32_t(pp);
  // Best is a free slot whose own page is programmed (its data lives in
  // another slot): that page will not want it back before it is erased,
  // whereas taking an erased page's own slot would push that page, when
  // programmed, out of its own place too. Such slots are plentiful after
  // merges (a fold's log pages keep their sources' slots), so the search
  // for one is bounded; past the bound any free slot will do. A program
  // always targets an erased page, so fewer slots are in use than there
  // are pages: the search ends. It resumes where the last one stopped.
  constexpr uint64_t kPreferredWindow = 4096;
  const uint64_t n = refs_.size();
  uint32_t any = kNone;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t s = cursor_ + i < n ? cursor_ + i : cursor_ + i - n;
    if (refs_[s] != 0) continue;
    if (slot_of_[s] != kNone || (any != kNone && i >= kPreferredWindow)) {
      cursor_ = s + 1 < n ? s + 1 : 0;
      return uint32_t(s);
    }
    if (any == kNone) any = uint32_t(s);
    if (i >= kPreferredWindow) break;
  }
  if (any != kNone) cursor_ = any + 1 < n ? any + 1 : 0;
  return any;  // kNone only if the invariant broke; the caller fails with EIO
}

}  // namespace cardfs::sdcard
