// The on-disk format's pure functions beside layout.h's encodings: what
// the filesystem, fsck and inspect all compute the same way, with no
// cache, lock or Context (so the tools include this, not the
// filesystem's internal headers).
//
// - Name hashing (hash version 1): seeded_name_hash is what a hashed
//   directory's index sorts by (32 bits, low bit clear: the bit marks a
//   leaf continuing a run of equal hashes); seeded_minor_hash is the other
//   half of the same 64-bit function, for listing positions only.
// - The pointer path of a file block through the inode's 13 pointers:
//   10 direct, then single, double and triple indirect.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

#include "base/status.h"

namespace cardfs::fusefs {

uint32_t seeded_name_hash(const std::array<uint32_t, 4>& seed, std::string_view name);
uint32_t seeded_minor_hash(const std::array<uint32_t, 4>& seed, std::string_view name);

// The pointer slots leading to a file block: slot[0] in the inode's
// block[] (0..9 direct, 10 single, 11 double, 12 triple indirect), then
// slot[1..depth] in the indirect blocks from the top down; depth 0 for a
// direct block. EFBIG past the triple indirect block's reach.
struct PointerPath {
  int depth = 0;
  uint32_t slot[4] = {};
};
Result<PointerPath> pointer_path(uint64_t file_block, uint64_t ptrs_per_block);

}  // namespace cardfs::fusefs
