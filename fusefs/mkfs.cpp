#include "fusefs/mkfs.h"

#include <sys/stat.h>

#include <cmath>
#include <cstring>
#include <sstream>

#include "base/coding.h"
#include "base/crc32c.h"
#include "base/uuid.h"
#include "blockdev/block_device.h"
#include "fusefs/bitmap.h"
#include "fusefs/context.h"
#include "fusefs/dir_block.h"
#include "fusefs/journal_format.h"

namespace cardfs::fusefs {
namespace {

constexpr uint32_t kLostFoundBytes = 16384;  // preallocated so fsck need not allocate

// Direct blocks only, so mkfs needs no indirect block.
uint32_t lost_found_blocks(uint32_t bs) {
  return std::clamp(kLostFoundBytes / bs, 1u, uint32_t(kDirectBlocks));
}

uint32_t group_overhead(const Superblock& sb, uint32_t g) {
  return (group_has_super(g) ? 1 + gdt_blocks(sb) : 0) + 2 + inode_table_blocks(sb);
}

uint32_t inodes_per_group_for(const Superblock& sb, uint64_t device_bytes,
                              const FormatOptions& o) {
  const uint32_t per_block = sb.block_size() / kInodeSize;
  uint64_t total = o.inode_count ? o.inode_count : device_bytes / o.inode_ratio;
  uint64_t ipg = (total + sb.group_count() - 1) / sb.group_count();
  ipg = (ipg + per_block - 1) / per_block * per_block;
  ipg = std::clamp<uint64_t>(ipg, per_block, 8ull * sb.block_size());
  while (ipg * sb.group_count() < 2 * kFirstIno && ipg + per_block <= 8ull * sb.block_size())
    ipg += per_block;
  return uint32_t(ipg);
}


Status write_inode(cache::PageCache& cache, const Superblock& sb, uint64_t itable, uint32_t ino,
                   const DiskInode& di) {
  BlockOffset at = inode_location(sb, itable, ino);
  CARDFS_ASSIGN_OR_RETURN(auto buf, cache.bread(at.block));
  buf.lock();
  encode_inode(di, ino, sb.csum_seed(), buf.data().subspan(at.offset, kInodeSize));
  buf.unlock();
  buf.mark_dirty(at.offset, kInodeSize);
  return Status::ok();
}

DiskInode dir_inode(uint16_t mode, uint16_t links, uint32_t nblocks, const Superblock& sb,
                    const FormatOptions& o) {
  DiskInode di;
  di.mode = S_IFDIR | mode;
  di.links_count = links;
  di.uid = o.root_uid;
  di.gid = o.root_gid;
  di.size = uint64_t(nblocks) * sb.block_size();
  di.blocks = di.size / 512;
  Timespec now{int64_t(o.now_sec), 0};
  di.atime = di.mtime = di.ctime = di.crtime = now;
  di.generation = 1;
  return di;
}

// Root (one block) and lost+found (a few empty blocks) at the start of group 0's data.
Status write_root_dirs(cache::PageCache& cache, const Superblock& sb, const GroupLayout& g0,
                       const FormatOptions& o) {
  const uint32_t bs = sb.block_size(), seed = sb.csum_seed();
  std::vector<std::byte> blk(bs);
  dir_block::init_empty(blk);
  for (auto [name, ino, type] : {std::tuple{".", kRootIno, kFtDir}, {"..", kRootIno, kFtDir},
                                 {"lost+found", kLostFoundIno, kFtDir}})
    if (auto r = dir_block::add(blk, name, ino, type); !r.is_ok() || !*r)
      return Status::error(EIO, "mkfs: root directory block overflow");
  dir_block::seal(blk, kRootIno, seed);
  CARDFS_RETURN_IF_ERROR(write_whole_block(cache, g0.first_data, blk));

  DiskInode root = dir_inode(0755, 3, 1, sb, o);
  root.block[0] = uint32_t(g0.first_data);
  CARDFS_RETURN_IF_ERROR(write_inode(cache, sb, g0.inode_table, kRootIno, root));

  const uint32_t n = lost_found_blocks(bs);
  DiskInode lf = dir_inode(0700, 2, n, sb, o);
  for (uint32_t i = 0; i < n; ++i) {
    dir_block::init_empty(blk);
    if (i == 0) {
      (void)dir_block::add(blk, ".", kLostFoundIno, kFtDir);
      (void)dir_block::add(blk, "..", kRootIno, kFtDir);
    }
    dir_block::seal(blk, kLostFoundIno, seed);
    lf.block[i] = uint32_t(g0.first_data + 1 + i);
    CARDFS_RETURN_IF_ERROR(write_whole_block(cache, lf.block[i], blk));
  }
  return write_inode(cache, sb, g0.inode_table, kLostFoundIno, lf);
}

// Bitmaps and zeroed inode table of one group (the table only when the
// device does not already read as zeros there); returns its descriptor.
Result<GroupDesc> write_group(cache::PageCache& cache, const Superblock& sb, uint32_t g,
                              const JournalPlan& jp, bool zeroed) {
  const uint32_t bs = sb.block_size(), bits = 8 * bs;
  const GroupLayout l = group_layout(sb, g);
  std::vector<std::byte> bmap(bs), imap(bs);
  uint32_t used = uint32_t(l.first_data - l.first);
  if (g == 0) used += 1 + lost_found_blocks(bs);
  for (uint32_t i = 0; i < used; ++i) set_bit(bmap, i);
  if (g == 0 && jp.blocks) {
    for (uint64_t b = jp.map_first; b < jp.map_first + jp.map_blocks; ++b) set_bit(bmap, uint32_t(b - l.first));
    for (uint64_t b = jp.first; b < jp.first + jp.blocks; ++b) set_bit(bmap, uint32_t(b - l.first));
    used += jp.map_blocks + jp.blocks;
  }
  for (uint32_t i = l.count; i < bits; ++i) set_bit(bmap, i);
  for (uint32_t i = sb.inodes_per_group; i < bits; ++i) set_bit(imap, i);
  uint32_t used_inodes = g == 0 ? kFirstIno : 0;
  for (uint32_t i = 0; i < used_inodes; ++i) set_bit(imap, i);

  std::vector<std::byte> zero(bs);
  for (uint32_t i = 0; !zeroed && i < inode_table_blocks(sb); ++i)
    CARDFS_RETURN_IF_ERROR(write_whole_block(cache, l.inode_table + i, zero));
  CARDFS_RETURN_IF_ERROR(write_whole_block(cache, l.block_bitmap, bmap));
  CARDFS_RETURN_IF_ERROR(write_whole_block(cache, l.inode_bitmap, imap));

  GroupDesc gd;
  gd.block_bitmap = l.block_bitmap;
  gd.inode_bitmap = l.inode_bitmap;
  gd.inode_table = l.inode_table;
  gd.free_blocks = l.count - used;
  gd.free_inodes = sb.inodes_per_group - used_inodes;
  gd.used_dirs = g == 0 ? 2 : 0;
  gd.block_bitmap_crc = crc32c(sb.csum_seed(), bmap);
  gd.inode_bitmap_crc = crc32c(sb.csum_seed(), imap);
  return gd;
}

Status write_super_and_gdt(cache::PageCache& cache, Superblock sb,
                           const std::vector<GroupDesc>& gds, uint32_t g) {
  const uint32_t bs = sb.block_size();
  sb.block_group_nr = uint16_t(g);
  BlockOffset at = superblock_location(sb, g);
  CARDFS_ASSIGN_OR_RETURN(auto sbuf, g == 0 ? cache.bread(at.block) : cache.bget_zeroed(at.block));
  sbuf.lock();
  encode_superblock(sb, sbuf.data().subspan(at.offset, kSuperblockSize));
  sbuf.unlock();
  sbuf.mark_dirty(at.offset, kSuperblockSize);
  const uint64_t gdt = group_first_block(sb, g) + 1;
  std::vector<std::byte> blk(bs);
  for (uint32_t b = 0; b < gdt_blocks(sb); ++b) {
    std::fill(blk.begin(), blk.end(), std::byte{0});
    for (uint32_t i = 0; i < bs / kDescSize; ++i) {
      uint64_t n = uint64_t(b) * (bs / kDescSize) + i;
      if (n >= gds.size()) break;
      encode_group_desc(gds[n], uint32_t(n), sb.csum_seed(),
                        std::span(blk).subspan(i * kDescSize, kDescSize));
    }
    CARDFS_RETURN_IF_ERROR(write_whole_block(cache, gdt + b, blk));
  }
  return Status::ok();
}

// The journal where plan_journal put it: the indirect blocks mapping it
// (single, double, the double's children), a journal superblock saying
// "empty" in its first block. The rest of the ring is not zeroed: a scan
// stops at the first block whose magic, crc (seeded by this filesystem's
// uuid) or sequence does not fit.
Status write_journal(cache::PageCache& cache, const Superblock& sb, const JournalPlan& jp,
                     const FormatOptions& o) {
  const uint32_t bs = sb.block_size(), per = bs / 4, n = jp.blocks;
  const GroupLayout g0 = group_layout(sb, 0);
  const uint64_t first = jp.first;
  uint64_t next_map = jp.map_first;
  DiskInode ji;
  ji.mode = S_IFREG | 0600;
  ji.links_count = 1;
  ji.size = uint64_t(n) * bs;
  ji.blocks = uint64_t(n + journal_map_blocks(n, bs)) * (bs / 512);
  ji.atime = ji.mtime = ji.ctime = ji.crtime = Timespec{int64_t(o.now_sec), 0};
  uint64_t at = 0;  // journal blocks mapped so far
  for (; at < std::min<uint64_t>(n, kDirectBlocks); ++at) ji.block[at] = uint32_t(first + at);
  // One indirect block of up to `per` pointers to the next journal blocks.
  auto leaf = [&](uint64_t where) {
    std::vector<std::byte> blk(bs);
    for (uint32_t i = 0; i < per && at < n; ++i, ++at) put_u32(blk.data() + 4 * i, uint32_t(first + at));
    return write_whole_block(cache, where, blk);
  };
  if (at < n) {
    ji.block[kDirectBlocks] = uint32_t(next_map);
    CARDFS_RETURN_IF_ERROR(leaf(next_map++));
  }
  if (at < n) {
    const uint64_t dbl = next_map++;
    ji.block[kDirectBlocks + 1] = uint32_t(dbl);
    std::vector<std::byte> blk(bs);
    for (uint32_t i = 0; i < per && at < n; ++i) {
      put_u32(blk.data() + 4 * i, uint32_t(next_map));
      CARDFS_RETURN_IF_ERROR(leaf(next_map++));
    }
    CARDFS_RETURN_IF_ERROR(write_whole_block(cache, dbl, blk));
  }
  if (at < n) return Status::error(EINVAL, "mkfs: journal too large for its inode's map");
  journal::JournalSuper js;
  js.block_size = bs;
  js.maxlen = n;
  js.uuid = sb.uuid;
  std::vector<std::byte> blk(bs);
  journal::encode_super(js, sb.csum_seed(), blk);
  CARDFS_RETURN_IF_ERROR(write_whole_block(cache, first, blk));
  return write_inode(cache, sb, g0.inode_table, kJournalIno, ji);
}

// mke2fs's discard: the whole device in one discard. On a device whose
// discards read back as zeros (the card: a trim is a change of its map)
// the inode tables need not be written, and the device then holds the
// same bytes as after writing them: on a 64 GiB card that is 1 GiB of
// zeros not written. Returns whether the device now reads as zeros. The
// cache must hold none of the device's blocks yet.
Result<bool> discard_device(cache::PageCache& cache, uint64_t device_bytes, const FormatOptions& o) {
  blockdev::BlockDevice& dev = cache.device();
  if (!o.discard || !dev.discard_zeroes_data()) return false;
  auto bio = std::make_unique<blockdev::Bio>();
  bio->op = blockdev::BioOp::kDiscard;
  bio->discard_sectors = std::min(device_bytes / blockdev::kSectorSize, dev.sector_count());
  if (bio->discard_sectors == 0) return false;
  if (int err = blockdev::submit_and_wait(dev, std::move(bio)); err != 0)
    return Status::error(-err, "mkfs: discarding the device");
  return true;
}

}  // namespace

uint32_t journal_map_blocks(uint32_t n, uint32_t bs) {
  const uint32_t per = bs / 4;
  if (n <= uint32_t(kDirectBlocks)) return 0;
  if (n <= kDirectBlocks + per) return 1;
  return 2 + (n - kDirectBlocks - per + per - 1) / per;
}

JournalPlan plan_journal(const Superblock& sb, const FormatOptions& o) {
  JournalPlan jp;
  if (!o.journal) return jp;
  const uint32_t bs = sb.block_size();
  const GroupLayout g0 = group_layout(sb, 0);
  const uint64_t base = g0.first_data + 1 + lost_found_blocks(bs), end = g0.first + g0.count - 16;
  const int64_t room = int64_t(end) - int64_t(base);
  uint64_t n = o.journal_blocks ? o.journal_blocks : journal::default_journal_blocks(sb.blocks_count);
  if (!o.journal_blocks) n = std::min<uint64_t>(n, room / 2);
  while (n && int64_t(n + journal_map_blocks(uint32_t(n), bs)) > room) n /= 2;
  if (n < (o.journal_blocks ? 16 : journal::kMinBlocks)) return jp;
  jp.blocks = uint32_t(n);
  jp.map_first = base;
  jp.map_blocks = journal_map_blocks(jp.blocks, bs);
  jp.first = base + jp.map_blocks;
  const uint64_t au = std::max<uint64_t>(o.au_size / bs, 1);
  const uint64_t aligned = (jp.first + au - 1) / au * au;
  if (aligned + n <= end) jp.first = aligned;
  return jp;
}

Result<Superblock> plan_superblock(uint64_t device_bytes, const FormatOptions& o) {
  const uint32_t bs = o.block_size;
  if (bs != 1024 && bs != 2048 && bs != 4096)
    return Status::error(EINVAL, "block size must be 1024, 2048 or 4096");
  if (o.label.size() > 16) return Status::error(EINVAL, "label longer than 16 bytes");
  if (o.reserved_percent < 0 || o.reserved_percent > 50)
    return Status::error(EINVAL, "reserved percentage must be within 0..50");
  if (!o.inode_count && (o.inode_ratio < 1024 || o.inode_ratio > (64u << 20)))
    return Status::error(EINVAL, "inode ratio must be within 1024..64 MiB");
  Superblock sb;
  sb.log_block_size = bs == 1024 ? 0 : bs == 2048 ? 1 : 2;
  sb.first_data_block = bs == 1024 ? 1 : 0;
  sb.blocks_per_group = 8 * bs;
  sb.blocks_count = std::min<uint64_t>(device_bytes / bs, 0xFFFFFFFFull);
  sb.feature_compat = kCompatDirIndex;
  sb.feature_ro_compat = kRoCompatSparseSuper | kRoCompatLargeFile;
  sb.feature_incompat = kIncompatFiletype | kIncompatMetadataCsum;
  if (sb.blocks_count <= kUnwrittenMaxBlocks) sb.feature_incompat |= kIncompatUnwritten;
  if (sb.blocks_count < sb.first_data_block + 64)
    return Status::error(EINVAL, "device too small for a filesystem");
  sb.inodes_per_group = inodes_per_group_for(sb, device_bytes, o);
  // A last group too short for its own metadata and some data is dropped.
  for (;;) {
    uint32_t last = sb.group_count() - 1;
    if (group_block_count(sb, last) >= group_overhead(sb, last) + 16) break;
    if (last == 0) return Status::error(EINVAL, "device too small for a filesystem");
    sb.blocks_count = group_first_block(sb, last);
  }
  if (group_overhead(sb, 0) + 1 + lost_found_blocks(bs) + 16 > group_block_count(sb, 0))
    return Status::error(EINVAL, "device too small for a filesystem");
  sb.inodes_count = sb.group_count() * sb.inodes_per_group;
  sb.reserved_blocks = uint64_t(std::floor(double(sb.blocks_count) * o.reserved_percent / 100));
  sb.max_mount_count = 0xFFFF;  // no forced checks by mount count
  sb.mkfs_time = sb.write_time = sb.check_time = o.now_sec;
  sb.au_size = o.au_size;
  sb.uuid = o.uuid;
  std::memcpy(sb.label.data(), o.label.data(), o.label.size());
  for (uint32_t i = 0; i < 4; ++i) {
    std::byte salt[4] = {std::byte(i), std::byte(0x5E), std::byte(0xED), std::byte(0x17)};
    sb.hash_seed[i] = crc32c(crc32c(salt), std::as_bytes(std::span(sb.uuid)));
  }
  return sb;
}

Result<FormatSummary> format(cache::PageCache& cache, uint64_t device_bytes,
                             const FormatOptions& o) {
  CARDFS_ASSIGN_OR_RETURN(Superblock sb, plan_superblock(device_bytes, o));
  const JournalPlan jp = plan_journal(sb, o);
  if (jp.blocks) sb.feature_compat |= kCompatHasJournal;
  CARDFS_ASSIGN_OR_RETURN(const bool zeroed, discard_device(cache, device_bytes, o));
  std::vector<GroupDesc> gds;
  const uint32_t groups = sb.group_count();
  for (uint32_t g = 0; g < groups; ++g) {
    CARDFS_ASSIGN_OR_RETURN(GroupDesc gd, write_group(cache, sb, g, jp, zeroed));
    sb.free_blocks += gd.free_blocks;
    sb.free_inodes += gd.free_inodes;
    gds.push_back(gd);
    if (o.progress) o.progress(g + 1, groups);
  }
  CARDFS_RETURN_IF_ERROR(write_root_dirs(cache, sb, group_layout(sb, 0), o));
  if (jp.blocks) CARDFS_RETURN_IF_ERROR(write_journal(cache, sb, jp, o));
  FormatSummary sum;
  sum.journal_blocks = jp.blocks;
  for (uint32_t g = 0; g < groups; ++g) {
    if (!group_has_super(g)) continue;
    CARDFS_RETURN_IF_ERROR(write_super_and_gdt(cache, sb, gds, g));
    sum.backup_groups.push_back(g);
    sum.backup_blocks.push_back(superblock_location(sb, g).block);
  }
  CARDFS_RETURN_IF_ERROR(cache.sync_all());
  sum.sb = sb;
  return sum;
}

std::string FormatSummary::to_text() const {
  std::ostringstream o;
  const uint32_t bs = sb.block_size();
  o << "Creating filesystem with " << sb.blocks_count << " " << bs / 1024 << "k blocks and "
    << sb.inodes_count << " inodes\n";
  o << "Filesystem UUID: " << uuid_text(sb.uuid) << "\n";
  std::string label(sb.label.data(), strnlen(sb.label.data(), sb.label.size()));
  if (!label.empty()) o << "Filesystem volume name: " << label << "\n";
  o << "Block size: " << bs << ", " << sb.group_count() << " block groups, "
    << sb.blocks_per_group << " blocks per group, " << sb.inodes_per_group
    << " inodes per group\n";
  o << "Reserved blocks: " << sb.reserved_blocks << ", free blocks: " << sb.free_blocks
    << ", free inodes: " << sb.free_inodes << "\n";
  o << "Allocation unit: " << sb.au_size / 1024 << " KiB\n";
  if (journal_blocks) o << "Journal: " << journal_blocks << " blocks\n";
  o << "Superblock backups stored on blocks:";
  for (size_t i = 1; i < backup_blocks.size(); ++i)
    o << (i == 1 ? "\n\t" : ", ") << backup_blocks[i];
  if (backup_blocks.size() <= 1) o << " (none)";
  o << "\n";
  return o.str();
}

}  // namespace cardfs::fusefs
