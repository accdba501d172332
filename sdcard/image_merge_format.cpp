// The merge entry's encodings (image_format.h, MergeEntry): version 6's
// "MRG1", 4 bytes per moved page's data name, and version 7's "MRG2",
// each name in as many bits as the card's names need (19 for a 2 GiB
// card: names are below twice its physical pages) and the bitmap of
// checked pages only when some page is checked. A merge under random
// 4 KiB writes with fsync names about 237 pages, so names were 0.1 of
// the image's bytes per byte written (issue 23); both decode, whatever
// the image's version (an image upgraded from 6 keeps its entries).
// Version 8's "MRG3" is MRG2 that lists only the names that differ from a
// name slot's (the logical page's name as of a checkpoint): after the
// count, the slot's generation (low 32 bits) and its next_seq's distance
// below base_seq (u32), the number of listed pages, their ranks in the
// entry (bits enough for pages_per_au) and their names. A merge of a
// whole AU under random writes over a 1 GiB file lists a few of its 250
// names. The name slots' codec is here too.
#include <algorithm>
#include <bit>

#include "base/coding.h"
#include "base/crc32c.h"
#include "sdcard/image_format.h"
#include "sdcard/page_crc.h"

namespace cardfs::sdcard {
namespace {

constexpr uint32_t kMergeMagic = 0x3147'524D;        // "MRG1"
constexpr uint32_t kPackedMergeMagic = 0x3247'524D;  // "MRG2"
constexpr uint32_t kPredictedMergeMagic = 0x3347'524D;  // "MRG3"
constexpr uint32_t kNameSlotMagic = 0x544D'414E;        // "NAMT"
constexpr uint32_t kNameSlotVersion = 1;
constexpr size_t kMergeHeaderBytes = 32;
constexpr uint32_t kHasChecks = 1u << 31;  // MRG2's count word: the checked bitmap follows
// MRG3's count word: the slots not moved into are listed instead of the
// slots' bitmap (a fold of a log holding a page or two moves all others).
constexpr uint32_t kSlotGaps = 1u << 30;

uint64_t round_up(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }
size_t bitmap_bytes(const Geometry& g) { return (g.pages_per_au + 7) / 8; }

bool bit(const std::byte* bits, uint32_t i) { return (std::to_integer<uint32_t>(bits[i / 8]) >> (i % 8) & 1) != 0; }
void set_bit(std::byte* bits, uint32_t i) { bits[i / 8] |= std::byte(1u << (i % 8)); }

// n values of `width` bits (1..32), least significant bit first, from
// bit 0 of out (ORed in: out starts zeroed). A byte at a time, not a bit:
// an entry packs a few hundred names per merge (issue 23).
uint64_t low_bits(uint32_t width) { return width >= 32 ? 0xFFFF'FFFFu : (uint64_t(1) << width) - 1; }

void pack(std::span<const uint32_t> values, uint32_t width, std::byte* out) {
  const uint64_t mask = low_bits(width);
  uint64_t acc = 0;  // bits not yet stored, `held` of them (< 8 between values)
  uint32_t held = 0;
  for (uint32_t v : values) {
    acc |= (v & mask) << held;
    for (held += width; held >= 8; held -= 8, acc >>= 8) *out++ |= std::byte(acc & 0xFF);
  }
  if (held > 0) *out |= std::byte(acc & 0xFF);
}

void unpack(const std::byte* in, uint32_t width, std::span<uint32_t> values) {
  const uint64_t mask = low_bits(width);
  uint64_t acc = 0;
  uint32_t held = 0;
  for (uint32_t& v : values) {
    for (; held < width; held += 8) acc |= uint64_t(std::to_integer<uint8_t>(*in++)) << held;
    v = uint32_t(acc & mask);
    acc >>= width;
    held -= width;
  }
}

uint64_t packed_bytes(uint64_t count, uint32_t width) { return (count * width + 7) / 8; }
// The bits of a rank within an entry (below pages_per_au).
uint32_t rank_bits(const Geometry& g) { return std::max<uint32_t>(1, std::bit_width(g.pages_per_au - 1)); }

// The bytes of MRG3's list of slots not moved into.
size_t gap_bytes(const MergeEntry& m, const Geometry& g) { return packed_bytes(g.pages_per_au - m.slots.size(), rank_bits(g)); }
bool use_gaps(const MergeEntry& m, const Geometry& g) { return m.predicted && gap_bytes(m, g) < bitmap_bytes(g); }

bool has_checks(const MergeEntry& m) { return std::find(m.verify.begin(), m.verify.end(), true) != m.verify.end(); }

// MRG3's listed pages: their ranks in the entry and their names.
void listed_of(const MergeEntry& m, std::vector<uint32_t>& ranks, std::vector<uint32_t>& names) {
  ranks.clear();
  names.clear();
  for (size_t i = 0; i < m.names.size(); ++i) {
    if (m.names[i] == MergeEntry::kUnlisted) continue;
    ranks.push_back(uint32_t(i));
    names.push_back(m.names[i]);
  }
}

}  // namespace

uint32_t data_name_bits(const Geometry& g) { return std::max<uint32_t>(1, std::bit_width(2 * g.physical_pages() - 1)); }

// MRG1's largest entry; an MRG2 entry is never larger (names of at most
// 32 bits, the same header and bitmaps), so version 7 keeps the table.
size_t merge_entry_bytes(const Geometry& g) {
  return round_up(kMergeHeaderBytes + 2 * bitmap_bytes(g) + 8 * uint64_t(g.pages_per_au) + 4, 64);
}

size_t merge_entry_used_bytes(const MergeEntry& m, const Geometry& g, bool packed) {
  const size_t n = m.slots.size();
  const size_t checks = std::count(m.verify.begin(), m.verify.end(), true);
  const size_t bitmaps = (!packed || checks > 0 ? bitmap_bytes(g) : 0) + (use_gaps(m, g) ? gap_bytes(m, g) : bitmap_bytes(g));
  size_t names = packed ? packed_bytes(n, data_name_bits(g)) : 4 * n;
  if (m.predicted) {
    const size_t listed = n - std::count(m.names.begin(), m.names.end(), MergeEntry::kUnlisted);
    names = 12 + packed_bytes(listed, rank_bits(g)) + packed_bytes(listed, data_name_bits(g));
  }
  return kMergeHeaderBytes + bitmaps + names + 4 * checks + 4;
}

size_t encode_merge_entry(const MergeEntry& m, const Geometry& g, std::byte* out, bool packed) {
  const size_t bitmap = bitmap_bytes(g);
  std::span<std::byte> s(out, merge_entry_bytes(g));
  std::fill(s.begin(), s.end(), std::byte{0});
  packed = packed || m.predicted;
  if (merge_entry_used_bytes(m, g, packed) > s.size()) return 0;  // the caller lists every name instead
  const bool checks = !packed || has_checks(m);
  Encoder e(s);
  e.u32(m.predicted ? kPredictedMergeMagic : packed ? kPackedMergeMagic : kMergeMagic);
  e.u32(m.au);
  e.u32(m.generation);
  e.u32(m.erase_count);
  e.u64(m.base_seq);
  e.u32(m.lau);
  const bool gaps = use_gaps(m, g);
  e.u32(uint32_t(m.slots.size()) | (packed && checks ? kHasChecks : 0) | (gaps ? kSlotGaps : 0));
  std::byte* slots = out + e.pos();
  if (gaps) {
    std::vector<uint32_t> unmoved;
    for (uint32_t s = 0, i = 0; s < g.pages_per_au; ++s)
      if (i < m.slots.size() && m.slots[i] == s) ++i;
      else unmoved.push_back(s);
    pack(unmoved, rank_bits(g), slots);
    e.skip(gap_bytes(m, g));
  } else {
    for (uint32_t s : m.slots) set_bit(slots, s);
    e.skip(bitmap);
  }
  std::byte* verify = out + e.pos();
  for (size_t i = 0; i < m.slots.size(); ++i)
    if (m.verify[i]) set_bit(verify, m.slots[i]);
  if (checks) e.skip(bitmap);
  if (m.predicted) {
    std::vector<uint32_t> ranks, names;
    listed_of(m, ranks, names);
    e.u32(m.slot_generation);
    e.u32(uint32_t(m.base_seq - m.slot_next_seq));
    e.u32(uint32_t(ranks.size()));
    pack(ranks, rank_bits(g), out + e.pos());
    e.skip(packed_bytes(ranks.size(), rank_bits(g)));
    pack(names, data_name_bits(g), out + e.pos());
    e.skip(packed_bytes(names.size(), data_name_bits(g)));
  } else if (packed) {
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

// MRG3's part after the bitmaps into out->names (kUnlisted but the listed),
// slot_generation and slot_next_seq; false if it does not fit or its
// ranks do not rise within the entry.
static bool decode_listed(std::span<const std::byte> in, Decoder& d, const Geometry& g, MergeEntry* out) {
  out->slot_generation = d.u32();
  const uint32_t below = d.u32();
  const uint32_t listed = d.u32();
  if (!d.ok() || listed > out->names.size() || below > out->base_seq) return false;
  out->slot_next_seq = out->base_seq - below;
  std::vector<uint32_t> ranks(listed), names(listed);
  size_t at = d.pos();
  d.skip(packed_bytes(listed, rank_bits(g)));
  const size_t names_at = d.pos();
  d.skip(packed_bytes(listed, data_name_bits(g)));
  if (!d.ok()) return false;
  unpack(in.data() + at, rank_bits(g), ranks);
  unpack(in.data() + names_at, data_name_bits(g), names);
  std::fill(out->names.begin(), out->names.end(), MergeEntry::kUnlisted);
  for (uint32_t i = 0; i < listed; ++i) {
    if (ranks[i] >= out->names.size() || (i > 0 && ranks[i] <= ranks[i - 1])) return false;
    out->names[ranks[i]] = names[i];
  }
  return true;
}

OobState decode_merge_entry(uint32_t au, std::span<const std::byte> in, const Geometry& g, MergeEntry* out) {
  const size_t bitmap = bitmap_bytes(g);
  if (in.size() < merge_entry_bytes(g)) return OobState::kCorrupt;
  Decoder d(in);
  const uint32_t magic = d.u32();
  if (magic == 0) return OobState::kErased;
  const bool predicted = magic == kPredictedMergeMagic;
  const bool packed = magic == kPackedMergeMagic || predicted;
  out->au = d.u32();
  out->generation = d.u32();
  out->erase_count = d.u32();
  out->base_seq = d.u64();
  out->lau = d.u32();
  const uint32_t word = d.u32();
  const bool checks = !packed || (word & kHasChecks) != 0;
  const bool gaps = predicted && (word & kSlotGaps) != 0;
  const uint32_t count = packed ? word & ~(kHasChecks | (predicted ? kSlotGaps : 0)) : word;
  if ((magic != kMergeMagic && !packed) || out->au != au || count > g.pages_per_au || out->lau >= g.user_aus ||
      out->base_seq == 0 || out->base_seq >= (uint64_t(1) << kSeqBits) - g.pages_per_au)
    return OobState::kCorrupt;
  // The slots' part and the checked bitmap fit: in holds
  // merge_entry_bytes(g), which is more than two bitmaps.
  out->slots.clear();
  out->verify.clear();
  if (gaps) {
    std::vector<uint32_t> unmoved(g.pages_per_au - count);
    unpack(in.data() + d.pos(), rank_bits(g), unmoved);
    d.skip(packed_bytes(unmoved.size(), rank_bits(g)));
    for (size_t i = 0; i < unmoved.size(); ++i)
      if (unmoved[i] >= g.pages_per_au || (i > 0 && unmoved[i] <= unmoved[i - 1])) return OobState::kCorrupt;
    for (uint32_t s = 0, i = 0; s < g.pages_per_au; ++s)
      if (i < unmoved.size() && unmoved[i] == s) ++i;
      else out->slots.push_back(s);
  } else {
    for (uint32_t s = 0; s < g.pages_per_au; ++s)
      if (bit(in.data() + d.pos(), s)) out->slots.push_back(s);
    d.skip(bitmap);
  }
  const std::byte* verify = checks ? in.data() + d.pos() : nullptr;
  if (checks) d.skip(bitmap);
  for (uint32_t s : out->slots) out->verify.push_back(verify != nullptr && bit(verify, s));
  if (out->slots.size() != count) return OobState::kCorrupt;
  out->names.resize(count);
  out->predicted = predicted;
  if (predicted) {
    if (!decode_listed(in, d, g, out)) return OobState::kCorrupt;
  } else if (packed) {
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
    if (name >= 2 * g.physical_pages() && !(predicted && name == MergeEntry::kUnlisted)) return OobState::kCorrupt;
  return OobState::kValid;
}

namespace {

// A name slot's names: name + 1 (0: none) in name_slot_bits(g) bits each,
// least significant bit first, read and written 8 bytes at a time (the
// slot has 8 bytes to spare after them).
uint32_t name_slot_bits(const Geometry& g) { return std::bit_width(2 * g.physical_pages()); }
uint64_t name_payload_bytes(const Geometry& g) { return packed_bytes(g.user_pages(), name_slot_bits(g)); }

}  // namespace

uint64_t name_slot_bytes(const Geometry& g) { return round_up(name_region_bytes(g) + 8, 4096); }
uint64_t name_region_bytes(const Geometry& g) { return kNameSlotHeaderBytes + name_payload_bytes(g); }

void put_slot_name(std::span<std::byte> slot, const Geometry& g, uint64_t lp, uint32_t name) {
  const uint32_t width = name_slot_bits(g);
  const uint64_t at = lp * width;
  std::byte* p = slot.data() + kNameSlotHeaderBytes + at / 8;
  const uint64_t mask = ((uint64_t(1) << width) - 1) << (at % 8);
  const uint64_t v = uint64_t(name == NameSlot::kNone ? 0 : name + 1) << (at % 8);
  put_u64(p, (get_u64(p) & ~mask) | v);
}

uint32_t slot_name(std::span<const std::byte> slot, const Geometry& g, uint64_t lp) {
  const uint32_t width = name_slot_bits(g);
  const uint64_t at = lp * width;
  const uint64_t v = get_u64(slot.data() + kNameSlotHeaderBytes + at / 8) >> (at % 8);
  return uint32_t(v & ((uint64_t(1) << width) - 1)) - 1;  // 0 (none) wraps to kNone
}

void seal_name_slot(std::span<std::byte> slot, const Geometry& g, uint64_t generation, uint64_t next_seq) {
  encode_name_slot_header(slot.first<kNameSlotHeaderBytes>(), g, generation, next_seq,
                          page_crc(slot.subspan(kNameSlotHeaderBytes, name_payload_bytes(g))));
}

void encode_name_slot_header(std::span<std::byte, kNameSlotHeaderBytes> out, const Geometry& g, uint64_t generation,
                             uint64_t next_seq, uint32_t payload_crc) {
  Encoder h{std::span<std::byte>(out)};
  h.u32(kNameSlotMagic);
  h.u32(kNameSlotVersion);
  h.u64(generation);
  h.u64(next_seq);
  h.u64(g.user_pages());
  h.u32(payload_crc);
  h.u32(crc32c(std::span<const std::byte>(out).first(h.pos())));
}

void encode_name_slot(const NameSlot& s, const Geometry& g, std::vector<std::byte>& out) {
  out.assign(name_slot_bytes(g), std::byte{0});
  for (uint64_t lp = 0; lp < s.names.size(); ++lp) put_slot_name(out, g, lp, s.names[lp]);
  seal_name_slot(out, g, s.generation, s.next_seq);
}

Result<NameSlot> decode_name_slot(std::span<const std::byte> in, const Geometry& g) {
  if (in.size() < name_slot_bytes(g)) return Status::error(EINVAL, "truncated name slot");
  Decoder h(in.first(kNameSlotHeaderBytes));
  const uint32_t magic = h.u32();
  if (magic == 0) return Status::error(ENOENT, "no name slot");
  const uint32_t version = h.u32();
  NameSlot s;
  s.generation = h.u64();
  s.next_seq = h.u64();
  const uint64_t pages = h.u64();
  const uint32_t payload_crc = h.u32();
  const size_t covered = h.pos();
  if (magic != kNameSlotMagic || h.u32() != crc32c(in.first(covered)))
    return Status::error(EINVAL, "name slot header damaged");
  if (version != kNameSlotVersion || pages != g.user_pages())
    return Status::error(EINVAL, "name slot does not match the geometry");
  if (page_crc(in.subspan(kNameSlotHeaderBytes, name_payload_bytes(g))) != payload_crc)
    return Status::error(EINVAL, "name slot checksum mismatch");
  s.names.resize(pages);
  for (uint64_t lp = 0; lp < pages; ++lp) {
    s.names[lp] = slot_name(in, g, lp);
    if (s.names[lp] != NameSlot::kNone && s.names[lp] >= 2 * g.physical_pages())
      return Status::error(EINVAL, "name slot names data beyond the card");
  }
  return s;
}

}  // namespace cardfs::sdcard
