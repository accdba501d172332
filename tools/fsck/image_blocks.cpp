#include "tools/fsck/image_blocks.h"

namespace cardfs::fsck {

Result<std::vector<std::byte>> ImageBlocks::read(uint64_t block) {
  if (auto it = cache_.find(block); it != cache_.end()) return it->second;
  if (unreadable(block)) return Status::error(EIO, "block " + std::to_string(block) + " is unreadable");
  std::vector<std::byte> data(bs_);
  if (Status st = io_.read(block * bs_, data); !st.is_ok()) {
    if (st.code() == EIO) unreadable_.insert(block);
    return st.with_context("reading block " + std::to_string(block));
  }
  cache_[block] = data;
  return data;
}

Result<std::vector<std::byte>> ImageBlocks::read_map(uint64_t block) {
  Result<std::vector<std::byte>> data = read(block);
  if (data.is_ok() || !unreadable(block)) return data;
  unknown_subtrees_ = true;
  return std::vector<std::byte>(bs_);
}

Status ImageBlocks::write(uint64_t block, std::span<const std::byte> data) {
  if (mode_ == Mode::kNo) return Status::error(EROFS, "fsck -n never writes");
  CARDFS_RETURN_IF_ERROR(io_.write(block * bs_, data));
  cache_[block].assign(data.begin(), data.end());
  return Status::ok();
}

}  // namespace cardfs::fsck
