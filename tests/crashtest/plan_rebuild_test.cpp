// crashtest's pure plan and its rebuild of states from a snapshot and a
// command log, on card images in a scratch directory (no mount).
#include <catch2/catch.hpp>

#include <fstream>
#include <iterator>

#include "base/clock.h"
#include "blockdev/command_log.h"
#include "sdcard/card.h"
#include "sdcard/profiles.h"
#include "tests/support/scratch_dir.h"
#include "tools/crashtest/plan.h"
#include "tools/crashtest/rebuild.h"

namespace cardfs::crashtest {
namespace {

using blockdev::LoggedCommand;
using sdcard::CommandKind;

constexpr uint64_t MiB = 1 << 20;

std::vector<LoggedCommand> commands(const std::string& kinds) {  // "wWfrd": write, FUA write, flush, read, discard
  std::vector<LoggedCommand> out;
  for (char k : kinds) {
    LoggedCommand c;
    c.kind = k == 'f' ? CommandKind::kFlush : k == 'r' ? CommandKind::kRead : k == 'd' ? CommandKind::kDiscard
                                                                          : CommandKind::kWrite;
    c.fua = k == 'W';
    c.index = out.size() + 1;
    out.push_back(c);
  }
  return out;
}

TEST_CASE("crashtest plans a state after every flush and FUA write, plus seeded random ones") {
  const auto cmds = commands("wwfrwWdwwf");
  const auto barriers = plan_states(cmds, {.points = 0, .seed = 1});
  std::vector<std::string> keys;
  for (const CrashState& s : barriers) keys.push_back(s.key());
  CHECK(keys == std::vector<std::string>{"3", "6", "10"});
  const auto more = plan_states(cmds, {.points = 6, .seed = 7});
  CHECK(more.size() > 3);
  CHECK(more.size() <= 9);
  CHECK(plan_states(cmds, {.points = 6, .seed = 7}).size() == more.size());  // seeded: the same again
  for (size_t i = 1; i < more.size(); ++i) CHECK(more[i - 1].after <= more[i].after);
  for (const CrashState& s : more)
    if (s.torn) {  // torn inside a command that writes
      INFO(s.key());
      REQUIRE(s.after < cmds.size());
      CHECK((cmds[s.after].kind == CommandKind::kWrite || cmds[s.after].kind == CommandKind::kFlush));
    }
}

TEST_CASE("crash state keys round-trip, and a bad key is refused") {
  for (const char* k : {"0", "120", "120t2", "all"}) CHECK(CrashState::parse(k)->key() == k);
  for (const char* k : {"", "x", "12t", "t3", "12tx"}) CHECK_FALSE(CrashState::parse(k).is_ok());
}

std::vector<char> bytes_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::byte> block(uint8_t v, size_t n = 64 * 512) { return std::vector<std::byte>(n, std::byte(v)); }

// A recorded run: a snapshot of a fresh card, then writes and flushes on
// it with the command log on, closed cleanly as an unmount would.
struct Recorded {
  testing::ScratchDir dir{"crashtest-rebuild"};
  std::string snapshot = dir.path("snapshot.img"), live = dir.path("live.img");
  std::unique_ptr<blockdev::CommandLogReader> log;
  Recorded() {
    VirtualClock clock;
    {
      auto c = sdcard::Card::create(live, **sdcard::find_profile("class10"), 16 * MiB, clock);
      REQUIRE(c.is_ok());
    }
    REQUIRE(copy_image(live, snapshot).is_ok());
    auto rec = blockdev::CommandLog::create(dir.path("log"));
    REQUIRE(rec.is_ok());
    sdcard::CardOptions o;
    o.recorder = rec->get();
    auto card = sdcard::Card::open(live, clock, o);
    REQUIRE(card.is_ok());
    auto write = [&](uint64_t sector, const std::vector<std::byte>& d, bool fua = false) {
      const iovec v{const_cast<std::byte*>(d.data()), d.size()};
      REQUIRE((*card)->write(sector, {&v, 1}, fua).is_ok());
    };
    write(0, block(1));            // 1
    REQUIRE((*card)->flush().is_ok());  // 2
    write(0, block(2));            // 3: only in the write buffer
    write(4096, block(3), true);   // 4: FUA
    write(8192, block(4, 8 * MiB));  // 5: through several AUs
    REQUIRE((*card)->close().is_ok());
    REQUIRE((*rec)->close().is_ok());
    auto r = blockdev::CommandLogReader::open(dir.path("log"));
    REQUIRE(r.is_ok());
    log = std::move(*r);
  }
  uint8_t byte_at(const std::string& image, uint64_t sector) {
    VirtualClock clock;
    auto card = sdcard::Card::open(image, clock);
    REQUIRE(card.is_ok());
    std::byte b[512];
    const iovec v{b, sizeof b};
    REQUIRE((*card)->read(sector, {&v, 1}).is_ok());
    return uint8_t(b[0]);
  }
};

TEST_CASE("the whole log replayed on the snapshot gives exactly the live run's image") {
  Recorded r;
  REQUIRE(r.log->commands().size() == 5);
  const std::string out = r.dir.path("all.img");
  REQUIRE(rebuild_state(r.snapshot, r.log->commands(), {.all = true}, out).is_ok());
  CHECK(bytes_of(out) == bytes_of(r.live));
}

TEST_CASE("a rebuilt state keeps what was flushed or FUA and loses the write buffer") {
  Recorded r;
  const std::string s2 = r.dir.path("2.img"), s4 = r.dir.path("4.img");
  REQUIRE(rebuild_state(r.snapshot, r.log->commands(), {.after = 2}, s2).is_ok());
  REQUIRE(rebuild_state(r.snapshot, r.log->commands(), {.after = 4}, s4).is_ok());
  CHECK(r.byte_at(s2, 0) == 1);
  CHECK(r.byte_at(s2, 4096) == 0);
  CHECK(r.byte_at(s4, 4096) == 3);  // FUA
  const uint8_t at0 = r.byte_at(s4, 0);  // command 3's buffer went with the FUA's drain
  CHECK((at0 == 1 || at0 == 2));
  CHECK_FALSE(rebuild_state(r.snapshot, r.log->commands(), {.after = 9}, r.dir.path("9.img")).is_ok());
}

TEST_CASE("a torn state cuts inside the next command: the data before it stay") {
  Recorded r;
  const std::string out = r.dir.path("4t1.img");
  REQUIRE(rebuild_state(r.snapshot, r.log->commands(), {.after = 4, .torn = true, .torn_after = 1}, out).is_ok());
  CHECK(r.byte_at(out, 4096) == 3);
  CHECK(r.byte_at(out, 8192) == 4);     // the first page of command 5 was programmed
  CHECK(r.byte_at(out, 8192 + 8 * 1024) == 0);  // far past the cut: never written
}

}  // namespace
}  // namespace cardfs::crashtest
