// Extended attributes: names, the on-disk attribute block, and the rules
// of set/get/remove, as pure functions over a decoded set (internal header;
// Filesystem::setxattr & co. in fs_xattr.cpp hold the inode's lock around
// them).
//
// An inode with attributes points (DiskInode::xattr_block) at one block of
// its own, ext2-style but never shared; it counts in the inode's i_blocks
// and is freed with the inode or when its last attribute is removed.
//
// Attribute block (block size B; all fields little-endian):
//    0 u32 magic (kXattrMagic)    4 u32 owner inode number
//    8 u32 entry count           12 u32 bytes of entries that follow
//   16 entries, sorted by (name index, name), each 4-byte aligned:
//        0 u8 name index   1 u8 name length   2 u16 zero   4 u32 value length
//        8 name (without its namespace prefix), then the value, zero-padded
//   B-4 u32 crc32c (seeded with the filesystem's checksum seed) of bytes 0..B-5
//
// Namespaces (ext2's name indexes): 1 "user.", 4 "trusted.", 6 "security.",
// and the POSIX ACLs as whole names with an empty stored name, 2
// "system.posix_acl_access", 3 "system.posix_acl_default" (their values:
// acl.h; the FUSE layer takes them only with -o acl). Every other
// "system." name, and any other prefix, is refused with EOPNOTSUPP.
//
// Errors: EOPNOTSUPP (namespace), EINVAL (empty name after the prefix, bad
// flags), ERANGE (name over 255 bytes), EEXIST (XATTR_CREATE of an existing
// name), ENODATA (missing name, XATTR_REPLACE of a missing one), ENOSPC (the
// block cannot hold the new set, e.g. a value larger than a block), EIO (a
// block that fails its checks: reported through Context::corrupt).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "fusefs/context.h"
#include "fusefs/inode.h"

namespace cardfs::fusefs {

inline constexpr uint32_t kXattrMagic = 0x41584443;  // "CDXA"
inline constexpr uint32_t kXattrHeaderSize = 16;
inline constexpr uint32_t kXattrEntryHeader = 8;
inline constexpr uint32_t kXattrNameMax = 255;

enum XattrIndex : uint8_t {
  kXattrUser = 1,
  kXattrAclAccess = 2,
  kXattrAclDefault = 3,
  kXattrTrusted = 4,
  kXattrSecurity = 6,
};
inline constexpr std::string_view kAclAccessName = "system.posix_acl_access";
inline constexpr std::string_view kAclDefaultName = "system.posix_acl_default";
inline bool is_acl_index(uint8_t index) {
  return index == kXattrAclAccess || index == kXattrAclDefault;
}

struct XattrName {
  uint8_t index = 0;
  std::string name;  // without the prefix
  auto operator<=>(const XattrName&) const = default;
};

struct XattrEntry {
  XattrName key;
  std::vector<std::byte> value;
};

// Sorted by key, no duplicates.
using XattrSet = std::vector<XattrEntry>;

Result<XattrName> parse_xattr_name(std::string_view full);
std::string full_xattr_name(const XattrName& n);

// Bytes of the block the set's entries may use.
uint32_t xattr_capacity(uint32_t block_size);

// Checks everything (magic, owner, counts, bounds, order, checksum); EIO
// naming the problem otherwise.
Result<XattrSet> decode_xattr_block(std::span<const std::byte> block, uint32_t owner,
                                    uint32_t seed);
// ENOSPC when the set does not fit in out (one block).
Status encode_xattr_block(const XattrSet& set, uint32_t owner, uint32_t seed,
                          std::span<std::byte> out);

// flags: 0, XATTR_CREATE or XATTR_REPLACE.
Status xattr_put(XattrSet& set, XattrName key, std::span<const std::byte> value, int flags);
Status xattr_remove(XattrSet& set, const XattrName& key);
const XattrEntry* xattr_find(const XattrSet& set, const XattrName& key);
// The full names, each followed by a NUL (listxattr's format).
std::string xattr_list(const XattrSet& set);

// ---- the inode's block (caller holds inode.mu)
Result<XattrSet> load_xattrs_locked(Context& ctx, Inode& inode);
// Writes the set into the inode's block (allocating it, or freeing it when
// the set is empty); the caller stores the inode afterwards.
Status save_xattrs_locked(Context& ctx, Inode& inode, const XattrSet& set);
// Frees the inode's attribute block, if any. Caller holds inode.map_mu too.
void free_xattr_block_locked(Context& ctx, Inode& inode);

}  // namespace cardfs::fusefs
