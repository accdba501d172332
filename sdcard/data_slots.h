// DataSlots: where each physical page's data lives in the image's data
// area — the indirection that lets a merge or GC move be a change of a
// map rather than a copy of bytes (issue 23). Internal to ImageStore.
//
// The data area has one page-sized slot per physical page. A page
// programmed with new data takes a slot of its own (its own-numbered slot
// when that one is free, so an image written sequentially keeps the
// layout it always had); a page moved by a merge or GC shares its source's
// slot. A slot is free again when no page that is not erased names it, so
// the image keeps one copy of each page's data however often it moves.
// The map is persisted in the pages' OOB records (OobRecord::slot) and
// rebuilt from them by the power-on scan, as the FTL's map is.
// Not thread-safe: the Card calls the store under its state lock.
#pragma once

#include <cstdint>
#include <vector>

namespace cardfs::sdcard {

class DataSlots {
 public:
  static constexpr uint32_t kNone = 0xFFFF'FFFF;

  // n physical pages (and slots), every page erased.
  void reset(uint64_t n);
  // The slot holding physical page pp's data, or kNone (erased).
  uint32_t slot_of(uint64_t pp) const { return slot_of_[pp]; }
  // pp (erased) now names `slot`.
  void assign(uint64_t pp, uint32_t slot);
  // pp is erased: its slot loses one reference.
  void release(uint64_t pp);
  // A slot for new data of page pp (which must be erased): pp's own
  // when free, else the next free one. Not yet assigned.
  uint32_t allocate(uint64_t pp);
  uint64_t slots_in_use() const { return in_use_; }

 private:
  std::vector<uint32_t> slot_of_;  // physical page -> slot, kNone: erased
  std::vector<uint32_t> refs_;     // slot -> pages naming it
  uint64_t cursor_ = 0;            // where the search for a free slot resumes
  uint64_t in_use_ = 0;            // slots with refs_ > 0
};

}  // namespace cardfs::sdcard
