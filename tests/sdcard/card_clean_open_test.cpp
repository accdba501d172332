// The clean map (image version 5): a card closed cleanly opens from its
// checkpoint and clean map without reading an OOB record, into exactly the
// state the power-on scan rebuilds; a card not closed cleanly scans as
// before; a map that does not hold (damaged, of another checkpoint) is not
// used; version 4 images are upgraded, also after an upgrade cut short.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include "sdcard/card.h"
#include "sdcard/image_format.h"
#include "sdcard/memory_medium.h"
#include "sdcard/page_store.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1024 * 1024;
constexpr uint64_t kRegion = 16 * MiB / 512;  // sectors written: 4 AUs of a class10 card, merging

// Random 4 KiB writes and trims over kRegion with a flush every 32, on a
// card in memory; the tag each 4 KiB block holds once flushed.
struct Workload {
  std::shared_ptr<MemoryMedium> medium = std::make_shared<MemoryMedium>();
  VirtualClock clock;
  std::vector<uint32_t> flushed = std::vector<uint32_t>(kRegion / 8, 0);
  std::vector<uint32_t> pending = std::vector<uint32_t>(kRegion / 8, 0);
  std::vector<bool> unflushed = std::vector<bool>(kRegion / 8, false);  // may hold either tag
  uint32_t next = 1;

  Result<std::unique_ptr<Card>> open(bool read_only = false) {
    CardOptions o;
    o.read_only = read_only;
    return Card::open(memory_store(medium), clock, o);
  }
  bool run(Card& card, int ops, uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (int i = 0; i < ops; ++i, ++next) {
      const uint64_t block = rng() % (kRegion / 8);
      const bool trim = rng() % 16 == 0;
      pending[block] = trim ? 0 : next;
      unflushed[block] = true;
      Status st = trim ? card.discard(block * 8, 8) : testing::write(card, block * 8, testing::pattern(block * 8, 8, next));
      if (st.is_ok() && i % 32 == 31) {
        st = card.flush();
        if (st.is_ok()) settle();
      }
      if (!st.is_ok()) return false;
    }
    return true;
  }
  void settle() {
    flushed = pending;
    unflushed.assign(unflushed.size(), false);
  }
  // After a power cut: a block written since the last flush holds what
  // one of those writes left, or what was flushed before them; from here
  // on it holds that.
  void adopt(Card& card) {
    for (uint64_t b = 0; b < flushed.size(); ++b) {
      if (!unflushed[b]) continue;
      auto data = testing::read(card, b * 8, 8);
      REQUIRE(data.is_ok());
      const int64_t tag = testing::tag_of(data->data(), b * 8);
      REQUIRE(tag >= 0);
      REQUIRE(testing::untagged_sectors(card, b * 8, 8, tag) == 0);
      flushed[b] = pending[b] = uint32_t(tag);
    }
    unflushed.assign(unflushed.size(), false);
  }
  // Blocks not holding what was flushed (those written since are not looked at).
  uint64_t wrong_blocks(Card& card) const {
    uint64_t wrong = 0;
    for (uint64_t b = 0; b < flushed.size(); ++b)
      wrong += !unflushed[b] && testing::untagged_sectors(card, b * 8, 8, flushed[b]) != 0;
    return wrong;
  }
  // The header says the card was not closed cleanly: the next open scans.
  void mark_unclean() {
    std::vector<std::byte> raw(kHeaderBytes);
    REQUIRE(medium->read_at(0, raw).is_ok());
    Result<ImageHeader> h = decode_header(raw);
    REQUIRE(h.is_ok());
    h->clean = false;
    std::array<std::byte, kHeaderBytes> buf;
    encode_header(*h, buf);
    REQUIRE(medium->write_at(0, buf).is_ok());
  }
  // A card created, written with merges, erases and trims, closed cleanly.
  void prepare(uint64_t seed) {
    auto card = Card::create(memory_store(medium), testing::profile("class10"), 32 * MiB, clock);
    REQUIRE(card.is_ok());
    REQUIRE(run(**card, 1500, seed));
    REQUIRE((*card)->counters().erases > 0);
    REQUIRE((*card)->close().is_ok());
    settle();
  }
};

bool same_aus(const std::vector<AuState>& a, const std::vector<AuState>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].erase_count != b[i].erase_count || a[i].valid_pages != b[i].valid_pages ||
        a[i].logical_au != b[i].logical_au || std::string(a[i].role) != b[i].role)
      return false;
  return true;
}

