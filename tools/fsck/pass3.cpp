// Pass 3: every directory reachable from the root (unconnected ones go to
// lost+found) and every '..' naming the directory's parent.
// Pass 4: link counts equal the entries found; unattached inodes go to
// lost+found when they hold data and are cleared when they are empty.
#include <sys/stat.h>

#include "base/coding.h"
#include "fusefs/dir_block.h"
#include "tools/fsck/checker.h"
#include "tools/fsck/dir_map.h"

namespace cardfs::fsck {

using namespace fusefs;

Result<bool> Checker::link_into_lost_found(uint32_t ino) {
  if (!lost_found_) {
    say("There is no /lost+found to connect inode " + std::to_string(ino) + " to.");
    return false;
  }
  if (ino_[lost_found_].has_index) {  // a plain add would break the hash order
    CARDFS_ASSIGN_OR_RETURN(DiskInode d, read_inode(lost_found_));
    d.flags &= ~kInodeFlagIndex;
    CARDFS_RETURN_IF_ERROR(write_inode(lost_found_, d));
    ino_[lost_found_].has_index = false;
  }
  const std::string name = "#" + std::to_string(ino);
  CARDFS_ASSIGN_OR_RETURN(auto blocks, directory_blocks(*this, lost_found_));
  for (uint64_t disk : blocks) {
    if (!disk) continue;
    CARDFS_ASSIGN_OR_RETURN(auto blk, read_block(disk));
    auto added = dir_block::add(blk, name, ino, file_type_from_mode(ino_[ino].mode));
    if (!added.is_ok() || !*added) continue;
    dir_block::seal(blk, lost_found_, seed_);
    CARDFS_RETURN_IF_ERROR(write_block(disk, blk));
    ino_[ino].parent = lost_found_;
    ino_[ino].name = name;
    ++ino_[ino].refs;
    return true;
  }
  say("/lost+found is full: inode " + std::to_string(ino) + " stays unconnected.");
  return false;
}

static Status set_dotdot(Checker& c, uint32_t dir, uint32_t parent) {
  CARDFS_ASSIGN_OR_RETURN(auto blocks, directory_blocks(c, dir));
  if (blocks.empty() || !blocks[0]) return Status::error(EIO, "directory has no first block");
  CARDFS_ASSIGN_OR_RETURN(auto blk, c.read_block(blocks[0]));
  auto recs = dir_block::entries(blk);
  if (!recs.is_ok() || recs->size() < 2 || (*recs)[1].name != "..")
    return Status::error(EIO, "directory has no '..' entry");
  dir_block::set_inode(blk, (*recs)[1].offset, parent, kFtDir);
  dir_block::seal(blk, dir, c.seed_);
  return c.write_block(blocks[0], blk);
}

static void mark_reached(Checker& c, uint32_t from, std::vector<bool>& reached) {
  std::vector<uint32_t> stack{from};
  reached[from] = true;
  while (!stack.empty()) {
    uint32_t d = stack.back();
    stack.pop_back();
    for (uint32_t child : c.dirs_)
      if (c.is_dir(child) && !reached[child] && c.ino_[child].parent == d) {
        reached[child] = true;
        stack.push_back(child);
      }
  }
}

Status Checker::pass3() {
  header("Pass 3: Checking directory connectivity");
  if (!is_dir(kRootIno)) {
    ask(Problem::kRootNotDir, "The root inode is not a directory.");
    report_.findings.back().fixed = false;
    return Status::ok();
  }
  for (uint32_t d : dirs_)
    if (is_dir(d) && ino_[d].parent == kRootIno && ino_[d].name == "lost+found") lost_found_ = d;
  if (!lost_found_) {
    ask(Problem::kNoLostFound, "/lost+found is missing.");
    report_.findings.back().fixed = false;
  }
  std::vector<bool> reached(ino_.size(), false);
  mark_reached(*this, kRootIno, reached);
  for (uint32_t d : dirs_) {
    if (!is_dir(d) || reached[d]) continue;
    // Reconnect the top of the unconnected subtree.
    uint32_t top = d;
    for (int i = 0; i < 4096; ++i) {
      uint32_t p = ino_[top].parent;
      if (p == 0 || !is_dir(p) || reached[p] || p == d) break;
      top = p;
    }
    const uint32_t old_parent = ino_[top].parent;
    if (old_parent) continue;  // part of a cycle: left as found
    if (!ask(Problem::kUnconnectedDir, "Unconnected directory inode " + std::to_string(top) +
                                           " (its '..' names inode " +
                                           std::to_string(ino_[top].dotdot) + ")."))
      continue;
    CARDFS_ASSIGN_OR_RETURN(bool linked, link_into_lost_found(top));
    if (!linked) {
      report_.findings.back().fixed = false;
      continue;
    }
    mark_reached(*this, top, reached);
  }
  for (uint32_t d : dirs_) {
    if (!is_dir(d)) continue;
    uint32_t want = d == kRootIno ? kRootIno : ino_[d].parent;
    uint32_t have = ino_[d].dotdot;
    if (want && have != want &&
        ask(Problem::kDotDotMismatch, "'..' in " + path_of(d) + " (inode " + std::to_string(d) +
                                          ") is inode " + std::to_string(have) + ", should be " +
                                          std::to_string(want) + ".")) {
      CARDFS_RETURN_IF_ERROR(set_dotdot(*this, d, want));
      ino_[d].dotdot = have = want;
    }
    if (in_use(have)) ++ino_[have].refs;
  }
  return Status::ok();
}

Status Checker::pass4() {
  header("Pass 4: Checking reference counts");
  for (uint32_t ino = 1; ino < ino_.size() && !cancelled_; ++ino) {
    if (!in_use(ino)) continue;
    InodeState& s = ino_[ino];
    const std::string who = "Inode " + std::to_string(ino);
    if (s.refs == 0 && !S_ISDIR(s.mode)) {
      if (s.size > 0 || s.data_blocks > 0) {
        if (ask(Problem::kUnattachedInode, who + " (" + std::to_string(s.size) +
                                               " bytes) is in no directory.")) {
          CARDFS_ASSIGN_OR_RETURN(bool linked, link_into_lost_found(ino));
          if (!linked) report_.findings.back().fixed = false;
        }
      } else if (ask(Problem::kUnattachedEmpty, who + " is empty and in no directory.")) {
        CARDFS_RETURN_IF_ERROR(clear_inode(ino));
        continue;
      }
    }
    if (s.refs != s.links && s.refs > 0 &&
        ask(Problem::kLinkCount, who + " (" + path_of(ino) + ") has link count " +
                                     std::to_string(s.links) + ", should be " +
                                     std::to_string(s.refs) + ".")) {
      CARDFS_ASSIGN_OR_RETURN(DiskInode d, read_inode(ino));
      d.links_count = uint16_t(s.refs);
      CARDFS_RETURN_IF_ERROR(write_inode(ino, d));
      s.links = uint16_t(s.refs);
    }
  }
  return Status::ok();
}

}  // namespace cardfs::fsck
