#include "fusefs/acl.h"

#include "base/coding.h"

namespace cardfs::fusefs {
namespace {

constexpr size_t kHeader = 4;
constexpr size_t kEntry = 8;
constexpr uint32_t kNoId = 0xffffffff;

bool named(uint16_t tag) { return tag == kAclUser || tag == kAclGroup; }

bool known_tag(uint16_t tag) {
  return tag == kAclUserObj || tag == kAclUser || tag == kAclGroupObj || tag == kAclGroup ||
         tag == kAclMask || tag == kAclOther;
}

// posix_acl_valid: order, uniqueness, required entries, the mask rule.
Status check_valid(const Acl& acl) {
  auto bad = [](const char* why) { return Status::error(EINVAL, std::string("ACL: ") + why); };
  int user_obj = 0, group_obj = 0, other = 0, mask = 0, named_entries = 0;
  for (size_t i = 0; i < acl.size(); ++i) {
    const AclEntry& e = acl[i];
    if (!known_tag(e.tag)) return bad("unknown tag");
    if (e.perm > 7) return bad("permission over 7");
    if (i > 0) {
      const AclEntry& p = acl[i - 1];
      if (e.tag < p.tag) return bad("entries out of order");
      if (e.tag == p.tag && (!named(e.tag) || e.id <= p.id))
        return bad("repeated entry or ids out of order");
    }
    if (named(e.tag)) {
      if (e.id == kNoId) return bad("named entry without an id");
      ++named_entries;
    }
    user_obj += e.tag == kAclUserObj;
    group_obj += e.tag == kAclGroupObj;
    other += e.tag == kAclOther;
    mask += e.tag == kAclMask;
  }
  if (user_obj != 1 || group_obj != 1 || other != 1) return bad("owner, group or other missing");
  if (named_entries > 0 && mask != 1) return bad("named entries without a mask");
  return Status::ok();
}

AclEntry* find(Acl& acl, uint16_t tag) {
  for (AclEntry& e : acl)
    if (e.tag == tag) return &e;
  return nullptr;
}

// The entry that carries the group class: the mask when there is one.
AclEntry& group_class(Acl& acl) {
  AclEntry* m = find(acl, kAclMask);
  return m ? *m : *find(acl, kAclGroupObj);
}

}  // namespace

Result<Acl> decode_acl(std::span<const std::byte> value) {
  if (value.size() < kHeader || (value.size() - kHeader) % kEntry != 0)
    return Status::error(EINVAL, "ACL: size is not a header and whole entries");
  Decoder d(value);
  if (d.u32() != kAclVersion) return Status::error(EINVAL, "ACL: unknown version");
  Acl acl((value.size() - kHeader) / kEntry);
  for (AclEntry& e : acl) {
    e.tag = d.u16();
    e.perm = d.u16();
    e.id = d.u32();
    if (!named(e.tag)) e.id = kNoId;  // the kernel ignores it there
  }
  CARDFS_RETURN_IF_ERROR(check_valid(acl));
  return acl;
}

std::vector<std::byte> encode_acl(const Acl& acl) {
  std::vector<std::byte> out(kHeader + kEntry * acl.size());
  Encoder e(out);
  e.u32(kAclVersion);
  for (const AclEntry& a : acl) {
    e.u16(a.tag);
    e.u16(a.perm);
    e.u32(named(a.tag) ? a.id : kNoId);
  }
  return out;
}

Acl acl_from_mode(uint32_t mode) {
  return {{kAclUserObj, uint16_t((mode >> 6) & 7), kNoId},
          {kAclGroupObj, uint16_t((mode >> 3) & 7), kNoId},
          {kAclOther, uint16_t(mode & 7), kNoId}};
}

uint32_t acl_mode_bits(const Acl& acl) {
  Acl copy = acl;
  return uint32_t(find(copy, kAclUserObj)->perm) << 6 | uint32_t(group_class(copy).perm) << 3 |
         find(copy, kAclOther)->perm;
}

bool acl_is_mode(const Acl& acl) {
  for (const AclEntry& e : acl)
    if (named(e.tag) || e.tag == kAclMask) return false;
  return true;
}

void acl_chmod(Acl& acl, uint32_t mode) {
  find(acl, kAclUserObj)->perm = uint16_t((mode >> 6) & 7);
  group_class(acl).perm = uint16_t((mode >> 3) & 7);
  find(acl, kAclOther)->perm = uint16_t(mode & 7);
}

uint32_t acl_create_masq(Acl& acl, uint32_t mode) {
  AclEntry& owner = *find(acl, kAclUserObj);
  AclEntry& group = group_class(acl);
  AclEntry& other = *find(acl, kAclOther);
  owner.perm &= uint16_t((mode >> 6) & 7);
  group.perm &= uint16_t((mode >> 3) & 7);
  other.perm &= uint16_t(mode & 7);
  return (mode & ~0777u) | uint32_t(owner.perm) << 6 | uint32_t(group.perm) << 3 | other.perm;
}

}  // namespace cardfs::fusefs
