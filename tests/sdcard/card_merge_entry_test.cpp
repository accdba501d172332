// Merge entries (image version 6; packed since 7): the moves of one merge
// are one entry in the merge table, each moved page naming its data's unit list or slot,
// whose CRC entry describes the data. The image pays an entry per merge,
// not a 32-byte record per moved page; power cuts anywhere in a merge
// (between its moves, torn inside one, before or after its sources'
// erase) and host crashes of a durable card that lose or tear any of the
// writes since the last fdatasync leave every flushed block readable; a
// version 4 or 5 image whose upgrade to 6 was cut short opens and upgrades,
// and its pages move by entries afterwards; version 7 packs each entry's
// names, and a version 6 image's entries still read after its upgrade.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>
#include <tuple>

#include "sdcard/card.h"
#include "sdcard/image_format.h"
#include "sdcard/memory_medium.h"
#include "sdcard/page_store.h"
#include "tests/sdcard/card_fixture.h"
#include "tests/sdcard/tagged_workload.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1024 * 1024;
constexpr uint64_t kRegion = 16 * MiB / 512;  // sectors the workload writes (4 AUs)

// A class10 card of 32 MiB in memory, random 4 KiB writes over its first
// 16 MiB (4 AUs: with 2 open AUs they merge at nearly every flush).
struct Workload : testing::TaggedWorkload {
  explicit Workload(bool durable, uint32_t flush_every = 32)
      : TaggedWorkload(32 * MiB, kRegion * 512, durable, flush_every) {}
};

// The command (its index since open) of a workload that moves the most
// pages among commands 150-250, and how many pages it programs and moves.
struct MergingCommand {
  uint64_t index = 0;
  uint64_t programs = 0;
};

MergingCommand busiest_command() {
  Workload w(false);
  auto card = w.create();
  REQUIRE(card.is_ok());
  MergingCommand best;
  uint64_t best_moves = 0;
  std::mt19937_64 rng(13);
  for (int i = 0; i < 400; ++i) {
    const CardCounters before = (*card)->counters();
    const uint64_t block = rng() % (kRegion / 8);
    REQUIRE(testing::write(**card, block * 8, testing::pattern(block * 8, 8, w.next)).is_ok());
    if (w.next++ % 32 == 0) REQUIRE((*card)->flush().is_ok());
    const CardCounters after = (*card)->counters();
    const uint64_t moves = after.merge_pages_copied - before.merge_pages_copied;
    if (after.commands >= 150 && after.commands <= 250 && moves > best_moves) {
      best_moves = moves;
      best = {after.commands, after.flash_pages_programmed - before.flash_pages_programmed};
    }
  }
  REQUIRE(best_moves > 200);
  return best;
}

// The merge table's entries of the image at path rewritten in version 6's
// encoding (4 bytes per name): what a version 6 cardfs left. Returns how
// many there are.
uint32_t rewrite_entries_as_version_6(const std::string& path, const Geometry& g) {
  return testing::rewrite_merge_entries(path, g, /*packed=*/false, [](MergeEntry&) { return true; });
}

}  // namespace

