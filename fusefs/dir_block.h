// One directory block: ext2 entries followed by a checksummed tail.
//
// Pure functions over a block's bytes (the caller holds the buffer lock and
// the directory's inode lock). Records are validated as they are walked: a
// record that runs past the block or is too short for its name is EIO.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/coding.h"
#include "base/status.h"

namespace cardfs::fusefs {

struct DirRecord {
  uint32_t offset = 0;  // of the record in the block
  uint32_t inode = 0;   // 0: unused space
  uint16_t rec_len = 0;
  uint8_t type = 0;
  std::string_view name;
};

// Bytes an entry with a name of this length needs (header + name, 4-aligned).
inline uint32_t dir_rec_len(size_t name_len) { return uint32_t((8 + name_len + 3) & ~size_t(3)); }

namespace dir_block {

// End of the record area (where the tail starts).
inline uint32_t usable(std::span<const std::byte> b) { return uint32_t(b.size()) - 12; }

// A block with no entries: one unused record spanning it, then the tail.
void init_empty(std::span<std::byte> b);
// Writes the tail with the checksum for directory `dir_ino`.
void seal(std::span<std::byte> b, uint32_t dir_ino, uint32_t seed);
// EIO when the tail or its checksum is wrong. what: names the block in errors
// (empty: no prefix, so hot callers can build the name only on failure).
Status verify(std::span<const std::byte> b, uint32_t dir_ino, uint32_t seed,
              const std::string& what);

// The error of a record that fails walk's checks.
Status bad_record(uint32_t offset);

// Calls f for every record (used and unused) in order; f returns false to
// stop. A template, so that f inlines: a name's lookup walks its leaf
// record by record (up to ~200), twice per create (the kernel's negative
// LOOKUP, the create's own check), and the walk was 12 % of the daemon's
// samples in a create loop, an indirect call per record among it.
template <typename F>
Status walk(std::span<const std::byte> b, F&& f) {
  const uint32_t end = usable(b);
  uint32_t off = 0;
  while (off < end) {
    if (end - off < 8) return Status::error(EIO, "directory record header past the block end");
    const std::byte* p = b.data() + off;
    DirRecord r;
    r.offset = off;
    r.inode = get_u32(p);
    r.rec_len = get_u16(p + 4);
    uint8_t name_len = get_u8(p + 6);
    r.type = get_u8(p + 7);
    if (r.rec_len < 8 || r.rec_len % 4 != 0 || r.rec_len > end - off ||
        (r.inode != 0 && (name_len == 0 || dir_rec_len(name_len) > r.rec_len)))
      return bad_record(off);
    r.name = std::string_view(reinterpret_cast<const char*>(p + 8), r.inode ? name_len : 0);
    if (!f(static_cast<const DirRecord&>(r))) return Status::ok();
    off += r.rec_len;
  }
  return Status::ok();
}
// The used entries (inode != 0).
Result<std::vector<DirRecord>> entries(std::span<const std::byte> b);
// Finds a used entry by name.
Result<std::optional<DirRecord>> find(std::span<const std::byte> b, std::string_view name);

inline constexpr uint32_t kNoRecord = ~0u;
// One walk for what a create or an unlink needs of the block: the entry
// named `name`, the record before it (kNoRecord for the first: what
// remove_at merges it into), and the first record with room for an entry
// of `need` bytes (kNoRecord when none or need is 0: where add would put it).
struct Found {
  std::optional<DirRecord> hit;
  uint32_t prev = kNoRecord;
  uint32_t room = kNoRecord;
};
Result<Found> find_with_room(std::span<const std::byte> b, std::string_view name, uint32_t need);

// The four below change records only. With `sealed` (the block's tail is
// current, as seal() wrote it, which every block a Directory holds is),
// they keep the tail's checksum current themselves: the checksum changes
// by what the bytes they write change (crc32c_patch), so a change of one
// entry does not checksum the whole block again, and the tail comes out
// exactly as seal() would write it. Without it the caller seals after.
//
// Adds an entry if a record has room (reusing an unused record or splitting
// a used one's slack). Returns false when the block is full.
Result<bool> add(std::span<std::byte> b, std::string_view name, uint32_t ino, uint8_t type,
                 bool sealed = false);
// Adds the entry into the record at `room` (from find_with_room, under the
// same directory lock), as add would; false when that record has no room
// for it (then add looks for one).
Result<bool> add_at(std::span<std::byte> b, uint32_t room, std::string_view name, uint32_t ino,
                    uint8_t type, bool sealed = false);
// Removes the entry at `offset` (merging it into the previous record);
// prev: that record's offset if known (find_with_room), checked, else walked for.
Status remove_at(std::span<std::byte> b, uint32_t offset, uint32_t prev = kNoRecord,
                 bool sealed = false);
// Points the entry at `offset` to another inode.
void set_inode(std::span<std::byte> b, uint32_t offset, uint32_t ino, uint8_t type,
               bool sealed = false);

// Writes records packed from the block start; the last one spans to the end.
// Returns false if they do not fit.
bool write_packed(std::span<std::byte> b, const std::vector<DirRecord>& recs);

}  // namespace dir_block
}  // namespace cardfs::fusefs
