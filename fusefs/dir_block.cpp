#include "fusefs/dir_block.h"

#include <cstring>
#include <optional>

#include "base/coding.h"
#include "base/crc32c.h"

namespace cardfs::fusefs::dir_block {
namespace {

constexpr uint8_t kTailType = 0xDE;

uint32_t block_crc(std::span<const std::byte> b, uint32_t dir_ino, uint32_t seed) {
  std::byte n[4];
  put_u32(n, dir_ino);
  return crc32c(crc32c(seed, n), b.first(usable(b)));
}

void put_record(std::span<std::byte> b, uint32_t off, uint32_t ino, uint16_t rec_len,
                std::string_view name, uint8_t type) {
  std::byte* p = b.data() + off;
  put_u32(p, ino);
  put_u16(p + 4, rec_len);
  put_u8(p + 6, uint8_t(name.size()));
  put_u8(p + 7, type);
  if (!name.empty()) std::memcpy(p + 8, name.data(), name.size());
}

// Slack of a record: bytes it holds beyond what its entry needs.
uint32_t record_need(const DirRecord& r) { return r.inode ? dir_rec_len(r.name.size()) : 0; }

// A change of the record area's bytes [lo, hi) that keeps a sealed block's
// tail checksum current: made before the bytes change, applied after.
class TailPatch {
 public:
  TailPatch(std::span<std::byte> b, uint32_t lo, uint32_t hi, bool on)
      : b_(b), lo_(lo), hi_(hi), on_(on), before_(on ? crc32c_linear(range()) : 0) {}
  void apply() {
    if (!on_) return;
    std::byte* sum = b_.data() + usable(b_) + 8;
    const uint32_t d = before_ ^ crc32c_linear(range());
    put_u32(sum, get_u32(sum) ^ crc32c_shift(d, usable(b_) - hi_));
  }