TEST_CASE("a card closed cleanly opens without the scan into the state the scan rebuilds", "[sdcard][clean-open]") {
  Workload clean, scanned;
  clean.prepare(7);
  scanned.prepare(7);
  scanned.mark_unclean();
  const Geometry g = *make_geometry(testing::profile("class10"), 32 * MiB);
  const ImageLayout l = layout_for(g);
  const uint64_t before = clean.medium->bytes_read();
  auto a = clean.open();
  REQUIRE(a.is_ok());
  // The header, the newer checkpoint, the clean map and the erase table;
  // not the OOB region (one record per physical page).
  // The unit lists named, by chunk: at most the table. Since version 6
  // the merge table too, and a data CRC entry per merge page.
  const uint64_t merges = g.physical_aus() * merge_entry_bytes(g) + g.physical_pages() * kDataCrcBytes;
  CHECK(clean.medium->bytes_read() - before < l.checkpoint_slot_bytes + clean_map_bytes(g) + 3 * 4096 +
                                                  g.physical_aus() * kEraseEntryBytes + g.physical_pages() * 16 +
                                                  merges);
  CHECK((*a)->opened_clean());
  const uint64_t scan_before = scanned.medium->bytes_read();
  auto b = scanned.open();
  REQUIRE(b.is_ok());
  CHECK(scanned.medium->bytes_read() - scan_before > g.physical_pages() * kOobBytes);
  CHECK(same_aus((*a)->au_states(), (*b)->au_states()));
  CHECK(clean.wrong_blocks(**a) == 0);
  CHECK(scanned.wrong_blocks(**b) == 0);
  // The same commands from there cost the same and end the same.
  REQUIRE(clean.run(**a, 600, 8));
  REQUIRE(scanned.run(**b, 600, 8));
  CHECK((*a)->counters().merges == (*b)->counters().merges);
  CHECK((*a)->counters().erases == (*b)->counters().erases);
  CHECK((*a)->counters().flash_pages_programmed == (*b)->counters().flash_pages_programmed);
  CHECK((*a)->device_time() == (*b)->device_time());
  CHECK(same_aus((*a)->au_states(), (*b)->au_states()));
  CHECK(clean.wrong_blocks(**a) == 0);
}

// A clean open read the newer checkpoint slot and the clean map whole
// (33 and 34 MiB on a 64 GiB card, mostly holes while the card is mostly
// unused), into buffers it then copied from: most of a mount's time.
TEST_CASE("a clean open of a card mostly unused reads only what its checkpoint and clean map hold",
          "[sdcard][clean-open]") {
  auto medium = std::make_shared<MemoryMedium>();
  VirtualClock clock;
  const uint64_t size = 2048 * MiB, written = 4 * MiB / 512;
  {
    auto card = Card::create(memory_store(medium), testing::profile("class10"), size, clock);
    REQUIRE(card.is_ok());
    for (uint64_t s = 0; s < written; s += 64) REQUIRE(testing::write(**card, s, testing::pattern(s, 64, 3)).is_ok());
    REQUIRE((*card)->close().is_ok());
  }
  const Geometry g = *make_geometry(testing::profile("class10"), size);
  const ImageLayout l = layout_for(g);
  const uint64_t before = medium->bytes_read();
  auto card = Card::open(memory_store(medium), clock);
  REQUIRE(card.is_ok());
  CHECK((*card)->opened_clean());
  // The header, a 64 KiB chunk or two of each slot and of the map, the
  // erase and merge tables: not the slot's and map's holes.
  const uint64_t tables = uint64_t(g.physical_aus()) * (merge_entry_bytes(g) + kEraseEntryBytes) + 8 * 4096;
  CHECK(medium->bytes_read() - before < tables + 8 * 64 * 1024);
  CHECK(l.checkpoint_slot_bytes + clean_map_bytes(g) > 16 * 64 * 1024);
  CHECK(testing::untagged_sectors(**card, 0, written, 3) == 0);
  CHECK(testing::untagged_sectors(**card, written, 64, 0) == 0);  // never written: zeros
  // Its next close writes what a close of a card opened from whole reads would.
  REQUIRE(testing::write(**card, written, testing::pattern(written, 64, 4)).is_ok());
  REQUIRE((*card)->close().is_ok());
  auto again = Card::open(memory_store(medium), clock);
  REQUIRE(again.is_ok());
  CHECK((*again)->opened_clean());
  CHECK(testing::untagged_sectors(**again, 0, written, 3) == 0);
  CHECK(testing::untagged_sectors(**again, written, 64, 4) == 0);
}

TEST_CASE("after a clean open, a power cut makes the next open scan, and nothing flushed is lost",
          "[sdcard][clean-open]") {
  Workload w;
  w.prepare(11);
  for (uint64_t seed = 20; seed < 24; ++seed) {
    INFO("seed " << seed);
    {
      auto card = w.open();
      REQUIRE(card.is_ok());
      FaultPlan f;
      f.power_cut_after = 200 + seed * 7;
      (*card)->set_faults(f);
      CHECK_FALSE(w.run(**card, 1000, seed));
    }
    auto card = w.open();
    REQUIRE(card.is_ok());
    CHECK_FALSE((*card)->opened_clean());
    CHECK(w.wrong_blocks(**card) == 0);
    w.adopt(**card);
    REQUIRE(w.run(**card, 100, seed + 100));
    REQUIRE((*card)->close().is_ok());
    w.settle();
  }
  auto card = w.open();
  REQUIRE(card.is_ok());
  CHECK(w.wrong_blocks(**card) == 0);
}

