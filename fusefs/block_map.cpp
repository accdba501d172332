#include "fusefs/block_map.h"

#include <sys/stat.h>

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

uint64_t goal_for(Context& ctx, const Inode& inode, uint64_t fb) {
  if (inode.last_phys && inode.last_file_block + 1 == fb) return inode.last_phys + 1;
  if (inode.last_phys) return inode.last_phys;
  return ctx.groups.group_start_block(ctx.groups.group_of_inode(inode.ino));
}

// The p entries of an indirect block.
std::vector<uint32_t> entries_of(cache::BufferRef& buf, uint64_t p) {
  std::vector<uint32_t> e(p);
  buf.lock();
  for (uint64_t i = 0; i < p; ++i) e[i] = get_u32(buf.data().data() + 4 * i);
  buf.unlock();
  return e;
}

Result<std::vector<uint32_t>> read_entries(Context& ctx, uint64_t block) {
  CARDFS_ASSIGN_OR_RETURN(auto buf, ctx.cache.bread(block));
  return entries_of(buf, ctx.ptrs);
}

// Frees what [first, end) covers below indirect block `block` of `level`
// (1: its entries are data blocks) whose first file block is `base`; the
// data blocks only when `data`, else just the indirect blocks left empty.
// Returns true when the block is left with no pointers.
Result<bool> free_tree(Context& ctx, Inode& inode, uint64_t block, int level, uint64_t base,
                       uint64_t first, uint64_t end, bool data) {
  const uint64_t p = ctx.ptrs;
  uint64_t span = 1;
  for (int i = 1; i < level; ++i) span *= p;
  CARDFS_ASSIGN_OR_RETURN(auto buf, ctx.cache.bread(block));
  std::vector<uint32_t> e = entries_of(buf, p);
  bool changed = false;
  for (uint64_t i = 0; i < p; ++i) {
    uint64_t lo = base + i * span, hi = lo + span;
    if (!e[i] || hi <= first || lo >= end || (level == 1 && !data)) continue;
    // Entries of the last level are data pointers, perhaps marked unwritten.
    const uint64_t child = level == 1 ? decode_data_pointer(e[i], ctx.unwritten).block : e[i];
    CARDFS_RETURN_IF_ERROR(check_ptr(ctx, inode, child, lo));
    bool empty = true;
    if (level > 1) {
      CARDFS_ASSIGN_OR_RETURN(empty, free_tree(ctx, inode, child, level - 1, lo, first, end, data));
    }
    if (empty) {
      release_block(ctx, inode, child);
      e[i] = 0;
      changed = true;
    }
  }
  if (changed) {
    buf.lock();
    for (uint64_t i = 0; i < p; ++i) put_u32(buf.data().data() + 4 * i, e[i]);
    buf.unlock();
    buf.mark_dirty();
  }
  for (uint32_t x : e)
    if (x) return false;
  return true;
}

