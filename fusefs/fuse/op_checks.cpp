// The daemon's permission checks as the operations call them: each fetches
// the attributes it needs and asks permissions.h. On a mount where the
// kernel checks (default_permissions) every one is a no-op.
#include "fusefs/fuse/fuse_fs.h"
#include "fusefs/fuse/permissions.h"

namespace cardfs::fuse {

Result<fusefs::Attr> attr_of(fuse_req_t req, fuse_ino_t ino) {
  FuseFs& self = fuse_fs(req);
  if (!self.control().owns(ino)) return self.fs().getattr(FuseFs::to_fs(ino));
  auto e = self.control().stat(ino);
  if (!e) return Status::error(ENOENT, "no such control node");
  struct stat st = self.control_stat(*e);
  fusefs::Attr a;
  a.ino = ino;
  a.mode = st.st_mode;
  a.uid = st.st_uid;
  a.gid = st.st_gid;
  return a;
}

Status check_access(fuse_req_t req, fuse_ino_t ino, int mask) {
  if (!fuse_fs(req).checks_permissions()) return Status::ok();
  CARDFS_ASSIGN_OR_RETURN(fusefs::Attr a, attr_of(req, ino));
  return may_access(RequestCaller(req), a, mask);
}

Status check_create_in(fuse_req_t req, fuse_ino_t parent) {
  return check_access(req, parent, kMayWrite | kMayExec);
}

Status check_open(fuse_req_t req, fuse_ino_t ino, int flags) {
  if (!fuse_fs(req).checks_permissions()) return Status::ok();
  CARDFS_ASSIGN_OR_RETURN(fusefs::Attr a, attr_of(req, ino));
  return may_open(RequestCaller(req), a, flags);
}

namespace {

// The attributes behind a name, without keeping the lookup it costs.
Result<fusefs::Attr> peek(FuseFs& self, fuse_ino_t parent, const char* name) {
  auto r = self.fs().lookup(FuseFs::to_fs(parent), name);
  if (r.is_ok()) self.fs().forget(r->ino, 1);
  return r;
}

}  // namespace

Status check_delete(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FuseFs& self = fuse_fs(req);
  if (!self.checks_permissions()) return Status::ok();
  RequestCaller caller(req);
  CARDFS_ASSIGN_OR_RETURN(fusefs::Attr dir, attr_of(req, parent));
  CARDFS_RETURN_IF_ERROR(may_access(caller, dir, kMayWrite | kMayExec));
  if (!(dir.mode & S_ISVTX)) return Status::ok();  // the victim matters only here
  auto victim = peek(self, parent, name);
  if (!victim.is_ok()) return Status::ok();  // the operation itself says ENOENT
  return may_delete(caller, dir, *victim);
}

Status check_rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent,
                    const char* newname, bool exchange) {
  FuseFs& self = fuse_fs(req);
  if (!self.checks_permissions()) return Status::ok();
  CARDFS_RETURN_IF_ERROR(check_delete(req, parent, name));
  CARDFS_RETURN_IF_ERROR(check_delete(req, newparent, newname));
  if (parent == newparent) return Status::ok();
  // A directory that changes parent has its ".." rewritten: it must be
  // writable (both of them, for an exchange).
  RequestCaller caller(req);
  auto moved = peek(self, parent, name);
  if (moved.is_ok() && S_ISDIR(moved->mode))
    CARDFS_RETURN_IF_ERROR(may_access(caller, *moved, kMayWrite));
  if (!exchange) return Status::ok();
  auto other = peek(self, newparent, newname);
  if (other.is_ok() && S_ISDIR(other->mode))
    CARDFS_RETURN_IF_ERROR(may_access(caller, *other, kMayWrite));
  return Status::ok();
}

Status check_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent) {
  if (!fuse_fs(req).checks_permissions()) return Status::ok();
  CARDFS_RETURN_IF_ERROR(check_create_in(req, newparent));
  CARDFS_ASSIGN_OR_RETURN(fusefs::Attr src, attr_of(req, ino));
  return may_link(RequestCaller(req), src);
}

Status check_setattr(fuse_req_t req, fuse_ino_t ino, fusefs::SetAttr& sa, bool through_handle) {
  if (!fuse_fs(req).checks_permissions()) return Status::ok();
  CARDFS_ASSIGN_OR_RETURN(fusefs::Attr a, attr_of(req, ino));
  return may_setattr(RequestCaller(req), a, sa, through_handle);
}

Status check_xattr(fuse_req_t req, fuse_ino_t ino, const char* name, bool write) {
  if (!fuse_fs(req).checks_permissions()) return Status::ok();
  CARDFS_ASSIGN_OR_RETURN(fusefs::Attr a, attr_of(req, ino));
  return may_xattr(RequestCaller(req), a, name, write);
}

}  // namespace cardfs::fuse
