#include "fusefs/fuse/control_powercut.h"

#include "base/log.h"
#include "base/parse.h"

namespace cardfs::fuse {
namespace {

Status usage() { return Status::error(EINVAL, "write 'after N [torn]', 'now' or 'off'"); }

// Splits on blanks.
std::vector<std::string_view> words(std::string_view s) {
  std::vector<std::string_view> out;
  for (size_t i = 0; i < s.size();) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    size_t j = i;
    while (j < s.size() && s[j] != ' ' && s[j] != '\t') ++j;
    if (j > i) out.push_back(s.substr(i, j - i));
    i = j;
  }
  return out;
}

}  // namespace

Result<PowercutRequest> parse_powercut(std::string_view line) {
  const std::vector<std::string_view> w = words(trim_value(line));
  PowercutRequest r;
  if (w.size() == 1 && w[0] == "off") return r;
  if (w.size() == 1 && w[0] == "now") {
    r.what = PowercutRequest::What::kNow;
    return r;
  }
  if (w.empty() || w[0] != "after" || w.size() < 2 || w.size() > 3) return usage();
  if (w.size() == 3 && w[2] != "torn") return usage();
  Result<uint64_t> n = parse_uint(w[1]);
  if (!n.is_ok() || *n == 0) return Status::error(EINVAL, "after N: N counts commands from 1");
  r.what = PowercutRequest::What::kAfter;
  r.after = *n;
  r.torn = w.size() == 3;
  return r;
}

std::string describe_powercut(const sdcard::Card::FaultState& s) {
  if (s.powered_off) return "power off: every command fails with EIO until unmount; the next mount powers the card on\n";
  if (s.plan.power_cut_after == 0) return "off\n";
  const bool torn = s.plan.cut == sdcard::FaultPlan::Cut::kTorn;
  const uint64_t left = s.plan.power_cut_after - std::min(s.commands_since_armed, s.plan.power_cut_after);
  return "after " + std::to_string(s.plan.power_cut_after) + (torn ? " torn" : "") + " (" +
         std::to_string(left) + " commands to go)\n";
}

void add_powercut_files(ControlTree& t, Stack& s) {
  t.add({"powercut", [&s] { return describe_powercut(s.card().fault_state()); },
         [&s](std::string_view v) -> Status {
           CARDFS_ASSIGN_OR_RETURN(PowercutRequest r, parse_powercut(v));
           if (r.what == PowercutRequest::What::kNow) {
             s.card().cut_power();
             logger("fuse")->warn("powercut: the card lost power now");
             return Status::ok();
           }
           sdcard::FaultPlan plan;
           plan.power_cut_after = r.after;  // 0 (off): never
           plan.cut = r.torn ? sdcard::FaultPlan::Cut::kTorn : sdcard::FaultPlan::Cut::kBetween;
           s.card().set_faults(plan);
           logger("fuse")->info("powercut: {}", describe_powercut(s.card().fault_state()));
           return Status::ok();
         }});
  t.add({"mark", [] { return std::string("write a line: it goes into the trace and the card's command log\n"); },
         nullptr,
         [&s](std::string_view v, pid_t writer) -> Status {
           s.mark(trim_value(v), writer);
           return Status::ok();
         }});
}

}  // namespace cardfs::fuse