// The data pointer `raw` (stored form) of file block fb: fills m and applies
// mode — allocates a hole (unwritten unless kWrite), marks a written block
// unwritten for kZero, or clears the unwritten mark for kWrite. Returns true when raw changed.
Result<bool> map_leaf(Context& ctx, Inode& inode, uint32_t& raw, uint64_t goal, uint64_t fb,
                      MapMode mode, Mapped& m) {
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

// Appends to out the file blocks of [first, end) mapped below indirect
// block `block` of `level` (1: its entries are data pointers) whose first
// file block is `base`.
Status collect_mapped(Context& ctx, Inode& inode, uint64_t block, int level, uint64_t base,
                      uint64_t first, uint64_t end, std::vector<uint64_t>& out) {
  const uint64_t p = ctx.ptrs;
  uint64_t span = 1;
  for (int i = 1; i < level; ++i) span *= p;
  CARDFS_ASSIGN_OR_RETURN(std::vector<uint32_t> e, read_entries(ctx, block));
  for (uint64_t i = 0; i < p; ++i) {
    const uint64_t lo = base + i * span;
    if (!e[i] || lo + span <= first || lo >= end) continue;
    const uint64_t child = level == 1 ? decode_data_pointer(e[i], ctx.unwritten).block : e[i];
    CARDFS_RETURN_IF_ERROR(check_ptr(ctx, inode, child, lo));
    if (level == 1) {
      out.push_back(lo);
    } else {
      CARDFS_RETURN_IF_ERROR(collect_mapped(ctx, inode, child, level - 1, lo, first, end, out));
    }
  }
  return Status::ok();
}

// Walks the pointer path of file block fb to its stored data pointer and
// calls leaf(raw) on it, storing raw back when leaf returns true. Missing
// indirect blocks are allocated (zeroed) when create; without it a missing
// path ends the walk: false, leaf not called. Returns whether leaf ran.
template <class Leaf>
Result<bool> walk_to_leaf(Context& ctx, Inode& inode, const PointerPath& path, uint64_t fb,
                          bool create, uint64_t goal, Leaf&& leaf) {
  uint32_t& top = inode.d.block[path.slot[0]];
  if (path.depth == 0) {
    CARDFS_RETURN_IF_ERROR(leaf(top).status());
    return true;
  }
  if (top == 0) {
    if (!create) return false;
    CARDFS_ASSIGN_OR_RETURN(uint64_t b, allocate(ctx, inode, goal, true));
    top = uint32_t(b);
  } else {
    CARDFS_RETURN_IF_ERROR(check_ptr(ctx, inode, top, fb));
  }
  uint64_t ptr = top;
  for (int level = 1; level <= path.depth; ++level) {
    CARDFS_ASSIGN_OR_RETURN(auto buf, ctx.cache.bread(ptr));
    const uint32_t off = 4 * path.slot[level];
    buf.lock();
    uint32_t child = get_u32(buf.data().data() + off);
    buf.unlock();
    bool changed = false;
    if (level == path.depth) {
      CARDFS_ASSIGN_OR_RETURN(changed, leaf(child));
    } else if (child == 0) {
      if (!create) return false;
      CARDFS_ASSIGN_OR_RETURN(uint64_t b, allocate(ctx, inode, goal, true));
      child = uint32_t(b);
      changed = true;
    } else {
      CARDFS_RETURN_IF_ERROR(check_ptr(ctx, inode, child, fb));
    }
    if (changed) {
      buf.lock();
      put_u32(buf.data().data() + off, child);
      buf.unlock();
      buf.mark_dirty(off, 4);
    }
    ptr = child;
  }
  return true;
}

Status free_range(Context& ctx, Inode& inode, uint64_t first, uint64_t end, bool data) {
  for (uint64_t i = first; data && i < std::min<uint64_t>(end, kDirectBlocks); ++i) {
    if (!inode.d.block[i]) continue;
    const uint64_t b = decode_data_pointer(inode.d.block[i], ctx.unwritten).block;
    CARDFS_RETURN_IF_ERROR(check_ptr(ctx, inode, b, i));
    release_block(ctx, inode, b);
    inode.d.block[i] = 0;
  }
  const uint64_t p = ctx.ptrs;
  uint64_t base = kDirectBlocks, span = p;
  for (int level = 1; level <= 3; ++level, base += span, span *= p) {
    uint32_t& top = inode.d.block[kDirectBlocks + level - 1];
    if (!top || base + span <= first || base >= end) continue;
    CARDFS_RETURN_IF_ERROR(check_ptr(ctx, inode, top, base));
    CARDFS_ASSIGN_OR_RETURN(bool empty, free_tree(ctx, inode, top, level, base, first, end, data));
    if (empty) {
      release_block(ctx, inode, top);
      top = 0;
    }
  }
  inode.last_file_block = ~0ull;
  return Status::ok();
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
  CARDFS_RETURN_IF_ERROR(walk_to_leaf(ctx, inode, *where, fb, create, goal, [&](uint32_t& raw) {
                           return map_leaf(ctx, inode, raw, goal, fb, mode, m);
                         }).status());
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
  for (uint64_t i = first; i < std::min<uint64_t>(end, kDirectBlocks); ++i)
    if (inode.d.block[i]) out.push_back(i);
  const uint64_t p = ctx.ptrs;
  uint64_t base = kDirectBlocks, span = p;
  for (int level = 1; level <= 3; ++level, base += span, span *= p) {
    const uint32_t top = inode.d.block[kDirectBlocks + level - 1];
    if (!top || base + span <= first || base >= end) continue;
    CARDFS_RETURN_IF_ERROR(check_ptr(ctx, inode, top, base));
    CARDFS_RETURN_IF_ERROR(collect_mapped(ctx, inode, top, level, base, first, end, out));
  }
  return out;
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
