// The kernel's ftrace `blk` tracer (/sys/kernel/tracing/trace with
// current_tracer=blk and a device's trace/enable set):
//   "              dd-1234    [001] d..1.  1234.567890: 7,0    Q  WS 2048 + 8 [dd]"
// Task and pid, CPU, flags (absent on old kernels), the timestamp with a
// colon, then blkparse's fields from the device on. Comment lines start
// with '#'. A task name may hold spaces, so the line is read from the
// "[CPU]" field on.
#include "tools/replay/text_fields.h"
#include "tools/replay/trace.h"

namespace cardfs::replay {
namespace {

// The fields after "[CPU]", or empty if the line has none.
std::string_view after_cpu(std::string_view line) {
  for (size_t open = line.find(" ["); open != std::string_view::npos; open = line.find(" [", open + 1)) {
    const size_t close = line.find(']', open);
    if (close == std::string_view::npos) return {};
    uint64_t cpu = 0;
    if (text::parse_u64(line.substr(open + 2, close - open - 2), cpu)) return line.substr(close + 1);
  }
  return {};
}

}  // namespace

Result<Trace> read_ftrace(const std::string& name, std::string_view input) {
  Trace trace;
  trace.format = "ftrace-blk";
  uint64_t lines_read = 0;
  Status st = text::for_each_line(input, [&](uint64_t n, std::string_view line) -> Status {
    if (line.empty() || line.find_first_not_of(" \t") == std::string_view::npos) return Status::ok();
    if (line[line.find_first_not_of(" \t")] == '#') return Status::ok();
    std::vector<std::string_view> t = text::tokens(after_cpu(line));
    // Flags ("d..1.") come before the timestamp on kernels that print them.
    size_t at = 0;
    while (at < t.size() && !t[at].ends_with(':')) ++at;
    uint64_t ns = 0;
    if (at >= t.size() || !text::parse_seconds(t[at].substr(0, t[at].size() - 1), ns) || at + 3 > t.size())
      return text::line_error(name, n, "not a blk tracer line");
    ++lines_read;
    return text::add_blk_event(trace, name, n, t[at + 1], std::span(t).subspan(at + 2), ns);
  });
  CARDFS_RETURN_IF_ERROR(st);
  if (lines_read == 0) return Status::error(EINVAL, name + ": no blk tracer event lines");
  trace.sort_by_time();
  return trace;
}

}  // namespace cardfs::replay
