// Copy-free moves (issue 23): a merge or GC move names its source's data
// slot instead of copying the bytes. The model must not notice: the same
// workload gives the counters, device time and wear it gave when every
// move copied 16 KiB inside the image (figures recorded from that build,
// main at 4c28d85), while the image takes a small fraction of the bytes;
// the slot map survives a reopen and a power cut, and version 2 images
// (records naming no slot) open, are upgraded and keep their data.
#include <catch2/catch.hpp>

#include <array>
#include <filesystem>
#include <random>

#include "sdcard/card.h"
#include "sdcard/image_format.h"
#include "sdcard/memory_medium.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1024 * 1024;

// What the copying build gave for the workload below.
struct Expected {
  uint64_t programmed, merges, copied, erases, opens, closes, max_erase_count;
  int64_t device_ns;
};

// Random 4 KiB writes over `region` sectors with a flush after every 32,
// as fio's random writes with fsync=32 reach the card; each write's tag is
// its number, so the last one to each place is known.
std::vector<uint32_t> random_writes(Card& card, uint64_t region, int writes) {
  std::mt19937_64 rng(2326);
  std::vector<uint32_t> last(region / 8, 0);
  for (int i = 1; i <= writes; ++i) {
    const uint64_t block = rng() % (region / 8);
    REQUIRE(testing::write(card, block * 8, testing::pattern(block * 8, 8, uint32_t(i))).is_ok());
    last[block] = uint32_t(i);
    if (i % 32 == 0) REQUIRE(card.flush().is_ok());
  }
  return last;
}

// Blocks that do not read back their last write; those never written by
// it must hold `unwritten` (-1: not checked).
uint64_t wrong_blocks(Card& card, const std::vector<uint32_t>& last, int64_t unwritten = 0) {
  uint64_t wrong = 0;
  for (uint64_t b = 0; b < last.size(); ++b) {
    const int64_t tag = last[b] != 0 ? int64_t(last[b]) : unwritten;
    if (tag >= 0) wrong += testing::untagged_sectors(card, b * 8, 8, tag) != 0;
  }
  return wrong;
}

void check_counters(const Card& card, const Expected& e) {
  const CardCounters c = card.counters();
  CHECK(c.flash_pages_programmed == e.programmed);
  CHECK(c.merges == e.merges);
  CHECK(c.merge_pages_copied == e.copied);
  CHECK(c.erases == e.erases);
  CHECK(c.au_opens == e.opens);
  CHECK(c.au_closes == e.closes);
  CHECK(c.time.total().count() == e.device_ns);
  uint32_t max_erase = 0;
  for (const AuState& a : card.au_states()) max_erase = std::max(max_erase, a.erase_count);
  CHECK(max_erase == e.max_erase_count);
}

TEST_CASE("a write-amplifying workload gives the counters, device time and wear it gave when moves copied",
          "[sdcard][copy-free]") {
  struct Case {
    const char* profile;
    uint64_t card_bytes, region_sectors;
    int writes;
    Expected expected;
  };
  // class10: block FTL, 2 open AUs, random writes over 4 AUs merge at
  // nearly every write; a2: page FTL, GC over a card written twice over.
  const Case c = GENERATE(Case{"class10", 32 * MiB, 16 * MiB / 512, 3000,
                               {263268, 1522, 260334, 1518, 1528, 1526, 127, 225424020000}},
                          Case{"a2", 16 * MiB, 16 * MiB / 512, 12000,
                               {16270, 57, 4438, 56, 64, 0, 6, 5218880000}});
  INFO(c.profile);
  testing::ScratchDir dir("copy-free");
  const testing::TestStore store = testing::TestStore::image(dir.path("c.img"));
  VirtualClock clock;
  auto card = store.create(testing::profile(c.profile), c.card_bytes, clock);
  REQUIRE(card.is_ok());
  const std::vector<uint32_t> last = random_writes(**card, c.region_sectors, c.writes);
  check_counters(**card, c.expected);
  // What the image took per byte written (issue 23's target: 1.2 at most;
  // image version 7: merge entries packed, GC moves still records).
  CHECK((*card)->counters().image_bytes_per_host_byte() <= 1.2);
  CHECK(wrong_blocks(**card, last) == 0);
  REQUIRE((*card)->close().is_ok());
  auto again = store.open(clock);
  REQUIRE(again.is_ok());
  CHECK(wrong_blocks(**again, last) == 0);
}

