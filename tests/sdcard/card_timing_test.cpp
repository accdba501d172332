// The timing model against seed 004 and the SD speed/application classes,
// on device time (fast mode: nothing sleeps).
#include <catch2/catch.hpp>

#include <random>

#include "base/clock.h"
#include "sdcard/card.h"
#include "sdcard/page_store.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t KiB = 1024;
constexpr uint64_t MiB = 1024 * KiB;

double seconds(Nanos t) { return double(t.count()) / 1e9; }

// Device time of writing `bytes` sequentially in 64 KiB commands (a
// 128-block CMD25, what the seed's host sent) and flushing.
Nanos sequential_write_time(const std::string& profile, uint64_t bytes) {
  VirtualClock clock;
  auto card = testing::TestStore::memory().create(testing::profile(profile), bytes, clock);
  REQUIRE(card.is_ok());
  const std::vector<std::byte> chunk = testing::pattern(0, 128, 1);
  for (uint64_t off = 0; off < bytes; off += 64 * KiB)
    REQUIRE(testing::write(**card, off / 512, chunk).is_ok());
  REQUIRE((*card)->flush().is_ok());
  return (*card)->device_time();
}

TEST_CASE("128 MB sequential matches seed 004's two cards within 10 %", "[sdcard][timing]") {
  const double pny = seconds(sequential_write_time("seed-class10", 128 * MiB));
  CHECK(pny == Approx(17.0).epsilon(0.10));
  const double transcend = seconds(sequential_write_time("seed-class4", 128 * MiB));
  CHECK(transcend == Approx(88.0).epsilon(0.10));
}

TEST_CASE("cards true to their marking meet their speed class", "[sdcard][timing]") {
  const std::pair<const char*, double> classes[] = {
      {"class2", 2}, {"class4", 4}, {"class6", 6}, {"class10", 10}, {"uhs1-u3", 30}, {"a1", 10}, {"a2", 30}};
  for (auto [name, mb_per_s] : classes) {
    // Sequential speed does not depend on the size written: 32 MiB suffices.
    const double rate = double(32 * MiB) / seconds(sequential_write_time(name, 32 * MiB)) / 1e6;
    INFO(name << ": " << rate << " MB/s");
    CHECK(rate >= mb_per_s);
  }
}

struct Iops {
  double read = 0, write = 0;
};

// Random 4 KiB IOPS by device time as the SD specification's application
// test takes them: the whole card written sequentially first (512 KiB
// commands), then random 4 KiB writes and reads inside the first
// `area` bytes. The first `warmup` writes bring GC to its steady state
// and are not counted. Dataless card (none store): only the model runs.
Iops random_iops(const std::string& profile, uint64_t card_bytes, uint64_t area, int warmup) {
  VirtualClock clock;
  auto card = Card::create(none_store(), testing::profile(profile), card_bytes, clock);
  REQUIRE(card.is_ok());
  const std::vector<std::byte> fill(512 * KiB);
  for (uint64_t s = 0; s < card_bytes / 512; s += fill.size() / 512)
    REQUIRE(testing::write(**card, s, fill).is_ok());
  REQUIRE((*card)->flush().is_ok());
  std::mt19937_64 rng(42);
  const uint64_t slots = area / (4 * KiB);
  const std::vector<std::byte> four_k(4 * KiB);
  for (int i = 0; i < warmup; ++i) REQUIRE(testing::write(**card, (rng() % slots) * 8, four_k).is_ok());
  const int n = 50000;
  Nanos start = (*card)->device_time();
  for (int i = 0; i < n; ++i) REQUIRE(testing::write(**card, (rng() % slots) * 8, four_k).is_ok());
  REQUIRE((*card)->flush().is_ok());
  Iops r;
  r.write = n / seconds((*card)->device_time() - start);
  start = (*card)->device_time();
  for (int i = 0; i < n; ++i) REQUIRE(testing::read(**card, (rng() % slots) * 8, 8).is_ok());
  r.read = n / seconds((*card)->device_time() - start);
  return r;
}

void check_class(const Iops& r, int app_class) {
  CHECK(r.read >= (app_class == 2 ? 4000 : 1500));
  CHECK(r.write >= (app_class == 2 ? 2000 : 500));
}

// Issue 20 item 9: on a full card a2 fell to 1 075 write IOPS and a1 to
// 394, because the page FTL's spare (user/8) let greedy GC copy about
// three pages per page written. Cards smaller than the test area are
// tested over the whole card, as their test area is the card.
TEST_CASE("A1 and A2 cards meet their random IOPS when full, in the spec's test area", "[sdcard][timing]") {
  const std::pair<const char*, int> cards[] = {{"a1", 1}, {"a2", 2}};
  for (auto [name, app_class] : cards) {
    for (uint64_t size : {128 * MiB, 1024 * MiB}) {
      const Iops r = random_iops(name, size, size, int(3 * size / (16 * KiB)));
      INFO(name << " full " << size / MiB << " MiB card: " << r.read << " read / " << r.write << " write IOPS");
      check_class(r, app_class);
    }
    const Iops r = random_iops(name, 4096 * MiB, 1024 * MiB, 200000);
    INFO(name << " full 4 GiB card, 1 GiB test area: " << r.read << " read / " << r.write << " write IOPS");
    check_class(r, app_class);
  }
}

// Outside the conditions: random writes spread over 4 GiB of a full
// 4 GiB card meet only the card's user/8 spare, and GC copies more.
TEST_CASE("random writes over a whole large full A2 card fall below the class", "[sdcard][timing]") {
  const Iops r = random_iops("a2", 4096 * MiB, 4096 * MiB, 400000);
  INFO("a2 full 4 GiB card, writes over all of it: " << r.write << " write IOPS");
  CHECK(r.write < 2000);
  CHECK(r.read >= 4000);  // reads do not depend on GC
}

}  // namespace
}  // namespace cardfs::sdcard

namespace cardfs::sdcard {
namespace {

// flashbench -a finds the AU size from reads that straddle a boundary.
TEST_CASE("a read across an AU boundary costs more than one across a page boundary", "[sdcard][timing]") {
  VirtualClock clock;
  const Profile& p = testing::profile("class10");
  auto card = testing::TestStore::memory().create(p, 8 * MiB, clock);
  REQUIRE(card.is_ok());
  REQUIRE(testing::write(**card, 0, testing::pattern(0, 16384, 1)).is_ok());
  REQUIRE((*card)->flush().is_ok());
  auto cost = [&](uint64_t sector) {
    const Nanos before = (*card)->device_time();
    REQUIRE(testing::read(**card, sector, 2).is_ok());
    return (*card)->device_time() - before;
  };
  const uint64_t page = p.page_bytes / 512, au = p.au_bytes / 512;
  const Nanos inside = cost(page * 3 + 5);
  const Nanos page_edge = cost(page * 3 - 1);
  const Nanos au_edge = cost(au - 1);
  CHECK(page_edge == inside + p.page_read);
  CHECK(au_edge == page_edge + p.page_read);
}

}  // namespace
}  // namespace cardfs::sdcard
