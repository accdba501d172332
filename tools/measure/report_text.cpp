// The table, advice, report.md and CSV of `cardfs measure`.
#include <cmath>
#include <cstdio>
#include <sstream>

#include "tools/measure/format.h"
#include "tools/measure/report.h"

namespace cardfs::measure {
namespace {

double mib(uint64_t b) { return double(b) / 1048576.0; }
double ms(int64_t ns) { return double(ns) / 1e6; }

// Three significant-ish digits, so seconds-long latencies fit the column.
std::string millis(int64_t ns) {
  const double v = ms(ns);
  return format(v < 10 ? "%.2f" : v < 100 ? "%.1f" : "%.0f", v);
}

std::string latency(const Latency& l) {
  if (l.count == 0) return "-";
  return millis(l.p50) + "/" + millis(l.p99) + "/" + millis(l.max);
}

std::string percent(double share) {
  if (share == 0) return "0 %";
  if (share < 0.0001) return format("%.2g %%", 100 * share);
  return format("%.2f %%", 100 * share);
}

std::string shell_words(const std::vector<std::string>& argv) {
  std::string s;
  for (const std::string& a : argv) {
    const bool plain = a.find_first_of(" \t'\"$\\;&|<>*?()") == std::string::npos && !a.empty();
    s += (s.empty() ? "" : " ") + (plain ? a : "'" + a + "'");
  }
  return s;
}

std::string phase_table(const std::vector<ProfileCost>& costs) {
  std::string o = "## Write amplification by phase\n\n| profile |";
  if (!costs.empty())
    for (const Phase& p : costs[0].phases) o += " " + p.name + " |";
  o += "\n| --- |";
  if (!costs.empty())
    for (size_t i = 0; i < costs[0].phases.size(); ++i) o += " --- |";
  o += "\n";
  for (const ProfileCost& c : costs) {
    o += "| " + c.profile + " |";
    for (const Phase& p : c.phases)
      o += p.host_written ? format(" %.2f (%.1f MiB) |", p.wa(), mib(p.host_written)) : std::string(" - |");
    o += "\n";
  }
  return o;
}

}  // namespace

std::string lifetime_text(double hours) {
  if (std::isinf(hours)) return "never (no erases)";
  if (hours >= 24 * 365.25) return format("%.1f years", hours / (24 * 365.25));
  if (hours >= 48) return format("%.0f days", hours / 24);
  if (hours >= 1) return format("%.1f h", hours);
  if (hours >= 1.0 / 60) return format("%.0f min", hours * 60);
  return format("%.0f s", hours * 3600);
}

std::string duration_text(double s) {
  if (s >= 3600) return format("%.1f h", s / 3600);
  if (s >= 60) return format("%.0f min", s / 60);
  return format("%.1f s", s);
}

std::string table(const std::vector<ProfileCost>& costs) {
  std::string o = format("%-15s %9s %9s %6s %7s %11s %9s %7s %18s %18s %9s %17s %9s\n", "profile", "host MiB",
                         "flash MiB", "WA", "merges", "erases+pend", "device s", "busy", "write ms p50/p99/max",
                         "flush ms p50/p99/max", "erases/h", "lifetime", "life used");
  for (const ProfileCost& c : costs) {
    o += format("%-15s %9.1f %9.1f %6.2f %7llu %11s %9.3f %6.0f%% %18s %18s %9.1f %17s %9s\n", c.profile.c_str(),
                mib(c.host_written), mib(c.flash_programmed), c.wa(), (unsigned long long)c.merges,
                format("%llu+%u", (unsigned long long)c.erases, c.pending_erases).c_str(), double(c.device_ns) / 1e9,
                100 * c.busy_share(), latency(c.writes).c_str(), latency(c.flushes_latency).c_str(),
                c.erases_per_hour, lifetime_text(c.lifetime_hours).c_str(), percent(c.life_used).c_str());
  }
  return o;
}

std::string advice_text(const std::vector<ProfileCost>& costs) {
  std::string o;
  for (const ProfileCost& c : costs) {
    o += c.profile + ":\n";
    for (const Advice& a : c.advice) o += "  - " + a.text + "\n";
  }
  return o;
}

std::string markdown(const RunInfo& r, const std::vector<ProfileCost>& costs) {
  std::string o = "# cardfs measure: " + shell_words(r.command) + "\n\n";
  o += format("- filesystem: %s on a %.0f MiB card (recorded on %s)\n", r.fs.c_str(), mib(r.card_bytes),
              r.recorded_on.c_str());
  o += format("- command: `%s`, exit status %d, %s of wall time\n", shell_words(r.command).c_str(), r.exit_status,
              duration_text(r.wall_s).c_str());
  o += format("- represents: %s of operation%s\n", duration_text(r.represents_s).c_str(),
              r.represents_given ? " (--represents)" : " (the command's wall time; --represents to say more)");
  if (r.fs == "cardfs")
    o += format("- card commands recorded: %llu, replayed on a card of each profile as cardfs mkfs made it\n\n",
                (unsigned long long)r.events);
  else
    o += format("- card commands recorded: %llu, after the %llu of the mkfs (replayed first, not counted)\n\n",
                (unsigned long long)r.events, (unsigned long long)r.setup_events);
  o += "```\n" + table(costs) + "```\n\n";
  o += "Columns: host and flash bytes written, write amplification, merges (page FTL: garbage\n"
       "collections), AU erases + AUs waiting in the erase queue, device time and its share of the\n"
       "run's span (busy), write and flush latency (arrival to completion), erases per represented\n"
       "hour, projected lifetime and the share of it this run used (docs/measure.md).\n\n";
  o += "## Advice\n\n";
  for (const ProfileCost& c : costs) {
    o += "**" + c.profile + "**\n\n";
    for (const Advice& a : c.advice) o += "- " + a.text + "\n";
    o += "\n";
  }
  o += phase_table(costs);
  o += "\n## Plots\n\n![device time](plots/device_time.svg)\n![WA by phase](plots/wa_by_phase.svg)\n"
       "![erases per AU](plots/au_erases.svg)\n![write latency CDF](plots/write_latency_cdf.svg)\n";
  return o;
}

std::string csv(const std::vector<ProfileCost>& costs) {
  std::string o =
      "profile,second,host_bytes_written,host_bytes_read,flash_bytes_programmed,write_amplification,merges,"
      "erases,flushes,device_time_ns,busy_share,aus_written\n";
  for (const ProfileCost& c : costs) {
    for (size_t i = 0; i < c.seconds.size(); ++i) {
      const Second& s = c.seconds[i];
      const double wa = s.host_written ? double(s.flash_programmed) / double(s.host_written) : 0.0;
      o += format("%s,%zu,%llu,%llu,%llu,%.4f,%llu,%llu,%llu,%lld,%.4f,%u\n", c.profile.c_str(), i,
                  (unsigned long long)s.host_written, (unsigned long long)s.host_read,
                  (unsigned long long)s.flash_programmed, wa, (unsigned long long)s.merges,
                  (unsigned long long)s.erases, (unsigned long long)s.flushes, (long long)s.device_ns,
                  double(s.device_ns) / 1e9, s.aus_written);
    }
  }
  return o;
}

}  // namespace cardfs::measure
