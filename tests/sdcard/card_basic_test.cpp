#include <catch2/catch.hpp>

#include <atomic>
#include <optional>
#include <utility>
#include <vector>
#include <thread>

#include "base/clock.h"
#include "sdcard/card.h"
#include "sdcard/geometry.h"
#include "sdcard/memory_medium.h"
#include "sdcard/page_store.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

using testing::pattern;
using testing::tag_of;

constexpr uint64_t MiB = 1 << 20;

TEST_CASE("a new card reads zeros and reads back what was written", "[sdcard]") {
  testing::ScratchDir dir("basic");
  VirtualClock clock;
  auto card = Card::create(dir.path("c.img"), testing::profile("class10"), 16 * MiB, clock);
  REQUIRE(card.is_ok());
  Card& c = **card;
  CHECK(c.sector_count() == 16 * MiB / 512);
  auto zeros = testing::read(c, 100, 8);
  REQUIRE(zeros.is_ok());
  CHECK(tag_of(zeros->data(), 100) == 0);

  REQUIRE(testing::write(c, 3, pattern(3, 70, 7)).is_ok());  // unaligned, spans pages
  auto back = testing::read(c, 0, 80);
  REQUIRE(back.is_ok());
  for (uint64_t s = 0; s < 80; ++s)
    CHECK(tag_of(back->data() + s * 512, s) == ((s >= 3 && s < 73) ? 7 : 0));
  CHECK(c.counters().host_sectors_written == 70);
  CHECK(c.device_time() > Nanos(0));
}

// A new card's whole discard skips its whole pages (nothing is mapped or
// buffered); what is buffered before it, partial pages at its ends and
// what is written after it behave as on any card.
TEST_CASE("a discard of a whole new card skips its pages but not partial ones or buffered data", "[sdcard]") {
  VirtualClock clock;
  auto card = Card::create(memory_store(std::make_shared<MemoryMedium>()), testing::profile("class10"), 16 * MiB, clock);
  REQUIRE(card.is_ok());
  Card& c = **card;
  const uint64_t n = c.sector_count();
  REQUIRE(c.discard(0, n).is_ok());
  CHECK(c.counters().host_sectors_discarded == n);
  // Buffered, then discarded from mid-page to mid-page: the buffer is not
  // empty, so every page is trimmed; the ends keep what is outside.
  REQUIRE(testing::write(c, 0, pattern(0, 256, 5)).is_ok());
  REQUIRE(c.discard(3, n - 6).is_ok());
  auto back = testing::read(c, 0, 256);
  REQUIRE(back.is_ok());
  for (uint64_t s = 0; s < 256; ++s) CHECK(tag_of(back->data() + s * 512, s) == (s < 3 ? 5 : 0));
  REQUIRE(testing::write(c, 64, pattern(64, 64, 6)).is_ok());
  REQUIRE(c.flush().is_ok());
  REQUIRE(c.discard(65, 62).is_ok());  // within written pages, after a flush
  back = testing::read(c, 64, 64);
  REQUIRE(back.is_ok());
  for (uint64_t s = 64; s < 128; ++s) CHECK(tag_of(back->data() + (s - 64) * 512, s) == (s == 64 || s == 127 ? 6 : 0));
}

TEST_CASE("data survives close and reopen", "[sdcard]") {
  testing::ScratchDir dir("reopen");
  VirtualClock clock;
  const std::string path = dir.path("c.img");
  {
    auto card = Card::create(path, testing::profile("class4"), 8 * MiB, clock);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 0, pattern(0, 2048, 1)).is_ok());
    REQUIRE(testing::write(**card, 9000, pattern(9000, 33, 2)).is_ok());
    REQUIRE((*card)->discard(64, 64).is_ok());
    REQUIRE((*card)->close().is_ok());
  }
  auto card = Card::open(path, clock);
  REQUIRE(card.is_ok());
  auto back = testing::read(**card, 0, 2048);
  REQUIRE(back.is_ok());
  for (uint64_t s = 0; s < 2048; ++s) CHECK(tag_of(back->data() + s * 512, s) == (s >= 64 && s < 128 ? 0 : 1));
  auto more = testing::read(**card, 9000, 33);
  REQUIRE(more.is_ok());
  for (uint64_t s = 0; s < 33; ++s) CHECK(tag_of(more->data() + s * 512, 9000 + s) == 2);
}

TEST_CASE("open reports the power-on scan's progress, increasing up to every page", "[sdcard]") {
  testing::ScratchDir dir("scan_progress");
  VirtualClock clock;
  const std::string path = dir.path("c.img");
  {
    // Large enough for several chunks of records; the image file is sparse.
    auto card = Card::create(path, testing::profile("class10"), 256 * MiB, clock);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 0, pattern(0, 64, 1)).is_ok());
    // Not closed: a card closed cleanly opens without a scan (its clean map).
    REQUIRE((*card)->flush().is_ok());
    (*card)->cut_power();
  }
  std::vector<std::pair<uint64_t, uint64_t>> calls;
  CardOptions o;
  o.progress = [&](uint64_t done, uint64_t total) { calls.emplace_back(done, total); };
  auto card = Card::open(path, clock, o);
  REQUIRE(card.is_ok());
  const uint64_t pages = (*card)->geometry().physical_pages();
  REQUIRE(calls.size() >= 3);
  CHECK(calls.front().first == 0);
  CHECK(calls.back() == std::pair<uint64_t, uint64_t>{pages, pages});
  for (size_t i = 0; i < calls.size(); ++i) {
    CHECK(calls[i].second == pages);
    if (i > 0) CHECK(calls[i].first > calls[i - 1].first);
  }
  CHECK(testing::untagged_sectors(**card, 0, 64, 1) == 0);
}

