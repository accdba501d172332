#include "fusefs/layout.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "base/coding.h"
#include "base/crc32c.h"

namespace cardfs::fusefs {
namespace {

constexpr size_t kSbCrcOffset = 1020;
constexpr size_t kSbLastOrphanOffset = 184;
constexpr size_t kGdCrcOffset = 60;
constexpr size_t kInodeCrcOffset = 252;
constexpr size_t kInodeNextOrphanOffset = 156;
constexpr size_t kInodePointerArea = 96;

Status corrupt(const std::string& what) { return Status::error(EIO, what); }

uint32_t crc_with_number(uint32_t seed, uint32_t number, std::span<const std::byte> bytes) {
  std::byte n[4];
  put_u32(n, number);
  return crc32c(crc32c(seed, n), bytes);
}

void put_time(Encoder& e, const Timespec& t, bool nsec_first) {
  if (nsec_first) e.u32(t.nsec);
  e.u64(uint64_t(t.sec));
  if (!nsec_first) e.u32(t.nsec);
}

Status check_geometry(const Superblock& sb) {
  const uint32_t bs = sb.block_size();
  if (sb.blocks_per_group != 8 * bs)
    return corrupt("superblock: blocks_per_group " + std::to_string(sb.blocks_per_group) +
                   " is not 8 x block size");
  if (sb.inodes_per_group == 0 || sb.inodes_per_group > 8 * bs ||
      sb.inodes_per_group % (bs / kInodeSize) != 0)
    return corrupt("superblock: bad inodes_per_group " + std::to_string(sb.inodes_per_group));
  if (sb.inode_size != kInodeSize || sb.desc_size != kDescSize)
    return corrupt("superblock: unsupported inode or descriptor size");
  if (sb.first_data_block != (bs == 1024 ? 1u : 0u))
    return corrupt("superblock: bad first_data_block");
  if (sb.blocks_count <= sb.first_data_block || sb.blocks_count > 0xFFFFFFFFull)
    return corrupt("superblock: bad blocks_count " + std::to_string(sb.blocks_count));
  if (uint64_t(sb.inodes_count) != uint64_t(sb.group_count()) * sb.inodes_per_group)
    return corrupt("superblock: inodes_count does not match the groups");
  if (sb.free_blocks > sb.blocks_count || sb.free_inodes > sb.inodes_count ||
      sb.reserved_blocks > sb.blocks_count)
    return corrupt("superblock: free or reserved counts exceed the totals");
  if (sb.hash_version != kHashVersionSeeded)
    return corrupt("superblock: unknown directory hash version " +
                   std::to_string(sb.hash_version));
  if (sb.first_ino != kFirstIno || sb.inodes_count < kFirstIno)
    return corrupt("superblock: bad first_ino or too few inodes");
  return Status::ok();
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

Status check_features(const Superblock& sb, bool read_only) {
  if (uint32_t unknown = sb.feature_incompat & ~kSupportedIncompat)
    return Status::error(EOPNOTSUPP, "unsupported incompatible features " + hex(unknown) +
                                         " (refusing to mount)");
  if (!(sb.feature_incompat & kIncompatMetadataCsum))
    return Status::error(EOPNOTSUPP, "images without metadata checksums are not supported");
  if (uint32_t unknown = sb.feature_ro_compat & ~kSupportedRoCompat; unknown && !read_only)
    return Status::error(EROFS, "unsupported read-only-compatible features " + hex(unknown) +
                                    " (mount read-only)");
  if ((sb.feature_incompat & kIncompatUnwritten) && sb.blocks_count > kUnwrittenMaxBlocks)
    return corrupt("superblock: unwritten blocks need fewer than 2^31 blocks");
  return Status::ok();
}

}  // namespace

uint8_t file_type_from_mode(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return kFtRegular;
    case S_IFDIR: return kFtDir;
    case S_IFCHR: return kFtChar;
    case S_IFBLK: return kFtBlock;
    case S_IFIFO: return kFtFifo;
    case S_IFSOCK: return kFtSocket;
    case S_IFLNK: return kFtSymlink;
    default: return kFtUnknown;
  }
}

uint32_t Superblock::group_count() const {
  uint64_t data = blocks_count - first_data_block;
  return uint32_t((data + blocks_per_group - 1) / blocks_per_group);
}

uint32_t Superblock::csum_seed() const {
  return crc32c(std::as_bytes(std::span(uuid)));
}

void encode_superblock(const Superblock& sb, std::span<std::byte> out) {
  std::fill(out.begin(), out.begin() + kSuperblockSize, std::byte{0});
  Encoder e(out.first(kSuperblockSize));
  e.u32(sb.magic); e.u32(sb.version);
  e.u32(sb.feature_compat); e.u32(sb.feature_ro_compat); e.u32(sb.feature_incompat);
  e.u32(sb.log_block_size);
  e.u64(sb.blocks_count); e.u64(sb.free_blocks);
  e.u32(sb.inodes_count); e.u32(sb.free_inodes);
  e.u32(sb.blocks_per_group); e.u32(sb.inodes_per_group); e.u32(sb.first_data_block);
  e.u16(sb.inode_size); e.u16(sb.desc_size);
  e.u64(sb.reserved_blocks);
  e.u16(sb.state); e.u16(sb.mount_count); e.u16(sb.max_mount_count); e.u16(sb.block_group_nr);
  e.u64(sb.mount_time); e.u64(sb.write_time); e.u64(sb.check_time); e.u64(sb.mkfs_time);
  e.u32(sb.au_size); e.u32(sb.default_mount_opts);
  for (uint32_t s : sb.hash_seed) e.u32(s);
  for (uint8_t b : sb.uuid) e.u8(b);
  for (char c : sb.label) e.u8(uint8_t(c));
  e.u32(sb.first_ino); e.u32(sb.journal_ino); e.u32(sb.lost_found_ino);
  e.u8(sb.hash_version);
  put_u32(out.data() + kSbLastOrphanOffset, sb.last_orphan);
  put_u32(out.data() + kSbCrcOffset, crc32c(sb.csum_seed(), out.first(kSbCrcOffset)));
}

Result<Superblock> decode_superblock(std::span<const std::byte> in, bool read_only) {
  if (in.size() < kSuperblockSize) return corrupt("superblock: short read");
  Decoder d(in.first(kSuperblockSize));
  Superblock sb;
  sb.magic = d.u32();
  if (sb.magic != kMagic) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%08x", sb.magic);
    return Status::error(EINVAL, std::string("not a cardfs filesystem: bad magic ") + hex +
                                     " at byte 1024");
  }
  sb.version = d.u32();
  sb.feature_compat = d.u32(); sb.feature_ro_compat = d.u32(); sb.feature_incompat = d.u32();
  sb.log_block_size = d.u32();
  sb.blocks_count = d.u64(); sb.free_blocks = d.u64();
  sb.inodes_count = d.u32(); sb.free_inodes = d.u32();
  sb.blocks_per_group = d.u32(); sb.inodes_per_group = d.u32(); sb.first_data_block = d.u32();
  sb.inode_size = d.u16(); sb.desc_size = d.u16();
  sb.reserved_blocks = d.u64();
  sb.state = d.u16(); sb.mount_count = d.u16(); sb.max_mount_count = d.u16();
  sb.block_group_nr = d.u16();
  sb.mount_time = d.u64(); sb.write_time = d.u64(); sb.check_time = d.u64();
  sb.mkfs_time = d.u64();
  sb.au_size = d.u32(); sb.default_mount_opts = d.u32();
  for (uint32_t& s : sb.hash_seed) s = d.u32();
  for (uint8_t& b : sb.uuid) b = d.u8();
  for (char& c : sb.label) c = char(d.u8());
  sb.first_ino = d.u32(); sb.journal_ino = d.u32(); sb.lost_found_ino = d.u32();
  sb.hash_version = d.u8();
  if (!d.ok()) return corrupt("superblock: truncated");
  sb.last_orphan = get_u32(in.data() + kSbLastOrphanOffset);  // range-checked where it is followed
  uint32_t want = get_u32(in.data() + kSbCrcOffset);
  uint32_t got = crc32c(sb.csum_seed(), in.first(kSbCrcOffset));
  if (want != got) return corrupt("superblock: checksum mismatch");
  if (sb.version != kVersion)
    return Status::error(EOPNOTSUPP, "unsupported format version " + std::to_string(sb.version));
  if (sb.log_block_size > 2) return corrupt("superblock: bad block size");
  CARDFS_RETURN_IF_ERROR(check_features(sb, read_only));
  CARDFS_RETURN_IF_ERROR(check_geometry(sb));
  return sb;
}

