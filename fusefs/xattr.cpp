#include "fusefs/xattr.h"

#include <sys/xattr.h>

#include <algorithm>
#include <cstring>

#include "base/coding.h"
#include "base/crc32c.h"

namespace cardfs::fusefs {
namespace {

struct Namespace {
  uint8_t index;
  std::string_view prefix;  // for the ACLs: the whole name
};
constexpr Namespace kNamespaces[] = {{kXattrUser, "user."},
                                     {kXattrTrusted, "trusted."},
                                     {kXattrSecurity, "security."},
                                     {kXattrAclAccess, kAclAccessName},
                                     {kXattrAclDefault, kAclDefaultName}};

bool known_index(uint8_t index) {
  for (const Namespace& ns : kNamespaces)
    if (ns.index == index) return true;
  return false;
}

// An ACL's stored name is empty; every other entry has one.
bool name_fits_index(uint8_t index, size_t name_len) {
  return is_acl_index(index) ? name_len == 0 : name_len > 0;
}

uint32_t align4(uint32_t n) { return (n + 3) & ~3u; }

uint32_t entry_size(const XattrEntry& e) {
  return align4(kXattrEntryHeader + uint32_t(e.key.name.size()) + uint32_t(e.value.size()));
}

uint32_t block_crc(std::span<const std::byte> block, uint32_t seed) {
  return crc32c(seed, block.first(block.size() - 4));
}

}  // namespace

Result<XattrName> parse_xattr_name(std::string_view full) {
  if (full.size() > kXattrNameMax) return Status::error(ERANGE, "attribute name too long");
  if (full == kAclAccessName) return XattrName{kXattrAclAccess, ""};
  if (full == kAclDefaultName) return XattrName{kXattrAclDefault, ""};
  for (const Namespace& ns : kNamespaces) {
    if (is_acl_index(ns.index) || !full.starts_with(ns.prefix)) continue;
    full.remove_prefix(ns.prefix.size());
    if (full.empty()) return Status::error(EINVAL, "empty attribute name");
    return XattrName{ns.index, std::string(full)};
  }
  return Status::error(EOPNOTSUPP, "unsupported attribute namespace");
}

std::string full_xattr_name(const XattrName& n) {
  for (const Namespace& ns : kNamespaces)
    if (ns.index == n.index) return std::string(ns.prefix) + n.name;
  return n.name;  // unreachable: parse and decode admit known indexes only
}

uint32_t xattr_capacity(uint32_t block_size) { return block_size - kXattrHeaderSize - 4; }

Result<XattrSet> decode_xattr_block(std::span<const std::byte> block, uint32_t owner,
                                    uint32_t seed) {
  auto bad = [owner](const std::string& why) {
    return Status::error(EIO, "attribute block of inode " + std::to_string(owner) + ": " + why);
  };
  if (block.size() < kXattrHeaderSize + 4) return bad("block too small");
  Decoder h(block);
  if (h.u32() != kXattrMagic) return bad("bad magic");
  if (h.u32() != owner) return bad("owned by another inode");
  const uint32_t count = h.u32(), used = h.u32();
  if (used > xattr_capacity(uint32_t(block.size()))) return bad("entries overflow the block");
  if (get_u32(block.data() + block.size() - 4) != block_crc(block, seed)) return bad("bad checksum");
  XattrSet set;
  Decoder d(block.subspan(kXattrHeaderSize, used));
  for (uint32_t i = 0; i < count; ++i) {
    XattrEntry e;
    e.key.index = d.u8();
    const uint8_t name_len = d.u8();
    d.skip(2);
    const uint32_t value_len = d.u32();
    if (!d.ok() || !name_fits_index(e.key.index, name_len) || value_len > used)
      return bad("bad entry " + std::to_string(i));
    const size_t at = kXattrHeaderSize + d.pos();
    d.skip(align4(name_len + value_len));
    if (!d.ok()) return bad("entry " + std::to_string(i) + " overflows");
    e.key.name.assign(reinterpret_cast<const char*>(block.data() + at), name_len);
    e.value.assign(block.data() + at + name_len, block.data() + at + name_len + value_len);
    if (!known_index(e.key.index)) return bad("unknown name index");
    if (!set.empty() && !(set.back().key < e.key)) return bad("entries out of order");
    set.push_back(std::move(e));
  }
  if (d.pos() != used) return bad("entry bytes do not add up");
  return set;
}

Status encode_xattr_block(const XattrSet& set, uint32_t owner, uint32_t seed,
                          std::span<std::byte> out) {
  uint64_t used = 0;
  for (const XattrEntry& e : set) used += entry_size(e);
  if (used > xattr_capacity(uint32_t(out.size())))
    return Status::error(ENOSPC, "attributes do not fit in one block");
  std::memset(out.data(), 0, out.size());
  Encoder h(out);
  h.u32(kXattrMagic);
  h.u32(owner);
  h.u32(uint32_t(set.size()));
  h.u32(uint32_t(used));
  std::byte* p = out.data() + kXattrHeaderSize;
  for (const XattrEntry& e : set) {
    put_u8(p, e.key.index);
    put_u8(p + 1, uint8_t(e.key.name.size()));
    put_u32(p + 4, uint32_t(e.value.size()));
    std::memcpy(p + kXattrEntryHeader, e.key.name.data(), e.key.name.size());
    if (!e.value.empty())
      std::memcpy(p + kXattrEntryHeader + e.key.name.size(), e.value.data(), e.value.size());
    p += entry_size(e);
  }
  put_u32(out.data() + out.size() - 4, block_crc(out, seed));
  return Status::ok();
}

static XattrSet::iterator lower(XattrSet& set, const XattrName& key) {
  return std::lower_bound(set.begin(), set.end(), key,
                          [](const XattrEntry& e, const XattrName& k) { return e.key < k; });
}

Status xattr_put(XattrSet& set, XattrName key, std::span<const std::byte> value, int flags) {
  if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) return Status::error(EINVAL, "bad xattr flags");
  auto it = lower(set, key);
  const bool exists = it != set.end() && it->key == key;
  if (exists && (flags & XATTR_CREATE)) return Status::error(EEXIST, "attribute exists");
  if (!exists && (flags & XATTR_REPLACE)) return Status::error(ENODATA, "no such attribute");
  std::vector<std::byte> v(value.begin(), value.end());
  if (exists)
    it->value = std::move(v);
  else
    set.insert(it, XattrEntry{std::move(key), std::move(v)});
  return Status::ok();
}

