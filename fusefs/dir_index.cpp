#include "fusefs/dir_index.h"

#include <algorithm>

#include "base/coding.h"
#include "fusefs/dir_block.h"

namespace cardfs::fusefs {
namespace {

constexpr uint32_t kRootInfo = 24;
constexpr uint32_t kRootEntries = 32;
constexpr uint32_t kNodeEntries = 8;

uint32_t entries_at(bool root) { return root ? kRootEntries : kNodeEntries; }

}  // namespace

uint32_t DirIndex::root_limit() const { return index_limit(dir_.ctx_.bs, true); }
uint32_t DirIndex::node_limit() const { return index_limit(dir_.ctx_.bs, false); }

Status DirIndex::bad(const std::string& why) {
  invalid_ = true;
  return Status::error(EIO, why);
}

uint32_t index_limit(uint32_t block_size, bool root) {
  return (block_size - kDirTailSize - entries_at(root)) / 8;
}

Result<IndexNode> parse_index_node(std::span<const std::byte> in, bool root) {
  if (in.size() < 1024) return Status::error(EIO, "index block too short");
  const std::byte* b = in.data();
  const uint32_t usable = uint32_t(in.size()) - kDirTailSize;
  const uint32_t at = entries_at(root);
  IndexNode n;
  const bool shape_ok = root ? get_u16(b + 4) == 12 && get_u16(b + 16) == usable - 12 &&
                                   get_u32(b + kRootInfo) == 0 && get_u8(b + kRootInfo + 5) == 8
                             : get_u32(b) == 0 && get_u16(b + 4) == usable;
  if (!shape_ok) return Status::error(EIO, root ? "not an index root" : "not an index node");
  if (root) {
    n.hash_version = get_u8(b + kRootInfo + 4);
    n.levels = get_u8(b + kRootInfo + 6);
  }
  if (n.hash_version != kHashVersionSeeded) return Status::error(EIO, "unknown hash version");
  if (n.levels > DirIndex::kMaxLevels) return Status::error(EIO, "too many index levels");
  n.limit = get_u16(b + at);
  const uint32_t count = get_u16(b + at + 2);
  if (n.limit != index_limit(uint32_t(in.size()), root) || count == 0 || count > n.limit)
    return Status::error(EIO, "bad count or limit");
  n.e.reserve(count);
  n.e.emplace_back(0, get_u32(b + at + 4));
  for (uint32_t i = 1; i < count; ++i) n.e.emplace_back(get_u32(b + at + 8 * i), get_u32(b + at + 8 * i + 4));
  return n;
}

void encode_index_node(std::span<std::byte> out, const IndexNode& n, bool root) {
  std::byte* b = out.data();
  const uint32_t at = entries_at(root);
  if (root) {
    put_u32(b + kRootInfo, 0);
    put_u8(b + kRootInfo + 4, n.hash_version);
    put_u8(b + kRootInfo + 5, 8);
    put_u8(b + kRootInfo + 6, n.levels);
    put_u8(b + kRootInfo + 7, 0);
  }
  put_u16(b + at, uint16_t(n.limit));
  put_u16(b + at + 2, uint16_t(n.e.size()));
  put_u32(b + at + 4, n.e[0].second);
  for (size_t i = 1; i < n.e.size(); ++i) {
    put_u32(b + at + 8 * i, n.e[i].first);
    put_u32(b + at + 8 * i + 4, n.e[i].second);
  }
}

Result<DirIndex::Node> DirIndex::read_node(uint64_t fb, bool root) {
  CARDFS_ASSIGN_OR_RETURN(auto buf, dir_.read_block(fb));
  buf.lock_to_read();
  auto parsed = parse_index_node(buf.data(), root);
  buf.unlock();
  // Every probe reads the root: the message is built only on failure.
  auto where = [fb](const std::string& why) {
    return "index block " + std::to_string(fb) + ": " + why;
  };
  if (!parsed.is_ok()) return bad(where(parsed.status().message()));
  Node n;
  n.fb = fb;
  n.root = root;
  n.levels = parsed->levels;
  n.limit = parsed->limit;
  n.e = std::move(parsed->e);
  const uint64_t blocks = dir_.block_count();
  for (size_t i = 0; i < n.e.size(); ++i) {
    if (n.e[i].second == 0 || n.e[i].second >= blocks)
      return bad(where("entry points outside the directory"));
    if (i > 1 && n.e[i].first < n.e[i - 1].first) return bad(where("hashes out of order"));
  }
  return n;
}

Status DirIndex::write_node(const Node& n) {
  CARDFS_ASSIGN_OR_RETURN(auto buf, dir_.read_block(n.fb));
  buf.lock();
  encode_index_node(buf.data(), IndexNode{kHashVersionSeeded, n.levels, n.limit, n.e}, n.root);
  dir_.seal(buf);
  buf.unlock();
  buf.mark_dirty();
  return Status::ok();
}

Result<std::vector<DirIndex::Node>> DirIndex::probe(uint32_t hash) {
  std::vector<Node> frames;
  frames.reserve(kMaxLevels + 1);
  CARDFS_ASSIGN_OR_RETURN(Node root, read_node(0, true));
  const uint8_t levels = root.levels;
  frames.push_back(std::move(root));
  for (int level = 0;; ++level) {
    Node& n = frames.back();
    // The last entry whose hash is <= hash (entry 0 stands for hash 0).
    auto it = std::upper_bound(n.e.begin() + 1, n.e.end(), hash,
                               [](uint32_t h, const auto& e) { return h < e.first; });
    n.pos = size_t(it - n.e.begin()) - 1;
    if (level == levels) break;
    CARDFS_ASSIGN_OR_RETURN(Node child, read_node(n.e[n.pos].second, false));
    frames.push_back(std::move(child));
  }
  return frames;
}

Result<std::optional<uint32_t>> DirIndex::step(std::vector<Node>& frames,
                                                std::optional<uint32_t> run) {
  int i = int(frames.size()) - 1;
  while (i >= 0 && frames[i].pos + 1 >= frames[i].e.size()) --i;
  if (i < 0) return std::optional<uint32_t>{};
  // The entry at the level that moves holds the next leaf's hash (a node's
  // own entry 0 has none).
  const uint32_t next_hash = frames[i].e[frames[i].pos + 1].first;
  if (run && (!(next_hash & 1) || (next_hash & ~1u) != *run)) return std::optional<uint32_t>{};
  ++frames[i].pos;
  for (size_t j = i + 1; j < frames.size(); ++j) {
    CARDFS_ASSIGN_OR_RETURN(frames[j], read_node(frames[j - 1].e[frames[j - 1].pos].second, false));
    frames[j].pos = 0;
  }
  return std::optional<uint32_t>{next_hash};
}

Status DirIndex::for_each_run(uint32_t hash,
                              const std::function<Result<bool>(const std::vector<uint64_t>&)>& f) {
  CARDFS_ASSIGN_OR_RETURN(auto frames, probe(hash));
  std::vector<uint64_t> run{frames.back().e[frames.back().pos].second};
  for (;;) {
    CARDFS_ASSIGN_OR_RETURN(auto next, step(frames, std::nullopt));
    if (next && (*next & 1)) {  // continues the run: same leaf set
      run.push_back(frames.back().e[frames.back().pos].second);
      continue;
    }
    CARDFS_ASSIGN_OR_RETURN(bool more, f(run));
    if (!more || !next) return Status::ok();
    run = {frames.back().e[frames.back().pos].second};
  }
}

Result<std::optional<DirHit>> DirIndex::find(std::string_view name, DirSlot* slot) {
  const uint32_t hash = dir_.hash_(name);
  CARDFS_ASSIGN_OR_RETURN(auto frames, probe(hash));
  if (slot) *slot = {};
  for (;;) {
    const Node& bottom = frames.back();
    // Only the first leaf's room: add puts a name in the leaf its probe finds.
    CARDFS_ASSIGN_OR_RETURN(auto hit, dir_.find_in_block(bottom.e[bottom.pos].second, name, slot));
    slot = nullptr;
    if (hit) return hit;
    CARDFS_ASSIGN_OR_RETURN(auto more, step(frames, hash));
    if (!more) return std::optional<DirHit>{};
  }
}

Status DirIndex::split_leaf(Node& bottom, uint64_t leaf) {
  CARDFS_ASSIGN_OR_RETURN(auto buf, dir_.read_block(leaf));
  buf.lock();
  auto recs = dir_block::entries(buf.data());
  std::vector<std::tuple<uint32_t, std::string, uint32_t, uint8_t>> all;  // hash, name, ino, type
  if (recs.is_ok())
    for (auto& r : *recs) all.emplace_back(dir_.hash_(r.name), std::string(r.name), r.inode, r.type);
  buf.unlock();
  if (!recs.is_ok()) return dir_.ctx_.corrupt(recs.status().message());
  if (all.size() < 2) return bad("leaf " + std::to_string(leaf) + " full with < 2 entries");
  std::sort(all.begin(), all.end());
  const size_t m = all.size() / 2;
  const uint32_t split_hash = std::get<0>(all[m]);
  const bool continued = std::get<0>(all[m - 1]) == split_hash;
  auto to_recs = [&](size_t from, size_t to) {
    std::vector<DirRecord> out;
    for (size_t i = from; i < to; ++i)
      out.push_back({0, std::get<2>(all[i]), 0, std::get<3>(all[i]), std::get<1>(all[i])});
    return out;
  };
  CARDFS_ASSIGN_OR_RETURN(auto fresh, dir_.append_block());
  for (auto [b, recs_part] : {std::pair{&fresh.second, to_recs(m, all.size())},
                              std::pair{&buf, to_recs(0, m)}}) {
    b->lock();
    dir_block::write_packed(b->data(), recs_part);
    dir_.seal(*b);
    b->unlock();
    b->mark_dirty();
  }
  bottom.e.insert(bottom.e.begin() + bottom.pos + 1,
                  {split_hash | (continued ? 1u : 0u), uint32_t(fresh.first)});
  return write_node(bottom);
}

Status DirIndex::grow(std::vector<Node>& frames) {
  int level = int(frames.size()) - 1;
  while (level >= 0 && frames[level].e.size() >= frames[level].limit) --level;
  if (level < 0) {  // the root is full too: add a level below it
    Node& root = frames[0];
    if (root.levels >= kMaxLevels)
      return Status::error(ENOSPC, "directory " + std::to_string(dir_.dir_.ino) + " index is full");
    CARDFS_ASSIGN_OR_RETURN(auto fresh, dir_.append_block());
    Node child{fresh.first, false, 0, node_limit(), root.e, 0};
    CARDFS_RETURN_IF_ERROR(write_node(child));
    root.e = {{0, uint32_t(fresh.first)}};
    ++root.levels;
    return write_node(root);
  }
  Node& parent = frames[level];
  Node& full = frames[level + 1];
  const size_t m = full.e.size() / 2;
  CARDFS_ASSIGN_OR_RETURN(auto fresh, dir_.append_block());
  Node upper{fresh.first, false, 0, node_limit(), {full.e.begin() + m, full.e.end()}, 0};
  const uint32_t split_hash = full.e[m].first;
  full.e.resize(m);
  CARDFS_RETURN_IF_ERROR(write_node(upper));
  CARDFS_RETURN_IF_ERROR(write_node(full));
  parent.e.insert(parent.e.begin() + parent.pos + 1, {split_hash, uint32_t(fresh.first)});
  return write_node(parent);
}

Status DirIndex::add(std::string_view name, uint32_t ino, uint8_t type) {
  const uint32_t hash = dir_.hash_(name);
  // Each round adds, splits a leaf or grows the index by one node.
  for (int round = 0; round < 2 * (kMaxLevels + 3); ++round) {
    CARDFS_ASSIGN_OR_RETURN(auto frames, probe(hash));
    Node& bottom = frames.back();
    const uint64_t leaf = bottom.e[bottom.pos].second;
    CARDFS_ASSIGN_OR_RETURN(bool added, dir_.add_to_block(leaf, name, ino, type));
    if (added) return Status::ok();
    if (bottom.e.size() < bottom.limit) {
      CARDFS_RETURN_IF_ERROR(split_leaf(bottom, leaf));
    } else {
      CARDFS_RETURN_IF_ERROR(grow(frames));
    }
  }
  return bad("could not place '" + std::string(name) + "' in the index");
}

Status DirIndex::make_indexed_and_add(std::string_view name, uint32_t ino, uint8_t type) {
  CARDFS_ASSIGN_OR_RETURN(auto root, dir_.read_block(0));
  root.lock();
  auto recs = dir_block::entries(root.data());
  std::vector<std::tuple<std::string, uint32_t, uint8_t>> moved;
  uint32_t parent = 0;
  if (recs.is_ok())
    for (auto& r : *recs) {
      if (r.name == "..") parent = r.inode;
      else if (r.name != ".") moved.emplace_back(std::string(r.name), r.inode, r.type);
    }
  root.unlock();
  if (!recs.is_ok()) return dir_.ctx_.corrupt(recs.status().message());
  if (!parent) return dir_.ctx_.corrupt("directory " + std::to_string(dir_.dir_.ino) + " has no '..'");
  CARDFS_ASSIGN_OR_RETURN(auto leaf, dir_.append_block());
  std::vector<DirRecord> out;
  for (auto& [n, i, t] : moved) out.push_back({0, i, 0, t, n});
  leaf.second.lock();
  dir_block::write_packed(leaf.second.data(), out);
  dir_.seal(leaf.second);
  leaf.second.unlock();
  leaf.second.mark_dirty();

  root.lock();
  dir_block::init_empty(root.data());
  (void)dir_block::add(root.data(), ".", dir_.dir_.ino, kFtDir);
  (void)dir_block::add(root.data(), "..", parent, kFtDir);
  dir_.seal(root);
  root.unlock();
  root.mark_dirty();
  dir_.dir_.d.flags |= kInodeFlagIndex;
  CARDFS_RETURN_IF_ERROR(write_node(Node{0, true, 0, root_limit(), {{0, uint32_t(leaf.first)}}, 0}));
  return add(name, ino, type);
}

}  // namespace cardfs::fusefs
