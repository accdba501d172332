// Merge copies: a fold moves a data AU's pages inside the image and their
// new OOB records carry the source's data CRC. The power-on scan checks
// the CRC of every page newer than the checkpoint, so a wrong carried CRC
// would make it drop the copies (and the data) after a power cut. A copy
// of a page whose record was damaged stays unreadable (marked so in its
// record), after a power cut too.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "base/clock.h"
#include "sdcard/card.h"
#include "sdcard/image_format.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

using testing::pattern;
using testing::tag_of;

constexpr uint64_t MiB = 1 << 20;
constexpr uint64_t kAuSectors = 4 * MiB / 512;

// The physical AU holding logical AU `lau`'s data (block FTL).
int64_t data_au_of(const Card& c, int64_t lau) {
  const std::vector<AuState> aus = c.au_states();
  for (size_t au = 0; au < aus.size(); ++au)
    if (aus[au].logical_au == lau && std::strcmp(aus[au].role, "data") == 0) return int64_t(au);
  return -1;
}

// Overwrites the OOB record of one physical page with garbage, as damage
// in the image would (the card keeps no copy of its records in memory).
void damage_oob(const std::string& path, const Card& c, uint64_t physical_page) {
  const ImageLayout layout = layout_for(c.geometry());
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  std::byte junk[kOobBytes];
  std::memset(junk, 0xAB, sizeof junk);
  const off_t at = off_t(layout.oob_offset + physical_page * kOobBytes);
  REQUIRE(::pwrite(fd, junk, sizeof junk, at) == ssize_t(sizeof junk));
  ::close(fd);
}

// Sectors of logical pages [first, last) that do not read back with `tag`;
// with `page5_bad` page 5 must instead fail with EIO (a page whose record
// was damaged stays unreadable when moved, as a card's ECC error does).
uint64_t wrong_sectors(Card& c, uint64_t first, uint64_t last, int64_t tag, bool page5_bad) {
  const uint64_t spp = c.geometry().page_bytes / 512;
  uint64_t wrong = 0;
  for (uint64_t p = first; p < last; ++p) {
    if (page5_bad && p == 5)
      wrong += testing::read(c, p * spp, spp).status().code() == EIO ? 0 : spp;
    else
      wrong += testing::untagged_sectors(c, p * spp, spp, tag);
  }
  return wrong;
}

TEST_CASE("pages moved by a merge are checked and kept at power-on", "[sdcard][merge]") {
  const bool damaged_source = GENERATE(false, true);
  INFO((damaged_source ? "one source OOB record damaged before the merge" : "intact sources"));
  testing::ScratchDir dir("merge-copy");
  VirtualClock clock;
  const std::string path = dir.path("c.img");
  // class4: block FTL with one open AU, so switching AU closes the log.
  auto card = Card::create(path, testing::profile("class4"), 8 * MiB, clock);
  REQUIRE(card.is_ok());
  Card& c = **card;
  const uint32_t ppa = c.geometry().pages_per_au;
  const uint64_t page_sectors = c.geometry().page_bytes / 512;
  REQUIRE(testing::write(c, 0, pattern(0, kAuSectors, 1)).is_ok());  // AU 0 whole
  REQUIRE(testing::write(c, kAuSectors, pattern(kAuSectors, 64, 2)).is_ok());  // closes AU 0's log
  REQUIRE(c.flush().is_ok());
  const int64_t data_au = data_au_of(c, 0);
  REQUIRE(data_au >= 0);
  if (damaged_source) damage_oob(path, c, uint64_t(data_au) * ppa + 5);  // logical page 5
  const CardCounters before = c.counters();
  // One page of AU 0 rewritten, then AU 1 again: AU 0's log folds, moving
  // the other pages of its data AU into it.
  REQUIRE(testing::write(c, 0, pattern(0, page_sectors, 3)).is_ok());
  REQUIRE(testing::write(c, kAuSectors, pattern(kAuSectors, 64, 4)).is_ok());
  REQUIRE(c.flush().is_ok());
  const CardCounters after = c.counters();
  CHECK(after.merges == before.merges + 1);
  CHECK(after.merge_pages_copied - before.merge_pages_copied == ppa - 1);
  CHECK(data_au_of(c, 0) != data_au);
  CHECK(testing::untagged_sectors(c, 0, page_sectors, 3) == 0);
  CHECK(wrong_sectors(c, 1, ppa, 1, damaged_source) == 0);
  // AU 0 again: opening its log takes the last free AU, so the erase queue
  // drains and the merge's source AU is erased: the moved pages are the
  // only copies left.
  REQUIRE(testing::write(c, 10 * page_sectors, pattern(10 * page_sectors, page_sectors, 6)).is_ok());
  REQUIRE(c.flush().is_ok());
  CHECK(c.counters().erases > after.erases);
  CHECK(c.au_states()[size_t(data_au)].erase_count == 1);

  // Power fails during the next command: no checkpoint covers the moved
  // pages, so the scan checks each one's data against its carried CRC.
  FaultPlan cut;
  cut.power_cut_after = 1;  // this flush completes, the write after it is cut
  c.set_faults(cut);
  REQUIRE(c.flush().is_ok());
  CHECK_FALSE(testing::write(c, 2 * kAuSectors - 64, pattern(2 * kAuSectors - 64, 64, 5)).is_ok());
  REQUIRE(c.powered_off());
  card->reset();
  auto reopened = Card::open(path, clock);
  REQUIRE(reopened.is_ok());
  CHECK_FALSE((*reopened)->opened_clean());
  CHECK(testing::untagged_sectors(**reopened, 0, page_sectors, 3) == 0);
  CHECK(wrong_sectors(**reopened, 1, 10, 1, damaged_source) == 0);
  CHECK(testing::untagged_sectors(**reopened, 10 * page_sectors, page_sectors, 6) == 0);
  CHECK(testing::untagged_sectors(**reopened, 11 * page_sectors, kAuSectors - 11 * page_sectors, 1) == 0);
  CHECK(testing::untagged_sectors(**reopened, kAuSectors, 64, 4) == 0);
}

}  // namespace
}  // namespace cardfs::sdcard
