// format(): lays a fresh cardfs filesystem onto a device through its cache.
//
// Discards the whole device first (FormatOptions::discard, as mke2fs does);
// writes every group's bitmaps, zeroed inode table (not when the discard
// left the device reading as zeros: BlockDevice::discard_zeroes_data), the
// root directory and lost+found, the primary superblock and descriptor
// table and their sparse backups, then sync_all(). Either way the device
// ends up holding the same bytes. Not thread-safe with other users of the
// device; the cache must hold none of its blocks when format() starts.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"
#include "cache/page_cache.h"
#include "fusefs/layout.h"

namespace cardfs::fusefs {

struct FormatOptions {
  uint32_t block_size = 4096;     // 1024, 2048 or 4096
  uint32_t inode_ratio = 16384;   // bytes of device per inode
  uint64_t inode_count = 0;       // when non-zero, overrides inode_ratio
  double reserved_percent = 5.0;  // blocks kept for root
  std::string label;              // up to 16 bytes
  std::array<uint8_t, 16> uuid{}; // the caller chooses (random in the CLI)
  uint32_t au_size = 4u << 20;    // the card's allocation unit, bytes
  uint64_t now_sec = 0;           // wall time for mkfs_time and root's times
  uint32_t root_uid = 0, root_gid = 0;
  // A journal in inode kJournalIno (docs/journal.md): journal_blocks 0 picks
  // mke2fs's size for the filesystem's size, capped to half of group 0's
  // free blocks; filesystems too small for kMinBlocks get none.
  bool journal = true;
  uint32_t journal_blocks = 0;
  // Discard the whole device before writing (mke2fs's -E discard, its
  // default); false (-E nodiscard) writes the zeroed inode tables instead.
  bool discard = true;
  // Called after each group is written: (groups done, groups total).
  std::function<void(uint32_t, uint32_t)> progress;
};

struct FormatSummary {
  Superblock sb;
  uint32_t journal_blocks = 0;  // 0: no journal
  std::vector<uint32_t> backup_groups;    // groups holding superblock copies
  std::vector<uint64_t> backup_blocks;    // where those copies are
  // mke2fs-like text: block size, groups, inodes, backup locations.
  std::string to_text() const;
};

// device_bytes: the device's size; the filesystem uses whole blocks of it.
// The cache's block size must equal opts.block_size.
Result<FormatSummary> format(cache::PageCache& cache, uint64_t device_bytes,
                             const FormatOptions& opts);

// The superblock a format would write, without writing (validates options).
Result<Superblock> plan_superblock(uint64_t device_bytes, const FormatOptions& opts);
// Where a format puts the journal in group 0: its inode's indirect blocks
// right after lost+found (in the metadata AU), the journal itself from the
// next AU boundary when group 0 has room (its ring then shares no AU with
// other metadata or data), else right after them. blocks 0: no journal.
struct JournalPlan {
  uint64_t map_first = 0;
  uint32_t map_blocks = 0;
  uint64_t first = 0;
  uint32_t blocks = 0;
};
JournalPlan plan_journal(const Superblock& sb, const FormatOptions& opts);
uint32_t journal_map_blocks(uint32_t journal_blocks, uint32_t block_size);

}  // namespace cardfs::fusefs
