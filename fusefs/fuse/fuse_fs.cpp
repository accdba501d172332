#include "fusefs/fuse/fuse_fs.h"

#include <unistd.h>

#include <cstring>

#include "base/log.h"
#include "fusefs/fuse/waiting_ops.h"

namespace cardfs::fuse {
namespace {

timespec to_timespec(const fusefs::Timespec& t) {
  timespec ts;
  ts.tv_sec = t.sec;
  ts.tv_nsec = long(t.nsec);
  return ts;
}

void op_init(void* userdata, fuse_conn_info* conn) {
  const auto& opts = static_cast<FuseFs*>(userdata)->options();
  // cardfs's cache holds the dirty data: every write comes down at once.
  conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
  // The kernel clears SUID/SGID itself, with a mode change (accepted).
  conn->want &= ~FUSE_CAP_HANDLE_KILLPRIV;
  // O_TRUNC arrives as a setattr, where size checks live.
  conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
  if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
  if (conn->capable & FUSE_CAP_CACHE_SYMLINKS) conn->want |= FUSE_CAP_CACHE_SYMLINKS;
  // -o acl: the kernel enforces the ACLs the daemon stores, and leaves the
  // umask to the daemon, which skips it under a default ACL (acl_inherit.cpp).
  if (opts.acl) {
    if ((conn->capable & FUSE_CAP_POSIX_ACL) && (conn->capable & FUSE_CAP_DONT_MASK))
      conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
    else
      logger("fuse")->error("-o acl: this kernel has no FUSE POSIX ACL support");
  }
  conn->max_write = kMaxWrite;
  conn->time_gran = 1;
  // The kernel takes the smaller of this and its bdi's read_ahead_kb, which
  // the daemon raised before serving (tune_kernel_read_ahead in mount.cpp).
  if (uint32_t kb = opts.kernel_read_ahead_kb.value_or(kDefaultKernelReadAheadKb); kb > 0)
    conn->max_readahead = kb * 1024;
  logger("fuse")->info("FUSE protocol {}.{}, max_write {}, max_readahead {}", conn->proto_major,
                       conn->proto_minor, conn->max_write, conn->max_readahead);
}

}  // namespace

FuseFs::FuseFs(fusefs::Filesystem& fs, const ControlTree& control, const MountOptions& opts)
    : fs_(fs),
      control_(control),
      opts_(opts),
      uid_(getuid()),
      gid_(getgid()),
      checks_permissions_(!kernel_checks_permissions(opts)) {}

void FuseFs::adopt_handle(std::unique_ptr<OpenFile> of, fuse_file_info* fi) {
  fi->fh = reinterpret_cast<uintptr_t>(of.get());
  std::lock_guard lock(handles_mu_);
  handles_.emplace(fi->fh, std::move(of));
}

void FuseFs::drop_handle(const fuse_file_info* fi) {
  std::unique_ptr<OpenFile> gone;  // freed outside the lock
  std::lock_guard lock(handles_mu_);
  if (auto it = handles_.find(fi->fh); it != handles_.end()) {
    gone = std::move(it->second);
    handles_.erase(it);
  }
}

size_t FuseFs::open_handles() const {
  std::lock_guard lock(handles_mu_);
  return handles_.size();
}

const fuse_lowlevel_ops& FuseFs::operations() {
  static const fuse_lowlevel_ops ops = [] {
    fuse_lowlevel_ops o;
    std::memset(&o, 0, sizeof o);
    o.init = op_init;
    add_entry_operations(o);
    add_file_operations(o);
    add_dir_operations(o);
    add_xattr_operations(o);
    return o;
  }();
  return ops;
}

struct stat FuseFs::to_stat(const fusefs::Attr& a) {
  struct stat st;
  std::memset(&st, 0, sizeof st);
  st.st_ino = a.ino;
  st.st_mode = a.mode;
  st.st_nlink = a.nlink;
  st.st_uid = a.uid;
  st.st_gid = a.gid;
  st.st_rdev = a.rdev;
  st.st_size = off_t(a.size);
  st.st_blocks = blkcnt_t(a.blocks);
  st.st_blksize = blksize_t(a.blksize);
  st.st_atim = to_timespec(a.atime);
  st.st_mtim = to_timespec(a.mtime);
  st.st_ctim = to_timespec(a.ctime);
  return st;
}

fuse_entry_param FuseFs::entry_of(const fusefs::Attr& a) const {
  fuse_entry_param e;
  std::memset(&e, 0, sizeof e);
  e.ino = to_fuse(a.ino);
  e.generation = a.generation;
  e.attr = to_stat(a);
  e.attr_timeout = kAttrTimeout;
  e.entry_timeout = kEntryTimeout;
  return e;
}

struct stat FuseFs::control_stat(const ControlTree::Entry& e) const {
  struct stat st;
  std::memset(&st, 0, sizeof st);
  st.st_ino = e.ino;
  st.st_mode = e.is_dir ? (S_IFDIR | 0555) : (S_IFREG | (e.writable ? 0644 : 0444));
  st.st_nlink = e.is_dir ? 2 : 1;
  st.st_uid = uid_;
  st.st_gid = gid_;
  st.st_size = e.is_dir ? 0 : 4096;  // like sysfs: the content decides
  st.st_blksize = 4096;
  return st;
}

fuse_entry_param FuseFs::control_entry(const ControlTree::Entry& e) const {
  fuse_entry_param p;
  std::memset(&p, 0, sizeof p);
  p.ino = e.ino;
  p.attr = control_stat(e);
  // Control values change on their own: the kernel must always ask.
  p.attr_timeout = 0;
  p.entry_timeout = kEntryTimeout;
  return p;
}

bool FuseFs::write_through(const OpenFile& of) const {
  // Buffered O_SYNC/O_DSYNC writes get an fsync from the kernel itself
  // (generic_write_sync); direct handles and -o sync do not. O_DIRECT
  // alone promises no durability, so it does not flush the card.
  return opts_.sync || (of.direct && (of.flags & O_DSYNC));
}

void FuseFs::invalidate_attributes(fuse_ino_t ino) {
  // A negative offset: attributes only, no data.
  if (session_) (void)fuse_lowlevel_notify_inval_inode(session_, ino, -1, 0);
}

bool commit_running(fuse_req_t req) { return fuse_fs(req).fs().commit_running(); }

void reply_status(fuse_req_t req, const Status& st) { reply::err(req, st.code()); }

void reply_entry(fuse_req_t req, const Result<fusefs::Attr>& r) {
  if (!r.is_ok()) {
    reply::err(req, r.status().code());
    return;
  }
  FuseFs& self = fuse_fs(req);
  fuse_entry_param e = self.entry_of(*r);
  if (reply::entry(req, &e) != 0) self.fs().forget(r->ino, 1);
}

void reply_attr(fuse_req_t req, const Result<fusefs::Attr>& r) {
  if (!r.is_ok()) {
    reply::err(req, r.status().code());
    return;
  }
  struct stat st = FuseFs::to_stat(*r);
  reply::attr(req, &st, kAttrTimeout);
}

Status check_name(const char* name) {
  if (std::strlen(name) > fusefs::kMaxNameLen)
    return Status::error(ENAMETOOLONG, "name longer than 255 bytes");
  return Status::ok();
}

bool is_control_name(fuse_ino_t parent, const char* name) {
  return parent == FUSE_ROOT_ID && ControlTree::kDirName == name;
}

}  // namespace cardfs::fuse