void encode_group_desc(const GroupDesc& gd, uint32_t group, uint32_t seed,
                       std::span<std::byte> out) {
  std::fill(out.begin(), out.begin() + kDescSize, std::byte{0});
  Encoder e(out.first(kDescSize));
  e.u64(gd.block_bitmap); e.u64(gd.inode_bitmap); e.u64(gd.inode_table);
  e.u32(gd.free_blocks); e.u32(gd.free_inodes); e.u32(gd.used_dirs);
  e.u16(gd.flags); e.u16(0);
  e.u32(gd.block_bitmap_crc); e.u32(gd.inode_bitmap_crc);
  put_u32(out.data() + kGdCrcOffset, crc_with_number(seed, group, out.first(kGdCrcOffset)));
}

Result<GroupDesc> decode_group_desc(std::span<const std::byte> in, uint32_t group, uint32_t seed) {
  if (in.size() < kDescSize) return corrupt("group descriptor: short");
  if (get_u32(in.data() + kGdCrcOffset) != crc_with_number(seed, group, in.first(kGdCrcOffset)))
    return corrupt("group descriptor " + std::to_string(group) + ": checksum mismatch");
  Decoder d(in.first(kDescSize));
  GroupDesc gd;
  gd.block_bitmap = d.u64(); gd.inode_bitmap = d.u64(); gd.inode_table = d.u64();
  gd.free_blocks = d.u32(); gd.free_inodes = d.u32(); gd.used_dirs = d.u32();
  gd.flags = d.u16(); d.skip(2);
  gd.block_bitmap_crc = d.u32(); gd.inode_bitmap_crc = d.u32();
  if (!d.ok()) return corrupt("group descriptor: truncated");
  return gd;
}

