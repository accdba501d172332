#include "tools/fsck/block_walk.h"

#include "base/coding.h"

namespace cardfs::fsck {
namespace {

struct Walker {
  uint32_t ptrs;
  bool unwritten_feature;
  const ReadBlock& read;
  const PointerVisitor& visit;
  bool stopped = false;

  uint64_t span_of(int level) const {
    uint64_t n = 1;
    for (int i = 0; i < level; ++i) n *= ptrs;
    return n;
  }

  // One pointer of `level` at ref; descends if the visitor asks.
  Status pointer(PointerRef ref, uint32_t block) {
    if (stopped || block == 0) return Status::ok();
    if (ref.level == 0) {
      const fusefs::DataPointer dp = fusefs::decode_data_pointer(block, unwritten_feature);
      block = uint32_t(dp.block);
      ref.unwritten = dp.unwritten;
    }
    Visit v = visit(ref, block);
    if (v == Visit::kStop) stopped = true;
    if (v != Visit::kDescend || ref.level == 0) return Status::ok();
    CARDFS_ASSIGN_OR_RETURN(auto data, read(block));
    const uint64_t child_span = span_of(ref.level - 1);
    for (uint32_t i = 0; i < ptrs && !stopped; ++i) {
      uint32_t child = get_u32(data.data() + 4 * i);
      PointerRef c{block, i, ref.level - 1, ref.file_block + i * child_span, false};
      CARDFS_RETURN_IF_ERROR(pointer(c, child));
    }
    return Status::ok();
  }
};

}  // namespace

std::string pointer_name(const PointerRef& r) {
  static const char* kLevel[] = {"", "indirect", "double indirect", "triple indirect"};
  if (r.level == 0) return "block #" + std::to_string(r.file_block);
  return std::string(kLevel[r.level]) + " block (file block " + std::to_string(r.file_block) + ")";
}

Status walk_block_map(const fusefs::DiskInode& ino, uint32_t block_size, const ReadBlock& read,
                      const PointerVisitor& visit, bool unwritten_feature) {
  Walker w{block_size / 4, unwritten_feature, read, visit};
  uint64_t fb = 0;
  for (uint32_t i = 0; i < uint32_t(fusefs::kBlockPointers) && !w.stopped; ++i) {
    int level = i < uint32_t(fusefs::kDirectBlocks) ? 0 : int(i) - fusefs::kDirectBlocks + 1;
    CARDFS_RETURN_IF_ERROR(w.pointer(PointerRef{0, i, level, fb, false}, ino.block[i]));
    fb += w.span_of(level);
  }
  return Status::ok();
}

}  // namespace cardfs::fsck
