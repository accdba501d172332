#include "tools/inspect/inspector.h"

#include <sys/stat.h>

#include <cstring>
#include <sstream>
#include <unordered_set>

#include "fusefs/bitmap.h"
#include "fusefs/dir_block.h"
#include "fusefs/format.h"
#include "tools/fsck/super.h"

namespace cardfs::inspect {

using namespace fusefs;

Result<std::unique_ptr<Inspector>> Inspector::open(fsck::ImageIo& io, const sdcard::Card* card) {
  std::unique_ptr<Inspector> in(new Inspector(io, card));
  CARDFS_ASSIGN_OR_RETURN(fsck::FoundSuper found, fsck::find_superblock(io, 0));
  in->sb_ = found.sb;
  // Every walk over blocks or inodes is bounded by the superblock's counts.
  if (in->sb_.blocks_count * in->sb_.block_size() > io.size())
    return Status::error(EINVAL, "the filesystem has " + std::to_string(in->sb_.blocks_count) +
                                     " blocks but the image holds only " +
                                     std::to_string(io.size() / in->sb_.block_size()));
  return in;
}

Result<Output> Inspector::run(const std::vector<std::string>& words) {
  if (words.empty()) return Status::error(EINVAL, "no command");
  auto find = [&](const std::vector<Command>& table) -> const Command* {
    for (const Command& c : table)
      if (words[0] == c.name) return &c;
    return nullptr;
  };
  const Command* c = find(commands());
  const Command* w = c ? nullptr : find(write_commands());
  if (w && !writable())
    return Status::error(EROFS, std::string(w->name) + " writes: open the image with --write");
  if (!c && !w) return Status::error(EINVAL, "unknown command '" + words[0] + "' (try 'help')");
  const Command& cmd = c ? *c : *w;
  std::vector<std::string> args(words.begin() + 1, words.end());
  if (args.size() < cmd.min_args) return Status::error(EINVAL, std::string("usage: ") + cmd.name + " " + cmd.usage);
  CARDFS_ASSIGN_OR_RETURN(Output out, cmd.run(*this, args));
  if (w) CARDFS_RETURN_IF_ERROR(io_.flush());
  return out;
}

Result<std::vector<std::byte>> Inspector::block(uint64_t b) {
  if (b >= sb_.blocks_count) return Status::error(EINVAL, "block " + std::to_string(b) + " is past the end");
  std::vector<std::byte> data(block_size());
  CARDFS_RETURN_IF_ERROR(io_.read(b * block_size(), data));
  return data;
}

Result<GroupDesc> Inspector::group(uint32_t g) {
  if (g >= sb_.group_count()) return Status::error(EINVAL, "no group " + std::to_string(g));
  const uint64_t at = (group_first_block(sb_, 0) + 1) * block_size() + uint64_t(g) * kDescSize;
  std::vector<std::byte> raw(kDescSize);
  CARDFS_RETURN_IF_ERROR(io_.read(at, raw));
  return decode_group_desc(raw, g, sb_.csum_seed());
}

Result<uint64_t> Inspector::inode_byte(uint32_t ino) {
  if (ino == 0 || ino > sb_.inodes_count) return Status::error(EINVAL, "no inode " + std::to_string(ino));
  CARDFS_ASSIGN_OR_RETURN(GroupDesc gd, group((ino - 1) / sb_.inodes_per_group));
  BlockOffset at = inode_location(sb_, gd.inode_table, ino);
  return at.block * block_size() + at.offset;
}

Result<std::vector<std::byte>> Inspector::inode_record(uint32_t ino) {
  CARDFS_ASSIGN_OR_RETURN(uint64_t at, inode_byte(ino));
  std::vector<std::byte> raw(kInodeSize);
  CARDFS_RETURN_IF_ERROR(io_.read(at, raw));
  return raw;
}

Result<DiskInode> Inspector::inode(uint32_t ino) {
  CARDFS_ASSIGN_OR_RETURN(auto raw, inode_record(ino));
  return decode_inode(raw, ino, sb_.csum_seed());
}

Result<DiskInode> Inspector::inode_unverified(uint32_t ino) {
  CARDFS_ASSIGN_OR_RETURN(auto raw, inode_record(ino));
  return decode_inode_unverified(raw, ino);
}

Status Inspector::put_inode(uint32_t ino, const DiskInode& d, bool clear) {
  CARDFS_ASSIGN_OR_RETURN(uint64_t at, inode_byte(ino));
  std::vector<std::byte> raw(kInodeSize);
  if (!clear) encode_inode(d, ino, sb_.csum_seed(), raw);
  return io_.write(at, raw);
}

Status Inspector::put_group(uint32_t g, const GroupDesc& gd) {
  if (g >= sb_.group_count()) return Status::error(EINVAL, "no group " + std::to_string(g));
  std::vector<std::byte> raw(kDescSize);
  encode_group_desc(gd, g, sb_.csum_seed(), raw);
  return io_.write((group_first_block(sb_, 0) + 1) * block_size() + uint64_t(g) * kDescSize, raw);
}

Status Inspector::put_block(uint64_t b, std::span<const std::byte> data) {
  if (b >= sb_.blocks_count) return Status::error(EINVAL, "block " + std::to_string(b) + " is past the end");
  return io_.write(b * block_size(), data);
}

Status Inspector::put_super() {
  std::vector<std::byte> raw(kSuperblockSize);
  encode_superblock(sb_, raw);
  return io_.write(kSuperblockOffset, raw);
}

Status Inspector::walk_map(const DiskInode& d,
                           const std::function<Result<Visit>(const PointerRef&, uint64_t)>& enter) {
  PointerTreeWalk w;
  w.ptrs_per_block = block_size() / 4;
  w.unwritten_feature = unwritten_feature();
  w.in_bounds = [this](uint64_t b) { return b < sb_.blocks_count; };
  w.read = [this](uint64_t b) { return block(b); };
  w.enter = enter;
  return walk_pointer_tree(d.block, w);
}

// Each indirect block is followed once: a corrupt map may point many
// times at the same one (or at itself), and the walk must stay bounded.
Result<std::vector<uint64_t>> Inspector::file_map(const DiskInode& d, std::vector<bool>* unwritten) {
  if (S_ISLNK(d.mode) && d.size <= kInlineSymlinkMax) return std::vector<uint64_t>{};
  const uint64_t by_size = (d.size + block_size() - 1) / block_size();
  std::vector<std::pair<uint64_t, uint64_t>> mapped;
  std::unordered_set<uint64_t> marked;  // file blocks
  std::unordered_set<uint32_t> followed;
  CARDFS_RETURN_IF_ERROR(walk_map(d, [&](const PointerRef& r, uint64_t b) -> Result<Visit> {
    if (!r.in_bounds || r.file_block >= by_size) return Visit::kSkip;
    if (r.level == 0) mapped.emplace_back(r.file_block, b);
    if (r.unwritten) marked.insert(r.file_block);
    return r.level == 0 || followed.insert(b).second ? Visit::kDescend : Visit::kSkip;
  }));
  // Up to the last mapped block: a hole at the end is not listed.
  std::vector<uint64_t> map(mapped.empty() ? 0 : mapped.back().first + 1, 0);
  for (auto [fb, b] : mapped) map[fb] = b;
  if (unwritten) {
    unwritten->assign(map.size(), false);
    for (uint64_t fb : marked) (*unwritten)[fb] = true;
  }
  return map;
}

Result<std::vector<uint64_t>> Inspector::indirect_blocks(const DiskInode& d) {
  std::vector<uint64_t> out;
  if (S_ISLNK(d.mode) && d.size <= kInlineSymlinkMax) return out;
  std::unordered_set<uint32_t> followed;
  CARDFS_RETURN_IF_ERROR(walk_map(d, [&](const PointerRef& r, uint64_t b) -> Result<Visit> {
    if (!r.in_bounds) return Visit::kSkip;
    if (r.level == 0) return Visit::kDescend;
    out.push_back(b);
    return followed.insert(b).second ? Visit::kDescend : Visit::kSkip;
  }));
  return out;
}

Result<std::vector<DirItem>> Inspector::list(uint32_t dir) {
  CARDFS_ASSIGN_OR_RETURN(DiskInode d, inode(dir));
  if (!S_ISDIR(d.mode)) return Status::error(ENOTDIR, "inode " + std::to_string(dir) + " is not a directory");
  CARDFS_ASSIGN_OR_RETURN(auto map, file_map(d));
  std::vector<DirItem> out;
  for (uint64_t fb = 0; fb < map.size(); ++fb) {
    if (!map[fb]) continue;
    CARDFS_ASSIGN_OR_RETURN(auto b, block(map[fb]));
    CARDFS_RETURN_IF_ERROR(dir_block::walk(b, [&](const DirRecord& r) {
      if (r.inode) out.push_back({r.inode, r.rec_len, r.type, fb, r.offset, std::string(r.name)});
      return true;
    }));
  }
  return out;
}

Result<uint32_t> Inspector::resolve(const std::string& spec) {
  if (spec.size() > 2 && spec.front() == '<' && spec.back() == '>') {
    char* end = nullptr;
    unsigned long v = std::strtoul(spec.c_str() + 1, &end, 10);
    if (*end != '>' || v == 0 || v > sb_.inodes_count) return Status::error(EINVAL, "bad inode " + spec);
    return uint32_t(v);
  }
  uint32_t at = kRootIno;
  std::stringstream ss(spec);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty() || part == ".") continue;
    CARDFS_ASSIGN_OR_RETURN(auto items, list(at));
    uint32_t next = 0;
    for (const DirItem& it : items)
      if (it.name == part) next = it.ino;
    if (!next) return Status::error(ENOENT, spec + ": no such file or directory");
    at = next;
  }
  return at;
}

bool Inspector::block_in_use(uint64_t b) {
  if (b < sb_.first_data_block || b >= sb_.blocks_count) return true;
  const uint32_t g = uint32_t((b - sb_.first_data_block) / sb_.blocks_per_group);
  auto gd = group(g);
  if (!gd.is_ok()) return true;
  auto map = block(gd->block_bitmap);
  return !map.is_ok() || test_bit(*map, uint32_t(b - group_first_block(sb_, g)));
}

bool Inspector::inode_in_use(uint32_t ino) {
  const uint32_t g = (ino - 1) / sb_.inodes_per_group;
  auto gd = group(g);
  if (!gd.is_ok()) return true;
  auto map = block(gd->inode_bitmap);
  return !map.is_ok() || test_bit(*map, (ino - 1) % sb_.inodes_per_group);
}

}  // namespace cardfs::inspect
