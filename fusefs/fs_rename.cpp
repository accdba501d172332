// Filesystem::rename_locked: rename, RENAME_NOREPLACE and RENAME_EXCHANGE.
#include <sys/stat.h>

#include <algorithm>

#include "fusefs/context.h"
#include "fusefs/directory.h"
#include "fusefs/filesystem.h"
#include "fusefs/inode.h"

namespace cardfs::fusefs {
namespace {

bool contains(const std::vector<uint32_t>& v, uint32_t x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

// Both directories are locked (once if they are the same); rename_mu_ held.
Status Filesystem::rename_locked(Inode& d1, std::string_view n1, Inode& d2, std::string_view n2,
                                 uint32_t flags, const std::vector<uint32_t>& chain1,
                                 const std::vector<uint32_t>& chain2) {
  for (Inode* d : {&d1, &d2}) {
    if (!S_ISDIR(d->d.mode)) return Status::error(ENOTDIR, "not a directory");
    if (d->d.links_count == 0) return Status::error(ENOENT, "directory was removed");
  }
  Directory dir1 = dir_of(d1), dir2 = dir_of(d2);
  CARDFS_ASSIGN_OR_RETURN(auto src, dir1.find(n1));
  if (!src) return Status::error(ENOENT, "no such entry");
  CARDFS_ASSIGN_OR_RETURN(auto dst, dir2.find(n2));
  const bool exchange = flags & kRenameExchange;
  if (exchange && !dst) return Status::error(ENOENT, "exchange target missing");
  if (dst && (flags & kRenameNoReplace)) return Status::error(EEXIST, "target exists");
  if (dst && dst->ino == src->ino) return Status::ok();  // two links to one inode
  if (contains(chain2, src->ino))
    return Status::error(EINVAL, "cannot move a directory into itself");
  if (dst && contains(chain1, dst->ino))
    return Status::error(exchange ? EINVAL : ENOTEMPTY, "target is an ancestor of the source");

  CARDFS_ASSIGN_OR_RETURN(auto sin, get_inode(src->ino));
  std::shared_ptr<Inode> din;
  if (dst) {
    CARDFS_ASSIGN_OR_RETURN(din, get_inode(dst->ino));
  }
  // Children after both parents, by inode number.
  std::unique_lock<std::mutex> la, lb;
  Inode* first = sin.get();
  Inode* second = din.get();
  if (second && second->ino < first->ino) std::swap(first, second);
  la = std::unique_lock(first->mu);
  if (second) lb = std::unique_lock(second->mu);

  const bool src_dir = S_ISDIR(sin->d.mode);
  const bool dst_dir = din && S_ISDIR(din->d.mode);
  const bool moves = &d1 != &d2;
  const uint8_t src_type = file_type_from_mode(sin->d.mode);
  const Timespec t = now();

  if (exchange) {
    if (moves && ((src_dir && !dst_dir && d2.d.links_count >= kMaxLinks) ||
                  (dst_dir && !src_dir && d1.d.links_count >= kMaxLinks)))
      return Status::error(EMLINK, "too many subdirectories");
    CARDFS_RETURN_IF_ERROR(dir1.retarget(*src, din->ino, file_type_from_mode(din->d.mode)));
    CARDFS_RETURN_IF_ERROR(dir2.retarget(*dst, sin->ino, src_type));
    if (moves && src_dir) {
      CARDFS_RETURN_IF_ERROR(dir_of(*sin).set_parent(d2.ino));
      --d1.d.links_count;
      ++d2.d.links_count;
    }
    if (moves && dst_dir) {
      CARDFS_RETURN_IF_ERROR(dir_of(*din).set_parent(d1.ino));
      --d2.d.links_count;
      ++d1.d.links_count;
    }
    din->d.ctime = t;
    CARDFS_RETURN_IF_ERROR(store(*din));
  } else {
    if (din) {
      if (src_dir && !dst_dir) return Status::error(ENOTDIR, "target is not a directory");
      if (!src_dir && dst_dir) return Status::error(EISDIR, "target is a directory");
      if (dst_dir) {
        CARDFS_ASSIGN_OR_RETURN(bool empty, dir_of(*din).is_empty());
        if (!empty) return Status::error(ENOTEMPTY, "target directory not empty");
      }
    } else if (src_dir && moves && d2.d.links_count >= kMaxLinks) {
      return Status::error(EMLINK, "too many subdirectories");
    }
    if (din) {
      CARDFS_RETURN_IF_ERROR(dir2.retarget(*dst, sin->ino, src_type));
      if (dst_dir) {
        din->d.links_count = 0;
        --d2.d.links_count;
      } else if (din->d.links_count) {
        --din->d.links_count;
      }
      din->d.ctime = t;
      CARDFS_RETURN_IF_ERROR(store(*din));
    } else {
      CARDFS_RETURN_IF_ERROR(dir2.add(n2, sin->ino, src_type));
    }
    // Adding may have split the leaf holding the source entry: find it again.
    CARDFS_ASSIGN_OR_RETURN(auto again, dir1.find(n1));
    if (!again || again->ino != sin->ino)
      return ctx_->corrupt("rename: source entry moved unexpectedly");
    CARDFS_RETURN_IF_ERROR(dir1.remove(*again));
    if (src_dir && moves) {
      CARDFS_RETURN_IF_ERROR(dir_of(*sin).set_parent(d2.ino));
      --d1.d.links_count;
      ++d2.d.links_count;
    }
  }
  sin->d.ctime = t;
  CARDFS_RETURN_IF_ERROR(store(*sin));
  d1.d.mtime = d1.d.ctime = d2.d.mtime = d2.d.ctime = t;
  CARDFS_RETURN_IF_ERROR(store(d1));
  if (moves) CARDFS_RETURN_IF_ERROR(store(d2));
  if (din) maybe_free_locked(*din);
  return Status::ok();
}

}  // namespace cardfs::fusefs
