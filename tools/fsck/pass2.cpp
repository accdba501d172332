// Pass 2: directory blocks (tails, checksums, records) and entries
// ('.', '..', names, inode numbers, file types, hard links to
// directories), then each hashed index against its leaves.
#include <sys/stat.h>

#include <algorithm>
#include <deque>
#include <set>

#include "fusefs/dir_block.h"
#include "tools/fsck/checker.h"
#include "tools/fsck/dir_map.h"

namespace cardfs::fsck {

using namespace fusefs;
using DirLink = Checker::DirLink;

Result<std::vector<uint64_t>> directory_blocks(Checker& c, uint32_t dir) {
  CARDFS_ASSIGN_OR_RETURN(DiskInode d, c.read_inode(dir));
  // Sized by what is mapped, not by i_size alone: under -n a wrong size
  // stays, and it may be anything.
  const uint64_t by_size = d.size / c.bs_;
  std::vector<std::pair<uint64_t, uint64_t>> mapped;  // (file block, disk block)
  CARDFS_RETURN_IF_ERROR(c.walk_map(d, [&](const PointerRef& r, uint64_t b) -> Result<Visit> {
    if (!r.in_bounds || c.owner_[b] != dir || r.file_block >= by_size) return Visit::kSkip;
    if (r.level == 0) mapped.emplace_back(r.file_block, b);
    return Visit::kDescend;
  }));
  std::vector<uint64_t> blocks(mapped.empty() ? 0 : std::min(by_size, mapped.back().first + 1), 0);
  for (auto [fb, b] : mapped) blocks[fb] = b;
  return blocks;
}

namespace {

struct Entry {
  uint32_t offset;
  uint32_t ino;
  uint8_t type;
  std::string name;
};

// Records up to the first malformed one (a salvage keeps these).
std::vector<Entry> tolerant_entries(std::span<const std::byte> b, std::string* error) {
  std::vector<Entry> out;
  Status st = dir_block::walk(b, [&](const DirRecord& r) {
    if (r.inode) out.push_back({r.offset, r.inode, r.type, std::string(r.name)});
    return true;
  });
  if (!st.is_ok() && error) *error = st.message();
  return out;
}

class DirPass {
 public:
  DirPass(Checker& c) : c_(c) {}
  Status dir(uint32_t dir);

