// DataSlots: where each physical page's data lives in the image's data
// area — the indirection that lets a merge or GC move be a change of a
// map rather than a copy of bytes, and a partly rewritten page store only
// what changed (issue 23). Internal to ImageStore.
//
// The data area is cut into units (kUnitBytes, 4 KiB: a 16 KiB page has
// 4), numbered so that physical page n's own units are n*upp .. n*upp +
// upp - 1 (upp: units per page), slot n's place as before version 4. Each
// page names one unit per part of it: a page programmed whole takes units
// of its own (its own-numbered ones when free, so an image written in
// order keeps the layout it always had); a page partly rewritten takes new
// units for the parts the host wrote and names the previous copy's units
// (or kZero, a unit of zeros that has no data) for the rest; a page moved
// by a merge or GC names its source's units. A unit is free again when no
// page that is not erased names it, so the image keeps one copy of each
// unit of data however often the card moves it.
// The map is persisted in the pages' OOB records (a page slot when the
// units are a page's own run, else the unit table) and rebuilt from them
// by the power-on scan, as the FTL's map is.
// Memory: 8 bytes per unit and 8 per page (40 per 16 KiB page: 10 MiB
// for 4 GiB), in zero-page-backed arrays (ZeroedArray): only the entries
// of pages and units ever used are resident; and a bit per page
// (handed_on_, resident: 32 KiB per GiB).
// Not thread-safe: the Card calls the store under its state lock.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <new>
#include <span>
#include <vector>

#include "sdcard/zeroed_array.h"

namespace cardfs::sdcard {

class DataSlots {
 public:
  static constexpr uint32_t kNone = 0xFFFF'FFFF;  // the page is erased
  static constexpr uint32_t kZero = 0xFFFF'FFFE;  // a unit of zeros, no data

  // n physical pages of upp units each, every page erased. With `shared`
  // false (version 1 images) a page only ever names its own units.
  void reset(uint64_t n, uint32_t upp, bool shared);
  uint32_t units_per_page() const { return upp_; }
  uint64_t units() const { return refs_.size(); }
  bool erased(uint64_t pp) const { return unit_at(pp * upp_) == kNone; }
  // Page pp's units (erased: kNone each); valid until the next units_of()
  // or program().
  std::span<const uint32_t> units_of(uint64_t pp) const;
  // The slot s when pp's units are s's own run (s*upp + k), else kNone.
  uint32_t page_slot(uint64_t pp) const;
  // pp now names `units` (upp entries; kZero allowed), its old names released.
  void assign(uint64_t pp, std::span<const uint32_t> units);
  // A move: `to` now names what `from` names (its units and unit list),
  // its old names released. `from` keeps its names, but when it holds
  // their references it hands them to `to` instead of both counting
  // them: a merge or GC move then touches neither the units' nor the
  // list's counts, whose entries are scattered (a cache miss each, most
  // of a merge's time; issue 23). A unit stays in use as long as the last
  // page it was handed to is not erased, which is what a stale source
  // (erased next, as a merge's or GC's source AU is) needs.
  void move(uint64_t from, uint64_t to);
  // pp now names new units where `fresh` has bit k set, `base`'s k-th
  // unit elsewhere (kZero when base is empty); returns its units, or an
  // empty span when no unit is free (the invariant broke).
  std::span<const uint32_t> program(uint64_t pp, uint32_t fresh, std::span<const uint32_t> base);
  // pp is erased: its units lose one reference each, its unit list one.
  void release(uint64_t pp);
  uint64_t units_in_use() const { return in_use_; }
  // Pages not erased (naming units): what a clean close checks the FTL's
  // holders against without reading every page's entry.
  uint64_t named_pages() const { return named_pages_; }

  // Unit lists: where in the unit table the units of a page that is not
  // one slot's run are listed. A list is written once, by the program that
  // made the page, and shared by every page moved from it; it is free
  // again when no page that is not erased names it (as a unit is), so an
  // entry is never rewritten while a page names it. kNone: none.
  uint32_t list_of(uint64_t pp) const { return list_of_[pp] - 1; }
  // pp (not erased) names list `id`.
  void set_list(uint64_t pp, uint32_t id);
  // A free list for page pp: pp's own index when free, else the next
  // free one. Not yet named.
  uint32_t allocate_list(uint64_t pp);

 private:
  // A free unit for part k of page pp: pp's own k-th when free, else the
  // next free one. Not yet referenced.
  uint32_t allocate(uint64_t pp, uint32_t k);
  void ref(uint32_t unit);
  void unref(uint32_t unit);

  uint32_t upp_ = 1;
  bool shared_ = true;
  // Entries are stored plus one (kNone wraps to 0: a zero page is erased).
  uint32_t unit_at(uint64_t i) const { return units_[i] - 1; }
  void set_unit(uint64_t i, uint32_t unit) { units_[i] = unit + 1; }
  ZeroedArray units_;            // page pp's k-th unit at pp * upp_ + k, plus one
  mutable std::vector<uint32_t> view_;  // units_of()'s
  ZeroedArray refs_;            // unit -> pages naming it
  std::vector<uint32_t> scratch_;
  ZeroedArray list_of_;              // physical page -> unit list plus one (0: none)
  ZeroedArray list_refs_;           // unit list -> pages naming it
  // Per physical page: its names' references were handed to the page it
  // was moved to (move()); its release drops none.
  std::vector<bool> handed_on_;
  uint64_t list_cursor_ = 0;
  uint64_t cursor_ = 0;          // where the search for a free unit resumes
  uint64_t in_use_ = 0;          // units with refs_ > 0
  uint64_t named_pages_ = 0;     // pages not erased
};

}  // namespace cardfs::sdcard
