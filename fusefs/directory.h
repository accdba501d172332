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
// Listing positions (readdir cookies) are the same for every directory,
// whatever its layout, so they survive leaf splits, deletions and the
// linear -> indexed conversion: 0 is ".", 1 "..", 2 the first name; a
// name's own position is 3 + its key, key = (major >> 1) << 31 |
// (minor >> 1) (62 bits: any position fits a positive off_t), and names
// are listed in (key, name) order. Resuming at position p lists the names
// whose position is >= p. Names with equal keys (a 62-bit collision) form
// a group that shares one position: every member but the last resumes at
// the group's start, the last after it; so a caller that stops inside a
// group sees its earlier members again, never loses one (see list()).
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
#include "fusefs/format.h"
#include "fusefs/inode.h"

namespace cardfs::fusefs {

using NameHash = std::function<uint32_t(std::string_view)>;

inline constexpr uint64_t kPosDot = 0, kPosDotDot = 1, kPosFirstName = 2;
inline uint64_t name_key(uint32_t major, uint32_t minor) {
  return uint64_t(major >> 1) << 31 | (minor >> 1);
}
inline uint64_t name_position(uint64_t key) { return key + 3; }

struct DirHit {
  uint32_t ino = 0;
  uint8_t type = 0;
  uint64_t file_block = 0;
  uint32_t offset = 0;
  uint32_t prev = ~0u;  // the record before it in its block (~0u: the first, or unknown)
};

// Where add would put a name that find did not find (the same walk of the
// same leaf found it): the block and the record with room in it. Valid
// while the caller holds the directory's lock; add checks the room again.
struct DirSlot {
  uint64_t file_block = 0;
  uint32_t room = ~0u;  // ~0u: none found
  bool found() const { return room != ~0u; }
};

struct DirListEntry {
  std::string_view name;
  uint32_t ino = 0;
  uint8_t type = 0;
  uint64_t cookie = 0;       // its own position (resume here to see it again)
  uint64_t next_cookie = 0;  // resume here to continue after it
};

class Directory {
 public:
  // visits: incremented for every directory block read (may be null).
  // hash: the index hash (major); minor: the second half of listing keys.
  Directory(Context& ctx, Inode& dir, const NameHash& hash, const NameHash& minor,
            bool use_index, std::atomic<uint64_t>* visits = nullptr)
      : ctx_(ctx), dir_(dir), hash_(hash), minor_(minor), use_index_(use_index),
        visits_(visits) {}

  // Gives a new directory inode its first block with "." and "..".
  static Status init(Context& ctx, Inode& dir, uint32_t parent);

  // With slot, also where add would put the name when it is absent (a
  // create's check and insertion walk the leaf once, not twice). A name
  // found absent is remembered in the inode (Inode::absent) until the
  // entries next change: a find of it again (a create after the kernel's
  // failed LOOKUP) answers without reading a block.
  Result<std::optional<DirHit>> find(std::string_view name, DirSlot* slot = nullptr);
  // Adds an entry; the caller has checked the name is absent (slot: what
  // that check's find said, under the lock still held).
  Status add(std::string_view name, uint32_t ino, uint8_t type, const DirSlot* slot = nullptr);
  Status remove(const DirHit& hit);
  // Points an existing entry at another inode (rename over a target).
  Status retarget(const DirHit& hit, uint32_t ino, uint8_t type);
  Status set_parent(uint32_t parent);
  // The inode ".." names.
  Result<uint32_t> parent();
  // True when only "." and ".." remain.
  Result<bool> is_empty();
  // Entries from position `cookie` on (0: the start), in position order.
  // f returns false to stop: that entry is not consumed, and neither are
  // the ones before it in the same group (same cookie) — the caller drops
  // them, so that a group is taken whole or not at all.
  Status list(uint64_t cookie, const std::function<bool(const DirListEntry&)>& f);

 private:
  friend class DirIndex;
  uint64_t block_count() const { return dir_.d.size / ctx_.bs; }
  bool indexed() const { return use_index_ && (dir_.d.flags & kInodeFlagIndex); }
  // Before every change of the entries or of where names go (add, remove,
  // retarget, dropping the index): what find remembered is void after it.
  void changing() { ++dir_.dir_changes; }
  Result<std::optional<DirHit>> find_walk(std::string_view name, DirSlot* slot);
  Result<cache::BufferRef> read_block(uint64_t fb);
  Result<std::pair<uint64_t, cache::BufferRef>> append_block();
  void seal(cache::BufferRef& buf);
  // slot: filled with this block's room for the name, if it has some and
  // slot has none yet.
  Result<std::optional<DirHit>> find_in_block(uint64_t fb, std::string_view name,
                                              DirSlot* slot = nullptr);
  // room: the record find_in_block found with room (~0u: look for one).
  Result<bool> add_to_block(uint64_t fb, std::string_view name, uint32_t ino, uint8_t type,
                            uint32_t room = ~0u);
  Result<std::optional<DirHit>> find_linear(std::string_view name, DirSlot* slot);
  Status add_linear(std::string_view name, uint32_t ino, uint8_t type);
  void drop_index(const std::string& why);
  struct Keyed;
  Status collect(uint64_t fb, uint64_t from, std::vector<Keyed>& out);
  Status list_names(uint64_t from, const std::function<bool(const DirListEntry&)>& f);
  // Sorts names and offers them to f; false when f stopped.
  bool offer(std::vector<Keyed>& names, const std::function<bool(const DirListEntry&)>& f);

  Context& ctx_;
  Inode& dir_;
  const NameHash& hash_;
  const NameHash& minor_;
  const bool use_index_;
  std::atomic<uint64_t>* visits_;
};

}  // namespace cardfs::fusefs
