// Filesystem: extended attributes (the block format and rules: xattr.h).
#include "fusefs/context.h"
#include "fusefs/filesystem.h"
#include "fusefs/inode.h"
#include "fusefs/xattr.h"

namespace cardfs::fusefs {

Status Filesystem::setxattr(Ino ino, std::string_view name, std::span<const std::byte> value,
                            int flags) {
  CARDFS_RETURN_IF_ERROR(writable());
  CARDFS_ASSIGN_OR_RETURN(XattrName key, parse_xattr_name(name));
  CARDFS_ASSIGN_OR_RETURN(auto inode, get_inode(ino));
  std::lock_guard lock(inode->mu);
  CARDFS_ASSIGN_OR_RETURN(XattrSet set, load_xattrs_locked(*ctx_, *inode));
  CARDFS_RETURN_IF_ERROR(xattr_put(set, std::move(key), value, flags));
  CARDFS_RETURN_IF_ERROR(save_xattrs_locked(*ctx_, *inode, set));
  inode->d.ctime = now();
  return store(*inode);
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