TEST_CASE("a clean map damaged or of an older checkpoint is not used: the open scans", "[sdcard][clean-open]") {
  Workload w;
  w.prepare(13);
  const Geometry g = *make_geometry(testing::profile("class10"), 32 * MiB);
  const ImageLayout l = layout_for(g);
  std::vector<std::byte> old_map(clean_map_bytes(g));
  REQUIRE(w.medium->read_at(l.clean_map_offset, old_map).is_ok());
  {
    auto card = w.open();
    REQUIRE(card.is_ok());
    REQUIRE(w.run(**card, 400, 14));
    REQUIRE((*card)->close().is_ok());
    w.settle();
  }
  std::vector<std::byte> map(clean_map_bytes(g));
  REQUIRE(w.medium->read_at(l.clean_map_offset, map).is_ok());
  // Of an older checkpoint: it would map pages the card has moved since.
  REQUIRE(w.medium->write_at(l.clean_map_offset, old_map).is_ok());
  {
    const uint64_t before = w.medium->bytes_read();
    auto card = w.open(true);
    REQUIRE(card.is_ok());
    CHECK(w.medium->bytes_read() - before > g.physical_pages() * kOobBytes);  // scanned
    CHECK(w.wrong_blocks(**card) == 0);
  }
  // Damaged: one byte of its holders.
  map[kCheckpointHeaderBytes + 40] ^= std::byte{0x5a};
  REQUIRE(w.medium->write_at(l.clean_map_offset, map).is_ok());
  const uint64_t before = w.medium->bytes_read();
  auto card = w.open();
  REQUIRE(card.is_ok());
  CHECK(w.medium->bytes_read() - before > g.physical_pages() * kOobBytes);
  CHECK(w.wrong_blocks(**card) == 0);
  REQUIRE((*card)->close().is_ok());  // a new map, used by the next open
  const uint64_t again = w.medium->bytes_read();
  card = w.open();
  REQUIRE(card.is_ok());
  // Less than the scan reads: the OOB region (since version 6 both read
  // the merge table, and the data CRC entries of merge pages).
  CHECK(w.medium->bytes_read() - again < g.physical_pages() * (kOobBytes + kDataCrcBytes) +
                                             g.physical_aus() * merge_entry_bytes(g));
  CHECK(w.wrong_blocks(**card) == 0);
}

uint32_t version_of(const std::string& path) {
  const std::vector<char> raw = testing::file_bytes(path, 0, kHeaderBytes);
  Result<ImageHeader> h = decode_header(std::as_bytes(std::span(raw)));
  REQUIRE(h.is_ok());
  return h->version;
}

TEST_CASE("a version 4 image is upgraded to 5, also after an upgrade cut short", "[sdcard][clean-open]") {
  testing::ScratchDir dir("clean-upgrade");
  const std::string path = dir.path("c.img");
  VirtualClock clock;
  uint64_t v5_bytes = 0;
  {
    auto card = Card::create(path, testing::profile("class10"), 32 * MiB, clock);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 0, testing::pattern(0, 8 * MiB / 512, 1)).is_ok());
    REQUIRE((*card)->close().is_ok());
    v5_bytes = std::filesystem::file_size(path);
  }
  for (bool cut_short : {false, true}) {
    INFO("cut short: " << cut_short);
    REQUIRE(testing::set_header_version(path, kImageVersionUnits, true));
    CHECK(std::filesystem::file_size(path) < v5_bytes);
    // The upgrade grew the file, then the power failed before the headers.
    if (cut_short) std::filesystem::resize_file(path, v5_bytes);
    {
      auto card = Card::open(path, clock);
      REQUIRE(card.is_ok());
      CHECK(version_of(path) == kImageVersion);
      CHECK(std::filesystem::file_size(path) == v5_bytes);
      CHECK(testing::untagged_sectors(**card, 0, 8 * MiB / 512, 1) == 0);
      REQUIRE(testing::write(**card, 8 * MiB / 512, testing::pattern(8 * MiB / 512, 64, 2)).is_ok());
      REQUIRE((*card)->close().is_ok());
    }
    auto card = Card::open(path, clock);
    REQUIRE(card.is_ok());
    CHECK(testing::untagged_sectors(**card, 0, 8 * MiB / 512, 1) == 0);
    CHECK(testing::untagged_sectors(**card, 8 * MiB / 512, 64, 2) == 0);
    REQUIRE((*card)->close().is_ok());
  }
}

}  // namespace
}  // namespace cardfs::sdcard
