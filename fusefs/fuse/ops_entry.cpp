// Names and attributes: lookup/forget, getattr/setattr, the operations
// that create, link, rename and remove names, readlink and statfs.
#include <sys/statvfs.h>

#include <vector>

#include "fusefs/fuse/fuse_fs.h"
#include "fusefs/fuse/waiting_ops.h"

namespace cardfs::fuse {

using fusefs::Attr;

// Owner of a new inode and its final mode, as Linux's inode_init_owner:
// a setgid directory hands down its group (and, to directories, the bit);
// a non-member creating a setgid file loses the bit. First, when the
// daemon checks permissions, the caller's write and search permission on
// the directory (check_create_in), from the same fetch of its attributes.
Result<fusefs::Creds> new_inode_owner(fuse_req_t req, fuse_ino_t parent, uint32_t& mode) {
  FuseFs& self = fuse_fs(req);
  CARDFS_ASSIGN_OR_RETURN(Attr dir, self.fs().getattr(FuseFs::to_fs(parent)));
  RequestCaller caller(req);
  if (self.checks_permissions())
    CARDFS_RETURN_IF_ERROR(may_access(caller, dir, kMayWrite | kMayExec));
  fusefs::Creds c{caller.uid(), caller.gid()};
  if (dir.mode & S_ISGID) {
    c.gid = dir.gid;
    if (S_ISDIR(mode)) mode |= S_ISGID;
  }
  if (!S_ISDIR(mode) && (mode & S_ISGID) && !caller.in_group(c.gid) &&
      !caller.capable(Cap::kFsetid))
    mode &= ~S_ISGID;
  return c;
}

// Refuses what may not happen under a name: too long, in the control
// directory, or taking the control directory's name.
Status check_new_name(fuse_req_t req, fuse_ino_t parent, const char* name) {
  CARDFS_RETURN_IF_ERROR(check_name(name));
  if (fuse_fs(req).control().owns(parent)) return Status::error(EPERM, "control directory");
  if (is_control_name(parent, name)) return Status::error(EEXIST, ".cardfs is reserved");
  return Status::ok();
}

namespace {

Status check_old_name(fuse_req_t req, fuse_ino_t parent, const char* name) {
  CARDFS_RETURN_IF_ERROR(check_name(name));
  if (fuse_fs(req).control().owns(parent) || is_control_name(parent, name))
    return Status::error(EPERM, "control directory");
  return Status::ok();
}

void op_lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FuseFs& self = fuse_fs(req);
  if (Status st = check_access(req, parent, kMayExec); !st.is_ok()) return reply_status(req, st);
  if (is_control_name(parent, name) || self.control().owns(parent))
    return control_lookup(req, parent, name);
  if (Status st = check_name(name); !st.is_ok()) return reply_status(req, st);
  auto r = self.fs().lookup(FuseFs::to_fs(parent), name);
  if (!r.is_ok() && r.status().code() == ENOENT) {
    // A negative entry: the kernel remembers the name is absent.
    fuse_entry_param e{};
    e.entry_timeout = kEntryTimeout;
    reply::entry(req, &e);
    return;
  }
  reply_entry(req, r);
}

void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  fuse_fs(req).fs().forget(FuseFs::to_fs(ino), nlookup);
  reply::none(req);
}

void op_forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  FuseFs& self = fuse_fs(req);
  for (size_t i = 0; i < count; ++i)
    if (!self.control().owns(forgets[i].ino))
      self.fs().forget(FuseFs::to_fs(forgets[i].ino), forgets[i].nlookup);
  reply::none(req);
}

void op_getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  reply_attr(req, fuse_fs(req).fs().getattr(FuseFs::to_fs(ino)));
}

