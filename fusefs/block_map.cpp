#include "fusefs/block_map.h"

#include <sys/stat.h>

#include <algorithm>
#include <vector>

#include "base/coding.h"
#include "fusefs/format.h"

namespace cardfs::fusefs {
namespace {

Status check_ptr(Context& ctx, const Inode& inode, uint64_t ptr, uint64_t fb) {
  if (ctx.groups.is_data_block(ptr)) return Status::ok();
  return ctx.corrupt("inode " + std::to_string(inode.ino) + ": block pointer " +
                     std::to_string(ptr) + " (near file block " + std::to_string(fb) +
                     ") is outside the data area");
}

// Indirect blocks and the blocks of directories and symlinks are metadata:
// they go to the metadata AUs, file data near goal in the file's window.
Result<uint64_t> allocate(Context& ctx, Inode& inode, uint64_t goal, bool indirect) {
  const bool meta = (indirect || !S_ISREG(inode.d.mode)) && ctx.groups.splits_metadata();
  CARDFS_ASSIGN_OR_RETURN(uint64_t b, meta ? ctx.groups.alloc_meta_block(ctx.groups.group_of_inode(inode.ino))
                                           : ctx.groups.alloc_block(goal, &inode.res));
  inode.d.blocks += ctx.bs / 512;
  if (indirect) {
    CARDFS_ASSIGN_OR_RETURN(auto buf, ctx.cache.bget_zeroed(b));
    buf.mark_dirty();
  }
  return b;
}

void release_block(Context& ctx, Inode& inode, uint64_t b) {
  ctx.cache.bforget(b);
  ctx.groups.free_block(b);
  inode.d.blocks -= std::min<uint64_t>(inode.d.blocks, ctx.bs / 512);
}

uint64_t goal_for(Context& ctx, const Inode& inode, uint64_t fb) CARDFS_REQUIRES(inode.map_mu) {
  if (inode.last_phys && inode.last_file_block + 1 == fb) return inode.last_phys + 1;
  if (inode.last_phys) return inode.last_phys;
  return ctx.groups.group_start_block(ctx.groups.group_of_inode(inode.ino));
}

// An indirect block's bytes, for the walks (a copy taken under its lock).
Result<std::vector<std::byte>> read_pointers(Context& ctx, uint64_t block) {
  CARDFS_ASSIGN_OR_RETURN(auto buf, ctx.cache.bread(block));
  buf.lock();
  std::vector<std::byte> out(buf.data().begin(), buf.data().end());
  buf.unlock();
  return out;
}

PointerTreeWalk tree_walk(Context& ctx, uint64_t first, uint64_t end) {
  PointerTreeWalk w;
  w.ptrs_per_block = uint32_t(ctx.ptrs);
  w.unwritten_feature = ctx.unwritten;
  w.in_bounds = [&ctx](uint64_t b) { return ctx.groups.is_data_block(b); };
  w.first = first;
  w.end = end;
  w.read = [&ctx](uint64_t b) { return read_pointers(ctx, b); };
  return w;
}

// The data pointer `raw` (stored form) of file block fb: fills m and applies
// mode — allocates a hole (unwritten unless kWrite), marks a written block
// unwritten for kZero, or clears the unwritten mark for kWrite. Returns true when raw changed.
Result<bool> map_leaf(Context& ctx, Inode& inode, uint32_t& raw, uint64_t goal, uint64_t fb,
                      MapMode mode, Mapped& m) CARDFS_REQUIRES(inode.map_mu) {
  const DataPointer dp = decode_data_pointer(raw, ctx.unwritten);
  if (dp.block) CARDFS_RETURN_IF_ERROR(check_ptr(ctx, inode, dp.block, fb));
  m.block = dp.block;
  m.unwritten = dp.unwritten;
  if (mode == MapMode::kLookup) return false;
  if (dp.block) {
    if (mode == MapMode::kZero && !dp.unwritten) {
      raw = uint32_t(dp.block) | kUnwrittenBit;  // enable_unwritten() ran before
      m.unwritten = true;
      ++inode.map_version;
      return true;
    }
    if (mode != MapMode::kWrite || !dp.unwritten) return false;
    raw = uint32_t(dp.block);  // about to be written: the caller zeroes what it does not cover
    m.unwritten = false;
    m.fresh = true;
    ++inode.map_version;
    return true;
  }
  if (mode != MapMode::kWrite && !ctx.unwritten)
    return Status::error(EOPNOTSUPP, "this filesystem has no unwritten blocks");
  CARDFS_ASSIGN_OR_RETURN(m.block, allocate(ctx, inode, goal, false));
  m.unwritten = mode != MapMode::kWrite;
  m.fresh = !m.unwritten;
  raw = uint32_t(m.block) | (m.unwritten ? kUnwrittenBit : 0);
  ++inode.map_version;
  return true;
}

void note_dirtied(std::vector<uint64_t>* dirtied, uint64_t block) {
  if (dirtied && std::find(dirtied->begin(), dirtied->end(), block) == dirtied->end())
    dirtied->push_back(block);
}

// walk_pointer_path's access to indirect blocks: through the cache,
// allocating into the inode (metadata AUs), dirtying only the 4 bytes set.
struct CacheNode {
  cache::BufferRef buf;
  uint64_t block;
  std::vector<uint64_t>* dirtied;  // null: nobody asks
  size_t size() const { return buf.data().size(); }
  uint32_t get(uint32_t slot) {
    buf.lock();
    const uint32_t v = get_u32(buf.data().data() + 4 * slot);
    buf.unlock();
    return v;
  }
  Status set(uint32_t slot, uint32_t v) {
    buf.lock();
    put_u32(buf.data().data() + 4 * slot, v);
    buf.unlock();
    buf.mark_dirty(4 * slot, 4);
    note_dirtied(dirtied, block);
    return Status::ok();
  }
};

struct CacheIo {
  Context& ctx;
  Inode& inode;
  uint64_t goal;
  Status check(uint64_t ptr, uint64_t fb) { return check_ptr(ctx, inode, ptr, fb); }
  std::vector<uint64_t>* dirtied;
  Result<uint64_t> allocate() {
    CARDFS_ASSIGN_OR_RETURN(uint64_t b, fusefs::allocate(ctx, inode, goal, true));
    note_dirtied(dirtied, b);
    return b;
  }
  Result<CacheNode> read(uint64_t b) {
    CARDFS_ASSIGN_OR_RETURN(auto buf, ctx.cache.bread(b));
    return CacheNode{std::move(buf), b, dirtied};
  }
};

template <class Leaf>
Result<bool> walk_to_leaf(Context& ctx, Inode& inode, const PointerPath& path, uint64_t fb,
                          bool create, uint64_t goal, Leaf&& leaf, std::vector<uint64_t>* dirtied = nullptr) {
  CacheIo io{ctx, inode, goal, dirtied};
  return walk_pointer_path(inode.d.block[path.slot[0]], path, fb, create, io, std::forward<Leaf>(leaf));
}

// Frees what [first, end) covers: the data blocks only when `data`, and
// the indirect blocks left empty. Each indirect block changed is written
// once, after its children, as a whole.
Status free_range(Context& ctx, Inode& inode, uint64_t first, uint64_t end, bool data)
    CARDFS_REQUIRES(inode.map_mu) {
  inode.last_file_block = ~0ull;  // on every path out, an error's too
  // No pointer, nothing to walk (the walk skips zero pointers): an empty
  // file's unlink and free need not build the walk.
  if (std::all_of(inode.d.block.begin(), inode.d.block.end(), [](uint32_t b) { return b == 0; }))
    return Status::ok();
  PointerTreeWalk w = tree_walk(ctx, first, end);
  w.enter = [&](const PointerRef& r, uint64_t b) -> Result<Visit> {
    if (r.level == 0 && !data) return Visit::kSkip;
    if (!r.in_bounds) return check_ptr(ctx, inode, b, r.file_block);
    if (r.level > 0) return Visit::kDescend;
    release_block(ctx, inode, b);
    if (r.container == 0) inode.d.block[r.slot] = 0;
    return Visit::kCleared;
  };
  w.leave = [&](const PointerRef& r, uint64_t b, std::span<const uint32_t> e,
                bool changed) -> Result<Visit> {
    if (changed) {
      CARDFS_ASSIGN_OR_RETURN(auto buf, ctx.cache.bread(b));
      buf.lock();
      for (size_t i = 0; i < e.size(); ++i) put_u32(buf.data().data() + 4 * i, e[i]);
      buf.unlock();
      buf.mark_dirty();
    }
    for (uint32_t x : e)
      if (x) return Visit::kSkip;
    release_block(ctx, inode, b);
    if (r.container == 0) inode.d.block[r.slot] = 0;
    return Visit::kCleared;
  };
  return walk_pointer_tree(inode.d.block, w);
}

}  // namespace

uint64_t max_file_blocks(uint32_t ptrs) {
  uint64_t p = ptrs;
  return kDirectBlocks + p + p * p + p * p * p;
}

Result<Mapped> map_block_locked(Context& ctx, Inode& inode, uint64_t fb, MapMode mode) {
  const bool create = mode != MapMode::kLookup;
  auto where = pointer_path(fb, ctx.ptrs);
  if (!where.is_ok()) return create ? Result<Mapped>(where.status()) : Mapped{};  // past the end: a hole
  const uint64_t goal = goal_for(ctx, inode, fb);
  Mapped m;
  CARDFS_RETURN_IF_ERROR(walk_to_leaf(
                             ctx, inode, *where, fb, create, goal,
                             // The walk calls it here, under this function's map_mu; clang
                             // does not follow a lock into a callback.
                             [&](uint32_t& raw) CARDFS_NO_THREAD_SAFETY_ANALYSIS {
                               return map_leaf(ctx, inode, raw, goal, fb, mode, m);
                             },
                             &m.metadata)
                             .status());
  if (create && m.block) {
    inode.last_file_block = fb;
    inode.last_phys = m.block;
  }
  return m;
}

Status free_blocks_locked(Context& ctx, Inode& inode, uint64_t first, uint64_t end) {
  return free_range(ctx, inode, first, end, true);
}

Status prune_indirect_locked(Context& ctx, Inode& inode, uint64_t first, uint64_t end) {
  return free_range(ctx, inode, first, end, false);
}

}  // namespace cardfs::fusefs

