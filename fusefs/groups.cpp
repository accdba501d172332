#include "fusefs/groups.h"

#include <cstring>

#include "base/crc32c.h"
#include "base/log.h"
#include "fusefs/bitmap.h"

namespace cardfs::fusefs {

struct BlockGroups::Group {
  mutable std::mutex mu;
  GroupDesc gd;
  GroupLayout layout;
  std::vector<std::byte> bmap, imap;
  bool dirty = false;
};

namespace {
constexpr uint32_t kWindowBytes = 256 * 1024;  // the largest window
// Files that are never released (no close reaches us) must not end up
// reserving the whole disk: past this many windows the oldest is dropped.
constexpr size_t kMaxWindows = 512;
}

BlockGroups::BlockGroups(cache::PageCache& cache, const Superblock& sb)
    : cache_(cache),
      sb_(sb),
      bs_(sb.block_size()),
      bpg_(sb.blocks_per_group),
      ipg_(sb.inodes_per_group),
      seed_(sb.csum_seed()),
      au_blocks_(std::max<uint64_t>(1, sb.au_size / sb.block_size())),
      min_window_(8),
      max_window_(std::max<uint32_t>(8, kWindowBytes / sb.block_size())) {}

BlockGroups::~BlockGroups() = default;

Result<std::unique_ptr<BlockGroups>> BlockGroups::load(cache::PageCache& cache,
                                                       const Superblock& sb) {
  std::unique_ptr<BlockGroups> bg(new BlockGroups(cache, sb));
  for (uint32_t g = 0; g < sb.group_count(); ++g) CARDFS_RETURN_IF_ERROR(bg->load_group(g));
  bg->plan_meta_aus();
  return bg;
}

void BlockGroups::plan_meta_aus() {
  const uint64_t aus = (sb_.blocks_count + au_blocks_ - 1) / au_blocks_;
  std::vector<bool> meta(aus);
  size_t n = 0;
  for (const auto& grp : groups_) {
    const GroupLayout& l = grp->layout;
    for (uint64_t au = l.first / au_blocks_; au * au_blocks_ < l.first_data; ++au)
      if (!meta[au]) meta[au] = true, ++n;
  }
  if (aus >= 2 && n * 4 <= aus) meta_au_ = std::move(meta);
}

bool BlockGroups::in_meta_au(uint64_t block) const {
  uint64_t au = block / au_blocks_;
  return au < meta_au_.size() && meta_au_[au];
}

Status BlockGroups::load_group(uint32_t g) {
  auto grp = std::make_unique<Group>();
  const uint32_t per_block = bs_ / kDescSize;
  const uint64_t gdt_block = group_first_block(sb_, 0) + 1 + g / per_block;
  {
    CARDFS_ASSIGN_OR_RETURN(auto buf, cache_.bread(gdt_block));
    buf.lock();
    auto gd = decode_group_desc(buf.data().subspan((g % per_block) * kDescSize, kDescSize), g, seed_);
    buf.unlock();
    if (!gd.is_ok()) return gd.status().with_context("block " + std::to_string(gdt_block));
    grp->gd = *gd;
  }
  grp->layout = group_layout(sb_, g);
  const GroupLayout& l = grp->layout;
  if (grp->gd.block_bitmap != l.block_bitmap || grp->gd.inode_bitmap != l.inode_bitmap ||
      grp->gd.inode_table != l.inode_table)
    return Status::error(EIO, "group " + std::to_string(g) + ": metadata locations out of place");
  for (auto [block, out, crc, what] :
       {std::tuple{l.block_bitmap, &grp->bmap, grp->gd.block_bitmap_crc, "block bitmap"},
        std::tuple{l.inode_bitmap, &grp->imap, grp->gd.inode_bitmap_crc, "inode bitmap"}}) {
    CARDFS_ASSIGN_OR_RETURN(auto buf, cache_.bread(block));
    buf.lock();
    out->assign(buf.data().begin(), buf.data().end());
    buf.unlock();
    if (crc32c(seed_, *out) != crc)
      return Status::error(EIO, "group " + std::to_string(g) + ": " + what + " (block " +
                                    std::to_string(block) + ") checksum mismatch");
  }
  uint32_t fb = count_clear_bits(grp->bmap, l.count), fi = count_clear_bits(grp->imap, ipg_);
  if (fb != grp->gd.free_blocks || fi != grp->gd.free_inodes) {
    logger("fusefs")->warn("group {}: descriptor free counts {}/{} differ from bitmaps {}/{}; "
                           "using the bitmaps", g, grp->gd.free_blocks, grp->gd.free_inodes, fb, fi);
    grp->gd.free_blocks = fb;
    grp->gd.free_inodes = fi;
    grp->dirty = true;
  }
  free_blocks_ += fb;
  free_inodes_ += fi;
  groups_.push_back(std::move(grp));
  return Status::ok();
}

// ---- inodes

Result<uint32_t> BlockGroups::pick_group_for_dir(uint32_t parent_group) {
  const uint32_t n = group_count();
  const uint64_t avg_blocks = free_blocks_ / n;
  const uint32_t avg_inodes = free_inodes_ / n;
  // Orlov: prefer groups with at least average free inodes and blocks and
  // the fewest directories, starting from a rotor so top-level dirs spread.
  const uint32_t start = parent_group == 0 ? orlov_rotor_.fetch_add(1) % n : parent_group;
  int64_t best = -1;
  uint32_t best_dirs = UINT32_MAX;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t g = (start + i) % n;
    GroupCounts c = counts(g);
    if (c.free_inodes == 0 || c.free_inodes < avg_inodes || c.free_blocks < avg_blocks) continue;
    if (c.used_dirs < best_dirs) best = g, best_dirs = c.used_dirs;
    if (parent_group != 0) break;  // a subdirectory stays near its parent when it can
  }
  if (best >= 0) return uint32_t(best);
  for (uint32_t i = 0; i < n; ++i)
    if (counts((start + i) % n).free_inodes) return (start + i) % n;
  return Status::error(ENOSPC, "no free inodes");
}