// mkfs -n made its dataless twin from a Profile on its stack and used the
// card after that frame was gone (ASan: stack-use-after-scope in a discard):
// the card keeps its own copy.
TEST_CASE("a card keeps its own copy of the profile it was made from", "[sdcard]") {
  VirtualClock clock;
  std::optional<Profile> given(testing::profile("class10"));
  auto card = Card::create(none_store(), *given, 16 * MiB, clock);
  REQUIRE(card.is_ok());
  const Nanos overhead = given->command_overhead;
  REQUIRE(overhead > Nanos(0));
  Profile other = *given;
  other.command_overhead = overhead * 1000;
  given.emplace(other);  // the same storage now holds another profile
  const Nanos before = (*card)->device_time();
  REQUIRE((*card)->discard(0, 8).is_ok());
  CHECK((*card)->profile().command_overhead == overhead);
  CHECK((*card)->device_time() - before < overhead * 1000);
  given.reset();
  REQUIRE((*card)->flush().is_ok());
}

TEST_CASE("create refuses an existing file and bad sizes", "[sdcard]") {
  testing::ScratchDir dir("create");
  VirtualClock clock;
  const std::string path = dir.path("c.img");
  REQUIRE(Card::create(path, testing::profile("class10"), 8 * MiB, clock).is_ok());
  auto again = Card::create(path, testing::profile("class10"), 8 * MiB, clock);
  REQUIRE_FALSE(again.is_ok());
  CHECK(again.status().code() == EEXIST);
  auto odd = Card::create(dir.path("odd.img"), testing::profile("class10"), 8 * MiB + 512, clock);
  REQUIRE_FALSE(odd.is_ok());
  CHECK(odd.status().message().find("multiple of the AU") != std::string::npos);
}

TEST_CASE("out-of-range and misaligned commands are refused", "[sdcard]") {
  testing::ScratchDir dir("range");
  VirtualClock clock;
  auto card = Card::create(dir.path("c.img"), testing::profile("class10"), 4 * MiB, clock);
  REQUIRE(card.is_ok());
  std::vector<std::byte> buf(700);
  iovec v{buf.data(), buf.size()};
  CHECK((*card)->write(0, std::span<const iovec>(&v, 1), false).code() == EINVAL);
  CHECK(testing::write(**card, (*card)->sector_count() - 1, pattern(0, 2, 1)).code() == EINVAL);
  CHECK((*card)->discard((*card)->sector_count(), 1).code() == EINVAL);
}

}  // namespace
}  // namespace cardfs::sdcard

namespace cardfs::sdcard {
namespace {

TEST_CASE("commands from several threads are serialised - counters read meanwhile", "[sdcard][threads]") {
  testing::ScratchDir dir("threads");
  VirtualClock clock;  // auto-advancing: realtime sleeps cost nothing
  CardOptions opts;
  opts.realtime = true;
  auto card = Card::create(dir.path("c.img"), testing::profile("class10"), 8 * MiB, clock, opts);
  REQUIRE(card.is_ok());
  Card& c = **card;
  std::atomic<bool> done{false};
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (uint32_t t = 0; t < 3; ++t) {
    writers.emplace_back([&, t] {
      for (uint64_t i = 0; i < 50; ++i) {
        const uint64_t sector = t * 4096 + i * 16;
        if (!testing::write(c, sector, pattern(sector, 16, t + 1)).is_ok()) ++failures;
        if (!testing::read(c, sector, 16).is_ok()) ++failures;
        if (i % 10 == 0 && !c.flush().is_ok()) ++failures;
      }
    });
  }
  std::thread watcher([&] {
    uint64_t last = 0;
    while (!done) {
      const CardCounters k = c.counters();
      if (k.commands < last) ++failures;
      last = k.commands;
      (void)c.device_time();
    }
  });
  for (auto& w : writers) w.join();
  done = true;
  watcher.join();
  CHECK(failures == 0);
  CHECK(c.counters().host_sectors_written == 3 * 50 * 16);
  CHECK(clock.now() >= c.device_time());
  for (uint32_t t = 0; t < 3; ++t) {
    auto back = testing::read(c, t * 4096, 800);
    REQUIRE(back.is_ok());
    for (uint64_t s = 0; s < 800; ++s) CHECK(tag_of(back->data() + s * 512, t * 4096 + s) == t + 1);
  }
}

}  // namespace
}  // namespace cardfs::sdcard

namespace cardfs::sdcard {
namespace {

TEST_CASE("durable mode flushes, merges and reopens", "[sdcard]") {
  testing::ScratchDir dir("durable");
  VirtualClock clock;
  const std::string path = dir.path("c.img");
  CardOptions opts;
  opts.durable = true;
  {
    auto card = Card::create(path, testing::profile("class4"), 8 * MiB, clock, opts);
    REQUIRE(card.is_ok());
    // Alternate between the two AUs so the single open AU merges.
    for (uint64_t i = 0; i < 6; ++i) {
      const uint64_t sector = (i % 2) * 8192 + i * 64;
      REQUIRE(testing::write(**card, sector, pattern(sector, 64, uint32_t(i + 1))).is_ok());
      REQUIRE((*card)->flush().is_ok());
    }
    CHECK((*card)->counters().merges > 0);
  }
  auto card = Card::open(path, clock, opts);
  REQUIRE(card.is_ok());
  CHECK((*card)->opened_clean());
  for (uint64_t i = 0; i < 6; ++i) {
    const uint64_t sector = (i % 2) * 8192 + i * 64;
    auto back = testing::read(**card, sector, 64);
    REQUIRE(back.is_ok());
    for (uint64_t s = 0; s < 64; ++s) CHECK(tag_of(back->data() + s * 512, sector + s) == int64_t(i + 1));
  }
}

}  // namespace
}  // namespace cardfs::sdcard
