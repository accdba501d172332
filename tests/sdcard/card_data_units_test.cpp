// Data units (image version 4): a page the host only partly rewrote keeps
// in the image only the 4 KiB units holding sectors the host wrote; its
// other units name the previous copy's (or zeros). The card's model does
// not notice (the model, power-cut and copy-free tests pass unchanged);
// the image takes 4 KiB per 4 KiB write instead of a 16 KiB page; and a
// program whose data, record or unit table entry never reached the image
// (a power cut or host crash between them) leaves the page reading its
// previous copy, with no other block changed.
#include <catch2/catch.hpp>

#include <random>

#include "sdcard/card.h"
#include "sdcard/image_format.h"
#include "sdcard/memory_medium.h"
#include "sdcard/page_store.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1024 * 1024;

struct MemoryCard {
  std::shared_ptr<MemoryMedium> medium = std::make_shared<MemoryMedium>();
  VirtualClock clock;
  Result<std::unique_ptr<Card>> create(const char* profile = "class10") {
    return Card::create(memory_store(medium), testing::profile(profile), 32 * MiB, clock);
  }
  Result<std::unique_ptr<Card>> open() { return Card::open(memory_store(medium), clock); }
  std::vector<std::byte> bytes(uint64_t offset, uint64_t n) {
    std::vector<std::byte> b(n);
    REQUIRE(medium->read_at(offset, b).is_ok());
    return b;
  }
  void put(uint64_t offset, const std::vector<std::byte>& b) { REQUIRE(medium->write_at(offset, b).is_ok()); }
};

}  // namespace

TEST_CASE("a 4 KiB write into a 16 KiB page costs the image 4 KiB, its record and its unit entry",
          "[sdcard][units]") {
  MemoryCard m;
  auto card = m.create();
  REQUIRE(card.is_ok());
  Card& c = **card;
  REQUIRE(testing::write(c, 0, testing::pattern(0, 4 * MiB / 512, 1)).is_ok());
  REQUIRE(c.flush().is_ok());
  // The first 4 KiB of page 3, then the last 4 KiB of page 5 (whose first
  // sectors were never written: they stay zeros, no bytes for them).
  // Version 5 adds the data's CRC entry (8 bytes), which merges name.
  uint64_t before = c.counters().image_bytes_written;
  REQUIRE(testing::write(c, 3 * 32, testing::pattern(3 * 32, 8, 2)).is_ok());
  REQUIRE(c.flush().is_ok());
  CHECK(c.counters().image_bytes_written - before == 4096 + kOobBytes + 16 + kDataCrcBytes);
  REQUIRE(c.discard(5 * 32, 32).is_ok());
  REQUIRE(c.flush().is_ok());
  before = c.counters().image_bytes_written;
  REQUIRE(testing::write(c, 5 * 32 + 24, testing::pattern(5 * 32 + 24, 8, 3)).is_ok());
  REQUIRE(c.flush().is_ok());
  CHECK(c.counters().image_bytes_written - before == 4096 + kOobBytes + 16 + kDataCrcBytes);
  auto check = [](Card& c) {
    CHECK(testing::untagged_sectors(c, 0, 3 * 32, 1) == 0);
    CHECK(testing::untagged_sectors(c, 3 * 32, 8, 2) == 0);
    CHECK(testing::untagged_sectors(c, 3 * 32 + 8, 2 * 32 - 8, 1) == 0);
    CHECK(testing::untagged_sectors(c, 5 * 32, 24, 0) == 0);
    CHECK(testing::untagged_sectors(c, 5 * 32 + 24, 8, 3) == 0);
    CHECK(testing::untagged_sectors(c, 6 * 32, 4 * MiB / 512 - 6 * 32, 1) == 0);
  };
  check(c);
  REQUIRE(c.close().is_ok());
  card = m.open();
  REQUIRE(card.is_ok());
  check(**card);
}

// The same random 4 KiB writes as the copy-free test's, across merges,
// reopened: the image keeps about one unit per write, and every block
// reads back.
TEST_CASE("random 4 KiB writes with merges: the image takes about what the host wrote, and reads back",
          "[sdcard][units]") {
  MemoryCard m;
  auto card = m.create();
  REQUIRE(card.is_ok());
  std::mt19937_64 rng(23);
  std::vector<uint32_t> last(16 * MiB / 4096, 0);
  for (uint32_t i = 1; i <= 2000; ++i) {
    const uint64_t b = rng() % last.size();
    REQUIRE(testing::write(**card, b * 8, testing::pattern(b * 8, 8, i)).is_ok());
    last[b] = i;
    if (i % 32 == 0) REQUIRE((*card)->flush().is_ok());
  }
  const CardCounters c = (*card)->counters();
  REQUIRE(c.merge_pages_copied > 20 * (c.flash_pages_programmed - c.merge_pages_copied));
  const uint64_t host_bytes = c.host_sectors_written * 512;
  // Data: a unit per write; records and unit lists: 48 bytes per page
  // programmed, 32 per page moved (a moved page names its source's unit
  // list); erases: 8 bytes; checkpoints: their changed blocks.
  const uint64_t host_pages = c.flash_pages_programmed - c.merge_pages_copied;
  CHECK(c.image_bytes_written < host_bytes + host_pages * (kOobBytes + 16) + c.merge_pages_copied * kOobBytes +
                                    c.erases * 8 + (c.flushes + 4) * 3 * 4096);
  REQUIRE((*card)->close().is_ok());
  card = m.open();
  REQUIRE(card.is_ok());
  for (uint64_t b = 0; b < last.size(); ++b) CHECK(testing::untagged_sectors(**card, b * 8, 8, last[b]) == 0);
}