TEST_CASE("a merge entry round-trips in both encodings, and a damaged one does not decode", "[sdcard][merge-entry]") {
  const bool packed = GENERATE(false, true);
  const bool checks = GENERATE(false, true);
  INFO((packed ? "packed" : "version 6") << (checks ? ", with checked pages" : ""));
  VirtualClock clock;
  auto card = Card::create(memory_store(std::make_shared<MemoryMedium>()), testing::profile("class10"), 32 * MiB, clock);
  REQUIRE(card.is_ok());
  const Geometry g = (*card)->geometry();
  const uint32_t names = uint32_t(2 * g.physical_pages());
  MergeEntry m;
  m.au = 5, m.generation = 9, m.erase_count = 4, m.base_seq = 123456, m.lau = 3;
  std::mt19937 rng(7);
  for (uint32_t s = 0; s < g.pages_per_au; s += 1 + rng() % 3) {
    m.slots.push_back(s);
    // The largest and smallest names, and any between.
    m.names.push_back(s == 0 ? names - 1 : s == 1 ? 0 : rng() % names);
    m.verify.push_back(checks && rng() % 4 == 0);
    m.crcs.push_back(m.verify.back() ? uint32_t(rng()) : 0);
  }
  std::vector<std::byte> buf(merge_entry_bytes(g));
  const size_t used = encode_merge_entry(m, g, buf.data(), packed);
  const size_t bitmaps = (checks || !packed ? 2 : 1) * g.pages_per_au / 8;
  const size_t name_bytes = packed ? (m.names.size() * data_name_bits(g) + 7) / 8 : 4 * m.names.size();
  const size_t crcs = 4 * size_t(std::count(m.verify.begin(), m.verify.end(), true));
  CHECK(used == 32 + bitmaps + name_bytes + crcs + 4);
  if (packed) {
    // The on-disk bit order, read a bit at a time: each name's least
    // significant bit first, from bit 0 of the byte after the bitmaps.
    const uint32_t width = data_name_bits(g);
    for (size_t i = 0; i < m.names.size(); ++i) {
      uint32_t name = 0;
      for (uint32_t b = 0; b < width; ++b) {
        const size_t at = i * width + b;
        name |= (std::to_integer<uint32_t>(buf[32 + bitmaps + at / 8]) >> (at % 8) & 1) << b;
      }
      CHECK(name == m.names[i]);
    }
  }
  MergeEntry out;
  REQUIRE(decode_merge_entry(5, buf, g, &out) == OobState::kValid);
  CHECK(std::tie(out.au, out.generation, out.erase_count, out.base_seq, out.lau) ==
        std::tie(m.au, m.generation, m.erase_count, m.base_seq, m.lau));
  CHECK(out.slots == m.slots);
  CHECK(out.names == m.names);
  CHECK(out.verify == m.verify);
  CHECK(out.crcs == m.crcs);
  CHECK(decode_merge_entry(6, buf, g, &out) == OobState::kCorrupt);  // another AU's place
  CHECK(decode_merge_entry(5, std::span(buf).first(buf.size() - 1), g, &out) == OobState::kCorrupt);
  for (size_t i = 0; i < used; ++i) {
    std::vector<std::byte> bad = buf;
    bad[i] ^= std::byte{0x10};
    CHECK(decode_merge_entry(5, bad, g, &out) != OobState::kValid);
  }
  // A name beyond the card's, with a good CRC, is refused too.
  m.names[2] = names;
  if (packed && data_name_bits(g) == 32) return;  // (not for this card)
  encode_merge_entry(m, g, buf.data(), packed);
  CHECK(decode_merge_entry(5, buf, g, &out) == OobState::kCorrupt);
}

TEST_CASE("a merge costs the image one entry, not a record per moved page", "[sdcard][merge-entry]") {
  Workload w(false);
  auto card = w.create();
  REQUIRE(card.is_ok());
  REQUIRE(w.run(**card, 2000, 23));
  const CardCounters c = (*card)->counters();
  const Geometry g = (*card)->geometry();
  const uint64_t host_pages = c.flash_pages_programmed - c.merge_pages_copied;
  REQUIRE(c.merge_pages_copied > 20 * host_pages);
  // Data: a unit per write; per page programmed its record, unit list and
  // CRC entry; per merge an entry (at most its table slot) and a few CRC
  // entries; erases 8 bytes; checkpoints their changed blocks. No 32
  // bytes per moved page (they alone would be more than this).
  const uint64_t rest = c.host_sectors_written * 512 + host_pages * (kOobBytes + 16 + kDataCrcBytes) +
                        c.erases * kEraseEntryBytes + (c.flushes + 4) * 3 * 4096;
  const uint64_t bound = rest + c.merges * merge_entry_bytes(g);
  CHECK(c.image_bytes_written < bound);
  CHECK(c.merge_pages_copied * kOobBytes > bound - c.host_sectors_written * 512);
  // Version 7 packs an entry's names (13 bits each on this card) and
  // carries CRCs only of pages named since the last flush: all the image
  // takes beyond the host's data is now less than version 6's 4 bytes per
  // moved page's name alone.
  CHECK(c.image_bytes_written - c.host_sectors_written * 512 < c.merge_pages_copied * 4);
  REQUIRE((*card)->close().is_ok());
  card = w.open();
  REQUIRE(card.is_ok());
  CHECK(w.lost_blocks(**card) == 0);
}

