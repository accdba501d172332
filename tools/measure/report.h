// What `cardfs measure` writes: the table (terminal and report.md), the
// JSON (schema docs/measure.schema.json), the per-second CSV and the
// gnuplot SVG plots (docs/measure.md).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "tools/measure/costs.h"

namespace cardfs::measure {

struct RunInfo {
  std::vector<std::string> command;
  int exit_status = 0;
  std::string fs, recorded_on, out_dir;
  uint64_t card_bytes = 0;
  double wall_s = 0, represents_s = 0;
  bool represents_given = false;
  uint64_t events = 0, setup_events = 0;
};

// The table, one row per profile, as the terminal and report.md show it.
std::string table(const std::vector<ProfileCost>& costs);
// The advice lines of every profile.
std::string advice_text(const std::vector<ProfileCost>& costs);
std::string markdown(const RunInfo& run, const std::vector<ProfileCost>& costs);
nlohmann::ordered_json to_json(const RunInfo& run, const std::vector<ProfileCost>& costs);
std::string csv(const std::vector<ProfileCost>& costs);

// "3.2 years", "41 days", "5.0 h", "never (no erases)".
std::string lifetime_text(double hours);
// "1.5 h", "20 min", "12.0 s".
std::string duration_text(double seconds);

// Writes plots/NAME.gp and runs gnuplot on each: device_time.svg,
// wa_by_phase.svg, au_erases.svg, write_latency_cdf.svg. Returns the SVG
// names written.
Result<std::vector<std::string>> write_plots(const std::string& out_dir, const std::vector<ProfileCost>& costs);

}  // namespace cardfs::measure
