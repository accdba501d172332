// The superblock (primary, or a backup with -b or when the primary is
// damaged), its backups, and the group descriptor table.
#include <cstring>

#include "tools/fsck/checker.h"
#include "tools/fsck/super.h"

namespace cardfs::fsck {

using namespace fusefs;

namespace {

bool same_geometry(const Superblock& a, const Superblock& b) {
  return a.uuid == b.uuid && a.blocks_count == b.blocks_count &&
         a.inodes_count == b.inodes_count && a.log_block_size == b.log_block_size &&
         a.blocks_per_group == b.blocks_per_group && a.inodes_per_group == b.inodes_per_group &&
         a.feature_compat == b.feature_compat && a.feature_incompat == b.feature_incompat &&
         // orphan_present comes and goes with the list in the primary only
         (a.feature_ro_compat & ~kRoCompatOrphanPresent) ==
             (b.feature_ro_compat & ~kRoCompatOrphanPresent) &&
         a.hash_seed == b.hash_seed;
}

bool same_locations(const GroupDesc& gd, const GroupLayout& l) {
  return gd.block_bitmap == l.block_bitmap && gd.inode_bitmap == l.inode_bitmap &&
         gd.inode_table == l.inode_table;
}

}  // namespace

Result<Superblock> read_superblock_at(ImageIo& io, uint64_t byte) {
  std::vector<std::byte> buf(kSuperblockSize);
  if (byte + kSuperblockSize > io.size())
    return Status::error(EINVAL, "superblock location past the end of the image");
  CARDFS_RETURN_IF_ERROR(io.read(byte, buf));
  return decode_superblock(buf, /*read_only=*/true);
}

std::vector<SuperCandidate> backup_candidates(uint64_t image_bytes) {
  std::vector<SuperCandidate> out;
  for (uint32_t bs : {1024u, 2048u, 4096u}) {
    const uint64_t first = bs == 1024 ? 1 : 0;
    for (uint32_t g = 1; g < 1u << 20; ++g) {
      if (!group_has_super(g)) continue;
      uint64_t block = first + uint64_t(g) * 8 * bs;
      if ((block + 1) * bs > image_bytes) break;
      out.push_back({block, bs, g});
    }
  }
  return out;
}

Result<FoundSuper> find_superblock(ImageIo& io, uint64_t backup_block) {
  if (backup_block) {
    for (uint32_t bs : {1024u, 2048u, 4096u}) {
      auto sb = read_superblock_at(io, backup_block * bs);
      if (sb.is_ok() && sb->block_size() == bs) return FoundSuper{*sb, backup_block, Status::ok()};
    }
    return Status::error(EINVAL, "no valid superblock at block " + std::to_string(backup_block));
  }
  auto primary = read_superblock_at(io, kSuperblockOffset);
  if (primary.is_ok()) return FoundSuper{*primary, 0, Status::ok()};
  for (const SuperCandidate& c : backup_candidates(io.size())) {
    auto sb = read_superblock_at(io, c.block * c.block_size);
    if (sb.is_ok() && sb->block_size() == c.block_size && sb->block_group_nr == c.group)
      return FoundSuper{*sb, c.block, primary.status()};
  }
  return Status::error(EINVAL, "no cardfs superblock found (primary: " +
                                   primary.status().message() + "; no backup is valid either)");
}

Result<std::vector<std::byte>> read_gdt(ImageIo& io, const Superblock& sb, uint32_t group) {
  const uint32_t bs = sb.block_size();
  std::vector<std::byte> gdt(uint64_t(gdt_blocks(sb)) * bs);
  CARDFS_RETURN_IF_ERROR(io.read((group_first_block(sb, group) + 1) * bs, gdt));
  return gdt;
}

Status Checker::check_super() {
  CARDFS_ASSIGN_OR_RETURN(FoundSuper found, find_superblock(io_, o_.superblock));
  sb_ = found.sb;
  sb_block_ = found.block;
  bs_ = sb_.block_size();
  blocks_.set_block_size(bs_);
  seed_ = sb_.csum_seed();
  if (sb_.blocks_count * bs_ > io_.size())
    return Status::error(EINVAL, "the filesystem has " + std::to_string(sb_.blocks_count) +
                                     " blocks but the image holds only " +
                                     std::to_string(io_.size() / bs_));
  // decode_superblock does not check that the last group holds its own
  // metadata; every pass indexes blocks by that layout.
  const GroupLayout last = group_layout(sb_, sb_.group_count() - 1);
  if (last.first_data > last.first + last.count)
    return Status::error(EINVAL, "the last group (" + std::to_string(last.count) +
                                     " blocks) is too small for its bitmaps and inode table (" +
                                     std::to_string(last.first_data - last.first) + " blocks)");
  if (!found.primary_error.is_ok()) {
    if (ask(Problem::kSuperPrimaryBad,
            "The primary superblock is damaged (" + found.primary_error.message() +
                "); the backup at block " + std::to_string(found.block) + " is used."))
      rewrite_super_ = true;
  } else if (found.block) {
    say("Using the backup superblock at block " + std::to_string(found.block) + ".");
    rewrite_super_ = o_.mode != Mode::kNo;
  }
  const uint32_t groups = sb_.group_count();
  const uint32_t home = found.block ? sb_.block_group_nr : 0;
  CARDFS_ASSIGN_OR_RETURN(auto gdt, read_gdt(io_, sb_, home));
  gd_.resize(groups);
  for (uint32_t g = 0; g < groups; ++g) {
    const GroupLayout l = group_layout(sb_, g);
    auto gd = decode_group_desc(std::span(gdt).subspan(size_t(g) * kDescSize, kDescSize), g, seed_);
    std::string why = !gd.is_ok() ? "its checksum does not match"
                      : !same_locations(*gd, l) ? "its bitmap or inode table location is wrong"
                                                : "";
    if (gd.is_ok()) gd_[g] = *gd;
    if (why.empty()) continue;
    // Locations are fixed by the geometry, so the descriptor can be rebuilt.
    gd_[g].block_bitmap = l.block_bitmap;
    gd_[g].inode_bitmap = l.inode_bitmap;
    gd_[g].inode_table = l.inode_table;
    if (ask(Problem::kGroupDescBad, "Group descriptor " + std::to_string(g) + " is damaged: " + why + "."))
      gdt_dirty_ = true;
  }
  check_backups();
  return Status::ok();
}

void Checker::check_backups() {
  for (uint32_t g = 1; g < sb_.group_count(); ++g) {
    if (!group_has_super(g) || (sb_block_ && g == sb_.block_group_nr)) continue;
    const uint64_t block = group_first_block(sb_, g);
    auto copy = read_superblock_at(io_, block * bs_);
    std::string why = !copy.is_ok() ? copy.status().message()
                      : !same_geometry(*copy, sb_) ? "its geometry differs from the primary's"
                                                   : "";
    if (why.empty()) {
      auto gdt = read_gdt(io_, sb_, g);
      for (uint32_t i = 0; gdt.is_ok() && why.empty() && i < sb_.group_count(); ++i) {
        auto gd = decode_group_desc(std::span(*gdt).subspan(size_t(i) * kDescSize, kDescSize), i, seed_);
        if (!gd.is_ok() || !same_locations(*gd, group_layout(sb_, i)))
          why = "its copy of group descriptor " + std::to_string(i) + " is damaged";
      }
    }
    if (why.empty()) continue;
    if (ask(Problem::kSuperBackupBad, "The backup superblock in group " + std::to_string(g) +
                                          " (block " + std::to_string(block) + ") is damaged: " +
                                          why + "."))
      rewrite_super_ = true;
  }
}

Status Checker::write_superblocks() {
  sb_.state = kStateClean;
  if (o_.now_sec) sb_.check_time = o_.now_sec;
  std::vector<std::byte> gdt(uint64_t(gdt_blocks(sb_)) * bs_);
  for (uint32_t g = 0; g < gd_.size(); ++g)
    encode_group_desc(gd_[g], g, seed_, std::span(gdt).subspan(size_t(g) * kDescSize, kDescSize));
  for (uint32_t g = 0; g < sb_.group_count(); ++g) {
    if (!group_has_super(g)) continue;
    Superblock copy = sb_;
    copy.block_group_nr = uint16_t(g);
    BlockOffset at = superblock_location(sb_, g);
    CARDFS_ASSIGN_OR_RETURN(auto blk, read_block(at.block));
    encode_superblock(copy, std::span(blk).subspan(at.offset, kSuperblockSize));
    CARDFS_RETURN_IF_ERROR(write_block(at.block, blk));
    const uint64_t first = group_first_block(sb_, g) + 1;
    for (uint32_t b = 0; b < gdt_blocks(sb_); ++b)
      CARDFS_RETURN_IF_ERROR(write_block(first + b, std::span(gdt).subspan(size_t(b) * bs_, bs_)));
  }
  return Status::ok();
}

}  // namespace cardfs::fsck
