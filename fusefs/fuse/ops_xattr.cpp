// Extended attributes: setxattr, getxattr, listxattr, removexattr. The
// control directory has none and takes none. With -o noxattr every one
// answers ENOSYS: the kernel remembers it, answers EOPNOTSUPP itself and
// no longer asks for security.capability before each write.
#include <sys/stat.h>

#include <string>
#include <vector>

#include "fusefs/acl.h"
#include "fusefs/fuse/fuse_fs.h"
#include "fusefs/xattr.h"

namespace cardfs::fuse {
namespace {

// size 0 asks for the length; a shorter buffer than the value is ERANGE.
void reply_sized(fuse_req_t req, const char* data, size_t len, size_t size) {
  if (size == 0) {
    reply::xattr(req, len);
  } else if (len > size) {
    reply::err(req, ERANGE);
  } else {
    reply::buf(req, data, len);
  }
}

// system.posix_acl_* only with -o acl: without it the kernel does not
// enforce them, and a stored ACL that nothing checks would be a lie (but
// see set_mode_acl and op_removexattr: what says only the mode is taken).
Status check_acl_name(const FuseFs& self, const char* name) {
  const std::string_view n(name);
  if (!self.options().acl && (n == fusefs::kAclAccessName || n == fusefs::kAclDefaultName))
    return Status::error(EOPNOTSUPP, "POSIX ACLs need -o acl");
  return Status::ok();
}

// Without -o acl, an access ACL that says no more than the mode bits (what
// cp -a, tar --acls and rsync -A set on every file they copy) is a chmod,
// as on ext4, which stores no such ACL either: the permission bits change,
// an ACL stored by an earlier -o acl mount goes. gnulib's copy_acl then
// skips the fchmod it sends after a refusal: one round trip less per file.
// Anything more stays refused (EOPNOTSUPP): nothing would enforce it.
Status set_mode_acl(fuse_req_t req, fuse_ino_t ino, std::span<const std::byte> value, int flags) {
  FuseFs& self = fuse_fs(req);
  CARDFS_ASSIGN_OR_RETURN(fusefs::Acl acl, fusefs::decode_acl(value));
  if (!fusefs::acl_is_mode(acl)) return Status::error(EOPNOTSUPP, "POSIX ACLs need -o acl");
  const fusefs::Ino fs_ino = FuseFs::to_fs(ino);
  CARDFS_ASSIGN_OR_RETURN(fusefs::Attr a, self.fs().getattr(fs_ino));
  // Who may, and whether S_ISGID survives, as for chmod (the kernel's
  // posix_acl_update_mode drops it alike).
  fusefs::SetAttr sa;
  sa.mode = (a.mode & 07000) | fusefs::acl_mode_bits(acl);
  CARDFS_RETURN_IF_ERROR(check_setattr(req, ino, sa, false));
  CARDFS_RETURN_IF_ERROR(self.fs().setxattr(fs_ino, fusefs::kAclAccessName, value, flags));
  if (*sa.mode == (a.mode & 07777)) return Status::ok();
  return self.fs().setattr(fs_ino, sa).status();
}

void op_setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value,
                 size_t size, int flags) {
  FuseFs& self = fuse_fs(req);
  if (!self.options().xattr) return reply_errno(req, ENOSYS);
  auto bytes = std::as_bytes(std::span(value, size));
  if (!self.options().acl && fusefs::kAclAccessName == name) {
    Status st = set_mode_acl(req, ino, bytes, flags);
    if (st.is_ok()) self.invalidate_attributes(ino);  // the kernel's mode is stale
    return reply_status(req, st);
  }
  if (Status st = check_acl_name(self, name); !st.is_ok()) return reply_status(req, st);
  if (Status st = check_xattr(req, ino, name, true); !st.is_ok()) return reply_status(req, st);
  Status st = self.fs().setxattr(FuseFs::to_fs(ino), name, bytes, flags);
  if (st.is_ok()) self.invalidate_attributes(ino);  // st_blocks may count a new block
  reply_status(req, st);
}

void op_getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size) {
  FuseFs& self = fuse_fs(req);
  if (!self.options().xattr) return reply_errno(req, ENOSYS);
  if (Status st = check_acl_name(self, name); !st.is_ok()) return reply_status(req, st);
  if (Status st = check_xattr(req, ino, name, false); !st.is_ok()) return reply_status(req, st);
  auto v = self.fs().getxattr(FuseFs::to_fs(ino), name);
  if (!v.is_ok()) return reply_status(req, v.status());
  reply_sized(req, reinterpret_cast<const char*>(v->data()), v->size(), size);
}

void op_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
  FuseFs& self = fuse_fs(req);
  if (!self.options().xattr) return reply_errno(req, ENOSYS);
  auto names = self.fs().listxattr(FuseFs::to_fs(ino));
  if (!names.is_ok()) return reply_status(req, names.status());
  reply_sized(req, names->data(), names->size(), size);
}

// Removing an ACL is allowed without -o acl too (the mode alone is what such
// a mount enforces): once set_mode_acl accepted a directory's access ACL,
// gnulib removes its default ACL and takes only ENODATA for "none there".
void op_removexattr(fuse_req_t req, fuse_ino_t ino, const char* name) {
  FuseFs& self = fuse_fs(req);
  if (!self.options().xattr) return reply_errno(req, ENOSYS);
  if (Status st = check_xattr(req, ino, name, true); !st.is_ok()) return reply_status(req, st);
  Status st = self.fs().removexattr(FuseFs::to_fs(ino), name);
  if (st.is_ok()) self.invalidate_attributes(ino);  // the block may be gone
  reply_status(req, st);
}

}  // namespace

void add_xattr_operations(fuse_lowlevel_ops& ops) {
  // The control files have none and take none.
  ops.setxattr = guard<routed<op_setxattr, EOPNOTSUPP>>;
  ops.getxattr = guard<routed<op_getxattr, ENODATA>>;
  ops.listxattr = guard<routed<op_listxattr, control_listxattr>>;
  ops.removexattr = guard<routed<op_removexattr, EOPNOTSUPP>>;
}

}  // namespace cardfs::fuse
