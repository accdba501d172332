// Filesystem: names — lookup, create, link, unlink, rmdir, rename, readdir.
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "fusefs/block_map.h"
#include "fusefs/context.h"
#include "fusefs/directory.h"
#include "fusefs/filesystem.h"
#include "fusefs/groups.h"
#include "fusefs/inode.h"

namespace cardfs::fusefs {
namespace {

Status check_name(std::string_view name) {
  if (name.empty()) return Status::error(ENOENT, "empty name");
  if (name.size() > kMaxNameLen)
    return Status::error(ENAMETOOLONG, "name longer than 255 bytes");
  if (name.find('/') != name.npos || name.find('\0') != name.npos)
    return Status::error(EINVAL, "name contains '/' or NUL");
  return Status::ok();
}

bool is_dot(std::string_view name) { return name == "." || name == ".."; }

Status require_live_dir(const Inode& dir) {
  if (!S_ISDIR(dir.d.mode)) return Status::error(ENOTDIR, "not a directory");
  if (dir.d.links_count == 0 || dir.freed) return Status::error(ENOENT, "directory was removed");
  return Status::ok();
}

}  // namespace

Directory Filesystem::dir_of(Inode& inode) {
  return Directory(*ctx_, inode, hash_, minor_hash_, dir_index_, &dir_blocks_read_);
}

struct Filesystem::NameChange {
  std::shared_ptr<Inode> dir;
  InodeLocks locks;
  std::optional<DirHit> hit;
  bool want_slot = false;
  DirSlot slot;  // with want_slot: where an absent name goes (Directory::find)
};

Result<Filesystem::NameChange> Filesystem::begin_name_change(Ino parent, std::string_view name,
                                                             int dot_errno, bool want_slot) {
  CARDFS_RETURN_IF_ERROR(writable());
  CARDFS_RETURN_IF_ERROR(check_name(name));
  if (is_dot(name)) return Status::error(dot_errno, dot_errno == EEXIST ? "name exists" : "is a directory");
  NameChange c;
  c.want_slot = want_slot;
  CARDFS_ASSIGN_OR_RETURN(c.dir, get_inode(parent));
  c.locks = InodeLocks({c.dir});
  CARDFS_RETURN_IF_ERROR(look_again(c, name));
  return c;
}

Status Filesystem::look_again(NameChange& c, std::string_view name) {
  CARDFS_RETURN_IF_ERROR(require_live_dir(*c.dir));
  CARDFS_ASSIGN_OR_RETURN(c.hit, dir_of(*c.dir).find(name, c.want_slot ? &c.slot : nullptr));
  return Status::ok();
}

// The inode `name` names, locked after its directory. When the lock order
// puts it first (a subdirectory with a smaller number), both are taken
// again in order and the name looked up again, until it holds still.
Result<std::shared_ptr<Inode>> Filesystem::lock_named(NameChange& c, Ino parent,
                                                      std::string_view name, int dot_errno) {
  for (;;) {
    CARDFS_ASSIGN_OR_RETURN(c, begin_name_change(parent, name, dot_errno));
    if (!c.hit) return Status::error(ENOENT, "no such entry");
    CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(c.hit->ino));
    if (c.locks.add({inode})) return inode;
    CARDFS_RETURN_IF_ERROR(look_again(c, name));
    if (!c.hit) return Status::error(ENOENT, "no such entry");
    if (c.hit->ino == inode->ino) return inode;
  }
}

// The entry goes, then the directory's and the victim's times and counts
// (a removed directory loses its link from the parent and all of its own).
Status Filesystem::remove_entry_locked(Inode& dirp, const DirHit& hit, Inode& victim) {
  CARDFS_RETURN_IF_ERROR(dir_of(dirp).remove(hit));
  const Timespec t = now();
  const bool is_dir = S_ISDIR(victim.d.mode);
  if (is_dir && dirp.d.links_count > 2) --dirp.d.links_count;
  dirp.d.mtime = dirp.d.ctime = t;
  CARDFS_RETURN_IF_ERROR(store(dirp));
  if (is_dir) victim.d.links_count = 0;
  else if (victim.d.links_count) --victim.d.links_count;
  victim.d.ctime = t;
  // The last link: maybe_free_locked writes the record once (with its
  // orphan link, its blocks freed) or erases it.
  if (victim.d.links_count > 0) CARDFS_RETURN_IF_ERROR(store(victim));
  maybe_free_locked(victim, /*store_due=*/victim.d.links_count == 0);
  return Status::ok();
}

