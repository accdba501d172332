// Filesystem: extended attributes (the block format and rules: xattr.h).
#include <sys/stat.h>
#include <sys/xattr.h>

#include "fusefs/acl.h"
#include "fusefs/context.h"
#include "fusefs/filesystem.h"
#include "fusefs/inode.h"
#include "fusefs/xattr.h"

namespace cardfs::fusefs {

namespace {

// An ACL's value, checked and in its canonical form (ids of unnamed entries
// normalised). An access ACL also sets the mode's permission bits, and one
// that says no more than the mode is not kept (as ext4): *keep says so. A
// default ACL belongs to directories only.
Result<std::vector<std::byte>> take_acl(const XattrName& key, std::span<const std::byte> value,
                                        uint16_t& mode, bool* keep) {
  CARDFS_ASSIGN_OR_RETURN(Acl acl, decode_acl(value));
  *keep = true;
  if (key.index == kXattrAclDefault) {
    if (!S_ISDIR(mode)) return Status::error(EACCES, "a default ACL on a non-directory");
  } else {
    mode = uint16_t((mode & ~0777u) | acl_mode_bits(acl));
    *keep = !acl_is_mode(acl);
  }
  return encode_acl(acl);
}

}  // namespace

Status Filesystem::setxattr(Ino ino, std::string_view name, std::span<const std::byte> value,
                            int flags) {
  Status st = setxattr_once(ino, name, value, flags);
  if (retry_after_commit(st)) st = setxattr_once(ino, name, value, flags);
  return st;
}

Status Filesystem::setxattr_once(Ino ino, std::string_view name,
                                 std::span<const std::byte> value, int flags) {
  Handle txn(*this);
  CARDFS_RETURN_IF_ERROR(writable());
  CARDFS_ASSIGN_OR_RETURN(XattrName key, parse_xattr_name(name));
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  CARDFS_ASSIGN_OR_RETURN(XattrSet set, load_xattrs_locked(*ctx_, *inode));
  bool keep = true;
  uint16_t mode = inode->d.mode;
  std::vector<std::byte> acl;
  if (is_acl_index(key.index)) {
    CARDFS_ASSIGN_OR_RETURN(acl, take_acl(key, value, mode, &keep));
    value = acl;
  }
  if (keep) {
    CARDFS_RETURN_IF_ERROR(xattr_put(set, std::move(key), value, flags));
  } else if (xattr_find(set, key)) {
    CARDFS_RETURN_IF_ERROR(xattr_remove(set, key));
  }
  CARDFS_RETURN_IF_ERROR(save_xattrs_locked(*ctx_, *inode, set));
  inode->d.mode = mode;
  inode->d.ctime = now();
  return store(*inode);
}

Status Filesystem::chmod_acl_locked(Inode& inode, uint32_t mode) {
  if (inode.d.xattr_block == 0) return Status::ok();
  CARDFS_ASSIGN_OR_RETURN(XattrSet set, load_xattrs_locked(*ctx_, inode));
  const XattrName key{kXattrAclAccess, ""};
  const XattrEntry* e = xattr_find(set, key);
  if (!e) return Status::ok();
  auto acl = decode_acl(e->value);
  if (!acl.is_ok())  // it was valid when stored: the block is damaged
    return ctx_->corrupt("access ACL of inode " + std::to_string(inode.ino) + ": " +
                         acl.status().message());
  acl_chmod(*acl, mode);
  CARDFS_RETURN_IF_ERROR(xattr_put(set, key, encode_acl(*acl), XATTR_REPLACE));
  return save_xattrs_locked(*ctx_, inode, set);
}

Result<std::vector<std::byte>> Filesystem::getxattr(Ino ino, std::string_view name) {
  CARDFS_ASSIGN_OR_RETURN(XattrName key, parse_xattr_name(name));
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  if (inode->d.xattr_block == 0) return Status::error(ENODATA, "no such attribute");
  CARDFS_ASSIGN_OR_RETURN(XattrSet set, load_xattrs_locked(*ctx_, *inode));
  const XattrEntry* e = xattr_find(set, key);
  if (!e) return Status::error(ENODATA, "no such attribute");
  return e->value;
}

Result<std::string> Filesystem::listxattr(Ino ino) {
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  CARDFS_ASSIGN_OR_RETURN(XattrSet set, load_xattrs_locked(*ctx_, *inode));
  return xattr_list(set);
}

Status Filesystem::removexattr(Ino ino, std::string_view name) {
  Handle txn(*this);
  CARDFS_RETURN_IF_ERROR(writable());
  CARDFS_ASSIGN_OR_RETURN(XattrName key, parse_xattr_name(name));
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  CARDFS_ASSIGN_OR_RETURN(XattrSet set, load_xattrs_locked(*ctx_, *inode));
  CARDFS_RETURN_IF_ERROR(xattr_remove(set, key));
  CARDFS_RETURN_IF_ERROR(save_xattrs_locked(*ctx_, *inode, set));
  inode->d.ctime = now();
  return store(*inode);
}

}  // namespace cardfs::fusefs
