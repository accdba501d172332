// The card's model does not depend on where its pages live: the same
// commands on the image file, in memory and on the none store (no data)
// give the same device time, counters (merges, erases, programs ...) and
// per-AU wear, through merges, GC, flushes, FUA, trims and a power cut.
#include <catch2/catch.hpp>
#include <random>

#include "sdcard/memory_medium.h"
#include "sdcard/page_store.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1024 * 1024;

struct Outcome {
  CardCounters counters;
  std::vector<AuState> aus;
  int failed_at = -1;  // the command the power cut failed
};

// 2000 commands over an 8 MiB card (GC needs a card written several times): writes of 1..300 sectors (some FUA)
// that stay in one quarter of the card for a while, trims, flushes and
// reads; the seed fixes the sequence.
Outcome run_script(std::unique_ptr<Card> card, uint64_t power_cut_after) {
  if (power_cut_after) {
    FaultPlan f;
    f.power_cut_after = power_cut_after;
    f.seed = 77;
    card->set_faults(f);
  }
  const uint64_t sectors = card->sector_count();
  std::mt19937_64 rng(1717);
  Outcome out;
  uint64_t region = 0;
  for (int step = 0; step < 2000; ++step) {
    const int op = int(rng() % 100);
    if (rng() % 5 == 0) region = rng() % 4;
    const uint64_t len = 1 + rng() % (op < 10 ? 300 : 40);
    const uint64_t start = region * (sectors / 4) + rng() % (sectors / 4 - len);
    Status st;
    if (op < 70)
      st = testing::write(*card, start, testing::pattern(start, len, uint32_t(step + 1)), rng() % 16 == 0);
    else if (op < 80)
      st = card->discard(start, len);
    else if (op < 88)
      st = card->flush();
    else
      st = testing::read(*card, start, len).status();
    if (!st.is_ok()) {
      out.failed_at = step;
      break;
    }
  }
  if (out.failed_at < 0) REQUIRE(card->close().is_ok());
  out.counters = card->counters();
  out.aus = card->au_states();
  return out;
}

void require_same(const Outcome& a, const Outcome& b) {
  const CardCounters &x = a.counters, &y = b.counters;
  CHECK(a.failed_at == b.failed_at);
  CHECK(x.time.total() == y.time.total());
  CHECK(x.time.command == y.time.command);
  CHECK(x.time.transfer == y.time.transfer);
  CHECK(x.time.read == y.time.read);
  CHECK(x.time.program == y.time.program);
  CHECK(x.time.merge == y.time.merge);
  CHECK(x.time.erase == y.time.erase);
  CHECK(x.commands == y.commands);
  CHECK(x.host_sectors_read == y.host_sectors_read);
  CHECK(x.host_sectors_written == y.host_sectors_written);
  CHECK(x.host_sectors_discarded == y.host_sectors_discarded);
  CHECK(x.flushes == y.flushes);
  CHECK(x.flash_pages_read == y.flash_pages_read);
  CHECK(x.flash_pages_programmed == y.flash_pages_programmed);
  CHECK(x.merges == y.merges);
  CHECK(x.merge_pages_copied == y.merge_pages_copied);
  CHECK(x.erases == y.erases);
  CHECK(x.au_opens == y.au_opens);
  CHECK(x.au_closes == y.au_closes);
  REQUIRE(a.aus.size() == b.aus.size());
  for (size_t i = 0; i < a.aus.size(); ++i) {
    INFO("physical AU " << i);
    CHECK(a.aus[i].erase_count == b.aus[i].erase_count);
    CHECK(a.aus[i].valid_pages == b.aus[i].valid_pages);
    CHECK(a.aus[i].logical_au == b.aus[i].logical_au);
    CHECK(std::string(a.aus[i].role) == b.aus[i].role);
  }
}

void check_stores(const std::string& profile, uint64_t power_cut_after) {
  INFO("profile " << profile << ", power cut after " << power_cut_after);
  testing::ScratchDir dir("stores-" + profile);
  VirtualClock clock;
  const Profile& p = testing::profile(profile);
  auto on_image = Card::create(dir.path("c.img"), p, 8 * MiB, clock);
  auto in_memory = Card::create(memory_store(std::make_shared<MemoryMedium>()), p, 8 * MiB, clock);
  auto dataless = Card::create(none_store(), p, 8 * MiB, clock);
  REQUIRE(on_image.is_ok());
  REQUIRE(in_memory.is_ok());
  REQUIRE(dataless.is_ok());
  const Outcome image = run_script(std::move(on_image).value(), power_cut_after);
  const Outcome memory = run_script(std::move(in_memory).value(), power_cut_after);
  const Outcome none = run_script(std::move(dataless).value(), power_cut_after);
  // The script is worth comparing: the model merged, erased, and (when
  // asked) lost power.
  CHECK(image.counters.merges > 0);
  CHECK(image.counters.erases > 0);
  CHECK((power_cut_after == 0) == (image.failed_at < 0));
  require_same(image, memory);
  require_same(image, none);
}

}  // namespace

TEST_CASE("stores agree: block FTL, one open AU", "[sdcard][store]") { check_stores("class4", 0); }
TEST_CASE("stores agree: block FTL, two open AUs", "[sdcard][store]") { check_stores("class10", 0); }
TEST_CASE("stores agree: page FTL with GC", "[sdcard][store]") { check_stores("a2", 0); }
TEST_CASE("stores agree up to a power cut", "[sdcard][store]") {
  check_stores("class4", 333);
  check_stores("a1", 1421);
}

TEST_CASE("the none store keeps nothing: reads return zeros, it cannot be reopened", "[sdcard][store]") {
  VirtualClock clock;
  auto card = Card::create(none_store(), testing::profile("class10"), 8 * MiB, clock);
  REQUIRE(card.is_ok());
  REQUIRE(testing::write(**card, 0, testing::pattern(0, 64, 5), true).is_ok());
  CHECK(testing::untagged_sectors(**card, 0, 64, 0) == 0);  // zeros
  CHECK((*card)->counters().flash_pages_programmed == 2);  // 32 KiB: two 16 KiB pages
  REQUIRE((*card)->close().is_ok());
  CHECK(!Card::open(none_store(), clock).is_ok());
}

TEST_CASE("a memory card reopens with what was flushed", "[sdcard][store]") {
  VirtualClock clock;
  auto medium = std::make_shared<MemoryMedium>();
  {
    auto card = Card::create(memory_store(medium), testing::profile("a2"), 8 * MiB, clock);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 100, testing::pattern(100, 300, 9)).is_ok());
    REQUIRE((*card)->close().is_ok());
  }
  auto card = Card::open(memory_store(medium), clock);
  REQUIRE(card.is_ok());
  CHECK((*card)->opened_clean());
  CHECK(testing::untagged_sectors(**card, 100, 300, 9) == 0);
  CHECK(medium->allocated_bytes() < 4 * MiB);  // sparse
}

}  // namespace cardfs::sdcard
