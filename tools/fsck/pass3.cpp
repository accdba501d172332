// Pass 3: every directory reachable from the root (unconnected ones go to
// lost+found) and every '..' naming the directory's parent.
// Pass 4: link counts equal the entries found; unattached inodes go to
// lost+found when they hold data and are cleared when they are empty.
#include <sys/stat.h>

#include <algorithm>

#include "base/coding.h"
#include "fusefs/dir_block.h"
#include "tools/fsck/checker.h"
#include "tools/fsck/dir_map.h"

namespace cardfs::fsck {

using namespace fusefs;

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

// Removes a /lost+found entry naming something other than a directory
// (as e2fsck does), so that a directory can take the name; pass 4 then
// treats that inode like any other that lost an entry. False when the
// entry could not be removed.
static Result<bool> unlink_non_dir_lost_found(Checker& c) {
  for (uint32_t ino = 1; ino < c.ino_.size(); ++ino) {
    InodeState& s = c.ino_[ino];
    if (!c.in_use(ino) || s.parent != kRootIno || s.name != "lost+found") continue;
    CARDFS_ASSIGN_OR_RETURN(bool removed, c.remove_entry(kRootIno, "lost+found", ino));
    if (!removed) return false;
    c.say("/lost+found is not a directory (inode " + std::to_string(ino) + "): its entry is removed.");
    if (s.refs) --s.refs;
    s.parent = 0;
    s.name.clear();
  }
  return true;
}

// Creates /lost+found when it is missing (at its usual inode when free).
static Status make_lost_found(Checker& c) {
  CARDFS_ASSIGN_OR_RETURN(bool unlinked, unlink_non_dir_lost_found(c));
  if (!unlinked) {
    c.say("/lost+found is not a directory and its entry could not be removed: it is not recreated.");
    c.report().findings.back().fixed = false;
    return Status::ok();
  }
  const uint32_t ino = c.free_inode(c.sb_.lost_found_ino);
  if (!ino) {
    c.say("No free inode for /lost+found.");
    c.report().findings.back().fixed = false;
    return Status::ok();
  }
  CARDFS_RETURN_IF_ERROR(c.make_directory(ino, kRootIno, 0700));
  CARDFS_ASSIGN_OR_RETURN(bool added, c.add_entry(kRootIno, "lost+found", ino));
  if (!added) {
    c.report().findings.back().fixed = false;
    return Status::ok();
  }
  InodeState& s = c.ino_[ino];
  ++s.refs;
  s.parent = kRootIno;
  s.name = "lost+found";
  c.lost_found_ = ino;
  if (c.sb_.lost_found_ino != ino) {
    c.sb_.lost_found_ino = ino;
    c.rewrite_super_ = true;
  }
  return Status::ok();
}

// The directory to detach from an unconnected subtree: its top, or inside
// a loop the one whose '..' disagrees with the entry naming it (the entry
// that closed the loop). *loop says which.
static uint32_t detach_point(const Checker& c, uint32_t d, bool* loop) {
  std::vector<uint32_t> chain{d};
  *loop = false;
  for (uint32_t top = d;;) {
    const uint32_t p = c.ino_[top].parent;
    if (p == 0 || !c.is_dir(p)) return top;
    auto seen = std::find(chain.begin(), chain.end(), p);
    if (seen != chain.end()) {
      *loop = true;
      for (auto it = seen; it != chain.end(); ++it)
        if (c.ino_[*it].dotdot != c.ino_[*it].parent) return *it;
      return p;
    }
    chain.push_back(p);
    top = p;
  }
}

Status Checker::pass3() {
  header("Pass 3: Checking directory connectivity");
  if (!is_dir(kRootIno)) return Status::ok();  // check_root reported it
  for (uint32_t d : dirs_)
    if (is_dir(d) && ino_[d].parent == kRootIno && ino_[d].name == "lost+found") lost_found_ = d;
  if (!lost_found_ && ask(Problem::kNoLostFound, "/lost+found is missing."))
    CARDFS_RETURN_IF_ERROR(make_lost_found(*this));
  std::vector<bool> reached(ino_.size(), false);
  mark_reached(*this, kRootIno, reached);
  for (uint32_t d : dirs_) {
    if (!is_dir(d) || reached[d]) continue;
    bool loop = false;
    const uint32_t top = detach_point(*this, d, &loop);
    const bool fix = loop ? ask(Problem::kDirLoop, "Directory inode " + std::to_string(top) + " ('" +
                                                       ino_[top].name + "' in inode " +
                                                       std::to_string(ino_[top].parent) +
                                                       ") is in a directory loop the root does not reach.")
                          : ask(Problem::kUnconnectedDir, "Unconnected directory inode " +
                                                              std::to_string(top) + " (its '..' names inode " +
                                                              std::to_string(ino_[top].dotdot) + ").");
    if (!fix) {  // reported once for the whole subtree
      mark_reached(*this, top, reached);
      continue;
    }
    if (loop) {
      CARDFS_ASSIGN_OR_RETURN(bool removed, remove_entry(ino_[top].parent, ino_[top].name, top));
      if (!removed) {
        report().findings.back().fixed = false;
        continue;
      }
      --ino_[top].refs;
      ino_[top].parent = 0;
    }
    CARDFS_ASSIGN_OR_RETURN(bool linked, link_into_lost_found(top));
    if (!linked) report().findings.back().fixed = false;
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
  for (uint32_t ino = 1; ino < ino_.size() && !cancelled(); ++ino) {
    if (!in_use(ino)) continue;
    InodeState& s = ino_[ino];
    const std::string who = "Inode " + std::to_string(ino);
    if (s.refs == 0 && !S_ISDIR(s.mode)) {
      if (s.links == 0) {
        // Deleted while in use and not freed: its data must stay deleted,
        // never come back in /lost+found. Pending orphans (-n) are the
        // next mount's to free.
        if (pending_orphans_.count(ino)) continue;
        if (ask(Problem::kDeletedInode, who + " (" + std::to_string(s.size) +
                                            " bytes) has no links and is in no directory.")) {
          CARDFS_RETURN_IF_ERROR(clear_inode(ino));
        }
        continue;
      }
      if (s.size > 0 || s.data_blocks > 0) {
        if (ask(Problem::kUnattachedInode, who + " (" + std::to_string(s.size) +
                                               " bytes) is in no directory.")) {
          CARDFS_ASSIGN_OR_RETURN(bool linked, link_into_lost_found(ino));
          if (!linked) report().findings.back().fixed = false;
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
