// Pass 1: every inode's record, checksum, mode and block map; who owns
// each block. Blocks claimed twice are pass 1B's (pass1b.cpp).
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/coding.h"
#include "fusefs/dir_block.h"
#include "tools/fsck/checker.h"

namespace cardfs::fsck {

using namespace fusefs;

namespace {

bool valid_type(uint16_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: case S_IFDIR: case S_IFLNK: case S_IFCHR:
    case S_IFBLK: case S_IFIFO: case S_IFSOCK: return true;
    default: return false;
  }
}

bool has_block_map(const DiskInode& d) {
  if (S_ISREG(d.mode) || S_ISDIR(d.mode)) return true;
  return S_ISLNK(d.mode) && d.size > kInlineSymlinkMax;
}

}  // namespace

// Outcome of walking one inode's map.
struct MapScan {
  uint64_t owned = 0;          // blocks counted for i_blocks
  int64_t last_file_block = -1;
  bool contiguous = true;
  bool inode_changed = false;  // a pointer in block[] was cleared
  bool shared = false;         // a block it claims is claimed already (pass 1B)
  bool partial = false;        // an indirect block is unreadable: what it maps is unknown
};

// Read as an indirect block, how many of `block`'s pointers are outside
// the data area, and how many are non-zero.
struct PointerCensus {
  uint32_t bad = 0, used = 0;
};

static PointerCensus census(Checker& c, uint32_t block, int level) {
  PointerCensus n;
  auto data = c.read_block(block);
  if (!data.is_ok()) return n;  // the walk reports the read error
  const bool data_ptrs = level == 1 && c.unwritten();  // may carry the unwritten mark
  for (uint32_t i = 0; i < c.bs_ / 4; ++i) {
    const uint32_t raw = get_u32(data->data() + 4 * i);
    const uint64_t p = decode_data_pointer(raw, data_ptrs).block;
    n.used += p != 0;
    n.bad += p != 0 && !c.valid_data_block(p);
  }
  return n;
}

// An indirect block whose pointers are mostly out of range (at least
// e2fsck's 12) is not one: it is another file's data, or was overwritten.
// The pointer to it is cleared rather than each pointer inside it.
static bool not_indirect(const PointerCensus& n) { return n.bad >= 12 && 2 * n.bad > n.used; }

static Status scan_map(Checker& c, uint32_t ino, DiskInode& d, MapScan& s) {
  uint64_t prev_data = 0;
  const std::string who = "Inode " + std::to_string(ino) + " ";
  std::vector<std::pair<PointerRef, std::string>> to_clear;
  Status st = c.walk_map(d, [&](const PointerRef& r, uint64_t b) -> Result<Visit> {
    if (!r.in_bounds) {
      to_clear.emplace_back(r, who + pointer_name(r) + " points to block " + std::to_string(b) +
                                   ", outside the data area.");
      return Visit::kSkip;
    }
    if (r.level > 0) {
      if (PointerCensus n = census(c, b, r.level); not_indirect(n)) {
        to_clear.emplace_back(r, who + pointer_name(r) + " is block " + std::to_string(b) + ", whose " +
                                     std::to_string(n.bad) + " of " + std::to_string(n.used) +
                                     " pointers are outside the data area: it is not an indirect block.");
        return Visit::kSkip;
      }
      s.partial |= c.unreadable(b);
    }
    ++s.owned;
    if (r.level == 0) {
      if (prev_data && b != prev_data + 1) s.contiguous = false;
      prev_data = b;
      s.last_file_block = std::max<int64_t>(s.last_file_block, int64_t(r.file_block));
    }
    if (c.owner_[b] != kOwnerFree) {
      c.dups_.push_back({ino, r, uint32_t(b)});
      s.shared = true;
      return Visit::kSkip;
    }
    c.owner_[b] = ino;
    return Visit::kDescend;
  });
  CARDFS_RETURN_IF_ERROR(st);
  for (auto& [r, message] : to_clear) {
    if (!c.ask(Problem::kInodeBadPointer, message)) continue;
    if (r.container == 0) {
      d.block[r.slot] = 0;
      s.inode_changed = true;
    } else {
      // Cleared after pass 1B: the indirect block may be another file's
      // data, which must be copied out first.
      c.late_clears_.push_back(r);
    }
  }
  return Status::ok();
}

