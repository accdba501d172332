// DirIndex: the hashed index of one directory (internal header).
//
// Index block formats (file blocks of the directory; all are directory
// blocks with the usual checksummed tail):
//   root (block 0): "." (rec_len 12), ".." (rec_len spans the rest), then
//     24 u32 0   28 u8 hash_version  29 u8 info_length (8)
//     30 u8 levels (index levels below the root, at most 2)  31 u8 flags
//     32 u16 limit  34 u16 count  36 u32 block of entry 0 (hash 0)
//     40 + 8*(i-1): u32 hash, u32 block for entries i = 1 .. count-1
//   node: an unused record spanning the block (inode 0), then at 8 the same
//     limit/count/entries layout.
// Entries are sorted by hash; an entry's hash is the lowest hash its
// subtree holds, with bit 0 set when the subtree continues a run of equal
// hashes from the previous one.
//
// Used by Directory only; same locking (the directory's Inode::mu held).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "fusefs/directory.h"

namespace cardfs::fusefs {

// ---- the index block format as pure functions (also for fsck and inspect)
struct IndexNode {
  uint8_t hash_version = kHashVersionSeeded;  // root only
  uint8_t levels = 0;                         // root only: index levels below it
  uint32_t limit = 0;
  std::vector<std::pair<uint32_t, uint32_t>> e;  // (hash, file block); e[0]'s hash is 0
};
// Entries an index root (or node) of this block size holds at most.
uint32_t index_limit(uint32_t block_size, bool root);
// Parses the index part of a root (file block 0) or node block: the
// shape, hash version, levels, limit and count are checked (EIO saying
// which is wrong); the entries' targets and order are the caller's to judge.
Result<IndexNode> parse_index_node(std::span<const std::byte> b, bool root);
// Writes n's index part into b (a root's '.' and '..' records must be
// there already); the caller seals the block.
void encode_index_node(std::span<std::byte> b, const IndexNode& n, bool root);

class DirIndex {
 public:
  explicit DirIndex(Directory& dir) : dir_(dir) {}

  // slot: where add would put the name (its first leaf's room), if it has room.
  Result<std::optional<DirHit>> find(std::string_view name, DirSlot* slot = nullptr);
  Status add(std::string_view name, uint32_t ino, uint8_t type);
  // Turns a full one-block directory into an indexed one, then adds.
  Status make_indexed_and_add(std::string_view name, uint32_t ino, uint8_t type);
  // Calls f with the leaves in index (= hash) order from the one that holds
  // `hash`, a run at a time: a leaf together with those after it that
  // continue its run of equal hashes (bit 0 of their index hash), since
  // only a whole run is in hash order once sorted. Stops when f says false.
  Status for_each_run(uint32_t hash,
                      const std::function<Result<bool>(const std::vector<uint64_t>&)>& f);
  // True after an operation failed because the index itself is malformed
  // (as opposed to an I/O or checksum error).
  bool invalid() const { return invalid_; }

  static constexpr uint8_t kMaxLevels = 2;

 private:
  struct Node {
    uint64_t fb = 0;
    bool root = false;
    uint8_t levels = 0;  // root only
    uint32_t limit = 0;
    std::vector<std::pair<uint32_t, uint32_t>> e;  // (hash, file block)
    size_t pos = 0;                                // entry being followed
  };

  Result<Node> read_node(uint64_t fb, bool root);
  Status write_node(const Node& n);
  Result<std::vector<Node>> probe(uint32_t hash);
  // Moves frames to the next leaf in index order and returns its index
  // hash; nothing at the end, or (with run) when the next leaf does not
  // continue that run of equal hashes.
  Result<std::optional<uint32_t>> step(std::vector<Node>& frames, std::optional<uint32_t> run);
  Status split_leaf(Node& bottom, uint64_t leaf);
  Status grow(std::vector<Node>& frames);
  Status bad(const std::string& why);
  uint32_t root_limit() const;
  uint32_t node_limit() const;

  Directory& dir_;
  bool invalid_ = false;
};

}  // namespace cardfs::fusefs