Result<uint32_t> BlockGroups::pick_group_for_file(uint32_t parent_group) {
  const uint32_t n = group_count();
  GroupCounts c = counts(parent_group);
  if (c.free_inodes && c.free_blocks) return parent_group;
  for (uint32_t step = 1; step < n; step <<= 1) {  // ext2's quadratic probe
    uint32_t g = (parent_group + step) % n;
    c = counts(g);
    if (c.free_inodes && c.free_blocks) return g;
  }
  for (uint32_t i = 0; i < n; ++i)
    if (counts((parent_group + i) % n).free_inodes) return (parent_group + i) % n;
  return Status::error(ENOSPC, "no free inodes");
}

bool BlockGroups::claim_inode(uint32_t g, bool is_dir, uint32_t* ino) {
  Group& grp = *groups_[g];
  std::lock_guard lock(grp.mu);
  uint32_t first = g == 0 ? kFirstIno : 0;
  uint32_t bit = find_clear_bit(grp.imap, first, ipg_);
  if (bit >= ipg_) return false;
  set_bit(grp.imap, bit);
  --grp.gd.free_inodes;
  if (is_dir) ++grp.gd.used_dirs;
  grp.dirty = true;
  --free_inodes_;
  *ino = g * ipg_ + bit + 1;
  return true;
}

Result<uint32_t> BlockGroups::alloc_inode(uint32_t parent_ino, bool is_dir) {
  const uint32_t parent_group = group_of_inode(parent_ino);
  CARDFS_ASSIGN_OR_RETURN(uint32_t g, is_dir ? pick_group_for_dir(parent_group)
                                             : pick_group_for_file(parent_group));
  uint32_t ino = 0;
  for (uint32_t i = 0; i < group_count(); ++i)  // the pick may race with others
    if (claim_inode((g + i) % group_count(), is_dir, &ino)) return ino;
  return Status::error(ENOSPC, "no free inodes");
}

void BlockGroups::free_inode(uint32_t ino, bool is_dir) {
  Group& grp = *groups_[group_of_inode(ino)];
  std::lock_guard lock(grp.mu);
  uint32_t bit = (ino - 1) % ipg_;
  if (!test_bit(grp.imap, bit)) {
    logger("fusefs")->error("freeing inode {} which is already free", ino);
    return;
  }
  clear_bit(grp.imap, bit);
  ++grp.gd.free_inodes;
  if (is_dir && grp.gd.used_dirs) --grp.gd.used_dirs;
  grp.dirty = true;
  ++free_inodes_;
}

