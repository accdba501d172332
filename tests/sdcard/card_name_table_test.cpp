// Name slots and predicted merge entries (image version 8): each
// checkpoint leaves every logical page's data name in a name slot, and a
// merge entry ("MRG3") lists only the moved pages whose names the newest
// slot does not give. A slot and an entry round-trip and refuse damage;
// random writes over a region wider than a checkpoint interval's programs
// cost far fewer entry bytes per moved page than listing every name; after
// a power cut the scan takes unlisted names from the slot each entry
// predicted from, or (slot overwritten since) from the checkpoint's slot
// for pages current there, and loses no flushed block; a version 7 image
// opens read-only unchanged and upgrades to 8.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <tuple>

#include "base/coding.h"
#include "base/crc32c.h"
#include "sdcard/card.h"
#include "sdcard/image_format.h"
#include "sdcard/memory_medium.h"
#include "sdcard/page_store.h"
#include "tests/sdcard/card_fixture.h"
#include "tests/sdcard/tagged_workload.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1024 * 1024;

using WideWorkload = testing::TaggedWorkload;

// `gaps`: every slot but two moved (a fold), else about two in three.
MergeEntry sample_entry(const Geometry& g, bool checks, bool gaps) {
  const uint32_t names = uint32_t(2 * g.physical_pages());
  MergeEntry m;
  m.au = 5, m.generation = 9, m.erase_count = 4, m.base_seq = 123456, m.lau = 3;
  m.predicted = true, m.slot_generation = 77, m.slot_next_seq = 120000;
  std::mt19937 rng(11);
  for (uint32_t s = 0; s < g.pages_per_au; s += gaps ? (s == 40 || s == 200 ? 2 : 1) : 1 + rng() % 2) {
    m.slots.push_back(s);
    // Most names unlisted; the largest and smallest listed.
    m.names.push_back(s == 0 ? names - 1 : s == 1 ? 0 : rng() % 8 == 0 ? rng() % names : MergeEntry::kUnlisted);
    m.verify.push_back(checks && rng() % 4 == 0);
    m.crcs.push_back(m.verify.back() ? uint32_t(rng()) : 0);
  }
  return m;
}

// A version 8 image's predicted entries rewritten as version 7 wrote them
// (every name listed, from the slot each predicted from), the file cut to
// version 7's size: what a version 7 cardfs left. Returns the entries rewritten.
uint32_t rewrite_as_version_7(const std::string& path, const Geometry& g) {
  const ImageLayout l = layout_for(g);
  std::vector<NameSlot> slots;
  for (int i = 0; i < 2; ++i) {
    std::vector<char> raw = testing::file_bytes(path, l.name_table_offset + i * name_slot_bytes(g), name_slot_bytes(g));
    auto s = decode_name_slot(std::as_bytes(std::span(raw)), g);
    if (s.is_ok()) slots.push_back(*s);
  }
  return testing::rewrite_merge_entries(path, g, /*packed=*/true, [&](MergeEntry& m) {
    if (!m.predicted) return false;
    auto s = std::find_if(slots.begin(), slots.end(), [&](const NameSlot& s) {
      return uint32_t(s.generation) == m.slot_generation && s.next_seq == m.slot_next_seq;
    });
    REQUIRE(s != slots.end());
    for (size_t i = 0; i < m.names.size(); ++i)
      if (m.names[i] == MergeEntry::kUnlisted) m.names[i] = s->names[m.lau * g.pages_per_au + m.slots[i]];
    m.predicted = false;
    return true;
  });
}

}  // namespace

TEST_CASE("a name slot round-trips, and a damaged one does not decode", "[sdcard][name-table]") {
  VirtualClock clock;
  auto card = Card::create(memory_store(std::make_shared<MemoryMedium>()), testing::profile("class10"), 32 * MiB, clock);
  REQUIRE(card.is_ok());
  const Geometry g = (*card)->geometry();
  NameSlot s;
  s.generation = 41, s.next_seq = 987654;
  std::mt19937 rng(5);
  for (uint64_t lp = 0; lp < g.user_pages(); ++lp)
    s.names.push_back(lp == 0 ? uint32_t(2 * g.physical_pages() - 1) : lp == 1 ? 0 : rng() % 3 == 0 ? NameSlot::kNone : rng() % (2 * g.physical_pages()));
  std::vector<std::byte> buf;
  encode_name_slot(s, g, buf);
  REQUIRE(buf.size() == name_slot_bytes(g));
  auto out = decode_name_slot(buf, g);
  REQUIRE(out.is_ok());
  CHECK(std::tie(out->generation, out->next_seq, out->names) == std::tie(s.generation, s.next_seq, s.names));
  CHECK(decode_name_slot(std::span(buf).first(buf.size() - 1), g).status().code() == EINVAL);
  // The header's fields and CRC (40 bytes; the rest of its 64 is padding),
  // then names.
  for (size_t i = 0; i < kNameSlotHeaderBytes + g.user_pages() * data_name_bits(g) / 8; i = i + 1 == 40 ? kNameSlotHeaderBytes : i + (i < 40 ? 1 : 97)) {
    std::vector<std::byte> bad = buf;
    bad[i] ^= std::byte{0x04};
    INFO("byte " << i);
    CHECK_FALSE(decode_name_slot(bad, g).is_ok());
  }
  CHECK(decode_name_slot(std::vector<std::byte>(buf.size()), g).status().code() == ENOENT);
  // A name beyond the card's, sealed with good CRCs, is refused.
  put_slot_name(buf, g, 7, uint32_t(2 * g.physical_pages()));
  seal_name_slot(buf, g, s.generation, s.next_seq);
  auto beyond = decode_name_slot(buf, g);
  REQUIRE_FALSE(beyond.is_ok());
  CHECK(beyond.status().message().find("beyond") != std::string::npos);
}