TEST_CASE("moved pages cost the image their records, not their data (were 16 KiB each)", "[sdcard][copy-free]") {
  const testing::TestStore store = testing::TestStore::memory();
  VirtualClock clock;
  auto card = store.create(testing::profile("class10"), 32 * MiB, clock);
  REQUIRE(card.is_ok());
  const std::vector<uint32_t> last = random_writes(**card, 16 * MiB / 512, 1000);
  const CardCounters c = (*card)->counters();
  const uint32_t page = (*card)->geometry().page_bytes;
  REQUIRE(c.merge_pages_copied > 20 * (c.flash_pages_programmed - c.merge_pages_copied));
  // Host pages cost at most a whole page each (since image version 4 only
  // the 4 KiB units the host wrote); each move adds one 32-byte record, each
  // erase an AU's records at most, and checkpoints their share: far below a
  // copy per move, and at least the bytes the host wrote.
  const uint64_t host_pages = c.flash_pages_programmed - c.merge_pages_copied;
  CHECK(c.image_bytes_written < host_pages * page + c.merge_pages_copied * page / 50 + c.erases * 8192 +
                                    (c.flash_pages_programmed / 4096 + 2) * 2 * MiB);
  CHECK(c.image_bytes_written > c.host_sectors_written * 512);
  CHECK(c.image_bytes_per_host_byte() > 0);
  CHECK(wrong_blocks(**card, last) == 0);
}

// A power cut during the workload, at many points: after power-on every
// block reads a value it may hold (its last write flushed before the
// cut, or a later one) — the slot map rebuilt from the records names
// the right data — and the card goes on working.
TEST_CASE("the slot map is rebuilt at power-on after a cut during merges", "[sdcard][copy-free][power]") {
  const uint64_t cut_after = GENERATE(40, 133, 401, 777);
  INFO("power cut after command " << cut_after);
  const testing::TestStore store = testing::TestStore::memory();
  VirtualClock clock;
  const uint64_t region = 16 * MiB / 512;
  std::vector<uint32_t> flushed(region / 8, 0), written(region / 8, 0);
  {
    auto card = store.create(testing::profile("class10"), 32 * MiB, clock);
    REQUIRE(card.is_ok());
    FaultPlan f;
    f.power_cut_after = cut_after;
    (*card)->set_faults(f);
    std::mt19937_64 rng(99);
    for (uint32_t i = 1;; ++i) {
      const uint64_t block = rng() % (region / 8);
      written[block] = i;
      if (!testing::write(**card, block * 8, testing::pattern(block * 8, 8, i)).is_ok()) break;
      if (i % 32 == 0) {
        if (!(*card)->flush().is_ok()) break;
        flushed = written;
      }
    }
  }
  auto card = store.open(clock);
  REQUIRE(card.is_ok());
  uint64_t bad = 0;
  for (uint64_t b = 0; b < flushed.size(); ++b) {
    auto data = testing::read(**card, b * 8, 8);
    REQUIRE(data.is_ok());
    const int64_t tag = testing::tag_of(data->data(), b * 8);
    // Flushed writes survive; unflushed ones may or may not have.
    const bool ok = tag == flushed[b] || (tag > int64_t(flushed[b]) && tag <= int64_t(written[b]));
    bad += !ok;
  }
  CHECK(bad == 0);
  const std::vector<uint32_t> last = random_writes(**card, region, 300);
  CHECK(wrong_blocks(**card, last, -1) == 0);
}

uint32_t version_of(const std::string& path) {
  const std::vector<char> raw = testing::file_bytes(path, 0, kHeaderBytes);
  auto h = decode_header(std::as_bytes(std::span(raw)));
  REQUIRE(h.is_ok());
  return h->version;
}

TEST_CASE("a version 2 image opens, is upgraded to 3 when written, and keeps its data through merges",
          "[sdcard][copy-free]") {
  testing::ScratchDir dir("copy-free-v2");
  const std::string path = dir.path("c.img");
  VirtualClock clock;
  // Sequential writes only: no merge, every record names no slot, as a
  // version 2 image's records do.
  {
    auto card = Card::create(path, testing::profile("class10"), 32 * MiB, clock);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 0, testing::pattern(0, 16 * MiB / 512, 1)).is_ok());
    REQUIRE((*card)->close().is_ok());
  }
  REQUIRE(testing::set_header_version(path, kImageVersionNoSlots, true));
  {
    CardOptions ro;
    ro.read_only = true;
    auto card = Card::open(path, clock, ro);
    REQUIRE(card.is_ok());
    CHECK(testing::untagged_sectors(**card, 0, 16 * MiB / 512, 1) == 0);
  }
  CHECK(version_of(path) == kImageVersionNoSlots);  // a read-only open changes nothing
  auto card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  CHECK(version_of(path) == kImageVersion);
  // Over 4 AUs with 2 open: merges move pages whose records name no slot.
  const std::vector<uint32_t> last = random_writes(**card, 16 * MiB / 512, 500);
  REQUIRE((*card)->counters().merges > 0);
  CHECK(wrong_blocks(**card, last, 1) == 0);
  REQUIRE((*card)->close().is_ok());
  card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  CHECK(wrong_blocks(**card, last, 1) == 0);
}

