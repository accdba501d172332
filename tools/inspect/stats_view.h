// `stats`: what dumpe2fs prints (debugfs calls it stats) — the superblock,
// then every group: its blocks, superblock copy, bitmaps, inode table,
// free counts and the ranges of free blocks and free inodes per its bitmaps.
#pragma once

#include <string>
#include <vector>

#include "tools/inspect/inspector.h"

namespace cardfs::inspect {

Result<Output> cmd_stats(Inspector& in, const std::vector<std::string>& args);

// "5-9, 12, 20-31": the runs of clear bits among bits [0, count) of map,
// numbered from base.
std::string free_ranges(std::span<const std::byte> map, uint32_t count, uint64_t base);

}  // namespace cardfs::inspect
