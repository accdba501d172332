// Filesystem::rename: rename, RENAME_NOREPLACE, RENAME_EXCHANGE and
// RENAME_WHITEOUT.
#include <sys/stat.h>

#include <algorithm>
#include <optional>

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

struct Filesystem::RenameSides {
  std::optional<DirHit> src, dst;
  std::shared_ptr<Inode> sin, din;  // the inodes they name (din null without dst)
  Creds whiteout_owner;
};

// Both directories are locked: what the two names hold now.
Result<Filesystem::RenameSides> Filesystem::rename_sides(Inode& d1, std::string_view n1,
                                                         Inode& d2, std::string_view n2) {
  for (Inode* d : {&d1, &d2}) {
    if (!S_ISDIR(d->d.mode)) return Status::error(ENOTDIR, "not a directory");
    if (d->d.links_count == 0) return Status::error(ENOENT, "directory was removed");
  }
  RenameSides s;
  CARDFS_ASSIGN_OR_RETURN(s.src, dir_of(d1).find(n1));
  if (!s.src) return Status::error(ENOENT, "no such entry");
  CARDFS_ASSIGN_OR_RETURN(s.dst, dir_of(d2).find(n2));
  CARDFS_ASSIGN_OR_RETURN(s.sin, get_inode(s.src->ino));
  if (s.dst) {
    CARDFS_ASSIGN_OR_RETURN(s.din, get_inode(s.dst->ino));
  }
  return s;
}

// The names are legal (rename() checked them).
Status Filesystem::rename_checked(Ino parent, std::string_view name, Ino new_parent,
                                  std::string_view new_name, uint32_t flags,
                                  Creds whiteout_owner) {
  std::lock_guard rename_lock(rename_mu_);
  if (parent > sb_.inodes_count || new_parent > sb_.inodes_count)
    return Status::error(ENOENT, "no such inode");
  CARDFS_ASSIGN_OR_RETURN(auto chain1, ancestors(uint32_t(parent)));
  CARDFS_ASSIGN_OR_RETURN(auto chain2, ancestors(uint32_t(new_parent)));
  CARDFS_ASSIGN_OR_RETURN(auto d1, get_inode(parent));
  CARDFS_ASSIGN_OR_RETURN(auto d2, get_inode(new_parent));
  // Both directories, then the two inodes their names hold, all in the
  // lock order. When a child sorts before a parent (a subdirectory with a
  // smaller number) everything is taken again in order and the names looked
  // up again, until they hold still.
  for (;;) {
    InodeLocks locks({d1, d2});
    CARDFS_ASSIGN_OR_RETURN(RenameSides s, rename_sides(*d1, name, *d2, new_name));
    s.whiteout_owner = whiteout_owner;
    if (locks.add({s.sin, s.din}))
      return rename_locked(*d1, name, *d2, new_name, flags, chain1, chain2, s);
    CARDFS_ASSIGN_OR_RETURN(RenameSides again, rename_sides(*d1, name, *d2, new_name));
    again.whiteout_owner = whiteout_owner;
    if (again.sin == s.sin && again.din == s.din)
      return rename_locked(*d1, name, *d2, new_name, flags, chain1, chain2, again);
  }
}

// Both directories and both inodes are locked; rename_mu_ held.
Status Filesystem::rename_locked(Inode& d1, std::string_view n1, Inode& d2, std::string_view n2,
                                 uint32_t flags, const std::vector<uint32_t>& chain1,
                                 const std::vector<uint32_t>& chain2, const RenameSides& s) {
  Directory dir1 = dir_of(d1), dir2 = dir_of(d2);
  const std::optional<DirHit>& src = s.src;
  const std::optional<DirHit>& dst = s.dst;
  const std::shared_ptr<Inode>& sin = s.sin;
  const std::shared_ptr<Inode>& din = s.din;
  const bool exchange = flags & kRenameExchange;
  if (exchange && !dst) return Status::error(ENOENT, "exchange target missing");
  if (dst && (flags & kRenameNoReplace)) return Status::error(EEXIST, "target exists");
  if (dst && dst->ino == src->ino) return Status::ok();  // two links to one inode
  if (contains(chain2, src->ino))
    return Status::error(EINVAL, "cannot move a directory into itself");
  if (dst && contains(chain1, dst->ino))
    return Status::error(exchange ? EINVAL : ENOTEMPTY, "target is an ancestor of the source");

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
    // Made before any entry changes, so running out of inodes changes nothing.
    std::shared_ptr<Inode> whiteout;
    if (flags & kRenameWhiteout) {
      CARDFS_ASSIGN_OR_RETURN(whiteout, new_whiteout(d1, s.whiteout_owner));
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
    // The whiteout takes the source's entry in place: no moment without one.
    CARDFS_RETURN_IF_ERROR(whiteout ? dir1.retarget(*again, whiteout->ino, file_type_from_mode(S_IFCHR))
                                    : dir1.remove(*again));
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

// RENAME_WHITEOUT's character device 0/0. Outside the lock order, as in
// create: nothing else reaches the fresh inode before its entry exists.
Result<std::shared_ptr<Inode>> Filesystem::new_whiteout(Inode& dir, Creds c) {
  CARDFS_ASSIGN_OR_RETURN(uint32_t ino, groups_->alloc_inode(dir.ino, false));
  auto inode = itable_->insert_new(ino, new_disk_inode(S_IFCHR, 0, c));
  std::unique_lock lock(inode->mu, std::try_to_lock);
  if (!lock.owns_lock()) lock.lock();
  if (Status st = store(*inode); !st.is_ok()) {
    inode->d.links_count = 0;
    (void)free_inode_locked(*inode);
    return st;
  }
  return inode;
}

}  // namespace cardfs::fusefs
