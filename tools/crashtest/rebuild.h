// Rebuilding a crash state's card image from the fresh card's snapshot and
// a prefix of the command log, as the card itself would have left it.
//
// The snapshot is copied (a reflink where the host filesystem has them,
// else a sparse copy with copy_file_range: only its data ranges), opened
// as the mount opened it, and the log's commands replayed on it in order;
// then the power is cut
// where the state says, through the card's own FaultPlan, so its power-loss
// model decides what survives. The image is left as a card after a power
// cut: the next open powers it on (out-of-band scan).
#pragma once

#include <string>

#include "base/status.h"
#include "blockdev/command_log.h"
#include "tools/crashtest/plan.h"

namespace cardfs::crashtest {

// `to` becomes a copy of `from` (same size, holes kept); `to` must not exist.
Status copy_image(const std::string& from, const std::string& to);

// Writes the state's image to `out` (which must not exist).
Status rebuild_state(const std::string& snapshot, const std::vector<blockdev::LoggedCommand>& log,
                     const CrashState& state, const std::string& out);

}  // namespace cardfs::crashtest
