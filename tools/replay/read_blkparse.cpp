// blkparse's default text output:
//   "  8,0    1       17     0.000123456  4242  D  WS 2048 + 8 [dd]"
// (device, CPU, sequence, seconds, pid, action, RWBS, range, name), then
// its summary ("CPU0 (sda):", "Total (sda):", ...), where reading stops.
// Lines may come from several CPUs interleaved in time order, as blkparse
// prints them; events are sorted by time again to be sure.
#include "tools/replay/text_fields.h"
#include "tools/replay/trace.h"

namespace cardfs::replay {
namespace {

bool is_device(std::string_view s) {
  const size_t comma = s.find(',');
  uint64_t n = 0;
  return comma != std::string_view::npos && text::parse_u64(s.substr(0, comma), n) &&
         text::parse_u64(s.substr(comma + 1), n);
}

bool summary_starts(std::string_view line, const std::vector<std::string_view>& t) {
  return !t.empty() && (t[0].starts_with("CPU") || t[0] == "Total" || line.starts_with("Throughput") ||
                        line.starts_with("Events (") || t[0] == "Reads" || t[0] == "Writes");
}

}  // namespace

Result<Trace> read_blkparse(const std::string& name, std::string_view input) {
  Trace trace;
  trace.format = "blkparse";
  bool done = false;
  uint64_t lines_read = 0;
  Status st = text::for_each_line(input, [&](uint64_t n, std::string_view line) -> Status {
    if (done) return Status::ok();
    const std::vector<std::string_view> t = text::tokens(line);
    if (t.empty()) return Status::ok();
    if (summary_starts(line, t)) {
      done = true;
      return Status::ok();
    }
    uint64_t cpu = 0, seq = 0, pid = 0, ns = 0;
    if (t.size() < 7 || !is_device(t[0]) || !text::parse_u64(t[1], cpu) || !text::parse_u64(t[2], seq) ||
        !text::parse_seconds(t[3], ns) || !text::parse_u64(t[4], pid))
      return text::line_error(name, n, "not a blkparse event line");
    ++lines_read;
    return text::add_blk_event(trace, name, n, t[0], std::span(t).subspan(5), ns);
  });
  CARDFS_RETURN_IF_ERROR(st);
  if (lines_read == 0) return Status::error(EINVAL, name + ": no blkparse event lines");
  trace.sort_by_time();
  return trace;
}

}  // namespace cardfs::replay
