// check_card: the card's own metadata as fsck.cardfs checks it. A block
// FTL keeps a logical AU's data AU while a log AU takes its rewrites (and
// across a clean close): that pair is not a conflict.
#include <sys/uio.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/clock.h"
#include "sdcard/profiles.h"
#include "tests/support/scratch_dir.h"
#include "tools/fsck/card_io.h"

namespace cardfs::fsck {
namespace {

Status write_sector(sdcard::Card& card, uint64_t sector, char fill) {
  std::vector<char> buf(512, fill);
  iovec v{buf.data(), buf.size()};
  return card.write(sector, std::span(&v, 1), false);
}

// A class10 card of 8 AUs whose logical AU 1 is written (every 16 KiB
// page), closed cleanly; returns the AU's size in sectors.
uint64_t make_card_with_au1(const std::string& path, Clock& clock) {
  auto profile = sdcard::find_profile("class10");
  REQUIRE(profile.is_ok());
  const uint64_t au_sectors = (*profile)->au_bytes / 512;
  auto card = sdcard::Card::create(path, **profile, 8 * (*profile)->au_bytes, clock);
  REQUIRE(card.is_ok());
  for (uint64_t s = 0; s < au_sectors; s += 32) REQUIRE(write_sector(**card, au_sectors + s, 'a').is_ok());
  REQUIRE((*card)->close().is_ok());
  return au_sectors;
}

}  // namespace

TEST_CASE("check_card: a data AU and the open log rewriting it are not a conflict") {
  cardfs::testing::ScratchDir dir("card-check");
  const std::string path = dir.path("c.img");
  VirtualClock clock;
  const uint64_t au_sectors = make_card_with_au1(path, clock);
  auto card = sdcard::Card::open(path, clock);
  REQUIRE(card.is_ok());
  REQUIRE(write_sector(**card, au_sectors, 'b').is_ok());  // a rewrite: into a log AU
  REQUIRE((*card)->flush().is_ok());                      // out of the write buffer
  int mapping_au1 = 0;
  for (const auto& a : (*card)->au_states()) mapping_au1 += a.logical_au == 1;
  CHECK(mapping_au1 == 2);  // the data AU and its log
  std::string problems;
  for (const auto& p : check_card(**card)) problems += p.message + "\n";
  CHECK(problems == "");
  REQUIRE((*card)->close().is_ok());
}

TEST_CASE("check_card: a logical AU split by an unclean stop is for power-on recovery, not an error (fsck -n exit 4)") {
  cardfs::testing::ScratchDir dir("card-check-unclean");
  const std::string path = dir.path("c.img");
  VirtualClock clock;
  const uint64_t au_sectors = make_card_with_au1(path, clock);
  {
    auto card = sdcard::Card::open(path, clock);
    REQUIRE(card.is_ok());
    REQUIRE(write_sector(**card, au_sectors, 'b').is_ok());  // into a log AU
    sdcard::FaultPlan cut;
    cut.power_cut_after = 1;  // the flush completes, power fails in the next command
    (*card)->set_faults(cut);
    REQUIRE((*card)->flush().is_ok());
    CHECK_FALSE(write_sector(**card, 0, 'c').is_ok());
  }
  sdcard::CardOptions ro;
  ro.read_only = true;
  auto card = sdcard::Card::open(path, clock, ro);
  REQUIRE(card.is_ok());
  REQUIRE_FALSE((*card)->opened_clean());
  const std::vector<CardFinding> seen = check_card(**card, /*read_only=*/true);
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].recovery_resolves);
  CHECK(seen[0].message.find("Logical AU 1 is mapped by physical AUs") != std::string::npos);
  card->reset();
  // Opened read-write, the card's recovery merges them: nothing to report.
  auto rw = sdcard::Card::open(path, clock);
  REQUIRE(rw.is_ok());
  CHECK(check_card(**rw).empty());
  REQUIRE((*rw)->close().is_ok());
}

}  // namespace cardfs::fsck
