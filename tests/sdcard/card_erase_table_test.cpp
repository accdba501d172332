// The erase table (image version 4): an erase writes one 8-byte entry, the
// AU's erase generation, instead of zeroing the AU's OOB records, and a
// record of an older generation than its AU's is erased. Power cuts and
// host crashes may lose or damage entries: the card must then come back
// with every flushed block as it was (the records of the AU's newer
// generation, or the older copies' being older, decide), and a version 3
// image must upgrade to 4 even if an earlier upgrade was cut short.
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
constexpr uint64_t kRegion = 16 * MiB / 512;  // sectors the workload writes (4 AUs)

// A class10 card (block FTL, 2 open AUs: random writes over 4 AUs merge
// and erase at nearly every write) in memory, with the tags of its
// flushed and of all its writes per 4 KiB block.
struct Workload {
  std::shared_ptr<MemoryMedium> medium = std::make_shared<MemoryMedium>();
  VirtualClock clock;
  std::vector<uint32_t> flushed = std::vector<uint32_t>(kRegion / 8, 0);
  std::vector<uint32_t> written = std::vector<uint32_t>(kRegion / 8, 0);
  uint32_t next = 1;

  Result<std::unique_ptr<Card>> create() {
    return Card::create(memory_store(medium), testing::profile("class10"), 32 * MiB, clock);
  }
  Result<std::unique_ptr<Card>> open(bool read_only = false) {
    CardOptions o;
    o.read_only = read_only;  // writes nothing, not even the header
    return Card::open(memory_store(medium), clock, o);
  }
  // `writes` random 4 KiB writes, a flush every 32; false once the power failed.
  bool run(Card& card, int writes, uint64_t seed) {
    std::mt19937_64 rng(seed);
    for (int i = 0; i < writes; ++i, ++next) {
      const uint64_t block = rng() % (kRegion / 8);
      written[block] = next;
      if (!testing::write(card, block * 8, testing::pattern(block * 8, 8, next)).is_ok()) return false;
      if (next % 32 == 0) {
        if (!card.flush().is_ok()) return false;
        flushed = written;
      }
    }
    return true;
  }
  // After power-on: each block holds what it reads now (an unflushed
  // write may or may not have survived), and the failed write's tag is
  // not used again.
  void settle(Card& card) {
    for (uint64_t b = 0; b < flushed.size(); ++b) {
      auto data = testing::read(card, b * 8, 8);
      REQUIRE(data.is_ok());
      const int64_t tag = testing::tag_of(data->data(), b * 8);
      REQUIRE(tag >= 0);
      flushed[b] = written[b] = uint32_t(tag);
    }
    ++next;
  }
  // Blocks that read neither their flushed tag nor a later one written.
  uint64_t lost_blocks(Card& card) const {
    uint64_t bad = 0;
    for (uint64_t b = 0; b < flushed.size(); ++b) {
      auto data = testing::read(card, b * 8, 8);
      if (!data.is_ok()) {
        ++bad;
        continue;
      }
      const int64_t tag = testing::tag_of(data->data(), b * 8);
      bad += !(tag == flushed[b] || (tag > int64_t(flushed[b]) && tag <= int64_t(written[b])));
    }
    return bad;
  }
  // After a power-on that lost nothing: the card keeps working (more
  // merges and erases, a clean close) and the reopened card loses nothing.
  void keeps_working(Result<std::unique_ptr<Card>>& card, uint64_t seed) {
    settle(**card);
    REQUIRE(run(**card, 300, seed));
    REQUIRE((*card)->close().is_ok());
    card = open();
    REQUIRE(card.is_ok());
    CHECK(lost_blocks(**card) == 0);
  }
  std::vector<std::byte> table(const Geometry& g) {
    std::vector<std::byte> t(uint64_t(g.physical_aus()) * kEraseEntryBytes);
    REQUIRE(medium->read_at(layout_for(g).erase_table_offset, t).is_ok());
    return t;
  }
  void set_table(const Geometry& g, const std::vector<std::byte>& t) {
    REQUIRE(medium->write_at(layout_for(g).erase_table_offset, t).is_ok());
  }
};

