// In-memory inodes and the inode cache (internal header).
//
// An Inode is loaded once and shared (shared_ptr) by every operation that
// uses it. Locks, outermost first:
//   Inode::mu      the VFS inode lock: serialises operations that change the
//                  inode or, for a directory, its entries. May be held
//                  across device I/O (as i_rwsem is).
//   Inode::map_mu  the block pointers, the block count and the reservation
//                  window: the page cache's GetBlock takes only this one,
//                  from any thread (write-back included).
// InodeTable::mu_ guards the map; it is a leaf lock except in evict(),
// which try-locks inodes nobody else can hold.
//
// The order among Inode::mu (one static order, so that no lock-order graph
// ever sees a cycle, whatever renames do to the tree): every directory
// before every non-directory, and within each kind by inode number.
// InodeLocks takes several in that order.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "fusefs/context.h"
#include "fusefs/groups.h"
#include "fusefs/layout.h"

namespace cardfs::fusefs {

// A directory's memory of the last name a find did not find, and where
// add would put it (Directory::find): valid while the directory's
// `dir_changes` is still `at_change`. The kernel sends a LOOKUP that fails
// before each create; with this, the create does not walk the leaf again.
struct AbsentName {
  uint64_t at_change = 0;
  std::string name;
  uint64_t file_block = 0;  // DirSlot
  uint32_t room = ~0u;
};

struct Inode {
  explicit Inode(uint32_t n) : ino(n) {}
  const uint32_t ino;
  uint16_t type = 0;  // S_IFMT bits: set before the inode is shared, never changed
  std::mutex mu;
  Mutex map_mu;
  DiskInode d;                                // mu (block[], blocks: also map_mu)
  std::shared_ptr<cache::AddressSpace> as;    // regular files; set once at load
  cache::ReadaheadState ra;                   // shared readahead state (mu)
  Reservation res CARDFS_GUARDED_BY(map_mu);
  uint64_t last_file_block CARDFS_GUARDED_BY(map_mu) = ~0ull;  // last block mapped with create
  uint64_t last_phys CARDFS_GUARDED_BY(map_mu) = 0;
  uint64_t map_version CARDFS_GUARDED_BY(map_mu) = 0;  // bumped by each pointer mapping sets
  uint64_t lookups = 0;                       // mu: the kernel's lookup count
  uint64_t opens = 0;                         // mu: open handles (Filesystem::open/release)
  bool freed = false;                         // mu: nlink and lookups reached 0
  bool data_freed = false;                    // mu: unlinked and closed: its blocks went back
  bool datasync_dirty = false;                // mu: size or block map changed since fsync
  uint64_t sync_tid = 0;                      // mu: journal transaction that last stored it
  bool record_unwritten = false;              // mu: new, never stored (its record is dead bytes)
  // Directories, mu: counts the changes to its entries (Directory bumps it
  // before each), and the last name found absent since (null: none yet).
  uint64_t dir_changes = 0;
  std::unique_ptr<AbsentName> absent;
};

using InodePtr = std::shared_ptr<Inode>;

// True when a's mu comes before b's in the lock order (Inode::type never
// changes once the inode is shared, so it is read unlocked).
inline bool lock_before(const Inode& a, const Inode& b) {
  const bool a_dir = a.type == S_IFDIR, b_dir = b.type == S_IFDIR;
  if (a_dir != b_dir) return a_dir;
  return a.ino < b.ino;
}

// Inode::mu of several inodes, held in the lock order; null pointers and
// repeats are skipped. Keeps the inodes alive until it releases them (in
// reverse order, on destruction).
class InodeLocks {
 public:
  InodeLocks() = default;
  explicit InodeLocks(std::initializer_list<InodePtr> inodes) { lock_all(inodes); }
  InodeLocks(InodeLocks&& o) noexcept : held_(std::move(o.held_)) { o.held_.clear(); }
  InodeLocks& operator=(InodeLocks&& o) noexcept;
  ~InodeLocks() { unlock_all(); }

  // Locks more inodes. When they all come after the ones held, they are
  // simply taken (true). Otherwise everything is released and taken again
  // in order (false): what the caller read under the old locks may have
  // changed and must be checked again.
  bool add(std::initializer_list<InodePtr> inodes);
  void unlock_all();

 private:
  void lock_all(std::initializer_list<InodePtr> inodes);
  std::vector<InodePtr> held_;  // in lock order
};

class InodeTable {
 public:
  explicit InodeTable(Context& ctx) : ctx_(ctx) {}
  // The inode, loaded on first use. ENOENT if it is free (or, unless
  // unlinked_ok, has no links: an orphan left by a crash), EIO if corrupt.
  Result<InodePtr> get(uint32_t ino, bool unlinked_ok = false);
  // Registers a freshly allocated inode whose record is not written yet.
  InodePtr insert_new(uint32_t ino, const DiskInode& d);
  // Encodes inode.d into its inode table block. Caller holds inode.mu.
  Status store(Inode& inode);
  // Zeroes the on-disk record and forgets the inode.
  Status erase(uint32_t ino);
  std::vector<InodePtr> all();
  size_t size();
  // Drops inodes nobody else holds and `evictable` accepts until at most
  // `target` remain (they are read again from their record when needed).
  // evictable runs under the table's lock: it may only try_lock an inode's
  // mu and must not call back into the table.
  size_t evict(size_t target, const std::function<bool(Inode&)>& evictable);

 private:
  Result<DiskInode> read_record(uint32_t ino);
  Result<cache::BufferRef> table_block_for_store(const Inode& inode, uint64_t block);
  Context& ctx_;
  std::mutex mu_;
  std::unordered_map<uint32_t, InodePtr> map_;
};

}  // namespace cardfs::fusefs