// The card's own power cut at every program of the command that moves the
// most pages (before its first, after each of its programs and moves,
// torn or between), on a normal and a durable card: the merge's entry
// holds the moves done, its sources stay until they were erased after it.
TEST_CASE("power cut after each move of a merge: every flushed block reads back", "[sdcard][merge-entry][power]") {
  const bool durable = GENERATE(false, true);
  const bool torn = GENERATE(false, true);
  const MergingCommand cmd = busiest_command();
  INFO("command " << cmd.index << " programs " << cmd.programs << (durable ? ", durable" : "") << (torn ? ", torn" : ""));
  for (uint64_t k = 0; k <= cmd.programs; k += k < 8 || k + 8 > cmd.programs ? 1 : 5) {
    INFO("cut at program " << k);
    Workload w(durable);
    auto card = w.create();
    REQUIRE(card.is_ok());
    FaultPlan f;
    f.power_cut_after = cmd.index - 1;
    f.cut = FaultPlan::Cut::kTorn;
    f.torn_after = k;
    if (!torn) f.cut = k == 0 ? FaultPlan::Cut::kBetween : FaultPlan::Cut::kTorn;
    (*card)->set_faults(f);
    CHECK_FALSE(w.run(**card, 400, 13));
    card = {Status::error(EIO, "dropped")};
    card = w.open();
    REQUIRE(card.is_ok());
    CHECK(w.lost_blocks(**card) == 0);
    if (k % 40 == 0) w.keeps_working(card, 14);
  }
}

// A host crash of a durable card: of the writes since the last fdatasync
// (the last flush, or the one before an erase), any may have reached the
// disk, or part of one. Whatever reached it, every flushed block reads
// its flushed data or a later write's (and keeps doing so through more
// merges and a clean close: the random tears found a record torn by the
// crash, left in its slot, hiding the merge page later moved there from
// the next power-on). After 320 writes with a flush
// every 32, no flush: the write buffer (1024 sectors) fills every 128
// writes, and its programs and merges reach the image unsynced.
TEST_CASE("host crash of a durable card: any unsynced writes lost or torn, no flushed block lost",
          "[sdcard][merge-entry][power]") {
  const int policy = GENERATE(0, 1, 2, 3, 4, 5, 6, 7);
  const int writes = GENERATE(130, 170, 230, 300);
  static const char* kPolicies[] = {"all lost",
                                    "merge entries reached, the rest lost",
                                    "merge entries lost, the rest reached",
                                    "data CRC entries lost, the rest reached",
                                    "erase entries reached, the rest lost",
                                    "each reached, lost or torn at random",
                                    "each reached, lost or torn at random (seed 2)",
                                    "each reached, lost or torn at random (seed 3)"};
  INFO(kPolicies[policy] << ", crash after " << writes << " writes");
  Workload w(true);
  auto card = w.create();
  REQUIRE(card.is_ok());
  const ImageLayout l = layout_for((*card)->geometry());
  w.medium->record_unsynced();
  REQUIRE(w.run(**card, 320, 30));
  w.flush_every = 1000;
  REQUIRE(w.run(**card, writes, 31));
  (*card)->cut_power();
  card = {Status::error(EIO, "dropped")};
  REQUIRE(w.medium->unsynced_writes() > 0);
  std::mt19937 rng(uint32_t(writes * 8 + policy));
  auto in = [](uint64_t off, uint64_t from, uint64_t to) { return off >= from && off < to; };
  w.medium->crash([&](size_t, uint64_t off, uint64_t len) -> uint64_t {
    const bool merge = in(off, l.merge_table_offset, l.backup_header_offset);
    const bool crc = in(off, l.data_crc_offset, l.merge_table_offset);
    const bool erase = in(off, l.erase_table_offset, l.unit_table_offset);
    switch (policy) {
      case 0: return 0;
      case 1: return merge ? len : 0;
      case 2: return merge ? 0 : len;
      case 3: return crc ? 0 : len;
      case 4: return erase ? len : 0;
      default: {
        const uint32_t r = rng() % 3;
        return r == 0 ? 0 : r == 1 ? len : len / 2;
      }
    }
  });
  card = w.open();
  REQUIRE(card.is_ok());
  CHECK(w.lost_blocks(**card) == 0);
  w.keeps_working(card, 32);
}