void encode_inode(const DiskInode& ino, uint32_t number, uint32_t seed, std::span<std::byte> out) {
  std::fill(out.begin(), out.begin() + kInodeSize, std::byte{0});
  Encoder e(out.first(kInodeSize));
  e.u16(ino.mode); e.u16(ino.links_count); e.u32(ino.uid); e.u32(ino.gid); e.u32(ino.flags);
  e.u64(ino.size); e.u64(ino.blocks);
  put_time(e, ino.atime, false);
  put_time(e, ino.mtime, true);
  put_time(e, ino.ctime, false);
  put_time(e, ino.crtime, true);
  e.u32(ino.generation); e.u32(ino.rdev); e.u64(ino.xattr_block);
  for (uint32_t b : ino.block) e.u32(b);
  for (uint8_t b : ino.spare) e.u8(b);
  e.u32(ino.next_orphan);
  put_u32(out.data() + kInodeCrcOffset, crc_with_number(seed, number, out.first(kInodeCrcOffset)));
}

Result<DiskInode> decode_inode(std::span<const std::byte> in, uint32_t number, uint32_t seed) {
  if (in.size() < kInodeSize) return corrupt("inode: short");
  auto rec = in.first(kInodeSize);
  if (std::all_of(rec.begin(), rec.end(), [](std::byte b) { return b == std::byte{0}; }))
    return DiskInode{};
  if (!inode_checksum_ok(rec, number, seed))
    return corrupt("inode " + std::to_string(number) + ": checksum mismatch");
  return decode_inode_unverified(rec, number);
}

bool inode_checksum_ok(std::span<const std::byte> in, uint32_t number, uint32_t seed) {
  return in.size() >= kInodeSize &&
         get_u32(in.data() + kInodeCrcOffset) == crc_with_number(seed, number, in.first(kInodeCrcOffset));
}

Result<DiskInode> decode_inode_unverified(std::span<const std::byte> in, uint32_t number) {
  if (in.size() < kInodeSize) return corrupt("inode: short");
  auto rec = in.first(kInodeSize);
  if (std::all_of(rec.begin(), rec.end(), [](std::byte b) { return b == std::byte{0}; }))
    return DiskInode{};
  Decoder d(rec);
  DiskInode ino;
  ino.mode = d.u16(); ino.links_count = d.u16(); ino.uid = d.u32(); ino.gid = d.u32();
  ino.flags = d.u32(); ino.size = d.u64(); ino.blocks = d.u64();
  ino.atime.sec = int64_t(d.u64()); ino.atime.nsec = d.u32();
  ino.mtime.nsec = d.u32(); ino.mtime.sec = int64_t(d.u64());
  ino.ctime.sec = int64_t(d.u64()); ino.ctime.nsec = d.u32();
  ino.crtime.nsec = d.u32(); ino.crtime.sec = int64_t(d.u64());
  ino.generation = d.u32(); ino.rdev = d.u32(); ino.xattr_block = d.u64();
  for (uint32_t& b : ino.block) b = d.u32();
  for (uint8_t& b : ino.spare) b = d.u8();
  ino.next_orphan = d.u32();  // range-checked where it is followed
  if (!d.ok()) return corrupt("inode: truncated");
  for (const Timespec* t : {&ino.atime, &ino.mtime, &ino.ctime, &ino.crtime})
    if (t->nsec >= 1000000000u) return corrupt("inode " + std::to_string(number) + ": bad time");
  return ino;
}

