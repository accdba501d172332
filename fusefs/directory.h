// Directory: the entries of one directory inode (internal header).
//
// A directory of one block is a linear list of ext2 entries. When that
// block is full it becomes indexed (htree-like): block 0 turns into the
// index root (".", "..", then hash -> block entries hidden in ".."'s
// record), leaves are ordinary entry blocks, and index nodes look like
// empty entry blocks to a linear reader. Names hash with the superblock's
// seed; the low bit of an index hash marks a leaf that continues a run of
// equal hashes from the leaf before it (collisions across a split).
// When the index is found invalid it is dropped (the inode flag cleared,
// the corruption reported) and the directory keeps working linearly.
//
// Thread-safety: none inside; the caller holds the directory's Inode::mu
// for every call (and Directory takes map_mu itself around block mapping).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fusefs/context.h"
#include "fusefs/inode.h"

namespace cardfs::fusefs {

using NameHash = std::function<uint32_t(std::string_view)>;
// The filesystem's directory hash (hash version 1): 32 bits, low bit clear.
uint32_t seeded_name_hash(const std::array<uint32_t, 4>& seed, std::string_view name);

struct DirHit {
  uint32_t ino = 0;
  uint8_t type = 0;
  uint64_t file_block = 0;
  uint32_t offset = 0;
};

struct DirListEntry {
  std::string_view name;
  uint32_t ino = 0;
  uint8_t type = 0;
  uint64_t next_cookie = 0;  // resume here to continue after this entry
};

class Directory {
 public:
  // visits: incremented for every directory block read (may be null).
  Directory(Context& ctx, Inode& dir, const NameHash& hash, bool use_index,
            std::atomic<uint64_t>* visits = nullptr)
      : ctx_(ctx), dir_(dir), hash_(hash), use_index_(use_index), visits_(visits) {}

  // Gives a new directory inode its first block with "." and "..".
  static Status init(Context& ctx, Inode& dir, uint32_t parent);

  Result<std::optional<DirHit>> find(std::string_view name);
  // Adds an entry; the caller has checked the name is absent.
  Status add(std::string_view name, uint32_t ino, uint8_t type);
  Status remove(const DirHit& hit);
  // Points an existing entry at another inode (rename over a target).
  Status retarget(const DirHit& hit, uint32_t ino, uint8_t type);
  Status set_parent(uint32_t parent);
  // The inode ".." names.
  Result<uint32_t> parent();
  // True when only "." and ".." remain.
  Result<bool> is_empty();
  // Entries from cookie on (0: the start); f returns false to stop before
  // consuming the entry it was given.
  Status list(uint64_t cookie, const std::function<bool(const DirListEntry&)>& f);

 private:
  friend class DirIndex;
  uint64_t block_count() const { return dir_.d.size / ctx_.bs; }
  bool indexed() const { return use_index_ && (dir_.d.flags & kInodeFlagIndex); }
  Result<cache::BufferRef> read_block(uint64_t fb);
  Result<std::pair<uint64_t, cache::BufferRef>> append_block();
  void seal(cache::BufferRef& buf);
  Result<std::optional<DirHit>> find_in_block(uint64_t fb, std::string_view name);
  Result<bool> add_to_block(uint64_t fb, std::string_view name, uint32_t ino, uint8_t type);
  Result<std::optional<DirHit>> find_linear(std::string_view name);
  Status add_linear(std::string_view name, uint32_t ino, uint8_t type);
  void drop_index(const std::string& why);

  Context& ctx_;
  Inode& dir_;
  const NameHash& hash_;
  const bool use_index_;
  std::atomic<uint64_t>* visits_;
};

}  // namespace cardfs::fusefs
