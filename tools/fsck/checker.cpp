#include "tools/fsck/checker.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>

#include "fusefs/bitmap.h"
#include "fusefs/format.h"

namespace cardfs::fsck {

using namespace fusefs;

uint32_t name_hash(const Superblock& sb, std::string_view name) {
  return seeded_name_hash(sb.hash_seed, name);
}

Checker::Checker(ImageIo& io, const FsckOptions& o) : io_(io), o_(o), blocks_(io, o.mode), findings_(o) {}

Status Checker::write_block(uint64_t block, std::span<const std::byte> data) {
  CARDFS_RETURN_IF_ERROR(blocks_.write(block, data));
  report().modified = true;
  return Status::ok();
}

Result<DiskInode> Checker::read_inode(uint32_t ino) {
  BlockOffset at = inode_location(sb_, inode_table((ino - 1) / sb_.inodes_per_group), ino);
  CARDFS_ASSIGN_OR_RETURN(auto blk, read_block(at.block));
  // pass 1 judges the checksum itself
  return decode_inode_unverified(std::span(blk).subspan(at.offset, kInodeSize), ino);
}

Status Checker::write_inode(uint32_t ino, const DiskInode& d) {
  BlockOffset at = inode_location(sb_, inode_table((ino - 1) / sb_.inodes_per_group), ino);
  CARDFS_ASSIGN_OR_RETURN(auto blk, read_block(at.block));
  if (d.mode == 0 && d.links_count == 0 && d.size == 0)
    std::memset(blk.data() + at.offset, 0, kInodeSize);
  else
    encode_inode(d, ino, seed_, std::span(blk).subspan(at.offset, kInodeSize));
  return write_block(at.block, blk);
}

std::string Checker::path_of(uint32_t ino) const {
  if (ino == kRootIno) return "/";
  std::string path;
  uint32_t at = ino;
  for (int depth = 0; depth < 64; ++depth) {
    if (at == kRootIno) return path.empty() ? "/" : path;
    if (at == 0 || at >= ino_.size() || ino_[at].parent == 0)
      return "???" + path + " (inode " + std::to_string(ino) + ")";
    path = "/" + ino_[at].name + path;
    at = ino_[at].parent;
  }
  return "..." + path;
}

bool Checker::valid_data_block(uint64_t block) const {
  if (block < sb_.first_data_block || block >= sb_.blocks_count) return false;
  return owner_.empty() || owner_[block] != kOwnerMeta;
}

bool Checker::marked_in_use(uint64_t block) {
  const uint32_t g = uint32_t((block - sb_.first_data_block) / sb_.blocks_per_group);
  if (g >= gd_.size()) return false;
  auto bitmap = read_block(gd_[g].block_bitmap);
  const GroupLayout l = group_layout(sb_, g);
  return !bitmap.is_ok() || test_bit(*bitmap, uint32_t(block - l.first));
}

bool Checker::is_dir(uint32_t ino) const { return in_use(ino) && S_ISDIR(ino_[ino].mode); }

uint64_t Checker::allocate_block(uint32_t ino) {
  for (uint64_t b = sb_.first_data_block; b < sb_.blocks_count; ++b)
    if (owner_[b] == kOwnerFree && !(blocks_.unknown_subtrees() && marked_in_use(b))) {
      owner_[b] = ino;
      return b;
    }
  return 0;
}

Status Checker::walk_map(const DiskInode& d,
                         const std::function<Result<Visit>(const PointerRef&, uint64_t block)>& enter) {
  fusefs::PointerTreeWalk w;
  w.ptrs_per_block = bs_ / 4;
  w.unwritten_feature = unwritten();
  w.in_bounds = [this](uint64_t b) { return valid_data_block(b); };
  w.read = [this](uint64_t b) { return read_map_block(b); };
  w.enter = enter;
  return fusefs::walk_pointer_tree(d.block, w);
}

Status Checker::clear_inode(uint32_t ino) {
  CARDFS_ASSIGN_OR_RETURN(DiskInode d, read_inode(ino));
  CARDFS_RETURN_IF_ERROR(walk_map(d, [&](const PointerRef& r, uint64_t b) -> Result<Visit> {
    if (!r.in_bounds || owner_[b] != ino) return Visit::kSkip;
    owner_[b] = kOwnerFree;
    return Visit::kDescend;
  }));
  ino_[ino] = InodeState{};
  return write_inode(ino, DiskInode{});
}

}  // namespace cardfs::fsck
