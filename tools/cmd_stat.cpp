// `cardfs stat MOUNTPOINT [-i SECONDS] [-c COUNT] [--json]`: the counters
// of a mounted cardfs, read from MOUNTPOINT/.cardfs/stat. Once without -i
// (every counter, "name value"); with -i a vmstat/iostat-style line per
// interval. --json: one object of every counter, or with -i one object per
// interval (JSON Lines) of the columns by their JSON names (docs/fuse.md).
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "fusefs/fuse/stat_view.h"
#include "tools/command.h"

namespace cardfs::tools {
namespace {

struct StatArgs {
  std::string mountpoint;
  double interval = 0;
  int count = 0;  // 0: until interrupted
  bool json = false;
};

constexpr const char* kLegend =
    "# dev/wall%: the card's device time per second of wall time (a fast-mode card accounts it without "
    "sleeping: over 100 % the host outran the card); WAcum: write amplification since the mount, WAint: "
    "in the interval\n";

std::string json_line(const std::vector<fuse::StatColumn>& cols, const fuse::Snapshot& prev,
                      const fuse::Snapshot& cur, double interval, double elapsed) {
  nlohmann::ordered_json j;
  j["t"] = elapsed;
  const auto values = fuse::stat_values(cols, prev, cur, interval);
  for (size_t i = 0; i < cols.size(); ++i)
    j[cols[i].json.empty() ? cols[i].key : cols[i].json] = values[i] ? nlohmann::ordered_json(*values[i]) : nullptr;
  return j.dump() + "\n";
}

Result<fuse::Snapshot> read_snapshot(const std::string& mountpoint) {
  std::string path = mountpoint + "/.cardfs/stat";
  std::ifstream in(path);
  if (!in) return Status::error(ENOENT, path + " not found: is a cardfs mounted there?");
  std::stringstream text;
  text << in.rdbuf();
  return fuse::parse_snapshot(text.str());
}

// Dirty data in cardfs's cache is what plain sync(1) leaves behind: the
// kernel sends a FUSE mount no SYNCFS. Said on stderr, the counters on
// stdout stay "name value" lines for scripts.
void warn_if_dirty(const fuse::Snapshot& s, const std::string& mountpoint) {
  auto it = s.find("mem.Dirty");
  if (it == s.end() || it->second <= 0) return;
  std::fprintf(stderr,
               "cardfs stat: %.0f kB dirty in cardfs's cache; sync(1) does not reach a FUSE mount, "
               "`cardfs sync %s` writes it back\n",
               it->second, mountpoint.c_str());
}

int run_stat(const StatArgs& a) {
  auto first = read_snapshot(a.mountpoint);
  if (!first.is_ok()) {
    std::fprintf(stderr, "cardfs stat: %s\n", first.status().message().c_str());
    return 1;
  }
  if (a.interval <= 0) {
    std::fputs(a.json ? (nlohmann::ordered_json(*first).dump() + "\n").c_str()
                      : fuse::format_snapshot(*first).c_str(),
               stdout);
    warn_if_dirty(*first, a.mountpoint);
    return 0;
  }
  const auto& cols = fuse::default_stat_columns();
  RealClock clock;
  fuse::Snapshot prev = *first;
  Nanos step{int64_t(a.interval * 1e9)};
  Nanos next = clock.now() + step;
  if (!a.json) std::fputs(kLegend, stdout);
  for (int line = 0; a.count == 0 || line < a.count; ++line) {
    if (line % 20 == 0 && !a.json) std::fputs(fuse::format_stat_header(cols).c_str(), stdout);
    clock.sleep_until(next);
    next += step;
    auto cur = read_snapshot(a.mountpoint);
    if (!cur.is_ok()) {
      std::fprintf(stderr, "cardfs stat: %s\n", cur.status().message().c_str());
      return 1;
    }
    std::fputs(a.json ? json_line(cols, prev, *cur, a.interval, a.interval * (line + 1)).c_str()
                      : fuse::format_stat_line(cols, prev, *cur, a.interval).c_str(),
               stdout);
    std::fflush(stdout);
    prev = std::move(*cur);
  }
  return 0;
}

void add_stat(CLI::App& app, CommandContext& ctx) {
  auto args = std::make_shared<StatArgs>();
  auto* sub = app.add_subcommand("stat", "Live counters of a mounted cardfs (vmstat-style)");
  sub->add_option("mountpoint", args->mountpoint, "Where the cardfs is mounted")->required();
  sub->add_option("-i,--interval", args->interval, "Seconds between lines (none: print once)")
      ->check(CLI::Range(0.01, 86400.0));
  sub->add_option("-c,--count", args->count, "Number of lines (default: until interrupted)")
      ->check(CLI::NonNegativeNumber);
  sub->add_flag("--json", args->json, "JSON: every counter once, or with -i a JSON line per interval");
  sub->callback([&ctx, args] { ctx.run = [args] { return run_stat(*args); }; });
}

}  // namespace

CARDFS_REGISTER_COMMAND("stat", add_stat);

}  // namespace cardfs::tools
