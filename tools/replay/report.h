// What `cardfs replay` prints: a text report per profile, or all of it
// as JSON (schema in docs/replay.md).
#pragma once

#include <string>
#include <vector>

#include "tools/replay/replayer.h"
#include "tools/replay/trace.h"

namespace cardfs::replay {

struct TraceSummary {
  std::vector<std::string> inputs;
  std::string format, device;
  uint64_t queued = 0, dispatched = 0, skipped = 0;
  bool timed = true;
  Stage source = Stage::kDispatch;  // the events replayed
  static TraceSummary of(const Trace& t, const std::vector<std::string>& inputs, Stage source);
};

std::string text_report(const TraceSummary& trace, const std::vector<ProfileReport>& reports);
std::string json_report(const TraceSummary& trace, const std::vector<ProfileReport>& reports);

}  // namespace cardfs::replay
