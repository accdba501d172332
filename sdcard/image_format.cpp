#include "sdcard/image_format.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "base/coding.h"
#include "base/crc32c.h"
#include "sdcard/page_crc.h"

namespace cardfs::sdcard {
namespace {

constexpr char kMagic[8] = {'C', 'A', 'R', 'D', 'F', 'S', 'S', 'D'};
constexpr uint32_t kOobMagic = 0x3142'4F4F;   // "OOB1"
constexpr uint32_t kOobUncorrectable = 1;  // flags word, OobRecord::uncorrectable
constexpr uint32_t kOobHasSlot = 2;        // flags word: bits 2-31 are OobRecord::slot
constexpr uint32_t kOobHasUnits = 4;      // flags word: OobRecord::has_units, bits 3-31 the unit list
constexpr uint32_t kOobListShift = 3;
constexpr uint32_t kOobSlotShift = 2;
constexpr uint32_t kLifeMagic = 0x4546'494C;  // "LIFE"
constexpr size_t kLifeBytes = 4 + 6 * 8 + 4;
constexpr uint32_t kCkptMagic = 0x5450'4B43;  // "CKPT"
constexpr uint32_t kCleanMagic = 0x5041'4D43;  // "CMAP"
constexpr uint32_t kCleanMapVersion = 1;
constexpr size_t kCkptHeaderBytes = kCheckpointHeaderBytes;
constexpr size_t kAuRecordBytes = 12;
constexpr size_t kHeaderFieldBytes = 8 + 4 * 7 + kProfileNameBytes + 4 + 4;

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

}  // namespace

ImageLayout layout_for(const Geometry& g, uint32_t version) {
  ImageLayout l;
  l.checkpoint_slot_bytes = round_up(checkpoint_bytes(g), 4096);
  l.checkpoint_offset[0] = kHeaderBytes;
  l.checkpoint_offset[1] = kHeaderBytes + l.checkpoint_slot_bytes;
  l.oob_offset = kHeaderBytes + 2 * l.checkpoint_slot_bytes;
  // The flash area starts on a page boundary so page I/O stays aligned.
  l.flash_offset = round_up(l.oob_offset + g.physical_pages() * kOobBytes, g.page_bytes);
  l.file_bytes = l.flash_offset + g.physical_pages() * g.page_bytes;
  if (version >= 4) {
    l.erase_table_offset = l.file_bytes;
    l.unit_table_offset = l.erase_table_offset + round_up(uint64_t(g.physical_aus()) * kEraseEntryBytes, 4096);
    l.file_bytes = l.unit_table_offset + round_up(g.physical_pages() * units_per_page(g) * 4, 4096);
  }
  if (version >= 5) {
    l.clean_map_offset = l.file_bytes;
    l.file_bytes += round_up(clean_map_bytes(g), 4096);
  }
  if (version >= 6) {
    l.data_crc_offset = l.file_bytes;
    l.merge_table_offset = l.data_crc_offset + round_up(2 * g.physical_pages() * kDataCrcBytes, 4096);
    l.file_bytes = l.merge_table_offset + round_up(uint64_t(g.physical_aus()) * merge_entry_bytes(g), 4096);
  }
  if (version >= 8) {
    l.name_table_offset = l.file_bytes;
    l.file_bytes += 2 * name_slot_bytes(g);
  }
  if (version >= 2) {
    l.backup_header_offset = l.file_bytes;
    l.file_bytes += kHeaderBytes;
  }
  return l;
}

uint32_t units_per_page(const Geometry& g) { return std::max<uint32_t>(1, g.page_bytes / kUnitBytes); }

void encode_header(const ImageHeader& h, std::span<std::byte, kHeaderBytes> out) {
  std::fill(out.begin(), out.end(), std::byte{0});
  Encoder e(out);
  for (char c : kMagic) e.u8(uint8_t(c));
  e.u32(h.version);
  e.u32(h.geometry.page_bytes);
  e.u32(h.geometry.pages_per_au);
  e.u32(h.geometry.erase_block_bytes);
  e.u32(h.geometry.user_aus);
  e.u32(h.geometry.spare_aus);
  e.u32(h.clean ? 1 : 0);
  for (size_t i = 0; i < kProfileNameBytes; ++i)
    e.u8(i < h.profile.size() && i + 1 < kProfileNameBytes ? uint8_t(h.profile[i]) : 0);
  e.u32(h.serial);
  e.u32(crc32c(out.first(e.pos())));
  std::span<std::byte> life = out.subspan(kLifetimeOffset, kLifeBytes);
  Encoder l(life);
  l.u32(kLifeMagic);
  for (uint64_t v : {h.lifetime.host_bytes_written, h.lifetime.host_bytes_read, h.lifetime.flash_bytes_programmed,
                     h.lifetime.erases, h.lifetime.power_cycles, h.lifetime.unclean_shutdowns})
    l.u64(v);
  l.u32(crc32c(life.first(l.pos())));
}

namespace {

// The lifetime section of a header block: all zero (an image made before
// it) reads as zeros; a damaged one as zeros with `lost` set.
Lifetime decode_lifetime(std::span<const std::byte> in, bool* lost) {
  *lost = false;
  if (in.size() < kLifetimeOffset + kLifeBytes) return {};
  std::span<const std::byte> life = in.subspan(kLifetimeOffset, kLifeBytes);
  if (std::all_of(life.begin(), life.end(), [](std::byte b) { return b == std::byte{0}; })) return {};
  Decoder d(life);
  Lifetime t;
  const uint32_t magic = d.u32();
  for (uint64_t* v : {&t.host_bytes_written, &t.host_bytes_read, &t.flash_bytes_programmed, &t.erases,
                      &t.power_cycles, &t.unclean_shutdowns})
    *v = d.u64();
  const size_t covered = d.pos();
  if (magic != kLifeMagic || d.u32() != crc32c(life.first(covered)) || !d.ok()) {
    *lost = true;
    return {};
  }
  return t;
}

}  // namespace

Result<ImageHeader> decode_header(std::span<const std::byte> in) {
  if (in.size() < kHeaderFieldBytes) return Status::error(EINVAL, "truncated header");
  if (std::memcmp(in.data(), kMagic, sizeof kMagic) != 0)
    return Status::error(EINVAL, "bad magic: not a cardfs card image");
  Decoder d(in);
  d.skip(sizeof kMagic);
  uint32_t version = d.u32();
  if (version < kImageVersionNoBackup || version > kImageVersion)
    return Status::error(EINVAL, "unsupported image version " + std::to_string(version));
  ImageHeader h;
  h.version = version;
  h.geometry.page_bytes = d.u32();
  h.geometry.pages_per_au = d.u32();
  h.geometry.erase_block_bytes = d.u32();
  h.geometry.user_aus = d.u32();
  h.geometry.spare_aus = d.u32();
  uint32_t clean = d.u32();
  for (size_t i = 0; i < kProfileNameBytes; ++i) {
    char c = char(d.u8());
    if (c != 0) h.profile.push_back(c);
  }
  h.serial = d.u32();
  size_t covered = d.pos();
  uint32_t crc = d.u32();
  if (!d.ok()) return Status::error(EINVAL, "truncated header");
  if (crc != crc32c(in.first(covered))) return Status::error(EINVAL, "header checksum mismatch");
  if (clean > 1) return Status::error(EINVAL, "bad clean flag");
  h.clean = clean == 1;
  CARDFS_RETURN_IF_ERROR(check_geometry(h.geometry));
  h.lifetime = decode_lifetime(in, &h.lifetime_lost);
  return h;
}

void encode_oob(const OobRecord& r, std::byte* out) {
  std::span<std::byte> s(out, kOobBytes);
  Encoder e(s);
  e.u32(kOobMagic);
  e.u32(r.logical_page);
  e.u64(r.seq | uint64_t(r.generation & kGenerationMask) << kSeqBits);
  e.u32(r.erase_count);
  e.u32(r.data_crc);
  e.u32((r.uncorrectable ? kOobUncorrectable : 0) | (r.has_units ? kOobHasUnits | (r.slot << kOobListShift) : 0) |
        (r.has_slot ? kOobHasSlot | (r.slot << kOobSlotShift) : 0));
  e.u32(crc32c(s.first(28)));
}

OobState decode_oob(const std::byte* in, OobRecord* out) {
  std::span<const std::byte> s(in, kOobBytes);
  if (std::all_of(s.begin(), s.end(), [](std::byte b) { return b == std::byte{0}; }))
    return OobState::kErased;
  Decoder d(s);
  if (d.u32() != kOobMagic) return OobState::kCorrupt;
  out->logical_page = d.u32();
  const uint64_t seq = d.u64();
  out->seq = seq & ((uint64_t(1) << kSeqBits) - 1);
  out->generation = uint32_t(seq >> kSeqBits);
  out->erase_count = d.u32();
  out->data_crc = d.u32();
  const uint32_t flags = d.u32();
  out->uncorrectable = (flags & kOobUncorrectable) != 0;
  out->has_slot = (flags & kOobHasSlot) != 0;
  out->has_units = !out->has_slot && (flags & kOobHasUnits) != 0;
  out->slot = out->has_slot ? flags >> kOobSlotShift : out->has_units ? flags >> kOobListShift : 0;
  if (d.u32() != crc32c(s.first(28)) || out->seq == 0) return OobState::kCorrupt;
  return OobState::kValid;
}

namespace {

uint32_t data_crc_check(uint32_t name, std::span<const uint32_t> units, uint32_t data_crc) {
  std::vector<std::byte> bound(8 + units.size() * 4);
  put_u32(bound.data(), name);
  put_u32(bound.data() + 4, data_crc);
  for (size_t k = 0; k < units.size(); ++k) put_u32(bound.data() + 8 + 4 * k, units[k]);
  return crc32c(bound);
}

}  // namespace

void encode_data_crc(uint32_t name, std::span<const uint32_t> units, uint32_t data_crc, std::byte* out) {
  put_u32(out, data_crc);
  put_u32(out + 4, data_crc_check(name, units, data_crc));
}

OobState decode_data_crc(uint32_t name, std::span<const uint32_t> units, const std::byte* in, uint32_t* data_crc) {
  *data_crc = get_u32(in);
  if (*data_crc == 0 && get_u32(in + 4) == 0) return OobState::kErased;
  return get_u32(in + 4) == data_crc_check(name, units, *data_crc) ? OobState::kValid : OobState::kCorrupt;
}

void encode_erase_entry(uint32_t au, uint32_t generation, std::byte* out) {
  if (generation == 0) {  // as a table never written reads
    std::fill(out, out + kEraseEntryBytes, std::byte{0});
    return;
  }
  put_u32(out, generation);
  std::byte bound[8];
  put_u32(bound, au);
  put_u32(bound + 4, generation);
  put_u32(out + 4, crc32c(bound));
}

OobState decode_erase_entry(uint32_t au, const std::byte* in, uint32_t* generation) {
  *generation = get_u32(in);
  if (*generation == 0 && get_u32(in + 4) == 0) return OobState::kErased;
  std::byte bound[8];
  put_u32(bound, au);
  put_u32(bound + 4, *generation);
  return get_u32(in + 4) == crc32c(bound) ? OobState::kValid : OobState::kCorrupt;
}

std::vector<std::byte> encode_au_records(std::span<const AuRecord> aus) {
  std::vector<std::byte> out(aus.size() * kAuRecordBytes);
  Encoder p(out);
  for (const AuRecord& a : aus) {
    p.u32(a.erase_count);
    p.u8(uint8_t(a.role));
    p.u8(a.in_place ? 1 : 0);
    p.u16(0);
    p.u32(a.owner);
  }
  return out;
}

void encode_checkpoint_header(const CheckpointView& c, uint64_t pages, uint32_t payload_crc,
                              std::span<std::byte, kCheckpointHeaderBytes> out) {
  std::fill(out.begin(), out.end(), std::byte{0});
  Encoder h{std::span<std::byte>(out)};
  h.u32(kCkptMagic);
  h.u32(kCheckpointVersion);
  h.u64(c.generation);
  h.u64(c.seq);
  h.u64(c.next_seq);
  h.u64(pages);
  h.u32(uint32_t(c.aus.size()));
  h.u32(payload_crc);
  h.u32(crc32c(std::span<const std::byte>(out).first(h.pos())));
}

uint64_t checkpoint_bytes(const Geometry& g) {
  return kCkptHeaderBytes + g.user_pages() * 8 + uint64_t(g.physical_aus()) * kAuRecordBytes;
}

Result<Checkpoint> decode_checkpoint_header(std::span<const std::byte> in, const Geometry& g) {
  if (in.size() < kCkptHeaderBytes) return Status::error(EINVAL, "truncated checkpoint");
  Decoder h(in.first(kCkptHeaderBytes));
  uint32_t magic = h.u32();
  if (magic == 0) return Status::error(ENOENT, "no checkpoint");
  if (magic != kCkptMagic) return Status::error(EINVAL, "bad checkpoint magic");
  uint32_t version = h.u32();
  Checkpoint c;
  c.generation = h.u64();
  c.seq = h.u64();
  c.next_seq = h.u64();
  uint64_t pages = h.u64();
  uint32_t aus = h.u32();
  c.payload_crc = h.u32();  // checked by the reader of the payload
  size_t covered = h.pos();
  uint32_t head_crc = h.u32();
  if (head_crc != crc32c(in.first(covered))) return Status::error(EINVAL, "checkpoint header checksum mismatch");
  if (version != kCheckpointVersion || pages != g.user_pages() || aus != g.physical_aus() ||
      c.next_seq <= c.seq)
    return Status::error(EINVAL, "checkpoint does not match the geometry");
  return c;
}

Status decode_au_records(std::span<const std::byte> in, const Geometry& g, std::vector<AuRecord>& out) {
  Decoder p(in);
  out.resize(g.physical_aus());
  for (AuRecord& a : out) {
    a.erase_count = p.u32();
    uint8_t role = p.u8();
    a.in_place = p.u8() != 0;
    p.skip(2);
    a.owner = p.u32();
    if (role > uint8_t(AuRole::kErasing) || (a.role = AuRole(role), a.owner >= g.user_aus))
      return Status::error(EINVAL, "bad AU record in checkpoint");
  }
  if (!p.ok()) return Status::error(EINVAL, "truncated checkpoint");
  return Status::ok();
}

uint64_t clean_map_bytes(const Geometry& g) { return kCkptHeaderBytes + g.physical_pages() * 8; }

void encode_clean_map_header(uint64_t generation, uint64_t pages, uint32_t payload_crc,
                             std::span<std::byte, kCheckpointHeaderBytes> out) {
  std::fill(out.begin(), out.end(), std::byte{0});
  Encoder h{std::span<std::byte>(out)};
  h.u32(kCleanMagic);
  h.u32(kCleanMapVersion);
  h.u64(generation);
  h.u64(pages);
  h.u32(payload_crc);
  h.u32(crc32c(std::span<const std::byte>(out).first(h.pos())));
}

Result<CleanMap> decode_clean_map_header(std::span<const std::byte> in, const Geometry& g) {
  if (in.size() < kCkptHeaderBytes) return Status::error(EINVAL, "truncated clean map");
  Decoder h(in.first(kCkptHeaderBytes));
  const uint32_t magic = h.u32();
  if (magic == 0) return Status::error(ENOENT, "no clean map");
  const uint32_t version = h.u32();
  CleanMap m;
  m.generation = h.u64();
  const uint64_t pages = h.u64();
  m.payload_crc = h.u32();  // checked by the reader of the payload
  const size_t covered = h.pos();
  if (magic != kCleanMagic || h.u32() != crc32c(in.first(covered)))
    return Status::error(EINVAL, "clean map header damaged");
  if (version != kCleanMapVersion || pages != g.physical_pages())
    return Status::error(EINVAL, "clean map does not match the geometry");
  return m;
}

}  // namespace cardfs::sdcard
