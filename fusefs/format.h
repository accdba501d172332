// The on-disk format's pure functions beside layout.h's encodings: what
// the filesystem, fsck and inspect all compute the same way, with no
// cache, lock or Context (so the tools include this, not the
// filesystem's internal headers).
//
// - Name hashing (hash version 1): seeded_name_hash is what a hashed
//   directory's index sorts by (32 bits, low bit clear: the bit marks a
//   leaf continuing a run of equal hashes); seeded_minor_hash is the other
//   half of the same 64-bit function, for listing positions only.
// - The inode's 13 block pointers (10 direct, then single, double and
//   triple indirect): the pointer path of one file block, the walk along
//   it (walk_pointer_path: mapping, allocating on the way), and the walk
//   over the whole tree (walk_pointer_tree: freeing, listing, checking).
//   Both read indirect blocks only through their caller (the cache in the
//   filesystem, the image in fsck and inspect) and check every pointer
//   against the caller's bounds before reading through it.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "fusefs/layout.h"

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

// Follows file block fb's pointer path from `top` (the inode's
// block[path.slot[0]]) to its stored data pointer and calls leaf(raw) on
// it (Result<bool>: true when it changed raw, which is then stored back).
// Missing indirect blocks are allocated when create; without it a missing
// path ends the walk: false, leaf not called. Returns whether leaf ran.
// Io is the caller's access to indirect blocks:
//   Status check(uint64_t ptr, uint64_t fb)  an error for a pointer out of bounds
//   Result<uint64_t> allocate()               a new zeroed indirect block
//   Result<Node> read(uint64_t block)         Node: size_t size() in bytes,
//       uint32_t get(uint32_t slot), Status set(uint32_t slot, uint32_t value)
template <class Io, class Leaf>
Result<bool> walk_pointer_path(uint32_t& top, const PointerPath& path, uint64_t fb, bool create,
                               Io& io, Leaf&& leaf) {
  if (path.depth == 0) {
    CARDFS_RETURN_IF_ERROR(leaf(top).status());
    return true;
  }
  if (top == 0) {
    if (!create) return false;
    CARDFS_ASSIGN_OR_RETURN(uint64_t b, io.allocate());
    top = uint32_t(b);
  } else {
    CARDFS_RETURN_IF_ERROR(io.check(top, fb));
  }
  uint64_t ptr = top;
  for (int level = 1; level <= path.depth; ++level) {
    CARDFS_ASSIGN_OR_RETURN(auto node, io.read(ptr));
    const uint32_t slot = path.slot[level];
    if (4 * uint64_t(slot) + 4 > node.size())
      return Status::error(EIO, "indirect block " + std::to_string(ptr) + " is short");
    uint32_t child = node.get(slot);
    bool changed = false;
    if (level == path.depth) {
      CARDFS_ASSIGN_OR_RETURN(changed, leaf(child));
    } else if (child == 0) {
      if (!create) return false;
      CARDFS_ASSIGN_OR_RETURN(uint64_t b, io.allocate());
      child = uint32_t(b);
      changed = true;
    } else {
      CARDFS_RETURN_IF_ERROR(io.check(child, fb));
    }
    if (changed) CARDFS_RETURN_IF_ERROR(node.set(slot, child));
    ptr = child;
  }
  return true;
}

// One non-zero pointer of the tree, as walk_pointer_tree meets it.
struct PointerRef {
  uint64_t container = 0;  // indirect block holding the pointer; 0: the inode
  uint32_t slot = 0;       // index in block[] or in the indirect block
  int level = 0;           // 0: points to data; 1..3: to an indirect block of that depth
  uint64_t file_block = 0; // first file block reached through this pointer
  bool unwritten = false;  // a data pointer marked unwritten (the block is given unmarked)
  bool in_bounds = true;   // within the walk's bounds; never read through when false
};

// "block #5", "indirect block (file block 12)": how findings name a pointer.
std::string pointer_name(const PointerRef& r);

// What a visitor answers: descend into an indirect block (ignored for data
// pointers), skip it, stop the walk (ok), or say it cleared the pointer
// (released its block; the walk counts the slot as 0 in its container).
enum class Visit { kDescend, kSkip, kStop, kCleared };

using ReadPointerBlock = std::function<Result<std::vector<std::byte>>(uint64_t block)>;

struct PointerTreeWalk {
  uint32_t ptrs_per_block = 0;  // block size / 4
  bool unwritten_feature = false;  // data pointers may carry kUnwrittenBit
  // The blocks a pointer may name (required); one outside reaches the
  // visitor with in_bounds false and is never read.
  std::function<bool(uint64_t block)> in_bounds;
  // Only pointers reaching a file block in [first, end) are visited.
  uint64_t first = 0, end = UINT64_MAX;
  ReadPointerBlock read;  // an indirect block's bytes (at least 4 * ptrs_per_block)
  // Each pointer in file order, before what is below it.
  std::function<Result<Visit>(const PointerRef&, uint64_t block)> enter;
  // Optional: after the children of an indirect block enter descended
  // into, with its entries as they are now (slots a visitor cleared are 0)
  // and whether any was cleared; kCleared clears the pointer to it.
  std::function<Result<Visit>(const PointerRef&, uint64_t block, std::span<const uint32_t> entries,
                              bool changed)>
      leave;
};

// Walks the tree below the inode's pointers `block` in file order. Read
// errors and the visitor's errors are returned.
Status walk_pointer_tree(const std::array<uint32_t, kBlockPointers>& block, const PointerTreeWalk& walk);

}  // namespace cardfs::fusefs
