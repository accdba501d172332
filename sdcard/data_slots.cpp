#include "sdcard/data_slots.h"

#include <algorithm>
#include <new>

namespace cardfs::sdcard {

void DataSlots::reset(uint64_t n, uint32_t upp, bool shared) {
  upp_ = upp;
  shared_ = shared;
  units_.reset(n * upp);
  refs_.reset(n * upp);
  scratch_.resize(upp);
  list_of_.reset(n);
  view_.resize(upp);
  list_refs_.reset(n);
  handed_on_.assign(n, false);
  list_cursor_ = 0;
  cursor_ = 0;
  in_use_ = 0;
  named_pages_ = 0;
}

void DataSlots::ref(uint32_t unit) {
  if (unit < refs_.size() && refs_[unit]++ == 0) ++in_use_;
}

void DataSlots::unref(uint32_t unit) {
  if (unit < refs_.size() && --refs_[unit] == 0) --in_use_;
}

std::span<const uint32_t> DataSlots::units_of(uint64_t pp) const {
  for (uint32_t k = 0; k < upp_; ++k) view_[k] = unit_at(pp * upp_ + k);
  return view_;
}

uint32_t DataSlots::page_slot(uint64_t pp) const {
  const uint32_t first = unit_at(pp * upp_);
  if (first >= refs_.size() || first % upp_ != 0) return kNone;
  for (uint32_t k = 1; k < upp_; ++k)
    if (unit_at(pp * upp_ + k) != first + k) return kNone;
  return first / upp_;
}

void DataSlots::assign(uint64_t pp, std::span<const uint32_t> units) {
  for (uint32_t u : units) ref(u);  // before the release: units may be pp's own names
  // units may be view_ (units_of's): copied before release() rewrites pp's.
  for (uint32_t k = 0; k < upp_; ++k) scratch_[k] = units[k];
  release(pp);
  for (uint32_t k = 0; k < upp_; ++k) set_unit(pp * upp_ + k, scratch_[k]);
  if (!erased(pp)) ++named_pages_;
}

void DataSlots::move(uint64_t from, uint64_t to) {
  if (from == to || erased(from) || handed_on_[from] || !shared_) {
    // Counted: `from` holds nothing to hand on (moved before), or is `to`.
    const uint32_t list = list_of(from);
    assign(to, units_of(from));
    if (list != kNone) set_list(to, list);
    return;
  }
  release(to);
  for (uint32_t k = 0; k < upp_; ++k) units_[to * upp_ + k] = units_[from * upp_ + k];
  list_of_[to] = list_of_[from];
  handed_on_[from] = true;
  ++named_pages_;
}

void DataSlots::set_list(uint64_t pp, uint32_t id) {
  if (id < list_refs_.size()) ++list_refs_[id];
  if (list_of(pp) != kNone) --list_refs_[list_of(pp)];
  list_of_[pp] = id + 1;
}

uint32_t DataSlots::allocate_list(uint64_t pp) {
  if (list_refs_[pp] == 0) return uint32_t(pp);
  // Fewer pages name lists than there are pages: the search ends.
  const uint64_t n = list_refs_.size();
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t id = list_cursor_ + i < n ? list_cursor_ + i : list_cursor_ + i - n;
    if (list_refs_[id] == 0) {
      list_cursor_ = id + 1 < n ? id + 1 : 0;
      return uint32_t(id);
    }
  }
  return kNone;
}

void DataSlots::release(uint64_t pp) {
  if (!erased(pp)) --named_pages_;
  const bool holds = !handed_on_[pp];
  handed_on_[pp] = false;
  if (list_of(pp) != kNone) {
    if (holds) --list_refs_[list_of(pp)];
    list_of_[pp] = 0;
  }
  for (uint32_t k = 0; k < upp_; ++k) {
    const uint32_t u = unit_at(pp * upp_ + k);
    if (u != kNone && holds) unref(u);
    set_unit(pp * upp_ + k, kNone);
  }
}

std::span<const uint32_t> DataSlots::program(uint64_t pp, uint32_t fresh, std::span<const uint32_t> base) {
  release(pp);  // programs target erased pages; a stale name must not pin a unit
  for (uint32_t k = 0; k < upp_; ++k) {
    if ((fresh >> k & 1) == 0) {
      scratch_[k] = base.empty() ? kZero : base[k];
      continue;
    }
    // Referenced at once, so the next part does not take the same unit.
    scratch_[k] = allocate(pp, k);
    if (scratch_[k] == kNone) {
      for (uint32_t j = 0; j < k; ++j)
        if (fresh >> j & 1) unref(scratch_[j]);
      return {};
    }
    ref(scratch_[k]);
  }
  for (uint32_t k = 0; k < upp_; ++k)
    if ((fresh >> k & 1) == 0) ref(scratch_[k]);
  for (uint32_t k = 0; k < upp_; ++k) set_unit(pp * upp_ + k, scratch_[k]);
  if (!erased(pp)) ++named_pages_;
  return units_of(pp);
}

uint32_t DataSlots::allocate(uint64_t pp, uint32_t k) {
  const uint64_t own = pp * upp_ + k;
  if (refs_[own] == 0 || !shared_) return uint32_t(own);
  // Best is a free unit whose own page is programmed (its data lives in
  // other units): that page will not want it back before it is erased,
  // whereas taking an erased page's own unit would push that page, when
  // programmed, out of its own place too. Such units are plentiful after
  // merges (a fold's log pages keep their sources' units), so the search
  // for one is bounded; past the bound any free unit will do. A program
  // always targets an erased page, so fewer units are in use than there
  // are: the search ends. It resumes where the last one stopped.
  constexpr uint64_t kPreferredWindow = 4096;
  const uint64_t n = refs_.size();
  uint32_t any = kNone;
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t u = cursor_ + i < n ? cursor_ + i : cursor_ + i - n;
    if (refs_[u] != 0) continue;
    if (!erased(u / upp_) || (any != kNone && i >= kPreferredWindow)) {
      cursor_ = u + 1 < n ? u + 1 : 0;
      return uint32_t(u);
    }
    if (any == kNone) any = uint32_t(u);
    if (i >= kPreferredWindow) break;
  }
  if (any != kNone) cursor_ = any + 1 < n ? any + 1 : 0;
  return any;  // kNone only if the invariant broke; the caller fails with EIO
}

}  // namespace cardfs::sdcard
