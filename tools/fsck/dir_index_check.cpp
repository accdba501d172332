// Checking a hashed directory index against its leaves, and rebuilding it.
// The block formats are fusefs/dir_index.h's.
#include <algorithm>
#include <optional>
#include <set>
#include <tuple>

#include "base/coding.h"
#include "fusefs/dir_block.h"
#include "fusefs/dir_index.h"
#include "tools/fsck/dir_map.h"

namespace cardfs::fsck {

using namespace fusefs;

namespace {

struct IndexCheck {
  Checker& c;
  uint32_t dir;
  const std::vector<uint64_t>& blocks;
  std::set<uint64_t> seen;  // file blocks reached from the index

  Result<std::string> node(uint64_t fb, bool root, int depth, uint64_t lo, uint64_t hi, bool hi_cont) {
    CARDFS_ASSIGN_OR_RETURN(auto b, c.read_block(blocks[fb]));
    auto parsed = parse_index_node(b, root);
    if (!parsed.is_ok()) return "block #" + std::to_string(fb) + ": " + parsed.status().message();
    const IndexNode& n = *parsed;
    if (root) depth = n.levels;
    for (size_t i = 0; i < n.e.size(); ++i) {
      auto [hash, child] = n.e[i];
      if (child == 0 || child >= blocks.size() || blocks[child] == 0)
        return "block #" + std::to_string(fb) + " entry " + std::to_string(i) + " points outside the directory";
      if (!seen.insert(child).second)
        return "file block " + std::to_string(child) + " is referenced twice";
      if (i > 1 && hash < n.e[i - 1].first) return "hashes out of order in block #" + std::to_string(fb);
      const uint64_t clo = i == 0 ? lo : (hash & ~1u);
      if (clo < lo) return "hash below its parent's range in block #" + std::to_string(fb);
      uint64_t chi = hi;
      bool ccont = hi_cont;
      if (i + 1 < n.e.size()) {
        chi = n.e[i + 1].first & ~1u;
        ccont = n.e[i + 1].first & 1;
      }
      CARDFS_ASSIGN_OR_RETURN(std::string sub, depth == 0 ? leaf(child, clo, chi, ccont)
                                                          : node(child, false, depth - 1, clo, chi, ccont));
      if (!sub.empty()) return sub;
    }
    return std::string();
  }