Status xattr_remove(XattrSet& set, const XattrName& key) {
  auto it = lower(set, key);
  if (it == set.end() || it->key != key) return Status::error(ENODATA, "no such attribute");
  set.erase(it);
  return Status::ok();
}

const XattrEntry* xattr_find(const XattrSet& set, const XattrName& key) {
  auto it = lower(const_cast<XattrSet&>(set), key);
  return it != set.end() && it->key == key ? &*it : nullptr;
}

std::string xattr_list(const XattrSet& set) {
  std::string out;
  for (const XattrEntry& e : set) {
    out += full_xattr_name(e.key);
    out.push_back('\0');
  }
  return out;
}

Result<XattrSet> load_xattrs_locked(Context& ctx, Inode& inode) {
  const uint64_t b = inode.d.xattr_block;
  if (b == 0) return XattrSet{};
  if (!ctx.groups.is_data_block(b))
    return ctx.corrupt("inode " + std::to_string(inode.ino) + ": attribute block " +
                       std::to_string(b) + " is outside the data area");
  CARDFS_ASSIGN_OR_RETURN(auto buf, ctx.cache.bread(b));
  buf.lock();
  auto set = decode_xattr_block(buf.data(), inode.ino, ctx.seed);
  buf.unlock();
  if (!set.is_ok()) return ctx.corrupt(set.status().message() + " (block " + std::to_string(b) + ")");
  return set;
}

// A zeroed block for the inode's attributes, counted in its i_blocks; it is
// metadata, so it goes to a metadata AU (groups.h).
static Result<cache::BufferRef> new_xattr_block(Context& ctx, Inode& inode) {
  CARDFS_ASSIGN_OR_RETURN(uint64_t b, ctx.groups.alloc_meta_block(ctx.groups.group_of_inode(inode.ino)));
  auto buf = ctx.cache.bget_zeroed(b);
  if (!buf.is_ok()) {
    ctx.groups.free_block(b);
    return buf.status();
  }
  MutexLock lock(inode.map_mu);
  inode.d.xattr_block = b;
  inode.d.blocks += ctx.bs / 512;
  return buf;
}

Status save_xattrs_locked(Context& ctx, Inode& inode, const XattrSet& set) {
  if (set.empty()) {
    MutexLock lock(inode.map_mu);
    free_xattr_block_locked(ctx, inode);
    return Status::ok();
  }
  std::vector<std::byte> block(ctx.bs);
  CARDFS_RETURN_IF_ERROR(encode_xattr_block(set, inode.ino, ctx.seed, block));
  CARDFS_ASSIGN_OR_RETURN(auto buf, inode.d.xattr_block ? ctx.cache.bread(inode.d.xattr_block)
                                                         : new_xattr_block(ctx, inode));
  buf.lock();
  std::memcpy(buf.data().data(), block.data(), block.size());
  buf.unlock();
  buf.mark_dirty();
  return Status::ok();
}

void free_xattr_block_locked(Context& ctx, Inode& inode) {
  const uint64_t b = inode.d.xattr_block;
  if (b == 0) return;
  inode.d.xattr_block = 0;
  if (!ctx.groups.is_data_block(b)) return;  // corrupt pointer: never free what it names
  ctx.cache.bforget(b);
  ctx.groups.free_block(b);
  inode.d.blocks -= std::min<uint64_t>(inode.d.blocks, ctx.bs / 512);
}

}  // namespace cardfs::fusefs
