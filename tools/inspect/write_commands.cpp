// The repair commands of `inspect --write` (debugfs's in spirit):
// set_inode_field, clri, freeb/setb, freei/seti. Each says what it will
// write, asks (Inspector::confirm), then writes with every checksum it
// touches recomputed: the inode's, the bitmap's (kept in the descriptor),
// the descriptor's and the superblock's.
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <algorithm>
#include <functional>

#include "base/crc32c.h"
#include "base/parse.h"
#include "fusefs/bitmap.h"
#include "tools/inspect/inspector.h"

namespace cardfs::inspect {

using namespace fusefs;

namespace {

using Args = std::vector<std::string>;

// Block, inode and field values as debugfs reads them: decimal, 0x hex, 0 octal.
Result<uint64_t> number(const std::string& s) { return parse_uint(s, IntegerSyntax::kCLiteral); }

Status not_confirmed(const std::string& what) {
  return Status::error(ECANCELED, "not written: " + what +
                                      " (answer y on a terminal, or pass --yes)");
}

// One field of the inode: its width in bits and how to read and set it.
struct Field {
  std::string name;
  int bits;
  std::function<uint64_t(const DiskInode&)> get;
  std::function<void(DiskInode&, uint64_t)> set;
};

std::vector<Field> inode_fields() {
  std::vector<Field> f = {
      {"mode", 16, [](const DiskInode& d) { return d.mode; }, [](DiskInode& d, uint64_t v) { d.mode = uint16_t(v); }},
      {"links_count", 16, [](const DiskInode& d) { return d.links_count; },
       [](DiskInode& d, uint64_t v) { d.links_count = uint16_t(v); }},
      {"uid", 32, [](const DiskInode& d) { return d.uid; }, [](DiskInode& d, uint64_t v) { d.uid = uint32_t(v); }},
      {"gid", 32, [](const DiskInode& d) { return d.gid; }, [](DiskInode& d, uint64_t v) { d.gid = uint32_t(v); }},
      {"flags", 32, [](const DiskInode& d) { return d.flags; }, [](DiskInode& d, uint64_t v) { d.flags = uint32_t(v); }},
      {"size", 64, [](const DiskInode& d) { return d.size; }, [](DiskInode& d, uint64_t v) { d.size = v; }},
      {"blocks", 64, [](const DiskInode& d) { return d.blocks; }, [](DiskInode& d, uint64_t v) { d.blocks = v; }},
      {"generation", 32, [](const DiskInode& d) { return d.generation; },
       [](DiskInode& d, uint64_t v) { d.generation = uint32_t(v); }},
      {"rdev", 32, [](const DiskInode& d) { return d.rdev; }, [](DiskInode& d, uint64_t v) { d.rdev = uint32_t(v); }},
      {"xattr_block", 64, [](const DiskInode& d) { return d.xattr_block; },
       [](DiskInode& d, uint64_t v) { d.xattr_block = v; }},
  };
  for (auto [name, member] : {std::pair{"atime", &DiskInode::atime}, {"mtime", &DiskInode::mtime},
                              {"ctime", &DiskInode::ctime}, {"crtime", &DiskInode::crtime}})
    f.push_back({name, 63, [m = member](const DiskInode& d) { return uint64_t((d.*m).sec); },
                 [m = member](DiskInode& d, uint64_t v) { (d.*m).sec = int64_t(v); }});
  for (int i = 0; i < kBlockPointers; ++i)
    f.push_back({"block[" + std::to_string(i) + "]", 32, [i](const DiskInode& d) { return d.block[i]; },
                 [i](DiskInode& d, uint64_t v) { d.block[i] = uint32_t(v); }});
  return f;
}

Result<uint32_t> inode_number(Inspector& in, const std::string& s) {
  CARDFS_ASSIGN_OR_RETURN(uint64_t ino, number(s.size() > 2 && s.front() == '<' ? s.substr(1, s.size() - 2) : s));
  if (ino == 0 || ino > in.sb().inodes_count) return Status::error(EINVAL, "no inode " + s);
  return uint32_t(ino);
}

Result<Output> cmd_set_inode_field(Inspector& in, const Args& a) {
  CARDFS_ASSIGN_OR_RETURN(uint32_t ino, inode_number(in, a[0]));
  CARDFS_ASSIGN_OR_RETURN(uint64_t value, number(a[2]));
  std::string name = a[1];
  if (name.rfind("block", 0) == 0 && name.size() > 5 && name[5] != '[' && name[5] != 's')
    name = "block[" + name.substr(5) + "]";  // block3 -> block[3]
  const std::vector<Field> fields = inode_fields();
  const Field* f = nullptr;
  for (const Field& x : fields)
    if (x.name == name) f = &x;
  if (!f) {
    std::string names;
    for (const Field& x : fields) names += (names.empty() ? "" : " ") + x.name;
    return Status::error(EINVAL, "unknown inode field '" + a[1] + "' (fields: " + names + ")");
  }
  if (f->bits < 64 && value >> f->bits)
    return Status::error(ERANGE, name + " holds " + std::to_string(f->bits) + " bits; " + a[2] + " does not fit");
  CARDFS_ASSIGN_OR_RETURN(DiskInode d, in.inode_unverified(ino));
  const uint64_t old = f->get(d);
  const std::string what = "inode " + std::to_string(ino) + " " + name + " " + std::to_string(old) +
                           " -> " + std::to_string(value);
  if (!in.confirm(what)) return not_confirmed(what);
  f->set(d, value);
  CARDFS_RETURN_IF_ERROR(in.put_inode(ino, d));
  Value v = Value::object();
  v.add("inode", ino).add("field", name).add("old", old).add("new", value);
  return Output{v, {}};
}

Result<Output> cmd_clri(Inspector& in, const Args& a) {
  Value cleared = Value::array();
  for (const std::string& s : a) {
    CARDFS_ASSIGN_OR_RETURN(uint32_t ino, inode_number(in, s));
    const std::string what = "clear inode " + std::to_string(ino) + " (its record becomes zeroes)";
    if (!in.confirm(what)) return not_confirmed(what);
    CARDFS_RETURN_IF_ERROR(in.put_inode(ino, DiskInode{}, /*clear=*/true));
    cleared.push(ino);
  }
  Value v = Value::object();
  v.add("cleared", cleared);
  return Output{v, {}};
}

// Sets or clears `count` bits of the block (or inode) bitmaps from `first`,
// keeping each group's bitmap checksum and free count and the superblock's
// free count right. Returns how many bits changed.
Result<uint64_t> mark(Inspector& in, bool blocks, uint64_t first, uint64_t count, bool used) {
  Superblock& sb = in.mutable_sb();
  const uint64_t lo = blocks ? sb.first_data_block : 1;
  const uint64_t hi = blocks ? sb.blocks_count : uint64_t(sb.inodes_count) + 1;
  if (count == 0 || first < lo || first >= hi || count > hi - first)
    return Status::error(EINVAL, std::string(blocks ? "blocks " : "inodes ") + std::to_string(first) + "+" +
                                     std::to_string(count) + " are outside " + std::to_string(lo) + ".." +
                                     std::to_string(hi - 1));
  const uint64_t per = blocks ? sb.blocks_per_group : sb.inodes_per_group;
  uint64_t changed = 0;
  for (uint64_t at = first; at < first + count;) {
    const uint32_t g = uint32_t((at - lo) / per);
    const uint64_t base = blocks ? group_first_block(sb, g) : uint64_t(g) * per + 1;
    const uint64_t end = std::min(first + count, base + per);
    CARDFS_ASSIGN_OR_RETURN(GroupDesc gd, in.group(g));
    const uint64_t where = blocks ? gd.block_bitmap : gd.inode_bitmap;
    CARDFS_ASSIGN_OR_RETURN(auto map, in.block(where));
    uint32_t n = 0;
    for (; at < end; ++at) {
      const uint32_t bit = uint32_t(at - base);
      if (test_bit(map, bit) == used) continue;
      used ? set_bit(map, bit) : clear_bit(map, bit);
      ++n;
    }
    if (!n) continue;
    CARDFS_RETURN_IF_ERROR(in.put_block(where, map));
    const uint32_t crc = crc32c(sb.csum_seed(), map);
    (blocks ? gd.block_bitmap_crc : gd.inode_bitmap_crc) = crc;
    uint32_t& free_in_group = blocks ? gd.free_blocks : gd.free_inodes;
    free_in_group = used ? free_in_group - n : free_in_group + n;
    CARDFS_RETURN_IF_ERROR(in.put_group(g, gd));
    if (blocks) sb.free_blocks = used ? sb.free_blocks - n : sb.free_blocks + n;
    else sb.free_inodes = used ? sb.free_inodes - n : sb.free_inodes + n;
    changed += n;
  }
  if (changed) CARDFS_RETURN_IF_ERROR(in.put_super());
  return changed;
}

Result<Output> bitmap_command(Inspector& in, const Args& a, bool blocks, bool used) {
  uint64_t first = 0, count = 1;
  if (blocks) {
    CARDFS_ASSIGN_OR_RETURN(first, number(a[0]));
  } else {
    CARDFS_ASSIGN_OR_RETURN(first, inode_number(in, a[0]));
  }
  if (blocks && a.size() > 1) {
    CARDFS_ASSIGN_OR_RETURN(count, number(a[1]));
  }
  const std::string kind = blocks ? "block" : "inode";
  const std::string what = std::string(used ? "mark " : "free ") + kind + (count > 1 ? "s " : " ") +
                           std::to_string(first) +
                           (count > 1 ? "-" + std::to_string(first + count - 1) : "") +
                           (used ? " as in use" : "") + " in the " + kind + " bitmap";
  if (!in.confirm(what)) return not_confirmed(what);
  CARDFS_ASSIGN_OR_RETURN(uint64_t changed, mark(in, blocks, first, count, used));
  Value v = Value::object();
  v.add(kind == "block" ? "first_block" : "inode", first).add("count", count).add("changed", changed);
  v.add(blocks ? "free_blocks" : "free_inodes",
        blocks ? in.sb().free_blocks : uint64_t(in.sb().free_inodes));
  return Output{v, {}};
}

}  // namespace

const std::vector<Command>& write_commands() {
  static const std::vector<Command> kCommands = {
      {"set_inode_field", "INO FIELD VALUE", "set one inode field (checksum recomputed)", 3, cmd_set_inode_field},
      {"clri", "INO...", "zero inode records", 1, cmd_clri},
      {"freeb", "BLOCK [COUNT]", "mark blocks free in the block bitmap", 1,
       [](Inspector& in, const Args& a) { return bitmap_command(in, a, true, false); }},
      {"setb", "BLOCK [COUNT]", "mark blocks in use in the block bitmap", 1,
       [](Inspector& in, const Args& a) { return bitmap_command(in, a, true, true); }},
      {"freei", "INO", "mark an inode free in the inode bitmap", 1,
       [](Inspector& in, const Args& a) { return bitmap_command(in, a, false, false); }},
      {"seti", "INO", "mark an inode in use in the inode bitmap", 1,
       [](Inspector& in, const Args& a) { return bitmap_command(in, a, false, true); }},
  };
  return kCommands;
}

}  // namespace cardfs::inspect
