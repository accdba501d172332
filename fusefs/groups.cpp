// BlockGroups: the group table: loading descriptors and bitmaps, counts, flush.
#include "fusefs/groups.h"

#include <cstring>

#include "base/crc32c.h"
#include "base/log.h"
#include "fusefs/bitmap.h"
#include "fusefs/group.h"

namespace cardfs::fusefs {

BlockGroups::BlockGroups(cache::PageCache& cache, const Superblock& sb)
    : cache_(cache),
      sb_(sb),
      bs_(sb.block_size()),
      bpg_(sb.blocks_per_group),
      ipg_(sb.inodes_per_group),
      seed_(sb.csum_seed()),
      au_blocks_(std::max<uint64_t>(1, sb.au_size / sb.block_size())),
      windows_(sb.blocks_count, sb.block_size()) {}

BlockGroups::~BlockGroups() = default;

Result<std::unique_ptr<BlockGroups>> BlockGroups::load(cache::PageCache& cache,
                                                       const Superblock& sb) {
  std::unique_ptr<BlockGroups> bg(new BlockGroups(cache, sb));
  for (uint32_t g = 0; g < sb.group_count(); ++g) CARDFS_RETURN_IF_ERROR(bg->load_group(g));
  std::vector<GroupLayout> layouts;
  for (const auto& grp : bg->groups_) layouts.push_back(grp->layout);
  bg->meta_ = MetadataAus(bg->au_blocks_, sb.blocks_count, layouts);
  return bg;
}

Status BlockGroups::load_group(uint32_t g) {
  auto grp = std::make_unique<Group>();
  const uint32_t per_block = bs_ / kDescSize;
  const uint64_t gdt_block = group_first_block(sb_, 0) + 1 + g / per_block;
  {
    CARDFS_ASSIGN_OR_RETURN(auto buf, cache_.bread(gdt_block));
    buf.lock();
    auto gd = decode_group_desc(buf.data().subspan((g % per_block) * kDescSize, kDescSize), g, seed_);
    buf.unlock();
    if (!gd.is_ok()) return gd.status().with_context("block " + std::to_string(gdt_block));
    grp->gd = *gd;
  }
  grp->layout = group_layout(sb_, g);
  const GroupLayout& l = grp->layout;
  if (grp->gd.block_bitmap != l.block_bitmap || grp->gd.inode_bitmap != l.inode_bitmap ||
      grp->gd.inode_table != l.inode_table)
    return Status::error(EIO, "group " + std::to_string(g) + ": metadata locations out of place");
  for (auto [block, out, crc, what] :
       {std::tuple{l.block_bitmap, &grp->bmap, grp->gd.block_bitmap_crc, "block bitmap"},
        std::tuple{l.inode_bitmap, &grp->imap, grp->gd.inode_bitmap_crc, "inode bitmap"}}) {
    CARDFS_ASSIGN_OR_RETURN(auto buf, cache_.bread(block));
    buf.lock();
    out->assign(buf.data().begin(), buf.data().end());
    buf.unlock();
    if (crc32c(seed_, *out) != crc)
      return Status::error(EIO, "group " + std::to_string(g) + ": " + what + " (block " +
                                    std::to_string(block) + ") checksum mismatch");
  }
  uint32_t fb = count_clear_bits(grp->bmap, l.count), fi = count_clear_bits(grp->imap, ipg_);
  if (fb != grp->gd.free_blocks || fi != grp->gd.free_inodes) {
    logger("fusefs")->warn("group {}: descriptor free counts {}/{} differ from bitmaps {}/{}; "
                           "using the bitmaps", g, grp->gd.free_blocks, grp->gd.free_inodes, fb, fi);
    grp->gd.free_blocks = fb;
    grp->gd.free_inodes = fi;
    grp->dirty = true;
  }
  free_blocks_ += fb;
  free_inodes_ += fi;
  groups_.push_back(std::move(grp));
  return Status::ok();
}

// ---- accessors and flush

uint64_t BlockGroups::inode_table(uint32_t group) const { return groups_[group]->layout.inode_table; }

uint64_t BlockGroups::group_start_block(uint32_t group) const {
  return groups_[group]->layout.first_data;
}

GroupCounts BlockGroups::counts(uint32_t group) const {
  const Group& grp = *groups_[group];
  MutexLock lock(grp.mu);
  return {grp.gd.free_blocks, grp.gd.free_inodes, grp.gd.used_dirs};
}

GroupCounts BlockGroups::count_bitmaps(uint32_t group) const {
  const Group& grp = *groups_[group];
  MutexLock lock(grp.mu);
  return {count_clear_bits(grp.bmap, grp.layout.count), count_clear_bits(grp.imap, ipg_),
          grp.gd.used_dirs};
}

Status BlockGroups::flush() {
  MutexLock flush_lock(flush_mu_);
  const uint32_t per_block = bs_ / kDescSize;
  for (uint32_t g = 0; g < group_count(); ++g) {
    Group& grp = *groups_[g];
    std::vector<std::byte> bmap, imap, desc(kDescSize);
    {
      MutexLock lock(grp.mu);
      if (!grp.dirty) continue;
      grp.dirty = false;
      grp.gd.block_bitmap_crc = crc32c(seed_, grp.bmap);
      grp.gd.inode_bitmap_crc = crc32c(seed_, grp.imap);
      bmap = grp.bmap;
      imap = grp.imap;
      encode_group_desc(grp.gd, g, seed_, desc);
    }
    for (auto [block, bytes] : {std::pair{grp.layout.block_bitmap, &bmap},
                                {grp.layout.inode_bitmap, &imap}}) {
      CARDFS_ASSIGN_OR_RETURN(auto buf, cache_.bread(block));
      buf.lock();
      std::memcpy(buf.data().data(), bytes->data(), bs_);
      buf.unlock();
      buf.mark_dirty();
    }
    const uint64_t gdt_block = group_first_block(sb_, 0) + 1 + g / per_block;
    CARDFS_ASSIGN_OR_RETURN(auto buf, cache_.bread(gdt_block));
    const uint32_t off = (g % per_block) * kDescSize;
    buf.lock();
    std::memcpy(buf.data().data() + off, desc.data(), kDescSize);
    buf.unlock();
    buf.mark_dirty(off, kDescSize);
  }
  return Status::ok();
}

}  // namespace cardfs::fusefs