 private:
  Status fill_holes(uint32_t dir, std::vector<uint64_t>& blocks);
  bool fix_dots(uint32_t dir, std::vector<std::byte>& blk, std::vector<Entry>& entries);
  Status block(uint32_t dir, uint64_t fb, uint64_t disk, std::set<std::string>& names);
  // Decides one entry; returns true to keep it. *retype: new file type.
  bool judge(uint32_t dir, uint64_t fb, size_t index, const Entry& e, std::set<std::string>& names,
             int* retype);
  std::string where(uint32_t dir) const { return c_.path_of(dir) + " (inode " + std::to_string(dir) + ")"; }
  Checker& c_;
};

Status DirPass::dir(uint32_t dir) {
  CARDFS_ASSIGN_OR_RETURN(auto blocks, directory_blocks(c_, dir));
  CARDFS_RETURN_IF_ERROR(fill_holes(dir, blocks));
  std::set<std::string> names;
  for (uint64_t fb = 0; fb < blocks.size(); ++fb)
    if (blocks[fb]) CARDFS_RETURN_IF_ERROR(block(dir, fb, blocks[fb], names));
  return Status::ok();
}

// A hole (or no block at all) becomes an empty directory block; at file
// block 0 it gets '.' and '..'.
Status DirPass::fill_holes(uint32_t dir, std::vector<uint64_t>& blocks) {
  const uint32_t parent = c_.ino_[dir].parent ? c_.ino_[dir].parent : kRootIno;
  bool changed = false;
  DiskInode d;
  if (blocks.empty()) blocks.push_back(0);
  for (uint64_t fb = 0; fb < blocks.size(); ++fb) {
    if (blocks[fb]) continue;
    const bool first = fb == 0;
    const std::string msg = "Directory " + where(dir) +
                            (first ? " has no first block with '.' and '..'."
                                   : " has a hole at block #" + std::to_string(fb) + ".");
    if (!c_.ask(first ? Problem::kDirDot : Problem::kDirHole, msg)) continue;
    if (!changed) {
      CARDFS_ASSIGN_OR_RETURN(d, c_.read_inode(dir));
    }
    auto b = c_.new_dir_block(dir, d, fb, parent);
    if (!b.is_ok()) {
      c_.say(b.status().message());
      c_.report().findings.back().fixed = false;
      continue;
    }
    blocks[fb] = *b;
    ++c_.ino_[dir].data_blocks;
    changed = true;
  }
  if (!changed) return Status::ok();
  return c_.write_inode(dir, d);
}

// '.' then '..' must open file block 0. Rewrites the block's records with
// them first; entries that no longer fit lose their name (pass 4 takes
// them to lost+found). Returns true when the block changed.
bool DirPass::fix_dots(uint32_t dir, std::vector<std::byte>& blk, std::vector<Entry>& entries) {
  const bool dot = !entries.empty() && entries[0].name == ".";
  if (dot && entries.size() > 1 && entries[1].name == "..") return false;
  if (!c_.ask(dot ? Problem::kDirDotDot : Problem::kDirDot,
              "Directory " + where(dir) + " does not start with " + (dot ? "'..'." : "'.'.")))
    return false;
  uint32_t dotdot = c_.ino_[dir].parent ? c_.ino_[dir].parent : kRootIno;
  std::vector<DirRecord> recs;
  for (const Entry& e : entries) {
    if (e.name == "..") dotdot = e.ino;
    if (e.name != "." && e.name != "..") recs.push_back({0, e.ino, 0, e.type, e.name});
  }
  recs.insert(recs.begin(), {DirRecord{0, dir, 0, kFtDir, "."}, DirRecord{0, dotdot, 0, kFtDir, ".."}});
  while (!dir_block::write_packed(blk, recs) && recs.size() > 2) recs.pop_back();
  entries = tolerant_entries(blk, nullptr);
  return true;
}

bool DirPass::judge(uint32_t dir, uint64_t fb, size_t index, const Entry& e,
                    std::set<std::string>& names, int* retype) {
  const std::string entry = "Entry '" + e.name + "' in " + where(dir);
  if (fb == 0 && index < 2 && (e.name == "." || e.name == "..")) {  // fix_dots saw to the order
    if (e.name == "..") {
      c_.ino_[dir].dotdot = e.ino;
    } else if (e.ino == dir) {
      ++c_.ino_[dir].refs;
    } else if (c_.ask(Problem::kDirDot, entry + " names inode " + std::to_string(e.ino) +
                                            " instead of the directory itself.")) {
      *retype = -2;  // point at dir
    }
    return true;
  }
  if (e.name == "." || e.name == ".." || e.name.find('/') != std::string::npos ||
      e.name.find('\0') != std::string::npos)
    return !c_.ask(Problem::kEntryBadName, entry + " has an invalid name.");
  if (e.ino > c_.sb_.inodes_count || (e.ino < c_.sb_.first_ino && e.ino != kRootIno) ||
      e.ino == kRootIno)
    return !c_.ask(Problem::kEntryBadInode, entry + " has a bad inode number " + std::to_string(e.ino) + ".");
  if (!c_.in_use(e.ino))
    return !c_.ask(Problem::kEntryUnusedInode,
                   entry + " points to unused inode " + std::to_string(e.ino) + ".");
  if (!names.insert(e.name).second)
    return !c_.ask(Problem::kEntryDuplicateName, entry + " is a duplicate name.");
  InodeState& t = c_.ino_[e.ino];
  if (S_ISDIR(t.mode)) c_.dir_links_[e.ino].push_back({dir, e.name});  // resolved after the walk
  const uint8_t want = file_type_from_mode(t.mode);
  if (e.type != want && c_.ask(Problem::kEntryFileType, entry + " has file type " +
                                                           std::to_string(e.type) + ", should be " +
                                                           std::to_string(want) + "."))
    *retype = want;
  ++t.refs;
  if (t.parent == 0) {
    t.parent = dir;
    t.name = e.name;
  }
  return true;
}

Status DirPass::block(uint32_t dir, uint64_t fb, uint64_t disk, std::set<std::string>& names) {
  // An unreadable block's entries are unknown: the inodes they named are
  // found unattached in pass 4 (their data is kept); the block is named
  // by report_unreadable().
  if (c_.unreadable(disk)) return Status::ok();
  auto read = c_.read_block(disk);
  if (!read.is_ok() && c_.unreadable(disk)) return Status::ok();
  CARDFS_ASSIGN_OR_RETURN(auto blk, std::move(read));
  const std::string what = "Directory " + where(dir) + " block #" + std::to_string(fb) +
                           " (block " + std::to_string(disk) + ")";
  bool dirty = false;
  std::string error;
  std::vector<Entry> entries = tolerant_entries(blk, &error);
  if (!error.empty()) {
    if (c_.ask(Problem::kDirBlockCorrupt, what + " is corrupt (" + error + "); " +
                                              std::to_string(entries.size()) + " entries salvaged.")) {
      std::vector<DirRecord> keep;
      for (auto& e : entries) keep.push_back({0, e.ino, 0, e.type, e.name});
      dir_block::write_packed(blk, keep);
      entries = tolerant_entries(blk, nullptr);
      dirty = true;
    }
  } else if (!dir_block::verify(blk, dir, c_.seed_, what).is_ok()) {
    dirty = c_.ask(Problem::kDirBlockChecksum, what + " has a bad tail or checksum.");
  }
  if (fb == 0) dirty |= fix_dots(dir, blk, entries);
  for (size_t i = 0; i < entries.size(); ++i) {
    int retype = -1;
    if (!judge(dir, fb, i, entries[i], names, &retype)) {
      if (dir_block::remove_at(blk, entries[i].offset).is_ok()) dirty = true;
    } else if (retype == -2) {
      dir_block::set_inode(blk, entries[i].offset, dir, kFtDir);
      ++c_.ino_[dir].refs;
      dirty = true;
    } else if (retype >= 0) {
      dir_block::set_inode(blk, entries[i].offset, entries[i].ino, uint8_t(retype));
      dirty = true;
    }
  }
  if (!dirty) return Status::ok();
  dir_block::seal(blk, dir, c_.seed_);
  return c_.write_block(disk, blk);
}

// A directory named by several entries keeps the one in the directory its
// '..' names (else the first found); the others are removed.
Status resolve_dir_links(Checker& c) {
  for (auto& [d, links] : c.dir_links_) {
    if (links.size() < 2) continue;
    size_t keep = 0;
    for (size_t i = 0; i < links.size(); ++i)
      if (links[i].dir == c.ino_[d].dotdot) {
        keep = i;
        break;
      }
    c.ino_[d].parent = links[keep].dir;
    c.ino_[d].name = links[keep].name;
    for (size_t i = 0; i < links.size(); ++i) {
      if (i == keep) continue;
      const DirLink& l = links[i];
      if (!c.ask(Problem::kEntryDirHardLink, "Entry '" + l.name + "' in " + c.path_of(l.dir) + " (inode " +
                                                 std::to_string(l.dir) + ") is a second link to directory " +
                                                 c.path_of(d) + " (inode " + std::to_string(d) + ")."))
        continue;
      CARDFS_ASSIGN_OR_RETURN(bool removed, c.remove_entry(l.dir, l.name, d));
      if (removed) --c.ino_[d].refs;
      else c.report().findings.back().fixed = false;
    }
  }
  return Status::ok();
}

}  // namespace

Status Checker::pass2() {
  header("Pass 2: Checking directory structure");
  // Breadth first from the root, so that paths are known when reported;
  // then any directory the walk did not reach.
  std::vector<bool> done(ino_.size(), false);
  std::deque<uint32_t> queue;
  if (is_dir(kRootIno)) queue.push_back(kRootIno);
  DirPass pass(*this);
  size_t count = 0;
  auto run = [&](uint32_t d) -> Status {
    if (done[d] || !is_dir(d)) return Status::ok();
    done[d] = true;
    CARDFS_RETURN_IF_ERROR(pass.dir(d));
    if (o_.progress) o_.progress(2, ++count, dirs_.size());
    for (uint32_t child : dirs_)
      if (ino_[child].parent == d && !done[child]) queue.push_back(child);
    return Status::ok();
  };
  while (!queue.empty() && !cancelled()) {
    uint32_t d = queue.front();
    queue.pop_front();
    CARDFS_RETURN_IF_ERROR(run(d));
  }
  for (uint32_t d : dirs_) CARDFS_RETURN_IF_ERROR(run(d));
  CARDFS_RETURN_IF_ERROR(resolve_dir_links(*this));
  for (uint32_t d : dirs_) {
    if (!is_dir(d) || !ino_[d].has_index) continue;
    const std::string who = "Directory " + path_of(d) + " (inode " + std::to_string(d) + ")";
    if (!(sb_.feature_compat & kCompatDirIndex)) {
      if (ask(Problem::kDirIndexFlag, who + " has the index flag but the filesystem has no dir_index feature.")) {
        CARDFS_ASSIGN_OR_RETURN(DiskInode di, read_inode(d));
        di.flags &= ~kInodeFlagIndex;
        CARDFS_RETURN_IF_ERROR(write_inode(d, di));
      }
      continue;
    }
    CARDFS_ASSIGN_OR_RETURN(auto blocks, directory_blocks(*this, d));
    CARDFS_ASSIGN_OR_RETURN(std::string why, check_dir_index(*this, d, blocks));
    if (!why.empty() && ask(Problem::kDirIndexBad, who + " has an inconsistent hashed index: " + why + "."))
      CARDFS_RETURN_IF_ERROR(rebuild_dir_index(*this, d, blocks));
  }
  return Status::ok();
}

}  // namespace cardfs::fsck
