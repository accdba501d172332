// A durable card makes what it closed durable: the image is fdatasync'd
// after the close's last write (issue 15, item 9: mkfs.cardfs exited 0
// with the filesystem, checkpoint and clean header not synced).
#include <catch2/catch.hpp>

#include "base/clock.h"
#include "sdcard/card.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1 << 20;

TEST_CASE("a durable card syncs the image at flush and after the close's last write", "[sdcard][durable]") {
  testing::ScratchDir dir("durable");
  VirtualClock clock;
  CardOptions durable;
  durable.durable = true;
  auto card = Card::create(dir.path("c.img"), testing::profile("class10"), 8 * MiB, clock, durable);
  REQUIRE(card.is_ok());
  const uint64_t created = (*card)->counters().store_syncs;
  REQUIRE(testing::write(**card, 0, testing::pattern(0, 64, 1)).is_ok());
  REQUIRE((*card)->flush().is_ok());
  const uint64_t flushed = (*card)->counters().store_syncs;
  CHECK(flushed > created);
  REQUIRE((*card)->close().is_ok());
  // The checkpoint (synced before and after it) and then the clean header,
  // synced again: the last thing close does.
  CHECK((*card)->counters().store_syncs >= flushed + 2);
}

TEST_CASE("a card that is not durable leaves syncing to the host", "[sdcard][durable]") {
  testing::ScratchDir dir("not-durable");
  VirtualClock clock;
  auto card = Card::create(dir.path("c.img"), testing::profile("class10"), 8 * MiB, clock);
  REQUIRE(card.is_ok());
  REQUIRE(testing::write(**card, 0, testing::pattern(0, 64, 1)).is_ok());
  REQUIRE((*card)->close().is_ok());
  CHECK((*card)->counters().store_syncs == 0);
}

}  // namespace
}  // namespace cardfs::sdcard
