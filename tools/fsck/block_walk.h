// Walking an inode's 13 block pointers (10 direct, single, double and
// triple indirect), for fsck and inspect alike.
//
// The visitor sees every non-zero pointer with where it lives, and decides
// whether to descend into an indirect block. Indirect blocks are read
// through `read` only when the visitor says so; an out-of-range pointer is
// the visitor's to judge (return kSkip for it).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "fusefs/layout.h"

namespace cardfs::fsck {

struct PointerRef {
  uint64_t container = 0;  // indirect block holding the pointer; 0: the inode
  uint32_t slot = 0;       // index in block[] or in the indirect block
  int level = 0;           // 0: points to data; 1..3: to an indirect block of that depth
  uint64_t file_block = 0; // first file block reached through this pointer
  bool unwritten = false;  // a data pointer marked unwritten (the block is given unmarked)
};

// "block #5", "indirect block (file block 12)": how findings name a pointer.
std::string pointer_name(const PointerRef& r);

enum class Visit { kDescend, kSkip, kStop };

using ReadBlock = std::function<Result<std::vector<std::byte>>(uint64_t block)>;
using PointerVisitor = std::function<Visit(const PointerRef&, uint32_t block)>;

// Visits in file order. Stops early (ok) on kStop; read errors are returned.
// unwritten_feature: the superblock has kIncompatUnwritten, so data
// pointers may carry kUnwrittenBit (the visitor gets the block without it).
Status walk_block_map(const fusefs::DiskInode& ino, uint32_t block_size, const ReadBlock& read,
                      const PointerVisitor& visit, bool unwritten_feature);

}  // namespace cardfs::fsck
