// POSIX ACLs (internal header): the value of system.posix_acl_access and
// system.posix_acl_default, as Linux passes it through getxattr/setxattr
// (the kernel's posix_acl_xattr format), and the rules that tie an access
// ACL to the mode bits. Pure functions; Filesystem::setxattr/setattr and
// the FUSE layer's create path (fusefs/fuse/acl_inherit.cpp) use them.
//
// Value (little-endian): u32 version (2), then entries of u16 tag, u16 perm
// (0..7), u32 id (for kUser/kGroup; 0xffffffff otherwise). Valid as the
// kernel's posix_acl_valid: tags in ascending order, one each of kUserObj,
// kGroupObj, kOther, named entries in ascending id order without repeats,
// a kMask exactly when there are named entries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/status.h"

namespace cardfs::fusefs {

enum AclTag : uint16_t {
  kAclUserObj = 0x01,
  kAclUser = 0x02,
  kAclGroupObj = 0x04,
  kAclGroup = 0x08,
  kAclMask = 0x10,
  kAclOther = 0x20,
};

struct AclEntry {
  uint16_t tag = 0;
  uint16_t perm = 0;
  uint32_t id = 0xffffffff;
  bool operator==(const AclEntry&) const = default;
};
using Acl = std::vector<AclEntry>;

inline constexpr uint32_t kAclVersion = 2;

// EINVAL for any value that is not a valid ACL (size, version, entries).
Result<Acl> decode_acl(std::span<const std::byte> value);
std::vector<std::byte> encode_acl(const Acl& acl);

// The ACL of the three mode classes only (what a file without an access
// ACL has).
Acl acl_from_mode(uint32_t mode);
// The permission bits (0777) the ACL stands for: owner, mask (or group
// when there is no mask), other.
uint32_t acl_mode_bits(const Acl& acl);
// True when the ACL says no more than the mode bits (no named entries, no
// mask): such an access ACL is not stored, the mode says it all.
bool acl_is_mode(const Acl& acl);
// chmod: the owner, mask (or group) and other entries take the mode's bits.
void acl_chmod(Acl& acl, uint32_t mode);
// A new inode under a default ACL (the kernel's posix_acl_create_masq):
// its access ACL starts as the default and is narrowed by the create mode;
// returns the mode (type and special bits kept, 0777 from the result).
uint32_t acl_create_masq(Acl& acl, uint32_t mode);

}  // namespace cardfs::fusefs
