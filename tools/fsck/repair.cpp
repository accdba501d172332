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

namespace {

// walk_pointer_path's access to the image: each block set is written back
// at once; the blocks it adds are claimed for the inode and counted in d.
struct RepairNode {
  Checker& c;
  uint64_t block;
  std::vector<std::byte> data;
  size_t size() const { return data.size(); }
  uint32_t get(uint32_t slot) const { return get_u32(data.data() + 4 * slot); }
  Status set(uint32_t slot, uint32_t v) {
    put_u32(data.data() + 4 * slot, v);
    return c.write_block(block, data);
  }
};

struct RepairIo {
  Checker& c;
  uint32_t ino;
  DiskInode& d;
  Status check(uint64_t ptr, uint64_t fb) {
    if (c.valid_data_block(ptr)) return Status::ok();
    return Status::error(EIO, "inode " + std::to_string(ino) + ": block pointer " + std::to_string(ptr) +
                                  " (near file block " + std::to_string(fb) + ") is outside the data area");
  }
  Result<uint64_t> allocate() {
    CARDFS_ASSIGN_OR_RETURN(uint64_t b, c.zeroed_block(ino));
    d.blocks += c.bs_ / 512;
    return b;
  }
  Result<RepairNode> read(uint64_t b) {
    CARDFS_ASSIGN_OR_RETURN(auto data, c.read_block(b));
    return RepairNode{c, b, std::move(data)};
  }
};

}  // namespace

Status Checker::map_file_block(uint32_t ino, DiskInode& d, uint64_t fb, uint64_t disk) {
  CARDFS_ASSIGN_OR_RETURN(fusefs::PointerPath path, fusefs::pointer_path(fb, bs_ / 4));
  d.blocks += bs_ / 512;
  RepairIo io{*this, ino, d};
  return fusefs::walk_pointer_path(d.block[path.slot[0]], path, fb, true, io, [&](uint32_t& raw) -> Result<bool> {
           raw = uint32_t(disk);
           return true;
         })
      .status();
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
  ++report().stats.directories;
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