fusefs::SetAttr to_setattr(const struct stat* attr, int to_set) {
  fusefs::SetAttr sa;
  if (to_set & FUSE_SET_ATTR_MODE) sa.mode = attr->st_mode & 07777;
  if (to_set & FUSE_SET_ATTR_UID) sa.uid = attr->st_uid;
  if (to_set & FUSE_SET_ATTR_GID) sa.gid = attr->st_gid;
  if (to_set & FUSE_SET_ATTR_SIZE) sa.size = uint64_t(attr->st_size);
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) {
    sa.atime = fusefs::SetAttr::Time::kNow;
  } else if (to_set & FUSE_SET_ATTR_ATIME) {
    sa.atime = fusefs::SetAttr::Time::kSet;
    sa.atime_value = {attr->st_atim.tv_sec, uint32_t(attr->st_atim.tv_nsec)};
  }
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) {
    sa.mtime = fusefs::SetAttr::Time::kNow;
  } else if (to_set & FUSE_SET_ATTR_MTIME) {
    sa.mtime = fusefs::SetAttr::Time::kSet;
    sa.mtime_value = {attr->st_mtim.tv_sec, uint32_t(attr->st_mtim.tv_nsec)};
  }
  return sa;
}

// With default_permissions the kernel has checked this call; otherwise
// check_setattr does (a truncate through a handle was checked at open).
void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set,
                fuse_file_info* fi) {
  FuseFs& self = fuse_fs(req);
  fusefs::SetAttr sa = to_setattr(attr, to_set);
  if (Status st = check_setattr(req, ino, sa, fi != nullptr); !st.is_ok())
    return reply_status(req, st);
  reply_attr(req, self.fs().setattr(FuseFs::to_fs(ino), sa));
}

void op_readlink(fuse_req_t req, fuse_ino_t ino) {
  auto r = fuse_fs(req).fs().readlink(FuseFs::to_fs(ino));
  if (!r.is_ok()) return reply_status(req, r.status());
  reply::readlink(req, r->c_str());
}

Result<Attr> do_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode,
                      dev_t rdev) {
  CARDFS_RETURN_IF_ERROR(check_new_name(req, parent, name));
  uint32_t m = mode;
  CARDFS_ASSIGN_OR_RETURN(fusefs::Creds c, new_inode_owner(req, parent, m));
  CARDFS_ASSIGN_OR_RETURN(NewInodeAcls acls, new_inode_acls(req, parent, m));
  return set_new_inode_acls(
      req, fuse_fs(req).fs().mknod(FuseFs::to_fs(parent), name, m, uint32_t(rdev), c), acls);
}

void op_mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev) {
  reply_entry(req, do_mknod(req, parent, name, mode, rdev));
}

Result<Attr> do_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  CARDFS_RETURN_IF_ERROR(check_new_name(req, parent, name));
  uint32_t m = S_IFDIR | (mode & 07777);
  CARDFS_ASSIGN_OR_RETURN(fusefs::Creds c, new_inode_owner(req, parent, m));
  CARDFS_ASSIGN_OR_RETURN(NewInodeAcls acls, new_inode_acls(req, parent, m));
  return set_new_inode_acls(
      req, fuse_fs(req).fs().mkdir(FuseFs::to_fs(parent), name, m & 07777, c), acls);
}

void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  reply_entry(req, do_mkdir(req, parent, name, mode));
}

Result<Attr> do_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  CARDFS_RETURN_IF_ERROR(check_new_name(req, parent, name));
  uint32_t m = S_IFLNK | 0777;
  CARDFS_ASSIGN_OR_RETURN(fusefs::Creds c, new_inode_owner(req, parent, m));
  return fuse_fs(req).fs().symlink(FuseFs::to_fs(parent), name, target, c);
}

void op_symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  reply_entry(req, do_symlink(req, target, parent, name));
}

Result<Attr> do_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char* name) {
  CARDFS_RETURN_IF_ERROR(check_new_name(req, parent, name));
  if (fuse_fs(req).control().owns(ino)) return Status::error(EPERM, "control file");
  CARDFS_RETURN_IF_ERROR(check_link(req, ino, parent));
  return fuse_fs(req).fs().link(FuseFs::to_fs(ino), FuseFs::to_fs(parent), name);
}

void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char* name) {
  reply_entry(req, do_link(req, ino, parent, name));
}

void op_unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Status st = check_old_name(req, parent, name);
  if (st.is_ok()) st = check_delete(req, parent, name);
  if (st.is_ok()) st = fuse_fs(req).fs().unlink(FuseFs::to_fs(parent), name);
  reply_status(req, st);
}

void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  Status st = check_old_name(req, parent, name);
  if (st.is_ok()) st = check_delete(req, parent, name);
  if (st.is_ok()) st = fuse_fs(req).fs().rmdir(FuseFs::to_fs(parent), name);
  reply_status(req, st);
}

