// The crashtest report, as Markdown (people) and JSON (scripts), like
// `cardfs measure`'s: the run, then every failing state with where the
// power failed, the markers the workload wrote before it and what CHECK
// printed, then the states that passed in one line each.
#pragma once

#include <string>

#include "tools/crashtest/run.h"

namespace cardfs::crashtest {

std::string markdown_report(const RunOptions& o, const RunResult& r);
std::string json_report(const RunOptions& o, const RunResult& r);

}  // namespace cardfs::crashtest
