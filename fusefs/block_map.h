// The block map: file block -> disk block through 10 direct pointers and
// single, double and triple indirect blocks (internal header).
//
// Every function expects the caller to hold inode.map_mu (clang checks it:
// CARDFS_REQUIRES). Pointers read
// from disk are range-checked: one outside the data area is reported as
// corruption (EIO) and never followed or freed. Holes are 0 pointers.
// On filesystems with kIncompatUnwritten (ctx.unwritten), a data block
// pointer may be marked unwritten (fallocate): allocated and counted in
// the inode's blocks, but read as zeros; the first write clears the mark.
#pragma once

#include <cstdint>
#include <vector>

#include "fusefs/context.h"
#include "fusefs/inode.h"

namespace cardfs::fusefs {

struct Mapped {
  uint64_t block = 0;      // 0: a hole (only with kLookup)
  bool fresh = false;      // its disk bytes are garbage: allocated or unmarked by this call
  bool unwritten = false;  // allocated but reads as zeros (kLookup, kPreallocate)
  // Indirect blocks this call allocated or changed (dirty in the cache),
  // without repeats: the file's fdatasync must write them.
  std::vector<uint64_t> metadata;
};

enum class MapMode {
  kLookup,      // never changes anything
  kWrite,       // allocates a hole, clears an unwritten mark (data will be written)
  kPreallocate, // allocates a hole as unwritten; leaves mapped blocks alone
  kZero,        // as kPreallocate, and marks a written block unwritten (its
                // bytes stay on disk, unread): FALLOC_FL_ZERO_RANGE
};

// Maps file_block; kWrite and kPreallocate allocate it and any missing
// indirect blocks (zeroed). EFBIG past the last block the pointers can reach.
Result<Mapped> map_block_locked(Context& ctx, Inode& inode, uint64_t file_block, MapMode mode) CARDFS_REQUIRES(inode.map_mu);
inline Result<Mapped> map_block_locked(Context& ctx, Inode& inode, uint64_t file_block, bool create)
    CARDFS_REQUIRES(inode.map_mu) {
  return map_block_locked(ctx, inode, file_block, create ? MapMode::kWrite : MapMode::kLookup);
}

// Frees data blocks of file blocks [first, end) and the indirect blocks
// that become empty; the pointers to them are cleared. Pages of these
// blocks must already be gone from the cache.
Status free_blocks_locked(Context& ctx, Inode& inode, uint64_t first, uint64_t end) CARDFS_REQUIRES(inode.map_mu);

// Swaps the stored data pointer of file block fb (the unwritten mark
// included) with raw: raw gets what was there, 0 for a hole. Allocates the
// indirect blocks on the way only when raw is not 0; a missing path reads
// as 0 and is left missing. On ENOSPC raw and the data pointers are as they
// were; indirect blocks allocated on the way may stay, empty
// (free_blocks_locked over their range frees them).
// Moving a pointer this way is how collapse and insert shift a file's
// blocks without touching their data.
Status exchange_pointer_locked(Context& ctx, Inode& inode, uint64_t fb, uint32_t& raw) CARDFS_REQUIRES(inode.map_mu);

// The file blocks in [first, end) that map a block (written or unwritten),
// in order, found by walking only the indirect blocks that exist.
Result<std::vector<uint64_t>> mapped_blocks_locked(Context& ctx, Inode& inode, uint64_t first,
                                                   uint64_t end) CARDFS_REQUIRES(inode.map_mu);

// The first file block in [first, end) that maps a block (written or
// unwritten) when `mapped`, or that maps none when not; `end` if there is
// none. Walks only the indirect blocks that exist, so a sparse file of any
// size costs what its mapped part costs (SEEK_DATA, SEEK_HOLE).
Result<uint64_t> seek_mapping_locked(Context& ctx, Inode& inode, uint64_t first, uint64_t end,
                                     bool mapped) CARDFS_REQUIRES(inode.map_mu);

// Allocates the indirect blocks file block fb's pointer needs (ENOSPC),
// leaving every data pointer as it is.
Status make_path_locked(Context& ctx, Inode& inode, uint64_t fb) CARDFS_REQUIRES(inode.map_mu);

// Frees the data block of a stored pointer taken out of the map with
// exchange_pointer_locked (0: nothing).
Status release_pointer_locked(Context& ctx, Inode& inode, uint32_t raw) CARDFS_REQUIRES(inode.map_mu);

// Frees the indirect blocks below [first, end) that hold no pointer; data
// pointers stay.
Status prune_indirect_locked(Context& ctx, Inode& inode, uint64_t first, uint64_t end) CARDFS_REQUIRES(inode.map_mu);

// Number of file blocks the pointers can address.
uint64_t max_file_blocks(uint32_t ptrs_per_block);

}  // namespace cardfs::fusefs