Status do_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
                 const char* newname, unsigned flags) {
  constexpr unsigned kKnown =
      fusefs::kRenameNoReplace | fusefs::kRenameExchange | fusefs::kRenameWhiteout;
  if ((flags & ~kKnown) != 0 ||
      ((flags & fusefs::kRenameExchange) && flags != fusefs::kRenameExchange))
    return Status::error(EINVAL, "unsupported rename flags");
  CARDFS_RETURN_IF_ERROR(check_old_name(req, parent, name));
  CARDFS_RETURN_IF_ERROR(check_old_name(req, newparent, newname));
  CARDFS_RETURN_IF_ERROR(check_create_in(req, newparent));
  CARDFS_RETURN_IF_ERROR(
      check_rename(req, parent, name, newparent, newname, flags & fusefs::kRenameExchange));
  // The whiteout is the caller's (the kernel checked CAP_MKNOD for it).
  const fuse_ctx* ctx = fuse_req_ctx(req);
  return fuse_fs(req).fs().rename(FuseFs::to_fs(parent), name, FuseFs::to_fs(newparent), newname,
                                  flags, fusefs::Creds{ctx->uid, ctx->gid});
}

void op_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
               const char* newname, unsigned flags) {
  reply_status(req, do_rename(req, parent, name, newparent, newname, flags));
}

// FUSE_ACCESS: access(2), chdir(2). Sent only when the kernel does not
// check permissions itself.
void op_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  reply_status(req, check_access(req, ino, mask & (kMayRead | kMayWrite | kMayExec)));
}

void op_statfs(fuse_req_t req, fuse_ino_t) {
  auto r = fuse_fs(req).fs().statfs();
  if (!r.is_ok()) return reply_status(req, r.status());
  struct statvfs sv {};
  sv.f_bsize = r->block_size;
  sv.f_frsize = r->block_size;
  sv.f_blocks = r->blocks;
  sv.f_bfree = r->free_blocks;
  sv.f_bavail = r->avail_blocks;
  sv.f_files = r->files;
  sv.f_ffree = r->free_files;
  sv.f_favail = r->free_files;
  sv.f_namemax = r->name_max;
  reply::statfs(req, &sv);
}

// When a GETATTR or SETATTR may sleep (waiting_ops.h): the inode is held
// by an operation that may be waiting (an fsync, a truncate); a truncate
// waits for pages under write-back and reads a partial tail block.
struct AttrWaits {
  static bool test(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
    FuseFs& self = fuse_fs(req);
    return !self.control().owns(ino) && self.fs().inode_busy(FuseFs::to_fs(ino));
  }
};

struct SetattrWaits {
  static bool test(fuse_req_t req, fuse_ino_t ino, struct stat*, int to_set, fuse_file_info*) {
    FuseFs& self = fuse_fs(req);
    if (self.control().owns(ino)) return false;
    return (to_set & FUSE_SET_ATTR_SIZE) || self.fs().commit_running() ||
           self.fs().inode_busy(FuseFs::to_fs(ino));
  }
};

}  // namespace

void add_entry_operations(fuse_lowlevel_ops& o) {
  o.lookup = guard<op_lookup>;
  o.forget = guard<routed<op_forget, control_forget>>;
  o.forget_multi = guard<op_forget_multi>;
  // Those that take a journal handle wait while a commit runs: they go to a
  // fuse-wait worker meanwhile (waiting_ops.h).
  o.getattr = guard_waiting<routed<op_getattr, control_getattr>, AttrWaits>;
  o.setattr = guard_waiting<routed<op_setattr, control_setattr>, SetattrWaits>;
  o.readlink = guard_waiting<routed<op_readlink, EINVAL>, DuringCommit>;
  o.mknod = guard_waiting<op_mknod, DuringCommit>;
  o.mkdir = guard_waiting<op_mkdir, DuringCommit>;
  o.symlink = guard_waiting<op_symlink, DuringCommit>;
  o.link = guard_waiting<op_link, DuringCommit>;
  o.unlink = guard_waiting<op_unlink, DuringCommit>;
  o.rmdir = guard_waiting<op_rmdir, DuringCommit>;
  o.rename = guard_waiting<op_rename, DuringCommit>;
  o.statfs = guard<op_statfs>;
  o.access = guard<op_access>;
}

}  // namespace cardfs::fuse
