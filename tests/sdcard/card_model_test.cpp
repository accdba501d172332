// Read-your-writes against a reference model over long random sequences of
// writes, trims, flushes and reopenings.
#include <catch2/catch.hpp>

#include <random>

#include "base/clock.h"
#include "sdcard/card.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1 << 20;

void check_range(Card& card, const std::vector<int64_t>& model, uint64_t first, uint64_t n) {
  auto got = testing::read(card, first, n);
  REQUIRE(got.is_ok());
  for (uint64_t i = 0; i < n; ++i) {
    INFO("sector " << first + i);
    REQUIRE(testing::tag_of(got->data() + i * 512, first + i) == model[first + i]);
  }
}

// On memory (the model's test) unless `on_image`: the image file's own
// reopen path is covered by one of them.
void run_model(const std::string& profile_name, uint32_t seed, int steps, bool on_image = false) {
  testing::ScratchDir dir("model-" + profile_name);
  VirtualClock clock;
  const testing::TestStore store = on_image ? testing::TestStore::image(dir.path("c.img")) : testing::TestStore::memory();
  auto created = store.create(testing::profile(profile_name), 16 * MiB, clock);
  REQUIRE(created.is_ok());
  std::unique_ptr<Card> card = std::move(created).value();
  const uint64_t sectors = card->sector_count();
  std::vector<int64_t> model(sectors, 0);
  std::mt19937_64 rng(seed);
  uint64_t region = 0;
  INFO("profile " << profile_name << " seed " << seed);
  for (int step = 0; step < steps; ++step) {
    INFO("step " << step);
    const int op = int(rng() % 100);
    // Commands stay in one quarter of the card for a while, then move: AUs
    // are rewritten, and merged when the host moves on.
    if (rng() % 5 == 0) region = rng() % 4;
    const uint64_t len = 1 + rng() % (op < 10 ? 300 : 40);
    const uint64_t start = region * (sectors / 4) + rng() % (sectors / 4 - len);
    if (op < 70) {
      const uint32_t tag = uint32_t(step + 1);
      REQUIRE(testing::write(*card, start, testing::pattern(start, len, tag), rng() % 16 == 0).is_ok());
      for (uint64_t s = start; s < start + len; ++s) model[s] = tag;
    } else if (op < 80) {
      REQUIRE(card->discard(start, len).is_ok());
      for (uint64_t s = start; s < start + len; ++s) model[s] = 0;
    } else if (op < 88) {
      REQUIRE(card->flush().is_ok());
    } else if (op < 97) {
      check_range(*card, model, start, len);
    } else {
      REQUIRE(card->close().is_ok());
      card.reset();
      auto reopened = store.open(clock);
      REQUIRE(reopened.is_ok());
      card = std::move(reopened).value();
    }
  }
  check_range(*card, model, 0, sectors);
  const CardCounters c = card->counters();
  CHECK(c.flash_pages_programmed > 0);
  REQUIRE(card->close().is_ok());
  auto reopened = store.open(clock);
  REQUIRE(reopened.is_ok());
  check_range(**reopened, model, 0, sectors);
}

TEST_CASE("reference model: block FTL with one open AU", "[sdcard][model]") { run_model("class4", 4004, 1500, true); }
TEST_CASE("reference model: block FTL with two open AUs", "[sdcard][model]") { run_model("class10", 1010, 1500); }
TEST_CASE("reference model: page FTL", "[sdcard][model]") { run_model("a2", 2222, 1500); }

}  // namespace
}  // namespace cardfs::sdcard
