// Seed 004's graph: the same number of 4 KiB writes costs least when
// streaming, more when switching AU every fifth write, most when every
// write goes to another AU; the open-AU limit is what makes it so.
#include <catch2/catch.hpp>

#include "base/clock.h"
#include "sdcard/card.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1 << 20;
constexpr uint64_t kAuSectors = 4 * MiB / 512;
constexpr int kWrites = 64;

enum class Pattern { kStreaming, kEveryFifth, kInterleaved };

// Sector of the i-th 4 KiB write.
uint64_t target(Pattern p, int i) {
  switch (p) {
    case Pattern::kStreaming: return uint64_t(i) * 8;
    case Pattern::kEveryFifth: {  // four writes in one AU, then the other
      const int group = i / 4;
      return (group % 2) * kAuSectors + uint64_t(group / 2) * 32 + (i % 4) * 8;
    }
    case Pattern::kInterleaved: return (i % 2) * kAuSectors + uint64_t(i / 2) * 8;
  }
  return 0;
}

// Device time of the writes (synchronous, FUA, as flashbench issues them)
// on a card whose AUs already hold data, as a used card's do.
Nanos pattern_time(const std::string& profile, Pattern p) {
  VirtualClock clock;
  auto card = testing::TestStore::memory().create(testing::profile(profile), 16 * MiB, clock);
  REQUIRE(card.is_ok());
  const std::vector<std::byte> fill = testing::pattern(0, 2048, 1);
  for (uint64_t s = 0; s < (*card)->sector_count(); s += 2048) REQUIRE(testing::write(**card, s, fill).is_ok());
  REQUIRE((*card)->flush().is_ok());
  const Nanos start = (*card)->device_time();
  const std::vector<std::byte> four_k = testing::pattern(0, 8, 2);
  for (int i = 0; i < kWrites; ++i) REQUIRE(testing::write(**card, target(p, i), four_k, true).is_ok());
  return (*card)->device_time() - start;
}

TEST_CASE("seed 004 graph: streaming < every fifth < interleaved", "[sdcard][seedgraph]") {
  const Nanos stream1 = pattern_time("seed-class4", Pattern::kStreaming);
  const Nanos fifth1 = pattern_time("seed-class4", Pattern::kEveryFifth);
  const Nanos inter1 = pattern_time("seed-class4", Pattern::kInterleaved);
  INFO("1 open AU: streaming " << stream1.count() << " ns, every fifth " << fifth1.count()
                               << " ns, interleaved " << inter1.count() << " ns");
  CHECK(stream1 < fifth1);
  CHECK(fifth1 < inter1);
  const double ratio1 = double(inter1.count()) / double(stream1.count());
  CHECK(ratio1 >= 3.0);

  const Nanos stream2 = pattern_time("seed-class10", Pattern::kStreaming);
  const Nanos inter2 = pattern_time("seed-class10", Pattern::kInterleaved);
  const double ratio2 = double(inter2.count()) / double(stream2.count());
  INFO("ratios interleaved/streaming: 1 open AU " << ratio1 << ", 2 open AUs " << ratio2);
  CHECK(ratio2 < ratio1);
  CHECK(ratio2 < 2.0);
}

}  // namespace
}  // namespace cardfs::sdcard
