#include "tools/crashtest/report.h"

#include <nlohmann/json.hpp>

#include <cstdio>

namespace cardfs::crashtest {
namespace {

std::string seconds_of(uint64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6f", double(ns) / 1e9);
  return buf;
}

std::string joined(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Inside a Markdown table cell: '|' would end the cell, a newline the row.
std::string cell(const std::string& text) {
  std::string out;
  for (char c : text) out += c == '|' ? std::string("\\|") : c == '\n' ? std::string(" ") : std::string(1, c);
  return out;
}

std::string fenced(const std::string& text) {
  std::string t = text;
  while (!t.empty() && t.back() == '\n') t.pop_back();
  return "```\n" + (t.empty() ? "(no output)" : t) + "\n```\n";
}

// The checkers' verdicts: the repair's before the mount when one ran
// ("repaired, " for exit 1-3, "repair exit 4" when it could not), then the
// checker's after it: "clean", "exit 4", or "" when none ran.
std::string fsck_cell(const Verdict& v) {
  std::string out;
  if (v.repair_exit > 0) out = v.repair_exit < 4 ? "repaired" : "repair exit " + std::to_string(v.repair_exit);
  if (v.fsck_exit >= 0) out += (out.empty() ? "" : ", ") + (v.fsck_exit == 0 ? "clean" : "exit " + std::to_string(v.fsck_exit));
  return out;
}

std::string failure_md(const RunOptions& o, const RunResult& r, const StateResult& s) {
  std::string md = "### State " + s.state.key() + ": " + outcome_name(s.verdict.outcome) + "\n\n";
  md += "- power cut " + s.cut_command + " (command " + std::to_string(s.state.after + 1) + " of " +
        std::to_string(r.commands) + "), at " + seconds_of(s.time_ns) + " s on the card's clock";
  md += s.state.torn ? ", torn after " + std::to_string(s.state.torn_after) + " pages\n" : "\n";
  md += "- chosen as: " + s.state.why + "\n";
  md += "- markers before it: " + (s.marks_before.empty() ? "none" : "`" + joined(s.marks_before, "`, `") + "`") + "\n";
  if (s.verdict.check_exit >= 0) md += "- CHECK exited with " + std::to_string(s.verdict.check_exit) + "\n";
  if (s.verdict.repair_exit >= 0)
    md += "- " + s.verdict.repair + " before the mount: exit " + std::to_string(s.verdict.repair_exit) + "\n";
  if (s.verdict.fsck_exit >= 0)
    md += "- " + s.verdict.fsck + " after the recovery: " +
          (s.verdict.fsck_exit == 0 ? "clean" : "exit " + std::to_string(s.verdict.fsck_exit)) + "\n";
  md += "- rebuild: `" + rebuild_command(o, r.work_dir, s.state.key()) + "`\n\n";
  if (!s.verdict.detail.empty()) md += fenced(s.verdict.detail) + "\n";
  if (s.verdict.check_exit >= 0) md += "CHECK's output:\n\n" + fenced(s.verdict.check_output) + "\n";
  return md;
}

}  // namespace

std::string markdown_report(const RunOptions& o, const RunResult& r) {
  std::string md = "# cardfs crashtest\n\n";
  md += "| | |\n| --- | --- |\n";
  md += "| workload | `" + cell(joined(o.workload, " ")) + "` (exit " + std::to_string(r.workload_exit) +
        (r.reused_recording ? ", recorded earlier" : "") + ") |\n";
  md += "| check | `" + cell(o.check) + "` |\n";
  md += "| filesystem | " + o.fs + (o.mkfs_args.empty() ? "" : " (mkfs " + joined(o.mkfs_args, " ") + ")") +
        (o.mount_options.empty() ? "" : ", -o " + o.mount_options) + " |\n";
  md += "| card | " + o.profile + ", " + std::to_string(o.size_bytes >> 20) + " MiB |\n";
  md += "| card commands recorded | " + std::to_string(r.commands) + " (" + std::to_string(r.marks) + " markers) |\n";
  md += "| states | " + std::to_string(r.states.size()) + " planned, " + std::to_string(r.judged()) + " judged, " +
        std::to_string(r.failed()) + " failed |\n";
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f s (%.1f states per minute, %u at a time)", r.judge_seconds,
                r.judge_seconds > 0 ? 60.0 * double(r.judged()) / r.judge_seconds : 0.0, o.jobs);
  md += "| judging | " + std::string(rate) + " |\n";
  if (!r.stopped.empty()) md += "| stopped early | " + r.stopped + " |\n";
  if (!r.first_failure.empty()) md += "| first failure | state " + r.first_failure + ", image `" + r.first_failure_image + "` |\n";
  md += "\n";
  if (r.failed() > 0) {
    md += "## Failures\n\n";
    for (const StateResult& s : r.states)
      if (s.judged && s.verdict.outcome != Outcome::kPass) md += failure_md(o, r, s);
  }
  md += "## All states\n\n| state | cut | chosen as | time (s) | last marker | verdict | fsck |\n| --- | --- | --- | --- | --- | --- | --- |\n";
  for (const StateResult& s : r.states)
    md += "| " + s.state.key() + " | " + s.cut_command + " | " + s.state.why + " | " + seconds_of(s.time_ns) + " | " +
          (s.marks_before.empty() ? "" : cell(s.marks_before.back())) + " | " +
          (s.judged ? outcome_name(s.verdict.outcome) : "not judged") + " | " + fsck_cell(s.verdict) + " |\n";
  return md;
}

std::string json_report(const RunOptions& o, const RunResult& r) {
  nlohmann::json j;
  j["workload"] = o.workload;
  j["workload_exit"] = r.workload_exit;
  j["check"] = o.check;
  j["fs"] = o.fs;
  j["mkfs_args"] = o.mkfs_args;
  j["mount_options"] = o.mount_options;
  j["profile"] = o.profile;
  j["card_bytes"] = o.size_bytes;
  j["commands"] = r.commands;
  j["marks"] = r.marks;
  j["seed"] = o.plan.seed;
  j["points"] = o.plan.points;
  j["jobs"] = o.jobs;
  j["work_dir"] = r.work_dir;
  j["judge_seconds"] = r.judge_seconds;
  j["states_planned"] = r.states.size();
  j["states_judged"] = r.judged();
  j["states_failed"] = r.failed();
  j["stopped"] = r.stopped.empty() ? nlohmann::json() : nlohmann::json(r.stopped);
  j["first_failure"] = r.first_failure.empty()
                           ? nlohmann::json()
                           : nlohmann::json{{"state", r.first_failure},
                                            {"image", r.first_failure_image},
                                            {"rebuild", rebuild_command(o, r.work_dir, r.first_failure)}};
  nlohmann::json states = nlohmann::json::array();
  for (const StateResult& s : r.states) {
    nlohmann::json e{{"state", s.state.key()}, {"after_command", s.state.after}, {"torn", s.state.torn},
                     {"chosen_as", s.state.why}, {"cut", s.cut_command}, {"time_ns", s.time_ns},
                     {"marks_before", s.marks_before}, {"judged", s.judged}};
    if (s.state.torn) e["torn_after_pages"] = s.state.torn_after;
    if (s.judged) {
      e["verdict"] = outcome_name(s.verdict.outcome);
      e["check_exit"] = s.verdict.check_exit;
      e["check_output"] = s.verdict.check_output;
      e["detail"] = s.verdict.detail;
      e["fsck"] = s.verdict.fsck;            // the checker after the recovery ("" for none)
      e["fsck_exit"] = s.verdict.fsck_exit;  // 0 clean, -1 not run
      e["repair"] = s.verdict.repair;            // the repair before the mount ("" for none)
      e["repair_exit"] = s.verdict.repair_exit;  // 0 nothing to do, 1 repaired, 4+ could not, -1 not run
    }
    states.push_back(std::move(e));
  }
  j["states"] = std::move(states);
  return j.dump(2) + "\n";
}

}  // namespace cardfs::crashtest
