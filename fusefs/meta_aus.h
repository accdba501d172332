// Metadata AUs: the allocation units holding a group's bitmaps and inode
// table. The allocator keeps metadata (indirect, directory, symlink
// blocks) in them and file data out of them, because on flash metadata
// written between data runs closes the card's few open AUs. The split is
// off when metadata AUs would be more than a quarter of the AUs (small
// AU-sized groups, 1 KiB blocks). Immutable once planned.
#pragma once

#include <cstdint>
#include <vector>

#include "fusefs/layout.h"

namespace cardfs::fusefs {

class MetadataAus {
 public:
  // AUs of au_blocks blocks (at least 1) over a filesystem of blocks_count
  // blocks whose groups are laid out as `groups`.
  MetadataAus(uint64_t au_blocks, uint64_t blocks_count, const std::vector<GroupLayout>& groups);
  MetadataAus() = default;  // none: the split off


  uint64_t au_blocks() const { return au_blocks_; }
  // Whether the data/metadata split is on.
  bool on() const { return !meta_au_.empty(); }
  // True when block lies in a metadata AU (and the split is on).
  bool contains(uint64_t block) const {
    const uint64_t au = block / au_blocks_;
    return au < meta_au_.size() && meta_au_[au];
  }

 private:
  uint64_t au_blocks_ = 1;
  std::vector<bool> meta_au_;  // per AU; empty when the split is off
};

}  // namespace cardfs::fusefs
