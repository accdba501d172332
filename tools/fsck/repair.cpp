// Repairs that build structure: new directory blocks (holes, missing
// first blocks, a full lost+found), new directories (the root,
// lost+found) and directory entries added or removed. All of it goes
// through owner_ and ino_, so pass 5 writes the bitmaps and counts.
#include <sys/stat.h>

#include <algorithm>

#include "base/coding.h"
#include "fusefs/dir_block.h"
#include "fusefs/format.h"
#include "tools/fsck/checker.h"
#include "tools/fsck/dir_map.h"

namespace cardfs::fsck {

using namespace fusefs;

Result<uint64_t> Checker::zeroed_block(uint32_t ino) {
  const uint64_t b = allocate_block(ino);
  if (!b) return Status::error(ENOSPC, "no free block left for inode " + std::to_string(ino));
  std::vector<std::byte> zero(bs_);
  CARDFS_RETURN_IF_ERROR(write_block(b, zero));
  return b;
}

Status Checker::map_file_block(uint32_t ino, DiskInode& d, uint64_t fb, uint64_t disk) {
  const uint64_t per_block = bs_ / 512;
  CARDFS_ASSIGN_OR_RETURN(fusefs::PointerPath path, fusefs::pointer_path(fb, bs_ / 4));
  uint32_t* top = &d.block[path.slot[0]];
  d.blocks += per_block;
  if (path.depth == 0) {
    *top = uint32_t(disk);
    return Status::ok();
  }
  if (*top == 0) {
    CARDFS_ASSIGN_OR_RETURN(uint64_t b, zeroed_block(ino));
    *top = uint32_t(b);
    d.blocks += per_block;
  }
  uint64_t at = *top;
  for (int level = 1; level <= path.depth; ++level) {
    const uint32_t slot = path.slot[level];
    CARDFS_ASSIGN_OR_RETURN(auto blk, read_block(at));
    uint32_t next = get_u32(blk.data() + 4 * slot);
    if (level == path.depth) {
      next = uint32_t(disk);
    } else if (next == 0) {
      CARDFS_ASSIGN_OR_RETURN(uint64_t b, zeroed_block(ino));
      next = uint32_t(b);
      d.blocks += per_block;
    } else {
      at = next;  // an existing indirect block: nothing to write here
      continue;
    }
    put_u32(blk.data() + 4 * slot, next);
    CARDFS_RETURN_IF_ERROR(write_block(at, blk));
    at = next;
  }
  return Status::ok();
}

Result<uint64_t> Checker::new_dir_block(uint32_t dir, DiskInode& d, uint64_t fb, uint32_t parent) {
  const uint64_t b = allocate_block(dir);
  if (!b) return Status::error(ENOSPC, "no free block left for directory inode " + std::to_string(dir));
  std::vector<std::byte> blk(bs_);
  dir_block::init_empty(blk);
  if (fb == 0) {
    (void)dir_block::add(blk, ".", dir, kFtDir);
    (void)dir_block::add(blk, "..", parent, kFtDir);
  }
  dir_block::seal(blk, dir, seed_);
  CARDFS_RETURN_IF_ERROR(write_block(b, blk));
  CARDFS_RETURN_IF_ERROR(map_file_block(dir, d, fb, b));
  if ((fb + 1) * bs_ > d.size) d.size = (fb + 1) * bs_;
  ino_[dir].size = d.size;
  return b;
}

uint32_t Checker::free_inode(uint32_t want) const {
  if (want >= sb_.first_ino && want <= sb_.inodes_count && !ino_[want].mode) return want;
  for (uint32_t ino = sb_.first_ino; ino <= sb_.inodes_count; ++ino)
    if (!ino_[ino].mode) return ino;
  return 0;
}

Status Checker::make_directory(uint32_t ino, uint32_t parent, uint16_t perm) {
  DiskInode d;
  d.mode = uint16_t(S_IFDIR | perm);
  d.links_count = 2;
  const Timespec now{int64_t(o_.now_sec), 0};
  d.atime = d.mtime = d.ctime = d.crtime = now;
  d.generation = 1;
  ino_[ino] = InodeState{};
  ino_[ino].mode = d.mode;
  ino_[ino].links = 2;
  CARDFS_RETURN_IF_ERROR(new_dir_block(ino, d, 0, parent).status());
  ino_[ino].data_blocks = d.blocks / (bs_ / 512);
  ino_[ino].dotdot = parent;
  ino_[ino].refs = 1;  // its '.'; the entry naming it adds one, pass 3 its '..'
  dirs_.insert(std::lower_bound(dirs_.begin(), dirs_.end(), ino), ino);
  ++report_.stats.directories;
  return write_inode(ino, d);
}

Result<bool> Checker::add_entry(uint32_t dir, const std::string& name, uint32_t ino) {
  if (ino_[dir].has_index) {  // a plain add would break the hash order
    CARDFS_ASSIGN_OR_RETURN(DiskInode d, read_inode(dir));
    d.flags &= ~kInodeFlagIndex;
    CARDFS_RETURN_IF_ERROR(write_inode(dir, d));
    ino_[dir].has_index = false;
  }
  const uint8_t type = file_type_from_mode(ino_[ino].mode);
  CARDFS_ASSIGN_OR_RETURN(auto blocks, directory_blocks(*this, dir));
  for (uint64_t disk : blocks) {
    if (!disk) continue;
    CARDFS_ASSIGN_OR_RETURN(auto blk, read_block(disk));
    auto added = dir_block::add(blk, name, ino, type);
    if (!added.is_ok() || !*added) continue;
    dir_block::seal(blk, dir, seed_);
    CARDFS_RETURN_IF_ERROR(write_block(disk, blk));
    return true;
  }
  // Every block is full: grow the directory by one block.
  CARDFS_ASSIGN_OR_RETURN(DiskInode d, read_inode(dir));
  auto b = new_dir_block(dir, d, blocks.size(), 0);
  if (!b.is_ok()) return false;
  CARDFS_RETURN_IF_ERROR(write_inode(dir, d));
  ++ino_[dir].data_blocks;
  CARDFS_ASSIGN_OR_RETURN(auto blk, read_block(*b));
  auto added = dir_block::add(blk, name, ino, type);
  if (!added.is_ok() || !*added) return false;
  dir_block::seal(blk, dir, seed_);
  CARDFS_RETURN_IF_ERROR(write_block(*b, blk));
  return true;
}

Result<bool> Checker::remove_entry(uint32_t dir, const std::string& name, uint32_t ino) {
  CARDFS_ASSIGN_OR_RETURN(auto blocks, directory_blocks(*this, dir));
  for (uint64_t disk : blocks) {
    if (!disk) continue;
    CARDFS_ASSIGN_OR_RETURN(auto blk, read_block(disk));
    auto hit = dir_block::find(blk, name);
    if (!hit.is_ok() || !hit->has_value() || (*hit)->inode != ino) continue;
    CARDFS_RETURN_IF_ERROR(dir_block::remove_at(blk, (*hit)->offset));
    dir_block::seal(blk, dir, seed_);
    CARDFS_RETURN_IF_ERROR(write_block(disk, blk));
    return true;
  }
  return false;
}

Result<bool> Checker::link_into_lost_found(uint32_t ino) {
  if (!lost_found_) {
    say("There is no /lost+found to connect inode " + std::to_string(ino) + " to.");
    return false;
  }
  const std::string name = "#" + std::to_string(ino);
  CARDFS_ASSIGN_OR_RETURN(bool added, add_entry(lost_found_, name, ino));
  if (!added) {
    say("/lost+found is full: inode " + std::to_string(ino) + " stays unconnected.");
    return false;
  }
  ino_[ino].parent = lost_found_;
  ino_[ino].name = name;
  ++ino_[ino].refs;
  return true;
}

}  // namespace cardfs::fsck
