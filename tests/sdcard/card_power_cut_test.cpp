// Power cut at every command index of a scripted workload: after power-on,
// every sector written before the last completed flush reads back exactly,
// and nothing reads back as data that was never written there.
#include <catch2/catch.hpp>

#include <random>
#include <set>

#include "base/clock.h"
#include "sdcard/card.h"
#include "tests/sdcard/card_fixture.h"

namespace cardfs::sdcard {
namespace {

constexpr uint64_t MiB = 1 << 20;

struct Command {
  enum Kind { kWrite, kFuaWrite, kFlush, kTrim } kind;
  uint64_t sector = 0, count = 0;
  uint32_t tag = 0;
};

constexpr uint32_t kCommands = 48;

// A fixed workload over two AUs of an 8 MiB card: streaming and scattered
// writes, rewrites, trims and flushes.
std::vector<Command> script(uint64_t sectors) {
  std::vector<Command> cmds;
  std::mt19937_64 rng(77);
  for (uint32_t i = 1; i <= kCommands; ++i) {
    const int r = int(rng() % 10);
    const uint64_t count = r < 2 ? 256 + rng() % 1024 : 1 + rng() % 64;
    const uint64_t sector = rng() % (sectors - count);
    if (r < 6) cmds.push_back({Command::kWrite, sector, count, i});
    else if (r < 7) cmds.push_back({Command::kFuaWrite, sector, count, i});
    else if (r < 9) cmds.push_back({Command::kFlush});
    else cmds.push_back({Command::kTrim, sector, count});
  }
  return cmds;
}

// What each sector may read back: exactly one value once flushed.
struct Model {
  std::vector<std::set<int64_t>> may;
  std::vector<int64_t> current;
  explicit Model(uint64_t sectors) : may(sectors, {0}), current(sectors, 0) {}
  // completed: false for the command the power cut interrupted.
  void apply(const Command& c, bool completed) {
    for (uint64_t s = c.sector; s < c.sector + c.count; ++s) {
      current[s] = c.kind == Command::kTrim ? 0 : c.tag;
      may[s].insert(current[s]);
      if (c.kind == Command::kFuaWrite && completed) may[s] = {current[s]};
    }
  }
  void flush() {
    for (size_t s = 0; s < may.size(); ++s) may[s] = {current[s]};
  }
};

Status run(Card& card, const Command& c) {
  switch (c.kind) {
    case Command::kWrite: return testing::write(card, c.sector, testing::pattern(c.sector, c.count, c.tag));
    case Command::kFuaWrite: return testing::write(card, c.sector, testing::pattern(c.sector, c.count, c.tag), true);
    case Command::kFlush: return card.flush();
    case Command::kTrim: return card.discard(c.sector, c.count);
  }
  return Status::ok();
}

void cut_everywhere(const std::string& profile_name, bool on_image = false) {
  testing::ScratchDir dir("cut-" + profile_name);
  VirtualClock clock;
  std::vector<Command> cmds;
  // Cut after command 1 .. 47: the next one fails (after the 48th there is
  // no next one, which cut 0, no cut at all, already covers).
  for (uint64_t cut = 0; cut < kCommands; ++cut) {
    INFO("profile " << profile_name << ", power cut after command " << cut);
    const testing::TestStore store = on_image ? testing::TestStore::image(dir.path("c" + std::to_string(cut) + ".img"))
                                              : testing::TestStore::memory();
    CardOptions opts;
    opts.faults.power_cut_after = cut == 0 ? 1000 : cut;  // cut 0: never
    opts.faults.seed = cut * 31 + 5;
    auto card = store.create(testing::profile(profile_name), 8 * MiB, clock, opts);
    REQUIRE(card.is_ok());
    if (cmds.empty()) cmds = script((*card)->sector_count());
    Model model((*card)->sector_count());
    for (const Command& c : cmds) {
      Status st = run(**card, c);
      if (!st.is_ok()) {
        REQUIRE((*card)->powered_off());
        model.apply(c, false);  // it may have taken effect
        break;
      }
      if (c.kind == Command::kFlush) model.flush();
      else model.apply(c, true);
    }
    // The cut must have happened (and only when asked for): a script
    // shorter than the cut point would test nothing.
    REQUIRE((*card)->powered_off() == (cut != 0));
    card->reset();  // power is gone: nothing more reaches the image
    auto reopened = store.open(clock);
    REQUIRE(reopened.is_ok());
    auto data = testing::read(**reopened, 0, (*reopened)->sector_count());
    REQUIRE(data.is_ok());
    for (uint64_t s = 0; s < model.may.size(); ++s) {
      const int64_t got = testing::tag_of(data->data() + s * 512, s);
      if (model.may[s].count(got) == 1) continue;
      std::string allowed;
      for (int64_t v : model.may[s]) allowed += std::to_string(v) + " ";
      FAIL("sector " << s << " read back tag " << got << ", expected one of: " << allowed);
    }
    // The card keeps working after the power-on rebuild.
    REQUIRE(testing::write(**reopened, 100, testing::pattern(100, 500, 999)).is_ok());
    REQUIRE((*reopened)->close().is_ok());
    reopened = store.open(clock);
    REQUIRE(reopened.is_ok());
    auto after = testing::read(**reopened, 100, 500);
    REQUIRE(after.is_ok());
    for (uint64_t s = 0; s < 500; ++s) REQUIRE(testing::tag_of(after->data() + s * 512, 100 + s) == 999);
  }
}

TEST_CASE("power cut at every command: block FTL, one open AU", "[sdcard][powercut]") { cut_everywhere("class4", true); }
TEST_CASE("power cut at every command: block FTL, two open AUs", "[sdcard][powercut]") { cut_everywhere("class10"); }
TEST_CASE("power cut at every command: page FTL", "[sdcard][powercut]") { cut_everywhere("a1"); }

}  // namespace
}  // namespace cardfs::sdcard
