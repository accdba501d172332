// Default ACL inheritance on create, mkdir and mknod (-o acl), as Linux's
// posix_acl_create: see fuse_fs.h.
#include <sys/stat.h>

#include "fusefs/acl.h"
#include "fusefs/fuse/fuse_fs.h"
#include "fusefs/xattr.h"

namespace cardfs::fuse {

Result<NewInodeAcls> new_inode_acls(fuse_req_t req, fuse_ino_t parent, uint32_t& mode) {
  NewInodeAcls out;
  FuseFs& self = fuse_fs(req);
  if (!self.options().acl || S_ISLNK(mode)) return out;
  auto dflt = self.fs().getxattr(FuseFs::to_fs(parent), fusefs::kAclDefaultName);
  if (!dflt.is_ok()) {
    if (dflt.status().code() != ENODATA) return dflt.status();
    mode &= ~uint32_t(fuse_req_ctx(req)->umask);
    return out;
  }
  auto acl = fusefs::decode_acl(*dflt);
  if (!acl.is_ok())  // it was checked when stored: the attribute block is damaged
    return Status::error(EIO, "default ACL of inode " + std::to_string(parent) + ": " +
                                  acl.status().message());
  if (S_ISDIR(mode)) out.dflt = *dflt;
  mode = fusefs::acl_create_masq(*acl, mode);
  if (!fusefs::acl_is_mode(*acl)) out.access = fusefs::encode_acl(*acl);
  return out;
}

Result<fusefs::Attr> set_new_inode_acls(fuse_req_t req, Result<fusefs::Attr> created,
                                        const NewInodeAcls& acls) {
  if (!created.is_ok() || (acls.access.empty() && acls.dflt.empty())) return created;
  fusefs::Filesystem& fs = fuse_fs(req).fs();
  const fusefs::Ino ino = created->ino;
  Status st = Status::ok();
  if (!acls.access.empty()) st = fs.setxattr(ino, fusefs::kAclAccessName, acls.access, 0);
  if (st.is_ok() && !acls.dflt.empty())
    st = fs.setxattr(ino, fusefs::kAclDefaultName, acls.dflt, 0);
  auto attr = st.is_ok() ? fs.getattr(ino) : Result<fusefs::Attr>(st);
  if (!attr.is_ok()) fs.forget(ino, 1);  // no entry reaches the kernel
  return attr;
}

}  // namespace cardfs::fuse