Result<Attr> Filesystem::lookup(Ino parent, std::string_view name) {
  CARDFS_RETURN_IF_ERROR(check_name(name));
  ++lookups_;
  CARDFS_ASSIGN_OR_RETURN(auto dir, get_inode(parent));
  std::unique_lock lock(dir->mu);
  CARDFS_RETURN_IF_ERROR(require_live_dir(*dir));
  uint32_t child = dir->ino;
  if (name == "..") {
    CARDFS_ASSIGN_OR_RETURN(child, dir_of(*dir).parent());
  } else if (name != ".") {
    CARDFS_ASSIGN_OR_RETURN(auto hit, dir_of(*dir).find(name));
    if (!hit) return Status::error(ENOENT, "no such entry");
    child = hit->ino;
  }
  if (child == dir->ino) {
    ++dir->lookups;
    return attr_of(*dir);
  }
  auto inode = get_inode(child);
  if (!inode.is_ok())
    return inode.status().code() == ENOENT
               ? ctx_->corrupt("directory " + std::to_string(dir->ino) + " names free inode " +
                               std::to_string(child))
               : inode.status();
  // A child that comes first in the lock order (a directory with a smaller
  // number, or "..") is locked alone: a lookup that races with the
  // entry's removal may see the inode either way, never a freed one.
  if (!lock_before(*dir, **inode)) lock.unlock();
  std::lock_guard child_lock((*inode)->mu);
  if ((*inode)->freed || (*inode)->d.links_count == 0)
    return Status::error(ENOENT, "inode removed");
  ++(*inode)->lookups;
  return attr_of(**inode);
}

Status Filesystem::init_new_inode_locked(Inode& inode, uint32_t parent, std::string_view target) {
  if (S_ISDIR(inode.d.mode)) CARDFS_RETURN_IF_ERROR(Directory::init(*ctx_, inode, parent));
  if (S_ISLNK(inode.d.mode)) {
    inode.d.size = target.size();
    if (target.size() <= kInlineSymlinkMax) {
      set_inline_symlink_target(inode.d, target);
    } else {
      Mapped m;
      {
        MutexLock lock(inode.map_mu);
        CARDFS_ASSIGN_OR_RETURN(m, map_block_locked(*ctx_, inode, 0, true));
      }
      CARDFS_ASSIGN_OR_RETURN(auto buf, cache_.bget_zeroed(m.block));
      buf.lock();
      std::memcpy(buf.data().data(), target.data(), target.size());
      buf.unlock();
      buf.mark_dirty();
    }
  }
  return store(inode);
}

DiskInode Filesystem::new_disk_inode(uint32_t mode, uint32_t rdev, Creds c) {
  DiskInode d;
  d.mode = uint16_t(mode);
  d.links_count = S_ISDIR(mode) ? 2 : 1;
  d.uid = c.uid;
  d.gid = c.gid;
  d.rdev = rdev;
  d.atime = d.mtime = d.ctime = d.crtime = now();
  d.generation = next_generation_++;
  return d;
}

Result<Attr> Filesystem::create(Ino parent, std::string_view name, uint32_t mode, uint32_t rdev,
                                std::string_view target, Creds c) {
  auto a = create_once(parent, name, mode, rdev, target, c);
  if (!a.is_ok() && retry_after_commit(a.status()))
    a = create_once(parent, name, mode, rdev, target, c);
  return a;
}

