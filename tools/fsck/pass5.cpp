// Pass 5: the bitmaps, the descriptors' counts and checksums and the
// superblock's free counts, recomputed from what passes 1-4 found.
#include <sys/stat.h>

#include <cctype>

#include "base/crc32c.h"
#include "fusefs/bitmap.h"
#include "tools/fsck/checker.h"

namespace cardfs::fsck {

using namespace fusefs;

namespace {

// "+(12--15) -(40)": bits expected but clear (+) and set but unexpected (-).
std::string differences(std::span<const std::byte> want, std::span<const std::byte> have,
                        uint32_t bits, uint64_t base) {
  std::string out;
  uint32_t i = 0;
  int shown = 0;
  while (i < bits && shown < 8) {
    bool w = test_bit(want, i), h = test_bit(have, i);
    if (w == h) {
      ++i;
      continue;
    }
    uint32_t j = i;
    while (j + 1 < bits && test_bit(want, j + 1) == w && test_bit(have, j + 1) == h) ++j;
    out += std::string(out.empty() ? "" : " ") + (w ? "+" : "-") + "(" + std::to_string(base + i) +
           (j > i ? "--" + std::to_string(base + j) : "") + ")";
    ++shown;
    i = j + 1;
  }
  if (i < bits && shown == 8) out += " ...";
  return out;
}

bool padding_set(std::span<const std::byte> map, uint32_t from, uint32_t bits) {
  for (uint32_t i = from; i < bits; ++i)
    if (!test_bit(map, i)) return false;
  return true;
}

std::string lower(std::string s) {
  s[0] = char(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

// Blocks the on-disk bitmap marks in use that no inode owns stay in use
// while an unreadable indirect block may map them: freeing them would give
// away a file's data that fsck merely could not see.
Status Checker::keep_unowned(uint32_t g, std::vector<std::byte>& bmap) {
  CARDFS_ASSIGN_OR_RETURN(auto have, read_block(gd_[g].block_bitmap));
  const GroupLayout l = group_layout(sb_, g);
  uint32_t kept = 0;
  for (uint32_t i = 0; i < l.count; ++i)
    if (test_bit(have, i) && !test_bit(bmap, i)) {
      set_bit(bmap, i);
      ++kept;
    }
  if (kept)
    say("Group " + std::to_string(g) + ": " + std::to_string(kept) +
        " blocks in use that no inode owns are kept: an unreadable indirect block may map them.");
  return Status::ok();
}

Status Checker::pass5() {
  header("Pass 5: Checking group summary information");
  const uint32_t bits = 8 * bs_;
  uint64_t free_blocks = 0, free_inodes = 0;
  for (uint32_t g = 0; g < sb_.group_count(); ++g) {
    const GroupLayout l = group_layout(sb_, g);
    std::vector<std::byte> bmap(bs_), imap(bs_);
    uint32_t used_dirs = 0;
    for (uint32_t i = 0; i < bits; ++i)
      if (i >= l.count || owner_[l.first + i] != kOwnerFree) set_bit(bmap, i);
    if (blocks_.unknown_subtrees()) CARDFS_RETURN_IF_ERROR(keep_unowned(g, bmap));
    for (uint32_t i = 0; i < bits; ++i) {
      const uint32_t ino = g * sb_.inodes_per_group + i + 1;
      if (i >= sb_.inodes_per_group || ino < sb_.first_ino || in_use(ino)) set_bit(imap, i);
      if (i < sb_.inodes_per_group && is_dir(ino)) ++used_dirs;
    }
    const struct { uint32_t free_blocks, free_inodes, used_dirs; } want{count_clear_bits(bmap, l.count), count_clear_bits(imap, sb_.inodes_per_group),
                           used_dirs};
    free_blocks += want.free_blocks;
    free_inodes += want.free_inodes;
    for (int kind = 0; kind < 2; ++kind) {
      const bool blocks = kind == 0;
      const uint64_t where = blocks ? gd_[g].block_bitmap : gd_[g].inode_bitmap;
      const auto& want_map = blocks ? bmap : imap;
      uint32_t& crc = blocks ? gd_[g].block_bitmap_crc : gd_[g].inode_bitmap_crc;
      CARDFS_ASSIGN_OR_RETURN(auto have, read_block(where));
      const Problem p = blocks ? Problem::kBlockBitmap : Problem::kInodeBitmap;
      const std::string what = std::string(blocks ? "Block" : "Inode") + " bitmap of group " + std::to_string(g);
      const uint64_t base = blocks ? l.first : uint64_t(g) * sb_.inodes_per_group + 1;
      // Differences are shown for real blocks and inodes only; the bits
      // past them (padding, set) are judged as a whole.
      const uint32_t real = blocks ? l.count : sb_.inodes_per_group;
      std::string diff = differences(want_map, have, real, base);
      bool fix = false;
      if (!diff.empty()) fix = ask(p, what + " differs: " + diff + ".");
      else if (!padding_set(have, real, bits)) fix = ask(p, "Padding at the end of the " + lower(what) + " is not set.");
      else if (crc != crc32c(seed_, have)) fix = ask(p, what + " (block " + std::to_string(where) + ") has a bad checksum.");
      if (!fix) continue;
      CARDFS_RETURN_IF_ERROR(write_block(where, want_map));
      crc = crc32c(seed_, want_map);
      gdt_dirty_ = true;
    }
    GroupDesc& gd = gd_[g];
    if (gd.free_blocks != want.free_blocks || gd.free_inodes != want.free_inodes ||
        gd.used_dirs != want.used_dirs) {
      if (ask(Problem::kGroupCounts,
              "Group " + std::to_string(g) + " counts (free blocks " + std::to_string(gd.free_blocks) +
                  ", free inodes " + std::to_string(gd.free_inodes) + ", directories " +
                  std::to_string(gd.used_dirs) + ") should be " + std::to_string(want.free_blocks) +
                  ", " + std::to_string(want.free_inodes) + ", " + std::to_string(want.used_dirs) + ".")) {
        gd.free_blocks = want.free_blocks;
        gd.free_inodes = want.free_inodes;
        gd.used_dirs = want.used_dirs;
        gdt_dirty_ = true;
      }
    }
    if (o_.progress) o_.progress(5, g + 1, sb_.group_count());
  }
  if ((sb_.free_blocks != free_blocks || sb_.free_inodes != free_inodes) &&
      ask(Problem::kSuperFreeCounts, "The superblock's free counts (" + std::to_string(sb_.free_blocks) +
                                         " blocks, " + std::to_string(sb_.free_inodes) +
                                         " inodes) should be " + std::to_string(free_blocks) + " and " +
                                         std::to_string(free_inodes) + ".")) {
    sb_.free_blocks = free_blocks;
    sb_.free_inodes = uint32_t(free_inodes);
    rewrite_super_ = true;
  }
  report().stats.blocks_used = sb_.blocks_count - free_blocks;
  report().stats.inodes_used = sb_.inodes_count - free_inodes;
  return Status::ok();
}

}  // namespace cardfs::fsck