// Valid pages per AU: the rebuilt map, as far as the model can see it.
std::vector<uint32_t> valid_per_au(const Card& card) {
  std::vector<uint32_t> v;
  for (const AuState& a : card.au_states()) v.push_back(a.valid_pages);
  return v;
}

}  // namespace

TEST_CASE("an erase costs the image one table entry, and erased records stay erased after reopening",
          "[sdcard][erase-table]") {
  Workload w;
  auto card = w.create();
  REQUIRE(card.is_ok());
  REQUIRE(w.run(**card, 608, 1));  // ends with a flush: the close programs nothing
  const CardCounters c = (*card)->counters();
  const Geometry g = (*card)->geometry();
  REQUIRE(c.erases > 100);
  // Programs write their pages and records; moves a record each; erases
  // an entry each (they zeroed an AU's records, 8 KiB, before version 4);
  // checkpoints the rest (a 32 MiB card's slot is under 20 KiB).
  const uint64_t host_pages = c.flash_pages_programmed - c.merge_pages_copied;
  const uint64_t bound = host_pages * (g.page_bytes + kOobBytes) + c.merge_pages_copied * kOobBytes +
                         c.erases * kEraseEntryBytes + (c.flushes + 4) * 3 * 20480;
  CHECK(c.image_bytes_written < bound);
  // Every erased AU's old records are still in the image, not zero: more
  // than an AU's worth carry an older generation than their AU's entry.
  // (Since version 5 a merge's pages have no records of their own, so
  // valid pages no longer bound the records.)
  std::vector<std::byte> oob(g.physical_pages() * kOobBytes);
  REQUIRE(w.medium->read_at(layout_for(g).oob_offset, oob).is_ok());
  const std::vector<std::byte> table = w.table(g);
  uint64_t erased_records = 0;
  for (uint64_t pp = 0; pp < g.physical_pages(); ++pp) {
    OobRecord r;
    uint32_t gen = 0;
    const uint32_t au = uint32_t(pp / g.pages_per_au);
    REQUIRE(decode_erase_entry(au, table.data() + au * kEraseEntryBytes, &gen) != OobState::kCorrupt);
    erased_records += decode_oob(oob.data() + pp * kOobBytes, &r) == OobState::kValid && r.generation != gen;
  }
  CHECK(erased_records > g.pages_per_au);
  const std::vector<uint32_t> before = valid_per_au(**card);
  REQUIRE((*card)->close().is_ok());
  card = w.open(true);  // as rebuilt, before a read-write open merges the open AUs back
  REQUIRE(card.is_ok());
  CHECK(valid_per_au(**card) == before);
  CHECK(w.lost_blocks(**card) == 0);
}

// The entries written since the last flush are lost (a host crash without
// fdatasync drops them while the records of later programs reached the
// disk): the AUs' generations come from those records, or the old records
// count again and lose to the newer copies.
TEST_CASE("erase table entries lost in a crash: power-on rebuilds the same map and every flushed block",
          "[sdcard][erase-table][power]") {
  const int cut_after = GENERATE(64, 100, 200, 333);
  INFO("power cut after " << cut_after << " more writes");
  Workload w;
  auto card = w.create();
  REQUIRE(card.is_ok());
  const Geometry g = (*card)->geometry();
  REQUIRE(w.run(**card, 320, 7));
  const std::vector<std::byte> old_table = w.table(g);
  REQUIRE(w.run(**card, cut_after, 8));
  (*card)->cut_power();
  card = {Status::error(EIO, "dropped")};
  // The map the card rebuilds with the table intact...
  auto intact = w.open(true);
  REQUIRE(intact.is_ok());
  const std::vector<uint32_t> expected = valid_per_au(**intact);
  CHECK(w.lost_blocks(**intact) == 0);
  intact = {Status::error(EIO, "closed")};
  // ... and with every entry written since the snapshot lost.
  REQUIRE(w.table(g) != old_table);
  w.set_table(g, old_table);
  auto lost = w.open(true);
  REQUIRE(lost.is_ok());
  CHECK(valid_per_au(**lost) == expected);
  lost = {Status::error(EIO, "closed")};
  card = w.open();
  REQUIRE(card.is_ok());
  CHECK(w.lost_blocks(**card) == 0);
  w.keeps_working(card, 9);
}

