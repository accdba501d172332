#include "tools/inspect/stats_view.h"

#include "fusefs/bitmap.h"
#include "fusefs/layout.h"

namespace cardfs::inspect {
namespace {

std::string field(const Value& row, const char* key) {
  const Value* v = row.find(key);
  return v ? v->scalar_text() : "?";
}

// One group as dumpe2fs lays it out, with its bitmaps' free ranges added
// to the row (JSON) and to the text.
Status describe_group(Inspector& in, uint32_t g, Value& row, std::string& text) {
  using namespace fusefs;
  const Superblock& sb = in.sb();
  const GroupLayout l = group_layout(sb, g);
  auto gd = in.group(g);
  text += "Group " + std::to_string(g) + ": (Blocks " + field(row, "first") + "-" + field(row, "last") + ")" +
          (gd.is_ok() ? "" : " [descriptor unreadable: " + gd.status().message() + "]") + "\n";
  if (group_has_super(g))
    text += std::string("  ") + (g == 0 ? "Primary" : "Backup") + " superblock at " + field(row, "superblock") + "\n";
  const uint64_t table_end = l.first_data - 1;  // the inode table runs up to the group's first data block
  text += "  Block bitmap at " + field(row, "block_bitmap") + ", Inode bitmap at " + field(row, "inode_bitmap") +
          ", Inode table at " + field(row, "inode_table") + "-" + std::to_string(table_end) + "\n";
  text += "  " + field(row, "free_blocks") + " free blocks, " + field(row, "free_inodes") + " free inodes, " +
          field(row, "dirs") + " directories\n";
  if (!gd.is_ok()) return Status::ok();  // its bitmaps' places are not to be trusted
  CARDFS_ASSIGN_OR_RETURN(auto bmap, in.block(gd->block_bitmap));
  CARDFS_ASSIGN_OR_RETURN(auto imap, in.block(gd->inode_bitmap));
  const std::string blocks = free_ranges(bmap, l.count, l.first);
  const std::string inodes = free_ranges(imap, sb.inodes_per_group, uint64_t(g) * sb.inodes_per_group + 1);
  text += "  Free blocks: " + blocks + "\n  Free inodes: " + inodes + "\n";
  row.add("free_block_ranges", blocks).add("free_inode_ranges", inodes);
  return Status::ok();
}

}  // namespace

std::string free_ranges(std::span<const std::byte> map, uint32_t count, uint64_t base) {
  count = std::min<uint32_t>(count, uint32_t(map.size() * 8));  // a bitmap block holds no more
  std::string out;
  for (uint32_t i = 0; i < count;) {
    if (fusefs::test_bit(map, i)) {
      ++i;
      continue;
    }
    uint32_t j = i;
    while (j + 1 < count && !fusefs::test_bit(map, j + 1)) ++j;
    out += (out.empty() ? "" : ", ") + std::to_string(base + i) + (j > i ? "-" + std::to_string(base + j) : "");
    i = j + 1;
  }
  return out;
}

Result<Output> cmd_stats(Inspector& in, const std::vector<std::string>&) {
  CARDFS_ASSIGN_OR_RETURN(Output super, in.run({"super"}));
  CARDFS_ASSIGN_OR_RETURN(Output groups, in.run({"groups"}));
  std::string text = super.value.text() + "\n";
  Value rows = Value::array();
  for (size_t g = 0; g < groups.value.items().size(); ++g) {
    Value row = groups.value.items()[g];
    CARDFS_RETURN_IF_ERROR(describe_group(in, uint32_t(g), row, text));
    rows.push(std::move(row));
  }
  Value v = Value::object();
  v.add("superblock", std::move(super.value)).add("groups", std::move(rows));
  return Output{v, text};
}

}  // namespace cardfs::inspect
