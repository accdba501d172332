// Filesystem: file data — read, write, truncate, fallocate, fsync.
#include <sys/stat.h>

#include <vector>

#include "fusefs/block_map.h"
#include "fusefs/context.h"
#include "fusefs/filesystem.h"
#include "fusefs/groups.h"
#include "fusefs/inode.h"

namespace cardfs::fusefs {
namespace {

Status require_regular(const Inode& inode) {
  if (S_ISDIR(inode.d.mode)) return Status::error(EISDIR, "is a directory");
  if (!S_ISREG(inode.d.mode)) return Status::error(EINVAL, "not a regular file");
  return Status::ok();
}

}  // namespace

Result<size_t> Filesystem::buffered_read(Ino ino, cache::ReadaheadState* ra,
                                         const CacheRead& from_cache) {
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::optional<Handle> txn;  // atime: ends after the lock, as a Handle must
  std::unique_lock lock(inode->mu);
  if (atime_due_locked(*inode)) open_atime_handle(txn, lock);
  CARDFS_RETURN_IF_ERROR(require_regular(*inode));
  const uint64_t size = inode->d.size;
  if (ra) lock.unlock();  // the caller's own readahead state: no need to serialise
  CARDFS_ASSIGN_OR_RETURN(size_t n, from_cache(*inode->as, ra ? *ra : inode->ra, size));
  if (!lock.owns_lock()) lock.lock();
  if (txn) touch_atime_locked(*inode);  // else an update due since waits for the next read
  return n;
}

Result<size_t> Filesystem::read(Ino ino, uint64_t offset, std::span<std::byte> out,
                                cache::ReadaheadState* ra) {
  return buffered_read(ino, ra, [&](cache::AddressSpace& as, cache::ReadaheadState& state, uint64_t size) {
    return cache_.read(as, state, offset, out, size);
  });
}

Result<size_t> Filesystem::read_view(Ino ino, uint64_t offset, size_t len, cache::ReadView& view,
                                     cache::ReadaheadState* ra) {
  return buffered_read(ino, ra, [&](cache::AddressSpace& as, cache::ReadaheadState& state, uint64_t size) {
    return cache_.read_view(as, state, offset, len, size, view);
  });
}

// The inode's lock only if free: a holder may be a write waiting for
// write-back, and the read or write asked about would wait for it too.
template <typename Ask>
static bool may_wait(Filesystem& fs, Result<std::shared_ptr<Inode>> inode, Ask ask) {
  if (fs.commit_running()) return true;
  if (!inode.is_ok()) return false;  // answered at once with the error
  std::unique_lock lock((*inode)->mu, std::try_to_lock);
  if (!lock.owns_lock()) return true;
  if (!(*inode)->as || !S_ISREG((*inode)->d.mode)) return false;
  return ask(*(*inode)->as, (*inode)->d.size);
}

bool Filesystem::read_may_wait(Ino ino, uint64_t offset, size_t len) {
  return may_wait(*this, get_inode(ino), [&](cache::AddressSpace& as, uint64_t size) {
    return cache_.read_may_wait(as, offset, len, size);
  });
}

bool Filesystem::write_may_wait(Ino ino, uint64_t offset, size_t len) {
  return may_wait(*this, get_inode(ino), [&](cache::AddressSpace& as, uint64_t size) {
    return cache_.write_may_wait(as, offset, len, size);
  });
}

// Throttled once the write holds no lock and no journal handle: a pause
// under the inode's lock would hold up a stat of the file, and one under
// a handle the next commit.
bool Filesystem::inode_busy(Ino ino) {
  auto inode = get_inode(ino);
  if (!inode.is_ok()) return false;
  std::unique_lock lock((*inode)->mu, std::try_to_lock);
  return !lock.owns_lock();
}

Result<size_t> Filesystem::write(Ino ino, uint64_t offset, std::span<const std::byte> data) {
  auto n = write_through_cache(ino, offset, data, /*direct=*/false);
  if (!n.is_ok() && retry_after_commit(n.status()))
    n = write_through_cache(ino, offset, data, /*direct=*/false);
  cache_.throttle();
  return n;
}

Result<size_t> Filesystem::direct_write(Ino ino, uint64_t offset,
                                        std::span<const std::byte> data) {
  auto n = write_through_cache(ino, offset, data, /*direct=*/true);
  if (!n.is_ok() && retry_after_commit(n.status()))
    n = write_through_cache(ino, offset, data, /*direct=*/true);
  return n;
}

Result<size_t> Filesystem::direct_read(Ino ino, uint64_t offset, std::span<std::byte> out) {
  Handle txn(*this);  // atime
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  CARDFS_RETURN_IF_ERROR(require_regular(*inode));
  CARDFS_ASSIGN_OR_RETURN(size_t n, cache_.direct_read(*inode->as, offset, out, inode->d.size));
  touch_atime_locked(*inode);
  return n;
}

Result<size_t> Filesystem::write_through_cache(Ino ino, uint64_t offset,
                                               std::span<const std::byte> data, bool direct) {
  Handle txn(*this);
  CARDFS_RETURN_IF_ERROR(writable());
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  CARDFS_RETURN_IF_ERROR(require_regular(*inode));
  const uint64_t max = max_file_size(sb_.block_size());
  if (offset >= max && !data.empty()) return Status::error(EFBIG, "offset beyond the maximum file size");
  if (data.size() > max - offset) data = data.first(max - offset);
  if (data.empty()) return size_t(0);
  uint64_t map_before;  // allocating or unmarking changes what fdatasync must write
  {
    MutexLock map_lock(inode->map_mu);
    map_before = inode->map_version;
  }
  auto n = direct ? cache_.direct_write(*inode->as, offset, data)
                  : cache_.write(*inode->as, offset, data, inode->d.size, /*throttle=*/false);
  size_t written = n.is_ok() ? *n : 0;
  const Timespec t = now();
  // The size grows by what was written, never to the offset of a write
  // that wrote nothing.
  if (written > 0 && offset + written > inode->d.size) {
    inode->d.size = offset + written;
    inode->datasync_dirty = true;
  }
  if (written < data.size()) CARDFS_RETURN_IF_ERROR(drop_failed_allocation_locked(*inode, offset + written));
  bool remapped = false;
  {
    MutexLock map_lock(inode->map_mu);  // write-back's GetBlock may map meanwhile
    remapped = inode->map_version != map_before;
  }
  if (remapped) inode->datasync_dirty = true;
  if (remapped && !direct) note_ordered_locked(*inode);
  if (written) inode->d.mtime = inode->d.ctime = t;
  CARDFS_RETURN_IF_ERROR(store(*inode));  // blocks may have been allocated even on error
  if (!n.is_ok()) return n.status();
  return written;
}

// A write stopped at byte pos (the cache stops at the start of the block it
// could not map): indirect blocks allocated on the way to that block, which
// is still a hole, point at nothing and go back to the free space, so the
// block count and map hold exactly what was written.
Status Filesystem::drop_failed_allocation_locked(Inode& inode, uint64_t pos) {
  const uint64_t fb = pos / sb_.block_size();
  MutexLock lock(inode.map_mu);
  if (fb >= max_file_blocks(ctx_->ptrs)) return Status::ok();
  CARDFS_ASSIGN_OR_RETURN(Mapped m, map_block_locked(*ctx_, inode, fb, MapMode::kLookup));
  if (m.block) return Status::ok();  // failed for another reason: nothing was allocated for it
  return free_blocks_locked(*ctx_, inode, fb, fb + 1);
}

// Writes zeros over [offset, end) of written blocks through the cache
// (holes stay holes, unwritten blocks read as zeros already).
Status Filesystem::zero_range_locked(Inode& inode, uint64_t offset, uint64_t end) {
  const uint32_t bs = sb_.block_size();
  std::vector<std::byte> zeros(bs);
  while (offset < end) {
    uint64_t fb = offset / bs;
    uint64_t stop = std::min<uint64_t>(end, (fb + 1) * bs);
    uint64_t block;
    {
      MutexLock lock(inode.map_mu);
      CARDFS_ASSIGN_OR_RETURN(Mapped m, map_block_locked(*ctx_, inode, fb, false));
      block = m.unwritten ? 0 : m.block;
    }
    if (block) {
      CARDFS_ASSIGN_OR_RETURN(size_t n, cache_.write(*inode.as, offset,
                                                     std::span(zeros).first(stop - offset),
                                                     inode.d.size));
      if (n != stop - offset) return Status::error(EIO, "short write while zeroing");
    }
    offset = stop;
  }
  return Status::ok();
}

Status Filesystem::truncate_locked(Inode& inode, uint64_t size) {
  CARDFS_RETURN_IF_ERROR(require_regular(inode));
  if (size > max_file_size(sb_.block_size())) return Status::error(EFBIG, "size beyond the maximum");
  const uint64_t old = inode.d.size;
  if (size == old) return Status::ok();
  const uint32_t bs = sb_.block_size();
  if (size < old) {
    // The block holding the new end keeps no stale bytes past it.
    if (size % bs) CARDFS_RETURN_IF_ERROR(zero_range_locked(inode, size, std::min(old, (size / bs + 1) * bs)));
    cache_.truncate_pages(*inode.as, size);
    MutexLock lock(inode.map_mu);
    CARDFS_RETURN_IF_ERROR(free_blocks_locked(*ctx_, inode, (size + bs - 1) / bs, max_file_blocks(ctx_->ptrs)));
  }
  inode.d.size = size;
  inode.d.mtime = inode.d.ctime = now();
  inode.datasync_dirty = true;
  return Status::ok();
}

Status Filesystem::truncate(Ino ino, uint64_t size) {
  SetAttr sa;
  sa.size = size;
  return setattr(ino, sa).status();
}

Status Filesystem::punch_locked(Inode& inode, uint64_t offset, uint64_t length) {
  const uint64_t end = std::min(inode.d.size, offset + length);
  if (offset >= end) return Status::ok();
  const uint32_t bs = sb_.block_size();
  const uint64_t first_full = (offset + bs - 1) / bs, end_full = end / bs;
  if (first_full > end_full) {
    CARDFS_RETURN_IF_ERROR(zero_range_locked(inode, offset, end));  // inside one block
  } else {
    CARDFS_RETURN_IF_ERROR(zero_range_locked(inode, offset, first_full * bs));
    CARDFS_RETURN_IF_ERROR(zero_range_locked(inode, end_full * bs, end));
  }
  cache_.punch_pages(*inode.as, offset, end - offset);
  if (first_full < end_full) {
    MutexLock lock(inode.map_mu);
    CARDFS_RETURN_IF_ERROR(free_blocks_locked(*ctx_, inode, first_full, end_full));
  }
  return Status::ok();
}

// File blocks of [first, end) that are holes.
Result<uint64_t> Filesystem::count_holes_locked(Inode& inode, uint64_t first, uint64_t end) {
  uint64_t holes = 0;
  for (uint64_t fb = first; fb < end; ++fb) {
    MutexLock lock(inode.map_mu);
    CARDFS_ASSIGN_OR_RETURN(Mapped m, map_block_locked(*ctx_, inode, fb, MapMode::kLookup));
    holes += m.block == 0;
  }
  return holes;
}

// Maps every hole of [offset, offset + length) to an unwritten block: no
// data is written, reads see zeros. ENOSPC is checked up front (the holes
// against the free blocks); if the indirect blocks still run out of space, the blocks
// allocated so far stay (counted in st_blocks, freed by truncate or unlink,
// as ext4 leaves them) and the size is not changed.
Status Filesystem::allocate_locked(Inode& inode, uint64_t offset, uint64_t length, bool keep_size) {
  const uint32_t bs = sb_.block_size();
  const uint64_t end = offset + length;
  if (end > max_file_size(bs) || end < offset) return Status::error(EFBIG, "beyond the maximum file size");
  CARDFS_RETURN_IF_ERROR(enable_unwritten());
  const uint64_t first_fb = offset / bs, end_fb = (end + bs - 1) / bs;
  CARDFS_ASSIGN_OR_RETURN(uint64_t holes, count_holes_locked(inode, first_fb, end_fb));
  if (holes > groups_->free_blocks()) return Status::error(ENOSPC, "fallocate: not enough free blocks");
  for (uint64_t fb = first_fb; fb < end_fb; ++fb) {
    MutexLock lock(inode.map_mu);
    CARDFS_RETURN_IF_ERROR(map_block_locked(*ctx_, inode, fb, MapMode::kPreallocate).status());
  }
  if (!keep_size && end > inode.d.size) inode.d.size = end;
  inode.datasync_dirty = true;
  return Status::ok();
}

Status Filesystem::fallocate(Ino ino, int mode, uint64_t offset, uint64_t length) {
  Status st = fallocate_once(ino, mode, offset, length);
  if (retry_after_commit(st)) st = fallocate_once(ino, mode, offset, length);
  return st;
}

Status Filesystem::fallocate_once(Ino ino, int mode, uint64_t offset, uint64_t length) {
  Handle txn(*this);
  CARDFS_RETURN_IF_ERROR(writable());
  if (length == 0) return Status::error(EINVAL, "fallocate: zero length");
  CARDFS_RETURN_IF_ERROR(check_fallocate_mode(mode));
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  if (S_ISDIR(inode->d.mode)) return Status::error(EISDIR, "is a directory");
  if (!S_ISREG(inode->d.mode)) return Status::error(ENODEV, "not a regular file");
  Status st = fallocate_locked(*inode, mode, offset, length);  // fs_fallocate.cpp
  if (st.code() == EINVAL || st.code() == EFBIG) return st;    // refused: nothing changed
  inode->d.mtime = inode->d.ctime = now();
  CARDFS_RETURN_IF_ERROR(store(*inode));
  return st;
}

Status Filesystem::fsync(Ino ino, bool datasync) {
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  if (journal_log_) return fsync_journaled(*inode, datasync);
  std::lock_guard lock(inode->mu);
  // fdatasync still needs the metadata that finds the data (size, block map).
  const bool full = !datasync || inode->datasync_dirty;
  if (full && !opts_.read_only) CARDFS_RETURN_IF_ERROR(flush_metadata());
  if (inode->as) {
    CARDFS_RETURN_IF_ERROR(cache_.fsync(*inode->as, !full));
  } else {
    CARDFS_RETURN_IF_ERROR(cache_.sync_all());  // directories and others: their blocks are metadata
  }
  inode->datasync_dirty = false;
  return Status::ok();
}

}  // namespace cardfs::fusefs
