// MOUNT/.cardfs/powercut and MOUNT/.cardfs/mark: power cuts a user can
// cause, and text markers in the card's trace and command log
// (docs/fuse.md "Power cuts").
//
// powercut takes one line:
//   after N [torn]  the card loses power after N more commands: between
//                   commands, or (torn) inside command N+1, which programs
//                   part of its pages and tears the next one;
//   now             the power fails at once, between commands;
//   off             disarms a cut that has not happened.
// Reading it says "off", the armed cut and how many commands are left, or
// that the power is off (every command fails with EIO until unmount).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "fusefs/fuse/control.h"
#include "fusefs/fuse/stack.h"
#include "sdcard/card.h"

namespace cardfs::fuse {

struct PowercutRequest {
  enum class What { kOff, kNow, kAfter } what = What::kOff;
  uint64_t after = 0;
  bool torn = false;
};
// Pure: the line written to powercut (EINVAL with the grammar otherwise).
Result<PowercutRequest> parse_powercut(std::string_view line);
// Pure: what reading powercut shows for the card's fault state.
std::string describe_powercut(const sdcard::Card::FaultState& state);

void add_powercut_files(ControlTree& tree, Stack& stack);

}  // namespace cardfs::fuse
