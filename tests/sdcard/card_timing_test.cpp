// The timing model against seed 004 and the SD speed/application classes,
// on device time (fast mode: nothing sleeps).
#include <catch2/catch.hpp>

#include <random>

#include "base/clock.h"
#include "sdcard/card.h"
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

// Random 4 KiB IOPS inside a 64 MiB area of a 128 MiB card, after the area
// was written sequentially: enough writes that garbage collection runs.
Iops random_iops(const std::string& profile) {
  VirtualClock clock;
  auto card = testing::TestStore::memory().create(testing::profile(profile), 128 * MiB, clock);
  REQUIRE(card.is_ok());
  const uint64_t area = 64 * MiB / 512;
  const std::vector<std::byte> fill = testing::pattern(0, 2048, 1);
  for (uint64_t s = 0; s < area; s += 2048) REQUIRE(testing::write(**card, s, fill).is_ok());
  REQUIRE((*card)->flush().is_ok());
  std::mt19937_64 rng(42);
  const int n = 8000;
  Nanos start = (*card)->device_time();
  const std::vector<std::byte> four_k = testing::pattern(0, 8, 2);
  for (int i = 0; i < n; ++i) REQUIRE(testing::write(**card, (rng() % (area / 8)) * 8, four_k).is_ok());
  REQUIRE((*card)->flush().is_ok());
  Iops r;
  r.write = n / seconds((*card)->device_time() - start);
  start = (*card)->device_time();
  for (int i = 0; i < n; ++i) REQUIRE(testing::read(**card, (rng() % (area / 8)) * 8, 8).is_ok());
  r.read = n / seconds((*card)->device_time() - start);
  return r;
}

TEST_CASE("A1 and A2 cards meet their random IOPS", "[sdcard][timing]") {
  const Iops a1 = random_iops("a1");
  INFO("a1: " << a1.read << " read / " << a1.write << " write IOPS");
  CHECK(a1.read >= 1500);
  CHECK(a1.write >= 500);
  const Iops a2 = random_iops("a2");
  INFO("a2: " << a2.read << " read / " << a2.write << " write IOPS");
  CHECK(a2.read >= 4000);
  CHECK(a2.write >= 2000);
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
