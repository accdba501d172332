// .cardfs/powercut's grammar and what reading it shows (the pure parts;
// tests/mount/powercut.sh drives a real mount).
#include <catch2/catch.hpp>

#include "fusefs/fuse/control_powercut.h"

using namespace cardfs;
using namespace cardfs::fuse;

TEST_CASE("powercut accepts 'after N [torn]', 'now' and 'off'") {
  auto a = parse_powercut("after 12\n");
  REQUIRE(a.is_ok());
  CHECK((a->what == PowercutRequest::What::kAfter && a->after == 12 && !a->torn));
  auto t = parse_powercut("  after   3 torn ");
  REQUIRE(t.is_ok());
  CHECK((t->after == 3 && t->torn));
  CHECK(parse_powercut("now")->what == PowercutRequest::What::kNow);
  CHECK(parse_powercut("off")->what == PowercutRequest::What::kOff);
  for (const char* bad : {"", "after", "after 0", "after x", "after 3 soft", "after 3 torn x", "later", "now 1"}) {
    INFO(bad);
    CHECK(parse_powercut(bad).status().code() == EINVAL);
  }
}

TEST_CASE("reading powercut says off, the armed cut with the commands left, or that the power is off") {
  sdcard::Card::FaultState s;
  CHECK(describe_powercut(s) == "off\n");
  s.plan.power_cut_after = 10;
  s.plan.cut = sdcard::FaultPlan::Cut::kTorn;
  s.commands_since_armed = 4;
  CHECK(describe_powercut(s) == "after 10 torn (6 commands to go)\n");
  s.plan.cut = sdcard::FaultPlan::Cut::kBetween;
  CHECK(describe_powercut(s) == "after 10 (6 commands to go)\n");
  s.powered_off = true;
  CHECK(describe_powercut(s).rfind("power off", 0) == 0);
}
