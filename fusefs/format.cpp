#include "fusefs/format.h"

#include "base/coding.h"

namespace cardfs::fusefs {

namespace {

uint64_t seeded_hash64(const std::array<uint32_t, 4>& seed, std::string_view name) {
  uint64_t h = (uint64_t(seed[1]) << 32 | seed[0]) ^ 0xcbf29ce484222325ull;
  const uint64_t k = uint64_t(seed[3]) << 32 | seed[2];
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ull;
    h ^= h >> 29;
  }
  h ^= k;  // splitmix64's finaliser spreads the seed through every bit
  h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
  h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

}  // namespace

uint32_t seeded_name_hash(const std::array<uint32_t, 4>& seed, std::string_view name) {
  return uint32_t(seeded_hash64(seed, name) >> 32) & ~1u;
}

uint32_t seeded_minor_hash(const std::array<uint32_t, 4>& seed, std::string_view name) {
  return uint32_t(seeded_hash64(seed, name));
}

Result<PointerPath> pointer_path(uint64_t fb, uint64_t p) {
  PointerPath path;
  if (fb < kDirectBlocks) {
    path.slot[0] = uint32_t(fb);
    return path;
  }
  fb -= kDirectBlocks;
  uint64_t span = p;
  for (int depth = 1; depth <= 3; ++depth, span *= p) {
    if (fb < span) {
      path.depth = depth;
      path.slot[0] = kDirectBlocks + depth - 1;
      for (int level = depth; level >= 1; --level, fb /= p) path.slot[level] = uint32_t(fb % p);
      return path;
    }
    fb -= span;
  }
  return Status::error(EFBIG, "file block beyond the triple indirect block");
}

std::string pointer_name(const PointerRef& r) {
  static const char* kLevel[] = {"", "indirect", "double indirect", "triple indirect"};
  if (r.level == 0) return "block #" + std::to_string(r.file_block);
  return std::string(kLevel[r.level]) + " block (file block " + std::to_string(r.file_block) + ")";
}

namespace {

class TreeWalker {
 public:
  explicit TreeWalker(const PointerTreeWalk& w) : w_(w) {}

  uint64_t span_of(int level) const {
    uint64_t n = 1;
    for (int i = 0; i < level; ++i) n *= w_.ptrs_per_block;
    return n;
  }

  bool stopped() const { return stopped_; }

  // One pointer at ref (raw as stored); true when it was cleared.
  Result<bool> pointer(PointerRef ref, uint32_t raw) {
    const uint64_t span = span_of(ref.level);
    if (stopped_ || raw == 0 || ref.file_block + span <= w_.first || ref.file_block >= w_.end) return false;
    uint64_t block = raw;
    if (ref.level == 0) {
      const DataPointer dp = decode_data_pointer(raw, w_.unwritten_feature);
      block = dp.block;
      ref.unwritten = dp.unwritten;
    }
    ref.in_bounds = w_.in_bounds(block);
    CARDFS_ASSIGN_OR_RETURN(Visit v, w_.enter(ref, block));
    if (v == Visit::kStop) stopped_ = true;
    if (v == Visit::kCleared) return true;
    if (v != Visit::kDescend || ref.level == 0 || !ref.in_bounds) return false;
    return children(ref, block);
  }

 private:
  // The entries of indirect block `block` (reached through ref), then leave.
  Result<bool> children(const PointerRef& ref, uint64_t block) {
    CARDFS_ASSIGN_OR_RETURN(auto data, w_.read(block));
    const uint32_t p = w_.ptrs_per_block;
    if (data.size() < 4 * uint64_t(p))
      return Status::error(EIO, "indirect block " + std::to_string(block) + " is short");
    std::vector<uint32_t> e(p);
    for (uint32_t i = 0; i < p; ++i) e[i] = get_u32(data.data() + 4 * i);
    const uint64_t child_span = span_of(ref.level - 1);
    bool changed = false;
    for (uint32_t i = 0; i < p && !stopped_; ++i) {
      PointerRef c{block, i, ref.level - 1, ref.file_block + i * child_span};
      CARDFS_ASSIGN_OR_RETURN(bool cleared, pointer(c, e[i]));
      if (cleared) e[i] = 0;
      changed |= cleared;
    }
    if (!w_.leave) return false;
    CARDFS_ASSIGN_OR_RETURN(Visit v, w_.leave(ref, block, e, changed));
    if (v == Visit::kStop) stopped_ = true;
    return v == Visit::kCleared;
  }

  const PointerTreeWalk& w_;
  bool stopped_ = false;
};

}  // namespace

Status walk_pointer_tree(const std::array<uint32_t, kBlockPointers>& block, const PointerTreeWalk& walk) {
  TreeWalker w(walk);
  const std::array<uint32_t, kBlockPointers> top = block;  // the visitor may clear the inode's own
  uint64_t fb = 0;
  for (uint32_t i = 0; i < uint32_t(kBlockPointers) && !w.stopped(); ++i) {
    const int level = i < uint32_t(kDirectBlocks) ? 0 : int(i) - kDirectBlocks + 1;
    CARDFS_RETURN_IF_ERROR(w.pointer(PointerRef{0, i, level, fb}, top[i]).status());
    fb += w.span_of(level);
  }
  return Status::ok();
}

}  // namespace cardfs::fusefs