// i_blocks and a directory's size against what the map holds; true when
// d was changed.
static bool check_counts(Checker& c, uint32_t ino, DiskInode& d, const MapScan& s) {
  bool changed = false;
  // Part of the map is unreadable: counting what is left would "fix"
  // i_blocks and size to lose the rest (report_unreadable names it).
  if (s.partial) return false;
  const uint64_t want_blocks = s.owned * (c.bs_ / 512);
  if (d.blocks != want_blocks &&
      c.ask(Problem::kInodeBlockCount, "Inode " + std::to_string(ino) + " i_blocks is " +
                                           std::to_string(d.blocks) + ", should be " +
                                           std::to_string(want_blocks) + ".")) {
    d.blocks = want_blocks;
    changed = true;
  }
  if (S_ISDIR(d.mode)) {
    const uint64_t want_size = uint64_t(s.last_file_block + 1) * c.bs_;
    if (d.size != want_size &&
        c.ask(Problem::kInodeBadSize, "Directory inode " + std::to_string(ino) + " size is " +
                                          std::to_string(d.size) + ", should be " +
                                          std::to_string(want_size) + ".")) {
      d.size = want_size;
      changed = true;
    }
  }
  return changed;
}

Status Checker::recheck_counts(uint32_t ino) {
  CARDFS_ASSIGN_OR_RETURN(DiskInode d, read_inode(ino));
  MapScan s;
  CARDFS_RETURN_IF_ERROR(walk_map(d, [&](const PointerRef& r, uint64_t b) -> Result<Visit> {
    if (!r.in_bounds || owner_[b] != ino) return Visit::kSkip;
    if (r.level > 0) s.partial |= unreadable(b);
    ++s.owned;
    if (r.level == 0) s.last_file_block = std::max<int64_t>(s.last_file_block, int64_t(r.file_block));
    return Visit::kDescend;
  }));
  if (d.xattr_block && valid_data_block(d.xattr_block) && owner_[d.xattr_block] == ino) ++s.owned;
  ino_[ino].data_blocks = s.owned;
  if (check_counts(*this, ino, d, s)) {
    ino_[ino].size = d.size;
    return write_inode(ino, d);
  }
  return Status::ok();
}

static Status check_inode(Checker& c, uint32_t ino, std::span<const std::byte> rec) {
  const std::string who = "Inode " + std::to_string(ino);
  auto decoded = c.read_inode(ino);
  if (!decoded.is_ok() || !valid_type(decoded->mode)) {
    char mode[16];
    std::snprintf(mode, sizeof mode, "0%o", decoded.is_ok() ? decoded->mode : 0);
    std::string why = decoded.is_ok() ? "has an invalid mode " + std::string(mode)
                                      : "is unreadable (" + decoded.status().message() + ")";
    if (c.ask(Problem::kInodeBadMode, who + " " + why + "."))
      CARDFS_RETURN_IF_ERROR(c.write_inode(ino, DiskInode{}));
    return Status::ok();
  }
  DiskInode d = *decoded;
  bool changed = false;
  MapScan s;
  if (has_block_map(d)) CARDFS_RETURN_IF_ERROR(scan_map(c, ino, d, s));
  changed |= s.inode_changed;
  if (d.xattr_block) {
    if (c.valid_data_block(d.xattr_block) && c.owner_[d.xattr_block] == kOwnerFree) {
      c.owner_[d.xattr_block] = ino;
      ++s.owned;
    } else if (c.ask(Problem::kInodeBadPointer, who + " extended attribute block " +
                                                    std::to_string(d.xattr_block) + " is invalid.")) {
      d.xattr_block = 0;
      changed = true;
    }
  }
  // An inode sharing a block is counted again once pass 1B has resolved it.
  if (!s.shared) changed |= check_counts(c, ino, d, s);
  bool csum_fix = false;
  if (!inode_checksum_ok(rec, ino, c.seed_))
    csum_fix = c.ask(Problem::kInodeChecksum, who + " passes checks, but its checksum does not match.");
  if (changed || csum_fix) CARDFS_RETURN_IF_ERROR(c.write_inode(ino, d));

  InodeState& st = c.ino_[ino];
  st.mode = d.mode;
  st.links = d.links_count;
  st.size = d.size;
  st.data_blocks = s.owned;
  st.has_index = S_ISDIR(d.mode) && (d.flags & kInodeFlagIndex);
  if (S_ISDIR(d.mode)) c.dirs_.push_back(ino);
  auto& stats = c.report().stats;
  if (S_ISREG(d.mode)) {
    ++stats.regular;
    if (!s.contiguous) ++stats.noncontiguous;
  } else if (S_ISDIR(d.mode)) {
    ++stats.directories;
  } else if (S_ISLNK(d.mode)) {
    ++stats.symlinks;
  } else {
    ++stats.specials;
  }
  return Status::ok();
}

