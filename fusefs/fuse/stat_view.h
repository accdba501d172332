// The counters snapshot of a mounted cardfs (MOUNT/.cardfs/stat) and the
// vmstat-style line `cardfs stat` prints from two snapshots.
//
// The snapshot is text, one "name value" per line, names prefixed by layer
// (card., queue., mem., vm.) so tools and scripts can read it without
// cardfs. Pure functions; no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cardfs::fuse {

using Snapshot = std::map<std::string, double, std::less<>>;

// "name value" lines -> map. Lines that do not parse are skipped. Also
// reads /proc/meminfo-style "Name:   123 kB" lines (value in kB).
Snapshot parse_snapshot(std::string_view text, std::string_view prefix = "");
std::string format_snapshot(const Snapshot& s);

// One printed column: a gauge shows the current value, a rate the change
// per second between two snapshots; scale divides the value first. With
// `per`, the column is a ratio of changes instead: the change of key over
// the change of `per` × per_scale in the interval (write amplification
// of the interval); "-" when `per` did not change.
struct StatColumn {
  std::string header;
  std::string key;
  bool rate;
  double scale;
  std::string json = {};  // the name in `cardfs stat --json` lines (default: key)
  std::string per = {};
  double per_scale = 1;
};

const std::vector<StatColumn>& default_stat_columns();

// The two header lines (group names, column names).
std::string format_stat_header(const std::vector<StatColumn>& cols);
// Each column's value for the interval; nullopt where a key is missing
// from cur (or a ratio's denominator did not change).
std::vector<std::optional<double>> stat_values(const std::vector<StatColumn>& cols, const Snapshot& prev,
                                               const Snapshot& cur, double interval_seconds);
// A line; a missing value prints "-".
std::string format_stat_line(const std::vector<StatColumn>& cols, const Snapshot& prev,
                             const Snapshot& cur, double interval_seconds);

}  // namespace cardfs::fuse
