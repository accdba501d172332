// Which crash states a recorded run is judged in (docs/crashtest.md).
//
// A crash state is "the power failed here": after command K of the log
// completed, either between K and the next command, or torn inside the
// next one (which programs `torn_after` pages and tears the following).
// The card's own power-loss model (sdcard/card.h FaultPlan) decides what
// survives: its write buffer is lost, a torn page is ignored at power-on.
// Pure functions; no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "blockdev/command_log.h"

namespace cardfs::crashtest {

struct CrashState {
  uint64_t after = 0;       // commands 1..after of the log completed
  bool torn = false;        // cut inside the next command that writes
  uint64_t torn_after = 0;  // pages that command programs before the torn one
  bool all = false;         // the whole log, then a clean power-off: the live run's image
  // Why it was chosen: "flush", "fua", "random", "all" (reports).
  std::string why = {};

  // "120" (between 120 and 121), "120t2" (torn inside the next, after 2
  // pages), "all": what --only takes.
  std::string key() const;
  static Result<CrashState> parse(std::string_view key);
};

struct PlanOptions {
  uint64_t points = 8;  // seeded random states besides the barriers
  uint64_t seed = 1;
};

// A state after every flush and FUA write, and `points` at seeded random
// commands (about half of them torn inside the next writing command),
// without duplicates, ordered by position in the log.
std::vector<CrashState> plan_states(const std::vector<blockdev::LoggedCommand>& commands, const PlanOptions& o);

}  // namespace cardfs::crashtest
