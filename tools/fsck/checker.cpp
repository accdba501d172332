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

Checker::Checker(ImageIo& io, const FsckOptions& o) : io_(io), o_(o) {}

Result<std::vector<std::byte>> Checker::read_block(uint64_t block) {
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

Result<std::vector<std::byte>> Checker::read_map_block(uint64_t block) {
  Result<std::vector<std::byte>> data = read_block(block);
  if (data.is_ok() || !unreadable(block)) return data;
  unknown_subtrees_ = true;
  return std::vector<std::byte>(bs_);
}

void Checker::report_only(Problem p, const std::string& message) {
  if (o_.mode == Mode::kPreen && !preen_stopped_) {
    preen_stopped_ = true;
    say(o_.name + ": " + message);
    say(o_.name + ": UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n\t(i.e., without -a or -p options)");
  } else if (o_.mode != Mode::kPreen) {
    say(message);
  }
  report_.findings.push_back({p, message, false});
}

Status Checker::write_block(uint64_t block, std::span<const std::byte> data) {
  if (o_.mode == Mode::kNo) return Status::error(EROFS, "fsck -n never writes");
  CARDFS_RETURN_IF_ERROR(io_.write(block * bs_, data));
  cache_[block].assign(data.begin(), data.end());
  report_.modified = true;
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

void Checker::say(const std::string& line) {
  if (o_.out) o_.out(line);
}

bool Checker::ask(Problem p, const std::string& message) {
  const ProblemInfo& info = problem_info(p);
  bool fix = false;
  switch (o_.mode) {
    case Mode::kNo: break;
    case Mode::kYes: fix = true; break;
    case Mode::kPreen:
      fix = info.preen && !preen_stopped_;
      if (!info.preen && !preen_stopped_) {
        preen_stopped_ = true;
        say(o_.name + ": " + message);
        say(o_.name + ": UNEXPECTED INCONSISTENCY; RUN fsck MANUALLY.\n\t(i.e., without -a or -p options)");
      }
      break;
    case Mode::kAsk:
      if (!cancelled_ && o_.ask) {
        auto answer = o_.ask(message + "  " + info.fix + "<y>? ");
        if (!answer) cancelled_ = true;
        fix = answer.value_or(false);
      }
      break;
  }
  if (o_.mode == Mode::kPreen) {
    if (fix) say(o_.name + ": " + message + " FIXED.");
  } else if (o_.mode != Mode::kAsk) {
    say(message + "  " + info.fix + "? " + (fix ? "yes" : "no"));
  }
  report_.findings.push_back({p, message, fix});
  return fix;
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
    if (owner_[b] == kOwnerFree && !(unknown_subtrees_ && marked_in_use(b))) {
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
