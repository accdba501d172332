// BlockGroups: block allocation. AU-aware searches (the rest of the
// goal's AU, then the AUs after it), file data kept out of metadata AUs,
// reservation windows, and frees (deferred while a journal transaction runs).
#include <algorithm>

#include "base/log.h"
#include "fusefs/bitmap.h"
#include "fusefs/group.h"

namespace cardfs::fusefs {

bool BlockGroups::is_data_block(uint64_t block) const {
  if (block < sb_.first_data_block || block >= sb_.blocks_count) return false;
  const Group& grp = *groups_[(block - sb_.first_data_block) / bpg_];
  return block >= grp.layout.first_data;
}

bool BlockGroups::block_in_use(uint64_t block) const {
  if (block < sb_.first_data_block || block >= sb_.blocks_count) return false;
  const Group& grp = *groups_[(block - sb_.first_data_block) / bpg_];
  MutexLock lock(grp.mu);
  return test_bit(grp.bmap, uint32_t(block - grp.layout.first));
}

uint64_t BlockGroups::find_in_range(uint64_t from, uint64_t to, bool claim) {
  from = std::max<uint64_t>(from, sb_.first_data_block);
  to = std::min<uint64_t>(to, sb_.blocks_count);
  while (from < to) {
    uint32_t g = uint32_t((from - sb_.first_data_block) / bpg_);
    Group& grp = *groups_[g];
    uint64_t gend = std::min<uint64_t>(grp.layout.first + grp.layout.count, to);
    MutexLock lock(grp.mu);
    if (grp.gd.free_blocks) {
      uint32_t bit = uint32_t(from - grp.layout.first), end = uint32_t(gend - grp.layout.first);
      while ((bit = find_clear_bit(grp.bmap, bit, end)) < end) {
        uint64_t block = grp.layout.first + bit;
        uint64_t skip_to = claim ? 0 : windows_.end_of_window_at(block);
        if (skip_to) {  // jump over the other file's window
          bit = uint32_t(std::min<uint64_t>(skip_to - grp.layout.first, end));
          continue;
        }
        {
          if (claim) {
            set_bit(grp.bmap, bit);
            --grp.gd.free_blocks;
            grp.dirty = true;
            --free_blocks_;
          }
          return block;
        }
      }
    }
    from = gend;
  }
  return 0;
}

// AU-aware order: the rest of goal's AU, its start, then the AUs after it.
uint64_t BlockGroups::search_from(uint64_t goal, bool claim) {
  if (goal < sb_.first_data_block || goal >= sb_.blocks_count) goal = sb_.first_data_block;
  const uint64_t au_start = goal / au_blocks_ * au_blocks_, au_end = au_start + au_blocks_;
  for (auto [from, to] : {std::pair{goal, au_end}, {au_start, goal},
                          {au_end, sb_.blocks_count}, {uint64_t(0), au_start}})
    if (uint64_t b = find_in_range(from, to, claim)) return b;
  return 0;
}

uint64_t BlockGroups::find_outside_meta(uint64_t from, uint64_t to, bool claim) {
  while (from < to) {
    while (from < to && in_meta_au(from)) from = (from / au_blocks_ + 1) * au_blocks_;
    uint64_t end = from;  // the run of data AUs from `from`
    while (end < to && !in_meta_au(end)) end = (end / au_blocks_ + 1) * au_blocks_;
    end = std::min(end, to);
    if (from < end)
      if (uint64_t b = find_in_range(from, end, claim)) return b;
    from = end;
  }
  return 0;
}

// search_from's order over data AUs; metadata AUs only when nothing else is free.
uint64_t BlockGroups::search_data(uint64_t goal, bool claim) {
  if (!meta_.on()) return search_from(goal, claim);
  if (goal < sb_.first_data_block || goal >= sb_.blocks_count) goal = sb_.first_data_block;
  const uint64_t au_start = goal / au_blocks_ * au_blocks_, au_end = au_start + au_blocks_;
  for (auto [from, to] : {std::pair{goal, au_end}, {au_start, goal},
                          {au_end, sb_.blocks_count}, {uint64_t(0), au_start}})
    if (uint64_t b = find_outside_meta(from, to, claim)) return b;
  return search_from(goal, claim);
}

Result<uint64_t> BlockGroups::alloc_meta_block(uint32_t group) {
  MutexLock lock(windows_mu_);
  const uint32_t n = group_count();
  for (uint32_t i = 0; i < n && meta_.on(); ++i) {
    const GroupLayout& l = groups_[(group + i) % n]->layout;
    const uint64_t end = std::min(l.first + l.count, (l.first_data + au_blocks_ - 1) / au_blocks_ * au_blocks_);
    if (uint64_t b = find_in_range(l.first_data, end, false))
      if (find_in_range(b, b + 1, true)) return b;
  }
  uint64_t goal = groups_[group % n]->layout.first_data;
  if (uint64_t b = search_from(goal, false))
    if (find_in_range(b, b + 1, true)) return b;
  if (uint64_t b = search_from(goal, true)) return b;  // only windows have room left
  return Status::error(ENOSPC, "no free blocks");
}

Result<uint64_t> BlockGroups::take_from_window(Reservation& res) {
  while (res.next < res.end) {
    uint64_t b = res.next++;
    Group& grp = *groups_[(b - sb_.first_data_block) / bpg_];
    MutexLock lock(grp.mu);
    uint32_t bit = uint32_t(b - grp.layout.first);
    if (bit < grp.layout.count && !test_bit(grp.bmap, bit)) {
      set_bit(grp.bmap, bit);
      --grp.gd.free_blocks;
      grp.dirty = true;
      --free_blocks_;
      return b;
    }
  }
  return Status::error(ENOSPC, "window exhausted");
}

Result<uint64_t> BlockGroups::alloc_block(uint64_t goal, Reservation* res) {
  MutexLock lock(windows_mu_);
  if (res && res->active()) {
    if (!windows_.holds(*res)) res->start = res->end = 0;  // dropped
  }
  if (res && res->active()) {
    // Continue in the window when the goal is inside it (sequential writes).
    if (goal >= res->start && goal < res->end) res->next = std::max(res->next, goal);
    const bool sequential = goal == 0 || (goal >= res->start && goal <= res->end);
    if (sequential) {
      auto b = take_from_window(*res);
      if (b.is_ok()) return b;
    }
    windows_.close(*res);
    // A writer that used up its window gets a bigger one next time.
    res->size = sequential ? std::min(res->size * 2, windows_.max_size()) : res->size;
    res->start = res->end = res->next = 0;
  }
  if (res && res->size == 0) res->size = windows_.min_size();
  uint64_t first = search_data(goal, false);
  if (first && res) {
    windows_.open(*res, first, meta_);
    auto b = take_from_window(*res);
    if (b.is_ok()) return b;
  }
  if (first && !res)
    if (uint64_t b = find_in_range(first, first + 1, true)) return b;
  // Everything left sits in other files' windows (or nothing is left).
  if (uint64_t b = search_data(goal, true)) return b;
  return Status::error(ENOSPC, "no free blocks");
}

void BlockGroups::release(Reservation& res) {
  MutexLock lock(windows_mu_);
  windows_.close(res);
  res = {};
}

size_t BlockGroups::window_count() const {
  MutexLock lock(windows_mu_);
  return windows_.count();
}

void BlockGroups::free_block(uint64_t block) {
  if (block < sb_.first_data_block || block >= sb_.blocks_count) return;
  if (defer_frees_) {
    MutexLock lock(deferred_mu_);
    deferred_.push_back(block);
    return;
  }
  free_now(block);
}

void BlockGroups::free_now(uint64_t block) {
  Group& grp = *groups_[(block - sb_.first_data_block) / bpg_];
  MutexLock lock(grp.mu);
  uint32_t bit = uint32_t(block - grp.layout.first);
  if (!test_bit(grp.bmap, bit)) {
    logger("fusefs")->error("freeing block {} which is already free", block);
    return;
  }
  clear_bit(grp.bmap, bit);
  ++grp.gd.free_blocks;
  grp.dirty = true;
  ++free_blocks_;
}

std::vector<uint64_t> BlockGroups::release_deferred_frees() {
  std::vector<uint64_t> blocks;
  {
    MutexLock lock(deferred_mu_);
    blocks.swap(deferred_);
  }
  for (uint64_t b : blocks) free_now(b);
  return blocks;
}

uint64_t BlockGroups::deferred_free_count() const {
  MutexLock lock(deferred_mu_);
  return deferred_.size();
}

}  // namespace cardfs::fusefs