namespace cardfs::fusefs {

Result<std::vector<uint64_t>> mapped_blocks_locked(Context& ctx, Inode& inode, uint64_t first,
                                                   uint64_t end) {
  std::vector<uint64_t> out;
  PointerTreeWalk w = tree_walk(ctx, first, end);
  w.enter = [&](const PointerRef& r, uint64_t b) -> Result<Visit> {
    if (!r.in_bounds) return check_ptr(ctx, inode, b, r.file_block);
    if (r.level == 0) out.push_back(r.file_block);
    return Visit::kDescend;
  };
  CARDFS_RETURN_IF_ERROR(walk_pointer_tree(inode.d.block, w));
  return out;
}

Result<uint64_t> seek_mapping_locked(Context& ctx, Inode& inode, uint64_t first, uint64_t end, bool mapped) {
  uint64_t found = end;
  uint64_t next = first;  // the first block not yet seen mapped
  PointerTreeWalk w = tree_walk(ctx, first, end);
  w.enter = [&](const PointerRef& r, uint64_t b) -> Result<Visit> {
    if (!r.in_bounds) return check_ptr(ctx, inode, b, r.file_block);
    if (r.level > 0) return Visit::kDescend;
    if (mapped || r.file_block > next) {  // data, or a gap before this block
      found = mapped ? r.file_block : next;
      return Visit::kStop;
    }
    next = r.file_block + 1;
    return Visit::kDescend;
  };
  CARDFS_RETURN_IF_ERROR(walk_pointer_tree(inode.d.block, w));
  if (!mapped && found == end) found = std::min(next, end);
  return found;
}

Status exchange_pointer_locked(Context& ctx, Inode& inode, uint64_t fb, uint32_t& raw) {
  CARDFS_ASSIGN_OR_RETURN(PointerPath path, pointer_path(fb, ctx.ptrs));
  CARDFS_RETURN_IF_ERROR(walk_to_leaf(ctx, inode, path, fb, raw != 0, goal_for(ctx, inode, fb),
                                      [&](uint32_t& stored) -> Result<bool> {
                                        const uint64_t b = decode_data_pointer(stored, ctx.unwritten).block;
                                        if (b) CARDFS_RETURN_IF_ERROR(check_ptr(ctx, inode, b, fb));
                                        std::swap(stored, raw);
                                        return stored != raw;
                                      }).status());
  ++inode.map_version;
  inode.last_file_block = ~0ull;  // the goal of the next allocation is no longer known
  return Status::ok();
}

Status make_path_locked(Context& ctx, Inode& inode, uint64_t fb) {
  CARDFS_ASSIGN_OR_RETURN(PointerPath path, pointer_path(fb, ctx.ptrs));
  return walk_to_leaf(ctx, inode, path, fb, true, goal_for(ctx, inode, fb),
                      [](uint32_t&) -> Result<bool> { return false; })
      .status();
}

Status release_pointer_locked(Context& ctx, Inode& inode, uint32_t raw) {
  const uint64_t b = decode_data_pointer(raw, ctx.unwritten).block;
  if (!b) return Status::ok();
  CARDFS_RETURN_IF_ERROR(check_ptr(ctx, inode, b, 0));
  release_block(ctx, inode, b);
  return Status::ok();
}

}  // namespace cardfs::fusefs