  Result<std::string> leaf(uint64_t fb, uint64_t lo, uint64_t hi, bool hi_cont) {
    CARDFS_ASSIGN_OR_RETURN(auto b, c.read_block(blocks[fb]));
    auto recs = dir_block::entries(b);
    if (!recs.is_ok()) return "leaf block #" + std::to_string(fb) + " is unreadable";
    for (const DirRecord& r : *recs) {
      const uint64_t h = name_hash(c.sb_, r.name);
      if (h < lo || (h > hi || (h == hi && !hi_cont)))
        return "'" + std::string(r.name) + "' in leaf block #" + std::to_string(fb) +
               " is outside the leaf's hash range";
    }
    return std::string();
  }
};

// An index over `top` (hash, file block) pairs: a root, and when they do
// not fit in it, levels of nodes (at file blocks first_fb, first_fb + 1,
// ...) each holding up to a node's limit of the level below. nullopt when
// more levels than the format allows would be needed.
struct IndexTree {
  IndexNode root;
  std::vector<IndexNode> nodes;  // in file-block order
};

std::optional<IndexTree> index_levels(uint32_t bs, std::vector<std::pair<uint32_t, uint32_t>> top,
                                      uint32_t first_fb) {
  IndexTree t;
  const uint32_t node_limit = index_limit(bs, false);
  while (top.size() > index_limit(bs, true)) {
    if (t.root.levels == DirIndex::kMaxLevels) return std::nullopt;
    std::vector<std::pair<uint32_t, uint32_t>> up;
    for (size_t i = 0; i < top.size(); i += node_limit) {
      IndexNode n{kHashVersionSeeded, 0, node_limit,
                  {top.begin() + i, top.begin() + std::min(top.size(), i + node_limit)}};
      // The parent's entry carries the node's lowest hash (and continuation bit).
      up.emplace_back(n.e[0].first, first_fb + uint32_t(t.nodes.size()));
      t.nodes.push_back(std::move(n));
    }
    top = std::move(up);
    ++t.root.levels;
  }
  t.root.limit = index_limit(bs, true);
  t.root.e = std::move(top);
  return t;
}

}  // namespace

Result<std::string> check_dir_index(Checker& c, uint32_t dir, const std::vector<uint64_t>& blocks) {
  if (blocks.empty() || blocks[0] == 0) return std::string("the directory has no root block");
  IndexCheck check{c, dir, blocks, {}};
  CARDFS_ASSIGN_OR_RETURN(std::string why, check.node(0, true, 0, 0, 1ull << 32, false));
  if (!why.empty()) return why;
  // Every block holding entries must be a leaf the index reaches.
  for (uint64_t fb = 1; fb < blocks.size(); ++fb) {
    if (blocks[fb] == 0 || check.seen.count(fb)) continue;
    CARDFS_ASSIGN_OR_RETURN(auto b, c.read_block(blocks[fb]));
    auto recs = dir_block::entries(b);
    if (recs.is_ok() && !recs->empty())
      return "block #" + std::to_string(fb) + " holds entries the index does not reach";
  }
  return std::string();
}

Status rebuild_dir_index(Checker& c, uint32_t dir, const std::vector<uint64_t>& blocks) {
  std::vector<std::tuple<uint32_t, std::string, uint32_t, uint8_t>> all;  // hash, name, ino, type
  uint32_t dotdot = c.ino_[dir].dotdot ? c.ino_[dir].dotdot : kRootIno;
  for (uint64_t fb = 1; fb < blocks.size(); ++fb) {
    if (blocks[fb] == 0) continue;
    CARDFS_ASSIGN_OR_RETURN(auto b, c.read_block(blocks[fb]));
    auto recs = dir_block::entries(b);
    if (!recs.is_ok()) continue;
    for (const DirRecord& r : *recs)
      all.emplace_back(name_hash(c.sb_, r.name), std::string(r.name), r.inode, r.type);
  }
  std::sort(all.begin(), all.end());
  // Pack sorted entries into leaves (file blocks 1, 2, ...).
  const uint32_t usable = c.bs_ - kDirTailSize;
  std::vector<std::vector<DirRecord>> leaves(1);
  std::vector<uint32_t> leaf_hash{0};
  uint32_t used = 0;
  for (size_t i = 0; i < all.size(); ++i) {
    const uint32_t need = dir_rec_len(std::get<1>(all[i]).size());
    if (used + need > usable) {
      uint32_t h = std::get<0>(all[i]);
      leaves.emplace_back();
      leaf_hash.push_back(h | (h == std::get<0>(all[i - 1]) ? 1u : 0u));
      used = 0;
    }
    leaves.back().push_back({0, std::get<2>(all[i]), 0, std::get<3>(all[i]), std::get<1>(all[i])});
    used += need;
  }
  // The leaves (file blocks 1..L) under as many node levels as the root's
  // limit needs; the nodes follow the leaves.
  std::vector<std::pair<uint32_t, uint32_t>> top;  // (hash, file block) the root will hold
  for (size_t i = 0; i < leaves.size(); ++i) top.emplace_back(leaf_hash[i], uint32_t(i + 1));
  auto tree = index_levels(c.bs_, std::move(top), uint32_t(leaves.size() + 1));
  CARDFS_ASSIGN_OR_RETURN(DiskInode di, c.read_inode(dir));
  const bool fits = tree.has_value() && leaves.size() + tree->nodes.size() + 1 <= blocks.size() &&
                    std::all_of(blocks.begin(), blocks.end(), [](uint64_t b) { return b != 0; });
  if (!fits) {  // keep the directory linear: the leaves stay as they are
    di.flags &= ~kInodeFlagIndex;
    c.say("Directory inode " + std::to_string(dir) + ": no room for an index; it stays linear.");
    return c.write_inode(dir, di);
  }
  std::vector<std::byte> b(c.bs_);
  for (uint64_t fb = 1; fb < blocks.size(); ++fb) {
    const uint64_t node = fb - leaves.size() - 1;  // wraps below the nodes
    if (fb <= leaves.size()) {
      dir_block::write_packed(b, leaves[fb - 1]);
    } else {
      dir_block::init_empty(b);
      if (node < tree->nodes.size()) encode_index_node(b, tree->nodes[node], false);
    }
    dir_block::seal(b, dir, c.seed_);
    CARDFS_RETURN_IF_ERROR(c.write_block(blocks[fb], b));
  }
  dir_block::init_empty(b);
  (void)dir_block::add(b, ".", dir, kFtDir);
  (void)dir_block::add(b, "..", dotdot, kFtDir);
  encode_index_node(b, tree->root, true);
  dir_block::seal(b, dir, c.seed_);
  CARDFS_RETURN_IF_ERROR(c.write_block(blocks[0], b));
  if (!(di.flags & kInodeFlagIndex)) {
    di.flags |= kInodeFlagIndex;
    CARDFS_RETURN_IF_ERROR(c.write_inode(dir, di));
  }
  return Status::ok();
}

}  // namespace cardfs::fsck
