// Stack (fusefs/fuse/stack.h): a mount's layers put together and taken
// apart, on a clock the test drives.
#include "fusefs/fuse/stack.h"

#include <catch2/catch.hpp>
#include <ctime>
#include <future>

#include "fusefs/mkfs.h"
#include "sdcard/profiles.h"
#include "tests/support/card_stack.h"
#include "tests/support/scratch_dir.h"

using namespace cardfs;
using namespace std::chrono_literals;

namespace {

// A card image with a fresh cardfs on it, as mkfs.cardfs makes one.
void make_image(const std::string& path, Clock& clock) {
  auto profile = sdcard::find_profile("class10");
  REQUIRE(profile.is_ok());
  const uint64_t bytes = 64ull << 20;
  auto card = sdcard::Card::create(path, **profile, bytes, clock);
  REQUIRE(card.is_ok());
  testing::CardStack s(std::move(*card), clock);
  fusefs::FormatOptions f;
  f.au_size = (*profile)->au_bytes;
  f.now_sec = uint64_t(std::time(nullptr));
  REQUIRE(fusefs::format(*s.cache, bytes, f).is_ok());
  REQUIRE(s.cache->sync_all().is_ok());
  s.queue->wait_idle();
  REQUIRE(s.card->close().is_ok());
}

}  // namespace

// flush-metadata slept in 100 ms steps and looked for the stop between
// them, so every unmount waited up to 100 ms for it. On a clock that moves
// only when told, such a sleeper never wakes: shutdown() returns only if
// it wakes the thread itself.
TEST_CASE("an unmount does not wait for flush-metadata's next wake-up") {
  testing::ScratchDir dir("stack");
  VirtualClock clock(/*auto_advance=*/false);
  make_image(dir.path("card.img"), clock);
  auto stack = fuse::Stack::open(dir.path("card.img"), fuse::MountOptions{}, clock);
  REQUIRE(stack.is_ok());
  auto shutdown = std::async(std::launch::async, [&] { return (*stack)->shutdown(); });
  const bool returned = shutdown.wait_for(20s) == std::future_status::ready;
  if (!returned) clock.advance(10s);  // lets a sleeper go, so that the test ends
  CHECK(returned);
  CHECK(shutdown.get().is_ok());
}