TEST_CASE("a record naming a slot beyond the data area is damaged, not followed", "[sdcard][copy-free]") {
  testing::ScratchDir dir("copy-free-slot");
  const std::string path = dir.path("c.img");
  VirtualClock clock;
  Geometry g;
  {
    auto card = Card::create(path, testing::profile("class10"), 16 * MiB, clock);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 0, testing::pattern(0, 4 * 32, 1)).is_ok());
    g = (*card)->geometry();
    REQUIRE((*card)->close().is_ok());
  }
  // Logical page 2 sits at physical page 2 (a fresh card fills AU 0 in order).
  const ImageLayout l = layout_for(g);
  const std::vector<char> raw = testing::file_bytes(path, l.oob_offset + 2 * kOobBytes, kOobBytes);
  OobRecord r;
  REQUIRE(decode_oob(reinterpret_cast<const std::byte*>(raw.data()), &r) == OobState::kValid);
  REQUIRE(r.logical_page == 2);
  REQUIRE(r.has_slot);
  r.slot = uint32_t(g.physical_pages() + 5);
  std::array<std::byte, kOobBytes> rec;
  encode_oob(r, rec.data());
  OobRecord back;
  REQUIRE(decode_oob(rec.data(), &back) == OobState::kValid);
  CHECK(back.slot == r.slot);
  testing::poke_file(path, l.oob_offset + 2 * kOobBytes,
                     std::vector<char>(reinterpret_cast<const char*>(rec.data()),
                                       reinterpret_cast<const char*>(rec.data()) + kOobBytes));
  auto card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  CHECK(testing::read(**card, 2 * 32, 32).status().code() == EIO);
  CHECK(testing::untagged_sectors(**card, 0, 2 * 32, 1) == 0);
  CHECK(testing::untagged_sectors(**card, 3 * 32, 32, 1) == 0);
}

// A checkpoint rewrites only the blocks of its slot that changed since the
// store last wrote that slot (it was the whole slot, 1 MiB for 2 GiB, at
// every 4096 programs), and what is on disk is still a whole checkpoint.
// The trimmed pages' sequence numbers live past the slot's first block, so
// that block changes only in the checkpoint's header, which ends with its
// own CRC: block sums that were CRCs saw no change there and left the old
// header on disk (the card then found no valid checkpoint).
TEST_CASE("a checkpoint writes the blocks that changed, its header's too, and the card opens with it",
          "[sdcard][copy-free]") {
  testing::ScratchDir dir("copy-free-ckpt");
  const testing::TestStore store = testing::TestStore::image(dir.path("c.img"));
  VirtualClock clock;
  auto card = store.create(testing::profile("class10"), 256 * MiB, clock);
  REQUIRE(card.is_ok());
  Card& c = **card;
  const uint64_t slot_bytes = layout_for(c.geometry()).checkpoint_slot_bytes;
  REQUIRE(slot_bytes >= 32 * 4096);
  REQUIRE(testing::write(c, 0, testing::pattern(0, 1024 * 32, 1)).is_ok());
  // A trim flushed is checkpointed: twice, so that both slots were written once.
  for (uint64_t page = 600; page < 602; ++page) {
    REQUIRE(c.discard(page * 32, 32).is_ok());
    REQUIRE(c.flush().is_ok());
  }
  const uint64_t before = c.counters().image_bytes_written;
  REQUIRE(c.discard(602 * 32, 32).is_ok());
  REQUIRE(c.flush().is_ok());
  const uint64_t written = c.counters().image_bytes_written - before;
  CHECK(written > 4096);  // the header's block and the trimmed page's
  // (and, since version 8, the name slot's first block: its header and the
  // trimmed page's name)
  CHECK(written <= 5 * 4096);
  // Power fails at the next command: no close, power-on from that checkpoint.
  FaultPlan cut;
  cut.power_cut_after = 1;
  c.set_faults(cut);
  REQUIRE(c.flush().is_ok());
  CHECK(!c.flush().is_ok());
  REQUIRE(c.powered_off());
  card = store.open(clock);
  REQUIRE(card.is_ok());
  CHECK(!(*card)->opened_clean());
  CHECK(testing::untagged_sectors(**card, 0, 600 * 32, 1) == 0);
  CHECK(testing::untagged_sectors(**card, 600 * 32, 3 * 32, 0) == 0);
  CHECK(testing::untagged_sectors(**card, 603 * 32, 421 * 32, 1) == 0);
}

}  // namespace
}  // namespace cardfs::sdcard