TEST_CASE("a predicted merge entry round-trips, and a damaged one does not decode", "[sdcard][name-table]") {
  const bool checks = GENERATE(false, true);
  const bool gaps = GENERATE(false, true);
  INFO((checks ? "with checked pages" : "") << (gaps ? ", slots as gaps" : ""));
  VirtualClock clock;
  auto card = Card::create(memory_store(std::make_shared<MemoryMedium>()), testing::profile("class10"), 32 * MiB, clock);
  REQUIRE(card.is_ok());
  const Geometry g = (*card)->geometry();
  const MergeEntry m = sample_entry(g, checks, gaps);
  std::vector<std::byte> buf(merge_entry_bytes(g));
  const size_t used = encode_merge_entry(m, g, buf.data(), true);
  CHECK(used == merge_entry_used_bytes(m, g, true));
  MergeEntry all = m;
  all.predicted = false;
  CHECK(used < merge_entry_used_bytes(all, g, true));  // fewer names than MRG2 would hold
  MergeEntry out;
  REQUIRE(decode_merge_entry(5, buf, g, &out) == OobState::kValid);
  CHECK(std::tie(out.au, out.generation, out.erase_count, out.base_seq, out.lau, out.predicted, out.slot_generation,
                 out.slot_next_seq) == std::tie(m.au, m.generation, m.erase_count, m.base_seq, m.lau, m.predicted,
                                                m.slot_generation, m.slot_next_seq));
  CHECK(out.slots == m.slots);
  CHECK(out.names == m.names);
  CHECK(out.verify == m.verify);
  CHECK(out.crcs == m.crcs);
  CHECK(decode_merge_entry(6, buf, g, &out) == OobState::kCorrupt);
  for (size_t i = 0; i < used; ++i) {
    std::vector<std::byte> bad = buf;
    bad[i] ^= std::byte{0x10};
    CHECK(decode_merge_entry(5, bad, g, &out) != OobState::kValid);
  }
  // Listed ranks that do not rise, or a listed count beyond the entry's,
  // with a good CRC, are refused; so are gaps that do not rise.
  if (gaps) {
    std::vector<std::byte> bad = buf;
    bad[32] = std::byte{0xFF};  // the first gap (41) now 255, above the second (201)
    put_u32(bad.data() + used - 4, crc32c(std::span(bad).first(used - 4)));
    CHECK(decode_merge_entry(5, bad, g, &out) == OobState::kCorrupt);
    return;
  }
  const size_t bitmaps = (checks ? 2 : 1) * g.pages_per_au / 8;
  const size_t listed_at = 32 + bitmaps + 8;
  for (uint32_t listed : {uint32_t(m.slots.size() + 1), uint32_t(0xFFFF'FFFF)}) {
    std::vector<std::byte> bad = buf;
    put_u32(bad.data() + listed_at, listed);
    put_u32(bad.data() + used - 4, crc32c(std::span(bad).first(used - 4)));
    CHECK(decode_merge_entry(5, bad, g, &out) == OobState::kCorrupt);
  }
  std::vector<std::byte> bad = buf;
  bad[listed_at + 4] = std::byte{0xFF};  // the first rank: 255, the next lower
  put_u32(bad.data() + used - 4, crc32c(std::span(bad).first(used - 4)));
  CHECK(decode_merge_entry(5, bad, g, &out) == OobState::kCorrupt);
}

// 512 MiB of class10, written in order over 448 MiB (28 672 pages, seven
// times a checkpoint interval's programs), then randomly: a merge's pages
// mostly keep the names the newest slot has.
TEST_CASE("wide random writes: merge entries list few names, and a power cut loses nothing", "[sdcard][name-table]") {
  const bool clean = GENERATE(false, true);
  INFO((clean ? "closed cleanly" : "power cut"));
  WideWorkload w(512 * MiB, 448 * MiB);
  auto card = w.create();
  REQUIRE(card.is_ok());
  const Geometry g = (*card)->geometry();
  REQUIRE(w.fill(**card));
  REQUIRE(w.run(**card, 1000, 1));
  const CardCounters before = (*card)->counters();
  REQUIRE(w.run(**card, 2000, 2));
  const CardCounters c = (*card)->counters();
  const uint64_t moved = c.merge_pages_copied - before.merge_pages_copied;
  REQUIRE(moved > 100 * 2000);
  // Version 7 listed every name: data_name_bits (17 here) per moved page,
  // plus the entry's header and bitmaps.
  const uint64_t entries = c.image_bytes.merge_entries - before.image_bytes.merge_entries;
  INFO("entry bytes per moved page " << double(entries) / double(moved));
  CHECK(entries * 8 < moved * data_name_bits(g) / 2);
  CHECK(c.image_bytes.total() == c.image_bytes_written);
  if (clean) REQUIRE((*card)->close().is_ok());
  else (*card)->cut_power();
  card = w.open();
  REQUIRE(card.is_ok());
  CHECK(w.lost_blocks(**card) == 0);
  // More merges from the entries read back, another cut, and a reopen.
  w.adopt(**card);
  REQUIRE(w.run(**card, 1000, 3));
  (*card)->cut_power();
  card = w.open();
  REQUIRE(card.is_ok());
  CHECK(w.lost_blocks(**card) == 0);
}

// Slots are overwritten two checkpoints later: the entries of AUs merged
// long before a cut predict from slots gone by then, and the scan names
// their current pages from the checkpoint's slot.
TEST_CASE("entries whose name slot was overwritten: their current pages are named from the checkpoint's",
          "[sdcard][name-table]") {
  WideWorkload w(512 * MiB, 448 * MiB);
  auto card = w.create();
  REQUIRE(card.is_ok());
  REQUIRE(w.fill(**card));
  REQUIRE(w.run(**card, 2000, 4));
  // Then writes to the first two AUs only: the other AUs' entries stay,
  // and more than two checkpoints pass.
  REQUIRE(w.run(**card, 9000, 5, 8 * MiB / 4096));
  (*card)->cut_power();
  card = w.open();
  REQUIRE(card.is_ok());
  CHECK(w.lost_blocks(**card) == 0);
  w.adopt(**card);
  REQUIRE(w.run(**card, 1000, 6));
  REQUIRE((*card)->close().is_ok());
  card = w.open();
  REQUIRE(card.is_ok());
  CHECK(w.lost_blocks(**card) == 0);
}

TEST_CASE("a version 7 image opens read-only unchanged and upgrades to 8", "[sdcard][name-table]") {
  const bool clean = GENERATE(true, false);
  INFO((clean ? "closed cleanly" : "power cut"));
  testing::ScratchDir dir("name-table-v7");
  const std::string path = dir.path("c.img");
  WideWorkload w(128 * MiB, 96 * MiB);
  Geometry g;
  {
    auto card = Card::create(path, testing::profile("class10"), w.card_bytes, w.clock);
    REQUIRE(card.is_ok());
    g = (*card)->geometry();
    REQUIRE(w.fill(**card));
    REQUIRE(w.run(**card, 1500, 7));
    if (clean) REQUIRE((*card)->close().is_ok());
    else (*card)->cut_power();
  }
  REQUIRE(testing::entries_with_magic(path, g, "MRG3") > 0);
  REQUIRE(rewrite_as_version_7(path, g) > 0);
  REQUIRE(testing::set_header_version(path, kImageVersionPackedMerges, true));
  const uint64_t v7_bytes = layout_for(g, kImageVersionPackedMerges).file_bytes;
  REQUIRE(std::filesystem::file_size(path) == v7_bytes);
  {
    CardOptions ro;
    ro.read_only = true;
    auto card = Card::open(path, w.clock, ro);
    REQUIRE(card.is_ok());
    CHECK(w.lost_blocks(**card) == 0);
  }
  CHECK(testing::header_version(path) == kImageVersionPackedMerges);
  CHECK(std::filesystem::file_size(path) == v7_bytes);
  auto card = Card::open(path, w.clock);
  REQUIRE(card.is_ok());
  CHECK(testing::header_version(path) == kImageVersion);
  CHECK(std::filesystem::file_size(path) == layout_for(g).file_bytes);
  CHECK(w.lost_blocks(**card) == 0);
  w.adopt(**card);
  REQUIRE(w.fill(**card));
  REQUIRE(w.run(**card, 1500, 8));
  CHECK(testing::entries_with_magic(path, g, "MRG3") > 0);
  (*card)->cut_power();
  card = Card::open(path, w.clock);
  REQUIRE(card.is_ok());
  CHECK(w.lost_blocks(**card) == 0);
}

}  // namespace cardfs::sdcard
