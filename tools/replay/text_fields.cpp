#include "tools/replay/text_fields.h"

#include "base/parse.h"

namespace cardfs::replay::text {

std::vector<std::string_view> tokens(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    const size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) out.push_back(line.substr(start, i - start));
  }
  return out;
}

bool parse_u64(std::string_view s, uint64_t& out) {
  Result<uint64_t> v = parse_uint(s);  // base/parse.h's grammar
  if (!v.is_ok()) return false;
  out = *v;
  return true;
}

bool parse_seconds(std::string_view s, uint64_t& ns) {
  const size_t dot = s.find('.');
  uint64_t sec = 0, frac = 0;
  if (!parse_u64(s.substr(0, dot), sec) || sec > 10'000'000'000ull) return false;
  std::string_view f = dot == std::string_view::npos ? std::string_view() : s.substr(dot + 1);
  if (dot != std::string_view::npos && (f.empty() || f.size() > 9 || !parse_u64(f, frac))) return false;
  for (size_t i = f.size(); i < 9; ++i) frac *= 10;
  ns = sec * 1'000'000'000ull + frac;
  return true;
}

Status line_error(const std::string& name, uint64_t line, const std::string& what) {
  return Status::error(EINVAL, name + ":" + std::to_string(line) + ": " + what);
}

Result<std::optional<TraceEvent>> blk_event(std::span<const std::string_view> f, uint64_t time_ns) {
  if (f.size() < 2) return Status::error(EINVAL, "no action and RWBS fields");
  const std::string_view act = f[0];
  if (act != "Q" && act != "D") return std::optional<TraceEvent>();  // M, C, G, m (message) ...
  uint64_t sector = 0, count = 0;
  size_t i = 2;
  if (f.size() >= 5 && f[3] == "+") {
    if (!parse_u64(f[2], sector) || !parse_u64(f[4], count) || count > (1ull << 32))
      return Status::error(EINVAL, "bad sector range '" + std::string(f[2]) + " + " + std::string(f[4]) + "'");
    i = 5;
  }
  if (i < f.size() && f[i].starts_with("(")) {
    // A PC event's command bytes "(12 00 ..)" have no range; -t's elapsed time follows one.
    if (i == 2) return std::optional<TraceEvent>();
  }
  const std::optional<RwbsFlags> flags = parse_rwbs(f[1], count);
  if (!flags) return Status::error(EINVAL, "bad RWBS field '" + std::string(f[1]) + "'");
  if (flags->none) return std::optional<TraceEvent>();
  if (i == 2 && flags->op != Op::kFlush) return Status::error(EINVAL, "I/O event without a sector range");
  TraceEvent e;
  e.time_ns = time_ns;
  e.stage = act == "Q" ? Stage::kQueue : Stage::kDispatch;
  e.op = flags->op;
  e.preflush = flags->preflush;
  e.fua = flags->fua;
  e.sync = flags->sync;
  if (e.op != Op::kFlush) {
    e.sector = sector;
    e.sectors = count;
  }
  return std::optional<TraceEvent>(e);
}

}  // namespace cardfs::replay::text

namespace cardfs::replay::text {

Status add_blk_event(Trace& trace, const std::string& name, uint64_t line, std::string_view dev,
                     std::span<const std::string_view> fields, uint64_t time_ns) {
  if (trace.device.empty()) trace.device = std::string(dev);
  if (trace.device != dev)
    return line_error(name, line, "events of two devices (" + trace.device + " and " + std::string(dev) +
                                      "): replay one device's trace");
  Result<std::optional<TraceEvent>> e = blk_event(fields, time_ns);
  if (!e.is_ok()) return line_error(name, line, e.status().message());
  if (*e) trace.events.push_back(**e);
  else ++trace.skipped;
  return Status::ok();
}

}  // namespace cardfs::replay::text