static void mark_metadata(Checker& c) {
  c.owner_.assign(c.sb_.blocks_count, kOwnerFree);
  for (uint64_t b = 0; b < c.sb_.first_data_block; ++b) c.owner_[b] = kOwnerMeta;
  for (uint32_t g = 0; g < c.sb_.group_count(); ++g) {
    GroupLayout l = group_layout(c.sb_, g);
    for (uint64_t b = l.first; b < l.first_data; ++b) c.owner_[b] = kOwnerMeta;
  }
  // The journal's blocks and its inode's map (check_journal found them in range).
  for (uint32_t i = 0; i < c.journal_.blocks; ++i) c.owner_[c.journal_.first + i] = kOwnerMeta;
  for (uint64_t b : c.journal_.map_blocks) c.owner_[b] = kOwnerMeta;
}

Status Checker::pass1() {
  header("Pass 1: Checking inodes, blocks, and sizes");
  mark_metadata(*this);
  CARDFS_RETURN_IF_ERROR(find_unreadable());
  ino_.assign(size_t(sb_.inodes_count) + 1, InodeState{});
  const uint32_t per_block = bs_ / kInodeSize;
  for (uint32_t g = 0; g < sb_.group_count() && !cancelled(); ++g) {
    for (uint32_t i = 0; i < sb_.inodes_per_group; i += per_block) {
      const uint64_t tb = inode_table(g) + i / per_block;
      CARDFS_ASSIGN_OR_RETURN(auto blk, read_block(tb));
      for (uint32_t k = 0; k < per_block; ++k) {
        const uint32_t ino = g * sb_.inodes_per_group + i + k + 1;
        auto rec = std::span<const std::byte>(blk).subspan(size_t(k) * kInodeSize, kInodeSize);
        if (std::all_of(rec.begin(), rec.end(), [](std::byte b) { return b == std::byte{0}; })) continue;
        if (ino < sb_.first_ino && ino != kRootIno) continue;  // reserved, unused by cardfs
        CARDFS_RETURN_IF_ERROR(check_inode(*this, ino, rec));
      }
    }
    if (o_.progress) o_.progress(1, g + 1, sb_.group_count());
  }
  CARDFS_RETURN_IF_ERROR(pass1b());
  return check_root();
}

// True when the inode's first block is a directory block opening with
// '.' and '..' that both name the root.
static bool holds_root_entries(Checker& c, const DiskInode& d) {
  const uint32_t b = d.block[0];
  if (!c.valid_data_block(b) || c.owner_[b] != kRootIno) return false;
  auto blk = c.read_block(b);
  if (!blk.is_ok()) return false;
  auto recs = dir_block::entries(*blk);
  return recs.is_ok() && recs->size() >= 2 && (*recs)[0].name == "." && (*recs)[0].inode == kRootIno &&
         (*recs)[1].name == ".." && (*recs)[1].inode == kRootIno;
}

// The root must be a directory. One whose mode alone is wrong gets its
// type back; otherwise a new empty root is made (pass 3 then connects
// the old top-level directories to lost+found).
Status Checker::check_root() {
  if (is_dir(kRootIno)) return Status::ok();
  auto& stats = report().stats;
  if (in_use(kRootIno)) {
    CARDFS_ASSIGN_OR_RETURN(DiskInode d, read_inode(kRootIno));
    char mode[16];
    std::snprintf(mode, sizeof mode, "0%o", d.mode);
    if (holds_root_entries(*this, d)) {
      if (!ask(Problem::kRootNotDir, "The root inode has mode " + std::string(mode) +
                                         ", but its first block holds '.' and '..' naming it: it is "
                                         "made a directory again."))
        return Status::ok();
      if (S_ISREG(d.mode)) --stats.regular;
      d.mode = uint16_t(S_IFDIR | (d.mode & 07777));
      ino_[kRootIno].mode = d.mode;
      dirs_.insert(dirs_.begin(), kRootIno);
      ++stats.directories;
      CARDFS_RETURN_IF_ERROR(write_inode(kRootIno, d));
      return recheck_counts(kRootIno);  // pass 1 judged its size as a file's
    }
    if (!ask(Problem::kRootNotDir, "The root inode is not a directory (mode " + std::string(mode) +
                                       "): a new empty root is made."))
      return Status::ok();
    if (S_ISREG(d.mode)) --stats.regular;
    CARDFS_RETURN_IF_ERROR(clear_inode(kRootIno));
  } else if (!ask(Problem::kRootNotDir, "The root inode is unused: a new empty root is made.")) {
    return Status::ok();
  }
  CARDFS_RETURN_IF_ERROR(make_directory(kRootIno, kRootIno, 0755));
  ino_[kRootIno].refs = 0;  // pass 2 counts its '.' when it reads it
  return Status::ok();
}

}  // namespace cardfs::fsck