bool BlockGroups::table_block_neighbours_free(uint32_t ino, uint32_t per_block) const {
  const Group& grp = *groups_[group_of_inode(ino)];
  const uint32_t bit = (ino - 1) % ipg_;
  const uint32_t first = bit - bit % per_block, end = std::min(first + per_block, ipg_);
  std::lock_guard lock(grp.mu);
  for (uint32_t i = first; i < end; ++i)
    if (i != bit && test_bit(grp.imap, i)) return false;
  return true;
}

// ---- blocks

bool BlockGroups::is_data_block(uint64_t block) const {
  if (block < sb_.first_data_block || block >= sb_.blocks_count) return false;
  const Group& grp = *groups_[(block - sb_.first_data_block) / bpg_];
  return block >= grp.layout.first_data;
}

bool BlockGroups::block_in_use(uint64_t block) const {
  if (block < sb_.first_data_block || block >= sb_.blocks_count) return false;
  const Group& grp = *groups_[(block - sb_.first_data_block) / bpg_];
  std::lock_guard lock(grp.mu);
  return test_bit(grp.bmap, uint32_t(block - grp.layout.first));
}

uint64_t BlockGroups::foreign_window_end_locked(uint64_t block) const {
  auto it = windows_.upper_bound(block);
  if (it == windows_.begin()) return 0;
  --it;
  return block < it->second ? it->second : 0;
}

