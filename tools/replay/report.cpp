#include "tools/replay/report.h"

#include <cinttypes>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace cardfs::replay {
namespace {

std::string format(const char* fmt, auto... args) {
  char buf[256];
  std::snprintf(buf, sizeof(buf), fmt, args...);
  return buf;
}

double ms(Nanos t) { return double(t.count()) / 1e6; }
double sec(Nanos t) { return double(t.count()) / 1e9; }
double mib(uint64_t bytes) { return double(bytes) / (1024.0 * 1024.0); }

const char* stage_name(Stage s) { return s == Stage::kQueue ? "Q" : "D"; }

std::string latency_line(const char* name, const LatencyStats& s) {
  if (s.count == 0) return format("    %-14s %9s\n", name, "-");
  return format("    %-14s %9" PRIu64 " %9.3f %9.3f %9.3f   %9.3f %9.3f %9.3f   %9.3f %9.3f\n", name, s.count,
                ms(s.p50), ms(s.p99), ms(s.max), ms(s.service_p50), ms(s.service_p99), ms(s.service_max),
                ms(s.queue_mean), ms(s.queue_max));
}

std::string profile_text(const ProfileReport& r) {
  const sdcard::CardCounters& c = r.counters;
  const uint64_t programmed = c.flash_pages_programmed * r.page_bytes;
  std::string o = format("%s (%.0f MiB card)\n", r.profile.c_str(), mib(r.card_bytes));
  o += format("  commands          %" PRIu64 " (from %" PRIu64 " trace events)\n", c.commands, r.events);
  o += format("  host read         %.1f MiB, written %.1f MiB, discarded %.1f MiB, flushes %" PRIu64 "\n",
              mib(c.host_sectors_read * 512), mib(c.host_sectors_written * 512),
              mib(c.host_sectors_discarded * 512), c.flushes);
  o += format("  flash programmed  %.1f MiB, write amplification %.2f\n", mib(programmed),
              c.write_amplification(r.page_bytes));
  o += format("  merges            %" PRIu64 " (%" PRIu64 " pages copied), AU erases %" PRIu64 "\n", c.merges,
              c.merge_pages_copied, c.erases);
  o += format("  device busy       %.3f s of the trace's %.3f s: utilisation %.1f %%%s\n", sec(r.busy),
              sec(r.span), 100.0 * r.utilisation(), r.utilisation() > 1.0 ? " (the card would not keep up)" : "");
  o += format("  last completion   %.3f s\n", sec(r.finish));
  o += format("  latency (ms)     %9s %9s %9s %9s   %9s %9s %9s   %9s %9s\n", "count", "p50", "p99", "max",
              "svc p50", "svc p99", "svc max", "wait avg", "wait max");
  o += latency_line("reads", r.reads) + latency_line("writes", r.writes) + latency_line("flushes", r.flushes) +
       latency_line("discards", r.discards);
  o += format("  wear              %u AUs: erase count min %u, mean %.2f, max %u; %u AUs erased\n", r.wear.aus,
              r.wear.min, r.wear.mean, r.wear.max, r.wear.aus_erased);
  return o;
}

nlohmann::json latency_json(const LatencyStats& s) {
  return {{"count", s.count},
          {"p50_ns", s.p50.count()},
          {"p99_ns", s.p99.count()},
          {"max_ns", s.max.count()},
          {"service_p50_ns", s.service_p50.count()},
          {"service_p99_ns", s.service_p99.count()},
          {"service_max_ns", s.service_max.count()},
          {"queue_mean_ns", s.queue_mean.count()},
          {"queue_max_ns", s.queue_max.count()}};
}

nlohmann::json profile_json(const ProfileReport& r) {
  const sdcard::CardCounters& c = r.counters;
  const sdcard::TimeByCause& t = c.time;
  return {{"profile", r.profile},
          {"card_bytes", r.card_bytes},
          {"events", r.events},
          {"commands", c.commands},
          {"host_bytes_read", c.host_sectors_read * 512},
          {"host_bytes_written", c.host_sectors_written * 512},
          {"host_bytes_discarded", c.host_sectors_discarded * 512},
          {"flushes", c.flushes},
          {"flash_pages_read", c.flash_pages_read},
          {"flash_bytes_programmed", c.flash_pages_programmed * r.page_bytes},
          {"write_amplification", c.write_amplification(r.page_bytes)},
          {"merges", c.merges},
          {"merge_pages_copied", c.merge_pages_copied},
          {"erases", c.erases},
          {"au_opens", c.au_opens},
          {"au_closes", c.au_closes},
          {"device_time_ns",
           {{"total", t.total().count()}, {"command", t.command.count()}, {"transfer", t.transfer.count()},
            {"read", t.read.count()}, {"program", t.program.count()}, {"merge", t.merge.count()},
            {"erase", t.erase.count()}}},
          {"busy_ns", r.busy.count()},
          {"span_ns", r.span.count()},
          {"finish_ns", r.finish.count()},
          {"utilisation", r.utilisation()},
          {"latency",
           {{"read", latency_json(r.reads)}, {"write", latency_json(r.writes)}, {"flush", latency_json(r.flushes)},
            {"discard", latency_json(r.discards)}}},
          {"wear",
           {{"aus", r.wear.aus}, {"min", r.wear.min}, {"mean", r.wear.mean}, {"max", r.wear.max},
            {"aus_erased", r.wear.aus_erased}, {"erase_counts", r.wear.erase_counts}}}};
}

}  // namespace

TraceSummary TraceSummary::of(const Trace& t, const std::vector<std::string>& inputs, Stage source) {
  TraceSummary s;
  s.inputs = inputs;
  s.format = t.format;
  s.device = t.device;
  s.queued = t.count(Stage::kQueue);
  s.dispatched = t.count(Stage::kDispatch);
  s.skipped = t.skipped;
  s.timed = t.timed;
  s.source = source;
  return s;
}

std::string text_report(const TraceSummary& t, const std::vector<ProfileReport>& reports) {
  std::string o = format("trace: %s, device %s: %" PRIu64 " Q, %" PRIu64 " D events (%" PRIu64
                         " others skipped); replaying %s%s\n",
                         t.format.c_str(), t.device.c_str(), t.queued, t.dispatched, t.skipped,
                         stage_name(t.source), t.timed ? "" : ", back to back (the trace has no times)");
  for (const ProfileReport& r : reports) o += "\n" + profile_text(r);
  return o;
}

std::string json_report(const TraceSummary& t, const std::vector<ProfileReport>& reports) {
  nlohmann::json j;
  j["trace"] = {{"inputs", t.inputs}, {"format", t.format},   {"device", t.device},
                {"queued", t.queued}, {"dispatched", t.dispatched}, {"skipped", t.skipped},
                {"timed", t.timed},   {"source", stage_name(t.source)}};
  j["profiles"] = nlohmann::json::array();
  for (const ProfileReport& r : reports) j["profiles"].push_back(profile_json(r));
  return j.dump(2) + "\n";
}

}  // namespace cardfs::replay
