// Filesystem: fallocate's modes with the rules of kernel ext4 (6.18) —
// which modes combine, block alignment, sizes and holes — checked against
// a kernel ext4 on a loop device by tests/mount/fallocate_ext4.sh.
// Allocation and hole punching are in fs_data.cpp; zeroing, collapsing and
// inserting a range are here.
#include <linux/falloc.h>

#include <algorithm>
#include <vector>

#include "fusefs/block_map.h"
#include "fusefs/context.h"
#include "fusefs/filesystem.h"
#include "fusefs/groups.h"
#include "fusefs/inode.h"

namespace cardfs::fusefs {
namespace {

constexpr int kKeep = FALLOC_FL_KEEP_SIZE;

uint64_t page_floor(uint64_t offset) { return offset / cache::kPageSize * cache::kPageSize; }

// Moves the pointers of `from` (ascending) by delta file blocks, in the
// order that never lands on a pointer not yet moved (ascending for a
// negative delta). Every destination's indirect blocks exist already
// (make_path_locked), so nothing here allocates.
Status move_pointer(Context& ctx, Inode& inode, uint64_t fb, int64_t delta) CARDFS_REQUIRES(inode.map_mu) {
  uint32_t raw = 0;
  CARDFS_RETURN_IF_ERROR(exchange_pointer_locked(ctx, inode, fb, raw));
  return exchange_pointer_locked(ctx, inode, uint64_t(int64_t(fb) + delta), raw);
}

Status move_pointers(Context& ctx, Inode& inode, const std::vector<uint64_t>& from, int64_t delta)
    CARDFS_REQUIRES(inode.map_mu) {
  if (delta < 0) {
    for (uint64_t fb : from) CARDFS_RETURN_IF_ERROR(move_pointer(ctx, inode, fb, delta));
  } else {
    for (auto it = from.rbegin(); it != from.rend(); ++it)
      CARDFS_RETURN_IF_ERROR(move_pointer(ctx, inode, *it, delta));
  }
  return Status::ok();
}

// Makes the indirect blocks every destination needs before anything moves:
// ENOSPC then changes no data pointer, and those made meanwhile are freed.
Status make_paths(Context& ctx, Inode& inode, const std::vector<uint64_t>& from, int64_t delta,
                  uint64_t first) CARDFS_REQUIRES(inode.map_mu) {
  for (uint64_t fb : from) {
    Status st = make_path_locked(ctx, inode, uint64_t(int64_t(fb) + delta));
    if (!st.is_ok()) {
      CARDFS_RETURN_IF_ERROR(prune_indirect_locked(ctx, inode, first, max_file_blocks(ctx.ptrs)));
      return st;
    }
  }
  return Status::ok();
}

}  // namespace

Status Filesystem::check_fallocate_mode(int mode) {
  // What vfs_fallocate and ext4_fallocate accept; any other combination
  // (punch without KEEP_SIZE, collapse or insert with it, two operations at
  // once, NO_HIDE_STALE, UNSHARE, WRITE_ZEROES) is EOPNOTSUPP there too.
  switch (mode) {
    case 0:
    case kKeep:
    case FALLOC_FL_PUNCH_HOLE | kKeep:
    case FALLOC_FL_ZERO_RANGE:
    case FALLOC_FL_ZERO_RANGE | kKeep:
    case FALLOC_FL_COLLAPSE_RANGE:
    case FALLOC_FL_INSERT_RANGE:
      return Status::ok();
    default:
      return Status::error(EOPNOTSUPP, "fallocate: unsupported mode " + std::to_string(mode));
  }
}

Status Filesystem::fallocate_locked(Inode& inode, int mode, uint64_t offset, uint64_t length) {
  const uint64_t end = offset + length;
  if (end < offset || end > max_file_size(sb_.block_size()))
    return Status::error(EFBIG, "fallocate: beyond the maximum file size");
  if (mode & FALLOC_FL_PUNCH_HOLE) return punch_locked(inode, offset, length);
  if (mode & FALLOC_FL_ZERO_RANGE) return zero_fallocate_locked(inode, offset, length, mode & kKeep);
  if (mode & FALLOC_FL_COLLAPSE_RANGE) return collapse_locked(inode, offset, length);
  if (mode & FALLOC_FL_INSERT_RANGE) return insert_locked(inode, offset, length);
  return allocate_locked(inode, offset, length, mode & kKeep);
}

// ZERO_RANGE as ext4 does it: every block of the range ends up allocated.
// Blocks it covers whole become unwritten (written ones keep their disk
// block, no data is written); a hole becomes an unwritten block; a written
// block it covers in part gets zeros over that part through the cache.
Status Filesystem::zero_fallocate_locked(Inode& inode, uint64_t offset, uint64_t length,
                                         bool keep_size) {
  const uint32_t bs = sb_.block_size();
  const uint64_t end = offset + length;
  CARDFS_RETURN_IF_ERROR(enable_unwritten());
  const uint64_t first_fb = offset / bs, end_fb = (end + bs - 1) / bs;
  CARDFS_ASSIGN_OR_RETURN(uint64_t holes, count_holes_locked(inode, first_fb, end_fb));
  if (holes > groups_->free_blocks()) return Status::error(ENOSPC, "fallocate: not enough free blocks");
  for (uint64_t fb = first_fb; fb < end_fb; ++fb) {
    const uint64_t lo = std::max(offset, fb * bs), hi = std::min(end, (fb + 1) * bs);
    bool zero_bytes;
    {
      MutexLock lock(inode.map_mu);
      CARDFS_ASSIGN_OR_RETURN(Mapped m, map_block_locked(*ctx_, inode, fb, MapMode::kLookup));
      zero_bytes = m.block && !m.unwritten && hi - lo < bs;
      if (!zero_bytes) CARDFS_RETURN_IF_ERROR(map_block_locked(*ctx_, inode, fb, MapMode::kZero).status());
    }
    if (zero_bytes) CARDFS_RETURN_IF_ERROR(zero_range_locked(inode, lo, hi));
  }
  // After the marks, so a reader cannot bring the old bytes back in.
  const uint64_t whole_lo = (offset + bs - 1) / bs * bs, whole_hi = end / bs * bs;
  if (whole_lo < whole_hi) cache_.punch_pages(*inode.as, whole_lo, whole_hi - whole_lo);
  if (!keep_size && end > inode.d.size) inode.d.size = end;
  inode.datasync_dirty = true;
  return Status::ok();
}

// Dirty pages from the page holding offset on go to the card, then every
// page from there is dropped: they name the disk blocks of file positions
// a shift is about to change.
Status Filesystem::settle_pages_from_locked(Inode& inode, uint64_t offset) {
  CARDFS_RETURN_IF_ERROR(cache_.write_back_range(*inode.as, page_floor(offset), ~0ull, true));
  cache_.truncate_pages(*inode.as, page_floor(offset));
  return Status::ok();
}

// COLLAPSE_RANGE: the blocks of [offset, offset + length) are freed and
// every block after them (past EOF too, as ext4 shifts all its extents)
// moves down by length; the size shrinks by length.
Status Filesystem::collapse_locked(Inode& inode, uint64_t offset, uint64_t length) {
  const uint32_t bs = sb_.block_size();
  if (offset % bs || length % bs)
    return Status::error(EINVAL, "collapse range: offset and length must be multiples of the block size");
  if (offset + length >= inode.d.size)
    return Status::error(EINVAL, "collapse range: must end before EOF (that is a truncate)");
  const uint64_t first = offset / bs, n = length / bs, max = max_file_blocks(ctx_->ptrs);
  CARDFS_RETURN_IF_ERROR(settle_pages_from_locked(inode, offset));
  {
    MutexLock lock(inode.map_mu);
    CARDFS_ASSIGN_OR_RETURN(auto removed, mapped_blocks_locked(*ctx_, inode, first, first + n));
    CARDFS_ASSIGN_OR_RETURN(auto moving, mapped_blocks_locked(*ctx_, inode, first + n, max));
    CARDFS_RETURN_IF_ERROR(make_paths(*ctx_, inode, moving, -int64_t(n), first));
    // The removed pointers leave before the others land where they were.
    std::vector<uint32_t> taken(removed.size(), 0);
    for (size_t i = 0; i < removed.size(); ++i)
      CARDFS_RETURN_IF_ERROR(exchange_pointer_locked(*ctx_, inode, removed[i], taken[i]));
    CARDFS_RETURN_IF_ERROR(move_pointers(*ctx_, inode, moving, -int64_t(n)));
    for (uint32_t raw : taken) CARDFS_RETURN_IF_ERROR(release_pointer_locked(*ctx_, inode, raw));
    CARDFS_RETURN_IF_ERROR(prune_indirect_locked(*ctx_, inode, first, max));
  }
  cache_.truncate_pages(*inode.as, page_floor(offset));  // pages a reader brought in meanwhile
  inode.d.size -= length;
  inode.datasync_dirty = true;
  return Status::ok();
}

// INSERT_RANGE: every block from offset on (past EOF too) moves up by
// length, leaving a hole; the size grows by length.
Status Filesystem::insert_locked(Inode& inode, uint64_t offset, uint64_t length) {
  const uint32_t bs = sb_.block_size();
  if (offset % bs || length % bs)
    return Status::error(EINVAL, "insert range: offset and length must be multiples of the block size");
  if (offset >= inode.d.size) return Status::error(EINVAL, "insert range: offset at or past EOF");
  if (length > max_file_size(bs) - inode.d.size)
    return Status::error(EFBIG, "insert range: the size would pass the maximum");
  const uint64_t first = offset / bs, n = length / bs, max = max_file_blocks(ctx_->ptrs);
  CARDFS_RETURN_IF_ERROR(settle_pages_from_locked(inode, offset));
  {
    MutexLock lock(inode.map_mu);
    CARDFS_ASSIGN_OR_RETURN(auto moving, mapped_blocks_locked(*ctx_, inode, first, max));
    if (!moving.empty() && moving.back() + n >= max)
      return Status::error(EFBIG, "insert range: blocks past EOF would pass the last pointer");
    CARDFS_RETURN_IF_ERROR(make_paths(*ctx_, inode, moving, int64_t(n), first));
    CARDFS_RETURN_IF_ERROR(move_pointers(*ctx_, inode, moving, int64_t(n)));
    CARDFS_RETURN_IF_ERROR(prune_indirect_locked(*ctx_, inode, first, first + n));
  }
  cache_.truncate_pages(*inode.as, page_floor(offset));  // pages a reader brought in meanwhile
  inode.d.size += length;
  inode.datasync_dirty = true;
  return Status::ok();
}

}  // namespace cardfs::fusefs