Result<Attr> Filesystem::create_once(Ino parent, std::string_view name, uint32_t mode,
                                     uint32_t rdev, std::string_view target, Creds c) {
  Handle txn(*this);
  // The check finds where the name goes too: one walk of its leaf, not two.
  CARDFS_ASSIGN_OR_RETURN(NameChange nc, begin_name_change(parent, name, EEXIST, /*want_slot=*/true));
  if (nc.hit) return Status::error(EEXIST, "name exists");
  Inode* dirp = nc.dir.get();
  Directory dir = dir_of(*dirp);
  const bool is_dir = S_ISDIR(mode);
  if (is_dir && dirp->d.links_count >= kMaxLinks)
    return Status::error(EMLINK, "too many subdirectories");
  CARDFS_ASSIGN_OR_RETURN(uint32_t ino, groups_->alloc_inode(dirp->ino, is_dir));
  const DiskInode d = new_disk_inode(mode, rdev, c);
  const Timespec t = d.ctime;
  auto inode = itable_->insert_new(ino, d);
  // Outside the lock order: nothing else can reach a fresh inode before
  // its entry exists and the parent is unlocked, so try_lock succeeds and
  // never waits (a failure would only mean waiting for a holder of no
  // other inode lock).
  std::unique_lock child_lock(inode->mu, std::try_to_lock);
  if (!child_lock.owns_lock()) child_lock.lock();
  Status st = init_new_inode_locked(*inode, dirp->ino, target);
  if (st.is_ok()) st = dir.add(name, ino, file_type_from_mode(mode), &nc.slot);
  if (!st.is_ok()) {
    inode->d.links_count = 0;
    (void)free_inode_locked(*inode);
    return st;
  }
  if (is_dir) ++dirp->d.links_count;
  dirp->d.mtime = dirp->d.ctime = t;
  CARDFS_RETURN_IF_ERROR(store(*dirp));
  inode->lookups = 1;
  if (S_ISREG(mode)) attach_address_space(inode);
  trim_inodes();
  return attr_of(*inode);
}

Result<Attr> Filesystem::mknod(Ino parent, std::string_view name, uint32_t mode, uint32_t rdev,
                               Creds c) {
  switch (mode & S_IFMT) {
    case S_IFREG: case S_IFCHR: case S_IFBLK: case S_IFIFO: case S_IFSOCK: break;
    default: return Status::error(EINVAL, "mknod: bad file type");
  }
  return create(parent, name, mode & (S_IFMT | 07777), rdev, {}, c);
}

Result<Attr> Filesystem::mkdir(Ino parent, std::string_view name, uint32_t mode, Creds c) {
  return create(parent, name, S_IFDIR | (mode & 07777), 0, {}, c);
}

Result<Attr> Filesystem::symlink(Ino parent, std::string_view name, std::string_view target,
                                 Creds c) {
  if (target.empty()) return Status::error(ENOENT, "empty symlink target");
  if (target.size() >= std::min<size_t>(sb_.block_size(), 4096))
    return Status::error(ENAMETOOLONG, "symlink target too long");
  return create(parent, name, S_IFLNK | 0777, 0, target, c);
}

Result<std::string> Filesystem::readlink(Ino ino) {
  Handle txn(*this);  // atime
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  if (!S_ISLNK(inode->d.mode)) return Status::error(EINVAL, "not a symlink");
  const uint64_t size = inode->d.size;
  if (size <= kInlineSymlinkMax) return inline_symlink_target(inode->d);
  if (size >= sb_.block_size())
    return ctx_->corrupt("symlink " + std::to_string(ino) + ": bad size");
  uint64_t block;
  {
    MutexLock map_lock(inode->map_mu);
    CARDFS_ASSIGN_OR_RETURN(Mapped m, map_block_locked(*ctx_, *inode, 0, false));
    block = m.block;
  }
  if (!block) return ctx_->corrupt("symlink " + std::to_string(ino) + " has no block");
  CARDFS_ASSIGN_OR_RETURN(auto buf, cache_.bread(block));
  buf.lock();
  std::string target(reinterpret_cast<const char*>(buf.data().data()), size);
  buf.unlock();
  touch_atime_locked(*inode);
  return target;
}

Result<Attr> Filesystem::link(Ino ino, Ino new_parent, std::string_view new_name) {
  Handle txn(*this);
  CARDFS_ASSIGN_OR_RETURN(NameChange nc, begin_name_change(new_parent, new_name, EEXIST));
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  if (inode->type == S_IFDIR) return Status::error(EPERM, "hard link to a directory");
  if (nc.hit) return Status::error(EEXIST, "name exists");
  // A non-directory comes after its directory in the lock order, so this
  // normally just takes it; look_again only if it ever had to relock.
  if (!nc.locks.add({inode})) {
    CARDFS_RETURN_IF_ERROR(look_again(nc, new_name));
    if (nc.hit) return Status::error(EEXIST, "name exists");
  }
  Inode* dirp = nc.dir.get();
  Directory dir = dir_of(*dirp);
  if (inode->freed || inode->d.links_count == 0) return Status::error(ENOENT, "inode removed");
  if (inode->d.links_count >= kMaxLinks) return Status::error(EMLINK, "too many links");
  CARDFS_RETURN_IF_ERROR(dir.add(new_name, inode->ino, file_type_from_mode(inode->d.mode)));
  const Timespec t = now();
  ++inode->d.links_count;
  inode->d.ctime = t;
  ++inode->lookups;
  CARDFS_RETURN_IF_ERROR(store(*inode));
  dirp->d.mtime = dirp->d.ctime = t;
  CARDFS_RETURN_IF_ERROR(store(*dirp));
  return attr_of(*inode);
}

