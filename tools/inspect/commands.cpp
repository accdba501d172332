// The inspect command table: superblock, groups, inodes, directories,
// block maps, ownership and free-space queries.
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>

#include "base/parse.h"
#include "base/uuid.h"
#include "fusefs/format.h"
#include "tools/fsck/super.h"
#include "tools/inspect/card_view.h"
#include "tools/inspect/index_view.h"
#include "tools/inspect/inspector.h"
#include "tools/inspect/stats_view.h"

namespace cardfs::inspect {

using namespace fusefs;

namespace {

using Args = std::vector<std::string>;

constexpr uint64_t kMaxCat = 1ull << 30;  // cat and dump build the file in memory

std::string hex32(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

std::string time_text(int64_t sec) {
  std::time_t t = std::time_t(sec);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return b;
}

const char* type_name(uint16_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "regular";
    case S_IFDIR: return "directory";
    case S_IFLNK: return "symlink";
    case S_IFCHR: return "character device";
    case S_IFBLK: return "block device";
    case S_IFIFO: return "fifo";
    case S_IFSOCK: return "socket";
    default: return "free";
  }
}

// Block, inode and field values as debugfs reads them: decimal, 0x hex, 0 octal.
Result<uint64_t> number(const std::string& s) { return parse_uint(s, IntegerSyntax::kCLiteral); }

Result<Output> cmd_super(Inspector& in, const Args&) {
  const Superblock& sb = in.sb();
  Value v = Value::object();
  v.add("magic", hex32(sb.magic)).add("version", sb.version);
  v.add("label", std::string(sb.label.data(), strnlen(sb.label.data(), sb.label.size())));
  v.add("uuid", uuid_text(sb.uuid));
  v.add("state", std::string(sb.state & kStateClean ? "clean" : "not clean") +
                     (sb.state & kStateErrors ? ", errors" : ""));
  v.add("block_size", sb.block_size()).add("blocks", sb.blocks_count).add("free_blocks", sb.free_blocks);
  v.add("reserved_blocks", sb.reserved_blocks).add("inodes", sb.inodes_count).add("free_inodes", sb.free_inodes);
  v.add("first_data_block", sb.first_data_block).add("blocks_per_group", sb.blocks_per_group);
  v.add("inodes_per_group", sb.inodes_per_group).add("groups", sb.group_count());
  v.add("inode_size", uint32_t(sb.inode_size)).add("au_size", Value::bytes(sb.au_size));
  v.add("features_compat", hex32(sb.feature_compat)).add("features_ro_compat", hex32(sb.feature_ro_compat));
  v.add("features_incompat", hex32(sb.feature_incompat));
  v.add("mount_count", uint32_t(sb.mount_count)).add("max_mount_count", uint32_t(sb.max_mount_count));
  v.add("created", time_text(int64_t(sb.mkfs_time))).add("last_mounted", time_text(int64_t(sb.mount_time)));
  v.add("last_written", time_text(int64_t(sb.write_time))).add("last_checked", time_text(int64_t(sb.check_time)));
  v.add("lost_found_inode", sb.lost_found_ino).add("hash_version", uint32_t(sb.hash_version));
  v.add("last_orphan", sb.last_orphan);  // head of the orphan list, 0 when empty
  return Output{v, {}};
}

Result<Output> cmd_groups(Inspector& in, const Args&) {
  Value rows = Value::array();
  const Superblock& sb = in.sb();
  for (uint32_t g = 0; g < sb.group_count(); ++g) {
    GroupLayout l = group_layout(sb, g);
    auto gd = in.group(g);
    Value r = Value::object();
    r.add("group", g).add("first", l.first).add("last", l.first + l.count - 1);
    r.add("superblock", group_has_super(g) ? Value(superblock_location(sb, g).block) : Value());
    if (gd.is_ok()) {
      r.add("block_bitmap", gd->block_bitmap).add("inode_bitmap", gd->inode_bitmap);
      r.add("inode_table", gd->inode_table).add("free_blocks", gd->free_blocks);
      r.add("free_inodes", gd->free_inodes).add("dirs", gd->used_dirs).add("ok", true);
    } else {
      r.add("block_bitmap", l.block_bitmap).add("inode_bitmap", l.inode_bitmap);
      r.add("inode_table", l.inode_table).add("free_blocks", Value()).add("free_inodes", Value());
      r.add("dirs", Value()).add("ok", false);
    }
    rows.push(r);
  }
  return Output{rows, {}};
}

Result<Output> cmd_stat(Inspector& in, const Args& a) {
  CARDFS_ASSIGN_OR_RETURN(uint32_t ino, in.resolve(a[0]));
  CARDFS_ASSIGN_OR_RETURN(DiskInode d, in.inode(ino));
  char mode[16];
  std::snprintf(mode, sizeof mode, "0%o", d.mode & 07777);
  Value v = Value::object();
  v.add("inode", ino).add("type", type_name(d.mode)).add("mode", mode);
  v.add("links", uint32_t(d.links_count)).add("uid", d.uid).add("gid", d.gid);
  v.add("size", d.size).add("blocks_512", d.blocks).add("flags", hex32(d.flags));
  v.add("generation", d.generation);
  v.add("atime", time_text(d.atime.sec)).add("mtime", time_text(d.mtime.sec));
  v.add("ctime", time_text(d.ctime.sec)).add("crtime", time_text(d.crtime.sec));
  if (S_ISLNK(d.mode) && d.size <= kInlineSymlinkMax) {
    v.add("target", inline_symlink_target(d));
  } else {
    Value ptrs = Value::array();
    for (uint32_t p : d.block) ptrs.push(p);
    v.add("block_pointers", ptrs);
  }
  return Output{v, {}};
}

Result<Output> cmd_blocks(Inspector& in, const Args& a) {
  CARDFS_ASSIGN_OR_RETURN(uint32_t ino, in.resolve(a[0]));
  CARDFS_ASSIGN_OR_RETURN(DiskInode d, in.inode(ino));
  std::vector<bool> unwritten;
  CARDFS_ASSIGN_OR_RETURN(auto map, in.file_map(d, &unwritten));
  CARDFS_ASSIGN_OR_RETURN(auto ind, in.indirect_blocks(d));
  Value extents = Value::array();
  for (uint64_t fb = 0; fb < map.size();) {
    uint64_t end = fb + 1;
    if (map[fb] == 0) {
      while (end < map.size() && map[end] == 0) ++end;
    } else {
      while (end < map.size() && map[end] == map[end - 1] + 1 && unwritten[end] == unwritten[fb]) ++end;
    }
    Value e = Value::object();
    e.add("file_blocks", std::to_string(fb) + "-" + std::to_string(end - 1));
    e.add("disk_blocks", map[fb] ? std::to_string(map[fb]) + "-" + std::to_string(map[fb] + end - fb - 1) : "hole");
    e.add("count", end - fb);
    if (unwritten[fb]) e.add("unwritten", true);  // allocated by fallocate, reads as zeros
    extents.push(e);
    fb = end;
  }
  Value indirect = Value::array();
  for (uint64_t b : ind) indirect.push(b);
  Value v = Value::object();
  v.add("inode", ino).add("size", d.size).add("indirect", indirect).add("extents", extents);
  return Output{v, {}};
}

Result<Output> cmd_bmap(Inspector& in, const Args& a) {
  CARDFS_ASSIGN_OR_RETURN(uint32_t ino, in.resolve(a[0]));
  CARDFS_ASSIGN_OR_RETURN(uint64_t fb, number(a[1]));
  CARDFS_ASSIGN_OR_RETURN(DiskInode d, in.inode(ino));
  std::vector<bool> unwritten;
  CARDFS_ASSIGN_OR_RETURN(auto map, in.file_map(d, &unwritten));
  Value v = Value::object();
  v.add("inode", ino).add("file_block", fb).add("disk_block", fb < map.size() ? map[fb] : 0);
  if (fb < map.size() && unwritten[fb]) v.add("unwritten", true);
  return Output{v, {}};
}

Result<Output> cmd_ls(Inspector& in, const Args& a) {
  const bool longer = !a.empty() && a[0] == "-l";
  const std::string path = a.size() > size_t(longer) ? a[longer] : "/";
  CARDFS_ASSIGN_OR_RETURN(uint32_t dir, in.resolve(path));
  CARDFS_ASSIGN_OR_RETURN(auto items, in.list(dir));
  CARDFS_ASSIGN_OR_RETURN(DiskInode dd, in.inode(dir));
  Value rows = Value::array();
  for (const DirItem& it : items) {
    Value r = Value::object();
    r.add("inode", it.ino);
    if (longer) {
      auto d = in.inode(it.ino);
      r.add("type", d.is_ok() ? type_name(d->mode) : "?").add("size", d.is_ok() ? Value(d->size) : Value());
      r.add("block", it.file_block).add("offset", it.offset).add("rec_len", uint32_t(it.rec_len));
      r.add("hash", hex32(seeded_name_hash(in.sb().hash_seed, it.name)));
    }
    r.add("name", it.name);
    rows.push(r);
  }
  Value v = Value::object();
  v.add("directory", dir).add("indexed", bool(dd.flags & kInodeFlagIndex)).add("entries", rows);
  if (longer && (dd.flags & kInodeFlagIndex)) {
    CARDFS_ASSIGN_OR_RETURN(auto map, in.file_map(dd));
    v.add("index", index_tree(in, map));
  }
  return Output{v, {}};
}

Result<Output> cmd_cat(Inspector& in, const Args& a) {
  CARDFS_ASSIGN_OR_RETURN(uint32_t ino, in.resolve(a[0]));
  CARDFS_ASSIGN_OR_RETURN(DiskInode d, in.inode(ino));
  if (S_ISLNK(d.mode) && d.size <= kInlineSymlinkMax) return Output{Value(inline_symlink_target(d)), inline_symlink_target(d)};
  if (d.size > kMaxCat)
    return Status::error(EFBIG, a[0] + " is " + human_bytes(d.size) + ": too large to copy out here");
  CARDFS_ASSIGN_OR_RETURN(auto map, in.file_map(d));
  std::string out;
  out.reserve(d.size);
  for (uint64_t fb = 0; fb < map.size(); ++fb) {
    const size_t n = size_t(std::min<uint64_t>(in.block_size(), d.size - fb * in.block_size()));
    if (!map[fb]) {
      out.append(n, '\0');
      continue;
    }
    CARDFS_ASSIGN_OR_RETURN(auto b, in.block(map[fb]));
    out.append(reinterpret_cast<const char*>(b.data()), n);
  }
  out.resize(d.size);  // a hole at the end reads as zeros
  return Output{Value(out), out};
}

Result<Output> cmd_dump(Inspector& in, const Args& a) {
  CARDFS_ASSIGN_OR_RETURN(Output content, cmd_cat(in, {a[0]}));
  std::FILE* f = std::fopen(a[1].c_str(), "wbx");  // never overwrites
  if (!f) return Status::error(errno, a[1] + ": " + std::strerror(errno));
  const std::string& bytes = *content.raw;
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  if (std::fclose(f) != 0 || !ok) return Status::error(EIO, a[1] + ": write failed");
  Value v = Value::object();
  v.add("source", a[0]).add("dest", a[1]).add("bytes", uint64_t(bytes.size()));
  return Output{v, {}};
}

Result<Output> cmd_icheck(Inspector& in, const Args& a) {
  std::vector<uint64_t> wanted;
  for (const auto& s : a) {
    CARDFS_ASSIGN_OR_RETURN(uint64_t b, number(s));
    wanted.push_back(b);
  }
  std::vector<int64_t> owner(wanted.size(), -1);
  for (uint32_t ino = 1; ino <= in.sb().inodes_count; ++ino) {
    if (!in.inode_in_use(ino)) continue;
    auto d = in.inode(ino);
    if (!d.is_ok() || d->mode == 0) continue;
    auto map = in.file_map(*d);
    auto ind = in.indirect_blocks(*d);
    for (size_t i = 0; i < wanted.size(); ++i) {
      if (owner[i] >= 0) continue;
      bool hit = (map.is_ok() && std::find(map->begin(), map->end(), wanted[i]) != map->end()) ||
                 (ind.is_ok() && std::find(ind->begin(), ind->end(), wanted[i]) != ind->end());
      if (hit) owner[i] = ino;
    }
  }
  Value rows = Value::array();
  for (size_t i = 0; i < wanted.size(); ++i) {
    Value r = Value::object();
    r.add("block", wanted[i]).add("inode", owner[i] >= 0 ? Value(owner[i]) : Value());
    rows.push(r);
  }
  return Output{rows, {}};
}

Result<Output> cmd_ncheck(Inspector& in, const Args& a) {
  std::vector<uint32_t> wanted;
  for (const auto& s : a) {
    CARDFS_ASSIGN_OR_RETURN(uint64_t n, number(s));
    wanted.push_back(uint32_t(n));
  }
  Value rows = Value::array();
  std::vector<std::pair<uint32_t, std::string>> stack{{kRootIno, ""}};
  std::set<uint32_t> listed;  // a corrupt tree may hold loops
  while (!stack.empty()) {
    auto [dir, path] = stack.back();
    stack.pop_back();
    if (!listed.insert(dir).second) continue;
    auto items = in.list(dir);
    if (!items.is_ok()) continue;
    for (const DirItem& it : *items) {
      if (it.name == "." || it.name == "..") continue;
      const std::string p = path + "/" + it.name;
      if (std::find(wanted.begin(), wanted.end(), it.ino) != wanted.end()) {
        Value r = Value::object();
        r.add("inode", it.ino).add("path", p);
        rows.push(r);
      }
      if (it.type == kFtDir && stack.size() < 4096) stack.emplace_back(it.ino, p);
    }
  }
  return Output{rows, {}};
}

Result<Output> cmd_ffb(Inspector& in, const Args& a) {
  uint64_t count = 1, goal = in.sb().first_data_block;
  if (!a.empty()) {
    CARDFS_ASSIGN_OR_RETURN(count, number(a[0]));
  }
  if (a.size() > 1) {
    CARDFS_ASSIGN_OR_RETURN(goal, number(a[1]));
  }
  Value found = Value::array();
  for (uint64_t b = goal; b < in.sb().blocks_count && found.items().size() < count; ++b)
    if (!in.block_in_use(b)) found.push(b);
  Value v = Value::object();
  v.add("free_blocks", found);
  return Output{v, {}};
}

Result<Output> cmd_ffi(Inspector& in, const Args& a) {
  uint64_t count = 1;
  if (!a.empty()) {
    CARDFS_ASSIGN_OR_RETURN(count, number(a[0]));
  }
  Value found = Value::array();
  for (uint32_t ino = in.sb().first_ino; ino <= in.sb().inodes_count && found.items().size() < count; ++ino)
    if (!in.inode_in_use(ino)) found.push(ino);
  Value v = Value::object();
  v.add("free_inodes", found);
  return Output{v, {}};
}

Result<Output> cmd_frag(Inspector& in, const Args&) {
  Value rows = Value::array();
  uint64_t files = 0, fragmented = 0, extents_total = 0;
  for (uint32_t ino = kRootIno; ino <= in.sb().inodes_count; ++ino) {
    if (!in.inode_in_use(ino)) continue;
    auto d = in.inode(ino);
    if (!d.is_ok() || !S_ISREG(d->mode) || d->size == 0) continue;
    auto map = in.file_map(*d);
    if (!map.is_ok()) continue;
    uint64_t extents = 0, prev = 0;
    for (uint64_t b : *map) {
      if (b && b != prev + 1) ++extents;
      if (b) prev = b;
    }
    ++files;
    extents_total += extents;
    if (extents > 1) {
      ++fragmented;
      Value r = Value::object();
      r.add("inode", ino).add("size", Value::bytes(d->size)).add("extents", extents);
      rows.push(r);
    }
  }
  Value v = Value::object();
  v.add("files", files).add("fragmented", fragmented).add("extents", extents_total);
  v.add("fragmented_percent", Value::percent(files ? 100.0 * double(fragmented) / double(files) : 0.0));
  if (!rows.items().empty()) v.add("fragmented_files", rows);
  return Output{v, {}};
}

Result<Output> cmd_help(Inspector&, const Args&) { return Output{command_table(), {}}; }

}  // namespace

Value command_table() {
  Value rows = Value::array();
  for (const auto* table : {&commands(), &write_commands()})
    for (const Command& c : *table) {
      Value r = Value::object();
      r.add("command", std::string(c.name) + (*c.usage ? " " : "") + c.usage);
      r.add("what", std::string(table == &commands() ? "" : "(--write) ") + c.help);
      rows.push(r);
    }
  return rows;
}

const std::vector<Command>& commands() {
  static const std::vector<Command> kCommands = {
      {"super", "", "the superblock, decoded", 0, cmd_super},
      {"groups", "", "group descriptors: locations, free counts, backups", 0, cmd_groups},
      {"stats", "", "superblock and every group with its free ranges (what dumpe2fs prints)", 0, cmd_stats},
      {"stat", "PATH|<INO>", "an inode, decoded", 1, cmd_stat},
      {"blocks", "PATH|<INO>", "a file's block map: extents, holes, indirect blocks", 1, cmd_blocks},
      {"bmap", "PATH|<INO> N", "the disk block of file block N", 2, cmd_bmap},
      {"ls", "[-l] [PATH]", "directory entries (-l: record lengths, hashes)", 0, cmd_ls},
      {"cat", "PATH|<INO>", "a file's contents", 1, cmd_cat},
      {"dump", "PATH|<INO> DEST", "copy a file out to DEST (a new file)", 2, cmd_dump},
      {"icheck", "BLOCK...", "which inode owns each block", 1, cmd_icheck},
      {"ncheck", "INO...", "the paths of each inode", 1, cmd_ncheck},
      {"ffb", "[COUNT [GOAL]]", "find free blocks", 0, cmd_ffb},
      {"ffi", "[COUNT]", "find free inodes", 0, cmd_ffi},
      {"frag", "", "fragmentation per file and overall", 0, cmd_frag},
      {"card", "", "the card: geometry, profile, counters, AU wear", 0, cmd_card},
      {"au", "N", "one physical AU's state", 1, cmd_au},
      {"help", "", "this list", 0, cmd_help},
  };
  return kCommands;
}

}  // namespace cardfs::inspect
