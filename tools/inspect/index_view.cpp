// The hashed index of a directory as `ls -l` shows it: the root's header
// (hash version, levels, limit, count), every index entry (hash -> file
// block), interior nodes, and each leaf's entries with their hashes.
// A malformed index is shown up to where it stops making sense.
#include "tools/inspect/index_view.h"

#include <cstdio>

#include "fusefs/dir_block.h"
#include "fusefs/dir_index.h"
#include "fusefs/format.h"

namespace cardfs::inspect {

using namespace fusefs;

namespace {

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

struct IndexWalk {
  Inspector& in;
  const std::vector<uint64_t>& map;  // file block -> disk block
  Value nodes = Value::array();
  Value leaves = Value::array();
  std::string error;

  Value entries(const IndexNode& n) {
    Value rows = Value::array();
    for (const auto& [hash, fb] : n.e) {
      Value r = Value::object();
      r.add("hash", hex32(hash)).add("block", fb);
      rows.push(r);
    }
    return rows;
  }

  Result<std::vector<std::byte>> read(uint32_t fb) {
    if (fb >= map.size() || map[fb] == 0)
      return Status::error(EIO, "file block " + std::to_string(fb) + " is outside the directory");
    return in.block(map[fb]);
  }

  // Follows node n's entries; depth: index levels still below it.
  void children(const IndexNode& n, int depth) {
    for (const auto& [hash, fb] : n.e) {
      if (!error.empty()) return;
      auto b = read(fb);
      if (!b.is_ok()) {
        error = b.status().message();
        return;
      }
      if (depth > 0) node(fb, *b, depth - 1);
      else leaf(fb, hash, *b);
    }
  }

  void node(uint32_t fb, std::span<const std::byte> b, int depth) {
    auto n = parse_index_node(b, false);
    if (!n.is_ok()) {
      error = "node at file block " + std::to_string(fb) + ": " + n.status().message();
      return;
    }
    Value v = Value::object();
    v.add("block", fb).add("limit", n->limit).add("count", uint32_t(n->e.size())).add("entries", entries(*n));
    nodes.push(v);
    children(*n, depth);
  }

  void leaf(uint32_t fb, uint32_t hash, std::span<const std::byte> b) {
    Value rows = Value::array();
    auto recs = dir_block::entries(b);
    if (recs.is_ok())
      for (const DirRecord& r : *recs) {
        Value e = Value::object();
        e.add("hash", hex32(seeded_name_hash(in.sb().hash_seed, r.name))).add("inode", r.inode);
        e.add("name", std::string(r.name));
        rows.push(e);
      }
    Value v = Value::object();
    v.add("block", fb).add("hash_from", hex32(hash)).add("count", uint32_t(rows.items().size()));
    if (!recs.is_ok()) v.add("error", recs.status().message());
    v.add("entries", rows);
    leaves.push(v);
  }
};

}  // namespace

Value index_tree(Inspector& in, const std::vector<uint64_t>& map) {
  Value v = Value::object();
  IndexWalk walk{in, map, Value::array(), Value::array(), ""};
  auto b = walk.read(0);
  auto root = b.is_ok() ? parse_index_node(*b, true) : Result<IndexNode>(b.status());
  if (!root.is_ok()) {
    v.add("error", "root: " + root.status().message());
    return v;
  }
  v.add("hash_version", uint32_t(root->hash_version)).add("levels", uint32_t(root->levels));
  v.add("limit", root->limit).add("count", uint32_t(root->e.size())).add("entries", walk.entries(*root));
  walk.children(*root, root->levels);
  if (!walk.nodes.items().empty()) v.add("nodes", walk.nodes);
  v.add("leaves", walk.leaves);
  if (!walk.error.empty()) v.add("error", walk.error);
  return v;
}

}  // namespace cardfs::inspect
