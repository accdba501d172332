// BlockGroups: the allocator. Owns every group's descriptor and bitmaps.
//
// The bitmaps live in memory (loaded and checksum-checked at mount) and are
// the authority while mounted; flush() copies the dirty ones, with their
// checksums and the descriptor table, into the page cache, where sync or
// fsync write them. Nothing here blocks on the device except load() and
// flush().
//
// Policy: directories are spread over groups with above-average free space
// (Orlov-like), files go to their parent's group, data blocks follow the
// file's previous block. Each file may hold a reservation window: a run of
// free blocks other files' searches skip, so concurrent writers stay
// contiguous. Searches are AU-aware: the rest of the goal's allocation unit
// first (wrapping inside it), then the following AUs in order.
// Data and metadata are kept in different AUs (on flash, metadata written
// between data runs closes the card's few open AUs): the AUs holding a
// group's bitmaps and inode table ("metadata AUs") take the indirect and
// directory blocks (alloc_meta_block) and file data only when nothing else
// is free. The split is off when metadata AUs would be more than a quarter
// of the AUs (small AU-sized groups, 1 KiB blocks).
//
// Where it lives: the group table (load, counts, flush) in groups.cpp,
// inode placement in group_inodes.cpp, the block search and frees in
// group_blocks.cpp; the windows are a ReservationWindows
// (fusefs/reservation.h) and the metadata AUs a MetadataAus
// (fusefs/meta_aus.h).
//
// Thread-safety: every method may be called from any thread. Lock order:
// flush_mu_ -> windows_mu_ -> one Group::mu at a time. No lock is held
// across device I/O except flush_mu_ (flushers only).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "base/status.h"
#include "base/thread_annotations.h"
#include "cache/page_cache.h"
#include "fusefs/layout.h"
#include "fusefs/meta_aus.h"
#include "fusefs/reservation.h"

namespace cardfs::fusefs {

struct GroupCounts {
  uint32_t free_blocks = 0, free_inodes = 0, used_dirs = 0;
};

class BlockGroups {
 public:
  // Reads and checks every descriptor and bitmap. Free counts are
  // recomputed from the bitmaps (a mismatch is logged and repaired).
  static Result<std::unique_ptr<BlockGroups>> load(cache::PageCache& cache, const Superblock& sb);
  ~BlockGroups();

  // A new inode number; ENOSPC when none is free.
  Result<uint32_t> alloc_inode(uint32_t parent_ino, bool is_dir);
  void free_inode(uint32_t ino, bool is_dir);
  // True when every other inode sharing ino's inode-table block (of
  // per_block inodes) is free: the block's on-disk bytes are then dead.
  bool table_block_neighbours_free(uint32_t ino, uint32_t per_block) const;

  // A free block near goal (0: no preference), from res's window when it
  // has one (res may be null). ENOSPC when the filesystem is full.
  Result<uint64_t> alloc_block(uint64_t goal, Reservation* res);
  // A block for metadata (indirect, directory, symlink blocks): in a
  // metadata AU, from the group's own on; elsewhere when they are full.
  Result<uint64_t> alloc_meta_block(uint32_t group);
  // True when block lies in a metadata AU (and the data/metadata split is on).
  bool in_meta_au(uint64_t block) const { return meta_.contains(block); }
  bool splits_metadata() const { return meta_.on(); }
  // With deferred frees on (a journal), the block only joins a list and
  // stays allocated until release_deferred_frees().
  void free_block(uint64_t block);
  // Blocks freed while a journal transaction runs must not be reused
  // before it commits: file data written into one would overwrite what the
  // committed filesystem still has there (ext4 keeps them busy until the
  // commit likewise). The commit calls release_deferred_frees(), with
  // every operation excluded and before flush(); it returns them.
  void set_defer_frees(bool on) { defer_frees_ = on; }
  std::vector<uint64_t> release_deferred_frees();
  uint64_t deferred_free_count() const;
  // Gives the window's unused blocks back to everybody.
  void release(Reservation& res);
  size_t window_count() const;

  // True if block may hold file data or an indirect block (inside the
  // filesystem and not group metadata).
  bool is_data_block(uint64_t block) const;
  bool block_in_use(uint64_t block) const;
  uint64_t inode_table(uint32_t group) const;
  uint32_t group_of_inode(uint32_t ino) const { return (ino - 1) / ipg_; }
  uint64_t group_start_block(uint32_t group) const;
  uint32_t group_count() const { return uint32_t(groups_.size()); }

  uint64_t free_blocks() const { return free_blocks_.load(); }
  uint32_t free_inodes() const { return free_inodes_.load(); }
  GroupCounts counts(uint32_t group) const;
  // Free blocks and inodes as counted from the bitmaps themselves.
  GroupCounts count_bitmaps(uint32_t group) const;

  // Writes dirty bitmaps and descriptors into the cache.
  Status flush();

  struct Group;

 private:
  BlockGroups(cache::PageCache& cache, const Superblock& sb);
  // The group is not shared until it joins groups_: no lock needed.
  Status load_group(uint32_t g) CARDFS_NO_THREAD_SAFETY_ANALYSIS;
  Result<uint32_t> pick_group_for_dir(uint32_t parent_group);
  Result<uint32_t> pick_group_for_file(uint32_t parent_group);
  bool claim_inode(uint32_t g, bool is_dir, uint32_t* ino);
  // First free block in [from, to) not inside another window; claims it
  // when claim is set. Returns 0 if none.
  uint64_t find_in_range(uint64_t from, uint64_t to, bool claim) CARDFS_REQUIRES(windows_mu_);
  uint64_t search_from(uint64_t goal, bool claim) CARDFS_REQUIRES(windows_mu_);
  // search_from for file data: skips metadata AUs (unless only they have room).
  uint64_t search_data(uint64_t goal, bool claim) CARDFS_REQUIRES(windows_mu_);
  // First free block of [from, to) outside metadata AUs.
  uint64_t find_outside_meta(uint64_t from, uint64_t to, bool claim) CARDFS_REQUIRES(windows_mu_);
  // Claims the next free block of res's window (windows_mu_ held).
  Result<uint64_t> take_from_window(Reservation& res) CARDFS_REQUIRES(windows_mu_);
  void free_now(uint64_t block);

  cache::PageCache& cache_;
  const Superblock sb_;  // geometry only; counts live here
  const uint32_t bs_, bpg_, ipg_, seed_;
  const uint64_t au_blocks_;
  MetadataAus meta_;  // planned once every group is loaded
  std::vector<std::unique_ptr<Group>> groups_;
  std::atomic<uint64_t> free_blocks_{0};
  std::atomic<uint32_t> free_inodes_{0};
  std::atomic<uint32_t> orlov_rotor_{0};
  Mutex flush_mu_ CARDFS_ACQUIRED_BEFORE(windows_mu_);
  // Held across a search and the window opened from it, so two files
  // never open windows over the same blocks.
  mutable Mutex windows_mu_;
  ReservationWindows windows_ CARDFS_GUARDED_BY(windows_mu_);
  std::atomic<bool> defer_frees_{false};
  mutable Mutex deferred_mu_;  // a leaf
  std::vector<uint64_t> deferred_ CARDFS_GUARDED_BY(deferred_mu_);
};

}  // namespace cardfs::fusefs
