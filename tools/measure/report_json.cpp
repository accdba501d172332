// report.json: the schema is docs/measure.schema.json (validated by
// tests/measure/measure.sh); docs/measure.md says what each field means.
#include <cmath>

#include "tools/measure/report.h"

namespace cardfs::measure {
namespace {

using json = nlohmann::ordered_json;

json latency_json(const Latency& l) {
  return {{"count", l.count}, {"p50_ns", l.p50}, {"p99_ns", l.p99}, {"max_ns", l.max}};
}

// The card: what the profile and geometry say.
json card_json(const ProfileCost& c) {
  json j;
  j["profile"] = c.profile;
  j["ftl"] = c.ftl;
  j["nand"] = c.nand;
  j["rated_pe_cycles"] = c.rated_pe_cycles;
  j["open_aus"] = c.open_aus;
  j["page_bytes"] = c.page_bytes;
  j["ru_bytes"] = c.ru_bytes;
  j["au_bytes"] = c.au_bytes;
  j["aus"] = c.aus;
  return j;
}

json phases_json(const ProfileCost& c) {
  json phases = json::array();
  for (const Phase& p : c.phases)
    phases.push_back({{"name", p.name},
                      {"host_bytes_written", p.host_written},
                      {"flash_bytes_programmed", p.flash_programmed},
                      {"write_amplification", p.wa()},
                      {"device_time_ns", p.device_ns}});
  return phases;
}

json profile_json(const ProfileCost& c) {
  json j = card_json(c);
  j["host_bytes_written"] = c.host_written;
  j["host_bytes_read"] = c.host_read;
  j["flash_bytes_programmed"] = c.flash_programmed;
  j["write_amplification"] = c.wa();
  j["merges"] = c.merges;
  j["erases"] = c.erases;
  j["pending_erases"] = c.pending_erases;
  j["flushes"] = c.flushes;
  j["device_time_ns"] = c.device_ns;
  j["span_ns"] = c.span_ns;
  j["busy_share"] = c.busy_share();
  j["device_time_by_cause_ns"] = {{"command", c.time.command.count()}, {"transfer", c.time.transfer.count()},
                                  {"read", c.time.read.count()},       {"program", c.time.program.count()},
                                  {"merge", c.time.merge.count()},     {"erase", c.time.erase.count()}};
  j["write_latency"] = latency_json(c.writes);
  j["flush_latency"] = latency_json(c.flushes_latency);
  j["erases_per_hour"] = c.erases_per_hour;
  j["wear_spread"] = c.spread;
  j["projected_lifetime_hours"] = std::isinf(c.lifetime_hours) ? json(nullptr) : json(c.lifetime_hours);
  j["life_used"] = c.life_used;
  j["phases"] = phases_json(c);
  json advice = json::array();
  for (const Advice& a : c.advice)
    advice.push_back({{"rule", a.rule}, {"value", a.value}, {"limit", a.limit}, {"device_share", a.device_share},
                      {"text", a.text}});
  j["advice"] = advice;
  j["au_wear"] = c.au_wear;
  return j;
}

}  // namespace

nlohmann::ordered_json to_json(const RunInfo& r, const std::vector<ProfileCost>& costs) {
  json j;
  j["schema"] = "cardfs-measure/1";
  j["command"] = r.command;
  j["exit_status"] = r.exit_status;
  j["filesystem"] = r.fs;
  j["card_bytes"] = r.card_bytes;
  j["recorded_on"] = r.recorded_on;
  j["wall_seconds"] = r.wall_s;
  j["represents_seconds"] = r.represents_s;
  j["trace"] = {{"events", r.events}, {"setup_events", r.setup_events}};
  json profiles = json::array();
  for (const ProfileCost& c : costs) profiles.push_back(profile_json(c));
  j["profiles"] = profiles;
  j["files"] = {{"report_md", "report.md"},
                {"csv", "timeseries.csv"},
                {"plots", {"plots/device_time.svg", "plots/wa_by_phase.svg", "plots/au_erases.svg",
                           "plots/write_latency_cdf.svg"}},
                {"trace", "trace/run"}};
  return j;
}

}  // namespace cardfs::measure