// Version 6 wrote each name in 4 bytes ("MRG1"); version 7 reads those
// and writes packed entries from its upgrade on: through a clean open
// (the clean map) or a scan, a power cut, and more merges.
TEST_CASE("a version 6 image's merge entries still read after its upgrade to 7", "[sdcard][merge-entry]") {
  const bool clean = GENERATE(true, false);
  INFO((clean ? "closed cleanly" : "power cut"));
  testing::ScratchDir dir("merge-entry-v6");
  const std::string path = dir.path("c.img");
  Workload w(false);
  Geometry g;
  {
    auto card = Card::create(path, testing::profile("class10"), 32 * MiB, w.clock);
    REQUIRE(card.is_ok());
    g = (*card)->geometry();
    REQUIRE(w.run(**card, 600, 41));
    REQUIRE((*card)->counters().merges > 20);
    if (clean) REQUIRE((*card)->close().is_ok());
    else (*card)->cut_power();
  }
  REQUIRE(rewrite_entries_as_version_6(path, g) > 4);
  REQUIRE(testing::set_header_version(path, kImageVersionMerges, true));
  {
    CardOptions ro;
    ro.read_only = true;
    auto card = Card::open(path, w.clock, ro);
    REQUIRE(card.is_ok());
    CHECK(w.lost_blocks(**card) == 0);
  }
  CHECK(testing::header_version(path) == kImageVersionMerges);
  auto card = Card::open(path, w.clock);
  REQUIRE(card.is_ok());
  CHECK(testing::header_version(path) == kImageVersion);
  CHECK(w.lost_blocks(**card) == 0);
  w.adopt(**card);
  REQUIRE(w.run(**card, 300, 42));
  CHECK(testing::entries_with_magic(path, g, "MRG2") > 0);
  (*card)->cut_power();
  card = Card::open(path, w.clock);
  REQUIRE(card.is_ok());
  CHECK(w.lost_blocks(**card) == 0);
}

TEST_CASE("a version 4 or 5 image whose upgrade to 6 was cut short opens, upgrades, and its pages move by entries",
          "[sdcard][merge-entry]") {
  const uint32_t version = GENERATE(kImageVersionUnits, kImageVersionCleanMap);
  INFO("from version " << version);
  testing::ScratchDir dir("merge-entry-upgrade");
  const std::string path = dir.path("c.img");
  VirtualClock clock;
  {
    // Whole pages and a few 4 KiB writes into two AUs (the two open logs:
    // no merge), as versions 4 and 5 write them (a clean close: version 5
    // then opens from its clean map).
    auto card = Card::create(path, testing::profile("class10"), 32 * MiB, clock);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 0, testing::pattern(0, 16 * MiB / 512, 1)).is_ok());
    for (uint64_t b = 0; b < 8 * MiB / 4096; b += 37)
      REQUIRE(testing::write(**card, b * 8, testing::pattern(b * 8, 8, 2)).is_ok());
    REQUIRE((*card)->counters().merges == 0);
    REQUIRE((*card)->close().is_ok());
  }
  // The upgrade grew the file, then the power failed before the headers.
  REQUIRE(testing::cut_short_upgrade_from(path, version));
  auto card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  CHECK(testing::header_version(path) == kImageVersion);
  std::vector<uint32_t> last(16 * MiB / 4096, 1);
  for (uint64_t b = 0; b < 8 * MiB / 4096; b += 37) last[b] = 2;
  // Merges move the older version's pages (their data gets a CRC entry first),
  // then a power cut, then the same again.
  std::mt19937_64 rng(3);
  for (int round = 0; round < 2; ++round) {
    const CardCounters before = (*card)->counters();
    for (uint32_t i = 0; i < 400; ++i) {
      const uint64_t b = rng() % last.size();
      const uint32_t tag = 3 + round * 1000 + i;
      REQUIRE(testing::write(**card, b * 8, testing::pattern(b * 8, 8, tag)).is_ok());
      last[b] = tag;
    }
    REQUIRE((*card)->flush().is_ok());
    const CardCounters c = (*card)->counters();
    REQUIRE(c.erases > before.erases);
    // Moves cost entries (and a CRC entry for data from version 4), not records.
    CHECK(c.image_bytes_written - before.image_bytes_written - (c.host_sectors_written - before.host_sectors_written) * 512 <
          (c.merge_pages_copied - before.merge_pages_copied) * kOobBytes);
    (*card)->cut_power();
    card = Card::open(path, clock);
    REQUIRE(card.is_ok());
    for (uint64_t b = 0; b < last.size(); ++b) CHECK(testing::untagged_sectors(**card, b * 8, 8, last[b]) == 0);
  }
}

}  // namespace cardfs::sdcard
