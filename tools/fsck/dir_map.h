// A directory's file blocks (fsck internal): the disk block behind each
// file block of a directory, following only pointers pass 1 accepted.
#pragma once

#include <cstdint>
#include <vector>

#include "tools/fsck/checker.h"

namespace cardfs::fsck {

// blocks[fb] = disk block (0: a hole), for fb < size / block size.
Result<std::vector<uint64_t>> directory_blocks(Checker& c, uint32_t dir);

// Index checking and rebuilding (dir_index_check.cpp).
// Empty string when the index of `dir` agrees with its leaves.
Result<std::string> check_dir_index(Checker& c, uint32_t dir, const std::vector<uint64_t>& blocks);
// Rebuilds the index from the entries of every leaf; without room for a
// one-level index it clears the index flag (the directory stays linear).
Status rebuild_dir_index(Checker& c, uint32_t dir, const std::vector<uint64_t>& blocks);

}  // namespace cardfs::fsck