TEST_CASE("a damaged erase table: generations come from the records, no flushed block is lost",
          "[sdcard][erase-table][power]") {
  Workload w;
  auto card = w.create();
  REQUIRE(card.is_ok());
  const Geometry g = (*card)->geometry();
  REQUIRE(w.run(**card, 500, 11));
  (*card)->cut_power();
  card = {Status::error(EIO, "dropped")};
  // Torn mid-update: every entry's bytes half old, half garbage.
  std::vector<std::byte> t = w.table(g);
  std::mt19937 rng(5);
  for (size_t i = 0; i < t.size(); i += kEraseEntryBytes) t[i + 5] = std::byte(rng() | 1);
  w.set_table(g, t);
  card = w.open();
  REQUIRE(card.is_ok());
  CHECK(w.lost_blocks(**card) == 0);
  w.keeps_working(card, 12);
}

// The card's own power cuts (between commands and torn inside one) at
// every command of a stretch with merges and erases, on version 4.
TEST_CASE("power cut at each command of a merging workload: the rebuilt map reads every flushed block",
          "[sdcard][erase-table][power]") {
  const FaultPlan::Cut mode = GENERATE(FaultPlan::Cut::kBetween, FaultPlan::Cut::kTorn);
  for (uint64_t cut = 150; cut < 230; cut += 3) {
    INFO("cut after command " << cut << (mode == FaultPlan::Cut::kTorn ? " (torn)" : ""));
    Workload w;
    auto card = w.create();
    REQUIRE(card.is_ok());
    FaultPlan f;
    f.power_cut_after = cut;
    f.cut = mode;
    (*card)->set_faults(f);
    CHECK_FALSE(w.run(**card, 1000, 13));
    card = {Status::error(EIO, "dropped")};
    card = w.open();
    REQUIRE(card.is_ok());
    CHECK(w.lost_blocks(**card) == 0);
    w.settle(**card);
    REQUIRE(w.run(**card, 100, 14));
    CHECK(w.lost_blocks(**card) == 0);
  }
}

TEST_CASE("a version 3 image whose upgrade was cut short opens and is upgraded", "[sdcard][erase-table]") {
  testing::ScratchDir dir("erase-table-upgrade");
  const std::string path = dir.path("c.img");
  VirtualClock clock;
  {
    auto card = Card::create(path, testing::profile("class10"), 32 * MiB, clock);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 0, testing::pattern(0, 8 * MiB / 512, 1)).is_ok());
    REQUIRE((*card)->close().is_ok());
  }
  // The upgrade grew the file, then the power failed before the headers.
  REQUIRE(testing::cut_short_upgrade_from(path, kImageVersionSlots));
  auto card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  CHECK(testing::untagged_sectors(**card, 0, 8 * MiB / 512, 1) == 0);
  CHECK(testing::header_version(path) == kImageVersion);
  // Merges and erases on the upgraded image, then a reopen.
  std::mt19937_64 rng(3);
  std::vector<uint32_t> last(16 * MiB / 4096, 0);
  for (uint32_t i = 2; i < 600; ++i) {
    const uint64_t b = rng() % last.size();
    REQUIRE(testing::write(**card, b * 8, testing::pattern(b * 8, 8, i)).is_ok());
    last[b] = i;
  }
  REQUIRE((*card)->counters().erases > 0);
  REQUIRE((*card)->close().is_ok());
  card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  for (uint64_t b = 0; b < last.size(); ++b) {
    const int64_t tag = last[b] ? int64_t(last[b]) : b < 8 * MiB / 4096 ? 1 : 0;
    CHECK(testing::untagged_sectors(**card, b * 8, 8, tag) == 0);
  }
}

}  // namespace cardfs::sdcard
