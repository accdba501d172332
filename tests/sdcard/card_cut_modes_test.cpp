// The ways a user or crashtest cuts the power (FaultPlan::Cut, cut_power)
// and the command recorder that crashtest's log is written from.
#include <catch2/catch.hpp>

#include "base/clock.h"
#include "sdcard/card.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1 << 20;

struct Seen {
  CommandKind kind;
  uint64_t sector, sectors, index, bytes;
  bool fua;
};

class ListRecorder : public CommandRecorder {
 public:
  void record(const CommandView& c) override {
    uint64_t bytes = 0;
    for (const iovec& v : c.data) bytes += v.iov_len;
    seen.push_back({c.kind, c.sector, c.sectors, c.index, bytes, c.fua});
  }
  std::vector<Seen> seen;
};

// Writes A (flushed), then B with FUA, with the power cut after command 2.
struct CutScript {
  VirtualClock clock;
  testing::TestStore store = testing::TestStore::memory();
  std::vector<std::byte> a = testing::pattern(0, 64, 1), b = testing::pattern(0, 64, 2);

  void run(FaultPlan plan) {
    {
      auto card = store.create(testing::profile("class10"), 16 * MiB, clock);
      REQUIRE(card.is_ok());
    }
    CardOptions o;
    o.faults = plan;
    auto card = store.open(clock, o);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 0, a).is_ok());  // 1
    REQUIRE((*card)->flush().is_ok());              // 2
    CHECK(testing::write(**card, 0, b, true).code() == EIO);  // 3: cut
    CHECK((*card)->fault_state().powered_off);
    CHECK((*card)->flush().code() == EIO);
  }
  int64_t tag_after_power_on() {
    auto card = store.open(clock);
    REQUIRE(card.is_ok());
    auto got = testing::read(**card, 0, 64);
    REQUIRE(got.is_ok());
    return testing::tag_of(got->data(), 0);
  }
};

TEST_CASE("a cut between commands: the command after the Nth never starts, not even a FUA write") {
  CutScript s;
  FaultPlan plan;
  plan.power_cut_after = 2;
  plan.cut = FaultPlan::Cut::kBetween;
  s.run(plan);
  CHECK(s.tag_after_power_on() == 1);
}

TEST_CASE("a torn cut tears the page the command programs: the old copy reads back, no EIO") {
  CutScript s;
  FaultPlan plan;
  plan.power_cut_after = 2;
  plan.cut = FaultPlan::Cut::kTorn;
  plan.torn_after = 0;  // the first page B programs is torn
  s.run(plan);
  CHECK(s.tag_after_power_on() == 1);
}

// Caught by crashtest (a state cut inside a flush): the torn page's
// sequence number was handed out again at power-on, and the checkpoint the
// next close wrote then covered the torn copy, so the power-on after that
// took it for the page's newest data and the page read as zeros.
TEST_CASE("a torn page stays behind its old copy across a write, a close and a second power-on") {
  CutScript s;
  FaultPlan plan;
  plan.power_cut_after = 2;
  plan.cut = FaultPlan::Cut::kTorn;
  plan.torn_after = 0;
  s.run(plan);
  const std::vector<std::byte> c = testing::pattern(4096, 64, 3);
  {
    auto card = s.store.open(s.clock);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 4096, c).is_ok());  // another page, after the power-on
    REQUIRE((*card)->flush().is_ok());
  }  // the close writes a checkpoint
  CHECK(s.tag_after_power_on() == 1);
  auto card = s.store.open(s.clock);
  REQUIRE(card.is_ok());
  CHECK(testing::untagged_sectors(**card, 4096, 64, 3) == 0);
}

TEST_CASE("cut_power: the write buffer is lost at once and every command fails until power-on") {
  VirtualClock clock;
  const testing::TestStore store = testing::TestStore::memory();
  {
    auto card = store.create(testing::profile("class10"), 16 * MiB, clock);
    REQUIRE(card.is_ok());
    REQUIRE(testing::write(**card, 0, testing::pattern(0, 8, 5)).is_ok());
    REQUIRE((*card)->flush().is_ok());
    REQUIRE(testing::write(**card, 0, testing::pattern(0, 8, 6)).is_ok());  // buffered only
    (*card)->cut_power();
    CHECK((*card)->fault_state().powered_off);
    CHECK((*card)->flush().code() == EIO);
    CHECK((*card)->close().is_ok());  // nothing more reaches the image
  }
  auto card = store.open(clock);
  REQUIRE(card.is_ok());
  CHECK_FALSE((*card)->opened_clean());
  CHECK(testing::untagged_sectors(**card, 0, 8, 5) == 0);
}

TEST_CASE("the recorder sees every command in order with its index and a write's data") {
  VirtualClock clock;
  ListRecorder rec;
  CardOptions o;
  o.recorder = &rec;
  auto card = testing::TestStore::memory().create(testing::profile("class10"), 16 * MiB, clock, o);
  REQUIRE(card.is_ok());
  REQUIRE(testing::write(**card, 8, testing::pattern(8, 16, 1), true).is_ok());
  REQUIRE((*card)->flush().is_ok());
  REQUIRE((*card)->discard(64, 32).is_ok());
  REQUIRE(testing::read(**card, 8, 16).is_ok());
  REQUIRE(rec.seen.size() == 4);
  CHECK((rec.seen[0].kind == CommandKind::kWrite && rec.seen[0].sector == 8 && rec.seen[0].sectors == 16 &&
         rec.seen[0].bytes == 16 * 512 && rec.seen[0].fua && rec.seen[0].index == 1));
  CHECK((rec.seen[1].kind == CommandKind::kFlush && rec.seen[1].index == 2));
  CHECK((rec.seen[2].kind == CommandKind::kDiscard && rec.seen[2].sector == 64 && rec.seen[2].sectors == 32));
  CHECK((rec.seen[3].kind == CommandKind::kRead && rec.seen[3].bytes == 0 && rec.seen[3].index == 4));
}

}  // namespace
}  // namespace cardfs::sdcard
