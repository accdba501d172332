// The SVG plots of `cardfs measure`: one gnuplot script per plot, its data
// inline (datablocks), kept next to the SVG so it can be edited and rerun.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tools/measure/format.h"
#include "tools/measure/report.h"
#include "tools/workload/process.h"

namespace cardfs::measure {
namespace {

std::string header(const std::string& name, const std::string& title, const std::string& x, const std::string& y) {
  return "set terminal svg size 900,520 dynamic enhanced font 'sans,11' background rgb 'white'\n"
         "set output '" + name + ".svg'\nset title \"" + title + "\"\nset xlabel \"" + x + "\"\nset ylabel \"" +
         y + "\"\nset grid\nset key outside right top\n";
}

std::string block(size_t i, const std::string& rows) { return format("$d%zu << EOD\n", i) + rows + "EOD\n"; }

// Nothing to draw (no profile has data): an empty frame that says so.
std::string nothing(const std::string& what) {
  return "set label 1 \"" + what + "\" at graph 0.5, graph 0.5 center\nset xrange [0:1]\nset yrange [0:1]\n"
         "plot -1 notitle\n";
}

std::string device_time(const std::vector<ProfileCost>& costs) {
  std::string o = header("device_time", "Device time over the run", "run time (s)", "device time so far (s)");
  std::string plot;
  double end = 1;
  for (size_t i = 0; i < costs.size(); ++i) {
    std::string rows = "0 0\n";
    double total = 0;
    for (size_t s = 0; s < costs[i].seconds.size(); ++s) {
      total += double(costs[i].seconds[s].device_ns) / 1e9;
      rows += format("%zu %.6f\n", s + 1, total);
    }
    end = std::max(end, double(costs[i].seconds.size()));
    o += block(i, rows);
    plot += format("%s$d%zu using 1:2 with linespoints title \"%s\"", plot.empty() ? "" : ", ", i,
                   costs[i].profile.c_str());
  }
  if (plot.empty()) return o + nothing("no commands");
  return o + format("set xrange [0:%.0f]\n", end) + "plot " + plot +
         ", x with lines dashtype 2 lc rgb 'gray' title \"wall time (100 % busy)\"\n";
}

std::string wa_by_phase(const std::vector<ProfileCost>& costs) {
  std::string o = header("wa_by_phase", "Write amplification by phase", "phase", "flash bytes / host bytes");
  if (costs.empty()) return o + nothing("no profiles");
  std::string rows = "phase";
  for (const ProfileCost& c : costs) rows += " \"" + c.profile + "\"";
  rows += "\n";
  for (size_t p = 0; p < costs[0].phases.size(); ++p) {
    rows += "\"" + costs[0].phases[p].name + "\"";
    for (const ProfileCost& c : costs) rows += format(" %.4f", c.phases[p].wa());
    rows += "\n";
  }
  o += block(0, rows);
  o += "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8 border -1\n"
       "set yrange [0:*]\nset xtics rotate by -20\n";
  return o + format("plot for [i=2:%zu] $d0 using i:xtic(1) title columnheader(i)\n", costs.size() + 1);
}

std::string au_erases(const std::vector<ProfileCost>& costs) {
  std::string o = header("au_erases", "Erases per AU by this run (pending erases counted)", "physical AU",
                         "erases");
  std::string plot;
  for (size_t i = 0; i < costs.size(); ++i) {
    std::string rows;
    for (size_t a = 0; a < costs[i].au_wear.size(); ++a) rows += format("%zu %u\n", a, costs[i].au_wear[a]);
    if (rows.empty()) continue;
    o += block(i, rows);
    plot += format("%s$d%zu using 1:2 with points pt 7 ps 0.5 title \"%s\"", plot.empty() ? "" : ", ", i,
                   costs[i].profile.c_str());
  }
  if (plot.empty()) return o + nothing("no AUs");
  return o + "set yrange [0:*]\nplot " + plot + "\n";
}

std::string latency_cdf(const std::vector<ProfileCost>& costs) {
  std::string o = header("write_latency_cdf", "Write latency (arrival to completion)", "latency (ms)",
                         "share of writes at or below");
  std::string plot;
  for (size_t i = 0; i < costs.size(); ++i) {
    const std::vector<int64_t>& v = costs[i].write_latencies;  // sorted
    if (v.empty()) continue;
    std::string rows;
    const size_t points = std::min<size_t>(v.size(), 400);
    for (size_t k = 0; k < points; ++k) {
      const size_t idx = points == 1 ? 0 : k * (v.size() - 1) / (points - 1);
      rows += format("%.6f %.5f\n", std::max<double>(double(v[idx]) / 1e6, 1e-3), double(idx + 1) / double(v.size()));
    }
    o += block(i, rows);
    plot += format("%s$d%zu using 1:2 with steps title \"%s\"", plot.empty() ? "" : ", ", i,
                   costs[i].profile.c_str());
  }
  if (plot.empty()) return o + nothing("no writes");
  return o + "set logscale x\nset yrange [0:1]\nplot " + plot + "\n";
}

}  // namespace

Result<std::vector<std::string>> write_plots(const std::string& out_dir, const std::vector<ProfileCost>& costs) {
  const std::string dir = out_dir + "/plots";
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::error(ec.value(), "creating " + dir + ": " + ec.message());
  const std::pair<const char*, std::string> scripts[] = {{"device_time", device_time(costs)},
                                                         {"wa_by_phase", wa_by_phase(costs)},
                                                         {"au_erases", au_erases(costs)},
                                                         {"write_latency_cdf", latency_cdf(costs)}};
  std::vector<std::string> made;
  for (const auto& [name, text] : scripts) {
    const std::string gp = std::string(name) + ".gp";
    std::ofstream(dir + "/" + gp) << text;
    workload::SpawnOptions o;
    o.cwd = dir;
    CARDFS_RETURN_IF_ERROR(workload::run({"gnuplot", gp}, std::chrono::seconds(120), o).with_context("plotting"));
    made.push_back("plots/" + std::string(name) + ".svg");
  }
  return made;
}

}  // namespace cardfs::measure
