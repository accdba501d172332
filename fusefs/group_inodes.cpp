// BlockGroups: inode placement. Directories spread over groups with
// above-average free space (Orlov-like), files go to their parent's group.
#include "base/log.h"
#include "fusefs/bitmap.h"
#include "fusefs/group.h"

namespace cardfs::fusefs {

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
  MutexLock lock(grp.mu);
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
  MutexLock lock(grp.mu);
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
  MutexLock lock(grp.mu);
  for (uint32_t i = first; i < end; ++i)
    if (i != bit && test_bit(grp.imap, i)) return false;
  return true;
}

}  // namespace cardfs::fusefs