Status Filesystem::unlink(Ino parent, std::string_view name) {
  Handle txn(*this);
  NameChange nc;
  CARDFS_ASSIGN_OR_RETURN(auto inode, lock_named(nc, parent, name, EISDIR));
  if (S_ISDIR(inode->d.mode)) return Status::error(EISDIR, "is a directory");
  return remove_entry_locked(*nc.dir, *nc.hit, *inode);
}

Status Filesystem::rmdir(Ino parent, std::string_view name) {
  Handle txn(*this);
  CARDFS_RETURN_IF_ERROR(writable());
  CARDFS_RETURN_IF_ERROR(check_name(name));
  if (name == ".") return Status::error(EINVAL, "cannot remove '.'");
  if (name == "..") return Status::error(ENOTEMPTY, "cannot remove '..'");
  NameChange nc;
  CARDFS_ASSIGN_OR_RETURN(auto inode, lock_named(nc, parent, name, EISDIR));
  if (!S_ISDIR(inode->d.mode)) return Status::error(ENOTDIR, "not a directory");
  CARDFS_ASSIGN_OR_RETURN(bool empty, dir_of(*inode).is_empty());
  if (!empty) return Status::error(ENOTEMPTY, "directory not empty");
  return remove_entry_locked(*nc.dir, *nc.hit, *inode);
}

Status Filesystem::readdir(Ino ino, uint64_t cookie,
                           const std::function<bool(const DirEntry&)>& fill) {
  CARDFS_ASSIGN_OR_RETURN(auto dirp, get_inode(ino));
  std::optional<Handle> txn;  // atime: ends after the lock, as a Handle must
  std::unique_lock lock(dirp->mu);
  if (atime_due_locked(*dirp)) open_atime_handle(txn, lock);
  if (!S_ISDIR(dirp->d.mode)) return Status::error(ENOTDIR, "not a directory");
  CARDFS_RETURN_IF_ERROR(dir_of(*dirp).list(cookie, [&](const DirListEntry& e) {
    return fill(DirEntry{e.name, e.ino, e.type, e.cookie, e.next_cookie});
  }));
  if (txn) touch_atime_locked(*dirp);
  return Status::ok();
}

Result<uint32_t> Filesystem::parent_of(uint32_t dir_ino) {
  CARDFS_ASSIGN_OR_RETURN(auto dirp, get_inode(dir_ino));
  std::lock_guard lock(dirp->mu);
  CARDFS_RETURN_IF_ERROR(require_live_dir(*dirp));
  return dir_of(*dirp).parent();
}

// dir_ino, its parent, ..., the root. Stable while rename_mu_ is held.
Result<std::vector<uint32_t>> Filesystem::ancestors(uint32_t dir_ino) {
  std::vector<uint32_t> chain{dir_ino};
  while (chain.back() != kRootIno) {
    if (chain.size() > sb_.inodes_count) return ctx_->corrupt("directory loop above " + std::to_string(dir_ino));
    CARDFS_ASSIGN_OR_RETURN(uint32_t up, parent_of(chain.back()));
    chain.push_back(up);
  }
  return chain;
}

Status Filesystem::rename(Ino parent, std::string_view name, Ino new_parent,
                          std::string_view new_name, uint32_t flags, Creds whiteout_owner) {
  Handle txn(*this);
  CARDFS_RETURN_IF_ERROR(writable());
  // As Linux: an exchange takes neither of the others.
  if ((flags & ~(kRenameNoReplace | kRenameExchange | kRenameWhiteout)) ||
      ((flags & kRenameExchange) && (flags & (kRenameNoReplace | kRenameWhiteout))))
    return Status::error(EINVAL, "bad rename flags");
  CARDFS_RETURN_IF_ERROR(check_name(name));
  CARDFS_RETURN_IF_ERROR(check_name(new_name));
  if (is_dot(name) || is_dot(new_name)) return Status::error(EINVAL, "cannot rename '.' or '..'");
  return rename_checked(parent, name, new_parent, new_name, flags, whiteout_owner);
}

}  // namespace cardfs::fusefs
