#include "tools/crashtest/plan.h"

#include <algorithm>
#include <map>
#include <random>

#include "base/parse.h"

namespace cardfs::crashtest {

using sdcard::CommandKind;

std::string CrashState::key() const {
  if (all) return "all";
  return std::to_string(after) + (torn ? "t" + std::to_string(torn_after) : "");
}

Result<CrashState> CrashState::parse(std::string_view key) {
  CrashState s;
  if (key == "all") {
    s.all = true;
    s.why = "all";
    return s;
  }
  const size_t t = key.find('t');
  Result<uint64_t> after = parse_uint(key.substr(0, t));
  if (!after.is_ok()) return Status::error(EINVAL, "state '" + std::string(key) + "': not K, KtP or all");
  s.after = *after;
  if (t != std::string_view::npos) {
    Result<uint64_t> p = parse_uint(key.substr(t + 1));
    if (!p.is_ok()) return Status::error(EINVAL, "state '" + std::string(key) + "': not K, KtP or all");
    s.torn = true;
    s.torn_after = *p;
  }
  s.why = "only";
  return s;
}

std::vector<CrashState> plan_states(const std::vector<blockdev::LoggedCommand>& cmds, const PlanOptions& o) {
  std::map<std::string, CrashState> by_key;
  auto add = [&](CrashState s) { by_key.emplace(s.key(), std::move(s)); };
  for (const blockdev::LoggedCommand& c : cmds) {
    if (c.kind == CommandKind::kFlush) add({.after = c.index, .why = "flush"});
    else if (c.kind == CommandKind::kWrite && c.fua) add({.after = c.index, .why = "fua"});
  }
  // Writing commands (those a torn cut can fall in), by position.
  std::vector<uint64_t> writing;
  for (const blockdev::LoggedCommand& c : cmds)
    if (c.kind == CommandKind::kWrite || c.kind == CommandKind::kFlush) writing.push_back(c.index);
  std::mt19937_64 rng(o.seed);
  for (uint64_t i = 0; i < o.points && !cmds.empty(); ++i) {
    CrashState s{.after = rng() % cmds.size(), .why = "random"};  // 0 .. N-1
    auto next = std::upper_bound(writing.begin(), writing.end(), s.after);
    if (rng() % 2 == 0 && next != writing.end()) {
      s.after = *next - 1;  // torn inside the next writing command
      s.torn = true;
      s.torn_after = rng() % 4;
    }
    add(s);
  }
  std::vector<CrashState> out;
  for (auto& [k, s] : by_key) out.push_back(std::move(s));
  std::sort(out.begin(), out.end(), [](const CrashState& a, const CrashState& b) {
    return a.after != b.after ? a.after < b.after : a.torn < b.torn;
  });
  return out;
}

}  // namespace cardfs::crashtest