uint64_t BlockGroups::find_in_range(uint64_t from, uint64_t to, bool claim) {
  from = std::max<uint64_t>(from, sb_.first_data_block);
  to = std::min<uint64_t>(to, sb_.blocks_count);
  while (from < to) {
    uint32_t g = uint32_t((from - sb_.first_data_block) / bpg_);
    Group& grp = *groups_[g];
    uint64_t gend = std::min<uint64_t>(grp.layout.first + grp.layout.count, to);
    std::lock_guard lock(grp.mu);
    if (grp.gd.free_blocks) {
      uint32_t bit = uint32_t(from - grp.layout.first), end = uint32_t(gend - grp.layout.first);
      while ((bit = find_clear_bit(grp.bmap, bit, end)) < end) {
        uint64_t block = grp.layout.first + bit;
        uint64_t skip_to = claim ? 0 : foreign_window_end_locked(block);
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
  if (meta_au_.empty()) return search_from(goal, claim);
  if (goal < sb_.first_data_block || goal >= sb_.blocks_count) goal = sb_.first_data_block;
  const uint64_t au_start = goal / au_blocks_ * au_blocks_, au_end = au_start + au_blocks_;
  for (auto [from, to] : {std::pair{goal, au_end}, {au_start, goal},
                          {au_end, sb_.blocks_count}, {uint64_t(0), au_start}})
    if (uint64_t b = find_outside_meta(from, to, claim)) return b;
  return search_from(goal, claim);
}

Result<uint64_t> BlockGroups::alloc_meta_block(uint32_t group) {
  std::lock_guard lock(windows_mu_);
  const uint32_t n = group_count();
  for (uint32_t i = 0; i < n && !meta_au_.empty(); ++i) {
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

void BlockGroups::open_window(Reservation& res, uint64_t first) {
  uint64_t end = std::min<uint64_t>(first + res.size, sb_.blocks_count);
  auto next = windows_.lower_bound(first);
  if (next != windows_.end()) end = std::min(end, next->first);
  for (uint64_t au = first / au_blocks_ + 1; au * au_blocks_ < end; ++au)
    if (in_meta_au(au * au_blocks_) && !in_meta_au(first)) end = au * au_blocks_;  // data stays out
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

Result<uint64_t> BlockGroups::take_from_window(Reservation& res) {
  while (res.next < res.end) {
    uint64_t b = res.next++;
    Group& grp = *groups_[(b - sb_.first_data_block) / bpg_];
    std::lock_guard lock(grp.mu);
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
  std::lock_guard lock(windows_mu_);
  if (res && res->active()) {
    auto it = windows_.find(res->start);
    if (it == windows_.end() || it->second != res->end) res->start = res->end = 0;  // dropped
  }
  if (res && res->active()) {
    // Continue in the window when the goal is inside it (sequential writes).
    if (goal >= res->start && goal < res->end) res->next = std::max(res->next, goal);
    const bool sequential = goal == 0 || (goal >= res->start && goal <= res->end);
    if (sequential) {
      auto b = take_from_window(*res);
      if (b.is_ok()) return b;
    }
    windows_.erase(res->start);
    // A writer that used up its window gets a bigger one next time.
    res->size = sequential ? std::min(res->size * 2, max_window_) : res->size;
    res->start = res->end = res->next = 0;
  }
  if (res && res->size == 0) res->size = min_window_;
  uint64_t first = search_data(goal, false);
  if (first && res) {
    open_window(*res, first);
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
  std::lock_guard lock(windows_mu_);
  if (res.active()) windows_.erase(res.start);
  res = {};
}

size_t BlockGroups::window_count() const {
  std::lock_guard lock(windows_mu_);
  return windows_.size();
}

void BlockGroups::free_block(uint64_t block) {
  if (block < sb_.first_data_block || block >= sb_.blocks_count) return;
  if (defer_frees_) {
    std::lock_guard lock(deferred_mu_);
    deferred_.push_back(block);
    return;
  }
  free_now(block);
}

void BlockGroups::free_now(uint64_t block) {
  Group& grp = *groups_[(block - sb_.first_data_block) / bpg_];
  std::lock_guard lock(grp.mu);
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
    std::lock_guard lock(deferred_mu_);
    blocks.swap(deferred_);
  }
  for (uint64_t b : blocks) free_now(b);
  return blocks;
}

uint64_t BlockGroups::deferred_free_count() const {
  std::lock_guard lock(deferred_mu_);
  return deferred_.size();
}

// ---- accessors and flush

uint64_t BlockGroups::inode_table(uint32_t group) const { return groups_[group]->layout.inode_table; }

uint64_t BlockGroups::group_start_block(uint32_t group) const {
  return groups_[group]->layout.first_data;
}

GroupCounts BlockGroups::counts(uint32_t group) const {
  const Group& grp = *groups_[group];
  std::lock_guard lock(grp.mu);
  return {grp.gd.free_blocks, grp.gd.free_inodes, grp.gd.used_dirs};
}

GroupCounts BlockGroups::count_bitmaps(uint32_t group) const {
  const Group& grp = *groups_[group];
  std::lock_guard lock(grp.mu);
  return {count_clear_bits(grp.bmap, grp.layout.count), count_clear_bits(grp.imap, ipg_),
          grp.gd.used_dirs};
}

Status BlockGroups::flush() {
  std::lock_guard flush_lock(flush_mu_);
  const uint32_t per_block = bs_ / kDescSize;
  for (uint32_t g = 0; g < group_count(); ++g) {
    Group& grp = *groups_[g];
    std::vector<std::byte> bmap, imap, desc(kDescSize);
    {
      std::lock_guard lock(grp.mu);
      if (!grp.dirty) continue;
      grp.dirty = false;
      grp.gd.block_bitmap_crc = crc32c(seed_, grp.bmap);
      grp.gd.inode_bitmap_crc = crc32c(seed_, grp.imap);
      bmap = grp.bmap;
      imap = grp.imap;
      encode_group_desc(grp.gd, g, seed_, desc);
    }
    for (auto [block, bytes] : {std::pair{grp.layout.block_bitmap, &bmap},
                                {grp.layout.inode_bitmap, &imap}}) {
      CARDFS_ASSIGN_OR_RETURN(auto buf, cache_.bread(block));
      buf.lock();
      std::memcpy(buf.data().data(), bytes->data(), bs_);
      buf.unlock();
      buf.mark_dirty();
    }
    const uint64_t gdt_block = group_first_block(sb_, 0) + 1 + g / per_block;
    CARDFS_ASSIGN_OR_RETURN(auto buf, cache_.bread(gdt_block));
    const uint32_t off = (g % per_block) * kDescSize;
    buf.lock();
    std::memcpy(buf.data().data() + off, desc.data(), kDescSize);
    buf.unlock();
    buf.mark_dirty(off, kDescSize);
  }
  return Status::ok();
}

}  // namespace cardfs::fusefs
