// Finding a usable superblock: the primary, a named backup (-b), or the
// first valid backup when the primary is damaged. Shared by fsck and inspect.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "fusefs/layout.h"
#include "tools/fsck/image_io.h"

namespace cardfs::fsck {

struct FoundSuper {
  fusefs::Superblock sb;
  uint64_t block = 0;    // 0: the primary; else the backup's block number
  Status primary_error;  // why the primary was not used (ok if it was)
};

struct SuperCandidate {
  uint64_t block;
  uint32_t block_size;
  uint32_t group;
};

// Decodes a superblock at a byte offset (read-only feature rules).
Result<fusefs::Superblock> read_superblock_at(ImageIo& io, uint64_t byte);
// Where backups would be for each block size, within the image.
std::vector<SuperCandidate> backup_candidates(uint64_t image_bytes);
// backup_block: -b's block number (0: primary first, then any backup).
Result<FoundSuper> find_superblock(ImageIo& io, uint64_t backup_block);
// The descriptor table that follows group `group`'s superblock copy.
Result<std::vector<std::byte>> read_gdt(ImageIo& io, const fusefs::Superblock& sb, uint32_t group);

}  // namespace cardfs::fsck
