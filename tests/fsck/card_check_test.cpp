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

}  // namespace

TEST_CASE("check_card: a data AU and the open log rewriting it are not a conflict") {
  cardfs::testing::ScratchDir dir("card-check");
  const std::string path = dir.path("c.img");
  VirtualClock clock;
  auto profile = sdcard::find_profile("class10");
  REQUIRE(profile.is_ok());
  const uint64_t au_sectors = (*profile)->au_bytes / 512;
  {
    auto card = sdcard::Card::create(path, **profile, 8 * (*profile)->au_bytes, clock);
    REQUIRE(card.is_ok());
    for (uint64_t s = 0; s < au_sectors; s += 32)  // logical AU 1, every 16 KiB page
      REQUIRE(write_sector(**card, au_sectors + s, 'a').is_ok());
    REQUIRE((*card)->close().is_ok());
  }
  auto card = sdcard::Card::open(path, clock);
  REQUIRE(card.is_ok());
  REQUIRE(write_sector(**card, au_sectors, 'b').is_ok());  // a rewrite: into a log AU
  REQUIRE((*card)->flush().is_ok());                      // out of the write buffer
  int mapping_au1 = 0;
  for (const auto& a : (*card)->au_states()) mapping_au1 += a.logical_au == 1;
  CHECK(mapping_au1 == 2);  // the data AU and its log
  std::string problems;
  for (const auto& p : check_card(**card)) problems += p + "\n";
  CHECK(problems == "");
  REQUIRE((*card)->close().is_ok());
}

}  // namespace cardfs::fsck
