// OrphanList: inodes whose last link went while they were still in use
// (open, or known to the kernel), kept so that a crash cannot bring them
// back (internal header). ext3/ext4's s_last_orphan chain:
//
//   superblock.last_orphan -> newest orphan -> ... -> oldest orphan -> 0
//
// each link held in the orphan's record (DiskInode::next_orphan, byte 156);
// kRoCompatOrphanPresent is set while the chain is not empty. The next
// read-write mount frees every inode on the chain (free_orphans), fsck does
// the same before its passes (tools/fsck, as e2fsck's
// release_orphan_inodes).
//
// In memory the list, head first, is the authority; the records and the
// superblock follow it: an inode's record always carries its current next
// (InodeTable::store writes records through write_record), and removing an
// inode relinks its predecessor's record in place. The superblock takes
// head() whenever Filesystem::write_super runs: after add() and remove()
// without a journal, at the commit with one.
// This is the whole interface a journal needs to log the list's changes.
//
// Thread-safety: all methods may be called from any thread. The list's
// lock is taken after inode locks and before buffer locks; no device I/O
// under it.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <span>
#include <unordered_map>
#include <vector>

#include "cache/page_cache.h"
#include "fusefs/context.h"

namespace cardfs::fusefs {

class OrphanList {
 public:
  explicit OrphanList(Context& ctx) : ctx_(ctx) {}

  // Reads the on-disk chain from `head` (at mount). Stops at the first
  // link that is out of range, names a free inode or loops, and reports
  // it as corruption; what came before is kept.
  void load(uint32_t head);
  // Puts ino at the head; false (nothing done) if it is on the list already.
  bool add(uint32_t ino);
  // Takes ino off the list (nothing if it is not on it); its predecessor's
  // record is relinked in the cache.
  Status remove(uint32_t ino);
  bool contains(uint32_t ino) const;
  uint32_t head() const;
  std::vector<uint32_t> inodes() const;  // head first

  // Copies ino's encoded record (encode_inode's, its checksum valid) into
  // buf at offset, with the next link the list holds for it now (0 when it
  // is not on the list); rewritten and checksummed again only when that
  // differs from the link rec holds.
  void write_record(uint32_t ino, std::span<std::byte> rec, cache::BufferRef& buf,
                    uint32_t offset) const;

 private:
  uint32_t next_locked(uint32_t ino) const;
  Result<uint32_t> read_next(uint32_t ino) const;
  BlockOffset location(uint32_t ino) const;

  Context& ctx_;
  mutable std::mutex mu_;
  std::list<uint32_t> list_;  // head (newest) first
  std::unordered_map<uint32_t, std::list<uint32_t>::iterator> where_;
};

}  // namespace cardfs::fusefs