// A host crash (or a cut between the two halves of a batch) may keep any
// part of a program: the data units, the record, the unit table entry.
// Whatever part is missing, the page reads its previous copy (its
// record's CRC no longer matches, and the power-on scan checks every page
// newer than the checkpoint) or the new data, and nothing else changes.
TEST_CASE("a partial program missing its data, its record or its unit entry reads its previous copy",
          "[sdcard][units][power]") {
  const int lost = GENERATE(0, 1, 2);  // 0: the data units, 1: the record, 2: the unit table entry
  INFO("lost: " << (lost == 0 ? "data" : lost == 1 ? "record" : "unit entry"));
  MemoryCard m;
  auto card = m.create();
  REQUIRE(card.is_ok());
  const Geometry g = (*card)->geometry();
  const ImageLayout l = layout_for(g);
  REQUIRE(testing::write(**card, 0, testing::pattern(0, 4 * MiB / 512, 1)).is_ok());
  REQUIRE(testing::write(**card, 7 * 32 + 8, testing::pattern(7 * 32 + 8, 8, 2)).is_ok());
  REQUIRE((*card)->close().is_ok());  // a checkpoint: the next program is newer
  card = m.open();
  REQUIRE(card.is_ok());
  const uint64_t region[3][2] = {{l.flash_offset, g.physical_pages() * g.page_bytes},
                                 {l.oob_offset, g.physical_pages() * kOobBytes},
                                 {l.unit_table_offset, g.physical_pages() * 16}};
  const std::vector<std::byte> before = m.bytes(region[lost][0], region[lost][1]);
  REQUIRE(testing::write(**card, 7 * 32 + 16, testing::pattern(7 * 32 + 16, 8, 3)).is_ok());
  REQUIRE((*card)->flush().is_ok());
  (*card)->cut_power();
  card = {Status::error(EIO, "off")};
  REQUIRE(m.bytes(region[lost][0], region[lost][1]) != before);
  m.put(region[lost][0], before);
  card = m.open();
  REQUIRE(card.is_ok());
  auto data = testing::read(**card, 7 * 32 + 16, 8);
  REQUIRE(data.is_ok());
  const int64_t tag = testing::tag_of(data->data(), 7 * 32 + 16);
  CHECK((tag == 1 || tag == 3));
  CHECK(testing::untagged_sectors(**card, 7 * 32 + 8, 8, 2) == 0);
  CHECK(testing::untagged_sectors(**card, 0, 7 * 32 + 8, 1) == 0);
  CHECK(testing::untagged_sectors(**card, 7 * 32 + 24, 4 * MiB / 512 - 7 * 32 - 24, 1) == 0);
}

TEST_CASE("a unit table entry naming a unit beyond the data area is damaged, not followed", "[sdcard][units]") {
  MemoryCard m;
  auto card = m.create();
  REQUIRE(card.is_ok());
  const Geometry g = (*card)->geometry();
  REQUIRE(testing::write(**card, 0, testing::pattern(0, 4 * 32, 1)).is_ok());
  REQUIRE((*card)->flush().is_ok());
  REQUIRE(testing::write(**card, 2 * 32, testing::pattern(2 * 32, 8, 2)).is_ok());
  REQUIRE((*card)->close().is_ok());
  // Logical page 2 was rewritten in part: its new copy lists its units.
  std::vector<std::byte> oob = m.bytes(layout_for(g).oob_offset, g.physical_pages() * kOobBytes);
  int64_t listed = -1;
  for (uint64_t pp = 0; pp < g.physical_pages(); ++pp) {
    OobRecord r;
    if (decode_oob(oob.data() + pp * kOobBytes, &r) == OobState::kValid && r.logical_page == 2 && r.has_units)
      listed = int64_t(pp);
  }
  REQUIRE(listed >= 0);
  std::vector<std::byte> entry(4, std::byte{0x7F});
  m.put(layout_for(g).unit_table_offset + uint64_t(listed) * 16 + 4, entry);
  card = m.open();
  REQUIRE(card.is_ok());
  CHECK(testing::read(**card, 2 * 32, 32).status().code() == EIO);
  CHECK(testing::untagged_sectors(**card, 0, 2 * 32, 1) == 0);
  CHECK(testing::untagged_sectors(**card, 3 * 32, 32, 1) == 0);
}

}  // namespace cardfs::sdcard
