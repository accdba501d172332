// The merge entry's encodings (image_format.h, MergeEntry): version 6's
// "MRG1", 4 bytes per moved page's data name, and version 7's "MRG2",
// each name in as many bits as the card's names need (19 for a 2 GiB
// card: names are below twice its physical pages) and the bitmap of
// checked pages only when some page is checked. A merge under random
// 4 KiB writes with fsync names about 237 pages, so names were 0.1 of
// the image's bytes per byte written (issue 23); both decode, whatever
// the image's version (an image upgraded from 6 keeps its entries).
#include <algorithm>
#include <bit>

#include "base/coding.h"
#include "base/crc32c.h"
#include "sdcard/image_format.h"

namespace cardfs::sdcard {
namespace {

constexpr uint32_t kMergeMagic = 0x3147'524D;        // "MRG1"
constexpr uint32_t kPackedMergeMagic = 0x3247'524D;  // "MRG2"
constexpr size_t kMergeHeaderBytes = 32;
constexpr uint32_t kHasChecks = 1u << 31;  // MRG2's count word: the checked bitmap follows

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }
size_t bitmap_bytes(const Geometry& g) { return (g.pages_per_au + 7) / 8; }

bool bit(const std::byte* bits, uint32_t i) { return (std::to_integer<uint32_t>(bits[i / 8]) >> (i % 8) & 1) != 0; }
void set_bit(std::byte* bits, uint32_t i) { bits[i / 8] |= std::byte(1u << (i % 8)); }

// n values of `width` bits, least significant bit first, from bit 0 of out.
void pack(std::span<const uint32_t> values, uint32_t width, std::byte* out) {
  uint64_t at = 0;
  for (uint32_t v : values)
    for (uint32_t b = 0; b < width; ++b, ++at)
      if (v >> b & 1) set_bit(out, uint32_t(at));
}

void unpack(const std::byte* in, uint32_t width, std::span<uint32_t> values) {
  uint64_t at = 0;
  for (uint32_t& v : values) {
    v = 0;
    for (uint32_t b = 0; b < width; ++b, ++at)
      if (bit(in, uint32_t(at))) v |= 1u << b;
  }
}

uint64_t packed_bytes(uint64_t count, uint32_t width) { return (count * width + 7) / 8; }

}  // namespace

uint32_t data_name_bits(const Geometry& g) { return std::max<uint32_t>(1, std::bit_width(2 * g.physical_pages() - 1)); }

// MRG1's largest entry; an MRG2 entry is never larger (names of at most
// 32 bits, the same header and bitmaps), so version 7 keeps the table.
size_t merge_entry_bytes(const Geometry& g) {
  return round_up(kMergeHeaderBytes + 2 * bitmap_bytes(g) + 8 * uint64_t(g.pages_per_au) + 4, 64);
}

size_t encode_merge_entry(const MergeEntry& m, const Geometry& g, std::byte* out, bool packed) {
  const size_t bitmap = bitmap_bytes(g);
  std::span<std::byte> s(out, merge_entry_bytes(g));
  std::fill(s.begin(), s.end(), std::byte{0});
  const bool checks = !packed || std::find(m.verify.begin(), m.verify.end(), true) != m.verify.end();
  Encoder e(s);
  e.u32(packed ? kPackedMergeMagic : kMergeMagic);
  e.u32(m.au);
  e.u32(m.generation);
  e.u32(m.erase_count);
  e.u64(m.base_seq);
  e.u32(m.lau);
  e.u32(uint32_t(m.slots.size()) | (packed && checks ? kHasChecks : 0));
  std::byte* slots = out + e.pos();
  std::byte* verify = slots + bitmap;
  for (size_t i = 0; i < m.slots.size(); ++i) {
    set_bit(slots, m.slots[i]);
    if (m.verify[i]) set_bit(verify, m.slots[i]);
  }
  e.skip(checks ? 2 * bitmap : bitmap);
  if (packed) {
    const uint32_t width = data_name_bits(g);
    pack(m.names, width, out + e.pos());
    e.skip(packed_bytes(m.names.size(), width));
  } else {
    for (uint32_t name : m.names) e.u32(name);
  }
  for (size_t i = 0; i < m.slots.size(); ++i)
    if (m.verify[i]) e.u32(m.crcs[i]);
  e.u32(crc32c(s.first(e.pos())));
  return e.pos();
}

OobState decode_merge_entry(uint32_t au, std::span<const std::byte> in, const Geometry& g, MergeEntry* out) {
  const size_t bitmap = bitmap_bytes(g);
  if (in.size() < merge_entry_bytes(g)) return OobState::kCorrupt;
  Decoder d(in);
  const uint32_t magic = d.u32();
  if (magic == 0) return OobState::kErased;
  const bool packed = magic == kPackedMergeMagic;
  out->au = d.u32();
  out->generation = d.u32();
  out->erase_count = d.u32();
  out->base_seq = d.u64();
  out->lau = d.u32();
  const uint32_t word = d.u32();
  const bool checks = !packed || (word & kHasChecks) != 0;
  const uint32_t count = packed ? word & ~kHasChecks : word;
  if ((magic != kMergeMagic && !packed) || out->au != au || count > g.pages_per_au || out->lau >= g.user_aus ||
      out->base_seq == 0 || out->base_seq >= (uint64_t(1) << kSeqBits) - g.pages_per_au)
    return OobState::kCorrupt;
  // Both bitmaps fit: in holds merge_entry_bytes(g), which is more.
  const std::byte* slots = in.data() + d.pos();
  const std::byte* verify = checks ? slots + bitmap : nullptr;
  d.skip(checks ? 2 * bitmap : bitmap);
  out->slots.clear();
  out->verify.clear();
  for (uint32_t s = 0; s < g.pages_per_au; ++s) {
    if (!bit(slots, s)) continue;
    out->slots.push_back(s);
    out->verify.push_back(verify != nullptr && bit(verify, s));
  }
  if (out->slots.size() != count) return OobState::kCorrupt;
  out->names.resize(count);
  if (packed) {
    const uint32_t width = data_name_bits(g);
    const size_t at = d.pos();
    d.skip(packed_bytes(count, width));
    if (!d.ok()) return OobState::kCorrupt;
    unpack(in.data() + at, width, out->names);
  } else {
    for (uint32_t& name : out->names) name = d.u32();
  }
  out->crcs.assign(count, 0);
  for (size_t i = 0; i < count; ++i)
    if (out->verify[i]) out->crcs[i] = d.u32();
  const size_t covered = d.pos();
  if (!d.ok() || d.u32() != crc32c(in.first(covered))) return OobState::kCorrupt;
  for (uint32_t name : out->names)
    if (name >= 2 * g.physical_pages()) return OobState::kCorrupt;
  return OobState::kValid;
}

}  // namespace cardfs::sdcard
