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
      {"cacheMB", "mem.Cached", false, 1024},
      {"dirtyMB", "mem.Dirty", false, 1024},
      {"wbackMB", "mem.Writeback", false, 1024},
      {"hit/s", "vm.cache_hits", true, 1},
      {"miss/s", "vm.cache_misses", true, 1},
      {"rq/s", "queue.requests_completed", true, 1},
      {"merge/s", "queue.merges", true, 1},
      {"rMB/s", "card.host_sectors_read", true, 2048},
      {"wMB/s", "card.host_sectors_written", true, 2048},
      {"flashMB/s", "card.flash_bytes_programmed", true, 1 << 20},
      {"WA", "card.write_amplification", false, 1},
      {"busy%", "card.device_time_ns", true, 1e7},
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

std::string format_stat_line(const std::vector<StatColumn>& cols, const Snapshot& prev,
                             const Snapshot& cur, double interval_seconds) {
  std::string line;
  char buf[32];
  for (const auto& c : cols) {
    auto now = cur.find(c.key);
    if (now == cur.end()) {
      std::snprintf(buf, sizeof buf, "%10s", "-");
    } else {
      double v = now->second;
      if (c.rate) {
        auto before = prev.find(c.key);
        double base = before == prev.end() ? 0 : before->second;
        v = interval_seconds > 0 ? (v - base) / interval_seconds : 0;
      }
      std::snprintf(buf, sizeof buf, "%10.*f", c.scale == 1 && c.rate ? 0 : 1, v / c.scale);
    }
    line += buf;
  }
  return line + "\n";
}

}  // namespace cardfs::fuse
