// Directory::list: ".", "..", then the names in listing-position order
// (positions and groups are described at the top of directory.h).
#include <algorithm>

#include "fusefs/dir_block.h"
#include "fusefs/dir_index.h"
#include "fusefs/directory.h"

namespace cardfs::fusefs {

struct Directory::Keyed {
  uint64_t key = 0;
  std::string name;
  uint32_t ino = 0;
  uint8_t type = 0;
  bool operator<(const Keyed& o) const { return key != o.key ? key < o.key : name < o.name; }
};

bool Directory::offer(std::vector<Keyed>& names,
                      const std::function<bool(const DirListEntry&)>& f) {
  std::sort(names.begin(), names.end());
  for (size_t i = 0; i < names.size(); ++i) {
    const Keyed& k = names[i];
    const uint64_t pos = name_position(k.key);
    const bool ends_group = i + 1 == names.size() || names[i + 1].key != k.key;
    if (!f(DirListEntry{k.name, k.ino, k.type, pos, ends_group ? pos + 1 : pos})) return false;
  }
  return true;
}

Status Directory::collect(uint64_t fb, uint64_t from, std::vector<Keyed>& out) {
  CARDFS_ASSIGN_OR_RETURN(auto buf, read_block(fb));
  const size_t first = out.size();
  buf.lock_to_read();
  Status st = dir_block::walk(buf.data(), [&](const DirRecord& r) {
    if (r.inode && r.name != "." && r.name != "..")
      out.push_back(Keyed{0, std::string(r.name), r.inode, r.type});
    return true;
  });
  buf.unlock();
  if (!st.is_ok()) return ctx_.corrupt(st.message());
  // Hashing after the buffer lock is released; then the ones before `from` go.
  for (size_t i = first; i < out.size(); ++i)
    out[i].key = name_key(hash_(out[i].name), minor_(out[i].name));
  out.erase(std::remove_if(out.begin() + first, out.end(),
                           [from](const Keyed& k) { return k.key < from; }),
            out.end());
  return Status::ok();
}

Status Directory::list(uint64_t cookie, const std::function<bool(const DirListEntry&)>& f) {
  if (cookie == kPosDot && !f(DirListEntry{".", dir_.ino, kFtDir, kPosDot, kPosDotDot}))
    return Status::ok();
  if (cookie <= kPosDotDot) {
    CARDFS_ASSIGN_OR_RETURN(uint32_t up, parent());
    if (!f(DirListEntry{"..", up, kFtDir, kPosDotDot, kPosFirstName})) return Status::ok();
  }
  return list_names(cookie <= kPosFirstName ? 0 : cookie - name_position(0), f);
}

// Names whose key is >= from. An indexed directory is read a run of leaves
// at a time from the one holding `from`'s hash; any other (linear, or its
// index found invalid on the way) is read whole on every call.
Status Directory::list_names(uint64_t from, const std::function<bool(const DirListEntry&)>& f) {
  if (indexed()) {
    DirIndex index(*this);
    Status st = index.for_each_run(uint32_t(from >> 31) << 1,
                                   [&](const std::vector<uint64_t>& leaves) -> Result<bool> {
      std::vector<Keyed> names;
      for (uint64_t fb : leaves) CARDFS_RETURN_IF_ERROR(collect(fb, from, names));
      const bool more = offer(names, f);
      // Runs are disjoint in hash: the next one starts past every key here.
      if (!names.empty()) from = names.back().key + 1;
      return more;
    });
    if (st.is_ok() || !index.invalid()) return st;
    drop_index(st.message());
  }
  std::vector<Keyed> names;
  for (uint64_t fb = 0; fb < block_count(); ++fb) CARDFS_RETURN_IF_ERROR(collect(fb, from, names));
  offer(names, f);
  return Status::ok();
}

}  // namespace cardfs::fusefs