void set_record_next_orphan(std::span<std::byte> rec, uint32_t number, uint32_t seed,
                            uint32_t next) {
  put_u32(rec.data() + kInodeNextOrphanOffset, next);
  put_u32(rec.data() + kInodeCrcOffset, crc_with_number(seed, number, rec.first(kInodeCrcOffset)));
}

uint32_t record_next_orphan(std::span<const std::byte> rec) {
  return get_u32(rec.data() + kInodeNextOrphanOffset);
}

std::string inline_symlink_target(const DiskInode& ino) {
  std::byte area[kInlineSymlinkMax];
  for (int i = 0; i < kBlockPointers; ++i) put_u32(area + 4 * i, ino.block[i]);
  for (size_t i = 0; i < ino.spare.size(); ++i) area[4 * kBlockPointers + i] = std::byte(ino.spare[i]);
  size_t n = std::min<uint64_t>(ino.size, kInlineSymlinkMax);
  return std::string(reinterpret_cast<const char*>(area), n);
}

void set_inline_symlink_target(DiskInode& ino, std::string_view target) {
  std::byte area[kInlineSymlinkMax] = {};
  std::memcpy(area, target.data(), std::min<size_t>(target.size(), kInlineSymlinkMax));
  for (int i = 0; i < kBlockPointers; ++i) ino.block[i] = get_u32(area + 4 * i);
  for (size_t i = 0; i < ino.spare.size(); ++i) ino.spare[i] = uint8_t(area[4 * kBlockPointers + i]);
}

bool group_has_super(uint32_t group) {
  if (group <= 1) return true;
  for (uint32_t base : {3u, 5u, 7u}) {
    uint64_t p = base;
    while (p < group) p *= base;
    if (p == group) return true;
  }
  return false;
}

uint64_t group_first_block(const Superblock& sb, uint32_t group) {
  return sb.first_data_block + uint64_t(group) * sb.blocks_per_group;
}

uint32_t group_block_count(const Superblock& sb, uint32_t group) {
  uint64_t end = std::min<uint64_t>(group_first_block(sb, group) + sb.blocks_per_group,
                                    sb.blocks_count);
  return uint32_t(end - group_first_block(sb, group));
}

uint32_t gdt_blocks(const Superblock& sb) {
  return uint32_t((uint64_t(sb.group_count()) * kDescSize + sb.block_size() - 1) / sb.block_size());
}

uint32_t inode_table_blocks(const Superblock& sb) {
  return uint32_t(uint64_t(sb.inodes_per_group) * kInodeSize / sb.block_size());
}

GroupLayout group_layout(const Superblock& sb, uint32_t group) {
  GroupLayout l;
  l.first = group_first_block(sb, group);
  l.count = group_block_count(sb, group);
  uint64_t at = l.first + (group_has_super(group) ? 1 + gdt_blocks(sb) : 0);
  l.block_bitmap = at;
  l.inode_bitmap = at + 1;
  l.inode_table = at + 2;
  l.first_data = l.inode_table + inode_table_blocks(sb);
  return l;
}

BlockOffset superblock_location(const Superblock& sb, uint32_t group) {
  if (group == 0)
    return {kSuperblockOffset / sb.block_size(), uint32_t(kSuperblockOffset % sb.block_size())};
  return {group_first_block(sb, group), 0};
}

BlockOffset inode_location(const Superblock& sb, uint64_t inode_table, uint32_t ino) {
  uint64_t index = (ino - 1) % sb.inodes_per_group;
  uint64_t byte = index * kInodeSize;
  return {inode_table + byte / sb.block_size(), uint32_t(byte % sb.block_size())};
}

uint64_t max_file_size(uint32_t block_size) {
  uint64_t p = block_size / 4;
  return (kDirectBlocks + p + p * p + p * p * p) * uint64_t(block_size);
}

}  // namespace cardfs::fusefs