 private:
  std::span<const std::byte> range() const { return b_.subspan(lo_, hi_ - lo_); }
  std::span<std::byte> b_;
  uint32_t lo_, hi_;
  bool on_;
  uint32_t before_;
};

}  // namespace

void init_empty(std::span<std::byte> b) {
  std::memset(b.data(), 0, b.size());
  put_record(b, 0, 0, uint16_t(usable(b)), {}, 0);
}

void seal(std::span<std::byte> b, uint32_t dir_ino, uint32_t seed) {
  std::byte* t = b.data() + usable(b);
  put_u32(t, 0);
  put_u16(t + 4, 12);
  put_u8(t + 6, 0);
  put_u8(t + 7, kTailType);
  put_u32(t + 8, block_crc(b, dir_ino, seed));
}

Status verify(std::span<const std::byte> b, uint32_t dir_ino, uint32_t seed,
              const std::string& what) {
  const std::byte* t = b.data() + usable(b);
  Status st;
  if (get_u32(t) != 0 || get_u16(t + 4) != 12 || get_u8(t + 7) != kTailType)
    st = Status::error(EIO, "missing directory block tail");
  else if (get_u32(t + 8) != block_crc(b, dir_ino, seed))
    st = Status::error(EIO, "directory block checksum mismatch");
  return what.empty() ? st : st.with_context(what);
}

Status bad_record(uint32_t offset) {
  return Status::error(EIO, "bad directory record at offset " + std::to_string(offset));
}

Result<std::vector<DirRecord>> entries(std::span<const std::byte> b) {
  std::vector<DirRecord> out;
  CARDFS_RETURN_IF_ERROR(walk(b, [&](const DirRecord& r) {
    if (r.inode) out.push_back(r);
    return true;
  }));
  return out;
}

Result<std::optional<DirRecord>> find(std::span<const std::byte> b, std::string_view name) {
  std::optional<DirRecord> hit;
  CARDFS_RETURN_IF_ERROR(walk(b, [&](const DirRecord& r) {
    if (r.inode && r.name == name) hit = r;
    return !hit;
  }));
  return hit;
}

Result<Found> find_with_room(std::span<const std::byte> b, std::string_view name, uint32_t need) {
  Found f;
  uint32_t last = kNoRecord;
  CARDFS_RETURN_IF_ERROR(walk(b, [&](const DirRecord& r) {
    // The last byte first: names of one length often share a prefix (f1, f2 ...).
    if (r.inode && r.name.size() == name.size() && r.name.back() == name.back() &&
        r.name == name) {
      f.hit = r;
      f.prev = last;
      return false;
    }
    if (need && f.room == kNoRecord && r.rec_len - record_need(r) >= need) f.room = r.offset;
    last = r.offset;
    return true;
  }));
  return f;
}

namespace {

// The record at `off`, read as walk reads it; nothing when it fails walk's checks.
std::optional<DirRecord> record_at(std::span<const std::byte> b, uint32_t off) {
  const uint32_t end = usable(b);
  if (off >= end || end - off < 8 || off % 4) return std::nullopt;
  const std::byte* p = b.data() + off;
  DirRecord r;
  r.offset = off;
  r.inode = get_u32(p);
  r.rec_len = get_u16(p + 4);
  const uint8_t name_len = get_u8(p + 6);
  r.type = get_u8(p + 7);
  if (r.rec_len < 8 || r.rec_len % 4 != 0 || r.rec_len > end - off ||
      (r.inode != 0 && (name_len == 0 || dir_rec_len(name_len) > r.rec_len)))
    return std::nullopt;
  r.name = std::string_view(reinterpret_cast<const char*>(p + 8), r.inode ? name_len : 0);
  return r;
}

void put_into(std::span<std::byte> b, const DirRecord& slot, std::string_view name, uint32_t ino,
              uint8_t type, bool sealed) {
  const uint32_t len = 8 + uint32_t(name.size());
  if (slot.inode == 0) {
    TailPatch patch(b, slot.offset, slot.offset + len, sealed);
    put_record(b, slot.offset, ino, slot.rec_len, name, type);
    patch.apply();
  } else {
    uint32_t keep = record_need(slot);
    // From the slot's rec_len to the end of the new record.
    TailPatch patch(b, slot.offset + 4, slot.offset + keep + len, sealed);
    put_u16(b.data() + slot.offset + 4, uint16_t(keep));
    put_record(b, slot.offset + keep, ino, uint16_t(slot.rec_len - keep), name, type);
    patch.apply();
  }
}

}  // namespace

Result<bool> add(std::span<std::byte> b, std::string_view name, uint32_t ino, uint8_t type,
                 bool sealed) {
  const uint32_t need = dir_rec_len(name.size());
  std::optional<DirRecord> slot;
  CARDFS_RETURN_IF_ERROR(walk(b, [&](const DirRecord& r) {
    if (r.rec_len - record_need(r) >= need) slot = r;
    return !slot;
  }));
  if (!slot) return false;
  put_into(b, *slot, name, ino, type, sealed);
  return true;
}

Result<bool> add_at(std::span<std::byte> b, uint32_t room, std::string_view name, uint32_t ino,
                    uint8_t type, bool sealed) {
  auto slot = record_at(b, room);
  if (!slot || slot->rec_len - record_need(*slot) < dir_rec_len(name.size())) return false;
  put_into(b, *slot, name, ino, type, sealed);
  return true;
}

namespace {

void set_rec_len(std::span<std::byte> b, uint32_t offset, uint16_t rec_len, bool sealed) {
  TailPatch patch(b, offset + 4, offset + 6, sealed);
  put_u16(b.data() + offset + 4, rec_len);
  patch.apply();
}

}  // namespace

Status remove_at(std::span<std::byte> b, uint32_t offset, uint32_t prev_hint, bool sealed) {
  if (prev_hint != kNoRecord) {
    auto p = record_at(b, prev_hint), t = record_at(b, offset);
    if (p && t && prev_hint + p->rec_len == offset) {
      set_rec_len(b, prev_hint, uint16_t(p->rec_len + t->rec_len), sealed);
      return Status::ok();
    }
  }
  std::optional<DirRecord> prev, target;
  CARDFS_RETURN_IF_ERROR(walk(b, [&](const DirRecord& r) {
    if (r.offset == offset) {
      target = r;
      return false;
    }
    prev = r;
    return true;
  }));
  if (!target) return Status::error(EIO, "directory record to remove not found");
  if (prev) {
    set_rec_len(b, prev->offset, uint16_t(prev->rec_len + target->rec_len), sealed);
  } else {
    TailPatch patch(b, offset, offset + 4, sealed);
    put_u32(b.data() + offset, 0);  // the first record just becomes unused
    patch.apply();
  }
  return Status::ok();
}

void set_inode(std::span<std::byte> b, uint32_t offset, uint32_t ino, uint8_t type, bool sealed) {
  TailPatch patch(b, offset, offset + 8, sealed);
  put_u32(b.data() + offset, ino);
  put_u8(b.data() + offset + 7, type);
  patch.apply();
}

bool write_packed(std::span<std::byte> b, const std::vector<DirRecord>& recs) {
  const uint32_t end = usable(b);
  uint32_t total = 0;
  for (const auto& r : recs) total += dir_rec_len(r.name.size());
  if (total > end) return false;
  // Copy names first: they may point into b itself.
  std::vector<std::string> names;
  names.reserve(recs.size());
  for (const auto& r : recs) names.emplace_back(r.name);
  init_empty(b);
  uint32_t off = 0;
  for (size_t i = 0; i < recs.size(); ++i) {
    uint32_t len = i + 1 == recs.size() ? end - off : dir_rec_len(names[i].size());
    put_record(b, off, recs[i].inode, uint16_t(len), names[i], recs[i].type);
    off += len;
  }
  return true;
}

}  // namespace cardfs::fusefs::dir_block
