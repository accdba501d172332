#include "fusefs/fuse/stat_view.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cardfs::fuse {

Snapshot parse_snapshot(std::string_view text, std::string_view prefix) {
  Snapshot s;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string line(text.substr(pos, nl - pos));
    pos = nl + 1;
    size_t sep = line.find_first_of(" \t:");
    if (sep == 0 || sep == std::string::npos) continue;
    std::string name = line.substr(0, sep);
    size_t v = line.find_first_not_of(" \t:", sep);
    if (v == std::string::npos) continue;
    char* end = nullptr;
    double value = std::strtod(line.c_str() + v, &end);
    if (end == line.c_str() + v) continue;
    s[std::string(prefix) + name] = value;
  }
  return s;
}

std::string format_snapshot(const Snapshot& s) {
  std::string out;
  char buf[64];
  for (const auto& [name, value] : s) {
    if (value == std::floor(value) && std::fabs(value) < 1e18)
      std::snprintf(buf, sizeof buf, "%.0f", value);
    else
      std::snprintf(buf, sizeof buf, "%.3f", value);
    out += name + " " + buf + "\n";
  }
  return out;
}

const std::vector<StatColumn>& default_stat_columns() {
  static const std::vector<StatColumn> cols = {
      {"cacheMB", "mem.Cached", false, 1024, "cache_mb"},
      {"dirtyMB", "mem.Dirty", false, 1024, "dirty_mb"},
      {"wbackMB", "mem.Writeback", false, 1024, "writeback_mb"},
      {"hit/s", "vm.cache_hits", true, 1, "cache_hits_per_s"},
      {"miss/s", "vm.cache_misses", true, 1, "cache_misses_per_s"},
      {"rq/s", "queue.requests_completed", true, 1, "requests_per_s"},
      {"merge/s", "queue.merges", true, 1, "queue_merges_per_s"},
      {"rMB/s", "card.host_sectors_read", true, 2048, "read_mb_per_s"},
      {"wMB/s", "card.host_sectors_written", true, 2048, "write_mb_per_s"},
      {"flashMB/s", "card.flash_bytes_programmed", true, 1 << 20, "flash_mb_per_s"},
      {"WAcum", "card.write_amplification", false, 1, "wa_cumulative"},
      {"WAint", "card.flash_bytes_programmed", false, 1, "wa_interval", "card.host_sectors_written", 512},
      // Device time per second of wall time: a fast-mode card accounts
      // its device time without sleeping, so this exceeds 100 % when the
      // host outruns what the card could do.
      {"dev/wall%", "card.device_time_ns", true, 1e7, "device_time_per_wall_pct"},
  };
  return cols;
}

std::string format_stat_header(const std::vector<StatColumn>& cols) {
  std::string line;
  char buf[32];
  for (const auto& c : cols) {
    std::snprintf(buf, sizeof buf, "%10s", c.header.c_str());
    line += buf;
  }
  return line + "\n";
}

std::vector<std::optional<double>> stat_values(const std::vector<StatColumn>& cols, const Snapshot& prev,
                                               const Snapshot& cur, double interval_seconds) {
  auto change = [&](const std::string& key) -> std::optional<double> {
    auto now = cur.find(key);
    if (now == cur.end()) return std::nullopt;
    auto before = prev.find(key);
    return now->second - (before == prev.end() ? 0 : before->second);
  };
  std::vector<std::optional<double>> out;
  for (const auto& c : cols) {
    auto now = cur.find(c.key);
    if (now == cur.end()) {
      out.push_back(std::nullopt);
    } else if (!c.per.empty()) {
      const std::optional<double> top = change(c.key), bottom = change(c.per);
      out.push_back(top && bottom && *bottom > 0 ? std::optional(*top / (*bottom * c.per_scale) / c.scale)
                                                 : std::nullopt);
    } else if (c.rate) {
      out.push_back(interval_seconds > 0 ? *change(c.key) / interval_seconds / c.scale : 0.0);
    } else {
      out.push_back(now->second / c.scale);
    }
  }
  return out;
}

std::string format_stat_line(const std::vector<StatColumn>& cols, const Snapshot& prev,
                             const Snapshot& cur, double interval_seconds) {
  const std::vector<std::optional<double>> values = stat_values(cols, prev, cur, interval_seconds);
  std::string line;
  char buf[32];
  for (size_t i = 0; i < cols.size(); ++i) {
    const StatColumn& c = cols[i];
    if (!values[i])
      std::snprintf(buf, sizeof buf, "%10s", "-");
    else
      std::snprintf(buf, sizeof buf, "%10.*f", c.scale == 1 && c.rate ? 0 : (c.per.empty() ? 1 : 2), *values[i]);
    line += buf;
  }
  return line + "\n";
}

}  // namespace cardfs::fuse
